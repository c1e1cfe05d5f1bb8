"""Post-mortem of every churn: what the weekly list said before the client left.

The list history is what the weekly job wrote (``<paths.scores>/<as-of>/``), read at the edge (``cli.py``)
and turned into one **timeline** frame (:func:`list_timeline`): one row
per client x list date with ``client_id``, ``as_of`` (Date), ``churn_probability``, ``zone`` and, for
rows of a written list, its ``driver_<i>_family`` / ``driver_<i>_sentence`` columns. Besides the lists
themselves it takes each list's ``history.parquet`` (the same model's weekly probabilities for the
clients of that list, zoned with the ``score.zones`` thresholds; no drivers), only its weeks from the
first written list on that its model had not learned the outcomes of (:func:`out_of_time_history`).
Nothing is rescored here:
the champion of today has learned from these very churns, so rescoring the past with it would flatter
the list (in-sample). A churn without any list in the ``lookback_days`` before it is "not reviewed",
not "missed".

A churn is judged against its **departure** (``left_at``, :func:`churnml.labels.churn_dates`; ``churned_at``
when the frame has none): under the inactivity rule a churn is decided ``inactivity_days`` after the client's
last order, and that last order is when it left. A list that flags the client after it, before the churn is
decided, flags a client that had already stopped ordering: no early warning.

Grain of :func:`postmortem`: one row per churn (an absence whose departure falls in ``[start, end)``),
columns:

- ``client_id``, ``name`` / ``owner`` / ``segment`` when known, ``churned_at`` (as the labels date it),
  ``left_at`` (the departure), ``reason`` (``unknown`` without a ``churns`` record);
- ``lists_before``: list weeks in the churn's window with the client: from ``lookback_days`` before the
  departure up to the churn, from after the client's previous churn and return on (a client's second churn
  is not credited with the flags raised before its first);
- ``first_flagged_at`` / ``weeks_flagged_before``: the first list date in the window with the client in
  yellow or red, and how many whole weeks before the departure (negative: that many weeks after it);
  ``first_red_at`` / ``weeks_red_before`` likewise for red; ``flagged_after_leaving``: the first flagging
  list came after the departure (the client had stopped ordering: counted late);
- ``driver_family`` / ``driver_sentence``: the top driver of the first flagged list row that has
  drivers (else of the last written list row before the churn);
- ``notice_at``: the client's first cancellation request in the window (a ``cancellation_request``
  ticket; null without one), ``flagged_after_notice``: the first flagging list was written after it
  (the client warned, not the list);
- ``verdict``: ``caught early`` (flagged at least ``early_weeks`` before the departure, and before any
  cancellation request), ``caught late``, ``missed`` (green on every list in the window), ``not reviewed``
  (no list in the window, or lists that began fewer than ``early_weeks`` before the departure: none could
  warn early).

:func:`postmortem_totals` sums it by reason and by driver family: churns, reviewed, caught early,
caught late, missed, the caught share of the reviewed (yellow or red on a list before leaving), their red
share and the median weeks of warning.

A caught share alone flatters lists that flag most clients: :func:`clients_who_stayed` (one row per client
on the lists of the look-back before the period's end that did not churn, of the lists whose horizon
ended within the data) and :func:`flag_comparison`
(one row per group, churned / did not churn: the shares yellow or red and red on some list) give the
false-alarm side, and the page reads the caught shares against it (the lift).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import polars as pl

from churnml.config import ZonesConfig
from churnml.contract.schemas import CLIENT_ID, Churns
from churnml.features.registry import FAMILY_SCOPES
from churnml.scoring.playbook import threshold_zone_expr

__all__ = [
    "CAUGHT_EARLY",
    "CAUGHT_LATE",
    "MISSED",
    "NOT_REVIEWED",
    "VERDICTS",
    "caught_after_leaving",
    "caught_after_notice",
    "clients_who_stayed",
    "false_alarm_sentence",
    "flag_comparison",
    "hindsight_warning",
    "last_known_list",
    "list_timeline",
    "most_warning_weeks",
    "out_of_time_history",
    "postmortem",
    "postmortem_page",
    "postmortem_totals",
    "review_lead",
    "stayers_unknown_sentence",
    "verdict_figure",
]

CAUGHT_EARLY = "caught early"
CAUGHT_LATE = "caught late"
MISSED = "missed"
NOT_REVIEWED = "not reviewed"
VERDICTS = (CAUGHT_EARLY, CAUGHT_LATE, MISSED, NOT_REVIEWED)
AS_OF = "as_of"
PROBABILITY = "churn_probability"
ZONE = "zone"
CHURNED_AT = Churns.CHURNED_AT
LEFT_AT = "left_at"
_DT = pl.Datetime("us")
_FLAGGED = ("yellow", "red")


def out_of_time_history(history: pl.DataFrame, learned_until: date | None) -> pl.DataFrame:
    """The rows of a list's ``history.parquet`` (``snapshot``: the weeks before the list, scored by the
    list's model) dated on or after ``learned_until`` (the day up to which that model had learned who
    churned; all rows when unknown): an earlier week's probability was scored by a model that already knew
    how that week ended, so it would flatter the review (a churn "caught early" 11 weeks before the first
    list was ever written)."""
    if learned_until is None:
        return history
    return history.filter(pl.col("snapshot").cast(pl.Date) >= learned_until)


def list_timeline(
    lists: Sequence[pl.DataFrame], histories: Sequence[pl.DataFrame], zones: ZonesConfig
) -> pl.DataFrame:
    """One row per client x list date from written lists (``scores.parquet`` frames: ``client_id``,
    ``as_of``, ``churn_probability``, ``zone``, ``driver_<i>_family`` / ``_sentence``) and their health
    histories (``client_id``, ``snapshot``, ``churn_probability``; zoned by the ``zones`` thresholds).

    A written list row wins over a history row of the same client and date; among histories the one
    of the latest list wins. Columns: ``client_id``, ``as_of`` (Date), ``churn_probability``, ``zone``,
    ``source`` (``list`` / ``history``), the driver columns (null on history rows).
    """
    driver_cols = sorted(
        {
            c
            for f in lists
            for c in f.columns
            if c.startswith("driver_") and c.endswith(("_family", "_sentence"))
        }
    )
    frames = [
        f.select(
            CLIENT_ID,
            pl.col(AS_OF).cast(pl.Date),
            pl.col(PROBABILITY).cast(pl.Float64),
            pl.col(ZONE).cast(pl.String),
            pl.lit("list").alias("source"),
            pl.lit(0).alias("_rank"),
            *[
                pl.col(c).cast(pl.String) if c in f.columns else pl.lit(None, pl.String).alias(c)
                for c in driver_cols
            ],
        )
        for f in lists
    ]
    for i, h in enumerate(histories):
        frames.append(
            h.select(
                CLIENT_ID,
                pl.col("snapshot").cast(pl.Date).alias(AS_OF),
                pl.col(PROBABILITY).cast(pl.Float64),
                threshold_zone_expr(pl.col(PROBABILITY), zones).alias(ZONE),
                pl.lit("history").alias("source"),
                pl.lit(len(histories) - i).alias(
                    "_rank"
                ),  # later histories first (callers pass oldest first)
                *[pl.lit(None, pl.String).alias(c) for c in driver_cols],
            )
        )
    if not frames:
        return pl.DataFrame(
            schema={
                CLIENT_ID: pl.String,
                AS_OF: pl.Date,
                PROBABILITY: pl.Float64,
                ZONE: pl.String,
                "source": pl.String,
            }
        )
    return (
        pl.concat(frames, how="vertical_relaxed")
        .sort(CLIENT_ID, AS_OF, "_rank")
        .unique([CLIENT_ID, AS_OF], keep="first", maintain_order=True)
        .drop("_rank")
    )


def _departure(churns: pl.DataFrame) -> pl.Expr:
    """Each churn's departure: its ``left_at`` (:func:`churnml.labels.churn_dates`), else its ``churned_at``."""
    return pl.col(LEFT_AT if LEFT_AT in churns.columns else CHURNED_AT).cast(_DT)


