"""PII redaction: what a reader of a report must not see, in English and Chinese text, and what must survive."""

from __future__ import annotations

import pytest

from auditor.privacy.redaction import chinese_id_valid, find_pii, iban_valid, luhn_valid, redact


@pytest.mark.parametrize(
    "text, expected",
    [
        # Chinese mobile numbers, glued to Han characters (where \b fails), with separators, +86, full width
        ("电话13812345678谢谢", "电话[PHONE]谢谢"),
        ("手机号 138-1234-5678。", "手机号 [PHONE]。"),
        ("请拨打+86 138 1234 5678联系我", "请拨打[PHONE]联系我"),
        ("客户电话１３８１２３４５６７８", "客户电话[PHONE]"),
        # international and North American numbers
        ("call me at +44 20 7946 0958 please", "call me at [PHONE] please"),
        ("my number is 0044 20 7946 0958.", "my number is [PHONE]."),
        ("reach me on (555) 123-4567 after six", "reach me on [PHONE] after six"),
        # e-mails, also between Han characters
        ("mail jane.doe+billing@example.co.uk today", "mail [EMAIL] today"),
        ("邮箱是zhang.san@example.com谢谢", "邮箱是[EMAIL]谢谢"),
        # card numbers that pass Luhn, with spaces or dashes or none
        ("card 4111 1111 1111 1111 expires", "card [CARD] expires"),
        ("卡号5500-0000-0000-0004已冻结", "卡号[CARD]已冻结"),
        ("number 378282246310005 ok", "number [CARD] ok"),
        # Chinese resident IDs with a valid check character (X and digit)
        ("身份证号11010519491231002X，好的", "身份证号[ID]，好的"),
        ("ID 440524188001010014 verified", "ID [ID] verified"),
        # IBANs with the mod-97 check
        ("IBAN GB82 WEST 1234 5698 7654 32 thanks", "IBAN [IBAN] thanks"),
        ("pay to DE89370400440532013000.", "pay to [IBAN]."),
    ],
)
def test_personal_data_is_replaced_by_its_kind(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 4111 1111 1111 1112 shipped",  # 16 digits, Luhn fails: an order number, not a card
        "身份证号110105194912310021",  # 18 digits but the check character is wrong
        "工单号77120，参考编号R5531",  # short reference numbers
        "订单号202401150001234567",  # a long order number that is neither a valid ID nor a card
        "IBAN GB00 WEST 1234 5698 7654 32",  # wrong IBAN check digits
        "It costs 1,299.00 and arrives on 2024-01-15 at 10:30",
        "Your reference is CP-48213, extension 2231",
        "感谢您的来电，祝您生活愉快",
    ],
)
def test_numbers_that_are_not_personal_data_survive(text):
    assert redact(text) == text


def test_several_kinds_in_one_turn_are_all_redacted_and_the_rest_is_untouched():
    text = "您好，我的手机13912345678，邮箱li.si@example.cn，卡号4111111111111111，请核实。"
    assert redact(text) == "您好，我的手机[PHONE]，邮箱[EMAIL]，卡号[CARD]，请核实。"
    assert [kind for _, _, kind in find_pii(text)] == ["phone", "email", "card"]


def test_a_phone_inside_a_longer_digit_run_is_not_cut_out_of_it():
    # an 18-digit run must not lose an 11-digit "mobile number" from its middle
    assert redact("流水号 913812345678123456") == "流水号 913812345678123456"


@pytest.mark.parametrize(
    "check, value, expected",
    [
        (luhn_valid, "4111111111111111", True),
        (luhn_valid, "4111111111111112", False),
        (luhn_valid, "123", False),
        (chinese_id_valid, "11010519491231002X", True),
        (chinese_id_valid, "11010519491331002X", False),  # month 13
        (iban_valid, "GB82WEST12345698765432", True),
        (iban_valid, "GB83WEST12345698765432", False),
    ],
)
def test_checksums(check, value, expected):
    assert check(value) is expected
