"""The backtest: folds sized to the data, no training label reaching into a fold's test window."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnml.config import TrainConfig
from churnml.modeling.backtest import BacktestPlan, Fold, backtest_plan, holdout_clients
from churnml.modeling.experiment import Contender, run_backtest, train_and_compare

from .conftest import FIRST, HORIZON, labeled_table


def _weekly(n: int) -> list[date]:
    return [FIRST + timedelta(weeks=w) for w in range(n)]


@pytest.mark.parametrize(
    ("weeks", "horizon", "lag", "folds", "test_days", "expected_folds", "expected_test_days", "short"),
    [
        # 40 weeks (2024-01-01 .. 09-30): 218 days after 28 days of training + a 28-day gap -> 4 x 49 days
        (40, 28, 0, 4, None, 4, 49, 0),
        (40, 28, 0, 2, None, 2, 91, 0),  # test windows are capped at 91 days
        (40, 28, 0, 4, 14, 4, 14, 0),  # a fixed window
        (40, 90, 30, 4, None, 4, 28, 0),  # 120 days of gap: 126 days left -> 4 x 28 days (whole weeks)
        # 10 weeks with a 58-day gap: the earliest test start (03-27) lies 23 days after the last
        # snapshot (03-04); a 7-day test window starting there ends 29 days after it
        (10, 28, 30, 4, None, 0, 0, 29),
    ],
)
def test_plan_is_sized_to_the_data(
    weeks, horizon, lag, folds, test_days, expected_folds, expected_test_days, short
):
    cfg = TrainConfig(folds=folds, test_days=test_days, min_train_days=28)
    plan = backtest_plan(_weekly(weeks), cfg, horizon, lag)
    assert len(plan.folds) == expected_folds
    assert plan.days_short == short
    if expected_folds:
        assert plan.test_days == expected_test_days
        assert plan.folds[-1].test_end == _weekly(weeks)[-1]
    else:
        assert f"about {short} more days of data would give one" in plan.summary()


def test_four_folds_on_40_weeks_written_out():
    plan = backtest_plan(_weekly(40), TrainConfig(folds=4, min_train_days=28), 28, 0)
    assert plan.folds[0] == Fold(1, date(2024, 1, 1), date(2024, 2, 21), date(2024, 3, 19), date(2024, 5, 6))
    assert [(f.test_start, f.test_end) for f in plan.folds[1:]] == [
        (date(2024, 5, 7), date(2024, 6, 24)),
        (date(2024, 6, 25), date(2024, 8, 12)),
        (date(2024, 8, 13), date(2024, 9, 30)),
    ]


@settings(max_examples=80, deadline=None)
@given(
    weeks=st.integers(1, 120),
    horizon=st.integers(1, 120),
    lag=st.integers(0, 45),
    folds=st.integers(1, 6),
    test_days=st.one_of(st.none(), st.integers(7, 120)),
    min_train=st.integers(7, 90),
)
def test_no_training_label_reaches_into_its_test_window(weeks, horizon, lag, folds, test_days, min_train):
    snaps = np.array(_weekly(weeks), dtype="datetime64[D]")
    cfg = TrainConfig(folds=folds, test_days=test_days, min_train_days=min_train)
    plan = backtest_plan(snaps, cfg, horizon, lag)
    assert len(plan.folds) <= folds
    previous_end = None
    for fold in plan.folds:
        train, test = fold.masks(snaps)
        assert test.any() or fold.test_start > snaps.max()
        assert not (train & test).any()
        known_at = snaps[train] + np.timedelta64(horizon + lag, "D")
        assert (
            known_at <= np.datetime64(fold.test_start)
        ).all()  # every training label known before the test
        assert (snaps[train] >= np.datetime64(fold.train_start)).all()
        assert (fold.train_end - fold.train_start).days >= min_train
        if previous_end is not None:
            assert fold.test_start == previous_end + timedelta(days=1)  # windows tile the tail, in order
        previous_end = fold.test_end
    if plan.folds:
        assert plan.folds[-1].test_end == snaps.max().astype(date)


def test_holdout_keeps_every_row_of_a_client_on_one_side_and_is_stable():
    ids = np.repeat([f"C{i:04d}" for i in range(2000)], 3)
    mask = holdout_clients(ids, 0.2, seed=42)
    assert mask.reshape(-1, 3).all(axis=1).sum() == mask.reshape(-1, 3).any(axis=1).sum()  # whole clients
    assert 0.17 < mask.mean() < 0.23
    np.testing.assert_array_equal(mask, holdout_clients(ids, 0.2, seed=42))
    assert (mask != holdout_clients(ids, 0.2, seed=7)).any()


_FORTY = np.array([f"C{i:02d}" for i in range(40)])
# the plain 20% draw of these 40 clients with seed 42 (the hash of the client id)
_PLAIN_HELD = ["C02", "C04", "C06", "C08", "C13", "C15", "C17", "C22", "C26"]


def _held(mask: np.ndarray) -> list[str]:
    return [str(c) for c, h in zip(_FORTY, mask, strict=True) if h]


@pytest.mark.parametrize(
    ("churners", "counted", "expected"),
    [
        # no churner held by the draw: the one of lowest hash is added (round(0.2 * 5) = 1)
        (["C00", "C01", "C03", "C05", "C07"], None, sorted(["C01", *_PLAIN_HELD])),
        # both churners held: the draw would train on none; the one of highest hash goes back
        (["C02", "C04"], None, [c for c in _PLAIN_HELD if c != "C02"]),
        # churns outside the counted rows (e.g. a fold's test window) are not read: the plain draw
        (["C00", "C01", "C03", "C05", "C07"], "first_half", _PLAIN_HELD),
        # one churner held of five: at least half of the one wanted, the draw stands
        (["C02", "C01", "C03", "C05", "C07"], None, _PLAIN_HELD),
    ],
)
def test_holdout_keeps_churners_on_both_sides_of_a_small_crm(churners, counted, expected):
    assert _held(holdout_clients(_FORTY, 0.2, seed=42)) == _PLAIN_HELD
    ids = np.repeat(_FORTY, 2)  # two rows per client: the first one counted in "first_half"
    labels = np.repeat(np.isin(_FORTY, churners), 2).astype(float)
    labels[0::2] = 0.0 if counted else labels[0::2]
    mask = None if counted is None else np.tile([True, False], 40)
    held = holdout_clients(ids, 0.2, 42, labels, mask)
    assert _held(held[0::2]) == expected
    np.testing.assert_array_equal(held[0::2], held[1::2])  # every row of a client on one side


def test_holdout_of_a_large_portfolio_is_the_plain_draw():
    ids = np.array([f"C{i:04d}" for i in range(2000)])
    labels = (np.random.default_rng(0).random(2000) < 0.15).astype(float)  # 309 churning clients
    plain = holdout_clients(ids, 0.2, seed=42)
    assert plain[labels > 0].sum() == 61
    np.testing.assert_array_equal(holdout_clients(ids, 0.2, 42, labels), plain)


def test_every_contender_gets_the_same_rows_and_no_fold_trains_on_unknown_labels(train_cfg):
    table = labeled_table(n_clients=80, n_weeks=40)
    seen: dict[str, list] = {}

    def spy(name: str) -> Contender:
        def predict(t, X, y, rows):
            snaps = pd.to_datetime(t["snapshot"]).to_numpy().astype("datetime64[D]")
            seen.setdefault(name, []).append(
                (rows.fold.number, rows.test.tolist(), snaps[np.r_[rows.fit, rows.holdout]].max())
            )
            return np.full(rows.test.size, 0.1), {}

        return Contender(name, predict)

    plan = backtest_plan(table["snapshot"], train_cfg, HORIZON)
    bt = run_backtest(table, ["f1", "f2"], plan, [spy("a"), spy("b")], train_cfg)
    assert [s[:2] for s in seen["a"]] == [s[:2] for s in seen["b"]]
    for number, _rows, newest in seen["a"]:
        fold = plan.folds[number - 1]
        assert newest + np.timedelta64(HORIZON, "D") <= np.datetime64(fold.test_start)
    assert len(bt.predictions) == sum(len(r) for _, r, _ in seen["a"])
    assert list(bt.metrics.index) == ["a", "b"]


@pytest.mark.parametrize("parts", [1, 5])
def test_the_deployed_model_learns_from_every_labeled_snapshot(train_cfg, parts):
    train_cfg = train_cfg.model_copy(update={"cross_fit_parts": parts})
    table = labeled_table(n_clients=120, n_weeks=40)
    table.loc[table["snapshot"] > FIRST + timedelta(weeks=36), "label"] = None  # the unlabeled tail
    result = train_and_compare(table, train_cfg, HORIZON)
    assert result.training_window == (FIRST, FIRST + timedelta(weeks=36))  # ends at the last labeled snapshot
    assert result.rows["labeled"] == 120 * 37 and result.rows["unlabeled"] == 120 * 3
    if parts == 1:  # one model: the folds' median rounds, calibrated by a twin on held-out clients
        assert result.model.booster_.current_iteration() == int(np.median(result.backtest.best_iterations))
        assert "held-out clients' rows" in result.calibration_source and "twin" in result.calibration_source
    else:  # five cross-fitted models, each early-stopped on its own part, calibrated out of fold
        assert len(result.model.part_iterations_) == 5
        assert result.model.booster_.current_iteration() == sum(result.model.part_iterations_)
        assert result.calibration_source.startswith("out-of-fold raw scores of every labeled row (4,440 rows")
    # the drift reference is the last quarter of labeled snapshots (weeks 24..36), every client of them
    assert len(result.X_reference) == 120 * 13
    labeled = table[table["label"].notna()].reset_index(drop=True)
    assert set(labeled.loc[result.X_reference.index, "snapshot"]) == {
        FIRST + timedelta(weeks=w) for w in range(24, 37)
    }
    assert len(result.backtest.plan.folds) == 2
    assert set(result.metrics.index) == {"model", "logistic"}
    # the model beats a logistic regression on data it was given with a strong signal
    assert result.metrics.loc["model", "pr_auc"] > 0.3


@pytest.mark.parametrize(
    ("test_days", "weeks", "days_short"),
    [
        (None, 9, 6),  # 1 day of test window after 28 + 28 days: a week's fold 6 days later
        (28, 9, 27),  # train.test_days 28: its window, not a week (it said 6; 6 days later it said 21)
        (28, 12, 6),  # 22 days of test window
    ],
)
def test_the_days_short_of_a_first_fold_give_one(test_days, weeks, days_short):
    cfg = TrainConfig(folds=4, min_train_days=28, test_days=test_days)
    snaps = [FIRST + timedelta(weeks=w) for w in range(weeks)]
    plan = backtest_plan(snaps, cfg, HORIZON)
    assert not plan.has_folds and plan.days_short == days_short
    assert not backtest_plan([*snaps, snaps[-1] + timedelta(days=days_short - 1)], cfg, HORIZON).has_folds
    assert backtest_plan([*snaps, snaps[-1] + timedelta(days=days_short)], cfg, HORIZON).has_folds


def _ten_churners_at_every_snapshot() -> pd.DataFrame:
    """60 clients x 12 weekly snapshots; c00..c09 churn, labeled 1 at each of their 12 snapshots."""
    rng = np.random.default_rng(0)
    snaps = [FIRST + timedelta(weeks=w) for w in range(12)]
    table = pd.DataFrame(
        {"client_id": np.repeat([f"c{i:02d}" for i in range(60)], 12), "snapshot": np.tile(snaps, 60)}
    )
    churner = table["client_id"].isin([f"c{i:02d}" for i in range(10)]).to_numpy()
    table["label"] = churner.astype(int)
    table["f1"] = rng.normal(size=len(table)) + churner
    table["f2"] = rng.normal(size=len(table))
    return table


@pytest.mark.parametrize(
    ("parts", "source"),
    [
        (
            5,
            "out-of-fold raw scores of every labeled row (720 rows, 120 churn labels of 10 churning clients), ",
        ),
        (
            1,
            "the held-out clients' rows (156 rows, 36 churn labels of 3 churning clients, every labeled snapshot)",
        ),
    ],
)
def test_the_calibration_source_counts_churning_clients_not_their_rows(parts, source):
    # 10 churning clients labeled at 12 snapshots each: 120 churn labels, not 120 churners
    cfg = TrainConfig(
        cross_fit_parts=parts,
        lightgbm={"n_estimators": 30, "num_leaves": 4},
        early_stopping_rounds=5,
        n_jobs=1,
    )
    result = train_and_compare(_ten_churners_at_every_snapshot(), cfg, HORIZON)
    assert result.calibration_source.startswith(source)


def test_without_a_fold_it_still_trains_and_says_how_many_more_days(train_cfg):
    table = labeled_table(n_clients=300, n_weeks=9)  # 8 weeks: too short for 28 + 28 + 7 days
    said: list[str] = []
    result = train_and_compare(table, train_cfg, HORIZON, progress=said.append)
    assert not result.backtest.has_estimate
    assert result.notes[0].startswith("no out-of-time estimate yet")
    # said before the deployed model's fit (which can take long), not only in the closing notes
    early = [i for i, m in enumerate(said) if m.startswith("no out-of-time estimate yet")]
    fit = [i for i, m in enumerate(said) if m.startswith("training the deployed model")]
    assert len(early) == 1 and len(fit) == 1 and early[0] < fit[0]
    assert said[early[0]].endswith("(the notes at the end say whether other settings give one now)")
    assert "more days of data would give one" in result.notes[0]
    assert "out-of-fold" in result.calibration_source  # cross-fitting needs no fold: its parts stop early
    assert result.training_window[1] == FIRST + timedelta(weeks=8)


def test_training_sample_keeps_positives_and_weights_sampled_negatives():
    from churnml.modeling.experiment import training_sample

    y = np.array([1, 0, 0, 0, 1, 0, 0, 0])
    idx = np.arange(8)
    every, weight = training_sample(idx, y, None, TrainConfig())
    assert weight is None and (every == idx).all()  # defaults: every row, unweighted
    assert training_sample(idx, y, None, TrainConfig(max_train_rows=8))[1] is None  # not above the cap
    # 2 positives + 6 negatives, at most 5 rows: every positive and half the negatives, weight 2
    keep, weight = training_sample(idx, y, None, TrainConfig(max_train_rows=5, seed=1))
    draw = np.random.default_rng(1).random(8)
    expected = idx[(y == 1) | (draw < 0.5)]
    assert (keep == expected).all() and {0, 4} <= set(keep.tolist())
    np.testing.assert_array_equal(weight, np.where(y[keep] == 1, 1.0, 2.0))


# 2024-01-01 is week 2817 since 1970 (odd): every second week keeps the even ones, weeks 1 and 3 of these
_WEEKS = np.array([date(2024, 1, 1 + 7 * w) for w in range(4)] * 2)


@pytest.mark.parametrize(
    ("y", "cfg", "kept", "weights"),
    [
        # the churn labels at week 0 (skipped) are kept; the 6 negatives stand in 4 rows, weight 1.5 (before
        # the fix: rows [1, 3, 5, 7], both churn labels lost)
        ([1, 0, 0, 0, 1, 0, 0, 0], {"snapshot_step": 2}, [0, 1, 3, 4, 5, 7], [1, 1.5, 1.5, 1, 1.5, 1.5]),
        # a client churning only at skipped weeks (rows 4-7: its labels at weeks 0 and 2) keeps them
        ([0, 0, 0, 0, 1, 0, 1, 0], {"snapshot_step": 2}, [1, 3, 4, 5, 6, 7], [1.5, 1.5, 1, 1.5, 1, 1.5]),
        # then max_train_rows: 2 positives + 4 negatives (weight 1.5), at most 4 rows: a share of 0.5 of the
        # negatives drawn (seed 1 draws 0.95, 0.14, 0.31, 0.42 for rows 1, 3, 5, 7), each weighing 1.5 / 0.5
        (
            [1, 0, 0, 0, 1, 0, 0, 0],
            {"snapshot_step": 2, "max_train_rows": 4, "seed": 1},
            [0, 3, 4, 5, 7],
            [1, 3, 1, 3, 3],
        ),
    ],
)
def test_a_snapshot_step_keeps_every_churn_label_and_weights_the_negatives(y, cfg, kept, weights):
    from churnml.modeling.experiment import training_sample

    labels = np.array(y)
    keep, weight = training_sample(np.arange(8), labels, _WEEKS, TrainConfig(**cfg))
    assert keep.tolist() == kept
    np.testing.assert_allclose(weight, weights)
    if "max_train_rows" not in cfg:  # the weighted class totals are the table's (a draw's on average)
        assert weight[labels[keep] == 0].sum() == pytest.approx((labels == 0).sum())


def test_a_crm_of_300_accounts_gets_every_backtest_fold(tmp_path):
    """Generated CRM, 300 clients x 12 months (seed 12): the plain 20% draw held out no churner in any
    fold's training rows, so all four folds were skipped and `train` had no out-of-time estimate."""
    from churnml.config import load_config
    from churnml.contract.io import read_dataset
    from churnml.demo.synth import SynthParams, write_synthetic_dataset
    from churnml.jobs.inputs import labeled_table as feature_table

    write_synthetic_dataset(
        SynthParams(clients=300, months=12, seed=12), tmp_path / "raw", tmp_path / "truth"
    )
    cfg = load_config()
    table = feature_table(read_dataset(tmp_path / "raw", cfg.data), cfg)
    # the default folds and held-out draws; a fast LightGBM (the folds, not the model, are under test)
    fast = cfg.train.model_copy(
        update={"lightgbm": {"n_estimators": 60, "learning_rate": 0.2}, "early_stopping_rounds": 10}
    )
    result = train_and_compare(table, fast, cfg.label.horizon_days)
    assert [n for n in result.backtest.notes if "skipped" in n] == []
    assert result.backtest.fold_metrics["fold"].nunique() == 4


