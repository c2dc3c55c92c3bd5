"""The per-turn work of auditing a live call, done once per turn: a new turn costs about the same at turn 1,000 as
at turn 10.

What a turn contributes on its own is computed when it arrives and kept: its units' similarities to the SOP's
steps and its best unit per step (``PairFeatureBuilder``), the step detectors' hits in it (keywords, the named
detectors: each judges a turn on that turn alone), the conditions' evidence (``ConditionTracker``), its
dissatisfaction signals, turn row and cosine to the earlier customer turns (``LiveDissatisfaction``). What depends
on the whole call so far is reassembled, vectorised, after every turn: the pair features that move as the call grows
(a turn's place in it, which turn is a step's best), the step scorer's probabilities, the verdicts with their order
and position rules, the dissatisfaction models. The verdicts are those of ``Auditor.score_artifacts`` on the call so
far (``tests/live`` checks every update of the corpus calls).
"""

from __future__ import annotations

import numpy as np

from auditor.auditor import Auditor
from auditor.checklist.conditions import ConditionTracker
from auditor.checklist.verdicts import ChecklistOutcome
from auditor.conversation import Conversation, Turn
from auditor.detection.hits import StepHit
from auditor.detection.pair_features import PairFeatureBuilder
from auditor.dissatisfaction.live import LiveDissatisfaction
from auditor.dissatisfaction.model import DissatisfactionOutcome
from auditor.text.artifacts import ConversationArtifacts, TurnArtifacts


class IncrementalScorer:
    """One live call's per-turn results, for one auditor."""

    def __init__(self, auditor: Auditor):
        self.auditor = auditor
        self.pairs = PairFeatureBuilder(auditor.index, auditor.semantic.scorer.description_offset)
        self.detected: list[list[StepHit]] = [[] for _detector in auditor.detectors]
        """The hits of each of ``auditor.detectors`` so far, in order."""
        self.conditions = {
            name: ConditionTracker(auditor.conditions[name], auditor.embedder) for name in auditor.needed_conditions
        }
        scorer = auditor.dissatisfaction
        self.unhappy = LiveDissatisfaction(scorer, auditor.embedder.dimension) if scorer is not None else None

    def add(self, turn: Turn, artifacts: TurnArtifacts | None, vectors: np.ndarray | None, lang: str) -> None:
        """The next turn; ``artifacts`` and ``vectors`` (its units') when it is a scored (spoken, with text) one."""
        if self.unhappy is not None:
            self.unhappy.add(turn, artifacts, vectors)
        if artifacts is None or vectors is None:
            return
        auditor = self.auditor
        self.pairs.add(artifacts, vectors)
        alone = ConversationArtifacts(
            Conversation("live", [turn]), lang, [artifacts], np.full(len(vectors), turn.index), vectors
        )
        for hits, detector in zip(self.detected, auditor.detectors, strict=True):
            hits += detector.detect(alone, auditor.index)
        for tracker in self.conditions.values():
            tracker.add(artifacts, vectors)

    def verdicts(self, artifacts: ConversationArtifacts) -> ChecklistOutcome:
        """Every step's verdict on the call so far (``artifacts``: all of it)."""
        conditions = {name: tracker.outcome() for name, tracker in self.conditions.items()}
        return self.auditor.verdicts(artifacts, self.pairs.features(), self.detected, conditions)

    def dissatisfaction(self, artifacts: ConversationArtifacts) -> DissatisfactionOutcome | None:
        return self.unhappy.score(artifacts) if self.unhappy is not None else None
