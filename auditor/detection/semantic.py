"""Semantic step detector: every (turn, step) pair scored from its features by a calibrated step scorer."""

from __future__ import annotations

import numpy as np

from auditor.detection.calibration import StepScorer
from auditor.detection.hits import StepHit
from auditor.detection.pair_features import PairFeatures, pair_features
from auditor.detection.sop_index import SopIndex
from auditor.text.artifacts import ConversationArtifacts

ROUNDING = 1e-4
"""Confidences are rounded to 4 decimals: a raw probability this far below a bound may still round up to it."""


class SemanticDetector:
    """Finds steps by meaning, in any language the embedder knows (cross-lingual with USE-m)."""

    name = "semantic"
    version = "2"

    def __init__(self, scorer: StepScorer, one_step_per_unit: bool = True):
        self.scorer = scorer
        self.one_step_per_unit = one_step_per_unit

    def probabilities(self, features: PairFeatures, index: SopIndex) -> np.ndarray:
        """P(the row's turn performs the row's step) for every feature row, one step per unit when asked."""
        probabilities = self.scorer.probabilities(features)
        if self.one_step_per_unit:
            forbidden = np.asarray([p.step.forbidden for p in index.steps], dtype=bool)[features.step_columns]
            probabilities = best_step_per_unit(probabilities, features.unit_rows, forbidden)
        return probabilities

    def candidates(self, artifacts: ConversationArtifacts, index: SopIndex) -> list[StepHit]:
        """Every (turn, step) pair whose speaker fits the step, with its probability, thresholded or not."""
        features = pair_features(artifacts, index, self.scorer.description_offset)
        if not len(features.matrix):
            return []
        probabilities = self.probabilities(features, index)
        return [self._hit(features, probabilities, row, artifacts, index) for row in range(len(features.matrix))]

    def hits_and_closest(
        self, features: PairFeatures, artifacts: ConversationArtifacts, index: SopIndex, floor: float
    ) -> tuple[list[StepHit], list[StepHit]]:
        """The candidates at ``floor`` or above, and each step's closest candidate (the first most confident, in
        the order of ``candidates``): all the verdicts read of the candidates, without a hit for every pair."""
        if not len(features.matrix):
            return [], []
        probabilities = self.probabilities(features, index)
        maybe = np.flatnonzero(probabilities >= floor - ROUNDING)
        confidences = rounded(probabilities[maybe])
        keep = maybe[np.asarray(confidences, dtype=np.float64) >= floor] if len(maybe) else maybe
        kept = [c for c in confidences if c >= floor]
        steps = [p.step.id for p in index.steps]
        columns = features.step_columns[keep].tolist()
        turns = features.turn_indices[keep].tolist()
        scores = rounded(features.matrix[keep, 0])
        hits = [
            StepHit(steps[column], turn, artifacts.turn(turn).turn.text, score, confidence, self.name)
            for column, turn, score, confidence in zip(columns, turns, scores, kept, strict=True)
        ]
        closest = []
        columns_all = features.step_columns
        for column in np.unique(columns_all).tolist():
            rows = np.flatnonzero(columns_all == column)
            top = probabilities[rows].max()
            near = rows[probabilities[rows] >= top - ROUNDING].tolist()
            best = max(near, key=lambda row: (round(float(probabilities[row]), 4), -row))
            closest.append(self._hit(features, probabilities, best, artifacts, index))
        return hits, closest

    def _hit(
        self,
        features: PairFeatures,
        probabilities: np.ndarray,
        row: int,
        artifacts: ConversationArtifacts,
        index: SopIndex,
    ) -> StepHit:
        turn_index = int(features.turn_indices[row])
        return StepHit(
            step_id=index.steps[int(features.step_columns[row])].step.id,
            turn_index=turn_index,
            text=artifacts.turn(turn_index).turn.text,
            score=round(float(features.matrix[row, 0]), 4),
            confidence=round(float(probabilities[row]), 4),
            method=self.name,
        )

    def detect(self, artifacts: ConversationArtifacts, index: SopIndex) -> list[StepHit]:
        return [hit for hit in self.candidates(artifacts, index) if hit.confidence >= self.scorer.threshold]


def rounded(values: np.ndarray, digits: int = 4) -> list[float]:
    """``[round(float(v), digits) for v in values]``, vectorised: numpy's rounding agrees with Python's but where
    the scaled value lies within a hair of a half, and those few are rounded by Python."""
    scale = 10.0**digits
    scaled = np.asarray(values, dtype=np.float64) * scale
    result = (np.rint(scaled) / scale).tolist()
    for position in np.flatnonzero(np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6).tolist():
        result[position] = round(float(values[position]), digits)
    return result


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
