"""Role inference for diarized calls (issue 20): accuracy, and step verdicts against the true speaker labels.

Every conversation of the project's corpora (``corpora/en``, ``zh-Hans``, ``zh-Hant``) and single-task STAR dialogues
(read at run time from ``../shared/data/external/star_dev.jsonl``, never copied) has its agent and customer labels
replaced by anonymous diarized ones, in a random order (seeded per conversation): ``Speaker 1/2``, ``spk_0/1`` or
``说话人1/2``; event turns (``system``, ``action``) keep theirs. ``resolve_roles`` then infers who is the agent.

- accuracy: share of conversations whose every spoken turn gets its true role; beside it the share flagged
  ``roles_uncertain`` (confidence under ``ROLE_CONFIDENCE``) and the accuracy of those not flagged;
- step verdicts: each conversation audited with the inferred roles and with the true labels, by the default
  auditor (USE-m, ``load_models(AuditorSettings())``; ``--embedder hashing`` for a quick run), share of step
  verdicts equal.

The cues were tuned on the corpora and the STAR tasks in ``TUNING_TASKS``; the other STAR tasks are held out.

    HF_HUB_OFFLINE=1 python -m bench.role_inference [--star-limit 60] [--embedder use-m] [--write]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from auditor.auditor import Auditor
from auditor.conversation import Conversation, Role
from auditor.service import load_models
from auditor.settings import AuditorSettings
from auditor.sop_format import Sop
from auditor.transcripts.loaders import load_inputs
from auditor.transcripts.problems import TranscriptError
from auditor.transcripts.roles import normalise_role
from auditor.transcripts.speaker_roles import ROLE_CONFIDENCE, ROLES_CONFIDENCE, resolve_roles
from bench.corpora_data import builtin
from bench.report import replace_section
from bench.star_data import TASKS, load_star, star_sop

REPO = Path(__file__).resolve().parents[1]
SECTION = "role-inference"
COMMAND = "python -m bench.role_inference --write"
LABELS = (("Speaker 1", "Speaker 2"), ("spk_0", "spk_1"), ("说话人1", "说话人2"))
TUNING_TASKS = ("apartment_search", "bank_balance", "hotel_service_request", "restaurant_search")
"""STAR tasks whose dialogues were read while tuning the cues; the rest are held out."""
TARGET_ACCURACY = 0.98
TARGET_VERDICTS = 0.97
SEED = 20


@dataclass
class Measured:
    name: str
    conversations: int = 0
    correct: int = 0
    flagged: int = 0
    correct_unflagged: int = 0
    unflagged: int = 0
    refused: int = 0
    one_sided: int = 0
    steps: int = 0
    steps_equal: int = 0
    seconds: float = 0.0

    def row(self) -> str:
        accuracy = self.correct / self.conversations if self.conversations else 0.0
        unflagged = self.correct_unflagged / self.unflagged if self.unflagged else 0.0
        verdicts = self.steps_equal / self.steps if self.steps else 0.0
        return (
            f"| {self.name} | {self.conversations} | {self.one_sided} | {accuracy:.3f} | {self.flagged} | "
            f"{unflagged:.3f} | {self.steps_equal}/{self.steps} ({verdicts:.1%}) |"
        )


def relabelled(conversation: Conversation, rng: random.Random) -> Conversation:
    """The conversation with its agent and customer speakers renamed to a diarization's labels, in random order."""
    labels = list(rng.choice(LABELS))
    rng.shuffle(labels)
    names = {Role.AGENT: labels[0], Role.CUSTOMER: labels[1]}
    turns = [
        turn if turn.role is Role.EVENT else replace(turn, speaker=names[turn.role], role=normalise_role("?"))
        for turn in conversation.turns
    ]
    return replace(conversation, turns=turns, metadata=dict(conversation.metadata))


