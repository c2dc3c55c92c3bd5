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

from auditor.resources import cache_dir

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
    finder: Callable[[str], list[tuple[int, int]]] | None = None
    """Spans found by code rather than a pattern (Chinese names before a title: where the name starts)."""
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
        if self.finder is not None:
            found += self.finder(text)
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
    r"[(0](?<![0-9A-Za-z.,][(0])(?:(?<=\()0[1-9][0-9]{0,3}\)|(?<=0)[1-9][0-9]{1,3})"
    r"[ -]?[0-9]{3,4}[ -]?[0-9]{3,4}(?![0-9]|[.,][0-9])",
    # French style, five pairs: 01 23 45 67 89, 06.12.34.56.78
    r"0(?<![0-9A-Za-z+.,]0)[1-9](?:[ .][0-9]{2}){4}(?![0-9]|[.,][0-9])",
    # a seven-digit local number with its dash: 555-0132 (not 2019-2020, not $100-2000, not 12.555-0132)
    r"[2-9](?<![0-9A-Za-z$£€¥.,/+-][2-9])[0-9]{2}-[0-9]{4}(?![0-9A-Za-z]|[.,-][0-9])",
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
_NAME_GIVEN = f"(?!太太|经理|經理|先生|女士|小姐|夫人|老师|老師){_GIVEN}"
"""A given-name character that does not start a title: "我是李经理" is 李, not 李经理."""
_ZH_NAME = f"{_SURNAME}(?:{_NAME_GIVEN}){{0,2}}"
_ANY_ZH_NAME = f"(?:{_SURNAME}|{_GIVEN})(?:{_NAME_GIVEN}){{0,2}}"
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
    "september|october|november|december|called|named|listed|below|above|of|by|as|to|mr|mrs|ms|mx|miss|dr|sir|madam|"
    "i'm|i've|i'll|i'd|it's|that's|we're|you're|let's|can|could|would|will|yes|no"
)
_NAME_WORD = r"(?!(?i:" + _EN_NOT_NAMES + r")(?![A-Za-z'-]))"
_CAP = _NAME_WORD + r"[A-Z][A-Za-z'-]*[a-z](?![A-Za-z])"
_LOW = _NAME_WORD + r"[a-z][a-z'-]*[a-z](?![A-Za-z])"
_EN_NOT_LOW_NAMES = (  # words after "thanks", "hi, i'm" or "speaking to" that are not a person's name
    "again|anyway|anyways|so|much|lot|ton|bunch|million|heaps|all|everyone|everybody|anyone|anybody|someone|"
    "somebody|guys|man|dude|buddy|mate|bro|friend|folks|both|alot|kindly|though|tho|already|too|once|indeed|"
    "human|person|people|manager|supervisor|representative|rep|operator|robot|bot|machine|computer|real|live|"
    "well|right|alright|cool|nice|awesome|perfect|excellent|wonderful|lovely|brilliant|amazing|"
    "sad|busy|tired|hungry|thirsty|confused|lost|stuck|upset|angry|annoyed|frustrated|worried|excited|curious|"
    "calling|waiting|wondering|hoping|writing|texting|messaging|asking|checking|planning|travelling|traveling|"
    "staying|leaving|coming|moving|visiting|booking|ordering|paying|sick|ill|late|early|free|available|home|"
    "away|outside|inside|online|around|interested|impressed|satisfied|pleased|disappointed|"
    "everything|anything|something|nothing|yours|mine|ours|bye|goodbye|cheers|regards|"
    "help|helping|pal|honey|dear|love|sweetie|ma'am|maam|mister|officer|doc|"
    "staff|lady|gentleman|gentlemen|ladies|boss|chief|yall|y'all|asap|later|whenever|anytime|tonight|directly|"
    "personally|instead|deary|dearie|darling|babe|baby|[a-z]+self|[a-z]+selves"
)
_NAME_IS = (
    r"(?<![A-Za-z])(?i:(?:my|your|his|her|customer's|the\s+customer's)\s+(?:full\s+|first\s+|last\s+|middle\s+|sur)?"
    r"name(?:'s|\s+is|\s+was|\s*:)|(?:full\s+|first\s+|last\s+|sur)?name\s*:|under\s+the\s+name(?:\s+of)?|"
    r"name\s+on\s+the\s+\w+\s+is|account\s+holder\s+is)"
)
_NOT_LOW_NAME = r"(?!(?i:" + _EN_NOT_LOW_NAMES + r")(?![A-Za-z'-]))"
_LOW_NAME = _NOT_LOW_NAME + _LOW + r"(?: " + _NOT_LOW_NAME + _LOW + r")?"
"""One or two lower-case words that are not common words after a name cue ("kevin ahmed", not "so much")."""
_STRONG_CUE = r"(?:" + _NAME_IS + r"|(?<![A-Za-z])(?i:(?:you\s+can\s+)?call\s+me))"
_WEAK_CUE = r"(?<![A-Za-z])(?i:this\s+is|i\s+am|i'm|im)"
_TITLE = r"(?<![A-Za-z])(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|MR|MRS|MS|DR|mr|mrs|ms|dr)\.?"
_NOT_AFTER_GREETING = (  # capitalised words after "Hi," that are not a person: "Hi, Acme Bank here", "Hello Team"
    r"(?!(?i:there|all|everyone|everybody|again|team|guys|folks|friend|world|sir|madam|ma'am|dear|so|yes|no|"
    r"yeah|well|good|morning|afternoon|evening|welcome|sorry|and|bye|goodbye)(?![A-Za-z'-]))"
)
_ORGANISATION_WORD = (  # "Good morning, Harbourside Bank" is a company: no name is followed by these words
    r"(?:Bank|Banking|Telecom|Mobile|Energy|Insurance|Airlines?|Air|Airways|Support|Services?|Care|Customer|Team|"
    r"Helpdesk|Desk|Store|Shop|Hotel|Restaurant|Group|Company|Ltd|Inc|Limited|Corp|Broadband|Internet|Water|Gas|"
    r"Power|Electric|Finance|Credit|Card|Cards|Pay|Online|Centre|Center|Hospital|Clinic|Council|Office|Line)"
)
_NOT_ORGANISATION = r"(?!" + _ORGANISATION_WORD + r"(?![A-Za-z'-]))"
_GREETING = (
    r"(?<![A-Za-z])(?:(?i:hi|hello|hey|dear|thanks|thank\s+you|good\s+(?:morning|afternoon|evening)|bye|goodbye|"
    r"welcome(?:\s+back)?|sorry|pleasure|nice\s+to\s+(?:meet|speak\s+to)\s+you))"
)
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
    # a greeting to a person: "Hi Daniel Brooks, ...", "Thank you, Daniel." (not "Good morning, Harbourside Bank")
    _GREETING
    + r",?\s+(?P<pii>"
    + _NOT_AFTER_GREETING
    + _NOT_ORGANISATION
    + _CAP
    + r"(?: "
    + _NOT_AFTER_GREETING
    + _NOT_ORGANISATION
    + _CAP
    + r")?)(?=\s*(?:[,.!?;]|$))",
    # asked for: "Am I speaking with Daniel Brooks?", "is that Mrs Brooks?"
    r"(?<![A-Za-z])(?i:speaking\s+(?:with|to)|talking\s+(?:with|to)|is\s+(?:that|this))\s+(?:"
    + _TITLE
    + r"\s+)?(?P<pii>"
    + _NOT_ORGANISATION
    + _CAP
    + r"(?: "
    + _NOT_ORGANISATION
    + _CAP
    + r")?)(?=\s*(?:[,.!?;]|$))",
    # introduced in lower case (speech-to-text): "this is daniel brooks speaking", "i'm sam calling about"
    _WEAK_CUE + r"\s+(?P<pii>" + _LOW + r"(?: " + _LOW + r")?)(?=\s(?:speaking|calling)(?![A-Za-z]))",
    # lower case, where the words around say a person is named (chat and speech-to-text drop the capitals):
    # greeted by an agent: "hi sarah dubois, thanks for calling"
    r"(?<![A-Za-z])(?i:hi|hello|hey|good\s+(?:morning|afternoon|evening)|dear),?\s+(?P<pii>"
    + _LOW_NAME
    + r")\s?,?\s+(?i:thanks|thank\s+you)\s+for(?![A-Za-z])",
    # the holder: "i am zoe davis, the account holder"
    _WEAK_CUE + r"\s+(?P<pii>" + _LOW_NAME + r"),?\s+(?i:the\s+)?(?i:account|card|policy)[ -]?holder(?![A-Za-z])",
    # asked for: "am i speaking with michelle lopez?"
    r"(?<![A-Za-z])(?i:speaking|talking)\s+(?i:with|to)\s+(?:" + _TITLE + r"\s+)?(?P<pii>" + _LOW_NAME + r")\s*\?",
    # thanked by name: "thanks kevin ahmed!"
    r"(?<![A-Za-z])(?i:thanks|thank\s+you),?\s+(?P<pii>" + _LOW_NAME + r")\s*!",
    # greeted, then introduced: "hi, i'm wei."
    r"(?<![A-Za-z])(?i:hi|hello|hey)\s?[,!.]?\s+(?i:i'm|i\s+am|im|this\s+is|it's)\s+(?P<pii>"
    + _LOW_NAME
    + r")\s*(?:[.!]|$)",
    # told what to call them: "you can call me robert"
    r"(?<![A-Za-z])(?i:call\s+me)\s+(?P<pii>" + _LOW_NAME + r")\s*(?:[.!,]|$)",
)
_EN_NAME_CUE = re.compile(
    r"(?<![A-Za-z])(?i:(?:sur|first|last|full|middle)?names?|call\s+me|this\s+is|i\s+am|i'm|im|mrs?|ms|mx|miss|dr|"
    r"prof|hi|hello|hey|dear|thanks|thank\s+you|good\s+(?:morning|afternoon|evening)|bye|goodbye|welcome|sorry|"
    r"pleasure|nice\s+to|speaking|talking|is\s+th(?:at|is))(?![A-Za-z])"
)
_ZH_NAME_PATTERNS = _compile(
    # Chinese, announced with a value: "姓名：陈静", "联系人是刘伟", "我的名字是欧阳娜娜", "免贵姓庞", "我姓王"
    r"(?:我的名字(?:是|叫)|名字(?:是|叫)|(?:姓名|联系人|聯繫人|收货人|收件人|持卡人|户名|戶名)(?:是|为|為|[:：])"
    r"|我姓|免贵姓|免貴姓|本人姓)\s?(?P<pii>(?![名氏])" + _ANY_ZH_NAME + ")",
    # Chinese: "我叫王小明", "联系人张庭旭" (a common family name: "我叫车" is a taxi, "联系人等信息" no name)
    r"(?:我叫|联系人|聯繫人|收货人|收件人)\s?(?P<pii>" + _ZH_NAME + ")",
    # Chinese: "我是王小明。", "我是李先生"
    r"我是\s?(?P<pii>" + _ZH_NAME + r")(?=\s?" + _TITLED + r")",  # at a clause end: _zh_cued_names (我是温州人。)
    # Chinese: an agent's self-introduction: "我是客服张伟", "我是3号客服李强" (the title case is below)
    r"我是\s?(?:[0-9]{1,6}号)?(?:客服|专员|坐席|客服专员|客户经理|工作人员)(?:代表)?\s?(?P<pii>"
    + _ZH_NAME
    + r")(?=[，。！？,.!?\s]|很高兴|为您|$)",
    # Chinese: a name greeted ("张伟您好", "您好，李强。") is found by _zh_cued_names, which tells 您好，稍等 apart
)

