"""Keyword (phrase) detection: exact phrases in English and Chinese, traditional text, the step's speaker only."""

from __future__ import annotations

import pytest

from auditor.detection.phrase import PhraseDetector
from auditor.detection.sop_index import build_sop_index
from auditor.sop.loading import sop_from_mapping
from auditor.text.artifacts import ArtifactBuilder
from tests.conftest import make_conversation

SOP = sop_from_mapping(
    {
        "id": "kw",
        "name": "Keywords",
        "steps": [
            {"id": "verify_identity", "name": "Verify", "keywords": ["date of birth", "核实您的身份", "身份证后四位"]},
            {"id": "apologize", "name": "Apologise", "keywords": ["sorry for", "非常抱歉"]},
            {"id": "thank", "name": "Thank", "keywords": ["thank you"], "speaker": "customer"},
        ],
    }
)


@pytest.fixture(scope="module")
def detect(hashing_embedder, pipelines):
    index = build_sop_index(SOP, hashing_embedder)
    builder = ArtifactBuilder(hashing_embedder, pipelines)
    detector = PhraseDetector(pipelines)

    def run(turns):
        artifacts = builder.build(make_conversation(turns))
        return sorted((hit.step_id, hit.turn_index) for hit in detector.detect(artifacts, index))

    return run


@pytest.mark.parametrize(
    "turns, expected",
    [
        ([("agent", "Can I have your Date of Birth please?")], [("verify_identity", 0)]),
        ([("agent", "我需要核实您的身份")], [("verify_identity", 0)]),
        ([("客服", "我需要核實您的身分")], [("verify_identity", 0)]),  # traditional + 身分 variant
        ([("agent", "麻烦您报一下身份证后四位")], [("verify_identity", 0)]),
        (
            [("agent", "I'm so sorry for the wait, what's your date of birth?")],
            [("apologize", 0), ("verify_identity", 0)],
        ),
        ([("customer", "My date of birth is 1 May")], []),  # customer words are not agent evidence
        ([("customer", "thank you so much"), ("agent", "thank you")], [("thank", 0)]),  # customer-speaker step
        ([("system", "date of birth field shown")], []),  # events are never evidence
        ([("agent", "The birth date on file is wrong")], []),  # no exact phrase
        ([("agent", "好的，请告诉我您的date of birth")], [("verify_identity", 0)]),  # mixed script
    ],
)
def test_phrase_hits(detect, turns, expected):
    assert detect(turns) == expected
