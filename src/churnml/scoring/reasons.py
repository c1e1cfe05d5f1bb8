"""Why each client of the weekly list is at risk: drivers, family health and why it changed.

:func:`list_reasons` explains the chosen rows of the list (every client by default,
``score.explain_limit`` otherwise, :func:`explained_rows`) with exact TreeSHAP
(:func:`explanations`): the top citable drivers in plain language, the health lost per feature family, and
for clients whose probability or zone moved since last week, why (:func:`changed_previous_rows`, said as
before -> after, :func:`with_probabilities`). A client in its season's pause (``Standing.season_pause``,
:func:`churnml.scoring.rules.season_pauses`) is cited neither the days since its last order or activity nor that
gap against its usual one (its term_state says its season). Unexplained rows are null (:func:`scattered_rows`,
:func:`scattered_values`). Used by :func:`churnml.scoring.assemble.scored_list` and, per client bucket, by
the Spark job (:mod:`churnml.scoring.spark_buckets`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl

from churnml.config import FeaturesConfig, ScoreConfig
from churnml.contract.dataset import Dataset
from churnml.contract.schemas import CLIENT_ID, Subscriptions, Table
from churnml.labels import customer_terms_before
from churnml.modeling.train import feature_matrix
from churnml.scoring.columns import Scores
from churnml.scoring.crm import (
    EARLY_RENEWAL_SHARE,
    MONTHLY_TERM_DAYS,
    PAUSED,
    TERM_AGE,
    TERM_DAYS,
    TRIAL,
    free_after_paid,
    one_term_skips,
    paused_clients,
    renewed_rows,
    running_terms_at,
)
from churnml.scoring.explain import (
    FAMILIES,
    SEAT_USE,
    TENURE,
    USUAL_GAP_RATES,
    age_band_levels,
    change_reasons,
    citable_mask,
    family_health,
    reference_levels,
    registry_catalog,
    top_drivers,
)
from churnml.scoring.playbook import ZONE_RANK
from churnml.scoring.standing import PreviousWeek, Standing

__all__ = [
    "MONTHLY_TERM_DAYS",
    "Citing",
    "Explanation",
    "Reasons",
    "changed_previous_rows",
    "explained_rows",
    "explanations",
    "free_term_days",
    "late_family_days",
    "list_reasons",
    "pause_sentences",
    "paused_rows",
    "running_term_days",
    "running_terms",
    "scattered_rows",
    "scattered_values",
    "short_term_clients",
    "trial_said",
    "with_pauses_said",
    "with_probabilities",
    "with_raising_rules",
    "with_trials_said",
]


def short_term_clients(
    client_ids: Sequence[str],
    as_of: date,
    subscriptions: pl.DataFrame | None,
    max_days: int = MONTHLY_TERM_DAYS,
) -> np.ndarray:
    """Per client, whether its running term is a short (monthly) one: then "the term ends in N days"
    carries no information about the client and is not cited as a driver."""
    return running_term_days(client_ids, as_of, subscriptions) <= max_days


def running_term_days(
    client_ids: Sequence[str], as_of: date, subscriptions: pl.DataFrame | None
) -> np.ndarray:
    """Per client, the length in days of its longest running base term (inf without one,
    :func:`running_terms`): an annual term billed up front leaves months without a payment that say
    nothing about the client."""
    return running_terms(client_ids, as_of, subscriptions)[0]


def running_terms(
    client_ids: Sequence[str], as_of: date, subscriptions: pl.DataFrame | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per client, (the length in days of its longest running base term, the days since that term began),
    both inf without a running term (:func:`churnml.scoring.crm.running_terms_at` at ``as_of``)."""
    none = np.full(len(client_ids), np.inf)
    if subscriptions is None or subscriptions.height == 0:
        return none, none.copy()
    running = running_terms_at(subscriptions, datetime(as_of.year, as_of.month, as_of.day))
    frame = pl.DataFrame({CLIENT_ID: pl.Series(list(client_ids), dtype=pl.String)}).join(
        running, on=CLIENT_ID, how="left", maintain_order="left"
    )

    def days(col: str) -> np.ndarray:
        return frame.get_column(col).cast(pl.Float64).fill_null(np.inf).to_numpy()

    return days(TERM_DAYS), days(TERM_AGE)