_ZH_TITLE = re.compile("先生|女士|小姐|太太|夫人|经理|經理|老师|老師")
_ZH_SURNAME_ONLY_TITLES = frozenset({"经理", "經理", "老师", "老師"})
"""Titles that are also job names ("客户经理", "数学老师"): only a listed family name right before them is a name."""
_ZH_LEAD_INS = (
    "谢谢",
    "謝謝",
    "感谢",
    "感謝",
    "多谢",
    "请问",
    "請問",
    "您好",
    "你好",
    "尊敬的",
    "亲爱的",
    "親愛的",
    "麻烦",
    "麻煩",
    "转告",
    "轉告",
    "通知",
    "联系",
    "聯繫",
    "告诉",
    "告訴",
    "客户",
    "客戶",
    "用户",
    "用戶",
    "顾客",
    "顧客",
    "会员",
    "會員",
    "客服",
    "这边是",
    "這邊是",
    "喂",
    "哎",
    "嗯",
    "好的",
    "早上好",
    "下午好",
    "晚上好",
    "再见",
    "再見",
    "抱歉",
    "不好意思",
    "对不起",
    "對不起",
    "打扰",
    "打擾",
    "是",
    "找",
    "给",
    "給",
    "叫",
    "和",
    "跟",
    "与",
    "與",
    "对",
    "對",
    "向",
    "问",
    "問",
    "请",
    "請",
    "让",
    "讓",
    "帮",
    "幫",
    "替",
    "的",
)
"""Words a name before a title may follow: "谢谢刘女士" is 刘, not 谢刘; "尊敬的王建国先生" is 王建国."""
_ZH_NOT_SURNAME = frozenset(
    "这那哪每各某该本此老小大我你您他她它们的了吗呢吧啊呀哦嗯是在有好对错行不没也都就还又很太请谢位个些男女士先生"
    "姐家人户员长师总兄弟妹哥嫂爷奶叔婶舅姨伯公婆新前后上下中同其诸令尊贵府一二三四五六七八九十几两"
)
"""Characters that end a word before a title without being a family name: 这位先生, 老先生, 我先生, 好的先生."""
_ZH_NOT_GIVEN_TITLED = frozenset("下个位们些样点会位")
_SURNAME_SET = frozenset(SURNAMES)
_COMPOUND_SET = frozenset(_COMPOUND_SURNAMES.split("|"))
_GIVEN_RE = re.compile(_GIVEN)


