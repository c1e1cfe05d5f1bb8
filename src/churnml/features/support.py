"""Support features: ticket volume by kind, open tickets, recency and satisfaction (CSAT).

Input: the ``tickets`` table (``client_id, opened_at, closed_at, kind, priority, csat``) as a Narwhals
lazy frame, plus the client x week grid. Output grain: one row per client x grid week (``client_id``,
``_week``), columns ``support_*`` of the registry, each describing the snapshot that starts the next
week from data strictly before it.

Point in time: a ticket counts from the day it was opened; its CSAT rating is known from the day it
was closed (the opening day when there is no close date); a ticket is open at a snapshot when it was
opened before it and not closed before it. Without any close date in the table (``closed_at`` is
optional) no ticket is known to be open or closed: ``support_open_tickets`` is null, not every ticket
ever opened. ``support_open_urgent_tickets`` counts the open tickets whose ``priority`` is one of
``features.urgent_priorities`` (any case): an unresolved urgent bug is not a question left open; null
without any priority in the table (no ticket is known to be urgent). A ticket opened (or rated) before the
grid, on a placeholder date such as 1900-01-01 that
the data's start leaves out, is open (and rated) from the grid's first week, so its close inside the grid
does not make the count negative; it is in no window nor recency, and a rating known before the grid is
older than any window (unknown). The last two ratings are the latest by that day (ties broken by the rating itself, so the result never depends on row order); a rating known more than the
longest window (``features.windows``, 182 days by default) before the snapshot is unknown there, as a
window's count would be: it no longer says how satisfied the client is. The CSAT trend is the mean
rating over the last ``baseline_days`` minus the mean of all earlier ratings.

A cancellation request (a ticket of kind ``cancellation_request``) counts in ``support_cancellation_requests_<w>d``
while it stands: from the week it was opened until a ``cancellation_withdrawn`` signal at or after it
(``signals``, :data:`churnml.contract.schemas.Signals.CANCELLATION_WITHDRAWN`) is known, as
:func:`churnml.scoring.crm.cancellation_notices` reads a notice (a withdrawal after the snapshot does not count
there: the request still stood). Without a signals table every request counts.

A cancellation request is no support trouble: it has its own features (above), rule and state. The features of
support trouble, ``support_tickets_<w>d``, ``support_tickets_ratio``, ``support_open_tickets``,
``support_open_urgent_tickets`` and ``support_days_since_ticket``, count the other tickets only
(:func:`trouble_flag`; a ticket without a kind is one): a learner whose only ticket was turning auto-renew
off read "Last support ticket 139 days ago" and got "Follow up on their tickets". The CSAT features
(``support_csat_*``) read the ratings of those tickets too (:func:`csat_ratings`): a rating given on a
cancellation request rates how the exit was handled, after the client decided to leave, and the request
already counts in its own feature and rule; read as satisfaction with the service, a 1 of 5 on the request was
cited again as "The last satisfaction rating was 1 of 5", and a 5 for a smooth cancellation as a satisfied client.
"""

from __future__ import annotations

import narwhals as nw

from churnml.config import FeaturesConfig
from churnml.contract.schemas import CLIENT_ID, Signals, Tickets
from churnml.features._grid import (
    DAY,
    WEEK,
    WeekAxis,
    add_cumulative,
    cum,
    cum_before,
    day_number,
    days_since,
    from_grid_start,
    held_shifts,
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
    "SCOPE",
    "SPECS",
    "csat_ratings",
    "request_ends",
    "support_features",
    "trouble_flag",
    "urgent_flag",
]

_KINDS = {
    "complaint": "complaints",
    "discount_request": "discount_requests",
    "cancellation_request": "cancellation_requests",
}


def _flag(cond: nw.Expr) -> nw.Expr:
    return nw.when(cond).then(nw.lit(1)).otherwise(nw.lit(0))


