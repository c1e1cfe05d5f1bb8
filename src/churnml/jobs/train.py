"""The ``churnml train`` job: read data, train and compare, track in MLflow, export the champion.

The work itself is :func:`churnml.modeling.experiment.train_and_compare` (pure); this module reads and
writes. Steps:

1. read the dataset, build the labeled feature table (:func:`churnml.jobs.batches.training_table`);
2. read tuned LightGBM params (``train.params_file`` or ``<paths.tune>/<dataset>/best_params.json``) when present;
3. backtest the model and the baselines on the same rows, refit the deployed model on every labeled
   snapshot (:func:`churnml.modeling.experiment.train_and_compare`; oracle with ``--truth``);
4. judge the current champion's procedure on the same backtest rows and decide the gate
   (:mod:`churnml.modeling.champion`);
5. log params, windows, row counts, fold and pooled metrics, plots and the comparison to MLflow; log the
   model as a pyfunc, register it, move the ``champion`` alias when the gate says so;
6. export the champion to ``--out`` (default ``models/``) for batch jobs without the tracking store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from churnml.config import Config, LabelConfig, TrainConfig, config_hash
from churnml.contract.schemas import LABEL, SNAPSHOT, Subscriptions, Table
from churnml.contract.validation import ContractError
from churnml.jobs.batches import whole_labeled_table
from churnml.jobs.common import UserError, config_for, config_of, data_folder, with_data_folder
from churnml.jobs.inputs import HAZARD_FILE, read_tuned_params, truth_oracle
from churnml.modeling.card import ModelCard
from churnml.modeling.champion import Verdict
from churnml.modeling.evaluate import METRICS
from churnml.modeling.experiment import (
    Backtest,
    TrainingResult,
    comparison_markdown,
    fold_means,
    labeled_rows,
    not_lapsed_metrics,
    train_and_compare,
)
from churnml.modeling.export import (
    export_model,
    exported_dataset,
    exported_metadata,
    holds_model_of,
)
from churnml.modeling.train import ChurnModel, lightgbm_params

__all__ = ["BacktestReport", "TrainSummary", "comparison_table", "evidence_line", "run_training", "train"]


@dataclass
class TrainSummary:
    """What ``churnml train`` prints at the end."""

    result: TrainingResult
    run_id: str
    version: str
    promoted: bool
    reason: str
    exported_to: Path | None
    tracking_uri: str
    experiment: str
    tuned_from: Path | None
    seconds: dict[str, float]
    model_name: str  # the registered model's name (tracking.registered_name)
    replaced_dataset: str | None = None  # the export folder held this other dataset's model before
    kept: str | None = None  # not exported: the model version the export folder keeps for batch scoring

    def __repr__(self) -> str:
        """One line a notebook can read (the default printed every backtest table of ``result``)."""
        figure = ""
        if self.result.backtest.has_estimate:
            figure = f", pooled backtest PR-AUC {float(self.result.metrics.loc['model', 'pr_auc']):.4f}"
        verdict = "promoted" if self.promoted else "not promoted"
        return (
            f"TrainSummary({self.model_name} v{self.version} {verdict}{figure}; {self.reason}; "
            f"exported to {self.exported_to}; run {self.run_id})"
        )


# The train settings beside the LightGBM parameters that change the model a procedure builds from the same
# rows, recorded in its procedure (:func:`_procedure`) and refit from it (:func:`champion_refit`): the rows it
# learns from (snapshot_step, max_train_rows), its held-out clients (holdout_share, seed), its early stopping
# (early_stopping_rounds; max_rounds: train.lightgbm's n_estimators, the cap; cross_fit_rounds: one number of
# rounds for every cross-fitted part or each its own) and its calibration.
RECIPE_SETTINGS = (
    "snapshot_step",
    "max_train_rows",
    "holdout_share",
    "seed",
    "early_stopping_rounds",
    "max_rounds",
    "cross_fit_rounds",
    "calibration",
    "min_isotonic_positives",
)


def _setting(cfg: TrainConfig, name: str) -> Any:
    """The value of one of :data:`RECIPE_SETTINGS` in ``cfg``."""
    if name == "max_rounds":
        return lightgbm_params(cfg.lightgbm)[1]
    return getattr(cfg, name)


def _procedure(model: ChurnModel, cfg: TrainConfig) -> dict[str, Any]:
    """What makes two models the same recipe: LightGBM params (tuned included; ``extra_trees`` named true
    or false, :func:`churnml.modeling.train.model_from_config`), class weighting, whether monotone
    constraints were on, how many cross-fitted parts the model averages (1: one model; the rounds come
    from each run's own early stopping) and every other train setting that changes the model
    (:data:`RECIPE_SETTINGS`, the model's own values where it holds them). JSON values, as a model card
    stores them."""
    params = {
        k: v for k, v in dict(model.params or {}).items() if k not in ("n_estimators", "num_iterations")
    }
    settings = {name: _setting(cfg, name) for name in RECIPE_SETTINGS}
    settings |= {
        "seed": int(model.seed),
        "early_stopping_rounds": int(model.early_stopping_rounds),
        "calibration": str(model.calibration),
        "min_isotonic_positives": int(model.min_isotonic_positives),
    }
    return json.loads(
        json.dumps(
            {
                "params": params,
                "imbalance_power": float(model.imbalance_power),
                "monotone": bool(cfg.monotone),
                "cross_fit_parts": len(getattr(model, "part_iterations_", [])) or 1,
                **settings,
            },
            sort_keys=True,
            default=str,
        )
    )


def champion_refit(champ: Mapping[str, Any], cfg: TrainConfig) -> tuple[TrainConfig, dict[str, Any]]:
    """The train config and LightGBM parameters (``imbalance_power`` among them) that rebuild the champion's
    procedure ``champ`` (a card's ``procedure``) fold by fold: every value it records, and of the current
    config ``cfg`` only what changes no model (threads, batches, the gate's and the baselines' settings).

    A card written before a setting was recorded does not say it: its procedure then never equals a new
    one (the champion is refit, never given the challenger's figure), and the refit takes the setting's
    shipped default (:class:`~churnml.config.TrainConfig`'s; a card without a procedure: no monotone
    constraints). ``extra_trees`` is off unless its parameters name it: before it was always named, a
    model's parameters named it only when it was on. ``cross_fit_rounds`` is ``each`` when not recorded (its
    shipped ``auto`` decides by the table; every model before it was recorded kept each part's own rounds)."""
    shipped = TrainConfig()
    params = {
        k: v for k, v in dict(champ.get("params", {})).items() if k not in ("n_estimators", "num_iterations")
    }
    params.setdefault("extra_trees", False)
    recorded = {name: champ.get(name, _setting(shipped, name)) for name in RECIPE_SETTINGS}
    params["n_estimators"] = int(recorded.pop("max_rounds"))
    params["imbalance_power"] = float(champ.get("imbalance_power", shipped.imbalance_power))
    refit = cfg.model_copy(
        update={
            **recorded,
            "monotone": bool(champ.get("monotone", False)),
            "lightgbm": {},
            "extra_trees": bool(params["extra_trees"]),
            "cross_fit_parts": int(champ.get("cross_fit_parts", 1)),
            "cross_fit_rounds": champ.get("cross_fit_rounds", "each"),
            "cross_fit_max_rows": None,
            "cross_fit_large_rows": None,
        }
    )
    return TrainConfig.model_validate(refit.model_dump()), params


@dataclass(frozen=True)
class ChampionScore:
    """The current champion's procedure judged on this run's backtest rows: its version, its mean fold
    PR-AUC there (NaN when it cannot be judged), whether this run's recipe differs from it (parameters or
    features) and whether this run learned from labels newer than it did."""

    version: str
    score: float
    new_recipe: bool
    newer_labels: bool


def _newer_labels(meta: Mapping[str, Any], result: TrainingResult) -> bool:
    """Whether ``result``'s training window ends after the champion's (``meta``'s); False when unknown (an
    older champion's card: a new recipe must then clear the margin)."""
    from churnml.modeling.card import ModelCard

    last = ModelCard.from_dict(meta).last_labeled_snapshot()
    return last is not None and result.training_window[1] > last


def _champion_score(
    card: tuple[str, dict[str, Any]] | None,
    procedure: dict[str, Any],
    result: TrainingResult,
    table: pd.DataFrame,
    cfg: Config,
    say: Callable[[str], None],
) -> ChampionScore | None:
    """The current champion's procedure (its parameters and recorded settings, :func:`champion_refit`, on its
    own feature columns) judged on this run's backtest rows (None without a champion; NaN when its features
    are not all in ``table``). A procedure equal to ``procedure`` on the same columns is this run's: its
    figure is this run's, no refit."""
    from churnml.modeling.experiment import model_contender, run_backtest
    from churnml.modeling.train import monotone_directions

    if card is None or not result.backtest.has_estimate:
        return None
    version, meta = card
    champ = meta.get("procedure") or {"params": meta.get("params", {}), "monotone": False}
    # its own features: a challenger that adds a table (more columns) must beat the champion without them
    features = [str(f) for f in meta.get("feature_names") or result.features]
    newer = _newer_labels(meta, result)
    from churnml.modeling.export import FEATURE_SETTINGS_IGNORED, mismatch_texts, settings_mismatches

    other = settings_mismatches(
        "features",
        meta.get("features_config"),
        cfg.features.model_dump(mode="json"),
        FEATURE_SETTINGS_IGNORED,
    )
    if meta.get("features_config") is not None and other:
        # the same column names may mean other things (a login now counts sso_login too): its features would
        # have to be rebuilt with its settings; judged on these it would be this model, a comparison of nothing
        say(
            f"champion v{version} read its features with other settings ({'; '.join(mismatch_texts(other))}): "
            "it cannot be judged on these rows"
        )
        return ChampionScore(version, float("nan"), True, newer)
    if champ == procedure and features == list(result.features):
        return ChampionScore(version, float(fold_means(result.backtest).loc["model", "pr_auc"]), False, newer)
    missing = [f for f in features if f not in table.columns]
    if missing:
        say(
            f"champion v{version} read {len(missing)} feature(s) this table lacks ({', '.join(missing[:3])}"
            f"{', ...' if len(missing) > 3 else ''}): it cannot be judged on these rows"
        )
        return ChampionScore(version, float("nan"), True, newer)
    say(
        f"judging champion v{version}'s procedure on the same backtest rows "
        f"(its {len(features)} features; this model has {len(result.features)})"
    )
    train_cfg, params = champion_refit(champ, cfg.train)
    labeled = labeled_rows(table)
    monotone = monotone_directions(features, cfg.features)
    bt = run_backtest(
        labeled, features, result.plan, [model_contender(train_cfg, params, monotone)], train_cfg
    )
    if not bt.has_estimate or len(bt.predictions) != len(result.backtest.predictions):
        # not the same rows: no comparison (the challenger wins by default)
        return ChampionScore(version, float("nan"), True, newer)
    return ChampionScore(version, float(fold_means(bt).loc["model", "pr_auc"]), True, newer)


def _log_run(result: TrainingResult, cfg: Config, dataset: Any, tuned: Mapping[str, Any]) -> None:
    from churnml.modeling import plots, tracking

    backtest = backtest_record(result)
    tracking.log_params(
        {
            "config": cfg.model_dump(mode="json"),
            "config_hash": config_hash(cfg),
            "tuned": dict(tuned) or "none",
            "dataset": dataset.name,
            "data_window": f"{dataset.start:%Y-%m-%d} .. {dataset.as_of:%Y-%m-%d}",
            "training_window": f"{result.training_window[0]} .. {result.training_window[1]}",
            "backtest": {k: v for k, v in backtest.items() if k != "summary"},
            "backtest_summary": backtest["summary"],
            "n_features": len(result.features),
            "n_monotone": sum(1 for v in result.monotone.values() if v),
            "rules_used": ",".join(result.rules_used) or "none",
            "rounds": result.rounds_source,
            "extra_trees": result.extra_trees or f"{cfg.train.extra_trees} (train.extra_trees)",
            "calibration": f"{result.model.calibrator_.method_} on {result.calibration_source}",
            "scale_pos_weight": round(result.model.scale_pos_weight_, 4),
        }
    )
    tracking.log_metrics({f"rows_{k}": v for k, v in result.rows.items()})
    for name, row in result.metrics.iterrows():
        prefix = "backtest" if name == "model" else f"{name}_backtest"
        tracking.log_metrics({f"{prefix}_{m}": row[m] for m in METRICS})
    for name, row in not_lapsed_metrics(result.backtest.predictions, list(result.metrics.index)).iterrows():
        prefix = "backtest" if name == "model" else f"{name}_backtest"
        tracking.log_metrics({f"{prefix}_pr_auc_not_lapsed": row["pr_auc"]})
    if result.backtest.has_estimate:  # what the champion gate compares: the mean over the folds
        for name, row in fold_means(result.backtest).iterrows():
            prefix = "backtest" if name == "model" else f"{name}_backtest"
            tracking.log_metrics({f"{prefix}_pr_auc_fold_mean": row["pr_auc"]})
    for name, frame in (
        result.backtest.fold_metrics.groupby("contender") if not result.backtest.fold_metrics.empty else []
    ):
        for _, row in frame.iterrows():
            tracking.log_metrics(
                {f"{name}_fold_pr_auc": row["pr_auc"], f"{name}_fold_brier": row["brier"]}, int(row["fold"])
            )
    if result.backtest.has_estimate:
        tracking.log_text(comparison_markdown(result.metrics), "comparison.md")
        tracking.log_text(result.metrics.to_csv(), "comparison.csv")
        tracking.log_text(result.backtest.fold_metrics.to_csv(index=False), "metrics_by_fold.csv")
        monthly_all = pd.concat([m.assign(contender=n) for n, m in result.monthly.items()])
        tracking.log_text(monthly_all.to_csv(index=False), "metrics_by_month.csv")
        calib_all = pd.concat([c.assign(contender=n) for n, c in result.calibration.items()])
        tracking.log_text(calib_all.to_csv(index=False), "calibration_table.csv")
    tracking.log_text(result.model.feature_importance("gain").to_csv(), "feature_importance.csv")
    import matplotlib.pyplot as plt

    figures: list[tuple[Callable[[], Any], str]] = [
        (lambda: plots.importance_figure(result.model), "plots/feature_importance.png"),
        (
            lambda: plots.shap_summary_figure(result.model, result.X_sample, seed=cfg.train.seed),
            "plots/shap_summary.png",
        ),
    ]
    if result.backtest.has_estimate:
        figures += [
            (lambda: plots.calibration_figure(result.calibration), "plots/calibration.png"),
            (lambda: plots.gain_figure(result.gains), "plots/lift_gain.png"),
        ]
    for draw, name in figures:  # one at a time: each is drawn, logged and closed before the next
        fig = draw()
        tracking.log_figure(fig, name)
        plt.close(fig)


def _model_card(
    result: TrainingResult, cfg: Config, dataset: Any, procedure: dict[str, Any], name: str
) -> ModelCard:
    """The model card written beside the exported model and logged with it (before the gate's verdict
    and the run id are known); ``name``: the registered model's."""
    metrics = result.metrics
    return ModelCard(
        model_name=name,
        trained_at=datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        config_hash=config_hash(cfg),
        label=cfg.label.model_dump(mode="json"),
        features_config=cfg.features.model_dump(mode="json"),
        timezone=cfg.data.timezone,
        horizon_days=cfg.label.horizon_days,
        dataset=dataset.name,
        data_window=[f"{dataset.start:%Y-%m-%d}", f"{dataset.as_of:%Y-%m-%d}"],
        training_window=[str(result.training_window[0]), str(result.training_window[1])],
        rows=result.rows,
        rounds=result.rounds_source,
        calibration_source=result.calibration_source,
        procedure=procedure,
        monotone_features=sorted(k for k, v in result.monotone.items() if v),
        backtest=backtest_record(result),
        backtest_metrics={n: {k: float(v) for k, v in row.items()} for n, row in metrics.iterrows()},
        feature_reference=result.feature_reference,
        season_reference=result.season_reference or None,
    )


@dataclass(frozen=True)
class _Trained:
    result: TrainingResult
    tuned: dict[str, Any] | None
    tuned_from: Path | None
    lone: tuple[str, float] | None = (
        None  # the gate's leak check (:func:`_best_lone_feature`), None: unchecked
    )


@dataclass(frozen=True)
class BacktestReport:
    """What ``churnml train`` says as soon as the backtest ends, before the deployed fit (which takes the
    longest): ``backtest`` (its test rows already quiet marked, as the final result's), ``gate`` (the
    verdict the baselines alone decide, :func:`churnml.modeling.champion.baselines_verdict_text`) and
    ``deployed`` (what the deployed fit is about to do, :func:`churnml.modeling.experiment.deployed_fit_text`)."""

    backtest: Backtest
    gate: str
    deployed: str


def _quiet_rows_marked(backtest: Backtest, table: pd.DataFrame, cfg: Config) -> Backtest:
    """Under the inactivity label, the backtest's test rows of clients already quiet for half of
    ``label.inactivity_days`` marked (:func:`churnml.modeling.experiment.with_quiet_rows`): the "PR-AUC not
    lapsed" of the table and MLflow leaves them out (the early warning among clients still active)."""
    from churnml.modeling.experiment import with_quiet_rows

    if cfg.label.source not in ("inactivity", "mixed") or not backtest.has_estimate:
        return backtest
    return with_quiet_rows(backtest, table, cfg.label.inactivity_days / 2)


def _checked_labels(table: pd.DataFrame, dataset: Any, cfg: Config) -> None:
    """Refuse a table without a labeled row (saying which horizon would label some with this data) or
    without a single churner among them (:func:`no_churner_message`)."""
    from churnml.labels import fitting_horizon, label_lag_days
    from churnml.modeling.experiment import no_labels_message
    from churnml.pipeline import training_snapshots

    labeled = labeled_rows(table)
    if not labeled.empty and labeled[LABEL].sum() > 0:
        return
    if not labeled.empty:
        raise ValueError(no_churner_message(labeled, dataset, cfg))
    lag = label_lag_days(cfg.label)
    fits = fitting_horizon(training_snapshots(dataset, cfg.snapshots, cfg.label), dataset.as_of, lag)
    raise ValueError(no_labels_message(cfg.label.horizon_days, lag, fits))


def no_churner_message(labeled: pd.DataFrame, dataset: Any, cfg: Config) -> str:
    """Why a labeled table without a single churner cannot train, and what would: with subscriptions,
    when the next base term is due to end (:func:`next_term_end_after`: young data of annual terms cannot
    show a churn yet)."""
    snaps = pd.to_datetime(labeled[SNAPSHOT])
    head = (
        f"no churner among the {len(labeled):,} labeled rows (snapshots {snaps.min():%Y-%m-%d} .. "
        f"{snaps.max():%Y-%m-%d}): there is nothing to learn from yet"
    )
    subs = dataset.tables.get(Table.SUBSCRIPTIONS) if cfg.label.source == "subscriptions" else None
    if subs is None or subs.height == 0:
        return f"{head}; use longer data or a longer label.horizon_days"
    next_end = next_term_end_after(subs, snaps.max())
    if next_end is None:
        return f"{head}; use longer data or a longer label.horizon_days"
    return (
        f"{head}. With label.source subscriptions a churn is a term that ends unrenewed, and the next term "
        f"is due to end on {next_end:%Y-%m-%d}: record cancellations in a churns table and set label.source: "
        "churns, or set label.source: inactivity (no activity in the horizon), to train now; or wait for the "
        "next renewals"
    )


def next_term_end_after(subscriptions: Any, day: Any) -> Any:
    """The earliest ``end_date`` of a base term (:func:`churnml.labels.customer_terms`: add-ons aside) after
    ``day`` (the last labeled snapshot), or None when every term ended by then: terms that ended (and were
    renewed) before it cannot be the churn the data waits for."""
    from churnml.labels import customer_terms

    ends = customer_terms(subscriptions).get_column(Subscriptions.END_DATE).drop_nulls()
    later = [end for end in ends.to_list() if pd.Timestamp(end) > pd.Timestamp(day)]
    return min(later) if later else None


def _best_lone_feature(
    backtest: Backtest, features: list[str], table: pd.DataFrame, cfg: Config
) -> tuple[str, float] | None:
    """The feature that ranks the backtest's test rows best by itself, and its PR-AUC (None without a
    usable fold, or with no ``train.max_credible_pr_auc`` to hold it to): the champion gate's leak check."""
    from churnml.modeling.experiment import lone_feature_pr_auc

    if not backtest.has_estimate or cfg.train.max_credible_pr_auc is None:
        return None
    alone = lone_feature_pr_auc(labeled_rows(table), features, backtest.plan, cfg.train)
    return (str(alone.index[0]), float(alone.iloc[0])) if len(alone) else None


def usual_leak_cause(label: LabelConfig) -> str:
    """The usual cause of a backtest too good to be true under the (resolved) ``label`` settings."""
    if label.source in ("inactivity", "mixed") and label.inactivity_days > label.horizon_days:
        return (
            f"The usual cause under the inactivity label: label.inactivity_days ({label.inactivity_days}) is longer "
            f"than label.horizon_days ({label.horizon_days}), so a client silent for {label.horizon_days} to "
            f"{label.inactivity_days} days still counts as active while its label is all but decided (no "
            "activity in the horizon): no leak, an easy question. Set label.inactivity_days at most "
            "label.horizon_days (e.g. both equal), or a longer horizon"
        )
    if label.source in ("subscriptions", "mixed"):
        return (
            "The usual cause: subscriptions.end_date set to when a subscription was cancelled (a row per "
            "subscription, as a billing system's export gives it): a term's end_date must be its scheduled end, "
            "known when it starts, and a cancellation known only later belongs in churns"
        )
    return (
        "The usual cause: a column written after the fact (a status or date the export updates when the "
        "client leaves, an event the cancellation itself logs)"
    )


def leak_note(
    pr_auc: float,
    model: ChurnModel,
    features: Any,
    shown: int = 3,
    lone: tuple[str, float] | None = None,
    *,
    label: LabelConfig,
) -> str:
    """What ``train`` says of a backtest too good to be true: the features the model leans on most
    (share of its gain, plain name), the feature that ranks the test rows best by itself (``lone``), and
    the usual cause under the ``label`` settings (:func:`usual_leak_cause`)."""
    from churnml.jobs.score import feature_labels
    from churnml.scoring.assemble import gain_share_text, model_weight

    weight = model_weight(model, model.feature_names_)
    top = [name for name, share in weight.items() if share > 0][:shown]
    labels = feature_labels([*top, *([lone[0]] if lone else [])], features)
    leans = ", ".join(f"{labels[n]} ({n}, {gain_share_text(weight[n])} of its gain)" for n in top)
    alone = f"; {labels[lone[0]]} ({lone[0]}) alone {lone[1]:.3f}" if lone and lone[1] >= pr_auc else ""
    return (
        f"the backtest is too good to be true (PR-AUC {pr_auc:.3f}{alone}): churn data does not give that, a column "
        f"that holds the future does. The model leans on {leans}. "
        f"{usual_leak_cause(label)}. If the churn is truly "
        "announced ahead (a notice period), set train.max_credible_pr_auc: null"
    )


def first_row_snapshot(table: pd.DataFrame) -> date | None:
    """The first snapshot of the labeled training ``table`` (one row per client x snapshot), None when it is
    empty: what the hint of a horizon with a fold and :func:`fold_reach` plan from (:func:`snapshots_with_rows`)."""
    return pd.Timestamp(table[SNAPSHOT].min()).date() if len(table) else None


def snapshots_with_rows(snapshots: list[date], rows_from: date | None) -> list[date]:
    """The weekly ``snapshots`` from ``rows_from``, the first snapshot of the training table (None: all of
    them): a snapshot before any client is active holds no training row, whatever the horizon, so no fold
    trains on it. The grid starts at the data's first record, which may be a log that begins long before the
    clients are customers (a ticket of a patient who left before the other exports begin)."""
    return [s for s in snapshots if rows_from is None or s >= rows_from]


def fold_reach(
    dataset: Any, cfg: Config, rows_from: date | None, horizon_days: int
) -> tuple[int, int | None]:
    """What this data's backtest allows a ``label.horizon_days`` of ``horizon_days``: (the days of data more
    it needs for a first out-of-time fold, 0 when it has one now; the longest horizon under it that gives one
    now, None when none does). Planned as :func:`horizon_hinted` plans its hint: on the snapshots from
    ``rows_from``, the training table's first (:func:`snapshots_with_rows`), labeled when ``snapshot +
    horizon + label lag`` is behind the data's end. What a rhythm note's suggested horizon is told against
    (:func:`churnml.labels.pauses_past_horizon_note`: a horizon covering the pauses may leave no fold)."""
    from churnml.labels import label_lag_days, resolved_label
    from churnml.modeling.backtest import backtest_plan, longest_horizon_with_a_fold
    from churnml.pipeline import training_snapshots

    label = cfg.label.model_copy(update={"horizon_days": horizon_days})
    lag = label_lag_days(resolved_label(label, dataset.tables))
    snaps = sorted(snapshots_with_rows(training_snapshots(dataset, cfg.snapshots, label), rows_from))
    end = dataset.as_of.date()
    labeled = [s for s in snaps if (end - s).days >= horizon_days + lag]
    if labeled:
        wait = backtest_plan(labeled, cfg.train, horizon_days, lag).days_short
    elif snaps:  # none labeled yet: a week of test snapshots after training and the gap, each labeled
        needs = snaps[0] + timedelta(days=cfg.train.min_train_days + 2 * (horizon_days + lag) + 6)
        wait = max(1, (needs - end).days)
    else:
        wait = cfg.train.min_train_days + horizon_days + lag + 7
    longest = None if wait == 0 else longest_horizon_with_a_fold(snaps, end, lag, cfg.train, horizon_days)
    return wait, longest


def _pauses_cut(dataset: Any, cfg: Config, hinted: int) -> str:
    """:func:`churnml.labels.pauses_cut_by_hint` of the clients' activity under the inactivity (and mixed)
    label, "" under another label or when the dataset holds neither events nor payments (a portfolio read batch
    by batch)."""
    from churnml.labels import activity_day_gaps, inactivity_activity, pauses_cut_by_hint, resolved_label

    label = resolved_label(cfg.label, dataset.tables)
    if label.source not in ("inactivity", "mixed") or not any(
        t in dataset.tables for t in (Table.EVENTS, Table.PAYMENTS)
    ):
        return ""
    gaps = activity_day_gaps(inactivity_activity(dataset, label))
    return pauses_cut_by_hint(gaps, hinted, cfg.label.horizon_days)


def grace_with_a_fold(
    snapshots: Any, known_until: date, lag_days: int, cfg: Any, horizon_days: int
) -> int | None:
    """The longest ``label.grace_days`` of at least 1 and under ``lag_days`` (the grace the labels wait now)
    whose labeled snapshots give this data a backtest fold with the horizon kept
    (:func:`churnml.modeling.backtest.longest_horizon_with_a_fold` with that lag); None when none does, or
    without a lag (labels that wait no grace). A project-management SaaS with 5 months of monthly terms under 30
    days + 30 was told only "label.horizon_days: 13 or less gives one now", while its cards renew at once: 30 + 7
    gave a fold. ``cfg``: the train settings."""
    from churnml.modeling.backtest import longest_horizon_with_a_fold

    for grace in range(lag_days - 1, 0, -1):
        if longest_horizon_with_a_fold(snapshots, known_until, grace, cfg, horizon_days + 1) == horizon_days:
            return grace
    return None


def horizon_hinted(
    notes: list[str], summary: str, dataset: Any, cfg: Config, rows_from: date | None = None
) -> list[str]:
    """``notes`` with the note ``summary`` (no backtest fold yet) telling the longest horizon that gives one
    with this data, when a shorter horizon than the configured one does; else ``notes`` as they are.
    ``rows_from``: the first snapshot of the training table (:func:`snapshots_with_rows`); the folds of a
    hinted horizon are planned on the snapshots from it, as the backtest plans them on the table's."""
    from churnml.labels import label_lag_days
    from churnml.modeling.backtest import longest_horizon_with_a_fold
    from churnml.pipeline import training_snapshots

    if summary not in notes:
        return notes
    lag = label_lag_days(cfg.label)
    snaps = snapshots_with_rows(training_snapshots(dataset, cfg.snapshots, cfg.label), rows_from)
    fits = longest_horizon_with_a_fold(snaps, dataset.as_of.date(), lag, cfg.train, cfg.label.horizon_days)
    said = [f"labels also wait label.grace_days: {lag} after it"] if lag else []
    said += [cut] if fits is not None and (cut := _pauses_cut(dataset, cfg, fits)) else []
    waits = f" ({'; '.join(said)})" if said else ""
    hints = [f"label.horizon_days: {fits} or less gives one now{waits}"] if fits is not None else []
    # or keep the question and wait a shorter grace: a monthly plan charged by card renews at once or not at all
    grace = grace_with_a_fold(snaps, dataset.as_of.date(), lag, cfg.train, cfg.label.horizon_days)
    if grace is not None:
        hints.append(
            f"keeping the horizon, label.grace_days: {grace} or less gives one now, if a client whose term lapsed "
            f"and renews does so within {grace} days of its end (the gaps between a term's end and the client's "
            "next term show it)"
        )
    # or keep the question and start earlier: snapshots after fewer days of data, folds on fewer days
    least = _SHORT_HISTORY_DAYS
    if cfg.snapshots.min_history_days > least or cfg.train.min_train_days > least:
        shorter = cfg.snapshots.model_copy(
            update={"min_history_days": min(cfg.snapshots.min_history_days, least)}
        )
        train = cfg.train.model_copy(update={"min_train_days": min(cfg.train.min_train_days, least)})
        early = snapshots_with_rows(training_snapshots(dataset, shorter, cfg.label), rows_from)
        h = cfg.label.horizon_days
        if longest_horizon_with_a_fold(early, dataset.as_of.date(), lag, train, h + 1) == h:
            hints.append(
                f"keeping the horizon, snapshots.min_history_days: {shorter.min_history_days} and "
                f"train.min_train_days: {train.min_train_days} give one now (a thin estimate)"
            )
    if not hints:
        return notes
    hinted = f"{summary}; with this data, {'; or, '.join(hints)}"
    return [hinted if note == summary else note for note in notes]


def next_term_ends(dataset: Any, cfg: Config) -> list[date]:
    """The days the active clients' running terms end at the data's end (:func:`churnml.labels.running_term_ends`
    of the customer terms, on ``dataset.as_of``), sorted and distinct: the days churns can next happen, read
    when every backtest fold is skipped (:func:`churnml.modeling.experiment.no_judged_fold_note`). Empty
    without a subscriptions table or under the inactivity label."""
    from churnml.labels import customer_terms, running_term_ends

    subs = dataset.tables.get(Table.SUBSCRIPTIONS)
    if subs is None or subs.height == 0 or cfg.label.source == "inactivity":
        return []
    day = dataset.as_of.date()
    running = running_term_ends(customer_terms(subs), [day])
    return sorted({day + timedelta(days=int(d)) for d in running.get_column("days_to_end").unique()})


# the weekly snapshots of the last year, one in every this many, judge whether terms end beyond the horizon
_REACH_EVERY_WEEKS = 4


def horizon_reach_note(dataset: Any, cfg: Config, rows_from: date | None = None) -> str | None:
    """Under the subscriptions label, :func:`churnml.labels.terms_beyond_horizon_note` at every fourth weekly
    snapshot of the data's last year (13 snapshots: a share that does not depend on the season the data ends
    in): most active clients' terms end more than ``label.horizon_days`` after the snapshot, so the model
    can flag a non-renewal only that close to it. None otherwise. ``rows_from``: the first snapshot of the
    training table (:func:`snapshots_with_rows`), from which the longest horizon judged now is planned."""
    from churnml.labels import customer_terms, label_lag_days, terms_beyond_horizon_note
    from churnml.modeling.backtest import longest_horizon_with_a_fold
    from churnml.pipeline import training_snapshots

    subs = dataset.tables.get(Table.SUBSCRIPTIONS)
    if subs is None or subs.height == 0 or cfg.label.source not in ("subscriptions", "mixed"):
        return None
    snaps = sorted(snapshots_with_rows(training_snapshots(dataset, cfg.snapshots, cfg.label), rows_from))
    if not snaps:
        return None
    last, step = snaps[-1], 7 * _REACH_EVERY_WEEKS
    year = [d for d in snaps if (last - d).days < 364 and (last - d).days % step == 0]
    lag = label_lag_days(cfg.label)
    # the longest horizon this data judges with a fold now (0: none): a longer suggestion is for later
    longest = longest_horizon_with_a_fold(
        snaps, dataset.as_of.date(), lag, cfg.train, _LONGEST_HORIZON_DAYS + 1
    )
    return terms_beyond_horizon_note(
        customer_terms(subs), year, cfg.label.horizon_days, longest_labeled=longest or 0
    )


def zones_note(table: pd.DataFrame, cfg: Config) -> str | None:
    """:func:`churnml.scoring.standing.zones_below_churn_rate_note` of the labeled rows of ``table`` (the
    labeled feature table: its ``label`` column, null where unlabeled): the yellow threshold at or below their
    churn rate within ``label.horizon_days``. None otherwise."""
    from churnml.scoring.standing import zones_below_churn_rate_note

    labels = table[LABEL].dropna() if LABEL in table.columns else pd.Series(dtype=float)
    rate = float(labels.mean()) if len(labels) else None
    return zones_below_churn_rate_note(cfg.score.zones, rate, cfg.label.horizon_days)


# the longest horizon :func:`horizon_reach_note` looks for a backtest fold with (two years)
_LONGEST_HORIZON_DAYS = 730


# the shortest history and training span the "no backtest yet" hint proposes
_SHORT_HISTORY_DAYS = 14


def _trained(
    table: pd.DataFrame,
    cfg: Config,
    truth: Path | None,
    say: Callable[[str], None],
    dataset_name: str,
    unlabeled_rows: int = 0,
    upcoming: list[date] | None = None,
    data_end: date | None = None,
    on_backtest: Callable[[BacktestReport], None] | None = None,
) -> _Trained:
    """Backtest, compare and refit on ``table`` (the dataset's tuned params and the oracle read when
    present; ``unlabeled_rows``: the unlabeled rows already left out of ``table``; ``upcoming``: the days
    churns can next happen, :func:`next_term_ends`; ``data_end``: the data's end, ``Dataset.as_of``).
    ``on_backtest`` hears the :class:`BacktestReport` as soon as the backtest ends, before the deployed
    fit (without it, ``say`` hears what the deployed fit is about to do)."""
    from churnml.labels import label_lag_days
    from churnml.modeling.baselines import baseline_rules
    from churnml.modeling.champion import baselines_verdict_text
    from churnml.modeling.experiment import feature_columns
    from churnml.modeling.train import monotone_directions

    tuned, tuned_from = read_tuned_params(cfg, dataset_name)
    oracle = truth_oracle(truth, cfg.label.horizon_days)
    features = feature_columns(table)
    monotone = monotone_directions(features, cfg.features)
    early: dict[str, Any] = {}

    def backtest_done(backtest: Backtest, deployed: str) -> None:
        early["backtest"] = marked = _quiet_rows_marked(backtest, table, cfg)
        early["lone"] = lone = _best_lone_feature(marked, features, table, cfg)
        if on_backtest is None:
            say(deployed)
            return
        max_credible = cfg.train.max_credible_pr_auc
        on_backtest(
            BacktestReport(
                marked, baselines_verdict_text(fold_means(marked), "pr_auc", max_credible, lone), deployed
            )
        )

    result = train_and_compare(
        table,
        cfg.train,
        cfg.label.horizon_days,
        tuned,
        oracle,
        say,
        label_lag_days(cfg.label),
        monotone,
        unlabeled_rows,
        baseline_rules(cfg.rules),
        upcoming or (),
        data_end,
        backtest_done,
    )
    result = replace(result, backtest=early["backtest"])
    if truth is not None and oracle is None:
        skipped = f"oracle: no {HAZARD_FILE} in --truth {truth} (not generated data?); row skipped"
        result = replace(result, notes=[*result.notes, skipped])
    return _Trained(result, tuned, tuned_from, early["lone"])


def _registry_tags(result: TrainingResult, dataset: Any, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The tags of the registered model version."""
    from churnml.modeling import tracking

    return {
        "feature_hash": tracking.feature_hash(result.model.feature_names_),
        "training_window": metadata["training_window"],
        "backtest": metadata.get("backtest", {}).get("summary", result.plan.summary()),  # skipped folds said
        "backtest_pr_auc": (
            round(float(result.metrics.loc["model", "pr_auc"]), 6) if result.backtest.has_estimate else "none"
        ),
        "dataset": dataset.name,
        "config_hash": metadata["config_hash"],
    }


def _tracked_and_exported(
    trained: _Trained,
    cfg: Config,
    dataset: Any,
    card: ModelCard,
    decision: Verdict,
    out: Path,
    say: Callable[[str], None],
) -> tuple[str, str, Path | None]:
    """Log the run to MLflow, register the model, record the gate's decision and export the champion
    for batch jobs: (run id, model version, export folder or None)."""
    from churnml.modeling import tracking

    result, uri, name = trained.result, tracking.tracking_uri(cfg.tracking), card.model_name or ""
    experiment = tracking.experiment_name(cfg.tracking, dataset.name)
    scratch = tracking.scratch_folder()
    try:
        with tracking.tracked_run(uri, experiment, run_name=f"train-{dataset.name}") as run_id:
            say("logging to MLflow")
            card = replace(card, run_id=run_id)
            metadata = card.to_dict()
            _log_run(result, cfg, dataset, trained.tuned)
            folder = export_model(result.model, scratch / "model", metadata)
            model_uri = tracking.log_churn_model(result.model, folder, result.X_sample)
            version = tracking.register_model(model_uri, name, _registry_tags(result, dataset, metadata))
            tracking.record_promotion(uri, name, version, decision.promoted, decision.reason)
            tracking.log_params({"promoted": decision.promoted, "promotion_reason": decision.reason[:500]})
        exported = _export_for_batch(
            result, out, replace(card, model_version=version).to_dict(), decision.promoted, cfg, name
        )
    finally:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    return run_id, version, exported


def run_training(
    dataset: Any,
    cfg: Config,
    truth: Path | None,
    out: Path,
    progress: Callable[[str], None] | None = None,
    table: pd.DataFrame | None = None,
    unlabeled_rows: int = 0,
    on_backtest: Callable[[BacktestReport], None] | None = None,
) -> TrainSummary:
    """Everything ``churnml train`` does after reading the dataset (module docstring). ``table``: the
    labeled table when already built (``unlabeled_rows``: the unlabeled rows left out of it);
    ``on_backtest``: hears the :class:`BacktestReport` as soon as the backtest ends, before the deployed fit."""
    from churnml.modeling import tracking
    from churnml.modeling.champion import verdict

    cfg = config_of(dataset, cfg)  # label.source auto (train() resolved it from the folder already)
    say = progress or (lambda _m: None)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    if table is None:
        say("building the labeled feature table")
        labeled = whole_labeled_table(dataset, cfg, say)
        table, unlabeled_rows = labeled.frame, labeled.unlabeled
        seconds["features"] = round(time.perf_counter() - t0, 2)
    _checked_labels(table, dataset, cfg)
    t1 = time.perf_counter()
    upcoming = next_term_ends(dataset, cfg)
    trained = _trained(
        table, cfg, truth, say, dataset.name, unlabeled_rows, upcoming, dataset.as_of.date(), on_backtest
    )
    result = trained.result
    rows_from = first_row_snapshot(table)
    if not result.plan.has_folds:
        hinted = horizon_hinted(result.notes, result.plan.summary(), dataset, cfg, rows_from)
        result = replace(result, notes=hinted)
    reach = horizon_reach_note(dataset, cfg, rows_from)
    if reach is not None:
        result = replace(result, notes=[*result.notes, reach])
    zones = zones_note(table, cfg)
    if zones is not None:
        result = replace(result, notes=[*result.notes, zones])
    seconds["backtest_train"] = round(time.perf_counter() - t1, 2)

    t2 = time.perf_counter()
    uri = tracking.tracking_uri(cfg.tracking)
    name = tracking.registered_name(cfg.train.model_name, dataset.name)
    # the settings `auto` decided for this table, as the backtest and the deployed model were built
    procedure = _procedure(result.model, result.settings)
    champion = _champion_score(tracking.champion_card(uri, name), procedure, result, table, cfg, say)
    means = fold_means(result.backtest)
    lone = trained.lone
    decision = verdict(
        means,
        None if champion is None else (champion.version, champion.score),
        max_credible=cfg.train.max_credible_pr_auc,
        lone=lone,
        new_recipe=champion is not None and champion.new_recipe,
        newer_labels=champion is None or champion.newer_labels,
        margin=cfg.train.champion_margin,
    )
    if decision.too_good:
        leak = leak_note(
            float(means.loc["model", "pr_auc"]), result.model, cfg.features, lone=lone, label=cfg.label
        )
        result = replace(result, notes=[*result.notes, leak])
    card = replace(
        _model_card(result, cfg, dataset, procedure, name),
        promoted=decision.promoted,
        promotion_reason=decision.reason,
    )
    held = exported_dataset(Path(out))
    run_id, version, exported = _tracked_and_exported(trained, cfg, dataset, card, decision, out, say)
    seconds["tracking_export"] = round(time.perf_counter() - t2, 2)
    seconds["total"] = round(time.perf_counter() - t0, 2)
    return TrainSummary(
        result,
        run_id,
        version,
        decision.promoted,
        decision.reason,
        exported,
        uri,
        tracking.experiment_name(cfg.tracking, dataset.name),
        trained.tuned_from,
        seconds,
        name,
        held if exported is not None and held not in (None, dataset.name) else None,
        None if exported is not None or held is None else exported_metadata(Path(out)).get("model_version"),
    )


def _export_for_batch(
    result: TrainingResult, out: Path, metadata: dict[str, Any], promoted: bool, cfg: Config, name: str
) -> Path | None:
    """The champion goes to ``out`` for batch jobs: this model when promoted; else the store's champion
    (registered as ``name``) when ``out`` holds no model of this dataset (none, or another dataset's);
    else, with no champion at all (no evidence yet: the first runs on young data), this model, its card
    saying it was not promoted, unless ``out`` holds a model of this dataset that was promoted."""
    from churnml.modeling import tracking
    from churnml.modeling.train import ChurnModel

    if promoted:
        return export_model(result.model, out, metadata)
    held = holds_model_of(Path(out), metadata.get("dataset"))
    try:
        champ, champ_meta = tracking.load_champion(cfg.tracking, name)
    except FileNotFoundError:
        # no champion: no model has evidence yet, and the newest one saw the latest labels and settings;
        # a model that was promoted (in another tracking store) is not replaced by one without evidence
        unproven = not held or exported_metadata(Path(out)).get("promoted") is False
        return export_model(result.model, out, metadata) if unproven else None
    if held:
        return None
    return export_model(champ, out, champ_meta) if isinstance(champ, ChurnModel) else None


def _used_folds(bt: Backtest) -> set[int]:
    predictions = bt.predictions
    return set(predictions["fold"].unique().tolist()) if "fold" in predictions.columns else set()


def backtest_record(result: TrainingResult) -> dict[str, str]:
    """The backtest as the model card, MLflow and the registry's tag record it: the plan's fold boundaries,
    each fold that gave no result marked skipped, and the summary with what was used ("4 out-of-time fold(s)
    ...; 1 used, folds 1, 2, 3 skipped", "...; none used, every fold skipped"): a card listing four folds of
    which one ran read as four, and one of which none ran as an estimate."""
    used = _used_folds(result.backtest)
    planned = [f.number for f in result.plan.folds]
    record = result.plan.describe()
    for n in planned:
        if n not in used:
            record[f"fold_{n}"] += " (skipped: see the notes)"
    # every planned fold skipped: no estimate, which the title of the plan alone ("2 out-of-time fold(s)") hid
    none = "; none used, every fold skipped (see the notes)" if planned and not used else ""
    return {**record, "summary": result.plan.summary() + skipped_folds_text(planned, used) + none}


def skipped_folds_text(planned: list[int], used: set[int]) -> str:
    """What the backtest's title adds when folds of the plan were skipped (a fold whose training rows hold
    no churner): "; 3 used, fold 1 skipped (see the notes)"; empty when every fold (or none) was used."""
    skipped = [n for n in planned if n not in used]
    if not skipped or not used:
        return ""
    folds = f"fold{'s' if len(skipped) > 1 else ''} {', '.join(map(str, skipped))}"
    return f"; {len(planned) - len(skipped)} used, {folds} skipped (see the notes)"


def evidence_line(bt: Backtest) -> str | None:
    """How much the backtest's figures rest on: its churning clients and the model's lead over the best
    baseline with its interval (:func:`churnml.modeling.benchmark.backtest_evidence`); None without one."""
    from churnml.modeling.benchmark import backtest_evidence

    if not bt.has_estimate:
        return None
    return backtest_evidence(bt.predictions, [str(n) for n in bt.metrics.index], bt.test_churners)


def comparison_table(bt: Backtest) -> Any:
    """The Rich table printed by ``churnml train`` as soon as the backtest ``bt`` ends: one row per
    contender, pooled backtest metrics, with the per-fold PR-AUC mean and spread."""
    from rich.table import Table as RichTable

    from churnml.modeling.experiment import ANNOUNCED, LAPSED, QUIET, fold_summary, not_lapsed_metrics

    ahead = not_lapsed_metrics(bt.predictions, list(bt.metrics.index))
    lapsed = int(bt.predictions[LAPSED].sum()) if LAPSED in bt.predictions.columns else 0
    quiet = int(bt.predictions[QUIET].sum()) if QUIET in bt.predictions.columns else 0
    announced = int(bt.predictions[ANNOUNCED].sum()) if ANNOUNCED in bt.predictions.columns else 0
    why = (
        "whose term had already ended (in their grace period: the term's end alone ranks them)"
        if quiet == 0
        else "already quiet for half of label.inactivity_days (the silence alone ranks them)"
        if quiet == lapsed
        else f"already quiet for half of label.inactivity_days ({quiet:,}) or in a grace period"
    )
    if announced:
        why += f", or that had asked to cancel in the last 91 days ({announced:,} of them had)"
    unused = skipped_folds_text([f.number for f in bt.plan.folds], _used_folds(bt))
    table = RichTable(
        title=f"Backtest: {bt.plan.summary()}{unused} ({len(bt.predictions):,} test rows, "
        f"{int(bt.predictions[LABEL].sum()) if not bt.predictions.empty else 0:,} churn labels)",
        caption=(
            f"PR-AUC not lapsed: without the {lapsed:,} test rows of clients {why}, the early warning itself"
            if not ahead.empty
            else None
        ),
    )
    cols = {
        "pr_auc": "PR-AUC",
        "roc_auc": "ROC-AUC",
        "lift_10": "lift@10%",
        "recall_10": "rec@10%",
        "brier": "Brier",
        "log_loss": "logloss",
        "ece": "ECE",
    }
    spread = fold_summary(bt)
    table.box = None
    table.add_column("contender", no_wrap=True, min_width=8)
    for header in cols.values():
        table.add_column(header, justify="right")
    table.add_column("PR-AUC by fold (mean ± sd)", justify="right")
    if not ahead.empty:
        table.add_column("PR-AUC not lapsed", justify="right")
    for name, row in bt.metrics.iterrows():
        by_fold = (
            by_fold_said(spread.loc[name, "mean"], spread.loc[name, "std"], int(spread.loc[name, "folds"]))
            if name in spread.index
            else "-"
        )
        extra = [] if ahead.empty else [f"{ahead.loc[name, 'pr_auc']:.3f}" if name in ahead.index else "-"]
        table.add_row(
            str(name), *("-" if pd.isna(row[c]) else f"{row[c]:.3f}" for c in cols), by_fold, *extra
        )
    return table


def by_fold_said(mean: float, std: float, folds: int) -> str:
    """A contender's PR-AUC over the backtest folds as the table says it: "0.338 ± 0.012 (4)", the mean, the
    spread and the folds; one fold has no spread, "0.448 (1 fold)" (a 5-month SaaS's single fold read
    "0.448 ± 0.000 (1)", as if its figure were certain)."""
    return f"{mean:.3f} (1 fold)" if folds == 1 else f"{mean:.3f} ± {std:.3f} ({folds})"


def train(
    data: Path | None,
    cfg: Config,
    truth: Path | None,
    out: Path | None,
    progress: Callable[[str], None] | None = None,
    on_backtest: Callable[[BacktestReport], None] | None = None,
) -> TrainSummary:
    """``churnml train``: refuse a wrong export folder or an unreadable tracking store before any work,
    read the dataset folder (``--data``, else ``paths.data``) and build the labeled table (batch by
    batch on a big portfolio: :func:`churnml.jobs.batches.training_table`), then :func:`run_training`;
    the champion goes to ``out`` (else ``paths.models``). ``on_backtest`` hears the backtest's figures as
    soon as it ends (:class:`BacktestReport`), before the deployed fit."""
    import polars as pl

    from churnml.contract.io import dataset_files
    from churnml.contract.schemas import CLIENT_ID
    from churnml.jobs.batches import training_table
    from churnml.jobs.inputs import data_notes, no_truth_note
    from churnml.labels import auto_label_source, mixed_label_note
    from churnml.modeling.export import checked_export_folder
    from churnml.modeling.tracking import checked_store, tracking_uri
    from churnml.scoring.outputs import checked_output_path, protected_folders

    folder = out or cfg.paths.models
    source = data_folder(data, cfg)
    cfg = with_data_folder(cfg, source)
    auto = config_for(source, cfg)
    checked_output_path(folder, protected_folders(source))
    checked_export_folder(folder)
    checked_store(tracking_uri(cfg.tracking))
    say = progress or (lambda _m: None)
    say("reading the dataset, building the labeled feature table")
    t0 = time.perf_counter()
    try:
        dataset, labeled = training_table(source, auto, say)
    except ContractError:
        raise
    except ValueError as exc:
        raise UserError(str(exc)) from None
    built = round(time.perf_counter() - t0, 2)
    try:
        summary = run_training(
            dataset, auto, truth, folder, say, labeled.frame, labeled.unlabeled, on_backtest
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    chosen = []
    if auto is not cfg:  # label.source auto: say which label the data gave
        why = auto_label_source(dataset_files(source))[1]
        chosen = [f"label.source auto: '{auto.label.source}' ({why})"]
    # mixed: how many rows each rule labeled (a subscriber's by its terms, a one-off buyer's by inactivity); the
    # labeled keys copied to Polars only then (5M rows at 100k clients)
    if auto.label.source == "mixed":
        keys = pl.from_pandas(labeled.frame[[CLIENT_ID, SNAPSHOT, LABEL]])
        split = mixed_label_note(keys, dataset, auto.label)
        chosen += [split] if split else []
    missing = no_truth_note(truth)
    rows_from = first_row_snapshot(labeled.frame)
    reach = partial(fold_reach, dataset, auto, rows_from)  # a suggested horizon told against the backtest
    notes = [
        *chosen,
        *summary.result.notes,
        *data_notes(dataset, auto, source, reach),
        *([missing] if missing else []),
    ]
    seconds = {"read_features": built, **summary.seconds, "total": round(summary.seconds["total"] + built, 2)}
    return replace(summary, result=replace(summary.result, notes=notes), seconds=seconds)
