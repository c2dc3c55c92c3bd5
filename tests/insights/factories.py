"""A constructed set of audit results whose step-outcome relations are known by construction.

- ``apologize`` is done half the time, independently of the agent, and lowers the chance of a dissatisfied
  customer by ``APOLOGY_EFFECT`` and raises CSAT by ``CSAT_EFFECT``: a real effect.
- ``upsell`` is done more often by better agents, whose customers are happier whatever they do: a crude
  association that disappears within agents (confounding).
- ``survey`` is almost never done; ``verify`` is done late half the time; ``greet`` is done 90% of the time.
- Task success does not depend on any step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from auditor.conversation import Conversation, Role, Turn
from auditor.result import ConversationResult, Dissatisfaction, Evidence, StepResult
from auditor.sop.loading import sop_from_mapping

APOLOGY_EFFECT = -0.25
CSAT_EFFECT = 1.0
AGENTS = 12
PER_AGENT = 60
STEPS = ("greet", "verify", "apologize", "upsell", "survey")


def constructed_results(seed: int = 7) -> tuple[list[ConversationResult], dict[str, Conversation]]:
    rng = np.random.default_rng(seed)
    results: list[ConversationResult] = []
    conversations: dict[str, Conversation] = {}
    start = datetime(2025, 3, 1, tzinfo=UTC)
    for agent in range(AGENTS):
        quality = agent / (AGENTS - 1)
        for number in range(PER_AGENT):
            conversation_id = f"c-{agent:02d}-{number:03d}"
            done = {
                "greet": rng.random() < 0.9,
                "verify": rng.random() < 0.8,
                "apologize": rng.random() < 0.5,
                "upsell": rng.random() < 0.1 + 0.8 * quality,
                "survey": rng.random() < 0.03,
            }
            late_verify = done["verify"] and rng.random() < 0.5
            unhappy_p = 0.2 + 0.5 * (1 - quality) + (APOLOGY_EFFECT if done["apologize"] else 0.0)
            unhappy = bool(rng.random() < min(max(unhappy_p, 0.0), 1.0))
            csat = 2.5 + 1.5 * quality + (CSAT_EFFECT if done["apologize"] else 0.0) + rng.normal(0, 0.8)
            steps = []
            for step_id in STEPS:
                status = "done" if done[step_id] else "missing"
                if step_id == "verify" and late_verify:
                    status = "late"
                evidence = []
                if done[step_id]:
                    evidence = [Evidence(turn_index=0, text=f"{step_id} text", score=0.8, method="semantic")]
                steps.append(StepResult(step_id=step_id, status=status, confidence=0.9, evidence=evidence))
            score = sum(done.values()) / len(STEPS)
            customer = f"cust-{int(rng.integers(0, 300)):03d}"
            started = start + timedelta(hours=int(rng.integers(0, 24 * 60)))
            results.append(
                ConversationResult(
                    conversation_id=conversation_id,
                    agent_id=f"agent-{agent:02d}",
                    sop_id="demo",
                    sop_version=1,
                    lang="en",
                    score=score,
                    passed=score >= 0.8,
                    steps=steps,
                    dissatisfaction=Dissatisfaction(score=0.9 if unhappy else 0.1, flagged=unhappy),
                    metadata={
                        "dissatisfied": unhappy,
                        "csat": round(float(csat), 2),
                        "user_task_success_answers": [bool(rng.random() < 0.8)],
                        "customer_id": customer,
                        "started_at": started.isoformat(),
                    },
                )
            )
            seconds = float(rng.integers(60, 600))
            conversations[conversation_id] = Conversation(
                id=conversation_id,
                turns=[
                    Turn(0, "agent", Role.AGENT, "hello", start=0.0, end=2.0),
                    Turn(1, "customer", Role.CUSTOMER, "bye", start=seconds - 3, end=seconds),
                ],
                agent_id=f"agent-{agent:02d}",
            )
    return results, conversations


def write_results(path, results) -> None:  # type: ignore[no-untyped-def]
    path.write_text("".join(r.model_dump_json() + "\n" for r in results), encoding="utf-8")


RETURNS_SOP = sop_from_mapping(
    {
        "id": "returns",
        "name": "Returns",
        "version": 3,
        "steps": [
            {
                "id": "apologize",
                "name": "Apologise for the problem",
                "description": "The agent says sorry for the trouble with the order.",
                "examples": ["I'm sorry for the trouble with your order."],
            },
            {
                "id": "label",
                "name": "Send a return label",
                "description": "The agent sends a prepaid return label by email.",
                "examples": ["I'll email you a prepaid return label."],
            },
        ],
    }
)

TOP_APOLOGY = "I do apologise, that parcel mix-up is entirely our fault."
WEAK_APOLOGY = "ok whatever, sorry I guess."


def result(conversation_id, agent_id, score, apology_text, label_text, unhappy=False):  # type: ignore[no-untyped-def]
    def step(step_id, text):  # type: ignore[no-untyped-def]
        evidence = [Evidence(turn_index=1, text=text, score=0.8, method="semantic")] if text else []
        return StepResult(step_id=step_id, status="done" if text else "missing", confidence=0.9, evidence=evidence)

    return ConversationResult(
        conversation_id=conversation_id,
        agent_id=agent_id,
        sop_id="returns",
        sop_version=3,
        lang="en",
        score=score,
        passed=score >= 0.8,
        steps=[step("apologize", apology_text), step("label", label_text)],
        metadata={"dissatisfied": unhappy},
    )


def suggestion_results() -> list[ConversationResult]:
    """High scorers (ann, bob) word an apology the SOP lacks; low scorers (cat, dan) say something else."""
    made = []
    for i in range(4):  # high scorers: a new apology wording, an existing label example, a label with an e-mail
        made.append(
            result(f"a{i}", "ann", 1.0, f"Hello there. {TOP_APOLOGY}", "I'll email you a prepaid return label.")
        )
        made.append(
            result(
                f"b{i}",
                "bob",
                0.95,
                TOP_APOLOGY.replace("entirely", "totally"),
                f"Label sent to jo{i}@example.com now.",
            )
        )
    for i in range(6):  # low scorers: their wording must not be proposed
        made.append(result(f"c{i}", "cat", 0.3, WEAK_APOLOGY, None))
        made.append(result(f"d{i}", "dan", 0.2, WEAK_APOLOGY, None))
    made.append(result("e0", "ann", 1.0, "We are so sorry, here is a voucher for your trouble.", None, unhappy=True))
    return made
