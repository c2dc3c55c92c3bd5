"""Step-detection accuracy on real STAR dialogues, per task and overall, beside a naive baseline (issue 3).

For each STAR task: the first ``--limit`` single-task conversations of ``../shared/data/external/star_dev.jsonl``
are audited with ``bench/star_sops/<task>.yaml`` in two variants, *examples* (as written, paraphrased examples)
and *description* (names and descriptions only). Gold = the ``action_label`` of agent turns (step id == label).

- turn level: is this agent turn evidence of step S (precision, recall, F1, micro over steps and tasks); free-typed
  agent turns (``action_label`` null or ``custom``) count as "no step", so a hit there is a false positive; the
  column "P excl. free" ignores hits on free-typed turns, which often really do perform a step;
- conversation level: did step S happen (done / late / out of order), over the SOP's steps only;
- skipped steps: drop the turns of one performed step, re-audit, count "missing" (recall) and intact steps
  wrongly reported missing (false-missing rate);
- ECE: expected calibration error (10 equal-width bins) of the semantic confidence of every (agent turn, step)
  pair the auditor scores, against "the turn is labelled with the step"; "ECE top": the same over agent turns,
  for each turn's most confident step only (the usual top-label ECE; far fewer easy near-zero pairs);
- labelled-turn accuracy: on agent turns labelled with an SOP step, the naive baseline (multilingual USE, the
  step whose "name. description" is nearest by cosine) beside the auditor (its most confident evidence on the
  turn, or none) and the auditor's forced choice (its most confident candidate, thresholds ignored);
- ``--noise``: the same on speech-to-text-like copies (``bench.stt_noise``) and the F1 drop.

The auditor comes from a factory ``auditor_factory(task, sop, embedder) -> Auditor``; ``task`` is the held-out
task, so a model that learns from STAR labels must train on the other tasks only (leave-one-task-out; the data of
those tasks is ``bench.star_data.load_star``). The default is the zero-shot ``Auditor(sop, embedder)``; another
factory is named with ``--factory module:function``.

    HF_HUB_OFFLINE=1 python -m bench.star_accuracy [--tasks T ...] [--limit 60] [--variants examples description]
        [--noise] [--no-skipped] [--factory module:function] [--write]
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from auditor.auditor import Auditor
from auditor.conversation import Conversation, Role
from auditor.detection.calibration import calibration_for
from auditor.embeddings.base import Embedder
from auditor.embeddings.provider import make_embedder
from auditor.evaluation.skipped_steps import SkipCounts, SkipMetrics, measure_skipped_steps
from auditor.evaluation.step_metrics import Counts, StepMetrics, score_results
from auditor.result import ConversationResult
from auditor.sop_format import Sop
from auditor.text.normalise import normalise_text
from auditor.training.step_model import expected_calibration_error
from bench.loto_factory import leave_one_task_out_auditor, leave_one_task_out_best_auditor
from bench.report import markdown_table, replace_section
from bench.star_data import TASKS, VARIANTS, is_free_typed, load_star, star_sop, step_label
from bench.stt_noise import noisy_conversation

AuditorFactory = Callable[[str, Sop, Embedder], Auditor]
"""(held-out task, SOP, embedder) -> the auditor to measure on that task's conversations."""

NONE = "none"
BINS = 10
ECHO_COSINE = 0.9
"""Whole-turn cosine (USE-m) from which a free-typed turn counts as repeating a labelled reply."""
NOISE_SEED = 2024
SECTION = "star-accuracy"
TRANSCRIPTS = {False: "clean", True: "noisy (STT)"}


def zero_shot_auditor(task: str, sop: Sop, embedder: Embedder) -> Auditor:
    """The default factory: the auditor with the backend's fitted linear calibration, nothing learned from STAR.

    The calibration is fitted on the project's own corpora only (``bench/calibrate_detection.py``), so every STAR
    task is unseen. ``task`` is unused.
    """
    return Auditor(sop, embedder, scorer=calibration_for(embedder.name))


