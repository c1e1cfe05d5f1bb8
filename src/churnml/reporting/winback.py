"""The win-back list: every client who left, from the day it leaves, with the playbook's stage, approach
and decision.

Who is on it (:func:`lost_clients`): a client with a churn, from the label source (``churns`` argument,
e.g. ``labels.churn_dates``) or a record in the ``churns`` table, whichever is later, unless it came back
after it (:func:`churnml.labels.returns_after_churns`, the rule the labels and the weekly list read, by
``label.source``: a new term under subscriptions; a new order or event under inactivity, so a lapsed one-off
buyer who orders again is back whether the data has a subscriptions table or not; under mixed a new term, or
an order or event outside every term spell and its grace; after a ``churns`` record, activity within
``label.grace_days`` is its wind-down), so a client who left is on this list or on the weekly list, never
on both, never on neither. A record in ``churns`` puts the client on the list on its ``churned_at`` day, so the 0-30 stage
holds the clients who left this month (a subscription churn is only *decided* ``grace_days`` after the
term end; the ``churns`` record is known at once). The days gone count from the **departure** (``left_at``,
:func:`churnml.labels.churn_dates`): under the inactivity rule a churn is decided ``inactivity_days`` after the
last order, and that last order is when the client left, so a shop's client enters the list in the stage of
those days (91-180 with 90 inactivity days), not in "0-30 watch".

Grain of :func:`winback_list`: one row per client who left and did not come back, about its latest churn.
Columns:

- ``client_id``, and ``name`` / ``owner`` / ``segment`` when the clients table has them;
- ``churned_at`` (Datetime, the churn as the labels date it), ``left_at`` (Datetime, the departure: the
  last order before the gap under the inactivity rule, else ``churned_at``), ``days_since_churn`` (Int64,
  from ``left_at`` to the as-of date), ``stage`` (``0-30``, ``31-90``, ``91-180``, ``180+`` from
  ``winback.stages``, by ``days_since_churn``);
- ``reason`` (the ``churns`` record nearest in time; without one, ``payment_failed`` for a client whose failed
  payments no order settled before its lapse, the weekly list's ``payment_trouble`` evidence
  (:func:`with_reasons`); else null), ``reason_segment`` (the reason, or ``unknown``), ``approach``
  (``winback.approaches[reason]``; a re-offer's, :func:`trial_offer`);
- ``tenure_days`` (created to left; null for a placeholder ``created_at`` before 1971, unknown); ``former_arr`` (the recurring revenue at the churn instant,
  :func:`churnml.scoring.value.recurring_revenue`: 12 x MRR of the terms running then, else the
  orders of its last year (an invoice at its ``issued_at``, paid yet or not), else 0 — the weekly list's ARR definition); ``lifetime_revenue``
  (the larger of the payments before the churn, refunds netted, failed attempts left out, and what its terms billed before it, MRR
  x months: a payments export that begins after the terms holds only the last invoices; plus, for a client created
  before its revenue records begin (its terms, else its payments) and paying when they begin, its ``former_arr`` for
  each year before them; unknown, null, for a client with none on record whose past is off the record,
  :func:`churnml.scoring.crm.pasts_off_record`: a subscriber paused when the export began); ``lifetime_value`` =
  lifetime revenue x margin
  (``clients.margin``, else the default margin);
- ``orders_last_year`` (:func:`churnml.labels.orders` placed in the year before the churn, at
  :func:`churnml.labels.order_placed_at`), ``complaints_last_year``, ``discount_requests_last_year``,
  ``demands_last_year`` (complaints + discount requests + the cancellation requests before the last: the notice
  that ended it is no demand, the ones before it were threats to cancel): counts in the 365 days before the churn;
- ``regular`` (at least ``winback.regular_orders`` payments in its last year), ``high_value`` (top
  ``winback.high_value_share`` of lifetime value on the list), ``recent_clean`` (left at most
  ``stages[1]`` days ago with no complaint in its last year): the playbook's picks (``first``);
- ``never_paid`` (every term free and nothing paid at the as-of date, its past on record: an expired free trial, a
  free plan; :func:`churnml.scoring.crm.free_trials`) and ``trial_active_days`` (:func:`trial_use`: its distinct days with
  a product event from its first term's start to its departure; null for a paying client or without events);
- ``decision`` (``attempt``, ``keep in touch``, ``let go``, ``no contact``, ``re-offer``, ``wait``; :data:`DECISIONS`) and
  ``decision_reason`` (in words). Rules in order: a reason in ``no_contact_reasons`` (closed: the client
  no longer exists, a donor deceased, a company dissolved) -> no contact, not even a newsletter; a reason
  in ``no_attempt_reasons`` (moved) -> keep in touch; gone by silence alone (the inactivity label's churn,
  no reason recorded) for fewer days than ``rules.no_activity_rhythm`` times its usual gap between orders
  (:func:`rhythm_gaps`: a hotel ordering every 120 days, 92 days after its last order) -> wait, no win-back
  before then (the weekly list's ``no_activity`` rule reads the same rhythm), nor for as many days as its orders
  paused across the same day a year earlier (its season: :func:`churnml.scoring.rules.seasonal_gap_days`); repeated
  complaints *and* discount demands -> let go; left owing (``debt_failures`` failed payments or more no payment
  settled, :func:`debts_at_departure`: months of unpaid bills, a debt to recover) -> let go, whatever its reason
  (never the card reminder of ``immediate_reasons``); low loyalty with high demands -> let go (both only when the
  complaints and requests are more than ``demands_per_order`` of its orders of its last year, :func:`churnml.scoring.rules.complaints_beyond_use`, the list's complaints rule's test); never paid (and no
  reason in ``immediate_reasons``) -> re-offer, whatever its lifetime value (0: it has not converted, it is a
  prospect, not an account to close; ``trial_approach``, e-mails only); lifetime value
  below ``min_value_ratio`` x ``cost_per_attempt`` -> let go, except for a reason in ``immediate_reasons``
  (payment_failed: involuntary churn, a reminder costs next to nothing); with ``attempt_by_chance``, an expected
  value (lifetime value x ``return_chance``) under ``cost_per_attempt`` -> wait until the first later day whose measured chance gives the
  cost (:func:`attempt_days`: switchers who come back when a rival's fixed term ends, a year after leaving), or
  keep in touch when no later day does; else attempt;
- ``return_chance`` (:func:`return_chances`: the chance that a client gone that many days, for that
  reason, comes back within ``winback.follow_up_days`` more, measured on the data's own past absences;
  null when the data shows no return or no past absence was watched to the end of those days more),
  ``expected_value`` (lifetime value x return chance: what an attempt can bring back) and
  ``return_chance_basis`` (how it was measured, in words);
- ``first`` (an attempt the playbook flags: regular, high value or recent without complaints; said in the
  decision reason, it does not order the list), ``priority`` (1 = act first: attempts by expected value,
  then return chance, then lifetime value, then the most recently gone; after them the re-offers by
  ``trial_active_days``, then the most recently gone; null otherwise);
- ``action`` (the stage's action with the reason's approach; a re-offer "re-offer: " + its approach,
  :func:`trial_offer`: what to offer the prospect and why, from its days of use in the trial; an
  ``immediate_reasons`` churn gets its
  approach from the first day: "now: a reminder to update the payment method") and ``cadence`` (the first contact sells
  nothing; contacts (a call, an e-mail) no more often than every ``call_gap_days``).

Sorted by priority (attempts first, then re-offers), then lifetime value, descending.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from churnml.config import LabelConfig, RulesConfig, WinbackConfig
from churnml.contract.dataset import Dataset
from churnml.contract.schemas import (
    CLIENT_ID,
    Churns,
    Clients,
    Events,
    Payments,
    Subscriptions,
    Table,
    Tickets,
)
from churnml.contract.validation import known_time
from churnml.labels import LEFT_AT, auto_label_source, order_placed_at, orders, returns_after_churns
from churnml.scoring.rules import complaints_beyond_use
from churnml.scoring.sentences import formatted
from churnml.scoring.value import recurring_revenue

__all__ = [
    "ATTEMPT",
    "DECISIONS",
    "KEEP_IN_TOUCH",
    "LET_GO",
    "NO_CONTACT",
    "RE_OFFER",
    "TRIAL_DAYS",
    "UNKNOWN_REASON",
    "WAIT",
    "absences",
    "attempt_days",
    "departure",
    "lost_clients",
    "lost_in",
    "return_chances",
    "return_dates",
    "rhythm_gaps",
    "stage_labels",
    "trial_offer",
    "trial_use",
    "unknown_value_note",
    "value_floor_note",
    "winback_list",
    "with_reasons",
]

ATTEMPT = "attempt"
KEEP_IN_TOUCH = "keep in touch"
LET_GO = "let go"
NO_CONTACT = "no contact"
RE_OFFER = "re-offer"  # a client that never paid (an expired free trial): a prospect, not an account to close
WAIT = "wait"
DECISIONS = (ATTEMPT, KEEP_IN_TOUCH, LET_GO, NO_CONTACT, RE_OFFER, WAIT)
UNKNOWN_REASON = "unknown"
CHURNED_AT = Churns.CHURNED_AT
_DT = pl.Datetime("us")
_YEAR = pl.duration(days=365)


def stage_labels(edges: tuple[int, ...]) -> list[str]:
    """Labels of the stages cut by ``edges`` (days): ``(30, 90, 180)`` -> ``0-30, 31-90, 91-180, 180+``."""
    lows = [0, *[e + 1 for e in edges]]
    return [f"{lo}-{hi}" for lo, hi in zip(lows, edges, strict=False)] + [f"{edges[-1]}+"]


# label.grace_days by default: the wind-down after a churn in which activity is no return
GRACE_DAYS: int = LabelConfig().grace_days


def return_dates(
    dataset: Dataset,
    churns: pl.DataFrame,
    grace_days: int = GRACE_DAYS,
    source: str = "auto",
    recorded: bool = True,
) -> pl.DataFrame:
    """For each churn row (``client_id``, ``churned_at``): ``returned_at``, when the client came back
    (:func:`churnml.labels.returns_after_churns` by ``source``, ``label.source``: a new term, an order or
    event, as the label reads a return; ``recorded``: the churns are ``churns`` records, whose first
    ``grace_days`` are their wind-down), null when it has not. Same grain and order as ``churns``, one
    column added."""
    return returns_after_churns(dataset.tables, churns, grace_days, source=source, recorded=recorded)


def _churns_before(churns: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """The distinct churns (``client_id``, ``churned_at``, ``left_at``: the departure, ``churned_at`` when
    ``churns`` has none, as a ``churns`` record) strictly before ``as_of``, sorted by client and time."""
    left = pl.col(LEFT_AT) if LEFT_AT in churns.columns else pl.col(CHURNED_AT)
    picked = churns.select(
        pl.col(CLIENT_ID).cast(pl.String), pl.col(CHURNED_AT).cast(_DT), left.cast(_DT).alias(LEFT_AT)
    )
    return picked.filter(pl.col(CHURNED_AT) < pl.lit(as_of, _DT)).unique().sort(CLIENT_ID, CHURNED_AT)


def departure(frame: pl.DataFrame) -> pl.Expr:
    """The departure of each row of ``frame``: its ``left_at`` (:func:`absences`), else its ``churned_at``."""
    return pl.col(LEFT_AT if LEFT_AT in frame.columns else CHURNED_AT)


def absences(
    dataset: Dataset, churns: pl.DataFrame, grace_days: int = GRACE_DAYS, source: str = "auto"
) -> pl.DataFrame:
    """One row per absence: ``client_id``, ``churned_at``, ``left_at``, ``returned_at`` (null: still gone).

    ``churns``: churn events of the label source ``source`` (``label.source``; ``labels.churn_dates``, whose
    ``left_at`` is the departure: the last order before the gap under the inactivity rule; without the
    column, ``churned_at``), each ended by that source's return (:func:`return_dates`); the ``churns``
    table's records are added (their own day is their departure), each ended by the same rule after its
    wind-down. Churns that fall in the same absence (no return between them) count once, dated by the
    earliest ``churned_at`` and the earliest ``left_at``.
    """
    if source == "auto":
        source = auto_label_source(dataset.tables)[0]
    table = dataset.get(Table.CHURNS)
    records = _churns_before(table if table is not None else churns.clear(), dataset.as_of)
    # a churn of the label that is also a record (all of them under the churns source) is read as the record
    own = _churns_before(churns, dataset.as_of).join(records, on=[CLIENT_ID, CHURNED_AT], how="anti")
    back = pl.concat(
        [
            return_dates(dataset, own, grace_days, source, recorded=source == "churns"),
            return_dates(dataset, records, grace_days, source, recorded=True),
        ]
    )
    return (
        back.group_by(CLIENT_ID, "returned_at")
        .agg(pl.col(CHURNED_AT).min(), pl.col(LEFT_AT).min())
        .select(CLIENT_ID, CHURNED_AT, LEFT_AT, "returned_at")
        .sort(CLIENT_ID, CHURNED_AT)
    )


def lost_clients(
    dataset: Dataset, churns: pl.DataFrame, grace_days: int = GRACE_DAYS, source: str = "auto"
) -> pl.DataFrame:
    """Clients gone at the as-of date: ``client_id``, ``churned_at`` (their latest churn).

    ``churns``: churn events of the label source ``source`` (``client_id``, ``churned_at``); the ``churns``
    table's records count too, from their own day. A client that came back after its latest churn (by the
    source's return rule, :func:`absences`) is left out; the others are dated by the earliest churn of their
    current absence (no return after it).
    """
    return lost_in(absences(dataset, churns, grace_days, source))


def lost_in(gone: pl.DataFrame) -> pl.DataFrame:
    """The absences of :func:`absences` that have not ended: ``client_id``, ``churned_at``, ``left_at`` (when
    ``gone`` has it), by client."""
    kept = [CLIENT_ID, CHURNED_AT, *([LEFT_AT] if LEFT_AT in gone.columns else [])]
    return gone.filter(pl.col("returned_at").is_null()).select(kept).sort(CLIENT_ID)


# a churns record further than this from a client's departure is not its reason (a car sold a year before
# the customer's last policy lapsed, after which it renewed)
REASON_WITHIN = timedelta(days=183)


# rules.payment_trouble_days by default: failed payments this many days before the lapse make it involuntary
FAILED_PAYMENT_DAYS: int = RulesConfig().payment_trouble_days
# the reason given to a lapse after failed payments that no churns record explains (winback.approaches)
PAYMENT_FAILED = "payment_failed"


def with_reasons(
    lost: pl.DataFrame,
    dataset: Dataset,
    grace_days: int = GRACE_DAYS,
    failed_payment_days: int = FAILED_PAYMENT_DAYS,
) -> pl.DataFrame:
    """``lost`` (``client_id``, ``churned_at``, optional ``left_at``) with ``reason``: the ``churns`` record
    nearest in time, within :data:`REASON_WITHIN` of the departure (``left_at``, else ``churned_at``: a notice
    given months ahead, a record written late); else :data:`PAYMENT_FAILED` when the client had failed
    payments no order settled (:func:`churnml.scoring.rules.unsettled_failures`, the weekly list's
    ``payment_trouble`` evidence) in the ``failed_payment_days`` (``rules.payment_trouble_days``) before the
    departure's wind-down ended, ``grace_days`` (``label.grace_days``) after it: a renewal declined on the
    term's last day and retried in its grace is an involuntary churn; null otherwise."""
    table = dataset.get(Table.CHURNS)
    if table is None or Churns.REASON not in table.columns:
        recorded = lost.with_columns(pl.lit(None, pl.String).alias(Churns.REASON))
    else:
        reasons = (
            table.filter(pl.col(Churns.REASON).is_not_null())
            .select(CLIENT_ID, pl.col(CHURNED_AT).cast(_DT).alias("_reason_at"), Churns.REASON)
            .sort("_reason_at")
        )
        recorded = (
            lost.with_columns(departure(lost).cast(_DT).alias("_left"))
            .sort("_left")
            .join_asof(
                reasons,
                left_on="_left",
                right_on="_reason_at",
                by=CLIENT_ID,
                strategy="nearest",
                tolerance=REASON_WITHIN,
                check_sortedness=False,
            )
            .drop("_reason_at", "_left")
        )
    return _with_failed_payments(recorded, dataset, grace_days, failed_payment_days)


