"""Abstention: measure and choose the uncertain band per embedder and step scorer (issue 16, part 3).

A step whose probability falls in the band ``[low, high)`` is ``uncertain`` and left to a person. Each conversation
is audited ONCE with a wide band (``WIDE``, nothing decided above it), and every band of a grid is replayed offline
from each (conversation, SOP step) verdict:

- ``p``: the probability of the step's best hit that performs it (0 when none reaches ``WIDE.low``);
- a step whose only evidence refuses / cannot do / skips it is missing whatever the band (``against="refused"``);
  one whose only evidence offers or promises it is uncertain whatever the band (``against="offered"``);
- a step whose ``when`` condition does not hold is not applicable (decided, not done) unless ``p >= high``; to know
  ``p`` for it, the wide audit runs on a copy of the SOP without ``when`` and the conditions are evaluated apart;
- a forbidden step: ``p`` is the probability that a turn says it; "happened" = violated.

Gold: the step happened in the conversation (some turn is labelled with it; conversation level, as
``auditor.evaluation.step_metrics.score_results`` and the STAR benchmark count it, over the SOP's steps).
A verdict is *decided* unless uncertain; decided verdicts are right when "happened" (done / late / out of order /
violated) equals gold. Coverage = share decided; selective accuracy = accuracy of the decided ones.

Data: STAR dev leave-one-task-out (``bench.star_data``, the first ``--limit`` conversations per task; with USE-m the
trained scorer is refitted without the held-out task, ``bench.loto_factory``; a backend whose shipped scorer is the
linear calibration fitted on the project corpora is already held out on STAR) and the project corpora with the
shipped scorer (in-sample: it saw them in training). Both SOP variants: as written (examples) and description-only.

Backends: an embedder name (``use-m``, ``minilm``: its shipped scorer) or ``best``, the ``best`` accuracy mode (USE-m
with ``auditor/models/step-scorer-best``, which also reads multilingual-e5-small; on STAR the same scorer refitted
without the
held-out task, ``bench.loto_factory.LeaveOneTaskOut(second=True)``, mE5 vectors cached in ``out/bench-cache``).

The band is chosen on STAR only, per backend, against ``TARGETS``; ``--write`` stores it in
``auditor/checklist/uncertain_bands.json`` (only the ``--bands-of`` backends' entries, others kept as they are) and
the tables in the "abstention" section of docs/benchmarks.md.

    HF_HUB_OFFLINE=1 python -m bench.abstention [--backends use-m,best] [--tasks T ...] [--limit 60] [--write]
        [--bands-of best]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from auditor.auditor import Auditor
from auditor.checklist.bands import BANDS_PATH, band_key, load_bands
from auditor.checklist.verdicts import UncertainBand
from auditor.conversation import Conversation
from auditor.detection.acts import SOFT
from auditor.detection.scorers import StepScorer, choose_scorer
from auditor.detection.trained_scorer import TrainedStepScorer
from auditor.embeddings.base import Embedder
from auditor.embeddings.provider import make_embedder
from auditor.evaluation.step_metrics import DETECTED_STATUSES, Counts, gold_turns, score_results
from auditor.privacy.policy import RedactionPolicy
from auditor.result import ConversationResult, StepResult
from auditor.sop_format import Sop
from auditor.text.artifacts import ConversationArtifacts
from auditor.training.pairs import description_only
from auditor.training.step_model import expected_calibration_error
from bench.corpora_data import builtin, corpora_by_sop
from bench.loto_factory import LeaveOneTaskOut
from bench.report import markdown_table, replace_section
from bench.star_data import TASKS, VARIANTS, load_star, star_sop

SECTION = "abstention"
WIDE = UncertainBand(0.02, 1.0)
"""The band of the one audit: every performing hit from 0.02 up is kept, nothing is decided done below 1."""
LOW_MIN, LOW_MAX, HIGH_MAX, GRID_STEP = 0.02, 0.5, 0.95, 0.01
COVERAGES = (1.0, 0.95, 0.90, 0.85, 0.80, 0.70, 0.60)


def happened(status: str, forbidden: bool) -> bool:
    """Did the step happen by this status: done / late / out of order; for a forbidden step, violated."""
    return status == "violated" if forbidden else status in DETECTED_STATUSES


STAR_SET, CORPORA_SET = "STAR (held out)", "corpora (in-sample)"
BEST = "best"
"""The ``best`` accuracy mode as a backend: USE-m and the step scorer that also reads multilingual-e5-small."""
CORPORA_LANGUAGES = {"use-m": ("en", "zh-Hans", "zh-Hant"), "minilm": ("en",), BEST: ("en", "zh-Hans", "zh-Hant")}


@dataclass(frozen=True)
class Target:
    accuracy: float
    coverage: float

    def slack(self, scores: Scores) -> float:
        """How far the band clears this target (negative: short of it), the worse of accuracy and coverage."""
        return min(scores.accuracy - self.accuracy, scores.coverage - self.coverage)

    def met(self, scores: Scores) -> bool:
        return self.slack(scores) >= -1e-12


TARGETS = {"examples": Target(0.97, 0.85), "description": Target(0.95, 0.70)}
"""Decided accuracy at a share decided, per SOP variant (issue 16)."""


# ---------------------------------------------------------------------------------------------------- replay


@dataclass(frozen=True)
class Verdict:
    """One (conversation, SOP step) as the wide audit saw it, enough to replay any band with low >= WIDE.low."""

    p: float
    """Best probability of a hit that performs the step (0: none reaches WIDE.low)."""
    gold: bool
    refused: float = 0.0
    """Best probability of a hit whose act speaks against the step (refused, cannot, skipped, counter-example...):
    with no performing hit at ``low``, such a hit at ``low`` makes the step missing."""
    offered: float = 0.0
    """Best probability of a hit that only offers / promises / mentions it: with no performing or refusing hit at
    ``low``, such a hit at ``low`` leaves the step uncertain ("only offered")."""
    applies: bool = True
    """False: the step's ``when`` condition does not hold (not applicable unless p >= high)."""


