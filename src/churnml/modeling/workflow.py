"""The ``churnml train`` job at the edge: read data, train and compare, track in MLflow, export the champion.

This is the only modeling module that touches paths; the work itself is
:func:`churnml.modeling.experiment.train_and_compare` (pure). Steps:

1. read the dataset, build the labeled feature table (``churnml.pipeline.labeled_feature_table``);
2. read tuned LightGBM params (``train.params_file`` or ``<paths.tune>/best_params.json``) when present;
3. train the model and the baselines, evaluate all on the same test rows (oracle with ``--truth``);
4. log params, data window, row counts, metrics, plots and the comparison table to MLflow; log the
   model as a pyfunc, register it, move the ``champion`` alias only if it beats the current champion;
5. export the champion to ``--out`` (default ``models/``) for batch jobs without the tracking store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnml.config import Config, config_hash
from churnml.modeling.evaluate import METRICS
from churnml.modeling.experiment import TrainingResult, comparison_markdown, train_and_compare

__all__ = [
    "TrainSummary",
    "TuneSummary",
    "comparison_table",
    "labeled_table",
    "read_tuned_params",
    "run_training",
    "run_tuning",
    "truth_oracle",
]

HAZARD_FILE = "hazard.parquet"
BEST_PARAMS_FILE = "best_params.json"


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


def read_tuned_params(cfg: Config) -> tuple[dict[str, Any], Path | None]:
    """Tuned params from ``train.params_file`` (must exist) or ``<paths.tune>/best_params.json`` (if any)."""
    path = cfg.train.params_file or (cfg.paths.tune / BEST_PARAMS_FILE)
    if not Path(path).is_file():
        if cfg.train.params_file is not None:
            raise FileNotFoundError(f"train.params_file {path} does not exist")
        return {}, None
    payload = json.loads(Path(path).read_text())
    params = payload.get("params", payload) if isinstance(payload, dict) else {}
    return dict(params), Path(path)


def labeled_table(dataset: Any, cfg: Config, progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """The labeled feature table (one row per client x snapshot) as pandas."""
    from churnml.pipeline import labeled_feature_table

    table = labeled_feature_table(dataset, cfg.snapshots, cfg.label, cfg.features, progress)
    return table.to_pandas()


def truth_oracle(truth: Path | None, horizon_days: int) -> Callable[[pd.DataFrame], np.ndarray] | None:
    """``rows -> true probability`` from ``<truth>/hazard.parquet`` (NaN for clients the truth does not
    know); None without a truth folder or when it holds no hazard file (real data)."""
    if truth is None:
        return None
    path = Path(truth) / HAZARD_FILE
    if not path.is_file():
        return None
    import polars as pl

    from churnml.modeling.baselines import oracle_scores
    from churnml.schemas import CLIENT_ID

    hazard = pl.read_parquet(path)
    known = set(hazard.get_column(CLIENT_ID).unique().to_list())

    def oracle(rows: pd.DataFrame) -> np.ndarray:
        p = oracle_scores(hazard, rows, horizon_days)
        return np.where(rows[CLIENT_ID].isin(known).to_numpy(), p, np.nan)

    return oracle


def _log_run(result: TrainingResult, cfg: Config, dataset: Any, tuned: Mapping[str, Any]) -> None:
    from churnml import tracking
    from churnml.modeling import plots

    tracking.log_params(
        {
            "config": cfg.model_dump(mode="json"),
            "config_hash": config_hash(cfg),
            "tuned": dict(tuned) or "none",
            "dataset": dataset.name,
            "data_window": f"{dataset.start:%Y-%m-%d} .. {dataset.as_of:%Y-%m-%d}",
            "split": result.split.describe(),
            "n_features": len(result.features),
            "rules_used": ",".join(result.rules_used) or "none",
            "best_iteration": result.model.best_iteration_,
            "calibration": result.model.calibrator_.method_,
            "scale_pos_weight": round(result.model.scale_pos_weight_, 4),
        }
    )
    counts = {f"rows_{k}": v for k, v in result.rows.items()}
    counts |= {f"positives_{k}": v for k, v in result.positives.items()}
    counts["rows_unlabeled"] = result.unlabeled_rows
    tracking.log_metrics(counts)
    for name, row in result.metrics.iterrows():
        prefix = "test" if name == "model" else f"{name}_test"
        tracking.log_metrics({f"{prefix}_{m}": row[m] for m in METRICS})
    tracking.log_metrics({f"valid_{k}": v for k, v in result.model.valid_scores_.items()})
    for name, monthly in result.monthly.items():
        for step, (_, row) in enumerate(monthly.iterrows()):
            tracking.log_metrics(
                {f"{name}_month_pr_auc": row["pr_auc"], f"{name}_month_brier": row["brier"]}, step
            )
    tracking.log_text(comparison_markdown(result.metrics), "comparison.md")
    tracking.log_text(result.metrics.to_csv(), "comparison.csv")
    monthly_all = pd.concat([m.assign(contender=n) for n, m in result.monthly.items()])
    tracking.log_text(monthly_all.to_csv(index=False), "metrics_by_month.csv")
    calib_all = pd.concat([c.assign(contender=n) for n, c in result.calibration.items()])
    tracking.log_text(calib_all.to_csv(index=False), "calibration_table.csv")
    tracking.log_text(result.model.feature_importance("gain").to_csv(), "feature_importance.csv")
    import matplotlib.pyplot as plt

    figures: tuple[tuple[Callable[[], Any], str], ...] = (
        (lambda: plots.importance_figure(result.model), "plots/feature_importance.png"),
        (lambda: plots.calibration_figure(result.calibration), "plots/calibration.png"),
        (lambda: plots.gain_figure(result.gains), "plots/lift_gain.png"),
        (
            lambda: plots.shap_summary_figure(result.model, result.X_test, seed=cfg.train.seed),
            "plots/shap_summary.png",
        ),
    )
    for draw, name in figures:  # one at a time: each is drawn, logged and closed before the next
        fig = draw()
        tracking.log_figure(fig, name)
        plt.close(fig)


def run_training(
    dataset: Any,
    cfg: Config,
    truth: Path | None,
    out: Path,
    progress: Callable[[str], None] | None = None,
    table: pd.DataFrame | None = None,
) -> TrainSummary:
    """Everything ``churnml train`` does after reading the dataset (module docstring)."""
    from churnml import tracking
    from churnml.modeling.export import export_model, feature_reference
    from churnml.modeling.train import ChurnModel

    say = progress or (lambda _m: None)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    if table is None:
        say("building the labeled feature table")
        table = labeled_table(dataset, cfg, say)
    seconds["features"] = round(time.perf_counter() - t0, 2)
    tuned, tuned_from = read_tuned_params(cfg)
    oracle = truth_oracle(truth, cfg.label.horizon_days)
    t1 = time.perf_counter()
    result = train_and_compare(table, cfg.train, cfg.label.horizon_days, tuned, oracle, say)
    if truth is not None and oracle is None:
        result.notes.append(f"oracle: no {HAZARD_FILE} in --truth {truth} (not generated data?); row skipped")
    seconds["train_evaluate"] = round(time.perf_counter() - t1, 2)

    t2 = time.perf_counter()
    uri = tracking.tracking_uri(cfg.tracking)
    experiment = tracking.experiment_name(cfg.tracking, dataset.name)
    name = cfg.train.model_name
    test_metrics = {k: float(v) for k, v in result.metrics.loc["model"].items()}
    metadata: dict[str, Any] = {
        "model_name": name,
        "trained_at": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        "config_hash": config_hash(cfg),
        "label": cfg.label.model_dump(mode="json"),
        "features_config": cfg.features.model_dump(mode="json"),
        "horizon_days": cfg.label.horizon_days,
        "dataset": dataset.name,
        "data_window": [f"{dataset.start:%Y-%m-%d}", f"{dataset.as_of:%Y-%m-%d}"],
        "split": result.split.describe(),
        "rows": result.rows,
        "test_metrics": test_metrics,
        "baseline_metrics": {
            n: {k: float(v) for k, v in row.items()} for n, row in result.metrics.iterrows() if n != "model"
        },
        "feature_reference": feature_reference(result.X_train_sample),
    }
    scratch = tracking.scratch_folder()
    try:
        with tracking.tracked_run(uri, experiment, run_name=f"train-{dataset.name}") as run_id:
            say("logging to MLflow")
            metadata["run_id"] = run_id
            _log_run(result, cfg, dataset, tuned)
            folder = export_model(result.model, scratch / "model", metadata)
            model_uri = tracking.log_churn_model(result.model, folder, result.X_test)
            version = tracking.register_model(
                model_uri,
                name,
                {
                    "feature_hash": tracking.feature_hash(result.model.feature_names_),
                    "test_period": result.split.describe()["test"],
                    "test_pr_auc": round(test_metrics["pr_auc"], 6),
                    "dataset": dataset.name,
                    "config_hash": metadata["config_hash"],
                },
            )
            from sklearn.metrics import average_precision_score

            decision = tracking.promote_if_better(
                uri,
                name,
                version,
                test_metrics["pr_auc"],
                result.X_test,
                result.y_test,
                average_precision_score,
            )
            tracking.log_params({"promoted": decision.promoted, "promotion_reason": decision.reason[:500]})
        exported: Path | None = None
        if decision.promoted:
            exported = export_model(result.model, out, {**metadata, "model_version": version})
        elif not (Path(out) / "model.txt").is_file():
            champ, champ_meta = tracking.load_champion(cfg.tracking, name)
            if isinstance(champ, ChurnModel):
                exported = export_model(champ, out, champ_meta)
    finally:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
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
        experiment,
        tuned_from,
        seconds,
    )


def comparison_table(result: TrainingResult) -> Any:
    """The Rich table printed by ``churnml train``: one row per contender, test-period metrics."""
    from rich.table import Table as RichTable

    split = result.split.describe()
    table = RichTable(
        title=f"Test period {split['test']} "
        f"({result.rows['test']:,} rows, {result.positives['test']:,} churners)"
    )
    cols = {
        "pr_auc": "PR-AUC",
        "roc_auc": "ROC-AUC",
        "lift_5": "lift@5%",
        "recall_5": "rec@5%",
        "lift_10": "lift@10%",
        "recall_10": "rec@10%",
        "brier": "Brier",
        "log_loss": "logloss",
        "ece": "ECE",
    }
    table.box = None
    table.add_column("contender", no_wrap=True, min_width=8)
    for header in cols.values():
        table.add_column(header, justify="right")
    for name, row in result.metrics.iterrows():
        table.add_row(str(name), *("-" if pd.isna(row[c]) else f"{row[c]:.3f}" for c in cols))
    return table


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


def run_tuning(
    dataset: Any,
    cfg: Config,
    trials: int,
    timeout: float | None,
    progress: Callable[[str], None] | None = None,
    on_trial: Callable[[Any], None] | None = None,
    table: pd.DataFrame | None = None,
) -> TuneSummary:
    """Everything ``churnml tune`` does after reading the dataset: study under ``paths.tune``, a parent
    MLflow run with one nested run per trial, best params to ``<paths.tune>/best_params.json``."""
    import optuna

    from churnml import tracking
    from churnml.io import write_json_atomic
    from churnml.modeling.tune import best_params, tune_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    if table is None:
        say("building the labeled feature table")
        table = labeled_table(dataset, cfg, say)
    folder = Path(cfg.paths.tune)
    folder.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(folder / 'optuna.db').resolve()}"
    uri = tracking.tracking_uri(cfg.tracking)
    experiment = tracking.experiment_name(cfg.tracking, dataset.name)

    def log_trial(record: Any) -> None:
        with tracking.tracked_run(uri, experiment, run_name=f"trial-{record.number}", nested=True):
            tracking.log_params({**record.params, "trial": record.number, "state": record.state})
            for step, score in enumerate(record.fold_scores):
                tracking.log_metrics({"fold_pr_auc": score}, step)
            if record.value is not None:
                tracking.log_metrics({"mean_pr_auc": record.value})
        if on_trial:
            on_trial(record)

    with tracking.tracked_run(uri, experiment, run_name=f"tune-{cfg.tune.study_name}"):
        study, folds = tune_study(
            table, cfg.train, cfg.tune, cfg.label.horizon_days, storage, trials, timeout, log_trial
        )
        tracking.log_params(
            {
                "study": cfg.tune.study_name,
                "storage": storage,
                "folds": [f"train<{f.train_end} valid {f.valid_start}..<{f.valid_end}" for f in folds],
                "trials_requested": trials,
            }
        )
        states = [t.state for t in study.trials]
        done = sum(s == optuna.trial.TrialState.COMPLETE for s in states)
        if done == 0:
            raise ValueError("no tuning trial completed; raise --trials or --timeout")
        params = best_params(study)
        tracking.log_metrics({"best_mean_pr_auc": study.best_value, "trials_total": len(states)})
        tracking.log_params({f"best.{k}": v for k, v in params.items()})
    path = write_json_atomic(
        {
            "params": params,
            "value": study.best_value,
            "trial": study.best_trial.number,
            "study": cfg.tune.study_name,
            "metric": "mean out-of-time PR-AUC over rolling-origin folds",
            "written_at": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        },
        folder / BEST_PARAMS_FILE,
    )
    return TuneSummary(
        trials=len(states),
        complete=done,
        pruned=sum(s == optuna.trial.TrialState.PRUNED for s in states),
        best_value=float(study.best_value),
        best_params=params,
        best_params_file=Path(path),
        storage=storage,
        seconds=round(time.perf_counter() - t0, 2),
    )
