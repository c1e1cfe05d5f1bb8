"""The client x week engine: day numbers, week axis, window validation."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import narwhals as nw
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from churnml.features._grid import (
    WeekAxis,
    civil_day_number,
    day_number,
    dense_shifts,
    held_shifts,
    materialized,
    materialized_by_week,
    per_client_shifts,
    shifted,
    validated_weeks,
    week_axis,
    window_sum,
)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31)), min_size=1))
def test_portable_day_number_equals_the_polars_cast(stamps):
    lf = nw.from_native(pl.LazyFrame({"ts": stamps}, schema={"ts": pl.Datetime("us")}))
    out = lf.select(civil_day_number(nw.col("ts")).alias("a"), day_number(nw.col("ts"), fast=True).alias("b"))
    frame = out.collect().to_native()
    expected = [(s.date() - date(1970, 1, 1)).days for s in stamps]
    assert frame.get_column("a").to_list() == expected
    assert frame.get_column("b").to_list() == expected


def test_the_fast_day_number_floors_before_1970_and_reads_dates_and_other_time_units() -> None:
    stamps = [
        datetime(1969, 12, 31, 23, 59),
        datetime(1970, 1, 1),
        datetime(1970, 1, 1, 23, 59),
        datetime(2024, 2, 29, 12),
    ]
    native = pl.LazyFrame({"us": stamps}, schema={"us": pl.Datetime("us")}).with_columns(
        pl.col("us").cast(pl.Datetime("ns")).alias("ns"),
        pl.col("us").cast(pl.Datetime("ms")).alias("ms"),
        pl.col("us").cast(pl.Date).alias("date"),
    )
    lf = nw.from_native(native)
    out = (
        lf.select(day_number(nw.col(c), fast=True) for c in ("us", "ns", "ms", "date")).collect().to_native()
    )
    for c in out.columns:
        assert out.get_column(c).to_list() == [-1, 0, 0, 19782], c


@pytest.mark.parametrize(("days", "weeks"), [(7, 1), (28, 4), (91, 13), (182, 26)])
def test_windows_are_whole_weeks(days, weeks):
    assert validated_weeks(days) == weeks


@pytest.mark.parametrize("days", [0, 10, 30, 90])
def test_other_windows_are_refused(days):
    with pytest.raises(ValueError, match="multiple of 7"):
        validated_weeks(days)


def test_week_axis_anchors_on_the_first_snapshot_and_starts_at_the_data():
    snaps = pl.Series([date(2024, 3, 4), date(2024, 3, 18)])
    axis = week_axis(snaps, datetime(2024, 1, 1, 10))
    assert axis.anchor == (date(2024, 3, 4) - date(1970, 1, 1)).days
    assert axis.first_week == -9  # 2024-01-01 lies in the week starting 2024-01-01 = 9 weeks before
    assert axis.last_week == 1  # the week before the last snapshot
    assert axis.snapshot_day(axis.last_week) == (date(2024, 3, 18) - date(1970, 1, 1)).days


def test_week_axis_rejects_snapshots_off_the_weekly_grid():
    snaps = pl.Series([date(2024, 3, 4), date(2024, 3, 4) + timedelta(days=10)])
    with pytest.raises(ValueError, match="2024-03-14"):
        week_axis(snaps, datetime(2024, 1, 1))


@pytest.mark.parametrize("parts", [1, 2, 3, 20])
def test_materialized_by_week_keeps_every_row(parts: int) -> None:
    """Computed in week ranges or at once: the same rows (weeks before, inside and after the axis, null)."""
    rows = pl.DataFrame(
        {"client_id": ["a", "a", "b", "b", "b", "c", "c"], "_week": [-20, -3, -1, -1, 0, 5, None]}
    )
    lf = nw.from_native(rows.lazy()).unique()
    axis = WeekAxis(anchor=0, first_week=-13, last_week=-1)
    whole = materialized(lf).to_native().collect().sort("client_id", "_week")
    split = materialized_by_week(lf, axis, parts=parts).to_native().collect().sort("client_id", "_week")
    assert split.equals(whole)
    assert split.height == 6


@pytest.mark.parametrize("earlier_weeks", [1, 9, 30])
def test_a_slope_does_not_depend_on_the_run_s_first_snapshot(earlier_weeks: int) -> None:
    # the same clients and snapshot in a run that scores it alone and in one that starts weeks earlier (its
    # weeks numbered from another first snapshot): the same slopes, bit for bit (the amounts' week * y sums
    # differed in the last digits: -0.09246110071518286 vs ...256, a model split between them)
    from feature_helpers import make_dataset, spine

    from churnml.config import FeaturesConfig
    from churnml.contract.schemas import CLIENT_ID, Table
    from churnml.features import build_features

    start = datetime(2023, 1, 2)
    payments = [
        {
            "client_id": f"c{k}",
            "paid_at": start + timedelta(days=7 * i + k),
            "amount": 100.37 + (i * 13.11 * k) % 71.3,
        }
        for k in range(1, 6)
        for i in range(60)
        if (i + k) % 4
    ]
    data = make_dataset({Table.CLIENTS: [{"client_id": "c1", "created_at": start}], Table.PAYMENTS: payments})
    snap = date(2024, 2, 26)
    clients = [f"c{k}" for k in range(1, 6)]
    alone = build_features(data, spine(clients, [snap]), FeaturesConfig())
    earlier = build_features(
        data, spine(clients, [snap - timedelta(weeks=earlier_weeks), snap]), FeaturesConfig()
    )
    slopes = [
        frame.filter(pl.col("snapshot") == snap).sort(CLIENT_ID).get_column("payments_paid_slope").to_list()
        for frame in (alone, earlier)
    ]
    assert None not in slopes[0]
    assert slopes[0] == slopes[1]


def _dense_grid() -> pl.DataFrame:
    """Two clients x weeks 0..3 of a dense grid (``_row`` = client x 4 + week), rows out of order."""
    return pl.DataFrame(
        {
            "client_id": ["b", "a", "b", "a", "a", "b", "b", "a"],
            "_week": [2, 0, 0, 3, 1, 3, 1, 2],
            "_row": [6, 0, 4, 3, 1, 7, 5, 2],
            "_cum_v": [6.0, 1.0, 10.0, 10.0, 3.0, 17.0, 10.0, 6.0],
        }
    )


@pytest.mark.parametrize("strategy", ["dense", "per_client"])
def test_held_shifts_are_columns_of_the_rows_weeks_before(strategy: str) -> None:
    """Inside held_shifts, a dense shift is a column the grid gets from HeldShifts.on (the rows sorted by _row
    whatever their order, a plain shift, null before the grid's first week); the per-client windows hold
    nothing. Either way the same values: a's weekly 1, 2, 3, 4 and b's 10, 0, -4, 11 summed over 2 weeks."""
    lf = nw.from_native(_dense_grid().lazy())
    with dense_shifts(0):
        if strategy == "per_client":
            with per_client_shifts(), dense_shifts(0), held_shifts() as held:
                expr = window_sum("v", 2).alias("v_2w")
        else:
            with held_shifts() as held:
                expr = window_sum("v", 2).alias("v_2w")
                prev = shifted("_cum_v", 1).alias("prev")
            assert held.columns == {"_shift2__cum_v": ("_cum_v", 2, 0), "_shift1__cum_v": ("_cum_v", 1, 0)}
            out = held.on(lf).select("client_id", "_week", prev).to_native().collect()
            assert out.rows() == [
                ("a", 0, None),
                ("a", 1, 1.0),
                ("a", 2, 3.0),
                ("a", 3, 6.0),
                ("b", 0, None),
                ("b", 1, 10.0),
                ("b", 2, 10.0),
                ("b", 3, 6.0),
            ]
    if strategy == "per_client":
        assert held.columns == {}
    summed = held.on(lf).select("client_id", "_week", expr).to_native().collect().sort("_week", "client_id")
    assert summed.filter(pl.col("_week") == 3).rows() == [("a", 3, 7.0), ("b", 3, 7.0)]
    assert summed.filter(pl.col("_week") == 1).rows() == [("a", 1, 3.0), ("b", 1, 10.0)]


def test_held_shifts_leave_elementwise_expressions_a_week_filter_reaches() -> None:
    """With the shifts held as columns, the expressions built on them hold no window: a filter on the week
    after them is applied before them (Polars cannot push a filter through a window), so a family's ~60
    expressions run on the spine's weeks only."""
    lf = nw.from_native(_dense_grid().lazy())
    with dense_shifts(0), held_shifts() as held:
        expr = window_sum("v", 2).alias("v_2w")
    plan = held.on(lf).select("client_id", "_week", expr).filter(nw.col("_week") == 3).to_native()
    assert ".over(" not in plan.explain()
    assert plan.collect().sort("client_id").rows() == [("a", 3, 7.0), ("b", 3, 7.0)]


def test_running_sums_of_a_dense_grid_are_per_client_and_equal_the_windows_bit_for_bit() -> None:
    """On the dense strategy each client's running sums are summed along its block of weeks (numpy): the values
    of the per-client windows exactly (fractions added in the same order), a null skipped as before; a grid
    whose rows are out of order is refused before any sum."""
    from churnml.features._grid import add_cumulative

    grid = pl.DataFrame(
        {
            "client_id": ["a", "a", "a", "b", "b", "b"],
            "_week": [0, 1, 2, 0, 1, 2],
            "_row": [0, 1, 2, 3, 4, 5],
            "_sday": [7, 14, 21, 7, 14, 21],
            "x": [0.1, 0.2, 0.3, 1.5, 0.7, 0.1],
            "y": [1, None, 2, 3, 4, None],
        }
    )
    shuffled = nw.from_native(grid.sample(fraction=1.0, shuffle=True, seed=2).lazy())
    with dense_shifts(0):
        dense = add_cumulative(shuffled, ["x", "y"]).to_native().collect()
    with per_client_shifts(), dense_shifts(0):
        windows = add_cumulative(shuffled, ["x", "y"]).to_native().collect().sort("_row")
    assert dense.get_column("_cum_x").to_list() == [
        0.1,
        0.1 + 0.2,
        0.1 + 0.2 + 0.3,
        1.5,
        1.5 + 0.7,
        1.5 + 0.7 + 0.1,
    ]
    assert dense.get_column("_cum_y").to_list() == [1.0, None, 3.0, 3.0, 7.0, None]
    assert dense.select(windows.columns).equals(windows)
    with dense_shifts(0), pytest.raises(RuntimeError, match="_row order"):
        add_cumulative(nw.from_native(grid.filter(pl.col("_row") != 1).lazy()), ["x"]).to_native().collect()


def test_running_maxima_of_a_dense_grid_are_per_client_and_equal_the_windows_bit_for_bit() -> None:
    """On the dense strategy each client's running maxima are carried along its block of weeks (numpy): null
    until the client's first value, the highest so far after it (weeks without a value included), the dtype
    kept; a float column holding a NaN skips it as Polars' window does; the values of the per-client windows
    (``running_max``) exactly; a grid whose rows are out of order is refused before any maximum."""
    from churnml.features._grid import with_running_max

    nan = float("nan")
    grid = pl.DataFrame(
        {
            "client_id": ["a", "a", "a", "a", "b", "b", "b", "b"],
            "_week": [0, 1, 2, 3, 0, 1, 2, 3],
            "_row": [0, 1, 2, 3, 4, 5, 6, 7],
            "day": [None, 20, None, 15, 30, None, 40, 35],
            "x": [0.5, 0.25, 0.75, None, -1.5, -2.5, None, -0.5],
            "n": [None, 1.0, nan, 0.5, nan, 2.0, None, 3.0],
            "other": [1, 2, 3, 4, 5, 6, 7, 8],
        }
    )
    shuffled = nw.from_native(grid.sample(fraction=1.0, shuffle=True, seed=3).lazy())
    with dense_shifts(0):
        dense = with_running_max(shuffled, ["day", "x", "n"]).to_native().collect()
    with per_client_shifts(), dense_shifts(0):
        windows = with_running_max(shuffled, ["day", "x", "n"]).to_native().collect().sort("_row")
    assert dense.columns == grid.columns
    assert dense.get_column("_row").to_list() == list(range(8))
    assert dense.get_column("day").to_list() == [None, 20, 20, 20, 30, 30, 40, 40]
    assert dense.get_column("day").dtype == pl.Int64
    assert dense.get_column("x").to_list() == [0.5, 0.5, 0.75, 0.75, -1.5, -1.5, -1.5, -0.5]
    n = dense.get_column("n").to_list()  # NaN != NaN: compared as text
    assert [str(v) for v in n] == ["None", "1.0", "1.0", "1.0", "nan", "2.0", "2.0", "3.0"]
    assert dense.get_column("other").to_list() == list(range(1, 9))
    assert_frame_equal(dense, windows, check_exact=True)
    with dense_shifts(0), pytest.raises(RuntimeError, match="running maxima"):
        with_running_max(
            nw.from_native(grid.filter(pl.col("_row") != 2).lazy()), ["day"]
        ).to_native().collect()
