"""Lint a valid SOP for what makes it audit badly: thin steps, confusable examples, contradictory rules.

Loading (``auditor.sop.loading``) rejects SOPs that cannot be used at all; the linter finds SOPs that load
but will be audited poorly or confuse agents. Every finding is a ``SopProblem`` with ``severity`` warning
or info, a stable ``code``, and the file, line, step and field it is about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from auditor.embeddings.base import Embedder
from auditor.sop.loading import SopProblem, with_lines
from auditor.sop.review_due import review_status
from auditor.sop_format import Sop, Step, phrase_key
from auditor.text.normalise import detect_lang, has_han, normalise_text

EXAMPLE_SIMILARITY = 0.8
"""Cosine similarity at or above which two examples of different steps are likely to be confused."""

COUNTER_EXAMPLE_SIMILARITY = 0.85
"""Cosine similarity at or above which a counter-example cancels an example of its own step.

Higher than ``EXAMPLE_SIMILARITY``: a counter-example is meant to sound like the step, so only a near
paraphrase is a mistake. With the default multilingual model, paraphrases of "I've frozen your card" score
0.83-0.96 against it, real counter-examples ("I can't freeze your card over the phone", "I don't need the last
four digits of your card") 0.53-0.78."""

GENERIC_KEYWORDS = frozenset(
    "ok okay yes no hi hello hey thanks thank you sorry please sure right".split()
    + "好 好的 是 是的 对 嗯 谢谢 您好 你好 请".split()
)
"""Keywords so common that an exact match says nothing about the step."""

_PUNCTUATION = re.compile(r"[\s\W_]+", re.UNICODE)
CONDITION_LANGUAGES = frozenset({"en", "zh"})
"""Languages the built-in ``when`` conditions have phrase patterns for; others rely on embeddings alone."""


@dataclass(frozen=True)
class LintOptions:
    """Thresholds of the linter; ``today`` fixes the review date in tests."""

    example_similarity: float = EXAMPLE_SIMILARITY
    counter_example_similarity: float = COUNTER_EXAMPLE_SIMILARITY
    today: date | None = None


def lint_sop(
    sop: Sop,
    *,
    source: str = "<sop>",
    text: str | None = None,
    embedder: Embedder | None = None,
    options: LintOptions | None = None,
) -> list[SopProblem]:
    """Every warning and hint for a valid SOP; with ``text`` (the YAML) findings carry line numbers.

    Without an embedder, only exact duplicates count as confusable examples.
    """
    options = options or LintOptions()
    findings = list(_metadata_findings(sop, options))
    for step in sop.steps:
        findings += _step_text_findings(sop, step)
    findings += _duplicate_findings(sop)
    findings += _forbidden_findings(sop)
    findings += _counter_example_findings(sop)
    if embedder is not None:
        findings += _similar_example_findings(sop, embedder, options.example_similarity)
        findings += _cancelling_counter_example_findings(sop, embedder, options.counter_example_similarity)
    findings += _order_findings(sop)
    findings += _condition_findings(sop)
    findings = [replace(finding, path=source) for finding in findings]
    return with_lines(findings, text) if text is not None else findings


def _warning(code: str, message: str, step_id: str | None = None, field: str | None = None) -> SopProblem:
    return SopProblem("", code, message, step_id, field, severity="warning")


def _info(code: str, message: str, step_id: str | None = None, field: str | None = None) -> SopProblem:
    return SopProblem("", code, message, step_id, field, severity="info")


def _metadata_findings(sop: Sop, options: LintOptions) -> Iterable[SopProblem]:
    if not sop.owner:
        yield _info("no_owner", "no owner (责任人): say who answers for this SOP", field="owner")
    if sop.review_interval_days is None:
        yield _info("no_review_interval", "no review_interval_days: nobody will be reminded to review it")
    status = review_status(sop, options.today)
    if status.message:
        field = "last_reviewed" if sop.last_reviewed else "review_interval_days"
        yield _warning("review_overdue", status.message, field=field)


def _base_language(code: str) -> str:
    return code.split("-")[0].lower()


def _step_text_findings(sop: Sop, step: Step) -> Iterable[SopProblem]:
    if step.forbidden and not step.examples and not step.keywords:
        yield _warning(
            "forbidden_without_examples",
            "a forbidden step with neither examples nor keywords can only be found zero-shot from its "
            "description, which is weak: violations will be missed; add 3-5 examples of what must not be said "
            "(in each language you audit) and keywords that only such turns contain",
            step.id,
            "examples",
        )
    elif not step.description.strip() and not step.examples:
        yield _warning(
            "no_description_or_examples",
            "neither a description nor examples: it will be detected from its name alone; add a sentence "
            "saying what the agent does and 3-5 example phrasings",
            step.id,
            "description",
        )
    elif not step.examples:
        yield _info(
            "no_examples",
            "no examples: detected from the description alone; 3-5 real phrasings make it sharper",
            step.id,
            "examples",
        )
    if step.examples:
        declared = {_base_language(code) for code in sop.languages}
        present = {detect_lang(example) for example in step.examples}
        for lang in sorted(declared & {"en", "zh"} - present):
            yield _warning(
                "no_examples_in_language",
                f"the SOP is for {lang!r} but this step has no example in it (cross-lingual matching is weaker)",
                step.id,
                "examples",
            )
        for lang in sorted(present - declared):
            yield _info(
                "example_language_not_declared",
                f"examples in {lang!r}, which is not in the SOP's languages {sop.languages}",
                step.id,
                "examples",
            )
    for keyword in step.keywords:
        if _is_generic(keyword):
            yield _warning(
                "generic_keyword",
                f"keyword {keyword!r} is so common it will match turns that do not perform the step",
                step.id,
                "keywords",
            )


def _is_generic(keyword: str) -> bool:
    folded = keyword.strip().casefold()
    han = sum(1 for ch in folded if "\u3400" <= ch <= "\u9fff")
    if folded in GENERIC_KEYWORDS:
        return True
    if han:
        return han < 2 and len(folded) < 3
    return len(_PUNCTUATION.sub("", folded)) < 3


_comparable = phrase_key
"""Text as matching sees it, less case and punctuation: what makes two phrasings the same."""


def _duplicate_findings(sop: Sop) -> Iterable[SopProblem]:
    owners: dict[str, list[tuple[str, str]]] = {}
    for step in sop.steps:
        seen: set[str] = set()
        for example in step.examples:
            key = _comparable(example)
            if key in seen:
                yield _info("duplicate_example", f"example {example!r} is listed twice", step.id, "examples")
            seen.add(key)
            owners.setdefault(key, []).append((step.id, example))
    for places in owners.values():
        steps = list(dict.fromkeys(step_id for step_id, _ in places))
        if len(steps) > 1:
            yield _warning(
                "example_in_two_steps",
                f"example {places[0][1]!r} is given for steps {', '.join(steps)}: a turn saying it cannot be "
                "told apart; keep it in one step",
                steps[-1],
                "examples",
            )
    keywords: dict[str, list[str]] = {}
    for step in sop.steps:
        for keyword in step.keywords:
            keywords.setdefault(_comparable(keyword), []).append(step.id)
    for key, steps in keywords.items():
        distinct = list(dict.fromkeys(steps))
        if len(distinct) > 1 and key:
            yield _warning(
                "keyword_in_two_steps",
                f"the same keyword marks steps {', '.join(distinct)}; an exact match cannot tell them apart",
                distinct[-1],
                "keywords",
            )


def _forbidden_findings(sop: Sop) -> Iterable[SopProblem]:
    from auditor.sop.authoring import PROHIBITION

    for step in sop.steps:
        if not step.forbidden:
            continue
        if step.speaker == "customer":
            yield _warning(
                "forbidden_customer_step",
                "a forbidden step said by the customer: the call would be marked as violating the SOP for what "
                "the customer says; forbidden steps are things the agent must not say (speaker: agent)",
                step.id,
                "speaker",
            )
        if not step.required and not step.critical:
            yield _info(
                "forbidden_not_scored",
                "forbidden but neither required nor critical: a violation is reported but changes neither the "
                "score nor whether the call passes; set required: true (it counts in the score) or critical: true "
                "(it fails the call)",
                step.id,
                "required",
            )
    if not any(step.forbidden for step in sop.steps):
        for note in sop.notes:
            if PROHIBITION.match(note):
                yield _info(
                    "prohibition_not_audited",
                    f"note {note!r} says what agents must not do, but no step is forbidden: notes are not audited; "
                    "if it is something an agent can be heard saying, add it as a step with forbidden: true",
                    field="notes",
                )


def _words(text: str) -> str:
    """Text as a phrase matcher sees it: normalised, casefolded, punctuation as spaces; no spaces between Han."""
    spaced = " ".join(re.sub(r"[\W_]+", " ", normalise_text(text).casefold()).split())
    return re.sub(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])", "", spaced)


