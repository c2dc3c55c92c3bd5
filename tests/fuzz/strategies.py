"""Hypothesis strategies for hostile transcript files and SOP files, and the checks every load must pass.

Shared by the property tests (small budget) and ``bench/fuzz_inputs.py`` (100,000+ inputs). A transcript case is
the bytes of one file (good or wild records in a format and an encoding, then damaged by ``mutate``); an SOP case is
YAML text (``mutate_yaml``). ``contract_violations`` and ``sop_violations`` list what a load did wrong that a user
would notice (a crash is the caller's to catch); ``stress_files`` and ``hostile_sops`` are fixed worst cases.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from random import Random
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from auditor.conversation import Role
from auditor.transcripts.loaders import LoadResult
from auditor.transcripts.roles import known_role

REPO = Path(__file__).resolve().parents[2]
EXAMPLES_VARIABLE = "AUDITOR_FUZZ_EXAMPLES"


def fuzz_settings(examples: int) -> settings:
    """Hypothesis settings for the property tests: a small fixed budget (derandomized, so CI is repeatable), or
    ``AUDITOR_FUZZ_EXAMPLES=5000 pytest tests/fuzz`` for a deeper, random search."""
    deeper = os.environ.get(EXAMPLES_VARIABLE)
    return settings(
        max_examples=int(deeper) if deeper else examples,
        derandomize=not deeper,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


FORMATS = ("jsonl", "json", "csv", "txt", "vtt", "srt")
MAX_REASON_CHARS = 2_000
"""A problem's reason longer than this floods the report (a 10 MB bad field must not be echoed)."""

AGENT_NAMES = ["agent", "Agent", "AGENT", "rep", "staff", "客服", "坐席", "專員", "operator"]
CUSTOMER_NAMES = ["customer", "Customer", "caller", "user", "client", "客户", "客戶", "顾客", "用户"]
EVENT_NAMES = ["system", "action", "bot", "note"]
DIARIZED_NAMES = ["Speaker 1", "Speaker 2", "spk_0", "spk_1", "说话人1", "A", "B", "Agnet"]
"""Diarization labels whose roles are inferred, and a typo that must be named, never dropped (issue 20)."""
ODD_TEXTS = [
    "",
    " ",
    "\t",
    "\x00",
    "\x00\x01\x02",
    "\r",
    "\r\n",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\ufffd",
    '"',
    '""',
    '"quoted, with comma"',
    "-->",
    "00:00:01.000 --> 00:00:02.000",
    "WEBVTT",
    "Agent:",
    "客服：",
    "# id: x",
    "<v Agent>hi</v>",
    "&amp;&lt;",
    "\\",
    "\\u0000",
    "{",
    "[",
    "]]",
    "😀👍🏽",
    "e\u0301",
    "\U0010ffff",
    "a" * 300,
]


@cache
def corpus_sentences() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Real turns from the project's own corpora: (English, Chinese simplified and traditional)."""
    english: list[str] = []
    chinese: list[str] = []
    for folder, bucket in (("en", english), ("zh-Hans", chinese), ("zh-Hant", chinese)):
        for path in sorted((REPO / "corpora" / folder).glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    bucket.extend(turn["text"] for turn in json.loads(line)["turns"] if turn["text"].strip())
    return tuple(dict.fromkeys(english)), tuple(dict.fromkeys(chinese))


def sentences() -> st.SearchStrategy[str]:
    english, chinese = corpus_sentences()
    return st.sampled_from(english) | st.sampled_from(chinese)


def chinese_sentences() -> st.SearchStrategy[str]:
    return st.sampled_from(corpus_sentences()[1])


any_text = st.one_of(
    sentences(),
    st.sampled_from(ODD_TEXTS),
    st.text(st.characters(codec="utf-8"), max_size=60),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=20),
)
speakers = st.one_of(
    st.sampled_from(AGENT_NAMES + CUSTOMER_NAMES + EVENT_NAMES + DIARIZED_NAMES),
    st.text(st.characters(codec="utf-8"), max_size=12),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
)
seconds = st.one_of(
    st.none(),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.sampled_from([-1, "1.5", "", "soon", float("nan"), float("inf"), 10**400, True, [1]]),
)


