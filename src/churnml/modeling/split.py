"""Out-of-time splits of a labeled snapshot table, by snapshot date (never by random client rows).

Grain of the input: one row per client x snapshot with a known label. Every client appears in many
snapshots, so rows are assigned to a period by their snapshot date only; one client's rows can sit in
train and in test, but never with overlapping label windows.

The scheme (``h`` = ``horizon_days``; a row's label looks at the days ``(snapshot, snapshot + h]``)::

    first labeled snapshot                                                     last labeled snapshot
    |---- train ----|-- gap h --|-- valid --|-- calib --|-- gap h --|------------ test ------------|
                    ^train_end  ^valid_start ^calib_start ^calib_end ^test_start                   ^test_end

- test: the last ``test_days`` of labeled snapshots, ``test_start <= snapshot <= test_end``; touched once.
- calib: ``calib_start <= snapshot < calib_end`` with ``calib_end = test_start - h`` so that every
  calibration (and validation) label ends strictly before the test starts.
- valid: ``valid_start <= snapshot < calib_start``; the ``valid_days`` before ``calib_end`` are valid +
  calib, and the last ``calibration_share`` of them calibrate. Valid drives early stopping only.
- train: ``snapshot < train_end`` with ``train_end = valid_start - h``: every training label ends
  strictly before the validation period starts.

Rolling-origin folds for tuning (:func:`rolling_origin_folds`) use only snapshots before
``calib_end`` (the test period is never seen by tuning): fold ``k`` validates on ``valid_days`` that end
``k * fold_step_days`` before ``calib_end`` and trains on snapshots ending ``h`` before that window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from churnml.config import TrainConfig

__all__ = [
    "PARTS",
    "Fold",
    "Split",
    "SplitError",
    "as_dates",
    "days_needed",
    "out_of_time_split",
    "rolling_origin_folds",
]

PARTS = ("train", "valid", "calib", "test")


class SplitError(ValueError):
    """The data is too short (or too sparse) for the out-of-time scheme; the message says how many days."""


def as_dates(snapshots: Any) -> np.ndarray:
    """Snapshot dates (``date``, ``datetime``, numpy, pandas or polars) as a ``datetime64[D]`` array."""
    if hasattr(snapshots, "to_numpy") and not isinstance(snapshots, np.ndarray):
        snapshots = snapshots.to_numpy()
    arr = np.asarray(snapshots)
    if arr.dtype == object:
        arr = pd.to_datetime(pd.Series(arr)).to_numpy()
    return arr.astype("datetime64[D]")


def _d(value: date) -> np.datetime64:
    return np.datetime64(value, "D")


@dataclass(frozen=True)
class Split:
    """Date boundaries of one out-of-time split (see the module docstring for the picture)."""

    horizon_days: int
    train_start: date
    train_end: date  # exclusive
    valid_start: date
    calib_start: date
    calib_end: date  # exclusive
    test_start: date
    test_end: date  # inclusive (the last labeled snapshot)

    def part_of(self, snapshots: Any) -> np.ndarray:
        """Per row: ``train``, ``valid``, ``calib``, ``test`` or ``gap`` (rows used by nothing)."""
        s = as_dates(snapshots)
        out = np.full(s.shape, "gap", dtype=object)
        out[s < _d(self.train_end)] = "train"
        out[(s >= _d(self.valid_start)) & (s < _d(self.calib_start))] = "valid"
        out[(s >= _d(self.calib_start)) & (s < _d(self.calib_end))] = "calib"
        out[(s >= _d(self.test_start)) & (s <= _d(self.test_end))] = "test"
        return out

    def mask(self, snapshots: Any, part: str) -> np.ndarray:
        """Boolean mask of the rows of one part."""
        if part not in PARTS:
            raise ValueError(f"unknown part {part!r}; expected one of {PARTS}")
        return self.part_of(snapshots) == part

    def describe(self) -> dict[str, str]:
        """The boundaries as ISO strings (for MLflow params and the metadata JSON)."""
        return {
            "horizon_days": str(self.horizon_days),
            "train": f"{self.train_start} .. <{self.train_end}",
            "valid": f"{self.valid_start} .. <{self.calib_start}",
            "calib": f"{self.calib_start} .. <{self.calib_end}",
            "test": f"{self.test_start} .. {self.test_end}",
        }


@dataclass(frozen=True)
class Fold:
    """One rolling-origin tuning fold.

    Trains on ``snapshot < train_end``, validates on ``valid_start <= snapshot < valid_end``.
    """

    train_end: date
    valid_start: date
    valid_end: date

    def masks(self, snapshots: Any) -> tuple[np.ndarray, np.ndarray]:
        s = as_dates(snapshots)
        train = s < _d(self.train_end)
        valid = (s >= _d(self.valid_start)) & (s < _d(self.valid_end))
        return train, valid


def _bounds(snapshots: Any, need: int) -> tuple[date, date]:
    s = as_dates(snapshots)
    s = s[~np.isnat(s)]
    if s.size == 0:
        raise SplitError(
            "no labeled snapshots (a snapshot gets a label only once its horizon has passed): the "
            f"out-of-time split needs {need} days of labeled snapshots; use longer data"
        )
    return s.min().astype(date), s.max().astype(date)


def days_needed(cfg: TrainConfig, horizon_days: int) -> int:
    """Days of labeled snapshots the scheme needs: train + gap + valid/calib + gap + test."""
    return cfg.min_train_days + horizon_days + cfg.valid_days + horizon_days + cfg.test_days


def out_of_time_split(snapshots: Sequence[date] | Any, cfg: TrainConfig, horizon_days: int) -> Split:
    """The out-of-time split of labeled snapshot dates (module docstring has the scheme).

    ``snapshots`` are the snapshot dates of the labeled rows (repeats allowed). Raises
    :class:`SplitError` when the labeled span is shorter than the scheme needs, saying how many days
    are needed and how many there are.
    """
    need = days_needed(cfg, horizon_days)
    first, last = _bounds(snapshots, need)
    span = (last - first).days + 1
    if span < need:
        raise SplitError(
            f"labeled snapshots span {span} days ({first} .. {last}) but the out-of-time split needs "
            f"{need}: min_train_days {cfg.min_train_days} + gap {horizon_days} + valid_days {cfg.valid_days} "
            f"+ gap {horizon_days} + test_days {cfg.test_days}. Use longer data or smaller "
            "train.test_days / train.valid_days / label.horizon_days."
        )
    h = timedelta(days=horizon_days)
    test_start = last - timedelta(days=cfg.test_days - 1)
    calib_end = test_start - h
    valid_start = calib_end - timedelta(days=cfg.valid_days)
    valid_len = max(1, round(cfg.valid_days * (1 - cfg.calibration_share)))
    calib_start = valid_start + timedelta(days=valid_len)
    train_end = valid_start - h
    split = Split(horizon_days, first, train_end, valid_start, calib_start, calib_end, test_start, last)
    parts = set(split.part_of(snapshots))
    missing = [p for p in PARTS if p not in parts]
    if missing:
        raise SplitError(
            f"the out-of-time split {split.describe()} leaves no snapshot in {', '.join(missing)}: "
            "snapshots are too sparse for valid_days / calibration_share"
        )
    return split


def rolling_origin_folds(
    snapshots: Sequence[date] | Any, cfg: TrainConfig, horizon_days: int, n_folds: int, step_days: int
) -> list[Fold]:
    """Rolling-origin folds inside the pre-test period, oldest first (module docstring has the scheme).

    The test period of :func:`out_of_time_split` is never part of any fold.
    """
    split = out_of_time_split(snapshots, cfg, horizon_days)
    s = as_dates(snapshots)
    h = timedelta(days=horizon_days)
    folds = []
    for k in reversed(range(n_folds)):
        valid_end = split.calib_end - timedelta(days=k * step_days)
        valid_start = valid_end - timedelta(days=cfg.valid_days)
        train_end = valid_start - h
        if (train_end - split.train_start).days < cfg.min_train_days:
            need = days_needed(cfg, horizon_days) + (n_folds - 1) * step_days
            raise SplitError(
                f"{n_folds} tuning folds stepping {step_days} days need {need} days of labeled snapshots; "
                f"there are {(split.test_end - split.train_start).days + 1}. Use fewer tune.folds or a "
                "smaller tune.fold_step_days."
            )
        fold = Fold(train_end, valid_start, valid_end)
        tr, va = fold.masks(s)
        if not tr.any() or not va.any():
            raise SplitError(f"tuning fold {fold} has no training or no validation snapshot")
        folds.append(fold)
    return folds
