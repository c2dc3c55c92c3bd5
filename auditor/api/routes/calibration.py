"""Calibration sessions: pages under /review/calibration, JSON under /v1/review/calibration.

Several coaches review the same conversations blind (each sees only their own verdicts in the session, and not the
automatic verdicts unless the lead chose to show them); the results page shows Fleiss' kappa per step and overall,
Cohen's kappa per pair of coaches, each coach's agreement with the consensus and the auditor, and the disagreements
to discuss. The lead (the coach who created the session) sees the results at any time and closes the session;
everyone sees them once it is closed. Calibration verdicts never change a conversation's result (review/calibration.py).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from auditor.api.dependencies import CoachDep, OptionalStoreDep, ReviewSignerDep, SettingsDep, StoreDep, require_key
from auditor.api.errors import ApiError, problem_details
from auditor.api.pages import (
    STATUSES,
    error_page,
    no_store,
    page_texts,
    posted_form,
    printable,
    render,
    to_login,
    ui_language,
)
from auditor.api.review_session import Coach
from auditor.api.schemas import LARGEST_ID, ErrorOut, error_responses
from auditor.reports.html import conversation_view
from auditor.review.calibration import (
    MAX_CONVERSATIONS,
    CalibrationError,
    CalibrationVerdict,
    NewCalibration,
    NotAllowedError,
    UnknownCalibrationError,
    audit_ids_of,
    calibration,
    calibration_report,
    close_calibration,
    create_calibration,
    list_calibrations,
    may_review,
    may_see_results,
    own_verdicts,
    record_calibration_verdicts,
    shows_auditor,
    summary,
)
from auditor.review.queue import QueueFilters, review_queue
from auditor.store.audits import audit_result, stored_conversation
from auditor.store.database import Store
from auditor.store.tables import AuditRow, storable_texts

SessionId = Annotated[int, Path(ge=1, le=LARGEST_ID, description="A calibration session's id.")]

api = APIRouter(
    prefix="/v1/review/calibration",
    tags=["calibration"],
    dependencies=[Depends(require_key)],
    responses=error_responses(400, 401, 404, 413, 422, 429, 503)
    | {
        403: {"model": ErrorOut, "description": "Not a coach of this session, or not its lead (code not_allowed)."},
        409: {"model": ErrorOut, "description": "The session is still open (results) or already closed (verdicts)."},
    },
)
pages = APIRouter(prefix="/review/calibration", tags=["calibration pages"], include_in_schema=False)
router = APIRouter()
"""Both, for app.py."""


def _api_error(error: Exception) -> ApiError:
    if isinstance(error, UnknownCalibrationError):
        return ApiError(404, "unknown_calibration", str(error))
    if isinstance(error, NotAllowedError):
        return ApiError(403, "not_allowed", str(error))
    if isinstance(error, CalibrationError):
        return ApiError(422, "invalid_calibration", str(error), problem_details(error.problems))
    raise error


def _call(store: Store, work: Any) -> Any:
    try:
        return store.write(work)
    except (UnknownCalibrationError, NotAllowedError, CalibrationError) as error:
        raise _api_error(error) from error


# --- JSON ---------------------------------------------------------------------------------------------------------


class CalibrationVerdictsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coach: str = Field(min_length=1, max_length=100)
    audit_id: int = Field(ge=1, le=LARGEST_ID)
    verdicts: list[CalibrationVerdict] = Field(min_length=1, max_length=200)

    _storable = field_validator("coach")(storable_texts)


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coach: str = Field(min_length=1, max_length=100, description="The session's lead.")

    _storable = field_validator("coach")(storable_texts)


def _verdict_out(row: Any) -> dict[str, Any]:
    return {
        "audit_id": row.audit_id,
        "step_id": row.step_id,
        "coach": row.coach,
        "status": row.coach_status,
        "turn_index": row.turn_index,
        "comment": row.comment,
        "updated_at": row.updated_at.isoformat(timespec="seconds"),
    }


@api.get("", summary="Calibration sessions, newest first")
def list_sessions(store: StoreDep) -> list[dict[str, Any]]:
    with store.session() as session:
        return [asdict(item) for item in list_calibrations(session)]


@api.post("", status_code=201, summary="Open a calibration session")
def create_session(body: NewCalibration, store: StoreDep) -> dict[str, Any]:
    """Name, lead (``created_by``), at least two coaches and the audits they all review."""
    return _call(store, lambda session: asdict(summary(session, create_calibration(session, body))))


@api.get("/{session_id}", summary="One calibration session and each coach's progress")
def get_session(session_id: SessionId, store: StoreDep) -> dict[str, Any]:
    return _call(store, lambda session: asdict(summary(session, calibration(session, session_id))))


@api.get("/{session_id}/verdicts", summary="One coach's own verdicts in the session (blind: never the others')")
def get_own_verdicts(
    session_id: SessionId, store: StoreDep, coach: Annotated[str, Query(min_length=1, max_length=100)]
) -> list[dict[str, Any]]:
    def read(session: Session) -> list[dict[str, Any]]:
        calibration(session, session_id)
        return [_verdict_out(row) for row in own_verdicts(session, session_id, " ".join(coach.split()))]

    return _call(store, read)


@api.post("/{session_id}/verdicts", summary="Record a coach's statuses for steps of one of the session's audits")
def post_verdicts(session_id: SessionId, body: CalibrationVerdictsIn, store: StoreDep) -> list[dict[str, Any]]:
    """Only the session's coaches, while it is open; answers that coach's verdicts on that audit (not the others')."""

    def record(session: Session) -> list[dict[str, Any]]:
        record_calibration_verdicts(session, session_id, body.audit_id, body.coach, body.verdicts)
        coach = " ".join(body.coach.split())
        return [_verdict_out(row) for row in own_verdicts(session, session_id, coach, body.audit_id)]

    return _call(store, record)


@api.post("/{session_id}/close", summary="The lead closes the session: everyone sees the results")
def close_session(session_id: SessionId, body: CloseIn, store: StoreDep) -> dict[str, Any]:
    return _call(
        store,
        lambda session: asdict(summary(session, close_calibration(session, session_id, body.coach))),
    )


@api.get("/{session_id}/results", summary="Kappa per step, per coach pair, against the auditor; disagreements")
def get_results(
    session_id: SessionId, store: StoreDep, coach: Annotated[str, Query(min_length=1, max_length=100)]
) -> dict[str, Any]:
    """Fleiss' kappa (all coaches) per step and overall, Cohen's per pair, each coach against the consensus and the
    automatic verdicts, and the disagreements. For everyone once the session is closed; for its lead at any time
    (409 ``session_open`` otherwise). Kappa is null when undefined."""

    def read(session: Session) -> dict[str, Any]:
        row = calibration(session, session_id)
        if not may_see_results(row, " ".join(coach.split())):
            raise ApiError(409, "session_open", f"the results show once the lead ({row.created_by}) closes the session")
        return asdict(calibration_report(session, row.id))

    return _call(store, read)


# --- pages --------------------------------------------------------------------------------------------------------


def _qa_lead(coach: Coach) -> bool:
    """A QA lead (role from the people file) sees any session's results and closes it, like its own lead."""
    return coach.role == "qa_lead"


@pages.get("", response_class=HTMLResponse)
def list_page(request: Request, coach: CoachDep, store: OptionalStoreDep) -> Response:
    if coach is None:
        return to_login(request)
    if store is None:
        return no_store(request, coach)
    return _list(request, coach, store)


def _list(request: Request, coach: Coach, store: Store, problems: list[str] | None = None, **form: Any) -> Response:
    with store.session() as session:
        sessions = list_calibrations(session)
        queue = review_queue(session, QueueFilters(state="all"), limit=MAX_CONVERSATIONS).items
    return render(
        request,
        "review_calibration_list.html.j2",
        422 if problems else 200,
        coach,
        page_name="calibration",
        sessions=sessions,
        queue=queue,
        problems=problems or [],
        form={"name": "", "coaches": "", "audits": [], "hide_auditor": True} | form,
    )


@pages.post("", response_class=HTMLResponse)
async def create_page(request: Request, coach: CoachDep, signer: ReviewSignerDep, store: OptionalStoreDep) -> Response:
    posted = await posted_form(request, coach, signer, store)
    if isinstance(posted, Response):
        return posted
    coach, form, store = posted
    name = printable(str(form.get("name", "")))
    coaches_text = printable(str(form.get("coaches", "")))
    coaches = [c.strip() for c in coaches_text.replace("\n", ",").replace("，", ",").split(",") if c.strip()]
    audits = [int(str(a)) for a in form.getlist("audit") if str(a).isascii() and str(a).isdigit()]
    hide = form.get("hide_auditor") == "on"
    values = {"name": name, "coaches": coaches_text, "audits": audits, "hide_auditor": hide}
    try:
        new = NewCalibration(name=name, created_by=coach.name, coaches=coaches, audit_ids=audits, hide_auditor=hide)
    except ValidationError as error:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()]
        return await run_in_threadpool(_list, request, coach, store, problems, **values)

    def create(session: Session) -> int:
        return create_calibration(session, new).id

    try:
        created = await run_in_threadpool(store.write, create)
    except CalibrationError as error:
        return await run_in_threadpool(_list, request, coach, store, error.problems, **values)
    return RedirectResponse(f"/review/calibration/{created}?ui={ui_language(request)}", status_code=303)


