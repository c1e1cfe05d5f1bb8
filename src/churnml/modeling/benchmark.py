"""Models against the usual methods: several out-of-time cutoffs, every method on the same test rows.

Input grain: the labeled feature table (one row per client x snapshot: ``client_id``, ``snapshot``,
``label``, float features; see :func:`churnml.pipeline.labeled_feature_table`) and a purchase log
(one row per purchase: ``client_id``, ``ts``, ``amount`` > 0; :func:`purchases`).

Cutoffs (:func:`cutoff_windows`): the last ``n`` periods of ``train.test_days`` of labeled snapshots
are test periods. For a cutoff ``c`` (the first day of its test period) every method learns only from
rows whose label is known before ``c`` (``snapshot + horizon + label lag <= c``) and from data before
``c``; the rows are split train / gap / valid / calib like :mod:`churnml.modeling.split`. Methods:

- ``churnml``: :class:`ChurnModel` from ``cfg`` (fixed parameters, no tuning), calibrated;
- ``no_order_90d``: the seed rule "no order / activity for 90 days" (every available recency column);
- ``health_rules``: the seeds' rule-based health score (number of rules firing);
- ``rfm_logistic``: logistic regression on recency, frequency and monetary value from purchases;
- ``bg_nbd``: 1 - P(alive) of a BG/NBD model fitted on the customers' purchase histories before ``c``
  (Gamma-Gamma spend is fitted alongside; its parameters go into the notes, it does not rank);
- ``bg_nbd_no_purchase``: the same model's P(no purchase within the horizon) (dead, or alive but silent);
- ``oracle``: with generated data, the true probability from the truth hazard (not calibrated).

Every method but the oracle is calibrated on the same calibration slice as the model (isotonic or
Platt, as ``train.calibration`` says), so Brier scores compare like with like.

Output (:class:`BenchmarkResult`): ``scores``, one row per cutoff x method with ``cutoff``, ``method``,
``pr_auc``, ``roc_auc``, ``lift_10``, ``recall_10``, ``brier``, ``fit_s``, ``score_s``, ``n``,
``positives``; and ``predictions``, one row per cutoff x test row with the label and every method's
probability (the same rows for every method, by construction).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from churnml.config import TrainConfig
from churnml.dataset import Dataset
from churnml.modeling.baselines import RULES, LogisticBaseline, rule_flags, rule_risk_score
from churnml.modeling.btyd import BetaGeoModel, GammaGammaModel, fit_bgnbd_pymc, purchase_summary
from churnml.modeling.evaluate import binary_metrics
from churnml.modeling.experiment import LABEL, SNAPSHOT, _calibrated, _logit, feature_columns
from churnml.modeling.split import Split, as_dates
from churnml.modeling.train import model_from_config
from churnml.schemas import CLIENT_ID, Payments, Table

__all__ = [
    "BENCH_METRICS",
    "METHODS",
    "BenchmarkResult",
    "benchmark_markdown",
    "benchmark_models",
    "cutoff_split",
    "cutoff_windows",
    "mean_scores",
    "purchases",
]

METHODS = (
    "churnml",
    "no_order_90d",
    "health_rules",
    "rfm_logistic",
    "bg_nbd",
    "bg_nbd_no_purchase",
    "oracle",
)
BENCH_METRICS = ("pr_auc", "roc_auc", "lift_10", "recall_10", "brier", "fit_s", "score_s")
RFM_COLUMNS = ("recency_days", "log_orders", "log_monetary")
_RECENCY_RULES = tuple(r for r in RULES if r.name in ("no_activity_90d", "no_order_90d"))


@dataclass
class BenchmarkResult:
    """Per-cutoff scores, the test predictions and notes (see the module docstring)."""

    scores: pd.DataFrame
    predictions: pd.DataFrame
    splits: dict[date, Split]
    notes: list[str] = field(default_factory=list)


def purchases(dataset: Dataset) -> pl.DataFrame:
    """One row per purchase: paid payments with a positive amount (``client_id``, ``ts``, ``amount``)."""
    pay = dataset.get(Table.PAYMENTS)
    if pay is None:
        return pl.DataFrame(
            {CLIENT_ID: [], "ts": [], "amount": []},
            schema={CLIENT_ID: pl.String, "ts": pl.Datetime("us"), "amount": pl.Float64},
        )
    return pay.filter(pl.col(Payments.PAID_AT).is_not_null() & (pl.col(Payments.AMOUNT) > 0)).select(
        pl.col(CLIENT_ID).cast(pl.String),
        pl.col(Payments.PAID_AT).alias("ts"),
        pl.col(Payments.AMOUNT).cast(pl.Float64).alias("amount"),
    )


def cutoff_windows(snapshots: Any, test_days: int, n: int) -> list[tuple[date, date]]:
    """``n`` test periods ``(first, last)`` of ``test_days`` ending at the last snapshot, oldest first."""
    s = as_dates(snapshots)
    last = s.max().astype(date)
    out = []
    for k in reversed(range(n)):
        end = last - timedelta(days=k * test_days)
        out.append((end - timedelta(days=test_days - 1), end))
    return out


def cutoff_split(
    first: date, cutoff: date, test_end: date, cfg: TrainConfig, horizon_days: int, lag_days: int
) -> Split:
    """The out-of-time split for one cutoff: every train / valid / calib label is known before ``cutoff``."""
    h = timedelta(days=horizon_days)
    calib_end = cutoff - h - timedelta(days=lag_days - 1)  # exclusive: snapshot + h + lag <= cutoff
    valid_start = calib_end - timedelta(days=cfg.valid_days)
    calib_start = valid_start + timedelta(days=max(1, round(cfg.valid_days * (1 - cfg.calibration_share))))
    return Split(horizon_days, first, valid_start - h, valid_start, calib_start, calib_end, cutoff, test_end)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def _rfm(summary: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "recency_days": summary["days_since_order"].to_numpy(dtype=float, na_value=np.nan),
            "log_orders": np.log1p(summary["orders"].to_numpy(dtype=float)),
            "log_monetary": np.log1p(
                np.clip(summary["monetary"].to_numpy(dtype=float, na_value=np.nan), 0, None)
            ),
        },
        index=summary.index,
    )


def _fold(
    labeled: pd.DataFrame,
    features: list[str],
    summary: pd.DataFrame,
    buyers: pl.DataFrame,
    split: Split,
    cfg: TrainConfig,
    oracle: Callable[[pd.DataFrame], np.ndarray] | None,
    notes: list[str],
    btyd: str,
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    parts = split.part_of(labeled[SNAPSHOT])
    idx = {p: np.flatnonzero(parts == p) for p in ("train", "valid", "calib", "test")}
    y = labeled[LABEL].to_numpy(dtype=float).astype(int)
    for p, i in idx.items():
        if y[i].sum() == 0:
            raise ValueError(f"cutoff {split.test_start}: no churner in the {p} period ({split.describe()})")
    X = labeled[features]
    tr, va, ca, te = idx["train"], idx["valid"], idx["calib"], idx["test"]
    y_ca, y_te = y[ca], y[te]
    preds: dict[str, np.ndarray] = {}
    times: dict[str, tuple[float, float]] = {}

    model, fit_s = _timed(
        lambda: model_from_config(cfg).fit(X.iloc[tr], y[tr], X.iloc[va], y[va], X.iloc[ca], y_ca)
    )
    preds["churnml"], score_s = _timed(lambda: model.churn_probability(X.iloc[te]))
    times["churnml"] = (fit_s, score_s)

    def calibrated(
        score: Callable[[np.ndarray], np.ndarray], fit_s: float
    ) -> tuple[np.ndarray, tuple[float, float]]:
        t0 = time.perf_counter()
        s_ca = score(ca)
        cal_s = time.perf_counter() - t0
        s_te, score_s = _timed(lambda: score(te))
        p, c_s = _timed(lambda: _calibrated(s_ca, y_ca, s_te, cfg))
        return p, (fit_s + cal_s + c_s, score_s)

    recency = rule_flags(X.iloc[:0], _RECENCY_RULES)
    if recency.shape[1]:
        preds["no_order_90d"], times["no_order_90d"] = calibrated(
            lambda i: rule_flags(X.iloc[i], _RECENCY_RULES).min(axis=1).to_numpy(dtype=float), 0.0
        )
    else:
        notes.append("no_order_90d: no recency feature column; method skipped")
    if rule_risk_score(X.iloc[:1])[1]:
        preds["health_rules"], times["health_rules"] = calibrated(
            lambda i: rule_risk_score(X.iloc[i])[0], 0.0
        )

    rfm = _rfm(summary)
    logistic, fit_s = _timed(lambda: LogisticBaseline(C=cfg.logistic_c).fit(rfm.iloc[tr], y[tr]))
    preds["rfm_logistic"], times["rfm_logistic"] = calibrated(
        lambda i: _logit(logistic.churn_probability(rfm.iloc[i])), fit_s
    )

    def fit_btyd() -> tuple[BetaGeoModel, GammaGammaModel | None]:
        at_cutoff = purchase_summary(
            buyers,
            buyers.select(CLIENT_ID)
            .unique()
            .sort(CLIENT_ID)
            .with_columns(pl.lit(split.test_start).alias(SNAPSHOT)),
        ).filter(pl.col("orders") > 0)
        fit = fit_bgnbd_pymc if btyd == "pymc-marketing" else BetaGeoModel().fit
        bg = fit(at_cutoff["x"], at_cutoff["t_x"], at_cutoff["T"])
        try:
            gg: GammaGammaModel | None = GammaGammaModel().fit(at_cutoff["x"], at_cutoff["repeat_monetary"])
        except ValueError:
            gg = None
        return bg, gg

    if buyers.height:
        (bg, gg), fit_s = _timed(fit_btyd)
        s = summary

        def not_alive(i: np.ndarray) -> np.ndarray:
            return 1.0 - bg.probability_alive(s["x"].iloc[i], s["t_x"].iloc[i], s["T"].iloc[i])

        def silent(i: np.ndarray) -> np.ndarray:
            weeks = split.horizon_days / 7
            return bg.probability_no_purchase(s["x"].iloc[i], s["t_x"].iloc[i], s["T"].iloc[i], weeks)

        preds["bg_nbd"], times["bg_nbd"] = calibrated(not_alive, fit_s)
        preds["bg_nbd_no_purchase"], times["bg_nbd_no_purchase"] = calibrated(silent, fit_s)
        gg_txt = ", ".join(f"{k}={v:.3g}" for k, v in gg.params_.items()) if gg else "not fitted"
        notes.append(
            f"cutoff {split.test_start}: BG/NBD ({btyd}) "
            + ", ".join(f"{k}={v:.3g}" for k, v in bg.params_.items())
            + f"; Gamma-Gamma {gg_txt}"
        )
    else:
        notes.append("bg_nbd: no purchases in the data; method skipped")

    rows = labeled.iloc[te][[CLIENT_ID, SNAPSHOT]].reset_index(drop=True)
    if oracle is not None:
        p, score_s = _timed(lambda: np.asarray(oracle(rows), dtype=float))
        if np.isnan(p).mean() > 0.01:
            notes.append(f"cutoff {split.test_start}: oracle unknown for most test rows; skipped")
        else:
            preds["oracle"], times["oracle"] = np.nan_to_num(p), (0.0, score_s)

    out = []
    for name in METHODS:
        if name not in preds:
            continue
        m = binary_metrics(y_te, preds[name])
        out.append(
            {
                "cutoff": split.test_start,
                "method": name,
                **{k: m[k] for k in BENCH_METRICS[:5]},
                "fit_s": times[name][0],
                "score_s": times[name][1],
                "n": len(te),
                "positives": int(y_te.sum()),
            }
        )
    return out, rows.assign(cutoff=split.test_start, **{LABEL: y_te}, **preds)


def benchmark_models(
    table: pd.DataFrame,
    purchase_log: pl.DataFrame,
    cfg: TrainConfig,
    horizon_days: int,
    lag_days: int = 0,
    n_cutoffs: int = 4,
    oracle: Callable[[pd.DataFrame], np.ndarray] | None = None,
    progress: Callable[[str], None] | None = None,
    btyd: str = "own",
) -> BenchmarkResult:
    """Every method at every cutoff on the same test rows (module docstring).

    ``btyd``: ``own`` (the maximum-likelihood BG/NBD of :mod:`churnml.modeling.btyd`) or
    ``pymc-marketing`` (its MAP fit; needs the ``bench`` extra).
    """
    if btyd not in ("own", "pymc-marketing"):
        raise ValueError(f"btyd must be own or pymc-marketing, not {btyd!r}")
    say = progress or (lambda _msg: None)
    labeled = table[table[LABEL].notna()].reset_index(drop=True)
    features = feature_columns(labeled)
    if not len(labeled) or not features:
        raise ValueError("the labeled table has no labeled rows or no numeric feature columns")
    snaps = as_dates(labeled[SNAPSHOT])
    spine = pl.from_pandas(labeled[[CLIENT_ID, SNAPSHOT]]).with_columns(pl.col(SNAPSHOT).cast(pl.Date))
    summary = purchase_summary(purchase_log, spine).to_pandas()
    first = snaps.min().astype(date)
    notes: list[str] = []
    scores: list[dict[str, Any]] = []
    predictions = []
    splits = {}
    for k, (start, end) in enumerate(cutoff_windows(snaps, cfg.test_days, n_cutoffs), 1):
        split = cutoff_split(first, start, end, cfg, horizon_days, lag_days)
        if split.train_end <= first:
            fits = sum(
                cutoff_split(first, c, e, cfg, horizon_days, lag_days).train_end > first
                for c, e in cutoff_windows(snaps, cfg.test_days, n_cutoffs)
            )
            raise ValueError(
                f"cutoff {start} (test {start} .. {end}) leaves no training period: the labeled snapshots "
                f"start {first}; {fits} of {n_cutoffs} cutoffs of {cfg.test_days} days fit. Use --cutoffs "
                f"{fits}, a smaller train.test_days, or longer data"
            )
        splits[start] = split
        say(f"cutoff {k}/{n_cutoffs}: test {start} .. {end}")
        buyers = purchase_log.filter(pl.col("ts") < pl.lit(start).cast(pl.Datetime("us")))
        rows, preds = _fold(labeled, features, summary, buyers, split, cfg, oracle, notes, btyd)
        scores.extend(rows)
        predictions.append(preds)
    return BenchmarkResult(pd.DataFrame(scores), pd.concat(predictions, ignore_index=True), splits, notes)


def mean_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean of each metric over the cutoffs, one row per method (in :data:`METHODS` order)."""
    mean = scores.groupby("method")[list(BENCH_METRICS)].mean()
    return mean.loc[[m for m in METHODS if m in mean.index]]


