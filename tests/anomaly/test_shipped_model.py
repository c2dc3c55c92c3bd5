"""The shipped detector in models/anomaly loads with the explicit trusted types and explains an odd conversation."""

from __future__ import annotations

import pytest

from auditor.anomaly.detector import DEFAULT_MODEL_DIR, MODEL_FILE, load_default_detector
from auditor.anomaly.features import FEATURE_NAMES, conversation_features
from tests.anomaly.factories import make_result
from tests.conftest import make_conversation

pytestmark = pytest.mark.slow

if not (DEFAULT_MODEL_DIR / MODEL_FILE).exists():
    pytest.skip(f"no shipped anomaly detector at {DEFAULT_MODEL_DIR}", allow_module_level=True)


def test_shipped_detector_flags_a_conversation_where_the_agent_never_speaks():
    detector = load_default_detector()
    assert detector is not None
    assert set(detector.feature_names) <= set(FEATURE_NAMES)
    conversation = make_conversation([("customer", "Hello? I need a taxi to the airport, is anyone there?")] * 4)
    result = make_result({"greet": "missing", "ask": "missing", "book": "missing", "close": "missing"}, score=0.0)
    anomaly = detector.score(conversation_features(conversation, result))
    assert anomaly.flagged and anomaly.score >= 0.95
    assert any("agent talk share 0%" in reason for reason in anomaly.reasons)
