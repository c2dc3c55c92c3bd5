"""Every route's dependencies, typed: what a route needs arrives as an ``Annotated[..., Depends()]`` parameter.

Only this module reads ``app.state`` (which the lifespan in app.py fills in); routes take ``SettingsDep``,
``ServiceDep``, ``StoreDep``... and tests replace any of them with ``app.dependency_overrides[get_x]``.
Dependencies take an ``HTTPConnection``, so the same ones serve HTTP routes and the WebSocket stream; they are
``async`` so that none costs a hop to the thread pool.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from starlette.requests import HTTPConnection

from auditor.api.auth import authenticate, limit_rate
from auditor.api.errors import ApiError
from auditor.api.limits import FailureThrottle, RateLimiter
from auditor.api.metrics import Metrics
from auditor.api.review_session import COOKIE, Coach, NotForAgents, ReviewSigner, agent_may_open
from auditor.api.settings import Settings
from auditor.live.sessions import SessionStore
from auditor.service import AuditService
from auditor.sop_format import Sop
from auditor.store.database import Store

T = TypeVar("T")


async def get_settings(connection: HTTPConnection) -> Settings:
    settings: Settings = connection.app.state.settings
    return settings


async def get_metrics(connection: HTTPConnection) -> Metrics:
    metrics: Metrics = connection.app.state.metrics
    return metrics


@dataclass(frozen=True)
class Ready:
    """What /readyz reports on, once the models are loaded."""

    service: AuditService
    sessions: SessionStore


async def get_ready(connection: HTTPConnection) -> Ready | None:
    """The loaded service and the live sessions, or None while the models are still loading."""
    state = connection.app.state
    return Ready(state.service, state.sessions) if getattr(state, "ready", False) else None


def loaded_sops(connection: HTTPConnection) -> dict[str, Sop]:
    """The SOPs the server loaded, by id; none while the models are still loading."""
    state = connection.app.state
    service: AuditService | None = state.service if getattr(state, "ready", False) else None
    return dict(service.sops) if service is not None else {}


async def get_service(connection: HTTPConnection) -> AuditService:
    if not getattr(connection.app.state, "ready", False):
        raise ApiError(503, "starting", "the models are still loading; retry shortly")
    service: AuditService = connection.app.state.service
    return service


async def get_sessions(connection: HTTPConnection) -> SessionStore:
    sessions: SessionStore = connection.app.state.sessions
    return sessions


async def get_store(connection: HTTPConnection) -> Store:
    store: Store | None = getattr(connection.app.state, "store", None)
    if store is None:
        raise ApiError(503, "no_store", "the review store is not open (AUDITOR_DATABASE_URL)")
    return store


async def get_optional_store(connection: HTTPConnection) -> Store | None:
    """The review store, or None when it is not open (the review pages answer that with a page of their own)."""
    store: Store | None = getattr(connection.app.state, "store", None)
    return store


async def get_key_hashes(connection: HTTPConnection) -> set[str]:
    """SHA-256 hashes of the accepted API keys (empty when auth is off)."""
    hashes: set[str] = connection.app.state.key_hashes
    return hashes


async def get_auth_throttle(connection: HTTPConnection) -> FailureThrottle:
    throttle: FailureThrottle = connection.app.state.auth_throttle
    return throttle


async def get_rate_limiter(connection: HTTPConnection) -> RateLimiter:
    limiter: RateLimiter = connection.app.state.rate_limiter
    return limiter


@dataclass(frozen=True)
class ModelThread:
    """The single model thread: requests are served concurrently, scoring one at a time."""

    executor: Executor

    async def run(self, work: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """Run ``work`` on the model thread; with ``timeout``, a request waiting longer gets 503 ``timeout``
        (work not started yet is dropped)."""
        future = asyncio.get_running_loop().run_in_executor(self.executor, work, *args)
        if timeout is None:
            return await future
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError as error:
            raise ApiError(
                503, "timeout", f"the audit took longer than {timeout:g} s; retry later or send less"
            ) from error


async def get_model_thread(connection: HTTPConnection) -> ModelThread:
    return ModelThread(connection.app.state.executor)


SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ReadyDep = Annotated[Ready | None, Depends(get_ready)]
ServiceDep = Annotated[AuditService, Depends(get_service)]
SessionsDep = Annotated[SessionStore, Depends(get_sessions)]
StoreDep = Annotated[Store, Depends(get_store)]
OptionalStoreDep = Annotated[Store | None, Depends(get_optional_store)]
KeyHashesDep = Annotated[set[str], Depends(get_key_hashes)]
AuthThrottleDep = Annotated[FailureThrottle, Depends(get_auth_throttle)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]
ModelThreadDep = Annotated[ModelThread, Depends(get_model_thread)]


@dataclass(frozen=True)
class Gate:
    """What checks a caller: accepted keys, the failed sign-in throttle and the per-key request rate."""

    settings: Settings
    key_hashes: set[str]
    throttle: FailureThrottle
    limiter: RateLimiter

    def authenticate(self, connection: HTTPConnection) -> str:
        """The caller's identity; a 401 or 429 ApiError when it has no valid key (see ``auth.authenticate``)."""
        return authenticate(connection, self.settings, self.key_hashes, self.throttle)

    def limit_rate(self, owner: str) -> None:
        limit_rate(self.limiter, self.settings, owner)


async def get_gate(
    settings: SettingsDep, key_hashes: KeyHashesDep, throttle: AuthThrottleDep, limiter: RateLimiterDep
) -> Gate:
    return Gate(settings, key_hashes, throttle, limiter)


GateDep = Annotated[Gate, Depends(get_gate)]


async def require_key(connection: HTTPConnection, gate: GateDep) -> str:
    """Every protected route's dependency: a valid key, within its request rate; the caller's identity."""
    owner = gate.authenticate(connection)
    gate.limit_rate(owner)
    return owner


OwnerDep = Annotated[str, Depends(require_key)]
"""The caller (a prefix of its key hash, or ``local`` when auth is off): live sessions belong to it."""


async def get_review_signer(
    connection: HTTPConnection, settings: SettingsDep, key_hashes: KeyHashesDep
) -> ReviewSigner:
    """Signs the review pages' cookies with ``AUDITOR_REVIEW_SECRET``, or with a random secret made once per process
    (everyone signs in again after a restart)."""
    if settings.review_secret:
        secret = settings.review_secret.encode("utf-8")
    else:
        state = connection.app.state
        if getattr(state, "review_secret", None) is None:
            state.review_secret = secrets.token_bytes(32)
        secret = state.review_secret
    people = getattr(connection.app.state, "people", None)  # AUDITOR_PEOPLE_FILE, read at start
    return ReviewSigner(secret, settings.review_session_hours, settings.auth_disabled, key_hashes, people=people)


ReviewSignerDep = Annotated[ReviewSigner, Depends(get_review_signer)]


async def current_coach(connection: HTTPConnection, signer: ReviewSignerDep) -> Coach | None:
    """The coach signed in to the review pages, or None (the pages then send them to /review/login). An agent asking
    for any page but their own (``AGENT_PAGES``) raises ``NotForAgents``: they are sent to /review/my."""
    coach = signer.coach(connection.cookies.get(COOKIE, ""))
    if coach is not None and coach.role == "agent" and not agent_may_open(connection.url.path):
        raise NotForAgents(connection.url.path)
    return coach


CoachDep = Annotated[Coach | None, Depends(current_coach)]