def _zh_titled_names(text: str) -> list[tuple[int, int]]:
    """Chinese names right before a title: "王小明先生", "谢谢刘女士" (刘 only), "尊敬的司马光先生", "郗先生您好".

    The Han characters before the title are cut where a word that leads into a name ends ("谢谢", "请问是", "尊敬的")
    or where the run starts. A family name not in ``SURNAMES`` is accepted only in that case, and only if it is
    not a word that ends before a title on its own ("这位先生", "老先生", "好的先生"). Without such a boundary, a listed
    family name right before the title is the name ("麻烦转达一下陈先生": 陈).
    """
    found: list[tuple[int, int]] = []
    for title in _ZH_TITLE.finditer(text):
        end = title.start()
        if end > 1 and text[end - 1] == " ":  # "请问是 郗 小姐吗": a space typed around the name
            end -= 1
        start = end
        while start > 0 and end - start < 12 and "\u4e00" <= text[start - 1] <= "\u9fff":
            start -= 1
        run = text[start:end]
        if not run:
            continue
        longest = 4
        if title.group() in _ZH_SURNAME_ONLY_TITLES:  # "司马经理": a compound family name is one too
            longest = 2 if run[-2:] in _COMPOUND_SET else 1
        chosen = 0
        for length in range(1, min(longest, len(run)) + 1):
            name, prefix = run[-length:], run[:-length]
            if not _zh_name_shape(name, listed_only=False):
                continue
            if not prefix or prefix.endswith(_ZH_LEAD_INS):
                chosen = length
                break
        if not chosen and run[-1] in _SURNAME_SET and run[-1] not in _ZH_NOT_SURNAME:
            chosen = 1
        if chosen == 1 and title.group() in _ZH_SURNAME_ONLY_TITLES and not _family_name_char(run[-1]):
            chosen = 0  # "找经理", "营业厅的厅经理": before a job title, only a family name of the full list
        if chosen:
            found.append((end - chosen, end))
    return found


