"""ChurnModel: calibrated probabilities, exact contributions, imbalance handling, export round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnml.modeling.experiment import recent_rows
from churnml.modeling.export import (
    drift_noise,
    export_model,
    feature_reference,
    load_exported,
    population_stability,
    resolved_edges,
)
from churnml.modeling.train import (
    ChurnModel,
    ScoreCalibrator,
    calibrator_for,
    histogram_layout,
    model_from_config,
    rate_weights,
)

from .conftest import FIRST, labeled_table

FEATURES = ["f1", "f2", "f3", "f4"]
# weeks of the 40-week table: train 0-21 | valid 22-29 | calib 30-35 | test 36-39 (time order)
_PARTS = {"train": (0, 22), "valid": (22, 30), "calib": (30, 36), "test": (36, 40)}


def _parts(table):
    weeks = (pd.to_datetime(table["snapshot"]) - pd.Timestamp(FIRST)).dt.days // 7
    out = {}
    for name, (lo, hi) in _PARTS.items():
        m = ((weeks >= lo) & (weeks < hi)).to_numpy()
        out[name] = (table.loc[m, FEATURES], table.loc[m, "label"])
    return out


def _fit(model, parts):
    return model.fit(*parts["train"], eval_set=parts["valid"], calib_set=parts["calib"])


@pytest.fixture(scope="module")
def fitted():
    from churnml.config import TrainConfig

    cfg = TrainConfig(
        min_isotonic_positives=50,
        early_stopping_rounds=20,
        lightgbm={"n_estimators": 200, "learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 20},
        n_jobs=1,
    )
    table = labeled_table(n_clients=250, n_weeks=40, seed=3)
    parts = _parts(table)
    return _fit(model_from_config(cfg), parts), parts


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
    model = _fit(
        ChurnModel(
            {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 7},
            early_stopping_rounds=20,
            min_isotonic_positives=10_000,
            n_jobs=1,
        ),
        parts,
    )
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


def test_fit_refuses_missing_labels_one_class_and_no_calibration_data():
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="missing labels"):
        ChurnModel().fit(X, pd.Series([1, None, 0, 1], dtype="Int8"), eval_set=(X, [0, 1, 0, 1]))
    with pytest.raises(ValueError, match="only one class"):
        ChurnModel().fit(X, [0, 0, 0, 0], eval_set=(X, [0, 1, 0, 1]))
    with pytest.raises(ValueError, match="no calibration data"):
        ChurnModel({"n_estimators": 2, "min_child_samples": 1}).fit(X, [0, 1, 0, 1])


def test_without_eval_set_the_booster_runs_exactly_n_estimators_and_calibrates_on_given_scores(fitted):
    _, parts = fitted
    raw = np.linspace(-3, 3, 200)
    y = (np.arange(200) % 4 == 0).astype(int)
    model = ChurnModel({"n_estimators": 17, "num_leaves": 7}, calibration="sigmoid", n_jobs=1).fit(
        *parts["train"], calibration_scores=(raw, y)
    )
    assert model.best_iteration_ == 17 and model.booster_.current_iteration() == 17
    assert model.valid_scores_ == {}
    expected = ScoreCalibrator("sigmoid").fit(raw, y).predict(model.raw_score(parts["test"][0]))
    np.testing.assert_allclose(model.churn_probability(parts["test"][0]), expected)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"num_leaves": 4}, {"force_col_wise": True}),
        ({}, {"force_col_wise": True}),
        ({"force_row_wise": True}, {}),
        ({"force_col_wise": False}, {}),
        ({"force_col_wise": True}, {}),
    ],
)
def test_histograms_are_column_wise_unless_the_parameters_name_a_layout(params, expected):
    assert histogram_layout(params) == expected


def _parameters_said(model: ChurnModel) -> set[str]:
    text = model.booster_.model_to_string()
    return {line for line in text[text.index("parameters:") :].splitlines() if line.startswith("[force_")}


def _trees(model: ChurnModel) -> str:
    text = model.booster_.model_to_string()
    return text[: text.index("parameters:")]


def test_the_booster_builds_column_wise_histograms_unless_told_otherwise_and_grows_the_same_trees(fitted):
    """LightGBM otherwise times both layouts at each fit and keeps the faster: the choice may change from run
    to run on a busy machine; column-wise is also the cheaper one on churnml's tables."""
    _, parts = fitted
    params = {
        "n_estimators": 30,
        "num_leaves": 4,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.5,
    }
    default = ChurnModel(params, n_jobs=2).fit(*parts["train"], eval_set=parts["valid"])
    rows = ChurnModel({**params, "force_row_wise": True}, n_jobs=2).fit(
        *parts["train"], eval_set=parts["valid"]
    )
    assert _parameters_said(default) == {"[force_col_wise: 1]", "[force_row_wise: 0]"}
    assert _parameters_said(rows) == {"[force_col_wise: 0]", "[force_row_wise: 1]"}
    assert _trees(default) == _trees(rows)
    assert default.best_iteration_ == rows.best_iteration_