def _plain_act(act: str | None) -> bool:
    return act in (None, "performed", "asked")


def verdict_of(
    step: StepResult,
    gold: bool,
    *,
    forbidden: bool = False,
    applies: bool = True,
    performs: Callable[[str | None], bool] = _plain_act,
) -> Verdict:
    """The replayable verdict of one step of a result audited with ``WIDE``; ``performs(act)``: whether an evidence
    act performs this step (``auditor.detection.acts.step_acts(step).performs``, plus "performed")."""
    if forbidden:  # violated: the best saying hit; otherwise confidence = 1 - that hit's probability
        return Verdict(step.confidence if step.status == "violated" else 1.0 - step.confidence, gold)
    if step.status not in DETECTED_STATUSES | {"uncertain", "missing"}:
        raise ValueError(f"step {step.step_id}: unexpected status {step.status!r} in a wide-band audit")
    refused = offered = 0.0
    for item in step.evidence:
        if performs(item.act):
            continue
        confidence = item.confidence if item.confidence is not None else item.score
        if item.act in SOFT:
            offered = max(offered, confidence)
        else:
            refused = max(refused, confidence)
    # done (a hit at 1.0, e.g. a keyword) or uncertain because a turn may perform it: its best performing hit
    may = step.status in DETECTED_STATUSES or (
        step.status == "uncertain" and not (step.reason or "").startswith("only")
    )
    return Verdict(step.confidence if may else 0.0, gold, refused, offered, applies)


class VerdictArrays:
    """Verdicts as arrays, to score many bands fast."""

    def __init__(self, verdicts: Sequence[Verdict]):
        self.p = np.array([v.p for v in verdicts], dtype=float)
        self.gold = np.array([v.gold for v in verdicts], dtype=bool)
        self.refused = np.array([v.refused for v in verdicts], dtype=float)
        self.offered = np.array([v.offered for v in verdicts], dtype=float)
        self.applies = np.array([v.applies for v in verdicts], dtype=bool)

    def __len__(self) -> int:
        return len(self.p)

    def decide(self, band: UncertainBand) -> tuple[np.ndarray, np.ndarray]:
        """(happened, decided) per verdict under ``band``, as ``auditor.checklist.verdicts`` decides them."""
        done = self.p >= band.high
        only_offered = (self.refused < band.low) & (self.offered >= band.low)
        uncertain = ~done & self.applies & ((self.p >= band.low) | only_offered)
        return done, ~uncertain

    @property
    def only_offered(self) -> np.ndarray:
        """Verdicts left uncertain by an offer / promise alone under the wide band."""
        return (self.p == 0) & (self.refused < WIDE.low) & (self.offered >= WIDE.low)

    @property
    def ece(self) -> float:
        return expected_calibration_error(self.p, self.gold)


@dataclass(frozen=True)
class Scores:
    band: UncertainBand
    total: int
    decided: int
    correct: int
    tp: int
    fp: int
    fn: int

    @property
    def coverage(self) -> float:
        return self.decided / self.total if self.total else 0.0

    @property
    def accuracy(self) -> float:
        return self.correct / self.decided if self.decided else 1.0

    @property
    def f1(self) -> float:
        """Conversation-level F1 of done (happened) vs not, on decided verdicts."""
        return Counts(self.tp, self.fp, self.fn).f1


