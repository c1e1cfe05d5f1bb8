"""Communication features: touches, replies, response times, reply length, meetings, silence, tone.

Input: the ``communications`` table (``client_id, ts, channel, direction, outcome, response_hours,
words, sentiment``) as a Narwhals lazy frame, plus the client x week grid. Output grain: one row per
client x grid week (``client_id``, ``_week``), columns ``comm_*`` of the registry, each describing the
snapshot that starts the next week from touches strictly before it.

Definitions:
- reply rate = outbound touches with outcome ``replied`` / those with ``replied`` or ``no_reply``;
  its trend is the Laplace-smoothed rate ((r + 1) / (n + 2)) of the last ``recent_days`` minus that of
  the ``baseline_days`` before; null while the client has no baseline week (a young client: the prior
  0.5 would stand in for a baseline it never had), and null when no outreach was asked in the last
  ``recent_days`` (no recent rate: the prior 0.5 against two replied e-mails read "The reply rate fell by
  25 points" of a client nobody wrote to).
- response hours and words per reply are **means** (running sums make means exact and cheap; a median
  would need the raw rows per snapshot). Words count on inbound touches and on outbound touches that
  were replied to. Their trends are smoothed ratios of means: (recent + 1) / (baseline + 1).
- point in time: an outreach's outcome is known when the reply came (sent + ``response_hours``); a
  ``no_reply``, and a ``replied`` whose hours are not recorded, ``no_reply_after_days`` after it was sent
  (the export only says that no reply ever came: read as sent, the snapshot after an outreach would tell
  the client who never answers from the one whose reply is on its way). Until then the outreach is
  pending: in no reply rate and no streak; a replied outreach's hours, words and sentiment (the reply's)
  count from then too.
- the no-reply streak is the number of known outbound ``no_reply`` touches sent after the last touch the
  client responded to (an inbound touch, or an outbound touch with outcome replied, held or rescheduled; a
  reply is known from the moment it came, but it answers its own touch only: an outreach sent on the 3rd
  and answered on the 13th leaves the no-reply of the 5th unanswered, a streak of 1). Touches at the
  same timestamp count the no-replies first, so a reply at that moment ends the streak. Outcomes
  cancelled / no_show and empty outcomes neither extend nor end it.
- mailings are no outreach (:func:`personal_touches`): the outbound touches of one day and channel that
  reached at least ``mailing_min_clients`` clients and at least ``mailing_share`` of the clients on the
  books that day (``rules.mailing_min_clients`` and ``rules.mailing_share``, the definition the
  ``unanswered_outreach`` rule skips them by: a newsletter, a push campaign, a price letter) are left out of
  every feature of the family: touches out, channels, reply rates and their trend, response hours, words,
  sentiment, meetings and the no-reply streak. No feature counts them (what a client receives with everyone
  says little of it). Point in time: a day's status reads that day's touches and the clients created by its
  end only. "On the books" is simplified here to the clients created by that day: the rule also leaves out
  the clients gone then (a churns record, no return since), which needs the churn/return rule's tables.
  The mailings are those of the whole dataset, not of the clients a call is handed: ``build_features`` finds
  them once (:func:`mailing_calendar`, ``[day, channel]``) and every client batch, every Spark bucket gets
  them (``mailings``), so a client's features do not depend on its batch (a batch of under
  ``mailing_min_clients`` clients would never find one).
"""

from __future__ import annotations

import narwhals as nw
import polars as pl

from churnml.config import FeaturesConfig, RulesConfig
from churnml.contract.schemas import CLIENT_ID, Clients, Communications
from churnml.features._grid import (
    DAY,
    WEEK,
    WeekAxis,
    add_cumulative,
    cum,
    day_number,
    days_since,
    existing_weeks,
    held_shifts,
    lagged_window_sum,
    materialized,
    on_grid,
    ratio_trend,
    safe_div,
    validated_weeks,
    week_of,
    window_sum,
    with_running_max,
)
from churnml.features.spec import SpecPattern, spec

__all__ = [
    "FAMILY",
    "MAILING_DAY",
    "MAILING_MIN_CLIENTS",
    "MAILING_SHARE",
    "SCOPE",
    "SPECS",
    "communication_features",
    "mailing_calendar",
    "mailing_days",
    "no_reply_marks",
    "personal_touches",
    "without_mailings",
]

