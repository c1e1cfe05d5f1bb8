"""Snapshot grid, who is active at each snapshot, and churn labels (point-in-time correct).

Time conventions
----------------
- A **snapshot** is a date (``pl.Date``); it stands for 00:00 of that day and sees only data strictly
  before it. Snapshots lie on a weekly grid on ``snapshots.weekday`` (0 = Monday).
- The **data end** is ``Dataset.as_of``: midnight after the last day of data (exclusive). Anything at or
  after it is unknown.
- Churn and return are **status changes**. A churn happens at ``churned_at`` but becomes *known* only
  ``lag`` days later (``grace_days`` for the subscriptions and mixed sources: a term end is churn only once
  the grace has passed without a renewal; 0 for the other sources). Membership of a snapshot is
  point-in-time: a change known at instant ``t`` applies to every snapshot strictly after ``t``, so
  who is in a snapshot never depends on data at or after it (and a snapshot at 00:00 on the churn day
  still shows the client).

Churn by ``label.source``
-------------------------
- ``churns``: each row of the churns table is a churn at ``churned_at``. A churned client is back (active
  again) at the first subscription term that starts after the churn; without a subscriptions table, at
  its first event more than ``grace_days`` after it (activity right after a cancellation is its wind-down:
  last logins, a data export), or, without an events table either (a log of orders alone), its first order
  (:func:`orders`) more than ``grace_days`` after it. Beside events a payment is no return (the last
  invoice billed in arrears, a late collection): :func:`returns_after_churns`. With a subscriptions or payments
  table a client is a customer from its first term or order (a lead of the clients table never is);
  without either, from its ``created_at``.
- ``subscriptions``: terms are merged into **spells**: a term that starts no later than ``grace_days``
  after the latest end so far continues the spell (a re-signup within grace is not churn). The client
  churns at the end of each spell (``churned_at`` = that spell's last ``end_date``), decided only when
  ``end + grace_days <= data end`` (else the spell may still be renewed: unknown, not churn). A later
  spell's first start is a return. A client whose term ended but whose grace is still running at a
  snapshot is still in it; if it does not renew, its label is 1 (it is the client most at risk).
- ``inactivity`` (shops, no contract): activity is every event (of ``label.activity_events`` when set: a
  bank's transactions, not its logins) and every order (:func:`orders`: a payment with amount > 0 whose
  status is not ``failed`` nor ``refunded``, placed at :func:`order_placed_at`: its invoice's ``issued_at``
  when the table has it, paid yet or not, else its ``paid_at``; failed attempts, refunds and, without
  ``issued_at``, unpaid rows are not activity). A client is active at ``s`` when it
  has an order or event within ``inactivity_days`` before ``s``. Its **label** is the standard one of
  shops (BG/NBD's "no purchase in the horizon", RelBench's user-churn tasks): 1 when it places no order
  and has no activity in ``[s, s + horizon_days)``, 0 when it has some; null until
  ``s + horizon_days`` is past the data end. For membership, activity is grouped into runs with gaps of
  at most ``inactivity_days``; the client leaves the active population ``inactivity_days`` after the
  last activity of a run (``churned_at = last activity + inactivity_days``, the ``churned_at`` column)
  and each run's first activity is a (re)activation; before its first activity a client is not active.
- ``mixed`` (a shop with subscribers and one-off buyers; never chosen by ``auto``): a client is a
  **subscriber at a snapshot** while one of its term spells (as for ``subscriptions``, :func:`term_spells`)
  runs or its grace does: the spell started strictly before the snapshot, which is no later than its end +
  ``grace_days``. Such a row is labeled by the subscriptions rule (1 when the spell ends unrenewed, or a
  churns record comes, before ``s + horizon_days``). Every other row is a one-off buyer's, labeled by the
  inactivity rule (1 when no order, no event and no term start in ``[s, s + horizon_days)``). A term makes a
  client a subscriber **at the snapshot**, not for ever: a subscriber whose spell lapsed (its churn) is
  back as a one-off buyer at its next order outside the spell and its grace, not left off every list
  while it still buys. Membership: the spells' changes, plus the inactivity runs of the activity outside
  every spell and its grace (:func:`inactivity_activity`; the orders of a subscription belong to its
  terms), a run never spanning a spell, its churn dropped when a spell starts by then (the buyer
  subscribed). One label lag for every row, the grace (:func:`label_lag_days`).

**Terms** are the rows of :func:`customer_terms`, wherever a term makes a client a customer (its spells,
its first record, its return after a churn, :func:`customer_since`): with ``subscriptions.is_addon``, a
client's base terms; an add-on running on after its base plan ended neither keeps the client a customer
nor brings it back. Until a client's first base plan starts, its add-ons are its terms (cut at that start),
so a snapshot never depends on a plan bought after it; a client that only ever bought add-ons (or a table of
add-ons only) keeps them all.

**Gone is gone**, whatever the source: a record in ``churns`` at ``t`` makes the client inactive for
every snapshot after ``t`` until it comes back by the return rule of the label source
(:func:`returns_after_churns`, the one the weekly list's gone clients and the win-back list read): a later
term under subscriptions (and under churns with a subscriptions table; else a later event, or order on data
without events); a later order or event under inactivity; under mixed a later term, or an order or event
outside every term spell and its grace; an event or order within ``grace_days`` after the record is its
wind-down, no return. An event is a sign of return only when it is activity (``label.activity_events``).
Such a record within the horizon makes the label 1.

Active at snapshot ``s``: ``created_at < s`` and the latest change known strictly before ``s`` is not a
churn. For inactivity this is exactly "an order or event within ``inactivity_days`` before ``s``".

Label at ``s`` (churns, subscriptions, a subscriber's row under mixed): take the client's next decided
churn known at or after ``s``; 1 when its ``churned_at`` is before ``s + horizon_days``, else 0; null when
that cannot be known yet: ``s + horizon_days + lag > data end``. Null-label rows are the scoring rows; a
snapshot is either wholly labeled or wholly not.

Outputs
-------
- :func:`snapshot_grid`: ``list[date]``.
- :func:`churn_dates`: one row per decided churn event; columns ``client_id``, ``churned_at`` (Datetime)
  and ``left_at`` (Datetime, the departure: the run's last activity for a churn of the inactivity rule,
  else ``churned_at``).
- :func:`active_spine`: one row per client x snapshot where the client is active; ``client_id``,
  ``snapshot`` (Date).
- :func:`labeled_spine`: the same rows plus ``label`` (Int8, nullable) and ``churned_at`` (of the next
  decided churn known at or after the snapshot, any distance ahead, or null).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from churnml.config import LabelConfig, SnapshotsConfig
from churnml.contract.dataset import LATE_TABLE_DAYS, Dataset, plausible_first
from churnml.contract.schemas import (
    CLIENT_ID,
    CONTRACT,
    LABEL,
    SNAPSHOT,
    Churns,
    Clients,
    Events,
    Payments,
    Subscriptions,
    Table,
)
from churnml.contract.validation import ContractError

__all__ = [
    "CHURNED_AT",
    "LABEL",
    "LEFT_AT",
    "NOT_ORDER_STATUSES",
    "RETURNED_AT",
    "SNAPSHOT",
    "active_spine",
    "activity_day_gaps",
    "activity_times",
    "auto_label_source",
    "churn_dates",
    "churns_before_creation_note",
    "customer_since",
    "customer_terms",
    "customer_terms_before",
    "departure_lag_days",
    "dormant_clients_note",
    "fast_rhythm_note",
    "first_customer_records",
    "fitting_horizon",
    "free_terms_note",
    "inactivity_activity",
    "label_lag_days",
    "labeled_spine",
    "late_behaviour_note",
    "late_returns_note",
    "left_before",
    "membership_changes",
    "mixed_label_note",
    "order_placed_at",
    "orders",
    "pauses_cut_by_hint",
    "pauses_past_horizon_note",
    "placed_orders",
    "regular_rhythm_note",
    "resolved_label",
    "returns_after_churns",
    "running_max_per_client",
    "running_term_ends",
    "slow_rhythm_note",
    "snapshot_grid",
    "status_changes",
    "term_spells",
    "termless_clients_note",
    "terms_beyond_horizon_note",
    "unknown_activity_events_note",
    "unrecorded_lapses_note",
    "unrenewed_terms_note",
]

CHURNED_AT = Churns.CHURNED_AT

_AT = "_at"
_ACTIVE = "_active"
_SDT = "_snapshot_dt"
_DECIDED = "_decided"
_DT = pl.Datetime("us")
# The order of membership changes, every column a key: two churns of one client known at the same instant
# (a term's end after its grace and a churns record that day) keep the earliest churn date first, run
# after run (``unique`` leaves rows in no fixed order, and the first change of a stretch dates the churn).
_CHANGE_ORDER = (_AT, _ACTIVE, CLIENT_ID, CHURNED_AT, _DECIDED)


# ----------------------------------------------------------------------------------------------
# snapshot grid
# ----------------------------------------------------------------------------------------------
def _on_or_after(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _on_or_before(day: date, weekday: int) -> date:
    return day - timedelta(days=(day.weekday() - weekday) % 7)


def snapshot_grid(cfg: SnapshotsConfig, data_start: datetime, data_end: datetime) -> list[date]:
    """Weekly snapshot dates on ``cfg.weekday``, oldest first.

    - first: ``cfg.start`` moved forward to the weekday, or the first weekday on or after
      ``data_start + min_history_days`` (features need some history);
    - last: ``cfg.end`` moved back to the weekday, or the first weekday strictly after the last day of
      data (the day holding the instant just before ``data_end``). A snapshot at date ``d`` sees data
      strictly before ``d``, so that is the first snapshot that sees all the data — the one weekly
      scoring uses; later snapshots would see nothing new.

    ``data_end`` is exclusive (``Dataset.as_of``, midnight after the last day of data); a timestamp
    inside the last day works too. Raises ``ValueError`` when the grid is empty.
    """
    if cfg.start is not None:
        first = _on_or_after(cfg.start, cfg.weekday)
    else:
        first = _on_or_after((data_start + timedelta(days=cfg.min_history_days)).date(), cfg.weekday)
    if cfg.end is not None:
        last = _on_or_before(cfg.end, cfg.weekday)
    else:
        last_data_day = (data_end - timedelta(microseconds=1)).date()
        last = _on_or_after(last_data_day + timedelta(days=1), cfg.weekday)
    if first > last:
        raise ValueError(
            f"snapshots: no snapshot between {first} and {last} (data from {data_start:%Y-%m-%d} to "
            f"{data_end:%Y-%m-%d}, snapshots.start={cfg.start}, snapshots.end={cfg.end}, "
            f"min_history_days={cfg.min_history_days}); lower snapshots.min_history_days or set start/end"
        )
    weeks = (last - first).days // 7
    return [first + timedelta(weeks=w) for w in range(weeks + 1)]


# ----------------------------------------------------------------------------------------------
# the label source
# ----------------------------------------------------------------------------------------------
def auto_label_source(tables: Iterable[Table]) -> tuple[str, str]:
    """``label.source: auto``: (the source the tables give, why). A subscriptions table: a churn is a
    term not renewed (``subscriptions``); else a churns table: a churn is its record (``churns``); else
    (orders, events): a churn is no order and no activity in the horizon (``inactivity``). Decided by which
    tables exist, never by their rows: train, validate and the weekly score resolve it alike, and a share of
    buyers without a term drifting week to week cannot switch the label under a deployed model. A shop with
    subscribers and one-off buyers keeps ``subscriptions``; :func:`termless_clients_note` counts the buyers it
    leaves out and points to ``mixed``, which labels them by inactivity beside the subscribers."""
    present = set(tables)
    if Table.SUBSCRIPTIONS in present:
        return "subscriptions", "the data has a subscriptions table: a churn is a term not renewed"
    if Table.CHURNS in present:
        return "churns", "no subscriptions table but a churns table: a churn is a churns record"
    return (
        "inactivity",
        "no subscriptions or churns table: a churn is no order and no activity in the horizon",
    )


def resolved_label(cfg: LabelConfig, tables: Iterable[Table]) -> LabelConfig:
    """``cfg`` with ``source: auto`` replaced by :func:`auto_label_source` of ``tables``; else ``cfg``."""
    if cfg.source != "auto":
        return cfg
    return cfg.model_copy(update={"source": auto_label_source(tables)[0]})


# ----------------------------------------------------------------------------------------------
# churn events and returns
# ----------------------------------------------------------------------------------------------
def _required(dataset: Dataset, table: Table, source: str) -> pl.DataFrame:
    frame = dataset.get(table)
    if frame is None:
        raise ContractError(
            str(table),
            f"label.source is '{source}' but the dataset has no {table} table; add {table}.parquet/.csv "
            f"or choose another label.source (auto | churns | subscriptions | inactivity | mixed)",
        )
    return frame


def customer_terms(subscriptions: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``subscriptions`` that make a client a customer: one row per term, a subset of its rows.

    With an ``is_addon`` column, a client's base terms (``is_addon`` false or null): an add-on alone (a
    storage add-on running on after the plan it extends ended) does not keep a client a customer nor bring
    it back. Until a client's first base term starts, its add-ons are its terms (a client that only ever
    bought add-ons, or a table where every row is one), cut at that start: what a snapshot sees of a client
    never depends on a base plan bought after it. Without the column, every row."""
    if Subscriptions.IS_ADDON not in subscriptions.columns:
        return subscriptions
    addon = pl.col(Subscriptions.IS_ADDON).cast(pl.Boolean).fill_null(False)
    start, end = pl.col(Subscriptions.START_DATE), pl.col(Subscriptions.END_DATE)
    # each client's first base start, one group-by joined back (a window over every row cost a third more: the
    # scoring list reads a client's terms about 25 times)
    firsts = (
        subscriptions.lazy()
        .filter(~addon)
        .group_by(Subscriptions.CLIENT_ID)
        .agg(start.min().alias(_FIRST_BASE))
    )
    first_base = pl.col(_FIRST_BASE)
    before_base = first_base.is_null() | (start < first_base)
    return (
        subscriptions.lazy()
        .join(firsts, on=Subscriptions.CLIENT_ID, how="left", maintain_order="left", nulls_equal=True)
        .filter(~addon | before_base)
        .with_columns(
            pl.when(addon & first_base.is_not_null())
            .then(pl.min_horizontal(end, first_base))
            .otherwise(end)
            .cast(subscriptions.schema[Subscriptions.END_DATE])
            .alias(Subscriptions.END_DATE)
        )
        .drop(_FIRST_BASE)
        .collect()
    )


