"""Load transcripts from files and folders in every supported format, reporting bad inputs as problems."""

from __future__ import annotations

import codecs
from collections.abc import Callable, Sequence
from pathlib import Path

from auditor.transcripts.csv_files import read_csv
from auditor.transcripts.json_files import read_json, read_jsonl
from auditor.transcripts.plain_text import read_plain_text
from auditor.transcripts.problems import FileLoad, LoadProblem, LoadResult, TranscriptError
from auditor.transcripts.records import conversation_from_mapping
from auditor.transcripts.subtitles import read_srt, read_vtt

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "LoadProblem",
    "LoadResult",
    "TranscriptError",
    "conversation_from_mapping",
    "find_input_files",
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
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        return FileLoad(problems=[LoadProblem(source, None, _unsupported(path))])
    try:
        text = _read_text(path)
    except _UnreadableFile as error:
        return FileLoad(problems=[LoadProblem(source, error.line, error.reason)])
    loaded = reader(text, source, path.stem)
    if not loaded.located and not loaded.problems:
        loaded.problem(source, None, "no conversations found")
    return loaded


class _UnreadableFile(Exception):
    """A file that cannot be read as UTF-8 text."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def _read_text(path: Path) -> str:
    """Read a file as UTF-8 (a BOM is allowed); line endings are left to the format readers."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise _UnreadableFile(f"cannot read file: {error.strerror or error}") from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _UnreadableFile("UTF-16 text is not supported; save the file as UTF-8")
    body = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        line = body[: error.start].count(b"\n") + 1
        offset = error.start + len(raw) - len(body)
        reason = f"not UTF-8 text (byte 0x{body[error.start]:02x} at offset {offset})"
        raise _UnreadableFile(reason, line) from None


def _collect(loaded: FileLoad, first_seen: dict[str, str]) -> LoadResult:
    """Keep the first conversation of each id; later ones are problems naming where the id was first seen."""
    result = LoadResult()
    duplicates: list[LoadProblem] = []
    for located in loaded.located:
        conversation = located.conversation
        if conversation.id in first_seen:
            first = first_seen[conversation.id]
            reason = f"duplicate conversation id {conversation.id}, first seen at {first}"
            duplicates.append(LoadProblem(conversation.source or "", located.line, reason))
            continue
        first_seen[conversation.id] = located.where
        result.conversations.append(conversation)
    result.problems = sorted(loaded.problems + duplicates, key=_problem_order)
    return result


def _problem_order(problem: LoadProblem) -> int:
    return problem.line or 0
