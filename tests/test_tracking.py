"""MLflow tracking on a real SQLite store in tmp_path: the champion gate and loading the champion."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from churnml.config import TrackingConfig, TrainConfig
from churnml.modeling.export import export_model
from churnml.modeling.split import out_of_time_split
from churnml.modeling.train import model_from_config
from churnml.tracking import (
    champion_metrics,
    feature_hash,
    load_champion,
    log_churn_model,
    log_metrics,
    promote_if_better,
    register_model,
    tracked_run,
    tracking_uri,
)

FEATURES = ["f1", "f2", "f3", "f4"]
HORIZON = 28


def labeled_table(n_clients: int, n_weeks: int, seed: int = 0) -> pd.DataFrame:
    """client_id, snapshot, label, f1..f4 with P(label) = sigmoid(-2.5 + 1.5 f1 - f2)."""
    rng = np.random.default_rng(seed)
    snaps = [date(2024, 1, 1) + timedelta(weeks=w) for w in range(n_weeks)]
    n = n_clients * n_weeks
    X = rng.normal(size=(n, 4))
    p = 1 / (1 + np.exp(-(-2.5 + 1.5 * X[:, 0] - X[:, 1])))
    frame = pd.DataFrame(
        {
            "client_id": np.repeat([f"c{i}" for i in range(n_clients)], n_weeks),
            "snapshot": np.tile(snaps, n_clients),
            "label": (rng.random(n) < p).astype(int),
        }
    )
    return frame.join(pd.DataFrame(X, columns=FEATURES))


@pytest.fixture
def train_cfg() -> TrainConfig:
    return TrainConfig(
        test_days=56,
        valid_days=56,
        min_train_days=28,
        min_isotonic_positives=50,
        early_stopping_rounds=20,
        lightgbm={"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 7},
        n_jobs=1,
    )


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tracking_uri(TrackingConfig(uri="sqlite:///mlflow.db"), base=tmp_path)


def test_tracking_uri_env_wins_and_relative_sqlite_is_resolved(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(TrackingConfig(), base=tmp_path) == f"sqlite:///{(tmp_path / 'mlflow.db').resolve()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert tracking_uri(TrackingConfig(), base=tmp_path) == "http://tracking.example:5000"


def _train_register(store, tmp_path, train_cfg, table, split, shuffle_labels: bool, tag: str):
    parts = split.part_of(table["snapshot"])
    y = table["label"].to_numpy()
    if shuffle_labels:  # a worse model: same features, labels scrambled
        y = np.random.default_rng(1).permutation(y)
    model = model_from_config(train_cfg).fit(
        table.loc[parts == "train", FEATURES],
        y[parts == "train"],
        table.loc[parts == "valid", FEATURES],
        y[parts == "valid"],
        table.loc[parts == "calib", FEATURES],
        y[parts == "calib"],
    )
    X_test = table.loc[parts == "test", FEATURES]
    y_test = table["label"].to_numpy()[parts == "test"]
    score = float(average_precision_score(y_test, model.churn_probability(X_test)))
    with tracked_run(store, "churnml-test", run_name=tag):
        log_metrics({"test_pr_auc": score})
        folder = export_model(model, tmp_path / f"export-{tag}", {"tag": tag})
        uri = log_churn_model(model, folder, X_test)
        version = register_model(uri, "churn", {"feature_hash": feature_hash(model.feature_names_)})
    decision = promote_if_better(store, "churn", version, score, X_test, y_test, average_precision_score)
    return version, score, decision


def test_champion_gate_better_takes_alias_worse_does_not(store, tmp_path, train_cfg):
    table = labeled_table(n_clients=120, n_weeks=36)
    split = out_of_time_split(table["snapshot"], train_cfg, HORIZON)

    _v1, s1, d1 = _train_register(store, tmp_path, train_cfg, table, split, True, "weak")
    assert d1.promoted and d1.reason == "no champion yet"

    v2, s2, d2 = _train_register(store, tmp_path, train_cfg, table, split, False, "strong")
    assert s2 > s1
    assert d2.promoted, d2.reason
    assert d2.champion_score == pytest.approx(s1)  # champion re-scored on the same rows
    assert "re-scored" in d2.basis

    _v3, _s3, d3 = _train_register(store, tmp_path, train_cfg, table, split, True, "weak-again")
    assert not d3.promoted
    assert "does not beat" in d3.reason
    assert champion_metrics(store, "churn")["version"] == v2

    model, meta = load_champion(TrackingConfig(uri=store), "churn")
    assert meta["model_version"] == v2 and meta["tag"] == "strong"
    p = model.churn_probability(table[FEATURES].head(20))
    assert p.shape == (20,) and ((p > 0) & (p < 1)).all()