def csat_ratings(tickets: nw.LazyFrame, axis: WeekAxis) -> nw.LazyFrame:
    """One row per CSAT rating of a ticket of support trouble (:func:`trouble_flag`: a rating of the handling
    of a cancellation request rates the client's exit, not the service it stays for): ``client_id``, ``_idx``
    (1 = the client's first rating), ``_csat``, ``_week`` (the week it became known)."""
    rated = tickets.filter(~nw.col(Tickets.CSAT).is_null() & (trouble_flag() == 1)).with_columns(
        nw.coalesce(nw.col(Tickets.CLOSED_AT), nw.col(Tickets.OPENED_AT)).alias("_known_at"),
        nw.col(Tickets.CSAT).cast(nw.Float64).alias("_csat"),
        nw.lit(1).alias("_one"),
    )
    rated = rated.with_columns(
        nw.col("_one").cum_sum().over(CLIENT_ID, order_by=["_known_at", "_csat"]).alias("_idx"),
        week_of(day_number(nw.col("_known_at"), tickets.implementation.is_polars()), axis).alias(WEEK),
    )
    return rated.select(CLIENT_ID, "_idx", "_csat", WEEK)


_REQUEST = "cancellation_request"


def request_ends(
    requests: nw.LazyFrame, signals: nw.LazyFrame | None, axis: WeekAxis, windows: list[tuple[int, int]]
) -> nw.LazyFrame:
    """Per client x week, ``_end_<d>`` for each window of ``d`` days (``w`` weeks): how many cancellation
    requests stop counting in that window that week: the week of the first ``cancellation_withdrawn`` signal at
    or after the request, or the week it leaves the window (its own week + ``w``), whichever comes first.
    ``requests``: one row per request (``client_id``, ``_at``: when it was opened, ``_week``). Grain: one row
    per client x week (up to ``axis.last_week``) in which some request stops counting."""
    reqs = requests
    if signals is not None:
        withdrawals = signals.filter(
            nw.col(Signals.SIGNAL).cast(nw.String).is_in([Signals.CANCELLATION_WITHDRAWN]).fill_null(False)
        ).select(CLIENT_ID, nw.col(Signals.TS).alias("_wts"))
        # the first withdrawal at or after each request (a withdrawal withdraws every request opened before it)
        first = (
            requests.select(CLIENT_ID, "_at")
            .unique()
            .join(withdrawals, on=CLIENT_ID, how="inner")
            .filter(nw.col("_wts") >= nw.col("_at"))
            .group_by(CLIENT_ID, "_at")
            .agg(nw.col("_wts").min())
        )
        fast = signals.implementation.is_polars()
        reqs = reqs.join(first, on=[CLIENT_ID, "_at"], how="left").with_columns(
            week_of(day_number(nw.col("_wts"), fast), axis).alias("_withdrawn")
        )
    else:
        reqs = reqs.with_columns(nw.lit(None, nw.Int64).alias("_withdrawn"))
    parts = []
    for d, w in windows:
        left = nw.col(WEEK) + w
        end = (
            nw.when(~nw.col("_withdrawn").is_null() & (nw.col("_withdrawn") < left))
            .then(nw.col("_withdrawn"))
            .otherwise(left)
        )
        parts.append(
            reqs.select(
                CLIENT_ID, end.alias(WEEK), *[nw.lit(int(e == d)).alias(f"_end_{e}") for e, _ in windows]
            )
        )
    return (
        nw.concat(parts, how="vertical")
        .filter(nw.col(WEEK) <= axis.last_week)
        .group_by(CLIENT_ID, WEEK)
        .agg(nw.col(f"_end_{d}").sum() for d, _ in windows)
    )


def trouble_flag() -> nw.Expr:
    """1 for a ticket of support trouble: any ticket but a ``cancellation_request`` (which has its own
    features, rule and state), a ticket without a kind included; else 0."""
    return _flag((nw.col(Tickets.KIND).cast(nw.String) != _REQUEST).fill_null(True))


