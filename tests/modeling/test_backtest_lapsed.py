"""Backtest rows of clients whose term had already ended at the snapshot: flagged and left out of the
"not lapsed" figures (the early warning itself)."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from churnml.modeling.experiment import LAPSED, already_lapsed, not_lapsed_metrics


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