def _zh_name_shape(name: str, listed_only: bool) -> bool:
    """A family name (listed, compound, or any character that is not a word before a title) and 0-2 given ones."""
    if name[:2] in _COMPOUND_SET:
        given = name[2:]
    elif name[0] in _SURNAME_SET or (not listed_only and name[0] not in _ZH_NOT_SURNAME):
        given = name[1:]
    else:
        return False
    return len(given) <= 2 and all(_GIVEN_RE.fullmatch(ch) and ch not in _ZH_NOT_GIVEN_TITLED for ch in given)



# Chinese names after a cue that a name often follows, whatever the family name ("我是郗嘉琪，", "收货人濮燕，",
# "您好，郗嘉琪。"): two to three Han characters (four after a compound family name) that end the clause, read by
# jieba as a person's name or starting with a family name of the full list, and not a common word ("您好，稍等").
BAIJIAXING = (
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭郎鲁韦昌马苗凤花方"
    "俞任袁柳酆鲍史唐费廉岑薛雷贺倪汤滕殷罗毕郝邬安常乐于时傅皮卞齐康伍余元卜顾孟平黄和穆萧尹姚邵湛汪祁毛禹狄米贝明臧"
    "计伏成戴谈宋茅庞熊纪舒屈项祝董梁杜阮蓝闵席季麻强贾路娄危江童颜郭梅盛林刁钟徐邱骆高夏蔡田樊胡凌霍虞万支柯昝管卢莫"
    "经房裘缪干解应宗丁宣贲邓郁单杭洪包诸左石崔吉钮龚程嵇邢滑裴陆荣翁荀羊於惠甄曲家封芮羿储靳汲邴糜松井段富巫乌焦巴弓"
    "牧隗山谷车侯宓蓬全郗班仰秋仲伊宫宁仇栾暴甘钭厉戎祖武符刘景詹束龙叶幸司韶郜黎蓟薄印宿白怀蒲邰从鄂索咸籍赖卓蔺屠蒙"
    "池乔阴鬱胥能苍双闻莘党翟谭贡劳逄姬申扶堵冉宰郦雍卻璩桑桂濮牛寿通边扈燕冀郏浦尚农温别庄晏柴瞿阎充慕连茹习宦艾鱼容"
    "向古易慎戈廖庾终暨居衡步都耿满弘匡国文寇广禄阙东欧殳沃利蔚越夔隆师巩厍聂晁勾敖融冷訾辛阚那简饶空曾毋沙乜养鞠须丰"
    "巢关蒯相查后荆红游竺权逯盖益桓公晋楚闫法汝鄢涂钦岳帅缑亢况郈琴商牟佘佴伯赏墨哈谯笪年爱阳佟言福"
)
"""The single family names of 百家姓 (the Song-dynasty list of several hundred surnames, a real-world list)."""
_NAME_SURNAMES = frozenset(SURNAMES + BAIJIAXING)
_ZH_CUED = re.compile(
    # 我叫 / 我是 (客服, 3号客服) / 联系人 / 收货人 / 姓名： ... then the name
    r"(?:(?:我叫|我是\s?(?:[0-9]{1,6}号)?(?:客服|专员|坐席|客服专员|客户经理|工作人员)?(?:代表)?|(?:联系人|聯繫人|收货人|"
    r"收件人|持卡人|户名|戶名)(?:是|为|為|[:：])?)\s?"
    # or a greeting: "您好，郗嘉琪。"
    r"|(?:您好|你好)\s?[，,]?\s?)"
    f"(?P<pii>[{_HAN}]{{2,4}})(?![{_HAN}])"
    r"(?=\s?(?:[，。！？、；,.!?;~～]|$)|\s?(?:很高兴|为您|您好|你好))"
    # or a name greeted first: "郗嘉琪您好", " 郗秀 您好"
    rf"|(?<![{_HAN}])(?P<greeted>[{_HAN}]{{2,4}})\s?[，,]?\s?(?:您好|你好)"
)
_ZH_NAME_TAGS = ("nr",)
_ZH_FUNCTION_TAGS = frozenset({"r", "rr", "rz", "p", "c", "u", "uj", "ul", "uz", "ud", "ug", "uv", "d", "m", "mq", "q",
                               "y", "e", "o", "zg", "f", "t", "tg", "vg", "ag", "dg"})
