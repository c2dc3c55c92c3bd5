"""Per agent x step deviations from peers: which agent misses which SOP step far more often than colleagues.

For each (agent, SOP, step) the agent's *miss rate* (``missing``, ``out_of_order``, ``late`` or ``violated``, over
the conversations where the step applied and was decided: ``uncertain`` verdicts are counted apart, as neither done
nor missed) is compared with every other agent's on the same SOP step, pooled, by Fisher's
exact test (two-sided). p-values are corrected for the number of cells tested with Benjamini-Hochberg. A cell is
tested only with enough support (``min_conversations`` for the agent and for the peers) and when the step was missed
at least once and done at least once overall (otherwise no difference can show; leaving such cells out does not
bias the correction, since it depends only on the pooled margins). A cell is ``flagged`` when ``q < alpha`` and the
agent is worse than the peers: that is what a coach reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from auditor.result import ConversationResult

MISSED = frozenset({"missing", "out_of_order", "late", "violated"})
MIN_CONVERSATIONS = 5
ALPHA = 0.05

Direction = Literal["worse", "better", "same"]


@dataclass(frozen=True)
class AgentStepDeviation:
    """One tested (agent, step) cell: the agent's misses against the pooled peers', with p and BH q values."""

    agent_id: str
    sop_id: str
    step_id: str
    step_name: str | None
    required: bool
    agent_misses: int
    agent_conversations: int
    peer_misses: int
    peer_conversations: int
    p_value: float
    q_value: float
    direction: Direction
    flagged: bool
    agent_uncertain: int = 0
    """The agent's conversations where the step was ``uncertain`` (not in ``agent_conversations``)."""
    peer_uncertain: int = 0

    @property
    def agent_rate(self) -> float:
        return self.agent_misses / self.agent_conversations

    @property
    def peer_rate(self) -> float:
        return self.peer_misses / self.peer_conversations

    def describe(self) -> str:
        """What a coach reads: "a-tom misses recap in 8/10 conversations vs 2/40 for peers (q=0.003)"."""
        step = self.step_name or self.step_id
        return (
            f"{self.agent_id} misses {step!r} in {self.agent_misses}/{self.agent_conversations} conversations"
            f" vs {self.peer_misses}/{self.peer_conversations} for peers (q={self.q_value:.2g})"
        )


@dataclass
class _Cell:
    misses: int = 0
    conversations: int = 0
    uncertain: int = 0


def agent_step_deviations(
    results: Iterable[ConversationResult],
    *,
    min_conversations: int = MIN_CONVERSATIONS,
    alpha: float = ALPHA,
    missed_statuses: frozenset[str] = MISSED,
    required_only: bool = False,
) -> list[AgentStepDeviation]:
    """Every tested (agent, step) cell, sorted by q value (then by how much worse the agent is).

    Results without an ``agent_id`` are left out (they belong to no agent and to no agent's peers).
    ``required_only`` leaves optional steps out: useful when optional steps are scenario branches (an SOP without
    ``when`` conditions), where "not performed" often means "not needed".
    """
    from scipy.stats import false_discovery_control, fisher_exact

    cells: dict[tuple[str, str, str], _Cell] = defaultdict(_Cell)
    totals: dict[tuple[str, str], _Cell] = defaultdict(_Cell)
    step_info: dict[tuple[str, str], tuple[str | None, bool]] = {}
    for result in results:
        if not result.agent_id:
            continue
        for step in result.steps:
            if step.status == "not_applicable" or (required_only and not step.required):
                continue
            missed = step.status in missed_statuses
            key = (result.sop_id, step.step_id)
            step_info.setdefault(key, (step.name, step.required))
            for cell in (cells[(result.agent_id, *key)], totals[key]):
                if step.status == "uncertain":  # undecided: neither a miss nor a conversation where it was done
                    cell.uncertain += 1
                    continue
                cell.conversations += 1
                cell.misses += missed
    tested: list[tuple[tuple[str, str, str], _Cell, _Cell, float]] = []
    for (agent_id, sop_id, step_id), cell in cells.items():
        total = totals[(sop_id, step_id)]
        peers = _Cell(
            total.misses - cell.misses, total.conversations - cell.conversations, total.uncertain - cell.uncertain
        )
        if cell.conversations < min_conversations or peers.conversations < min_conversations:
            continue
        if total.misses == 0 or total.misses == total.conversations:
            continue
        table = [
            [cell.misses, cell.conversations - cell.misses],
            [peers.misses, peers.conversations - peers.misses],
        ]
        p_value = float(fisher_exact(table, alternative="two-sided").pvalue)
        tested.append(((agent_id, sop_id, step_id), cell, peers, min(1.0, p_value)))
    if not tested:
        return []
    q_values = false_discovery_control([p for *_, p in tested], method="bh")
    rows = []
    for ((agent_id, sop_id, step_id), cell, peers, p_value), q_value in zip(tested, q_values, strict=True):
        name, required = step_info[(sop_id, step_id)]
        direction = _direction(cell, peers)
        rows.append(
            AgentStepDeviation(
                agent_id=agent_id,
                sop_id=sop_id,
                step_id=step_id,
                step_name=name,
                required=required,
                agent_misses=cell.misses,
                agent_conversations=cell.conversations,
                peer_misses=peers.misses,
                peer_conversations=peers.conversations,
                p_value=p_value,
                q_value=float(q_value),
                direction=direction,
                flagged=bool(q_value < alpha and direction == "worse"),
                agent_uncertain=cell.uncertain,
                peer_uncertain=peers.uncertain,
            )
        )
    rows.sort(key=lambda row: (row.q_value, row.p_value, -(row.agent_rate - row.peer_rate)))
    return rows


def flagged_deviations(rows: Sequence[AgentStepDeviation]) -> list[AgentStepDeviation]:
    """The cells a coach should act on: significantly worse than peers."""
    return [row for row in rows if row.flagged]


def _direction(agent: _Cell, peers: _Cell) -> Direction:
    # Compare a/b with c/d without floating point: a*d vs c*b.
    left, right = agent.misses * peers.conversations, peers.misses * agent.conversations
    if left > right:
        return "worse"
    if left < right:
        return "better"
    return "same"
