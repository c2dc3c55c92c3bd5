"""Live sessions: open one for an SOP and agent, push turns (HTTP or WebSocket), get steps, overdue steps,
the customer's mood and alerts after each turn; close it for the final result."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from auditor.api.auth import authenticate, limit_rate, require_key
from auditor.api.dependencies import auditor_for, get_service, run_model
from auditor.api.errors import ApiError, error_body, field_path
from auditor.api.schemas import (
    AlertOut,
    LiveStepOut,
    LiveUpdateOut,
    MoodOut,
    SessionOpen,
    SessionOut,
    TurnIn,
    error_responses,
)
from auditor.live.session import LiveSession, LiveUpdate
from auditor.live.sessions import SessionLimitError, SessionNotFoundError
from auditor.outcome import with_outcome
from auditor.result import ConversationResult
from auditor.transcripts.problems import TranscriptError

router = APIRouter(prefix="/v1/sessions", tags=["live sessions"], responses=error_responses(401, 404, 422, 429, 503))
BODY_ERRORS = error_responses(400, 413)


@router.post("", status_code=201, response_model=SessionOut, summary="Open a live session", responses=BODY_ERRORS)
async def open_session(body: SessionOpen, request: Request, owner: str = Depends(require_key)) -> SessionOut:
    auditor = auditor_for(get_service(request), body.sop_id)
    session = LiveSession(
        auditor,
        body.conversation_id or "",
        agent_id=body.agent_id,
        lang=body.lang,
        metadata=body.metadata,
        started_at=body.started_at,
    )
    store = request.app.state.sessions
    try:
        session_id = store.open(session, owner, body.sop_id)
    except SessionLimitError as error:
        raise ApiError(429, "too_many_sessions", str(error)) from error
    session.conversation_id = session.conversation_id or session_id
    request.app.state.metrics.sessions.set(len(store))
    return _session_out(request.app, session_id, owner)


@router.get("/{session_id}", response_model=SessionOut, summary="Where a live session stands")
async def get_session(session_id: str, request: Request, owner: str = Depends(require_key)) -> SessionOut:
    return _session_out(request.app, session_id, owner)


@router.post("/{session_id}/turns", response_model=LiveUpdateOut, summary="Push the next turn", responses=BODY_ERRORS)
async def push_turn(
    session_id: str, turn: TurnIn, request: Request, owner: str = Depends(require_key)
) -> LiveUpdateOut:
    return await _push(request.app, session_id, owner, turn.model_dump(exclude_unset=True))


@router.post(
    "/{session_id}/close",
    response_model=ConversationResult,
    summary="Close and get the final result",
    responses=error_responses(409),
)
async def close_session(session_id: str, request: Request, owner: str = Depends(require_key)) -> ConversationResult:
    """The final result, identical to auditing the whole transcript at once; the session is then gone."""
    return await _close(request.app, session_id, owner)


@router.delete("/{session_id}", status_code=204, summary="Discard a live session")
async def discard_session(session_id: str, request: Request, owner: str = Depends(require_key)) -> Response:
    _session(request.app, session_id, owner)
    request.app.state.sessions.remove(session_id, owner)
    request.app.state.metrics.sessions.set(len(request.app.state.sessions))
    return Response(status_code=204)


@router.websocket("/{session_id}/stream")
async def stream(websocket: WebSocket, session_id: str) -> None:
    """Send turn objects (``{"speaker", "text", ...}``), get an ``update`` after each; send ``{"type": "close"}``
    to get the final ``result``. A bad message gets an ``error`` and the socket stays open; so does a message over
    the key's rate limit (``rate_limited``, with ``retry_after`` seconds), which is not processed."""
    await websocket.accept()
    app = websocket.app
    try:
        owner = authenticate(websocket)
        _session(app, session_id, owner)
    except ApiError as error:
        await websocket.send_json({"type": "error", **error_body(error.status, error.code, error.message)})
        await websocket.close(code=1008)
        return
    try:
        while True:
            try:
                message = await websocket.receive_json()
            except (ValueError, KeyError):
                await websocket.send_json(
                    {"type": "error", **error_body(400, "bad_message", "each message must be one JSON object")}
                )
                continue
            try:
                limit_rate(app, owner)  # each message counts against the key's rate, as an HTTP request does
                if isinstance(message, dict) and message.get("type") == "close":
                    result = await _close(app, session_id, owner)
                    await websocket.send_json({"type": "result", "result": result.model_dump(mode="json")})
                    await websocket.close(code=1000)
                    return
                turn = message.get("turn", message) if isinstance(message, dict) else message
                update = await _push(app, session_id, owner, _turn_body(turn))
                await websocket.send_json({"type": "update", **update.model_dump(mode="json")})
            except ApiError as error:
                body = error_body(error.status, error.code, error.message, error.details)
                if "Retry-After" in error.headers:
                    body["error"]["retry_after"] = int(error.headers["Retry-After"])
                await websocket.send_json({"type": "error", **body})
                if error.code == "unknown_session":
                    await websocket.close(code=1008)
                    return
    except WebSocketDisconnect:
        return  # the session stays open: the client may reconnect or go on over HTTP until it expires