@settings(max_examples=25, deadline=None)
@given(row=st.integers(0, 399), step=st.floats(0.1, 3.0))
def test_raising_a_constrained_feature_never_raises_the_risk(monotone_model, row, step):
    model, X = monotone_model
    base = X.iloc[[row]]
    up = base.assign(f2=base["f2"] + step)  # f2: more of it, less risk (direction -1)
    assert model.raw_score(up)[0] <= model.raw_score(base)[0] + 1e-12
    down = base.assign(f1=base["f1"] - step)  # f1: more of it, more risk (direction +1)
    assert model.raw_score(down)[0] <= model.raw_score(base)[0] + 1e-12


@pytest.fixture(scope="module")
def monotone_model():
    table = labeled_table(n_clients=100, n_weeks=40, seed=5)
    parts = _parts(table)
    model = _fit(
        ChurnModel(
            {"n_estimators": 150, "learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 5},
            monotone={"f1": 1, "f2": -1},
            n_jobs=1,
        ),
        parts,
    )
    assert model.monotone_constraints_ == [1, -1, 0, 0]
    return model, parts["test"][0].reset_index(drop=True)


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


_TINY = float(np.nextafter(np.float32(0), np.float32(1)))  # the float32 just above 0


@pytest.mark.parametrize(
    ("reference", "now", "psi"),
    [
        # a monthly price raised from 9.99 to 12.99 for everyone (one annual client at 8.33 keeps his):
        # 0.75 of the mass leaves the bin [9.99] (0.125 = half a value of 4 remains) for the bin above it,
        # empty in training (floored at 1e-4): -0.625 ln(0.125 / 0.75) + 0.7499 ln(0.75 / 1e-4) = 7.8110.
        # Quantile edges put 9.99 and 12.99 in one open top bin: PSI 0.
        ([8.33, 9.99, 9.99, 9.99], [8.33, 12.99, 12.99, 12.99], 7.810951),
        ([8.33, 9.99, 9.99, 9.99], [8.33, 9.99, 9.99, 9.99], 0.0),  # the same values
        # below the bottom value: 0.9999 ln(1 / 1e-4) + (0.125 - 1) ln(0.125) = 11.0289
        ([9.99] * 4, [7.99] * 4, 11.028931),
        # between two plans: 0.8 of the mass leaves [9.99] for the gap below [12.99]:
        # (0.05 - 0.8) ln(0.05 / 0.8) + 0.7999 ln(0.8 / 1e-4) = 9.2683 (quantile edges: 0)
        ([9.99] * 8 + [12.99] * 2, [10.49] * 8 + [12.99] * 2, 9.268300),
        # a count that is mostly 0, with more than 20 values: the 0 (3 rows in 4) gets a bin alone and the
        # rest the quantile bins [tiny, 6.2), [6.2, 18.1), above; the zeros become 3s:
        # (1/240 - 0.75) ln((1/240) / 0.75) + (0.8 - 0.05) ln(0.8 / 0.05) = 5.9525 (quantile edges: 0)
        ([0] * 90 + list(range(1, 31)), [3] * 90 + list(range(1, 31)), 5.952522),
        # a continuous feature keeps its deciles: shifted by half its range, 5 bins empty (0.5 / 100 each)
        # and the top one holds 0.6: 5 x 0.095 ln(20) + 0.5 ln(6) = 2.3189, as before few-value bins
        (np.arange(100.0), np.arange(100.0) + 50, 2.318853),
        (np.arange(100.0), np.arange(100.0), 0.0),
    ],
    ids=[
        "price-raised",
        "price-same",
        "below-bottom",
        "between-two",
        "mostly-zero-count",
        "continuous",
        "same",
    ],
)
def test_the_psi_sees_the_mass_of_a_few_valued_feature_move_to_a_new_value(reference, now, psi):
    ref = feature_reference(pd.DataFrame({"x": np.asarray(reference, dtype=float)}))["x"]
    assert population_stability(ref, np.asarray(now, dtype=float)) == pytest.approx(psi, abs=1e-6)


@pytest.mark.parametrize(
    ("values", "edges", "proportions"),
    [
        # few distinct values: each alone in a bin of the resolution around it, v +- 1% (was [v, the float32
        # above v): a price moved by a cent for everyone read as drift), gaps around them
        (
            [8.33, 9.99, 9.99, 9.99],
            [8.2467, 8.4133, 9.8901, 10.0899],
            [0.0, 0.25, 0.0, 0.75, 0.0],
        ),
        # mostly 0 with more than 20 values: the deciles [0, 0, ..., 6.2, 18.1] and the 0 alone
        ([0] * 90 + list(range(1, 31)), [0.0, _TINY, 6.2, 18.1], [0.0, 0.75, 0.05, 0.1, 0.1]),
        # continuous: the deciles, as before
        (np.arange(100.0), [9.9, 19.8, 29.7, 39.6, 49.5, 59.4, 69.3, 79.2, 89.1], [0.1] * 10),
        # 5 rows, 5 values: too few rows to call the feature discrete, the quintiles as before
        (
            [1.0, 2.0, 3.0, 4.0, 5.0],
            [1.4, 1.8, 2.2, 2.6, 3.0, 3.4, 3.8, 4.2, 4.6],
            [0.2, 0.0, 0.2, 0.0, 0.0, 0.2, 0.0, 0.2, 0.0, 0.2],
        ),
    ],
    ids=["prices", "mostly-zero-count", "continuous", "few-rows"],
)
def test_the_reference_bins_separate_the_values_of_a_few_valued_feature(values, edges, proportions):
    ref = feature_reference(pd.DataFrame({"x": np.asarray(values, dtype=float)}))["x"]
    assert ref["edges"] == pytest.approx(edges, rel=1e-7, abs=0.0)
    assert ref["proportions"] == pytest.approx(proportions, abs=1e-12)


_NEAR_CONSTANT = np.tile(
    np.round(np.linspace(30.0, 30.4, 41), 2), 10
)  # a monthly payment gap, 30.0-30.4 days


@pytest.mark.parametrize(
    ("now", "psi", "psi_of_deciles"),
    [
        # the deciles 30.04, 30.08, ..., 30.36 are closer than 2% of 30 days: one bin [29.74, 30.66) holds
        # every training row, and a shift of a tenth of a day (a month of 31 days in the mean) stays in it
        (_NEAR_CONSTANT + 0.1, 0.0, 1.146108),
        (_NEAR_CONSTANT - 0.1, 0.0, 1.290729),
        # a day more (3%) leaves it for the empty bin above (floored at 1e-4), half a value of 410 remains:
        # 0.9999 ln(1 / 1e-4) + (0.5 / 410 - 1) ln(0.5 / 410) = 15.9105
        (_NEAR_CONSTANT + 1.0, 15.910542, 5.647070),
        (_NEAR_CONSTANT * 1.5, 15.910542, 5.647070),  # paid every 45 days
        (_NEAR_CONSTANT, 0.0, 0.0),
    ],
    ids=["tenth-of-a-day-later", "tenth-of-a-day-earlier", "a-day-later", "every-45-days", "same"],
)
def test_a_near_constant_feature_drifts_only_when_it_moves_by_more_than_its_resolution(
    now, psi, psi_of_deciles
):
    """The deciles of a feature nearly every client holds at 30.0-30.4 are a few hundredths of a day apart:
    a tenth of a day read PSI 1.1 on them (5.06 on a real monthly-billing portfolio, above its price rise)."""
    frame = pd.DataFrame({"x": _NEAR_CONSTANT})
    ref = feature_reference(frame)["x"]
    assert ref["edges"] == pytest.approx([30.04 - 0.3004, 30.36 + 0.3036], rel=1e-7)
    assert ref["proportions"] == [0.0, 1.0, 0.0]
    assert population_stability(ref, now) == pytest.approx(psi, abs=1e-6)
    deciles = feature_reference(frame, resolution=0.0)["x"]  # the bins before the resolution
    assert population_stability(deciles, now) == pytest.approx(psi_of_deciles, abs=1e-6)


def test_a_near_constant_feature_no_longer_drowns_a_price_rise_in_the_drift_report():
    """The monthly-billing portfolio: every payment gap a tenth of a day longer, and the price raised from
    9.99 to 12.99 for 9 clients in 10. Only the price is drift."""
    from churnml.scoring.assemble import drifted_features, feature_drift

    rows = _NEAR_CONSTANT.size
    mrr = np.where(np.arange(rows) % 10 == 0, 8.33, 9.99)
    train = pd.DataFrame({"payments_mean_gap_days": _NEAR_CONSTANT, "payments_mrr": mrr})
    metadata = {"feature_reference": feature_reference(train)}
    now = np.column_stack([_NEAR_CONSTANT + 0.1, np.where(mrr == 9.99, 12.99, mrr)])
    psi = feature_drift(now, list(train.columns), metadata)
    assert psi["payments_mean_gap_days"] == 0.0
    assert list(drifted_features(psi, metadata, rows, 0.25)) == ["payments_mrr"]


@pytest.mark.parametrize(
    ("edges", "resolved"),
    [
        # a run of edges closer than 2% of their values: one bin, half the resolution beyond its outer edges
        ([30.04, 30.08, 30.12], [30.04 - 0.3004, 30.12 + 0.3012]),
        ([1.0, 1.015, 2.0], [0.99, 1.025150, 2.0]),  # the edge 2.0 is clear of the run: kept
        ([-10.0, -9.9], [-10.1, -9.801]),  # negative values: by their magnitude
        ([9.99, 9.990001], [9.8901, 10.0899]),  # a value's bin alone, widened to v +- 1%
        ([0.0, _TINY, 6.2, 18.1], [0.0, _TINY, 6.2, 18.1]),  # the 0 alone keeps its bin: 0 has no magnitude
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),  # bins wider than the resolution: unchanged
        ([], []),
    ],
)
def test_resolved_edges_leave_no_bin_narrower_than_the_resolution(edges, resolved):
    out = resolved_edges(np.asarray(edges, dtype=np.float32))
    assert out.dtype == np.float32
    assert out.tolist() == pytest.approx(resolved, rel=1e-6, abs=0.0)


