"""A self-contained HTML report (no external assets): summary, tables, and every conversation with its evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader

from auditor.anomaly.agent_steps import AgentStepDeviation
from auditor.conversation import Conversation
from auditor.outcome import OUTCOME_LABELS, WORST_FIRST, act_note, outcome_of
from auditor.privacy.policy import RedactionPolicy, redact_for_result, redacted_result
from auditor.reports.aggregates import AgentSummary, StepSummary, most_flagged
from auditor.reports.charts import Charts, chart_data, render_charts
from auditor.result import ConversationResult, ExpectedPlace, StepResult, TurnSignal
from auditor.text.normalise import VARIANTS, has_han, to_simplified

STATUS_LABELS = {
    "done": "done",
    "missing": "missing",
    "uncertain": "uncertain",
    "out_of_order": "out of order",
    "late": "late",
    "not_applicable": "n/a",
    "violated": "violated",
}

STATUS_MEANINGS = {
    "done": "performed, in order and on time",
    "missing": "not performed anywhere in the conversation (or refused, or not possible)",
    "uncertain": "the auditor is not sure it was done: a person decides (left out of the score)",
    "out_of_order": "performed, but before or after a step the SOP orders it against",
    "late": "performed, but outside the position or time window the SOP sets",
    "not_applicable": "the step's condition did not hold in this conversation",
    "violated": "a forbidden step: the agent said what the SOP forbids",
}

MISPLACED = ("missing", "out_of_order", "late")
"""Statuses shown with a marker where the SOP expected the step."""
MARKED = (*MISPLACED, "uncertain")
"""Statuses whose expected place is marked in the transcript (an uncertain step: where to look)."""
ISSUES = (*MISPLACED, "uncertain", "violated")
"""Step statuses that give a conversation an issue to look at."""


@dataclass(frozen=True)
class StepTag:
    """A step a turn performs: the turn is evidence for it (``best``: the step's strongest evidence)."""

    step_id: str
    status: str
    best: bool
    score: float
    method: str
    act: str | None = None
    """What the turn did toward the step when it did not perform it ("refused: 'can't … by phone'"), else None."""


@dataclass(frozen=True)
class PlaceMarker:
    """A missing or misplaced step, shown in the transcript where the SOP expected it."""

    step_id: str
    name: str
    status: str
    critical: bool
    window: str
    reason: str
    done_at: int | None = None


@dataclass
class TurnView:
    index: int
    speaker: str
    role: str
    text: str
    start: str | None
    tags: list[StepTag] = field(default_factory=list)
    markers_before: list[PlaceMarker] = field(default_factory=list)
    dissatisfaction: TurnSignal | None = None

    @property
    def highlight(self) -> str:
        """CSS classes for an evidence turn: strong for a step's best evidence, amber when a step is misplaced."""
        if not self.tags:
            return ""
        strength = "ev-best" if any(tag.best for tag in self.tags) else "ev-weak"
        statuses = {tag.status for tag in self.tags}
        if statuses & {"violated", "missing"}:
            tone = "ev-bad"  # a forbidden step said, or a step refused / not possible here
        elif "uncertain" in statuses:
            tone = "ev-unsure"
        elif statuses - {"done"}:
            tone = "ev-warn"
        else:
            tone = "ev-ok"
        return f"ev {strength} {tone}"


@dataclass
class ConversationView:
    result: ConversationResult
    turns: list[TurnView]
    markers_at_end: list[PlaceMarker]
    markers_by_step: dict[str, PlaceMarker]
    text_lang: str
    has_transcript: bool
    started_at: str | None = None

    @property
    def has_issues(self) -> bool:
        return bool(self.result.flags) or any(step.status in ISSUES for step in self.result.steps)

    @property
    def outcome(self) -> str:
        """passed / failed / needs_review (from ``passed`` for a result written before outcomes existed)."""
        return outcome_of(self.result)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("auditor.reports", "templates"),
        autoescape=True,  # select_autoescape() would not match the ".html.j2" name and leave it off
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda value: f"{value * 100:.0f}%"
    env.filters["clip"] = _clip
    env.filters["level"] = _level
    env.filters["act"] = lambda evidence: act_note(evidence.act, evidence.act_reason)
    env.globals["charts_from"] = charts_from_views
    return env


def charts_from_views(views: Sequence[ConversationView]) -> Charts:
    """Charts of the conversations a report shows, for a caller that passes no ``charts`` of its own."""
    return render_charts(chart_data((view.result, view.started_at) for view in views))


def render_report(
    results: Sequence[ConversationResult],
    agents: Sequence[AgentSummary],
    steps: Sequence[StepSummary],
    conversations: dict[str, Conversation],
    *,
    sop_name: str,
    problems: Sequence[str] = (),
    deviations: Sequence[AgentStepDeviation] = (),
    deviation_cells: int = 0,
    top: int = 5,
) -> str:
    """HTML text of the report; conversations are looked up by id to show their transcripts.

    ``deviations`` are the flagged agent x step rows (``deviation_cells`` how many cells were tested); the
    ``top`` most dissatisfied and most unusual flagged conversations get tables of their own.
    """
    worst_first = sorted(results, key=lambda r: (WORST_FIRST[outcome_of(r)], r.score, r.conversation_id))
    views = [_conversation_view(result, _transcript_of(result, conversations)) for result in worst_first]
    critical_steps = {s.step_id for r in results for s in r.steps if s.critical}
    total = len(results)
    outcomes = [outcome_of(r) for r in results]
    passed, needs_review = outcomes.count("passed"), outcomes.count("needs_review")
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            sop_name=sop_name,
            sop_id=results[0].sop_id if results else "",
            sop_version=results[0].sop_version if results else "",
            models=results[0].models if results else {},
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            total=total,
            passed=passed,
            failed=outcomes.count("failed"),
            needs_review=needs_review,
            uncertain_steps=sum(s.status == "uncertain" for r in results for s in r.steps),
            violated_steps=sum(s.status == "violated" for r in results for s in r.steps),
            with_issues=sum(view.has_issues for view in views),
            critical_misses=sum(any(f.startswith("critical:") for f in r.flags) for r in results),
            dissatisfied=sum(bool(r.dissatisfaction and r.dissatisfaction.flagged) for r in results),
            anomalous=sum(bool(r.anomaly and r.anomaly.flagged) for r in results),
            mean_score=sum(r.score for r in results) / total if total else 0.0,
            agents=agents,
            steps=steps,
            critical_steps=critical_steps,
            conversations=views,
            problems=problems,
            status_labels=STATUS_LABELS,
            status_meanings=STATUS_MEANINGS,
            outcome_labels=OUTCOME_LABELS,
            deviations=deviations,
            deviation_cells=deviation_cells,
            most_dissatisfied=most_flagged(results, "dissatisfaction", top),
            most_anomalous=most_flagged(results, "anomaly", top),
            charts=charts_from_views(views),
        )
    )


