"""The interval estimates and tests insights print, checked against scipy and against known truths."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from auditor.insights.statistics import (
    Table2x2,
    benjamini_hochberg,
    mantel_haenszel_difference,
    mean_difference,
    rate_difference,
    stratified_mean_difference,
    wilson_interval,
)


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (10, 10), (45, 120), (1, 1000)])
def test_wilson_interval_matches_scipy(k, n):
    expected = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(k, n) == pytest.approx((expected.low, expected.high), abs=1e-9)


def test_one_stratum_mantel_haenszel_is_the_plain_difference_with_the_wald_error_and_chi2_test():
    table = Table2x2(a=30, n1=100, c=50, n0=120)
    estimate = mantel_haenszel_difference([table])
    p1, p0 = 30 / 100, 50 / 120
    assert estimate.difference == pytest.approx(p1 - p0)
    wald = math.sqrt(p1 * (1 - p1) / 100 + p0 * (1 - p0) / 120)
    assert (estimate.high - estimate.difference) / stats.norm.ppf(0.975) == pytest.approx(wald, rel=1e-6)
    # the CMH test with one stratum is the chi-square test scaled by (N-1)/N
    chi2 = stats.chi2_contingency([[30, 70], [50, 70]], correction=False).statistic * (219 / 220)
    assert estimate.p_value == pytest.approx(stats.chi2.sf(chi2, 1))


def test_mantel_haenszel_removes_confounding_that_the_crude_difference_shows():
    # stratum A: good agent, does the step often, few unhappy customers either way; stratum B the reverse
    strata = [Table2x2(a=8, n1=80, c=2, n0=20), Table2x2(a=10, n1=20, c=40, n0=80)]
    crude = rate_difference(18, 100, 42, 100)
    adjusted = mantel_haenszel_difference(strata)
    assert crude.high < 0 and crude.p_value < 0.001  # looks like the step helps
    assert adjusted.difference == pytest.approx(0.0, abs=1e-12)  # within each agent it changes nothing
    assert adjusted.low < 0 < adjusted.high and adjusted.p_value > 0.5


def test_mantel_haenszel_intervals_cover_the_true_effect_about_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    truth, covered, runs = -0.15, 0, 300
    for _ in range(runs):
        strata = []
        for _agent in range(30):
            n = int(rng.integers(3, 12))
            done = rng.random(n) < rng.uniform(0.2, 0.9)
            unhappy = rng.random(n) < rng.uniform(0.2, 0.6) + np.where(done, truth, 0.0)
            strata.append(
                Table2x2(int((done & unhappy).sum()), int(done.sum()), int((~done & unhappy).sum()), int((~done).sum()))
            )
        estimate = mantel_haenszel_difference(strata)
        covered += estimate.low <= truth <= estimate.high
    assert 0.9 <= covered / runs <= 0.99


def test_strata_without_both_groups_are_ignored_and_none_left_gives_none():
    assert mantel_haenszel_difference([Table2x2(3, 5, 0, 0), Table2x2(0, 0, 1, 4)]) is None
    assert stratified_mean_difference([([1.0, 2.0], []), ([], [3.0])]) is None


def test_welch_difference_matches_scipy():
    x1, x0 = [4.0, 5.0, 4.5, 3.5, 5.5], [3.0, 2.5, 4.0, 3.5, 2.0, 3.0]
    estimate = mean_difference(x1, x0)
    expected = stats.ttest_ind(x1, x0, equal_var=False)
    assert estimate.p_value == pytest.approx(expected.pvalue)
    ci = expected.confidence_interval(0.95)
    assert (estimate.low, estimate.high) == pytest.approx((ci.low, ci.high))


def test_stratified_mean_difference_recovers_a_within_agent_effect_hidden_by_agent_differences():
    rng = np.random.default_rng(11)
    strata = []
    for agent in range(20):
        level = 5.0 - agent * 0.2  # better agents do the step more and have higher scores anyway
        done = rng.random(40) < 0.1 + 0.04 * (20 - agent)
        values = level + 0.5 * done + rng.normal(0, 0.5, 40)
        strata.append((list(values[done]), list(values[~done])))
    adjusted = stratified_mean_difference(strata)
    assert adjusted.low <= 0.5 <= adjusted.high
    crude = mean_difference([v for d, _ in strata for v in d], [v for _, m in strata for v in m])
    assert crude.low > 0.5  # confounded upwards


def test_benjamini_hochberg_matches_scipy():
    p = [0.001, 0.02, 0.03, 0.04, 0.5, 0.9]
    assert benjamini_hochberg(p) == pytest.approx(list(stats.false_discovery_control(p, method="bh")))
