"""Churn-rate reporting: logo churn and revenue churn per calendar month, overall and per segment.

Grain of :func:`monthly_churn`: one row per month x segment, with ``segment = "all"`` for the whole
portfolio (per-segment rows only when ``clients.segment`` exists; clients without one are "unknown").
Columns:

- ``month`` (Date, first day), ``segment`` (String);
- ``active_start``: clients active at 00:00 on the first day of the month (:func:`active_clients`: in
  hindsight, a churn counts from its **departure**, ``left_at`` of :func:`churnml.labels.churn_dates`: the
  last order before the gap under the inactivity rule, not the day ``inactivity_days`` later when the churn
  is decided; the day itself for a term's end or a churns record);
- ``new_clients``: clients that became customers during the month (:func:`churnml.labels.customer_since`:
  the first term, the first order or activity; ``created_at`` with the churns source; a lead of the
  clients table that never subscribed is none);
- ``churned``: clients active at the month start that leave during it (:func:`leaving_times`: the churns
  of ``label.source`` and the churns table's records, each at its departure, the instant at which the
  active clients of ``active_start`` lose them; one date per churn for both columns);
- ``logo_churn_rate`` = churned / active_start (null when nobody was active);
- ``mrr_start``: monthly recurring revenue of the clients active at the month start; ``mrr_lost``: the
  part of it held by the clients who churned; ``revenue_churn_rate`` = mrr_lost / mrr_start (gross
  revenue churn: downgrades of clients who stay are not counted);
- ``mrr_basis``: ``subscriptions`` (MRR of the terms running just before the month starts:
  ``start_date < month <= end_date``, so a term ending on the 1st still counts for the client who
  churns that day, and back-to-back terms count once; a client whose running terms are all free after a
  paid one, a skipped month or a pause, keeps its last paid terms' MRR, and a client in grace, its last
  term ended within ``label.grace_days`` and renewed late, the MRR of the terms it had then: a late
  renewal is neither a loss nor a return), ``payments_run_rate`` (the client's orders in
  the 365 days before the month start / 12, an invoice at its ``issued_at`` paid yet or not, refunds netted,
  floored at 0; in the data's first year, what
  it paid since the data begins scaled to a year), or with both tables
  ``subscriptions else payments_run_rate``: per client, its running terms, else its payments' run rate
  — the recurring revenue of the weekly list (:func:`churnml.scoring.value.annual_recurring_revenue` / 12);
- ``complete``: whether the month's churn is fully observed: every churn of it is already known
  (month end + :func:`churnml.labels.departure_lag_days` ``<=`` the data end: the label lag, and under the
  inactivity rule at least ``inactivity_days``, since a client that stopped ordering in the month is a churn
  only that many days later; the last months usually are not) and, when customers
  are known by their orders (the inactivity source; the churns source with payments and no
  subscriptions), the month starts at least ``inactivity_days`` after the first data (before that
  nobody can have been inactive long enough, and a customer since before the data reads as new at its
  first order in it);
- ``known_from`` (Date): the first data end (the day after the last data) at which the month's churn is
  fully known, null for a month of the warm-up, whose churn never will be (:func:`known_from_days`, as in
  :func:`churn_report`): ``complete`` is ``known_from <= the data end``.

Months run from the first month that starts at or after the first data to the month of the last data.
A segment's row for a month is there when the segment has clients active at its start or new in it.

Both formulas of the seeds: :func:`churn_report`
------------------------------------------------
Grain: one row per period (``month`` or ``quarter``) x period start x segment (``all`` first). With
``C1`` the clients active at the period start, ``C2`` those active at its end (the next period's start)
and ``C3`` the clients that became customers during it (:func:`churnml.labels.customer_since`), by
client count (``churned``: the C1 clients that leave during the period, as for :func:`monthly_churn`; so
C1 + C3 - C2 = churned + the new clients gone before the period's end - the clients who came back):

- ``churn_rate_f1`` = (C1 - C2) / C1: net of new clients (it can be negative in a growing book);
- ``churn_rate_f2`` = (C1 + C3 - C2) / C1: new clients added back, so only the losses count.

By revenue (MRR as in :func:`mrr_at`: ``R1`` at the start over the C1 clients, ``R2`` at the end over
the C2 clients, ``R3`` at the end over the new clients, ``r2_of_c1`` at the end over the C1 clients still
active then that were paying at the start (an MRR above 0 there); so R2 = ``r2_of_c1`` + R3 + the MRR of the
clients who came back + that of the C1 clients that started paying, :func:`paying_at_start`):

- ``revenue_churn_f1`` = (R1 - R2) / R1;
- ``revenue_churn_f2`` = (R1 - ``r2_of_c1``) / R1: the **net revenue churn** of the clients of the start,
  their churn and downgrades offset by their expansion, i.e. 1 - their net revenue retention, as the SaaS
  metrics literature defines it (Baremetrics, Chargebee, Klipfolio: (churned + contraction - expansion MRR)
  / MRR at the start). The MRR of new clients and of clients who came back is no offset (ChartMogul's
  "net MRR churn" also subtracts reactivations: a client leaving in one period and back in a later one
  would read as a loss, then as negative churn), nor is that of a client at MRR 0 at the start (a free trial,
  a free plan) that converts: new business, not expansion (counted as expansion, a streaming service's trial
  conversions read a net revenue churn of 3-5% a month where its paying subscribers' was 10-11%);
- ``revenue_churn_gross`` = lost MRR / R1 where lost MRR = the sum over the C1 clients of
  max(0, their MRR at the start - their MRR at the end): churn and downgrades, no expansion offset.
  A pause is no downgrade: a client that skips a month (a term with ``mrr`` 0 after paid ones) and still
  subscribes keeps its last paid MRR, as on the weekly list (what is at stake), so its skip and its
  return to paying are neither a loss nor an expansion (counted as a downgrade, the skips of a
  subscription box were 17,252 of a month's 22,011 lost MRR, and their returns, never offset in the gross
  figure, made it 18% a month). Its MRR is lost when it churns. A move to a free plan reads the same
  (the contract cannot tell it from a pause): it is lost only if the client leaves.

``complete`` is false while the period's end (plus :func:`churnml.labels.departure_lag_days`: the label
lag, at least ``inactivity_days`` under the inactivity rule) is not yet behind the data end, or
before the warm-up (``inactivity_days`` after the orders and events logs begin, :func:`orders_observed_from`:
not the first term of a subscriptions export, which reaches a term back) when customers are known by their orders
(the inactivity source; the churns source with payments and no subscriptions), or before the warm-up of a
subscriptions export cut at its start (:func:`terms_warm_up_days`: until the customers older than the export
have shown their first exported term); the rates of an incomplete period are null (the period is
marked "incomplete", never drawn as a drop to zero), its counts so far are kept. So are the rates of a
period (or a segment's) that starts with fewer than :data:`MIN_RATED_CLIENTS` clients: one client there
moves the rate by 5 points or more, and a log whose contracts reach back before the rest of the data
starts with a handful of them (-437% by formula 1 on a quarter that began with 4 clients and gained 21).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import polars as pl

from churnml.config import LabelConfig
from churnml.contract.dataset import LATE_TABLE_DAYS, Dataset
from churnml.contract.schemas import CLIENT_ID, Churns, Clients, Subscriptions, Table
from churnml.labels import (
    LEFT_AT,
    SNAPSHOT,
    active_spine,
    churn_dates,
    customer_since,
    customer_terms,
    departure_lag_days,
    resolved_label,
)
from churnml.scoring.value import lapsed_terms_arr, paused_terms_arr, recurring_revenue

__all__ = [
    "ALL_SEGMENTS",
    "PERIODS",
    "UNKNOWN_SEGMENT",
    "active_clients",
    "churn_rate_page",
    "churn_report",
    "churn_report_figure",
    "first_rate_note",
    "known_from_days",
    "leaving_times",
    "month_starts",
    "monthly_churn",
    "mrr_at",
    "orders_observed_from",
    "paying_at_start",
    "period_starts",
    "period_unrated_reasons",
    "revenue_rated_from",
    "revenue_wait_note",
    "survivors_until",
    "terms_warm_up_days",
    "unobserved_starts",
    "unrated_note",
    "unrated_reasons",
]

ALL_SEGMENTS = "all"
UNKNOWN_SEGMENT = "unknown"
MONTH = "month"
SEGMENT = "segment"
_DT = pl.Datetime("us")
_MRR = "_mrr"


# below this many clients at a period's start, its rates are left empty (module docstring)
MIN_RATED_CLIENTS = 20


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


def mrr_at(dataset: Dataset, spine: pl.DataFrame, grace_days: int) -> tuple[pl.DataFrame, str]:
    """MRR of each (client, snapshot) row of ``spine`` at 00:00 of the snapshot, and its basis.

    Returns ``spine`` with a ``_mrr`` column (:func:`churnml.scoring.value.recurring_revenue`: per client,
    its running terms, else its payments' run rate, else 0; a client in grace, its last term ended within
    ``grace_days`` (``label.grace_days``) and not renewed yet, keeps the MRR of the terms it had then, and a
    client whose running terms are all free after a paid one, a pause, its last paid terms' MRR: the weekly
    list's ARR / 12, :func:`_held_mrr`) and the basis (see the module docstring); with neither table, MRR
    is 0 and the basis ``"none"``.
    """
    subs = dataset.get(Table.SUBSCRIPTIONS)
    payments = dataset.get(Table.PAYMENTS)
    if subs is None and payments is None:
        return spine.with_columns(pl.lit(0.0).alias(_MRR)), "none"
    # payments of a log younger than a year scaled to one, as the weekly list's ARR (a run rate of the
    # first month's payments, not a twelfth of them)
    out = (
        recurring_revenue(
            spine, SNAPSHOT, subs, payments, dataset.first_activity(), dataset.tables[Table.CLIENTS]
        )
        .rename({"mrr": _MRR})
        .drop("arr")
    )
    if subs is not None:
        out = _held_mrr(out, subs, grace_days)
    basis = " else ".join(
        name
        for name, table in (("subscriptions", subs), ("payments_run_rate", payments))
        if table is not None
    )
    return out, basis


def leaving_times(dataset: Dataset, cfg: LabelConfig) -> pl.DataFrame:
    """One row per decided churn that takes a client out of the active clients in hindsight
    (:func:`active_clients`): ``client_id``, ``churned_at``, ``left_at`` (the departure,
    :func:`churnml.labels.churn_dates`: the last order before the gap under the inactivity rule; the period
    a churn counts in is the one it left in).

    The churns of ``cfg.source`` (:func:`churnml.labels.churn_dates`) and, with another source, the
    churns table's records too ("gone is gone", as :func:`churnml.labels.membership_changes`): a
    cancellation recorded in one month for a term that ends in the next takes the client out at the
    cancellation, so that is when it churned; its term's end, a month later, finds it gone already. Both
    dates of it are rows here: a period counts a churn of the clients active at its start, and only the
    first can be one. Sorted by client and time.
    """
    cfg = resolved_label(cfg, dataset.tables)
    times = churn_dates(dataset, cfg)
    if cfg.source != "churns" and Table.CHURNS in dataset:
        times = pl.concat([times, churn_dates(dataset, cfg.model_copy(update={"source": "churns"}))])
    return times.unique().sort(CLIENT_ID, Churns.CHURNED_AT)


def active_clients(
    dataset: Dataset, days: Sequence[date], cfg: LabelConfig, leaving: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The clients active at 00:00 of each of ``days`` in hindsight, by their departures: one row per client
    x day, ``client_id``, ``snapshot`` (Date). :func:`churnml.labels.active_spine` with ``hindsight=True`` (a
    decided churn counts from its ``churned_at``) less the days from each churn's departure up to its
    ``churned_at`` (``leaving``: :func:`leaving_times`, computed when None): a shop's client that stopped
    ordering on 06-29 is gone at 07-01, not until the 90 inactivity days have passed. Sorted by client and
    day."""
    leaving = leaving_times(dataset, cfg) if leaving is None else leaving
    spine = active_spine(dataset, days, cfg, hindsight=True)
    day = pl.col(SNAPSHOT).cast(_DT)
    gone = (
        spine.join(leaving.select(CLIENT_ID, Churns.CHURNED_AT, LEFT_AT), on=CLIENT_ID)
        .filter((day > pl.col(LEFT_AT)) & (day <= pl.col(Churns.CHURNED_AT)))
        .select(CLIENT_ID, SNAPSHOT)
        .unique()
    )
    return spine.join(gone, on=[CLIENT_ID, SNAPSHOT], how="anti").sort(CLIENT_ID, SNAPSHOT)


def _held_mrr(rows: pl.DataFrame, subscriptions: pl.DataFrame, grace_days: int) -> pl.DataFrame:
    """``rows`` (client x snapshot with ``_mrr``) with the MRR the weekly list's ARR keeps for a client
    without paying terms running: a client **in grace** (its last term ended within ``grace_days``, not
    renewed yet: :func:`churnml.scoring.value.lapsed_terms_arr`, over the terms started before the snapshot,
    as a list of that day knew them) keeps the MRR of the terms it had when they ended, so a renewal signed
    late within the grace is neither a loss nor a return; a client whose running terms are all free
    (``mrr`` 0: a skipped box, a pause, a free plan) after a paid one keeps that of its last paid terms
    (:func:`churnml.scoring.value.paused_terms_arr`); a trial that never paid stays at 0. Same rows, same
    order."""
    kept = []
    for (day,), group in rows.select(CLIENT_ID, pl.col(SNAPSHOT).cast(pl.Date)).group_by(SNAPSHOT):
        ids = group.get_column(CLIENT_ID)
        known = subscriptions.filter(
            pl.col(Subscriptions.START_DATE).cast(_DT) < datetime.combine(day, datetime.min.time())
        )
        lapsed = lapsed_terms_arr(clients=ids, as_of=day, subscriptions=known, grace_days=grace_days)
        paused = paused_terms_arr(ids, day, subscriptions)
        if lapsed.height or paused.height:
            kept.append(
                group.join(lapsed, on=CLIENT_ID, how="left")
                .join(paused, on=CLIENT_ID, how="left")
                .select(
                    CLIENT_ID,
                    pl.lit(day, pl.Date).alias("_day"),
                    (pl.coalesce("_lapsed_arr", "_paused_arr") / 12).alias("_held"),
                )
                .drop_nulls("_held")
            )
    if not kept:
        return rows
    return (
        rows.with_columns(pl.col(SNAPSHOT).cast(pl.Date).alias("_day"))
        .join(pl.concat(kept), on=[CLIENT_ID, "_day"], how="left", maintain_order="left")
        .with_columns(pl.coalesce(pl.col("_held"), pl.col(_MRR)).alias(_MRR))
        .drop("_day", "_held")
    )


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
        "known_from": pl.Date,
    }
    if not months:
        return pl.DataFrame(schema=schema)
    leaving = leaving_times(dataset, cfg)
    base = active_clients(dataset, months, cfg, leaving)
    churned = (
        leaving.select(CLIENT_ID, pl.col(LEFT_AT).dt.truncate("1mo").cast(pl.Date).alias(SNAPSHOT))
        .unique()
        .with_columns(pl.lit(True).alias("_churned"))
    )
    rows = base.join(churned, on=[CLIENT_ID, SNAPSHOT], how="left").with_columns(
        pl.col("_churned").fill_null(False)
    )
    rows, basis = mrr_at(dataset, rows, cfg.grace_days)

    seg, has_segment = _client_segments(dataset.tables[Table.CLIENTS], customer_since(dataset, cfg))
    new = (
        seg.select(CLIENT_ID, pl.col("_since").dt.truncate("1mo").cast(pl.Date).alias(SNAPSHOT))
        .filter(pl.col(SNAPSHOT).is_in(months))
        .join(seg.drop("_since"), on=CLIENT_ID)
    )
    seg = seg.drop("_since")
    rows = rows.join(seg, on=CLIENT_ID, how="left")

    parts = [_aggregate(rows, new, [SNAPSHOT]).with_columns(pl.lit(ALL_SEGMENTS).alias(SEGMENT))]
    if has_segment:
        parts.append(_aggregate(rows, new, [SNAPSHOT, SEGMENT]))
    grid = pl.DataFrame({SNAPSHOT: months}, schema={SNAPSHOT: pl.Date})
    overall = grid.join(parts[0], on=SNAPSHOT, how="left").with_columns(pl.lit(ALL_SEGMENTS).alias(SEGMENT))
    frames = [overall] + [p.filter(pl.col(SNAPSHOT).is_in(months)) for p in parts[1:]]
    table = pl.concat([f.select(sorted(f.columns)) for f in frames], how="diagonal_relaxed")

    known = known_from_days(dataset, cfg, months, [_next_month(m) for m in months])
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
        pl.col(SNAPSHOT)
        .replace_strict(_known_by(known, dataset.as_of), return_dtype=pl.Boolean)
        .alias("complete"),
        pl.col(SNAPSHOT).replace_strict(known, return_dtype=pl.Date).alias("known_from"),
    )
    return (
        table.rename({SNAPSHOT: MONTH})
        .with_columns((pl.col(SEGMENT) != ALL_SEGMENTS).alias("_order"))
        .sort(MONTH, "_order", SEGMENT)
        .select(list(schema))
        .cast(schema)  # type: ignore[arg-type]
    )


