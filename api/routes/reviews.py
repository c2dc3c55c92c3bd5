"""Coach review over JSON: store audits, the risk-ranked queue, one audit with its transcript, verdicts, agreement."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.auth import require_key
from api.dependencies import auditor_for, conversation_from_body, get_service, run_model
from api.errors import ApiError
from api.schemas import TranscriptIn
from auditor.result import ConversationResult
from auditor.review.agreement import agreement_report
from auditor.review.queue import QueueFilters, review_queue
from auditor.review.verdicts import StepVerdict, UnknownAuditError, VerdictError, record_verdicts, reviews_of
from auditor.store.audits import audit_result, audit_row, save_result, stored_conversation
from auditor.store.database import Store
from auditor.store.tables import AuditRow
from auditor.transcripts.conversation import Conversation

router = APIRouter(prefix="/v1/review", tags=["review"], dependencies=[Depends(require_key)])


def get_store(request: Request) -> Store:
    store: Store | None = getattr(request.app.state, "store", None)
    if store is None:
        raise ApiError(503, "no_store", "the review store is not open (AUDITOR_DATABASE_URL)")
    return store


StoreDep = Annotated[Store, Depends(get_store)]


class QueueItemOut(BaseModel):
    audit_id: int
    conversation_id: str
    agent_id: str | None
    sop_id: str
    sop_version: str
    lang: str | None
    when: datetime = Field(description="The conversation's start (UTC), or the audit time when it has none.")
    dated: bool
    score: float
    passed: bool
    risk: float
    reasons: list[str]
    flags: list[str]
    reviewers: list[str]


class QueueOut(BaseModel):
    items: list[QueueItemOut]
    total: int
    offset: int
    limit: int


class TurnOut(BaseModel):
    index: int
    speaker: str
    role: str
    text: str
    start: float | None = None
    end: float | None = None


class ReviewOut(BaseModel):
    step_id: str
    reviewer: str
    auditor_status: str
    verdict: Literal["confirmed", "overturned"]
    coach_status: str
    turn_index: int | None
    comment: str
    audit_id: int
    updated_at: datetime


class AuditOut(BaseModel):
    audit_id: int
    latest: bool
    result: ConversationResult
    turns: list[TurnOut] | None = Field(description="The transcript, or null when only the result was stored.")
    reviews: list[ReviewOut]


class StoredOut(BaseModel):
    audit_id: int
    conversation_id: str
    created: bool = Field(description="False when this exact audit (SOP version and models) was already stored.")


class StoreResultsIn(BaseModel):
    results: list[ConversationResult] = Field(min_length=1, max_length=1000)
    transcripts: list[dict[str, Any]] = Field(
        default_factory=list, description="Transcripts of those results (the contract), matched by id."
    )


class VerdictsIn(BaseModel):
    reviewer: str = Field(min_length=1, max_length=100, description="The coach's name.")
    verdicts: list[StepVerdict] = Field(min_length=1, max_length=200)


class AuditAndStoreOut(StoredOut):
    result: ConversationResult


@router.get("/queue", response_model=QueueOut, summary="Audits to review, riskiest first")
def queue(
    store: StoreDep,
    agent: str | None = None,
    sop: str | None = None,
    step: Annotated[str | None, Query(description="Audits where the auditor flagged this step or was unsure.")] = None,
    since: date | None = None,
    until: date | None = None,
    state: Literal["todo", "reviewed", "all"] = "todo",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> QueueOut:
    """Newest audit of each conversation and SOP; critical misses first, then dissatisfaction, then anomalies."""
    with store.session() as session:
        page = review_queue(session, QueueFilters(agent, sop, step, since, until, state), limit=limit, offset=offset)
    return QueueOut(
        items=[QueueItemOut(**asdict(item)) for item in page.items], total=page.total, offset=offset, limit=limit
    )


@router.get("/audits/{audit_id}", response_model=AuditOut, summary="One stored audit with transcript and verdicts")
def get_audit(audit_id: int, store: StoreDep) -> AuditOut:
    with store.session() as session:
        audit = audit_row(session, audit_id)
        if audit is None:
            raise ApiError(404, "unknown_audit", f"no audit {audit_id}")
        conversation = stored_conversation(audit.conversation)
        return AuditOut(
            audit_id=audit.id,
            latest=audit.latest,
            result=audit_result(audit),
            turns=_turns(conversation),
            reviews=[_review_out(row) for row in reviews_of(session, audit)],
        )


@router.post("/audits/{audit_id}/verdicts", response_model=list[ReviewOut], summary="Record a coach's step verdicts")
def post_verdicts(audit_id: int, body: VerdictsIn, store: StoreDep) -> list[ReviewOut]:
    """Confirm or overturn step verdicts; the same coach on the same step again replaces the earlier verdict."""
    try:
        with store.session() as session:
            record_verdicts(session, audit_id, body.reviewer, body.verdicts)
            audit = session.get_one(AuditRow, audit_id)
            return [_review_out(row) for row in reviews_of(session, audit)]
    except UnknownAuditError as error:
        raise ApiError(404, "unknown_audit", str(error)) from error
    except VerdictError as error:
        details = [{"field": p.split(":", 1)[0], "message": p.split(":", 1)[-1].strip()} for p in error.problems]
        raise ApiError(422, "invalid_verdicts", str(error), details) from error


@router.post("/results", response_model=list[StoredOut], summary="Store audit results (and transcripts)")
def store_results(body: StoreResultsIn, request: Request, store: StoreDep) -> list[StoredOut]:
    """Results made elsewhere (``auditor audit``) join the queue; the same audit again is stored once."""
    settings = request.app.state.settings
    conversations: dict[str, Conversation] = {}
    for number, raw in enumerate(body.transcripts):
        conversation = conversation_from_body(raw, settings, f"transcripts[{number}]")
        conversations[conversation.id] = conversation
    with store.session() as session:
        saved = [save_result(session, r, conversations.get(r.conversation_id)) for r in body.results]
    return [StoredOut(audit_id=s.audit_id, conversation_id=s.conversation_id, created=s.created) for s in saved]


@router.post("/audit", response_model=AuditAndStoreOut, summary="Audit a conversation and queue it for review")
async def audit_and_store(
    transcript: TranscriptIn,
    request: Request,
    sop_id: Annotated[str, Query(alias="sop", description="Id of the SOP to audit against.")],
) -> AuditAndStoreOut:
    store = get_store(request)
    auditor = auditor_for(get_service(request), sop_id)
    conversation = conversation_from_body(transcript.model_dump(exclude_unset=True), request.app.state.settings)
    results = await run_model(request.app, auditor.audit_many, [conversation])

    def save() -> Any:
        with store.session() as session:
            return save_result(session, results[0], conversation)

    saved = await run_in_threadpool(save)
    return AuditAndStoreOut(
        audit_id=saved.audit_id, conversation_id=saved.conversation_id, created=saved.created, result=results[0]
    )


@router.get("/agreement", summary="Agreement: auditor vs coaches per step, coach vs coach")
def get_agreement(store: StoreDep, sop: str | None = None) -> dict[str, Any]:
    """Cohen's kappa and accuracy per step; kappa is null when undefined (both sides always gave one status)."""
    with store.session() as session:
        return asdict(agreement_report(session, sop))


def _turns(conversation: Conversation | None) -> list[TurnOut] | None:
    if conversation is None:
        return None
    return [
        TurnOut(index=t.index, speaker=t.speaker, role=t.role.value, text=t.text, start=t.start, end=t.end)
        for t in conversation.turns
    ]


def _review_out(row: Any) -> ReviewOut:
    return ReviewOut(
        step_id=row.step_id,
        reviewer=row.reviewer,
        auditor_status=row.auditor_status,
        verdict=row.verdict,
        coach_status=row.coach_status,
        turn_index=row.turn_index,
        comment=row.comment,
        audit_id=row.audit_id,
        updated_at=row.updated_at,
    )
