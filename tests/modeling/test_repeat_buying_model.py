"""The model with repeat-buying columns: fitted per fold and for the deployed model, stored with it."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from churnml.config import TrainConfig
from churnml.features.repeat_buying import P_ALIVE, P_NO_ORDER
from churnml.modeling.experiment import train_and_compare
from churnml.modeling.export import export_model, load_exported
from churnml.modeling.tracking import input_features

from .conftest import FIRST

HORIZON_WEEKS = 8
ORDERS, FIRST_DAYS, LAST_DAYS = (
    "payments_orders_total",
    "payments_days_since_first_payment",
    "payments_days_since_payment",
)


def order_rhythm_table(n_clients: int = 160, n_weeks: int = 36, seed: int = 0) -> pd.DataFrame:
    """One row per client x weekly snapshot of a repeat-buying population (weekly Poisson orders at a
    client's own rate until it drops out after an order with probability 0.15), the three payments
    columns from the orders strictly before the snapshot, a noise column, and the label "no order in the
    next HORIZON_WEEKS weeks" for clients that ordered before."""
    rng = np.random.default_rng(seed)
    weeks = n_weeks + HORIZON_WEEKS
    out = []
    for i in range(n_clients):
        rate, orders, alive = rng.gamma(2.0, 0.3), np.zeros(weeks, dtype=int), True
        for w in range(rng.integers(0, 8), weeks):
            if not alive:
                break
            orders[w] = rng.poisson(rate)
            alive = not (orders[w] and rng.random() < 0.15)
        days = [7 * w for w in range(weeks) for _ in range(orders[w])]
        for s in range(4, n_weeks):
            seen = [d for d in days if d < 7 * s]
            if not seen:
                continue
            future = orders[s : s + HORIZON_WEEKS].sum()
            out.append(
                {
                    "client_id": f"c{i:04d}",
                    "snapshot": FIRST + timedelta(weeks=s),
                    "label": int(future == 0),
                    ORDERS: float(len(seen)),
                    FIRST_DAYS: float(7 * s - seen[0]),
                    LAST_DAYS: float(7 * s - seen[-1]),
                    "noise": rng.normal(),
                }
            )
    return pd.DataFrame(out)


def test_the_deployed_model_fits_and_keeps_its_repeat_buying_columns(tmp_path):
    table = order_rhythm_table()
    cfg = TrainConfig(
        folds=1,
        test_days=56,
        min_isotonic_positives=50,
        early_stopping_rounds=20,
        lightgbm={"n_estimators": 120, "learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 10},
        n_jobs=1,
    )
    result = train_and_compare(table, cfg, 7 * HORIZON_WEEKS, monotone={})
    model = result.model
    assert model.repeat_buying_ is not None and model.repeat_buying_.horizon_days == 56
    assert model.feature_names_ == [ORDERS, FIRST_DAYS, LAST_DAYS, "noise", P_ALIVE, P_NO_ORDER]
    assert model.monotone_constraints_[-2:] == [-1, 1]  # the registry's directions
    assert input_features(model) == [ORDERS, FIRST_DAYS, LAST_DAYS, "noise"]
    assert list(result.X_sample.columns[-2:]) == [P_ALIVE, P_NO_ORDER]
    assert result.backtest.has_estimate
    # the derived column alone ranks the churners well on this repeat-buying data
    rows = table.iloc[:2000]
    derived = model.with_derived(rows[[ORDERS, FIRST_DAYS, LAST_DAYS, "noise"]])
    top = derived[P_NO_ORDER] > derived[P_NO_ORDER].median()
    assert rows["label"][top].mean() > 2 * rows["label"][~top].mean()
    # export keeps the fitted parameters; the loaded model derives the same columns
    export_model(model, tmp_path / "m", {"run_id": "r"})
    loaded, meta = load_exported(tmp_path / "m")
    assert meta["repeat_buying"]["params"] == model.repeat_buying_.params_
    base = rows[input_features(model)]
    np.testing.assert_allclose(
        loaded.churn_probability(loaded.with_derived(base)),
        model.churn_probability(model.with_derived(base)),
        rtol=0,
        atol=1e-12,
    )


def test_off_in_the_config_the_model_has_no_repeat_buying_columns():
    table = order_rhythm_table(n_clients=80)
    cfg = TrainConfig(
        folds=1,
        test_days=56,
        repeat_buying=False,
        lightgbm={"n_estimators": 30, "learning_rate": 0.1, "num_leaves": 7},
        calibration="sigmoid",
        n_jobs=1,
    )
    model = train_and_compare(table, cfg, 7 * HORIZON_WEEKS).model
    assert model.repeat_buying_ is None and P_ALIVE not in model.feature_names_
