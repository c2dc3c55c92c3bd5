"""Semantic step detector: every (turn, step) pair scored from its features by a calibrated step scorer."""

from __future__ import annotations

import numpy as np

from auditor.detection.calibration import StepScorer
from auditor.detection.hits import StepHit
from auditor.detection.pair_features import pair_features
from auditor.detection.sop_index import SopIndex
from auditor.text.artifacts import ConversationArtifacts


class SemanticDetector:
    """Finds steps by meaning, in any language the embedder knows (cross-lingual with USE-m)."""

    name = "semantic"
    version = "2"

    def __init__(self, scorer: StepScorer, one_step_per_unit: bool = True):
        self.scorer = scorer
        self.one_step_per_unit = one_step_per_unit

    def candidates(self, artifacts: ConversationArtifacts, index: SopIndex) -> list[StepHit]:
        """Every (turn, step) pair whose speaker fits the step, with its probability, thresholded or not."""
        features = pair_features(artifacts, index, self.scorer.description_offset)
        if not len(features.matrix):
            return []
        probabilities = self.scorer.probabilities(features)
        if self.one_step_per_unit:
            forbidden = np.asarray([p.step.forbidden for p in index.steps], dtype=bool)[features.step_columns]
            probabilities = best_step_per_unit(probabilities, features.unit_rows, forbidden)
        sims = features.column("sim")
        hits = []
        for row, (turn_index, column) in enumerate(zip(features.turn_indices, features.step_columns, strict=True)):
            hits.append(
                StepHit(
                    step_id=index.steps[int(column)].step.id,
                    turn_index=int(turn_index),
                    text=artifacts.turn(int(turn_index)).turn.text,
                    score=round(float(sims[row]), 4),
                    confidence=round(float(probabilities[row]), 4),
                    method=self.name,
                )
            )
        return hits

    def detect(self, artifacts: ConversationArtifacts, index: SopIndex) -> list[StepHit]:
        return [hit for hit in self.candidates(artifacts, index) if hit.confidence >= self.scorer.threshold]


def best_step_per_unit(
    probabilities: np.ndarray, unit_rows: np.ndarray, exempt: np.ndarray | None = None
) -> np.ndarray:
    """A sentence performs one step: pairs that lean on the same text unit keep only the most probable step.

    The others keep a tenth of their probability, so they still show as the closest candidate of a missing
    step but no longer count as evidence. A turn still performs several steps when different sentences do.
    ``exempt`` rows (forbidden steps: saying a forbidden thing is found whatever else the sentence does) neither
    compete nor are suppressed.
    """
    exempt = np.zeros(len(probabilities), dtype=bool) if exempt is None else exempt
    best = np.zeros(int(unit_rows.max()) + 1 if len(unit_rows) else 0)
    np.maximum.at(best, unit_rows, np.where(exempt, 0.0, probabilities))
    return np.where(exempt | (probabilities >= best[unit_rows]), probabilities, probabilities * 0.1)
