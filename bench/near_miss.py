"""Near misses: does the auditor credit a step when a turn only talks about it?

Each case of ``bench/near_miss_data/cases/*.yaml`` is one SOP step in one turn-language (en, zh-Hans, zh-Hant)
with turns that perform the step (``performs``) and turns that sound like it but do not (``near_misses``: a
refusal, "I can't", a promise for later, an offer, a mere mention, the opposite outcome...). Every variant turn
goes into a compliant template call of the SOP in that language, in place of the first agent turn labelled with
the step (later turns labelled only with the step become a neutral "OK."), and the call is audited twice: with
the SOP's English-only variant (Latin-script examples and keywords) and its Chinese-only variant (Han-script
examples and keywords, names and descriptions from ``translations.zh`` where the SOP has them). What is measured
is the target step's status in that one call.

A step is *credited* when its status is done, late or out_of_order; *uncertain* is neither credited nor
refuted and is counted apart. Near misses should not be credited (false-done rate), performances should be
(recall).

    python -m bench.near_miss [--noise] [--write]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from auditor.conversation import Conversation, Role
from auditor.result import ConversationResult
from auditor.sop.loading import SopError, load_sop
from auditor.sop_format import Sop, Step
from auditor.text.normalise import has_han
from auditor.transcripts.loaders import load_inputs
from bench.corpora_data import CORPORA, builtin
from bench.report import markdown_table, replace_section
from bench.stt_noise import noisy

DATA = Path(__file__).resolve().parent / "near_miss_data"
SOPS = DATA / "sops"
CASES = DATA / "cases"
CALLS = DATA / "calls"

LANGS = ("en", "zh-Hans", "zh-Hant")
"""Turn languages (scripts) of the cases and template calls."""
SOP_LANGS = ("en", "zh")
"""SOP variants: English-only and Chinese-only examples and keywords."""
ACTS = (
    "refused",
    "cannot",
    "skipped",
    "not_available",
    "negated",
    "promised",
    "offered",
    "mentioned",
    "other_outcome",
)
"""What a near miss does instead of performing the step."""
PERFORMED = "performed"
CREDITED = frozenset({"done", "late", "out_of_order"})
UNCERTAIN = "uncertain"
FILLER = {"en": "OK.", "zh-Hans": "好的。", "zh-Hant": "好的。"}
NOISE_SEED = 16
COMMAND = "python -m bench.near_miss --noise --write"

Kind = Literal["perform", "near_miss"]


@dataclass(frozen=True)
class Case:
    sop: str
    step: str
    lang: str
    performs: tuple[str, ...]
    near_misses: tuple[tuple[str, str], ...]
    """(act, text) pairs."""

    @property
    def key(self) -> str:
        return f"{self.sop}:{self.step}:{self.lang}"


@dataclass(frozen=True)
class Variant:
    """One turn of a case, to put into a template call."""

    case: Case
    kind: Kind
    act: str
    """``performed`` for a true performance, else the near miss's act."""
    text: str
    number: int

    @property
    def id(self) -> str:
        return f"nm:{self.case.key}:{self.kind}:{self.number}"


