"""The HTML report as a QA lead reads it: who and which steps, what failed, where the evidence and the gaps are."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest

from auditor.conversation import Conversation
from auditor.reports.aggregates import summarise_agents, summarise_steps
from auditor.reports.html import expected_anchor, render_report
from auditor.result import ConversationResult, Evidence, ExpectedPlace, StepResult
from tests.conftest import make_conversation

GREETING = "Thank you for calling Northwind, this is Lena."
PASSING_TURNS = [
    ("agent", GREETING),
    ("customer", "Hi, my bill is too high."),
    ("agent", "Could I have your date of birth, please?"),
    ("customer", "The 3rd of May."),
]
FAILING_TURNS = [
    ("agent", "Hello?"),
    ("customer", "Is this Northwind? My bill is wrong."),
    ("agent", "Let me look."),
    ("agent", "Your balance is 40 pounds."),
]


def done(step_id: str, turn_index: int, text: str, *, name: str | None = None) -> StepResult:
    evidence = [Evidence(turn_index=turn_index, text=text, score=0.9, method="phrase")]
    return StepResult(step_id=step_id, name=name, status="done", confidence=0.95, evidence=evidence)


def missing(step_id: str, *, after: int | None, before: int | None, critical: bool = False) -> StepResult:
    expected = ExpectedPlace(after_turn=after, before_turn=before, reason="expected before discuss_account")
    return StepResult(
        step_id=step_id,
        status="missing",
        confidence=0.8,
        critical=critical,
        expected=expected,
        reason="no turn performs this step",
    )


def result(
    conversation_id: str, agent_id: str, steps: list[StepResult], *, passed: bool, lang: str = "en"
) -> ConversationResult:
    score = sum(step.status == "done" for step in steps) / len(steps)
    flags = [f"missing:{step.step_id}" for step in steps if step.status == "missing"]
    return ConversationResult(
        conversation_id=conversation_id,
        agent_id=agent_id,
        sop_id="test-sop",
        sop_version=1,
        lang=lang,
        score=score,
        passed=passed,
        steps=steps,
        flags=flags,
    )


def render(results: Sequence[ConversationResult], conversations: Sequence[Conversation]) -> str:
    return render_report(
        results,
        summarise_agents(results),
        summarise_steps(results),
        {conversation.id: conversation for conversation in conversations},
        sop_name="Test SOP",
    )


def between(html: str, start: str, end: str) -> str:
    """The HTML from the first ``start`` to the next ``end`` after it."""
    begin = html.index(start)
    return html[begin : html.index(end, begin + len(start))]


def turn_row(html: str, conversation_id: str, index: int) -> str:
    """The transcript row of one turn, from its opening tag to the end of its bubble."""
    begin = html.rindex("<div", 0, turn_position(html, conversation_id, index))
    return between(html[begin:], "<div", "</div>\n      </div>")


def turn_position(html: str, conversation_id: str, index: int) -> int:
    return html.index(f'id="c-{conversation_id}-t{index}"')


@pytest.fixture(scope="module")
def report() -> str:
    passing = result(
        "c-pass",
        "a-lena",
        [
            done("greet", 0, GREETING, name="Greet the caller"),
            done("verify_identity", 2, "Could I have your date of birth, please?", name="Verify identity"),
        ],
        passed=True,
    )
    failing = result(
        "c-fail",
        "a-marco",
        [
            done("greet", 2, "Let me look.", name="Greet the caller"),
            missing("verify_identity", after=0, before=3, critical=True),
        ],
        passed=False,
    )
    conversations = [
        make_conversation(PASSING_TURNS, conversation_id="c-pass", agent_id="a-lena"),
        make_conversation(FAILING_TURNS, conversation_id="c-fail", agent_id="a-marco"),
    ]
    return render([passing, failing], conversations)


def test_report_names_every_agent_and_step_in_the_tables(report):
    agents = between(report, '<table class="agents">', "</table>")
    steps = between(report, '<table class="per-step">', "</table>")
    assert "a-lena" in agents and "a-marco" in agents
    assert "greet" in steps and "Greet the caller" in steps
    assert "verify_identity" in steps and "critical" in steps


def test_failing_conversation_is_marked_failed_and_listed_first(report):
    failing = between(report, 'id="c-c-fail"', "</summary>")
    passing = between(report, 'id="c-c-pass"', "</summary>")
    assert 'class="conv failed has-issues"' in report and "FAILED" in failing
    assert "PASSED" in passing and "FAILED" not in passing
    assert report.index('id="c-c-fail"') < report.index('id="c-c-pass"'), "worst first"
    assert "missing:verify_identity" in failing


def test_filter_can_hide_passing_conversations_without_scripts(report):
    assert 'id="show-failing"' in report
    assert "#show-failing:checked ~ .conversation-list details.conv:not(.failed) { display: none; }" in report
    assert "failing only (1)" in report


def test_legend_explains_every_status(report):
    legend = between(report, 'id="legend"', "</div>\n</div>")
    for label in ("done", "missing", "out of order", "late", "n/a", "missing here"):
        assert label in legend


def test_evidence_turn_is_highlighted_with_its_step_tag(report):
    row = turn_row(report, "c-pass", 2)
    assert 'class="turn agent ev ev-best ev-ok"' in row
    assert "Could I have your date of birth, please?" in row
    assert re.search(r'<span class="tag best s-done"[^>]*>verify_identity</span>', row)
    plain = turn_row(report, "c-pass", 1)
    assert plain.startswith('<div class="turn customer "') and "tag" not in plain


def test_step_table_links_evidence_to_its_turn(report):
    assert 'href="#c-c-pass-t2">turn 2</a>' in report


def test_missing_marker_sits_just_before_the_expected_turn(report):
    marker = report.index("missing here", report.index('id="c-c-fail"'))
    assert turn_position(report, "c-fail", 2) < marker < turn_position(report, "c-fail", 3)
    block = between(report[marker - 200 :], '<div class="marker m-missing"', "</div>")
    assert "verify_identity" in block and "critical" in block and "(after turn 0, before turn 3)" in block


@pytest.mark.parametrize(
    ("after", "before", "anchor"),
    [
        (0, 3, 3),  # both ends: just above the first turn it had to precede
        (0, None, 1),  # after turn 0 only: just below turn 0 (not above it)
        (4, None, 5),
        (None, 2, 2),
        (5, 5, 6),  # an empty window falls back to after_turn
        (None, None, 0),
    ],
)
def test_expected_anchor_follows_the_exclusive_window(after, before, anchor):
    assert expected_anchor(ExpectedPlace(after_turn=after, before_turn=before, reason="r")) == anchor


def test_marker_after_the_last_turn_is_shown_at_the_end_of_the_transcript():
    late_close = missing("close", after=3, before=None)
    html = render(
        [result("c-end", "a-1", [done("greet", 0, "Hello?"), late_close], passed=False)],
        [make_conversation(FAILING_TURNS, conversation_id="c-end")],
    )
    marker = html.index("missing here", html.index('id="c-c-end"'))
    assert marker > turn_position(html, "c-end", 3)
    assert "close" in between(html[marker:], "", "</div>")


def test_transcript_text_is_escaped():
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    html = render(
        [result("c-x", "<b>agent</b>", [done("greet", 0, attack)], passed=True)],
        [make_conversation([("agent", attack), ("<i>rep</i>", "hi")], conversation_id="c-x")],
    )
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>agent</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;i&gt;rep&lt;/i&gt;" in html


def test_chinese_text_is_rendered_intact_with_its_script():
    simplified = "您好，这里是清源自来水客服中心，我是林雅婷。请问有什么可以帮您？"
    traditional = "您好，這裡是清源自來水客服中心，我是林雅婷。請問有什麼可以幫您？"
    results = [
        result("zhs-1", "a-zhang", [done("greet", 0, simplified)], passed=True, lang="zh"),
        result("zht-1", "a-lin", [done("greet", 0, traditional)], passed=True, lang="zh"),
    ]
    for audited in results:  # audited with --no-redact: the agent's name "林雅婷" is shown as written
        audited.models["redaction"] = "none"
    conversations = [
        make_conversation([("客服", simplified), ("客户", "我的水费怎么这么高？")], conversation_id="zhs-1"),
        make_conversation([("客服", traditional), ("客戶", "我的水費怎麼這麼高？")], conversation_id="zht-1"),
    ]
    html = render(results, conversations)
    assert '<meta charset="utf-8">' in html
    assert f'<span class="text" lang="zh-Hans">{simplified}</span>' in html
    assert f'<span class="text" lang="zh-Hant">{traditional}</span>' in html
    assert "客户" in html and "我的水費怎麼這麼高？" in html


def test_long_chinese_evidence_is_clipped_by_characters():
    long_text = "我帮您查一下这个月的账单" * 20
    html = render(
        [result("zh-long", "a-1", [done("greet", 0, long_text)], passed=True, lang="zh")],
        [make_conversation([("客服", long_text)], conversation_id="zh-long")],
    )
    quote = between(html, '<span class="quote"', "</span>")
    assert quote.endswith("…") and len(quote.split(">", 1)[1]) == 110


def test_report_is_self_contained(report):
    assert not re.search(r'(src|href)="(https?:)?//', report)
    assert "<link" not in report and "@import" not in report


def test_conversation_without_transcript_still_shows_its_verdicts():
    html = render([result("c-lost", "a-1", [missing("greet", after=None, before=2)], passed=False)], [])
    body = between(html, 'id="c-c-lost"', "</details>")
    assert "Transcript not available" in body and "no turn performs this step" in body
    assert "missing here" not in body
