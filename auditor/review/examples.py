"""Training examples from coach verdicts: reviewed conversations with the turns each reviewed step happened at.

When several coaches reviewed a step, the majority status wins (ties: the latest verdict). A step the coaches
call done, late or out of order is labelled at the turn they named (or the auditor's best evidence they
confirmed); one they call missing is labelled at no turn. A performed step with no known turn, and steps the
coaches call not applicable (a condition question, not a detection one), teach the step scorer nothing and are
left out.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.conversation import Conversation, Role
from auditor.review.coach_verdicts import AT_A_TURN
from auditor.store.audits import stored_conversation
from auditor.store.final_results import consensus
from auditor.store.tables import ConversationRow, StepReviewRow


@dataclass
class ReviewedConversation:
    """A transcript whose ``gold_steps`` hold the coaches' verdicts, for the steps in ``steps`` only."""

    conversation: Conversation
    sop_id: str
    steps: dict[str, str]
    """Step id -> the coaches' status (done, late, out_of_order, missing or violated; never uncertain: coaches
    decide)."""


@dataclass
class ReviewExamples:
    conversations: list[ReviewedConversation] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Why reviewed steps or conversations could not be used (no transcript, performed at an unknown turn)."""

    def by_sop(self) -> dict[str, list[ReviewedConversation]]:
        grouped: dict[str, list[ReviewedConversation]] = defaultdict(list)
        for item in self.conversations:
            grouped[item.sop_id].append(item)
        return dict(grouped)

    @property
    def steps(self) -> int:
        return sum(len(item.steps) for item in self.conversations)


def review_examples(session: Session, sop_id: str | None = None) -> ReviewExamples:
    """Every reviewed (conversation, SOP) with a stored transcript, labelled from the coaches' verdicts."""
    query = select(StepReviewRow)
    if sop_id:
        query = query.where(StepReviewRow.sop_id == sop_id)
    grouped: dict[tuple[int, str], dict[str, list[StepReviewRow]]] = defaultdict(lambda: defaultdict(list))
    for review in session.scalars(query.order_by(StepReviewRow.updated_at, StepReviewRow.id)):
        grouped[(review.conversation_pk, review.sop_id)][review.step_id].append(review)
    examples = ReviewExamples()
    for (conversation_pk, sop), steps in sorted(grouped.items()):
        row = session.get(ConversationRow, conversation_pk)
        conversation = stored_conversation(row) if row is not None else None
        name = row.conversation_id if row is not None else str(conversation_pk)
        if conversation is None:
            examples.skipped.append(f"{name} ({sop}): no transcript stored")
            continue
        labels: dict[str, str] = {}
        gold: dict[int, list[str]] = defaultdict(list)
        for step_id, reviews in steps.items():
            status, turn = consensus(reviews)
            if status == "not_applicable":
                continue
            if status in AT_A_TURN:  # performed, or a forbidden step said: the turn says the step
                if turn is None or turn >= len(conversation.turns):
                    examples.skipped.append(f"{name} ({sop}) {step_id}: performed, but at no known turn")
                    continue
                gold[turn].append(step_id)
            labels[step_id] = status
        if not labels:
            continue
        turns = [
            dataclasses.replace(turn, gold_steps=tuple(gold.get(turn.index, ())) if turn.role is Role.AGENT else None)
            for turn in conversation.turns
        ]
        examples.conversations.append(ReviewedConversation(dataclasses.replace(conversation, turns=turns), sop, labels))
    return examples