PERIODS = ("month", "quarter")


def period_starts(data_start: datetime, data_end: datetime, period: str) -> list[date]:
    """First days of the months or quarters from the first one starting at or after ``data_start`` to
    the one holding the last data."""
    months = month_starts(data_start, data_end)
    if period == "month":
        return months
    if period != "quarter":
        raise ValueError(f"period must be one of {PERIODS}, got {period!r}")
    first_full = [m for m in months if m.month in (1, 4, 7, 10)]
    return first_full


def _period_end(start: date, period: str) -> date:
    end = _next_month(start)
    if period == "quarter":
        end = _next_month(_next_month(end))
    return end


def _rate(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den)


_REPORT_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.String(),
    "period_start": pl.Date(),
    "period_end": pl.Date(),
    SEGMENT: pl.String(),
    "c1": pl.UInt32(),
    "c2": pl.UInt32(),
    "c3": pl.UInt32(),
    "churned": pl.UInt32(),
    "churn_rate_f1": pl.Float64(),
    "churn_rate_f2": pl.Float64(),
    "r1": pl.Float64(),
    "r2": pl.Float64(),
    "r3": pl.Float64(),
    "r2_of_c1": pl.Float64(),
    "mrr_lost_gross": pl.Float64(),
    "revenue_churn_f1": pl.Float64(),
    "revenue_churn_f2": pl.Float64(),
    "revenue_churn_gross": pl.Float64(),
    "mrr_basis": pl.String(),
    "complete": pl.Boolean(),
    "known_from": pl.Date(),
}


