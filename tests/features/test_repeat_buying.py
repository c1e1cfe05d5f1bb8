"""Repeat-buying columns: BG/NBD quantities fitted on training rows, applied with stored parameters."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnml.config import TrainConfig
from churnml.features import sentence
from churnml.features.repeat_buying import (
    MIN_REPEAT_BUYERS,
    P_ALIVE,
    P_NO_ORDER,
    RepeatBuying,
    repeat_buying_from_data,
)
from churnml.modeling.btyd import BetaGeoModel
from churnml.modeling.experiment import repeat_buying_for, with_repeat_buying

ORDERS, FIRST, LAST = (
    "payments_orders_total",
    "payments_days_since_first_payment",
    "payments_days_since_payment",
)
PARAMS = {"r": 2.0, "alpha": 10.0, "a": 0.5, "b": 4.0}


def fixed(horizon_days: int = 70) -> RepeatBuying:
    out = RepeatBuying(horizon_days)
    out.params_ = dict(PARAMS)
    return out


def rows(orders: list[float], first: list[float | None], last: list[float | None]) -> pd.DataFrame:
    return pd.DataFrame({ORDERS: orders, FIRST: first, LAST: last}, dtype=float)


def test_written_out_values():
    # one order 14 days ago: no repeat purchase, alive by definition; silent 10 weeks with prob
    # ((alpha + T) / (alpha + T + 10)) ** r = (12 / 22) ** 2
    # 3 orders, first 70 days ago, last 14 days ago: x = 2, T = 10, t_x = 8 weeks;
    # odds of death = a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x) = 0.5 / 5 * (20 / 18) ** 4
    out = fixed().transform(rows([0, 1, 3], [None, 14, 70], [None, 14, 14]))
    odds = 0.1 * (20 / 18) ** 4
    alive = 1 / (1 + odds)
    assert math.isnan(out[P_ALIVE][0]) and math.isnan(out[P_NO_ORDER][0])  # no order yet: unknown
    assert out[P_ALIVE][1] == 1.0
    assert out[P_NO_ORDER][1] == pytest.approx((12 / 22) ** 2, rel=1e-12)
    assert out[P_ALIVE][2] == pytest.approx(alive, rel=1e-12)
    assert out[P_NO_ORDER][2] == pytest.approx(1 - alive + alive * (20 / 30) ** 4, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 60), st.floats(0, 900), st.floats(0, 1)),
        min_size=1,
        max_size=30,
    )
)
def test_the_columns_are_the_bg_nbd_formulas_on_pandas_and_polars(draws):
    n = np.array([d[0] for d in draws], dtype=float)
    first = np.array([d[1] for d in draws])
    last = first * np.array([d[2] for d in draws])
    frame = rows(list(n), list(first), list(last))
    bg = BetaGeoModel()
    bg.params_ = dict(PARAMS)
    x, T = n - 1, first / 7
    t_x = T - last / 7
    on_pandas = fixed().transform(frame)
    on_polars = fixed().transform(pl.from_pandas(frame))
    np.testing.assert_allclose(on_pandas[P_ALIVE], bg.probability_alive(x, t_x, T), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        on_pandas[P_NO_ORDER], bg.probability_no_purchase(x, t_x, T, 10.0), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        on_polars[P_NO_ORDER].to_numpy(), on_pandas[P_NO_ORDER], rtol=1e-12, atol=1e-14
    )
    assert ((on_pandas[P_NO_ORDER] >= 0) & (on_pandas[P_NO_ORDER] <= 1)).all()


def _buyers(n_clients: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first = rng.uniform(30, 400, n_clients)
    return rows(
        list(rng.integers(1, 12, n_clients).astype(float)),
        list(first),
        list(first * rng.uniform(0, 1, n_clients)),
    )


def test_fit_learns_parameters_and_round_trips_as_data():
    fitted = RepeatBuying(90, seed=3).fit(_buyers(500))
    assert set(fitted.params_) == {"r", "alpha", "a", "b"} and all(v > 0 for v in fitted.params_.values())
    assert fitted.fit_rows_ == 500 and fitted.columns == (P_ALIVE, P_NO_ORDER)
    back = repeat_buying_from_data(fitted.to_data())
    assert back.params_ == fitted.params_ and back.horizon_days == 90
    frame = _buyers(50, seed=1)
    pd.testing.assert_frame_equal(back.transform(frame), fitted.transform(frame))


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (rows([1.0] * 200, [30.0] * 200, [30.0] * 200), "nobody ordered twice"),
        (_buyers(MIN_REPEAT_BUYERS - 1), "too few repeat buyers"),
        (pd.DataFrame({"usage_logins_7d": [1.0, 2.0]}), "no payments columns"),
    ],
)
def test_without_enough_repeat_buyers_there_are_no_columns(frame, why):
    fitted = RepeatBuying().fit(frame)
    assert fitted.params_ is None and fitted.columns == () and fitted.to_data() is None, why
    assert fitted.transform(frame) is frame


def test_a_fold_fits_on_its_training_rows_only():
    X = pd.concat([_buyers(300, seed=0), _buyers(300, seed=5)], ignore_index=True)
    train = np.arange(300)
    cfg = TrainConfig()
    before = repeat_buying_for(X, train, cfg, 90).params_
    changed = X.copy()
    changed.loc[300:, ORDERS] = 40.0  # the rows outside the training rows
    assert repeat_buying_for(changed, train, cfg, 90).params_ == before
    assert repeat_buying_for(X, train, cfg.model_copy(update={"repeat_buying": False}), 90) is None
    assert repeat_buying_for(X, train, cfg, None) is None
    # a portfolio's training block is not copied for them: above the row limit, no columns
    assert repeat_buying_for(X, train, cfg.model_copy(update={"repeat_buying_max_rows": 599}), 90) is None
    assert repeat_buying_for(X, train, cfg.model_copy(update={"repeat_buying_max_rows": 600}), 90) is not None


def test_the_columns_carry_their_registry_direction_as_monotone_constraints():
    X = _buyers(300)
    out, monotone = with_repeat_buying(X, RepeatBuying(90).fit(X), {"usage_logins_7d": -1})
    assert monotone == {"usage_logins_7d": -1, P_ALIVE: -1, P_NO_ORDER: 1}
    assert list(out.columns) == [ORDERS, FIRST, LAST, P_ALIVE, P_NO_ORDER]
    assert list(X.columns) == [ORDERS, FIRST, LAST]  # the input is not changed


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (P_ALIVE, 0.85, "By its order rhythm, 85% likely to still be buying (BG/NBD)"),
        (
            P_NO_ORDER,
            0.62,
            "By its order rhythm, 62% likely to place no order or payment in the churn horizon (BG/NBD)",
        ),
    ],
)
def test_sentences(name, value, expected):
    assert sentence(name, value) == expected
