"""What every job shares: the error a user can fix, a wall-time step timer, the input folder."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from churnml.config import Config, with_label_source
from churnml.contract.schemas import Table

__all__ = [
    "Timer",
    "UserError",
    "config_for",
    "config_of",
    "config_with_tables",
    "data_folder",
    "with_data_folder",
]


class UserError(Exception):
    """A failure the user can fix; the CLI prints it as one line, exit code 1."""


class Timer:
    """Wall time of named steps, for manifests and the final summary line."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t0 = time.perf_counter()

    def step(self, name: str) -> Callable[[], None]:
        start = time.perf_counter()

        def done() -> None:
            self.seconds[name] = round(time.perf_counter() - start, 3)

        return done

    def total(self) -> float:
        return round(time.perf_counter() - self._t0, 3)


def data_folder(data: Path | None, cfg: Config) -> Path:
    """The input dataset folder: ``--data``, else ``paths.data``."""
    return data if data is not None else cfg.paths.data


def with_data_folder(cfg: Config, folder: Path) -> Config:
    """``cfg`` whose ``paths.data`` is the folder the job reads (``--data``), so that what a run records
    (MLflow's ``config.paths.data``, the config hash) names the data it learned from."""
    if folder == cfg.paths.data:
        return cfg
    return cfg.model_copy(update={"paths": cfg.paths.model_copy(update={"data": folder})})


def config_with_tables(cfg: Config, tables: Iterable[Table]) -> Config:
    """``cfg`` for a dataset of ``tables``: ``label.source: auto`` decided by them
    (:func:`churnml.labels.auto_label_source`); else ``cfg`` itself."""
    if cfg.label.source != "auto":
        return cfg
    from churnml.labels import auto_label_source

    return with_label_source(cfg, auto_label_source(tables)[0])


def config_of(dataset: Any, cfg: Config) -> Config:
    """:func:`config_with_tables` of a dataset read already (its ``tables`` only read for ``auto``)."""
    return cfg if cfg.label.source != "auto" else config_with_tables(cfg, dataset.tables)


def config_for(folder: Path, cfg: Config) -> Config:
    """:func:`config_with_tables` of the tables the dataset folder holds, before anything reads them
    (``cfg`` unchanged when there is no such folder: reading it says so, in its turn)."""
    from churnml.contract.io import dataset_files

    if cfg.label.source != "auto" or not Path(folder).is_dir():
        return cfg
    return config_with_tables(cfg, dataset_files(folder))
