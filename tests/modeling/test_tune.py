"""Optuna tuning end to end on tiny data: 3 trials, then a resumed second call adds 3 more."""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace

import optuna
import pytest

from churnml.config import load_config
from churnml.jobs.inputs import read_tuned_params
from churnml.jobs.tune import run_tuning

from .conftest import labeled_table


def test_tune_runs_three_trials_and_resumes(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = load_config(
        None,
        [
            "label.source=subscriptions",  # the prebuilt table's label (a stand-in dataset: no tables to read it off)
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
    saved = json.loads((tmp_path / "tune" / "tiny" / "best_params.json").read_text())
    assert saved["value"] == first.best_value and 0 < first.best_value <= 1
    params, source = read_tuned_params(cfg, "tiny")
    assert source == tmp_path / "tune" / "tiny" / "best_params.json"
    assert read_tuned_params(cfg, "other") == ({}, None)
    assert set(params) >= {"learning_rate", "num_leaves", "imbalance_power"}

    heard: list[str] = []
    second = run_tuning(dataset, cfg, trials=3, timeout=None, progress=heard.append, table=table)
    assert second.trials == 6
    assert "trial 3: fold 1/2" in heard  # a slow trial still shows where it is
    study = optuna.load_study(study_name=cfg.tune.study_name, storage=second.storage)
    assert len(study.trials) == 6
    # trial 0 holds the untuned parameters: the figure the gain is told against
    assert first.untuned_value == second.untuned_value == study.trials[0].value
    assert second.best_trial == study.best_trial.number and second.best_value == study.best_value
    assert second.best_value >= first.best_value
    # the tuning run records what its trials learned from, as train's run does
    import mlflow

    client = mlflow.MlflowClient(cfg.tracking.uri)
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        filter_string="params.trials_requested = '3'",
    )
    assert runs and {r.data.params["dataset"] for r in runs} == {"tiny"}
    assert {r.data.params["label"] for r in runs} == {
        json.dumps(cfg.label.model_dump(mode="json"), sort_keys=True)
    }


def test_a_trial_model_is_the_configured_model_with_the_trial_budget():
    from churnml.modeling.experiment import configured_model

    cfg = load_config().train
    trial = {"learning_rate": 0.1, "num_leaves": 31, "reg_alpha": 0.5, "imbalance_power": 0.25}
    model = configured_model(cfg, trial, {"usage_logins_28d": -1}, trees=200)
    assert model.params == {
        **cfg.lightgbm,
        "learning_rate": 0.1,
        "num_leaves": 31,
        "reg_alpha": 0.5,
        "n_estimators": 200,
    }
    assert model.imbalance_power == 0.25
    assert model.early_stopping_rounds == 40  # min(100, max(10, 200 // 5))
    assert model.calibration == "sigmoid"
    assert configured_model(cfg, trial, trees=20).early_stopping_rounds == 10
    # without a budget it is train's model: the configured rounds, patience and calibration
    full = configured_model(cfg, trial)
    assert (full.params["n_estimators"], full.early_stopping_rounds, full.calibration) == (
        cfg.lightgbm["n_estimators"],
        cfg.early_stopping_rounds,
        cfg.calibration,
    )


def test_the_fold_problems_name_the_fold_that_holds_one_class():
    from churnml.modeling.backtest import backtest_plan
    from churnml.modeling.experiment import fold_problems, labeled_rows

    cfg = load_config().train
    labeled = labeled_rows(labeled_table())
    plan = backtest_plan(labeled["snapshot"], cfg, 91)
    usable = fold_problems(labeled, plan, cfg)
    assert len(usable) == len(plan.folds) and all(p is None for _, p in usable)
    no_churn = labeled.assign(label=0)
    problems = [p for _, p in fold_problems(no_churn, plan, cfg)]
    assert problems and all(
        p.startswith("its training rows hold one class only (0 churners") for p in problems
    )


def test_a_tuning_that_cannot_start_leaves_no_folder_behind(tmp_path, monkeypatch):
    import pytest

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = load_config(
        None,
        [
            "label.source=subscriptions",
            "label.horizon_days=90",
            f"paths.tune={tmp_path / 'tune'}",
            f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
        ],
    )
    table = labeled_table(n_clients=20, n_weeks=6, seed=1)  # 6 weeks of snapshots: no fold fits a 90-day gap
    dataset = SimpleNamespace(name="young", start=datetime(2024, 1, 1), as_of=datetime(2024, 3, 1))
    with pytest.raises(ValueError, match="cannot tune: no out-of-time estimate yet"):
        run_tuning(dataset, cfg, trials=2, timeout=None, table=table)
    assert not (tmp_path / "tune" / "young").exists()


def test_a_new_study_starts_from_the_configured_parameters(tmp_path, monkeypatch):
    """Trial 0 is the untuned model (train.lightgbm, LightGBM's defaults for the rest, brought into the
    search space), so the study's best is never below it on the tuning objective."""
    from churnml.modeling.tune import configured_params

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = load_config(
        None,
        [
            "label.source=subscriptions",
            "label.horizon_days=28",
            "train.folds=2",
            "train.test_days=28",
            "train.n_jobs=1",
            "tune.trees_per_trial=20",
            f"paths.tune={tmp_path / 'tune'}",
            f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
        ],
    )
    assert configured_params(cfg.train) == {
        "learning_rate": 0.05,
        "num_leaves": 4,
        "min_child_samples": 20,
        "subsample": 0.8,
        "colsample_bytree": 0.35,
        "reg_lambda": 1.0,
        "reg_alpha": 0.001,  # LightGBM's 0, at the search space's floor
        "min_split_gain": 0.5,
        "imbalance_power": 0.5,
    }
    table = labeled_table(n_clients=60, n_weeks=30, seed=5)
    dataset = SimpleNamespace(name="tiny", start=datetime(2024, 1, 1), as_of=datetime(2024, 8, 1))
    run = run_tuning(dataset, cfg, trials=2, timeout=None, table=table)
    study = optuna.load_study(study_name=cfg.tune.study_name, storage=run.storage)
    assert study.trials[0].params == configured_params(cfg.train)
    assert run.best_value >= study.trials[0].value
    resumed = run_tuning(dataset, cfg, trials=1, timeout=None, table=table)  # not enqueued again
    study = optuna.load_study(study_name=cfg.tune.study_name, storage=resumed.storage)
    assert [t.params == configured_params(cfg.train) for t in study.trials] == [True, False, False]


def test_a_trial_scores_each_fold_as_the_backtest_scores_the_model_train_deploys():
    """A trial builds the fold's model as ``train`` does for this table: cross-fitted on the fold's
    training clients (5 parts here: the table is under train.cross_fit_max_rows), so with the configured
    parameters its fold figures are the backtest's, to the last digit."""
    import numpy as np

    from churnml.modeling.backtest import backtest_plan
    from churnml.modeling.experiment import (
        LABEL,
        cross_fit_parts,
        cross_fitted_model,
        feature_columns,
        fold_problems,
        labeled_rows,
        model_contender,
        run_backtest,
    )
    from churnml.modeling.train import monotone_directions
    from churnml.modeling.tune import _fold_score

    cfg = load_config(
        None, ["train.folds=2", "train.test_days=28", "train.min_train_days=28", "train.n_jobs=1"]
    ).train
    labeled = labeled_rows(labeled_table(n_clients=60, n_weeks=30, seed=5))
    features = feature_columns(labeled)
    monotone = monotone_directions(features, load_config().features)
    plan = backtest_plan(labeled["snapshot"], cfg, 28)
    X, y = labeled[features], labeled[LABEL].to_numpy(dtype=float).astype(int)
    folds = [rows for rows, problem in fold_problems(labeled, plan, cfg) if problem is None]
    assert len(folds) == 2 and cross_fit_parts(cfg, len(labeled)) == 5
    train_rows = np.sort(np.concatenate([folds[0].fit, folds[0].holdout]))
    assert cross_fitted_model(labeled, X, y, train_rows, 5, cfg, None, monotone) is not None  # 5 usable parts

    trial = [_fold_score({}, labeled, X, y, rows, cfg, 2000, monotone)[0] for rows in folds]
    backtest = run_backtest(labeled, features, plan, [model_contender(cfg, None, monotone)], cfg)
    assert trial == pytest.approx(backtest.fold_metrics["pr_auc"].tolist(), abs=1e-12)


@pytest.mark.parametrize(
    ("best_trial", "best", "untuned", "expected"),
    [
        (0, 0.2049, 0.2049, "(trial 0, the untuned parameters: no trial beat them)"),
        (7, 0.2150, 0.2049, "(trial 7; the untuned parameters: 0.2049, +0.0101)"),
        (3, 0.3000, None, "(trial 3)"),  # trial 0 was pruned or failed
    ],
)
def test_tune_says_what_tuning_gained_over_the_untuned_parameters(best_trial, best, untuned, expected):
    from churnml.cli import tuning_gain_text

    assert tuning_gain_text(best_trial, best, untuned) == expected


@pytest.mark.parametrize(
    ("sampling", "learned_rows"),
    [
        # every churn row and the others of every other weekly snapshot of the fold's 1,122 fit rows (561 of
        # them before every churn row was kept)
        (["train.snapshot_step=2"], 664),
        (["train.max_train_rows=300"], 296),  # every churn row, a weighted share of the others (about 300)
    ],
)
def test_a_one_model_trial_learns_from_the_rows_train_samples(sampling, learned_rows):
    """With one model (train.cross_fit_parts 1) a trial learns from the rows ``train``'s fold model learns
    from (:func:`churnml.modeling.experiment.held_out_model`): its fold figures are the backtest's."""
    from churnml.modeling.backtest import backtest_plan
    from churnml.modeling.experiment import (
        LABEL,
        feature_columns,
        fold_problems,
        labeled_rows,
        model_contender,
        run_backtest,
    )
    from churnml.modeling.train import ChurnModel
    from churnml.modeling.tune import _fold_score

    overrides = [
        "train.folds=1",
        "train.test_days=28",
        "train.n_jobs=1",
        "train.cross_fit_parts=1",
        *sampling,
    ]
    cfg = load_config(None, overrides).train
    labeled = labeled_rows(labeled_table(n_clients=60, n_weeks=30, seed=5))
    features = feature_columns(labeled)
    plan = backtest_plan(labeled["snapshot"], cfg, 28)
    X, y = labeled[features], labeled[LABEL].to_numpy(dtype=float).astype(int)
    (rows,) = [rows for rows, problem in fold_problems(labeled, plan, cfg) if problem is None]
    seen = []
    fit = ChurnModel.fit

    def counted(self, X_fit, y_fit, **kw):
        seen.append(len(y_fit))
        return fit(self, X_fit, y_fit, **kw)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ChurnModel, "fit", counted)
        trial = _fold_score({}, labeled, X, y, rows, cfg, 2000, {})[0]
    backtest = run_backtest(labeled, features, plan, [model_contender(cfg, None, {})], cfg)
    assert seen == [learned_rows]
    assert trial == pytest.approx(backtest.fold_metrics["pr_auc"].iloc[0], abs=1e-12)


def test_a_study_is_resumed_only_on_the_table_and_settings_it_was_scored_on(tmp_path):
    """Another table starts a new study named with its fingerprint (the old one kept) and says why; the
    first table again resumes the first study."""
    from churnml.modeling.tune import fingerprint_hash, study_fingerprint, tune_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cfg = load_config(
        None,
        [
            "train.folds=1",
            "train.test_days=28",
            "train.n_jobs=1",
            "train.cross_fit_parts=1",
            "train.extra_trees=false",  # as tune_study decides it, so the fingerprint below is its
            "train.cross_fit_rounds=each",  # (one model: no parts to share rounds between)
            "tune.trees_per_trial=10",
        ],
    )
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    first, other = (
        labeled_table(n_clients=60, n_weeks=30, seed=5),
        labeled_table(n_clients=50, n_weeks=30, seed=6),
    )
    said: list[str] = []

    def run(table):
        study, plan = tune_study(table, cfg.train, cfg.tune, 28, storage, 1, progress=said.append)
        return study, fingerprint_hash(study_fingerprint(table, cfg.train, cfg.tune, 28, 0, plan))

    study, digest = run(first)
    assert (study.study_name, len(study.trials), study.user_attrs["fingerprint"]) == ("churnml", 1, digest)
    study, digest = run(other)
    assert (study.study_name, len(study.trials)) == (f"churnml-{digest}", 1)
    assert [m for m in said if m.startswith("study")] == [
        "study 'churnml' not resumed: its trials were scored on another table or settings (table.churn_labels, "
        f"table.clients, table.rows); starting study 'churnml-{digest}' (the old study is kept)"
    ]
    study, _ = run(first)
    assert (study.study_name, len(study.trials)) == ("churnml", 2)