@st.composite
def good_turns(draw: st.DrawFn, text: st.SearchStrategy[str] | None = None) -> list[dict[str, Any]]:
    """Alternating agent/customer turns with clean single-line text and increasing times."""
    count = draw(st.integers(min_value=1, max_value=6))
    clock = 0.0
    turns = []
    for index in range(count):
        names = AGENT_NAMES if index % 2 == 0 else CUSTOMER_NAMES
        start = clock + draw(st.integers(min_value=0, max_value=3))
        end = start + draw(st.integers(min_value=1, max_value=9))
        clock = end
        spoken = draw(text if text is not None else sentences())
        turns.append({"speaker": draw(st.sampled_from(names)), "text": spoken, "start": start, "end": end})
    return turns


@st.composite
def good_records(draw: st.DrawFn, text: st.SearchStrategy[str] | None = None) -> dict[str, Any]:
    """A contract record that must load (an id is added by the caller, so ids are unique)."""
    record: dict[str, Any] = {
        "agent_id": draw(st.sampled_from(["a-1", "a-17", "王芳"])),
        "turns": draw(good_turns(text)),
    }
    if draw(st.booleans()):
        record["lang"] = draw(st.sampled_from(["en", "zh", "zh-Hant", None]))
    return record


@st.composite
def wild_records(draw: st.DrawFn) -> Any:
    """A record that may be anything: right shape with wrong values, wrong types, extra fields, deep values."""
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        return draw(json_values)
    turns = draw(
        st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "speaker": speakers | json_scalars,
                        "text": any_text | json_scalars,
                        "start": seconds,
                        "end": seconds,
                        "steps": st.lists(st.text(max_size=8), max_size=3) | json_scalars,
                        "extra": json_values,
                    },
                )
                | json_scalars,
                max_size=5,
            ),
            json_values,
        )
    )
    record = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "id": st.text(max_size=10) | json_scalars,
                "agent_id": st.text(max_size=10) | json_scalars,
                "lang": st.sampled_from(["en", "zh", "fr", "", "zh-Hant"]) | json_scalars,
                "started_at": st.text(max_size=10) | json_scalars,
                "channel": json_values,
            },
        )
    )
    record["turns"] = turns
    return record


def render(fmt: str, records: list[dict[str, Any]]) -> str:
    """Write records in a transcript format (txt, vtt and srt hold the first record only)."""
    if fmt == "jsonl":
        return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    if fmt == "json":
        return json.dumps(records if len(records) != 1 else records[0], ensure_ascii=False, indent=1)
    if fmt == "csv":
        return _csv(records)
    record = records[0]
    if fmt == "txt":
        header = f"# id: {record['id']}\n# agent_id: {record.get('agent_id') or ''}\n\n"
        return header + "".join(f"{turn['speaker']}: {turn['text']}\n" for turn in record["turns"])
    cues = []
    for number, turn in enumerate(record["turns"], start=1):
        start, end = _timestamp(turn["start"], fmt), _timestamp(turn["end"], fmt)
        words = f"<v {turn['speaker']}>{turn['text']}" if fmt == "vtt" else f"{turn['speaker']}: {turn['text']}"
        cues.append(f"{number}\n{start} --> {end}\n{words}\n")
    return ("WEBVTT\n\n" if fmt == "vtt" else "") + "\n".join(cues)


def _csv(records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["conversation_id", "agent_id", "speaker", "text", "start", "end"])
    for record in records:
        for turn in record["turns"]:
            writer.writerow(
                [record["id"], record.get("agent_id") or "", turn["speaker"], turn["text"], turn["start"], turn["end"]]
            )
    return buffer.getvalue()


def _timestamp(seconds: float, fmt: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, millis = divmod(rest, 1000)
    separator = "." if fmt == "vtt" else ","
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{separator}{millis:03d}"


ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "gb18030", "cp950")
"""``utf-16``/``utf-32`` write a BOM; ``utf-16-le``/``-be`` do not."""


def encode(text: str, encoding: str) -> bytes:
    """Encode like a user's editor would; characters Big5 lacks become '?'."""
    return text.encode(encoding, errors="replace")


