"""Find personal data in English and Chinese text and replace it by its kind: ``[PHONE]``, ``[EMAIL]``, ``[CARD]`` ...

Each kind is a few patterns plus, where the format has one, its checksum (Luhn and an issuer prefix for card
numbers, ISO 7064 MOD 11-2 for Chinese resident IDs, mod-97 for IBANs), so order and reference numbers are not taken
for card numbers. Kinds without a checksum that look like other text (passports, bank accounts, names) fire only
next to words that announce them ("passport", "护照", "account number", "my name is", "我叫", "王先生"); the
pattern then marks the part to hide with a group named ``pii``. Patterns are bounded with look-arounds on ASCII
letters and digits instead of ``\\b``: in Python a Han character is a word character, so ``\\b`` never fires in
"电话13812345678谢谢". Full-width digits and letters are read as ASCII (the text is mapped one character to one,
so positions do not move).

Recall and false positives of every kind are measured by ``bench.pii_redaction`` (docs/benchmarks.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

_FULL_WIDTH = str.maketrans(
    {chr(0xFF10 + digit): str(digit) for digit in range(10)}
    | {chr(0xFF21 + letter): chr(0x41 + letter) for letter in range(26)}
    | {chr(0xFF41 + letter): chr(0x61 + letter) for letter in range(26)}
    | {"\uff0b": "+", "\uff0d": "-", "\u3000": " ", "\uff20": "@", "\uff0e": ".", "\uff08": "(", "\uff09": ")"}
)

_NOT_ALNUM_BEFORE = r"(?<![A-Za-z0-9])"
_NOT_ALNUM_AFTER = r"(?![A-Za-z0-9])"
_NOT_DIGIT_BEFORE = r"(?<![0-9])"
_NOT_DIGIT_AFTER = r"(?![0-9])"
_HAN = r"\u4e00-\u9fff"


@dataclass(frozen=True)
class PiiKind:
    """One kind of personal data: its placeholder, patterns, an optional check, and what a text needs to hold it.

    A pattern may mark the part to hide with a group named ``pii`` (the rest is the context that announced it).
    ``check`` returns how many characters of a found span are personal data (0: none), so a span can be trimmed.
    ``needs`` is a cheap pre-check: "digit" (an ASCII or full-width digit), "@", or "" (always looked at).
    """

    name: str
    placeholder: str
    patterns: tuple[re.Pattern[str], ...]
    check: Callable[[str], int] | None = None
    needs: str = "digit"
    description: str = ""
    cue: re.Pattern[str] | None = None
    """When set, only a text where this pattern is found is looked at (a cheap pre-check for the costly patterns)."""
    _marked: tuple[bool, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_marked", tuple("pii" in pattern.groupindex for pattern in self.patterns))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where this kind occurs in ``text`` (already mapped to ASCII digits), checked and trimmed."""
        found = []
        for pattern, marked in zip(self.patterns, self._marked, strict=True):
            for match in pattern.finditer(text):
                start, end = match.span("pii") if marked and match.group("pii") is not None else match.span()
                if self.check is not None:
                    end = start + self.check(text[start:end])
                if end > start:
                    found.append((start, end))
        return found


def luhn_valid(number: str) -> bool:
    """The Luhn checksum of payment card numbers (digits only; separators are ignored)."""
    digits = [int(ch) for ch in number if ch.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0


def card_issuer_known(number: str) -> bool:
    """Whether the digits start like a card of a known network, with a length it issues (ISO/IEC 7812 ranges).

    Visa 4 (13, 16, 19 digits); Mastercard 51-55 and 2221-2720 (16); Amex 34, 37 (15); Diners 30, 36, 38, 39
    (14-16); JCB 35 (16-19); Discover, UnionPay, Maestro, RuPay 50, 56-69 (13-19). Order numbers starting 1, 7,
    8 or 9 are not card numbers even when their Luhn sum happens to come out right (one in ten does).
    """
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) < 4:
        return False
    length, two = len(digits), int(digits[:2])
    if digits[0] == "4":
        return length in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return length == 16
    if two in (34, 37):
        return length == 15
    if two in (30, 36, 38, 39):
        return 14 <= length <= 16
    if two == 35:
        return 16 <= length <= 19
    return (two == 50 or 56 <= two <= 69) and 13 <= length <= 19


