"""The act of a turn toward a step: near misses (refused, cannot, skipped, unavailable, offered) beside true
performances that share their words, in English, simplified and traditional Chinese."""

from __future__ import annotations

import pytest

from auditor.detection.acts import judge_turn, read_text, step_acts
from auditor.sop_format import Step


def turn_act(text: str, step: Step) -> tuple[str, bool]:
    """The turn's act toward the step and whether it performs it, every clause counted as carrying the step."""
    readings = read_text(text)
    verdict = judge_turn(readings, [True] * len(readings), step_acts(step))
    return verdict.act, verdict.performs


FREEZE = Step(id="freeze_card", name="Freeze the lost card", description="The agent freezes the lost card.")
VERIFY = Step(
    id="verify_identity",
    name="Verify the caller's identity",
    description="The agent checks the caller's identity with security questions.",
)
OFFER_SMS = Step(id="offer_sms", name="Offer SMS alerts", description="The agent offers to switch on SMS alerts.")
FOLLOW_UP = Step(
    id="follow_up", name="Follow up", description="The agent promises a call back and says when it will happen."
)
NO_ROOMS = Step(
    id="inform_unavailable",
    name="Tell the customer nothing is available",
    description="The agent says no room is free on the requested dates.",
    examples=["Sorry, there are no rooms left on those dates.", "抱歉，那几天已经没有空房了。"],
)
CLOSE = Step(id="close", name="Close politely", description="The agent thanks the caller and says goodbye.")
APOLOGY = Step(id="apologize", name="Apologise", description="The agent apologises for the trouble.")


@pytest.mark.parametrize(
    "text, step, act, performs",
    [
        # actions on an account: done vs refused / cannot / promised / offered
        ("I've frozen your card now, nobody can use it.", FREEZE, "performed", True),
        ("No problem, your card is now frozen.", FREEZE, "performed", True),
        ("I can't freeze your card over the phone.", FREEZE, "cannot", False),
        ("You'll need to visit a branch to have the card frozen.", FREEZE, "refused", False),
        ("I'll freeze it after this call.", FREEZE, "promised", False),
        ("Would you like me to freeze the card?", FREEZE, "offered", False),
        ("没问题，已经帮您冻结了。", FREEZE, "performed", True),
        ("挂失冻结需要您本人到网点柜台办理，电话这边办不了。", FREEZE, "refused", False),
        ("系統這邊暫時無法幫您凍結。", FREEZE, "refused", False),
        ("已經幫您把卡片凍結了，請放心。", FREEZE, "performed", True),
        ("卡片凍結要您本人帶證件到分行辦理喔。", FREEZE, "refused", False),
        # identity checks: asked vs skipped / mentioned
        ("Can I have your full name and date of birth, please?", VERIFY, "asked", True),
        ("I'd normally check who you are, but the system is down, so we'll skip the security questions.", VERIFY,
         "skipped", False),
        ("请提供您的姓名和身份证后四位。", VERIFY, "asked", True),
        ("身份验证就免了吧。", VERIFY, "skipped", False),
        ("身分驗證這次就不用了。", VERIFY, "skipped", False),
        ("麻煩您報一下生日跟身分證後四碼。", VERIFY, "asked", True),
        # offers: an offer performs an offer step; "no longer offered" does not
        ("Would you like text alerts for every payment?", OFFER_SMS, "offered", True),
        ("We stopped offering text alerts.", OFFER_SMS, "not_available", False),
        ("需要为您开通短信提醒吗？", OFFER_SMS, "offered", True),
        ("短信提醒这项服务已经停止了。", OFFER_SMS, "not_available", False),
        ("簡訊通知我們已經不再提供了。", OFFER_SMS, "not_available", False),
        # a follow-up step is a promise
        ("I'll call you back tomorrow morning with the result.", FOLLOW_UP, "promised", True),
        ("我们会在三个工作日内给您回电。", FOLLOW_UP, "promised", True),
        # a step that is itself a negative outcome
        ("I'm afraid nothing is free on Friday.", NO_ROOMS, "not_available", True),
        ("週五的房間都訂滿了，真的很抱歉。", NO_ROOMS, "not_available", True),
        # closings and apologies that carry negation words but perform the step
        ("Thank you for calling, have a nice day.", CLOSE, "performed", True),
        ("不客气，感谢您的来电，再见。", CLOSE, "performed", True),
        ("这个我没办法，您可以去网点问问。", CLOSE, "cannot", False),
        ("I'm sorry you couldn't get through earlier.", APOLOGY, "performed", True),
        ("I'm not going to apologise for the courier, that's their fault.", APOLOGY, "refused", False),
        ("There's nothing to apologise for, it was the courier.", APOLOGY, "refused", False),
        ("快递摔坏的，这个我们不道歉。", APOLOGY, "refused", False),
        ("這不是我們的疏失，所以沒有需要道歉的地方。", APOLOGY, "refused", False),
        ("非常抱歉，这是我们的失误，我向您道歉。", APOLOGY, "performed", True),
        # later, elsewhere, or without the right to do it
        ("身分等一下再核對，我先把帳單叫出來。", VERIFY, "promised", False),
        ("等一下掛電話、我把掛失單填完就幫您停卡。", FREEZE, "promised", False),
        ("您的卡我已经冻结了，稍等一下我再给您发个确认短信。", FREEZE, "performed", True),
        ("最近幾筆交易看起來都正常，先不幫您停卡。", FREEZE, "refused", False),
        ("这笔费用是统一收取的，我没有权限帮您冻结。", FREEZE, "cannot", False),
        ("遇到这种情况一般第一步就是冻结卡片。", FREEZE, "mentioned", False),
        ("有的客户开了短信提醒，在手机银行里能找到。", OFFER_SMS, "mentioned", False),
        ("很抱歉让您久等了。", APOLOGY, "performed", True),
        ("不好意思，給您帶來不便。", APOLOGY, "performed", True),
    ],
)
def test_act_of_a_turn_toward_a_step(text, step, act, performs):
    assert turn_act(text, step) == (act, performs)


