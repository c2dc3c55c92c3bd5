"""Per-turn dissatisfaction on the project-written customer turns: the learned model and the rules, apart and together.

Every entry of ``bench/dissatisfaction_turns_data/{dev,test}/{en,zh-Hans,zh-Hant}.yaml`` becomes a two-turn
conversation (the agent turn given as ``context``, else a neutral greeting, then the customer turn) and is audited
as a real audit does it: ``load_models(AuditorSettings(...)).auditor(sop).audit_many(...)``, in batches. The
customer turn's entry in the result's ``dissatisfaction.turns`` gives the turn score and its signals. A third set,
``test-noisy``, is the test set passed through ``bench.stt_noise.noisy_conversation`` (fixed seed: no casing or
punctuation, fillers, dropped or doubled words; the agent turn too).

Positives ("angry or churn"): angry, frustrated, churn, escalation. Negatives: neutral_decline, neutral_request,
polite, satisfied. Scores compared (AUROC, positives vs negatives):

- **turn score**: the learned turn model as the auditor reports it (it reads the embeddings and the signals);
- **learned, rules off**: the same turn model with the rule signals' columns (complaint, escalation, churn,
  frustration) set to "not fired", scored through ``DissatisfactionScorer.score_rows``;
- **negativity**: the negativity model alone (turn embedding -> P(unhappy stance); the ``negative`` signal's source);
- **rules only**: the highest strength of the rule signals on the turn (phrase lists, capitals, "!!!"; 0 or 1);
- **conversation score**: the two-turn conversation's ``dissatisfaction.score`` (what ``flagged`` compares).

A turn is *caught* (positives) or *falsely flagged* (negatives) when a customer-side signal fires (negative,
complaint, escalation, churn, frustration) or its turn score reaches the shipped flag threshold (the model's
``threshold``; it was chosen for the conversation score, and is used on the turn score here too).

    python -m bench.dissatisfaction_turns [--write] [--misses 10]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from auditor.auditor import Auditor
from auditor.conversation import Conversation, Role, Turn
from auditor.dissatisfaction.features import TURN_FEATURES, turn_rows
from auditor.dissatisfaction.model import DissatisfactionScorer, apology_turns
from auditor.dissatisfaction.signals import detect_signals
from auditor.live.progress import RISING_TURN_SCORE
from auditor.result import TurnSignal
from auditor.service import load_models
from auditor.settings import AuditorSettings
from auditor.sop.loading import resolve_sop
from bench.dissatisfaction_accuracy import auroc
from bench.report import replace_section
from bench.stt_noise import noisy_conversation

DATA = Path(__file__).resolve().parent / "dissatisfaction_turns_data"
SPLITS = ("dev", "test")
SCRIPTS = ("en", "zh-Hans", "zh-Hant")
NOISY = "test-noisy"
SETS = (*SPLITS, NOISY)
NOISE_SEED = 0
SOP = "general-inbound-call"
BATCH = 64
CUSTOMER_TURN = 1

POSITIVE = ("angry", "frustrated", "churn", "escalation")
NEGATIVE = ("neutral_decline", "neutral_request", "polite", "satisfied")
LABELS = POSITIVE + NEGATIVE

RULE_SIGNALS = ("complaint", "escalation", "churn", "frustration")
"""Phrase-list (lexicon) signals; ``frustration`` also fires on capitals and "!!!" / "?!"."""
MODEL_SIGNALS = ("negative", "repetition")
"""Signals from embeddings: ``negative`` is the negativity model at its threshold, ``repetition`` a cosine to an
earlier customer turn (never fires here: one customer turn per conversation)."""
CUSTOMER_SIGNALS = ("negative", *RULE_SIGNALS)
"""The signals that count as flagging a customer turn."""

GREETING = {
    "en": "How can I help you?",
    "zh-Hans": "请问有什么可以帮您？",
    "zh-Hant": "請問有什麼可以幫您？",
}

SCORES = (
    ("turn", "turn score (auditor)"),
    ("model", "turn model alone"),
    ("learned", "rules off"),
    ("negativity", "negativity model"),
    ("rules", "rules only"),
    ("conversation", "conversation score"),
)


@dataclass(frozen=True)
class Entry:
    """One labelled customer turn and the agent turn before it (None: not given)."""

    text: str
    label: str
    cause: str | None
    context: str | None

    @property
    def positive(self) -> bool:
        return self.label in POSITIVE


@dataclass
class Scored:
    """What the auditor said about one entry's customer turn, and the separated scores."""

    dataset: str
    script: str
    entry: Entry
    text: str
    """The customer turn as scored (the noisy copy for ``test-noisy``)."""
    turn: float
    signals: list[str]
    conversation: float
    flagged: bool
    learned: float = 0.0
    model: float = 0.0
    negativity: float = 0.0
    rules: float = 0.0

    def value(self, name: str) -> float:
        return float(getattr(self, name))

    def fired(self, threshold: float) -> bool:
        return any(s in CUSTOMER_SIGNALS for s in self.signals) or self.turn >= threshold