def free_term_days(client_ids: Sequence[str], as_of: date, subscriptions: pl.DataFrame | None) -> np.ndarray:
    """Per client, the days before ``as_of`` in which its terms billed nothing: on free running terms only (a
    trial, a free plan, a pause: every running base term at ``mrr`` 0, :func:`running_terms`' terms), the
    days since its last paid term ended, inf when it never had one (a trial that has not paid yet); inf too for a
    client without a running term whose every term was free (a trial ended unpaid: its end says it, "Free trial
    ended 5 days ago without a paid term"); 0 on a paid term, after a paid term lapsed, or without any term. Over
    those days nothing was due, so nothing paid in them is no news about the client ("USD 0 paid in its first 7
    days" of a client 7 days into a free trial, or 19 days old and 5 days after its trial ended)."""
    none = np.zeros(len(client_ids))
    if subscriptions is None or subscriptions.height == 0:
        return none
    cut = datetime(as_of.year, as_of.month, as_of.day)
    terms = customer_terms_before(subscriptions, cut)
    mrr = pl.col(Subscriptions.MRR)
    running = pl.col(Subscriptions.END_DATE) >= cut
    billed = mrr.is_null() | (mrr > 0)  # an empty mrr is an amount not exported, not a free term
    per = (
        terms.group_by(CLIENT_ID)
        .agg(
            running.any().alias("_running"),
            (running & billed).any().alias("_paid_running"),
            billed.any().alias("_ever_billed"),
            pl.col(Subscriptions.END_DATE).filter(mrr > 0).max().alias("_paid_end"),
        )
        .filter((pl.col("_running") & ~pl.col("_paid_running")) | ~pl.col("_ever_billed"))
        .select(
            pl.col(CLIENT_ID).cast(pl.String),
            (pl.lit(cut) - pl.col("_paid_end"))
            .dt.total_days()
            .cast(pl.Float64)
            .fill_null(np.inf)
            .alias("_free"),
        )
    )
    frame = pl.DataFrame({CLIENT_ID: pl.Series(list(client_ids), dtype=pl.String)}).join(
        per, on=CLIENT_ID, how="left", maintain_order="left"
    )
    return frame.get_column("_free").fill_null(0.0).to_numpy()


def explained_rows(zone: Sequence[str], priority: np.ndarray, limit: int | None) -> np.ndarray:
    """Row indices that get drivers: all rows, or the first ``limit`` by zone (red, yellow, green) and
    priority (``score.explain_limit``, for portfolios where even pattern-wise TreeSHAP is too slow)."""
    n = len(zone)
    if limit is None or limit >= n:
        return np.arange(n)
    order = sorted(range(n), key=lambda i: (ZONE_RANK.get(zone[i], len(ZONE_RANK)), int(priority[i])))
    return np.sort(np.asarray(order[:limit], dtype=np.int64))


def scattered_rows(frame: pl.DataFrame, rows: np.ndarray, n: int) -> pl.DataFrame:
    """``frame`` (one row per index in ``rows``) spread over ``n`` rows; the others are null."""
    if len(rows) == n:
        return frame
    keyed = frame.with_columns(pl.Series("_row", rows, dtype=pl.Int64))
    return (
        pl.DataFrame({"_row": np.arange(n, dtype=np.int64)})
        .join(keyed, on="_row", how="left", maintain_order="left")
        .drop("_row")
    )


def scattered_values(values: np.ndarray, rows: np.ndarray, n: int) -> pl.Series:
    out = np.full(n, np.nan)
    out[rows] = values
    return pl.Series(out).fill_nan(None)


def _contributions(model: Any, X: np.ndarray) -> np.ndarray:
    """TreeSHAP contributions of ``X`` (``(0, n_features + 1)`` for no rows, which LightGBM refuses)."""
    if len(X) == 0:
        return np.zeros((0, X.shape[1] + 1))
    return np.asarray(model.contributions(X), dtype=float)


@dataclass(frozen=True)
class Explanation:
    """Drivers, family health and why-changed sentences of the explained rows, in their order."""

    drivers: pl.DataFrame
    family_health: dict[str, np.ndarray]
    why_changed: list[str | None]


