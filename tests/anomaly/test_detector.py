"""The anomaly detector on synthetic feature rows: ranking, flags, coach-readable reasons, safe save and load."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import skops.io
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from auditor.anomaly.detector import AnomalyDetector, ModelFileError, fit_anomaly_detector, load_default_detector
from auditor.model_files import ANOMALY


def baseline_rows(n: int = 300, *, timed: bool = True, seed: int = 7) -> list[dict[str, float]]:
    """Ordinary conversations: about 1 missing step, 14 turns, half the talk by the agent, short silences."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        rows.append(
            {
                "missing_required": float(rng.poisson(1.0)),
                "spoken_turns": float(rng.integers(10, 19)),
                "agent_talk_share": float(rng.uniform(0.4, 0.6)),
                "has_timestamps": 1.0 if timed else 0.0,
                "longest_gap_s": float(rng.uniform(2.0, 20.0)) if timed else math.nan,
                "customer_repeat_share": 0.0,
            }
        )
    return rows


def typical() -> dict[str, float]:
    return {"missing_required": 1.0, "spoken_turns": 14.0, "agent_talk_share": 0.5, "longest_gap_s": 10.0}


def shifted(**changes: float) -> dict[str, float]:
    return {**typical(), **changes}


@pytest.fixture(scope="module")
def detector() -> AnomalyDetector:
    return fit_anomaly_detector(baseline_rows(), trained_on="synthetic", n_estimators=100)


def test_an_obvious_outlier_gets_the_top_score_and_the_right_reason(detector):
    rows = [typical(), shifted(missing_required=12.0), shifted(spoken_turns=15.0)]
    anomalies = detector.score_many(rows)
    assert anomalies[1].score == max(a.score for a in anomalies)
    assert anomalies[1].score >= 0.95 and anomalies[1].flagged
    assert anomalies[1].reasons[0].startswith("12 required steps missing (baseline median 1")
    assert detector.explain_many(rows)[1][0].feature == "missing_required"
    assert not anomalies[0].flagged and anomalies[0].reasons == []
    assert 0.0 <= anomalies[0].score < 0.9


def test_a_long_silence_is_named_with_the_baseline_p95(detector):
    anomaly = detector.score(shifted(longest_gap_s=95.0))
    assert anomaly.flagged
    assert anomaly.reasons[0].startswith("longest silence 95 s (baseline median")
    assert "p95" in anomaly.reasons[0]


def test_a_low_value_is_compared_with_p5(detector):
    anomaly = detector.score(shifted(spoken_turns=2.0, agent_talk_share=0.05))
    assert anomaly.flagged
    assert {reason.split(" (")[0] for reason in anomaly.reasons} == {"2 spoken turns", "agent talk share 5%"}
    assert all("p5 " in reason for reason in anomaly.reasons)


def test_scores_are_ranks_against_the_baseline(detector):
    rows = baseline_rows(200, seed=99)
    scores = np.array([a.score for a in detector.score_many(rows)])
    assert scores.min() >= 0 and scores.max() <= 1
    assert 0.35 < np.median(scores) < 0.65  # new ordinary conversations rank like the baseline
    assert 0.01 < np.mean(scores >= detector.metadata.flag_quantile) < 0.12
    raw = detector.raw_scores(rows)
    assert np.all(np.diff(scores[np.argsort(raw)]) >= 0)  # monotone in the raw isolation score


def test_unmeasured_values_are_neutral_and_never_a_reason(detector):
    untimed = {k: v for k, v in typical().items() if k != "longest_gap_s"}
    with_nan = {**typical(), "longest_gap_s": math.nan}
    anomalies = detector.score_many([untimed, with_nan, typical()])
    assert anomalies[0].score == anomalies[1].score
    assert not any(a.reasons for a in anomalies)


def test_features_the_baseline_cannot_model_are_listed_not_used():
    rows = baseline_rows(100, timed=False) + baseline_rows(10, seed=3)
    detector = fit_anomaly_detector(rows, n_estimators=50)
    assert "longest_gap_s" not in detector.feature_names
    assert "measured in 10 of 110" in detector.metadata.not_modelled["longest_gap_s"]
    assert "reported for context, not modelled" in detector.metadata.not_modelled["has_timestamps"]
    assert "constant" in detector.metadata.not_modelled["customer_repeat_share"]
    assert "dissatisfaction_score" in detector.metadata.not_modelled
    assert not detector.score(shifted(longest_gap_s=500.0)).reasons


def test_extra_features_from_the_rows_are_modelled():
    rows = [{**row, "escalations": float(i % 2)} for i, row in enumerate(baseline_rows(100))]
    detector = fit_anomaly_detector(rows, n_estimators=50)
    assert "escalations" in detector.feature_names


def test_fit_needs_a_real_baseline():
    with pytest.raises(ValueError, match="at least"):
        fit_anomaly_detector(baseline_rows(5))


def test_save_and_load_round_trip_with_a_model_card(detector, tmp_path):
    detector.save(tmp_path)
    loaded = AnomalyDetector.load(tmp_path)
    rows = [typical(), shifted(missing_required=12.0)]
    assert loaded.score_many(rows) == detector.score_many(rows)
    card = (tmp_path / ANOMALY.card_file).read_text(encoding="utf-8")
    assert "missing_required" in card and "scikit-learn" in card and "synthetic" in card
    metadata = json.loads((tmp_path / ANOMALY.metadata_file).read_text(encoding="utf-8"))
    assert metadata["feature_names"] == loaded.feature_names
    assert load_default_detector(tmp_path) is not None
    with pytest.raises(ModelFileError, match="absent"):
        load_default_detector(tmp_path / "absent")  # a missing model is an error naming it, never skipped


def shout(values):
    return values


def test_a_file_with_untrusted_types_is_refused(detector, tmp_path):
    detector.save(tmp_path)
    hostile = make_pipeline(FunctionTransformer(shout), StandardScaler()).fit(np.ones((3, 2)))
    skops.io.dump(hostile, tmp_path / ANOMALY.model_file)
    with pytest.raises(ModelFileError, match="untrusted"):
        AnomalyDetector.load(tmp_path)


def test_a_file_without_a_detector_is_refused(detector, tmp_path):
    detector.save(tmp_path)
    skops.io.dump(StandardScaler().fit(np.ones((3, 2))), tmp_path / ANOMALY.model_file)
    with pytest.raises(ModelFileError, match="not an anomaly detector"):
        AnomalyDetector.load(tmp_path)
    with pytest.raises(ModelFileError, match="expected"):
        AnomalyDetector.load(tmp_path / "nowhere")


def test_a_flagged_conversation_always_says_why():
    detector = fit_anomaly_detector(baseline_rows(), trained_on="synthetic")
    rows = baseline_rows(200, seed=11)
    for anomaly in detector.score_many(rows):
        assert anomaly.reasons or not anomaly.flagged


def test_a_freshly_fitted_detector_scores_fast_and_exactly_as_scikit_learn_does(detector):
    """A batch audit fits its own detector and scores every conversation with it: it must take the direct path
    (not a joblib dispatch per tree for every chunk of results) and give scikit-learn's numbers."""
    assert detector._forest is not None, "a fitted pipeline should be scored without scikit-learn's dispatch"
    values, _ = detector.matrix([typical(), shifted(silence_share=0.9)] + baseline_rows(50, seed=3))
    assert np.array_equal(detector._raw(values), -detector.estimator.score_samples(values))
