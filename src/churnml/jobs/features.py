"""The ``churnml features`` job: the point-in-time feature table (every weekly snapshot, or one) as
Parquet. One row per client x snapshot: client_id, snapshot, every feature (data strictly before the
snapshot)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from churnml.config import Config
from churnml.jobs.common import UserError, config_for, data_folder

__all__ = ["feature_table", "steps"]


def steps() -> tuple[str, ...]:
    """The steps of :func:`feature_table`, in order (for a progress bar)."""
    from churnml.features.build import PROGRESS_STEPS

    return ("read", "spine", *PROGRESS_STEPS, "write")


def feature_table(
    data: Path | None,
    cfg: Config,
    out: Path,
    snapshot: date | None,
    done: Callable[[str], None] | None = None,
) -> Any:
    """Build and write the feature table to ``out``; ``done(step)`` after each of :func:`steps` (reading,
    the spine, each family, the write); returns the table (pl.DataFrame)."""
    from churnml.contract.io import read_dataset, write_parquet_atomic
    from churnml.features import build_features
    from churnml.labels import active_spine, snapshot_grid
    from churnml.scoring.outputs import MARKER, MARKER_KEY, checked_output_file

    tick = done or (lambda _step: None)
    folder = data_folder(data, cfg)
    checked_output_file(out, folder)
    cfg = config_for(folder, cfg)
    dataset = read_dataset(folder, cfg.data)
    tick("read")
    try:
        snapshots = (
            [snapshot] if snapshot is not None else snapshot_grid(cfg.snapshots, dataset.start, dataset.as_of)
        )
        spine = active_spine(dataset, snapshots, cfg.label)
        if spine.height == 0:
            raise UserError(f"no client is active at the snapshot(s) {snapshots[0]} .. {snapshots[-1]}")
        tick("spine")
        table = build_features(
            dataset,
            spine,
            cfg.features,
            progress=tick,
            mailing_share=cfg.rules.mailing_share,
            mailing_min_clients=cfg.rules.mailing_min_clients,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    write_parquet_atomic(table, out, {MARKER_KEY: MARKER})
    tick("write")
    return table