MUTATIONS = (
    "none",
    "truncate",
    "insert junk bytes",
    "delete a range",
    "double a line",
    "insert NUL, quote or separator",
    "flip a bit",
    "replace with random bytes",
    "insert deep brackets",
    "insert a 6,000-digit number",
    "change line endings",
    "insert random text",
    "insert byte-order marks",
)


def mutate(raw: bytes, rng: Random) -> tuple[str, bytes]:
    """Damage a file the ways files get damaged (truncation, junk, lost or doubled lines...); returns (how, bytes)."""
    kind = rng.randrange(len(MUTATIONS))
    at = rng.randint(0, len(raw))
    if kind == 1:
        raw = raw[:at]
    elif kind == 2:
        raw = raw[:at] + rng.randbytes(rng.randint(1, 40)) + raw[at:]
    elif kind == 3:
        raw = raw[:at] + raw[at + rng.randint(1, 80) :]
    elif kind == 4:
        lines = raw.split(b"\n")
        index = rng.randrange(len(lines))
        raw = b"\n".join(lines[: index + 1] + lines[index:])
    elif kind == 5:
        raw = raw[:at] + rng.choice([b"\x00", b'"', b"\r", b"\n", b",", b":", b"-->", b"\xff\xfe"]) + raw[at:]
    elif kind == 6 and raw:
        position = min(at, len(raw) - 1)
        raw = raw[:position] + bytes([raw[position] ^ (1 << rng.randrange(8))]) + raw[position + 1 :]
    elif kind == 7:
        raw = rng.randbytes(rng.randint(0, 400))
    elif kind == 8:
        depth = rng.randint(1, 3000)
        raw = raw[:at] + rng.choice([b"[", b'{"a":']) * depth + b"]" * rng.randint(0, depth) + raw[at:]
    elif kind == 9:
        if rng.random() < 0.5:  # at the start of a line, where subtitle timings and CSV cells begin
            at = raw.find(b"\n", at) + 1
        raw = raw[:at] + b"9" * rng.randint(300, 6000) + raw[at:]
    elif kind == 10:
        raw = raw.replace(b"\n", rng.choice([b"\r", b"\r\n", b"\n\n", b"\x00\n", b"\n\xef\xbb\xbf"]))
    elif kind == 11:
        junk = "".join(
            chr(rng.choice([rng.randint(32, 126), rng.randint(0x80, 0x2FFF), rng.randint(0x4E00, 0x9FFF)]))
            for _ in range(rng.randint(1, 30))
        )
        raw = raw[:at] + junk.encode("utf-8") + raw[at:]
    elif kind == 12:
        raw = codecs.BOM_UTF8 + raw[:at] + codecs.BOM_UTF16_LE + raw[at:]
    return MUTATIONS[kind], raw


@st.composite
def transcript_bases(draw: st.DrawFn, fmt: str) -> bytes:
    """The bytes of one transcript file before damage: good records or wild ones, in one of many encodings."""
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        text = _render_wild(fmt, draw(st.lists(wild_records(), min_size=1, max_size=4)))
    else:
        count = draw(st.integers(min_value=1, max_value=4))
        text = render(fmt, [draw(good_records()) | {"id": f"c-{index}"} for index in range(count)])
    return encode(text, draw(st.sampled_from(ENCODINGS)))


def transcript_files(fmt: str) -> st.SearchStrategy[bytes]:
    """The bytes of one hostile (or good) transcript file in a format."""
    return st.tuples(transcript_bases(fmt), st.randoms(use_true_random=False)).map(lambda pair: mutate(*pair)[1])