def _transcript_of(result: ConversationResult, conversations: dict[str, Conversation]) -> Conversation | None:
    """The transcript of ``result``: by its id, or by the id the result records when its id held personal data and
    was written redacted (``[PHONE]~3fa9c2``)."""
    found = conversations.get(result.conversation_id)
    if found is not None or "~" not in result.conversation_id:
        return found
    policy = RedactionPolicy.recorded_in(result.models)
    wanted = result.conversation_id
    return next((c for key, c in conversations.items() if policy.redact_identifier(key) == wanted), None)


def write_report(path: Path, html: str) -> None:
    path.write_text(html, encoding="utf-8")


def expected_anchor(expected: ExpectedPlace) -> int:
    """Index of the turn a missing step's marker goes before (the window is exclusive at both ends).

    The step should have happened before ``before_turn``, so the marker sits just above it; with only
    ``after_turn`` known it sits just below that turn; with neither, at the top of the transcript.
    """
    after, before = expected.after_turn, expected.before_turn
    if before is not None and (after is None or before > after):
        return before
    if after is not None:
        return after + 1
    return 0


def _conversation_view(result: ConversationResult, conversation: Conversation | None) -> ConversationView:
    """Transcript rows annotated with the steps each turn performs and the missing steps expected there.

    The transcript is redacted with the policy the result records (``models["redaction"]``; the default one when it
    records none), so the page shows no more personal data than results.jsonl does.
    """
    result = redacted_result(result)
    conversation = redact_for_result(conversation, result)
    tags: dict[int, list[StepTag]] = {}
    for step in result.steps:
        for rank, evidence in enumerate(step.evidence):
            tags.setdefault(evidence.turn_index, []).append(
                StepTag(
                    step.step_id,
                    step.status,
                    rank == 0,
                    evidence.score,
                    evidence.method,
                    act_note(evidence.act, evidence.act_reason),
                )
            )
    markers: dict[int, list[PlaceMarker]] = {}
    by_step: dict[str, PlaceMarker] = {}
    for step in result.steps:
        if step.status in MARKED and step.expected is not None:
            by_step[step.step_id] = _marker(step, step.expected)
            markers.setdefault(expected_anchor(step.expected), []).append(by_step[step.step_id])
    unhappy = {t.turn_index: t for t in result.dissatisfaction.turns} if result.dissatisfaction else {}
    turns = []
    for turn in conversation.turns if conversation else []:
        turns.append(
            TurnView(
                index=turn.index,
                speaker=turn.speaker,
                role=turn.role.value,
                text=turn.text,
                start=_clock(turn.start),
                tags=tags.get(turn.index, []),
                markers_before=markers.get(turn.index, []),
                dissatisfaction=unhappy.get(turn.index),
            )
        )
    last = turns[-1].index if turns else -1
    trailing = [marker for anchor in sorted(markers) if anchor > last for marker in markers[anchor]] if turns else []
    return ConversationView(
        result=result,
        turns=turns,
        markers_at_end=trailing,
        markers_by_step=by_step,
        text_lang=_text_lang(result, conversation),
        has_transcript=conversation is not None,
        started_at=conversation.started_at if conversation is not None else None,
    )


def _marker(step: StepResult, expected: ExpectedPlace) -> PlaceMarker:
    after, before = expected.after_turn, expected.before_turn
    if after is not None and before is not None and before > after:
        window = f"after turn {after}, before turn {before}"
    elif before is not None:
        window = f"before turn {before}"
    elif after is not None:
        window = f"after turn {after}"
    else:
        window = "anywhere"
    done_at = step.evidence[0].turn_index if step.evidence else None
    return PlaceMarker(
        step.step_id, step.name or step.step_id, step.status, step.critical, window, expected.reason, done_at
    )


def _text_lang(result: ConversationResult, conversation: Conversation | None) -> str:
    """BCP 47 tag for the transcript text, so browsers pick simplified or traditional Chinese glyphs."""
    text = "".join(turn.text for turn in conversation.turns) if conversation else ""
    if not has_han(text):
        return result.lang or "en"
    for regional_spelling in VARIANTS:  # simplified text that t2s would still rewrite (线上 -> 在线)
        text = text.replace(regional_spelling, "")
    return "zh-Hant" if to_simplified(text) != text else "zh-Hans"


def _clock(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


def _clip(text: str, length: int = 90) -> str:
    """Shorten by characters, not words, so Chinese (no spaces) is cut as cleanly as English."""
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _level(rate: float) -> str:
    """Colour band of a rate or score bar."""
    return "good" if rate >= 0.9 else "fair" if rate >= 0.7 else "poor"
