"""Load the project's gold-labelled corpora grouped by SOP (shared by benchmarks and calibration)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from auditor.conversation import Conversation
from auditor.sop.loading import resolve_sop
from auditor.sop_format import Sop
from auditor.transcripts.loaders import load_inputs

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO / "corpora"


def corpora_by_sop(languages: tuple[str, ...] = ("en", "zh-Hans", "zh-Hant")) -> dict[str, list[Conversation]]:
    """SOP id -> gold-labelled conversations of the chosen corpus folders."""
    loaded = load_inputs([CORPORA / lang for lang in languages if (CORPORA / lang).exists()])
    if loaded.problems:
        raise SystemExit("corpus problems:\n" + "\n".join(map(str, loaded.problems)))
    grouped: dict[str, list[Conversation]] = defaultdict(list)
    for conversation in loaded.conversations:
        grouped[str(conversation.metadata["sop_id"])].append(conversation)
    return dict(grouped)


def builtin(sop_id: str) -> Sop:
    return resolve_sop(sop_id)
