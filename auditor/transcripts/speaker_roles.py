"""Give every turn a known role: speaker maps, role names, and roles inferred for diarized labels, or a problem.

A turn is never dropped silently (issue 20). Each speaker label of a conversation is, in this order:
1. mapped by an explicit speaker map (``--speaker-map``, the API's ``speaker_map``, or a record's own
   ``speaker_map`` field), or by the ``speaker_roles`` a result recorded (a stored transcript re-read);
2. a known role name or synonym (``agent``, ``客服``, ``customer``, ``system``...: ``auditor.transcripts.roles``);
3. a diarized label (``Speaker 1``, ``spk_0``, ``ch_1``, ``A``, ``说话人1``...) whose role is inferred from what each
   side says: greeting with the company name, offering help, asking verification questions (agent) against
   describing a problem about "my card" (customer), in English and Chinese. The mapping and its confidence go to
   the conversation's metadata (``speaker_roles``, ``speaker_roles_confidence``); under ``ROLE_CONFIDENCE`` the
   result is flagged ``roles_uncertain`` and its outcome is ``needs_review``;
4. anything else (``Agnet``) makes the conversation a problem naming the label and how many turns it has.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from auditor.conversation import Conversation, Role, Turn
from auditor.transcripts.problems import TranscriptError
from auditor.transcripts.roles import known_role

SPEAKER_ROLES = "speaker_roles"
"""Metadata key: speaker label -> role, for the labels that were mapped or inferred."""
ROLES_CONFIDENCE = "speaker_roles_confidence"
"""Metadata key: how sure the mapping is (1.0 for an explicit map; inferred: 0.5 a coin flip ... 1.0)."""
SPEAKER_MAP = "speaker_map"
"""A record's own speaker map (label -> agent / customer / event), as ``--speaker-map`` gives one for all."""
ROLES_UNCERTAIN_FLAG = "roles_uncertain"
ROLE_CONFIDENCE = 0.8
"""Inferred mappings below this confidence are flagged for review (measured: ``bench/role_inference.py``)."""

_DIARIZED = re.compile(
    r"^(?:(?:speaker|spk|ch|chan|channel|person|participant|guest|voice|talker|party|s|"
    r"说话人|說話人|发言人|發言人|讲话人|講話人|讲者|講者|声道|聲道|通道|角色)[\s_\-#.]*)?"
    r"(?:\d{1,2}|[a-z])$",
    re.IGNORECASE,
)


def is_diarized(label: str) -> bool:
    """Whether a speaker label is a diarization's anonymous one (``Speaker 1``, ``spk_0``, ``B``, ``说话人2``)."""
    return bool(_DIARIZED.match(label.strip()))


@dataclass(frozen=True)
class RoleGuess:
    """Roles inferred for some speaker labels, and how sure the guess is (0.5: a coin flip ... 1.0)."""

    roles: dict[str, Role]
    confidence: float


def parse_speaker_map(text: str) -> dict[str, Role]:
    """Read ``"Speaker 1=agent,Speaker 2=customer"``; raise ``ValueError`` saying what is wrong."""
    mapping: dict[str, Any] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        label, sep, role = part.rpartition("=")
        if not sep or not label.strip():
            raise ValueError(f"{part.strip()!r} is not LABEL=ROLE (e.g. 'Speaker 1=agent,Speaker 2=customer')")
        mapping[label.strip()] = role.strip()
    return checked_speaker_map(mapping)


def checked_speaker_map(mapping: Any, label: str = SPEAKER_MAP) -> dict[str, Role]:
    """A speaker map's labels (matched without case) and roles; raise ``TranscriptError`` (a ``ValueError``)."""
    if not isinstance(mapping, Mapping):
        raise TranscriptError(f"{label}: must be an object of speaker label -> agent / customer / event")
    checked: dict[str, Role] = {}
    for speaker, role in mapping.items():
        known = known_role(role) if isinstance(role, str) else None
        if not isinstance(speaker, str) or known is None:
            raise TranscriptError(f"{label}: {speaker!r}: role must be agent, customer or event, got {role!r}")
        checked[speaker.strip().casefold()] = known
    return checked


