"""What the team's actions achieved: win-back return rates, value after return, A/B tests of variants,
and what became of contacted clients who were still active (observational).

Everything here reads the optional ``interventions`` table with the churn events and the activity data.

- :func:`absences`: one row per absence (a client gone from ``churned_at`` until ``returned_at``, null
  while it stays away; ``left_at``, its departure: under the inactivity rule the last order, the churn being
  decided ``inactivity_days`` later). Churn events of the label source and ``churns`` records that fall in
  the same absence count once, dated by the earliest.
- :func:`winback_attempts`: one row per absence that got at least one intervention while the client was
  gone. Columns: ``client_id``, ``churned_at``, ``left_at`` (the departure, :func:`absences`),
  ``returned_at``, ``first_contact_at``, ``campaign``, ``variant``, ``kind`` (of the first contact),
  ``contacts``, ``stage`` (days from the departure to the first contact, cut by ``winback.stages``, as the
  win-back list's stages), ``reason`` (nearest ``churns`` record, ``unknown`` without one),
  ``returned`` (Boolean: came back by the data end), ``days_to_return`` (first contact to return, whole
  days floored: a return 180 days and 9 hours after the contact is day 180, yet outside a 180-day window),
  ``follow_up_days`` (``winback.follow_up_days``), ``followed_up`` (the first contact was at least that
  many days before the data end), ``returned_within`` (came back within them; null when not followed up),
  ``avg_order_before`` (mean order, :func:`churnml.labels.orders`, placed in the 365 days before the churn),
  ``avg_order_after`` (mean order placed after the return), ``days_to_first_repeat`` (return to the first
  order placed after it; an order is placed at :func:`churnml.labels.order_placed_at`, an invoice on credit
  terms when issued), ``revenue_after_return`` (payments paid after the return, refunds netted).
  A return follows ``label.source`` (``source``: :func:`churnml.labels.returns_after_churns`, the rule of the
  labels, the weekly list and the win-back list): a new term under subscriptions, an order or event under
  inactivity, either under mixed (an order outside every term spell and its grace).
- :func:`return_rates`: attempts, returns and the return rate (with a Wilson interval) per group, and the
  attempts left out as too recent.
- :func:`ab_tests`: per campaign that ran two or more variants (and over all campaigns), each variant
  against the campaign's first variant: return rates, the difference with its confidence interval
  (Newcombe's hybrid score interval: sound on small groups and at rates of 0 or 1), the two-sided p-value
  of Fisher's exact test, and a sentence saying whether the difference is real at that level (the
  interval excludes zero *and* p < 1 - confidence; on small groups the two can disagree, and then it may
  be chance).
- :func:`retention_contacts`: interventions on clients who were active at the time (not gone): whether
  each contacted client churned within the horizon after the contact. Observational: the team contacts
  clients it already sees at risk, so this is no measure of the contact's effect.

Return rates and tests are right-censored: a contact of last week has had no time to show a return. So
they count a return only within ``winback.follow_up_days`` of the first contact and only over the
attempts that have had all of those days (:func:`followed_up`); the others are counted as too recent and
left out, and the page and the test sentences say how many.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import date
from statistics import NormalDist

import polars as pl

from churnml.config import WinbackConfig
from churnml.contract.dataset import Dataset
from churnml.contract.schemas import CLIENT_ID, Churns, Interventions, Payments, Table
from churnml.labels import LEFT_AT, order_placed_at, orders
from churnml.reporting.winback import GRACE_DAYS, UNKNOWN_REASON, absences, stage_labels, with_reasons

__all__ = [
    "ALL_CAMPAIGNS",
    "ab_tests",
    "absences",
    "difference_interval",
    "retention_contacts",
    "return_rate_figure",
    "return_rates",
    "return_rates_by",
    "wilson_interval",
    "winback_attempts",
    "winback_page",
]

ALL_CAMPAIGNS = "all campaigns"
# winback.follow_up_days by default: the days after the first contact in which a return counts
FOLLOW_UP_DAYS: int = WinbackConfig().follow_up_days
CHURNED_AT = Churns.CHURNED_AT
_DT = pl.Datetime("us")
_YEAR = pl.duration(days=365)


def _orders(frame: pl.DataFrame, dataset: Dataset) -> pl.DataFrame:
    cols = ("avg_order_before", "avg_order_after", "days_to_first_repeat", "revenue_after_return")
    payments = dataset.get(Table.PAYMENTS)
    if payments is None:
        return frame.with_columns(pl.lit(None, pl.Float64).alias(c) for c in cols)
    # an order by when it was placed (labels.order_placed_at: an invoice on credit terms when issued), the
    # revenue by when it was paid
    placed = orders(payments).select(
        CLIENT_ID, order_placed_at(payments.columns).alias("_placed"), Payments.AMOUNT
    )
    paid = payments.filter(pl.col(Payments.PAID_AT).is_not_null()).select(
        CLIENT_ID, Payments.PAID_AT, Payments.AMOUNT
    )
    at, amount, churned = pl.col("_placed"), pl.col(Payments.AMOUNT), pl.col(CHURNED_AT)
    after = pl.col("returned_at").is_not_null() & (at >= pl.col("returned_at"))
    keys = frame.select(CLIENT_ID, CHURNED_AT, "returned_at")
    per = (
        keys.join(placed, on=CLIENT_ID)
        .group_by(CLIENT_ID, CHURNED_AT)
        .agg(
            amount.filter((at < churned) & (at >= churned - _YEAR)).mean().alias(cols[0]),
            amount.filter(after).mean().alias(cols[1]),
            (at.filter(after).min() - pl.col("returned_at").first()).dt.total_days().alias(cols[2]),
        )
    )
    back = pl.col("returned_at").is_not_null() & (pl.col(Payments.PAID_AT) >= pl.col("returned_at"))
    revenue = (
        keys.join(paid, on=CLIENT_ID)
        .group_by(CLIENT_ID, CHURNED_AT)
        .agg(amount.filter(back).sum().alias(cols[3]))
    )
    per = per.join(revenue, on=[CLIENT_ID, CHURNED_AT], how="full", coalesce=True)
    return frame.join(per, on=[CLIENT_ID, CHURNED_AT], how="left").with_columns(
        pl.when(pl.col("returned")).then(pl.col(cols[3]).fill_null(0.0)).otherwise(None).alias(cols[3]),
        pl.col(cols[0], cols[1]).round(2),
    )


def winback_attempts(
    dataset: Dataset,
    churns: pl.DataFrame,
    stages: tuple[int, ...],
    grace_days: int = GRACE_DAYS,
    follow_up_days: int = FOLLOW_UP_DAYS,
    source: str = "auto",
) -> pl.DataFrame:
    """One row per absence contacted while the client was gone (columns: module docstring);
    ``follow_up_days`` (``winback.follow_up_days``): the days after the first contact in which a return
    counts for the rates and the tests; ``source`` (``label.source``): the return rule (:func:`absences`)."""
    table = dataset.get(Table.INTERVENTIONS)
    if table is None:  # no table: the same steps on no rows give the empty frame with every column
        table = pl.DataFrame(
            schema={
                CLIENT_ID: pl.String,
                Interventions.TS: _DT,
                Interventions.KIND: pl.String,
                Interventions.CAMPAIGN: pl.String,
                Interventions.VARIANT: pl.String,
            }
        )
    gone = absences(dataset, churns, grace_days, source)
    contacts = (
        gone.join(
            table.select(
                CLIENT_ID,
                pl.col(Interventions.TS).alias("_ts"),
                pl.col(Interventions.CAMPAIGN).alias("campaign"),
                pl.col(Interventions.VARIANT).alias("variant"),
                pl.col(Interventions.KIND).alias("kind"),
            ),
            on=CLIENT_ID,
        )
        .filter(
            (pl.col("_ts") > pl.col(CHURNED_AT))
            & (pl.col("returned_at").is_null() | (pl.col("_ts") < pl.col("returned_at")))
        )
        .sort(CLIENT_ID, CHURNED_AT, "_ts")
        .group_by(CLIENT_ID, CHURNED_AT, maintain_order=True)
        .agg(
            pl.col(LEFT_AT).first(),
            pl.col("returned_at").first(),
            pl.col("_ts").first().alias("first_contact_at"),
            # the campaign and variant of the first contact that belongs to a test, else of the first
            pl.col("campaign").sort_by(pl.col("variant").is_null(), "_ts").first(),
            pl.col("variant").drop_nulls().first(),
            pl.col("kind").first(),
            pl.len().alias("contacts"),
        )
    )
    labels = stage_labels(stages)
    days = (pl.col("first_contact_at") - pl.col(LEFT_AT)).dt.total_days()
    index = pl.lit(len(stages))
    for i in reversed(range(len(stages))):
        index = pl.when(days <= stages[i]).then(pl.lit(i)).otherwise(index)
    attempts = contacts.with_columns(
        index.replace_strict(dict(enumerate(labels)), return_dtype=pl.String).alias("stage"),
        pl.col("returned_at").is_not_null().alias("returned"),
        (pl.col("returned_at") - pl.col("first_contact_at")).dt.total_days().alias("days_to_return"),
        pl.lit(follow_up_days, pl.Int64).alias("follow_up_days"),
        (pl.col("first_contact_at") + pl.duration(days=follow_up_days) <= pl.lit(dataset.as_of, _DT)).alias(
            "followed_up"
        ),
    ).with_columns(
        pl.when(pl.col("followed_up"))
        .then(
            pl.col("returned_at").is_not_null()
            & (pl.col("returned_at") <= pl.col("first_contact_at") + pl.duration(days=follow_up_days))
        )
        .alias("returned_within")
    )
    attempts = with_reasons(attempts, dataset, grace_days).with_columns(
        pl.col(Churns.REASON).fill_null(UNKNOWN_REASON)
    )
    attempts = _orders(attempts, dataset)
    return attempts.sort(CLIENT_ID, CHURNED_AT)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval of a proportion (None, None when ``n`` is 0). It always holds the observed
    rate: at 0 of ``n`` the lower bound is 0 exactly (the float formula gives 3e-17, above the rate,
    which a chart's error bar refused as a negative length)."""
    if n == 0:
        return None, None
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def followed_up(attempts: pl.DataFrame) -> pl.DataFrame:
    """The attempts that have had their whole follow-up window (``followed_up``), ``returned`` being
    ``returned_within`` (a return within ``follow_up_days`` of the first contact): a contact of last
    week has had no time to show a return, and counted as one that failed it would pull every rate down."""
    return attempts.filter(pl.col("followed_up")).with_columns(pl.col("returned_within").alias("returned"))