def _render_wild(fmt: str, records: list[Any]) -> str:
    """Write arbitrary records as well as a format allows (JSON as is; others from whatever looks like a turn)."""
    if fmt == "jsonl":
        return "".join(json.dumps(record, ensure_ascii=False, allow_nan=True) + "\n" for record in records)
    if fmt == "json":
        return json.dumps(records, ensure_ascii=False)
    rows: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        turns = record.get("turns") if isinstance(record, dict) else None
        turns = [turn for turn in turns if isinstance(turn, dict)] if isinstance(turns, list) else []
        rows.append(
            {
                "id": record.get("id", f"w-{index}") if isinstance(record, dict) else index,
                "turns": [
                    {
                        "speaker": str(turn.get("speaker", "")),
                        "text": str(turn.get("text", "")),
                        "start": turn.get("start") if isinstance(turn.get("start"), int | float) else 0,
                        "end": turn.get("end") if isinstance(turn.get("end"), int | float) else 1,
                    }
                    for turn in turns
                ]
                or [{"speaker": "agent", "text": "hi", "start": 0, "end": 1}],
            }
        )
    try:
        return render(fmt, rows)
    except (ValueError, OverflowError):  # a NaN or huge time cannot be written as a subtitle timestamp
        return render(fmt, [{"id": "w", "turns": [{"speaker": "agent", "text": "hi", "start": 0, "end": 1}]}])


# --- checks every load must pass ---------------------------------------------------------------------------


def contract_violations(result: LoadResult, raw: bytes, source: str) -> list[str]:
    """What a load did that breaks the contract: text that cannot be written out, a problem that names nothing."""
    violations = []
    line_count = raw.count(b"\n") + raw.count(b"\r") + 2
    ids = [conversation.id for conversation in result.conversations]
    if len(ids) != len(set(ids)):
        violations.append(f"duplicate ids kept: {ids}")
    for conversation in result.conversations:
        if not conversation.turns:
            violations.append(f"{conversation.id}: loaded with no turns")
        if [turn.index for turn in conversation.turns] != list(range(len(conversation.turns))):
            violations.append(f"{conversation.id}: turn indexes are not their positions")
        silent = [t.speaker for t in conversation.turns if t.role is Role.EVENT and known_role(t.speaker) is None]
        if silent:  # a turn neither audited (agent / customer) nor a known event, nor named in a problem
            violations.append(f"{conversation.id}: turns dropped without a message: speakers {silent[:3]!r}"[:300])
        try:
            json.dumps(_as_result(conversation), ensure_ascii=False).encode("utf-8")
        except (ValueError, RecursionError, UnicodeEncodeError) as error:
            violations.append(f"{conversation.id}: cannot be written out: {type(error).__name__}: {error}"[:300])
    for problem in result.problems:
        if problem.path != source:
            violations.append(f"problem names {problem.path!r}, not the file")
        if not problem.reason or len(problem.reason) > MAX_REASON_CHARS:
            violations.append(f"problem reason empty or too long ({len(problem.reason)} characters)")
        if problem.line is not None and not 1 <= problem.line <= line_count:
            violations.append(f"problem line {problem.line} outside the file ({line_count} lines)")
        try:
            str(problem).encode("utf-8")
        except UnicodeEncodeError:
            violations.append(f"problem cannot be printed: {ascii(str(problem))[:200]}")
    if not result.conversations and not result.problems:
        violations.append("nothing loaded and no problem reported")
    return violations


def _as_result(conversation: Any) -> dict[str, Any]:
    """What the auditor writes of a conversation: its ids, metadata and every turn's text and extra fields."""
    return {
        "conversation_id": conversation.id,
        "agent_id": conversation.agent_id,
        "metadata": conversation.metadata,
        "turns": [{"speaker": turn.speaker, "text": turn.text, **turn.extra} for turn in conversation.turns],
    }


# --- SOP files ---------------------------------------------------------------------------------------------

step_ids = st.one_of(
    st.sampled_from(["greet", "verify_identity", "apologize", "close", "Bad-Id", ""]), st.text(max_size=8)
)
yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**6), max_value=10**6), st.floats(), st.text(max_size=30)
)


