"""The win-back planner: which clients that left are worth trying to win back, and in what order.

Grain of :func:`winback_list`: one row per churned client that is not active at the as-of date, about
its latest churn. Columns:

- ``client_id``, and ``name`` / ``owner`` / ``segment`` when the clients table has them;
- ``churned_at`` (Datetime), ``days_since_churn`` (Int64, to the as-of date), ``recency_bucket``
  (``0-30``, ``31-90``, ..., ``>365`` days, from ``winback.recency_buckets``);
- ``reason``: the churns table's reason of the churn row nearest in time to ``churned_at`` (null
  without a churns table or reason);
- ``former_arr``: 12 x MRR of the subscription terms running at the churn (``start < churned_at <=
  end``; null without subscriptions); ``revenue_last_year``: payments in the 365 days before the
  churn, refunds netted (null without payments); ``lifetime_revenue``: all payments before the churn;
  ``value``: the yearly value a win-back would bring back = ``former_arr`` when above 0, else
  ``revenue_last_year``, else 0;
- ``complaints_last_year``: complaint tickets opened in the 365 days before the churn; ``toxic``:
  at least ``winback.toxic_tickets`` of them (let go gracefully, whatever the value);
- ``win_probability`` = ``win_rates[bucket]`` x ``reason_factors[reason]`` (1.0 for a missing or
  unlisted reason), capped at 1;
- ``expected_value`` = win_probability x value x margin x ``value_years`` - ``cost_per_attempt``
  (margin: ``clients.margin``, else the default margin passed in);
- ``action``: ``attempt win-back``, ``let go: toxic history`` or ``skip: costs more than it brings``;
- ``priority``: 1 = the attempt with the highest expected value; null for clients not to attempt.

Sorted by priority (attempts first), then expected value, descending.
"""

from __future__ import annotations

import polars as pl

from churnml.config import WinbackConfig
from churnml.dataset import Dataset
from churnml.schemas import CLIENT_ID, Churns, Clients, Payments, Subscriptions, Table, Tickets

__all__ = ["ACTIONS", "recency_bucket_labels", "winback_list"]

ACTIONS = ("attempt win-back", "let go: toxic history", "skip: costs more than it brings")
CHURNED_AT = Churns.CHURNED_AT
_DT = pl.Datetime("us")
_YEAR = pl.duration(days=365)


def recency_bucket_labels(edges: tuple[int, ...]) -> list[str]:
    """Labels of the buckets cut by ``edges`` (days): ``(30, 90)`` -> ``0-30, 31-90, >90``."""
    lows = [0, *[e + 1 for e in edges]]
    return [f"{lo}-{hi}" for lo, hi in zip(lows, edges, strict=False)] + [f">{edges[-1]}"]


def _latest_churns(churns: pl.DataFrame, active: pl.DataFrame) -> pl.DataFrame:
    return (
        churns.group_by(CLIENT_ID)
        .agg(pl.col(CHURNED_AT).max().cast(_DT))
        .join(active.select(CLIENT_ID).unique(), on=CLIENT_ID, how="anti")
    )


def _with_reason(lost: pl.DataFrame, dataset: Dataset) -> pl.DataFrame:
    table = dataset.get(Table.CHURNS)
    if table is None or Churns.REASON not in table.columns:
        return lost.with_columns(pl.lit(None, pl.String).alias(Churns.REASON))
    reasons = table.select(
        CLIENT_ID, pl.col(Churns.CHURNED_AT).cast(_DT).alias("_reason_at"), Churns.REASON
    ).sort("_reason_at")
    return (
        lost.sort(CHURNED_AT)
        .join_asof(
            reasons,
            left_on=CHURNED_AT,
            right_on="_reason_at",
            by=CLIENT_ID,
            strategy="nearest",
            check_sortedness=False,
        )
        .drop("_reason_at")
    )


def _with_value(lost: pl.DataFrame, dataset: Dataset) -> pl.DataFrame:
    subs = dataset.get(Table.SUBSCRIPTIONS)
    if subs is not None:
        arr = (
            lost.join(
                subs.select(CLIENT_ID, Subscriptions.START_DATE, Subscriptions.END_DATE, Subscriptions.MRR),
                on=CLIENT_ID,
            )
            .filter(
                (pl.col(Subscriptions.START_DATE) < pl.col(CHURNED_AT))
                & (pl.col(CHURNED_AT) <= pl.col(Subscriptions.END_DATE))
            )
            .group_by(CLIENT_ID)
            .agg((pl.col(Subscriptions.MRR).sum() * 12).alias("former_arr"))
        )
        lost = lost.join(arr, on=CLIENT_ID, how="left").with_columns(pl.col("former_arr").fill_null(0.0))
    else:
        lost = lost.with_columns(pl.lit(None, pl.Float64).alias("former_arr"))
    payments = dataset.get(Table.PAYMENTS)
    if payments is not None:
        paid = (
            lost.join(
                payments.filter(pl.col(Payments.PAID_AT).is_not_null()).select(
                    CLIENT_ID, Payments.PAID_AT, Payments.AMOUNT
                ),
                on=CLIENT_ID,
            )
            .filter(pl.col(Payments.PAID_AT) < pl.col(CHURNED_AT))
            .group_by(CLIENT_ID)
            .agg(
                pl.col(Payments.AMOUNT)
                .filter(pl.col(Payments.PAID_AT) >= pl.col(CHURNED_AT) - _YEAR)
                .sum()
                .alias("revenue_last_year"),
                pl.col(Payments.AMOUNT).sum().alias("lifetime_revenue"),
            )
        )
        lost = lost.join(paid, on=CLIENT_ID, how="left").with_columns(
            pl.col("revenue_last_year", "lifetime_revenue").fill_null(0.0)
        )
    else:
        lost = lost.with_columns(
            pl.lit(None, pl.Float64).alias("revenue_last_year"),
            pl.lit(None, pl.Float64).alias("lifetime_revenue"),
        )
    return lost.with_columns(
        pl.when(pl.col("former_arr") > 0)
        .then(pl.col("former_arr"))
        .otherwise(pl.col("revenue_last_year"))
        .fill_null(0.0)
        .clip(lower_bound=0)
        .alias("value")
    )