@pages.get("/{session_id}", response_class=HTMLResponse)
def session_page(request: Request, session_id: int, coach: CoachDep, store: OptionalStoreDep) -> Response:
    if coach is None:
        return to_login(request)
    if store is None:
        return no_store(request, coach)
    with store.session() as session:
        try:
            row = calibration(session, session_id)
        except UnknownCalibrationError as error:
            return error_page(request, coach, 404, str(error))
        info = summary(session, row)
        mine: dict[int, int] = {}
        for verdict in own_verdicts(session, row.id, coach.name):
            mine[verdict.audit_id] = mine.get(verdict.audit_id, 0) + 1
        conversations = []
        for audit_id in audit_ids_of(row):
            audit = session.get_one(AuditRow, audit_id)
            conversations.append(
                {
                    "audit_id": audit_id,
                    "conversation_id": audit.conversation.conversation_id,
                    "sop_id": audit.sop_id,
                    "agent_id": audit.agent_id,
                    "steps": len(audit.steps),
                    "mine": mine.get(audit_id, 0),
                }
            )
        can_review, can_see = may_review(row, coach.name), may_see_results(row, coach.name, _qa_lead(coach))
    return render(
        request,
        "review_calibration_session.html.j2",
        coach=coach,
        page_name="calibration",
        info=info,
        conversations=conversations,
        can_review=can_review,
        can_see=can_see,
        is_lead=coach.name == info.created_by or _qa_lead(coach),
    )