# a departure's debt: the failed payments of this many days before it (its wind-down included) that no payment settled
DEBT_DAYS = 365


def debts_at_departure(lost: pl.DataFrame, dataset: Dataset, grace_days: int = GRACE_DAYS) -> pl.DataFrame:
    """What each client of ``lost`` (``client_id``, ``churned_at``, optional ``left_at``) left owing: one row per
    client with failed payments in the :data:`DEBT_DAYS` before its departure's wind-down ended (``grace_days``
    after it) that no payment settled (:func:`churnml.scoring.rules.unsettled_failure_rows`, the weekly list's
    ``payment_trouble`` evidence): ``client_id``, ``owed_failures`` (how many), ``owed`` (their amount; null
    without an ``amount`` column). A household cut off after five unpaid monthly debits owes five; a card that
    failed once at the renewal, one."""
    from churnml.scoring.rules import unsettled_failure_rows

    payments = dataset.get(Table.PAYMENTS)
    schema = {CLIENT_ID: pl.String, "owed_failures": pl.UInt32, "owed": pl.Float64}
    if payments is None or lost.height == 0:
        return pl.DataFrame(schema=schema)
    cuts = lost.select(
        pl.col(CLIENT_ID).cast(pl.String),
        (departure(lost).cast(_DT) + pl.duration(days=grace_days)).alias("_cut"),
    )
    rows = unsettled_failure_rows(payments, dataset.get(Table.SUBSCRIPTIONS), cuts, DEBT_DAYS)
    return (
        rows.group_by(CLIENT_ID)
        .agg(pl.len().cast(pl.UInt32).alias("owed_failures"), pl.col(Payments.AMOUNT).sum().alias("owed"))
        .select(pl.col(CLIENT_ID).cast(pl.String), "owed_failures", pl.col("owed").cast(pl.Float64))
        .sort(CLIENT_ID)
    )


