"""Early-warning rules: simple, explainable alarms that fire beside the model's probability.

Grain: one row per client at one as-of date. Columns: ``client_id``, one boolean ``rule_<name>`` per
enabled rule, ``rules_fired`` (the names of the rules that fired, ``"; "``-joined, in config
order; empty when none fired) and ``rules_evidence`` (what the fired rules that say it saw for the client,
``<rule>: <what>``, ``"; "``-joined in config order: "payment_trouble: invoice INV-7 of EUR 1,200 due
2025-11-01, unpaid 47 days after"; null when none says). Every rule looks only at data strictly before the
as-of date.

The rules (``cfg.rules``; each can be switched off in ``rules.enabled``):

- ``no_activity``: no order (payment row; with an events table, one placed outside the client's terms: a term's
  charge is not activity) and no product event for ``no_activity_days`` days
  (measured from the client's creation when it never had one), nor for ``no_activity_rhythm`` times the
  client's usual gap between orders (the median of its gaps, with 3 order days or more: a quarterly buyer is
  not flagged 45 days after an order), nor (unless ``no_activity_rhythm`` is 0; with that usual gap) for no
  longer than its orders paused across the same day 52 weeks earlier (:func:`seasonal_gap_days`: a buyer of every spring is not
  flagged all winter), nor, without an events table, for the length of the term the client is
  on (:func:`churnml.scoring.crm.running_terms_at`: an annual contract is invoiced once a year); an event of ``label.activity_events`` when
  that is set (a bank's transactions, not its logins: the activity the labels read). Not evaluated when the dataset has
  neither events nor payments. Not for a paused client (:func:`churnml.scoring.crm.paused_clients`: free
  terms after paid ones; a pause is quiet by itself), nor is ``usage_drop`` (:data:`QUIET_RULES`).
- ``unanswered_outreach``: the last ``unanswered_outreach`` outbound touches all went unanswered:
  outcome ``no_reply``; an empty outcome on a channel whose touches never record one (before the as-of
  date, in the whole table: a CRM that logs calls' outcomes and not e-mails'), no inbound touch from the
  client after it; on a channel that records them, an empty one is a mailing nobody waits an answer for
  (a consumer's newsletters and a price letter listed 17% of an operator's customers); only for a client
  that answered before (one that never answers is not newly silent). A mailing is no outreach: the outbound
  touches of one day and channel to ``mailing_share`` (30%) or more of the clients on the books then and
  ``mailing_min_clients`` (20) at least (:func:`mailing_days`: a monthly newsletter logged as ``no_reply``
  e-mails) are skipped, and the list's note counts them (:func:`mailings_note`). The run must also be one the
  client's own answer rate over the window's touches before it makes unlikely, under ``unanswered_chance`` (10%)
  (:func:`unanswered_run_needed`): an app user who opens 4 push notifications in 10 needs 5 in a row, not 2.
- ``low_ratings``: the last ``low_ratings`` CSAT ratings (tickets closed before the as-of date, in
  order of closing) are all at or below ``features.low_csat``, and all given within the last
  ``low_ratings_days`` days (an outage's ratings of six months ago kept 296 customers yellow); the ratings of
  support trouble only, as the CSAT features read them (:func:`trouble_tickets`): a 1 given on a
  cancellation request rates how the exit was handled, and the request has its own rule.
- ``health_drop``: the health score fell more than ``health_drop_points`` below its highest value in
  the last ``health_drop_weeks`` weeks (from the scored health history).
- ``data_export``: a data-export event within the last ``data_export_days`` days.
- ``champion_change``: a ``champion_left`` signal within the last ``champion_change_days`` days.
- ``term_lapsed``: no running term, and the last one ended ``term_lapsed_days`` to ``label.grace_days``
  days ago (not renewed; a renewal charged or exported a day or two late is no lapse), or, after a cancellation
  notice that stands, from the day it ended (the notice says no renewal is coming: nothing to settle).
- ``complaints``: at least ``complaints`` complaint tickets opened in the last ``complaints_days`` days, and
  more than ``complaints_per_order`` of the client's orders placed in those days (:func:`complaints_beyond_use`;
  a client without orders, by its count alone): complaints come with use, and a car-sharing service's commuters,
  11 trips a week, complained most and left least; and more than ``complaints_per_user`` per distinct user active
  in the feature window nearest those days (a team of 16 at a coworking operator's desks files a team's complaints;
  without user ids, not counted).
- ``cancellation_request``: a notice that stands (:func:`churnml.scoring.crm.cancellation_notices`: a
  ``cancellation_request`` ticket in the last ``cancellation_days`` days, or earlier while the base term running
  when it was given still runs (an annual plan's auto-renewal turned off months before its end), no
  ``cancellation_withdrawn`` signal
  since, no renewal started since: a term longer than :data:`churnml.scoring.crm.MAX_NOTICE_DAYS` (92 days)
  starting after it, an annual policy's next year; a shorter one is its notice period) and is not yet in effect: a base term still runs or is booked, or the
  client has none on record (once it ended unrenewed, ``term_lapsed`` fires at once).
- ``payment_trouble``: a failed payment in the last ``payment_trouble_days`` days (dated at its attempt,
  ``paid_at``; its invoice's ``issued_at`` when that is empty) that no order paid after it settled
  (:func:`churnml.labels.orders`; failures on two days for a client without a term: a failed top-up is tried
  again), or an invoice
  still unpaid ``overdue_days`` after its due date and later than the client paid any invoice in the
  ``overdue_usual_days`` before its oldest overdue invoice fell due (:func:`latest_days_late`: its own habit; a
  payment made since is the trouble, not the habit).
- ``vendor_review``: a ``vendor_review`` or ``competitor_trial`` signal in the last ``vendor_review_days``.
- ``budget_pressure``: a ``layoffs`` or ``budget_cut`` signal in the last ``budget_pressure_days`` (it decides
  the action, a value review before their budget decision; it raises no zone by default: many weather it).
- ``usage_drop``: product events in the last ``usage_drop_days`` down ``usage_drop_share`` or more against the
  client's own usual (:func:`usage_ratios`: since its return for a client back from an absence; over the days of
  data when they are fewer than its window, ``features.unobserved_windows: scaled``), and against
  the portfolio's drop of the same weeks when most clients' use and the portfolio's total use fell
  (:func:`portfolio_usage_ratio` over every client: a caller that hands the rules part of the list, a Spark
  client bucket, passes the whole list's as ``portfolio_ratio``; the list says so,
  :func:`portfolio_usage_note`).
- ``onboarding_stalled``: a young client with little real use (:func:`churnml.scoring.crm.onboarding_stalled`).

Each rule is a :class:`Rule` object in :data:`RULES` (name, text with its thresholds, the settings it
reads, and ``evaluate``: the clients it fires for, with an ``_evidence`` column when it says what it saw for
each). A fired rule decides the action
(``playbooks.rules``) and can raise the zone (``rules.raise_zone``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

import polars as pl

from churnml.config import RulesConfig
from churnml.contract.schemas import (
    CLIENT_ID,
    Churns,
    Clients,
    Communications,
    Events,
    Interventions,
    Payments,
    Signals,
    Subscriptions,
    Table,
    Tickets,
)
from churnml.features.registry import nearest_window_column
from churnml.scoring.columns import Scores
from churnml.scoring.crm import (
    EARLY_RENEWAL_SHARE,
    MONTHLY_TERM_DAYS,
    PAUSED,
    TERM_DAYS,
    paused_clients,
    running_at,
    running_terms_at,
    same_cycle,
)
from churnml.scoring.outputs import History
from churnml.scoring.sentences import formatted

__all__ = [
    "CROWDED_RULE_MIN",
    "CROWDED_RULE_SHARE",
    "EVIDENCE_SEPARATOR",
    "MAILING_MIN_CLIENTS",
    "MAILING_SHARE",
    "MONTHLY_TERM_DAYS",
    "PORTFOLIO_DIP_RATIO",
    "PORTFOLIO_MIN_CLIENTS",
    "PRICE_RISE_KIND",
    "PRICE_RISE_KINDS",
    "PRICE_RISE_SAID",
    "QUIET_RULES",
    "RHYTHM_MIN_GAPS",
    "RULES",
    "RULE_TEXT",
    "SEASON_GAP",
    "SEASON_NOTE",
    "SEASON_SAID",
    "STANDING_DISCOUNT_DAYS",
    "UNOWED_FAILURES",
    "USUAL_GAP",
    "Rule",
    "RuleInput",
    "amount_said",
    "client_usage_ratios",
    "complaints_beyond_use",
    "crowded_rules_note",
    "evidence_by_rule",
    "failed_payments_said",
    "fired_rules",
    "grouped_count",
    "latest_days_late",
    "mailing_days",
    "mailings_note",
    "no_activity_flags",
    "order_rhythm_days",
    "orders_within",
    "overdue_invoices_said",
    "portfolio_usage_note",
    "portfolio_usage_ratio",
    "portfolio_usage_total",
    "price_rise_kinds",
    "rule_descriptions",
    "season_pauses",
    "seasonal_gap_days",
    "trouble_tickets",
    "unanswered_run_needed",
    "unreachable_no_activity_note",
    "unsettled_failure_rows",
    "unsettled_failures",
    "usage_dip_note",
    "usage_drop_columns",
    "usage_ratios",
    "without_mailings",
]

RULE_TEXT: dict[str, str] = {
    "no_activity": "no order and no product activity for {no_activity_days} days, and for {no_activity_rhythm:g} "
    "times the client's usual gap between orders",
    "unanswered_outreach": "the last {unanswered_outreach} outreaches within {unanswered_days} days went unanswered "
    "(or more: a run its own answer rate gives by chance under {unanswered_chance:.0%} of the time; a client that used to answer, not reached by a logged intervention nor writing in with a ticket since; a "
    "mailing, one channel and day to {mailing_share:.0%} or more of the clients and {mailing_min_clients} at least, "
    "is no outreach)",
    "low_ratings": "the last {low_ratings} satisfaction ratings were low (within {low_ratings_days} days)",
    "health_drop": "health dropped more than {health_drop_points:g} points in {health_drop_weeks} weeks",
    "data_export": "exported data in the last {data_export_days} days",
    "champion_change": "the champion left in the last {champion_change_days} days",
    "term_lapsed": "the term ended at least {term_lapsed_days} days ago (at once when the client had given notice) "
    "and was not renewed (within the {grace_days}-day grace period)",
    "complaints": "{complaints} or more complaints in the last {complaints_days} days, more than "
    "{complaints_per_order:.0%} of the client's orders in them",
    # said as a reason on the list: short; the module docstring gives the whole test
    "cancellation_request": "asked to cancel in the last {cancellation_days} days (or earlier in the running term), "
    "not withdrawn, renewed since nor yet in effect",
    "payment_trouble": "a failed payment in the last {payment_trouble_days} days not settled since, or an invoice "
    "unpaid {overdue_days} days after its due date and later than it paid any in the {overdue_usual_days} days before",
    "contraction": "recurring revenue cut by {contraction_share:.0%} or more against {contraction_days} days ago "
    "(fewer seats, a smaller plan)",
    "price_rise": "the price rises by {price_rise_share:.0%} or more within {price_rise_days} days, or rose so in the "
    "last {price_rise_days} days (the next term booked at a higher price, a discount of {price_rise_discount:.0%} or "
    "more ending, or the running term, monthly or ending within {price_rise_days} days, costing that much more than "
    "the plan did on terms as long at any time in the {price_rise_days} days up to {price_rise_days} days ago: a "
    "monthly plan renewed at a higher price, not a price that varies from term to term nor deliveries more often)",
    "usage_drop": "product use in the last {usage_drop_days} days down {usage_drop_share:.0%} or more against "
    "the client's own usual (and against the portfolio's, when everyone's use fell the same weeks)",
    "vendor_review": "a vendor review or a competitor trial in the last {vendor_review_days} days",
    "budget_pressure": "layoffs or a budget cut in the last {budget_pressure_days} days",
    "onboarding_stalled": "onboarding stalled: a young client with little real use",
}


def rule_descriptions(cfg: RulesConfig, grace_days: int = 30) -> dict[str, str]:
    """Plain-language text of each enabled rule with its configured thresholds."""
    return {name: RULES[name].describe(cfg, grace_days) for name in cfg.enabled}


# a rule firing for at least this share of the listed clients (and CROWDED_RULE_MIN of them) is said: it tells
# no one apart, and its action then crowds out every other one (a routine export listed as an export event)
CROWDED_RULE_SHARE = 0.5
CROWDED_RULE_MIN = 10
# settings outside ``rules`` that decide what a rule reads
_RULE_INPUTS = {"data_export": ("features.export_events",), "low_ratings": ("features.low_csat",)}


def crowded_rules_note(fired: Sequence[str], cfg: RulesConfig, grace_days: int = 30) -> str | None:
    """A note naming each rule that fired for at least :data:`CROWDED_RULE_SHARE` of the list's clients
    (``fired``: the list's ``rules_fired`` cells, rules ``"; "``-joined), with what it means and the settings
    it reads; None when no rule does (or the list is under :data:`CROWDED_RULE_MIN` clients)."""
    n = len(fired)
    counts: dict[str, int] = {}
    for cell in fired:
        for name in filter(None, (cell or "").split("; ")):
            counts[name] = counts.get(name, 0) + 1
    crowded = [r for r in cfg.enabled if counts.get(r, 0) >= max(CROWDED_RULE_MIN, CROWDED_RULE_SHARE * n)]
    if not crowded:
        return None
    parts = []
    for name in crowded:
        keys = [f"rules.{k}" for k in RULES[name].thresholds] + list(_RULE_INPUTS.get(name, ()))
        parts.append(
            f"{name} ({RULES[name].describe(cfg, grace_days)}) fires for {counts[name]:,} of {n:,} clients"
            + (f" (settings: {', '.join(keys)})" if keys else "")
        )
    return (
        "; ".join(parts)
        + ": a rule that fires for most of the list tells no one apart and its action crowds out the others; "
        "check what it reads, or switch it off (rules.enabled)"
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _day(column: str) -> pl.Expr:
    """A time column said as its day, ``2025-11-20``."""
    return pl.col(column).dt.strftime("%Y-%m-%d")


def _plural(n: pl.Expr, one: str, many: str) -> pl.Expr:
    """``"1 complaint"`` / ``"3 complaints"``: a count with its noun."""
    return formatted("{} {}", n, pl.when(n == 1).then(pl.lit(one)).otherwise(pl.lit(many)))


def _days_said(days: pl.Expr) -> pl.Expr:
    """A number of days, rounded to whole ones, with its noun: ``"1 day"``, ``"30 days"`` (a commuter's usual gap
    between its trips read "usual gap of 1 days")."""
    return _plural(days.round(0).cast(pl.Int64), "day", "days")


def _flag(ids: pl.DataFrame, hits: pl.DataFrame, name: str) -> pl.DataFrame:
    """``ids`` with a boolean column ``name``: True for the client_ids in ``hits``."""
    marked = hits.select(CLIENT_ID).unique().with_columns(pl.lit(True).alias(name))
    return ids.join(marked, on=CLIENT_ID, how="left", maintain_order="left").with_columns(
        pl.col(name).fill_null(False)
    )


def _no_activity(
    ids: pl.DataFrame,
    tables: Mapping[Table, pl.DataFrame],
    cut: datetime,
    days: int,
    activity_events: Sequence[str] | None = None,
    rhythm: float = 0.0,
) -> pl.DataFrame | None:
    """Per client of ``ids`` (same order; ``client_id``, ``_fires``, ``_evidence``, ``_quiet``: the days since
    that last order or event, ``_in_season``: silent ``days`` or more but no longer than its season's pause,
    :data:`SEASON_GAP`, :func:`season_pauses`): whether its last order
    or event (of ``activity_events``, None: every one) before ``cut`` is ``days`` or more ago (its creation
    when it has none), and ``rhythm`` times its usual gap between orders or more (:func:`order_rhythm_days`: a
    quarterly buyer 40 days after an order is on its rhythm) and, then, longer than its orders paused across the
    same day 52 weeks before when that pause is its season, the same pause every year its orders reach back to
    (:func:`seasonal_gap_days`; one pause across the day is none), and what that says ("last order or activity on
    2025-08-03, 120 days ago, 4.0 times its usual gap of 30 days"); None without events and payments. With an events table, a payment while a term of the
    client ran is its charge (a monthly direct debit), not activity: only the orders placed outside its terms
    count (:func:`churnml.scoring.crm.placed_orders`; a gym member who stopped coming but still pays was never
    "inactive"). Without events the orders are the only activity there is, charges included, and a client on a
    term is quiet only once its last order is also older than that term (:func:`churnml.scoring.crm.running_terms_at`: an annual
    contract invoiced when it began is not "348 days without an order"). The charges left out are said when one
    is later than the last order or activity read (:func:`_charges_aside`): a coffee subscriber paying every
    two weeks read "no order or activity since it was created on 2026-07-19, 104 days ago"."""
    stamps = []
    order_stamps = None
    charges = None
    events = tables.get(Table.EVENTS)
    if events is not None:
        log = events.lazy()
        if activity_events is not None:
            log = log.filter(pl.col(Events.EVENT).is_in(list(activity_events)))
        stamps.append(log.select(CLIENT_ID, pl.col(Events.TS).cast(pl.Datetime("us")).alias("t")))
    payments = tables.get(Table.PAYMENTS)
    if payments is not None:  # its orders: an invoice issued, a declined card or a refund is no order
        from churnml.labels import order_placed_at, orders
        from churnml.scoring.crm import placed_orders

        if events is not None:
            placed = placed_orders(payments, tables.get(Table.SUBSCRIPTIONS), cut)
            order_stamps = placed.lazy().select(pl.col(CLIENT_ID).cast(ids.schema[CLIENT_ID]), "t")
            charges = _last_charges(payments, placed, cut).select(
                pl.col(CLIENT_ID).cast(ids.schema[CLIENT_ID]), "_charged"
            )
        else:
            placed_at = order_placed_at(payments.columns).cast(pl.Datetime("us")).alias("t")
            order_stamps = orders(payments).lazy().select(CLIENT_ID, placed_at)
        stamps.append(order_stamps)
    if not stamps:
        return None
    # lazy: the filter and the aggregation run on each table in place, no concatenated copy of the events
    last = (
        pl.concat(stamps)
        .filter(pl.col("t") < cut)
        .group_by(CLIENT_ID)
        .agg(pl.col("t").max().alias("last"))
        .collect()
    )
    clients = tables[Table.CLIENTS].select(CLIENT_ID, pl.col(Clients.CREATED_AT).alias("created"))
    frame = (
        ids.join(last, on=CLIENT_ID, how="left", maintain_order="left")
        .join(clients, on=CLIENT_ID, how="left", maintain_order="left")
        .with_columns((pl.lit(cut) - pl.coalesce("last", "created")).dt.total_days().alias("_quiet"))
    )
    quiet = pl.col("_quiet") >= days
    subscriptions = tables.get(Table.SUBSCRIPTIONS)
    if events is None and subscriptions is not None:
        # no usage log: a client on a term is charged once a term (an annual contract's one invoice a year)
        terms = running_terms_at(subscriptions, cut).select(
            pl.col(CLIENT_ID).cast(ids.schema[CLIENT_ID]), TERM_DAYS
        )
        frame = frame.join(terms, on=CLIENT_ID, how="left", maintain_order="left")
        quiet &= (pl.col("_quiet") >= pl.col(TERM_DAYS)).fill_null(True)
    said = pl.lit(None, pl.String)
    in_season = pl.lit(False)
    if rhythm > 0 and order_stamps is not None:
        silent_long = quiet  # silent no_activity_days (and its term): the season alone keeps it from firing
        # the usual gap only of the clients silent that long: a few, not every order of the portfolio
        silent = frame.filter(quiet).select(CLIENT_ID)
        usual = order_rhythm_days(order_stamps.filter(pl.col("t") < cut).join(silent.lazy(), on=CLIENT_ID))
        frame = frame.join(usual, on=CLIENT_ID, how="left", maintain_order="left")
        quiet &= (pl.col("_quiet") >= rhythm * pl.col(USUAL_GAP)).fill_null(True)
        season = seasonal_gap_days(order_stamps.join(silent.lazy(), on=CLIENT_ID), cut)
        frame = frame.join(season, on=CLIENT_ID, how="left", maintain_order="left")
        # its season, for a client with a rhythm (3 order days or more): one pause is no season either
        within = pl.col("_quiet") <= pl.col(SEASON_GAP)
        season_pause = (pl.col(USUAL_GAP).is_not_null() & within).fill_null(False)
        in_season = silent_long & season_pause  # whatever its rhythm says: its silence is its season
        quiet &= ~season_pause
        # to a tenth: floored, 170 days against a usual 90 read "1 times its usual gap", a client on its rhythm
        times = (pl.col("_quiet") / pl.col(USUAL_GAP)).round(1)
        said = formatted(", {} times its usual gap of {}", times, _days_said(pl.col(USUAL_GAP)))
    what = " or ".join(
        w for w, there in (("order", payments is not None), ("activity", events is not None)) if there
    )
    quiet_for = formatted("{} ago", _plural(pl.col("_quiet"), "day", "days"))
    evidence = (
        pl.when(pl.col("last").is_not_null())
        .then(formatted(f"last {what} on {{}}, {{}}", _day("last"), quiet_for))
        .otherwise(formatted(f"no {what} since it was created on {{}}, {{}}", _day("created"), quiet_for))
    )
    aside = pl.lit("")
    if charges is not None:
        frame = frame.join(charges, on=CLIENT_ID, how="left", maintain_order="left")
        aside = _charges_aside("last", "_charged")
    return frame.select(
        CLIENT_ID,
        quiet.fill_null(False).alias("_fires"),
        pl.concat_str([evidence, said.fill_null(""), aside]).alias(_EVIDENCE),
        pl.col("_quiet"),
        in_season.fill_null(False).alias(_IN_SEASON),
        (pl.col(SEASON_GAP) if SEASON_GAP in frame.columns else pl.lit(None, pl.Int64)).alias(SEASON_GAP),
    )


def _last_charges(payments: pl.DataFrame, placed: pl.DataFrame, cut: datetime) -> pl.DataFrame:
    """``[client_id, _charged]``, one row per client with one: the time of its last order before ``cut``
    (:func:`churnml.labels.orders`, at :func:`churnml.labels.order_placed_at`) that is no order it placed
    (``placed``, :func:`churnml.scoring.crm.placed_orders`): a charge of one of its terms, which
    ``no_activity`` does not read as activity."""
    from churnml.labels import order_placed_at, orders

    dt = pl.Datetime("us")
    every = orders(payments).select(
        pl.col(CLIENT_ID).cast(pl.String), order_placed_at(payments.columns).cast(dt).alias("t")
    )
    return (
        every.filter(pl.col("t") < cut)
        .join(
            placed.select(pl.col(CLIENT_ID).cast(pl.String), pl.col("t").cast(dt)),
            on=[CLIENT_ID, "t"],
            how="anti",
        )
        .group_by(CLIENT_ID)
        .agg(pl.col("t").max().alias("_charged"))
    )


def _charges_aside(last: str, charged: str) -> pl.Expr:
    """``" (the charges of its terms aside, the last on 2026-10-25)"`` when the client's last charge (column
    ``charged``) is later than the last order or activity the rule read (column ``last``, null: none), else
    "": the words no_activity adds so that a subscriber paid up to date is not said to have ordered nothing."""
    later = pl.col(charged).is_not_null() & (pl.col(last).is_null() | (pl.col(charged) > pl.col(last)))
    return (
        pl.when(later)
        .then(formatted(" (the charges of its terms aside, the last on {})", _day(charged)))
        .otherwise(pl.lit(""))
    )


# the usual gap between a client's orders (:func:`order_rhythm_days`), in days
USUAL_GAP = "_usual_gap"
# a usual gap wants at least this many gaps (3 order days): one gap between two orders is no rhythm yet
RHYTHM_MIN_GAPS = 2


def order_rhythm_days(order_stamps: pl.LazyFrame) -> pl.DataFrame:
    """``client_id``, :data:`USUAL_GAP`: the median gap in days between a client's order days
    (:func:`churnml.labels.activity_day_gaps`, the label's rhythm notes' measure), for the clients with
    :data:`RHYTHM_MIN_GAPS` gaps or more. ``order_stamps``: ``client_id``, ``t`` (an order's time). The orders
    alone: the payments are read whole on every path, where the rules may see only a few events per client
    (the scoring window's portfolio view)."""
    from churnml.labels import activity_day_gaps

    gaps = activity_day_gaps(order_stamps.collect(), at="t")
    return gaps.filter(pl.col("_n") >= RHYTHM_MIN_GAPS).select(
        pl.col(CLIENT_ID), pl.col("_med").cast(pl.Float64).alias(USUAL_GAP)
    )


# a client's pause between orders across the same day a year before (:func:`seasonal_gap_days`), in days
SEASON_GAP = "_season_gap"
_YEAR_OF_WEEKS = timedelta(days=364)  # 52 weeks: the same weekday
# a season's pause begins on the same day of the year give or take a month: the client's last order before it
# within this many days of that day a year earlier (a buyer of every spring placing one order less, April 1 not
# May 1, is still on its season; one that stopped three months earlier last year is not)
SEASON_SLACK_DAYS = 31


def _last_order_before(stamps: pl.LazyFrame, instant: datetime, name: str) -> pl.LazyFrame:
    """``client_id``, ``name``: each client's last order (``t``) before ``instant``; clients without one left out."""
    return stamps.filter(pl.col("t") < instant).group_by(CLIENT_ID).agg(pl.col("t").max().alias(name))


def seasonal_gap_days(order_stamps: pl.LazyFrame, cut: datetime) -> pl.DataFrame:
    """``client_id``, :data:`SEASON_GAP`: for each client whose silence at ``cut`` is its season, how long its
    orders paused across the same day 52 weeks before ``cut`` (from its last order before that day to its first
    after it, before ``cut``). ``order_stamps``: ``client_id``, ``t``.

    One pause across that day is no season (a client that stopped once for 300 days and came back): a season is
    the same pause each year. The pause a year ago must have begun when this one did, its last order on the day
    of the year of the client's last order before ``cut``, give or take :data:`SEASON_SLACK_DAYS`, and ended
    in a return (an order after the day, before ``cut``); and so in every
    earlier year its orders reach back to (an order before the same day 2, 3, ... years earlier: a client
    ordering through that stretch two years ago paused by chance last year). A garden shop's buyer of every
    spring (March to May) stopped on May 1 and came back on March 2: silent 249 days in January, it is where
    it was a year earlier; in mid-March, its last order a year earlier was on March 2, not in May: it is late
    for its season (no row). A monthly buyer that paused from August to June a year ago and stopped in June
    this year has no season either."""
    stamps = order_stamps.filter(pl.col("t") < cut)
    year_ago = cut - _YEAR_OF_WEEKS
    after = stamps.filter(pl.col("t") >= year_ago).group_by(CLIENT_ID).agg(pl.col("t").min().alias("_after"))
    spans = stamps.group_by(CLIENT_ID).agg(
        pl.col("t").max().alias("_last"), pl.col("t").min().alias("_first")
    )
    frame = (
        spans.join(_last_order_before(stamps, year_ago, "_before"), on=CLIENT_ID)
        .join(after, on=CLIENT_ID)
        .collect()
    )
    first = frame.get_column("_first").min()
    years = 0 if first is None else int((cut - first) / _YEAR_OF_WEEKS)  # type: ignore[operator]
    same = pl.lit(True)
    for k in range(1, years + 1):
        shift = _YEAR_OF_WEEKS * k
        before = _last_order_before(stamps, cut - shift, f"_before{k}").collect()
        frame = frame.join(before, on=CLIENT_ID, how="left")
        # its last order k years before this silence's: on the same day of the year (unknown: not observed)
        apart = (pl.col(f"_before{k}") - (pl.col("_last") - shift)).dt.total_days().abs()
        same &= (apart <= SEASON_SLACK_DAYS).fill_null(True)
    return frame.filter(same).select(
        CLIENT_ID, (pl.col("_after") - pl.col("_before")).dt.total_days().alias(SEASON_GAP)
    )


# _no_activity's column: silent long enough for the rule, but no longer than its orders paused a year earlier
_IN_SEASON = "_in_season"
# season_pauses' column: the client's season's pause said plainly (:data:`SEASON_SAID`)
SEASON_NOTE = "_season_said"
SEASON_SAID = "Silent {} days: its orders paused {} days across this day a year ago"


def no_activity_flags(
    tables: Mapping[Table, pl.DataFrame],
    client_ids: Sequence[str],
    as_of: date,
    cfg: RulesConfig,
    activity_events: Sequence[str] | None = None,
) -> pl.DataFrame | None:
    """``no_activity``'s test of each client of ``client_ids`` at ``as_of`` under ``cfg`` (:func:`_no_activity`:
    ``client_id``, ``_fires``, ``_evidence``, ``_quiet``, ``_in_season`` and, under ``no_activity_rhythm``,
    :data:`SEASON_GAP`; None without events and payments), whether the rule is enabled or not: what the rule
    (:func:`fired_rules`' ``no_activity``) and :func:`season_pauses` read, computed once by a weekly list."""
    ids = pl.DataFrame({CLIENT_ID: pl.Series(list(client_ids), dtype=pl.String)})
    return _no_activity(
        ids,
        tables,
        _midnight(as_of),
        cfg.no_activity_days,
        None if activity_events is None else tuple(activity_events),
        cfg.no_activity_rhythm,
    )


def season_pauses(
    tables: Mapping[Table, pl.DataFrame],
    client_ids: Sequence[str],
    as_of: date,
    cfg: RulesConfig,
    activity_events: Sequence[str] | None = None,
    *,
    flags: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[client_id, _quiet, _season_gap, _season_said]``, one row per client of ``client_ids`` in its season's
    pause at ``as_of``: the days since its last order or activity, how long its orders paused across the same day
    52 weeks earlier (:func:`seasonal_gap_days`) and that said (:data:`SEASON_SAID`). In its season's pause is a
    client silent ``no_activity_days`` or more (and, without events, past its term) that its season alone keeps
    ``no_activity`` from flagging: silent no longer than that pause, with a usual gap (3 order days or more; one
    pause is no season), whether or not its rhythm (``no_activity_rhythm`` times its usual gap) would keep it too.
    The rule's own test (:func:`_no_activity`, whether the rule is enabled or not; ``activity_events``:
    ``label.activity_events``); none under ``no_activity_rhythm`` 0 or without payments. A buyer of every
    spring (March 1, April 1, May 1) on 2026-01-05: "Silent 249 days: its orders paused 305 days across this day
    a year ago" (from 2024-05-01 to 2025-03-02): its silence is its season, no sign of leaving. ``flags``:
    :func:`no_activity_flags` of the same clients, date and settings when the caller already holds them (the
    rule read them too); None: computed here."""
    schema = {CLIENT_ID: pl.String, "_quiet": pl.Int64, SEASON_GAP: pl.Int64, SEASON_NOTE: pl.String}
    if cfg.no_activity_rhythm <= 0 or Table.PAYMENTS not in tables:
        return pl.DataFrame(schema=schema)
    if flags is None:
        flags = no_activity_flags(tables, client_ids, as_of, cfg, activity_events)
    if flags is None:
        return pl.DataFrame(schema=schema)
    return (
        flags.filter(_IN_SEASON)
        .select(
            pl.col(CLIENT_ID).cast(pl.String),
            pl.col("_quiet").cast(pl.Int64),
            pl.col(SEASON_GAP).cast(pl.Int64),
        )
        .with_columns(formatted(SEASON_SAID, "_quiet", SEASON_GAP).alias(SEASON_NOTE))
    )


def _not_reached_since(
    unanswered: pl.DataFrame, communications: pl.DataFrame, ctx: RuleInput
) -> pl.DataFrame:
    """The clients of ``unanswered`` not heard from since their last outbound touch: an intervention whose
    outcome says the team reached them (a save call held, :func:`churnml.scoring.crm.reached`) or a ticket
    they opened after it answers for them (a client writing to support this week is not unreachable)."""
    from churnml.scoring.crm import reached

    if unanswered.height == 0:
        return unanswered
    heard: list[pl.DataFrame] = []
    interventions = ctx.tables.get(Table.INTERVENTIONS)
    if interventions is not None and Interventions.OUTCOME in interventions.columns:
        heard.append(
            interventions.filter(reached() & (pl.col(Interventions.TS) < ctx.cut)).select(
                pl.col(CLIENT_ID).cast(pl.String),
                pl.col(Interventions.TS).cast(pl.Datetime("us")).alias("_met"),
            )
        )
    tickets = ctx.tables.get(Table.TICKETS)
    if tickets is not None:
        heard.append(
            tickets.filter(pl.col(Tickets.OPENED_AT) < ctx.cut).select(
                pl.col(CLIENT_ID).cast(pl.String),
                pl.col(Tickets.OPENED_AT).cast(pl.Datetime("us")).alias("_met"),
            )
        )
    if not heard:
        return unanswered
    last_out = (
        communications.filter(
            (pl.col(Communications.DIRECTION) == "out") & (pl.col(Communications.TS) < ctx.cut)
        )
        .group_by(pl.col(CLIENT_ID).cast(pl.String))
        .agg(pl.col(Communications.TS).max().cast(pl.Datetime("us")).alias("_out"))
    )
    met = (
        pl.concat(heard)
        .group_by(CLIENT_ID)
        .agg(pl.col("_met").max())
        .join(last_out, on=CLIENT_ID)
        .filter(pl.col("_met") > pl.col("_out"))
    )
    return unanswered.join(met.select(CLIENT_ID), on=CLIENT_ID, how="anti")


# outbound touches on one day and channel to at least this share of the clients on the books then (created by that
# day, not gone: a churns record before it with no return since) and to at least MAILING_MIN_CLIENTS of them are a
# mailing (a newsletter, a price letter), no outreach: unanswered_outreach skips them (a coworking operator's monthly
# newsletters, logged as outbound no_reply e-mails, made it fire for 91 of 140 members, 81 of them green). The
# defaults of rules.mailing_share and rules.mailing_min_clients; the rule reads the configured ones
MAILING_SHARE: float = RulesConfig.model_fields["mailing_share"].default
MAILING_MIN_CLIENTS: int = RulesConfig.model_fields["mailing_min_clients"].default


def _gone_spells(
    churns: pl.DataFrame,
    cut: datetime,
    tables: Mapping[Table, pl.DataFrame] | None = None,
    grace_days: int = 30,
    activity_events: Sequence[str] | None = None,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[client_id, _from, _to]`` (Date), one row per absence of a client: gone on the days strictly between
    ``_from``, the day of a ``churns`` record before ``cut``, and ``_to``, the day it came back
    (:func:`churnml.labels.returns_after_churns` of ``tables``, signs strictly before ``cut``; null while it has
    not). A client's overlapping absences are one (two records of one absence): a client is gone once, however
    many records it has. ``tables``: the dataset's tables, where a return is read (a new term; events or orders
    without terms); None: no return is known. An absence that ends the day it begins is left out. ``customer``:
    :func:`churnml.labels.customer_terms` of ``tables``' subscriptions when the caller holds it."""
    from churnml.labels import RETURNED_AT, returns_after_churns

    schema = {CLIENT_ID: pl.String, "_from": pl.Date, "_to": pl.Date}
    left = churns.filter(pl.col(Churns.CHURNED_AT) < cut).select(
        pl.col(CLIENT_ID).cast(pl.String), pl.col(Churns.CHURNED_AT).cast(pl.Datetime("us"))
    )
    if left.height == 0:
        return pl.DataFrame(schema=schema)
    if tables is None:
        back = left.with_columns(pl.lit(None, pl.Datetime("us")).alias(RETURNED_AT))
    else:
        back = returns_after_churns(
            tables, left, grace_days, before=cut, activity_events=activity_events, customer=customer
        )
    far = pl.lit(date.max)  # not back: the absence runs on
    spells = (
        back.select(
            CLIENT_ID,
            pl.col(Churns.CHURNED_AT).dt.date().alias("_from"),
            pl.col(RETURNED_AT).cast(pl.Datetime("us")).dt.date().fill_null(far).alias("_to"),
        )
        .sort(CLIENT_ID, "_from")
        # a new absence starts on or after every earlier one's return, else it is the same absence
        .with_columns(pl.col("_to").cum_max().shift(1).over(CLIENT_ID).alias("_until"))
        .with_columns(
            (pl.col("_until").is_null() | (pl.col("_from") >= pl.col("_until")))
            .cum_sum()
            .over(CLIENT_ID)
            .alias("_n")
        )
        .group_by(CLIENT_ID, "_n")
        .agg(pl.col("_from").min(), pl.col("_to").max())
    )
    return (
        spells.filter(pl.col("_to") > pl.col("_from"))
        .select(CLIENT_ID, "_from", pl.when(pl.col("_to") < far).then(pl.col("_to")).alias("_to"))
        .sort(CLIENT_ID, "_from")
    )


def mailing_days(
    communications: pl.DataFrame,
    clients: pl.DataFrame | None,
    churns: pl.DataFrame | None,
    cut: datetime,
    share: float = MAILING_SHARE,
    least: int = MAILING_MIN_CLIENTS,
    *,
    tables: Mapping[Table, pl.DataFrame] | None = None,
    grace_days: int = 30,
    activity_events: Sequence[str] | None = None,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[_day, channel, _reached]``: the days (before ``cut``) and channels of the mailings, one row each: its
    outbound touches reached at least ``least`` clients and at least ``share`` of the clients on the books that
    day (``clients`` created by its end, less the distinct clients gone then: a ``churns`` record before it and
    no return by it, :func:`_gone_spells`; without ``clients``, the clients of ``communications``); ``_reached``:
    how many clients it reached. A broadcast, not an outreach that waits for an answer. ``tables``: the dataset's
    tables, where a return after a churn is read (:func:`churnml.labels.returns_after_churns` with ``grace_days``,
    ``label.grace_days``, and ``activity_events``, ``label.activity_events``); None: no one came back. ``customer``:
    :func:`churnml.labels.customer_terms` of ``tables``' subscriptions when the caller holds it."""
    day = pl.col(Communications.TS).cast(pl.Datetime("us")).dt.date().alias("_day")
    sent = (
        communications.filter((pl.col(Communications.DIRECTION) == "out") & (pl.col(Communications.TS) < cut))
        .group_by(day, pl.col(Communications.CHANNEL))
        .agg(pl.col(CLIENT_ID).n_unique().alias("_reached"))
        .filter(pl.col("_reached") >= least)
    )
    schema = {
        "_day": pl.Date,
        Communications.CHANNEL: communications.schema[Communications.CHANNEL],
        "_reached": pl.UInt32,
    }
    if sent.height == 0:
        return pl.DataFrame(schema=schema)
    if clients is not None:
        born = clients.select(pl.col(Clients.CREATED_AT).cast(pl.Datetime("us")).dt.date().alias("_d"))
    else:
        born = communications.group_by(CLIENT_ID).agg(
            pl.col(Communications.TS).min().cast(pl.Datetime("us")).dt.date().alias("_d")
        )
    spells = (
        _gone_spells(churns, cut, tables, grace_days, activity_events, customer)
        if churns is not None and churns.height
        else pl.DataFrame(schema={CLIENT_ID: pl.String, "_from": pl.Date, "_to": pl.Date})
    )
    days = sent.get_column("_day").unique().sort()

    def count_by(dates: pl.Series, strictly: bool) -> pl.Series:
        # per mailing day, how many of ``dates`` fall by it (strictly: before it; else on or before it)
        return (
            dates.drop_nulls().sort().search_sorted(days, side="left" if strictly else "right").cast(pl.Int64)
        )

    # gone on a day: an absence begun before it and not ended by it (back that day or before is on the books)
    gone = count_by(spells.get_column("_from"), True) - count_by(spells.get_column("_to"), False)
    books = pl.DataFrame({"_day": days, "_n": count_by(born.get_column("_d"), False), "_gone": gone})
    return (
        sent.join(books, on="_day")
        .filter(pl.col("_reached") >= share * (pl.col("_n") - pl.col("_gone")).clip(lower_bound=1))
        .select("_day", Communications.CHANNEL, "_reached")
    )


def without_mailings(communications: pl.DataFrame, ctx: RuleInput) -> pl.DataFrame:
    """``communications`` without the outbound touches of a mailing (:func:`mailing_days` at ``rules.mailing_share``
    and ``rules.mailing_min_clients``)."""
    mailings = mailing_days(
        communications,
        ctx.tables.get(Table.CLIENTS),
        ctx.tables.get(Table.CHURNS),
        ctx.cut,
        ctx.cfg.mailing_share,
        ctx.cfg.mailing_min_clients,
        tables=ctx.tables,
        grace_days=ctx.grace_days,
        activity_events=ctx.activity_events,
        customer=ctx.customer,
    )
    if mailings.height == 0:
        return communications
    day = pl.col(Communications.TS).cast(pl.Datetime("us")).dt.date().alias("_day")
    flags = mailings.select("_day", Communications.CHANNEL).with_columns(pl.lit(True).alias("_mailing"))
    return (
        communications.with_columns(day)
        .join(flags, on=["_day", Communications.CHANNEL], how="left", maintain_order="left")
        .filter(~((pl.col(Communications.DIRECTION) == "out") & pl.col("_mailing").fill_null(False)))
        .drop("_day", "_mailing")
    )


def _unanswered_hits(communications: pl.DataFrame, ctx: RuleInput) -> pl.DataFrame:
    """``unanswered_outreach``: :func:`_unanswered_outreach` not heard from since (:func:`_not_reached_since`),
    both read without the mailings (:func:`without_mailings`: a newsletter is no outreach, nor the last one)."""
    personal = without_mailings(communications, ctx)
    found = _unanswered_outreach(
        personal, ctx.cut, ctx.cfg.unanswered_outreach, ctx.cfg.unanswered_days, ctx.cfg.unanswered_chance
    )
    return _not_reached_since(found, personal, ctx)


def mailings_note(
    tables: Mapping[Table, pl.DataFrame],
    as_of: date,
    cfg: RulesConfig,
    grace_days: int = 30,
    activity_events: Sequence[str] | None = None,
) -> str | None:
    """A sentence for the list when ``unanswered_outreach`` skipped mailings in its window (``unanswered_days``
    before ``as_of``): how many, and their touches (:func:`mailing_days`; ``grace_days`` and ``activity_events``:
    ``label.grace_days`` and ``label.activity_events``, which the rule reads returns with); None when it is off or
    there were none."""
    communications = tables.get(Table.COMMUNICATIONS)
    if "unanswered_outreach" not in cfg.enabled or communications is None or not communications.height:
        return None
    cut = _midnight(as_of)
    mailings = mailing_days(
        communications,
        tables.get(Table.CLIENTS),
        tables.get(Table.CHURNS),
        cut,
        cfg.mailing_share,
        cfg.mailing_min_clients,
        tables=tables,
        grace_days=grace_days,
        activity_events=activity_events,
    ).filter(pl.col("_day") >= (cut - timedelta(days=cfg.unanswered_days)).date())
    if mailings.height == 0:
        return None
    n, touches = mailings.height, int(mailings.get_column("_reached").sum())
    return (
        f"unanswered_outreach skips {n:,} mailing{'s' if n != 1 else ''} of the last {cfg.unanswered_days} days "
        f"({touches:,} outbound touches: on one channel and day to {cfg.mailing_share:.0%} or more of the clients, "
        f"{cfg.mailing_min_clients} at least): a newsletter is no outreach that waits for an answer"
    )


def unanswered_run_needed(answered: pl.Expr, before: pl.Expr, n: int, chance: float) -> pl.Expr:
    """The unanswered outbound touches in a row that make ``unanswered_outreach`` fire for a client that answered
    ``answered`` of its ``before`` outbound touches before its last run of unanswered ones (in the rule's window):
    ``n``, or more where its own answer rate ``r`` makes ``n`` in a row likely by chance, the shortest run whose
    odds ``(1 - r) ** k`` are under ``chance``. A client that answers 9 e-mails in 10 still needs 2; an app user
    opening 4 push notifications in 10 needs 5 (2 in a row unanswered are a 36% draw of its usual); without touches
    before the run (or answering all of them) ``n``. ``chance`` 1: ``n`` alone."""
    rate = answered / before
    k = (math.log(chance) / (1.0 - rate).log() - 1e-9).ceil() if chance < 1 else pl.lit(0.0)
    usual = (before == 0) | (answered >= before)
    return pl.when(usual).then(pl.lit(n, pl.Float64)).otherwise(pl.max_horizontal(pl.lit(float(n)), k))


def _unanswered_outreach(
    communications: pl.DataFrame, cut: datetime, n: int, days: int, chance: float = 1.0
) -> pl.DataFrame:
    """Client_ids whose last ``n`` outbound touches in the ``days`` before ``cut`` all went unanswered
    (two e-mails of a year ago say nothing of this week), among the clients that answered before (an
    inbound touch, or an outbound one replied or held, at any time before ``cut``): a client that stopped
    answering. One that never answers anything is no news (a charity's donors do not reply to its
    mailings: the rule listed a third of them). The run must be as long as the client's own answer rate
    over the window's touches before it makes unlikely (:func:`unanswered_run_needed` with ``chance``,
    ``rules.unanswered_chance``): an app user opening 4 push notifications in 10 misses 2 in a row every
    third time (the rule fired for half of an app's learners, churning at the list's rate)."""
    has_outcome = Communications.OUTCOME in communications.columns
    outcome = pl.col(Communications.OUTCOME) if has_outcome else pl.lit(None, dtype=pl.String)
    answering = communications.filter(
        (pl.col(Communications.TS) < cut)
        & ((pl.col(Communications.DIRECTION) == "in") | outcome.is_in(["replied", "held"]).fill_null(False))
    ).select(CLIENT_ID)
    comms = (
        _within(communications, Communications.TS, cut, days, pl.lit(True))
        .join(answering.unique(), on=CLIENT_ID, how="semi")
        .sort(CLIENT_ID, Communications.TS)
    )
    inbound = (pl.col(Communications.DIRECTION) == "in").cast(pl.Int64)
    # Inbound touches strictly after each row: the reverse cumulative count minus the row itself.
    inbound_after = inbound.reverse().cum_sum().reverse().over(CLIENT_ID) - inbound
    # an empty outcome is read from the replies only on a channel whose touches never record one (a CRM that
    # logs calls' outcomes and not e-mails'); on a channel that does, it is a mailing nobody waits an answer for
    recorded = (
        communications.filter(outcome.is_not_null() & (pl.col(Communications.TS) < cut))
        .get_column(Communications.CHANNEL)
        .unique()
        if has_outcome
        else pl.Series([], dtype=pl.String)
    )
    on_recorded = pl.col(Communications.CHANNEL).is_in(recorded.implode()).fill_null(False)
    marked = comms.with_columns(
        pl.when(outcome.is_null())
        .then(~on_recorded & (inbound_after == 0))
        .otherwise(outcome == "no_reply")
        .alias("unanswered")
    )
    answered = (~pl.col("unanswered")).cast(pl.Int64)
    # the last run of unanswered outbound touches: those with no answered one after them
    in_run = pl.col("unanswered") & ((answered.reverse().cum_sum().reverse().over(CLIENT_ID) - answered) == 0)
    runs = (
        marked.filter(pl.col(Communications.DIRECTION) == "out")
        .with_columns(in_run.alias("_run"))
        .group_by(CLIENT_ID, maintain_order=True)
        .agg(
            pl.col("_run").sum().alias("_length"),
            (~pl.col("_run")).sum().alias("_before"),
            (~pl.col("unanswered")).sum().alias("_answered"),
            pl.col(Communications.TS).filter(pl.col("_run")).first().alias("_from"),
            pl.col(Communications.TS).filter(pl.col("_run")).last().alias("_to"),
            pl.col(Communications.CHANNEL)
            .cast(pl.String)
            .filter(pl.col("_run"))
            .unique(maintain_order=True)
            .alias("_ways"),
        )
        .with_columns(
            unanswered_run_needed(pl.col("_answered"), pl.col("_before"), n, chance).alias("_needed")
        )
    )
    ways = pl.col("_ways").list.drop_nulls().list.join(", ")
    raised = pl.col("_needed") > n
    return runs.filter(pl.col("_length") >= pl.col("_needed")).select(
        CLIENT_ID,
        formatted(
            "the last {} outreaches{} from {} to {} went unanswered{}",
            pl.col("_length"),
            pl.when(ways != "").then(formatted(" ({})", ways)).otherwise(pl.lit("")),
            _day("_from"),
            _day("_to"),
            pl.when(raised)
            .then(formatted(", where it answered {} of the {} before", "_answered", "_before"))
            .otherwise(pl.lit("")),
        ).alias(_EVIDENCE),
    )


def trouble_tickets(tickets: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``tickets`` that are support trouble (:func:`churnml.features.support.trouble_flag`, the one
    test the support features read: any ticket but a ``cancellation_request``, one without a kind included);
    every row when the table has no ``kind``. A rating of a cancellation request rates how the exit was handled,
    not the service the client stays for."""
    if Tickets.KIND not in tickets.columns:
        return tickets
    import narwhals as nw

    from churnml.features.support import trouble_flag

    return nw.from_native(tickets, eager_only=True).filter(trouble_flag() == 1).to_native()


def _low_ratings(tickets: pl.DataFrame, cut: datetime, n: int, low_csat: float, days: int) -> pl.DataFrame:
    """The clients whose last ``n`` ratings of support trouble (:func:`trouble_tickets`, as the CSAT features
    read them) before ``cut`` are all at or below ``low_csat`` and all within ``days``, with what they were."""
    if Tickets.CSAT not in tickets.columns:
        return pl.DataFrame(schema={CLIENT_ID: pl.String})
    tickets = trouble_tickets(tickets)
    closed = (
        pl.col(Tickets.CLOSED_AT) if Tickets.CLOSED_AT in tickets.columns else pl.lit(None, pl.Datetime("us"))
    )
    when = pl.coalesce(closed, pl.col(Tickets.OPENED_AT))
    rated = (
        tickets.with_columns(when.alias("rated_at"))
        .filter(
            pl.col(Tickets.CSAT).is_not_null()
            & (pl.col("rated_at") < cut)
            & (pl.col(Tickets.OPENED_AT) < cut)
        )
        .sort(CLIENT_ID, "rated_at", Tickets.OPENED_AT)
        .group_by(CLIENT_ID, maintain_order=True)
        .agg(pl.col(Tickets.CSAT).tail(n).alias("last"), pl.col("rated_at").tail(n).min().alias("since"))
    )
    recent = pl.col("since") >= cut - timedelta(days=days)
    low = rated.filter((pl.col("last").list.len() >= n) & (pl.col("last").list.max() <= low_csat) & recent)
    return pl.DataFrame(
        [
            (
                client,
                f"the last {len(last)} satisfaction ratings {_listed([f'{x:g}' for x in last])}, since {since.date()}",
            )
            for client, last, since in low.select(CLIENT_ID, "last", "since").iter_rows()
        ],
        schema={CLIENT_ID: pl.String, _EVIDENCE: pl.String},
        orient="row",
    )


def _listed(items: Sequence[str]) -> str:
    """``"1, 2 and 1"``: items said as a list."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _health_drop(history: pl.DataFrame, as_of: date, weeks: int, points: float) -> pl.DataFrame:
    window = history.filter(
        (pl.col(History.SNAPSHOT) <= as_of) & (pl.col(History.SNAPSHOT) >= as_of - timedelta(weeks=weeks))
    )
    return (
        window.group_by(CLIENT_ID)
        .agg(
            pl.col(History.HEALTH).max().alias("peak"),
            pl.col(History.HEALTH).filter(pl.col(History.SNAPSHOT) == as_of).first().alias("now"),
        )
        .filter((pl.col("peak") - pl.col("now")) > points)
        .select(
            CLIENT_ID,
            formatted(
                "health fell from {} to {} within {} weeks",
                pl.col("peak").round(0).cast(pl.Int64),
                pl.col("now").round(0).cast(pl.Int64),
                pl.lit(weeks),
            ).alias(_EVIDENCE),
        )
    )


def _within(frame: pl.DataFrame, ts: str, cut: datetime, days: int, mask: pl.Expr) -> pl.DataFrame:
    """The rows of ``frame`` matching ``mask`` whose ``ts`` lies in the ``days`` before ``cut``."""
    return frame.filter(mask & (pl.col(ts) < cut) & (pl.col(ts) >= cut - timedelta(days=days)))


@dataclass(frozen=True)
class RuleInput:
    """What every rule may read: the validated tables (data after ``as_of`` is ignored), the clients,
    the health history ``[client_id, snapshot, health_score]`` (or None) and the settings."""

    tables: Mapping[Table, pl.DataFrame]
    ids: pl.DataFrame
    as_of: date
    history: pl.DataFrame | None
    cfg: RulesConfig
    low_csat: float
    export_events: tuple[str, ...]
    grace_days: int = 30
    onboarding: tuple[int, int, float] = (30, 120, 0.5)
    data_end: date | None = None  # the day after the data's last record (Dataset.as_of)
    # the clients' features at as_of (client_id + feature columns), for rules that read counts the weekly
    # job's trimmed events cannot give (it hands the rules a few event rows per client)
    features: pl.DataFrame | None = None
    # the whole portfolio's usage ratio (portfolio_usage_ratio over every client's usage_ratios) when the
    # clients here are only part of the list (a Spark client bucket); None: read from these clients (the
    # whole list; a part of a portfolio too small for a ratio is too small itself)
    portfolio_ratio: float | None = None
    # the clients' usage ratios (:func:`client_usage_ratios` of ``features`` at ``as_of``) when the caller
    # already holds them (the list reads them for its banner too); None: computed from ``features``
    ratios: pl.DataFrame | None = None
    # data.early_renewal_share: how early a renewal booked ahead may start (crm.booked_terms)
    renewal_share: float = EARLY_RENEWAL_SHARE
    # label.activity_events: the event names no_activity reads as activity (None: every event)
    activity_events: tuple[str, ...] | None = None
    # score.currency: what the evidence names amounts in (payment_trouble's failed payments and invoices)
    currency: str = ""
    # the day the features' usage windows are observed from (Dataset.usage_windows_from): a window longer than
    # the days since holds, under features.unobserved_windows: scaled, its count over them scaled up to the
    # window, which usage_drop reads back (usage_ratios); None: every known window read as whole
    usage_start: date | None = None
    # crm.onboarding_stalled of the clients at as_of, with_weeks, when the caller already holds it (the list's
    # onboarding_stalled column reads it too); None: computed by the rule
    stalled: pl.DataFrame | None = None
    # no_activity_flags of the clients at as_of, when the caller already holds them (the list's season_pauses
    # reads them too); None: computed by the rule
    no_activity: pl.DataFrame | None = None
    # crm.term_facts of the clients at as_of, when the caller already holds them (the list's CRM view reads them
    # too): term_lapsed and the pause test read them; None: computed by each
    terms: pl.DataFrame | None = None
    # labels.customer_terms of the subscriptions of ``tables`` when the caller holds them (the list reads a client's
    # terms about 25 times: its rules, CRM views, ARR and last week's zones); None: read by each reader
    customer: pl.DataFrame | None = None

    @property
    def cut(self) -> datetime:
        return _midnight(self.as_of)

    @cached_property
    def paused(self) -> pl.DataFrame:
        """``[client_id]`` of the clients on a pause at ``as_of`` (:func:`churnml.scoring.crm.paused_clients`:
        free terms after paid ones, no lapse, no renewal booked): expected to be quiet, so the rules of
        :data:`QUIET_RULES` skip them. Computed once per evaluation, whichever quiet rules read it; from ``terms``
        when given (its :data:`~churnml.scoring.crm.PAUSED` flag: those of the clients)."""
        if self.terms is not None:
            return self.terms.filter(pl.col(PAUSED)).select(CLIENT_ID)
        return paused_clients(
            self.tables.get(Table.SUBSCRIPTIONS), self.as_of, self.grace_days, self.renewal_share
        ).select(CLIENT_ID)


_EMPTY = pl.DataFrame(schema={CLIENT_ID: pl.String})


@dataclass(frozen=True)
class Rule:
    """One early-warning rule: ``evaluate`` returns the client_ids it fires for (a frame with ``client_id``,
    and ``_evidence`` when the rule says what it saw for each client: ``rules_evidence``).

    ``thresholds`` names the :class:`~churnml.config.RulesConfig` settings its text and test read.
    """

    name: str
    text: str
    thresholds: tuple[str, ...]
    evaluate: Callable[[RuleInput], pl.DataFrame]

    def describe(self, cfg: RulesConfig, grace_days: int = 30) -> str:
        return self.text.format(**cfg.model_dump(), grace_days=grace_days)


def _table_rule(table: Table, hits: Callable[[pl.DataFrame, RuleInput], pl.DataFrame]) -> Callable:
    def evaluate(ctx: RuleInput) -> pl.DataFrame:
        frame = ctx.tables.get(table)
        return _EMPTY if frame is None else hits(frame, ctx)

    return evaluate


def _eval_no_activity(ctx: RuleInput) -> pl.DataFrame:
    flags = ctx.no_activity
    if flags is None:
        flags = _no_activity(
            ctx.ids,
            ctx.tables,
            ctx.cut,
            ctx.cfg.no_activity_days,
            ctx.activity_events,
            ctx.cfg.no_activity_rhythm,
        )
    if flags is None:
        return _EMPTY
    return flags.filter("_fires").select(CLIENT_ID, _EVIDENCE).join(ctx.paused, on=CLIENT_ID, how="anti")


def _eval_health_drop(ctx: RuleInput) -> pl.DataFrame:
    if ctx.history is None:
        return _EMPTY
    return _health_drop(ctx.history, ctx.as_of, ctx.cfg.health_drop_weeks, ctx.cfg.health_drop_points)


def _signals(kinds: tuple[str, ...], days_key: str) -> Callable[[pl.DataFrame, RuleInput], pl.DataFrame]:
    def hits(signals: pl.DataFrame, ctx: RuleInput) -> pl.DataFrame:
        """The clients with such a signal in the window, the last one said: "champion left on 2025-11-20
        (the CFO who signed left)", its note in brackets when it has one."""
        mask = pl.col(Signals.SIGNAL).cast(pl.String).is_in(list(kinds))
        found = _within(signals, Signals.TS, ctx.cut, getattr(ctx.cfg, days_key), mask)
        note = (
            pl.col(Signals.NOTE).cast(pl.String) if Signals.NOTE in found.columns else pl.lit(None, pl.String)
        )
        return (
            found.sort(Signals.TS)
            .group_by(CLIENT_ID, maintain_order=True)
            .agg(pl.all().last())
            .select(
                pl.col(CLIENT_ID).cast(pl.String),
                pl.concat_str(
                    [
                        pl.col(Signals.SIGNAL).cast(pl.String).str.replace_all("_", " "),
                        pl.lit(" on "),
                        _day(Signals.TS),
                        pl.when(note.str.strip_chars() != "")
                        .then(formatted(" ({})", note))
                        .otherwise(pl.lit("")),
                    ]
                ).alias(_EVIDENCE),
            )
        )

    return hits


def _data_export_hits(events: pl.DataFrame, ctx: RuleInput) -> pl.DataFrame:
    """An event of ``features.export_events`` within ``data_export_days``, said by its days: "exported data on
    2025-12-01" or "exported data on 3 days, the last 2025-12-01"."""
    mask = pl.col(Events.EVENT).is_in(list(ctx.export_events))
    days = _within(events, Events.TS, ctx.cut, ctx.cfg.data_export_days, mask).select(
        pl.col(CLIENT_ID).cast(pl.String), pl.col(Events.TS).dt.date().alias("_day")
    )
    n = pl.col("_day").n_unique()
    last = pl.col("_day").max().cast(pl.String)
    return days.group_by(CLIENT_ID).agg(
        pl.when(n == 1)
        .then(formatted("exported data on {}", last))
        .otherwise(formatted("exported data on {} days, the last {}", n, last))
        .alias(_EVIDENCE)
    )


def orders_within(payments: pl.DataFrame | None, cut: datetime, days: int) -> pl.DataFrame:
    """``[client_id, _orders]``: per client, its orders (:func:`churnml.labels.orders`, at
    :func:`churnml.labels.order_placed_at`) placed in the ``days`` before ``cut``; a client without one is
    absent (empty without a payments table)."""
    from churnml.labels import order_placed_at, orders

    if payments is None or payments.height == 0:
        return pl.DataFrame(schema={CLIENT_ID: pl.String, "_orders": pl.UInt32})
    placed = orders(payments).select(
        pl.col(CLIENT_ID).cast(pl.String),
        order_placed_at(payments.columns).cast(pl.Datetime("us")).alias("_at"),
    )
    return (
        _within(placed, "_at", cut, days, pl.lit(True))
        .group_by(CLIENT_ID)
        .agg(pl.len().cast(pl.UInt32).alias("_orders"))
    )


def complaints_beyond_use(
    complaints: pl.Expr,
    orders: pl.Expr,
    share: float,
    users: pl.Expr | None = None,
    per_user: float = 0.0,
) -> pl.Expr:
    """True where ``complaints`` are more than ``share`` of the client's ``orders`` of the same days
    (``rules.complaints_per_order``): complaints come with use, so a commuter's 3 complaints in 140 trips are
    wear, while a B2B account's 3 in 3 monthly invoices, or a one-off rider's 2 in 2 trips, are not; a client
    without orders on record (null: 0) is read by its count alone, as is every client with ``share`` 0. With
    ``users`` (the client's distinct active users of the same days) they must also be more than ``per_user`` per
    user (``rules.complaints_per_user``): complaints come with the people, a team of 16 at its desks files a team's
    complaints (3 a quarter), a member alone 2 are many; unknown users (null: no user ids) or ``per_user`` 0 leave
    the test to the orders. Read by this rule over its window and by the win-back list's let-go tests over the
    client's last year (``winback.demands_per_order``, no users)."""
    beyond = pl.lit(True) if share <= 0 else complaints > share * orders.fill_null(0)
    if users is None or per_user <= 0:
        return beyond
    return beyond & (complaints > per_user * users.fill_null(0))


def _active_users(features: pl.DataFrame | None, days: int) -> pl.DataFrame:
    """``[client_id, _users]``: each client's distinct active users in the feature window nearest ``days``
    (``usage_active_users_<w>d`` of the features at the list's date; null where the events hold no user id);
    empty without those features."""
    column = None if features is None else nearest_window_column(features.columns, "usage_active_users", days)
    if column is None:
        return pl.DataFrame(schema={CLIENT_ID: pl.String, "_users": pl.Float64})
    return features.select(pl.col(CLIENT_ID).cast(pl.String), pl.col(column).cast(pl.Float64).alias("_users"))


def _complaint_hits(tickets: pl.DataFrame, ctx: RuleInput) -> pl.DataFrame:
    """At least ``complaints`` complaints in ``complaints_days``, and more than ``complaints_per_order`` of the
    client's orders placed in those days and ``complaints_per_user`` per active user (:func:`complaints_beyond_use`,
    :func:`_active_users`), said with its orders when it placed any: "3 complaints from 2025-11-02 to 2025-12-01,
    against 3 orders"."""
    if Tickets.KIND not in tickets.columns:
        return _EMPTY
    recent = _within(
        tickets, Tickets.OPENED_AT, ctx.cut, ctx.cfg.complaints_days, pl.col(Tickets.KIND) == "complaint"
    )
    counted = (
        recent.group_by(pl.col(CLIENT_ID).cast(pl.String))
        .agg(
            pl.len(),
            pl.col(Tickets.OPENED_AT).min().alias("_first"),
            pl.col(Tickets.OPENED_AT).max().alias("_last"),
        )
        .filter(pl.col("len") >= ctx.cfg.complaints)
    )
    if counted.height == 0:
        return _EMPTY
    orders = orders_within(ctx.tables.get(Table.PAYMENTS), ctx.cut, ctx.cfg.complaints_days)
    in_orders = pl.when(pl.col("_orders") > 0).then(
        formatted(", against {}", _plural(pl.col("_orders"), "order", "orders"))
    )
    return (
        counted.join(orders, on=CLIENT_ID, how="left")
        .join(_active_users(ctx.features, ctx.cfg.complaints_days), on=CLIENT_ID, how="left")
        .filter(
            complaints_beyond_use(
                pl.col("len"),
                pl.col("_orders"),
                ctx.cfg.complaints_per_order,
                pl.col("_users"),
                ctx.cfg.complaints_per_user,
            )
        )
        .select(
            CLIENT_ID,
            pl.concat_str(
                [
                    _plural(pl.col("len"), "complaint", "complaints"),
                    formatted(" from {} to {}", _day("_first"), _day("_last")),
                    in_orders.otherwise(pl.lit("")),
                ]
            ).alias(_EVIDENCE),
        )
    )


def _cancellation_hits(tickets: pl.DataFrame, ctx: RuleInput) -> pl.DataFrame:
    """A notice that stands (:func:`churnml.scoring.crm.cancellation_notices`: a cancellation request within
    ``cancellation_days``, no ``cancellation_withdrawn`` signal since, no renewal started since: an annual policy
    renewed after the call is a client that stayed) and has not taken effect (at the end of the term running when
    it was given, or of its notice period: the terms after it of :data:`churnml.scoring.crm.MAX_NOTICE_DAYS` at
    most): a base term still runs or is booked (once it ended unrenewed the client is in grace, ``term_lapsed``'s renewal play; a
    client without terms keeps it), nor did it take effect as a move to the free plan (its paid terms ended
    after it and only free ones run: no save call can come before it now)."""
    from churnml.scoring.crm import cancellation_notices, free_after_paid

    asked = cancellation_notices(
        ctx.tables, ctx.as_of, ctx.cfg.cancellation_days, customer=ctx.customer
    ).filter(pl.col("_running") | pl.col("_ends").is_null())
    subscriptions = ctx.tables.get(Table.SUBSCRIPTIONS)
    if subscriptions is not None and subscriptions.height and asked.height:
        done = free_after_paid(subscriptions, ctx.as_of)
        asked = asked.join(done, on=CLIENT_ID, how="left").filter(
            pl.col("_paid_end").is_null() | (pl.col("_paid_end") < pl.col("_asked"))
        )
    ends = pl.when(pl.col("_ends").is_not_null()).then(formatted(", effective {}", _day("_ends")))
    return asked.unique(CLIENT_ID).select(
        CLIENT_ID,
        pl.concat_str([pl.lit("asked to cancel on "), _day("_asked"), ends.fill_null("")]).alias(_EVIDENCE),
    )


def unsettled_failures(
    payments: pl.DataFrame, subscriptions: pl.DataFrame | None, cuts: pl.DataFrame, days: int
) -> pl.DataFrame:
    """The rows of ``cuts`` (``client_id``, ``_cut``: one instant per row) at which the client has failed
    payments in the ``days`` before ``_cut`` that no order settled: ``payment_trouble``'s evidence of a
    failure, read at the weekly list's as-of date and at a win-back client's lapse
    (:func:`churnml.reporting.winback.with_reasons`). The failures themselves:
    :func:`unsettled_failure_rows`. Grain: the rows of ``cuts`` kept (``client_id``, ``_cut``)."""
    return unsettled_failure_rows(payments, subscriptions, cuts, days).select(CLIENT_ID, "_cut").unique()


def unsettled_failure_rows(
    payments: pl.DataFrame, subscriptions: pl.DataFrame | None, cuts: pl.DataFrame, days: int
) -> pl.DataFrame:
    """The failed payments behind :func:`unsettled_failures`: one row per failed payment of a client of
    ``cuts`` in the ``days`` before its ``_cut`` that no order settled, where the client's failures count
    (columns ``client_id``, ``_cut``, ``_t``: the failure's time, ``amount``: null without the column).

    A failure (status ``failed``) is dated at its attempt, ``paid_at`` (a declined card's attempt time), else
    its invoice's ``issued_at``; an order paid after it and before ``_cut`` settles it
    (:func:`churnml.labels.orders`: paid, a positive amount, a status empty or not ``failed`` / ``refunded``):
    a returned direct debit collected again a week later is no trouble left. A client without a term started
    before ``_cut`` needs failures on ``UNOWED_FAILURES`` days: nothing was owed, a failed top-up is tried
    again. None without a ``status`` column."""
    from churnml.labels import orders

    kept = cuts.select(pl.col(CLIENT_ID).cast(pl.String), pl.col("_cut").cast(pl.Datetime("us"))).unique()
    empty = kept.clear().with_columns(
        pl.lit(None, pl.Datetime("us")).alias("_t"), pl.lit(None, pl.Float64).alias(Payments.AMOUNT)
    )
    if Payments.STATUS not in payments.columns or not kept.height:
        return empty
    # a failure is dated at its attempt (a declined card's paid_at, as the payments features read it), its
    # invoice's date only when the attempt time is empty: an invoice of 106 days ago declined last week is
    # a failure of last week, and a charge paid between the invoice and the decline settles nothing
    when = pl.coalesce([pl.col(c) for c in (Payments.PAID_AT, Payments.ISSUED_AT) if c in payments.columns])
    amount = (
        pl.col(Payments.AMOUNT).cast(pl.Float64)
        if Payments.AMOUNT in payments.columns
        else pl.lit(None, pl.Float64)
    )
    failed = (
        payments.filter(pl.col(Payments.STATUS) == "failed")
        .select(
            pl.col(CLIENT_ID).cast(pl.String),
            when.cast(pl.Datetime("us")).alias("_t"),
            amount.alias(Payments.AMOUNT),
        )
        .join(kept, on=CLIENT_ID)
        .filter((pl.col("_t") < pl.col("_cut")) & (pl.col("_t") >= pl.col("_cut") - pl.duration(days=days)))
    )
    settled = (  # any order settles it (labels.orders: an empty status is a payment too, a refund none)
        orders(payments)
        .select(pl.col(CLIENT_ID).cast(pl.String), pl.col(Payments.PAID_AT).cast(pl.Datetime("us")))
        .join(kept, on=CLIENT_ID)
        .filter(pl.col(Payments.PAID_AT) < pl.col("_cut"))
        .group_by(CLIENT_ID, "_cut")
        .agg(pl.col(Payments.PAID_AT).max().alias("_last_paid"))
    )
    termed = (
        subscriptions.select(pl.col(CLIENT_ID).cast(pl.String), Subscriptions.START_DATE)
        .join(kept, on=CLIENT_ID)
        .filter(pl.col(Subscriptions.START_DATE) < pl.col("_cut"))
        .select(CLIENT_ID, "_cut")
        .unique()
        .with_columns(pl.lit(True).alias("_termed"))
        if subscriptions is not None and subscriptions.height
        else pl.DataFrame(schema={CLIENT_ID: pl.String, "_cut": pl.Datetime("us"), "_termed": pl.Boolean})
    )
    days_needed = pl.when(pl.col("_termed")).then(1).otherwise(UNOWED_FAILURES)
    return (
        failed.join(settled, on=[CLIENT_ID, "_cut"], how="left")
        .filter(pl.col("_last_paid").is_null() | (pl.col("_last_paid") <= pl.col("_t")))
        .join(termed, on=[CLIENT_ID, "_cut"], how="left")
        .filter(pl.col("_t").dt.date().n_unique().over(CLIENT_ID, "_cut") >= days_needed)
        .select(empty.columns)
    )


# rules_evidence: each fired rule that says what it saw for the client, ``<rule>: <what>``, joined by this
EVIDENCE_SEPARATOR = "; "
# the column a rule's hits may carry: what it saw for that client (a "; " inside, in a signal's note or an invoice
# id, is read back whole: evidence_by_rule splits only before a rule's name)
_EVIDENCE = "_evidence"


def evidence_by_rule(evidence: str | None) -> dict[str, str]:
    """A ``rules_evidence`` value read back: rule name -> what it saw (empty for null). Entries are split at
    the separator only before a rule's name, so an invoice id holding "; " stays whole."""
    if not evidence:
        return {}
    names = "|".join(re.escape(n) for n in sorted(RULES, key=len, reverse=True))
    entries = re.split(rf"{re.escape(EVIDENCE_SEPARATOR)}(?=(?:{names}): )", evidence)
    return dict(e.split(": ", 1) for e in entries if ": " in e)


def amount_said(value: float, currency: str = "") -> str:
    """An amount as the evidence says it: whole units without decimals (``"EUR 1,200"``), cents kept
    otherwise (``"EUR 49.90"``); without a currency, the number alone."""
    shown = f"{value:,.2f}".removesuffix(".00")
    return f"{currency} {shown}" if currency else shown


def _paid_what(amount: float | None, currency: str) -> str:
    return "" if amount is None else f" of {amount_said(amount, currency)}"


def failed_payments_said(failures: pl.DataFrame, currency: str = "") -> pl.DataFrame:
    """Per client of :func:`unsettled_failure_rows` (one cut): what ``payment_trouble`` saw, e.g. "a failed
    payment of EUR 49.90 on 2025-12-10, nothing paid since" or "3 failed payments from 2025-11-03 to
    2025-12-10 (the last EUR 49.90), nothing paid since". Grain: one row per client (``client_id``,
    ``_evidence``)."""
    per_client = (
        failures.sort(CLIENT_ID, "_t")
        .group_by(CLIENT_ID, maintain_order=True)
        .agg(
            pl.len().alias("_n"),
            pl.col("_t").first().alias("_first"),
            pl.col("_t").last().alias("_last"),
            pl.col(Payments.AMOUNT).last().alias("_amount"),
        )
    )
    rows = []
    for r in per_client.iter_rows(named=True):
        day = r["_last"].date().isoformat()
        if r["_n"] == 1:
            said = f"a failed payment{_paid_what(r['_amount'], currency)} on {day}"
        else:
            last = "" if r["_amount"] is None else f" (the last {amount_said(r['_amount'], currency)})"
            said = f"{r['_n']} failed payments from {r['_first'].date().isoformat()} to {day}{last}"
        rows.append((r[CLIENT_ID], f"{said}, nothing paid since"))
    return pl.DataFrame(rows, schema={CLIENT_ID: pl.String, _EVIDENCE: pl.String}, orient="row")


def overdue_invoices_said(overdue: pl.DataFrame, known: datetime, currency: str = "") -> pl.DataFrame:
    """Per client of ``overdue`` (its invoices unpaid past ``overdue_days``: ``client_id``, ``due_at``, and
    ``amount`` and ``invoice_id`` when the table has them): what ``payment_trouble`` saw, counted to
    ``known`` (the list's date, or the data's last day when earlier), e.g. "invoice INV-7 of EUR 1,200 due
    2025-11-01, unpaid 47 days after" or "3 invoices unpaid past their due dates, EUR 3,450 in all, the
    oldest INV-7 due 2025-11-01 (47 days)". Grain: one row per client (``client_id``, ``_evidence``)."""
    amount = pl.col(Payments.AMOUNT) if Payments.AMOUNT in overdue.columns else pl.lit(None, pl.Float64)
    invoice = (
        pl.col(Payments.INVOICE_ID) if Payments.INVOICE_ID in overdue.columns else pl.lit(None, pl.String)
    )
    per_client = (
        overdue.with_columns(amount.alias("_amount"), invoice.alias("_invoice"))
        .sort(CLIENT_ID, Payments.DUE_AT)
        .group_by(CLIENT_ID, maintain_order=True)
        .agg(
            pl.len().alias("_n"),
            pl.col(Payments.DUE_AT).first().alias("_due"),
            pl.col("_amount").first(),
            pl.col("_invoice").first(),
            # the sum of the amounts, null when none is known
            pl.when(pl.col("_amount").is_not_null().any()).then(pl.col("_amount").sum()).alias("_total"),
        )
    )
    rows = []
    for r in per_client.iter_rows(named=True):
        due, late = r["_due"].date().isoformat(), (known - r["_due"]).days
        if r["_n"] == 1:
            name = f"invoice {r['_invoice']}" if r["_invoice"] else "an invoice"
            said = f"{name}{_paid_what(r['_amount'], currency)} due {due}, unpaid {late} days after"
        else:
            in_all = "" if r["_total"] is None else f", {amount_said(r['_total'], currency)} in all"
            which = f" {r['_invoice']}" if r["_invoice"] else ""
            said = f"{r['_n']} invoices unpaid past their due dates{in_all}, the oldest{which} due {due} ({late} days)"
        rows.append((r[CLIENT_ID], said))
    return pl.DataFrame(rows, schema={CLIENT_ID: pl.String, _EVIDENCE: pl.String}, orient="row")


_USUAL_LATE = "_usual_late"


def latest_days_late(
    payments: pl.DataFrame, cut: datetime, days: int, before: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``client_id``, :data:`_USUAL_LATE` (Float64): per client, the most days after its due date it paid an
    invoice paid in the ``days`` before ``cut`` (``cut - days <= paid_at < cut``; 0 for one always paid on
    time): how late the client usually pays, its own habit that ``payment_trouble`` reads an unpaid invoice
    against. With ``before`` (``client_id``, ``_before``: the day its oldest overdue invoice fell due) the window
    of each client in it ends there, not at ``cut``: a payment made after the invoice fell due belongs to the
    trouble, not to the habit (a company going bust paid its October invoice 45 days late the day before the
    list, and its November invoice 15 days overdue read as within a habit of 45 days: green, "look for
    expansion"). Needs ``due_at``; an invoice paid is an order (:func:`churnml.labels.orders`, the one definition:
    a positive amount, not failed nor refunded), so that a zero-amount invoice closed late or a refund row
    sets no habit. Grain: one row per client with such an invoice (of ``before`` when given)."""
    from churnml.labels import orders

    schema = {CLIENT_ID: pl.String, _USUAL_LATE: pl.Float64}
    if days <= 0 or Payments.DUE_AT not in payments.columns:
        return pl.DataFrame(schema=schema)
    paid_at = pl.col(Payments.PAID_AT).cast(pl.Datetime("us"))
    paid = orders(payments)
    if before is None:
        end = pl.lit(cut, pl.Datetime("us"))
    else:
        paid = paid.with_columns(pl.col(CLIENT_ID).cast(pl.String)).join(
            before.select(pl.col(CLIENT_ID).cast(pl.String), pl.col("_before").cast(pl.Datetime("us"))),
            on=CLIENT_ID,
            how="inner",
        )
        end = pl.min_horizontal(pl.col("_before"), pl.lit(cut, pl.Datetime("us")))
    recent = (paid_at >= end - timedelta(days=days)) & (paid_at < end) & pl.col(Payments.DUE_AT).is_not_null()
    late = (paid_at - pl.col(Payments.DUE_AT).cast(pl.Datetime("us"))).dt.total_seconds() / 86_400.0
    return (
        paid.filter(recent)
        .group_by(pl.col(CLIENT_ID).cast(pl.String))
        .agg(late.max().clip(lower_bound=0.0).alias(_USUAL_LATE))
        .select(pl.col(CLIENT_ID), pl.col(_USUAL_LATE).cast(pl.Float64))
    )


def _with_habit(said: pl.DataFrame, usual: pl.DataFrame, days: int) -> pl.DataFrame:
    """``said`` (``client_id``, ``_evidence``: :func:`overdue_invoices_said`) with the client's habit
    appended where it has one (``usual``: :func:`latest_days_late` with ``_before``, the day its oldest overdue
    invoice fell due), e.g. "(in the 365 days before 2025-11-01 it paid every invoice within 17 days of its due
    date)". Grain: ``said``'s."""
    if said.height == 0 or usual.height == 0:
        return said
    late = pl.col(_USUAL_LATE).ceil().cast(pl.Int64)
    before = pl.col("_before").dt.date().cast(pl.String)
    habit = (
        pl.when(late > 0)
        .then(
            formatted(
                " (in the {} days before {} it paid every invoice within {} days of its due date)",
                pl.lit(days),
                before,
                late,
            )
        )
        .otherwise(
            formatted(
                " (in the {} days before {} it paid every invoice by its due date)", pl.lit(days), before
            )
        )
    )
    return (
        said.join(usual, on=CLIENT_ID, how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col(_USUAL_LATE).is_not_null())
            .then(pl.col(_EVIDENCE) + habit)
            .otherwise(pl.col(_EVIDENCE))
            .alias(_EVIDENCE)
        )
        .drop(_USUAL_LATE, "_before")
    )


def unsuperseded_invoices(overdue: pl.DataFrame, payments: pl.DataFrame, cut: datetime) -> pl.DataFrame:
    """The rows of ``overdue`` (invoices left unpaid: ``client_id``, ``due_at``, ...) that no later order of the
    client settled: an order placed after the invoice fell due (:func:`churnml.labels.order_placed_at`) and paid
    before ``cut`` (:func:`churnml.labels.orders`) says the client still buys and pays, and the old invoice is a
    write-off or a dispute, not trouble paying now; as a failed payment is settled by any payment since
    (:func:`unsettled_failure_rows`). A dental chain's patients with one check-up invoice of GBP 55 left open a
    year while they paid every visit since: ``payment_trouble`` fired for 222 of a list of 1,900 (221 raised to
    yellow, "offer a payment plan"), 7.7% of whom left within 240 days against 7.6% of the rest. A client that
    stopped paying (its newest invoices unpaid too), or that stopped ordering before the invoice fell due (an
    account closing, whose last orders are paid), still fires. Grain: ``overdue``'s."""
    from churnml.labels import order_placed_at, orders

    paid_at = pl.col(Payments.PAID_AT).cast(pl.Datetime("us"))
    latest_paid_order = (
        orders(payments)
        .filter(paid_at.is_not_null() & (paid_at < cut))
        .group_by(pl.col(CLIENT_ID).cast(pl.String))
        .agg(order_placed_at(payments.columns).max().alias("_paid_order"))
    )
    return (
        overdue.join(latest_paid_order, on=CLIENT_ID, how="left", maintain_order="left")
        .filter(pl.col("_paid_order").is_null() | (pl.col("_paid_order") <= pl.col(Payments.DUE_AT)))
        .drop("_paid_order")
    )


def _payment_trouble_hits(payments: pl.DataFrame, ctx: RuleInput) -> pl.DataFrame:
    """A failed payment within ``payment_trouble_days`` that no payment settled since
    (:func:`unsettled_failure_rows` at the as-of date), or an invoice unpaid ``overdue_days`` after its due
    date.

    An invoice is overdue counted to the data's end: B2B invoices paid a few days late are ordinary; ten
    accounts a day to three weeks late took most of a CRM's yellow zone. And later than the client paid any
    invoice in the ``overdue_usual_days`` before (:func:`latest_days_late`): a distributor's accounts paying a
    third of their invoices two weeks late had 38 of 282 listed for one invoice 14 to 23 days overdue, 35 of
    them raised from green ("This week: Resolve the failed or overdue invoices"), 5% of them leaving against
    16% of the rest. Grain: one row per client it fires
    for (``client_id``, ``_evidence``: which test fired and on what, :func:`failed_payments_said` and
    :func:`overdue_invoices_said`, joined by ", and")."""
    cut = ctx.cut
    said = [pl.DataFrame(schema={CLIENT_ID: pl.String, _EVIDENCE: pl.String})]
    if Payments.STATUS in payments.columns:
        cuts = (
            payments.select(pl.col(CLIENT_ID).cast(pl.String))
            .unique()
            .with_columns(pl.lit(cut).alias("_cut"))
        )
        failures = unsettled_failure_rows(
            payments, ctx.tables.get(Table.SUBSCRIPTIONS), cuts, ctx.cfg.payment_trouble_days
        )
        said.append(failed_payments_said(failures, ctx.currency))
    if Payments.DUE_AT in payments.columns:
        unpaid = pl.col(Payments.PAID_AT).is_null() | (pl.col(Payments.PAID_AT) >= cut)
        # a failed attempt is no invoice left open (the branch above reads it, settled or not), nor is a
        # refund, nor an invoice of nothing or a credit note: only invoices still awaiting a payment, the orders
        # of labels.orders (a positive amount, no failed or refunded status) not paid yet
        awaiting = (
            ~pl.col(Payments.STATUS).is_in(Payments.NOT_ORDER).fill_null(False)
            if Payments.STATUS in payments.columns
            else pl.lit(True)
        ) & (pl.col(Payments.AMOUNT) > 0).fill_null(True)
        # due before the data ends: an invoice due after the export's last day may well have been paid
        # since (a week-old export scored a week on called 34 paid invoices overdue)
        known = min(cut, _midnight(ctx.data_end)) if ctx.data_end is not None else cut
        overdue_from = known - timedelta(days=ctx.cfg.overdue_days)
        typed = {
            Payments.DUE_AT: pl.Datetime("us"),
            Payments.AMOUNT: pl.Float64,
            Payments.INVOICE_ID: pl.String,
        }
        overdue = payments.filter((pl.col(Payments.DUE_AT) < overdue_from) & unpaid & awaiting).select(
            pl.col(CLIENT_ID).cast(pl.String),
            *[pl.col(c).cast(t) for c, t in typed.items() if c in payments.columns],
        )
        overdue = unsuperseded_invoices(overdue, payments, cut)
        # the habit before the oldest overdue invoice fell due: what it paid later than that is the trouble
        oldest = overdue.group_by(CLIENT_ID).agg(pl.col(Payments.DUE_AT).min().alias("_before"))
        usual = latest_days_late(payments, cut, ctx.cfg.overdue_usual_days, oldest).join(
            oldest, on=CLIENT_ID, how="left"
        )
        if usual.height:
            # later than its habit: past due longer than the latest it paid an invoice in the window, in the
            # whole days the evidence says them (days past due whole, the habit rounded up): 18.3 days against a
            # habit of 17.98 read "unpaid 18 days after (... it paid every invoice within 18 days ...)"
            past_due = (pl.lit(known, pl.Datetime("us")) - pl.col(Payments.DUE_AT)).dt.total_days()
            overdue = (
                overdue.join(usual.drop("_before"), on=CLIENT_ID, how="left")
                .filter(past_due > pl.col(_USUAL_LATE).ceil().fill_null(-1.0))
                .drop(_USUAL_LATE)
            )
        said.append(
            _with_habit(
                overdue_invoices_said(overdue, known, ctx.currency), usual, ctx.cfg.overdue_usual_days
            )
        )
    return pl.concat(said).group_by(CLIENT_ID, maintain_order=True).agg(pl.col(_EVIDENCE).str.join(", and "))


def _contraction_hits(subscriptions: pl.DataFrame, ctx: RuleInput) -> pl.DataFrame:
    """The running terms' summed MRR now is at most ``1 - contraction_share`` of what it was
    ``contraction_days`` ago, and above 0 (a move to free terms or no term at all is another state: a
    pause, a lapse); not for a client on a pause (``ctx.paused``, :func:`churnml.scoring.crm.paused_clients`:
    a freeze at a small fee, a ``data.pause_products`` term, is a pause, not a cut: a gym's frozen members read
    "ask why they cut seats"), nor for one that now commits for longer (:func:`_committed_longer`: a rolling
    tariff or a monthly plan left for a fixed or annual term at its lower price)."""
    from churnml.scoring.crm import running_mrr

    since = ctx.cut - timedelta(days=ctx.cfg.contraction_days)
    then = running_mrr(subscriptions, since)
    share = ctx.cfg.contraction_share
    hits = (
        running_mrr(subscriptions, ctx.cut)
        .join(then.rename({"_mrr": "_then"}), on=CLIENT_ID, how="inner")
        .filter(
            (pl.col("_mrr") > 0) & (pl.col("_then") > 0) & (pl.col("_mrr") <= (1 - share) * pl.col("_then"))
        )
        .join(
            _returned_between(subscriptions, ctx.tables.get(Table.CHURNS), since, ctx.cut),
            on=CLIENT_ID,
            how="anti",
        )
        .join(ctx.paused, on=CLIENT_ID, how="anti")
        .join(_committed_longer(subscriptions, since, ctx.cut), on=CLIENT_ID, how="anti")
    )
    return hits.join(
        _contracted_on(subscriptions, hits, since, ctx.cut, share), on=CLIENT_ID, how="left"
    ).select(
        CLIENT_ID,
        pl.struct("_mrr", "_then", "_cut_on")
        .map_elements(
            lambda r: (
                f"recurring revenue {amount_said(r['_mrr'], ctx.currency)} a month"
                + (f" since {r['_cut_on']:%Y-%m-%d}" if r["_cut_on"] is not None else "")
                + f", from {amount_said(r['_then'], ctx.currency)} on {since.date().isoformat()}"
            ),
            return_dtype=pl.String,
        )
        .alias(_EVIDENCE),
    )


def _contracted_on(
    subscriptions: pl.DataFrame, hits: pl.DataFrame, since: datetime, cut: datetime, share: float
) -> pl.DataFrame:
    """``[client_id, _cut_on]``: for each client of ``hits`` (``client_id``, ``_then``: its running MRR at
    ``since``), the day its recurring revenue was cut: the earliest term start in (``since``, ``cut``] from which
    the running MRR (:func:`churnml.scoring.crm.running_at` just after each later start) stayed at or under ``1 -
    share`` of ``_then``. A project-management SaaS's annual account cut from 124 seats to 59 a week before the
    list read "EUR 590 a month, from EUR 1,240 on 2026-09-06", the rule's reference day, as if the cut were three
    months old; monthly renewals at the lower MRR since the cut do not move it. None (no row) when no term start
    made the cut (an add-on that ended)."""
    start = pl.col(Subscriptions.START_DATE).cast(pl.Datetime("us"))
    typed = subscriptions.select(
        pl.col(CLIENT_ID).cast(pl.String),
        start.alias(Subscriptions.START_DATE),
        pl.col(Subscriptions.END_DATE).cast(pl.Datetime("us")),
        pl.col(Subscriptions.MRR).cast(pl.Float64),
    )
    starts = (
        typed.join(hits.select(CLIENT_ID, "_then"), on=CLIENT_ID)
        .filter((pl.col(Subscriptions.START_DATE) > since) & (pl.col(Subscriptions.START_DATE) <= cut))
        .select(CLIENT_ID, "_then", pl.col(Subscriptions.START_DATE).alias("_s"))
        .unique()
    )
    after = pl.col("_s") + timedelta(seconds=1)  # the instant just after the start: the term runs then
    level = (
        starts.join(typed, on=CLIENT_ID)
        .filter(running_at(after))
        .group_by(CLIENT_ID, "_s")
        .agg(pl.col(Subscriptions.MRR).sum().alias("_level"))
    )
    return (
        starts.join(level, on=[CLIENT_ID, "_s"], how="left")
        .with_columns(
            (pl.col("_level").fill_null(0.0) <= (1 - share) * pl.col("_then")).cast(pl.Int8).alias("_ok")
        )
        .sort(CLIENT_ID, "_s")
        # every start from this one on kept the cut: the minimum of the flags from the end back
        .with_columns(pl.col("_ok").reverse().cum_min().reverse().over(CLIENT_ID).alias("_kept"))
        .filter(pl.col("_kept") == 1)
        .group_by(CLIENT_ID)
        .agg(pl.col("_s").min().alias("_cut_on"))
    )


def _committed_longer(subscriptions: pl.DataFrame, since: datetime, cut: datetime) -> pl.DataFrame:
    """``[client_id]`` of the clients that ``since`` could leave within a month (their running terms all
    :data:`churnml.scoring.crm.MONTHLY_TERM_DAYS` long at most: a rolling tariff, a monthly plan) and at ``cut``
    are committed for longer (a running term of :data:`churnml.scoring.crm.COMMITMENT_DAYS` or more: a 12-month
    fixed tariff, an annual plan, a quarter; :func:`churnml.scoring.crm.running_commitment`), their seats
    (``quantity``, when the table has it) not fewer: a household off its rolling tariff onto a fixed one at GBP 93
    a month from 146 did not cut its plan, it signed for a year (an energy supplier's 57 such households read "ask
    why they cut seats or plan", none of whom left). A delivery every 8 weeks after monthly ones is no commitment:
    the client buys less often (a pet-food shop's customers moved from 2 to 4 weeks were a contraction, those moved
    from 4 to 8 weeks, their monthly spend down as much, were not)."""
    from churnml.scoring.crm import COMMITMENT_DAYS, MONTHLY_TERM_DAYS, running_commitment

    now, then = running_commitment(subscriptions, cut), running_commitment(subscriptions, since)
    return (
        now.join(then, on=CLIENT_ID, how="inner", suffix="_then")
        .filter(
            (pl.col("_term_days_then") <= MONTHLY_TERM_DAYS)
            & (pl.col("_term_days") >= COMMITMENT_DAYS)
            & (pl.col("_quantity") >= pl.col("_quantity_then")).fill_null(True)
        )
        .select(CLIENT_ID)
    )


def _returned_between(
    subscriptions: pl.DataFrame, churns: pl.DataFrame | None, since: datetime, cut: datetime
) -> pl.DataFrame:
    """``[client_id]`` of the clients that left and came back between ``since`` and ``cut``: a churns
    record then, or a day without a running term (a returner on a win-back price is no contraction of
    what it paid before leaving)."""
    from churnml.labels import running_max_per_client

    terms = (
        subscriptions.filter(
            (pl.col(Subscriptions.START_DATE) < cut) & (pl.col(Subscriptions.END_DATE) >= since)
        )
        .select(pl.col(CLIENT_ID).cast(pl.String), Subscriptions.START_DATE, Subscriptions.END_DATE)
        .sort(CLIENT_ID, Subscriptions.START_DATE)
    )
    terms = terms.with_columns(
        running_max_per_client(terms, Subscriptions.END_DATE, before=True).alias("_covered_to")
    )
    gaps = terms.filter(pl.col(Subscriptions.START_DATE) > pl.col("_covered_to") + timedelta(days=1)).select(
        CLIENT_ID
    )
    left = (
        churns.filter((pl.col(Churns.CHURNED_AT) >= since) & (pl.col(Churns.CHURNED_AT) < cut)).select(
            pl.col(CLIENT_ID).cast(pl.String)
        )
        if churns is not None and churns.height
        else pl.DataFrame(schema={CLIENT_ID: pl.String})
    )
    return pl.concat([gaps, left]).unique()


# a client without a term: payment_trouble wants unsettled failed payments on this many days (a single
# failed top-up or card purchase is tried again; 114 of 144 prepaid clients it raised to yellow were stable)
UNOWED_FAILURES = 2

# a discount held longer than this (from the start of its unbroken run of discounted terms to the running
# term's end) is a standing, negotiated price, not an offer that ends
STANDING_DISCOUNT_DAYS = 366


def _price_rise_hits(subscriptions: pl.DataFrame, ctx: RuleInput) -> pl.DataFrame:
    """Clients whose price rises or rose (:func:`_price_rise_kinds`: a next term booked at a higher price, a
    discount ending, or a rise already started): the moment customers shop around. Said by its kind
    (:data:`PRICE_RISE_SAID`)."""
    said = pl.col(PRICE_RISE_KIND).replace_strict(PRICE_RISE_SAID, return_dtype=pl.String)
    return _price_rise_kinds(subscriptions, ctx).select(
        CLIENT_ID,
        said.str.replace("{days}", str(ctx.cfg.price_rise_days), literal=True)
        .str.replace("{before}", str(2 * ctx.cfg.price_rise_days), literal=True)
        .alias(_EVIDENCE),
    )


# what the price_rise rule says it saw, by kind of rise ({days}: rules.price_rise_days)
PRICE_RISE_SAID = {
    "booked": "the next term is booked at a higher price",
    "discount": "a discount ends with the running term and nothing is booked after it",
    "started": "the running term costs more than the plan did at any time from {before} to {days} days ago",
}


# the kinds of a price rise (price_rise_kinds): a next term booked at a higher price, a discount ending with nothing
# booked, a rise already started in the running term; a client with several takes the first
PRICE_RISE_KINDS = ("booked", "discount", "started")


def _price_rise_kinds(subscriptions: pl.DataFrame, ctx: RuleInput) -> pl.DataFrame:
    """``[client_id, price_rise_kind]`` (:data:`PRICE_RISE_KINDS`), one row per client the rule fires for:
    ``booked``: its next term, booked to start on or after the as-of date and within ``price_rise_days``, costs
    at least ``1 + price_rise_share`` times the terms running now (an intro price ending: 1 to 9.99 a month; a
    renewal quote 18% up written as the next term), the client's base terms against its base terms
    (:func:`churnml.labels.customer_terms`: a new add-on bought with the renewal is no rise of its price) or one
    product's against its own (:func:`_product_price_rises`);
    ``discount``: with no next term booked, its running term is discounted by ``price_rise_discount`` or more (a
    promotion; 10-25% is a B2B account's negotiated price) and ends within those days, the discount held for a
    year at most (an intro offer ending; a discount renewed for longer is the client's price); ``started``: a
    rise that has already started (:func:`_started_price_rises`: a monthly plan auto-renewed at a higher price
    books nothing ahead), while its running term is monthly or ends within ``price_rise_days``."""
    from churnml.labels import customer_terms
    from churnml.scoring.crm import booked_terms, running_mrr

    cut = ctx.cut
    # base terms on both sides (add-ons aside, as the labels read them): a renewal at the same price with a new
    # add-on bought beside it is no price rise (100 + 30 booked against 100 running read "30% up")
    base = (customer_terms(subscriptions) if ctx.customer is None else ctx.customer).with_columns(
        pl.col(CLIENT_ID).cast(pl.String)
    )
    booked = base.filter(pl.col(Subscriptions.START_DATE) < cut + timedelta(days=ctx.cfg.price_rise_days))
    # the first booked start, within the days; customer terms started before a day are their own customer terms
    first = booked_terms(booked, ctx.as_of, ctx.renewal_share, customer=booked)
    next_mrr = (
        booked.join(first, on=CLIENT_ID)
        .filter(pl.col(Subscriptions.START_DATE).dt.date() == pl.col("_booked"))
        .group_by(CLIENT_ID)
        .agg(pl.col(Subscriptions.MRR).sum().cast(pl.Float64).alias("_next"))
    )
    parts = [
        running_mrr(base, cut)
        .join(next_mrr, on=CLIENT_ID, how="inner")
        .filter((pl.col("_mrr") > 0) & (pl.col("_next") >= (1 + ctx.cfg.price_rise_share) * pl.col("_mrr")))
        .select(CLIENT_ID, pl.lit("booked").alias("_kind"))
    ]
    if Subscriptions.PRODUCT in subscriptions.columns:
        parts.append(_product_price_rises(subscriptions, ctx).with_columns(pl.lit("booked").alias("_kind")))
    if Subscriptions.DISCOUNT in subscriptions.columns:
        parts.append(
            _discount_ends(subscriptions, ctx, first).with_columns(pl.lit("discount").alias("_kind"))
        )
    parts.append(_started_price_rises(subscriptions, ctx).with_columns(pl.lit("started").alias("_kind")))
    rank = pl.col("_kind").replace_strict(
        PRICE_RISE_KINDS, range(len(PRICE_RISE_KINDS)), return_dtype=pl.Int64
    )
    return (
        pl.concat([p.select(pl.col(CLIENT_ID).cast(pl.String), "_kind") for p in parts])
        .sort(CLIENT_ID, rank)
        .group_by(CLIENT_ID, maintain_order=True)
        .agg(pl.col("_kind").first().alias(PRICE_RISE_KIND))
    )


def _discount_ends(subscriptions: pl.DataFrame, ctx: RuleInput, first: pl.DataFrame) -> pl.DataFrame:
    """``[client_id]`` of the clients with no next term booked (``first``: :func:`churnml.scoring.crm.booked_terms`
    within the days) whose running term is discounted by ``price_rise_discount`` or more and ends within
    ``price_rise_days``, the discount held for :data:`STANDING_DISCOUNT_DAYS` at most: the undiscounted price
    comes next (an intro offer ending), unless a new one is agreed."""
    cut = ctx.cut
    started = subscriptions.filter(pl.col(Subscriptions.START_DATE) < cut).with_columns(
        pl.col(CLIENT_ID).cast(pl.String)
    )
    at_discount = pl.col(Subscriptions.DISCOUNT).fill_null(0.0) >= ctx.cfg.price_rise_discount
    discounted, full_price = started.filter(at_discount), started.filter(~at_discount)
    return (
        discounted.filter(
            (pl.col(Subscriptions.END_DATE) >= cut)
            & (pl.col(Subscriptions.END_DATE) < cut + timedelta(days=ctx.cfg.price_rise_days))
        )
        .join(_discounted_since(discounted, full_price), on=CLIENT_ID)
        # a discount held for more than a year is a negotiated price, renewed with the contract (16 of 114
        # annual accounts read as a price rise at every renewal), not an intro offer
        .filter(pl.col(Subscriptions.END_DATE) - pl.col("_since") <= timedelta(days=STANDING_DISCOUNT_DAYS))
        .select(CLIENT_ID)
        .join(first, on=CLIENT_ID, how="anti")
        .unique()
    )


PRICE_RISE_KIND = "price_rise_kind"


def price_rise_kinds(
    tables: Mapping[Table, pl.DataFrame],
    client_ids: Sequence[str],
    as_of: date,
    cfg: RulesConfig,
    *,
    grace_days: int = 30,
    early_renewal_share: float = EARLY_RENEWAL_SHARE,
    customer: pl.DataFrame | None = None,
) -> pl.Series:
    """Per client of ``client_ids`` (in their order), the kind of price rise the ``price_rise`` rule fires for
    (:data:`PRICE_RISE_KINDS`: ``booked``, ``discount``, ``started``; :func:`_price_rise_kinds`), null where it
    does not fire (or the dataset has no subscriptions): what the list says of a booked next term
    (:func:`churnml.scoring.crm.with_price_rises`: a next term booked at a higher price is a renewal to work; one
    booked at the price a running term already rose to is a renewal done). ``customer``:
    :func:`churnml.labels.customer_terms` of ``tables``' subscriptions when the caller holds it."""
    ids = pl.DataFrame({CLIENT_ID: pl.Series(list(client_ids), dtype=pl.String)})
    subscriptions = tables.get(Table.SUBSCRIPTIONS)
    if subscriptions is None or not subscriptions.height:
        return pl.Series(PRICE_RISE_KIND, [None] * ids.height, dtype=pl.String)
    ctx = _terms_input(
        tables, ids, as_of, cfg, grace_days, renewal_share=early_renewal_share, customer=customer
    )
    kinds = _price_rise_kinds(subscriptions, ctx)
    return ids.join(kinds, on=CLIENT_ID, how="left", maintain_order="left").get_column(PRICE_RISE_KIND)


def _started_price_rises(subscriptions: pl.DataFrame, ctx: RuleInput) -> pl.DataFrame:
    """``[client_id]`` of the clients whose price rose within the last ``price_rise_days`` and runs now: the
    base terms (:func:`churnml.labels.customer_terms`) running at the as-of date cost at least ``1 +
    price_rise_share`` times the most those running at any instant of the ``price_rise_days`` up to
    ``price_rise_days`` before it cost (:func:`_prices_before`; a monthly plan auto-renewed from 100 to 120 two
    months ago: no term is booked ahead, the rise is in the running term), the plan running on terms as long as the
    running one all through those days (:func:`churnml.scoring.crm.same_cycle`: a term of another length is another
    plan, whose monthly amount is no price of this one: a pet-food shop's customers moved from deliveries every 4
    or 6 weeks to every 2, the same basket twice as often, were 16 of its 62 rises on the list of 2026-11-02, 1 of
    them leaving within 90 days, now 44; an annual plan left for a monthly one at the monthly price is no rise
    either). The most, not the price at one instant: a price that varies from term to term (an auto-ship's
    basket, 35 to 47 a delivery) is above the one running 91 days ago every other term: a pet-food shop's list
    read 211 of its 2,985 customers' baskets as a price rise ("explain what the new price buys"), 6.6% of them
    leaving within 90 days against 14.9% (then 62). Compared per product when
    the table has one (a new product is no rise), per unit (``mrr / quantity``) when both sides' quantities are
    known (seats added are no rise), not across an absence (a return at another price, :func:`_returned_between`),
    nor from a free term (a pause resuming). Only while the client can act on it soon (:func:`_can_leave_soon`):
    a household renewed for a year at the higher price is locked in for most of it (82 of an insurer's 188
    firings: a sales call about a price it can do nothing about for ~300 days)."""
    from churnml.labels import customer_terms_before

    cut = ctx.cut
    since = cut - timedelta(days=ctx.cfg.price_rise_days)
    keys = [CLIENT_ID, *([Subscriptions.PRODUCT] if Subscriptions.PRODUCT in subscriptions.columns else [])]
    quantity = (
        pl.col(Subscriptions.QUANTITY).cast(pl.Float64)
        if Subscriptions.QUANTITY in subscriptions.columns
        else pl.lit(None, pl.Float64)
    )
    base = customer_terms_before(subscriptions, cut, ctx.customer).with_columns(
        pl.col(CLIENT_ID).cast(pl.String), quantity.alias("_q")
    )

    now = _prices_at(base.filter(running_at(cut)), keys)
    both = (
        now.join(
            _prices_before(base, since, ctx.cfg.price_rise_days, keys).rename(
                {"_mrr": "_mrr_then", "_units": "_units_then", "_days": "_days_then"}
            ),
            on=keys,
            how="inner",
        )
        # a free instant (a pause) is no price the client paid: a pause resuming at its price is no rise
        .filter(pl.col("_mrr_then") > 0)
        .join(_can_leave_soon(base, cut, ctx.cfg.price_rise_days, keys), on=keys, how="semi")
    )
    per_unit = (pl.col("_units") > 0) & (pl.col("_units_then") > 0)
    rise = 1 + ctx.cfg.price_rise_share
    risen = (
        pl.when(per_unit.fill_null(False))
        .then(pl.col("_mrr") / pl.col("_units") >= rise * pl.col("_mrr_then") / pl.col("_units_then"))
        .otherwise(pl.col("_mrr") >= rise * pl.col("_mrr_then"))
    )
    # the same plan: terms of another length then (crm.same_cycle) are another plan, not a lower price of this one:
    # deliveries every 2 weeks after every 4 charge the same basket twice a month (16 of a pet-food shop's 62 rises)
    risen = risen & same_cycle(pl.col("_days"), pl.col("_days_then"))
    return (
        # above every price it paid in those days, on terms as long as the running one, not one of them
        both.group_by(keys)
        .agg(risen.all().alias("_risen"))
        .filter(pl.col("_risen"))
        .select(CLIENT_ID)
        .unique()
        .join(
            _returned_between(subscriptions, ctx.tables.get(Table.CHURNS), since, cut),
            on=CLIENT_ID,
            how="anti",
        )
    )


def _prices_at(running: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """``[*keys, _mrr, _units, _days]``: per key of ``running`` (base terms running at one instant, with their
    quantity in ``_q``), the summed ``mrr``, when every term says it the summed quantity (else null), and the
    length in days of the longest (the plan's billing cycle, :func:`churnml.scoring.crm.same_cycle`)."""
    return running.group_by(keys).agg(
        pl.col(Subscriptions.MRR).sum().cast(pl.Float64).alias("_mrr"),
        pl.when(pl.col("_q").is_not_null().all()).then(pl.col("_q").sum()).alias("_units"),
        (pl.col(Subscriptions.END_DATE) - pl.col(Subscriptions.START_DATE))
        .dt.total_days()
        .max()
        .alias("_days"),
    )


def _prices_before(base: pl.DataFrame, since: datetime, days: int, keys: list[str]) -> pl.DataFrame:
    """``[*keys, _at, _mrr, _units, _days]``: the prices (:func:`_prices_at`) of the base terms ``base`` (with ``_q``)
    at every instant of the ``days`` up to ``since`` at which they could change: ``since`` and each end of a term
    ending within them (a term runs from after its start to its end, :func:`churnml.scoring.crm.running_at`, so
    its end is an instant it runs at). One row per key and instant with a term running."""
    end = pl.col(Subscriptions.END_DATE).cast(pl.Datetime("us"))
    instants = pl.concat(
        [
            base.select(CLIENT_ID, pl.lit(since, pl.Datetime("us")).alias("_at")),
            base.filter((end > since - timedelta(days=days)) & (end <= since)).select(
                CLIENT_ID, end.alias("_at")
            ),
        ]
    ).unique()
    running = base.join(instants, on=CLIENT_ID).filter(running_at(pl.col("_at")))
    return _prices_at(running, [*keys, "_at"])


def _can_leave_soon(base: pl.DataFrame, cut: datetime, days: int, keys: list[str]) -> pl.DataFrame:
    """``keys`` (``[client_id]``, or ``[client_id, product]``) of the base terms ``base`` running at ``cut``
    (started before it, ending on or after it) that the client can leave soon: a term of
    :data:`MONTHLY_TERM_DAYS` or less (a monthly plan: it can leave at the next month) or one ending within
    ``days`` after ``cut`` (``rules.price_rise_days``: the window a rise to come is looked for in, the renewal
    within it the decision; the horizon is not in the rules' input). One row per such key."""
    start, end = pl.col(Subscriptions.START_DATE), pl.col(Subscriptions.END_DATE)
    return (
        base.filter((start < cut) & (end >= cut))
        .filter(((end - start).dt.total_days() <= MONTHLY_TERM_DAYS) | (end < cut + timedelta(days=days)))
        .select(keys)
        .unique()
    )


def _product_price_rises(subscriptions: pl.DataFrame, ctx: RuleInput) -> pl.DataFrame:
    """``[client_id]`` of the clients with a product whose next term, booked to start on or after the as-of
    date and within ``price_rise_days``, costs at least ``1 + price_rise_share`` times that product's term
    running now: a customer's home policy quoted 37% up reads as such beside its two car policies, whose
    premiums would dilute it to 13% in the client's total."""
    from churnml.scoring.crm import running_mrr

    cut = ctx.cut
    product = [pl.col(CLIENT_ID).cast(pl.String), pl.col(Subscriptions.PRODUCT)]
    running = running_mrr(subscriptions, cut, per_product=True)
    booked = subscriptions.filter(
        (pl.col(Subscriptions.START_DATE) >= cut)
        & (pl.col(Subscriptions.START_DATE) < cut + timedelta(days=ctx.cfg.price_rise_days))
    )
    first = (  # each product's terms booked on its first booked day (a renewal quote written as the next term)
        booked.with_columns(pl.col(Subscriptions.START_DATE).min().over(product).alias("_first"))
        .filter(pl.col(Subscriptions.START_DATE) == pl.col("_first"))
        .group_by(product)
        .agg(pl.col(Subscriptions.MRR).sum().cast(pl.Float64).alias("_next"))
    )
    return (
        running.join(first, on=[CLIENT_ID, Subscriptions.PRODUCT], how="inner")
        .filter((pl.col("_mrr") > 0) & (pl.col("_next") >= (1 + ctx.cfg.price_rise_share) * pl.col("_mrr")))
        .select(CLIENT_ID)
        .unique()
    )


def _discounted_since(discounted: pl.DataFrame, full_price: pl.DataFrame) -> pl.DataFrame:
    """Per client of ``discounted`` (its terms at ``price_rise_discount`` or more), the start of its
    unbroken run of discounted terms: the earliest discounted start after its last term at a smaller
    discount (``full_price``), all of them started before the as-of date: ``client_id, _since``. An intro
    offer of 2022 does not make a new promotion of 2025 a standing price."""
    last_full = full_price.group_by(CLIENT_ID).agg(pl.col(Subscriptions.START_DATE).max().alias("_full"))
    return (
        discounted.join(last_full, on=CLIENT_ID, how="left")
        .filter(pl.col("_full").is_null() | (pl.col(Subscriptions.START_DATE) > pl.col("_full")))
        .group_by(CLIENT_ID)
        .agg(pl.col(Subscriptions.START_DATE).min().alias("_since"))
    )


def usage_drop_columns(cfg: RulesConfig) -> tuple[str, str]:
    """The features ``usage_drop`` reads: the events of the last ``usage_drop_days`` and of the
    ``usage_drop_days + usage_drop_usual_days`` (both must be in ``features.windows``: 28 and 182)."""
    return (
        f"usage_events_{cfg.usage_drop_days}d",
        f"usage_events_{cfg.usage_drop_days + cfg.usage_drop_usual_days}d",
    )


# the portfolio's usage ratio (the median client's events in the last usage_drop_days against its usual) is
# read from at least this many clients usually active enough to compare; fewer say nothing of a portfolio
PORTFOLIO_MIN_CLIENTS = 10
# the list says the whole portfolio's use fell when that median ratio and the portfolio's total use against its
# usual are both at most this (a seasonal August at x0.55 made usage_drop fire for 721 clients, 14% of a list,
# who churned at the base rate; portfolio_usage_ratio says why the total too)
PORTFOLIO_DIP_RATIO = 0.8
_USAGE_WINDOW = re.compile(r"usage_events_(\d+)d")


def usage_ratios(ctx: RuleInput) -> pl.DataFrame:
    """``[client_id, _ratio, _recent, _usual]``, one row per client of the features whose usual is known:
    its events in the last ``usage_drop_days`` (``_recent``), its usual rate in the days before scaled to
    ``usage_drop_days`` (``_usual``), and their ratio (``_ratio``) for a client usually active enough
    (``usage_drop_min_events`` per ``usage_drop_days``), null for the others: the rule and the median compare
    only those, the portfolio's total (:func:`portfolio_usage_total`) reads every client. The usual is read
    over the ``usage_drop_usual_days`` before, or, for a client back from an absence
    (:func:`churnml.scoring.crm.last_returns`), over the longest usage window of the features (``features.windows``)
    that began at or after its return and leaves at least ``usage_drop_days`` of usual: the weeks it was gone are no
    drop of its use (a client back one day read "their use fell far below its usual" and stood red at 94%). A window
    whose count is null (longer than the data, ``features.unobserved_windows: unknown``) is skipped the same way,
    its count and its days together. A window longer than the days of data (``ctx.usage_start``, the day the usage
    windows are observed from, to ``as_of``), whose count is scaled up from those days
    (``features.unobserved_windows: scaled``: ``count * window / days``), is read back as its count over them and
    its usual over the days of usual observed: with 60 days of data, the 182-day count less the last 28 days'
    over 32 days, not 154 (a scaled total less a raw recent count read a falling client's usual 24-37% low: 425
    events a 28 days for the 560 of its rows, x0.46 for x0.35, and usage_drop missed it); a window needs
    ``usage_drop_days`` of usual observed too. A client back more recently than that (within 91 days with the
    default windows 28 and 91) is not compared (no row). Empty without the features."""
    cfg = ctx.cfg
    recent_col, total_col = usage_drop_columns(cfg)
    frame = ctx.features
    schema = {CLIENT_ID: pl.String, "_ratio": pl.Float64, "_recent": pl.Float64, "_usual": pl.Float64}
    if frame is None or recent_col not in frame.columns or total_col not in frame.columns:
        return pl.DataFrame(schema=schema)
    days, longest = cfg.usage_drop_days, cfg.usage_drop_days + cfg.usage_drop_usual_days
    # the configured usual first, then the shorter windows that leave at least usage_drop_days of usual
    shorter = (int(m[1]) for c in frame.columns if (m := _USAGE_WINDOW.fullmatch(c)))
    windows = [longest, *sorted((w for w in shorter if 2 * days <= w < longest), reverse=True)]
    returns = _returns_of(ctx)
    back = pl.col("_back")
    # the days each window observed: the whole window, or the days of data when fewer (its count scaled up
    # to the window, features.unobserved_windows: scaled; unknown leaves it null, skipped below)
    data_days = None if ctx.usage_start is None else (ctx.as_of - ctx.usage_start).days
    seen = {w: w if data_days is None else min(w, data_days) for w in windows}
    # the longest window that starts at or after the client's return (the whole usual for one never gone),
    # whose count is known (features.unobserved_windows: unknown leaves a window longer than the data null)
    # and whose observed days leave usage_drop_days of usual: the same condition picks the count and its
    # days, else a null 182-day count would divide the 91-day count by 154 days of usual (a steady client
    # read x2.4, a collapse to x0.25 read x0.6)
    fits = [
        (back.is_null() | (back <= ctx.cut - timedelta(days=seen[w])))
        & pl.col(f"usage_events_{w}d").is_not_null()
        & pl.lit(seen[w] - days >= days)
        for w in windows
    ]
    # a scaled count read back over the days it observed (count * seen / window; the count itself when whole)
    total = pl.coalesce(
        [
            pl.when(f).then(pl.col(f"usage_events_{w}d").cast(pl.Float64) * (seen[w] / w))
            for f, w in zip(fits, windows, strict=True)
        ]
    )
    usual_days = pl.coalesce(
        [pl.when(f).then(pl.lit(seen[w] - days, pl.Float64)) for f, w in zip(fits, windows, strict=True)]
    )
    recent = pl.col(recent_col).cast(pl.Float64)
    usual = (total - recent) * days / usual_days
    return (
        frame.select(pl.col(CLIENT_ID).cast(pl.String), recent_col, *(f"usage_events_{w}d" for w in windows))
        .join(returns, on=CLIENT_ID, how="left")
        .select(CLIENT_ID, (recent / usual).alias("_ratio"), recent.alias("_recent"), usual.alias("_usual"))
        .filter(pl.col("_usual").is_not_null())
        .with_columns(
            pl.when(pl.col("_usual") >= cfg.usage_drop_min_events).then(pl.col("_ratio")).alias("_ratio")
        )
    )


def client_usage_ratios(
    features: pl.DataFrame | None,
    cfg: RulesConfig,
    tables: Mapping[Table, pl.DataFrame],
    as_of: date,
    grace_days: int = 30,
    usage_start: date | None = None,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[client_id, _ratio, _recent, _usual]`` of :func:`usage_ratios` for the clients of ``features``
    (their features at ``as_of``; ``tables`` give their returns): what :func:`portfolio_usage_ratio` reads.
    ``usage_start``: the day the usage windows are observed from
    (:meth:`~churnml.contract.dataset.Dataset.usage_windows_from`; :attr:`RuleInput.usage_start`). ``customer``:
    :func:`churnml.labels.customer_terms` of ``tables``' subscriptions when the caller holds it."""
    ids = pl.DataFrame(schema={CLIENT_ID: pl.String})
    ctx = _terms_input(
        tables, ids, as_of, cfg, grace_days, features=features, usage_start=usage_start, customer=customer
    )
    return usage_ratios(ctx)


def _terms_input(
    tables: Mapping[Table, pl.DataFrame],
    ids: pl.DataFrame,
    as_of: date,
    cfg: RulesConfig,
    grace_days: int,
    **given: Any,
) -> RuleInput:
    """A :class:`RuleInput` for one reader of the clients' terms outside :func:`fired_rules` (no health history,
    ratings threshold nor export events): ``given`` its other fields (the features, the customer terms)."""
    return RuleInput(tables, ids, as_of, None, cfg, 0.0, (), grace_days, **given)


def _returns_of(ctx: RuleInput) -> pl.DataFrame:
    """``[client_id, _back]``: the clients' last returns (:func:`churnml.scoring.crm.last_returns`)."""
    from churnml.scoring.crm import last_returns

    return last_returns(ctx.tables, ctx.as_of, ctx.grace_days, ctx.customer).select(CLIENT_ID, "_back")


def portfolio_usage_total(ratios: pl.DataFrame) -> float | None:
    """The portfolio's total use against its usual: the sum of ``_recent`` over the sum of ``_usual`` of
    every client of ``ratios`` (:func:`usage_ratios`; grain: one row per client, the usually active and the
    light alike); None without those columns (ratios read elsewhere) or without any usual use."""
    if "_recent" not in ratios.columns or "_usual" not in ratios.columns:
        return None
    both = ratios.select("_recent", "_usual").drop_nulls().drop_nans()
    usual = float(both.get_column("_usual").sum())
    return float(both.get_column("_recent").sum()) / usual if usual > 0 else None


def portfolio_usage_ratio(ratios: pl.DataFrame) -> float | None:
    """How much the whole portfolio's use moved, from ``ratios`` (:func:`usage_ratios`: this week's clients'
    use against their usual): the median usually-active client's ratio when the portfolio's total use
    (:func:`portfolio_usage_total`) fell to :data:`PORTFOLIO_DIP_RATIO` or less too, else the larger of the
    two. The median alone reads a fall in a portfolio of sparse use that did not move: its clients are
    chosen as usually active (``usage_drop_min_events``) on the very counts their drop is measured against,
    so those near the bar are there by a busy usual and fall back (regression to the mean), and a skewed
    count's median sits under its mean (a shop's 380 usually active clients at a median x0.67, its total
    x0.94: "use fell 33%" and usage_drop's bar lowered from x0.4 to x0.27, with weekly events flat). The
    total alone is a few heavy clients' (an integration that stopped). A real dip moves both (everyone at
    x0.55: x0.55, as before). None under :data:`PORTFOLIO_MIN_CLIENTS` usually active clients; the median
    alone when ``ratios`` have no ``_recent`` / ``_usual``."""
    values = ratios.get_column("_ratio").drop_nulls().drop_nans()
    if values.len() < PORTFOLIO_MIN_CLIENTS:
        return None
    median, total = float(values.median()), portfolio_usage_total(ratios)
    return median if total is None or total <= PORTFOLIO_DIP_RATIO else max(median, total)


# the rules a paused client (crm.paused_clients) does not fire: a pause makes a client quiet by itself (a paused
# pet-food subscriber's site visits gone read "their use fell far below its usual")
QUIET_RULES = frozenset({"usage_drop", "no_activity"})


def grouped_count(count: pl.Expr) -> pl.Expr:
    """A count of 0 or more (a float or an integer column) as text, rounded to a whole number and grouped in
    thousands as the drivers say counts: 66918.6 -> "66,919", 475512 -> "475,512", 12 -> "12"; null stays
    null. Grain: that of ``count``."""
    digits = count.round(0).cast(pl.Int64).cast(pl.String)
    return digits.str.reverse().str.replace_all(r"(\d{3})", "${1},").str.strip_suffix(",").str.reverse()


def _usage_drop(ctx: RuleInput) -> pl.DataFrame:
    """Clients whose events in the last ``usage_drop_days`` are at most ``1 - usage_drop_share`` of their
    usual rate (:func:`usage_ratios`), when that usual rate is at least ``usage_drop_min_events``: a collapse
    against the client's own habit, whatever the model makes of its term (an annual client's logins from 450
    to 37 a month, rated 0.35% by a model that waits for the renewal). When the portfolio's use fell the same
    weeks (:func:`portfolio_usage_ratio` under 1: the median client's use and the total fell, a seasonal
    dip), a client's ratio is read against the portfolio's: it fires only for a client that fell
    ``usage_drop_share`` more than the portfolio did (everyone at x0.55: at x0.22 or less); the portfolio's is
    ``ctx.portfolio_ratio`` when given (the whole list's, for a part of it scored alone), else these clients'. Read
    from the clients' features (:func:`usage_drop_columns`; ``ctx.ratios`` when given), the same counts on every
    path; never fires without them."""
    ratios = ctx.ratios if ctx.ratios is not None else usage_ratios(ctx)
    portfolio = ctx.portfolio_ratio if ctx.portfolio_ratio is not None else portfolio_usage_ratio(ratios)
    portfolio = 1.0 if portfolio is None else min(1.0, portfolio)
    if portfolio <= 0:  # most of the portfolio's use stopped (events no longer recorded): no one fell more
        return _EMPTY
    said = (  # the counts, when the ratios hold them (usage_ratios does)
        formatted(
            "{} {} in the last {} days against a usual {}",
            grouped_count(pl.col("_recent")),
            pl.when(pl.col("_recent").round(0) == 1).then(pl.lit("event")).otherwise(pl.lit("events")),
            pl.lit(ctx.cfg.usage_drop_days),
            grouped_count(pl.col("_usual")),
        )
        if {"_recent", "_usual"} <= set(ratios.columns)
        else pl.lit(None, pl.String)
    )
    fell = ratios.filter(pl.col("_ratio") <= (1 - ctx.cfg.usage_drop_share) * portfolio).select(
        CLIENT_ID, said.alias(_EVIDENCE)
    )
    return fell.join(ctx.paused, on=CLIENT_ID, how="anti")  # a paused client's use is expected to stop


def portfolio_usage_note(
    features: pl.DataFrame | None,
    cfg: RulesConfig,
    tables: Mapping[Table, pl.DataFrame],
    as_of: date,
    grace_days: int = 30,
    usage_start: date | None = None,
) -> str | None:
    """A sentence for the list when the whole portfolio's use fell: the median ratio of this week's
    clients' use to their usual and the ratio of their total use to its usual (:func:`portfolio_usage_ratio`)
    are both :data:`PORTFOLIO_DIP_RATIO` or less (a seasonal dip, not hundreds of churners); None otherwise
    (a median that fell while the total did not is the noise of sparse use). ``features``: this week's
    clients' features (:func:`usage_dip_note` of their :func:`client_usage_ratios`; ``usage_start``: the day
    their usage windows are observed from)."""
    return usage_dip_note(client_usage_ratios(features, cfg, tables, as_of, grace_days, usage_start), cfg)


def usage_dip_note(ratios: pl.DataFrame, cfg: RulesConfig) -> str | None:
    """:func:`portfolio_usage_note` from every listed client's ``[client_id, _ratio]``
    (:func:`client_usage_ratios`), with the threshold ``usage_drop`` applies given that portfolio's ratio."""
    portfolio = portfolio_usage_ratio(ratios)
    if portfolio is None or portfolio > PORTFOLIO_DIP_RATIO:
        return None
    active = ratios.get_column("_ratio").drop_nulls().drop_nans().len()
    head = (
        f"product use fell across the portfolio: in the last {cfg.usage_drop_days} days the median client used "
        f"it {1 - portfolio:.0%} less than its usual ({active:,} clients usually active): a "
        "portfolio-wide dip (a season, a holiday, an outage, a tracking change), not so many churners. "
    )
    if portfolio <= 0:
        return head + (
            "usage_drop fires for no one this week: no client's use can fall further than the portfolio's "
            "(events no longer recorded?); the model's scores read the dip too (its reasons cite a trend only where it "
            "fell further than the portfolio's)"
        )
    line = (1 - cfg.usage_drop_share) * portfolio
    return head + (
        f"usage_drop reads each client against it: it fires where a client's use is down "
        f"{cfg.usage_drop_share:.0%} or more against the portfolio's (at most {line:.0%} of its usual this "
        "week); the model's scores read the dip too (its reasons cite a trend only where it fell further than the "
        "portfolio's)"
    )


def _term_lapsed(ctx: RuleInput) -> pl.DataFrame:

    from churnml.scoring.crm import term_status

    status = term_status(
        ctx.ids.get_column(CLIENT_ID).to_list(),
        ctx.as_of,
        ctx.tables.get(Table.SUBSCRIPTIONS),
        ctx.grace_days,
        0,
        ctx.cfg.term_lapsed_days,
        ctx.data_end,
        # a notice that took effect is a lapse at once (crm.cancellation_notices: tickets and signals)
        tables={t: ctx.tables[t] for t in (Table.TICKETS, Table.SIGNALS) if t in ctx.tables},
        renewal_share=ctx.renewal_share,
        notice_days=ctx.cfg.cancellation_days,
        facts=ctx.terms,
        customer=ctx.customer,
    )
    # said as the list's term_state says it ("term ended 12 days ago and was not renewed")
    state = pl.col(Scores.TERM_STATE)
    said = pl.concat_str([state.str.slice(0, 1).str.to_lowercase(), state.str.slice(1)])
    return status.filter(pl.col(Scores.IN_GRACE)).select(CLIENT_ID, said.alias(_EVIDENCE))


def _onboarding(ctx: RuleInput) -> pl.DataFrame:
    from churnml.scoring.crm import onboarding_stalled

    low, high, share = ctx.onboarding
    frame = ctx.stalled
    if frame is None:
        frame = onboarding_stalled(
            ctx.ids.get_column(CLIENT_ID).to_list(),
            ctx.as_of,
            ctx.tables[Table.CLIENTS],
            ctx.tables.get(Table.EVENTS),
            min_days=low,
            max_days=high,
            active_share=share,
            with_weeks=True,
            payments=ctx.tables.get(Table.PAYMENTS),
            subscriptions=ctx.tables.get(Table.SUBSCRIPTIONS),
        )
    said = formatted("active in {} of its first {} weeks", "_weeks_active", "_weeks_lived")
    # the list's frame comes from a join Polars may split into chunks of other lengths than its neighbours':
    # formatted reads such columns, where pl.format panicked (churnml.scoring.sentences)
    return frame.filter(pl.col(Scores.ONBOARDING_STALLED)).select(CLIENT_ID, said.alias(_EVIDENCE))


RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        Rule("term_lapsed", RULE_TEXT["term_lapsed"], (), _term_lapsed),
        Rule("no_activity", RULE_TEXT["no_activity"], ("no_activity_days",), _eval_no_activity),
        Rule(
            "unanswered_outreach",
            RULE_TEXT["unanswered_outreach"],
            (
                "unanswered_outreach",
                "unanswered_days",
                "unanswered_chance",
                "mailing_share",
                "mailing_min_clients",
            ),
            _table_rule(Table.COMMUNICATIONS, _unanswered_hits),
        ),
        Rule(
            "low_ratings",
            RULE_TEXT["low_ratings"],
            ("low_ratings", "low_ratings_days"),
            _table_rule(
                Table.TICKETS,
                lambda f, c: _low_ratings(f, c.cut, c.cfg.low_ratings, c.low_csat, c.cfg.low_ratings_days),
            ),
        ),
        Rule(
            "complaints",
            RULE_TEXT["complaints"],
            ("complaints", "complaints_days", "complaints_per_order"),
            _table_rule(Table.TICKETS, _complaint_hits),
        ),
        Rule(
            "cancellation_request",
            RULE_TEXT["cancellation_request"],
            ("cancellation_days",),
            _table_rule(Table.TICKETS, _cancellation_hits),
        ),
        Rule(
            "payment_trouble",
            RULE_TEXT["payment_trouble"],
            ("payment_trouble_days", "overdue_days", "overdue_usual_days"),
            _table_rule(Table.PAYMENTS, _payment_trouble_hits),
        ),
        Rule(
            "contraction",
            RULE_TEXT["contraction"],
            ("contraction_share", "contraction_days"),
            _table_rule(Table.SUBSCRIPTIONS, _contraction_hits),
        ),
        Rule(
            "price_rise",
            RULE_TEXT["price_rise"],
            ("price_rise_share", "price_rise_days", "price_rise_discount"),
            _table_rule(Table.SUBSCRIPTIONS, _price_rise_hits),
        ),
        Rule(
            "usage_drop",
            RULE_TEXT["usage_drop"],
            ("usage_drop_share", "usage_drop_days", "usage_drop_usual_days", "usage_drop_min_events"),
            _usage_drop,
        ),
        Rule(
            "health_drop",
            RULE_TEXT["health_drop"],
            ("health_drop_points", "health_drop_weeks"),
            _eval_health_drop,
        ),
        Rule(
            "data_export",
            RULE_TEXT["data_export"],
            ("data_export_days",),
            _table_rule(Table.EVENTS, _data_export_hits),
        ),
        Rule(
            "champion_change",
            RULE_TEXT["champion_change"],
            ("champion_change_days",),
            _table_rule(Table.SIGNALS, _signals(("champion_left",), "champion_change_days")),
        ),
        Rule(
            "vendor_review",
            RULE_TEXT["vendor_review"],
            ("vendor_review_days",),
            _table_rule(Table.SIGNALS, _signals(("vendor_review", "competitor_trial"), "vendor_review_days")),
        ),
        Rule(
            "budget_pressure",
            RULE_TEXT["budget_pressure"],
            ("budget_pressure_days",),
            _table_rule(Table.SIGNALS, _signals(("layoffs", "budget_cut"), "budget_pressure_days")),
        ),
        Rule("onboarding_stalled", RULE_TEXT["onboarding_stalled"], (), _onboarding),
    )
}


def fired_rules(
    tables: Mapping[Table, pl.DataFrame],
    client_ids: Sequence[str],
    as_of: date,
    health_history: pl.DataFrame | None,
    cfg: RulesConfig,
    *,
    low_csat: float,
    export_events: Sequence[str],
    grace_days: int = 30,
    onboarding: tuple[int, int, float] = (30, 120, 0.5),
    data_end: date | None = None,
    features: pl.DataFrame | None = None,
    portfolio_ratio: float | None = None,
    ratios: pl.DataFrame | None = None,
    early_renewal_share: float = EARLY_RENEWAL_SHARE,
    activity_events: Sequence[str] | None = None,
    currency: str = "",
    usage_start: date | None = None,
    stalled: pl.DataFrame | None = None,
    no_activity: pl.DataFrame | None = None,
    terms: pl.DataFrame | None = None,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Which early-warning rules fire for each client (grain and columns: module docstring).

    ``tables`` are the dataset's validated tables (data after ``as_of`` is ignored);
    ``health_history`` is ``[client_id, snapshot, health_score]`` (``history.parquet``), or None.
    ``onboarding`` is ``(min_days, max_days, active_share)`` (``score.onboarding_*``). ``data_end``: the
    day after the data's last record; a list dated after it (an export a week old) cannot know the
    renewals of the days between, so a term that ended then is not yet lapsed. ``features``: the clients'
    features at ``as_of`` (``client_id`` + columns; ``usage_drop`` reads two of them). ``portfolio_ratio``:
    the whole portfolio's usage ratio (:func:`portfolio_usage_ratio` of every client's
    :func:`client_usage_ratios`) when ``client_ids`` are only part of the list (a Spark client bucket); None
    reads it from ``client_ids``' features. ``ratios``: :func:`client_usage_ratios` of ``features`` at
    ``as_of`` when the caller already holds them (None: computed here). ``early_renewal_share``:
    ``data.early_renewal_share``, how early a renewal booked ahead may start (``term_lapsed``, ``price_rise``
    and the pause test read bookings, :func:`churnml.scoring.crm.booked_terms`). ``activity_events``:
    ``label.activity_events``, the event names ``no_activity`` counts (None: every event). ``currency``:
    ``score.currency``, what ``rules_evidence`` names amounts in. ``usage_start``: the day the features' usage
    windows are observed from (:meth:`~churnml.contract.dataset.Dataset.usage_windows_from`): ``usage_drop`` reads
    a window scaled up from fewer days of data (``features.unobserved_windows: scaled``) over those days (None:
    every window as whole). ``stalled``: :func:`churnml.scoring.crm.onboarding_stalled` of ``client_ids`` at
    ``as_of`` under ``onboarding`` with ``with_weeks``, when the caller already holds it (the list's column);
    None: computed here. ``no_activity``: :func:`no_activity_flags` of ``client_ids`` at ``as_of`` under ``cfg``
    and ``activity_events``, when the caller already holds them (the list's season pauses); None: computed
    here. ``terms``: :func:`churnml.scoring.crm.term_facts` of ``client_ids`` at ``as_of`` under the
    subscriptions of ``tables``, ``grace_days`` and ``early_renewal_share``, when the caller already holds them
    (the list's CRM view); None: read by ``term_lapsed`` and the pause test. ``customer``:
    :func:`churnml.labels.customer_terms` of the subscriptions of ``tables`` when the caller holds them (None:
    read by each rule that reads terms). A rule whose table is absent never fires.
    """
    ids = pl.DataFrame({CLIENT_ID: pl.Series(list(client_ids), dtype=pl.String)})
    ctx = RuleInput(
        tables,
        ids,
        as_of,
        health_history,
        cfg,
        low_csat,
        tuple(export_events),
        grace_days,
        onboarding,
        data_end,
        features,
        portfolio_ratio,
        ratios,
        early_renewal_share,
        None if activity_events is None else tuple(activity_events),
        currency,
        usage_start,
        stalled,
        no_activity,
        terms,
        customer,
    )
    out = ids
    said: list[pl.Expr] = []
    for name in cfg.enabled:
        hits = RULES[name].evaluate(ctx)
        out = _flag(out, hits.select(pl.col(CLIENT_ID).cast(pl.String)), Scores.rule(name))
        if _EVIDENCE in hits.columns:
            column = f"{_EVIDENCE}|{name}"
            evidence = hits.select(pl.col(CLIENT_ID).cast(pl.String), pl.col(_EVIDENCE).alias(column))
            out = out.join(evidence.unique(CLIENT_ID), on=CLIENT_ID, how="left", maintain_order="left")
            said.append(pl.lit(f"{name}: ") + pl.col(column))
    names = list(cfg.enabled)
    fired = (
        pl.concat_list([pl.when(pl.col(Scores.rule(n))).then(pl.lit(n)) for n in names]).list.drop_nulls()
        if names
        else pl.lit([], dtype=pl.List(pl.String))
    )
    evidence = (
        pl.concat_list(said).list.drop_nulls().list.join(EVIDENCE_SEPARATOR)
        if said
        else pl.lit("", dtype=pl.String)
    )
    return out.with_columns(
        fired.list.join("; ").alias(Scores.RULES),
        pl.when(evidence != "").then(evidence).alias(Scores.RULES_EVIDENCE),
    ).drop(c for c in out.columns if c.startswith(f"{_EVIDENCE}|"))


def unreachable_no_activity_note(rules: RulesConfig, label_source: str, inactivity_days: int) -> str | None:
    """A sentence when the ``no_activity`` rule can never fire: under the inactivity label a client with
    no activity for ``label.inactivity_days`` is no longer active, so it is on no list, and a rule that
    waits as long or longer never sees it. None when the rule is off, the label is another, or it waits
    less."""
    if "no_activity" not in rules.enabled or label_source not in ("inactivity", "mixed"):
        return None
    if rules.no_activity_days < inactivity_days:
        return None
    return (
        f"rules.no_activity_days ({rules.no_activity_days}) is not under label.inactivity_days "
        f"({inactivity_days}): a client without activity that long is no longer active, so it is on no list "
        f"and the no_activity rule never fires; set it under, e.g. rules.no_activity_days: "
        f"{max(1, inactivity_days // 2)} (half), for an early warning"
    )
