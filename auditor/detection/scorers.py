"""Pick the step scorer: a trained one from ``auditor/models/`` when it fits the embedder, else the fitted
calibration."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from auditor.detection.calibration import StepScorer, calibration_for
from auditor.detection.trained_scorer import (
    DEFAULT_MODEL_DIR,
    METADATA_FILE,
    MODEL_FILE,
    ModelFileError,
    TrainedStepScorer,
)

LINEAR = "linear"


def choose_scorer(embedder_name: str, step_model: str | None = None) -> StepScorer:
    """``step_model``: None (the shipped trained model if it matches the embedder), 'linear', or a folder."""
    if step_model == LINEAR:
        return calibration_for(embedder_name)
    folder = Path(step_model) if step_model else DEFAULT_MODEL_DIR
    if step_model is None and not folder.exists():
        return calibration_for(embedder_name)
    scorer = _load(folder.resolve(), _modified(folder))
    if scorer.metadata.embedder != embedder_name:
        if step_model is None:
            return calibration_for(embedder_name)
        raise ModelFileError(
            f"{folder}: trained with embedder {scorer.metadata.embedder!r}, not {embedder_name!r}; "
            "retrain it with `auditor train` or pick the matching --embedder"
        )
    return scorer


def _modified(folder: Path) -> float:
    files = [folder / name for name in (MODEL_FILE, METADATA_FILE)]
    return max((path.stat().st_mtime for path in files if path.exists()), default=0.0)


@lru_cache(maxsize=4)
def _load(folder: Path, modified: float) -> TrainedStepScorer:
    """Load once per folder and modification time: importing skops and reading the file take seconds."""
    return TrainedStepScorer.load(folder)