def _with_failed_payments(
    lost: pl.DataFrame, dataset: Dataset, grace_days: int, failed_payment_days: int
) -> pl.DataFrame:
    """``lost`` with a null ``reason`` set to :data:`PAYMENT_FAILED` where unsettled failed payments end the
    client's stay (:func:`with_reasons`); same rows, same order."""
    from churnml.scoring.rules import unsettled_failures

    payments = dataset.get(Table.PAYMENTS)
    if payments is None or lost.height == 0:
        return lost
    cut = (departure(lost).cast(_DT) + pl.duration(days=grace_days)).alias("_cut")
    asked = lost.filter(pl.col(Churns.REASON).is_null()).select(pl.col(CLIENT_ID).cast(pl.String), cut)
    failed = unsettled_failures(
        payments, dataset.get(Table.SUBSCRIPTIONS), asked, failed_payment_days
    ).with_columns(pl.col(CLIENT_ID).cast(lost.schema[CLIENT_ID]), pl.lit(True).alias("_failed"))
    return (
        lost.with_columns(cut)
        .join(failed, on=[CLIENT_ID, "_cut"], how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col(Churns.REASON).is_null() & pl.col("_failed").fill_null(False))
            .then(pl.lit(PAYMENT_FAILED))
            .otherwise(pl.col(Churns.REASON))
            .alias(Churns.REASON)
        )
        .drop("_cut", "_failed")
    )


def _with_value(lost: pl.DataFrame, dataset: Dataset) -> pl.DataFrame:
    """Adds ``former_arr`` (recurring revenue at the churn: :func:`churnml.scoring.value.recurring_revenue`),
    ``lifetime_revenue``, ``orders_last_year`` and ``lifetime_value`` (module docstring)."""
    subs = dataset.get(Table.SUBSCRIPTIONS)
    payments = dataset.get(Table.PAYMENTS)
    former = recurring_revenue(
        lost.select(CLIENT_ID, CHURNED_AT),
        CHURNED_AT,
        subs,
        payments,
        dataset.first_activity(),
        dataset.tables[Table.CLIENTS],
    )
    lost = lost.join(
        former.select(CLIENT_ID, pl.col("arr").alias("former_arr")),
        on=CLIENT_ID,
        how="left",
        maintain_order="left",
    )
    if subs is not None:
        terms = lost.join(
            subs.select(CLIENT_ID, Subscriptions.START_DATE, Subscriptions.END_DATE, Subscriptions.MRR),
            on=CLIENT_ID,
        )
        cut = pl.min_horizontal(Subscriptions.END_DATE, CHURNED_AT)
        # MRR x months of every term before the churn (cut at the churn): what the terms billed
        billed = (
            terms.with_columns(
                (
                    (cut - pl.col(Subscriptions.START_DATE)).dt.total_days().clip(lower_bound=0)
                    / (365.25 / 12)
                    * pl.col(Subscriptions.MRR)
                ).alias("_term_billed")  # unnamed, it replaced end_date and the raw MRR was summed
            )
            .group_by(CLIENT_ID, CHURNED_AT)
            .agg(pl.col("_term_billed").sum().alias("_billed"))
        )
        lost = lost.join(billed, on=[CLIENT_ID, CHURNED_AT], how="left", maintain_order="left").with_columns(
            pl.col("_billed").fill_null(0.0)
        )
    else:
        lost = lost.with_columns(pl.lit(0.0, pl.Float64).alias("_billed"))
    if payments is not None:
        status = (
            pl.col(Payments.STATUS) if Payments.STATUS in payments.columns else pl.lit(None, pl.String)
        ).alias("_status")
        # money that moved, by its payment: a failed attempt (a declined card, a dunning retry) paid nothing
        moved = ~pl.col("_status").is_in(["failed"]).fill_null(False)
        paid = (
            lost.join(
                payments.filter(pl.col(Payments.PAID_AT).is_not_null()).select(
                    CLIENT_ID, Payments.PAID_AT, Payments.AMOUNT, status
                ),
                on=CLIENT_ID,
            )
            .filter((pl.col(Payments.PAID_AT) < pl.col(CHURNED_AT)) & moved)
            .group_by(CLIENT_ID, CHURNED_AT)  # a client that left twice: each absence its own value
            .agg(pl.col(Payments.AMOUNT).sum().alias("_paid"))
        )
        # the orders, by when they were placed (labels.order_placed_at: an invoice on credit terms when issued)
        placed = orders(payments).select(CLIENT_ID, order_placed_at(payments.columns).alias("_placed"))
        ordered = (
            lost.join(placed, on=CLIENT_ID)
            .filter(
                (pl.col("_placed") < pl.col(CHURNED_AT)) & (pl.col("_placed") >= pl.col(CHURNED_AT) - _YEAR)
            )
            .group_by(CLIENT_ID, CHURNED_AT)
            .agg(pl.len().alias("orders_last_year"))
        )
        lost = (
            lost.join(paid, on=[CLIENT_ID, CHURNED_AT], how="left", maintain_order="left")
            .join(ordered, on=[CLIENT_ID, CHURNED_AT], how="left", maintain_order="left")
            .with_columns(
                # the larger: a payments export that begins after the terms do (a billing system
                # adopted later) holds only the last invoices of a long relationship
                pl.max_horizontal(pl.col("_paid").fill_null(0.0), "_billed").alias("lifetime_revenue"),
                pl.col("orders_last_year").fill_null(0),
            )
            .drop("_paid")
        )
    elif subs is not None:
        lost = lost.with_columns(
            pl.col("_billed").alias("lifetime_revenue"), pl.lit(0).alias("orders_last_year")
        )
    else:  # no revenue data at all (an app's users): the value is unknown, not 0
        lost = lost.with_columns(
            pl.lit(None, pl.Float64).alias("lifetime_revenue"), pl.lit(0).alias("orders_last_year")
        )
    off = None
    if subs is not None:
        from churnml.scoring.crm import pasts_off_record

        off = pasts_off_record(subs, payments, dataset.tables[Table.CLIENTS]).get_column(CLIENT_ID)
    lost = _with_unrecorded_revenue(lost.drop("_billed"), subs, payments, off)
    if off is not None:
        # nothing on record from a client whose past is off the record (a subscriber paused when the export
        # began): its value is unknown, not 0, and unknown lets no one go
        lost = lost.with_columns(pl.col(CLIENT_ID).is_in(off.implode()).alias(OFF_RECORD)).with_columns(
            pl.when(pl.col(OFF_RECORD) & (pl.col("lifetime_revenue") <= 0))
            .then(None)
            .otherwise(pl.col("lifetime_revenue"))
            .alias("lifetime_revenue")
        )
    return lost.with_columns(
        pl.col("lifetime_revenue").clip(lower_bound=0).round(2),
        pl.col("orders_last_year").cast(pl.UInt32),
        (pl.col("lifetime_revenue").clip(lower_bound=0) * pl.col("_margin")).round(2).alias("lifetime_value"),
    )


def revenue_records_start(
    subs: pl.DataFrame | None, column: str = Subscriptions.START_DATE
) -> datetime | None:
    """The first day a revenue table records (its earliest ``column``: the terms' start, or a payments table's
    ``paid_at``; dates before 1971, placeholders, left out): before it a client's revenue is not on record.
    None without the table or a date."""
    if subs is None or subs.height == 0 or column not in subs.columns:
        return None
    starts = subs.get_column(column).drop_nulls()
    return starts.filter(starts >= datetime(1971, 1, 1)).min()  # type: ignore[return-value]


# a client whose first term (or payment) is within this many days of the table's first day was already a client
# when the records begin (its earlier terms or payments are not on record)
_RECORDS_BEGIN_DAYS = 31


# a client without terms is carried back by its payments only with this many orders in its last year or more
_REPEAT_PAYMENTS = 2


def _first_records(table: pl.DataFrame | None, column: str) -> pl.DataFrame | None:
    """``[client_id, _first, _start]``: each client's first record of ``table`` (its earliest ``column``) and
    the table's first day (:func:`revenue_records_start`); None without the table or a date."""
    start = revenue_records_start(table, column)
    if table is None or start is None:
        return None
    return (
        table.filter(pl.col(column) >= datetime(1971, 1, 1))
        .group_by(pl.col(CLIENT_ID).cast(pl.String))
        .agg(pl.col(column).min().cast(pl.Datetime("us")).alias("_first"))
        .with_columns(pl.lit(start, pl.Datetime("us")).alias("_start"))
    )


