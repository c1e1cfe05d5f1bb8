"""Early-warning rules: simple, explainable alarms that fire beside the model's probability.

Grain: one row per client at one as-of date. Columns: ``client_id``, one boolean ``rule_<name>`` per
enabled rule, and ``rules_fired`` (the names of the rules that fired, ``"; "``-joined, in config
order; empty when none fired). Every rule looks only at data strictly before the as-of date.

The rules (``cfg.rules``; each can be switched off in ``rules.enabled``):

- ``no_activity``: no order (payment row) and no product event for ``no_activity_days`` days
  (measured from the client's creation when it never had one). Not evaluated when the dataset has
  neither events nor payments.
- ``unanswered_outreach``: the last ``unanswered_outreach`` outbound touches all went unanswered:
  outcome ``no_reply``, or, where the outcome is empty, no inbound touch from the client after it.
- ``low_ratings``: the last ``low_ratings`` CSAT ratings (tickets closed before the as-of date, in
  order of closing) are all at or below ``features.low_csat``.
- ``health_drop``: the health score fell more than ``health_drop_points`` below its highest value in
  the last ``health_drop_weeks`` weeks (from the scored health history).
- ``data_export``: a data-export event within the last ``data_export_days`` days.
- ``champion_change``: a ``champion_left`` signal within the last ``champion_change_days`` days.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

import polars as pl

from churnml.config import RulesConfig
from churnml.outputs import History, Scores
from churnml.schemas import CLIENT_ID, Clients, Communications, Events, Payments, Signals, Table, Tickets

__all__ = ["RULE_TEXT", "fired_rules", "rule_descriptions"]

RULE_TEXT: dict[str, str] = {
    "no_activity": "no order and no product activity for {no_activity_days} days",
    "unanswered_outreach": "the last {unanswered_outreach} outreaches went unanswered",
    "low_ratings": "the last {low_ratings} satisfaction ratings were low",
    "health_drop": "health dropped more than {health_drop_points:g} points in {health_drop_weeks} weeks",
    "data_export": "exported data in the last {data_export_days} days",
    "champion_change": "the champion left in the last {champion_change_days} days",
}


def rule_descriptions(cfg: RulesConfig) -> dict[str, str]:
    """Plain-language text of each enabled rule with its configured thresholds."""
    values = cfg.model_dump()
    return {name: RULE_TEXT[name].format(**values) for name in cfg.enabled}


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _flag(ids: pl.DataFrame, hits: pl.DataFrame, name: str) -> pl.DataFrame:
    """``ids`` with a boolean column ``name``: True for the client_ids in ``hits``."""
    marked = hits.select(CLIENT_ID).unique().with_columns(pl.lit(True).alias(name))
    return ids.join(marked, on=CLIENT_ID, how="left", maintain_order="left").with_columns(
        pl.col(name).fill_null(False)
    )


def _no_activity(
    ids: pl.DataFrame, tables: Mapping[Table, pl.DataFrame], cut: datetime, days: int
) -> pl.Series | None:
    stamps = []
    events = tables.get(Table.EVENTS)
    if events is not None:
        stamps.append(events.lazy().select(CLIENT_ID, pl.col(Events.TS).alias("t")))
    payments = tables.get(Table.PAYMENTS)
    if payments is not None:
        when = pl.coalesce(
            [pl.col(c) for c in (Payments.PAID_AT, Payments.ISSUED_AT) if c in payments.columns]
        )
        stamps.append(payments.lazy().select(CLIENT_ID, when.alias("t")))
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
        .select(pl.coalesce("last", "created").alias("since"))
    )
    return frame.select(
        ((pl.lit(cut) - pl.col("since")).dt.total_days() >= days).fill_null(False)
    ).to_series()


def _unanswered_outreach(communications: pl.DataFrame, cut: datetime, n: int) -> pl.DataFrame:
    """Client_ids whose last ``n`` outbound touches before ``cut`` all went unanswered."""
    comms = communications.filter(pl.col(Communications.TS) < cut).sort(CLIENT_ID, Communications.TS)
    has_outcome = Communications.OUTCOME in comms.columns
    outcome = pl.col(Communications.OUTCOME) if has_outcome else pl.lit(None, dtype=pl.String)
    inbound = (pl.col(Communications.DIRECTION) == "in").cast(pl.Int64)
    # Inbound touches strictly after each row: the reverse cumulative count minus the row itself.
    inbound_after = inbound.reverse().cum_sum().reverse().over(CLIENT_ID) - inbound
    marked = comms.with_columns(
        pl.when(outcome.is_null())
        .then(inbound_after == 0)
        .otherwise(outcome == "no_reply")
        .alias("unanswered")
    )
    last_out = (
        marked.filter(pl.col(Communications.DIRECTION) == "out")
        .group_by(CLIENT_ID, maintain_order=True)
        .agg(pl.col("unanswered").tail(n))
    )
    return last_out.filter((pl.col("unanswered").list.len() >= n) & pl.col("unanswered").list.all()).select(
        CLIENT_ID
    )


def _low_ratings(tickets: pl.DataFrame, cut: datetime, n: int, low_csat: float) -> pl.DataFrame:
    if Tickets.CSAT not in tickets.columns:
        return pl.DataFrame(schema={CLIENT_ID: pl.String})
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
        .agg(pl.col(Tickets.CSAT).tail(n).alias("last"))
    )
    return rated.filter((pl.col("last").list.len() >= n) & (pl.col("last").list.max() <= low_csat)).select(
        CLIENT_ID
    )


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
        .select(CLIENT_ID)
    )


def _recent(frame: pl.DataFrame, ts: str, cut: datetime, days: int, mask: pl.Expr) -> pl.DataFrame:
    return frame.filter(mask & (pl.col(ts) < cut) & (pl.col(ts) >= cut - timedelta(days=days))).select(
        CLIENT_ID
    )


def fired_rules(
    tables: Mapping[Table, pl.DataFrame],
    client_ids: Sequence[str],
    as_of: date,
    health_history: pl.DataFrame | None,
    cfg: RulesConfig,
    *,
    low_csat: float,
    export_events: Sequence[str],
) -> pl.DataFrame:
    """Which early-warning rules fire for each client (grain and columns: module docstring).

    ``tables`` are the dataset's validated tables (data after ``as_of`` is ignored);
    ``health_history`` is ``[client_id, snapshot, health_score]`` (``history.parquet``), or None.
    A rule whose table is absent never fires.
    """
    cut = _midnight(as_of)
    ids = pl.DataFrame({CLIENT_ID: pl.Series(list(client_ids), dtype=pl.String)})
    out = ids
    empty = pl.DataFrame(schema={CLIENT_ID: pl.String})
    for name in cfg.enabled:
        column = Scores.rule(name)
        if name == "no_activity":
            flags = _no_activity(ids, tables, cut, cfg.no_activity_days)
            out = out.with_columns(
                (flags if flags is not None else pl.Series([False] * ids.height)).alias(column)
            )
            continue
        if name == "unanswered_outreach":
            comms = tables.get(Table.COMMUNICATIONS)
            hits = _unanswered_outreach(comms, cut, cfg.unanswered_outreach) if comms is not None else empty
        elif name == "low_ratings":
            tickets = tables.get(Table.TICKETS)
            hits = _low_ratings(tickets, cut, cfg.low_ratings, low_csat) if tickets is not None else empty
        elif name == "health_drop":
            hits = (
                _health_drop(health_history, as_of, cfg.health_drop_weeks, cfg.health_drop_points)
                if health_history is not None
                else empty
            )
        elif name == "data_export":
            events = tables.get(Table.EVENTS)
            hits = (
                _recent(
                    events,
                    Events.TS,
                    cut,
                    cfg.data_export_days,
                    pl.col(Events.EVENT).is_in(list(export_events)),
                )
                if events is not None
                else empty
            )
        else:  # champion_change
            signals = tables.get(Table.SIGNALS)
            hits = (
                _recent(
                    signals,
                    Signals.TS,
                    cut,
                    cfg.champion_change_days,
                    pl.col(Signals.SIGNAL) == "champion_left",
                )
                if signals is not None
                else empty
            )
        out = _flag(out, hits, column)
    names = list(cfg.enabled)
    fired = (
        pl.concat_list([pl.when(pl.col(Scores.rule(n))).then(pl.lit(n)) for n in names]).list.drop_nulls()
        if names
        else pl.lit([], dtype=pl.List(pl.String))
    )
    return out.with_columns(fired.list.join("; ").alias(Scores.RULES))