@pytest.mark.parametrize(
    ("lag", "below", "expected"),
    [
        # 20 weekly snapshots from 2024-01-01 (days 0 .. 133), data known until day 140 (2024-05-20);
        # a fold needs last labeled snapshot - (first + 28 + horizon + lag) + 1 >= 7 days of test window
        (0, 90, 50),  # h = 50: last labeled day 84 (84 + 50 <= 140), test window from day 78: 7 days
        (0, 50, 49),  # below 50: the next horizon down (84 - 49 - 28 + 1 = 8)
        (10, 90, 40),  # a 10-day lag: day 84 + 40 + 10 = 134 <= 140, test from day 78 again
        (10, 40, 39),  # h = 39: day 91 is labeled (91 + 49 = 140), test from day 77: 15 days
    ],
)
def test_longest_horizon_with_a_fold(lag, below, expected):
    from churnml.modeling.backtest import longest_horizon_with_a_fold

    snaps = [date(2024, 1, 1) + timedelta(days=7 * k) for k in range(20)]
    cfg = TrainConfig()
    got = longest_horizon_with_a_fold(snaps, date(2024, 5, 20), lag, cfg, below)
    assert got == expected
    labeled = [s for s in snaps if s + timedelta(days=got + lag) <= date(2024, 5, 20)]
    assert backtest_plan(labeled, cfg, got, lag).has_folds
    longer = [s for s in snaps if s + timedelta(days=got + 1 + lag) <= date(2024, 5, 20)]
    assert got + 1 == below or not backtest_plan(longer, cfg, got + 1, lag).has_folds