@dataclass(frozen=True)
class Citing:
    """What decides which drivers may be cited, and how they are said: the reference levels of this week's
    portfolio, per row of the list whether the running term is a monthly one, and the days of data before
    the list's snapshot (``data_days``: windows longer than that are said over them,
    :class:`churnml.scoring.explain.Describer`; None: not known)."""

    reference: np.ndarray
    monthly: np.ndarray
    data_days: int | None = None
    paused: np.ndarray | None = None  # per row: on free terms after paid ones (a freeze bills nothing)
    term_days: np.ndarray | None = None  # per row: the longest running base term's days (inf: none)
    term_age: np.ndarray | None = None  # per row: the days since that term began (inf: none)
    # per row: the pause said plainly (:func:`pause_sentences`), said instead of its MRR fall; None: not paused
    pause_said: Sequence[str | None] | None = None
    # the days before the list's snapshot of a family's log that began late (:func:`late_family_days`)
    family_days: Mapping[str, int] | None = None
    # per row: the days before the snapshot its terms billed nothing (:func:`free_term_days`; 0: none)
    free_days: np.ndarray | None = None
    # per age band and feature: the typical level of the clients of that age (explain.age_band_levels; None: none)
    age_reference: np.ndarray | None = None
    # per row: in its season's pause (rules.season_pauses): its silence is its season (None: none known)
    season: np.ndarray | None = None


def paused_rows(
    client_ids: Sequence[str],
    as_of: date,
    subscriptions: pl.DataFrame | None,
    grace_days: int = 30,
    renewal_share: float = EARLY_RENEWAL_SHARE,
) -> np.ndarray:
    """Per client, whether it is on a pause (:func:`churnml.scoring.crm.paused_clients`: its running terms
    are all free after paid ones, a freeze or a free plan, with neither a lapse nor a renewal booked; the one
    test of a pause): no payment is then due, and "last payment N days ago" says nothing about the client.
    ``grace_days``: ``label.grace_days``; ``renewal_share``: ``data.early_renewal_share``."""
    if subscriptions is None or subscriptions.height == 0:
        return np.zeros(len(client_ids), dtype=bool)
    paused = paused_clients(subscriptions, as_of, grace_days, renewal_share).get_column(CLIENT_ID)
    return pl.Series(list(client_ids), dtype=pl.String).is_in(paused.implode()).to_numpy()


def pause_sentences(
    client_ids: Sequence[str],
    as_of: date,
    subscriptions: pl.DataFrame | None,
    currency: str = "",
    paused: np.ndarray | None = None,
    grace_days: int = 30,
    renewal_share: float = EARLY_RENEWAL_SHARE,
) -> list[str | None]:
    """Per client, its pause said plainly when it is on a pause (``paused``, per client: term_status's mark of
    :func:`churnml.scoring.crm.paused_clients`; default :func:`paused_rows` at ``grace_days`` and
    ``renewal_share``), else None: "On a pause or a free plan since 2025-10-22: MRR EUR 0, from EUR 45" (the end
    of its last paid term, :func:`churnml.scoring.crm.free_after_paid`, and that term's MRR,
    :func:`churnml.scoring.value.paused_terms_arr`). A pause is no downgrade: its MRR fall is said as the pause,
    not as "MRR fell 100%"; free terms with a lapse or a paid renewal booked are no pause (the one test of a
    pause, as :func:`paused_rows`)."""
    from churnml.features.registry import money
    from churnml.scoring.value import paused_terms_arr

    if subscriptions is None or subscriptions.height == 0:
        return [None] * len(client_ids)
    if paused is None:
        paused = paused_rows(client_ids, as_of, subscriptions, grace_days, renewal_share)
    ids = pl.Series(CLIENT_ID, list(client_ids), dtype=pl.String)
    skips = set(one_term_skips(subscriptions, as_of).get_column(CLIENT_ID).to_list())
    free = free_after_paid(subscriptions, as_of).join(
        paused_terms_arr(ids, as_of, subscriptions), on=CLIENT_ID, how="left"
    )
    said = {
        client: ("Skipping one term" if client in skips else "On a pause or a free plan")
        + f" since {end:%Y-%m-%d}: MRR {money(0, currency)}"
        + ("" if arr is None else f", from {money(arr / 12, currency)}")
        for client, end, arr in free.select(CLIENT_ID, "_paid_end", "_paused_arr").iter_rows()
    }
    return [
        said.get(c) if on_pause else None for c, on_pause in zip(client_ids, paused.tolist(), strict=True)
    ]


