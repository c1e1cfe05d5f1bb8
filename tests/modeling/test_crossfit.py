"""Cross-fitted models: client parts, the mean of boosters as one booster, out-of-fold calibration."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnml.config import TrainConfig
from churnml.modeling.backtest import client_parts
from churnml.modeling.evaluate import binary_metrics
from churnml.modeling.experiment import (
    churning_clients,
    cross_fit_parts,
    cross_fitted_model,
    decided_cross_fit_rounds,
    decided_extra_trees,
    decided_for_table,
    train_and_compare,
)
from churnml.modeling.export import export_model, load_exported
from churnml.modeling.train import mean_booster, model_from_config
from churnml.modeling.treeshap import tree_contributions

from .conftest import HORIZON, labeled_table


# ------------------------------------------------------------------------------------------------
# client parts
# ------------------------------------------------------------------------------------------------
def test_client_parts_keep_a_client_whole_and_deal_the_churners_evenly():
    # 7 clients, 2 rows each; c1, c4 and c6 churn (a 1 on one of their rows)
    clients = np.repeat([f"c{i}" for i in range(7)], 2)
    labels = np.zeros(14)
    labels[[3, 9, 12]] = 1  # c1, c4, c6
    part = client_parts(clients, 3, seed=0, labels=labels)
    by_client = pd.Series(part).groupby(clients).agg(["min", "max"])
    assert (by_client["min"] == by_client["max"]).all()  # every row of a client in one part
    per_client = by_client["min"]
    assert sorted(per_client[["c1", "c4", "c6"]].tolist()) == [0, 1, 2]  # one churner in each part
    assert sorted(np.bincount(per_client, minlength=3).tolist()) == [2, 2, 3]  # sizes differ by one at most
    np.testing.assert_array_equal(part, client_parts(clients, 3, seed=0, labels=labels))  # deterministic


@settings(max_examples=30, deadline=None)
@given(
    n_clients=st.integers(5, 60),
    parts=st.integers(2, 5),
    churn_share=st.floats(0.05, 0.9),
    seed=st.integers(0, 10**6),
)
def test_every_part_holds_its_share_of_churners(n_clients, parts, churn_share, seed):
    rng = np.random.default_rng(seed)
    clients = np.repeat(np.arange(n_clients), 3)
    churner = rng.random(n_clients) < churn_share
    labels = np.zeros(clients.size)
    labels[np.flatnonzero(churner[clients])[::3]] = 1  # a churner's first row
    part = client_parts(clients, parts, seed, labels)
    per_client = pd.Series(part).groupby(clients).first().to_numpy()
    churners = np.bincount(per_client[churner], minlength=parts)
    everyone = np.bincount(per_client, minlength=parts)
    assert churners.max() - churners.min() <= 1
    assert everyone.max() - everyone.min() <= 1


@pytest.mark.parametrize(
    ("rows", "max_rows", "expected"),
    [(1_000, 1_000_000, 5), (1_000_000, 1_000_000, 5), (1_000_001, 1_000_000, 1), (10**9, None, 5)],
)
def test_cross_fit_parts_by_table_size(rows, max_rows, expected):
    cfg = TrainConfig(cross_fit_parts=5, cross_fit_max_rows=max_rows, cross_fit_large_rows=None)
    assert cross_fit_parts(cfg, rows) == expected


@pytest.mark.parametrize(
    ("rows", "parts", "large_rows", "large_parts", "expected"),
    [
        (100_000, 5, 100_000, 3, 5),  # at the bound: cross_fit_parts
        (100_001, 5, 100_000, 3, 3),  # above it: cross_fit_large_parts
        (152_383, 5, 100_000, 3, 3),  # a 30,000-user app's labeled table
        (250_000, 5, 100_000, 3, 3),  # up to cross_fit_max_rows
        (250_001, 5, 100_000, 3, 1),  # above it: one model
        (152_383, 2, 100_000, 3, 2),  # never more parts than cross_fit_parts
        (152_383, 5, None, 3, 5),  # null: always cross_fit_parts
    ],
)
def test_large_tables_take_fewer_parts(rows, parts, large_rows, large_parts, expected):
    cfg = TrainConfig(
        cross_fit_parts=parts,
        cross_fit_max_rows=250_000,
        cross_fit_large_rows=large_rows,
        cross_fit_large_parts=large_parts,
    )
    assert cross_fit_parts(cfg, rows) == expected


def _churning(churners: int, others: int) -> pd.DataFrame:
    """Two rows per client: churners have a 0 then a 1, the others two 0s."""
    clients = [f"c{i}" for i in range(churners + others)]
    labels = [[0.0, 1.0] if i < churners else [0.0, 0.0] for i in range(len(clients))]
    return pd.DataFrame(
        {"client_id": np.repeat(clients, 2), "label": np.concatenate(labels) if clients else []}
    )


@pytest.mark.parametrize(
    ("setting", "churners", "parts", "below", "expected", "says"),
    [
        # 9 churning clients over 5 parts: under 2 a part, fewer than 2 -> shared
        (
            "auto",
            9,
            5,
            2,
            "shared",
            "cross_fit_rounds shared (auto): 9 churning clients over 5 cross-fitted parts, "
            "fewer than train.shared_rounds_below_churners (2) a part",
        ),
        # 10 over 5: 2 a part, not fewer than 2 -> each
        (
            "auto",
            10,
            5,
            2,
            "each",
            "cross_fit_rounds each (auto): 10 churning clients over 5 cross-fitted parts, "
            "at least train.shared_rounds_below_churners (2) a part",
        ),
        # one model (cross_fit_parts 1): no parts to share rounds between
        (
            "auto",
            1,
            1,
            2,
            "each",
            "cross_fit_rounds each (auto): 1 churning clients over 1 cross-fitted part, at",
        ),
        ("shared", 50, 5, 2, "shared", None),
        ("each", 1, 5, 2, "each", None),
    ],
)
def test_cross_fit_rounds_decided_by_the_churning_clients_a_part(
    setting, churners, parts, below, expected, says
):
    cfg = TrainConfig(cross_fit_rounds=setting, cross_fit_parts=parts, shared_rounds_below_churners=below)
    table = _churning(churners, others=5)
    decided, why = decided_cross_fit_rounds(cfg, table)
    assert decided.cross_fit_rounds == expected
    if says is None:
        assert why is None
    else:
        assert why.startswith(says)
    assert cfg.cross_fit_rounds == setting  # the caller's config is not changed


def test_the_settings_decided_by_the_table_are_decided_together():
    """``train``, ``tune`` and ``bench models`` decide extra_trees and the parts' rounds in one place."""
    cfg = TrainConfig(extra_trees_below_churners=4, shared_rounds_below_churners=1)
    decided, said = decided_for_table(cfg, _churning(3, others=5))  # 3 churners over 5 parts: < 1 a part
    assert (decided.extra_trees, decided.cross_fit_rounds) == (True, "shared")
    assert {name: why.split(" (auto)")[0] for name, why in said.items()} == {
        "extra_trees": "extra_trees on",
        "cross_fit_rounds": "cross_fit_rounds shared",
    }
    decided, said = decided_for_table(
        TrainConfig(extra_trees=False, cross_fit_rounds="each"), _churning(3, 5)
    )
    assert (decided.extra_trees, decided.cross_fit_rounds, said) == (False, "each", {})