@st.composite
def sop_mappings(draw: st.DrawFn) -> dict[str, Any]:
    """An SOP as data: mostly valid fields, some wrong in type or value, some unknown."""
    ids = draw(st.lists(step_ids, min_size=0, max_size=5))
    steps: list[Any] = []
    for step_id in ids:
        step = draw(
            st.fixed_dictionaries(
                {"id": st.just(step_id), "name": st.sampled_from(["Greet", "问候", ""]) | yaml_scalars},
                optional={
                    "description": any_text | yaml_scalars,
                    "examples": st.lists(sentences() | yaml_scalars, max_size=3) | yaml_scalars,
                    "keywords": st.lists(st.text(max_size=10), max_size=3) | yaml_scalars,
                    "speaker": st.sampled_from(["agent", "customer", "robot"]) | yaml_scalars,
                    "required": yaml_scalars,
                    "critical": yaml_scalars,
                    "weight": yaml_scalars,
                    "before": st.lists(step_ids | yaml_scalars, max_size=3) | yaml_scalars,
                    "within_first_turns": yaml_scalars,
                    "within_first_seconds": yaml_scalars,
                    "within_last_turns": yaml_scalars,
                    "when": st.sampled_from(["customer_complaint", "customer_identity_needed", "raining"]),
                    "detector": st.sampled_from(["greeting", "nope"]) | yaml_scalars,
                    "notes": st.lists(st.text(max_size=10), max_size=2) | yaml_scalars,
                    "translations": st.dictionaries(st.sampled_from(["zh", "en"]), json_values, max_size=2),
                    "unknown_field": yaml_scalars,
                },
            )
        )
        steps.append(step)
    if draw(st.booleans()):
        steps.append(draw(json_values))
    return draw(
        st.fixed_dictionaries(
            {"id": st.sampled_from(["complaint-handling", "x", "Bad Id", ""]) | yaml_scalars, "steps": st.just(steps)},
            optional={
                "name": st.sampled_from(["Complaint handling", "投诉处理"]) | yaml_scalars,
                "version": yaml_scalars,
                "languages": st.lists(st.sampled_from(["en", "zh"]), max_size=2) | yaml_scalars,
                "description": any_text,
                "owner": yaml_scalars,
                "notes": st.lists(st.text(max_size=10), max_size=2) | yaml_scalars,
                "review_interval_days": yaml_scalars,
                "pass_score": yaml_scalars,
                "translations": st.dictionaries(st.sampled_from(["zh", "en"]), json_values, max_size=2),
            },
        )
    )


def _builtin_sop_texts() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted((REPO / "auditor" / "rules").glob("*.yaml"))]


YAML_JUNK = (
    ":",
    "- ",
    "[",
    "{",
    "&a ",
    "*a",
    "!!binary ",
    "!!python/object:os.system ",
    "\t",
    "%YAML 1.1\n",
    "---\n",
    "? ",
    "|",
    ">",
    "'",
    '"',
    "\x00",
    "\x85",
    "\ufeff",
    "<<: ",
    "!!set ",
    "~",
    ".nan",
    "0x1F",
    "!!timestamp ",
    "!!int ",
    "!!float ",
    "!!bool ",
)
"""YAML junk; the explicit tags are ones PyYAML's safe loader answers with ValueError, KeyError or AttributeError
instead of a YAMLError on a value it cannot build (``!!int x``), which the SOP parser must catch."""


def mutate_yaml(text: str, rng: Random, junk: tuple[str, ...] = YAML_JUNK) -> str:
    """Damage SOP YAML: truncate it, insert YAML syntax (``junk``) or random text, re-indent a line, or replace it."""
    kind = rng.randrange(6)
    at = rng.randint(0, len(text))
    if kind == 1:
        return text[:at]
    if kind == 2:
        return text[:at] + rng.choice(junk) + text[at:]
    if kind == 3:
        return text[:at] + "".join(chr(rng.randint(1, 0x9FFF)) for _ in range(rng.randint(1, 20))) + text[at:]
    if kind == 4:
        lines = text.split("\n")
        index = rng.randrange(len(lines))
        indent = rng.choice(["", " ", "  ", "    ", "\t"])
        return "\n".join([*lines[:index], indent + lines[index].lstrip(), *lines[index + 1 :]])
    if kind == 5:
        return "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(0, 200)))
    return text


def sop_bases() -> st.SearchStrategy[str]:
    """SOP YAML before damage: generated SOPs (some fields wrong) and the built-in SOPs."""
    generated = sop_mappings().map(lambda sop: yaml.safe_dump(sop, allow_unicode=True, sort_keys=False))
    return st.one_of(generated, st.sampled_from(_builtin_sop_texts()))


