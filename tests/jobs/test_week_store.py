"""The client-week store's bookkeeping (:mod:`churnml.jobs.week_store`): the events file's rows per stored week,
and when last week's store is reused or why not."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from churnml.jobs.week_store import STORE_FILES, reusable_store, store_record, week_rows

# the file's rows per day: Mondays 2024-01-01 .. and a few other days
DAYS = pl.DataFrame(
    {
        "day": [date(2024, 1, 1), date(2024, 1, 7), date(2024, 1, 8), date(2024, 1, 20), date(2024, 1, 29)],
        "rows": [3, 4, 5, 6, 7],
    }
)


def test_week_rows_count_the_file_s_rows_in_each_week_from_the_start():
    assert week_rows(DAYS, datetime(2024, 1, 1), datetime(2024, 1, 29)) == {
        "2024-01-01": 7,  # 01-01 and 01-07
        "2024-01-08": 5,
        "2024-01-15": 11 - 5,  # 01-20
        "2024-01-22": 0,  # no day with rows: 0, not left out
    }


def _stored(folder: Path, **changes: object) -> Path:
    """A list folder holding a store of the weeks 2024-01-01 .. 2024-01-29 of ``DAYS`` (``changes`` to its
    record or data entry)."""
    folder.mkdir(parents=True)
    record = store_record(
        datetime(2024, 1, 1), datetime(2024, 1, 29), DAYS, {"2024-01-08": {"user_id"}}, "h1", None, None
    )
    record.update({k: v for k, v in changes.items() if k != "name"})
    data = {"name": changes.get("name", "shop"), "client_week_store": record}
    (folder / "manifest.json").write_text(json.dumps({"data": data}))
    for name in STORE_FILES:
        pl.DataFrame({"client_id": ["a"], "_week_day": [19723]}).write_parquet(folder / name)
    return folder


def test_last_week_s_store_is_reused_from_this_window_s_start_to_its_end(tmp_path: Path):
    folder = _stored(tmp_path / "2024-01-29")
    store, reason = reusable_store(folder, "h1", "shop", datetime(2024, 1, 8), datetime(2024, 2, 5), DAYS)
    assert reason is None and store is not None
    assert (store.start, store.end) == (datetime(2024, 1, 8), datetime(2024, 1, 29))
    assert store.columns() == {"user_id"}
    assert store.filled == {"2024-01-08": {"user_id"}, "2024-01-15": set(), "2024-01-22": set()}


def test_a_store_is_not_reused_and_the_reason_is_said(tmp_path: Path):
    def why(folder: Path, start: datetime = datetime(2024, 1, 8), days: pl.DataFrame = DAYS) -> str | None:
        store, reason = reusable_store(folder, "h1", "shop", start, datetime(2024, 2, 5), days)
        assert store is None
        return reason

    assert why(tmp_path / "none") == f"no list in {tmp_path / 'none'}"
    assert why(_stored(tmp_path / "a", name="other")) == "the store of a was made with other settings or data"
    assert (
        why(_stored(tmp_path / "b", history_hash="h2"))
        == "the store of b was made with other settings or data"
    )
    assert why(_stored(tmp_path / "c"), start=datetime(2023, 12, 25)) == (
        "its weeks begin 2024-01-01, after this window's start 2023-12-25"
    )
    assert why(_stored(tmp_path / "d"), start=datetime(2024, 1, 9)) == (
        "the store of d has weeks starting on another weekday"
    )
    more = DAYS.with_columns(
        pl.when(pl.col("day") == date(2024, 1, 20)).then(7).otherwise(pl.col("rows")).alias("rows")
    )
    assert why(_stored(tmp_path / "e"), days=more) == (
        "the events file holds 7 rows in the week of 2024-01-15, the store of e 6"
    )
    gone = _stored(tmp_path / "f")
    (gone / STORE_FILES[1]).unlink()
    assert why(gone) == f"the list of f lacks {STORE_FILES[1]}"


@pytest.mark.parametrize(
    ("store_on", "engine", "batched", "expected"),
    [
        (False, "polars", False, None),  # the store off: nothing to say
        (True, "polars", True, None),  # batched Parquet events: the store's own line says reused or why not
        (
            True,
            "polars",
            False,
            "client-week store not used: this run reads its tables whole (no events, CSV events, or a label "
            "that reads the events' whole history), so no store is written or reused",
        ),
        (
            True,
            "spark",
            False,
            "client-week store not used: the Spark engine reads the events' window itself (no store written)",
        ),
    ],
)
def test_a_store_asked_for_where_none_can_be_written_is_said(store_on, engine, batched, expected):
    from churnml.jobs.score import store_unused_said

    assert store_unused_said(store_on, engine, batched) == expected
