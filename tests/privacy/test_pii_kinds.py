"""Every kind of personal data, in English and Chinese sentences, and the numbers and words that must survive."""

from __future__ import annotations

import pytest

from auditor.privacy.redaction import KIND_NAMES, card_issuer_known, find_pii, redact


@pytest.mark.parametrize(
    "text, expected",
    [
        # phones: national formats with a trunk 0, a bare number after a word that announces it, landlines
        ("my number is 020 7946 0958 after six", "my number is [PHONE] after six"),
        ("Contact number is 07516311076, car type is a red Audi", "Contact number is [PHONE], car type is a red Audi"),
        ("请拨打0755-83762288咨询", "请拨打[PHONE]咨询"),
        ("call me on 4155550132 tomorrow", "call me on [PHONE] tomorrow"),
        ("It's 6022679771, that's my mobile.", "It's [PHONE], that's my mobile."),
        ("reach me at 1-800-555-0199", "reach me at [PHONE]"),
        ("(415)555-0132 is my cell", "[PHONE] is my cell"),
        ("＋８６　１３８　１２３４　５６７８", "[PHONE]"),
        # passports: only next to "passport" / "护照"
        ("my passport number is E12345678, thanks", "my passport number is [PASSPORT], thanks"),
        ("护照号码：G12345678，下个月到期", "护照号码：[PASSPORT]，下个月到期"),
        (
            "I'm travelling on a Canadian passport, number AB123456",
            "I'm travelling on a Canadian passport, number [PASSPORT]",
        ),
        ("护照EA1234567已过期", "护照[PASSPORT]已过期"),
        # bank and customer accounts: only after "account" / "账号" / "卡号" / "sort code"
        ("My account number is 84318931431 and my PIN is 7402.", "My account number is [ACCOUNT] and my PIN is 7402."),
        ("宽带账号037102288867,断网一星期", "宽带账号[ACCOUNT],断网一星期"),
        ("sort code 12-34-56 please", "sort code [ACCOUNT] please"),
        # street addresses
        ("I live at 221B Baker Street, London", "I live at [ADDRESS], London"),
        ("send it to 1600 Pennsylvania Avenue NW, Washington", "send it to [ADDRESS], Washington"),
        ("the package went to 1317 old kent road instead", "the package went to [ADDRESS] instead"),
        ("收货地址：北京市朝阳区建国路88号3栋2单元501室", "收货地址：[ADDRESS]"),
        ("我住在上海市静安区余姚路487弄70号，信号很差", "我住在[ADDRESS]，信号很差"),
        ("地址是江苏省南京市江宁区禄口镇石埝村", "地址是[ADDRESS]"),
        ("中山路88号营业厅", "[ADDRESS]营业厅"),
        # names: announced, introduced, or with a title
        ("My name is John Smith.", "My name is [NAME]."),
        ("my name is jane doe and i need help", "my name is [NAME] and i need help"),
        ("Hi, I'm Ben. I need a ride", "Hi, I'm [NAME]. I need a ride"),
        ("This is Sarah speaking.", "This is [NAME] speaking."),
        ("Thank you, Mrs. O'Neill.", "Thank you, Mrs. [NAME]."),
        ("我叫王小明，想问一下", "我叫[NAME]，想问一下"),
        ("免贵姓庞", "免贵姓[NAME]"),
        ("您好，我是李先生", "您好，我是[NAME]先生"),
        ("王女士您好，请问有什么可以帮您", "[NAME]女士您好，请问有什么可以帮您"),
        ("联系人：欧阳娜娜，电话13812345678", "联系人：[NAME]，电话[PHONE]"),
        # traditional Chinese
        ("護照號碼：G12345678", "護照號碼：[PASSPORT]"),
        ("我的電話是0912-345-678", "我的電話是[PHONE]"),
        ("地址是台北市信義區信義路五段7號", "地址是[ADDRESS]"),
        ("我叫陳大文，想查詢帳單", "我叫[NAME]，想查詢帳單"),
        ("帳號：123456789012", "帳號：[ACCOUNT]"),
    ],
)
def test_each_kind_is_replaced_by_its_placeholder(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # numbers people say in service calls that are not personal data
        "Order No. 1312121338444 shipped",  # 13 digits, Luhn happens to pass, but no card starts with 1
        "订单号202401150001234567",
        "Your reference number is VDWC6N50.",
        "train TR1234 leaves at 09:30 from platform 2",
        "reserve flight 181 on 2024-01-15",
        "It costs $1,299.00, or 1.299,00 EUR",
        "booked for 19:30 on Friday, table for 4",
        "I'll call you back in 2 hours",
        "the 3rd of May 1980",
        "1980年5月1日，下午3点",
        "工单号77120，参考编号R5531",
        "我都不止反映一次问题了,0011061,建议加上货品编号",  # too short for an international number
        "Dial 10086 or 95588",
        "It has 26 square meters and comes at 460 per month.",
        # words that look like cues for names and addresses
        "I'm sorry, I'm not sure. I am happy with it.",
        "This is Amazon customer service",
        "It's Rosa's Bed and Breakfast.",
        "请提供姓名及联系方式",
        "我叫了外卖",
        "这位先生请稍等，老先生您好，我和先生一起来的",
        "I drove 20 miles down the road and waited 15 minutes on the street",
        "a 5 star place on the high street",
        "Please bring your passport and 2 photos",
        "I need to renew my passport before 2025-06-01",
        "我们小区线路问题",
    ],
)
def test_what_is_not_personal_data_survives(text):
    assert redact(text) == text


@pytest.mark.parametrize(
    "text, kind",
    [
        ("电话13812345678谢谢", "phone"),
        ("邮箱zhang.san@163.com谢谢", "email"),
        ("卡号6222020511009268521已冻结", "card"),
        ("身份证11010519491231002X，好的", "cn_id"),
        ("护照号E12345678谢谢", "passport"),
        ("账号047000010696电话", "account"),
    ],
)
def test_numbers_glued_to_han_characters_are_found_with_their_kind(text, kind):
    assert [found for _, _, found in find_pii(text)][:1] == [kind]


def test_only_the_kinds_asked_for_are_redacted():
    text = "My name is John Smith, call 13812345678 or mail john@example.com"
    assert redact(text, ["phone"]) == "My name is John Smith, call [PHONE] or mail john@example.com"
    assert redact(text, ["name", "email"]) == "My name is [NAME], call 13812345678 or mail [EMAIL]"
    assert redact(text, []) == text
    with pytest.raises(ValueError, match="unknown PII kind"):
        redact(text, ["telephone"])
    assert set(KIND_NAMES) == {
        "email",
        "iban",
        "cn_id",
        "card",
        "passport",
        "account",
        "phone",
        "address",
        "dob",
        "name",
    }


@pytest.mark.parametrize(
    "number, known",
    [
        ("4111111111111111", True),  # Visa
        ("5500000000000004", True),  # Mastercard
        ("378282246310005", True),  # Amex, 15 digits
        ("6222020511009268521", True),  # UnionPay, 19 digits
        ("1312121338444", False),  # no network starts with 1
        ("9931939443153", False),
        ("41111111111111", False),  # Visa has no 14-digit cards
    ],
)
def test_card_issuer_ranges(number, known):
    assert card_issuer_known(number) is known
