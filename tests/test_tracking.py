"""MLflow tracking on a real SQLite store in tmp_path: registering, recording the gate, loading the champion."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnml.config import TrackingConfig
from churnml.modeling.export import export_model
from churnml.modeling.tracking import (
    champion_card,
    champion_metrics,
    feature_hash,
    load_champion,
    log_churn_model,
    log_metrics,
    record_promotion,
    register_model,
    tracked_run,
    tracking_uri,
)
from churnml.modeling.train import ChurnModel

FEATURES = ["f1", "f2", "f3", "f4"]


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
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tracking_uri(TrackingConfig(uri="sqlite:///mlflow.db"), base=tmp_path)


def test_tracking_uri_env_wins_and_relative_sqlite_is_resolved(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(TrackingConfig(), base=tmp_path) == f"sqlite:///{(tmp_path / 'mlflow.db').resolve()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert tracking_uri(TrackingConfig(), base=tmp_path) == "http://tracking.example:5000"


def _register(store: str, tmp_path: Path, table: pd.DataFrame, tag: str) -> str:
    X, y = table[FEATURES], table["label"]
    model = ChurnModel({"n_estimators": 20, "num_leaves": 7}, n_jobs=1).fit(X, y, calib_set=(X, y))
    with tracked_run(store, "churnml-test", run_name=tag):
        log_metrics({"backtest_pr_auc": 0.5})
        folder = export_model(model, tmp_path / f"export-{tag}", {"tag": tag})
        uri = log_churn_model(model, folder, X)
        return register_model(uri, "churn", {"feature_hash": feature_hash(model.feature_names_)})


def test_the_alias_moves_only_when_the_gate_says_so(store, tmp_path):
    table = labeled_table(n_clients=40, n_weeks=10)
    assert champion_card(store, "churn") is None

    v1 = _register(store, tmp_path, table, "first")
    record_promotion(store, "churn", v1, True, "no champion yet; beats logistic")
    v2 = _register(store, tmp_path, table, "second")
    record_promotion(store, "churn", v2, False, "loses to the logistic baseline")

    info = champion_metrics(store, "churn")
    assert info["version"] == v1 == "1"
    assert info["tags"]["promoted"] == "true"
    version, card = champion_card(store, "churn")
    assert version == "1" and card["tag"] == "first"
    model, meta = load_champion(TrackingConfig(uri=store), "churn")
    assert meta["model_version"] == "1" and meta["tag"] == "first"
    p = model.churn_probability(table[FEATURES].head(20))
    assert p.shape == (20,) and ((p > 0) & (p < 1)).all()