def return_rates(attempts: pl.DataFrame, by: Sequence[str], confidence: float = 0.95) -> pl.DataFrame:
    """One row per group of ``by``, over the attempts that have had their whole follow-up window
    (:func:`followed_up`): ``attempts``, ``returned`` (within ``follow_up_days`` of the first contact),
    ``return_rate`` with ``rate_low`` / ``rate_high`` (Wilson), ``too_recent`` (attempts left out: less
    than the window so far), ``avg_order_before``, ``avg_order_after`` (of the returned),
    ``median_days_to_first_repeat``, ``avg_revenue_after_return`` (of the returned). A group of recent
    attempts only has 0 attempts and no rate. Sorted by ``by``."""
    keys = list(by)
    recent = attempts.group_by(keys).agg((~pl.col("followed_up")).sum().alias("too_recent"))
    table = (
        followed_up(attempts)
        .group_by(keys)
        .agg(
            pl.len().alias("attempts"),
            pl.col("returned").sum().alias("returned"),
            pl.col("avg_order_before").mean().round(2),
            pl.col("avg_order_after").filter(pl.col("returned")).mean().round(2),
            pl.col("days_to_first_repeat")
            .filter(pl.col("returned"))
            .median()
            .alias("median_days_to_first_repeat"),
            pl.col("revenue_after_return")
            .filter(pl.col("returned"))
            .mean()
            .round(2)
            .alias("avg_revenue_after_return"),
        )
    )
    table = recent.join(table, on=keys, how="left", nulls_equal=True).with_columns(
        pl.col("attempts", "returned").fill_null(0)
    )
    bounds = [
        wilson_interval(r, n, confidence) for r, n in zip(table["returned"], table["attempts"], strict=True)
    ]
    return (
        table.with_columns(
            pl.when(pl.col("attempts") > 0)
            .then(pl.col("returned") / pl.col("attempts"))
            .alias("return_rate"),
            pl.Series("rate_low", [b[0] for b in bounds], dtype=pl.Float64),
            pl.Series("rate_high", [b[1] for b in bounds], dtype=pl.Float64),
        )
        .select(
            *keys,
            "attempts",
            "returned",
            "return_rate",
            "rate_low",
            "rate_high",
            "too_recent",
            "avg_order_before",
            "avg_order_after",
            "median_days_to_first_repeat",
            "avg_revenue_after_return",
        )
        .sort(keys)
    )


