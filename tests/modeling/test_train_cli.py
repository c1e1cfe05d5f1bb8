"""End to end: generate CRM data of 6 to 18 months, `churnml train` and `churnml score` via the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from churnml.cli import app
from churnml.config import load_config
from churnml.contract.io import read_dataset
from churnml.labels import labeled_spine
from churnml.pipeline import training_snapshots
from cli_settings import FAST_TRAIN, set_flags

pytestmark = pytest.mark.slow

# fast LightGBM (2 cross-fitted models, not 5: the CLI, not the cross-fitting, is tested here), no fixed backtest
# geometry: the folds are sized from each dataset
FAST_MODEL = (
    "train.early_stopping_rounds=10",
    "train.lightgbm.n_estimators=60",
    "train.lightgbm.learning_rate=0.2",
    "train.n_jobs=1",
    "score.history_weeks=2",
    "train.cross_fit_parts=2",
)


def _run(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _generate(runner: CliRunner, clients: int, months: int, seed: int) -> None:
    _run(
        runner,
        "generate",
        "--out",
        "raw",
        "--truth-out",
        "truth",
        "--clients",
        str(clients),
        "--months",
        str(months),
        "--churn-rate",
        "0.06",
        "--seed",
        str(seed),
    )


def _last_labeled_snapshot(folder: Path, settings: list[str]) -> str:
    cfg = load_config(None, settings)
    dataset = read_dataset(folder, cfg.data)
    spine = labeled_spine(dataset, training_snapshots(dataset, cfg.snapshots), cfg.label)
    return str(spine.filter(pl.col("label").is_not_null()).get_column("snapshot").max())


# the first train of the 250-client x 8-month dataset, which the two tests below read
FIRST_TRAIN = (*FAST_TRAIN, "train.min_isotonic_positives=100000")


@pytest.fixture(scope="module")
def first_train(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """250 generated clients x 8 months in ``root/raw`` trained once with the CLI (``root/models``, a
    tracking store of its own): its folder, settings and console output (400 columns wide)."""
    root = tmp_path_factory.mktemp("first_train")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'store' / 'mlflow.db'}")
        mp.chdir(root)
        runner = CliRunner()
        _generate(runner, clients=250, months=8, seed=3)
        settings = [*FIRST_TRAIN, f"paths.tune={root / 'tune'}"]
        args = ["train", "--data", "raw", "--truth", "truth", "--out", "models", *set_flags(settings)]
        result = runner.invoke(app, args, terminal_width=400)
    assert result.exit_code == 0, result.output
    return {"root": root, "settings": settings, "args": args, "output": result.output}


def test_train_end_to_end_on_generated_data(first_train, monkeypatch):
    tmp_path, settings, out = first_train["root"], first_train["settings"], first_train["output"]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert "Backtest: 2 out-of-time fold(s) of 28 days" in out
    for contender in ("model", "logistic", "rules", "oracle"):
        assert f" {contender} " in out
    assert "deployed model: trained on every labeled snapshot" in out
    assert "churnml-raw v1 " in out and ("v1 promoted to champion" in out or "v1 NOT promoted" in out)
    meta = json.loads((tmp_path / "models" / "metadata.json").read_text())
    assert meta["model_version"] == "1" and meta["label"]["horizon_days"] == 28
    assert meta["training_window"][1] == _last_labeled_snapshot(tmp_path / "raw", settings)
    assert set(meta["backtest_metrics"]) == {"model", "logistic", "rules", "oracle"}
    assert isinstance(meta["promoted"], bool) and meta["promotion_reason"]
    assert set(meta["feature_reference"]) == set(meta["feature_names"])
    assert (tmp_path / "store" / "mlflow.db").is_file()  # MLFLOW_TRACKING_URI won over the config

    # tune reads the table as train does, batch by batch on a portfolio over train.batch_clients
    tuning = [*settings, "tune.trees_per_trial=40", "train.batch_clients=100"]
    out = _run(runner, "tune", "--data", "raw", "--trials", "1", *set_flags(tuning))
    assert "1 trials in total, 1 complete" in out
    best = json.loads((tmp_path / "tune" / "raw" / "best_params.json").read_text())
    assert best["trial"] == 0 and 0 < best["value"] <= 1

    # a second dataset in the same project: its own registered name, and it says whose export it replaced
    shutil.copytree(tmp_path / "raw", tmp_path / "shop")
    out = _run(runner, "train", "--data", "shop", "--out", "models", *set_flags(settings))
    assert "churnml-shop v1 " in out
    assert "replacing the model of the dataset 'raw', which the tracking store still holds" in out
    assert json.loads((tmp_path / "models" / "metadata.json").read_text())["dataset"] == "shop"


def test_train_says_the_backtest_before_the_deployed_fit(first_train, tmp_path, monkeypatch):
    """The backtest's table, its evidence, the gate's verdict against the baselines and what the deployed fit
    is about to do are printed as soon as the backtest ends, then the deployed fit's progress (each model):
    a run stopped during the deployed fit (the longest step: 54 min on 152k rows) has said the out-of-time
    figures. Nothing is printed twice. Before, the table came after the deployed fit and the stopped run
    printed none of it."""
    out = first_train["output"]
    in_order = [
        "train backtest fold 2/2",
        "Backtest: 2 out-of-time fold(s) of 28 days",
        "evidence: ",
        "gate: ",
        "training the deployed model on every labeled row (",
        "train deployed model 1/2: learning from ",
        "train deployed model 2/2: learning from ",
        "deployed model: trained on every labeled snapshot",
        "churnml-raw v1 ",
    ]
    at = [out.find(text) for text in in_order]
    assert -1 not in at and at == sorted(at), list(zip(in_order, at, strict=True))
    for once in ("Backtest: ", "evidence: ", "gate: ", "training the deployed model", " oracle "):
        assert out.count(once) == 1, once
    notes = [line for line in out.splitlines() if line.startswith("note: ")]
    assert notes and len(notes) == len(set(notes))

    def stopped(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the deployed fit was stopped")

    # the same train stopped during its deployed fit, on a copy of the data with a store of its own
    shutil.copytree(first_train["root"] / "raw", tmp_path / "raw")
    shutil.copytree(first_train["root"] / "truth", tmp_path / "truth")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("churnml.modeling.experiment._deployed_model", stopped)
    result = CliRunner().invoke(app, first_train["args"], terminal_width=400)
    assert result.exit_code != 0
    said = result.output
    for text in (
        "Backtest: 2 out-of-time fold(s) of 28 days",
        " oracle ",
        "gate: ",
        "training the deployed model",
    ):
        assert text in said, said
    assert "deployed model: trained" not in said


@pytest.mark.parametrize(
    ("months", "clients", "horizon", "expect"),
    [
        # (a monthly-subscription product with 6 months of history and a 30-day horizon: the next test)
        (12, 150, 90, "out-of-time fold(s)"),
        (18, 150, 90, "4 out-of-time fold(s)"),
    ],
)
def test_short_histories_train_and_score(tmp_path, monkeypatch, months, clients, horizon, expect):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    _generate(runner, clients=clients, months=months, seed=months)
    settings = [*FAST_MODEL, f"label.horizon_days={horizon}"]
    out = _run(runner, "train", "--data", "raw", "--out", "models", *set_flags(settings))
    assert expect in out
    meta = json.loads((tmp_path / "models" / "metadata.json").read_text())
    assert meta["training_window"][1] == _last_labeled_snapshot(tmp_path / "raw", settings)
    scored = _run(runner, "score", "--data", "raw", "--out", "scores", *set_flags(settings))
    assert "wrote" in scored
    # 11 and 17 months of outcomes: under half of the 90 days the list looks into is a time of year never seen
    assert "a time of year it has not seen" not in " ".join(scored.split())
    scores = pl.read_parquet(tmp_path / "scores" / "scores.parquet")
    assert scores.height > 0 and scores.get_column("churn_probability").is_between(0, 1).all()


def test_too_short_for_the_horizon_names_a_horizon_that_fits(tmp_path, monkeypatch):
    """4 months of terms and the default 90-day horizon + 30-day grace: no snapshot is labeled yet; the
    error says which horizon labels the first 4 weekly snapshots, and that horizon trains."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    _generate(runner, clients=400, months=4, seed=9)
    settings = set_flags([s for s in (*FAST_TRAIN, *FAST_MODEL) if not s.startswith("label.")])
    result = runner.invoke(app, ["train", "--data", "raw", *settings], terminal_width=400)
    assert result.exit_code == 1
    assert "no labeled snapshot yet" in result.output
    cfg = load_config(None, [])
    dataset = read_dataset(tmp_path / "raw", cfg.data)
    snaps = training_snapshots(dataset, cfg.snapshots)
    fits = (dataset.as_of.date() - snaps[3]).days - 30  # the 4th snapshot, the subscriptions' grace
    assert f"label.horizon_days: {fits} or less labels the first 4 weekly snapshots" in result.output
    _run(runner, "train", "--data", "raw", *settings, *set_flags([f"label.horizon_days={fits}"]))
    meta = json.loads((tmp_path / "models" / "metadata.json").read_text())
    assert meta["training_window"] == [snaps[0].isoformat(), snaps[3].isoformat()]


