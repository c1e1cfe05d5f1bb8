"""BG/NBD "probability alive" and Gamma-Gamma spend: the standard statistical model of repeat buying.

Own maximum-likelihood implementation (scipy.optimize, L-BFGS-B on log-parameters), not a wrapper:

- :class:`BetaGeoModel`: BG/NBD of Fader, Hardie & Lee (2005), "Counting your customers the easy way".
  Per customer ``x`` (repeat purchase days), ``t_x`` (time of the last purchase since the first) and
  ``T`` (time since the first purchase), all in weeks. Parameters ``r, alpha, a, b``.
  :meth:`BetaGeoModel.probability_alive` is ``1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) /
  (alpha + t_x)) ** (r + x))``: exactly 1 for a customer without a repeat purchase (the model lets a
  customer drop out only just after a purchase), and falling with the time since the last purchase.
- :class:`GammaGammaModel`: Gamma-Gamma spend model of Fader, Hardie & Lee (2005), "RFM and CLV".
  Per customer with ``x >= 1`` repeat purchases their mean spend ``m``; parameters ``p, q, v``;
  :meth:`GammaGammaModel.expected_spend` is the posterior mean spend per purchase.
- :func:`purchase_summary`: the model inputs at each (client_id, snapshot) of a spine, from a
  transaction log using only purchases strictly before the snapshot.

pymc-marketing (the optional ``bench`` extra) fits the same BG/NBD likelihood as a Bayesian model;
:func:`fit_bgnbd_pymc` uses it (MAP) and returns the same :class:`BetaGeoModel`, so both fitters share
the scoring formulas. The benchmark uses the own fit by default (no extra needed, deterministic, ~1 s
per cutoff against ~20 s for pymc-marketing's MAP).

Grain of :func:`purchase_summary`: one row per spine row (client_id, snapshot) with ``orders`` (purchase
days before the snapshot), ``x`` (= orders - 1, 0 when none), ``t_x`` and ``T`` (weeks; 0 when no
purchase), ``days_since_order`` (null when none), ``monetary`` (mean amount per purchase day, null when
none) and ``repeat_monetary`` (mean amount of the repeat purchase days, null when x = 0).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import polars as pl
from scipy.optimize import minimize
from scipy.special import betaln, gammaln
from sklearn.base import BaseEstimator

from churnml.contract.schemas import CLIENT_ID, SNAPSHOT

__all__ = ["BetaGeoModel", "GammaGammaModel", "fit_bgnbd_pymc", "purchase_summary"]

_TS = "ts"
_AMOUNT = "amount"


def _arrays(*cols: Any) -> list[np.ndarray]:
    out = [np.asarray(c, dtype=float).ravel() for c in cols]
    if len({a.size for a in out}) != 1:
        raise ValueError("x, t_x and T must have the same length")
    return out


class BetaGeoModel(BaseEstimator):
    """BG/NBD by maximum likelihood. Fitted attributes: ``params_`` (dict r, alpha, a, b), ``loglik_``."""

    def __init__(self, penalizer: float = 0.0, max_iter: int = 500) -> None:
        self.penalizer = penalizer
        self.max_iter = max_iter

    @staticmethod
    def log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Per-customer log-likelihood of (x, t_x, T) under ``params = (r, alpha, a, b)``."""
        r, alpha, a, b = params
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            a3 = np.where(
                x > 0,
                betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x),
                -np.inf,
            )
        return a1 + np.logaddexp(a2, a3)

    def fit(self, x: Any, t_x: Any, T: Any) -> BetaGeoModel:
        x, t_x, T = _arrays(x, t_x, T)
        if x.size == 0:
            raise ValueError("BG/NBD needs at least one customer")
        if (t_x > T + 1e-9).any() or (x < 0).any():
            raise ValueError("BG/NBD inputs need 0 <= t_x <= T and x >= 0")
        scale = max(float(T.max()), 1.0)  # fit in units of the longest history: better conditioned

        def loss(log_p: np.ndarray) -> float:
            p = np.exp(log_p)
            ll = self.log_likelihood(p, x, t_x / scale, T / scale).sum()
            return float(-ll / x.size + self.penalizer * np.sum(p**2))

        res = minimize(
            loss, np.zeros(4), method="L-BFGS-B", bounds=[(-12, 12)] * 4, options={"maxiter": self.max_iter}
        )
        r, alpha, a, b = np.exp(res.x)
        self.params_ = {"r": float(r), "alpha": float(alpha * scale), "a": float(a), "b": float(b)}
        self.loglik_ = float(self.log_likelihood(np.array([r, alpha * scale, a, b]), x, t_x, T).sum())
        self.converged_ = bool(res.success)
        return self

    def _p(self) -> tuple[float, float, float, float]:
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def probability_alive(self, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """P(the customer is still alive at T | x, t_x, T); 1 when x = 0."""
        x, t_x, T = _arrays(x, t_x, T)
        r, alpha, a, b = self._p()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_ratio = (
                np.log(a)
                - np.log(b + np.maximum(x, 1) - 1)
                + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
            )
        odds = np.where(x > 0, np.exp(np.minimum(log_ratio, 700.0)), 0.0)
        return 1.0 / (1.0 + odds)

    def probability_no_purchase(self, x: Any, t_x: Any, T: Any, weeks: float) -> np.ndarray:
        """P(no purchase in the next ``weeks`` | x, t_x, T) = 1 - P(alive) + P(alive) ((alpha + T) /
        (alpha + T + weeks)) ** (r + x): dead, or alive with a purchase rate that gives none (a BG/NBD
        customer drops out only right after a purchase)."""
        x, t_x, T = _arrays(x, t_x, T)
        r, alpha, _, _ = self._p()
        alive = self.probability_alive(x, t_x, T)
        return 1.0 - alive + alive * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + weeks)))