def _client_segments(clients: pl.DataFrame, since: pl.DataFrame) -> tuple[pl.DataFrame, bool]:
    """(``client_id``, ``segment``, ``_since``) per client (``unknown`` without a segment; ``_since``:
    when it became a customer, :func:`churnml.labels.customer_since`, null for a client that never did),
    and whether the clients table has segments at all."""
    has_segment = Clients.SEGMENT in clients.columns and clients.get_column(
        Clients.SEGMENT
    ).null_count() < len(clients)
    seg = clients.select(
        CLIENT_ID,
        (
            pl.col(Clients.SEGMENT).fill_null(UNKNOWN_SEGMENT) if has_segment else pl.lit(UNKNOWN_SEGMENT)
        ).alias(SEGMENT),
    ).join(since.select(CLIENT_ID, "_since"), on=CLIENT_ID, how="left")
    return seg, has_segment


def _between(col: str) -> pl.Expr:
    return (pl.col(col) >= pl.col("period_start").cast(_DT)) & (pl.col(col) < pl.col("period_end").cast(_DT))


def _period_rows(
    dataset: Dataset, cfg: LabelConfig, grid: pl.DataFrame, seg: pl.DataFrame
) -> tuple[pl.DataFrame, str]:
    """One row per period x client active at its start or end: ``_in1``/``_in2`` (active at the start /
    end), ``_m1``/``_m2`` (MRR there, 0 when not active), ``_new`` (a customer since the period), ``_churned``
    (active at the start and leaving during the period: :func:`leaving_times`, by the departure), its segment;
    and the MRR basis. Who is active: :func:`active_clients`."""
    bounds = sorted(set(grid.get_column("period_start")) | set(grid.get_column("period_end")))
    leaving = leaving_times(dataset, cfg)
    spine, basis = mrr_at(dataset, active_clients(dataset, bounds, cfg, leaving), cfg.grace_days)
    spine = spine.with_columns(pl.col(SNAPSHOT).cast(pl.Date))
    at_start = grid.join(spine.rename({SNAPSHOT: "period_start", _MRR: "_m1"}), on="period_start")
    at_end = grid.join(spine.rename({SNAPSHOT: "period_end", _MRR: "_m2"}), on="period_end")
    # a churn counts in the period of its departure
    churn_times = leaving.select(CLIENT_ID, pl.col(LEFT_AT).cast(_DT).alias("_churn"))
    rows = (
        at_start.join(at_end, on=["period_start", "period_end", CLIENT_ID], how="full", coalesce=True)
        .join(seg, on=CLIENT_ID, how="left")
        .with_columns(
            pl.col("_m1").is_not_null().alias("_in1"),
            pl.col("_m2").is_not_null().alias("_in2"),
            pl.col("_m1", "_m2").fill_null(0.0),
            _between("_since").alias("_new"),
        )
    )
    churned = (
        rows.filter(pl.col("_in1"))
        .select("period_start", "period_end", CLIENT_ID)
        .join(churn_times, on=CLIENT_ID)
        .filter(_between("_churn"))
        .select("period_start", CLIENT_ID)
        .unique()
        .with_columns(pl.lit(True).alias("_churned"))
    )
    rows = rows.join(churned, on=["period_start", CLIENT_ID], how="left").with_columns(
        pl.col("_churned").fill_null(False)
    )
    return rows, basis