def test_resolved_edges_at_resolution_zero_are_the_edges():
    edges = np.asarray([30.04, 30.08, 30.12], dtype=np.float32)
    assert resolved_edges(edges, 0.0).tolist() == edges.tolist()


_FOUR_CLIENTS = list("abcd") * 5  # 4 clients x 5 snapshots, the grain of the reference rows


@pytest.mark.parametrize(
    ("reference", "clients", "now", "psi"),
    [
        # 4 clients' MRR, each repeated over 5 snapshots: 4 values, one per client, not shared: the deciles
        # [100, 200, 250, 300, 400] (shares 0, .25, .25, 0, .25, .25); every MRR up 2% stays in its bin: 0
        ([100.0, 200.0, 300.0, 400.0] * 5, _FOUR_CLIENTS, [102.0, 204.0, 306.0, 408.0], 0.0),
        # the same rows, each counted as a client: 20 rows of 4 values read as a few-valued feature, each
        # value alone in its bin; all the mass moves to the gaps above them (floored at 1e-4), the value bins
        # keep half a value of 4: 4 x (0.125 ln 2 + 0.2499 ln(0.25 / 1e-4)) = 8.1675
        ([100.0, 200.0, 300.0, 400.0] * 5, None, [102.0, 204.0, 306.0, 408.0], 8.167490),
        # a price 3 of 4 clients pay is still shared: raised from 9.99 to 12.99, PSI 7.8110 as in one snapshot
        ([8.33, 9.99, 9.99, 9.99] * 5, _FOUR_CLIENTS, [8.33, 12.99, 12.99, 12.99], 7.810951),
        ([8.33, 9.99, 9.99, 9.99] * 5, _FOUR_CLIENTS, [8.33, 9.99, 9.99, 9.99], 0.0),
    ],
    ids=["client-mrr", "client-mrr-rows-as-clients", "shared-price-raised", "shared-price-same"],
)
def test_a_value_repeated_over_one_clients_snapshots_is_not_a_shared_value(reference, clients, now, psi):
    ref = feature_reference(pd.DataFrame({"x": np.asarray(reference)}), clients=clients)["x"]
    assert population_stability(ref, np.asarray(now)) == pytest.approx(psi, abs=1e-6)