def shipped_auditor(task: str, sop: Sop, embedder: Embedder) -> Auditor:
    """``Auditor(sop, embedder)`` as users get it: the step model shipped in ``auditor/models/`` when there is one.

    In-sample if that model was trained on these STAR conversations: use it to compare, never as a held-out figure.
    """
    return Auditor(sop, embedder)


FACTORIES: dict[str, AuditorFactory] = {
    "zero-shot": zero_shot_auditor,
    "shipped": shipped_auditor,
    "leave-one-task-out": leave_one_task_out_auditor,
    "leave-one-task-out-best": leave_one_task_out_best_auditor,
}


def load_factory(spec: str) -> AuditorFactory:
    """A name of ``FACTORIES`` or ``module:function`` -> the factory."""
    if spec in FACTORIES:
        return FACTORIES[spec]
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise SystemExit(f"--factory must look like module:function, got {spec!r}")
    return getattr(importlib.import_module(module_name), attribute)  # type: ignore[no-any-return]


@dataclass
class LabelledTurns:
    """Agent turns labelled with an SOP step: how many, and how many each predictor got right."""

    turns: int = 0
    baseline: int = 0
    auditor: int = 0
    argmax: int = 0

    def add(self, other: LabelledTurns) -> None:
        self.turns += other.turns
        self.baseline += other.baseline
        self.auditor += other.auditor
        self.argmax += other.argmax

    def share(self, name: str) -> float:
        return getattr(self, name) / self.turns if self.turns else 0.0


@dataclass
class Run:
    """One task x SOP variant x transcript kind (clean or noisy)."""

    task: str
    variant: str
    noise: bool
    conversations: int = 0
    metrics: StepMetrics = field(default_factory=StepMetrics)
    free_typed_fp: int = 0
    """Turn-level false positives that fall on free-typed agent turns."""
    free_echo_fp: int = 0
    """Of those, the ones whose turn repeats a reply STAR labels with the claimed step in the same task (whole-turn
    cosine >= ECHO_COSINE): the wizard typed the scripted step out by hand, so the label, not the claim, is off."""
    extra_fp: int = 0
    """False positives on labelled turns whose gold step was hit too (a second step claimed for the turn)."""
    wrong_fp: int = 0
    """False positives on labelled turns whose gold step was not hit (the step confused with another)."""
    skip: SkipMetrics | None = None
    confidences: list[float] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)
    top_confidences: list[float] = field(default_factory=list)
    """Per agent turn: confidence of its most confident candidate step (top-label calibration)."""
    top_correct: list[bool] = field(default_factory=list)
    labelled: LabelledTurns = field(default_factory=LabelledTurns)
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(gold step, auditor's step or 'none') for labelled turns it got wrong."""
    free_hits: Counter[str] = field(default_factory=Counter)
    """Step -> hits on free-typed turns."""
    seconds: float = 0.0
    scorer: str = ""
    """The step scorer that produced the confidences (name and what it was fitted on)."""


@dataclass
class Totals:
    """Runs summed (micro) over tasks."""

    conversations: int = 0
    turn: Counts = field(default_factory=Counts)
    conversation: Counts = field(default_factory=Counts)
    free_typed_fp: int = 0
    free_echo_fp: int = 0
    extra_fp: int = 0
    wrong_fp: int = 0
    skip: SkipCounts | None = None
    confidences: list[float] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)
    top_confidences: list[float] = field(default_factory=list)
    top_correct: list[bool] = field(default_factory=list)
    labelled: LabelledTurns = field(default_factory=LabelledTurns)

    @classmethod
    def of(cls, runs: Iterable[Run]) -> Totals:
        totals = cls()
        for run in runs:
            totals.conversations += run.conversations
            totals.turn += run.metrics.overall("turn")
            totals.conversation += run.metrics.overall("conversation")
            totals.free_typed_fp += run.free_typed_fp
            totals.free_echo_fp += run.free_echo_fp
            totals.extra_fp += run.extra_fp
            totals.wrong_fp += run.wrong_fp
            if run.skip is not None:
                skip = run.skip.overall()
                totals.skip = totals.skip or SkipCounts()
                totals.skip.removed += skip.removed
                totals.skip.caught += skip.caught
                totals.skip.intact += skip.intact
                totals.skip.false_missing += skip.false_missing
            totals.confidences += run.confidences
            totals.correct += run.correct
            totals.top_confidences += run.top_confidences
            totals.top_correct += run.top_correct
            totals.labelled.add(run.labelled)
        return totals

    @property
    def precision_echoes_right(self) -> float:
        """Turn precision counting claims on free-typed echoes of a labelled reply as right."""
        counted = self.turn.tp + self.turn.fp
        return (self.turn.tp + self.free_echo_fp) / counted if counted else 0.0

    @property
    def f1_echoes_right(self) -> float:
        precision, recall = self.precision_echoes_right, self.turn.recall
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    @property
    def precision_excluding_free(self) -> float:
        counted = self.turn.tp + self.turn.fp - self.free_typed_fp
        return self.turn.tp / counted if counted else 1.0

    @property
    def ece(self) -> float:
        return expected_calibration_error(np.asarray(self.confidences), np.asarray(self.correct))

    @property
    def top_ece(self) -> float:
        return expected_calibration_error(np.asarray(self.top_confidences), np.asarray(self.top_correct))


