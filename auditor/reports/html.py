"""report.html, the one renderer: a self-contained page (no external assets) with the figures, tables and charts of
an audit and the transcripts of its conversations, worst first, with their evidence.

The page is the template ``templates/report.html.j2`` filled from an ``AuditSummary`` (the aggregates of every
result, counted one at a time) and the conversations shown. ``write_report`` streams it to a file from a batch
audit, whose shown conversations (``ShownConversation``) are parsed and laid out only when the template reaches
them, so an audit of any size writes its report in bounded memory; a large audit shows only its lowest-scoring
conversations, with a note saying so. ``render_report`` is the same page as text, from results held in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from auditor.anomaly.agent_steps import AgentStepDeviation
from auditor.conversation import Conversation
from auditor.outcome import OUTCOME_LABELS, outcome_of
from auditor.privacy.policy import RedactionPolicy, redact_for_result, redacted_result
from auditor.reports.aggregates import AgentSummary, StepSummary, most_flagged
from auditor.reports.charts import ChartText, render_charts
from auditor.reports.reasons import ReasonText
from auditor.reports.summary import ISSUES, MARKED, TOP_FLAGGED, AuditSummary, summarise, worst_first_key
from auditor.result import ConversationResult, ExpectedPlace, StepResult, TurnSignal
from auditor.sop_format import Sop
from auditor.text.interface import interface_texts, to_traditional
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

REPORT_LANGUAGES = ("en", "zh-Hans", "zh-Hant")
"""Languages of the report's interface text (``--report-lang``); transcripts and SOP text show as written."""
TEXT_FILE = Path(__file__).resolve().parent / "templates" / "report_text.yaml"


def report_texts(lang: str) -> dict[str, Markup]:
    """The report's interface text in ``lang`` (one of ``REPORT_LANGUAGES``), as trusted markup: report_text.yaml is
    ours, and ``Markup.format`` escapes what fills it in."""
    if lang not in REPORT_LANGUAGES:
        raise ValueError(f"unknown report language {lang!r}: choose one of {', '.join(REPORT_LANGUAGES)}")
    texts = interface_texts(TEXT_FILE)["zh" if lang == "zh-Hans" else lang]
    return {key: Markup(value) for key, value in texts.items()}


def localised_step_names(sop: Sop, lang: str) -> dict[str, str]:
    """Each step's name in ``lang``: the SOP's own name in English, else its ``translations`` (``zh-Hant`` or ``zh``
    converted to traditional characters; ``zh-Hans`` or ``zh``), else its English name."""
    return {step.id: _localised_name(step.name, step.translations, lang) for step in sop.steps}


def localised_sop_name(sop: Sop, lang: str) -> str:
    """The SOP's name in ``lang``, as ``localised_step_names`` finds a step's."""
    return _localised_name(sop.name, sop.translations, lang)


def _localised_name(name: str, translations: Mapping[str, Any], lang: str) -> str:
    if lang == "en":
        return name
    own = translations.get(lang)
    simplified = translations.get("zh-Hans") or translations.get("zh")
    if own is not None and own.name:
        return str(own.name)
    if simplified is not None and simplified.name:
        return to_traditional(simplified.name) if lang == "zh-Hant" else str(simplified.name)
    return name


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
    env.filters["clip"] = clip
    env.filters["level"] = _level
    return env


@dataclass(frozen=True)
class ShownConversation:
    """A conversation the report shows: its worst-first key, its final result as JSON (parsed when its turn comes,
    so a thousand parsed results never coexist) and its transcript."""

    key: tuple[int, float, str]
    result_json: str
    conversation: Conversation | None


