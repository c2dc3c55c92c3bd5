"""The report's charts as inline SVG (no scripts, no external assets): they open offline and print.

``ChartData`` counts what the charts need one result at a time (an audit of any size adds each result once);
``render_charts`` draws step completion bars, an agent x step heatmap, the score distribution, dissatisfaction
against compliance (each point links to its conversation), the trend over time when conversations carry
dates, and lists the flagged conversations.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from markupsafe import Markup, escape

from auditor.outcome import OUTCOME_LABELS, outcome_of
from auditor.result import ConversationResult

STATUS_ORDER = ("done", "late", "out_of_order", "uncertain", "missing", "violated", "not_applicable")
STATUS_COLOURS = {
    "done": "#2da44e",
    "late": "#d4a72c",
    "out_of_order": "#bf8700",
    "uncertain": "#54aeff",
    "missing": "#cf222e",
    "violated": "#82071e",
    "not_applicable": "#d0d7de",
}
STATUS_NAMES = {
    "done": "done",
    "late": "late",
    "out_of_order": "out of order",
    "uncertain": "uncertain",
    "missing": "missing",
    "violated": "violated",
    "not_applicable": "n/a",
}
OUTCOME_COLOURS = {"passed": "#2da44e", "needs_review": "#54aeff", "failed": "#cf222e"}
OUTCOME_ORDER = ("passed", "needs_review", "failed")
"""Stacking order of the score histogram, bottom up."""
MAX_POINTS = 2_000
MAX_AGENTS = 30
MAX_FLAGGED = 500
BINS = 10
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, Noto Sans, Arial, sans-serif"'


@dataclass
class _Period:
    conversations: int = 0
    score_sum: float = 0.0
    passed: int = 0
    decided: int = 0
    """Conversations passed or failed (needs_review ones are not in the pass rate)."""
    dissatisfied: int = 0


@dataclass
class FlaggedConversation:
    conversation_id: str
    agent_id: str | None
    score: float
    flags: list[str]


@dataclass
class ChartData:
    """Running counts for the charts; ``add`` each result once, in any order."""

    total: int = 0
    step_names: dict[str, str] = field(default_factory=dict)
    critical_steps: set[str] = field(default_factory=set)
    forbidden_steps: set[str] = field(default_factory=set)
    """Steps the agent must not say: their *done* is "never said"."""
    step_counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    agent_conversations: Counter[str] = field(default_factory=Counter)
    agent_score_sum: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    agent_steps: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    """(agent, step) -> [applicable and decided, done, uncertain]."""
    score_bins: dict[str, list[int]] = field(default_factory=lambda: {o: [0] * BINS for o in OUTCOME_ORDER})
    """Outcome -> conversations per score band."""
    points: list[tuple[float, float, str, str, bool]] = field(default_factory=list)
    """(compliance score, dissatisfaction, conversation id, outcome, dissatisfaction flagged), at most MAX_POINTS."""
    with_dissatisfaction: int = 0
    days: dict[date, _Period] = field(default_factory=lambda: defaultdict(_Period))
    flagged: list[FlaggedConversation] = field(default_factory=list)
    flagged_total: int = 0

    def add(self, result: ConversationResult, started_at: str | None = None) -> None:
        self.total += 1
        outcome = outcome_of(result)
        agent = result.agent_id or "(unknown)"
        self.agent_conversations[agent] += 1
        self.agent_score_sum[agent] += result.score
        for step in result.steps:
            self.step_names.setdefault(step.step_id, step.name or step.step_id)
            self.step_counts[step.step_id][step.status] += 1
            if step.critical:
                self.critical_steps.add(step.step_id)
            if step.forbidden or step.status == "violated":
                self.forbidden_steps.add(step.step_id)
            if step.status != "not_applicable":
                cell = self.agent_steps.setdefault((agent, step.step_id), [0, 0, 0])
                cell[0] += step.status != "uncertain"
                cell[1] += step.status == "done"
                cell[2] += step.status == "uncertain"
        self.score_bins[outcome][min(int(result.score * BINS), BINS - 1)] += 1
        unhappy = result.dissatisfaction
        if unhappy is not None:
            self.with_dissatisfaction += 1
            if len(self.points) < MAX_POINTS:
                self.points.append((result.score, unhappy.score, result.conversation_id, outcome, unhappy.flagged))
        day = _day(started_at if started_at is not None else result.metadata.get("started_at"))
        if day is not None:
            period = self.days[day]
            period.conversations += 1
            period.score_sum += result.score
            period.passed += outcome == "passed"
            period.decided += outcome != "needs_review"
            period.dissatisfied += bool(unhappy and unhappy.flagged)
        flags = list(result.flags)
        if result.anomaly is not None and result.anomaly.flagged and "anomaly" not in flags:
            flags.append("anomaly")
        if flags or outcome != "passed":
            self.flagged_total += 1
            if len(self.flagged) < MAX_FLAGGED:
                self.flagged.append(FlaggedConversation(result.conversation_id, result.agent_id, result.score, flags))


def chart_data(pairs: Iterable[tuple[ConversationResult, str | None]]) -> ChartData:
    """Chart counts of (result, the conversation's started_at) pairs."""
    data = ChartData()
    for result, started_at in pairs:
        data.add(result, started_at)
    return data


@dataclass
class Charts:
    steps: Markup
    heatmap: Markup
    scores: Markup
    mood: Markup | None
    trend: Markup | None
    trend_unit: str
    flagged: list[FlaggedConversation]
    flagged_total: int
    agents_shown: int
    agents_total: int
    points_shown: int
    with_dissatisfaction: int
    total: int


@dataclass(frozen=True)
class ChartText:
    """The words of the charts in the report's language: ``texts`` the interface text (report_text.yaml keys; the
    English ones when empty), ``steps`` the label of a step by id (its id when absent)."""

    texts: Mapping[str, str] = field(default_factory=dict)
    steps: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, key: str, english: str) -> str:
        return self.texts.get(key, english)

    def step(self, step_id: str) -> str:
        return self.steps.get(step_id, step_id)

    def status(self, status: str) -> str:
        return self.texts.get(f"status_{status}", STATUS_NAMES[status])

    def outcome(self, outcome: str) -> str:
        return self.texts.get(f"outcome_{outcome}", OUTCOME_LABELS[outcome])


