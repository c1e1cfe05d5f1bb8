"""``churnml score`` on local Apache Spark gives the same weekly lists as the Polars path.

One generated dataset (120 clients x 12 months: the scoring window leaves older events out) with a small model,
changed where the lists read the whole portfolio (:func:`changed_raw`: a usage dip, tickets of a monthly rhythm,
communications that stopped), and a list on each engine at the data's end with 6 weeks of health history,
after the same last list four weeks before (scored on Polars from no earlier list, copied beside the Spark
lists): both reuse its history where the weeks overlap (who left since it, stale tables, the dip). One file,
so one test worker scores them all with the session every Spark test of the worker shares (tests/conftest.py);
what the client buckets see is in tests/test_score_spark_buckets.py. Skipped only when pyspark or a Java runtime is missing.
"""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from churnml.config import Config, FeaturesConfig, LabelConfig, load_config
from churnml.contract.io import read_dataset
from churnml.contract.schemas import CLIENT_ID
from churnml.contract.validation import CREATED_REPAIR
from churnml.demo.synth import SynthParams, write_synthetic_dataset
from churnml.features import build_features
from churnml.labels import labeled_spine
from churnml.modeling.export import export_model, feature_reference
from churnml.modeling.train import ChurnModel
from churnml.scoring.columns import Scores

pytest.importorskip("pyspark")
pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("JAVA_HOME"), reason="no JVM"),
]


def scoring_workspace(root: Path) -> dict[str, Any]:
    """120 generated clients x 12 months in ``root/raw`` (the scoring window leaves older events out) and a
    small model trained on 14 weekly snapshots in ``root/model``. Ten clients are recorded as created on
    2024-08-01, after their first records (a CRM adopted late): both engines take each back to its first
    record. ``as_of``: the data's as-of date (the day after its last data), a list's default date."""
    write_synthetic_dataset(SynthParams(clients=120, months=12, seed=5), root / "raw", root / "truth")
    clients = pl.read_parquet(root / "raw" / "clients.parquet")
    late = (
        pl.when(pl.int_range(pl.len()) < 10)
        .then(pl.lit(datetime(2024, 8, 1)))
        .otherwise(pl.col("created_at"))
    )
    clients.with_columns(late.cast(clients.schema["created_at"]).alias("created_at")).write_parquet(
        root / "raw" / "clients.parquet"
    )
    dataset = read_dataset(root / "raw", load_config(None).data)
    assert dataset.repairs.counts["clients"][CREATED_REPAIR] > 0
    snaps = [date(2024, 2, 5) + timedelta(weeks=k) for k in range(14)]
    spine = labeled_spine(dataset, snaps, LabelConfig()).filter(pl.col("label").is_not_null())
    table = build_features(dataset, spine.select(CLIENT_ID, "snapshot"), FeaturesConfig())
    names = [c for c in table.columns if c not in (CLIENT_ID, "snapshot")]
    X = table.select(names).to_pandas()
    y = spine.sort("snapshot", CLIENT_ID).get_column("label").to_numpy().astype(int)
    params = {"n_estimators": 30, "num_leaves": 8, "min_child_samples": 5, "learning_rate": 0.2}
    model = ChurnModel(params=params, early_stopping_rounds=5, n_jobs=1).fit(X, y, eval_set=(X, y))
    export_model(model, root / "model", {"model_version": "1", "feature_reference": feature_reference(X)})
    as_of = dataset.as_of.date()  # the day after the last data: a list's default as-of date
    return {"root": root, "raw": root / "raw", "model": root / "model", "as_of": as_of}


def engine_configs(history_weeks: int) -> tuple[Config, Config]:
    """The default configuration with ``score.history_weeks`` set, on Polars and on Spark."""
    cfg = load_config(None)
    on_polars = cfg.model_copy(
        update={"score": cfg.score.model_copy(update={"history_weeks": history_weeks})}
    )
    on_spark = on_polars.model_copy(update={"features": cfg.features.model_copy(update={"engine": "spark"})})
    return on_polars, on_spark


def _left_section(report: Path) -> str:
    """The report's "Left since the last list" section (up to the next heading)."""
    html = report.read_text(encoding="utf-8")
    start = html.index("id='left'")
    end = html.find("<h2", start + 10)
    return html[start : end if end > 0 else None]


