"""PII redaction (issue 7): recall on generated personal data, false positives on real conversations, presidio.

1. **Recall.** 2,000 pieces of personal data are generated (seeded) in the formats people write and say them -
   phone numbers of several countries with and without country codes, separators and brackets; Chinese mobiles
   glued to Han characters or in full-width digits; card numbers of every network with valid Luhn sums in 4-4-4-4,
   4-6-5 or no grouping; resident IDs with valid check characters; IBANs of eleven countries; e-mails with plus
   tags, sub-domains and QQ numbers; passports of several countries; bank and broadband account numbers; street
   addresses in English and Chinese; English and Chinese names - each in an English or Chinese sentence of the kind a
   customer or agent says (lower-cased like chat or speech-to-text now and then). A value counts as found when
   every character of it is inside a redacted span (of any kind: hidden is hidden); "right kind" also asks for its
   own placeholder. Sentences where words around the value were redacted too are counted as "over-redacted".
2. **False positives.** Every spoken turn of the external dev conversations (``../shared/data/external``: STAR,
   STC-3 en and zh, USS-MultiWOZ) is redacted with the default policy; the share of turns that lose any text is
   the upper bound of the false-positive rate (those corpora hold real-looking personal data too: STAR customers
   give names and account numbers, Weibo complainants their phone numbers and addresses, MultiWOZ agents the phone
   numbers and addresses of restaurants). A seeded sample of every corpus x kind is printed (not written to the docs:
   it quotes the external data), and the judgements in ``bench/pii_judgements.json`` (made by reading those samples;
   keyed by corpus, conversation, turn, kind and offset, never by the text) turn each kind's count into an estimate
   of true false positives.
3. **presidio-analyzer** (pattern recognizers only, in its own virtual environment through
   ``bench/pii_presidio.py``; ``--presidio`` names its Python) gets the same generated set and turns.
4. **Cost**: redacting every turn of every ``star_dev.jsonl`` conversation (what report.html and the review store
   do for a shown or stored conversation; a result's evidence and metadata are less).

    HF_HUB_OFFLINE=1 python -m bench.pii_redaction [--count 2000] [--seed 0] [--sample 20]
        [--presidio /tmp/presidio/bin/python] [--write]
"""

from __future__ import annotations

import argparse
import json
import random
import string
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from auditor.privacy.policy import DEFAULT_KINDS, RedactionPolicy
from auditor.privacy.redaction import BAIJIAXING, KIND_NAMES, find_pii, luhn_valid
from bench.report import replace_section

COMMAND = "python -m bench.pii_redaction --write"
REPO = Path(__file__).resolve().parents[1]
EXTERNAL = REPO.parent / "shared" / "data" / "external"
CORPORA = ("star_dev.jsonl", "stc3_en_dev.jsonl", "stc3_zh_dev.jsonl", "uss_mwoz.jsonl")
JUDGEMENTS = Path(__file__).with_name("pii_judgements.json")
PRESIDIO_PYTHON = Path("/tmp/presidio/bin/python")
PRESIDIO_KINDS = {
    "PHONE_NUMBER": "phone",
    "EMAIL_ADDRESS": "email",
    "CREDIT_CARD": "card",
    "IBAN_CODE": "iban",
    "US_PASSPORT": "passport",
    "UK_PASSPORT": "passport",
    "US_BANK_NUMBER": "account",
}
PRESIDIO_THRESHOLD = 0.3
"""presidio scores a bare 9-digit number 0.05 as a US passport and a bank number; its own examples cut at 0.3-0.5."""
TARGET_RECALL = 0.99
TARGET_FALSE_POSITIVES = 0.01


# --- generated personal data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    kind: str
    lang: str
    text: str
    start: int
    end: int

    @property
    def value(self) -> str:
        return self.text[self.start : self.end]


FULL_WIDTH = str.maketrans({str(d): chr(0xFF10 + d) for d in range(10)})

EN_FIRST = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony Betty Mark Sandra Steven Ashley Andrew "
    "Emily Joshua Kimberly Kevin Donna Brian Michelle George Carol Siobhan Aoife Priya Rahul Mohammed Fatima Jose "
    "Maria Chen Wei Yuki Hiroshi Olga Dmitri Ngozi Chidi Lucas Sofia Mateo Isabella Liam Noah Emma Olivia Ava Zoe"
).split()
EN_LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson "
    "O'Neill O'Brien McDonald MacLeod Nguyen Patel Singh Kumar Khan Ahmed Al-Farsi Kowalski Novak Muller Schmidt "
    "Rossi Bianchi Dubois Moreau Tanaka Suzuki Kim Park Wang Zhang Liu Chen Okafor Mensah Fitzgerald Van-Dijk"
).split()
ZH_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟"
    "谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤柴温庞樊兰岳"
)
ZH_HELD_OUT_SURNAMES = "郗郜佘仉眭訾蒯厍逯粟籍麴禹濮寇阙幸"
"""Family names the redactor's list (``SURNAMES``) does not hold: found only where the sentence says a name follows."""
ZH_COMPOUND = ("欧阳", "司马", "诸葛", "上官", "司徒", "慕容", "皇甫", "令狐")
ZH_GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国志文"
    "博宇浩然子涵欣怡梓轩雨萱思远晓东海燕婷"
    "嘉琪俊凯诗琳皓轩佳颖昊天沐宸若曦锦程语桐瑾瑜睿泽"
)
EN_TITLES = ("Mr", "Mrs", "Ms", "Miss", "Mr.", "Mrs.", "Ms.", "Dr", "Dr.")
ZH_TITLES = ("先生", "女士", "小姐", "经理", "太太")

