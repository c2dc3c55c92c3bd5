"""Trajectory: does the customer's dissatisfaction recover after the agent apologises?"""

from __future__ import annotations

import pytest

from auditor.dissatisfaction.trajectory import trajectory


@pytest.mark.parametrize(
    "curve, apologies, kind, pivot",
    [
        ([(1, 0.8), (3, 0.7), (5, 0.2)], [2], "recovered", 2),
        ([(1, 0.2), (3, 0.3), (5, 0.9)], [2], "worsened", 2),
        ([(1, 0.4), (3, 0.45)], [2], "flat", 2),
        ([(1, 0.8), (3, 0.1)], [], "recovered", None),
        ([(1, 0.8), (3, 0.1)], [0, 6], "recovered", None),
        ([(1, 0.5)], [2], "flat", None),
        ([], [], "flat", None),
    ],
)
def test_kind_and_pivot(curve, apologies, kind, pivot):
    path = trajectory(curve, apologies, margin=0.1)
    assert (path.kind, path.pivot_turn) == (kind, pivot)
    assert path.curve == sorted(curve)


def test_before_is_the_peak_before_the_apology_and_after_is_the_ending():
    path = trajectory([(1, 0.3), (3, 0.9), (5, 0.6), (7, 0.5)], [4], margin=0.1)
    assert (path.before, path.after, path.kind) == (0.9, 0.5, "recovered")
    assert path.as_dict()["curve"] == [[1, 0.3], [3, 0.9], [5, 0.6], [7, 0.5]]
