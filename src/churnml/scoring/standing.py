"""Where each client of the weekly list stands: value, keep flag, fired rules, zones and CRM views.

:func:`client_standing` gives, for this week's listed clients (one entry per client, in the order of
``ids``), their value table (:mod:`churnml.scoring.value`), the keep flag, the fired rules
(:mod:`churnml.scoring.rules`), the model's zone (with hysteresis along the health history, or by
capacity), the zone raised by the rules, last week's zone and probability (:class:`PreviousWeek`, scored
by the same model), the CRM views (:mod:`churnml.scoring.crm`; a client in its season's pause, as
``no_activity`` reads it, :func:`churnml.scoring.rules.season_pauses`, said in its ``term_state``) and who is in
its season's pause (for the reasons). :func:`health_history` is ``history.parquet`` (one row per client x weekly snapshot). Used by :func:`churnml.scoring.assemble.
scored_list` and, per client bucket, by the Spark job (:mod:`churnml.scoring.spark_buckets`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl

from churnml.config import FeaturesConfig, LabelConfig, RulesConfig, ScoreConfig, ValueConfig, ZonesConfig
from churnml.contract.dataset import Dataset
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
from churnml.labels import customer_terms, customer_terms_before
from churnml.scoring.columns import Scores
from churnml.scoring.crm import (
    EARLY_RENEWAL_SHARE,
    last_contact,
    last_data_export,
    last_interaction,
    onboarding_stalled,
    term_facts,
    term_status,
    with_price_rises,
)
from churnml.scoring.explain import health_score
from churnml.scoring.outputs import History
from churnml.scoring.playbook import (
    ZONE_ORDER,
    raised_zones,
    threshold_zone,
    zone_levels,
    zone_thresholds,
)
from churnml.scoring.rules import (
    SEASON_NOTE,
    fired_rules,
    no_activity_flags,
    price_rise_kinds,
    season_pauses,
)
from churnml.scoring.value import (
    annual_recurring_revenue,
    client_plans,
    conversion_arr,
    keep_inputs,
    keep_verdicts,
    stake_arr,
    ticket_window_words,
    value_table,
    zone_priority,
)

__all__ = [
    "CROWDED_RED_SHARE",
    "PreviousWeek",
    "Standing",
    "ZoneHistory",
    "client_standing",
    "crowded_red_note",
    "crowded_watch_note",
    "empty_zones_note",
    "health_history",
    "history_zones",
    "tables_as_they_stood",
    "with_seasons_said",
    "zone_changes",
    "zone_paths",
    "zones",
    "zones_below_churn_rate_note",
    "zones_on",
]


def zones(
    probability: np.ndarray, revenue_at_risk: np.ndarray, client_ids: Sequence[str], cfg: ZonesConfig
) -> list[str]:
    """green / yellow / red per client.

    ``probability`` method: red at or above ``cfg.red``, yellow at or above ``cfg.yellow``, else green.
    ``capacity`` method: the ``red_capacity`` clients with the largest revenue at risk are red, the
    next ``yellow_capacity`` yellow (ties: higher probability, then client_id), the rest green. The list
    passes p x the stake its priority weighs (:func:`churnml.scoring.value.stake_arr`: the ARR, a trial's
    conversion ARR), so that a trial ending unused can be among the red it would be worked among.
    """
    p = np.asarray(probability, dtype=float)
    n = len(p)
    if cfg.method == "probability":
        return [threshold_zone(float(x), cfg) for x in p]
    rar = np.asarray(revenue_at_risk, dtype=float)
    order = sorted(range(n), key=lambda i: (-rar[i], -p[i], client_ids[i]))
    result = ["green"] * n
    for rank, i in enumerate(order):
        if rank < cfg.red_capacity:
            result[i] = "red"
        elif rank < cfg.red_capacity + cfg.yellow_capacity:
            result[i] = "yellow"
    return result


# From this share of the list in red (by the model's probability), red sets no priority: say so.
CROWDED_RED_SHARE = 0.5


def crowded_red_note(
    model_zone: Sequence[str], probability: np.ndarray, cfg: ZonesConfig, churn_rate: float | None
) -> str | None:
    """A sentence when the probability thresholds put at least :data:`CROWDED_RED_SHARE` of the list in
    red by the model's own zone (a business where most active customers leave, e.g. a marketplace where
    few customers ever order twice, above the thresholds it was given): red then sets no priority.
    ``churn_rate``: of the model's training rows (None: not said). None with the capacity method, an
    empty list, or a red zone below that share."""
    n = len(model_zone)
    red = sum(1 for z in model_zone if z == "red")
    if cfg.method != "probability" or n == 0 or red < CROWDED_RED_SHARE * n:
        return None
    median = float(np.median(np.asarray(probability, dtype=float)))
    rate = f"; the model's training rows churned at {churn_rate:.1%}" if churn_rate is not None else ""
    return (
        f"{red:,} of {n:,} clients ({red / n:.0%}) are red: the red threshold (score.zones.red {cfg.red:g}) "
        f"is below most clients' churn probability (median {median:.2f}{rate}), so red sets no priority "
        f"here. Work the list in its order (priority), raise score.zones.yellow and score.zones.red above "
        f"this data's churn rate, or set score.zones.method: capacity (the top {cfg.red_capacity} by revenue "
        f"at risk red, the next {cfg.yellow_capacity} yellow)"
    )


def crowded_watch_note(
    model_zone: Sequence[str], probability: np.ndarray, cfg: ZonesConfig, churn_rate: float | None
) -> str | None:
    """A sentence when red is not crowded but red and yellow together hold at least
    :data:`CROWDED_RED_SHARE` of the list while the yellow threshold sits below the model's training churn
    rate: a consumer product where 29% leave within the horizon, under thresholds set for a B2B book
    (1,820 of 2,344 subscribers yellow). None otherwise, with the capacity method or without the rate."""
    n = len(model_zone)
    if cfg.method != "probability" or n == 0 or churn_rate is None or not 0 < churn_rate < 1:
        return None
    watched = sum(1 for z in model_zone if z in ("red", "yellow"))
    if watched < CROWDED_RED_SHARE * n or cfg.yellow >= churn_rate:
        return None
    yellow, red = zone_thresholds(churn_rate)
    return (
        f"{watched:,} of {n:,} clients ({watched / n:.0%}) are yellow or red: the yellow threshold "
        f"(score.zones.yellow {cfg.yellow:g}) is below the model's training churn rate ({churn_rate:.1%}), so "
        f"yellow sets no priority here. Set the zones nearer this data's churn rate: twice and four times "
        f"its odds of leaving are yellow {yellow:g}, red {red:g}"
    )


def zones_below_churn_rate_note(cfg: ZonesConfig, churn_rate: float | None, horizon_days: int) -> str | None:
    """Train's sentence when the yellow threshold (``score.zones.yellow``, the probability method) is at or below
    the labeled rows' ``churn_rate`` within ``horizon_days``: the typical client of every list will be yellow, so
    yellow sets no priority. A horizon lengthened to reach a renewal raises the rate (a language school whose
    terms all end on 31 January and 31 August: 10.4% of its rows churn within 90 days, 18.2% within 150, and the
    lists of November put 404 of 929 students in yellow, who left at the school's own rate). It names the zones
    :func:`~churnml.scoring.playbook.zone_thresholds` gives (twice and four times the odds of leaving), as the
    lists' notes do. None otherwise, with the capacity method, or without a rate."""
    if cfg.method != "probability" or churn_rate is None or not 0 < churn_rate < 1 or cfg.yellow > churn_rate:
        return None
    yellow, red = zone_thresholds(churn_rate)
    return (
        f"zones: {churn_rate:.1%} of the labeled rows churn within label.horizon_days ({horizon_days}), at or "
        f"above score.zones.yellow {cfg.yellow:g}: the typical client of every list will be yellow, so yellow "
        f"sets no priority. Set the zones nearer this churn rate, twice and four times its odds of leaving: "
        f"score.zones.yellow {yellow:g}, score.zones.red {red:g} (or score.zones.method: capacity), in the "
        "config the weekly job reads"
    )


# the list needs this many clients before "nobody reaches yellow" says something about the thresholds
EMPTY_ZONES_LEAST = 20


def empty_zones_note(
    model_zone: Sequence[str],
    probability: np.ndarray,
    cfg: ZonesConfig,
    churn_rate: float | None,
    horizon_reach: str | None = None,
    zone: Sequence[str] | None = None,
) -> str | None:
    """A sentence when no client of a list of at least :data:`EMPTY_ZONES_LEAST` reaches yellow, or red,
    by the model's own zone: the thresholds sit above every probability (a business where few active
    customers leave within the horizon, under thresholds set for one where many do), so the list looks
    all clear while its order still ranks the risk. A few clients in red and nobody in yellow is the same
    for every other client: a project-management SaaS under a 30-day horizon (3.0% of its training rows
    churning) had one expired trial red at 0.72 and its 210 other accounts green at 0.10 or less, and its lists
    said nothing (twice and four times its odds: yellow 0.06, red 0.11). None with the capacity method, a short
    list, or clients in both red and yellow.

    ``horizon_reach``: the list's :func:`churnml.labels.terms_beyond_horizon_note` (most active clients'
    terms end beyond ``label.horizon_days`` from the list's date), when there is one: then lower thresholds
    are not the advice (schools renewing on 1 September, listed in March under a 90-day horizon: no
    probability can see the renewal), the horizon is, and the sentence says it instead.

    ``zone``: the list's zones after the rules raised some (``Scores.ZONE``): the clients a rule put in the zone
    the model reaches nobody in are counted, so that the sentence is no "no client reaches red" above 2,091
    red clients (a fitness app's lapsed trials, raised by ``term_lapsed``), nor "the list looks all clear"."""
    n = len(model_zone)
    reds = sum(z == "red" for z in model_zone)
    if (
        cfg.method != "probability"
        or n < EMPTY_ZONES_LEAST
        or (reds and any(z == "yellow" for z in model_zone))
    ):
        return None
    others = np.asarray(probability, dtype=float)[[z != "red" for z in model_zone]]
    if others.size == 0:
        return None
    top = float(np.max(others))
    rate = f" and the model's training rows churned at {churn_rate:.1%}" if churn_rate is not None else ""
    suggest = ""
    if churn_rate is not None and 0 < churn_rate < 1:
        yellow, red = zone_thresholds(churn_rate)
        suggest = f" (twice and four times its odds of leaving: yellow {yellow:g}, red {red:g})"
    beyond = f"; lower thresholds would not bring the renewals in: {horizon_reach}" if horizon_reach else ""
    final = list(zone) if zone is not None else list(model_zone)
    if any(z == "yellow" for z in model_zone):  # yellow but no red: red sits above every probability
        advice = beyond or f", or set score.zones.red nearer this data's churn rate{suggest}"
        raised = sum(z == "red" for z in final)
        by = f" by the model's probability ({raised:,} red by the rules)" if raised else ""
        return (
            f"no client of {n:,} reaches red{by} (score.zones.red {cfg.red:g}): the highest churn probability is "
            f"{top:.2f}{rate}, so red sits above every{' other' if raised else ''} client. Work the yellow clients "
            "in their order "
            f"(priority){advice}"
        )
    advice = beyond or (
        f"; set score.zones.yellow and score.zones.red nearer this data's churn rate{suggest}, or "
        f"score.zones.method: capacity (the top {cfg.red_capacity} by revenue at risk red, the next "
        f"{cfg.yellow_capacity} yellow)"
    )
    raised = sum(z in ("yellow", "red") for z in final) - reds
    if reds:  # red by the model, nobody in yellow: yellow sits above every other client
        by = f"; {raised:,} more yellow or red by the rules" if raised else ""
        return (
            f"no client of {n:,} reaches yellow by the model's probability but the {reds:,} in red "
            f"(score.zones.yellow {cfg.yellow:g}{by}): the highest other churn probability is {top:.2f}{rate}, so "
            f"the thresholds sit above every other client. Its order (priority) still ranks the risk{advice}"
        )
    if raised:
        return (
            f"no client of {n:,} reaches yellow by the model's probability ({raised:,} yellow or red by the rules; "
            f"score.zones.yellow {cfg.yellow:g}): the highest churn probability is {top:.2f}{rate}, so the "
            f"thresholds sit above every other client. Its order (priority) still ranks the risk{advice}"
        )
    return (
        f"no client of {n:,} reaches yellow (score.zones.yellow {cfg.yellow:g}): the highest churn probability "
        f"is {top:.2f}{rate}, so the thresholds sit above every client and the list looks all clear. Its order "
        f"(priority) still ranks the risk{advice}"
    )


def zone_changes(previous: Sequence[str | None], current: Sequence[str]) -> tuple[list[str], list[bool]]:
    """(``zone_change``, ``new_in_red``): ``"green->yellow"``, ``"new"`` without a previous zone, ``""``
    when unchanged; new in red = red now and not red (or absent) before."""
    change = [
        "new" if before is None else ("" if before == now else f"{before}->{now}")
        for before, now in zip(previous, current, strict=True)
    ]
    new_red = [now == "red" and before != "red" for before, now in zip(previous, current, strict=True)]
    return change, new_red


@dataclass(frozen=True)
class ZoneHistory:
    """Per client (in the order asked): the model's zone this week and last week with hysteresis, and how
    many times it changed over the history weeks."""

    now: list[str]
    previous: list[str | None]
    changes: list[int]


# zone_paths' column: the client's zone that week
ZONE = "zone"


def zone_paths(history: pl.DataFrame, cfg: ZonesConfig) -> pl.DataFrame:
    """``[client_id, snapshot, zone]``, one row per row of ``history`` (client x snapshot), sorted by client and
    snapshot: the client's zone that week along its weekly probabilities, with the hysteresis of
    :func:`churnml.scoring.playbook.zone_levels` (a week more than 7 days after the one before starts afresh). A
    zone reads only the weeks up to its own, so the zones up to a day are those of the history cut at that day:
    one pass serves this week's zones and last week's (:func:`history_zones`, :func:`zones_on`)."""
    client, snapshot = pl.col(History.CLIENT_ID), pl.col(History.SNAPSHOT)
    rows = history.select(History.CLIENT_ID, History.SNAPSHOT, History.PROBABILITY).sort(
        History.CLIENT_ID, History.SNAPSHOT
    )
    fresh = (client != client.shift(1)).fill_null(True) | ((snapshot - snapshot.shift(1)).dt.total_days() > 7)
    levels = zone_levels(
        rows.get_column(History.PROBABILITY).to_numpy(),
        rows.select(fresh.fill_null(True)).to_series().to_numpy(),
        cfg,
    )
    zone = pl.Series(ZONE, np.asarray(ZONE_ORDER, dtype=object)[levels].tolist(), dtype=pl.String)
    return rows.select(History.CLIENT_ID, History.SNAPSHOT).with_columns(zone)


def history_zones(paths: pl.DataFrame, ids: Sequence[str], prev_date: date) -> ZoneHistory:
    """Per client of ``ids``: its zone at its last snapshot (green without one), the zone at the snapshot before
    when that is ``prev_date`` (else None), and how many times its zone changed, along ``paths``
    (:func:`zone_paths`)."""
    zone, snapshot, client = pl.col(ZONE), pl.col(History.SNAPSHOT), pl.col(History.CLIENT_ID)
    # every row of a client but its first (the paths are sorted by client)
    same = (client == client.shift(1)).fill_null(False)
    steps = paths.select(
        client,
        zone.alias("_now"),
        pl.when(same & (snapshot.shift(1) == prev_date)).then(zone.shift(1)).alias("_prev"),
        # the changes so far along all paths: a client's are those at its last row less those at its first
        (same & (zone != zone.shift(1))).cast(pl.Int64).cum_sum().alias("_changes"),
        (client != client.shift(-1)).fill_null(True).alias("_last"),
    )
    first = steps.filter(~same).get_column("_changes")
    per = steps.filter("_last").with_columns(pl.col("_changes") - first).drop("_last")
    listed = pl.DataFrame({CLIENT_ID: list(ids)}, schema={CLIENT_ID: pl.String}).join(
        per, on=CLIENT_ID, how="left", maintain_order="left"
    )
    return ZoneHistory(
        listed.get_column("_now").fill_null("green").to_list(),
        listed.get_column("_prev").to_list(),
        listed.get_column("_changes").fill_null(0).to_list(),
    )


def zones_on(paths: pl.DataFrame, ids: Sequence[str], day: date) -> list[str]:
    """Per client of ``ids``: its zone at its last snapshot on or before ``day`` along ``paths``
    (:func:`zone_paths`), green without one: the zones a list dated ``day`` showed by the same probabilities."""
    client = pl.col(History.CLIENT_ID)
    last = (
        paths.filter(pl.col(History.SNAPSHOT) <= day)  # sorted by client and snapshot: its client's last row
        .filter((client != client.shift(-1)).fill_null(True))
        .select(client, pl.col(ZONE).alias("_zone"))
    )
    listed = pl.DataFrame({CLIENT_ID: list(ids)}, schema={CLIENT_ID: pl.String}).join(
        last, on=CLIENT_ID, how="left", maintain_order="left"
    )
    return listed.get_column("_zone").fill_null("green").to_list()


@dataclass(frozen=True)
class PreviousWeek:
    """Last week's list, scored by the same model: who was active, its probability and its zone.

    ``ids``: every client on last week's list (active at ``date`` and not gone then), those who have left
    since included: the capacity zones rank last week's revenue at risk among all of them (with only this
    week's clients, a yellow client behind a red one who has since left would read "red last week" and
    not be new in red). This week's clients read their own entry (:meth:`probability_of`, ``zone``)."""

    date: date
    ids: list[str]
    probability: np.ndarray
    zone: dict[str, str]

    def probability_of(self, client: str) -> float | None:
        pos = self._pos.get(client)
        return None if pos is None else float(self.probability[pos])

    @functools.cached_property
    def _pos(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.ids)}


