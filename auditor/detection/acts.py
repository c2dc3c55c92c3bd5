"""The speech act of an evidence turn toward a step: did the agent perform it, or only refuse, skip or mention it.

Meaning similarity finds the turns that are *about* a step; it cannot tell "I have frozen your card" from "I can't
freeze your card by phone". This module reads the act from cue words with their scope, in English and Chinese
(traditional text arrives converted to simplified): the cue must sit in a clause that carries the step, not in a
clause about something else ("I'm sorry you couldn't get through, I've frozen the card now" performs the freeze).

A step accepts the acts its own texts show: a step whose examples say "no rooms are available" is performed by a
turn saying so, a step that is an offer is performed by an offer, a follow-up promise by a promise. Every other
non-performing act refuses the step credit, with the words that fired as the reason a coach reads.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from auditor.result import Act
from auditor.sop_format import Step
from auditor.text.normalise import normalise_text

HARD_NEGATIVE: frozenset[Act] = frozenset({"refused", "cannot", "skipped", "not_available", "negated"})
"""Acts that say the step was not done: never credit, evidence against the step."""
OUTCOME_NEGATIVE: frozenset[Act] = frozenset({"cannot", "not_available"})
"""Acts a negative-outcome step ("tell the customer nothing is free") is performed by, either way it is said."""
SOFT: frozenset[Act] = frozenset({"offered", "promised", "mentioned", "asked"})
"""Acts that leave it open (offered to do it, promised it for later): a person decides, unless the step is one."""
NOT_DOING: frozenset[Act] = HARD_NEGATIVE | SOFT | {"counter_example"}
"""Acts of evidence that does not place a step in time (it speaks against the step or leaves it open)."""
ACT_ORDER: tuple[Act, ...] = (
    "skipped",
    "not_available",
    "refused",
    "cannot",
    "negated",
    "mentioned",
    "offered",
    "promised",
    "asked",
)
"""When a clause shows several cues, the first in this order names its act (a refusal outranks a question)."""

_EN_NOT = r"(?:not|n't|nt)"
_EN_ACTIONS = (
    r"do|doing|done|help|helping|process\w*|make|making|allow\w*|accept\w*|give|giving|issu\w+|refund\w*|"
    r"freez\w*|frozen|block\w*|chang\w+|cancel\w*|waiv\w+|book\w*|reset\w*|send|sending|sent|verif\w+|"
    r"check\w*|confirm\w*|record\w*|log\w*|updat\w+|open\w*|clos\w+|replac\w+|order\w*|arrang\w+|"
    r"schedul\w+|escalat\w+|transfer\w*|fix\w*|repair\w*|offer\w*|provid\w+|report\w*|submit\w*"
)
"""Verbs of doing a step: 'we won't refund' refuses it, 'we won't charge you' (for a waived fee) does not."""
_EN_WE = r"(?:i|we|i'm|we're|i am|we are|im|were|i'll|we'll|ill|this line|this team|our team|the system|branch staff)"

_EN: dict[Act, tuple[str, ...]] = {
    "skipped": (
        r"\bskip(?:ping|ped)?\b",
        r"\bbypass",
        r"\bwaive (?:the|your)? ?(?:check|verification|security|questions)",
        r"\b(?:no|don'?t|do not|won'?t|will not) need (?:to|for|the) (?:verify|verification|check|security|id)",
        r"\b(?:let'?s|we'?ll|i'?ll) (?:leave|forget|drop) (?:out )?(?:the|that|those)",
        r"\bforget (?:about )?(?:the|that) (?:check|verification|security)",
        r"\bwithout (?:the )?(?:security|verification|verifying|checking|id check)",
        r"\b(?:not|no) (?:going to|gonna) (?:bother|do) (?:with )?(?:the|that)",
        r"\bno need (?:for|to)\b",
        r"\b(?:won'?t|will not|not|don'?t|do not|needn'?t) (?:going to |gonna )?bother\b",
    ),
    "not_available": (
        r"\bno longer (?:offer|available|provide|support|do|have|run|sell)",
        r"\b(?:stopped|discontinued|ended|withdrew|retired|scrapped) (?:offering|the|that|this|providing)",
        r"\bhas been discontinued",
        r"\b(?:isn'?t|aren'?t|not|no longer) (?:currently |presently |yet )?available\b",
        r"\bunavailable\b",
        r"\b(?:fully|completely) booked",
        r"\bsold out\b",
        r"\bnothing (?:is )?(?:free|left|open|available)",
        r"\bno (?:rooms?|slots?|tables?|appointments?|availability|vacanc\w+|drivers?|cars?|seats?|openings?)\b",
        r"\bdon'?t (?:offer|provide|have|sell|do|support) (?:that|this|those|text|sms|it|any)",
        r"\bdo not (?:offer|provide|have|sell|support) (?:that|this|those|text|sms|it|any)",
        r"\bnot (?:something|a service|an option) (?:we|that we) (?:offer|provide|have)",
    ),
    "refused": (
        rf"\b{_EN_WE} (?:won'?t|will not|am not going to|are not going to|'?m not going to) (?:be )?(?:{_EN_ACTIONS})",
        r"\brefuse to\b",
        r"\bnot (?:allowed|permitted|authori[sz]ed) to\b",
        r"\b(?:against|violates?) (?:our|the|company) (?:policy|rules)",
        r"\b(?:you'?ll|you will|you'?d|you would) (?:need|have) to (?:go|visit|come|call|contact|pop|head|do that)",
        r"\b(?:you need|you have) to (?:go|visit|come in|call|contact|pop|head) ",
        r"\bplease (?:visit|go to|contact|call|head to|pop into) (?:a|your|the|our|one of) ",
        r"\bhave to (?:be done|do that|do it) (?:in person|at a branch|in branch|at the branch|in store)",
        r"\b(?:only|must) be (?:done|handled|processed) (?:in person|at a branch|in branch|by|at|through)",
        r"\bi'?m afraid (?:that'?s|it'?s|this is) not (?:possible|something)",
        r"\bthat'?s not something (?:i|we)",
        r"\bdecline (?:to|your|the)",
        r"\b(?:not going to|won'?t|will not|refuse to|nothing to) (?:apologi[sz]e|say sorry)",
    ),
    "cannot": (
        r"\b(?:can'?t|cannot|can not|cant|couldn'?t|could not|unable to|not able to|no way to|wasn'?t able|"
        r"weren'?t able|was not able|were not able)\b",
        r"\b(?:isn'?t|is not|not) possible\b",
        r"\b(?:system|computer|tool|network|server)s? (?:is|are|was|were|'s|s)? ?(?:down|offline|not working|broken)",
        r"\b(?:failed|unsuccessful|did not go through|didn'?t go through|fell through|was declined|got declined)\b",
        r"\bno (?:results?|matches|records?|balance|information|info) (?:found|showing|for|came|matching|match)",
        r"\b(?:couldn'?t|could not|can'?t|cannot) (?:find|locate|pull up|retrieve)",
        r"\bnothing (?:found|came up|matches|matching|showing|shows)",
    ),
    "negated": (
        rf"\b{_EN_WE} (?:haven'?t|have not|didn'?t|did not|hasn'?t|has not|never) (?:yet |actually |already )?"
        rf"(?:{_EN_ACTIONS})",
        r"\bnot (?:yet )?(?:been )?(?:done|frozen|blocked|cancel+ed|changed|processed|updated|sent|issued|refunded|"
        r"booked|confirmed|recorded|logged|reset)\b",
        r"\b(?:hasn'?t|haven'?t|has not|have not|isn'?t|is not|wasn'?t) (?:yet )?(?:been )?(?:frozen|blocked|"
        r"cancel+ed|changed|processed|updated|sent|issued|refunded|booked|confirmed|recorded|logged|reset)\b",
        r"\bnot yet\b",
    ),
    "mentioned": (
        r"\b(?:i|we|you) (?:normally|usually|typically|generally|would normally|'d normally|d normally)\b",
        r"\b(?:would|'d) (?:normally|usually|typically|generally)\b",
        r"\b(?:our|the|company|bank) (?:policy|procedure|process|rule)s? (?:is|are|says|requires)\b",
        r"\b(?:is|are) (?:normally|usually|typically|generally|always) (?:required|needed|done|necessary)",
        r"\b(?:supposed to|meant to|required to|have a duty to)\b",
        r"\bas a rule\b",
        r"\b(?:may|might|could) (?:be|have|fail|cost|charge|take|need|apply|happen)\b",
        r"\bcan (?:fail|happen|be declined)\b",
        r"\bin case\b",
    ),
    "offered": (
        r"\b(?:would|do|did) you (?:like|want) (?:me|us) to\b",
        r"\b(?:shall|should) (?:i|we)\b",
        r"\bdo you want (?:me|us) to\b",
        r"\bwant me to\b",
        r"\bif you(?:'d)? (?:like|want|wish|prefer),? (?:i|we) (?:can|could)\b",
        r"\b(?:i|we) (?:can|could) (?:\w+ ){0,4}if you(?:'d)? (?:like|want|wish)",
        r"\bwould you (?:like|want) (?!to\b)",
        r"\binterested in\b",
        r"\bhow about (?:i|we|setting)\b",
    ),
    "promised": (
        r"\b(?:i'll|we'll|ill|i will|we will|i'm going to|we're going to|im going to|i am going to|"
        r"we are going to|i shall|we shall) (?:\w+ ){0,6}(?:later|tomorrow|after (?:this|the|our) call|after we|"
        r"next week|once|when|as soon as|in a (?:few|couple)|within)",
        r"\b(?:later today|after (?:this|the|our) call|after we hang up|by tomorrow|tomorrow morning|next week)\b",
        r"\b(?:i'?ll|we'?ll|i will|we will) (?:see about|try to|try and|look into|get (?:back|round))\b",
    ),
}

_ZH: dict[Act, tuple[str, ...]] = {
    "skipped": (
        r"(?:验证|核实|核对|确认|流程|手续|步骤|问题|这步|这一步|身份|安全)(?:就|也|先|都)?(?:给您)?免了",
        r"跳过",
        r"省略",
        r"略过",
        r"(?:就|先|也)不(?:多|再|用)?.{1,4}了",
        r"先不(?:核实|验证|核对|确认|问|查|做)了",
        r"(?:不用|不必|无需|不需要|用不着)(?:再)?(?:核实|验证|核对|确认|提供|问)",
        r"就算了",
        r"不走(?:验证|流程)",
    ),
    "not_available": (
        r"不再(?:提供|支持|办理|开通|受理|推出|发送)",
        r"(?:已经|已)?(?:停止|暂停|取消)(?:了)?(?:提供|办理|受理|这项|该项|这个|此项)?(?:服务|业务|功能)",
        r"(?:服务|业务|功能)(?:已经|已)?(?:停止|暂停|取消|下线|下架)",
        r"下线了",
        r"没有(?:这项|这个|该项|此项)?(?:服务|业务|功能)",
        r"(?:没有|没)(?:空房|房间|空位|位置|号源|号|余票|车|司机|空档|档期|空|名额|桌)",
        r"(?:已经|已|都)?(?:满了|订满|约满|客满|满员|满房|售罄|卖完)",
        r"没有(?:可用|可以预约|可预约|可订)",
        r"不(?:提供|支持|开通|办理)(?:这|此|该|短信|这种|这类)",
    ),
    "refused": (
        r"(?:需要|要|得|必须|只能)(?:您|你)?(?:本人)?(?:亲自)?(?:到|去|前往|带着?.{0,8}到)(?:.{0,8})?"
        r"(?:网点|柜台|营业厅|支行|门店|分行|银行)",
        r"请(?:您)?(?:到|去|前往)(?:.{0,8})?(?:网点|柜台|营业厅|支行|门店|分行)",
        r"(?:只能|必须)(?:在|到|去)?(?:.{0,6})?(?:网点|柜台|营业厅|线下|现场)",
        r"不予",
        r"拒绝",
        r"(?:不会|不能|不可以|没法|无法)(?:给|帮)(?:您|你)(?:办|处理|退|冻结|改|修改|开通|取消)",
        r"不归我们管",
        r"(?:请|您)(?:联系|找|打给|拨打)(?:其他|别的|相关)?(?:部门|同事|网点)",
        r"违反(?:规定|政策)",
        r"不允许",
        r"先不(?:给|帮|替)(?:您|你)",
        r"(?:不|没有必要|没必要|谈不上|没有需要|不需要|用不着)(?:向|跟|给)?(?:您|你)?(?:道歉|致歉|赔不是)",
    ),
    "cannot": (
        r"办不了",
        r"做不了",
        r"处理不了",
        r"弄不了",
        r"帮不了",
        r"改不了",
        r"退不了",
        r"冻不了",
        r"查不(?:了|到)",
        r"订不(?:了|到)",
        r"约不(?:了|到)",
        r"搞不定",
        r"无法",
        r"没办法",
        r"没法",
        r"不能",
        r"不可以",
        r"做不到",
        r"(?:系统|电脑|网络)(?:出了?(?:问题|故障)|故障|坏了|维护|崩|宕机|登不上|有问题)",
        r"失败",
        r"未能",
        r"没能",
        r"不成功",
        r"没有(?:找到|查到|搜到|结果|记录|相关|符合)",
        r"找不到",
        r"(?:没有|没)(?:这个)?权限",
        r"无权",
    ),
    "negated": (
        r"(?:还)?没(?:有)?(?:帮|给)(?:您|你)",
        r"还没",
        r"尚未",
        r"并没有",
        r"没(?:有)?(?:冻结|挂失|办理|处理|修改|更改|取消|退款|退|登记|记录|核实|验证|发送|寄|预订|预约|订)",
    ),
    "mentioned": (
        r"一般(?:来说|情况下)?(?:是)?(?:要|需要|得|会|都|第一步)",
        r"(?:有的|有些|很多|不少)(?:客户|客人|顾客|用户)",
        r"通常(?:来说|情况下)?(?:要|需要|得|会|都)",
        r"本来(?:要|应该|需要|得|是)",
        r"(?:按|按照|根据)(?:公司|银行|我们的?)?(?:规定|流程|程序|制度|要求)",
        r"(?:规定|流程|制度|政策)(?:上|是|要求)",
        r"原则上",
        r"照理(?:说)?",
        r"按理(?:说)?",
        r"正常(?:来说|情况下|流程)",
        r"可能会|有可能|也许|说不定|如果|要是|的话|万一",
    ),
    "offered": (
        r"要不要",
        r"需不需要",
        r"(?:是否|您)(?:需要|要|想)(?:我|我们)?(?:帮|给|为)",
        r"(?:我|我们)(?:帮|给|为)(?:您|你).{0,12}(?:好吗|吧|可以吗|行吗|怎么样)",
        r"(?:需要|要)(?:我|我们)(?:帮|给|为)",
        r"(?:帮|给|为)(?:您|你).{0,12}吗",
        r"有兴趣",
        r"考虑(?:一下)?.{0,10}(?:吗|呢)",
    ),
    "promised": (
        r"(?:稍后|回头|晚点|晚些|之后|随后|明天|下周|下午|晚上|过后|待会儿?|等会儿?|一会儿|过会儿|"
        r"挂(?:了)?电话(?:以)?后|等.{0,10}(?:之后|以后|了|后))"
        r".{0,8}(?:会|再|给|帮|为|就)",
        r"(?:会|将)(?:在)?(?:稍后|明天|下周|之后|今天之内|24小时|.{0,4}个工作日)",
        r"(?:等一下|等等|一会儿?|待会儿?|晚点|回头)再",
        r"等(?:一下|会儿?)?挂(?:了)?电话",
    ),
}

_BENIGN_EN = (
    r"\bno problem\b",
    r"\bnot a problem\b",
    r"\bno worries\b",
    r"\b(?:don'?t|do not|dont) (?:you )?worry\b",
    r"\bnot at all\b",
    r"\bnever mind\b",
    r"\bdon'?t hesitate\b",
    r"\bif you don'?t mind\b",
    r"\b(?:sorry|apologi[sz]e) (?:that |if |for )?(?:you |it )?(?:couldn'?t|could not|weren'?t|didn'?t|did not|"
    r"haven'?t|had to|can'?t|were not|was not|wasn'?t)[^,.;!?]*",
    r"\b(?:isn'?t|aren'?t|doesn'?t|don'?t|didn'?t|won'?t|can'?t) (?:it|you|they|we|i|he|she|that)\?",
    r"\bcan'?t thank you enough\b",
    r"\bcouldn'?t be happier\b",
    r"\bno, ?thanks?\b",
)
_BENIGN_ZH = (
    r"不客气",
    r"没问题",
    r"不好意思",
    r"不用谢",
    r"没关系",
    r"不便",
    r"(?:别|不用|不要|无需)(?:担心|着急|急)",
    r"不着急",
    r"久等",
    r"(?:有没有|是不是|对不对|好不好|可不可以|能不能|行不行|要不要紧|会不会|满不满意)",
    r"(?:让|令)您不(?:满|愉快|开心)",
    r"不满意",
    r"(?:抱歉|对不起)(?:您|你)?(?:之前|刚才)?(?:没能|没|未能)(?:打通|接通|联系上|接到)",
)

_CONJUNCTION = re.compile(r"\s+(?:but|however|although|though|so|because|and then)\s+|但是|不过|可是|所以|因为")
_CLAUSE = re.compile(r"[^,，;；。.!?！？…]+[,，;；。.!?！？…]*")
_QUESTION_EN = re.compile(
    r"\?|^(?:can|could|may|would|will|what|which|who|when|where|how|do|does|did|is|are|have you|has)\b|"
    r"\b(?:please (?:tell|give|confirm|provide|state|say|spell)|let me (?:have|know)|i(?:'ll| will)? need "
    r"(?:your|the|to (?:ask|check|verify|confirm)))\b"
)
_QUESTION_ZH = re.compile(r"[?？]|[吗呢吧]$|请问|麻烦(?:您)?(?:报|提供|告诉|说|确认)|请(?:您)?(?:提供|告诉|报|说|确认)")


def _compile(table: dict[Act, tuple[str, ...]]) -> dict[Act, re.Pattern[str]]:
    return {act: re.compile("|".join(f"(?:{p})" for p in patterns)) for act, patterns in table.items()}


_EN_BROAD_NEGATION = re.compile(
    r"\b(?:don'?t|do not|doesn'?t|does not|didn'?t|did not|won'?t|will not|wouldn'?t|would not|shouldn'?t|"
    r"isn'?t|aren'?t|wasn'?t|weren'?t|haven'?t|hasn'?t|never|nothing|not|no)\b"
)
_ZH_BROAD_NEGATION = re.compile(r"(?:不|没|别|未|无)(?!常|错|少|同|断|仅|管|然|久|过|论|但|如|知|妨|的|人)")
"""Any negation word: it refuses a step only when the words it governs are the step's own ('nothing to apologise
for' for an apology step), since 'thank you for not giving up' or '新卡不收您钱' perform theirs."""
_SCOPE_CHARS = 12
_EN_CUES = _compile(_EN)
_ZH_CUES = _compile(_ZH)
_EN_BENIGN = re.compile("|".join(f"(?:{p})" for p in _BENIGN_EN))
_ZH_BENIGN = re.compile("|".join(f"(?:{p})" for p in _BENIGN_ZH))
_HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class ActReading:
    """The act of one clause or turn, the words that fired (None for a plain performance) and the clause."""

    act: Act
    cue: str | None = None
    clause: str = ""
    scope: str | None = None
    """For a plain negation word: the words it governs; the reading counts only when they are the step's."""

    @property
    def reason(self) -> str | None:
        if self.cue is None:
            return None
        return f"{self.act.replace('_', ' ')}: {self.cue!r} in {self.clause!r}"


