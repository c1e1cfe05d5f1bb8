"""LightGBM churn model with early stopping, monotone constraints and a held-out probability calibration.

Grain: one row per client x snapshot. ``X`` is a pandas frame of float feature columns (NaN allowed:
LightGBM routes missing values itself); ``y`` is 0/1 "churns within the horizon".

:class:`ChurnModel` follows the sklearn estimator rules: ``__init__`` only stores parameters,
``fit`` returns ``self``, fitted attributes end in ``_``. The booster ranks; the calibrator maps the
booster's raw score (log-odds) to a probability of churn within the horizon. Class imbalance is
handled with ``scale_pos_weight = (negatives / positives) ** imbalance_power``; the reweighting
distorts the raw probabilities, which the calibration (on held-out or out-of-fold rows) fixes.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from churnml.config import TrainConfig

__all__ = [
    "ChurnModel",
    "Rows",
    "ScoreCalibrator",
    "calibrator_for",
    "feature_matrix",
    "histogram_layout",
    "lightgbm_params",
    "mean_booster",
    "model_from_config",
    "monotone_directions",
    "rate_weights",
    "shared_best_iteration",
    "smoothed_best_iteration",
    "with_shared_rounds",
]

# Probabilities never reach exactly 0 or 1: an isotonic step of 0 would make log-loss infinite.
_EPS = 1e-4
# A tiny share of the raw sigmoid keeps the calibrated probability strictly increasing in the raw
# score, so isotonic plateaus do not create ties that would change the booster's ranking.
_TIE_BREAK = 1e-6


def _non_decreasing(
    platt: LogisticRegression, y: np.ndarray, weight: np.ndarray | None = None
) -> LogisticRegression:
    """``platt`` unchanged when its slope is positive; else the constant map to the calibration rows' churn
    rate (slope 0). A calibrator maps scores to probabilities and never reverses the model's ranking: a
    small held-out set where the score happens to run the wrong way (a few churners) would otherwise turn
    the ranking upside down on every other row. The tie-break of :meth:`ScoreCalibrator.predict` keeps the
    raw order under the constant."""
    if platt.coef_[0, 0] > 0:
        return platt
    rate = float(np.clip(np.average(y, weights=weight), _EPS, 1 - _EPS))
    platt.coef_ = np.zeros_like(platt.coef_)
    platt.intercept_ = np.array([np.log(rate / (1 - rate))])
    return platt


class ScoreCalibrator(BaseEstimator):
    """Maps a raw LightGBM score (log-odds) to a calibrated probability.

    ``method``: ``isotonic`` or ``sigmoid`` (Platt scaling: a logistic regression on the raw score).
    Fitted attributes: ``method_`` and ``isotonic_`` or ``logistic_``.
    """

    def __init__(self, method: str = "isotonic") -> None:
        self.method = method

    def fit(self, raw: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> ScoreCalibrator:
        """Fit the map on raw scores ``raw`` and labels ``y``; ``sample_weight`` weighs the rows (e.g.
        :func:`rate_weights`)."""
        raw = np.asarray(raw, dtype=float).ravel()
        y = np.asarray(y, dtype=float).ravel()
        if self.method == "isotonic":
            self.isotonic_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
                raw, y, sample_weight=sample_weight
            )
        elif self.method == "sigmoid":
            platt = LogisticRegression(C=1e6).fit(
                raw.reshape(-1, 1), y.astype(int), sample_weight=sample_weight
            )
            self.logistic_ = _non_decreasing(platt, y, sample_weight)
        else:
            raise ValueError(f"calibration method must be isotonic or sigmoid, not {self.method!r}")
        self.method_ = self.method
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=float).ravel()
        if self.method_ == "isotonic":
            p = self.isotonic_.predict(raw)
        else:
            p = self.logistic_.predict_proba(raw.reshape(-1, 1))[:, 1]
        p = np.clip(p, _EPS, 1 - _EPS)
        return p * (1 - _TIE_BREAK) + _TIE_BREAK * expit(raw)


def smoothed_best_iteration(curve: Any, share: float = 0.1) -> int:
    """The 1-based round that maximises ``curve`` (a validation metric per round, higher is better)
    after a centred moving average over ``share`` of the rounds (at least 5): on a small held-out set
    the raw curve's maximum is often a spike a few rounds in."""
    values = np.asarray(curve, dtype=float)
    width = max(5, round(share * values.size))
    smooth = pd.Series(values).rolling(width, center=True, min_periods=1).mean().to_numpy()
    return int(np.argmax(smooth)) + 1