def test_no_horizon_gives_a_fold_to_three_weeks_of_snapshots():
    from churnml.modeling.backtest import longest_horizon_with_a_fold

    snaps = [date(2024, 1, 1) + timedelta(days=7 * k) for k in range(3)]
    assert longest_horizon_with_a_fold(snaps, date(2024, 1, 22), 0, TrainConfig(), 90) is None


@pytest.mark.parametrize(("weeks", "test_days", "thin"), [(10, 7, True), (40, 49, False)])
def test_a_single_short_fold_is_said_to_be_thin(weeks: int, test_days: int, thin: bool) -> None:
    # 10 weeks, 28 days of training and a 28-day gap leave one weekly snapshot to test on
    plan = backtest_plan(_weekly(weeks), TrainConfig(folds=4, min_train_days=28), 28, 0)
    assert plan.test_days == test_days
    assert ("a thin estimate (fewer than 14 days of test snapshots)" in plan.summary()) is thin


def test_one_more_day_is_said_in_the_singular() -> None:
    from churnml.modeling.backtest import _days

    assert (_days(1), _days(40)) == ("1 more day", "40 more days")


def test_the_champion_is_judged_on_its_own_features(table, train_cfg) -> None:
    """A challenger trained with a new table's columns must beat the champion without them: the champion's
    procedure re-runs on its own features (f3, f4 only: noise), not the challenger's (f1 decides)."""
    from dataclasses import astuple

    from churnml.config import Config
    from churnml.jobs.train import ChampionScore, _champion_score, _procedure
    from churnml.modeling.experiment import fold_means

    result = train_and_compare(table, train_cfg, HORIZON)
    cfg = Config(train=train_cfg)
    procedure = _procedure(result.model, train_cfg)
    said: list[str] = []
    challenger = float(fold_means(result.backtest).loc["model", "pr_auc"])
    same = _champion_score(
        ("1", {"procedure": procedure, "feature_names": result.features}),
        procedure,
        result,
        table,
        cfg,
        said.append,
    )
    # the same recipe: its figure is this run's, no rerun (no training window known: not taken as newer)
    assert same == ChampionScore("1", challenger, False, False) and said == []
    version, weaker, new_recipe, _ = astuple(
        _champion_score(
            ("1", {"procedure": procedure, "feature_names": ["f3", "f4"]}),
            procedure,
            result,
            table,
            cfg,
            said.append,
        )
    )
    assert version == "1" and weaker < challenger - 0.1  # without f1 and f2 it ranks at about the churn rate
    assert new_recipe
    assert said == [
        "judging champion v1's procedure on the same backtest rows (its 2 features; this model has 4)"
    ]
    gone = _champion_score(
        ("1", {"procedure": procedure, "feature_names": ["f1", "payments_x"]}),
        procedure,
        result,
        table,
        cfg,
        said.append,
    )
    assert gone.version == "1" and gone.score != gone.score  # NaN: not comparable
    assert (
        said[-1]
        == "champion v1 read 1 feature(s) this table lacks (payments_x): it cannot be judged on these rows"
    )
    # the same recipe and column names, but a login counted otherwise: its columns meant other things
    logins = cfg.features.model_dump(mode="json") | {"login_events": ["login"]}
    other = _champion_score(
        ("1", {"procedure": procedure, "feature_names": result.features, "features_config": logins}),
        procedure,
        result,
        table,
        cfg.model_copy(
            update={"features": cfg.features.model_copy(update={"login_events": ("login", "sso_login")})}
        ),
        said.append,
    )
    assert other.version == "1" and other.score != other.score and other.new_recipe
    assert said[-1] == (
        "champion v1 read its features with other settings (features.login_events: model ['login'], config "
        "['login', 'sso_login']): it cannot be judged on these rows"
    )


