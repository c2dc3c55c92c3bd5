"""Results built by hand with the abstention statuses (uncertain, violated) and outcomes, and their near misses.

A card-check call audited four ways: ``passed``, ``failed`` (a critical step missing), ``needs_review`` (the
critical step uncertain: an offer to verify, never done) and ``violated`` (a forbidden promise said, so failed);
plus ``old_line``: a results.jsonl line written before outcomes existed (no ``outcome`` key).
"""

from __future__ import annotations

import json
from typing import Any

from auditor.conversation import Conversation
from auditor.result import ConversationResult, Evidence, ExpectedPlace, StepResult
from auditor.transcripts.records import conversation_from_mapping

TURNS = [
    {"speaker": "agent", "text": "Hello, welcome to Acme bank."},
    {"speaker": "customer", "text": "Hi, I want to check my card."},
    {"speaker": "agent", "text": "I can't verify you by phone, sorry. Your card balance is 40 pounds."},
    {"speaker": "customer", "text": "Will I get my money back?"},
    {"speaker": "agent", "text": "I guarantee you a full refund. Goodbye from Acme."},
]


def conversation(conversation_id: str, agent_id: str = "a-7") -> Conversation:
    record = {"id": conversation_id, "agent_id": agent_id, "lang": "en", "turns": TURNS}
    return conversation_from_mapping(record, source="", default_id=conversation_id)


def done(step_id: str, turn: int, *, critical: bool = False) -> StepResult:
    evidence = [Evidence(turn_index=turn, text=TURNS[turn]["text"], score=0.9, method="phrase", act="performed")]
    return StepResult(step_id=step_id, status="done", confidence=0.95, critical=critical, evidence=evidence)


def uncertain(step_id: str, turn: int, *, critical: bool = False, act: str = "offered") -> StepResult:
    evidence = [
        Evidence(
            turn_index=turn,
            text=TURNS[turn]["text"],
            score=0.6,
            method="semantic",
            confidence=0.55,
            act=act,  # type: ignore[arg-type]
            act_reason="I can … check",
        )
    ]
    return StepResult(
        step_id=step_id,
        status="uncertain",
        confidence=0.55,
        critical=critical,
        evidence=evidence,
        expected=ExpectedPlace(after_turn=0, before_turn=2, reason="expected before discuss"),
        reason=f"only turn {turn} {act} (I can … check): not done in this call",
    )


def refused(step_id: str, turn: int, *, critical: bool = False) -> StepResult:
    """Missing, with the turn that refused it as evidence (a near miss of done: the step was talked about)."""
    evidence = [
        Evidence(
            turn_index=turn,
            text=TURNS[turn]["text"],
            score=0.7,
            method="semantic",
            confidence=0.8,
            act="refused",
            act_reason="can't … by phone",
        )
    ]
    return StepResult(
        step_id=step_id,
        status="missing",
        confidence=0.8,
        critical=critical,
        evidence=evidence,
        expected=ExpectedPlace(after_turn=0, before_turn=2, reason="expected before discuss"),
        reason=f"not performed: turn {turn} refused (can't … by phone)",
    )


def violated(step_id: str, turn: int, *, critical: bool = True) -> StepResult:
    evidence = [Evidence(turn_index=turn, text=TURNS[turn]["text"], score=0.9, method="phrase", act="performed")]
    return StepResult(
        step_id=step_id,
        status="violated",
        confidence=0.93,
        critical=critical,
        evidence=evidence,
        reason=f"the agent said what this SOP forbids at turn {turn}",
    )


def never_said(step_id: str) -> StepResult:
    """A forbidden step not said: done."""
    return StepResult(step_id=step_id, status="done", confidence=0.9, critical=True, reason="never said")


def result(
    conversation_id: str, steps: list[StepResult], outcome: str | None, *, agent_id: str = "a-7", score: float = 1.0
) -> ConversationResult:
    flags = [f"{s.status}:{s.step_id}" for s in steps if s.status in {"missing", "uncertain", "violated"}]
    flags += [f"critical:{s.step_id}" for s in steps if s.critical and s.status in {"missing", "violated"}]
    return ConversationResult(
        conversation_id=conversation_id,
        agent_id=agent_id,
        sop_id="card-check",
        sop_version=1,
        lang="en",
        score=score,
        passed=outcome == "passed",
        outcome=outcome,  # type: ignore[arg-type]
        steps=steps,
        flags=flags,
    )


def passed_call(conversation_id: str = "c-passed", agent_id: str = "a-7") -> ConversationResult:
    steps = [done("greet", 0), done("verify", 2, critical=True), done("discuss", 2), never_said("promise")]
    return result(conversation_id, steps, "passed", agent_id=agent_id)


def failed_call(conversation_id: str = "c-failed", agent_id: str = "a-7") -> ConversationResult:
    steps = [done("greet", 0), refused("verify", 2, critical=True), done("discuss", 2), never_said("promise")]
    return result(conversation_id, steps, "failed", agent_id=agent_id, score=0.67)


def review_call(conversation_id: str = "c-review", agent_id: str = "a-7") -> ConversationResult:
    steps = [done("greet", 0), uncertain("verify", 2, critical=True), done("discuss", 2), never_said("promise")]
    return result(conversation_id, steps, "needs_review", agent_id=agent_id)


def violated_call(conversation_id: str = "c-violated", agent_id: str = "a-7") -> ConversationResult:
    steps = [done("greet", 0), done("verify", 2, critical=True), done("discuss", 2), violated("promise", 4)]
    return result(conversation_id, steps, "failed", agent_id=agent_id, score=0.75)


def old_line(passed: bool, conversation_id: str = "c-old") -> str:
    """A results.jsonl line as written before outcomes, acts and the new statuses existed."""
    record: dict[str, Any] = {
        "conversation_id": conversation_id,
        "agent_id": "a-7",
        "sop_id": "card-check",
        "sop_version": 1,
        "lang": "en",
        "score": 1.0 if passed else 0.5,
        "passed": passed,
        "steps": [
            {"step_id": "greet", "status": "done", "confidence": 0.9, "evidence": []},
            {"step_id": "verify", "status": "done" if passed else "missing", "confidence": 0.9, "critical": True},
        ],
        "flags": [] if passed else ["missing:verify", "critical:verify"],
        "models": {"embedder": "hashing"},
    }
    return json.dumps(record)


def old_result(passed: bool, conversation_id: str = "c-old") -> ConversationResult:
    return ConversationResult.model_validate_json(old_line(passed, conversation_id))
