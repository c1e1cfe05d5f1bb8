"""The ``churnml tune`` job: an Optuna study on the backtest folds of ``train`` (resumable, under
``<paths.tune>/<dataset>/``, :func:`churnml.jobs.inputs.tune_folder`), a parent MLflow run with one nested
run per trial, the best parameters written to ``<paths.tune>/<dataset>/best_params.json`` (read back by
``train`` on the same dataset, :func:`churnml.jobs.inputs.read_tuned_params`).
The search itself is :func:`churnml.modeling.tune.tune_study`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from churnml.config import Config, config_hash
from churnml.contract.validation import ContractError
from churnml.jobs.batches import whole_labeled_table
from churnml.jobs.common import UserError, config_for, config_of, data_folder, with_data_folder
from churnml.jobs.inputs import BEST_PARAMS_FILE, tune_folder

__all__ = ["TuneSummary", "run_tuning", "tune"]


@dataclass
class TuneSummary:
    """What ``churnml tune`` prints at the end."""

    trials: int
    complete: int
    pruned: int
    best_value: float
    best_params: dict[str, Any]
    best_params_file: Path
    storage: str
    seconds: float
    best_trial: int = 0
    untuned_value: float | None = None  # trial 0, the untuned parameters (None: it did not complete)


def _trial_logger(uri: str, experiment: str, on_trial: Callable[[Any], None] | None) -> Callable[[Any], None]:
    """Logs one finished trial as a nested MLflow run (params, fold PR-AUCs, mean), then calls ``on_trial``."""
    from churnml.modeling import tracking

    def log_trial(record: Any) -> None:
        with tracking.tracked_run(uri, experiment, run_name=f"trial-{record.number}", nested=True):
            tracking.log_params({**record.params, "trial": record.number, "state": record.state})
            for step, score in enumerate(record.fold_scores):
                tracking.log_metrics({"fold_pr_auc": score}, step)
            if record.value is not None:
                tracking.log_metrics({"mean_pr_auc": record.value})
        if on_trial:
            on_trial(record)

    return log_trial


def _best_params_record(study: Any, cfg: Config) -> dict[str, Any]:
    """What ``best_params.json`` holds: the best trial's params, value and number, the study, the metric."""
    from churnml.modeling.tune import best_params

    return {
        "params": best_params(study),
        "value": study.best_value,
        "trial": study.best_trial.number,
        "study": study.study_name,  # the fingerprinted name the trials ran under (modeling.tune.study_name_for)
        "metric": "mean out-of-time PR-AUC over the backtest folds",
        "written_at": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
    }


def _finished_study(
    table: pd.DataFrame,
    cfg: Config,
    dataset_name: str,
    storage: str,
    trials: int,
    timeout: float | None,
    on_trial: Callable[[Any], None] | None,
    progress: Callable[[str], None] | None = None,
) -> Any:
    """The Optuna study after ``trials`` more trials (or ``timeout``), under a parent MLflow run with one
    nested run per trial (``progress`` hears each fold a trial starts); ``ValueError`` when no trial
    completed."""
    import optuna

    from churnml.labels import label_lag_days
    from churnml.modeling import tracking
    from churnml.modeling.experiment import feature_columns
    from churnml.modeling.train import monotone_directions
    from churnml.modeling.tune import best_params, tune_study

    uri = tracking.tracking_uri(cfg.tracking)
    experiment = tracking.experiment_name(cfg.tracking, dataset_name)
    monotone = monotone_directions(feature_columns(table), cfg.features)
    with tracking.tracked_run(uri, experiment, run_name=f"tune-{cfg.tune.study_name}"):
        study, plan = tune_study(
            table,
            cfg.train,
            cfg.tune,
            cfg.label.horizon_days,
            storage,
            trials,
            timeout,
            _trial_logger(uri, experiment, on_trial),
            label_lag_days(cfg.label),
            monotone,
            progress,
            # what shaped the table beyond its counts: a new label or feature setting is a new study
            context={
                "label": cfg.label.model_dump(mode="json"),
                "snapshots": cfg.snapshots.model_dump(mode="json"),
                "features": cfg.features.model_dump(mode="json"),
            },
        )
        tracking.log_params(
            {
                "study": study.study_name,
                "storage": storage,
                "backtest": plan.describe(),
                "trials_requested": trials,
                # what the trials learned from, as train's run records it
                "dataset": dataset_name,
                "data_folder": str(cfg.paths.data),
                "config_hash": config_hash(cfg),
                "label": json.dumps(cfg.label.model_dump(mode="json"), sort_keys=True),
            }
        )
        states = [t.state for t in study.trials]
        if not any(s == optuna.trial.TrialState.COMPLETE for s in states):
            raise ValueError("no tuning trial completed; raise --trials or --timeout")
        tracking.log_metrics({"best_mean_pr_auc": study.best_value, "trials_total": len(states)})
        tracking.log_params({f"best.{k}": v for k, v in best_params(study).items()})
    return study