def shared_best_iteration(curves: Sequence[Any], share: float = 0.1) -> int:
    """The 1-based round that maximises the mean of ``curves`` (one validation curve per cross-fitted part,
    all of one length, higher is better) after :func:`smoothed_best_iteration`'s moving average: one number
    of rounds for every part, as ``lightgbm.cv`` reads it off the folds' mean curve. Each part's own curve
    comes from a fifth of the clients and its maximum is noisy (13 and 208 rounds for two parts of one
    fold of 2,000 generated clients; docs/benchmarks.md)."""
    lengths = {len(c) for c in curves}
    if len(lengths) != 1:
        raise ValueError(
            f"the validation curves differ in length ({sorted(lengths)}): extend them to one length"
        )
    return smoothed_best_iteration(np.mean(np.asarray(curves, dtype=float), axis=0), share)


def with_shared_rounds(models: Sequence[ChurnModel]) -> int:
    """Give every model of ``models`` (cross-fitted parts, each fitted with its own ``eval_set``) the same
    number of rounds, :func:`shared_best_iteration` of their validation curves once each has boosted on to
    the rounds of the one that ran longest (:meth:`ChurnModel.validation_curve`); returns that number. A
    booster that could grow no tree for some of those rounds keeps the trees it has."""
    longest = max(int(m.booster_.current_iteration()) for m in models)
    best = shared_best_iteration([m.validation_curve(longest) for m in models])
    for m in models:
        m.best_iteration_ = min(best, int(m.booster_.current_iteration()))
    return best


def rate_weights(y: np.ndarray, rate: float | None) -> np.ndarray | None:
    """Row weights under which the churn rate of the 0/1 labels ``y`` is ``rate`` (churners weighted
    ``rate / own rate``, the others ``(1 - rate) / (1 - own rate)``); ``None`` (no weights) when ``rate``
    is ``None`` or already theirs, or when ``y`` holds one class.

    The held-out clients of a small portfolio are enriched in churners
    (:func:`churnml.modeling.backtest.holdout_clients`) so that early stopping and calibration have some
    to learn from; a calibration on them, unweighted, would put every probability at their churn rate
    instead of the training rows'.
    """
    y = np.asarray(y, dtype=float)
    own = float(y.mean()) if y.size else 0.0
    if rate is None or own in (0.0, 1.0) or np.isclose(rate, own, rtol=1e-9, atol=0.0):
        return None
    return np.where(y == 1, rate / own, (1 - rate) / (1 - own))


def calibrator_for(
    raw: np.ndarray,
    y: np.ndarray,
    method: str,
    min_isotonic_positives: int,
    rate: float | None = None,
    clients: np.ndarray | None = None,
) -> ScoreCalibrator:
    """A :class:`ScoreCalibrator` fitted on raw scores ``raw`` with labels ``y``.

    ``method`` ``auto`` picks isotonic with at least ``min_isotonic_positives`` positives (enough
    points for a stepwise map), else sigmoid (Platt scaling, two parameters). With ``clients`` (each
    row's client id) the positives are counted as churning clients, not rows: a client labeled at a
    dozen weekly snapshots is one churn (25 accounts' 288 positive rows gave an isotonic map of 12
    steps, 100% among them). ``rate``: the churn rate the calibration rows stand for (the rows are
    weighted to it, :func:`rate_weights`; ``None``: their own).
    """
    y = np.asarray(y).astype(int)
    if y.sum() == 0 or y.sum() == len(y):
        raise ValueError("the calibration rows hold only one class; cannot calibrate")
    if method == "auto":
        positives = int(y.sum()) if clients is None else len(np.unique(np.asarray(clients)[y == 1]))
        method = "isotonic" if positives >= min_isotonic_positives else "sigmoid"
    return ScoreCalibrator(method).fit(raw, y, rate_weights(y, rate))


