"""The Spark read (:func:`churnml.jobs.score_spark.read_spark_tables`) reads and checks a dataset as the Polars
read (:func:`churnml.contract.io.read_dataset`) does: the same tables, the same repairs under the same names,
the same refusals (table, column, problem, rows). Both engines read the same tiny Parquet folders.

Skipped only when pyspark or a Java runtime is missing.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from churnml.config import Config
from churnml.contract.io import read_dataset
from churnml.contract.validation import ContractError, _parsed_datetime

pytest.importorskip("pyspark")
pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("JAVA_HOME"), reason="no JVM"),
]


@pytest.fixture(scope="module")
def spark():
    from churnml.jobs.score_spark import spark_session

    session = spark_session("local[1]", driver_memory="1g")
    session.conf.set("spark.sql.shuffle.partitions", "1")
    yield session
    session.stop()


def _refusal(exc: ContractError) -> tuple[Any, ...]:
    """What a refusal says, the rows it shows by client (Spark rows have no file order, no row number)."""
    shown = (
        [] if exc.examples is None or "client_id" not in exc.examples.columns else exc.examples["client_id"]
    )
    return ("refused", exc.table, exc.column, exc.problem, exc.count, sorted(shown))


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=repr)


def _reads(spark: Any, folder: Path, data: dict[str, Any]) -> tuple[Any, Any]:
    """(Polars read, Spark read) of ``folder``: ({table: rows}, repairs), or the refusal."""
    from churnml.jobs.score_spark import read_spark_tables

    cfg = Config.model_validate({"data": {"as_of": "2024-12-31", **data}})
    try:
        dataset = read_dataset(folder, cfg.data)
        on_polars: Any = (
            {
                str(t): _rows(
                    f.cast({c: pl.String for c, d in f.schema.items() if d == pl.Categorical}).to_dicts()
                )
                for t, f in dataset.tables.items()
            },
            {t: dict(c) for t, c in dataset.repairs.counts.items()},
        )
    except ContractError as exc:
        on_polars = _refusal(exc)
    try:
        tables, repairs = read_spark_tables(spark, folder, cfg)
        on_spark: Any = (
            {str(t): _rows([r.asDict() for r in f.collect()]) for t, f in tables.items()},
            repairs,
        )
    except ContractError as exc:
        on_spark = _refusal(exc)
    return on_polars, on_spark


CLIENTS = pl.DataFrame({"client_id": ["c1"], "created_at": [datetime(2024, 6, 1)]})
EVENTS = pl.DataFrame({"client_id": ["c1"], "ts": [datetime(2024, 6, 10)], "event": ["login"]})
CALL = {"client_id": ["c1"], "ts": [datetime(2024, 6, 12)], "channel": ["email"], "direction": ["in"]}
D = datetime


def _terms(rows: list[tuple[str, str, datetime, datetime, bool | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "client_id": pl.String,
            "product": pl.String,
            "start_date": pl.Datetime("us"),
            "end_date": pl.Datetime("us"),
            "is_addon": pl.Boolean,
        },
        orient="row",
    ).with_columns(mrr=pl.lit(10.0))


CASES: dict[str, tuple[dict[str, pl.DataFrame], dict[str, Any]]] = {
    # a churn never starts a relationship: created_at stays (first_records leaves churns out)
    "churn before created_at": (
        {
            "clients": CLIENTS,
            "events": EVENTS,
            "churns": pl.DataFrame({"client_id": ["c1"], "churned_at": [D(2024, 3, 1)]}),
        },
        {},
    ),
    # an intervention does date a client's first record, as on Polars
    "intervention before created_at": (
        {
            "clients": CLIENTS,
            "events": EVENTS,
            "interventions": pl.DataFrame({"client_id": ["c1"], "ts": [D(2024, 3, 1)], "kind": ["call"]}),
        },
        {},
    ),
    "float ids": (
        {
            "clients": pl.DataFrame({"client_id": [12345.0, 7.5], "created_at": [D(2024, 1, 1)] * 2}),
            "events": EVENTS.with_columns(client_id=pl.lit(12345.0)),
        },
        {},
    ),
    "repairs of text, columns and dates": (
        {
            "clients": pl.DataFrame(
                {
                    "client_id": [" c1 ", "c2"],
                    "created_at": [D(1900, 1, 1), D(2024, 1, 1)],
                    "segment": ["NULL", "N/A"],
                    "Owner_name": ["x", "y"],
                }
            ),
            "events": EVENTS.with_columns(user_id=pl.lit("\tnull ")),
            "communications": pl.DataFrame({**CALL, "channel": ["Email"], "outcome": [" "]}),
        },
        {},
    ),
    "a duration in response_hours": (
        {
            "clients": CLIENTS,
            "communications": pl.DataFrame({**CALL, "response_hours": [timedelta(hours=2)]}),
        },
        {},
    ),
    "true/false in words": (
        {"clients": CLIENTS, "communications": pl.DataFrame({**CALL, "words": [True]})},
        {},
    ),
    "a year alone in created_at": (
        {"clients": CLIENTS.with_columns(created_at=pl.lit("2024")), "events": EVENTS},
        {},
    ),
    "yes/no in strategic": ({"clients": CLIENTS.with_columns(strategic=pl.lit("yes")), "events": EVENTS}, {}),
    "timestamps stored as seconds": (
        {"clients": CLIENTS, "events": EVENTS.with_columns(ts=pl.lit(1718000000))},
        {},
    ),
    "an add-on inside its base term": (
        {
            "clients": CLIENTS,
            "subscriptions": _terms(
                [
                    ("c1", "base", D(2024, 6, 1), D(2025, 6, 1), False),
                    ("c1", "base", D(2024, 7, 1), D(2024, 10, 1), True),
                ]
            ),
        },
        {},
    ),
    "an add-on renewed early": (
        {
            "clients": CLIENTS,
            "subscriptions": _terms(
                [
                    ("c1", "base", D(2024, 6, 1), D(2025, 6, 1), None),
                    ("c1", "base", D(2024, 7, 1), D(2024, 8, 1), True),
                    ("c1", "base", D(2024, 7, 29), D(2024, 9, 1), True),
                ]
            ),
        },
        {},
    ),
    "base terms overlapping": (
        {
            "clients": CLIENTS,
            "subscriptions": _terms(
                [
                    ("c1", "base", D(2024, 6, 1), D(2025, 6, 1), False),
                    ("c1", "base", D(2024, 7, 1), D(2024, 10, 1), None),
                ]
            ),
        },
        {},
    ),
    "an event at the midnight after the as-of date": (
        {"clients": CLIENTS, "events": EVENTS.with_columns(ts=pl.lit(D(2025, 1, 1)))},
        {},
    ),
    "a value below its bound": (
        {"clients": CLIENTS.with_columns(strategic=pl.lit(-1)), "events": EVENTS},
        {},
    ),
    # a refund under the invoice_id of the payment it refunds: said to be one, on both
    "a refund under its payment's invoice": (
        {
            "clients": CLIENTS,
            "payments": pl.DataFrame(
                {
                    "client_id": ["c1", "c1"],
                    "amount": [100.0, -100.0],
                    "paid_at": [D(2024, 6, 1), D(2024, 6, 9)],
                    "invoice_id": ["I1", "I1"],
                    "status": ["paid", "refunded"],
                }
            ),
        },
        {},
    ),
    # said to be NaN, not "above 1", on both
    "a NaN in a bounded column": (
        {"clients": CLIENTS.with_columns(margin=pl.lit(float("nan"))), "events": EVENTS},
        {},
    ),
    # a gym's freeze at a fee: read at mrr 0 and counted, as on Polars
    "a pause product at a fee": (
        {
            "clients": CLIENTS,
            "subscriptions": _terms(
                [
                    ("c1", "base", D(2024, 6, 1), D(2024, 7, 1), False),
                    ("c1", "Freeze", D(2024, 7, 1), D(2024, 8, 1), False),
                ]
            ),
        },
        {"pause_products": ["Freeze"]},
    ),
    "a pause product without a product column": (
        {
            "clients": CLIENTS,
            "subscriptions": _terms([("c1", "base", D(2024, 6, 1), D(2024, 7, 1), False)]).drop("product"),
        },
        {"pause_products": ["Freeze"]},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_spark_reads_and_checks_a_dataset_as_polars_does(spark, tmp_path: Path, case: str) -> None:
    files, data = CASES[case]
    for name, frame in files.items():
        frame.write_parquet(tmp_path / f"{name}.parquet")
    on_polars, on_spark = _reads(spark, tmp_path, data)
    assert on_spark == on_polars


# every layout the Polars read takes, and texts it refuses
TEXTS = [
    "2024-01-15",
    " 2024-01-15 ",
    "2024-1-5",
    "2024/01/15",
    "2024/1/5",
    "2024/01/15 10:00:00",
    "2024/01/15 10:00",
    "2024-01-15 10:00",
    "2024-01-15T10:00",
    "2024-01-15  10:00",
    "2024-01-15 1:2:3",
    "2024-01-15 10:00:00.5",
    "2024-01-15T10:00:00.123456789",
    "2024-01-15T10:00:00Z",
    "2024-01-15 10:00:00Z",
    "2024-01-15T10:00:00.000Z",
    "2024-01-15 10:00:00+01:00",
    "2024-01-15 10:00:00 +01:00",
    "2024-01-15T10:00:00+0100",
    "2024-01-15T10:00:00-05",
    "2024-01-15T10:00:00.123+01:00",
    "2024",
    "2024-01",
    "2024-01-15 10:00:00 UTC",
    "2024-01-15T10:00+01:00",
    "2024-01-15 10:00Z",
    "2024-01-15 10",
    "20240115",
    "2024-02-30",
    "2024-01-15 24:00:00",
    "2024-01-15t10:00:00",
    "2024-01-15 10:00:00.",
    "03/15/2024",
    "06/03/24",  # a two-digit year: no %Y (Polars read it as the year 6), refused on both
    "24-03-07",
    "soon",
]


@pytest.mark.parametrize("timezone", ["UTC", "Europe/Paris"])
def test_spark_reads_the_text_layouts_polars_reads_and_refuses_the_others(spark, timezone: str) -> None:
    from churnml.contract.schemas import Kind
    from churnml.scoring.spark import _converted

    frame = spark.createDataFrame([(i, t) for i, t in enumerate(TEXTS)], "i int, t string")
    got = {
        r["i"]: r["t"]
        for r in frame.select(
            "i", _converted(frame["t"], frame.schema["t"].dataType, Kind.DATETIME, timezone).alias("t")
        ).collect()
    }
    polars = (
        pl.DataFrame({"t": TEXTS})
        .select(_parsed_datetime(pl.col("t").str.strip_chars(), timezone))
        .to_series()
    )
    assert {t: got[i] for i, t in enumerate(TEXTS)} == dict(zip(TEXTS, polars.to_list(), strict=True))