def load_cases(paths: Iterable[Path] | None = None) -> list[Case]:
    """Every case of the YAML files (default: ``near_miss_data/cases/*.yaml``)."""
    cases = []
    for path in sorted(paths if paths is not None else CASES.glob("*.yaml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            cases.append(
                Case(
                    sop=raw["sop"],
                    step=raw["step"],
                    lang=raw["lang"],
                    performs=tuple(raw.get("performs") or ()),
                    near_misses=tuple((miss["act"], miss["text"]) for miss in raw.get("near_misses") or ()),
                )
            )
    return cases


def variants(case: Case) -> list[Variant]:
    performs = [Variant(case, "perform", PERFORMED, text, n) for n, text in enumerate(case.performs)]
    misses = [Variant(case, "near_miss", act, text, n) for n, (act, text) in enumerate(case.near_misses)]
    return performs + misses


def sop_by_id(sop_id: str) -> Sop:
    """The benchmark's own SOP (``near_miss_data/sops``) or a built-in one (``auditor/rules/``)."""
    own = SOPS / f"{sop_id}.yaml"
    return load_sop(own) if own.exists() else builtin(sop_id)


def sop_ids(cases: Iterable[Case]) -> list[str]:
    return sorted({case.sop for case in cases})


def load_templates(langs: Sequence[str] = LANGS) -> dict[tuple[str, str], list[Conversation]]:
    """(SOP id, turn language) -> the compliant gold-labelled calls: the corpora's and the benchmark's own."""
    found: dict[tuple[str, str], list[Conversation]] = defaultdict(list)
    for lang in langs:
        folders = [folder for folder in (CORPORA / lang, CALLS / lang) if folder.exists()]
        loaded = load_inputs(folders)
        if loaded.problems:
            raise SystemExit("template problems:\n" + "\n".join(map(str, loaded.problems)))
        for conversation in loaded.conversations:
            if str(conversation.metadata.get("scenario", "")).startswith("compliant"):
                found[(str(conversation.metadata["sop_id"]), lang)].append(conversation)
    return dict(found)


def _step_turns(conversation: Conversation, step_id: str) -> list[int]:
    return [
        position
        for position, turn in enumerate(conversation.turns)
        if turn.role is Role.AGENT and step_id in (turn.gold_steps or ())
    ]


def choose_template(templates: Sequence[Conversation], step_id: str) -> Conversation | None:
    """The template where the step's turns are cleanest to replace, or None if no template has the step.

    Best: no later turn carries the step together with another step (it would stay and keep the step done),
    then the fewest other steps on the first turn (they are lost with it); ties go to the first call by id.
    """

    def penalty(conversation: Conversation) -> tuple[int, int, str]:
        positions = _step_turns(conversation, step_id)
        steps = [set(conversation.turns[p].gold_steps or ()) for p in positions]
        mixed_later = sum(1 for later in steps[1:] if later != {step_id})
        return mixed_later, len(steps[0]) - 1, conversation.id

    candidates = [conversation for conversation in templates if _step_turns(conversation, step_id)]
    return min(candidates, key=penalty) if candidates else None


def build_call(
    template: Conversation, step_id: str, text: str, *, filler: str, call_id: str, performs: bool
) -> Conversation:
    """The template with its first agent turn labelled ``step_id`` replaced by ``text``.

    Later agent turns labelled with that step only become ``filler``, so nothing else performs the step; the
    gold labels follow (the new turn carries the step only when it ``performs`` it).
    """
    positions = _step_turns(template, step_id)
    if not positions:
        raise ValueError(f"{template.id} has no agent turn labelled {step_id!r}")
    turns = list(template.turns)
    first, later = positions[0], positions[1:]
    turns[first] = dataclasses.replace(turns[first], text=text, gold_steps=(step_id,) if performs else ())
    for position in later:
        if set(turns[position].gold_steps or ()) == {step_id}:
            turns[position] = dataclasses.replace(turns[position], text=filler, gold_steps=())
    return dataclasses.replace(template, id=call_id, turns=turns)


def _in_script(phrases: list[str], script: str) -> list[str]:
    return [phrase for phrase in phrases if has_han(phrase) == (script == "zh")]


def sop_in_language(sop: Sop, script: str) -> Sop:
    """The SOP with examples, keywords (and counter-examples) of one script only: ``en`` Latin, ``zh`` Han.

    The Chinese variant takes names and descriptions from ``translations.zh`` where the SOP has them.
    """
    if script not in SOP_LANGS:
        raise ValueError(f"unknown SOP language {script!r}")
    phrase_fields = [name for name in ("examples", "keywords", "counter_examples") if name in Step.model_fields]

    def step_copy(step: Step) -> Step:
        update: dict[str, Any] = {name: _in_script(getattr(step, name), script) for name in phrase_fields}
        translated = step.translations.get("zh") if script == "zh" else None
        if translated is not None:
            update |= {"name": translated.name or step.name, "description": translated.description or step.description}
        return step.model_copy(update=update)

    update: dict[str, Any] = {"steps": [step_copy(step) for step in sop.steps], "languages": [script]}
    translated_sop = sop.translations.get("zh") if script == "zh" else None
    if translated_sop is not None:
        update |= {
            "name": translated_sop.name or sop.name,
            "description": translated_sop.description or sop.description,
        }
    return sop.model_copy(update=update)


def problems(cases: Sequence[Case], templates: dict[tuple[str, str], list[Conversation]]) -> list[str]:
    """Everything wrong with the data: unknown SOPs, steps or acts, too few turns, no template for a case."""
    found = []
    sops: dict[str, Sop | None] = {}
    for case in cases:
        if case.sop not in sops:
            try:
                sops[case.sop] = sop_by_id(case.sop)
            except SopError as error:
                found.append(f"{case.key}: unknown SOP ({error})")
                sops[case.sop] = None
        sop = sops[case.sop]
        if sop is None:
            continue
        if case.step not in {step.id for step in sop.steps}:
            found.append(f"{case.key}: SOP {case.sop} has no step {case.step!r}")
        if case.lang not in LANGS:
            found.append(f"{case.key}: unknown language {case.lang!r}")
        if len(case.performs) < 2 or len(case.near_misses) < 2:
            found.append(f"{case.key}: needs at least 2 performs and 2 near misses")
        for act, _ in case.near_misses:
            if act not in ACTS:
                found.append(f"{case.key}: unknown act {act!r}")
        if choose_template(templates.get((case.sop, case.lang), []), case.step) is None:
            found.append(f"{case.key}: no compliant template call of {case.sop} in {case.lang} labels the step")
    return found


# ---------------------------------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Outcome:
    """The target step's verdict for one variant turn under one SOP language."""

    variant: Variant
    sop_lang: str
    status: str
    critical: bool
    passed: bool
    outcome: str | None
    variant_is_evidence: bool
    """The variant's own turn is among the step's evidence (else the verdict leans on other turns only)."""

    @property
    def credited(self) -> bool:
        return self.status in CREDITED

    @property
    def uncertain(self) -> bool:
        return self.status == UNCERTAIN


@dataclass
class Run:
    noise: bool
    outcomes: list[Outcome]
    template_checks: list[tuple[Case, str, bool]]
    """(case, SOP language, unmodified template credits the step)."""
    seconds: float


def _status(result: ConversationResult, step_id: str) -> tuple[str, bool, set[int]]:
    step = next(step for step in result.steps if step.step_id == step_id)
    return step.status, step.critical, {evidence.turn_index for evidence in step.evidence}


def variant_turn_index(template: Conversation, step_id: str) -> int:
    """``turn_index`` (as results give it) of the turn a variant replaces."""
    return template.turns[_step_turns(template, step_id)[0]].index


def measure(
    cases: Sequence[Case], embedder: Any, *, noise: bool, learned_acts: bool = True, scorer: Any = None
) -> Run:
    """Audit every variant of every case under both SOP languages (one auditor per SOP and language);
    ``learned_acts=False``: the act cues without the learned act model; ``scorer``: another step scorer than the
    shipped one (with its own measured band)."""
    from auditor.auditor import Auditor

    start = time.perf_counter()
    templates = load_templates()
    by_sop: dict[str, list[tuple[Variant, Conversation, int]]] = defaultdict(list)
    unmodified: dict[str, dict[str, Conversation]] = defaultdict(dict)
    for case in cases:
        template = choose_template(templates.get((case.sop, case.lang), []), case.step)
        if template is None:
            raise SystemExit(f"{case.key}: no template call")
        unmodified[case.sop][template.id] = template
        for variant in variants(case):
            text = variant.text
            if noise:
                rng = random.Random(f"{NOISE_SEED}:{variant.id}")
                text = noisy(text, "en" if case.lang == "en" else "zh", rng)
            call = build_call(
                template,
                case.step,
                text,
                filler=FILLER[case.lang],
                call_id=variant.id,
                performs=variant.kind == "perform",
            )
            by_sop[case.sop].append((variant, call, variant_turn_index(template, case.step)))
    outcomes: list[Outcome] = []
    checks: list[tuple[Case, str, bool]] = []
    for sop_id, pairs in sorted(by_sop.items()):
        for sop_lang in SOP_LANGS:
            sop = sop_in_language(sop_by_id(sop_id), sop_lang)
            auditor = Auditor(sop, embedder, learned_acts=learned_acts, scorer=scorer)
            calls = [call for _, call, _ in pairs]
            originals = list(unmodified[sop_id].values())
            results = auditor.audit_many(calls + originals)
            for (variant, _, turn_index), result in zip(pairs, results[: len(calls)], strict=True):
                status, critical, evidence = _status(result, variant.case.step)
                outcome = getattr(result, "outcome", None)  # None: results from before the three-way outcome
                outcomes.append(
                    Outcome(variant, sop_lang, status, critical, result.passed, outcome, turn_index in evidence)
                )
            original_results = dict(zip([c.id for c in originals], results[len(calls) :], strict=True))
            for case in (c for c in cases if c.sop == sop_id):
                template = choose_template(templates[(case.sop, case.lang)], case.step)
                assert template is not None
                status, _, _ = _status(original_results[template.id], case.step)
                checks.append((case, sop_lang, status in CREDITED))
    return Run(noise, outcomes, checks, time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------------- tables


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.2f}" if whole else "–"


def _rates(outcomes: Sequence[Outcome]) -> tuple[int, str, str]:
    return (
        len(outcomes),
        _share(sum(o.credited for o in outcomes), len(outcomes)),
        _share(sum(o.uncertain for o in outcomes), len(outcomes)),
    )


def language_table(outcomes: Sequence[Outcome]) -> str:
    """Per turn-language x SOP-language: near misses credited (false done), performances credited (recall)."""
    rows = []
    for lang in (*LANGS, "all"):
        for sop_lang in SOP_LANGS:
            chosen = [o for o in outcomes if o.sop_lang == sop_lang and lang in (o.variant.case.lang, "all")]
            misses = _rates([o for o in chosen if o.variant.kind == "near_miss"])
            performs = _rates([o for o in chosen if o.variant.kind == "perform"])
            rows.append([lang, sop_lang, *map(str, misses), *map(str, performs)])
    header = [
        "turns",
        "SOP",
        "near misses",
        "false-done rate",
        "uncertain",
        "performances",
        "recall",
        "uncertain",
    ]
    return markdown_table(header, rows)


def act_table(outcomes: Sequence[Outcome]) -> str:
    """Credited share per act (near misses: false done; ``performed``: recall), per SOP language."""
    rows = []
    for act in (PERFORMED, *ACTS):
        row = [act]
        chosen = [o for o in outcomes if o.variant.act == act]
        if not chosen:
            continue
        row.append(str(len(chosen) // len(SOP_LANGS)))
        for sop_lang in SOP_LANGS:
            n, credited, uncertain = _rates([o for o in chosen if o.sop_lang == sop_lang])
            row += [credited, uncertain]
        rows.append(row)
    header = ["act", "turns", "credited (en SOP)", "uncertain (en SOP)", "credited (zh SOP)", "uncertain (zh SOP)"]
    return markdown_table(header, rows)


def step_table(outcomes: Sequence[Outcome]) -> str:
    """Per SOP step, all turn-languages together: false-done rate and recall under each SOP language."""
    keys = sorted({(o.variant.case.sop, o.variant.case.step) for o in outcomes})
    rows = []
    for sop_id, step_id in keys:
        chosen = [o for o in outcomes if (o.variant.case.sop, o.variant.case.step) == (sop_id, step_id)]
        row = [f"{sop_id} / {step_id}"]
        for sop_lang in SOP_LANGS:
            mine = [o for o in chosen if o.sop_lang == sop_lang]
            row.append(_rates([o for o in mine if o.variant.kind == "near_miss"])[1])
        for sop_lang in SOP_LANGS:
            mine = [o for o in chosen if o.sop_lang == sop_lang]
            row.append(_rates([o for o in mine if o.variant.kind == "perform"])[1])
        rows.append(row)
    header = ["SOP / step", "false done (en SOP)", "false done (zh SOP)", "recall (en SOP)", "recall (zh SOP)"]
    return markdown_table(header, rows)


def critical_summary(outcomes: Sequence[Outcome]) -> str:
    """Calls that passed although a critical step was only a near miss (and, for scale, with a performance)."""
    lines = []
    for sop_lang in SOP_LANGS:
        misses = [o for o in outcomes if o.sop_lang == sop_lang and o.critical and o.variant.kind == "near_miss"]
        performs = [o for o in outcomes if o.sop_lang == sop_lang and o.critical and o.variant.kind == "perform"]
        passed = sum(o.passed for o in misses)
        with_outcome = [o for o in misses if o.outcome is not None]
        outcome_text = (
            f"; outcome passed {sum(o.outcome == 'passed' for o in with_outcome)}, needs_review "
            f"{sum(o.outcome == 'needs_review' for o in with_outcome)}"
            if with_outcome
            else ""
        )
        lines.append(
            f"- {sop_lang} SOP: {passed} of {len(misses)} calls passed with a critical step only a near miss"
            f"{outcome_text} (with a true performance instead: {sum(o.passed for o in performs)} of "
            f"{len(performs)} passed)"
        )
    return "\n".join(lines)


def elsewhere_summary(outcomes: Sequence[Outcome]) -> str:
    """How many false dones lean only on other turns of the call, not on the near miss itself."""
    lines = []
    for sop_lang in SOP_LANGS:
        false_done = [o for o in outcomes if o.sop_lang == sop_lang and o.variant.kind == "near_miss" and o.credited]
        elsewhere = sum(not o.variant_is_evidence for o in false_done)
        lines.append(
            f"- {sop_lang} SOP: {elsewhere} of {len(false_done)} false dones have no evidence in the near-miss turn "
            "(the step was credited from other turns of the template)"
        )
    return "\n".join(lines)


def template_summary(run: Run) -> str:
    lines = []
    for sop_lang in SOP_LANGS:
        checks = [ok for _, lang, ok in run.template_checks if lang == sop_lang]
        missed = sorted(case.key for case, lang, ok in run.template_checks if lang == sop_lang and not ok)
        shown = ", ".join(missed[:6]) + (" ..." if len(missed) > 6 else "")
        lines.append(
            f"- {sop_lang} SOP: the unmodified template credits the step in {sum(checks)} of {len(checks)} cases"
            + (f" (not: {shown})" if missed else "")
        )
    return "\n".join(lines)


INTRO = (
    "Does the auditor credit a step when the agent only talks about it? Each case is one SOP step in one "
    "language with turns that perform it and *near misses* that sound like it but do not (a refusal, "
    '"I can\'t", a promise for later, an offer, a mention, the opposite outcome). Each turn replaces the '
    'step\'s first turn in a compliant template call (later turns of the step become "OK."), and the call is '
    "audited with the SOP's English-only and Chinese-only variants (examples and keywords of one script). "
    "A step is **credited** when its status is done, late or out_of_order: for a near miss that is a false "
    "done, for a performance a hit (recall). **Uncertain** (a person must decide) is neither and is counted "
    "apart. Data: `bench/near_miss_data/` (written for this project)."
)


HISTORY = """
How the act check changed on this set (2026-12-07), all turns, clean, false done with the English / Chinese SOP:
- Before: 0.04 / 0.09; with the Chinese SOP 6 of 51 calls passed with a critical step only a near miss.
- A step's name or description that first says the act and then a negative consequence ("冻结这张卡……不能再用于新的
  交易") no longer makes the step accept "cannot" (the Chinese card-freeze step credited "电话里没法冻结" and "I can't
  freeze your card"); a clause that skips something the step's texts name ("身份验证就免了") carries the step even when
  another clause of the turn is closer to it: 0.04 / 0.07.
- Cue words for refusing to apologise (不道歉, 谈不上道歉, "not going to apologise", "nothing to apologise
  for"), "no right to" (没有权限, 无权), "not yet for you" (先不帮您), later (等一下再, 等一下挂电话) and talk
  about other customers or usual practice (有的客户, 一般第一步): 0.02 / 0.05, noisy 0.02 / 0.05, and no call
  with the Chinese SOP passes on a near miss of a critical step. These cues were written after reading this
  set's false dones, so the last figures are in-sample for them; recall of true performances did not move (0.49 /
  0.53), nor did STAR held-out or corpora conversation F1 (bench.abstention's replay: 0.842 / 0.748 and 0.951 /
  0.837, unchanged).
"""


def report(runs: Sequence[Run], cases: Sequence[Case]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for case in cases:
        counts[case.lang] += len(case.performs) + len(case.near_misses)
    data = ", ".join(f"{lang} {counts[lang]}" for lang in LANGS)
    parts = [INTRO, "", f"{len(cases)} cases; agent turns per language: {data}."]
    for run in runs:
        title = "noisy (STT-like) variant turns" if run.noise else "clean turns"
        parts += [
            "",
            f"**{title}** ({run.seconds:.0f} s incl. audits)",
            "",
            language_table(run.outcomes),
            "",
            "Per act:",
            "",
            act_table(run.outcomes),
            "",
            "Critical steps:",
            "",
            critical_summary(run.outcomes),
            "",
            "Where false dones come from:",
            "",
            elsewhere_summary(run.outcomes),
        ]
        if not run.noise:
            parts += ["", "Templates as they are:", "", template_summary(run)]
            parts += ["", "Per step:", "", step_table(run.outcomes)]
    return "\n".join(parts) + "\n" + HISTORY


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--noise", action="store_true", help="also measure with speech-to-text noise on the turns")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--backend", default="use-m", help="embedder backend (default use-m)")
    parser.add_argument(
        "--accuracy",
        choices=("fast", "best"),
        default="fast",
        help="best: the step scorer that also reads multilingual-e5-small; written to its own section",
    )
    args = parser.parse_args()
    from auditor.embeddings.provider import make_embedder

    cases = load_cases()
    found = problems(cases, load_templates())
    if found:
        raise SystemExit("near-miss data problems:\n" + "\n".join(found))
    embedder = make_embedder(args.backend)
    scorer = None
    if args.accuracy == "best":
        from auditor.detection.trained_scorer import TrainedStepScorer
        from auditor.model_files import STEP_SCORER_BEST

        scorer = TrainedStepScorer.load(STEP_SCORER_BEST.folder())
    noises = (False, True) if args.noise else (False,)
    runs = [measure(cases, embedder, noise=noise, scorer=scorer) for noise in noises]
    text = report(runs, cases)
    if scorer is not None:
        text = f"The `best` accuracy mode: step scorer `{scorer.name}` with its own band.\n\n" + text
    print(text)
    if args.write:
        command = COMMAND if args.noise else "python -m bench.near_miss --write"
        if scorer is not None:
            command = command.replace("--write", "--accuracy best --write")
        replace_section("near-miss" if scorer is None else "near-miss-best", command, text)


if __name__ == "__main__":
    main()