def _card_length(span: str) -> int:
    return len(span) if luhn_valid(span) and card_issuer_known(span) else 0


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def chinese_id_valid(text: str) -> bool:
    """An 18-character PRC resident ID: 17 digits, a valid birth month/day, and the MOD 11-2 check character."""
    compact = text.replace(" ", "").upper()
    if len(compact) != 18 or not compact[:17].isdigit():
        return False
    month, day = int(compact[10:12]), int(compact[12:14])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(compact[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == compact[17]


def _chinese_id_length(span: str) -> int:
    return len(span) if chinese_id_valid(span) else 0


def iban_valid(text: str) -> bool:
    """ISO 13616 IBAN: country code, check digits, and the mod-97 remainder of 1."""
    compact = re.sub(r"[\s-]", "", text).upper()
    if not 15 <= len(compact) <= 34 or not compact.isascii() or not compact.isalnum():
        return False
    if not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def _iban_length(span: str) -> int:
    """The longest valid IBAN the span starts with (a word after it may have been read as its last group)."""
    candidate = span
    while candidate:
        if iban_valid(candidate):
            return len(candidate)
        cut = max(candidate.rfind(" "), candidate.rfind("-"))
        candidate = candidate[:cut] if cut > 0 else ""
    return 0


def _digits_between(low: int, high: int) -> Callable[[str], int]:
    def check(span: str) -> int:
        return len(span) if low <= sum(ch.isdigit() for ch in span) <= high else 0

    return check


def _compile(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern) for pattern in patterns)


# --- phones -------------------------------------------------------------------------------------------------------

_PHONE_CUE = (
    r"(?:(?<![A-Za-z])(?i:phone|telephone|tel\.?|mobile|cell(?:phone)?|call\s+me|reach\s+me|text\s+me|whatsapp|"
    r"contact\s+number|(?:my|your|his|her|the)\s+(?:cell\s+|mobile\s+|phone\s+|contact\s+)?number\s+is|"
    r"call\s+(?:me\s+)?(?:back\s+)?(?:on|at))|电话|電話|手机|手機|联系方式|聯繫方式|来电|致电|打给我)"
)
_PHONE_PATTERNS = _compile(
    # international: +CC or 00CC and at least 8 more digits, with optional separators / (area) ("0011061" is not)
    r"(?:\+(?<![0-9A-Za-z+-]\+)|0(?<![0-9A-Za-z+-]0)0)(?=(?:[^0-9\n]{0,3}[0-9]){8})"
    r"[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,4}\)?){2,5}[0-9]" + _NOT_DIGIT_AFTER,
    # Chinese mobile: 1[3-9]x xxxx xxxx, with optional separators
    r"1(?<![0-9]1)[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}" + _NOT_DIGIT_AFTER,
    # North American with separators: (415) 555-0132, 415-555-0132, 415.555.0132, 1-800-555-0199
    _NOT_DIGIT_BEFORE
    + r"(?:1[ .-])?(?:\([2-9][0-9]{2}\)[ .-]?|[2-9][0-9]{2}[ .-])[0-9]{3}[ .-][0-9]{4}"
    + _NOT_DIGIT_AFTER,
    # national numbers with a trunk 0: 020 7946 0958, 0755-83762288, (0571) 8888 6666, 07700 900123
    r"[(0](?<![0-9A-Za-z.,][(0])(?:(?<=\()0[1-9][0-9]{1,3}\)|(?<=0)[1-9][0-9]{1,3})"
    r"[ -]?[0-9]{3,4}[ -]?[0-9]{3,4}(?![0-9]|[.,][0-9])",
    # any 7-15 digit number right after a word that announces a phone number ("call me on 4155550132")
    _PHONE_CUE + r"[^0-9\n]{0,12}?" + _NOT_ALNUM_BEFORE + r"(?P<pii>[0-9](?:[ .-]?[0-9]){6,14})" + _NOT_DIGIT_AFTER,
)

# --- numbers announced by their context ---------------------------------------------------------------------------

_PASSPORT_PATTERNS = _compile(
    r"(?:(?<![A-Za-z])(?i:passport)|护照|護照)[^\n0-9]{0,30}?"
    + _NOT_ALNUM_BEFORE
    + r"(?P<pii>(?=[A-Za-z0-9]{6,9}(?![A-Za-z0-9]))(?=(?:[A-Za-z]*[0-9]){5})[A-Za-z0-9]{6,9}(?:\([0-9A-Za-z]\))?)"
    + _NOT_ALNUM_AFTER,
)
_ACCOUNT_PATTERNS = _compile(
    r"(?:(?<![A-Za-z])(?i:(?:bank\s+)?account|acct\.?|a/c|sort\s+code|routing\s+number|bsb)"
    r"(?:\s+(?i:number|no\.?|#))?(?:\s*(?i:is|was|:|=|#)\s*|\s+)"
    r"|(?:账号|帐号|账户|帐户|卡号|银行卡号?|帳號|帳戶)[是为為：:\s]{0,3})"
    + _NOT_ALNUM_BEFORE
    + r"(?P<pii>[0-9](?:[ -]?[0-9]){5,21})"
    + _NOT_DIGIT_AFTER,
)

# --- addresses ----------------------------------------------------------------------------------------------------

_STREET_TYPES = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Court|Ct|Place|Pl|Terrace|Close|"
    r"Crescent|Square|Sq|Highway|Hwy|Parkway|Pkwy|Row|Circle|Cir|Trail|Alley|Mews|Grove|Gardens|Walk)"
)
_NOT_STREET_WORD = (
    r"(?!(?:the|a|an|on|in|at|to|of|up|down|along|across|from|for|and|or|my|your|our|their|this|that|more|other|"
    r"minutes?|mins?|hours?|seconds?|days?|weeks?|months?|years?|miles?|km|meters?|metres?|blocks?|doors?|feet|"
    r"times?|people|cars?|houses?|shops?|stores?|lanes?|cross|way|pm|am|with|by|is|are|was|were|star|o'clock)"
    r"(?![A-Za-z]))"
)
_UNIT = r"(?:,?\s+(?i:apt|apartment|unit|suite|flat|ste|#)\.?\s*#?[0-9]{1,5}[A-Za-z]?)?"
_ZH_NUMBER = "[0-9一二三四五六七八九十百零〇两]"
_ZH_UNIT = "(?:号楼|號樓|号院|号|號|段|弄|巷|栋|棟|幢|座|楼|樓|单元|單元|室|层|層)"
_ZH_ROAD = "(?:路|街|大道|大街|巷|弄|胡同)"
_PLACE_CHAR = (  # a character of a place name: not a pronoun or particle, so "麻烦帮我查下沈阳市" starts at 沈
    f"(?:[{_HAN}](?<![我你他她它们的了在是帮查下请问到从去来与跟给说就也还又吧呢吗啊呀这那个整及周边线网该此每"
    "各有没不很把被让对向往旁附近为什么找址地]))"
)
_EN_ADDRESS_PATTERNS = _compile(
    # English: house number, up to three capitalised words, a street type ("221B Baker Street", "5th Ave")
    r"(?<![A-Za-z0-9$£€¥.,:/])[0-9]{1,5}[A-Za-z]?(?:-[0-9]{1,5})?,?\s+(?:(?:N|S|E|W|North|South|East|West)\.?\s+)?"
    r"(?:(?:[0-9]{1,3}(?:st|nd|rd|th)|[A-Z][A-Za-z'.-]*)\s+){1,3}"
    + _STREET_TYPES
    + r"\.?(?![A-Za-z])(?:\s+(?:NW|NE|SW|SE)(?![A-Za-z]))?"
    + _UNIT,
    # English in lower case (chat, speech-to-text): "1317 old kent road", not "20 minutes down the road"
    r"(?<![A-Za-z0-9$£€¥.,:/])[0-9]{1,5}[a-z]?,?\s+(?:"
    + _NOT_STREET_WORD
    + r"(?:[0-9]{1,3}(?:st|nd|rd|th)|[a-z][a-z'-]*)\s+){1,3}"
    + r"(?:street|st|road|rd|avenue|ave|lane|ln|drive|boulevard|blvd|highway|hwy|parkway|pkwy|terrace|crescent)"
    + r"\.?(?![A-Za-z])"
    + _UNIT,
    # English, announced ("my address is 12 oak street", "I live at ..."): lower-case street names too
    r"(?i:address\s+is|address:|live\s+at|living\s+at|deliver(?:ed)?\s+(?:it\s+)?to|ship(?:ped)?\s+(?:it\s+)?to|"
    r"send\s+it\s+to|moved\s+to)\s+(?P<pii>[0-9]{1,5}[A-Za-z]?,?\s+(?:[A-Za-z][A-Za-z'.-]*\s+){1,3}(?i:"
    + _STREET_TYPES
    + r")\.?(?![A-Za-z])"
    + _UNIT
    + ")",
)
_ZH_ADDRESS_PATTERNS = _compile(
    # Chinese: region(s), then a road, estate or village, with its numbers ("北京市朝阳区建国路88号3栋")
    f"(?:{_PLACE_CHAR}{{2,5}}?(?:省|自治区|市|区|區|县|縣|镇|鎮|乡|鄉|街道)){{1,4}}"
    f"(?:{_PLACE_CHAR}|[0-9一二三四五六七八九十]){{2,8}}?(?:{_ZH_ROAD}|村|小区|花园|苑|新村|大厦|公寓)"
    f"(?:{_ZH_NUMBER}+{_ZH_UNIT}|-){{0,6}}",
    # Chinese: a road with its number, no region ("中山路88号", "解放路123号2单元")
    f"{_PLACE_CHAR}{{1,6}}?{_ZH_ROAD}{_ZH_NUMBER}+(?:号|號|弄)(?:{_ZH_NUMBER}+{_ZH_UNIT}|-){{0,4}}",
)