def paying_at_start() -> pl.Expr:
    """Over :func:`_period_rows` (one row per period x client): whether the client paid at the period's start,
    an MRR above 0 there (a pause keeps its last paid MRR, :func:`mrr_at`). A client of the start at 0 (a free
    trial, a free plan, never paid) that pays at the end converted: its MRR is new business, not an expansion
    that offsets the churn of the paying clients in the net revenue churn (``r2_of_c1``)."""
    return pl.col("_m1") > 0


def _period_counts(rows: pl.DataFrame, created: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Per ``keys``: c1, c2, churned, r1, r2, r3, r2_of_c1, mrr_lost_gross from ``rows``; c3 from ``created``."""
    counts = rows.group_by(keys).agg(
        pl.col("_in1").sum().alias("c1"),
        pl.col("_in2").sum().alias("c2"),
        (pl.col("_in1") & pl.col("_churned")).sum().alias("churned"),
        pl.col("_m1").filter(pl.col("_in1")).sum().alias("r1"),
        pl.col("_m2").filter(pl.col("_in2")).sum().alias("r2"),
        pl.col("_m2").filter(pl.col("_in2") & pl.col("_new")).sum().alias("r3"),
        pl.col("_m2").filter(pl.col("_in1") & pl.col("_in2") & paying_at_start()).sum().alias("r2_of_c1"),
        (pl.col("_m1") - pl.col("_m2"))
        .clip(lower_bound=0)
        .filter(pl.col("_in1"))
        .sum()
        .alias("mrr_lost_gross"),
    )
    new = created.group_by(keys).agg(pl.len().alias("c3"))
    return counts.join(new, on=keys, how="full", coalesce=True)


# a subscriptions export cut at its start: this share of the customers or more have a first term that starts
# more than a month after their creation (their earlier terms were not exported)
CUT_EXPORT_SHARE = 0.2
# the warm-up of a cut export covers this quantile of the customers: of their usual term lengths, and of the
# first exported terms of the customers it hid
WARM_UP_QUANTILE = 0.9
# a cut export's warm-up never lasts longer than this (days after the data's start): a customer whose first
# exported term starts later is more likely a new one than an old one showing up
MAX_WARM_UP_DAYS = 366


def terms_warm_up_days(dataset: Dataset) -> int:
    """Days after the data's start during which a subscriptions export cut at its start (it holds only the
    terms running or starting since some day) still reveals customers older than it, each at its first
    exported term (and counts it as a new customer then); 0 for an export that shows them from day one.

    Grain of the measures: one value per client (not per term row, which the monthly payers' many rows
    dominate). The export is cut when :data:`CUT_EXPORT_SHARE` of the customers or more are *hidden*: created
    before the data's start, their first term starts more than 31 days after it (a client created in the data
    whose first term comes months later is a lead that signed, not hidden). Its warm-up
    is then, at most :data:`MAX_WARM_UP_DAYS`, the longer of

    - the :data:`WARM_UP_QUANTILE` quantile over clients of their usual (median) term length: a customer
      of before the cut shows at its first exported renewal, within one of its terms (an export of the
      terms running at X holds the annual terms started a year before X, and its data starts then);
    - the same quantile over the hidden clients of their first term's start, in days after the data's
      start: when the customers actually showed up (an export whose monthly terms begin 11 months after
      its annual ones: 11 months, not 31 days).

    A 160-account CRM's export cut in 2023 counted 37 and 40 customers of 2019-2023 as new in its first
    quarters (-112% and -57% by formula 1); a 410-account one, 189 customers of 2021-2025 as new in May
    2025, its first year's months read -10% to -163% (sized by term rows: 31 days)."""
    subs, clients = dataset.get(Table.SUBSCRIPTIONS), dataset.get(Table.CLIENTS)
    if subs is None or clients is None or subs.height == 0:
        return 0
    start, end = pl.col(Subscriptions.START_DATE).cast(_DT), pl.col(Subscriptions.END_DATE).cast(_DT)
    # the terms that make a customer (labels.customer_terms: an add-on bought later is no first term)
    per_client = (
        customer_terms(subs)
        .group_by(pl.col(CLIENT_ID).cast(pl.String))
        .agg(start.min().alias("_first"), (end - start).dt.total_days().median().alias("_term"))
    )
    created = clients.select(pl.col(CLIENT_ID).cast(pl.String), pl.col(Clients.CREATED_AT).cast(_DT))
    data_start = pl.lit(dataset.start).cast(_DT)
    # only a customer since before the data can be hidden by a cut: its term should be running at the data's
    # start. One created in the data whose first term comes months later is a lead that signed, not hidden
    shown = (pl.col("_first") - data_start).dt.total_days()
    firsts = per_client.join(created, on=CLIENT_ID, how="inner").with_columns(
        ((pl.col(Clients.CREATED_AT) < data_start) & (shown > 31)).alias("_hidden"),
        shown.alias("_shown"),
    )
    share, term, shown = firsts.select(
        pl.col("_hidden").mean(),
        pl.col("_term").quantile(WARM_UP_QUANTILE),
        pl.col("_shown").filter(pl.col("_hidden")).quantile(WARM_UP_QUANTILE),
    ).row(0)
    if share is None or share < CUT_EXPORT_SHARE:
        return 0
    return int(min(MAX_WARM_UP_DAYS, max(0, term or 0, shown or 0)))


