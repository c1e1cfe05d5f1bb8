"""Optuna tuning end to end on tiny data: 3 trials, then a resumed second call adds 3 more."""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace

import optuna

from churnml.config import load_config
from churnml.jobs.inputs import read_tuned_params
from churnml.jobs.tune import run_tuning

from .conftest import labeled_table


def test_tune_runs_three_trials_and_resumes(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = load_config(
        None,
        [
            "label.horizon_days=28",
            "train.folds=2",
            "train.test_days=28",
            "train.min_train_days=28",
            "train.n_jobs=1",
            "tune.trees_per_trial=20",
            f"paths.tune={tmp_path / 'tune'}",
            f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
        ],
    )
    table = labeled_table(n_clients=60, n_weeks=30, seed=5)
    dataset = SimpleNamespace(name="tiny", start=datetime(2024, 1, 1), as_of=datetime(2024, 8, 1))
    seen = []

    first = run_tuning(dataset, cfg, trials=3, timeout=None, on_trial=seen.append, table=table)
    assert first.trials == 3 and first.complete + first.pruned == 3
    assert len(seen) == 3 and all(len(r.fold_scores) >= 1 for r in seen)
    assert all(len(r.fold_scores) == 2 for r in seen if r.state == "complete")  # train's 2 backtest folds
    saved = json.loads((tmp_path / "tune" / "best_params.json").read_text())
    assert saved["value"] == first.best_value and 0 < first.best_value <= 1
    params, source = read_tuned_params(cfg)
    assert source == tmp_path / "tune" / "best_params.json"
    assert set(params) >= {"learning_rate", "num_leaves", "imbalance_power"}

    second = run_tuning(dataset, cfg, trials=3, timeout=None, table=table)
    assert second.trials == 6
    study = optuna.load_study(study_name=cfg.tune.study_name, storage=second.storage)
    assert len(study.trials) == 6
    assert second.best_value >= first.best_value
