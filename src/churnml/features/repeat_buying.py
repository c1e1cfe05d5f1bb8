"""Repeat-buying features: the BG/NBD quantities of a client's order rhythm, fitted with the model.

Most features are fixed functions of a client's own history (:func:`churnml.features.build_features`).
These two need the population too: how likely a client with ``x`` repeat orders, the last one ``t_x``
weeks after its first, ``T`` weeks after its first, is to be still buying, and to place no order in the
next ``horizon_days``, depends on the BG/NBD parameters ``r, alpha, a, b`` of the portfolio
(:class:`churnml.modeling.btyd.BetaGeoModel`, Fader, Hardie & Lee 2005). :class:`RepeatBuying` fits
them on the training rows, like a scaler, and is stored with the model: scoring applies the stored
parameters and never refits, so a client's columns mean the same at every snapshot. In the backtest each
fold fits its own on the fold's training rows only.

Inputs, three columns of the payments family (paid payments and orders strictly before the snapshot):
``payments_orders_total`` (n), ``payments_days_since_first_payment`` (f) and
``payments_days_since_payment`` (l); ``x = n - 1``, ``T = f / 7``, ``t_x = (f - l) / 7``. Outputs, two
columns on the same grain (one row per client x snapshot): :data:`P_ALIVE` and :data:`P_NO_ORDER`, null
where the client has no payment yet. The fit reads every training row with a payment (a client
counts once per snapshot: a pseudo-likelihood; at most :data:`FIT_MAX_ROWS` rows, a seeded sample).

The columns are Narwhals expressions (:meth:`RepeatBuying.expressions`): the same code adds them to a
pandas training table, a Polars scoring batch and a Spark frame. Measured in docs/benchmarks.md
("Repeat-buying features").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import narwhals as nw
import numpy as np
from sklearn.base import BaseEstimator

__all__ = [
    "FIT_MAX_ROWS",
    "INPUTS",
    "OUTPUTS",
    "P_ALIVE",
    "P_NO_ORDER",
    "RepeatBuying",
    "repeat_buying_from_data",
]

ORDERS = "payments_orders_total"
FIRST = "payments_days_since_first_payment"
LAST = "payments_days_since_payment"
INPUTS: tuple[str, ...] = (ORDERS, FIRST, LAST)
P_ALIVE = "payments_p_alive"
P_NO_ORDER = "payments_p_no_order"
OUTPUTS: tuple[str, ...] = (P_ALIVE, P_NO_ORDER)

# The fit reads at most this many training rows (a seeded sample): four parameters do not need more.
FIT_MAX_ROWS = 50_000
# Fewer clients with a repeat order than this and the parameters are not identified: no columns.
MIN_REPEAT_BUYERS = 20

Frame = TypeVar("Frame")


def _inputs(X: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, t_x, T)`` in weeks for the rows of ``X`` (a pandas frame) with a payment."""
    n = np.asarray(X[ORDERS], dtype=float)
    first = np.asarray(X[FIRST], dtype=float)
    last = np.asarray(X[LAST], dtype=float)
    keep = np.isfinite(n) & np.isfinite(first) & np.isfinite(last) & (n >= 1) & (last <= first)
    T = first[keep] / 7.0
    return n[keep] - 1.0, T - last[keep] / 7.0, T