def test_folds_that_all_lack_churners_are_said_once(train_cfg):
    # no churn label before the last 8 weeks: fold 1 tests on weeks without churners, fold 2 trains on
    # them; neither can be judged, and each one's reason is said once (inside the one note), not twice
    table = labeled_table(n_clients=120, n_weeks=40)
    last = table["snapshot"].max()
    table.loc[table["snapshot"] <= last - timedelta(weeks=8), "label"] = 0.0
    result = train_and_compare(table, train_cfg, HORIZON)
    assert not result.backtest.has_estimate
    assert result.notes[0].startswith("no backtest fold could be judged: fold 1 (")
    assert result.notes[0].endswith(  # no churned_at to tell how the churns fall: the generic reason
        ". A fold needs churners in its training, held-out and test rows: more labeled history, with churns "
        "spread over it, gives one"
    )
    assert sum("fold 1 (" in n for n in result.notes) == 1 and sum("fold 2 (" in n for n in result.notes) == 1


def _one_renewal_day_table() -> pd.DataFrame:
    """Six schools seen weekly from 2024-09-30 to 2025-12-29; two leave at their renewal on 2025-09-01 (label 1
    on the snapshots of the 90 days before it and the 30-day grace after it, then gone)."""
    churn = pd.Timestamp("2025-09-01")
    rows = []
    for c in range(6):
        leaves = c < 2
        for s in [date(2024, 9, 30) + timedelta(weeks=w) for w in range(66)]:
            if leaves and s > date(2025, 10, 1):
                continue
            label = leaves and churn - pd.Timedelta(days=90) < pd.Timestamp(s) <= churn + pd.Timedelta(
                days=30
            )
            rows.append((f"c{c}", s, int(label), churn if leaves else pd.NaT, 1.0))
    return pd.DataFrame(rows, columns=["client_id", "snapshot", "label", "churned_at", "f1"])


