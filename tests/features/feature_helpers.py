"""Helpers for the feature tests: typed contract frames from a few dict rows, and a one-call build."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import polars as pl

from churnml.config import FeaturesConfig
from churnml.dataset import Dataset
from churnml.features import build_features
from churnml.schemas import CLIENT_ID, CONTRACT, Kind, Table

_POLARS = {
    Kind.STR: pl.String,
    Kind.DATETIME: pl.Datetime("us"),
    Kind.FLOAT: pl.Float64,
    Kind.INT: pl.Int64,
    Kind.BOOL: pl.Boolean,
}


def contract_frame(table: Table, rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """A frame with every contract column of ``table`` in contract types (absent values null)."""
    schema = {c.name: _POLARS[c.kind] for c in CONTRACT[table].columns}
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema, orient="row")


def make_dataset(tables: dict[Table, Sequence[dict[str, Any]]]) -> Dataset:
    frames = {t: contract_frame(t, rows) for t, rows in tables.items() if rows}
    stamps = [v for t, rows in tables.items() for r in rows for v in r.values() if isinstance(v, datetime)]
    return Dataset(frames, "t", min(stamps), max(stamps))


def spine(client_ids: Sequence[str], snapshots: Sequence[date]) -> pl.DataFrame:
    return pl.DataFrame(
        [(c, s) for s in snapshots for c in client_ids],
        schema={CLIENT_ID: pl.String, "snapshot": pl.Date},
        orient="row",
    )


def features_at(
    dataset: Dataset, client_ids: Sequence[str], snapshots: Sequence[date], cfg: FeaturesConfig | None = None
) -> pl.DataFrame:
    return build_features(dataset, spine(client_ids, snapshots), cfg or FeaturesConfig())


def value(frame: pl.DataFrame, client: str, snapshot: date, feature: str) -> float | None:
    row = frame.filter((pl.col(CLIENT_ID) == client) & (pl.col("snapshot") == snapshot))
    assert row.height == 1, f"expected one row for {client} at {snapshot}, got {row.height}"
    return row.get_column(feature)[0]
