"""churnml against the usual methods, on the same backtest as ``churnml train``: every method on the same rows.

Input grain: the labeled feature table (one row per client x snapshot: ``client_id``, ``snapshot``,
``label``, float features; see :func:`churnml.pipeline.labeled_feature_table`) and a purchase log
(one row per purchase: ``client_id``, ``ts``, ``amount`` > 0; :func:`purchases`).

The folds are the backtest of :mod:`churnml.modeling.backtest` (``train.folds`` / ``train.test_days``,
or ``--folds`` / ``--test-days``): a fold's cutoff is the first day of its test window, and every
method learns only from rows whose label is known before it (and, for BG/NBD, from purchases before
it). Each fold's training rows are split by client into the fitting clients and the held-out clients
(early stopping and calibration), the same for every method. Methods
(:func:`benchmark_contenders`):

- ``churnml``: the :class:`ChurnModel` of ``churnml train`` (fixed parameters, no tuning), calibrated;
- ``no_order_90d``: the seed rule "no order / activity for 90 days" (every available recency column);
- ``health_rules``: the seeds' rule-based health score (number of rules firing);
- ``rfm_logistic``: logistic regression on recency, frequency and monetary value from purchases;
- ``logistic``: logistic regression on churnml's own features;
- ``bg_nbd``: 1 - P(alive) of a BG/NBD model fitted on the customers' purchase histories before the
  cutoff (Gamma-Gamma spend is fitted alongside; its parameters go into the notes, it does not rank);
- ``bg_nbd_no_purchase``: the same model's P(no purchase within the horizon) (dead, or alive but silent);
- ``oracle``: with generated data, the true probability from the truth hazard (not calibrated);
- ``oracle_now``: the same with each client's latent decline frozen at the snapshot
  (:func:`churnml.demo.synth.nowcast_probability`): what exact knowledge of the present state gives
  without the decline's future path, a ceiling nearer to what a model can aim at.

Every method but the oracle is calibrated on the same held-out clients' rows (isotonic or Platt, as
``train.calibration`` says), so Brier scores compare like with like.

Output (:class:`BenchmarkResult`): ``scores``, one row per cutoff x method with ``cutoff``, ``method``,
``pr_auc``, ``roc_auc``, ``lift_10``, ``recall_10``, ``brier``, ``fit_s``, ``score_s``, ``n``,
``positives``; ``predictions``, one row per test row of every fold with the label and every
method's probability (the same rows for every method, by construction); and ``comparison``
(:func:`paired_comparison`), churnml against the best other method at each cutoff with the 90% interval
of the difference over bootstrap draws of the clients, so a gap within the noise reads as a tie.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from churnml.config import TrainConfig
from churnml.contract.dataset import Dataset
from churnml.contract.schemas import CLIENT_ID, LABEL, Payments, Table
from churnml.modeling.backtest import BacktestPlan, backtest_plan
from churnml.modeling.baselines import (
    RULES,
    LogisticBaseline,
    Rule,
    recency_rules,
    rule_flags,
    rule_risk_score,
)
from churnml.modeling.btyd import BetaGeoModel, GammaGammaModel, fit_bgnbd_pymc, purchase_summary
from churnml.modeling.evaluate import PairedDraws
from churnml.modeling.experiment import (
    FOLD,
    SNAPSHOT,
    Backtest,
    Contender,
    FoldRows,
    _logit,
    calibrated_on_holdout,
    decided_for_table,
    feature_columns,
    labeled_rows,
    logistic_contender,
    model_contender,
    oracle_contender,
    rules_contender,
    run_backtest,
)

__all__ = [
    "BENCH_METRICS",
    "METHODS",
    "BenchmarkResult",
    "backtest_evidence",
    "benchmark_contenders",
    "benchmark_markdown",
    "benchmark_models",
    "comparison_cells",
    "mean_scores",
    "paired_comparison",
    "purchases",
]

METHODS = (
    "churnml",
    "no_order_90d",
    "health_rules",
    "rfm_logistic",
    "logistic",
    "bg_nbd",
    "bg_nbd_no_purchase",
    "oracle",
    "oracle_now",
)
BENCH_METRICS = ("pr_auc", "roc_auc", "lift_10", "recall_10", "brier", "fit_s", "score_s")
RFM_COLUMNS = ("recency_days", "log_orders", "log_monetary")
_RECENCY_RULES = recency_rules(90)  # the issue's "90-day rule", whatever rules.no_activity_days says


@dataclass
class BenchmarkResult:
    """Per-cutoff scores, the test predictions, notes and churnml's paired comparison with the best
    other method at each cutoff (:func:`paired_comparison`; see the module docstring)."""

    scores: pd.DataFrame
    predictions: pd.DataFrame
    plan: BacktestPlan
    notes: list[str] = field(default_factory=list)
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)


def purchases(dataset: Dataset) -> pl.DataFrame:
    """One row per purchase (``client_id``, ``ts``, ``amount``): the orders of the payments table
    (:func:`churnml.labels.orders`: placed, a positive amount, not a failed attempt nor a refund), at the time
    it was placed (:func:`churnml.labels.order_placed_at`: an invoice on credit terms when issued), what RFM
    and BG/NBD count, as the labels do."""
    from churnml.labels import order_placed_at, orders

    pay = dataset.get(Table.PAYMENTS)
    if pay is None:
        return pl.DataFrame(
            {CLIENT_ID: [], "ts": [], "amount": []},
            schema={CLIENT_ID: pl.String, "ts": pl.Datetime("us"), "amount": pl.Float64},
        )
    return orders(pay).select(
        pl.col(CLIENT_ID).cast(pl.String),
        order_placed_at(pay.columns).alias("ts"),
        pl.col(Payments.AMOUNT).cast(pl.Float64).alias("amount"),
    )


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


def _scored(
    name: str, cfg: TrainConfig, score: Callable[[FoldRows], Callable[[np.ndarray], np.ndarray]]
) -> Contender:
    """A contender from ``score(rows) -> (row positions -> raw score)``, calibrated on the held-out clients."""

    def predict(t: pd.DataFrame, _X: pd.DataFrame, y: np.ndarray, rows: FoldRows) -> tuple[np.ndarray, dict]:
        return calibrated_on_holdout(score(rows), y, rows, cfg, t[CLIENT_ID].to_numpy()), {}

    return Contender(name, predict)


def _btyd_contenders(
    summary: pd.DataFrame,
    purchase_log: pl.DataFrame,
    cfg: TrainConfig,
    horizon_days: int,
    btyd: str,
    notes: list[str],
) -> list[Contender]:
    fitted: dict[date, BetaGeoModel] = {}

    def model_at(cutoff: date) -> BetaGeoModel:
        if cutoff not in fitted:
            buyers = purchase_log.filter(pl.col("ts") < pl.lit(cutoff).cast(pl.Datetime("us")))
            at_cutoff = purchase_summary(
                buyers,
                buyers.select(CLIENT_ID)
                .unique()
                .sort(CLIENT_ID)
                .with_columns(pl.lit(cutoff).alias(SNAPSHOT)),
            ).filter(pl.col("orders") > 0)
            fit = fit_bgnbd_pymc if btyd == "pymc-marketing" else BetaGeoModel().fit
            fitted[cutoff] = bg = fit(at_cutoff["x"], at_cutoff["t_x"], at_cutoff["T"])
            try:
                gg: GammaGammaModel | None = GammaGammaModel().fit(
                    at_cutoff["x"], at_cutoff["repeat_monetary"]
                )
            except ValueError:
                gg = None
            gg_txt = ", ".join(f"{k}={v:.3g}" for k, v in gg.params_.items()) if gg else "not fitted"
            notes.append(
                f"cutoff {cutoff}: BG/NBD ({btyd}) "
                + ", ".join(f"{k}={v:.3g}" for k, v in bg.params_.items())
                + f"; Gamma-Gamma {gg_txt}"
            )
        return fitted[cutoff]

    s = summary

    def not_alive(rows: FoldRows) -> Callable[[np.ndarray], np.ndarray]:
        bg = model_at(rows.fold.test_start)
        return lambda i: 1.0 - bg.probability_alive(s["x"].iloc[i], s["t_x"].iloc[i], s["T"].iloc[i])

    def silent(rows: FoldRows) -> Callable[[np.ndarray], np.ndarray]:
        bg = model_at(rows.fold.test_start)
        weeks = horizon_days / 7
        return lambda i: bg.probability_no_purchase(s["x"].iloc[i], s["t_x"].iloc[i], s["T"].iloc[i], weeks)

    return [_scored("bg_nbd", cfg, not_alive), _scored("bg_nbd_no_purchase", cfg, silent)]


def benchmark_contenders(
    features: list[str],
    summary: pd.DataFrame,
    purchase_log: pl.DataFrame,
    cfg: TrainConfig,
    horizon_days: int,
    monotone: dict[str, int] | None,
    oracle: Callable[[pd.DataFrame], np.ndarray] | None,
    btyd: str,
    notes: list[str],
    rules: tuple[Rule, ...] = RULES,
    oracle_now: Callable[[pd.DataFrame], np.ndarray] | None = None,
) -> list[Contender]:
    """The methods of the module docstring that the data allows (skipped ones are said in ``notes``)."""
    out = [model_contender(cfg, None, monotone, name="churnml")]
    empty = pd.DataFrame(columns=features, dtype=float)
    if rule_flags(empty, _RECENCY_RULES).shape[1]:
        out.append(Contender("no_order_90d", _recency_predict(cfg)))
    else:
        notes.append("no_order_90d: no recency feature column; method skipped")
    if rule_risk_score(empty, rules)[1]:
        out.append(rules_contender(cfg, name="health_rules", rules=rules))
    rfm = _rfm(summary)

    def rfm_predict(
        t: pd.DataFrame, _X: pd.DataFrame, y: np.ndarray, rows: FoldRows
    ) -> tuple[np.ndarray, dict]:
        fitted = LogisticBaseline(C=cfg.logistic_c).fit(rfm.iloc[rows.fit], y[rows.fit])
        return calibrated_on_holdout(
            lambda i: _logit(fitted.churn_probability(rfm.iloc[i])), y, rows, cfg, t[CLIENT_ID].to_numpy()
        ), {}

    out.append(Contender("rfm_logistic", rfm_predict))
    out.append(logistic_contender(cfg))
    if purchase_log.height:
        out += _btyd_contenders(summary, purchase_log, cfg, horizon_days, btyd, notes)
    else:
        notes.append("bg_nbd: no purchases in the data; method skipped")
    if oracle is not None:
        out.append(oracle_contender(oracle))
    if oracle_now is not None:
        out.append(oracle_contender(oracle_now, name="oracle_now"))
    return out


def _recency_predict(cfg: TrainConfig) -> Callable[..., tuple[np.ndarray, dict]]:
    def predict(t: pd.DataFrame, X: pd.DataFrame, y: np.ndarray, rows: FoldRows) -> tuple[np.ndarray, dict]:
        def score(i: np.ndarray) -> np.ndarray:
            return rule_flags(X.iloc[i], _RECENCY_RULES).min(axis=1).to_numpy(dtype=float)

        return calibrated_on_holdout(score, y, rows, cfg, t[CLIENT_ID].to_numpy()), {}

    return predict


def benchmark_models(
    table: pd.DataFrame,
    purchase_log: pl.DataFrame,
    cfg: TrainConfig,
    horizon_days: int,
    lag_days: int = 0,
    oracle: Callable[[pd.DataFrame], np.ndarray] | None = None,
    progress: Callable[[str], None] | None = None,
    btyd: str = "own",
    monotone: dict[str, int] | None = None,
    rules: tuple[Rule, ...] = RULES,
    oracle_now: Callable[[pd.DataFrame], np.ndarray] | None = None,
) -> BenchmarkResult:
    """Every method in every backtest fold on the same test rows (module docstring).

    ``btyd``: ``own`` (the maximum-likelihood BG/NBD of :mod:`churnml.modeling.btyd`) or
    ``pymc-marketing`` (its MAP fit; needs the ``bench`` extra). ``rules``: the health rules under the list's
    settings (:func:`churnml.modeling.baselines.baseline_rules` of ``cfg.rules``); the ``no_order_90d`` method stays at 90 days.
    """
    if btyd not in ("own", "pymc-marketing"):
        raise ValueError(f"btyd must be own or pymc-marketing, not {btyd!r}")
    labeled = labeled_rows(table)
    features = feature_columns(labeled)
    if not len(labeled) or not features:
        raise ValueError("the labeled table has no labeled rows or no numeric feature columns")
    plan = backtest_plan(labeled[SNAPSHOT], cfg, horizon_days, lag_days)
    if not plan.has_folds:
        raise ValueError(f"cannot benchmark: {plan.summary()}")
    spine = pl.from_pandas(labeled[[CLIENT_ID, SNAPSHOT]]).with_columns(pl.col(SNAPSHOT).cast(pl.Date))
    summary = purchase_summary(purchase_log, spine).to_pandas()
    cfg, decided = decided_for_table(cfg, labeled)  # as `train` decides them for this table
    notes: list[str] = [f"churnml: {why}" for why in decided.values()]
    contenders = benchmark_contenders(
        features,
        summary,
        purchase_log,
        cfg,
        horizon_days,
        monotone if cfg.monotone else None,
        oracle,
        btyd,
        notes,
        rules,
        oracle_now,
    )
    bt = run_backtest(labeled, features, plan, contenders, cfg, progress)
    scores = _scores_by_cutoff(bt, [c.name for c in contenders])
    preds = bt.predictions.assign(
        cutoff=bt.predictions[FOLD].map({f.number: f.test_start for f in plan.folds})
    )
    comparison = paired_comparison(preds, [c.name for c in contenders], seed=cfg.seed)
    return BenchmarkResult(scores, preds, plan, notes + bt.notes, comparison)


# Bootstrap draws and interval of paired_comparison.
PAIRED_DRAWS = 200
PAIRED_LEVEL = 0.9
_NOT_A_RIVAL = ("oracle", "oracle_now")  # knows the true hazard: a ceiling, not a method one could run


def _interval(draws: np.ndarray, level: float) -> tuple[float, float]:
    tail = 100 * (1 - level) / 2
    lo, hi = np.nanpercentile(draws, [tail, 100 - tail])
    return float(lo), float(hi)


def paired_comparison(
    predictions: pd.DataFrame,
    methods: list[str],
    reference: str = "churnml",
    n_draws: int = PAIRED_DRAWS,
    level: float = PAIRED_LEVEL,
    seed: int = 0,
) -> pd.DataFrame:
    """``reference`` against the best other method, on the same test rows, with the uncertainty.

    ``predictions``: one row per test row (``cutoff``, ``client_id``, ``label`` and one probability
    column per method of ``methods``). Output: one row per cutoff, then ``mean`` (the cutoffs' mean):
    ``pr_auc_vs`` (the other method with the highest PR-AUC there; the oracle is never a rival),
    ``pr_auc_diff`` (reference minus it), ``pr_auc_low`` / ``pr_auc_high`` (the ``level`` interval of
    that difference over ``n_draws`` bootstrap draws of the cutoff's clients, every method scored on the
    same draws: :class:`~churnml.modeling.evaluate.PairedDraws`), and the same for the Brier score
    (``brier_vs``: the lowest Brier; a negative difference is better). The mean row's draws are the means
    of the cutoffs' draws.
    """
    rivals = [m for m in methods if m != reference and m not in _NOT_A_RIVAL and m in predictions.columns]
    if reference not in predictions.columns or not rivals or predictions.empty:
        return pd.DataFrame()
    per_cutoff: dict[object, dict[str, dict[str, np.ndarray]]] = {}
    for k, (cutoff, rows) in enumerate(predictions.groupby("cutoff", sort=True)):
        present = [m for m in [reference, *rivals] if rows[m].notna().all()]
        draws = PairedDraws(
            rows[LABEL].to_numpy(),
            rows[CLIENT_ID].to_numpy(),
            {m: rows[m] for m in present},
            n_draws,
            seed + k,
        )
        per_cutoff[cutoff] = {
            "pr_auc": {m: draws.pr_auc(m) for m in present},
            "brier": {m: draws.brier(m) for m in present},
        }
    out = [_compared(str(c), d, reference, level) for c, d in per_cutoff.items()]
    common = set.intersection(*(set(d["pr_auc"]) for d in per_cutoff.values()))
    mean = {
        metric: {m: np.mean([d[metric][m] for d in per_cutoff.values()], axis=0) for m in common}
        for metric in ("pr_auc", "brier")
    }
    out.append(_compared("mean", mean, reference, level))
    return pd.DataFrame(out)


def backtest_evidence(
    predictions: pd.DataFrame,
    methods: list[str],
    churners_by_fold: Mapping[int, int],
    reference: str = "model",
    n_draws: int = PAIRED_DRAWS,
    level: float = PAIRED_LEVEL,
) -> str | None:
    """What a backtest's figures rest on, in one sentence for ``churnml train``: the distinct churning
    clients of its test windows (by fold, saying so when a client churns in two windows, so that the folds add
    to more than the total) and ``reference``'s lead in mean fold PR-AUC over the best other
    contender, with its ``level`` interval over ``n_draws`` bootstrap draws of the test clients
    (:func:`paired_comparison`; an interval holding 0 is a tie). ``predictions``: the backtest's test rows
    (``fold``, ``client_id``, ``label`` and a probability column per method); ``churners_by_fold``: fold number
    -> its test rows' churning clients (:func:`churnml.modeling.experiment.fold_test_churners`, read once by
    the backtest). None without test rows."""
    if predictions.empty or reference not in predictions.columns:
        return None
    total = predictions.loc[predictions[LABEL] == 1, CLIENT_ID].nunique()  # a client may churn in two windows
    counts = [churners_by_fold[f] for f in sorted(churners_by_fold)]
    twice = "; a client churning in two windows counts in each" if sum(counts) > total else ""
    folds = f" ({', '.join(str(n) for n in counts)} by fold{twice})" if len(counts) > 1 else ""
    text = f"the backtest rests on {total:,} churning clients{folds}"
    rows = predictions.rename(columns={"fold": "cutoff"})
    compared = paired_comparison(rows, methods, reference, n_draws, level)
    if compared.empty or "pr_auc_vs" not in compared.columns:
        return text
    mean = compared.loc[compared["cutoff"] == "mean"].iloc[0]
    low, high = round(float(mean["pr_auc_low"]), 3), round(float(mean["pr_auc_high"]), 3)  # as shown
    verdict = {"wins": "a lead", "loses": "a loss", "tie": "a tie"}[_verdict(low, high, True)]
    return (
        f"{text}: {reference} - {mean['pr_auc_vs']}, mean fold PR-AUC {float(mean['pr_auc_diff']):+.3f} "
        f"[{low:+.3f}, {high:+.3f}] ({level:.0%} interval over {n_draws} draws of the test clients): {verdict}"
    )


def _compared(
    cutoff: str, draws: dict[str, dict[str, np.ndarray]], reference: str, level: float
) -> dict[str, object]:
    """One row of :func:`paired_comparison` from every method's draws (draw 0: the rows as they are)."""
    row: dict[str, object] = {"cutoff": cutoff}
    for metric, best in (("pr_auc", max), ("brier", min)):
        scores = draws[metric]
        rivals = [m for m in scores if m != reference]
        if reference not in scores or not rivals:
            continue
        vs = best(rivals, key=lambda m: scores[m][0])
        diff = scores[reference] - scores[vs]
        lo, hi = _interval(diff[1:], level)
        row.update(
            {f"{metric}_vs": vs, f"{metric}_diff": float(diff[0]), f"{metric}_low": lo, f"{metric}_high": hi}
        )
    return row


