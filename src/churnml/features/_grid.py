"""The shared client x week engine every feature family runs on (Narwhals, lazy, backend-agnostic).

Snapshots lie on a weekly grid aligned to one weekday. Time is counted in integer **day numbers**
(days since 1970-01-01) and **week indices** ``week = (day - anchor) // 7`` where ``anchor`` is the day
number of a snapshot, so week ``k`` starts on a snapshot day and a snapshot in week ``k`` sees exactly
the weeks ``<= k - 1`` (the data strictly before it).

Grain of the grid: one row per client x week, columns ``client_id``, ``_week`` (grid week ``w``: the
row describes everything known at the snapshot that starts week ``w + 1``), ``_sday`` (day number of
that snapshot), ``_cday`` / ``_created_week`` (day and week the client was created), ``_cweek`` (the
week the client is observed from: its created week, or the first week of data if it is older).
A grid may start after the data's first week (:func:`look_back_axis`: only the weeks a spine's windows
reach back to); the axis then carries the data's origin (``WeekAxis.observed_from``) and the running
sums and maxima start from what the earlier weeks carry in (:func:`carried_totals`).

Families aggregate their raw rows to client-week first (:func:`on_grid`), then derive windows from
cumulative sums (:func:`add_cumulative`, :func:`window_sum`): the cost grows with clients x weeks, not
with events x snapshots. Only the Narwhals subset that runs on Polars lazy frames *and* on PySpark is
used: no ``to_numpy``, no ``map_elements``, no date truncation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Any

import narwhals as nw
import numpy as np
import polars as pl

from churnml.contract.schemas import CLIENT_ID

__all__ = [
    "CDAY",
    "CIDX",
    "CREATED_WEEK",
    "CWEEK",
    "DAY",
    "ROW",
    "SDAY",
    "WEEK",
    "HeldShifts",
    "WeekAxis",
    "add_cumulative",
    "carried_or",
    "carried_totals",
    "civil_day_number",
    "client_week_grid",
    "cum",
    "cum_before",
    "day_number",
    "days_since",
    "dense_shifts",
    "existing_days",
    "existing_weeks",
    "from_grid_start",
    "held_shifts",
    "lagged_window_sum",
    "look_back_axis",
    "materialized",
    "materialized_by_week",
    "on_grid",
    "per_client_shifts",
    "python_day_number",
    "ratio_trend",
    "relative_slope",
    "released_spark_caches",
    "running_max",
    "safe_div",
    "seed",
    "shifted",
    "small_lazy_frame",
    "validated_weeks",
    "week_axis",
    "week_of",
    "week_position",
    "window_sum",
    "with_running_max",
    "zscore",
]

WEEK = "_week"
ROW = "_row"
CIDX = "_cidx"
DAY = "_day"
SDAY = "_sday"
CDAY = "_cday"
CWEEK = "_cweek"
CREATED_WEEK = "_created_week"
_EPOCH = date(1970, 1, 1)
_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class WeekAxis:
    """The weekly time axis of one feature build.

    ``anchor`` is the day number of a snapshot (weeks start on it); grid weeks run from
    ``first_week`` (the week of the earliest data) to ``last_week`` (the week before the last snapshot).
    ``origin_week`` is the week of the data's first activity when the grid starts later than it (a
    look-back grid, :func:`look_back_axis`); None: the grid starts there. What depends on the data's
    origin (the week a client is observed from, whether its onboarding was observed) reads
    :attr:`observed_from`, never ``first_week``.
    """

    anchor: int
    first_week: int
    last_week: int
    origin_week: int | None = None

    @property
    def observed_from(self) -> int:
        """The week of the data's first activity: ``origin_week``, or ``first_week`` when None."""
        return self.first_week if self.origin_week is None else self.origin_week

    def snapshot_day(self, week: int) -> int:
        """Day number of the snapshot that starts grid week ``week + 1``."""
        return self.anchor + 7 * (week + 1)


def python_day_number(value: date | datetime) -> int:
    """Days since 1970-01-01 of a Python date or datetime (the time of day is dropped)."""
    d = value.date() if isinstance(value, datetime) else value
    return (d - _EPOCH).days


def day_number(expr: nw.Expr, fast: bool = False) -> nw.Expr:
    """Days since 1970-01-01 of a date/datetime expression (the time of day is dropped: anything at
    23:59 on day D belongs to day D, i.e. strictly before a snapshot at D + 1).

    ``fast=True`` floor-divides the microseconds since the epoch by a day's (Polars: an integer
    division, ~10x faster than a cast to a date and ~500x faster than the calendar fields on millions of
    rows; floor division puts 1969-12-31 23:59 on day -1, as the calendar does); otherwise Howard
    Hinnant's ``days_from_civil`` on year/month/day, pure integer arithmetic that runs on every backend
    (Spark has no date-to-integer cast). Both give the same numbers (tested).
    """
    if fast:
        return expr.dt.timestamp("us") // _US_PER_DAY
    return civil_day_number(expr)


