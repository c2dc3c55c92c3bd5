"""A training manifest: which labelled transcripts to learn from, against which SOP, with which labels.

```yaml
sets:
  - name: corpora                      # auditor/rules/ SOP chosen by each conversation's `sop_id` field
    transcripts: [corpora]
    sop_field: sop_id
  - name: star-bank_balance            # STAR: one task, labels in `action_label`
    transcripts: [../shared/data/external/star_dev.jsonl]
    sop: bench/star_sops/bank_balance.yaml
    label_field: action_label
    where: {tasks: [bank_balance]}
    limit: 60
```
Paths are relative to the manifest's folder. A set whose transcripts are absent is skipped with a warning
(external data may not be present on every machine).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class TrainingSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    transcripts: list[str] = Field(min_length=1)
    sop: str | None = None
    sop_field: str | None = None
    label_field: str = "steps"
    where: dict[str, Any] = Field(default_factory=dict)
    limit: int | None = Field(default=None, ge=1)


class TrainingManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sets: list[TrainingSet] = Field(min_length=1)
    variants: list[str] = Field(default_factory=lambda: ["examples", "description"])
    embedder: str = "use-m"


class ManifestError(ValueError):
    """The manifest cannot be used; the message names the file and field."""


def load_manifest(path: Path) -> TrainingManifest:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        manifest = TrainingManifest.model_validate(raw)
    except OSError as error:
        raise ManifestError(f"{path}: cannot read: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise ManifestError(f"{path}: not valid YAML") from error
    except ValidationError as error:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise ManifestError(f"{path}: {details}") from error
    for number, training_set in enumerate(manifest.sets):
        if (training_set.sop is None) == (training_set.sop_field is None):
            raise ManifestError(f"{path}: sets[{number}] ({training_set.name}): give exactly one of sop, sop_field")
    return manifest
