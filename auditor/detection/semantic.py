"""Semantic step detector: every (turn, step) pair scored from its features by a calibrated step scorer."""

from __future__ import annotations

from auditor.detection.calibration import StepScorer
from auditor.detection.hits import StepHit
from auditor.detection.pair_features import pair_features
from auditor.detection.sop_index import SopIndex
from auditor.text.artifacts import ConversationArtifacts


class SemanticDetector:
    """Finds steps by meaning, in any language the embedder knows (cross-lingual with USE-m)."""

    name = "semantic"
    version = "2"

    def __init__(self, scorer: StepScorer):
        self.scorer = scorer

    def candidates(self, artifacts: ConversationArtifacts, index: SopIndex) -> list[StepHit]:
        """Every (turn, step) pair whose speaker fits the step, with its probability, thresholded or not."""
        features = pair_features(artifacts, index, self.scorer.description_offset)
        if not len(features.matrix):
            return []
        probabilities = self.scorer.probabilities(features)
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