def write_report(
    path: Path,
    summary: AuditSummary,
    shown: Sequence[ShownConversation],
    agents: Sequence[AgentSummary],
    steps: Sequence[StepSummary],
    *,
    sop_name: str,
    problems: Sequence[str] = (),
    deviations: Sequence[AgentStepDeviation] = (),
    deviation_cells: int = 0,
    lang: str = "en",
    step_names: Mapping[str, str] | None = None,
) -> None:
    """Write report.html: figures from ``summary``, transcripts of ``shown`` (worst first); the page is streamed to
    the file. ``lang`` is the interface language (``REPORT_LANGUAGES``); ``step_names`` the steps' names in it
    (``localised_step_names``), shown in its place of ids outside English."""
    views = _LazyViews(sorted(shown, key=lambda item: item.key), lang)
    chunks = _generate(
        summary,
        views,
        agents,
        steps,
        sop_name=sop_name,
        problems=problems,
        deviations=deviations,
        deviation_cells=deviation_cells,
        lang=lang,
        step_names=step_names,
    )
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(chunks)


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
    top: int = TOP_FLAGGED,
    lang: str = "en",
    step_names: Mapping[str, str] | None = None,
) -> str:
    """HTML text of the report of ``results`` (in results.jsonl order), every one shown; conversations are looked up
    by id to show their transcripts.

    ``deviations`` are the flagged agent x step rows (``deviation_cells`` how many cells were tested); the
    ``top`` most dissatisfied and most unusual flagged conversations get tables of their own.
    """
    transcripts = [_transcript_of(result, conversations) for result in results]
    started = [transcript.started_at if transcript else None for transcript in transcripts]
    summary = summarise(zip(results, started, strict=True), top=top)
    ordered = sorted(
        zip(results, transcripts, strict=True),
        key=lambda pair: worst_first_key(outcome_of(pair[0]), pair[0].score, pair[0].conversation_id),
    )
    views = [conversation_view(result, transcript, lang) for result, transcript in ordered]
    return "".join(
        _generate(
            summary,
            views,
            agents,
            steps,
            sop_name=sop_name,
            problems=problems,
            deviations=deviations,
            deviation_cells=deviation_cells,
            lang=lang,
            step_names=step_names,
        )
    )


