"""``churnml score`` on local Apache Spark gives the same weekly list as the Polars path.

One generated dataset (120 clients x 12 months: the scoring window leaves older events out), one small model, one Spark session for the module.
Skipped only when pyspark or a Java runtime is missing.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from churnml.config import FeaturesConfig, LabelConfig, load_config
from churnml.contract.io import read_dataset
from churnml.contract.schemas import CLIENT_ID, Table
from churnml.contract.validation import CREATED_REPAIR, ContractError
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


@pytest.fixture(scope="module")
def spark():
    from churnml.jobs.score_spark import spark_session

    session = spark_session("local[2]", driver_memory="2g")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("spark_score")
    write_synthetic_dataset(SynthParams(clients=120, months=12, seed=5), root / "raw", root / "truth")
    # ten clients recorded as created on 2024-08-01, after their first records (a CRM adopted late):
    # both engines take each back to its first record
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
    return {"root": root, "raw": root / "raw", "model": root / "model"}


@pytest.fixture(scope="module")
def both(spark, workspace: dict[str, Path]):
    from churnml.jobs.score import score

    cfg = load_config(None)
    polars_cfg = cfg.model_copy(update={"score": cfg.score.model_copy(update={"history_weeks": 4})})
    spark_cfg = polars_cfg.model_copy(
        update={"features": cfg.features.model_copy(update={"engine": "spark"})}
    )
    model = str(workspace["model"])
    on_polars = score(workspace["raw"], polars_cfg, None, workspace["root"] / "polars", model)
    on_spark = score(workspace["raw"], spark_cfg, None, workspace["root"] / "spark", model)
    return on_polars, on_spark


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


@pytest.fixture(scope="module")
def next_week(spark, workspace: dict[str, Path], both):
    """Two weekly runs per engine (two weeks and one week before the data's as-of date), the second
    reusing the first's history file."""
    from churnml.jobs.score import score

    on_polars, _ = both
    cfg = load_config(None)
    polars_cfg = cfg.model_copy(update={"score": cfg.score.model_copy(update={"history_weeks": 4})})
    spark_cfg = polars_cfg.model_copy(
        update={"features": cfg.features.model_copy(update={"engine": "spark"})}
    )
    last = date.fromisoformat(str(on_polars.manifest["as_of"])) - timedelta(weeks=1)
    runs = {}
    for engine, engine_cfg in (("polars", polars_cfg), ("spark", spark_cfg)):
        folder = workspace["root"] / f"weekly_{engine}"
        for day in (last - timedelta(weeks=1), last):
            runs[engine] = score(
                workspace["raw"], engine_cfg, day, folder / day.isoformat(), str(workspace["model"])
            )
    return runs["polars"], runs["spark"]


def test_spark_gives_the_same_list_next_week_reusing_the_history(next_week) -> None:
    on_polars, on_spark = next_week
    assert on_spark.manifest["history"] == on_polars.manifest["history"]
    assert on_polars.manifest["history"]["snapshots_reused"] > 0
    for name in ("scores.parquet", "history.parquet"):
        a = pl.read_parquet(on_polars.folder / name)
        b = pl.read_parquet(on_spark.folder / name)
        assert a.height > 50, name
        assert_frame_equal(b, a, check_exact=False, rel_tol=0, abs_tol=1e-9)


@pytest.fixture(scope="module")
def dipped(spark, workspace: dict[str, Path]):
    """Both engines on the dataset with the events of the 28 days before its last day thinned: a
    portfolio-wide dip, deeper in one client bucket (x0.3) than in the other (x0.9), so a bucket's own
    median is not the portfolio's. The last day stays whole: a thin one reads as cut short, and the Polars
    list is then as of it (churnml.jobs.score.partial_last_day_note)."""
    from pyspark.sql import functions as F

    from churnml.jobs.score import score

    raw = workspace["root"] / "dipped"
    shutil.copytree(workspace["raw"], raw)
    ids = pl.read_parquet(raw / "clients.parquet").select(CLIENT_ID)
    # the client buckets of score_spark (two for 120 clients): pmod(xxhash64(client_id), buckets)
    bucket = F.pmod(F.xxhash64(CLIENT_ID), F.lit(2)).alias("bucket")
    buckets = pl.DataFrame(spark.createDataFrame(ids.to_pandas()).select(CLIENT_ID, bucket).toPandas())
    events = pl.read_parquet(raw / "events.parquet").join(buckets, on=CLIENT_ID, how="left")
    last_day = events.get_column("ts").max().replace(hour=0, minute=0, second=0, microsecond=0)
    recent = pl.col("ts").is_between(last_day - timedelta(days=28), last_day, closed="left")
    kept = pl.int_range(pl.len()) % 10 < pl.when(pl.col("bucket") == 0).then(3).otherwise(9)
    events.filter(~recent | kept).drop("bucket").write_parquet(raw / "events.parquet")
    cfg = load_config(None)
    polars_cfg = cfg.model_copy(update={"score": cfg.score.model_copy(update={"history_weeks": 4})})
    spark_cfg = polars_cfg.model_copy(
        update={"features": cfg.features.model_copy(update={"engine": "spark"})}
    )
    model = str(workspace["model"])
    on_polars = score(raw, polars_cfg, None, workspace["root"] / "dipped_polars", model)
    on_spark = score(raw, spark_cfg, None, workspace["root"] / "dipped_spark", model)
    return on_polars, on_spark


def test_spark_reads_a_portfolio_wide_usage_dip_as_polars_does(dipped) -> None:
    # usage_drop reads every client against the whole portfolio's ratio, not its client bucket's, and the
    # banner states the threshold the rule applied
    on_polars, on_spark = dipped
    assert on_polars.result.usage_dip is not None
    assert on_spark.result.usage_dip == on_polars.result.usage_dip
    a = pl.read_parquet(on_polars.folder / "scores.parquet")
    b = pl.read_parquet(on_spark.folder / "scores.parquet")
    assert b.get_column(Scores.RULES).to_list() == a.get_column(Scores.RULES).to_list()
    assert b.get_column(Scores.PREVIOUS_ZONE).to_list() == a.get_column(Scores.PREVIOUS_ZONE).to_list()
    assert_frame_equal(b, a, check_exact=False, rel_tol=0, abs_tol=1e-9)


def test_spark_ships_the_window_and_the_rows_carried_from_before_it(spark) -> None:
    from churnml.scoring.spark import scoring_events

    clients = spark.createDataFrame(
        [("c1", datetime(2023, 1, 1)), ("c2", datetime(2023, 6, 1))],
        "client_id string, created_at timestamp_ntz",
    )
    rows = [
        ("c1", datetime(2023, 2, 1, 10), "report"),  # onboarding weeks (98 days after created_at)
        ("c1", datetime(2023, 5, 1, 9), "login"),  # an earlier login: dropped
        ("c1", datetime(2023, 6, 1, 9), "data_export"),  # last export before the window
        ("c1", datetime(2023, 7, 1, 9), "login"),  # last login before the window
        ("c1", datetime(2023, 8, 1, 9), "report"),  # dropped
        ("c1", datetime(2023, 9, 1, 9), "report"),  # last event before the window
        ("c1", datetime(2024, 3, 1), "report"),  # the window's first instant
        ("c1", datetime(2024, 5, 31, 23, 59), "login"),
        ("c1", datetime(2024, 6, 1), "report"),  # the as-of date: dropped
        ("c2", datetime(2024, 1, 5, 8), "data_export"),  # last export
        ("c2", datetime(2024, 1, 10, 8), "report"),  # dropped
        ("c2", datetime(2024, 2, 20, 8), "report"),  # two rows at the last timestamp: both kept
        ("c2", datetime(2024, 2, 20, 8), "chat"),
    ]
    events = spark.createDataFrame(
        [(c, ts, e, "u1", 1.0) for c, ts, e in rows],
        "client_id string, ts timestamp_ntz, event string, user_id string, value double",
    )
    shipped = scoring_events(
        events, clients, datetime(2024, 3, 1), datetime(2024, 6, 1), FeaturesConfig()
    ).collect()
    assert {(r["user_id"], r["value"]) for r in shipped} == {("u1", 1.0)}  # rows whole
    assert sorted((r["client_id"], r["ts"], r["event"]) for r in shipped) == sorted(
        [
            ("c1", datetime(2023, 2, 1, 10), "report"),
            ("c1", datetime(2023, 6, 1, 9), "data_export"),
            ("c1", datetime(2023, 7, 1, 9), "login"),
            ("c1", datetime(2023, 9, 1, 9), "report"),
            ("c1", datetime(2024, 3, 1), "report"),
            ("c1", datetime(2024, 5, 31, 23, 59), "login"),
            ("c2", datetime(2024, 1, 5, 8), "data_export"),
            ("c2", datetime(2024, 2, 20, 8), "report"),
            ("c2", datetime(2024, 2, 20, 8), "chat"),
        ]
    )


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


def test_spark_contract_errors_name_table_column_and_rows(spark) -> None:
    from pyspark.sql import functions as F

    from churnml.scoring.spark import checked_spark_references, contract_frame

    clients = spark.createDataFrame(
        [("c1", datetime(2024, 1, 1)), ("c2", datetime(2024, 2, 1))], ["client_id", "created_at"]
    )
    events = spark.createDataFrame(
        [("c1", datetime(2024, 3, 1), "login"), ("c9", datetime(2024, 3, 2), "login")],
        ["client_id", "ts", "event"],
    )
    tables = {
        Table.CLIENTS: contract_frame(clients, Table.CLIENTS, None),
        Table.EVENTS: contract_frame(events, Table.EVENTS, None),
    }
    with pytest.raises(ContractError, match=r"table 'events', column 'client_id': client_id not found .*c9"):
        checked_spark_references(tables)
    nulls = spark.createDataFrame([("c1", None, "login")], "client_id string, ts timestamp_ntz, event string")
    with pytest.raises(
        ContractError, match=r"table 'events', column 'ts': empty value in a required column \(1 rows\)"
    ):
        contract_frame(nulls, Table.EVENTS, None)
    text = spark.createDataFrame([("c1", "2024-03-01")], ["client_id", "created_at"])
    assert contract_frame(text, Table.CLIENTS, None).collect()[0]["created_at"] == datetime(2024, 3, 1)
    bad = spark.createDataFrame([("c1", "soon")], ["client_id", "created_at"])
    with pytest.raises(ContractError, match=r"column 'created_at': cannot read values as datetime .*soon"):
        contract_frame(bad, Table.CLIENTS, None)
    us = spark.createDataFrame([("c1", "03/15/2024")], ["client_id", "created_at"])
    with pytest.raises(
        ContractError, match=r"cannot read values as datetime \(dates written day or month first"
    ):
        contract_frame(us, Table.CLIENTS, None)
    header = spark.createDataFrame([("c1", "2024-03-01")], ["Client_ID", "created_at"])
    with pytest.raises(ContractError, match="'Client_ID' is 'client_id' written otherwise: rename it"):
        contract_frame(header, Table.CLIENTS, None)
    cased = spark.createDataFrame(
        [("c1", datetime(2024, 5, 1), "Email", "IN"), ("c1", datetime(2024, 5, 2), "call", "Out")],
        ["client_id", "ts", "channel", "direction"],
    )
    got = [
        (r["channel"], r["direction"]) for r in contract_frame(cased, Table.COMMUNICATIONS, None).collect()
    ]
    assert sorted(got) == [("call", "out"), ("email", "in")]  # as on Polars
    # a payment-retry log is named as one, as on Polars
    retries = spark.createDataFrame(
        [("c1", "A", "10", None, "failed"), ("c1", "A", "10", "2024-02-03", "paid")],
        "client_id string, invoice_id string, amount string, paid_at string, status string",
    )
    with pytest.raises(ContractError, match=r"1 of these 2 rows are failed attempts .* a payment-retry log"):
        contract_frame(retries, Table.PAYMENTS, None)
    # a null marker is an empty cell in text, number and date columns alike, as on Polars
    marked = spark.createDataFrame(
        [("c1", "2024-05-01", "login", "NULL", "N/A")], ["client_id", "ts", "event", "user_id", "value"]
    )
    row = contract_frame(marked, Table.EVENTS, None).collect()[0]
    assert (row["user_id"], row["value"]) == (None, None)
    with pytest.raises(ContractError, match=r"column 'event': empty value in a required column"):
        contract_frame(marked.withColumn("event", F.lit("NULL")), Table.EVENTS, None)
    statuses = spark.createDataFrame(
        [("c1", 5.0, "succeeded"), ("c1", 5.0, "succeeded"), ("c1", 5.0, "void"), ("c1", 5.0, "paid")],
        ["client_id", "amount", "status"],
    )
    with pytest.raises(ContractError, match=r"allowed .*; found 'succeeded' \(2\), 'void' \(1\) \(3 rows\)"):
        contract_frame(statuses.withColumn("paid_at", F.lit(None).cast("timestamp")), Table.PAYMENTS, None)
    late = spark.createDataFrame([("c1", datetime(2030, 1, 1))], ["client_id", "created_at"])
    with pytest.raises(ContractError, match="timestamp after the as-of date"):
        contract_frame(late, Table.CLIENTS, datetime(2025, 1, 1))


def test_spark_reads_text_timestamps_with_a_utc_offset_as_polars_does(spark) -> None:
    from churnml.scoring.spark import contract_frame

    texts = [
        "2024-01-05T10:00:00+01:00",
        "2024-01-05T10:00:00-05:00",
        "2024-01-05T10:00:00Z",
        "2024-01-05 10:00",
    ]
    frame = spark.createDataFrame([(f"c{i}", t) for i, t in enumerate(texts)], ["client_id", "created_at"])
    got = {r["client_id"]: r["created_at"] for r in contract_frame(frame, Table.CLIENTS, None).collect()}
    assert [got[f"c{i}"] for i in range(4)] == [
        datetime(2024, 1, 5, 9),
        datetime(2024, 1, 5, 15),
        datetime(2024, 1, 5, 10),
        datetime(2024, 1, 5, 10),
    ]


def test_spark_reads_times_in_the_data_timezone_as_polars_does(spark) -> None:
    from churnml.scoring.spark import repaired_contract_frame

    texts = [
        "2026-02-12T00:00:00+01:00",
        "2025-07-01T10:00:00Z",
        "2025-07-01 10:00",
        "2025-01-10 10:00:00+01",
        "2025-01-10 10:00:00+00",
    ]
    frame = spark.createDataFrame([(f"c{i}", t) for i, t in enumerate(texts)], ["client_id", "created_at"])
    checked, _ = repaired_contract_frame(frame, Table.CLIENTS, None, timezone="Europe/Paris")
    got = {r["client_id"]: r["created_at"] for r in checked.collect()}
    # a Paris midnight stays one, Z is 12:00 in Paris summer time, a time without an offset is already local
    assert [got[f"c{i}"] for i in range(5)] == [
        datetime(2026, 2, 12),
        datetime(2025, 7, 1, 12),
        datetime(2025, 7, 1, 10),
        datetime(2025, 1, 10, 10),  # two-digit offsets as Polars reads them
        datetime(2025, 1, 10, 11),
    ]


def test_spark_reads_nanosecond_timestamps_as_polars_does(spark, tmp_path: Path) -> None:
    """pandas writes datetime64[ns] as Parquet TIMESTAMP(NANOS), which Spark refuses to read by itself."""
    import pandas as pd

    from churnml.jobs.score_spark import nanosecond_columns, spark_parquet

    stamps = ["2024-01-02 03:04:05.123456789", "2023-05-06 00:00:00.000000001"]
    frame = pd.DataFrame(
        {
            "client_id": ["a", "b"],
            "ts": pd.to_datetime(stamps).astype("datetime64[ns]"),
            "at_utc": pd.to_datetime(stamps).astype("datetime64[ns]").tz_localize("Europe/Berlin"),
            "day": pd.to_datetime(["2024-01-02", "2023-05-06"]).astype("datetime64[us]"),
        }
    )
    path = tmp_path / "events.parquet"
    frame.to_parquet(path)
    assert nanosecond_columns(path) == ["ts", "at_utc"]
    rows = spark_parquet(spark, path).orderBy("client_id").collect()
    assert [(r["ts"], r["at_utc"], r["day"]) for r in rows] == [
        (datetime(2024, 1, 2, 3, 4, 5, 123456), datetime(2024, 1, 2, 2, 4, 5, 123456), datetime(2024, 1, 2)),
        (datetime(2023, 5, 6), datetime(2023, 5, 5, 22), datetime(2023, 5, 6)),
    ]
    polars = pl.read_parquet(path).select(pl.col("ts").cast(pl.Datetime("us"))).get_column("ts").to_list()
    assert polars == [r["ts"] for r in rows]


def test_a_bucket_without_rows_of_a_table_still_has_it_empty() -> None:
    from churnml.config import RulesConfig, ScoreConfig, ValueConfig
    from churnml.scoring.spark import _ipc
    from churnml.scoring.spark_buckets import BucketContext, bucket_dataset

    clients = pl.DataFrame(
        {"client_id": ["c1"], "created_at": [datetime(2024, 1, 1)]},
        schema={"client_id": pl.String, "created_at": pl.Datetime("us")},
    )
    ctx = BucketContext(
        as_of=date(2024, 6, 3),
        prev_date=date(2024, 5, 27),
        todo=(date(2024, 6, 3),),
        reused=frozenset(),
        name="t",
        start=datetime(2024, 1, 1),
        data_as_of=datetime(2024, 6, 3),
        activity_start=datetime(2024, 1, 1),
        label=LabelConfig(),
        features=FeaturesConfig(),
        score=ScoreConfig(),
        value=ValueConfig(),
        rules=RulesConfig(),
        present=("clients", "churns"),
    )
    dataset = bucket_dataset({"clients": [_ipc(clients.to_arrow())]}, ctx)
    assert sorted(str(t) for t in dataset.tables) == ["churns", "clients"]
    assert dataset.tables[Table.CHURNS].height == 0
    assert dataset.tables[Table.CHURNS].schema["churned_at"] == pl.Datetime("us")
    assert dataset.tables[Table.CLIENTS].get_column("client_id").to_list() == ["c1"]
    assert dataset.first_activity() == datetime(2024, 1, 1)


def test_spark_repairs_renewals_booked_early_as_polars_does(spark) -> None:
    from churnml.contract.validation import EARLY_RENEWAL_REPAIR, early_renewals_repaired
    from churnml.scoring.spark import repaired_contract_frame

    d = datetime
    rows = [
        ("a", "base", d(2024, 1, 1), d(2024, 1, 31), 10.0),
        ("a", "base", d(2024, 1, 28), d(2024, 3, 2), 10.0),  # 3 days early: starts 2024-01-31
        ("a", "base", d(2024, 2, 28), d(2024, 4, 1), 10.0),  # starts 2024-03-02
        ("d", "base", d(2024, 1, 1), d(2024, 1, 31), 10.0),
        ("d", "addon", d(2024, 1, 20), d(2024, 2, 20), 10.0),  # another product
    ]
    columns = "client_id string, product string, start_date timestamp_ntz, end_date timestamp_ntz, mrr double"
    frame, repairs = repaired_contract_frame(
        spark.createDataFrame(rows, columns), Table.SUBSCRIPTIONS, None, 5, 0.25
    )
    got = sorted((r["client_id"], r["product"], r["start_date"]) for r in frame.collect())
    polars, moved = early_renewals_repaired(
        pl.DataFrame(rows, schema=["client_id", "product", "start_date", "end_date", "mrr"], orient="row"),
        0.25,
    )
    assert got == sorted(polars.select("client_id", "product", "start_date").rows())
    assert got[:3] == [
        ("a", "base", d(2024, 1, 1)),
        ("a", "base", d(2024, 1, 31)),
        ("a", "base", d(2024, 3, 2)),
    ]
    assert repairs == {EARLY_RENEWAL_REPAIR: 2} and moved == 2
    overlap = [
        ("b", "base", d(2024, 1, 1), d(2024, 7, 1), 10.0),
        ("b", "base", d(2024, 3, 1), d(2024, 12, 1), 10.0),
    ]
    with pytest.raises(ContractError, match="overlapping terms of one product"):
        repaired_contract_frame(spark.createDataFrame(overlap, columns), Table.SUBSCRIPTIONS, None, 5, 0.25)


def _left_section(report: Path) -> str:
    """The report's "Left since the last list" section (up to the next heading)."""
    html = report.read_text(encoding="utf-8")
    start = html.index("id='left'")
    end = html.find("<h2", start + 10)
    return html[start : end if end > 0 else None]


@pytest.fixture(scope="module")
def left_and_stale(spark, workspace: dict[str, Path]):
    """Both engines, four weeks apart (the second list's last list is the first), on the dataset with the
    tickets of a 30-day rhythm (opened every 30 days only) ending 25 days before the list, stale only by
    score.max_data_lag_days (21), and the communications, a daily log, ending 30 days before it: stale by
    any measure."""
    from churnml.jobs.score import score

    raw = workspace["root"] / "rhythm"
    shutil.copytree(workspace["raw"], raw)
    events = pl.read_parquet(raw / "events.parquet")
    day = (events.get_column("ts").max() + timedelta(days=1)).date()
    cut = datetime(day.year, day.month, day.day)
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
    cfg = load_config(None)
    polars_cfg = cfg.model_copy(update={"score": cfg.score.model_copy(update={"history_weeks": 2})})
    spark_cfg = polars_cfg.model_copy(
        update={"features": cfg.features.model_copy(update={"engine": "spark"})}
    )
    runs = {}
    for engine, engine_cfg in (("polars", polars_cfg), ("spark", spark_cfg)):
        folder = workspace["root"] / f"left_{engine}"
        for when in (day - timedelta(weeks=4), day):
            runs[engine] = score(raw, engine_cfg, when, folder / when.isoformat(), str(workspace["model"]))
    return runs["polars"], runs["spark"], day


def test_spark_says_who_left_since_the_last_list_as_polars_does(left_and_stale) -> None:
    on_polars, on_spark, _ = left_and_stale
    left = on_polars.manifest["left_since_last_list"]
    assert left is not None and left["clients"] > 0  # the comparison means something
    assert on_spark.manifest["left_since_last_list"] == left
    section = _left_section(on_polars.folder / "report.html")
    assert f"Left since the last list ({left['clients']})" in section
    assert "churn recorded on" in section or "was not renewed" in section  # the reasons are read
    assert _left_section(on_spark.folder / "report.html") == section


def test_spark_judges_stale_tables_by_their_own_rhythm_as_polars_does(left_and_stale) -> None:
    on_polars, on_spark, _ = left_and_stale
    # the monthly tickets keep their usual silence; the daily communications are stale
    assert list(on_polars.lagging) == ["communications"] and on_polars.lagging["communications"] >= 30
    assert on_spark.lagging == on_polars.lagging
    assert on_spark.manifest["data"]["lagging_tables"] == on_polars.manifest["data"]["lagging_tables"]
    polars_spans = on_polars.manifest["data"]["tables"]
    spark_spans = on_spark.manifest["data"]["tables"]
    assert polars_spans["tickets"]["usual_gap_days"] == 30
    for table in ("communications", "tickets", "payments", "events", "subscriptions"):
        assert spark_spans[table].get("usual_gap_days") == polars_spans[table].get("usual_gap_days"), table


def test_the_executors_read_bookings_with_the_configured_early_renewal_share() -> None:
    from types import SimpleNamespace

    from churnml.jobs.score_spark import _context

    # Spark's BucketContext was built without it: its buckets read renewals booked ahead at the 0.25 default
    cfg = load_config(overrides=["data.early_renewal_share=0.1"])
    plan = SimpleNamespace(todo=[date(2025, 1, 6)], reused=[])
    when = datetime(2025, 1, 1)
    dates = {k: when for k in ("start", "data_as_of", "activity_start", "events_start", "contact_start")}
    fitted = SimpleNamespace(feature_names_=["usage_logins_28d"])
    ctx = _context(date(2025, 1, 6), plan, "d", dates, fitted, cfg)
    assert ctx.early_renewal_share == 0.1


@pytest.mark.parametrize(
    ("table", "rows", "schema", "said"),
    [
        # an empty client_id: Polars says its row number; Spark, without file order, the row's time
        (
            Table.EVENTS,
            [("c1", datetime(2024, 3, 1, 9), "login"), (None, datetime(2024, 3, 2, 10, 30), "login")],
            "client_id string, ts timestamp_ntz, event string",
            "(1 rows). e.g. client_id=None, ts='2024-03-02 10:30:00'",
        ),
        # a payment: its invoice and both time columns
        (
            Table.PAYMENTS,
            [(None, "INV-7", 10.0, datetime(2024, 3, 5), datetime(2024, 3, 1))],
            "client_id string, invoice_id string, amount double, paid_at timestamp_ntz, issued_at timestamp_ntz",
            "e.g. client_id=None, invoice_id='INV-7', paid_at='2024-03-05', issued_at='2024-03-01'",
        ),
        # a term: its product and start, then the columns of the problem
        (
            Table.SUBSCRIPTIONS,
            [("c1", "L", datetime(2024, 1, 1), datetime(2024, 2, 1), -5.0)],
            "client_id string, product string, start_date timestamp_ntz, end_date timestamp_ntz, mrr double",
            "e.g. client_id='c1', product='L', start_date='2024-01-01', mrr=-5.0",
        ),
    ],
)
def test_spark_refusals_show_the_rows_identifying_columns(spark, table, rows, schema, said) -> None:
    from churnml.scoring.spark import contract_frame

    with pytest.raises(ContractError) as refused:
        contract_frame(spark.createDataFrame(rows, schema), table, None)
    assert str(refused.value).endswith(said), str(refused.value)


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
    assert {k: v for k, v in b.items() if k in a and k not in own} == {
        k: v for k, v in a.items() if k not in own
    }
    read = on_spark.manifest["data"]["read"]["events"]
    # the rows shipped to the buckets: the window and the rows carried from before it, none spilled
    assert 0 < read["rows_read"] < read["rows_in_file"]
    assert read["rows_skipped"] == read["rows_in_file"] - read["rows_read"]
    assert (read["spilled_rows"], read["spilled_mb"]) == (None, None)
    assert on_spark.empty_columns == on_polars.manifest["data"]["empty_optional_columns"]


def _newsletter_tables() -> dict[Table, pl.DataFrame]:
    # 25 clients on yearly terms; a weekly newsletter to all of them, no reply; c00's account manager writes
    # every 4 weeks and c00 answers
    ids = [f"c{i:02d}" for i in range(25)]
    start = datetime(2024, 1, 1)
    touches = [
        (c, start + timedelta(days=1, weeks=w), "email", "out", "no_reply") for w in range(12) for c in ids
    ]
    touches += [("c00", start + timedelta(days=3, weeks=4 * m), "email", "out", "replied") for m in range(3)]
    dt = pl.Datetime("us")
    return {
        Table.CLIENTS: pl.DataFrame({"client_id": ids, "created_at": [start] * 25}),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ids,
                "start_date": [start] * 25,
                "end_date": [datetime(2025, 1, 1)] * 25,
                "mrr": 10.0,
            },
            schema={"client_id": pl.String, "start_date": dt, "end_date": dt, "mrr": pl.Float64},
        ),
        Table.COMMUNICATIONS: pl.DataFrame(
            touches, schema=["client_id", "ts", "channel", "direction", "outcome"], orient="row"
        ),
    }