def lightgbm_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """sklearn-style LightGBM parameters -> (native ``lgb.train`` params, number of boosting rounds)."""
    native = dict(params)
    rounds = 1000
    for alias in ("num_iterations", "num_boost_round", "n_estimators"):
        if alias in native:
            rounds = int(native.pop(alias))
    return native, rounds


# rows LightGBM reads at once from a :class:`Rows` (and rows scored at once): ~120 MB of float64 at 239 features
_CHUNK_ROWS = 65_536


class Rows:
    """Rows ``idx`` (positions) of a feature frame, not copied: a model fits on them through an
    ``lgb.Sequence`` that hands LightGBM a chunk at a time, and scores them chunk by chunk. On a
    portfolio's float32 training table this saves a copy of most of the table per fit (same model:
    LightGBM samples and bins the same rows either way)."""

    def __init__(self, frame: pd.DataFrame, idx: np.ndarray) -> None:
        self.frame = frame
        self.idx = np.asarray(idx)

    @property
    def columns(self) -> pd.Index:
        return self.frame.columns

    def __len__(self) -> int:
        return int(self.idx.size)


class _RowSequence(lgb.Sequence):
    """LightGBM's batched reader over rows ``idx`` of ``matrix`` (float64 chunks, as it requires)."""

    batch_size = _CHUNK_ROWS

    def __init__(self, matrix: np.ndarray, idx: np.ndarray) -> None:
        self.matrix = matrix
        self.idx = idx

    def __getitem__(self, key: int | slice) -> np.ndarray:
        return np.asarray(self.matrix[self.idx[key]], dtype=np.float64)

    def __len__(self) -> int:
        return int(self.idx.size)


def _lightgbm_data(X: Any, names: Sequence[str]) -> Any:
    """What ``lgb.Dataset`` reads: the feature matrix, or a :class:`Rows`' rows as a sequence."""
    if isinstance(X, Rows):
        return _RowSequence(feature_matrix(X.frame, names), X.idx)
    return feature_matrix(X, names)


# the validation metric early stopping reads (higher is better): the one churnml reports (PR-AUC)
_STOPPING_METRIC = "average_precision"
_METRIC_ALIASES = ("metric", "metrics", "metric_types")
_NO_METRIC = frozenset(
    {"", "none", "null", "na", "custom"}
)  # LightGBM's "no metric": early stopping needs one


def early_stopping_metrics(params: Mapping[str, Any]) -> list[str]:
    """The ``metric`` list a :class:`ChurnModel` trains with, for the LightGBM parameters ``params``:
    ``average_precision`` first (early stopping reads it, ``first_metric_only``), then the metrics the
    parameters name under any alias (``metric``, ``metrics``, ``metric_types``; recorded, never read to
    stop); ``binary_logloss`` after it when they name none."""
    named: list[str] = []
    for alias in _METRIC_ALIASES:
        value = params.get(alias)
        if value is None:
            continue
        items = value.split(",") if isinstance(value, str) else list(value)
        named += [str(m).strip() for m in items if str(m).strip().lower() not in _NO_METRIC]
    rest = [m for m in dict.fromkeys(named) if m != _STOPPING_METRIC] or ([] if named else ["binary_logloss"])
    return [_STOPPING_METRIC, *rest]


# LightGBM's choices of how to build the histograms; it picks one by timing both on each fit when neither is set
_HISTOGRAM_LAYOUTS = ("force_col_wise", "force_row_wise")


def histogram_layout(params: Mapping[str, Any]) -> dict[str, bool]:
    """The histogram layout a :class:`ChurnModel` asks LightGBM for, given its LightGBM parameters ``params``:
    ``force_col_wise`` unless ``params`` name a layout themselves (then nothing: theirs stands).

    Without one LightGBM times both layouts at each fit and keeps the faster, so on a busy machine the choice
    (and the last bits of a histogram's sums) can change from one run to the next, and LightGBM asks for one
    to be set with ``deterministic``. Column-wise is also the cheaper one on churnml's tables wherever LightGBM
    would pick row-wise: a backtest fold of 30,000 generated clients (189,157 rows x 240 features, 622 rounds)
    took 24.4 s of CPU boosting against 36.6 s (row-wise, and LightGBM's own choice), the same trees; its
    largest fold (500,544 sampled, weighted rows, 1,372 rounds) 155 s against 296 s, the same rounds and test
    PR-AUC to every digit, the model text different in its last bits (the histograms' sums in another order) (docs/benchmarks.md, "Training at scale")."""
    if any(key in params for key in _HISTOGRAM_LAYOUTS):
        return {}
    return {"force_col_wise": True}


