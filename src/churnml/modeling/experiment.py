"""One honest training run: a backtest sized to the data, then the deployed model refit on every label.

Input grain: the labeled feature table, one row per client x snapshot with ``client_id``,
``snapshot``, ``label`` (null = not yet known; such rows are left out and counted) and float feature
columns (any other non-numeric column, e.g. ``churned_at``, is ignored).

1. **Backtest** (:mod:`churnml.modeling.backtest`): in every fold the model and the baselines learn
   from the same training snapshots and are judged on the same test rows. The baselines learn from the
   fold's training rows minus a held-out share of clients and calibrate on those; the model is built
   the way the deployed model is (2.) from the fold's training rows. Figures are reported per fold and
   pooled over the folds' test rows (:func:`run_backtest`, also used by ``churnml bench models`` with
   more contenders and by ``churnml tune`` for the model alone).
2. **The deployed model** learns from every labeled snapshot, **cross-fitted** on client parts
   (:func:`cross_fitted_model`, ``train.cross_fit_parts`` = 5): the clients are split into 5 parts
   (churning clients dealt out evenly); for each part a LightGBM learns from the other four parts' rows
   and stops early on the part's own rows (all parts at the round of their mean validation curve,
   ``train.cross_fit_rounds``), which it then scores. Every labeled row thus has an
   out-of-fold raw score from the one model that never saw its client, and the calibrator (isotonic or
   Platt) is fitted on those scores of every row, the most recent labels included. The model's raw
   score is the mean of the 5 models', exported as one LightGBM model (:func:`churnml.modeling.train.
   mean_booster`), so scoring and TreeSHAP see one booster. Each row serves to learn (in 4 models) and
   to stop early and calibrate (in 1): a single model gives up a share of the clients to do those, and
   the mean of 5 varies less. Caveat: the calibrator learns the out-of-fold scores of single models
   and maps the mean of 5, which spreads a little less (measured in docs/benchmarks.md).
   With ``cross_fit_parts: 1`` (or more than ``cross_fit_max_rows`` labeled rows, or a part without
   both classes) it is one LightGBM refit on all labeled rows with the median of the folds'
   early-stopped rounds, calibrated on held-out predictions, the scheme of scikit-learn's
   ``CalibratedClassifierCV(ensemble=False)``: a twin with the same parameters and rounds is trained
   on the other clients' rows of every labeled snapshot and scores the held-out clients' rows. Without
   a fold, early stopping on the held-out clients gives the rounds, and the run says there is no
   out-of-time estimate yet.

:func:`train_and_compare` returns a :class:`TrainingResult`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from churnml.config import TrainConfig
from churnml.contract.schemas import CLIENT_ID, LABEL, SNAPSHOT, Churns
from churnml.modeling.backtest import (
    BacktestPlan,
    Fold,
    as_dates,
    backtest_plan,
    client_parts,
    holdout_clients,
)
from churnml.modeling.baselines import (
    RULES,
    LogisticBaseline,
    Rule,
    finite_values,
    rule_risk_score,
)
from churnml.modeling.evaluate import binary_metrics, calibration_table, gain_curve, metrics_by_month
from churnml.modeling.export import REFERENCE_DAYS, feature_reference, season_reference
from churnml.modeling.train import (
    ChurnModel,
    Rows,
    calibrator_for,
    lightgbm_params,
    model_from_config,
    with_shared_rounds,
)

__all__ = [
    "ANNOUNCED",
    "CONTENDERS",
    "FOLD",
    "LABEL",
    "LAPSED",
    "QUIET",
    "QUIET_FEATURES",
    "SNAPSHOT",
    "THIN_FOLD_CHURNERS",
    "Backtest",
    "Contender",
    "FoldRows",
    "TrainingResult",
    "already_announced",
    "already_lapsed",
    "already_quiet",
    "calibrated_on_holdout",
    "churn_days",
    "churning_clients",
    "clustered_churns_text",
    "comparison_markdown",
    "configured_model",
    "cross_fit_parts",
    "cross_fitted_model",
    "decided_cross_fit_rounds",
    "decided_extra_trees",
    "decided_for_table",
    "deployed_fit_text",
    "earliest_estimate_end",
    "feature_columns",
    "fold_means",
    "fold_problems",
    "fold_summary",
    "fold_test_churners",
    "held_out_model",
    "labeled_rows",
    "logistic_contender",
    "lone_feature_pr_auc",
    "model_contender",
    "no_judged_fold_note",
    "not_lapsed_metrics",
    "oracle_contender",
    "pooled_metrics",
    "recent_rows",
    "rules_contender",
    "run_backtest",
    "sparse_test_fold_notes",
    "standard_contenders",
    "thin_fold_note",
    "thin_fold_skip",
    "train_and_compare",
    "training_churners",
    "training_sample",
    "trial_settings",
    "with_quiet_rows",
]

CONTENDERS = ("model", "logistic", "rules", "oracle")
FOLD = "fold"  # column of the backtest predictions: the fold number
# column of the backtest predictions: the client's term had already ended at the snapshot (in its grace
# period, label 1 unless it renews): an easy positive, the renewal call, not an early warning
LAPSED = "already_lapsed"
# column of the backtest predictions under the inactivity label: the client was already quiet for half of
# label.inactivity_days at the snapshot (an easy positive the silence alone ranks); also marked LAPSED
QUIET = "already_quiet"
# column of the backtest predictions: the client had asked to cancel in the last weeks (a cancellation request
# ticket): it announced its leaving, the save call's case, not an early warning; also marked LAPSED
ANNOUNCED = "already_announced"
_KEYS = {CLIENT_ID, SNAPSHOT, LABEL}


def feature_columns(table: pd.DataFrame) -> list[str]:
    """The numeric feature columns of a labeled table (keys, label and non-numeric columns excluded)."""
    return [str(c) for c in table.columns if c not in _KEYS and pd.api.types.is_numeric_dtype(table[c])]


def labeled_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``table`` whose label is known (index reset); a clear error on missing key columns."""
    for col in (CLIENT_ID, SNAPSHOT, LABEL):
        if col not in table.columns:
            raise ValueError(
                f"the labeled table lacks column '{col}' (columns: {list(table.columns)[:8]} ...)"
            )
    if isinstance(table.index, pd.RangeIndex) and table.index.start == 0 and table[LABEL].notna().all():
        return table  # already only labeled rows (the training table of a big portfolio): no copy
    return table[table[LABEL].notna()].reset_index(drop=True)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


# ----------------------------------------------------------------------------------------------
# one fold
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FoldRows:
    """Row positions of one fold in the labeled table (shared by every contender).

    ``fit``: the fold's training rows of clients not held out; ``holdout``: its training rows of the
    held-out clients (early stopping and calibration); ``test``: the fold's test rows.
    """

    fold: Fold
    fit: np.ndarray
    holdout: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class Contender:
    """A method judged in the backtest: ``predict(table, X, y, rows) -> (probabilities on rows.test,
    extra)`` where ``extra`` is a dict of by-products (e.g. the model's raw scores and rounds)."""

    name: str
    predict: Callable[[pd.DataFrame, pd.DataFrame, np.ndarray, FoldRows], tuple[np.ndarray, dict[str, Any]]]


def calibrated_on_holdout(
    score: Callable[[np.ndarray], np.ndarray],
    y: np.ndarray,
    rows: FoldRows,
    cfg: TrainConfig,
    clients: np.ndarray | None = None,
) -> np.ndarray:
    """Probabilities on the test rows of a score calibrated on the held-out clients' rows, weighted to the
    churn rate of the fold's training rows (:func:`training_rate`). ``clients``: the client of every row of
    the labeled table (by position); ``calibration: auto`` then counts the held-out churning clients, not
    their positive rows, as the model's calibration does (:func:`churnml.modeling.train.calibrator_for`)."""
    cal = calibrator_for(
        score(rows.holdout),
        y[rows.holdout],
        cfg.calibration,
        cfg.min_isotonic_positives,
        training_rate(y, rows),
        None if clients is None else np.asarray(clients)[rows.holdout],
    )
    return cal.predict(score(rows.test))


def training_rate(y: np.ndarray, rows: FoldRows) -> float:
    """The churn rate of the fold's training rows (learning and held-out clients together): the rate
    a calibration on the held-out clients stands for (they may be enriched in churners)."""
    return float(y[np.concatenate([rows.fit, rows.holdout])].mean())