def _turn_body(raw: Any) -> dict[str, Any]:
    try:
        return TurnIn.model_validate(raw).model_dump(exclude_unset=True)
    except ValidationError as error:
        details = [{"field": field_path(e["loc"]), "message": e["msg"]} for e in error.errors()]
        raise ApiError(
            422, "invalid_turn", "; ".join(f"{d['field']}: {d['message']}" for d in details), details
        ) from error


async def _push(app: Any, session_id: str, owner: str, raw_turn: dict[str, Any]) -> LiveUpdateOut:
    session = _session(app, session_id, owner)
    settings = app.state.settings
    if len(session.turns) >= settings.max_turns:
        raise ApiError(422, "too_many_turns", f"the session already holds the limit of {settings.max_turns} turns")
    text = raw_turn.get("text")
    if isinstance(text, str) and len(text) > settings.max_turn_chars:
        raise ApiError(
            422, "turn_too_long", f"text: {len(text)} characters, more than the limit of {settings.max_turn_chars}"
        )
    metrics = app.state.metrics
    try:
        with metrics.live_turn.time():
            update = await run_model(app, session.push, raw_turn)
    except TranscriptError as error:
        raise ApiError(422, "invalid_turn", error.reason) from error
    metrics.turns.labels("live").inc()
    for alert in update.alerts:
        metrics.alerts.labels(alert.kind).inc()
    return _update_out(session_id, update)


async def _close(app: Any, session_id: str, owner: str) -> ConversationResult:
    session = _session(app, session_id, owner)
    if not session.turns:
        raise ApiError(409, "empty_session", "no turn was pushed; there is nothing to audit")
    result: ConversationResult = with_outcome(await run_model(app, session.close))
    app.state.sessions.remove(session_id, owner)
    app.state.metrics.sessions.set(len(app.state.sessions))
    app.state.metrics.conversations.inc()
    return result


def _session(app: Any, session_id: str, owner: str) -> LiveSession:
    try:
        session: LiveSession = app.state.sessions.get(session_id, owner)
    except SessionNotFoundError as error:
        raise ApiError(404, "unknown_session", str(error)) from error
    return session


def _session_out(app: Any, session_id: str, owner: str) -> SessionOut:
    session = _session(app, session_id, owner)
    store = app.state.sessions
    return SessionOut(
        session_id=session_id,
        sop_id=store.sop_id(session_id, owner),
        conversation_id=session.conversation_id,
        agent_id=session.agent_id,
        turns=len(session.turns),
        expires_in_seconds=round(store.expires_in(session_id, owner), 1),
        steps=[LiveStepOut.model_validate(step) for step in session.steps()],
        alerts=[AlertOut.model_validate(alert) for alert in session.alerts],
    )


def _update_out(session_id: str, update: LiveUpdate) -> LiveUpdateOut:
    return LiveUpdateOut(
        session_id=session_id,
        turn_index=update.turn_index,
        turns=update.turns,
        done=update.done,
        overdue=update.overdue,
        uncertain=update.uncertain,
        violated=update.violated,
        steps=[LiveStepOut.model_validate(step) for step in update.steps],
        dissatisfaction=MoodOut.model_validate(update.dissatisfaction) if update.dissatisfaction else None,
        alerts=[AlertOut.model_validate(alert) for alert in update.alerts],
    )
