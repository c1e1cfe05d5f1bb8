"""Fixtures for the feature tests (helpers live in feature_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import polars as pl
import pytest
from feature_helpers import features_at, make_dataset, value

from churnml.config import FeaturesConfig
from churnml.contract.schemas import Table


@pytest.fixture
def build() -> Callable[..., pl.DataFrame]:
    """``build(tables, clients, snapshots, cfg=None)`` -> feature frame."""

    def _build(
        tables: dict[Table, Sequence[dict[str, Any]]],
        client_ids: Sequence[str],
        snapshots: Sequence[date],
        cfg: FeaturesConfig | None = None,
    ) -> pl.DataFrame:
        return features_at(make_dataset(tables), client_ids, snapshots, cfg)

    return _build


@pytest.fixture
def at() -> Callable[[pl.DataFrame, str, date, str], float | None]:
    """``at(frame, client, snapshot, feature)`` -> the one value."""
    return value