def clauses(text: str) -> list[str]:
    """A turn cut at punctuation and at 'but / so / 但是 / 不过', the units cue words scope over."""
    parts = [clause.strip(" ,，;；") for part in _CONJUNCTION.split(text) for clause in _CLAUSE.findall(part)]
    return [part for part in parts if part.strip(" .。!！…")] or [text.strip()]


def _prepare(text: str) -> tuple[str, bool]:
    text = normalise_text(text).lower().replace("’", "'")
    return text, bool(_HAN.search(text))


def read_clause(clause: str) -> ActReading:
    """The act one clause shows by its cue words (benign idioms such as 'no problem' / 不客气 removed first)."""
    text, zh = _prepare(clause)
    cues = _ZH_CUES if zh else _EN_CUES
    stripped = _EN_BENIGN.sub(" ", _ZH_BENIGN.sub(" ", text) if zh else text)  # mixed text: both idiom lists
    for act in ACT_ORDER:
        if act == "asked":
            question = (_QUESTION_ZH if zh else _QUESTION_EN).search(stripped.strip())
            if question:
                return ActReading("asked", question.group(0).strip() or "?", clause)
            continue
        match = cues[act].search(stripped) or (_EN_CUES[act].search(stripped) if zh else None)
        if match:
            return ActReading(act, match.group(0).strip(), clause)
    negation = (_ZH_BROAD_NEGATION if zh else _EN_BROAD_NEGATION).search(stripped)
    if negation:
        after = stripped[negation.end() :]
        scope = after[:_SCOPE_CHARS] if zh else " ".join(after.split()[:4])
        return ActReading("negated", negation.group(0), clause, scope=scope)
    return ActReading("performed", None, clause)