def _with_unrecorded_revenue(
    lost: pl.DataFrame,
    subs: pl.DataFrame | None,
    payments: pl.DataFrame | None = None,
    off_record: pl.Series | None = None,
) -> pl.DataFrame:
    """``lost`` with ``lifetime_revenue`` raised, for a client created before its revenue records begin and
    already paying when they begin, by its ``former_arr`` for each year from its creation to the records'
    first day: the records alone valued a 7-year client as one of a few months. Its records are its terms
    when it has any (the terms table's first day; its first term within :data:`_RECORDS_BEGIN_DAYS` of it: a
    CRM migrated in March keeps none of a 2018 account's terms), else its payments (the payments table's
    first ``paid_at``; its first payment within those days, and at least :data:`_REPEAT_PAYMENTS` orders in
    its last year: a billing export of the last year holds one year of a monthly client since 2021, while one
    payment is no yearly revenue to carry back). A client of ``off_record``
    (:func:`churnml.scoring.crm.pasts_off_record`: created more than a month before its first term, which began
    before the payments log does) was paying when its records begin too, however long after the terms table's
    first day its first term came: a billing system adopted on 2026-07-06 brings each client's running term, the
    annual ones' from a year before, the monthly ones' from June, and a monthly account since 2023 was valued at
    its last 4 months (190 for an ARR of 3,312, let go). Its years run from its creation to its first term.
    Unchanged otherwise (a client created on or after that day, one whose first term or payment came later: a
    free account that started paying, a shop's buyer of last month)."""
    terms = _first_records(subs, Subscriptions.START_DATE)
    paid = _first_records(
        None if payments is None else payments.filter(pl.col(Payments.PAID_AT).is_not_null()),
        Payments.PAID_AT,
    )
    if (terms is None and paid is None) or Clients.CREATED_AT not in lost.columns:
        return lost
    terms = None if terms is None else terms.with_columns(pl.lit(True).alias("_terms"))
    paid = None if paid is None else paid.with_columns(pl.lit(False).alias("_terms"))
    if terms is not None and paid is not None:  # a client's terms when it has any, else its payments
        records = pl.concat([terms, paid.join(terms, on=CLIENT_ID, how="anti")])
    else:
        records = terms if terms is not None else paid
    repeated = (
        pl.col("orders_last_year").fill_null(0) >= _REPEAT_PAYMENTS
        if "orders_last_year" in lost.columns
        else False
    )
    began = (pl.col("_first") <= pl.col("_start") + pl.duration(days=_RECORDS_BEGIN_DAYS)) & (
        pl.col("_terms") | repeated
    )
    off = off_record if off_record is not None else pl.Series([], dtype=pl.String)
    running = pl.col("_terms").fill_null(False) & pl.col(CLIENT_ID).is_in(off.implode())
    # a client whose own first term was running when the billing log began: its years run up to that term
    before = pl.when(began).then(pl.col("_start")).otherwise(pl.col("_first"))
    years = ((before - pl.col(Clients.CREATED_AT).cast(pl.Datetime("us"))).dt.total_days() / 365.25).clip(
        lower_bound=0
    )
    extra = (
        pl.when(began | running).then(years * pl.col("former_arr").fill_null(0)).otherwise(0.0).fill_null(0.0)
    )
    return (
        lost.join(records, on=CLIENT_ID, how="left", maintain_order="left")
        .with_columns((pl.col("lifetime_revenue") + extra).alias("lifetime_revenue"))
        .drop("_first", "_start", "_terms")
    )


def trial_use(lost: pl.DataFrame, dataset: Dataset) -> pl.DataFrame:
    """``client_id``, ``trial_active_days`` (UInt32) for the clients of ``lost`` (``client_id``, ``left_at`` or
    ``churned_at``) that **never paid** at the as-of date (:func:`churnml.scoring.crm.free_trials`: every term
    free, no payment: an expired free trial, a free plan): the distinct days with a product event from its
    first term's start to its departure, how much it used the product in its trial (0: never; null without an
    events table); and :data:`TRIAL_DAYS` (Int64, the days from that start to its departure, 1 at least: what
    those days of use are out of, :func:`trial_offer`). Grain: one row per never-paid client of ``lost``; the
    paying ones are not in it."""
    from churnml.scoring.crm import free_trials

    schema = {CLIENT_ID: pl.String, "trial_active_days": pl.UInt32, TRIAL_DAYS: pl.Int64}
    subs = dataset.get(Table.SUBSCRIPTIONS)
    trials = free_trials(subs, dataset.as_of.date(), dataset.get(Table.PAYMENTS), dataset.get(Table.CLIENTS))
    if subs is None or trials.height == 0:
        return pl.DataFrame(schema=schema)
    spans = (
        lost.select(pl.col(CLIENT_ID).cast(pl.String), departure(lost).cast(_DT).alias("_left"))
        .join(trials, on=CLIENT_ID, how="semi")
        .join(
            subs.group_by(pl.col(CLIENT_ID).cast(pl.String)).agg(
                pl.col(Subscriptions.START_DATE).min().cast(_DT).alias("_start")
            ),
            on=CLIENT_ID,
            how="left",
        )
    )
    spans = spans.with_columns(
        (pl.col("_left") - pl.col("_start"))
        .dt.total_days()
        .clip(lower_bound=1)
        .cast(pl.Int64)
        .alias(TRIAL_DAYS)
    )
    events = dataset.get(Table.EVENTS)
    if events is None:
        return spans.select(CLIENT_ID, pl.lit(None, pl.UInt32).alias("trial_active_days"), TRIAL_DAYS)
    used = (
        spans.join(
            events.select(pl.col(CLIENT_ID).cast(pl.String), pl.col(Events.TS).cast(_DT)), on=CLIENT_ID
        )
        .filter((pl.col(Events.TS) >= pl.col("_start")) & (pl.col(Events.TS) < pl.col("_left")))
        .group_by(CLIENT_ID)
        .agg(pl.col(Events.TS).dt.date().n_unique().alias("_days"))
    )
    return (
        spans.join(used, on=CLIENT_ID, how="left")
        .select(
            CLIENT_ID, pl.col("_days").fill_null(0).cast(pl.UInt32).alias("trial_active_days"), TRIAL_DAYS
        )
        .sort(CLIENT_ID)
    )


# trial_use's private column: the days of the trial its days of use are out of (not on the list)
TRIAL_DAYS = "_trial_days"


def trial_offer(cfg: WinbackConfig) -> pl.Expr:
    """What to re-offer a client that never paid, and why, from its use of the trial (``trial_active_days`` of
    its :data:`TRIAL_DAYS`): on at least ``winback.trial_used_share`` of its days it saw the product, and what
    held it back was the price or the moment: "a first-paid-month offer: it used the product on 9 of its 14
    trial days, it has seen what it would pay for; ask what held it back"; on fewer it did not get far enough
    to see its value: "a trial extension with a guided start on the key features: it used the product on 2 of
    its 14 trial days, too few to see what it would pay for"; never: "a new trial with a getting-started e-mail:
    it never used the product in its 14 trial days"; its use unknown (no events table):
    ``winback.trial_approach``. A prospect's offer, not a paying client's win-back ("ask what would make them
    come back", the unknown reason's approach, was the re-offers' approach)."""
    used, days = pl.col("trial_active_days"), pl.col(TRIAL_DAYS)
    of_days = formatted(
        "{} of its {} trial day{}",
        used,
        days,
        pl.when(days == 1).then(pl.lit("")).otherwise(pl.lit("s")),
    )
    return (
        pl.when(used.is_null() | days.is_null())
        .then(pl.lit(cfg.trial_approach))
        .when(used == 0)
        .then(
            formatted(
                "a new trial with a getting-started e-mail: it never used the product in its {} trial day{}",
                days,
                pl.when(days == 1).then(pl.lit("")).otherwise(pl.lit("s")),
            )
        )
        .when(used >= cfg.trial_used_share * days)
        .then(
            formatted(
                "a first-paid-month offer: it used the product on {}, it has seen what it would pay for; "
                "ask what held it back",
                of_days,
            )
        )
        .otherwise(
            formatted(
                "a trial extension with a guided start on the key features: it used the product on {}, too "
                "few to see what it would pay for",
                of_days,
            )
        )
    )


def _with_trial_use(lost: pl.DataFrame, dataset: Dataset) -> pl.DataFrame:
    """``lost`` with ``never_paid`` (Boolean) and ``trial_active_days`` (:func:`trial_use`; null for a paying
    client); same rows, same order."""
    use = trial_use(lost, dataset).with_columns(pl.lit(True).alias("never_paid"))
    return lost.join(
        use.with_columns(pl.col(CLIENT_ID).cast(lost.schema[CLIENT_ID])),
        on=CLIENT_ID,
        how="left",
        maintain_order="left",
    ).with_columns(pl.col("never_paid").fill_null(False))


def _with_tickets(lost: pl.DataFrame, dataset: Dataset) -> pl.DataFrame:
    counts = ("complaints_last_year", "discount_requests_last_year", "demands_last_year")
    tickets = dataset.get(Table.TICKETS)
    if tickets is None or Tickets.KIND not in tickets.columns:
        return lost.with_columns(pl.lit(0, pl.UInt32).alias(c) for c in counts)
    kind = pl.col(Tickets.KIND)
    per = (
        lost.join(tickets.select(CLIENT_ID, Tickets.OPENED_AT, Tickets.KIND), on=CLIENT_ID)
        .filter(
            (pl.col(Tickets.OPENED_AT) < pl.col(CHURNED_AT))
            & (pl.col(Tickets.OPENED_AT) >= pl.col(CHURNED_AT) - _YEAR)
        )
        .group_by(CLIENT_ID)
        .agg(
            (kind == "complaint").sum().alias(counts[0]),
            (kind == "discount_request").sum().alias(counts[1]),
            kind.is_in(["complaint", "discount_request"]).sum().alias(counts[2]),
            (kind == "cancellation_request").sum().cast(pl.Int64).alias("_notices"),
        )
        # the notice that ended it is no demand (every churner that gave notice has one, as the list's service
        # load reads a notice); the notices before it, withdrawn threats to cancel, are
        .with_columns((pl.col(counts[2]) + (pl.col("_notices") - 1).clip(lower_bound=0)).alias(counts[2]))
        .drop("_notices")
    )
    return lost.join(per, on=CLIENT_ID, how="left").with_columns(
        pl.col(c).fill_null(0).cast(pl.UInt32) for c in counts
    )


def _days_text(days: pl.Expr) -> pl.Expr:
    """A whole number of days with its noun, as text: "1 day", "12 days"."""
    return days.cast(pl.String) + pl.when(days == 1).then(pl.lit(" day")).otherwise(pl.lit(" days"))


