"""The abstention benchmark: offline replay of uncertain bands and the band choice, on hand-made verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checklist.bands import BANDS_PATH, band_for, band_key, load_bands
from auditor.checklist.verdicts import UncertainBand
from auditor.result import Evidence, StepResult
from bench.abstention import (
    BEST,
    Target,
    Verdict,
    VerdictArrays,
    band_grid,
    choose_band,
    curve,
    main,
    save_bands,
    score,
    verdict_of,
)

CLEAR = [Verdict(0.9, True)] * 10 + [Verdict(0.0, False)] * 10
NEAR_MISSES = [Verdict(0.30, True), Verdict(0.32, False), Verdict(0.34, True), Verdict(0.36, False)]
"""Interleaved: no threshold separates them, so only abstaining on all four decides every verdict right."""
VERDICTS = VerdictArrays(CLEAR + NEAR_MISSES)


def test_deciding_everything_scores_lower_than_abstaining_on_the_ambiguous_middle() -> None:
    everything = score(VERDICTS, UncertainBand(0.3, 0.3))
    abstaining = score(VERDICTS, UncertainBand(0.2, 0.5))
    assert everything.coverage == 1.0
    assert everything.accuracy == pytest.approx(22 / 24)  # 0.32 and 0.36 (not performed) are called done
    assert abstaining.coverage == pytest.approx(20 / 24)
    assert abstaining.accuracy == 1.0
    assert abstaining.f1 == 1.0
    assert everything.accuracy < abstaining.accuracy


def test_act_and_condition_verdicts_replay_as_the_auditor_decides() -> None:
    verdicts = VerdictArrays(
        [
            Verdict(0.0, False, refused=0.6),  # only evidence against: missing
            Verdict(0.0, True, offered=0.5),  # only offered: uncertain while the offer reaches low
            Verdict(0.0, True, refused=0.1, offered=0.5),  # a refusal at low outranks the offer
            Verdict(0.3, True, refused=0.8),  # a turn that may perform it outranks a refusal
            Verdict(0.4, False, applies=False),  # condition does not hold: not applicable unless p >= high
            Verdict(0.95, True),  # a sure hit: done
        ]
    )
    done, decided = verdicts.decide(UncertainBand(0.05, 0.5))
    assert list(decided) == [True, False, True, False, True, True]
    assert list(done) == [False, False, False, False, False, True]
    done, decided = verdicts.decide(UncertainBand(0.2, 0.35))
    assert list(decided) == [True, False, False, False, True, True]
    assert list(done) == [False, False, False, False, True, True]  # the not-applicable step did happen, surely
    done, decided = verdicts.decide(UncertainBand(0.55, 0.6))
    assert list(decided) == [True] * 6  # nothing left in the band: the offers alone are below low
    assert list(done) == [False] * 5 + [True]


def test_choose_band_abstains_on_the_near_misses_when_the_target_asks_for_it() -> None:
    choice = choose_band({"examples": VERDICTS}, {"examples": Target(0.97, 0.8)}, band_grid())
    assert choice.slack >= 0
    assert choice.band.low <= 0.30 and choice.band.high > 0.36
    assert choice.scores["examples"].accuracy == 1.0
    assert choice.scores["examples"].coverage == pytest.approx(20 / 24)


def test_choose_band_reports_a_missed_target_as_negative_slack() -> None:
    choice = choose_band({"description": VERDICTS}, {"description": Target(1.0, 0.9)}, band_grid())
    assert choice.slack < 0  # 100 % accuracy needs abstaining on 4/24 > 10 %
    assert not Target(1.0, 0.9).met(choice.scores["description"])


def test_curve_is_the_best_accuracy_at_each_share_decided() -> None:
    rows = dict(curve(VERDICTS, band_grid(), (1.0, 0.8)))
    assert rows[1.0].coverage == 1.0 and rows[1.0].accuracy == pytest.approx(22 / 24)
    assert rows[0.8].accuracy == 1.0
    offered_above_every_low = VerdictArrays([Verdict(0.0, True, offered=0.96), Verdict(0.9, True)])
    most = dict(curve(offered_above_every_low, band_grid(), (1.0,)))[1.0]
    assert most.coverage == 0.5 and most.accuracy == 1.0  # no band decides it: the most any band decides


def _step(status: str, confidence: float, reason: str | None = None, acts: tuple[tuple[str, float], ...] = ()):  # type: ignore[no-untyped-def]
    evidence = [
        Evidence(turn_index=n, text="x", score=0.5, method="semantic", confidence=c, act=a)  # type: ignore[arg-type]
        for n, (a, c) in enumerate(acts)
    ]
    return StepResult(step_id="s", status=status, confidence=confidence, reason=reason, evidence=evidence)  # type: ignore[arg-type]


def test_verdict_of_a_wide_band_result() -> None:
    maybe = _step("uncertain", 0.31, "turn 0 may perform it; turn 1 refused", (("performed", 0.31), ("refused", 0.5)))
    assert verdict_of(maybe, True) == Verdict(0.31, True, refused=0.5)
    only = _step("uncertain", 0.6, "only turn 0 offered it", (("offered", 0.6),))
    assert verdict_of(only, False) == Verdict(0.0, False, offered=0.6)
    against = _step("missing", 0.7, "not performed: turn 0 refused", (("refused", 0.7), ("promised", 0.2)))
    assert verdict_of(against, False) == Verdict(0.0, False, refused=0.7, offered=0.2)
    # a step that is an offer is performed by an offer
    assert verdict_of(only, True, performs=lambda act: act in ("performed", "offered")) == Verdict(0.0, True)
    assert verdict_of(_step("missing", 0.9, "no turn performs this step"), False) == Verdict(0.0, False)
    assert verdict_of(_step("done", 1.0), True).p == 1.0
    assert verdict_of(_step("uncertain", 0.7), True, forbidden=True).p == pytest.approx(0.3)
    assert verdict_of(_step("violated", 1.0), True, forbidden=True).p == 1.0


def test_saved_bands_load_through_band_for(tmp_path: Path) -> None:
    path = tmp_path / "uncertain_bands.json"
    save_bands({"emb/scorer": {"low": 0.1, "high": 0.6, "measured": "test"}}, path)
    save_bands({"other/scorer": {"low": 0.2, "high": 0.2, "measured": "test"}}, path)
    assert band_for("emb", "scorer", 0.5, path) == UncertainBand(0.1, 0.6)
    assert band_for("other", "scorer", 0.5, path) == UncertainBand(0.2, 0.2)
    assert band_for("unknown", "scorer", 0.5, path) == UncertainBand(0.5, 0.5)


def test_the_shipped_band_file_loads_when_present() -> None:
    if not BANDS_PATH.exists():
        pytest.skip("no measured bands yet (python -m bench.abstention --write)")
    bands = load_bands()
    assert bands
    for key, entry in bands.items():
        embedder, _, scorer = key.partition("/")
        band = band_for(embedder, scorer, 0.5)
        assert 0.0 <= band.low <= band.high <= 1.0
        assert (band.low, band.high) == (entry["low"], entry["high"])
        assert entry["measured"]


def test_bands_of_must_name_a_backend_that_is_run() -> None:
    with pytest.raises(SystemExit):  # refused before anything is measured or written
        main(["--backends", "use-m", "--bands-of", BEST, "--write"])


def test_the_best_mode_has_its_own_measured_band() -> None:
    """The key ``band_for`` looks up for ``load_models(accuracy="best")``'s scorer is in the shipped band file."""
    from auditor.detection.trained_scorer import TrainedStepScorer
    from auditor.model_files import STEP_SCORER_BEST

    scorer = TrainedStepScorer.load(STEP_SCORER_BEST.folder())  # the second encoder is only made when scoring
    bands = load_bands()
    assert band_key("use-multilingual-v3", scorer.name) in bands
    assert "use-multilingual-v3/trained-step-scorer" in bands  # USE-m alone keeps its own
