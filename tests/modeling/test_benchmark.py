"""The benchmark harness: same rows for every method, nothing after the cutoff, BG/NBD sanity."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import polars as pl
import pytest

from churnml.modeling.benchmark import METHODS, benchmark_models
from churnml.modeling.btyd import BetaGeoModel, GammaGammaModel, purchase_summary

HORIZON = 28
N_WEEKS = 60


def labeled_table(n_clients: int, n_weeks: int, seed: int) -> pd.DataFrame:
    """client_id, snapshot, label, f1..f3 with P(label) = sigmoid(-2.5 + 1.5 f1 - f2) (weekly from 2024-01-01)."""
    rng = np.random.default_rng(seed)
    snaps = [date(2024, 1, 1) + timedelta(weeks=w) for w in range(n_weeks)]
    n = n_clients * n_weeks
    X = rng.normal(size=(n, 3))
    p = 1 / (1 + np.exp(-(-2.5 + 1.5 * X[:, 0] - X[:, 1])))
    frame = pd.DataFrame(
        {
            "client_id": np.repeat([f"c{i:04d}" for i in range(n_clients)], n_weeks),
            "snapshot": np.tile(snaps, n_clients),
            "label": (rng.random(n) < p).astype(int),
        }
    )
    for j in range(3):
        frame[f"f{j + 1}"] = X[:, j]
    return frame


def _data(seed: int = 0) -> tuple[pd.DataFrame, pl.DataFrame]:
    table = labeled_table(n_clients=60, n_weeks=N_WEEKS, seed=seed)
    rng = np.random.default_rng(seed)
    first = table["snapshot"].min()
    rows = []
    for i, client in enumerate(sorted(table["client_id"].unique())):
        days = np.sort(rng.choice(7 * N_WEEKS, size=3 + i % 7, replace=False))
        rows += [
            (client, datetime.combine(first, datetime.min.time()) + timedelta(days=int(d), hours=9), 10.0 + i)
            for d in days
        ]
    log = pl.DataFrame(
        rows, schema={"client_id": pl.String, "ts": pl.Datetime("us"), "amount": pl.Float64}, orient="row"
    )
    summary = purchase_summary(log, pl.from_pandas(table[["client_id", "snapshot"]]))
    table["payments_days_since_payment"] = summary["days_since_order"].to_numpy()
    return table, log


def _oracle(rows: pd.DataFrame) -> np.ndarray:
    return np.full(len(rows), 0.1)


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pl.DataFrame]:
    return _data()


def test_every_method_scores_exactly_the_same_test_rows(data, train_cfg) -> None:
    table, log = data
    res = benchmark_models(table, log, train_cfg, HORIZON, 0, oracle=_oracle, oracle_now=_oracle)
    assert set(res.scores["method"]) == set(METHODS)
    assert len(res.plan.folds) == 2
    for fold in res.plan.folds:
        start, end = fold.test_start, fold.test_end
        in_window = table[(table["snapshot"] >= start) & (table["snapshot"] <= end)]
        preds = res.predictions[res.predictions["cutoff"] == start]
        assert sorted(zip(preds["client_id"], preds["snapshot"], strict=True)) == sorted(
            zip(in_window["client_id"], in_window["snapshot"], strict=True)
        )
        assert preds[list(METHODS)].notna().all().all()
        per = res.scores[res.scores["cutoff"] == start]
        assert (per["n"] == len(in_window)).all()
        assert (per["positives"] == in_window["label"].sum()).all()


def test_no_method_sees_labels_or_purchases_after_its_cutoff(data, train_cfg) -> None:
    table, log = data
    before = benchmark_models(table, log, train_cfg, HORIZON, 0, oracle=_oracle, oracle_now=_oracle)
    cutoff = before.plan.folds[0].test_start
    first_test = min(s for s in table["snapshot"] if s >= cutoff)  # its rows see data before it only
    unknown = (pd.to_datetime(table["snapshot"]) + pd.Timedelta(days=HORIZON)) > pd.Timestamp(cutoff)
    changed = table.copy()
    changed.loc[unknown, "label"] = 1 - changed.loc[unknown, "label"]  # labels not yet known at the cutoff
    later = changed["snapshot"] > first_test
    changed.loc[later, "f1"] = changed.loc[later, "f1"] * -3.0  # features of rows after the cutoff
    extra = log.with_columns(pl.col("ts") + pl.duration(days=1000))  # purchases long after the cutoff
    at_cut = log.filter(pl.col("ts") >= datetime.combine(first_test, datetime.min.time())).head(20)
    after = benchmark_models(
        changed, pl.concat([log, extra, at_cut]), train_cfg, HORIZON, 0, oracle=_oracle, oracle_now=_oracle
    )

    def first_rows(res) -> pd.DataFrame:
        p = res.predictions
        return p[(p["cutoff"] == cutoff) & (p["snapshot"] == first_test)].reset_index(drop=True)

    a, b = first_rows(before), first_rows(after)
    assert len(a) > 0
    for method in METHODS:
        np.testing.assert_allclose(a[method], b[method], err_msg=method)


def test_purchase_summary_counts_purchase_days_strictly_before_the_snapshot() -> None:
    log = pl.DataFrame(
        {
            "client_id": ["a", "a", "a", "b"],
            "ts": [
                datetime(2024, 1, 1, 9),
                datetime(2024, 1, 1, 15),
                datetime(2024, 1, 8, 10),
                datetime(2024, 1, 9),
            ],
            "amount": [10.0, 20.0, 50.0, 5.0],
        }
    )
    spine = pl.DataFrame(
        {"client_id": ["a", "a", "b"], "snapshot": [date(2024, 1, 8), date(2024, 1, 9), date(2024, 1, 9)]}
    )
    out = purchase_summary(log, spine).to_dicts()
    assert out[0] | {} == {
        "client_id": "a",
        "snapshot": date(2024, 1, 8),
        "orders": 1,
        "x": 0.0,
        "t_x": 0.0,
        "T": 1.0,
        "days_since_order": 7.0,
        "monetary": 30.0,
        "repeat_monetary": None,
    }
    assert out[1]["orders"] == 2 and out[1]["x"] == 1.0 and out[1]["t_x"] == 1.0
    assert out[1]["monetary"] == 40.0 and out[1]["repeat_monetary"] == 50.0
    assert out[2]["orders"] == 0 and out[2]["days_since_order"] is None


def _simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, T: float, seed: int = 1):
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:
                break
    return x, t_x, np.full(n, T)


def test_bgnbd_recovers_its_parameters_and_p_alive_behaves() -> None:
    truth = {"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}  # the CDNOW estimates of the paper
    x, t_x, T = _simulate_bgnbd(3000, *truth.values(), T=39.0)
    model = BetaGeoModel().fit(x, t_x, T)
    at_truth = BetaGeoModel.log_likelihood(np.array(list(truth.values())), x, t_x, T).sum()
    assert model.loglik_ >= at_truth  # the maximum likelihood is at least the likelihood of the truth
    assert model.params_["r"] == pytest.approx(truth["r"], rel=0.25)
    assert model.params_["alpha"] == pytest.approx(truth["alpha"], rel=0.4)
    assert model.params_["a"] / (model.params_["a"] + model.params_["b"]) == pytest.approx(0.25, abs=0.08)
    # no repeat purchase: alive for sure; the longer since the last purchase, the less likely alive
    assert model.probability_alive([0, 0], [0, 0], [5, 39]) == pytest.approx([1.0, 1.0])
    p = model.probability_alive(np.full(5, 3), [38, 30, 20, 10, 1], np.full(5, 39))
    assert (np.diff(p) < 0).all()
    # more purchases at the same recency: more evidence of activity
    assert model.probability_alive([1, 6], [30, 30], [39, 39])[1] < 1.0


def test_gamma_gamma_shrinks_mean_spend_towards_the_population() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(1, 10, 500).astype(float)
    m = rng.gamma(5, 10 / 5, 500) * rng.gamma(3, 1 / 3, 500)
    gg = GammaGammaModel().fit(x, m)
    pop = gg.expected_spend([0], [0])[0]
    spend = gg.expected_spend([1, 20], [100.0, 100.0])
    assert pop < spend[0] < spend[1] < 100.0
    assert 5 < pop < 20


def test_bgnbd_no_purchase_probability_is_between_dead_and_one() -> None:
    model = BetaGeoModel()
    model.params_ = {"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}
    x, t_x, T = np.array([0.0, 2, 5]), np.array([0.0, 10, 30]), np.array([20.0, 39, 39])
    dead = 1 - model.probability_alive(x, t_x, T)
    assert model.probability_no_purchase(x, t_x, T, 0.0) == pytest.approx([1.0, 1.0, 1.0])
    short, long = (
        model.probability_no_purchase(x, t_x, T, 4.0),
        model.probability_no_purchase(x, t_x, T, 52.0),
    )
    assert (dead < long).all() and (long < short).all() and (short < 1).all()
