"""Test-period metrics of churn probabilities (or risk scores).

Inputs are aligned arrays over the test rows (one row per client x snapshot): ``y`` (0/1 churns within
the horizon), ``p`` (predicted probability, or any risk score where only the ranking metrics make
sense), and for :func:`metrics_by_month` the snapshot dates.

- ranking: ``pr_auc`` (average precision), ``roc_auc``, ``lift_5``/``recall_5`` and
  ``lift_10``/``recall_10`` (the top 5% / 10% by risk; ties share the places evenly, so a coarse score
  is neither helped nor hurt by the order of its ties);
- probability quality: ``brier``, ``log_loss``, ``ece`` (expected calibration error over deciles);
- counts: ``n``, ``positives``, ``base_rate``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from churnml.modeling.backtest import as_dates

__all__ = [
    "METRICS",
    "PairedDraws",
    "binary_metrics",
    "calibration_table",
    "gain_curve",
    "lift_at",
    "metrics_by_month",
    "recall_at",
]

METRICS = (
    "pr_auc",
    "roc_auc",
    "lift_5",
    "recall_5",
    "lift_10",
    "recall_10",
    "brier",
    "log_loss",
    "ece",
    "base_rate",
    "positives",
    "n",
)


def _arrays(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float).ravel()
    p = np.asarray(p, dtype=float).ravel()
    if y.shape != p.shape:
        raise ValueError(f"labels ({y.size}) and predictions ({p.size}) differ in length")
    if np.isnan(p).any():
        raise ValueError(f"{int(np.isnan(p).sum())} predictions are missing")
    return y, p


def _expected_positives_in_top(y: np.ndarray, p: np.ndarray, k: int) -> float:
    """Positives among the top ``k`` by ``p``, averaged over all orders of the tied scores at the cut."""
    if k <= 0:
        return 0.0
    order = np.sort(p)[::-1]
    cut = order[k - 1]
    above = p > cut
    tied = p == cut
    n_above = int(above.sum())
    return float(y[above].sum() + (k - n_above) * y[tied].mean())


def recall_at(y: Any, p: Any, share: float) -> float:
    """Share of all churners found in the top ``share`` of rows by risk."""
    y, p = _arrays(y, p)
    if y.sum() == 0:
        return float("nan")
    k = max(1, math.ceil(share * y.size))
    return _expected_positives_in_top(y, p, k) / float(y.sum())


def lift_at(y: Any, p: Any, share: float) -> float:
    """Churn rate in the top ``share`` of rows by risk, divided by the overall churn rate."""
    y, p = _arrays(y, p)
    if y.sum() == 0:
        return float("nan")
    k = max(1, math.ceil(share * y.size))
    return (_expected_positives_in_top(y, p, k) / k) / float(y.mean())


def calibration_table(y: Any, p: Any, bins: int = 10) -> pd.DataFrame:
    """One row per predicted-probability decile: bin, n, mean_predicted, observed_rate.

    Rows of the same probability share a bin (placed by their mean rank): a coarse score (the rules: a few
    values) has fewer bins, never a value split over several by the order of its rows. Split by row order, a
    constant 0.1 at a churn rate of 0.1 (one client's ten churn rows listed together) read an ECE of 0.18, 0.04
    once the rows were shuffled."""
    y, p = _arrays(y, p)
    ranks = pd.Series(p).rank(method="average").to_numpy()
    decile = np.minimum((ranks - 1) * bins // max(p.size, 1), bins - 1).astype(int)
    frame = pd.DataFrame({"bin": decile + 1, "y": y, "p": p})
    out = frame.groupby("bin", as_index=False).agg(
        n=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean")
    )
    return out


def _ece(y: np.ndarray, p: np.ndarray) -> float:
    table = calibration_table(y, p)
    return float((table["n"] * (table["mean_predicted"] - table["observed_rate"]).abs()).sum() / y.size)


def binary_metrics(y: Any, p: Any, probabilities: bool = True) -> dict[str, float]:
    """All metrics of the module docstring; with ``probabilities=False`` (a raw score) brier, log_loss
    and ece are NaN. One class only: the AUCs are NaN."""
    y, p = _arrays(y, p)
    both = 0 < y.sum() < y.size
    out = {
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "lift_5": lift_at(y, p, 0.05),
        "recall_5": recall_at(y, p, 0.05),
        "lift_10": lift_at(y, p, 0.10),
        "recall_10": recall_at(y, p, 0.10),
        "brier": float("nan"),
        "log_loss": float("nan"),
        "ece": float("nan"),
        "base_rate": float(y.mean()) if y.size else float("nan"),
        "positives": float(y.sum()),
        "n": float(y.size),
    }
    if probabilities:
        if (p < 0).any() or (p > 1).any():
            raise ValueError("probabilities must lie in [0, 1]; pass probabilities=False for a raw score")
        out["brier"] = float(brier_score_loss(y, p))
        out["log_loss"] = float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1]))
        out["ece"] = _ece(y, p)
    return out


def metrics_by_month(y: Any, p: Any, snapshots: Any, probabilities: bool = True) -> pd.DataFrame:
    """One row per calendar month of the snapshot dates: month (YYYY-MM) and :func:`binary_metrics`."""
    y, p = _arrays(y, p)
    months = pd.Series(as_dates(snapshots).astype("datetime64[M]").astype(str))
    rows = []
    for month in sorted(months.unique()):
        m = (months == month).to_numpy()
        rows.append({"month": month, **binary_metrics(y[m], p[m], probabilities)})
    return pd.DataFrame(rows)


def gain_curve(y: Any, p: Any, points: int = 100) -> pd.DataFrame:
    """Cumulative gain and lift: share of rows contacted (by risk) vs share of churners found."""
    y, p = _arrays(y, p)
    shares = np.linspace(0, 1, points + 1)[1:]
    total = max(float(y.sum()), 1.0)
    found = [_expected_positives_in_top(y, p, max(1, math.ceil(s * y.size))) / total for s in shares]
    gain = np.asarray(found)
    return pd.DataFrame({"share_contacted": shares, "share_churners_found": gain, "lift": gain / shares})


class PairedDraws:
    """PR-AUC and Brier of several methods on the same test rows, recomputed on bootstrap draws that
    resample *clients* (a client's weekly rows together: they are not independent), every method on the
    same draw, so the draws of a difference between two methods are paired.

    ``y`` (0/1), ``clients`` (one id per row) and ``scores`` (method -> probability per row) are aligned
    over the test rows of one cutoff. Draw 0 is the rows as they are; draws 1..``n_draws`` are
    bootstrap draws (client counts from a seeded multinomial, used as row weights). :meth:`pr_auc` and
    :meth:`brier` return one value per draw (``n_draws + 1``); the PR-AUC is average precision with
    weights, the definition of scikit-learn's ``average_precision_score(..., sample_weight=...)``.
    Draws are evaluated :data:`_DRAW_CELLS` row-weights at a time, which bounds the memory.
    """

    def __init__(
        self, y: Any, clients: Any, scores: dict[str, Any], n_draws: int = 200, seed: int = 0
    ) -> None:
        self.y = np.asarray(y, dtype=float)
        self.scores = {k: np.asarray(v, dtype=float) for k, v in scores.items()}
        _, self.client_of_row = np.unique(np.asarray(clients), return_inverse=True)
        n_clients = int(self.client_of_row.max()) + 1 if self.client_of_row.size else 0
        rng = np.random.default_rng(seed)
        draws = [
            np.bincount(rng.integers(0, n_clients, n_clients), minlength=n_clients) for _ in range(n_draws)
        ]
        self.client_counts = np.stack([np.ones(n_clients, dtype=np.int64), *draws]).astype(float)

    def _weights(self) -> Iterator[np.ndarray]:
        """Row weights of the draws, a block of draws at a time (draws x rows)."""
        step = max(1, _DRAW_CELLS // max(1, self.y.size))
        for start in range(0, len(self.client_counts), step):
            yield self.client_counts[start : start + step][:, self.client_of_row]

    def pr_auc(self, method: str) -> np.ndarray:
        """Weighted average precision of ``method`` on every draw (NaN where a draw has no churner)."""
        p = self.scores[method]
        order = np.argsort(-p, kind="stable")
        last_of_tie = np.r_[p[order][1:] != p[order][:-1], True]
        y = self.y[order]
        out = []
        for w in self._weights():
            w = w[:, order]
            tp = np.cumsum(w * y, axis=1)[:, last_of_tie]
            seen = np.cumsum(w, axis=1)[:, last_of_tie]
            total = tp[:, -1:]
            precision = np.divide(tp, seen, out=np.zeros_like(tp), where=seen > 0)
            recall = np.divide(tp, total, out=np.zeros_like(tp), where=total > 0)
            ap = (np.diff(recall, axis=1, prepend=0.0) * precision).sum(axis=1)
            out.append(np.where(total[:, 0] > 0, ap, np.nan))
        return np.concatenate(out)

    def brier(self, method: str) -> np.ndarray:
        """Weighted Brier score of ``method`` on every draw."""
        err = (self.scores[method] - self.y) ** 2
        return np.concatenate([(w * err).sum(axis=1) / w.sum(axis=1) for w in self._weights()])


# PairedDraws holds at most this many row weights at once (draws x rows, float64: 160 MB)
_DRAW_CELLS = 20_000_000
