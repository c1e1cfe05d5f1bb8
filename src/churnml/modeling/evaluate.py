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
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from churnml.modeling.backtest import as_dates

__all__ = [
    "METRICS",
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
    """One row per predicted-probability decile: bin, n, mean_predicted, observed_rate."""
    y, p = _arrays(y, p)
    ranks = pd.Series(p).rank(method="first").to_numpy()
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