def reliability(confidences: np.ndarray, correct: np.ndarray, bins: int = BINS) -> list[tuple[int, float, float]]:
    """Per bin: pairs, mean confidence, observed frequency."""
    which = np.minimum((confidences * bins).astype(int), bins - 1)
    rows = []
    for number in range(bins):
        mask = which == number
        rows.append(
            (
                int(mask.sum()),
                float(confidences[mask].mean()) if mask.any() else 0.0,
                float(correct[mask].mean()) if mask.any() else 0.0,
            )
        )
    return rows


def baseline_predictions(sop: Sop, embedder: Embedder, texts: Sequence[str]) -> list[str]:
    """Naive nearest description: the step whose "name. description" embedding is nearest each text."""
    steps = embedder.encode([normalise_text(f"{step.name}. {step.description}") for step in sop.steps])
    if not texts:
        return []
    turns = embedder.encode([normalise_text(text) for text in texts])
    return [sop.steps[int(column)].id for column in np.argmax(turns @ steps.T, axis=1)]


def evaluate(
    task: str,
    variant: str,
    noise: bool,
    auditor: Auditor,
    conversations: Sequence[Conversation],
    embedder: Embedder,
    skipped: bool,
) -> Run:
    """Audit one task's conversations and collect every measure of the module docstring."""
    start = time.perf_counter()
    sop = auditor.sop
    step_ids = [step.id for step in sop.steps]
    results = auditor.audit_many(conversations)
    scorer = auditor.semantic.scorer
    run = Run(task, variant, noise, conversations=len(conversations), scorer=f"{scorer.name}: {scorer.summary}")
    run.metrics = score_results(zip(conversations, results, strict=True), step_ids)
    artifacts_list = auditor.builder.build_many(conversations)
    labelled_texts: list[str] = []
    labelled_gold: list[str] = []
    labelled_vectors: dict[str, list[np.ndarray]] = {}
    free_claims: list[tuple[np.ndarray, str]] = []
    for conversation, result, artifacts in zip(conversations, results, artifacts_list, strict=True):
        turns = {turn.index: turn for turn in conversation.turns}
        evidence = best_by_turn(result)
        claimed: dict[int, set[str]] = {}
        for step in result.steps:
            for item in step.evidence:
                claimed.setdefault(item.turn_index, set()).add(step.step_id)
        vectors = artifacts.whole_turn_vectors()
        for turn in conversation.turns:
            label = step_label(turn, step_ids)
            if label is not None and turn.index in vectors:
                labelled_vectors.setdefault(label, []).append(vectors[turn.index])
        for index, steps in claimed.items():
            turn = turns[index]
            gold_steps = set(turn.gold_steps or ())
            for step_id in steps - gold_steps:
                if is_free_typed(turn, step_ids):
                    run.free_typed_fp += 1
                    run.free_hits[step_id] += 1
                    if index in vectors:
                        free_claims.append((vectors[index], step_id))
                elif steps & gold_steps:
                    run.extra_fp += 1
                else:
                    run.wrong_fp += 1
        candidates: dict[int, tuple[float, str]] = {}
        for hit in auditor.semantic.candidates(artifacts, auditor.index):
            turn = turns[hit.turn_index]
            if turn.role is not Role.AGENT:
                continue
            run.confidences.append(hit.confidence)
            run.correct.append(hit.step_id in (turn.gold_steps or ()))
            if hit.turn_index not in candidates or hit.confidence > candidates[hit.turn_index][0]:
                candidates[hit.turn_index] = (hit.confidence, hit.step_id)
        for index, (confidence, step_id) in candidates.items():
            run.top_confidences.append(confidence)
            run.top_correct.append(step_id in (turns[index].gold_steps or ()))
        for turn in conversation.turns:
            gold = step_label(turn, step_ids)
            if gold is None:
                continue
            predicted = evidence.get(turn.index, NONE)
            run.labelled.turns += 1
            run.labelled.auditor += predicted == gold
            run.labelled.argmax += candidates.get(turn.index, (0.0, NONE))[1] == gold
            if predicted != gold:
                run.confusions[(gold, predicted)] += 1
            labelled_texts.append(turn.text)
            labelled_gold.append(gold)
    by_step = {step_id: np.stack(vectors) for step_id, vectors in labelled_vectors.items()}
    run.free_echo_fp = sum(
        bool(step_id in by_step and (by_step[step_id] @ vector).max() >= ECHO_COSINE) for vector, step_id in free_claims
    )
    predicted_by_baseline = baseline_predictions(sop, embedder, labelled_texts)
    run.labelled.baseline = sum(p == g for p, g in zip(predicted_by_baseline, labelled_gold, strict=True))
    if skipped:
        run.skip = measure_skipped_steps(auditor, conversations)
    run.seconds = time.perf_counter() - start
    return run


