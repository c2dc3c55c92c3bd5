"""The act check: after detection, read what the agent did toward the step in each evidence turn.

A hit whose turn only refuses, cannot do, skips, offers or promises the step, or that is closer to one of the step's
counter-examples than to the step itself, keeps its place as evidence but no longer performs the step. Cue words
count only in the clauses that carry the step: when a turn has several clauses and one of them shows a cue the
step does not accept, the clauses are embedded (a few per such turn) and compared with the step's texts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from auditor.detection.act_model import ActModel
from auditor.detection.acts import OUTCOME_NEGATIVE, StepActs, content_keys, judge_turn, read_turn, step_acts
from auditor.detection.hits import StepHit
from auditor.detection.pair_features import step_similarities
from auditor.detection.sop_index import SopIndex, StepPrototypes
from auditor.embeddings.base import Embedder
from auditor.result import Act
from auditor.text.artifacts import ConversationArtifacts

Judged = tuple[Act, str | None, bool]
"""A hit's act, the reason a coach reads, and whether the act performs the step."""
PERFORMS: Judged = ("performed", None, True)
MEMO_ENTRIES = 50_000
"""(turn text, step) judgements kept per SOP: a few MB; the oldest go first."""


class ActCheck:
    """Marks each hit with its act and whether it performs the step (``StepHit.performs``)."""

    name = "act-check"
    version = "1"

    def __init__(
        self,
        index: SopIndex,
        embedder: Embedder,
        *,
        description_offset: float = 0.05,
        relevance_margin: float = 0.1,
        act_model: ActModel | None = None,
    ):
        """``relevance_margin``: a clause carries the step when its similarity to the step's texts is within this
        of the turn's best clause; ``act_model``: the learned check of turns the cues read as plain performances."""
        self.index = index
        self.embedder = embedder
        self.description_offset = description_offset
        self.relevance_margin = relevance_margin
        self.act_model = act_model
        self.prototypes: dict[str, StepPrototypes] = {p.step.id: p for p in index.steps}
        self.acts: dict[str, StepActs] = {p.step.id: step_acts(p.step) for p in index.steps}
        self._memo: dict[tuple[str, str], Judged] = {}

    @staticmethod
    def clause_texts(text: str) -> list[str]:
        """The clauses of a turn the check may need to embed (a turn of several clauses with some cue word), so a
        caller can embed them in the call that embeds the turn's units (they are then cached by text)."""
        readings = read_turn(text)
        if len(readings) < 2 or all(r.act == "performed" and r.scope is None for r in readings):
            return []
        return [r.clause for r in readings]

    def prefetch(self, artifacts: Sequence[ConversationArtifacts]) -> None:
        """Embed the clauses every conversation's act check may need in one call (cached by text for ``annotate``)."""
        texts = [c for built in artifacts for turn in built.turns for c in self.clause_texts(turn.turn.text)]
        if texts:
            self.embedder.encode(texts)

    def annotate(self, hits: Sequence[StepHit], artifacts: ConversationArtifacts) -> list[StepHit]:
        """Every hit with its act; a (turn text, step) pair is judged once and remembered (a live call re-scores
        the whole transcript after each turn, and scripted lines repeat across calls)."""
        checked = []
        for hit in hits:
            if hit.step_id not in self.prototypes:
                checked.append(hit)
                continue
            key = (hit.text, hit.step_id)
            judged = self._memo.get(key)
            if judged is None:
                judged = self._judge(hit, artifacts)
                if len(self._memo) >= MEMO_ENTRIES:
                    self._memo.pop(next(iter(self._memo)))
                self._memo[key] = judged
            act, reason, performs = judged
            checked.append(hit if judged == PERFORMS else hit.but(act=act, act_reason=reason, performs=performs))
        return checked

    def _judge(self, hit: StepHit, artifacts: ConversationArtifacts) -> Judged:
        """What the hit's turn did toward its step: a counter-example, the cues in the clauses that carry the step,
        then the learned check of a plain performance."""
        prototypes = self.prototypes[hit.step_id]
        units = artifacts.unit_vectors[artifacts.unit_turn == hit.turn_index]
        if len(prototypes.counter_vectors) and (countered := self._counter_example(prototypes, units)) is not None:
            return countered
        readings = list(read_turn(hit.text))
        acts = self.acts[hit.step_id]
        relevant = [True] * len(readings)
        if len(readings) > 1 and any(not acts.performs(r.act) for r in readings):
            relevant = self._relevant(self.embedder.encode([r.clause for r in readings]), prototypes)
            # a clause that skips something the step's own texts name ("身份验证就免了", "skip the security
            # questions") carries the step however close another clause of the turn is to it
            relevant = [
                keep or (r.act == "skipped" and bool(content_keys(r.clause) & acts.content))
                for r, keep in zip(readings, relevant, strict=True)
            ]
        verdict = judge_turn(readings, relevant, acts)
        model = self.act_model
        if (
            model is not None
            and verdict.performs
            and verdict.act == "performed"
            and not (acts.accepted & OUTCOME_NEGATIVE)
            and len(units)
        ):
            p = float(model.probabilities(units[:1])[0])  # the turn's first unit is its whole text
            if p >= model.threshold:
                reason = f"mentioned: the act model reads this turn as talking about the step, not doing it ({p:.2f})"
                return ("mentioned", reason, False)
        return (verdict.act, verdict.reading.reason, verdict.performs)

    def _similarities(self, vectors: np.ndarray, prototypes: StepPrototypes) -> np.ndarray:
        """Each row's similarity to the step, as the pair features measure it."""
        return step_similarities(vectors, prototypes, self.description_offset).combined

    def _relevant(self, vectors: np.ndarray, prototypes: StepPrototypes) -> list[bool]:
        sims = self._similarities(vectors, prototypes)
        return [bool(value >= sims.max() - self.relevance_margin) for value in sims]

    def _counter_example(self, prototypes: StepPrototypes, units: np.ndarray) -> Judged | None:
        """Credit refused when the turn's unit most like the step is closer to a counter-example than to it."""
        if not len(units):
            return None
        own = self._similarities(units, prototypes)
        row = int(np.argmax(own))  # the unit that carries the step: another sentence of the turn is not its evidence
        counter = units[row] @ prototypes.counter_vectors.T
        column = int(np.argmax(counter))
        if counter[column] <= own[row]:
            return None
        text = prototypes.counter_texts[column]
        reason = (
            f"closer to the counter-example {text!r} ({counter[column]:.2f}) than to the step ({own[row]:.2f})"
        )
        return ("counter_example", reason, False)
