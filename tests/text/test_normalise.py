"""Normalisation that matching depends on: traditional -> simplified, regional variants, full-width, language."""

from __future__ import annotations

import pytest

from auditor.text.normalise import detect_lang, normalise_text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("請問您的帳號", "请问您的账号"),  # OpenCC gives 帐号; matching uses 账号
        ("核對一下您的身分", "核对一下您的身份"),
        ("您好，這裡是客服中心", "您好,这里是客服中心"),  # full-width comma -> ASCII
        ("Hello   there\n friend", "Hello there friend"),
        ("已經幫您處理好了", "已经帮您处理好了"),
    ],
)
def test_normalise_text(text, expected):
    assert normalise_text(text) == expected


@pytest.mark.parametrize(
    "text, lang",
    [
        ("Could you confirm your date of birth?", "en"),
        ("请问您的出生日期是？", "zh"),
        ("請問您的帳號是？", "zh"),
        ("好的，您的order number我查到了，是12345对吧", "zh"),
        ("Your 订单 number is 12345, right?", "en"),
        ("OK", "en"),
    ],
)
def test_detect_lang(text, lang):
    assert detect_lang(text) == lang