def return_rates_by(
    attempts: pl.DataFrame, groupings: Sequence[str], confidence: float = 0.95
) -> pl.DataFrame:
    """:func:`return_rates` for each column of ``groupings`` in one long table: ``by`` (the column),
    ``group`` (its value, as text), then the rate columns. Empty without attempts."""
    parts = [
        return_rates(attempts.filter(pl.col(by).is_not_null()), [by], confidence)
        .rename({by: "group"})
        .with_columns(pl.col("group").cast(pl.String), pl.lit(by).alias("by"))
        for by in groupings
    ]
    if not attempts.height:
        return pl.DataFrame(schema={"by": pl.String, "group": pl.String})
    frame = pl.concat(parts, how="vertical_relaxed")
    return frame.select("by", "group", *[c for c in frame.columns if c not in ("by", "group")])


def difference_interval(ra: int, na: int, rb: int, nb: int, confidence: float = 0.95) -> tuple[float, float]:
    """Interval of ``rb / nb - ra / na`` by Newcombe's hybrid score method (his method 10, built from the
    two Wilson intervals): it keeps its coverage on small groups and at rates of 0 or 1, where the normal
    approximation collapses to a point (1 of 1 against 0 of 4 gave "-100 to -100 points")."""
    if na == 0 or nb == 0:
        raise ValueError("difference_interval: both groups need at least one attempt")
    pa, pb = ra / na, rb / nb
    (la, ua), (lb, ub) = wilson_interval(ra, na, confidence), wilson_interval(rb, nb, confidence)
    if la is None or ua is None or lb is None or ub is None:  # unreachable with na, nb > 0 (for mypy)
        raise ValueError("difference_interval: no Wilson interval")
    diff = pb - pa
    return (
        diff - math.sqrt((pb - lb) ** 2 + (ua - pa) ** 2),
        diff + math.sqrt((ub - pb) ** 2 + (pa - la) ** 2),
    )