def best_by_turn(result: ConversationResult) -> dict[int, str]:
    """Turn index -> the step with the most confident evidence on that turn."""
    best: dict[int, tuple[float, str]] = {}
    for step in result.steps:
        for item in step.evidence:
            confidence = item.confidence if item.confidence is not None else item.score
            if item.turn_index not in best or confidence > best[item.turn_index][0]:
                best[item.turn_index] = (confidence, step.step_id)
    return {index: step_id for index, (_, step_id) in best.items()}


def run_all(
    corpus: dict[str, list[Conversation]],
    variants: Sequence[str],
    noise: bool,
    skipped: bool,
    embedder: Embedder,
    factory: AuditorFactory,
) -> list[Run]:
    noisy_corpus = (
        {task: [noisy_conversation(c, NOISE_SEED) for c in conversations] for task, conversations in corpus.items()}
        if noise
        else {}
    )
    runs = []
    for task, conversations in corpus.items():
        for variant in variants:
            auditor = factory(task, star_sop(task, variant), embedder)
            for noisy in (False, True) if noise else (False,):
                run = evaluate(
                    task,
                    variant,
                    noisy,
                    auditor,
                    noisy_corpus[task] if noisy else conversations,
                    embedder,
                    skipped,
                )
                runs.append(run)
                turn = run.metrics.overall("turn")
                conv = run.metrics.overall("conversation")
                print(
                    f"  {task:<22} {variant:<11} {TRANSCRIPTS[noisy]:<11} turn F1 {turn.f1:.3f}  conv F1 {conv.f1:.3f}"
                    f"  ({run.seconds:.1f} s)",
                    file=sys.stderr,
                )
    return runs


# ---------------------------------------------------------------------------------------------------- tables


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _skip(skip: SkipCounts | None) -> tuple[str, str]:
    if skip is None:
        return "-", "-"
    return f"{skip.recall:.3f} ({skip.caught}/{skip.removed})", f"{skip.false_missing_rate:.3f}"


