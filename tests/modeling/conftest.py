"""Small synthetic labeled snapshot tables (one row per client x weekly snapshot) for modeling tests."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from churnml.config import TrainConfig

HORIZON = 28
FIRST = date(2024, 1, 1)  # a Monday


def labeled_table(n_clients: int = 150, n_weeks: int = 40, seed: int = 0, k: int = 4) -> pd.DataFrame:
    """client_id, snapshot (date), label (0/1), f1..fk; P(label) = sigmoid(-2.5 + 1.5 f1 - f2)."""
    rng = np.random.default_rng(seed)
    snaps = [FIRST + timedelta(weeks=w) for w in range(n_weeks)]
    n = n_clients * n_weeks
    X = rng.normal(size=(n, k))
    p = 1 / (1 + np.exp(-(-2.5 + 1.5 * X[:, 0] - X[:, 1])))
    frame = pd.DataFrame(
        {
            "client_id": np.repeat([f"c{i:04d}" for i in range(n_clients)], n_weeks),
            "snapshot": np.tile(snaps, n_clients),
            "label": (rng.random(n) < p).astype(int),
        }
    )
    for j in range(k):
        frame[f"f{j + 1}"] = X[:, j]
    return frame


@pytest.fixture
def table() -> pd.DataFrame:
    return labeled_table()


@pytest.fixture
def train_cfg() -> TrainConfig:
    return TrainConfig(
        folds=2,
        test_days=56,
        min_train_days=28,
        min_isotonic_positives=50,
        early_stopping_rounds=20,
        lightgbm={"n_estimators": 200, "learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 20},
        n_jobs=1,
    )