# --- names --------------------------------------------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金廖贾夏韦付傅方邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵钱严覃武戴莫孔汤"
    "于石白万柴温庞樊兰岳常乔易施洪康牛殷毕聂焦齐伍申耿关左庄鲁葛祁尤凌翟包卜俞阮蓝柯甘詹费卓梅盛童霍邢裴鲍祝"
    "宁管纪舒屈项房苗景喻滕谷安文郁荣冉蒲臧栾靳邓褚蔺晏储仇欧岑缪"
    "張劉陳楊黃趙吳孫鄭謝韓馮鄧蕭許蔣葉蘇呂盧鍾譚陸賈韋鄒閆龔錢嚴湯龐蘭嶽喬聶齊魯藍詹費盧寧紀項苗"
)
"""The family names a Chinese name may start with where nothing else says a name follows ("王先生"): the ~230
most common, simplified and traditional. Words that are also rare surnames (老, 小, 大, 车, 来, 和, 向, 中) are left
out on purpose: "老先生" is an old man, "我和先生" my husband, "我叫车" a taxi."""
_COMPOUND_SURNAMES = "欧阳|司马|诸葛|上官|司徒|慕容|皇甫|令狐|公孙|东方|夏侯|尉迟|长孙|宇文|歐陽|司馬|諸葛|慕容|長孫"
_SURNAME = f"(?:{_COMPOUND_SURNAMES}|[{SURNAMES}])"
_NOT_GIVEN = (
    "的了是在有和与跟给我你您他她它们想要请问说就也都还又吧呢吗啊呀哦嗯先女士姐电手号为不没这那什么怎哪谁能会被把让对以"
)
_GIVEN = f"[{_HAN}](?<![{_NOT_GIVEN}])"
_ZH_NAME = f"{_SURNAME}(?:{_GIVEN}){{0,2}}"
_ANY_ZH_NAME = f"(?:{_SURNAME}|{_GIVEN})(?:{_GIVEN}){{0,2}}"
"""After a cue that can only introduce a name ("免贵姓", "姓名：", "联系人"): any family name, rare ones too."""
_TITLED = "(?:先生|女士|小姐)"
_SURNAME_TITLED = rf"(?P<pii>{_SURNAME}(?:{_GIVEN})?)\s?{_TITLED}"

