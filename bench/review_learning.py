"""Learning from a handful of reviews, measured (issue 21 item 5): the learning curve of a new SOP.

For each STAR task, held out: the step scorer is the leave-one-task-out one (``bench/loto_factory.py``: fitted on
every other SOP of the training manifest, so the task's SOP and dialogues are unseen), and the SOP starts
description-only (``star_sop(task, "description")``: names and descriptions, no examples, no keywords). The task's
first ``--limit`` single-task conversations are split once: the last ``--eval`` are the evaluation set (the rest
of the conversations for every k), the ones before are the review pool.

For k = 0, 5, 10, 20, 40: a coach reviews the first k conversations of the pool, the verdicts simulated from the
STAR labels (a step whose ``action_label`` marks an agent turn is ``done`` at that turn, any other step is
``missing``); the confirmed evidence becomes example proposals (``auditor.review.proposals``, as `auditor sops
proposals` lists them); the SOP owner accepts them (every proposal, or the first ``--per-step`` of each step by
support), which writes a new SOP version (``accept_examples``: version + 1; checked to load back from YAML); the
evaluation conversations are audited with that version. Measures (``auditor.evaluation.step_metrics``, as
``bench/star_accuracy.py`` computes them): conversation-level and turn-level precision / recall / F1 over the SOP's
steps, micro over tasks, plus the macro mean of the per-task conversation F1; false-done = share of (conversation,
step) pairs whose step the labels do not show that the auditor calls done / late / out of order. Near misses: for
the tasks with cases in ``near_miss_data/star/`` (turns that only sound like a step: a refusal, "I can't", a promise
for later, an offer, a mention, the other outcome, beside turns that perform it), each case's turn replaces the
step's first labelled turn in an evaluation conversation, audited with the SOP version of each k: does learning
from reviews make the auditor credit what was only mentioned?

    HF_HUB_OFFLINE=1 python -m bench.review_learning [--tasks T ...] [--ks 0 5 10 20 40] [--eval 20] [--write]
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from auditor.conversation import Conversation, Role
from auditor.embeddings.base import Embedder
from auditor.embeddings.provider import make_embedder
from auditor.evaluation.step_metrics import Counts, score_results
from auditor.result import ConversationResult
from auditor.review.examples import ReviewedConversation, ReviewExamples
from auditor.review.proposals import ProposalOptions, accept_examples, evidence_from_reviews, propose_examples
from auditor.sop.loading import sop_from_text
from auditor.sop.writing import sop_to_yaml
from auditor.sop_format import Sop
from bench.loto_factory import leave_one_task_out_auditor
from bench.report import replace_section
from bench.star_data import TASKS, load_star, star_sop

SECTION = "review-learning"
KS = (0, 5, 10, 20, 40)
CREDITED = frozenset({"done", "late", "out_of_order"})
TARGET_K = 20
TARGET_F1 = 0.90


def simulated_review(conversation: Conversation, sop: Sop) -> ReviewedConversation:
    """A coach's verdicts from the STAR labels: done at the labelled turn, else missing (every step reviewed)."""
    performed = {label for turn in conversation.turns if turn.role is Role.AGENT for label in turn.gold_steps or ()}
    steps = {step.id: "done" if step.id in performed else "missing" for step in sop.steps}
    return ReviewedConversation(conversation, sop.id, steps)


@dataclass
class Point:
    """One task at one k."""

    task: str
    k: int
    reviewed: int
    evaluated: int
    confirmed: int = 0
    proposals: int = 0
    accepted: int = 0
    version: str = ""
    conversation: Counts = field(default_factory=Counts)
    turn: Counts = field(default_factory=Counts)
    absent: int = 0
    false_done: int = 0
    uncertain: int = 0
    near_misses: int = 0
    near_miss_credited: int = 0
    near_miss_uncertain: int = 0
    performances: int = 0
    performances_credited: int = 0


def false_done(conversations: Sequence[Conversation], results: Sequence[ConversationResult]) -> tuple[int, int]:
    """(steps the labels do not show, of which the auditor credited), over decided steps."""
    absent = credited = 0
    for conversation, result in zip(conversations, results, strict=True):
        performed = {label for turn in conversation.turns for label in turn.gold_steps or ()}
        for step in result.steps:
            if step.step_id in performed or step.status == "uncertain":
                continue
            absent += 1
            credited += step.status in CREDITED
    return absent, credited


NEAR_MISS_DIR = Path(__file__).resolve().parent / "near_miss_data" / "star"
FILLER = "OK."


@dataclass(frozen=True)
class NearMissCall:
    """One evaluation conversation with its first turn of ``step`` replaced by a case's turn."""

    conversation: Conversation
    step: str
    near_miss: bool