# the defaults of rules.mailing_share and rules.mailing_min_clients (the rule's mailings); the build passes the
# configured ones
MAILING_SHARE: float = RulesConfig.model_fields["mailing_share"].default
MAILING_MIN_CLIENTS: int = RulesConfig.model_fields["mailing_min_clients"].default
# the date column of a mailings frame ([day, channel]: mailing_calendar)
MAILING_DAY = "day"

# outcomes that are a response of the client at the touch itself (a meeting it came to or moved); a
# reply is one too, from when it came
_RESPONSES_AS_SENT = ("held", "rescheduled")
_MEETING_OUTCOMES = ("rescheduled", "cancelled", "no_show")


def _flag(cond: nw.Expr) -> nw.Expr:
    return nw.when(cond).then(nw.lit(1)).otherwise(nw.lit(0))


def mailing_days(
    communications: nw.LazyFrame,
    clients: nw.LazyFrame | None,
    share: float = MAILING_SHARE,
    least: int = MAILING_MIN_CLIENTS,
) -> nw.LazyFrame:
    """``[_day, channel, _reached]``: one row per day (day number) and channel of a mailing: its outbound touches
    reached (distinct clients, ``_reached``) at least ``least`` clients and at least ``share`` of the clients on
    the books that day, here the ``clients`` created by its end (without ``clients``, the clients of
    ``communications`` by their first touch). The definition of :func:`churnml.scoring.rules.mailing_days`,
    less its clients gone (see the module docstring). Point in time: a day's status reads that day's touches
    and the clients created by then only."""
    fast = communications.implementation.is_polars()
    sent = (
        communications.filter(nw.col(Communications.DIRECTION) == "out")
        .with_columns(day_number(nw.col(Communications.TS), fast).alias(DAY))
        .group_by(DAY, Communications.CHANNEL)
        .agg(nw.col(CLIENT_ID).n_unique().cast(nw.Int64).alias("_reached"))
        .filter(nw.col("_reached") >= least)
    )
    if clients is None:
        born = communications.group_by(CLIENT_ID).agg(
            day_number(nw.col(Communications.TS), fast).min().alias(DAY)
        )
    else:
        born = clients.select(CLIENT_ID, day_number(nw.col(Clients.CREATED_AT), fast).alias(DAY))
    # the clients created by each candidate day: created days and candidate days in one running count, a
    # day's creations before its probe (created that day is on the books)
    created = (
        born.filter(~nw.col(DAY).is_null())
        .group_by(DAY)
        .agg(nw.len().cast(nw.Int64).alias("_born"))
        .with_columns(nw.lit(0, nw.Int64).alias("_probe"))
    )
    probes = (
        sent.select(DAY)
        .unique()
        .with_columns(nw.lit(0, nw.Int64).alias("_born"), nw.lit(1, nw.Int64).alias("_probe"))
    )
    columns = [nw.col(DAY).cast(nw.Int64), nw.col("_born"), nw.col("_probe")]
    books = (
        nw.concat([created.select(columns), probes.select(columns)], how="vertical")
        .with_columns(nw.col("_born").cum_sum().over(order_by=[DAY, "_probe"]).alias("_books"))
        .filter(nw.col("_probe") == 1)
        .select(DAY, "_books")
    )
    return (
        sent.with_columns(nw.col(DAY).cast(nw.Int64))
        .join(books, on=DAY, how="inner")
        .filter(nw.col("_reached") >= share * nw.col("_books").clip(lower_bound=1))
        .select(DAY, Communications.CHANNEL, "_reached")
    )


def mailing_calendar(
    communications: nw.LazyFrame,
    clients: nw.LazyFrame | None,
    share: float = MAILING_SHARE,
    least: int = MAILING_MIN_CLIENTS,
) -> pl.DataFrame:
    """``[day, channel]`` (``pl.Date``, ``pl.String``): one row per day and channel of a mailing
    (:func:`mailing_days`) of the tables handed, sorted; computed now on their backend and collected (a few
    rows): what ``build_features`` hands the communication family of every client batch (``mailings``)."""
    found = mailing_days(communications, clients, share, least).select(DAY, Communications.CHANNEL)
    return (
        found.collect(backend="polars")
        .to_native()
        .select(
            pl.from_epoch(pl.col(DAY), time_unit="d").alias(MAILING_DAY),
            pl.col(Communications.CHANNEL).cast(pl.String),
        )
        .sort(MAILING_DAY, Communications.CHANNEL)
    )