def _contains_phrase(text: str, phrase: str) -> bool:
    words, wanted = _words(text), _words(phrase)
    if not wanted:
        return False
    if has_han(wanted):
        return wanted.replace(" ", "") in words.replace(" ", "")
    return f" {wanted} " in f" {words} "


def _counter_example_findings(sop: Sop) -> Iterable[SopProblem]:
    """Counter-examples listed twice, or holding one of the step's own keywords (which fires on them anyway)."""
    for step in sop.steps:
        seen: set[str] = set()
        for counter in step.counter_examples:
            key = _comparable(counter)
            if key in seen:
                yield _info(
                    "duplicate_counter_example",
                    f"counter-example {counter!r} is listed twice",
                    step.id,
                    "counter_examples",
                )
            seen.add(key)
            for keyword in step.keywords:
                if _contains_phrase(counter, keyword):
                    yield _warning(
                        "counter_example_has_keyword",
                        f"counter-example {counter!r} contains the step's keyword {keyword!r}: the keyword matches "
                        "turns like it exactly, so they still look like the step; use keywords that only turns "
                        "doing the step contain",
                        step.id,
                        "keywords",
                    )


def _cancelling_counter_example_findings(sop: Sop, embedder: Embedder, threshold: float) -> Iterable[SopProblem]:
    """Counter-examples that paraphrase an example of their own step: a turn like it is refused either way."""
    steps = [step for step in sop.steps if step.examples and step.counter_examples]
    if not steps:
        return
    texts = [text for step in steps for text in (*step.examples, *step.counter_examples)]
    vectors = embedder.encode([normalise_text(text) for text in texts])
    start = 0
    for step in steps:
        examples = vectors[start : start + len(step.examples)]
        start += len(step.examples)
        counters = vectors[start : start + len(step.counter_examples)]
        start += len(step.counter_examples)
        similarity = counters @ examples.T
        for row, counter in enumerate(step.counter_examples):
            column = int(np.argmax(similarity[row]))
            score = float(similarity[row, column])
            if score >= threshold:
                example = step.examples[column]
                yield _warning(
                    "counter_example_cancels_example",
                    f"counter-example {counter!r} is a near duplicate of the step's example {example!r} "
                    f"(similarity {score:.2f}): turns like the example will be refused as the counter-example; "
                    "make plain what makes it not the step (a refusal, a negation), or drop one of them",
                    step.id,
                    "counter_examples",
                )


