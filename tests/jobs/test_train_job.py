"""Pure pieces of the train job's console output."""

from __future__ import annotations

import pytest

from churnml.jobs.train import skipped_folds_text


@pytest.mark.parametrize(
    ("planned", "used", "expected"),
    [
        ([1, 2, 3, 4], {2, 3, 4}, "; 3 used, fold 1 skipped (see the notes)"),
        ([1, 2, 3, 4], {3, 4}, "; 2 used, folds 1, 2 skipped (see the notes)"),
        ([1, 2, 3, 4], {1, 2, 3, 4}, ""),
        ([1, 2], set(), ""),  # no fold at all: the notes say why there is no estimate
    ],
)
def test_the_backtest_title_says_which_planned_folds_were_skipped(planned, used, expected) -> None:
    assert skipped_folds_text(planned, used) == expected


def test_the_model_card_marks_the_folds_that_gave_no_result() -> None:
    from datetime import date
    from types import SimpleNamespace

    import pandas as pd

    from churnml.jobs.train import backtest_record
    from churnml.modeling.backtest import BacktestPlan, Fold

    folds = tuple(
        Fold(
            n, date(2025, 1, 6), date(2025, 1, 6 + 7 * n), date(2025, 3, 3 + 7 * n), date(2025, 3, 9 + 7 * n)
        )
        for n in (1, 2)
    )
    plan = BacktestPlan(folds, date(2025, 1, 6), date(2025, 3, 30), 91, 7, 0)
    result = SimpleNamespace(plan=plan, backtest=SimpleNamespace(predictions=pd.DataFrame({"fold": [2, 2]})))
    record = backtest_record(result)
    assert (
        record["fold_1"]
        == "train 2025-01-06..<2025-01-13 test 2025-03-10..2025-03-16 (skipped: see the notes)"
    )
    assert record["fold_2"] == "train 2025-01-06..<2025-01-20 test 2025-03-17..2025-03-23"
    assert record["summary"].endswith("; 1 used, fold 1 skipped (see the notes)")


@pytest.mark.parametrize(
    ("used", "fold_1", "fold_2", "summary_end"),
    [
        ([2], " (skipped: see the notes)", "", "; 1 used, fold 1 skipped (see the notes)"),
        # no fold judged (a handful of churners, all late): the plan's title alone read as two folds run
        (
            [],
            " (skipped: see the notes)",
            " (skipped: see the notes)",
            "gap 91 days; none used, every fold skipped (see the notes)",
        ),
        ([1, 2], "", "", "gap 91 days"),
    ],
)
def test_the_card_and_the_registry_tag_say_which_folds_gave_no_result(
    used, fold_1, fold_2, summary_end
) -> None:
    from datetime import date
    from types import SimpleNamespace

    import pandas as pd

    from churnml.jobs.train import _registry_tags, backtest_record
    from churnml.modeling.backtest import BacktestPlan, Fold

    folds = tuple(
        Fold(
            n, date(2025, 1, 6), date(2025, 1, 6 + 7 * n), date(2025, 3, 3 + 7 * n), date(2025, 3, 9 + 7 * n)
        )
        for n in (1, 2)
    )
    plan = BacktestPlan(folds, date(2025, 1, 6), date(2025, 3, 30), 91, 7, 0)
    predictions = pd.DataFrame({"fold": used}) if used else pd.DataFrame()
    result = SimpleNamespace(
        plan=plan,
        backtest=SimpleNamespace(predictions=predictions, has_estimate=bool(used)),
        model=SimpleNamespace(feature_names_=["f1"]),
        metrics=pd.DataFrame({"pr_auc": [0.5]}, index=["model"]),
    )
    record = backtest_record(result)
    assert record["fold_1"] == "train 2025-01-06..<2025-01-13 test 2025-03-10..2025-03-16" + fold_1
    assert record["fold_2"] == "train 2025-01-06..<2025-01-20 test 2025-03-17..2025-03-23" + fold_2
    assert record["summary"].endswith(summary_end)
    tags = _registry_tags(
        result, SimpleNamespace(name="d"), {"training_window": "w", "config_hash": "h", "backtest": record}
    )
    assert tags["backtest"] == record["summary"]


