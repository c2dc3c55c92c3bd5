"""A conversation audited while it happens: turns pushed one at a time, each processed and embedded once.

After every turn the session re-derives the verdicts from what it already holds: each turn's own results (its
similarities to the SOP, keyword hits, dissatisfaction signals and features) are computed once, when it arrives
(``auditor.live.incremental``); only what depends on how long the call is so far is reassembled, vectorised. So a
turn costs about the same at turn 1,000 as at turn 10. Closing it gives exactly the result of auditing the whole
transcript at once (``close`` runs that audit).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auditor.auditor import Auditor
from auditor.conversation import Conversation, Role, Turn
from auditor.live.incremental import IncrementalScorer
from auditor.live.progress import Alert, AlertTracker, LiveStep, live_steps
from auditor.result import ConversationResult
from auditor.text.artifacts import ConversationArtifacts, TurnArtifacts, is_scored, majority_lang
from auditor.transcripts.problems import TranscriptError
from auditor.transcripts.records import quoted, turn_from_mapping
from auditor.transcripts.roles import known_role


@dataclass(frozen=True)
class CustomerMood:
    """The customer's dissatisfaction as of the last turn: the latest customer turn's score and the call's."""

    current: float | None
    conversation: float
    flagged: bool
    signals: list[str]


@dataclass(frozen=True)
class LiveUpdate:
    """What the caller gets back after each pushed turn."""

    turn_index: int
    turns: int
    steps: list[LiveStep]
    dissatisfaction: CustomerMood | None
    alerts: list[Alert]
    """Alerts raised by this turn (each alert is raised once per session)."""

    @property
    def done(self) -> list[str]:
        return [step.step_id for step in self.steps if step.status in {"done", "late", "out_of_order"}]

    @property
    def overdue(self) -> list[str]:
        return [step.step_id for step in self.steps if step.status == "overdue"]

    @property
    def uncertain(self) -> list[str]:
        """Steps a turn may have done, the auditor is not sure (neither done nor pending)."""
        return [step.step_id for step in self.steps if step.status == "uncertain"]

    @property
    def violated(self) -> list[str]:
        """Forbidden steps said so far."""
        return [step.step_id for step in self.steps if step.status == "violated"]