def measure(name: str, conversations: Sequence[tuple[Conversation, Sop]], models: object | None) -> Measured:
    """Infer the roles of every relabelled conversation; audit both versions when ``models`` are given."""
    measured = Measured(name)
    started = time.perf_counter()
    auditors: dict[str, Auditor] = {}
    for conversation, sop in conversations:
        rng = random.Random(f"{SEED}:{conversation.id}")
        if len({turn.role for turn in conversation.turns} - {Role.EVENT}) < 2:
            measured.one_sided += 1  # only one side ever speaks: nothing to tell apart
            continue
        measured.conversations += 1
        try:
            inferred = resolve_roles(relabelled(conversation, rng))
        except TranscriptError:
            measured.refused += 1
            continue
        right = [turn.role for turn in inferred.turns] == [turn.role for turn in conversation.turns]
        measured.correct += right
        confidence = inferred.metadata.get(ROLES_CONFIDENCE, 1.0)
        if confidence < ROLE_CONFIDENCE:
            measured.flagged += 1
        else:
            measured.unflagged += 1
            measured.correct_unflagged += right
        if models is not None:
            if sop.id not in auditors:
                auditors[sop.id] = models.auditor(sop, anomalies=False)  # type: ignore[attr-defined]
            auditor = auditors[sop.id]
            truth, guessed = auditor.audit_many([conversation, inferred])
            measured.steps += len(truth.steps)
            measured.steps_equal += sum(a.status == b.status for a, b in zip(truth.steps, guessed.steps, strict=True))
        if not right:
            print(f"  wrong: {name} {conversation.id} confidence {confidence}", flush=True)
            for turn in conversation.turns:
                print(f"    {turn.role.value}: {turn.text[:110]}")
    measured.seconds = time.perf_counter() - started
    return measured


def corpus_sets() -> dict[str, list[tuple[Conversation, Sop]]]:
    sets: dict[str, list[tuple[Conversation, Sop]]] = {}
    for lang in ("en", "zh-Hans", "zh-Hant"):
        loaded = load_inputs([REPO / "corpora" / lang])
        sets[f"corpora {lang}"] = [(c, builtin(str(c.metadata["sop_id"]))) for c in loaded.conversations]
    return sets


def star_sets(limit: int) -> dict[str, list[tuple[Conversation, Sop]]]:
    by_task = load_star(TASKS, limit=limit)
    tuning = [(c, star_sop(task)) for task in TASKS if task in TUNING_TASKS for c in by_task[task]]
    held_out = [(c, star_sop(task)) for task in TASKS if task not in TUNING_TASKS for c in by_task[task]]
    return {"STAR en, tuning tasks": tuning, "STAR en, held-out tasks": held_out}


def table(rows: list[Measured], embedder: str, limit: int) -> str:
    lines = [
        f"Speaker labels replaced by Speaker 1/2, spk_0/1 or 说话人1/2 in a random order (seed {SEED}); "
        f"STAR: the first {limit} single-task dialogues of each task; the cues were tuned on the corpora and the "
        f"STAR tasks {', '.join(TUNING_TASKS)}. Flagged: confidence under {ROLE_CONFIDENCE} (`roles_uncertain`, "
        f"needs review). One-sided: only one side ever speaks (STAR dialogues of a lone 'hello'), so there is "
        "nothing to tell apart (flagged when the words do not tell). Step verdicts: audited with the inferred roles "
        f"vs the true labels ({embedder}).",
        "",
        "| set | conversations | one-sided, left out | accuracy | flagged | accuracy (not flagged) | "
        "step verdicts equal |",
        "|---|---|---|---|---|---|---|",
        *(row.row() for row in rows),
        "",
        f"Targets: accuracy >= {TARGET_ACCURACY} of conversations, step verdicts equal >= {TARGET_VERDICTS:.0%}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--star-limit", type=int, default=60, help="single-task STAR dialogues per task")
    parser.add_argument("--embedder", default="use-m", help="for the step verdicts: use-m (default) or hashing")
    parser.add_argument("--no-verdicts", action="store_true", help="measure role accuracy only")
    parser.add_argument("--write", action="store_true", help=f"update the {SECTION} section of docs/benchmarks.md")
    args = parser.parse_args()
    models = None if args.no_verdicts else load_models(AuditorSettings(embedder=args.embedder))
    rows = []
    for name, conversations in (corpus_sets() | star_sets(args.star_limit)).items():
        rows.append(measure(name, conversations, models))
        print(rows[-1], flush=True)
    text = table(rows, args.embedder, args.star_limit)
    print(text)
    if args.write:
        replace_section(SECTION, COMMAND, text)


if __name__ == "__main__":
    main()