def _similar_example_findings(sop: Sop, embedder: Embedder, threshold: float) -> Iterable[SopProblem]:
    """Pairs of examples of two different steps closer than ``threshold``: the auditor will confuse them."""
    owners = [(step.id, example) for step in sop.steps for example in step.examples]
    if len(owners) < 2:
        return
    vectors = embedder.encode([normalise_text(example) for _, example in owners])
    similarity = vectors @ vectors.T
    reported: set[tuple[str, str]] = set()
    worst: dict[tuple[str, str], tuple[float, str, str]] = {}
    for i, j in zip(*np.triu_indices(len(owners), k=1), strict=True):
        (step_a, text_a), (step_b, text_b) = owners[int(i)], owners[int(j)]
        score = float(similarity[i, j])
        if step_a == step_b or score < threshold or _comparable(text_a) == _comparable(text_b):
            continue
        pair = (step_a, step_b)
        if pair not in worst or score > worst[pair][0]:
            worst[pair] = (score, text_a, text_b)
    for (step_a, step_b), (score, text_a, text_b) in sorted(worst.items(), key=lambda item: -item[1][0]):
        if (step_a, step_b) in reported:
            continue
        reported.add((step_a, step_b))
        yield _warning(
            "examples_too_similar",
            f"example {text_b!r} is very close to {step_a!r} example {text_a!r} (similarity {score:.2f}): "
            "turns like it will be confused between the two steps; reword one or move it",
            step_b,
            "examples",
        )