_PER_FOLD = (
    "Per fold: fold 1 (2025-02-25 .. 2025-05-12) skipped: its training rows hold one class only (0 churners of "
    "25); fold 2 (2025-05-13 .. 2025-07-28) skipped: its training rows hold one class only (0 churners of 80); "
    "fold 3 (2025-07-29 .. 2025-10-13) skipped: its training rows hold one class only (0 churners of 135); "
    "fold 4 (2025-10-14 .. 2025-12-29) skipped: its test rows hold one class only (0 churners of 44)"
)
_ONE_DAY = (
    "no backtest fold could be judged: 2 of 2 churns fall on 2025-09-01, so no fold holds churners both in its "
    "training and in its test rows: a day's churns label only the snapshots from label.horizon_days (90) before "
    "it to the label lag (30) after it, and a fold's test snapshots come 120 days or more after its training "
    "snapshots"
)


@pytest.mark.parametrize(
    ("upcoming", "data_end", "expected"),
    [
        # the next renewals: the first Monday whose 90 days reach 2026-09-01 is 2026-06-08, labeled on
        # 2026-10-06 (+ 90 + 30); the data ends on 2026-05-03
        (
            [date(2026, 9, 1)],
            date(2026, 5, 3),
            f"{_ONE_DAY}; churns at the next term ends (2026-09-01) would give one with data up to 2026-10-05 at "
            f"the earliest (156 more days of data). {_PER_FOLD}",
        ),
        # without the data's end: counted from the least one that labels 2025-12-29 (+ 90 + 30 = 2026-04-28)
        (
            [date(2026, 9, 1)],
            None,
            f"{_ONE_DAY}; churns at the next term ends (2026-09-01) would give one with data up to 2026-10-05 at "
            f"the earliest (about 161 more days of data). {_PER_FOLD}",
        ),
        (
            [],
            date(2026, 5, 3),
            f"{_ONE_DAY}; churns on a later day will give one once the snapshots before them are labeled. {_PER_FOLD}",
        ),
    ],
)
def test_folds_skipped_for_churns_on_one_renewal_day_say_why_and_when(upcoming, data_end, expected):
    from churnml.modeling.experiment import fold_problems, no_judged_fold_note

    table, cfg = _one_renewal_day_table(), TrainConfig(folds=4, min_train_days=28)
    plan = backtest_plan(table["snapshot"], cfg, 90, 30)
    skipped = [
        f"fold {r.fold.number} ({r.fold.test_start} .. {r.fold.test_end}) skipped: {why}"
        for r, why in fold_problems(table, plan, cfg)
    ]
    assert no_judged_fold_note(table, plan, skipped, cfg, 90, 30, upcoming, data_end) == expected


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (["2025-09-01"] * 38, "38 of 38 churns fall on 2025-09-01"),
        (
            ["2025-09-01"] * 30 + ["2025-09-08"] * 7 + ["2025-03-03"],
            "37 of 38 churns fall on 2 days (2025-09-01, 2025-09-08)",
        ),
        ([f"2025-{m:02d}-01" for m in range(1, 13)], None),  # one a month: no cluster
        ([], None),
    ],
)
def test_clustered_churns_are_said(days, expected):
    from churnml.modeling.experiment import clustered_churns_text

    assert clustered_churns_text(np.array(days, dtype="datetime64[D]")) == expected


