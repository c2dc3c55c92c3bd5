"""Agents answer reviews, reviewers resolve disputes: the pages (/review/my, /review/disputes) and the JSON API
(/v1/review/disputes). review/disputes.py holds the rules; review/people.py the roles.

Pages act as the signed-in person, in the role the people file gives them. The JSON API is called with a service
API key (trusted, like ``reviewer`` in the verdicts endpoint) and names the person it acts for in ``by``: with a
people file that person's role applies; without one the body's ``role`` (default coach) and ``agent_id`` do.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from auditor.api.dependencies import CoachDep, OptionalStoreDep, ReviewSignerDep, SettingsDep, StoreDep, require_key
from auditor.api.errors import ApiError
from auditor.api.pages import error_page, no_store, page_texts, posted_form, printable, render, to_login, ui_language
from auditor.api.review_session import Coach, NotForAgents
from auditor.api.schemas import LARGEST_ID, ErrorOut, error_responses
from auditor.privacy.policy import RedactionPolicy, redact_for_result
from auditor.review.coach_verdicts import UnknownAuditError, VerdictError
from auditor.review.disputes import (
    DECIDED,
    Answer,
    Dispute,
    Event,
    InputError,
    NotAllowedError,
    Resolution,
    ReviewedStep,
    StateError,
    agent_conversations,
    agent_view,
    answer,
    disputes,
    resolve,
)
from auditor.review.people import People, Person, Role, canonical
from auditor.store.audits import audit_result, stored_conversation
from auditor.store.database import Store
from auditor.store.tables import storable_texts

pages = APIRouter(prefix="/review", tags=["review pages"], include_in_schema=False)
api = APIRouter(
    prefix="/v1/review/disputes",
    tags=["review"],
    dependencies=[Depends(require_key)],
    responses=error_responses(400, 401, 404, 413, 422, 429, 503)
    | {
        403: {"model": ErrorOut, "description": "The person's role does not allow it (code not_allowed)."},
        409: {"model": ErrorOut, "description": "Not reviewed yet, already answered, or no open dispute."},
    },
)


def install(app: FastAPI) -> None:
    """The routers, and the answer to an agent who asks for a coach's page: their own page (or 403 on a form)."""
    app.include_router(pages)
    app.include_router(api)

    async def _not_for_agents(request: Request, error: Exception) -> Response:
        if request.method in {"GET", "HEAD"}:
            return RedirectResponse(f"/review/my?ui={ui_language(request)}", status_code=303)
        texts = page_texts()[ui_language(request)]
        return render(
            request, "review_error.html.j2", 403, heading="403", message=texts["agents_only_own"], role="agent"
        )

    app.add_exception_handler(NotForAgents, _not_for_agents)


# --- pages ------------------------------------------------------------------------------------------------------


@pages.get("/my", response_class=HTMLResponse)
def my_reviews(request: Request, coach: CoachDep, store: OptionalStoreDep) -> Response:
    if coach is None:
        return to_login(request)
    if coach.role != "agent":
        return RedirectResponse(f"/review/disputes?ui={ui_language(request)}", status_code=303)
    if store is None:
        return no_store(request, coach)
    with store.session() as session:
        items = agent_conversations(session, coach.person)
    return render(request, "review_my.html.j2", coach=coach, page_name="my", role=coach.role, items=items)


@pages.get("/my/{audit_id}", response_class=HTMLResponse)
def my_conversation(
    request: Request, audit_id: int, coach: CoachDep, store: OptionalStoreDep, settings: SettingsDep
) -> Response:
    if coach is None:
        return to_login(request)
    saved = request.query_params.get("saved")
    shown = saved if saved in {"acknowledged", "disputed"} else None
    return _my_conversation(request, coach, store, settings.redaction_policy(), audit_id, saved=shown)