def _without_days(communications: nw.LazyFrame, days: nw.LazyFrame) -> nw.LazyFrame:
    """``communications`` less the outbound touches of ``days`` (``[_mday, _mchannel]``: day number, channel
    as a string)."""
    fast = communications.implementation.is_polars()
    flags = materialized(  # a few rows (the mailing days), read by both passes over the touches
        days.select(nw.col("_mday").cast(nw.Int64), nw.col("_mchannel").cast(nw.String))
        .unique()
        .with_columns(nw.lit(1, nw.Int64).alias("_mailing"))
    )
    return (
        communications.with_columns(
            day_number(nw.col(Communications.TS), fast).cast(nw.Int64).alias("_mday"),
            nw.col(Communications.CHANNEL).cast(nw.String).alias("_mchannel"),
        )
        .join(flags, on=["_mday", "_mchannel"], how="left")
        .filter(~((nw.col(Communications.DIRECTION) == "out") & (nw.col("_mailing") == 1).fill_null(False)))
        .drop("_mday", "_mchannel", "_mailing")
    )


def without_mailings(communications: nw.LazyFrame, mailings: nw.LazyFrame) -> nw.LazyFrame:
    """``communications`` (same grain: one row per touch) without the outbound touches sent on a day and
    channel of ``mailings`` (``[day, channel]``, :func:`mailing_calendar`: found once on the whole dataset);
    inbound touches all stay (a client answering a newsletter is the client speaking)."""
    fast = communications.implementation.is_polars()
    days = mailings.select(
        day_number(nw.col(MAILING_DAY), fast).alias("_mday"),
        nw.col(Communications.CHANNEL).alias("_mchannel"),
    )
    return _without_days(communications, days)


def personal_touches(
    communications: nw.LazyFrame,
    clients: nw.LazyFrame | None,
    share: float = MAILING_SHARE,
    least: int = MAILING_MIN_CLIENTS,
) -> nw.LazyFrame:
    """``communications`` (same grain: one row per touch) without the outbound touches of a mailing
    (:func:`mailing_days`) judged on the tables handed; inbound touches all stay (a client answering a
    newsletter is the client speaking)."""
    days = mailing_days(communications, clients, share, least).select(
        nw.col(DAY).alias("_mday"), nw.col(Communications.CHANNEL).alias("_mchannel")
    )
    return _without_days(communications, days)


def no_reply_marks(comm: nw.LazyFrame, axis: WeekAxis, no_reply_after_days: int) -> nw.LazyFrame:
    """Per client x week: ``_noreply`` (outbound no-reply touches that became known that week,
    ``no_reply_after_days`` after they were sent) and ``_resp_mark`` (the running count of no-replies,
    in the order sent, at the client's latest response known that week; null without one). A reply to
    an outreach is a response when it came (:func:`_outcome_day`), not when the outreach was sent.

    The no-replies known at a snapshot are the first ones sent, so the streak is the known count minus
    the latest mark, at least 0 (a response may answer after a no-reply not known yet)."""
    out = nw.col(Communications.DIRECTION) == "out"
    outcome = nw.col(Communications.OUTCOME)
    fast = comm.implementation.is_polars()
    replied = out & (outcome == "replied").fill_null(False)
    hours = nw.col(Communications.RESPONSE_HOURS).cast(nw.Float64)
    ts = nw.col(Communications.TS)
    # one row per touch that is a no-reply, a response or a reply (the others mark nothing); the running count
    # of no-replies in the order sent, a moment's no-replies before its responses (_later: 0 for a no-reply)
    marked = comm.with_columns(
        _flag(out & (outcome == "no_reply").fill_null(False)).alias("_nr"),
        _flag(~out | (out & outcome.is_in(list(_RESPONSES_AS_SENT)).fill_null(False))).alias("_resp"),
        nw.when(replied).then(_outcome_day(ts, hours, no_reply_after_days, fast)).alias("_reply_day"),
    ).filter((nw.col("_nr") > 0) | (nw.col("_resp") > 0) | ~nw.col("_reply_day").is_null())
    per_ts = marked.with_columns((1 - nw.col("_nr")).alias("_later")).with_columns(
        nw.col("_nr").cum_sum().over(CLIENT_ID, order_by=[Communications.TS, "_later"]).alias("_nr_cum"),
        day_number(ts, fast).alias(DAY),
    )
    columns = [
        nw.col(CLIENT_ID),
        nw.col(WEEK).cast(nw.Int64),
        nw.col("_nr").cast(nw.Int64),
        nw.col("_mark").cast(nw.Int64),
    ]
    no_replies = per_ts.filter(nw.col("_nr") > 0).with_columns(
        nw.lit(None, nw.Int64).alias("_mark"),
        week_of(nw.col(DAY) + no_reply_after_days, axis).alias(WEEK),
    )
    at_sent = per_ts.filter(nw.col("_resp") > 0).with_columns(
        nw.lit(0).alias("_nr"),
        nw.col("_nr_cum").alias("_mark"),
        week_of(nw.col(DAY), axis).alias(WEEK),
    )
    at_reply = per_ts.filter(~nw.col("_reply_day").is_null()).with_columns(
        nw.lit(0).alias("_nr"),
        nw.col("_nr_cum").alias("_mark"),
        week_of(nw.col("_reply_day"), axis).alias(WEEK),
    )
    both = nw.concat([part.select(columns) for part in (no_replies, at_sent, at_reply)], how="vertical")
    return (
        both.filter(nw.col(WEEK) <= axis.last_week)
        .group_by(CLIENT_ID, WEEK)
        .agg(nw.col("_nr").sum().alias("_noreply"), nw.col("_mark").max().alias("_resp_mark"))
    )


