"""Pick the step scorer: a trained one from the models folder when it fits the embedder, else the fitted
calibration."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from auditor.detection.calibration import StepScorer, calibration_for
from auditor.detection.trained_scorer import ModelFileError, TrainedStepScorer
from auditor.model_files import STEP_SCORER

LINEAR = "linear"


def choose_scorer(embedder_name: str, step_model: str | None = None, models_dir: Path | None = None) -> StepScorer:
    """``step_model``: None (the trained model of ``models_dir``, None: the shipped one, if it matches the embedder;
    the fitted calibration when it was trained with another embedder), 'linear', or a folder.

    A missing folder raises ModelFileError naming it (never a silent fallback to the calibration)."""
    if step_model == LINEAR:
        return calibration_for(embedder_name)
    folder = Path(step_model) if step_model else STEP_SCORER.required(models_dir)
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
    files = [folder / name for name in (STEP_SCORER.model_file, STEP_SCORER.metadata_file)]
    return max((path.stat().st_mtime for path in files if path.exists()), default=0.0)


@lru_cache(maxsize=4)
def _load(folder: Path, modified: float) -> TrainedStepScorer:
    """Load once per folder and modification time: importing skops and reading the file take seconds."""
    return TrainedStepScorer.load(folder)
