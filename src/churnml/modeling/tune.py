"""Optuna tuning of the LightGBM churn model on rolling-origin out-of-time folds.

Input grain: the labeled feature table (one row per client x snapshot, ``label`` known). The folds
are the same backtest folds as ``churnml train`` (:func:`churnml.modeling.backtest.backtest_plan`).

Each trial samples LightGBM parameters (TPE), builds the model per fold as ``train`` builds it for this
table (oldest fold first): cross-fitted on the fold's training clients when ``train`` cross-fits
(:func:`churnml.modeling.experiment.cross_fit_parts`), else one model early-stopped on the fold's held-out
clients; at most ``tune.trees_per_trial`` rounds each. It reports the running mean out-of-time PR-AUC
after every fold, so the median pruner can stop a poor trial early. A trial's figure is thus the
backtest's figure of the model ``train`` would deploy with those parameters (but for the rounds' cap).
The objective is the mean PR-AUC over the folds' test windows. Choosing parameters on the backtest
folds makes ``train``'s backtest figures of the tuned model slightly optimistic; the champion gate
compares procedures on the same rows, so both sides share that. The study lives in the given Optuna storage (SQLite),
so a second call resumes it, but only on the same question: the study stores a fingerprint of what its trials'
figures rest on (:func:`study_fingerprint`: the table's rows, clients and snapshot span, its feature columns, the
backtest plan, the train and tune settings that shape the folds and the models, the horizon and label lag, and
what the caller adds, e.g. the label settings) as user attributes. A call with another fingerprint starts a new
study named ``<tune.study_name>-<fingerprint>`` (the old one kept; a later call with that fingerprint resumes it)
and says so: trials scored on another table compete with none of the new ones (:func:`study_name_for`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.metrics import average_precision_score

from churnml.config import TrainConfig, TuneConfig
from churnml.contract.schemas import CLIENT_ID
from churnml.modeling.backtest import BacktestPlan, backtest_plan
from churnml.modeling.experiment import (
    LABEL,
    SNAPSHOT,
    FoldRows,
    cross_fit_parts,
    cross_fitted_model,
    decided_for_table,
    feature_columns,
    fold_problems,
    held_out_model,
    labeled_rows,
    trial_settings,
)

__all__ = [
    "SEARCH_SPACE",
    "TrialRecord",
    "best_params",
    "configured_params",
    "fingerprint_hash",
    "study_fingerprint",
    "study_name_for",
    "suggest_params",
    "tune_study",
]


@dataclass(frozen=True)
class TrialRecord:
    """What one finished (or pruned) trial did, for the caller to log (e.g. as a nested MLflow run)."""

    number: int
    params: dict[str, Any]
    fold_scores: list[float]
    value: float | None
    state: str
    best_iterations: list[int]


# The search space, one row per parameter: (kind, low, high, log scale). ``imbalance_power`` is churnml's
# class reweighting strength (train.imbalance_power), the others LightGBM's.
SEARCH_SPACE: dict[str, tuple[str, float, float, bool]] = {
    "learning_rate": ("float", 0.01, 0.2, True),
    "num_leaves": ("int", 2, 63, True),
    "min_child_samples": ("int", 10, 400, True),
    "subsample": ("float", 0.5, 1.0, False),
    "colsample_bytree": ("float", 0.2, 1.0, False),
    "reg_lambda": ("float", 1e-3, 30.0, True),
    "reg_alpha": ("float", 1e-3, 10.0, True),
    "min_split_gain": ("float", 0.0, 1.0, False),
    "imbalance_power": ("float", 0.0, 1.0, False),
}
# LightGBM's own defaults, for a searched parameter train.lightgbm leaves unset
_LIGHTGBM_DEFAULTS = {
    "learning_rate": 0.1,
    "num_leaves": 31,
    "min_child_samples": 20,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "reg_lambda": 0.0,
    "reg_alpha": 0.0,
    "min_split_gain": 0.0,
}


def suggest_params(trial: optuna.Trial) -> dict[str, Any]:
    """One trial's parameters from :data:`SEARCH_SPACE` (``subsample_freq`` 1: bagging every round)."""
    params: dict[str, Any] = {}
    for name, (kind, low, high, log) in SEARCH_SPACE.items():
        if kind == "int":
            params[name] = trial.suggest_int(name, int(low), int(high), log=log)
        else:
            params[name] = trial.suggest_float(name, low, high, log=log)
    return {**params, "subsample_freq": 1}