# a period whose start hides this share of its clients or more (:func:`unobserved_starts`) is not rated: each
# hidden client reads as a new one during it, so formula 1 is off by as many points
HIDDEN_AT_START_SHARE = 0.02


def unobserved_starts(dataset: Dataset, days: Sequence[date]) -> set[date]:
    """The days of ``days`` whose customers a subscriptions export cut at its start does not all show: an export
    of the terms running at its cut (and of those started since) holds, of a customer older than it, only its
    term running at the cut, so a day before the cut sees only the customers whose running term then also ran
    at the cut. The others show at their first exported term, as new customers.

    Grain: one count per day. A customer is *hidden* at a day when it was created before the data's start and
    its first exported term (:func:`churnml.labels.customer_terms`: no add-on) starts after the day and before
    the first term end of the export (the cut: an export cut there ended no term before it); a day is
    unobserved when its hidden customers are :data:`HIDDEN_AT_START_SHARE` or more of them and of the clients
    with a term running at it (``start_date <= day < end_date``). Unlike :func:`terms_warm_up_days` (customers
    showing more than 31 days in), this sees monthly terms: a streaming service's export begun on 2026-03-01
    with the running terms of its subscribers, started 0-29 days before, read February 2026 with 39 clients at
    its start and 1,031 new (-2597.4% by formula 1). Empty without terms or clients."""
    subs, clients = dataset.get(Table.SUBSCRIPTIONS), dataset.get(Table.CLIENTS)
    if subs is None or clients is None or subs.height == 0 or not days:
        return set()
    base = customer_terms(subs).select(
        pl.col(CLIENT_ID).cast(pl.String),
        pl.col(Subscriptions.START_DATE).cast(_DT).alias("_start"),
        pl.col(Subscriptions.END_DATE).cast(_DT).alias("_end"),
    )
    cut = base.get_column("_end").min()
    data_start = pl.lit(dataset.start).cast(_DT)
    old = clients.select(pl.col(CLIENT_ID).cast(pl.String), pl.col(Clients.CREATED_AT).cast(_DT)).filter(
        pl.col(Clients.CREATED_AT) < data_start
    )
    firsts = base.group_by(CLIENT_ID).agg(pl.col("_start").min().alias("_first")).join(old, on=CLIENT_ID)
    # only a day before the cut can hide anyone
    grid = (
        pl.DataFrame({SNAPSHOT: list(days)}, schema={SNAPSHOT: pl.Date})
        .with_columns(pl.col(SNAPSHOT).cast(_DT).alias("_day"))
        .filter(pl.col("_day") < pl.lit(cut))
    )
    hidden = (
        grid.join(firsts, how="cross")
        .filter((pl.col("_first") > pl.col("_day")) & (pl.col("_first") < pl.lit(cut)))
        .group_by(SNAPSHOT)
        .agg(pl.col(CLIENT_ID).n_unique().alias("_hidden"))
    )
    seen = (
        grid.join(base, how="cross")
        .filter(
            (pl.col("_start") <= pl.col("_day"))
            & (pl.col("_end").is_null() | (pl.col("_day") < pl.col("_end")))
        )
        .group_by(SNAPSHOT)
        .agg(pl.col(CLIENT_ID).n_unique().alias("_seen"))
    )
    counts = grid.join(hidden, on=SNAPSHOT, how="left").join(seen, on=SNAPSHOT, how="left").fill_null(0)
    share = pl.col("_hidden") / (pl.col("_hidden") + pl.col("_seen"))
    return set(counts.filter((pl.col("_hidden") > 0) & (share >= HIDDEN_AT_START_SHARE)).get_column(SNAPSHOT))


def orders_observed_from(dataset: Dataset) -> datetime:
    """When the logs that say who ordered or was active begin (the first payment or event: what the
    inactivity label and mixed's one-off buyers are known by), else the data's start. A subscriptions export
    holds the terms running on its first day whole, so its first ``start_date`` (the data's start) may come a
    term before the visits and invoices: a warm-up counted from it ends before a customer of before the logs
    could show at its first order (a vet chain's plan terms from 2023-09, its visits from 2024-09)."""
    firsts = [f for f in (dataset.payments_first(), dataset.events_first()) if f is not None]
    return min(firsts) if firsts else dataset.start


def survivors_until(
    dataset: Dataset, cfg: LabelConfig, leaving: pl.DataFrame | None = None
) -> datetime | None:
    """When an export that holds only the clients still customers when its payments and events logs begin
    starts to see every client: :func:`orders_observed_from`, when the terms reach back :data:`LATE_TABLE_DAYS`
    or more before it and no client left before it (``leaving``: :func:`leaving_times`, computed when None);
    else None. A CRM or billing system adopted later brings the contract history of the accounts it took over,
    not of those gone by then: every period before it reads 0% churn (a fleet tracker's contracts from 2021, its
    invoices and usage from mid-2025: 13 quarters rated at 0%, then 2-13 churns a quarter). An export that holds
    a client that left before then is whole. Only under a label of terms (customers known by their orders have
    their own warm-up)."""
    observed = orders_observed_from(dataset)
    if Table.SUBSCRIPTIONS not in dataset or (observed - dataset.start).days < LATE_TABLE_DAYS:
        return None
    leaving = leaving_times(dataset, cfg) if leaving is None else leaving
    earlier = leaving.filter(pl.col(LEFT_AT).cast(_DT) < pl.lit(observed).cast(_DT)).height
    return None if earlier else observed