def _dipped_events(spark: Any, raw: Path) -> None:
    """The events of ``raw`` with those of the 28 days before its last day thinned: a portfolio-wide dip,
    deeper in one client bucket (x0.3) than in the other (x0.9), so a bucket's own median is not the
    portfolio's. The last day stays whole (a thin one reads as cut short)."""
    from pyspark.sql import functions as F

    ids = pl.read_parquet(raw / "clients.parquet").select(CLIENT_ID)
    # the client buckets of score_spark (two for 120 clients): pmod(xxhash64(client_id), buckets)
    bucket = F.pmod(F.xxhash64(CLIENT_ID), F.lit(2)).alias("bucket")
    buckets = pl.DataFrame(spark.createDataFrame(ids.to_pandas()).select(CLIENT_ID, bucket).toPandas())
    events = pl.read_parquet(raw / "events.parquet").join(buckets, on=CLIENT_ID, how="left")
    last_day = events.get_column("ts").max().replace(hour=0, minute=0, second=0, microsecond=0)
    recent = pl.col("ts").is_between(last_day - timedelta(days=28), last_day, closed="left")
    kept = pl.int_range(pl.len()) % 10 < pl.when(pl.col("bucket") == 0).then(3).otherwise(9)
    events.filter(~recent | kept).drop("bucket").write_parquet(raw / "events.parquet")