@pytest.mark.parametrize(
    ("setting", "churners", "below", "expected", "says"),
    [
        ("auto", 3, 4, True, "extra_trees on (auto): 3 churning clients in the labeled table, fewer than"),
        ("auto", 4, 4, False, "extra_trees off (auto): 4 churning clients in the labeled table, at least"),
        ("auto", 0, 4, True, "extra_trees on (auto): 0 churning clients"),
        (True, 10, 4, True, None),
        (False, 1, 4, False, None),
    ],
)
def test_extra_trees_decided_by_the_churning_clients_of_the_table(setting, churners, below, expected, says):
    cfg = TrainConfig(extra_trees=setting, extra_trees_below_churners=below)
    table = _churning(churners, others=5)
    decided, why = decided_extra_trees(cfg, table)
    assert decided.extra_trees is expected
    assert churning_clients(table) == churners
    if says is None:
        assert why is None
    else:
        assert why.startswith(says)
    assert cfg.extra_trees == setting  # the caller's config is not changed


@pytest.mark.parametrize(
    ("setting", "lightgbm", "expected"),
    [
        (True, {}, True),  # decided on: LightGBM gets it
        (False, {}, False),  # off: named too, so a champion's recorded recipe says it was off
        ("auto", {}, None),  # not decided for a table: nothing added
        (True, {"extra_trees": False}, False),  # set in train.lightgbm: that value wins
    ],
)
def test_model_parameters_name_extra_trees_once_decided(setting, lightgbm, expected):
    model = model_from_config(TrainConfig(extra_trees=setting, lightgbm=lightgbm))
    assert model.params.get("extra_trees") is expected


