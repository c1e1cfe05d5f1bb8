"""The same Narwhals feature code gives the same numbers on Polars and on local Apache Spark.

Skipped only when pyspark or a Java runtime is missing; CI installs pyspark with the dev extras.
"""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime, timedelta

import polars as pl
import pytest

from churnml.config import FeaturesConfig
from churnml.contract.dataset import Dataset
from churnml.contract.schemas import CLIENT_ID
from churnml.demo.synth import SynthParams, synthetic_chunk
from churnml.features import build_features

pyspark = pytest.importorskip("pyspark")
pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("JAVA_HOME"), reason="no JVM"),
]


def small_dataset(tables: tuple[str, ...] | None = None) -> Dataset:
    """40 generated clients x 8 months; ``tables``: only these tables (None: every one)."""
    chunk = synthetic_chunk(SynthParams(clients=40, months=8, seed=7), 0)
    kept = {name: frame for name, frame in chunk.tables.items() if tables is None or name in tables}
    return Dataset(tables=kept, name="parity", start=datetime(2024, 1, 1), as_of=datetime(2024, 9, 1))


# paid: orders at their payment (contract billing, the default when the label source is unresolved), every
# table; issued: at their invoice's issued_at, paid yet or not (a shop's orders: features.orders_at), which
# only the payment features read: the tables they read, not the minute of Spark planning the others take
@pytest.mark.parametrize(
    ("orders_at", "tables"),
    [("paid", None), ("issued", ("clients", "subscriptions", "payments"))],
)
def test_polars_and_spark_give_the_same_features(spark, orders_at, tables) -> None:
    dataset = small_dataset(tables)
    snapshots = [date(2024, 5, 6) + timedelta(weeks=k) for k in range(0, 12, 4)]
    clients = (
        dataset.tables["clients"].filter(pl.col("created_at") < datetime(2024, 5, 1)).get_column(CLIENT_ID)
    )
    spine = pl.DataFrame({CLIENT_ID: clients}).join(pl.DataFrame({"snapshot": snapshots}), how="cross")

    # two level windows of the default four, the shortest (one week: the shifts by one) and a long one: the same
    # code as for every window, half the columns for Spark to plan (the test took 152-193 s with all four)
    cfg = FeaturesConfig(orders_at=orders_at, windows=(7, 91))
    on_polars = build_features(dataset, spine, cfg.model_copy(update={"engine": "polars"}))
    on_spark = build_features(dataset, spine, cfg.model_copy(update={"engine": "spark"}))

    assert on_spark.columns == on_polars.columns
    assert on_spark.height == on_polars.height == spine.height
    assert on_spark.select(CLIENT_ID, "snapshot").equals(on_polars.select(CLIENT_ID, "snapshot"))
    mismatched = []
    for column in on_polars.columns[2:]:
        a, b = on_polars.get_column(column), on_spark.get_column(column)
        same_nulls = (a.is_null() == b.is_null()).all()
        close = ((a - b).abs() <= 1e-6 * (1 + a.abs())).fill_null(True).all()
        if not (same_nulls and close):
            mismatched.append(column)
    assert not mismatched, f"features differ between engines: {mismatched[:10]}"
    # The comparison means something only if the features are not all empty, the payments' among them.
    payments = [c for c in on_polars.columns if c.startswith("payments_")]
    assert len(payments) > 10 and on_polars.select(payments).null_count().sum_horizontal().item() < (
        on_polars.height * len(payments)
    )
    assert on_polars.select(pl.all().exclude(CLIENT_ID, "snapshot").is_not_null().sum()).row(0) != tuple(
        [0] * (on_polars.width - 2)
    )