@pages.get("/{session_id}/audits/{audit_id}", response_class=HTMLResponse)
def review_page(
    request: Request, session_id: int, audit_id: int, coach: CoachDep, store: OptionalStoreDep, settings: SettingsDep
) -> Response:
    if coach is None:
        return to_login(request)
    saved = request.query_params.get("saved")
    return _review(
        request, coach, store, settings, session_id, audit_id, int(saved) if saved and saved.isdigit() else None
    )


def _review(
    request: Request,
    coach: Coach,
    store: Store | None,
    settings: Any,
    session_id: int,
    audit_id: int,
    saved: int | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    if store is None:
        return no_store(request, coach)
    with store.session() as session:
        try:
            row = calibration(session, session_id)
        except UnknownCalibrationError as error:
            return error_page(request, coach, 404, str(error))
        if audit_id not in audit_ids_of(row):
            return error_page(request, coach, 404, f"audit {audit_id} is not in this calibration session")
        audit = session.get_one(AuditRow, audit_id)
        result = audit_result(audit, settings.redaction_policy())
        conversation = stored_conversation(audit.conversation)
        mine = {v.step_id: v for v in own_verdicts(session, row.id, coach.name, audit_id)}  # blind: only their own
        info = summary(session, row)
        can_review = may_review(row, coach.name)
        show_auditor = shows_auditor(row)
        order = audit_ids_of(row)
    position = order.index(audit_id)
    return render(
        request,
        "review_calibration_review.html.j2",
        status,
        coach,
        page_name="calibration",
        info=info,
        audit_id=audit_id,
        view=conversation_view(result, conversation),
        show_auditor=show_auditor,
        mine=mine,
        can_review=can_review,
        statuses=STATUSES,
        saved=saved,
        problems=problems or [],
        next_audit=order[position + 1] if position + 1 < len(order) else None,
        position=position + 1,
        total=len(order),
    )


@pages.post("/{session_id}/audits/{audit_id}", response_class=HTMLResponse)
async def post_review(
    request: Request,
    session_id: int,
    audit_id: int,
    coach: CoachDep,
    signer: ReviewSignerDep,
    store: OptionalStoreDep,
    settings: SettingsDep,
) -> Response:
    posted = await posted_form(request, coach, signer, store)
    if isinstance(posted, Response):
        return posted
    coach, form, store = posted
    fields = {key: str(value) for key, value in form.items()}
    verdicts, problems = _verdicts_from_form(fields)
    if not problems and verdicts:

        def save(session: Session) -> None:
            record_calibration_verdicts(session, session_id, audit_id, coach.name, verdicts)

        try:
            await run_in_threadpool(store.write, save)
        except UnknownCalibrationError as error:
            return error_page(request, coach, 404, str(error))
        except NotAllowedError as error:
            return error_page(request, coach, 403, str(error))
        except CalibrationError as error:
            problems = error.problems
        else:
            ui = ui_language(request)
            target = f"/review/calibration/{session_id}/audits/{audit_id}?saved={len(verdicts)}&ui={ui}"
            return RedirectResponse(target, status_code=303)
    return await run_in_threadpool(
        _review, request, coach, store, settings, session_id, audit_id, None, problems, 422 if problems else 200
    )


def _verdicts_from_form(fields: dict[str, str]) -> tuple[list[CalibrationVerdict], list[str]]:
    """``s-STEP`` the status the coach finds (empty: not reviewed), ``t-STEP`` the turn, ``c-STEP`` a comment."""
    verdicts, problems = [], []
    for name, status in fields.items():
        if not name.startswith("s-") or not status:
            continue
        step_id = name[2:]
        turn_text = fields.get(f"t-{step_id}", "").strip()
        if turn_text and not (turn_text.isascii() and turn_text.isdigit()):
            problems.append(f"{step_id}: turn {turn_text!r} is not a turn number")
            continue
        try:
            verdicts.append(
                CalibrationVerdict(
                    step_id=step_id,
                    status=status,
                    turn_index=int(turn_text) if turn_text else None,
                    comment=printable(fields.get(f"c-{step_id}", "")),
                )
            )
        except ValueError as error:
            problems.append(f"{step_id}: {error}")
    return verdicts, problems


@pages.post("/{session_id}/close", response_class=HTMLResponse)
async def close_page(
    request: Request, session_id: int, coach: CoachDep, signer: ReviewSignerDep, store: OptionalStoreDep
) -> Response:
    posted = await posted_form(request, coach, signer, store)
    if isinstance(posted, Response):
        return posted
    coach, form, store = posted
    try:
        lead = _qa_lead(coach)
        await run_in_threadpool(store.write, lambda session: close_calibration(session, session_id, coach.name, lead))
    except UnknownCalibrationError as error:
        return error_page(request, coach, 404, str(error))
    except NotAllowedError as error:
        return error_page(request, coach, 403, str(error))
    return RedirectResponse(f"/review/calibration/{session_id}/results?ui={ui_language(request)}", status_code=303)


@pages.get("/{session_id}/results", response_class=HTMLResponse)
def results_page(request: Request, session_id: int, coach: CoachDep, store: OptionalStoreDep) -> Response:
    if coach is None:
        return to_login(request)
    if store is None:
        return no_store(request, coach)
    with store.session() as session:
        try:
            row = calibration(session, session_id)
        except UnknownCalibrationError as error:
            return error_page(request, coach, 404, str(error))
        if not may_see_results(row, coach.name, _qa_lead(coach)):
            texts = page_texts()[ui_language(request)]
            return error_page(request, coach, 403, texts["cal_results_later"].format(lead=row.created_by))
        report = calibration_report(session, row.id)
    return render(request, "review_calibration_results.html.j2", coach=coach, page_name="calibration", report=report)


router.include_router(api)
router.include_router(pages)
