"""What every server-rendered review page shares: the template environment, the interface text and language (the
browser's Accept-Language, or ``?ui=`` remembered in a cookie), rendering with the signed-in coach, the redirect to
sign in, error pages, and the clean-up of form values. The routes live in ``auditor.api.routes`` (review_pages,
disputes, calibration, assignments)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader
from starlette.datastructures import FormData

from auditor.api.dependencies import loaded_sops
from auditor.api.review_session import Coach, ReviewSigner
from auditor.reports.html import clip, localised_step_names
from auditor.reports.reasons import ReasonText
from auditor.review.coach_verdicts import overturned_status
from auditor.store.database import Store
from auditor.store.tables import MAX_ROW_ID
from auditor.text.interface import interface_texts

UI_COOKIE = "auditor_ui"
STATUSES = ("done", "missing", "out_of_order", "late", "not_applicable", "violated")
"""What a coach may set a step to (never ``uncertain``: the coach decides)."""
TEXT_FILE = Path(__file__).resolve().parent / "templates" / "review_text.yaml"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("auditor.api", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["clip"] = clip
    env.globals["reason_class"] = reason_class
    env.globals["default_overturn"] = overturned_status
    return env


def page_texts() -> dict[str, dict[str, str]]:
    """The interface text by language: English, simplified Chinese (``zh``) as written in review_text.yaml, and
    traditional Chinese (``zh-Hant``): a key's own ``zh-Hant`` text where it has one, else its simplified text
    converted by OpenCC (``s2twp``: characters and Taiwan phrasing, e.g. 登录 -> 登入)."""
    return interface_texts(TEXT_FILE)


UI_LANGUAGES = ("en", "zh", "zh-Hant")
"""Interface languages, in the order the language link cycles through them."""
TRADITIONAL_TAGS = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")


def ui_language(request: Request) -> str:
    chosen = request.query_params.get("ui") or request.cookies.get(UI_COOKIE)
    if chosen in UI_LANGUAGES:
        return chosen
    first = request.headers.get("accept-language", "").split(",")[0].split(";")[0].strip().lower()
    if first.startswith(TRADITIONAL_TAGS):
        return "zh-Hant"
    return "zh" if first.startswith("zh") else "en"


def render(request: Request, template: str, status: int = 200, coach: Coach | None = None, **values: Any) -> Response:
    ui = ui_language(request)
    other = UI_LANGUAGES[(UI_LANGUAGES.index(ui) + 1) % len(UI_LANGUAGES)]
    query = dict(request.query_params) | {"ui": other}
    context = {
        "t": page_texts()[ui],
        "ui": ui,
        "say": ReasonText(ui, step_names(request, ui, values.get("sop_id"))),
        "ui_query": f"?ui={ui}",
        "switch_ui_url": f"{request.url.path}?{urlencode(query)}",
        "reviewer": coach.name if coach else None,
        "role": coach.role if coach else None,
        "csrf": coach.csrf if coach else "",
        "page_name": "",
    } | values
    response = HTMLResponse(environment().get_template(template).render(context), status_code=status)
    if request.query_params.get("ui") in UI_LANGUAGES:
        response.set_cookie(UI_COOKIE, ui, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


def step_names(request: Request, ui: str, sop_id: object = None) -> dict[str, str]:
    """Step names in the page's language, from the SOPs the server loaded: ``sop_id``'s, else every SOP's (a queue
    mixes SOPs); empty in English (results carry the English names) or before the models are loaded."""
    loaded = loaded_sops(request) if ui != "en" else {}
    lang = "zh-Hans" if ui == "zh" else ui
    chosen = [loaded[sop_id]] if isinstance(sop_id, str) and sop_id in loaded else loaded.values()
    names: dict[str, str] = {}
    for sop in chosen:
        names.update(localised_step_names(sop, lang))
    return names


def report_lang(ui: str) -> str:
    return "zh-Hans" if ui == "zh" else ui


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/review/login?{urlencode({'next': target, 'ui': ui_language(request)})}", status_code=303)


def safe_next(value: str | None) -> str:
    """Only a path on this site (no scheme, no host, no '//'): the login cannot redirect elsewhere."""
    if value and value.startswith("/review") and not value.startswith("//") and "\\" not in value:
        return value
    return "/review"


def error_page(request: Request, coach: Coach | None, status: int, message: str, **values: Any) -> Response:
    """The error page with ``status``: headed "not found" in the page's language for a 404, else the status."""
    heading = page_texts()[ui_language(request)]["not_found"] if status == 404 else str(status)
    return render(request, "review_error.html.j2", status, coach, heading=heading, message=message, **values)


BAD_FORM_TOKEN = "Invalid form token."


def no_store(request: Request, coach: Coach | None) -> Response:
    return error_page(request, coach, 503, "The review store is not open.")


async def posted_form(
    request: Request, coach: Coach | None, signer: ReviewSigner, store: Store | None
) -> tuple[Coach, FormData, Store] | Response:
    """What a page's form post needs before it may change anything: the signed-in coach, the form with a valid form
    token, and the open store; else the page that says which is missing (sign-in, 403, 503)."""
    if coach is None:
        return to_login(request)
    form = await request.form()
    if not signer.csrf_ok(coach, str(form.get("csrf", ""))):
        return error_page(request, coach, 403, BAD_FORM_TOKEN)
    if store is None:
        return no_store(request, coach)
    return coach, form, store


def reason_class(reason: str) -> str:
    for prefix, css in (
        ("to decide", "c-decide"),
        ("critical", "c-critical"),
        ("dissatisfied", "c-dissatisfied"),
        ("unusual", "c-anomaly"),
    ):
        if reason.startswith(prefix):
            return css
    return ""


def form_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def form_int(value: str | None, default: int, largest: int = MAX_ROW_ID) -> int:
    return min(int(value), largest) if value and value.isascii() and value.isdigit() else default


def printable(value: str) -> str:
    """Form text as the store can keep it on every backend: no NUL or other control character (a tab and line breaks
    excepted), no unpaired surrogate."""
    kept = "".join(c for c in value if c in "\t\n\r" or (ord(c) >= 32 and ord(c) != 127))
    return kept.encode("utf-8", "ignore").decode("utf-8")