def score(verdicts: VerdictArrays, band: UncertainBand) -> Scores:
    done, decided = verdicts.decide(band)
    gold = verdicts.gold
    return Scores(
        band,
        total=len(verdicts),
        decided=int(decided.sum()),
        correct=int((decided & (done == gold)).sum()),
        tp=int((done & gold).sum()),
        fp=int((done & ~gold).sum()),
        fn=int((decided & ~done & gold).sum()),
    )


def band_grid(
    low_min: float = LOW_MIN, low_max: float = LOW_MAX, high_max: float = HIGH_MAX, step: float = GRID_STEP
) -> list[UncertainBand]:
    """Every band with low in [low_min, low_max] and high in [low, high_max], both on a ``step`` grid."""
    lows = np.round(np.arange(low_min, low_max + step / 2, step), 4)
    return [
        UncertainBand(float(low), float(high))
        for low in lows
        for high in np.round(np.arange(low, high_max + step / 2, step), 4)
    ]


def curve(verdicts: VerdictArrays, bands: Sequence[UncertainBand], coverages: Sequence[float] = COVERAGES):
    """Per target share decided: the band of the grid with the best decided accuracy that decides at least that
    share (ties: more decided); when no band does, the best of those deciding the most (below the target)."""
    scored = [score(verdicts, band) for band in bands]
    most = max(s.coverage for s in scored)
    rows: list[tuple[float, Scores]] = []
    for coverage in coverages:
        reaching = [s for s in scored if s.coverage >= min(coverage, most) - 1e-12]
        rows.append((coverage, max(reaching, key=lambda s: (s.accuracy, s.coverage))))
    return rows


@dataclass(frozen=True)
class Choice:
    band: UncertainBand
    scores: dict[str, Scores]
    slack: float
    """The smaller slack over the variants (>= 0: every target met)."""


def choose_band(
    verdicts: Mapping[str, VerdictArrays],
    targets: Mapping[str, Target],
    bands: Sequence[UncertainBand],
    around: float | None = None,
) -> Choice:
    """The band that decides at least every variant's target share (the review load a QA lead was promised) with
    the best decided accuracy against the targets (the smallest accuracy slack over the variants); when no band
    decides enough, the one that comes closest. Ties go to the band deciding more, then the narrower one.
    ``around``: only bands with low <= around <= high (a band that abstains around the scorer's done threshold, and
    decides every other step as the scorer does)."""
    best: tuple[tuple[float, float, float, float], Choice] | None = None
    for band in bands:
        if around is not None and not band.low <= around <= band.high:
            continue
        scores = {variant: score(arrays, band) for variant, arrays in verdicts.items()}
        slack = min(targets[variant].slack(s) for variant, s in scores.items())
        coverage_slack = min(s.coverage - targets[variant].coverage for variant, s in scores.items())
        accuracy_slack = min(s.accuracy - targets[variant].accuracy for variant, s in scores.items())
        decides_enough = coverage_slack >= -1e-12
        ranked = accuracy_slack if decides_enough else coverage_slack
        key = (
            float(decides_enough),
            round(ranked, 9),
            round(sum(s.coverage for s in scores.values()), 9),
            -(band.high - band.low),
        )
        if best is None or key > best[0]:
            best = (key, Choice(band, scores, slack))
    if best is None:
        raise ValueError("no band to choose from")
    return best[1]


# ---------------------------------------------------------------------------------------------------- audits


@dataclass
class Group:
    """One SOP (a STAR task or a corpus SOP) in one variant, audited once wide and once with no band."""

    dataset: str
    variant: str
    name: str
    auditor: Auditor
    """With the real SOP; rerun at any band on ``artifacts``."""
    conversations: list[Conversation]
    artifacts: list[ConversationArtifacts]
    verdicts: list[Verdict] = field(default_factory=list)
    plain_happened: list[bool] = field(default_factory=list)
    """Per verdict, the no-band run (band (t, t), t the scorer's done threshold): did the step happen?"""
    plain_conv: Counts = field(default_factory=Counts)
    """score_results' conversation-level counts of the no-band run (a step "happened" when it has evidence)."""
    plain_outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def done_threshold(self) -> float:
        return self.auditor.semantic.scorer.done_threshold

    def run(self, band: UncertainBand) -> list[ConversationResult]:
        self.auditor.band = band
        return [self.auditor.score_artifacts(a, dissatisfaction=False) for a in self.artifacts]


def without_conditions(sop: Sop) -> Sop:
    return sop.model_copy(update={"steps": [s.model_copy(update={"when": None}) for s in sop.steps]})