def _school_year(as_of):
    """Four schools on annual terms that all renew on 1 September (the second year running), data to ``as_of``."""
    from datetime import datetime

    import polars as pl

    from churnml.contract.dataset import Dataset
    from churnml.contract.schemas import Table

    dt = pl.Datetime("us")
    terms = [(c, datetime(y, 9, 1), datetime(y + 1, 9, 1), 45.0) for c in "abcd" for y in (2024, 2025)]
    subs = pl.DataFrame(
        terms,
        schema={"client_id": pl.String, "start_date": dt, "end_date": dt, "mrr": pl.Float64},
        orient="row",
    )
    clients = pl.DataFrame(
        {"client_id": list("abcd"), "created_at": [datetime(2024, 8, 1)] * 4},
        schema_overrides={"created_at": dt},
    )
    return Dataset(
        tables={Table.CLIENTS: clients, Table.SUBSCRIPTIONS: subs},
        name="s",
        start=datetime(2024, 8, 1),
        as_of=as_of,
    )


def test_train_names_the_next_term_ends_and_says_when_terms_end_beyond_the_horizon() -> None:
    from datetime import date, datetime

    from churnml.config import Config
    from churnml.jobs.train import horizon_reach_note, next_term_ends

    data = _school_year(datetime(2026, 3, 3))

    def config(**label: object) -> Config:
        base = Config()
        return base.model_copy(update={"label": base.label.model_copy(update=label)})

    cfg = config(source="subscriptions")
    assert next_term_ends(data, cfg) == [date(2026, 9, 1)]
    # every fourth Monday of the year up to the next list's, 2026-03-09: 10 of the 13 lie more than 90 days
    # before 1 September (147, 119, 91, 344, ... 176 days), 3 within (63, 35, 7 days); the upper quartile
    # 260 days -> 270, which 19 months of data cannot judge yet (223 days at most give a backtest fold)
    assert horizon_reach_note(data, cfg) == (
        "at 13 snapshots 2025-04-07 .. 2026-03-09, 77% of the active clients' terms (52 client x snapshot rows) "
        "end 90 days or more after the snapshot: they run 365 days (median) and a client churns at a term's "
        "end, so the model can flag a non-renewal only within 90 days of it (label.horizon_days). An earlier "
        "warning would need label.horizon_days: 270 (three in four of these terms end within 260 days of their "
        "snapshot), which this data cannot judge yet (a backtest fold needs a horizon of 223 days or less now): "
        "keep the horizon until the data is longer"
    )
    assert horizon_reach_note(data, config(source="subscriptions", horizon_days=240)) is None
    cfg = config(source="inactivity")
    assert next_term_ends(data, cfg) == [] and horizon_reach_note(data, cfg) is None


@pytest.mark.parametrize(
    ("last_snapshot", "expected"),
    [
        # both clients renewed on 2025-01-01: the next churn the data can show is at the 2026-01-01 ends
        ("2025-06-02", "the next term is due to end on 2026-01-01"),
        ("2024-06-03", "the next term is due to end on 2025-01-01"),
        # every term ended by then: no date to wait for
        ("2026-02-02", "; use longer data or a longer label.horizon_days"),
    ],
)
def test_the_no_churner_message_names_the_first_term_end_after_the_last_labeled_snapshot(
    last_snapshot, expected
) -> None:
    from datetime import datetime
    from types import SimpleNamespace

    import pandas as pd
    import polars as pl

    from churnml.config import Config
    from churnml.contract.schemas import Table
    from churnml.jobs.train import no_churner_message

    subs = pl.DataFrame(
        {
            "client_id": ["a", "a", "b", "b", "b"],
            "start_date": [datetime(2024, 1, 1), datetime(2025, 1, 1)] * 2 + [datetime(2025, 1, 1)],
            "end_date": [datetime(2025, 1, 1), datetime(2026, 1, 1)] * 2 + [datetime(2025, 7, 1)],
            "mrr": [1.0] * 5,
            "is_addon": [False, False, False, False, True],  # an add-on's end is no churn
        }
    )
    dataset = SimpleNamespace(tables={Table.SUBSCRIPTIONS: subs})
    labeled = pd.DataFrame(
        {"client_id": ["a", "b"], "snapshot": pd.to_datetime([last_snapshot] * 2), "label": [0.0, 0.0]}
    )
    cfg = Config()
    cfg = cfg.model_copy(update={"label": cfg.label.model_copy(update={"source": "subscriptions"})})
    assert expected in no_churner_message(labeled, dataset, cfg)