def test_the_reference_of_clients_repeated_over_snapshots_keeps_quantile_bins():
    ref = feature_reference(pd.DataFrame({"x": [100.0, 200.0, 300.0, 400.0] * 5}), clients=_FOUR_CLIENTS)["x"]
    assert ref["edges"] == [100.0, 200.0, 250.0, 300.0, 400.0]
    assert ref["proportions"] == [0.0, 0.25, 0.25, 0.0, 0.25, 0.25]


def test_the_reference_refuses_clients_that_do_not_match_the_rows():
    with pytest.raises(ValueError, match=r"clients holds 3 client ids for the 4 rows of X"):
        feature_reference(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}), clients=["a", "b", "c"])


def test_a_reference_exported_before_few_value_bins_is_still_read_with_its_own_bins():
    """The stored format is unchanged (edges, proportions): a model exported with the quantile edge
    ``[9.99]`` is scored as before (blind to 12.99 until retrained): counts [1, 3] of 4 against
    [0.0914, 0.9086]: 0.1586 ln(0.25 / 0.0914) - 0.1586 ln(0.75 / 0.9086) = 0.1900."""
    ref = {"edges": [9.989999771118164], "proportions": [0.0914, 0.9086], "missing": 0.0, "rows": 20_000}
    assert population_stability(ref, [8.33, 12.99, 12.99, 12.99]) == pytest.approx(0.190010, abs=1e-6)