_ZH_VERB_TAGS = _ZH_FUNCTION_TAGS | {"v", "vn", "vd", "vi", "a", "ad", "an", "l", "i"}
_ZH_NAME_LIKE_TAGS = ("nr", "ns", "nz", "x")
"""Tags jieba gives a two- or three-character piece it reads as one new word when that may be a name: 濮燕 (nr),
禹海 (ns). A common noun (博主, "the blogger") is not."""
_ZH_FORMS_OF_ADDRESS = frozenset(
    "博主 楼主 小编 客官 亲亲 亲们 大神 童鞋 网友 宝宝 宝贝 帅哥 美女 同学 老铁 大侠 博友 粉丝 主播 "
    "掌柜 老板 师傅 小哥 小姐姐 小哥哥 官微 客服 小伙伴 朋友们 各位 大家 亲爱的".split()
)
"""Ways of addressing someone that are not a name ("博主您好", "您好，小伙伴"); jieba tags some as names."""
_jieba_state: dict[str, object] = {}


def _jieba() -> tuple[dict[str, int], dict[str, str], Callable[[str], list[tuple[str, str]]]] | None:
    """jieba's word frequencies, word tags and a part-of-speech cut, loaded on first use (None: not installed)."""
    if "cut" not in _jieba_state:
        try:
            import jieba
            import jieba.posseg
        except ImportError:  # pragma: no cover - jieba is a dependency
            _jieba_state["cut"] = None
            return None
        jieba.setLogLevel(60)
        jieba.dt.tmp_dir = cache_dir()
        jieba.dt.check_initialized()
        _jieba_state["freq"] = jieba.dt.FREQ
        _jieba_state["tags"] = jieba.posseg.dt.word_tag_tab
        _jieba_state["cut"] = lambda text: [(pair.word, pair.flag) for pair in jieba.posseg.dt.cut(text)]
    if _jieba_state["cut"] is None:
        return None
    return _jieba_state["freq"], _jieba_state["tags"], _jieba_state["cut"]  # type: ignore[return-value]