def sop_texts() -> st.SearchStrategy[str]:
    """SOP YAML text: generated SOPs and built-in ones, damaged by truncation, inserted YAML syntax and junk."""
    return st.tuples(sop_bases(), st.randoms(use_true_random=False)).map(lambda pair: mutate_yaml(*pair))


@dataclass(frozen=True)
class HostileSop:
    """Hostile SOP YAML: a valid SOP (``valid``) or a SopError with short messages is right; anything else is not."""

    name: str
    text: str
    valid: bool = False


def alias_bomb(levels: int) -> str:
    """SOP YAML whose 'before' list is a billion-laughs alias bomb: 9 ** levels entries from a few lines."""
    anchors = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    anchors += [f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]" for level in range(1, levels)]
    return "\n".join(anchors) + f"\nid: x\nname: X\nsteps:\n  - id: s\n    name: S\n    before: *a{levels - 1}\n"


def hostile_sops(chain: int = 3000) -> list[HostileSop]:
    """YAML that has crashed the SOP parser: bad dates, over-long numbers, bad explicit tags, deep nesting, long
    ``before`` chains, alias bombs."""
    base = "id: x\nname: X\nsteps:\n  - id: a\n    name: A\n"
    steps = "".join(f"  - {{id: s{i}, name: S, before: [s{i + 1}]}}\n" for i in range(chain))
    return [
        HostileSop("impossible date (last_reviewed: 2024-13-45)", base + "last_reviewed: 2024-13-45\n"),
        HostileSop("impossible date as a step id", "id: x\nname: X\nsteps:\n  - id: 2001-02-30\n    name: A\n"),
        HostileSop("integer of 5,000 digits", base + "review_interval_days: " + "9" * 5000 + "\n"),
        HostileSop("explicit tag on a value it cannot be (!!int x)", base + "version: !!int x\n"),
        HostileSop("explicit tag on a value it cannot be (!!bool x)", base + "    required: !!bool x\n"),
        HostileSop("explicit tag on a value it cannot be (!!timestamp x)", base + "last_reviewed: !!timestamp x\n"),
        HostileSop("explicit tag on a value it cannot be (!!int on nothing)", base + "version: !!int\n"),
        HostileSop("list nested 5,000 deep", "id: x\nname: " + "[" * 5000 + "]" * 5000 + "\nsteps: []\n"),
        HostileSop("mapping nested 3,000 deep", "id: x\nname: X\nsteps: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n"),
        HostileSop(
            f"'before' chain of {chain:,} steps (a valid SOP)",
            "id: x\nname: X\nsteps:\n" + steps + f"  - {{id: s{chain}, name: S}}\n",
            valid=True,
        ),
        HostileSop("alias bomb in 'before' (9 ** 5 entries; 9 ** 9 took 2 minutes and 10 GB)", alias_bomb(5)),
    ]


def sop_violations(error: Any, source: str) -> list[str]:
    """What an SOP error did wrong: a problem naming another file, an empty or flooding message."""
    violations = []
    for problem in error.problems:
        if problem.path != source:
            violations.append(f"SOP problem names {problem.path!r}, not the file")
        if not problem.message or len(problem.message) > MAX_REASON_CHARS:
            violations.append(f"SOP problem message empty or too long ({len(problem.message):,} characters)")
        try:
            str(problem).encode("utf-8")
        except UnicodeEncodeError:
            violations.append(f"SOP problem cannot be printed: {ascii(str(problem))[:200]}")
    return violations


# --- fixed stress files --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StressFile:
    """One fixed hostile file and what a user must get from it."""

    name: str
    source: str
    raw: bytes
    expected: Callable[[LoadResult], bool]


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def _hello(conversation_id: str, text: str = "Hello, thanks for calling.") -> dict[str, Any]:
    return {
        "id": conversation_id,
        "turns": [{"speaker": "agent", "text": text}, {"speaker": "customer", "text": "Hi."}],
    }