def _with_complaints(lost: pl.DataFrame, dataset: Dataset, toxic_tickets: int) -> pl.DataFrame:
    tickets = dataset.get(Table.TICKETS)
    if tickets is None or Tickets.KIND not in tickets.columns:
        lost = lost.with_columns(pl.lit(0, pl.UInt32).alias("complaints_last_year"))
    else:
        complaints = (
            lost.join(
                tickets.filter(pl.col(Tickets.KIND) == "complaint").select(CLIENT_ID, Tickets.OPENED_AT),
                on=CLIENT_ID,
            )
            .filter(
                (pl.col(Tickets.OPENED_AT) < pl.col(CHURNED_AT))
                & (pl.col(Tickets.OPENED_AT) >= pl.col(CHURNED_AT) - _YEAR)
            )
            .group_by(CLIENT_ID)
            .agg(pl.len().alias("complaints_last_year"))
        )
        lost = lost.join(complaints, on=CLIENT_ID, how="left").with_columns(
            pl.col("complaints_last_year").fill_null(0).cast(pl.UInt32)
        )
    return lost.with_columns((pl.col("complaints_last_year") >= toxic_tickets).alias("toxic"))


def winback_list(
    dataset: Dataset,
    churns: pl.DataFrame,
    active: pl.DataFrame,
    cfg: WinbackConfig,
    default_margin: float,
) -> pl.DataFrame:
    """The prioritised win-back list (see the module docstring for columns and rules).

    ``churns``: churn events (``client_id``, ``churned_at``; e.g. ``labels.churn_dates``). ``active``:
    clients active at the as-of date (``client_id``; e.g. ``labels.active_spine`` at it); they are
    left out. Days since churn are counted to ``dataset.as_of``.
    """
    lost = _latest_churns(churns, active)
    clients = dataset.tables[Table.CLIENTS]
    extra = [c for c in (Clients.NAME, Clients.OWNER, Clients.SEGMENT) if c in clients.columns]
    margin = (
        pl.col(Clients.MARGIN).cast(pl.Float64).fill_null(default_margin)
        if Clients.MARGIN in clients.columns
        else pl.lit(default_margin)
    )
    lost = lost.join(clients.select(CLIENT_ID, *extra, margin.alias("_margin")), on=CLIENT_ID, how="left")
    lost = _with_reason(lost, dataset)
    lost = _with_value(lost, dataset)
    lost = _with_complaints(lost, dataset, cfg.toxic_tickets)

    edges = cfg.recency_buckets
    labels = recency_bucket_labels(edges)
    days = (pl.lit(dataset.as_of, _DT) - pl.col(CHURNED_AT)).dt.total_days()
    index = pl.lit(len(edges))
    for i in reversed(range(len(edges))):
        index = pl.when(pl.col("days_since_churn") <= edges[i]).then(pl.lit(i)).otherwise(index)
    factors = {str(k): float(v) for k, v in cfg.reason_factors.items()}
    reason_factor = (
        pl.col(Churns.REASON).replace_strict(factors, default=1.0, return_dtype=pl.Float64).fill_null(1.0)
        if factors
        else pl.lit(1.0)
    )
    lost = (
        lost.with_columns(days.alias("days_since_churn"))
        .with_columns(index.alias("_bucket"))
        .with_columns(
            pl.col("_bucket")
            .replace_strict(dict(enumerate(labels)), return_dtype=pl.String)
            .alias("recency_bucket"),
            (
                pl.col("_bucket").replace_strict(dict(enumerate(cfg.win_rates)), return_dtype=pl.Float64)
                * reason_factor
            )
            .clip(0.0, 1.0)
            .alias("win_probability"),
        )
        .with_columns(
            (
                pl.col("win_probability") * pl.col("value") * pl.col("_margin") * cfg.value_years
                - cfg.cost_per_attempt
            )
            .round(2)
            .alias("expected_value")
        )
        .with_columns(
            pl.when(pl.col("toxic"))
            .then(pl.lit(ACTIONS[1]))
            .when(pl.col("expected_value") <= 0)
            .then(pl.lit(ACTIONS[2]))
            .otherwise(pl.lit(ACTIONS[0]))
            .alias("action")
        )
    )
    attempt = pl.col("action") == ACTIONS[0]
    lost = lost.sort(CLIENT_ID).with_columns(
        pl.when(attempt)
        .then(pl.col("expected_value").rank("ordinal", descending=True).over(attempt))
        .cast(pl.UInt32)
        .alias("priority")
    )
    columns = [
        CLIENT_ID,
        *extra,
        CHURNED_AT,
        "days_since_churn",
        "recency_bucket",
        Churns.REASON,
        "former_arr",
        "revenue_last_year",
        "lifetime_revenue",
        "value",
        "complaints_last_year",
        "toxic",
        "win_probability",
        "expected_value",
        "action",
        "priority",
    ]
    return lost.sort(
        ["priority", "expected_value", CLIENT_ID], descending=[False, True, False], nulls_last=True
    ).select(columns)