def training_sample(
    idx: np.ndarray, y: np.ndarray, snapshots: Any, cfg: TrainConfig
) -> tuple[np.ndarray, np.ndarray | None]:
    """The rows (positions ``idx``) a LightGBM model learns from, and their weights (None: all, unweighted).

    ``cfg.snapshot_step`` > 1 keeps every positive row and the negatives of every ``snapshot_step``-th weekly
    snapshot (counted in weeks since 1970), each negative weighted (negatives / negatives kept) so the class
    totals stay as they were: a churn label is the rare row, and a client whose churn labels all fall on
    skipped weeks (a churn within weeks of its first snapshot) would otherwise teach the model nothing of its
    churn (at step 4, 15 of a generated portfolio's 254 churning clients lost every churn label). With more
    than ``cfg.max_train_rows`` rows left, every positive is kept and a seeded share of the negatives, the
    share that leaves about ``max_train_rows`` rows, their weights multiplied by 1 / share so the class
    totals stay as they were. Evaluation and calibration rows are never sampled.
    """
    keep = idx
    weight: np.ndarray | None = None
    if cfg.snapshot_step > 1:
        weeks = as_dates(np.asarray(snapshots)[keep]).astype(np.int64) // 7
        positive = y[keep] == 1
        on_step = weeks % cfg.snapshot_step == 0
        negatives = int((~positive).sum())
        kept_negatives = int((~positive & on_step).sum())
        keep = keep[positive | on_step]
        weight = np.where(y[keep] == 1, 1.0, negatives / max(kept_negatives, 1))
    if cfg.max_train_rows is None or keep.size <= cfg.max_train_rows:
        return keep, weight
    positive = y[keep] == 1
    negatives = int(keep.size - positive.sum())
    share = max(cfg.max_train_rows - int(positive.sum()), 1) / max(negatives, 1)
    if share >= 1:
        return keep, weight
    drawn = positive | (np.random.default_rng(cfg.seed).random(keep.size) < share)
    before = np.ones(keep.size) if weight is None else weight
    keep = keep[drawn]
    return keep, np.where(y[keep] == 1, 1.0, before[drawn] / share)


def _sampled(idx: np.ndarray, y: np.ndarray, table: pd.DataFrame, cfg: TrainConfig) -> tuple[np.ndarray, Any]:
    snapshots = table[SNAPSHOT].to_numpy() if cfg.snapshot_step > 1 else None
    return training_sample(idx, y, snapshots, cfg)


def cross_fit_parts(cfg: TrainConfig, labeled_rows: int) -> int:
    """Number of client parts the model is cross-fitted on for a labeled table of ``labeled_rows`` rows:
    ``train.cross_fit_parts``; ``train.cross_fit_large_parts`` (never more) above
    ``train.cross_fit_large_rows`` rows, where every model learns from many rows anyway and the fit's
    cost (rows x rounds, per model) is what grows; or 1 (one model, early-stopped and calibrated on
    ``train.holdout_share`` of the clients) when the table holds more than ``train.cross_fit_max_rows``
    rows. Decided once per table, so the backtest judges the procedure the deployed model is built with."""
    if cfg.cross_fit_max_rows is not None and labeled_rows > cfg.cross_fit_max_rows:
        return 1
    if cfg.cross_fit_large_rows is not None and labeled_rows > cfg.cross_fit_large_rows:
        return min(cfg.cross_fit_parts, cfg.cross_fit_large_parts)
    return cfg.cross_fit_parts


def churning_clients(labeled: pd.DataFrame) -> int:
    """Distinct clients with at least one churn label (``label`` 1) in a labeled table."""
    return int(labeled.loc[labeled[LABEL] == 1, CLIENT_ID].nunique())


def decided_extra_trees(cfg: TrainConfig, labeled: pd.DataFrame) -> tuple[TrainConfig, str | None]:
    """``cfg`` with ``extra_trees: auto`` decided for the labeled table, and the sentence that says why
    (None when it was set in the config).

    ``auto`` is on when the table holds fewer than ``train.extra_trees_below_churners`` churning clients
    (:func:`churning_clients`). LightGBM then draws each split's threshold at random instead of taking
    the best one: the trees vary more one by one and their mean varies less, which is what a few hundred
    churners need (measured on 22 small datasets, none of which set the threshold: docs/benchmarks.md,
    "Shops of a few hundred customers"). Decided once per table, like :func:`cross_fit_parts`, so the
    backtest judges the procedure the deployed model is built with.
    """
    if cfg.extra_trees != "auto":
        return cfg, None
    churners = churning_clients(labeled)
    on = churners < cfg.extra_trees_below_churners
    why = (
        f"extra_trees {'on' if on else 'off'} (auto): {churners:,} churning clients in the labeled table, "
        f"{'fewer than' if on else 'at least'} train.extra_trees_below_churners "
        f"({cfg.extra_trees_below_churners:,})"
    )
    return cfg.model_copy(update={"extra_trees": on}), why


def decided_cross_fit_rounds(cfg: TrainConfig, labeled: pd.DataFrame) -> tuple[TrainConfig, str | None]:
    """``cfg`` with ``cross_fit_rounds: auto`` decided for the labeled table, and the sentence that says why
    (None when it was set in the config).

    ``auto`` is ``shared`` when the cross-fitted parts hold fewer than ``train.shared_rounds_below_churners``
    churning clients each (the table's :func:`churning_clients` over its :func:`cross_fit_parts`), ``each``
    otherwise. Each part stops early on the PR-AUC of its own clients: with a few dozen churners that curve's
    maximum is noise (on a 300-account CRM, 9 churners a part, the parts' median rounds were 11 in one fold
    and 383 in the next), while the mean curve of the parts reads every churner of the fold. Decided once per
    table, like :func:`decided_extra_trees`, so the backtest judges the procedure the deployed model is
    built with. Measured in docs/benchmarks.md ("Small tables: the rounds of the cross-fitted parts").
    """
    if cfg.cross_fit_rounds != "auto":
        return cfg, None
    churners = churning_clients(labeled)
    parts = cross_fit_parts(cfg, len(labeled))
    shared = parts > 1 and churners < cfg.shared_rounds_below_churners * parts
    rule = "shared" if shared else "each"
    why = (
        f"cross_fit_rounds {rule} (auto): {churners:,} churning clients over {parts} cross-fitted "
        + ("part" if parts == 1 else "parts")
        + f", {'fewer than' if shared else 'at least'} train.shared_rounds_below_churners "
        f"({cfg.shared_rounds_below_churners:,}) a part"
    )
    return cfg.model_copy(update={"cross_fit_rounds": rule}), why


def decided_for_table(cfg: TrainConfig, labeled: pd.DataFrame) -> tuple[TrainConfig, dict[str, str]]:
    """``cfg`` with every setting that ``auto`` decides by the labeled table's size decided
    (:func:`decided_extra_trees`, :func:`decided_cross_fit_rounds`), and setting name -> the sentence that
    says how (only the settings ``auto`` decided): the one place ``train``, ``tune`` and ``bench models``
    decide them, so all three build the same model."""
    cfg, trees = decided_extra_trees(cfg, labeled)
    cfg, rounds = decided_cross_fit_rounds(cfg, labeled)
    return cfg, {name: why for name, why in (("extra_trees", trees), ("cross_fit_rounds", rounds)) if why}


def _usable_parts(y: np.ndarray, part: np.ndarray, parts: int) -> bool:
    """Every part's own rows (early stopping) and the other parts' rows (training) hold both classes."""
    for j in range(parts):
        for side in (y[part == j], y[part != j]):
            if side.size == 0 or side.sum() in (0, side.size):
                return False
    return True


def cross_fitted_model(
    table: pd.DataFrame,
    X: pd.DataFrame,
    y: np.ndarray,
    rows: np.ndarray,
    parts: int,
    cfg: TrainConfig,
    tuned: Mapping[str, Any] | None,
    monotone: Mapping[str, int] | None,
    progress: Callable[[str], None] | None = None,
) -> ChurnModel | None:
    """The model cross-fitted on rows ``rows`` (positions in ``table`` / ``X`` / ``y``), or ``None``
    when ``parts`` client parts cannot each hold both classes (then one model with held-out clients).

    The rows' clients are split into ``parts`` parts, churning clients dealt out evenly
    (:func:`churnml.modeling.backtest.client_parts`). For each part a LightGBM learns from the other
    parts' rows (sampled as :func:`training_sample`) and stops early on the part's own rows, which it
    then scores: every row gets an out-of-fold raw score from the one model that never saw its client.
    With ``train.cross_fit_rounds: shared`` every part then keeps the same number of rounds, the maximum
    of the parts' mean validation curve (:func:`churnml.modeling.train.with_shared_rounds`); with
    ``each``, the maximum of its own.
    The calibrator is fitted on those out-of-fold scores of all the rows; the returned model's raw score
    is the mean of the ``parts`` models' (:meth:`ChurnModel.averaged`, one booster). Every row of
    ``rows`` thus serves both to learn (in ``parts - 1`` models) and to stop early and calibrate, where
    a single model learns from ``1 - holdout_share`` of the clients only; the mean of several models
    also varies less than one. Measured in docs/benchmarks.md ("Cross-fitted models").
    ``progress`` (optional) hears each model as it starts ("model 2/5: learning from ...").
    """
    say = progress or (lambda _m: None)
    part = client_parts(table[CLIENT_ID].to_numpy()[rows], parts, cfg.seed, y[rows])
    if not _usable_parts(y[rows], part, parts):
        return None
    oof = np.empty(rows.size)
    models = []
    for j in range(parts):
        stop, fit = rows[part == j], rows[part != j]
        learn, weight = _sampled(fit, y, table, cfg)
        say(f"model {j + 1}/{parts}: learning from {learn.size:,} rows, stopping early on {stop.size:,}")
        model = model_from_config(cfg, tuned, monotone).fit(
            Rows(X, learn), y[learn], eval_set=(Rows(X, stop), y[stop]), sample_weight=weight
        )
        models.append(model)
    if cfg.cross_fit_rounds == "shared":
        with_shared_rounds(models)
    for j, model in enumerate(models):
        oof[part == j] = model.raw_score(Rows(X, rows[part == j]))
    ids = table[CLIENT_ID].to_numpy()[rows]
    calibrator = calibrator_for(oof, y[rows], cfg.calibration, cfg.min_isotonic_positives, clients=ids)
    return ChurnModel.averaged(models, calibrator)