def _pair(campaign: str, a: str, na: int, b: str, nb: int) -> dict:
    """The columns that name a comparison: its campaign, its two variants and their followed-up attempts."""
    return {"campaign": campaign, "variant_a": a, "variant_b": b, "attempts_a": na, "attempts_b": nb}


def _too_recent(campaign: str, a: str, na: int, b: str, nb: int, window: int) -> dict:
    """The row of a comparison one of whose variants has no contact with its whole follow-up yet."""
    return {
        **_pair(campaign, a, na, b, nb),
        "sentence": (
            f"{campaign}: {b} against {a}: too recent to compare, {b} has {nb} and {a} {na} contacts with "
            f"{window} days of follow-up so far."
        ),
    }


def _compare(
    campaign: str, a: str, ra: int, na: int, b: str, rb: int, nb: int, confidence: float, window: int
) -> dict:
    from scipy.stats import fisher_exact

    if na == 0 or nb == 0:
        return _too_recent(campaign, a, na, b, nb, window)
    pa, pb = ra / na, rb / nb
    diff = pb - pa
    low, high = difference_interval(ra, na, rb, nb, confidence)
    p_value = float(fisher_exact([[rb, nb - rb], [ra, na - ra]], alternative="two-sided").pvalue)
    # "real" when the interval excludes zero and the exact test agrees (they can differ on small groups)
    real = (low > 0 or high < 0) and p_value < 1 - confidence
    level = f"{confidence:.0%}"
    if real:
        better, worse = (b, a) if diff > 0 else (a, b)
        verdict = (
            f"the difference is real: {better} brings back more clients than {worse} "
            f"(the {level} interval excludes zero, p = {p_value:.3g})"
        )
    else:
        verdict = f"the difference may be chance (p = {p_value:.2g}{_few(na, nb)})"
    sentence = (
        f"{campaign}: {b} brought back {rb} of {nb} ({pb:.1%}), {a} {ra} of {na} ({pa:.1%}) within {window} "
        "days of the first contact; "
        f"difference {100 * diff:+.1f} points ({level} CI {100 * low:+.1f} to {100 * high:+.1f}): {verdict}."
    )
    return {
        **_pair(campaign, a, na, b, nb),
        "rate_a": pa,
        "rate_b": pb,
        "difference": diff,
        "ci_low": low,
        "ci_high": high,
        "p_value": p_value,
        "real": real,
        "sentence": sentence,
    }


def _few(na: int, nb: int, enough: int = 30) -> str:
    """A note when a group is too small for a test to say much."""
    small = min(na, nb)
    clients = "1 client" if small == 1 else f"{small} clients"
    return f"; {clients} in the smaller group: far too few to tell" if small < enough else ""