def _money(expr: pl.Expr) -> pl.Expr:
    """A whole amount with thousands separators, as text."""
    return expr.round(0).cast(pl.Int64).map_elements(lambda v: f"{v:,}", return_dtype=pl.String)


def _percent(share: pl.Expr) -> pl.Expr:
    """A share said as a percentage with one decimal: 0.0931 -> "9.3%"."""
    return (share * 100).round(1).cast(pl.String) + pl.lit("%")


def unknown_value_note(plan: pl.DataFrame) -> str | None:
    """A sentence when no client of the win-back list has a known lifetime value (the data has neither
    payments nor subscriptions): none is let go for its value, and the attempts are ranked by their chance
    of a return, then how recently they left."""
    if plan.height == 0 or plan.get_column("lifetime_value").null_count() < plan.height:
        return None
    return (
        "no payments or subscriptions in the data: lifetime value is unknown, so no client is let go for "
        "its value and the attempts are ranked by their chance of a return, then how recently they left (add "
        "payments to weigh them by what they brought)"
    )


def value_floor_note(plan: pl.DataFrame, cfg: WinbackConfig, least: int = 10) -> str | None:
    """A sentence when most of the win-back list (half or more, ``least`` clients at least) is let go
    for its lifetime value alone, under ``min_value_ratio`` x ``cost_per_attempt``: the cost setting, not the
    clients, then decides most verdicts (the default cost is a B2B call's; a product of small subscriptions,
    a clinic's patients, then see everyone let go). It says the figures, the cost at or under which half of
    those who left clear the floor (their median lifetime value / ``min_value_ratio``) and the setting to
    change, as the zones notes do when red holds most clients (a dental chain: 619 of 850 let go for a value
    under 750, the median 80; that 53 lets half through was not said). None otherwise.
    ``plan``: :func:`winback_list`'s rows (``lifetime_value``, ``decision``)."""
    floor = cfg.min_value_ratio * cfg.cost_per_attempt
    below = plan.filter((pl.col("decision") == LET_GO) & (pl.col("lifetime_value") < floor)).height
    if plan.height < least or below < plan.height / 2:
        return None
    median = float(plan.get_column("lifetime_value").median() or 0.0)
    default = WinbackConfig.model_fields["cost_per_attempt"].default
    sized = ", the default, sized for an account manager's call" if cfg.cost_per_attempt == default else ""
    half = math.floor(median / cfg.min_value_ratio)  # whole units at or under which half clear the floor
    clears = (
        f" Half of those who left clear the floor at a cost of {half:,} or less (their median value / "
        "winback.min_value_ratio)."
        if half >= 1
        else ""
    )
    return (
        f"{below:,} of the {plan.height:,} clients who left are let go because their lifetime value is under "
        f"{cfg.min_value_ratio:g} x winback.cost_per_attempt ({cfg.cost_per_attempt:,.0f}{sized}), i.e. "
        f"{floor:,.0f}; the median lifetime value of those who left is {median:,.0f}: the cost setting, not the "
        f"clients, decides most verdicts.{clears} If an attempt costs you less (an email, a discount code, a "
        "call from the front desk), set winback.cost_per_attempt to what it costs"
    )


def rhythm_gaps(payments: pl.DataFrame | None, as_of: date | None = None) -> pl.DataFrame:
    """``client_id``, ``_usual_gap`` (Float64, days): per client with 3 order days or more, the median gap
    between its order days (:func:`churnml.scoring.rules.order_rhythm_days`, the ``no_activity`` rule's
    rhythm), its orders dated when placed (:func:`churnml.labels.order_placed_at`); with ``as_of``,
    ``_season_gap`` (Float64, days): how long its orders paused across the same day 52 weeks before it
    (:func:`churnml.scoring.rules.seasonal_gap_days`, the rule's season). Grain: one row per client with either."""
    from churnml.scoring.rules import SEASON_GAP, USUAL_GAP, order_rhythm_days, seasonal_gap_days

    schema = {CLIENT_ID: pl.String, "_usual_gap": pl.Float64, "_season_gap": pl.Float64}
    if payments is None or payments.height == 0:
        return pl.DataFrame(schema=schema)
    stamps = orders(payments).select(pl.col(CLIENT_ID), order_placed_at(payments.columns).alias("t"))
    usual = order_rhythm_days(stamps.lazy()).rename({USUAL_GAP: "_usual_gap"})
    if as_of is None:
        return usual.with_columns(pl.lit(None, pl.Float64).alias("_season_gap"))
    cut = datetime(as_of.year, as_of.month, as_of.day)
    season = seasonal_gap_days(stamps.lazy().with_columns(pl.col("t").cast(pl.Datetime("us"))), cut)
    return usual.join(
        season.select(pl.col(CLIENT_ID), pl.col(SEASON_GAP).cast(pl.Float64).alias("_season_gap")),
        on=CLIENT_ID,
        how="full",
        coalesce=True,
    ).cast(schema)


def _on_rhythm(rhythm: float) -> pl.Expr:
    """True for a client gone by silence alone (its departure, ``left_at``, its last order before the
    churn: the inactivity label's churns, not a ``churns`` record nor a lapsed term; no reason known) fewer
    days than ``rhythm`` x its usual gap between orders (``_usual_gap``) ago: a slow buyer on its own
    rhythm, not one lost (0: never)."""
    if rhythm <= 0:
        return pl.lit(False)
    silent = (pl.col(LEFT_AT) < pl.col(CHURNED_AT)) & pl.col(Churns.REASON).is_null()
    return (silent & (pl.col("days_since_churn") < rhythm * pl.col("_usual_gap"))).fill_null(False)


def _on_season(rhythm: float) -> pl.Expr:
    """True for a client gone by silence alone (as :func:`_on_rhythm`), with a usual gap (``_usual_gap``), no
    longer ago than its orders paused across the same day a year earlier (``_season_gap``): a buyer of every
    spring in its winter, not one lost (``rhythm`` 0: never, as the ``no_activity`` rule then reads no season)."""
    if rhythm <= 0:
        return pl.lit(False)
    silent = (pl.col(LEFT_AT) < pl.col(CHURNED_AT)) & pl.col(Churns.REASON).is_null()
    # with a rhythm (3 order days or more), as the rule reads it: one pause is no season
    season = pl.col("_usual_gap").is_not_null() & (pl.col("days_since_churn") <= pl.col("_season_gap"))
    return (silent & season).fill_null(False)


# _with_value's private column: the client's past is off the record (crm.pasts_off_record), its value unknown
OFF_RECORD = "_off_record"