def zh_cued_name(candidate: str, surnames: Collection[str] = _NAME_SURNAMES) -> bool:
    """Whether two to four Han characters right after a name cue are a person's name rather than a word.

    Not a name: a word of jieba's dictionary (稍等一下, 请问, 学生, 王牌; its ``nr`` tag is too loose to trust on
    frequent words: 明白, 顾客 and 谢谢 carry it), or what starts with a word or a character that cannot start a
    name (这边, 我们, 新用户, 温州人). A name: three characters jieba's part-of-speech cut reads as one new person's
    name (幸丽艳), or a family name followed by one or two given-name characters - a common or compound one, a
    character jieba's dictionary tags as a name (仉, 眭), or one of ``surnames`` (百家姓 by default) when what
    follows is not a word (经确认 is "after checking").
    """
    compound = candidate[:2] in _COMPOUND_SET
    if not 2 <= len(candidate) <= (4 if compound else 3):
        return False
    first, given = (candidate[:2], candidate[2:]) if compound else (candidate[0], candidate[1:])
    if not compound and first in _ZH_NOT_SURNAME and first not in _SURNAME_SET:
        return False
    if not given or any(not _GIVEN_RE.fullmatch(ch) or ch in _ZH_NOT_GIVEN_TITLED for ch in given):
        return False
    if candidate in _ZH_FORMS_OF_ADDRESS or _ZH_TITLE.search(candidate):
        return False  # "邵太太您好": the title finder takes the family name alone
    loaded = _jieba()
    if loaded is None:
        return compound or first in _SURNAME_SET
    freq, tags, cut = loaded
    starts_with_word = (
        len(candidate) == 3 and not compound and _zh_word(candidate[:2], freq, tags) and freq[candidate[:2]] >= 20
    )
    if starts_with_word or _zh_word(candidate, freq, tags):
        return False  # a word, or a word then a character (温州人, 明白了)
    pieces = cut(candidate)
    head, head_tag = pieces[0]
    common_noun = len(candidate) == 2 and first not in _SURNAME_SET and not head_tag.startswith(_ZH_NAME_LIKE_TAGS)
    if len(head) >= 2 and not (compound and head == first) and (_zh_word(head, freq, tags) or common_noun):
        return False  # 明白了, 温州人: a word, then a character; 博主: read as a common noun
    if any(len(word) >= 2 and tags.get(word, flag) in _ZH_FUNCTION_TAGS for word, flag in pieces[1:]):
        return False  # 有什么: a character, then a function word
    if len(candidate) == 3 and len(pieces) == 1:
        return head_tag.startswith("nr")  # one new word: a person's name (幸丽艳) or a place's people (温州人)
    if compound or first in _SURNAME_SET or tags.get(first, "").startswith("nr"):
        return True  # a common family name, or one jieba's dictionary tags as a name: 仉, 眭, 禹
    # a family name of the full list that is also a common character (经, 和, 有): not before a word (经确认)
    return first in surnames and not (len(given) >= 2 and freq.get(given, 0) > 0 and tags.get(given) in _ZH_VERB_TAGS)


