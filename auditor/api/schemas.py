"""Request and response bodies. Transcripts and results follow the contracts in DESIGN.md."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from auditor.live.progress import AlertKind, LiveStatus, Severity
from auditor.result import ConversationResult, Outcome
from auditor.review.coach_verdicts import StepVerdict
from auditor.store.tables import storable_text
from auditor.transcripts.records import value_problems

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

    # minimum / pattern / minItems below document the contract (checked with its own messages, DESIGN.md)
    speaker: str = Field(
        description="agent | customer | event (or a synonym); diarized labels (Speaker 1/2, spk_0) get inferred roles; "
        "any other label is refused (422) unless speaker_map maps it.",
        json_schema_extra={"pattern": r"\S"},
    )
    text: str
    start: float | None = Field(
        None, description="Seconds from the start of the call.", json_schema_extra={"minimum": 0}
    )
    end: float | None = Field(None, description="Not before start.", json_schema_extra={"minimum": 0})


class TranscriptIn(BaseModel):
    """A conversation (the transcript contract); unknown fields are kept and passed to the result's metadata."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": EXAMPLE_TRANSCRIPT})

    id: str | None = None
    agent_id: str | None = None
    lang: str | None = Field(None, description="en | zh | null (detected).")
    started_at: str | None = None
    turns: list[TurnIn] = Field(json_schema_extra={"minItems": 1})
    speaker_map: dict[str, str] | None = Field(
        None,
        description='Roles of speaker labels, e.g. {"Speaker 1": "agent", "Speaker 2": "customer"}: '
        "overrides role names and the roles inferred for diarized labels (Speaker 1/2, spk_0/1, 说话人1/2).",
    )


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

    @field_validator("agent_id", "conversation_id", "started_at", "metadata")
    @classmethod
    def _valid_text(cls, value: Any) -> Any:
        """What the final result echoes must be valid text, nested no deeper than a transcript's fields."""
        problems = list(value_problems(value))
        if problems:
            raise ValueError("; ".join(problems[:5]))
        return value


class LiveStepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step_id: str
    name: str | None
    status: LiveStatus = Field(
        description="uncertain: a turn may have done it, the auditor is not sure (a person decides); violated: a "
        "forbidden step was said."
    )
    required: bool
    critical: bool
    turn_index: int | None = Field(
        description="Where it was done (first evidence), said (violated), may have been done (uncertain), or where it "
        "became overdue."
    )
    confidence: float
    reason: str | None = None


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: AlertKind
    severity: Severity
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
    uncertain: list[str] = Field(default_factory=list, description="Steps a turn may have done (not sure yet).")
    violated: list[str] = Field(default_factory=list, description="Forbidden steps said so far.")
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


# --- coach review ------------------------------------------------------------------------------------------------


