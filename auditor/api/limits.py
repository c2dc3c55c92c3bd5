"""Limits: request-body size (enforced before the body is parsed, declared or streamed) and a rate per API key."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auditor.api.errors import error_body


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:  # the app sees an empty body; its answer is replaced below
                    too_large = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message: Message) -> None:
            if not too_large:
                await send(message)
            elif message["type"] == "http.response.start":
                await self._refuse(send)

        await self.app(scope, limited_receive, guarded_send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            error_body(413, "body_too_large", f"request body is larger than the limit of {self.max_bytes} bytes")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """A token bucket per API key: ``rate`` requests a second on average, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, owner: str) -> float | None:
        """None when the request may go ahead; otherwise the seconds to wait before the next one will."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(owner, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[owner] = (tokens - 1.0, now)
                return None
            self._buckets[owner] = (tokens, now)
            return (1.0 - tokens) / self.rate


class FailureThrottle:
    """Failed sign-ins (wrong API keys, failed ``/review/login`` posts) per client address, with backoff.

    ``allowed`` failures in a row are free; each one after that blocks the address for ``base`` seconds doubled per
    further failure, up to ``ceiling``. While blocked every attempt from the address is refused (429 with
    ``Retry-After``) before its key is looked at, so a blocked guesser learns nothing, not even a right key. A
    success clears the address; an address quiet for ``forget`` seconds is forgotten. At most ``max_addresses`` are
    kept (the longest quiet go first), so a flood of addresses cannot grow memory.
    """

    def __init__(
        self,
        allowed: int = 5,
        base: float = 1.0,
        ceiling: float = 300.0,
        forget: float = 3600.0,
        max_addresses: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.allowed = allowed
        self.base = base
        self.ceiling = ceiling
        self.forget = forget
        self.max_addresses = max_addresses
        self.clock = clock
        self._failures: dict[str, tuple[int, float, float]] = {}
        """address -> (failures in a row, blocked until, last failure)"""
        self._lock = threading.Lock()

    def wait(self, address: str) -> float | None:
        """None when ``address`` may try now; otherwise the seconds it must wait."""
        now = self.clock()
        with self._lock:
            entry = self._failures.get(address)
            if entry is None:
                return None
            failures, until, last = entry
            if now - last > self.forget:
                del self._failures[address]
                return None
            return until - now if until > now else None

    def failed(self, address: str) -> float | None:
        """Record a failure; the seconds the address is now blocked for (None while failures are still free)."""
        now = self.clock()
        with self._lock:
            failures, _, last = self._failures.pop(address, (0, 0.0, now))
            if now - last > self.forget:
                failures = 0
            failures += 1
            blocked = None
            if failures > self.allowed:
                blocked = min(self.ceiling, self.base * 2 ** (failures - self.allowed - 1))
            self._failures[address] = (failures, now + (blocked or 0.0), now)  # re-inserted: newest last
            while len(self._failures) > self.max_addresses:
                del self._failures[next(iter(self._failures))]
            return blocked

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)


def retry_after(seconds: float) -> dict[str, str]:
    """The ``Retry-After`` header for a wait (whole seconds, at least 1)."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}