def ab_tests(attempts: pl.DataFrame, confidence: float = 0.95) -> pl.DataFrame:
    """Each variant against the first variant of its campaign (alphabetical), per campaign with two or
    more variants and over all campaigns (``campaign = "all campaigns"``), on the attempts that have had
    their whole follow-up window (:func:`followed_up`: a return within ``follow_up_days`` of the first
    contact; a recent contact has had no time to show one). Columns: ``campaign``, ``variant_a``,
    ``variant_b``, ``attempts_a``/``_b`` (compared), ``too_recent_a``/``_b`` (left out: less than the
    window so far), ``rate_a``/``_b``, ``difference`` (b - a), ``ci_low``/``ci_high``
    (:func:`difference_interval`), ``p_value`` (Fisher's exact test), ``real`` (the interval excludes 0
    and p < 1 - confidence), ``sentence`` (saying how many were left out). A variant with no attempt
    followed up yet is too recent to compare: its row has no rates."""
    tested = attempts.filter(pl.col("variant").is_not_null())
    window = int(attempts.get_column("follow_up_days").max() or 0) if attempts.height else 0
    per = [
        pl.len().alias("all"),
        pl.col("followed_up").sum().alias("n"),
        pl.col("returned_within").fill_null(False).sum().alias("r"),
    ]
    counts = pl.concat(
        [
            tested.group_by("campaign", "variant").agg(per),
            tested.group_by("variant")
            .agg(per)
            .with_columns(pl.lit(ALL_CAMPAIGNS).alias("campaign"))
            .select("campaign", "variant", "all", "n", "r"),
        ]
    ).with_columns(pl.col("campaign").fill_null("(no campaign)"))
    rows = []
    for (campaign,), group in counts.sort("campaign", "variant").group_by("campaign", maintain_order=True):
        if group.height < 2:
            continue
        base = group.row(0, named=True)
        for other in group.slice(1).iter_rows(named=True):
            row = _compare(
                str(campaign),
                base["variant"],
                int(base["r"]),
                int(base["n"]),
                other["variant"],
                int(other["r"]),
                int(other["n"]),
                confidence,
                window,
            )
            recent_a, recent_b = int(base["all"] - base["n"]), int(other["all"] - other["n"])
            if recent_a + recent_b:
                row["sentence"] += (
                    f" {recent_a + recent_b:,} more contacts ({base['variant']} {recent_a:,}, "
                    f"{other['variant']} {recent_b:,}) have had less than {window} days so far: left out, "
                    "too recent to tell."
                )
            rows.append(row | {"too_recent_a": recent_a, "too_recent_b": recent_b})
    schema = {
        "campaign": pl.String,
        "variant_a": pl.String,
        "variant_b": pl.String,
        "attempts_a": pl.Int64,
        "attempts_b": pl.Int64,
        "too_recent_a": pl.Int64,
        "too_recent_b": pl.Int64,
        "rate_a": pl.Float64,
        "rate_b": pl.Float64,
        "difference": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "p_value": pl.Float64,
        "real": pl.Boolean,
        "sentence": pl.String,
    }
    table = pl.DataFrame([{k: row.get(k) for k in schema} for row in rows], schema=schema)
    return (
        table.with_columns((pl.col("campaign") == ALL_CAMPAIGNS).alias("_all"))
        .sort("_all", "campaign")
        .drop("_all")
    )