_TERM_END = "payments_days_to_term_end"
_SINCE_PAYMENT = "payments_days_since_payment"
# what a freeze causes by itself: no payment since it began, and the money paid falling against the weeks before
# (not cited for a paused client: a coffee subscriber a month on a pause read "Payments fell by about 12% of
# their mean weekly level each week over the last 13 weeks"; the paid and order windows are _PAID_IN_WINDOW's)
_PAYMENT_SILENCE = (
    _SINCE_PAYMENT,
    "payments_gap_ratio",
    "payments_paid_slope",
    "payments_paid_z",
    "payments_paid_ratio",
)
# the falls a lapsed term makes by itself (its MRR and seats gone): the term's end says it once
_GAP_RATIO = "payments_gap_ratio"
_LAPSE_ECHOES = ("payments_mrr_change_91d", "payments_seats_change_91d", "payments_addons_change_91d")
# the changes of the running terms' amounts (MRR, seats, add-ons over a window), every one the registry holds: a
# pause (free terms after paid ones) makes them fall by itself; its MRR fall is said as the pause, the others
# are its echoes
_TERM_CHANGE = re.compile(r"^payments_(mrr|seats|addons)_change_\d+d$")
_MRR_CHANGE = re.compile(r"^payments_mrr_change_\d+d$")
# the client's silence itself: the days since its last order, payment, event or login, and that gap against its
# usual one. No news of a client in its season's pause (rules.season_pauses): a buyer of every spring is silent all
# winter, as its orders were a year earlier (its term_state says so), whatever gap its springs' orders make usual
_SILENCE = (_SINCE_PAYMENT, _GAP_RATIO, *USUAL_GAP_RATES)
# the client's usual gap between payments ("Usually 183 days between payments or orders"): a sign only when its
# payments are due more often than that. A term is billed at least once, so a gap no longer than the running term
# is its billing (a semester paid up front: 183 days; a monthly plan: 30), no news either way; a monthly plan paid
# every 61 days, or a shop's buyer (no term), is still cited
_MEAN_GAP = "payments_mean_gap_days"
# terms of whole months differ by up to 3 days (a 28-day February against 31-day months, 181 against 184 days for
# half-years): a usual gap over terms of the same period exceeds the running one by that much
_CALENDAR_SLACK_DAYS = 3
# payments over a window: nothing paid in it says nothing under a running term longer than the window
# (an annual term billed up front: "EUR 0 paid in the last 182 days")
_PAID_IN_WINDOW = re.compile(r"^payments_(paid|orders)_(\d+)d$")


def quiet_drivers(
    X_now: np.ndarray, part: np.ndarray, names: list[str], citing: Citing
) -> dict[str, np.ndarray] | None:
    """Per feature, the rows (of ``X_now``, this week's rows ``part`` of the list) for which it says nothing
    about the client, so it is never cited (:func:`churnml.scoring.explain.citable_mask`'s ``uninformative``):
    a monthly term's end, a lapsed term's echoes (MRR and seats falling 100%), a pause's silence of payments,
    fall of MRR and use of seats it does not pay for, a season's silence, a payment on the client's own rhythm or within its billing term, an
    amount nothing was due for (a free trial). None when no feature is quiet for any reason."""
    quiet: dict[str, np.ndarray] = {}
    if _TERM_END in names:
        term_end = X_now[:, names.index(_TERM_END)]
        # a monthly term's end says nothing about the client; a lapsed term (negative days) does
        quiet[_TERM_END] = citing.monthly[part] & (term_end >= 0)
        # a lapsed term: "ended 5 days ago", not also "MRR fell 100%", "seats fell 100%"
        lapsed = np.nan_to_num(term_end, nan=0.0) < 0
        quiet |= {name: lapsed for name in _LAPSE_ECHOES if name in names}
    if citing.paused is not None:  # a freeze bills nothing: its silence of payments is no news
        quiet |= {
            name: citing.paused[part]
            for name in names
            if name in _PAYMENT_SILENCE or _PAID_IN_WINDOW.match(name)
        }
        # nor is its fall of MRR, seats and add-ons a downgrade: the MRR fall is said as the pause
        # (:func:`pause_sentences`), the rest not at all
        said_as_pause = citing.pause_said is not None
        quiet |= {
            name: quiet.get(name, False) | citing.paused[part]
            for name in names
            if _TERM_CHANGE.match(name) and not (said_as_pause and _MRR_CHANGE.match(name))
        }
        # nor are its seats paid: "0 distinct users active ..., for 1 paid seat" of a learner on a pause at mrr 0
        # says the pause's own quiet against seats nobody pays for
        quiet |= {
            name: quiet.get(name, False) | citing.paused[part] for name in names if SEAT_USE.match(name)
        }
    if citing.season is not None:  # silent for its season: its silence is no news (in either direction)
        quiet |= {name: quiet.get(name, False) | citing.season[part] for name in names if name in _SILENCE}
    if _SINCE_PAYMENT in names and _GAP_RATIO in names:
        # "last payment 40 days ago" of a client that pays every 60 days is its rhythm, as its gap ratio
        # (0.7, not cited: explain.GOOD_NEWS_CEILINGS) says: not a risk either
        ratio = X_now[:, names.index(_GAP_RATIO)]
        on_rhythm = np.isfinite(ratio) & (np.round(ratio, 1) <= 1.0)
        quiet[_SINCE_PAYMENT] = quiet.get(_SINCE_PAYMENT, False) | on_rhythm
    if citing.term_days is not None:
        term_days = citing.term_days[part]
        quiet |= {
            name: quiet.get(name, False) | (np.isfinite(term_days) & (term_days > int(m.group(2))))
            for name in names
            if (m := _PAID_IN_WINDOW.match(name))
        }
        if _MEAN_GAP in names:  # billed once a term: a usual gap within the term is its billing
            gap = np.round(X_now[:, names.index(_MEAN_GAP)])  # as said, in whole days
            quiet[_MEAN_GAP] = quiet.get(_MEAN_GAP, False) | (
                np.isfinite(term_days) & (gap <= term_days + _CALENDAR_SLACK_DAYS)
            )
        # an annual term paid up front: 267 days without a payment is its rhythm, not a risk
        if _SINCE_PAYMENT in names and citing.term_age is not None:
            since = np.nan_to_num(X_now[:, names.index(_SINCE_PAYMENT)], nan=np.inf)
            # paid for the running term (at its start, or invoiced up to a month before it) and not
            # yet through it: an annual term's rhythm. A renewal never paid is still cited.
            paid_for_it = since <= citing.term_age[part] + MONTHLY_TERM_DAYS
            quiet[_SINCE_PAYMENT] = quiet.get(_SINCE_PAYMENT, False) | (
                np.isfinite(term_days) & (term_days > since) & paid_for_it
            )
    if citing.free_days is not None:
        # nothing was due (a free trial, a free plan): nothing paid over the window, or over the days the
        # client has existed when younger, is certain, no reason ("USD 0 paid in its first 7 days")
        free_days = citing.free_days[part]
        ages = X_now[:, names.index(TENURE)] if TENURE in names else np.full(len(part), np.nan)
        for name in names:
            if m := _PAID_IN_WINDOW.match(name):
                zero = np.nan_to_num(X_now[:, names.index(name)], nan=1.0) <= 0
                certain = zero & (free_days >= np.fmin(float(m.group(2)), ages))
                quiet[name] = quiet.get(name, False) | certain
    return quiet or None