def _order_findings(sop: Sop) -> Iterable[SopProblem]:
    position = {step.id: index for index, step in enumerate(sop.steps)}
    steps = {step.id: step for step in sop.steps}
    for step in sop.steps:
        for later_id in step.before:
            later = steps.get(later_id)
            if later is None:
                continue
            if position[later_id] < position[step.id]:
                yield _warning(
                    "order_against_list",
                    f"must come before {later_id!r}, which is listed earlier: list the steps in the order agents "
                    "do them (the list order also guides detection and the training document)",
                    step.id,
                    "before",
                )
            if step.within_last_turns and later.within_first_turns:
                limit = step.within_last_turns + later.within_first_turns - 1
                yield _warning(
                    "order_contradicts_position",
                    f"must come before {later_id!r} (within the first {later.within_first_turns} spoken turns) but "
                    f"itself within the last {step.within_last_turns}: only conversations of at most {limit} "
                    "spoken turns can satisfy both",
                    step.id,
                    "within_last_turns",
                )
    for step in sop.steps:
        if step.within_first_turns and step.within_last_turns:
            yield _info(
                "first_and_last_turns",
                f"both within the first {step.within_first_turns} and the last {step.within_last_turns} spoken "
                "turns: only short conversations can satisfy both",
                step.id,
                "within_last_turns",
            )
        if step.critical and not step.required and not step.forbidden:
            yield _warning(
                "critical_but_optional",
                "critical but not required: missing it fails the conversation, so it is not optional; "
                "set required: true or critical: false",
                step.id,
                "critical",
            )


def _condition_findings(sop: Sop) -> Iterable[SopProblem]:
    other = sorted({_base_language(code) for code in sop.languages} - CONDITION_LANGUAGES)
    for step in sop.steps:
        if step.when and step.speaker == "customer":
            yield _warning(
                "condition_on_customer_step",
                f"a customer step that applies only when {step.when!r} holds: the condition is read from the "
                "customer's own turns, so the step and its condition test the same thing",
                step.id,
                "when",
            )
        if step.when and other:
            yield _info(
                "condition_language",
                f"condition {step.when!r} has phrase patterns for English and Chinese only; in {', '.join(other)} "
                "it is recognised by meaning alone",
                step.id,
                "when",
            )
    yield from _unreachable_findings(sop)


def _unreachable_findings(sop: Sop) -> Iterable[SopProblem]:
    """Steps that can never be done right: an order rule needs a later turn that a position rule forbids."""
    steps = {step.id: step for step in sop.steps}
    for step in sop.steps:
        for later_id in step.before:
            later = steps.get(later_id)
            if later is None or later.speaker == step.speaker:
                continue
            # the two steps belong to different speakers, so they are in different turns: strictly earlier
            if later.within_first_turns == 1:
                yield _warning(
                    "unreachable_order",
                    f"must come before {later_id!r}, a {later.speaker} step required in the very first spoken "
                    f"turn: a {step.speaker} turn cannot come before it, so this step can never be in order",
                    step.id,
                    "before",
                )
            if step.within_last_turns == 1:
                yield _warning(
                    "unreachable_order",
                    f"required in the very last spoken turn but must come before {later_id!r}, a {later.speaker} "
                    "step that would then need a later turn",
                    step.id,
                    "within_last_turns",
                )
