"""The FastAPI application: models loaded once in the lifespan, routes under /v1, one JSON error shape."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import FastAPI

from auditor.api.errors import install_error_handlers
from auditor.api.limits import BodyLimitMiddleware, FailureThrottle, RateLimiter
from auditor.api.metrics import Metrics, MetricsMiddleware
from auditor.api.routes import assignments, audits, calibration, disputes, health, review_pages, reviews, sessions, sops
from auditor.api.security import SecurityHeadersMiddleware, install_offline_docs
from auditor.api.settings import Settings
from auditor.live.session import LiveSession
from auditor.live.sessions import SessionStore
from auditor.privacy.logs import SERVER_LOGGERS, redact_logs
from auditor.review.people import load_people
from auditor.service import AuditService, load_models
from auditor.store.database import open_store
from auditor.transcripts.records import conversation_from_mapping

log = logging.getLogger("auditor.api")


def _version() -> str:
    try:
        return version("sop-auditor")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0"


def create_app(settings: Settings | None = None, service: AuditService | None = None) -> FastAPI:
    """Build the service; ``service`` injects already-loaded models (tests), otherwise they load at startup."""
    settings = settings or Settings()
    # tracebacks may quote a request's text or a database parameter; access lines keep no query string
    redact_logs(SERVER_LOGGERS, settings.redaction_policy())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        problem = settings.auth_problem()
        if problem:
            raise RuntimeError(problem)
        app.state.key_hashes = set() if settings.auth_disabled else settings.key_hashes()
        app.state.people = load_people(settings.people_file) if settings.people_file else None  # roles
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="auditor-model")
        app.state.executor = executor
        if service is None:
            loop = asyncio.get_running_loop()
            models = await loop.run_in_executor(executor, lambda: load_models(settings))
            app.state.service = await loop.run_in_executor(
                executor, lambda: AuditService.start(models, settings.sop_dirs, settings.rules_dir)
            )
        else:
            app.state.service = service
        if settings.warm_up:  # /readyz says ready only once every model has served a real audit
            seconds = await loop_run(executor, warm_up, app.state.service)
            log.info("models warmed up in %.1f s", seconds)
        for note in app.state.service.models.notes + app.state.service.sop_problems:
            log.warning("%s", note)
        app.state.sessions = SessionStore(
            max_sessions=settings.max_sessions,
            max_per_owner=settings.max_sessions_per_key,
            idle_seconds=settings.session_idle_seconds,
        )
        sweeper = asyncio.create_task(_expire_idle_sessions(app))
        app.state.store = open_store(settings.database_url)  # review store; migrations run here
        # The models' ~130,000 objects never become garbage: keep them out of the collector, whose full passes over
        # them paused live turns 40-200 ms (bench/live_session.py measures p99 with and without this).
        gc.collect()
        gc.freeze()
        app.state.ready = True
        try:
            yield
        finally:
            gc.unfreeze()
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
        docs_url=None,  # served from the fastapi-offline package below, never from a public CDN
        redoc_url=None,
    )
    install_offline_docs(app)
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.ready = False
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    app.state.auth_throttle = FailureThrottle(
        allowed=settings.auth_failures_allowed, ceiling=settings.auth_backoff_max_seconds
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: every answer, a 413 or a 500 too
    for router in (health.router, audits.router, sops.router, sessions.router, reviews.router, review_pages.router):
        app.include_router(router)
    app.include_router(calibration.router)  # calibration sessions: /review/calibration, /v1/review/calibration
    disputes.install(app)  # agents answer reviews: /review/my, /review/disputes, /v1/review/disputes
    app.include_router(assignments.router)  # samples, assignments, dashboard: /review/assignments, /review/dashboard
    return app


WARM_UP_CALL = [
    {"speaker": "agent", "text": "Hello, thank you for calling. How can I help you today?", "start": 0.0},
    {"speaker": "customer", "text": "I'm upset, my card was charged twice and nobody called me back.", "start": 3.0},
    {"speaker": "agent", "text": "您好，很抱歉给您带来不便，请问您的姓名和身份证后四位？", "start": 8.0},
    {"speaker": "customer", "text": "我要投訴，你們的服務太差了！", "start": 12.0},
    {"speaker": "agent", "text": "I have refunded the charge. Is there anything else? Goodbye.", "start": 15.0},
]
"""English, simplified and traditional Chinese turns: every tokenizer, converter and model serves once."""


async def loop_run(executor: ThreadPoolExecutor, work: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(executor, work, *args)


def warm_up(service: AuditService) -> float:
    """One real audit through every model before the service says it is ready: each SOP's auditor audits a short
    bilingual call (spaCy, jieba, OpenCC, the embedder, the step scorer, the act check, dissatisfaction, anomaly)
    whole and turn by turn in a live session. Without it the first requests after /readyz paid for lazy loading.
    Returns the seconds it took."""
    started = time.perf_counter()
    conversation = conversation_from_mapping(
        {"id": "warm-up", "agent_id": "warm-up", "turns": WARM_UP_CALL}, source="warm-up", default_id="warm-up"
    )
    for sop_id in sorted(service.sops):
        try:
            service.auditor(sop_id).audit_many([conversation])
        except Exception:  # an audit bug must not keep the server from starting: it answers 500 on such a request
            log.exception("warm-up audit against SOP %r failed", sop_id)
        try:
            live = LiveSession(service.auditor(sop_id), "warm-up", agent_id="warm-up")
            for turn in WARM_UP_CALL:
                live.push(turn)
            live.close()
        except Exception:
            log.exception("warm-up live session against SOP %r failed", sop_id)
    return time.perf_counter() - started


async def _expire_idle_sessions(app: FastAPI, every: float = 15.0) -> None:
    while True:
        await asyncio.sleep(every)
        dropped = app.state.sessions.expire()
        app.state.metrics.sessions.set(len(app.state.sessions))
        if dropped:
            log.info("expired %d idle live session(s)", dropped)