def near_miss_calls(task: str, evaluation: Sequence[Conversation]) -> list[NearMissCall]:
    """The task's near-miss cases (``near_miss_data/star/<task>.yaml``: none for a task without a file) put into the
    first evaluation conversation that performs each step: the step's first labelled agent turn says the case's
    turn, later turns labelled only with that step say "OK." (as ``bench/near_miss.py`` does with its templates)."""
    path = NEAR_MISS_DIR / f"{task}.yaml"
    if not path.exists():
        return []
    calls = []
    for position, case in enumerate(yaml.safe_load(path.read_text(encoding="utf-8")) or []):
        step = case["step"]
        template = next((c for c in evaluation if any(step in (t.gold_steps or ()) for t in c.turns)), None)
        if template is None:
            continue
        first = next(t.index for t in template.turns if step in (t.gold_steps or ()))
        texts = [(text, False) for text in case["performs"]] + [(m["text"], True) for m in case["near_misses"]]
        for number, (text, near_miss) in enumerate(texts):
            turns = []
            for turn in template.turns:
                if turn.index == first:
                    turn = dataclasses.replace(turn, text=text)
                elif turn.index > first and tuple(turn.gold_steps or ()) == (step,):
                    turn = dataclasses.replace(turn, text=FILLER)
                turns.append(turn)
            variant = dataclasses.replace(template, id=f"{template.id}~{position}.{number}", turns=turns)
            calls.append(NearMissCall(variant, step, near_miss))
    return calls


def near_miss_counts(point: Point, calls: Sequence[NearMissCall], results: Sequence[ConversationResult]) -> None:
    """Near misses credited (a false done) and performances credited (recall), uncertain counted apart."""
    for call, result in zip(calls, results, strict=True):
        status = next(s.status for s in result.steps if s.step_id == call.step)
        if call.near_miss:
            point.near_misses += 1
            point.near_miss_credited += status in CREDITED
            point.near_miss_uncertain += status == "uncertain"
        else:
            point.performances += 1
            point.performances_credited += status in CREDITED


def learn(
    task: str,
    conversations: list[Conversation],
    ks: Sequence[int],
    eval_size: int,
    embedder: Embedder,
    per_step: int | None,
) -> list[Point]:
    base = star_sop(task, "description")
    evaluation = conversations[-eval_size:]
    pool = conversations[:-eval_size]
    probes = near_miss_calls(task, evaluation)
    points = []
    for k in ks:
        reviewed = pool[:k]
        examples = ReviewExamples([simulated_review(c, base) for c in reviewed])
        evidence = evidence_from_reviews(examples)
        found = propose_examples(base, evidence, embedder, ProposalOptions(per_step=per_step))
        sop = base
        point = Point(task, k, len(reviewed), len(evaluation), confirmed=len(evidence), proposals=len(found.proposals))
        if found.proposals:
            revision = accept_examples(base, [(p.step_id, p.text) for p in found.proposals])
            sop = sop_from_text(sop_to_yaml(revision.sop), source=f"{task}.v{revision.sop.version}.yaml")
            point.accepted = len(revision.added)
        point.version = str(sop.version)
        auditor = leave_one_task_out_auditor(task, sop, embedder)
        results = auditor.audit_many(evaluation)
        metrics = score_results(zip(evaluation, results, strict=True), [step.id for step in sop.steps])
        point.conversation = metrics.overall("conversation")
        point.turn = metrics.overall("turn")
        point.uncertain = sum(metrics.uncertain.values())
        point.absent, point.false_done = false_done(evaluation, results)
        if probes:
            near_miss_counts(point, probes, auditor.audit_many([probe.conversation for probe in probes]))
        points.append(point)
        print(
            f"{task} k={k}: {point.proposals} proposals, {point.accepted} accepted; conv F1 "
            f"{point.conversation.f1:.3f}, turn F1 {point.turn.f1:.3f}, false-done "
            f"{point.false_done}/{point.absent}",
            file=sys.stderr,
        )
    return points


def _sum(points: Sequence[Point], level: str) -> Counts:
    total = Counts()
    for point in points:
        total += getattr(point, level)
    return total


def curve_table(points: Sequence[Point], ks: Sequence[int]) -> str:
    header = (
        "| k reviewed | convs reviewed (sum) | confirmed turns | proposed | accepted | conv P | conv R | conv F1 "
        "(micro) | conv F1 (macro over tasks) | turn F1 | false-done | uncertain | near-miss false-done | "
        "near-miss uncertain | near-miss recall |"
    )
    rows = [header, "|" + "---|" * 15]
    for k in ks:
        at = [p for p in points if p.k == k]
        conv, turn = _sum(at, "conversation"), _sum(at, "turn")
        absent, credited = sum(p.absent for p in at), sum(p.false_done for p in at)
        macro = float(np.mean([p.conversation.f1 for p in at]))
        rows.append(
            f"| {k} | {sum(p.reviewed for p in at)} | {sum(p.confirmed for p in at)} | "
            f"{sum(p.proposals for p in at)} | {sum(p.accepted for p in at)} | {conv.precision:.3f} | "
            f"{conv.recall:.3f} | **{conv.f1:.3f}** | {macro:.3f} | {turn.f1:.3f} | "
            f"{credited / absent if absent else 0:.3f} ({credited}/{absent}) | {sum(p.uncertain for p in at)} | "
            + _share(sum(p.near_miss_credited for p in at), sum(p.near_misses for p in at))
            + " | "
            + _share(sum(p.near_miss_uncertain for p in at), sum(p.near_misses for p in at))
            + " | "
            + _share(sum(p.performances_credited for p in at), sum(p.performances for p in at))
            + " |"
        )
    return "\n".join(rows)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.3f} ({part}/{whole})" if whole else "–"


