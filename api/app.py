"""The FastAPI application: models loaded once in the lifespan, routes under /v1, one JSON error shape."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.limits import BodyLimitMiddleware, RateLimiter
from api.metrics import Metrics, MetricsMiddleware
from api.routes import audits, health, review_pages, reviews, sessions, sops
from api.settings import Settings
from auditor.live.sessions import SessionStore
from auditor.privacy.logs import redact_logs
from auditor.service import AuditService, load_models
from auditor.store.database import open_store

log = logging.getLogger("auditor.api")


def _version() -> str:
    try:
        return version("sop-auditor")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0"


def create_app(settings: Settings | None = None, service: AuditService | None = None) -> FastAPI:
    """Build the service; ``service`` injects already-loaded models (tests), otherwise they load at startup."""
    settings = settings or Settings()
    redact_logs(("auditor.api", "auditor"), settings.redaction_policy())  # tracebacks may quote a request's text

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        problem = settings.auth_problem()
        if problem:
            raise RuntimeError(problem)
        app.state.key_hashes = set() if settings.auth_disabled else settings.key_hashes()
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="auditor-model")
        app.state.executor = executor
        if service is None:
            loop = asyncio.get_running_loop()
            models = await loop.run_in_executor(
                executor,
                lambda: load_models(
                    settings.embedder,
                    settings.step_model,
                    anomalies=settings.anomalies,
                    threads=settings.embedder_threads,
                    redaction=settings.redaction_policy(),
                    band=settings.band(),
                ),
            )
            app.state.service = await loop.run_in_executor(
                executor, lambda: AuditService.start(models, settings.sop_dirs)
            )
        else:
            app.state.service = service
        for note in app.state.service.models.notes + app.state.service.sop_problems:
            log.warning("%s", note)
        app.state.sessions = SessionStore(
            max_sessions=settings.max_sessions,
            max_per_owner=settings.max_sessions_per_key,
            idle_seconds=settings.session_idle_seconds,
        )
        sweeper = asyncio.create_task(_expire_idle_sessions(app))
        app.state.store = open_store(settings.database_url)  # review store; migrations run here
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            app.state.store.close()
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            executor.shutdown(wait=True)

    app = FastAPI(
        title="sop-auditor",
        version=_version(),
        description="Audit customer-service conversations against SOP checklists, whole or live turn by turn. "
        "Send your API key in the `X-API-Key` header.",
        lifespan=lifespan,
        docs_url="/docs",
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.ready = False
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    for router in (health.router, audits.router, sops.router, sessions.router, reviews.router, review_pages.router):
        app.include_router(router)
    return app


async def _expire_idle_sessions(app: FastAPI, every: float = 15.0) -> None:
    while True:
        await asyncio.sleep(every)
        dropped = app.state.sessions.expire()
        app.state.metrics.sessions.set(len(app.state.sessions))
        if dropped:
            log.info("expired %d idle live session(s)", dropped)
