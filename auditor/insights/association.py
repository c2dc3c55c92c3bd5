"""Does doing a step go with better outcomes? Per step and outcome: done vs missing, crude and within agent.

Each step is compared within its SOP, so the SOP is held fixed by design; within the SOP, conversations
are stratified by agent (and SOP version), so an agent who both does the step and has easy customers does
not make the step look good. With ``pool_steps`` a step id shared by several SOPs (``greet``) is also
analysed across them, stratified by SOP and agent. Not-applicable and uncertain (undecided: neither done nor
missing) verdicts are left out. Associations are not causes: the report says "went with", and the q-value controls
the false discoveries of many tests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from auditor.insights.completion import PERFORMED
from auditor.insights.outcomes import Outcome
from auditor.insights.statistics import (
    Estimate,
    Table2x2,
    benjamini_hochberg,
    mantel_haenszel_difference,
    mean_difference,
    rate_difference,
    stratified_mean_difference,
)
from auditor.result import ConversationResult

ALL_SOPS = "*"
MIN_PER_GROUP = 5


@dataclass(frozen=True)
class Association:
    """Outcome when the step was done vs when it was missing, and the difference (done minus missing)."""

    sop_id: str
    step_id: str
    outcome: str
    kind: str
    higher_is_better: bool | None
    quality: bool
    n_done: int
    n_missing: int
    value_done: float
    value_missing: float
    estimate: Estimate
    crude: Estimate
    adjusted_for: tuple[str, ...]
    q_value: float = 1.0

    @property
    def significant(self) -> bool:
        return self.q_value < 0.05

    @property
    def better_when_done(self) -> bool | None:
        """True when doing the step went with a better outcome (significant or not); None if direction unknown."""
        if self.higher_is_better is None or self.estimate.difference == 0:
            return None
        return (self.estimate.difference > 0) == self.higher_is_better


@dataclass(frozen=True)
class Untested:
    """A step-outcome pair with too little variation to test (almost always done, or almost never)."""

    sop_id: str
    step_id: str
    outcome: str
    n_done: int
    n_missing: int


def step_associations(
    results: Sequence[ConversationResult],
    outcomes: Sequence[Outcome],
    *,
    pool_steps: bool = False,
    min_per_group: int = MIN_PER_GROUP,
) -> tuple[list[Association], list[Untested]]:
    """Every testable (step, outcome) association with q-values across all of them, and the untestable pairs."""
    rows: dict[tuple[str, str], list[tuple[int, bool, tuple[str, ...]]]] = defaultdict(list)
    shared = _shared_step_ids(results) if pool_steps else set()
    for index, result in enumerate(results):
        for step in result.steps:
            if step.status in {"not_applicable", "uncertain"}:  # uncertain: undecided, neither done nor missing
                continue
            done = step.status in PERFORMED
            agent = result.agent_id or ""
            rows[(result.sop_id, step.step_id)].append((index, done, (str(result.sop_version), agent)))
            if step.step_id in shared:
                rows[(ALL_SOPS, step.step_id)].append((index, done, (result.sop_id, str(result.sop_version), agent)))
    associations: list[Association] = []
    untested: list[Untested] = []
    has_agents = any(result.agent_id for result in results)
    for (sop_id, step_id), members in rows.items():
        for outcome in outcomes:
            known = [
                (done, outcome.values[i], stratum) for i, done, stratum in members if outcome.values[i] is not None
            ]
            n_done = sum(done for done, _, _ in known)
            n_missing = len(known) - n_done
            if n_done < min_per_group or n_missing < min_per_group:
                untested.append(Untested(sop_id, step_id, outcome.name, n_done, n_missing))
                continue
            association = _associate(sop_id, step_id, outcome, known, has_agents)
            if association is not None:
                associations.append(association)
    q_values = benjamini_hochberg([a.estimate.p_value for a in associations])
    associations = [_with_q(a, q) for a, q in zip(associations, q_values, strict=True)]
    return associations, untested


def _shared_step_ids(results: Sequence[ConversationResult]) -> set[str]:
    sops_by_step: dict[str, set[str]] = defaultdict(set)
    for result in results:
        for step in result.steps:
            sops_by_step[step.step_id].add(result.sop_id)
    return {step_id for step_id, sops in sops_by_step.items() if len(sops) > 1}


def _with_q(association: Association, q_value: float) -> Association:
    from dataclasses import replace

    return replace(association, q_value=q_value)


def _associate(
    sop_id: str,
    step_id: str,
    outcome: Outcome,
    known: list[tuple[bool, float | None, tuple[str, ...]]],
    has_agents: bool,
) -> Association | None:
    done_values = [float(value) for done, value, _ in known if done and value is not None]
    missing_values = [float(value) for done, value, _ in known if not done and value is not None]
    strata: dict[tuple[str, ...], tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for done, value, stratum in known:
        strata[stratum][0 if done else 1].append(float(value or 0.0))
    crude: Estimate | None
    adjusted: Estimate | None
    if outcome.kind == "binary":
        k1, k0 = int(sum(done_values)), int(sum(missing_values))
        crude = rate_difference(k1, len(done_values), k0, len(missing_values))
        tables = [Table2x2(int(sum(d)), len(d), int(sum(m)), len(m)) for d, m in strata.values()]
        adjusted = mantel_haenszel_difference(tables)
    else:
        crude = mean_difference(done_values, missing_values)
        adjusted = stratified_mean_difference(list(strata.values()))
    if crude is None:
        return None
    informative = [key for key, (d, m) in strata.items() if d and m]
    adjusted_for: tuple[str, ...] = ()
    if adjusted is not None and len(strata) > 1 and informative:
        parts = {index: {key[index] for key in strata} for index in range(len(next(iter(strata))))}
        labels = ("SOP", "SOP version", "agent") if sop_id == ALL_SOPS else ("SOP version", "agent")
        adjusted_for = tuple(label for index, label in enumerate(labels) if len(parts[index]) > 1)
        if not has_agents:
            adjusted_for = tuple(label for label in adjusted_for if label != "agent")
    if adjusted is not None and adjusted.low == adjusted.high and crude.low != crude.high:
        adjusted_for = ()  # events too rare within strata for a variance: the crude interval is the honest one
    estimate = adjusted if adjusted is not None and adjusted_for else crude
    return Association(
        sop_id,
        step_id,
        outcome.name,
        outcome.kind,
        outcome.higher_is_better,
        outcome.quality,
        len(done_values),
        len(missing_values),
        sum(done_values) / len(done_values),
        sum(missing_values) / len(missing_values),
        estimate,
        crude,
        adjusted_for,
    )


def steps_without_link(
    associations: Sequence[Association], step_keys: Sequence[tuple[str, str]]
) -> list[tuple[str, str, list[str]]]:
    """Steps tested against at least one quality outcome and linked to none: (sop, step, outcomes tested)."""
    tested: dict[tuple[str, str], list[Association]] = defaultdict(list)
    for association in associations:
        if association.quality:
            tested[(association.sop_id, association.step_id)].append(association)
    flagged = []
    for key in step_keys:
        found = tested.get(key)
        if found and not any(a.significant for a in found):
            flagged.append((key[0], key[1], [a.outcome for a in found]))
    return flagged