def resolve_roles(conversation: Conversation, speaker_map: Mapping[str, Role] | None = None) -> Conversation:
    """The conversation with every turn's role known; raise ``TranscriptError`` naming the labels that are not.

    Conversations whose labels are all known role names come back unchanged (the same object).
    """
    explicit = _explicit_map(conversation, speaker_map)
    labels = Counter(turn.speaker for turn in conversation.turns)
    roles: dict[str, Role] = {}
    mapped: dict[str, Role] = {}
    diarized: list[str] = []
    unknown: list[str] = []
    for label in labels:
        key = label.strip().casefold()
        if key in explicit:
            roles[label] = mapped[label] = explicit[key]
        elif (role := known_role(label)) is not None:
            roles[label] = role
        elif is_diarized(label):
            diarized.append(label)
        else:
            unknown.append(label)
    named = {role for label, role in roles.items() if label not in mapped and role is not Role.EVENT}
    if diarized and named:  # "Agent" beside "Speaker 2": say so rather than guess the rest
        unknown += diarized
        diarized = []
    if unknown:
        raise TranscriptError(_unknown_reason(unknown, labels))
    confidence = 1.0
    if diarized:
        guess = infer_roles([turn for turn in conversation.turns if turn.speaker in diarized])
        roles |= guess.roles
        mapped |= guess.roles
        confidence = guess.confidence
    if not mapped and all(turn.role is roles[turn.speaker] for turn in conversation.turns):
        return conversation
    turns = [
        turn if turn.role is roles[turn.speaker] else replace(turn, role=roles[turn.speaker])
        for turn in conversation.turns
    ]
    metadata = dict(conversation.metadata)
    if mapped:
        metadata[SPEAKER_ROLES] = {label: role.value for label, role in mapped.items()}
        metadata[ROLES_CONFIDENCE] = round(confidence, 3)
    return replace(conversation, turns=turns, metadata=metadata)


def roles_uncertain(metadata: Mapping[str, Any]) -> bool:
    """Whether a conversation's speaker roles were inferred with a confidence under ``ROLE_CONFIDENCE``."""
    confidence = metadata.get(ROLES_CONFIDENCE)
    return isinstance(confidence, int | float) and not isinstance(confidence, bool) and confidence < ROLE_CONFIDENCE


def _explicit_map(conversation: Conversation, speaker_map: Mapping[str, Role] | None) -> dict[str, Role]:
    """The explicit maps that apply, strongest last: roles a result recorded, the caller's, the record's own."""
    explicit: dict[str, Role] = {}
    recorded = conversation.metadata.get(SPEAKER_ROLES)
    if isinstance(recorded, Mapping):
        try:
            explicit |= checked_speaker_map(recorded, SPEAKER_ROLES)
        except TranscriptError:
            pass  # a field of that name that is not a map of ours: kept as metadata, as before
    explicit |= {label.strip().casefold(): role for label, role in (speaker_map or {}).items()}
    if SPEAKER_MAP in conversation.metadata:
        explicit |= checked_speaker_map(conversation.metadata[SPEAKER_MAP])
    return explicit


def _unknown_reason(unknown: list[str], labels: Counter[str]) -> str:
    shown = ", ".join(f"{_shown(label)} ({labels[label]} turn{'s' if labels[label] != 1 else ''})" for label in unknown)
    plural = "s" if len(unknown) > 1 else ""
    return (
        f"unknown speaker label{plural} {shown}: not agent / customer / event names, nor diarized labels like "
        "'Speaker 1' (map them with --speaker-map 'LABEL=agent,LABEL=customer' or a speaker_map field); "
        "conversation not audited"
    )


def _shown(label: str, limit: int = 40) -> str:
    printable = label.encode("utf-8", "backslashreplace").decode("utf-8")
    return repr(printable if len(printable) <= limit else f"{printable[:limit]}...")


# --- inference ---------------------------------------------------------------------------------------------------