@lru_cache(maxsize=8192)
def read_turn(text: str) -> tuple[ActReading, ...]:
    """``read_text`` remembered by text: a live call reads every evidence turn again after each pushed turn."""
    return tuple(read_text(text))


def read_text(text: str) -> list[ActReading]:
    """The act of every clause of a text, in order."""
    return [read_clause(clause) for clause in clauses(normalise_text(text))]


@dataclass(frozen=True)
class StepActs:
    """The acts that perform a step, read from the step's own texts (its examples, else its name/description)."""

    accepted: frozenset[Act]
    content: frozenset[str] = frozenset()
    """Word keys (English) and character pairs (Chinese) of the step's texts: what a plain negation must govern."""

    def performs(self, act: Act) -> bool:
        return act in self.accepted

    def accepts(self, reading: ActReading) -> bool:
        """Whether the reading leaves the step performed: an accepted act, or a negation of something else."""
        if self.performs(reading.act):
            return True
        return reading.scope is not None and not (content_keys(reading.scope) & self.content)


_CONDITION = re.compile(r"\b(?:unless|if|without|otherwise|except|when)\b|除非|如果|否则|若", re.IGNORECASE)
"""A description clause that states a condition ("unless the system is down") does not make the step an outcome."""
_ASK_STEP = re.compile(
    r"\b(?:ask\w*|verif\w+|confirm\w*|check\w*|question\w*|inquir\w+|enquir\w+|request\w*|identif\w+|"
    r"collect\w*|gather\w*|find out|clarif\w+|invite\w*|anything else|how can|help)\b|"
    r"询问|核实|确认|核对|了解|问|请|验证|收集|澄清|还有|帮"
)
"""Steps performed by asking: verifying, confirming, asking for details, checking the need, inviting the request."""
_ACTION_STEP = re.compile(
    r"\s*(?:the agent\s+)?(?:freez\w*|block\w*|cancel\w*|refund\w*|waiv\w*|chang\w*|updat\w*|reset\w*|book\w*|"
    r"reserv\w*|send\w*|issu\w*|replac\w*|transfer\w*|pay\w*|credit\w*|tell\w*|inform\w*|explain\w*|stat\w*|"
    r"giv\w*|provid\w*|deliver\w*|resolv\w*|record\w*|log\w*|report\w*|fix\w*|process\w*|arrang\w*)\b|"
    r"\s*(?:坐席)?(?:冻结|挂失|取消|退款|免|修改|更改|重置|预订|预约|发送|补办|关闭|开通|转账|告知|告诉|说明|解释|提供|解决|记录|登记|处理)"
)
"""Steps that are an action or a statement the agent owes ("Freeze the card", "Tell the customer the price"): a
question about them ("Can you freeze it in the app?") leaves them to a person; any other step accepts questions."""
_OFFER_STEP = re.compile(
    r"\b(?:offers?|offering|suggest\w*|recommend\w*|propos\w+|promot\w*|upsell\w*|invit\w+|introduc\w+)\b|"
    r"\bask(?:s|ing)? (?:the )?(?:customer|caller|user|client|them|guest|patient)? ?(?:whether|if)\b|"
    r"推荐|建议|介绍|推广|营销|邀请|(?:询问|问)(?:客户|顾客|用户|对方)?(?:是否|要不要|需不需要)"
)
_PROMISE_STEP = re.compile(
    r"\b(?:follow[- ]?up|call(?:s)? (?:back|the customer back)|callback|promise|commit|next steps?|will contact|"
    r"arrange|schedule|timeline|when (?:the customer|they) will|expect)\b|回访|跟进|回电|回复|后续|承诺|时限|预计|安排"
)


