"""The client-week store's bookkeeping (:mod:`churnml.jobs.week_store`): the events file's rows per stored week,
and when last week's store is reused or why not."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from churnml.jobs.week_store import (
    CARRIED_FILE,
    KINDS_FILE,
    USERS_FILE,
    reusable_store,
    store_record,
    week_rows,
)

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


# the events file's columns as scanned, and the clients' onboarding ends now
SCHEMA = pl.Schema({"client_id": pl.String, "ts": pl.Datetime("us")})
ONBOARDING = pl.DataFrame({"client_id": ["a"], "_onboarding_end": [datetime(2023, 3, 1)]})


def _stored(folder: Path, days: pl.DataFrame = DAYS, **changes: object) -> Path:
    """A list folder holding a store of the weeks 2024-01-01 .. 2024-01-29 of ``days`` (``changes`` to its
    record or data entry), client a's row carried from before them (its onboarding ended 2023-03-01)."""
    folder.mkdir(parents=True)
    record = store_record(
        datetime(2024, 1, 1), datetime(2024, 1, 29), days, {"2024-01-08": {"user_id"}}, "h1", None, None
    )
    record.update({k: v for k, v in changes.items() if k != "name"})
    data = {"name": changes.get("name", "shop"), "client_week_store": record}
    (folder / "manifest.json").write_text(json.dumps({"data": data}))
    for name in (KINDS_FILE, USERS_FILE):
        pl.DataFrame({"client_id": ["a"], "_week_day": [19723]}).write_parquet(folder / name)
    carried = pl.DataFrame({"client_id": ["a"], "ts": [datetime(2023, 12, 30)]}, schema=SCHEMA)
    carried.join(ONBOARDING, on="client_id").write_parquet(folder / CARRIED_FILE)
    return folder


def _reusable(folder: Path, start: datetime = datetime(2024, 1, 8), days: pl.DataFrame = DAYS, **now: object):  # type: ignore[no-untyped-def]
    return reusable_store(
        folder,
        "h1",
        "shop",
        start,
        datetime(2024, 2, 5),
        days,
        now.get("schema", SCHEMA),  # type: ignore[arg-type]
        now.get("onboarding", ONBOARDING),  # type: ignore[arg-type]
    )


def test_last_week_s_store_is_reused_from_this_window_s_start_to_its_end(tmp_path: Path):
    folder = _stored(tmp_path / "2024-01-29")
    store, reason = _reusable(folder)
    assert reason is None and store is not None
    assert (store.start, store.end, store.since) == (
        datetime(2024, 1, 8),
        datetime(2024, 1, 29),
        datetime(2024, 1, 1),
    )
    assert store.columns() == {"user_id"}
    assert store.filled == {"2024-01-08": {"user_id"}, "2024-01-15": set(), "2024-01-22": set()}
    assert store.carried().collect().rows() == [("a", datetime(2023, 12, 30))]


def test_a_store_is_not_reused_and_the_reason_is_said(tmp_path: Path):
    def why(
        folder: Path, start: datetime = datetime(2024, 1, 8), days: pl.DataFrame = DAYS, **now: object
    ) -> str | None:
        store, reason = _reusable(folder, start, days, **now)
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
    (gone / USERS_FILE).unlink()
    assert why(gone) == f"the list of f lacks {USERS_FILE}"
    assert why(_stored(tmp_path / "g"), schema=pl.Schema({**SCHEMA, "value": pl.Float64})) == (
        "the events file's columns are not those of the store of g"
    )
    assert why(_stored(tmp_path / "h", fingerprinted_by="polars 0.1")) == (
        f"the store of h was fingerprinted by polars 0.1, this run has polars {pl.__version__}"
    )


# the file's rows per day with their fingerprints (event_days with the store on): a row on 2023-12-30, before the
# store's weeks, and the days of DAYS
FINGERPRINTED = pl.concat(
    [pl.DataFrame({"day": [date(2023, 12, 30)], "rows": [1]}), DAYS], how="vertical_relaxed"
).with_columns(
    pl.int_range(pl.len()).cast(pl.Int64).alias("_fp_hi") * 11,
    pl.int_range(pl.len()).cast(pl.Int64).alias("_fp_lo"),
)


@pytest.mark.parametrize(
    ("day", "said"),
    [
        (
            date(2024, 1, 20),
            "the events file's rows in the week of 2024-01-15 changed since the store of s was "
            "written (the same 6 rows, other values)",
        ),
        # before the store's weeks: the rows it carried from there are stale
        (
            date(2023, 12, 30),
            "the events file's rows before 2024-01-01 changed since the store of s was written "
            "(the same 1 rows, other values)",
        ),
    ],
)
def test_a_day_whose_values_changed_with_the_same_rows_refuses_the_store(
    tmp_path: Path, day: date, said: str
):
    folder = _stored(tmp_path / "s", days=FINGERPRINTED)
    store, reason = _reusable(folder, days=FINGERPRINTED)
    assert reason is None and store is not None
    rewritten = FINGERPRINTED.with_columns(
        pl.when(pl.col("day") == day).then(pl.col("_fp_lo") + 1).otherwise(pl.col("_fp_lo")).alias("_fp_lo")
    )
    assert _reusable(folder, days=rewritten) == (None, said)


def test_a_week_that_left_the_window_is_checked_too(tmp_path: Path):
    # 2024-01-01's week is the store's but not this window's (from 2024-01-08): the store carries its rows
    folder = _stored(tmp_path / "s", days=FINGERPRINTED)
    rewritten = FINGERPRINTED.with_columns(
        pl.when(pl.col("day") == date(2024, 1, 7)).then(pl.col("_fp_lo") + 1).otherwise(pl.col("_fp_lo"))
    )
    store, reason = _reusable(folder, days=rewritten)
    assert store is None
    assert reason == (
        "the events file's rows in the week of 2024-01-01 changed since the store of s was written (the same 7 "
        "rows, other values)"
    )


@pytest.mark.parametrize(
    ("ends_now", "reused"),
    [
        (datetime(2023, 3, 1), True),  # unchanged
        (datetime(2023, 1, 1), True),  # earlier: the stored rows hold more onboarding days than needed
        (datetime(2023, 4, 1), False),  # later: the days from 2023-03-01 on were not carried
        (None, True),  # created_at unknown now: no onboarding days read
    ],
)
def test_a_client_whose_onboarding_now_ends_later_refuses_the_store(tmp_path: Path, ends_now, reused):  # type: ignore[no-untyped-def]
    folder = _stored(tmp_path / "s")
    now = pl.DataFrame({"client_id": ["a"], "_onboarding_end": [ends_now]}, schema=ONBOARDING.schema)
    store, reason = _reusable(folder, onboarding=now)
    assert (store is not None) == reused
    if not reused:
        assert reason == (
            "the onboarding of 1 client (first a) now ends later than when the store of s was written "
            "(clients.created_at changed)"
        )


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
    from churnml.jobs.week_store import store_unused_said

    assert store_unused_said(store_on, engine, batched) == expected


def test_every_store_file_is_a_list_file():
    # a list folder holding a file churnml does not know as its own is not replaced: the store's files are named
    from churnml.jobs.week_store import STORE_FILES
    from churnml.scoring.outputs import LIST_FILES

    assert set(STORE_FILES) <= set(LIST_FILES)