_AGENT_CUES: tuple[tuple[str, float], ...] = (
    # offering help, greeting for the company
    (r"\bhow (?:can|may|could|might) (?:i|we) (?:help|assist)", 3.0),
    (r"\bwhat can i (?:do|help)", 2.5),
    (r"\b(?:thank(?:s| you) for (?:calling|contacting|choosing|holding|waiting|your patience))", 3.0),
    (r"\bwelcome to\b", 2.5),
    (r"\b(?:this is|my name is|you'?re speaking (?:to|with)|you'?ve reached)\b", 1.5),
    (r"\bspeaking\b", 0.5),
    (r"\bis there anything else\b", 2.5),
    (r"\banything else (?:i|we) can\b", 2.5),
    (r"\bhave a (?:great|good|nice|lovely|wonderful) (?:day|evening|one|night|trip|weekend)\b", 1.5),
    # verification and process
    (r"\b(?:can|could|may) i (?:have|get|take|confirm|verify|ask for|just get) your\b", 2.5),
    (r"\bi(?: have|'?ve) found\b|\bi (?:am|'?m) (?:only )?able to\b|\bi don'?t (?:quite )?understand what you", 1.5),
    (r"\b(?:is located|price (?:range|category)|average rating|is available|are available)\b", 0.5),
    (
        r"\b(?:date of birth|last (?:four|4) digits|security (?:question|check|reasons?)|verify your|confirm your)\b",
        2.0,
    ),
    (r"\bfor (?:security|verification)\b", 1.5),
    (
        r"\b(?:let me|i'?ll|i will|i can|i'?ve|i have) (?:check|look|pull|see|transfer|arrange|book|send|reserve|"
        r"schedule|find|search|process|raise|log|escalate|go ahead|get that|set|put|note|cancel|update|refund)",
        1.5,
    ),
    (r"\b(?:one moment|bear with me|please hold|just a moment|give me a (?:moment|second))\b", 1.5),
    (r"\b(?:i'?m|i am) (?:sorry|so sorry) (?:to hear|for the|about the)\b", 1.5),
    (r"\bi (?:understand|apologi[sz]e)\b", 1.0),
    (r"\b(?:your (?:account|card|order|booking|reservation|appointment|ride|balance|request|reference|ticket))\b", 1.0),
    (r"\bwould you like\b", 1.0),
    (r"\bdo you (?:want|need|have a preference|prefer)\b", 0.5),
    (r"\bwhat (?:is|time|day|date|kind|type|size|city|price|budget|would)\b.*\?", 0.5),
    (r"\b(?:we|our) (?:will|can|have|offer|don'?t|do not|cannot|can'?t)\b", 0.5),
    (r"\bbooked\b|\bconfirmed\b|\bhas been (?:booked|scheduled|sent|cancel+ed|processed|reserved|updated)", 0.5),
    # Chinese (simplified and traditional)
    (r"[请請]?[问問]有什[么麼]可以[帮幫]|有什[么麼]可以[为為][您你]|[能可]以[帮幫]到?[您你]", 3.0),
    (r"[很非][常]?高[兴興][为為][您你]服[务務]|[为為][您你]服[务務]", 3.0),
    (r"感[谢謝][您你]?的?(?:[来來][电電]|致[电電]|耐心|等待|[来來][访訪])|[谢謝][谢謝][您你]的[来來][电電]", 3.0),
    (r"[欢歡]迎(?:致[电電]|[来來][电電]|光[临臨])", 2.5),
    (r"工[号號]|我是.{0,10}(?:客服|[专專][员員]|坐席|[经經]理)", 2.0),
    (
        r"[请請](?:您)?提供|[请請](?:您)?[说說][一]?下|[请請][问問][您你]的|[核验核驗][实實验驗對对]"
        r"|[验驗][证證]|身[份分][证證]|后四位|後四位|[预預]留",
        2.0,
    ),
    (r"[请請]稍等|[请請]稍候|[请請][您你]稍|[稍][等候]片刻", 1.5),
    (r"[还還]有(?:什[么麼]|其他|别的|別的)(?:可以|需要|[问問]题|[问問]題)", 2.5),
    (r"祝[您你]|再[见見]", 1.0),
    (r"[帮幫][您你]|[为為][您你]|[给給][您你]|[替][您你]", 1.5),
    (r"[您]的", 0.7),
    (r"[抱][歉]|[对對]不起|不好意思", 0.5),
    (r"[我]?[们們]?(?:会會|将將)(?:尽快|盡快|[为為][您你])", 1.0),
)
_CUSTOMER_CUES: tuple[tuple[str, float], ...] = (
    (
        r"\bi (?:want|need|would like|'?d like|was wondering|am trying|'?m trying|am calling|'?m calling|have a|"
        r"had a|have been|'?ve been|lost|forgot|can'?t|cannot|couldn'?t|didn'?t|never|just|still)\b",
        1.5,
    ),
    (
        r"\bmy (?:card|account|order|bill|package|parcel|phone|flight|booking|refund|money|payment|password|"
        r"balance|statement|name|address|email|number|internet|wife|husband|son|daughter|friend|family|apartment|"
        r"car|appointment|room|luggage|delivery|subscription|loan|mortgage)\b",
        1.5,
    ),
    (r"\b(?:can|could) you (?:help|tell|check|find|book|please|look|send|cancel|give)\b", 1.5),
    (r"\bwhy (?:is|was|did|does|do|hasn'?t|haven'?t|isn'?t|can'?t|won'?t)\b", 1.0),
    (r"\b(?:it'?s been|this is the (?:second|third|fourth)|again|still hasn'?t|still not|nobody|no one)\b", 1.0),
    (
        r"\b(?:charged|overcharged|broken|doesn'?t work|not working|stolen|scam|frustrat\w*|ridiculous|unacceptable|"
        r"complain\w*)\b",
        1.0,
    ),
    (r"\b(?:yes|yeah|yep|sure|ok(?:ay)?|no|nope|that'?s (?:right|correct|all|it))\b[,.! ]*$", 0.7),
    (r"\bthat'?s all\b|\bnothing else\b|\bno,? thanks?\b", 1.5),
    (r"^(?:nice|great|cool|sweet|lovely|perfect|awesome|excellent|wonderful|thanks?|thank you)\b[^?]{0,30}$", 0.7),
    (r"\bi (?:really |also |just )?need\b|\bi'?ll take\b|\bi'?ll go with\b", 1.0),
    (r"\b(?:hi|hello|hey)[,.!]? (?:i|my)\b", 1.0),
    (r"\bi'?m (?:looking for|interested in|planning|going|staying|free|available)\b", 1.5),
    (r"\bfor (?:two|three|four|\d+) (?:people|persons|guests|adults|nights)\b", 0.5),
    # Chinese
    (
        r"我的(?:卡|[账帳][户戶号號]|[订訂]?[单單]|包裹|快[递遞]|手机|手機|[电電][话話]|[钱錢]|密[码碼]"
        r"|[额額]度|信用卡|[储儲][蓄]卡|[银銀]行卡|[货貨]|退款|[账帳]|[网網]|房|[车車]|[宽寬]?[带帶])",
        2.0,
    ),
    (
        r"我想|我要|我需要|我打算|我[刚剛]|我昨天|我上(?:周|週|[个個]月|次)|我[们們]?家|我[已]?[经經]"
        r"|我一直|我[还還]|我[没沒]|我不|我是[来來]|我[打][过過電电]",
        1.5,
    ),
    (r"[为為]什[么麼]|怎[么麼][回][事]|怎[么麼][还還]|到底|[凭憑]什[么麼]|太[离離]?[谱譜]|[投][诉訴]", 1.5),
    (r"[你您][们們](?:的|[这這]|[总總]是|[怎])|[你][们們]", 1.0),
    (r"[帮幫]我|[给給]我|[能可]不[能可]以?|可以[帮幫]我|[请請][你您][帮幫]我", 1.5),
    (
        r"^(?:[好对對是嗯行]的?|好的|是的|[对對]的|[没沒]有了|[没沒][问問][题題]|[谢謝][谢謝]|明白了?)[。！!，, ]*$",
        0.7,
    ),
    (r"[没沒]有了|不用了|就[这這][些样樣]", 1.5),
    (r"[没沒](?:收到|到[账帳]|[反]?[应應])|[还還][没沒]|不[见見]了|丢了|丟了|被[盗盜]|扣了|多扣", 1.0),
)
_AGENT_RE = [(re.compile(pattern, re.IGNORECASE), weight) for pattern, weight in _AGENT_CUES]
_CUSTOMER_RE = [(re.compile(pattern, re.IGNORECASE), weight) for pattern, weight in _CUSTOMER_CUES]
_FIRST_SPEAKER = 0.5
"""Calls mostly open with the agent; chats (STAR) often with the customer, so only a nudge."""
_SCALE = 2.0
"""Margin of agent-ness between the two sides that gives confidence 1 / (1 + e^-1) = 0.73."""


