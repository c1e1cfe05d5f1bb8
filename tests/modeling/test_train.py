"""ChurnModel: calibrated probabilities, exact contributions, imbalance handling, export round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnml.modeling.export import export_model, feature_reference, load_exported, population_stability
from churnml.modeling.split import out_of_time_split
from churnml.modeling.train import ChurnModel, ScoreCalibrator, model_from_config

from .conftest import HORIZON, labeled_table

FEATURES = ["f1", "f2", "f3", "f4"]


def _parts(table, cfg):
    parts = out_of_time_split(table["snapshot"], cfg, HORIZON).part_of(table["snapshot"])
    return {p: (table.loc[parts == p, FEATURES], table.loc[parts == p, "label"]) for p in set(parts)}


@pytest.fixture(scope="module")
def fitted():
    from churnml.config import TrainConfig

    cfg = TrainConfig(
        test_days=56,
        valid_days=56,
        min_train_days=28,
        min_isotonic_positives=50,
        early_stopping_rounds=20,
        lightgbm={"n_estimators": 200, "learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 20},
        n_jobs=1,
    )
    table = labeled_table(n_clients=250, n_weeks=40, seed=3)
    parts = _parts(table, cfg)
    model = model_from_config(cfg).fit(*parts["train"], *parts["valid"], *parts["calib"])
    return model, parts


def test_held_out_mean_probability_matches_the_observed_rate(fitted):
    model, parts = fitted
    X, y = parts["test"]
    p = model.churn_probability(X)
    assert model.calibrator_.method_ == "isotonic"  # >= 50 positives in the calibration slice
    assert p.mean() == pytest.approx(y.mean(), abs=0.03)
    # and per half of the risk ranking, not only on average
    high = p >= np.median(p)
    assert p[high].mean() == pytest.approx(y[high].mean(), abs=0.05)
    assert p[~high].mean() == pytest.approx(y[~high].mean(), abs=0.05)


def test_sigmoid_when_few_positives_and_still_calibrated(fitted):
    _, parts = fitted
    model = ChurnModel(
        {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 7},
        early_stopping_rounds=20,
        min_isotonic_positives=10_000,
        n_jobs=1,
    ).fit(*parts["train"], *parts["valid"], *parts["calib"])
    X, y = parts["test"]
    assert model.calibrator_.method_ == "sigmoid"
    assert model.churn_probability(X).mean() == pytest.approx(y.mean(), abs=0.03)


def test_imbalance_reweighting_is_undone_by_calibration(fitted):
    model, parts = fitted
    X, y = parts["test"]
    y_train = parts["train"][1]
    ratio = (len(y_train) - y_train.sum()) / y_train.sum()
    assert model.scale_pos_weight_ == pytest.approx(ratio**0.5)
    raw_p = 1 / (1 + np.exp(-model.raw_score(X)))
    assert raw_p.mean() > y.mean() + 0.02  # the reweighted booster over-predicts ...
    assert abs(model.churn_probability(X).mean() - y.mean()) < abs(raw_p.mean() - y.mean())  # ... fixed


def test_contributions_sum_to_raw_score_and_order_is_kept(fitted):
    model, parts = fitted
    X = parts["test"][0].head(50)
    contrib = model.contributions(X)
    assert contrib.shape == (50, len(FEATURES) + 1)
    np.testing.assert_allclose(contrib.sum(axis=1), model.raw_score(X), atol=1e-9)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # calibrated probability is strictly increasing in the raw score: ranking (PR-AUC) is the booster's
    order = np.argsort(model.raw_score(X))
    assert (np.diff(model.churn_probability(X)[order]) >= 0).all()
    # columns are matched by name, not position
    np.testing.assert_allclose(model.churn_probability(X[FEATURES[::-1]]), model.churn_probability(X))


def test_missing_feature_is_a_clear_error(fitted):
    model, parts = fitted
    with pytest.raises(ValueError, match="lacks 1 of the model's features"):
        model.churn_probability(parts["test"][0].drop(columns="f3"))


def test_fit_refuses_missing_labels_and_one_class():
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0]})
    with pytest.raises(ValueError, match="missing labels"):
        ChurnModel().fit(X, pd.Series([1, None, 0], dtype="Int8"), X, [0, 1, 0])
    with pytest.raises(ValueError, match="only one class"):
        ChurnModel().fit(X, [0, 0, 0], X, [0, 1, 0])


@settings(max_examples=30, deadline=None)
@given(
    raw=st.lists(st.floats(-30, 30), min_size=1, max_size=50),
    method=st.sampled_from(["isotonic", "sigmoid"]),
)
def test_calibrated_probabilities_stay_strictly_inside_0_1(raw, method):
    rng = np.random.default_rng(0)
    train_raw = rng.normal(size=200)
    y = (rng.random(200) < 1 / (1 + np.exp(-train_raw))).astype(int)
    p = ScoreCalibrator(method).fit(train_raw, y).predict(np.array(raw))
    assert ((p > 0) & (p < 1)).all()


def test_export_round_trip_keeps_predictions_and_foreign_files(fitted, tmp_path):
    model, parts = fitted
    X = parts["test"][0]
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "README.md").write_text("exported champion lands here\n")
    export_model(model, folder, {"run_id": "r1", "feature_reference": feature_reference(parts["train"][0])})
    loaded, meta = load_exported(folder)
    np.testing.assert_allclose(loaded.churn_probability(X), model.churn_probability(X))
    np.testing.assert_allclose(loaded.contributions(X), model.contributions(X))
    assert meta["run_id"] == "r1" and meta["feature_names"] == FEATURES
    assert (folder / "README.md").read_text() == "exported champion lands here\n"
    # a second export replaces the first as a whole
    export_model(model, folder, {"run_id": "r2"})
    assert json.loads((folder / "metadata.json").read_text())["run_id"] == "r2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]  # no temp folders left behind
    # readable by a batch job running as another user, like any folder made with mkdir
    assert folder.stat().st_mode & 0o777 == 0o777 & ~_umask()


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_load_exported_names_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing model\.txt"):
        load_exported(tmp_path)


def test_population_stability_is_zero_on_the_reference_and_large_after_a_shift():
    rng = np.random.default_rng(1)
    values = pd.DataFrame({"x": rng.normal(size=5000)})
    ref = feature_reference(values)["x"]
    assert len(ref["proportions"]) == len(ref["edges"]) + 1 == 10
    assert population_stability(ref, values["x"]) == pytest.approx(0.0, abs=1e-9)
    assert population_stability(ref, values["x"] + 1.0) > 0.25
    with_missing = values["x"].where(rng.random(5000) > 0.5)
    assert population_stability(ref, with_missing) > 0.25  # half the values went missing
