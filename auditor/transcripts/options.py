"""How to read transcript files beyond what their content says: set per run (``auditor audit`` options)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from auditor.conversation import Role
from auditor.transcripts.file_ids import IdPattern

SpeakerMap = Mapping[str, Role]
"""Speaker label (matched without case) -> role, e.g. from ``--speaker-map``."""


@dataclass(frozen=True)
class ReadOptions:
    """Per-run reading options; the defaults read every file as its content says.

    ``csv_columns``: contract column -> CSV header (``{"conversation_id": "通话编号"}``), for headers the built-in
    names do not recognise. ``id_pattern``: ids from the names of WebVTT, SRT and text files. ``agent_id``: the
    agent of every conversation that names none. ``speaker_map``: roles for speaker labels in every file
    (``--speaker-map``); a record's own ``speaker_map`` wins.
    """

    csv_columns: Mapping[str, str] = field(default_factory=dict)
    id_pattern: IdPattern | None = None
    agent_id: str | None = None
    speaker_map: SpeakerMap | None = None


DEFAULT_READ_OPTIONS = ReadOptions()