def _period_churns(churns: pl.DataFrame, start: date, end: date, lookback_days: int) -> pl.DataFrame:
    """``client_id``, ``churned_at``, ``left_at``, ``reason`` (``unknown`` when null) of the churns whose
    departure falls in ``[start, end)``, and ``_from``: the exclusive start of the window of lists read for
    each (:func:`_window_starts`)."""
    lo, hi = datetime.combine(start, datetime.min.time()), datetime.combine(end, datetime.min.time())
    return (
        _window_starts(churns, lookback_days)
        .filter((pl.col(LEFT_AT) >= lo) & (pl.col(LEFT_AT) < hi))
        .with_columns(pl.col(Churns.REASON).fill_null("unknown"))
        .sort(CLIENT_ID, CHURNED_AT)
    )


def _window_starts(churns: pl.DataFrame, lookback_days: int) -> pl.DataFrame:
    """One row per churn of ``churns`` (``client_id``, ``churned_at``, optional ``left_at``: the departure,
    ``reason``, optional ``returned_at``: the end of that absence) with ``left_at`` (``churned_at`` without
    one) and ``_from``, the exclusive start of its window: the later of the departure less ``lookback_days``
    and the client's previous churn and return. A client's second churn is judged by the lists from its
    return on, not credited with the flags raised before its first."""
    returned = (pl.col("returned_at") if "returned_at" in churns.columns else pl.lit(None)).cast(_DT)
    return (
        churns.select(
            CLIENT_ID,
            pl.col(CHURNED_AT).cast(_DT),
            _departure(churns).alias(LEFT_AT),
            pl.col(Churns.REASON).cast(pl.String),
            returned.alias("returned_at"),
        )
        .unique([CLIENT_ID, CHURNED_AT], keep="first", maintain_order=True)
        .sort(CLIENT_ID, CHURNED_AT)
        .with_columns(
            pl.max_horizontal(
                pl.col(LEFT_AT) - pl.duration(days=lookback_days),
                pl.col(CHURNED_AT).shift(1).over(CLIENT_ID),
                pl.col("returned_at").shift(1).over(CLIENT_ID),
            ).alias("_from")
        )
        .drop("returned_at")
    )