def urgent_flag(priorities: tuple[str, ...]) -> nw.Expr:
    """1 for a ticket whose ``priority`` (compared lowercased, trimmed) is one of ``priorities``
    (``features.urgent_priorities``), else 0 (no priority recorded: 0)."""
    priority = nw.col(Tickets.PRIORITY).cast(nw.String).str.strip_chars().str.to_lowercase()
    return _flag(priority.is_in([p.strip().lower() for p in priorities]).fill_null(False))


def support_features(
    tickets: nw.LazyFrame,
    grid: nw.LazyFrame,
    axis: WeekAxis,
    cfg: FeaturesConfig,
    signals: nw.LazyFrame | None = None,
) -> nw.LazyFrame:
    """All ``support_*`` features on the client x week grid (see the module docstring); ``signals``: the
    signals table, for the withdrawals of cancellation requests (None: none recorded)."""
    windows = [(d, validated_weeks(d)) for d in cfg.windows]
    recent = validated_weeks(cfg.recent_days, "recent_days")
    base = validated_weeks(cfg.baseline_days, "baseline_days")

    t = tickets.with_columns(
        day_number(nw.col(Tickets.OPENED_AT), tickets.implementation.is_polars()).alias(DAY),
        day_number(nw.col(Tickets.CLOSED_AT), tickets.implementation.is_polars()).alias("_closed_day"),
    )
    t = t.with_columns(
        week_of(nw.col(DAY), axis).alias(WEEK),
        urgent_flag(cfg.urgent_priorities).alias("_urgent"),
        trouble_flag().alias("_trouble"),
    )
    kind = nw.col(Tickets.KIND)
    opened = (
        t.with_columns(nw.when(nw.col("_trouble") == 1).then(nw.col(DAY)).alias("_trouble_day"))
        .filter(nw.col(WEEK) <= axis.last_week)
        .group_by(CLIENT_ID, WEEK)
        .agg(
            nw.col("_trouble").sum().alias("_tickets"),  # a cancellation request is no support trouble
            *[_flag((kind == k).fill_null(False)).sum().alias(f"_k_{k}") for k in _KINDS],
            nw.col("_trouble_day").max().alias("_last_ticket"),
        )
    )
    # the open balance of the tickets of support trouble: every opening and close, one dated before the grid
    # in its first week (from_grid_start)
    trouble = t.filter(nw.col("_trouble") == 1)
    opened_all = (
        trouble.select(CLIENT_ID, from_grid_start(nw.col(WEEK), axis).alias(WEEK), "_urgent")
        .filter(nw.col(WEEK) <= axis.last_week)
        .group_by(CLIENT_ID, WEEK)
        .agg(nw.len().alias("_opened"), nw.col("_urgent").sum().alias("_opened_urgent"))
    )
    closed_week = week_of(nw.max_horizontal(nw.col("_closed_day"), nw.col(DAY)), axis)
    closed = (
        trouble.filter(~nw.col("_closed_day").is_null())
        .select(CLIENT_ID, from_grid_start(closed_week, axis).alias(WEEK), "_urgent")
        .filter(nw.col(WEEK) <= axis.last_week)
        .group_by(CLIENT_ID, WEEK)
        .agg(nw.len().alias("_closed"), nw.col("_urgent").sum().alias("_closed_urgent"))
    )
    # one row: whether the table has any close date (without, no ticket is known to be open or closed)
    # and whether it has any priority (without, no ticket is known to be urgent)
    has_closes = tickets.select(
        (nw.col(Tickets.CLOSED_AT).count() > 0).alias("_has_closes"),
        (nw.col(Tickets.PRIORITY).count() > 0).alias("_has_priority"),
    )
    ratings = csat_ratings(tickets, axis)
    # a rating known before the grid counts from its first week, so the running count matches its _idx
    rated_weekly = (
        ratings.with_columns(from_grid_start(nw.col(WEEK), axis).alias(WEEK))
        .filter(nw.col(WEEK) <= axis.last_week)
        .group_by(CLIENT_ID, WEEK)
        .agg(nw.len().alias("_rated"), nw.col("_csat").sum().alias("_csat_sum"))
    )
    counts = ["_tickets", *[f"_k_{k}" for k in _KINDS]]
    # the requests of the grid's weeks (those counted in _k_cancellation_request) and when each stops counting
    requests = t.filter(
        (kind == _REQUEST).fill_null(False)
        & (nw.col(WEEK) >= axis.first_week)
        & (nw.col(WEEK) <= axis.last_week)
    ).select(CLIENT_ID, nw.col(Tickets.OPENED_AT).alias("_at"), WEEK)
    ends = [f"_end_{d}" for d, _ in windows]
    g = on_grid(grid, opened, counts)
    g = on_grid(g, request_ends(requests, signals, axis, windows), ends)
    g = on_grid(g, opened_all, ["_opened", "_opened_urgent"])
    g = on_grid(g, closed, ["_closed", "_closed_urgent"])
    g = on_grid(g, rated_weekly, ["_rated", "_csat_sum"])
    g = with_running_max(g, ["_last_ticket"])
    g = add_cumulative(
        g, [*counts, *ends, "_opened", "_closed", "_opened_urgent", "_closed_urgent", "_rated", "_csat_sum"]
    )
    g = g.with_columns(
        nw.col(cum("_rated")).cast(nw.Int64).alias("_idx"),
        (nw.col(cum("_rated")).cast(nw.Int64) - 1).alias("_idx_prev"),
    )
    last = ratings.select(
        CLIENT_ID, "_idx", nw.col("_csat").alias("_csat_last"), nw.col(WEEK).alias("_wk_last")
    )
    prev = ratings.select(
        CLIENT_ID,
        nw.col("_idx").alias("_idx_prev"),
        nw.col("_csat").alias("_csat_prev"),
        nw.col(WEEK).alias("_wk_prev"),
    )
    g = g.join(last, on=[CLIENT_ID, "_idx"], how="left").join(prev, on=[CLIENT_ID, "_idx_prev"], how="left")
    g = g.join(has_closes, how="cross")
    # a rating older than the longest window is not the client's satisfaction now (19 months ago: "the last
    # two ratings average 1.5" cited for an account that had left and come back since): unknown
    fresh = max(w for _, w in windows)
    g = g.with_columns(
        nw.when(nw.col(WEEK) - nw.col(f"_wk_{k}") < fresh).then(nw.col(f"_csat_{k}")).alias(f"_csat_{k}")
        for k in ("last", "prev")
    )

    with held_shifts() as held:  # the shifts as columns of their own (_grid.HeldShifts)
        low = cfg.low_csat
        csat_recent = safe_div(window_sum("_csat_sum", base), window_sum("_rated", base))
        csat_before = safe_div(cum_before("_csat_sum", base), cum_before("_rated", base))
        feats: list[nw.Expr] = []
        for d, w in windows:
            feats.append(window_sum("_tickets", w).alias(f"support_tickets_{d}d"))
            feats += [
                window_sum(f"_k_{k}", w).alias(f"support_{name}_{d}d")
                for k, name in _KINDS.items()
                if k != _REQUEST
            ]
            # the requests opened up to this week less those that left the window or were withdrawn by it
            feats.append(
                (nw.col(cum(f"_k_{_REQUEST}")) - nw.col(cum(f"_end_{d}"))).alias(
                    f"support_{_KINDS[_REQUEST]}_{d}d"
                )
            )
        feats += [
            ratio_trend("_tickets", recent, base).alias("support_tickets_ratio"),
            nw.when(nw.col("_has_closes"))
            .then(nw.col(cum("_opened")) - nw.col(cum("_closed")))
            .alias("support_open_tickets"),
            nw.when(nw.col("_has_closes") & nw.col("_has_priority"))
            .then(nw.col(cum("_opened_urgent")) - nw.col(cum("_closed_urgent")))
            .alias("support_open_urgent_tickets"),
            days_since("_last_ticket").alias("support_days_since_ticket"),
            nw.col("_csat_last").alias("support_csat_last"),
            nw.col("_csat_prev").alias("support_csat_prev"),
            nw.when(nw.col("_csat_prev").is_null())
            .then(nw.col("_csat_last"))
            .otherwise((nw.col("_csat_last") + nw.col("_csat_prev")) / 2)
            .alias("support_csat_last2_mean"),
            nw.when(~nw.col("_csat_last").is_null())
            .then(
                _flag((nw.col("_csat_last") <= low).fill_null(False))
                + _flag((nw.col("_csat_prev") <= low).fill_null(False))
            )
            .alias("support_csat_low_last2"),
            (csat_recent - csat_before).alias("support_csat_trend"),
        ]
    return held.on(g).select(CLIENT_ID, WEEK, *feats)