def configured_params(cfg: TrainConfig) -> dict[str, Any]:
    """The parameters ``churnml train`` uses without tuning (``train.lightgbm``, LightGBM's defaults for
    what it leaves unset, ``train.imbalance_power``), each brought into :data:`SEARCH_SPACE`: the first
    trial of a new study, so that tuning never ends below the untuned model on its own objective."""
    given = {**_LIGHTGBM_DEFAULTS, **cfg.lightgbm, "imbalance_power": cfg.imbalance_power}
    out: dict[str, Any] = {}
    for name, (kind, low, high, _) in SEARCH_SPACE.items():
        value = min(max(float(given[name]), low), high)
        out[name] = round(value) if kind == "int" else value
    return out


def _fold_score(
    params: dict[str, Any],
    labeled: pd.DataFrame,
    X: pd.DataFrame,
    y: np.ndarray,
    rows: FoldRows,
    cfg: TrainConfig,
    trees: int,
    monotone: Mapping[str, int] | None,
) -> tuple[float, int]:
    """Out-of-time PR-AUC on the fold's test rows of the trial's model, built as ``train`` builds its model
    for this table (:func:`~churnml.modeling.experiment.cross_fit_parts`): cross-fitted on the fold's
    training clients, or one model early-stopped on the held-out clients
    (:func:`~churnml.modeling.experiment.held_out_model`: the same sampled, weighted rows,
    ``train.snapshot_step`` and ``train.max_train_rows``); and its (median) rounds."""
    parts = cross_fit_parts(cfg, len(labeled))
    quick, tuned = trial_settings(cfg, params, trees)
    model = None
    if parts > 1:
        train = np.sort(np.concatenate([rows.fit, rows.holdout]))
        model = cross_fitted_model(labeled, X, y, train, parts, quick, tuned, monotone)
    if model is None:
        model = held_out_model(labeled, X, y, rows, quick, tuned, monotone)
    score = average_precision_score(y[rows.test], model.raw_score(X.iloc[rows.test]))
    rounds = getattr(model, "part_iterations_", [model.best_iteration_])
    return float(score), int(np.median(rounds))


# train settings that change neither the folds nor a trial's model (the gate's, the export's, the logistic
# baseline's, the threads): a change in them resumes the study
_TRIAL_NEUTRAL_SETTINGS = frozenset(
    {
        "model_name",
        "max_credible_pr_auc",
        "champion_margin",
        "params_file",
        "logistic_c",
        "n_jobs",
        "batch_clients",
    }
)