def _recorded(**settings):
    """The procedure ``train`` records for a model built with the shipped settings changed by ``settings``."""
    from churnml.config import TrainConfig
    from churnml.jobs.train import _procedure
    from churnml.modeling.train import model_from_config

    cfg = TrainConfig(**{"extra_trees": False, **settings})
    return _procedure(model_from_config(cfg), cfg)


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ({"snapshot_step": 4}, False),
        ({"early_stopping_rounds": 5}, False),
        ({"max_train_rows": 1_000}, False),
        ({"calibration": "sigmoid"}, False),
        ({"min_isotonic_positives": 50}, False),
        ({"extra_trees": True}, False),
        ({"holdout_share": 0.3}, False),
        ({"seed": 7}, False),
        ({"lightgbm": {"n_estimators": 150}}, False),  # the rounds' cap (train.lightgbm's other keys: params)
        ({"n_jobs": 1}, True),  # threads: the same model
        ({"champion_margin": 0.01}, True),  # the gate's setting, not the model's
    ],
)
def test_every_setting_that_changes_the_model_makes_another_procedure(change, same) -> None:
    assert (_recorded(**change) == _recorded()) is same


def test_the_champion_is_refit_with_its_recorded_settings_not_the_current_config() -> None:
    from churnml.config import TrainConfig
    from churnml.jobs.train import champion_refit

    champ = _recorded(
        snapshot_step=4, early_stopping_rounds=5, calibration="sigmoid", lightgbm={"n_estimators": 150}
    )
    current = TrainConfig(extra_trees=True, snapshot_step=1, max_train_rows=1_000, n_jobs=1)
    cfg, params = champion_refit(champ, current)
    assert (cfg.snapshot_step, cfg.early_stopping_rounds, cfg.calibration, cfg.max_train_rows) == (
        4,
        5,
        "sigmoid",
        500_000,
    )
    assert (cfg.extra_trees, params["extra_trees"], params["n_estimators"], cfg.n_jobs) == (
        False,
        False,
        150,
        1,
    )


def test_a_champion_recorded_before_its_settings_were_is_refit_with_the_shipped_defaults() -> None:
    """An older card names LightGBM params (extra_trees only when on), weighting, monotone and parts: it is
    never the same procedure as a new one, and its refit takes the shipped defaults of what it does not say."""
    from churnml.config import TrainConfig
    from churnml.jobs.train import champion_refit

    old = {
        "params": {"learning_rate": 0.05, "num_leaves": 4},
        "imbalance_power": 0.5,
        "monotone": True,
        "cross_fit_parts": 5,
    }
    assert old != _recorded(lightgbm={"learning_rate": 0.05, "num_leaves": 4})
    current = TrainConfig(
        extra_trees=True, snapshot_step=3, early_stopping_rounds=7, lightgbm={"n_estimators": 99}
    )
    cfg, params = champion_refit(old, current)
    assert (cfg.extra_trees, cfg.snapshot_step, cfg.early_stopping_rounds, params["n_estimators"]) == (
        False,
        1,
        100,
        2000,
    )
    assert (cfg.monotone, cfg.cross_fit_parts, params["learning_rate"], params["imbalance_power"]) == (
        True,
        5,
        0.05,
        0.5,
    )
    assert cfg.cross_fit_rounds == "each"  # not the shipped auto: every part kept its own rounds then


def test_the_recipe_records_the_rounds_auto_decided_for_the_table() -> None:
    """``cross_fit_rounds: auto`` is recorded as what it decided, so a champion is refit as it was built."""
    import pandas as pd

    from churnml.config import TrainConfig
    from churnml.jobs.train import champion_refit
    from churnml.modeling.experiment import decided_for_table

    # 3 clients, one churning: 1 churning client over 5 parts, fewer than 100 a part -> shared
    table = pd.DataFrame({"client_id": ["a", "a", "b", "c"], "label": [0.0, 1.0, 0.0, 0.0]})
    decided, _ = decided_for_table(TrainConfig(extra_trees=False), table)
    recorded = _recorded(cross_fit_rounds=decided.cross_fit_rounds)
    assert recorded["cross_fit_rounds"] == "shared"
    assert recorded != _recorded(cross_fit_rounds="each")
    assert champion_refit(recorded, TrainConfig())[0].cross_fit_rounds == "shared"