def test_speech_to_text_without_punctuation_still_reads_the_refusal():
    assert turn_act("i cant freeze the card on the phone you have to go to a branch", FREEZE)[1] is False
    assert turn_act("挂失冻结需要您本人到网点柜台办理电话这边办不了", FREEZE)[1] is False
    assert turn_act("ok your card is frozen now", FREEZE) == ("performed", True)


def test_step_acts_come_from_the_steps_own_texts():
    assert "not_available" in step_acts(NO_ROOMS).accepted, "its examples say nothing is free"
    assert "offered" in step_acts(OFFER_SMS).accepted and "offered" not in step_acts(FREEZE).accepted
    assert "promised" in step_acts(FOLLOW_UP).accepted and "promised" not in step_acts(FREEZE).accepted
    assert not step_acts(FREEZE).accepted & {"refused", "cannot", "skipped", "not_available"}


def test_a_refusal_reads_with_the_words_that_fired():
    readings = read_text("I can't freeze your card over the phone.")
    assert readings[0].reason is not None and "can't" in readings[0].reason


def test_a_refusal_to_say_it_with_wont_is_not_saying_it():
    guarantee = Step(id="promise_guarantee", name="Guarantee an outcome", description="The agent guarantees a refund.")
    assert turn_act("I won't guarantee anything, sorry.", guarantee)[1] is False
    assert turn_act("I guarantee you'll get it back.", guarantee)[1] is True


def test_english_idioms_are_benign_in_a_turn_with_a_chinese_name():
    assert [r.act for r in read_text("Sorry you couldn't get through 王先生, I have frozen the card now.")] == [
        "performed",
        "performed",
    ]


def test_a_consequence_in_the_description_does_not_make_an_action_step_accept_refusals():
    """"Freeze it, so it can no longer be used": the step is the freeze, and "I can't freeze it" does not do it."""
    step = Step(
        id="freeze",
        name="冻结遗失或被盗的卡",
        description="客服在通话中实际冻结这张卡，并告诉客户卡已冻结，不能再用于新的交易。",
    )
    assert not step_acts(step).accepted & {"cannot", "not_available"}
    assert turn_act("电话里没法冻结，您需要在手机银行上自己操作。", step)[1] is False
    done = read_text("您尾号2290的卡我这边已经冻结了，现在无法再消费。")  # the freeze clause carries the step
    assert judge_turn(done, [True, False], step_acts(step)).performs
    outcome = Step(id="no_slot", name="告知没有空位", description="客服告诉客户所选时间没有空位，并建议其他时间。")
    assert "not_available" in step_acts(outcome).accepted, "a step that is a negative outcome still accepts it"


def test_a_condition_in_the_description_does_not_make_an_action_step_accept_refusals():
    step = Step(id="freeze", name="Freeze the card", description="Freeze the card unless the system is unavailable.")
    assert turn_act("I can't freeze the card.", step) == ("cannot", False)


@pytest.mark.parametrize(
    "text, step, performs",
    [
        ("Can you freeze the card in the app?", FREEZE, False),  # asks the customer to do it: not done here
        ("Has the card been frozen already?", FREEZE, False),
        ("Could you give me your date of birth?", VERIFY, True),  # verifying is done by asking
        ("请问您的身份证后四位是多少？", VERIFY, True),
        ("卡片您要不要自己在App上冻结？", FREEZE, False),
        ("Is there anything else I can help with?", CLOSE, True),  # a question is part of many steps
    ],
)
def test_a_question_performs_most_steps_but_leaves_an_action_open(text, step, performs):
    act, performed = turn_act(text, step)
    assert performed is performs
    if not performs:
        assert act in {"asked", "offered"}, "left to a person (uncertain), not refused"
