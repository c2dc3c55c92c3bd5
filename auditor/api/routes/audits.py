"""Audit whole conversations: one, or a small batch where each conversation succeeds or fails on its own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from auditor.api.dependencies import MetricsDep, ModelThreadDep, ServiceDep, SettingsDep, require_key
from auditor.api.errors import ApiError
from auditor.api.metrics import Metrics
from auditor.api.schemas import BatchIn, BatchOut, BatchProblem, TranscriptIn, error_responses
from auditor.api.transcripts import conversation_from_body, conversation_from_transcript
from auditor.outcome import with_outcome
from auditor.result import ConversationResult
from auditor.transcripts.decoding import text_problem

router = APIRouter(
    prefix="/v1",
    tags=["audits"],
    dependencies=[Depends(require_key)],
    responses=error_responses(400, 401, 404, 413, 422, 429, 503),
)
SopQuery = Annotated[str, Query(alias="sop", description="Id of the SOP to audit against (see GET /v1/sops).")]


@router.post("/audit", response_model=ConversationResult, summary="Audit one conversation")
async def audit_one(
    transcript: TranscriptIn,
    sop_id: SopQuery,
    service: ServiceDep,
    settings: SettingsDep,
    model_thread: ModelThreadDep,
    metrics: MetricsDep,
) -> ConversationResult:
    """The transcript contract in, the result contract out (DESIGN.md); ``outcome`` is always filled in."""
    auditor = service.auditor(sop_id)  # an unknown SOP is a 404, a transcript against the contract a 422 (errors.py)
    conversation = conversation_from_transcript(transcript, settings)
    results = await model_thread.run(auditor.audit_many, [conversation], timeout=settings.request_timeout_seconds)
    _count(metrics, len(conversation.turns), 1)
    return with_outcome(results[0])


@router.post("/audit/batch", response_model=BatchOut, summary="Audit a small batch of conversations")
async def audit_batch(
    batch: BatchIn,
    sop_id: SopQuery,
    service: ServiceDep,
    settings: SettingsDep,
    model_thread: ModelThreadDep,
    metrics: MetricsDep,
) -> BatchOut:
    """Each conversation is checked on its own: the good ones are audited, the bad ones listed in ``errors``."""
    auditor = service.auditor(sop_id)
    if len(batch.conversations) > settings.max_batch:
        raise ApiError(
            422,
            "batch_too_large",
            f"{len(batch.conversations)} conversations, more than the limit of {settings.max_batch}; "
            "use `auditor audit` for large batches",
        )
    conversations, problems = [], []
    for index, raw in enumerate(batch.conversations):
        try:
            conversations.append(conversation_from_body(raw, settings, f"conversations[{index}]"))
        except ApiError as error:
            problems.append(BatchProblem(index=index, id=_id_of(raw), message=error.message))
    timeout = settings.request_timeout_seconds
    results = await model_thread.run(auditor.audit_many, conversations, timeout=timeout) if conversations else []
    _count(metrics, sum(len(c.turns) for c in conversations), len(conversations))
    return BatchOut(results=[with_outcome(result) for result in results], errors=problems)


def _count(metrics: Metrics, turns: int, conversations: int) -> None:
    metrics.turns.labels("whole").inc(turns)
    metrics.conversations.inc(conversations)


def _id_of(raw: object) -> str | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and text_problem(value) is None else None
