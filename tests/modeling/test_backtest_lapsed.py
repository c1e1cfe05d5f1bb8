"""Backtest rows of clients whose term had already ended at the snapshot: flagged and left out of the
"not lapsed" figures (the early warning itself)."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from churnml.modeling.experiment import (
    LAPSED,
    QUIET,
    Backtest,
    already_lapsed,
    already_quiet,
    not_lapsed_metrics,
    with_quiet_rows,
)


def test_a_row_whose_churn_is_at_or_before_its_snapshot_has_already_lapsed() -> None:
    rows = pd.DataFrame(
        {
            "snapshot": [date(2026, 3, 2)] * 4,
            # in grace (ended 5 days before), ends that day, ends later, no churn
            "churned_at": [datetime(2026, 2, 25), datetime(2026, 3, 2), datetime(2026, 4, 1), None],
        }
    )
    assert already_lapsed(rows).tolist() == [True, True, False, False]
    assert already_lapsed(rows.drop(columns="churned_at")).tolist() == [False] * 4


def test_not_lapsed_metrics_judge_every_contender_on_the_rows_not_yet_lapsed() -> None:
    # the two lapsed positives carry the model; without them it ranks the rest no better than chance
    predictions = pd.DataFrame(
        {
            "label": [1, 1, 1, 0, 1, 0],
            LAPSED: [True, True, False, False, False, False],
            "model": [0.99, 0.98, 0.2, 0.4, 0.3, 0.1],
            "logistic": [0.5, 0.5, 0.6, 0.1, 0.7, 0.2],
        }
    )
    table = not_lapsed_metrics(predictions, ["model", "logistic"])
    # rows 3-6: labels 1, 0, 1, 0; the logistic ranks both churners first (PR-AUC 1), the model does not
    assert table.loc["logistic", "pr_auc"] == pytest.approx(1.0)
    assert table.loc["model", "pr_auc"] < 0.9
    assert not_lapsed_metrics(predictions.assign(**{LAPSED: False}), ["model"]).empty
    assert np.isfinite(table.loc["model", "brier"])


def test_a_client_quiet_for_half_the_inactivity_window_is_already_quiet() -> None:
    rows = pd.DataFrame(
        {
            # the fewest days since an event or an order counts; NaN: never seen on that side
            "usage_days_since_event": [2.0, 30.0, np.nan, 6.0, np.nan],
            "payments_days_since_payment": [40.0, 10.0, 7.0, np.nan, np.nan],
        }
    )
    assert already_quiet(rows, 7).tolist() == [False, True, True, False, False]
    assert already_quiet(rows[["usage_days_since_event"]], 7).tolist() == [False, True, False, False, False]
    assert already_quiet(pd.DataFrame({"x": [1.0]}), 7).tolist() == [False]


def test_quiet_test_rows_are_left_out_of_the_not_lapsed_figures() -> None:
    labeled = pd.DataFrame(
        {
            "client_id": ["a", "b", "c", "d"],
            "snapshot": [date(2026, 3, 2)] * 4,
            "usage_days_since_event": [1.0, 9.0, 2.0, 12.0],
        }
    )
    preds = pd.DataFrame(
        {
            "client_id": ["d", "c", "b", "a"],  # another order than the table's
            "snapshot": [date(2026, 3, 2)] * 4,
            "label": [1, 0, 1, 0],
            LAPSED: [False, False, False, False],
            "model": [0.9, 0.2, 0.8, 0.1],
        }
    )
    bt = Backtest(None, preds, pd.DataFrame(), pd.DataFrame({"pr_auc": [1.0]}), {}, [])
    marked = with_quiet_rows(bt, labeled, 7).predictions
    assert marked[QUIET].tolist() == [True, False, True, False]
    assert marked[LAPSED].tolist() == [True, False, True, False]
    assert marked["client_id"].tolist() == ["d", "c", "b", "a"]


def test_a_client_that_asked_to_cancel_has_announced_its_leaving() -> None:
    from churnml.modeling.experiment import already_announced

    rows = pd.DataFrame(
        {
            "support_cancellation_requests_28d": [0.0, 1.0, 0.0, None],
            "support_cancellation_requests_91d": [0.0, 1.0, 2.0, None],
        }
    )
    # the widest window read: a request 60 days ago is announced too
    assert already_announced(rows).tolist() == [False, True, True, False]
    assert already_announced(rows.drop(columns="support_cancellation_requests_91d")).tolist() == [
        False,
        True,
        False,
        False,
    ]
    assert already_announced(pd.DataFrame({"x": [1.0]})).tolist() == [False]