@pytest.mark.parametrize(
    ("labels", "zones", "said"),
    [
        # 2 of 10 labeled rows churn (20%), the shipped yellow 0.15 below it: said, with 2x / 4x its odds
        ([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, None, None], {}, True),
        # 1 of 10 (10%): yellow 0.15 is above the rate
        ([1, 0, 0, 0, 0, 0, 0, 0, 0, 0], {}, False),
        # the zones already fitted to the rate, or ranked by capacity
        ([1, 1, 0, 0, 0, 0, 0, 0, 0, 0], {"yellow": 0.36, "red": 0.5}, False),
        ([1, 1, 0, 0, 0, 0, 0, 0, 0, 0], {"method": "capacity"}, False),
        ([None, None], {}, False),  # no labeled row
    ],
)
def test_train_says_when_the_yellow_threshold_is_below_the_labeled_churn_rate(labels, zones, said) -> None:
    # a semester school moved to a 150-day horizon to reach its renewals: 18.2% of its rows churned, and the
    # lists of November put 404 of 929 students in yellow at the school's own churn rate, with no word from train
    import pandas as pd

    from churnml.config import load_config
    from churnml.jobs.train import zones_note

    cfg = load_config(
        overrides=["label.horizon_days=150", *(f"score.zones.{k}={v}" for k, v in zones.items())]
    )
    table = pd.DataFrame({"label": pd.array(labels, dtype="Int8")})
    note = zones_note(table, cfg)
    if not said:
        assert note is None
        return
    assert note == (
        "zones: 20.0% of the labeled rows churn within label.horizon_days (150), at or above score.zones.yellow "
        "0.15: the typical client of every list will be yellow, so yellow sets no priority. Set the zones nearer "
        "this churn rate, twice and four times its odds of leaving: score.zones.yellow 0.33, score.zones.red 0.5 "
        "(or score.zones.method: capacity), in the config the weekly job reads"
    )


def test_the_horizon_hint_plans_its_fold_on_the_snapshots_that_hold_training_rows() -> None:
    """A dental chain's export: monthly plan terms from 2025-07-07, and one cancellation ticket of a patient
    who left before the other exports begin (2025-01-15). The snapshot grid starts at that ticket, but no client
    is a customer before July: the first training row is on 2025-07-14. Planned on the grid, the hint said
    "label.horizon_days: 239 or less gives one now" under 240, and 239 gave no fold either; planned from the
    first training row, 202, which labels snapshots enough for a fold (203 does not)."""
    from datetime import date, datetime, timedelta

    import polars as pl

    from churnml.config import Config
    from churnml.contract.dataset import Dataset
    from churnml.contract.schemas import Table
    from churnml.jobs.train import horizon_hinted
    from churnml.labels import labeled_spine
    from churnml.modeling.backtest import backtest_plan
    from churnml.pipeline import training_snapshots

    dt = pl.Datetime("us")
    ids = [f"c{i}" for i in range(40)]
    starts = [datetime(2025, 7, 7) + timedelta(days=30 * k) for k in range(17)]
    subs = pl.DataFrame(
        [(c, s, s + timedelta(days=30), 20.0) for c in ids for s in starts],
        schema={"client_id": pl.String, "start_date": dt, "end_date": dt, "mrr": pl.Float64},
        orient="row",
    )
    clients = pl.DataFrame(
        {"client_id": ids, "created_at": [datetime(2025, 1, 1)] * 40}, schema_overrides={"created_at": dt}
    )
    tickets = pl.DataFrame(
        {"client_id": ["c0"], "opened_at": [datetime(2025, 1, 15)]}, schema_overrides={"opened_at": dt}
    )
    data = Dataset(
        tables={Table.CLIENTS: clients, Table.SUBSCRIPTIONS: subs, Table.TICKETS: tickets},
        name="d",
        start=datetime(2025, 1, 15),
        as_of=datetime(2026, 12, 1),
    )
    base = Config()

    def config(horizon: int) -> Config:
        label = base.label.model_copy(update={"source": "subscriptions", "horizon_days": horizon})
        return base.model_copy(update={"label": label})

    grid = training_snapshots(data, base.snapshots, config(240).label)
    assert grid[0] == date(2025, 2, 17)
    rows_from = labeled_spine(data, grid, config(240).label).get_column("snapshot").min()
    assert rows_from == date(2025, 7, 14)
    assert horizon_hinted(["no fold"], "no fold", data, config(240), rows_from) == [
        "no fold; with this data, label.horizon_days: 202 or less gives one now (labels also wait "
        "label.grace_days: 30 after it)"
    ]

    def has_a_fold(horizon: int) -> bool:
        spine = labeled_spine(data, grid, config(horizon).label).filter(pl.col("label").is_not_null())
        snaps = sorted(set(spine.get_column("snapshot").to_list()))
        return backtest_plan(snaps, base.train, horizon, 30).has_folds

    assert has_a_fold(202) and not has_a_fold(203) and not has_a_fold(239)