def _metric_cells(totals: Totals) -> list[str]:
    recall, false_missing = _skip(totals.skip)
    turn, conv = totals.turn, totals.conversation
    return [
        _f(turn.precision),
        _f(totals.precision_excluding_free),
        _f(turn.recall),
        _f(turn.f1),
        _f(conv.precision),
        _f(conv.recall),
        _f(conv.f1),
        recall,
        false_missing,
        _f(totals.ece),
        _f(totals.top_ece),
    ]


METRIC_HEADER = (
    "turn P",
    "turn P excl. free",
    "turn R",
    "turn F1",
    "conv P",
    "conv R",
    "conv F1",
    "skip recall",
    "false-missing",
    "ECE",
    "ECE top",
)


def overall_table(runs: Sequence[Run], variants: Sequence[str], noise_kinds: Sequence[bool]) -> str:
    rows = []
    for variant in variants:
        for noisy in noise_kinds:
            totals = Totals.of(r for r in runs if r.variant == variant and r.noise == noisy)
            rows.append([variant, TRANSCRIPTS[noisy], str(totals.conversations), *_metric_cells(totals)])
    return markdown_table(["SOP variant", "transcripts", "convs", *METRIC_HEADER], rows)


def noise_table(runs: Sequence[Run], variants: Sequence[str]) -> str:
    rows = []
    for variant in variants:
        clean = Totals.of(r for r in runs if r.variant == variant and not r.noise)
        noisy = Totals.of(r for r in runs if r.variant == variant and r.noise)
        turn_drop = clean.turn.f1 - noisy.turn.f1
        conv_drop = clean.conversation.f1 - noisy.conversation.f1
        rows.append(
            [
                variant,
                _f(clean.turn.f1),
                _f(noisy.turn.f1),
                f"{turn_drop:+.3f}",
                _f(clean.conversation.f1),
                _f(noisy.conversation.f1),
                f"{conv_drop:+.3f}",
                "yes" if max(turn_drop, conv_drop) <= 0.05 else "no",
            ]
        )
    header = ["SOP variant", "turn F1 clean", "turn F1 noisy", "drop", "conv F1 clean", "conv F1 noisy", "drop"]
    return markdown_table([*header, "drop <= 0.05"], rows)


def per_task_table(runs: Sequence[Run], variant: str, noise: bool) -> str:
    rows = []
    for task in dict.fromkeys(r.task for r in runs):
        clean = Totals.of(r for r in runs if r.task == task and r.variant == variant and not r.noise)
        row = [task, str(clean.conversations), *_metric_cells(clean)]
        if noise:
            noisy = Totals.of(r for r in runs if r.task == task and r.variant == variant and r.noise)
            row += [_f(noisy.turn.f1), _f(noisy.conversation.f1)]
        rows.append(row)
    clean = Totals.of(r for r in runs if r.variant == variant and not r.noise)
    row = ["**all (micro)**", str(clean.conversations), *_metric_cells(clean)]
    if noise:
        noisy = Totals.of(r for r in runs if r.variant == variant and r.noise)
        row += [_f(noisy.turn.f1), _f(noisy.conversation.f1)]
    rows.append(row)
    extra = ["noisy turn F1", "noisy conv F1"] if noise else []
    return markdown_table(["task", "convs", *METRIC_HEADER, *extra], rows)


def labelled_table(runs: Sequence[Run], variants: Sequence[str], noise: bool) -> str:
    def row(name: str, selected: list[Run]) -> list[str]:
        by_variant = {v: Totals.of(r for r in selected if r.variant == v).labelled for v in variants}
        first = by_variant[variants[0]]
        cells = [name, str(first.turns), _f(first.share("baseline"))]
        cells += [_f(by_variant[v].share("auditor")) for v in variants]
        cells += [_f(by_variant[v].share("argmax")) for v in variants]
        return cells

    rows = [
        row(task, [r for r in runs if r.task == task and not r.noise]) for task in dict.fromkeys(r.task for r in runs)
    ]
    rows.append(row("**all (micro)**", [r for r in runs if not r.noise]))
    if noise:
        rows.append(row("**all, noisy (STT)**", [r for r in runs if r.noise]))
    header = ["task", "labelled turns", "baseline: nearest description"]
    header += [f"auditor ({v})" for v in variants] + [f"auditor forced choice ({v})" for v in variants]
    return markdown_table(header, rows)


