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
from churnml.contract.schemas import Table
from churnml.contract.validation import ContractError, _parsed_datetime

pytest.importorskip("pyspark")
pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("JAVA_HOME"), reason="no JVM"),
]


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


def _paid(amounts: list[float], column: str, codes: list[str | None]) -> pl.DataFrame:
    """Three paid invoices of client c1 in June 2024 with ``amounts``, their currency codes in ``column``."""
    return pl.DataFrame(
        {
            "client_id": ["c1"] * 3,
            "amount": amounts,
            "paid_at": [D(2024, 6, 1), D(2024, 6, 9), D(2024, 6, 20)],
            "invoice_id": ["I1", "I2", "I3"],
            "status": ["paid"] * 3,
            column: codes,
        }
    )


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
    # a money table's currency column: converted at data.currency_rates, refused without them, as on Polars
    "amounts in two currencies with their rates": (
        {"clients": CLIENTS, "payments": _paid([100.0, 2000.0, 50.0], "Currency", [" usd", "JPY", "USD"])},
        {"currency_rates": {"EUR": 1, "USD": 0.9, "JPY": 0.006}},
    ),
    "amounts in two currencies without rates": (
        {"clients": CLIENTS, "payments": _paid([100.0, 2000.0, 50.0], "currency", ["USD", "JPY", "USD"])},
        {},
    ),
    "every amount in one currency": (
        {"clients": CLIENTS, "payments": _paid([100.0, 20.0, 50.0], "ccy", ["GBP", "GBP", "N/A"])},
        {},
    ),
    "a row without a currency among amounts to convert": (
        {"clients": CLIENTS, "payments": _paid([100.0, 20.0, 50.0], "currency", ["USD", None, "USD"])},
        {"currency_rates": {"EUR": 1, "USD": 0.9}},
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
        ContractError, match=r"table 'events', column 'ts': empty value in a required column \(1 row\)"
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


@pytest.mark.parametrize(
    ("table", "rows", "schema", "said"),
    [
        # an empty client_id: Polars says its row number; Spark, without file order, the row's time
        (
            Table.EVENTS,
            [("c1", datetime(2024, 3, 1, 9), "login"), (None, datetime(2024, 3, 2, 10, 30), "login")],
            "client_id string, ts timestamp_ntz, event string",
            "(1 row). e.g. client_id=None, ts='2024-03-02 10:30:00'",
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