def load_entries(split: str, script: str) -> list[Entry]:
    raw = yaml.safe_load((DATA / split / f"{script}.yaml").read_text(encoding="utf-8"))
    entries = [Entry(str(e["text"]), str(e["label"]), e.get("cause"), e.get("context")) for e in raw]
    unknown = sorted({e.label for e in entries} - set(LABELS))
    if unknown:
        raise ValueError(f"{split}/{script}.yaml: unknown labels {unknown}")
    return entries


def conversation(entry: Entry, script: str, key: str) -> Conversation:
    agent = entry.context or GREETING[script]
    turns = [
        Turn(0, "agent", Role.AGENT, agent),
        Turn(CUSTOMER_TURN, "customer", Role.CUSTOMER, entry.text),
    ]
    return Conversation(id=key, turns=turns, lang="en" if script == "en" else "zh")


def conversations(name: str, script: str, entries: Sequence[Entry]) -> list[Conversation]:
    split = SPLITS[1] if name == NOISY else name
    built = [conversation(e, script, f"{split}-{script}-{i}") for i, e in enumerate(entries)]
    return [noisy_conversation(c, NOISE_SEED) for c in built] if name == NOISY else built


def audit(auditor: Auditor, name: str, script: str, entries: Sequence[Entry]) -> list[Scored]:
    """Audit every entry's conversation (in batches); the customer turn's score and signals from the result."""
    scored = []
    items = conversations(name, script, entries)
    for start in range(0, len(items), BATCH):
        batch = items[start : start + BATCH]
        for item, result in zip(batch, auditor.audit_many(batch), strict=True):
            block = result.dissatisfaction
            assert block is not None, "the auditor has no dissatisfaction model"
            turn = next(t for t in block.turns if t.turn_index == CUSTOMER_TURN)
            entry = entries[int(item.id.rsplit("-", 1)[1])]
            text = item.turns[CUSTOMER_TURN].text
            scored.append(Scored(name, script, entry, text, turn.score, list(turn.signals), block.score, block.flagged))
    separate(auditor, items, scored)
    return scored


RULE_COLUMNS = [TURN_FEATURES.index(s) - len(TURN_FEATURES) for s in RULE_SIGNALS]


def separate(auditor: Auditor, items: Sequence[Conversation], scored: Sequence[Scored]) -> None:
    """Fill in the negativity, the rules-only strength and the turn score with the rules off, from the same
    artifacts (the embedder's cache makes rebuilding them cheap); checks the full turn score matches the result."""
    scorer = auditor.dissatisfaction
    assert isinstance(scorer, DissatisfactionScorer)
    for start in range(0, len(items), BATCH):
        for artifacts, row in zip(
            auditor.builder.build_many(items[start : start + BATCH]), scored[start : start + BATCH], strict=True
        ):
            context = scorer.context(artifacts)
            hits = detect_signals(context, scorer.detectors)
            rows = turn_rows(context, hits)
            apologies = apology_turns(artifacts)
            full = turn_score(scorer.score_rows(context, hits, rows, apologies).block.turns)
            if abs(full - row.turn) > 1e-3:
                raise AssertionError(f"turn score {full} differs from the audit's {row.turn}: {row.text!r}")
            row.model = float(scorer.turn_model_scores(rows)[rows.turn_indices.index(CUSTOMER_TURN)])
            rows.matrix[:, RULE_COLUMNS] = 0.0
            no_rules = [h for h in hits if h.signal not in RULE_SIGNALS]
            row.learned = turn_score(scorer.score_rows(context, no_rules, rows, apologies).block.turns)
            row.negativity = context.negativity.get(CUSTOMER_TURN, 0.0)
            strengths = [h.strength for h in hits if h.turn_index == CUSTOMER_TURN and h.signal in RULE_SIGNALS]
            row.rules = max(strengths, default=0.0)


