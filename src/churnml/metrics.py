"""Churn-rate reporting: logo churn and revenue churn per calendar month, overall and per segment.

Grain of :func:`monthly_churn`: one row per month x segment, with ``segment = "all"`` for the whole
portfolio (per-segment rows only when ``clients.segment`` exists; clients without one are "unknown").
Columns:

- ``month`` (Date, first day), ``segment`` (String);
- ``active_start``: clients active at 00:00 on the first day of the month (:func:`labels.active_spine`
  in hindsight: a churn counts from its ``churned_at``);
- ``new_clients``: clients created during the month;
- ``churned``: clients active at the month start with a churn (``labels.churn_dates``) during the month;
- ``logo_churn_rate`` = churned / active_start (null when nobody was active);
- ``mrr_start``: monthly recurring revenue of the clients active at the month start; ``mrr_lost``: the
  part of it held by the clients who churned; ``revenue_churn_rate`` = mrr_lost / mrr_start (gross
  revenue churn: downgrades of clients who stay are not counted);
- ``mrr_basis``: ``subscriptions`` (MRR of the terms running just before the month starts:
  ``start_date < month <= end_date``, so a term ending on the 1st still counts for the client who
  churns that day, and back-to-back terms count once) or, without a
  subscriptions table, ``payments_run_rate`` (the client's payments in the 365 days before the month
  start / 12, refunds netted, floored at 0);
- ``complete``: whether the month's churn is fully observed: every churn of it is already known
  (month end + the label lag ``<=`` the data end; the last months usually are not) and, for the
  inactivity source, the month starts at least ``inactivity_days`` after the first data (before
  that nobody can have been inactive long enough: churn is understated).

Months run from the first month that starts at or after the first data to the month of the last data.
A segment's row for a month is there when the segment has clients active at its start or new in it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from churnml.config import LabelConfig
from churnml.dataset import Dataset
from churnml.labels import SNAPSHOT, active_spine, churn_dates, label_lag_days
from churnml.schemas import CLIENT_ID, Churns, Clients, Payments, Subscriptions, Table

__all__ = ["ALL_SEGMENTS", "UNKNOWN_SEGMENT", "churn_rate_figure", "month_starts", "monthly_churn", "mrr_at"]

ALL_SEGMENTS = "all"
UNKNOWN_SEGMENT = "unknown"
MONTH = "month"
SEGMENT = "segment"
_DT = pl.Datetime("us")
_MRR = "_mrr"
_YEAR = pl.duration(days=365)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_starts(data_start: datetime, data_end: datetime) -> list[date]:
    """First days of the months from the first one at or after ``data_start`` to the one holding the
    last data (the instant just before the exclusive ``data_end``)."""
    first = date(data_start.year, data_start.month, 1)
    if datetime(first.year, first.month, first.day) < data_start:
        first = _next_month(first)
    last_day = (data_end - timedelta(microseconds=1)).date()
    out = []
    month = first
    while month <= last_day:
        out.append(month)
        month = _next_month(month)
    return out


def _on_snapshots(frame: pl.DataFrame, lo: pl.Expr, hi: pl.Expr, snapshots: pl.Series) -> pl.DataFrame:
    """Each row of ``frame`` once per snapshot ``s`` (column ``snapshot``) with ``lo < s <= hi``.

    Binary search on the sorted snapshots: the cost grows with the rows produced, not with
    rows x snapshots.
    """
    snaps = pl.DataFrame({SNAPSHOT: snapshots.cast(pl.Date).unique().sort()}).with_row_index("_i")
    times = snaps.get_column(SNAPSHOT).cast(_DT)
    bounds = frame.select(lo.cast(_DT).alias("_lo"), hi.cast(_DT).alias("_hi"))
    first = times.search_sorted(bounds.get_column("_lo"), side="right").cast(pl.Int64)
    last = times.search_sorted(bounds.get_column("_hi"), side="right").cast(pl.Int64) - 1
    return (
        frame.with_columns(first.alias("_i0"), last.alias("_i1"))
        .filter(pl.col("_i0") <= pl.col("_i1"))
        .with_columns(pl.int_ranges("_i0", pl.col("_i1") + 1, dtype=pl.UInt32).alias("_i"))
        .explode("_i")
        .join(snaps, on="_i")
        .drop("_i0", "_i1", "_i")
    )


def mrr_at(dataset: Dataset, spine: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """MRR of each (client, snapshot) row of ``spine`` at 00:00 of the snapshot, and its basis.

    Returns ``spine`` with a ``_mrr`` column (0 when nothing runs) and ``"subscriptions"`` or
    ``"payments_run_rate"`` (see the module docstring); with neither table, MRR is 0 and the basis ``"none"``.
    """
    subs = dataset.get(Table.SUBSCRIPTIONS)
    payments = dataset.get(Table.PAYMENTS)
    snapshots = spine.get_column(SNAPSHOT)
    if subs is not None:
        # a term counts at s when start_date < s <= end_date
        terms = subs.select(
            Subscriptions.CLIENT_ID, Subscriptions.START_DATE, Subscriptions.END_DATE, Subscriptions.MRR
        )
        running = (
            _on_snapshots(terms, pl.col(Subscriptions.START_DATE), pl.col(Subscriptions.END_DATE), snapshots)
            .group_by(CLIENT_ID, SNAPSHOT)
            .agg(pl.col(Subscriptions.MRR).sum().alias(_MRR))
        )
        basis = "subscriptions"
    elif payments is not None:
        # a payment counts at s when paid_at < s <= paid_at + 365 days
        paid = payments.filter(pl.col(Payments.PAID_AT).is_not_null()).select(
            Payments.CLIENT_ID, Payments.PAID_AT, Payments.AMOUNT
        )
        running = (
            _on_snapshots(paid, pl.col(Payments.PAID_AT), pl.col(Payments.PAID_AT) + _YEAR, snapshots)
            .group_by(CLIENT_ID, SNAPSHOT)
            .agg((pl.col(Payments.AMOUNT).sum() / 12).clip(lower_bound=0).alias(_MRR))
        )
        basis = "payments_run_rate"
    else:
        return spine.with_columns(pl.lit(0.0).alias(_MRR)), "none"
    out = spine.join(running, on=[CLIENT_ID, SNAPSHOT], how="left").with_columns(pl.col(_MRR).fill_null(0.0))
    return out, basis


def _aggregate(rows: pl.DataFrame, new: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    churn = rows.group_by(keys).agg(
        pl.len().alias("active_start"),
        pl.col("_churned").sum().alias("churned"),
        pl.col(_MRR).sum().alias("mrr_start"),
        pl.col(_MRR).filter(pl.col("_churned")).sum().alias("mrr_lost"),
    )
    added = new.group_by(keys).agg(pl.len().alias("new_clients"))
    return churn.join(added, on=keys, how="full", coalesce=True)


def monthly_churn(dataset: Dataset, cfg: LabelConfig) -> pl.DataFrame:
    """Logo and revenue churn per month (and per segment): see the module docstring for the columns.

    Sorted by month, then segment with ``all`` first.
    """
    months = month_starts(dataset.start, dataset.as_of)
    schema = {
        MONTH: pl.Date,
        SEGMENT: pl.String,
        "active_start": pl.UInt32,
        "new_clients": pl.UInt32,
        "churned": pl.UInt32,
        "logo_churn_rate": pl.Float64,
        "mrr_start": pl.Float64,
        "mrr_lost": pl.Float64,
        "revenue_churn_rate": pl.Float64,
        "mrr_basis": pl.String,
        "complete": pl.Boolean,
    }
    if not months:
        return pl.DataFrame(schema=schema)
    base = active_spine(dataset, months, cfg, hindsight=True)
    churned = (
        churn_dates(dataset, cfg)
        .select(CLIENT_ID, pl.col(Churns.CHURNED_AT).dt.truncate("1mo").cast(pl.Date).alias(SNAPSHOT))
        .unique()
        .with_columns(pl.lit(True).alias("_churned"))
    )
    rows = base.join(churned, on=[CLIENT_ID, SNAPSHOT], how="left").with_columns(
        pl.col("_churned").fill_null(False)
    )
    rows, basis = mrr_at(dataset, rows)

    clients = dataset.tables[Table.CLIENTS]
    has_segment = Clients.SEGMENT in clients.columns and clients.get_column(
        Clients.SEGMENT
    ).null_count() < len(clients)
    segment = (
        pl.col(Clients.SEGMENT).fill_null(UNKNOWN_SEGMENT) if has_segment else pl.lit(UNKNOWN_SEGMENT)
    ).alias(SEGMENT)
    seg = clients.select(CLIENT_ID, segment)
    new = (
        clients.select(CLIENT_ID, pl.col(Clients.CREATED_AT).dt.truncate("1mo").cast(pl.Date).alias(SNAPSHOT))
        .filter(pl.col(SNAPSHOT).is_in(months))
        .join(seg, on=CLIENT_ID)
    )
    rows = rows.join(seg, on=CLIENT_ID, how="left")

    parts = [_aggregate(rows, new, [SNAPSHOT]).with_columns(pl.lit(ALL_SEGMENTS).alias(SEGMENT))]
    if has_segment:
        parts.append(_aggregate(rows, new, [SNAPSHOT, SEGMENT]))
    grid = pl.DataFrame({SNAPSHOT: months}, schema={SNAPSHOT: pl.Date})
    overall = grid.join(parts[0], on=SNAPSHOT, how="left").with_columns(pl.lit(ALL_SEGMENTS).alias(SEGMENT))
    frames = [overall] + [p.filter(pl.col(SNAPSHOT).is_in(months)) for p in parts[1:]]
    table = pl.concat([f.select(sorted(f.columns)) for f in frames], how="diagonal_relaxed")

    lag = timedelta(days=label_lag_days(cfg))
    # Inactivity churn in a month needs activity inactivity_days before it: earlier months are blind.
    warm_from = dataset.start + timedelta(days=cfg.inactivity_days if cfg.source == "inactivity" else 0)
    complete = {
        m: datetime.combine(_next_month(m), datetime.min.time()) + lag <= dataset.as_of
        and datetime.combine(m, datetime.min.time()) >= warm_from
        for m in months
    }
    table = table.with_columns(
        pl.col("active_start", "new_clients", "churned").fill_null(0).cast(pl.UInt32),
        pl.col("mrr_start", "mrr_lost").fill_null(0.0).round(2),
    ).with_columns(
        pl.when(pl.col("active_start") > 0)
        .then(pl.col("churned") / pl.col("active_start"))
        .alias("logo_churn_rate"),
        pl.when(pl.col("mrr_start") > 0)
        .then(pl.col("mrr_lost") / pl.col("mrr_start"))
        .alias("revenue_churn_rate"),
        pl.lit(basis).alias("mrr_basis"),
        pl.col(SNAPSHOT).replace_strict(complete, return_dtype=pl.Boolean).alias("complete"),
    )
    return (
        table.rename({SNAPSHOT: MONTH})
        .with_columns((pl.col(SEGMENT) != ALL_SEGMENTS).alias("_order"))
        .sort(MONTH, "_order", SEGMENT)
        .select(list(schema))
        .cast(schema)  # type: ignore[arg-type]
    )


def churn_rate_figure(table: pl.DataFrame):  # -> matplotlib.figure.Figure
    """Logo and revenue churn rate per month (portfolio rows of :func:`monthly_churn`).

    Incomplete months (churn not yet known) are drawn hollow. Returns a matplotlib Figure; the
    caller saves it (no I/O here).
    """
    from matplotlib.figure import Figure

    overall = table.filter(pl.col(SEGMENT) == ALL_SEGMENTS).sort(MONTH)
    fig = Figure(figsize=(9, 4))
    ax = fig.add_subplot()
    months = overall.get_column(MONTH).to_list()
    complete = overall.get_column("complete").to_list()
    for col, label, color in (
        ("logo_churn_rate", "logo churn (clients)", "tab:blue"),
        ("revenue_churn_rate", "revenue churn (MRR)", "tab:red"),
    ):
        values = [None if v is None else 100 * v for v in overall.get_column(col).to_list()]
        ax.plot(months, [v if v is not None else float("nan") for v in values], color=color, label=label)
        ax.scatter(
            months,
            [v if v is not None else float("nan") for v in values],
            facecolors=[color if c else "none" for c in complete],
            edgecolors=color,
            zorder=3,
        )
    ax.set_ylabel("churned in month, % of start")
    ax.set_title("Monthly churn (hollow: month not complete yet)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.autofmt_xdate()
    return fig
