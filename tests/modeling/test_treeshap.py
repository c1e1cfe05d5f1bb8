"""TreeSHAP per decision pattern gives LightGBM's own pred_contrib values, on every kind of split."""

from __future__ import annotations

from dataclasses import replace

import lightgbm as lgb
import numpy as np
import pytest

from churnml.modeling.treeshap import tree_contributions, tree_splits


def _data(n: int = 3_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features with NaNs, exact zeros and ties: every branch of LightGBM's numerical split rule."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    X[rng.random(n) < 0.2, 0] = np.nan  # missing values
    X[rng.random(n) < 0.3, 1] = 0.0  # exact zeros (missing under zero_as_missing)
    X[:, 2] = rng.integers(0, 4, n)  # few distinct values: thresholds between ties
    X[rng.random(n) < 0.1, 3] = np.nan
    logit = X[:, 1] - np.nan_to_num(X[:, 0]) + 0.5 * X[:, 2] + np.isnan(X[:, 3]) + rng.normal(size=n)
    return X, (logit > 0.5).astype(int)


def _booster(X: np.ndarray, y: np.ndarray, **params: object) -> lgb.Booster:
    base = {"objective": "binary", "verbose": -1, "min_child_samples": 5, "num_threads": 1, "seed": 1}
    return lgb.train({**base, **params}, lgb.Dataset(X, y), num_boost_round=40)


@pytest.mark.parametrize(
    "params",
    [
        {"num_leaves": 7},
        {"num_leaves": 7, "zero_as_missing": True},  # missing_type "Zero"
        {"num_leaves": 7, "use_missing": False},  # missing_type "None": NaN reads as 0
        {"num_leaves": 40},  # more splits than the dense lookup table covers
        {"num_leaves": 90, "min_child_samples": 2},  # more splits than one 62-bit code word
    ],
    ids=["nan", "zero-as-missing", "no-missing", "40-leaves", "90-leaves"],
)
def test_pattern_contributions_equal_pred_contrib(params: dict) -> None:
    X, y = _data()
    booster = _booster(X, y, **params)
    expected = booster.predict(X, pred_contrib=True)
    got = tree_contributions(booster, X, min_rows=0)
    assert got.method == "pattern"
    assert got.recomputed_rows == 0
    np.testing.assert_allclose(got.values, expected, rtol=0, atol=1e-12)
    # Rows sum to the raw score, as pred_contrib's do.
    np.testing.assert_allclose(got.values.sum(axis=1), booster.predict(X, raw_score=True), atol=1e-10)
    # The point of it: far fewer single-tree evaluations than rows x trees.
    assert got.tree_evaluations < len(X) * booster.num_trees()


def test_a_subset_of_the_trees_is_explained_as_pred_contrib_does() -> None:
    X, y = _data()
    booster = _booster(X, y, num_leaves=7)
    got = tree_contributions(booster, X, num_iteration=12, min_rows=0)
    np.testing.assert_allclose(
        got.values, booster.predict(X, num_iteration=12, pred_contrib=True), atol=1e-12
    )


def test_categorical_splits_fall_back_to_plain_pred_contrib() -> None:
    X, y = _data()
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 7, "min_data_per_group": 5, "cat_smooth": 1},
        lgb.Dataset(X, y, categorical_feature=[2]),
        num_boost_round=20,
    )
    assert tree_splits(booster) is None
    got = tree_contributions(booster, X, min_rows=0)
    assert got.method == "pred_contrib"
    np.testing.assert_allclose(got.values, booster.predict(X, pred_contrib=True), atol=1e-12)


def test_small_inputs_use_one_plain_call() -> None:
    X, y = _data()
    booster = _booster(X, y, num_leaves=7)
    got = tree_contributions(booster, X[:50], min_rows=100)
    assert got.method == "pred_contrib"
    np.testing.assert_allclose(got.values, booster.predict(X[:50], pred_contrib=True), atol=1e-12)


def test_rows_whose_leaf_disagrees_with_lightgbm_are_recomputed() -> None:
    """If the module's split rule ever differs from LightGBM's, the leaf check catches the rows and
    recomputes them: the result stays exact."""
    X, y = _data()
    booster = _booster(X, y, num_leaves=7)
    trees = tree_splits(booster)
    assert trees is not None
    # Corrupt one threshold of the first tree: the rows between old and new threshold go the wrong way.
    root = trees[0]
    shifted = root.threshold.copy()
    shifted[0] += 0.5
    trees = [replace(root, threshold=shifted), *trees[1:]]
    got = tree_contributions(booster, X, min_rows=0, trees=trees)
    assert got.recomputed_rows > 0
    np.testing.assert_allclose(got.values, booster.predict(X, pred_contrib=True), atol=1e-12)


def test_the_result_does_not_depend_on_the_number_of_threads() -> None:
    X, y = _data()
    booster = _booster(X, y, num_leaves=15)
    one = tree_contributions(booster, X, min_rows=0, n_jobs=1).values
    two = tree_contributions(booster, X, min_rows=0, n_jobs=2).values
    assert np.array_equal(one, two)  # bit for bit: trees are added up in the same order