def _previous_zones(
    ids: list[str],
    p_prev: np.ndarray,
    dataset: Dataset,
    prev_date: date,
    cfg: ZonesConfig,
    grace_days: int,
    renewal_share: float = EARLY_RENEWAL_SHARE,
    customer: pl.DataFrame | None = None,
) -> dict[str, str]:
    subscriptions, payments = dataset.get(Table.SUBSCRIPTIONS), dataset.get(Table.PAYMENTS)
    arr = annual_recurring_revenue(
        ids,
        prev_date,
        subscriptions,
        payments,
        grace_days,
        dataset.first_activity(),
        renewal_share,
        dataset.tables[Table.CLIENTS],
        customer,
    ).join(
        client_plans(ids, prev_date, subscriptions, payments, dataset.tables[Table.CLIENTS]),
        on=CLIENT_ID,
        how="left",
        maintain_order="left",
    )
    # last week's stakes as this week's: a trial at its conversion (value.stake_arr)
    stake = stake_arr(arr.with_columns(conversion_arr(arr)))
    return dict(zip(ids, zones(p_prev, p_prev * stake, ids, cfg), strict=True))


def health_history(
    probs: pl.DataFrame, known: pl.DataFrame, reused: set[date], ids: list[str]
) -> pl.DataFrame:
    """``history.parquet``: one row per client of ``ids`` (this week's list) x weekly snapshot
    (``client_id``, ``snapshot``, ``churn_probability``, ``health_score``): this run's scores plus the
    ``reused`` snapshots of ``known`` (last week's file). A client scored only for last week's zones (on
    last week's list, gone since: :class:`PreviousWeek`) is not in it."""
    listed = pl.Series(ids, dtype=pl.String).implode()
    scored = probs.filter(pl.col(History.CLIENT_ID).is_in(listed)).with_columns(
        pl.col(History.PROBABILITY)
        .map_batches(lambda s: pl.Series(health_score(s.to_numpy())), return_dtype=pl.Float64)
        .alias(History.HEALTH)
    )
    if known.height:
        reuse = known.filter(
            pl.col(History.SNAPSHOT).is_in(list(reused)) & pl.col(History.CLIENT_ID).is_in(listed)
        ).select(History.CLIENT_ID, History.SNAPSHOT, History.PROBABILITY, History.HEALTH)
        scored = pl.concat([scored, reuse], how="vertical_relaxed")
    return scored.unique([History.CLIENT_ID, History.SNAPSHOT], keep="first").sort(
        History.CLIENT_ID, History.SNAPSHOT
    )


