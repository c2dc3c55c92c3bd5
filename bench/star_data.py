"""STAR dialogues and their SOPs for benchmarks: single-task conversations with gold steps from ``action_label``.

The data is read from ``../shared/data/external/star_dev.jsonl`` (MIT, RasaHQ STAR) and never copied into the
repository; the SOPs are the hand-written ``bench/star_sops/<task>.yaml`` whose step ids are the action labels.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from auditor.conversation import Conversation, Role, Turn
from auditor.evaluation.gold_labels import with_gold_from_field
from auditor.sop.loading import load_sop
from auditor.sop_format import Sop
from auditor.training.pairs import description_only
from auditor.transcripts.loaders import conversation_from_mapping

REPO = Path(__file__).resolve().parents[1]
EXTERNAL = REPO.parent / "shared" / "data" / "external"
STAR = EXTERNAL / "star_dev.jsonl"
SOPS = REPO / "bench" / "star_sops"
TASKS = tuple(sorted(path.stem for path in SOPS.glob("*.yaml")))
LABEL_FIELD = "action_label"
VARIANTS = ("examples", "description")


def star_sop(task: str, variant: str = "examples") -> Sop:
    """The task's SOP as written (``examples``) or with examples and keywords removed (``description``)."""
    sop = load_sop(SOPS / f"{task}.yaml")
    if variant == "examples":
        return sop
    if variant == "description":
        return description_only(sop)
    raise ValueError(f"unknown SOP variant {variant!r}; expected one of {', '.join(VARIANTS)}")


def load_star(tasks: Iterable[str] = TASKS, limit: int | None = 60, path: Path = STAR) -> dict[str, list[Conversation]]:
    """Task -> its first ``limit`` single-task conversations (file order), gold steps taken from ``action_label``.

    Single-task: ``tasks == [task]`` and a non-empty ``turns`` list. The file is streamed once.
    """
    if not path.exists():
        raise SystemExit(f"STAR data not found at {path} (see ../shared/data/external/README.md)")
    wanted = set(tasks)
    found: dict[str, list[Conversation]] = {task: [] for task in tasks}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            record_tasks = record.get("tasks") or []
            if len(record_tasks) != 1 or record_tasks[0] not in wanted or not record.get("turns"):
                continue
            task = record_tasks[0]
            if limit is not None and len(found[task]) >= limit:
                continue
            conversation = conversation_from_mapping(record, source=str(path), default_id=f"{path.stem}:{number}")
            found[task].append(with_gold_from_field(conversation, LABEL_FIELD))
            if limit is not None and all(len(found[t]) >= limit for t in wanted):
                break
    return found


def is_free_typed(turn: Turn, step_ids: Iterable[str]) -> bool:
    """An agent turn that carries no label of an SOP step: typed freely (``action_label`` null or ``custom``)."""
    return turn.role is Role.AGENT and not set(turn.gold_steps or ()) & set(step_ids)


def step_label(turn: Turn, step_ids: Iterable[str]) -> str | None:
    """The SOP step a labelled agent turn performs, or None (customer, event or free-typed turn)."""
    if turn.role is not Role.AGENT:
        return None
    return next((label for label in turn.gold_steps or () if label in set(step_ids)), None)
