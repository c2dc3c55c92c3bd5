"""Server-rendered pages for coaches: the review queue, a conversation with its verdict form, agreement.

Login: a coach signs in at /review/login with their name and the service's API key (no key when auth is off).
The server then sets a signed, HttpOnly, SameSite=Lax cookie holding the name, a fingerprint of the key and an
expiry (``AUDITOR_REVIEW_SESSION_HOURS``); it is refused once the key is no longer accepted. Every form that
changes something carries a CSRF token derived from the cookie. review_session.py signs and reads both; the
signing secret is ``AUDITOR_REVIEW_SECRET``, or a random one per process (everyone signs in again after a restart).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader
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
from auditor.api.review_session import COOKIE, Coach
from auditor.api.settings import hash_key
from auditor.privacy.policy import RedactionPolicy
from auditor.reports.html import _clip, _conversation_view, localised_step_names
from auditor.reports.reasons import ReasonText
from auditor.review.agreement import ALL_STEPS, agreement_report
from auditor.review.coach_verdicts import StepVerdict, VerdictError, overturned_status, record_verdicts, reviews_of
from auditor.review.queue import QueueFilters, queue_choices, review_queue
from auditor.risk import assess
from auditor.store.audits import audit_result, stored_conversation
from auditor.store.database import Store
from auditor.store.final_results import stored_final
from auditor.store.tables import MAX_ROW_ID, audit_row
from auditor.text.interface import interface_texts

router = APIRouter(prefix="/review", tags=["review pages"], include_in_schema=False)
UI_COOKIE = "auditor_ui"
STATUSES = ("done", "missing", "out_of_order", "late", "not_applicable", "violated")
"""What a coach may set a step to (never ``uncertain``: the coach decides)."""
DECIDE = "decide:"
"""Form value prefix of a decision on a step the auditor left uncertain (``decide:done``, ``decide:missing``)."""
TEXT_FILE = Path(__file__).resolve().parents[1] / "templates" / "review_text.yaml"
PAGE_SIZE = 50


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("auditor.api", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["clip"] = _clip
    env.globals["reason_class"] = _reason_class
    env.globals["default_overturn"] = overturned_status
    return env


def _texts() -> dict[str, dict[str, str]]:
    """The interface text by language: English, simplified Chinese (``zh``) as written in review_text.yaml, and
    traditional Chinese (``zh-Hant``): a key's own ``zh-Hant`` text where it has one, else its simplified text
    converted by OpenCC (``s2twp``: characters and Taiwan phrasing, e.g. 登录 -> 登入)."""
    return interface_texts(TEXT_FILE)


UI_LANGUAGES = ("en", "zh", "zh-Hant")
"""Interface languages, in the order the language link cycles through them."""
TRADITIONAL_TAGS = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")


def _ui(request: Request) -> str:
    chosen = request.query_params.get("ui") or request.cookies.get(UI_COOKIE)
    if chosen in UI_LANGUAGES:
        return chosen
    first = request.headers.get("accept-language", "").split(",")[0].split(";")[0].strip().lower()
    if first.startswith(TRADITIONAL_TAGS):
        return "zh-Hant"
    return "zh" if first.startswith("zh") else "en"


def _render(request: Request, template: str, status: int = 200, coach: Coach | None = None, **values: Any) -> Response:
    ui = _ui(request)
    other = UI_LANGUAGES[(UI_LANGUAGES.index(ui) + 1) % len(UI_LANGUAGES)]
    query = dict(request.query_params) | {"ui": other}
    context = {
        "t": _texts()[ui],
        "ui": ui,
        "say": ReasonText(ui, _step_names(request, ui, values.get("sop_id"))),
        "ui_query": f"?ui={ui}",
        "switch_ui_url": f"{request.url.path}?{urlencode(query)}",
        "reviewer": coach.name if coach else None,
        "role": coach.role if coach else None,
        "csrf": coach.csrf if coach else "",
        "page_name": "",
    } | values
    response = HTMLResponse(_environment().get_template(template).render(context), status_code=status)
    if request.query_params.get("ui") in UI_LANGUAGES:
        response.set_cookie(UI_COOKIE, ui, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


def _step_names(request: Request, ui: str, sop_id: object = None) -> dict[str, str]:
    """Step names in the page's language, from the SOPs the server loaded: ``sop_id``'s, else every SOP's (a queue
    mixes SOPs); empty in English (results carry the English names) or before the models are loaded."""
    service = getattr(request.app.state, "service", None) if ui != "en" else None
    if service is None:
        return {}
    lang = "zh-Hans" if ui == "zh" else ui
    sops = [service.sops[sop_id]] if isinstance(sop_id, str) and sop_id in service.sops else service.sops.values()
    names: dict[str, str] = {}
    for sop in sops:
        names.update(localised_step_names(sop, lang))
    return names


def _report_lang(ui: str) -> str:
    return "zh-Hans" if ui == "zh" else ui


# --- sign-in (review_session.py signs the cookie and the form tokens) ----------------------------------------


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/review/login?{urlencode({'next': target, 'ui': _ui(request)})}", status_code=303)


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no scheme, no host, no '//'): the login cannot redirect elsewhere."""
    if value and value.startswith("/review") and not value.startswith("//") and "\\" not in value:
        return value
    return "/review"


