"""What ``churnml score --engine spark`` reads across the whole portfolio, against the Polars path: who left
since the last list, which tables are stale, the portfolio-wide usage dip. Two lists four weeks apart on each
engine, on one changed copy of the generated dataset (a file apart from tests/test_score_spark.py so that two
test workers score at once).

The generated dataset and model of tests/spark_scoring.py and the session every Spark test of the worker
shares (both built once per worker: tests/conftest.py). Skipped only when pyspark or a Java runtime is missing.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from churnml.contract.schemas import CLIENT_ID
from churnml.scoring.columns import Scores
from spark_scoring import engine_configs

pytest.importorskip("pyspark")
pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("JAVA_HOME"), reason="no JVM"),
]


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


@pytest.fixture(scope="module")
def portfolio(spark, spark_workspace: dict[str, Any]):
    """Both engines, four weeks apart (the second list's last list is the first), on the dataset with the
    events of the 28 days before its last day thinned (:func:`_dipped_events`), the tickets of a 30-day rhythm (opened every 30 days only) ending 25 days before the list, stale only by
    score.max_data_lag_days (21), and the communications, a daily log, ending 30 days before it: stale by
    any measure."""
    from churnml.jobs.score import score

    raw = spark_workspace["root"] / "portfolio"
    shutil.copytree(spark_workspace["raw"], raw)
    events = pl.read_parquet(raw / "events.parquet")
    day = (events.get_column("ts").max() + timedelta(days=1)).date()
    cut = datetime(day.year, day.month, day.day)
    _dipped_events(spark, raw)
    # each ticket (its closing too) moved to the next of the days 25, 55, 85, ... days before the list: a
    # 30-day rhythm
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
    polars_cfg, spark_cfg = engine_configs(2)
    runs = {}
    for engine, engine_cfg in (("polars", polars_cfg), ("spark", spark_cfg)):
        folder = spark_workspace["root"] / f"left_{engine}"
        for when in (day - timedelta(weeks=4), day):
            runs[engine] = score(
                raw, engine_cfg, when, folder / when.isoformat(), str(spark_workspace["model"])
            )
    return runs["polars"], runs["spark"], day


def test_spark_says_who_left_since_the_last_list_as_polars_does(portfolio) -> None:
    on_polars, on_spark, _ = portfolio
    left = on_polars.manifest["left_since_last_list"]
    assert left is not None and left["clients"] > 0  # the comparison means something
    assert on_spark.manifest["left_since_last_list"] == left
    section = _left_section(on_polars.folder / "report.html")
    assert f"Left since the last list ({left['clients']})" in section
    assert "churn recorded on" in section or "was not renewed" in section  # the reasons are read
    assert _left_section(on_spark.folder / "report.html") == section


def test_spark_judges_stale_tables_by_their_own_rhythm_as_polars_does(portfolio) -> None:
    on_polars, on_spark, _ = portfolio
    # the monthly tickets keep their usual silence; the daily communications are stale
    assert list(on_polars.lagging) == ["communications"] and on_polars.lagging["communications"] >= 30
    assert on_spark.lagging == on_polars.lagging
    assert on_spark.manifest["data"]["lagging_tables"] == on_polars.manifest["data"]["lagging_tables"]
    polars_spans = on_polars.manifest["data"]["tables"]
    spark_spans = on_spark.manifest["data"]["tables"]
    assert polars_spans["tickets"]["usual_gap_days"] == 30
    for table in ("communications", "tickets", "payments", "events", "subscriptions"):
        assert spark_spans[table].get("usual_gap_days") == polars_spans[table].get("usual_gap_days"), table


def test_spark_reads_a_portfolio_wide_usage_dip_as_polars_does(portfolio) -> None:
    # usage_drop reads every client against the whole portfolio's ratio, not its client bucket's, and the
    # banner states the threshold the rule applied
    on_polars, on_spark, _ = portfolio
    assert on_polars.result.usage_dip is not None
    assert on_spark.result.usage_dip == on_polars.result.usage_dip
    a = pl.read_parquet(on_polars.folder / "scores.parquet")
    b = pl.read_parquet(on_spark.folder / "scores.parquet")
    assert b.get_column(Scores.RULES).to_list() == a.get_column(Scores.RULES).to_list()
    assert b.get_column(Scores.PREVIOUS_ZONE).to_list() == a.get_column(Scores.PREVIOUS_ZONE).to_list()
    assert_frame_equal(b, a, check_exact=False, rel_tol=0, abs_tol=1e-9)