def test_churns_on_few_days_that_reach_both_sides_of_a_fold_get_the_generic_reason():
    from churnml.modeling.experiment import no_judged_fold_note

    # a third school left at an earlier renewal, 2024-11-04: fold 3 trains on its rows and tests on the
    # September ones, so the two days are not why the folds were skipped (here: its held-out rows)
    table = _one_renewal_day_table()
    early = (table["client_id"] == "c2") & (table["snapshot"] > date(2024, 8, 6))
    table = table.loc[~(early & (table["snapshot"] > date(2024, 12, 4)))].copy()
    table.loc[early, ["label", "churned_at"]] = [1, pd.Timestamp("2024-11-04")]
    cfg = TrainConfig(folds=4, min_train_days=28)
    plan = backtest_plan(table["snapshot"], cfg, 90, 30)
    skipped = [
        "fold 3 (2025-07-29 .. 2025-10-13) skipped: its held-out rows hold one class only (0 churners of 9)"
    ]
    assert no_judged_fold_note(table, plan, skipped, cfg, 90, 30, [date(2026, 9, 1)]) == (
        "no backtest fold could be judged: fold 3 (2025-07-29 .. 2025-10-13) skipped: its held-out rows hold one "
        "class only (0 churners of 9). A fold needs churners in its training, held-out and test rows: more "
        "labeled history, with churns spread over it, gives one"
    )


