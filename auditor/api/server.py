"""How ``auditor serve`` runs the app under uvicorn: bounded connections and redacted logs.

- A client must send a whole request head (request line and headers) within ``AUDITOR_HEADER_TIMEOUT_SECONDS`` of
  connecting, or of its previous answer on a keep-alive connection; otherwise the connection is closed. uvicorn has
  no such timeout of its own: a client trickling a header byte now and then held its connection for as long as it
  liked. Request heads are limited to 16 KiB (larger: 400) and idle keep-alive connections to
  ``AUDITOR_KEEP_ALIVE_SECONDS``.
- Every handler writes through the redacting filter, and access-log lines keep no query string
  (``auditor/privacy/logs.py``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from auditor.api.settings import Settings
from auditor.privacy.logs import logging_config

MAX_HEAD_BYTES = 16 * 1024
"""Largest request head (request line and headers) read; larger gets 400 (uvicorn's default, made explicit)."""
log = logging.getLogger("auditor.api")


class HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection that has not sent a whole request head in time."""

    head_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm_head_timer()  # a new request starts (also after a keep-alive pause)
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is in (or the connection is done with)
            self._disarm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def protocol_class(settings: Settings) -> type[H11Protocol]:
    return type("HeadTimeoutProtocol", (HeadTimeoutProtocol,), {"head_timeout": settings.header_timeout_seconds})


def uvicorn_config(app: Any, settings: Settings, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    """The uvicorn configuration ``auditor serve`` runs (tests run the same one)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=logging_config(settings.redaction_policy(), log_level),
        proxy_headers=False,
        server_header=False,
        http=protocol_class(settings),
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        # keep-alive longer than clients' and load balancers' idle pools, so a reused connection is not closed
        # under them; a connection that then starts a request must finish its head within the head timeout
        timeout_keep_alive=int(settings.keep_alive_seconds),
    )


def serve(app: Any, settings: Settings, host: str, port: int, log_level: str = "info") -> None:
    """Run until Ctrl-C / SIGINT / SIGTERM (a clean stop, exit status 0, as ``uvicorn.run`` does); exit 3 when the
    server could not start."""
    config = uvicorn_config(app, settings, host, port, log_level)
    server = uvicorn.Server(config)
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises the signal it caught once it has shut down
        pass
    if not server.started:
        raise SystemExit(3)
