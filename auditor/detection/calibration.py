"""Per-backend calibration of semantic match scores into probabilities (fitted by bench/calibrate_detection.py)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from auditor.detection.pair_features import PairFeatures

CALIBRATION_PATH = Path(__file__).with_name("calibration.json")


class StepScorer(Protocol):
    """Turns (turn, step) pair features into probabilities; also fixes the features' description offset."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def description_offset(self) -> float: ...

    @property
    def threshold(self) -> float: ...

    @property
    def done_threshold(self) -> float: ...

    @property
    def summary(self) -> str:
        """What it was fitted on and how well it did, for the result's ``models`` record."""
        ...

    def probabilities(self, features: PairFeatures) -> np.ndarray: ...


@dataclass(frozen=True)
class SemanticCalibration:
    """P(turn performs step) = sigmoid(w_sim * sim + w_margin * margin + w_position * gap + w_examples * ex + bias).

    ``sim`` is the best cosine to the step's examples, or to its description plus ``description_offset``
    (descriptions sit further from real turns than examples do); ``margin`` is ``sim`` minus the best
    other step's ``sim`` for the same text (a turn usually performs one step); ``position_gap`` is how far
    the turn's relative place in the conversation is from the step's relative place in the SOP (0..1; SOP
    steps are ordered, so a greeting near the end is unlikely); ``ex`` is 1 when the step has examples
    (scores against examples and against descriptions sit on different scales). A turn is evidence when the
    probability reaches ``threshold``.
    """

    backend: str
    description_offset: float
    w_sim: float
    w_margin: float
    bias: float
    threshold: float
    fitted_on: str = "hand-set starting values"
    w_position: float = 0.0
    w_examples: float = 0.0
    done_threshold: float = 0.5
    """A step counts as done (and is placed in time) only with a hit at least this probable."""

    name = "linear-calibration"
    version = "2"

    @property
    def summary(self) -> str:
        return f"{self.backend}: {self.fitted_on}"

    def probabilities(self, features: PairFeatures) -> np.ndarray:
        """P(turn performs step) for every feature row."""
        z = (
            self.w_sim * features.column("sim")
            + self.w_margin * features.column("margin")
            + self.w_position * features.column("position_gap")
            + self.w_examples * features.column("has_examples")
            + self.bias
        )
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


DEFAULT = SemanticCalibration("default", 0.1, 12.0, 6.0, -7.0, 0.5, w_position=-2.0)


def load_calibrations(path: Path = CALIBRATION_PATH) -> dict[str, SemanticCalibration]:
    if not path.exists():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {name: SemanticCalibration(**values) for name, values in raw.items()}


def calibration_for(embedder_name: str, path: Path = CALIBRATION_PATH) -> SemanticCalibration:
    """The fitted calibration of a backend, or conservative defaults for an unknown model."""
    return load_calibrations(path).get(embedder_name, DEFAULT)


def save_calibrations(calibrations: dict[str, SemanticCalibration], path: Path = CALIBRATION_PATH) -> None:
    payload = {name: asdict(calibration) for name, calibration in sorted(calibrations.items())}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