@pages.post("/my/{audit_id}", response_class=HTMLResponse)
async def post_answer(
    request: Request,
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
    kind = str(form.get("answer", ""))
    step_id = printable(str(form.get("step_id", "")))
    comment = printable(str(form.get("comment", "")))
    policy = settings.redaction_policy()
    if kind not in {"acknowledged", "disputed"}:
        problems = ["answer: acknowledge or dispute"]
        return await run_in_threadpool(_my_conversation, request, coach, store, policy, audit_id, None, problems, 422)

    def save() -> tuple[int, list[str]]:
        try:
            store.write(lambda session: answer(session, coach.person, audit_id, step_id, kind, comment))  # type: ignore[arg-type]
        except UnknownAuditError:
            return 404, []
        except NotAllowedError as error:
            return 403, [str(error)]
        except (StateError, InputError) as error:
            return 409 if isinstance(error, StateError) else 422, [str(error)]
        return 303, []

    status, problems = await run_in_threadpool(save)
    if status == 303:
        return RedirectResponse(f"/review/my/{audit_id}?saved={kind}&ui={ui_language(request)}", status_code=303)
    if status == 404:
        return error_page(request, coach, 404, f"audit {audit_id}")
    return await run_in_threadpool(_my_conversation, request, coach, store, policy, audit_id, None, problems, status)


def _my_conversation(
    request: Request,
    coach: Coach,
    store: Store | None,
    policy: RedactionPolicy,
    audit_id: int,
    saved: str | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    if store is None:
        return no_store(request, coach)
    with store.session() as session:
        try:
            audit, steps = agent_view(session, coach.person, audit_id)
        except UnknownAuditError:
            return error_page(request, coach, 404, f"audit {audit_id}")
        conversation_id, sop_id, outcome = audit.conversation.conversation_id, audit.sop_id, audit.outcome
        conversation = redact_for_result(stored_conversation(audit.conversation), audit_result(audit, policy))
    return render(
        request,
        "review_my_conversation.html.j2",
        status,
        coach,
        page_name="my",
        role=coach.role,
        audit_id=audit_id,
        conversation_id=conversation_id,
        sop_id=sop_id,
        outcome=outcome,
        turns=conversation.turns if conversation is not None else [],
        steps=steps,
        saved=saved,
        problems=problems or [],
    )


@pages.get("/disputes", response_class=HTMLResponse)
def disputes_page(request: Request, coach: CoachDep, store: OptionalStoreDep) -> Response:
    if coach is None:
        return to_login(request)
    return _disputes(request, coach, store, saved=request.query_params.get("saved"))


@pages.post("/disputes", response_class=HTMLResponse)
async def post_resolution(
    request: Request, coach: CoachDep, signer: ReviewSignerDep, store: OptionalStoreDep
) -> Response:
    posted = await posted_form(request, coach, signer, store)
    if isinstance(posted, Response):
        return posted
    coach, form, store = posted
    outcome = str(form.get("outcome", ""))
    audit_text = str(form.get("audit_id", ""))
    step_id = printable(str(form.get("step_id", "")))
    comment = printable(str(form.get("comment", "")))
    new_status = str(form.get("status", "")) or None
    if outcome not in {"upheld", "overturned"} or not (audit_text.isascii() and audit_text.isdigit()):
        return await run_in_threadpool(_disputes, request, coach, store, None, ["outcome: uphold or overturn"], 422)
    audit_id = min(int(audit_text), LARGEST_ID)

    def save() -> tuple[int, list[str]]:
        def work(session: Session) -> Event:
            return resolve(session, coach.person, audit_id, step_id, outcome, comment, new_status)  # type: ignore[arg-type]

        try:
            store.write(work)
        except UnknownAuditError:
            return 404, [f"audit {audit_id}: not found"]
        except NotAllowedError as error:
            return 403, [str(error)]
        except StateError as error:
            return 409, [str(error)]
        except (InputError, VerdictError) as error:
            return 422, [str(error)]
        return 303, []

    status, problems = await run_in_threadpool(save)
    if status == 303:
        return RedirectResponse(f"/review/disputes?saved={outcome}&ui={ui_language(request)}", status_code=303)
    return await run_in_threadpool(_disputes, request, coach, store, None, problems, status)


def _disputes(
    request: Request,
    coach: Coach,
    store: Store | None,
    saved: str | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    if store is None:
        return no_store(request, coach)
    with store.session() as session:
        open_items = disputes(session, coach.person, "open")
        resolved = disputes(session, coach.person, "resolved")
    return render(
        request,
        "review_disputes.html.j2",
        status,
        coach,
        page_name="disputes",
        role=coach.role,
        open_items=open_items,
        resolved=resolved[-50:][::-1],
        statuses=DECIDED,
        saved=saved if saved in {"upheld", "overturned"} else None,
        problems=problems or [],
    )


# --- JSON -------------------------------------------------------------------------------------------------------


class ActsFor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str = Field(min_length=1, max_length=100, description="The person acting (a name in the people file).")
    role: Role | None = Field(None, description="Only without a people file (default coach); the file decides.")
    agent_id: str | None = Field(None, max_length=200, description="An agent's id, only without a people file.")

    _storable = field_validator("by", "agent_id")(storable_texts)


class AnswerIn(ActsFor):
    audit_id: int = Field(ge=1, le=LARGEST_ID)
    step_id: str = Field(min_length=1, max_length=100)
    answer: Answer
    comment: str = Field("", max_length=2000, description="Why, for a dispute (required then).")

    _storable_answer = field_validator("step_id", "comment")(storable_texts)


class ResolutionIn(ActsFor):
    audit_id: int = Field(ge=1, le=LARGEST_ID)
    step_id: str = Field(min_length=1, max_length=100)
    outcome: Resolution
    status: Literal["done", "missing", "late", "out_of_order", "not_applicable", "violated"] | None = Field(
        None, description="The overturned step's status (default: done for missing, missing for done)."
    )
    comment: str = Field("", max_length=2000)

    _storable_resolution = field_validator("step_id", "comment")(storable_texts)


class EventOut(BaseModel):
    id: int
    audit_id: int
    step_id: str
    kind: str
    actor: str
    role: str
    reviewer: str
    status: str
    comment: str
    at: str


class ReviewedStepOut(BaseModel):
    step_id: str
    auditor_status: str
    reviewer: str
    coach_status: str
    comment: str
    state: str | None
    history: list[EventOut]


class DisputeOut(BaseModel):
    audit_id: int
    conversation_id: str
    agent_id: str | None
    sop_id: str
    step: ReviewedStepOut


async def get_people(connection: HTTPConnection) -> People | None:
    people: People | None = getattr(connection.app.state, "people", None)
    return people


PeopleDep = Annotated[People | None, Depends(get_people)]


def _acting(people: People | None, body: ActsFor) -> Person:
    name = canonical(body.by)
    if people is None:
        return Person(name, body.role or "coach", body.agent_id)
    person = people.find(name)
    if person is None:
        raise ApiError(422, "unknown_person", f"by: {name!r} is not in the people file")
    if body.role is not None and body.role != person.role:
        raise ApiError(422, "invalid_request", f"role: the people file makes {person.name!r} a {person.role}")
    return person


def _event_out(event: Event) -> EventOut:
    return EventOut(**{**event.__dict__, "at": event.at.isoformat()})


def _step_out(step: ReviewedStep) -> ReviewedStepOut:
    return ReviewedStepOut(
        step_id=step.step_id,
        auditor_status=step.auditor_status,
        reviewer=step.reviewer,
        coach_status=step.coach_status,
        comment=step.verdict_comment,
        state=step.state,
        history=[_event_out(e) for e in step.history],
    )


def _dispute_out(item: Dispute) -> DisputeOut:
    return DisputeOut(
        audit_id=item.audit_id,
        conversation_id=item.conversation_id,
        agent_id=item.agent_id,
        sop_id=item.sop_id,
        step=_step_out(item.step),
    )


def _as_api_error(error: Exception) -> ApiError:
    if isinstance(error, NotAllowedError):
        return ApiError(403, "not_allowed", str(error))
    if isinstance(error, StateError):
        return ApiError(409, "invalid_state", str(error))
    return ApiError(422, "invalid_request", str(error))


@api.get("", response_model=list[DisputeOut], summary="Disputed step verdicts (open, resolved or all)")
def list_disputes(store: StoreDep, state: Literal["open", "resolved", "all"] = "open") -> list[DisputeOut]:
    with store.session() as session:
        return [_dispute_out(item) for item in disputes(session, Person("api", "qa_lead"), state)]


@api.get(
    "/audits/{audit_id}", response_model=list[ReviewedStepOut], summary="An audit's reviewed steps, states, history"
)
def audit_answers(audit_id: Annotated[int, Path(ge=1, le=LARGEST_ID)], store: StoreDep) -> list[ReviewedStepOut]:
    with store.session() as session:
        _, steps = agent_view(session, Person("api", "qa_lead"), audit_id)  # UnknownAuditError: 404
        return [_step_out(step) for step in steps]


@api.post("/answers", response_model=EventOut, summary="An agent acknowledges or disputes a step verdict")
def post_answer_json(body: AnswerIn, store: StoreDep, people: PeopleDep) -> EventOut:
    person = _acting(people, body)
    try:
        event = store.write(lambda s: answer(s, person, body.audit_id, body.step_id, body.answer, body.comment))
    except (NotAllowedError, StateError, InputError) as error:
        raise _as_api_error(error) from error
    return _event_out(event)


@api.post("/resolutions", response_model=EventOut, summary="A reviewer upholds or overturns a dispute")
def post_resolution_json(body: ResolutionIn, store: StoreDep, people: PeopleDep) -> EventOut:
    person = _acting(people, body)

    def work(session: Session) -> Event:
        return resolve(session, person, body.audit_id, body.step_id, body.outcome, body.comment, body.status)

    try:
        event = store.write(work)
    except (NotAllowedError, StateError, InputError) as error:
        raise _as_api_error(error) from error
    return _event_out(event)