def run_tuning(
    dataset: Any,
    cfg: Config,
    trials: int,
    timeout: float | None,
    progress: Callable[[str], None] | None = None,
    on_trial: Callable[[Any], None] | None = None,
    table: pd.DataFrame | None = None,
) -> TuneSummary:
    """Everything ``churnml tune`` does after reading the dataset: study under ``<paths.tune>/<dataset>/``,
    a parent MLflow run with one nested run per trial, best params to ``best_params.json`` beside it."""
    import optuna

    from churnml.contract.io import write_json_atomic

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cfg = config_of(dataset, cfg)
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    if table is None:
        say("building the labeled feature table")
        table = whole_labeled_table(dataset, cfg, say).frame
    folder = tune_folder(Path(cfg.paths.tune), dataset.name)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(folder / 'optuna.db').resolve()}"
    try:
        study = _finished_study(table, cfg, dataset.name, storage, trials, timeout, on_trial, progress)
    except Exception:
        if created and not any(folder.iterdir()):  # nothing was tuned: leave no empty folder behind
            folder.rmdir()
        raise
    record = _best_params_record(study, cfg)
    path = write_json_atomic(record, folder / BEST_PARAMS_FILE)
    states = [t.state for t in study.trials]
    first = study.trials[0]
    return TuneSummary(
        trials=len(states),
        complete=sum(s == optuna.trial.TrialState.COMPLETE for s in states),
        pruned=sum(s == optuna.trial.TrialState.PRUNED for s in states),
        best_value=float(study.best_value),
        best_params=record["params"],
        best_params_file=Path(path),
        storage=storage,
        seconds=round(time.perf_counter() - t0, 2),
        best_trial=study.best_trial.number,
        untuned_value=first.value if first.state == optuna.trial.TrialState.COMPLETE else None,
    )


def tune(
    data: Path | None,
    cfg: Config,
    trials: int,
    timeout: float | None,
    progress: Callable[[str], None] | None = None,
    on_trial: Callable[[Any], None] | None = None,
) -> TuneSummary:
    """``churnml tune``: read the dataset folder (``--data``, else ``paths.data``) and build its labeled table
    as ``train`` does (:func:`churnml.jobs.batches.training_table`: batch by batch on a big portfolio,
    float32), then :func:`run_tuning`: the trials learn from the very table ``train`` learns from."""
    from churnml.jobs.batches import training_table

    folder = data_folder(data, cfg)
    cfg = config_for(folder, with_data_folder(cfg, folder))
    say = progress or (lambda _m: None)
    say("reading the dataset, building the labeled feature table")
    try:
        dataset, labeled = training_table(folder, cfg, say)
        return run_tuning(
            dataset, cfg, trials, timeout, progress=progress, on_trial=on_trial, table=labeled.frame
        )
    except ContractError:
        raise
    except ValueError as exc:
        raise UserError(str(exc)) from None