@dataclass(frozen=True)
class Standing:
    """Where each of this week's clients stands (lists in the order of ``ids``): value, keep flag, rules,
    zones (the model's, raised, last week's), the CRM views and the client's name and owner."""

    valued: pl.DataFrame
    # the keep flag (value.keep_verdicts); None in a Spark bucket's standing, whose clients' stakes are not the
    # list's (a trial at its conversion over the whole list): the driver judges from keep_seeds
    keep: pl.DataFrame | None
    fired: pl.DataFrame
    views: pl.DataFrame
    info: pl.DataFrame
    model_zone: list[str]
    zone: list[str]
    raised_by: list[str]
    zone_changes: list[int | None]
    previous: PreviousWeek
    previous_zone: list[str | None]
    previous_probability: list[float | None]
    # per client: in its season's pause (rules.season_pauses: its silence is its season; the list says so in its
    # term_state, and its explanation cites no days since its last order or activity); None: none known
    season_pause: np.ndarray | None = None
    # per client: its plan (value.client_plans: the product of its latest base term, whether it never paid), which
    # values a trial at its conversion; a Spark bucket ships it so that the driver does so over the whole list
    plans: pl.DataFrame | None = None
    # per client: what its keep flag weighs (value.keep_inputs: its tickets, margin, returns), which a Spark bucket
    # ships so that the driver judges a trial against its conversion over the whole list (value.keep_verdicts)
    keep_seeds: pl.DataFrame | None = None