def turn_score(turns: Sequence[TurnSignal]) -> float:
    return next(t.score for t in turns if t.turn_index == CUSTOMER_TURN)


def auroc_cell(rows: Sequence[Scored], name: str) -> str:
    labels = [r.entry.positive for r in rows]
    if all(labels) or not any(labels):
        return "n/a"
    return f"{auroc(labels, [r.value(name) for r in rows]):.3f}"


def groups(results: dict[tuple[str, str], list[Scored]]) -> list[tuple[str, str, list[Scored]]]:
    """(set, script or "all", rows) for every set and script, and each set's scripts together."""
    out = []
    for name in SETS:
        for script in SCRIPTS:
            out.append((name, script, results[(name, script)]))
        out.append((name, "all", [r for script in SCRIPTS for r in results[(name, script)]]))
    return out


def auroc_table(results: dict[tuple[str, str], list[Scored]]) -> str:
    header = "| set | script | n (pos/neg) | " + " | ".join(title for _, title in SCORES) + " |"
    lines = [header, "|---|---|---|" + "---|" * len(SCORES)]
    for name, script, rows in groups(results):
        positives = sum(r.entry.positive for r in rows)
        cells = " | ".join(auroc_cell(rows, score) for score, _ in SCORES)
        bold = "**" if script == "all" else ""
        lines.append(f"| {bold}{name}{bold} | {bold}{script}{bold} | {positives}/{len(rows) - positives} | {cells} |")
    return "\n".join(lines)


def caught_table(results: dict[tuple[str, str], list[Scored]], threshold: float) -> str:
    """Per set and script, for each label: turns caught (positives) or falsely flagged (negatives) / n."""
    header = "| set | script | " + " | ".join(LABELS) + " | positives caught | negatives flagged |"
    lines = [header, "|---|---|" + "---|" * (len(LABELS) + 2)]
    for name, script, rows in groups(results):
        cells = []
        for label in LABELS:
            of_label = [r for r in rows if r.entry.label == label]
            cells.append(f"{sum(r.fired(threshold) for r in of_label)}/{len(of_label)}")
        totals = []
        for positive in (True, False):
            side = [r for r in rows if r.entry.positive is positive]
            totals.append(f"{sum(r.fired(threshold) for r in side) / len(side):.0%}")
        bold = "**" if script == "all" else ""
        lines.append(f"| {bold}{name}{bold} | {bold}{script}{bold} | " + " | ".join(cells + totals) + " |")
    return "\n".join(lines)