def running_max_per_client(frame: pl.DataFrame, column: str, *, before: bool = False) -> pl.Series:
    """Per row of ``frame``, the running maximum of ``column`` along its client's rows, in ``frame``'s order:
    ``pl.col(column).cum_max().over(client_id)``, or with ``before`` that of the client's rows before it
    (``.cum_max().shift(1).over(client_id)``, null at a client's first row): how far a client's terms reached
    (grain: the rows of ``frame``; ``column``'s name and type). When each client's rows are together (``frame``
    sorted by ``client_id``) and ``column`` is a date, time or integer without nulls, one numpy pass: each
    client's values are lifted above every earlier client's by their rank, so one running maximum over all rows
    is each client's own (the window per client cost 4x more: 862k terms at 100k clients, read 6 times a list);
    else Polars' window."""
    values = frame.get_column(column)
    block = frame.get_column(CLIENT_ID).rle_id().to_numpy().astype(np.int64)
    numeric = values.dtype.is_temporal() or values.dtype.is_integer()
    together = frame.height > 0 and block[-1] + 1 == frame.get_column(CLIENT_ID).n_unique()
    if not (numeric and together) or values.null_count():
        window = pl.col(column).cum_max()
        return frame.select((window.shift(1) if before else window).over(CLIENT_ID)).to_series()
    levels, rank = np.unique(values.to_physical().to_numpy(), return_inverse=True)
    lift = block * (len(levels) + 1)
    reached = pl.Series(column, levels[np.maximum.accumulate(lift + rank) - lift]).cast(values.dtype)
    if not before:
        return reached
    starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
    return reached.shift(1).scatter(starts, None)


_FIRST_BASE = "_first_base_start"  # customer_terms' working column


def customer_terms_before(
    subscriptions: pl.DataFrame, cut: datetime, customer: pl.DataFrame | None = None
) -> pl.DataFrame:
    """:func:`customer_terms` of the rows of ``subscriptions`` started before ``cut`` (a list's 00:00): the terms
    a snapshot at ``cut`` knows (grain: one row per term, a subset of those rows). ``customer``:
    :func:`customer_terms` of the whole ``subscriptions`` when the caller holds it (the weekly list reads a
    client's terms about 25 times): those very rows when every row started before ``cut`` (the list's table at
    its own date, unless a term is booked ahead), else read anew (a base term booked after ``cut`` cuts the
    ends of the add-ons before it in ``customer``, not in what ``cut`` knows)."""
    start = pl.col(Subscriptions.START_DATE)
    if customer is not None and subscriptions.select((start < cut).fill_null(False).all()).item():
        return customer
    return customer_terms(subscriptions.filter(start < cut))


# ``payments.status`` values of a row that is no order whatever its ``paid_at`` and amount (why: the schema)
NOT_ORDER_STATUSES = Payments.NOT_ORDER


def order_placed_at(columns: Iterable[str]) -> pl.Expr:
    """When a payment row's order was placed (``pl.Datetime("us")``), for a payments table of ``columns``:
    its ``issued_at`` when the table has that column, else (no column, or the row's is empty) its
    ``paid_at``; the earlier of the two when both are set (a prepaid order is placed when paid). The invoice
    is in the billing system from ``issued_at``, so a snapshot at or after it may see the order, while the
    money counts as received at ``paid_at`` (the payments features, the value): on 30- and 60-day credit
    terms an order read at its payment came a median 38 days late (a 400-account food distributor). The
    one definition of an order's time: every place reading a payment as an order or as activity (the
    inactivity label, the rules, the CRM views, the win-back list) reads it."""
    paid = pl.col(Payments.PAID_AT).cast(_DT)
    if Payments.ISSUED_AT not in set(columns):
        return paid
    return pl.min_horizontal(pl.col(Payments.ISSUED_AT).cast(_DT), paid)


