"""Speaker roles: map the many names a transcript gives its speakers onto agent / customer / event."""

from __future__ import annotations

from auditor.conversation import Role

AGENT_NAMES = frozenset(
    {
        "agent",
        "rep",
        "representative",
        "staff",
        "wizard",
        "helpdesk",
        "system-agent",
        "assistant",
        "operator",
        "advisor",
        "客服",
        "坐席",
        "客服人员",
        "客服代表",
        "專員",
        "专员",
    }
)
CUSTOMER_NAMES = frozenset(
    {"customer", "caller", "user", "client", "客户", "客戶", "顾客", "顧客", "用户", "用戶", "来电人", "來電人"}
)
EVENT_NAMES = frozenset(
    {
        "system",
        "event",
        "action",
        "api",
        "note",
        "notes",
        "bot",
        "ivr",
        "系统",
        "系統",
        "事件",
        "备注",
        "備註",
    }
)
"""Speakers of non-spoken turns (system notes, API actions: STAR's ``action``, the corpora's ``system``)."""


def known_role(speaker: str) -> Role | None:
    """The role a speaker name stands for, or None when it is none of the known names (a typo, ``Speaker 1``)."""
    name = speaker.strip().casefold()
    if name in AGENT_NAMES:
        return Role.AGENT
    if name in CUSTOMER_NAMES:
        return Role.CUSTOMER
    if name in EVENT_NAMES:
        return Role.EVENT
    return None


def normalise_role(speaker: str) -> Role:
    """Return the role of a raw speaker name; an unknown name is provisionally an event, until
    ``auditor.transcripts.speaker_roles.resolve_roles`` maps, infers or reports it."""
    return known_role(speaker) or Role.EVENT
