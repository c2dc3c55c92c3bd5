"""Fuzz every transcript loader and the SOP parser with generated hostile files: zero unhandled exceptions (issue 7).

Generated inputs: hypothesis draws a base file per example (good conversations or wild records rendered in the
format, in one of eight encodings; for SOPs, generated SOP mappings and the built-in SOPs as YAML), then each base is
loaded as it is and after ``--variants - 1`` random damages (truncation, junk bytes, deleted or doubled lines, NUL
bytes and quotes, deep brackets, 6,000-digit numbers, line-ending changes, stray byte-order marks, random bytes;
for YAML: truncation, inserted YAML syntax, re-indented lines). Transcripts go through ``load_bytes`` (decoding and
format reader); SOPs are written to a file (UTF-8 mostly, sometimes with a BOM, UTF-16 or GB18030) and read with
``load_sop``. An unhandled exception is any exception other than the loader's own problem report; a contract
violation is a load that returned text that cannot be written out, a problem naming no file, or a reason over
2,000 characters (see ``tests/fuzz/strategies.py``).

Fixed stress inputs: a 10 MB single turn, hundreds of thousands of lines, 100,000-deep JSON, binary junk, and YAML
that has crashed the SOP parser. Encodings: the project's Chinese corpora and STC-3 Chinese (from
``../shared/data/external``, when present) written as GBK, Big5, UTF-16 and UTF-32, and non-Chinese legacy text
that must be refused, not misread.

    HF_HUB_OFFLINE=1 python -m bench.fuzz_inputs [--inputs 105000] [--variants 10] [--seed 0]
        [--failures DIR] [--write]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opencc
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from auditor.batch.engines import LocalEngine, batch_settings, build_auditor, expected_identity
from auditor.batch.inputs import InputStream
from auditor.batch.runner import run_batch
from auditor.conversation import Conversation
from auditor.sop.loading import SopError, load_sop, resolve_sop, sop_from_text
from auditor.transcripts.limits import SizeLimits
from auditor.transcripts.loaders import LoadResult, load_bytes
from bench.report import replace_section
from tests.fuzz.strategies import (
    FORMATS,
    REPO,
    YAML_JUNK,
    contract_violations,
    corpus_sentences,
    hostile_sops,
    mixed_files,
    mutate,
    mutate_yaml,
    render,
    sop_bases,
    sop_violations,
    stress_files,
    transcript_bases,
)

COMMAND = "python -m bench.fuzz_inputs --write"
TARGETS = (*FORMATS, "mixed", "sop")
AUDIT_EVERY = 20
"""Every this many mixed files is also audited end to end (``run_batch``, hashing embedder)."""
AUDIT_LIMITS = SizeLimits(max_turn_chars=30_000)
"""The fuzzer's audits cap turns at 30,000 characters, so some generated long turns are refused by the size policy."""
STC3_ZH = REPO.parent / "shared" / "data" / "external" / "stc3_zh_dev.jsonl"
SOP_ENCODINGS = ("utf-8",) * 7 + ("utf-8-sig", "utf-16", "gb18030")


@dataclass
class Tally:
    """What one loader did with its generated inputs."""

    inputs: int = 0
    loaded: int = 0
    problems: int = 0
    refused_inputs: int = 0
    crashes: Counter[str] = field(default_factory=Counter)
    violations: Counter[str] = field(default_factory=Counter)
    load_seconds: float = 0.0
    total_seconds: float = 0.0
    failures: list[tuple[str, bytes, str]] = field(default_factory=list)
    good: int = 0
    """Mixed files: good conversations generated in them."""
    lost: Counter[str] = field(default_factory=Counter)
    """Mixed files: good conversations a reader lost (by reader: load_bytes, stream, audit)."""
    audited_files: int = 0
    audited_good: int = 0
    refused_by_size: int = 0

    def crash(self, data: bytes, error: BaseException) -> None:
        key = f"{type(error).__name__}: {str(error)[:80]}"
        self.crashes[key] += 1
        if self.crashes[key] == 1:
            self.failures.append((key, data, traceback.format_exc()))

    def violation(self, data: bytes, what: str) -> None:
        self.violations[what[:80]] += 1
        if self.violations[what[:80]] == 1:
            self.failures.append((what, data, what))