STREETS_EN = (
    "Baker Street",
    "Pennsylvania Avenue",
    "Main St",
    "Oak Street",
    "Maple Ave",
    "Elm Drive",
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "King Street",
    "Queen's Road",
    "Sunset Boulevard",
    "Park Place",
    "Victoria Terrace",
    "Chesterton Road",
    "Regent Street",
    "Market Square",
    "Orchard Close",
    "Wallaby Way",
    "Fifth Avenue",
    "5th Ave",
    "W 42nd St",
    "Lakeshore Blvd",
    "Hillcrest Court",
    "Riverside Drive",
    "Old Kent Road",
    "Rose Crescent",
    "Hawthorn Grove",
    "Magnolia Lane",
)
CITIES_EN = ("London", "Cambridge", "New York, NY 10001", "Springfield", "Manchester M1 1AE", "Austin, TX", "Dublin")
ZH_PROVINCES = (
    ("北京市", ("朝阳区", "海淀区", "东城区", "西城区", "丰台区")),
    ("上海市", ("静安区", "浦东新区", "徐汇区", "长宁区")),
    ("广东省广州市", ("白云区", "天河区", "越秀区")),
    ("广东省深圳市", ("南山区", "福田区", "宝安区")),
    ("浙江省杭州市", ("西湖区", "上城区", "拱墅区")),
    ("江苏省南京市", ("江宁区", "鼓楼区", "玄武区")),
    ("四川省成都市", ("武侯区", "锦江区", "青羊区")),
    ("陕西省西安市", ("未央区", "雁塔区", "碑林区")),
    ("湖北省武汉市", ("洪山区", "江汉区", "武昌区")),
    ("天津市", ("和平区", "南开区", "河西区")),
)
ZH_ROADS = (
    "建国路",
    "中山路",
    "人民路",
    "解放路",
    "余姚路",
    "文三路",
    "科技园路",
    "长安街",
    "淮海中路",
    "东望北街",
    "凤城三路",
    "太乙路",
    "南京东路",
    "学院路",
    "珠江大道",
    "幸福大街",
    "梨花巷",
    "石门二路",
)

IBAN_FORMATS = {  # country: BBAN layout (n digits, a upper-case letters, c alphanumerics), print grouping
    "GB": "4a14n",
    "DE": "18n",
    "FR": "10n11c2n",
    "ES": "20n",
    "IT": "1a10n12c",
    "NL": "4a10n",
    "BE": "12n",
    "CH": "5n12c",
    "NO": "11n",
    "PL": "24n",
    "SE": "20n",
}

EN_CONTEXT = {
    "phone": (
        "You can reach me on {}.",
        "my number is {}",
        "Call me back at {} please.",
        "It's {}, that's my mobile.",
        "The best number to contact me is {} after 6pm.",
        "phone: {}",
        "Could you text me at {}?",
        "yeah it's {}",
        "I tried calling {} but nobody picked up.",
        "My cell's {}. Thanks!",
        "Please update my phone number to {}.",
        "the number on file should be {}",
    ),
    "email": (
        "My email is {}.",
        "send it to {} please",
        "You can email me at {}",
        "it's {}",
        "I never got the receipt at {}, can you resend?",
        "Contact: {}",
        "is {} the right address?",
        "my e-mail address changed to {} last month",
    ),
    "card": (
        "My card number is {}.",
        "I paid with {} yesterday",
        "the card ending... actually the full number is {}",
        "Can you check {} for me?",
        "card: {} exp 09/27",
        "It was charged to {} twice!",
        "I'll use my Visa, {}.",
        "the number on the front is {}",
    ),
    "cn_id": (
        "My ID number is {}.",
        "The resident ID is {}",
        "id card {}",
        "It's {}, my Chinese ID.",
        "For verification: {}",
        "my identity card number {} ok?",
    ),
    "iban": (
        "My IBAN is {}.",
        "please transfer the refund to {}",
        "IBAN: {}",
        "Account: {} (IBAN)",
        "send the money to {} thanks",
        "the bank details are {}, BIC DEUTDEFF",
    ),
    "passport": (
        "My passport number is {}.",
        "passport no. {}",
        "Passport: {}",
        "I'm travelling on a Canadian passport, number {}",
        "the passport is {}",
        "Here's my passport, {}.",
        "passport #{} expires next year",
        "my new passport number is {} since March",
    ),
    "account": (
        "My account number is {}.",
        "account {} please",
        "Account number: {}",
        "acct no. {}",
        "My broadband account is {}",
        "the sort code is {} and the account 12345678",
        "bank account {}, can you check it?",
        "account # {}",
    ),
    "address": (
        "I live at {}.",
        "My address is {}",
        "please ship it to {}",
        "Deliver to {} please.",
        "the package went to {} instead",
        "We moved to {} last week.",
        "Address: {}",
        "send the engineer to {} tomorrow",
        "my billing address is {}, not the old one",
    ),
    "name": (
        "My name is {}.",
        "Hi, my name's {} and I have a problem",
        "This is {} speaking.",
        "Hi, I'm {}.",
        "The name on the account is {}",
        "It's booked under the name {}.",
        "Thank you, {title} {last}.",
        "You can call me {}.",
        "I am {}, the account holder.",
        "Name: {}",
        "this is {title} {last} calling about my order",
        "Good morning {title} {last}, how can I help?",
        "my full name is {}",
        "Hi {}, thanks for calling.",
        "Am I speaking with {}?",
        "Thank you, {title} {last}.",
        "Good afternoon {title} {last}, I can see your order.",
        "this is {} speaking",
        "Thanks {}!",
        "Dr {last} asked me to call.",
    ),
    "dob": (
        "My date of birth is {}.",
        "DOB: {}",
        "I was born on {}.",
        "date of birth {} and postcode SW1",
        "my birthday is {}",
        "the account holder's date of birth is {}",
    ),
}
ZH_CONTEXT = {
    "phone": (
        "我的电话是{}",
        "手机号{}谢谢",
        "请拨打{}联系我",
        "联系方式：{}",
        "你们打{}就能找到我",
        "我电话{}，尽快回电",
        "号码是{}，麻烦核实一下",
        "{}是我本人的手机",
        "可以加我微信{}",
        "刚才用{}给你们打过电话",
    ),
    "email": (
        "我的邮箱是{}",
        "邮箱：{}谢谢",
        "发到{}就行",
        "请把发票发送至{}",
        "{}是我的邮箱",
        "联系邮箱{}，请尽快回复",
    ),
    "card": (
        "我的卡号是{}",
        "银行卡{}被扣了两次",
        "卡号：{}",
        "用{}这张卡付的款",
        "我的信用卡{}还没收到退款",
        "扣款卡{}",
    ),
    "cn_id": ("身份证号{}", "我的身份证是{}", "身份证号码：{}，请核实", "证件号{}", "{}是我的身份证号"),
    "iban": ("我的IBAN是{}", "请退款到{}", "IBAN：{}", "收款账户{}（国际汇款）"),
    "passport": ("我的护照号是{}", "护照号码：{}", "护照{}", "护照号码是{}，下个月到期", "用护照登记的，号码{}"),
    "account": ("宽带账号{}", "我的账号是{}", "帐号：{}", "银行卡号{}", "账户{}一直没有到账", "宽带主账号：{}"),
    "address": (
        "我家住在{}",
        "地址是{}",
        "收货地址：{}",
        "请寄到{}",
        "麻烦派人到{}看看",
        "{}这里信号很差",
        "我在{}，什么时候能修好",
    ),
    "name": (
        "我叫{}",
        "我是{}，想咨询一下",
        "您好，我是{last}{title}",
        "免贵姓{last}",
        "{last}{title}您好，请问有什么可以帮您",
        "联系人：{}",
        "收货人{}，电话稍后发你",
        "我的名字是{}",
        "姓名：{}",
        "请问是{last}{title}吗？",
        "{full}{title}您好",
        "谢谢{last}{title}",
        "尊敬的{full}{title}，您的订单已发货",
        "{full}您好，请问有什么可以帮您",
        "您好，{full}。",
        "我是客服{full}，很高兴为您服务",
        "好的{last}{title}，马上为您处理",
    ),
    "dob": (
        "出生日期{}",
        "我的生日是{}",
        "出生年月：{}",
        "我是{}出生的",
        "出生日期是{}，身份证后四位1234",
        "生日{}，麻烦核实",
    ),
}


