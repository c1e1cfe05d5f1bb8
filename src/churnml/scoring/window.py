"""What the weekly list reads of the events table: a time window, a few older rows, and client batches.

The events table is the one that grows with the history a user keeps (hundreds of millions of rows);
every other table of the contract is small and read whole (they also feed lifetime features: open
invoices, the last rating, the last inbound mail). Scoring at an as-of date needs of the events:

- **the window** (:func:`scoring_window`): every event from the first snapshot it scores minus the
  longest look-back of the features (:func:`feature_lookback_days`: the level windows, the trend's
  recent + baseline weeks, the z-score's recent + baseline weeks, the slope's weeks) up to the as-of
  date. Window sums are differences of running sums of whole counts, so they are the same whether the
  running sums start at the first event or at the window;
- **carried rows** (:func:`carried_marks`, :func:`needed_events`): the few older rows the lifetime
  features read: each client's last event, last login and last export before the window ("days since
  the last login") and the events of its first weeks ("onboarding progress");
- **the portfolio view** (:func:`portfolio_events`): what the whole-portfolio steps (data lag, gone
  clients, rules, CRM views) read, a few rows per client: the last activity before the as-of date and
  before the previous week, the days with an export, the active days of young clients.

Features are then built per **client batch**: ``hash(client_id) % n`` (:func:`client_batch`; Polars'
seeded hash, the same in one process, which is all a run needs), so peak memory follows the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from churnml.config import FeaturesConfig, RulesConfig, ScoreConfig
from churnml.contract.schemas import CLIENT_ID, Clients, Events

__all__ = [
    "BATCH_SEED",
    "ScoringWindow",
    "batch_count",
    "carried_marks",
    "client_batch",
    "feature_lookback_days",
    "needed_events",
    "portfolio_events",
    "portfolio_marks",
    "scoring_window",
]

BATCH_SEED = 0x15C0
_LAST, _LOGIN, _EXPORT, _ONB_END = "_carry_last", "_carry_login", "_carry_export", "_onboarding_end"
_ASOF, _PREV, _EXPORT_LAST, _EXPORT_DAYS, _YOUNG_DAYS = (
    "_last_asof",
    "_last_prev",
    "_export_last",
    "_export_days",
    "_young_days",
)


@dataclass(frozen=True)
class ScoringWindow:
    """The events a scoring run reads whole: ``start <= ts < end`` (``end``: midnight of the as-of
    date; nothing dated on or after it is used)."""

    start: datetime
    end: datetime

    def days(self) -> int:
        return (self.end - self.start).days


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def feature_lookback_days(cfg: FeaturesConfig) -> int:
    """The longest span before a snapshot any windowed feature reads (days): the level windows, the
    trend's recent + baseline days, the z-score's recent + baseline weeks and the slope's weeks."""
    return max(
        max(cfg.windows),
        cfg.recent_days + cfg.baseline_days,
        7 * (cfg.zscore_recent_weeks + cfg.zscore_baseline_weeks),
        7 * cfg.slope_weeks,
    )


def scoring_window(as_of: date, snapshots: Sequence[date], features: FeaturesConfig) -> ScoringWindow:
    """The events window of a scoring run at ``as_of`` that scores the weekly ``snapshots`` (the
    health-history weeks not reused from last week's file, this week and last week included): from the
    earliest snapshot minus :func:`feature_lookback_days` to the as-of date (exclusive)."""
    first = min([*snapshots, as_of])
    return ScoringWindow(_midnight(first - timedelta(days=feature_lookback_days(features))), _midnight(as_of))


def client_batch(n: int) -> pl.Expr:
    """The batch (0 .. n-1) of each row's ``client_id``: Polars' hash seeded with :data:`BATCH_SEED`,
    modulo ``n`` (a String column; stable within one process)."""
    return (pl.col(CLIENT_ID).cast(pl.String).hash(BATCH_SEED) % n).cast(pl.Int64)