class RepeatBuying(BaseEstimator):
    """BG/NBD columns fitted on training rows; see the module docstring.

    ``horizon_days``: the label's horizon (``P_NO_ORDER`` is the chance of no order in it). ``seed``:
    the sample of at most :data:`FIT_MAX_ROWS` rows. Fitted attributes: ``params_`` (``r, alpha, a,
    b``) or ``None`` when the rows hold fewer than :data:`MIN_REPEAT_BUYERS` repeat buyers (then
    :meth:`expressions` is empty and the model has no such columns), ``fit_rows_``.
    """

    def __init__(self, horizon_days: int = 90, seed: int = 0) -> None:
        self.horizon_days = horizon_days
        self.seed = seed

    def fit(self, X: Any) -> RepeatBuying:
        """Fit on the rows of ``X`` (pandas, with the :data:`INPUTS` columns; none: no columns)."""
        from churnml.modeling.btyd import BetaGeoModel

        self.params_: dict[str, float] | None = None
        self.fit_rows_ = 0
        if any(c not in X.columns for c in INPUTS):
            return self
        x, t_x, T = _inputs(X)
        if x.size > FIT_MAX_ROWS:
            pick = np.sort(np.random.default_rng(self.seed).choice(x.size, FIT_MAX_ROWS, replace=False))
            x, t_x, T = x[pick], t_x[pick], T[pick]
        self.fit_rows_ = int(x.size)
        if int((x > 0).sum()) < MIN_REPEAT_BUYERS:
            return self
        model = BetaGeoModel().fit(x, t_x, T)
        self.params_ = {k: float(v) for k, v in model.params_.items()}
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns :meth:`transform` adds (none when not fitted or not identified)."""
        return OUTPUTS if getattr(self, "params_", None) else ()

    def expressions(self) -> list[nw.Expr]:
        """Narwhals expressions of :data:`OUTPUTS` over the :data:`INPUTS` columns (empty when
        :attr:`columns` is)."""
        if not self.columns:
            return []
        p = self.params_ or {}
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        n = nw.col(ORDERS).cast(nw.Float64)
        T = nw.col(FIRST).cast(nw.Float64) / 7.0
        t_x = T - nw.col(LAST).cast(nw.Float64) / 7.0
        x = n - 1.0
        bought = n >= 1.0
        # log odds of having dropped out: log a - log(b + x - 1) + (r + x) log((alpha + T) / (alpha + t_x))
        # (clipped so that exp never overflows); a client without a repeat order is alive (BG/NBD)
        log_odds = (
            (nw.lit(float(np.log(a))) - (nw.lit(b - 1.0) + x.clip(lower_bound=1.0)).log())
            + (nw.lit(r) + x) * ((nw.lit(alpha) + T).log() - (nw.lit(alpha) + t_x).log())
        ).clip(upper_bound=700.0)
        alive = nw.when(x > 0.5).then(1.0 / (1.0 + log_odds.exp())).otherwise(nw.lit(1.0))
        weeks = self.horizon_days / 7.0
        silent_if_alive = (
            (nw.lit(r) + x) * ((nw.lit(alpha) + T).log() - (nw.lit(alpha + weeks) + T).log())
        ).exp()
        return [
            nw.when(bought).then(alive).alias(P_ALIVE),
            nw.when(bought).then(1.0 - alive + alive * silent_if_alive).alias(P_NO_ORDER),
        ]

    def transform(self, frame: Frame) -> Frame:
        """``frame`` (pandas, Polars, or any Narwhals-supported frame, eager or lazy) with the
        :attr:`columns` added (the same frame when there are none)."""
        exprs = self.expressions()
        if not exprs:
            return frame
        return nw.from_native(frame).with_columns(*exprs).to_native()

    def to_data(self) -> dict[str, Any] | None:
        """The fitted transform as JSON-ready data (``None`` when it adds no columns)."""
        if not self.columns:
            return None
        return {"kind": "bg_nbd", "horizon_days": self.horizon_days, "params": dict(self.params_ or {})}


def repeat_buying_from_data(data: Mapping[str, Any] | None) -> RepeatBuying | None:
    """The transform :meth:`RepeatBuying.to_data` wrote (``None`` for ``None``)."""
    if not data:
        return None
    if data.get("kind") != "bg_nbd":
        raise ValueError(f"unknown repeat-buying transform {data.get('kind')!r}")
    out = RepeatBuying(horizon_days=int(data["horizon_days"]))
    out.params_ = {k: float(data["params"][k]) for k in ("r", "alpha", "a", "b")}
    out.fit_rows_ = 0
    return out