def false_positive_table(runs: Sequence[Run], variants: Sequence[str], noise_kinds: Sequence[bool]) -> str:
    rows = []
    for variant in variants:
        for noisy in noise_kinds:
            totals = Totals.of(r for r in runs if r.variant == variant and r.noise == noisy)
            fp = totals.turn.fp or 1
            rows.append(
                [
                    variant,
                    TRANSCRIPTS[noisy],
                    str(totals.turn.fp),
                    f"{totals.extra_fp} ({totals.extra_fp / fp:.0%})",
                    f"{totals.free_typed_fp} ({totals.free_typed_fp / fp:.0%})",
                    f"{totals.free_echo_fp} ({totals.free_echo_fp / fp:.0%})",
                    f"{totals.wrong_fp} ({totals.wrong_fp / fp:.0%})",
                    f"{_f(totals.precision_echoes_right)} / {_f(totals.f1_echoes_right)}",
                ]
            )
    header = ["SOP variant", "transcripts", "turn FP", "second step on a turn whose gold step was hit"]
    header += ["on free-typed turns", f"of which echo a reply labelled with that step (cos >= {ECHO_COSINE})"]
    return markdown_table([*header, "wrong step (gold step not hit)", "turn P / F1 counting echoes right"], rows)


GENERIC_TASKS = 3
"""A step id found in the SOPs of at least this many tasks is generic (greet, ask the name, anything else...)."""


def generic_steps(runs: Sequence[Run]) -> set[str]:
    """Step ids that recur across tasks: their SOP texts are the same in every task's SOP."""
    tasks_by_step: dict[str, set[str]] = {}
    for run in runs:
        for step_id in run.metrics.turn:
            tasks_by_step.setdefault(step_id, set()).add(run.task)
    return {step_id for step_id, tasks in tasks_by_step.items() if len(tasks) >= GENERIC_TASKS}


def _summed(runs: Iterable[Run], level: str, keep: Callable[[str], bool]) -> Counts:
    total = Counts()
    for run in runs:
        total += run.metrics.overall(level, keep)
    return total


def generic_table(runs: Sequence[Run], variants: Sequence[str], noise_kinds: Sequence[bool]) -> str:
    generic = generic_steps(runs)
    rows = []
    for variant in variants:
        for noisy in noise_kinds:
            selected = [r for r in runs if r.variant == variant and r.noise == noisy]
            cells = [variant, TRANSCRIPTS[noisy]]
            for keep in (lambda s: s in generic, lambda s: s not in generic):
                turn, conv = _summed(selected, "turn", keep), _summed(selected, "conversation", keep)
                cells += [str(turn.tp + turn.fn), _f(turn.f1), _f(conv.f1)]
            rows.append(cells)
    header = ["SOP variant", "transcripts", "generic: gold turns", "turn F1", "conv F1"]
    return markdown_table([*header, "task-specific: gold turns", "turn F1", "conv F1"], rows)


def reliability_table(runs: Sequence[Run], variant: str) -> str:
    totals = Totals.of(r for r in runs if r.variant == variant and not r.noise)
    pairs = reliability(np.asarray(totals.confidences), np.asarray(totals.correct))
    tops = reliability(np.asarray(totals.top_confidences), np.asarray(totals.top_correct))
    rows = []
    for number in range(BINS):
        cells = [f"{number / BINS:.1f}-{(number + 1) / BINS:.1f}"]
        for count, mean, observed in (pairs[number], tops[number]):
            cells += [str(count), _f(mean) if count else "-", _f(observed) if count else "-"]
        rows.append(cells)
    header = ["confidence", "pairs", "mean confidence", "labelled share", "turns (top step)", "mean confidence"]
    return markdown_table([*header, "top step right"], rows)