def _shared_rows(X: Any, calib: Any) -> int:
    """How many of the rows ``calib`` are rows of the training rows ``X`` (0: none): the same object, a
    :class:`Rows` over the same frame sharing positions, or a pandas frame with the same index labels and
    the same values. Two frames of other rows that happen to share index labels are not the same rows."""
    if calib is X:
        return len(X)
    if isinstance(X, Rows) and isinstance(calib, Rows):
        return int(np.intersect1d(X.idx, calib.idx).size) if X.frame is calib.frame else 0
    if isinstance(X, pd.DataFrame) and isinstance(calib, pd.DataFrame) and X.index.equals(calib.index):
        names = [c for c in X.columns if c in calib.columns]
        return len(X) if names and X[names].equals(calib[names]) else 0
    return 0


class ChurnModel(ClassifierMixin, BaseEstimator):
    """LightGBM binary classifier + calibration; outputs P(churn within the horizon).

    Parameters (stored only): ``params`` (LightGBM params, sklearn names allowed, ``n_estimators`` =
    maximum rounds with early stopping, exact rounds without), ``early_stopping_rounds``,
    ``calibration`` (``auto``/``isotonic``/``sigmoid``; auto = isotonic when the calibration data has
    at least ``min_isotonic_positives`` positives), ``imbalance_power``, ``monotone`` (feature name ->
    -1/0/+1: LightGBM monotone constraints of the risk; features not named are unconstrained),
    ``seed``, ``n_jobs``.

    Fitted attributes: ``booster_`` (``lightgbm.Booster``), ``calibrator_`` (:class:`ScoreCalibrator`),
    ``feature_names_``, ``best_iteration_``, ``scale_pos_weight_``, ``valid_scores_`` (best metrics on
    ``eval_set``; empty without it), ``valid_curve_`` (the early-stopping metric on ``eval_set`` per round;
    empty without it), ``monotone_constraints_`` (one per feature, in order).
    """

    def __init__(
        self,
        params: Mapping[str, Any] | None = None,
        early_stopping_rounds: int = 100,
        calibration: str = "auto",
        min_isotonic_positives: int = 200,
        imbalance_power: float = 0.5,
        monotone: Mapping[str, int] | None = None,
        seed: int = 42,
        n_jobs: int = 2,
    ) -> None:
        self.params = params
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.min_isotonic_positives = min_isotonic_positives
        self.imbalance_power = imbalance_power
        self.monotone = monotone
        self.seed = seed
        self.n_jobs = n_jobs

    # -- fitting ---------------------------------------------------------------------------------
    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        *,
        eval_set: tuple[pd.DataFrame, Any] | None = None,
        calib_set: tuple[pd.DataFrame, Any] | None = None,
        calibration_scores: tuple[np.ndarray, Any] | None = None,
        sample_weight: np.ndarray | None = None,
        calibration_rate: float | None = None,
        calibration_clients: Any = None,
    ) -> ChurnModel:
        """Train on ``X``; calibrate on held-out data.

        ``sample_weight`` (one per row of ``X``, e.g. 1 / share for sampled negatives) weighs the rows;
        ``scale_pos_weight`` then comes from the weighted class totals.

        - ``eval_set=(X_valid, y_valid)``: early stopping on the held-out rows picks the number of
          rounds: the maximum of the validation curve after a moving average
          (:func:`smoothed_best_iteration`), at most
          ``n_estimators``); without it the booster runs exactly ``n_estimators`` rounds (a refit
          whose number of rounds comes from a backtest).
        - Calibration data, first given wins: ``calibration_scores=(raw, y)`` (raw scores of other
          models on out-of-fold rows, e.g. a backtest's), ``calib_set=(X_calib, y_calib)``, or
          ``eval_set``. Calibrating on the training rows is warned of (a ``UserWarning``: the calibration
          is in-sample; churnml's own paths calibrate on held-out rows or out-of-fold scores, and a quick
          test or notebook may do it knowingly): ``calib_set`` / ``eval_set`` holding rows of ``X``
          (:func:`_shared_rows`: the same frame, the same index labels with the same values, or a
          :class:`Rows` over the same frame sharing positions).
        - ``calibration_rate``: the churn rate the calibration rows stand for, when their own differs
          (held-out clients enriched in churners): they are weighted to it (:func:`rate_weights`).
        - ``calibration_clients``: the client of each calibration row; ``calibration: auto`` then counts
          churning clients, not positive rows, against ``min_isotonic_positives`` (:func:`calibrator_for`).

        Early stopping reads the validation curve of ``average_precision`` whatever ``metric`` the
        parameters name (theirs are recorded beside it, :func:`early_stopping_metrics`): a lower-is-better
        metric read as the curve to maximise would pick the worst round.
        """
        y = _binary(y, "y")
        if y.sum() == 0 or y.sum() == len(y):
            raise ValueError("the training rows hold only one class; cannot train a churn model")
        self.feature_names_ = [str(c) for c in X.columns]
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        positives = float(w[y == 1].sum())
        self.scale_pos_weight_ = float(((float(w.sum()) - positives) / positives) ** self.imbalance_power)
        self.monotone_constraints_ = [int((self.monotone or {}).get(n, 0)) for n in self.feature_names_]
        native, rounds = lightgbm_params(self.params or {})
        metrics = early_stopping_metrics(native)
        native = {
            "objective": "binary",
            "verbosity": -1,
            "seed": self.seed,
            "deterministic": True,
            "num_threads": self.n_jobs,
            "scale_pos_weight": self.scale_pos_weight_,
            **{k: v for k, v in native.items() if k not in _METRIC_ALIASES},
            "metric": metrics,
            "first_metric_only": True,
        }
        native.update(histogram_layout(native))
        if any(self.monotone_constraints_):
            native["monotone_constraints"] = self.monotone_constraints_
        train_set = lgb.Dataset(
            _lightgbm_data(X, self.feature_names_), label=y, weight=sample_weight, free_raw_data=True
        )
        valid_sets, callbacks = [], []
        if eval_set is not None:
            y_valid = _binary(eval_set[1], "eval_set y")
            # a weighted train set breaks the metrics of a sequence-built validation set (NaN in
            # LightGBM 4.7): the validation rows are then copied (they are few: held-out clients)
            valid_X = eval_set[0]
            if isinstance(valid_X, Rows) and sample_weight is not None:
                valid_X = feature_matrix(valid_X.frame, self.feature_names_)[valid_X.idx]
            valid_sets = [
                lgb.Dataset(_lightgbm_data(valid_X, self.feature_names_), label=y_valid, reference=train_set)
            ]
            callbacks = [
                lgb.early_stopping(self.early_stopping_rounds, first_metric_only=True, verbose=False)
            ]
            curves: dict[str, Any] = {}
            callbacks.append(lgb.record_evaluation(curves))
        self.booster_ = lgb.train(
            native,
            train_set,
            num_boost_round=rounds,
            valid_sets=valid_sets,
            valid_names=["valid"][: len(valid_sets)],
            callbacks=callbacks,
            # with early stopping, keep the rounds after the best one: the smoothed best may lie there
            keep_training_booster=eval_set is not None,
        )
        self.best_iteration_ = int(self.booster_.best_iteration or self.booster_.current_iteration())
        self.valid_curve_ = []
        if eval_set is not None:
            self.valid_curve_ = [float(v) for v in curves["valid"][_STOPPING_METRIC]]
            self.best_iteration_ = smoothed_best_iteration(self.valid_curve_)
        self.valid_scores_ = {k: float(v) for k, v in self.booster_.best_score.get("valid", {}).items()}
        raw_calib, y_calib = self._calibration_data(X, eval_set, calib_set, calibration_scores)
        clients = None if calibration_clients is None else np.asarray(calibration_clients)
        if clients is not None and clients.size != y_calib.size:
            raise ValueError(
                f"calibration_clients holds {clients.size:,} client ids for {y_calib.size:,} calibration rows"
            )
        self.calibrator_ = calibrator_for(
            raw_calib, y_calib, self.calibration, self.min_isotonic_positives, calibration_rate, clients
        )
        self.classes_ = np.array([0, 1])
        return self

    def _calibration_data(
        self,
        X: Any,
        eval_set: tuple[pd.DataFrame, Any] | None,
        calib_set: tuple[pd.DataFrame, Any] | None,
        calibration_scores: tuple[np.ndarray, Any] | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        if calibration_scores is not None:
            return np.asarray(calibration_scores[0], dtype=float), _binary(
                calibration_scores[1], "calibration y"
            )
        chosen = calib_set if calib_set is not None else eval_set
        if chosen is None:
            raise ValueError(
                "no calibration data: pass calibration_scores (out-of-fold raw scores), calib_set or eval_set"
            )
        shared = _shared_rows(X, chosen[0])
        if shared:
            which = "calib_set" if calib_set is not None else "eval_set"
            warnings.warn(
                f"the calibration rows ({which}) are training rows ({shared:,} shared): a calibration on the "
                "rows the booster learned from is in-sample; pass held-out rows or out-of-fold scores",
                UserWarning,
                stacklevel=3,
            )
        return self.raw_score(chosen[0]), _binary(chosen[1], "calibration y")

    @classmethod
    def from_parts(
        cls,
        booster: lgb.Booster,
        calibrator: ScoreCalibrator,
        feature_names: list[str],
        params: Mapping[str, Any] | None = None,
    ) -> ChurnModel:
        """A fitted model rebuilt from its saved parts (see :mod:`churnml.modeling.export`)."""
        model = cls(params=dict(params or {}))
        model.booster_ = booster
        model.calibrator_ = calibrator
        model.feature_names_ = list(feature_names)
        model.best_iteration_ = int(booster.current_iteration())
        model.classes_ = np.array([0, 1])
        return model

    @classmethod
    def averaged(cls, models: Sequence[ChurnModel], calibrator: ScoreCalibrator) -> ChurnModel:
        """One model whose raw score is the mean raw score of ``models`` (fitted on the same features;
        see :func:`mean_booster`), calibrated by ``calibrator``: a cross-fitted model is exported,
        explained and scored as one LightGBM model. ``best_iteration_`` is its number of trees;
        ``scale_pos_weight_`` the models' mean; ``part_iterations_`` each model's rounds."""
        first = models[0]
        model = cls.from_parts(
            mean_booster([m.booster_ for m in models], [m.best_iteration_ for m in models]),
            calibrator,
            first.feature_names_,
            first.params,
        )
        model.set_params(**{k: v for k, v in first.get_params().items() if k != "params"})
        model.scale_pos_weight_ = float(np.mean([m.scale_pos_weight_ for m in models]))
        model.monotone_constraints_ = list(first.monotone_constraints_)
        model.valid_scores_ = {}
        model.part_iterations_ = [int(m.best_iteration_) for m in models]
        return model

    def validation_curve(self, rounds: int) -> np.ndarray:
        """The early-stopping metric on the fit's ``eval_set`` after each of the first ``rounds`` rounds; a
        fit that stopped earlier boosts on to ``rounds`` first (its training booster is kept with early
        stopping), so parts that stopped at different rounds compare on one length."""
        if not getattr(self, "valid_curve_", None):
            raise ValueError("no validation curve: the model was fitted without eval_set")
        while len(self.valid_curve_) < rounds:
            self.booster_.update()
            self.valid_curve_.append(
                next(float(r[2]) for r in self.booster_.eval_valid() if r[1] == _STOPPING_METRIC)
            )
        return np.asarray(self.valid_curve_[:rounds], dtype=float)

    # -- prediction ------------------------------------------------------------------------------
    def raw_score(self, X: pd.DataFrame | np.ndarray | Rows) -> np.ndarray:
        """The booster's raw score (log-odds, before calibration), shape ``(n,)``; a :class:`Rows`
        is scored chunk by chunk."""
        if isinstance(X, Rows):
            matrix = feature_matrix(X.frame, self.feature_names_)
            chunks = [
                self.booster_.predict(
                    matrix[X.idx[i : i + _CHUNK_ROWS]], num_iteration=self.best_iteration_, raw_score=True
                )
                for i in range(0, X.idx.size, _CHUNK_ROWS)
            ]
            return np.concatenate(chunks) if chunks else np.empty(0)
        return np.asarray(
            self.booster_.predict(
                feature_matrix(X, self.feature_names_), num_iteration=self.best_iteration_, raw_score=True
            )
        )

    def churn_probability(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated probability of churn within the horizon, shape ``(n,)``."""
        return self.calibrator_.predict(self.raw_score(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated ``[P(stay), P(churn)]``, shape ``(n, 2)``."""
        p = self.churn_probability(X)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame, threshold: float = 0.5) -> np.ndarray:
        return (self.churn_probability(X) >= threshold).astype(int)

    def contributions(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Exact TreeSHAP contributions in raw log-odds, shape ``(n, n_features + 1)``.

        The last column is the base value; each row sums to :meth:`raw_score` (before calibration).
        LightGBM's ``pred_contrib``, evaluated once per distinct decision pattern of each tree
        (:mod:`churnml.modeling.treeshap`): the same values, an order of magnitude faster on many rows.
        """
        from churnml.modeling.treeshap import tree_contributions

        return tree_contributions(
            self.booster_, feature_matrix(X, self.feature_names_), self.best_iteration_, n_jobs=self.n_jobs
        ).values

    def feature_importance(self, kind: str = "gain") -> pd.Series:
        """Total ``gain`` (or ``split`` count) per feature, largest first."""
        values = self.booster_.feature_importance(importance_type=kind, iteration=self.best_iteration_)
        return pd.Series(values, index=self.feature_names_, name=kind).sort_values(ascending=False)


def _scaled_values(line: str, factor: float) -> str:
    key, values = line.split("=", 1)
    return key + "=" + " ".join(repr(float(v) * factor) for v in values.split())


def mean_booster(boosters: Sequence[lgb.Booster], iterations: Sequence[int]) -> lgb.Booster:
    """One booster holding the first ``iterations[k]`` trees of every booster ``k``, each tree's leaf
    (and internal node) values divided by the number of boosters: its raw score is the boosters' mean
    raw score (to the last bits of the float sum), its exact TreeSHAP values the mean of theirs (TreeSHAP
    is linear in the leaf values), so it is saved, loaded, scored and explained as any LightGBM model.

    Built on LightGBM's text model format: the header (feature names and their ranges, objective) and
    the parameters are the first booster's (the boosters share features and objective); the trees are
    renumbered in order; the per-file tree sizes and saved importances are left out (LightGBM then reads
    the trees one after the other and computes importances from the trees).
    """
    if not boosters or len(boosters) != len(iterations):
        raise ValueError("mean_booster needs one number of rounds per booster, and at least one booster")
    factor = 1.0 / len(boosters)
    texts = [b.model_to_string(num_iteration=int(n)) for b, n in zip(boosters, iterations, strict=True)]
    start = "\nTree=0\n"
    header = "\n".join(
        line for line in texts[0][: texts[0].index(start)].split("\n") if not line.startswith("tree_sizes=")
    )
    trees: list[str] = []
    for text in texts:
        for block in text[text.index(start) + 1 : text.index("end of trees")].split("\n\n\n"):
            lines = block.strip("\n").split("\n")
            if not lines or not lines[0].startswith("Tree="):
                continue
            lines[0] = f"Tree={len(trees)}"
            scaled = [
                _scaled_values(line, factor) if line.startswith(("leaf_value=", "internal_value=")) else line
                for line in lines
            ]
            trees.append("\n".join(scaled) + "\n\n\n")
    tail = texts[0][texts[0].index("end of trees") :]
    if "feature_importances:" in tail and "parameters:" in tail:
        tail = tail[: tail.index("feature_importances:")] + tail[tail.index("parameters:") :]
    return lgb.Booster(model_str=header + "\n\n" + "".join(trees) + tail)


def monotone_directions(feature_names: list[str], features_cfg: Any = None) -> dict[str, int]:
    """Feature name -> direction of risk (+1 / -1) for every feature whose direction the registry
    states as certain; ambiguous (0) and unknown features are left out (unconstrained)."""
    from churnml.features.registry import feature_spec

    out: dict[str, int] = {}
    for name in feature_names:
        try:
            direction = feature_spec(name, features_cfg).direction
        except KeyError:
            continue
        if direction:
            out[name] = int(direction)
    return out


def model_from_config(
    cfg: TrainConfig, tuned: Mapping[str, Any] | None = None, monotone: Mapping[str, int] | None = None
) -> ChurnModel:
    """An unfitted :class:`ChurnModel` from ``cfg.train`` with tuned parameters merged over it.

    Tuned parameters may include ``imbalance_power``; the rest are LightGBM parameters. ``monotone``
    (feature -> direction, see :func:`monotone_directions`) is used only when ``cfg.monotone`` is on.
    ``cfg.extra_trees`` ``True`` or ``False`` sets LightGBM's ``extra_trees`` unless the parameters set it,
    so a model's parameters name it either way (a champion's recorded procedure says whether it was on;
    models trained before named it only when on); ``"auto"`` (not yet decided for a table:
    :func:`churnml.modeling.experiment.decided_extra_trees`) adds nothing.
    """
    params = {**cfg.lightgbm, **dict(tuned or {})}
    if isinstance(cfg.extra_trees, bool):
        params.setdefault("extra_trees", cfg.extra_trees)
    power = float(params.pop("imbalance_power", cfg.imbalance_power))
    return ChurnModel(
        params=params,
        early_stopping_rounds=cfg.early_stopping_rounds,
        calibration=cfg.calibration,
        min_isotonic_positives=cfg.min_isotonic_positives,
        imbalance_power=power,
        monotone=dict(monotone or {}) if cfg.monotone else None,
        seed=cfg.seed,
        n_jobs=cfg.n_jobs,
    )


def _binary(y: Any, name: str) -> np.ndarray:
    arr = np.asarray(pd.Series(y).to_numpy(dtype=float, na_value=np.nan))
    if np.isnan(arr).any():
        raise ValueError(f"{name} holds {int(np.isnan(arr).sum())} missing labels; drop unlabeled rows first")
    bad = ~np.isin(arr, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"{name} must be 0/1; found {sorted(set(arr[bad].tolist()))[:5]}")
    return arr.astype(int)


def feature_matrix(X: Any, names: Sequence[str]) -> np.ndarray:
    """The float64 matrix of the model's features (float32 when every column of a pandas ``X`` is
    float32; one row per row of ``X``, columns in the order of ``names``): a pandas or Polars frame's columns picked by name (nulls as NaN; a Polars frame comes
    out row-major, as LightGBM reads it, so no further copy on the way in), or an array whose columns
    already are the model's features in order (no copy when it is float64)."""
    if isinstance(X, np.ndarray):
        if X.ndim != 2 or X.shape[1] != len(names):
            raise ValueError(
                f"feature matrix has shape {X.shape}; the model expects {len(names)} columns "
                "(its feature_names_, in order)"
            )
        return np.asarray(X, dtype=np.float64)
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise ValueError(
            f"feature table lacks {len(missing)} of the model's features, e.g. {missing[:5]}; "
            "it must come from the same feature code and config as the training table"
        )
    if not isinstance(X, pd.DataFrame):  # a Polars frame
        import polars as pl

        return X.select(pl.col(n).cast(pl.Float64) for n in names).to_numpy(order="c")
    picked = X[list(names)]
    if all(dtype == np.float32 for dtype in picked.dtypes):
        # a float32 training table stays float32 (a view of its block, no copy; LightGBM reads it as is)
        return picked.to_numpy(dtype=np.float32, na_value=np.nan)
    return picked.to_numpy(dtype=np.float64, na_value=np.nan)
