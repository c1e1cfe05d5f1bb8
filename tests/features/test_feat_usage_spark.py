"""Usage features of pre-aggregated events (``count``) and of events without user ids: the same on Spark."""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime, timedelta

import pytest
from feature_helpers import make_dataset, spine

from churnml.config import FeaturesConfig
from churnml.contract.schemas import Table
from churnml.features import build_features

pytest.importorskip("pyspark")
pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("JAVA_HOME"), reason="no JVM"),
]


def _events(with_users: bool) -> list[dict]:
    """Daily aggregates of client a (counts, empty counts, a kind at 0 from day 61), a user-level client u,
    and f's exports every week."""
    rows: list[dict] = []
    for d in range(120):
        t = datetime(2024, 1, 1) + timedelta(days=d)
        rows += [
            {"client_id": "a", "ts": t, "event": "login", "count": 10 - d // 15},
            {"client_id": "a", "ts": t, "event": "report_view", "count": (d % 3) or None},
            {"client_id": "a", "ts": t, "event": "edit", "count": 0 if d > 60 else 2},
        ]
        if with_users and d % 2:
            rows.append({"client_id": "u", "ts": t, "event": "login", "user_id": f"u{d % 5}"})
        if d % 7 == 0:
            rows.append({"client_id": "f", "ts": t, "event": "data_export", "count": 3})
    return rows


@pytest.mark.parametrize("with_users", [True, False])
def test_counts_and_unknown_users_are_the_same_on_spark(spark, with_users: bool) -> None:
    clients = ["a", "u", "f", "q"]
    dataset = make_dataset(
        {
            Table.CLIENTS: [{"client_id": c, "created_at": datetime(2023, 12, 1)} for c in clients],
            Table.EVENTS: _events(with_users),
            Table.SUBSCRIPTIONS: [
                {"client_id": c, "start_date": datetime(2023, 12, 1), "end_date": datetime(2025, 1, 1),
                 "mrr": 5.0, "quantity": 3}
                for c in clients
            ],
        }
    )  # fmt: skip
    grid = spine(clients, [date(2024, 3, 4) + timedelta(weeks=k) for k in range(0, 9, 2)])
    # the shortest window and the one asserted below, of the default four: half the columns for Spark to plan
    cfg = FeaturesConfig(windows=(7, 28))
    on_polars = build_features(dataset, grid, cfg.model_copy(update={"engine": "polars"}))
    on_spark = build_features(dataset, grid, cfg.model_copy(update={"engine": "spark"}))
    assert on_spark.columns == on_polars.columns
    usage = [c for c in on_polars.columns if c.startswith("usage_")]
    for column in usage:
        a, b = on_polars.get_column(column), on_spark.get_column(column)
        assert (a.is_null() == b.is_null()).all(), column
        assert ((a - b).abs() <= 1e-6 * (1 + a.abs())).fill_null(True).all(), column
    last = on_polars.filter(on_polars["snapshot"] == date(2024, 4, 29)).sort("client_id")
    # a: the last 28 days (2024-04-01 to 04-28) hold 14 days of 4 logins and 14 of 3: 98, not 28 rows
    assert last["usage_logins_28d"].to_list() == [98, 0, 0, 14 if with_users else 0]
    assert last["usage_active_users_28d"].to_list() == ([None, None, 0, 5] if with_users else [None] * 4)
