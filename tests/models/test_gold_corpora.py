"""Accuracy on the project's gold-labelled corpora with the real multilingual model (slow; prints per-step P/R).

Detection is measured as the step scorer decides (the uncertain band closed at its done threshold); the measured band
then only moves unsure verdicts to a person, which the last test checks (bench/abstention.py measures it).
"""

from __future__ import annotations

import pytest

from auditor.auditor import Auditor
from auditor.checklist.verdicts import UncertainBand
from auditor.embeddings.provider import make_embedder
from auditor.evaluation.step_metrics import score_results
from auditor.training.pairs import description_only
from bench.corpora_data import builtin, corpora_by_sop

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def audited():
    embedder = make_embedder("use-m")
    pairs: dict[str, list] = {"examples": [], "description-only": [], "examples, measured band": []}
    for sop_id, conversations in sorted(corpora_by_sop().items()):
        for variant, sop in (("examples", builtin(sop_id)), ("description-only", description_only(builtin(sop_id)))):
            auditor = Auditor(sop, embedder)
            threshold = auditor.semantic.scorer.done_threshold
            if variant == "examples":
                banded = auditor.audit_many(conversations)
                pairs["examples, measured band"] += list(zip(conversations, banded, strict=True))
            auditor.band = UncertainBand(threshold, threshold)
            pairs[variant] += list(zip(conversations, auditor.audit_many(conversations), strict=True))
    return pairs


def print_table(title, metrics):
    print(f"\n{title}\n{'step':<24} {'turn P':>7} {'turn R':>7} {'conv P':>7} {'conv R':>7}")  # noqa: T201
    for step_id, turn in sorted(metrics.turn.items()):
        conv = metrics.conversation[step_id]
        print(f"{step_id:<24} {turn.precision:7.2f} {turn.recall:7.2f} {conv.precision:7.2f} {conv.recall:7.2f}")  # noqa: T201


def test_steps_are_found_in_the_conversations_that_perform_them(audited):
    metrics = score_results(audited["examples"])
    print_table("SOPs with examples, all corpora", metrics)
    conversation = metrics.overall("conversation")
    assert conversation.recall >= 0.9 and conversation.precision >= 0.95  # measured 0.93 / 0.99
    assert metrics.overall("turn").f1 >= 0.7


def test_verdicts_match_the_gold_statuses(audited):
    metrics = score_results(audited["examples"])
    print(f"\nverdict accuracy {metrics.status_accuracy:.3f}; confusions:")  # noqa: T201
    for (gold, predicted), count in metrics.status_confusion.most_common():
        if gold != predicted:
            print(f"  gold {gold:<15} predicted {predicted:<15} x{count}")  # noqa: T201
    assert metrics.status_accuracy >= 0.85  # measured 0.90 (docs/benchmarks.md)


@pytest.mark.parametrize("lang_prefix", ["en-", "zhs-", "zht-"])
def test_every_language_is_first_class(audited, lang_prefix):
    pairs = [(c, r) for c, r in audited["examples"] if c.id.startswith(lang_prefix)]
    metrics = score_results(pairs)
    assert len(pairs) >= 20
    assert metrics.overall("conversation").f1 >= 0.9
    assert metrics.status_accuracy >= 0.85


def test_description_only_sops_still_work_zero_shot(audited):
    metrics = score_results(audited["description-only"])
    print_table("description-only SOPs, all corpora", metrics)
    assert metrics.overall("conversation").f1 >= 0.8  # measured 0.87


def test_the_measured_band_leaves_unsure_steps_to_a_person_without_false_passes(audited):
    """With the band, what is still called done was done, and some verdicts now wait for a coach."""
    decided = score_results(audited["examples"]).overall("conversation")
    banded = score_results(audited["examples, measured band"]).overall("conversation")
    uncertain = sum(s.status == "uncertain" for _, result in audited["examples, measured band"] for s in result.steps)
    print(  # noqa: T201
        f"\nmeasured band: conv precision {banded.precision:.3f} (decided {decided.precision:.3f}), "
        f"uncertain steps {uncertain}"
    )
    assert banded.precision >= decided.precision and uncertain > 0