def _what_the_lists_said(period: pl.DataFrame, timeline: pl.DataFrame) -> pl.DataFrame:
    """Per churn (``client_id``, ``churned_at``, ``_from``: :func:`_period_churns`): ``lists_before`` (lists
    that showed the client after ``_from`` and up to the churn, the decided one: a list after the departure
    still showed the client), ``first_flagged_at``, ``first_red_at``, and
    the lead driver's ``driver_family`` / ``driver_sentence`` (of the first flagged list, else the last one)."""
    has_driver = "driver_1_family" in timeline.columns
    window = (
        period.join(timeline, on=CLIENT_ID, how="inner")
        .with_columns(pl.col(AS_OF).cast(_DT).alias("_at"))
        .filter((pl.col("_at") <= pl.col(CHURNED_AT)) & (pl.col("_at") > pl.col("_from")))
        .sort(CLIENT_ID, CHURNED_AT, AS_OF)
    )
    flagged = pl.col(ZONE).is_in(list(_FLAGGED))
    red = pl.col(ZONE) == "red"
    with_drivers = pl.col("driver_1_family").is_not_null() if has_driver else pl.lit(False)
    family = pl.col("driver_1_family") if has_driver else pl.lit(None, pl.String)
    sentence = pl.col("driver_1_sentence") if has_driver else pl.lit(None, pl.String)
    return window.group_by(CLIENT_ID, CHURNED_AT).agg(
        pl.len().alias("lists_before"),
        pl.col("_at").filter(flagged).min().alias("first_flagged_at"),
        pl.col("_at").filter(red).min().alias("first_red_at"),
        pl.coalesce(family.filter(flagged & with_drivers).first(), family.filter(with_drivers).last()).alias(
            "driver_family"
        ),
        pl.coalesce(
            sentence.filter(flagged & with_drivers).first(), sentence.filter(with_drivers).last()
        ).alias("driver_sentence"),
    )


def most_warning_weeks(lookback_days: int) -> int:
    """The most weeks of warning a churn can show when the lists of the ``lookback_days`` before it are read
    (:func:`postmortem`: the earliest list in them is ``lookback_days - 1`` days before the departure, and
    ``weeks_flagged_before`` counts whole weeks): 12 for 90 days, 11
    for 84 (a list exactly 84 days before is outside the look-back)."""
    return max(lookback_days - 1, 0) // 7


