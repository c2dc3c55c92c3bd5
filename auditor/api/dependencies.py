"""Shared pieces of the routes: the loaded service, the auditor for an SOP id, transcripts checked against limits."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import Request

from auditor.api.errors import ApiError
from auditor.api.settings import Settings
from auditor.auditor import Auditor
from auditor.conversation import Conversation
from auditor.service import AuditService, UnknownSopError
from auditor.transcripts.problems import TranscriptError
from auditor.transcripts.records import conversation_from_mapping

T = TypeVar("T")


async def run_model(app: Any, work: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
    """Run model work on the single model thread: requests are served concurrently, scoring one at a time.

    With ``timeout``, a request waiting longer gets 503 ``timeout`` (work not started yet is dropped).
    """
    future = asyncio.get_running_loop().run_in_executor(app.state.executor, work, *args)
    if timeout is None:
        return await future
    try:
        return await asyncio.wait_for(future, timeout)
    except TimeoutError as error:
        raise ApiError(503, "timeout", f"the audit took longer than {timeout:g} s; retry later or send less") from error


def get_service(request: Request) -> AuditService:
    if not getattr(request.app.state, "ready", False):
        raise ApiError(503, "starting", "the models are still loading; retry shortly")
    service: AuditService = request.app.state.service
    return service


def auditor_for(service: AuditService, sop_id: str) -> Auditor:
    """The auditor of a known SOP id; SOP ids never name files (a request cannot reach the file system)."""
    try:
        return service.auditor(sop_id)
    except UnknownSopError as error:
        raise ApiError(404, "unknown_sop", str(error)) from error


def conversation_from_body(raw: Mapping[str, Any], settings: Settings, label: str = "") -> Conversation:
    """Check a transcript against the contract and the service limits; errors name the field."""
    prefix = f"{label}: " if label else ""
    turns = raw.get("turns")
    if isinstance(turns, list) and len(turns) > settings.max_turns:
        limit = settings.max_turns
        raise ApiError(422, "too_many_turns", f"{prefix}{len(turns)} turns, more than the limit of {limit}")
    try:
        conversation = conversation_from_mapping(raw, source="", default_id=content_id(raw))
    except TranscriptError as error:
        raise ApiError(422, "invalid_transcript", f"{prefix}{error.reason}") from error
    check_turn_length(conversation.turns, settings, prefix)
    return conversation


def check_turn_length(turns: Any, settings: Settings, prefix: str = "") -> None:
    for turn in turns:
        if len(turn.text) > settings.max_turn_chars:
            raise ApiError(
                422,
                "turn_too_long",
                f"{prefix}turns[{turn.index}].text: {len(turn.text)} characters, "
                f"more than the limit of {settings.max_turn_chars}",
            )


def content_id(raw: Mapping[str, Any]) -> str:
    """An id for a transcript sent without one: the same content gets the same id (re-audits are comparable)."""
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    # surrogatepass: a lone surrogate (sent as "\\ud800") still hashes; the contract check then names its field
    return "c-" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:16]