@pytest.mark.parametrize("denominator", [3, 7, 13])
def test_a_float32_training_table_and_float64_scores_bin_alike(denominator):
    """Rates such as k / 13 per week: the training table holds them in float32, scoring in float64; in
    float64 1/13 falls below its own float32 edge, which once read as drift (PSI 3.45 on a shop's data)."""
    rng = np.random.default_rng(denominator)
    rates = rng.integers(0, 2 * denominator, 4000) / denominator
    ref = feature_reference(pd.DataFrame({"x": rates.astype(np.float32)}))["x"]
    assert population_stability(ref, rates) == 0.0
    assert population_stability(ref, rates.astype(np.float32)) == 0.0


def test_an_empty_bin_in_a_small_sample_counts_as_half_a_value_not_as_the_floor():
    """8 scored rows, none in the last quarter: that bin counts 0.5 / 8 = 0.0625, so the PSI is
    2 x 0.125 ln 1.5 + 0.1875 ln 4 = 0.3613 (2.057 with the bin floored at 1e-4); the missing bin,
    empty on both sides, adds nothing."""
    ref = {"edges": [1.0, 2.0, 3.0], "proportions": [0.25] * 4, "missing": 0.0, "rows": 400}
    values = np.array([0.5, 0.5, 1.5, 1.5, 1.5, 2.5, 2.5, 2.5])
    assert population_stability(ref, values) == pytest.approx(0.3612965, abs=1e-6)


@pytest.mark.parametrize(
    ("ref_rows", "rows_now", "chi2_law"),
    [
        # ten equal bins + an empty missing bin: the large-sample law chi2(0.99, 9) (1/n + 1/m)
        (20_000, 2_000, 21.666 * (1 / 2_000 + 1 / 20_000)),
        (10_000, 100, 21.666 * (1 / 100 + 1 / 10_000)),
        (None, 100, 21.666 / 100),  # an older reference without its row count: taken as exact
    ],
)
def test_drift_noise_is_the_psi_sampling_alone_exceeds_one_time_in_a_hundred(ref_rows, rows_now, chi2_law):
    reference = {"edges": list(range(9)), "proportions": [0.1] * 10, "missing": 0.0, "rows": ref_rows}
    noise = drift_noise(reference, rows_now)
    assert noise == pytest.approx(chi2_law, rel=0.2)  # simulated, close to the law where it holds
    assert drift_noise(reference, rows_now) == noise  # seeded: the same figure every run
    assert drift_noise(reference, rows_now * 4) < noise / 2  # falls with the scored rows


def test_drift_noise_of_a_sparse_feature_is_below_the_law_of_equal_bins():
    """97% zeros: two bins; the noise of 106 rows is far below the 0.2 of ten equal bins."""
    reference = {"edges": [0.5], "proportions": [0.97, 0.03], "missing": 0.0, "rows": 1_400}
    assert 0.0 < drift_noise(reference, 106) < 0.1


