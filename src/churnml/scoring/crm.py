"""The CRM views a customer-success team asks for, per client at one as-of date.

Grain: one row per client (the ids given, in their order). Only data strictly before the as-of date is
used. Columns (names in :class:`churnml.scoring.columns.Scores`):

- :func:`term_status`: ``renewal_date`` (the client's nearest renewal, :func:`next_renewals`: the earliest
  end among its running terms longer than a month that are no add-on, a motor policy renewing in 7 days
  beside a home one in 6 months; without one, the last end of its running base terms; null, no renewal, when
  no base term runs: an add-on running on after its plan ended renews nothing, the term_state says the
  lapse), ``renewal_due_days``
  (days from the as-of date to it), ``renewal_value`` (the MRR of the running terms ending that day, a
  co-termed add-on included, x the longest of the base terms' contract lengths among them in months
  (:func:`contract_starts`: a seat change cut into an annual contract renews for the year): the next term's
  value at today's terms, a 2-year contract's two years; a term ending another day is not in it, nor does an
  add-on's length count), ``renewal_due`` (the base terms ending that day are longer than a month, and than the
  view's window when they repeat the term before them, :func:`billing_cycle_months`, and end within
  ``renewal_days``; monthly plans renew every month and an auto-ship every 8 weeks every 8 weeks: they would be due
  for their whole length and flood the view; not when a renewal is booked, nor for a pause, whose free term ends in
  the paid plan resuming), ``next_term_start`` (the start of a
  renewal booked ahead, :func:`booked_terms`: a base term beginning on or after the as-of date and no
  earlier than the client's last base term ends, less :data:`EARLY_RENEWAL_SHARE` of its length: a renewal
  signed ahead; an add-on, a first term or an upgrade beside the running term booked ahead is none; null
  otherwise), ``in_grace`` (no running term nor a renewal booked, the last one ended
  ``rules.term_lapsed_days`` to ``grace_days`` calendar days ago: not renewed yet) and ``term_state`` (the
  state said plainly: "Term ended 12 days ago and was not renewed", "Term ended 1 day ago; no renewal
  recorded yet", "Renewed: the next term starts 2024-06-12", "On a free term since its last paid one ended
  on 2024-05-01 (a pause, or a free plan)"; for a client back from an absence within the last
  :data:`BACK_DAYS` days (:func:`last_returns`) and none of those, "Back since 2024-05-20 after 67 days
  away"; empty otherwise; a client whose notice stands, :func:`cancellation_notices`, says it first: "Gave notice
  on 2026-01-07: it takes effect when the term ends on 2026-03-01 (in 5 days)", and once that term ended
  unrenewed is in grace at once: "Term ended 1 day ago, as its notice of 2026-01-07 said, and was not renewed");
  and, for the plays, not the list, :data:`PAUSED` (the client is on a pause,
  :func:`paused_clients`: the free-term state) and :data:`PAUSE_DUE` (its free term ends within
  ``renewal_days``, where a paid term's would be ``renewal_due``), and :data:`TRIAL` (the client never paid,
  :func:`free_trials`: its term_state says the trial, "On a free trial (or a free plan), nothing paid yet: it
  ends in 10 days", "Free trial ended 2 days ago without a paid term", and its end is no ``renewal_due``);
- :func:`last_interaction`: ``last_interaction`` (the last time the client was in touch: an inbound
  touch, a replied outreach, a held meeting, a ticket, or an order it placed while no term of it ran,
  :func:`placed_orders`: a wholesale client ordering every week is not "85 days silent") and ``days_silent``
  (days since then, from the client's creation when it never was); both null for every client when the dataset
  has neither a communications nor a tickets table (contact is not recorded, so no client is "silent");
- :func:`last_contact`: ``last_contacted`` (the day of the team's last logged intervention, the
  ``interventions`` table: a save call, an offer) and ``last_contact`` (what it was: "call (held) by
  anna"); both null without one. Where contact is recorded (a communications or tickets table), an
  intervention whose outcome says the client was reached (:func:`reached`: a call held, an offer
  declined; not "sent", "no answer") also counts as an interaction;
- :func:`onboarding_stalled`: a young client (``onboarding_min_days`` to ``onboarding_days`` old) active
  in fewer than ``onboarding_active_share`` of its weeks (7-day weeks from its ``created_at``; a week is active
  with an event or an order it placed while no term of it ran, :func:`placed_orders`: a restaurant ordering
  every 12 days by phone is onboarded, whoever logs in); null for every client when the dataset has no events
  table (use is not recorded, so no onboarding is "stalled");
- :func:`last_data_export`: the date of the last data-export event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from churnml.config import DataConfig
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
from churnml.labels import placed_orders
from churnml.scoring.columns import Scores
from churnml.scoring.sentences import formatted

__all__ = [
    "BACK_DAYS",
    "BOOKED_AFTER_A_RISE",
    "BOOKED_AT_A_RISE",
    "CANCELLATION_WITHDRAWN",
    "COMMITMENT_DAYS",
    "CYCLE_SLACK_DAYS",
    "EARLY_RENEWAL_SHARE",
    "FREE_TERM",
    "FREE_TRIAL",
    "MAX_NOTICE_DAYS",
    "MONTHLY_TERM_DAYS",
    "NOTICE_GIVEN",
    "PAUSED",
    "PAUSE_DUE",
    "PAUSE_FACTS",
    "PLAY_FACTS",
    "RENEWED",
    "RHYTHM_MIN_CLIENTS",
    "SKIP",
    "SKIPPING",
    "TERM_AGE",
    "TERM_DAYS",
    "TRIAL",
    "active_times",
    "back_text",
    "billing_cycle_months",
    "booked_terms",
    "cancellation_notices",
    "days_since_end",
    "days_text",
    "free_after_paid",
    "free_trials",
    "lapsed_terms",
    "last_contact",
    "last_data_export",
    "last_interaction",
    "last_returns",
    "notice_text",
    "onboarding_rhythm_note",
    "onboarding_stalled",
    "one_term_skips",
    "pasts_off_record",
    "paused_clients",
    "placed_orders",
    "reached",
    "renewed_rows",
    "running_at",
    "running_commitment",
    "running_mrr",
    "running_terms_at",
    "same_cycle",
    "term_state_text",
    "term_status",
    "trial_state_text",
    "usual_active_week_share",
    "with_price_rises",
]

_DAYS_PER_MONTH = 365.25 / 12
_WEEK_SECONDS = 7 * 86_400
# how early a booked renewal may start before the term it renews ends: data.early_renewal_share's default, the
# share of its own length by which the loader lets a renewal overlap the term it renews; a caller passes the
# configured one (term_status, booked_terms, lapsed_terms, paused_clients: renewal_share)
EARLY_RENEWAL_SHARE: float = DataConfig.model_fields["early_renewal_share"].default


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _ids(client_ids: Sequence[str]) -> pl.DataFrame:
    return pl.DataFrame({CLIENT_ID: pl.Series(list(client_ids), dtype=pl.String)})


def days_text(n: int) -> str:
    """``"1 day"``, ``"12 days"``, ``"today"`` for 0."""
    return "today" if n == 0 else f"{n} day" if abs(n) == 1 else f"{n} days"


def term_state_text(
    days_since_end: int | None, settle_days: int = 0, recorded_days: int | None = None
) -> str:
    """The grace state said plainly, e.g. ``"Term ended 12 days ago and was not renewed"``; within
    ``settle_days`` of the end (``rules.term_lapsed_days``) ``"Term ended 1 day ago; no renewal recorded
    yet"``: a renewal charged or exported a day late is no lapse. ``recorded_days``: the days from the end
    to the end of the data, when the data stops before the list's date (an export a week old)."""
    if days_since_end is None:
        return ""
    when = "today" if days_since_end == 0 else f"{days_text(days_since_end)} ago"
    if (days_since_end if recorded_days is None else recorded_days) < settle_days:
        return f"Term ended {when}; no renewal recorded yet"
    return f"Term ended {when} and was not renewed"


def trial_state_text(
    days_to_end: int | None,
    days_since_end: int | None = None,
    settle_days: int = 0,
    recorded_days: int | None = None,
) -> str:
    """The state of a client that never paid (:func:`free_trials`) said plainly: while its free term runs
    (``days_to_end``, days from the as-of date to its end) ``"On a free trial (or a free plan), nothing paid yet:
    it ends in 10 days"``; once it ended (``days_since_end``; ``settle_days`` and ``recorded_days`` as in :func:`term_state_text`)
    ``"Free trial ended 2 days ago without a paid term"``, or within ``settle_days`` ``"Free trial ended 1 day
    ago; no paid term recorded yet"``: a trial that does not convert is no renewal missed. Empty when neither."""
    if days_since_end is not None:
        when = "today" if days_since_end == 0 else f"{days_text(days_since_end)} ago"
        if (days_since_end if recorded_days is None else recorded_days) < settle_days:
            return f"Free trial ended {when}; no paid term recorded yet"
        return f"Free trial ended {when} without a paid term"
    if days_to_end is None:
        return ""
    return f"{FREE_TRIAL}: it ends " + ("today" if days_to_end == 0 else f"in {days_text(days_to_end)}")


# the term_state of a client whose next term is booked (crm.booked_terms): its term end is no risk
RENEWED = "Renewed: the next term starts "
# the term_state of a client whose running terms are all free after paid ones (crm.free_after_paid)
FREE_TERM = "On a free term since its last paid one ended on "
# term_status's columns for the plays, not the list's: the client is on a pause (crm.paused_clients: its term_state
# is the FREE_TERM one), and its free term ends within renewal_days (the plan resumes then: no renewal_due)
PAUSED = "_paused"
PAUSE_DUE = "_pause_due"
# term_status's column for the plays: the paused client skips one term (crm.one_term_skips: its term_state is the
# SKIPPING one), its plan resuming by itself at the next
SKIP = "_skip"
PAUSE_FACTS = (PAUSED, PAUSE_DUE, SKIP)
# the term_state of a paused client skipping one term (crm.one_term_skips)
SKIPPING = "Skipping one term since its last paid one ended on "
# term_status's column for the plays, not the list's: the client has never paid, its running or last terms all free
# (crm.free_trials: a free trial, or a free plan), where a paying customer's would be a renewal
TRIAL = "_trial"
# every column of term_status that is the plays', not the list's
PLAY_FACTS = (*PAUSE_FACTS, TRIAL)
# the term_state of a client on free terms that has never paid (crm.free_trials)
FREE_TRIAL = "On a free trial (or a free plan), nothing paid yet"


# the term_state of a client whose next term is booked at a higher price (the price_rise rule fired for it)
BOOKED_AT_A_RISE = "Next term booked from {day} at a higher price: a renewal to work, not a done one"
# the term_state of a client whose next term is booked at the price its running term already rose to (price_rise
# fired for a rise already started, rules.PRICE_RISE_KINDS "started"): a renewal done, the rise said
BOOKED_AFTER_A_RISE = (
    "Renewed: the next term starts {day}, at the price that already rose in the running term"
)