_WEEKLY = (
    "_in",
    "_out",
    *[f"_ch_{ch}" for ch in Communications.CHANNELS],
    "_replied",
    "_asked",
    "_rh_sum",
    "_rh_n",
    "_words_sum",
    "_words_n",
    *[f"_o_{o}" for o in _MEETING_OUTCOMES],
    "_sent_sum",
    "_sent_n",
)


# an outreach's outcome columns: known when the reply came (the touch's time + response_hours), or
# no_reply_after_days after it was sent for a no_reply or a reply without hours (:func:`_outcome_day`);
# until then it is pending, neither replied nor unanswered
_REPLY = ("_replied", "_asked", "_rh_sum", "_rh_n", "_words_sum", "_words_n")
# a replied outreach's sentiment is the reply's tone: known with its outcome too (other touches' tone as sent)
_REPLY_TONE = ("_sent_sum", "_sent_n")


def _reply_day(ts: nw.Expr, hours: nw.Expr, fast: bool) -> nw.Expr:
    """Day number on which a reply ``hours`` after ``ts`` arrived (portable: the day of ``ts`` plus the
    whole days its time of day and the hours add up to)."""
    clock = ts.dt.hour().cast(nw.Float64) + ts.dt.minute().cast(nw.Float64) / 60
    return day_number(ts, fast) + ((clock + hours) // 24).cast(nw.Int64)


def _outcome_day(ts: nw.Expr, hours: nw.Expr, no_reply_after_days: int, fast: bool) -> nw.Expr:
    """Day number on which the outcome of an outreach sent at ``ts`` (replied or no_reply) is known: the
    day the reply came (:func:`_reply_day`) when its ``hours`` are recorded, else ``no_reply_after_days``
    after the day it was sent (the export does not say when a no-reply, or an undated reply, was known)."""
    waited = day_number(ts, fast) + no_reply_after_days
    return nw.when(~hours.is_null()).then(_reply_day(ts, hours, fast)).otherwise(waited)


def _weekly_touches(communications: nw.LazyFrame, axis: WeekAxis, no_reply_after_days: int) -> nw.LazyFrame:
    """Per client x week: the :data:`_WEEKLY` counts and sums (touches by direction and channel, replies
    to outreach, response hours, reply words, meeting outcomes, sentiment) and ``_last_in`` (the day
    of the last touch from the client).

    Point in time: an outbound touch counts in the week it was sent, its outcome (asked and replied), the
    hours the reply took, its words and (replied) its sentiment in the week the outcome became known (:func:`_outcome_day`: the
    reply's week; ``no_reply_after_days`` after it was sent for a no_reply or a reply without hours), so
    a snapshot between the two sees an outreach still pending, in no reply rate yet."""
    direction = nw.col(Communications.DIRECTION)
    channel = nw.col(Communications.CHANNEL)
    outcome = nw.col(Communications.OUTCOME)
    fast = communications.implementation.is_polars()
    is_out = direction == "out"
    replied = is_out & (outcome == "replied").fill_null(False)
    rh = nw.col(Communications.RESPONSE_HOURS).cast(nw.Float64)
    words_ok = ~nw.col(Communications.WORDS).is_null() & (~is_out | replied)
    sent = nw.col(Communications.SENTIMENT).cast(nw.Float64)
    day = day_number(nw.col(Communications.TS), fast)
    asked = is_out & outcome.is_in(["replied", "no_reply"]).fill_null(False)
    reply_hours = nw.when(replied).then(rh)  # a no_reply's hours, if any, are no reply's
    known = (
        nw.when(asked)
        .then(_outcome_day(nw.col(Communications.TS), reply_hours, no_reply_after_days, fast))
        .otherwise(day)
    )
    rows = communications.with_columns(
        day.alias(DAY),
        known.alias("_known_day"),
        _flag(direction == "in").alias("_in"),
        _flag(is_out).alias("_out"),
        *[_flag(channel == ch).alias(f"_ch_{ch}") for ch in Communications.CHANNELS],
        _flag(replied).alias("_replied"),
        _flag(asked).alias("_asked"),
        rh.fill_null(0.0).alias("_rh_sum"),
        _flag(~rh.is_null()).alias("_rh_n"),
        nw.when(words_ok)
        .then(nw.col(Communications.WORDS).cast(nw.Float64))
        .otherwise(nw.lit(0.0))
        .alias("_words_sum"),
        _flag(words_ok).alias("_words_n"),
        *[_flag((outcome == o).fill_null(False)).alias(f"_o_{o}") for o in _MEETING_OUTCOMES],
        sent.fill_null(0.0).alias("_sent_sum"),
        _flag(~sent.is_null()).alias("_sent_n"),
        nw.when(direction == "in").then(day).alias("_last_in"),
    )
    # an outbound touch's reply columns, and a replied one's sentiment, move to the week its outcome was
    # known (an inbound touch's words and tone stay: known when it came); the other columns stay in the
    # week sent
    moves = {c: is_out for c in _REPLY} | {c: replied for c in _REPLY_TONE}
    at_sent = rows.with_columns(
        *[nw.when(moved).then(nw.lit(0)).otherwise(nw.col(c)).alias(c) for c, moved in moves.items()],
    ).with_columns(week_of(nw.col(DAY), axis).alias(WEEK))
    at_reply = (
        rows.filter(is_out)
        .with_columns(
            *[nw.lit(0).alias(c) for c in _WEEKLY if c not in moves],
            *[nw.when(moved).then(nw.col(c)).otherwise(nw.lit(0)).alias(c) for c, moved in moves.items()],
            nw.lit(None, nw.Int64).alias("_last_in"),
        )
        .with_columns(week_of(nw.col("_known_day"), axis).alias(WEEK))
    )
    sums = ("_rh_sum", "_words_sum", "_sent_sum")
    columns = [
        nw.col(CLIENT_ID),
        nw.col(WEEK).cast(nw.Int64),
        *[nw.col(c).cast(nw.Float64 if c in sums else nw.Int64) for c in _WEEKLY],
        nw.col("_last_in").cast(nw.Int64),
    ]
    both = nw.concat([at_sent.select(columns), at_reply.select(columns)], how="vertical")
    return (
        both.filter(nw.col(WEEK) <= axis.last_week)
        .group_by(CLIENT_ID, WEEK)
        .agg(*[nw.col(c).sum() for c in _WEEKLY], nw.col("_last_in").max())
    )


def _mean_over(col: str, weeks: int, lag: int = 0) -> nw.Expr:
    """Mean of ``col`` over a window: ``<col>_sum`` / ``<col>_n`` summed over ``weeks`` (``lag`` weeks back)."""
    if lag:
        return safe_div(
            lagged_window_sum(f"{col}_sum", weeks, lag), lagged_window_sum(f"{col}_n", weeks, lag)
        )
    return safe_div(window_sum(f"{col}_sum", weeks), window_sum(f"{col}_n", weeks))


def _communication_columns(cfg: FeaturesConfig) -> list[nw.Expr]:
    """The ``comm_*`` feature expressions over the cumulated weekly grid, in registry order."""
    windows = [(d, validated_weeks(d)) for d in cfg.windows]
    recent = validated_weeks(cfg.recent_days, "recent_days")
    base = validated_weeks(cfg.baseline_days, "baseline_days")

    def smoothed_ratio(col: str) -> nw.Expr:
        return (_mean_over(col, recent) + 1) / (_mean_over(col, base, recent) + 1)

    def laplace(num: nw.Expr, den: nw.Expr) -> nw.Expr:
        return (num + 1) / (den + 2)

    feats: list[nw.Expr] = []
    for d, w in windows:
        feats += [
            window_sum("_in", w).alias(f"comm_touches_in_{d}d"),
            window_sum("_out", w).alias(f"comm_touches_out_{d}d"),
            *[window_sum(f"_ch_{ch}", w).alias(f"comm_{ch}_{d}d") for ch in Communications.CHANNELS],
            safe_div(window_sum("_replied", w), window_sum("_asked", w)).alias(f"comm_reply_rate_{d}d"),
            _mean_over("_rh", w).alias(f"comm_response_hours_{d}d"),
            _mean_over("_words", w).alias(f"comm_words_{d}d"),
            *[window_sum(f"_o_{o}", w).alias(f"comm_{o}_{d}d") for o in _MEETING_OUTCOMES],
            sum(
                (window_sum(f"_o_{o}", w) for o in _MEETING_OUTCOMES[1:]), window_sum("_o_rescheduled", w)
            ).alias(f"comm_meetings_disrupted_{d}d"),
            _mean_over("_sent", w).alias(f"comm_sentiment_{d}d"),
        ]
    reply_recent = laplace(window_sum("_replied", recent), window_sum("_asked", recent))
    reply_base = laplace(
        lagged_window_sum("_replied", base, recent), lagged_window_sum("_asked", base, recent)
    )
    # no outreach asked in the recent window: no recent reply rate (comm_reply_rate_<recent>d is null), so no
    # trend; the smoothing's 1/2 alone read "The reply rate fell by 25 points" of a client nobody wrote to
    asked_recently = window_sum("_asked", recent) > 0
    return [
        *feats,
        ratio_trend("_in", recent, base).alias("comm_inbound_ratio"),
        nw.when((existing_weeks(base, recent) > 0) & asked_recently)
        .then(reply_recent - reply_base)
        .alias("comm_reply_rate_trend"),
        smoothed_ratio("_rh").alias("comm_response_hours_trend"),
        smoothed_ratio("_words").alias("comm_words_trend"),
        (nw.col(cum("_noreply")) - nw.col("_resp_mark")).clip(lower_bound=0).alias("comm_no_reply_streak"),
        days_since("_last_in").alias("comm_days_since_inbound"),
        (_mean_over("_sent", recent) - _mean_over("_sent", base, recent)).alias("comm_sentiment_trend"),
    ]


def communication_features(
    communications: nw.LazyFrame,
    grid: nw.LazyFrame,
    axis: WeekAxis,
    cfg: FeaturesConfig,
    *,
    clients: nw.LazyFrame | None = None,
    mailing_share: float = MAILING_SHARE,
    mailing_min_clients: int = MAILING_MIN_CLIENTS,
    mailings: nw.LazyFrame | None = None,
) -> nw.LazyFrame:
    """All ``comm_*`` features on the client x week grid (see the module docstring), from the touches less the
    mailings: ``mailings`` (``[day, channel]``, :func:`without_mailings`: the whole dataset's, found once), or
    without it those found here (:func:`personal_touches`: ``clients``, ``client_id, created_at`` of every
    client of the dataset, not only the grid's; ``mailing_share`` and ``mailing_min_clients``:
    ``rules.mailing_share`` and ``rules.mailing_min_clients``).

    Grain: one row per client x grid week (``client_id``, ``_week``), one column per spec of :data:`SPECS`."""
    with held_shifts() as held:  # the shifts as columns of their own (_grid.HeldShifts)
        columns = _communication_columns(cfg)  # the config's windows are checked before any work
    communications = (
        personal_touches(communications, clients, mailing_share, mailing_min_clients)
        if mailings is None
        else without_mailings(communications, mailings)
    )
    weekly = _weekly_touches(communications, axis, cfg.no_reply_after_days)
    marks = no_reply_marks(communications, axis, cfg.no_reply_after_days)
    g = on_grid(on_grid(grid, weekly, list(_WEEKLY)), marks, ["_noreply"])
    g = with_running_max(g, ["_last_in", "_resp_mark"])
    g = g.with_columns(nw.col("_resp_mark").fill_null(0))
    g = add_cumulative(g, [*_WEEKLY, "_noreply"])
    return held.on(g).select(CLIENT_ID, WEEK, *columns)


# ---- what each column means (collected by churnml.features.registry; order = column order)
FAMILY = "communication"
SCOPE = "messages, calls and meetings with the client, and their replies"

SPECS: tuple[SpecPattern, ...] = (
    *(
        spec(
            f"comm_touches_{d}_{{w}}d",
            FAMILY,
            "touches",
            direction,
            "touches",
            f"{{value:.0f}} touches {word} in the last {{w}} days",
        )
        for d, word, direction in (("in", "from the client", -1), ("out", "to the client", 0))
    ),
    *(
        spec(
            "comm_" + ch + "_{w}d",
            FAMILY,
            "touches",
            0,
            "touches",
            "{value:.0f} " + ch + " touches in the last {w} days",
        )
        for ch in Communications.CHANNELS
    ),
    spec(
        "comm_inbound_ratio",
        FAMILY,
        "ratio",
        -1,
        "touches",
        "Touches from the client {verb} {pct}% against its usual rate (last {recent} days vs the "
        "{baseline} days before)",
        "ratio",
        "trend of touches from the client",
    ),
    spec(
        "comm_reply_rate_{w}d",
        FAMILY,
        "share of outreach",
        -1,
        "replies",
        "The client replied to {pct}% of outreach in the last {w} days",
        "share",
        "reply rate in the last {w} days",
    ),
    spec(
        "comm_reply_rate_trend",
        FAMILY,
        "share difference",
        -1,
        "replies",
        "The reply rate {verb} by {pct} points (last {recent} days vs the {baseline} days before)",
        "diff",
        "trend of the reply rate",
    ),
    spec(
        "comm_response_hours_{w}d",
        FAMILY,
        "hours (mean)",
        1,
        "response_time",
        "Mean response time {value:.0f} hours in the last {w} days",
        "mean",
        "mean response time (hours) in the last {w} days",
    ),
    spec(
        "comm_response_hours_trend",
        FAMILY,
        "ratio",
        1,
        "response_time",
        "Response time {verb} {pct}% (mean, last {recent} days vs the {baseline} days before)",
        "ratio",
        "trend of response time",
    ),
    spec(
        "comm_words_{w}d",
        FAMILY,
        "words (mean)",
        -1,
        "reply_length",
        "Replies averaged {value:.0f} words in the last {w} days",
        "mean",
        "words per reply in the last {w} days",
    ),
    spec(
        "comm_words_trend",
        FAMILY,
        "ratio",
        -1,
        "reply_length",
        "Reply length {verb} {pct}% (mean, last {recent} days vs the {baseline} days before)",
        "ratio",
        "trend of reply length",
    ),
    spec(
        "comm_rescheduled_{w}d",
        FAMILY,
        "meetings",
        1,
        "meetings",
        "{value:.0f} meetings rescheduled in the last {w} days",
    ),
    spec(
        "comm_cancelled_{w}d",
        FAMILY,
        "meetings",
        1,
        "meetings",
        "{value:.0f} meetings cancelled in the last {w} days",
    ),
    spec(
        "comm_no_show_{w}d",
        FAMILY,
        "meetings",
        1,
        "meetings",
        "{value:.0f} meetings the client did not show up to in the last {w} days",
    ),
    spec(
        "comm_meetings_disrupted_{w}d",
        FAMILY,
        "meetings",
        1,
        "meetings",
        "{value:.0f} meetings rescheduled or cancelled or missed in the last {w} days",
    ),
    spec(
        "comm_no_reply_streak",
        FAMILY,
        "touches",
        1,
        "no_reply",
        "The last {value:.0f} outreach attempts got no reply",
        "count",
        "unanswered outreach streak",
    ),
    spec(
        "comm_days_since_inbound",
        FAMILY,
        "days",
        1,
        "touches",
        "Last touch from the client {value:.0f} days ago",
        "days",
        "days since the client last got in touch",
    ),
    spec(
        "comm_sentiment_{w}d",
        FAMILY,
        "sentiment (-1..1)",
        -1,
        "sentiment",
        "Mean sentiment {value:+.2f} (on -1..1) in the last {w} days",
        "score",
        "mean sentiment in the last {w} days",
    ),
    spec(
        "comm_sentiment_trend",
        FAMILY,
        "sentiment difference",
        -1,
        "sentiment",
        "Sentiment {verb} by {abs:.2f} (last {recent} days vs the {baseline} days before)",
        "diff",
        "trend of sentiment",
    ),
)
