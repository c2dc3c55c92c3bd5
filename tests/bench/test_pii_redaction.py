"""The PII targets of issue 7: recall >= 0.99 on the generated set, false positives <= 1% of real turns."""

from __future__ import annotations

import json

import pytest

from auditor.privacy.policy import RedactionPolicy
from auditor.privacy.redaction import chinese_id_valid, find_pii, iban_valid, luhn_valid
from bench.pii_redaction import (
    CORPORA,
    EXTERNAL,
    JUDGEMENTS,
    TARGET_FALSE_POSITIVES,
    TARGET_RECALL,
    corpus_findings,
    corpus_turns,
    generate,
    judged_kinds,
    recall_table,
)


def test_the_generated_values_are_valid_and_varied():
    samples = generate(2000, seed=0)
    assert len(samples) == 2000
    assert {sample.lang for sample in samples} == {"en", "zh"}
    by_kind = {kind: [s.value for s in samples if s.kind == kind] for kind in {s.kind for s in samples}}
    assert all(luhn_valid(value) for value in by_kind["card"])
    assert all(chinese_id_valid(value) for value in by_kind["cn_id"])
    assert all(iban_valid(value) for value in by_kind["iban"])
    assert len({value[:2] for value in by_kind["iban"]}) >= 10  # IBANs of ten countries and more
    assert any(" " in value for value in by_kind["card"]) and any("-" in value for value in by_kind["card"])
    assert any(not value.isascii() for value in by_kind["phone"])  # full-width digits
    assert generate(50, seed=3) == generate(50, seed=3)


def test_recall_on_the_generated_set_meets_the_target():
    samples = generate(2000, seed=0)
    policy = RedactionPolicy()
    tallies = recall_table(samples, [policy.find(sample.text) for sample in samples])
    found = sum(tally.found for tally in tallies.values())
    assert found / len(samples) >= TARGET_RECALL, {kind: tally.misses[:3] for kind, tally in tallies.items()}
    assert all(tally.found / tally.total >= 0.95 for tally in tallies.values())
    assert sum(tally.over_redacted for tally in tallies.values()) <= 0.01 * len(samples)


@pytest.mark.slow
@pytest.mark.parametrize("corpus", CORPORA)
def test_false_positives_on_real_conversations_stay_under_one_percent_of_turns(corpus):
    if not (EXTERNAL / corpus).exists():
        pytest.skip(f"external conversations not found: {EXTERNAL / corpus}")
    judgements = json.loads(JUDGEMENTS.read_text(encoding="utf-8"))
    turns = corpus_turns(corpus)
    policy = RedactionPolicy()
    findings = corpus_findings(corpus, turns, [policy.find(turn.text) for turn in turns])
    per_kind, estimate = judged_kinds(findings, judgements, sample_size=20, seed=0)
    sampled, judged = sum(j.sampled for j in per_kind.values()), sum(j.judged for j in per_kind.values())
    assert judged >= 0.8 * sampled, "the redactions changed: rerun bench.pii_redaction and judge its samples"
    assert estimate / findings.turns <= TARGET_FALSE_POSITIVES
    # the text around what is redacted survives: a redacted turn keeps most of its characters
    redacted = [turn.text for turn in turns if find_pii(turn.text)]
    kept = sum(len(policy.redact(text)) for text in redacted) / max(1, sum(len(text) for text in redacted))
    assert kept > 0.5
