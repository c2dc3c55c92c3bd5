"""Live session latency as a call grows (issue 17): the time ``LiveSession.push`` takes per turn, at turns 1-10, 50,
500 and 1,000 of one long call, with the real default models (USE-m with one thread, as the API loads it; the
shipped step scorer, act model and dissatisfaction model).

The call is generated from the project's own transcripts (``corpora/en`` and ``corpora/zh-Hans``): their
conversations, shuffled, played one after the other as a single 1,000-turn call (agent and customer turns in
English and Chinese, system events included, times shifted so they keep growing). Every conversation in it is
replayed ``--repeats`` times (a fresh session each time, the models warm); a turn's latency is the wall-clock time
of its ``push``. The p50 / p99 of a row pool the turns of its window over the repeats (turns 1-10, 46-55, 496-505,
991-1,000), so with few samples p99 is near the window's maximum.

``--mode incremental`` (the default) is the session as it runs; ``--mode full`` re-scores the whole transcript after
every turn (the path before issue 17, kept as the reference the incremental one must agree with; about a minute
for 1,000 turns). ``--check`` also compares every update and the closed result of the two paths.

Garbage collection: a full collection walks every object the process holds, the models' included (about 130,000
after loading; 40-200 ms on this machine), and comes every few hundred turns. The models are loaded once, so the
bench calls ``gc.freeze()`` after loading them, as a server should at start-up, and then full collections only walk
what was made since. The incremental path is also measured before the freeze ("no gc.freeze").

    HF_HUB_OFFLINE=1 python -m bench.live_session [--turns 1000] [--repeats 3] [--sop general-inbound-call]
        [--mode incremental|full|both] [--check] [--write]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from auditor.auditor import Auditor
from auditor.live.session import LiveSession
from auditor.service import load_models
from auditor.settings import AuditorSettings
from auditor.sop.loading import resolve_sop
from auditor.transcripts.loaders import load_inputs
from bench.report import replace_section

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO / "corpora"
LANGUAGES = ("en", "zh-Hans")
SECTION = "live-session"
UNFROZEN = "incremental, no gc.freeze"
WINDOWS = (("1-10", 1, 10), ("50", 46, 55), ("500", 496, 505), ("1,000", 991, 1000))
"""Rows of the table: a label and the 1-based turns (inclusive) whose latencies it pools."""


NOTE = (
    "\n\nPer-turn latency of `LiveSession.push` on one generated 1,000-turn call (the corpora's English and simplified "
    "Chinese calls back to back, agent and customer turns, system events), real default models (USE-m with one "
    "thread as the API loads it, the shipped step scorer, act model and dissatisfaction model), SOP "
    "`general-inbound-call`; a row pools its window of turns over the repeats, so p99 is about the window's maximum. "
    "*full* is the path before issue 17, the whole call re-audited after every turn (it shares this change's faster "
    "batch parts, so it is already quicker than the code was: before the change, the mean push took 12.6 / 60.2 / "
    "131.5 ms at turns 41-50 / 491-500 / 991-1,000 on the same call); *incremental* is the session as it runs now: "
    "each turn's similarities to the SOP, keyword and named-detector hits, conditions' evidence, "
    "dissatisfaction signals and turn row are computed once when it arrives; what depends on the whole call (a turn's "
    "place in it, which turn is a step's best, the step scorer, the verdicts with their order and position rules, the "
    "dissatisfaction models) is reassembled vectorised after every turn, and equals the full re-audit (`--check`, "
    "`tests/live/test_live_incremental.py`). `close()` runs the whole audit once. What still grows with the call: "
    "the verdicts read every hit at or above the band's low end (a few hundred at turn 1,000) and build their "
    "evidence, and the dissatisfaction models score every customer turn again. The models are frozen out of the "
    "garbage collector after loading (`gc.freeze()`, as a server should at start-up); without it a full collection "
    "walks the models' objects too (40-200 ms, every few hundred turns), which is the *no gc.freeze* column's p99. "
    "This machine is shared (2 cores): absolute numbers move with its load."
)


def generated_call(turns: int, seed: int = 0) -> list[dict[str, Any]]:
    """``turns`` raw turns: the corpora's English and simplified Chinese conversations, shuffled, back to back."""
    files = [path for lang in LANGUAGES for path in sorted((CORPORA / lang).glob("*.jsonl"))]
    conversations = load_inputs(files).conversations
    rng = random.Random(seed)
    raw: list[dict[str, Any]] = []
    clock = 0.0
    while len(raw) < turns:
        order = list(conversations)
        rng.shuffle(order)
        for conversation in order:
            base = clock
            for turn in conversation.turns:
                item: dict[str, Any] = {"speaker": turn.speaker, "text": turn.text}
                if turn.start is not None:
                    item["start"] = round(base + turn.start, 2)
                    clock = max(clock, item["start"])
                if turn.end is not None:
                    item["end"] = round(base + turn.end, 2)
                    clock = max(clock, item["end"])
                raw.append(item)
            clock += 5.0
    return raw[:turns]