def audit_group(
    dataset: str,
    variant: str,
    name: str,
    make: Callable[[Sop], Auditor],
    sop: Sop,
    conversations: list[Conversation],
    artifacts: list[ConversationArtifacts],
) -> Group:
    auditor = make(sop)
    auditor.redaction = RedactionPolicy.off()
    conditional = {step.id: step.when for step in sop.steps if step.when}
    wide_auditor = auditor
    if conditional:
        wide_auditor = make(without_conditions(sop))
        wide_auditor.redaction = RedactionPolicy.off()
    group = Group(dataset, variant, name, auditor, conversations, artifacts)
    threshold = group.done_threshold
    plain = group.run(UncertainBand(threshold, threshold))
    wide_auditor.band = WIDE
    wide = [wide_auditor.score_artifacts(a, dissatisfaction=False) for a in artifacts]
    step_ids = [step.id for step in sop.steps]
    forbidden = {step.id for step in sop.steps if step.forbidden}
    group.plain_conv = score_results(zip(conversations, plain, strict=True), step_ids).overall("conversation")
    for conversation, art, wide_result, plain_result in zip(conversations, artifacts, wide, plain, strict=True):
        gold = gold_turns(conversation)
        holds = {c: auditor.conditions[c].evaluate(art, auditor.embedder).holds for c in set(conditional.values())}
        wide_steps = {s.step_id: s for s in wide_result.steps}
        plain_steps = {s.step_id: s for s in plain_result.steps}
        for step_id in step_ids:
            applies = holds[conditional[step_id]] if step_id in conditional else True
            acts = wide_auditor.acts.acts[step_id]
            verdict = verdict_of(
                wide_steps[step_id],
                bool(gold.get(step_id)),
                forbidden=step_id in forbidden,
                applies=applies,
                performs=lambda act, acts=acts: act is None or acts.performs(act),  # type: ignore[misc]
            )
            group.verdicts.append(verdict)
            group.plain_happened.append(happened(plain_steps[step_id].status, step_id in forbidden))
        group.plain_outcomes[str(plain_result.outcome)] += 1
    return group


@dataclass
class BackendModels:
    """What a backend audits with: the embedder, the shipped scorer (corpora) and, for a trained scorer, the
    leave-one-task-out factory that refits it without each STAR task."""

    embedder: Embedder
    shipped: StepScorer
    loto: LeaveOneTaskOut | None


def backend_models(backend: str) -> BackendModels:
    """``best``: USE-m with ``auditor/models/step-scorer-best`` (as ``load_models`` with accuracy ``best``) and its
    leave-one-task-out refit with the same second-encoder features; otherwise the embedder ``backend`` with its
    shipped scorer."""
    if backend == BEST:
        from auditor.model_files import STEP_SCORER_BEST

        embedder = make_embedder("use-m")
        # its second encoder is set to the factory's cached one once STAR has made it (star_groups)
        return BackendModels(embedder, TrainedStepScorer.load(STEP_SCORER_BEST.folder()), LeaveOneTaskOut(second=True))
    embedder = make_embedder(backend)
    shipped = choose_scorer(embedder.name)
    return BackendModels(embedder, shipped, LeaveOneTaskOut() if isinstance(shipped, TrainedStepScorer) else None)


def star_groups(
    models: BackendModels, tasks: Sequence[str], limit: int, log: Callable[[str], None]
) -> tuple[list[Group], str]:
    """STAR groups, each task audited by a scorer that never saw it; and how that scorer was obtained."""
    embedder, shipped, loto = models.embedder, models.shipped, models.loto
    how = (
        "trained scorer refitted without the held-out task (bench/loto_factory.py"
        + (", with the multilingual-e5-small features)" if loto.use_second else ")")
        if loto
        else f"shipped {shipped.name}, nothing learned from STAR: {shipped.summary}"
    )
    corpus = load_star(tasks, limit)
    groups = []
    for task, conversations in corpus.items():
        start = time.perf_counter()
        scorer = loto.scorer(task, embedder) if loto else shipped

        def make(sop: Sop, scorer=scorer) -> Auditor:  # type: ignore[no-untyped-def]
            return Auditor(sop, embedder, scorer=scorer)

        artifacts = None
        for variant in VARIANTS:
            sop = star_sop(task, variant)
            if artifacts is None:
                artifacts = make(sop).builder.build_many(conversations)
            groups.append(audit_group(STAR_SET, variant, task, make, sop, conversations, artifacts))
        log(f"  STAR {task:<22} {len(conversations)} convs  {time.perf_counter() - start:.1f} s")
    if loto is not None and loto.second is not None and isinstance(shipped, TrainedStepScorer):
        shipped._second = loto.second  # one mE5 and one vector cache (out/bench-cache) for both scorers
    return groups, how


