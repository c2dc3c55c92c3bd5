"""All insights of a set of audit results in one object, and its JSON form (``insights.json``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any

from auditor.conversation import Conversation
from auditor.embeddings.base import Embedder
from auditor.insights.association import Association, Untested, step_associations, steps_without_link
from auditor.insights.completion import StepCompletion, almost_always_skipped, often_late, step_completion
from auditor.insights.handle_time import HandleTimeSummary, handle_times, summarise_handle_times
from auditor.insights.outcomes import Outcome, find_outcomes, usable
from auditor.insights.repeat_contacts import RepeatContacts, contact_keys, repeat_contact_values
from auditor.insights.suggestions import Suggestion, SuggestionOptions, mine_suggestions
from auditor.outcome import outcome_of
from auditor.result import ConversationResult
from auditor.sop_format import Sop


@dataclass(frozen=True)
class InsightsOptions:
    repeat_days: int = 7
    customer_field: str = "customer_id"
    extra_outcomes: tuple[str, ...] = ()
    pool_steps: bool = False
    skip_rate: float = 0.1
    late_rate: float = 0.25
    min_per_group: int = 5
    suggestions: SuggestionOptions = field(default_factory=SuggestionOptions)


@dataclass(frozen=True)
class OutcomeSummary:
    name: str
    kind: str
    source: str
    known: int
    mean: float
    higher_is_better: bool | None


@dataclass
class Insights:
    results: int
    conversations: int
    sops: list[str]
    agents: int
    outcomes: list[OutcomeSummary]
    completion: list[StepCompletion]
    skipped: list[StepCompletion]
    late: list[StepCompletion]
    associations: list[Association]
    untested: list[Untested]
    no_link: list[tuple[str, str, list[str]]]
    handle_time: dict[str, list[HandleTimeSummary]]
    repeat_contacts: RepeatContacts | None
    suggestions: list[Suggestion]
    notes: list[str] = field(default_factory=list)
    uncertain_verdicts: int = 0
    """Step verdicts the auditor left uncertain: left out of completion and associations (neither done nor missing)."""
    needs_review: int = 0
    """Results whose outcome a person must decide."""


def build_insights(
    results: Sequence[ConversationResult],
    *,
    conversations: Mapping[str, Conversation] | None = None,
    sops: Mapping[str, Sop] | None = None,
    embedder: Embedder | None = None,
    options: InsightsOptions | None = None,
) -> Insights:
    """Completion, outcomes and their association with steps, AHT, repeat contacts and suggestions.

    ``conversations`` (the transcripts, by id) give timestamps for handle time and repeat contacts;
    ``sops`` (by id) and an ``embedder`` are needed for suggestions.
    """
    options = options or InsightsOptions()
    notes: list[str] = []
    outcomes = find_outcomes(results, options.extra_outcomes)
    for name in options.extra_outcomes:
        if not any(o.source == f"metadata.{name}" for o in outcomes):
            notes.append(f"outcome {name!r}: no result carries it with at least two values (metadata.{name})")

    seconds = handle_times(results, conversations)
    handle: dict[str, list[HandleTimeSummary]] = {}
    if any(value is not None for value in seconds):
        handle = {by: summarise_handle_times(results, seconds, by) for by in ("all", "sop", "agent")}
        aht = Outcome("handle time (s)", "numeric", "timestamps", None, seconds, quality=False)
        if usable(aht):
            outcomes.append(aht)
    else:
        notes.append("handle time: no turn timestamps (give --transcripts with start/end) or duration field")

    keys = contact_keys(results, conversations, options.customer_field)
    repeat_values, repeat = repeat_contact_values(results, keys, options.repeat_days)
    if repeat is None:
        has_customer = any(options.customer_field in r.metadata for r in results)
        notes.append(
            f"repeat contacts: {'no started_at' if has_customer else f'no {options.customer_field!r}'} for the "
            "conversations (give --transcripts with started_at and a customer id)"
        )
    else:
        repeated = Outcome(
            f"repeat contact ≤{options.repeat_days}d", "binary", options.customer_field, False, repeat_values
        )
        if usable(repeated):
            outcomes.append(repeated)
    if not outcomes:
        notes.append("no outcome to compare steps with: add dissatisfied, resolved, csat... to the transcripts")

    completion = step_completion(results)
    associations, untested = step_associations(
        results, outcomes, pool_steps=options.pool_steps, min_per_group=options.min_per_group
    )
    suggestions: list[Suggestion] = []
    if sops and embedder is not None:
        unhappy = next((o.values for o in outcomes if o.name == "dissatisfied"), None) or next(
            (o.values for o in outcomes if o.name == "flagged dissatisfied"), None
        )
        suggestions = mine_suggestions(results, sops, embedder, unhappy=unhappy, options=options.suggestions)
    elif not sops:
        notes.append("suggestions: give the SOP files (--sop) the results were audited against")
    return Insights(
        results=len(results),
        conversations=len({r.conversation_id for r in results}),
        sops=sorted({r.sop_id for r in results}),
        agents=len({r.agent_id for r in results if r.agent_id}),
        outcomes=[_summary(o) for o in outcomes],
        completion=completion,
        skipped=almost_always_skipped(completion, options.skip_rate),
        late=often_late(completion, options.late_rate),
        associations=associations,
        untested=untested,
        no_link=steps_without_link(associations, [c.key for c in completion]),
        handle_time=handle,
        repeat_contacts=repeat,
        suggestions=suggestions,
        notes=notes,
        uncertain_verdicts=sum(step.status == "uncertain" for r in results for step in r.steps),
        needs_review=sum(outcome_of(r) == "needs_review" for r in results),
    )


def _summary(outcome: Outcome) -> OutcomeSummary:
    known = [value for value in outcome.values if value is not None]
    return OutcomeSummary(
        outcome.name, outcome.kind, outcome.source, len(known), sum(known) / len(known), outcome.higher_is_better
    )


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {key: _plain(item) for key, item in asdict(value).items()}
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, float):
        return round(value, 6)
    return value


def insights_json(insights: Insights) -> str:
    """The whole report as JSON (every association, including those not printed)."""
    payload = _plain(insights)
    payload["no_link"] = [{"sop_id": s, "step_id": t, "outcomes": o} for s, t, o in insights.no_link]
    if insights.repeat_contacts is not None:
        payload["repeat_contacts"]["fcr"] = round(insights.repeat_contacts.fcr, 6)
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
