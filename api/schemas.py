"""Request and response bodies. Transcripts and results follow the contracts in DESIGN.md."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.result import ConversationResult

EXAMPLE_TRANSCRIPT: Any = {
    "id": "c-001",
    "agent_id": "a-17",
    "lang": "en",
    "turns": [
        {"speaker": "agent", "text": "Thanks for calling, this is Sam. How can I help?", "start": 0.0, "end": 2.4},
        {"speaker": "customer", "text": "My refund still hasn't arrived, this is the third time I call."},
        {"speaker": "agent", "text": "I'm sorry about that. Could you confirm your account number?"},
    ],
}


class TurnIn(BaseModel):
    """One turn of the transcript contract; other fields are kept and passed through."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": EXAMPLE_TRANSCRIPT["turns"][1]})

    speaker: str = Field(description="agent | customer (or a synonym); any other speaker is a non-spoken event.")
    text: str
    start: float | None = Field(None, description="Seconds from the start of the call.")
    end: float | None = None


class TranscriptIn(BaseModel):
    """A conversation (the transcript contract); unknown fields are kept and passed to the result's metadata."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": EXAMPLE_TRANSCRIPT})

    id: str | None = None
    agent_id: str | None = None
    lang: str | None = Field(None, description="en | zh | null (detected).")
    started_at: str | None = None
    turns: list[TurnIn]


class BatchIn(BaseModel):
    conversations: list[dict[str, Any]] = Field(
        description="Transcripts (the contract); each is checked on its own, so one bad conversation does not "
        "fail the others.",
        json_schema_extra={"example": [EXAMPLE_TRANSCRIPT]},
    )


class BatchProblem(BaseModel):
    index: int = Field(description="Position of the conversation in the request.")
    id: str | None
    message: str


class BatchOut(BaseModel):
    results: list[ConversationResult]
    errors: list[BatchProblem]


class SopSummary(BaseModel):
    id: str
    name: str
    version: int | str
    languages: list[str]
    description: str
    steps: list[str]


class SopProblemOut(BaseModel):
    code: str
    message: str
    step_id: str | None = None
    field: str | None = None
    severity: str = "error"


class SopValidation(BaseModel):
    valid: bool
    sop_id: str | None = None
    steps: int = 0
    problems: list[SopProblemOut]


class SessionOpen(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"sop_id": "complaint-handling", "agent_id": "a-17"}})

    sop_id: str
    agent_id: str | None = None
    conversation_id: str | None = Field(None, description="Id of the final result (default: the session id).")
    lang: Literal["en", "zh"] | None = None
    started_at: str | None = Field(None, description="When the call started (ISO 8601), as in the transcript.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Passed through to the final result.")


class LiveStepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step_id: str
    name: str | None
    status: Literal["done", "late", "out_of_order", "pending", "overdue", "not_applicable"]
    required: bool
    critical: bool
    turn_index: int | None = Field(description="Where it was done (first evidence), or where it became overdue.")
    confidence: float
    reason: str | None = None


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: Literal["critical_step_missed", "step_overdue", "escalation_request", "dissatisfaction_rising"]
    severity: Literal["critical", "warning"]
    turn_index: int
    message: str
    step_id: str | None = None


class MoodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    current: float | None = Field(description="The latest customer turn's dissatisfaction (0..1).")
    conversation: float = Field(description="The conversation's dissatisfaction so far (0..1).")
    flagged: bool
    signals: list[str] = Field(description="Signals on the latest customer turn.")


class LiveUpdateOut(BaseModel):
    session_id: str
    turn_index: int = Field(description="Input index of the turn just pushed.")
    turns: int
    done: list[str]
    overdue: list[str]
    steps: list[LiveStepOut]
    dissatisfaction: MoodOut | None
    alerts: list[AlertOut] = Field(description="Alerts this turn raised (each alert is raised once per session).")


class SessionOut(BaseModel):
    session_id: str
    sop_id: str
    conversation_id: str
    agent_id: str | None
    turns: int
    expires_in_seconds: float
    steps: list[LiveStepOut]
    alerts: list[AlertOut] = Field(description="Every alert raised so far.")