def error_tables(runs: Sequence[Run], variant: str, top: int) -> str:
    selected = [r for r in runs if r.variant == variant and not r.noise]
    confusions: Counter[tuple[str, str, str]] = Counter()
    free_hits: Counter[tuple[str, str]] = Counter()
    for run in selected:
        for (gold, predicted), count in run.confusions.items():
            confusions[(run.task, gold, predicted)] += count
        for step_id, count in run.free_hits.items():
            free_hits[(run.task, step_id)] += count
    steps = []
    for run in selected:
        for step_id, turn in run.metrics.turn.items():
            conv = run.metrics.conversation[step_id]
            if turn.fn + turn.fp:
                steps.append((turn.fn + turn.fp, run.task, step_id, turn, conv))
    steps.sort(key=lambda item: -item[0])
    confusion_rows = [[t, g, p, str(n)] for (t, g, p), n in confusions.most_common(top)]
    free_rows = [[t, s, str(n)] for (t, s), n in free_hits.most_common(top)]
    step_rows = [
        [
            task,
            step_id,
            str(turn.tp + turn.fn),
            str(turn.fp),
            str(turn.fn),
            _f(turn.f1),
            _f(conv.precision),
            _f(conv.recall),
        ]
        for _, task, step_id, turn, conv in steps[:top]
    ]
    return (
        f"Most frequent errors on labelled turns ({variant}, clean; gold step -> the auditor's step, or none):\n\n"
        + markdown_table(["task", "gold", "auditor", "turns"], confusion_rows)
        + f"\n\nSteps most often claimed on free-typed agent turns ({variant}, clean):\n\n"
        + markdown_table(["task", "step", "hits"], free_rows)
        + f"\n\nSteps with the most turn-level errors ({variant}, clean):\n\n"
        + markdown_table(["task", "step", "gold turns", "turn FP", "turn FN", "turn F1", "conv P", "conv R"], step_rows)
    )