def corpora_groups(models: BackendModels, languages: Sequence[str], log: Callable[[str], None]) -> list[Group]:
    embedder, scorer = models.embedder, models.shipped

    def make(sop: Sop) -> Auditor:
        return Auditor(sop, embedder, scorer=scorer)

    groups = []
    for sop_id, conversations in sorted(corpora_by_sop(tuple(languages)).items()):
        artifacts = make(builtin(sop_id)).builder.build_many(conversations)
        for variant in VARIANTS:
            sop = builtin(sop_id) if variant == "examples" else description_only(builtin(sop_id))
            groups.append(audit_group(CORPORA_SET, variant, sop_id, make, sop, conversations, artifacts))
        log(f"  corpora {sop_id:<22} {len(conversations)} convs")
    return groups


# ---------------------------------------------------------------------------------------------------- tables


def _band(band: UncertainBand) -> str:
    return f"{band.low:.2f}-{band.high:.2f}"


def _arrays(groups: Sequence[Group], dataset: str, variant: str) -> VerdictArrays:
    return VerdictArrays([v for g in groups if g.dataset == dataset and g.variant == variant for v in g.verdicts])


def sanity_rows(groups: Sequence[Group]) -> list[list[str]]:
    """Replay at (t, t) vs the run with no band, per dataset and variant (t: each group's done threshold)."""
    rows = []
    for dataset in dict.fromkeys(g.dataset for g in groups):
        for variant in VARIANTS:
            selected = [g for g in groups if g.dataset == dataset and g.variant == variant]
            replay, plain, evidence = Counts(), Counts(), Counts()
            mismatches = total = 0
            thresholds = sorted({g.done_threshold for g in selected})
            for group in selected:
                arrays = VerdictArrays(group.verdicts)
                replayed, _ = arrays.decide(UncertainBand(group.done_threshold, group.done_threshold))
                plain_happened = np.array(group.plain_happened, dtype=bool)
                for counts, predicted in ((replay, replayed), (plain, plain_happened)):
                    counts += Counts(
                        int((predicted & arrays.gold).sum()),
                        int((predicted & ~arrays.gold).sum()),
                        int((~predicted & arrays.gold).sum()),
                    )
                mismatches += int((replayed != plain_happened).sum())
                total += len(arrays)
                evidence += group.plain_conv
            rows.append(
                [
                    dataset,
                    variant,
                    "/".join(f"{t:g}" for t in thresholds),
                    str(total),
                    f"{replay.f1:.3f}",
                    f"{plain.f1:.3f}",
                    str(mismatches),
                    f"{evidence.f1:.3f}",
                ]
            )
    return rows


SANITY_HEADER = [
    "data",
    "SOP variant",
    "t",
    "step verdicts",
    "conv F1, replay at (t, t)",
    "conv F1, no-band run",
    "verdicts that differ",
    "score_results conv F1 (no band)",
]


def ece_rows(groups: Sequence[Group]) -> list[list[str]]:
    rows = []
    for dataset in dict.fromkeys(g.dataset for g in groups):
        for variant in VARIANTS:
            arrays = _arrays(groups, dataset, variant)
            with_hit = arrays.p > 0
            sub = expected_calibration_error(arrays.p[with_hit], arrays.gold[with_hit])
            rows.append(
                [
                    dataset,
                    variant,
                    str(len(arrays)),
                    f"{arrays.gold.mean():.3f}",
                    f"{arrays.ece:.3f}",
                    f"{int(with_hit.sum())}",
                    f"{sub:.3f}",
                    str(int(arrays.only_offered.sum())),
                ]
            )
    return rows


ECE_HEADER = [
    "data",
    "SOP variant",
    "step verdicts",
    "share happened",
    "ECE (p, 0 when no hit)",
    "verdicts with a performing hit",
    "ECE on those",
    "only offered/promised at the wide band",
]


def curve_table(groups: Sequence[Group], dataset: str, bands: Sequence[UncertainBand]) -> str:
    curves = {variant: curve(_arrays(groups, dataset, variant), bands) for variant in VARIANTS}
    rows = []
    for number, coverage in enumerate(COVERAGES):
        cells = [f">= {coverage:.0%}"]
        for variant in VARIANTS:
            scores = curves[variant][number][1]
            short = " (most any band decides)" if scores.coverage < coverage - 1e-12 else ""
            cells += [_band(scores.band), f"{scores.coverage:.1%}{short}", f"{scores.accuracy:.3f}", f"{scores.f1:.3f}"]
        rows.append(cells)
    header = ["share decided"]
    for variant in VARIANTS:
        header += [f"{variant}: band", "decided", "decided accuracy", "decided F1"]
    return markdown_table(header, rows)


