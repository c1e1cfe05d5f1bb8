"""The weekly batch predictor: as-of features -> champion model -> the scored list.

:func:`scored_list` turns a validated dataset, an as-of date and a fitted model into the list the
account managers act on. Output grain: one row per client active at the as-of date (the same
definition as the training labels; a client with a churn record and no return since is never on it,
:func:`gone_clients`), sorted by ``priority`` (1 = act first). Columns (names in
:class:`churnml.scoring.columns.Scores`):

- identity: ``client_id``, ``as_of``, ``name``, ``owner``, ``segment`` (when the clients table has them);
- risk: ``churn_probability`` (calibrated, within ``label.horizon_days``), ``health_score`` (``100 x
  (1 - p)``, see :mod:`churnml.scoring.explain`), ``health_<family>`` (where the health is lost, per family);
- zones: ``model_zone`` (green / yellow / red from the probability along the client's weekly history,
  with hysteresis: :func:`churnml.scoring.playbook.zone_path`; or the capacity method), ``zone`` (the model's
  zone raised by fired rules, ``rules.raise_zone``), ``zone_raised_by``, ``zone_changes`` (changes of
  the model zone over the history weeks);
- change since the previous list: ``previous_probability``, ``probability_change``, ``previous_zone``,
  ``zone_change`` (``"green->yellow"``; ``"new"`` for a client not active a week earlier; empty when
  unchanged), ``new_in_red``, ``why_changed`` (the probability and the drivers of the change, each as
  before -> after with its share of the move in percentage points). The previous list is the previous week's snapshot scored by the *same* model
  (:class:`PreviousWeek`), so a model promotion never shows up as a change in the clients;
- value (:mod:`churnml.scoring.value`): ``arr``, ``conversion_arr`` (a client that never paid: the ARR it would
  bring on conversion, never in ``arr`` nor ``revenue_at_risk``), ``lifetime_value`` (the value of keeping the
  client, apart from its risk), ``strategic``, ``value_tier``, ``revenue_at_risk`` (p x ARR), ``priority`` (zone
  first; a trial by p x its ``conversion_arr``),
  ``not_worth_keeping`` and ``not_worth_keeping_reason``;
- the term and the CRM views (:mod:`churnml.scoring.crm`): ``term_state``, ``in_grace``, ``renewal_date``,
  ``renewal_due_days``, ``renewal_value``, ``renewal_due``, ``last_interaction``, ``days_silent``,
  ``onboarding_stalled``, ``last_data_export``;
- reasons: ``driver_<i>_{feature,family,direction,sentence,contribution}`` for the top
  ``score.top_drivers`` drivers (:func:`churnml.scoring.explain.top_drivers`; only drivers that may be cited,
  :func:`churnml.scoring.explain.citable_mask`), and ``explained``. Every client is explained by default: exact
  TreeSHAP is computed once per decision pattern of each tree (:mod:`churnml.modeling.treeshap`), a few
  seconds for 100,000 clients. ``score.explain_limit`` (default: no limit) can still cap the clients
  explained to the first N by zone (red, yellow, green) then priority; unexplained rows have empty
  drivers, family health and ``why_changed``;
- rules (:mod:`churnml.scoring.rules`): ``rule_<name>`` booleans, ``rules_fired`` and ``rules_evidence``
  (what a fired rule saw for the client, where it says it); said once for the list, not per row
  (:class:`ScoredList`): the mailings ``unanswered_outreach`` skipped (``mailings``,
  :func:`churnml.scoring.rules.mailings_note`) and a portfolio-wide usage dip (``usage_dip``);
- action (:func:`recommended_plays`): ``action`` (from the grace state, the keep flag, the first fired
  rule, the leading driver family or a renewal due; ``playbooks``), ``action_role`` (sales, service,
  success, finance, management), ``action_basis``, ``acts`` (the owner), ``escalation``
  (``playbooks.escalation_role`` for the zones and value tiers of ``playbooks.escalate``, else empty).

The health history (``history.parquet``: one row per client x weekly snapshot over the last
``score.history_weeks`` weeks, the as-of date included) is scored by the same model, so the
"health dropped" rule, the zone hysteresis and the report's sparklines work from the first run.
Snapshots already present in ``known_history`` (last week's file, same model and config) are not
scored again.

The steps live beside this module: :mod:`churnml.scoring.standing` (value, keep flag, rules, zones, CRM
views, the health history) and :mod:`churnml.scoring.reasons` (drivers, family health, why changed); this
module runs them for a dataset, puts the list together (:func:`assembled_list`, :func:`list_plays`) and
writes its record (:func:`list_manifest`). The Spark job runs the same steps per client bucket
(:mod:`churnml.scoring.spark_buckets`).

Only data strictly before the as-of date is used: features come from the shared feature code
(``snapshot == as_of``), ARR, rules and CRM views cut their tables at the as-of date.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from churnml.config import FeaturesConfig, LabelConfig, PlaybooksConfig, RulesConfig, ScoreConfig, ValueConfig
from churnml.contract.dataset import Dataset
from churnml.contract.schemas import (
    CLIENT_ID,
    CONTRACT,
    SNAPSHOT,
    Churns,
    Clients,
    Subscriptions,
    Table,
)
from churnml.labels import customer_terms
from churnml.modeling.train import feature_matrix
from churnml.scoring.columns import Scores
from churnml.scoring.crm import EARLY_RENEWAL_SHARE, PAUSE_DUE, PAUSED, PLAY_FACTS, SKIP, TRIAL, renewed_rows
from churnml.scoring.explain import FAMILIES, RAISES, health_score
from churnml.scoring.outputs import History
from churnml.scoring.playbook import ZONE_ORDER, ClientFacts, choose_play, escalations
from churnml.scoring.reasons import Reasons, list_reasons
from churnml.scoring.rules import client_usage_ratios, mailings_note, usage_dip_note
from churnml.scoring.standing import PreviousWeek, Standing, client_standing, health_history, zone_changes

__all__ = [
    "SNAPSHOT",
    "FeatureMismatch",
    "HistoryPlan",
    "ScoredList",
    "Scores",
    "ScoringError",
    "aging_features",
    "assembled_list",
    "calendar_drift",
    "check_data_lag",
    "check_feature_match",
    "drift_order",
    "drift_verdict",
    "drift_warning",
    "drifted_features",
    "expected_drift",
    "expected_drift_note",
    "feature_drift",
    "filled_windows",
    "gain_share_text",
    "gone_clients",
    "history_plan",
    "history_snapshots",
    "history_to_score",
    "last_data_before",
    "list_manifest",
    "list_plays",
    "listed_spine",
    "model_version",
    "model_weight",
    "no_data_message",
    "nobody_active_message",
    "probabilities_in_chunks",
    "recommended_plays",
    "scored_list",
    "season_drift",
    "stale_data_message",
    "unknown_features_note",
    "unreturned_churns",
]

ZONES = ZONE_ORDER


class ScoringError(ValueError):
    """The list cannot be scored as asked (stale data, a model that does not fit the data, ...)."""


@dataclass(frozen=True)
class ScoredList:
    """The result of one scoring run (everything the output files are made of)."""

    as_of: date
    scores: pl.DataFrame
    history: pl.DataFrame
    psi: dict[str, float]
    drifted: dict[str, float]
    timings: dict[str, float] = field(default_factory=dict)
    scored_snapshots: tuple[date, ...] = ()
    drift_weight: dict[str, float] = field(default_factory=dict)  # model_weight() of the drifted features
    # features with values in training and none for any client scored now (export.dark_features)
    missing_now: tuple[str, ...] = ()
    # features of the data the model never learned (a table added since it was trained): left out
    unknown_now: tuple[str, ...] = ()
    # the whole portfolio's use fell this week (churnml.scoring.rules.portfolio_usage_note)
    usage_dip: str | None = None
    # unanswered_outreach skipped mailings in its window: how many (churnml.scoring.rules.mailings_note), said once
    mailings: str | None = None
    # features past the drift line whose shift is expected by construction, with why (expected_drift)
    expected_drift: dict[str, str] = field(default_factory=dict)


# -- checks -------------------------------------------------------------------------------------
def last_data_before(tables: Mapping[Table, pl.DataFrame], as_of: date) -> datetime | None:
    """The latest activity timestamp strictly before ``as_of`` (client creation dates excluded)."""
    cut = datetime(as_of.year, as_of.month, as_of.day)
    latest = []
    for table, frame in tables.items():
        if table == Table.CLIENTS:
            continue
        for col in CONTRACT[table].time_columns:
            if col in frame.columns:
                # one column, filtered inside the expression: no copy of a 40M-row table
                value = frame.select(pl.col(col).filter(pl.col(col) < cut).max()).item()
                if value is not None:
                    latest.append(value)
    return max(latest) if latest else None


def check_data_lag(tables: Mapping[Table, pl.DataFrame], as_of: date, max_lag_days: int) -> datetime:
    """The last timestamp before ``as_of``; a :class:`ScoringError` when it is older than ``max_lag_days``."""
    last = last_data_before(tables, as_of)
    if last is None:
        raise ScoringError(no_data_message(as_of))
    lag = (datetime(as_of.year, as_of.month, as_of.day) - last).days
    if lag > max_lag_days:
        raise ScoringError(stale_data_message(last, lag, as_of, max_lag_days))
    return last


def no_data_message(as_of: date) -> str:
    """The refusal of a list whose data holds nothing before ``as_of`` (Polars and Spark)."""
    return f"no data before the as-of date {as_of}: nothing to score"


def stale_data_message(last: datetime, lag: int, as_of: date, max_lag_days: int) -> str:
    """The refusal of data that ends ``lag`` days (more than ``max_lag_days``) before ``as_of``, with the three
    ways on: a fresher export, an earlier list date, or, when nothing happened since (a school closed all
    summer: its August export's last record was a July payment), the setting that accepts the silence."""
    return (
        f"the data ends on {last:%Y-%m-%d}, {lag} days before the as-of date {as_of} "
        f"(score.max_data_lag_days = {max_lag_days}); refresh the data, pass an earlier --as-of, or, when nothing "
        f"happened since (a business closed for a season), --set score.max_data_lag_days={lag}"
    )


def nobody_active_message(subscriptions: pl.DataFrame | None, as_of: date, grace_days: int) -> str:
    """The refusal of a list nobody is on, naming, when clients have a term booked to start on or after
    ``as_of`` and none running at it, how many, the first start and ``label.grace_days``: a school closed all
    summer read "nothing to score" in August with 226 students booked for September (each gone to the
    subscriptions label once its summer term ended more than the grace before). The one sentence of both
    engines: the Spark path passes the collected terms of the clients with a term booked on or after
    ``as_of`` (:func:`churnml.jobs.score_spark.booked_terms`), all this reads of them."""
    said = f"no client is active at the as-of date {as_of}: nothing to score"
    if subscriptions is None or subscriptions.height == 0:
        return said
    cut = datetime(as_of.year, as_of.month, as_of.day)
    start, end = pl.col(Subscriptions.START_DATE).cast(pl.Datetime("us")), pl.col(Subscriptions.END_DATE)
    running = subscriptions.filter((start < cut) & (end.cast(pl.Datetime("us")) >= cut)).select(CLIENT_ID)
    booked = (
        subscriptions.filter(start >= cut)
        .join(running, on=CLIENT_ID, how="anti")
        # a client's first term booked ahead is no return: only those that had a term before
        .join(subscriptions.filter(start < cut).select(CLIENT_ID), on=CLIENT_ID, how="semi")
        .select(pl.col(CLIENT_ID).n_unique().alias("_n"), start.min().alias("_first"))
    )
    n, first = booked.row(0)
    if not n:
        return said
    return (
        f"{said}; {n:,} client{'s have' if n > 1 else ' has'} a term booked to start on {first:%Y-%m-%d} or later "
        f"after a gap longer than label.grace_days ({grace_days}): each is gone until that term starts. A break "
        "the business takes between terms (a school closed for the summer) wants a grace that covers it: "
        "churnml validate names it"
    )


class FeatureMismatch(ScoringError):
    """The model's features and the data's differ (other tables or other feature settings)."""


def check_feature_match(model_features: Sequence[str], data_features: Sequence[str]) -> tuple[str, ...]:
    """The data's features the model does not know (a table or column it did not learn from, e.g. a
    signals table that appeared since it was trained: left out of the list, said); raises
    :class:`FeatureMismatch`, naming the differences, when the model needs a feature the data lacks."""
    model_set, data_set = set(model_features), set(data_features)
    missing = [f for f in model_features if f not in data_set]
    extra = [f for f in data_features if f not in model_set]
    if not missing:
        return tuple(extra)
    parts = [f"{len(missing)} model features are not in the data (e.g. {', '.join(missing[:5])})"]
    if extra:
        parts.append(f"{len(extra)} data features are unknown to the model (e.g. {', '.join(extra[:5])})")
    raise FeatureMismatch(
        "the model does not match the data: "
        + "; ".join(parts)
        + ". It was trained on other tables or feature settings; retrain it on this data or pass the "
        "matching model with --model"
    )


def unknown_features_note(unknown: Sequence[str], shown: int = 5) -> str | None:
    """What a list says when the data holds features its model never learned (:func:`check_feature_match`):
    they are left out until the next ``churnml train``. None when there is none."""
    if not unknown:
        return None
    more = f" and {len(unknown) - shown} more" if len(unknown) > shown else ""
    return (
        f"{len(unknown)} feature{'s' if len(unknown) != 1 else ''} of the data "
        f"{'are' if len(unknown) != 1 else 'is'} unknown to the model ({', '.join(unknown[:shown])}{more}): a "
        "table or column it did not learn from, left out of this list until the next churnml train"
    )


def model_version(metadata: Mapping[str, Any]) -> str:
    """The model's version as recorded by training (registry version, else run id, else 'unknown';
    :attr:`churnml.modeling.card.ModelCard.version`)."""
    from churnml.modeling.card import ModelCard

    return ModelCard.from_dict(metadata).version


def feature_drift(X: np.ndarray, names: Sequence[str], metadata: Mapping[str, Any]) -> dict[str, float]:
    """PSI of each feature (column ``j`` of ``X`` is ``names[j]``) against the training reference stored
    with the model (empty when absent). A feature that was missing for every training row (e.g. a
    182-day window on a dataset younger than that) is left out: the model learned nothing from it, so
    its values arriving later move no prediction and no explanation."""
    from churnml.modeling.card import ModelCard
    from churnml.modeling.export import population_stability

    reference = ModelCard.from_dict(metadata).feature_reference or {}
    out: dict[str, float] = {}
    for j, name in enumerate(names):
        ref = reference.get(name)
        if ref is not None and float(ref.get("missing", 0.0)) < 1.0:
            out[str(name)] = round(float(population_stability(ref, X[:, j])), 6)
    return out


def drifted_features(
    psi: Mapping[str, float], metadata: Mapping[str, Any], rows_now: int, threshold: float
) -> dict[str, float]:
    """The features reported as drifted, sorted by name: PSI above ``threshold`` (``score.drift_psi``)
    and above what sampling alone gives ``rows_now`` scored rows against the training reference
    (:func:`churnml.modeling.export.drift_noise`): on a portfolio of a hundred clients a PSI of 0.3 is
    mostly the luck of the draw."""
    from churnml.modeling.card import ModelCard
    from churnml.modeling.export import drift_noise

    reference = ModelCard.from_dict(metadata).feature_reference or {}
    return {
        name: value
        for name, value in sorted(psi.items())
        if value > threshold and value > drift_noise(reference.get(name, {}), rows_now)
    }


# the lifetime columns that count from a client's first record (churnml.features.payments.LIFETIME) by these kinds
_AGING_KINDS = ("count", "days")


def aging_features(names: Iterable[str]) -> set[str]:
    """Of ``names``, the features that grow with the age of the client or of its record by construction: its
    age (the registry's group ``tenure``: ``account_tenure_days``) and the lifetime columns counted from its
    first record (:data:`churnml.features.payments.LIFETIME` of kind count or days: the orders on record, the
    days since the first payment; not the mean order). The clients scored weeks after training are that much
    older than the training reference's: a list of 2025-12-22 read ``account_tenure_days`` at PSI 1.50 against
    snapshots of June to September, and every later week more."""
    from churnml.features.payments import LIFETIME
    from churnml.features.registry import feature_spec

    every_column = FeaturesConfig(lifetime=True)  # the lifetime columns are known whatever the model's config
    out = set()
    for name in names:
        try:
            spec = feature_spec(name, every_column)
        except KeyError:  # a column the registry does not know (a foreign model): no construction to tell
            continue
        if spec.group == "tenure" or (name in LIFETIME and spec.kind in _AGING_KINDS):
            out.add(name)
    return out


def filled_windows(names: Iterable[str], metadata: Mapping[str, Any]) -> set[str]:
    """Of ``names``, the windowed sums (:func:`churnml.features.build.unobserved_window_days`) whose window
    reached back before the data's first day at the first snapshot of the model's drift reference (the last
    :data:`churnml.modeling.export.REFERENCE_DAYS` days of its training window): the reference holds them as
    ``features.unobserved_windows`` resolved them (a count over fewer days, scaled, or the distinct users of
    fewer days), where the list reads the whole window. Empty when the card does not say its windows."""
    from churnml.features.build import unobserved_window_days
    from churnml.features.registry import feature_specs
    from churnml.modeling.card import ModelCard
    from churnml.modeling.export import REFERENCE_DAYS

    card = ModelCard.from_dict(metadata)
    if not card.data_window or not card.training_window:
        return set()
    start = date.fromisoformat(str(card.data_window[0])[:10])
    first = date.fromisoformat(str(card.training_window[1])[:10]) - timedelta(days=REFERENCE_DAYS - 1)
    specs = feature_specs(FeaturesConfig.model_validate(card.features_config or {}))
    return {
        name
        for name in names
        if (days := unobserved_window_days(name, specs)) is not None and days > (first - start).days
    }


def season_drift(
    values: np.ndarray, names: Sequence[str], metadata: Mapping[str, Any], as_of: date, only: Iterable[str]
) -> tuple[dict[str, float], list[date]]:
    """``(psi, days)``: the PSI of each feature of ``only`` (column ``j`` of ``values`` is ``names[j]``) against
    the training snapshots of the same weeks a year or more before ``as_of`` (``days``:
    :func:`churnml.modeling.export.same_season_reference` of the model's season reference); ``({}, [])`` when
    the model keeps none of those weeks (a training window shorter than a year, an older model)."""
    from churnml.modeling.card import ModelCard
    from churnml.modeling.export import population_stability, same_season_reference

    card = ModelCard.from_dict(metadata)
    refs, days = same_season_reference(card.season_reference or {}, card.feature_reference or {}, as_of)
    wanted = set(only)
    psi = {
        str(name): round(float(population_stability(refs[name], values[:, j])), 6)
        for j, name in enumerate(names)
        if name in wanted and name in refs
    }
    return psi, days


def calendar_drift(
    values: np.ndarray, names: Sequence[str], metadata: Mapping[str, Any], only: Iterable[str]
) -> set[str]:
    """Of ``only``, the features set by a calendar the clients share (column ``j`` of ``values`` is ``names[j]``):
    :func:`churnml.modeling.export.calendar_features` of the model's season reference, read by this list too
    with at least :data:`~churnml.modeling.export.CALENDAR_SHARE` of its clients on one value (one bin of the
    feature's reference). Their PSI measures the list's date against the training snapshots', not the clients.
    Empty for a model without a season reference."""
    from churnml.modeling.card import ModelCard
    from churnml.modeling.export import CALENDAR_SHARE, calendar_features, commonest_bin_share

    card = ModelCard.from_dict(metadata)
    reference = card.feature_reference or {}
    wanted = set(only) & set(calendar_features(card.season_reference or {}, reference))
    return {
        str(name)
        for j, name in enumerate(names)
        if name in wanted and commonest_bin_share(reference[name], values[:, j]) >= CALENDAR_SHARE
    }


def expected_drift(
    drifted: Mapping[str, float],
    metadata: Mapping[str, Any],
    season: Mapping[str, float] | None = None,
    season_days: Sequence[date] = (),
    line: float = 0.25,
    calendar: Iterable[str] = (),
) -> dict[str, str]:
    """Of the ``drifted`` features (:func:`drifted_features`), those whose shift is expected, each with why, in
    words (sorted by name): the ones that age with the clients and the log (:func:`aging_features`), the
    windows the data did not cover at the training snapshots (:func:`filled_windows`), and the ones whose PSI
    against the same weeks of an earlier year (``season``, on the training snapshots ``season_days``:
    :func:`season_drift`) is at most ``line``: a season the training data already held (a Christmas week, a
    summer lull), else the ones set by a calendar the clients share (``calendar``: :func:`calendar_drift`, the
    days to a term end that every client shares). Nothing a data scientist can act on: they are told apart,
    not as drift."""
    from churnml.modeling.export import CALENDAR_SHARE

    why: dict[str, str] = {}
    if season_days:
        seasonal = (
            f"as in the same weeks of {season_days[0].year} (PSI {line:g} or less against the training snapshots "
            f"{season_days[0]:%Y-%m-%d} .. {season_days[-1]:%Y-%m-%d})"
        )
        why.update(
            (name, seasonal) for name, value in (season or {}).items() if name in drifted and value <= line
        )
    shared = (
        "set by a calendar the clients share (at every training snapshot of the last year and in this list "
        f"{CALENDAR_SHARE:.0%} or more of the clients read one value, e.g. the days to a term end common to all): "
        "another week reads another value"
    )
    why.update((name, shared) for name in calendar if name in drifted and name not in why)
    filled = "windows that reached back before the data's first day at the training snapshots"
    why.update(dict.fromkeys(filled_windows(drifted, metadata), filled))
    aging = "growing with the clients' age (and the log's) since the training snapshots"
    why.update(dict.fromkeys(aging_features(drifted), aging))
    return dict(sorted(why.items()))


def drift_verdict(
    values: np.ndarray, names: Sequence[str], metadata: Mapping[str, Any], line: float, as_of: date
) -> tuple[dict[str, float], dict[str, float], dict[str, str]]:
    """``(psi, drifted, expected)`` of the ``values`` scored at ``as_of`` (rows x ``names``): every feature's PSI
    against the training reference (:func:`feature_drift`), the features drifted past ``line``
    (``score.drift_psi``) and chance (:func:`drifted_features`) that a data scientist can act on, and the others
    that passed them as expected, with why (:func:`expected_drift`: by construction, as in the same weeks of
    an earlier year, :func:`season_drift`, or set by a calendar the clients share, :func:`calendar_drift`)."""
    psi = feature_drift(values, names, metadata)
    past = drifted_features(psi, metadata, values.shape[0], line)
    season, days = season_drift(values, names, metadata, as_of, past) if past else ({}, [])
    calendar = calendar_drift(values, names, metadata, past) if past else set()
    expected = expected_drift(past, metadata, season, days, line, calendar)
    return psi, {k: v for k, v in past.items() if k not in expected}, expected


def expected_drift_note(expected: Mapping[str, str], psi: Mapping[str, float], shown: int = 4) -> str | None:
    """The console's and the report's words for the shifts expected (:func:`expected_drift`), None without any:
    how many, then per reason the first ``shown`` features with their PSI against the training reference
    ("9 features shifted as expected, not counted as drift: as in the same weeks of 2024 (...):
    usage_events_7d (PSI 0.32), ... and 4 more; growing with the clients' age ...: account_tenure_days (PSI
    1.52)")."""
    if not expected:
        return None
    reasons: dict[str, list[str]] = {}
    for name, why in expected.items():
        reasons.setdefault(why, []).append(name)
    said = []
    for why, names in reasons.items():
        first = ", ".join(f"{k} (PSI {psi.get(k, float('nan')):.2f})" for k in names[:shown])
        more = f" and {len(names) - shown} more (manifest.json)" if len(names) > shown else ""
        said.append(f"{why}: {first}{more}")
    n = len(expected)
    return f"{n} feature{'s' if n > 1 else ''} shifted as expected, not counted as drift: " + "; ".join(said)


def missing_features(
    values: np.ndarray, names: Sequence[str], metadata: Mapping[str, Any]
) -> tuple[str, ...]:
    """The features the model learned with values that no scored row has now (all NaN in ``values``,
    rows x ``names``; :func:`churnml.modeling.export.dark_features` against the training reference)."""
    from churnml.modeling.card import ModelCard
    from churnml.modeling.export import dark_features

    return tuple(dark_features(values, names, ModelCard.from_dict(metadata).feature_reference))


def model_weight(model: Any, names: Iterable[str]) -> dict[str, float]:
    """Each of ``names``' share of the model's total gain (0..1, rounded to 4 places): how much the model
    leans on it. A drifted feature the model hardly uses moves few scores; one that carries a tenth of
    the gain deserves a look. Largest first, then by name; empty for a model without gain importances
    (a baseline)."""
    if not hasattr(model, "feature_importance"):
        return {}
    gain = model.feature_importance("gain")
    total = float(gain.sum())
    shares = {name: round(float(gain.get(name, 0.0)) / total, 4) if total > 0 else 0.0 for name in names}
    return dict(sorted(shares.items(), key=lambda kv: (-kv[1], kv[0])))


def drift_order(drifted: Mapping[str, float], weight: Mapping[str, float]) -> list[str]:
    """The drifted features, the ones the model leans on most first (share of its gain), then by PSI
    and name: the order in which they are worth a look."""
    return sorted(drifted, key=lambda k: (-weight.get(k, 0.0), -drifted[k], k))


def gain_share_text(share: float) -> str:
    """A share of the model's gain as text, for the console and the report alike: "<0.1%" rather than a
    "0.0%" that hides a little use; "0%" only for a feature the model never splits on."""
    return "0%" if share == 0 else "<0.1%" if share < 0.001 else f"{100 * share:.1f}%"


def drift_warning(
    drifted: Mapping[str, float], weight: Mapping[str, float], line: float, shown: int = 5
) -> str:
    """The console's one-line drift warning: how many features drifted past ``line`` (PSI), how much
    of the model's weight they carry, and the first ``shown`` of :func:`drift_order` with their PSI."""
    order = drift_order(drifted, weight)
    carried = (
        f", carrying {gain_share_text(sum(weight.get(k, 0.0) for k in order))} of the model's weight (gain)"
        if weight
        else ""
    )
    first = ", ".join(
        f"{k} (PSI {drifted[k]:.2f}"
        + (f", {gain_share_text(weight[k])} of the weight)" if k in weight else ")")
        for k in order[:shown]
    )
    more = f", and {len(order) - shown} more (report, manifest.json)" if len(order) > shown else ""
    lead = "the ones it leans on most" if weight else "first"
    return f"{len(order)} features drifted past PSI {line}{carried}; {lead}: {first}{more}"


# -- mapping tables -----------------------------------------------------------------------------


def history_snapshots(as_of: date, weeks: int) -> list[date]:
    """The weekly snapshots of the health history, oldest first, ending at ``as_of``.

    Always at least two (this week and the previous one, for the change since the previous list).
    """
    return [as_of - timedelta(weeks=i) for i in reversed(range(max(weeks, 2)))]


# -- the population, zones over the history, the previous week ------------------------------------
def unreturned_churns(
    tables: Mapping[Table, pl.DataFrame],
    as_of: date,
    grace_days: int,
    source: str = "auto",
    activity_events: Sequence[str] | None = None,
) -> pl.DataFrame:
    """``[client_id, churned_at]``: each client's last churn record before ``as_of`` (00:00 of it, as every
    reader of the list's date: the labels' active spine, the win-back list) with no return since, by the one rule of a return of ``source`` (``label.source``:
    :func:`churnml.labels.returns_after_churns`: a new term under subscriptions, an order or event under
    inactivity, either under mixed, each more than ``grace_days`` after the record for activity; of the events,
    only ``activity_events``, ``label.activity_events``, when given). One row per gone client; empty without a
    churns table."""
    from churnml.labels import RETURNED_AT, returns_after_churns

    schema = {CLIENT_ID: pl.String, Churns.CHURNED_AT: pl.Datetime("us")}
    churns = tables.get(Table.CHURNS)
    if churns is None or churns.height == 0:
        return pl.DataFrame(schema=schema)
    cut = datetime(as_of.year, as_of.month, as_of.day)
    last_churn = (
        churns.filter(pl.col(Churns.CHURNED_AT) < cut)
        .group_by(pl.col(CLIENT_ID).cast(pl.String))
        .agg(pl.col(Churns.CHURNED_AT).max().cast(pl.Datetime("us")))
    )
    back = returns_after_churns(
        tables, last_churn, grace_days, before=cut, source=source, activity_events=activity_events
    )
    return back.filter(pl.col(RETURNED_AT).is_null()).select(list(schema))


def gone_clients(
    tables: Mapping[Table, pl.DataFrame],
    as_of: date,
    grace_days: int,
    source: str = "auto",
    activity_events: Sequence[str] | None = None,
) -> set[str]:
    """The clients of :func:`unreturned_churns`: a churn record before ``as_of`` and no return since
    by the return rule of ``source`` (``label.source``).

    The labels' active spine already leaves them out; this keeps a gone client off the keep list
    whatever ``label.source`` the spine was built with ("gone is gone", DESIGN.md), and by the rule the
    win-back list reads, so that a client who left is on one of the two lists.
    """
    gone = unreturned_churns(tables, as_of, grace_days, source, activity_events)
    return set(gone.get_column(CLIENT_ID).to_list())


# -- scoring ------------------------------------------------------------------------------------
def _client_subset(dataset: Dataset, ids: list[str]) -> Dataset:
    """The dataset restricted to ``ids`` (every table, and its client-week aggregates). Features are per client and the weekly grid keeps
    the whole dataset's first activity, so a client's features do not depend on its batch."""
    keep = pl.Series(ids, dtype=pl.String)
    subset = dataset.with_tables(
        **{
            str(t): frame.filter(pl.col(CLIENT_ID).is_in(keep.implode()))
            for t, frame in dataset.tables.items()
        }
    )
    weeks = dataset.client_weeks
    if weeks is not None:
        weeks = (
            weeks[0].filter(pl.col(CLIENT_ID).is_in(keep.implode())),
            weeks[1].filter(pl.col(CLIENT_ID).is_in(keep.implode())),
        )
    return replace(
        subset,
        client_weeks=weeks,
        activity_start=dataset.first_activity(),
        events_start=dataset.events_first(),
        contact_start=dataset.contact_first(),
        payments_start=dataset.payments_first(),
        terms_start=dataset.terms_first(),
    )


@dataclass
class _Scored:
    """What the batched feature/scoring pass keeps: every row's probability, the features of this week
    and last week (the only rows that are explained)."""

    probs: list[pl.DataFrame] = field(default_factory=list)
    now: list[pl.DataFrame] = field(default_factory=list)
    prev: list[pl.DataFrame] = field(default_factory=list)
    unknown: tuple[str, ...] = ()  # the data's features the model does not know (check_feature_match)


def _copied_rows(frame: pl.DataFrame, predicate: pl.Expr) -> pl.DataFrame:
    """The rows of ``frame`` where ``predicate`` holds, in buffers of their own.

    Polars' ``filter`` returns slices of the parent's buffers when the kept rows are contiguous (one
    snapshot of a table sorted by snapshot), which would keep every batch's whole feature table alive.
    """
    rows = frame.select(pl.arg_where(predicate)).to_series()
    return frame.select(pl.all().gather(rows))


def probabilities_in_chunks(
    model: Any, table: pl.DataFrame, names: list[str], chunk: int = 50_000
) -> np.ndarray:
    """Calibrated probabilities of every row of ``table``, converted to LightGBM's row-major matrix a
    chunk of rows at a time (the feature table is never copied whole)."""
    if table.height == 0:
        return np.zeros(0)
    return np.concatenate(
        [
            np.asarray(model.churn_probability(feature_matrix(table.slice(i, chunk), names)), dtype=float)
            for i in range(0, table.height, chunk)
        ]
    )


def _score_spine(
    dataset: Dataset,
    spine: pl.DataFrame,
    model: Any,
    names: list[str],
    as_of: date,
    prev_date: date,
    features: FeaturesConfig,
    rows_per_batch: int,
    progress: Callable[[str], None] | None,
    out: _Scored | None = None,
    *,
    rules: RulesConfig,
    mailings: pl.DataFrame | None = None,
) -> _Scored:
    """Features and probabilities for every (client, snapshot) of ``spine``, in client batches
    (appended to ``out`` when given).

    One feature pass covers all snapshots of a batch (the feature engine works on the whole weekly
    grid anyway); batches of about ``rows_per_batch`` rows bound the memory on large portfolios.
    ``mailings``: the whole dataset's mailings (:func:`churnml.features.build.dataset_mailings` with
    ``rules.mailing_share`` and ``rules.mailing_min_clients``), handed to every batch; None: those of
    ``dataset``, found once before it is cut into batches.
    """
    from churnml.features import build_features
    from churnml.features.build import dataset_mailings

    if mailings is None:
        mailings = dataset_mailings(dataset, rules.mailing_share, rules.mailing_min_clients)

    ids = spine.get_column(CLIENT_ID).unique().sort().to_list()
    n_snaps = max(spine.get_column(SNAPSHOT).n_unique(), 1)
    per_batch = max(1, rows_per_batch // n_snaps)
    batches = [ids[i : i + per_batch] for i in range(0, len(ids), per_batch)]
    out = out if out is not None else _Scored()
    for k, batch in enumerate(batches):
        if progress is not None and len(batches) > 1:
            progress(f"features and scores, clients batch {k + 1}/{len(batches)}")
        part = dataset if len(batches) == 1 else _client_subset(dataset, batch)
        rows = (
            spine if len(batches) == 1 else spine.filter(pl.col(CLIENT_ID).is_in(pl.Series(batch).implode()))
        )
        table = build_features(
            part,
            rows,
            features,
            mailing_share=rules.mailing_share,
            mailing_min_clients=rules.mailing_min_clients,
            mailings=mailings,
        )
        if not out.probs:
            out.unknown = check_feature_match(
                names, [c for c in table.columns if c not in (CLIENT_ID, SNAPSHOT)]
            )
        table = table.select(CLIENT_ID, pl.col(SNAPSHOT).cast(pl.Date), *names)
        p = probabilities_in_chunks(model, table, names)
        out.probs.append(table.select(CLIENT_ID, SNAPSHOT).with_columns(pl.Series(History.PROBABILITY, p)))
        out.now.append(_copied_rows(table, pl.col(SNAPSHOT) == as_of))
        out.prev.append(_copied_rows(table, pl.col(SNAPSHOT) == prev_date))
        del table, part, rows  # before the next batch is cut: never two batches in memory
    return out


def _score_batches(
    batches: Callable[[int], Dataset] | Sequence[Dataset],
    spine: pl.DataFrame,
    model: Any,
    names: list[str],
    as_of: date,
    prev_date: date,
    features: FeaturesConfig,
    rows_per_batch: int,
    progress: Callable[[str], None] | None,
    *,
    rules: RulesConfig,
    mailings: pl.DataFrame,
) -> _Scored:
    """:func:`_score_spine` over client batches read one at a time (``batches[k]`` or ``batches(k)``:
    the dataset of batch ``k``'s clients, its ``activity_start`` pinned to the whole data's), so only one
    batch's rows are ever in memory. Each client is in one batch and its features do not depend on the
    others (``mailings``: the whole dataset's, :func:`churnml.features.build.dataset_mailings`), so the
    result is the one of a single pass."""
    out = _Scored()
    n = len(batches)  # type: ignore[arg-type]
    for k in range(n):
        if progress is not None:
            progress(f"reading client batch {k + 1}/{n}")
        part = batches(k) if callable(batches) else batches[k]
        mine = part.tables[Table.CLIENTS].get_column(CLIENT_ID).cast(pl.String).implode()
        rows = spine.filter(pl.col(CLIENT_ID).is_in(mine))
        if rows.height:
            if progress is not None:
                progress(f"features and scores, client batch {k + 1}/{n}")
            _score_spine(
                part,
                rows,
                model,
                names,
                as_of,
                prev_date,
                features,
                rows_per_batch,
                None,
                out,
                rules=rules,
                mailings=mailings,
            )
        del part, rows  # before the next batch is read
    if not out.probs:
        raise ScoringError(nobody_active_message(None, as_of, 0))
    return out


@dataclass
class _Clock:
    """Wall time of the named steps of one scoring run (``ScoredList.timings``), with progress messages."""

    progress: Callable[[str], None] | None
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def step(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)
        self.started = time.perf_counter()

    def done(self, name: str) -> None:
        self.timings[name] = round(time.perf_counter() - self.started, 3)


@dataclass(frozen=True)
class HistoryPlan:
    """Which weekly snapshots of the health history are scored now (``todo``, oldest first) and which
    are reused from last week's ``history.parquet`` (``known``, filtered to the history weeks). Reuse is
    per client: a listed client without a row of ``known`` (not on last week's list: back after a churn)
    is scored at the ``reused`` weeks too (:func:`listed_spine`)."""

    known: pl.DataFrame
    reused: set[date]
    todo: list[date]


def history_plan(known_history: pl.DataFrame | None, as_of: date, weeks: int) -> HistoryPlan:
    """The history weeks to score: all of them but those last week's file holds (this week and last
    week are always scored afresh: they are the ones explained)."""
    hist_dates = history_snapshots(as_of, weeks)
    known = (
        known_history.filter(pl.col(History.SNAPSHOT).is_in(hist_dates))
        if known_history is not None
        else pl.DataFrame(schema={History.CLIENT_ID: pl.String, History.SNAPSHOT: pl.Date})
    )
    reused = set(known.get_column(History.SNAPSHOT).unique().to_list()) - {as_of, as_of - timedelta(weeks=1)}
    return HistoryPlan(known, reused, [d for d in hist_dates if d not in reused])


def history_to_score(known_history: pl.DataFrame | None, as_of: date, weeks: int) -> list[date]:
    """The weekly snapshots a run at ``as_of`` scores (oldest first): the health-history weeks but those
    last week's file (``known_history``) holds; this week and last week are always scored."""
    return history_plan(known_history, as_of, weeks).todo


def listed_spine(
    dataset: Dataset,
    todo: list[date],
    as_of: date,
    label: LabelConfig,
    last_weeks_list: bool = False,
    known: pl.DataFrame | None = None,
    reused: Iterable[date] = (),
) -> tuple[pl.DataFrame, list[str]]:
    """The (client, snapshot) rows to score and the listed clients (sorted): the clients active at
    ``as_of`` and not gone, at every snapshot of ``todo`` where they were active (both empty when
    nobody is listed). ``reused`` (:attr:`HistoryPlan.reused`, the weeks taken from last week's file) and
    ``known`` (:attr:`HistoryPlan.known`, its rows; None: none): a listed client without a row of ``known``
    (not on last week's list: back after a churn) is scored at the ``reused`` weeks too, where it was active,
    as a run without last week's file scores it.
    ``last_weeks_list`` (the capacity zones): also the row a week before ``as_of`` of
    every client of last week's list who is not listed now (active then and not gone then), so that
    last week's zones rank among all of them (:class:`churnml.scoring.standing.PreviousWeek`)."""
    from churnml.labels import active_spine

    reused = sorted(set(reused) - set(todo))
    weeks = sorted({*todo, *reused})
    spine = active_spine(dataset, weeks, label).with_columns(pl.col(SNAPSHOT).cast(pl.Date))
    gone = gone_clients(dataset.tables, as_of, label.grace_days, label.source, label.activity_events)
    ids = [
        c
        for c in spine.filter(pl.col(SNAPSHOT) == as_of).get_column(CLIENT_ID).sort().to_list()
        if c not in gone
    ]
    keep = pl.col(CLIENT_ID).is_in(pl.Series(ids, dtype=pl.String).implode())
    if reused:  # the reused weeks: only the listed clients last week's file lacks
        on_file = (
            pl.DataFrame(schema={CLIENT_ID: pl.String})
            if known is None
            else known.select(pl.col(CLIENT_ID).cast(pl.String)).unique()
        )
        back = pl.DataFrame({CLIENT_ID: ids}, schema={CLIENT_ID: pl.String}).join(
            on_file, on=CLIENT_ID, how="anti"
        )
        keep = keep & (
            pl.col(SNAPSHOT).is_in(pl.Series(todo, dtype=pl.Date).implode())
            | pl.col(CLIENT_ID).is_in(back.get_column(CLIENT_ID).implode())
        )
    if last_weeks_list:
        prev_date = as_of - timedelta(weeks=1)
        gone_then = gone_clients(
            dataset.tables, prev_date, label.grace_days, label.source, label.activity_events
        )
        then = spine.filter(pl.col(SNAPSHOT) == prev_date).get_column(CLIENT_ID).to_list()
        listed = set(ids)
        left = [c for c in then if c not in gone_then and c not in listed]
        keep = keep | (
            (pl.col(SNAPSHOT) == prev_date)
            & pl.col(CLIENT_ID).is_in(pl.Series(left, dtype=pl.String).implode())
        )
    return spine.filter(keep), ids


@dataclass(frozen=True)
class _WeekScores:
    """This week's and last week's rows of the scoring pass (sorted by client_id) and every score."""

    probs: pl.DataFrame  # one row per client x snapshot scored: client_id, snapshot, churn_probability
    now: pl.DataFrame  # this week's features, one row per listed client
    prev: pl.DataFrame  # last week's features of the listed clients active then
    p_now: np.ndarray
    previous: PreviousWeek  # last week's probabilities; zones not yet known


def _week_scores(passed: _Scored, as_of: date, prev_date: date) -> _WeekScores:
    """The batches of the scoring pass put together, this week and last week picked out."""
    probs = pl.concat(passed.probs)
    prev_frame = pl.concat(passed.prev).sort(CLIENT_ID)
    p_prev = (
        probs.filter(pl.col(SNAPSHOT) == prev_date).sort(CLIENT_ID).get_column(History.PROBABILITY).to_numpy()
    )
    return _WeekScores(
        probs=probs,
        now=pl.concat(passed.now).sort(CLIENT_ID),
        prev=prev_frame,
        p_now=probs.filter(pl.col(SNAPSHOT) == as_of)
        .sort(CLIENT_ID)
        .get_column(History.PROBABILITY)
        .to_numpy(),
        previous=PreviousWeek(prev_date, prev_frame.get_column(CLIENT_ID).to_list(), p_prev, {}),
    )


def list_plays(standing: Standing, reasons: Reasons, playbooks: PlaybooksConfig) -> pl.DataFrame:
    """The recommended play of each listed client, from its value, rules, zone and drivers."""
    return recommended_plays(
        pl.concat(
            [standing.valued, standing.keep.drop(CLIENT_ID), standing.views.drop(CLIENT_ID), reasons.drivers],
            how="horizontal",
        ).with_columns(
            pl.Series(Scores.ZONE, standing.zone),
            pl.Series(Scores.RULES, standing.fired.get_column(Scores.RULES), dtype=pl.String),
        ),
        playbooks,
    )


def scored_list(
    dataset: Dataset,
    as_of: date,
    model: Any,
    metadata: Mapping[str, Any],
    *,
    label: LabelConfig,
    features: FeaturesConfig,
    score: ScoreConfig,
    value: ValueConfig,
    rules: RulesConfig,
    playbooks: PlaybooksConfig,
    known_history: pl.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
    rows_per_batch: int | None = None,
    batches: Callable[[int], Dataset] | Sequence[Dataset] | None = None,
    early_renewal_share: float = EARLY_RENEWAL_SHARE,
) -> ScoredList:
    """Score every client active at ``as_of`` (columns and grain: module docstring).

    ``model`` is a fitted :class:`~churnml.modeling.train.ChurnModel` (``churn_probability``,
    ``contributions``, ``feature_names_``); ``metadata`` its training record (model version, feature
    reference for drift). Raises :class:`ScoringError` for stale data or a model that does not match
    the data's features. ``rows_per_batch`` (default ``score.batch_rows``) bounds the (client x snapshot)
    rows featurised at once. ``batches`` (``len`` and ``batches[k]`` or ``batches(k)``): the dataset of
    each client batch, read one at a time for the features (:mod:`churnml.jobs.score_data`); ``dataset``
    then only serves the whole-portfolio steps (population, rules, value, CRM views).
    ``early_renewal_share``: ``data.early_renewal_share``, how early a renewal booked ahead may start (the rules,
    the CRM views and the ARR read bookings with it: :func:`churnml.scoring.standing.client_standing`).
    """
    clock = _Clock(progress)
    clock.step("checking the data")
    check_data_lag(dataset.tables, as_of, score.max_data_lag_days)
    names = list(model.feature_names_)
    prev_date = as_of - timedelta(weeks=1)
    plan = history_plan(known_history, as_of, score.history_weeks)
    spine, ids = listed_spine(
        dataset, plan.todo, as_of, label, score.zones.method == "capacity", plan.known, plan.reused
    )
    if not ids:
        raise ScoringError(
            nobody_active_message(dataset.tables.get(Table.SUBSCRIPTIONS), as_of, label.grace_days)
        )
    clock.done("check")

    clock.step(f"features and scores at {len(plan.todo)} weekly snapshots")
    batch = rows_per_batch if rows_per_batch is not None else score.batch_rows
    from churnml.features.build import dataset_mailings

    # the mailings the communication features leave out, found once on the whole portfolio (communications and
    # clients are read whole on every path), not within each client batch
    mailings = dataset_mailings(dataset, rules.mailing_share, rules.mailing_min_clients)
    passed = (
        _score_spine(
            dataset,
            spine,
            model,
            names,
            as_of,
            prev_date,
            features,
            batch,
            progress,
            rules=rules,
            mailings=mailings,
        )
        if batches is None
        else _score_batches(
            batches,
            spine,
            model,
            names,
            as_of,
            prev_date,
            features,
            batch,
            progress,
            rules=rules,
            mailings=mailings,
        )
    )
    week = _week_scores(passed, as_of, prev_date)
    unknown = passed.unknown
    del passed
    clock.done("features_and_scores")

    clock.step("health history")
    history = health_history(week.probs, plan.known, plan.reused, ids)
    clock.done("history")

    clock.step("value, zones, rules and actions")
    health = health_score(week.p_now)
    # every client's usage against its usual, this week and last (usage_drop, and the list's dip banner)
    usage_start = dataset.usage_windows_from().date()  # a window scaled up from fewer days read over them
    # the clients' customer terms, once for every reader of the list's terms (labels.customer_terms)
    subscriptions = dataset.get(Table.SUBSCRIPTIONS)
    customer = None if subscriptions is None else customer_terms(subscriptions)
    ratios_now = client_usage_ratios(
        week.now, rules, dataset.tables, as_of, label.grace_days, usage_start, customer
    )
    ratios_prev = client_usage_ratios(
        week.prev, rules, dataset.tables, prev_date, label.grace_days, usage_start, customer
    )
    standing = client_standing(
        dataset,
        ids,
        week.p_now,
        week.previous,
        history,
        as_of,
        label=label,
        features=features,
        score=score,
        value=value,
        rules=rules,
        features_now=week.now,
        features_prev=week.prev,
        client_ratios=(ratios_now, ratios_prev),
        early_renewal_share=early_renewal_share,
        usage_start=usage_start,
        customer=customer,
    )
    clock.done("value_rules")

    clock.step("explaining (exact TreeSHAP)")
    values_now = feature_matrix(week.now, names)
    reasons = list_reasons(
        model,
        dataset,
        as_of,
        ids,
        values_now,
        week.prev,
        week.p_now,
        standing,
        health,
        names,
        features,
        score,
    )
    clock.done("explain")

    clock.step("actions")
    plays = list_plays(standing, reasons, playbooks)
    clock.done("actions")

    clock.step("drift against the training data")
    psi, drifted, expected = drift_verdict(values_now, names, metadata, score.drift_psi, as_of)
    clock.done("drift")

    clock.step("assembling the list")
    table = assembled_list(as_of, standing, health, reasons, plays, playbooks)
    clock.done("assemble")
    weight = model_weight(model, drifted)
    missing = missing_features(values_now, names, metadata)
    dip = usage_dip_note(ratios_now, rules)
    return ScoredList(
        as_of,
        table,
        history,
        psi,
        drifted,
        clock.timings,
        tuple(plan.todo),
        weight,
        missing,
        unknown,
        dip,
        mailings_note(dataset.tables, as_of, rules, label.grace_days, label.activity_events),
        expected,
    )


_FIRST_COLUMNS = (
    Scores.PRIORITY,
    Scores.ZONE,
    Scores.PROBABILITY,
    Scores.HEALTH,
    Scores.TERM_STATE,
    Scores.PREVIOUS_PROBABILITY,
    Scores.PROBABILITY_CHANGE,
    Scores.PREVIOUS_ZONE,
    Scores.ZONE_CHANGE,
    Scores.NEW_IN_RED,
    Scores.WHY_CHANGED,
    Scores.MODEL_ZONE,
    Scores.ZONE_RAISED_BY,
    Scores.ZONE_CHANGES,
    Scores.EXPLAINED,
    Scores.ARR,
    Scores.LIFETIME_VALUE,
    Scores.STRATEGIC,
    Scores.VALUE_TIER,
    Scores.REVENUE_AT_RISK,
    Scores.NOT_WORTH_KEEPING,
    Scores.NOT_WORTH_KEEPING_REASON,
    Scores.ACTION,
    Scores.ACTION_ROLE,
    Scores.ACTION_BASIS,
    Scores.ACTS,
    Scores.ESCALATION,
    Scores.RULES,
    Scores.RULES_EVIDENCE,
)


def assembled_list(
    as_of: date,
    standing: Standing,
    health: np.ndarray,
    reasons: Reasons,
    plays: pl.DataFrame,
    playbooks: PlaybooksConfig,
) -> pl.DataFrame:
    """The list: one row per client, the columns of the module docstring, sorted by priority (``playbooks``:
    who the escalation goes to, and for which zones and value tiers)."""
    info = standing.info
    owners = (
        info.get_column(Clients.OWNER).to_list() if Clients.OWNER in info.columns else [None] * info.height
    )
    zone_change, new_red = zone_changes(standing.previous_zone, standing.zone)
    table = pl.concat(
        [
            info.with_columns(pl.lit(as_of).alias(Scores.AS_OF)),
            standing.valued.select(Scores.PROBABILITY),
            pl.DataFrame(
                {
                    Scores.HEALTH: health,
                    Scores.ZONE: standing.zone,
                    Scores.MODEL_ZONE: standing.model_zone,
                    Scores.ZONE_RAISED_BY: standing.raised_by,
                    Scores.ZONE_CHANGES: pl.Series(standing.zone_changes, dtype=pl.Int64),
                    Scores.PREVIOUS_PROBABILITY: pl.Series(standing.previous_probability, dtype=pl.Float64),
                    Scores.PREVIOUS_ZONE: pl.Series(standing.previous_zone, dtype=pl.String),
                    Scores.ZONE_CHANGE: zone_change,
                    Scores.NEW_IN_RED: new_red,
                    Scores.WHY_CHANGED: pl.Series(reasons.why_changed, dtype=pl.String),
                    Scores.EXPLAINED: reasons.explained,
                    **{Scores.family_health(f): reasons.family_health[f] for f in FAMILIES},
                }
            ),
            standing.valued.drop(CLIENT_ID, Scores.PROBABILITY),
            standing.keep.drop(CLIENT_ID),
            # the pause's and the trial's facts are the plays' (crm.PLAY_FACTS), not the list's columns
            standing.views.drop(CLIENT_ID, *PLAY_FACTS, strict=False),
            reasons.drivers,
            standing.fired.drop(CLIENT_ID),
            plays,
            pl.DataFrame(
                {
                    Scores.ACTS: [o if o else "unassigned" for o in owners],
                    Scores.ESCALATION: escalations(
                        standing.zone,
                        standing.valued.get_column(Scores.VALUE_TIER).to_list(),
                        playbooks.escalation_role,
                        (
                            standing.keep.get_column(Scores.NOT_WORTH_KEEPING).to_numpy()
                            | renewed_rows(standing.views)
                        ).tolist(),
                        playbooks.escalate,
                    ),
                }
            ),
        ],
        how="horizontal",
    ).with_columns(
        (pl.col(Scores.PROBABILITY) - pl.col(Scores.PREVIOUS_PROBABILITY)).alias(Scores.PROBABILITY_CHANGE)
    )
    info_cols = [c for c in info.columns if c != CLIENT_ID]
    first = [CLIENT_ID, Scores.AS_OF, *info_cols, *_FIRST_COLUMNS]
    rest = [c for c in table.columns if c not in first]
    return table.select(*first, *rest).sort(Scores.PRIORITY)


def _lead_family(row: Mapping[str, Any]) -> str | None:
    """The family of the client's first driver when it raises the risk."""
    if row.get(Scores.driver(1, "direction")) == RAISES:
        return row.get(Scores.driver(1, "family"))
    return None


def _lead_group(row: Mapping[str, Any], specs: Mapping[str, Any]) -> str | None:
    """The registry group of the client's first driver when it raises the risk."""
    if row.get(Scores.driver(1, "direction")) == RAISES:
        spec = specs.get(str(row.get(Scores.driver(1, "feature"))))
        return None if spec is None else spec.group
    return None


def recommended_plays(frame: pl.DataFrame, cfg: PlaybooksConfig) -> pl.DataFrame:
    """``[action, action_role, action_basis]`` per row of ``frame`` (one row per client with the zone,
    value tier, fired rules, term state, renewal, keep flag and driver columns; a pause's
    :data:`churnml.scoring.crm.PLAY_FACTS` when present), in its order
    (:func:`churnml.scoring.playbook.choose_play`)."""
    from churnml.features.registry import feature_specs

    specs = feature_specs()
    out: dict[str, list[str]] = {Scores.ACTION: [], Scores.ACTION_ROLE: [], Scores.ACTION_BASIS: []}
    for row in frame.iter_rows(named=True):
        facts = ClientFacts(
            zone=row[Scores.ZONE],
            tier=row[Scores.VALUE_TIER],
            rules=row.get(Scores.RULES) or "",
            lead_family=_lead_family(row),
            lead_group=_lead_group(row, specs),
            lead_feature=row.get(Scores.driver(1, "feature")) if _lead_family(row) else None,
            # the grace play is for a term called lapsed; "no renewal recorded yet" and "Renewed" are context
            term_state=(row.get(Scores.TERM_STATE) or "") if row.get(Scores.IN_GRACE) else "",
            renewal_due=bool(row.get(Scores.RENEWAL_DUE)),
            renewal_days=row.get(Scores.RENEWAL_DAYS),
            not_worth_keeping=bool(row.get(Scores.NOT_WORTH_KEEPING)),
            keep_reason=row.get(Scores.NOT_WORTH_KEEPING_REASON) or "",
            paused=bool(row.get(PAUSED)),  # on a free term after paid ones (crm.paused_clients)
            pause_due=bool(row.get(PAUSE_DUE)),  # its free term ends within score.renewal_days
            skip=bool(row.get(SKIP)),  # one term skipped (crm.one_term_skips)
            trial=bool(row.get(TRIAL)),  # never paid: a free trial or a free plan (crm.free_trials)
        )
        try:
            play = choose_play(facts, cfg)
        except KeyError as exc:
            raise ScoringError(str(exc.args[0])) from None
        out[Scores.ACTION].append(play.action)
        out[Scores.ACTION_ROLE].append(play.role)
        out[Scores.ACTION_BASIS].append(play.basis)
    return pl.DataFrame(out, schema={k: pl.String for k in out})


# -- the run's record ---------------------------------------------------------------------------
def list_manifest(
    result: ScoredList,
    *,
    dataset: Dataset,
    model_version: str,
    model_source: str,
    config_hash: str,
    drift_psi: float,
    files: Mapping[str, bytes],
    history_reused: int = 0,
    timings: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The content of ``manifest.json``: what was scored, with which model, config and data.

    Everything except ``timings`` is a function of the inputs, so a rerun gives the same manifest;
    ``files`` holds the SHA-256 of every other file of the list.
    """
    import hashlib

    scores = result.scores
    zone_counts = {z: int((scores.get_column(Scores.ZONE) == z).sum()) for z in ZONES}
    last = last_data_before(dataset.tables, result.as_of)
    with_rows = (
        set(result.history.get_column(History.SNAPSHOT).unique().to_list())
        if result.history.height
        else set()
    )
    return {
        "as_of": result.as_of.isoformat(),
        "model": {"version": model_version, "source": model_source},
        "config_hash": config_hash,
        "data": {
            "name": dataset.name,
            "row_counts": dict(sorted(dataset.row_counts().items())),
            "checksums": dict(sorted(dataset.checksums.items())),
            "repairs": {k: dict(v) for k, v in sorted(dataset.repairs.counts.items())},
            "last_timestamp_before_as_of": None if last is None else last.isoformat(),
        },
        "clients_scored": scores.height,
        "zones": zone_counts,
        "new_in_red": int(scores.get_column(Scores.NEW_IN_RED).sum()),
        "arr": round(float(scores.get_column(Scores.ARR).sum()), 2),
        "arr_at_risk": round(float(scores.get_column(Scores.REVENUE_AT_RISK).sum()), 2),
        "rules_fired": {
            c.removeprefix("rule_"): int(scores.get_column(c).sum())
            for c in scores.columns
            if c.startswith("rule_")
        },
        "history": {
            # the weeks scored that hold clients (the health history's weeks before the data hold none)
            "snapshots_scored": [d.isoformat() for d in result.scored_snapshots if d in with_rows],
            "snapshots_reused": history_reused,
        },
        "drift": {
            "psi_threshold": drift_psi,
            "drifted": result.drifted,
            "drifted_model_weight": result.drift_weight,
            "expected": result.expected_drift,  # past the line by construction, with why: not drift
            "psi": dict(sorted(result.psi.items())),
        },
        "files": {name: hashlib.sha256(blob).hexdigest() for name, blob in sorted(files.items())},
        "timings": dict(timings or result.timings),
    }