def test_a_small_table_trains_with_extra_trees_and_says_why(train_cfg):
    # train_cfg: extra_trees at its default (auto), fast LightGBM
    table = labeled_table(n_clients=120, seed=3)
    churners = churning_clients(table[table["label"].notna()])
    assert 0 < churners < 500
    result = train_and_compare(table, train_cfg, HORIZON)
    assert result.model.params["extra_trees"] is True
    assert result.extra_trees.startswith(f"extra_trees on (auto): {churners} churning clients")
    # the settings it was built with, every auto decided: what the recipe records and a champion is refit with
    assert (result.settings.extra_trees, result.settings.cross_fit_rounds) == (True, "shared")
    assert (train_cfg.extra_trees, train_cfg.cross_fit_rounds) == ("auto", "auto")
    off = train_and_compare(table, train_cfg.model_copy(update={"extra_trees": False}), HORIZON)
    assert off.model.params["extra_trees"] is False and off.extra_trees is None
    X = table[["f1", "f2", "f3", "f4"]]
    assert not np.allclose(result.model.raw_score(X), off.model.raw_score(X))  # LightGBM really used it


# ------------------------------------------------------------------------------------------------
# the mean of boosters as one booster
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def three_boosters():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 6))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 1]) + rng.normal(size=3000) > 1).astype(int)
    params = {"objective": "binary", "verbosity": -1, "num_leaves": 7, "num_threads": 1}
    boosters = [lgb.train({**params, "seed": k}, lgb.Dataset(X[k::3], y[k::3]), 30) for k in range(3)]
    return boosters, X


def test_mean_booster_scores_and_explains_the_mean_of_the_boosters(three_boosters, tmp_path):
    boosters, X = three_boosters
    rounds = [10, 30, 1]
    merged = mean_booster(boosters, rounds)
    assert merged.num_trees() == 41
    expected = np.mean(
        [b.predict(X, num_iteration=n, raw_score=True) for b, n in zip(boosters, rounds, strict=True)], axis=0
    )
    np.testing.assert_allclose(merged.predict(X, raw_score=True), expected, rtol=0, atol=1e-12)
    # TreeSHAP is linear in the leaves: the merged model's contributions are the mean of the boosters'
    mean_contrib = np.mean(
        [b.predict(X, num_iteration=n, pred_contrib=True) for b, n in zip(boosters, rounds, strict=True)],
        axis=0,
    )
    np.testing.assert_allclose(merged.predict(X, pred_contrib=True), mean_contrib, rtol=0, atol=1e-12)
    fast = tree_contributions(merged, np.vstack([X, X]), None).values[: len(X)]
    np.testing.assert_allclose(fast, mean_contrib, rtol=0, atol=1e-12)
    # saved and loaded as any LightGBM model
    merged.save_model(str(tmp_path / "m.txt"))
    loaded = lgb.Booster(model_file=str(tmp_path / "m.txt"))
    np.testing.assert_array_equal(loaded.predict(X, raw_score=True), merged.predict(X, raw_score=True))