def rounds_text(rule: str, rounds: Sequence[int]) -> str:
    """How the cross-fitted parts' ``rounds`` were chosen under ``train.cross_fit_rounds`` ``rule``, for the
    deployed model's line."""
    if rule == "shared":
        return f"each early-stopped on its own part, all at the maximum of their mean curve (rounds {list(rounds)})"
    return f"each early-stopped on its own part (rounds {list(rounds)})"


def held_out_model(
    table: pd.DataFrame,
    X: pd.DataFrame,
    y: np.ndarray,
    rows: FoldRows,
    cfg: TrainConfig,
    tuned: Mapping[str, Any] | None,
    monotone: Mapping[str, int] | None,
) -> ChurnModel:
    """One LightGBM learning from the fold's ``fit`` rows, stopping early and calibrated on its held-out
    clients (``calibration: auto`` counting their churning clients)."""
    fit, weight = _sampled(rows.fit, y, table, cfg)
    return model_from_config(cfg, tuned, monotone).fit(
        Rows(X, fit),
        y[fit],
        eval_set=(Rows(X, rows.holdout), y[rows.holdout]),
        sample_weight=weight,
        calibration_rate=training_rate(y, rows),
        calibration_clients=table[CLIENT_ID].to_numpy()[rows.holdout],
    )


def model_contender(
    cfg: TrainConfig, tuned: Mapping[str, Any] | None, monotone: Mapping[str, int] | None, name: str = "model"
) -> Contender:
    """LightGBM from config, built as the deployed model is: cross-fitted on the fold's training rows
    (:func:`cross_fitted_model`, with :func:`cross_fit_parts` parts for the whole labeled table), or one
    model with early stopping and calibration on the held-out clients."""

    def predict(t: pd.DataFrame, X: pd.DataFrame, y: np.ndarray, rows: FoldRows) -> tuple[np.ndarray, dict]:
        parts = cross_fit_parts(cfg, len(X))
        model = None
        if parts > 1:
            train = np.sort(np.concatenate([rows.fit, rows.holdout]))
            model = cross_fitted_model(t, X, y, train, parts, cfg, tuned, monotone)
        if model is None:
            model = held_out_model(t, X, y, rows, cfg, tuned, monotone)
        rounds = getattr(model, "part_iterations_", [model.best_iteration_])
        raw = model.raw_score(Rows(X, rows.test))
        return model.calibrator_.predict(raw), {"raw": raw, "best_iteration": int(np.median(rounds))}

    return Contender(name, predict)


# The logistic baseline learns from at most this many of a fold's training rows (a seeded sample): its
# imputer, missing flags and scaler hold several float64 copies of what it is given, and a linear model
# gains nothing from millions of correlated weekly rows. It scores in chunks of this many rows.
LOGISTIC_MAX_ROWS = 250_000


def _chunked(score: Callable[[np.ndarray], np.ndarray], idx: np.ndarray) -> np.ndarray:
    """``score`` over the row positions ``idx``, LOGISTIC_MAX_ROWS at a time."""
    if idx.size <= LOGISTIC_MAX_ROWS:
        return score(idx)
    return np.concatenate(
        [score(idx[i : i + LOGISTIC_MAX_ROWS]) for i in range(0, idx.size, LOGISTIC_MAX_ROWS)]
    )


def _capped(idx: np.ndarray, seed: int) -> np.ndarray:
    """At most LOGISTIC_MAX_ROWS of the row positions ``idx`` (a seeded sample, sorted)."""
    if idx.size <= LOGISTIC_MAX_ROWS:
        return idx
    return np.sort(np.random.default_rng(seed).choice(idx, LOGISTIC_MAX_ROWS, replace=False))


def _logistic_scores(X: pd.DataFrame, y: np.ndarray, learn: np.ndarray, cfg: TrainConfig) -> Callable:
    """The raw score (logit) of an L2 logistic regression learning from rows ``learn``, by positions."""
    fitted = LogisticBaseline(C=cfg.logistic_c).fit(X.iloc[learn], y[learn])
    return lambda i: _chunked(lambda j: _logit(fitted.churn_probability(X.iloc[j])), i)


def logistic_contender(cfg: TrainConfig) -> Contender:
    """L2 logistic regression on the same features (at most LOGISTIC_MAX_ROWS training rows), built as
    the model is, so both learn from the same rows: cross-fitted on the fold's training rows (every
    training client, :func:`cross_fit_parts` parts), calibrated on its out-of-fold scores, the scoring
    regression learning from all of them; with one part (or parts lacking a class), learning from the
    fit rows and calibrated on the held-out clients, as the one-model LightGBM."""

    def predict(t: pd.DataFrame, X: pd.DataFrame, y: np.ndarray, rows: FoldRows) -> tuple[np.ndarray, dict]:
        parts = cross_fit_parts(cfg, len(X))
        train = np.sort(np.concatenate([rows.fit, rows.holdout]))
        part = client_parts(t[CLIENT_ID].to_numpy()[train], parts, cfg.seed, y[train]) if parts > 1 else None
        if part is None or not _usable_parts(y[train], part, parts):
            score = _logistic_scores(X, y, _capped(rows.fit, cfg.seed), cfg)
            return calibrated_on_holdout(score, y, rows, cfg, t[CLIENT_ID].to_numpy()), {}
        oof = np.empty(train.size)
        for j in range(parts):
            learn = _capped(train[part != j], cfg.seed)
            oof[part == j] = _logistic_scores(X, y, learn, cfg)(train[part == j])
        ids = t[CLIENT_ID].to_numpy()[train]
        calibrator = calibrator_for(oof, y[train], cfg.calibration, cfg.min_isotonic_positives, clients=ids)
        return calibrator.predict(_logistic_scores(X, y, _capped(train, cfg.seed), cfg)(rows.test)), {}

    return Contender("logistic", predict)


def rules_contender(cfg: TrainConfig, name: str = "rules", rules: tuple[Rule, ...] = RULES) -> Contender:
    """The seeds' rule-based health score (number of ``rules`` firing), calibrated on the held-out
    clients."""

    def predict(t: pd.DataFrame, X: pd.DataFrame, y: np.ndarray, rows: FoldRows) -> tuple[np.ndarray, dict]:
        ids = t[CLIENT_ID].to_numpy()
        return calibrated_on_holdout(lambda i: rule_risk_score(X.iloc[i], rules)[0], y, rows, cfg, ids), {}

    return Contender(name, predict)


def oracle_contender(oracle: Callable[[pd.DataFrame], np.ndarray], name: str = "oracle") -> Contender:
    """The true probability of generated data (not fitted, not calibrated); NaN rows become 0."""

    def predict(t: pd.DataFrame, _X: pd.DataFrame, _y: np.ndarray, rows: FoldRows) -> tuple[np.ndarray, dict]:
        p = np.asarray(oracle(t[[CLIENT_ID, SNAPSHOT]].iloc[rows.test].reset_index(drop=True)), dtype=float)
        unknown = float(np.isnan(p).mean()) if p.size else 0.0
        if unknown > 0.01:
            raise _Skip(
                f"the truth knows only {1 - unknown:.0%} of the test rows' clients (another dataset?)"
            )
        return np.nan_to_num(p), {}

    return Contender(name, predict)


def standard_contenders(
    cfg: TrainConfig,
    tuned: Mapping[str, Any] | None,
    monotone: Mapping[str, int] | None,
    features: list[str],
    oracle: Callable[[pd.DataFrame], np.ndarray] | None,
    rules: tuple[Rule, ...] = RULES,
) -> list[Contender]:
    """The model and the baselines of ``churnml train``: model, logistic, rules (if any of ``rules``
    applies), oracle (with generated data's truth)."""
    out = [model_contender(cfg, tuned, monotone), logistic_contender(cfg)]
    if rule_risk_score(pd.DataFrame(columns=features, dtype=float), rules)[1]:
        out.append(rules_contender(cfg, rules=rules))
    if oracle is not None:
        out.append(oracle_contender(oracle))
    return out


class _Skip(Exception):
    """A contender cannot be judged in this fold (said in the notes, not an error)."""