def test_the_drift_reference_leaves_out_snapshots_that_miss_a_window_the_last_one_knows():
    """Young data: the 182-day window becomes known at the third of the last 91 days' snapshots; the two
    before it (null on every row) would read as a 2-in-5 missing share at every scoring run."""
    snapshots = pd.to_datetime(
        ["2024-01-01", "2024-03-04", "2024-03-11", "2024-03-18", "2024-03-25", "2024-04-01"]
    )
    labeled = pd.DataFrame(
        {
            "client_id": np.tile(["a", "b"], 6),
            "snapshot": np.repeat(snapshots, 2),
            "label": 0.0,
            # known from 2024-03-18 on; a single client's null later stays (a true per-client null)
            "orders_182d": [np.nan] * 6 + [1.0, 2.0, 3.0, np.nan, 5.0, 6.0],
            "orders_7d": np.arange(12, dtype=float),
            "never_known": np.nan,
        }
    )
    ref = recent_rows(labeled, ["orders_182d", "orders_7d", "never_known"], seed=0)
    assert sorted(pd.to_datetime(labeled.loc[ref.index, "snapshot"]).dt.strftime("%m-%d").unique()) == [
        "03-18",
        "03-25",
        "04-01",
    ]
    assert len(ref) == 6
    assert ref["orders_182d"].isna().sum() == 1


