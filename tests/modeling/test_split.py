"""Out-of-time split: boundaries, gaps of one horizon, clear errors, and a leak it prevents."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

from churnml.config import TrainConfig
from churnml.modeling.split import SplitError, out_of_time_split, rolling_origin_folds
from churnml.modeling.train import ChurnModel

MONDAY = date(2024, 1, 1)


def weekly(n: int, start: date = MONDAY) -> list[date]:
    return [start + timedelta(weeks=w) for w in range(n)]


def test_boundaries_written_out():
    # 30 weekly snapshots: 2024-01-01 .. 2024-07-22; horizon 28, test 56, valid 56 (half calibrates)
    cfg = TrainConfig(test_days=56, valid_days=56, min_train_days=14, calibration_share=0.5)
    split = out_of_time_split(weekly(30), cfg, horizon_days=28)
    assert split.test_end == date(2024, 7, 22)
    assert split.test_start == date(2024, 5, 28)  # last 56 days: 8 Mondays 2024-06-03 .. 07-22
    assert split.calib_end == date(2024, 4, 30)  # test_start - 28
    assert split.calib_start == date(2024, 4, 2)
    assert split.valid_start == date(2024, 3, 5)
    assert split.train_end == date(2024, 2, 6)  # valid_start - 28
    parts = split.part_of(weekly(30))
    assert list(parts) == (
        ["train"] * 6 + ["gap"] * 4 + ["valid"] * 4 + ["calib"] * 4 + ["gap"] * 4 + ["test"] * 8
    )


@pytest.mark.parametrize(
    ("weeks", "message"),
    [
        (10, "needs 196"),  # 14 + 28 + 56 + 28 + 70
        (1, "needs 196"),
    ],
)
def test_too_short_says_how_many_days(weeks, message):
    cfg = TrainConfig(test_days=70, valid_days=56, min_train_days=14)
    with pytest.raises(SplitError, match=message):
        out_of_time_split(weekly(weeks), cfg, horizon_days=28)


def test_empty_is_a_clear_error():
    with pytest.raises(SplitError, match=r"no labeled snapshots.*needs 390 days"):
        out_of_time_split([], TrainConfig(), 90)


@settings(max_examples=60, deadline=None)
@given(
    n_weeks=st.integers(20, 160),
    horizon=st.integers(1, 120),
    test_days=st.integers(7, 120),
    valid_days=st.integers(14, 120),
    share=st.floats(0.1, 0.9),
    step=st.integers(1, 3),
)
def test_no_label_crosses_into_a_later_period(n_weeks, horizon, test_days, valid_days, share, step):
    snaps = [MONDAY + timedelta(days=7 * step * w) for w in range(n_weeks)]
    cfg = TrainConfig(test_days=test_days, valid_days=valid_days, calibration_share=share, min_train_days=7)
    try:
        split = out_of_time_split(snaps, cfg, horizon)
    except SplitError:
        return
    s = np.array(snaps, dtype="datetime64[D]")
    parts = split.part_of(s)
    h = np.timedelta64(horizon, "D")
    label_end = s + h  # a row's label looks at (snapshot, snapshot + h]
    assert (label_end[parts == "train"] < np.datetime64(split.valid_start)).all()
    for p in ("valid", "calib"):
        assert (label_end[parts == p] < np.datetime64(split.test_start)).all()
    # periods are in time order and the test is the last test_days
    order = {"train": 0, "valid": 1, "calib": 2, "test": 3}
    seen = [order[p] for p in parts if p != "gap"]
    assert seen == sorted(seen)
    assert s[parts == "test"].min() > s.max() - np.timedelta64(test_days, "D")
    assert set(parts) >= {"train", "valid", "calib", "test"}


def test_rolling_folds_stay_before_the_test_and_keep_the_gap():
    cfg = TrainConfig(test_days=56, valid_days=56, min_train_days=14)
    snaps = weekly(60)
    split = out_of_time_split(snaps, cfg, 28)
    folds = rolling_origin_folds(snaps, cfg, 28, n_folds=3, step_days=28)
    assert [f.valid_end for f in folds] == [
        split.calib_end - timedelta(days=56),
        split.calib_end - timedelta(days=28),
        split.calib_end,
    ]
    for f in folds:
        assert f.valid_end <= split.calib_end < split.test_start
        assert f.train_end + timedelta(days=28) == f.valid_start
    with pytest.raises(SplitError, match="tuning folds"):
        rolling_origin_folds(snaps, cfg, 28, n_folds=12, step_days=28)


def _leaky_table() -> tuple[pd.DataFrame, date]:
    """Clients with a memorisable code; a churner's rows are labeled 1 during the horizon before its churn.

    40 "late" churners leave during the first weeks of the test period, so their positive rows start
    up to one horizon BEFORE the test. A split without the gap trains on those rows and, by
    remembering the client code (and that the label switched on at the latest weeks), scores the test
    perfectly; with the gap no training label of these clients is 1, so it cannot know them.
    """
    rng = np.random.default_rng(7)
    snaps = weekly(40)
    horizon = 56
    test_start = snaps[-8]
    rows = []
    codes = rng.permutation(160)  # churners and stayers interleave in code order
    for i in range(160):
        if i < 40:  # late churners: churn inside the test period
            churn = test_start + timedelta(days=int(rng.integers(8, 21)))
        elif i < 80:  # early churners: give every earlier period some positives
            churn = snaps[int(rng.integers(4, 30))] + timedelta(days=3)
        else:
            churn = None
        for s in snaps:
            if churn is not None and s >= churn:
                break
            label = int(churn is not None and (churn - s).days <= horizon)
            rows.append(
                {
                    "client_id": f"c{i}",
                    "snapshot": s,
                    "label": label,
                    "code": float(codes[i]),
                }
            )
    frame = pd.DataFrame(rows)
    frame["week"] = (pd.to_datetime(frame["snapshot"]) - pd.Timestamp(MONDAY)).dt.days / 7.0
    return frame, test_start


def test_a_split_without_the_gap_scores_perfectly_ours_does_not():
    frame, test_start = _leaky_table()
    cfg = TrainConfig(test_days=56, valid_days=56, min_train_days=14)
    params = {"n_estimators": 300, "learning_rate": 0.2, "num_leaves": 15, "min_child_samples": 3}
    X, y, snaps = frame[["code", "week"]], frame["label"].to_numpy(), frame["snapshot"]

    split = out_of_time_split(snaps, cfg, horizon_days=56)
    parts = split.part_of(snaps)
    assert min(snaps[parts == "test"]) == test_start
    ours = ChurnModel(params, early_stopping_rounds=300, calibration="sigmoid", n_jobs=1).fit(
        X[parts == "train"],
        y[parts == "train"],
        X[parts == "valid"],
        y[parts == "valid"],
        X[parts == "calib"],
        y[parts == "calib"],
    )
    test = parts == "test"
    ours_ap = average_precision_score(y[test], ours.churn_probability(X[test]))

    before = (snaps < test_start).to_numpy()  # the leaking split: every row before the test, no gap
    leaky = ChurnModel(params, early_stopping_rounds=300, calibration="sigmoid", n_jobs=1).fit(
        X[before], y[before], X[before], y[before]
    )
    leaky_ap = average_precision_score(y[test], leaky.churn_probability(X[test]))
    assert leaky_ap > 0.95
    assert ours_ap < 0.5