@dataclass
class LiveSession:
    """One live conversation against one SOP; not thread-safe (the service serialises calls per session)."""

    auditor: Auditor
    conversation_id: str
    agent_id: str | None = None
    lang: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    started_at: str | None = None
    started: float = field(default_factory=time.monotonic)
    turns: list[Turn] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    last_update: LiveUpdate | None = None
    _scored: list[TurnArtifacts] = field(default_factory=list)
    _unit_turn: list[int] = field(default_factory=list)
    _vectors: np.ndarray | None = None
    """Every unit's vector so far in the first rows (``len(_unit_turn)``); the buffer grows by doubling."""
    _tracker: AlertTracker = field(default_factory=AlertTracker)
    _incremental: bool = True
    """False: re-audit the whole call after every turn (the reference the incremental path must agree with)."""
    _live: IncrementalScorer | None = None

    def push(self, raw_turn: Mapping[str, Any]) -> LiveUpdate:
        """Add the next turn (the transcript contract's turn object); raise TranscriptError naming a bad field."""
        return self.push_turn(turn_from_mapping(raw_turn, index=self.next_index, path=f"turns[{self.next_index}]"))

    @property
    def next_index(self) -> int:
        """The index the next pushed turn takes."""
        return len(self.turns)

    def push_turn(self, turn: Turn) -> LiveUpdate:
        """Add the next turn, already checked against the contract (e.g. built once from a validated API body);
        its ``index`` must be ``next_index``."""
        if turn.index != self.next_index:
            raise ValueError(f"turn index {turn.index}, expected {self.next_index}")
        if known_role(turn.speaker) is None:  # never drop a turn silently as an event
            raise TranscriptError(
                f"turns[{turn.index}].speaker: unknown speaker label {quoted(turn.speaker)}: a live turn names its "
                "role (agent or customer, or an event label such as system); a live session cannot infer roles"
            )
        self.turns.append(turn)
        artifacts, vectors = None, None
        if is_scored(turn):
            ordinal = len(self._scored) + 1
            artifacts = self.auditor.builder.prepare_turn(turn, ordinal, ordinal)
            for earlier in self._scored:
                earlier.spoken_from_end += 1
            self._scored.append(artifacts)
            vectors = self.auditor.embedder.encode(artifacts.units)
            self._append_vectors(vectors)
            self._unit_turn += [turn.index] * len(artifacts.units)
        customer = turn.role is Role.CUSTOMER
        whole = self._artifacts()
        if self._incremental:
            if self._live is None:
                self._live = IncrementalScorer(self.auditor)
            self._live.add(turn, artifacts, vectors, whole.lang)
            unhappy = self._live.dissatisfaction(whole) if customer else None
            result = self.auditor.result(whole, self._live.verdicts(whole), unhappy, redact=False)
        else:
            result = self.auditor.score_artifacts(whole, dissatisfaction=customer)
        steps = live_steps(self.auditor.sop, result, whole, self._latest_start())
        mood = _mood(result, self.turns) if customer or self.last_update is None else self.last_update.dissatisfaction
        new_alerts = self._tracker.update(self.auditor.sop, steps, result, turn)
        self.alerts += new_alerts
        self.last_update = LiveUpdate(turn.index, len(self.turns), steps, mood, new_alerts)
        return self.last_update

    def steps(self) -> list[LiveStep]:
        """Every step's live status after the last turn (all pending before the first)."""
        if self.last_update is not None:
            return self.last_update.steps
        return [
            LiveStep(s.id, s.name, "pending", s.required, s.critical, None, 0.0, "not done yet")
            for s in self.auditor.sop.steps
        ]

    def close(self) -> ConversationResult:
        """The final result: the same as auditing the whole transcript, anomaly block included."""
        result = self.auditor.score_artifacts(self._artifacts())
        return self.auditor.attach_anomalies([self.conversation()], [result])[0]

    def conversation(self) -> Conversation:
        return Conversation(
            id=self.conversation_id,
            turns=list(self.turns),
            agent_id=self.agent_id,
            lang=self.lang,
            started_at=self.started_at,
            metadata=dict(self.metadata),
        )

    def _append_vectors(self, vectors: np.ndarray) -> None:
        count, dimension = len(self._unit_turn), vectors.shape[1]
        buffer = self._vectors
        if buffer is None or count + len(vectors) > len(buffer):
            grown = np.zeros((max(64, 2 * (count + len(vectors))), dimension), dtype=vectors.dtype)
            if buffer is not None:
                grown[:count] = buffer[:count]
            self._vectors = buffer = grown
        buffer[count : count + len(vectors)] = vectors

    def _artifacts(self) -> ConversationArtifacts:
        dimension = self.auditor.embedder.dimension
        count = len(self._unit_turn)
        vectors = self._vectors[:count] if self._vectors is not None else np.zeros((0, dimension), dtype=np.float32)
        return ConversationArtifacts(
            conversation=self.conversation(),
            lang=self.lang or majority_lang(self._scored),
            turns=list(self._scored),
            unit_turn=np.asarray(self._unit_turn, dtype=np.int64),
            unit_vectors=vectors,
        )

    def _latest_start(self) -> float | None:
        return next((turn.start for turn in reversed(self.turns) if turn.start is not None), None)


def _mood(result: ConversationResult, turns: list[Turn]) -> CustomerMood | None:
    block = result.dissatisfaction
    if block is None:
        return None
    customer = {turn.index for turn in turns if turn.role is Role.CUSTOMER}
    latest = next((entry for entry in reversed(block.turns) if entry.turn_index in customer), None)
    return CustomerMood(
        current=latest.score if latest else None,
        conversation=block.score,
        flagged=block.flagged,
        signals=list(latest.signals) if latest else [],
    )
