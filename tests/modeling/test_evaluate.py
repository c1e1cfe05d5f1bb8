"""Test-period metrics on hand-built predictions with the answers written out."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnml.modeling.evaluate import (
    binary_metrics,
    calibration_table,
    gain_curve,
    lift_at,
    metrics_by_month,
    recall_at,
)

# 20 rows, 4 churners; the riskiest row is a churner, the second is not
Y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
P = np.linspace(0.95, 0.0, 20)


@pytest.mark.parametrize(
    ("share", "lift", "recall"),
    [
        (0.05, 5.0, 0.25),  # top 1 row: 1 churner of 1; base rate 0.2
        (0.10, 2.5, 0.25),  # top 2 rows: 1 of 2
        (0.25, 2.0, 0.5),  # top 5 rows: 2 of 5 -> 0.4 / 0.2
        (1.00, 1.0, 1.0),
    ],
)
def test_lift_and_recall_written_out(share, lift, recall):
    assert lift_at(Y, P, share) == pytest.approx(lift)
    assert recall_at(Y, P, share) == pytest.approx(recall)


def test_ties_at_the_cut_are_shared_evenly():
    # a coarse score: every row tied -> the top 10% hold the base rate on average: lift exactly 1
    assert lift_at(Y, np.zeros(20), 0.10) == pytest.approx(1.0)
    # two top rows tied with 1 churner between them, cut at 1 row -> half a churner expected
    assert recall_at([1, 0, 0, 1], [0.9, 0.9, 0.1, 0.1], 0.25) == pytest.approx(0.25)


def test_binary_metrics_perfect_and_probability_checks():
    m = binary_metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert m["pr_auc"] == pytest.approx(1.0) and m["roc_auc"] == pytest.approx(1.0)
    assert m["brier"] == pytest.approx((0.01 + 0.04 + 0.04 + 0.01) / 4)
    assert m["base_rate"] == 0.5 and m["positives"] == 2 and m["n"] == 4
    score = binary_metrics([0, 1], [0.0, 3.0], probabilities=False)
    assert np.isnan(score["brier"]) and score["roc_auc"] == 1.0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        binary_metrics([0, 1], [0.0, 3.0])
    one_class = binary_metrics([0, 0], [0.1, 0.2])
    assert np.isnan(one_class["pr_auc"]) and np.isnan(one_class["lift_5"])


def test_calibration_table_deciles():
    p = np.repeat(np.arange(10) / 10 + 0.05, 10)  # 100 rows, 10 per decile
    y = np.concatenate([np.r_[np.ones(k), np.zeros(10 - k)] for k in range(10)])
    table = calibration_table(y, p)
    assert list(table["bin"]) == list(range(1, 11))
    assert list(table["n"]) == [10] * 10
    np.testing.assert_allclose(table["mean_predicted"], np.arange(10) / 10 + 0.05)
    np.testing.assert_allclose(table["observed_rate"], np.arange(10) / 10)
    assert binary_metrics(y, p)["ece"] == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("y", "p", "bins", "ece"),
    [
        # one client's 10 churn rows listed together, every row at the churn rate 0.1: calibrated, ECE 0
        (np.r_[np.zeros(40), np.ones(10), np.zeros(50)], np.full(100, 0.1), [5], 0.0),  # the middle bin
        # a coarse score of 3 values, each the churn rate of its rows (0.1 of 90 rows, 0.5 of 10)
        (
            np.r_[np.zeros(45), np.ones(5), np.zeros(36), np.ones(4), np.zeros(5), np.ones(5)],
            np.r_[np.full(90, 0.1), np.full(10, 0.5)],
            [5, 10],
            0.0,
        ),
        # ties of a value that is not its rows' rate: one bin, off by 0.1
        (np.r_[np.zeros(80), np.ones(20)], np.full(100, 0.3), [5], 0.1),
    ],
)
def test_tied_probabilities_share_a_calibration_bin_whatever_the_row_order(y, p, bins, ece):
    for order in (np.arange(y.size), np.random.default_rng(0).permutation(y.size)):
        table = calibration_table(y[order], p[order])
        assert list(table["n"]) == [int((p == v).sum()) for v in np.unique(p)]
        assert list(table["bin"]) == bins
        assert binary_metrics(y[order], p[order])["ece"] == pytest.approx(ece)


def test_metrics_by_month():
    snaps = [date(2024, 1, 1), date(2024, 1, 8), date(2024, 2, 5), date(2024, 2, 12)]
    table = metrics_by_month([1, 0, 0, 1], [0.9, 0.1, 0.8, 0.2], snaps)
    assert list(table["month"]) == ["2024-01", "2024-02"]
    assert list(table["roc_auc"]) == [1.0, 0.0]
    assert list(table["n"]) == [2, 2]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1)), min_size=2, max_size=60))
def test_gain_is_monotone_and_ends_at_one(rows):
    y = np.array([r[0] for r in rows])
    p = np.array([r[1] for r in rows])
    g = gain_curve(y, p, points=20)
    assert (np.diff(g["share_churners_found"]) >= -1e-12).all()
    if y.sum():
        assert g["share_churners_found"].iloc[-1] == pytest.approx(1.0)