def as_utc(moment: datetime) -> datetime:
    """The store keeps naive UTC; answers say so (RFC 3339 date-times carry their offset)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


LARGEST_ID = 2**63 - 1
"""Largest id or offset a request may name (a 64-bit integer): a larger one is a 422; one past the store's
``MAX_ROW_ID`` is just not found."""


def as_utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


class QueueItemOut(BaseModel):
    audit_id: int
    conversation_id: str
    agent_id: str | None
    sop_id: str
    sop_version: str
    lang: str | None
    when: datetime = Field(description="The conversation's start (UTC), or the audit time when it has none.")
    dated: bool
    score: float
    passed: bool
    outcome: Outcome = Field(
        description="The final outcome: passed / failed / needs_review after coach review (else the auditor's)."
    )
    to_decide: list[str] = Field(description="Steps the auditor left uncertain that no coach decided yet.")
    risk: float
    reasons: list[str]
    flags: list[str]
    reviewers: list[str]
    automatic_score: float = Field(description="The auditor's score (score, passed and outcome are the final ones).")
    automatic_outcome: Outcome = Field(description="The auditor's outcome, before coach review.")
    reviewed: bool = Field(description="Coaches reviewed it: score, passed and outcome follow their verdicts.")
    reviewed_steps: int
    reviewed_at: datetime | None

    _utc = field_validator("when")(as_utc)
    _utc_reviewed = field_validator("reviewed_at")(as_utc_or_none)


class QueueOut(BaseModel):
    items: list[QueueItemOut]
    total: int
    offset: int
    limit: int


class TurnOut(BaseModel):
    index: int
    speaker: str
    role: str
    text: str
    start: float | None = None
    end: float | None = None


class ReviewOut(BaseModel):
    step_id: str
    reviewer: str
    auditor_status: str
    verdict: Literal["confirmed", "overturned"]
    coach_status: str
    turn_index: int | None
    comment: str
    audit_id: int
    updated_at: datetime

    _utc = field_validator("updated_at")(as_utc)


class FinalStepOut(BaseModel):
    step_id: str
    automatic_status: str = Field(description="The auditor's status.")
    final_status: str = Field(description="The coaches' status (majority, ties: the latest) when reviewed.")
    reviewed: bool
    critical: bool
    required: bool


class FinalOut(BaseModel):
    """The conversation's final verdicts after coach review; the automatic ones (``result``) stay beside them."""

    score: float
    outcome: Outcome
    passed: bool
    automatic_score: float
    automatic_outcome: Outcome
    reviewed: bool
    reviewed_steps: int
    reviewed_at: datetime | None
    steps: list[FinalStepOut]

    _utc = field_validator("reviewed_at")(as_utc_or_none)


class AuditOut(BaseModel):
    audit_id: int
    latest: bool
    result: ConversationResult = Field(description="The automatic result, as the auditor made it.")
    final: FinalOut = Field(description="The final verdicts, score and outcome (the coaches' once reviewed).")
    turns: list[TurnOut] | None = Field(description="The transcript, or null when only the result was stored.")
    reviews: list[ReviewOut]


class StoredOut(BaseModel):
    audit_id: int
    conversation_id: str
    created: bool = Field(description="False when this exact audit (SOP version and models) was already stored.")


class StoreResultsIn(BaseModel):
    results: list[ConversationResult] = Field(min_length=1, max_length=1000)
    transcripts: list[dict[str, Any]] = Field(
        default_factory=list, description="Transcripts of those results (the contract), matched by id."
    )




class VerdictsIn(BaseModel):
    reviewer: str = Field(min_length=1, max_length=100, description="The coach's name.")
    verdicts: list[StepVerdict] = Field(min_length=1, max_length=200)

    _reviewer = field_validator("reviewer")(storable_text)

    @field_validator("verdicts")
    @classmethod
    def _comments(cls, verdicts: list[StepVerdict]) -> list[StepVerdict]:
        for number, verdict in enumerate(verdicts):
            for name in ("step_id", "comment"):
                try:
                    storable_text(getattr(verdict, name))
                except ValueError as error:
                    raise ValueError(f"verdicts[{number}].{name}: {error}") from None
        return verdicts


class AuditAndStoreOut(StoredOut):
    result: ConversationResult


# --- errors ------------------------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    status: int
    code: str = Field(description="Stable, machine-readable: unknown_sop, turn_too_long, rate_limited...")
    message: str = Field(description="What was wrong, naming the field or the limit.")
    details: list[ErrorDetail] = Field(description="One entry per bad field, when the body failed validation.")


class ErrorOut(BaseModel):
    """The one shape of every 4xx and 5xx answer."""

    error: ErrorBody


_ERROR_MEANINGS = {
    400: "The body is not readable (malformed JSON or YAML).",
    401: "No API key, or not a valid one (send it in X-API-Key).",
    404: "No such SOP, live session or stored audit.",
    409: "The live session holds no turn yet.",
    413: "The body is larger than AUDITOR_MAX_BODY_BYTES.",
    415: "The body's content type is not accepted.",
    422: "The request breaks the contract or a limit; the message and details name the field.",
    429: "Too many requests a second for this key, or too many live sessions.",
    503: "Models still loading, the review store not open, or the audit took too long.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each with the error shape."""
    return {status: {"model": ErrorOut, "description": _ERROR_MEANINGS[status]} for status in statuses}
