"""Load transcripts from files and folders in every supported format, reporting bad inputs as problems."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from auditor.conversation import Conversation
from auditor.transcripts.csv_files import read_csv
from auditor.transcripts.decoding import UndecodableFile, decode_transcript, first_bad_line
from auditor.transcripts.json_files import read_json, read_jsonl
from auditor.transcripts.plain_text import read_plain_text
from auditor.transcripts.problems import FileLoad, LoadProblem, LoadResult, TranscriptError
from auditor.transcripts.records import conversation_from_mapping, shown_id, value_problems
from auditor.transcripts.subtitles import read_srt, read_vtt

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "LoadProblem",
    "LoadResult",
    "TranscriptError",
    "conversation_from_mapping",
    "find_input_files",
    "load_bytes",
    "load_file",
    "load_inputs",
]

FormatReader = Callable[[str, str, str], FileLoad]
"""Reads one file's text given (text, source, stem)."""

READERS: dict[str, FormatReader] = {
    ".jsonl": read_jsonl,
    ".json": read_json,
    ".csv": read_csv,
    ".txt": read_plain_text,
    ".vtt": read_vtt,
    ".srt": read_srt,
}
SUPPORTED_EXTENSIONS = frozenset(READERS)


def find_input_files(inputs: Sequence[str | Path]) -> tuple[list[Path], list[LoadProblem]]:
    """Expand files and folders (recursively, sorted, supported extensions only) into the files to load."""
    files: list[Path] = []
    problems: list[LoadProblem] = []
    seen: set[Path] = set()
    for raw in inputs:
        path = Path(raw)
        found, problem = _expand(path)
        if problem is not None:
            problems.append(LoadProblem(str(raw), None, problem))
        for file in found:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                files.append(file)
    return files, problems


def load_file(path: Path) -> LoadResult:
    """Load one file, dispatching on its extension; duplicate ids within the file are problems."""
    loaded = _load_located(Path(path))
    return _collect(loaded, {})


def load_bytes(raw: bytes, source: str) -> LoadResult:
    """Load one file's content, named ``source`` (its extension picks the format), as ``load_file`` would."""
    return _collect(_load_located_bytes(raw, source), {})


def load_inputs(inputs: Sequence[str | Path]) -> LoadResult:
    """Load every file under the inputs; a bad file or line never loses the good conversations."""
    files, problems = find_input_files(inputs)
    result = LoadResult(problems=problems)
    first_seen: dict[str, str] = {}
    for file in files:
        file_result = _collect(_load_located(file), first_seen)
        result.conversations.extend(file_result.conversations)
        result.problems.extend(file_result.problems)
    return result


def _expand(path: Path) -> tuple[list[Path], str | None]:
    """The supported files a path names, or why it names none."""
    if path.is_dir():
        return _files_in_folder(path), None
    if path.is_file():
        if path.suffix.lower() in SUPPORTED_EXTENSIONS:
            return [path], None
        return [], _unsupported(path)
    if path.exists():
        return [], "not a regular file or folder"
    return [], "no such file or folder"


def _files_in_folder(folder: Path) -> list[Path]:
    """Supported files anywhere under a folder, sorted; hidden files and folders are skipped."""
    return sorted(
        file
        for file in folder.rglob("*")
        if file.suffix.lower() in SUPPORTED_EXTENSIONS
        and not any(part.startswith(".") for part in file.relative_to(folder).parts)
        and file.is_file()
    )


def _unsupported(path: Path) -> str:
    supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
    return f"unsupported file type {path.suffix or '(no extension)'!r} (supported: {supported})"


def _load_located(path: Path) -> FileLoad:
    """Read one file with its format's reader; an unreadable file is one problem."""
    source = str(path)
    if path.suffix.lower() not in READERS:
        return FileLoad(problems=[LoadProblem(source, None, _unsupported(path))])
    try:
        raw = path.read_bytes()
    except OSError as error:
        return FileLoad(problems=[LoadProblem(source, None, f"cannot read file: {error.strerror or error}")])
    return _load_located_bytes(raw, source)


def _load_located_bytes(raw: bytes, source: str) -> FileLoad:
    """Decode a file's bytes and read them with its format's reader; what cannot be decoded is a problem."""
    path = Path(source)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        return FileLoad(problems=[LoadProblem(source, None, _unsupported(path))])
    try:
        text = decode_transcript(raw).text
    except UndecodableFile as error:
        return FileLoad(problems=[LoadProblem(source, error.line, error.reason)])
    loaded = reader(text, source, path.stem)
    if first_bad_line(text) is not None:
        loaded = _without_undecodable(loaded, text, source)
    if not loaded.located and not loaded.problems:
        loaded.problem(source, None, "no conversations found")
    return loaded


def _without_undecodable(loaded: FileLoad, text: str, source: str) -> FileLoad:
    """Turn every conversation that holds a byte that was not UTF-8 into a problem naming the field."""
    kept = FileLoad(problems=list(loaded.problems))
    for located in loaded.located:
        reason = _invalid_text(located.conversation)
        if reason is None:
            kept.located.append(located)
            continue
        line = located.line
        if located.where != source:
            reason = f"{located.where.removeprefix(source)} {reason}".lstrip()
        elif line is None:
            line = first_bad_line(text)
        kept.problem(source, line, f"{reason} (conversation {shown_id(located.conversation.id)} skipped)")
    return kept


def _invalid_text(conversation: Conversation) -> str | None:
    """The first field of a conversation holding text that is not valid, e.g. ``turns[2].text: not UTF-8 ...``."""
    header = {
        "id": conversation.id,
        "agent_id": conversation.agent_id,
        "started_at": conversation.started_at,
        **conversation.metadata,
    }
    reason = next(value_problems(header), None)
    for turn in conversation.turns:
        if reason is not None:
            break
        fields = {"speaker": turn.speaker, "text": turn.text, **turn.extra}
        reason = next(value_problems(fields, f"turns[{turn.index}]"), None)
    return reason


def _collect(loaded: FileLoad, first_seen: dict[str, str]) -> LoadResult:
    """Keep the first conversation of each id; later ones are problems naming where the id was first seen."""
    result = LoadResult()
    duplicates: list[LoadProblem] = []
    for located in loaded.located:
        conversation = located.conversation
        if conversation.id in first_seen:
            first = first_seen[conversation.id]
            reason = f"duplicate conversation id {shown_id(conversation.id)}, first seen at {first}"
            duplicates.append(LoadProblem(conversation.source or "", located.line, reason))
            continue
        first_seen[conversation.id] = located.where
        if conversation.line is None:
            conversation.line = located.line
        result.conversations.append(conversation)
    result.problems = sorted(loaded.problems + duplicates, key=_problem_order)
    return result


def _problem_order(problem: LoadProblem) -> int:
    return problem.line or 0
