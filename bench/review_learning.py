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
step) pairs whose step the labels do not show that the auditor calls done / late / out of order.

    HF_HUB_OFFLINE=1 python -m bench.review_learning [--tasks T ...] [--ks 0 5 10 20 40] [--eval 20] [--write]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

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
        "(micro) | conv F1 (macro over tasks) | turn F1 | false-done | uncertain |"
    )
    rows = [header, "|" + "---|" * 12]
    for k in ks:
        at = [p for p in points if p.k == k]
        conv, turn = _sum(at, "conversation"), _sum(at, "turn")
        absent, credited = sum(p.absent for p in at), sum(p.false_done for p in at)
        macro = float(np.mean([p.conversation.f1 for p in at]))
        rows.append(
            f"| {k} | {sum(p.reviewed for p in at)} | {sum(p.confirmed for p in at)} | "
            f"{sum(p.proposals for p in at)} | {sum(p.accepted for p in at)} | {conv.precision:.3f} | "
            f"{conv.recall:.3f} | **{conv.f1:.3f}** | {macro:.3f} | {turn.f1:.3f} | "
            f"{credited / absent if absent else 0:.3f} ({credited}/{absent}) | {sum(p.uncertain for p in at)} |"
        )
    return "\n".join(rows)


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
        "The near-miss set (`bench/near_miss.py`) is written for its own SOPs, not the STAR ones, so it is not rerun "
        f"per k here. Runtime {seconds:.0f} s."
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