def test_mean_booster_of_one_booster_is_that_booster(three_boosters):
    boosters, X = three_boosters
    merged = mean_booster(boosters[:1], [12])
    np.testing.assert_allclose(
        merged.predict(X, raw_score=True),
        boosters[0].predict(X, num_iteration=12, raw_score=True),
        atol=1e-14,
    )
    with pytest.raises(ValueError, match="one number of rounds per booster"):
        mean_booster(boosters, [1, 2])


# ------------------------------------------------------------------------------------------------
# the cross-fitted model
# ------------------------------------------------------------------------------------------------
def _memorisable_table(n_clients: int = 200, n_weeks: int = 10) -> pd.DataFrame:
    """A client's label is the same every week and a coin flip; ``tag`` is a per-client random
    number that identifies the client and says nothing of its label elsewhere: a model that saw the
    client learns its label from the tag, one that did not cannot."""
    rng = np.random.default_rng(3)
    churn = rng.random(n_clients) < 0.3
    tag = rng.random(n_clients)
    clients = np.repeat(np.arange(n_clients), n_weeks)
    return pd.DataFrame(
        {
            "client_id": [f"c{i:03d}" for i in clients],
            "label": churn[clients].astype(int),
            "tag": tag[clients],
            "noise": rng.normal(size=clients.size),
        }
    )


def test_each_row_is_calibrated_on_a_score_from_a_model_that_never_saw_its_client():
    table = _memorisable_table()
    X, y = table[["tag", "noise"]], table["label"].to_numpy()
    cfg = TrainConfig(
        lightgbm={"n_estimators": 200, "learning_rate": 0.2, "num_leaves": 31, "min_child_samples": 2},
        early_stopping_rounds=200,  # let every part's model memorise its clients
        calibration="isotonic",
        n_jobs=1,
    )
    model = cross_fitted_model(table, X, y, np.arange(len(table)), 5, cfg, None, None)
    assert model is not None and len(model.part_iterations_) == 5
    in_sample = binary_metrics(y, model.churn_probability(X))["roc_auc"]
    assert in_sample > 0.95  # the mean of five models of which four saw each client
    # the calibrator learned from out-of-fold scores, where the tag said nothing: its map is nearly
    # flat around the churn rate (an in-sample calibrator would map the top scores near 1)
    p = model.calibrator_.predict(np.quantile(model.raw_score(X), [0.05, 0.5, 0.95]))
    assert p.max() - p.min() < 0.25
    assert abs(p[1] - y.mean()) < 0.15


def test_without_a_churner_in_every_part_there_is_no_cross_fitted_model():
    table = _memorisable_table(n_clients=40)
    y = np.zeros(len(table), dtype=int)
    y[:20] = 1  # only c000 and c001 churn: two of five parts would stop early without a churner
    cfg = TrainConfig(lightgbm={"n_estimators": 20}, n_jobs=1)
    assert (
        cross_fitted_model(table, table[["tag", "noise"]], y, np.arange(len(table)), 5, cfg, None, None)
        is None
    )


