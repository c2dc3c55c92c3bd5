"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from auditor.api.dependencies import GateDep, MetricsDep, ReadyDep, SessionsDep, SettingsDep
from auditor.api.schemas import error_responses

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


STARTING: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "The models are still loading.",
        "content": {
            "application/json": {"schema": {"type": "object", "properties": {"status": {"const": "starting"}}}}
        },
    }
}


@router.get("/readyz", summary="Models loaded; requests will be served", responses=STARTING)
async def readyz(ready: ReadyDep) -> Any:
    if ready is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    service = ready.service
    return {
        "status": "ready",
        "sops": sorted(service.sops),
        "models": service.auditor(min(service.sops)).models if service.sops else {},
        "notes": service.models.notes,
        "live_sessions": len(ready.sessions),
    }


@router.get(
    "/metrics", summary="Prometheus metrics", response_class=Response, responses=error_responses(401, 429)
)
async def metrics(
    request: Request, settings: SettingsDep, gate: GateDep, metrics: MetricsDep, sessions: SessionsDep
) -> Response:
    if not settings.metrics_public:
        gate.authenticate(request)
    metrics.sessions.set(len(sessions))
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