def _quiet_for_change(
    quiet: dict[str, np.ndarray] | None,
    changed: np.ndarray,
    part: np.ndarray,
    names: list[str],
    citing: Citing,
) -> dict[str, np.ndarray] | None:
    """:func:`quiet_drivers` of the rows that have a last week (``changed``), with a paused client's MRR change
    quiet too: before -> after has no pause sentence ("MRR ...: +0% -> -100%" unsaid)."""
    quiet_changed = {k: v[changed] for k, v in quiet.items()} if quiet else None
    if citing.paused is None:
        return quiet_changed
    paused = citing.paused[part][changed]
    return (quiet_changed or {}) | {
        name: (quiet_changed or {}).get(name, False) | paused for name in names if _MRR_CHANGE.match(name)
    }


def _changes_said(
    now: np.ndarray,
    prev: np.ndarray,
    X_now: np.ndarray,
    X_prev: np.ndarray,
    names: list[str],
    specs: Any,
    describe: Any,
    k: int,
    quiet: dict[str, np.ndarray] | None,
    reference: np.ndarray | None,
    probability_move: np.ndarray | None,
) -> list[str]:
    """Why each row's risk moved since last week (:func:`churnml.scoring.explain.change_reasons`), citing as
    raising it only the features that may be (:func:`churnml.scoring.explain.citable_mask` of the ``quiet``
    ones)."""
    return change_reasons(
        now,
        prev,
        X_now,
        names,
        specs,
        describe,
        k,
        feature_values_before=X_prev,
        probability_move=probability_move,
        may_raise=citable_mask(np.ones_like(now), X_now, names, specs, reference, quiet, describe.days_of),
    )