_EN_NOT_NAMES = (
    "not|is|was|a|an|the|on|in|under|listed|spelled|spelt|very|also|just|still|at|for|from|and|or|but|with|here|"
    "there|calling|speaking|sorry|ok|okay|fine|good|great|ready|sure|looking|trying|going|having|interested|happy|"
    "glad|afraid|done|back|it|this|that|what|your|my|his|her|their|our|i|me|you|we|they|he|she|hi|hello|hey|"
    "thanks|thank|please|customer|service|support|team|agent|assistant|bot|robot|account|number|name|same|"
    "different|correct|wrong|up|down|out|off|over|again|today|tomorrow|now|later|soon|unknown|private|new|still|"
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|july|august|"
    "september|october|november|december|called|named|listed|below|above|of|by|as|to|mr|mrs|ms|mx|miss|dr|sir|madam"
)
_NAME_WORD = r"(?!(?i:" + _EN_NOT_NAMES + r")(?![A-Za-z'-]))"
_CAP = _NAME_WORD + r"[A-Z][A-Za-z'-]*[a-z](?![A-Za-z])"
_LOW = _NAME_WORD + r"[a-z][a-z'-]*[a-z](?![A-Za-z])"
_NAME_IS = (
    r"(?<![A-Za-z])(?i:(?:my|your|his|her|customer's|the\s+customer's)\s+(?:full\s+|first\s+|last\s+|middle\s+|sur)?"
    r"name(?:'s|\s+is|\s+was|\s*:)|(?:full\s+|first\s+|last\s+|sur)?name\s*:|under\s+the\s+name(?:\s+of)?|"
    r"name\s+on\s+the\s+\w+\s+is|account\s+holder\s+is)"
)
_STRONG_CUE = r"(?:" + _NAME_IS + r"|(?<![A-Za-z])(?i:(?:you\s+can\s+)?call\s+me))"
_WEAK_CUE = r"(?<![A-Za-z])(?i:this\s+is|i\s+am|i'm|im)"
_TITLE = r"(?<![A-Za-z])(?:Mr|Mrs|Ms|Mx|Miss|MR|MRS|MS|mr|mrs|ms)\.?"
_EN_NAME_PATTERNS = _compile(
    # announced: "my name is John Smith", "name: Li Wei", "under the name of O'Neill", "call me Sam"
    _STRONG_CUE + r"\s+(?:" + _TITLE + r"\s+)?(?P<pii>" + _CAP + r"(?:[ -]" + _CAP + r"){0,2})",
    # announced, lower case (chat, speech-to-text): "my name is john smith"
    _NAME_IS + r"\s+(?P<pii>" + _LOW + r"(?: " + _LOW + r")?)",
    # introduced: "Hi, I'm Sarah." / "this is Tom speaking" (a capitalised name that ends the clause)
    _WEAK_CUE
    + r"\s+(?P<pii>"
    + _CAP
    + r"(?: "
    + _CAP
    + r")?)(?=\s*(?:[,.!;]|$|\s(?:speaking|calling|here|from|and|with)(?![A-Za-z])))",
    # a title before a capitalised name, anywhere: "Thank you, Mrs. O'Neill", "this is Mr Smith"
    _TITLE + r"\s(?P<pii>" + _CAP + r"(?:[ -]" + _CAP + r")?)",
)
_EN_NAME_CUE = re.compile(
    r"(?<![A-Za-z])(?i:(?:sur|first|last|full|middle)?names?|call\s+me|this\s+is|i\s+am|i'm|im|mrs?|ms|mx|miss)"
    r"(?![A-Za-z])"
)
_ZH_NAME_PATTERNS = _compile(
    # Chinese, announced with a value: "姓名：陈静", "联系人是刘伟", "我的名字是欧阳娜娜", "免贵姓庞", "我姓王"
    r"(?:我的名字(?:是|叫)|名字(?:是|叫)|(?:姓名|联系人|聯繫人|收货人|收件人|持卡人|户名|戶名)(?:是|为|為|[:：])"
    r"|我姓|免贵姓|免貴姓|本人姓)\s?(?P<pii>(?![名氏])" + _ANY_ZH_NAME + ")",
    # Chinese: "我叫王小明", "联系人张庭旭" (a common family name: "我叫车" is a taxi, "联系人等信息" no name)
    r"(?:我叫|联系人|聯繫人|收货人|收件人)\s?(?P<pii>" + _ZH_NAME + ")",
    # Chinese: "我是王小明。", "我是李先生"
    r"我是\s?(?P<pii>" + _ZH_NAME + r")(?=\s?" + _TITLED + r"|[，。！,.!\s]|$)",
    # Chinese: "王先生您好", "请问是陈小姐吗" (a family name right before the title)
    f"(?:(?<![{_HAN}])|(?<=[是请問问谢叫找给和跟与对向])){_SURNAME_TITLED}",
)

