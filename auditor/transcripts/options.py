"""How to read transcript files beyond what their content says: set per run (``auditor audit`` options)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from auditor.conversation import Conversation, Role
from auditor.transcripts.file_ids import IdPattern
from auditor.transcripts.speaker_roles import resolve_roles

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

    def applied_to(self, conversation: Conversation) -> Conversation:
        """The conversation as this run reads it: its speakers' roles resolved (``speaker_map``; a label that is not
        known, mapped nor diarized raises ``TranscriptError``) and the run's agent filling a missing ``agent_id``.
        Every reader applies the options here, the whole-file loaders and the streaming JSONL reader alike."""
        resolved = resolve_roles(conversation, self.speaker_map)
        if self.agent_id is not None and not resolved.agent_id:
            resolved.agent_id = self.agent_id
        return resolved


DEFAULT_READ_OPTIONS = ReadOptions()