def known_from_days(
    dataset: Dataset, cfg: LabelConfig, starts: list[date], ends: list[date]
) -> dict[date, date | None]:
    """Period start -> the first data end (``dataset.as_of``, the day after the last data) at which the
    period's churn is fully known: its end plus the label lag (module docstring); None when no data end ever
    will be (the warm-up): when customers are known by their orders, a period starting before the warm-up of
    ``inactivity_days`` after :func:`orders_observed_from` (for inactivity churn nobody can have been
    inactive long enough; a customer since before the data whose first order in it comes weeks later reads
    as new in them, and as missing from their start); with terms, one starting before
    :func:`terms_warm_up_days` (an export cut at its start), before :func:`survivors_until` (an export of the
    clients still there when its logs begin) or at a start of :func:`unobserved_starts` (its clients not all in
    the export)."""
    cfg = resolved_label(cfg, dataset.tables)
    # churns count by their departure: those who left within the last days are not all churns yet
    lag = timedelta(days=departure_lag_days(cfg))
    by_orders = cfg.source == "inactivity" or (
        cfg.source == "churns" and Table.SUBSCRIPTIONS not in dataset and Table.PAYMENTS in dataset
    )
    orders_warm_from = orders_observed_from(dataset) + timedelta(days=cfg.inactivity_days)
    terms_warm_from = dataset.start + timedelta(days=terms_warm_up_days(dataset))
    survivors = None if by_orders else survivors_until(dataset, cfg)
    terms_warm_from = terms_warm_from if survivors is None else max(terms_warm_from, survivors)
    warm_from = orders_warm_from if by_orders else terms_warm_from
    if cfg.source == "mixed":  # one-off buyers by their orders, subscribers by their terms: the later
        warm_from = max(orders_warm_from, terms_warm_from)
    unseen = unobserved_starts(dataset, starts) if not by_orders or cfg.source == "mixed" else set()
    return {
        s: None if datetime.combine(s, datetime.min.time()) < warm_from or s in unseen else e + lag
        for s, e in zip(starts, ends, strict=True)
    }


def _known_by(known: dict[date, date | None], as_of: datetime) -> dict[date, bool]:
    """Period start -> whether the data end ``as_of`` reaches the day its churn is known from (``known``:
    :func:`known_from_days`; None: never)."""
    return {s: k is not None and datetime.combine(k, datetime.min.time()) <= as_of for s, k in known.items()}


def _with_rates(
    table: pl.DataFrame,
    complete: dict[date, bool],
    period: str,
    basis: str,
    min_clients: int,
    revenue_from: date | None = None,
) -> pl.DataFrame:
    """The counts filled, ``complete``/``period``/``mrr_basis`` set and the five rates (null while incomplete
    or under ``min_clients`` at the start; the revenue rates also for periods starting before
    ``revenue_from``)."""
    c1, c2, c3 = pl.col("c1"), pl.col("c2"), pl.col("c3")
    r1, r2, r2_of_c1 = pl.col("r1"), pl.col("r2"), pl.col("r2_of_c1")
    done = pl.col("complete") & (c1 >= min_clients)
    money = done if revenue_from is None else done & (pl.col("period_start") >= pl.lit(revenue_from))
    return table.with_columns(
        pl.col("c1", "c2", "c3", "churned").fill_null(0).cast(pl.UInt32),
        pl.col("r1", "r2", "r3", "r2_of_c1", "mrr_lost_gross").fill_null(0.0).round(2),
        pl.col("period_start").replace_strict(complete, return_dtype=pl.Boolean).alias("complete"),
        pl.lit(period).alias("period"),
        pl.lit(basis).alias("mrr_basis"),
    ).with_columns(
        pl.when(done).then(_rate(c1.cast(pl.Float64) - c2, c1)).alias("churn_rate_f1"),
        pl.when(done).then(_rate(c1.cast(pl.Float64) + c3 - c2, c1)).alias("churn_rate_f2"),
        pl.when(money).then(_rate(r1 - r2, r1)).alias("revenue_churn_f1"),
        pl.when(money).then(_rate(r1 - r2_of_c1, r1)).alias("revenue_churn_f2"),
        pl.when(money).then(_rate(pl.col("mrr_lost_gross"), r1)).alias("revenue_churn_gross"),
    )


def revenue_rated_from(data_start: datetime | date, basis: str) -> date | None:
    """The first period start with a revenue rate: on the ``payments_run_rate`` basis a year after the data
    begins (before it the run rate is a year's payments scaled from fewer days, and its growth and a one-off
    gift leaving the window read as churn: 9.7% a month at a charity's start, 1.5% later); None otherwise."""
    if basis != "payments_run_rate":
        return None
    start = data_start.date() if isinstance(data_start, datetime) else data_start
    return start + timedelta(days=365)


def churn_report(
    dataset: Dataset, cfg: LabelConfig, period: str = "month", min_clients: int = MIN_RATED_CLIENTS
) -> pl.DataFrame:
    """Churn rate by both formulas, by clients and revenue, per period and segment (module docstring).

    Columns: ``period``, ``period_start`` (Date), ``period_end`` (Date, exclusive), ``segment``, ``c1``,
    ``c2``, ``c3``, ``churned`` (C1 clients with a churn in the period), ``churn_rate_f1``,
    ``churn_rate_f2``, ``r1``, ``r2``, ``r3``, ``r2_of_c1``, ``mrr_lost_gross``, ``revenue_churn_f1``,
    ``revenue_churn_f2``, ``revenue_churn_gross``, ``mrr_basis``, ``complete``, ``known_from`` (Date: the
    first data end, the day after the last data, at which the period's churn is fully known; null for a
    period in the warm-up, whose churn never will be: :func:`known_from_days`).
    """
    starts = period_starts(dataset.start, dataset.as_of, period)
    if not starts:
        return pl.DataFrame(schema=_REPORT_SCHEMA)
    ends = [_period_end(s, period) for s in starts]
    grid = pl.DataFrame(
        {"period_start": starts, "period_end": ends}, schema={"period_start": pl.Date, "period_end": pl.Date}
    )
    seg, has_segment = _client_segments(dataset.tables[Table.CLIENTS], customer_since(dataset, cfg))
    rows, basis = _period_rows(dataset, cfg, grid, seg)
    # new clients: became customers in the period (whether or not still active at its end)
    created = seg.join(grid, how="cross").filter(_between("_since"))
    # every period has its portfolio row, even an empty one; segment rows only where there is something
    keys = ["period_start", "period_end"]
    overall = grid.join(_period_counts(rows, created, keys), on=keys, how="left")
    frames = [overall.with_columns(pl.lit(ALL_SEGMENTS).alias(SEGMENT))]
    if has_segment:
        frames.append(_period_counts(rows, created, [*keys, SEGMENT]))
    table = pl.concat([f.select(sorted(f.columns)) for f in frames], how="diagonal_relaxed")
    known = known_from_days(dataset, cfg, starts, ends)
    table = (
        _with_rates(
            table.with_columns(
                pl.col("period_start").replace_strict(known, return_dtype=pl.Date).alias("known_from")
            ),
            _known_by(known, dataset.as_of),
            period,
            basis,
            min_clients,
            revenue_rated_from(dataset.start, basis),
        )
        .with_columns((pl.col(SEGMENT) != ALL_SEGMENTS).alias("_order"))
        .sort("period_start", "_order", SEGMENT)
    )
    return table.select(list(_REPORT_SCHEMA)).cast(_REPORT_SCHEMA)  # type: ignore[arg-type]


