"""The shipped detector in auditor/models/anomaly loads with the explicit trusted types and explains an odd
conversation."""

from __future__ import annotations

import pytest

from auditor.anomaly.detector import load_default_detector
from auditor.anomaly.features import FEATURE_NAMES, conversation_features
from auditor.model_files import ANOMALY
from tests.anomaly.factories import make_result
from tests.conftest import make_conversation

pytestmark = pytest.mark.slow

if not (ANOMALY.folder() / ANOMALY.model_file).exists():
    pytest.skip(f"no shipped anomaly detector at {ANOMALY.folder()}", allow_module_level=True)


def test_shipped_detector_flags_a_conversation_where_the_agent_never_speaks():
    detector = load_default_detector()
    assert detector is not None
    assert set(detector.feature_names) <= set(FEATURE_NAMES)
    conversation = make_conversation([("customer", "Hello? I need a taxi to the airport, is anyone there?")] * 4)
    result = make_result({"greet": "missing", "ask": "missing", "book": "missing", "close": "missing"}, score=0.0)
    anomaly = detector.score(conversation_features(conversation, result))
    assert anomaly.flagged and anomaly.score >= 0.95
    assert any("agent talk share 0%" in reason for reason in anomaly.reasons)


def test_the_shipped_forest_scores_exactly_as_scikit_learn_does():
    import numpy as np

    from auditor.anomaly.detector import load_default_detector

    detector = load_default_detector()
    assert detector is not None and detector._forest is not None, "the shipped pipeline should take the fast path"
    medians = np.asarray([detector.metadata.baselines[name].median for name in detector.feature_names])
    rows = medians + np.random.default_rng(1).normal(0, 2, size=(300, len(medians)))
    expected = -detector.estimator.score_samples(rows)
    assert np.array_equal(detector._raw(rows), expected)