KINDS: tuple[PiiKind, ...] = (
    PiiKind(
        "email",
        "[EMAIL]",
        _compile(
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}" + _NOT_ALNUM_AFTER
        ),
        needs="@",
        description="e-mail addresses",
    ),
    PiiKind(
        "iban",
        "[IBAN]",
        _compile(
            _NOT_ALNUM_BEFORE
            + r"[A-Za-z]{2}[0-9]{2}(?:[ -]?[A-Za-z0-9]{4}){2,7}(?:[ -]?[A-Za-z0-9]{1,4})?"
            + _NOT_ALNUM_AFTER
        ),
        _iban_length,
        description="IBANs (mod-97 checked)",
    ),
    PiiKind(
        "cn_id",
        "[ID]",
        _compile(r"[1-9](?<![0-9][1-9])[0-9]{5} ?(?:18|19|20)[0-9]{2}[0-9]{4} ?[0-9]{3}[0-9Xx]" + _NOT_ALNUM_AFTER),
        _chinese_id_length,
        description="Chinese resident ID numbers (MOD 11-2 checked)",
    ),
    PiiKind(
        "card",
        "[CARD]",
        _compile(r"[1-9](?<![0-9A-Za-z+][1-9])(?:[ -]?[0-9]){12,18}" + _NOT_ALNUM_AFTER),  # after "+": a phone
        _card_length,
        description="payment card numbers (Luhn and issuer checked)",
    ),
    PiiKind("passport", "[PASSPORT]", _PASSPORT_PATTERNS, description="passport numbers after 'passport' / '护照'"),
    PiiKind(
        "account",
        "[ACCOUNT]",
        _ACCOUNT_PATTERNS,
        description="bank and customer account numbers after 'account (number)' / 'sort code' / '账号' / '卡号'",
    ),
    PiiKind(
        "phone",
        "[PHONE]",
        _PHONE_PATTERNS,
        _digits_between(7, 16),
        description="phone numbers: international, Chinese mobile, North American, national with a trunk 0, and "
        "any number after 'phone' / 'call me on' / '电话' / '手机'",
    ),
    PiiKind(
        "phone",
        "[PHONE]",
        _compile(
            r"[1-9](?<![0-9A-Za-z+][1-9])(?:(?<=1)[ .-]?[2-9]|(?<=[2-9]))[0-9]{2}[2-9][0-9]{6}" + _NOT_ALNUM_AFTER
        ),
        cue=re.compile(
            r"(?i:phone|call|mobile|cell|text\s+me|contact|reach|whatsapp)|电话|電話|手机|手機|号码|號碼|拨打|撥打|联系|聯繫|致电|来电"
        ),
        description="a bare ten-digit North American number in a turn that speaks of phones or calls",
    ),
    PiiKind(
        "address",
        "[ADDRESS]",
        _EN_ADDRESS_PATTERNS,
        description="street addresses: house number + street name + street type",
    ),
    PiiKind(
        "address",
        "[ADDRESS]",
        _ZH_ADDRESS_PATTERNS,
        needs="",
        cue=re.compile("[路街道巷弄胡村区區苑厦寓]"),
        description="Chinese addresses: region(s) + road, estate or village (+ numbers), or a road with its number",
    ),
    PiiKind(
        "name",
        "[NAME]",
        _EN_NAME_PATTERNS,
        needs="",
        cue=_EN_NAME_CUE,
        description="person names after 'my name is' / 'call me' / 'I'm' (ending the clause) / 'Mr' / 'Ms'",
    ),
    PiiKind(
        "name",
        "[NAME]",
        _ZH_NAME_PATTERNS,
        needs="",
        cue=re.compile("我叫|名字|姓|联系人|聯繫人|收货人|收件人|持卡人|户名|戶名|我是|先生|女士|小姐"),
        description="Chinese names after 我叫 / 姓名： / 联系人 / 我姓 / 我是, and before 先生 / 女士 / 小姐",
    ),
)
"""Applied in this order: a span taken by an earlier kind is not looked at again."""