def generated(examples: int) -> settings:
    """Hypothesis settings of every fuzz target: ``examples`` fresh draws, no shrinking, database or deadline."""
    return settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def fuzz_transcripts(fmt: str, examples: int, variants: int, base_seed: int) -> Tally:
    """Load ``examples`` generated files of a format and ``variants - 1`` damaged copies of each."""
    tally = Tally()
    source = f"fuzz.{fmt}"

    @seed(base_seed)
    @generated(examples)
    @given(base=transcript_bases(fmt), mutation_seed=st.integers(min_value=0, max_value=2**32))
    def run(base: bytes, mutation_seed: int) -> None:
        rng = random.Random(mutation_seed)
        for variant in range(variants):
            raw = base if variant == 0 else mutate(base, rng)[1]
            tally.inputs += 1
            started = time.perf_counter()
            try:
                result = load_bytes(raw, source)
            except Exception as error:  # the point of the benchmark: count what escapes the loader
                tally.load_seconds += time.perf_counter() - started
                tally.crash(raw, error)
                continue
            tally.load_seconds += time.perf_counter() - started
            _count_load(tally, result)
            for violation in contract_violations(result, raw, source):
                tally.violation(raw, violation)

    started = time.perf_counter()
    run()
    tally.total_seconds = time.perf_counter() - started
    return tally


def fuzz_mixed(examples: int, base_seed: int, folder: Path) -> Tally:
    """``examples`` JSON Lines files mixing good conversations (markup, escape and formula ids; some long turns) with
    broken lines: every good conversation must come out of the whole-file loader and of the streaming reader
    ``auditor audit`` uses, and, for every ``AUDIT_EVERY``-th file, out of a whole audit (``run_batch``) into
    results.jsonl, or be named as over the size limit with its file and line."""
    tally = Tally()
    path = folder / "fuzz-mixed.jsonl"
    sop = resolve_sop("general-inbound-call")
    spec = batch_settings(embedder="hashing")
    engine = LocalEngine(build_auditor(sop, spec)[0])
    identity = expected_identity(sop, spec)

    @seed(base_seed)
    @generated(examples)
    @given(mixed=mixed_files())
    def run(mixed: Any) -> None:
        tally.inputs += 1
        tally.good += len(mixed.good)
        started = time.perf_counter()
        try:
            result = load_bytes(mixed.raw, str(path))
            path.write_bytes(mixed.raw)
            streamed = [item for item in InputStream([path]) if isinstance(item, Conversation)]
        except Exception as error:  # the point of the benchmark: count what escapes the readers
            tally.load_seconds += time.perf_counter() - started
            tally.crash(mixed.raw, error)
            return
        tally.load_seconds += time.perf_counter() - started
        _count_load(tally, result)
        for violation in contract_violations(result, mixed.raw, str(path)):
            tally.violation(mixed.raw, violation)
        for reader, conversations in (("load_bytes", result.conversations), ("stream", streamed)):
            lost = _lost(mixed.good, conversations)
            if lost:
                tally.lost[reader] += len(lost)
                tally.violation(mixed.raw, f"{reader} lost good conversations")
        if tally.inputs % AUDIT_EVERY == 0:
            _audit_mixed(tally, mixed, path, folder / "out", lambda remaining: engine, sop, identity)

    started = time.perf_counter()
    run()
    tally.total_seconds = time.perf_counter() - started
    return tally


def _lost(good: dict[str, tuple[int, int]], conversations: list[Conversation]) -> set[str]:
    """Good ids not loaded with all their turns."""
    loaded = {conversation.id: len(conversation.turns) for conversation in conversations}
    return {conversation_id for conversation_id, (_, turns) in good.items() if loaded.get(conversation_id) != turns}


def _audit_mixed(tally: Tally, mixed: Any, path: Path, out: Path, engine: Any, sop: Any, identity: Any) -> None:
    """Audit one mixed file end to end; count good conversations neither in results.jsonl nor refused by size."""
    tally.audited_files += 1
    try:
        outcome = run_batch([path], sop, engine, out=out, identity=identity, limits=AUDIT_LIMITS)
        lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines() if outcome.audited else []
    except Exception as error:  # counted, not raised
        tally.crash(mixed.raw, error)
        return
    audited = {json.loads(line)["conversation_id"] for line in lines}
    refused = {(problem.line, problem.reason) for problem in outcome.problems}
    for conversation_id, (line, _) in mixed.good.items():
        if mixed.longest_turn[conversation_id] > (AUDIT_LIMITS.max_turn_chars or 0):
            tally.refused_by_size += 1
            if not any(number == line and "--max-turn-chars" in reason for number, reason in refused):
                tally.lost["audit"] += 1
                tally.violation(mixed.raw, "audit: an over-long conversation not named with its line")
        elif conversation_id in audited:
            tally.audited_good += 1
        else:
            tally.lost["audit"] += 1
            tally.violation(mixed.raw, "audit lost good conversations")


