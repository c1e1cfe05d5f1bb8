"""What the Spark scoring tests share (tests/test_score_spark.py, tests/test_score_spark_buckets.py,
tests/test_score_spark_portfolio.py): one generated dataset with a small model (built once per test worker by the
``spark_workspace`` fixture of tests/conftest.py), and the configuration of each engine."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from churnml.config import Config, FeaturesConfig, LabelConfig, load_config
from churnml.contract.io import read_dataset
from churnml.contract.schemas import CLIENT_ID
from churnml.contract.validation import CREATED_REPAIR
from churnml.demo.synth import SynthParams, write_synthetic_dataset
from churnml.features import build_features
from churnml.labels import labeled_spine
from churnml.modeling.export import export_model, feature_reference
from churnml.modeling.train import ChurnModel


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
