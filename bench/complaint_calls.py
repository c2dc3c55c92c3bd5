"""Chinese complaint calls against an English or a Chinese SOP (issue 18): step recall and skipped-step recall on
an SOP the scorer never saw.

- **Calls**: the project's complaint-handling calls (``corpora/<lang>/complaint-handling.jsonl``, labelled per
  turn): simplified and traditional Chinese, and English for reference.
- **Skipped-step calls**: for every call and every step it performs, the same call with that step's agent turns
  replaced by "好的。" / "OK." (their labels go with them, so a step that shared such a turn is skipped too). Each
  call has its labels as gold.
- **SOP**: the built-in complaint-handling SOP with examples and keywords of one script only (English or Chinese;
  the Chinese one takes its names and descriptions from ``translations.zh``; ``bench.near_miss.sop_in_language``),
  and the same SOP as names and descriptions only.
- **Scorer**: fitted on the training manifest without the complaint-handling SOP (``bench/loto_factory.py``,
  ``scorer_without("corpora:complaint-handling")``), in both accuracy modes: ``fast`` (USE-m) and ``best`` (USE-m +
  multilingual-e5-small).
- **Decisions**: every step decided at the scorer's done threshold (credited = done, late or out of order) and,
  apart, at the uncertain band measured for the scorer (``uncertain`` counted apart, neither credited nor missing).
- **Step recall**: performed steps of the unmodified calls that are credited. **Skipped-step recall**: steps a
  skipped-step call removed that are not credited (at the band: reported missing).

    HF_HUB_OFFLINE=1 python -m bench.complaint_calls [--noise] [--write]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor.auditor import Auditor
from auditor.checklist.bands import band_for
from auditor.checklist.verdicts import UncertainBand
from auditor.conversation import Conversation, Role
from auditor.embeddings.provider import make_embedder
from auditor.evaluation.step_metrics import gold_turns
from auditor.result import ConversationResult
from auditor.sop.loading import resolve_sop
from auditor.transcripts.loaders import load_inputs
from bench.loto_factory import _LOTO, _LOTO_BEST, LeaveOneTaskOut
from bench.near_miss import sop_in_language
from bench.report import markdown_table, replace_section
from bench.stt_noise import noisy

SECTION = "complaint-calls"
ROOT = Path(__file__).resolve().parents[1]
SOP_ID = "complaint-handling"
HELD_OUT = f"corpora:{SOP_ID}"
CALL_LANGS = ("zh-Hans", "zh-Hant", "en")
FILLER = {"en": "OK.", "zh-Hans": "好的。", "zh-Hant": "好的。"}
CREDITED = {"done", "late", "out_of_order"}
NOISE_SEED = 18
MODES: dict[str, LeaveOneTaskOut] = {"fast": _LOTO, "best": _LOTO_BEST}
SOP_VARIANTS = ("en", "zh", "description")


@dataclass
class Tally:
    """Step verdicts of one (mode, call language, SOP variant, decision rule): performed and skipped steps."""

    performed: int = 0
    credited: int = 0
    performed_uncertain: int = 0
    skipped: int = 0
    not_credited: int = 0
    skipped_uncertain: int = 0
    misses: list[str] = dataclasses.field(default_factory=list)

    def recall(self) -> float:
        return self.credited / self.performed if self.performed else 0.0

    def skipped_recall(self) -> float:
        return self.not_credited / self.skipped if self.skipped else 0.0


def load_calls(lang: str) -> list[Conversation]:
    return list(load_inputs([ROOT / "corpora" / lang / f"{SOP_ID}.jsonl"]).conversations)


def skipped_variants(call: Conversation, lang: str) -> list[tuple[Conversation, set[str]]]:
    """One call per step the call performs, with that step's agent turns replaced by a filler; and the steps it
    removed (the step and any whose every labelled turn went with it)."""
    before = set(gold_turns(call))
    out = []
    for step_id in sorted(before):
        turns = [
            dataclasses.replace(turn, text=FILLER[lang], gold_steps=())
            if turn.role is Role.AGENT and step_id in (turn.gold_steps or ())
            else turn
            for turn in call.turns
        ]
        variant = dataclasses.replace(call, id=f"{call.id}-skip-{step_id}", turns=turns)
        out.append((variant, before - set(gold_turns(variant))))
    return out


def with_noise(call: Conversation, lang: str) -> Conversation:
    rng = random.Random(f"{NOISE_SEED}:{call.id}")
    script = "en" if lang == "en" else "zh"
    turns = [dataclasses.replace(t, text=noisy(t.text, script, rng)) if t.text.strip() else t for t in call.turns]
    return dataclasses.replace(call, turns=turns)


def sop_variant(name: str):  # type: ignore[no-untyped-def]
    from auditor.training.pairs import description_only

    sop = resolve_sop(SOP_ID)
    return description_only(sop) if name == "description" else sop_in_language(sop, name)


def tally(
    calls: Sequence[Conversation],
    skipped: Sequence[tuple[Conversation, set[str]]],
    results: Sequence[ConversationResult],
) -> Tally:
    """The verdicts of ``results`` (the calls', then the skipped-step calls') against their gold."""
    counted = Tally()
    for call, result in zip(calls, results[: len(calls)], strict=True):
        gold = gold_turns(call)
        for step in (s for s in result.steps if s.step_id in gold):
            counted.performed += 1
            counted.credited += step.status in CREDITED
            counted.performed_uncertain += step.status == "uncertain"
            if step.status not in CREDITED:
                counted.misses.append(f"{call.id}:{step.step_id}={step.status}")
    for (_, removed), result in zip(skipped, results[len(calls) :], strict=True):
        for step in (s for s in result.steps if s.step_id in removed):
            counted.skipped += 1
            counted.not_credited += step.status not in CREDITED | {"uncertain"}
            counted.skipped_uncertain += step.status == "uncertain"
    return counted


def measure(noise: bool) -> tuple[dict[tuple[str, str, str, str], Tally], dict[str, str]]:
    """Tallies keyed (mode, call language, SOP variant, rule) with rule ``decided`` or ``band``; and each mode's
    band as text."""
    embedder = make_embedder("use-m")
    tallies: dict[tuple[str, str, str, str], Tally] = {}
    bands: dict[str, str] = {}
    for mode, loto in MODES.items():
        scorer = loto.scorer_without(HELD_OUT, f"the {SOP_ID} SOP", embedder)
        band = band_for(embedder.name, scorer.name, scorer.done_threshold)
        bands[mode] = f"{band.low:g}-{band.high:g} (done threshold {scorer.done_threshold:g})"
        rules = (("decided", UncertainBand(scorer.done_threshold, scorer.done_threshold)), ("band", band))
        for lang in CALL_LANGS:
            calls = [with_noise(c, lang) if noise else c for c in load_calls(lang)]
            skipped = [pair for call in calls for pair in skipped_variants(call, lang)]
            everything = calls + [call for call, _ in skipped]
            for variant in SOP_VARIANTS:
                sop = sop_variant(variant)
                for rule, chosen in rules:
                    results = Auditor(sop, embedder, scorer=scorer, band=chosen).audit_many(everything)
                    tallies[(mode, lang, variant, rule)] = tally(calls, skipped, results)
    return tallies, bands


def tables(tallies: dict[tuple[str, str, str, str], Tally]) -> str:
    header = ["calls", "SOP", "mode", "performed", "step recall", "skipped", "skipped-step recall"]
    header += ["step recall (band)", "uncertain", "skipped-step recall (band)", "uncertain"]
    rows = []
    for lang in CALL_LANGS:
        for variant in SOP_VARIANTS:
            for mode in MODES:
                d, b = tallies[(mode, lang, variant, "decided")], tallies[(mode, lang, variant, "band")]
                rows.append(
                    [
                        lang,
                        {"en": "English", "zh": "Chinese", "description": "names + descriptions (en)"}[variant],
                        mode,
                        str(d.performed),
                        f"{d.recall():.2f}",
                        str(d.skipped),
                        f"{d.skipped_recall():.2f}",
                        f"{b.recall():.2f}",
                        f"{b.performed_uncertain / max(b.performed, 1):.2f}",
                        f"{b.skipped_recall():.2f}",
                        f"{b.skipped_uncertain / max(b.skipped, 1):.2f}",
                    ]
                )
    return markdown_table(header, rows)


def misses(tallies: dict[tuple[str, str, str, str], Tally]) -> str:
    lines = []
    for (mode, lang, variant, rule), tally in sorted(tallies.items()):
        if rule == "decided" and lang != "en" and variant != "description" and tally.misses:
            lines.append(f"- {mode}, {lang} calls, {variant} SOP: " + ", ".join(tally.misses))
    return "\n".join(lines)


READING = """
Reading (2026-12-07): issue 18's target for Chinese complaint calls (step recall and skipped-step recall >= 0.90 with
an English or a Chinese SOP) is not met in any row. With every step decided, on simplified and traditional Chinese
calls, `fast` credits 0.74-0.89 of the performed steps and leaves 0.70-0.77 of the skipped ones uncredited; `best`
0.68-0.87 and 0.80-0.98: it trades recall for fewer false passes, most with the English SOP (traditional Chinese
calls: recall 0.87 -> 0.68, skipped-step recall 0.70 -> 0.98). The Chinese SOP is the better pairing for recall in
both modes. The steps missed are mostly follow_up, apologize and record. At the measured bands most of the
difference goes to a person (uncertain 0.3-0.66 of performed steps). After speech-to-text noise (no punctuation,
fillers) recall falls to 0.45-0.66: one unpunctuated turn is one long unit, far from every step's texts.
"""


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--noise", action="store_true", help="also the calls after speech-to-text-like noise")
    parser.add_argument("--write", action="store_true", help=f"update the {SECTION} section of docs/benchmarks.md")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    parts = []
    for noise in (False, True) if args.noise else (False,):
        tallies, bands = measure(noise)
        title = "noisy (STT-like) calls" if noise else "clean calls"
        band_text = "; ".join(f"{mode} {text}" for mode, text in bands.items())
        parts.append(f"### {title}\n\nBands: {band_text}.\n\n{tables(tallies)}")
        if not noise:
            parts.append("Performed steps not credited (every step decided, Chinese calls):\n\n" + misses(tallies))
    seconds = time.perf_counter() - start
    calls = {lang: len(load_calls(lang)) for lang in CALL_LANGS}
    text = (
        "Complaint calls of the project corpora ("
        + ", ".join(f"{lang} {n}" for lang, n in calls.items())
        + ") against the complaint-handling SOP in English, in Chinese, and as names and descriptions only; each "
        "call also with each of its steps skipped (the step's agent turns replaced by a filler). The step scorer "
        "never saw the complaint-handling SOP (refitted without it, `bench/loto_factory.py`), in both accuracy "
        "modes. Step recall: performed steps credited (done, late or out of order); skipped-step recall: removed "
        "steps not credited. First every step decided at the scorer's done threshold, then at the uncertain band "
        f"measured for the scorer (uncertain counted apart). Runtime {seconds:.0f} s.\n\n" + "\n\n".join(parts) + "\n"
        + READING
    )
    print(text)
    if args.write:
        command = ("python -m bench.complaint_calls " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
        replace_section(SECTION, command, text)


if __name__ == "__main__":
    main()