def _digits(rnd: random.Random, count: int) -> str:
    return "".join(rnd.choice(string.digits) for _ in range(count))


def _group(digits: str, sizes: Sequence[int], sep: str) -> str:
    parts, cursor = [], 0
    for size in sizes:
        parts.append(digits[cursor : cursor + size])
        cursor += size
    if cursor < len(digits):
        parts.append(digits[cursor:])
    return sep.join(part for part in parts if part)


def phone_value(rnd: random.Random, lang: str) -> str:
    cn_mobile = rnd.choice(("13", "15", "18", "17", "19")) + str(rnd.randint(0, 9)) + _digits(rnd, 8)
    choices: list[Callable[[], str]] = [
        lambda: "+44 20 " + _digits(rnd, 4) + " " + _digits(rnd, 4),
        lambda: "+44 (0)20 " + _digits(rnd, 4) + " " + _digits(rnd, 4),
        lambda: "+447" + _digits(rnd, 9),
        lambda: "07" + _digits(rnd, 3) + " " + _digits(rnd, 6),
        lambda: "020 " + _digits(rnd, 4) + " " + _digits(rnd, 4),
        lambda: "01223 " + _digits(rnd, 6),
        lambda: f"({rnd.randint(201, 989)}) {rnd.randint(200, 999)}-{_digits(rnd, 4)}",
        lambda: f"{rnd.randint(201, 989)}-{rnd.randint(200, 999)}-{_digits(rnd, 4)}",
        lambda: f"{rnd.randint(201, 989)}.{rnd.randint(200, 999)}.{_digits(rnd, 4)}",
        lambda: f"+1 {rnd.randint(201, 989)} {rnd.randint(200, 999)} {_digits(rnd, 4)}",
        lambda: f"1-800-{rnd.randint(200, 999)}-{_digits(rnd, 4)}",
        lambda: f"{rnd.randint(201, 989)}{rnd.randint(200, 999)}{_digits(rnd, 4)}",
        lambda: "+49 30 " + _digits(rnd, rnd.choice((7, 8))),
        lambda: "+33 " + _group(str(rnd.randint(1, 7)) + _digits(rnd, 8), (1, 2, 2, 2, 2), " "),
        lambda: "+61 4" + _digits(rnd, 2) + " " + _digits(rnd, 3) + " " + _digits(rnd, 3),
        lambda: "+91 " + _digits(rnd, 5) + " " + _digits(rnd, 5),
        lambda: "+86 " + _group(cn_mobile, (3, 4, 4), " "),
        lambda: "+86" + cn_mobile,
        lambda: "0086 " + cn_mobile,
        lambda: _group(cn_mobile, (3, 4, 4), " "),
        lambda: _group(cn_mobile, (3, 4, 4), "-"),
        lambda: cn_mobile,
        lambda: "010-" + _digits(rnd, 8),
        lambda: "0" + rnd.choice(("571", "755", "591", "29", "21", "20")) + "-" + _digits(rnd, 8),
        lambda: "(0" + rnd.choice(("571", "755", "10", "21")) + ") " + _digits(rnd, 4) + " " + _digits(rnd, 4),
        lambda: f"(0{rnd.randint(2, 9)}){rnd.randint(2000, 9999)}-{_digits(rnd, 4)}",  # Taiwan
        lambda: f"{rnd.randint(200, 999)}-{_digits(rnd, 4)}",  # seven-digit local
        lambda: "0" + str(rnd.randint(1, 9)) + "".join(" " + _digits(rnd, 2) for _ in range(4)),  # France
        lambda: "0" + str(rnd.randint(1, 9)) + "".join("." + _digits(rnd, 2) for _ in range(4)),
    ]
    if lang == "zh":  # Chinese speakers mostly give mobiles and landlines, sometimes in full-width digits
        choices += [lambda: cn_mobile, lambda: cn_mobile.translate(FULL_WIDTH), lambda: "+86 " + cn_mobile]
    return rnd.choice(choices)()


