"""Assignments and sampling: pages /review/assignments (a coach's assignments, a lead's "draw a sample" form) and
/review/dashboard (compliance per step and per agent over time, with the sample's unbiased estimate); JSON under
/v1/review/samples, /v1/review/assignments and /v1/review/dashboard. The design and the estimator: review/sampling.py.

Who draws samples: a QA lead; without a people file (everyone signs in as a coach) any coach.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from auditor.api.dependencies import CoachDep, OptionalStoreDep, ReviewSignerDep, StoreDep, require_key
from auditor.api.errors import ApiError, problem_details
from auditor.api.pages import (
    error_page,
    form_date,
    no_store,
    page_texts,
    posted_form,
    printable,
    render,
    to_login,
    ui_language,
)
from auditor.api.review_session import Coach, ReviewSigner
from auditor.api.schemas import LARGEST_ID, as_utc_or_none, error_responses
from auditor.review.dashboard import DashboardFilters, Period, compliance_dashboard
from auditor.review.queue import queue_choices
from auditor.review.sampling import (
    MAX_SAMPLE,
    MAX_SEED,
    SampleError,
    SampleFilters,
    assignments,
    draw_sample,
    estimate,
    sample_view,
    samples,
)
from auditor.store.database import Store
from auditor.store.tables import storable_text, storable_texts

SampleId = Annotated[int, Path(ge=1, le=LARGEST_ID, description="A sample's id.")]

api = APIRouter(
    prefix="/v1/review",
    tags=["review"],
    dependencies=[Depends(require_key)],
    responses=error_responses(400, 401, 413, 422, 429, 503),
)
pages = APIRouter(prefix="/review", tags=["review pages"], include_in_schema=False)
router = APIRouter()
"""Both, for app.py."""


class SampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coaches: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(min_length=1, max_length=100)
    size: int = Field(ge=1, le=MAX_SAMPLE, description="How many audits to draw.")
    random_share: float = Field(0.3, ge=0, le=1, description="The share drawn at random from below the top.")
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="Reproduces a draw (default: a random seed).")
    drawn_by: str = Field(min_length=1, max_length=100)
    sop: str | None = Field(None, max_length=100)
    agent: str | None = Field(None, max_length=200)
    since: date | None = None
    until: date | None = None

    _storable = field_validator("coaches", "drawn_by", "sop", "agent")(storable_texts)


class AssignmentOut(BaseModel):
    assignment_id: int
    sample_id: int
    audit_id: int
    conversation_id: str
    agent_id: str | None
    sop_id: str
    coach: str
    assigned_by: str
    assigned_at: datetime
    done: bool
    done_at: datetime | None
    how: Literal["risk_ranked", "random"]
    inclusion_probability: float
    outcome: str
    risk: float

    _utc = field_validator("assigned_at", "done_at", mode="after")(as_utc_or_none)


class SampleOut(BaseModel):
    sample_id: int
    drawn_by: str
    drawn_at: datetime
    filters: dict[str, str]
    seed: int
    size: int
    random_share: float
    population: int
    risk_ranked: int
    random_drawn: int
    assignments: list[AssignmentOut]

    _utc = field_validator("drawn_at", mode="after")(as_utc_or_none)


def _sample_out(view: Any) -> SampleOut:
    return SampleOut(**asdict(view))


@api.post("/samples", response_model=SampleOut, summary="Draw a sample for review and assign it to coaches")
def post_sample(body: SampleIn, store: StoreDep) -> SampleOut:
    """The top of the risk-ranked queue plus a uniformly random share of the rest, assigned by load."""
    filters = SampleFilters(body.sop, body.agent, body.since, body.until)

    def draw(session: Session) -> SampleOut:
        view = draw_sample(
            session,
            filters,
            size=body.size,
            random_share=body.random_share,
            coaches=body.coaches,
            drawn_by=body.drawn_by,
            seed=body.seed,
        )
        return _sample_out(view)

    try:
        return store.write(draw)
    except SampleError as error:
        raise ApiError(422, "invalid_sample", str(error), problem_details([str(error)])) from error


@api.get("/samples/{sample_id}", response_model=SampleOut, responses=error_responses(404), summary="One sample")
def get_sample(sample_id: SampleId, store: StoreDep) -> SampleOut:
    with store.session() as session:
        view = sample_view(session, sample_id)
        if view is None:
            raise ApiError(404, "not_found", f"no sample {sample_id}")
        return _sample_out(view)


@api.get(
    "/samples/{sample_id}/estimate",
    responses=error_responses(404),
    summary="Compliance estimated from the sample's reviewed audits, with 95% intervals",
)
def get_estimate(sample_id: SampleId, store: StoreDep) -> dict[str, Any]:
    """``pass_rate`` and ``step_done`` are unbiased for the sample's population (stratified, Wilson intervals);
    ``naive_pass_rate`` counts every reviewed call alike, for comparison. ``value`` is null until both shares have
    reviewed calls."""
    with store.session() as session:
        found = estimate(session, sample_id)
        if found is None:
            raise ApiError(404, "not_found", f"no sample {sample_id}")
    result = asdict(found)
    result["sample"].pop("assignments")
    return result


@api.get("/assignments", response_model=list[AssignmentOut], summary="Review assignments, open ones first")
def get_assignments(
    store: StoreDep,
    coach: str | None = None,
    sample: Annotated[int | None, Query(ge=1, le=LARGEST_ID)] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
) -> list[AssignmentOut]:
    if coach is not None:
        try:
            storable_text(coach)
        except ValueError as error:
            raise ApiError(422, "invalid_request", f"coach: {error}") from error
    with store.session() as session:
        rows = assignments(session, coach, sample, open_only)
    return [AssignmentOut(**asdict(row)) for row in rows]


@api.get("/dashboard", summary="Compliance per step and per agent over time, with the newest sample's estimate")
def get_dashboard(
    store: StoreDep,
    sop: str | None = None,
    agent: str | None = None,
    since: date | None = None,
    until: date | None = None,
    period: Literal["week", "day"] = "week",
    sample: Annotated[int | None, Query(ge=1, le=LARGEST_ID)] = None,
) -> dict[str, Any]:
    with store.session() as session:
        board = compliance_dashboard(session, DashboardFilters(sop, agent, since, until, period), sample)
    result = asdict(board)
    if result["estimate"] is not None:
        result["estimate"]["sample"].pop("assignments")
    return result


# --- pages -------------------------------------------------------------------------------------------------------


def may_draw(coach: Coach, signer: ReviewSigner) -> bool:
    """A QA lead draws samples; without a people file everyone is a coach, and any coach may."""
    return coach.role == "qa_lead" or (signer.people is None and coach.role == "coach")


@pages.get("/assignments", response_class=HTMLResponse)
def assignments_page(request: Request, coach: CoachDep, signer: ReviewSignerDep, store: OptionalStoreDep) -> Response:
    if coach is None:
        return to_login(request)
    if store is None:
        return no_store(request, coach)
    return _assignments(request, coach, signer, store)


def _assignments(
    request: Request,
    coach: Coach,
    signer: ReviewSigner,
    store: Store,
    problems: list[str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    params = request.query_params
    sample_text = params.get("sample") or ""
    sample = int(sample_text) if sample_text.isascii() and sample_text.isdigit() else None
    who = params.get("coach")
    shown = None if who == "*" or sample else printable(who) if who else coach.name
    with store.session() as session:
        rows = assignments(session, shown, sample)
        recent = samples(session)
        drawn = sample_view(session, sample) if sample else None
        choices = queue_choices(session)
    return render(
        request,
        "review_assignments.html.j2",
        422 if problems else 200,
        coach,
        page_name="assignments",
        rows=rows,
        shown=shown,
        drawn=drawn,
        recent=recent,
        choices=choices,
        may_draw=may_draw(coach, signer),
        problems=problems or [],
        form={"coaches": "", "size": "40", "random_share": "0.3", "sop": "", "agent": "", "seed": ""} | (form or {}),
    )


@pages.post("/assignments", response_class=HTMLResponse)
async def draw_page(request: Request, coach: CoachDep, signer: ReviewSignerDep, store: OptionalStoreDep) -> Response:
    posted = await posted_form(request, coach, signer, store)
    if isinstance(posted, Response):
        return posted
    coach, form, store = posted
    texts = page_texts()[ui_language(request)]
    if not may_draw(coach, signer):
        return error_page(request, coach, 403, texts["asg_leads_only"])
    fields = {key: printable(str(form.get(key, ""))).strip() for key in ("coaches", "size", "random_share", "sop")}
    fields |= {key: printable(str(form.get(key, ""))).strip() for key in ("agent", "seed", "since", "until")}
    coaches = [c.strip() for c in fields["coaches"].replace("，", ",").replace("\n", ",").split(",") if c.strip()]
    problems = []
    size = int(fields["size"]) if fields["size"].isascii() and fields["size"].isdigit() else 0
    try:
        share = float(fields["random_share"])
    except ValueError:
        share = -1.0
    seed = int(fields["seed"]) if fields["seed"].isascii() and fields["seed"].isdigit() else None
    if fields["seed"] and (seed is None or seed > MAX_SEED):
        problems.append(f"seed: a whole number from 0 to {MAX_SEED}")
    if not 1 <= size <= MAX_SAMPLE:
        problems.append(f"size: a whole number from 1 to {MAX_SAMPLE}")
    if not 0.0 <= share <= 1.0:
        problems.append("random share: a number from 0 to 1")
    filters = SampleFilters(
        fields["sop"] or None, fields["agent"] or None, form_date(fields["since"]), form_date(fields["until"])
    )

    def draw(session: Session) -> int:
        view = draw_sample(
            session, filters, size=size, random_share=share, coaches=coaches, drawn_by=coach.name, seed=seed
        )
        return view.sample_id

    if not problems:
        try:
            created = await run_in_threadpool(store.write, draw)
        except SampleError as error:
            problems.append(str(error))
        else:
            return RedirectResponse(f"/review/assignments?sample={created}&ui={ui_language(request)}", status_code=303)
    return await run_in_threadpool(_assignments, request, coach, signer, store, problems, fields)


@pages.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, coach: CoachDep, store: OptionalStoreDep) -> Response:
    if coach is None:
        return to_login(request)
    if store is None:
        return no_store(request, coach)
    params = request.query_params
    period: Period = "day" if params.get("period") == "day" else "week"
    sample_text = params.get("sample") or ""
    sample = int(sample_text) if sample_text.isascii() and sample_text.isdigit() else None
    filters = DashboardFilters(
        sop_id=printable(params.get("sop") or "") or None,
        agent_id=printable(params.get("agent") or "") or None,
        since=form_date(params.get("since")),
        until=form_date(params.get("until")),
        period=period,
    )
    with store.session() as session:
        board = compliance_dashboard(session, filters, sample)
        choices = queue_choices(session)
    return render(
        request,
        "review_dashboard.html.j2",
        coach=coach,
        page_name="dashboard",
        board=board,
        filters=filters,
        choices=choices,
    )


router.include_router(api)
router.include_router(pages)
