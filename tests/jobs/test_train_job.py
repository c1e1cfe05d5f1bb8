"""Pure pieces of the train job's console output."""

from __future__ import annotations

import pytest

from churnml.jobs.train import skipped_folds_text


@pytest.mark.parametrize(
    ("planned", "used", "expected"),
    [
        ([1, 2, 3, 4], {2, 3, 4}, "; 3 used, fold 1 skipped (see the notes)"),
        ([1, 2, 3, 4], {3, 4}, "; 2 used, folds 1, 2 skipped (see the notes)"),
        ([1, 2, 3, 4], {1, 2, 3, 4}, ""),
        ([1, 2], set(), ""),  # no fold at all: the notes say why there is no estimate
    ],
)
def test_the_backtest_title_says_which_planned_folds_were_skipped(planned, used, expected) -> None:
    assert skipped_folds_text(planned, used) == expected


def test_the_model_card_marks_the_folds_that_gave_no_result() -> None:
    from datetime import date
    from types import SimpleNamespace

    import pandas as pd

    from churnml.jobs.train import backtest_record
    from churnml.modeling.backtest import BacktestPlan, Fold

    folds = tuple(
        Fold(
            n, date(2025, 1, 6), date(2025, 1, 6 + 7 * n), date(2025, 3, 3 + 7 * n), date(2025, 3, 9 + 7 * n)
        )
        for n in (1, 2)
    )
    plan = BacktestPlan(folds, date(2025, 1, 6), date(2025, 3, 30), 91, 7, 0)
    result = SimpleNamespace(plan=plan, backtest=SimpleNamespace(predictions=pd.DataFrame({"fold": [2, 2]})))
    record = backtest_record(result)
    assert (
        record["fold_1"]
        == "train 2025-01-06..<2025-01-13 test 2025-03-10..2025-03-16 (skipped: see the notes)"
    )
    assert record["fold_2"] == "train 2025-01-06..<2025-01-20 test 2025-03-17..2025-03-23"
    assert record["summary"].endswith("; 1 used, fold 1 skipped (see the notes)")
