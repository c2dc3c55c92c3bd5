"""Interval estimates and tests for "does doing this step go with a better outcome?", crude and stratified.

Binary outcomes (dissatisfied, task success): a difference of rates with Newcombe's interval and Fisher's
exact test; stratified by agent (and SOP version), the Mantel-Haenszel risk difference with Sato's variance
(valid when strata are small) and the Cochran-Mantel-Haenszel test. Numeric outcomes (CSAT, NPS, handle
time): Welch's interval and test; stratified, the fixed-effects difference of means (each stratum compares
its own agents' conversations) with a t interval. All intervals are 95 % unless ``confidence`` says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Estimate:
    """A difference (exposed minus unexposed) with its interval and the p-value of "no difference"."""

    difference: float
    low: float
    high: float
    p_value: float
    method: str


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion; (0, 1) when n is 0."""
    if n == 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_difference(k1: int, n1: int, k0: int, n0: int, confidence: float = 0.95) -> Estimate:
    """p1 - p0 with Newcombe's hybrid score interval and Fisher's exact two-sided p-value."""
    p1, p0 = k1 / n1, k0 / n0
    l1, u1 = wilson_interval(k1, n1, confidence)
    l0, u0 = wilson_interval(k0, n0, confidence)
    difference = p1 - p0
    low = difference - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    p_value = float(stats.fisher_exact([[k1, n1 - k1], [k0, n0 - k0]]).pvalue)
    return Estimate(difference, low, high, p_value, "Newcombe interval, Fisher exact test")


@dataclass(frozen=True)
class Table2x2:
    """One stratum: ``a`` of ``n1`` exposed and ``c`` of ``n0`` unexposed conversations had the outcome."""

    a: int
    n1: int
    c: int
    n0: int

    @property
    def total(self) -> int:
        return self.n1 + self.n0


def mantel_haenszel_difference(strata: Sequence[Table2x2], confidence: float = 0.95) -> Estimate | None:
    """Mantel-Haenszel risk difference (Sato's variance) and the CMH test; None without an informative stratum."""
    useful = [s for s in strata if s.n1 > 0 and s.n0 > 0]
    if not useful:
        return None
    weights = sum(s.n1 * s.n0 / s.total for s in useful)
    difference = sum((s.a * s.n0 - s.c * s.n1) / s.total for s in useful) / weights
    p_sum = sum((s.n1**2 * s.c - s.n0**2 * s.a + s.n1 * s.n0 * (s.n0 - s.n1) / 2) / s.total**2 for s in useful)
    q_sum = sum((s.a * (s.n0 - s.c) + s.c * (s.n1 - s.a)) / (2 * s.total) for s in useful)
    variance = max((difference * p_sum + q_sum) / weights**2, 0.0)
    half = _z(confidence) * math.sqrt(variance)
    return Estimate(
        difference,
        max(-1.0, difference - half),
        min(1.0, difference + half),
        cochran_mantel_haenszel_p(useful),
        "Mantel-Haenszel risk difference (Sato variance), CMH test",
    )


def cochran_mantel_haenszel_p(strata: Sequence[Table2x2]) -> float:
    """Two-sided p-value of the CMH test (no continuity correction); 1.0 when no stratum has variance."""
    deviation, variance = 0.0, 0.0
    for s in strata:
        if s.total < 2:
            continue
        cases = s.a + s.c
        deviation += s.a - s.n1 * cases / s.total
        variance += s.n1 * s.n0 * cases * (s.total - cases) / (s.total**2 * (s.total - 1))
    if variance <= 0:
        return 1.0
    return float(stats.chi2.sf(deviation**2 / variance, df=1))


def mean_difference(exposed: Sequence[float], unexposed: Sequence[float], confidence: float = 0.95) -> Estimate | None:
    """Welch's difference of means with its t interval and test; None when a group has fewer than 2 values."""
    x1, x0 = np.asarray(exposed, dtype=float), np.asarray(unexposed, dtype=float)
    if len(x1) < 2 or len(x0) < 2:
        return None
    v1, v0 = x1.var(ddof=1) / len(x1), x0.var(ddof=1) / len(x0)
    difference = float(x1.mean() - x0.mean())
    se = math.sqrt(v1 + v0)
    if se == 0:
        return Estimate(difference, difference, difference, 1.0 if difference == 0 else 0.0, "Welch t")
    df = (v1 + v0) ** 2 / (v1**2 / (len(x1) - 1) + v0**2 / (len(x0) - 1))
    t = float(stats.t.ppf(0.5 + confidence / 2, df))
    p_value = float(2 * stats.t.sf(abs(difference) / se, df))
    return Estimate(difference, difference - t * se, difference + t * se, p_value, "Welch t")


def stratified_mean_difference(
    strata: Sequence[tuple[Sequence[float], Sequence[float]]], confidence: float = 0.95
) -> Estimate | None:
    """Within-stratum difference of means, weighted n1*n0/(n1+n0) (the fixed-effects regression slope).

    The variance pools the within-group spread of every informative stratum; the interval and test use a
    t distribution. None when no stratum has both groups or no degrees of freedom are left.
    """
    weights, weighted, squares, used, groups = 0.0, 0.0, 0.0, 0, 0
    for exposed, unexposed in strata:
        x1, x0 = np.asarray(exposed, dtype=float), np.asarray(unexposed, dtype=float)
        if not len(x1) or not len(x0):
            continue
        weight = len(x1) * len(x0) / (len(x1) + len(x0))
        weights += weight
        weighted += weight * float(x1.mean() - x0.mean())
        squares += float(((x1 - x1.mean()) ** 2).sum() + ((x0 - x0.mean()) ** 2).sum())
        used += len(x1) + len(x0)
        groups += 2
    df = used - groups
    if weights == 0 or df <= 0:
        return None
    difference = weighted / weights
    se = math.sqrt(squares / df / weights)
    if se == 0:
        return Estimate(difference, difference, difference, 1.0 if difference == 0 else 0.0, "fixed-effects t")
    t = float(stats.t.ppf(0.5 + confidence / 2, df))
    p_value = float(2 * stats.t.sf(abs(difference) / se, df))
    return Estimate(difference, difference - t * se, difference + t * se, p_value, "within-stratum difference, t")


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """False-discovery-rate q-values (Benjamini-Hochberg), in the order given."""
    count = len(p_values)
    if not count:
        return []
    order = sorted(range(count), key=lambda i: p_values[i])
    q = [0.0] * count
    running = 1.0
    for rank in range(count, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * count / rank)
        q[index] = min(running, 1.0)
    return q
