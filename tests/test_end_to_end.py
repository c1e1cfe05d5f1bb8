"""One end-to-end run in a temporary folder: generate -> validate -> train -> score, via the CLI.

The weekly list comes from the MLflow champion (no --model), as the batch job runs it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from churnml.cli import app
from churnml.config import DataConfig, LabelConfig, ZonesConfig
from churnml.contract.io import read_dataset
from churnml.labels import active_spine
from churnml.scoring.assemble import gone_clients
from churnml.scoring.outputs import Scores
from cli_settings import FAST_TRAIN, set_flags

pytestmark = pytest.mark.slow

FAST = [*FAST_TRAIN, "score.history_weeks=4"]


def sets(extra: list[str] = ()) -> list[str]:
    return set_flags([*FAST, *extra])


def test_generate_validate_train_score(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    run(
        "generate",
        "--out",
        "raw",
        "--truth-out",
        "truth",
        "--clients",
        "250",
        "--months",
        "8",
        "--churn-rate",
        "0.06",
        "--seed",
        "11",
    )
    assert "churns" in run("validate", "--data", "raw")
    trained = run(
        "train",
        "--data",
        "raw",
        "--truth",
        "truth",
        "--out",
        "models",
        *sets([f"paths.tune={tmp_path / 'tune'}"]),
    )
    # On 8 months of 250 clients the gate may or may not promote (it needs backtest evidence against
    # the baselines); either way the model is exported, and the batch job scores with the champion when
    # there is one, else with the exported folder.
    promoted = "v1 promoted to champion" in trained
    # the run records the folder it learned from (--data), not the default paths.data
    import mlflow

    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    recorded = {r.data.params.get("config.paths.data") for r in runs} - {None}
    assert recorded == {"raw"}
    # the mean fold PR-AUC the champion gate quotes is a logged metric, for the model and each baseline
    (logged,) = [r for r in runs if "config.paths.data" in r.data.params]
    said = re.search(r"pr_auc (\d\.\d{4}) (?:is above|vs)", trained)
    if "backtest_pr_auc" in logged.data.metrics:  # a backtest estimate (the gate quotes its mean)
        assert {"backtest_pr_auc_fold_mean", "logistic_backtest_pr_auc_fold_mean"} <= set(logged.data.metrics)
        assert said is None or f"{logged.data.metrics['backtest_pr_auc_fold_mean']:.4f}" == said.group(1)
    assert promoted or "v1 NOT promoted" in trained

    run("score", "--data", "raw", "--out", "scores", *sets())
    scores = pl.read_parquet(tmp_path / "scores" / "scores.parquet")
    manifest = json.loads((tmp_path / "scores" / "manifest.json").read_text())

    # One row per client active at the as-of date, no more, no less.
    dataset = read_dataset(tmp_path / "raw", DataConfig())
    active = active_spine(dataset, [dataset.as_of.date()], LabelConfig(horizon_days=28))
    # ... and never a gone client (a churn record, no return since), whatever label.source says
    gone = gone_clients(dataset.tables, dataset.as_of.date(), 30)
    assert sorted(scores.get_column(Scores.CLIENT_ID)) == sorted(set(active.get_column("client_id")) - gone)
    p = scores.get_column(Scores.PROBABILITY)
    assert p.is_between(0, 1).all()
    assert scores.get_column(Scores.PRIORITY).sort().to_list() == list(range(1, scores.height + 1))
    # The list is ordered by zone (red, yellow, green), then within a zone by ARR x the probability, at
    # least the zone's threshold for a client a rule raised (it keeps the zone's stake), its own for the others
    ordered = scores.sort(Scores.PRIORITY)
    zones = ordered.get_column(Scores.ZONE).to_list()
    assert zones == sorted(zones, key=["red", "yellow", "green"].index)
    floors = {"red": ZonesConfig().red, "yellow": ZonesConfig().yellow, "green": 0.0}
    for zone in ("red", "yellow", "green"):
        mine = ordered.filter(pl.col(Scores.ZONE) == zone)
        stake = [
            arr * max(p, floors[zone] if by else 0.0)
            for arr, p, by in zip(
                mine[Scores.ARR], mine[Scores.PROBABILITY], mine["zone_raised_by"], strict=True
            )
        ]
        assert stake == sorted(stake, reverse=True)
    assert manifest["model"]["version"] == "1"
    assert manifest["model"]["source"] == ("models:/churnml-raw@champion" if promoted else "models")
    assert (tmp_path / "scores" / "report.html").stat().st_size > 10_000
    csv_cells = (tmp_path / "scores" / "scores.csv").read_text().replace("\n", ",").split(",")
    assert not [c for c in csv_cells if c[:1] in ("=", "+", "@")]
    # The bar of issue 13 on this small run (tests/benchmarks/bench_list.py measures it on the demo):
    # sentences people trust, and every red and yellow client in the report's compact table.
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_list", Path(__file__).parent / "benchmarks" / "bench_list.py"
    )
    assert spec is not None and spec.loader is not None
    bar = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bar)
    assert set(bar.untrusted_sentences(scores, 3).values()) == {0}
    page = (tmp_path / "scores" / "report.html").read_text(encoding="utf-8")
    assert bar.missing_from_report(page, scores) == 0

    # The Python API does what the commands do: the same model, the same list.
    import churnml

    cfg = churnml.load_config(overrides=list(FAST))
    model, card = churnml.load_model("raw", cfg)
    assert card["dataset"] == "raw"
    api_run = churnml.score("raw", cfg, out="scores_api")
    assert api_run.folder == Path("scores_api")
    listed = api_run.result.scores.select(Scores.CLIENT_ID, Scores.PROBABILITY, Scores.PRIORITY)
    assert listed.sort(Scores.CLIENT_ID).equals(
        scores.select(Scores.CLIENT_ID, Scores.PROBABILITY, Scores.PRIORITY).sort(Scores.CLIENT_ID)
    )
    X = churnml.snapshot_feature_table(
        churnml.read_dataset("raw", cfg), api_run.day, cfg.label, cfg.features
    ).join(listed.select(Scores.CLIENT_ID), on=Scores.CLIENT_ID, how="semi")
    p = dict(zip(X.get_column(Scores.CLIENT_ID).to_list(), model.churn_probability(X).tolist(), strict=True))
    assert {c: round(p[c], 9) for c in listed.get_column(Scores.CLIENT_ID)} == {
        c: round(v, 9) for c, v in listed.select(Scores.CLIENT_ID, Scores.PROBABILITY).iter_rows()
    }