def test_the_reach_of_a_suggested_horizon_is_the_hint_s_and_the_days_it_waits() -> None:
    """The dental chain's export above (monthly plan terms from 2025-07-07, a ticket from 2025-01-15, the first
    training row on 2025-07-14, data to 2026-11-30): what a rhythm note's suggested horizon is told against.
    240 (the pauses note's) needs 73 more days of data for a fold, what the backtest's summary says when
    trained under 240 ("about 73 more days of data would give one"), and 202 is the longest with one now (the
    hint's); 202 has one now. With the data 73 days longer, 240 has one."""
    from datetime import date, datetime, timedelta

    import polars as pl

    from churnml.config import Config
    from churnml.contract.dataset import Dataset
    from churnml.contract.schemas import Table
    from churnml.jobs.train import fold_reach
    from churnml.labels import labeled_spine
    from churnml.modeling.backtest import backtest_plan
    from churnml.pipeline import training_snapshots

    dt = pl.Datetime("us")
    ids = [f"c{i}" for i in range(40)]
    starts = [datetime(2025, 7, 7) + timedelta(days=30 * k) for k in range(17)]
    tables = {
        Table.CLIENTS: pl.DataFrame(
            {"client_id": ids, "created_at": [datetime(2025, 1, 1)] * 40}, schema_overrides={"created_at": dt}
        ),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            [(c, s, s + timedelta(days=30), 20.0) for c in ids for s in starts],
            schema={"client_id": pl.String, "start_date": dt, "end_date": dt, "mrr": pl.Float64},
            orient="row",
        ),
        Table.TICKETS: pl.DataFrame(
            {"client_id": ["c0"], "opened_at": [datetime(2025, 1, 15)]}, schema_overrides={"opened_at": dt}
        ),
    }
    base = Config()
    cfg = base.model_copy(update={"label": base.label.model_copy(update={"source": "subscriptions"})})

    def data(as_of: datetime) -> Dataset:
        return Dataset(tables=tables, name="d", start=datetime(2025, 1, 15), as_of=as_of)

    rows_from = date(2025, 7, 14)
    assert fold_reach(data(datetime(2026, 12, 1)), cfg, rows_from, 240) == (73, 202)
    # the backtest's own plan under 240, on the snapshots its labeled rows hold
    under = cfg.model_copy(update={"label": cfg.label.model_copy(update={"horizon_days": 240})})
    grid = training_snapshots(data(datetime(2026, 12, 1)), base.snapshots, under.label)
    spine = labeled_spine(data(datetime(2026, 12, 1)), grid, under.label).filter(
        pl.col("label").is_not_null()
    )
    assert backtest_plan(spine.get_column("snapshot"), base.train, 240, 30).days_short == 73
    assert fold_reach(data(datetime(2026, 12, 1)), cfg, rows_from, 202) == (0, None)
    assert fold_reach(data(datetime(2026, 12, 1) + timedelta(days=73)), cfg, rows_from, 240) == (0, None)


def test_a_shorter_grace_that_gives_a_fold_with_the_horizon_kept_is_named() -> None:
    # 5 months of monthly terms, weekly snapshots 2026-08-03 .. 2026-11-30, data to 2026-12-06, 30 days + a
    # 30-day grace: no fold; the note named only "label.horizon_days: 13 or less". Keeping the 30 days, a grace of
    # 13 days gives one (the label waits 43 days either way), 14 does not
    from datetime import date, timedelta

    from churnml.config import TrainConfig
    from churnml.jobs.train import grace_with_a_fold
    from churnml.modeling.backtest import longest_horizon_with_a_fold

    snaps = [date(2026, 8, 3) + timedelta(weeks=k) for k in range(18)]
    end, cfg = date(2026, 12, 6), TrainConfig()
    assert longest_horizon_with_a_fold(snaps, end, 30, cfg, 30) == 13
    assert grace_with_a_fold(snaps, end, 30, cfg, 30) == 13
    assert longest_horizon_with_a_fold(snaps, end, 14, cfg, 31) != 30
    assert grace_with_a_fold(snaps, end, 0, cfg, 30) is None  # labels that wait no grace
    assert (
        grace_with_a_fold(snaps, end, 30, cfg, 90) is None
    )  # no grace of 1 day or more gives 90 days a fold


@pytest.mark.parametrize(
    ("mean", "std", "folds", "said"),
    [
        (0.4479, 0.0, 1, "0.448 (1 fold)"),  # one fold has no spread: it read "0.448 ± 0.000 (1)"
        (0.338, 0.0123, 4, "0.338 ± 0.012 (4)"),
    ],
)
def test_the_backtest_table_says_no_spread_for_a_single_fold(mean, std, folds, said) -> None:
    from churnml.jobs.train import by_fold_said

    assert by_fold_said(mean, std, folds) == said
