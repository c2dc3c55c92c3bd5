"""Load audit results (results.jsonl) and the transcripts they came from, to put them in the review store.

Transcripts are found in the files named with ``--transcripts`` and, failing that, in the file each result names
in ``metadata.source`` (``auditor audit`` records it) when that file is on this machine. A result without a
transcript is still stored: its page then shows the evidence quotes without the conversation around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from auditor.conversation import Conversation
from auditor.privacy.policy import POLICY_KEY, RedactionPolicy
from auditor.result import ConversationResult
from auditor.results_file import scan_results
from auditor.store.audits import storable_problems
from auditor.transcripts.loaders import load_inputs
from auditor.transcripts.problems import LoadProblem


@dataclass
class ImportBatch:
    results: list[ConversationResult] = field(default_factory=list)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    problems: list[LoadProblem] = field(default_factory=list)

    @property
    def without_transcript(self) -> list[str]:
        return [r.conversation_id for r in self.results if r.conversation_id not in self.conversations]


def read_result_lines(path: Path) -> tuple[list[ConversationResult], list[LoadProblem]]:
    """Every valid, storable result of a results.jsonl; a bad line is a problem naming its line and field."""
    results: list[ConversationResult] = []
    problems: list[LoadProblem] = []
    try:
        for line in scan_results(path):
            if line.result is None:
                problems.append(LoadProblem(str(path), line.number, line.problem or "not an audit result"))
                continue
            unstorable = storable_problems(line.result)  # e.g. a step id twice: the store holds one row per step
            if unstorable:
                more = f" (and {len(unstorable) - 1} more)" if len(unstorable) > 1 else ""
                problems.append(LoadProblem(str(path), line.number, f"cannot be stored: {unstorable[0]}{more}"))
            else:
                results.append(line.result)
    except OSError as error:
        return [], [LoadProblem(str(path), None, f"cannot read: {error}")]
    return results, problems


def load_for_import(results_files: Sequence[Path], transcripts: Sequence[Path] = ()) -> ImportBatch:
    """Results from the files, with the transcripts of as many of them as can be found."""
    batch = ImportBatch()
    for path in results_files:
        results, problems = read_result_lines(path)
        batch.results += results
        batch.problems += problems
    wanted = {result.conversation_id for result in batch.results}
    sources = list(transcripts)
    if not sources:
        named = {str(r.metadata.get("source")) for r in batch.results if isinstance(r.metadata.get("source"), str)}
        sources = [Path(name) for name in sorted(named) if Path(name).is_file()]
    if sources:
        loaded = load_inputs(sources)
        batch.conversations = _by_stored_id(loaded.conversations, batch.results, wanted)
        if transcripts:
            batch.problems += loaded.problems
    return batch


def _by_stored_id(
    conversations: Sequence[Conversation], results: Sequence[ConversationResult], wanted: set[str]
) -> dict[str, Conversation]:
    """Transcripts by the id their results hold: an id holding personal data is stored redacted (``[PHONE]~digest``,
    by the policy the result records), so a transcript is looked up under its raw id and under that one."""
    records = {result.models.get(POLICY_KEY) for result in results}
    policies = [RedactionPolicy.recorded_in({POLICY_KEY: record} if record else None) for record in records]
    found: dict[str, Conversation] = {}
    for conversation in conversations:
        keys = {conversation.id} | {policy.redact_identifier(conversation.id) or conversation.id for policy in policies}
        for key in keys & wanted:
            found[key] = conversation
    return found
