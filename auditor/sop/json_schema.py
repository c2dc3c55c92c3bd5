"""Export the SOP format as JSON Schema (``auditor/rules/sop.schema.json``) so editors can validate SOP files."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.checklist.conditions import condition_names
from auditor.detection.registry import detector_names
from auditor.sop.loading import RULES_DIR
from auditor.sop_format import Sop

SCHEMA_PATH = RULES_DIR / "sop.schema.json"


def sop_json_schema() -> str:
    """The JSON Schema of the SOP format, as stable pretty-printed text."""
    schema = Sop.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "SOP (sop-auditor)"
    step = schema["$defs"]["Step"]["properties"]
    for field, names in (("when", condition_names()), ("detector", detector_names())):
        named = step[field]["anyOf"][0]
        named["enum"] = list(names)  # the registries' names, for editors; loading checks them too
        named["type"] = named.pop("type")  # after the enum, as pydantic writes a Literal
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_sop_json_schema(path: Path = SCHEMA_PATH) -> Path:
    path.write_text(sop_json_schema(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_sop_json_schema())  # noqa: T201
