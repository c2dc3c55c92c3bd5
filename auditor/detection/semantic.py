"""Semantic step detector: cosine of turn sentences to step examples/descriptions, scored relative to other steps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from auditor.detection.calibration import SemanticCalibration
from auditor.detection.hits import StepHit
from auditor.detection.sop_index import SopIndex
from auditor.text.artifacts import ConversationArtifacts, TurnArtifacts
from auditor.transcripts.roles import Role


@dataclass
class UnitScores:
    """Per text unit (rows) and step (columns): best similarity and margin over the other steps."""

    sim: np.ndarray
    margin: np.ndarray


def score_units(unit_vectors: np.ndarray, index: SopIndex, description_offset: float) -> UnitScores:
    """Similarity of every unit to every step, then each step's margin over the best other step."""
    columns = []
    for prototypes in index.steps:
        best = np.full(len(unit_vectors), -1.0, dtype=np.float32)
        if len(prototypes.example_vectors):
            best = np.maximum(best, (unit_vectors @ prototypes.example_vectors.T).max(axis=1))
        if len(prototypes.description_vectors):
            described = (unit_vectors @ prototypes.description_vectors.T).max(axis=1) + description_offset
            best = np.maximum(best, described)
        columns.append(best)
    sim = np.stack(columns, axis=1) if columns else np.zeros((len(unit_vectors), 0), dtype=np.float32)
    if sim.shape[1] < 2:
        return UnitScores(sim, np.zeros_like(sim))
    top_two = -np.sort(-sim, axis=1)[:, :2]
    best_other = np.where(sim >= top_two[:, [0]], top_two[:, [1]], top_two[:, [0]])
    return UnitScores(sim, sim - best_other)


def position_gap(turn_artifacts: TurnArtifacts, step_position: int, step_count: int) -> float:
    """Distance between the turn's relative place in the conversation and the step's place in the SOP."""
    spoken = turn_artifacts.spoken_ordinal + turn_artifacts.spoken_from_end - 1
    turn_place = (turn_artifacts.spoken_ordinal - 0.5) / spoken
    step_place = (step_position + 0.5) / step_count
    return abs(turn_place - step_place)


class SemanticDetector:
    """Finds steps by meaning, in any language the embedder knows (cross-lingual with USE-m)."""

    name = "semantic"
    version = "1"

    def __init__(self, calibration: SemanticCalibration):
        self.calibration = calibration

    def candidates(self, artifacts: ConversationArtifacts, index: SopIndex) -> list[StepHit]:
        """Best-scoring unit of every (turn, step) pair whose speaker fits the step, thresholded or not."""
        scores = score_units(artifacts.unit_vectors, index, self.calibration.description_offset)
        hits: list[StepHit] = []
        for column, prototypes in enumerate(index.steps):
            role = Role(prototypes.step.speaker)
            for turn_artifacts in artifacts.turns:
                if turn_artifacts.turn.role is not role:
                    continue
                rows = np.flatnonzero(artifacts.unit_turn == turn_artifacts.turn.index)
                if not len(rows):
                    continue
                gap = position_gap(turn_artifacts, column, len(index.steps))
                has_examples = bool(len(prototypes.example_vectors))
                probabilities = [
                    self.calibration.probability(
                        float(scores.sim[row, column]), float(scores.margin[row, column]), gap, has_examples
                    )
                    for row in rows
                ]
                best = int(np.argmax(probabilities))
                row = rows[best]
                hits.append(
                    StepHit(
                        step_id=prototypes.step.id,
                        turn_index=turn_artifacts.turn.index,
                        text=turn_artifacts.turn.text,
                        score=round(float(scores.sim[row, column]), 4),
                        confidence=round(probabilities[best], 4),
                        method=self.name,
                    )
                )
        return hits

    def detect(self, artifacts: ConversationArtifacts, index: SopIndex) -> list[StepHit]:
        return [hit for hit in self.candidates(artifacts, index) if hit.confidence >= self.calibration.threshold]