def test_young_subscriptions_hint_a_horizon_and_keep_the_newest_model_without_evidence(tmp_path, monkeypatch):
    """A monthly-subscription product with 6 months of history and a 30-day horizon trains and scores: no
    fold yet, and the note names the horizon that gives one now (which then trains with a backtest).
    Without a champion, the newest model (also without evidence) replaces the older one in models/."""
    import re

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    _generate(runner, clients=300, months=6, seed=6)
    settings = set_flags([*FAST_MODEL, "label.horizon_days=30"])
    for version in ("1", "2"):
        result = runner.invoke(app, ["train", "--data", "raw", *settings], terminal_width=400)
        assert result.exit_code == 0, result.output
        assert "no out-of-time estimate yet" in result.output
        meta = json.loads((tmp_path / "models" / "metadata.json").read_text())
        assert (meta["model_version"], meta["promoted"]) == (version, False)
    labeled = _last_labeled_snapshot(tmp_path / "raw", [*FAST_MODEL, "label.horizon_days=30"])
    assert meta["training_window"][1] == labeled
    scored = _run(runner, "score", "--data", "raw", "--out", "scores", *settings)
    assert "wrote" in scored
    # five months of outcomes: the month the list looks into was never learned, and the list says so
    assert "are a time of year it has not seen, so a season's own habits" in " ".join(scored.split())
    scores = pl.read_parquet(tmp_path / "scores" / "scores.parquet")
    assert scores.height > 0 and scores.get_column("churn_probability").is_between(0, 1).all()
    hint = re.search(
        r"with this data, label\.horizon_days: (\d+) or less gives one now \(labels also wait "
        r"label\.grace_days: 30 after it\)",
        result.output,
    )
    assert hint is not None, result.output
    fits = int(hint.group(1))
    assert 7 <= fits < 30
    out = _run(runner, "train", "--data", "raw", *set_flags([*FAST_MODEL, f"label.horizon_days={fits}"]))
    assert "out-of-time fold(s)" in out and "no out-of-time estimate yet" not in out


