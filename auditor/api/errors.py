"""One JSON shape for every error: ``{"error": {"status", "code", "message", "details"}}``; never a traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from auditor.live.sessions import SessionLimitError, SessionNotFoundError
from auditor.review.coach_verdicts import UnknownAuditError, VerdictError
from auditor.service import UnknownSopError
from auditor.transcripts.problems import TranscriptError

log = logging.getLogger("auditor.api")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    408: "timeout",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    503: "unavailable",
}


class ApiError(Exception):
    """An error a client can act on: its status, a stable code and a message naming the field or limit."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}


def error_body(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message, "details": details or []}}


class ErrorJSONResponse(JSONResponse):
    """Error bodies echo parts of the request (a field name, a speaker): text that is not valid Unicode (an
    unpaired surrogate sent as ``\\ud800``) cannot be UTF-8 encoded, so such a body is written with ASCII escapes."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    headers = ({"WWW-Authenticate": "ApiKey"} if status == 401 else {}) | (headers or {})
    return ErrorJSONResponse(error_body(status, code, message, details), status_code=status, headers=headers)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'turns', 3, 'text') -> 'turns[3].text' (the way transcript errors name fields)."""
    path = ""
    for part in loc:
        if part in {"body", "query", "path", "header"} and not path:
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def problem_details(problems: list[str]) -> list[dict[str, Any]]:
    """``details`` of problems written ``field: message``."""
    return [{"field": p.split(":", 1)[0], "message": p.split(":", 1)[-1].strip()} for p in problems]


LIBRARY_ERRORS: dict[type[Exception], Callable[[Any], ApiError]] = {
    UnknownSopError: lambda error: ApiError(404, "unknown_sop", str(error)),
    SessionNotFoundError: lambda error: ApiError(404, "unknown_session", str(error)),
    UnknownAuditError: lambda error: ApiError(404, "unknown_audit", str(error)),
    SessionLimitError: lambda error: ApiError(429, "too_many_sessions", str(error)),
    TranscriptError: lambda error: ApiError(422, "invalid_transcript", error.reason),
    VerdictError: lambda error: ApiError(422, "invalid_verdicts", str(error), problem_details(error.problems)),
}
"""The library's errors a client can act on, as the API answers them; routes let them propagate."""


def as_api_error(error: Exception) -> ApiError | None:
    """The API error for ``error`` (an ApiError itself, or a library error above), None for anything else (a 500).

    HTTP answers get this from the exception handlers; the WebSocket stream calls it to send the same error."""
    if isinstance(error, ApiError):
        return error
    for kind in type(error).__mro__:
        translate = LIBRARY_ERRORS.get(kind)
        if translate is not None:
            return translate(error)
    return None


def install_error_handlers(app: FastAPI) -> None:
    async def _api_error(request: Request, error: Exception) -> JSONResponse:
        api_error = as_api_error(error)
        assert api_error is not None  # registered only for ApiError and LIBRARY_ERRORS
        return error_response(api_error.status, api_error.code, api_error.message, api_error.details, api_error.headers)

    kinds: list[type[Exception]] = [ApiError, *LIBRARY_ERRORS]
    for kind in kinds:
        app.add_exception_handler(kind, _api_error)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = error.detail if isinstance(error.detail, str) else "request failed"
        return error_response(error.status_code, _CODES.get(error.status_code, "error"), message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        details = [{"field": field_path(i.get("loc", ())), "message": i.get("msg", "")} for i in error.errors()]
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
        return error_response(422, "invalid_request", summary or "invalid request", details)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal error; the server log has the details")
