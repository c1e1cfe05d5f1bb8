"""What a client is worth: ARR, lifetime value, value tiers, revenue at risk and the priority rank.

Grain: one row per client at one as-of date. Every function is pure (frames and numbers in, a new
frame or array out) and uses only data strictly before the as-of date.

Definitions (the figures an account manager sees):

- ``arr``: annual recurring revenue (:func:`recurring_revenue`, the one definition the metrics and the
  win-back list use too). With subscriptions: 12 x the summed ``mrr`` of the terms that are running at
  the as-of date (started before it, scheduled to end on or after it; add-ons count), plus the year's orders
  that are no charge of a term (:func:`_beyond_terms`: a plan member's treatments, an overage invoice). A client with no
  running term (or a dataset without subscriptions) gets the trailing 12 months of its orders instead,
  each dated when it was placed (an invoice at its ``issued_at``, paid yet or not; a payment without one at
  its ``paid_at``: :func:`_revenue`), refunds and applied credit notes netted at their ``paid_at``, floored
  at 0; failed ones do not count. On
  the weekly list a client **in grace** (its last term ended within ``label.grace_days``, not renewed
  yet) keeps the ARR of the terms it had when it ended (:func:`annual_recurring_revenue`): that is what
  is at stake; a client **renewed after a gap** (no running term, its next term booked ahead: "Renewed")
  gets the ARR of its booked terms (:func:`booked_terms_arr`).
- ``lifetime_value`` = margin x ARR x the years a client stays *if retained*: what keeping the client is
  worth, apart from its risk (a client at risk is not worth less to keep; it is more likely to be lost).
  The years are ``value.retained_years``, or by default the expected lifetime at the portfolio's revenue
  churn rate over the horizon: the mean churn probability weighted by ARR (``sum(p x ARR) / sum(ARR)``, the
  share of the ARR expected to leave; the plain mean when no client has ARR), as revenue retention reads it.
  Not the share of heads: a car-sharing service's one-off riders (p near 1, a few trips' worth of ARR)
  read its commuters' lifetime value as 0.15 years of their ARR; nor the median, which read 10 years for
  annual contracts losing 15% a year, where only the clients near their renewal can leave within 90 days.
  ``p`` over ``horizon_days`` implies a constant annual hazard
  ``h = -ln(1 - p) * 365.25 / horizon_days`` and an expected lifetime of ``1 / h`` years, capped at
  ``value.max_lifetime_years``. The same years apply to every client, so the tier ranks margin x ARR.
  The margin is ``clients.margin`` or ``value.default_margin``.
- ``revenue_at_risk`` = ``p`` x ARR: the expected ARR lost within the horizon.
- ``value_tier``: A = the top ``tier_a_share`` of the clients with a value (a lifetime value above 0) by
  lifetime value, or strategic at or above ``tier_a_strategic``; B = the next clients up to ``tier_b_share``
  (a cumulative share of them); the rest C. Equal values share a tier: a tie group ranks at the middle of the
  places it holds. A client without any known value (0: no payment or term on record, e.g. an app's free
  users, a free trial that never paid) is C unless strategic, and takes no place in the shares
  (:func:`tier_cuts`): the paying clients' values set the cut points, so a portfolio with many trialists
  does not rate its paying clients high-value more easily. A trial's prospective value ranks it on the
  list (``conversion_arr``), never its tier.
- ``not_worth_keeping`` and ``not_worth_keeping_reason`` (:func:`keep_flags`): letting go is the better
  choice when the client costs more than it brings: constant complaints and discount demands (at least
  ``toxic_tickets`` in ``toxic_days``, and more than ``service_load`` per 10,000 of ARR: 14 complaints
  are a service problem to fix at 175,000 of ARR, not a reason to let go), a low margin (below
  ``low_margin``), a high service load (at least ``toxic_tickets`` tickets and more than
  ``service_load`` per 10,000 of ARR in ``toxic_days``, counting the tickets of a known kind other than
  questions, bugs and cancellation requests: a ticket without a kind is not counted, and the reason says
  how many there were), or low loyalty (left and came back
  ``low_loyalty_returns`` times). Never for clients at or above ``keep_strategic``. The ARR the tickets are
  weighed against is a trial's ``conversion_arr`` for a client that never paid (as its priority weighs it): a
  trialist is never let go for an ARR of 0 it has only for not having paid yet. (The counts per client,
  :func:`keep_inputs`, so that a Spark bucket counts them as the whole portfolio would; the verdict,
  :func:`keep_verdicts`, against the stakes of the whole list: no tier enters it.)
- ``conversion_arr``: for a client that never paid (:func:`churnml.scoring.crm.free_trials`: a free trial, or a
  free plan; its ARR is 0), the ARR it would bring on conversion: the median ARR of the paying clients on the
  list whose product is its trial's (the product of its latest base term; :func:`conversion_arr`), else of
  every paying client on the list; null for a paying client, or when no client on the list pays. A prospect's
  value, not revenue: it is never in ``arr``, ``revenue_at_risk``, the lifetime value, the tier, nor the
  report's ARR at risk; it ranks the trial (below), is what its tickets are weighed against (the keep flag)
  and, with the capacity zones, what its risk puts at stake (:func:`stake_arr`).
- ``priority``: 1 = act first. Clients are sorted by zone (red, then yellow, then green: a client a rule
  raised to red is among the red, however low its probability), then by ARR x the probability (a trial's
  ``conversion_arr`` x its probability, the conversion at stake: a trial ending unused in red is worked
  among the paying clients of its value, not after them all at ARR 0; for a
  client a rule raised, at least the zone's threshold: it keeps its zone's stake; not for one the
  capacity method or the hysteresis put there), then probability, strategic weight and client_id so the
  order is total and reproducible (:func:`zone_priority`; :func:`value_table` alone, before the zones are
  known, ranks by expected loss).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from churnml.config import ValueConfig, ZonesConfig
from churnml.contract.schemas import CLIENT_ID, Churns, Clients, Payments, Subscriptions, Tickets
from churnml.scoring.columns import Scores
from churnml.scoring.crm import EARLY_RENEWAL_SHARE
from churnml.scoring.playbook import ZONE_RANK
from churnml.scoring.sentences import formatted

__all__ = [
    "ARR",
    "CONVERSION_ARR",
    "LIFETIME_VALUE",
    "PLAN_NEVER_PAID",
    "PLAN_PRODUCT",
    "PRIORITY",
    "REVENUE_AT_RISK",
    "STRATEGIC",
    "VALUE_TIER",
    "annual_hazard",
    "annual_recurring_revenue",
    "booked_terms_arr",
    "client_plans",
    "conversion_arr",
    "expected_lifetime_years",
    "keep_flags",
    "keep_inputs",
    "keep_verdicts",
    "lapsed_terms_arr",
    "priority_rank",
    "recurring_revenue",
    "refunds_beyond_paid_note",
    "retained_years",
    "revenue_churn_rate",
    "stake_arr",
    "term_orders",
    "term_prices_note",
    "ticket_window_words",
    "tier_cuts",
    "value_table",
    "value_tiers",
    "zone_priority",
]

ARR = Scores.ARR
CONVERSION_ARR = Scores.CONVERSION_ARR
LIFETIME_VALUE = Scores.LIFETIME_VALUE
REVENUE_AT_RISK = Scores.REVENUE_AT_RISK
STRATEGIC = Scores.STRATEGIC
VALUE_TIER = Scores.VALUE_TIER
PRIORITY = Scores.PRIORITY

_DAYS_PER_YEAR = 365.25
_P_FLOOR = 1e-9


def _midnight(day: date | datetime) -> datetime:
    return datetime(day.year, day.month, day.day)


_DT = pl.Datetime("us")
_AT = "_at"
_YEAR_DAYS = 365  # the payments' year of recurring_revenue
_YEAR = pl.duration(days=_YEAR_DAYS)
_YEAR_TD = timedelta(days=_YEAR_DAYS)
# when a row of :func:`_revenue` counts in a client's year: an order when it was placed, a refund when paid
_COUNTED = "_counted_at"
# an order (of the revenue rows: not a refund), counted by the young-payer and recurring-payment estimates
_RECEIVED = pl.col(Payments.AMOUNT) > 0
# Up to this many distinct instants, intervals are matched to instants by binary search (cost: the rows
# produced); beyond it, by joining each row to its own client's intervals (cost: rows x intervals per
# client). Both give the same rows: the weekly list and the metrics have few instants, the win-back list
# one instant per churn.
_FEW_INSTANTS = 400


def _on_instants(frame: pl.DataFrame, lo: pl.Expr, hi: pl.Expr, instants: pl.Series) -> pl.DataFrame:
    """Each row of ``frame`` once per instant ``s`` of ``instants`` (column ``_at``) with ``lo < s <= hi``.

    Binary search on the sorted instants: the cost grows with the rows produced, not with
    rows x instants.
    """
    snaps = pl.DataFrame({_AT: instants.cast(_DT).unique().sort()}).with_row_index("_i")
    times = snaps.get_column(_AT)
    bounds = frame.select(lo.cast(_DT).alias("_lo"), hi.cast(_DT).alias("_hi"))
    first = times.search_sorted(bounds.get_column("_lo"), side="right").cast(pl.Int64)
    last = times.search_sorted(bounds.get_column("_hi"), side="right").cast(pl.Int64) - 1
    return (
        frame.with_columns(first.alias("_i0"), last.alias("_i1"))
        .filter(pl.col("_i0") <= pl.col("_i1"))
        .with_columns(pl.int_ranges("_i0", pl.col("_i1") + 1, dtype=pl.UInt32).alias("_i"))
        .explode("_i")
        .join(snaps, on="_i", maintain_order="left")
        .drop("_i0", "_i1", "_i")
    )


def _matched(at: pl.DataFrame, frame: pl.DataFrame, lo: pl.Expr, hi: pl.Expr) -> pl.DataFrame:
    """The rows of ``frame`` (one client's intervals ``lo < s <= hi``) at each ``(client_id, _at)`` of ``at``
    that falls inside them, with column ``_at``."""
    instants = at.get_column(_AT)
    if instants.n_unique() <= _FEW_INSTANTS:
        return _on_instants(frame, lo, hi, instants)
    pairs = (
        at.select(CLIENT_ID, _AT)
        .unique(maintain_order=True)
        .join(frame, on=CLIENT_ID, maintain_order="left_right")
    )
    return pairs.filter((lo.cast(_DT) < pl.col(_AT)) & (pl.col(_AT) <= hi.cast(_DT)))


def _money_received(payments: pl.DataFrame) -> pl.DataFrame:
    """``[client_id, paid_at, amount]`` of the payments that moved money: paid (``paid_at`` set), not
    ``failed`` nor ``open``; a ``refunded`` row counts negative whatever the sign it was written with
    (the contract allows a positive amount with that status, as the payments features read it)."""
    status = pl.col(Payments.STATUS) if Payments.STATUS in payments.columns else pl.lit(None, pl.String)
    return payments.filter(
        pl.col(Payments.PAID_AT).is_not_null() & ~status.is_in(["failed", "open"]).fill_null(False)
    ).select(
        CLIENT_ID,
        Payments.PAID_AT,
        pl.when(status == "refunded")
        .then(-pl.col(Payments.AMOUNT).abs())
        .otherwise(pl.col(Payments.AMOUNT))
        .alias(Payments.AMOUNT),
    )


def _revenue(payments: pl.DataFrame) -> pl.DataFrame:
    """``[client_id, _counted_at, amount]``, one row per payment that counts in a client's revenue, dated when it
    counts: its orders (:func:`churnml.labels.orders`: placed, a positive amount, not ``failed`` nor
    ``refunded``) when they were placed (:func:`churnml.labels.order_placed_at`: an invoice at its
    ``issued_at``, paid yet or not, ``open`` or unpaid included; a payment without one at its ``paid_at``), and
    the money given back (:func:`_money_received`'s negative rows: a refund, an applied credit note) at its
    ``paid_at``. An open credit note (negative, not paid out) gives nothing back yet; a failed row is no
    revenue. ARR is the revenue at stake, not when its cash arrived: on 30-day terms, read at ``paid_at``, a
    food wholesaler's prompt payers read a median 0.929 of their invoiced year and its late payers 0.862 (an
    invoice of the month before the year, paid in it, counted; the last month's, not due yet, did not)."""
    from churnml.labels import order_placed_at, orders

    placed = orders(payments).select(
        pl.col(CLIENT_ID).cast(pl.String),
        order_placed_at(payments.columns).alias(_COUNTED),
        pl.col(Payments.AMOUNT).cast(pl.Float64),
    )
    given_back = (
        _money_received(payments)
        .filter(pl.col(Payments.AMOUNT) < 0)
        .select(
            pl.col(CLIENT_ID).cast(pl.String),
            pl.col(Payments.PAID_AT).cast(_DT).alias(_COUNTED),
            pl.col(Payments.AMOUNT).cast(pl.Float64),
        )
    )
    return pl.concat([placed, given_back])


def refunds_beyond_paid(payments: pl.DataFrame) -> pl.DataFrame:
    """The ``refunded`` rows of ``payments`` (money going back, :func:`_money_received`) that give back more than
    their client had bought before them: ``client_id``, ``paid_at``, ``amount`` (as written), ``received``
    (the client's net purchases before the row: its orders less its earlier refunds), one row per such refund,
    by time. A refund of money the data never saw: an order of a shop's export marked ``refunded`` itself (its
    money came and went) rather than a refund of a purchase recorded in a row of its own.

    An order counts from when it was placed (:func:`churnml.labels.order_placed_at`, the orders of
    :func:`churnml.labels.orders`): with ``issued_at``, from its invoice, paid yet or not, so a credit note
    against an invoice on 30-day terms, issued days after it and before its payment, undoes that invoice (a
    food wholesaler's 34 of 245 credit notes were said otherwise); without it, from its payment."""
    schema = {CLIENT_ID: pl.String, Payments.PAID_AT: pl.Datetime("us"), Payments.AMOUNT: pl.Float64}
    if Payments.STATUS not in payments.columns:
        return pl.DataFrame(schema=schema | {"received": pl.Float64})
    moved = _revenue(payments).rename({_COUNTED: Payments.PAID_AT})
    # a refund at the same instant as a payment comes after it (the purchase it undoes)
    ordered = moved.with_columns((pl.col(Payments.AMOUNT) < 0).alias("_refund")).sort(
        CLIENT_ID, Payments.PAID_AT, "_refund"
    )
    before = ordered.with_columns(
        (pl.col(Payments.AMOUNT).cum_sum().over(CLIENT_ID) - pl.col(Payments.AMOUNT)).alias("received")
    )
    beyond = before.filter(pl.col("_refund") & (-pl.col(Payments.AMOUNT) > pl.col("received") + 0.005))
    return beyond.select(
        pl.col(CLIENT_ID).cast(pl.String), Payments.PAID_AT, pl.col(Payments.AMOUNT).abs(), "received"
    )


def refunds_beyond_paid_note(payments: pl.DataFrame | None, currency: str, shown: int = 3) -> str | None:
    """A note when ``refunded`` rows give back more than their client had bought before them
    (:func:`refunds_beyond_paid`: its orders, an invoice from its ``issued_at``): a ``refunded`` row is read as money going back, netted against the client's
    other payments, so an order that a shop's export marks ``refunded`` itself (Shopify's financial status)
    takes a purchase's worth from the client's other orders: the ARR, the lifetime value and the payment
    features. Said by ``validate`` and ``train``. None when every refund has a payment before it to undo, or
    without a status column."""
    if payments is None or Payments.STATUS not in payments.columns:
        return None
    beyond = refunds_beyond_paid(payments)
    if beyond.height == 0:
        return None
    refunds = int((payments.get_column(Payments.STATUS) == "refunded").sum())
    examples = ", ".join(
        f"{c} {currency} {a:,.2f} on {t:%Y-%m-%d}, {r:,.2f} bought before"
        for c, t, a, r in beyond.head(shown).iter_rows()
    )
    n = beyond.height
    return (
        f"payments: {n:,} of the {refunds:,} rows with status 'refunded' give{'s' if n == 1 else ''} back more than "
        f"their client had bought before {'it' if n == 1 else 'them'} ({examples}). A 'refunded' row is no order but money going back: the refund of a purchase "
        "written in a row of its own, netted against the client's other payments (its ARR, lifetime value and "
        "payment features). If your export marks a refunded order itself 'refunded' (a shop's "
        "financial status: the order's money came and went), each such row takes that much again from the "
        "client's other orders: write the order as 'paid' and its refund in a row of its own (invoice_id "
        "<order>-refund), or leave the order out"
    )


# a term within this share of a month of a month long is monthly: its price and its mrr are the same number
_MONTHLY_SHARE = 0.2
# terms this many days either side of a start or an end: a charge retried or taken a few days early
_CHARGE_SLACK_DAYS = 3
# term_prices_note speaks from this many checked terms on, when at least this share of them read as prices
TERM_PRICES_LEAST, TERM_PRICES_SHARE = 20, 0.5
# a payment within this share of a term's charge (or a cent) is that charge (_beyond_terms)
_CHARGE_TOLERANCE = 0.01
# the months of a term one charge may bill, besides the term's own length: monthly, bi-monthly, quarterly, ...
_CHARGE_MONTHS = (1, 2, 3, 4, 6, 12)
# a term's charge may come this many days after the term ended: a failed charge retried (dunning)
_CHARGE_RETRY_DAYS = 31


def _beyond_terms(paid: pl.DataFrame, subscriptions: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``paid`` (:func:`_revenue`: ``[client_id, _counted_at, amount]``, one row per order or refund)
    that are no charge of a paid term of their client: revenue on top of the plan (a vet plan member's treatments,
    a dental member's fillings, a SaaS's overage invoices), which :func:`recurring_revenue` adds to 12 x the
    running terms' MRR. Same columns, a subset of the rows.

    A row is a term's charge when it counts while a paid term (``mrr`` above 0) of its client runs, from
    :data:`_CHARGE_SLACK_DAYS` before its start to :data:`_CHARGE_RETRY_DAYS` after its end (a failed charge
    retried), and its amount (a refund's unsigned) is within :data:`_CHARGE_TOLERANCE` (or a cent) of a term's
    ``mrr`` of that client, or of the summed ``mrr`` of its terms starting together (a base term and its add-on on
    one invoice), times 1, 2, 3, 4, 6 or 12 months or the term's own length in months: monthly debits, a quarter or
    a year up front alike. A row outside every paid term (an order before the plan began, between two spells) is
    beyond them. A client none of whose rows in its terms is such a charge (its invoices carry a tax, or prorate
    every change) has its charges not told apart: its rows in its terms are all taken as charges, only those
    outside them are beyond (never a double count of the plan). Rows meet the bills of their 1% band and the two
    beside it (:func:`_charge_band`), so the cost follows the rows, not rows x terms: 100,000 monthly subscribers
    with 14 terms each, joined to every term, took 2.1 GB."""
    from churnml.labels import running_max_per_client

    slack = timedelta(days=_CHARGE_SLACK_DAYS)
    start, end = pl.col(Subscriptions.START_DATE).cast(_DT), pl.col(Subscriptions.END_DATE).cast(_DT)
    terms = (
        subscriptions.filter(pl.col(Subscriptions.MRR) > 0)
        .select(
            pl.col(CLIENT_ID).cast(pl.String),
            (start - slack).alias("_from"),
            (end + timedelta(days=_CHARGE_RETRY_DAYS)).alias("_to"),
            pl.col(Subscriptions.MRR).cast(pl.Float64).alias("_mrr"),
            ((end - start).dt.total_days() / (_DAYS_PER_YEAR / 12)).round().alias("_months"),
        )
        .sort(CLIENT_ID, "_from")
    )
    rows = paid.with_row_index("_row")
    # in a term: the latest paid term started by the row's time, or an earlier one, still reaches it (the terms'
    # ends, as a running maximum)
    reach = terms.select(CLIENT_ID, "_from", running_max_per_client(terms, "_to").alias("_reach"))
    placed = (
        rows.sort(_COUNTED)
        .join_asof(
            reach.sort("_from"),
            left_on=_COUNTED,
            right_on="_from",
            by=CLIENT_ID,
            strategy="backward",
            check_sortedness=False,  # sorted by time, as by groups needs; polars cannot check it with them
        )
        .filter(pl.col(_COUNTED) < pl.col("_reach"))
        .select(
            "_row",
            CLIENT_ID,
            pl.col(CLIENT_ID).hash().alias("_key"),
            pl.col(Payments.AMOUNT).abs().alias("_size"),
        )
        .filter(pl.col("_size") > 0)
    )
    # what a term may charge: its mrr, or the summed mrr of the terms starting with it (a base term and its
    # add-on on one invoice), times a number of months; matched within 1% bands (a bill stands in its band and
    # the two beside it), so each row meets a few bills, not every term of its client
    keyed = terms.select(pl.col(CLIENT_ID).hash().alias("_key"), "_from", "_mrr", "_months")
    together = pl.len().over("_key", "_from") > 1  # terms starting together: a base term and its add-on
    prices = pl.concat(
        [
            keyed.select("_key", "_mrr", "_months").unique(),
            keyed.filter(together)
            .group_by("_key", "_from")
            .agg(pl.col("_mrr").sum(), pl.col("_months").max())
            .drop("_from"),
        ]
    )
    bills = _charge_bills(prices)
    near = pl.max_horizontal(pl.col("_bill") * _CHARGE_TOLERANCE, pl.lit(0.01))
    charged = (
        placed.with_columns(_charge_band(pl.col("_size")).alias("_band"))
        .join(bills, on=["_key", "_band"])  # the client's hash: a join on numbers, a collision is 1 in 2**64
        .filter((pl.col("_size") - pl.col("_bill")).abs() <= near)
        .get_column("_row")
        .unique()
    )
    placed = placed.with_columns(pl.col("_row").is_in(charged.implode()).alias("_charge"))
    told = placed.filter("_charge").get_column(CLIENT_ID).unique()
    # the rows in terms that are charges, or whose client's charges are not told apart
    in_terms = placed.filter(pl.col("_charge") | ~pl.col(CLIENT_ID).is_in(told.implode())).get_column("_row")
    return rows.filter(~pl.col("_row").is_in(in_terms.implode())).select(paid.columns)


def _charge_bills(prices: pl.DataFrame) -> pl.DataFrame:
    """``[_key, _bill, _band]``: what a client's terms may charge (:func:`_beyond_terms`), from ``prices``
    (``[_key, _mrr, _months]``: a client's key, a term's ``mrr`` or the summed ``mrr`` of terms starting
    together, the term's length in months): each price times 1, 2, 3, 4, 6 and 12 months
    (:data:`_CHARGE_MONTHS`) and its own, above 0, once per client (``_key``) and amount, in its 1% band
    (:func:`_charge_band`) and the two beside it: three rows per bill. Cross joins with the few multipliers and
    offsets (lists exploded cost 4x more: 361k rows of the 10k list)."""
    months = pl.LazyFrame({"_m": [float(m) for m in _CHARGE_MONTHS]})
    times = [
        prices.lazy()
        .join(months, how="cross")
        .select("_key", (pl.col("_mrr") * pl.col("_m")).alias("_bill")),
        prices.lazy().select("_key", (pl.col("_mrr") * pl.col("_months")).alias("_bill")),
    ]
    return (
        pl.concat(times)
        .filter(pl.col("_bill") > 0)
        .unique()
        .join(pl.LazyFrame({"_side": [-1, 0, 1]}), how="cross")
        .select("_key", "_bill", (_charge_band(pl.col("_bill")) + pl.col("_side")).alias("_band"))
        .collect()
    )


def _within_years(paid: pl.DataFrame, instants: pl.Series) -> pl.DataFrame:
    """The rows of ``paid`` (:func:`_revenue`) that count in the year before one of ``instants`` or between them:
    from the first instant less :data:`_YEAR_DAYS` to the last (what :func:`_beyond_terms` need judge)."""
    first, last = instants.min(), instants.max()
    if first is None or last is None:
        return paid.clear()
    return paid.filter(pl.col(_COUNTED).is_between(first - _YEAR_TD, last, closed="left"))


def _charge_band(amount: pl.Expr) -> pl.Expr:
    """The 1% band of a positive amount (``Int64``): amounts within 1% of each other lie in one band or two
    bands side by side (:func:`_beyond_terms`)."""
    return (amount.log() / math.log(1 + _CHARGE_TOLERANCE)).floor().cast(pl.Int64)


def term_orders(subscriptions: pl.DataFrame, payments: pl.DataFrame) -> pl.DataFrame:
    """``[client_id, start_date, end_date, mrr, _months, _ordered]``: per paid term (``mrr`` above 0) that is not
    about a month long (its length in months, ``_months``, off 1 by more than :data:`_MONTHLY_SHARE`: 8 weeks, a
    quarter, a year) and that the payments log covers (it began at least :data:`_CHARGE_SLACK_DAYS` before the
    term and runs past its end), the client's orders (:func:`churnml.labels.orders`, placed at
    :func:`churnml.labels.order_placed_at`) from that many days before its start to that many days before its
    end, summed (``_ordered``; terms without an order left out): what the term was charged, whatever the billing
    (a year up front, twelve monthly invoices). A monthly ``mrr`` gives ``_ordered`` near ``mrr x _months``; a term
    whose ``mrr`` holds its price near ``mrr``. One row per such term."""
    from churnml.labels import order_placed_at, orders

    slack = timedelta(days=_CHARGE_SLACK_DAYS)
    placed = orders(payments).select(
        pl.col(CLIENT_ID).cast(pl.String),
        order_placed_at(payments.columns).alias("_at"),
        pl.col(Payments.AMOUNT).cast(pl.Float64),
    )
    if placed.height == 0:
        return pl.DataFrame(
            schema={
                CLIENT_ID: pl.String,
                Subscriptions.START_DATE: pl.Datetime("us"),
                Subscriptions.END_DATE: pl.Datetime("us"),
                Subscriptions.MRR: pl.Float64,
                "_months": pl.Float64,
                "_ordered": pl.Float64,
            }
        )
    first, last = placed.get_column("_at").min(), placed.get_column("_at").max()
    start, end = pl.col(Subscriptions.START_DATE), pl.col(Subscriptions.END_DATE)
    terms = (
        subscriptions.select(
            pl.col(CLIENT_ID).cast(pl.String),
            start.cast(pl.Datetime("us")),
            end.cast(pl.Datetime("us")),
            pl.col(Subscriptions.MRR).cast(pl.Float64),
        )
        .with_columns(((end - start).dt.total_days() / (_DAYS_PER_YEAR / 12)).alias("_months"))
        .filter(
            (pl.col(Subscriptions.MRR) > 0)
            & ((pl.col("_months") - 1).abs() > _MONTHLY_SHARE)
            & (start - slack >= first)
            & (end <= last)
        )
    )
    return (
        terms.join(placed, on=CLIENT_ID)
        .filter((pl.col("_at") >= start - slack) & (pl.col("_at") < end - slack))
        .group_by(CLIENT_ID, Subscriptions.START_DATE, Subscriptions.END_DATE, Subscriptions.MRR, "_months")
        .agg(pl.col(Payments.AMOUNT).sum().alias("_ordered"))
        .sort(CLIENT_ID, Subscriptions.START_DATE)
    )


def term_prices_note(
    subscriptions: pl.DataFrame | None, payments: pl.DataFrame | None, currency: str, shown: int = 3
) -> str | None:
    """A note when ``subscriptions.mrr`` reads as each term's price, not its monthly amount: of the terms that
    are not a month long and whose orders the payments show (:func:`term_orders`), at least
    :data:`TERM_PRICES_SHARE` (and :data:`TERM_PRICES_LEAST`) were charged nearer their ``mrr`` than ``mrr`` x
    their length in months. An auto-ship every 8 weeks written with its delivery's price as ``mrr`` reads 12
    deliveries a year where it makes 6.5: its ARR, revenue at risk, value tier and renewal value 1.84 times its
    year (a pet-food shop's 8-weekly customers: ARR 1.84 x, its 2-weekly ones 0.46 x). Said by ``validate`` and
    ``train``. None without both tables, or when the terms read as monthly amounts."""
    if subscriptions is None or payments is None or not subscriptions.height or not payments.height:
        return None
    terms = term_orders(subscriptions, payments)
    if terms.height < TERM_PRICES_LEAST:
        return None
    ratio = pl.col("_ordered") / pl.col(Subscriptions.MRR)
    # nearer its mrr than mrr x its months, on a log scale (a year billed 12,000 up front against mrr 1,000: 12)
    priced = terms.filter(ratio.log().abs() < (ratio / pl.col("_months")).log().abs())
    if priced.height < TERM_PRICES_SHARE * terms.height:
        return None
    days = priced.select((pl.col(Subscriptions.END_DATE) - pl.col(Subscriptions.START_DATE)).dt.total_days())
    lengths = sorted({int(days.to_series().min()), int(days.to_series().max())})
    examples = "; ".join(
        f"{c} from {a:%Y-%m-%d}, {(b - a).days} days, mrr {currency} {m:,.2f}, ordered {currency} {o:,.2f}"
        for c, a, b, m, _, o in priced.head(shown).iter_rows()
    )
    month, longest = _DAYS_PER_YEAR / 12, lengths[-1]
    factors = ", ".join(f"{12 * n / _DAYS_PER_YEAR:.2f} x at {n} days" for n in lengths)
    return (
        f"subscriptions.mrr: {priced.height:,} of the {terms.height:,} paid terms that are not a month long and "
        f"whose orders the payments show were charged about their mrr, not mrr x their length in months (e.g. "
        f"{examples}): mrr looks like each term's price. mrr is the term's monthly amount (a term of {longest} days "
        f"charged 60 has mrr 60 x {month:.2f} / {longest} = {60 * month / longest:,.2f}; a year of 12,000 has "
        f"1,000): the ARR (12 x mrr), revenue at risk, value tiers and renewal values read it as a month's, "
        f"12 x the days of a term / 365.25 times a client's year ({factors})"
    )


def recurring_revenue(
    rows: pl.DataFrame,
    at: str,
    subscriptions: pl.DataFrame | None,
    payments: pl.DataFrame | None,
    observed_from: datetime | None = None,
    clients: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``rows`` with ``mrr`` and ``arr`` (Float64) of each row's client at the instant in column ``at``
    (a Date means 00:00 of that day): the one definition of recurring revenue (module docstring).

    Per (client, instant ``s``): the summed ``mrr`` of its terms running at ``s`` (``start_date < s <=
    end_date``; add-ons count), plus, over 12, its orders of the 365 days before ``s`` that are no charge of a
    term (:func:`_beyond_terms`; refunds that are none netted, floored at 0; scaled as the payments' year is for a
    log younger than a year, not for a young payer); without a running term, its orders placed in the 365 days before ``s``
    (:func:`_revenue`: an invoice issued then, paid yet or not; ``s - 365 days <= placed < s``; refunds and
    applied credit notes netted at their ``paid_at`` whatever their sign, failed rows left out, floored at 0)
    as the year's revenue, or the run rate of a recurring payment (three or more at
    near-equal gaps of a week or more, the next one not overdue, and, for a client that paid before that
    year, filling it from its start: :func:`_regular_year`; a young monthly payer's year is not its first
    months' sum, and a seasonal buyer's season is not its year); else 0.
    ``arr`` = 12 x the terms' MRR plus the orders beyond them, or the payments' year; ``mrr`` = ``arr`` / 12.
    Used by the weekly list (:func:`annual_recurring_revenue`), the churn metrics
    (:func:`churnml.reporting.metrics.mrr_at`) and the win-back list (``former_arr``).

    ``observed_from`` (the data's first activity; the weekly list gives it): at an instant less than a
    year after it, the payments' year is what was paid in the days observed, scaled to 365 of them (a
    shop log of 180 days: its customers' ARR was half a year's revenue), as the features' windows are
    (``features.unobserved_windows: scaled``); and a client that paid twice or more and first paid less
    than a year before has its payments scaled from its first payment (over 91 days at least:
    :func:`_young_payer_scale`).

    ``clients`` (the clients table: ``client_id``, ``created_at``) dates each client's start: a client
    created before the data's first activity is no young payer, whenever its first payment in the log
    came (a beach bar's or a quarterly buyer's first order months into the log: its year is the log's
    scaling, not that order's), and one created after it is young from its creation when that is
    earlier than its first payment (:func:`_first_paid`).
    """
    keyed = rows.with_columns(pl.col(at).cast(_DT).alias(_AT))
    terms_mrr = pl.lit(None, pl.Float64)
    paid_year = pl.lit(None, pl.Float64)
    beyond_year = pl.lit(
        0.0
    )  # the year's orders beyond the terms' charges (_beyond_terms), on top of their MRR
    if subscriptions is not None and subscriptions.height:
        terms = subscriptions.select(
            CLIENT_ID, Subscriptions.START_DATE, Subscriptions.END_DATE, Subscriptions.MRR
        )
        running = (
            _matched(keyed, terms, pl.col(Subscriptions.START_DATE), pl.col(Subscriptions.END_DATE))
            .group_by(CLIENT_ID, _AT)
            .agg(pl.col(Subscriptions.MRR).sum().cast(pl.Float64).alias("_terms_mrr"))
        )
        keyed = keyed.join(running, on=[CLIENT_ID, _AT], how="left")
        terms_mrr = pl.col("_terms_mrr")
    if payments is not None and payments.height:
        paid = _revenue(payments)
        dated = paid.join(_first_received(paid), on=CLIENT_ID, how="left")  # where its history begins
        regular_parts = _regular_year_parts()
        year = (
            _matched(keyed, dated, pl.col(_COUNTED), pl.col(_COUNTED) + _YEAR)
            .group_by(CLIENT_ID, _AT)
            .agg(
                pl.col(Payments.AMOUNT).sum().cast(pl.Float64).alias("_paid_year"),
                _RECEIVED.sum().alias("_n_paid"),
                *regular_parts,
            )
            .with_columns(_regular_year())
            .drop(part.meta.output_name() for part in regular_parts)
        )
        keyed = keyed.join(year, on=[CLIENT_ID, _AT], how="left")
        paid_year = pl.col("_paid_year")
        if subscriptions is not None and subscriptions.height:
            beyond = (
                _matched(
                    keyed,
                    _beyond_terms(_within_years(paid, keyed.get_column(_AT)), subscriptions),
                    pl.col(_COUNTED),
                    pl.col(_COUNTED) + _YEAR,
                )
                .group_by(CLIENT_ID, _AT)
                .agg(pl.col(Payments.AMOUNT).sum().cast(pl.Float64).alias("_beyond_year"))
            )
            keyed = keyed.join(beyond, on=[CLIENT_ID, _AT], how="left")
            beyond_year = pl.col("_beyond_year")
        if observed_from is not None:
            # a year or more observed: unchanged (x 1.0)
            seen = (pl.col(_AT) - pl.lit(observed_from, _DT)).dt.total_days().clip(1, _YEAR_DAYS)
            keyed = keyed.join(_first_paid(paid, clients, observed_from), on=CLIENT_ID, how="left")
            paid_year = paid_year * pl.coalesce(_young_payer_scale(), _YEAR_DAYS / seen)
            beyond_year = beyond_year * (_YEAR_DAYS / seen)
        paid_year = pl.coalesce(pl.col("_regular_year"), paid_year)
    beyond_year = beyond_year.clip(lower_bound=0.0).fill_null(0.0)
    return keyed.with_columns(
        pl.coalesce(terms_mrr + beyond_year / 12, (paid_year / 12).clip(lower_bound=0.0), pl.lit(0.0)).alias(
            "mrr"
        ),
        pl.coalesce(terms_mrr * 12.0 + beyond_year, paid_year.clip(lower_bound=0.0), pl.lit(0.0)).alias(
            "arr"
        ),
    ).drop(
        c
        for c in (_AT, "_terms_mrr", "_paid_year", "_beyond_year", "_regular_year", "_n_paid", "_first_paid")
        if c in keyed.columns
    )


# a repeat payer younger than a year has its payments scaled to a year from its first one, over at least
# this many days (two orders in a customer's first week are no 100-order year)
_YOUNG_PAYER_MIN_DAYS = 91


def _first_paid(
    paid: pl.DataFrame, clients: pl.DataFrame | None = None, observed_from: datetime | None = None
) -> pl.DataFrame:
    """Per client of the revenue rows ``paid`` (:func:`_revenue`): when it began paying (``_first_paid``), the start a
    young payer's year is scaled from. Its first payment; with ``clients`` (``client_id``, ``created_at``)
    its ``created_at`` when earlier (an account opened in January that first ordered in May is four
    months older than its first order), and null (no young payer: the log's own scaling) when that is
    before ``observed_from``, the data's first activity: its payments before the log are unobserved, not
    absent. A beach bar client since 2018 whose log's first order was in May read 365 / 183 days of its
    summer's orders, twice its year."""
    first = _first_received(paid).rename({"_first_received": "_first_paid"})
    if clients is None or Clients.CREATED_AT not in clients.columns:
        return first
    created = clients.select(CLIENT_ID, pl.col(Clients.CREATED_AT).cast(_DT).alias("_created"))
    since = pl.min_horizontal("_first_paid", "_created")
    if observed_from is not None:
        since = pl.when(since > pl.lit(observed_from, _DT)).then(since)
    return first.join(created, on=CLIENT_ID, how="left").select(CLIENT_ID, since.alias("_first_paid"))


def _first_received(paid: pl.DataFrame) -> pl.DataFrame:
    """``[client_id, _first_received]``: the time of each client's first payment that brought money in
    (of the revenue rows ``paid``, :func:`_revenue`: its first order), where its payment history begins."""
    return (
        paid.filter(_RECEIVED)
        .group_by(CLIENT_ID)
        .agg(pl.col(_COUNTED).min().cast(_DT).alias("_first_received"))
    )


def _young_payer_scale() -> pl.Expr:
    """For a client that paid at least twice in the year before ``_at`` and first paid less than a year
    before it: 365 / the days since its first payment (at least ``_YOUNG_PAYER_MIN_DAYS``); null otherwise
    (then the data's own scaling applies). A prepaid subscriber of 60 days read 26% of its year's top-ups."""
    days = (pl.col(_AT) - pl.col("_first_paid")).dt.total_days()
    young = (pl.col("_n_paid") >= 2) & (days < _YEAR_DAYS)
    return pl.when(young).then(_YEAR_DAYS / days.clip(_YOUNG_PAYER_MIN_DAYS, _YEAR_DAYS))


# a client paying at least this many times at near-equal gaps (each within this share of their median, at
# least a week) and not yet late for the next one is on a recurring payment: its year is the run rate
_REGULAR_PAYMENTS = 3
_REGULAR_SPREAD = 0.25
_REGULAR_MIN_GAP_DAYS = 7.0  # three orders on three days are no daily subscription (365 x 100 read 36,500)


def _regular_year_parts() -> list[pl.Expr]:
    """Inside a group of one client's payments at one instant (column ``_at``): the figures :func:`_regular_year`
    weighs, one column each: how many it received, the first and last of them, the median,
    largest and smallest gap between them in days, their mean amount, the instant, and ``_first_received``. Each is
    read once: inside an aggregation Polars evaluates a sub-expression as often as it is written (the gaps' median
    five times: 2.7 of 4.8 CPU-s of the ARR of a 100,000-client list)."""
    when = pl.col(_COUNTED).filter(_RECEIVED).sort()
    gaps = (when.diff().dt.total_seconds() / 86_400.0).drop_nulls()
    return [
        when.len().alias("_received_n"),
        when.min().alias("_received_min"),
        when.max().alias("_received_max"),
        gaps.median().alias("_gap_median"),
        gaps.max().alias("_gap_max"),
        gaps.min().alias("_gap_min"),
        pl.col(Payments.AMOUNT).filter(_RECEIVED).mean().alias("_received_mean"),
        pl.col(_AT).first().alias("_at_first"),
        pl.col("_first_received").first().alias("_first_received_at"),
    ]


def _regular_year() -> pl.Expr:
    """Per client and instant (column ``_at``), over the figures of its received payments then
    (:func:`_regular_year_parts`, the columns of the group-by): the year's run
    rate of a recurring payment (the mean amount x 365 / the median gap in days) when the client paid at
    least ``_REGULAR_PAYMENTS`` times at near-equal gaps of a week or more and the next payment is not
    overdue by half a gap; null otherwise (orders at irregular gaps, one-off gifts, a lapsed payer). A
    donor of 20 a month who began 100 days ago paid 80 in the year: its ARR is 243, not 80 (104 of 105
    new monthly donors were the lowest tier). A client that paid before the year (``_first_received``, a
    year or more before ``_at``) is on its run rate only when its payments fill the year: the first came
    within 1.5 gaps of the year's start (the allowance of the last one's lateness). Otherwise they are its
    season, and the year's sum is its value (a garden shop's buyer of every spring,
    three monthly orders of 100, read 1,217 a year, not its 300)."""
    median = pl.col("_gap_median")
    year_start = pl.col("_at_first") - _YEAR
    fills_year = (pl.col("_first_received_at") > year_start) | (
        (pl.col("_received_min") - year_start).dt.total_seconds() / 86_400.0 <= 1.5 * median
    )
    regular = (
        (pl.col("_received_n") >= _REGULAR_PAYMENTS)
        & (median >= _REGULAR_MIN_GAP_DAYS)
        & (pl.col("_gap_max") <= (1 + _REGULAR_SPREAD) * median)
        & (pl.col("_gap_min") >= (1 - _REGULAR_SPREAD) * median)
        & ((pl.col("_at_first") - pl.col("_received_max")).dt.total_seconds() / 86_400.0 <= 1.5 * median)
        & fills_year
    )
    rate = pl.col("_received_mean") * _YEAR_DAYS / median
    return pl.when(regular).then(rate).otherwise(None).cast(pl.Float64).alias("_regular_year")


def annual_recurring_revenue(
    clients: pl.Series | list[str],
    as_of: date,
    subscriptions: pl.DataFrame | None,
    payments: pl.DataFrame | None,
    grace_days: int = 0,
    observed_from: datetime | None = None,
    renewal_share: float = EARLY_RENEWAL_SHARE,
    clients_table: pl.DataFrame | None = None,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[client_id, arr]`` for the given clients at 00:00 of ``as_of``: :func:`recurring_revenue`
    (payments of a log younger than a year scaled to one from ``observed_from``, a young payer's from its
    start: ``clients_table``'s ``created_at`` or its first payment),
    except for a client **in grace** (no running term, its last term ended within ``grace_days`` before
    ``as_of``: not renewed yet, still on the list): the ARR of the terms running when its last term
    ended, i.e. what it paid until then and what is at stake now. Without it, that client got its
    trailing payments (a client of two months at 297 a month: 594 instead of 3,564).

    A client **renewed after a gap** (no base term running, its next term booked ahead: "Renewed") gets the
    ARR of its booked terms (:func:`booked_terms_arr`): a renewal starting a few days after the term ended
    read 0 without payments, below the same client not renewed.

    A client whose running terms are all free (``mrr`` 0: a pause, a free tier) after paid ones keeps
    the ARR of its last paid terms (:func:`paused_terms_arr`): what is at stake, as in grace (a paused
    client that paid 199 a month read as worthless, tier C). A trial that never paid stays at 0.

    Clients with neither a running term nor payments in the last 12 months get ``arr = 0``.
    ``renewal_share``: ``data.early_renewal_share`` (:func:`lapsed_terms_arr`). ``customer``:
    :func:`churnml.labels.customer_terms` of ``subscriptions`` when the caller holds it (None: read here).
    """
    ids = pl.DataFrame(
        {CLIENT_ID: pl.Series(list(clients), dtype=pl.String), _AT: [_midnight(as_of)] * len(clients)},
        schema={CLIENT_ID: pl.String, _AT: _DT},
    )
    now = recurring_revenue(ids, _AT, subscriptions, payments, observed_from, clients_table).select(
        CLIENT_ID, pl.col("arr").alias(ARR)
    )
    lapsed = lapsed_terms_arr(
        ids.get_column(CLIENT_ID), as_of, subscriptions, grace_days, renewal_share, customer
    )
    booked = booked_terms_arr(ids.get_column(CLIENT_ID), as_of, subscriptions, renewal_share, customer)
    paused = paused_terms_arr(ids.get_column(CLIENT_ID), as_of, subscriptions)
    if lapsed.height == 0 and booked.height == 0 and paused.height == 0:
        return now
    return (
        now.join(lapsed, on=CLIENT_ID, how="left", maintain_order="left")
        .join(booked, on=CLIENT_ID, how="left", maintain_order="left")
        .join(paused, on=CLIENT_ID, how="left", maintain_order="left")
        .select(CLIENT_ID, pl.coalesce("_lapsed_arr", "_booked_arr", "_paused_arr", ARR).alias(ARR))
    )


def _clients_terms(
    clients: pl.Series, subscriptions: pl.DataFrame, customer: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The rows of ``subscriptions`` of the clients of ``clients`` and, when ``customer`` is given
    (:func:`churnml.labels.customer_terms` of ``subscriptions``), theirs of it: a client's customer terms read
    its rows alone, so they are those of its rows (None: the readers read them)."""
    mine = pl.col(CLIENT_ID).cast(pl.String).is_in(clients.implode())
    return subscriptions.filter(mine), None if customer is None else customer.filter(mine)


def booked_terms_arr(
    clients: pl.Series,
    as_of: date,
    subscriptions: pl.DataFrame | None,
    renewal_share: float = EARLY_RENEWAL_SHARE,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[client_id, _booked_arr]`` for the clients of ``clients`` **renewed after a gap** at ``as_of``: no base
    term running at 00:00 of it (:func:`churnml.labels.customer_terms`) and a renewal booked ahead
    (:func:`churnml.scoring.crm.booked_terms`; its ``term_state`` says "Renewed: the next term starts ...").
    12 x the summed ``mrr`` of the terms running at the end of the booked term's first day (the booked terms
    and the add-ons beside them, booked or running on, as the running terms are counted); when those are free
    (a pause booked), of the terms running when its last base term ended, as for a client in grace. One row per
    such client with a value above 0 (the others keep :func:`recurring_revenue`'s). Without it, a client whose
    renewal starts a few days after its term ended was valued at its trailing payments (0 without a payments
    table: a renewed client below one that did not renew). ``renewal_share``: ``data.early_renewal_share``.
    ``customer``: :func:`churnml.labels.customer_terms` of ``subscriptions`` when the caller holds it."""
    from churnml.labels import customer_terms_before
    from churnml.scoring.crm import booked_terms

    empty = pl.DataFrame(schema={CLIENT_ID: pl.String, "_booked_arr": pl.Float64})
    if subscriptions is None or subscriptions.height == 0:
        return empty
    cut = _midnight(as_of)
    mine, my_terms = _clients_terms(clients, subscriptions, customer)
    base = customer_terms_before(mine, cut, my_terms).select(
        pl.col(CLIENT_ID).cast(pl.String), pl.col(Subscriptions.END_DATE).cast(_DT)
    )
    running = base.filter(pl.col(Subscriptions.END_DATE) >= cut).select(CLIENT_ID).unique()
    booked = booked_terms(mine, as_of, renewal_share, my_terms).join(running, on=CLIENT_ID, how="anti")
    if booked.height == 0:
        return empty
    instants = booked.join(
        base.group_by(CLIENT_ID).agg(pl.col(Subscriptions.END_DATE).max().alias("_ended")), on=CLIENT_ID
    ).select(CLIENT_ID, (pl.col("_booked").cast(_DT) + timedelta(days=1)).alias("_first_day"), "_ended")
    terms = mine.select(
        pl.col(CLIENT_ID).cast(pl.String),
        pl.col(Subscriptions.START_DATE).cast(_DT),
        pl.col(Subscriptions.END_DATE).cast(_DT),
        pl.col(Subscriptions.MRR).cast(pl.Float64),
    )
    first_day = recurring_revenue(instants, "_first_day", terms, None).select(
        CLIENT_ID, "_ended", pl.col("arr").alias("_first_arr")
    )
    value = pl.when(pl.col("_first_arr") > 0).then(pl.col("_first_arr")).otherwise(pl.col("arr"))
    return (
        recurring_revenue(first_day, "_ended", terms, None)
        .select(CLIENT_ID, value.alias("_booked_arr"))
        .filter(pl.col("_booked_arr") > 0)
    )


def paused_terms_arr(clients: pl.Series, as_of: date, subscriptions: pl.DataFrame | None) -> pl.DataFrame:
    """``[client_id, _paused_arr]`` for the clients of ``clients`` whose terms running at ``as_of`` are all
    free (``mrr`` 0) and who had a paid term before: 12 x the summed ``mrr`` of their terms running at the
    instant their last paid term ended. Empty when there is none."""
    empty = pl.DataFrame(schema={CLIENT_ID: pl.String, "_paused_arr": pl.Float64})
    if subscriptions is None or subscriptions.height == 0:
        return empty
    from churnml.scoring.crm import free_after_paid

    mine = subscriptions.filter(pl.col(CLIENT_ID).cast(pl.String).is_in(clients.implode())).select(
        pl.col(CLIENT_ID).cast(pl.String),
        pl.col(Subscriptions.START_DATE).cast(_DT),
        pl.col(Subscriptions.END_DATE).cast(_DT),
        pl.col(Subscriptions.MRR).cast(pl.Float64),
    )
    paid_end = free_after_paid(mine, as_of).rename({"_paid_end": _AT})
    if paid_end.height == 0:
        return empty
    paid = mine.filter(pl.col(Subscriptions.MRR) > 0)
    return recurring_revenue(paid_end, _AT, paid, None).select(CLIENT_ID, pl.col("arr").alias("_paused_arr"))


def lapsed_terms_arr(
    clients: pl.Series,
    as_of: date,
    subscriptions: pl.DataFrame | None,
    grace_days: int,
    renewal_share: float = EARLY_RENEWAL_SHARE,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[client_id, _lapsed_arr]`` for the clients of ``clients`` in grace at ``as_of``
    (:func:`churnml.scoring.crm.lapsed_terms`): 12 x the summed ``mrr`` of their terms running at the
    instant their last term ended. Empty when none is in grace. ``renewal_share``: ``data.early_renewal_share``,
    passed to :func:`~churnml.scoring.crm.lapsed_terms`, so that one setting reads bookings. ``customer``:
    :func:`churnml.labels.customer_terms` of ``subscriptions`` when the caller holds it."""
    from churnml.scoring.crm import lapsed_terms

    empty = pl.DataFrame(schema={CLIENT_ID: pl.String, "_lapsed_arr": pl.Float64})
    if subscriptions is None or subscriptions.height == 0 or grace_days <= 0:
        return empty
    mine, my_terms = _clients_terms(clients, subscriptions, customer)
    last_end = lapsed_terms(mine, as_of, grace_days, renewal_share, customer=my_terms).rename(
        {"_last_end": _AT}
    )
    if last_end.height == 0:
        return empty
    terms = mine.select(CLIENT_ID, Subscriptions.START_DATE, Subscriptions.END_DATE, Subscriptions.MRR)
    return recurring_revenue(last_end, _AT, terms, None).select(CLIENT_ID, pl.col("arr").alias("_lapsed_arr"))


def annual_hazard(probability: np.ndarray, horizon_days: int) -> np.ndarray:
    """Constant annual hazard implied by a churn probability over ``horizon_days``."""
    p = np.clip(np.asarray(probability, dtype=float), _P_FLOOR, 1 - _P_FLOOR)
    return -np.log1p(-p) * _DAYS_PER_YEAR / horizon_days


def expected_lifetime_years(probability: np.ndarray, horizon_days: int, max_years: float) -> np.ndarray:
    """Expected remaining lifetime ``min(1 / hazard, max_years)`` in years (module docstring)."""
    return np.minimum(1.0 / annual_hazard(probability, horizon_days), max_years)


def revenue_churn_rate(probability: np.ndarray, arr: np.ndarray | None = None) -> float:
    """The portfolio's churn rate over the horizon by revenue: the churn probabilities' mean weighted by
    ``arr`` (one per client; missing, negative or none: weight 0), ``sum(p x ARR) / sum(ARR)``, the share of
    the ARR expected to leave; the plain mean when no client has ARR (or ``arr`` is None); NaN for no client."""
    p = np.asarray(probability, dtype=float)
    if len(p) == 0:
        return math.nan
    if arr is not None:
        weight = np.clip(np.nan_to_num(np.asarray(arr, dtype=float), nan=0.0), 0.0, None)
        if weight.sum() > 0:
            return float(np.dot(p, weight) / weight.sum())
    return float(p.mean())


def retained_years(
    probability: np.ndarray, horizon_days: int, cfg: ValueConfig, arr: np.ndarray | None = None
) -> float:
    """Years a retained client stays: ``cfg.retained_years``, else the expected lifetime at the portfolio's
    revenue churn rate (:func:`revenue_churn_rate` of ``probability`` weighted by ``arr``, one per client;
    module docstring); 0 clients give the cap."""
    if cfg.retained_years is not None:
        return float(cfg.retained_years)
    rate = revenue_churn_rate(probability, arr)
    if math.isnan(rate):
        return float(cfg.max_lifetime_years)
    return float(expected_lifetime_years(np.array([rate]), horizon_days, cfg.max_lifetime_years)[0])


# client_plans' columns, read by value_table from its ``arr`` frame: the product of the client's latest base term,
# and whether it never paid (crm.free_trials)
PLAN_PRODUCT = "_plan_product"
PLAN_NEVER_PAID = "_plan_never_paid"


def client_plans(
    client_ids: Sequence[str],
    as_of: date,
    subscriptions: pl.DataFrame | None,
    payments: pl.DataFrame | None,
    clients: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[client_id, _plan_product, _plan_never_paid]`` per client of ``client_ids`` (their order): the
    ``product`` of its latest base term (no add-on) started before ``as_of`` (null without a product column or a
    term), and whether it never paid (:func:`churnml.scoring.crm.free_trials`). What :func:`value_table` reads
    to value a trial at its conversion (:func:`conversion_arr`)."""
    from churnml.scoring.crm import free_trials

    ids = pl.DataFrame({CLIENT_ID: pl.Series(list(client_ids), dtype=pl.String)})
    product = pl.DataFrame(schema={CLIENT_ID: pl.String, PLAN_PRODUCT: pl.String})
    if subscriptions is not None and subscriptions.height and Subscriptions.PRODUCT in subscriptions.columns:
        base = (
            ~pl.col(Subscriptions.IS_ADDON).fill_null(False)
            if Subscriptions.IS_ADDON in subscriptions.columns
            else pl.lit(True)
        )
        product = (
            subscriptions.filter(base & (pl.col(Subscriptions.START_DATE) < _midnight(as_of)))
            .sort(Subscriptions.START_DATE)
            .group_by(pl.col(CLIENT_ID).cast(pl.String))
            .agg(pl.col(Subscriptions.PRODUCT).cast(pl.String).last().alias(PLAN_PRODUCT))
        )
    never = free_trials(subscriptions, as_of, payments, clients).get_column(CLIENT_ID)
    return ids.join(product, on=CLIENT_ID, how="left", maintain_order="left").with_columns(
        pl.col(CLIENT_ID).is_in(never.implode()).alias(PLAN_NEVER_PAID)
    )


def conversion_arr(plans: pl.DataFrame) -> pl.Series:
    """``conversion_arr`` (Float64, one per row of ``plans``: ``client_id``, ``arr``, and optionally
    ``_plan_product`` and ``_plan_never_paid`` of :func:`client_plans`): for a row that never paid, the median
    ``arr`` of the paying rows (``arr`` above 0, not never paid) of its product, else of every paying row; null
    for a paying row, without the plan columns, or when no row pays. The same reference on every engine: the
    rows are the whole list."""
    if PLAN_NEVER_PAID not in plans.columns:
        return pl.Series(CONVERSION_ARR, [None] * plans.height, dtype=pl.Float64)
    product = (
        pl.col(PLAN_PRODUCT) if PLAN_PRODUCT in plans.columns else pl.lit(None, pl.String).alias(PLAN_PRODUCT)
    )
    frame = plans.select(
        pl.col(ARR).cast(pl.Float64).fill_null(0.0),
        product,
        pl.col(PLAN_NEVER_PAID).fill_null(False),
    )
    paying = frame.filter((pl.col(ARR) > 0) & ~pl.col(PLAN_NEVER_PAID))
    overall = paying.get_column(ARR).median() if paying.height else None
    by_product = (
        paying.filter(pl.col(PLAN_PRODUCT).is_not_null())
        .group_by(PLAN_PRODUCT)
        .agg(pl.col(ARR).median().alias("_median"))
    )
    return (
        frame.join(by_product, on=PLAN_PRODUCT, how="left", maintain_order="left")
        .select(
            pl.when(pl.col(PLAN_NEVER_PAID))
            .then(pl.col("_median").fill_null(pl.lit(overall, pl.Float64)))
            .otherwise(pl.lit(None, pl.Float64))
            .alias(CONVERSION_ARR)
        )
        .to_series()
    )


def tier_cuts(valued: int, cfg: ValueConfig) -> tuple[int, int]:
    """The last rank of tier A and of tier B among ``valued`` clients with a value (a lifetime value above 0):
    ``tier_a_share`` and ``tier_b_share`` of them, rounded up. Clients without a value (a trial or a free plan
    that never paid, a buyer without an order in the year) take no place: their 0 would lower the cut points
    and rate paying clients high-value too easily."""
    a_cut = math.ceil(cfg.tier_a_share * valued - 1e-9)
    return a_cut, max(a_cut, math.ceil(cfg.tier_b_share * valued - 1e-9))


def value_tiers(
    lifetime_value: np.ndarray, strategic: np.ndarray, client_ids: list[str], cfg: ValueConfig
) -> list[str]:
    """A/B/C per client (module docstring). Clients of equal lifetime value share a tier: a tie group
    ranks at the middle of the places it holds (788 readers at the same price were split A / B / C by
    their ids)."""
    n = len(client_ids)
    if n == 0:
        return []
    ltv = np.asarray(lifetime_value, dtype=float)
    ascending = np.sort(ltv)
    above = n - np.searchsorted(ascending, ltv, side="right")  # clients worth more
    at_least = n - np.searchsorted(ascending, ltv, side="left")  # ... or as much
    rank = (above + 1 + at_least) / 2
    valued = ltv > 0
    # the shares are of the clients with a value: 1,000 trialists at 0 beside 1,000 paying clients made the
    # top 40% of those paying A and every one of them at least B
    a_cut, b_cut = tier_cuts(int(valued.sum()), cfg)
    strat = np.asarray(strategic, dtype=float)
    tiers = np.where((rank <= b_cut) & valued, "B", "C").astype(object)
    tiers[((rank <= a_cut) & valued) | (strat >= cfg.tier_a_strategic)] = "A"
    return [str(t) for t in tiers]


def priority_rank(
    revenue_at_risk: np.ndarray,
    probability: np.ndarray,
    strategic: np.ndarray,
    client_ids: list[str],
    zone: Sequence[str] | None = None,
) -> np.ndarray:
    """1..n, 1 = act first: by ``zone`` when given (red, yellow, green), then the largest expected loss;
    ties: higher probability, higher strategic, client_id."""
    n = len(client_ids)
    rar = np.asarray(revenue_at_risk, dtype=float)
    p = np.asarray(probability, dtype=float)
    s = np.asarray(strategic, dtype=float)
    level = [ZONE_RANK.get(z, len(ZONE_RANK)) for z in zone] if zone is not None else [0] * n
    order = sorted(range(n), key=lambda i: (level[i], -rar[i], -p[i], -s[i], client_ids[i]))
    rank = np.empty(n, dtype=np.int64)
    if n:
        rank[np.asarray(order)] = np.arange(1, n + 1)
    return rank


def stake_arr(valued: pl.DataFrame) -> np.ndarray:
    """Per row of ``valued`` (``arr``, and ``conversion_arr`` when known: :func:`value_table`'s output, or
    :func:`annual_recurring_revenue` with :func:`conversion_arr` beside it), the yearly revenue its priority weighs
    by its probability: its ``arr``, or for a client that never paid its ``conversion_arr`` (what converting it
    would bring); 0 when neither is known. The one rule of a client's stake: the priority, the capacity zones
    (this week's and last week's) and the keep flag read it."""
    arr = valued.get_column(ARR).cast(pl.Float64).fill_null(0.0)
    if CONVERSION_ARR in valued.columns:
        arr = valued.get_column(CONVERSION_ARR).cast(pl.Float64).fill_null(arr)
    return arr.to_numpy().astype(float)


def zone_priority(
    valued: pl.DataFrame,
    zone: Sequence[str],
    zones: ZonesConfig | None = None,
    raised: Sequence[bool] | None = None,
) -> pl.DataFrame:
    """``valued`` (:func:`value_table`, one row per client) with ``priority`` ranked by ``zone`` (one per
    row) first, then expected loss (p x ARR): the list's order, so that a client a rule raised to red is
    worked among the red ones. ``raised`` (one per row): whether a rule raised the row's zone above the
    model's (``zone_raised_by`` not empty); with ``zones`` (``score.zones``) such a client ranks within its
    zone by ARR x at least the zone's threshold probability (red, yellow), so a client a cancellation
    request raised to red (model p 4%) is no longer 24th of 33 red ones. Every other client ranks by its
    own p x ARR, whatever put it in its zone (the capacity method, or hysteresis holding it in red below
    the threshold): a p 5% client is not ranked as if it were at 35%. None: no row was raised.
    ``revenue_at_risk`` itself stays p x ARR; a client that never paid ranks by its ``conversion_arr``
    (:func:`stake_arr`)."""
    p = valued.get_column(Scores.PROBABILITY).to_numpy().astype(float)
    floors = {} if zones is None else {"red": zones.red, "yellow": zones.yellow}
    lifted = [False] * len(zone) if raised is None else list(raised)
    floor = np.asarray(
        [floors.get(z, 0.0) if up else 0.0 for z, up in zip(zone, lifted, strict=True)], dtype=float
    )
    at_stake = np.maximum(p, floor) * stake_arr(valued)
    return valued.with_columns(
        pl.Series(
            PRIORITY,
            priority_rank(
                at_stake,
                p,
                valued.get_column(STRATEGIC).to_numpy(),
                valued.get_column(CLIENT_ID).to_list(),
                zone,
            ),
            dtype=pl.Int64,
        )
    )


def value_table(
    scored: pl.DataFrame,
    clients: pl.DataFrame,
    arr: pl.DataFrame,
    horizon_days: int,
    cfg: ValueConfig,
) -> pl.DataFrame:
    """``scored`` ([client_id, churn_probability, ...]) with the value columns added.

    Adds ``arr``, ``conversion_arr``, ``lifetime_value``, ``strategic``, ``value_tier``, ``revenue_at_risk`` and
    ``priority``; row order is kept. ``arr`` is the output of :func:`annual_recurring_revenue`, with the
    columns of :func:`client_plans` joined to value the clients that never paid at their conversion
    (:func:`conversion_arr`; without them ``conversion_arr`` is null).
    """
    extra = [c for c in (Clients.MARGIN, Clients.STRATEGIC) if c in clients.columns]
    base = (
        scored.select(CLIENT_ID, Scores.PROBABILITY)
        .join(arr, on=CLIENT_ID, how="left", maintain_order="left")
        .join(clients.select(CLIENT_ID, *extra), on=CLIENT_ID, how="left", maintain_order="left")
    )
    p = base.get_column(Scores.PROBABILITY).to_numpy().astype(float)
    arr_v = base.get_column(ARR).fill_null(0.0).to_numpy().astype(float)
    margin = (
        base.get_column(Clients.MARGIN).cast(pl.Float64).fill_null(cfg.default_margin).to_numpy()
        if Clients.MARGIN in base.columns
        else np.full(len(p), cfg.default_margin)
    )
    strategic = (
        base.get_column(Clients.STRATEGIC).cast(pl.Int64).fill_null(0).to_numpy()
        if Clients.STRATEGIC in base.columns
        else np.zeros(len(p), dtype=np.int64)
    )
    ids = base.get_column(CLIENT_ID).to_list()
    ltv = margin * arr_v * retained_years(p, horizon_days, cfg, arr_v)
    rar = p * arr_v
    converted = conversion_arr(base)
    stake = stake_arr(base.with_columns(converted))
    return scored.with_columns(
        pl.Series(ARR, arr_v),
        converted,
        pl.Series(LIFETIME_VALUE, ltv),
        pl.Series(STRATEGIC, strategic, dtype=pl.Int64),
        pl.Series(VALUE_TIER, value_tiers(ltv, strategic, ids, cfg), dtype=pl.String),
        pl.Series(REVENUE_AT_RISK, rar),
        pl.Series(PRIORITY, priority_rank(p * stake, p, strategic, ids), dtype=pl.Int64),
    )


def _reason(cond: pl.Expr, text: pl.Expr) -> pl.Expr:
    return pl.when(cond).then(text)


# ticket kinds that do not weigh on the service load of not_worth_keeping: ordinary use, the product's own
# faults, and a cancellation notice (a risk, with its own rule, not a demand on the service)
_ORDINARY_TICKETS = ("question", "bug", "cancellation_request")


def keep_inputs(
    valued: pl.DataFrame,
    clients: pl.DataFrame,
    tickets: pl.DataFrame | None,
    churns: pl.DataFrame | None,
    as_of: date,
    toxic_days: int,
) -> pl.DataFrame:
    """Per row of ``valued`` (its order kept): ``client_id``, ``strategic``, ``_margin`` (null
    without one), ``_tickets`` (tickets of a known kind other than :data:`_ORDINARY_TICKETS`), ``_unkinded``
    (tickets without a kind, or of a table without the ``kind`` column: not counted as service load, their
    kind is unknown), ``_toxic`` and ``_complaints`` (complaints + discount requests, complaints), all in the
    ``toxic_days`` before ``as_of``, and ``_leaves`` (churns before it): what :func:`keep_verdicts` weighs
    against the client's value. Each a function of the client's own rows (a Spark bucket computes them, the
    driver the verdicts against the values of the whole list)."""
    cut = _midnight(as_of)
    start = cut - timedelta(days=toxic_days)
    margin = (
        clients.select(CLIENT_ID, pl.col(Clients.MARGIN).cast(pl.Float64).alias("_margin"))
        if Clients.MARGIN in clients.columns
        else clients.select(CLIENT_ID, pl.lit(None, dtype=pl.Float64).alias("_margin"))
    )
    counts = pl.DataFrame(
        schema={
            CLIENT_ID: pl.String,
            "_tickets": pl.UInt32,
            "_unkinded": pl.UInt32,
            "_toxic": pl.UInt32,
            "_complaints": pl.UInt32,
        }
    )
    if tickets is not None and tickets.height:
        if Tickets.KIND not in tickets.columns:  # an optional column: every ticket's kind unknown
            tickets = tickets.with_columns(pl.lit(None, dtype=pl.String).alias(Tickets.KIND))
        kind = pl.col(Tickets.KIND)
        counts = (
            tickets.filter((pl.col(Tickets.OPENED_AT) < cut) & (pl.col(Tickets.OPENED_AT) >= start))
            .group_by(CLIENT_ID)
            .agg(
                (kind.is_not_null() & ~kind.is_in(list(_ORDINARY_TICKETS)))
                .sum()
                .cast(pl.UInt32)
                .alias("_tickets"),
                kind.is_null().sum().cast(pl.UInt32).alias("_unkinded"),
                kind.is_in(["complaint", "discount_request"]).sum().cast(pl.UInt32).alias("_toxic"),
                (kind == "complaint").sum().cast(pl.UInt32).alias("_complaints"),
            )
        )
    leaves = pl.DataFrame(schema={CLIENT_ID: pl.String, "_leaves": pl.UInt32})
    if churns is not None and churns.height:
        leaves = (
            churns.filter(pl.col(Churns.CHURNED_AT) < cut)
            .group_by(CLIENT_ID)
            .agg(pl.len().cast(pl.UInt32).alias("_leaves"))
        )
    return (
        valued.select(CLIENT_ID, STRATEGIC)
        .join(margin, on=CLIENT_ID, how="left", maintain_order="left")
        .join(counts, on=CLIENT_ID, how="left", maintain_order="left")
        .join(leaves, on=CLIENT_ID, how="left", maintain_order="left")
        .with_columns(pl.col("_tickets", "_unkinded", "_toxic", "_complaints", "_leaves").fill_null(0))
    )


def _complaints_text(complaints: pl.Expr, discounts: pl.Expr) -> pl.Expr:
    """ "6 complaints", "1 discount request", "2 complaints and 1 discount request": what a client asked,
    without naming what it did not (6 network complaints read "complaints and discount requests")."""

    def counted(n: pl.Expr, noun: str) -> pl.Expr:
        return pl.when(n > 0).then(
            formatted("{} {}", n, pl.when(n == 1).then(pl.lit(noun)).otherwise(pl.lit(noun + "s")))
        )

    return pl.concat_str(
        [counted(complaints, "complaint"), counted(discounts, "discount request")],
        separator=" and ",
        ignore_nulls=True,
    )


def ticket_window_words(data_start: datetime | None, as_of: date, days: int) -> str:
    """How the keep flags' ticket window is said: "in 365 days", or "in the 243 days of data" when the data
    begins later than ``days`` before the as-of date (6 complaints "in 365 days" of a shop whose data held
    243)."""
    if data_start is None:
        return f"in {days} days"
    span = (datetime(as_of.year, as_of.month, as_of.day) - data_start).days
    return f"in the {max(span, 1)} days of data" if span < days else f"in {days} days"


def _margin_percent(bound: float) -> pl.Expr:
    """``_margin`` (a share under ``bound``) as the percent said beside that bound: two decimals at most,
    no trailing zeros ("9.7", "5"), cut rather than rounded where rounding would reach the bound (a margin
    of 9.7% read "margin 10%, below 10%")."""
    rounded = (pl.col("_margin") * 100).round(2)
    cut = (pl.col("_margin") * 10_000).floor() / 100
    said = pl.when(rounded < round(bound * 100, 2)).then(rounded).otherwise(cut)
    return said.cast(pl.String).str.replace(r"\.0+$", "")


def _keep_reasons(cfg: ValueConfig, currency: str, window: str | None = None) -> pl.Expr:
    """The list of the seeds that hold for a row of :func:`keep_inputs` with its stake (``_stake``: its ARR, or
    a trial's conversion ARR, ``_on_conversion``), in words (module docstring); ``window``: how the ticket
    window is said (:func:`ticket_window_words`)."""
    window = window or f"in {cfg.toxic_days} days"
    per_10k = pl.col("_tickets") / pl.col("_stake").clip(lower_bound=1.0) * 10_000
    toxic_per_10k = pl.col("_toxic") / pl.col("_stake").clip(lower_bound=1.0) * 10_000
    toxic = (pl.col("_toxic") >= cfg.toxic_tickets) & (toxic_per_10k > cfg.service_load)
    money = f"{currency} " if currency else ""
    of_arr = (
        pl.when(pl.col("_on_conversion")).then(pl.lit(" of ARR on conversion")).otherwise(pl.lit(" of ARR"))
    )
    return pl.concat_list(
        _reason(
            toxic,
            formatted(
                "{} {} for {}{}{}",
                _complaints_text(pl.col("_complaints"), pl.col("_toxic") - pl.col("_complaints")),
                pl.lit(window),
                pl.lit(money),
                pl.col("_stake").round(0).cast(pl.Int64),
                of_arr,
            ),
        ),
        _reason(
            pl.col("_margin") < cfg.low_margin,
            formatted(
                "margin {}%, below {}%",
                _margin_percent(cfg.low_margin),
                pl.lit(f"{cfg.low_margin * 100:.4g}"),
            ),
        ),
        _reason(
            # complaints and discount requests are tickets too: said once, as such, when they suffice
            (per_10k > cfg.service_load) & (pl.col("_tickets") >= cfg.toxic_tickets) & ~toxic,
            formatted(
                "{} tickets (questions, bugs and cancellation requests aside{}) {} for {}{}{}",
                pl.col("_tickets"),
                pl.when(pl.col("_unkinded") > 0)
                .then(formatted("; {} without a kind not counted", pl.col("_unkinded")))
                .otherwise(pl.lit("")),
                pl.lit(window),
                pl.lit(money),
                pl.col("_stake").round(0).cast(pl.Int64),
                of_arr,
            ),
        ),
        _reason(
            pl.col("_leaves") >= cfg.low_loyalty_returns,
            formatted("left {} times before", pl.col("_leaves")),
        ),
    ).list.drop_nulls()


def keep_verdicts(
    inputs: pl.DataFrame,
    valued: pl.DataFrame,
    cfg: ValueConfig,
    currency: str = "",
    window: str | None = None,
) -> pl.DataFrame:
    """``[client_id, not_worth_keeping, not_worth_keeping_reason]`` per row of ``inputs`` (:func:`keep_inputs`,
    its order kept), the tickets weighed against each client's stake in ``valued`` (:func:`value_table`: its
    ``arr``, or for a client that never paid its ``conversion_arr``, as its priority weighs it,
    :func:`stake_arr`): a trialist's complaints are set against what converting it would bring ("for EUR 2400
    of ARR on conversion"), not against an ARR of 0 it has only for not having paid yet. ``window``: how the
    ticket window is said (:func:`ticket_window_words`; None: "in <toxic_days> days")."""
    conversion = (
        pl.col(CONVERSION_ARR).cast(pl.Float64)
        if CONVERSION_ARR in valued.columns
        else pl.lit(None, pl.Float64)
    )
    stake = valued.select(
        CLIENT_ID,
        pl.Series("_stake", stake_arr(valued), dtype=pl.Float64),
        conversion.is_not_null().alias("_on_conversion"),
    )
    frame = inputs.join(stake, on=CLIENT_ID, how="left", maintain_order="left").with_columns(
        pl.col("_stake").fill_null(0.0), pl.col("_on_conversion").fill_null(False)
    )
    reasons = _keep_reasons(cfg, currency, window)
    strategic = pl.col(STRATEGIC) >= cfg.keep_strategic
    return frame.select(
        CLIENT_ID,
        ((reasons.list.len() > 0) & ~strategic).alias(Scores.NOT_WORTH_KEEPING),
        pl.when(strategic)
        .then(pl.lit(""))
        .otherwise(reasons.list.join("; "))
        .alias(Scores.NOT_WORTH_KEEPING_REASON),
    )


def keep_flags(
    valued: pl.DataFrame,
    clients: pl.DataFrame,
    tickets: pl.DataFrame | None,
    churns: pl.DataFrame | None,
    as_of: date,
    cfg: ValueConfig,
    currency: str = "",
    data_start: datetime | None = None,
) -> pl.DataFrame:
    """``[client_id, not_worth_keeping, not_worth_keeping_reason]`` in ``valued``'s row order
    (``data_start``: when the data begins, to say a ticket window longer than the data over its days).

    ``valued`` is :func:`value_table`'s output (``client_id``, ``arr``, ``strategic``, and ``conversion_arr``:
    a trialist is weighed at its conversion, :func:`keep_verdicts`). The reason lists every seed that holds,
    ``"; "``-joined (module docstring); it is empty when the flag is False.
    """
    inputs = keep_inputs(valued, clients, tickets, churns, as_of, cfg.toxic_days)
    return keep_verdicts(
        inputs, valued, cfg, currency, ticket_window_words(data_start, as_of, cfg.toxic_days)
    )