@pytest.mark.parametrize(
    ("contender", "pr_auc", "n"),
    [
        ("model", 0.8333, 4),  # every row: 0.9 (churn), 0.3, 0.2 (churn), 0.1 -> (1 + 2/3) / 2
        ("logistic", 0.5, 4),  # 0.6, 0.5 (churn), 0.4, 0.3 (churn) -> (1/2 + 2/4) / 2
        ("oracle", 1.0, 2),  # skipped in fold 2: its own rows only
    ],
)
def test_pooled_figures_keep_every_row_of_a_fold_the_oracle_skipped(contender, pr_auc, n) -> None:
    from churnml.modeling.experiment import pooled_metrics

    predictions = pd.DataFrame(
        {
            "label": [1, 0, 1, 0],
            "fold": [1, 1, 2, 2],
            "model": [0.9, 0.1, 0.2, 0.3],
            "logistic": [0.3, 0.4, 0.5, 0.6],
            "oracle": [0.8, 0.3, np.nan, np.nan],
        }
    )
    metrics = pooled_metrics(predictions, ["model", "logistic", "oracle"])
    assert metrics.loc[contender, "pr_auc"] == pytest.approx(pr_auc, abs=1e-4)
    assert metrics.loc[contender, "n"] == n


@pytest.mark.parametrize(
    ("churners", "expected"),
    [
        (
            4,
            "fold 1 (2025-03-03 .. 2025-03-30): its training rows hold 4 churning clients (fewer than 10): its "
            "models learned from a handful of churns, and its figures weigh as much as the other folds' in the mean "
            "over folds (the pooled figures weigh each row)",
        ),
        (10, None),
    ],
)
def test_a_fold_trained_on_a_handful_of_churning_clients_is_said(churners, expected) -> None:
    from churnml.modeling.experiment import FoldRows, thin_fold_note

    # 12 clients, two training rows each; the first `churners` churn in one of them; the test rows do not count
    ids = [f"c{i}" for i in range(12) for _ in range(2)] + ["t1", "t2"]
    labels = [1 if (i < churners and k == 1) else 0 for i in range(12) for k in range(2)] + [1, 1]
    labeled = pd.DataFrame({"client_id": ids, "label": labels})
    fold = Fold(1, date(2024, 9, 2), date(2025, 1, 27), date(2025, 3, 3), date(2025, 3, 30))
    rows = FoldRows(fold, np.arange(0, 16), np.arange(16, 24), np.array([24, 25]))
    assert thin_fold_note(labeled, rows) == expected


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # a language school under a 30-day horizon: the third fold's window reaches no semester end
        (
            [86, 192, 11, 149],
            [
                "fold 3 (2026-03-03 .. 2026-06-01): its test rows hold 11 churning clients against 86 to 192 in the "
                "other folds (few churns fall in its window: clients who leave on a few dates of the year, none "
                "within the horizon of its snapshots, or a quiet season): its figures rest on them, yet weigh as "
                "much as the other folds' in the mean over folds the champion gate reads (the pooled figures weigh "
                "each row)"
            ],
        ),
        ([207, 199, 196, 156], []),  # every fold reaches a semester end
        ([30, 120], []),  # two folds: no median to read against
    ],
)
def test_a_fold_whose_test_window_holds_few_churns_is_said(counts, expected) -> None:
    from churnml.modeling.experiment import sparse_test_fold_notes

    starts = [date(2025, 9, 2), date(2025, 12, 2), date(2026, 3, 3), date(2026, 6, 2)]
    ends = [date(2025, 12, 1), date(2026, 3, 2), date(2026, 6, 1), date(2026, 8, 31)]
    folds = [Fold(k + 1, date(2025, 2, 24), starts[k], starts[k], ends[k]) for k in range(len(counts))]
    assert sparse_test_fold_notes(list(zip(folds, counts, strict=True))) == expected


