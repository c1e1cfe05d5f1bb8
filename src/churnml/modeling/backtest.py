"""The rolling-origin out-of-time backtest, sized to the data.

Grain of the input: one row per client x snapshot with a known label. Rows are assigned to folds by
snapshot date only (never by random rows): a client's weekly rows are strongly correlated.

The picture (``gap`` = ``horizon_days`` + the label lag, e.g. ``grace_days`` for subscriptions: the
label of a snapshot ``s`` is known at ``s + gap``)::

    first labeled snapshot                                              last labeled snapshot
    |--- fold 1 train ---|-- gap --|-- test 1 --|-- test 2 --| ... |-- test K --|
    |------------- fold 2 train --------|-- gap --|-- test 2 --|
    ...

- The test windows are the last ``K * test_days`` days of labeled snapshots, ``test_days`` each, in
  time order; fold ``k`` tests on window ``k``.
- Fold ``k`` trains on every snapshot ``s`` with ``s + gap <= test_start``: each training label is
  known before the fold's test window opens (a purged gap), so nothing of the test window leaks.
- ``K`` = ``train.folds`` at most, fewer when the labeled span is short: a fold needs
  ``min_train_days`` of training snapshots before its gap. ``test_days`` (``null`` = sized from the
  data) is the span left after ``min_train_days`` and the gap, split over the folds, in whole weeks
  between 14 and 91 days; when that leaves fewer than 14 days per fold, one fold takes what is left
  (whole weeks, at least one weekly snapshot: a thin estimate, said as such). With less than a week left there is no fold: :attr:`BacktestPlan.days_short`
  says how many more days of data would give one.
- Inside a fold's training rows, :func:`holdout_clients` holds out a share of *clients* (not rows) for
  early stopping and the fold's calibration, with churning clients (of the training rows only) on both
  sides.

:func:`backtest_plan` returns the plan; every consumer (``train``, ``tune``, ``bench models``) uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from churnml.config import TrainConfig

__all__ = [
    "BacktestPlan",
    "Fold",
    "as_dates",
    "backtest_plan",
    "client_parts",
    "holdout_clients",
    "longest_horizon_with_a_fold",
]

_MIN_TEST_DAYS = 14
_MAX_TEST_DAYS = 91


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
class Fold:
    """One backtest fold: trains on ``snapshot < train_end``, tests on ``test_start ..= test_end``."""

    number: int  # 1 = oldest
    train_start: date
    train_end: date  # exclusive: snapshot + gap <= test_start
    test_start: date
    test_end: date  # inclusive

    def masks(self, snapshots: Any) -> tuple[np.ndarray, np.ndarray]:
        """Boolean (train, test) masks over the rows' snapshot dates."""
        s = as_dates(snapshots)
        train = s < _d(self.train_end)
        test = (s >= _d(self.test_start)) & (s <= _d(self.test_end))
        return train, test

    def describe(self) -> str:
        return (
            f"fold {self.number}: train {self.train_start} .. <{self.train_end}, "
            f"test {self.test_start} .. {self.test_end}"
        )


@dataclass(frozen=True)
class BacktestPlan:
    """The folds of a labeled table, oldest first, and what the data allowed."""

    folds: tuple[Fold, ...]
    first: date | None  # first labeled snapshot (None: no labeled snapshot at all)
    last: date | None  # last labeled snapshot
    gap_days: int
    test_days: int
    days_short: int  # 0 with at least one fold; else more days of data that would give one

    @property
    def has_folds(self) -> bool:
        return bool(self.folds)

    def summary(self) -> str:
        """One line: the folds, or why there is no out-of-time estimate yet."""
        if not self.folds:
            span = (
                "no labeled snapshot"
                if self.first is None
                else f"labeled snapshots {self.first} .. {self.last}"
            )
            return (
                f"no out-of-time estimate yet ({span}; a fold needs {self.gap_days} days of label gap "
                f"after its training snapshots): about {_days(self.days_short)} of data would give one"
            )
        thin = (
            "; a thin estimate (fewer than 14 days of test snapshots): more history gives more folds"
            if len(self.folds) * self.test_days < _MIN_TEST_DAYS
            else ""
        )
        return (
            f"{len(self.folds)} out-of-time fold(s) of {self.test_days} days, test "
            f"{self.folds[0].test_start} .. {self.folds[-1].test_end}, gap {self.gap_days} days{thin}"
        )

    def describe(self) -> dict[str, str]:
        """The fold boundaries as strings (for MLflow params and the model card)."""
        out = {"gap_days": str(self.gap_days), "test_days": str(self.test_days)}
        for f in self.folds:
            out[f"fold_{f.number}"] = (
                f"train {f.train_start}..<{f.train_end} test {f.test_start}..{f.test_end}"
            )
        return out