def with_price_rises(views: pl.DataFrame, kinds: pl.Series, renewal_days: int) -> pl.DataFrame:
    """``views`` (a :func:`term_status` frame) with the ``price_rise`` rule's kind per row (``kinds``,
    :func:`churnml.scoring.rules.price_rise_kinds`: ``booked``, ``discount``, ``started``; null where it did
    not fire) said where a next term is booked. ``booked``: that term is a renewal quote or a price rise, not a
    renewal done, so ``term_state`` says so (:data:`BOOKED_AT_A_RISE`), it is not read as renewed
    (:func:`renewed_rows`), and it is in the renewals view (``renewal_due``) when the running term ends within
    ``renewal_days`` (``score.renewal_days``); an insurer writes each renewal quote as the next term: 875
    customers read "Renewed", 118 of whom lapsed within 60 days. ``started``: the price already rose in the
    running term and the next term is booked at it: a renewal done, the rise said
    (:data:`BOOKED_AFTER_A_RISE`; a monthly member auto-renewed at 20% more read "booked at a higher price"
    beside a next month at the same price). ``discount`` fires only with nothing booked: no change."""
    kind = kinds.cast(pl.String)
    has_next = pl.col(Scores.NEXT_TERM_START).is_not_null()
    booked = has_next & (pl.lit(kind) == "booked").fill_null(False)
    started = has_next & (pl.lit(kind) == "started").fill_null(False)
    soon = (pl.col(Scores.RENEWAL_DAYS) <= renewal_days).fill_null(False)
    return views.with_columns(
        pl.when(booked & soon).then(True).otherwise(pl.col(Scores.RENEWAL_DUE)).alias(Scores.RENEWAL_DUE),
        pl.when(booked)
        .then(formatted(BOOKED_AT_A_RISE.replace("{day}", "{}"), pl.col(Scores.NEXT_TERM_START)))
        .when(started)
        .then(formatted(BOOKED_AFTER_A_RISE.replace("{day}", "{}"), pl.col(Scores.NEXT_TERM_START)))
        .otherwise(pl.col(Scores.TERM_STATE))
        .alias(Scores.TERM_STATE),
    )


def renewed_rows(views: pl.DataFrame) -> np.ndarray:
    """Per row of ``views`` (a :func:`term_status` frame), whether the client's next term is booked
    (``next_term_start`` set) at no price rise (:func:`with_price_rises`) and with no notice standing
    (:func:`notice_text`): its term end is no risk, its renewal done."""
    booked = views.get_column(Scores.NEXT_TERM_START).is_not_null()
    state = views.get_column(Scores.TERM_STATE)
    rising = state.str.starts_with(BOOKED_AT_A_RISE.split("{")[0]).fill_null(False)
    # a notice that stands (term_status: NOTICE_GIVEN): the term booked after it is its notice period, no renewal
    noticed = state.str.starts_with(NOTICE_GIVEN).fill_null(False)
    return (booked & ~rising & ~noticed).to_numpy()


# a client back from an absence within this many days says so in its term_state ("Back since ... after ... days
# away"): its features still read the weeks it was gone (a returned client read red at 94% on "product events fell")
BACK_DAYS = 91


def last_returns(
    tables: Mapping[Table, pl.DataFrame],
    as_of: date,
    grace_days: int,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[client_id, _back, _left]`` (Datetime): each client's last return strictly before ``as_of`` and the
    instant it had left, one row per client that ever came back. A return is either a term starting more
    than ``grace_days`` after the client's earlier terms all ended (a new customer spell, as the
    subscriptions label reads it: ``_left`` the last end) or the return after a ``churns`` record by the
    one rule of a return (:func:`churnml.labels.returns_after_churns`: the first term started after it;
    without a subscriptions table, the first event or order more than ``grace_days`` after it; ``_left``
    the churn). For one return known both ways, ``_left`` is the later (until its term ended it was served).
    ``tables``: the dataset's tables (subscriptions, churns; events or payments without subscriptions);
    ``customer``: :func:`churnml.labels.customer_terms` of their subscriptions when the caller holds it (None:
    read here)."""
    from churnml.labels import (
        RETURNED_AT,
        customer_terms,
        customer_terms_before,
        returns_after_churns,
        running_max_per_client,
    )

    cut = _midnight(as_of)
    dt = pl.Datetime("us")
    schema = {CLIENT_ID: pl.String, "_back": dt, "_left": dt}
    parts = [pl.DataFrame(schema=schema)]
    subscriptions = tables.get(Table.SUBSCRIPTIONS)
    if subscriptions is not None and subscriptions.height:
        # the base terms, as the labels read them (an add-on running on through an absence hides no return)
        if customer is None:
            customer = customer_terms(subscriptions)
        terms = (
            customer_terms_before(subscriptions, cut, customer)
            .select(
                pl.col(CLIENT_ID).cast(pl.String),
                pl.col(Subscriptions.START_DATE).cast(dt).alias("_back"),
                pl.col(Subscriptions.END_DATE).cast(dt).alias("_end"),
            )
            .sort(CLIENT_ID, "_back", "_end")
        )
        terms = terms.with_columns(running_max_per_client(terms, "_end", before=True).alias("_left"))
        parts.append(
            terms.filter(pl.col("_back") > pl.col("_left") + timedelta(days=grace_days)).select(schema.keys())
        )
    churns = tables.get(Table.CHURNS)
    if churns is not None and churns.height:
        left = (
            churns.filter(pl.col(Churns.CHURNED_AT) < cut)
            .select(pl.col(CLIENT_ID).cast(pl.String), pl.col(Churns.CHURNED_AT).cast(dt))
            .unique()
        )
        back = returns_after_churns(tables, left, grace_days, before=cut, customer=customer).filter(
            pl.col(RETURNED_AT).is_not_null()
        )
        parts.append(
            back.select(
                CLIENT_ID,
                pl.col(RETURNED_AT).cast(dt).alias("_back"),
                pl.col(Churns.CHURNED_AT).alias("_left"),
            )
        )
    return (
        pl.concat(parts)
        .sort(CLIENT_ID, "_back", "_left")
        .group_by(CLIENT_ID, maintain_order=True)
        .agg(pl.col("_back").last(), pl.col("_left").last())
    )


def back_text(back: date, away_days: int) -> str:
    """``"Back since 2024-05-20 after 67 days away"``: a returned client's term_state (:func:`last_returns`)."""
    return f"Back since {back.isoformat()} after {days_text(away_days)} away"


def days_since_end(as_of: date) -> pl.Expr:
    """Calendar days from the day of ``_last_end`` to ``as_of`` (a term that ended yesterday at 22:34 ended
    1 day ago, as the features' day numbers say), for the texts and the settling of a lapse."""
    return (pl.lit(as_of, pl.Date) - pl.col("_last_end").dt.date()).dt.total_days()


# the ``signals.signal`` a CRM records when a client withdraws its notice: a cancellation_request ticket opened at
# or before it no longer stands (a member who gave notice and stays read red with a save call for 91 days)
CANCELLATION_WITHDRAWN = Signals.CANCELLATION_WITHDRAWN


# the longest term read as a notice period (cancellation_notices): a term starting after a notice and no longer than
# this many days is (part of) its notice period (a monthly member's next month, a quarter); a longer one is a renewal
# (an annual policy's next year: the client stayed once it starts)
MAX_NOTICE_DAYS = 92