def explanations(
    model: Any,
    values_now: np.ndarray,
    values_prev: np.ndarray,
    rows: np.ndarray,
    prev_row: np.ndarray,
    health: np.ndarray,
    names: list[str],
    features: FeaturesConfig,
    k: int,
    citing: Citing,
    currency: str = "",
    chunk: int = 50_000,
    probability_move: np.ndarray | None = None,
    safe: np.ndarray | None = None,
) -> Explanation:
    """Explain ``values_now[rows]``; where ``prev_row >= 0`` also why it changed since
    ``values_prev[prev_row]`` (said as before -> after).

    Rows go in chunks: this week's rows and the previous week's rows of the chunk share one TreeSHAP
    pass (more rows share decision patterns), and contributions never exist for more than one chunk,
    which bounds the memory on large portfolios. Only citable drivers are named
    (:func:`churnml.scoring.explain.citable_mask`). ``health``, ``probability_move`` (this week's
    probability minus last week's: why-changed numbers in percentage points) and ``safe`` (green: the
    drivers lead with what keeps the risk low) are per row of ``values_now``.
    """
    specs, describe = registry_catalog(features, currency, citing.data_days, citing.family_days)
    drivers: list[pl.DataFrame] = []
    fam: dict[str, list[np.ndarray]] = {f: [] for f in FAMILIES}
    why: list[str | None] = []
    # the drivers' sentences, each said once for every chunk (top_drivers)
    said: dict[tuple[int, int, float], str] = {}
    for start in range(0, max(len(rows), 1), chunk):
        part = rows[start : start + chunk]
        before = prev_row[start : start + chunk]
        changed = np.flatnonzero(before >= 0)
        X_now = values_now[part]
        X = np.vstack([X_now, values_prev[before[changed]]]) if len(changed) else X_now
        contrib = _contributions(model, X)
        now, prev = contrib[: len(part)], contrib[len(part) :]
        quiet = quiet_drivers(X_now, part, names, citing)
        ok = citable_mask(now, X_now, names, specs, citing.reference, quiet, describe.days_of)
        lead_safe = None if safe is None else safe[part]
        chunk_drivers = top_drivers(
            now,
            X_now,
            names,
            specs,
            describe,
            k,
            citable=ok,
            safe=lead_safe,
            reference=citing.reference,
            age_reference=citing.age_reference,
            said=said,
        )
        if citing.pause_said is not None:
            chunk_drivers = with_pauses_said(chunk_drivers, [citing.pause_said[i] for i in part.tolist()], k)
        drivers.append(chunk_drivers)
        for family, values in family_health(now, names, specs, health[part]).items():
            fam[family].append(values)
        reasons: list[str | None] = [None] * len(part)
        if len(changed):
            text = _changes_said(
                now[changed],
                prev,
                X_now[changed],
                values_prev[before[changed]],
                names,
                specs,
                describe,
                k,
                _quiet_for_change(quiet, changed, part, names, citing),
                citing.reference,
                None if probability_move is None else probability_move[part][changed],
            )
            for i, reason in zip(changed.tolist(), text, strict=True):
                reasons[i] = reason
        why += reasons
        del X, X_now, contrib, now, prev
    return Explanation(
        pl.concat(drivers),  # the loop runs at least once, so an empty list still has its columns
        {f: np.concatenate(v) for f, v in fam.items()},
        why,
    )


def late_family_days(dataset: Dataset, as_of: date) -> dict[str, int]:
    """The days before ``as_of`` of each family whose log began late (the usage log:
    :meth:`~churnml.contract.dataset.Dataset.usage_observed_from`; the contact logs of the communication and
    support families: :func:`churnml.features.build.contact_observed_from`; the payments log of the payment
    columns, under :data:`~churnml.features.build.PAYMENTS_LOG`:
    :meth:`~churnml.contract.dataset.Dataset.payments_observed_from`): their features are resolved
    from then, not from the data's first activity, and their sentences say those days (a CRM with a year of
    invoices and 70 days of product events read "26 logins in the last 182 days" for 10 logins). Empty
    when every log begins with the data."""
    from churnml.features.build import CONTACT_FAMILIES, PAYMENTS_LOG, contact_observed_from

    out: dict[str, int] = {}
    usage_from = dataset.usage_observed_from()
    if usage_from is not None:
        out["usage"] = (as_of - usage_from.date()).days
    contact_from = contact_observed_from(dataset)
    if contact_from is not None:
        out |= dict.fromkeys(CONTACT_FAMILIES, (as_of - contact_from.date()).days)
    payments_from = dataset.payments_observed_from()
    if payments_from is not None:
        out[PAYMENTS_LOG] = (as_of - payments_from.date()).days
    return out