def _weeks_before(col: str) -> pl.Expr:
    """Whole weeks from the list date ``col`` to the departure (negative for a list after it)."""
    return ((pl.col(LEFT_AT) - pl.col(col)).dt.total_days() // 7).cast(pl.Int64)


def _verdict(early_weeks: int) -> pl.Expr:
    """Not reviewed (no list before), missed (never flagged), caught early (flagged at least
    ``early_weeks`` before the departure, and before the client asked to cancel) or caught late (a flag that
    came only with the client's own cancellation request is the client's warning, not the list's; one after
    the departure flags a client that had already left)."""
    return (
        # no list before, or the first came fewer than early_weeks before the churn: it could not have
        # been caught early, flagged or not (either way: the share caught is not biased)
        pl.when((pl.col("lists_before") == 0) | pl.col("_lists_began_late"))
        .then(pl.lit(NOT_REVIEWED))
        .when(pl.col("first_flagged_at").is_null())
        .then(pl.lit(MISSED))
        .when((pl.col("weeks_flagged_before") >= early_weeks) & ~pl.col("flagged_after_notice"))
        .then(pl.lit(CAUGHT_EARLY))
        .otherwise(pl.lit(CAUGHT_LATE))
    )


def _lists_began_late(timeline: pl.DataFrame, early_weeks: int) -> pl.Expr:
    """True for a churn that left less than ``early_weeks`` after the first list of ``timeline`` (its
    ``as_of``): no list could have flagged it early (a churn on the first list's date read "caught late")."""
    first = timeline.get_column("as_of").min() if timeline.height else None
    if first is None:
        return pl.lit(False)
    return pl.col(LEFT_AT) - pl.duration(weeks=early_weeks) < pl.lit(first).cast(_DT)


def _first_notices(period: pl.DataFrame, notices: pl.DataFrame | None) -> pl.DataFrame:
    """Per churn of ``period`` (:func:`_period_churns`): ``notice_at``, the first cancellation request of the
    client in its window (after ``_from``, up to the churn; null without one): a request made before an
    earlier churn was about that one."""
    keys = period.select(CLIENT_ID, CHURNED_AT, "_from")
    if notices is None or notices.height == 0:
        return keys.drop("_from").with_columns(pl.lit(None, _DT).alias("notice_at"))
    asked = notices.select(CLIENT_ID, pl.col("notice_at").cast(_DT))
    window = (
        keys.join(asked, on=CLIENT_ID, how="inner")
        .filter((pl.col("notice_at") <= pl.col(CHURNED_AT)) & (pl.col("notice_at") > pl.col("_from")))
        .group_by(CLIENT_ID, CHURNED_AT)
        .agg(pl.col("notice_at").min())
    )
    return keys.drop("_from").join(window, on=[CLIENT_ID, CHURNED_AT], how="left")


def postmortem(
    churns: pl.DataFrame,
    timeline: pl.DataFrame,
    start: date,
    end: date,
    *,
    lookback_days: int,
    early_weeks: int,
    clients: pl.DataFrame | None = None,
    notices: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per churn whose departure (``left_at``, else ``churned_at``) is in ``[start, end)`` (columns:
    module docstring).

    ``churns``: ``client_id``, ``churned_at``, optional ``left_at`` (the departure:
    :func:`churnml.labels.churn_dates`, :func:`churnml.reporting.winback.absences`), ``reason`` (nullable),
    optional ``returned_at`` (when that absence ended), e.g. the absences with reasons: every churn of the clients, not only the period's, since
    a churn's window starts after the client's previous churn and return (:func:`_window_starts`);
    ``timeline``: :func:`list_timeline`; ``clients``: optional ``client_id`` + name/owner/segment;
    ``notices``: optional ``client_id``, ``notice_at`` (the clients' cancellation requests).
    """
    period = _period_churns(churns, start, end, lookback_days)
    summary = _what_the_lists_said(period, timeline)
    out = (
        period.join(summary, on=[CLIENT_ID, CHURNED_AT], how="left")
        .join(_first_notices(period, notices), on=[CLIENT_ID, CHURNED_AT], how="left")
        .with_columns(
            pl.col("lists_before").fill_null(0).cast(pl.UInt32),
            _weeks_before("first_flagged_at").alias("weeks_flagged_before"),
            _weeks_before("first_red_at").alias("weeks_red_before"),
            _lists_began_late(timeline, early_weeks).alias("_lists_began_late"),
            # a list dated L reads data strictly before L: it knew of a request made before then
            (pl.col("notice_at") < pl.col("first_flagged_at").cast(_DT))
            .fill_null(False)
            .alias("flagged_after_notice"),
            # a list dated L reads data strictly before L: after the departure, it flagged a client gone
            (pl.col("first_flagged_at").cast(_DT) > pl.col(LEFT_AT))
            .fill_null(False)
            .alias("flagged_after_leaving"),
        )
        .with_columns(_verdict(early_weeks).alias("verdict"))
    )
    extra: list[str] = []
    if clients is not None:
        extra = [c for c in clients.columns if c != CLIENT_ID]
        out = out.join(clients, on=CLIENT_ID, how="left")
    return out.select(
        CLIENT_ID,
        *extra,
        CHURNED_AT,
        LEFT_AT,
        Churns.REASON,
        "lists_before",
        pl.col("first_flagged_at").cast(pl.Date),
        "weeks_flagged_before",
        pl.col("first_red_at").cast(pl.Date),
        "weeks_red_before",
        "driver_family",
        "driver_sentence",
        pl.col("notice_at").cast(pl.Date),
        "flagged_after_notice",
        "flagged_after_leaving",
        "verdict",
    ).sort(CHURNED_AT, CLIENT_ID)


def clients_who_stayed(
    churns: pl.DataFrame,
    timeline: pl.DataFrame,
    start: date,
    end: date,
    *,
    lookback_days: int,
    known_until: date,
) -> pl.DataFrame:
    """The false-alarm side of the review, one row per client that did not churn: on a list (``timeline``:
    :func:`list_timeline`) of the ``lookback_days`` before ``end`` (the window a churn on ``end`` would be
    reviewed on, so a stayer gets as many lists as a churn), and with no churn (``churns``: ``client_id``,
    ``churned_at``, optional ``left_at``: a churn counts from its departure) from ``start`` (or that window's start, if earlier) to ``lookback_days`` after ``end``,
    as far as ``churns`` shows (a list speaks of the ``lookback_days`` after its date: a client leaving
    then was flagged rightly). Only the lists whose ``lookback_days`` end by ``known_until`` (the last day
    ``churns`` knows of: the data's end less the label lag) are read: after a later list, who stays is not
    known yet, and a client leaving the week after the data ends would count as a false alarm
    (:func:`stayers_unknown_sentence`). Columns: ``client_id``, ``lists`` (list weeks with the client in the
    window), ``flagged`` (yellow or red on at least one), ``red`` (red on at least one)."""
    hi = datetime.combine(end, datetime.min.time())
    lo = hi - pl.duration(days=lookback_days)
    window = timeline.with_columns(pl.col(AS_OF).cast(_DT).alias("_at")).filter(
        (pl.col("_at") > lo)
        & (pl.col("_at") < hi)
        & (pl.col(AS_OF).cast(pl.Date) <= last_known_list(known_until, lookback_days))
    )
    churned_at = _departure(churns)
    first = pl.min_horizontal(
        lo + pl.duration(microseconds=1), pl.lit(datetime.combine(start, datetime.min.time()))
    )
    left = churns.filter((churned_at >= first) & (churned_at < hi + pl.duration(days=lookback_days))).select(
        CLIENT_ID
    )
    return (
        window.join(left, on=CLIENT_ID, how="anti")
        .group_by(CLIENT_ID)
        .agg(
            pl.len().cast(pl.UInt32).alias("lists"),
            pl.col(ZONE).is_in(list(_FLAGGED)).any().alias("flagged"),
            (pl.col(ZONE) == "red").any().alias("red"),
        )
        .sort(CLIENT_ID)
    )


def last_known_list(known_until: date, lookback_days: int) -> date:
    """The last list date whose ``lookback_days`` (the horizon it speaks of) end by ``known_until``, the
    last day the churns are known: who stayed after a later list is not known yet."""
    return known_until - timedelta(days=lookback_days)


def stayers_unknown_sentence(
    end: date, lookback_days: int, known_until: date, first_list: date | None = None
) -> str:
    """Why the page shows no clients who stayed when the lists of the ``lookback_days`` before ``end`` (the
    false-alarm side, :func:`clients_who_stayed`) all speak of days past ``known_until``, the last day the
    churns are known (a period ending on the data's end): whether their clients stay is not known yet;
    "" when some of those lists can be read. The way on is an earlier ``--to`` when a written list (the
    oldest, ``first_list``) is early enough to be read; when even the oldest speaks of days past
    ``known_until``, no period shows it (the earlier ``--to`` was refused as before ``--from``, the oldest
    list) and the sentence says how far the data must reach."""
    last = last_known_list(known_until, lookback_days)
    if end - timedelta(days=lookback_days) + timedelta(days=1) <= last:
        return ""
    head = (
        f"Who stays is not known yet: the lists of the {lookback_days} days before {end} speak of the "
        f"{lookback_days} days after them, which run past {known_until}, the last day the data knows churns of, "
        "so this page cannot say how often the lists flag clients who stay (the false alarms) to read the "
        "caught shares against."
    )
    if first_list is not None and first_list > last:
        reach = first_list + timedelta(days=lookback_days)
        return (
            f"{head} No list written so far can show it: the oldest, of {first_list}, speaks of the "
            f"{lookback_days} days up to {reach}, and the data knows churns up to {known_until}; run it again "
            f"once it knows them up to {reach}."
        )
    return f"{head} A period ending on {last + timedelta(days=1)} or earlier (--to) shows it."


def postmortem_totals(review: pl.DataFrame, by: str) -> pl.DataFrame:
    """Totals of :func:`postmortem` by ``reason`` or ``driver_family``: ``churns``, ``reviewed``, one
    column per verdict, ``median_weeks_warning`` (weeks flagged before leaving, of the caught),
    ``caught_share`` (caught early or late / reviewed: yellow or red on a list before leaving),
    ``red_share`` (red on a list before leaving / reviewed). Sorted by churns, descending."""
    verdict = pl.col("verdict")
    caught = verdict.is_in([CAUGHT_EARLY, CAUGHT_LATE])
    return (
        review.with_columns(pl.col(by).fill_null("(no list row with drivers)"))
        .group_by(by)
        .agg(
            pl.len().alias("churns"),
            (verdict != NOT_REVIEWED).sum().alias("reviewed"),
            *[(verdict == v).sum().alias(v.replace(" ", "_")) for v in VERDICTS],
            pl.col("weeks_flagged_before").filter(caught).median().alias("median_weeks_warning"),
            ((verdict != NOT_REVIEWED) & pl.col("first_red_at").is_not_null()).sum().alias("_red"),
        )
        .with_columns(
            pl.when(pl.col("reviewed") > 0)
            .then((pl.col("caught_early") + pl.col("caught_late")) / pl.col("reviewed"))
            .alias("caught_share"),
            pl.when(pl.col("reviewed") > 0).then(pl.col("_red") / pl.col("reviewed")).alias("red_share"),
        )
        .drop("_red")
        .sort(["churns", by], descending=[True, False])
    )


def flag_comparison(review: pl.DataFrame, stayed: pl.DataFrame) -> pl.DataFrame:
    """How the lists flagged the churns and the clients who stayed, one row per group: ``group``
    (``churned`` for the reviewed churns of ``review``, :func:`postmortem`, else, while none is reviewed,
    the churns on a list before leaving; ``did not churn`` for ``stayed``, :func:`clients_who_stayed`),
    ``clients``, ``flagged_share`` (yellow or red on at least one list), ``red_share`` (red on at least
    one). The caught share means little alone: lists that flag most clients catch most churns."""
    reviewed = review.filter(pl.col("verdict") != NOT_REVIEWED)
    churned = reviewed if reviewed.height else review.filter(pl.col("lists_before") > 0)
    label = "churned" if reviewed.height else "churned (on a list, none reviewed yet)"
    rows = [
        (
            label,
            churned.height,
            churned.get_column("first_flagged_at").is_not_null().mean() if churned.height else None,
            churned.get_column("first_red_at").is_not_null().mean() if churned.height else None,
        ),
        (
            "did not churn",
            stayed.height,
            stayed.get_column("flagged").mean() if stayed.height else None,
            stayed.get_column("red").mean() if stayed.height else None,
        ),
    ]
    return pl.DataFrame(
        rows,
        schema={
            "group": pl.String,
            "clients": pl.Int64,
            "flagged_share": pl.Float64,
            "red_share": pl.Float64,
        },
        orient="row",
    )


def false_alarm_sentence(
    comparison: pl.DataFrame, end: date, lookback_days: int, known_until: date | None = None
) -> str:
    """What :func:`flag_comparison` says: how often the lists flagged the clients who stayed, beside how
    often they flagged the churns, and how many times as likely a churner was to be flagged (the lift); ""
    without clients who stayed. ``known_until``: the last day the churns are known (as passed to
    :func:`clients_who_stayed`); when the later lists of the window were left out for it, it says so."""
    churned, stayed = comparison.row(0, named=True), comparison.row(1, named=True)
    if not stayed["clients"]:
        return ""
    flagged, red = f"{stayed['flagged_share']:.0%}", _share(stayed["red_share"])
    last = last_known_list(known_until, lookback_days) if known_until is not None else None
    only = (
        f" (those up to {last}: after a later list, who stays is not known yet)"
        if last is not None and end - timedelta(days=1) > last
        else ""
    )
    text = (
        f"The lists flag clients who stay, too. Of the {stayed['clients']:,} clients on the lists of the "
        f"{lookback_days} days before {end}{only} who did not churn (in the period, nor in the {lookback_days} days "
        f"after it as far as the data shows), {flagged} were yellow or red on at least one list and {red} red"
    )
    if not churned["clients"]:
        return text + "."
    who = "reviewed churns" if churned["group"] == "churned" else "churns on a list before leaving"
    lift = [
        f"{times} as likely to be {what}"
        for c, what in (("flagged_share", "yellow or red"), ("red_share", "red"))
        if (times := _times(churned[c], stayed[c]))
    ]
    return (
        f"{text}; of the {churned['clients']:,} {who}, {churned['flagged_share']:.0%} and "
        f"{_share(churned['red_share'])}"
        + (f": a churner was {' and '.join(lift)} as a client who stayed" if lift else "")
        + (
            f". Read each caught share below against the {flagged}, each red share against the {red}."
            if churned["group"] == "churned"
            else "."
        )
    )


def _share(value: float) -> str:
    """A share as a percentage, one decimal under 10% (5.4%), none above (76%)."""
    return f"{value:.1%}" if value < 0.1 else f"{value:.0%}"


def _times(churned: float, stayed: float) -> str:
    """``churned`` / ``stayed`` as "5.9 times" ("" when ``stayed`` is 0: no ratio to speak of)."""
    return f"{churned / stayed:.1f} times" if stayed else ""


def verdict_figure(totals: pl.DataFrame, by: str):  # -> matplotlib.figure.Figure
    """Churns per ``by`` group stacked by verdict (a :func:`postmortem_totals` table)."""
    from matplotlib.figure import Figure

    colours = {
        "caught_early": "#2e7d32",
        "caught_late": "#f9a825",
        "missed": "#c62828",
        "not_reviewed": "#bdbdbd",
    }
    fig = Figure(figsize=(8, 3.4))
    ax = fig.add_subplot()
    labels = [str(v) for v in totals.get_column(by).to_list()]
    bottom = [0] * len(labels)
    for col, colour in colours.items():
        values = totals.get_column(col).to_list()
        ax.barh(labels, values, left=bottom, color=colour, label=col.replace("_", " "))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("churns")
    ax.set_title(f"What the list said before each churn, by {by.replace('_', ' ')}")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def hindsight_warning(hindsight: Sequence[str], lists: int) -> str:
    """The sentence saying which of the ``lists`` read were scored with hindsight (their dates): by a
    model that had already learned churns they predict, so their catch rates flatter it; "" for none."""
    if not hindsight:
        return ""
    shown = ", ".join(hindsight[:6]) + (", ..." if len(hindsight) > 6 else "")
    return (
        f"{len(hindsight)} of the {lists} lists ({shown}) were scored by a model that had already learned "
        "churns they predict (back-dated lists scored with a later model): their catches flatter the "
        "model; only lists written at their date, by the champion of that week, are an honest record"
    )


def _was(n: int) -> str:
    return "was" if n == 1 else "were"


def caught_after_notice(review: pl.DataFrame) -> int:
    """How many caught churns of a :func:`postmortem` frame (one row per churn; verdict caught early or
    late) were first flagged only once the client had asked to cancel: a churn not reviewed or missed is
    none of the caught, whatever its ``flagged_after_notice``."""
    caught = pl.col("verdict").is_in([CAUGHT_EARLY, CAUGHT_LATE])
    return int(review.filter(caught & pl.col("flagged_after_notice")).height)


def caught_after_leaving(review: pl.DataFrame) -> int:
    """How many caught churns of a :func:`postmortem` frame were first flagged only after their departure
    (``flagged_after_leaving``: the client had stopped ordering already); 0 for a frame without the column."""
    if "flagged_after_leaving" not in review.columns:
        return 0
    caught = pl.col("verdict").is_in([CAUGHT_EARLY, CAUGHT_LATE])
    return int(review.filter(caught & pl.col("flagged_after_leaving")).height)


def review_lead(
    review: pl.DataFrame,
    start: date,
    end: date,
    early_weeks: int | None = None,
    known_until: date | None = None,
) -> str:
    """The page's opening sentences about a :func:`postmortem` frame (one row per churn): how many churns,
    how many were reviewed and what the lists said of those; when none could be reviewed, what the lists
    did show of the churns they covered (on a list before leaving, yellow or red, red) and why they are not
    reviewed yet (the lists began fewer than ``early_weeks`` before them), not that no list covers them.
    ``known_until``: the last day the churns are known by their departure (the data end less
    :func:`churnml.labels.departure_lag_days`): a period without churns that ends after it is said to be
    not known yet, with the ``--to`` that reads known churns, not "No churn" (a distributor's period of the
    last 12 weeks, 25 accounts gone in it, read "No churn": under the inactivity label none was decided)."""
    counts = {v: int((review.get_column("verdict") == v).sum()) for v in VERDICTS}
    reviewed = review.height - counts[NOT_REVIEWED]
    period = f"from {start} to {end}"
    if review.height == 0 and known_until is not None and end > known_until:
        part = "runs past it" if start <= known_until else "lies wholly after it"
        return (
            f"No churn known {period}: the data knows churns by their departure up to {known_until} (who "
            "left later is decided only once the label's lag has passed: under the inactivity label, its "
            f"inactivity_days without an order), and this period {part}. A period ending on "
            f"{known_until} or earlier (--to) reviews churns that are known."
        )
    if review.height == 0:
        return f"No churn {period}."
    if reviewed:
        caught = counts[CAUGHT_EARLY] + counts[CAUGHT_LATE]
        told = caught_after_notice(review)
        gone = caught_after_leaving(review)
        return (
            f"{review.height:,} churns {period}; {reviewed:,} had lists in the weeks before them, from early "
            f"enough to warn. Of those the list flagged {caught:,} ({caught / reviewed:.0%}) in yellow or red "
            f"{'before the churn was decided' if gone else 'before they left'} ({counts[CAUGHT_EARLY]:,} early, "
            f"{counts[CAUGHT_LATE]:,} late) and missed "
            f"{counts[MISSED]:,}."
            + (
                f" {told:,} of the caught were first flagged only once they had asked to cancel: the client "
                "warned, not the list (counted late)."
                if told
                else ""
            )
            + (
                f" {gone:,} of the caught were first flagged only after they had left (after their last order "
                "or activity, before the churn was decided): no early warning (counted late)."
                if gone
                else ""
            )
        )
    listed = review.filter(pl.col("lists_before") > 0)
    if listed.height == 0:
        return f"{review.height:,} churns {period}; no list covers any of them."
    flagged = int(listed.get_column("first_flagged_at").is_not_null().sum())
    red = int(listed.get_column("first_red_at").is_not_null().sum())
    lists = listed.get_column("lists_before")
    span = f"{lists.min()}" if lists.min() == lists.max() else f"{lists.min()} to {lists.max()}"
    why = (
        f"the first list came fewer than {early_weeks} weeks before each of them, too soon to warn early (a "
        f"churn is reviewed once the lists began at least {early_weeks} weeks before it)"
        if early_weeks is not None
        else "the first list came too soon before each of them to warn early (--early-weeks)"
    )
    who = f"all {listed.height:,}" if listed.height == review.height else f"{listed.height:,} of them"
    # the lists read run to the decided churn: after a departure (a last order) they list a client that has left
    departed = {LEFT_AT, CHURNED_AT} <= set(review.columns) and bool(
        (review.get_column(LEFT_AT) < review.get_column(CHURNED_AT)).any()
    )
    before = "before the churn was decided" if departed else "before leaving"
    late = (
        int(listed.get_column("flagged_after_leaving").sum())
        if "flagged_after_leaving" in listed.columns
        else 0
    )
    after = f"; {late:,} only after they had left" if late else ""
    return (
        f"{review.height:,} churns {period}; none is reviewed yet: {why}. What the lists did show: {who} "
        f"{_was(listed.height)} on {span} list{'' if lists.max() == 1 else 's'} {before}, {flagged:,} in yellow or red on at "
        f"least one ({red:,} red{after}), {listed.height - flagged:,} green on every one"
        + (
            f"; {review.height - listed.height:,} {_was(review.height - listed.height)} on no list before leaving."
            if listed.height < review.height
            else "."
        )
    )


def postmortem_page(
    review: pl.DataFrame,
    by_reason: pl.DataFrame,
    by_family: pl.DataFrame,
    start: date,
    end: date,
    lists: int,
    hindsight: Sequence[str] = (),
    lookback_days: int | None = None,
    links: Sequence[tuple[str, str]] = (),
    early_weeks: int | None = None,
    stayed: pl.DataFrame | None = None,
    known_until: date | None = None,
    first_list: date | None = None,
) -> str:
    """The post-mortem page: totals by reason and driver family (with plots), then every churn;
    ``hindsight``: the dates of the lists scored with hindsight (:func:`hindsight_warning`);
    ``lookback_days``: the window of lists read before each churn (said on the page, since it caps
    ``weeks_flagged_before``); ``links``: the other churnml pages, (label, relative href); ``early_weeks``:
    the weeks of warning that count as early (said when no churn could be reviewed, :func:`review_lead`);
    ``stayed``: :func:`clients_who_stayed` (with ``lookback_days``), shown beside the churns
    (:func:`flag_comparison`) so that the caught shares read against how often the lists flag anyone;
    ``known_until``: the last day the churns are known (as passed to :func:`clients_who_stayed`): when the
    lists of the window all speak of days after it, the page says who stays is not known yet
    (:func:`stayers_unknown_sentence`, told the oldest written list, ``first_list``, to give a way on that
    works)."""
    from churnml.reporting.pages import figure_svg, page_html, table_html

    lead = f"<p>{html.escape(review_lead(review, start, end, early_weeks, known_until))}</p>"
    if stayed is not None and lookback_days:
        comparison = flag_comparison(review, stayed)
        if sentence := false_alarm_sentence(comparison, end, lookback_days, known_until):
            lead += f"<p>{html.escape(sentence)}</p>" + table_html(
                comparison, percent=("flagged_share", "red_share")
            )
        elif known_until is not None and (
            unknown := stayers_unknown_sentence(end, lookback_days, known_until, first_list)
        ):
            lead += f"<p>{html.escape(unknown)}</p>"
    note = (
        f'<p class="note">From {lists} written list(s) and their health histories; nothing is rescored. '
        "A list is an honest record only when the model that wrote it had not yet learned these churns: "
        "lists written after the fact (back-dated, as <code>make demo</code> does) flatter the model."
        + (
            f" Only the lists of the {lookback_days} days before each churn are read (the horizon the "
            f"probabilities speak of), so {most_warning_weeks(lookback_days)} weeks is the most warning a churn "
            "can show; of a client that had left before, only those since it came back."
            if lookback_days
            else ""
        )
        + "</p>"
    )
    warning = hindsight_warning(hindsight, lists)
    if warning:
        note += f'<div class="warn"><b>Scored with hindsight.</b> {html.escape(warning[0].upper() + warning[1:])}.</div>'
    sections = [
        (
            "reasons",
            "By reason",
            lead
            + note
            + (figure_svg(verdict_figure(by_reason, "reason")) if by_reason.height else "")
            + table_html(by_reason, percent=("caught_share", "red_share")),
        ),
        (
            "families",
            "By driver family",
            "<p>The family of the top driver on the first list that flagged the client (else its last list). "
            + "; ".join(f"<b>{f}</b>: {html.escape(scope)}" for f, scope in FAMILY_SCOPES.items())
            + ".</p>"
            + table_html(by_family, percent=("caught_share", "red_share")),
        ),
        ("churns", "Every churn", table_html(review, max_rows=300)),
    ]
    return page_html(f"Post-mortem — churns {start} to {end}", "churnml postmortem", sections, links)