INCOMPLETE = "incomplete"
WARM_UP = "warm-up"
DATA_STARTS = "data starts"
NO_CLIENTS = "no clients"
FEW_CLIENTS = "few clients"
UNRATED_MEANING = {
    INCOMPLETE: "its churn is not fully known yet",
    WARM_UP: (
        "too early in the data for its churn ever to be observed (no client quiet for label.inactivity_days yet, "
        "or clients of its start not all in the data: customers older than a subscriptions export cut at its "
        "start, seen only from their first exported term, or an export of the clients still there when its "
        "payments and events logs begin, in which nobody leaves before them)"
    ),
    DATA_STARTS: "the data's first period, no client active at its start yet (C1 = 0)",
    NO_CLIENTS: "no client active at its start (C1 = 0)",
    FEW_CLIENTS: f"fewer than {MIN_RATED_CLIENTS} clients active at its start",
}


def unrated_reasons(
    c1: Sequence[int], complete: Sequence[bool], rated: Sequence[bool], warm_up: Sequence[bool]
) -> list[str]:
    """Why each period has no rate, in order (the portfolio rows of one period kind of :func:`churn_report`,
    sorted by start), "" for a rated one: ``warm-up`` (its churn will never be observed in this data: a null
    ``known_from``, the warm-up of :func:`known_from_days` at the data's start; it read "incomplete: its churn
    is not fully known yet" of a coffee roaster's February and March under the mixed label, and of a dental
    chain's eight warm-up months under inactivity_days 231 while no later month was complete yet),
    ``incomplete`` (its churn is not fully known yet: the data's last periods), ``data starts`` (no client
    active at its start, nor at any earlier period's: the data's first period, whose clients all arrive
    during it), ``no clients`` (none active at its start later on), ``few clients`` (fewer than
    :data:`MIN_RATED_CLIENTS`). :data:`UNRATED_MEANING` says each in words."""
    out = []
    seen_clients = False
    for n, done, has_rate, never in zip(c1, complete, rated, warm_up, strict=True):
        if not done:
            why = WARM_UP if never else INCOMPLETE
        elif has_rate:
            why = ""
        elif n == 0:
            why = NO_CLIENTS if seen_clients else DATA_STARTS
        else:
            why = FEW_CLIENTS
        seen_clients = seen_clients or n > 0
        out.append(why)
    return out


def period_unrated_reasons(overall: pl.DataFrame) -> list[str]:
    """:func:`unrated_reasons` of ``overall``, the portfolio rows of one period kind of :func:`churn_report`
    sorted by start (``c1``, ``complete``, ``churn_rate_f2``, ``known_from``)."""
    return unrated_reasons(
        overall.get_column("c1").to_list(),
        overall.get_column("complete").to_list(),
        overall.get_column("churn_rate_f2").is_not_null().to_list(),
        overall.get_column("known_from").is_null().to_list(),
    )


def first_rate_note(table: pl.DataFrame, as_of: date) -> str | None:
    """When no portfolio period of ``table`` (one period kind of :func:`churn_report`) has a rate yet: which
    never will (the warm-up) and the first one that will, with the data end its churn is known at
    (``known_from``, as the day of the last data) and how many more days of data that is from ``as_of`` (the
    day after the last data): "no month is rated yet: the warm-up months (2025-02-01 .. 2026-03-01) never
    will be; the first, 2026-04-01, is rated once the data runs through 2026-12-17 (17 more days of
    data)". None when a period is rated or there is none."""
    overall = table.filter(pl.col(SEGMENT) == ALL_SEGMENTS).sort("period_start")
    if overall.height == 0 or overall.get_column("churn_rate_f2").is_not_null().any():
        return None
    period = str(overall.get_column("period")[0])
    reasons = period_unrated_reasons(overall)
    starts = overall.get_column("period_start").to_list()
    warm = [s for s, why in zip(starts, reasons, strict=True) if why == WARM_UP]
    said = f"no {period} is rated yet"
    if warm:
        span = f"{warm[0]} .. {warm[-1]}" if len(warm) > 1 else f"{warm[0]}"
        said += f": the warm-up {period}s ({span}) never will be"
    coming = overall.filter(
        pl.col("known_from").is_not_null() & ~pl.col("complete") & (pl.col("c1") >= MIN_RATED_CLIENTS)
    )
    if coming.height == 0:
        return said
    first = coming.row(0, named=True)
    through = first["known_from"] - timedelta(days=1)
    more = (first["known_from"] - as_of).days
    return (
        f"{said}; the first, {first['period_start']}, is rated once the data runs through {through} "
        f"({more:,} more day{'s' if more != 1 else ''} of data)"
    )


def revenue_wait_note(table: pl.DataFrame, data_start: datetime | date) -> str | None:
    """When portfolio periods of ``table`` (one period kind of :func:`churn_report`) have a client rate but no
    revenue rate because their revenue is the payments' run rate and they start within a year of the data
    (:func:`revenue_rated_from`): how many, and from when revenue is rated ("rev" read "-" in rated months
    with no word why). None otherwise (terms' MRR, or every such period rated)."""
    overall = table.filter(pl.col(SEGMENT) == ALL_SEGMENTS)
    if overall.height == 0:
        return None
    rated_from = revenue_rated_from(data_start, str(overall.get_column("mrr_basis")[0]))
    if rated_from is None:
        return None
    waiting = overall.filter(pl.col("churn_rate_f2").is_not_null() & (pl.col("period_start") < rated_from))
    if waiting.height == 0:
        return None
    period = str(overall.get_column("period")[0])
    n = waiting.height
    return (
        f"revenue (rev): {n} rated {period}{'s' if n != 1 else ''} before {rated_from} "
        f"{'have' if n != 1 else 'has'} no revenue rate: with "
        "no subscriptions, revenue is the payments' run rate, a year of them, and before a year of data it is "
        f"scaled from fewer days (its growth would read as churn); the {period}s starting on or after {rated_from} have one"
    )