def civil_day_number(expr: nw.Expr) -> nw.Expr:
    """Days since 1970-01-01 from the calendar fields (portable integer arithmetic)."""
    y = expr.dt.year().cast(nw.Int64)
    m = expr.dt.month().cast(nw.Int64)
    d = expr.dt.day().cast(nw.Int64)
    y = y - nw.when(m <= 2).then(nw.lit(1)).otherwise(nw.lit(0))
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def week_of(day: nw.Expr, axis: WeekAxis) -> nw.Expr:
    """Grid week of a day number: the week that starts on the snapshot weekday at or before it."""
    return (day - axis.anchor) // 7


def from_grid_start(week: nw.Expr, axis: WeekAxis) -> nw.Expr:
    """``week``, or the grid's first week for a week before it (null stays null): where a running balance
    (tickets opened less closed, invoices issued less paid) takes an event dated before the grid, such as a
    placeholder 1900-01-01 that :meth:`~churnml.contract.dataset.Dataset.first_activity` does not start the
    data at. Dropped instead, the opening would be missing while its close inside the grid is subtracted: a
    balance of -1."""
    return week.clip(lower_bound=axis.first_week)


def validated_weeks(days: int, what: str = "window") -> int:
    """Whole weeks in a window of ``days``; a clear error when it is not a multiple of 7."""
    if days <= 0 or days % 7:
        raise ValueError(
            f"features: {what} of {days} days is not a positive multiple of 7; snapshots are weekly, so "
            f"windows must be whole weeks (e.g. 7, 28, 91, 182)"
        )
    return days // 7


def week_axis(snapshots: pl.Series, data_start: date | datetime) -> WeekAxis:
    """The axis for these snapshot dates: anchored on the first snapshot, starting at the first data.

    Raises ``ValueError`` when the snapshots are not all on one weekly grid (listing a few offenders).
    """
    if snapshots.len() == 0:
        raise ValueError("features: the spine has no rows, nothing to build")
    days = (snapshots.cast(pl.Date).cast(pl.Int64)).unique().sort()
    anchor = int(days[0])
    off = days.filter((days - anchor) % 7 != 0)
    if off.len():
        bad = [str(_EPOCH.fromordinal(_EPOCH.toordinal() + int(x))) for x in off.head(5)]
        raise ValueError(
            f"features: spine column snapshot is not on one weekly grid: {bad} are not a whole number of "
            f"weeks after the first snapshot {_EPOCH.fromordinal(_EPOCH.toordinal() + anchor)}"
        )
    start_day = min(python_day_number(data_start), anchor - 7)
    first_week = (start_day - anchor) // 7
    last_week = (int(days[-1]) - anchor) // 7 - 1
    return WeekAxis(anchor=anchor, first_week=first_week, last_week=last_week)


def look_back_axis(axis: WeekAxis, weeks: int) -> WeekAxis:
    """``axis`` with its grid starting ``weeks`` weeks before the first snapshot's row (grid week -1: the
    snapshot that starts week 0 is the anchor), or where it started if that is later; the data's origin
    is kept as ``origin_week``. A running sum differenced over at most ``weeks`` weeks then never
    reaches before the grid at a snapshot's row, and the weeks before it are carried in
    (:func:`carried_totals`)."""
    first = max(axis.first_week, -1 - weeks)
    if first == axis.first_week:
        return axis
    return WeekAxis(axis.anchor, first, axis.last_week, origin_week=axis.observed_from)


def small_lazy_frame(data: Mapping[str, Sequence[Any]], like: nw.LazyFrame) -> nw.LazyFrame:
    """A small lazy frame (e.g. the list of weeks) on the same backend as ``like``."""
    impl = like.implementation
    if impl.is_polars():
        return nw.from_native(pl.LazyFrame(dict(data)))
    if impl.is_pyspark() or impl.is_pyspark_connect():  # pragma: no cover - needs a JVM
        native = like.to_native()
        session = native.sparkSession
        cols = list(data)
        rows = list(zip(*(data[c] for c in cols), strict=True))
        return nw.from_native(session.createDataFrame(rows, schema=cols))
    raise ValueError(f"features: unsupported backend {impl}")  # pragma: no cover