# ----------------------------------------------------------------------------------------------
# the backtest
# ----------------------------------------------------------------------------------------------
@dataclass
class Backtest:
    """Out-of-fold predictions of every contender, per fold and pooled.

    ``predictions``: one row per test row of every fold: ``client_id``, ``snapshot``, ``label``,
    ``fold`` and one probability column per contender (NaN where a contender was skipped in a fold);
    ``model_raw`` holds the model's raw score. ``fold_metrics``: one row per fold x contender.
    ``metrics``: pooled over every fold's test rows, one row per contender (:func:`pooled_metrics`: the
    model and the baselines on the same rows, all of them; a contender skipped in a fold on its own rows). ``seconds``: fit+score time per
    contender, summed over folds. ``best_iterations``: the model's early-stopped rounds per fold.
    ``test_churners``: fold number -> distinct churning clients of its test rows (:func:`fold_test_churners`).
    """

    plan: BacktestPlan
    predictions: pd.DataFrame
    fold_metrics: pd.DataFrame
    metrics: pd.DataFrame
    seconds: dict[str, float]
    best_iterations: list[int]
    notes: list[str] = field(default_factory=list)
    test_churners: dict[int, int] = field(default_factory=dict)

    @property
    def has_estimate(self) -> bool:
        return not self.metrics.empty


def _fold_rows(fold: Fold, labeled: pd.DataFrame, y: np.ndarray, cfg: TrainConfig) -> FoldRows:
    """The fold's rows: training rows split into fit and held-out clients (stratified on the churns of
    the training rows only: :func:`churnml.modeling.backtest.holdout_clients`), and its test rows."""
    train, test = fold.masks(labeled[SNAPSHOT])
    held_out = holdout_clients(labeled[CLIENT_ID], cfg.holdout_share, cfg.seed, y, train)
    return FoldRows(
        fold, np.flatnonzero(train & ~held_out), np.flatnonzero(train & held_out), np.flatnonzero(test)
    )


def _fold_problem(y: np.ndarray, rows: FoldRows) -> str | None:
    for part in ("fit", "holdout", "test"):
        idx = getattr(rows, part)
        if idx.size == 0 or y[idx].sum() == 0 or y[idx].sum() == idx.size:
            what = {"fit": "training", "holdout": "held-out", "test": "test"}[part]
            return f"its {what} rows hold one class only ({int(y[idx].sum())} churners of {idx.size})"
    return None


# a fold whose training rows hold fewer churning clients than this is thin: its models learned from a handful of
# churns, unlike the deployed model, which learns from every labeled snapshot. Beside a fold that is not thin it is
# skipped (:func:`fold_problems`): two distributors' first folds, 4 churning clients each, gave near-constant models
# (PR-AUC 0.08 and 0.15) that pulled the mean over four folds from about 0.95 to 0.75 and decided the champion gate
# against a model the later folds found ahead. When every fold is thin, each is judged with a note
THIN_FOLD_CHURNERS = 10


def training_churners(labeled: pd.DataFrame, rows: FoldRows) -> int:
    """Distinct churning clients of the fold's training rows (fit and held-out: ``rows``, positions in
    ``labeled``). Reads the two columns it counts, not a copy of the training rows' features."""
    return churning_clients(labeled[[CLIENT_ID, LABEL]].iloc[np.concatenate([rows.fit, rows.holdout])])


def thin_fold_skip(churners: int) -> str:
    """Why a thin fold is skipped beside folds that are not (:func:`fold_problems`)."""
    return (
        f"its training rows hold {churners} churning client{'s' if churners != 1 else ''} (fewer than "
        f"{THIN_FOLD_CHURNERS}): models learned from a handful of churns say little of the deployed model, which "
        "learns from every labeled snapshot; the folds trained on more judge it"
    )


def thin_fold_note(labeled: pd.DataFrame, rows: FoldRows) -> str | None:
    """A note when the fold's training rows (fit and held-out: ``rows``, positions in ``labeled``) hold fewer
    than :data:`THIN_FOLD_CHURNERS` churning clients, when every judged fold is thin (otherwise it is skipped):
    its figures rest on models that saw a handful of churns and weigh as much as any other fold's in the mean
    over folds. None otherwise."""
    churners = training_churners(labeled, rows)
    if churners >= THIN_FOLD_CHURNERS:
        return None
    fold = rows.fold
    return (
        f"fold {fold.number} ({fold.test_start} .. {fold.test_end}): its training rows hold {churners} churning "
        f"client{'s' if churners != 1 else ''} (fewer than {THIN_FOLD_CHURNERS}): its models learned from a "
        "handful of churns, and its figures weigh as much as the other folds' in the mean over folds (the pooled "
        "figures weigh each row)"
    )


# a fold whose test rows hold fewer churning clients than this share of the median fold's is said: its figures
# rest on a few churns yet weigh as much as the others' in the mean over folds the champion gate reads
SPARSE_TEST_SHARE = 0.25


def sparse_test_fold_notes(test_churners: Sequence[tuple[Fold, int]]) -> list[str]:
    """A note for each fold whose test rows hold fewer churning clients than :data:`SPARSE_TEST_SHARE` of the
    median over the folds (``test_churners``: each judged fold with its test rows' churning clients): a
    business whose clients leave on a few dates of the year (a school's semester ends) under a horizon that
    reaches none of them from a fold's test window, which then holds a few mid-term drop-outs (a language
    school under a 30-day horizon: 86, 192, 11 and 149 churning clients by fold, the model's PR-AUC 0.085 in
    the third). Empty with fewer than three folds."""
    if len(test_churners) < 3:
        return []
    median = float(np.median([n for _, n in test_churners]))
    out = []
    for fold, n in test_churners:
        if n >= SPARSE_TEST_SHARE * median:
            continue
        others = [m for f, m in test_churners if f.number != fold.number]
        out.append(
            f"fold {fold.number} ({fold.test_start} .. {fold.test_end}): its test rows hold {n} churning "
            f"client{'s' if n != 1 else ''} against {min(others)} to {max(others)} in the other folds (few churns "
            "fall in its window: clients who leave on a few dates of the year, none within the horizon of its "
            "snapshots, or a quiet season): its figures rest on them, yet weigh as much as the other folds' in "
            "the mean over folds the champion gate reads (the pooled figures weigh each row)"
        )
    return out


def fold_problems(
    labeled: pd.DataFrame, plan: BacktestPlan, cfg: TrainConfig
) -> list[tuple[FoldRows, str | None]]:
    """Every fold of ``plan`` with its rows in ``labeled`` (labeled rows only, index 0..n-1; clients held
    out as in ``cfg``) and why it cannot be used (``None`` when it can: its training, held-out and test
    rows each hold both classes; and, beside a usable fold whose training rows hold :data:`THIN_FOLD_CHURNERS`
    churning clients or more, it is not thin: :func:`thin_fold_skip`). The folds :func:`run_backtest` runs and
    tuning scores."""
    y = labeled[LABEL].to_numpy(dtype=float).astype(int)
    out = []
    for fold in plan.folds:
        rows = _fold_rows(fold, labeled, y, cfg)
        out.append((rows, _fold_problem(y, rows)))
    churners = {
        rows.fold.number: training_churners(labeled, rows) for rows, problem in out if problem is None
    }
    if all(n < THIN_FOLD_CHURNERS for n in churners.values()):
        return out
    return [(rows, _thin_or(problem, churners.get(rows.fold.number))) for rows, problem in out]


def _thin_or(problem: str | None, churners: int | None) -> str | None:
    """A fold's problem, or, usable but thin (``churners`` under :data:`THIN_FOLD_CHURNERS`), why it is skipped."""
    if problem is None and churners is not None and churners < THIN_FOLD_CHURNERS:
        return thin_fold_skip(churners)
    return problem


def lone_feature_pr_auc(
    labeled: pd.DataFrame, features: list[str], plan: BacktestPlan, cfg: TrainConfig, max_rows: int = 50_000
) -> pd.Series:
    """How well each feature alone ranks the backtest's test rows: per feature, the mean over the usable
    folds of the PR-AUC of its values as a score, in the better of its two directions (missing values
    rank last). One value per feature, highest first; empty without a usable fold. A fold's test rows
    above ``max_rows`` are a seeded sample of them (the figure is a check, not a report).

    The champion gate's leak check (:func:`churnml.modeling.champion.verdict`) reads it: a column that
    holds the future ranks the test rows almost perfectly by itself, whatever the model makes of it (a
    model drawing random split thresholds, ``extra_trees``, may use a sharp leak only in part).
    """
    from sklearn.metrics import average_precision_score

    y = labeled[LABEL].to_numpy(dtype=float).astype(int)
    rng = np.random.default_rng(cfg.seed)
    per_fold = []
    for rows, problem in fold_problems(labeled, plan, cfg):
        if problem is not None:
            continue
        test = (
            rows.test
            if rows.test.size <= max_rows
            else np.sort(rng.choice(rows.test, max_rows, replace=False))
        )
        values = finite_values(labeled[features].iloc[test])
        scores = {}
        for j, name in enumerate(features):
            x = values[:, j]
            if np.isnan(x).all():
                continue
            best = 0.0
            for direction in (1.0, -1.0):
                v = direction * x
                filled = np.where(np.isnan(v), np.nanmin(v) - 1.0, v)
                best = max(best, float(average_precision_score(y[test], filled)))
            scores[name] = best
        per_fold.append(pd.Series(scores, dtype=float))
    if not per_fold:
        return pd.Series(dtype=float)
    return pd.concat(per_fold, axis=1).mean(axis=1).sort_values(ascending=False)


