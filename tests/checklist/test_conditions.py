"""Named `when` conditions decide whether a step applies; a table of customer utterances per condition."""

from __future__ import annotations

import pytest

from auditor.checklist.conditions import builtin_conditions
from auditor.text.artifacts import ArtifactBuilder
from tests.conftest import make_conversation


@pytest.fixture(scope="module")
def holds(hashing_embedder, pipelines):
    builder = ArtifactBuilder(hashing_embedder, pipelines)
    conditions = builtin_conditions()

    def check(condition: str, customer_text: str) -> bool:
        artifacts = builder.build(make_conversation([("agent", "Hello, how can I help?"), ("customer", customer_text)]))
        return conditions[condition].evaluate(artifacts, hashing_embedder).holds

    return check


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I want to check the balance of my savings account.", True),
        ("Why is my last bill so high?", True),
        ("Has my direct debit gone out yet?", True),
        ("我想查一下我的账户余额", True),
        ("我的信用卡被锁了", True),
        ("請幫我查一下我的帳戶", True),
        ("What time does the Main Street branch open?", False),
        ("你们营业厅几点开门？", False),
    ],
)
def test_customer_identity_needed(holds, text, expected):
    assert holds("customer_identity_needed", text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("This is unacceptable, I was charged twice!", True),
        ("I want to complain about the engineer.", True),
        ("我要投诉，你们的快递一直没到", True),
        ("我對這次的服務很不滿意", True),
        ("Could you tell me your opening hours?", False),
        ("我想咨询一下营业时间", False),
    ],
)
def test_customer_complaint(holds, text, expected):
    assert holds("customer_complaint", text) is expected
