"""Helpers for the feature tests: typed contract frames from a few dict rows, and a one-call build."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from churnml.config import FeaturesConfig
from churnml.contract.dataset import Dataset
from churnml.contract.schemas import CLIENT_ID, CONTRACT, POLARS_TYPE, Table
from churnml.features import build_features


def contract_frame(table: Table, rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """A frame with every contract column of ``table`` in contract types (absent values null)."""
    schema = {c.name: POLARS_TYPE[c.kind] for c in CONTRACT[table].columns}
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


def random_tables(seed: int, start: datetime, end: datetime, n_clients: int = 6, scale: int = 1) -> dict:
    """A small random dataset (every table), all timestamps in [start, end), contract-typed frames."""
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = [f"c{i}" for i in range(n_clients)]
    span = int((end - start).total_seconds())

    def ts(k: int) -> list[datetime]:
        return [start + timedelta(seconds=int(x)) for x in rng.integers(0, span, k)]

    def pick(options: Sequence[Any], k: int, null_share: float = 0.0) -> list[Any]:
        out = [options[i] for i in rng.integers(0, len(options), k)]
        return [None if rng.random() < null_share else v for v in out]

    k = 60 * scale
    created = [start - timedelta(days=int(d)) for d in rng.integers(-120, 200, n_clients)]
    tables: dict[Table, list[dict[str, Any]]] = {
        Table.CLIENTS: [{"client_id": c, "created_at": t} for c, t in zip(ids, created, strict=True)],
    }
    tables[Table.EVENTS] = [
        {"client_id": c, "ts": t, "event": e, "user_id": u, "value": float(v)}
        for c, t, e, u, v in zip(
            pick(ids, 8 * k),
            ts(8 * k),
            pick(["login", "report_view", "data_export", "edit"], 8 * k),
            pick(["u1", "u2", "u3"], 8 * k, 0.1),
            rng.integers(0, 100, 8 * k),
            strict=True,
        )
    ]
    issued = ts(k)
    tables[Table.PAYMENTS] = [
        {
            "client_id": c,
            "amount": float(a),
            "issued_at": i,
            "due_at": i + timedelta(days=int(d)),
            "paid_at": None if rng.random() < 0.15 else i + timedelta(days=int(p)),
            "status": s,
        }
        for c, a, i, d, p, s in zip(
            pick(ids, k),
            rng.integers(-50, 500, k),
            issued,
            rng.integers(0, 30, k),
            rng.integers(0, 60, k),
            pick(["paid", "failed", "refunded", "open"], k, 0.3),
            strict=True,
        )
    ]
    starts = ts(k // 2)
    tables[Table.SUBSCRIPTIONS] = [
        {
            "client_id": c,
            "start_date": s0,
            "end_date": s0 + timedelta(days=int(d)),
            "mrr": float(m),
            "quantity": float(q),
            "is_addon": bool(a),
            "discount": None if rng.random() < 0.5 else 0.1,
        }
        for c, s0, d, m, q, a in zip(
            pick(ids, k // 2),
            starts,
            rng.integers(1, 200, k // 2),
            rng.integers(0, 300, k // 2),
            rng.integers(1, 20, k // 2),
            rng.random(k // 2) < 0.3,
            strict=True,
        )
    ]
    tables[Table.COMMUNICATIONS] = [
        {
            "client_id": c,
            "ts": t,
            "channel": ch,
            "direction": d,
            "outcome": o,
            "response_hours": float(h),
            "words": float(w),
            "sentiment": float(s),
        }
        for c, t, ch, d, o, h, w, s in zip(
            pick(ids, 2 * k),
            ts(2 * k),
            pick(["email", "call", "meeting", "chat", "other"], 2 * k),
            pick(["in", "out"], 2 * k),
            pick(["replied", "no_reply", "held", "rescheduled", "cancelled", "no_show"], 2 * k, 0.2),
            rng.integers(0, 72, 2 * k),
            rng.integers(0, 300, 2 * k),
            rng.uniform(-1, 1, 2 * k),
            strict=True,
        )
    ]
    opened = ts(k)
    tables[Table.TICKETS] = [
        {
            "client_id": c,
            "opened_at": o,
            "closed_at": None if rng.random() < 0.2 else o + timedelta(days=int(d)),
            "kind": kd,
            "csat": None if rng.random() < 0.4 else float(cs),
        }
        for c, o, d, kd, cs in zip(
            pick(ids, k),
            opened,
            rng.integers(0, 20, k),
            pick(["question", "bug", "complaint", "discount_request", "cancellation_request"], k, 0.1),
            rng.integers(1, 6, k),
            strict=True,
        )
    ]
    tables[Table.SIGNALS] = [
        {"client_id": c, "ts": t, "signal": s}
        for c, t, s in zip(
            pick(ids, k // 3), ts(k // 3), pick(["champion_left", "layoffs", "x"], k // 3), strict=True
        )
    ]
    return {t: contract_frame(t, rows) for t, rows in tables.items()}


def dataset_of(frames: dict, start: datetime, as_of: datetime) -> Dataset:
    return Dataset(dict(frames), "random", start, as_of)