def batch_count(clients: int, per_batch: int) -> int:
    """How many client batches hold ``clients`` at about ``per_batch`` clients each (at least one)."""
    return max(1, -(-clients // max(per_batch, 1)))


def _is_in(events: Sequence[str]) -> pl.Expr:
    return pl.col(Events.EVENT).cast(pl.String).is_in(list(events))


def carried_marks(events: pl.LazyFrame, window: ScoringWindow, features: FeaturesConfig) -> pl.LazyFrame:
    """Per client with events before the window (lazy, one row per client): the timestamps of its last
    event, last login and last export before ``window.start`` (``_carry_last``, ``_carry_login``,
    ``_carry_export``; null when none)."""
    ts = pl.col(Events.TS)
    return (
        events.filter(ts < window.start)
        .group_by(CLIENT_ID)
        .agg(
            ts.max().alias(_LAST),
            ts.filter(_is_in(features.login_events)).max().alias(_LOGIN),
            ts.filter(_is_in(features.export_events)).max().alias(_EXPORT),
        )
    )


def _onboarding_ends(clients: pl.DataFrame, features: FeaturesConfig) -> pl.DataFrame:
    """``[client_id, _onboarding_end]``: the end of the client's onboarding weeks, a week to spare."""
    young_weeks = max(1, round(features.young_days / 7))
    return clients.select(
        pl.col(CLIENT_ID).cast(pl.String),
        (pl.col(Clients.CREATED_AT).cast(pl.Datetime("us")) + pl.duration(days=7 * (young_weeks + 1))).alias(
            _ONB_END
        ),
    )


def needed_events(
    events: pl.LazyFrame,
    marks: pl.DataFrame,
    clients: pl.DataFrame,
    window: ScoringWindow,
    features: FeaturesConfig,
) -> pl.LazyFrame:
    """The events features need (lazy, the columns of ``events``): every row of the window, and before
    it the rows at each client's carried marks (:func:`carried_marks`) and the rows of its onboarding
    weeks. Lifetime features ("days since the last login", "onboarding progress") come out the same
    as on the whole table; windowed ones only read the window."""
    ts = pl.col(Events.TS)
    cols = events.collect_schema().names()
    old = (ts == pl.col(_LAST)) | (ts == pl.col(_LOGIN)) & _is_in(features.login_events)
    old = old | (ts == pl.col(_EXPORT)) & _is_in(features.export_events) | (ts < pl.col(_ONB_END))
    return (
        events.filter(ts < window.end)
        .join(marks.lazy(), on=CLIENT_ID, how="left")
        .join(_onboarding_ends(clients, features).lazy(), on=CLIENT_ID, how="left")
        .filter((ts >= window.start) | old.fill_null(False))
        .select(cols)
    )


def portfolio_marks(
    events: pl.LazyFrame,
    clients: pl.DataFrame,
    as_of: date,
    features: FeaturesConfig,
    score: ScoreConfig,
    rules: RulesConfig,
) -> pl.LazyFrame:
    """Per client (lazy, one row per client with events before ``as_of``): its last event before the
    as-of date and before the previous week, its last export, the days it exported in the
    ``rules.data_export_days`` before either date, and, for a client young enough to be onboarding,
    its active days in the ``score.onboarding_days`` before either date."""
    ts = pl.col(Events.TS)
    end, prev = _midnight(as_of), _midnight(as_of - timedelta(weeks=1))
    export = _is_in(features.export_events)
    young_from = prev - timedelta(days=score.onboarding_days)
    created = clients.select(pl.col(CLIENT_ID).cast(pl.String), pl.col(Clients.CREATED_AT).alias("_created"))
    young = (pl.col("_created") >= young_from) & (ts >= young_from)
    return (
        events.filter(ts < end)
        .join(created.lazy(), on=CLIENT_ID, how="left")
        .group_by(CLIENT_ID)
        .agg(
            ts.max().alias(_ASOF),
            ts.filter(ts < prev).max().alias(_PREV),
            ts.filter(export).max().alias(_EXPORT_LAST),
            ts.filter(export & (ts >= prev - timedelta(days=rules.data_export_days)))
            .dt.date()
            .unique()
            .alias(_EXPORT_DAYS),
            ts.filter(young.fill_null(False)).dt.date().unique().alias(_YOUNG_DAYS),
        )
    )


def portfolio_events(marks: pl.DataFrame, features: FeaturesConfig) -> pl.DataFrame:
    """The events the whole-portfolio steps read (:func:`portfolio_marks` as rows ``client_id``,
    ``ts``, ``event``): the last activities (event unnamed), the exports (named by the first export
    event) and the active days of young clients at midnight (they count days and weeks only)."""
    export_name = features.export_events[0] if features.export_events else None
    schema = {CLIENT_ID: pl.String, Events.TS: pl.Datetime("us"), Events.EVENT: pl.String}

    def rows(col: str, event: str | None, days: bool = False) -> pl.DataFrame:
        part = marks.select(CLIENT_ID, col)
        if days:
            part = part.explode(col).with_columns(pl.col(col).cast(pl.Datetime("us")))
        return part.drop_nulls(col).select(
            pl.col(CLIENT_ID).cast(pl.String),
            pl.col(col).cast(pl.Datetime("us")).alias(Events.TS),
            pl.lit(event, pl.String).alias(Events.EVENT),
        )

    parts = [rows(_ASOF, None), rows(_PREV, None), rows(_YOUNG_DAYS, None, days=True)]
    if export_name is not None:
        parts += [rows(_EXPORT_LAST, export_name), rows(_EXPORT_DAYS, export_name, days=True)]
    return pl.concat([pl.DataFrame(schema=schema), *parts]).sort(CLIENT_ID, Events.TS)
