"""Pareto fronts on hand-made points: ties, dominated points, single/empty input, missing values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nash.analysis import ResultsError, pareto_front, resolve_metric


def test_dominated_points_are_excluded_and_front_is_ordered_by_x():
    pts = [(3, 1), (1, 3), (2, 2), (2, 3), (4, 4), (3, 2)]
    assert pareto_front(pts) == [1, 2, 0]


def test_identical_points_are_all_optimal():
    pts = [(1, 5), (2, 2), (2, 2), (3, 1), (1, 5)]
    assert pareto_front(pts) == [0, 4, 1, 2, 3]


def test_equal_in_one_coordinate_worse_in_the_other_is_dominated():
    assert pareto_front([(1, 2), (1, 3)]) == [0]  # same x, worse y
    assert pareto_front([(2, 1), (1, 1)]) == [1]  # same y, worse x


def test_single_and_empty():
    assert pareto_front([(7, 7)]) == [0]
    assert pareto_front([]) == []


def test_missing_nan_and_non_numeric_values_are_excluded():
    pts = [(None, 1), (math.nan, 0), ("abc", 0), (5, 5), (6,), (4, None), (True, 0)]
    assert pareto_front(pts) == [3]


def test_dict_rows_with_aliases_and_missing_values():
    rows = [
        {"bram18": 100.0, "error": 40.0},
        {"bram18": 200.0, "error": 30.0},
        {"bram18": 150.0, "error": 45.0},  # dominated by row 0
        {"bram18": None, "error": 10.0},  # failed hw: excluded
        {"error": 5.0},  # column absent: excluded
    ]
    assert pareto_front(rows, "bram", "error") == [0, 1]
    assert pareto_front(rows, "bram18", "error") == [0, 1]


def test_maximised_metrics_are_negated():
    rows = [{"lut": 10, "top1": 60.0}, {"lut": 20, "top1": 70.0}, {"lut": 30, "top1": 65.0}]
    assert pareto_front(rows, "lut", "top1") == [0, 1]  # top1 maximised by default
    rows = [{"fps": 300.0, "error": 30.0}, {"fps": 320.0, "error": 30.0}, {"fps": 100.0, "error": 20.0}]
    assert set(pareto_front(rows, "fps", "error")) == {1, 2}
    assert pareto_front([(1, 1), (2, 2)], 0, 1, maximise=[1]) == [0, 1]


def test_resolve_metric_aliases_and_unknown_name():
    assert resolve_metric("bram").column == "bram18"
    assert resolve_metric("latency").column == "latency_ms"
    assert resolve_metric("FPS").maximise is True
    assert resolve_metric("error").maximise is False
    with pytest.raises(ResultsError, match="unknown metric 'power'.*bram18"):
        resolve_metric("power")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=25))
def test_front_matches_brute_force_dominance(pts):
    def dominated(p):
        return any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in pts)

    assert sorted(pareto_front(pts)) == [i for i, p in enumerate(pts) if not dominated(p)]