def report(
    runs: Sequence[Run],
    corpus: dict[str, list[Conversation]],
    variants: Sequence[str],
    noise: bool,
    embedder_name: str,
    factory_name: str,
    seconds: float,
    top: int,
) -> str:
    conversations = sum(len(c) for c in corpus.values())
    agent_turns = sum(1 for cs in corpus.values() for c in cs for t in c.turns if t.role is Role.AGENT)
    labelled = Totals.of(r for r in runs if r.variant == variants[0] and not r.noise).labelled.turns
    noise_kinds = (False, True) if noise else (False,)
    parts = [
        f"STAR dev (`../shared/data/external/star_dev.jsonl`, MIT): first {max(len(c) for c in corpus.values())} "
        f"single-task conversations per task, {len(corpus)} tasks, {conversations} conversations, {agent_turns} agent "
        f"turns ({labelled} labelled with an SOP step; the rest free-typed). SOPs `bench/star_sops/<task>.yaml`; "
        f"embedder {embedder_name}; auditor factory `{factory_name}`"
        + (" (zero-shot: nothing learned from STAR labels)" if factory_name == "zero-shot" else "")
        + "; step scorer "
        + "; ".join(f"`{scorer}`" for scorer in dict.fromkeys(r.scorer for r in runs))
        + f". Runtime {seconds:.0f} s.",
        "Turn P excl. free: precision ignoring hits on free-typed agent turns (`action_label` null or `custom`). "
        "Skip recall: a performed step's turns removed, share reported missing; false-missing: share of intact "
        "performed steps reported missing. ECE: 10 equal-width bins over every (agent turn, step) pair the semantic "
        "detector scores (most pairs are near-zero confidence and correctly unlabelled, which keeps it small); ECE "
        "top: over agent turns, the confidence of the turn's most confident step vs whether the turn is labelled "
        "with that step (free-typed turns: never). Micro over all steps of all tasks.",
        "### Overall\n\n" + overall_table(runs, variants, noise_kinds),
    ]
    if noise:
        parts.append(
            "### Speech-to-text noise (lowercase, no punctuation, fillers, ~5% words dropped or doubled; "
            f"`bench/stt_noise.py`, seed {NOISE_SEED})\n\nNoisy turns have no sentence punctuation, so the auditor "
            "scores each as one text unit instead of the turn plus its sentences: the change under noise mixes the "
            "noise with that.\n\n" + noise_table(runs, variants)
        )
    parts.append(
        "### Labelled-turn accuracy: naive baseline vs auditor\n\nAgent turns labelled with an SOP step; baseline = "
        'multilingual USE, argmax cosine over the steps\' "name. description" (no threshold); auditor = its most '
        "confident evidence on the turn, or none (a miss); forced choice = its most confident candidate step, "
        "thresholds ignored (like the baseline).\n\n" + labelled_table(runs, variants, noise)
    )
    for variant in variants:
        parts.append(f"### Per task: {variant}\n\n" + per_task_table(runs, variant, noise))
    parts.append(
        "### Where turn-level false positives fall\n\nSTAR labels one step per agent turn. A claim on a free-typed"
        f" turn is counted as an echo when the turn's whole text is within cosine {ECHO_COSINE} (USE-m) of a turn that"
        " STAR labels with the claimed step in the same task's conversations: the wizard typed the step's scripted"
        " reply (or a near copy) by hand, so the turn performs the step and only its label says otherwise. The last"
        " column counts echoes as right: an estimate of how much of the gap to the targets is this labelling"
        " artifact, not a replacement for the figures above.\n\n" + false_positive_table(runs, variants, noise_kinds)
    )
    generic = ", ".join(sorted(generic_steps(runs))) or f"none: this run has fewer than {GENERIC_TASKS} tasks"
    parts.append(
        "### Generic vs task-specific steps\n\nGeneric steps recur, with the same texts, in the SOPs of at least "
        f"{GENERIC_TASKS} tasks ({generic}). Leaving one task out does not hide them from a scorer that learns from "
        "labels, so their figures flatter what it would do on a new SOP's steps; the task-specific columns are the "
        "ones that carry over to an SOP nobody here wrote. (Turn F1 counts a claim on a free-typed turn against the "
        "step it claims, as above.)\n\n" + generic_table(runs, variants, noise_kinds)
    )
    for variant in variants:
        parts.append(f"### Calibration: {variant} (clean)\n\n" + reliability_table(runs, variant))
    parts.append("### Error patterns\n\n" + "\n\n".join(error_tables(runs, v, top) for v in variants))
    return "\n\n".join(parts)


def show(text: str) -> None:
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(text))
    else:
        print(text)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS, metavar="TASK")
    parser.add_argument("--limit", type=int, default=60, help="conversations per task (default 60)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--noise", action="store_true", help="also run on speech-to-text-like copies")
    parser.add_argument("--skipped", action=argparse.BooleanOptionalAction, default=True, help="skipped-step test")
    parser.add_argument("--backend", default="use-m", help="embedder backend (default use-m)")
    parser.add_argument(
        "--factory",
        default="zero-shot",
        help="auditor factory: zero-shot (default; linear calibration), shipped (Auditor(sop, embedder), in-sample "
        "if its step model was trained on STAR) or module:function taking (task, sop, embedder)",
    )
    parser.add_argument("--top", type=int, default=10, help="rows per error table")
    parser.add_argument("--write", action="store_true", help="update the star-accuracy section of docs/benchmarks.md")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    factory = load_factory(args.factory)
    factory_name = args.factory
    corpus = load_star(args.tasks, args.limit)
    embedder = make_embedder(args.backend)
    runs = run_all(corpus, args.variants, args.noise, args.skipped, embedder, factory)
    seconds = time.perf_counter() - start
    text = report(runs, corpus, args.variants, args.noise, embedder.name, factory_name, seconds, args.top)
    show(text)
    if args.write:
        command = shlex.join(["python", "-m", "bench.star_accuracy", *(argv if argv is not None else sys.argv[1:])])
        replace_section(SECTION, command, text)
        print("\nwrote docs/benchmarks.md", file=sys.stderr)


if __name__ == "__main__":
    main()
