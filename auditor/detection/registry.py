"""Built-in detectors an SOP step can name in ``detector:``; a fresh registry per auditor, no global state."""

from __future__ import annotations

from typing import Protocol

from auditor.detection.account_details import AccountDetailsDetector
from auditor.detection.hits import StepHit
from auditor.sop_format import Step
from auditor.text.artifacts import ConversationArtifacts

BUILTIN_DETECTOR_NAMES = ("account_details",)


class NamedStepDetector(Protocol):
    """A code detector for one kind of step; returns hits for ``step`` in the conversation.

    Whether a turn is a hit depends on that turn alone: a live session asks about each new turn once (artifacts of
    that turn only) and keeps the hits."""

    name: str
    version: str

    def detect(self, artifacts: ConversationArtifacts, step: Step) -> list[StepHit]: ...


def builtin_detectors() -> dict[str, NamedStepDetector]:
    return {"account_details": AccountDetailsDetector()}