def with_pauses_said(drivers: pl.DataFrame, pause_said: Sequence[str | None], k: int) -> pl.DataFrame:
    """``drivers`` (:func:`churnml.scoring.explain.top_drivers`, one row per client) where a paused client's
    driver is its MRR change: the sentence says the pause (``pause_said``, :func:`pause_sentences`) instead of
    "MRR fell 100% over the last 91 days"."""
    said = pl.Series("_pause", list(pause_said), dtype=pl.String)
    if said.null_count() == len(said):
        return drivers
    return drivers.with_columns(
        pl.when(
            pl.col(Scores.driver(i, "feature")).str.contains(_MRR_CHANGE.pattern).fill_null(False)
            & said.is_not_null()
        )
        .then(said)
        .otherwise(pl.col(Scores.driver(i, "sentence")))
        .alias(Scores.driver(i, "sentence"))
        for i in range(1, k + 1)
    )


# a never-paid client's drivers said as its trial's (with_trials_said): its term is a free trial, its seats unpaid
_TRIAL_SAID = (
    (
        re.compile(r"^The last term ended (.+); no new term since$"),
        r"The free trial ended \1; no paid term since",
    ),
    # the seats in their own noun (features.seat_noun: "for 3 paid team desks"), up to the typical client's level
    (re.compile(r"\bfor (\S+) paid ([a-z][a-z ]*?)(?=$| \()"), r"for \1 \2 of its free trial"),
)


def trial_said(sentence: str) -> str:
    """A driver's sentence said of a client that never paid (a free trial or a free plan): "The last term ended 20
    days ago; no new term since" -> "The free trial ended 20 days ago; no paid term since", "..., for 22 paid
    seats" -> "..., for 22 seats of its free trial" (its seats are on a free term: nobody pays for them). Other
    sentences unchanged; the typical client's level ("0.19 active users per paid seat") is the portfolio's."""
    for pattern, said in _TRIAL_SAID:
        sentence = pattern.sub(said, sentence, count=1)
    return sentence


def with_trials_said(drivers: pl.DataFrame, trial: np.ndarray, k: int) -> pl.DataFrame:
    """``drivers`` (one row per client, :func:`churnml.scoring.explain.top_drivers`) with the sentences of the
    clients that never paid (``trial``, per row: term_status's mark of :func:`churnml.scoring.crm.free_trials`)
    said as their trial's (:func:`trial_said`): a trialist read "for 22 paid seats" and "The last term ended 20
    days ago; no new term since" beside its term_state "Free trial ended 20 days ago without a paid term"."""
    if not trial.any():
        return drivers
    mark = pl.Series("_trial", trial, dtype=pl.Boolean)
    return drivers.with_columns(
        pl.when(mark)
        .then(
            pl.col(Scores.driver(i, "sentence")).map_elements(
                trial_said, return_dtype=pl.String, skip_nulls=True
            )
        )
        .otherwise(pl.col(Scores.driver(i, "sentence")))
        .alias(Scores.driver(i, "sentence"))
        for i in range(1, k + 1)
        if Scores.driver(i, "sentence") in drivers.columns
    )


@dataclass(frozen=True)
class Reasons:
    """The explanation columns of the whole list (unexplained rows null): drivers, family health,
    why_changed and the explained flag."""

    drivers: pl.DataFrame
    family_health: dict[str, pl.Series]
    why_changed: list[str | None]
    explained: np.ndarray


def changed_previous_rows(
    ids: Sequence[str],
    chosen: np.ndarray,
    p_now: np.ndarray,
    zone: Sequence[str],
    prev_zone: Sequence[str | None],
    previous: PreviousWeek,
    change_min: float,
) -> np.ndarray:
    """For each chosen row, its row in last week's list, or -1: why-it-changed is told only for clients
    whose probability moved at least ``change_min`` or who changed zone (small wiggles need no story)."""
    prev_pos = {c: i for i, c in enumerate(previous.ids)}
    p_prev = previous.probability
    return np.array(
        [
            prev_pos[ids[i]]
            if ids[i] in prev_pos
            and (abs(p_now[i] - p_prev[prev_pos[ids[i]]]) >= change_min or prev_zone[i] != zone[i])
            else -1
            for i in chosen.tolist()
        ],
        dtype=np.int64,
    )