def signal_table(rows: Sequence[Scored], threshold: float) -> str:
    """Per label (all scripts of one set): how often each signal fired, the score passed the threshold, and the
    conversation was flagged."""
    columns = [*CUSTOMER_SIGNALS, f"turn >= {threshold:g}", "any (caught / flagged)", "conversation flagged"]
    lines = ["| label | n | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for label in LABELS:
        of_label = [r for r in rows if r.entry.label == label]
        fired = Counter(s for r in of_label for s in r.signals)
        counts = [fired[s] for s in CUSTOMER_SIGNALS]
        counts += [sum(r.turn >= threshold for r in of_label), sum(r.fired(threshold) for r in of_label)]
        counts.append(sum(r.flagged for r in of_label))
        n = len(of_label)
        lines.append(f"| {label} | {n} | " + " | ".join(f"{c} ({c / n:.0%})" for c in counts) + " |")
    return "\n".join(lines)


def score_range(results: dict[tuple[str, str], list[Scored]], positive: bool) -> str:
    scores = sorted(r.turn for rows in results.values() for r in rows if r.entry.positive is positive)
    return f"median {scores[len(scores) // 2]:.3f}, highest {scores[-1]:.3f}"


def misses(results: dict[tuple[str, str], list[Scored]], count: int) -> str:
    """The highest-scored negatives and lowest-scored positives of every set and script."""
    lines = []
    for name in SETS:
        for script in SCRIPTS:
            rows = results[(name, script)]
            negatives = sorted((r for r in rows if not r.entry.positive), key=lambda r: -r.turn)[:count]
            positives = sorted((r for r in rows if r.entry.positive), key=lambda r: r.turn)[:count]
            for title, chosen in (("highest-scored negatives", negatives), ("lowest-scored positives", positives)):
                lines.append(f"\n{name} / {script}: {title}")
                for r in chosen:
                    signals = ",".join(r.signals) or "-"
                    lines.append(
                        f"  {r.turn:.3f} neg={r.negativity:.2f} [{signals}] {r.entry.label}"
                        f"{'/' + r.entry.cause if r.entry.cause else ''}: {r.text}"
                    )
    return "\n".join(lines)


HISTORY = """
### How it got here (issue 22)

The sets: `dev/` and `test/` (115 and 119 customer turns per script) were written for the project by two writers
who never saw each other's set nor the auditor's phrase lists; 278 more seed utterances for the negativity model
came from a third writer who saw neither set. Since dissatisfaction-scorer@3 the development set is training data
(negativity seeds, `training/dissatisfaction.yaml`), so its rows are in-sample; `test/` was never trained on. One
caveat: the first run of this bench printed the lowest- and highest-scored turns of both sets, before the phrase
lists v2 were written; the lists were written from the issue's categories and the development set, and the grid
below chose on the development set only.

Before (dissatisfaction-scorer@2, phrase lists v1), turn score AUROC: dev 0.748 / 0.804 / 0.731, test 0.790 / 0.791 /
0.782 (en / zh-Hans / zh-Hant), test-noisy 0.773 overall; negatives flagged 28 % (test: 16 of 48 calm declines, by
`negative` and `churn`); rules alone 0.629 on test. Phrase lists v2 alone (same model): rules alone 0.736 on test,
calm declines flagged 5 of 48. Then the seeds (0.892 -> 0.938 for the negativity model alone on test), the turn's
plain reading in the shown score and the development turns as seeds: the table above.

The reading `1 - (1 - negativity x d) (1 - w x rule)` (d for a calm decline, else 1), on the development set, with
the seeds of a model trained without the development turns, lowest of the three scripts: d 0.1 / 0.25 / 0.5 / 1 at
w 0.8: 0.980 / 0.979 / 0.977 / 0.973; w 0.3 / 0.5 / 0.6 / 0.8 / 0.9 at d 0.25: 0.971 / 0.973 / 0.976 / 0.979 / 0.976
(chosen: d 0.25, w 0.8). How the reading joins the turn model's score is a trade with rated task dialogues, where the
reading alone is near chance (held-out USS turns 0.529): the maximum gives these sets 0.979 / 0.958 / 0.955 and USS
0.783; the square of the reading 0.979 / 0.956 / 0.956 and USS 0.824 (shipped); the reading only from 0.8 up 0.975 /
0.947 / 0.940 and USS 0.842; the turn model alone 0.807 / 0.810 / 0.784 and USS 0.852.
A logistic stacker over the turn model's logit, the reading, its square, the rule strength, the calm flag and the
negativity, fitted on the turns of 400 USS training dialogues and the development turns (their negativity out of
fold) with equal weight per source, gave USS 0.783 / 0.806 / 0.823 and these sets 0.992 / 0.960-0.968 / 0.976-0.979
(C 0.1 / 1 / 10): no better than the square, not adopted.

Thanks and praise: with the reading as above, satisfied remarks with strong words ("整體來說我對這次的客服很滿意",
"太惊喜了") still fired `negative` (13 of 33 satisfied test turns; the negativity model reads intensity as much as
stance). A turn that thanks or praises without complaining (`PRAISE_EN` / `PRAISE_ZH`, with the existing closing
words; `calm_turn`) now stands `negative` down and has its negativity cut like a calm decline: test 0.979 / 0.956 /
0.956 -> 0.982 / 0.963 / 0.985 before the model was refitted for it (the table above is after). Caveat: this came
after the test set's worst-scored satisfied turns had been read in a misses listing, so test is less clean for it.

A review of the phrase lists then removed or narrowed patterns that fired on ordinary words ("press", "news",
"every day", "on hold for a month", "工商银行", "换个密码", "转到其他账户", "结清贷款"), kept churn threats that
start like a decline ("No. I'm closing all my accounts", "不用了，我直接销户") and made "不太满意" a complaint;
the model was refitted (test before it 0.982 / 0.963 / 0.985; the table above is after).

Left as they are: churn said as a plain instruction ("不用挽留我，直接幫我停掉訂閱") has no phrase that marks it as a
threat; a neutral request that mentions a problem calmly can still fire `negative`.
"""


def run(count: int) -> tuple[str, str]:
    """The section's text and the worst misses."""
    start = time.perf_counter()
    models = load_models(AuditorSettings(embedder_threads=2, anomalies=False))
    auditor = models.auditor(resolve_sop(SOP), anomalies=False)
    scorer = auditor.dissatisfaction
    if scorer is None:
        raise SystemExit("dissatisfaction not scored: " + "; ".join(models.notes))
    loaded = time.perf_counter() - start
    results: dict[tuple[str, str], list[Scored]] = {}
    for name in SETS:
        for script in SCRIPTS:
            entries = load_entries(SPLITS[1] if name == NOISY else name, script)
            results[(name, script)] = audit(auditor, name, script, entries)
    scored = sum(len(rows) for rows in results.values())
    seconds = time.perf_counter() - start - loaded
    threshold = RISING_TURN_SCORE
    parts = [
        "Turn AUROC, positives (angry, frustrated, churn, escalation) vs negatives (neutral_decline, "
        "neutral_request, polite, satisfied). Each customer turn is audited after its agent turn (`context`, else a "
        f"neutral greeting) with `Auditor.audit_many` ({SOP}); `{NOISY}` is the test set through "
        f"`bench.stt_noise.noisy_conversation` (seed {NOISE_SEED}).",
        "",
        auroc_table(results),
        "",
        "Caught (positives) / falsely flagged (negatives): a customer-side signal fired "
        f"({', '.join(CUSTOMER_SIGNALS)}) or the turn score reached {threshold:g}, where a live session raises "
        "`dissatisfaction_rising`.",
        "",
        caught_table(results, threshold),
    ]
    for name in SETS:
        rows = [r for script in SCRIPTS for r in results[(name, script)]]
        parts += ["", f"Signals per label, {name} (all scripts):", "", signal_table(rows, threshold)]
    parts += [
        "",
        f"- rule (lexicon) signals: {', '.join(RULE_SIGNALS)} (phrase lists in `auditor/dissatisfaction/lexicons.py`;"
        ' frustration also fires on capitals and "!!!"; strength always 1). Model signals: negative (negativity '
        f"model >= {scorer.metadata.negative_threshold:g}, strength = negativity), repetition (embedding cosine; "
        "cannot fire with one customer turn).",
        f"- turn scores: {score_range(results, True)} for positives, {score_range(results, False)} for negatives "
        "(all sets).",
        "- turn score (auditor): what results show, the higher of the turn model's score and the turn's plain "
        "reading (negativity, a calm decline's cut, raised by rule signals: `turn_alerts`); turn model alone: the "
        "model trained on rated task dialogues (it reads the turn in its exchange and scores an opening turn low); "
        "rules off: the auditor's turn score with the rule signals' feature columns and hits removed.",
        f"- {scored} turns scored in {seconds:.0f} s (models loaded in {loaded:.0f} s); model: {scorer.summary}",
    ]
    return "\n".join(parts) + "\n" + HISTORY, misses(results, count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--misses", type=int, default=10, help="worst misses printed per set, script and side")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    text, worst = run(args.misses)
    print(text)
    print("Worst misses (turn score, negativity, signals, label/cause, text):")
    print(worst)
    if args.write:
        replace_section("dissatisfaction-turns", "python -m bench.dissatisfaction_turns --write", text)


if __name__ == "__main__":
    main()