def _family_name_char(char: str) -> bool:
    """A character of 百家姓 or the common family names, or one jieba's dictionary tags as a name (仉, 麴)."""
    if char in _NAME_SURNAMES:
        return True
    loaded = _jieba()
    return loaded is not None and loaded[1].get(char, "").startswith("nr")


_ZH_NAME_WORD_FREQUENCY = 200
"""A dictionary word tagged as a person's name is still read as a name below this frequency (李强 159, 谢谢 1089)."""


def _zh_word(text: str, freq: dict[str, int], tags: dict[str, str]) -> bool:
    count = freq.get(text, 0)
    return count > 0 and (not tags.get(text, "").startswith("nr") or count >= _ZH_NAME_WORD_FREQUENCY)


def _zh_cued_names(text: str) -> list[tuple[int, int]]:
    found = []
    for match in _ZH_CUED.finditer(text):
        group = "pii" if match.group("pii") is not None else "greeted"
        if zh_cued_name(match.group(group)):
            found.append(match.span(group))
    return found


def _zh_names(text: str) -> list[tuple[int, int]]:
    """Chinese names before a title, and after a cue whatever the family name."""
    return _zh_titled_names(text) + _zh_cued_names(text)


# --- dates of birth -----------------------------------------------------------------------------------------------

_MONTH = (
    r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ORDINAL_WORD = (
    r"(?i:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|"
    r"fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|twenty[- ](?:first|second|third|"
    r"fourth|fifth|sixth|seventh|eighth|ninth)|thirtieth|thirty[- ]first)"
)
_DAY = r"(?:[0-3]?[0-9](?i:st|nd|rd|th)?|" + _ORDINAL_WORD + r")"
_YEAR = r"(?:(?:19|20)[0-9]{2}|'[0-9]{2})"
_EN_DATE = (
    r"(?:(?:the\s+)?" + _DAY + r"(?:\s+of)?\s+" + _MONTH + r",?\s+" + _YEAR  # 14th of February 1990
    + r"|" + _MONTH + r"\s+(?:the\s+)?" + _DAY + r",?\s+" + _YEAR  # February 14, 1990
    + r"|[0-3]?[0-9][/.-][0-3]?[0-9][/.-](?:(?:19|20)[0-9]{2}|[0-9]{2})"  # 14/02/1990, 02-14-90
    + r"|(?:19|20)[0-9]{2}[/.-][01]?[0-9][/.-][0-3]?[0-9]"  # 1990-02-14
    + r"|" + _MONTH + r"\s+" + _YEAR + r")"  # May 1980
    + _NOT_ALNUM_AFTER
)
_ZH_DIGIT = "[0-9零〇一二三四五六七八九十]"
_ZH_DATE = (
    f"(?:{_ZH_DIGIT}{{2,4}}\\s?年\\s?{_ZH_DIGIT}{{1,3}}\\s?月(?:\\s?{_ZH_DIGIT}{{1,3}}\\s?[日号號])?"
    r"|(?:19|20)[0-9]{2}[/.-][01]?[0-9][/.-][0-3]?[0-9](?![0-9])"
    r"|(?:19|20)[0-9]{2}[01][0-9][0-3][0-9](?![0-9]))"
)
_DOB_CUE_EN = (
    r"(?<![A-Za-z])(?i:date\s+of\s+birth|birth\s*date|d\.?o\.?b\.?|born(?:\s+(?:on|in))?|birthday(?:'s)?)"
    r"(?![A-Za-z])"
)
_DOB_PATTERNS = _compile(
    # "date of birth is 14th of February 1990", "DOB: 02/14/1990", "I was born on the first of May 1980"
    _DOB_CUE_EN + r"[^0-9\n.?!]{0,24}?(?<![A-Za-z0-9])(?P<pii>" + _EN_DATE + ")",
    # "出生日期1985年3月7号", "生日是1990-02-14", "出生于一九八五年三月"
    r"(?:出生日期|出生年月日?|出生于|出生於|出生在|生日|出生|生於|生于)[是为為：:\s]{0,3}(?P<pii>" + _ZH_DATE + ")",
    # "我是1985年3月7号出生的"
    r"(?P<pii>" + _ZH_DATE + r")\s?(?:出生|生的|生人)",
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
        "dob",
        "[DOB]",
        _DOB_PATTERNS,
        needs="",
        cue=re.compile(r"(?i:birth|d\.?o\.?b|born)|出生|生日|生于|生於|生的|生人"),
        description="dates of birth after 'date of birth' / 'DOB' / 'born on' / '出生日期' / '生日', or before '出生'",
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
        cue=re.compile(
            "我叫|名字|姓|联系人|聯繫人|收货人|收件人|持卡人|户名|戶名|我是|先生|女士|小姐|太太|夫人|经理|經理|老师|老師|"
            "您好|你好"
        ),
        finder=_zh_names,
        description="Chinese names after 我叫 / 姓名： / 联系人 / 我姓 / 我是 (客服), greeted (张伟您好), and before "
        "先生 / 女士 / 小姐 / 太太 / 经理 / 老师",
    ),
)
"""Applied in this order: a span taken by an earlier kind is not looked at again."""

