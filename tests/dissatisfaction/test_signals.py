"""Dissatisfaction signals: each fires on the customer turns a coach would mark, and stays quiet otherwise."""

from __future__ import annotations

import pytest

from auditor.conversation import Conversation, Turn
from auditor.dissatisfaction.signals import (
    SIGNALS,
    HoldSignal,
    InterruptionSignal,
    LongSilenceSignal,
    NegativeSignal,
    RepetitionSignal,
    SignalContext,
    builtin_signal_detectors,
    detect_signals,
)
from auditor.text.artifacts import ArtifactBuilder
from auditor.transcripts.roles import normalise_role
from tests.conftest import make_conversation

PHRASES = [
    # (customer text, signal, fires)
    ("I want to speak to your manager right now.", "escalation", True),
    ("Get me a real person, not a bot.", "escalation", True),
    ("I'd like to file a formal complaint.", "escalation", True),
    ("My account manager set this up last year.", "escalation", False),
    ("我要投诉你们，再不处理就打12315。", "escalation", True),
    ("叫你们领导来跟我说。", "escalation", True),
    ("我要投訴你們的服務。", "escalation", True),
    ("我的手机号是13151234567。", "escalation", False),
    ("This is ridiculous, the worst service I've had.", "complaint", True),
    ("I'm really disappointed.", "complaint", True),
    ("My ATM card PIN is blocked.", "frustration", False),
    ("Could you tell me the opening hours?", "complaint", False),
    ("你们的服务太差了。", "complaint", True),
    ("你們的服務態度實在太差了。", "complaint", True),
    ("请问营业厅几点开门？", "complaint", False),
    ("I'm going to cancel my subscription and switch provider.", "churn", True),
    ("I'll never order from you again.", "churn", True),
    ("Can I cancel the order I placed by mistake?", "churn", False),
    ("我要退订所有业务。", "churn", True),
    ("受够了，我要销户。", "churn", True),
    ("我要銷戶，不想再用了。", "churn", True),
    ("不用了，谢谢。", "churn", False),
    ("It's STILL NOT WORKING!!!", "frustration", True),
    ("It still doesn't work after the restart.", "frustration", True),
    ("This is the third time I'm calling about it.", "frustration", True),
    ("Is the shop still open on Sunday?", "frustration", False),
    ("Could you check the other branch?", "frustration", False),
    ("这都第三次了，还是没解决！", "frustration", True),
    ("又断网了。", "frustration", True),
    ("這都第三次了，還是沒解決。", "frustration", True),
    ("好的，谢谢。", "frustration", False),
    # version 2: anger without swear words, money lost, waits and transfers, churn threats vs calm declines
    ("Someone just stole three thousand dollars off my card, how did you people let this happen?", "complaint", True),
    ("They moved my flight without even asking me.", "complaint", True),
    ("Could you move my flight to Thursday?", "complaint", False),
    ("我的卡被人盗刷了三千多块你们怎么搞的", "complaint", True),
    ("有人冒用我的名字辦信用卡，銀行居然一點都沒察覺？", "complaint", True),
    ("我的信用卡丢了，麻烦帮我挂失。", "complaint", False),
    ("I've been on hold for forty minutes just to ask one question.", "frustration", True),
    ("You charged me twice for the same order.", "complaint", True),
    ("同一笔订单扣了我两次钱", "frustration", True),
    ("我已经等了四十分钟了", "frustration", True),
    ("等候音樂我已經聽了四十五分鐘。", "frustration", True),
    ("你们别再把我转来转去了", "frustration", True),
    ("Can I wait for the engineer at home?", "frustration", False),
    ("I'm done with this bank, I want to close every account today.", "churn", True),
    ("I'm porting my number out to another carrier this weekend.", "churn", True),
    ("我要把工资卡转到别的银行去", "churn", True),
    ("再這樣我就把存款全部轉走，直接攜碼到別家", "churn", True),
    ("不用了，短信提醒我不需要。", "churn", False),
    ("暂时不用，以后再说吧", "churn", False),
    ("No thanks, I don't need the insurance.", "churn", False),
    ("我想注销一张不用的副卡", "churn", False),
    ("How much does it cost to close the savings account?", "churn", False),
    ("I want to talk to whoever is above you.", "escalation", True),
    ("这件事我会向金融监管局反映的", "escalation", True),
    ("我會寫信到金管會檢舉你們", "escalation", True),
    ("I'll be posting this whole conversation online.", "escalation", True),
    # near misses of the phrase lists v2: ordinary words that sound like a threat, and threats that start like a
    # decline
    ("Do I press the green button?", "escalation", False),
    ("I need to report it to the police.", "escalation", False),
    ("我的工商银行卡丢了", "escalation", False),
    ("How do you let me know when it ships?", "complaint", False),
    ("I use it every day.", "frustration", False),
    ("That was a great help, thanks.", "frustration", False),
    ("Please put my account on hold for a month.", "frustration", False),
    ("I'm moving to another city next week.", "churn", False),
    ("Can you switch me to a different plan?", "churn", False),
    ("换个密码", "churn", False),
    ("帮我转到其他账户", "churn", False),
    ("我想把贷款结清", "churn", False),
    ("No. I'm closing all my accounts and moving to another bank.", "churn", True),
    ("不用了，我直接销户，换别家银行", "churn", True),
    ("我打算换别家银行，怎么销户？", "churn", True),
    ("我不太满意", "complaint", True),
]