def test_each_fold_s_test_churners_are_read_once_from_its_test_rows() -> None:
    """Distinct churning clients by fold (a client labeled 1 at three snapshots is one churner; a fold with no
    churn label is 0): the count the sparse test fold notes and ``churnml train``'s evidence line both take."""
    from churnml.modeling.experiment import fold_test_churners

    preds = pd.DataFrame(
        {
            "fold": [1, 1, 1, 1, 2, 2, 3, 3],
            "client_id": ["a", "a", "a", "b", "a", "c", "d", "e"],
            "label": [1, 1, 1, 0, 1, 1, 0, 0],
        }
    )
    assert fold_test_churners(preds) == {1: 1, 2: 2, 3: 0}
    assert fold_test_churners(pd.DataFrame()) == {}


def _thin_first_fold_table(later_churners: int) -> pd.DataFrame:
    """40 + ``later_churners`` clients with a row at every Monday from 2025-01-06 to 2025-05-05: 3 churn at
    2025-02-03 (fold 1's training rows), ``later_churners`` at 2025-03-10 (fold 1's test rows, fold 2's training
    rows) and 5 at 2025-04-14 (fold 2's test rows)."""
    mondays = [date(2025, 1, 6) + timedelta(weeks=k) for k in range(18)]
    churn_on = {f"e{i}": date(2025, 2, 3) for i in range(3)}
    churn_on |= {f"l{i}": date(2025, 3, 10) for i in range(later_churners)}
    churn_on |= {f"t{i}": date(2025, 4, 14) for i in range(5)}
    clients = [*churn_on, *(f"s{i}" for i in range(32))]
    return pd.DataFrame(
        {
            "client_id": [c for c in clients for _ in mondays],
            "snapshot": [d for _ in clients for d in mondays],
            "label": [int(churn_on.get(c) == d) for c in clients for d in mondays],
        }
    )


_TWO_FOLDS = BacktestPlan(
    (
        Fold(1, date(2025, 1, 6), date(2025, 3, 3), date(2025, 3, 3), date(2025, 3, 30)),
        Fold(2, date(2025, 1, 6), date(2025, 4, 7), date(2025, 4, 7), date(2025, 5, 4)),
    ),
    date(2025, 1, 6),
    date(2025, 5, 5),
    0,
    28,
    0,
)


@pytest.mark.parametrize(
    ("later_churners", "expected"),
    [
        # fold 2 trains on 3 + 20 churning clients: fold 1's 3 say little of the deployed model, it is skipped
        (
            20,
            [
                "its training rows hold 3 churning clients (fewer than 10): models learned from a handful of churns "
                "say little of the deployed model, which learns from every labeled snapshot; the folds trained on "
                "more judge it",
                None,
            ],
        ),
        # every fold thin (3 and 3 + 4): both judged (thin_fold_note says so)
        (4, [None, None]),
    ],
)
def test_a_thin_fold_is_skipped_beside_a_fold_trained_on_more_churners(later_churners, expected) -> None:
    from churnml.modeling.experiment import fold_problems

    table = _thin_first_fold_table(later_churners)
    cfg = TrainConfig(folds=2, min_train_days=28, holdout_share=0.3)
    assert [why for _, why in fold_problems(table, _TWO_FOLDS, cfg)] == expected