def configured_model(
    cfg: TrainConfig,
    tuned: Mapping[str, Any] | None = None,
    monotone: Mapping[str, int] | None = None,
    *,
    trees: int | None = None,
) -> ChurnModel:
    """Config -> unfitted model, the one place (:func:`churnml.modeling.train.model_from_config`: tuned
    parameters merged over ``train.lightgbm``). With ``trees`` (a tuning trial's budget): at most that many
    rounds, early stopping after ``min(train.early_stopping_rounds, max(10, trees // 5))`` rounds without
    gain, sigmoid calibration (stable on one fold's held-out rows)."""
    if trees is None:
        return model_from_config(cfg, tuned, monotone)
    return model_from_config(*trial_settings(cfg, tuned, trees), monotone)


def trial_settings(
    cfg: TrainConfig, tuned: Mapping[str, Any] | None, trees: int
) -> tuple[TrainConfig, dict[str, Any]]:
    """The training config and parameters of a tuning trial's model (:func:`configured_model` with
    ``trees``; the parts of a cross-fitted trial model take the same): at most ``trees`` rounds, early
    stopping after ``min(train.early_stopping_rounds, max(10, trees // 5))`` rounds without gain, sigmoid
    calibration."""
    patience = min(cfg.early_stopping_rounds, max(10, trees // 5))
    quick = cfg.model_copy(update={"early_stopping_rounds": patience, "calibration": "sigmoid"})
    return quick, {**dict(tuned or {}), "n_estimators": trees}


def run_backtest(
    labeled: pd.DataFrame,
    features: list[str],
    plan: BacktestPlan,
    contenders: list[Contender],
    cfg: TrainConfig,
    progress: Callable[[str], None] | None = None,
) -> Backtest:
    """Every contender in every fold of ``plan`` on the same rows (module docstring).

    ``labeled``: only labeled rows, index 0..n-1. A fold whose training, held-out or test rows hold a
    single class, or a thin fold beside one that is not (:func:`fold_problems`), is skipped with a note.
    """
    say = progress or (lambda _m: None)
    y = labeled[LABEL].to_numpy(dtype=float).astype(int)
    X = labeled[features]
    notes: list[str] = []
    frames, fold_metric_rows, iterations = [], [], []
    seconds = {c.name: 0.0 for c in contenders}
    for rows, problem in fold_problems(labeled, plan, cfg):
        fold = rows.fold
        if problem:
            notes.append(f"fold {fold.number} ({fold.test_start} .. {fold.test_end}) skipped: {problem}")
            continue
        thin = thin_fold_note(labeled, rows)
        notes += [thin] if thin else []
        say(f"backtest fold {fold.number}/{len(plan.folds)}: test {fold.test_start} .. {fold.test_end}")
        out = labeled[[CLIENT_ID, SNAPSHOT, LABEL]].iloc[rows.test].reset_index(drop=True)
        out[FOLD] = fold.number
        out[ANNOUNCED] = already_announced(labeled.iloc[rows.test])
        out[LAPSED] = already_lapsed(labeled.iloc[rows.test]) | out[ANNOUNCED].to_numpy()
        for contender in contenders:
            t0 = time.perf_counter()
            try:
                p, extra = contender.predict(labeled, X, y, rows)
            except _Skip as why:
                notes.append(
                    f"{contender.name}, fold {fold.number}: skipped ({why}); its pooled figures leave this "
                    "fold's rows out, the other contenders' keep them"
                )
                out[contender.name] = np.nan
                continue
            seconds[contender.name] += time.perf_counter() - t0
            out[contender.name] = p
            if "raw" in extra:
                out[f"{contender.name}_raw"] = extra["raw"]
            if "best_iteration" in extra and contender.name == "model":
                iterations.append(int(extra["best_iteration"]))
            fold_metric_rows.append(
                {FOLD: fold.number, "contender": contender.name, **binary_metrics(y[rows.test], p)}
            )
        frames.append(out)
    predictions = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    names = [c.name for c in contenders if c.name in predictions.columns]
    churners = fold_test_churners(predictions)
    notes += sparse_test_fold_notes([(f, churners[f.number]) for f in plan.folds if f.number in churners])
    notes += constant_contender_notes(predictions, names)
    return Backtest(
        plan=plan,
        predictions=predictions,
        fold_metrics=pd.DataFrame(fold_metric_rows),
        metrics=pooled_metrics(predictions, names),
        seconds={k: round(v, 2) for k, v in seconds.items()},
        best_iterations=iterations,
        notes=notes,
        test_churners=churners,
    )


def fold_test_churners(predictions: pd.DataFrame) -> dict[int, int]:
    """Fold number -> distinct churning clients of its test rows (``predictions``: one row per test row, ``fold``,
    ``client_id``, ``label``), folds in order; a fold whose test rows hold no churn label has 0. Read once per
    backtest: the sparse test fold notes and the evidence line ``churnml train`` prints both take it."""
    if predictions.empty:
        return {}
    counts = predictions.loc[predictions[LABEL] == 1].groupby(FOLD)[CLIENT_ID].nunique()
    return {int(f): int(counts.get(f, 0)) for f in sorted(predictions[FOLD].unique())}


def constant_contender_notes(predictions: pd.DataFrame, names: Sequence[str]) -> list[str]:
    """A note for each contender but the model that gives every test row of a fold the same probability (the
    rules when none fires on any test row: an app whose clients are inactive after 28 days never meets "no
    activity for 90 days"): its PR-AUC is the churn rate, and beating it says nothing. Judged fold by fold
    (``fold`` column; the whole frame without it): each fold calibrates its own constant (its training rows'
    churn rate), so over several folds the values differ (0.161 and 0.164) and the constant went unsaid."""
    out = []
    folds = predictions[FOLD] if FOLD in predictions.columns else pd.Series(0, index=predictions.index)
    for name in names:
        if name == "model" or name not in predictions.columns:
            continue
        known = predictions[name].notna()
        distinct = predictions.loc[known, name].groupby(folds[known]).nunique()
        if int(known.sum()) > 1 and bool((distinct == 1).all()):
            why = " (no rule fires on any test row)" if name == "rules" else ""
            where = " of a fold" if distinct.size > 1 else ""
            out.append(
                f"{name} gives every test row{where} the same score{why}: its PR-AUC is the churn rate, and "
                "beating it says nothing about the model"
            )
    return out


def already_lapsed(rows: pd.DataFrame) -> np.ndarray:
    """Per row of a labeled table, whether its ``churned_at`` is at or before its snapshot: a client in
    its grace period (its term ended, no renewal yet), listed and labeled 1 unless it renews. Such rows are
    easy (the term's end alone ranks them) and not an early warning; False without a ``churned_at``."""
    if "churned_at" not in rows.columns:
        return np.zeros(len(rows), dtype=bool)
    churned = pd.to_datetime(rows["churned_at"])
    snapshot = pd.to_datetime(rows[SNAPSHOT])
    return (churned.notna() & (churned <= snapshot)).to_numpy()


# the cancellation requests of the last weeks: a client that asked to cancel has announced its leaving
ANNOUNCING_FEATURES = ("support_cancellation_requests_28d", "support_cancellation_requests_91d")


def already_announced(rows: pd.DataFrame) -> np.ndarray:
    """Per row of a labeled table, whether its client asked to cancel in the weeks before its snapshot (a
    cancellation request within the widest of :data:`ANNOUNCING_FEATURES` it holds); False without them.
    An operator's red zone was 76% customers who had given notice: its PR-AUC fell from 0.53 to 0.19
    without them, the early warning itself."""
    present = [c for c in ANNOUNCING_FEATURES if c in rows.columns]
    if not present:
        return np.zeros(len(rows), dtype=bool)
    return (rows[present[-1]].fillna(0) > 0).to_numpy()


# the features that say how long a client has been quiet (the inactivity label's activity: events, orders)
QUIET_FEATURES = ("usage_days_since_event", "payments_days_since_payment")


def already_quiet(rows: pd.DataFrame, quiet_days: float) -> np.ndarray:
    """Per row of a labeled table, whether its client had been quiet (no event, no order: the fewest days
    since either, :data:`QUIET_FEATURES`) for at least ``quiet_days`` at its snapshot; False without those
    features. Under the inactivity label such rows are nearly all positive (a game's players quiet 8-14
    days: 99%), so they lift a PR-AUC that says little of the early warning (0.95 pooled, 0.68 on the
    players active in the last three days)."""
    present = [c for c in QUIET_FEATURES if c in rows.columns]
    if not present:
        return np.zeros(len(rows), dtype=bool)
    days = rows[present].astype(float).min(axis=1, skipna=True)
    return (days >= quiet_days).fillna(False).to_numpy(dtype=bool)


def with_quiet_rows(backtest: Backtest, labeled: pd.DataFrame, quiet_days: float) -> Backtest:
    """``backtest`` with its test rows of clients already quiet for ``quiet_days`` (:func:`already_quiet`,
    read from ``labeled``, the table the backtest ran on) marked :data:`QUIET` and :data:`LAPSED`: the
    "not lapsed" figures then leave them out."""
    preds = backtest.predictions
    if preds.empty:
        return backtest
    keyed = labeled[[CLIENT_ID, SNAPSHOT]].assign(_quiet=already_quiet(labeled, quiet_days))
    quiet = preds[[CLIENT_ID, SNAPSHOT]].merge(keyed, on=[CLIENT_ID, SNAPSHOT], how="left")["_quiet"]
    mask = quiet.fillna(False).to_numpy(dtype=bool)
    lapsed = preds[LAPSED].to_numpy(dtype=bool) if LAPSED in preds.columns else np.zeros(len(preds), bool)
    return replace(backtest, predictions=preds.assign(**{QUIET: mask, LAPSED: lapsed | mask}))


def not_lapsed_metrics(predictions: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """:func:`pooled_metrics` over the test rows whose client had not already lapsed (``already_lapsed``
    False): the early-warning skill, without the grace-period rows the term's end alone ranks (a
    streaming service's 0.63 pooled PR-AUC was 0.33 on these). Empty when no row lapsed."""
    if predictions.empty or LAPSED not in predictions.columns or not predictions[LAPSED].any():
        return pd.DataFrame()
    return pooled_metrics(predictions.loc[~predictions[LAPSED].astype(bool)], names)


def pooled_metrics(predictions: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """One row per contender: metrics pooled over the test rows it predicted (``n``: how many).

    The model and the baselines predict every fold's test rows, so they are judged on the same rows, all
    of them; a contender skipped in a fold (the oracle where the truth does not know the clients) is
    judged on its own rows only. Keeping only the rows every contender predicted would drop that fold
    from the model's and the baselines' figures without a word (800 of 1,600 rows: a logistic 0.3366
    where its every row gave 0.3423)."""
    if predictions.empty:
        return pd.DataFrame()
    cols = [n for n in names if predictions[n].notna().any()]
    y = predictions[LABEL].to_numpy(dtype=float)
    figures = {}
    for name in cols:
        p = predictions[name].to_numpy(dtype=float)
        known = ~np.isnan(p)
        figures[name] = binary_metrics(y[known], p[known])
    table = pd.DataFrame(figures).T
    table.index.name = "contender"
    return table


# ----------------------------------------------------------------------------------------------
# the deployed model
# ----------------------------------------------------------------------------------------------
@dataclass
class TrainingResult:
    """Everything one training run produced (see the module docstring).

    ``model``: the deployed model (refit on every labeled row). ``training_window``: its first and last
    labeled snapshot. ``rounds``: its boosting rounds and where they came from; ``calibration_source``:
    what its calibrator was fitted on. ``backtest``: the out-of-time evidence (may hold no fold).
    ``X_sample``: a sample of every labeled row (SHAP summary, input example); ``X_reference``: a sample
    of the last quarter's rows (the drift reference, :func:`recent_rows`), ``reference_clients`` the client of
    each of them (a value repeated over one client's snapshots is one client's), ``feature_reference`` their
    distribution (:func:`churnml.modeling.export.feature_reference`) and ``season_reference`` the last year's
    snapshots on its bins (:func:`churnml.modeling.export.season_reference`). ``extra_trees``: how
    ``train.extra_trees: auto`` was decided for this table (None when the config set it). ``settings``: the
    train settings the backtest and the deployed model were built with, every ``auto`` decided for this
    table (:func:`decided_for_table`): the recipe a champion is compared on.
    """

    model: ChurnModel
    backtest: Backtest
    features: list[str]
    training_window: tuple[date, date]
    rows: dict[str, int]
    rounds_source: str
    calibration_source: str
    rules_used: list[str]
    X_sample: pd.DataFrame
    monotone: dict[str, int]
    settings: TrainConfig
    X_reference: pd.DataFrame = field(default_factory=pd.DataFrame)
    reference_clients: list[Any] = field(default_factory=list)  # the client of each row of X_reference
    # export.feature_reference of X_reference, and its last year's snapshots on the same bins (season_reference)
    feature_reference: dict[str, Any] = field(default_factory=dict)
    season_reference: dict[str, Any] = field(default_factory=dict)
    monthly: dict[str, pd.DataFrame] = field(default_factory=dict)
    calibration: dict[str, pd.DataFrame] = field(default_factory=dict)
    gains: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra_trees: str | None = None

    @property
    def plan(self) -> BacktestPlan:
        return self.backtest.plan

    @property
    def metrics(self) -> pd.DataFrame:
        """Pooled out-of-fold metrics, one row per contender (empty without a fold)."""
        return self.backtest.metrics


def _labels_text(labeled: pd.DataFrame, idx: np.ndarray) -> str:
    """How many rows (positions ``idx`` in ``labeled``) and churn labels they hold, and of how many churning
    clients ("2,496 rows, 141 churn labels of 22 churning clients"): a client labeled 1 at a dozen weekly
    snapshots is one churner, not twelve (the count ``calibration: auto`` reads, :func:`calibrator_for`)."""
    rows = labeled.iloc[idx]
    positives = int(rows[LABEL].sum())
    clients = churning_clients(rows)
    return (
        f"{len(rows):,} rows, {positives:,} churn label{'s' if positives != 1 else ''} of {clients:,} churning "
        f"client{'s' if clients != 1 else ''}"
    )


def _deployed_model(
    labeled: pd.DataFrame,
    features: list[str],
    bt: Backtest,
    cfg: TrainConfig,
    tuned: Mapping[str, Any] | None,
    monotone: Mapping[str, int] | None,
    progress: Callable[[str], None] | None = None,
) -> tuple[ChurnModel, str, str]:
    """The model refit on every labeled row, with its rounds and calibration (module docstring);
    ``progress`` hears each LightGBM fit as it starts ("deployed model 2/5: ...")."""
    say = progress or (lambda _m: None)
    X = labeled[features]
    y = labeled[LABEL].to_numpy(dtype=float).astype(int)
    parts = cross_fit_parts(cfg, len(labeled))
    if parts > 1:
        every = np.arange(len(y))
        model = cross_fitted_model(
            labeled, X, y, every, parts, cfg, tuned, monotone, lambda m: say(f"deployed {m}")
        )
        if model is not None:
            return (
                model,
                f"{model.best_iteration_} trees: the mean of {parts} models cross-fitted on client parts, "
                + rounds_text(cfg.cross_fit_rounds, model.part_iterations_),
                f"out-of-fold raw scores of every labeled row ({_labels_text(labeled, every)}), "
                f"each scored by the one of the {parts} models that never saw its client",
            )
    held_out = holdout_clients(labeled[CLIENT_ID], cfg.holdout_share, cfg.seed, y)
    fit, ho = np.flatnonzero(~held_out), np.flatnonzero(held_out)
    ho_clients = labeled[CLIENT_ID].to_numpy()[ho]  # calibration auto counts churning clients
    for part, idx in (("training", fit), ("held-out", ho)):
        if idx.size == 0 or y[idx].sum() in (0, idx.size):
            raise ValueError(
                f"the {part} clients' labeled rows hold one class only ({_labels_text(labeled, idx)}): too few "
                "labeled snapshots or churners to train a model yet"
            )
    if bt.best_iterations:
        rounds = max(1, int(np.median(bt.best_iterations)))
        rounds_source = f"median early-stopped rounds of the backtest folds {bt.best_iterations}"
        twin = model_from_config(cfg, {**dict(tuned or {}), "n_estimators": rounds}, monotone)
        learn, weight = _sampled(fit, y, labeled, cfg)
        say(f"deployed model 1/2: the twin, {rounds:,} rounds on {learn.size:,} rows (calibration)")
        twin.fit(
            Rows(X, learn),
            y[learn],
            calib_set=(Rows(X, ho), y[ho]),
            sample_weight=weight,
            calibration_clients=ho_clients,
        )
    else:
        twin = model_from_config(cfg, tuned, monotone)
        learn, weight = _sampled(fit, y, labeled, cfg)
        say(
            f"deployed model 1/2: the twin on {learn.size:,} rows, stopping early on {ho.size:,} (rounds, calibration)"
        )
        twin.fit(
            Rows(X, learn),
            y[learn],
            eval_set=(Rows(X, ho), y[ho]),
            sample_weight=weight,
            calibration_clients=ho_clients,
        )
        rounds = twin.best_iteration_
        rounds_source = f"early stopping on the {cfg.holdout_share:.0%} held-out clients (no backtest fold)"
    raw = twin.raw_score(Rows(X, ho))
    calib_source = (
        f"the held-out clients' rows ({_labels_text(labeled, ho)}, every labeled snapshot) "
        f"scored by a twin trained the same way on the other clients"
    )
    final = model_from_config(cfg, {**dict(tuned or {}), "n_estimators": rounds}, monotone)
    every, weight = _sampled(np.arange(len(y)), y, labeled, cfg)
    say(f"deployed model 2/2: {rounds:,} rounds on {every.size:,} rows")
    rate = float(y.mean())  # the held-out clients may be enriched in churners: weighted back to this
    if weight is None and every.size == len(y):
        final.fit(
            X, y, calibration_scores=(raw, y[ho]), calibration_rate=rate, calibration_clients=ho_clients
        )
    else:
        final.fit(
            Rows(X, every),
            y[every],
            calibration_scores=(raw, y[ho]),
            sample_weight=weight,
            calibration_rate=rate,
            calibration_clients=ho_clients,
        )
    return final, f"{rounds} ({rounds_source})", calib_source


def deployed_fit_text(
    labeled: pd.DataFrame, bt: Backtest, cfg: TrainConfig, tuned: Mapping[str, Any] | None = None
) -> str:
    """What the deployed fit (:func:`_deployed_model`) is about to do, said before it starts: its rows and
    churn labels, and its models and rounds ("5 models cross-fitted on client parts, each at most 2,000
    rounds, early-stopped on its own part (100 rounds without gain)"; one model: the backtest's median
    rounds, or early stopping on the held-out clients)."""
    y = labeled[LABEL].to_numpy(dtype=float).astype(int)
    head = f"training the deployed model on every labeled row ({_labels_text(labeled, np.arange(len(y)))})"
    cap = lightgbm_params({**cfg.lightgbm, **dict(tuned or {})})[1]
    parts = cross_fit_parts(cfg, len(labeled))
    if parts > 1:
        part = client_parts(labeled[CLIENT_ID].to_numpy(), parts, cfg.seed, y)
        if _usable_parts(y, part, parts):
            return (
                f"{head}: {parts} models cross-fitted on client parts, each at most {cap:,} rounds, early-stopped "
                f"on its own part ({cfg.early_stopping_rounds} rounds without gain)"
            )
    if bt.best_iterations:
        rounds = max(1, int(np.median(bt.best_iterations)))
        return (
            f"{head}: one model of {rounds:,} rounds (median early-stopped rounds of the backtest folds "
            f"{bt.best_iterations}), after a twin of as many rounds on the other clients for its calibration"
        )
    return (
        f"{head}: one model, its rounds (at most {cap:,}) early-stopped on the {cfg.holdout_share:.0%} held-out "
        "clients by a twin trained on the others, which also calibrates it"
    )


def recent_rows(
    labeled: pd.DataFrame, features: list[str], seed: int, days: int = REFERENCE_DAYS
) -> pd.DataFrame:
    """A sample (at most 20,000) of the feature rows of the last ``days`` of labeled snapshots: the
    reference of the drift check. The whole training window would not do: its early snapshots have the
    long windows unknown (the data had not started), which is not the distribution scoring will see.

    For the same reason a recent snapshot is left out when it misses a feature entirely (null on all its
    rows, a window reaching before the data's first day) that the last labeled snapshot knows: on young
    data the 182-day windows become known inside those 91 days, and the share of nulls before that would
    read as drift at every scoring run. Grain: client x snapshot, columns ``features``.
    """
    snaps = pd.to_datetime(labeled[SNAPSHOT])
    recent = labeled.loc[snaps >= snaps.max() - pd.Timedelta(days=days - 1), features]
    recent_snaps = snaps.loc[recent.index]
    known = recent.notna().groupby(recent_snaps.to_numpy()).any()
    needed = known.loc[known.index.max()]
    complete = known.index[known.loc[:, needed].all(axis=1)]
    recent = recent.loc[recent_snaps.isin(complete).to_numpy()]
    return recent.sample(n=min(len(recent), 20_000), random_state=seed)


def no_labels_message(horizon_days: int, lag_days: int, fitting_horizon: int | None = None) -> str:
    """Why a table has no labeled row, and what to change; ``fitting_horizon``: the longest horizon
    that would label a few snapshots of this data (:func:`churnml.labels.fitting_horizon`), if any."""
    hint = (
        f" (with this data, label.horizon_days: {fitting_horizon} or less labels the first 4 weekly snapshots)"
        if fitting_horizon is not None
        else ""
    )
    return (
        f"no labeled snapshot yet: a snapshot gets its label once its horizon ({horizon_days} days) plus the "
        f"label lag ({lag_days} days) has passed; use longer data or a shorter label.horizon_days{hint}"
    )


def churn_days(labeled: pd.DataFrame) -> np.ndarray:
    """The day of every churn behind the churn labels (``datetime64[D]``, sorted): one per distinct
    (``client_id``, ``churned_at``) of the rows labeled 1; empty without a ``churned_at`` column."""
    if Churns.CHURNED_AT not in labeled.columns:
        return np.array([], dtype="datetime64[D]")
    churned = labeled.loc[labeled[LABEL] == 1, [CLIENT_ID, Churns.CHURNED_AT]].dropna().drop_duplicates()
    return np.sort(as_dates(pd.to_datetime(churned[Churns.CHURNED_AT])))


def clustered_churns_text(days: np.ndarray, most: float = 0.8, at_most: int = 3) -> str | None:
    """How the churn ``days`` (one per churn) cluster, when ``at_most`` days hold ``most`` of them or more:
    "38 of 38 churns fall on 2025-09-01", "37 of 40 churns fall on 2 days (2025-09-01, 2025-09-08)".
    None when they spread over more days (or there is none)."""
    if days.size == 0:
        return None
    values, counts = np.unique(days, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:at_most]
    for k in range(1, order.size + 1):
        held = int(counts[order[:k]].sum())
        if held >= most * days.size:
            top = sorted(str(v) for v in values[order[:k]])
            where = top[0] if k == 1 else f"{k} days ({', '.join(top)})"
            return f"{held:,} of {days.size:,} churns fall on {where}"
    return None


def _labeled_by(snapshots: np.ndarray, days: np.ndarray, horizon_days: int, lag_days: int) -> bool:
    """Whether a churn on one of ``days`` labels a row of one of ``snapshots`` 1: a churn on day ``c``
    labels the snapshots ``c - horizon_days < s <= c + lag_days`` (within the horizon before it, and in the
    label lag after it, the grace of a term that ended unrenewed: :func:`churnml.labels.labeled_spine`)."""
    if snapshots.size == 0 or days.size == 0:
        return False
    s, c = snapshots[:, None], days[None, :]
    return bool(
        ((s > c - np.timedelta64(horizon_days, "D")) & (s <= c + np.timedelta64(lag_days, "D"))).any()
    )


def _a_fold_spans_churns(
    plan: BacktestPlan, snapshots: Any, days: np.ndarray, horizon_days: int, lag_days: int
) -> bool:
    """Whether a fold of ``plan`` has training snapshots and test snapshots (of ``snapshots``) that churns on
    ``days`` label 1 (:func:`_labeled_by`)."""
    snaps = np.unique(as_dates(snapshots))
    for fold in plan.folds:
        train, test = fold.masks(snaps)
        if _labeled_by(snaps[train], days, horizon_days, lag_days) and _labeled_by(
            snaps[test], days, horizon_days, lag_days
        ):
            return True
    return False


def earliest_estimate_end(
    days: np.ndarray,
    upcoming: Sequence[date],
    snapshots: Any,
    cfg: TrainConfig,
    horizon_days: int,
    lag_days: int,
) -> date | None:
    """The earliest data end (``Dataset.as_of``: midnight after the last day) at which a backtest fold of
    :func:`churnml.modeling.backtest.backtest_plan` could hold churners both in its training rows and in its
    test rows, if clients churn on the ``upcoming`` days (the days churns can next happen: the running terms'
    ends) beside the churn ``days`` already labeled. ``snapshots``: the labeled snapshot dates; more data
    labels the next weeks of their grid (a snapshot is labeled once ``horizon_days + lag_days`` have passed).
    None without an upcoming day, or when none gives such a fold."""
    later = np.unique(as_dates(list(upcoming)))
    grid = np.unique(as_dates(snapshots))
    if later.size == 0 or grid.size == 0:
        return None
    churns = np.unique(np.concatenate([days.astype("datetime64[D]"), later]))
    week = np.timedelta64(7, "D")
    last = grid[-1] + week
    stop = later.max() + np.timedelta64(lag_days, "D")  # past it, no new test row sees an upcoming churn
    while last <= stop:
        snaps = np.arange(grid[0], last + np.timedelta64(1, "D"), week)
        if _a_fold_spans_churns(
            backtest_plan(snaps, cfg, horizon_days, lag_days), snaps, churns, horizon_days, lag_days
        ):
            return (last + np.timedelta64(horizon_days + lag_days, "D")).astype(date)
        last = last + week
    return None


def no_judged_fold_note(
    labeled: pd.DataFrame,
    plan: BacktestPlan,
    fold_notes: Sequence[str],
    cfg: TrainConfig,
    horizon_days: int,
    lag_days: int,
    upcoming: Sequence[date] = (),
    data_end: date | None = None,
) -> str:
    """The one note of a backtest whose folds were all skipped (``fold_notes``: each fold's reason).

    When the churns cluster on a few days (:func:`clustered_churns_text`, e.g. every contract renewing
    on 1 September), it says so and why no fold can hold churners both in its training and in its test
    rows: one day's churns label only the snapshots from ``horizon_days`` before it to ``lag_days`` after
    it, and a fold's test snapshots come ``horizon_days + lag_days`` or more after its training snapshots.
    Then what data would give an estimate: with ``upcoming`` (the days churns can next happen: the active
    clients' term ends), :func:`earliest_estimate_end`, and how many days after ``data_end``
    (``Dataset.as_of``; without it, after the least data end that labels the last labeled snapshot, said as
    "about"). Otherwise the generic reason: each fold needs churners in its training, held-out and test
    rows."""
    per_fold = "; ".join(fold_notes)
    days = churn_days(labeled)
    cluster = clustered_churns_text(days)
    # no cluster, or the churns reach both sides of a fold (the cluster is not what skipped them): the generic
    if cluster is None or _a_fold_spans_churns(plan, labeled[SNAPSHOT], days, horizon_days, lag_days):
        return (
            f"no backtest fold could be judged: {per_fold}. A fold needs churners in its training, held-out and "
            "test rows: more labeled history, with churns spread over it, gives one"
        )
    gap = horizon_days + lag_days
    why = (
        f"{cluster}, so no fold holds churners both in its training and in its test rows: a day's churns label "
        f"only the snapshots from label.horizon_days ({horizon_days}) before it to the label lag ({lag_days}) "
        f"after it, and a fold's test snapshots come {gap} days or more after its training snapshots"
    )
    end = earliest_estimate_end(days, upcoming, labeled[SNAPSHOT], cfg, horizon_days, lag_days)
    if end is not None:
        later = sorted(set(upcoming))
        ahead = str(later[0]) if len(later) == 1 else f"{later[0]} .. {later[-1]}"
        now = data_end or (plan.last + timedelta(days=gap) if plan.last is not None else end)
        more = (end - now).days
        about = "" if data_end else "about "
        when = (
            f"; churns at the next term ends ({ahead}) would give one with data up to {end - timedelta(days=1)} "
            f"at the earliest" + (f" ({about}{more} more days of data)" if more > 0 else "")
        )
    else:
        when = "; churns on a later day will give one once the snapshots before them are labeled"
    return f"no backtest fold could be judged: {why}{when}. Per fold: {per_fold}"


def train_and_compare(
    table: pd.DataFrame,
    cfg: TrainConfig,
    horizon_days: int,
    tuned: Mapping[str, Any] | None = None,
    oracle: Callable[[pd.DataFrame], np.ndarray] | None = None,
    progress: Callable[[str], None] | None = None,
    lag_days: int = 0,
    monotone: Mapping[str, int] | None = None,
    unlabeled_rows: int = 0,
    rules: tuple[Rule, ...] = RULES,
    upcoming: Sequence[date] = (),
    data_end: date | None = None,
    on_backtest: Callable[[Backtest, str], None] | None = None,
) -> TrainingResult:
    """Backtest the model and the baselines, then refit the deployed model on every labeled row.

    ``oracle(rows)`` (optional) returns the true churn probability of each (client_id, snapshot) row.
    ``lag_days``: days after the horizon until a label is known (``labels.label_lag_days``).
    ``monotone``: feature -> direction constraints (used when ``cfg.monotone``).
    ``unlabeled_rows``: unlabeled rows already left out of ``table`` (counted in ``rows``).
    ``rules``: the rule score's rules under the list's settings (:func:`churnml.modeling.baselines.baseline_rules` of ``cfg.rules``).
    ``upcoming``: the days churns can next happen (the active clients' term ends): when every fold is
    skipped, what data would give one (:func:`no_judged_fold_note`), counted in days after ``data_end``
    (the data's end, ``Dataset.as_of``).
    ``on_backtest(backtest, plan)`` (optional) hears the backtest as soon as it ends, before the deployed
    fit, with what that fit is about to do (:func:`deployed_fit_text`): ``train`` prints the out-of-time
    figures then, so a run stopped during the long deployed fit has said them. Without it, ``progress``
    hears the plan.
    """
    say = progress or (lambda _msg: None)
    labeled = labeled_rows(table)
    features = feature_columns(labeled)
    if not features:
        raise ValueError("the labeled table has no numeric feature columns")
    if labeled.empty:
        raise ValueError(no_labels_message(horizon_days, lag_days))
    monotone = dict(monotone or {}) if cfg.monotone else {}
    cfg, decided = decided_for_table(cfg, labeled)
    for why in decided.values():
        say(why)
    extra_trees = decided.get("extra_trees")
    plan = backtest_plan(labeled[SNAPSHOT], cfg, horizon_days, lag_days)
    if not plan.has_folds:  # said now, before the long fit: the closing notes say what data would give one
        say(f"{plan.summary()} (the notes at the end say whether other settings give one now)")
    contenders = standard_contenders(cfg, tuned, monotone, features, oracle, rules)
    bt = run_backtest(labeled, features, plan, contenders, cfg, say)
    notes = list(bt.notes)
    if not bt.has_estimate:  # one note: the skipped folds' reasons said once, inside it
        notes = (
            [plan.summary(), *notes]
            if not plan.has_folds
            else [
                no_judged_fold_note(labeled, plan, bt.notes, cfg, horizon_days, lag_days, upcoming, data_end)
            ]
        )
    fit_plan = deployed_fit_text(labeled, bt, cfg, tuned)
    if on_backtest is not None:
        on_backtest(bt, fit_plan)
    else:
        say(fit_plan)
    model, rounds_source, calib_source = _deployed_model(labeled, features, bt, cfg, tuned, monotone, say)
    snaps = pd.to_datetime(labeled[SNAPSHOT])
    y = labeled[LABEL].to_numpy(dtype=float)
    result = TrainingResult(
        model=model,
        backtest=bt,
        features=features,
        training_window=(snaps.min().date(), snaps.max().date()),
        rows={
            "labeled": len(labeled),
            "positives": int(y.sum()),
            "unlabeled": len(table) - len(labeled) + unlabeled_rows,
            "backtest_test": len(bt.predictions),
        },
        rounds_source=rounds_source,
        calibration_source=calib_source,
        rules_used=rule_risk_score(labeled[features].iloc[:1], rules)[1],
        X_sample=labeled[features].sample(n=min(len(labeled), 20_000), random_state=cfg.seed),
        monotone=dict(monotone),
        settings=cfg,
        notes=notes,
        X_reference=(reference := recent_rows(labeled, features, cfg.seed)),
        reference_clients=(holders := labeled.loc[reference.index, CLIENT_ID].tolist()),
        feature_reference=(bins := feature_reference(reference, clients=holders or None)),
        season_reference=season_reference(labeled, bins, SNAPSHOT),
        extra_trees=extra_trees,
    )
    if bt.has_estimate:
        preds = bt.predictions
        names = list(bt.metrics.index)
        result.monthly = {n: metrics_by_month(preds[LABEL], preds[n], preds[SNAPSHOT]) for n in names}
        result.calibration = {n: calibration_table(preds[LABEL], preds[n]) for n in names}
        result.gains = {n: gain_curve(preds[LABEL], preds[n]) for n in names}
    return result


def fold_summary(bt: Backtest, metric: str = "pr_auc") -> pd.DataFrame:
    """Mean and spread (standard deviation) of one metric over the folds, one row per contender."""
    if bt.fold_metrics.empty:
        return pd.DataFrame(columns=["mean", "std", "folds"])
    g = bt.fold_metrics.groupby("contender")[metric]
    out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=0), "folds": g.size()})
    return out.loc[[c for c in bt.metrics.index if c in out.index]]


def fold_means(bt: Backtest) -> pd.DataFrame:
    """Every metric averaged over the folds, one row per contender (empty without a fold)."""
    if bt.fold_metrics.empty:
        return pd.DataFrame()
    means = bt.fold_metrics.drop(columns=[FOLD]).groupby("contender").mean()
    return means.loc[[c for c in bt.metrics.index if c in means.index]]


def comparison_markdown(metrics: pd.DataFrame, columns: tuple[str, ...] | None = None) -> str:
    """The contenders x metrics table as GitHub markdown (no extra dependency)."""
    cols = list(columns or [c for c in metrics.columns if c not in ("positives", "n", "base_rate")])
    lines = ["| contender | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for name, row in metrics.iterrows():
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.4f}" for c in cols) + " |")
    return "\n".join(lines) + "\n"