@pytest.fixture(scope="module")
def builder(hashing_embedder, pipelines) -> ArtifactBuilder:
    return ArtifactBuilder(hashing_embedder, pipelines)


def signals_by_turn(builder: ArtifactBuilder, conversation: Conversation, **context) -> dict[int, set[str]]:
    hits = detect_signals(SignalContext.build(builder.build(conversation), **context), builtin_signal_detectors())
    found: dict[int, set[str]] = {}
    for hit in hits:
        found.setdefault(hit.turn_index, set()).add(hit.signal)
    return found


@pytest.mark.parametrize("text, signal, fires", PHRASES)
def test_phrase_signals_en_zh_hans_zh_hant(builder, text, signal, fires):
    conversation = make_conversation([("agent", "Hello, how can I help?"), ("customer", text)])
    assert (signal in signals_by_turn(builder, conversation).get(1, set())) is fires


def test_agent_turns_never_carry_customer_signals(builder):
    conversation = make_conversation([("agent", "I understand this is ridiculous, I'll escalate it to my manager.")])
    assert signals_by_turn(builder, conversation) == {}


@pytest.mark.parametrize(
    "earlier, later, repeats",
    [
        ("When will my refund arrive? I am still waiting.", "I am asking again, when will my refund arrive?", True),
        ("When will my refund arrive? I am still waiting.", "Can I change my delivery address to my office?", False),
        ("我的退款什么时候到账？", "我再问一次，我的退款什么时候到账？", True),
        ("我的退款什麼時候到帳？", "我再問一次，我的退款什麼時候到帳？", True),
        ("我的退款什么时候到账？", "请问营业厅几点开门？", False),
        ("ok", "ok", False),
    ],
)
def test_repetition_is_a_semantic_match_to_an_earlier_customer_turn(builder, earlier, later, repeats):
    conversation = make_conversation([("customer", earlier), ("agent", "Let me check."), ("customer", later)])
    hits = RepetitionSignal(threshold=0.5).detect(SignalContext.build(builder.build(conversation)))
    assert [hit.turn_index for hit in hits] == ([2] if repeats else [])
    if repeats:
        assert "to turn 0" in hits[0].evidence


def test_negative_signal_reads_the_models_negativity(builder):
    conversation = make_conversation([("customer", "fine"), ("customer", "awful")])
    context = SignalContext.build(builder.build(conversation), {0: 0.2, 1: 0.9})
    assert [hit.turn_index for hit in NegativeSignal(threshold=0.5).detect(context)] == [1]


DECLINES = ["不用了，短信提醒我不需要。", "暂时不用，以后再说吧", "No thanks, not right now.", "先不用喔"]