@pytest.mark.parametrize(
    ("curve", "expected"),
    [
        # a spike at round 2 on a small held-out set, the real plateau around rounds 8-12
        ([0.30, 0.45, 0.31, 0.32, 0.34, 0.36, 0.38, 0.40, 0.41, 0.41, 0.41, 0.40, 0.39], 10),
        ([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 6),  # still rising: the last round
        ([0.5], 1),
    ],
)
def test_smoothed_best_iteration_ignores_a_lone_spike(curve, expected):
    from churnml.modeling.train import smoothed_best_iteration

    assert smoothed_best_iteration(curve) == expected


def test_rows_fit_the_same_model_as_a_copy_of_the_rows(table, train_cfg):
    from churnml.modeling.train import Rows, model_from_config

    X = table[["f1", "f2", "f3", "f4"]].astype(np.float32)
    y = table["label"].to_numpy()
    fit, ho = np.arange(0, len(X), 2), np.arange(1, len(X), 2)
    copy = model_from_config(train_cfg).fit(X.iloc[fit], y[fit], eval_set=(X.iloc[ho], y[ho]))
    rows = model_from_config(train_cfg).fit(Rows(X, fit), y[fit], eval_set=(Rows(X, ho), y[ho]))
    assert rows.booster_.model_to_string() == copy.booster_.model_to_string()
    np.testing.assert_array_equal(rows.raw_score(Rows(X, ho)), copy.raw_score(X.iloc[ho]))


def test_weighted_rows_stop_early_on_a_real_validation_curve(table, train_cfg):
    from churnml.modeling.train import Rows, model_from_config

    X = table[["f1", "f2", "f3", "f4"]].astype(np.float32)
    y = table["label"].to_numpy()
    fit, ho = np.arange(0, len(X), 2), np.arange(1, len(X), 2)
    w = np.where(y[fit] == 1, 1.0, 1.5)
    rows = model_from_config(train_cfg).fit(
        Rows(X, fit), y[fit], eval_set=(Rows(X, ho), y[ho]), sample_weight=w
    )
    copy = model_from_config(train_cfg).fit(
        X.iloc[fit], y[fit], eval_set=(X.iloc[ho], y[ho]), sample_weight=w
    )
    assert np.isfinite(
        rows.valid_scores_["binary_logloss"]
    )  # NaN when LightGBM reads the held-out rows as a sequence
    assert rows.booster_.model_to_string() == copy.booster_.model_to_string()


def test_sigmoid_calibration_never_reverses_the_ranking():
    """Held-out rows where the score runs the wrong way (churners at the low scores): Platt scaling would
    fit a negative slope and turn the ranking upside down on every other row; the calibrator falls back
    to the held-out churn rate (2 of 6) and keeps the raw order through its tie-break."""
    raw = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    y = np.array([1, 1, 0, 0, 0, 0])
    p = ScoreCalibrator("sigmoid").fit(raw, y).predict(np.array([-3.0, 0.0, 5.0]))
    np.testing.assert_allclose(p, [1 / 3, 1 / 3, 1 / 3], atol=1e-6)
    assert p[0] < p[1] < p[2]
    # the right way round, Platt scaling is kept as it is
    q = ScoreCalibrator("sigmoid").fit(raw, np.array([0, 0, 0, 1, 0, 1])).predict(np.array([-3.0, 0.0, 5.0]))
    np.testing.assert_allclose(q, [0.00526, 0.14084, 0.98044], atol=1e-4)


@pytest.mark.parametrize(
    ("y", "rate", "expected"),
    [
        ([1, 0, 0, 0], 0.125, [0.5, 7 / 6, 7 / 6, 7 / 6]),  # held-out 1 in 4, training rows 1 in 8
        ([1, 1, 0, 0], 0.25, [0.5, 0.5, 1.5, 1.5]),
        ([1, 0, 0, 0], 0.25, None),  # already the training rate: no weights
        ([1, 0, 0, 0], None, None),
        ([0, 0, 0], 0.1, None),  # one class: nothing to weigh
    ],
)
def test_rate_weights_bring_the_rows_to_the_given_churn_rate(y, rate, expected):
    w = rate_weights(np.array(y), rate)
    if expected is None:
        assert w is None
    else:
        np.testing.assert_allclose(w, expected)
        assert np.average(y, weights=w) == pytest.approx(rate)
        assert w.sum() == pytest.approx(len(y))


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_a_calibration_on_enriched_rows_lands_on_the_training_rate(method):
    """Held-out rows with 3 churners in 10 (enriched), standing for training rows with 1 in 10: the
    mean calibrated probability on those rows is 0.1 with the rate given, 0.3 without."""
    raw = np.array([-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    y = np.array([0, 0, 1, 0, 0, 1, 0, 0, 1, 0])
    plain = calibrator_for(raw, y, method, 1).predict(raw)
    weighted = calibrator_for(raw, y, method, 1, rate=0.1)
    w = rate_weights(y, 0.1)
    assert np.average(plain, weights=None) == pytest.approx(0.3, abs=1e-3)
    assert np.average(weighted.predict(raw), weights=w) == pytest.approx(0.1, abs=1e-3)
    assert weighted.method_ == method


@pytest.mark.parametrize(
    ("clients", "method"),
    [
        (None, "isotonic"),  # 300 positive rows
        (np.repeat(np.arange(60), 10), "sigmoid"),  # ... of 30 churning clients, 10 rows each
        (np.arange(600), "isotonic"),  # 300 churning clients
    ],
)
def test_auto_calibration_counts_churning_clients_not_rows(clients, method) -> None:
    rng = np.random.default_rng(0)
    y = np.repeat(np.tile([1, 0], 30), 10)  # 300 positive rows of 600: clients 0, 2, 4, ... of 60
    raw = rng.normal(size=600) + y
    assert calibrator_for(raw, y, "auto", 200, clients=clients).method_ == method


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("payments_mrr_change_91d", None),  # a rise is an expansion or a price rise: unconstrained
        ("payments_downgrades_91d", 1),  # a downgrade raises the risk
        ("payments_failed_28d", 1),
        ("payments_paid_91d", -1),
        # a count of orders or the days since the last one say the buyer's rhythm as much as its health
        ("payments_orders_28d", None),
        ("payments_orders_91d", None),
        ("payments_days_since_payment", None),
        ("payments_gap_ratio", 1),  # the gap against the client's own rhythm stays constrained
    ],
)
def test_only_features_of_a_certain_direction_are_constrained(name: str, direction: int | None) -> None:
    from churnml.config import FeaturesConfig
    from churnml.modeling.train import monotone_directions

    assert monotone_directions([name], FeaturesConfig()).get(name) == direction


def _churners_every_week(n_clients: int, weeks: int, churners: int, seed: int):
    """One row per client x week; the first ``churners`` clients are positive at every week."""
    rng = np.random.default_rng(seed)
    ids = np.repeat([f"c{i}" for i in range(n_clients)], weeks)
    y = np.isin(ids, [f"c{i}" for i in range(churners)]).astype(int)
    return pd.DataFrame({"a": y + rng.normal(size=y.size), "b": rng.normal(size=y.size)}), y, ids


@pytest.mark.parametrize(
    ("with_clients", "method"),
    [
        (False, "isotonic"),  # 240 positive rows >= 200
        (True, "sigmoid"),  # ... of 6 churning clients < 200
    ],
)
def test_fit_counts_the_calibration_rows_churning_clients_when_given(with_clients, method) -> None:
    X, y, _ = _churners_every_week(300, 10, 30, seed=1)
    X_valid, y_valid, ids = _churners_every_week(60, 40, 6, seed=2)  # 6 churners x 40 weeks = 240 rows
    model = ChurnModel(
        params={"n_estimators": 20, "num_leaves": 4, "verbosity": -1}, min_isotonic_positives=200
    )
    model.fit(X, y, eval_set=(X_valid, y_valid), calibration_clients=ids if with_clients else None)
    assert model.calibrator_.method_ == method


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["average_precision", "binary_logloss"]),
        ({"metric": "binary_logloss"}, ["average_precision", "binary_logloss"]),
        ({"metric": "auc,binary_error"}, ["average_precision", "auc", "binary_error"]),
        ({"metrics": ["auc", "average_precision"]}, ["average_precision", "auc"]),
        ({"metric": "None"}, ["average_precision", "binary_logloss"]),  # LightGBM's "no metric"
    ],
)
def test_early_stopping_reads_average_precision_first_whatever_metric_is_named(params, expected) -> None:
    from churnml.modeling.train import early_stopping_metrics

    assert early_stopping_metrics(params) == expected