def test_a_leaked_end_date_is_too_good_to_be_true(tmp_path, monkeypatch):
    """Subscriptions exported one row per subscription, end_date the day it ended (a billing system's
    export): the end date holds the future. Train says the table reads as one row per subscription, and
    a backtest past train.max_credible_pr_auc (0.98 by default; here 0.9) is not promoted, with the
    features the model leans on. The model (extra_trees: 47 churning clients) stays below the bound; the end
    date alone ranks the test rows at 0.939, past the bound."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    _generate(runner, clients=300, months=12, seed=12)
    subs = pl.read_parquet(tmp_path / "raw" / "subscriptions.parquet")
    lifetime = subs.group_by("client_id", maintain_order=True).agg(
        pl.col("start_date").min(), pl.col("end_date").max(), pl.col("mrr").last()
    )
    lifetime.write_parquet(tmp_path / "raw" / "subscriptions.parquet")
    settings = set_flags([*FAST_MODEL, "train.max_credible_pr_auc=0.9"])
    result = runner.invoke(app, ["train", "--data", "raw", *settings], terminal_width=400)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (
        "followed by a new term within label.grace_days (30): the table reads as one row per subscription"
        in text
    )
    assert "note: the backtest is too good to be true (PR-AUC" in text
    # the feature alone ranks the test rows nearly perfectly, whatever share of it the model uses
    assert "days to the end of the current term (payments_days_to_term_end) alone 0.939" in text
    assert "The model leans on days to the end of the current term (payments_days_to_term_end" in text
    assert "gate: NOT promoted, whatever the champion: too good to be true: mean fold PR-AUC" in text
    assert "NOT promoted (the gate above)" in text  # said when the backtest ended, not twice
    meta = json.loads((tmp_path / "models" / "metadata.json").read_text())
    assert meta["promoted"] is False and meta["promotion_reason"].startswith("too good to be true")


def test_annual_terms_younger_than_a_year_say_why_nothing_trains(tmp_path, monkeypatch):
    """Six months of a product sold on annual terms: no term has ended, so no churn can be seen; the
    error says when the first term ends and which labels would train now."""
    from datetime import datetime, timedelta

    from churnml.contract.io import write_tables

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    starts = [datetime(2024, 1, 1) + timedelta(days=3 * i) for i in range(40)]
    ids = [f"a{i}" for i in range(40)]
    events = [
        (c, s + timedelta(days=d))
        for c, s in zip(ids, starts, strict=True)
        for d in range(0, 180 - 3 * 40, 5)
    ]
    write_tables(
        {
            "clients": pl.DataFrame({"client_id": ids, "created_at": starts}),
            "subscriptions": pl.DataFrame(
                {
                    "client_id": ids,
                    "start_date": starts,
                    "end_date": [s + timedelta(days=365) for s in starts],
                    "mrr": [100.0] * 40,
                }
            ),
            "events": pl.DataFrame(
                {
                    "client_id": [c for c, _ in events],
                    "ts": [t for _, t in events],
                    "event": ["login"] * len(events),
                }
            ),
        },
        tmp_path / "raw",
    )
    result = CliRunner().invoke(app, ["train", "--data", "raw", *set_flags(FAST_MODEL)], terminal_width=400)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "no churner among the" in text and "there is nothing to learn from yet" in text
    assert "the next term is due to end on 2024-12-31" in text
    assert "set label.source: churns, or set label.source: inactivity" in text


@pytest.mark.parametrize(
    ("overrides", "flags"),
    [
        (None, None),
        (["train.folds=2", "score.renewal_days=90"], None),  # not part of the model
        (
            ["label.horizon_days=180", "train.folds=2", "features.login_events=[login]"],
            "--set label.horizon_days=180 --set features.login_events=[login]",
        ),
    ],
)
def test_a_model_trained_with_set_label_flags_says_how_to_score_it(overrides, flags) -> None:
    from churnml.cli import model_settings_note

    note = model_settings_note(overrides)
    if flags is None:
        assert note is None
    else:
        assert note.startswith(f"this model was trained with {flags}: label and feature settings")
        assert "`churnml score` refuses others" in note
        # no config file is read unless given: the note never sends the job to a file it would not read
        assert note.endswith(
            "a config file the weekly job passes with --config (churnml reads no config file it is not given)"
        )