def _unrated_runs(starts: list[date], ends: list[date], reasons: list[str]) -> list[tuple[date, date, str]]:
    """(first day, end, label) of each run of consecutive periods without rates, labelled by
    :func:`unrated_reasons` (``reasons``, "" for a rated period); one label per run."""
    runs: list[tuple[date, date, str]] = []
    for s, e, why in zip(starts, ends, reasons, strict=True):
        if not why:
            continue
        if runs and runs[-1][1] == s and runs[-1][2] == why:
            runs[-1] = (runs[-1][0], e, why)
        else:
            runs.append((s, e, why))
    return runs


def churn_report_figure(table: pl.DataFrame):  # -> matplotlib.figure.Figure
    """The losses per period (portfolio rows of one period kind of :func:`churn_report`): the clients lost
    (formula 2) on the left, the gross and net revenue churn on the right; formula 1 is in the table.
    Periods without a rate (:func:`unrated_reasons`: incomplete, data starts, few clients) have no point;
    they are shaded and labelled."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    overall = table.filter(pl.col(SEGMENT) == ALL_SEGMENTS).sort("period_start")
    fig = Figure(figsize=(11, 4.6))
    starts = overall.get_column("period_start").to_list()
    ends = overall.get_column("period_end").to_list()
    # formula 1 nets new clients against losses (negative while the book grows, -160% in a quarter that
    # doubled it): in the table, not on the chart, where it flattened the losses into a line at 0
    panels = (
        ("clients", (("churn_rate_f2", "clients lost: (C1 + C3 - C2) / C1"),)),
        (
            "revenue (MRR)",
            (
                ("revenue_churn_gross", "gross: lost + downgrades"),
                ("revenue_churn_f2", "net: (R1 - R2 of the C1 clients) / R1"),
            ),
        ),
    )
    reasons = period_unrated_reasons(overall)
    for i, (title, series) in enumerate(panels):
        ax = fig.add_subplot(1, 2, i + 1)
        for col, label in series:
            values = [float("nan") if v is None else 100 * v for v in overall.get_column(col).to_list()]
            ax.plot(starts, values, marker="o", label=label)
        for first, last, why in _unrated_runs(starts, ends, reasons):
            ax.axvspan(first, last, color="grey", alpha=0.15, lw=0)
            ax.text(
                first,
                0.95,
                why,
                transform=ax.get_xaxis_transform(),
                fontsize=8,
                color="#555",
                zorder=5,  # above the lines: a one-month run's label read "warm-", the rest under the next point
            )
        ax.axhline(0, color="black", lw=0.5)
        ax.yaxis.set_major_formatter(PercentFormatter(decimals=None))
        ax.set_title(f"churn by {title}, % of the period start")
        ax.grid(alpha=0.3)
        ax.tick_params(axis="x", labelrotation=30)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def unrated_note(table: pl.DataFrame) -> str:
    """HTML paragraph saying which portfolio periods of ``table`` (one period kind of :func:`churn_report`) have no
    rate and why (:func:`unrated_reasons`, :data:`UNRATED_MEANING`), as the console does under its table; "" when
    every period is rated."""
    import html

    overall = table.filter(pl.col(SEGMENT) == ALL_SEGMENTS).sort("period_start")
    reasons = period_unrated_reasons(overall)
    starts: dict[str, list[str]] = {}
    for start, why in zip(overall.get_column("period_start").to_list(), reasons, strict=True):
        if why:
            starts.setdefault(why, []).append(str(start))
    items = [
        f"<b>{html.escape(why)}</b> ({', '.join(days)}): {html.escape(UNRATED_MEANING[why])}"
        for why, days in starts.items()
    ]
    return f'<p class="muted">No rate: {"; ".join(items)}.</p>' if items else ""


def churn_rate_page(
    reports: dict[str, pl.DataFrame], as_of: date, links: Sequence[tuple[str, str]] = ()
) -> str:
    """The churn-rate page: per period kind (``month``, ``quarter``) the plot of both formulas and the
    table of the portfolio rows, then the segments; ``links``: the other churnml pages, (label, relative
    href)."""
    import html

    from churnml.reporting.pages import figure_svg, page_html, table_html

    pct = ("churn_rate_f1", "churn_rate_f2", "revenue_churn_f1", "revenue_churn_f2", "revenue_churn_gross")
    intro = (
        "<p><b>The share of clients lost</b> in a period is formula 2, (C1 + C3 − C2) / C1: C1 = clients active "
        "at the period start, C2 = at its end, C3 = clients that became customers during it (added back, so "
        "only the losses count, net of clients who came back). <b>The share of revenue lost</b> is the gross "
        "revenue churn: the MRR of the clients who left plus downgrades, over the MRR at the start (a client "
        "that skips a month, a term at 0, keeps its last paid MRR: a pause is no downgrade). "
        "Formula 1, (C1 − C2) / C1, nets new clients against losses: it is negative while the book grows. "
        "By revenue formula 1 is the same with MRR (R1, R2); the <b>net revenue churn</b> (revenue_churn_f2) is "
        "(R1 − r2_of_c1) / R1, r2_of_c1 being the MRR at the period end of the C1 clients paying at its start: "
        "their churn and downgrades offset by their expansion (1 − net revenue retention); new clients, "
        "clients who came back and C1 clients that started paying (a free trial converted: new business, not "
        "expansion) offset nothing. The charts show the losses; both formulas are in the "
        "tables. A churn counts in the period its client left (under the inactivity rule, that of its last "
        "order, not the one its churn is decided in, inactivity_days later), so the periods within the label "
        "lag, or the inactivity days, of the data's end are incomplete. "
        "Incomplete periods (churn not yet known), periods in the warm-up at the data's start (churn never "
        "observable: clients of their start not all in the data), the data's first period (no client active at "
        f"its start yet) and periods that start with fewer than {MIN_RATED_CLIENTS} clients are marked and have "
        "no rate (why: under each chart). On the payments' run rate (no "
        "subscriptions) the revenue rates begin a year into the data, once a year of payments is known.</p>"
    )
    sections = []
    for kind, table in reports.items():
        overall = table.filter(pl.col(SEGMENT) == ALL_SEGMENTS).drop("period", "mrr_basis")
        segments = table.filter(pl.col(SEGMENT) != ALL_SEGMENTS).drop("period", "mrr_basis")
        inner = (intro if not sections else "") + figure_svg(churn_report_figure(table))
        inner += unrated_note(table)
        first = first_rate_note(table, as_of)
        inner += f'<p class="muted">{html.escape(first)}.</p>' if first else ""
        inner += table_html(overall, percent=pct)
        if segments.height:
            inner += "<h3>per segment</h3>" + table_html(segments, percent=pct)
        sections.append((kind, f"By {kind}", inner))
    basis = next(iter(reports.values())).get_column("mrr_basis")
    return page_html(
        f"Churn rate — as of {as_of}",
        f"churnml metrics · revenue basis {basis[0] if basis.len() else 'none'}",
        sections,
        links,
    )