def _decisions(lost: pl.DataFrame, cfg: WinbackConfig, rhythm: float = 0.0) -> pl.DataFrame:
    floor = cfg.min_value_ratio * cfg.cost_per_attempt
    on_rhythm = _on_rhythm(rhythm)
    on_season = _on_season(rhythm)
    no_contact = pl.col(Churns.REASON).is_in(list(cfg.no_contact_reasons)).fill_null(False)
    no_attempt = pl.col(Churns.REASON).is_in(list(cfg.no_attempt_reasons)).fill_null(False)
    # complaints and requests weigh against the orders of the same year (the list's complaints rule's test)
    orders = pl.col("orders_last_year")
    toxic = (
        (pl.col("complaints_last_year") >= cfg.repeated_complaints)
        & (pl.col("discount_requests_last_year") >= cfg.discount_demands)
        & complaints_beyond_use(
            pl.col("complaints_last_year") + pl.col("discount_requests_last_year"),
            orders,
            cfg.demands_per_order,
        )
    )
    demanding = (
        (pl.col("tenure_days") < cfg.low_loyalty_days)
        & (pl.col("demands_last_year") >= cfg.high_demands)
        & complaints_beyond_use(pl.col("demands_last_year"), orders, cfg.demands_per_order)
    )
    # left owing months of bills (debts_at_departure): a debt to recover, never a card reminder nor an offer
    owing = (
        (pl.col("owed_failures") >= cfg.debt_failures).fill_null(False)
        if cfg.debt_failures > 0 and "owed_failures" in lost.columns
        else pl.lit(False)
    )
    immediate = pl.col(Churns.REASON).is_in(list(cfg.immediate_reasons)).fill_null(False) & ~owing
    # an unknown value lets no one go; a failed card's reminder costs next to nothing: no value floor
    cheap = (pl.col("lifetime_value") < floor).fill_null(False) & ~immediate
    # never paid (an expired free trial): its value is 0 because it has not converted yet, not because it is
    # worth nothing; an e-mail re-offer costs next to nothing (a trial whose first charge failed: the reminder)
    trial = pl.col("never_paid").fill_null(False) & ~immediate
    # an expected value (lifetime value x the measured chance of a return) under the cost of an attempt loses
    # money on average: wait for the day the chance rises enough (attempt_days), or none: keep in touch
    short = (pl.col("_short") if "_short" in lost.columns else pl.lit(False)) & ~immediate
    later = pl.col("_attempt_from").is_not_null() if "_attempt_from" in lost.columns else pl.lit(False)
    off_record = pl.col(OFF_RECORD).fill_null(False) if OFF_RECORD in lost.columns else pl.lit(False)
    decision = (
        pl.when(no_contact)
        .then(pl.lit(NO_CONTACT))
        .when(no_attempt)
        .then(pl.lit(KEEP_IN_TOUCH))
        .when(on_rhythm | on_season)
        .then(pl.lit(WAIT))
        .when(toxic | demanding | owing)
        .then(pl.lit(LET_GO))
        .when(trial)
        .then(pl.lit(RE_OFFER))
        .when(cheap)
        .then(pl.lit(LET_GO))
        .when(short & later)
        .then(pl.lit(WAIT))
        .when(short)
        .then(pl.lit(KEEP_IN_TOUCH))
        .otherwise(pl.lit(ATTEMPT))
    )
    value_text = _money(pl.col("lifetime_value"))
    floor_text = f"{floor:,.0f} ({cfg.min_value_ratio:g} x the win-back cost of {cfg.cost_per_attempt:,.0f})"
    firsts = pl.concat_str(
        [
            pl.when(pl.col("regular")).then(
                pl.lit("regular customer (")
                + pl.col("orders_last_year").cast(pl.String)
                + pl.lit(" payments in its last year)")
            ),
            pl.when(pl.col("high_value")).then(pl.lit("high value")),
            pl.when(pl.col("recent_clean")).then(pl.lit("left recently without complaints")),
        ],
        separator=", ",
        ignore_nulls=True,
    )
    reason = (
        pl.when(no_contact)
        .then(
            pl.lit("the client no longer exists (")
            + pl.col(Churns.REASON)
            + pl.lit("): no contact of any kind; close the record")
        )
        .when(no_attempt)
        .then(
            pl.lit("left for a reason we cannot answer (")
            + pl.col(Churns.REASON)
            + pl.lit("): no win-back attempt, keep a soft relationship")
        )
        .when(on_rhythm)
        .then(
            pl.lit("on its own rhythm: usually ")
            + _days_text(pl.col("_usual_gap").round(0).cast(pl.Int64))
            + pl.lit(" between orders, its last order ")
            + _days_text(pl.col("days_since_churn"))
            + pl.lit(f" ago; no win-back before {rhythm:g} x its usual gap (day ")
            + (pl.lit(rhythm) * pl.col("_usual_gap")).ceil().cast(pl.Int64).cast(pl.String)
            + pl.lit(")")
        )
        .when(on_season)
        .then(
            pl.lit("in its season's pause: its orders paused ")
            + pl.col("_season_gap").cast(pl.Int64).cast(pl.String)
            + pl.lit(" days across this day a year ago, its last order ")
            + pl.col("days_since_churn").cast(pl.String)
            + pl.lit(" days ago; no win-back before day ")
            + (pl.col("_season_gap").cast(pl.Int64) + 1).cast(pl.String)
        )
        .when(owing)
        .then(
            pl.lit("left owing ")
            + pl.col("owed_failures").cast(pl.String)
            + pl.lit(" failed payments")
            + pl.when(pl.col("owed").is_not_null())
            .then(pl.lit(" of ") + _money(pl.col("owed")))
            .otherwise(pl.lit(""))
            + pl.lit(" that no payment settled: recover the debt (finance) before any win-back offer")
        )
        .when(toxic)
        .then(
            pl.lit("repeated complaints (")
            + pl.col("complaints_last_year").cast(pl.String)
            + pl.lit(") and discount demands (")
            + pl.col("discount_requests_last_year").cast(pl.String)
            + pl.lit(") in its last year: let go gracefully")
        )
        .when(demanding)
        .then(
            pl.lit("low loyalty (a client for ")
            + pl.col("tenure_days").cast(pl.String)
            + pl.lit(" days) with high demands (")
            + pl.col("demands_last_year").cast(pl.String)
            + pl.lit(" complaints, discount or cancellation requests in its last year)")
        )
        .when(trial)
        .then(
            pl.lit("never paid: its free trial (or free plan) ended without a payment; ")
            + pl.when(pl.col("trial_active_days") > 0)
            .then(
                pl.lit("it used the product on ")
                + pl.col("trial_active_days").cast(pl.String)
                + pl.when(pl.col("trial_active_days") == 1).then(pl.lit(" day")).otherwise(pl.lit(" days"))
                + pl.lit(" of it: ")
            )
            .when(pl.col("trial_active_days") == 0)
            .then(pl.lit("it never used the product in it: "))
            .otherwise(pl.lit("its use of it is unknown (no events): "))
            + pl.lit("a prospect for a low-cost re-offer, not an account to close")
            + pl.when(pl.col("trial_active_days") > 0)
            .then(pl.lit(" (re-offers rank by those days)"))
            .when(pl.col("trial_active_days") == 0)
            .then(pl.lit(" (ranked after those who used it)"))
            .otherwise(pl.lit(""))
        )
        .when(cheap)
        .then(pl.lit("lifetime value ") + value_text + pl.lit(f" is below {floor_text}"))
        .when(short)
        .then(
            pl.lit("a return is unlikely now: ")
            + _percent(pl.col("return_chance"))
            + pl.lit(
                f" of past absences this long gone came back within {cfg.follow_up_days} days more, an expected "
                "value of "
            )
            + _money(pl.col("expected_value"))
            + pl.lit(f" against a win-back cost of {cfg.cost_per_attempt:,.0f}; ")
            + pl.when(later)
            .then(
                pl.lit("no attempt before day ")
                + pl.col("_attempt_from").cast(pl.String)
                + pl.lit(" after leaving, when ")
                + _percent(pl.col("_attempt_chance"))
                + pl.lit(f" of those still gone then came back within {cfg.follow_up_days} days more")
            )
            .otherwise(pl.lit("no later day measured does better: no attempt, keep a soft relationship"))
        )
        .otherwise(
            pl.when(pl.col("lifetime_value").is_null() & off_record)
            .then(pl.lit("lifetime value unknown (its payments before the records begin are not in them)"))
            .when(pl.col("lifetime_value").is_null())
            .then(pl.lit("lifetime value unknown (no payments or subscriptions)"))
            .when(immediate)
            .then(
                pl.lit("involuntary churn (")
                + pl.col(Churns.REASON)
                + pl.lit("): the reminder costs next to nothing, whatever the lifetime value")
            )
            .otherwise(pl.lit("lifetime value ") + value_text + pl.lit(f" is at least {floor_text}"))
            + pl.when(pl.col("_first")).then(pl.lit("; a playbook pick: ") + firsts).otherwise(pl.lit(""))
        )
    )
    return lost.with_columns(decision.alias("decision"), reason.alias("decision_reason"))


# the list's columns after the client's own ones (name, owner, segment when the clients table has them)
_COLUMNS = (
    CHURNED_AT,
    LEFT_AT,
    "days_since_churn",
    "stage",
    Churns.REASON,
    "reason_segment",
    "approach",
    "tenure_days",
    "former_arr",
    "lifetime_revenue",
    "lifetime_value",
    "orders_last_year",
    "complaints_last_year",
    "discount_requests_last_year",
    "demands_last_year",
    "never_paid",
    "trial_active_days",
    "regular",
    "high_value",
    "recent_clean",
    "decision",
    "decision_reason",
    "return_chance",
    "expected_value",
    "return_chance_basis",
    "first",
    "priority",
    "action",
    "cadence",
)


def _lost_with_history(
    dataset: Dataset, gone: pl.DataFrame, default_margin: float, grace_days: int, failed_payment_days: int
) -> tuple[pl.DataFrame, list[str]]:
    """The clients still gone among ``gone`` (:func:`absences`) with the client's own columns,
    ``created_at``, ``_margin``, the churn reason, the value columns and the ticket counts of its last
    year; and the names of the own columns found."""
    lost = lost_in(gone)
    clients = dataset.tables[Table.CLIENTS]
    extra = [c for c in (Clients.NAME, Clients.OWNER, Clients.SEGMENT) if c in clients.columns]
    margin = (
        pl.col(Clients.MARGIN).cast(pl.Float64).fill_null(default_margin)
        if Clients.MARGIN in clients.columns
        else pl.lit(default_margin)
    )
    lost = lost.join(
        # a placeholder created_at (1900-01-01) is unknown: no tenure, no years of revenue carried back
        clients.select(CLIENT_ID, *extra, known_time(Clients.CREATED_AT), margin.alias("_margin")),
        on=CLIENT_ID,
        how="left",
    )
    reasons = with_reasons(lost, dataset, grace_days, failed_payment_days)
    return _with_trial_use(_with_tickets(_with_value(reasons, dataset), dataset), dataset), extra


def _stage_index(edges: tuple[int, ...]) -> pl.Expr:
    """Index of the stage ``days_since_churn`` falls in (0 = up to ``edges[0]`` days)."""
    index = pl.lit(len(edges))
    for i in reversed(range(len(edges))):
        index = pl.when(pl.col("days_since_churn") <= edges[i]).then(pl.lit(i)).otherwise(index)
    return index


