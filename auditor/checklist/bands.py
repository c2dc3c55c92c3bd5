"""The uncertain band per embedder and step scorer: chosen on held-out data by ``bench/abstention.py``."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.checklist.verdicts import UncertainBand

BANDS_PATH = Path(__file__).with_name("uncertain_bands.json")


def load_bands(path: Path = BANDS_PATH) -> dict[str, dict[str, float | str]]:
    if not path.exists():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")))


def band_key(embedder_name: str, scorer_name: str) -> str:
    return f"{embedder_name}/{scorer_name}"


def band_for(embedder_name: str, scorer_name: str, done_threshold: float, path: Path = BANDS_PATH) -> UncertainBand:
    """The measured band of this embedder and scorer; with none measured, no abstention at the done threshold."""
    entry = load_bands(path).get(band_key(embedder_name, scorer_name))
    if entry is None:
        return UncertainBand(done_threshold, done_threshold)
    return UncertainBand(float(entry["low"]), float(entry["high"]))


def parse_band(text: str) -> UncertainBand:
    """'LOW,HIGH' as a user writes it on the command line or in AUDITOR_UNCERTAIN_BAND (e.g. '0.1,0.6')."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 2:
        raise ValueError(f"uncertain band {text!r}: write it as LOW,HIGH, e.g. 0.1,0.6")
    try:
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"uncertain band {text!r}: LOW and HIGH must be numbers, e.g. 0.1,0.6") from None
    return UncertainBand(low, high)
