"""Model folders on disk: a skops file plus metadata.json, loaded without pickle and only with trusted types."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class ModelFileError(RuntimeError):
    """A model folder is missing, incomplete, or holds types that are not trusted."""


def load_model_folder(
    folder: Path, model_file: str, metadata_file: str, trusted: Sequence[str], made_by: str
) -> tuple[Any, dict[str, Any]]:
    """The estimator(s) and the metadata of a model folder; any type in the file outside ``trusted`` is refused.

    skops lists the types it would need to trust; they are checked against the caller's explicit list (kept next
    to the model card), so a model file handed over by someone else cannot run code on load.
    """
    import skops.io

    model_path, metadata_path = Path(folder) / model_file, Path(folder) / metadata_file
    if not model_path.exists() or not metadata_path.exists():
        raise ModelFileError(f"{folder}: expected {model_file} and {metadata_file} (made by {made_by})")
    untrusted = [name for name in skops.io.get_untrusted_types(file=model_path) if name not in trusted]
    if untrusted:
        raise ModelFileError(f"{model_path}: refusing to load untrusted types {untrusted}")
    estimator = skops.io.load(model_path, trusted=list(trusted))
    return estimator, json.loads(metadata_path.read_text(encoding="utf-8"))