def _with_stage_and_flags(lost: pl.DataFrame, cfg: WinbackConfig, as_of: datetime) -> pl.DataFrame:
    """Adds ``days_since_churn``, ``tenure_days``, ``reason_segment``, ``approach``, ``stage`` (with
    ``_stage`` and ``_stage_action``), the flags ``regular``, ``high_value``, ``recent_clean`` and
    ``_first`` (any of them)."""
    edges = cfg.stages
    approaches = {str(k): v for k, v in cfg.approaches.items()}
    approach = (
        pl.col(Churns.REASON).replace_strict(approaches, default=cfg.default_approach, return_dtype=pl.String)
        if approaches
        else pl.lit(cfg.default_approach)
    ).fill_null(cfg.default_approach)
    value_cut = (
        lost.get_column("lifetime_value").quantile(1 - cfg.high_value_share, "higher")
        if lost.height and cfg.high_value_share > 0
        else None
    )
    recent_days = edges[1] if len(edges) > 1 else edges[0]
    return (
        lost.with_columns(
            # from the departure: a shop's client that stopped ordering 89 days ago is no "0-30 watch"
            (pl.lit(as_of, _DT) - departure(lost)).dt.total_days().alias("days_since_churn"),
            (departure(lost) - pl.col(Clients.CREATED_AT))
            .dt.total_days()
            .clip(lower_bound=0)
            .alias("tenure_days"),
            pl.col(Churns.REASON).fill_null(UNKNOWN_REASON).alias("reason_segment"),
            approach.alias("approach"),
        )
        .with_columns(_stage_index(edges).alias("_stage"))
        .with_columns(
            pl.col("_stage")
            .replace_strict(dict(enumerate(stage_labels(edges))), return_dtype=pl.String)
            .alias("stage"),
            pl.col("_stage")
            .replace_strict(dict(enumerate(cfg.stage_actions)), return_dtype=pl.String)
            .alias("_stage_action"),
            (pl.col("orders_last_year") >= cfg.regular_orders).alias("regular"),
            (
                pl.lit(False)
                if value_cut is None
                else (pl.col("lifetime_value") >= value_cut) & (pl.col("lifetime_value") > 0)
            ).alias("high_value"),
            ((pl.col("days_since_churn") <= recent_days) & (pl.col("complaints_last_year") == 0)).alias(
                "recent_clean"
            ),
        )
        .with_columns((pl.col("regular") | pl.col("high_value") | pl.col("recent_clean")).alias("_first"))
    )


def _with_actions(lost: pl.DataFrame, cfg: WinbackConfig) -> pl.DataFrame:
    """Adds ``first``, ``action`` and ``cadence`` from the decision and the stage."""
    attempt = pl.col("decision") == ATTEMPT
    lo, hi = cfg.call_gap_days
    gap = f"{lo}" if lo == hi else f"{lo}-{hi}"
    immediate = pl.col(Churns.REASON).is_in(list(cfg.immediate_reasons)).fill_null(False)
    # a re-offer's approach is the prospect's offer (trial_offer), not the reason's win-back approach
    re_offer = pl.col("decision") == RE_OFFER
    lost = lost.with_columns(
        pl.when(re_offer).then(trial_offer(cfg)).otherwise(pl.col("approach")).alias("approach")
    )
    return lost.with_columns(
        (attempt & pl.col("_first")).alias("first"),
        pl.when(attempt & (pl.col("_stage") == 0) & immediate)
        .then(pl.lit("now: ") + pl.col("approach"))
        .when(attempt & (pl.col("_stage") == 0))
        .then(
            pl.col("_stage_action")
            + pl.lit(f" that sells nothing; from day {cfg.stages[0] + 1}: ")
            + pl.col("approach")
        )
        .when(attempt)
        .then(pl.col("_stage_action") + pl.lit(": ") + pl.col("approach"))
        .when(re_offer)
        .then(pl.lit("re-offer: ") + pl.col("approach"))
        .when(pl.col("decision") == KEEP_IN_TOUCH)
        .then(pl.lit("no attempt: keep a soft relationship (newsletter, season's greetings)"))
        .when(pl.col("decision") == NO_CONTACT)
        .then(pl.lit("no contact: remove from mailings and calls"))
        .when((pl.col("decision") == WAIT) & pl.col("_attempt_from").is_not_null())
        .then(
            pl.lit("no attempt yet: from day ")
            + pl.col("_attempt_from").cast(pl.String)
            + pl.lit(": ")
            + pl.col("approach")
        )
        .when(pl.col("decision") == WAIT)
        .then(pl.lit("no attempt yet: its next order is not overdue by its own rhythm; the usual contact"))
        .otherwise(pl.lit("no attempt: let go gracefully (close the account cleanly, no offers)"))
        .alias("action"),
        pl.when(attempt)
        .then(
            pl.lit(
                f"the first contact sells nothing; contacts (a call, an e-mail) no more often than every {gap} days"
            )
        )
        .when(pl.col("decision") == RE_OFFER)
        .then(pl.lit(f"e-mails only, never a sales call; no more often than every {gap} days"))
        .when(pl.col("decision") == KEEP_IN_TOUCH)
        .then(pl.lit("a few times a year, never a sales call"))
        .when(pl.col("decision") == WAIT)
        .then(pl.lit("the account's usual one"))
        .otherwise(pl.lit("none"))
        .alias("cadence"),
    )


