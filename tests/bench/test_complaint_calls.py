"""The complaint-calls benchmark builds its skipped-step calls right: the step's agent turns are gone, and so is the
gold of every step that shared only those turns; nothing else changes."""

from __future__ import annotations

from auditor.conversation import Role
from auditor.evaluation.step_metrics import gold_turns
from bench.complaint_calls import CALL_LANGS, FILLER, load_calls, skipped_variants


def test_every_performed_step_gets_one_skipped_call_without_its_turns():
    for lang in CALL_LANGS:
        for call in load_calls(lang):
            gold = gold_turns(call)
            variants = skipped_variants(call, lang)
            assert len(variants) == len(gold)
            for variant, removed in variants:
                step_id = variant.id.rsplit("-skip-", 1)[1]
                assert step_id in removed and removed <= set(gold)
                assert step_id not in gold_turns(variant)
                changed = [
                    (before, after) for before, after in zip(call.turns, variant.turns, strict=True) if before != after
                ]
                assert changed and all(before.role is Role.AGENT for before, _ in changed)
                assert all(after.text == FILLER[lang] for _, after in changed)
                assert {t for s in removed for t in gold[s]} == {before.index for before, _ in changed}
                kept = set(gold) - removed
                assert all(gold_turns(variant)[s] == gold[s] for s in kept)