def changed_raw(spark: Any, raw: Path) -> date:
    """Change the generated tables of ``raw`` where a list reads the whole portfolio, and return the data's
    as-of date (the day after its last event): the events of the 28 days before the last day thinned
    (:func:`_dipped_events`); the tickets moved to a 30-day rhythm (opened every 30 days only) ending 25 days
    before the as-of date, stale only by score.max_data_lag_days (21); the communications, a daily log,
    ending 30 days before it: stale by any measure."""
    events = pl.read_parquet(raw / "events.parquet")
    day = (events.get_column("ts").max() + timedelta(days=1)).date()
    cut = datetime(day.year, day.month, day.day)
    _dipped_events(spark, raw)
    # each ticket (its closing too) moved to the next of the days 25, 55, 85, ... days before the list
    tickets = pl.read_parquet(raw / "tickets.parquet")
    anchor = cut - timedelta(days=25)
    opened = pl.col("opened_at").cast(pl.Datetime("us"))
    moved = pl.lit(anchor) - pl.duration(days=30 * ((pl.lit(anchor) - opened).dt.total_days() // 30))
    shift = moved - opened
    tickets.filter(opened <= anchor).with_columns(
        moved.cast(tickets.schema["opened_at"]).alias("opened_at"),
        (pl.col("closed_at").cast(pl.Datetime("us")) + shift)
        .cast(tickets.schema["closed_at"])
        .alias("closed_at"),
    ).write_parquet(raw / "tickets.parquet")
    comms = pl.read_parquet(raw / "communications.parquet")
    comms.filter(pl.col("ts") < cut - timedelta(days=30)).write_parquet(raw / "communications.parquet")
    return day


@pytest.fixture(scope="module")
def lists(spark, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The two engines' lists at the data's as-of date (:func:`changed_raw`'s dataset,
    :func:`scoring_workspace`'s model, 6 weeks of health history), each after the same last list: Polars's
    four weeks earlier, from no earlier list, copied beside the Spark lists too (two of the six weeks are
    that list's, reused by both engines: a Spark list reads the history any engine wrote)."""
    from churnml.jobs.score import score

    workspace = scoring_workspace(tmp_path_factory.mktemp("spark_score"))
    day = changed_raw(spark, workspace["raw"])
    assert day == workspace["as_of"]
    polars_cfg, spark_cfg = engine_configs(6)
    first_day = (day - timedelta(weeks=4)).isoformat()
    lists_of = {engine: workspace["root"] / f"lists_{engine}" for engine in ("polars", "spark")}
    first = score(
        workspace["raw"],
        polars_cfg,
        day - timedelta(weeks=4),
        lists_of["polars"] / first_day,
        str(workspace["model"]),
    )
    shutil.copytree(lists_of["polars"] / first_day, lists_of["spark"] / first_day)
    runs: dict[str, Any] = {"first": first}
    for engine, engine_cfg in (("polars", polars_cfg), ("spark", spark_cfg)):
        runs[engine] = score(
            workspace["raw"], engine_cfg, day, lists_of[engine] / day.isoformat(), str(workspace["model"])
        )
    assert runs["polars"].manifest["as_of"] == day.isoformat()
    return runs


@pytest.fixture(scope="module")
def both(lists: dict[str, Any]):
    """The two engines' lists at the data's as-of date, four weeks after the last list, each reusing the
    weeks of that list's history it still shows."""
    return lists["polars"], lists["spark"]


def test_spark_gives_the_same_list_as_polars(both) -> None:
    on_polars, on_spark = both
    a = pl.read_parquet(on_polars.folder / "scores.parquet")
    b = pl.read_parquet(on_spark.folder / "scores.parquet")
    assert on_spark.manifest["engine"] == "spark"
    assert a.height > 50
    assert b.get_column(CLIENT_ID).to_list() == a.get_column(CLIENT_ID).to_list()
    np.testing.assert_allclose(
        b.get_column(Scores.PROBABILITY).to_numpy(),
        a.get_column(Scores.PROBABILITY).to_numpy(),
        rtol=0,
        atol=1e-9,
    )
    for col in (
        Scores.ZONE,
        Scores.MODEL_ZONE,
        Scores.ACTION,
        Scores.VALUE_TIER,
        Scores.PRIORITY,
        Scores.driver(1, "feature"),
        Scores.driver(1, "sentence"),
        Scores.WHY_CHANGED,
        Scores.RULES,
    ):
        assert b.get_column(col).to_list() == a.get_column(col).to_list(), col
    # every column, floats to 1e-9
    assert_frame_equal(b, a, check_exact=False, rel_tol=0, abs_tol=1e-9)
    # the comparison means something: several zones, drivers and actions
    assert a.get_column(Scores.ZONE).n_unique() >= 2
    assert a.get_column(Scores.driver(1, "sentence")).null_count() < a.height
    assert a.get_column(Scores.ACTION).n_unique() >= 2


def test_the_scoring_window_leaves_older_events_out(both) -> None:
    # the Spark buckets then get the window and only the rows carried from before it
    on_polars, _ = both
    assert on_polars.manifest["data"]["read"]["events"]["rows_skipped"] > 0


def test_spark_gives_the_same_list_reusing_the_first_lists_history(both) -> None:
    on_polars, on_spark = both
    assert on_spark.manifest["history"] == on_polars.manifest["history"]
    assert on_polars.manifest["history"]["snapshots_reused"] > 0
    for name in ("scores.parquet", "history.parquet"):
        a = pl.read_parquet(on_polars.folder / name)
        b = pl.read_parquet(on_spark.folder / name)
        assert a.height > 50, name
        assert_frame_equal(b, a, check_exact=False, rel_tol=0, abs_tol=1e-9)


def test_spark_gives_the_same_history_and_manifest_counts(both) -> None:
    on_polars, on_spark = both
    a = pl.read_parquet(on_polars.folder / "history.parquet")
    b = pl.read_parquet(on_spark.folder / "history.parquet")
    assert_frame_equal(b, a, check_exact=False, rel_tol=0, abs_tol=1e-9)
    for key in ("as_of", "clients_scored", "zones", "new_in_red", "rules_fired", "arr", "arr_at_risk"):
        assert on_spark.manifest[key] == on_polars.manifest[key], key
    assert on_spark.manifest["data"]["row_counts"] == on_polars.manifest["data"]["row_counts"]
    assert (
        on_spark.manifest["data"]["last_timestamp_before_as_of"]
        == on_polars.manifest["data"]["last_timestamp_before_as_of"]
    )
    assert on_spark.manifest["drift"]["psi"] == on_polars.manifest["drift"]["psi"]
    # the migrated clients' created_at, taken back to their first records on both engines, counted alike
    moved = on_polars.manifest["data"]["repairs"]["clients"][CREATED_REPAIR]
    assert moved > 0 and on_spark.manifest["data"]["repairs"]["clients"][CREATED_REPAIR] == moved


def _fields(record: dict, prefix: str = "") -> dict[str, object]:
    """Every field of a manifest by its dotted path (``data.read.events.rows_read``), timings left out (each
    engine times its own steps)."""
    out: dict[str, object] = {}
    for key, value in record.items():
        path = f"{prefix}{key}"
        if path == "timings":
            continue
        if isinstance(value, dict) and value:
            out.update(_fields(value, f"{path}."))
        else:
            out[path] = value
    return out


def test_spark_writes_every_manifest_field_polars_writes(both) -> None:
    on_polars, on_spark = both
    a, b = _fields(on_polars.manifest), _fields(on_spark.manifest)
    assert sorted(set(b) - {"engine"}) == sorted(a)
    # what the data says agrees; the config hash holds the engine, the events' read is each engine's own
    own = {"config_hash", "data.read.events.rows_read", "data.read.events.rows_skipped"}
    own |= {"data.read.events.client_batches", "data.read.events.spilled_rows", "data.read.events.spilled_mb"}
    own |= {
        "data.read.events.window_start"
    }  # reusing a list, Spark's began two weeks earlier here (lists agree)
    assert {k: v for k, v in b.items() if k in a and k not in own} == {
        k: v for k, v in a.items() if k not in own
    }
    read = on_spark.manifest["data"]["read"]["events"]
    # the rows shipped to the buckets: the window and the rows carried from before it, none spilled
    assert 0 < read["rows_read"] < read["rows_in_file"]
    assert read["rows_skipped"] == read["rows_in_file"] - read["rows_read"]
    assert (read["spilled_rows"], read["spilled_mb"]) == (None, None)
    assert on_spark.empty_columns == on_polars.manifest["data"]["empty_optional_columns"]


def test_spark_says_who_left_since_the_last_list_as_polars_does(both) -> None:
    on_polars, on_spark = both
    left = on_polars.manifest["left_since_last_list"]
    assert left is not None and left["clients"] > 0  # the comparison means something
    assert on_spark.manifest["left_since_last_list"] == left
    section = _left_section(on_polars.folder / "report.html")
    assert f"Left since the last list ({left['clients']})" in section
    assert "churn recorded on" in section or "was not renewed" in section  # the reasons are read
    assert _left_section(on_spark.folder / "report.html") == section


def test_spark_judges_stale_tables_by_their_own_rhythm_as_polars_does(both) -> None:
    on_polars, on_spark = both
    # the monthly tickets keep their usual silence; the daily communications are stale
    assert list(on_polars.lagging) == ["communications"] and on_polars.lagging["communications"] >= 30
    assert on_spark.lagging == on_polars.lagging
    assert on_spark.manifest["data"]["lagging_tables"] == on_polars.manifest["data"]["lagging_tables"]
    polars_spans = on_polars.manifest["data"]["tables"]
    spark_spans = on_spark.manifest["data"]["tables"]
    assert polars_spans["tickets"]["usual_gap_days"] == 30
    for table in ("communications", "tickets", "payments", "events", "subscriptions"):
        assert spark_spans[table].get("usual_gap_days") == polars_spans[table].get("usual_gap_days"), table


def test_spark_reads_a_portfolio_wide_usage_dip_as_polars_does(both) -> None:
    # usage_drop reads every client against the whole portfolio's ratio, not its client bucket's, and the
    # banner states the threshold the rule applied
    on_polars, on_spark = both
    assert on_polars.result.usage_dip is not None
    assert on_spark.result.usage_dip == on_polars.result.usage_dip
    a = pl.read_parquet(on_polars.folder / "scores.parquet")
    b = pl.read_parquet(on_spark.folder / "scores.parquet")
    assert b.get_column(Scores.RULES).to_list() == a.get_column(Scores.RULES).to_list()
    assert b.get_column(Scores.PREVIOUS_ZONE).to_list() == a.get_column(Scores.PREVIOUS_ZONE).to_list()
    assert_frame_equal(b, a, check_exact=False, rel_tol=0, abs_tol=1e-9)


def test_spark_reads_the_last_list_of_the_dataset_data_name_names(lists, tmp_path: Path) -> None:
    # the same export in a folder named for its date: under data.name (the first list's dataset, raw) the Spark
    # list reuses that list's history and says who left since it, as the list read from raw/ does
    from churnml.jobs.score import score

    first, on_spark = lists["first"], lists["spark"]
    root = first.folder.parent.parent
    export = tmp_path / "exports" / on_spark.day.isoformat()
    shutil.copytree(root / "raw", export)
    shutil.copytree(first.folder, tmp_path / "lists" / first.day.isoformat())
    _, spark_cfg = engine_configs(6)
    named = spark_cfg.model_copy(update={"data": spark_cfg.data.model_copy(update={"name": "raw"})})
    run = score(
        export, named, on_spark.day, tmp_path / "lists" / on_spark.day.isoformat(), str(root / "model")
    )
    assert run.manifest["data"]["name"] == "raw"
    assert run.manifest["history"] == on_spark.manifest["history"]
    assert run.manifest["history"]["snapshots_reused"] > 0
    assert run.manifest["left_since_last_list"] == on_spark.manifest["left_since_last_list"]
    assert_frame_equal(
        pl.read_parquet(run.folder / "scores.parquet"), pl.read_parquet(on_spark.folder / "scores.parquet")
    )