# ---- what each column means (collected by churnml.features.registry; order = column order)
FAMILY = "support"
SCOPE = "tickets, their kinds and ratings"

SPECS: tuple[SpecPattern, ...] = (
    spec(
        "support_tickets_{w}d",
        FAMILY,
        "tickets",
        0,
        "tickets",
        "{value:.0f} support tickets in the last {w} days",
    ),
    spec(
        "support_complaints_{w}d",
        FAMILY,
        "tickets",
        1,
        "complaints",
        "{value:.0f} complaints in the last {w} days",
    ),
    spec(
        "support_discount_requests_{w}d",
        FAMILY,
        "tickets",
        1,
        "discount",
        "{value:.0f} discount requests in the last {w} days",
    ),
    spec(
        "support_cancellation_requests_{w}d",
        FAMILY,
        "tickets",
        1,
        "cancellation",
        "{value:.0f} cancellation requests in the last {w} days, not withdrawn since",
    ),
    spec(
        "support_tickets_ratio",
        FAMILY,
        "ratio",
        0,
        "tickets",
        "Tickets {verb} {pct}% against this client's usual rate (last {recent} days vs the {baseline} "
        "days before)",
        "ratio",
        "trend of tickets",
    ),
    spec("support_open_tickets", FAMILY, "tickets", 1, "tickets", "{value:.0f} tickets still open"),
    spec(
        "support_open_urgent_tickets",
        FAMILY,
        "tickets",
        1,
        "tickets",
        "{value:.0f} urgent tickets still open",
        "count",
        "urgent tickets still open",
    ),
    spec(
        "support_days_since_ticket",
        FAMILY,
        "days",
        0,
        "tickets",
        "Last support ticket {value:.0f} days ago",
        "days",
        "days since the last ticket",
    ),
    spec(
        "support_csat_last",
        FAMILY,
        "CSAT (1-5)",
        -1,
        "csat",
        "The last satisfaction rating was {value:.0f} of 5",
        "score",
        "last satisfaction rating",
    ),
    spec(
        "support_csat_prev",
        FAMILY,
        "CSAT (1-5)",
        -1,
        "csat",
        "The rating before the last was {value:.0f} of 5",
        "score",
        "previous satisfaction rating",
    ),
    spec(
        "support_csat_last2_mean",
        FAMILY,
        "CSAT (1-5)",
        -1,
        "csat",
        "The last two satisfaction ratings average {value:.1f} of 5",
        "score",
        "mean of the last two ratings",
    ),
    spec(
        "support_csat_low_last2",
        FAMILY,
        "ratings",
        1,
        "csat",
        "{value:.0f} of the last two satisfaction ratings were low (at or below {low:g})",
        "count",
        "low ratings among the last two",
    ),
    spec(
        "support_csat_trend",
        FAMILY,
        "CSAT difference",
        -1,
        "csat",
        "Satisfaction {verb} by {abs:.1f} points (last {baseline} days vs all earlier ratings)",
        "diff",
        "trend of satisfaction",
    ),
)