def client_standing(
    dataset: Dataset,
    ids: list[str],
    p_now: np.ndarray,
    prev: PreviousWeek,
    history: pl.DataFrame,
    as_of: date,
    *,
    label: LabelConfig,
    features: FeaturesConfig,
    score: ScoreConfig,
    value: ValueConfig,
    rules: RulesConfig,
    features_now: pl.DataFrame | None = None,
    features_prev: pl.DataFrame | None = None,
    usage_ratios: tuple[float | None, float | None] = (None, None),
    client_ratios: tuple[pl.DataFrame | None, pl.DataFrame | None] = (None, None),
    early_renewal_share: float = EARLY_RENEWAL_SHARE,
    usage_start: date | None = None,
    judge_keep: bool = True,
    customer: pl.DataFrame | None = None,
) -> Standing:
    """Value, keep flag, fired rules, zones and CRM views of this week's clients (one row per ``ids``);
    ``features_now`` / ``features_prev``: the clients' features this week and last week (``client_id`` +
    columns), for the rules that read them (``usage_drop``). ``usage_ratios``: the whole portfolio's usage
    ratio this week and last week (:func:`churnml.scoring.rules.portfolio_usage_ratio`) when ``ids`` are
    only part of the list (a Spark client bucket); None reads it from ``ids``' features (the whole list).
    ``client_ratios``: each client's usage ratio this week and last week
    (:func:`churnml.scoring.rules.client_usage_ratios` of ``features_now`` / ``features_prev``) when the
    caller already holds them; None computes them here. ``early_renewal_share``: ``data.early_renewal_share``,
    how early a renewal booked ahead may start (:func:`churnml.scoring.crm.booked_terms`), for every reader of
    bookings here: the rules (this week's and last week's), the CRM views and the ARR of a lapsed client.
    ``usage_start``: the day the features' usage windows are observed from
    (:meth:`~churnml.contract.dataset.Dataset.usage_windows_from` of ``dataset``) when the caller already read
    it; None reads it here. ``judge_keep``: False in a Spark bucket, whose ``ids`` are only part of the list: it
    ships what the keep flag weighs (``keep_seeds``) and the driver judges it against the stakes of the whole list
    (``keep`` None here). ``customer``: :func:`churnml.labels.customer_terms` of ``dataset``'s subscriptions when
    the caller holds it (None: read here): read once for every reader of this week's terms here (the ARR, the
    rules, the CRM views, the price rises)."""
    subscriptions = dataset.get(Table.SUBSCRIPTIONS)
    # the day the features' usage windows are observed from (usage_drop reads a scaled window over its days),
    # read before the tables are cut at the list's date, as the features were built
    if usage_start is None:
        usage_start = dataset.usage_windows_from().date()
    if subscriptions is not None and as_of < dataset.as_of.date():
        # a back-dated list: terms starting after its date were not booked then, as far as the data says
        # (it holds no booking date); only the list at the data's own date reads bookings (crm.booked_terms)
        cut = datetime(as_of.year, as_of.month, as_of.day)
        dataset = dataset.with_tables(
            subscriptions=subscriptions.filter(pl.col(Subscriptions.START_DATE) < cut)
        )
        customer = customer_terms_before(subscriptions, cut, customer)
    elif subscriptions is not None and customer is None:
        customer = customer_terms(subscriptions)
    clients = dataset.tables[Table.CLIENTS]
    # each client's product and whether it never paid: a trial is valued at its conversion
    plans = client_plans(
        ids,
        as_of,
        dataset.get(Table.SUBSCRIPTIONS),
        dataset.get(Table.PAYMENTS),
        dataset.tables[Table.CLIENTS],
    )
    arr = annual_recurring_revenue(
        ids,
        as_of,
        dataset.get(Table.SUBSCRIPTIONS),
        dataset.get(Table.PAYMENTS),
        label.grace_days,
        dataset.first_activity(),
        early_renewal_share,
        clients,
        customer,
    ).join(
        plans,
        on=CLIENT_ID,
        how="left",
        maintain_order="left",
    )
    base = pl.DataFrame(
        {CLIENT_ID: ids, Scores.PROBABILITY: p_now},
        schema={CLIENT_ID: pl.String, Scores.PROBABILITY: pl.Float64},
    )
    valued = value_table(base, clients, arr, label.horizon_days, value)
    # the keep flag's per-client counts, then the verdict against each client's stake (a trial's conversion)
    seeds = keep_inputs(
        valued, clients, dataset.get(Table.TICKETS), dataset.get(Table.CHURNS), as_of, value.toxic_days
    )
    keep = (
        keep_verdicts(
            seeds, valued, value, score.currency, ticket_window_words(dataset.start, as_of, value.toxic_days)
        )
        if judge_keep
        else None
    )
    rule_args = {
        "low_csat": features.low_csat,
        "export_events": features.export_events,
        "grace_days": label.grace_days,
        "onboarding": (score.onboarding_min_days, score.onboarding_days, score.onboarding_active_share),
        "data_end": dataset.as_of.date(),
        "early_renewal_share": early_renewal_share,
        "activity_events": label.activity_events,  # what no_activity reads as activity (label.activity_events)
        "currency": score.currency,  # what rules_evidence names amounts in
        "usage_start": usage_start,
    }
    (ratio_now, ratio_prev), (clients_now, clients_prev) = usage_ratios, client_ratios
    # once for the list's column and this week's rule (its evidence reads the weeks)
    stalled = onboarding_stalled(
        ids,
        as_of,
        clients,
        dataset.get(Table.EVENTS),
        min_days=score.onboarding_min_days,
        max_days=score.onboarding_days,
        active_share=score.onboarding_active_share,
        with_weeks=True,
        payments=dataset.get(Table.PAYMENTS),
        subscriptions=dataset.get(Table.SUBSCRIPTIONS),
    )
    # once for this week's no_activity and the season pauses the list says (the same test of the same clients)
    quiet = no_activity_flags(dataset.tables, ids, as_of, rules, label.activity_events)
    # once for this week's term_lapsed, the quiet rules' pause test and the list's term_state (what the terms say)
    listed_terms = dataset.get(Table.SUBSCRIPTIONS)  # as the list reads them (a back-dated list's cut above)
    terms = (
        None
        if listed_terms is None or listed_terms.height == 0
        else term_facts(ids, as_of, listed_terms, label.grace_days, early_renewal_share, customer)
    )
    fired = fired_rules(
        dataset.tables,
        ids,
        as_of,
        history,
        rules,
        **rule_args,
        features=features_now,
        portfolio_ratio=ratio_now,
        ratios=clients_now,
        stalled=stalled,
        no_activity=quiet,
        terms=terms,
        customer=customer,
    )
    # each client's zone path along the history, once for this week's zones and last week's
    paths = zone_paths(history, score.zones) if score.zones.method == "probability" else None
    previous = _with_previous_zones(
        prev,
        dataset,
        history,
        paths,
        score.zones,
        rules,
        {**rule_args, "features": features_prev, "portfolio_ratio": ratio_prev, "ratios": clients_prev},
    )
    if paths is not None:  # the probability method
        stable = history_zones(paths, ids, prev.date)
        model_zone, n_changes = stable.now, list(stable.changes)
    else:
        model_zone = zones(p_now, p_now * stake_arr(valued), ids, score.zones)
        n_changes = [None] * len(ids)
    zone, raised_by = raised_zones(model_zone, fired.get_column(Scores.RULES).to_list(), rules.raise_zone)
    # a client silent for its season, as no_activity reads it: said, and its silence no reason
    pauses = season_pauses(dataset.tables, ids, as_of, rules, label.activity_events, flags=quiet)
    info_cols = [c for c in (Clients.NAME, Clients.OWNER, Clients.SEGMENT) if c in clients.columns]
    info = pl.DataFrame({CLIENT_ID: ids}, schema={CLIENT_ID: pl.String}).join(
        clients.select(CLIENT_ID, *info_cols), on=CLIENT_ID, how="left", maintain_order="left"
    )
    return Standing(
        valued=zone_priority(valued, zone, score.zones, [bool(r) for r in raised_by]),
        keep=keep,
        fired=fired,
        views=with_seasons_said(
            with_price_rises(
                _crm_views(
                    dataset,
                    ids,
                    as_of,
                    label,
                    score,
                    features,
                    stalled.select(CLIENT_ID, Scores.ONBOARDING_STALLED),
                    rules.term_lapsed_days,
                    early_renewal_share,
                    rules.cancellation_days,
                    terms,
                    customer,
                ),
                _price_rise_kinds(
                    dataset, ids, as_of, fired, rules, label.grace_days, early_renewal_share, customer
                ),
                score.renewal_days,
            ),
            pauses,
        ),
        info=info,
        model_zone=model_zone,
        zone=zone,
        raised_by=raised_by,
        zone_changes=n_changes,
        previous=previous,
        previous_zone=[previous.zone.get(c) for c in ids],
        previous_probability=[previous.probability_of(c) for c in ids],
        plans=plans,
        keep_seeds=seeds,
        season_pause=pl.Series(ids, dtype=pl.String).is_in(pauses.get_column(CLIENT_ID).implode()).to_numpy(),
    )


