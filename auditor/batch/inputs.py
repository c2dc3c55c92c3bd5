"""Stream conversations from files and folders one at a time, so an audit of any size never holds them all.

The same contract as ``auditor.transcripts.loaders.load_inputs`` (same files, same problems, the first conversation
of each id kept, later ones named as duplicates), with two differences that matter at scale: a ``.jsonl`` file is
read line by line (a 10 GB file costs one line of memory), and in a UTF-8 file a line that is not UTF-8 is one bad
line. A ``.jsonl`` file in another encoding (UTF-16/32, GBK, Big5: sniffed from its first 64 KiB) is read whole,
as load_inputs reads it. Other formats hold one or a few conversations a file and are read a file at a time.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from auditor.conversation import Conversation
from auditor.transcripts.decoding import LEGACY_CHINESE, UndecodableFile, decode_transcript
from auditor.transcripts.json_files import conversation_from_record, decode_jsonl_line
from auditor.transcripts.loaders import _load_located, find_input_files
from auditor.transcripts.options import ReadOptions
from auditor.transcripts.problems import LoadProblem, TranscriptError

_LINE_BITS = 32


class InputStream:
    """Iterate the conversations and problems of some inputs in input order; ``estimated_total`` for progress.

    ``estimated_total`` counts the non-blank lines of every ``.jsonl`` file and one conversation for any other file,
    and is corrected as those files are read.
    """

    def __init__(
        self,
        inputs: Sequence[str | Path],
        *,
        options: ReadOptions | None = None,
    ):
        self.files, self._path_problems = find_input_files(inputs)
        self.options = options or ReadOptions()
        """CSV columns, file-name ids, the run's agent, speaker roles (``--csv-columns``, ``--id-pattern``,
        ``--agent-id``, ``--speaker-map``)."""
        self.estimated_total = sum(_count_lines(file) if _is_jsonl(file) else 1 for file in self.files)
        # id -> where it was first seen, to name duplicate ids across files as load_inputs does
        self._first_seen = SeenIds()

    def __iter__(self) -> Iterator[Conversation | LoadProblem]:
        yield from self._path_problems
        for index, file in enumerate(self.files):
            if not _is_jsonl(file):
                yield from self._whole_file(file)
                continue
            sniffed = _sniff_encoding(file)
            if isinstance(sniffed, UndecodableFile):
                yield LoadProblem(str(file), sniffed.line, sniffed.reason)
            elif sniffed == "utf-8":
                yield from self._jsonl(index, file)
            else:
                yield from self._whole_file(file)

    def _jsonl(self, index: int, path: Path) -> Iterator[Conversation | LoadProblem]:
        source = str(path)
        found = False
        try:
            handle = path.open("rb")
        except OSError as error:
            yield LoadProblem(source, None, f"cannot read file: {error.strerror or error}")
            return
        with handle:
            offset = 0
            encoding = "utf-8"
            seen_utf8 = False  # a line before held non-ASCII UTF-8: the file is UTF-8, a line that is not is bad
            for number, raw in enumerate(handle, start=1):
                start, offset = offset, offset + len(raw)
                if number == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw, start = raw[len(codecs.BOM_UTF8) :], start + len(codecs.BOM_UTF8)
                line = _decoded(raw, encoding)
                if isinstance(line, UnicodeDecodeError) and not seen_utf8:
                    # ASCII so far and Chinese from here (GBK, Big5)? The lines before read the same in it. Asked
                    # once: a UTF-8 file with many bad lines is not re-read from each of them.
                    seen_utf8 = True
                    encoding = _legacy_encoding_from(path, start) or encoding
                    line = _decoded(raw, encoding)
                if isinstance(line, UnicodeDecodeError):
                    name = "UTF-8" if encoding == "utf-8" else encoding.upper()
                    reason = f"not {name} text (byte 0x{raw[line.start]:02x} at offset {start + line.start})"
                    found = True
                    yield LoadProblem(source, number, reason)
                    continue
                seen_utf8 = seen_utf8 or (encoding == "utf-8" and not raw.isascii())
                if not line.strip():
                    continue
                found = True
                try:
                    conversation = conversation_from_record(
                        decode_jsonl_line(line), source=source, default_id=f"{path.stem}-{number}"
                    )
                    conversation = self.options.applied_to(conversation)
                except TranscriptError as error:
                    yield LoadProblem(source, number, error.reason)
                    continue
                conversation.line = number
                duplicate = self._duplicate(conversation, number, index << _LINE_BITS | number)
                yield duplicate or conversation
        if not found:
            yield LoadProblem(source, None, "no conversations found")

    def _whole_file(self, path: Path) -> Iterator[Conversation | LoadProblem]:
        loaded = _load_located(path, options=self.options)
        self.estimated_total += len(loaded.located) - 1
        kept: list[Conversation] = []
        problems = list(loaded.problems)
        for located in loaded.located:
            if located.conversation.line is None:
                located.conversation.line = located.line
            duplicate = self._duplicate(located.conversation, located.line, located.where)
            if duplicate is None:
                kept.append(located.conversation)
            else:
                problems.append(duplicate)
        yield from sorted(problems, key=lambda problem: problem.line or 0)
        yield from kept

    def _duplicate(self, conversation: Conversation, line: int | None, where: int | str) -> LoadProblem | None:
        """A problem when the id was seen before (naming where), else None after remembering where it is."""
        first = self._first_seen.get(conversation.id)
        if first is None:
            self._first_seen.add(conversation.id, where)
            return None
        if isinstance(first, int):
            first = f"{self.files[first >> _LINE_BITS]}:{first & ((1 << _LINE_BITS) - 1)}"
        reason = f"duplicate conversation id {conversation.id}, first seen at {first}"
        return LoadProblem(conversation.source or "", line, reason)


class SeenIds:
    """Where each conversation id was first seen, in about 16 bytes an id however many there are.

    A dict of id -> place costs about 130 bytes an id (measured: 12.9 MB for 100,000 short ids), the largest thing
    a batch audit keeps per conversation. Here the newest ids are in a dict; every ``FREEZE_AT`` ids placed by a
    JSON Lines line (``file index << 32 | line``) move into a block of two arrays sorted by a 64-bit BLAKE2b hash of
    the id, searched by bisection (beyond ``MAX_BLOCKS`` blocks they are merged into one). Ids placed by text (a
    conversation inside a .json, .csv or text file, which is held in memory whole anyway) stay in the dict. Two
    different ids share a hash with probability about n**2 / 2**65 (3e-8 for a million ids); such an id would be
    reported as a duplicate of the other.
    """

    FREEZE_AT = 16_384
    MAX_BLOCKS = 8
    """More blocks than this are merged into one, so a lookup bisects at most a few arrays at any size."""

    def __init__(self) -> None:
        self._recent: dict[str, int | str] = {}
        self._lines = 0
        self._blocks: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return len(self._recent) + sum(len(hashes) for hashes, _ in self._blocks)

    def get(self, conversation_id: str) -> int | str | None:
        found = self._recent.get(conversation_id)
        if found is not None or not self._blocks:
            return found
        key = _id_hash(conversation_id)
        for hashes, places in self._blocks:
            at = int(np.searchsorted(hashes, key))
            if at < len(hashes) and hashes[at] == key:
                return int(places[at])
        return None

    def add(self, conversation_id: str, where: int | str) -> None:
        self._recent[conversation_id] = where
        if isinstance(where, int):
            self._lines += 1
            if self._lines >= self.FREEZE_AT:
                self._freeze()

    def _freeze(self) -> None:
        lines = [(_id_hash(key), where) for key, where in self._recent.items() if isinstance(where, int)]
        hashes = np.fromiter((h for h, _ in lines), dtype=np.uint64, count=len(lines))
        places = np.fromiter((w for _, w in lines), dtype=np.int64, count=len(lines))
        if len(self._blocks) == self.MAX_BLOCKS:  # merge everything into one block with the new ids
            hashes = np.concatenate([hashes, *(block[0] for block in self._blocks)])
            places = np.concatenate([places, *(block[1] for block in self._blocks)])
            self._blocks = []
        order = np.argsort(hashes, kind="stable")
        self._blocks.append((hashes[order], places[order]))
        self._recent = {key: where for key, where in self._recent.items() if not isinstance(where, int)}
        self._lines = 0


def _id_hash(conversation_id: str) -> np.uint64:
    digest = hashlib.blake2b(conversation_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def _is_jsonl(path: Path) -> bool:
    return path.suffix.lower() == ".jsonl"


def _count_lines(path: Path) -> int:
    """Non-blank lines of a file (0 when it cannot be read: reading it will name the problem)."""
    try:
        with path.open("rb") as handle:
            return sum(1 for line in handle if line.strip())
    except OSError:
        return 0


def _decoded(raw: bytes, encoding: str) -> str | UnicodeDecodeError:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        return error


def _sniff_encoding(path: Path, sniff: int = 65_536) -> str | UndecodableFile:
    """How to read a JSON Lines file, from its first 64 KiB: ``utf-8`` (line by line), another encoding (UTF-16/32
    with or without a BOM, GBK, Big5: then it is decoded whole, as load_inputs does), or the file's one problem when it
    is binary data."""
    try:
        with path.open("rb") as handle:
            head = handle.read(sniff)
    except OSError:
        return "utf-8"  # reading it line by line names the problem
    if len(head) == sniff and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]  # never judge a character cut in two
    try:
        return decode_transcript(head).encoding
    except UndecodableFile as error:
        return error


def _legacy_encoding_from(path: Path, offset: int, sniff: int = 65_536) -> str | None:
    """The legacy Chinese encoding (GBK, Big5) the file reads as from ``offset`` on, when the text from there is
    not UTF-8 but reads as common Chinese in one of them (the whole-file loader's rule); else None."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            sample = handle.read(sniff)
    except OSError:
        return None
    if len(sample) == sniff and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]
    try:
        encoding = decode_transcript(sample).encoding
    except UndecodableFile:
        return None
    return encoding if encoding in LEGACY_CHINESE else None
