"""The shipped step scorer gives sklearn's probabilities through its folded numpy path."""

from __future__ import annotations

import numpy as np

from auditor.detection.pair_features import FEATURE_NAMES, PairFeatures
from auditor.detection.trained_scorer import TrainedStepScorer
from auditor.model_files import STEP_SCORER


def test_folded_probabilities_equal_the_pipeline():
    scorer = TrainedStepScorer.load(STEP_SCORER.folder())
    assert scorer._linear is not None, "the shipped pipeline should be folded into numpy"
    matrix = np.random.default_rng(0).uniform(-1, 1, size=(200, len(FEATURE_NAMES)))
    features = PairFeatures(np.zeros(200, int), np.zeros(200, int), np.zeros(200, int), matrix)
    expected = scorer.estimator.predict_proba(matrix)[:, 1]
    assert np.allclose(scorer.probabilities(features), expected, atol=1e-12)