def email_value(rnd: random.Random, lang: str) -> str:
    first, last = rnd.choice(EN_FIRST).lower(), rnd.choice(EN_LAST).lower().replace("'", "")
    local = rnd.choice(
        (
            f"{first}.{last}",
            f"{first}_{last}{rnd.randint(1, 99)}",
            f"{first[0]}{last}",
            f"{first}+billing",
            f"{first}.{last}+{rnd.choice(('shop', 'news', 'x'))}",
            _digits(rnd, rnd.randint(6, 10)).lstrip("0") or "12345678",
            f"{last}{rnd.randint(1960, 2005)}",
            f"{first.capitalize()}.{last.capitalize()}",
        )
    )
    domain = rnd.choice(
        (
            "gmail.com",
            "163.com",
            "qq.com",
            "126.com",
            "outlook.com",
            "yahoo.com.cn",
            "example.co.uk",
            "mail.example-corp.com",
            "sina.cn",
            "hotmail.fr",
            "uni.edu.au",
            "company.com.cn",
        )
    )
    value = f"{local}@{domain}"
    return value.upper() if rnd.random() < 0.03 else value


def _luhn_complete(prefix: str, length: int, rnd: random.Random) -> str:
    body = prefix + _digits(rnd, length - len(prefix) - 1)
    for check in string.digits:
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("a Luhn check digit always exists")


def card_value(rnd: random.Random, lang: str) -> str:
    network = rnd.choice(("visa", "mc", "mc2", "amex", "discover", "unionpay", "unionpay16", "jcb", "diners"))
    prefix, length = {
        "visa": ("4", 16),
        "mc": (str(rnd.randint(51, 55)), 16),
        "mc2": (str(rnd.randint(2221, 2720)), 16),
        "amex": (rnd.choice(("34", "37")), 15),
        "discover": ("6011", 16),
        "unionpay": ("62" + _digits(rnd, 4), 19),
        "unionpay16": ("62" + _digits(rnd, 4), 16),
        "jcb": ("35" + str(rnd.randint(28, 89)), 16),
        "diners": ("36", 14),
    }[network]
    if lang == "zh" and rnd.random() < 0.5:
        prefix, length = "62" + _digits(rnd, 4), rnd.choice((16, 19))
    number = _luhn_complete(prefix, length, rnd)
    style = rnd.random()
    if length == 15 and style < 0.6:
        return _group(number, (4, 6, 5), rnd.choice((" ", "-")))
    if style < 0.45:
        return _group(number, (4, 4, 4, 4), " ")
    if style < 0.6:
        return _group(number, (4, 4, 4, 4), "-")
    return number


_CN_REGIONS = (
    "110105",
    "110108",
    "310104",
    "440106",
    "440305",
    "330106",
    "320115",
    "510107",
    "610112",
    "420111",
    "120101",
    "440524",
    "350102",
    "370202",
    "210102",
)