def test_a_lower_is_better_metric_in_the_params_does_not_pick_the_worst_round() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=4000), "b": rng.normal(size=4000)})
    y = (rng.random(4000) < 1 / (1 + np.exp(-(X.a * 2 - 2)))).astype(int)
    best = []
    for extra in ({}, {"metric": "binary_logloss"}):
        params = {"n_estimators": 300, "learning_rate": 0.05, "verbosity": -1, **extra}
        model = ChurnModel(params=params, early_stopping_rounds=30, n_jobs=1)
        best.append(model.fit(X[:3000], y[:3000], eval_set=(X[3000:], y[3000:])).best_iteration_)
    assert best[1] == best[0] > 1  # the logloss curve read as higher-is-better gave round 1


@pytest.mark.parametrize(
    ("calibration", "refused"),
    [
        ("same frame", True),
        ("a copy of it", True),  # same index, same values
        ("rows sharing positions", True),
        ("other rows, same index labels", False),
        ("other rows", False),
    ],
)
def test_calibrating_on_the_training_rows_is_warned_of(calibration, refused) -> None:
    from churnml.modeling.train import Rows

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=400)})
    y = np.tile([1, 0, 0, 0], 100)
    frame["a"] += y
    X, other = frame.iloc[:200], frame.iloc[200:]
    train, calib = {
        "same frame": (X, X),
        "a copy of it": (X, X.copy()),
        "rows sharing positions": (Rows(frame, np.arange(200)), Rows(frame, np.arange(150, 300))),
        "other rows, same index labels": (X, other.reset_index(drop=True)),
        "other rows": (X, other),
    }[calibration]
    model = ChurnModel(params={"n_estimators": 5, "verbosity": -1}, calibration="sigmoid", n_jobs=1)
    import warnings

    if refused:
        with pytest.warns(UserWarning, match="calibration rows \\(calib_set\\) are training rows"):
            model.fit(train, y[: len(train)], calib_set=(calib, y[: len(calib)]))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            assert (
                model.fit(train, y[: len(train)], calib_set=(calib, y[:200])).calibrator_.method_ == "sigmoid"
            )


def test_the_season_reference_keeps_each_snapshots_rows_per_bin_and_pools_the_same_weeks_of_a_year_before() -> (
    None
):
    from datetime import date

    from churnml.modeling.export import same_season_reference, season_reference

    reference = {
        "x": {"edges": [1.0], "proportions": [0.5, 0.5], "missing": 0.0, "rows": 4},
        "never": {"edges": [], "proportions": [], "missing": 1.0, "rows": 4},  # no training value: left out
    }
    table = pd.DataFrame(
        {
            "snapshot": pd.to_datetime(["2024-06-03"] * 3 + ["2024-06-10"] * 3 + ["2024-06-24"] * 2),
            "x": [0.0, 2.0, np.nan, 0.0, 0.0, 5.0, 3.0, 4.0],
            "never": np.nan,
        }
    )
    season = season_reference(table, reference, "snapshot")
    # per snapshot: the rows below 1, at or above it, missing
    assert season == {
        "features": ["x"],
        "snapshots": {"2024-06-03": "1 1 1", "2024-06-10": "2 1 0", "2024-06-24": "0 2 0"},
    }
    # a list of 2025-06-09 (52 weeks after 2024-06-10) reads the snapshots within a week of that day
    refs, days = same_season_reference(season, reference, date(2025, 6, 9))
    assert days == [date(2024, 6, 3), date(2024, 6, 10)]
    assert refs == {"x": {"edges": [1.0], "proportions": [0.6, 0.4], "missing": 1 / 6, "rows": 6}}
    assert same_season_reference(season, reference, date(2024, 12, 9)) == ({}, [])  # no week of its season
    assert season_reference(table, {}, "snapshot") == {}