def orders(payments: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``payments`` that are orders (a subset, same columns): placed (:func:`order_placed_at`
    set: paid, or, with ``issued_at``, invoiced, paid yet or not: an open invoice is an order the client
    placed and owes), a positive ``amount``, and a ``status`` that is empty or not one of
    :data:`NOT_ORDER_STATUSES`. Grain: one row per payment."""
    regular = (
        ~pl.col(Payments.STATUS).is_in(NOT_ORDER_STATUSES).fill_null(False)
        if Payments.STATUS in payments.columns
        else pl.lit(True)
    )
    placed = order_placed_at(payments.columns).is_not_null()
    return payments.filter(placed & (pl.col(Payments.AMOUNT) > 0) & regular)


def activity_times(dataset: Dataset, events: Sequence[str] | None = None) -> pl.DataFrame:
    """Every event and every order (:func:`orders`): ``client_id``, ``_at``.

    One row per activity, in no particular order. Refunds, failed attempts and unpaid invoices are not
    activity: a dunning retry months after the last real payment neither keeps a client active nor brings
    it back. ``events``: ``label.activity_events``, the event names that count (a bank's transactions, not
    its logins); None = every event. Orders always count, but with an events table a payment while a term
    of the client ran is its charge, not activity (:func:`placed_orders`, as the
    ``no_activity`` rule reads it): a premium account's monthly fee, taken from a dormant balance, kept it
    active under the label while the rule called it quiet.
    """
    return _activity_of(dataset.tables, events)


def placed_orders(
    payments: pl.DataFrame | None, subscriptions: pl.DataFrame | None, cut: datetime
) -> pl.DataFrame:
    """``[client_id, t]``: the orders (:func:`orders`: placed, a positive amount, no refund nor
    failed attempt) placed before ``cut`` (:func:`order_placed_at`: invoiced, else paid) while no
    term of the client ran (started on or before it, ending on or after it): the client getting in touch by
    ordering. A payment during a term is its charge (an auto-renewal), not the client speaking. One row per
    such order; empty without payments."""
    dt = _DT
    schema = {CLIENT_ID: pl.String, "t": dt}
    if payments is None or not payments.height:
        return pl.DataFrame(schema=schema)
    placed = (
        orders(payments)
        .select(pl.col(CLIENT_ID).cast(pl.String), order_placed_at(payments.columns).cast(dt).alias("t"))
        .filter(pl.col("t") < cut)
    )
    if subscriptions is None or not subscriptions.height:
        return placed
    # each client's terms by start, with the latest end reached so far: an order runs in a term when the
    # terms started by then reach it
    reach = (
        subscriptions.select(
            pl.col(CLIENT_ID).cast(pl.String),
            pl.col(Subscriptions.START_DATE).cast(dt).alias("_start"),
            pl.col(Subscriptions.END_DATE).cast(dt).alias("_end"),
        )
        .sort(CLIENT_ID, "_start")
        .with_columns(pl.col("_end").cum_max().over(CLIENT_ID).alias("_reach"))
        .sort("_start")
    )
    # both sides sorted on the as-of keys over all clients, so within each client too: Polars cannot check that with
    # ``by`` and warned at every score ("Sortedness of columns cannot be checked when 'by' groups provided")
    return (
        placed.sort("t")
        .join_asof(
            reach, left_on="t", right_on="_start", by=CLIENT_ID, strategy="backward", check_sortedness=False
        )
        .filter(pl.col("_reach").is_null() | (pl.col("_reach") < pl.col("t")))
        .select(schema.keys())
    )


_NO_CUT = datetime(9999, 1, 1)  # every order: a term's start and end are known when it starts (no leak)


def _activity_of(tables: Mapping[Table, pl.DataFrame], events: Sequence[str] | None = None) -> pl.DataFrame:
    """:func:`activity_times` of the tables ``tables``."""
    parts = []
    log = tables.get(Table.EVENTS)
    if log is not None:
        if events is not None:
            log = log.filter(pl.col(Events.EVENT).is_in(list(events)))
        parts.append(log.select(pl.col(Events.CLIENT_ID), pl.col(Events.TS).cast(_DT).alias(_AT)))
    payments = tables.get(Table.PAYMENTS)
    if payments is not None and log is not None:
        # with events, a payment while a term of the client ran is its charge (a monthly account fee), not the
        # client acting: the orders placed outside its terms only, as the no_activity rule reads them
        placed = placed_orders(payments, tables.get(Table.SUBSCRIPTIONS), _NO_CUT)
        parts.append(
            placed.select(pl.col(CLIENT_ID).cast(log.schema[Events.CLIENT_ID]), pl.col("t").alias(_AT))
        )
    elif payments is not None:
        parts.append(
            orders(payments).select(pl.col(Payments.CLIENT_ID), order_placed_at(payments.columns).alias(_AT))
        )
    if not parts:
        raise ContractError(
            str(Table.EVENTS),
            "label.source 'inactivity' (what auto takes without a subscriptions or churns table) needs "
            "orders (payments) or events, and the dataset has neither: add one of them, or a subscriptions "
            "or churns table",
        )
    return pl.concat(parts)


def _empty_changes() -> pl.DataFrame:
    return pl.DataFrame(
        schema={CLIENT_ID: pl.String, _AT: _DT, _ACTIVE: pl.Boolean, CHURNED_AT: _DT, _DECIDED: pl.Boolean}
    )


def _churn_rows(frame: pl.DataFrame, churned_at: pl.Expr, lag_days: int, data_end: datetime) -> pl.DataFrame:
    known = churned_at + pl.duration(days=lag_days)
    return frame.select(
        CLIENT_ID,
        known.alias(_AT),
        pl.lit(False).alias(_ACTIVE),
        churned_at.alias(CHURNED_AT),
        (known <= pl.lit(data_end, _DT)).alias(_DECIDED),
    )


def _return_rows(frame: pl.DataFrame, at: pl.Expr) -> pl.DataFrame:
    return frame.select(
        CLIENT_ID,
        at.alias(_AT),
        pl.lit(True).alias(_ACTIVE),
        pl.lit(None, _DT).alias(CHURNED_AT),
        pl.lit(True).alias(_DECIDED),
    )


def term_spells(terms: pl.DataFrame, grace_days: int) -> pl.DataFrame:
    """A client's terms merged into **spells**: a term that starts no later than ``grace_days`` after the
    latest end so far continues the spell (a re-signup within grace is not churn). ``terms``: rows of
    :func:`customer_terms`. Grain: one row per client x spell; ``client_id``, ``_start`` (its first term's
    start), ``_end`` (its latest end). Spells of one client never overlap, and each lies more than
    ``grace_days`` after the previous one's end."""
    grace = pl.duration(days=grace_days)
    merged = (
        terms.select(
            pl.col(Subscriptions.CLIENT_ID),
            pl.col(Subscriptions.START_DATE).cast(_DT).alias("_start"),
            pl.col(Subscriptions.END_DATE).cast(_DT).alias("_end"),
        )
        .sort(CLIENT_ID, "_start", "_end")
        .with_columns(pl.col("_end").cum_max().shift(1).over(CLIENT_ID).alias("_prev_end"))
        .with_columns(
            (pl.col("_prev_end").is_null() | (pl.col("_start") > pl.col("_prev_end") + grace))
            .cast(pl.Int32)
            .cum_sum()
            .over(CLIENT_ID)
            .alias("_spell")
        )
    )
    return (
        merged.group_by(CLIENT_ID, "_spell")
        .agg(pl.col("_start").min().alias("_start"), pl.col("_end").max().alias("_end"))
        .select(CLIENT_ID, "_start", "_end")
        .sort(CLIENT_ID, "_start")
    )


def _spell_changes(spells: pl.DataFrame, cfg: LabelConfig, data_end: datetime) -> pl.DataFrame:
    """Per spell (:func:`term_spells`) a return at its start and a churn at its end, known ``grace_days``
    later."""
    churned = _churn_rows(spells, pl.col("_end"), cfg.grace_days, data_end)
    # every spell's start makes the client active (the first one too): a client of the clients table
    # without any term (a lead, a trial that never paid) is no customer, neither a training row nor a
    # row of the weekly list
    started = _return_rows(spells, pl.col("_start"))
    return pl.concat([churned, started])


def _subscription_changes(dataset: Dataset, cfg: LabelConfig) -> pl.DataFrame:
    subs = customer_terms(_required(dataset, Table.SUBSCRIPTIONS, "subscriptions"))
    return _spell_changes(term_spells(subs, cfg.grace_days), cfg, dataset.as_of)


def _activity_runs(activity: pl.DataFrame, inactivity_days: int) -> pl.DataFrame:
    """Runs of each client's activity (``client_id``, ``_at``, and ``_phase`` when given: a run never spans
    two phases): gaps of at most ``inactivity_days``. Grain: one row per run; ``client_id``, ``_first``,
    ``_last``."""
    gap = pl.duration(days=inactivity_days)
    # One sort by client, then time: a new run starts where the client changes or the gap to the previous
    # activity exceeds inactivity_days. (No key packing client and time into one integer: a placeholder date
    # such as 1753-01-01 overflowed its time part and merged one client's runs into the next one's.)
    new_run = (pl.col(CLIENT_ID) != pl.col(CLIENT_ID).shift(1)).fill_null(True) | (
        pl.col(_AT) - pl.col(_AT).shift(1) > gap
    )
    if _PHASE in activity.columns:
        new_run = new_run | pl.col(_PHASE).ne_missing(pl.col(_PHASE).shift(1))
    return (
        activity.lazy()
        .sort(CLIENT_ID, _AT)
        .with_columns(new_run.cast(pl.Int64).cum_sum().alias("_run"))
        .group_by("_run")
        .agg(pl.col(CLIENT_ID).first(), pl.col(_AT).min().alias("_first"), pl.col(_AT).max().alias("_last"))
        .select(CLIENT_ID, "_first", "_last")
        .collect()
    )


def _inactivity_changes(dataset: Dataset, cfg: LabelConfig) -> pl.DataFrame:
    """The inactivity source's changes: per run of a client's activity (gaps of at most ``inactivity_days``),
    a return at its first activity and a churn ``inactivity_days`` after its last."""
    runs = _activity_runs(activity_times(dataset, cfg.activity_events), cfg.inactivity_days)
    churned = _churn_rows(runs, pl.col("_last") + pl.duration(days=cfg.inactivity_days), 0, dataset.as_of)
    started = _return_rows(runs, pl.col("_first"))
    return pl.concat([churned, started])


# the start of the client's latest term spell at or before an activity (null before its first spell)
_PHASE = "_phase"


def _mixed_spells(dataset: Dataset, cfg: LabelConfig) -> pl.DataFrame:
    """The term spells (:func:`term_spells`) the ``mixed`` source labels by: one row per client x spell."""
    return term_spells(customer_terms(_required(dataset, Table.SUBSCRIPTIONS, "mixed")), cfg.grace_days)


def _optional_activity(
    tables: Mapping[Table, pl.DataFrame], events: Sequence[str] | None = None
) -> pl.DataFrame:
    """:func:`activity_times` of ``tables``, empty (not an error) without events and payments."""
    if Table.EVENTS in tables or Table.PAYMENTS in tables:
        return _activity_of(tables, events).with_columns(pl.col(CLIENT_ID).cast(pl.String))
    return pl.DataFrame(schema={CLIENT_ID: pl.String, _AT: _DT})


def _outside_spells(activity: pl.DataFrame, spells: pl.DataFrame, grace_days: int) -> pl.DataFrame:
    """The rows of ``activity`` (``client_id``, ``_at``) outside every term spell of their client, a spell
    reaching from its start to ``grace_days`` after its end (while a subscriber's churn is undecided its
    orders belong to its terms), with ``_phase``: the start of the client's latest spell before the row
    (null before its first). Grain: one row per activity kept."""
    starts = spells.select(
        pl.col(CLIENT_ID).cast(pl.String), pl.col("_start").alias(_PHASE), pl.col("_end").alias("_spell_end")
    ).sort(_PHASE)
    placed = (
        activity.select(pl.col(CLIENT_ID).cast(pl.String), _AT)
        .sort(_AT)
        .join_asof(
            starts,
            left_on=_AT,
            right_on=_PHASE,
            by=CLIENT_ID,
            strategy="backward",
            allow_exact_matches=True,
            check_sortedness=False,
        )
    )
    inside = (pl.col(_AT) <= pl.col("_spell_end") + pl.duration(days=grace_days)).fill_null(False)
    return placed.filter(~inside).select(CLIENT_ID, _AT, _PHASE)


def inactivity_activity(dataset: Dataset, cfg: LabelConfig) -> pl.DataFrame:
    """The activity the inactivity rule reads (``client_id``, ``_at``; one row per event or order): under
    ``label.source: inactivity`` every one (:func:`activity_times`); under ``mixed`` those outside the
    client's term spells and their grace (a subscriber's orders belong to its terms:
    :func:`_mixed_changes`). What the rhythm notes of the inactivity rule read. ``cfg`` has a concrete
    source."""
    if cfg.source != "mixed":
        return activity_times(dataset, cfg.activity_events)
    spells = _mixed_spells(dataset, cfg)
    return _outside_spells(
        _optional_activity(dataset.tables, cfg.activity_events), spells, cfg.grace_days
    ).select(CLIENT_ID, _AT)


def _mixed_changes(dataset: Dataset, cfg: LabelConfig) -> pl.DataFrame:
    """The ``mixed`` source's changes: the subscriptions source's (a return at each spell's start, a churn at
    its end known ``grace_days`` later) and the inactivity source's over the activity outside the spells
    (:func:`_outside_spells`): per run (gaps of at most ``inactivity_days``, never spanning a spell) a return
    at its first activity and a churn ``inactivity_days`` after its last, unless a spell starts by then (the
    one-off buyer subscribed: its terms decide from their start)."""
    spells = _mixed_spells(dataset, cfg)
    gap = pl.duration(days=cfg.inactivity_days)
    runs = _activity_runs(
        _outside_spells(_optional_activity(dataset.tables, cfg.activity_events), spells, cfg.grace_days),
        cfg.inactivity_days,
    )
    nexts = spells.select(pl.col(CLIENT_ID).cast(pl.String), pl.col("_start").alias("_next_spell")).sort(
        "_next_spell"
    )
    runs = (
        runs.with_columns(pl.col(CLIENT_ID).cast(pl.String))
        .sort("_last")
        .join_asof(
            nexts,
            left_on="_last",
            right_on="_next_spell",
            by=CLIENT_ID,
            strategy="forward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
    )
    lapsing = runs.filter(pl.col("_next_spell").is_null() | (pl.col("_next_spell") > pl.col("_last") + gap))
    return pl.concat(
        [
            _spell_changes(spells.with_columns(pl.col(CLIENT_ID).cast(pl.String)), cfg, dataset.as_of),
            _churn_rows(lapsing, pl.col("_last") + gap, 0, dataset.as_of),
            _return_rows(runs, pl.col("_first")),
        ]
    )


def _churns_table_changes(dataset: Dataset, cfg: LabelConfig) -> pl.DataFrame:
    """The churns table's records as churns, and each one's return (:func:`returns_after_churns` by
    ``cfg.source``, concrete)."""
    table = _required(dataset, Table.CHURNS, "churns")
    churned = (
        table.select(pl.col(Churns.CLIENT_ID), pl.col(Churns.CHURNED_AT).cast(_DT).alias(_AT))
        .unique()
        .sort(_AT)
    )
    back = returns_after_churns(
        dataset.tables,
        churned.rename({_AT: CHURNED_AT}),
        cfg.grace_days,
        source=cfg.source,
        activity_events=cfg.activity_events,
    ).filter(pl.col(RETURNED_AT).is_not_null())
    return pl.concat(
        [
            _churn_rows(churned, pl.col(_AT), 0, dataset.as_of),
            _return_rows(back, pl.col(RETURNED_AT)).unique(),
        ]
    )


RETURNED_AT = "returned_at"


def _return_signs(
    tables: Mapping[Table, pl.DataFrame],
    clients: pl.Series,
    source: str,
    grace_days: int,
    events: Sequence[str] | None = None,
    customer: pl.DataFrame | None = None,
) -> list[tuple[pl.DataFrame, bool]]:
    """The instants that can end an absence of ``clients`` under ``label.source`` ``source`` (concrete): a list of
    (signs: ``client_id``, ``_start``, sorted; whether they count only after a churns record's wind-down).

    - ``subscriptions``: term starts (:func:`customer_terms`; a new add-on alone is no return), no wind-down.
    - ``inactivity``: every event and order (:func:`activity_times`, what keeps a client active under that
      label), after the wind-down.
    - ``mixed``: term starts (no wind-down), and the events and orders outside every term spell and its grace
      (:func:`_outside_spells`: a subscriber's orders belong to its terms; after the spell's grace the client
      is back as a one-off buyer, as the mixed labels read it), after the wind-down.
    - ``churns``: with a subscriptions table, term starts (no wind-down); else every event after the wind-down;
      payments only when there is no events table (a log of orders alone): beside events, a payment after a
      churn is the last invoice billed in arrears or a late collection, not a return.

    ``events``: ``label.activity_events``, the event names that are a sign (None: every event). ``customer``:
    :func:`customer_terms` of ``tables``' subscriptions when the caller holds it (None: read here).
    """
    subs = tables.get(Table.SUBSCRIPTIONS)
    if subs is not None and customer is None:
        customer = customer_terms(subs)
    # only the clients with a churn: few, so a large events table is cut by client first
    wanted = clients.cast(pl.String).implode()
    parts: list[tuple[pl.DataFrame, bool]] = []
    terms = (
        customer.select(
            pl.col(CLIENT_ID).cast(pl.String), pl.col(Subscriptions.START_DATE).cast(_DT).alias(_AT)
        )
        if subs is not None and customer is not None
        else None
    )
    if source == "inactivity":
        parts.append((_optional_activity(tables, events), True))
    elif source == "mixed" and terms is not None:
        mine = _optional_activity(tables, events).filter(pl.col(CLIENT_ID).is_in(wanted))
        outside = _outside_spells(mine, term_spells(customer, grace_days), grace_days)
        parts += [(terms, False), (outside.select(CLIENT_ID, _AT), True)]
    elif terms is not None:
        parts.append((terms, False))
    elif Table.EVENTS in tables or Table.PAYMENTS in tables:
        picked = (
            {Table.EVENTS: tables[Table.EVENTS]}
            if Table.EVENTS in tables
            else {Table.PAYMENTS: tables[Table.PAYMENTS]}
        )
        parts.append((_activity_of(picked, events).with_columns(pl.col(CLIENT_ID).cast(pl.String)), True))
    return [
        (
            signs.lazy()
            .filter(pl.col(CLIENT_ID).is_in(wanted))
            .select(CLIENT_ID, pl.col(_AT).alias("_start"))
            .unique()
            .sort("_start")
            .collect(),
            wind_down,
        )
        for signs, wind_down in parts
    ]


def returns_after_churns(
    tables: Mapping[Table, pl.DataFrame],
    churns: pl.DataFrame,
    grace_days: int,
    before: datetime | None = None,
    source: str = "auto",
    recorded: bool = True,
    activity_events: Sequence[str] | None = None,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``churns`` (``client_id``, ``churned_at``; same rows and order) with ``returned_at``: when the client
    came back after each churn, null while it has not. The one rule of a return, for the labels, the
    weekly list's gone clients and the win-back list alike; it follows ``source`` (``label.source``;
    ``auto`` resolved by :func:`auto_label_source` of ``tables``), the first sign strictly after the churn of:

    - ``subscriptions``: a term start (a base term when the client has any: :func:`customer_terms`);
    - ``inactivity``: an event or an order (a one-off buyer who orders again is back, terms or not);
    - ``mixed``: a term start, or an event or order outside every term spell and its grace: a client that
      left without a running spell comes back with an order or activity; one that left a subscription comes
      back with a new term, or with an order once its spell's grace is over (back as a one-off buyer, as the
      mixed labels list it);
    - ``churns``: a term start with a subscriptions table; else an event (or, without events, an order).

    ``recorded``: the churns are records of the ``churns`` table, so an event or order within ``grace_days``
    after one is its wind-down (the last logins, a data export or the cancellation flow's own events right
    after a cancellation), not a return. False for the label source's own churns (:func:`churn_dates`): an
    order right after an inactivity churn starts a new run, and the order after a spell's grace is outside
    it, as :func:`status_changes` reads them. ``before``: only signs strictly before it count (a list's
    date). ``activity_events``: ``label.activity_events``, the event names that can bring a client back (a
    bank's dormant customer is not back through a login); None = every event. Orders and terms always count.
    ``customer``: :func:`customer_terms` of ``tables``' subscriptions when the caller holds it (None: read here)."""
    if source == "auto":
        source = auto_label_source(tables)[0]
    keyed = churns.with_row_index("_row").with_columns(
        pl.col(CLIENT_ID).cast(pl.String), pl.col(CHURNED_AT).cast(_DT)
    )
    firsts = []
    clients = keyed.get_column(CLIENT_ID).unique()
    for signs, wind_down in _return_signs(tables, clients, source, grace_days, activity_events, customer):
        if before is not None:
            signs = signs.filter(pl.col("_start") < before)
        start_from = pl.col(CHURNED_AT) + pl.duration(days=grace_days if wind_down and recorded else 0)
        firsts.append(
            keyed.with_columns(start_from.alias("_from"))
            .sort("_from")
            .join_asof(
                signs,
                left_on="_from",
                right_on="_start",
                by=CLIENT_ID,
                strategy="forward",
                allow_exact_matches=False,
                check_sortedness=False,
            )
            .select("_row", "_start")
        )
    back = (
        pl.concat(firsts).group_by("_row").agg(pl.col("_start").min().alias(RETURNED_AT))
        if firsts
        else pl.DataFrame(schema={"_row": pl.UInt32, RETURNED_AT: _DT})
    )
    return keyed.join(back, on="_row", how="left").sort("_row").drop("_row")


def first_customer_records(dataset: Dataset) -> pl.DataFrame | None:
    """Each client's first sign of being a customer: its first term's start (:func:`customer_terms`: an
    add-on bought before the base plan counts until the plan starts) or its first order or invoice
    (a payment with a positive amount, at its ``issued_at`` or ``paid_at``, the earlier). Grain: one row
    per client that has one; ``client_id``, ``_at``. None when the data has neither a subscriptions nor a
    payments table: nothing tells a customer from a lead, and with the churns source a client then counts
    from its ``created_at``."""
    parts = []
    subs = dataset.get(Table.SUBSCRIPTIONS)
    if subs is not None:
        parts.append(
            customer_terms(subs).select(CLIENT_ID, pl.col(Subscriptions.START_DATE).cast(_DT).alias(_AT))
        )
    payments = dataset.get(Table.PAYMENTS)
    if payments is not None:
        # an invoice issued counts as paid does (an open or failed one is still billing a customer)
        issued = pl.col(Payments.ISSUED_AT) if Payments.ISSUED_AT in payments.columns else pl.lit(None, _DT)
        first = pl.min_horizontal(issued.cast(_DT), pl.col(Payments.PAID_AT).cast(_DT))
        parts.append(
            payments.filter(pl.col(Payments.AMOUNT) > 0)
            .select(CLIENT_ID, first.alias(_AT))
            .filter(pl.col(_AT).is_not_null())
        )
    if not parts:
        return None
    return pl.concat(parts).group_by(CLIENT_ID).agg(pl.col(_AT).min())


def _customer_from_creation(dataset: Dataset, cfg: LabelConfig) -> bool:
    """Whether a client counts as a customer from its ``created_at`` (the churns source on data without
    terms or orders: :func:`first_customer_records` has none); otherwise from its first term, order or
    activity (:func:`status_changes`)."""
    return cfg.source == "churns" and all(
        dataset.get(t) is None for t in (Table.SUBSCRIPTIONS, Table.PAYMENTS)
    )


def status_changes(dataset: Dataset, cfg: LabelConfig) -> pl.DataFrame:
    """Every churn and return per client, by ``cfg.source``, as membership changes.

    Columns: ``client_id``; ``_at`` (Datetime) the instant the change is known, applying to snapshots
    strictly after it (for a churn: ``churned_at + lag``, see :func:`label_lag_days`); ``_active``
    (False = churn, True = return); ``churned_at`` (the churn instant; null for returns); ``_decided``
    (False for a churn not yet known by the data end; such churns only matter for snapshots past the
    data end). Sorted by ``_at``.
    """
    cfg = resolved_label(cfg, dataset.tables)
    if cfg.source == "subscriptions":
        changes = _subscription_changes(dataset, cfg)
    elif cfg.source == "inactivity":
        changes = _inactivity_changes(dataset, cfg)
    elif cfg.source == "mixed":
        changes = _mixed_changes(dataset, cfg)
    else:
        changes = _churns_table_changes(dataset, cfg)
        # a client of the clients table without a term or an order (a lead, a prospect) is no customer:
        # with a subscriptions or payments table, a client becomes one at its first term or order
        first = first_customer_records(dataset)
        if first is not None:
            changes = pl.concat([changes, _return_rows(first, pl.col(_AT))])
    if changes.height == 0:
        return _empty_changes()
    return changes.unique().sort(*_CHANGE_ORDER, nulls_last=True)


def membership_changes(dataset: Dataset, cfg: LabelConfig) -> pl.DataFrame:
    """:func:`status_changes` of ``cfg.source`` plus, for the other sources, the ``churns`` table's
    records and their returns ("gone is gone"): the changes that decide who is active at a snapshot.

    Same columns and order as :func:`status_changes`.
    """
    cfg = resolved_label(cfg, dataset.tables)
    changes = status_changes(dataset, cfg)
    if cfg.source == "churns" or dataset.get(Table.CHURNS) is None:
        return changes
    recorded = _churns_table_changes(dataset, cfg)
    if recorded.height == 0:
        return changes
    return pl.concat([changes, recorded]).unique().sort(*_CHANGE_ORDER, nulls_last=True)


def customer_since(dataset: Dataset, cfg: LabelConfig) -> pl.DataFrame:
    """When each client became a customer, by ``cfg.source``: its first term's start (subscriptions;
    :func:`customer_terms`, so base terms when the client has any),
    its first order or event (inactivity; an event of ``label.activity_events``, as the labels read activity);
    the earlier of the two (mixed); for churns its first term or order
    (:func:`first_customer_records`), or its ``created_at`` on data with neither. One row per client
    that ever was one: ``client_id``, ``_since`` (Datetime); a lead of the clients table with no term
    (no order) has none. What the churn-rate reports count as a new client."""
    cfg = resolved_label(cfg, dataset.tables)
    if cfg.source == "subscriptions":
        subs = customer_terms(_required(dataset, Table.SUBSCRIPTIONS, "subscriptions"))
        times = subs.select(CLIENT_ID, pl.col(Subscriptions.START_DATE).cast(_DT).alias(_AT))
    elif cfg.source == "inactivity":
        times = activity_times(dataset, cfg.activity_events)
    elif cfg.source == "mixed":
        subs = customer_terms(_required(dataset, Table.SUBSCRIPTIONS, "mixed"))
        terms = subs.select(
            pl.col(CLIENT_ID).cast(pl.String), pl.col(Subscriptions.START_DATE).cast(_DT).alias(_AT)
        )
        times = pl.concat([terms, _optional_activity(dataset.tables, cfg.activity_events)])
    elif (first := first_customer_records(dataset)) is not None:
        times = first
    else:
        times = dataset.tables[Table.CLIENTS].select(
            CLIENT_ID, pl.col(Clients.CREATED_AT).cast(_DT).alias(_AT)
        )
    return times.group_by(CLIENT_ID).agg(pl.col(_AT).min().alias("_since")).sort(CLIENT_ID)


LEFT_AT = "left_at"


def _with_departures(dataset: Dataset, cfg: LabelConfig, churns: pl.DataFrame) -> pl.DataFrame:
    """``churns`` (``client_id``, ``churned_at``; :func:`status_changes` of ``cfg.source``, concrete) with
    ``left_at``, each churn's departure: ``churned_at`` less ``inactivity_days`` for a churn of the
    inactivity rule (its run's last activity), else ``churned_at`` (a spell's end, a churns record). Under
    ``mixed`` a churn at the end of one of the client's term spells is the subscriber's; the others are a
    one-off buyer's (a run's churn never falls on a spell's end: a run ends more than the grace after a
    spell, or is dropped when a spell starts within ``inactivity_days`` of its last activity). Same rows."""
    by_inactivity = pl.col(CHURNED_AT) - pl.duration(days=cfg.inactivity_days)
    if cfg.source == "inactivity":
        return churns.with_columns(by_inactivity.alias(LEFT_AT))
    if cfg.source != "mixed":
        return churns.with_columns(pl.col(CHURNED_AT).alias(LEFT_AT))
    ends = (
        _mixed_spells(dataset, cfg)
        .select(pl.col(CLIENT_ID).cast(pl.String), pl.col("_end").cast(_DT).alias(CHURNED_AT))
        .unique()
        .with_columns(pl.lit(True).alias("_spell_end"))
    )
    return (
        churns.with_columns(pl.col(CLIENT_ID).cast(pl.String))
        .join(ends, on=[CLIENT_ID, CHURNED_AT], how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("_spell_end")).then(pl.col(CHURNED_AT)).otherwise(by_inactivity).alias(LEFT_AT)
        )
        .drop("_spell_end")
    )


def churn_dates(dataset: Dataset, cfg: LabelConfig) -> pl.DataFrame:
    """One row per decided churn event, by ``cfg.source``: ``client_id``; ``churned_at`` (Datetime), the
    churn as the labels date it; ``left_at`` (Datetime), the **departure**: when the client actually left.

    The two differ only for a churn of the inactivity rule (``inactivity``, and a one-off buyer's under
    ``mixed``): its ``churned_at`` is when it is decided, ``inactivity_days`` after the run's last order or
    activity, and ``left_at`` is that last activity (a client that stopped ordering on 06-29 churns on 09-27
    with 90 inactivity days; it left on 06-29). For a term spell's end and a ``churns`` record ``left_at`` is
    ``churned_at``. The labels and who is active read ``churned_at``; what judges the client's departure
    reads ``left_at``: a warning raised after it is none (the post-mortem), the days gone count from it (the
    win-back stages), a churn belongs to the period it left in (the churn rates).

    See the module docstring for each source's definition. Sorted by client and time.
    """
    cfg = resolved_label(cfg, dataset.tables)
    changes = status_changes(dataset, cfg)
    churns = changes.filter(~pl.col(_ACTIVE) & pl.col(_DECIDED)).select(CLIENT_ID, CHURNED_AT)
    return _with_departures(dataset, cfg, churns).sort(CLIENT_ID, CHURNED_AT)


def departure_lag_days(cfg: LabelConfig) -> int:
    """Days after a departure (``left_at`` of :func:`churn_dates`) until every churn that left then is known:
    the label lag (:func:`label_lag_days`), and under ``inactivity`` and ``mixed`` at least
    ``inactivity_days`` (a client that stopped ordering is a churn only once that many days passed without
    an order). What reads churns by their departure (the churn rates, the post-mortem's stayers) knows them
    up to the data end less these days. ``cfg`` has a concrete source."""
    lag = label_lag_days(cfg)
    return max(lag, cfg.inactivity_days) if cfg.source in ("inactivity", "mixed") else lag


# ----------------------------------------------------------------------------------------------
# spines
# ----------------------------------------------------------------------------------------------
def _snapshot_frame(snapshots: Sequence[date] | pl.Series) -> pl.DataFrame:
    series = pl.Series(SNAPSHOT, list(snapshots), dtype=pl.Date).unique().sort()
    return pl.DataFrame(series).with_columns(pl.col(SNAPSHOT).cast(_DT).alias(_SDT))


_NEXT = "_next_churned_at"


def _active_segments(clients: pl.DataFrame, membership: pl.DataFrame, default: bool) -> pl.DataFrame:
    """Stretches of time in which a client is active: ``client_id``, ``_lo``, ``_hi``, ``_next_churned_at``.

    A snapshot ``s`` belongs to a stretch when ``_lo < s <= _hi`` (``_hi`` null: open-ended). Stretches
    lie between consecutive membership changes (the status after a change holds for snapshots strictly
    after it, up to and including the next change) and start no earlier than ``created_at``.
    ``_next_churned_at`` is the ``churned_at`` of the first decided churn known at or after ``_hi``.
    """
    created = clients.select(
        pl.col(Clients.CLIENT_ID), pl.col(Clients.CREATED_AT).cast(_DT).alias("_created")
    )
    changes = (
        membership.select(CLIENT_ID, _AT, _ACTIVE, CHURNED_AT, _DECIDED)
        .sort(CLIENT_ID, _AT, _ACTIVE)
        .with_columns(
            pl.when(~pl.col(_ACTIVE) & pl.col(_DECIDED))
            .then(pl.col(CHURNED_AT))
            .backward_fill()
            .over(CLIENT_ID)
            .alias("_next_here")
        )
    )
    after = changes.select(
        CLIENT_ID,
        pl.col(_AT).alias("_lo"),
        pl.col(_AT).shift(-1).over(CLIENT_ID).alias("_hi"),
        _ACTIVE,
        pl.col("_next_here").shift(-1).over(CLIENT_ID).alias(_NEXT),
    )
    first = changes.group_by(CLIENT_ID).agg(
        pl.col(_AT).first().alias("_hi"), pl.col("_next_here").first().alias(_NEXT)
    )
    initial = created.join(first, on=CLIENT_ID, how="left").select(
        CLIENT_ID, pl.lit(None, _DT).alias("_lo"), "_hi", pl.lit(default).alias(_ACTIVE), _NEXT
    )
    return (
        pl.concat([initial, after])
        .filter(pl.col(_ACTIVE))
        .join(created, on=CLIENT_ID, how="inner")
        .select(
            CLIENT_ID,
            pl.max_horizontal("_lo", "_created").alias("_lo"),
            "_hi",
            pl.col(_NEXT).cast(_DT),
        )
    )


def _spine_with_status(
    dataset: Dataset, snapshots: Sequence[date] | pl.Series, cfg: LabelConfig, hindsight: bool = False
) -> pl.DataFrame:
    """Active client x snapshot rows: ``client_id``, ``snapshot``, ``_snapshot_dt``, ``_next_churned_at``.

    Expands stretches of activity (:func:`_active_segments`) onto the sorted snapshots by binary
    search: the cost grows with the output rows, not with clients x snapshots x changes.
    """
    clients = dataset.get(Table.CLIENTS)
    if clients is None:
        raise ContractError(str(Table.CLIENTS), "required table missing")
    cfg = resolved_label(cfg, dataset.tables)
    membership = membership_changes(dataset, cfg)
    if hindsight:
        membership = membership.filter(pl.col(_DECIDED)).with_columns(
            pl.when(pl.col(_ACTIVE)).then(pl.col(_AT)).otherwise(pl.col(CHURNED_AT)).alias(_AT)
        )
    # Without any change before the snapshot: active for churns on data without terms or orders (created,
    # never left); else not active (no term or order yet: active from the first; inactivity: no activity yet).
    segments = _active_segments(clients, membership, default=_customer_from_creation(dataset, cfg))
    snaps = _snapshot_frame(snapshots).with_row_index("_i")
    times = snaps.get_column(_SDT)
    last = snaps.height - 1
    first_i = times.search_sorted(segments.get_column("_lo"), side="right").cast(pl.Int64)
    last_i = (
        times.search_sorted(segments.get_column("_hi").fill_null(datetime.max), side="right").cast(pl.Int64)
        - 1
    ).clip(upper_bound=last)
    return (
        segments.with_columns(first_i.alias("_i0"), last_i.alias("_i1"))
        .filter(pl.col("_i0") <= pl.col("_i1"))
        .select(CLIENT_ID, _NEXT, pl.int_ranges("_i0", pl.col("_i1") + 1, dtype=pl.UInt32).alias("_i"))
        .explode("_i")
        .join(snaps, on="_i", how="inner")
        .select(CLIENT_ID, SNAPSHOT, _SDT, _NEXT)
        .sort(CLIENT_ID, SNAPSHOT)
    )


def active_spine(
    dataset: Dataset, snapshots: Sequence[date] | pl.Series, cfg: LabelConfig, *, hindsight: bool = False
) -> pl.DataFrame:
    """Clients active at each snapshot: one row per client x snapshot; ``client_id``, ``snapshot`` (Date).

    Active = created before the snapshot and not churned before it (a client who came back is active
    again); for inactivity: with an order or event within ``inactivity_days`` before it. Sorted by
    client and snapshot.

    ``hindsight=True`` is for reporting on the past (churn-rate metrics), never for training: a decided
    churn counts from its ``churned_at`` rather than from when it became known, and undecided churns
    do not count (the client is treated as still active).
    """
    return _spine_with_status(dataset, snapshots, cfg, hindsight).select(CLIENT_ID, SNAPSHOT)


def label_lag_days(cfg: LabelConfig) -> int:
    """Days after a churn instant until it is known: the grace for subscriptions and for mixed, else 0.
    ``cfg`` has a concrete source (``auto`` resolved against the dataset: :func:`resolved_label`).

    Under ``mixed`` a one-off buyer's label is known at once, but one lag serves every row (a snapshot is
    wholly labeled or wholly not; the backtest's purged gap and the model card's ``learned_outcomes_until``
    read it): the conservative grace, so the one-off buyers' labels of the last ``grace_days`` wait too."""
    if cfg.source == "auto":
        raise ValueError("label_lag_days: label.source 'auto' is not resolved yet (labels.resolved_label)")
    return cfg.grace_days if cfg.source in ("subscriptions", "mixed") else 0


def _ended_base_terms(subscriptions: pl.DataFrame, cutoff: datetime) -> pl.DataFrame:
    """The base terms (add-ons aside) that ended by ``cutoff``, each with the start of the client's next
    term (any start after its own, ended or not; null when none): ``client_id`` (text), ``_start``,
    ``_end``, ``_next``, sorted by ``_start``. What the renewal notes read."""
    sub = subscriptions
    if Subscriptions.IS_ADDON in sub.columns:
        sub = sub.filter(~pl.col(Subscriptions.IS_ADDON).fill_null(False))
    start, end = pl.col(Subscriptions.START_DATE).cast(_DT), pl.col(Subscriptions.END_DATE).cast(_DT)
    terms = sub.select(
        pl.col(CLIENT_ID).cast(pl.String), start.alias("_start"), end.alias("_end")
    ).drop_nulls()
    ended = terms.filter(pl.col("_end") <= cutoff).sort("_start")
    starts = terms.select(CLIENT_ID, pl.col("_start").alias("_next")).unique().sort("_next")
    return ended.join_asof(
        starts,
        left_on="_start",
        right_on="_next",
        by=CLIENT_ID,
        strategy="forward",
        allow_exact_matches=False,
        check_sortedness=False,  # both sorted by their time above (Polars cannot check it per client)
    )


def unrenewed_terms_note(
    subscriptions: pl.DataFrame, data_end: datetime, grace_days: int, least: int = 20, share: float = 0.1
) -> str | None:
    """A warning when the subscriptions table looks like one row per *subscription* rather than per
    term: of its base terms (add-ons aside) that ended at least ``grace_days`` before ``data_end``, fewer
    than ``share`` were followed by a new term of the client within the grace (with ``least`` such terms
    or more). Real terms are mostly renewed; a billing system's subscriptions export, whose end date is
    the day the subscription ended, never is, and that end date holds the future: "days to the end of the
    term" then tells every churn in advance. None when the table reads as terms."""
    cutoff = data_end - timedelta(days=grace_days)
    ended = _ended_base_terms(subscriptions, cutoff)
    if ended.height < least:
        return None
    renewed = ended.filter(pl.col("_next") <= pl.col("_end") + pl.duration(days=grace_days)).height
    if renewed >= share * ended.height:
        return None
    return (
        f"subscriptions: of the {ended.height:,} terms that ended by {cutoff:%Y-%m-%d}, {renewed:,} were followed "
        f"by a new term within label.grace_days ({grace_days}): the table reads as one row per subscription, "
        "not per term. A term's end_date must be its scheduled end, known when it starts (a renewal is a new "
        "row); an end_date that says when the subscription ended holds the future, and the model would read "
        "every churn in advance. Give one row per billing period or contract term, and the cancellations in "
        "churns"
    )


def late_returns_note(
    subscriptions: pl.DataFrame,
    data_end: datetime,
    grace_days: int,
    least: int = 20,
    share: float = 0.1,
    together: float = 0.5,
) -> str | None:
    """Under the subscriptions label, a warning when many clients come back after the grace together: of
    the base terms (add-ons aside) that ended at least ``grace_days`` before ``data_end`` and were not
    followed by a new term of the client within the grace (each a churn to the label), ``share`` or more
    (and ``least`` or more) were followed by one later, and ``together`` of those late returns or more
    followed a term ending on one day. Such returns are a break the whole business takes (a school closed
    all summer between its terms), not churns: every client reads as gone during the break (a list in it
    has nobody to score, the win-back list holds everyone) and the model learns that the break's last term
    always churns. The note names the break and the grace that covers 3 in 4 of those gaps, in whole
    weeks. None otherwise."""
    nexts = _ended_base_terms(subscriptions, data_end - timedelta(days=grace_days))
    grace = pl.duration(days=grace_days)
    unrenewed = nexts.filter(pl.col("_next").is_null() | (pl.col("_next") > pl.col("_end") + grace))
    late = unrenewed.filter(pl.col("_next").is_not_null()).with_columns(
        (pl.col("_next") - pl.col("_end")).dt.total_days().alias("_gap")
    )
    if late.height < max(least, 1) or late.height < share * unrenewed.height:
        return None
    busiest = late.group_by(pl.col("_end").dt.date().alias("_day")).agg(
        pl.len().alias("_n"), pl.col("_gap").median()
    )
    day, n, gap = busiest.sort("_n", "_day", descending=[True, False]).row(0)
    if n < together * late.height:
        return None
    weeks = -(-int(late.get_column("_gap").quantile(0.75, "higher")) // 7)
    return (
        f"subscriptions: {late.height:,} of the {unrenewed.height:,} terms not renewed within label.grace_days "
        f"({grace_days}) were followed by a new term of the client later, {n:,} of them after a term ending on "
        f"{day:%Y-%m-%d} (a new term {gap:.0f} days later, the median): under the subscriptions label each is a "
        "churn and a return, and every client between two such terms reads as gone (off the weekly list, "
        "on the win-back list until its next term is booked). A break the business takes between terms (a school closed for the summer) is no "
        f"churn: --set label.grace_days={weeks * 7} covers 3 in 4 of these gaps (labels then wait "
        "label.horizon_days plus that grace)"
    )


def activity_day_gaps(activity: pl.DataFrame, at: str = _AT) -> pl.DataFrame:
    """Per client with at least 2 activity days, the gaps in days between consecutive ones: ``client_id``,
    ``_n`` (gaps), ``_med``, ``_lo``, ``_hi`` (their median, shortest and longest) and ``_return`` (the rhythm
    it comes back at: per activity day the longer of the gaps before and after it, the quiet spell beside it,
    their median). A return may take two activity days close together, and the median gap then reads their
    lead: a vet visit booked 3 days before, gaps 3, 27, 3, 27, ...: ``_med`` 3 (or 15), ``_return`` 27; a steady
    rhythm has both equal (every 7 days: 7). ``activity``: :func:`activity_times` (``client_id``, ``_at``), or
    any ``client_id`` with a time column ``at``. What the rhythm notes and the ``no_activity`` rule's usual gap
    read."""
    days = activity.select(CLIENT_ID, pl.col(at).dt.date().alias("_d")).unique()
    day = pl.col("_d")
    return (
        days.sort(CLIENT_ID, "_d")
        .with_columns(
            (day - day.shift(1).over(CLIENT_ID)).dt.total_days().alias("_gap"),
            (day.shift(-1).over(CLIENT_ID) - day).dt.total_days().alias("_next"),
        )
        .filter(pl.col("_gap").is_not_null() | pl.col("_next").is_not_null())  # a lone day has no gap
        .group_by(CLIENT_ID)
        .agg(
            pl.col("_gap").count().alias("_n"),
            pl.col("_gap").median().alias("_med"),
            pl.col("_gap").min().alias("_lo"),
            pl.col("_gap").max().alias("_hi"),
            pl.max_horizontal("_gap", "_next").median().cast(pl.Float64).alias("_return"),
        )
    )


def regular_rhythm_note(
    gaps: pl.DataFrame,
    horizon_days: int,
    least: int = 20,
    share: float = 0.3,
    fold_reach: Callable[[int], tuple[int, int | None]] | None = None,
) -> str | None:
    """A warning for ``label.source: inactivity`` when many clients are active on a regular rhythm about
    as long as the horizon (monthly invoices and a 30-day horizon): a loyal client who pays every 30 days,
    a few days late once, shows no activity in a whole horizon and is labeled gone.

    ``gaps``: :func:`activity_day_gaps`. Per client with at least 4 activity days, the gaps between
    consecutive days; *regular* when its shortest and longest gaps are within 40%
    of their median, and *about the horizon* when that median lies between half and one and a half
    horizons. The note comes when ``least`` or more clients, and ``share`` or more of the clients with 4
    days, are both (a shop's irregular orders are not regular). None otherwise. ``fold_reach``: as
    :func:`pauses_past_horizon_note`'s; a suggested horizon without a fold yet says so (:func:`_no_fold_yet`)."""
    gaps = gaps.filter(pl.col("_n") >= 3)
    if gaps.height < least:
        return None
    med = pl.col("_med")
    rhythmic = gaps.filter(
        (pl.col("_lo") >= 0.6 * med)
        & (pl.col("_hi") <= 1.4 * med)
        & (med >= horizon_days / 2)
        & (med <= 1.5 * horizon_days)
    )
    if rhythmic.height < least or rhythmic.height < share * gaps.height:
        return None
    typical = round(float(rhythmic.get_column("_med").median()))  # type: ignore[arg-type]
    return (
        f"label: {rhythmic.height:,} of the {gaps.height:,} clients with 4 activity days or more are active on "
        f"a regular rhythm of about {typical} days (monthly invoices, say), close to label.horizon_days "
        f"({horizon_days}): one payment a few days late leaves such a client without activity for a whole "
        "horizon, and it is labeled gone. Give the subscriptions (terms) or the churns if you have them; "
        f"else a horizon of at least twice the rhythm (label.horizon_days: {2 * typical} or more)"
    ) + _no_fold_yet(2 * typical, horizon_days, fold_reach)


def _no_fold_yet(
    suggest: int, horizon_days: int, fold_reach: Callable[[int], tuple[int, int | None]] | None
) -> str:
    """What a suggested ``label.horizon_days`` costs the backtest (:func:`horizon_without_fold`), said after a
    rhythm note's suggestion: "; this data gives 60 no out-of-time fold until about 40 more days of data (45 is
    the longest that gives one now)"; "" when it gives one now or without ``fold_reach``."""
    late = horizon_without_fold(suggest, horizon_days, fold_reach)
    if late is None:
        return ""
    wait, longest = late
    now = f" ({longest} is the longest that gives one now)" if longest is not None else ""
    return f"; this data gives {suggest} no out-of-time fold until about {wait:,} more days of data{now}"


def slow_rhythm_note(
    gaps: pl.DataFrame, inactivity_days: int, least: int = 20, share: float = 0.1
) -> str | None:
    """A warning for ``label.source: inactivity`` when many repeat clients usually go longer than
    ``inactivity_days`` between two activity days (a shop's quarterly and twice-a-year buyers under 90
    days): every such quiet spell reads as leaving, so they are labeled gone between orders, dropped from
    the weekly list and put on the win-back list while they still buy.

    ``gaps``: :func:`activity_day_gaps`. Per client with at least 2 activity days (a young log holds two
    orders of a twice-a-year buyer at most), the rhythm it comes back at (``_return``: the quiet spell beside
    a typical activity day, as :func:`fast_rhythm_note` reads it; the median gap, which a booking made weeks
    before each visit or a treatment after it halves, read a dental chain's patients on a 6-month recall as
    "typically 27 days" and said nothing under 90); the note comes when ``least`` or more clients, and
    ``share`` or more of those clients, come back after ``inactivity_days`` or more. It suggests 1.5 times
    their typical rhythm, in whole weeks. None otherwise."""
    slow = gaps.filter(pl.col("_return") >= inactivity_days)
    if slow.height < least or slow.height < share * gaps.height:
        return None
    typical = round(float(slow.get_column("_return").median()))  # type: ignore[arg-type]
    suggest = 7 * -(-round(1.5 * typical) // 7)
    return (
        f"label: {slow.height:,} of the {gaps.height:,} clients with 2 activity days or more "
        f"({slow.height / gaps.height:.0%}) usually go {inactivity_days} days or longer between two (typically "
        f"{typical} days): under label.inactivity_days ({inactivity_days}) each of their quiet spells reads as "
        "leaving, so they are labeled gone between orders, left off the weekly list and put on the win-back "
        f"list while they still buy. If that is their rhythm, raise it (label.inactivity_days: {suggest}, and "
        "rules.no_activity_days under it)"
    )


def pauses_past_horizon_note(
    gaps: pl.DataFrame,
    horizon_days: int,
    least: int = 20,
    share: float = 0.3,
    fold_reach: Callable[[int], tuple[int, int | None]] | None = None,
) -> str | None:
    """A warning for ``label.source: inactivity`` (and mixed's one-off buyers) when many clients paused
    ``horizon_days`` or longer between two activity days and came back (a yearly check-up, a seasonal order
    under a half-year horizon): at every snapshot before such a pause the label reads "no activity in the
    horizon", a churn, though the client returned. The model then learns the client's rhythm as risk, and
    its list calls clients on schedule leaving (a simulated vet chain under 180 days: 61% of the pay-per-visit
    owners' churn labels were owners who had not left).

    ``gaps``: :func:`activity_day_gaps` (``_hi``: the client's longest gap, each one closed by a return). The
    note comes when ``least`` or more clients, and ``share`` or more of the clients with 2 activity days, have
    a longest gap of ``horizon_days`` or more. It says their typical longest pause and suggests the horizon
    within which 3 in 4 of those pauses end, rounded up to 30 days. None otherwise.

    ``fold_reach`` (``train``: :func:`churnml.jobs.train.fold_reach`): a horizon -> (the days of data more it
    needs for an out-of-time fold, 0 when it has one now; the longest horizon under it that gives one now, or
    None). When the suggested horizon has no fold yet, the note says what each choice wins: the pauses it
    covers against the days until its first estimate, and the share of those pauses the longest horizon with a
    fold now covers (a dental chain on 16 months: "240 covers 3 in 4" here, "202 or less gives one now" in the
    backtest's hint, and no word that they conflict)."""
    paused = gaps.filter(pl.col("_hi") >= horizon_days)
    if paused.height < least or paused.height < share * gaps.height:
        return None
    typical = round(float(paused.get_column("_hi").median()))  # type: ignore[arg-type]
    covers = float(paused.get_column("_hi").quantile(0.75, "higher"))  # type: ignore[arg-type]
    suggest = 30 * -(-round(covers) // 30)
    said = (
        f"label: {paused.height:,} of the {gaps.height:,} clients with 2 activity days or more "
        f"({paused.height / gaps.height:.0%}) paused label.horizon_days ({horizon_days}) or longer between two "
        f"(typically {typical} days, their longest) and came back: at the snapshots before each such pause "
        "they are labeled gone, so the model learns their rhythm as leaving and lists clients on schedule "
        "(a yearly visit under a half-year horizon). If such pauses are their rhythm, a horizon of "
        f"label.horizon_days: {suggest} covers 3 in 4 of them (labels then wait that long)"
    )
    late = horizon_without_fold(suggest, horizon_days, fold_reach)
    if late is None:
        return said
    wait, longest = late
    said += (
        f". Covering them costs the estimate on this data: {suggest} gives no out-of-time fold (no backtest "
        f"estimate, no promotion) until about {wait:,} more days of data"
    )
    if longest is None:
        return f"{said}, and no horizon longer than {horizon_days} gives one now"

    def covered(days: int) -> str:
        return f"{paused.filter(pl.col('_hi') < days).height / paused.height:.0%}"

    return (
        f"{said}; label.horizon_days: {longest}, the longest that gives one now, covers {covered(longest)} of "
        f"those pauses ({suggest}: {covered(suggest)}), the rest labeled churn"
    )


def pauses_cut_by_hint(gaps: pl.DataFrame, hinted: int, horizon_days: int, least: int = 20) -> str:
    """What the backtest's hint of a shorter horizon with a fold (``hinted``, under today's ``horizon_days``)
    costs clients who pause and come back, said beside the hint: "under it, 123 of the 2,453 clients with 2
    activity days or more, whose longest pause 240 covers, read as churn before each such pause"; "" when
    fewer than ``least`` clients' longest pause (``_hi`` of :func:`activity_day_gaps`) lies from ``hinted`` to
    under ``horizon_days``. The mirror of :func:`horizon_without_fold`: the pauses note says what its horizon
    costs the backtest, the hint what its horizon costs the pauses."""
    cut = gaps.filter((pl.col("_hi") >= hinted) & (pl.col("_hi") < horizon_days)).height
    if cut < least:
        return ""
    return (
        f"under it, {cut:,} of the {gaps.height:,} clients with 2 activity days or more, whose longest pause "
        f"{horizon_days} covers, read as churn before each such pause"
    )


def horizon_without_fold(
    suggest: int, horizon_days: int, fold_reach: Callable[[int], tuple[int, int | None]] | None
) -> tuple[int, int | None] | None:
    """(days of data more, the longest horizon over ``horizon_days`` with a fold now or None) when a rhythm
    note's suggested ``label.horizon_days`` (``suggest``) gives this data no out-of-time fold yet
    (``fold_reach``: :func:`churnml.jobs.train.fold_reach`); None when it gives one now, or without
    ``fold_reach`` (``validate``, which plans no backtest). The one place a horizon churnml suggests for the
    clients' rhythm is weighed against the backtest's hint of a horizon that gives a fold."""
    if fold_reach is None:
        return None
    wait, longest = fold_reach(suggest)
    if wait == 0:
        return None
    return wait, longest if longest is not None and longest > horizon_days else None


def fast_rhythm_note(
    gaps: pl.DataFrame,
    inactivity_days: int,
    least: int = 20,
    share: float = 0.5,
    far: int = 6,
    slow_least: int = 5,
    slow_share: float = 0.05,
) -> str | None:
    """A hint for ``label.source: inactivity`` when most repeat clients usually come back far sooner than
    ``inactivity_days`` (a distributor's accounts ordering twice a week under 90 days): a client that stops
    is labeled gone only after that many quiet days, so the clients the list ranks first have been gone for
    weeks (the mirror of :func:`slow_rhythm_note`).

    ``gaps``: :func:`activity_day_gaps`. *Repeat* clients have at least 4 activity days; *fast* ones come back
    (``_return``: the quiet spell beside a typical activity day, not the median gap, which a booking days
    before each visit halves: monthly visits read "typically every 3 days") every ``inactivity_days / far``
    days or sooner. The
    note comes when ``least`` or more clients, and ``share`` or more of the repeat clients, are fast. It says
    their typical (median) rhythm and suggests a
    window of the 90th percentile of the fast clients' longest quiet spells, in whole weeks and at least
    four, for both ``label.inactivity_days`` and ``label.horizon_days``; None when that is not shorter than
    ``inactivity_days`` (their pauses already reach it), or otherwise. One window serves every client: when
    ``slow_least`` or more clients, and ``slow_share`` or more of the clients with 2 activity days, usually
    go that suggested window or longer between two (a distributor's quarterly accounts beside its weekly
    ones), the note says so, and that the window would label each of them gone after every order, instead
    of suggesting it plainly (on a 400-account distributor, 53 of its 53 quarterly accounts that never left
    had 97% of their rows labeled churn under the suggested 35 days, 12% under 90)."""
    repeat = gaps.filter(pl.col("_n") >= 3)
    cut = inactivity_days / far
    fast = repeat.filter(pl.col("_return") <= cut)
    if fast.height < least or fast.height < share * repeat.height:
        return None
    typical = round(float(fast.get_column("_return").median()))  # type: ignore[arg-type]
    longest = float(fast.get_column("_hi").quantile(0.9, "nearest"))  # type: ignore[arg-type]
    suggest = max(28, 7 * -(-round(longest) // 7))
    if suggest >= inactivity_days:
        return None
    days = "day" if typical == 1 else "days"
    said = (
        f"label: {fast.height:,} of the {repeat.height:,} clients with 4 activity days or more "
        f"({fast.height / repeat.height:.0%}) usually come back within {cut:.3g} days (typically every {typical} "
        f"{days}), far inside label.inactivity_days ({inactivity_days}): a client that stops is labeled gone only "
        f"after {inactivity_days} quiet days, so the clients at the top of the list have mostly been gone for "
        f"weeks already. 9 in 10 of them never paused longer than {longest:g} days"
    )
    flags = f"--set label.inactivity_days={suggest} --set label.horizon_days={suggest}"
    slow = gaps.filter(pl.col("_med") >= suggest)
    if slow.height >= slow_least and slow.height >= slow_share * gaps.height:
        usual = round(float(slow.get_column("_med").median()))  # type: ignore[arg-type]
        return (
            f"{said}. But {slow.height:,} of the {gaps.height:,} clients with 2 activity days or more "
            f"({slow.height / gaps.height:.0%}) usually go {suggest} days or longer between two (typically "
            f"{usual} days): label.inactivity_days is one window for every client, and {suggest} days would "
            f"label each of them gone after every order. Shorten the label ({flags}) only if those clients "
            "may be misread, or score them apart"
        )
    return (
        f"{said}: if that is their rhythm, shorten the label ({flags}, and rules.no_activity_days under it)"
    )


def churns_before_creation_note(churns: pl.DataFrame, clients: pl.DataFrame, shown: int = 3) -> str | None:
    """A warning when churn records are dated before their client's ``created_at``: the client then
    counts as gone from that date and back with its first later activity or term, so it is active (and
    listed) now although the record may mean it left. A typo in the year, or a ``created_at`` reset when
    the account re-signed: either way the dates disagree and only the user can say which is right. None
    when every churn comes after its client's creation. Compared by calendar day, as the ``created_at``
    repair compares (a record earlier on the same day moves nothing): a subscription app's date-only
    ``churned_at`` (midnight) of a sign-up whose first card failed that afternoon is no conflict of dates,
    and was said as "C00377 churned 2026-04-02, created 2026-04-02"."""
    early = (
        churns.select(CLIENT_ID, pl.col(Churns.CHURNED_AT).cast(_DT))
        .join(clients.select(CLIENT_ID, pl.col(Clients.CREATED_AT).cast(_DT)), on=CLIENT_ID, how="inner")
        .filter(pl.col(Churns.CHURNED_AT).dt.date() < pl.col(Clients.CREATED_AT).dt.date())
        .sort(CLIENT_ID, Churns.CHURNED_AT)
    )
    if early.height == 0:
        return None
    examples = ", ".join(
        f"{c} churned {t:%Y-%m-%d}, created {k:%Y-%m-%d}" for c, t, k in early.head(shown).iter_rows()
    )
    return (
        f"churns: {early.height:,} churn record{' is' if early.height == 1 else 's are'} dated before "
        f"{'its' if early.height == 1 else 'their'} client's created_at ({examples}): "
        "each such client counts as gone from that date and back with its first activity or term after it, "
        "so it is on the list now. Check those dates (a typo in the year, or created_at reset when the "
        "account re-signed)"
    )


def _without_churn_since(clients: pl.DataFrame, churns: pl.DataFrame | None, since: str) -> pl.DataFrame:
    """The rows of ``clients`` (one per client) without a churns record at or after their column ``since``."""
    if churns is None or not churns.height:
        return clients
    recorded = churns.select(pl.col(CLIENT_ID).cast(pl.String), pl.col(Churns.CHURNED_AT).cast(_DT))
    gone = clients.join(recorded, on=CLIENT_ID).filter(pl.col(Churns.CHURNED_AT) >= pl.col(since))
    return clients.join(gone.select(CLIENT_ID), on=CLIENT_ID, how="anti")


def unknown_activity_events_note(
    events: pl.DataFrame | None, activity_events: Sequence[str] | None
) -> str | None:
    """A warning naming the ``label.activity_events`` no row of ``events`` has (a typo, a name another export
    spells differently): no error, since a name may simply not occur yet, but nothing counts for it, so a
    client active only by it reads as quiet. None when every name occurs, or when ``activity_events`` is None
    (every event) or there is no events table."""
    if activity_events is None or events is None:
        return None
    seen = set(events.get_column(Events.EVENT).unique().drop_nulls().to_list())
    missing = [n for n in activity_events if n not in seen]
    if not missing:
        return None
    common = events.get_column(Events.EVENT).drop_nulls().value_counts(sort=True).head(4).iter_rows()
    return (
        f"label.activity_events: no event is named {', '.join(map(repr, missing))}, so "
        f"{'it counts' if len(missing) == 1 else 'they count'} as no activity (only orders and the other names "
        f"do). The most frequent event names: {', '.join(f'{n!r} ({c:,})' for n, c in common)}"
    )


# under the churns label without terms, a client without any activity for this long is named by a note
DORMANT_DAYS = 365


def dormant_clients_note(
    activity: pl.DataFrame, churns: pl.DataFrame | None, data_end: datetime, shown: int = 3
) -> str | None:
    """Under ``label.source: churns`` without a subscriptions table: the clients whose last activity
    (``activity``: :func:`activity_times`) is more than :data:`DORMANT_DAYS` before ``data_end`` with no
    churns record since; they count as active customers for ever (a charity's 31 one-off donors silent
    since 2022 stayed on its list, green). None when there is none."""
    last = activity.group_by(CLIENT_ID).agg(pl.col(_AT).max().alias("_last"))
    dormant = _without_churn_since(
        last.filter(pl.col("_last") < pl.lit(data_end - timedelta(days=DORMANT_DAYS), _DT)), churns, "_last"
    )
    if dormant.height == 0:
        return None
    examples = ", ".join(
        f"{c} (last active {t:%Y-%m-%d})" for c, t in dormant.sort("_last", CLIENT_ID).head(shown).iter_rows()
    )
    return (
        f"{dormant.height:,} client{'s have' if dormant.height > 1 else ' has'} had no order and no event for "
        f"more than {DORMANT_DAYS} days and no churns record since: {examples}. Under label.source: churns they "
        "count as active customers that never left (they train as staying and stay on the list); add their "
        "churns records (a one-off buyer or donor never cancels), or label them by inactivity"
    )


def unrecorded_lapses_note(
    subscriptions: pl.DataFrame,
    churns: pl.DataFrame | None,
    data_end: datetime,
    grace_days: int,
    shown: int = 3,
) -> str | None:
    """Under ``label.source: churns``, a warning when clients have had no term running (nor booked) for
    more than ``grace_days`` before ``data_end`` (terms: :func:`customer_terms`, so an add-on running on
    after the base plan ended does not count) and no churns record since their last term started: the
    churns label counts them as active customers that never leave, so they train as staying and stay on
    the list (green). None when there is none."""
    terms = customer_terms(subscriptions).select(
        pl.col(CLIENT_ID).cast(pl.String),
        pl.col(Subscriptions.START_DATE).cast(_DT),
        pl.col(Subscriptions.END_DATE).cast(_DT),
    )
    last = terms.group_by(CLIENT_ID).agg(
        pl.col(Subscriptions.START_DATE).max().alias("_start"),
        pl.col(Subscriptions.END_DATE).max().alias("_end"),
    )
    lapsed = _without_churn_since(
        last.filter(pl.col("_end") < pl.lit(data_end - timedelta(days=grace_days), _DT)), churns, "_start"
    )
    if lapsed.height == 0:
        return None
    lapsed = lapsed.sort("_end", CLIENT_ID)
    examples = ", ".join(f"{c} (last term ended {e:%Y-%m-%d})" for c, _, e in lapsed.head(shown).iter_rows())
    return (
        f"subscriptions: {lapsed.height:,} client{'s have' if lapsed.height > 1 else ' has'} had no term for more "
        f"than label.grace_days ({grace_days}) and no churns record since: {examples}. Under label.source: "
        "churns they count as active customers that never left (they train as staying and stay on the list); "
        "add their churns records, or use label.source: subscriptions"
    )


# the tables that record what a client does (its behaviour), as opposed to its contract and payments
_BEHAVIOUR = (Table.EVENTS, Table.COMMUNICATIONS, Table.TICKETS)


def left_before(tables: Mapping[Table, pl.DataFrame], day: datetime, grace_days: int) -> int | None:
    """How many clients the terms show leaving before ``day``: a spell of terms (:func:`term_spells` of
    :func:`customer_terms`) that ended more than ``grace_days`` before it, or a ``churns`` record before it. None
    without a subscriptions table (nothing says who was a customer then). 0 is an export of the clients still
    customers on ``day``: a CRM or billing system adopted then brings the terms of the accounts it took over, not
    of those gone before (:func:`churnml.reporting.metrics.survivors_until` reads the same of the metrics)."""
    subscriptions = tables.get(Table.SUBSCRIPTIONS)
    if subscriptions is None or subscriptions.height == 0:
        return None
    spells = term_spells(customer_terms(subscriptions), grace_days)
    gone = spells.filter(pl.col("_end") + pl.duration(days=grace_days) < pl.lit(day).cast(_DT)).select(
        CLIENT_ID
    )
    churns = tables.get(Table.CHURNS)
    if churns is not None and churns.height:
        recorded = churns.filter(pl.col(Churns.CHURNED_AT).cast(_DT) < pl.lit(day).cast(_DT))
        gone = pl.concat([gone, recorded.select(pl.col(CLIENT_ID).cast(pl.String))])
    return gone.get_column(CLIENT_ID).n_unique()


def late_behaviour_note(
    tables: Mapping[Table, pl.DataFrame],
    min_history_days: int,
    late_days: int = LATE_TABLE_DAYS,
    moved: bool = False,
    grace_days: int | None = None,
) -> str | None:
    """A note when every behaviour table present (events, communications, tickets) starts ``late_days`` or
    more after the data's first record (a CRM whose contracts and invoices go back years, its usage and
    support logs only months): the early snapshots see no behaviour at all, and a model learns from a
    past without the signals the weekly list reads. Dates before 1971 (placeholders) are left out
    (:func:`~churnml.contract.dataset.plausible_first`). ``moved``: the training snapshots start
    ``min_history_days`` after the behaviour begins (:func:`churnml.pipeline.training_snapshots`), and the note
    says so, and how ``snapshots.start`` would train on the time before them too, unless no client left before
    them (``grace_days`` given: :func:`left_before` is 0, an export of the clients still customers when the logs
    begin): a training row there could never be a churn (a project-management SaaS whose billing moved on
    2026-07-06 keeps its annual accounts' running terms from 2025-07: snapshots.start 2025-08-04 as the note said
    gave 4 backtest folds, each skipped for 0 churners among its training rows). Else it says where
    ``snapshots.start`` would begin them. None otherwise (or without a behaviour table)."""

    def first(table: Table) -> datetime | None:  # a placeholder date (1900-01-01) dates nothing
        frame = tables[table]
        return plausible_first(
            frame.get_column(c) for c in CONTRACT[table].time_columns if c in frame.columns
        )

    present = [t for t in _BEHAVIOUR if t in tables and tables[t].height]
    skip = (*_BEHAVIOUR, Table.CLIENTS, Table.CHURNS, Table.INTERVENTIONS)
    others = [t for t in tables if t not in skip and tables[t].height]
    starts = {t: f for t in present if (f := first(t)) is not None}
    records = [f for f in (first(t) for t in others) if f is not None]
    if not starts or not records:
        return None
    start, begins, last_begins = min(records), min(starts.values()), max(starts.values())
    if (begins - start).days < late_days:
        return None
    suggested = (begins + timedelta(days=min_history_days)).date()
    # each day the tables start on, with the tables starting then (a fleet tracker's notice calls from May, its
    # usage summaries from August read "events, communications, tickets start on" May's day)
    days: dict[date, str] = {}
    for table, first_day in sorted(starts.items(), key=lambda x: x[1].date()):
        day = first_day.date()
        days[day] = f"{days[day]}, {table}" if day in days else str(table)
    (first_day, first_tables), *later = days.items()
    others = ", ".join(f"{tables_then} on {day:%Y-%m-%d}" for day, tables_then in later)
    said = f"{first_tables} start on {first_day:%Y-%m-%d}" + (f" ({others})" if others else "")
    also = ""
    # a table's few early rows hide that another starts much later: where the training would start then
    if (last_begins - begins).days >= late_days:
        latest = (last_begins + timedelta(days=min_history_days)).date()
        also = f" ({latest} once every one of them holds data)"
    head = f"data: {said}, {(begins - start).days} days after the data's first record ({start:%Y-%m-%d})"
    if moved:
        moves = (
            f"{head}: the training snapshots start on {suggested}, {min_history_days} days into them, so that the "
            "model learns from the past the list reads"
        )
        if grace_days is not None and left_before(tables, begins, grace_days) == 0:
            return (
                f"{moves}{also}. No client left before them: the records before hold only the clients still "
                "customers then (a CRM or billing system adopted later brings the terms of the accounts it took "
                "over, not of those gone), so a training row there could never be a churn: keep snapshots.start "
                "unset"
            )
        return (
            f"{moves} (snapshots.start: {(start + timedelta(days=min_history_days)).date()} trains on the time "
            f"before them too){also}"
        )
    return (
        f"{head}: the snapshots before then see no usage or contact at all, and the model learns "
        f"from a past without the signals the list reads. To train from when they start: snapshots.start: "
        f"{suggested}{also}"
    )


def termless_clients_note(
    clients: pl.DataFrame, subscriptions: pl.DataFrame, payments: pl.DataFrame | None = None, shown: int = 3
) -> str | None:
    """A note for the subscriptions label when clients of the clients table have no term at all: under it
    a customer is a client with a term, so they are never a training row nor a row of the weekly list,
    which would otherwise go unsaid (800 workspaces, 387 on the list). Those with orders in ``payments``
    (:func:`orders`) are buyers without a contract (a shop's one-off buyers beside its subscribers: 2,617
    of 4,000 clients, 17,992 orders, off every list), counted with their orders and against every client
    with orders, and pointed to ``label.source: mixed``, which labels them by inactivity beside the
    subscribers; the rest (all of them without ``payments``) are leads, free users without a term, or terms
    missing from the export. Grain: one client of ``clients`` per count. None when every client has a term."""
    termed = subscriptions.get_column(CLIENT_ID).cast(pl.String).unique()
    ids = clients.get_column(CLIENT_ID).cast(pl.String).unique()
    none = ids.filter(~ids.is_in(termed.implode())).sort()
    if none.len() == 0:
        return None
    paid = (
        orders(payments).select(pl.col(CLIENT_ID).cast(pl.String))
        if payments is not None
        else pl.DataFrame(schema={CLIENT_ID: pl.String})
    )
    per_buyer = paid.filter(pl.col(CLIENT_ID).is_in(none.implode())).group_by(CLIENT_ID).len()
    buyers = per_buyer.get_column(CLIENT_ID).sort()
    leads = none.filter(~none.is_in(buyers.implode()))
    head = f"clients: {none.len():,} of the {clients.height:,} clients have no term in subscriptions"

    def named(some: pl.Series) -> str:
        return ", ".join(some.head(shown).to_list()) + (", ..." if some.len() > shown else "")

    said = []
    if buyers.len():
        with_orders = paid.get_column(CLIENT_ID).n_unique()
        said.append(
            f"{buyers.len():,} of them have orders ({int(per_buyer.get_column('len').sum()):,} orders; "
            f"{named(buyers)}), {buyers.len() / with_orders:.0%} of the {with_orders:,} clients with orders: "
            "buyers without a contract (one-off buyers), not leads. Under label.source subscriptions a customer "
            "is a client with a term, so they are never trained on nor listed; label.source: mixed lists them "
            "too, each while it has an order or event in the last label.inactivity_days, and calls its churn no "
            "order and no activity in the horizon, the subscribers still by their terms"
        )
    if leads.len():
        who = f"{leads.len():,} without an order ({named(leads)})" if buyers.len() else f"({named(leads)})"
        said.append(
            f"{who}: leads, free users without a term, or terms missing from the export. They are no "
            "customers: never trained on nor listed. If they are free users you want on the list, give them "
            "terms with mrr 0"
        )
    if buyers.len() and leads.len():
        return f"{head}: {said[0]}. The {said[1]}"
    return f"{head}{': ' if buyers.len() else ' '}{said[0]}"


def free_terms_note(subscriptions: pl.DataFrame, least: int = 20, share: float = 0.1) -> str | None:
    """A note when many clients (``least`` or more, and ``share`` or more of the clients with terms) have
    only terms with ``mrr`` 0: a free plan, or trials that never paid. With the subscriptions label each is
    a customer who churns when its last free term ends, which is trial conversion rather than churn if
    they are trials: the note says what keeping them gives and how to leave them out. None otherwise."""
    per_client = subscriptions.group_by(CLIENT_ID).agg((pl.col(Subscriptions.MRR) > 0).any().alias("_paid"))
    free = per_client.filter(~pl.col("_paid")).height
    if free < least or free < share * per_client.height:
        return None
    return (
        f"subscriptions: {free:,} of the {per_client.height:,} clients with terms have only terms with mrr 0 (a "
        "free plan, or trials that never paid): each is a customer that churns when its last free term ends, so "
        "the label counts a trial that does not convert as a churn. Kept, the list says them as trials, weighs "
        "them at the plan they would convert into (conversion_arr) and win-back re-offers them; to predict paying "
        "customers leaving only, leave trial terms out: a trial that converts becomes a customer with its first "
        "paid term"
    )


def running_term_ends(terms: pl.DataFrame, dates: Sequence[date]) -> pl.DataFrame:
    """The term each client has running at each of ``dates``: one row per client x date where a term started
    before the date (a snapshot sees only data strictly before it) and ends after it. Columns ``client_id``
    (String), ``snapshot`` (Date), ``term_days`` (the running term's length in days, the longest when several
    run), ``days_to_end`` (days from the date to the latest end among them: the next day the client can
    churn under the subscriptions label). ``terms``: rows of :func:`customer_terms` (``client_id``,
    ``start_date``, ``end_date``); a renewal booked to start after the date is not yet running."""
    start, end = pl.col(Subscriptions.START_DATE).cast(_DT), pl.col(Subscriptions.END_DATE).cast(_DT)
    base = terms.select(
        pl.col(CLIENT_ID).cast(pl.String), start.alias("_start"), end.alias("_end")
    ).drop_nulls()
    parts = []
    for day in sorted(set(dates)):
        at = datetime(day.year, day.month, day.day)
        parts.append(
            base.filter((pl.col("_start") < at) & (pl.col("_end") > at))
            .group_by(CLIENT_ID)
            .agg(
                (pl.col("_end") - pl.col("_start")).dt.total_days().max().alias("term_days"),
                (pl.col("_end").max() - pl.lit(at, _DT)).dt.total_days().alias("days_to_end"),
            )
            .with_columns(pl.lit(day, pl.Date).alias(SNAPSHOT))
        )
    schema = {CLIENT_ID: pl.String, SNAPSHOT: pl.Date, "term_days": pl.Int64, "days_to_end": pl.Int64}
    if not parts:
        return pl.DataFrame(schema=schema)
    return (
        pl.concat(parts)
        .select(CLIENT_ID, SNAPSHOT, pl.col("term_days").cast(pl.Int64), pl.col("days_to_end").cast(pl.Int64))
        .sort(CLIENT_ID, SNAPSHOT)
    )


# the running terms' median length from which "most terms end beyond the horizon" is said: longer than two
# months, so monthly terms (31 days at most) never are, whatever the horizon
LONG_TERM_DAYS = 62


def terms_beyond_horizon_note(
    terms: pl.DataFrame,
    dates: Sequence[date],
    horizon_days: int,
    share: float = 0.5,
    longest_labeled: int | None = None,
) -> str | None:
    """A note when under the subscriptions label (a churn is a term that ends unrenewed) most active clients'
    next term end lies beyond the horizon: more than ``share`` of the active client x date pairs of ``dates``
    (:func:`running_term_ends` of ``terms``, rows of :func:`customer_terms`) have their running term end
    ``horizon_days`` or more after the date (the label counts a churn dated before ``snapshot + horizon_days``:
    a term ending on that very day is out of reach, as every term of a school is from the list of 2 November
    under a 90-day horizon when all end on 31 January), and those terms run :data:`LONG_TERM_DAYS` or more
    (median). A
    school's annual contract renewing every 1 September, scored in March with a 90-day horizon: the model can
    only say "renews" for all, whoever is about to leave. The note suggests the ``label.horizon_days`` within
    which three in four of those terms end (the upper quartile of the days from the date to the term's end,
    rounded up to a multiple of 30): the median would leave half the year's lists short of the renewal.
    Pass the list's date for one list, or dates spread over a year of snapshots for the training data (a
    share that does not depend on the season). ``longest_labeled`` (training): the longest horizon this data
    can judge with a backtest fold now; a suggestion beyond it is said as one for when the data is longer, not
    as advice to follow now. None otherwise, and for monthly terms whatever the horizon."""
    running = running_term_ends(terms, dates)
    if running.height == 0:
        return None
    typical = float(running.get_column("term_days").median())  # type: ignore[arg-type]
    days = running.get_column("days_to_end")
    beyond = int((days >= horizon_days).sum())  # labeled only when days_to_end < horizon_days (labeled_spine)
    if typical < LONG_TERM_DAYS or beyond <= share * running.height:
        return None
    quartile = int(days.quantile(0.75, interpolation="higher"))  # type: ignore[arg-type]
    # a horizon longer than the quartile, rounded up to 30 days: a term ending on the quartile is in its reach
    suggest = -(-(quartile + 1) // 30) * 30
    snaps = running.get_column(SNAPSHOT)
    first, last = snaps.min(), snaps.max()
    of = f"{first:%Y-%m-%d}" if first == last else "their snapshot"
    when = (
        f"{beyond / running.height:.0%} of the {running.height:,} active clients' terms end {horizon_days} days "
        f"or more after {first:%Y-%m-%d}"
        if first == last
        else f"at {snaps.n_unique()} snapshots {first:%Y-%m-%d} .. {last:%Y-%m-%d}, {beyond / running.height:.0%} "
        f"of the active clients' terms ({running.height:,} client x snapshot rows) end {horizon_days} days or "
        "more after the snapshot"
    )
    reach = (
        f"{when}: they run {typical:.0f} days (median) and a client churns at a term's end, so the model can flag "
        f"a non-renewal only within {horizon_days} days of it (label.horizon_days)"
    )
    why = f"three in four of these terms end within {quartile} days of {of}"
    if longest_labeled is not None and suggest > longest_labeled:
        fold = (
            f"a backtest fold needs a horizon of {longest_labeled} days or less now"
            if longest_labeled >= 7
            else "no horizon gives a backtest fold yet"
        )
        return (
            f"{reach}. An earlier warning would need label.horizon_days: {suggest} ({why}), which this data "
            f"cannot judge yet ({fold}): keep the horizon until the data is longer"
        )
    return (
        f"{reach}. For an earlier warning, label.horizon_days: {suggest} ({why}; each label then waits that long "
        "plus label.grace_days after its snapshot)"
    )


def fitting_horizon(
    snapshots: Sequence[date], data_end: datetime, lag_days: int, weeks: int = 4
) -> int | None:
    """The longest ``label.horizon_days`` that labels the first ``weeks`` of ``snapshots`` by
    ``data_end`` (a label is known once ``snapshot + horizon + lag`` is not past it: :func:`labeled_spine`);
    None when fewer snapshots exist or not even a 7-day horizon would do."""
    if len(snapshots) < weeks:
        return None
    longest = (data_end.date() - sorted(snapshots)[weeks - 1]).days - lag_days
    return longest if longest >= 7 else None


def labeled_spine(dataset: Dataset, snapshots: Sequence[date] | pl.Series, cfg: LabelConfig) -> pl.DataFrame:
    """Active spine with the churn label: one row per client x snapshot.

    Columns ``client_id``, ``snapshot`` (Date), ``label`` (Int8: 1 = churns within ``horizon_days``
    after the snapshot, i.e. the next churn not yet known at the snapshot has ``churned_at <
    snapshot + horizon_days``; 0 = not; null when ``snapshot + horizon_days + lag`` is past the data
    end, see :func:`label_lag_days`), ``churned_at`` (of that next churn, or null). Sorted by client
    and snapshot.
    """
    cfg = resolved_label(cfg, dataset.tables)
    spine = _spine_with_status(dataset, snapshots, cfg)
    horizon = pl.duration(days=cfg.horizon_days)
    known_until = pl.lit(dataset.as_of - timedelta(days=label_lag_days(cfg)), _DT)
    # The next churn still unknown at the snapshot (known at or after it); for subscriptions its
    # churned_at may lie a little before the snapshot (term ended, grace still running).
    by_churn = (pl.col(_NEXT) < pl.col(_SDT) + horizon).fill_null(False)
    if cfg.source in ("inactivity", "mixed"):
        # Standard shop churn: no order and no activity in [s, s + horizon), or a churns record there; under
        # mixed a term's start is activity too (the one-off buyer subscribed).
        activity = (
            activity_times(dataset, cfg.activity_events)
            if cfg.source == "inactivity"
            else _activity_and_term_starts(dataset, cfg.activity_events)
        )
        spine = _with_next(spine, activity, "_next_activity")
        spine = _with_next(spine, _recorded_churns(dataset), "_next_record")
        end = pl.col(_SDT) + horizon
        by_quiet = (pl.col("_next_activity").is_null() | (pl.col("_next_activity") >= end)) | (
            pl.col("_next_record") < end
        ).fill_null(False)
    if cfg.source == "inactivity":
        churns_ahead = by_quiet
    elif cfg.source == "mixed":
        # a subscriber's row (a spell running, or its grace) by its terms, every other row by inactivity
        spine = _with_in_spell(spine, _mixed_spells(dataset, cfg), cfg.grace_days)
        churns_ahead = pl.when(pl.col(_IN_SPELL)).then(by_churn).otherwise(by_quiet)
    else:
        churns_ahead = by_churn
    label = pl.when(pl.col(_SDT) + horizon > known_until).then(None).otherwise(churns_ahead).cast(pl.Int8)
    return spine.select(CLIENT_ID, SNAPSHOT, label.alias(LABEL), pl.col(_NEXT).alias(CHURNED_AT))


_IN_SPELL = "_in_spell"


def mixed_label_note(labeled: pl.DataFrame, dataset: Dataset, cfg: LabelConfig) -> str | None:
    """What the ``mixed`` label made of the labeled rows (``labeled``: ``client_id``, ``snapshot``, ``label``,
    one row per client x snapshot with a known label): how many are a subscriber's (a term spell or its grace
    running at the snapshot, :func:`_with_in_spell`: labeled by its terms) and how many a one-off buyer's
    (labeled by no order and no activity in the horizon), each with its share of churn labels. ``train`` said
    neither the label it trained on nor this split (a coffee roaster's 27,671 rows, 3,064 churn labels). None
    under another source or without the subscriptions table in ``dataset`` (read batch by batch)."""
    if cfg.source != "mixed" or Table.SUBSCRIPTIONS not in dataset.tables or labeled.height == 0:
        return None
    spine = labeled.select(
        pl.col(CLIENT_ID).cast(pl.String),
        pl.col(SNAPSHOT).cast(pl.Date),
        pl.col(SNAPSHOT).cast(pl.Date).cast(_DT).alias(_SDT),
        pl.col(LABEL).cast(pl.Int64),
    )
    split = _with_in_spell(spine, _mixed_spells(dataset, cfg), cfg.grace_days)
    counts = {
        in_spell: (n, churn)
        for in_spell, n, churn in split.group_by(_IN_SPELL)
        .agg(pl.len().alias("n"), pl.col(LABEL).sum().alias("churn"))
        .iter_rows()
    }
    subs, subs_churn = counts.get(True, (0, 0))
    buyers, buyers_churn = counts.get(False, (0, 0))

    def share(churn: int, n: int) -> str:
        return f"{churn:,} churn labels, {churn / n:.1%}" if n else "no churn label"

    return (
        f"label.source mixed: of the {labeled.height:,} labeled rows, {subs:,} are subscribers' (a term or its "
        f"grace running at the snapshot: a churn is the subscription ending unrenewed within "
        f"{cfg.horizon_days} days, or a churns record; {share(subs_churn, subs)}) and {buyers:,} one-off buyers' "
        f"(a churn is no order and no activity in the {cfg.horizon_days} days after; "
        f"{share(buyers_churn, buyers)})"
    )


def _with_in_spell(spine: pl.DataFrame, spells: pl.DataFrame, grace_days: int) -> pl.DataFrame:
    """``spine`` plus ``_in_spell``: whether the client's latest term spell (:func:`term_spells`) that started
    strictly before the snapshot reaches it with its grace (``snapshot <= end + grace_days``): a subscriber
    at the snapshot, under ``mixed`` labeled by its terms. Point-in-time: a term starting after the snapshot
    that would lengthen that spell starts within the grace of a term the snapshot already sees."""
    starts = spells.select(
        pl.col(CLIENT_ID).cast(pl.String),
        pl.col("_start").alias("_spell_start"),
        pl.col("_end").alias("_spell_end"),
    ).sort("_spell_start")
    inside = (pl.col(_SDT) <= pl.col("_spell_end") + pl.duration(days=grace_days)).fill_null(False)
    return (
        spine.with_columns(pl.col(CLIENT_ID).cast(pl.String))
        .sort(_SDT)
        .join_asof(
            starts,
            left_on=_SDT,
            right_on="_spell_start",
            by=CLIENT_ID,
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .with_columns(inside.alias(_IN_SPELL))
        .drop("_spell_start", "_spell_end")
        .sort(CLIENT_ID, SNAPSHOT)
    )


def _activity_and_term_starts(dataset: Dataset, events: Sequence[str] | None = None) -> pl.DataFrame:
    """Every event (of the names ``events``, None: all) and order (:func:`activity_times`, none without those
    tables) and every term's start (:func:`customer_terms`): ``client_id``, ``_at``. What keeps a ``mixed``
    one-off buyer's label 0."""
    terms = customer_terms(_required(dataset, Table.SUBSCRIPTIONS, "mixed")).select(
        pl.col(CLIENT_ID).cast(pl.String), pl.col(Subscriptions.START_DATE).cast(_DT).alias(_AT)
    )
    return pl.concat([_optional_activity(dataset.tables, events), terms])


def _recorded_churns(dataset: Dataset) -> pl.DataFrame:
    """The ``churns`` table's instants as ``client_id``, ``_at`` (empty without the table)."""
    table = dataset.get(Table.CHURNS)
    if table is None:
        return pl.DataFrame(schema={CLIENT_ID: pl.String, _AT: _DT})
    return table.select(
        pl.col(Churns.CLIENT_ID).cast(pl.String), pl.col(Churns.CHURNED_AT).cast(_DT).alias(_AT)
    )


def _with_next(spine: pl.DataFrame, times: pl.DataFrame, name: str) -> pl.DataFrame:
    """``spine`` plus ``name``: the client's first instant in ``times`` at or after the snapshot (or null)."""
    ahead = times.select(pl.col(CLIENT_ID).cast(pl.String), pl.col(_AT).alias(name)).unique().sort(name)
    return (
        spine.with_columns(pl.col(CLIENT_ID).cast(pl.String))
        .sort(_SDT)
        .join_asof(
            ahead,
            left_on=_SDT,
            right_on=name,
            by=CLIENT_ID,
            strategy="forward",
            allow_exact_matches=True,
            check_sortedness=False,
        )
        .sort(CLIENT_ID, SNAPSHOT)
    )