def with_seasons_said(views: pl.DataFrame, pauses: pl.DataFrame) -> pl.DataFrame:
    """``views`` (one row per client, :func:`_crm_views`) where a client in its season's pause (``pauses``:
    :func:`churnml.scoring.rules.season_pauses`) has no term_state of its own, its term_state said as that pause:
    "Silent 249 days: its orders paused 305 days across this day a year ago". The model may still rank it red on
    its spend and orders of the last months; this says the silence is the one it kept a year earlier. A lapse, a
    notice or a return keeps its own state."""
    said = views.select(CLIENT_ID).join(
        pauses.select(CLIENT_ID, SEASON_NOTE), on=CLIENT_ID, how="left", maintain_order="left"
    )
    state = pl.col(Scores.TERM_STATE)
    return views.with_columns(
        pl.when((state.is_null() | (state == "")) & pl.lit(said.get_column(SEASON_NOTE)).is_not_null())
        .then(pl.lit(said.get_column(SEASON_NOTE)))
        .otherwise(state)
        .alias(Scores.TERM_STATE)
    )


def _price_rise_kinds(
    dataset: Dataset,
    ids: list[str],
    as_of: date,
    fired: pl.DataFrame,
    rules: RulesConfig,
    grace_days: int,
    renewal_share: float,
    customer: pl.DataFrame | None = None,
) -> pl.Series:
    """Per client of ``ids``, the kind of price rise ``price_rise`` fired for (:func:`churnml.scoring.rules.
    price_rise_kinds`), read only for the clients it fired for; null elsewhere (and when it is off).
    ``customer``: :func:`churnml.labels.customer_terms` of ``dataset``'s subscriptions when the caller holds it."""
    column = Scores.rule("price_rise")
    if column not in fired.columns or not fired.get_column(column).any():
        return pl.Series([None] * len(ids), dtype=pl.String)
    rising = fired.filter(pl.col(column)).get_column(CLIENT_ID).to_list()
    kinds = price_rise_kinds(
        dataset.tables,
        rising,
        as_of,
        rules,
        grace_days=grace_days,
        early_renewal_share=renewal_share,
        customer=customer,
    )
    by_id = dict(zip(rising, kinds.to_list(), strict=True))
    return pl.Series([by_id.get(c) for c in ids], dtype=pl.String)


