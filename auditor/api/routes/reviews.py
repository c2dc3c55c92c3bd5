"""Coach review over JSON: store audits, the risk-ranked queue, one audit with its transcript, verdicts, agreement."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from auditor.api.dependencies import ModelThreadDep, ServiceDep, SettingsDep, StoreDep, loaded_sops, require_key
from auditor.api.errors import ApiError, problem_details
from auditor.api.schemas import (
    LARGEST_ID,
    AuditAndStoreOut,
    AuditOut,
    FinalOut,
    FinalStepOut,
    QueueItemOut,
    QueueOut,
    ReviewOut,
    StoredOut,
    StoreResultsIn,
    TranscriptIn,
    TurnOut,
    VerdictsIn,
    error_responses,
)
from auditor.api.transcripts import conversation_from_body, conversation_from_transcript
from auditor.conversation import Conversation
from auditor.outcome import with_outcome
from auditor.privacy.policy import redact_for_result
from auditor.review.agreement import agreement_report
from auditor.review.coach_verdicts import UnknownAuditError, record_verdicts, reviews_of
from auditor.review.queue import QueueFilters, review_queue
from auditor.review.rollups import audits_csv, exported_audits, rollup
from auditor.store.audits import audit_result, save_result, storable_problems, stored_conversation
from auditor.store.final_results import FinalResult, stored_final
from auditor.store.tables import AuditRow, audit_row, storable_text

router = APIRouter(
    prefix="/v1/review",
    tags=["review"],
    dependencies=[Depends(require_key)],
    responses=error_responses(401, 422, 429, 503),
)
BODY_ERRORS = error_responses(400, 413)
AuditId = Annotated[int, Path(ge=1, le=LARGEST_ID, description="A stored audit's id (from the queue).")]


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
    offset: Annotated[int, Query(ge=0, le=LARGEST_ID)] = 0,
) -> QueueOut:
    """Newest audit of each conversation and SOP; those that need review (steps the auditor could not decide) first,
    then critical misses, dissatisfaction, anomalies."""
    for name, value in (("agent", agent), ("sop", sop), ("step", step)):
        if value is not None:
            try:
                storable_text(value)
            except ValueError as error:
                details = [{"field": name, "message": str(error)}]
                raise ApiError(422, "invalid_request", f"{name}: {error}", details) from error
    with store.session() as session:
        page = review_queue(session, QueueFilters(agent, sop, step, since, until, state), limit=limit, offset=offset)
    return QueueOut(
        items=[QueueItemOut(**asdict(item)) for item in page.items], total=page.total, offset=offset, limit=limit
    )


@router.get(
    "/audits/{audit_id}",
    response_model=AuditOut,
    summary="One stored audit with transcript and verdicts",
    responses=error_responses(404),
)
def get_audit(audit_id: AuditId, store: StoreDep, settings: SettingsDep) -> AuditOut:
    with store.session() as session:
        audit = audit_row(session, audit_id)
        if audit is None:
            raise UnknownAuditError(audit_id)
        conversation = stored_conversation(audit.conversation)
        result = audit_result(audit, settings.redaction_policy())  # the server's policy wins
        return AuditOut(
            audit_id=audit.id,
            latest=audit.latest,
            result=result,
            final=final_out(stored_final(audit)),
            turns=_turns(redact_for_result(conversation, result)),  # rows stored before redaction existed too
            reviews=[_review_out(row) for row in reviews_of(session, audit)],
        )


@router.post(
    "/audits/{audit_id}/verdicts",
    response_model=list[ReviewOut],
    summary="Record a coach's step verdicts",
    responses=BODY_ERRORS | error_responses(404),
)
def post_verdicts(audit_id: AuditId, body: VerdictsIn, store: StoreDep) -> list[ReviewOut]:
    """Confirm or overturn step verdicts; the same coach on the same step again replaces the earlier verdict."""

    def record(session: Session) -> list[ReviewOut]:
        record_verdicts(session, audit_id, body.reviewer, body.verdicts)
        audit = session.get_one(AuditRow, audit_id)
        return [_review_out(row) for row in reviews_of(session, audit)]

    return store.write(record)  # UnknownAuditError is a 404, VerdictError a 422 (errors.py)


@router.post(
    "/results", response_model=list[StoredOut], summary="Store audit results (and transcripts)", responses=BODY_ERRORS
)
def store_results(body: StoreResultsIn, store: StoreDep, settings: SettingsDep, request: Request) -> list[StoredOut]:
    """Results made elsewhere (``auditor audit``) join the queue; the same audit again is stored once. They are stored
    redacted with at least the server's policy, whatever they record (a result made with ``--no-redact`` too)."""
    policy = settings.redaction_policy()
    problems = [
        p for number, result in enumerate(body.results) for p in storable_problems(result, f"results[{number}]")
    ]
    if problems:
        raise ApiError(422, "invalid_result", "; ".join(problems[:5]), problem_details(problems))
    conversations: dict[str, Conversation] = {}
    for number, raw in enumerate(body.transcripts):
        conversation = conversation_from_body(raw, settings, f"transcripts[{number}]")
        conversations[conversation.id] = conversation
    sops = loaded_sops(request)  # stored results record the scoring rules of the SOPs the server knows
    saved = store.write(
        lambda session: [
            save_result(session, r, conversations.get(r.conversation_id), policy, sops.get(r.sop_id))
            for r in body.results
        ]
    )
    return [StoredOut(audit_id=s.audit_id, conversation_id=s.conversation_id, created=s.created) for s in saved]


