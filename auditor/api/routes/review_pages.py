"""Server-rendered pages for coaches: the review queue, a conversation with its verdict form, agreement.

Login: a coach signs in at /review/login with their name and the service's API key (no key when auth is off).
The server then sets a signed, HttpOnly, SameSite=Lax cookie holding the name, a fingerprint of the key and an
expiry (``AUDITOR_REVIEW_SESSION_HOURS``); it is refused once the key is no longer accepted. Every form that
changes something carries a CSRF token derived from the cookie. review_session.py signs and reads both; the
signing secret is ``AUDITOR_REVIEW_SECRET``, or a random one per process (everyone signs in again after a restart).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from auditor.api.auth import client_address
from auditor.api.dependencies import (
    AuthThrottleDep,
    CoachDep,
    KeyHashesDep,
    OptionalStoreDep,
    ReviewSignerDep,
    SettingsDep,
)
from auditor.api.limits import retry_after
from auditor.api.pages import (
    BAD_FORM_TOKEN,
    STATUSES,
    error_page,
    form_date,
    form_int,
    no_store,
    page_texts,
    posted_form,
    printable,
    render,
    report_lang,
    safe_next,
    to_login,
    ui_language,
)
from auditor.api.review_session import COOKIE, Coach
from auditor.api.settings import hash_key
from auditor.privacy.policy import RedactionPolicy
from auditor.reports.html import conversation_view
from auditor.review.agreement import ALL_STEPS, agreement_report
from auditor.review.coach_verdicts import StepVerdict, VerdictError, record_verdicts, reviews_of
from auditor.review.queue import QueueFilters, queue_choices, review_queue
from auditor.risk import assess
from auditor.store.audits import audit_result, stored_conversation
from auditor.store.database import Store
from auditor.store.final_results import stored_final
from auditor.store.tables import audit_row

router = APIRouter(prefix="/review", tags=["review pages"], include_in_schema=False)
DECIDE = "decide:"
"""Form value prefix of a decision on a step the auditor left uncertain (``decide:done``, ``decide:missing``)."""
PAGE_SIZE = 50


# --- sign-in (review_session.py signs the cookie and the form tokens) ----------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, settings: SettingsDep) -> Response:
    return render(
        request,
        "review_login.html.j2",
        next_url=safe_next(request.query_params.get("next")),
        needs_key=not settings.auth_disabled,
        name="",
        error=None,
    )


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    settings: SettingsDep,
    throttle: AuthThrottleDep,
    key_hashes: KeyHashesDep,
    signer: ReviewSignerDep,
) -> Response:
    form = await request.form()
    name = " ".join(printable(str(form.get("reviewer", ""))).split())[:100]
    key = str(form.get("key", ""))
    next_url = safe_next(str(form.get("next", "")))
    texts = page_texts()[ui_language(request)]
    key_hash = None if settings.auth_disabled else hash_key(key)
    address = client_address(request)
    error, status, headers = None, 401, {}
    wait = throttle.wait(address) if key_hash is not None else None
    if wait is not None:  # too many failed logins from this address: refused before the key is looked at
        error, status, headers = texts["login_throttled"].format(seconds=max(1, round(wait))), 429, retry_after(wait)
    elif not name:
        error = texts["name_needed"]
    elif (person := signer.person(name)) is None or not signer.may_sign_in(person, key_hash):
        error = texts["login_failed"]  # with a people file: only the people in it, each with their own key if any
        if key_hash is not None:
            throttle.failed(address)
    elif key_hash is not None:
        name = person.name
        throttle.succeeded(address)
    else:
        name = person.name
    if error:
        page = render(
            request,
            "review_login.html.j2",
            status,
            next_url=next_url,
            needs_key=not settings.auth_disabled,
            name=name,
            error=error,
        )
        page.headers.update(headers)
        return page
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        COOKIE,
        signer.cookie(name, key_hash),
        max_age=int(settings.review_session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/review",
    )
    return response


@router.post("/logout")
async def logout(request: Request, coach: CoachDep, signer: ReviewSignerDep) -> Response:
    form = await request.form()
    if coach is not None and not signer.csrf_ok(coach, str(form.get("csrf", ""))):
        return error_page(request, coach, 403, BAD_FORM_TOKEN)
    response = RedirectResponse("/review/login", status_code=303)
    response.delete_cookie(COOKIE, path="/review")
    return response


# --- pages ------------------------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def queue_page(request: Request, coach: CoachDep, store: OptionalStoreDep) -> Response:
    if coach is None:
        return to_login(request)
    if store is None:
        return no_store(request, coach)
    params = request.query_params
    state = params.get("state", "todo")
    filters = QueueFilters(
        agent_id=printable(params.get("agent") or "") or None,
        sop_id=printable(params.get("sop") or "") or None,
        step_id=printable(params.get("step") or "") or None,
        since=form_date(params.get("since")),
        until=form_date(params.get("until")),
        state=state if state in {"todo", "reviewed", "all"} else "todo",  # type: ignore[arg-type]
    )
    offset = form_int(params.get("offset"), 0)
    with store.session() as session:
        page = review_queue(session, filters, limit=PAGE_SIZE, offset=offset)
        choices = queue_choices(session)

    def page_url(new_offset: int) -> str:
        return "/review?" + urlencode(dict(params) | {"offset": max(new_offset, 0)})

    return render(
        request,
        "review_queue.html.j2",
        coach=coach,
        page_name="queue",
        page=page,
        choices=choices,
        filters=filters,
        page_url=page_url,
    )


@router.get("/audits/{audit_id}", response_class=HTMLResponse)
def conversation_page(
    request: Request, audit_id: int, coach: CoachDep, store: OptionalStoreDep, settings: SettingsDep
) -> Response:
    if coach is None:
        return to_login(request)
    saved = request.query_params.get("saved")
    saved_count = int(saved) if saved and saved.isdigit() else None
    return _conversation(request, coach, store, settings.redaction_policy(), audit_id, saved=saved_count)


@router.post("/audits/{audit_id}", response_class=HTMLResponse)
async def post_verdicts(
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
    fields = {key: str(value) for key, value in form.items()}
    verdicts, problems = _verdicts_from_form(fields)
    if not problems and verdicts:

        def save() -> list[str]:
            try:
                with store.session() as session:
                    if audit_row(session, audit_id) is None:
                        return ["unknown audit"]
                    record_verdicts(session, audit_id, coach.name, verdicts)
            except VerdictError as error:
                return error.problems
            return []

        problems = await run_in_threadpool(save)
        if not problems:
            ui = ui_language(request)
            return RedirectResponse(f"/review/audits/{audit_id}?saved={len(verdicts)}&ui={ui}", status_code=303)
    policy = settings.redaction_policy()
    return await run_in_threadpool(
        _conversation, request, coach, store, policy, audit_id, None, problems, 422 if problems else 200
    )


@router.get("/agreement", response_class=HTMLResponse)
def agreement_page(request: Request, coach: CoachDep, store: OptionalStoreDep) -> Response:
    if coach is None:
        return to_login(request)
    if store is None:
        return no_store(request, coach)
    with store.session() as session:
        report = agreement_report(session, request.query_params.get("sop") or None)
    return render(
        request, "review_agreement.html.j2", coach=coach, page_name="agreement", report=report, all_steps=ALL_STEPS
    )


def _conversation(
    request: Request,
    coach: Coach,
    store: Store | None,
    policy: RedactionPolicy,
    audit_id: int,
    saved: int | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    if store is None:
        return no_store(request, coach)
    with store.session() as session:
        audit = audit_row(session, audit_id)
        if audit is None:
            texts = page_texts()[ui_language(request)]
            return render(
                request, "review_error.html.j2", 404, coach, heading=texts["not_found"], message=f"audit {audit_id}"
            )
        result = audit_result(audit, policy)  # the server's policy wins
        conversation = stored_conversation(audit.conversation)
        reviews = reviews_of(session, audit)
        final = stored_final(audit)
    mine = {r.step_id: r for r in reviews if r.reviewer == coach.name}
    others: dict[str, int] = {}
    for review in reviews:
        if review.reviewer != coach.name:
            others[review.step_id] = others.get(review.step_id, 0) + 1
    return render(
        request,
        "review_conversation.html.j2",
        status,
        coach,
        audit_id=audit_id,
        view=conversation_view(result, conversation, report_lang(ui_language(request))),
        sop_id=result.sop_id,
        risk=assess(result),
        final=final,
        optional_steps={s.step_id for s in result.steps if not s.required and not s.critical},
        my_reviews=mine,
        others=others,
        statuses=STATUSES,
        saved=saved,
        problems=problems or [],
    )


def _verdicts_from_form(fields: dict[str, str]) -> tuple[list[StepVerdict], list[str]]:
    """Verdicts from the form: ``v-STEP`` confirm|overturn|decide:STATUS, ``s-STEP`` status, ``t-STEP`` turn,
    ``c-STEP`` comment. ``decide:done`` (an uncertain step decided) is an overturn to that status."""
    verdicts, problems = [], []
    for name, decision in fields.items():
        if not name.startswith("v-") or not decision:
            continue
        step_id = name[2:]
        turn_text = fields.get(f"t-{step_id}", "").strip()
        if turn_text and not turn_text.isdigit():
            problems.append(f"{step_id}: turn {turn_text!r} is not a turn number")
            continue
        status = fields.get(f"s-{step_id}") or None if decision == "overturn" else None
        if decision.startswith(DECIDE):
            decision, status = "overturn", decision.removeprefix(DECIDE)
        try:
            verdicts.append(
                StepVerdict(
                    step_id=step_id,
                    verdict=decision,
                    status=status,
                    turn_index=int(turn_text) if turn_text else None,
                    comment=printable(fields.get(f"c-{step_id}", "")),
                )
            )
        except ValueError as error:
            problems.append(f"{step_id}: {error}")
    return verdicts, problems