def fit_bgnbd_pymc(x: Any, t_x: Any, T: Any) -> BetaGeoModel:
    """The same BG/NBD fitted by pymc-marketing (``pip install churnml[bench]``), MAP with its default
    priors; returns a :class:`BetaGeoModel` holding the MAP parameters (ImportError without the extra)."""
    import pandas as pd
    from pymc_marketing import clv

    x, t_x, T = _arrays(x, t_x, T)
    frame = pd.DataFrame({"customer_id": np.arange(x.size), "frequency": x, "recency": t_x, "T": T})
    fitted = clv.BetaGeoModel(data=frame)
    fitted.fit(method="map", progressbar=False)
    summary = fitted.fit_summary()
    model = BetaGeoModel()
    model.params_ = {k: float(summary[k]) for k in ("r", "alpha", "a", "b")}
    model.loglik_ = float(
        BetaGeoModel.log_likelihood(np.array(list(model.params_.values())), x, t_x, T).sum()
    )
    model.converged_ = True
    return model


class GammaGammaModel(BaseEstimator):
    """Gamma-Gamma spend by maximum likelihood on customers with ``x >= 1`` and positive mean spend.

    Fitted attributes: ``params_`` (dict p, q, v), ``loglik_``.
    """

    def __init__(self, max_iter: int = 500) -> None:
        self.max_iter = max_iter

    def fit(self, x: Any, monetary: Any) -> GammaGammaModel:
        x, m = _arrays(x, monetary)
        keep = (x >= 1) & np.isfinite(m) & (m > 0)
        x, m = x[keep], m[keep]
        if x.size < 2:
            raise ValueError("Gamma-Gamma needs at least two customers with a repeat purchase")
        scale = float(np.median(m))
        ms = m / scale

        def loss(log_p: np.ndarray) -> float:
            p, q, v = np.exp(log_p)
            ll = (
                gammaln(p * x + q)
                - gammaln(p * x)
                - gammaln(q)
                + q * np.log(v)
                + (p * x - 1) * np.log(ms)
                + p * x * np.log(x)
                - (p * x + q) * np.log(v + x * ms)
            )
            return float(-ll.sum() / x.size)

        res = minimize(
            loss, np.zeros(3), method="L-BFGS-B", bounds=[(-10, 10)] * 3, options={"maxiter": self.max_iter}
        )
        p, q, v = np.exp(res.x)
        self.params_ = {"p": float(p), "q": float(q), "v": float(v * scale)}
        self.loglik_ = float(-res.fun * x.size)
        return self

    def expected_spend(self, x: Any, monetary: Any) -> np.ndarray:
        """E[spend per purchase | x, m]: the population mean for x = 0, shrunk towards m as x grows."""
        x, m = _arrays(x, monetary)
        p, q, v = self.params_["p"], self.params_["q"], self.params_["v"]
        m = np.where(np.isfinite(m), m, 0.0)
        population = p * v / (q - 1) if q > 1 else np.nan
        return np.where(x >= 1, p * (v + x * m) / (p * x + q - 1), population)