def cn_id_value(rnd: random.Random, lang: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    birth = f"{rnd.randint(1940, 2006)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
    body = rnd.choice(_CN_REGIONS) + birth + _digits(rnd, 3)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    value = body + check
    if check == "X" and rnd.random() < 0.3:
        value = value[:-1] + "x"
    if rnd.random() < 0.1:
        value = f"{value[:6]} {value[6:14]} {value[14:]}"
    return value


def _iban_check(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    number = int("".join(str(int(ch, 36)) for ch in rearranged))
    return f"{98 - number % 97:02d}"


def iban_value(rnd: random.Random, lang: str) -> str:
    country = rnd.choice(sorted(IBAN_FORMATS))
    bban = ""
    layout = IBAN_FORMATS[country]
    for count, code in ((int(n), c) for n, c in _layout(layout)):
        pool = {"n": string.digits, "a": string.ascii_uppercase, "c": string.ascii_uppercase + string.digits}[code]
        bban += "".join(rnd.choice(pool) for _ in range(count))
    compact = country + _iban_check(country, bban) + bban
    if rnd.random() < 0.55:
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    return compact


def _layout(layout: str) -> Iterator[tuple[str, str]]:
    number = ""
    for ch in layout:
        if ch.isdigit():
            number += ch
        else:
            yield number, ch
            number = ""


def passport_value(rnd: random.Random, lang: str) -> str:
    return rnd.choice(
        (
            lambda: "E" + _digits(rnd, 8),
            lambda: "E" + rnd.choice(string.ascii_uppercase) + _digits(rnd, 7),
            lambda: "G" + _digits(rnd, 8),
            lambda: _digits(rnd, 9),
            lambda: rnd.choice(string.ascii_uppercase) + _digits(rnd, 8),
            lambda: "C" + _digits(rnd, 2) + "X" + _digits(rnd, 2) + "T" + _digits(rnd, 2),  # German style
            lambda: _digits(rnd, 2) + "".join(rnd.choice(string.ascii_uppercase) for _ in range(2)) + _digits(rnd, 5),
            lambda: rnd.choice("JKLMNPZ") + _digits(rnd, 7),  # India
            lambda: "K" + _digits(rnd, 7) + f"({rnd.randint(0, 9)})",  # Hong Kong
            lambda: "".join(rnd.choice(string.ascii_uppercase) for _ in range(2)) + _digits(rnd, 6),  # Canada
        )
    )()


def account_value(rnd: random.Random, lang: str) -> str:
    return rnd.choice(
        (
            lambda: _digits(rnd, 8),
            lambda: _digits(rnd, rnd.randint(9, 13)),
            lambda: "0" + _digits(rnd, 11),
            lambda: f"{_digits(rnd, 2)}-{_digits(rnd, 2)}-{_digits(rnd, 2)}",  # UK sort code
            lambda: _group(_digits(rnd, 12), (4, 4, 4), " "),
        )
    )()


def address_value(rnd: random.Random, lang: str) -> str:
    if lang == "en":
        number = str(rnd.choice((rnd.randint(1, 99), rnd.randint(100, 9999)))) + rnd.choice(("",) * 8 + ("B", "a"))
        street = rnd.choice(STREETS_EN)
        value = f"{number} {street}"
        if rnd.random() < 0.2:
            value += rnd.choice((", Apt 4B", ", Flat 2", " Suite 300", ", Apt. 12"))
        if rnd.random() < 0.25:
            value = value.lower()
        return value
    province, districts = rnd.choice(ZH_PROVINCES)
    road = rnd.choice(ZH_ROADS)
    number = f"{rnd.randint(1, 999)}号"
    unit = rnd.choice(
        (
            "",
            "",
            f"{rnd.randint(1, 30)}栋{rnd.randint(1, 6)}单元{rnd.randint(101, 2505)}室",
            f"{rnd.randint(1, 90)}弄{rnd.randint(1, 40)}号",
            f"{rnd.randint(1, 20)}号楼",
        )
    )
    style = rnd.random()
    if style < 0.45:
        return province + rnd.choice(districts) + road + number + unit
    if style < 0.65:
        return rnd.choice(districts) + road + number + unit
    if style < 0.85:
        return road + number + unit
    village = rnd.choice(("石埝村", "梨河村", "王家庄村", "新安村"))
    return province + rnd.choice(districts) + rnd.choice(("禄口镇", "城东镇", "太和镇")) + village


def name_value(rnd: random.Random, lang: str) -> tuple[str, str, str]:
    """(full name, family name, title). Chinese given names are drawn character by character (many distinct names);
    one Chinese name in five has a family name the redactor's list does not hold."""
    if lang == "en":
        first, last = rnd.choice(EN_FIRST), rnd.choice(EN_LAST)
        full = rnd.choice((f"{first} {last}", f"{first} {last}", first))
        if rnd.random() < 0.15:
            full = full.lower()
        return full, last, rnd.choice(EN_TITLES)
    roll = rnd.random()
    if roll < 0.05:
        surname = rnd.choice(ZH_COMPOUND)
    elif roll < 0.25:
        surname = rnd.choice(ZH_HELD_OUT_SURNAMES)
    else:
        surname = rnd.choice(ZH_SURNAMES)
    given = "".join(rnd.choice(ZH_GIVEN) for _ in range(rnd.choice((1, 2, 2))))
    return surname + given, surname, rnd.choice(ZH_TITLES)


_EN_MONTHS = "January February March April May June July August September October November December".split()
_ORDINALS = "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split()


def dob_value(rnd: random.Random, lang: str) -> str:
    year, month, day = rnd.randint(1935, 2008), rnd.randint(1, 12), rnd.randint(1, 28)
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    if lang == "zh":
        return rnd.choice(
            (
                f"{year}年{month}月{day}日",
                f"{year}年{month}月{day}号",
                f"{year % 100:02d}年{month}月{day}号",
                f"{year}-{month:02d}-{day:02d}",
                f"{year}{month:02d}{day:02d}",
                f"{year}年{month}月",
            )
        )
    name = _EN_MONTHS[month - 1]
    value = rnd.choice(
        (
            f"{day}{suffix} of {name} {year}",
            f"{name} {day}, {year}",
            f"{name} {day}{suffix} {year}",
            f"{day} {name[:3]} {year}",
            f"{day:02d}/{month:02d}/{year}",
            f"{month}/{day}/{year % 100:02d}",
            f"{year}-{month:02d}-{day:02d}",
            f"the {_ORDINALS[min(day, 12) - 1]} of {name} {year}",
        )
    )
    return value.lower() if rnd.random() < 0.15 else value


VALUES: dict[str, Callable[[random.Random, str], str]] = {
    "phone": phone_value,
    "email": email_value,
    "card": card_value,
    "cn_id": cn_id_value,
    "iban": iban_value,
    "passport": passport_value,
    "account": account_value,
    "address": address_value,
    "dob": dob_value,
}
SHARES = {
    "phone": 400,
    "email": 200,
    "card": 250,
    "cn_id": 150,
    "iban": 200,
    "passport": 150,
    "account": 150,
    "address": 250,
    "name": 400,
    "dob": 200,
}
"""Samples per kind out of 2,000 (scaled for other counts): the kinds customers give most, most often."""


def generate(count: int = 2000, seed: int = 0) -> list[Sample]:
    """``count`` generated sentences, each holding one piece of personal data, half English and half Chinese."""
    rnd = random.Random(seed)
    total = sum(SHARES.values())
    samples: list[Sample] = []
    for kind, share in SHARES.items():
        for index in range(round(count * share / total)):
            lang = "zh" if index % 2 else "en"
            samples.append(_sample(rnd, kind, lang))
    return samples


def _sample(rnd: random.Random, kind: str, lang: str) -> Sample:
    contexts = (ZH_CONTEXT if lang == "zh" else EN_CONTEXT)[kind]
    template = rnd.choice(contexts)
    if kind == "name":
        full, last, title = name_value(rnd, lang)
        if "{full}" in template:
            title = "先生" if title == "经理" else title  # 经理 is also a job: only "王经理" (a family name) is a name
            value, template = full, template.replace("{title}", title).replace("{full}", "{}")
        elif "{last}" in template:
            value, template = last, template.replace("{title}", title).replace("{last}", "{}")
        else:
            value = full
    else:
        value = VALUES[kind](rnd, lang)
    before, after = template.split("{}", 1)
    if lang == "en" and kind != "name" and rnd.random() < 0.15:  # chat and speech-to-text: no capitals
        before, after = before.lower(), after.lower()
    if lang == "zh" and rnd.random() < 0.3:  # a space typed around the value now and then
        before, after = before + " ", " " + after if after else after
    return Sample(kind, lang, before + value + after, len(before), len(before) + len(value))


# --- measuring --------------------------------------------------------------------------------------------------

Spans = list[tuple[int, int, str]]


@dataclass
class KindRecall:
    total: int = 0
    found: int = 0
    right_kind: int = 0
    over_redacted: int = 0
    misses: list[str] = field(default_factory=list)


def covered(sample: Sample, spans: Spans) -> bool:
    """Every non-space character of the value is inside some span."""
    return all(
        any(start <= position < end for start, end, _ in spans)
        for position in range(sample.start, sample.end)
        if not sample.text[position].isspace()
    )


def over_redacted(sample: Sample, spans: Spans) -> bool:
    """A span reaches a letter or Han character of the sentence outside the value (not just a separator)."""
    for start, end, _ in spans:
        for position in range(start, end):
            if sample.start <= position < sample.end:
                continue
            ch = sample.text[position]
            if ch.isalpha() and ch not in "()":
                return True
    return False


def recall_table(samples: Sequence[Sample], spans_of: Sequence[Spans], kinds_of: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    per_kind: dict[str, KindRecall] = defaultdict(KindRecall)
    for sample, spans in zip(samples, spans_of, strict=True):
        tally = per_kind[sample.kind]
        tally.total += 1
        if covered(sample, spans):
            tally.found += 1
            own = [k for s, e, k in spans if s < sample.end and sample.start < e]
            mapped = [kinds_of.get(k, k) if kinds_of else k for k in own]
            tally.right_kind += sample.kind in mapped
        else:
            tally.misses.append(sample.text)
        tally.over_redacted += over_redacted(sample, spans)
    return per_kind


@dataclass
class CorpusTurn:
    corpus: str
    conversation_id: str
    turn_index: int
    text: str


def corpus_turns(corpus: str) -> list[CorpusTurn]:
    turns = []
    with (EXTERNAL / corpus).open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            for index, turn in enumerate(record["turns"]):
                if turn.get("speaker") != "action" and isinstance(turn.get("text"), str):
                    turns.append(CorpusTurn(corpus, str(record["id"]), index, turn["text"]))
    return turns


def judgement_key(turn: CorpusTurn, start: int, kind: str) -> str:
    return f"{turn.corpus}:{turn.conversation_id}:{turn.turn_index}:{kind}:{start}"


@dataclass
class CorpusFindings:
    corpus: str
    turns: int
    redacted_turns: int
    by_kind: Counter[str]
    hits: dict[str, list[tuple[CorpusTurn, int, int]]]


def corpus_findings(corpus: str, turns: Sequence[CorpusTurn], spans_of: Sequence[Spans]) -> CorpusFindings:
    by_kind: Counter[str] = Counter()
    hits: dict[str, list[tuple[CorpusTurn, int, int]]] = defaultdict(list)
    redacted = 0
    for turn, spans in zip(turns, spans_of, strict=True):
        redacted += bool(spans)
        for kind in {k for _, _, k in spans}:
            by_kind[kind] += 1
        for start, end, kind in spans:
            hits[kind].append((turn, start, end))
    return CorpusFindings(corpus, len(turns), redacted, by_kind, hits)


def sample_hits(findings: CorpusFindings, kind: str, size: int, seed: int) -> list[tuple[CorpusTurn, int, int]]:
    hits = findings.hits.get(kind, [])
    return random.Random(f"{seed}:{findings.corpus}:{kind}").sample(hits, min(size, len(hits)))


def snippet(turn: CorpusTurn, start: int, end: int, width: int = 40) -> str:
    text = turn.text
    left, right = max(0, start - width), min(len(text), end + width // 2)
    shown = text[left:start] + "⟦" + text[start:end] + "⟧" + text[end:right]
    return " ".join(shown.split()).replace("|", "/")


# --- presidio -----------------------------------------------------------------------------------------------------


PRESIDIO_SECONDS: dict[int, float] = {}
"""Wall-clock seconds of each presidio run (including its start-up, about 2 s), by the number of texts."""


def presidio_spans(python: Path, texts: Sequence[str]) -> list[Spans] | None:
    """Spans presidio's pattern recognizers find (score >= PRESIDIO_THRESHOLD), or None when it cannot run."""
    if not python.exists():
        return None
    started = time.perf_counter()
    payload = "".join(json.dumps(text, ensure_ascii=False) + "\n" for text in texts)
    completed = subprocess.run(
        [str(python), str(Path(__file__).with_name("pii_presidio.py"))],
        input=payload,
        capture_output=True,
        text=True,
        check=False,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "TLDEXTRACT_CACHE": "/tmp/tldextract-cache"},
    )
    if completed.returncode != 0:
        print(completed.stderr[-2000:])
        return None
    PRESIDIO_SECONDS[len(texts)] = time.perf_counter() - started
    rows = [json.loads(line) for line in completed.stdout.splitlines()]
    return [
        [
            (start, end, PRESIDIO_KINDS.get(entity, entity))
            for start, end, entity, score in row
            if score >= PRESIDIO_THRESHOLD
        ]
        for row in rows
    ]


# --- cost ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    transcript_us: float
    """Redacting every turn of a conversation (report.html, the review store)."""
    turn_us: float
    result_us: float
    """Redacting a result's evidence and metadata (what every audit pays), on results of ``RESULT_SOP``."""
    conversations: int
    results: int


RESULT_SOP = "general-inbound-call"
RESULTS_TIMED = 500


def redaction_cost(policy: RedactionPolicy, repeats: int = 3) -> Cost:
    """Microseconds per star_dev conversation, best of ``repeats``."""
    from auditor.auditor import Auditor
    from auditor.embeddings.hashing import HashingEmbedder
    from auditor.sop.loading import resolve_sop
    from auditor.transcripts.records import conversation_from_mapping

    records = [json.loads(line) for line in (EXTERNAL / "star_dev.jsonl").open(encoding="utf-8")]
    transcripts = [[turn["text"] for turn in record["turns"]] for record in records]
    turns = sum(len(texts) for texts in transcripts)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for texts in transcripts:
            for text in texts:
                policy.redact(text)
        best = min(best, time.perf_counter() - started)
    conversations = [
        conversation_from_mapping(r, source="star_dev", default_id=r["id"]) for r in records if r["turns"]
    ][:RESULTS_TIMED]
    auditor = Auditor(resolve_sop(RESULT_SOP), HashingEmbedder(), redaction=RedactionPolicy.off())
    results = auditor.audit_many(conversations)
    best_results = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for result in results:
            policy.redact_result(result)
        best_results = min(best_results, time.perf_counter() - started)
    return Cost(
        best / len(transcripts) * 1e6,
        best / turns * 1e6,
        best_results / len(results) * 1e6,
        len(transcripts),
        len(results),
    )


# --- the report -----------------------------------------------------------------------------------------------


def run(
    count: int, seed: int, sample_size: int, presidio: Path | None, progress: Callable[[str], None]
) -> tuple[str, str]:
    """The section for docs/benchmarks.md, and the sampled redactions to judge (printed, never written: they quote
    the external conversations, personal data included)."""
    samples = generate(count, seed)
    texts = [sample.text for sample in samples]
    ours_all = [find_pii(text) for text in texts]
    default = RedactionPolicy()
    ours_default = [default.find(text) for text in texts]
    progress(f"generated {len(samples)} samples")
    theirs = presidio_spans(presidio, texts) if presidio is not None else None
    if presidio is not None and theirs is None:
        progress(f"presidio could not run with {presidio}; its columns are left out")

    sections = [recall_section(samples, ours_all, ours_default, theirs)]
    judgements = json.loads(JUDGEMENTS.read_text(encoding="utf-8")) if JUDGEMENTS.exists() else {}
    if not all((EXTERNAL / corpus).exists() for corpus in CORPORA):
        sections.append(f"\nExternal conversations not found in {EXTERNAL}: false positives not measured.")
        return "\n".join(sections), ""
    rows, examples = [], []
    for corpus in CORPORA:
        turns = corpus_turns(corpus)
        started = time.perf_counter()
        findings = corpus_findings(corpus, turns, [default.find(turn.text) for turn in turns])
        seconds = time.perf_counter() - started
        theirs_found = None
        if theirs is not None:
            presidio_turn_spans = presidio_spans(presidio, [turn.text for turn in turns]) if presidio else None
            if presidio_turn_spans is not None:
                theirs_found = corpus_findings(corpus, turns, presidio_turn_spans)
        rows.append((findings, judged_kinds(findings, judgements, sample_size, seed), seconds, theirs_found))
        examples.append(examples_section(findings, judgements, sample_size, seed))
        progress(f"{corpus}: {findings.redacted_turns}/{findings.turns} turns redacted, {seconds:.1f} s")
    sections.append(false_positive_section(rows))
    cost = redaction_cost(default)
    sections.append(
        f"\n**Cost** (default policy, best of 3): a result's evidence and metadata, what every audit pays: "
        f"**{cost.result_us:.0f} µs a conversation** ({cost.results} `star_dev.jsonl` conversations audited against "
        f"`{RESULT_SOP}`); every turn of a transcript, what report.html and the review store pay for a conversation "
        f"they show or keep: {cost.transcript_us:.0f} µs ({cost.turn_us:.1f} µs a turn, {cost.conversations:,} "
        "conversations). Against the batch's ~13 ms a conversation (77 conversations/s steady, section throughput): "
        f"{cost.result_us / 13_000:.1%} and {cost.transcript_us / 13_000:.1%}."
    )
    return "\n".join(sections), "\n".join(examples)


@dataclass(frozen=True)
class JudgedKind:
    turns: int
    sampled: int
    false: int
    judged: int


def judged_kinds(
    findings: CorpusFindings, judgements: dict[str, str], sample_size: int, seed: int
) -> tuple[dict[str, JudgedKind], float]:
    """Per kind: turns, sampled redactions, those judged false, those judged; and the estimated false turns."""
    per_kind: dict[str, JudgedKind] = {}
    estimate = 0.0
    for kind, count in findings.by_kind.most_common():
        picked = sample_hits(findings, kind, sample_size, seed)
        verdicts = [judgements.get(judgement_key(turn, start, kind)) for turn, start, _ in picked]
        known = [verdict for verdict in verdicts if verdict in ("pii", "not")]
        false = sum(verdict == "not" for verdict in known)
        per_kind[kind] = JudgedKind(count, len(picked), false, len(known))
        estimate += count * false / len(known) if known else 0.0
    return per_kind, estimate


FALSE_POSITIVES_SEEN = (
    "What the judged false positives were: in STC-3, Weibo service-order numbers that pass both the Luhn sum and a "
    'card prefix (redacted as cards), "312 National Highway" and "township road" read as street addresses, the '
    'word 小编 ("the editor", in English "Xiao Bian") and "this is Beijing" read as names, a village '
    "word and the title of a regulation read as Chinese addresses. What is redacted but real: STAR customers' "
    "names and bank account numbers, Weibo complainants' mobiles, QQ e-mails, broadband accounts and home "
    "addresses, the phone numbers and addresses of MultiWOZ restaurants and hotels and of their taxi drivers, "
    "companies' hotlines. Those last are not private, but they are phone numbers and addresses: a policy without "
    "`phone` or `address` keeps them (and the customers' own)."
)


def recall_section(
    samples: Sequence[Sample], ours_all: Sequence[Spans], ours_default: Sequence[Spans], theirs: Sequence[Spans] | None
) -> str:
    every = recall_table(samples, ours_all)
    default = recall_table(samples, ours_default)
    presidio = recall_table(samples, theirs, PRESIDIO_KINDS) if theirs is not None else None
    header = "| kind | samples | found (all kinds on) | right kind | over-redacted | found (default policy) |"
    rule = "|---|---|---|---|---|---|"
    if presidio is not None:
        header += " presidio found | presidio right kind |"
        rule += "---|---|"
    lines = [
        f"Generated set: {len(samples):,} sentences (seeded, half English, half Chinese), one piece of personal "
        f"data each. Target: recall >= {TARGET_RECALL}. Default policy: {', '.join(DEFAULT_KINDS)}.",
        "",
        header,
        rule,
    ]
    totals = Counter[str]()
    for kind in SHARES:
        tally, on = every[kind], default[kind]
        row = (
            f"| {kind} | {tally.total} | {tally.found / tally.total:.3f} | {tally.right_kind / tally.total:.3f} | "
            f"{tally.over_redacted} | {on.found / on.total:.3f} |"
        )
        totals.update(
            total=tally.total, found=tally.found, right=tally.right_kind, over=tally.over_redacted, default=on.found
        )
        if presidio is not None:
            theirs_tally = presidio[kind]
            row += (
                f" {theirs_tally.found / theirs_tally.total:.3f} | {theirs_tally.right_kind / theirs_tally.total:.3f} |"
            )
            totals.update(presidio=theirs_tally.found, presidio_right=theirs_tally.right_kind)
        lines.append(row)
    total = totals["total"]
    row = (
        f"| **all** | {total} | **{totals['found'] / total:.3f}** | {totals['right'] / total:.3f} | {totals['over']} | "
        f"**{totals['default'] / total:.3f}** |"
    )
    if presidio is not None:
        row += f" **{totals['presidio'] / total:.3f}** | {totals['presidio_right'] / total:.3f} |"
    lines.append(row)
    lines.append(name_breakdown(samples, ours_all))
    misses = [(kind, text) for kind, tally in every.items() for text in tally.misses]
    if misses:
        lines.append("\nMissed (all kinds on), up to 3 per kind:\n")
        shown: Counter[str] = Counter()
        for kind, text in misses:
            if shown[kind] < 3:
                lines.append(f"- {kind}: `{text}`")
                shown[kind] += 1
    if presidio is not None:
        lines.append(
            f"\npresidio-analyzer (pattern recognizers, no spaCy model; score >= {PRESIDIO_THRESHOLD}) has no "
            "recognizer for Chinese resident IDs, addresses or names without an NER model; its phone recognizer "
            "(python-phonenumbers) and credit-card pattern use `\\b`, which does not fire between a digit and a Han "
            "character. It finds fewer of every kind and is slower (it runs python-phonenumbers once per region; "
            "times in the table below), so it is not a project dependency; the auditor's own patterns are in "
            "`auditor/privacy/redaction.py`."
        )
    return "\n".join(lines)


def name_group(sample: Sample) -> str:
    """Which kind of name a name sample holds (its language; for Chinese, where its family name comes from)."""
    if sample.lang == "en":
        return "English"
    if sample.value[:2] in ZH_COMPOUND:
        return "Chinese, compound family name"
    if sample.value[0] not in ZH_HELD_OUT_SURNAMES:
        return "Chinese, family name in the redactor's common list"
    if sample.value[0] in BAIJIAXING:
        return "Chinese, held-out family name (in 百家姓)"
    return "Chinese, held-out family name (not in 百家姓)"


def name_breakdown(samples: Sequence[Sample], spans_of: Sequence[Spans]) -> str:
    """Name recall (all kinds on) by language and by where the Chinese family name comes from."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for sample, spans in zip(samples, spans_of, strict=True):
        if sample.kind != "name":
            continue
        found = covered(sample, spans)
        for group in {name_group(sample), "English" if sample.lang == "en" else "Chinese, all"}:
            tally[group][0] += 1
            tally[group][1] += found
    order = sorted(tally, key=lambda group: (not group.startswith("English"), group != "Chinese, all", group))
    lines = [
        "",
        f"Names by language and family name (all kinds on). The held-out family names ({ZH_HELD_OUT_SURNAMES}) are "
        "in no list of the redactor's own; those in 百家姓 (the redactor's full list of family names, a real-world "
        "list) are found through it, the others only where jieba's dictionary or its part-of-speech cut reads a name.",
        "",
        "| names | samples | found |",
        "|---|---|---|",
    ]
    lines += [f"| {group} | {total} | {found / total:.3f} |" for group in order for total, found in [tally[group]]]
    return "\n".join(lines)


def false_positive_section(rows) -> str:  # type: ignore[no-untyped-def]
    with_presidio = any(theirs is not None for *_, theirs in rows)
    lines = [
        "\nFalse positives: spoken turns of the external dev conversations that lose any text with the default "
        'policy. "Redacted" is the upper bound (it counts real personal data); "judged false" scales each kind\'s '
        "count by the share of its sampled redactions (up to 20 a kind, seeded) judged not to be what the kind says "
        f"(`bench/pii_judgements.json`). Target: <= {TARGET_FALSE_POSITIVES:.0%} of turns.",
        "",
        "| corpus | turns | redacted | judged false | per kind: turns (false / judged) | time |"
        + (" presidio: redacted | presidio per kind | presidio time (with ~2 s start-up) |" if with_presidio else ""),
        "|---|---|---|---|---|---|" + ("---|---|---|" if with_presidio else ""),
    ]
    for findings, (per_kind, estimate), seconds, theirs in rows:
        kinds = ", ".join(f"{kind} {j.turns} ({j.false}/{j.judged})" for kind, j in per_kind.items())
        unjudged = sum(j.sampled - j.judged for j in per_kind.values())
        note = f" ({unjudged} samples unjudged)" if unjudged else ""
        row = (
            f"| {findings.corpus} | {findings.turns:,} | {findings.redacted_turns} "
            f"({findings.redacted_turns / findings.turns:.2%}) | **{estimate / findings.turns:.2%}**{note} | "
            f"{kinds or '-'} | {seconds:.1f} s |"
        )
        if with_presidio:
            if theirs is None:
                row += " - | - | - |"
            else:
                their_kinds = ", ".join(f"{kind} {count}" for kind, count in theirs.by_kind.most_common())
                seconds_theirs = PRESIDIO_SECONDS.get(theirs.turns, float("nan"))
                row += (
                    f" {theirs.redacted_turns} ({theirs.redacted_turns / theirs.turns:.2%}) | {their_kinds or '-'} | "
                    f"{seconds_theirs:.1f} s |"
                )
        lines.append(row)
    lines += ["", FALSE_POSITIVES_SEEN]
    return "\n".join(lines)


def examples_section(findings: CorpusFindings, judgements: dict[str, str], size: int, seed: int) -> str:
    lines = [f"**{findings.corpus}** (judged: P what its kind says, F false positive, ? not judged)", ""]
    for kind in KIND_NAMES:
        picked = sample_hits(findings, kind, size, seed)
        if not picked:
            continue
        lines.append(f"- {kind} ({findings.by_kind[kind]} turns):")
        for turn, start, end in picked:
            verdict = {"pii": "P", "not": "F"}.get(judgements.get(judgement_key(turn, start, kind), ""), "?")
            lines.append(f"  - {verdict} `{snippet(turn, start, end)}`")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000, help="generated pieces of personal data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample", type=int, default=20, help="redactions listed (and judged) per corpus and kind")
    parser.add_argument(
        "--presidio", type=Path, default=PRESIDIO_PYTHON, help="Python of a venv with presidio-analyzer ('' to skip)"
    )
    parser.add_argument("--write", action="store_true", help="update the pii-redaction section of docs/benchmarks.md")
    args = parser.parse_args()
    presidio = args.presidio if str(args.presidio) not in ("", ".") else None
    text, examples = run(args.count, args.seed, args.sample, presidio, progress=lambda line: print(line, flush=True))
    print(text)
    print("\n## What was redacted (samples to judge; not written to docs: they quote the external data)\n")
    print(examples)
    if args.write:
        replace_section("pii-redaction", COMMAND, text)


if __name__ == "__main__":
    main()
