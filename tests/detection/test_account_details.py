"""The built-in `account_details` detector: disclosed account facts in English and Chinese, agent turns only."""

from __future__ import annotations

import pytest

from auditor.detection.account_details import AccountDetailsDetector
from auditor.detection.sop_index import build_sop_index
from auditor.sop.loading import SopError, sop_from_mapping
from auditor.text.artifacts import ArtifactBuilder
from tests.conftest import make_conversation

SOP = sop_from_mapping(
    {
        "id": "s",
        "name": "S",
        "steps": [
            {"id": "greet", "name": "Greet"},
            {"id": "discuss_account", "name": "Discuss", "detector": "account_details"},
        ],
    }
)


@pytest.fixture(scope="module")
def detect(hashing_embedder, pipelines):
    builder = ArtifactBuilder(hashing_embedder, pipelines)
    index = build_sop_index(SOP, hashing_embedder)

    def run(speaker: str, text: str) -> bool:
        artifacts = builder.build(make_conversation([(speaker, text)]))
        hits = AccountDetailsDetector().detect(artifacts, index)
        assert {hit.step_id for hit in hits} <= {"discuss_account"}, "only the steps that name the detector"
        return bool(hits)

    return run


@pytest.mark.parametrize(
    "speaker, text, expected",
    [
        ("agent", "Your current balance is 1,204.50 pounds.", True),
        ("agent", "I can see a payment of $84.50 going out on the 28th.", True),
        ("agent", "The card ending in 4471 is now blocked.", True),
        ("客服", "您账户的可用余额是3200元。", True),
        ("客服", "您尾号8812的卡昨天有一笔消费。", True),
        ("客服", "您的帳戶餘額還有五千元。", True),
        ("agent", "Can I take your date of birth please?", False),
        ("agent", "Thanks for calling, goodbye!", False),
        ("客服", "请问还有什么可以帮您？", False),
        ("customer", "My balance is 300 dollars, right?", False),
    ],
)
def test_account_details(detect, speaker, text, expected):
    assert detect(speaker, text) is expected


def test_unknown_detector_name_is_an_sop_error():
    with pytest.raises(SopError) as caught:
        sop_from_mapping({"id": "s", "name": "S", "steps": [{"id": "a", "name": "A", "detector": "telepathy"}]})
    problem = caught.value.problems[0]
    assert (problem.code, problem.step_id, problem.field) == ("unknown_detector", "a", "detector")
    assert "account_details" in problem.message


def test_each_step_naming_the_detector_gets_its_hits(hashing_embedder, pipelines):
    sop = sop_from_mapping(
        {
            "id": "s",
            "name": "S",
            "steps": [
                {"id": "first", "name": "First", "detector": "account_details"},
                {"id": "plain", "name": "Plain"},
                {"id": "second", "name": "Second", "detector": "account_details"},
            ],
        }
    )
    turns = [("agent", "Your balance is 40 pounds."), ("customer", "ok"), ("agent", "Card ending in 1234.")]
    artifacts = ArtifactBuilder(hashing_embedder, pipelines).build(make_conversation(turns))
    hits = AccountDetailsDetector().detect(artifacts, build_sop_index(sop, hashing_embedder))
    assert [(hit.step_id, hit.turn_index) for hit in hits] == [("first", 0), ("first", 2), ("second", 0), ("second", 2)]
