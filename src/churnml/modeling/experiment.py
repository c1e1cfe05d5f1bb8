"""One honest training run: out-of-time split, the LightGBM model and the baselines on the same test rows.

Input grain: the labeled feature table, one row per client x snapshot with ``client_id``,
``snapshot``, ``label`` (null = not yet known; such rows are left out and counted) and float feature
columns (any other non-numeric column, e.g. ``churned_at``, is ignored).

:func:`train_and_compare` returns a :class:`TrainingResult`: the fitted :class:`ChurnModel`, the split,
row counts per part, one metrics row per contender (``model``, ``rules``, ``logistic``, ``oracle``),
per-month metrics, calibration tables, gain curves and the test predictions. Every contender that
outputs a score is calibrated on the same calibration slice as the model, so Brier scores compare
like with like.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churnml.config import TrainConfig
from churnml.modeling.baselines import LogisticBaseline, rule_risk_score
from churnml.modeling.evaluate import binary_metrics, calibration_table, gain_curve, metrics_by_month
from churnml.modeling.split import PARTS, Split, out_of_time_split
from churnml.modeling.train import ChurnModel, ScoreCalibrator, model_from_config
from churnml.schemas import CLIENT_ID, LABEL, SNAPSHOT

__all__ = [
    "CONTENDERS",
    "LABEL",
    "SNAPSHOT",
    "TrainingResult",
    "comparison_markdown",
    "feature_columns",
    "train_and_compare",
]

CONTENDERS = ("model", "logistic", "rules", "oracle")
_KEYS = {CLIENT_ID, SNAPSHOT, LABEL}


def feature_columns(table: pd.DataFrame) -> list[str]:
    """The numeric feature columns of a labeled table (keys, label and non-numeric columns excluded)."""
    return [str(c) for c in table.columns if c not in _KEYS and pd.api.types.is_numeric_dtype(table[c])]


@dataclass
class TrainingResult:
    """Everything one training run produced (see the module docstring)."""

    model: ChurnModel
    split: Split
    features: list[str]
    rows: dict[str, int]
    positives: dict[str, int]
    unlabeled_rows: int
    metrics: pd.DataFrame
    monthly: dict[str, pd.DataFrame]
    calibration: dict[str, pd.DataFrame]
    gains: dict[str, pd.DataFrame]
    test_predictions: pd.DataFrame
    rules_used: list[str]
    X_train_sample: pd.DataFrame
    X_test: pd.DataFrame
    y_test: np.ndarray
    notes: list[str] = field(default_factory=list)


def _calibrated(
    score_calib: np.ndarray, y_calib: np.ndarray, score_test: np.ndarray, cfg: TrainConfig
) -> Any:
    method = cfg.calibration
    if method == "auto":
        method = "isotonic" if y_calib.sum() >= cfg.min_isotonic_positives else "sigmoid"
    return ScoreCalibrator(method).fit(score_calib, y_calib).predict(score_test)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def train_and_compare(
    table: pd.DataFrame,
    cfg: TrainConfig,
    horizon_days: int,
    tuned: Mapping[str, Any] | None = None,
    oracle: Callable[[pd.DataFrame], np.ndarray] | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainingResult:
    """Split out of time, train the model and the baselines, evaluate all of them on the test rows.

    ``oracle(rows)`` (optional) returns the true churn probability of each (client_id, snapshot) row.
    """
    say = progress or (lambda _msg: None)
    for col in (CLIENT_ID, SNAPSHOT, LABEL):
        if col not in table.columns:
            raise ValueError(
                f"the labeled table lacks column '{col}' (columns: {list(table.columns)[:8]} ...)"
            )
    labeled = table[table[LABEL].notna()].reset_index(drop=True)
    unlabeled = len(table) - len(labeled)
    features = feature_columns(labeled)
    if not features:
        raise ValueError("the labeled table has no numeric feature columns")
    split = out_of_time_split(labeled[SNAPSHOT], cfg, horizon_days)
    parts = split.part_of(labeled[SNAPSHOT])
    y_all = labeled[LABEL].to_numpy(dtype=float).astype(int)
    X_all = labeled[features]
    idx = {p: np.flatnonzero(parts == p) for p in PARTS}
    rows = {p: int(i.size) for p, i in idx.items()} | {"gap": int((parts == "gap").sum())}
    positives = {p: int(y_all[i].sum()) for p, i in idx.items()}
    for p in ("train", "valid", "calib", "test"):
        if positives[p] == 0:
            raise ValueError(
                f"no churner in the {p} period ({split.describe()[p]}); "
                "the data is too short or churn too rare"
            )

    def part(p: str) -> tuple[pd.DataFrame, np.ndarray]:
        return X_all.iloc[idx[p]], y_all[idx[p]]

    (X_tr, y_tr), (X_va, y_va), (X_ca, y_ca), (X_te, y_te) = (part(p) for p in PARTS)
    say(f"training LightGBM on {len(y_tr):,} rows ({len(features)} features)")
    model = model_from_config(cfg, tuned).fit(X_tr, y_tr, X_va, y_va, X_ca, y_ca)

    preds: dict[str, np.ndarray] = {"model": model.churn_probability(X_te)}
    say("training the logistic-regression baseline")
    logistic = LogisticBaseline(C=cfg.logistic_c).fit(X_tr, y_tr)
    preds["logistic"] = _calibrated(
        _logit(logistic.churn_probability(X_ca)), y_ca, _logit(logistic.churn_probability(X_te)), cfg
    )
    rules_calib, rules_used = rule_risk_score(X_ca)
    rules_test, _ = rule_risk_score(X_te)
    notes = []
    if rules_used:
        preds["rules"] = _calibrated(rules_calib, y_ca, rules_test, cfg)
    else:
        notes.append("rules: no rule could be evaluated (none of their feature columns exist)")
    test_rows = labeled.iloc[idx["test"]][[CLIENT_ID, SNAPSHOT]].reset_index(drop=True)
    if oracle is not None:
        oracle_p = np.asarray(oracle(test_rows), dtype=float)
        unknown = float(np.isnan(oracle_p).mean())
        if unknown > 0.01:
            notes.append(
                f"oracle: the truth knows only {1 - unknown:.0%} of the test rows' clients "
                "(truth of another dataset?); row skipped"
            )
        else:
            if unknown > 0:
                notes.append(
                    f"oracle: {int(np.isnan(oracle_p).sum())} test rows without a true hazard set to 0"
                )
            preds["oracle"] = np.nan_to_num(oracle_p)

    say("evaluating on the test period")
    snaps = test_rows[SNAPSHOT]
    metrics = pd.DataFrame({name: binary_metrics(y_te, p) for name, p in preds.items()}).T
    metrics.index.name = "contender"
    monthly = {name: metrics_by_month(y_te, p, snaps) for name, p in preds.items()}
    calibration = {name: calibration_table(y_te, p) for name, p in preds.items()}
    gains = {name: gain_curve(y_te, p) for name, p in preds.items()}
    predictions = test_rows.assign(**{LABEL: y_te}, **{name: p for name, p in preds.items()})
    sample = X_tr.sample(n=min(len(X_tr), 20_000), random_state=cfg.seed) if len(X_tr) else X_tr
    return TrainingResult(
        model=model,
        split=split,
        features=features,
        rows=rows,
        positives=positives,
        unlabeled_rows=unlabeled,
        metrics=metrics,
        monthly=monthly,
        calibration=calibration,
        gains=gains,
        test_predictions=predictions,
        rules_used=rules_used,
        X_train_sample=sample,
        X_test=X_te.reset_index(drop=True),
        y_test=y_te,
        notes=notes,
    )


def comparison_markdown(metrics: pd.DataFrame, columns: tuple[str, ...] | None = None) -> str:
    """The contenders x metrics table as GitHub markdown (no extra dependency)."""
    cols = list(columns or [c for c in metrics.columns if c not in ("positives", "n", "base_rate")])
    lines = ["| contender | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for name, row in metrics.iterrows():
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.4f}" for c in cols) + " |")
    return "\n".join(lines) + "\n"