def _no_store(request: Request, coach: Coach | None) -> Response:
    return _render(request, "review_error.html.j2", 503, coach, heading="503", message="The review store is not open.")


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, settings: SettingsDep) -> Response:
    return _render(
        request,
        "review_login.html.j2",
        next_url=_safe_next(request.query_params.get("next")),
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
    name = " ".join(_printable(str(form.get("reviewer", ""))).split())[:100]
    key = str(form.get("key", ""))
    next_url = _safe_next(str(form.get("next", "")))
    texts = _texts()[_ui(request)]
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
        page = _render(
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
        return _render(request, "review_error.html.j2", 403, coach, heading="403", message="Invalid form token.")
    response = RedirectResponse("/review/login", status_code=303)
    response.delete_cookie(COOKIE, path="/review")
    return response


# --- pages ------------------------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def queue_page(request: Request, coach: CoachDep, store: OptionalStoreDep) -> Response:
    if coach is None:
        return _to_login(request)
    if store is None:
        return _no_store(request, coach)
    params = request.query_params
    state = params.get("state", "todo")
    filters = QueueFilters(
        agent_id=_printable(params.get("agent") or "") or None,
        sop_id=_printable(params.get("sop") or "") or None,
        step_id=_printable(params.get("step") or "") or None,
        since=_date(params.get("since")),
        until=_date(params.get("until")),
        state=state if state in {"todo", "reviewed", "all"} else "todo",  # type: ignore[arg-type]
    )
    offset = _int(params.get("offset"), 0)
    with store.session() as session:
        page = review_queue(session, filters, limit=PAGE_SIZE, offset=offset)
        choices = queue_choices(session)

    def page_url(new_offset: int) -> str:
        return "/review?" + urlencode(dict(params) | {"offset": max(new_offset, 0)})

    return _render(
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
        return _to_login(request)
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
    if coach is None:
        return _to_login(request)
    form = await request.form()
    if not signer.csrf_ok(coach, str(form.get("csrf", ""))):
        return _render(request, "review_error.html.j2", 403, coach, heading="403", message="Invalid form token.")
    fields = {key: str(value) for key, value in form.items()}
    verdicts, problems = _verdicts_from_form(fields)
    if store is None:
        return _no_store(request, coach)
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
            ui = _ui(request)
            return RedirectResponse(f"/review/audits/{audit_id}?saved={len(verdicts)}&ui={ui}", status_code=303)
    policy = settings.redaction_policy()
    return await run_in_threadpool(
        _conversation, request, coach, store, policy, audit_id, None, problems, 422 if problems else 200
    )


@router.get("/agreement", response_class=HTMLResponse)
def agreement_page(request: Request, coach: CoachDep, store: OptionalStoreDep) -> Response:
    if coach is None:
        return _to_login(request)
    if store is None:
        return _no_store(request, coach)
    with store.session() as session:
        report = agreement_report(session, request.query_params.get("sop") or None)
    return _render(
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
        return _no_store(request, coach)
    with store.session() as session:
        audit = audit_row(session, audit_id)
        if audit is None:
            texts = _texts()[_ui(request)]
            return _render(
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
    return _render(
        request,
        "review_conversation.html.j2",
        status,
        coach,
        audit_id=audit_id,
        view=_conversation_view(result, conversation, _report_lang(_ui(request))),
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
                    comment=_printable(fields.get(f"c-{step_id}", "")),
                )
            )
        except ValueError as error:
            problems.append(f"{step_id}: {error}")
    return verdicts, problems


def _reason_class(reason: str) -> str:
    for prefix, css in (
        ("to decide", "c-decide"),
        ("critical", "c-critical"),
        ("dissatisfied", "c-dissatisfied"),
        ("unusual", "c-anomaly"),
    ):
        if reason.startswith(prefix):
            return css
    return ""


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(value: str | None, default: int, largest: int = MAX_ROW_ID) -> int:
    return min(int(value), largest) if value and value.isascii() and value.isdigit() else default


def _printable(value: str) -> str:
    """Form text as the store can keep it on every backend: no NUL or other control character (a tab and line breaks
    excepted), no unpaired surrogate."""
    kept = "".join(c for c in value if c in "\t\n\r" or (ord(c) >= 32 and ord(c) != 127))
    return kept.encode("utf-8", "ignore").decode("utf-8")