def _days(n: int) -> str:
    """``n`` more days, said plainly ("1 more day", "40 more days")."""
    return f"{n} more day" if n == 1 else f"{n} more days"


def _test_days(available: int, folds: int, fixed: int | None) -> int:
    if fixed is not None:
        return fixed
    per_fold = (available // folds) // 7 * 7
    if per_fold >= _MIN_TEST_DAYS:
        return min(per_fold, _MAX_TEST_DAYS)
    # short data: one fold that takes what is left (at least one weekly snapshot)
    return max(7, min(available // 7 * 7, _MAX_TEST_DAYS))


def backtest_plan(snapshots: Any, cfg: TrainConfig, horizon_days: int, lag_days: int = 0) -> BacktestPlan:
    """The folds for labeled snapshot dates ``snapshots`` (repeats allowed; module docstring)."""
    gap = horizon_days + lag_days
    s = as_dates(snapshots)
    s = s[~np.isnat(s)]
    if s.size == 0:
        return BacktestPlan((), None, None, gap, cfg.test_days or 0, cfg.min_train_days + gap + 7)
    first, last = s.min().astype(date), s.max().astype(date)
    # the earliest test start leaving min_train_days of training snapshots before the gap
    earliest = first + timedelta(days=cfg.min_train_days + gap)
    available = (last - earliest).days + 1
    if available < 7:  # the days short of a first fold: of its test window (train.test_days, else a week)
        return BacktestPlan((), first, last, gap, cfg.test_days or 0, (cfg.test_days or 7) - available)
    test_days = _test_days(available, cfg.folds, cfg.test_days)
    n = min(cfg.folds, max(available // test_days, 0))
    if n == 0:
        return BacktestPlan((), first, last, gap, test_days, test_days - available)
    folds = []
    for k in range(n):
        test_end = last - timedelta(days=(n - 1 - k) * test_days)
        test_start = test_end - timedelta(days=test_days - 1)
        train_end = test_start - timedelta(days=gap - 1)  # exclusive: s + gap <= test_start
        folds.append(Fold(k + 1, first, train_end, test_start, test_end))
    return BacktestPlan(tuple(folds), first, last, gap, test_days, 0)


def longest_horizon_with_a_fold(
    snapshots: Any, known_until: date, lag_days: int, cfg: TrainConfig, below: int
) -> int | None:
    """The longest ``label.horizon_days`` under ``below`` (at least 7) whose labeled snapshots give this
    data a backtest fold now, None when none does. ``snapshots``: every snapshot date of the data; a
    snapshot ``s`` is labeled with horizon ``h`` when ``s + h + lag_days <= known_until`` (the data's
    end), and the fold is :func:`backtest_plan`'s: a shorter horizon labels more snapshots and shortens
    the gap, both of which bring the first fold closer."""
    s = as_dates(snapshots)
    end = _d(known_until)
    for h in range(below - 1, 6, -1):
        labeled = s[s + np.timedelta64(h + lag_days, "D") <= end]
        if labeled.size and backtest_plan(labeled, cfg, h, lag_days).has_folds:
            return h
    return None


def holdout_clients(
    client_ids: Any, share: float, seed: int, labels: Any = None, counted: Any = None
) -> np.ndarray:
    """Boolean mask over the rows: True for rows whose client is held out.

    About ``share`` of the clients are held out, every row of a client on the same side: those whose
    hash of the client id and ``seed`` falls in the first ``share`` of the hash range (deterministic: the
    same clients in every fold and every run).

    With ``labels`` (0/1 per row; ``counted`` = the rows whose labels may be read, e.g. a fold's training
    rows; default all) the churning clients of the counted rows are checked: when the draw holds out
    fewer than half of ``round(share * n)`` of the ``n`` churning clients (at least one when there are
    two), the churning clients of lowest hash are added up to ``round(share * n)``; when it holds out all
    of them, those of highest hash go back. On a CRM of a few hundred accounts a plain 20% draw often
    held out no churner at all, and early stopping and calibration had nothing to learn from; on larger
    portfolios the draw is left as it is.
    """
    codes, uniques, hashed = _hashed_clients(client_ids, seed)
    held = (hashed % 10_000) < round(share * 10_000)
    if labels is not None:
        churned = _churning_clients(codes, uniques.size, labels, counted)
        held = _with_churners_held(held, churned, hashed, uniques, share)
    return held[codes]


def _hashed_clients(client_ids: Any, seed: int) -> tuple[np.ndarray, Any, np.ndarray]:
    """(client code per row, the distinct ids, the hash of each id and ``seed``): the deterministic draw
    behind :func:`holdout_clients` and :func:`client_parts`."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(client_ids)).astype(str), sort=False)
    hashed = pd.util.hash_pandas_object(
        pd.Series(uniques), index=False, hash_key=f"churnml-{seed % 10**8:08d}"
    ).to_numpy()
    return codes, uniques, hashed


def _churning_clients(codes: np.ndarray, n_clients: int, labels: Any, counted: Any = None) -> np.ndarray:
    """One flag per client: a label 1 on any of its rows among ``counted`` (default: every row)."""
    mask = np.ones(codes.size, dtype=bool) if counted is None else np.asarray(counted, dtype=bool)
    churned = np.zeros(n_clients, dtype=bool)
    churned[codes[(np.nan_to_num(np.asarray(labels, dtype=float)) > 0) & mask]] = True
    return churned


def _by_hash(members: np.ndarray, hashed: np.ndarray, ids: Any) -> np.ndarray:
    """``members`` (client positions) ordered by hash, ties by id."""
    return members[np.lexsort((ids[members], hashed[members]))]


def _with_churners_held(
    held: np.ndarray, churned: np.ndarray, hashed: np.ndarray, ids: np.ndarray, share: float
) -> np.ndarray:
    """``held`` (one flag per client) with the churning clients topped up or given back (see
    :func:`holdout_clients`); a new array."""
    members = np.flatnonzero(churned)
    n = members.size
    want = min(max(round(share * n), 1 if n >= 2 else 0), max(n - 1, 0))
    have = int(held[members].sum())
    if want <= have * 2 and (have < n or n < 2):
        return held
    order = _by_hash(members, hashed, ids)
    out = held.copy()
    out[order] = False
    out[order[:want]] = True
    return out


def client_parts(client_ids: Any, parts: int, seed: int, labels: Any) -> np.ndarray:
    """Part number (``0 .. parts - 1``) per row, every row of a client in the same part: the parts of a
    cross-fitted model (:func:`churnml.modeling.experiment.cross_fitted_model`).

    Clients are ordered by the hash of their id and ``seed`` (as :func:`holdout_clients`); the churning
    clients (any row with label 1) are dealt out first, one to each part in turn, then the others, so
    every part holds ``n // parts`` or ``n // parts + 1`` of the ``n`` churning clients, and the parts'
    sizes in clients differ by one at most.
    A plain draw by hash left a part without a churner on a CRM of a few hundred accounts.
    """
    codes, uniques, hashed = _hashed_clients(client_ids, seed)
    churned = _churning_clients(codes, uniques.size, labels)
    part = np.empty(uniques.size, dtype=np.int64)
    dealt = 0  # the others continue the round where the churners stopped: parts differ by one client at most
    for group in (np.flatnonzero(churned), np.flatnonzero(~churned)):
        order = _by_hash(group, hashed, uniques)
        part[order] = (dealt + np.arange(order.size)) % parts
        dealt += order.size
    return part[codes]