def step_acts(step: Step) -> StepActs:
    """What performs ``step``: a plain performance or a question always; other acts when the step's texts show them.

    An act counts when at least a quarter of the step's examples show it (a step "tell the customer no room is
    free" is performed by "nothing is free on Friday"), or its name/description shows it when it has no examples;
    offers perform an offer step and promises a follow-up step, by the words of its name and description.
    """
    accepted: set[Act] = {"performed"}
    examples = [text for text in step.examples if text.strip()]
    counts: Counter[Act] = Counter()
    for text in examples:
        for act in {reading.act for reading in read_text(text)}:
            counts[act] += 1
    accepted |= {act for act, count in counts.items() if act not in HARD_NEGATIVE and count * 4 >= len(examples)}
    accepted |= {act for act, count in counts.items() if act in HARD_NEGATIVE and count * 2 > len(examples)}
    for text in (step.name, step.description):  # "Tell the customer no room is free" is itself a negative outcome
        stated = _CONDITION.split(text)[0]  # "Freeze the card unless the system is down": the condition is not it
        readings = read_text(stated)
        if readings and readings[0].act == "performed":  # "freeze the card, so it can no longer be used": the
            continue  # step is the freeze; a negative clause after it says what follows from it
        accepted |= {reading.act for reading in readings if reading.act in OUTCOME_NEGATIVE}
    described = normalise_text(f"{step.name} {step.description}").lower()
    if _ASK_STEP.search(described) or not _ACTION_STEP.match(described):
        accepted.add("asked")  # a question performs any step but an action or a statement the agent owes
    if _OFFER_STEP.search(described):
        accepted.add("offered")
    if _PROMISE_STEP.search(described):
        accepted.add("promised")
    # a step that is itself a negative outcome is performed by any way of saying it was not possible
    if accepted & OUTCOME_NEGATIVE:
        accepted |= OUTCOME_NEGATIVE | {"negated"}
    texts = [step.name, step.description, *step.examples]
    texts += [text for t in step.translations.values() for text in (t.name, t.description) if text]
    return StepActs(frozenset(accepted), frozenset().union(*(content_keys(text) for text in texts)))