def agent_score(text: str) -> float:
    """How much one turn sounds like the agent (positive) or the customer (negative)."""
    score = sum(weight for pattern, weight in _AGENT_RE if pattern.search(text))
    return score - sum(weight for pattern, weight in _CUSTOMER_RE if pattern.search(text))


def infer_roles(turns: list[Turn]) -> RoleGuess:
    """Roles for the speakers of some turns: the most agent-like speaker is the agent, the others customers."""
    scores: dict[str, float] = {}
    for turn in turns:
        scores[turn.speaker] = scores.get(turn.speaker, 0.0) + agent_score(turn.text)
    if turns:
        scores[turns[0].speaker] += _FIRST_SPEAKER
    ranked = sorted(scores, key=lambda label: -scores[label])
    if not ranked:
        return RoleGuess({}, 1.0)
    agent = ranked[0]
    margin = scores[agent] - scores[ranked[1]] if len(ranked) > 1 else abs(scores[agent])
    if len(ranked) == 1:  # one side never spoke: what it says is all there is (who spoke first tells nothing)
        said = scores[agent] - _FIRST_SPEAKER
        return RoleGuess({agent: Role.AGENT if said >= 0 else Role.CUSTOMER}, _confidence(abs(said)))
    roles = {label: Role.AGENT if label == agent else Role.CUSTOMER for label in ranked}
    return RoleGuess(roles, _confidence(margin))


def _confidence(margin: float) -> float:
    return 1.0 / (1.0 + math.exp(-margin / _SCALE))