def _verdict(diff_low: float, diff_high: float, higher_is_better: bool) -> str:
    """wins / loses when the whole interval is on one side of 0, else a tie."""
    if diff_low > 0:
        return "wins" if higher_is_better else "loses"
    if diff_high < 0:
        return "loses" if higher_is_better else "wins"
    return "tie"


def _scores_by_cutoff(bt: Backtest, names: list[str]) -> pd.DataFrame:
    """One row per fold x method: the metrics of :data:`BENCH_METRICS` (time split evenly over folds)."""
    folds = {f.number: f for f in bt.plan.folds}
    n_folds = max(1, bt.predictions[FOLD].nunique()) if not bt.predictions.empty else 1
    rows = []
    for _, r in bt.fold_metrics.iterrows():
        if r["contender"] not in names:
            continue
        rows.append(
            {
                "cutoff": folds[int(r[FOLD])].test_start,
                "method": r["contender"],
                **{k: r[k] for k in BENCH_METRICS[:5]},
                "fit_s": bt.seconds.get(r["contender"], 0.0) / n_folds,
                "score_s": 0.0,
                "n": int(r["n"]),
                "positives": int(r["positives"]),
            }
        )
    return pd.DataFrame(rows)


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
    lines += _comparison_lines(result.comparison)
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


