"""Issue 17 items 4-6 and 9: names with titles and in greetings, dates of birth, more phone formats, PII in
metadata and ids are hidden in every file `auditor audit` writes; hostile ids print as text and are not formulas."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app as cli
from auditor.privacy.policy import RedactionPolicy
from auditor.privacy.redaction import redact
from auditor.reports.terminal import csv_safe, markup_safe, printable
from auditor.service import UnknownSopError
from auditor.store.database import open_store
from auditor.store.tables import ConversationRow
from tests.review.factories import CARD_SOP


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("王小明先生您好", "[NAME]先生您好"),
        ("谢谢刘女士", "谢谢[NAME]女士"),
        ("尊敬的王建国先生", "尊敬的[NAME]先生"),
        ("谢谢王经理", "谢谢[NAME]经理"),
        ("张伟您好，请问有什么可以帮您", "[NAME]您好，请问有什么可以帮您"),
        ("我是客服李强，很高兴为您服务", "我是客服[NAME]，很高兴为您服务"),
        ("Hi Daniel Brooks, thanks for calling", "Hi [NAME], thanks for calling"),
        ("Am I speaking with Daniel Brooks?", "Am I speaking with [NAME]?"),
        ("Thank you, Dr. Okafor.", "Thank you, Dr. [NAME]."),
        ("this is daniel brooks speaking", "this is [NAME] speaking"),
        ("My date of birth is 14th of February 1990.", "My date of birth is [DOB]."),
        ("出生日期1985年3月7号。", "出生日期[DOB]。"),
        ("我是85年3月7号出生的", "我是[DOB]出生的"),
        ("Call (02)2345-6789 or 555-0132", "Call [PHONE] or [PHONE]"),
        ("mon numéro: 01 23 45 67 89", "mon numéro: [PHONE]"),
    ],
)
def test_names_dates_of_birth_and_phones_are_hidden(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "谢谢",
        "王牌套餐每月五十元",
        "这位先生请稍等",
        "老先生您好",
        "我先生不在家",
        "我要找你们经理",
        "请找客户经理",
        "你好，周末营业吗",
        "Good morning, Harbourside Bank, how can I help?",
        "Hi there, I'm calling about my bill",
        "Thanks, Bye!",
        "I bought it on 14 February 2020",
        "the 2019-2020 season cost $100-2000",
    ],
)
def test_near_misses_are_kept(text):
    assert redact(text) == text


def test_an_answer_to_a_question_for_name_and_birth_date_is_hidden_by_its_context():
    policy = RedactionPolicy()
    asked = ["Can I have your full name and date of birth, please?", "Daniel Okafor, 14th of February 1990."]
    assert policy.redact_turns(asked)[1] == "[NAME], [DOB]."
    assert policy.redact_turns(["请提供一下您的姓名和卡号后四位。", "赵敏，0825。"])[1] == "[NAME]，0825。"
    assert policy.redact_turns(["How can I help?", "Daniel Okafor, 14th of February 1990."])[1] == (
        "Daniel Okafor, 14th of February 1990."
    )


def test_metadata_ids_and_keys_that_name_personal_data_are_hidden():
    policy = RedactionPolicy()
    metadata = {
        "caller_id": "+8613912345678",
        "ani": 8613912345678,
        "customer_national_id": "AB123456",
        "date_of_birth": "1990-02-14",
        "ticket_id": "T-1042",
        "queue_name": "vip",
        "source": "calls.jsonl",
    }
    assert policy.redact_metadata(metadata) == {
        "caller_id": "[PHONE]",
        "ani": "[PHONE]",
        "customer_national_id": "[ID]",
        "date_of_birth": "[DOB]",
        "ticket_id": "T-1042",
        "queue_name": "vip",
        "source": "calls.jsonl",
    }
    labelled = {"gold_statuses": {"verify_identity": "done", "discuss_account": "missing"}, "account_no": "done-1"}
    assert policy.redact_metadata(labelled) == {
        "gold_statuses": {"verify_identity": "done", "discuss_account": "missing"},  # a step's status, not its data
        "account_no": "[ACCOUNT]",
    }
    assert policy.redact_metadata({"gold_statuses": {"verify_identity": "AB123456"}}) == {
        "gold_statuses": {"verify_identity": "[ID]"}
    }
    assert policy.redact_identifier("a-17") == "a-17"
    hidden = policy.redact_identifier("13812345678")
    assert hidden is not None and hidden.startswith("[PHONE]~") and "13812345678" not in hidden
    assert RedactionPolicy.off().redact_identifier("13812345678") == "13812345678"


def test_an_unknown_sop_error_does_not_echo_a_phone_number():
    assert "13812345678" not in str(UnknownSopError("13812345678", ["complaint-handling"]))
    result = CliRunner().invoke(cli, ["audit", "x.jsonl", "--sop", "13812345678"])
    assert result.exit_code == 2 and "13812345678" not in result.output and "[PHONE]" in result.output


def test_terminal_and_csv_text_is_inert():
    assert printable("a\x1b[31mb\u202ec\x07") == "a\\x1b[31mb\\u202ec\\x07"
    assert markup_safe("[/bold]") == "\\[/bold]"
    assert [csv_safe(v) for v in ("=1+1", "+86 138", "-x", "@SUM(A1)", "\tx", "a-17", "-0.5", 3)] == [
        "'=1+1",
        "'+86 138",
        "'-x",
        "'@SUM(A1)",
        "'\tx",
        "a-17",
        "-0.5",
        3,
    ]


PII = {
    "names": ["王小明", "刘", "张伟", "王建国", "赵敏", "李强", "Daniel Brooks", "Okafor"],
    "other": ["14th of February 1990", "1985年3月7号", "(02)2345-6789", "555-0132", "01 23 45 67 89"],
    "metadata": ["+8613912345678", "AB123456", "13812345678"],
}
HOSTILE_AGENTS = ["[/bold]", "[link=https://evil.example]x[/link]", "a-\x1b]0;pwned\x07", "=HYPERLINK(\"h\",\"y\")"]


def _calls() -> list[dict]:
    turns = [
        {"speaker": "agent", "text": "Hello, welcome to Acme bank. 王小明先生您好，我是客服张伟。"},
        {"speaker": "customer", "text": "谢谢刘女士。我叫王建国，出生日期1985年3月7号。"},
        {"speaker": "agent", "text": "Can I have your full name and date of birth? 请提供一下您的姓名。"},
        {"speaker": "customer", "text": "赵敏，0825。"},
        {"speaker": "agent", "text": "Am I speaking with Daniel Brooks? Your card balance is 40 pounds."},
        {"speaker": "customer", "text": "My date of birth is 14th of February 1990. Call (02)2345-6789 or 555-0132."},
        {"speaker": "agent", "text": "Thank you, Dr. Okafor. 李强您好, 01 23 45 67 89. Anything else? Goodbye."},
    ]
    return [
        {
            "id": f"pii-{index}" if index else "13812345678",
            "agent_id": agent,
            "lang": "en",
            "caller_id": "+8613912345678",
            "customer_national_id": "AB123456",
            "turns": turns,
        }
        for index, agent in enumerate(HOSTILE_AGENTS)
    ]


def test_an_audit_full_of_personal_data_and_hostile_ids_writes_none_of_it(tmp_path: Path):
    source = tmp_path / "calls.jsonl"
    source.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in _calls()), encoding="utf-8")
    sop = tmp_path / "card-check.yaml"
    sop.write_text(CARD_SOP, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["audit", str(source), "--sop", str(sop), "--out", str(out), "--embedder", "hashing"]
    )
    assert result.exit_code == 0, result.output
    assert "[/bold]" in result.output and "\x1b]0;" not in result.output and "\\x1b]0;pwned\\x07" in result.output
    written = {name: (out / name).read_text(encoding="utf-8") for name in ("results.jsonl", "report.html")}
    written |= {path.name: path.read_text(encoding="utf-8") for path in out.glob("*.csv")}
    db = f"sqlite:///{tmp_path / 'review.db'}"
    imported = CliRunner().invoke(
        cli, ["review", "import", str(out / "results.jsonl"), "--transcripts", str(source), "--db", db]
    )
    assert imported.exit_code == 0, imported.output
    store = open_store(db)
    with store.session() as session:
        rows = session.query(ConversationRow).all()
        written["review store"] = json.dumps([row.turns for row in rows], ensure_ascii=False)
        # every conversation keeps its transcript, the one whose id was a phone number (stored [PHONE]~digest) too
        assert len(rows) == len(HOSTILE_AGENTS) and all(row.turns for row in rows)
    store.close()
    queue = CliRunner().invoke(cli, ["review", "queue", "--db", db, "--state", "all"])
    assert queue.exit_code == 0, queue.output
    written["review queue"] = queue.output
    for name, text in written.items():
        for value in (value for values in PII.values() for value in values):
            if value == "刘":
                assert "谢谢刘女士" not in text, name
                continue
            assert value not in text, (name, value)
    assert "[NAME]" in written["report.html"] and "[DOB]" in written["report.html"]
    rows = list(csv.reader((out / "agents.csv").open(encoding="utf-8")))
    assert any(row[0] == "'=HYPERLINK(\"h\",\"y\")" for row in rows)
    assert not any(row[0].startswith(("=", "+", "-", "@")) for row in rows[1:])