@pytest.mark.parametrize("text", DECLINES)
def test_a_calm_decline_is_not_negative_whatever_the_model_reads(builder, text):
    conversation = make_conversation([("agent", "Would you like text alerts?"), ("customer", text)])
    context = SignalContext.build(builder.build(conversation), {1: 0.95})
    assert NegativeSignal(threshold=0.5).detect(context) == []


PRAISE = ["这次办得很快，我非常满意", "That was amazing, thank you so much!", "謝謝你，真的很專業"]


@pytest.mark.parametrize("text", PRAISE)
def test_thanks_and_praise_are_not_negative_however_strongly_worded(builder, text):
    conversation = make_conversation([("agent", "Anything else?"), ("customer", text)])
    context = SignalContext.build(builder.build(conversation), {1: 0.95})
    assert NegativeSignal(threshold=0.5).detect(context) == []


def test_sarcastic_thanks_that_complain_stay_negative(builder):
    conversation = make_conversation([("agent", "Anything else?"), ("customer", "谢谢啊，我已经等了两个小时了")])
    context = SignalContext.build(builder.build(conversation), {1: 0.95})
    assert [hit.turn_index for hit in NegativeSignal(threshold=0.5).detect(context)] == [1]


def test_a_decline_that_complains_stays_negative(builder):
    conversation = make_conversation([("agent", "Anything else?"), ("customer", "不用了，你们这服务太差了")])
    context = SignalContext.build(builder.build(conversation), {1: 0.95})
    assert [hit.turn_index for hit in NegativeSignal(threshold=0.5).detect(context)] == [1]


def timed(rows: list[tuple[str, str, float | None, float | None]]) -> Conversation:
    turns = [
        Turn(index=i, speaker=speaker, role=normalise_role(speaker), text=text, start=start, end=end)
        for i, (speaker, text, start, end) in enumerate(rows)
    ]
    return Conversation(id="timed", turns=turns)


def test_interruption_needs_the_agent_to_start_before_the_customer_ends(builder):
    conversation = timed(
        [
            ("customer", "My card was blocked and I need it today", 0.0, 6.0),
            ("agent", "Right, so", 4.0, 5.0),
            ("customer", "Let me finish please", 5.5, 7.0),
            ("agent", "Sorry, go ahead.", 7.2, 8.0),
        ]
    )
    hits = InterruptionSignal().detect(SignalContext.build(builder.build(conversation)))
    assert [hit.turn_index for hit in hits] == [1]


def test_long_silence_and_no_timing_signals_without_times(builder):
    conversation = timed(
        [
            ("customer", "Is my order shipped?", 0.0, 2.0),
            ("agent", "Let me look.", 30.0, 31.0),
            ("customer", "Thanks", 31.5, 32.0),
            ("agent", "It shipped today.", 33.0, 34.0),
        ]
    )
    hits = LongSilenceSignal(max_gap_seconds=10).detect(SignalContext.build(builder.build(conversation)))
    assert [hit.turn_index for hit in hits] == [1]
    untimed = make_conversation([("customer", "Is my order shipped?"), ("agent", "Let me look.")])
    found = signals_by_turn(builder, untimed)
    assert not any(signal in {"interruption", "long_silence"} for names in found.values() for signal in names)


@pytest.mark.parametrize(
    "event, fires",
    [("hold started", True), ("hold ended", False), ("保持中", True), ("轉接中", False), ("customer muted", True)],
)
def test_hold_fires_on_hold_events_only(builder, event, fires):
    conversation = make_conversation([("customer", "Hi"), ("system", event), ("agent", "Thanks for waiting.")])
    hits = HoldSignal().detect(SignalContext.build(builder.build(conversation)))
    assert [hit.turn_index for hit in hits] == ([1] if fires else [])


def test_every_detector_is_named_and_versioned_and_the_registry_is_fresh():
    first, second = builtin_signal_detectors(), builtin_signal_detectors()
    assert set(first) == set(SIGNALS)
    assert all(d.name and d.version and d.signal == key for key, d in first.items())
    assert first["repetition"] is not second["repetition"]