@router.post(
    "/audit",
    response_model=AuditAndStoreOut,
    summary="Audit a conversation and queue it for review",
    responses=BODY_ERRORS | error_responses(404),
)
async def audit_and_store(
    transcript: TranscriptIn,
    sop_id: Annotated[str, Query(alias="sop", description="Id of the SOP to audit against.")],
    service: ServiceDep,
    store: StoreDep,
    settings: SettingsDep,
    model_thread: ModelThreadDep,
) -> AuditAndStoreOut:
    auditor = service.auditor(sop_id)  # an unknown SOP is a 404 (errors.py)
    conversation = conversation_from_transcript(transcript, settings)
    results = await model_thread.run(auditor.audit_many, [conversation])
    problems = storable_problems(results[0])
    if problems:
        raise ApiError(422, "invalid_transcript", "; ".join(problems[:5]), problem_details(problems))

    saved = await run_in_threadpool(
        store.write, lambda session: save_result(session, results[0], conversation, sop=auditor.sop)
    )
    return AuditAndStoreOut(
        audit_id=saved.audit_id,
        conversation_id=saved.conversation_id,
        created=saved.created,
        result=with_outcome(results[0]),
    )


@router.get("/agreement", summary="Agreement: auditor vs coaches per step, coach vs coach")
def get_agreement(store: StoreDep, sop: str | None = None) -> dict[str, Any]:
    """Cohen's kappa and accuracy per step; kappa is null when undefined (both sides always gave one status)."""
    with store.session() as session:
        return asdict(agreement_report(session, sop))


@router.get("/rollup", summary="Per agent and per step, from the final (reviewed) verdicts")
def get_rollup(store: StoreDep, sop: str | None = None) -> dict[str, Any]:
    """Newest audit of each conversation: per agent, final outcomes (and how many were reviewed, and passed before
    review); per step, the final done rate over decided verdicts, how many were reviewed and overturned."""
    with store.session() as session:
        report = rollup(session, sop)
    return {
        "conversations": report.conversations,
        "reviewed": report.reviewed,
        "agents": [asdict(a) | {"mean_score": a.mean_score, "pass_rate": a.pass_rate} for a in report.agents],
        "steps": [asdict(s) | {"done_rate": s.done_rate} for s in report.steps],
    }


@router.get(
    "/export",
    summary="The newest audits with their final and automatic verdicts (JSON or CSV)",
    responses={200: {"content": {"text/csv": {}}}},
)
def export(
    store: StoreDep,
    sop: str | None = None,
    agent: str | None = None,
    state: Literal["all", "reviewed", "todo"] = "all",
    format: Literal["json", "csv"] = "json",
) -> Any:
    """One row per conversation and SOP: the final outcome and score (the coaches' once reviewed), the automatic
    ones, whether and when it was reviewed, and each step's final and automatic status."""
    with store.session() as session:
        audits = exported_audits(session, sop_id=sop, agent_id=agent, state=state)
    if format == "csv":
        headers = {"Content-Disposition": 'attachment; filename="reviewed-audits.csv"'}
        return Response(audits_csv(audits), media_type="text/csv; charset=utf-8", headers=headers)
    return {"audits": [asdict(audit) for audit in audits]}


def final_out(final: FinalResult) -> FinalOut:
    return FinalOut(
        score=final.score,
        outcome=final.outcome,
        passed=final.passed,
        automatic_score=final.automatic_score,
        automatic_outcome=final.automatic_outcome,
        reviewed=final.reviewed,
        reviewed_steps=final.reviewed_steps,
        reviewed_at=final.reviewed_at,
        steps=[
            FinalStepOut(
                step_id=s.step_id,
                automatic_status=s.automatic,
                final_status=s.final,
                reviewed=s.reviewed,
                critical=s.critical,
                required=s.required,
            )
            for s in final.steps
        ],
    )


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