def _comparison_lines(comparison: pd.DataFrame) -> list[str]:
    """The paired comparison as a markdown table (nothing without one)."""
    if comparison.empty:
        return []
    pct = round(100 * PAIRED_LEVEL)
    lines = [
        "",
        f"churnml against the best other method, on the same rows: the difference and its {pct}% interval over "
        f"{PAIRED_DRAWS} bootstrap draws of the clients (a client's rows together; every method on the same "
        'draws); "tie" when the interval holds 0.',
        "",
        "| cutoff | PR-AUC: best other | churnml - it [interval] | | Brier: best other | churnml - it [interval] | |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in comparison.iterrows():
        cells = comparison_cells(r.to_dict())
        label = "**mean**" if r["cutoff"] == "mean" else r["cutoff"]
        lines.append(f"| {label} | " + " | ".join(cells[1:]) + " |")
    return lines


def comparison_cells(row: Mapping[str, Any]) -> list[str]:
    """One row of :func:`paired_comparison` in words: cutoff, then per metric (PR-AUC, Brier) the best
    other method, churnml's difference with its interval, and "wins" / "tie" / "loses"."""
    cells = [str(row["cutoff"])]
    for metric, higher, digits in (("pr_auc", True, 3), ("brier", False, 4)):
        if not isinstance(row.get(f"{metric}_vs"), str):
            cells += ["-", "-", "-"]
            continue
        lo, hi = row[f"{metric}_low"], row[f"{metric}_high"]
        cells += [
            str(row[f"{metric}_vs"]),
            f"{row[f'{metric}_diff']:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]",
            _verdict(lo, hi, higher),
        ]
    return cells


def _fmt(value: float, col: str) -> str:
    if value != value:  # NaN
        return "-"
    return f"{value:.2f}" if col.endswith("_s") else f"{value:.3f}"