@dataclass
class BackendReport:
    backend: str
    embedder: str
    scorer: str
    star_how: str
    groups: list[Group]
    threshold: float
    """The shipped scorer's done threshold: the chosen band contains it."""
    choice: Choice
    free: Choice
    """The best band of the whole grid, whether or not it contains the done threshold."""
    alone: dict[str, Choice]
    """Per variant, the band (containing the threshold) best for that variant's target alone."""
    chosen_outcomes: dict[tuple[str, str], Counter[str]]
    replay_mismatches: int
    seconds: float


def chosen_rows(report: BackendReport) -> list[list[str]]:
    rows = []
    band = report.choice.band
    for dataset in dict.fromkeys(g.dataset for g in report.groups):
        for variant in VARIANTS:
            scores = score(_arrays(report.groups, dataset, variant), band)
            target = TARGETS[variant]
            selected = [g for g in report.groups if g.dataset == dataset and g.variant == variant]
            plain = sum((g.plain_outcomes for g in selected), Counter())
            chosen = report.chosen_outcomes[(dataset, variant)]
            convs = sum(len(g.conversations) for g in selected)
            rows.append(
                [
                    dataset,
                    variant,
                    f"{scores.coverage:.1%}",
                    f"{scores.accuracy:.3f}",
                    f"{scores.f1:.3f}",
                    f"{target.accuracy:.2f} at {target.coverage:.0%}",
                    ("met" if target.met(scores) else "**missed**") if dataset == STAR_SET else "(not used)",
                    f"{chosen['needs_review']}/{convs} (no band: {plain['needs_review']})",
                    f"{chosen['passed']}/{chosen['failed']} (no band: {plain['passed']}/{plain['failed']})",
                ]
            )
    return rows


CHOSEN_HEADER = [
    "data",
    "SOP variant",
    "decided",
    "decided accuracy",
    "decided F1",
    "target",
    "target",
    "needs_review convs",
    "passed/failed convs",
]


COMPARED_COVERAGES = (0.85, 0.70)


def comparison_text(reports: Sequence[BackendReport], bands: Sequence[UncertainBand]) -> str:
    """The backends side by side: each one's chosen band, what it decides and how well, its ECE, and the best
    decided accuracy any grid band gives at the target shares decided."""
    header = ["data", "SOP variant", "embedder / scorer", "chosen band", "decided", "decided accuracy"]
    header += ["decided F1", "target", "ECE (p)"]
    header += [f"best accuracy at >= {c:.0%} decided" for c in COMPARED_COVERAGES]
    rows = []
    for dataset in (STAR_SET, CORPORA_SET):
        for variant in VARIANTS:
            for report in reports:
                arrays = _arrays(report.groups, dataset, variant)
                if not len(arrays):
                    continue
                scores = score(arrays, report.choice.band)
                target = TARGETS[variant]
                met = ("met" if target.met(scores) else "missed") if dataset == STAR_SET else "(not used)"
                at = dict(curve(arrays, bands, COMPARED_COVERAGES))
                rows.append(
                    [
                        dataset,
                        variant,
                        f"{report.embedder} / {report.scorer}",
                        _band(report.choice.band),
                        f"{scores.coverage:.1%}",
                        f"{scores.accuracy:.3f}",
                        f"{scores.f1:.3f}",
                        f"{target.accuracy:.2f} at {target.coverage:.0%}: {met}",
                        f"{arrays.ece:.3f}",
                        *(
                            f"{at[c].accuracy:.3f} ({at[c].coverage:.1%})"
                            + (" (most any band decides)" if at[c].coverage < c - 1e-12 else "")
                            for c in COMPARED_COVERAGES
                        ),
                    ]
                )
    intro = "### Backends compared\n\nEach backend at its own chosen band (details below):\n\n"
    return intro + markdown_table(header, rows)