def test_a_bucket_leaves_out_the_mailings_of_the_whole_dataset_it_is_handed() -> None:
    from churnml.config import RulesConfig, ScoreConfig, ValueConfig
    from churnml.contract.dataset import Dataset
    from churnml.features.build import dataset_mailings
    from churnml.scoring.spark_buckets import BucketContext, bucket_features

    tables = _newsletter_tables()
    as_of, start, end = date(2024, 3, 25), datetime(2024, 1, 1), datetime(2024, 3, 25)
    whole = Dataset(tables, "t", start, end)
    ctx = BucketContext(
        as_of=as_of,
        prev_date=as_of - timedelta(weeks=1),
        todo=(as_of,),
        reused=frozenset(),
        name="t",
        start=start,
        data_as_of=end,
        activity_start=whole.first_activity(),
        contact_start=whole.contact_first(),
        label=LabelConfig(),
        features=FeaturesConfig(),
        score=ScoreConfig(),
        value=ValueConfig(),
        rules=RulesConfig(),
        present=tuple(str(t) for t in tables),
        mailings=dataset_mailings(whole),
    )
    spine = pl.DataFrame({"client_id": ["c00"], "snapshot": [as_of]})
    expected = build_features(whole, spine, FeaturesConfig())
    comm = [c for c in expected.columns if c.startswith("comm_")]
    bucket = whole.with_tables(**{str(t): f.filter(pl.col("client_id") == "c00") for t, f in tables.items()})
    got, _ = bucket_features(bucket, ctx)
    assert got.select(comm).equals(expected.select(comm))
    assert got.get_column("comm_touches_out_28d").to_list() == [1.0]  # the account manager's e-mail only
    # without the whole dataset's mailings the bucket of one client finds none: 4 newsletters are outreach
    alone, _ = bucket_features(bucket, replace(ctx, mailings=None))
    assert alone.get_column("comm_touches_out_28d").to_list() == [5.0]


def test_the_driver_finds_the_mailings_of_the_whole_dataset_as_polars_does(spark) -> None:
    from churnml.config import RulesConfig
    from churnml.contract.dataset import Dataset
    from churnml.features.build import dataset_mailings
    from churnml.scoring.spark_buckets import driver_mailings

    tables = _newsletter_tables()
    on_spark = {t: spark.createDataFrame(f.to_pandas()) for t, f in tables.items()}
    rules = RulesConfig()
    expected = dataset_mailings(Dataset(tables, "t", datetime(2024, 1, 1), datetime(2024, 3, 25)))
    assert expected.height == 12
    assert driver_mailings(on_spark, rules).equals(expected)
    assert driver_mailings({Table.CLIENTS: on_spark[Table.CLIENTS]}, rules).height == 0
