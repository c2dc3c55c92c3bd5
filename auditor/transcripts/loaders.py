"""Load transcripts from files and folders in every supported format, reporting bad inputs as problems."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from auditor.conversation import Conversation
from auditor.transcripts.csv_files import read_csv
from auditor.transcripts.decoding import UndecodableFile, decode_transcript, first_bad_line
from auditor.transcripts.file_ids import ONE_CALL_SUFFIXES, FileIds, default_ids, is_sidecar, read_sidecar
from auditor.transcripts.json_files import is_vendor_json, read_json, read_jsonl
from auditor.transcripts.options import DEFAULT_READ_OPTIONS, ReadOptions
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


def load_file(path: Path, *, options: ReadOptions | None = None) -> LoadResult:
    """Load one file, dispatching on its extension; duplicate ids within the file are problems."""
    loaded = _load_located(Path(path), options=options)
    return _collect(loaded, {})


def load_bytes(
    raw: bytes, source: str, *, options: ReadOptions | None = None
) -> LoadResult:
    """Load one file's content, named ``source`` (its extension picks the format), as ``load_file`` would (no
    sidecar is looked for)."""
    return _collect(_load_located_bytes(raw, source, options=options), {})


def load_inputs(
    inputs: Sequence[str | Path], *, options: ReadOptions | None = None
) -> LoadResult:
    """Load every file under the inputs; a bad file or line never loses the good conversations."""
    files, problems = find_input_files(inputs)
    result = LoadResult(problems=problems)
    first_seen: dict[str, str] = {}
    for file in files:
        file_result = _collect(_load_located(file, options=options), first_seen)
        result.conversations.extend(file_result.conversations)
        result.problems.extend(file_result.problems)
    return result


def _expand(path: Path) -> tuple[list[Path], str | None]:
    """The supported files a path names, or why it names none."""
    if path.is_dir():
        return _files_in_folder(path), None
    if path.is_file():
        if is_sidecar(path):  # call-17.meta.json beside call-17.vtt: ids, not a transcript
            return [], None
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
        and not is_sidecar(file)
    )


def _unsupported(path: Path) -> str:
    supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
    return f"unsupported file type {path.suffix or '(no extension)'!r} (supported: {supported})"


def _load_located(path: Path, *, options: ReadOptions | None = None) -> FileLoad:
    """Read one file with its format's reader; an unreadable file is one problem."""
    source = str(path)
    if path.suffix.lower() not in READERS:
        return FileLoad(problems=[LoadProblem(source, None, _unsupported(path))])
    try:
        raw = path.read_bytes()
    except OSError as error:
        return FileLoad(problems=[LoadProblem(source, None, f"cannot read file: {error.strerror or error}")])
    sidecar = None
    if path.suffix.lower() in ONE_CALL_SUFFIXES:
        try:
            sidecar = read_sidecar(path)
        except TranscriptError as error:
            return FileLoad(problems=[LoadProblem(source, None, f"{error.reason}; file skipped")])
    return _load_located_bytes(raw, source, options=options, sidecar=sidecar)


def _load_located_bytes(
    raw: bytes,
    source: str,
    *,
    options: ReadOptions | None = None,
    sidecar: FileIds | None = None,
) -> FileLoad:
    """Decode a file's bytes and read them with its format's reader; what cannot be decoded is a problem."""
    path = Path(source)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        return FileLoad(problems=[LoadProblem(source, None, _unsupported(path))])
    try:
        text = decode_transcript(raw).text
    except UndecodableFile as error:
        return FileLoad(problems=[LoadProblem(source, error.line, error.reason)])
    if reader is not read_json and reader is not read_jsonl and is_vendor_json(text):
        reader = read_json  # a vendor's JSON saved as .txt (or any other name): recognised by its content
    options = options or DEFAULT_READ_OPTIONS
    loaded = _read(reader, text, source, options, sidecar)
    if first_bad_line(text) is not None:
        loaded = _without_undecodable(loaded, text, source)
    loaded = with_options(loaded, text, source, options)
    if not loaded.located and not loaded.problems:
        loaded.problem(source, None, "no conversations found")
    return loaded


def _read(reader: FormatReader, text: str, source: str, options: ReadOptions, sidecar: FileIds | None) -> FileLoad:
    """Read with the options the format takes (its CSV columns, its id pattern)."""
    stem = Path(source).stem
    if reader is read_csv:
        loaded = read_csv(text, source, stem, columns_mapping=options.csv_columns)
    elif reader is read_vtt or reader is read_srt or reader is read_plain_text:
        try:
            ids = default_ids(stem, sidecar, options.id_pattern)
        except TranscriptError as error:
            return FileLoad(problems=[LoadProblem(source, None, f"{error.reason}; file skipped")])
        one_call = read_vtt if reader is read_vtt else read_srt if reader is read_srt else read_plain_text
        loaded = one_call(text, source, stem, ids=ids)
    else:
        loaded = reader(text, source, stem)
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


def with_options(loaded: FileLoad, text: str, source: str, options: ReadOptions = DEFAULT_READ_OPTIONS) -> FileLoad:
    """Every conversation as the run reads it (``ReadOptions.applied_to``: speakers' roles known, the run's agent);
    one with a speaker label that is not known, mapped nor diarized is a problem naming the label, its turn count
    and the line it is first on."""
    kept = FileLoad(problems=list(loaded.problems))
    for located in loaded.located:
        try:
            kept.located.append(replace(located, conversation=options.applied_to(located.conversation)))
        except TranscriptError as error:
            reason, part = error.reason, located.where.removeprefix(source)
            if part and not part.startswith(":"):  # an item of a JSON list: batch.json[3]
                reason = f"{part} {reason}"
            line = located.line or _label_line(text, located.conversation, error)
            kept.problem(source, line, f"{reason} ({shown_id(located.conversation.id)})")
    return kept


def _label_line(text: str, conversation: Conversation, error: TranscriptError) -> int | None:
    """The first line (1-based) where a label the error names starts a line as a speaker (subtitles, plain text)."""
    labels = [turn.speaker for turn in conversation.turns if repr(turn.speaker) in error.reason]
    if not labels:
        return None
    for number, line in enumerate(text.split("\n"), start=1):
        words = line.strip().lstrip("-\u2013\u2014 ")
        for label in labels:
            if f"<v {label}>" in words or (words.startswith(label) and words[len(label) :][:1] in (":", "\uff1a")):
                return number
    return None


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
