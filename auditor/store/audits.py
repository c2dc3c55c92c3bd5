"""Save audit results (and their transcripts) idempotently, and read them back as results and conversations."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from auditor.conversation import Conversation
from auditor.outcome import outcome_of, with_outcome
from auditor.privacy.policy import POLICY_KEY, RedactionPolicy, redact_for_result, redacted_result
from auditor.result import ConversationResult
from auditor.risk import assess
from auditor.sop_format import Sop
from auditor.store.final_results import refresh_final, scoring_rules
from auditor.store.tables import AuditRow, AuditStepRow, ConversationRow, utc_now
from auditor.transcripts.problems import TranscriptError
from auditor.transcripts.records import conversation_from_mapping, value_problems

TURN_FIELDS = ("speaker", "text", "start", "end")


@dataclass(frozen=True)
class Saved:
    audit_id: int
    conversation_id: str
    created: bool
    """False when the same conversation, SOP version and models were already stored (the row was refreshed)."""


def models_key(models: Mapping[str, str]) -> str:
    """Identity of the models that made a result: the SHA-256 of their names and versions."""
    return hashlib.sha256(json.dumps(dict(models), sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def enforced_result(result: ConversationResult, policy: RedactionPolicy | None) -> ConversationResult:
    """``result`` redacted with at least ``policy`` (a server's), whatever the result says it was made with.

    A result made with ``--no-redact`` (``models.redaction: "none"``) or fewer kinds than the server hides is redacted
    again with the kinds of both, and records them; one that records no policy gets the default policy as well.
    ``policy`` None (or off): the result as it records itself (the default policy when it records none).
    """
    result = redacted_result(result)
    if policy is None or not policy.enabled:
        return _reasons_redacted(result, RedactionPolicy.recorded_in(result.models))
    recorded = RedactionPolicy.recorded_in(result.models)
    wanted = RedactionPolicy(recorded.kinds | policy.kinds)
    if not (wanted.kinds == recorded.kinds and result.models.get(POLICY_KEY) == wanted.record):
        result = wanted.redact_result(result)
    return _reasons_redacted(result, wanted)


def _reasons_redacted(result: ConversationResult, policy: RedactionPolicy) -> ConversationResult:
    """Results made before evidence ``act_reason``, step ``reason`` and the words that fired dissatisfaction signals
    were redacted record a policy but quote the turn's words there: those are redacted again, whatever made the
    result."""
    block = result.dissatisfaction
    moods = {"dissatisfaction": policy.redact_signal_evidence(block)} if block is not None else {}
    return result.model_copy(update={"steps": policy.redact_steps(result.steps)} | moods)


def save_result(
    session: Session,
    result: ConversationResult,
    conversation: Conversation | None = None,
    policy: RedactionPolicy | None = None,
    sop: Sop | None = None,
) -> Saved:
    """Store one result (and its transcript when given); the same conversation, SOP version and models again
    replace the earlier row's result instead of adding one, and the coaches' reviews stay attached.

    What is stored is redacted: the result and transcript with the policy the result records, a result that records
    none (made before redaction existed) with the default policy; ``policy`` (the server's) wins over a result that
    hides less (see ``enforced_result``).

    ``sop``: the SOP the result was audited against, when known; its weights and pass score are recorded so reviewed
    verdicts are scored by its rules (ignored unless its id and version are the result's).
    """
    result = enforced_result(result, policy)
    stored = _conversation_row(session, result, redact_for_result(conversation, result))
    key = models_key(result.models)
    version = str(result.sop_version)
    audit = session.scalars(
        select(AuditRow).where(
            AuditRow.conversation_pk == stored.id,
            AuditRow.sop_id == result.sop_id,
            AuditRow.sop_version == version,
            AuditRow.models_key == key,
        )
    ).one_or_none()
    created = audit is None
    if audit is None:
        audit = AuditRow(conversation_pk=stored.id, sop_id=result.sop_id, sop_version=version, models_key=key)
        session.add(audit)
    risk = assess(result)
    audit.agent_id = result.agent_id
    audit.conversation_date = stored.started_at
    audit.score = result.score
    audit.passed = result.passed
    audit.outcome = outcome_of(result)
    audit.final_score, audit.final_outcome = audit.score, audit.outcome  # until refresh_final reads the reviews
    audit.risk = risk.score
    audit.critical_misses = len(risk.critical_misses)
    audit.dissatisfaction = result.dissatisfaction.score if result.dissatisfaction else None
    audit.anomaly = result.anomaly.score if result.anomaly else None
    audit.flags = list(result.flags)
    audit.result = result.model_dump(mode="json")
    if sop is not None and sop.id == result.sop_id and str(sop.version) == version:
        audit.scoring = scoring_rules(sop)
    audit.audited_at = utc_now()
    if audit.steps:
        audit.steps.clear()
        session.flush()  # the old step rows go first: (audit, step) is unique
    audit.steps = [
        AuditStepRow(
            position=position,
            step_id=step.step_id,
            status=step.status,
            confidence=step.confidence,
            critical=step.critical,
            required=step.required,
            final_status=step.status,
            reviewed=False,
        )
        for position, step in enumerate(result.steps)
    ]
    refresh_final(session, audit)  # coaches' verdicts on this conversation and SOP apply to a re-audit too
    session.flush()
    session.execute(
        update(AuditRow)
        .where(AuditRow.conversation_pk == stored.id, AuditRow.sop_id == result.sop_id)
        .values(latest=AuditRow.id == audit.id)
    )
    return Saved(audit.id, result.conversation_id, created)


MAX_TURN_INDEX = 2**31 - 1
"""The largest turn index an integer column holds on every backend (a coach's verdict stores one)."""


def storable_problems(result: ConversationResult, label: str = "") -> list[str]:
    """Why a result made elsewhere (sent to the API) cannot be stored as it is, each naming the field; [] if it can.

    Checks what the tables hold (identifier lengths, one row per step, integer turn indices) and that every string
    is valid text nested no deeper than a transcript's fields, so what is stored can always be read back and served.
    """
    prefix = f"{label}." if label else ""
    record = result.model_dump(mode="python")
    problems = [f"{prefix}{reason}" for reason in value_problems(record)]
    problems += [f"{prefix}{where}: not a finite number" for where in _non_finite(record)]
    limits = [
        ("conversation_id", result.conversation_id, ConversationRow.conversation_id),
        ("agent_id", result.agent_id, ConversationRow.agent_id),
        ("lang", result.lang, ConversationRow.lang),
        ("sop_id", result.sop_id, AuditRow.sop_id),
        ("sop_version", str(result.sop_version), AuditRow.sop_version),
    ]
    limits += [(f"steps[{n}].step_id", step.step_id, AuditStepRow.step_id) for n, step in enumerate(result.steps)]
    for field, value, column in limits:
        length = column.type.length
        if value is not None and len(value) > length:
            problems.append(f"{prefix}{field}: {len(value)} characters, more than the {length} the store holds")
        if value is not None and "\x00" in value:  # PostgreSQL text cannot hold NUL; refused on SQLite alike
            problems.append(f"{prefix}{field}: holds a NUL character, which the store cannot keep")
    seen: set[str] = set()
    for number, step in enumerate(result.steps):
        if step.step_id in seen:
            problems.append(f"{prefix}steps[{number}].step_id: {step.step_id!r} is given twice")
        seen.add(step.step_id)
        for place, evidence in enumerate(step.evidence):
            if not 0 <= evidence.turn_index <= MAX_TURN_INDEX:
                where = f"{prefix}steps[{number}].evidence[{place}].turn_index"
                problems.append(f"{where}: must be between 0 and {MAX_TURN_INDEX}")
    return problems


def _non_finite(value: Any) -> Iterator[str]:
    """Where a value holds NaN or an infinity (JSON has neither; PostgreSQL refuses them in a JSON column)."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            yield where
        elif isinstance(item, Mapping):
            stack.extend((child, f"{where}.{key}" if where else str(key)) for key, child in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((child, f"{where}[{index}]") for index, child in enumerate(item))


def save_results(
    session: Session,
    results: Iterable[ConversationResult],
    conversations: Mapping[str, Conversation] | None = None,
    policy: RedactionPolicy | None = None,
    sops: Mapping[str, Sop] | None = None,
) -> list[Saved]:
    """Store many results; ``conversations`` (by id) supplies the transcripts that are known, ``sops`` (by id) the
    SOPs whose scoring rules are recorded with their audits."""
    known, rules = conversations or {}, sops or {}
    return [
        save_result(session, result, known.get(result.conversation_id), policy, rules.get(result.sop_id))
        for result in results
    ]


def audit_result(audit: AuditRow, policy: RedactionPolicy | None = None) -> ConversationResult:
    """The stored result (redacted with the default policy when it was stored before redaction existed, and with at
    least ``policy``, the server's, when given: rows stored raw before the server enforced it; its ``outcome`` read
    from ``passed`` when it was stored before outcomes existed)."""
    return with_outcome(enforced_result(ConversationResult.model_validate(audit.result), policy))


def stored_conversation(row: ConversationRow) -> Conversation | None:
    """The transcript as a Conversation (turn indices as in the input), or None when none was stored."""
    if row.turns is None:
        return None
    record = {"id": row.conversation_id, "agent_id": row.agent_id, "lang": row.lang, "turns": row.turns}
    if row.started_at is not None:
        record["started_at"] = row.started_at.isoformat()
    try:
        return conversation_from_mapping(record, source="store", default_id=row.conversation_id)
    except TranscriptError:
        return None


def parse_date(value: Any) -> datetime | None:
    """A conversation's ``started_at`` as naive UTC, or None when absent or unreadable (it only orders and filters)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):  # OverflowError: 0001-01-01T00:00+14:00 is before year 1 in UTC
        return None
    return moment


def _conversation_row(
    session: Session, result: ConversationResult, conversation: Conversation | None
) -> ConversationRow:
    row = session.scalars(
        select(ConversationRow).where(ConversationRow.conversation_id == result.conversation_id)
    ).one_or_none()
    if row is None:
        row = ConversationRow(conversation_id=result.conversation_id, extra={})
        session.add(row)
    row.agent_id = result.agent_id
    row.lang = result.lang or row.lang
    if conversation is not None:
        row.turns = [_turn_record(turn) for turn in conversation.turns]
        row.started_at = parse_date(conversation.started_at)
        if conversation.lang:
            row.lang = conversation.lang
    elif row.started_at is None:
        row.started_at = parse_date(result.metadata.get("started_at"))
    session.flush()
    return row


def _turn_record(turn: Any) -> dict[str, Any]:
    record = {"speaker": turn.speaker, "text": turn.text}
    if turn.start is not None:
        record["start"] = turn.start
    if turn.end is not None:
        record["end"] = turn.end
    return record