def _count_load(tally: Tally, result: LoadResult) -> None:
    tally.loaded += len(result.conversations)
    tally.problems += len(result.problems)
    tally.refused_inputs += bool(result.problems)


def fuzz_sops(examples: int, variants: int, base_seed: int, folder: Path) -> Tally:
    """Read ``examples`` generated SOP files and ``variants - 1`` damaged copies of each with ``load_sop``."""
    tally = Tally()
    path = folder / "fuzz.yaml"

    @seed(base_seed)
    @generated(examples)
    @given(base=sop_bases(), mutation_seed=st.integers(min_value=0, max_value=2**32))
    def run(base: str, mutation_seed: int) -> None:
        rng = random.Random(mutation_seed)
        for variant in range(variants):
            text = base if variant == 0 else mutate_yaml(base, rng, YAML_JUNK)
            raw = text.encode(rng.choice(SOP_ENCODINGS), errors="replace")
            path.write_bytes(raw)
            tally.inputs += 1
            started = time.perf_counter()
            try:
                load_sop(path)
                tally.loaded += 1
            except SopError as error:
                tally.problems += len(error.problems)
                tally.refused_inputs += 1
                for violation in sop_violations(error, str(path)):
                    tally.violation(raw, violation)
            except Exception as error:  # the point of the benchmark: count what escapes the parser
                tally.crash(raw, error)
            finally:
                tally.load_seconds += time.perf_counter() - started

    started = time.perf_counter()
    run()
    tally.total_seconds = time.perf_counter() - started
    return tally