def replay(auditor: Auditor, call: list[dict[str, Any]], *, incremental: bool) -> tuple[list[float], LiveSession]:
    """Push every turn into a fresh session; the seconds each push took."""
    session = LiveSession(auditor, "bench-live", agent_id="a-bench", _incremental=incremental)
    latencies = []
    for turn in call:
        began = time.perf_counter()
        session.push(turn)
        latencies.append(time.perf_counter() - began)
    return latencies, session


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def summary(runs: list[list[float]]) -> dict[str, tuple[float, float, int]]:
    """Per window: p50 and p99 in milliseconds and the number of samples."""
    rows = {}
    for label, first, last in WINDOWS:
        samples = [run[t - 1] * 1000 for run in runs for t in range(first, last + 1) if t <= len(run)]
        if samples:
            rows[label] = (percentile(samples, 50), percentile(samples, 99), len(samples))
    return rows


def check_agreement(auditor: Auditor, call: list[dict[str, Any]]) -> int:
    """Push the call into an incremental and a full session side by side; the number of turns they disagree on."""
    fast = LiveSession(auditor, "check", agent_id="a-bench")
    full = LiveSession(auditor, "check", agent_id="a-bench", _incremental=False)
    differences = 0
    for number, turn in enumerate(call, start=1):
        a, b = fast.push(turn), full.push(turn)
        if (a.steps, a.dissatisfaction, a.alerts) != (b.steps, b.dissatisfaction, b.alerts):
            differences += 1
            print(f"turn {number}: the updates differ", file=sys.stderr)
    if fast.close() != full.close():
        differences += 1
        print("the closed results differ", file=sys.stderr)
    return differences


def table(results: dict[str, dict[str, tuple[float, float, int]]]) -> str:
    modes = list(results)
    header = "| turn | " + " | ".join(f"{mode} p50 ms | {mode} p99 ms" for mode in modes) + " | samples |"
    lines = [header, "|" + "---|" * (2 + 2 * len(modes))]
    for label, _first, _last in WINDOWS:
        cells, samples = [], ""
        for mode in modes:
            row = results[mode].get(label)
            cells += [f"{row[0]:.1f}", f"{row[1]:.1f}"] if row else ["", ""]
            samples = "/".join(filter(None, [samples, str(row[2]) if row else ""]))
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {samples} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--full-repeats", type=int, default=1, help="repeats of the (slow) full path")
    parser.add_argument("--sop", default="general-inbound-call")
    parser.add_argument("--mode", choices=("incremental", "full", "both"), default="incremental")
    parser.add_argument("--check", action="store_true", help="compare the incremental and full paths turn by turn")
    parser.add_argument("--json", type=Path, help="also write the latencies (ms per turn, per run) here")
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args(argv)

    loaded = time.perf_counter()
    models = load_models(AuditorSettings(embedder_threads=1, anomalies=True))
    auditor = models.auditor(resolve_sop(args.sop))
    call = generated_call(args.turns)
    replay(auditor, call[:20], incremental=True)  # warm-up: imports, first model calls
    print(f"models loaded and warm in {time.perf_counter() - loaded:.1f} s; {len(call)} turns", file=sys.stderr)

    modes = ["incremental", "full"] if args.mode == "both" else [args.mode]
    if "incremental" in modes:
        modes.insert(modes.index("incremental"), UNFROZEN)
    results, raw = {}, {}
    for mode in modes:
        frozen = mode != UNFROZEN
        gc.collect()
        if frozen:
            gc.freeze()  # what a server does once its models are loaded: collections then skip them
        else:
            gc.unfreeze()
        runs = []
        for repeat in range(args.full_repeats if mode == "full" else args.repeats):
            began = time.perf_counter()
            latencies, _session = replay(auditor, call, incremental=mode != "full")
            runs.append(latencies)
            print(f"{mode} run {repeat + 1}: {time.perf_counter() - began:.1f} s", file=sys.stderr)
        results[mode] = summary(runs)
        raw[mode] = [[round(x * 1000, 2) for x in run] for run in runs]
    body = table(results)
    print(body)
    if args.check:
        differences = check_agreement(auditor, call)
        print(f"incremental vs full: {differences} turns differ" if differences else "incremental == full: every turn")
    if args.json:
        args.json.write_text(json.dumps(raw), encoding="utf-8")
    if args.write:
        options = " ".join(argv if argv is not None else sys.argv[1:])
        replace_section(SECTION, f"HF_HUB_OFFLINE=1 python -m bench.live_session {options}".strip(), body + NOTE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