def purchase_summary(transactions: pl.DataFrame, spine: pl.DataFrame) -> pl.DataFrame:
    """BTYD/RFM inputs per spine row from purchases strictly before the snapshot (module docstring).

    ``transactions``: ``client_id``, ``ts`` (Datetime), ``amount`` (positive purchases only);
    ``spine``: ``client_id``, ``snapshot`` (Date). Purchases are grouped by calendar day.
    """
    days = (
        transactions.select(
            pl.col(CLIENT_ID),
            pl.col(_TS).cast(pl.Datetime("us")).dt.truncate("1d").alias("_day"),
            pl.col(_AMOUNT).cast(pl.Float64),
        )
        .group_by(CLIENT_ID, "_day")
        .agg(pl.col(_AMOUNT).sum())
        .sort(CLIENT_ID, "_day")
        .with_columns(
            pl.col("_day").first().over(CLIENT_ID).alias("_first"),
            pl.col(_AMOUNT).first().over(CLIENT_ID).alias("_first_amount"),
            pl.int_range(1, pl.len() + 1).over(CLIENT_ID).alias("_orders"),
            pl.col(_AMOUNT).cum_sum().over(CLIENT_ID).alias("_total"),
        )
        .sort("_day")
    )
    left = (
        spine.select(CLIENT_ID, SNAPSHOT)
        .with_row_index("_row")
        .with_columns(pl.col(SNAPSHOT).cast(pl.Datetime("us")).alias("_at"))
        .sort("_at")
    )
    # A purchase day d is before snapshot s (00:00) iff d < s: strict as-of join.
    with warnings.catch_warnings():  # both sides are sorted by time above; polars cannot check it with by=
        warnings.filterwarnings("ignore", message="Sortedness of columns cannot be checked")
        joined = left.join_asof(
            days, left_on="_at", right_on="_day", by=CLIENT_ID, strategy="backward", allow_exact_matches=False
        ).sort("_row")
    week = 7 * 24 * 3600 * 1e6
    orders = pl.col("_orders").fill_null(0)
    x = (orders - 1).clip(lower_bound=0)
    return joined.select(
        CLIENT_ID,
        SNAPSHOT,
        orders.cast(pl.Int64).alias("orders"),
        x.cast(pl.Float64).alias("x"),
        ((pl.col("_day") - pl.col("_first")).dt.total_microseconds() / week).fill_null(0.0).alias("t_x"),
        ((pl.col("_at") - pl.col("_first")).dt.total_microseconds() / week).fill_null(0.0).alias("T"),
        ((pl.col("_at") - pl.col("_day")).dt.total_days()).cast(pl.Float64).alias("days_since_order"),
        (pl.col("_total") / orders).alias("monetary"),
        pl.when(x > 0)
        .then((pl.col("_total") - pl.col("_first_amount")) / x)
        .otherwise(None)
        .alias("repeat_monetary"),
    )
