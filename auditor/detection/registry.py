"""The one step-detector interface, and the registry of the detectors an SOP step can name in ``detector:``.

``DETECTORS`` is the only list of their names: SOP validation (``auditor.sop.loading``) checks ``detector:`` against
it, and the auditor builds the detectors its SOP names from it (fresh instances per auditor, no global state).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from auditor.detection.account_details import AccountDetailsDetector
from auditor.detection.hits import StepHit
from auditor.detection.sop_index import SopIndex
from auditor.text.artifacts import ConversationArtifacts


class StepDetector(Protocol):
    """Finds steps of an SOP in a conversation: hits for the steps of ``index`` it looks for.

    A step detector judges each turn on that turn alone: a live session asks it about each new turn once (the
    artifacts of that turn only) and keeps the hits. The semantic detector, whose pair features depend on the whole
    call, is the auditor's scorer stage instead (``Auditor.verdicts``).
    """

    name: str
    version: str

    def detect(self, artifacts: ConversationArtifacts, index: SopIndex) -> list[StepHit]: ...


DETECTORS: dict[str, Callable[[], StepDetector]] = {
    detector.name: detector for detector in (AccountDetailsDetector,)
}
"""Built-in detectors by the name a step gives in ``detector:``; each detects the steps that name it."""


def detector_names() -> list[str]:
    """The names a step may give in ``detector:``."""
    return list(DETECTORS)


def named_detectors(names: Iterable[str]) -> list[StepDetector]:
    """Fresh instances of the detectors ``names`` name, once each, in registry order; ValueError for a name not
    registered (loading an SOP reports those first, with file and step)."""
    wanted = set(names)
    if unknown := sorted(wanted - DETECTORS.keys()):
        raise ValueError(f"no built-in detector {', '.join(map(repr, unknown))} (known: {', '.join(DETECTORS)})")
    return [make() for name, make in DETECTORS.items() if name in wanted]