def task_table(points: Sequence[Point], ks: Sequence[int]) -> str:
    tasks = list(dict.fromkeys(p.task for p in points))
    rows = [
        "| task | evaluated | " + " | ".join(f"k={k}" for k in ks) + " |",
        "|---|---|" + "---|" * len(ks),
    ]
    for task in tasks:
        mine = {p.k: p for p in points if p.task == task}
        cells = [
            f"{mine[k].conversation.f1:.3f} ({mine[k].accepted} ex., {mine[k].reviewed} rev.)" for k in ks if k in mine
        ]
        rows.append(f"| {task} | {next(iter(mine.values())).evaluated} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def report(points: Sequence[Point], ks: Sequence[int], args: argparse.Namespace, seconds: float) -> str:
    at_target = [p for p in points if p.k == TARGET_K]
    micro = _sum(at_target, "conversation").f1 if at_target else 0.0
    macro = float(np.mean([p.conversation.f1 for p in at_target])) if at_target else 0.0
    verdict = (
        f"Target (k = {TARGET_K}, description-only conversation F1 >= {TARGET_F1:.2f} on the rest): micro "
        f"{micro:.3f}, macro {macro:.3f}: **{'met' if min(micro, macro) >= TARGET_F1 else 'not met'}**."
        if at_target
        else f"k = {TARGET_K} was not run."
    )
    tasks = sorted({p.task for p in points})
    policy = "every proposal accepted" if args.per_step is None else f"the first {args.per_step} per step accepted"
    intro = (
        f"STAR dev, {len(tasks)} tasks held out one at a time: leave-one-task-out step scorer "
        "(`bench/loto_factory.py`) and the description-only SOP (`star_sop(task, 'description')`). Per task, of the "
        f"first {args.limit} single-task conversations the last {args.eval} (fewer where a task has fewer: a third) "
        "are audited at every k; the k reviewed ones come from those before them (a task with a smaller pool reviews "
        "all it has). Coach verdicts simulated from `action_label` (done at the labelled turn, else missing); "
        "proposals from the confirmed turns by `auditor.review.proposals` (best sentence by USE-m, personal data / "
        f"refusals / near-duplicates dropped), {policy} (each acceptance a new SOP version). Conversation and turn "
        "P/R/F1 as in star-accuracy (micro over tasks; macro = mean of per-task conversation F1); false-done: "
        "(conversation, step) pairs the labels do not show that the auditor credits (done / late / out of order). "
        "Near misses: the cases of `bench/near_miss_data/star/` (written for this project: per step of four task SOPs, "
        "turns that perform it and turns that only sound like it: refused, cannot, promised, offered, mentioned, the "
        "other outcome), each put in place of the step's first labelled turn in an evaluation conversation and "
        "audited with the SOP version of that k; near-miss false-done: a near miss credited, near-miss recall: a "
        f"performance credited (uncertain counted apart). Runtime {seconds:.0f} s."
    )
    return "\n\n".join(
        [
            intro,
            verdict,
            "### Learning curve",
            curve_table(points, ks),
            "### Conversation F1 per task",
            task_table(points, ks),
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS, metavar="TASK")
    parser.add_argument(
        "--ks", nargs="+", type=int, default=list(KS), help="reviewed conversations per task (default 0 5 10 20 40)"
    )
    parser.add_argument("--limit", type=int, default=60, help="conversations per task (default 60)")
    parser.add_argument("--eval", type=int, default=20, help="evaluation conversations per task (default 20)")
    parser.add_argument("--per-step", type=int, default=None, help="accept at most N proposals per step (default all)")
    parser.add_argument("--backend", default="use-m", help="embedder backend (default use-m)")
    parser.add_argument("--write", action="store_true", help=f"update the {SECTION} section of docs/benchmarks.md")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    embedder = make_embedder(args.backend)
    corpus = load_star(args.tasks, args.limit)
    points: list[Point] = []
    for task in args.tasks:
        conversations = corpus[task]
        if len(conversations) < 6:
            print(f"{task}: {len(conversations)} conversations, skipped", file=sys.stderr)
            continue
        eval_size = min(args.eval, len(conversations) // 3)
        points += learn(task, conversations, args.ks, eval_size, embedder, args.per_step)
    text = report(points, args.ks, args, time.perf_counter() - start)
    print(text)
    if args.write:
        command = shlex.join(["python", "-m", "bench.review_learning", *(argv if argv is not None else sys.argv[1:])])
        replace_section(SECTION, command, text)
        print("\nwrote docs/benchmarks.md", file=sys.stderr)


if __name__ == "__main__":
    main()
