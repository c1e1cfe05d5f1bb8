"""``churnml score`` on local Apache Spark gives the same weekly list as the Polars path.

One generated dataset (120 clients x 12 months: the scoring window leaves older events out) and one small model
(tests/spark_scoring.py, built once per test worker: tests/conftest.py ``spark_workspace``), the session every
Spark test of the worker shares (tests/conftest.py). What the buckets see (the window shipped, the mailings) is
in tests/test_score_spark_buckets.py, the portfolio-wide dip, who left and stale tables in
tests/test_score_spark_portfolio.py. Skipped only when pyspark or a Java runtime is missing.
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from churnml.contract.schemas import CLIENT_ID
from churnml.contract.validation import CREATED_REPAIR
from churnml.scoring.columns import Scores
from spark_scoring import engine_configs

pytest.importorskip("pyspark")
pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("JAVA_HOME"), reason="no JVM"),
]


@pytest.fixture(scope="module")
def weekly(spark, spark_workspace: dict[str, Any]) -> dict[str, list[Any]]:
    """Each engine's list a week before the data's as-of date, then at it: the second reusing the first's
    history file (next week's list)."""
    from churnml.jobs.score import score

    polars_cfg, spark_cfg = engine_configs(4)
    model = str(spark_workspace["model"])
    day = spark_workspace["as_of"]
    runs: dict[str, list[Any]] = {}
    for engine, engine_cfg in (("polars", polars_cfg), ("spark", spark_cfg)):
        folder = spark_workspace["root"] / f"weekly_{engine}"
        runs[engine] = [
            score(spark_workspace["raw"], engine_cfg, when, folder / when.isoformat(), model)
            for when in (day - timedelta(weeks=1), day)
        ]
    assert runs["polars"][1].manifest["as_of"] == day.isoformat()  # the data's own as-of date
    return runs


@pytest.fixture(scope="module")
def both(weekly: dict[str, list[Any]]):
    """The two engines' lists at the data's as-of date, each reusing its list of the week before."""
    return weekly["polars"][1], weekly["spark"][1]


@pytest.fixture(scope="module")
def first(weekly: dict[str, list[Any]]):
    """The two engines' lists a week before, each from no earlier list (every week of history scored)."""
    return weekly["polars"][0], weekly["spark"][0]


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


def test_spark_gives_the_same_list_next_week_reusing_the_history(both) -> None:
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


def test_spark_writes_every_manifest_field_polars_writes(first) -> None:
    # the lists scored without an earlier one: reusing one, the engines' event read windows differ (Spark's
    # began two weeks earlier on this data) while their lists agree (the tests above)
    on_polars, on_spark = first
    a, b = _fields(on_polars.manifest), _fields(on_spark.manifest)
    assert sorted(set(b) - {"engine"}) == sorted(a)
    # what the data says agrees; the config hash holds the engine, the events' read is each engine's own
    own = {"config_hash", "data.read.events.rows_read", "data.read.events.rows_skipped"}
    own |= {"data.read.events.client_batches", "data.read.events.spilled_rows", "data.read.events.spilled_mb"}
    assert {k: v for k, v in b.items() if k in a and k not in own} == {
        k: v for k, v in a.items() if k not in own
    }
    read = on_spark.manifest["data"]["read"]["events"]
    # the rows shipped to the buckets: the window and the rows carried from before it, none spilled
    assert 0 < read["rows_read"] < read["rows_in_file"]
    assert read["rows_skipped"] == read["rows_in_file"] - read["rows_read"]
    assert (read["spilled_rows"], read["spilled_mb"]) == (None, None)
    assert on_spark.empty_columns == on_polars.manifest["data"]["empty_optional_columns"]