# when each table's row begins (tables_as_they_stood): a row that had not begun at a date was not in the data then
_ROW_STARTS: dict[Table, tuple[str, ...]] = {
    Table.SUBSCRIPTIONS: (Subscriptions.START_DATE,),
    Table.PAYMENTS: (Payments.ISSUED_AT, Payments.PAID_AT),  # the invoice, else the payment
    Table.EVENTS: (Events.TS,),
    Table.COMMUNICATIONS: (Communications.TS,),
    Table.TICKETS: (Tickets.OPENED_AT,),
    Table.SIGNALS: (Signals.TS,),
    Table.CHURNS: (Churns.CHURNED_AT,),
    Table.INTERVENTIONS: (Interventions.TS,),
}


def tables_as_they_stood(tables: Mapping[Table, pl.DataFrame], day: date) -> dict[Table, pl.DataFrame]:
    """``tables`` as they stood at 00:00 of ``day``: per table, the rows begun before it (a term's
    ``start_date``, an invoice's ``issued_at`` else its payment's ``paid_at``, a ticket's ``opened_at``, a
    churn's ``churned_at``, the ``ts`` of the other tables); a row without that time is kept, and so is every
    client. What a kept row says of later (an invoice paid, a ticket closed after ``day``) every reader cuts at
    its own date; a row begun later it cannot tell from a booking (a term starting after ``day`` read as a
    renewal booked ahead then)."""
    cut = datetime(day.year, day.month, day.day)
    stood = dict(tables)
    for table, columns in _ROW_STARTS.items():
        frame = tables.get(table)
        present = [pl.col(c) for c in columns if frame is not None and c in frame.columns]
        if frame is not None and present:
            stood[table] = frame.filter((pl.coalesce(present) < cut).fill_null(True))
    return stood


