"""Repeat contacts and first-contact resolution: did the same customer come back within N days?

A contact counts as repeated when the same customer id has another contact starting within ``days`` after
it. Contacts too close to the end of the data to know (no later contact, window not over) are left out.
Needs a customer id (``customer_id`` in the transcripts, or another field) and a start time per
conversation (``started_at`` in the transcripts or the result metadata).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from auditor.conversation import Conversation
from auditor.insights.statistics import wilson_interval
from auditor.result import ConversationResult


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 date or date-time (``Z`` accepted); naive times are taken as UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RepeatContacts:
    """Summary over distinct conversations whose outcome is known."""

    days: int
    customers: int
    contacts: int
    repeated: int
    unknown: int

    @property
    def repeat_rate(self) -> float:
        return self.repeated / self.contacts if self.contacts else 0.0

    @property
    def fcr(self) -> float:
        return 1.0 - self.repeat_rate

    @property
    def interval(self) -> tuple[float, float]:
        """Wilson interval of the first-contact-resolution rate."""
        return wilson_interval(self.contacts - self.repeated, self.contacts)


def contact_keys(
    results: Sequence[ConversationResult],
    conversations: Mapping[str, Conversation] | None = None,
    customer_field: str = "customer_id",
) -> list[tuple[str, datetime] | None]:
    """(customer id, start time) per result, or None when either is unknown."""
    conversations = conversations or {}
    keys: list[tuple[str, datetime] | None] = []
    for result in results:
        conversation = conversations.get(result.conversation_id)
        metadata = conversation.metadata if conversation is not None else {}
        customer = result.metadata.get(customer_field, metadata.get(customer_field))
        started = parse_time(result.metadata.get("started_at")) or (
            parse_time(conversation.started_at) if conversation is not None else None
        )
        keys.append((str(customer), started) if customer not in (None, "") and started is not None else None)
    return keys


def repeat_contact_values(
    results: Sequence[ConversationResult], keys: Sequence[tuple[str, datetime] | None], days: int
) -> tuple[list[float | None], RepeatContacts | None]:
    """Per result: 1.0 when the customer came back within ``days``, 0.0 when not, None when unknown."""
    contacts: dict[str, tuple[str, datetime]] = {}
    for result, key in zip(results, keys, strict=True):
        if key is not None:
            contacts.setdefault(result.conversation_id, key)
    if not contacts:
        return [None] * len(results), None
    window = timedelta(days=days)
    last_seen = max(moment for _, moment in contacts.values())
    by_customer: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for conversation_id, (customer, moment) in contacts.items():
        by_customer[customer].append((moment, conversation_id))
    outcome: dict[str, float | None] = {}
    for visits in by_customer.values():
        visits.sort()
        for position, (moment, conversation_id) in enumerate(visits):
            following = visits[position + 1][0] if position + 1 < len(visits) else None
            if following is not None and following - moment <= window:
                outcome[conversation_id] = 1.0
            elif moment + window <= last_seen or following is not None:
                outcome[conversation_id] = 0.0
            else:
                outcome[conversation_id] = None
    known = [value for value in outcome.values() if value is not None]
    summary = RepeatContacts(
        days=days,
        customers=len(by_customer),
        contacts=len(known),
        repeated=int(sum(known)),
        unknown=len(outcome) - len(known),
    )
    return [outcome.get(result.conversation_id) for result in results], summary
