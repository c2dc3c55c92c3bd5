"""Prometheus metrics: requests, latency, turns scored, alerts raised, live sessions (one registry per app)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.6, 1.2, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "auditor_http_requests",
            "HTTP requests by route and status",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "auditor_http_request_seconds",
            "Server time per request",
            ("route",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.turns = Counter("auditor_turns_scored", "Turns scored", ("mode",), registry=self.registry)
        self.conversations = Counter("auditor_conversations_audited", "Conversations audited", registry=self.registry)
        self.alerts = Counter("auditor_alerts_raised", "Live alerts raised", ("kind",), registry=self.registry)
        self.live_turn = Histogram(
            "auditor_live_turn_seconds",
            "Model time per pushed live turn (HTTP and WebSocket)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.sessions = Gauge("auditor_live_sessions", "Open live sessions", registry=self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request under its route template (e.g. /v1/sessions/{session_id}/turns), and
    tells the client the server time in a ``Server-Timing: app;dur=<ms>`` header."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                elapsed_ms = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                headers.append((b"server-timing", f"app;dur={elapsed_ms:.2f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = _route_template(scope)
            self.metrics.requests.labels(scope["method"], route, str(status[0])).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"