_STOPWORDS = frozenset(
    "that this with your have from they them their there what when which will would could should about into "
    "been were while than then just also some very only other more most such agent customer caller user".split()
)
_EN_WORD = re.compile(r"[a-z]{4,}")


@lru_cache(maxsize=8192)
def content_keys(text: str) -> frozenset[str]:
    """Comparable pieces of a text: English words of 4+ letters cut to 5 (apologise ~ apology), Chinese character
    pairs (traditional text converted first)."""
    text = normalise_text(text).lower()
    keys = {word[:5] for word in _EN_WORD.findall(text) if word not in _STOPWORDS}
    for run in re.findall(r"[\u4e00-\u9fff]+", text):
        keys |= {run[i : i + 2] for i in range(len(run) - 1)}
    return frozenset(keys)


@dataclass(frozen=True)
class ActVerdict:
    """The act of an evidence turn toward a step and whether that act performs it."""

    reading: ActReading
    performs: bool

    @property
    def act(self) -> Act:
        return self.reading.act


def judge_turn(clause_readings: Sequence[ActReading], relevant: Sequence[bool], step: StepActs) -> ActVerdict:
    """The turn's act toward a step from the readings of its clauses that carry the step (``relevant``).

    A relevant clause whose act the step does not accept refuses credit, a hard negative first; otherwise the turn
    performs the step. With no relevant clause marked, every clause counts.
    """
    chosen = [reading for reading, keep in zip(clause_readings, relevant, strict=True) if keep] or list(clause_readings)
    rejected = [reading for reading in chosen if not step.accepts(reading)]
    hard = sorted((r for r in rejected if r.act in HARD_NEGATIVE), key=lambda r: ACT_ORDER.index(r.act))
    if hard:
        return ActVerdict(hard[0], False)
    if rejected:
        return ActVerdict(rejected[0], False)
    shown = next((r for r in chosen if r.act != "performed" and r.scope is None), chosen[0])
    if shown.act == "negated":  # a negation of something else: the turn performs the step
        shown = ActReading("performed", None, shown.clause)
    return ActVerdict(shown, True)