def backend_text(report: BackendReport, bands: Sequence[UncertainBand]) -> str:
    choice = report.choice
    star_convs = sum(len(g.conversations) for g in report.groups if g.dataset == STAR_SET and g.variant == "examples")
    corpora_convs = sum(
        len(g.conversations) for g in report.groups if g.dataset == CORPORA_SET and g.variant == "examples"
    )
    verdict = (
        "both targets met"
        if choice.slack >= 0
        else "missed: "
        + "; ".join(
            f"{v} ({choice.scores[v].accuracy:.3f} at {choice.scores[v].coverage:.1%} decided, target "
            f"{TARGETS[v].accuracy:.2f} at {TARGETS[v].coverage:.0%})"
            for v in VARIANTS
            if not TARGETS[v].met(choice.scores[v])
        )
    )
    alone = "; ".join(
        f"{v} alone: best {_band(c.band)} gives {c.scores[v].accuracy:.3f} at {c.scores[v].coverage:.1%} decided "
        f"({'met' if c.slack >= 0 else 'missed'})"
        for v, c in report.alone.items()
    )
    free = report.free
    if free.band == choice.band:
        free_text = "It is also the best band of the whole grid."
    else:
        free_text = (
            f"The best band of the whole grid, {_band(free.band)} (slack {free.slack:+.3f}; "
            + ", ".join(
                f"{v} {free.scores[v].accuracy:.3f} at {free.scores[v].coverage:.1%}"
                + f" STAR, {s.accuracy:.3f} at {s.coverage:.1%} corpora"
                for v in VARIANTS
                for s in [score(_arrays(report.groups, CORPORA_SET, v), free.band)]
            )
            + f"), does not contain the done threshold {report.threshold:g}: it moves the scorer's own decision, "
            "not only abstains around it, so it is not taken."
        )
    parts = [
        f"### {report.embedder} / {report.scorer}",
        f"STAR: {star_convs} conversations x 2 SOP variants, {report.star_how}. Corpora: {corpora_convs} "
        f"conversations ({', '.join(CORPORA_LANGUAGES.get(report.backend, ('en',)))}) x 2 variants, shipped scorer "
        f"`{report.scorer}` (in-sample: fitted on these corpora). Runtime {report.seconds:.0f} s.",
        f"**Chosen band {_band(choice.band)}** (contains the shipped done threshold {report.threshold:g}; smallest "
        f"slack {choice.slack:+.3f}: {verdict}). Per variant, among bands containing the threshold: {alone}. "
        + free_text,
        markdown_table(CHOSEN_HEADER, chosen_rows(report)),
        "Sanity check: the replay at band (t, t) against the audit with no band (same code, band = the scorer's "
        "done threshold t); conv F1 = done/late/out of order (violated) vs gold over the SOP's steps. score_results "
        "counts a step as happened when it has evidence, so it also counts steps missing by act and only-offered "
        f"ones. Exact statuses rerun at the chosen band vs its replay: {report.replay_mismatches} verdicts differ.",
        markdown_table(SANITY_HEADER, sanity_rows(report.groups)),
        "Calibration of the step probability p (10 equal-width bins, gold = the step happened):",
        markdown_table(ECE_HEADER, ece_rows(report.groups)),
    ]
    for dataset in dict.fromkeys(g.dataset for g in report.groups):
        parts.append(
            f"Selective accuracy, {dataset}: per share decided, the grid band with the best decided accuracy:\n\n"
            + curve_table(report.groups, dataset, bands)
        )
    return "\n\n".join(parts)


METHOD = (
    "A step whose probability falls in the uncertain band [low, high) is `uncertain` (a person decides); at or "
    "above high it is done, below low missing (evidence that refuses / cannot / skips it: missing; evidence that "
    "only offers or promises it: uncertain). Each conversation is audited once with the wide band "
    f"{WIDE.low:g}-{WIDE.high:g}; every band of the grid (low {LOW_MIN:g}..{LOW_MAX:g}, high low..{HIGH_MAX:g}, "
    f"step {GRID_STEP:g}) is replayed offline per (conversation, SOP step) from the best probabilities of its hits "
    "that perform it, speak against it and only offer it (exact: a rerun of the auditor at the chosen band gives "
    "the same verdicts, see each sanity check). Gold: the step happened in the conversation (a turn labelled "
    "with it). Decided = not uncertain; decided accuracy = share of decided steps whose done / not done matches "
    "gold; decided F1 = conversation-level F1 of done vs not on decided steps. The band is chosen on STAR "
    "(held-out tasks) only; corpora figures are in-sample for the shipped scorer. It is chosen among the bands "
    "that contain the shipped scorer's done threshold (so it only abstains and never flips a decision the scorer "
    "makes), against the targets description-only SOPs >= 0.95 decided accuracy with >= 70 % decided, SOPs with "
    "examples >= 0.97 with >= 85 % decided, maximising the smaller slack (slack = the worse of accuracy - target "
    "and share decided - target). needs_review: conversations whose outcome waits for a person at the chosen band "
    "(a rerun of the auditor)."
)


# ---------------------------------------------------------------------------------------------------- main