def _with_previous_zones(
    scores: PreviousWeek,
    dataset: Dataset,
    history: pl.DataFrame,
    paths: pl.DataFrame | None,
    cfg: ZonesConfig,
    rules: RulesConfig,
    rule_args: Mapping[str, Any],
) -> PreviousWeek:
    """Last week's list as it was shown: ``scores`` (its probabilities) with the zones with hysteresis
    (or capacity: ranked among every client of ``scores``, :class:`PreviousWeek`), raised by the rules that
    fired then. The zones with hysteresis are read from ``paths`` (:func:`zone_paths` of ``history``, this week's
    included: a zone reads no later week). Both read ``dataset``'s tables as they stood at last week's date (:func:`tables_as_they_stood`,
    as a back-dated list does): with this week's, a renewal started since read as booked then, and last week's
    lapse (red) as green, a zone never shown."""
    ids, p_prev, prev_date = scores.ids, scores.probability, scores.date
    if not ids:
        return replace(scores, zone={})
    dataset = replace(dataset, tables=tables_as_they_stood(dataset.tables, prev_date))
    # only the rules that can raise a zone matter for last week's zone
    raising = tuple(r for r in rules.enabled if r in rules.raise_zone)
    from_paths = cfg.method == "probability" and paths is not None
    # the customer terms of the tables as they stood, once for the capacity zones' ARR and every rule
    stood = dataset.get(Table.SUBSCRIPTIONS)
    customer = None if stood is None or (from_paths and not raising) else customer_terms(stood)
    if from_paths:
        zone = zones_on(paths, ids, prev_date)
    else:
        zone = list(
            _previous_zones(
                ids,
                p_prev,
                dataset,
                prev_date,
                cfg,
                rule_args["grace_days"],
                rule_args["early_renewal_share"],
                customer,
            ).values()
        )
    if raising:
        # once for last week's term_lapsed and the quiet rules' pause test
        terms = (
            term_facts(
                ids, prev_date, stood, rule_args["grace_days"], rule_args["early_renewal_share"], customer
            )
            if "term_lapsed" in raising and stood is not None and stood.height > 0
            else None
        )
        fired = fired_rules(
            dataset.tables,
            ids,
            prev_date,
            history,
            rules.model_copy(update={"enabled": raising}),
            **rule_args,
            terms=terms,
            customer=customer,
        )
        zone, _ = raised_zones(zone, fired.get_column(Scores.RULES).to_list(), rules.raise_zone)
    return replace(scores, zone=dict(zip(ids, zone, strict=True)))