def render_charts(data: ChartData, words: ChartText | None = None) -> Charts:
    """The charts of ``data``, labelled in ``words`` (English, steps by id, when None)."""
    words = words or ChartText()
    agents = sorted(data.agent_conversations, key=lambda a: (data.agent_score_sum[a] / data.agent_conversations[a], a))
    shown_agents = agents[:MAX_AGENTS]
    trend, unit = _trend(data, words)
    worst_first = sorted(data.flagged, key=lambda f: (f.score, f.conversation_id))
    return Charts(
        steps=_step_bars(data, words),
        heatmap=_heatmap(data, shown_agents, words),
        scores=_histogram(data, words),
        mood=_scatter(data, words) if data.points else None,
        trend=trend,
        trend_unit=unit,
        flagged=worst_first,
        flagged_total=data.flagged_total,
        agents_shown=len(shown_agents),
        agents_total=len(agents),
        points_shown=len(data.points),
        with_dissatisfaction=data.with_dissatisfaction,
        total=data.total,
    )


def _day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _svg(width: float, height: float, label: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" {FONT} font-size="12">'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, content: object, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {extra}>{escape(str(content))}</text>'


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _step_bars(data: ChartData, words: ChartText) -> Markup:
    """One stacked bar per step: the share of conversations in each status, SOP order."""
    left, width, row = 230.0, 470.0, 26
    steps = list(data.step_names)
    height = 34 + row * len(steps)
    body = []
    for offset, status in enumerate(STATUS_ORDER):
        legend_x = 8 + offset * 98
        body.append(f'<rect x="{legend_x}" y="4" width="11" height="11" fill="{STATUS_COLOURS[status]}"/>')
        body.append(_text(legend_x + 15, 14, words.status(status)))
    for number, step_id in enumerate(steps):
        y = 28 + number * row
        counts = data.step_counts[step_id]
        total = sum(counts.values()) or 1
        forbidden = step_id in data.forbidden_steps
        label = ("⊘ " if forbidden else "") + words.step(step_id) + (" ★" if step_id in data.critical_steps else "")
        name = data.step_names[step_id] + (
            words("chart_forbidden", " (forbidden: done = never said)") if forbidden else ""
        )
        body.append(
            f'<text x="{left - 8}" y="{y + 14}" text-anchor="end" font-weight="600">{escape(_clip(label, 30))}'
            f"<title>{escape(name)}</title></text>"
        )
        x = float(left)
        for status in STATUS_ORDER:
            share = counts[status] / total
            if not share:
                continue
            span = share * width
            said = words("never_said", "never said") if forbidden and status == "done" else words.status(status)
            title = f"{words.step(step_id)}: {said} {counts[status]} {words('of', 'of')} {total} ({share:.0%})"
            body.append(
                f'<rect x="{x:.1f}" y="{y}" width="{span:.1f}" height="{row - 6}" fill="{STATUS_COLOURS[status]}">'
                f"<title>{escape(title)}</title></rect>"
            )
            if status == "done" and span > 34:
                shown = (
                    f"{share:.0%} {words('never_said', 'never said')}" if forbidden and span > 110 else f"{share:.0%}"
                )
                body.append(_text(x + 5, y + 14, shown, extra='fill="#fff" font-weight="600"'))
            x += span
    return _svg(left + width + 10, height, words("chart_steps", "Step completion per step"), body)


def _rate_colour(rate: float) -> str:
    """Red (0) through amber to green (1)."""
    if rate < 0.5:
        red, green = 207, int(34 + (167 - 34) * rate * 2)
    else:
        red, green = int(207 - (207 - 45) * (rate - 0.5) * 2), int(167 - (167 - 164) * (rate - 0.5) * 2)
    return f"rgb({red},{green},{int(46 + 32 * rate)})"


def _heatmap(data: ChartData, agents: list[str], words: ChartText) -> Markup:
    """Agents (worst mean score first) x steps: the share of applicable conversations where the step was done."""
    steps = list(data.step_names)
    left, top, cell_w, cell_h = 150, 96, max(44, min(70, 700 // max(len(steps), 1))), 24
    width, height = left + cell_w * len(steps) + 70, top + cell_h * len(agents) + 8
    body = []
    for column, step_id in enumerate(steps):
        x = left + column * cell_w + cell_w / 2
        shown_id = escape(_clip(words.step(step_id), 16))
        body.append(
            f'<text transform="translate({x:.1f},{top - 6}) rotate(-40)" font-size="11">{shown_id}'
            f"<title>{escape(data.step_names[step_id])}</title></text>"
        )
    for row, agent in enumerate(agents):
        y = top + row * cell_h
        body.append(_text(left - 8, y + 16, _clip(agent, 20), "end"))
        for column, step_id in enumerate(steps):
            x = left + column * cell_w
            applicable, done, uncertain = data.agent_steps.get((agent, step_id), [0, 0, 0])
            more = words("more_uncertain", "more uncertain (a person decides; not counted)")
            unsure = f"; {uncertain} {more}" if uncertain else ""
            label = f"{agent} · {words.step(step_id)}: "
            if not applicable:
                title = label + (
                    f"{words('never_decided', 'never decided')}{unsure}"
                    if uncertain
                    else words("never_applicable", "never applicable")
                )
                body.append(
                    f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="#eff2f5">'
                    f"<title>{escape(title)}</title></rect>"
                )
                continue
            rate = done / applicable
            title = f"{label}{words.status('done')} {done} {words('of', 'of')} {applicable} ({rate:.0%}){unsure}"
            body.append(
                f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{_rate_colour(rate)}">'
                f"<title>{escape(title)}</title></rect>"
            )
            body.append(
                _text(
                    x + (cell_w - 2) / 2,
                    y + 15,
                    f"{rate:.0%}",
                    "middle",
                    'fill="#fff" font-size="11" font-weight="600"',
                )
            )
    return _svg(width, height, words("chart_heatmap", "Done rate per agent and step"), body)


def _histogram(data: ChartData, words: ChartText) -> Markup:
    """Conversations per score band, passed, needing review and failed stacked."""
    left, bottom, width, height = 40, 180, 440, 150
    counts = [sum(data.score_bins[outcome][i] for outcome in OUTCOME_ORDER) for i in range(BINS)]
    peak = max(counts) or 1
    bar = width / BINS
    body = [f'<line x1="{left}" y1="{bottom}" x2="{left + width}" y2="{bottom}" stroke="#8c959f"/>']
    for i in range(BINS):
        x = left + i * bar
        y = float(bottom)
        for outcome in OUTCOME_ORDER:
            count = data.score_bins[outcome][i]
            if not count:
                continue
            span = count / peak * height
            y -= span
            colour = OUTCOME_COLOURS[outcome]
            title = f"{words('score', 'score')} {i / BINS:.1f}–{(i + 1) / BINS:.1f}: {count} {words.outcome(outcome)}"
            body.append(
                f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar - 4:.1f}" height="{span:.1f}" fill="{colour}">'
                f"<title>{escape(title)}</title></rect>"
            )
        if counts[i]:
            body.append(_text(x + bar / 2, y - 4, counts[i], "middle", 'font-size="11"'))
        body.append(_text(x, bottom + 15, f"{i / BINS:.1f}", "middle", 'font-size="11" fill="#59636e"'))
    body.append(_text(left + width, bottom + 15, "1.0", "middle", 'font-size="11" fill="#59636e"'))
    body.append(
        _text(left + width / 2, bottom + 32, words("compliance_score", "compliance score"), "middle", 'fill="#59636e"')
    )
    for number, outcome in enumerate(("passed", "failed", "needs_review")):
        x = left + 8 + number * 70
        body.append(
            f'<rect x="{x}" y="6" width="11" height="11" fill="{OUTCOME_COLOURS[outcome]}"/>'
            + _text(x + 15, 16, words.outcome(outcome))
        )
    return _svg(left + width + 20, bottom + 40, words("chart_scores", "Distribution of compliance scores"), body)


def _scatter(data: ChartData, words: ChartText) -> Markup:
    """Each conversation at (compliance score, customer dissatisfaction); a point links to its transcript."""
    left, top, size = 48, 14, 300
    body = [
        f'<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="#fff" stroke="#d0d7de"/>',
        f'<rect x="{left}" y="{top}" width="{size * 0.5}" height="{size * 0.5}" fill="#ffebe9" opacity=".6"/>',
    ]
    for tick in (0.0, 0.5, 1.0):
        body.append(
            _text(left + tick * size, top + size + 15, f"{tick:.1f}", "middle", 'font-size="11" fill="#59636e"')
        )
        body.append(
            _text(left - 6, top + size - tick * size + 4, f"{tick:.1f}", "end", 'font-size="11" fill="#59636e"')
        )
    body.append(
        _text(
            left + size / 2, top + size + 32, words("compliance_score", "compliance score"), "middle", 'fill="#59636e"'
        )
    )
    body.append(
        f'<text transform="translate(14,{top + size / 2}) rotate(-90)" text-anchor="middle" fill="#59636e">'
        f"{escape(words('customer_dissatisfaction', 'customer dissatisfaction'))}</text>"
    )
    for score, unhappy, conversation_id, outcome, flagged in data.points:
        x, y = left + score * size, top + size - unhappy * size
        colour = "#8250df" if flagged else OUTCOME_COLOURS[outcome]
        title = (
            f"{conversation_id}: {words('score', 'score')} {score:.2f},"
            f" {words('dissatisfaction', 'dissatisfaction')} {unhappy:.2f}"
        )
        body.append(
            f'<a href="#c-{escape(conversation_id)}"><circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}" '
            f'fill-opacity=".75" stroke="#fff" stroke-width=".8"><title>{escape(title)}</title></circle></a>'
        )
    legend = [
        (OUTCOME_COLOURS["passed"], words.outcome("passed")),
        (OUTCOME_COLOURS["failed"], words.outcome("failed")),
        (OUTCOME_COLOURS["needs_review"], words.outcome("needs_review")),
        ("#8250df", words("dissatisfied_flagged", "dissatisfied (flagged)")),
    ]
    for number, (colour, name) in enumerate(legend):
        y = top + 10 + number * 18
        body.append(
            f'<circle cx="{left + size + 20}" cy="{y}" r="5" fill="{colour}"/>' + _text(left + size + 30, y + 4, name)
        )
    body.append(
        _text(
            left + 6,
            top + size * 0.5 - 6,
            words("low_score_unhappy", "low score, unhappy customer"),
            extra='font-size="11" fill="#cf222e"',
        )
    )
    label = words("chart_mood", "Customer dissatisfaction against compliance score")
    return _svg(left + size + 170, top + size + 40, label, body)


def _trend(data: ChartData, words: ChartText) -> tuple[Markup | None, str]:
    """Mean score, pass rate and dissatisfied share per day (per week past 60 days); None under two periods."""
    if len(data.days) < 2:
        return None, ""
    first, last = min(data.days), max(data.days)
    weekly = (last - first).days > 60
    periods: dict[date, _Period] = defaultdict(_Period)
    for day, counts in data.days.items():
        key = day - timedelta(days=day.weekday()) if weekly else day
        period = periods[key]
        period.conversations += counts.conversations
        period.score_sum += counts.score_sum
        period.passed += counts.passed
        period.decided += counts.decided
        period.dissatisfied += counts.dissatisfied
    keys = sorted(periods)
    if len(keys) < 2:
        return None, ""
    left, top, width, height = 44, 26, 620, 170
    span = (keys[-1] - keys[0]).days or 1

    def x_of(key: date) -> float:
        return left + (key - keys[0]).days / span * width

    body = [f'<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="#fff" stroke="#d0d7de"/>']
    for tick in (0.0, 0.5, 1.0):
        y = top + height - tick * height
        body.append(f'<line x1="{left}" y1="{y}" x2="{left + width}" y2="{y}" stroke="#eff2f5"/>')
        body.append(_text(left - 6, y + 4, f"{tick:.0%}" if tick else "0", "end", 'font-size="11" fill="#59636e"'))
    series = [
        (words("trend_mean_score", "mean score"), "#0969da", lambda p: p.score_sum / p.conversations),
        (words("trend_pass_rate", "pass rate"), "#2da44e", lambda p: p.passed / p.decided if p.decided else 0.0),
        (words("trend_dissatisfied", "dissatisfied"), "#8250df", lambda p: p.dissatisfied / p.conversations),
    ]
    for number, (name, colour, value) in enumerate(series):
        coordinates = [(x_of(k), top + height - value(periods[k]) * height) for k in keys]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for key, (x, y) in zip(keys, coordinates, strict=True):
            counted = f"{periods[key].conversations} {words('conversations', 'conversations')}"
            title = f"{key.isoformat()}: {name} {value(periods[key]):.0%} ({counted})"
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(title)}</title></circle>'
            )
        body.append(f'<rect x="{left + number * 120}" y="6" width="11" height="11" fill="{colour}"/>')
        body.append(_text(left + number * 120 + 15, 16, name))
    labels = keys if len(keys) <= 8 else [keys[round(i * (len(keys) - 1) / 7)] for i in range(8)]
    for key in labels:
        body.append(
            _text(x_of(key), top + height + 15, key.strftime("%m-%d"), "middle", 'font-size="11" fill="#59636e"')
        )
    unit = "week" if weekly else "day"
    return _svg(left + width + 16, top + height + 24, words("chart_trend", "Compliance over time"), body), unit