def cancellation_notices(
    tables: Mapping[Table, pl.DataFrame | None],
    as_of: date,
    days: int,
    max_notice_days: int = MAX_NOTICE_DAYS,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[client_id, _asked, _ends, _running]``, one row per client whose notice **stands** at ``as_of``: its last
    ``cancellation_request`` ticket opened within the ``days`` before ``as_of`` (``rules.cancellation_days``), or
    earlier while the base term running when it was given still runs (an app's annual plan whose auto-renewal was
    turned off in May, ending in October: the terms say when it takes effect, and no renewal can come before), no
    :data:`CANCELLATION_WITHDRAWN` signal at or after it (before ``as_of``), and no renewal started since (below).
    ``_asked``: when it was opened; ``_ends``: when it takes effect as far as the client's base terms
    (:func:`churnml.labels.customer_terms`) say: the end of the term running when it was given (the last end of
    those started by then), extended by the terms starting after it of ``max_notice_days``
    (:data:`MAX_NOTICE_DAYS`) at most: its notice period (a monthly member's next month billed after a one-month
    notice; three of them after three months' notice); null without a term. A longer term starting after the
    notice is a **renewal** (an annual policy's next year, booked before or after the call), and so ends the
    notice period (a short term after it is none):
    before it starts the notice takes effect at the running term's end, once it started the request is over (the
    client stayed: no row). ``_running``: ``_ends`` is still to come at ``as_of`` (a base term runs or is booked
    until then); false once it passed (the notice took effect). Empty without a tickets table (or its ``kind``).
    ``customer``: :func:`churnml.labels.customer_terms` of ``tables``' subscriptions when the caller holds it
    (None: read here)."""
    from churnml.labels import customer_terms

    dt = pl.Datetime("us")
    schema = {CLIENT_ID: pl.String, "_asked": dt, "_ends": dt, "_running": pl.Boolean}
    tickets = tables.get(Table.TICKETS)
    if tickets is None or Tickets.KIND not in tickets.columns:
        return pl.DataFrame(schema=schema)
    cut = _midnight(as_of)
    asked = (
        tickets.filter((pl.col(Tickets.KIND) == "cancellation_request") & (pl.col(Tickets.OPENED_AT) < cut))
        .group_by(pl.col(CLIENT_ID).cast(pl.String))
        .agg(pl.col(Tickets.OPENED_AT).max().cast(dt).alias("_asked"))
    )
    recent = pl.col("_asked") >= cut - timedelta(days=days)
    signals = tables.get(Table.SIGNALS)
    if signals is not None and signals.height:
        withdrawn = (
            signals.filter(
                (pl.col(Signals.SIGNAL).cast(pl.String) == CANCELLATION_WITHDRAWN)
                & (pl.col(Signals.TS) < cut)
            )
            .group_by(pl.col(CLIENT_ID).cast(pl.String))
            .agg(pl.col(Signals.TS).max().cast(dt).alias("_withdrawn"))
        )
        asked = (
            asked.join(withdrawn, on=CLIENT_ID, how="left")
            .filter(pl.col("_withdrawn").is_null() | (pl.col("_withdrawn") < pl.col("_asked")))
            .drop("_withdrawn")
        )
    subscriptions = tables.get(Table.SUBSCRIPTIONS)
    if subscriptions is None or not subscriptions.height:
        return asked.filter(recent).with_columns(
            pl.lit(None, dt).alias("_ends"), pl.lit(False).alias("_running")
        )
    terms = (customer_terms(subscriptions) if customer is None else customer).select(
        pl.col(CLIENT_ID).cast(pl.String),
        pl.col(Subscriptions.START_DATE).cast(dt).alias("_start"),
        pl.col(Subscriptions.END_DATE).cast(dt).alias("_end"),
    )
    return (
        _notice_ends(asked, terms, max_notice_days)
        .filter(
            (
                pl.col("_renewed").is_null() | (pl.col("_renewed") >= cut)
            )  # a renewal started: the client stayed
            # older than ``days``: only while the term it was given in runs (a monthly member who asked in
            # spring and paid every month since stayed)
            & (recent | (pl.col("_ran_to") >= cut).fill_null(False))
        )
        .select(
            CLIENT_ID,
            "_asked",
            "_ends",
            (pl.col("_ends") >= cut).fill_null(False).alias("_running"),
        )
    )


def _notice_ends(asked: pl.DataFrame, terms: pl.DataFrame, max_notice_days: int) -> pl.DataFrame:
    """``asked`` (``[client_id, _asked]``) with ``_ends`` (when the notice takes effect) and ``_renewed`` (the
    start of the first renewal after it; null without one), from the clients' base terms ``terms``
    (``[client_id, _start, _end]``), as :func:`cancellation_notices` reads them: the term running at the notice
    ends at ``_ran_to`` (the last end of the terms started by then); a term starting after the notice of
    ``max_notice_days`` at most is its notice period, a longer one a renewal, and a short term starting after
    that renewal is no notice period."""
    period = timedelta(days=max_notice_days)
    dated = terms.join(asked, on=CLIENT_ID, how="inner")
    ran_to = (
        dated.filter(pl.col("_start") <= pl.col("_asked"))
        .group_by(CLIENT_ID)
        .agg(pl.col("_end").max().alias("_ran_to"))
    )
    after = dated.filter(pl.col("_start") > pl.col("_asked")).with_columns(
        (pl.col("_end") - pl.col("_start") <= period).alias("_notice_period")
    )
    renewed = (
        after.filter(~pl.col("_notice_period"))
        .group_by(CLIENT_ID)
        .agg(pl.col("_start").min().alias("_renewed"))
    )
    extended = (
        after.join(renewed, on=CLIENT_ID, how="left")
        .filter(
            pl.col("_notice_period")
            & (pl.col("_renewed").is_null() | (pl.col("_start") < pl.col("_renewed")))
        )
        .group_by(CLIENT_ID)
        .agg(pl.col("_end").max().alias("_period_end"))
    )
    return (
        asked.join(ran_to, on=CLIENT_ID, how="left")
        .join(extended, on=CLIENT_ID, how="left")
        .join(renewed, on=CLIENT_ID, how="left")
        .with_columns(pl.max_horizontal("_ran_to", "_period_end").alias("_ends"))
    )


# the term_state of a client whose notice stands (term_status, notice_text)
NOTICE_GIVEN = "Gave notice on "


def notice_text(asked: date, ends: date | None, as_of: date, trial: bool = False) -> str:
    """A standing notice said plainly (:func:`cancellation_notices`): ``"Gave notice on 2026-01-07: it takes
    effect when the term ends on 2026-03-01 (in 5 days)"``; without a term, ``"Gave notice on 2026-01-07"``.
    ``trial``: the client never paid (:func:`free_trials`), its term a free trial: "... when the free trial
    ends on ..." (a trialist that turned auto-renew off has no term to renew)."""
    said = f"{NOTICE_GIVEN}{asked.isoformat()}"
    if ends is None:
        return said
    left = (ends - as_of).days
    when = "today" if left == 0 else f"in {days_text(left)}"
    term = "free trial" if trial else "term"
    return f"{said}: it takes effect when the {term} ends on {ends.isoformat()} ({when})"


def billing_cycle_months(renewal_days: int) -> int:
    """The longest term, in whole months as :func:`next_renewals` counts them (``_term_months``), whose end is a
    billing cycle rather than a renewal when it repeats the term before it (as long, back to back): one no longer
    than the renewals view's window (``score.renewal_days``), which is in that view from the day it starts, and a
    month at least (a first term, or a stub pro-rated to an anniversary, is still a renewal). With the default 60
    days, 2: a pet-food
    shop's auto-ships every 8 weeks (56-day terms, 2 months) were ``renewal_due`` every day of every term (all 351
    of its 8-weekly subscribers, 5.5% of them leaving within 90 days against 14.9%) and got the renewal play,
    "This week" in the last 14 days of each, while its 6-weekly ones (42 days, a month) never were."""
    return max(1, round(renewal_days / _DAYS_PER_MONTH))


# term_facts' columns besides client_id and the booking, pause and skip ones
_TERM_FACTS = {
    Scores.RENEWAL_DATE: pl.Date,
    Scores.RENEWAL_DAYS: pl.Int64,
    Scores.RENEWAL_VALUE: pl.Float64,
    "_last_end": pl.Datetime("us"),
    "_term_months": pl.Float64,
    "_repeats": pl.Boolean,
}


def term_facts(
    client_ids: Sequence[str],
    as_of: date,
    subscriptions: pl.DataFrame,
    grace_days: int,
    renewal_share: float = EARLY_RENEWAL_SHARE,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """What :func:`term_status` reads of each client's terms at ``as_of`` (``subscriptions`` not empty), one row
    per client of ``client_ids`` in their order: ``client_id``, the next renewal (:func:`next_renewals`:
    ``renewal_date``, ``renewal_days``, ``renewal_value``, ``_term_months``, ``_repeats``; a paused client's
    renewal valued at its last paid terms'), ``_booked`` (:func:`booked_terms`), ``_last_end`` (in grace,
    :func:`lapsed_terms`), ``_paid_end`` (:func:`free_after_paid`), ``_paused_arr``, and the flags
    :data:`PAUSED` (:func:`paused_clients`) and :data:`SKIP` (:func:`one_term_skips`). It reads the
    subscriptions alone, so that the list's CRM view and its ``term_lapsed`` rule, which read the other tables
    differently, share it. ``customer``: :func:`churnml.labels.customer_terms` of ``subscriptions`` when the
    caller holds it (None: read here)."""
    cut = _midnight(as_of)
    ids = _ids(client_ids)
    known = subscriptions.filter(pl.col(Subscriptions.START_DATE) < cut)
    running = next_renewals(known, cut)
    # the bookings, the lapses and the free terms after paid ones, read once: the pause and the skip read them
    booked = booked_terms(subscriptions, as_of, renewal_share, customer)
    lapsed = lapsed_terms(subscriptions, as_of, grace_days, renewal_share, booked=booked, customer=customer)
    free = free_after_paid(subscriptions, as_of)
    paused = paused_clients(
        subscriptions, as_of, grace_days, renewal_share, free=free, lapsed=lapsed, booked=booked
    )
    return (
        ids.join(running, on=CLIENT_ID, how="left", maintain_order="left")
        .join(booked, on=CLIENT_ID, how="left", maintain_order="left")
        .join(lapsed, on=CLIENT_ID, how="left", maintain_order="left")
        .join(free, on=CLIENT_ID, how="left", maintain_order="left")
        .with_columns(pl.col(CLIENT_ID).is_in(paused.get_column(CLIENT_ID).implode()).alias(PAUSED))
        .with_columns(
            (
                pl.col(PAUSED)
                & pl.col(CLIENT_ID).is_in(
                    one_term_skips(subscriptions, as_of, free=free).get_column(CLIENT_ID).implode()
                )
            ).alias(SKIP)
        )
        .join(_paused_value(ids, as_of, subscriptions), on=CLIENT_ID, how="left", maintain_order="left")
        .with_columns(
            (pl.col(Scores.RENEWAL_DATE) - pl.lit(as_of))
            .dt.total_days()
            .cast(pl.Int64)
            .alias(Scores.RENEWAL_DAYS),
            # a paused client's free term renews into its paid plan: what is at stake is the last paid
            # terms' value, as its ARR (a skipped box read "renewal worth EUR 0" beside an ARR of 672)
            pl.when(pl.col("_paid_end").is_not_null() & (pl.col(Scores.RENEWAL_VALUE) == 0))
            .then(pl.col("_paused_arr") / 12 * pl.col("_term_months"))
            .otherwise(pl.col(Scores.RENEWAL_VALUE))
            .alias(Scores.RENEWAL_VALUE),
        )
    )


def term_status(
    client_ids: Sequence[str],
    as_of: date,
    subscriptions: pl.DataFrame | None,
    grace_days: int,
    renewal_days: int,
    settle_days: int = 0,
    data_end: date | None = None,
    churns: pl.DataFrame | None = None,
    tables: Mapping[Table, pl.DataFrame] | None = None,
    renewal_share: float = EARLY_RENEWAL_SHARE,
    notice_days: int = 0,
    facts: pl.DataFrame | None = None,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Renewals and the grace state per client (columns: module docstring); ``settle_days``: the days
    after a term's end during which ``term_state`` says no renewal is recorded yet rather than "not
    renewed" (:func:`term_state_text`), counted up to ``data_end`` (the day after the data's last record)
    when the list is dated later: the renewals of the days after the export are not in it (a week-old
    export scored a week later put 107 monthly clients in red as lapsed). A client back within
    :data:`BACK_DAYS` days from an absence (:func:`last_returns` of ``subscriptions`` and ``churns``: a term
    after a gap longer than ``grace_days``, or after a churn record; ``tables``: the dataset's other tables, whose
    events and orders show a return without a subscriptions table) and in no other state says so: "Back
    since 2026-11-28 after 67 days away" (its features still read the weeks it was gone). ``renewal_share``:
    ``data.early_renewal_share``, how early a renewal booked ahead may start (:func:`booked_terms`).
    ``notice_days``: ``rules.cancellation_days`` (0: notices not read): a client whose notice stands
    (:func:`cancellation_notices`, a ``cancellation_request`` ticket in ``tables`` not withdrawn since) says it
    while its term runs, "Gave notice on 2026-01-07: it takes effect when the term ends on 2026-03-01 (in 5
    days)" (:func:`notice_text`; a pause's or a lapse's state comes first), and once that term ended unrenewed is
    in grace at once, "Term ended 1 day ago, as its notice of 2026-01-07 said, and was not renewed": the notice
    says no renewal is coming, so there is nothing to settle. ``facts``: :func:`term_facts` of ``client_ids`` at
    ``as_of`` under ``subscriptions``, ``grace_days`` and ``renewal_share`` when the caller already holds them
    (the list reads them once for its view and the ``term_lapsed`` rule; None: read here). ``customer``:
    :func:`churnml.labels.customer_terms` of ``subscriptions`` when the caller holds it (None: read where needed)."""
    ids = _ids(client_ids)
    if subscriptions is None or subscriptions.height == 0:
        frame = ids.with_columns(
            pl.lit(None, dtype=t).alias(c)
            for c, t in {**_TERM_FACTS, "_booked": pl.Date, "_paid_end": pl.Datetime("us")}.items()
        ).with_columns(pl.lit(False).alias(PAUSED), pl.lit(False).alias(TRIAL), pl.lit(False).alias(SKIP))
    else:
        if facts is None:
            facts = term_facts(client_ids, as_of, subscriptions, grace_days, renewal_share, customer)
        trials = free_trials(
            subscriptions, as_of, (tables or {}).get(Table.PAYMENTS), (tables or {}).get(Table.CLIENTS)
        )
        frame = facts.with_columns(
            pl.col(CLIENT_ID).is_in(trials.get_column(CLIENT_ID).implode()).alias(TRIAL)
        )
    since_end = days_since_end(as_of)
    recorded = since_end if data_end is None or data_end >= as_of else days_since_end(data_end)
    lapsed = pl.col("_last_end").is_not_null()  # lapsed_terms: no running term, ended within the grace
    texts = frame.select(pl.when(lapsed).then(since_end).alias("_d")).to_series().to_list()
    shown = frame.select(pl.when(lapsed).then(recorded).alias("_r")).to_series().to_list()
    notices = ids.join(
        cancellation_notices(
            {**(tables or {}), Table.SUBSCRIPTIONS: subscriptions}, as_of, notice_days, customer=customer
        )
        if notice_days > 0
        else pl.DataFrame(schema={CLIENT_ID: pl.String, "_asked": pl.Datetime("us")}),
        on=CLIENT_ID,
        how="left",
        maintain_order="left",
    )
    asked = notices.get_column("_asked").to_list()
    noticed = pl.Series(asked, dtype=pl.Datetime("us")).is_not_null()
    frame = frame.with_columns(noticed.alias("_noticed"))
    # called lapsed once a late renewal would show; at once when the client gave notice (none is coming)
    in_grace = lapsed & ((recorded >= settle_days) | pl.col("_noticed"))
    booked_on = frame.get_column("_booked").to_list()
    paid_ends = frame.get_column("_paid_end").to_list()
    paused = frame.get_column(PAUSED).to_list()
    skips = frame.get_column(SKIP).to_list()
    trials = frame.get_column(TRIAL).to_list()
    to_end = frame.get_column(Scores.RENEWAL_DAYS).to_list()
    running = (
        notices.get_column("_running").fill_null(False).to_list()
        if "_running" in notices.columns
        else [False] * len(asked)
    )
    ends = notices.get_column("_ends").to_list() if "_ends" in notices.columns else [None] * len(asked)

    def state(d: int | None, b: date | None, p: datetime | None, z: bool, r: int | None, i: int) -> str:
        if z and skips[i]:
            return f"{SKIPPING}{p:%Y-%m-%d} (a free term no longer than its paid ones: a skipped delivery or billing cycle)"
        if z:
            return f"{FREE_TERM}{p:%Y-%m-%d} (a pause, or a free plan)"
        if asked[i] is not None and d is not None:  # its notice took effect: the term ended unrenewed
            when = "today" if d == 0 else f"{days_text(d)} ago"
            if trials[
                i
            ]:  # never paid: its free trial ended, no paid term to renew (trial_state_text's words)
                return (
                    f"Free trial ended {when}, as its notice of {asked[i]:%Y-%m-%d} said, without a paid term"
                )
            return f"Term ended {when}, as its notice of {asked[i]:%Y-%m-%d} said, and was not renewed"
        if asked[i] is not None and (running[i] or ends[i] is None):
            end = ends[i].date() if ends[i] is not None else None
            return notice_text(asked[i].date(), end, as_of, trial=trials[i])
        if b is not None:
            return f"{RENEWED}{b.isoformat()}"
        if trials[i]:  # never paid: a trial to convert, not a term to renew
            return trial_state_text(to_end[i], d, settle_days, r)
        return term_state_text(d, settle_days, r)

    states = [
        state(d, b, p, z, r, i)
        for i, (d, b, p, z, r) in enumerate(zip(texts, booked_on, paid_ends, paused, shown, strict=True))
    ]
    backs = _recent_returns(
        ids,
        as_of,
        {**(tables or {}), Table.SUBSCRIPTIONS: subscriptions, Table.CHURNS: churns},
        grace_days,
        customer,
    )
    states = [
        back_text(b, n) if not state and b is not None else state
        for state, b, n in zip(states, backs.get_column("_back"), backs.get_column("_away"), strict=True)
    ]
    ends_soon = pl.col(Scores.RENEWAL_DAYS) <= renewal_days
    # a term as long as the one before it and no longer than the renewals view's window is in the view from its
    # first day: its end is the client's billing cycle (an auto-ship every 8 weeks), not a renewal to prepare
    cycle = pl.col("_repeats").fill_null(False) & (
        pl.col("_term_months") <= billing_cycle_months(renewal_days)
    )
    due = ends_soon & (pl.col("_term_months") > 1) & ~cycle
    return frame.select(
        CLIENT_ID,
        pl.col(Scores.RENEWAL_DATE),
        pl.col(Scores.RENEWAL_DAYS),
        pl.col(Scores.RENEWAL_VALUE),
        # a monthly plan renews every month: only terms longer than the view's window make it; a renewal booked
        # ahead is done; a pause's free term ends in the paid plan resuming, no renewal
        # a trial's end is a conversion, not a renewal (its own play)
        (due & pl.col("_booked").is_null() & ~pl.col(PAUSED) & ~pl.col(TRIAL))
        .fill_null(False)
        .alias(Scores.RENEWAL_DUE),
        in_grace.fill_null(False).alias(Scores.IN_GRACE),
        pl.col("_booked").alias(Scores.NEXT_TERM_START),
        pl.col(PAUSED),
        (ends_soon & (pl.col("_term_months") > 1) & pl.col(PAUSED)).fill_null(False).alias(PAUSE_DUE),
        pl.col(SKIP).fill_null(False),
        pl.col(TRIAL),
    ).with_columns(pl.Series(Scores.TERM_STATE, states, dtype=pl.String))


def _recent_returns(
    ids: pl.DataFrame,
    as_of: date,
    tables: Mapping[Table, pl.DataFrame | None],
    grace_days: int,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``ids`` with ``_back`` (the day of the client's last return, when within :data:`BACK_DAYS` days of
    ``as_of``; else null) and ``_away`` (the days between leaving and coming back), from ``tables``
    (:func:`last_returns`; a table given as None is absent; ``customer``: the customer terms of its subscriptions,
    when the caller holds them)."""
    present = {t: f for t, f in tables.items() if f is not None}
    back = last_returns(present, as_of, grace_days, customer).select(
        CLIENT_ID,
        pl.col("_back").dt.date(),
        (pl.col("_back").dt.date() - pl.col("_left").dt.date()).dt.total_days().cast(pl.Int64).alias("_away"),
    )
    recent = back.filter(pl.col("_back") >= as_of - timedelta(days=BACK_DAYS))
    return ids.join(recent, on=CLIENT_ID, how="left", maintain_order="left")


def _paused_value(ids: pl.DataFrame, as_of: date, subscriptions: pl.DataFrame) -> pl.DataFrame:
    """``[client_id, _paused_arr]``: the ARR of the last paid terms of the clients on a free term after a
    paid one (:func:`churnml.scoring.value.paused_terms_arr`)."""
    from churnml.scoring.value import paused_terms_arr

    return paused_terms_arr(ids.get_column(CLIENT_ID), as_of, subscriptions)


# the lengths a contract is sold for, in months: a run of terms adding up to one of them from a start on the
# same day of the month as its end is one contract cut by changes (contract_starts)
CONTRACT_MONTHS = (1, 3, 6, 12, 24, 36)


def _whole_months(start: pl.Expr) -> pl.Expr:
    """The months from ``start`` to a term's ``end_date``, rounded to whole ones (a month at least): the length
    :func:`next_renewals` renews a term for, from its contract's start or its own."""
    return (
        ((pl.col(Subscriptions.END_DATE) - start).dt.total_days() / _DAYS_PER_MONTH)
        .round(0)
        .clip(lower_bound=1)
    )


def next_renewals(known: pl.DataFrame, cut: datetime) -> pl.DataFrame:
    """``[client_id, renewal_date, renewal_value, _term_months, _repeats]`` from the client's terms started before
    ``cut`` (``known``), one row per client with a base term running at ``cut`` (ending at or after it): the
    next renewal is the earliest end among its running base terms longer than a month (a household's motor
    policy renewing in 7 days beside a home policy renewing in 6 months: the motor one; it was the last end,
    which hid 137 renewals due), else the last end of its running base terms (monthly terms). Base terms are
    the terms that are no add-on, or every term of a client that never had one (as
    :func:`churnml.labels.customer_terms` reads them). A client whose base plan is no longer running has no
    next renewal (no row: ``renewal_date`` null), whatever add-on runs on: the add-on's end renews nothing
    the client is a customer by (it read as the renewal of a client whose plan had lapsed). What renews: the
    terms ending that day (a co-termed add-on too), for the longest of the base terms' lengths among them
    (``_term_months``: an annual add-on ending with a monthly plan renews for the plan's month); ``_repeats``: each
    renewing base term is as long, in months, as the base term that ended the day it started (its billing cycle,
    :func:`billing_cycle_months`)."""
    # a base term's length is its contract's: from the start its end renews a whole number of months after
    # (contract_starts: a seat change cut into an annual contract renews for the year, not for its stub)
    months = _whole_months(pl.coalesce(pl.col("_contract_start"), pl.col(Subscriptions.START_DATE)))
    addon = (
        pl.col(Subscriptions.IS_ADDON).cast(pl.Boolean).fill_null(False)
        if Subscriptions.IS_ADDON in known.columns
        else pl.lit(False)
    )
    # a client that never had a base term: its add-ons are its terms (labels.customer_terms)
    base = ~addon | addon.all().over(CLIENT_ID)
    known = known.with_columns(pl.col(CLIENT_ID).cast(pl.String)).with_columns(base.alias("_base"))
    # the base term before, ending the day a term starts, and its own length in months: a term as long as the one
    # before it repeats the client's billing cycle (an auto-ship every 8 weeks), where a first term or a stub
    # pro-rated to an anniversary does not
    own_months = _whole_months(pl.col(Subscriptions.START_DATE))
    before = (
        known.filter(pl.col("_base"))
        .select(
            CLIENT_ID,
            pl.col(Subscriptions.END_DATE).alias(Subscriptions.START_DATE),
            own_months.alias("_before"),
        )
        # two base terms ending the same day: the longer one (whichever row came first would make it depend on
        # the file's order)
        .group_by(CLIENT_ID, Subscriptions.START_DATE)
        .agg(pl.col("_before").max())
    )
    terms = (
        known.filter(pl.col(Subscriptions.END_DATE) >= cut)
        .join(before, on=[CLIENT_ID, Subscriptions.START_DATE], how="left")
        .with_columns((pl.col("_before") == own_months).fill_null(False).alias("_repeats"))
        .join(
            contract_starts(known.filter(pl.col("_base")), cut),
            on=[CLIENT_ID, Subscriptions.START_DATE, Subscriptions.END_DATE],
            how="left",
        )
        .with_columns(pl.when(pl.col("_base")).then(pl.col("_contract_start")).alias("_contract_start"))
        .with_columns(
            months.alias("_months"),
            pl.col(Subscriptions.END_DATE).dt.date().alias("_end"),
            ((months > 1) & pl.col("_base")).alias("_main"),
        )
    )
    # the renewal's length is the base terms': a co-termed annual add-on does not make a monthly plan's end a
    # 12-month renewal (it read as due, worth 12 x both)
    base_months = pl.col("_months").filter(pl.col("_base")).max()
    nearest = (
        terms.filter(pl.col("_base"))
        .group_by(CLIENT_ID)
        .agg(pl.coalesce(pl.col("_end").filter(pl.col("_main")).min(), pl.col("_end").max()).alias("_next"))
    )
    return (
        terms.join(nearest, on=CLIENT_ID)
        .filter(pl.col("_end") == pl.col("_next"))
        .group_by(CLIENT_ID)
        .agg(
            pl.col("_end").first().alias(Scores.RENEWAL_DATE),
            (pl.col(Subscriptions.MRR).sum() * base_months).cast(pl.Float64).alias(Scores.RENEWAL_VALUE),
            base_months.alias("_term_months"),
            pl.col("_repeats").filter(pl.col("_base")).all().alias("_repeats"),
        )
    )


def contract_starts(base_terms: pl.DataFrame, cut: datetime) -> pl.DataFrame:
    """``[client_id, start_date, end_date, _contract_start]``, one row per base term running at ``cut`` (ending
    at or after it): the latest start, among the term's own and those of the base terms before it in an
    unbroken run (each starting the day the one before ended), that falls a contract's length
    (:data:`CONTRACT_MONTHS`: 1, 3, 6, 12, 24 or 36 months, to the day of the month; a month-end end takes any
    later day) before the term's end. A seat change inside an annual contract written as a billing system
    writes it (the running term cut at the change, a new term from it to the contract's end) renews for the
    year: its stub of 2 months read a renewal worth 2 x the MRR (a 6-seat account's EUR 120 beside its ARR of
    720), and a stub of under 6 weeks a monthly renewal, never due. A term whose own start is such a day keeps it (a monthly term,
    a whole contract); one with none (a first term pro-rated to an anniversary) has no row. Of several such
    starts, the latest that whole contracts reach from the run's first start (:func:`_whole_contract_starts`):
    a stub that is a contract's length itself (a month, a quarter) cut into a longer contract renews for that
    contract (a fleet tracker's annual accounts with a vehicle added a month before the year's end read a
    monthly renewal, never due: 9 of 139 renewal values wrong, 3 renewals the next day not due). A run holding
    :data:`RHYTHM_TERMS` or more terms of one same length in days from that start is a billing rhythm, not a
    contract cut by changes (:func:`_billing_rhythm`): a coffee subscriber's deliveries every 14 days, a
    30-day pause among them, ran from 2026-05-13 to 2026-11-13 and read a 6-month renewal due, worth 6 x the
    MRR."""
    start, end = Subscriptions.START_DATE, Subscriptions.END_DATE
    stamp = base_terms.schema[start]  # the terms' own time type: the result joins back on start and end
    schema = {CLIENT_ID: pl.String, start: stamp, end: base_terms.schema[end], "_contract_start": stamp}
    # the runs of unbroken terms, numbered along the sorted rows: a run begins at a client's first term and at a
    # term not starting the day the one before ended (plain shifts of the sorted rows, not windows per client,
    # which cost twice the sort at 100,000 clients); ``_run`` is a key beside the client, unique across clients
    same_client = pl.col(CLIENT_ID).eq_missing(pl.col(CLIENT_ID).shift(1))
    terms = (
        base_terms.select(CLIENT_ID, start, end)
        # sorted, then the repeated rows dropped (the same rows as unique() then sort(): a row is its three keys),
        # in a third of the time at 100,000 clients
        .sort(CLIENT_ID, start, end)
        .unique(maintain_order=True)
        .with_columns(
            (~same_client | (pl.col(start) != pl.col(end).shift(1))).fill_null(True).cum_sum().alias("_run")
        )
    )
    running = terms.filter(pl.col(end) >= cut)
    if running.height == 0:
        return pl.DataFrame(schema=schema)
    earlier = terms.select(CLIENT_ID, "_run", pl.col(start).alias("_contract_start"))
    candidates = running.join(earlier, on=[CLIENT_ID, "_run"]).filter(
        (pl.col("_contract_start") <= pl.col(start)) & _contract_length("_contract_start", end)
    )
    candidates = candidates.join(
        _billing_rhythm(terms, candidates), on=[CLIENT_ID, start, end, "_contract_start"], how="anti"
    )
    # a term with several candidate starts (most have one): a run whose every term is a contract's length
    # (monthly terms, whole contracts) reaches each of its starts by whole contracts; a run cut by a change is
    # walked from its first start (_whole_contract_starts)
    keys = [CLIENT_ID, "_run"]
    several = candidates.group_by(CLIENT_ID, start, end).agg(pl.col("_run").first(), pl.len().alias("_n"))
    chosen = terms.join(several.filter(pl.col("_n") > 1).select(keys).unique(), on=keys)
    plain = chosen.group_by(keys).agg(_contract_length(start, end).all().alias("_plain"))
    whole = _whole_contract_starts(chosen.join(plain.filter(~pl.col("_plain")), on=keys))
    candidates = candidates.join(plain, on=keys, how="left")
    return (
        candidates.join(whole, on=[CLIENT_ID, "_run", "_contract_start"], how="left")
        .with_columns((pl.col("_plain").fill_null(False) | pl.col("_whole").fill_null(False)).alias("_whole"))
        .group_by(CLIENT_ID, start, end)
        .agg(
            # the latest start that whole contracts reach from the run's first, else the latest of all
            pl.coalesce(
                pl.col("_contract_start").filter(pl.col("_whole")).max(),
                pl.col("_contract_start").max(),
            )
        )
        .cast(schema)  # type: ignore[arg-type]
    )


def _contract_length(since: str, until: str) -> pl.Expr:
    """Whether the time from column ``since`` to column ``until`` is a contract's length: a number of months
    of :data:`CONTRACT_MONTHS` to the day of the month (a month-end ``until`` takes any later day)."""
    day, last_day = pl.col(until).dt.day(), pl.col(until).dt.month_end().dt.day()
    whole_months = (pl.col(since).dt.day() == day) | ((day == last_day) & (pl.col(since).dt.day() >= day))
    months = (pl.col(until).dt.year() * 12 + pl.col(until).dt.month()) - (
        pl.col(since).dt.year() * 12 + pl.col(since).dt.month()
    )
    return whole_months & months.is_in(list(CONTRACT_MONTHS))


def _whole_contract_starts(terms: pl.DataFrame) -> pl.DataFrame:
    """``[client_id, _run, _contract_start, _whole]`` (``_whole`` true): the starts of the runs of ``terms`` (with
    their ``_run``: runs cut by a change, a term in them no contract's length) that whole contracts reach from
    the run's first start, each contract a length of :data:`CONTRACT_MONTHS` (:func:`_contract_length`) from one
    term start to a later one. A stub of a whole month cut into an annual contract a month before its end (a
    seat change taking effect on the billing day) is a contract's length itself, yet the 11 months before it
    make no contract: its start is none, and the contract it cuts renews for the year (it read a monthly
    renewal, never due)."""
    keys = [CLIENT_ID, "_run"]
    starts = terms.select(*keys, pl.col(Subscriptions.START_DATE).alias("_from"))
    hops = starts.join(starts.rename({"_from": "_to"}), on=keys).filter(
        (pl.col("_from") < pl.col("_to")) & _contract_length("_from", "_to")
    )
    reached = starts.group_by(keys).agg(pl.col("_from").min())
    while True:  # each pass reaches one contract further; a run holds few terms
        grown = pl.concat(
            [reached, reached.join(hops, on=[*keys, "_from"]).select(*keys, pl.col("_to").alias("_from"))]
        ).unique()
        if grown.height == reached.height:
            return grown.select(*keys, pl.col("_from").alias("_contract_start"), pl.lit(True).alias("_whole"))
        reached = grown


# a run with this many terms of one same length (in days) is billed on a rhythm (every 14 or 28 days), not one
# contract cut by changes (a seat change cuts a contract into two or three pieces of unequal lengths)
RHYTHM_TERMS = 3


def _billing_rhythm(terms: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """``[client_id, start_date, end_date, _contract_start]`` of the ``candidates`` (a running term and a start
    of its run a contract's length before its end, :func:`contract_starts`) whose terms from that start to the
    running term's end (``terms``: with their ``_run``) hold :data:`RHYTHM_TERMS` or more of one same length in
    days: deliveries billed every 14 days, not a contract cut by changes. One row per such candidate."""
    start, end = Subscriptions.START_DATE, Subscriptions.END_DATE
    pieces = terms.select(
        CLIENT_ID,
        "_run",
        pl.col(start).alias("_piece_start"),
        pl.col(end).alias("_piece_end"),
        (pl.col(end) - pl.col(start)).dt.total_days().alias("_piece_days"),
    )
    keys = [CLIENT_ID, start, end, "_contract_start"]
    return (
        candidates.select(*keys, "_run")
        .join(pieces, on=[CLIENT_ID, "_run"])
        .filter((pl.col("_piece_start") >= pl.col("_contract_start")) & (pl.col("_piece_end") <= pl.col(end)))
        .group_by(*keys, "_piece_days")
        .agg(pl.len().alias("_same"))
        .filter(pl.col("_same") >= RHYTHM_TERMS)
        .select(keys)
        .unique()
    )


def booked_terms(
    subscriptions: pl.DataFrame | None,
    as_of: date,
    renewal_share: float = EARLY_RENEWAL_SHARE,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[client_id, _booked]``: the first start (a date) of the client's **renewal booked ahead**, one row per
    client that has one. A renewal booked ahead is a base term (:func:`churnml.labels.customer_terms`, add-ons
    read as the labels read them) starting on or after ``as_of``, of a client with a base term started before
    it, and starting no earlier than the end of the last of those, less ``renewal_share`` of its own length
    (``data.early_renewal_share``: a renewal charged a few days early, as the loader reads it). Not one: an
    add-on booked ahead (a plan ending in 20 days beside an add-on booked from next week read "Renewed"), the
    first term of a client (it renews nothing), a term starting well before the running one ends (an upgrade
    beside it). A term booked after a lapse is one (signed late, within the grace). ``customer``:
    :func:`churnml.labels.customer_terms` of ``subscriptions`` when the caller holds it (None: read here)."""
    from churnml.labels import customer_terms

    schema = {CLIENT_ID: pl.String, "_booked": pl.Date}
    if subscriptions is None or subscriptions.height == 0:
        return pl.DataFrame(schema=schema)
    cut = _midnight(as_of)
    dt = pl.Datetime("us")
    terms = (customer_terms(subscriptions) if customer is None else customer).select(
        pl.col(CLIENT_ID).cast(pl.String),
        pl.col(Subscriptions.START_DATE).cast(dt).alias("_start"),
        pl.col(Subscriptions.END_DATE).cast(dt).alias("_end"),
    )
    last_end = (
        terms.filter(pl.col("_start") < cut).group_by(CLIENT_ID).agg(pl.col("_end").max().alias("_last_end"))
    )
    early = (pl.col("_last_end") - pl.col("_start")).dt.total_seconds()  # negative when it starts after
    length = (pl.col("_end") - pl.col("_start")).dt.total_seconds()
    return (
        terms.filter(pl.col("_start") >= cut)
        .join(last_end, on=CLIENT_ID, how="inner")
        .filter(early <= renewal_share * length)
        .group_by(CLIENT_ID)
        .agg(pl.col("_start").min().dt.date().alias("_booked"))
    )


# a running term this long or shorter can be left at its end, within a month (a monthly plan): its end says little
# about the client, and a price rise in it is one the client can act on now
MONTHLY_TERM_DAYS = 31
# a running term this long or longer commits the client beyond a billing cycle: 3 months or more, rounded to whole
# months (the shortest of CONTRACT_MONTHS beyond a month: a quarter, a year); a delivery every 6 or 8 weeks is a
# slower rhythm the client can stop at its next delivery, not a commitment
COMMITMENT_DAYS = 76
# two terms whose lengths differ by this many days or fewer run on one billing cycle: the calendar's months are 28 to
# 31 days long, its quarters 89 to 92, its years 365 or 366; deliveries moved to another rhythm differ by a week at
# least (every 4 weeks to every 2: 28 to 14 days)
CYCLE_SLACK_DAYS = 3


def same_cycle(days: pl.Expr, other: pl.Expr) -> pl.Expr:
    """True where a term of ``days`` days and one of ``other`` days run on one billing cycle (their lengths
    :data:`CYCLE_SLACK_DAYS` apart at most: a monthly plan's February and March terms): their monthly amounts are
    prices of one plan. Terms of other lengths are other plans (an auto-ship moved from every 4 weeks to every 2
    charges the same basket twice a month; an annual plan left for a monthly one charges the monthly price)."""
    return (days - other).abs() <= CYCLE_SLACK_DAYS


# the columns of running_terms_at: the length of the client's longest running base term, and the days since it began
TERM_DAYS, TERM_AGE = "_term_days", "_term_age"


def running_terms_at(subscriptions: pl.DataFrame, cut: datetime) -> pl.DataFrame:
    """``[client_id, _term_days, _term_age]``: per client with a base term running at ``cut`` (the terms started
    before it, read as the labels read them, :func:`churnml.labels.customer_terms`: an annual add-on on a monthly
    plan leaves the client monthly; ending on or after ``cut``), the length in days of its longest such term
    (:data:`TERM_DAYS`) and the days since that term began (:data:`TERM_AGE`). One row per such client. An annual
    term billed up front leaves months without a payment that say nothing about the client."""
    from churnml.labels import customer_terms_before

    start, end = pl.col(Subscriptions.START_DATE), pl.col(Subscriptions.END_DATE)
    return (
        customer_terms_before(subscriptions, cut)
        .filter(end >= cut)
        .with_columns(
            pl.col(CLIENT_ID).cast(pl.String),
            (end - start).dt.total_days().alias(TERM_DAYS),
            (pl.lit(cut) - start).dt.total_days().alias(TERM_AGE),
        )
        .sort(CLIENT_ID, TERM_DAYS, TERM_AGE)
        .group_by(CLIENT_ID, maintain_order=True)
        .agg(pl.col(TERM_DAYS).last(), pl.col(TERM_AGE).last())
    )


def running_at(at: datetime | pl.Expr) -> pl.Expr:
    """True for a term (a row of ``subscriptions``) running at the instant ``at`` (or a column of instants):
    ``start_date < at <= end_date``, the one test the running MRR, the running commitment and the price-rise rule
    read."""
    return (pl.col(Subscriptions.START_DATE) < at) & (pl.col(Subscriptions.END_DATE) >= at)


def running_mrr(subscriptions: pl.DataFrame, at: datetime, per_product: bool = False) -> pl.DataFrame:
    """``[client_id, _mrr]``: the summed ``mrr`` of each client's terms running at the instant ``at``
    (``start_date < at <= end_date``), one row per client with one; ``per_product``: one row per client
    and ``product`` (``[client_id, product, _mrr]``)."""
    keys = [pl.col(CLIENT_ID).cast(pl.String), *([pl.col(Subscriptions.PRODUCT)] if per_product else [])]
    return (
        subscriptions.filter(running_at(at))
        .group_by(keys)
        .agg(pl.col(Subscriptions.MRR).sum().cast(pl.Float64).alias("_mrr"))
    )


def running_commitment(subscriptions: pl.DataFrame, at: datetime) -> pl.DataFrame:
    """``[client_id, _term_days, _quantity]``: of each client's terms running at the instant ``at`` (as
    :func:`running_mrr` reads them), the length in days of the longest (what the client is committed to: 30 for a
    monthly plan or a rolling tariff, 365 for an annual contract) and the summed ``quantity`` (null without that
    column). One row per client with a running term."""
    running = subscriptions.filter(running_at(at))
    quantity = (
        pl.col(Subscriptions.QUANTITY).sum().cast(pl.Float64)
        if Subscriptions.QUANTITY in running.columns
        else pl.lit(None, pl.Float64)
    )
    return running.group_by(pl.col(CLIENT_ID).cast(pl.String)).agg(
        (pl.col(Subscriptions.END_DATE) - pl.col(Subscriptions.START_DATE))
        .dt.total_days()
        .max()
        .alias("_term_days"),
        quantity.alias("_quantity"),
    )


def _priced_terms(subscriptions: pl.DataFrame) -> pl.DataFrame:
    """``[client_id, start_date, end_date, mrr]`` of ``subscriptions``, typed (text ids, microsecond instants,
    float amounts): what :func:`free_after_paid` and :func:`one_term_skips` read."""
    return subscriptions.select(
        pl.col(CLIENT_ID).cast(pl.String),
        pl.col(Subscriptions.START_DATE).cast(pl.Datetime("us")),
        pl.col(Subscriptions.END_DATE).cast(pl.Datetime("us")),
        pl.col(Subscriptions.MRR).cast(pl.Float64),
    )


def free_after_paid(subscriptions: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """``[client_id, _paid_end]`` of the clients whose terms running at ``as_of`` are all free (``mrr`` 0)
    after a paid one: the end of their last paid term (at most ``as_of``). A pause, or a move to a free
    plan: the contract cannot tell them apart. One row per such client."""
    cut = _midnight(as_of)
    terms = _priced_terms(subscriptions)
    free = running_mrr(terms, cut).filter(pl.col("_mrr") == 0)
    return (
        terms.filter((pl.col(Subscriptions.MRR) > 0) & (pl.col(Subscriptions.START_DATE) < cut))
        .join(free.select(CLIENT_ID), on=CLIENT_ID, how="semi")
        .group_by(CLIENT_ID)
        .agg(pl.col(Subscriptions.END_DATE).max().alias("_paid_end"))
        .with_columns(pl.min_horizontal("_paid_end", pl.lit(cut, pl.Datetime("us"))).alias("_paid_end"))
        .select(CLIENT_ID, "_paid_end")
    )


def one_term_skips(
    subscriptions: pl.DataFrame, as_of: date, *, free: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``[client_id]`` of the clients on free terms after paid ones at ``as_of`` (:func:`free_after_paid`) whose free
    spell, from the end of their last paid term to the end of their running free terms, is no longer than that paid
    term (:data:`CYCLE_SLACK_DAYS` more at most), itself a billing cycle shorter than :data:`COMMITMENT_DAYS` (a
    delivery every 2 to 8 weeks, a month): one term skipped, the plan resuming by itself at the next (a skipped
    delivery, a month off), where a longer spell (two deliveries skipped in a row: a pause by then), or free terms after
    a contract, are a pause or a free plan. Said in its own words, its risk not read differently: a pet-food shop's
    list of 2026-11-02 read 164 such skips, 157 of them skipped deliveries, and 76 longer spells (58 pauses, 16
    deliveries skipped two or three in a row); 80% and 74% of them took the next term, 19% and 21% left within 90
    days (the list 14.9%). One row per such client. ``free``: :func:`free_after_paid` of ``subscriptions`` at
    ``as_of`` when the caller already holds it (None: read here)."""
    cut = _midnight(as_of)
    terms = _priced_terms(subscriptions)
    if free is None:
        free = free_after_paid(subscriptions, as_of)
    spell_ends = (
        terms.filter(running_at(cut))
        .group_by(CLIENT_ID)
        .agg(pl.col(Subscriptions.END_DATE).max().alias("_free_end"))
    )
    paid_days = (
        terms.filter((pl.col(Subscriptions.MRR) > 0) & (pl.col(Subscriptions.START_DATE) < cut))
        .join(free, on=CLIENT_ID)
        .filter(pl.col(Subscriptions.END_DATE) == pl.col("_paid_end"))
        .group_by(CLIENT_ID)
        .agg(
            (pl.col(Subscriptions.END_DATE) - pl.col(Subscriptions.START_DATE))
            .dt.total_days()
            .max()
            .alias("_paid")
        )
    )
    spell = (pl.col("_free_end") - pl.col("_paid_end")).dt.total_days()
    return (
        free.join(spell_ends, on=CLIENT_ID)
        .join(paid_days, on=CLIENT_ID)
        .filter((pl.col("_paid") < COMMITMENT_DAYS) & (spell <= pl.col("_paid") + CYCLE_SLACK_DAYS))
        .select(CLIENT_ID)
    )


def free_trials(
    subscriptions: pl.DataFrame | None,
    as_of: date,
    payments: pl.DataFrame | None = None,
    clients: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[client_id]`` of the clients that have **never paid** at ``as_of``: every term of theirs started before it
    is free (``mrr`` 0, one term at least; an empty ``mrr`` is an amount not exported, not a free term), and no
    payment of theirs in ``payments`` was paid before it (a usage-billed plan at ``mrr`` 0 invoiced each month is
    a paying client), nor is its past before its terms off the record (:func:`pasts_off_record`, with ``clients``:
    a subscriber paused when the export began). A free trial, or a free plan (the contract cannot tell them apart);
    running or ended (:func:`term_status` says which): its end is a conversion to win, not a renewal, and its ARR is
    0 with nothing paid to lose. A client back on a free term after paid ones is on a pause
    (:func:`free_after_paid`), not here. One row per such client."""
    if subscriptions is None or subscriptions.height == 0:
        return pl.DataFrame(schema={CLIENT_ID: pl.String})
    cut = _midnight(as_of)
    mrr = pl.col(Subscriptions.MRR).cast(pl.Float64)
    free = (
        subscriptions.filter(pl.col(Subscriptions.START_DATE) < cut)
        .group_by(pl.col(CLIENT_ID).cast(pl.String))
        .agg((mrr.is_null() | (mrr > 0)).any().alias("_paid"))
        .filter(~pl.col("_paid"))
        .select(CLIENT_ID)
    )
    if payments is not None and payments.height and Payments.PAID_AT in payments.columns:
        from churnml.labels import orders

        # an order (labels.orders: a positive amount, not failed nor refunded) paid before the as-of date
        paid = (
            orders(payments)
            .filter(pl.col(Payments.PAID_AT).cast(pl.Datetime("us")) < cut)
            .select(pl.col(CLIENT_ID).cast(pl.String))
        )
        free = free.join(paid, on=CLIENT_ID, how="anti")
    if clients is not None:
        free = free.join(pasts_off_record(subscriptions, payments, clients), on=CLIENT_ID, how="anti")
    return free.sort(CLIENT_ID)


def pasts_off_record(
    subscriptions: pl.DataFrame, payments: pl.DataFrame | None, clients: pl.DataFrame
) -> pl.DataFrame:
    """``[client_id]`` of the clients whose past before their terms is off the record: created (``clients.created_at``;
    a placeholder before 1971 is unknown) more than :data:`MONTHLY_TERM_DAYS` before their first term on record,
    which began before the payments log's first record (any of its times): what they paid before it is not in
    ``payments``, nor are their terms before it (an export of the terms running on its first day, a pause among
    them, beside the payments from that day). Not a trialist, then, for having only free terms on record: a
    pet-food shop's subscribers paused when its export began and gone before paying again were re-offered "a trial
    extension with a guided start" (7 of its win-back list of 2026-11-02). A client whose trial began at sign-up
    (a free plan since before the payments log began) keeps its trial. None without ``payments``. One row per
    such client."""
    from churnml.contract.dataset import plausible_first
    from churnml.contract.schemas import CONTRACT
    from churnml.contract.validation import known_time

    schema = {CLIENT_ID: pl.String}
    begins = (
        None
        if payments is None or payments.height == 0
        else plausible_first(
            payments.get_column(c) for c in CONTRACT[Table.PAYMENTS].time_columns if c in payments.columns
        )
    )
    if begins is None or Clients.CREATED_AT not in clients.columns:
        return pl.DataFrame(schema=schema)
    first = subscriptions.group_by(pl.col(CLIENT_ID).cast(pl.String)).agg(
        pl.col(Subscriptions.START_DATE).min().cast(pl.Datetime("us")).alias("_first")
    )
    created = clients.select(pl.col(CLIENT_ID).cast(pl.String), known_time(Clients.CREATED_AT))
    return (
        first.join(created, on=CLIENT_ID, how="inner")
        .filter(
            (pl.col("_first") < begins)
            & (pl.col(Clients.CREATED_AT) < pl.col("_first") - timedelta(days=MONTHLY_TERM_DAYS))
        )
        .select(CLIENT_ID)
    )


def paused_clients(
    subscriptions: pl.DataFrame | None,
    as_of: date,
    grace_days: int,
    renewal_share: float = EARLY_RENEWAL_SHARE,
    *,
    free: pl.DataFrame | None = None,
    lapsed: pl.DataFrame | None = None,
    booked: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[client_id, _paid_end]`` of the clients **on a pause** at ``as_of``: their running terms are all free
    after a paid one (:func:`free_after_paid`: a pause, or a move to a free plan), with neither a lapse
    (:func:`lapsed_terms`: its base plan ended, a free add-on running on) nor a renewal booked ahead
    (:func:`booked_terms`: the paid plan resumes). The one test of a pause: :func:`term_status` says it
    (:data:`FREE_TERM`) and marks it (:data:`PAUSED`), the rules ``usage_drop`` and ``no_activity`` skip it (a
    paused client is expected to be quiet), the plays give it the pause's. One row per such client.
    ``renewal_share``: ``data.early_renewal_share`` (:func:`booked_terms`). ``free``, ``lapsed``, ``booked``:
    :func:`free_after_paid`, :func:`lapsed_terms` and :func:`booked_terms` of the same arguments when the caller
    already holds them (:func:`term_status`; None: read here)."""
    schema = {CLIENT_ID: pl.String, "_paid_end": pl.Datetime("us")}
    if subscriptions is None or subscriptions.height == 0:
        return pl.DataFrame(schema=schema)
    if booked is None:
        booked = booked_terms(subscriptions, as_of, renewal_share)
    if lapsed is None:
        lapsed = lapsed_terms(subscriptions, as_of, grace_days, renewal_share, booked=booked)
    if free is None:
        free = free_after_paid(subscriptions, as_of)
    return free.join(lapsed, on=CLIENT_ID, how="anti").join(booked, on=CLIENT_ID, how="anti")


def lapsed_terms(
    subscriptions: pl.DataFrame | None,
    as_of: date,
    grace_days: int,
    renewal_share: float = EARLY_RENEWAL_SHARE,
    *,
    booked: pl.DataFrame | None = None,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[client_id, _last_end]`` of the clients **in grace** at ``as_of``: no term running at 00:00 of it
    (started before, ending on or after) nor a renewal booked ahead (:func:`booked_terms`), and the last
    term ended at most ``grace_days`` calendar days before it (:func:`days_since_end`: the days its
    ``term_state`` says); terms are the base ones when the table marks add-ons
    (:func:`churnml.labels.customer_terms`). The one test of "in grace": :func:`term_status`
    flags it (once ``rules.term_lapsed_days`` passed), the list's ARR keeps the lapsed terms'
    (:func:`churnml.scoring.value.annual_recurring_revenue`). ``renewal_share``: ``data.early_renewal_share``,
    read by :func:`booked_terms` (a lapsed client has no running term, so any term it has booked starts after
    its last end: the share cannot change who is in grace; it is passed so that one setting reads bookings).
    ``booked``: :func:`booked_terms` of the same arguments when the caller already holds it (None: read here);
    ``customer``: :func:`churnml.labels.customer_terms` of ``subscriptions``, likewise."""
    schema = {CLIENT_ID: pl.String, "_last_end": pl.Datetime("us")}
    if subscriptions is None or subscriptions.height == 0:
        return pl.DataFrame(schema=schema)
    from churnml.labels import customer_terms_before

    cut = _midnight(as_of)
    # the client's base terms (labels.customer_terms): an add-on running on after its plan ended does not keep
    # it out of grace, as it does not keep it a customer in the labels
    known = customer_terms_before(subscriptions, cut, customer).select(
        pl.col(CLIENT_ID).cast(pl.String), pl.col(Subscriptions.END_DATE).cast(pl.Datetime("us"))
    )
    running = known.filter(pl.col(Subscriptions.END_DATE) >= cut).get_column(CLIENT_ID).unique()
    # a client whose renewal is booked to start later is renewed, not lapsed (a booked add-on renews nothing)
    if booked is None:
        booked = booked_terms(subscriptions, as_of, renewal_share, customer)
    renewed = booked.get_column(CLIENT_ID)
    gone = ~pl.col(CLIENT_ID).is_in(running.implode()) & ~pl.col(CLIENT_ID).is_in(renewed.implode())
    return (
        known.filter(gone)
        .group_by(CLIENT_ID)
        .agg(pl.col(Subscriptions.END_DATE).max().alias("_last_end"))
        # in calendar days, as term_state says them (ended 30.6 days ago is "31 days ago": past a 30-day grace)
        .filter(days_since_end(as_of) <= grace_days)
    )


# the words of an intervention's outcome that say the client was reached: whatever is said with them
# ("declined the offer", "not interested"), or unless a negation is said too ("could not be reached")
_CONTACT_ANYWAY = ("declined", "refused", "rejected", "interested", "won", "objected")
_REACHED = (
    "held", "reached", "answered", "replied", "spoke", "spoken", "talked", "saved", "retained", "accepted",
    "connected", "attended", "agreed", "renewed", "converted", "redeemed", "completed", "booked", "met", "signed",
)  # fmt: skip
_NEGATIONS = ("not", "never", "no", "unable", "couldn", "couldnt", "cannot", "cant", "didn", "didnt", "wasn",
              "wasnt", "failed", "without")  # fmt: skip


def reached() -> pl.Expr:
    """Interventions whose ``outcome`` says the client was reached, read word by word (letter case aside):
    a word of :data:`_CONTACT_ANYWAY` ("declined the offer", "not interested"), or one of :data:`_REACHED`
    ("held", "call answered") with no word of :data:`_NEGATIONS` ("could not be reached", "meeting not
    attended"). Anything else is no contact: "sent" (an offer mailed), "voicemail", "unattended",
    "pending"."""
    words = pl.col(Interventions.OUTCOME).str.to_lowercase().str.extract_all(r"[a-z]+")

    def has(vocabulary: tuple[str, ...]) -> pl.Expr:
        return words.list.eval(pl.element().is_in(list(vocabulary))).list.any()

    return (has(_CONTACT_ANYWAY) | (has(_REACHED) & ~has(_NEGATIONS))).fill_null(False)


def last_contact(client_ids: Sequence[str], as_of: date, interventions: pl.DataFrame | None) -> pl.DataFrame:
    """``[client_id, last_contacted, last_contact]``: the day and the kind of the team's last logged
    intervention before ``as_of`` ("call (held) by anna", "offer (WINBACK10)"); null without one (and for
    every client without an interventions table). What stops a save call made on Tuesday being asked for
    again on Monday's list."""
    empty = _ids(client_ids).with_columns(
        pl.lit(None, pl.Date).alias(Scores.LAST_CONTACTED), pl.lit(None, pl.String).alias(Scores.LAST_CONTACT)
    )
    if interventions is None or interventions.height == 0:
        return empty

    def optional(name: str) -> pl.Expr:
        return pl.col(name) if name in interventions.columns else pl.lit(None, pl.String)

    outcome, owner = optional(Interventions.OUTCOME), optional(Interventions.OWNER)
    campaign = optional(Interventions.CAMPAIGN)
    detail = pl.coalesce(outcome, campaign)
    text = pl.concat_str(
        pl.col(Interventions.KIND),
        pl.when(detail.is_not_null()).then(pl.lit(" (") + detail + pl.lit(")")).otherwise(pl.lit("")),
        pl.when(owner.is_not_null()).then(pl.lit(" by ") + owner).otherwise(pl.lit("")),
    )
    last = (
        interventions.filter(pl.col(Interventions.TS) < _midnight(as_of))
        .sort(Interventions.TS)
        .group_by(CLIENT_ID)
        .agg(
            pl.col(Interventions.TS).last().dt.date().alias(Scores.LAST_CONTACTED),
            text.last().alias(Scores.LAST_CONTACT),
        )
    )
    return _ids(client_ids).join(last, on=CLIENT_ID, how="left", maintain_order="left")


def last_interaction(
    client_ids: Sequence[str],
    as_of: date,
    clients: pl.DataFrame,
    communications: pl.DataFrame | None,
    tickets: pl.DataFrame | None,
    observed_from: datetime | None = None,
    interventions: pl.DataFrame | None = None,
    payments: pl.DataFrame | None = None,
    subscriptions: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[client_id, last_interaction, days_silent]`` (module docstring); a client never in touch is
    silent since its creation or ``observed_from`` (when contact began to be recorded: the data's first
    record, or the contact logs' when later), whichever is later: a ``created_at`` of 1900 or 2014 in a
    log of two years said "46355 days silent". ``payments`` and ``subscriptions``: the orders the client placed
    while no term of it ran are interactions (:func:`placed_orders`: a distributor's list called 53 clients that
    ordered in the last 7 days "silent", one "85 days silent" a day after its last order)."""
    cut = _midnight(as_of)
    if communications is None and tickets is None:  # contact is not recorded: not observed, not silent
        return _ids(client_ids).with_columns(
            pl.lit(None, pl.Date).alias(Scores.LAST_INTERACTION),
            pl.lit(None, pl.Int64).alias(Scores.DAYS_SILENT),
        )
    stamps = [pl.DataFrame(schema={CLIENT_ID: pl.String, "t": pl.Datetime("us")})]
    if communications is not None and communications.height:
        touch = pl.col(Communications.DIRECTION) == "in"
        if Communications.OUTCOME in communications.columns:
            touch = touch | pl.col(Communications.OUTCOME).is_in(["replied", "held"])
        stamps.append(
            communications.filter(touch & (pl.col(Communications.TS) < cut)).select(
                CLIENT_ID, pl.col(Communications.TS).cast(pl.Datetime("us")).alias("t")
            )
        )
    if tickets is not None and tickets.height:
        stamps.append(
            tickets.filter(pl.col(Tickets.OPENED_AT) < cut).select(
                CLIENT_ID, pl.col(Tickets.OPENED_AT).cast(pl.Datetime("us")).alias("t")
            )
        )
    if interventions is not None and interventions.height and Interventions.OUTCOME in interventions.columns:
        stamps.append(  # the team reached the client: a save call held, an offer answered
            interventions.filter(reached() & (pl.col(Interventions.TS) < cut)).select(
                CLIENT_ID, pl.col(Interventions.TS).cast(pl.Datetime("us")).alias("t")
            )
        )
    stamps.append(placed_orders(payments, subscriptions, cut))
    last = pl.concat(stamps).group_by(CLIENT_ID).agg(pl.col("t").max().alias("_last"))
    since = pl.col(Clients.CREATED_AT).cast(pl.Datetime("us"))
    if observed_from is not None:
        since = pl.max_horizontal(since, pl.lit(observed_from, pl.Datetime("us")))
    created = clients.select(CLIENT_ID, since.alias("_created"))
    return (
        _ids(client_ids)
        .join(last, on=CLIENT_ID, how="left", maintain_order="left")
        .join(created, on=CLIENT_ID, how="left", maintain_order="left")
        .select(
            CLIENT_ID,
            pl.col("_last").dt.date().alias(Scores.LAST_INTERACTION),
            (pl.lit(cut) - pl.coalesce("_last", "_created"))
            .dt.total_days()
            .clip(lower_bound=0)
            .cast(pl.Int64)
            .alias(Scores.DAYS_SILENT),
        )
    )


def active_times(
    events: pl.DataFrame, payments: pl.DataFrame | None, subscriptions: pl.DataFrame | None, cut: datetime
) -> pl.DataFrame:
    """``[client_id, ts]``: when a client was active, as the onboarding views read it: its events, and the
    orders it placed before ``cut`` while no term of it ran (:func:`placed_orders`: the client buying, not a
    term's charge). One row per event or order, in no particular order."""
    return pl.concat(
        [
            events.select(pl.col(CLIENT_ID).cast(pl.String), pl.col(Events.TS).cast(pl.Datetime("us"))),
            placed_orders(payments, subscriptions, cut).select(CLIENT_ID, pl.col("t").alias(Events.TS)),
        ]
    )


def onboarding_stalled(
    client_ids: Sequence[str],
    as_of: date,
    clients: pl.DataFrame,
    events: pl.DataFrame | None,
    *,
    min_days: int,
    max_days: int,
    active_share: float,
    with_weeks: bool = False,
    payments: pl.DataFrame | None = None,
    subscriptions: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``[client_id, onboarding_stalled]``: young and active in few of its weeks (module docstring);
    ``with_weeks`` adds ``_weeks_active`` and ``_weeks_lived`` (what the rule's evidence says). Its
    weeks are 7-day weeks counted from its ``created_at`` (week k holds the events ``k * 7`` to ``k * 7 + 7``
    days after it; an event before it is in its first), the last begun one included (30 days old: 5 weeks),
    so two clients active on the same days of their lives read alike whatever the weekday they began. A week
    is active with an event, or with an order of ``payments`` placed while no term of ``subscriptions`` ran
    (:func:`placed_orders`: the client buying, not a term's charge): a wholesaler's new restaurant ordering
    every 12 days by phone, nobody logging in to the web shop, read "active in 0 of its first 15 weeks" and
    "Onboarding follow-up: training session". ``events`` None (the dataset has no events table): null for
    every client, not observed."""
    if events is None:
        out = _ids(client_ids).with_columns(pl.lit(None, pl.Boolean).alias(Scores.ONBOARDING_STALLED))
        if not with_weeks:
            return out
        return out.with_columns(pl.lit(None, pl.Int64).alias(c) for c in ("_weeks_active", "_weeks_lived"))
    cut = _midnight(as_of)
    created = clients.select(CLIENT_ID, pl.col(Clients.CREATED_AT).cast(pl.Datetime("us")).alias("_created"))
    base = _ids(client_ids).join(created, on=CLIENT_ID, how="left", maintain_order="left")
    age = (pl.lit(cut) - pl.col("_created")).dt.total_days()
    # the weeks of its life, the last begun one included: 30 days are 5 weeks
    weeks_lived = (
        ((pl.lit(cut) - pl.col("_created")).dt.total_seconds() / _WEEK_SECONDS).ceil().clip(lower_bound=1)
    )
    stamps = active_times(events, payments, subscriptions, cut)
    if stamps.height == 0:
        weeks_active = pl.DataFrame(schema={CLIENT_ID: pl.String, "_weeks": pl.UInt32})
    else:
        start = cut - timedelta(days=max_days)
        # only clients young enough to be onboarding: a few, so the events are cut by client first
        young = created.filter((pl.col("_created") >= start) & (pl.col("_created") < cut)).get_column(
            CLIENT_ID
        )
        # the client's own weeks, counted from its creation (a Monday-based calendar week split 3 days of use
        # across 2 weeks for one client and not for another created the same day); use before the creation
        # counts in its first week
        week = (
            (
                (pl.col(Events.TS).cast(pl.Datetime("us")) - pl.col("_created")).dt.total_seconds()
                // _WEEK_SECONDS
            )
            .clip(lower_bound=0)
            .alias("_w")
        )
        weeks_active = (
            stamps.lazy()
            .filter(
                pl.col(CLIENT_ID).is_in(young.implode())
                & (pl.col(Events.TS) < cut)
                & (pl.col(Events.TS) >= start)
            )
            .join(created.lazy(), on=CLIENT_ID, how="inner")
            .select(CLIENT_ID, week)
            .unique()
            .group_by(CLIENT_ID)
            .agg(pl.len().alias("_weeks"))
            .collect()
        )
    return (
        base.join(weeks_active, on=CLIENT_ID, how="left", maintain_order="left")
        .with_columns(
            (pl.col("_weeks").fill_null(0) / weeks_lived).alias("_share"),
            age.alias("_age"),
        )
        .select(
            CLIENT_ID,
            ((pl.col("_age") >= min_days) & (pl.col("_age") <= max_days) & (pl.col("_share") < active_share))
            .fill_null(False)
            .alias(Scores.ONBOARDING_STALLED),
            *(
                [
                    pl.col("_weeks").fill_null(0).cast(pl.Int64).alias("_weeks_active"),
                    weeks_lived.cast(pl.Int64).alias("_weeks_lived"),
                ]
                if with_weeks
                else []
            ),
        )
    )


# the onboarding rhythm note reads the usual share of active weeks from at least this many established clients
RHYTHM_MIN_CLIENTS = 10


def usual_active_week_share(
    clients: pl.DataFrame,
    events: pl.DataFrame,
    as_of: date,
    days: int,
    min_clients: int = RHYTHM_MIN_CLIENTS,
    payments: pl.DataFrame | None = None,
    subscriptions: pl.DataFrame | None = None,
) -> tuple[float, int] | None:
    """The share of its weeks the typical established client is active in, and how many clients it is read
    from: the median, over the clients created ``days`` or more before ``as_of`` with an event in the ``days``
    before it, of their 7-day weeks (counted back from ``as_of``) holding an event, out of ``ceil(days / 7)``.
    None with fewer than ``min_clients`` such clients. A product used every week reads 1.0, monthly meter
    readings about 0.25: the rhythm a young client's onboarding weeks (:func:`onboarding_stalled`) are read
    against. An event or an order placed outside a term makes a week active (:func:`active_times`), as there."""
    cut = _midnight(as_of)
    start = cut - timedelta(days=days)
    weeks = -(-days // 7)
    old = clients.filter(pl.col(Clients.CREATED_AT).cast(pl.Datetime("us")) <= start).select(
        pl.col(CLIENT_ID).cast(pl.String)
    )
    week = (
        (pl.lit(cut) - pl.col(Events.TS).cast(pl.Datetime("us"))).dt.total_seconds() // _WEEK_SECONDS
    ).alias("_w")
    active = (
        active_times(events, payments, subscriptions, cut)
        .filter((pl.col(Events.TS) < cut) & (pl.col(Events.TS) >= start))
        .select(pl.col(CLIENT_ID).cast(pl.String), week)
        .join(old, on=CLIENT_ID, how="semi")
        .unique()
        .group_by(CLIENT_ID)
        .agg((pl.len() / weeks).alias("_share"))
    )
    if active.height < min_clients:
        return None
    return float(active.get_column("_share").median()), active.height


def onboarding_rhythm_note(
    clients: pl.DataFrame | None,
    events: pl.DataFrame | None,
    as_of: date,
    *,
    min_days: int,
    max_days: int,
    active_share: float,
    rule_enabled: bool = True,
    payments: pl.DataFrame | None = None,
    subscriptions: pl.DataFrame | None = None,
) -> str | None:
    """What ``validate`` and ``train`` say when the typical established client is active in fewer than
    ``score.onboarding_active_share`` of its weeks (:func:`usual_active_week_share` over ``score.onboarding_days``:
    monthly meter readings, a monthly report): ``onboarding_stalled`` (the rule, the list's column and the report's
    view) would then call a young client stalled for using the product on the portfolio's own rhythm (a simulated
    energy supplier's households reading their meter monthly: 102 of them told "training session and a
    first-90-days plan", 1% of whom left within 90 days against 10.5%). It counts the young clients (``min_days``
    to ``max_days`` old) it flags now and suggests ``active_share`` times the usual share, the same fraction of
    the typical client's weeks, or, with ``rule_enabled`` (the rule in ``rules.enabled``), leaving the rule out;
    with the rule already off it says that the list's column and view still read the share. None without
    clients or events, or when the usual share reaches ``active_share``."""
    if clients is None or events is None or not events.height or active_share <= 0:
        return None
    usual = usual_active_week_share(
        clients, events, as_of, max_days, payments=payments, subscriptions=subscriptions
    )
    if usual is None or usual[0] >= active_share:
        return None
    share, counted = usual
    cut = _midnight(as_of)
    age = (pl.lit(cut) - pl.col(Clients.CREATED_AT).cast(pl.Datetime("us"))).dt.total_days()
    young = clients.filter((age >= min_days) & (age <= max_days)).get_column(CLIENT_ID).cast(pl.String)
    flagged = onboarding_stalled(
        young.to_list(),
        as_of,
        clients,
        events,
        min_days=min_days,
        max_days=max_days,
        active_share=active_share,
        payments=payments,
        subscriptions=subscriptions,
    ).get_column(Scores.ONBOARDING_STALLED)
    suggested = max(0.01, round(active_share * share, 2))
    now = (
        f"{int(flagged.sum()):,} of the {young.len():,} clients {min_days} to {max_days} days old now"
        if young.len()
        else f"no client is {min_days} to {max_days} days old now"
    )
    return (
        f"events: the typical client is active in {share:.0%} of its weeks (the median of {counted:,} clients over "
        f"the last {max_days} days), under score.onboarding_active_share ({active_share:g}): onboarding_stalled "
        f"calls a young client on that same rhythm stalled ({now}). Set score.onboarding_active_share: {suggested:g} (that share of "
        f"the typical client's weeks){_rule_off_words(rule_enabled)}"
    )


def _rule_off_words(rule_enabled: bool) -> str:
    """How :func:`onboarding_rhythm_note` ends: the rule can be left out, or it is already."""
    if rule_enabled:
        return ", or leave onboarding_stalled out of rules.enabled"
    return " (the rule is off in rules.enabled; the list's onboarding_stalled column and the report's view read it)"


def last_data_export(
    client_ids: Sequence[str], as_of: date, events: pl.DataFrame | None, export_events: Sequence[str]
) -> pl.DataFrame:
    """``[client_id, last_data_export]``: the date of the last export event before the as-of date."""
    cut = _midnight(as_of)
    if events is None or events.height == 0 or not export_events:
        last = pl.DataFrame(schema={CLIENT_ID: pl.String, Scores.LAST_DATA_EXPORT: pl.Date})
    else:
        last = (
            events.lazy()
            .filter((pl.col(Events.TS) < cut) & pl.col(Events.EVENT).is_in(list(export_events)))
            .group_by(CLIENT_ID)
            .agg(pl.col(Events.TS).max().dt.date().alias(Scores.LAST_DATA_EXPORT))
            .collect()
        )
    return _ids(client_ids).join(last, on=CLIENT_ID, how="left", maintain_order="left")