def benchmark_markdown(result: BenchmarkResult, title: str, command: str) -> str:
    """A markdown subsection: the command, one table per cutoff x method and the mean over cutoffs."""
    cols = list(BENCH_METRICS)
    head = "| cutoff | method | " + " | ".join(cols) + " |\n|---|---|" + "---:|" * len(cols) + "\n"
    lines = [f"### {title}\n", "```\n" + command + "\n```\n", head.rstrip("\n")]
    s = result.scores
    for _, row in s.iterrows():
        lines.append(
            f"| {row['cutoff']} | {row['method']} | " + " | ".join(_fmt(row[c], c) for c in cols) + " |"
        )
    for method, row in mean_scores(s).iterrows():
        lines.append(f"| **mean** | {method} | " + " | ".join(_fmt(row[c], c) for c in cols) + " |")
    counts = s.drop_duplicates("cutoff")
    lines.append("")
    lines.append(
        "Test rows per cutoff (all methods score exactly these rows): "
        + "; ".join(
            f"{r['cutoff']}: {int(r['n']):,} rows, {int(r['positives']):,} churners"
            for _, r in counts.iterrows()
        )
        + "."
    )
    return "\n".join(lines) + "\n"


def _fmt(value: float, col: str) -> str:
    if value != value:  # NaN
        return "-"
    return f"{value:.2f}" if col.endswith("_s") else f"{value:.3f}"
