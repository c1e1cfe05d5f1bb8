"""The weekly list's columns and dtypes are defined once and checked when the list is written."""

from __future__ import annotations

import json

import polars as pl
import pytest

from churnml.scoring.columns import SCHEMA, ListSchemaError, checked_schema, schema_problems
from churnml.scoring.outputs import parquet_bytes, write_scores_atomically

MARKED = json.dumps({"written_by": "churnml"}).encode()


def _a_list(**replaced: pl.DataType) -> pl.DataFrame:
    """An empty list with every fixed column, one family health, one driver and one rule."""
    columns = {
        **SCHEMA,
        "health_usage": pl.Float64(),
        **{f"driver_1_{p}": pl.String() for p in ("feature", "family", "direction", "sentence")},
        "driver_1_contribution": pl.Float64(),
        "rule_no_activity": pl.Boolean(),
    }
    return pl.DataFrame(schema={**columns, **replaced})


def test_a_list_with_the_defined_columns_passes_and_the_clients_own_columns_are_optional():
    assert schema_problems(_a_list().schema) == []
    assert schema_problems(_a_list().drop("name", "owner", "segment").schema) == []


def test_a_wrong_dtype_is_named_with_both_types():
    assert schema_problems(_a_list(arr=pl.String()).schema) == ["column 'arr' is String, expected Float64"]
    assert schema_problems(_a_list(rule_no_activity=pl.Int64()).schema) == [
        "column 'rule_no_activity' is Int64, expected Boolean"
    ]


def test_a_missing_or_unknown_column_is_named():
    assert schema_problems(_a_list().drop("zone").schema) == ["column 'zone' is missing (String expected)"]
    assert schema_problems(_a_list(score=pl.Float64()).schema) == ["column 'score' is not a scores column"]


def test_the_history_has_its_own_schema():
    history = pl.DataFrame(
        schema={
            "client_id": pl.String,
            "snapshot": pl.Date,
            "churn_probability": pl.Float64,
            "health_score": pl.Float64,
        }
    )
    assert schema_problems(history.schema, "history") == []
    with pytest.raises(ListSchemaError, match="history: column 'snapshot' is Datetime"):
        checked_schema(history.with_columns(pl.col("snapshot").cast(pl.Datetime("us"))).schema, "history")


def test_a_list_with_a_wrong_dtype_is_refused_before_anything_is_written(tmp_path):
    folder = tmp_path / "2024-06-03"
    bad = parquet_bytes(_a_list(churn_probability=pl.String()))
    with pytest.raises(
        ListSchemaError, match="scores: column 'churn_probability' is String, expected Float64"
    ):
        write_scores_atomically(folder, {"scores.parquet": bad, "manifest.json": MARKED})
    assert not folder.exists() and list(tmp_path.iterdir()) == []
    assert write_scores_atomically(
        folder, {"scores.parquet": parquet_bytes(_a_list()), "manifest.json": MARKED}
    )
    assert (folder / "scores.parquet").is_file()
