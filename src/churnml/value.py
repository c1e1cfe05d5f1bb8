"""What a client is worth: ARR, lifetime value, value tiers, revenue at risk and the priority rank.

Grain: one row per client at one as-of date. Every function is pure (frames and numbers in, a new
frame or array out) and uses only data strictly before the as-of date.

Definitions (the figures an account manager sees):

- ``arr``: annual recurring revenue. With subscriptions: 12 x the summed ``mrr`` of the terms that
  are running at the as-of date (started before it, scheduled to end on or after it; add-ons count).
  A client with no running term (or a dataset without subscriptions) gets the trailing 12 months of
  paid amounts instead (refunds, as negative amounts, are netted; unpaid invoices do not count).
- ``lifetime_value`` = margin x ARR x expected remaining lifetime in years. The lifetime comes from
  the model's own hazard: the churn probability ``p`` over ``horizon_days`` implies a constant annual
  hazard ``h = -ln(1 - p) * 365.25 / horizon_days``; the expected remaining lifetime under a constant
  hazard is ``1 / h`` years, capped at ``value.max_lifetime_years``. The margin is ``clients.margin``
  or ``value.default_margin``.
- ``revenue_at_risk`` = ``p`` x ARR: the expected ARR lost within the horizon.
- ``value_tier``: A = the top ``tier_a_share`` of clients by lifetime value, or strategic at or above
  ``tier_a_strategic``; B = the next clients up to ``tier_b_share`` (a cumulative share); the rest C.
- ``priority``: 1 = act first. Clients are sorted by expected loss (revenue at risk), then by
  probability, strategic weight and client_id so the order is total and reproducible.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from churnml.config import ValueConfig
from churnml.outputs import Scores
from churnml.schemas import CLIENT_ID, Clients, Payments, Subscriptions

__all__ = [
    "ARR",
    "LIFETIME_VALUE",
    "PRIORITY",
    "REVENUE_AT_RISK",
    "STRATEGIC",
    "VALUE_TIER",
    "annual_hazard",
    "annual_recurring_revenue",
    "expected_lifetime_years",
    "priority_rank",
    "value_table",
    "value_tiers",
]

ARR = Scores.ARR
LIFETIME_VALUE = Scores.LIFETIME_VALUE
REVENUE_AT_RISK = Scores.REVENUE_AT_RISK
STRATEGIC = Scores.STRATEGIC
VALUE_TIER = Scores.VALUE_TIER
PRIORITY = Scores.PRIORITY

_DAYS_PER_YEAR = 365.25
_P_FLOOR = 1e-9


def _midnight(day: date | datetime) -> datetime:
    return datetime(day.year, day.month, day.day)


def annual_recurring_revenue(
    clients: pl.Series | list[str],
    as_of: date,
    subscriptions: pl.DataFrame | None,
    payments: pl.DataFrame | None,
) -> pl.DataFrame:
    """``[client_id, arr]`` for the given clients at ``as_of`` (see the module docstring).

    Clients with neither a running term nor payments in the last 12 months get ``arr = 0``.
    """
    cut = _midnight(as_of)
    ids = pl.DataFrame({CLIENT_ID: pl.Series(list(clients), dtype=pl.String)})
    from_subs = pl.DataFrame(schema={CLIENT_ID: pl.String, "sub_arr": pl.Float64})
    if subscriptions is not None and subscriptions.height:
        from_subs = (
            subscriptions.filter(
                (pl.col(Subscriptions.START_DATE) < cut) & (pl.col(Subscriptions.END_DATE) >= cut)
            )
            .group_by(CLIENT_ID)
            .agg((pl.col(Subscriptions.MRR).sum() * 12.0).cast(pl.Float64).alias("sub_arr"))
        )
    from_pay = pl.DataFrame(schema={CLIENT_ID: pl.String, "pay_arr": pl.Float64})
    if payments is not None and payments.height:
        start = cut - timedelta(days=365)
        from_pay = (
            payments.filter(
                pl.col(Payments.PAID_AT).is_not_null()
                & (pl.col(Payments.PAID_AT) >= start)
                & (pl.col(Payments.PAID_AT) < cut)
            )
            .group_by(CLIENT_ID)
            .agg(pl.col(Payments.AMOUNT).sum().cast(pl.Float64).alias("pay_arr"))
        )
    return (
        ids.join(from_subs, on=CLIENT_ID, how="left")
        .join(from_pay, on=CLIENT_ID, how="left")
        .select(
            CLIENT_ID,
            pl.coalesce("sub_arr", pl.col("pay_arr").clip(lower_bound=0.0), pl.lit(0.0)).alias(ARR),
        )
    )


def annual_hazard(probability: np.ndarray, horizon_days: int) -> np.ndarray:
    """Constant annual hazard implied by a churn probability over ``horizon_days``."""
    p = np.clip(np.asarray(probability, dtype=float), _P_FLOOR, 1 - _P_FLOOR)
    return -np.log1p(-p) * _DAYS_PER_YEAR / horizon_days


def expected_lifetime_years(probability: np.ndarray, horizon_days: int, max_years: float) -> np.ndarray:
    """Expected remaining lifetime ``min(1 / hazard, max_years)`` in years (module docstring)."""
    return np.minimum(1.0 / annual_hazard(probability, horizon_days), max_years)


def value_tiers(
    lifetime_value: np.ndarray, strategic: np.ndarray, client_ids: list[str], cfg: ValueConfig
) -> list[str]:
    """A/B/C per client (module docstring); ties in lifetime value are broken by client_id."""
    n = len(client_ids)
    if n == 0:
        return []
    ltv = np.asarray(lifetime_value, dtype=float)
    order = sorted(range(n), key=lambda i: (-ltv[i], client_ids[i]))
    rank = np.empty(n, dtype=np.int64)
    rank[np.asarray(order)] = np.arange(1, n + 1)
    a_cut = math.ceil(cfg.tier_a_share * n - 1e-9)
    b_cut = max(a_cut, math.ceil(cfg.tier_b_share * n - 1e-9))
    strat = np.asarray(strategic, dtype=float)
    tiers = np.where(rank <= b_cut, "B", "C").astype(object)
    tiers[(rank <= a_cut) | (strat >= cfg.tier_a_strategic)] = "A"
    return [str(t) for t in tiers]


def priority_rank(
    revenue_at_risk: np.ndarray, probability: np.ndarray, strategic: np.ndarray, client_ids: list[str]
) -> np.ndarray:
    """1..n, 1 = the largest expected loss; ties: higher probability, higher strategic, client_id."""
    n = len(client_ids)
    rar = np.asarray(revenue_at_risk, dtype=float)
    p = np.asarray(probability, dtype=float)
    s = np.asarray(strategic, dtype=float)
    order = sorted(range(n), key=lambda i: (-rar[i], -p[i], -s[i], client_ids[i]))
    rank = np.empty(n, dtype=np.int64)
    if n:
        rank[np.asarray(order)] = np.arange(1, n + 1)
    return rank


def value_table(
    scored: pl.DataFrame,
    clients: pl.DataFrame,
    arr: pl.DataFrame,
    horizon_days: int,
    cfg: ValueConfig,
) -> pl.DataFrame:
    """``scored`` ([client_id, churn_probability, ...]) with the value columns added.

    Adds ``arr``, ``lifetime_value``, ``strategic``, ``value_tier``, ``revenue_at_risk`` and
    ``priority``; row order is kept. ``arr`` is the output of :func:`annual_recurring_revenue`.
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
    ltv = margin * arr_v * expected_lifetime_years(p, horizon_days, cfg.max_lifetime_years)
    rar = p * arr_v
    return scored.with_columns(
        pl.Series(ARR, arr_v),
        pl.Series(LIFETIME_VALUE, ltv),
        pl.Series(STRATEGIC, strategic, dtype=pl.Int64),
        pl.Series(VALUE_TIER, value_tiers(ltv, strategic, ids, cfg), dtype=pl.String),
        pl.Series(REVENUE_AT_RISK, rar),
        pl.Series(PRIORITY, priority_rank(rar, p, strategic, ids), dtype=pl.Int64),
    )