def _return_hazard(
    days_gone: np.ndarray, came_back: np.ndarray, last_day: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per day ``t`` = 0..``last_day``: the absences at risk (still gone and watched up to day ``t``: a
    return on day ``t`` or later, or watched at least ``t`` days) and the share of them that came back
    on day ``t`` (0 when none is at risk). ``days_gone``: days to the return, else days watched."""
    days = np.clip(days_gone, 0, last_day)
    at_risk = np.cumsum(np.bincount(days, minlength=last_day + 1)[::-1])[::-1]
    back = np.bincount(days[came_back], minlength=last_day + 1)
    return at_risk, np.divide(back, at_risk, out=np.zeros(last_day + 1), where=at_risk > 0)


def _partial_basis(watched: int, day: int, window: int, longest: int, share: float) -> str:
    """Why a client gone ``day`` days has no chance measured when the past absences still gone then were
    watched ``longest`` days at most, short of ``day + window``: the share back in the days covered."""
    return (
        f"past absences were watched {longest:,} days at most, none {window} days beyond {day} days after "
        f"leaving: the chance of a return is unknown; of the {watched:,} still gone {day} days, {share:.1%} "
        f"came back in the {longest - day:,} days covered"
    )


def return_chances(
    gone: pl.DataFrame, lost: pl.DataFrame, as_of: datetime, cfg: WinbackConfig
) -> pl.DataFrame:
    """The chance that a client gone ``days_since_churn`` days comes back within ``winback.follow_up_days``
    more, measured on the data's own past absences by days since leaving and reason.

    ``gone``: every absence (:func:`absences`) with ``reason_segment``; ``lost``: the clients still gone
    (``days_since_churn``, ``reason_segment``). Grain: one row per (``days_since_churn``,
    ``reason_segment``) of ``lost``. The chance is a Kaplan-Meier estimate: of the absences still gone
    that day, the share that came back within the follow-up, each absence counted for the days it has been
    watched (a churn of last month counts for its month, so recent churns do not look like no-returns).
    A reason's own estimate is smoothed towards that of all reasons with the weight of
    ``winback.return_prior`` absences: (at risk x its chance + prior x all's chance) / (at risk + prior).
    Columns: ``days_since_churn``, ``reason_segment``, ``watched`` (past absences still gone and watched
    beyond that day), ``watched_of_reason``, ``return_chance`` and ``return_chance_basis`` (in words).
    Null chance when no past absence came back at all (the data holds no return) or none has been watched
    ``follow_up_days`` beyond that day: past the last day watched no absence is at risk and the hazard
    reads 0, which measured nothing (the basis gives the share back in the days covered). A reason whose
    own absences were not watched that long takes all reasons' chance.
    """
    window, prior = cfg.follow_up_days, cfg.return_prior
    schema = {
        "days_since_churn": pl.Int64,
        "reason_segment": pl.String,
        "watched": pl.Int64,
        "watched_of_reason": pl.Int64,
        "return_chance": pl.Float64,
        "return_chance_basis": pl.String,
    }
    asked = lost.select(pl.col("days_since_churn").cast(pl.Int64), "reason_segment").unique().sort(pl.all())
    watched_days = (
        pl.when(pl.col("returned_at").is_null())
        .then(pl.lit(as_of, _DT) - departure(gone))
        .otherwise(pl.col("returned_at") - departure(gone))
        .dt.total_days()
        .clip(lower_bound=0)
    )
    past = gone.select(
        watched_days.alias("_days"), pl.col("returned_at").is_not_null().alias("_back"), "reason_segment"
    )
    if not asked.height:
        return pl.DataFrame(schema=schema)
    last_day = (
        int(max(past.get_column("_days").max() or 0, asked.get_column("days_since_churn").max() or 0))
        + window
        + 1
    )

    def hazard(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return _return_hazard(
            frame.get_column("_days").to_numpy(), frame.get_column("_back").to_numpy(), last_day
        )

    overall = hazard(past)
    by_reason = {r: hazard(f) for (r,), f in past.group_by("reason_segment")}
    any_return = bool(past.get_column("_back").any())
    longest = int(past.get_column("_days").max() or 0)
    rows = []
    for day, reason in asked.iter_rows():
        d = max(int(day), 0)
        span = slice(d + 1, d + window + 1)
        watched = int(overall[0][d + 1])
        if not any_return or not watched:
            why = (
                "no past absence came back in the data"
                if not any_return
                else f"no past absence has been watched beyond {d} days after leaving"
            )
            rows.append((day, reason, watched, 0, None, f"{why}: the chance of a return is unknown"))
            continue
        chance_all = 1.0 - float(np.prod(1.0 - overall[1][span]))
        if not overall[0][d + window]:  # nobody watched to the window's end: past it the hazard reads 0
            rows.append(
                (day, reason, watched, 0, None, _partial_basis(watched, d, window, longest, chance_all))
            )
            continue
        at_risk, rate = by_reason.get(
            reason, (np.zeros(last_day + 1, dtype=np.int64), np.zeros(last_day + 1))
        )
        n = int(at_risk[d + 1])
        own = 1.0 - float(np.prod(1.0 - rate[span]))
        if n and not at_risk[d + window]:  # the reason's own absences not watched to the window's end
            chance = chance_all
            own_text = (
                f"none of the {n:,} for {reason} watched {window} days more, so all reasons': {chance:.1%}"
            )
        else:
            chance = (n * own + prior * chance_all) / (n + prior) if n + prior > 0 else chance_all
            own_text = f"of the {n:,} for {reason} {own:.1%}: {chance:.1%} (smoothed with {prior:g})"
        basis = (
            f"of {watched:,} past absences still gone {d} days after leaving, {chance_all:.1%} came back within "
            f"{window} days more; {own_text}"
        )
        rows.append((day, reason, watched, n, chance, basis))
    return pl.DataFrame(rows, schema=schema, orient="row")


def attempt_days(gone: pl.DataFrame, lost: pl.DataFrame, as_of: datetime, cfg: WinbackConfig) -> pl.DataFrame:
    """When an attempt is worth its cost, by the measured chance of a return (:func:`return_chances`).

    ``gone``: every absence (:func:`absences`) with ``reason_segment``; ``lost``: the clients still gone
    (``client_id``, ``days_since_churn``, ``reason_segment``, ``lifetime_value``, ``return_chance`` and the
    past absences it was measured on, ``watched``). Grain: one row per client of ``lost`` whose expected value
    is below ``winback.cost_per_attempt`` even at the most its chance can be (lifetime value x the upper bound
    of the 95% Wilson interval of ``return_chance`` over ``watched`` absences): a client 491 days gone whom no
    past absence that far gone ever came back from, or a switcher 100 days gone whose kind come back a year after
    leaving (when a rival's fixed term ends).
    Columns: ``client_id``, ``_attempt_from`` (the first later day since leaving whose measured chance gives an
    expected value of the cost or more, when one does: no attempt before it; null: none does, so no attempt)
    and ``_attempt_chance`` (the chance on that day)."""
    # a lazy import: interventions reads this module
    from churnml.reporting.interventions import wilson_interval

    schema = {CLIENT_ID: pl.String, "_attempt_from": pl.Int64, "_attempt_chance": pl.Float64}
    cost = cfg.cost_per_attempt
    measured = lost.filter(pl.col("return_chance").is_not_null() & (pl.col("lifetime_value") > 0))
    # the most the chance can be on the absences it was measured on (``watched``): a chance of 0.0% read on 3
    # absences is no evidence against an attempt, on 1,121 it is
    highest = [
        wilson_interval(chance * watched, watched)[1] if watched else 1.0
        for chance, watched in zip(
            measured.get_column("return_chance").to_list(),
            measured.get_column("watched").to_list(),
            strict=True,
        )
    ]
    short = (
        measured.with_columns(pl.Series("_highest", highest, dtype=pl.Float64))
        .filter(pl.col("_highest") * pl.col("lifetime_value") < cost)
        .select(CLIENT_ID, pl.col("days_since_churn").cast(pl.Int64), "reason_segment", "lifetime_value")
    )
    if not short.height:
        return pl.DataFrame(schema=schema)
    first = int(short.get_column("days_since_churn").min()) + 1
    # a chance is measured up to the longest watch less the follow-up: at most the longest gone client's days
    last = int(short.get_column("days_since_churn").max()) + 2 * cfg.follow_up_days
    grid = (
        short.select("reason_segment")
        .unique()
        .join(
            pl.DataFrame(
                {"days_since_churn": list(range(first, last + 1))}, schema={"days_since_churn": pl.Int64}
            ),
            how="cross",
        )
    )
    chances = (
        return_chances(gone, grid, as_of, cfg)
        .filter(pl.col("return_chance").is_not_null())
        .select(
            pl.col("days_since_churn").alias("_day"),
            "reason_segment",
            pl.col("return_chance").alias("_chance"),
        )
    )
    # per client, the first measured day after its own whose chance x its value pays the cost: one array of days
    # and chances per reason (a join of every client with every day would hold clients x days rows)
    by_reason = {
        reason: (frame.get_column("_day").to_numpy(), frame.get_column("_chance").to_numpy())
        for (reason,), frame in ((k, f.sort("_day")) for k, f in chances.group_by("reason_segment"))
    }
    found: list[tuple[str, int | None, float | None]] = []
    for client, day, reason, value in short.iter_rows():
        days, chance = by_reason.get(reason, (np.zeros(0, dtype=np.int64), np.zeros(0)))
        pays = np.flatnonzero((days > day) & (chance * value >= cost))
        found.append(
            (client, int(days[pays[0]]), float(chance[pays[0]])) if pays.size else (client, None, None)
        )
    later = pl.DataFrame(found, schema=schema, orient="row")
    return (
        short.select(CLIENT_ID)
        .join(later, on=CLIENT_ID, how="left")
        .select(
            pl.col(CLIENT_ID),
            pl.col("_attempt_from").cast(pl.Int64),
            pl.col("_attempt_chance").cast(pl.Float64),
        )
    )


def _with_priority(lost: pl.DataFrame) -> pl.DataFrame:
    """Adds ``priority``: 1.. over the attempts by ``expected_value`` (the chance of a return x lifetime
    value), then the chance alone (all that ranks them when no value is known), then lifetime value (all
    that ranks them when no chance is), then the most recently gone; after them the re-offers (never paid) by
    their days of use in the trial (``trial_active_days``), then the most recently gone."""
    attempts = lost.filter(pl.col("decision") == ATTEMPT).sort(
        ["expected_value", "return_chance", "lifetime_value", "days_since_churn", CLIENT_ID],
        descending=[True, True, True, False, False],
        nulls_last=True,
    )
    use = pl.col("trial_active_days") if "trial_active_days" in lost.columns else pl.lit(None, pl.UInt32)
    offers = (
        lost.filter(pl.col("decision") == RE_OFFER)
        .with_columns(use.alias("_use"))
        .sort(["_use", "days_since_churn", CLIENT_ID], descending=[True, False, False], nulls_last=True)
    )
    ranked = (
        pl.concat([attempts.select(CLIENT_ID), offers.select(CLIENT_ID)])
        .with_row_index("priority", offset=1)
        .select(CLIENT_ID, pl.col("priority").cast(pl.UInt32))
    )
    return lost.join(ranked, on=CLIENT_ID, how="left")


def winback_list(
    dataset: Dataset,
    churns: pl.DataFrame,
    cfg: WinbackConfig,
    default_margin: float,
    grace_days: int = GRACE_DAYS,
    source: str = "auto",
    failed_payment_days: int = FAILED_PAYMENT_DAYS,
    rhythm: float = 0.0,
) -> pl.DataFrame:
    """The win-back list at ``dataset.as_of`` (see the module docstring for columns and rules).

    ``churns``: churn events of the label source ``source`` (``label.source``; ``client_id``, ``churned_at``;
    ``labels.churn_dates``), whose return rule decides who came back (:func:`absences`); ``grace_days``
    (``label.grace_days``): the wind-down after a churns record in which activity is no return;
    ``failed_payment_days`` (``rules.payment_trouble_days``): failed payments that close to the lapse make a
    churn without a recorded reason an involuntary one (:func:`with_reasons`); ``rhythm``
    (``rules.no_activity_rhythm``): a client gone by silence (the inactivity label) fewer days than that
    many times its usual gap between orders waits (decision ``wait``; 0: none waits).
    """
    gone = absences(dataset, churns, grace_days, source)
    lost, extra = _lost_with_history(dataset, gone, default_margin, grace_days, failed_payment_days)
    lost = _with_stage_and_flags(lost, cfg, dataset.as_of).join(
        debts_at_departure(lost, dataset, grace_days).with_columns(
            pl.col(CLIENT_ID).cast(lost.schema[CLIENT_ID])
        ),
        on=CLIENT_ID,
        how="left",
    )
    reasons = with_reasons(gone, dataset, grace_days, failed_payment_days).with_columns(
        pl.col(Churns.REASON).fill_null(UNKNOWN_REASON).alias("reason_segment")
    )
    chances = return_chances(reasons, lost, dataset.as_of, cfg).select(
        "days_since_churn", "reason_segment", "return_chance", "return_chance_basis", "watched"
    )
    lost = lost.join(chances, on=["days_since_churn", "reason_segment"], how="left").with_columns(
        (pl.col("return_chance") * pl.col("lifetime_value")).round(2).alias("expected_value")
    )
    lost = lost.join(rhythm_gaps(dataset.get(Table.PAYMENTS), dataset.as_of), on=CLIENT_ID, how="left")
    short = (
        attempt_days(reasons, lost, dataset.as_of, cfg)
        if cfg.attempt_by_chance
        else pl.DataFrame(
            schema={CLIENT_ID: pl.String, "_attempt_from": pl.Int64, "_attempt_chance": pl.Float64}
        )
    )
    lost = lost.join(short.with_columns(pl.lit(True).alias("_short")), on=CLIENT_ID, how="left").with_columns(
        pl.col("_short").fill_null(False)
    )
    lost = _with_priority(_with_actions(_decisions(lost, cfg, rhythm), cfg))
    return lost.sort(
        ["priority", "lifetime_value", CLIENT_ID], descending=[False, True, False], nulls_last=True
    ).select(CLIENT_ID, *extra, *_COLUMNS)