KIND_NAMES: tuple[str, ...] = tuple(dict.fromkeys(kind.name for kind in KINDS))
_PLACEHOLDERS = {kind.name: kind.placeholder for kind in KINDS}
_ANY_DIGIT = re.compile(r"[0-9\uff10-\uff19]")


def kinds_named(names: Collection[str] | None) -> tuple[PiiKind, ...]:
    """The kinds called ``names``, in the order they are applied (None: all of them); an unknown name raises."""
    if names is None:
        return KINDS
    unknown = sorted(set(names) - set(KIND_NAMES))
    if unknown:
        raise ValueError(f"unknown PII kind(s) {', '.join(unknown)} (known: {', '.join(KIND_NAMES)})")
    return tuple(kind for kind in KINDS if kind.name in names)


def find_pii(text: str, kinds: Collection[str] | None = None) -> list[tuple[int, int, str]]:
    """(start, end, kind name) of every piece of personal data in ``text``, in order, not overlapping.

    ``kinds``: the kind names to look for (see ``KIND_NAMES``); None looks for all of them.
    """
    return find_kinds(text, kinds_named(kinds))


def find_kinds(text: str, kinds: tuple[PiiKind, ...]) -> list[tuple[int, int, str]]:
    """``find_pii`` with the kinds already chosen (a ``RedactionPolicy`` chooses them once)."""
    if not text or not kinds:
        return []
    has_digit = _ANY_DIGIT.search(text) is not None
    has_at = "@" in text or "\uff20" in text
    searchable = text if text.isascii() else text.translate(_FULL_WIDTH)
    taken: list[tuple[int, int, str]] = []
    for kind in kinds:
        if (kind.needs == "digit" and not has_digit) or (kind.needs == "@" and not has_at):
            continue
        if kind.cue is not None and kind.cue.search(searchable) is None:
            continue
        for start, end in _merged(kind.spans(searchable)):
            if not any(start < other_end and other_start < end for other_start, other_end, _ in taken):
                taken.append((start, end, kind.name))
    return sorted(taken)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans of one kind as one span (two patterns of a kind may each see part of a number)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def replace_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    """``text`` with each (start, end, kind) span replaced by the kind's placeholder."""
    if not spans:
        return text
    pieces: list[str] = []
    cursor = 0
    for start, end, name in spans:
        pieces += [text[cursor:start], _PLACEHOLDERS[name]]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def redact(text: str, kinds: Collection[str] | None = None) -> str:
    """``text`` with every piece of personal data of ``kinds`` (default: all) replaced by its ``[KIND]``."""
    return replace_spans(text, find_pii(text, kinds))