def measure_backend(
    backend: str, tasks: Sequence[str], limit: int, bands: Sequence[UncertainBand], log: Callable[[str], None]
) -> BackendReport:
    start = time.perf_counter()
    models = backend_models(backend)
    embedder, scorer = models.embedder, models.shipped
    log(f"{backend}: {embedder.name} / {scorer.name}")
    groups, how = star_groups(models, tasks, limit, log)
    groups += corpora_groups(models, CORPORA_LANGUAGES.get(backend, ("en",)), log)
    star = {variant: _arrays(groups, STAR_SET, variant) for variant in VARIANTS}
    threshold = scorer.done_threshold
    choice = choose_band(star, TARGETS, bands, around=threshold)
    free = choose_band(star, TARGETS, bands)
    alone = {v: choose_band({v: star[v]}, TARGETS, bands, around=threshold) for v in VARIANTS}
    chosen_outcomes: dict[tuple[str, str], Counter[str]] = {}
    mismatches = 0
    for group in groups:
        results = group.run(choice.band)
        chosen_outcomes.setdefault((group.dataset, group.variant), Counter()).update(str(r.outcome) for r in results)
        replayed, decided = VerdictArrays(group.verdicts).decide(choice.band)
        forbidden = {step.id for step in group.auditor.sop.steps if step.forbidden}
        exact = [(s.status, s.step_id in forbidden) for r in results for s in r.steps]
        exact_happened = np.array([happened(status, is_forbidden) for status, is_forbidden in exact])
        exact_decided = np.array([status != "uncertain" for status, _ in exact])
        mismatches += int(((replayed != exact_happened) | (decided != exact_decided)).sum())
    seconds = time.perf_counter() - start
    return BackendReport(
        backend,
        embedder.name,
        scorer.name,
        how,
        groups,
        threshold,
        choice,
        free,
        alone,
        chosen_outcomes,
        mismatches,
        seconds,
    )


def measured_text(report: BackendReport) -> str:
    def figures(dataset: str) -> str:
        return ", ".join(
            f"{v} {s.accuracy:.3f} accuracy at {s.coverage:.1%} decided"
            for v in VARIANTS
            for s in [score(_arrays(report.groups, dataset, v), report.choice.band)]
        )

    star_convs = sum(len(g.conversations) for g in report.groups if g.dataset == STAR_SET and g.variant == "examples")
    return (
        f"{date.today().isoformat()}, bench/abstention.py, chosen on STAR dev held-out tasks ({star_convs} "
        f"conversations; {report.star_how}) among bands containing the done threshold {report.threshold:g}: "
        f"{figures(STAR_SET)} (targets examples 0.97 at 85%, description 0.95 at 70%: "
        f"{'met' if report.choice.slack >= 0 else 'missed'}); project corpora, in-sample: {figures(CORPORA_SET)}"
    )


def save_bands(entries: Mapping[str, Mapping[str, float | str]], path: Path = BANDS_PATH) -> None:
    """Merge ``{"<embedder>/<scorer>": {"low", "high", "measured"}}`` into the band file (others are kept)."""
    bands = load_bands(path)
    bands.update({key: dict(entry) for key, entry in entries.items()})
    path.write_text(json.dumps(bands, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_bands(reports: Sequence[BackendReport], path: Path = BANDS_PATH) -> None:
    save_bands(
        {
            band_key(r.embedder, r.scorer): {
                "low": r.choice.band.low,
                "high": r.choice.band.high,
                "measured": measured_text(r),
            }
            for r in reports
        },
        path,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--backends",
        nargs="+",
        default=["use-m", "minilm"],
        help=f"embedders (use-m, minilm) or {BEST!r} (the best accuracy mode); space- or comma-separated",
    )
    parser.add_argument(
        "--bands-of",
        nargs="+",
        default=None,
        metavar="BACKEND",
        help="with --write, store the bands of these backends only (default: every one run); other entries are kept",
    )
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS, metavar="TASK")
    parser.add_argument("--limit", type=int, default=60, help="STAR conversations per task (default 60)")
    parser.add_argument("--write", action="store_true", help="write the bands and the docs/benchmarks.md section")
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    backends = [name for item in args.backends for name in item.split(",") if name]
    stored = [name for item in args.bands_of or backends for name in item.split(",") if name]
    if unknown := sorted(set(stored) - set(backends)):
        parser.error(f"--bands-of {' '.join(unknown)}: not among --backends")
    bands = band_grid()
    reports = [measure_backend(backend, args.tasks, args.limit, bands, log) for backend in backends]
    compared = [comparison_text(reports, bands)] if len(reports) > 1 else []
    text = "\n\n".join([METHOD, *compared, *(backend_text(r, bands) for r in reports)])
    print(text)
    if args.write:
        write_bands([r for r in reports if r.backend in stored])
        command = shlex.join(["python", "-m", "bench.abstention", *(argv if argv is not None else sys.argv[1:])])
        replace_section(SECTION, command, text)
        print(f"\nwrote {BANDS_PATH} and docs/benchmarks.md", file=sys.stderr)


if __name__ == "__main__":
    main()