def retention_contacts(
    dataset: Dataset,
    churns: pl.DataFrame,
    horizon_days: int,
    grace_days: int = GRACE_DAYS,
    *,
    lag_days: int | None = None,
    source: str = "auto",
) -> pl.DataFrame:
    """Interventions on clients active at the time: one row per contact with ``client_id``, ``ts``,
    ``campaign``, ``kind``, ``outcome``, ``churned_within`` (Boolean: a churn in (ts, ts + horizon]; null
    while it cannot be known: until ts + horizon + ``lag_days``, the label lag
    (:func:`churnml.labels.label_lag_days`: a term that ended within the horizon is a churn only once the
    grace has passed without a renewal), is past the data end; without it, ``grace_days``, the longest lag a
    label has). A contact while the client was gone (:func:`absences`, its return by ``source``,
    ``label.source``) is a win-back attempt, not one of these. Observational, not an effect."""
    table = dataset.get(Table.INTERVENTIONS)
    schema = {
        CLIENT_ID: pl.String,
        "ts": _DT,
        "campaign": pl.String,
        "kind": pl.String,
        "outcome": pl.String,
        "churned_within": pl.Boolean,
    }
    if table is None:
        return pl.DataFrame(schema=schema)
    gone = absences(dataset, churns, grace_days, source)
    contacts = table.select(
        CLIENT_ID,
        pl.col(Interventions.TS).alias("ts"),
        pl.col(Interventions.CAMPAIGN).alias("campaign"),
        pl.col(Interventions.KIND).alias("kind"),
        pl.col(Interventions.OUTCOME).alias("outcome"),
    ).with_row_index("_row")
    during = (
        contacts.join(gone, on=CLIENT_ID)
        .filter(
            (pl.col("ts") > pl.col(CHURNED_AT))
            & (pl.col("returned_at").is_null() | (pl.col("ts") < pl.col("returned_at")))
        )
        .select("_row")
        .unique()
    )
    horizon = pl.duration(days=horizon_days)
    active = contacts.join(during, on="_row", how="anti")
    nxt = (
        active.join(gone.select(CLIENT_ID, CHURNED_AT), on=CLIENT_ID, how="left")
        .group_by("_row")
        .agg(
            (
                (pl.col(CHURNED_AT) > pl.col("ts").first())
                & (pl.col(CHURNED_AT) <= pl.col("ts").first() + horizon)
            )
            .any()
            .alias("_hit")
        )
    )
    lag = pl.duration(days=grace_days if lag_days is None else lag_days)
    known = pl.col("ts") + horizon + lag <= pl.lit(dataset.as_of, _DT)
    return (
        active.join(nxt, on="_row", how="left")
        .with_columns(
            pl.when(pl.col("_hit") | known).then(pl.col("_hit").fill_null(False)).alias("churned_within")
        )
        .sort("_row")
        .select(list(schema))
    )