def _generate(
    summary: AuditSummary,
    views: Sequence[ConversationView],
    agents: Sequence[AgentSummary],
    steps: Sequence[StepSummary],
    *,
    sop_name: str,
    problems: Sequence[str],
    deviations: Sequence[AgentStepDeviation],
    deviation_cells: int,
    lang: str = "en",
    step_names: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """The page in chunks: the template filled from the whole audit's ``summary`` and the ``views`` shown, its
    interface text in ``lang``."""
    t = report_texts(lang)
    english = lang == "en"
    names = dict(step_names or {}) if not english else {}
    statuses = STATUS_LABELS if english else {status: str(t[f"status_{status}"]) for status in STATUS_LABELS}
    meanings = STATUS_MEANINGS if english else {status: str(t[f"meaning_{status}"]) for status in STATUS_MEANINGS}
    outcomes = OUTCOME_LABELS if english else {outcome: str(t[f"outcome_{outcome}"]) for outcome in OUTCOME_LABELS}
    words = ChartText() if english else ChartText({key: str(value) for key, value in t.items()}, names)
    return (
        _environment()
        .get_template("report.html.j2")
        .generate(
            sop_name=sop_name,
            sop_id=summary.sop_id,
            sop_version=summary.sop_version,
            models=summary.models,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            total=summary.total,
            passed=summary.passed,
            failed=summary.failed,
            needs_review=summary.needs_review,
            uncertain_steps=summary.uncertain_steps,
            violated_steps=summary.violated_steps,
            with_issues=summary.with_issues,
            critical_misses=summary.critical_misses,
            dissatisfied=summary.dissatisfied,
            anomalous=summary.anomalous,
            mean_score=summary.mean_score,
            agents=agents,
            steps=steps,
            critical_steps=summary.critical_steps,
            conversations=views,
            problems=problems,
            status_labels=statuses,
            status_meanings=meanings,
            outcome_labels=outcomes,
            t=t,
            lang=lang,
            say=ReasonText(lang, names),
            step_label=(lambda step_id: step_id) if english else (lambda step_id: names.get(step_id, step_id)),
            step_name=lambda step_id, name: names.get(step_id, name),
            flag_label=_flag_labeller(t, names, english),
            deviations=deviations,
            deviation_cells=deviation_cells,
            most_dissatisfied=most_flagged(summary.flagged("dissatisfaction"), "dissatisfaction", summary.top),
            most_anomalous=most_flagged(summary.flagged("anomaly"), "anomaly", summary.top),
            charts=render_charts(summary.charts, words),
            shown_note=(
                t["shown_note"].format(shown=f"{len(views):,}", total=f"{summary.total:,}")
                if len(views) < summary.total
                else ""
            ),
        )
    )


def _flag_labeller(t: Mapping[str, Markup], names: Mapping[str, str], english: bool) -> Callable[[str], str]:
    """A flag (``missing:listen``, ``dissatisfied``) as the report shows it: as written in English, else in words
    with the step's name."""

    def label(flag: str) -> str:
        if english:
            return flag
        kind, _, step_id = flag.partition(":")
        text = t.get(f"flag_{kind}")
        if text is None:
            return flag
        return text.format(step=names.get(step_id, step_id)) if step_id else text  # markup: not escaped twice

    return label


class _LazyViews(Sequence[ConversationView]):
    """The shown conversations' views, each built when the template reaches it (and built again if it comes back),
    so the page never holds a thousand parsed results and transcripts at once."""

    def __init__(self, shown: Sequence[ShownConversation], lang: str = "en"):
        self._shown = shown
        self._lang = lang

    def __len__(self) -> int:
        return len(self._shown)

    @overload
    def __getitem__(self, index: int) -> ConversationView: ...

    @overload
    def __getitem__(self, index: slice) -> list[ConversationView]: ...

    def __getitem__(self, index: int | slice) -> ConversationView | list[ConversationView]:
        if isinstance(index, slice):
            return [self._view(item, self._lang) for item in self._shown[index]]
        return self._view(self._shown[index], self._lang)

    def __iter__(self) -> Iterator[ConversationView]:
        return (self._view(item, self._lang) for item in self._shown)

    @staticmethod
    def _view(item: ShownConversation, lang: str) -> ConversationView:
        return conversation_view(ConversationResult.model_validate_json(item.result_json), item.conversation, lang)


def _transcript_of(result: ConversationResult, conversations: dict[str, Conversation]) -> Conversation | None:
    """The transcript of ``result``: by its id, or by the id the result records when its id held personal data and
    was written redacted (``[PHONE]~3fa9c2``)."""
    found = conversations.get(result.conversation_id)
    if found is not None or "~" not in result.conversation_id:
        return found
    policy = RedactionPolicy.recorded_in(result.models)
    wanted = result.conversation_id
    return next((c for key, c in conversations.items() if policy.redact_identifier(key) == wanted), None)


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


def conversation_view(
    result: ConversationResult, conversation: Conversation | None, lang: str = "en"
) -> ConversationView:
    """Transcript rows annotated with the steps each turn performs and the missing steps expected there.

    The transcript is redacted with the policy the result records (``models["redaction"]``; the default one when it
    records none), so the page shows no more personal data than results.jsonl does.
    """
    result = redacted_result(result)
    conversation = redact_for_result(conversation, result)
    say = ReasonText(lang)
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
                    say.act_note(evidence.act, evidence.act_reason),
                )
            )
    markers: dict[int, list[PlaceMarker]] = {}
    by_step: dict[str, PlaceMarker] = {}
    for step in result.steps:
        if step.status in MARKED and step.expected is not None:
            by_step[step.step_id] = _marker(step, step.expected, lang)
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


def _marker(step: StepResult, expected: ExpectedPlace, lang: str = "en") -> PlaceMarker:
    after, before = expected.after_turn, expected.before_turn
    t = report_texts(lang)
    if after is not None and before is not None and before > after:
        window = t["window_between"].format(after=after, before=before)
    elif before is not None:
        window = t["window_before"].format(before=before)
    elif after is not None:
        window = t["window_after"].format(after=after)
    else:
        window = t["window_anywhere"]
    done_at = step.evidence[0].turn_index if step.evidence else None
    return PlaceMarker(
        step.step_id, step.name or step.step_id, step.status, step.critical, str(window), expected.reason, done_at
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


def clip(text: str, length: int = 90) -> str:
    """Shorten by characters, not words, so Chinese (no spaces) is cut as cleanly as English."""
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _level(rate: float) -> str:
    """Colour band of a rate or score bar."""
    return "good" if rate >= 0.9 else "fair" if rate >= 0.7 else "poor"