def _shape(conversations: int, problems: int, turns: int | None = None) -> Callable[[LoadResult], bool]:
    def check(result: LoadResult) -> bool:
        loaded_turns = sum(len(conversation.turns) for conversation in result.conversations)
        return (
            len(result.conversations) == conversations
            and len(result.problems) == problems
            and (turns is None or loaded_turns == turns)
        )

    return check


def stress_files(lines: int = 200_000, turn_chars: int = 10_000_000) -> list[StressFile]:
    """Huge, deep, binary and mixed files; ``lines`` scales the long ones (the tests use fewer)."""
    rng = Random(0)
    big = "我" * (turn_chars // 3) if turn_chars >= 3 else "x"
    big_record = {"id": "big", "turns": [{"speaker": "agent", "text": big, "start": 0, "end": 1}]}
    files = [
        StressFile(
            f"{turn_chars / 1e6:g} MB single turn, .{fmt}",
            f"big.{fmt}",
            render(fmt, [big_record]).encode(),
            _shape(1, 0, 1),
        )
        for fmt in FORMATS
    ]
    cues = lines // 2
    files += [
        StressFile(
            f".jsonl, {lines:,} lines",
            "many.jsonl",
            "".join(_line(_hello(f"c-{index}")) for index in range(lines)).encode(),
            _shape(lines, 0),
        ),
        StressFile(
            f".csv, {lines:,} rows",
            "many.csv",
            (
                "conversation_id,speaker,text\n" + "".join(f"c-{i // 4},agent,hello {i}\n" for i in range(lines))
            ).encode(),
            _shape(lines // 4, 0, lines),
        ),
        StressFile(
            f".txt, {lines * 5:,} lines in one conversation",
            "long.txt",
            "".join("Agent: hello there\n" if i % 2 == 0 else "Customer: ok\n" for i in range(lines * 5)).encode(),
            _shape(1, 0, lines * 5),
        ),
        StressFile(
            f".srt, {cues:,} cues",
            "long.srt",
            "".join(
                f"{i + 1}\n{_timestamp(i, 'srt')} --> {_timestamp(i + 0.5, 'srt')}\nAgent: hi {i}\n\n"
                for i in range(cues)
            ).encode(),
            _shape(1, 0, cues),
        ),
        StressFile(
            f".vtt, {cues:,} cues",
            "long.vtt",
            (
                "WEBVTT\n\n"
                + "".join(
                    f"{_timestamp(i, 'vtt')} --> {_timestamp(i + 0.5, 'vtt')}\n<v Agent>hi {i}\n\n" for i in range(cues)
                )
            ).encode(),
            _shape(1, 0, cues),
        ),
        StressFile(
            ".jsonl, a 100,000-deep line between two good lines",
            "deep.jsonl",
            (_line(_hello("c-1")) + "[" * 100_000 + "\n" + _line(_hello("c-3"))).encode(),
            _shape(2, 1),
        ),
        StressFile(".json, 100,000-deep arrays", "deep.json", b"[" * 100_000 + b"]" * 100_000, _shape(0, 1)),
        StressFile(".json, 100,000-deep objects", "deep-objects.json", b'{"a":' * 100_000, _shape(0, 1)),
        StressFile(
            ".jsonl, a field nested 500 deep (JSON can read it, the auditor refuses it)",
            "nested.jsonl",
            (_line(_hello("c-1") | {"tags": json.loads("[" * 500 + "]" * 500)}) + _line(_hello("c-2"))).encode(),
            _shape(1, 1),
        ),
        StressFile(
            ".jsonl, 1,000 lines reusing 10 ids",
            "duplicates.jsonl",
            "".join(_line(_hello(f"c-{index % 10}")) for index in range(1_000)).encode(),
            _shape(10, 990),
        ),
        StressFile(
            ".jsonl, one GBK line among UTF-8 lines",
            "mixed.jsonl",
            _line(_hello("c-1", "您好")).encode()
            + _line(_hello("c-2", "请问有什么可以帮您")).encode("gb18030")
            + _line(_hello("c-3", "再见")).encode(),
            _shape(2, 1),
        ),
        StressFile(
            ".json list cut off in its third item",
            "truncated.json",
            (listing := json.dumps([_hello(f"c-{index}") for index in range(5)]))[
                : listing.index('"c-2"') + 30
            ].encode(),
            _shape(2, 1),
        ),
        StressFile(
            ".csv, an unclosed quote in the second of four conversations",
            "quotes.csv",
            (
                b'conversation_id,speaker,text\nc-1,agent,hi\nc-2,agent,"never closed\nc-3,agent,hello\n'
                b'c-3,customer,"a ""quoted"" word, and a comma"\nc-4,agent,bye\x00\n'
            ),
            _shape(3, 1),
        ),
    ]
    for fmt in ("jsonl", "csv", "txt", "srt", "vtt"):
        files.append(StressFile(f"1 MB of random bytes, .{fmt}", f"junk.{fmt}", rng.randbytes(1_000_000), _shape(0, 1)))
    gzip_like = bytes.fromhex("1f8b0800000000000003") + rng.randbytes(5_000)
    files.append(StressFile("gzip data named .jsonl", "archive.jsonl", gzip_like, _shape(0, 1)))
    return files


# --- files mixing good conversations with broken lines (nothing good may be lost) ----------------------------

HOSTILE_IDS = (
    "[/bold]",
    "[/]",
    "[link=http://x]",
    "[bold red]",
    "\x1b[31m",
    "\x1b]8;;http://x\x1b\\",
    "=cmd|' /C calc'!A0",
    "+1-2",
    "-1",
    "@SUM(A1)",
    "\u202eevil",
    "a\tb",
    "<script>",
    "c-1",
)
"""Ids a console or a spreadsheet would read as markup, escapes or formulas (issue 17)."""
LONG_TURN_RANGE = (10_001, 60_000)
"""A long turn (over the API's 10,000 characters): some are over the cap the fuzzer's audits use, some under."""


@dataclass(frozen=True)
class MixedFile:
    """A JSON Lines file of good conversations and broken lines; ``good`` maps each good id to its line and turns."""

    raw: bytes
    good: dict[str, tuple[int, int]]
    longest_turn: dict[str, int]


@st.composite
def mixed_files(draw: st.DrawFn) -> MixedFile:
    """Good conversations (hostile ids, sometimes a long turn) interleaved with broken lines, in UTF-8."""
    lines: list[bytes] = []
    good: dict[str, tuple[int, int]] = {}
    longest: dict[str, int] = {}
    for index in range(draw(st.integers(min_value=1, max_value=8))):
        for _ in range(draw(st.integers(min_value=0, max_value=2))):
            lines.append(draw(broken_lines))
        record = draw(good_records())
        conversation_id = f"{draw(st.sampled_from(HOSTILE_IDS))}{index}"
        record = {"id": conversation_id, "agent_id": draw(st.sampled_from(HOSTILE_IDS)), **record}
        record.pop("lang", None)
        if draw(st.integers(min_value=0, max_value=15)) == 0:
            size = draw(st.integers(*LONG_TURN_RANGE))
            turn = record["turns"][0]
            turn["text"] = (turn["text"] + " ") * (size // (len(turn["text"]) + 1) + 1)
        lines.append(json.dumps(record, ensure_ascii=draw(st.booleans())).encode("utf-8"))
        good[conversation_id] = (len(lines), len(record["turns"]))
        longest[conversation_id] = max(len(turn["text"]) for turn in record["turns"])
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        lines.append(draw(broken_lines))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    return MixedFile(ending.join(lines) + ending * draw(st.integers(0, 1)), good, longest)


broken_lines = st.one_of(
    wild_records().map(lambda record: json.dumps(record, ensure_ascii=False, allow_nan=True).encode("utf-8")),
    st.text(max_size=40).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.binary(max_size=60),
    st.integers(min_value=1, max_value=5000).map(lambda depth: b"[" * depth),
    st.sampled_from(
        [b'{"id": "x", "turns": [', b"9" * 5000, b'{"id": "\\ud800", "turns": []}', b"\x00\x00", b"null", b"\xff\xfe"]
    ),
).map(lambda line: line.replace(b"\n", b" ").replace(b"\r", b" "))
"""One line that is not a good conversation (it may still load as some other conversation: then it is extra)."""