def study_fingerprint(
    labeled: pd.DataFrame,
    train_cfg: TrainConfig,
    tune_cfg: TuneConfig,
    horizon_days: int,
    lag_days: int,
    plan: BacktestPlan,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What a study's trial figures rest on besides their parameters (JSON values), for the labeled table
    ``labeled`` (one row per client x snapshot): its rows, clients, churn labels and snapshot span, a hash of
    its feature columns, the backtest plan's folds, the train settings that shape the folds and the trial
    models (all but :data:`_TRIAL_NEUTRAL_SETTINGS`), the trial budget (``tune.trees_per_trial``), the
    horizon and the label lag, and ``context`` (what the caller knows of the table's making: the label and
    feature settings)."""
    snaps = pd.to_datetime(labeled[SNAPSHOT])
    features = feature_columns(labeled)
    train = {k: v for k, v in train_cfg.model_dump(mode="json").items() if k not in _TRIAL_NEUTRAL_SETTINGS}
    return json.loads(
        json.dumps(
            {
                "table": {
                    "rows": len(labeled),
                    "clients": int(labeled[CLIENT_ID].nunique()),
                    "churn_labels": int(labeled[LABEL].sum()),
                    "snapshots": f"{snaps.min():%Y-%m-%d} .. {snaps.max():%Y-%m-%d}"
                    if len(snaps)
                    else "none",
                    "features": f"{len(features)} columns, {fingerprint_hash(features)}",
                },
                "backtest": plan.describe(),
                "train": train,
                "trees_per_trial": tune_cfg.trees_per_trial,
                "horizon_days": horizon_days,
                "lag_days": lag_days,
                **({"context": dict(context)} if context else {}),
            },
            sort_keys=True,
            default=str,
        )
    )


def fingerprint_hash(value: Any) -> str:
    """A short stable hash (12 hex digits) of a JSON-able ``value``."""
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The top-level parts of two fingerprints that differ, with their sub-keys ("table.rows", "train")."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{key}.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        else:
            out.append(key)
    return out


def study_name_for(
    storage: str, base: str, fingerprint: Mapping[str, Any], say: Callable[[str], None]
) -> str:
    """The study a call with ``fingerprint`` runs in: ``base`` when it does not exist yet or holds this
    fingerprint, else ``<base>-<fingerprint hash>`` (new, or resumed when an earlier call made it); the
    stored study ``base`` is never changed. A study stored before fingerprints were recorded has an unknown
    one: it is kept and not resumed."""
    digest = fingerprint_hash(fingerprint)
    try:
        stored = optuna.load_study(study_name=base, storage=storage)
    except KeyError:
        return base
    if stored.user_attrs.get("fingerprint") == digest:
        return base
    name = f"{base}-{digest}"
    old = stored.user_attrs.get("fingerprint_parts")
    why = (
        f"its trials were scored on another table or settings ({', '.join(_differences(old, fingerprint))})"
        if isinstance(old, dict)
        else "it records no fingerprint of the table and settings its trials were scored on"
    )
    resumed = any(
        s.study_name == name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)
    )
    say(
        f"study {base!r} not resumed: {why}; {'resuming' if resumed else 'starting'} study {name!r} "
        f"({'the earlier tuning of this table' if resumed else 'the old study is kept'})"
    )
    return name


def tune_study(
    table: pd.DataFrame,
    train_cfg: TrainConfig,
    tune_cfg: TuneConfig,
    horizon_days: int,
    storage: str,
    n_trials: int,
    timeout: float | None = None,
    on_trial: Callable[[TrialRecord], None] | None = None,
    lag_days: int = 0,
    monotone: Mapping[str, int] | None = None,
    progress: Callable[[str], None] | None = None,
    context: Mapping[str, Any] | None = None,
) -> tuple[optuna.Study, BacktestPlan]:
    """Run (or resume) the study; returns it with the backtest plan used. ``on_trial`` sees every trial;
    ``progress`` each fold a trial starts ("trial 3: fold 2/4"), so a slow trial still shows it moves, and
    why a stored study is not resumed. ``context``: what else shaped the table (JSON values, e.g. the label
    and feature settings), part of the study's fingerprint (:func:`study_fingerprint`); the study run is
    named by :func:`study_name_for` (``study.study_name``)."""
    labeled = labeled_rows(table)
    train_cfg, _ = decided_for_table(train_cfg, labeled)  # the trials' models as `train` builds them
    plan = backtest_plan(labeled[SNAPSHOT], train_cfg, horizon_days, lag_days)
    if not plan.has_folds:
        raise ValueError(f"cannot tune: {plan.summary()}")
    features = feature_columns(labeled)
    X = labeled[features]
    y = labeled[LABEL].to_numpy(dtype=float).astype(int)
    fold_rows = [rows for rows, problem in fold_problems(labeled, plan, train_cfg) if problem is None]
    if not fold_rows:
        raise ValueError("cannot tune: every backtest fold holds a single class in its training or test rows")

    def objective(trial: optuna.Trial) -> float:
        params = suggest_params(trial)
        scores: list[float] = []
        iterations: list[int] = []
        try:
            for step, rows in enumerate(fold_rows):
                if progress is not None:
                    progress(f"trial {trial.number}: fold {step + 1}/{len(fold_rows)}")
                score, best_it = _fold_score(
                    params, labeled, X, y, rows, train_cfg, tune_cfg.trees_per_trial, monotone
                )
                scores.append(score)
                iterations.append(best_it)
                trial.report(float(np.mean(scores)), step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
        except optuna.TrialPruned:
            if on_trial:
                on_trial(TrialRecord(trial.number, params, scores, None, "pruned", iterations))
            raise
        value = float(np.mean(scores))
        trial.set_user_attr("fold_scores", scores)
        trial.set_user_attr("best_iterations", iterations)
        if on_trial:
            on_trial(TrialRecord(trial.number, params, scores, value, "complete", iterations))
        return value

    fingerprint = study_fingerprint(labeled, train_cfg, tune_cfg, horizon_days, lag_days, plan, context)
    name = study_name_for(storage, tune_cfg.study_name, fingerprint, progress or (lambda _m: None))
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=train_cfg.seed + len(_existing_trials(storage, name))),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
        load_if_exists=True,
    )
    if not study.trials:  # a new study starts from the configured parameters
        study.set_user_attr("fingerprint", fingerprint_hash(fingerprint))
        study.set_user_attr("fingerprint_parts", fingerprint)
        study.enqueue_trial(configured_params(train_cfg))
    study.optimize(objective, n_trials=n_trials, timeout=timeout, gc_after_trial=True)
    return study, plan


def _existing_trials(storage: str, name: str) -> list[Any]:
    # A resumed study gets a different sampler seed, so it does not replay the first trials' picks.
    try:
        return optuna.load_study(study_name=name, storage=storage).trials
    except KeyError:
        return []


def best_params(study: optuna.Study) -> dict[str, Any]:
    """The best trial's parameters, in the form ``churnml train`` reads (``subsample_freq`` included)."""
    return {**study.best_trial.params, "subsample_freq": 1}