def return_rate_figure(rates: pl.DataFrame, by: str):  # -> matplotlib.figure.Figure
    """Return rate per group of ``by`` (a :func:`return_rates` table) with its Wilson interval; a group
    with no attempt followed up yet (no rate) is left out."""
    from matplotlib.figure import Figure

    rates = rates.filter(pl.col("return_rate").is_not_null())

    fig = Figure(figsize=(7, 3.2))
    ax = fig.add_subplot()
    labels = [str(v) for v in rates.get_column(by).to_list()]
    rate = [100 * v for v in rates.get_column("return_rate").to_list()]
    low = [max(0.0, r - 100 * v) for r, v in zip(rate, rates.get_column("rate_low").to_list(), strict=True)]
    high = [max(0.0, 100 * v - r) for r, v in zip(rate, rates.get_column("rate_high").to_list(), strict=True)]
    ax.bar(labels, rate, color="#90a4ae", yerr=[low, high], capsize=4)
    ax.set_ylabel("came back, % of attempts")
    ax.set_title(f"Return rate by {by} (bars: 95% interval)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


_PCT = (
    "return_rate",
    "rate_low",
    "rate_high",
    "rate_a",
    "rate_b",
    "difference",
    "ci_low",
    "ci_high",
    "share",
    "return_chance",
)
_PLAN_SHOWN = (
    "priority",
    CLIENT_ID,
    "name",
    "owner",
    "stage",
    "reason_segment",
    "lifetime_value",
    "return_chance",
    "expected_value",
    "decision",
    "decision_reason",
    "action",
)
Section = tuple[str, str, str]  # (anchor, title, html body) of a page section


def _list_section(
    plan: pl.DataFrame, as_of: date, stages: tuple[int, ...], notes: Sequence[str] = ()
) -> Section:
    """Who to bring back: counts per decision, the ``notes`` (each a paragraph), stage x decision, and the head
    of the list; a sentence alone when nobody is gone."""
    from churnml.reporting.pages import table_html

    if not plan.height:
        return ("list", "Who to bring back", f"<p>No client is gone at {as_of}: nobody to bring back.</p>")
    counts = (
        plan.group_by("stage", "decision")
        .len()
        .sort("decision")
        .pivot("decision", index="stage", values="len")
    )
    order = {s: i for i, s in enumerate(stage_labels(stages))}
    counts = counts.sort(pl.col("stage").replace_strict(order, default=99, return_dtype=pl.Int64)).fill_null(
        0
    )
    shown = [c for c in _PLAN_SHOWN if c in plan.columns]
    cadence = plan.filter(pl.col("decision") == "attempt").get_column("cadence")
    return (
        "list",
        "Who to bring back",
        f"<p>{plan.height:,} clients gone at {as_of}: "
        + ", ".join(f"{n:,} {d}" for d, n in plan.group_by("decision").len().sort("decision").iter_rows())
        + ".</p>"
        + "".join(f"<p><b>Note:</b> {html.escape(n)}.</p>" for n in notes)
        + (f"<p>Every attempt: {html.escape(cadence[0])}.</p>" if cadence.len() else "")
        + _rank_paragraph(plan)
        + table_html(counts)
        + _chance_table(plan, stages)
        + table_html(plan.select(shown), max_rows=50, percent=_PCT),
    )


def _rank_paragraph(plan: pl.DataFrame) -> str:
    """How the attempts are ranked, in words (empty for a plan without a return chance)."""
    if "return_chance" not in plan.columns:
        return ""
    basis = plan.filter(pl.col("return_chance").is_null()).get_column("return_chance_basis").drop_nulls()
    unknown = (
        f" {basis.len():,} of the clients have no chance measured ({html.escape(basis[0])}); among the "
        "attempts they come last."
        if basis.len()
        else ""
    )
    return (
        "<p>Priority: attempts by expected value = lifetime value x the chance of a return, measured on the "
        "data's own past absences (of those still gone as many days after leaving, for the same reason, the "
        "share that came back within winback.follow_up_days more; column return_chance_basis); ties by the "
        f"chance of a return, then lifetime value, then the most recently gone.{unknown}</p>"
        + _re_offer_sentence(plan)
    )


def _re_offer_sentence(plan: pl.DataFrame) -> str:
    """How the re-offers (clients that never paid: expired free trials) are ranked, in words; empty without
    any."""
    offers = plan.filter(pl.col("decision") == "re-offer").height
    if not offers:
        return ""
    return (
        f"<p>{offers:,} clients never paid (an expired free trial, a free plan): each is re-offered cheaply, "
        "by its use of the trial (its first paid month, a trial extension with a guided start, or a new trial: "
        "winback.trial_used_share), ranked after the attempts by its days of use in the trial "
        "(trial_active_days), then the most recently gone.</p>"
    )


def _chance_table(plan: pl.DataFrame, stages: tuple[int, ...]) -> str:
    """Per stage of the list: clients and their mean chance of a return, as HTML (empty without it)."""
    from churnml.reporting.pages import table_html

    if "return_chance" not in plan.columns:
        return ""
    order = {s: i for i, s in enumerate(stage_labels(stages))}
    per = (
        plan.group_by("stage")
        .agg(pl.len().alias("clients"), pl.col("return_chance").mean().alias("mean_return_chance"))
        .sort(pl.col("stage").replace_strict(order, default=99, return_dtype=pl.Int64))
    )
    return table_html(per, percent=("mean_return_chance",))


def _measured_sections(attempts: pl.DataFrame, tests: pl.DataFrame, retention: pl.DataFrame) -> list[Section]:
    """What worked (return rates by stage, reason, campaign and variant) and the A/B tests in words; without
    attempts, why there is nothing to measure: every contact was with an active client (``retention``,
    :func:`retention_contacts`: the contacts that are no attempt), or there was none."""
    from churnml.reporting.pages import figure_svg, table_html

    if not attempts.height:
        why = (
            "No client was contacted while gone: "
            + {1: "the one intervention was", 2: "both interventions were"}.get(
                retention.height, f"all {retention.height:,} interventions were"
            )
            + " with active clients (below, under contacts with active clients). No win-back attempt to measure."
            if retention.height
            else "No interventions (no interventions table, or an empty one): nothing to measure."
        )
        return [("measured", "What worked", f"<p>{why}</p>")]
    figs = []
    tables = []
    for by in ("stage", "reason", "campaign", "variant"):
        rates = return_rates(attempts.filter(pl.col(by).is_not_null()), [by])
        tables.append(f"<h3>by {by}</h3>" + table_html(rates, percent=_PCT))
        if by in ("reason", "variant"):
            figs.append(figure_svg(return_rate_figure(rates, by)))
    sentences = "".join(f"<li>{html.escape(s)}</li>" for s in tests.get_column("sentence").to_list())
    return [
        (
            "measured",
            "What worked",
            f"<p>{attempts.height:,} absences were contacted while the client was gone; "
            f"{int(attempts.get_column('returned').sum()):,} came back by the data end. Average order "
            "after return against before, days to the first repeat payment and value after return are "
            "over the clients who came back.</p>"
            + _follow_up_paragraph(attempts)
            + "".join(figs)
            + "".join(tables),
        ),
        (
            "ab",
            "A/B tests",
            (f"<ul>{sentences}</ul>" if sentences else "<p>No campaign ran two variants.</p>")
            + table_html(tests.drop("sentence"), percent=_PCT),
        ),
    ]


def _follow_up_paragraph(attempts: pl.DataFrame) -> str:
    """How the rates and tests count a return: within the follow-up window, over the attempts that have
    had all of it; how many returns came later than the window, how many attempts were left out as too
    recent, and how many of those came back already."""
    window = int(attempts.get_column("follow_up_days").max() or 0)
    recent = attempts.filter(~pl.col("followed_up"))
    text = (
        f"<p>The return rates and the A/B tests count a return within {window} days of the first contact "
        f"(winback.follow_up_days), over the {attempts.height - recent.height:,} attempts that have had all "
        f"{window} days by the data end"
    )
    # not days_to_return > window: it is floored, and a return 180 days and 9 hours after is outside 180 days
    late = attempts.filter(pl.col("returned") & pl.col("followed_up") & ~pl.col("returned_within")).height
    if late:
        text += (
            f"; {late:,} of the {int(attempts.get_column('returned').sum()):,} returns seen came later than "
            f"{window} days after the first contact and are not counted (a longer winback.follow_up_days counts "
            "them, and leaves more recent attempts out)"
        )
    if not recent.height:
        return text + ".</p>"
    since = recent.get_column("first_contact_at").min()
    back = int(recent.get_column("returned").sum())
    return text + (
        f'.</p><p class="warn">{recent.height:,} attempts (first contact on {since:%Y-%m-%d} or later) have '
        f"had less than {window} days and are left out, too recent to tell ({back:,} of them came back "
        "already): counted as failures they would pull every rate down.</p>"
    )


def _retention_sections(retention: pl.DataFrame) -> list[Section]:
    """Contacts with active clients per campaign (observational), none without contacts: ``contacts``,
    ``known`` (whether the client churned within the horizon is known), ``churned`` and their ``share`` of
    the known (empty while none is known)."""
    from churnml.reporting.pages import table_html

    if not retention.height:
        return []
    summary = (
        retention.group_by("campaign")
        .agg(
            pl.len().alias("contacts"),
            pl.col("churned_within").is_not_null().sum().alias("known"),
            pl.col("churned_within").sum().alias("churned"),
        )
        .with_columns(pl.when(pl.col("known") > 0).then(pl.col("churned") / pl.col("known")).alias("share"))
        .sort("campaign")
    )
    return [
        (
            "retention",
            "Contacts with active clients",
            '<p class="warn">Observational: the team contacts the clients it already sees at risk, so '
            "their churn rate after the contact says who was contacted, not what the contact did.</p>"
            + _unknown_outcomes(retention)
            + table_html(summary, percent=_PCT)
            + table_html(retention, max_rows=30),
        )
    ]


def _unknown_outcomes(retention: pl.DataFrame) -> str:
    """How many contacts of ``retention`` (:func:`retention_contacts`) have no known outcome yet (their
    horizon and the label lag have not passed by the data end), as a paragraph; "" when every one is known."""
    unknown = retention.get_column("churned_within").null_count()
    if not unknown:
        return ""
    return (
        f"<p>{unknown:,} of the {retention.height:,} contacts {'is' if unknown == 1 else 'are'} too recent to tell "
        "whether the client churned "
        "within the horizon (it is known once the horizon and the label lag have passed by the data end): the "
        "share is over the known ones, and empty while none is.</p>"
    )


def winback_page(
    plan: pl.DataFrame,
    attempts: pl.DataFrame,
    tests: pl.DataFrame,
    retention: pl.DataFrame,
    as_of: date,
    stages: tuple[int, ...],
    links: Sequence[tuple[str, str]] = (),
    notes: Sequence[str] = (),
) -> str:
    """The win-back page: the list by stage and decision (after it ``notes``, what the list's settings decide:
    :func:`churnml.reporting.winback.value_floor_note`, as the console says them), the attempts list, return
    rates by stage, reason and campaign, the A/B tests in words, and the retention contacts (observational);
    ``links``: the other churnml pages, (label, relative href)."""
    from churnml.reporting.pages import page_html

    sections = [
        _list_section(plan, as_of, stages, notes),
        *_measured_sections(attempts, tests, retention),
        *_retention_sections(retention),
    ]
    return page_html(f"Win-back — {as_of}", "churnml winback", sections, links)
