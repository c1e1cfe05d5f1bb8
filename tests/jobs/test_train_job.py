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