def client_week_grid(clients: nw.LazyFrame, axis: WeekAxis) -> nw.LazyFrame:
    """Dense grid: one row per client x week from ``axis.first_week`` to ``axis.last_week``.

    ``clients`` has ``client_id``, ``_cidx`` (a distinct integer per client, 0..n-1) and ``_cday``
    (day number of created_at; null for a client the clients table does not know). ``_row`` orders
    the grid by client, then week, as one integer (what the dense shift strategy sorts on).
    """
    weeks = list(range(axis.first_week, axis.last_week + 1))
    week_frame = small_lazy_frame({WEEK: weeks}, clients)
    return (
        clients.select(CLIENT_ID, CIDX, CDAY)
        .join(week_frame, how="cross")
        .with_columns(
            (nw.col(CIDX) * len(weeks) + (nw.col(WEEK) - axis.first_week)).alias(ROW),
            (nw.col(WEEK) * 7 + (axis.anchor + 7)).alias(SDAY),
            ((nw.col(CDAY) - axis.anchor) // 7).alias(CREATED_WEEK),
        )
        .with_columns(
            # observed from: the created week, or the first week of data for older (or unknown) clients
            nw.max_horizontal(
                nw.col(CREATED_WEEK).fill_null(axis.observed_from), nw.lit(axis.observed_from)
            ).alias(CWEEK),
        )
        .drop(CIDX)
    )


def on_grid(grid: nw.LazyFrame, weekly: nw.LazyFrame, fill_zero: Iterable[str] = ()) -> nw.LazyFrame:
    """Left-join client-week aggregates onto the grid; weeks without rows get 0 in ``fill_zero``."""
    fill = list(fill_zero)
    out = grid.join(weekly, on=[CLIENT_ID, WEEK], how="left")
    if fill:
        out = out.with_columns(nw.col(c).fill_null(0) for c in fill)
    return out


# The Spark frames materialized (cached) inside a released_spark_caches block, unpersisted when it ends; None
# outside one (a Spark frame is then left as it is)
_SPARK_CACHED: ContextVar[list[Any] | None] = ContextVar("spark_cached", default=None)


@contextmanager
def released_spark_caches() -> Iterator[None]:
    """Within the block, :func:`materialized` caches a Spark frame (read by several parts of a family's plan:
    computed once, and each later plan starts from the cached rows instead of re-planning the subtree), and
    every frame it cached is unpersisted when the block ends, on an error too. Outside one, Spark frames stay
    as they are."""
    token = _SPARK_CACHED.set([])
    try:
        yield
    finally:
        for frame in _SPARK_CACHED.get() or []:
            frame.unpersist()
        _SPARK_CACHED.reset(token)


def materialized(lf: nw.LazyFrame) -> nw.LazyFrame:
    """``lf`` computed now, as a lazy frame again, on Polars (with the streaming engine: an aggregation
    of millions of raw rows runs in bounded memory, and the window functions that follow run on the
    small result with the faster in-memory engine); on Spark cached inside :func:`released_spark_caches`
    (the usage family's weekly aggregate is read by four parts of its plan: the family on 40 clients x 8
    months took 82 s on local Spark without, 36 s with, the machine loaded); else ``lf`` unchanged (still
    lazy). An execution choice only: the values are those of ``lf``."""
    if lf.implementation.is_polars():
        return nw.from_native(lf.to_native().collect(engine="streaming").lazy())
    held = _SPARK_CACHED.get()
    if held is not None and lf.implementation.is_spark_like():
        native = lf.to_native().cache()
        held.append(native)
        return nw.from_native(native)
    return lf


def materialized_by_week(lf: nw.LazyFrame, axis: WeekAxis, parts: int = 2) -> nw.LazyFrame:
    """:func:`materialized` for a computation that is separable by ``_week`` (a de-duplication or an
    aggregation whose keys include the week): on Polars computed in ``parts`` ranges of weeks one
    after the other and concatenated, so the hash table of one range is in memory at a time (a
    de-duplication of millions of raw rows otherwise peaks at ~8x its result; two ranges cut that
    peak by a third at no extra CPU, more ranges rescan the input). Other backends: ``lf`` unchanged. Row order is not meaningful either way; the rows are those of ``lf``."""
    if not lf.implementation.is_polars() or parts <= 1:
        return materialized(lf)
    span = axis.last_week - axis.first_week + 1
    step = -(-span // parts)
    cuts = list(range(axis.first_week + step, axis.last_week + 1, step))
    if not cuts:
        return materialized(lf)
    week = pl.col(WEEK)
    ranges = [week < cuts[0]]
    ranges += [(week >= lo) & (week < hi) for lo, hi in pairwise(cuts)]
    ranges.append((week >= cuts[-1]) | week.is_null())
    native = lf.to_native()
    frames = [native.filter(r).collect(engine="streaming") for r in ranges]
    return nw.from_native(pl.concat(frames).lazy())


def cum(col: str) -> str:
    """Name of the cumulative-sum column of ``col``."""
    return f"_cum_{col}"


def seed(col: str) -> str:
    """Name of the column carrying ``col``'s running total (or running maximum) into a grid's first week."""
    return f"_seed_{col}"


def carried_or(col: str, value: nw.Expr | None = None) -> nw.Expr:
    """The carried-in :func:`seed` of ``col`` where it is not null (a client's first week of a look-back
    grid), else ``value`` (default: the column ``col`` itself)."""
    own = nw.col(col) if value is None else value
    return nw.when(nw.col(seed(col)).is_null()).then(own).otherwise(nw.col(seed(col)))


def week_position(snapshot_day: nw.Expr) -> nw.Expr:
    """The position of a grid week on the calendar: weeks since 1970 of the snapshot that follows it
    (``_sday // 7``), consecutive from week to week. Unlike ``_week`` (counted from the run's first
    snapshot) it is the same in every run, so the running sums of ``week * y`` (:func:`relative_slope`)
    are the same, bit for bit, whichever snapshots a run scores."""
    return snapshot_day // 7


def _with_moments(lf: nw.LazyFrame, moments: list[str], position: nw.Expr) -> nw.LazyFrame:
    extra = [(nw.col(c) * position).alias(f"{c}__wy") for c in moments]
    extra += [(nw.col(c) * nw.col(c)).alias(f"{c}__yy") for c in moments]
    return lf.with_columns(extra) if extra else lf


def _cumulated(cols: list[str], moments: list[str]) -> list[str]:
    names = cols + [f"{c}__wy" for c in moments] + [f"{c}__yy" for c in moments]
    return list(dict.fromkeys(names + moments))


def add_cumulative(
    lf: nw.LazyFrame, cols: Iterable[str], moments: Iterable[str] = (), seeded: bool = False
) -> nw.LazyFrame:
    """Add running sums over each client's weeks: ``_cum_<col>``; for ``moments`` also of
    ``week * col`` (the week's :func:`week_position`, from ``_sday``) and ``col ** 2`` (what slopes and
    z-scores need).

    ``seeded``: ``lf`` holds, for every summed column, a column :func:`seed` (from
    :func:`carried_totals`, non-null on a client's first grid week only); where it is not null the
    running sum takes it as its value there (the total of the weeks before the grid, that week included),
    so the sums go on exactly as they would on a grid that started at the data's first week."""
    cols = list(cols)
    moments = list(moments)
    if _DENSE_FIRST_WEEK.get() is not None:
        # dense strategy: sort once by the grid order so every ordered shift after this finds it sorted
        # (Polars skips the per-expression sort: ~4x faster window features)
        lf = lf.sort(ROW)
    lf = _with_moments(lf, moments, week_position(nw.col(SDAY)))
    names = _cumulated(cols, moments)

    def summed(c: str) -> nw.Expr:
        value = nw.col(c).cast(nw.Float64)
        return carried_or(c, value) if seeded else value

    if _DENSE_FIRST_WEEK.get() is not None and lf.implementation.is_polars():
        # dense strategy: each client's weeks are one block of rows, summed along the block (_block_cumsums)
        values = lf.with_columns(summed(c).alias(cum(c)) for c in names).to_native()
        packed = pl.struct(ROW, WEEK, *[cum(c) for c in names]).map_batches(
            _block_cumsums, return_dtype=pl.Struct({cum(c): pl.Float64 for c in names})
        )
        return nw.from_native(values.with_columns(packed.alias(_CUMS)).drop(map(cum, names)).unnest(_CUMS))
    return lf.with_columns(summed(c).cum_sum().over(CLIENT_ID, order_by=WEEK).alias(cum(c)) for c in names)


_CUMS = "_cums"  # the struct of the running sums add_cumulative computes on a dense grid


def _block_cumsums(packed: pl.Series) -> pl.Series:
    """The running sums of a dense grid's columns within each client (add_cumulative on the dense strategy).

    ``packed``: a struct of ``_row``, ``_week`` and the Float64 values to sum, the whole grid with its rows in
    ``_row`` order (client by client, each client's weeks ``first .. last`` in order: ``_row`` = 0, 1, ...), as
    :func:`client_week_grid` builds it. Each client's weeks are then one block of ``weeks`` rows, and the
    running sums are numpy's sums along the blocks: the same additions in the same order as a window over
    each client, bit for bit, ~6x faster. A column holding a null is summed by Polars' window over the blocks
    (its nulls skipped, as before). Rows not so is a caller's bug (a ``RuntimeError``)."""
    return _along_blocks(
        packed, "running sums", np.cumsum, lambda col: col.cum_sum(), lambda values: values.has_nulls()
    )


def _along_blocks(
    packed: pl.Series,
    what: str,
    numpy_op: Callable[..., np.ndarray],
    window_op: Callable[[pl.Expr], pl.Expr],
    by_window: Callable[[pl.Series], bool],
) -> pl.Series:
    """Each column of ``packed`` (a struct of ``_row``, ``_week`` and the columns, a dense grid's rows in ``_row``
    order, :func:`_weeks_per_client`) accumulated within each client's block of weeks: ``numpy_op`` along the
    blocks (called with ``axis=1`` on the blocks as rows), or Polars' ``window_op`` over the blocks for a column
    that ``by_window`` picks (numpy would not skip its nulls or NaNs as Polars does). Each column keeps its
    type; grain: the rows of ``packed``. The one loop of :func:`_block_cumsums` and :func:`_block_cummax`."""
    frame = packed.struct.unnest()
    if frame.height == 0:
        return frame.drop(ROW, WEEK).to_struct(packed.name)
    weeks = _weeks_per_client(frame, what)
    block = pl.Series("_block", np.arange(frame.height) // weeks)
    out = {}
    for name in frame.columns[2:]:
        values = frame.get_column(name)
        if by_window(values):
            out[name] = (
                pl.DataFrame([values, block]).select(window_op(pl.col(name)).over("_block")).to_series()
            )
        else:
            blocks = values.to_numpy().reshape(-1, weeks)
            out[name] = pl.Series(name, numpy_op(blocks, axis=1).ravel(), values.dtype)
    return pl.DataFrame(out).to_struct(packed.name)


def _weeks_per_client(frame: pl.DataFrame, what: str) -> int:
    """The number of weeks of each client's block of rows in ``frame`` (columns ``_row`` and ``_week``, a dense
    grid's rows in ``_row`` order: client by client, each client's weeks ``first .. last`` in order). Rows not
    so is a caller's bug: a ``RuntimeError`` naming ``what`` needed them (e.g. "running sums")."""
    row = frame.get_column(ROW).to_numpy()
    week = frame.get_column(WEEK).to_numpy()
    n, start = len(row), int(week.min())
    weeks = int(week.max()) - start + 1
    if not (
        n % weeks == 0
        and np.array_equal(row, np.arange(n))
        and np.array_equal(week, np.tile(np.arange(start, start + weeks), n // weeks))
    ):
        raise RuntimeError(
            f"features: the {what} of a dense grid need its {n} rows in _row order, each client's "
            f"{weeks} weeks in order (a bug: the grid was filtered, joined to duplicates or reordered)"
        )
    return weeks


def carried_totals(
    rows: nw.LazyFrame,
    axis: WeekAxis,
    cols: Iterable[str],
    moments: Iterable[str] = (),
    maxima: Iterable[str] = (),
) -> nw.LazyFrame:
    """What a grid that starts after the data's origin (:func:`look_back_axis`) carries into its first
    week: one row per client with rows in the weeks ``axis.observed_from .. axis.first_week``, columns
    ``client_id``, ``_week`` (= ``axis.first_week``) and :func:`seed` of every column
    :func:`add_cumulative` sums for ``cols`` / ``moments`` (their running total through that week) and of
    each column of ``maxima`` (its maximum).

    ``rows``: client-week rows (one per client x week with activity, e.g. :func:`on_grid` onto those
    weeks), the columns of the grid rows. The totals are running sums in week order, as on the whole grid
    (the weeks without a row add 0), so the sums continue bit for bit."""
    cols, moments, maxima = list(cols), list(moments), list(maxima)
    week = nw.col(WEEK)
    pre = rows.filter((week >= axis.observed_from) & (week <= axis.first_week))
    pre = _with_moments(pre, moments, week_position(week * 7 + (axis.anchor + 7)))
    totals = [
        nw.col(c).cast(nw.Float64).cum_sum().over(CLIENT_ID, order_by=WEEK).alias(seed(c))
        for c in _cumulated(cols, moments)
    ]
    highest = [nw.col(c).max().over(CLIENT_ID).alias(seed(c)) for c in maxima]
    return (
        pre.with_columns(*totals, *highest, week.max().over(CLIENT_ID).alias("_last_week"))
        .filter(week == nw.col("_last_week"))
        .select(
            CLIENT_ID,
            nw.lit(axis.first_week).cast(nw.Int64).alias(WEEK),
            *[seed(c) for c in _cumulated(cols, moments)],
            *[seed(c) for c in maxima],
        )
    )


# How to shift a column by n weeks within each client. "partition": a window partitioned by client
# (what SQL engines such as Spark distribute well). "dense": one ordered shift over the whole grid,
# masked where the row n above belongs to the previous client; valid because the grid is dense (every
# client has every week from first_week on) and ~5x faster on Polars than a per-client window.
_DENSE_FIRST_WEEK: ContextVar[int | None] = ContextVar("dense_first_week", default=None)
_FORCE_PARTITION: ContextVar[bool] = ContextVar("force_partition", default=False)


@contextmanager
def dense_shifts(first_week: int | None) -> Iterator[None]:
    """Within the block, shifts use the "dense" strategy on a grid starting at ``first_week``
    (``None``, or inside :func:`per_client_shifts`: per-client windows)."""
    token = _DENSE_FIRST_WEEK.set(None if _FORCE_PARTITION.get() else first_week)
    try:
        yield
    finally:
        _DENSE_FIRST_WEEK.reset(token)


@contextmanager
def per_client_shifts() -> Iterator[None]:
    """Within the block, always shift with per-client windows (the Spark strategy; tests compare)."""
    token = _FORCE_PARTITION.set(True)
    try:
        yield
    finally:
        _FORCE_PARTITION.reset(token)


@dataclass
class HeldShifts:
    """The dense shifts (:func:`dense_shifts`) of a family's expressions built inside :func:`held_shifts`, held
    as columns of their own: ``columns`` maps each column's name to (the column shifted, weeks, the grid's first
    week). :meth:`on` adds them to the grid with plain Polars shifts.

    Why: Narwhals runs an ordered shift on a lazy frame as a window over one constant partition ordered by
    ``_row`` (``shift(n).over(repeat(1, len()), order_by=_row)``), a group and a sort per shift, 3-4x the
    plain shift of the rows once sorted by ``_row``; and with the shifts out of the expressions, the feature
    expressions are elementwise, so the spine's filter on ``_week`` reaches them (Polars cannot push a filter
    through a window) and they are computed on the spine's weeks only. The values are the same, bit for bit."""

    columns: dict[str, tuple[str, int, int]]

    def add(self, col: str, n: int, first: int) -> str:
        """The name of the column holding ``col`` ``n`` weeks earlier (null before the grid's ``first`` week)."""
        name = f"_shift{n}_{col}"
        self.columns[name] = (col, n, first)
        return name

    def on(self, lf: nw.LazyFrame) -> nw.LazyFrame:
        """``lf`` (a dense grid, Polars; rows in any order) sorted by ``_row`` with the held shift columns (``lf``
        unchanged when none is held). Grain unchanged: one row per client x grid week."""
        if not self.columns:
            return lf
        native = lf.to_native().sort(ROW, maintain_order=True)
        return nw.from_native(
            native.with_columns(
                pl.when(pl.col(WEEK) - n >= first).then(pl.col(col).shift(n)).alias(name)
                for name, (col, n, first) in self.columns.items()
            )
        )


_HELD_SHIFTS: ContextVar[HeldShifts | None] = ContextVar("held_shifts", default=None)


@contextmanager
def held_shifts() -> Iterator[HeldShifts]:
    """Within the block, a dense shift of a named column (:func:`shifted` inside :func:`dense_shifts`) is a
    reference to a column of the :class:`HeldShifts` yielded, which the caller adds to the grid with
    :meth:`HeldShifts.on` before it selects the expressions built here. Outside the dense strategy (Spark,
    :func:`per_client_shifts`) nothing is held and the shifts are the windows they always were."""
    held = HeldShifts({})
    token = _HELD_SHIFTS.set(held)
    try:
        yield held
    finally:
        _HELD_SHIFTS.reset(token)


def shifted(col: nw.Expr | str, n: int) -> nw.Expr:
    """``col`` n weeks earlier for the same client; null where that week is before the grid. Inside
    :func:`held_shifts` on the dense strategy, a column of the held shifts (:class:`HeldShifts`)."""
    expr = nw.col(col) if isinstance(col, str) else col
    first = _DENSE_FIRST_WEEK.get()
    if first is None:
        return expr.shift(n).over(CLIENT_ID, order_by=WEEK)
    held = _HELD_SHIFTS.get()
    if held is not None and isinstance(col, str):
        return nw.col(held.add(col, n, first))
    return nw.when(nw.col(WEEK) - n >= first).then(expr.shift(n).over(order_by=ROW))


def _shifted(name: str, n: int) -> nw.Expr:
    if n == 0:
        return nw.col(name)
    return shifted(name, n).fill_null(0)


def window_sum(col: str, weeks: int) -> nw.Expr:
    """Sum of ``col`` over the last ``weeks`` grid weeks (this row's week included)."""
    return nw.col(cum(col)) - _shifted(cum(col), weeks)


def cum_before(col: str, lag: int) -> nw.Expr:
    """Sum of ``col`` over all weeks up to ``lag`` weeks before this row's week (all earlier history)."""
    return _shifted(cum(col), lag)


def lagged_window_sum(col: str, weeks: int, lag: int) -> nw.Expr:
    """Sum of ``col`` over ``weeks`` grid weeks ending ``lag`` weeks before this row's week."""
    return _shifted(cum(col), lag) - _shifted(cum(col), lag + weeks)


def existing_weeks(weeks: int, lag: int = 0) -> nw.Expr:
    """How many of the ``weeks`` weeks ending ``lag`` weeks before the row the client existed
    (from its created week on): the denominator of tenure-aware rates.

    A clip, not a ``when(...).then(literal)``: where every row takes the literal branch Polars keeps the
    result as a constant, and a division by a constant is computed as a product with its reciprocal (1
    ulp off); a clip stays a column, so a rate does not depend on which weeks the grid holds."""
    n = nw.col(WEEK) - lag - nw.col(CWEEK) + 1
    return n.clip(0, weeks)


def existing_days(weeks: int, lag: int = 0) -> nw.Expr:
    """How many days of the ``weeks`` weeks ending ``lag`` weeks before the row the client existed: from its
    creation day on (``_cday``), or from the first day of the week it is observed from (``_cweek``: the data's
    first week for a client older than the data). The denominator of tenure-aware rates: a client created on
    the last day of a grid week was there 1 day of it, not a week (its 16 logins in 8 days read 8 a week)."""
    end = nw.col(SDAY) - 7 * lag
    observed = nw.col(SDAY) - 7 * (
        nw.col(WEEK) - nw.col(CWEEK) + 1
    )  # the first day of the week observed from
    start = nw.max_horizontal(nw.col(CDAY).fill_null(observed), observed, end - 7 * weeks)
    return (end - start).clip(0, 7 * weeks)


def safe_div(num: nw.Expr, den: nw.Expr) -> nw.Expr:
    """``num / den`` as float, null where ``den`` is 0 or null."""
    return nw.when(den != 0).then(num.cast(nw.Float64) / den.cast(nw.Float64))


def ratio_trend(col: str, recent_weeks: int, baseline_weeks: int) -> nw.Expr:
    """Smoothed ratio of the recent rate to the client's own baseline rate.

    ``(a + 1) / (b * n_a / n_b + 1)``: ``a`` is the sum over the last ``recent_weeks``, ``b`` the sum
    over the ``baseline_weeks`` before them, ``n_a``/``n_b`` the days of each window in which the
    client existed (:func:`existing_days`: young clients are compared over the days they had; a baseline of
    the one day of a client's first week is one day, not a week, so steady use reads 1, not +533%). The +1
    keeps 0 -> 0 at 1 and stops 1 -> 0 looking like a collapse. Null while the client has no baseline day yet.
    """
    a = window_sum(col, recent_weeks)
    b = lagged_window_sum(col, baseline_weeks, recent_weeks)
    n_a = existing_days(recent_weeks)
    n_b = existing_days(baseline_weeks, recent_weeks)
    expected = b.cast(nw.Float64) * n_a / n_b
    return nw.when(n_b > 0).then((a + 1) / (expected + 1))


def relative_slope(col: str, weeks: int) -> nw.Expr:
    """Least-squares slope of the weekly values over the last ``weeks`` weeks, divided by their mean
    + 1 (so -0.05 = falling by 5% of the window's mean weekly level each week; in a steep fall that mean is
    well under the client's usual level). Null for clients younger than
    the window. Computed from running sums of y and week*y (no per-snapshot loops), the weeks numbered on
    the calendar (:func:`week_position`), not from the run's first snapshot: the same client and snapshot
    get the same slope, bit for bit, whichever snapshots a run scores (exact for counts)."""
    n = weeks
    sy = window_sum(col, n)
    # sum over j = 0..n-1 of j * y_j with j = p - (p_w - n + 1), p the position of a week, p_w this row's
    sxy = window_sum(f"{col}__wy", n) - (week_position(nw.col(SDAY)) - (n - 1)) * sy
    sx = n * (n - 1) / 2
    sxx = (n - 1) * n * (2 * n - 1) / 6
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    mean = sy / n
    return nw.when(existing_weeks(n) >= n).then(slope / (mean + 1))


def zscore(col: str, recent_weeks: int, baseline_weeks: int) -> nw.Expr:
    """Mean of the last ``recent_weeks`` against the client's own mean and spread over the
    ``baseline_weeks`` before them: ``(m_recent - m_base) / (sd_base + 1)``. The +1 keeps the score
    finite for a client whose weekly values never varied. Null with fewer than 2 baseline weeks."""
    n_r = existing_weeks(recent_weeks)
    n_b = existing_weeks(baseline_weeks, recent_weeks)
    s1 = lagged_window_sum(col, baseline_weeks, recent_weeks)
    s2 = lagged_window_sum(f"{col}__yy", baseline_weeks, recent_weeks)
    n_bf = n_b.cast(nw.Float64)
    m_b = s1 / n_bf
    var = (s2 - s1 * s1 / n_bf) / (n_bf - 1)
    var = nw.when(var > 0).then(var).otherwise(nw.lit(0.0))
    m_r = window_sum(col, recent_weeks) / n_r.cast(nw.Float64)
    return nw.when((n_b >= 2) & (n_r > 0)).then((m_r - m_b) / (var.sqrt() + 1))


def days_since(last_day_col: str) -> nw.Expr:
    """Days from the last occurrence (a running-max day number) to the snapshot; null if never."""
    return (nw.col(SDAY) - nw.col(last_day_col)).cast(nw.Float64)


_NONE = -(10**12)


def running_max(col: str) -> nw.Expr:
    """Running maximum of ``col`` over each client's weeks, carried across weeks without a value
    (null until the first value). Nulls become a sentinel first: backends differ on whether a running
    max at a null row is null (Polars) or the maximum so far (SQL)."""
    m = nw.col(col).fill_null(_NONE).cum_max().over(CLIENT_ID, order_by=WEEK)
    return nw.when(m > _NONE).then(m)


def with_running_max(lf: nw.LazyFrame, cols: Iterable[str]) -> nw.LazyFrame:
    """``lf`` (a client x week grid) with each column of ``cols`` replaced by its :func:`running_max`. Grain
    unchanged: one row per client x grid week.

    On the dense strategy (:func:`dense_shifts`, Polars) the grid is sorted by ``_row`` (as
    :func:`add_cumulative` sorts it next) and each client's block of weeks is carried forward with numpy
    (:func:`_block_cummax`) instead of a window per column, ordered per client (~25 windows per batch,
    costed as the running sums were); the values are those of :func:`running_max`, bit for bit (a maximum
    adds nothing). Elsewhere (Spark, :func:`per_client_shifts`) the windows of :func:`running_max`."""
    cols = list(cols)
    if not cols:
        return lf
    if _DENSE_FIRST_WEEK.get() is None or not lf.implementation.is_polars():
        return lf.with_columns(running_max(c).alias(c) for c in cols)
    native = lf.to_native().sort(ROW).with_columns(pl.col(c).fill_null(_NONE) for c in cols)
    schema = native.collect_schema()
    packed = pl.struct(ROW, WEEK, *cols).map_batches(
        _block_cummax, return_dtype=pl.Struct({c: schema[c] for c in cols})
    )
    return nw.from_native(
        native.with_columns(packed.alias(_MAXIMA))
        .drop(cols)
        .unnest(_MAXIMA)
        .with_columns(pl.when(pl.col(c) > _NONE).then(pl.col(c)).alias(c) for c in cols)
        .select(schema.names())
    )


_MAXIMA = "_maxima"  # the struct of the running maxima with_running_max computes on a dense grid


def _block_cummax(packed: pl.Series) -> pl.Series:
    """The running maxima of a dense grid's columns within each client (:func:`with_running_max` on the dense
    strategy).

    ``packed``: a struct of ``_row``, ``_week`` and the columns (no nulls: the sentinel stands for them), the
    whole grid in ``_row`` order (:func:`_weeks_per_client`). Each client's weeks are one block of rows, and
    the maxima are numpy's along the blocks. A float column holding a NaN is carried by Polars' window over the
    blocks instead (numpy's maximum would carry the NaN, Polars' skips it). Grain: the rows of ``packed``."""
    return _along_blocks(
        packed,
        "running maxima",
        np.maximum.accumulate,
        lambda col: col.cum_max(),
        lambda values: values.dtype.is_float() and values.is_nan().any(),
    )