def list_reasons(
    model: Any,
    dataset: Dataset,
    as_of: date,
    ids: list[str],
    values_now: np.ndarray,
    prev_frame: pl.DataFrame,
    p_now: np.ndarray,
    standing: Standing,
    health: np.ndarray,
    names: list[str],
    features: FeaturesConfig,
    score: ScoreConfig,
    *,
    reference: np.ndarray | None = None,
    age_reference: np.ndarray | None = None,
    chosen: np.ndarray | None = None,
) -> Reasons:
    """Explain the chosen rows (``chosen``, default ``score.explain_limit``'s :func:`explained_rows`) and
    why they changed since last week, citing drivers against ``reference`` and a young client's levels against
    ``age_reference`` (defaults: the levels of ``values_now``, :func:`churnml.scoring.explain.reference_levels`
    and :func:`churnml.scoring.explain.age_band_levels`; a Spark bucket passes the whole portfolio's)."""
    zone, prev_zone, previous = standing.zone, standing.previous_zone, standing.previous
    if chosen is None:
        priority = standing.valued.get_column(Scores.PRIORITY).to_numpy()
        chosen = explained_rows(zone, priority, score.explain_limit)
    prev_row = changed_previous_rows(ids, chosen, p_now, zone, prev_zone, previous, score.change_min)
    values_prev = feature_matrix(prev_frame, names) if (prev_row >= 0).any() else values_now[:0]
    subscriptions = dataset.get(Table.SUBSCRIPTIONS)
    term_days, term_age = running_terms(ids, as_of, subscriptions)
    # on a pause (crm.paused_clients), as term_status marked it with the list's grace and early renewal share
    paused = (
        standing.views.get_column(PAUSED).fill_null(False).to_numpy()
        if PAUSED in standing.views.columns
        else paused_rows(ids, as_of, subscriptions)
    )
    citing = Citing(
        reference
        if reference is not None
        else reference_levels(values_now, names, registry_catalog(features)[0]),
        # a monthly term's end says nothing about the client, nor one whose next term is booked
        (term_days <= MONTHLY_TERM_DAYS) | renewed_rows(standing.views),
        (as_of - dataset.first_activity().date()).days,
        paused,
        term_days,
        term_age,
        pause_sentences(ids, as_of, subscriptions, score.currency, paused),
        late_family_days(dataset, as_of),
        free_term_days(ids, as_of, subscriptions),
        age_reference if reference is not None else age_band_levels(values_now, names),
        # in its season's pause, as the list's term_state says (rules.season_pauses, on a Spark bucket its own)
        standing.season_pause,
    )
    p_before = np.asarray([np.nan if b is None else b for b in standing.previous_probability], dtype=float)
    explanation = explanations(
        model,
        values_now,
        values_prev,
        chosen,
        prev_row,
        health,
        names,
        features,
        score.top_drivers,
        citing,
        score.currency,
        probability_move=np.asarray(p_now, dtype=float) - p_before,
        safe=np.asarray(zone, dtype=object) == "green",
    )
    why: list[str | None] = [None] * len(ids)
    for i, reason in zip(chosen.tolist(), explanation.why_changed, strict=True):
        why[i] = with_probabilities(reason, standing.previous_probability[i], float(p_now[i]))
    why = [
        with_raising_rules(w, r, before, now)
        for w, r, before, now in zip(
            why, standing.raised_by, standing.previous_zone, standing.zone, strict=True
        )
    ]
    explained = np.zeros(len(ids), dtype=bool)
    explained[chosen] = True
    # never paid (crm.free_trials, as term_status marked it): its drivers speak of its trial, not a paid term
    trial = (
        standing.views.get_column(TRIAL).fill_null(False).to_numpy()
        if TRIAL in standing.views.columns
        else np.zeros(len(ids), dtype=bool)
    )
    return Reasons(
        with_trials_said(scattered_rows(explanation.drivers, chosen, len(ids)), trial, score.top_drivers),
        {f: scattered_values(v, chosen, len(ids)) for f, v in explanation.family_health.items()},
        why,
        explained,
    )


def with_raising_rules(why: str | None, raised_by: str, previous_zone: str | None, zone: str) -> str | None:
    """``why_changed`` of a client whose zone a rule moved (a lapsed term, a cancellation request) opens
    with the rule: the model's probability may not have moved at all. Unchanged otherwise."""
    if not raised_by or previous_zone in (None, zone):
        return why
    said = raised_by.replace("_", " ")
    return f"zone raised by the rule {said}" + (f"; {why}" if why else "")


def with_probabilities(reason: str | None, before: float | None, after: float) -> str | None:
    """``why_changed`` opens with the probability before -> after: ``"12% \u2192 31%; risk up: ..."``."""
    if reason is None or before is None:
        return reason
    return f"{_share(before)} \u2192 {_share(after)}; {reason}"


def _share(p: float) -> str:
    """A probability in percent, with a decimal below 10%: ``"0.4%"``, ``"31%"``; never a certainty
    (``"> 99%"``, ``"< 0.1%"``)."""
    if p >= 0.995:
        return "> 99%"
    if p < 0.0005:
        return "< 0.1%"
    return f"{100 * p:.1f}%" if p < 0.1 else f"{100 * p:.0f}%"
