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


def normalise_role(speaker: str) -> Role:
    """Return the role of a raw speaker name; unknown names become non-spoken events."""
    name = speaker.strip().casefold()
    if name in AGENT_NAMES:
        return Role.AGENT
    if name in CUSTOMER_NAMES:
        return Role.CUSTOMER
    return Role.EVENT