def _crm_views(
    dataset: Dataset,
    ids: list[str],
    as_of: date,
    label: LabelConfig,
    score: ScoreConfig,
    features: FeaturesConfig,
    stalled: pl.DataFrame,
    settle_days: int = 0,
    renewal_share: float = EARLY_RENEWAL_SHARE,
    notice_days: int = 0,
    terms: pl.DataFrame | None = None,
    customer: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The CRM columns of :mod:`churnml.scoring.crm`, one row per client of ``ids``; ``renewal_share``:
    ``data.early_renewal_share``, ``notice_days``: ``rules.cancellation_days`` (a notice that stands said in
    the term_state, :func:`churnml.scoring.crm.term_status`); ``stalled``: ``[client_id, onboarding_stalled]``
    of ``ids`` (:func:`churnml.scoring.crm.onboarding_stalled`, computed once by :func:`client_standing` for
    this column and this week's rule); ``terms``: :func:`churnml.scoring.crm.term_facts` of ``ids`` at ``as_of``
    (under ``label.grace_days`` and ``renewal_share``) when the caller already holds them (None: read here);
    ``customer``: :func:`churnml.labels.customer_terms` of ``dataset``'s subscriptions, likewise."""
    clients = dataset.tables[Table.CLIENTS]
    parts = [
        term_status(
            ids,
            as_of,
            dataset.get(Table.SUBSCRIPTIONS),
            label.grace_days,
            score.renewal_days,
            settle_days,
            dataset.as_of.date(),
            churns=dataset.get(Table.CHURNS),
            tables=dataset.tables,
            renewal_share=renewal_share,
            notice_days=notice_days,
            facts=terms,
            customer=customer,
        ),
        last_interaction(
            ids,
            as_of,
            clients,
            dataset.get(Table.COMMUNICATIONS),
            dataset.get(Table.TICKETS),
            # silent since the contact logs began, when later than the data (invoices back to 2022, the
            # CRM's logs from 2025: "1,793 days silent" for members checking in every week)
            max(filter(None, (dataset.first_activity(), dataset.contact_first()))),
            dataset.get(Table.INTERVENTIONS),
            # an order the client places outside a running term is the client getting in touch (crm.placed_orders)
            payments=dataset.get(Table.PAYMENTS),
            subscriptions=dataset.get(Table.SUBSCRIPTIONS),
        ),
        last_contact(ids, as_of, dataset.get(Table.INTERVENTIONS)),
        stalled,
        last_data_export(ids, as_of, dataset.get(Table.EVENTS), features.export_events),
    ]
    return pl.concat([parts[0], *(p.drop(CLIENT_ID) for p in parts[1:])], how="horizontal")
