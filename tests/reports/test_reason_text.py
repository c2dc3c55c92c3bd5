"""The auditor's own sentences (step reasons, act notes, queue and anomaly reasons) in the reader's language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.reports.reasons import ReasonText, feature_phrases_covered
from auditor.result import ConversationResult
from auditor.risk import assess
from tests.conftest import REPO

runner = CliRunner()
NAMES = {"verify_identity": "核实客户身份", "freeze_card": "冻结银行卡"}


def latin_words(text: str) -> list[str]:
    """English words left in a Chinese sentence, less what it quotes (“…”), step names (「…」) and "SOP"."""
    return re.findall(r"[A-Za-z]{3,}", re.sub(r"“[^”]*”|「[^」]*」|SOP", "", text))


@pytest.mark.parametrize(
    ("english", "simplified"),
    [
        (
            "no turn performs this step; closest: turn 4 (confidence 0.31)",
            "没有任何一轮执行此步骤；最接近的是第 4 轮（置信度 0.31）",
        ),
        ("optional step not performed (not scored)", "可选步骤未执行（不计分）"),
        (
            'not performed: turn 6 refused (refused: "can\'t" in "I can\'t freeze it by phone")',
            "未执行：第 6 轮拒绝（“I can't freeze it by phone”中的“can't”）",
        ),
        ("expected before freeze_card, verify_identity", "应在「冻结银行卡」、「核实客户身份」之前"),
        ("critical step out of order: verify_identity", "关键步骤顺序错误：「核实客户身份」"),
        ("critical step missed: freeze_card", "关键步骤缺失：「冻结银行卡」"),
        ("2 low-confidence verdicts", "2 个低置信度判定"),
        (
            "unusual conversation (0.97: 2 steps late (baseline median 0, p95 1); agent turns average 12.3 words "
            "(baseline median 17.4, p5 13.2))",
            "会话异常（0.97：2 个步骤超时（基线中位数 0，第 95 百分位 1）；"
            "坐席每轮平均 12.3 个词（基线中位数 17.4，第 5 百分位 13.2））",
        ),
        (
            "condition 'customer_complaint' does not hold: no customer turn matched its patterns or examples",
            "条件 “客户投诉” 不成立：没有客户发言符合其模式或示例",
        ),
    ],
)
def test_sentences_read_in_chinese_with_step_names_and_quotes_kept(english: str, simplified: str) -> None:
    assert ReasonText("zh-Hans", NAMES)(english) == simplified
    assert ReasonText("en", NAMES)(english) == english  # English shows as written, ids and all


def test_traditional_converts_the_sentence_not_the_quoted_words() -> None:
    say = ReasonText("zh-Hant", NAMES)
    shown = say("only turn 3 promised (promised: '稍后' in '稍后给您发短信'): not done in this call")
    assert (
        shown == "只有第 3 輪承諾稍後辦理（“稍后给您发短信”中的“稍后”）：本通話中並未執行"
    )  # the call's words as said


def test_act_notes_name_the_act_once() -> None:
    say = ReasonText("zh-Hans")
    assert say.act_note("asked", "asked: '请问' in '请问有什么可以帮您?'") == "询问：“请问有什么可以帮您?”中的“请问”"
    assert say.act_note("not_available", None) == "表示不提供"
    assert say.act_note("performed", "anything") is None
    english = ReasonText("en")
    assert (
        english.act_note("asked", "asked: '请问' in '请问有什么可以帮您?'") == "asked: '请问' in '请问有什么可以帮您?'"
    )


def test_a_sentence_no_pattern_knows_shows_as_written_and_is_recorded() -> None:
    say = ReasonText("zh-Hans")
    assert say("the moon is made of cheese") == "the moon is made of cheese"
    assert say.unknown == ["the moon is made of cheese"]


def test_every_anomaly_feature_phrase_has_chinese_text() -> None:
    assert feature_phrases_covered() == []


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> list[ConversationResult]:
    """Every corpus audited against every built-in SOP, and the near-miss calls against their own SOPs."""
    runs = [
        (str(REPO / "corpora"), sop) for sop in ("general-inbound-call", "complaint-handling", "bank-phone-service")
    ]
    near_miss = REPO / "bench" / "near_miss_data"
    runs += [(str(near_miss / "calls"), str(path)) for path in sorted((near_miss / "sops").glob("*.yaml"))]
    results = []
    for inputs, sop in runs:
        out = tmp_path_factory.mktemp("audit")
        result = runner.invoke(app, ["audit", inputs, "--sop", sop, "--embedder", "hashing", "--out", str(out)])
        assert result.exit_code in (0, 1), result.output
        lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
        results += [ConversationResult.model_validate_json(line) for line in lines]
    return results


def test_every_sentence_the_auditor_writes_reads_in_chinese(audited: list[ConversationResult]) -> None:
    say, shown = ReasonText("zh-Hant"), 0
    for result in audited:
        texts = [s.reason for s in result.steps] + [s.expected.reason for s in result.steps if s.expected]
        texts += list(assess(result).reasons) + (result.anomaly.reasons if result.anomaly else [])
        notes = [say.act_note(e.act, e.act_reason) for s in result.steps for e in s.evidence]
        for text in [say(text) for text in texts if text] + [note for note in notes if note]:
            shown += 1
            assert not latin_words(text), text
    assert shown > 1000 and say.unknown == []


def test_chinese_report_shows_reasons_methods_and_speakers_in_chinese(tmp_path: Path) -> None:
    corpus = str(REPO / "corpora" / "zh-Hans" / "complaint-handling.jsonl")
    args = ["audit", corpus, "--sop", "complaint-handling", "--embedder", "hashing", "--out", str(tmp_path)]
    assert runner.invoke(app, [*args, "--report-lang", "zh-Hans"]).exit_code in (0, 1)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    shown = re.findall(r'<span class="(?:why|marker-why|method|act[^"]*|who)"[^>]*>(.*?)</span>', page, flags=re.S)
    assert len(shown) > 50
    for text in shown:
        assert not latin_words(re.sub(r"<[^>]+>|&#39;|&quot;", "", text)), text
    assert "<h1>SOP 质检报告：投诉处理" in page or "<h1>SOP 质检报告：" in page


def test_what_fired_each_signal_reads_in_the_readers_language() -> None:
    said = {"churn": "close every account", "negative": "negativity 0.91", "repetition": "cosine 0.82 to turn 3"}
    assert ReasonText("en")(None) == ""
    english = ReasonText("en").signal_evidence(said)
    assert english == "churn: 'close every account'; negative: negativity 0.91; repetition: cosine 0.82 to turn 3"
    chinese = ReasonText("zh-Hans").signal_evidence(said)
    assert chinese == "流失风险：“close every account”；负面：负面倾向 0.91；重复：与第 3 轮相似度 0.82"
