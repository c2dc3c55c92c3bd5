"""The act check: after detection, read what the agent did toward the step in each evidence turn.

A hit whose turn only refuses, cannot do, skips, offers or promises the step, or that is closer to one of the step's
counter-examples than to the step itself, keeps its place as evidence but no longer performs the step. Cue words
count only in the clauses that carry the step: when a turn has several clauses and one of them shows a cue the
step does not accept, the clauses are embedded (a few per such turn) and compared with the step's texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from auditor.detection.act_model import ActModel
from auditor.detection.acts import OUTCOME_NEGATIVE, ActReading, StepActs, clauses, judge_turn, read_clause, step_acts
from auditor.detection.hits import StepHit
from auditor.detection.sop_index import SopIndex, StepPrototypes
from auditor.embeddings.base import Embedder
from auditor.text.artifacts import ConversationArtifacts
from auditor.text.normalise import normalise_text


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

    def annotate(self, hits: Sequence[StepHit], artifacts: ConversationArtifacts) -> list[StepHit]:
        readings: dict[int, list[ActReading]] = {}
        turn_units: dict[int, np.ndarray] = {}
        clause_vectors: dict[int, np.ndarray] = {}
        checked = []
        for hit in hits:
            prototypes = self.prototypes.get(hit.step_id)
            if prototypes is None:
                checked.append(hit)
                continue
            if len(prototypes.counter_vectors):
                if hit.turn_index not in turn_units:
                    turn_units[hit.turn_index] = artifacts.unit_vectors[artifacts.unit_turn == hit.turn_index]
                countered = self._counter_example(hit, prototypes, turn_units[hit.turn_index])
                if countered is not None:
                    checked.append(countered)
                    continue
            if hit.turn_index not in readings:
                readings[hit.turn_index] = [read_clause(c) for c in clauses(normalise_text(hit.text))]
            turn_readings = readings[hit.turn_index]
            acts = self.acts[hit.step_id]
            relevant = [True] * len(turn_readings)
            if len(turn_readings) > 1 and any(not acts.performs(r.act) for r in turn_readings):
                if hit.turn_index not in clause_vectors:
                    clause_vectors[hit.turn_index] = self.embedder.encode([r.clause for r in turn_readings])
                relevant = self._relevant(clause_vectors[hit.turn_index], prototypes)
            verdict = judge_turn(turn_readings, relevant, acts)
            checked.append(replace(hit, act=verdict.act, act_reason=verdict.reading.reason, performs=verdict.performs))
        return self._learned_check(checked, artifacts)

    def _learned_check(self, hits: list[StepHit], artifacts: ConversationArtifacts) -> list[StepHit]:
        """Hits read as plain performances that the act model says only talk about the step: left to a person."""
        model = self.act_model
        if model is None:
            return hits
        open_to = [
            i
            for i, hit in enumerate(hits)
            if hit.performs
            and hit.act == "performed"
            and hit.step_id in self.acts
            and not (self.acts[hit.step_id].accepted & OUTCOME_NEGATIVE)
        ]
        if not open_to:
            return hits
        turns = sorted({hits[i].turn_index for i in open_to})
        vectors = artifacts.whole_turn_vectors()
        probabilities = dict(zip(turns, model.probabilities(np.stack([vectors[t] for t in turns])), strict=True))
        checked = list(hits)
        for i in open_to:
            p = float(probabilities[hits[i].turn_index])
            if p >= model.threshold:
                reason = f"mentioned: the act model reads this turn as talking about the step, not doing it ({p:.2f})"
                checked[i] = replace(hits[i], act="mentioned", act_reason=reason, performs=False)
        return checked

    def _similarities(self, vectors: np.ndarray, prototypes: StepPrototypes) -> np.ndarray:
        """Each row's similarity to the step, as the pair features measure it (examples, or description + offset)."""
        best = np.full(len(vectors), -1.0)
        if len(prototypes.example_vectors):
            best = np.maximum(best, (vectors @ prototypes.example_vectors.T).max(axis=1))
        if len(prototypes.description_vectors):
            described = (vectors @ prototypes.description_vectors.T).max(axis=1) + self.description_offset
            best = np.maximum(best, described)
        return best

    def _relevant(self, vectors: np.ndarray, prototypes: StepPrototypes) -> list[bool]:
        sims = self._similarities(vectors, prototypes)
        return [bool(value >= sims.max() - self.relevance_margin) for value in sims]

    def _counter_example(self, hit: StepHit, prototypes: StepPrototypes, units: np.ndarray) -> StepHit | None:
        """The hit refused credit when a unit of its turn is closer to a counter-example than to the step."""
        if not len(units):
            return None
        own = self._similarities(units, prototypes)
        counter = units @ prototypes.counter_vectors.T
        row = int(np.argmax(counter.max(axis=1) - own))
        column = int(np.argmax(counter[row]))
        if counter[row, column] <= own[row]:
            return None
        text = prototypes.counter_texts[column]
        reason = (
            f"closer to the counter-example {text!r} ({counter[row, column]:.2f}) than to the step ({own[row]:.2f})"
        )
        return replace(hit, act="counter_example", act_reason=reason, performs=False)
