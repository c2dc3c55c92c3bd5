"""Live sessions: open one for an SOP and agent, push turns (HTTP or WebSocket), get steps, overdue steps,
the customer's mood and alerts after each turn; close it for the final result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from auditor.api.dependencies import (
    GateDep,
    MetricsDep,
    ModelThread,
    ModelThreadDep,
    OwnerDep,
    ServiceDep,
    SessionsDep,
    SettingsDep,
)
from auditor.api.errors import ApiError, as_api_error, error_body, field_path
from auditor.api.metrics import Metrics
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
from auditor.api.settings import Settings
from auditor.api.transcripts import turn_from_model
from auditor.live.session import LiveSession, LiveUpdate
from auditor.live.sessions import SessionStore
from auditor.outcome import with_outcome
from auditor.result import ConversationResult
from auditor.transcripts.problems import TranscriptError

router = APIRouter(prefix="/v1/sessions", tags=["live sessions"], responses=error_responses(401, 404, 422, 429, 503))
BODY_ERRORS = error_responses(400, 413)


@dataclass(frozen=True)
class LiveDesk:
    """What the live routes share: the open sessions, the limits, the metrics and the model thread.

    An unknown session raises ``SessionNotFoundError`` (404 ``unknown_session``), too many sessions
    ``SessionLimitError`` (429 ``too_many_sessions``): errors.py answers them."""

    sessions: SessionStore
    settings: Settings
    metrics: Metrics
    model_thread: ModelThread

    def session(self, session_id: str, owner: str) -> LiveSession:
        return self.sessions.get(session_id, owner)

    def open(self, session: LiveSession, owner: str, sop_id: str) -> str:
        session_id = self.sessions.open(session, owner, sop_id)
        session.conversation_id = session.conversation_id or session_id
        self._count_sessions()
        return session_id

    def discard(self, session_id: str, owner: str) -> None:
        self.session(session_id, owner)
        self.sessions.remove(session_id, owner)
        self._count_sessions()

    async def push(self, session_id: str, owner: str, body: TurnIn) -> LiveUpdateOut:
        session = self.session(session_id, owner)
        settings = self.settings
        if len(session.turns) >= settings.max_turns:
            raise ApiError(
                422, "too_many_turns", f"the session already holds the limit of {settings.max_turns} turns"
            )
        text = body.text
        if len(text) > settings.max_turn_chars:
            raise ApiError(
                422, "turn_too_long", f"text: {len(text)} characters, more than the limit of {settings.max_turn_chars}"
            )
        try:
            turn = turn_from_model(body, session.next_index)  # the validated body, converted once
            with self.metrics.live_turn.time():
                update = await self.model_thread.run(session.push_turn, turn)
        except TranscriptError as error:  # a bad turn, not a bad transcript: its own code
            raise ApiError(422, "invalid_turn", error.reason) from error
        self.metrics.turns.labels("live").inc()
        for alert in update.alerts:
            self.metrics.alerts.labels(alert.kind).inc()
        return _update_out(session_id, update)

    async def close(self, session_id: str, owner: str) -> ConversationResult:
        session = self.session(session_id, owner)
        if not session.turns:
            raise ApiError(409, "empty_session", "no turn was pushed; there is nothing to audit")
        result: ConversationResult = with_outcome(await self.model_thread.run(session.close))
        self.sessions.remove(session_id, owner)
        self._count_sessions()
        self.metrics.conversations.inc()
        return result

    def out(self, session_id: str, owner: str) -> SessionOut:
        session = self.session(session_id, owner)
        return SessionOut(
            session_id=session_id,
            sop_id=self.sessions.sop_id(session_id, owner),
            conversation_id=session.conversation_id,
            agent_id=session.agent_id,
            turns=len(session.turns),
            expires_in_seconds=round(self.sessions.expires_in(session_id, owner), 1),
            steps=[LiveStepOut.model_validate(step) for step in session.steps()],
            alerts=[AlertOut.model_validate(alert) for alert in session.alerts],
        )

    def _count_sessions(self) -> None:
        self.metrics.sessions.set(len(self.sessions))


async def get_desk(
    sessions: SessionsDep, settings: SettingsDep, metrics: MetricsDep, model_thread: ModelThreadDep
) -> LiveDesk:
    return LiveDesk(sessions, settings, metrics, model_thread)


DeskDep = Annotated[LiveDesk, Depends(get_desk)]


@router.post("", status_code=201, response_model=SessionOut, summary="Open a live session", responses=BODY_ERRORS)
async def open_session(body: SessionOpen, owner: OwnerDep, service: ServiceDep, desk: DeskDep) -> SessionOut:
    session = LiveSession(
        service.auditor(body.sop_id),
        body.conversation_id or "",
        agent_id=body.agent_id,
        lang=body.lang,
        metadata=body.metadata,
        started_at=body.started_at,
    )
    return desk.out(desk.open(session, owner, body.sop_id), owner)


@router.get("/{session_id}", response_model=SessionOut, summary="Where a live session stands")
async def get_session(session_id: str, owner: OwnerDep, desk: DeskDep) -> SessionOut:
    return desk.out(session_id, owner)


@router.post("/{session_id}/turns", response_model=LiveUpdateOut, summary="Push the next turn", responses=BODY_ERRORS)
async def push_turn(session_id: str, turn: TurnIn, owner: OwnerDep, desk: DeskDep) -> LiveUpdateOut:
    return await desk.push(session_id, owner, turn)


@router.post(
    "/{session_id}/close",
    response_model=ConversationResult,
    summary="Close and get the final result",
    responses=error_responses(409),
)
async def close_session(session_id: str, owner: OwnerDep, desk: DeskDep) -> ConversationResult:
    """The final result, identical to auditing the whole transcript at once; the session is then gone."""
    return await desk.close(session_id, owner)


@router.delete("/{session_id}", status_code=204, summary="Discard a live session")
async def discard_session(session_id: str, owner: OwnerDep, desk: DeskDep) -> Response:
    desk.discard(session_id, owner)
    return Response(status_code=204)


@router.websocket("/{session_id}/stream")
async def stream(websocket: WebSocket, session_id: str, gate: GateDep, desk: DeskDep) -> None:
    """Send turn objects (``{"speaker", "text", ...}``), get an ``update`` after each; send ``{"type": "close"}``
    to get the final ``result``. A bad message gets an ``error`` and the socket stays open; so does a message over
    the key's rate limit (``rate_limited``, with ``retry_after`` seconds), which is not processed."""
    await websocket.accept()
    try:
        owner = gate.authenticate(websocket)
        desk.session(session_id, owner)
    except Exception as problem:
        error = as_api_error(problem)
        if error is None:
            raise
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
                gate.limit_rate(owner)  # each message counts against the key's rate, as an HTTP request does
                if isinstance(message, dict) and message.get("type") == "close":
                    result = await desk.close(session_id, owner)
                    await websocket.send_json({"type": "result", "result": result.model_dump(mode="json")})
                    await websocket.close(code=1000)
                    return
                turn = message.get("turn", message) if isinstance(message, dict) else message
                update = await desk.push(session_id, owner, _turn_body(turn))
                await websocket.send_json({"type": "update", **update.model_dump(mode="json")})
            except Exception as problem:  # the answer an HTTP request would get, as a message
                error = as_api_error(problem)
                if error is None:
                    raise
                body = error_body(error.status, error.code, error.message, error.details)
                if "Retry-After" in error.headers:
                    body["error"]["retry_after"] = int(error.headers["Retry-After"])
                await websocket.send_json({"type": "error", **body})
                if error.code == "unknown_session":
                    await websocket.close(code=1008)
                    return
    except WebSocketDisconnect:
        return  # the session stays open: the client may reconnect or go on over HTTP until it expires


def _turn_body(raw: Any) -> TurnIn:
    try:
        return TurnIn.model_validate(raw)
    except ValidationError as error:
        details = [{"field": field_path(e["loc"]), "message": e["msg"]} for e in error.errors()]
        raise ApiError(
            422, "invalid_turn", "; ".join(f"{d['field']}: {d['message']}" for d in details), details
        ) from error


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