KIND_NAMES: tuple[str, ...] = tuple(dict.fromkeys(kind.name for kind in KINDS))
PLACEHOLDERS: dict[str, str] = {kind.name: kind.placeholder for kind in KINDS}
_PLACEHOLDERS = PLACEHOLDERS
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


def redact_echoed(value: str) -> str:
    """A value a user sent, as an error message may quote it back (``no SOP '13812345678'``): every kind hidden."""
    return redact(value)


def redact(text: str, kinds: Collection[str] | None = None) -> str:
    """``text`` with every piece of personal data of ``kinds`` (default: all) replaced by its ``[KIND]``."""
    return replace_spans(text, find_pii(text, kinds))


# --- answers: a turn that answers "your full name and date of birth?" -----------------------------------------------

_ASKS_NAME = re.compile(
    r"(?<![A-Za-z])(?i:(?:full|first|last|your)\s+name|name\s+(?:on|of)\s+the|who\s+(?:am\s+i|is|'s)\s+"
    r"(?:speaking|calling|talking)|may\s+i\s+have\s+your\s+name)|姓名|名字|贵姓|貴姓|怎么称呼|怎麼稱呼|称呼您|哪位"
)
_ASKS_BIRTH = re.compile(r"(?<![A-Za-z])(?i:date\s+of\s+birth|birth\s*date|d\.?o\.?b|birthday)|出生|生日")
_EN_ANSWER_NAME = re.compile(
    r"^\W*(?:(?i:yes|yeah|yep|sure|ok|okay|it's|it\s+is|that's|that\s+is)[,.]?\s+)?(?P<pii>"
    + _NOT_AFTER_GREETING
    + _NOT_ORGANISATION
    + _CAP
    + r"(?:[ -]"
    + _NOT_ORGANISATION
    + _CAP
    + r"){0,2})(?=\s*(?:[,.!;]|$|\s(?:and|born|dob|d\.o\.b)(?![A-Za-z])))"
)
_ZH_ANSWER_NAME = re.compile(
    r"^\W*(?:我是|是|我叫|叫|好的[，,]?|嗯[，,]?)?\s?(?P<pii>"
    + f"(?:{_COMPOUND_SURNAMES}|[{SURNAMES}])(?:{_GIVEN}){{1,2}}"
    + r")(?=[，。！？、,.!?\s]|$)"
)
_ANY_DATE = re.compile(r"(?<![A-Za-z0-9])(?:" + _EN_DATE + r")|" + _ZH_DATE)


def answer_spans(text: str, previous: str, kinds: Collection[str]) -> list[tuple[int, int, str]]:
    """Personal data in ``text`` that only the turn before it announces: a name said first in a turn answering
    a question for a name ("Daniel Okafor, ...", "赵敏，0825。"), any date in a turn answering one for a birth date.

    ``text`` and ``previous`` as given (full-width digits are read as ASCII here too).
    """
    found: list[tuple[int, int, str]] = []
    if not previous or not text:
        return found
    previous = previous.translate(_FULL_WIDTH)
    searchable = text if text.isascii() else text.translate(_FULL_WIDTH)
    if "name" in kinds and _ASKS_NAME.search(previous):
        for pattern in (_EN_ANSWER_NAME, _ZH_ANSWER_NAME):
            match = pattern.search(searchable)
            if match:
                found.append((*match.span("pii"), "name"))
                break
    if "dob" in kinds and _ASKS_BIRTH.search(previous):
        found += [(*match.span(), "dob") for match in _ANY_DATE.finditer(searchable)]
    return found