def test_the_deployed_cross_fitted_model_keeps_monotone_directions_and_survives_export(tmp_path):
    table = labeled_table(n_clients=120, n_weeks=30, seed=5)
    cfg = TrainConfig(
        folds=1,
        test_days=56,
        min_isotonic_positives=50,
        early_stopping_rounds=20,
        lightgbm={"n_estimators": 150, "learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 5},
        n_jobs=1,
    )
    result = train_and_compare(table, cfg, HORIZON, monotone={"f1": 1, "f2": -1})
    model = result.model
    assert model.monotone_constraints_ == [1, -1, 0, 0] and len(model.part_iterations_) == 5
    X = table[["f1", "f2", "f3", "f4"]].iloc[:400].reset_index(drop=True)
    for step in (0.1, 0.5, 2.0):
        assert (model.raw_score(X.assign(f2=X["f2"] + step)) <= model.raw_score(X) + 1e-12).all()
        assert (model.raw_score(X.assign(f1=X["f1"] - step)) <= model.raw_score(X) + 1e-12).all()
    export_model(model, tmp_path / "m", {"run_id": "r"})
    loaded, meta = load_exported(tmp_path / "m")
    assert meta["best_iteration"] == sum(model.part_iterations_)
    np.testing.assert_allclose(loaded.churn_probability(X), model.churn_probability(X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(loaded.contributions(X), model.contributions(X), rtol=0, atol=1e-12)


def test_the_champion_gate_tells_a_cross_fitted_recipe_from_a_single_model():
    """The gate reuses a champion's backtest figure only when its recipe is this run's; a cross-fitted
    model and a single one are different recipes (an older champion without the key is one model)."""
    from churnml.jobs.train import _procedure
    from churnml.modeling.train import model_from_config

    table = _memorisable_table(n_clients=60, n_weeks=4)
    X, y = table[["tag", "noise"]], table["label"].to_numpy()
    cfg = TrainConfig(lightgbm={"n_estimators": 10}, calibration="sigmoid", n_jobs=1)
    averaged = cross_fitted_model(table, X, y, np.arange(len(table)), 3, cfg, None, None)
    single = model_from_config(cfg).fit(X.iloc[:160], y[:160], eval_set=(X.iloc[160:], y[160:]))
    assert _procedure(averaged, cfg)["cross_fit_parts"] == 3
    assert _procedure(single, cfg)["cross_fit_parts"] == 1
    assert {k: v for k, v in _procedure(averaged, cfg).items() if k != "cross_fit_parts"} == {
        k: v for k, v in _procedure(single, cfg).items() if k != "cross_fit_parts"
    }


def test_a_feature_that_holds_the_future_ranks_the_test_rows_alone():
    """lone_feature_pr_auc: a column equal to the label (reversed, with missing values) scores 1 in its
    better direction; pure noise scores about the churn rate."""
    from churnml.modeling.backtest import backtest_plan
    from churnml.modeling.experiment import lone_feature_pr_auc

    table = labeled_table(n_clients=120, seed=5)
    rng = np.random.default_rng(1)
    table["leak"] = np.where(table["label"] == 1, -5.0, rng.uniform(0, 10, len(table)))  # low = churn
    table.loc[table.index[::7], "noise"] = rng.normal(size=len(table.index[::7]))
    cfg = TrainConfig()
    plan = backtest_plan(table["snapshot"], cfg, HORIZON)
    alone = lone_feature_pr_auc(table, ["f3", "leak", "noise"], plan, cfg)
    assert list(alone.index[:1]) == ["leak"] and alone["leak"] == pytest.approx(1.0)
    rate = table["label"].mean()
    assert alone["noise"] < rate + 0.15  # mostly missing, the rest random
    assert alone["f3"] < rate + 0.15  # f3 does not enter the label's probability


@pytest.mark.parametrize(
    ("rules", "said"),
    [
        # each fold calibrates its own constant (its training rows' churn rate): still no ranking at all
        ([0.161, 0.161, 0.164, 0.164], True),
        ([0.161, 0.161, 0.161, 0.161], True),
        ([0.161, 0.2, 0.164, 0.164], False),  # fold 1 ranks its rows
    ],
)
def test_a_contender_constant_in_every_fold_is_said_to_say_nothing(rules, said) -> None:
    from churnml.modeling.experiment import constant_contender_notes

    predictions = pd.DataFrame(
        {
            "fold": [1, 1, 2, 2],
            "model": [0.1, 0.3, 0.2, 0.4],
            "rules": rules,
            "logistic": [0.1, 0.2, 0.3, 0.4],
        }
    )
    expected = [
        "rules gives every test row of a fold the same score (no rule fires on any test row): its PR-AUC is "
        "the churn rate, and beating it says nothing about the model"
    ]
    assert constant_contender_notes(predictions, ["model", "rules", "logistic"]) == (expected if said else [])


def test_a_contender_that_scores_every_row_alike_is_said_to_say_nothing() -> None:
    import pandas as pd

    from churnml.modeling.experiment import constant_contender_notes

    predictions = pd.DataFrame(
        {
            "model": [0.2, 0.2, 0.9],
            "rules": [0.3, 0.3, 0.3],
            "logistic": [0.1, 0.5, 0.7],
            "oracle": [np.nan] * 3,
        }
    )
    assert constant_contender_notes(predictions, ["model", "rules", "logistic", "oracle"]) == [
        "rules gives every test row the same score (no rule fires on any test row): its PR-AUC is the churn "
        "rate, and beating it says nothing about the model"
    ]


# ------------------------------------------------------------------------------------------------
# one number of rounds for every part
# ------------------------------------------------------------------------------------------------
def test_the_shared_round_is_the_maximum_of_the_parts_mean_curve():
    from churnml.modeling.train import shared_best_iteration, smoothed_best_iteration

    curves = [  # the first part's own curve spikes at round 1, the third's at round 9
        [0.50, 0.40, 0.40, 0.40, 0.40, 0.40, 0.40, 0.40, 0.40],
        [0.10, 0.20, 0.30, 0.40, 0.50, 0.40, 0.30, 0.20, 0.10],
        [0.30, 0.30, 0.30, 0.30, 0.30, 0.30, 0.30, 0.30, 0.45],
    ]
    assert [smoothed_best_iteration(c) for c in curves] == [1, 5, 9]  # each part on its own
    # mean curve 0.300 0.300 0.333 0.367 0.400 0.367 0.333 0.300 0.317; smoothed over 5 rounds its maximum
    # (0.360) is round 5
    assert shared_best_iteration(curves) == 5
    with pytest.raises(ValueError, match="differ in length"):
        shared_best_iteration([[0.1, 0.2], [0.1, 0.2, 0.3]])


def test_a_model_that_stopped_early_boosts_on_to_extend_its_validation_curve():
    table = _memorisable_table(n_clients=80, n_weeks=4)
    X, y = table[["tag", "noise"]], table["label"].to_numpy()
    cfg = TrainConfig(lightgbm={"n_estimators": 200, "num_leaves": 4}, early_stopping_rounds=5, n_jobs=1)
    model = model_from_config(cfg).fit(X.iloc[:240], y[:240], eval_set=(X.iloc[240:], y[240:]))
    ran = model.booster_.current_iteration()
    recorded = list(model.valid_curve_)
    assert len(recorded) == ran < 200  # stopped early
    curve = model.validation_curve(ran + 7)
    assert curve.size == ran + 7 and model.booster_.current_iteration() == ran + 7
    np.testing.assert_allclose(curve[:ran], recorded)
    unfitted_curve = model_from_config(cfg).fit(X, y, calibration_scores=(np.zeros(len(y)), y))
    with pytest.raises(ValueError, match="without eval_set"):
        unfitted_curve.validation_curve(3)


def test_every_cross_fitted_part_stops_at_the_round_of_the_parts_mean_curve():
    """Each part's own early stopping reads a fifth of the clients: on this table the five parts stop at
    different rounds. ``cross_fit_rounds: shared`` gives them all the maximum of their mean curve."""
    table = _memorisable_table(n_clients=100, n_weeks=4)
    X, y = table[["tag", "noise"]], table["label"].to_numpy()
    base = {"lightgbm": {"n_estimators": 300, "num_leaves": 4, "learning_rate": 0.1}, "n_jobs": 1}
    base |= {"early_stopping_rounds": 20, "calibration": "sigmoid"}
    each = cross_fitted_model(table, X, y, np.arange(len(table)), 5, TrainConfig(**base), None, None)
    assert len(set(each.part_iterations_)) > 1  # the parts' own maxima differ
    shared = cross_fitted_model(
        table, X, y, np.arange(len(table)), 5, TrainConfig(**base, cross_fit_rounds="shared"), None, None
    )
    assert len(set(shared.part_iterations_)) == 1
    # the mean booster holds 5 x that many trees
    assert shared.best_iteration_ == 5 * shared.part_iterations_[0]


def test_the_deployed_models_line_says_how_its_parts_rounds_were_chosen():
    from churnml.modeling.experiment import rounds_text

    assert rounds_text("shared", [236, 236, 236]) == (
        "each early-stopped on its own part, all at the maximum of their mean curve (rounds [236, 236, 236])"
    )
    assert rounds_text("each", [13, 208, 151]) == "each early-stopped on its own part (rounds [13, 208, 151])"