def generated_table(tallies: dict[str, Tally], variants: int) -> str:
    rows = [
        "| loader | inputs | loaded (conversations / valid SOPs) | inputs refused in part or whole | problems "
        "reported | unhandled exceptions | contract violations | load time | total time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for target, tally in tallies.items():
        name = {"sop": "SOP parser (`load_sop`)", "mixed": "mixed `.jsonl` (`load_bytes`, `InputStream`, audit)"}.get(
            target, f"`.{target}` (`load_bytes`)"
        )
        rows.append(
            f"| {name} | {tally.inputs:,} | {tally.loaded:,} | {tally.refused_inputs:,} | {tally.problems:,} | "
            f"{sum(tally.crashes.values()):,} | {sum(tally.violations.values()):,} | {tally.load_seconds:.1f} s | "
            f"{tally.total_seconds:.0f} s |"
        )
    total = Tally(
        inputs=sum(t.inputs for t in tallies.values()),
        loaded=sum(t.loaded for t in tallies.values()),
        problems=sum(t.problems for t in tallies.values()),
        refused_inputs=sum(t.refused_inputs for t in tallies.values()),
        load_seconds=sum(t.load_seconds for t in tallies.values()),
        total_seconds=sum(t.total_seconds for t in tallies.values()),
    )
    crashes = sum(sum(t.crashes.values()) for t in tallies.values())
    violations = sum(sum(t.violations.values()) for t in tallies.values())
    rows.append(
        f"| **all** | **{total.inputs:,}** | {total.loaded:,} | {total.refused_inputs:,} | {total.problems:,} | "
        f"**{crashes:,}** | **{violations:,}** | {total.load_seconds:.0f} s | {total.total_seconds:.0f} s |"
    )
    notes = [
        f"\n{variants} inputs per hypothesis example (the example as drawn, then {variants - 1} damaged copies). "
        "Unhandled exceptions and contract violations by kind (the SOP parser's are pinned as strict xfail tests in "
        "`tests/fuzz/test_sop_properties.py` until `auditor/sop/loading.py` catches them):"
    ]
    for target, tally in tallies.items():
        for what, count in (tally.crashes + tally.violations).most_common():
            notes.append(f"- {target}: {count:,} x {what}")
    mixed = tallies.get("mixed")
    if mixed is not None:
        notes.append(_mixed_note(mixed))
    return "\n".join(rows) + "\n" + "\n".join(notes)


def _mixed_note(tally: Tally) -> str:
    """Good conversations kept: the target is none lost by any reader."""
    lost = ", ".join(f"{reader} {tally.lost[reader]:,}" for reader in ("load_bytes", "stream", "audit"))
    return (
        f"\nMixed files (target: 0 good conversations lost): {tally.inputs:,} JSON Lines files holding {tally.good:,} "
        "good conversations (ids such as `[/bold]`, `[/]`, `[link=http://x]`, `\\x1b[31m`, `=cmd|' /C calc'!A0`; one "
        f"in 16 with a turn of 10,001-60,000 characters) between broken lines (wild records, junk text and bytes, "
        f"deep brackets). Good conversations lost: **{lost}**. Every {AUDIT_EVERY}th file was also audited end to end "
        f"(`run_batch`, hashing embedder, `--max-turn-chars {AUDIT_LIMITS.max_turn_chars:,}`): {tally.audited_files:,} "
        f"audits, {tally.audited_good:,} good conversations in results.jsonl and {tally.refused_by_size:,} over the "
        "turn cap named with their file and line, none lost."
    )


@dataclass(frozen=True)
class StressOutcome:
    name: str
    outcome: str
    seconds: float
    ok: bool


def stress_outcomes() -> Iterator[StressOutcome]:
    """Load each fixed stress file and SOP once; say what came back and whether that is what a user should get."""
    for case in stress_files():
        started = time.perf_counter()
        try:
            result = load_bytes(case.raw, case.source)
        except Exception as error:  # counted, not raised
            yield StressOutcome(
                case.name, f"**unhandled {type(error).__name__}**", time.perf_counter() - started, False
            )
            continue
        seconds = time.perf_counter() - started
        first = f"; first: `{_cell(str(result.problems[0]))}`" if result.problems else ""
        turns = sum(len(conversation.turns) for conversation in result.conversations)
        outcome = (
            f"{len(result.conversations):,} conversations, {turns:,} turns, {len(result.problems):,} problems{first}"
        )
        ok = case.expected(result) and not contract_violations(result, case.raw, case.source)
        yield StressOutcome(case.name, outcome, seconds, ok)
    for hostile in hostile_sops():
        started = time.perf_counter()
        try:
            sop_from_text(hostile.text, source="hostile.yaml")
            outcome, ok = "a valid SOP", hostile.valid
        except SopError as error:
            longest = max(len(problem.message) for problem in error.problems)
            outcome = f"SopError, {len(error.problems)} problems (longest message {longest:,} characters)"
            ok = not hostile.valid and not sop_violations(error, "hostile.yaml")
        except Exception as error:  # counted, not raised
            outcome, ok = f"**unhandled {type(error).__name__}**", False
        yield StressOutcome(f"SOP: {hostile.name}", outcome, time.perf_counter() - started, ok)


def stress_table() -> str:
    rows = ["| input | outcome | time | as expected |", "|---|---|---|---|"]
    for outcome in stress_outcomes():
        mark = "yes" if outcome.ok else "**no**"
        rows.append(f"| {outcome.name} | {outcome.outcome} | {outcome.seconds:.2f} s | {mark} |")
    return "\n".join(rows)


def _cell(text: str, limit: int = 110) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."


# --- encodings ---------------------------------------------------------------------------------------------


def _chinese_conversations() -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """(simplified, traditional) conversations by source: the project's corpora, and STC-3 dev (its zh, and the same
    made traditional by OpenCC s2twp) when the external data is there."""
    corpora: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    for folder, bucket in (("zh-Hans", corpora[0]), ("zh-Hant", corpora[1])):
        for path in sorted((REPO / "corpora" / folder).glob("*.jsonl")):
            bucket.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    sources = {"corpora": corpora}
    if STC3_ZH.exists():
        to_traditional = opencc.OpenCC("s2twp")
        stc3: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
        for line in STC3_ZH.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            turns = [{"speaker": t["speaker"], "text": t["text"]} for t in record["turns"]]
            stc3[0].append({"id": record["id"], "turns": turns})
            stc3[1].append(
                {"id": record["id"], "turns": [t | {"text": to_traditional.convert(t["text"])} for t in turns]}
            )
        sources["STC-3 dev"] = stc3
    return sources


def _one_line(conversation: dict[str, Any]) -> dict[str, Any]:
    """The conversation with single-line turns, as a ``.txt`` file can hold them."""
    turns = [turn | {"text": " ".join(turn["text"].split())} for turn in conversation["turns"]]
    return conversation | {"turns": [turn for turn in turns if turn["text"]]}


ENCODING_POLICY = """
Encodings. One decoder serves every format (`auditor/transcripts/decoding.py`): a BOM decides (UTF-8, UTF-16,
UTF-32); UTF-16 without a BOM is recognised by the NUL bytes of its ASCII characters; then UTF-8; then, unless the
file is mostly valid UTF-8 with some damage, GB18030 (GBK) or Big5 (cp950, HKSCS), whichever reads as common Chinese
(the 2,000 most frequent hanzi from jieba's dictionary and their traditional forms), and only when at least 70% of its
non-ASCII characters do. Per format: `.csv` (Excel on Chinese Windows writes GBK/Big5, or UTF-16 as "Unicode text"),
`.txt` (Notepad's "ANSI") and `.srt` (Chinese subtitles are often GBK/Big5) gain most from decoding; `.json`/`.jsonl`
(RFC 8259 says UTF-8, but `json.dump` with the Windows locale writes GBK) and `.vtt` (UTF-8 by its spec) take the same
decoding because it costs nothing when the file is UTF-8. What cannot be told apart is refused, never guessed: a bad
byte costs its JSON Lines line, its CSV row's conversation, its JSON list item, or the whole `.txt`/`.srt`/`.vtt`
(one conversation), each named `path:line: field: not UTF-8 text (byte 0x..)`; binary data (NUL bytes and 20% bad
bytes) is one problem for the file. A file that starts like a UTF-16/32 BOM but whose lines are UTF-8 (read as
UTF-16 it has far fewer line breaks than newline bytes, and hardly any NUL) is UTF-8 with a junk first line: only that
line is lost. `auditor audit` streams `.jsonl` files line by line and reads them the same way: an encoding other than
UTF-8 in the first 64 KiB (UTF-16/32 with or without a BOM, GBK, Big5) reads the file whole, binary data is one
problem, and a file that is ASCII up to a line in GBK or Big5 is read in that encoding from there on (a file that had
UTF-8 before keeps it, and the line is bad). The list size and the 70% were chosen on 400 STC-3 dev conversations
(whole and first two turns); the project's corpora (64 conversations) and the refusal rows played no part. Measured:
"""


def encoding_rows() -> str:
    """Decode Chinese files written in legacy and UTF-16/32 encodings; refuse non-Chinese legacy text."""
    cases: list[tuple[str, str, list[dict[str, Any]]]] = []
    for source, (simplified, traditional) in _chinese_conversations().items():
        cases += [
            (f"{source}: zh-Hans as GBK (GB18030)", "gb18030", simplified),
            (f"{source}: zh-Hant as Big5 (cp950)", "cp950", traditional),
            (f"{source}: zh-Hans as UTF-16 with BOM", "utf-16", simplified),
            (f"{source}: zh-Hans as UTF-16-LE without BOM", "utf-16-le", simplified),
            (f"{source}: zh-Hant as UTF-16-BE without BOM", "utf-16-be", traditional),
            (f"{source}: zh-Hans as UTF-32 with BOM", "utf-32", simplified),
            (f"{source}: zh-Hant as UTF-8 with BOM", "utf-8-sig", traditional),
        ]
    rows = [
        "| file content | format | files | decoded exactly | decoded wrongly | refused with a problem "
        "| not encodable |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, encoding, conversations in cases:
        for fmt in ("jsonl", "txt"):
            counts: Counter[str] = Counter()
            for conversation in conversations:
                record = _one_line(conversation) | {"id": "c-1"}
                if not record["turns"]:
                    continue
                text = render(fmt, [record])
                try:
                    raw = text.encode(encoding)
                except UnicodeEncodeError:
                    counts["unencodable"] += 1
                    continue
                as_written = raw.decode(encoding).encode()  # what the encoding holds: Big5 turns '•' into '‧'
                expected = [[turn.text for turn in c.turns] for c in load_bytes(as_written, f"c.{fmt}").conversations]
                result = load_bytes(raw, f"c.{fmt}")
                got = [[turn.text for turn in c.turns] for c in result.conversations]
                counts["exact" if got == expected else "refused" if result.problems else "wrong"] += 1
            rows.append(_encoding_row(label, fmt, counts))
    for label, fmt, raws in _refusal_cases():
        counts = Counter()
        for raw in raws:
            result = load_bytes(raw, f"c.{fmt}")
            counts["refused" if result.problems and not result.conversations else "wrong"] += 1
        rows.append(_encoding_row(label, fmt, counts))
    return "\n".join(rows)


def _encoding_row(label: str, fmt: str, counts: Counter[str]) -> str:
    files = counts["exact"] + counts["wrong"] + counts["refused"]
    return (
        f"| {label} | .{fmt} | {files:,} | {counts['exact']:,} | {counts['wrong']:,} | {counts['refused']:,} | "
        f"{counts['unencodable']:,} |"
    )


def _refusal_cases() -> list[tuple[str, str, list[bytes]]]:
    """Text that is not UTF-8 and not Chinese: it must be refused, never loaded as garbled Chinese."""
    rng = random.Random(7)
    english = corpus_sentences()[0]
    latin = [
        "Agent: Grüß Gott, Señor Muñoz. Café crème?\nCustomer: Très bien, merci — à bientôt.\n",
        "Agent: Ça coûte 12 €.\nCustomer: D’accord, naïve question: où est le reçu?\n",
    ]
    japanese = "客服: お客様、ご注文の確認をお願いします。\n顧客: ありがとうございました。\n"

    def english_cp1252() -> bytes:
        lines = [
            f"Agent: {rng.choice(english)} – “{rng.choice(['café', 'naïve', 'résumé', 'Zürich'])}”" for _ in range(3)
        ]
        return ("\n".join(lines) + "\n").encode("cp1252")

    return [
        ("English with cp1252 quotes and accents", "txt", [english_cp1252() for _ in range(300)]),
        ("French/German in Latin-1", "txt", [text.encode("latin-1", errors="replace") for text in latin] * 50),
        ("Japanese in Shift-JIS / EUC-JP", "txt", [japanese.encode("shift_jis"), japanese.encode("euc_jp")] * 50),
        ("random bytes", "jsonl", [rng.randbytes(rng.randint(1, 2000)) for _ in range(300)]),
    ]


def write_failures(folder: Path, tallies: dict[str, Tally]) -> None:
    """Save one input per distinct failure, with its traceback, to reproduce it."""
    folder.mkdir(parents=True, exist_ok=True)
    for target, tally in tallies.items():
        for index, (what, data, trace) in enumerate(tally.failures):
            extension = "yaml" if target == "sop" else target
            (folder / f"{target}-{index}.{extension}").write_bytes(data)
            (folder / f"{target}-{index}.txt").write_text(f"{what}\n\n{trace}", encoding="utf-8")


def run(inputs: int, variants: int, base_seed: int, progress: Callable[[str], None]) -> tuple[str, dict[str, Tally]]:
    per_target = max(1, inputs // len(TARGETS) // variants)
    tallies: dict[str, Tally] = {}
    with tempfile.TemporaryDirectory() as folder:
        for target in TARGETS:
            if target == "sop":
                tallies[target] = fuzz_sops(per_target, variants, base_seed, Path(folder))
            elif target == "mixed":
                tallies[target] = fuzz_mixed(per_target * variants, base_seed, Path(folder))
            else:
                tallies[target] = fuzz_transcripts(target, per_target, variants, base_seed)
            tally = tallies[target]
            crashes = sum(tally.crashes.values())
            progress(f"{target}: {tally.inputs:,} inputs, {crashes} unhandled, {tally.total_seconds:.0f} s")
    sections = [
        "Generated inputs (target: >= 100,000 across loaders and the SOP parser, zero unhandled exceptions):\n",
        generated_table(tallies, variants),
        "\nFixed stress inputs (each loaded once; time on the 2-core machine):\n",
        stress_table(),
        ENCODING_POLICY,
        encoding_rows(),
    ]
    return "\n".join(sections), tallies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int, default=105_000, help="generated inputs in all (split evenly)")
    parser.add_argument("--variants", type=int, default=10, help="inputs per hypothesis example")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--failures", type=Path, help="save each distinct failing input here")
    parser.add_argument("--write", action="store_true", help="update the fuzzing section of docs/benchmarks.md")
    args = parser.parse_args()
    text, tallies = run(args.inputs, args.variants, args.seed, progress=lambda line: print(line, flush=True))
    print(text)
    if args.failures:
        write_failures(args.failures, tallies)
    if args.write:
        replace_section("fuzzing", COMMAND, text)


if __name__ == "__main__":
    main()
