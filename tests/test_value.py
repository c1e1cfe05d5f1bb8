"""Value: ARR from subscriptions or payments, lifetime from the hazard, tiers and the priority rank."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnml.config import ValueConfig
from churnml.scoring.columns import Scores
from churnml.scoring.value import (
    annual_hazard,
    annual_recurring_revenue,
    expected_lifetime_years,
    keep_flags,
    priority_rank,
    retained_years,
    revenue_churn_rate,
    value_table,
    value_tiers,
)

AS_OF = date(2024, 6, 3)


def test_arr_from_running_terms_else_trailing_payments() -> None:
    subs = pl.DataFrame(
        {
            "client_id": ["a", "a", "b", "c"],
            "start_date": [
                datetime(2024, 1, 1),
                datetime(2024, 5, 1),
                datetime(2023, 1, 1),
                datetime(2024, 6, 3),
            ],
            "end_date": [
                datetime(2024, 12, 31),
                datetime(2024, 6, 3),
                datetime(2023, 12, 31),
                datetime(2025, 1, 1),
            ],
            "mrr": [100.0, 20.0, 500.0, 999.0],
        }
    )
    pays = pl.DataFrame(
        {
            "client_id": ["b", "b", "b", "b", "d"],
            "amount": [300.0, 200.0, -50.0, 1000.0, 70.0],
            "paid_at": [
                datetime(2023, 7, 1),  # inside the last 365 days
                datetime(2024, 6, 2, 23),  # the day before the as-of date
                datetime(2024, 2, 1),  # a refund
                datetime(2023, 5, 1),  # older than a year
                None,  # unpaid
            ],
        }
    )
    arr = annual_recurring_revenue(["a", "b", "c", "d"], AS_OF, subs, pays)
    # a: two running terms (the add-on ends on the as-of date, still running); b: no running term ->
    # payments 300 + 200 - 50; c: its term starts on the as-of date (not before) -> nothing; d: unpaid.
    assert dict(arr.iter_rows()) == {"a": 1440.0, "b": 450.0, "c": 0.0, "d": 0.0}


@pytest.mark.parametrize(
    ("grace_days", "expected"),
    [
        # in grace (no running term, the last ended 12 days ago): 12 x the terms running when it ended
        # (base 297 + add-on 30 that ended with it; the older term of 500 does not count), not the
        # trailing payments (2 x 297); the term of 40 days ago is past 30 days of grace: payments
        (30, {"lapsed": 12 * 327.0, "long_gone": 80.0, "running": 1200.0}),
        (0, {"lapsed": 594.0, "long_gone": 80.0, "running": 1200.0}),  # no grace: payments as before
    ],
)
def test_arr_of_a_client_in_grace_is_its_lapsed_terms(grace_days: int, expected: dict[str, float]) -> None:
    subs = pl.DataFrame(
        {
            "client_id": ["lapsed", "lapsed", "lapsed", "long_gone", "running"],
            "start_date": [
                datetime(2024, 4, 22),
                datetime(2024, 5, 1),
                datetime(2023, 1, 1),
                datetime(2024, 3, 25),
                datetime(2024, 1, 1),
            ],
            "end_date": [
                datetime(2024, 5, 22),
                datetime(2024, 5, 22),
                datetime(2023, 12, 31),
                datetime(2024, 4, 24),
                datetime(2024, 12, 31),
            ],
            "mrr": [297.0, 30.0, 500.0, 40.0, 100.0],
        }
    )
    pays = pl.DataFrame(
        {
            "client_id": ["lapsed", "lapsed", "long_gone", "long_gone"],
            "amount": [297.0, 297.0, 40.0, 40.0],
            "paid_at": [
                datetime(2024, 3, 22),
                datetime(2024, 4, 22),
                datetime(2024, 2, 25),
                datetime(2024, 3, 25),
            ],
        }
    )
    arr = annual_recurring_revenue(["lapsed", "long_gone", "running"], AS_OF, subs, pays, grace_days)
    assert dict(arr.iter_rows()) == expected


# (start, end, mrr, is_addon) per term of a client whose 1,000-a-month term ended on 2024-05-29 (5 days before
# AS_OF), for the test below
_ENDED = (datetime(2023, 5, 29), datetime(2024, 5, 29), 1000.0, False)
_NEXT = (datetime(2024, 6, 6), datetime(2025, 6, 6))


@pytest.mark.parametrize(
    ("terms", "arr"),
    [
        # renewed after a short gap, its next term booked from 2024-06-06 ("Renewed"): the booked term's (was 0,
        # the trailing payments, below a client that did not renew)
        ([_ENDED, (*_NEXT, 1000.0, False)], 12_000.0),
        ([_ENDED], 12_000.0),  # not renewed, in grace: the lapsed terms'
        # renewed at 1,100 with an add-on of 200 booked beside it: the booked terms, add-ons included
        ([_ENDED, (*_NEXT, 1100.0, False), (*_NEXT, 200.0, True)], 12 * 1300.0),
        # an add-on of 50 running on through the gap and the next term: counted, as in a running term
        (
            [_ENDED, (datetime(2024, 1, 1), datetime(2024, 12, 31), 50.0, True), (*_NEXT, 1000.0, False)],
            12 * 1050.0,
        ),
        # a free term booked (a pause after a gap): the terms it had when its last term ended, as in a pause
        ([_ENDED, (*_NEXT, 0.0, False)], 12_000.0),
    ],
)
def test_a_client_renewed_after_a_gap_is_valued_at_its_booked_terms(terms: list[tuple], arr: float) -> None:
    subs = pl.DataFrame(
        [("c", *t) for t in terms],
        schema={
            "client_id": pl.String,
            "start_date": pl.Datetime("us"),
            "end_date": pl.Datetime("us"),
            "mrr": pl.Float64,
            "is_addon": pl.Boolean,
        },
        orient="row",
    )
    got = annual_recurring_revenue(["c"], AS_OF, subs, None, grace_days=30)
    assert got.get_column(Scores.ARR).to_list() == [pytest.approx(arr)]


def test_arr_without_any_revenue_table_is_zero() -> None:
    arr = annual_recurring_revenue(["a"], AS_OF, None, None)
    assert arr.get_column(Scores.ARR).to_list() == [0.0]


@pytest.mark.parametrize(
    ("p", "horizon", "years"),
    [
        (1 - math.exp(-90 / 365.25), 90, 1.0),  # hazard exactly 1 per year -> 1 year
        (1 - math.exp(-2 * 90 / 365.25), 90, 0.5),
        (1 - math.exp(-30 / 365.25 / 4), 30, 4.0),
        (1e-12, 90, 10.0),  # capped at max_lifetime_years
        (0.0, 90, 10.0),
    ],
)
def test_expected_lifetime_from_the_hazard(p: float, horizon: int, years: float) -> None:
    assert expected_lifetime_years(np.array([p]), horizon, 10.0)[0] == pytest.approx(years, rel=1e-6)


@given(st.lists(st.floats(0, 1), min_size=2, max_size=20))
@settings(max_examples=50, deadline=None)
def test_lifetime_falls_as_probability_rises(ps: list[float]) -> None:
    p = np.sort(np.asarray(ps))
    life = expected_lifetime_years(p, 90, 10.0)
    assert np.all(np.diff(life) <= 1e-12)
    assert np.all(annual_hazard(p, 90) > 0)


CFG = ValueConfig(tier_a_share=0.2, tier_a_strategic=2, tier_b_share=0.5)


@pytest.mark.parametrize(
    ("ltv", "strategic", "expected"),
    [
        # 10 clients, ltv 10..1: top 20% (2) -> A, next up to 50% (3) -> B, rest C.
        (list(range(10, 0, -1)), [0] * 10, ["A", "A", "B", "B", "B", "C", "C", "C", "C", "C"]),
        # strategic >= 2 makes a small client A.
        (list(range(10, 0, -1)), [0] * 9 + [2], ["A", "A", "B", "B", "B", "C", "C", "C", "C", "A"]),
        # strategic 1 does not.
        (list(range(10, 0, -1)), [0] * 9 + [1], ["A", "A", "B", "B", "B", "C", "C", "C", "C", "C"]),
        # equal values share a tier, the one of the middle of their places (here 3 of 5: B) ...
        ([5, 5, 5, 5, 5], [0] * 5, ["B", "B", "B", "B", "B"]),
        # ... places 2-4 of 5 (middle 3: B); places 1-2 of 10 (A), 3-8 (middle 5.5: C)
        ([10, 5, 5, 5, 1], [0] * 5, ["A", "B", "B", "B", "C"]),
        ([9, 9, 4, 4, 4, 4, 4, 4, 1, 1], [0] * 10, ["A", "A", "C", "C", "C", "C", "C", "C", "C", "C"]),
        # no known value (an app's free users): C, whatever the order of the ids; strategic still A
        ([0, 0, 0, 0, 0], [0, 0, 0, 0, 2], ["C", "C", "C", "C", "A"]),
        # one paying client among free ones: A; the free ones do not fill B
        ([0, 0, 40, 0, 0], [0] * 5, ["C", "C", "A", "C", "C"]),
    ],
)
def test_value_tiers(ltv: list[float], strategic: list[int], expected: list[str]) -> None:
    ids = [f"c{i}" for i in range(len(ltv))]
    assert value_tiers(np.asarray(ltv, dtype=float), np.asarray(strategic), ids, CFG) == expected


@pytest.mark.parametrize(
    ("rar", "p", "strategic", "ids", "expected"),
    [
        ([100, 300, 200], [0.1, 0.1, 0.1], [0, 0, 0], ["a", "b", "c"], [3, 1, 2]),
        # equal revenue at risk: higher probability first, then strategic, then client_id
        ([100, 100, 100, 100], [0.2, 0.5, 0.2, 0.2], [0, 0, 3, 0], ["d", "c", "b", "a"], [4, 1, 2, 3]),
    ],
)
def test_priority_ranks_by_expected_loss(
    rar: list[float], p: list[float], strategic: list[int], ids: list[str], expected: list[int]
) -> None:
    assert (
        priority_rank(np.asarray(rar, float), np.asarray(p), np.asarray(strategic), ids).tolist() == expected
    )


@pytest.mark.parametrize(
    ("rar", "zone", "expected"),
    [
        # a client a rule raised to red (p 0.0001, expected loss 1) is worked before every yellow one
        ([1, 900, 500, 50], ["red", "yellow", "red", "green"], [2, 3, 1, 4]),
        ([300, 200, 100], ["green", "green", "green"], [1, 2, 3]),
        ([10, 20, 30], ["yellow", "red", "yellow"], [3, 1, 2]),
    ],
)
def test_priority_ranks_by_zone_first(rar: list[float], zone: list[str], expected: list[int]) -> None:
    n = len(rar)
    ids = [f"c{i}" for i in range(n)]
    got = priority_rank(np.asarray(rar, float), np.full(n, 0.1), np.zeros(n), ids, zone)
    assert got.tolist() == expected


def test_value_table_combines_margin_arr_and_lifetime() -> None:
    scored = pl.DataFrame({"client_id": ["x", "y"], Scores.PROBABILITY: [0.5, 0.1]})
    clients = pl.DataFrame({"client_id": ["y", "x"], "margin": [None, 0.5], "strategic": [3, None]})
    arr = pl.DataFrame({"client_id": ["x", "y"], Scores.ARR: [1000.0, 200.0]})
    out = value_table(scored, clients, arr, 90, ValueConfig(default_margin=0.8))
    x, y = out.iter_rows(named=True)
    # the value of keeping a client is apart from its risk: both stay the years of the portfolio's churn rate
    # by revenue, (0.5 x 1,000 + 0.1 x 200) / 1,200 = 0.433
    years = 1 / (-math.log(1 - 520 / 1200) * 365.25 / 90)
    assert x[Scores.LIFETIME_VALUE] == pytest.approx(0.5 * 1000 * years)
    assert y[Scores.LIFETIME_VALUE] == pytest.approx(0.8 * 200 * years)
    assert (x[Scores.REVENUE_AT_RISK], y[Scores.REVENUE_AT_RISK]) == (
        pytest.approx(500.0),
        pytest.approx(20.0),
    )
    assert (x[Scores.STRATEGIC], y[Scores.STRATEGIC]) == (0, 3)
    assert (x[Scores.PRIORITY], y[Scores.PRIORITY]) == (1, 2)
    assert y[Scores.VALUE_TIER] == "A"  # strategic 3


@pytest.mark.parametrize("risky", [0.05, 0.5, 0.95])
def test_risk_does_not_lower_the_tier(risky: float) -> None:
    # c0 has the largest ARR: tier A whatever its own churn probability
    ids = [f"c{i}" for i in range(10)]
    scored = pl.DataFrame({"client_id": ids, Scores.PROBABILITY: [risky] + [0.05] * 9})
    clients = pl.DataFrame({"client_id": ids, "margin": [0.7] * 10})
    arr = pl.DataFrame({"client_id": ids, Scores.ARR: [10_000.0 - 500 * i for i in range(10)]})
    out = value_table(scored, clients, arr, 90, ValueConfig())
    assert out.get_column(Scores.VALUE_TIER).to_list()[:3] == ["A", "A", "B"]


def test_retained_years_from_config_or_the_mean_probability() -> None:
    assert retained_years(np.array([0.1, 0.9, 0.3]), 90, ValueConfig(retained_years=4)) == 4.0
    mean_years = 1 / (-math.log(1 - 1.3 / 3) * 365.25 / 90)  # 0.39 years
    assert retained_years(np.array([0.1, 0.9, 0.3]), 90, ValueConfig()) == pytest.approx(mean_years)
    # annual contracts losing 15% a year: a quarter of them renew within 90 days, at 15% each; the median
    # (0) read the 10-year cap
    annual = np.array([0.15] * 25 + [0.0] * 75)
    assert retained_years(annual, 90, ValueConfig()) == pytest.approx(
        1 / (-math.log(1 - 0.0375) * 365.25 / 90)
    )
    assert 6.4 < retained_years(annual, 90, ValueConfig()) < 6.5
    assert retained_years(np.array([0.0001]), 90, ValueConfig(max_lifetime_years=7)) == 7.0


def _years(p: float, horizon: int = 30) -> float:
    return 1 / (-math.log(1 - p) * 365.25 / horizon)


@pytest.mark.parametrize(
    ("p", "arr", "rate"),
    [
        # a car-sharing service: 4 one-off riders (p 0.95, ARR 20) beside 6 commuters (p 0.02, ARR 1,500):
        # by heads 39.2% leave within 30 days, by revenue 256 of 9,080 of ARR: 2.8%
        ([0.95] * 4 + [0.02] * 6, [20.0] * 4 + [1500.0] * 6, (0.95 * 80 + 0.02 * 9000) / 9080),
        # clients at ARR 0 (free users) weigh nothing, however likely they leave
        ([0.9, 0.1, 0.3], [0.0, 100.0, 300.0], (0.1 * 100 + 0.3 * 300) / 400),
        # a missing or negative ARR weighs nothing either
        ([0.9, 0.1, 0.3], [np.nan, 100.0, -5.0], 0.1),
        # nobody has ARR: the plain mean
        ([0.9, 0.1, 0.2], [0.0, 0.0, 0.0], 0.4),
        # equal ARR: the plain mean
        ([0.9, 0.1, 0.2], [50.0, 50.0, 50.0], 0.4),
    ],
)
def test_revenue_churn_rate_weighs_the_probabilities_by_arr(
    p: list[float], arr: list[float], rate: float
) -> None:
    assert revenue_churn_rate(np.asarray(p), np.asarray(arr)) == pytest.approx(rate)
    assert retained_years(np.asarray(p), 30, ValueConfig(), np.asarray(arr)) == pytest.approx(_years(rate))


def test_one_off_buyers_do_not_cut_the_regulars_lifetime_value() -> None:
    """A pay-per-use list: one-off riders (1-3 trips, p near 1) beside commuters: a commuter's lifetime value
    was its ARR x margin x 0.09 years (the heads' mean p, 0.583 over 30 days: 71 on an ARR of 1,506); by
    revenue (3.5% of the ARR leaves within 30 days) it stays 2.28 years: 1,719. The tiers do not move (the same
    years for every client)."""
    ids = [f"once{i}" for i in range(6)] + [f"daily{i}" for i in range(4)]
    p = [0.97, 0.95, 0.99, 0.9, 0.96, 0.98, 0.02, 0.01, 0.03, 0.02]
    scored = pl.DataFrame({"client_id": ids, Scores.PROBABILITY: p})
    arr = pl.DataFrame(
        {"client_id": ids, Scores.ARR: [12.0, 30.0, 8.0, 25.0, 18.0, 9.0, 1506.0, 1300.0, 900.0, 2100.0]}
    )
    out = value_table(scored, pl.DataFrame({"client_id": ids}), arr, 30, ValueConfig(default_margin=0.5))
    rate = float(np.dot(p, arr.get_column(Scores.ARR).to_numpy()) / arr.get_column(Scores.ARR).sum())
    assert rate == pytest.approx(0.0353, abs=1e-4)
    commuter = out.row(6, named=True)
    assert commuter[Scores.LIFETIME_VALUE] == pytest.approx(1506 * 0.5 * _years(rate))
    assert commuter[Scores.LIFETIME_VALUE] == pytest.approx(1719.05, abs=0.01)
    assert _years(float(np.mean(p))) == pytest.approx(0.0939, abs=1e-4)  # by heads: 71
    assert out.get_column(Scores.VALUE_TIER).to_list() == ["C", "B", "C", "C", "C", "C", "A", "B", "B", "A"]


def test_keep_flags_name_their_reasons() -> None:
    ids = ["toxic", "thin", "needy", "fickle", "fine", "vip", "curious", "big"]
    valued = pl.DataFrame(
        {
            "client_id": ids,
            Scores.ARR: [1_000.0, 10_000.0, 1_000.0, 10_000.0, 10_000.0, 1_000.0, 1_000.0, 175_800.0],
            Scores.STRATEGIC: [0, 0, 0, 0, 0, 3, 0, 0],
        }
    )
    clients = pl.DataFrame({"client_id": ids, "margin": [0.7, 0.05, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]})
    as_of = date(2024, 6, 3)
    t = datetime(2024, 5, 1)
    tickets = pl.DataFrame(
        {
            # toxic: 6 complaints and discount requests on 1,000 of ARR; needy: 6 feature requests (a kind
            # outside the contract's list, accepted) on 1,000 of ARR (60 per 10k); vip: as needy, but strategic 3 is always worth keeping; fine: 5 questions
            # on 10,000 of ARR; curious: 3 questions and 3 bugs on 1,000 of ARR (ordinary use and the
            # product's faults); big: 14 complaints and discount requests on 175,800 of ARR (0.8 per 10k:
            # a service problem to fix, not a client to let go)
            "client_id": ["toxic"] * 6
            + ["needy"] * 6
            + ["vip"] * 6
            + ["fine"] * 5
            + ["curious"] * 6
            + ["big"] * 14,
            "opened_at": [t] * 43,
            "kind": ["complaint", "discount_request"] * 3
            + ["feature_request"] * 12
            + ["question"] * 8
            + ["bug"] * 3
            + ["complaint", "discount_request"] * 7,
        }
    )
    churns = pl.DataFrame(
        {"client_id": ["fickle", "fickle"], "churned_at": [datetime(2023, 1, 1), datetime(2023, 9, 1)]}
    )
    out = keep_flags(valued, clients, tickets, churns, as_of, ValueConfig(), currency="EUR")
    got = dict(zip(out.get_column("client_id"), out.get_column(Scores.NOT_WORTH_KEEPING_REASON), strict=True))
    assert got == {
        "toxic": "3 complaints and 3 discount requests in 365 days for EUR 1000 of ARR",
        "thin": "margin 5%, below 10%",
        "needy": "6 tickets (questions, bugs and cancellation requests aside) in 365 days for EUR 1000 of ARR",
        "fickle": "left 2 times before",
        "fine": "",
        "vip": "",
        "curious": "",
        "big": "",
    }
    assert out.get_column(Scores.NOT_WORTH_KEEPING).to_list() == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("margin", "low_margin", "expected"),
    [
        (0.05, 0.1, "margin 5%, below 10%"),
        (0.097, 0.1, "margin 9.7%, below 10%"),  # said "margin 10%, below 10%"
        (0.0996, 0.1, "margin 9.96%, below 10%"),
        (0.08, 0.125, "margin 8%, below 12.5%"),  # the bound said "below 12%"
        (0.1, 0.1, ""),
    ],
)
def test_the_low_margin_reason_never_rounds_the_margin_up_to_its_bound(margin, low_margin, expected):
    from churnml.scoring.value import keep_flags

    valued = pl.DataFrame({"client_id": ["a"], Scores.ARR: [10_000.0], Scores.STRATEGIC: [0]})
    clients = pl.DataFrame({"client_id": ["a"], "margin": [margin]})
    out = keep_flags(valued, clients, None, None, date(2024, 6, 3), ValueConfig(low_margin=low_margin))
    assert out.get_column(Scores.NOT_WORTH_KEEPING_REASON).to_list() == [expected]


def _revenue_dataset():
    from churnml.contract.dataset import Dataset
    from churnml.contract.schemas import Clients, Payments, Subscriptions, Table

    dt = pl.Datetime("us")
    return Dataset(
        tables={
            Table.CLIENTS: pl.DataFrame(
                [(c, datetime(2023, 1, 1)) for c in ("s", "p", "n")],
                schema={Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: dt},
                orient="row",
            ),
            Table.SUBSCRIPTIONS: pl.DataFrame(
                [("s", datetime(2024, 1, 1), datetime(2024, 12, 31), 100.0)],
                schema={
                    Subscriptions.CLIENT_ID: pl.String,
                    Subscriptions.START_DATE: dt,
                    Subscriptions.END_DATE: dt,
                    Subscriptions.MRR: pl.Float64,
                },
                orient="row",
            ),
            Table.PAYMENTS: pl.DataFrame(
                [
                    ("s", 5000.0, datetime(2024, 2, 1)),  # a running term wins over payments
                    ("p", 2400.0, datetime(2024, 2, 1)),
                    ("p", -600.0, datetime(2024, 2, 20)),  # a refund is netted
                    ("p", 9999.0, datetime(2023, 2, 28)),  # more than 365 days before: left out
                ],
                schema={Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: dt},
                orient="row",
            ),
        },
        name="revenue",
        start=datetime(2023, 1, 1),
        as_of=datetime(2024, 6, 1),
    )


def test_recurring_revenue_is_one_figure_in_the_list_the_metrics_and_the_winback_list() -> None:
    """A client with payments but no subscription gets its payments' year everywhere; a client with a
    running term its term's 12 x MRR; a client with neither 0."""
    from churnml.config import load_config
    from churnml.contract.schemas import Table
    from churnml.reporting.metrics import mrr_at
    from churnml.reporting.winback import winback_list

    data = _revenue_dataset()
    subs, pays = data.get(Table.SUBSCRIPTIONS), data.get(Table.PAYMENTS)
    day = date(2024, 3, 1)
    expected = {"s": 1200.0, "p": 1800.0, "n": 0.0}  # p: 2400 - 600

    in_list = dict(annual_recurring_revenue(["s", "p", "n"], day, subs, pays).rows())
    spine = pl.DataFrame({"client_id": ["s", "p", "n"], "snapshot": [day] * 3})
    mrr, _ = mrr_at(data, spine, grace_days=30)
    in_metrics = {c: 12 * m for c, m in mrr.select("client_id", "_mrr").rows()}
    churns = pl.DataFrame(
        {"client_id": ["s", "p", "n"], "churned_at": [datetime(2024, 3, 1)] * 3},
        schema={"client_id": pl.String, "churned_at": pl.Datetime("us")},
    )
    plan = winback_list(data, churns, load_config().winback, default_margin=0.5)
    in_winback = dict(plan.select("client_id", "former_arr").rows())
    assert in_list == in_metrics == in_winback == expected


def test_recurring_revenue_matches_the_same_rows_by_search_and_by_join(monkeypatch) -> None:
    from churnml.contract.schemas import Table
    from churnml.scoring import value

    data = _revenue_dataset()
    rows = pl.DataFrame(
        {
            "client_id": ["s", "p", "p", "n", "s"],
            "at": [
                datetime(2024, 3, 1),
                datetime(2024, 2, 1),
                datetime(2024, 2, 21),
                datetime(2024, 3, 1),
                datetime(2025, 1, 1),
            ],
        }
    )
    args = (rows, "at", data.get(Table.SUBSCRIPTIONS), data.get(Table.PAYMENTS))
    by_search = value.recurring_revenue(*args)
    monkeypatch.setattr(value, "_FEW_INSTANTS", 0)
    by_join = value.recurring_revenue(*args)
    assert by_search.equals(by_join)
    # p on 2024-02-01: the payment at that very instant is not before it, the one of 2023-02-28 is within
    # 365 days; on 02-21 all three count. s on 2025-01-01: its term ended, its payments' year remains.
    assert by_search.get_column("arr").to_list() == [1200.0, 9999.0, 11799.0, 0.0, 5000.0]
    assert by_search.get_column("mrr").to_list() == pytest.approx(
        [100.0, 9999 / 12, 11799 / 12, 0.0, 5000 / 12]
    )


@pytest.mark.parametrize(
    ("observed_from", "shop", "once"),
    [
        # not given (metrics, win-back): the payments of the last 365 days as they are
        (None, 600.0, 100.0),
        # a log of 182 days: one order scaled to a year by the log's days; the repeat buyer, first paid
        # 180 days ago, by its own
        (datetime(2024, 1, 1), 600.0 * 365 / 180, 100.0 * 365 / 182),
        # a year or more observed: the one order unchanged; the repeat buyer is still younger than a year
        (datetime(2023, 1, 1), 600.0 * 365 / 180, 100.0),
    ],
)
def test_arr_from_the_payments_of_a_young_log_is_scaled_to_a_year(observed_from, shop, once) -> None:
    from churnml.scoring.value import annual_recurring_revenue

    payments = pl.DataFrame(
        {
            "client_id": ["shop"] * 6 + ["once"],
            "amount": [100.0] * 7,
            # orders at irregular gaps (monthly ones would be a recurring payment at its run rate)
            "paid_at": [datetime(2024, m, d) for m, d in zip(range(1, 7), (3, 20, 2, 28, 5, 15), strict=True)]
            + [datetime(2024, 3, 10)],
        }
    )
    arr = annual_recurring_revenue(["shop", "once"], date(2024, 7, 1), None, payments, 0, observed_from)
    assert arr.get_column("arr").to_list() == pytest.approx([shop, once])


@pytest.mark.parametrize(
    ("days_before", "arr"),
    [
        ([60, 45, 20, 5], 40.0 * 365 / 91),  # four irregular top-ups in 60 days: over 91 days at least
        ([200, 130, 100, 20], 40.0 * 365 / 200),  # first paid 200 days ago
        ([400, 300, 100, 20], 30.0),  # a client of more than a year: its year's payments
        ([20], 10.0),  # one payment: the log's own scaling (400 days observed: none)
    ],
)
def test_a_young_repeat_payer_is_scaled_from_its_first_payment(days_before: list[int], arr: float) -> None:
    payments = _paid("t", days_before, 10.0)
    got = annual_recurring_revenue(["t"], date(2025, 1, 1), None, payments, 0, datetime(2023, 11, 28))
    assert got.get_column(Scores.ARR).item() == pytest.approx(arr)


@pytest.mark.parametrize(
    ("created_at", "arr"),
    [
        # a client since 2018 whose first order in the log came 183 days before the list (a beach bar's
        # summer): the log's 300 observed days scale its orders, not its 183 days (x 2, was 6 x 100 x 365 / 183)
        (datetime(2018, 5, 1), 600.0 * 365 / 300),
        # an account opened 250 days before the list, inside the log, that first ordered 183 days before
        # it: young from its opening
        (datetime(2024, 4, 26), 600.0 * 365 / 250),
        # created with its first order: young from it, as without a clients table
        (datetime(2024, 7, 2), 600.0 * 365 / 183),
        # no creation date: its first payment
        (None, 600.0 * 365 / 183),
    ],
)
def test_a_client_older_than_its_first_payment_in_the_log_is_no_young_payer(
    created_at: datetime | None, arr: float
) -> None:
    payments = _paid("bar", [183, 170, 120, 100, 40, 35], 100.0)  # irregular gaps: no run rate
    clients = pl.DataFrame(
        {"client_id": ["bar"], "created_at": [created_at]},
        schema={"client_id": pl.String, "created_at": pl.Datetime},
    )
    observed_from = datetime(2025, 1, 1) - timedelta(days=300)  # the data's first activity
    got = annual_recurring_revenue(
        ["bar"], date(2025, 1, 1), None, payments, 0, observed_from, clients_table=clients
    )
    assert got.get_column(Scores.ARR).item() == pytest.approx(arr)


def test_a_refund_written_positive_with_its_status_lowers_the_arr() -> None:
    from churnml.scoring.value import annual_recurring_revenue

    payments = pl.DataFrame(
        {
            "client_id": ["a", "a", "a", "a", "b"],
            "amount": [100.0, 40.0, 30.0, 25.0, 9.99],
            "paid_at": [datetime(2024, 3, 1)] * 3 + [None, datetime(2024, 3, 2)],
            "status": ["paid", "refunded", "failed", "open", "refunded"],
        }
    )
    arr = annual_recurring_revenue(["a", "b"], date(2024, 6, 3), None, payments)
    # a: 100 paid - 40 refunded (the failed and open ones moved no money); b: its only payment refunded
    assert arr.get_column("arr").to_list() == [60.0, 0.0]


def test_arr_from_invoices_counts_what_was_invoiced_in_the_year_not_when_its_cash_arrived() -> None:
    def at(day: str | None) -> datetime | None:
        return datetime.fromisoformat(day) if day else None

    rows = [  # client, invoice, issued_at, paid_at, amount, status
        # a prompt payer: its invoice of 2023-05-20 was paid in the year (2023-06-15) but issued before it
        ("prompt", "P1", "2023-05-20", "2023-06-15", 500.0, "paid"),
        ("prompt", "P2", "2023-07-06", "2023-08-01", 300.0, "paid"),
        ("prompt", "P3", "2024-05-01", "2024-05-28", 200.0, "paid"),
        # a late payer: its last invoice, issued 44 days ago and 14 days past due, is owed, not paid yet
        ("late", "L1", "2023-10-02", "2023-11-20", 300.0, "paid"),
        ("late", "L2", "2024-04-20", None, 400.0, "open"),
        # an invoice issued 2 weeks ago, not yet due; one issued after the as-of date is not known then
        ("fresh", "F1", "2024-05-20", None, 250.0, "open"),
        ("fresh", "F2", "2024-06-03T10:00:00", None, 999.0, "open"),
        # a failed invoice is no revenue
        ("failed", "X1", "2024-01-05", "2024-02-01", 100.0, "paid"),
        ("failed", "X2", "2024-01-15", None, 600.0, "failed"),
        # a credit note applied (refunded, paid out) is netted at its paid_at; one still open gives nothing back
        ("credit", "C1", "2024-03-01", "2024-03-28", 800.0, "paid"),
        ("credit", "C1-cn", "2024-03-05", "2024-03-10", -80.0, "refunded"),
        ("credit", "C2-cn", "2024-05-15", None, -30.0, "open"),
        # a card payment without an invoice date counts when it was made
        ("card", "K1", None, "2024-02-02", 120.0, "paid"),
    ]
    payments = pl.DataFrame(
        {
            "client_id": [r[0] for r in rows],
            "invoice_id": [r[1] for r in rows],
            "issued_at": [at(r[2]) for r in rows],
            "paid_at": [at(r[3]) for r in rows],
            "amount": [r[4] for r in rows],
            "status": [r[5] for r in rows],
        }
    )
    ids = ["prompt", "late", "fresh", "failed", "credit", "card"]
    arr = annual_recurring_revenue(ids, AS_OF, None, payments)
    # invoiced from 2023-06-04 to 2024-06-02 (365 days before 2024-06-03): prompt 300 + 200 (read at its
    # payments, 1,000); late 300 + 400 (300); fresh 250 (0); failed 100; credit 800 - 80; card 120
    assert dict(arr.iter_rows()) == {
        "prompt": 500.0,
        "late": 700.0,
        "fresh": 250.0,
        "failed": 100.0,
        "credit": 720.0,
        "card": 120.0,
    }


def test_a_paused_client_keeps_the_arr_of_its_last_paid_terms_and_a_trial_stays_at_zero() -> None:
    from churnml.scoring.value import annual_recurring_revenue

    subs = pl.DataFrame(
        {
            # paused: 199 a month (plus a 50 add-on) until May, then a free pause term; trial: a free term
            # only; paying: 80 a month now
            "client_id": ["paused", "paused", "paused", "trial", "paying"],
            "start_date": [
                datetime(2024, 1, 1),
                datetime(2024, 3, 1),
                datetime(2024, 5, 1),
                datetime(2024, 5, 20),
                datetime(2024, 5, 1),
            ],
            "end_date": [
                datetime(2024, 5, 1),
                datetime(2024, 5, 1),
                datetime(2024, 7, 1),
                datetime(2024, 6, 20),
                datetime(2024, 7, 1),
            ],
            "mrr": [199.0, 50.0, 0.0, 0.0, 80.0],
        }
    )
    arr = annual_recurring_revenue(["paused", "trial", "paying"], date(2024, 6, 3), subs, None, 30)
    assert arr.get_column("arr").to_list() == [12 * 249.0, 0.0, 12 * 80.0]


def test_within_its_zone_a_raised_client_ranks_by_at_least_the_zone_threshold() -> None:
    from churnml.config import ZonesConfig
    from churnml.scoring.value import zone_priority

    # r1: model p 0.04, raised to red by a cancellation request, ARR 15,310; r2: p 0.6, ARR 800
    valued = pl.DataFrame(
        {
            "client_id": ["r1", "r2", "y1"],
            Scores.PROBABILITY: [0.04, 0.6, 0.3],
            Scores.ARR: [15_310.0, 800.0, 50_000.0],
            Scores.REVENUE_AT_RISK: [612.4, 480.0, 15_000.0],
            Scores.STRATEGIC: [0, 0, 0],
        }
    )
    zone = ["red", "red", "yellow"]
    # by p x ARR alone r1 (612) still leads r2 (480); with the red floor 0.5 it is 7,655: first by far
    zones = ZonesConfig(red=0.5, yellow=0.2)
    raised = [True, False, False]
    assert zone_priority(valued, zone, zones, raised).get_column(Scores.PRIORITY).to_list() == [1, 2, 3]
    valued2 = valued.with_columns(pl.Series(Scores.ARR, [5_000.0, 800.0, 50_000.0]))
    # r1 at 5,000 ARR: 0.04 x 5,000 = 200 < 480 ranks it behind r2 without the floor, ahead with it
    assert zone_priority(valued2, zone).get_column(Scores.PRIORITY).to_list() == [2, 1, 3]
    assert zone_priority(valued2, zone, zones, raised).get_column(Scores.PRIORITY).to_list() == [1, 2, 3]


@pytest.mark.parametrize(
    ("method", "probability", "arr", "raised", "expected"),
    [
        # capacity: b (p 5%, 10,000 ARR: 500 at risk) is red by capacity, not by a rule: behind a (900)
        ("capacity", [0.90, 0.05], [1_000.0, 10_000.0], [False, False], [1, 2]),
        # the same b raised by a rule ranks at the red threshold: 0.35 x 10,000 = 3,500 ahead of 900
        ("capacity", [0.90, 0.05], [1_000.0, 10_000.0], [False, True], [2, 1]),
        # hysteresis holds b in red at p 0.31 (below 0.35): 0.31 x 2,500 = 775 behind a's 800, no floor
        ("probability", [0.40, 0.31], [2_000.0, 2_500.0], [False, False], [1, 2]),
    ],
)
def test_only_a_client_a_rule_raised_ranks_at_the_zone_threshold(
    method: str, probability: list[float], arr: list[float], raised: list[bool], expected: list[int]
) -> None:
    from churnml.config import ZonesConfig
    from churnml.scoring.value import zone_priority

    valued = pl.DataFrame(
        {"client_id": ["a", "b"], Scores.PROBABILITY: probability, Scores.ARR: arr, Scores.STRATEGIC: [0, 0]}
    )
    zones = ZonesConfig(method=method, red=0.35, yellow=0.15, red_capacity=2, yellow_capacity=0)
    ranked = zone_priority(valued, ["red", "red"], zones, raised)
    assert ranked.get_column(Scores.PRIORITY).to_list() == expected


def _paid(client: str, days_before: list[int], amount: float) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "client_id": [client] * len(days_before),
            "paid_at": [datetime(2025, 1, 1) - timedelta(days=d) for d in days_before],
            "amount": [amount] * len(days_before),
        }
    )


@pytest.mark.parametrize(
    ("days_before", "amount", "arr"),
    [
        ([100, 70, 40, 10], 20.0, 20.0 * 365 / 30),  # a new monthly donor: the run rate, not 80
        ([100, 90, 10], 50.0, 150.0),  # orders at irregular gaps: the year's sum
        ([200, 170, 140], 20.0, 60.0),  # stopped paying 140 days ago (gap 30): the year's sum
        ([20], 100.0, 100.0),  # a one-off gift
        ([40, 10], 20.0, 40.0),  # two payments: too few to call recurring
        ([3, 2, 1], 100.0, 300.0),  # three orders on three days: no daily subscription (36,500)
        ([d * 30 + 10 for d in range(12)], 20.0, 240.0 * 365 / 360),  # a full year: the rate (0.3% above)
    ],
)
def test_a_recurring_payment_counts_at_its_run_rate(
    days_before: list[int], amount: float, arr: float
) -> None:
    payments = _paid("c", days_before, amount)
    got = annual_recurring_revenue(["c"], date(2025, 1, 1), None, payments)
    assert got.get_column(Scores.ARR).item() == pytest.approx(arr)


@pytest.mark.parametrize(
    ("days_before", "amount", "arr"),
    [
        # a spring buyer of two seasons, three monthly orders of 100 each: its year, not 100 x 365 / 30
        ([430, 400, 370, 70, 40, 10], 100.0, 300.0),
        # a monthly payer of two years: its payments fill the year, the run rate (its 12 x 20, 0.3% above)
        ([d * 30 + 10 for d in range(24)], 20.0, 240.0 * 365 / 360),
        # the same orders of this spring alone (paying for under a year): the run rate
        ([70, 40, 10], 100.0, 100.0 * 365 / 30),
    ],
)
def test_a_seasonal_buyer_of_more_than_a_year_is_valued_on_its_last_12_months(
    days_before: list[int], amount: float, arr: float
) -> None:
    payments = _paid("c", days_before, amount)
    got = annual_recurring_revenue(["c"], date(2025, 1, 1), None, payments)
    assert got.get_column(Scores.ARR).item() == pytest.approx(arr)


@pytest.mark.parametrize(
    ("kinds", "reason"),
    [
        # 6 tickets on 1,800 of ARR are 33 per 10,000 (above service_load 30) when their kind is known
        (["feature_request"] * 6, "6 tickets (questions, bugs and cancellation requests aside) in 365 days"),
        # a ticket without a kind is not counted: its kind is unknown, not "other than a question"
        ([None] * 6, ""),
        (None, ""),  # a tickets table without the optional kind column: the same
        (
            ["feature_request"] * 6 + [None] * 3,
            "6 tickets (questions, bugs and cancellation requests aside; 3 without a kind not counted) in 365 days",
        ),
        (["feature_request"] * 5 + [None] * 3, ""),  # 5 known: fewer than toxic_tickets (6)
        (["question"] * 6, ""),
    ],
)
def test_only_tickets_of_a_known_kind_weigh_on_the_service_load(
    kinds: list[str | None] | None, reason: str
) -> None:
    valued = pl.DataFrame({"client_id": ["c"], Scores.ARR: [1_800.0], Scores.STRATEGIC: [0]})
    clients = pl.DataFrame({"client_id": ["c"], "margin": [0.7]})
    n = 6 if kinds is None else len(kinds)
    tickets = pl.DataFrame({"client_id": ["c"] * n, "opened_at": [datetime(2024, 5, 1)] * n})
    if kinds is not None:
        tickets = tickets.with_columns(pl.Series("kind", kinds, dtype=pl.String))
    out = keep_flags(valued, clients, tickets, None, date(2024, 6, 3), ValueConfig(), currency="EUR")
    expected = f"{reason} for EUR 1800 of ARR" if reason else ""
    assert out.get_column(Scores.NOT_WORTH_KEEPING_REASON).to_list() == [expected]
    assert out.get_column(Scores.NOT_WORTH_KEEPING).to_list() == [bool(reason)]


@pytest.mark.parametrize(
    ("kinds", "text"),
    [
        (["complaint"] * 6, "6 complaints in 365 days for EUR 100 of ARR"),
        (["discount_request"] * 6, "6 discount requests in 365 days for EUR 100 of ARR"),
        (
            ["complaint"] * 5 + ["discount_request"],
            "5 complaints and 1 discount request in 365 days for EUR 100 of ARR",
        ),
    ],
)
def test_a_let_go_names_only_what_the_client_asked(kinds: list[str], text: str) -> None:
    valued = pl.DataFrame({"client_id": ["c"], Scores.ARR: [100.0], Scores.STRATEGIC: [0]})
    clients = pl.DataFrame({"client_id": ["c"], "margin": [0.7]})
    tickets = pl.DataFrame(
        {"client_id": ["c"] * len(kinds), "opened_at": [datetime(2024, 5, 1)] * len(kinds), "kind": kinds}
    )
    out = keep_flags(valued, clients, tickets, None, date(2024, 6, 3), ValueConfig(), currency="EUR")
    assert out.get_column(Scores.NOT_WORTH_KEEPING_REASON).to_list() == [text]


@pytest.mark.parametrize(
    ("data_start", "expected"),
    [
        (datetime(2023, 1, 10), "in 365 days"),
        (datetime(2024, 3, 1), "in the 243 days of data"),  # data shorter than the window
        (None, "in 365 days"),
    ],
)
def test_the_ticket_window_is_said_over_the_days_of_data(data_start, expected) -> None:
    from churnml.scoring.value import ticket_window_words

    assert ticket_window_words(data_start, date(2024, 10, 30), 365) == expected


def test_lapsed_terms_arr_passes_the_configured_early_renewal_share(monkeypatch: pytest.MonkeyPatch) -> None:
    # data.early_renewal_share reaches crm.lapsed_terms (the one reader of bookings for the lapsed ARR)
    import churnml.scoring.crm as crm

    seen: list[float] = []
    real = crm.lapsed_terms

    def spy(subscriptions, as_of, grace_days, renewal_share=crm.EARLY_RENEWAL_SHARE, **rest):
        seen.append(renewal_share)
        return real(subscriptions, as_of, grace_days, renewal_share, **rest)

    monkeypatch.setattr(crm, "lapsed_terms", spy)
    subs = pl.DataFrame(
        {
            "client_id": ["l"],
            "start_date": [datetime(2024, 1, 1)],
            "end_date": [datetime(2024, 6, 1)],
            "mrr": [50.0],
        }
    )
    arr = annual_recurring_revenue(["l"], AS_OF, subs, None, 30, renewal_share=0.4)
    assert (arr.get_column(Scores.ARR).to_list(), seen) == ([600.0], [0.4])


def test_refunds_giving_back_more_than_was_paid_are_said() -> None:
    # a coffee roaster's order export: each order a row, a refunded order marked 'refunded' itself. C00086
    # paid 24 in May; its July order of 24 came back: read as a refund, its ARR was 0 (24 - 24). C00128's
    # first order was refunded (nothing paid before it). C00200 paid 40, then a refund of 24 of a row of its own.
    from churnml.scoring.value import refunds_beyond_paid, refunds_beyond_paid_note

    payments = pl.DataFrame(
        {
            "client_id": ["C00086", "C00086", "C00128", "C00128", "C00200", "C00200", "C00300"],
            "amount": [24.0, 24.0, 24.0, 18.0, 40.0, -24.0, 14.0],
            "paid_at": [
                datetime(2026, 5, 26),
                datetime(2026, 7, 22),
                datetime(2026, 4, 18),
                datetime(2026, 6, 1),
                datetime(2026, 3, 1),
                datetime(2026, 3, 5),
                datetime(2026, 3, 5),
            ],
            "status": ["paid", "refunded", "refunded", "paid", "paid", "refunded", "failed"],
        }
    )
    beyond = refunds_beyond_paid(payments)
    assert beyond.select("client_id", "amount", "received").rows() == [("C00128", 24.0, 0.0)]
    note = refunds_beyond_paid_note(payments, "EUR")
    assert note is not None and note.startswith(
        "payments: 1 of the 3 rows with status 'refunded' gives back more than their client had bought before it "
        "(C00128 EUR 24.00 on 2026-04-18, 0.00 bought before). A 'refunded' row is no order but money going back"
    )
    assert refunds_beyond_paid_note(payments.filter(pl.col("client_id") != "C00128"), "EUR") is None
    assert refunds_beyond_paid_note(payments.drop("status"), "EUR") is None


def test_credit_notes_on_invoices_not_paid_yet_undo_those_invoices() -> None:
    # a food wholesaler invoices on 30-day terms: W1's invoice of 1,000 is issued on 2026-03-01 and paid on
    # 03-28; a credit note of 150 for wrong items is issued and applied on 03-04, before that payment. It undoes
    # the invoice placed before it (no money the data never saw). W2's first invoice, 24 on 04-01, is itself
    # marked 'refunded' (a shop's financial status): nothing bought before it, still said.
    from churnml.scoring.value import refunds_beyond_paid, refunds_beyond_paid_note

    payments = pl.DataFrame(
        {
            "client_id": ["W1", "W1", "W2", "W2"],
            "invoice_id": ["INV-1", "CN-1", "INV-2", "INV-3"],
            "amount": [1000.0, -150.0, 24.0, 60.0],
            "issued_at": [
                datetime(2026, 3, 1),
                datetime(2026, 3, 4),
                datetime(2026, 4, 1),
                datetime(2026, 4, 20),
            ],
            "due_at": [datetime(2026, 3, 31), None, datetime(2026, 5, 1), datetime(2026, 5, 20)],
            "paid_at": [datetime(2026, 3, 28), datetime(2026, 3, 4), datetime(2026, 4, 2), None],
            "status": ["paid", "refunded", "refunded", "open"],
        }
    )
    beyond = refunds_beyond_paid(payments)
    assert beyond.select("client_id", "amount", "received").rows() == [("W2", 24.0, 0.0)]
    note = refunds_beyond_paid_note(payments, "EUR")
    assert note is not None and note.startswith(
        "payments: 1 of the 2 rows with status 'refunded' gives back more than their client had bought before it "
        "(W2 EUR 24.00 on 2026-04-02, 0.00 bought before)."
    )
    assert refunds_beyond_paid_note(payments.filter(pl.col("client_id") == "W1"), "EUR") is None


def test_the_tier_cut_points_are_set_by_the_clients_with_a_value() -> None:
    # 5 paying clients (10..50) and 5 trialists that never paid (0): the shares are of the 5 paying ones,
    # A = 1 (20% of 5), B up to 3 (50% of 5, rounded up); counted over all 10 the cuts fell to the ranks 2
    # and 5, every paying client at least B
    ltv = [50.0, 40.0, 30.0, 20.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    ids = [f"c{i}" for i in range(10)]
    tiers = value_tiers(np.asarray(ltv), np.zeros(10), ids, CFG)
    assert tiers == ["A", "B", "B", "C", "C", "C", "C", "C", "C", "C"]
    # the same paying clients alone: the same tiers
    assert value_tiers(np.asarray(ltv[:5]), np.zeros(5), ids[:5], CFG) == tiers[:5]


def test_a_trial_ranks_by_the_arr_it_would_bring_on_conversion_never_as_revenue_at_risk() -> None:
    from churnml.scoring.value import client_plans, zone_priority

    # p1, p2 pay for growth (12,000 and 6,000 a year), p3 for starter (1,200); t1 trials growth, 10 days in; t2
    # trials a product nobody pays for yet; both never paid
    as_of = date(2024, 6, 3)
    subs = pl.DataFrame(
        {
            "client_id": ["p1", "p2", "p3", "t1", "t2"],
            "start_date": [datetime(2024, 1, 1)] * 3 + [datetime(2024, 5, 24)] * 2,
            "end_date": [datetime(2025, 1, 1)] * 3 + [datetime(2024, 6, 7)] * 2,
            "mrr": [1_000.0, 500.0, 100.0, 0.0, 0.0],
            "product": ["growth", "growth", "starter", "growth", "gold"],
        }
    )
    ids = ["p1", "p2", "p3", "t1", "t2"]
    arr = annual_recurring_revenue(ids, as_of, subs, None).join(
        client_plans(ids, as_of, subs, None), on="client_id", maintain_order="left"
    )
    scored = pl.DataFrame({"client_id": ids, Scores.PROBABILITY: [0.2, 0.2, 0.5, 0.8, 0.5]})
    valued = value_table(scored, pl.DataFrame({"client_id": ids}), arr, 90, CFG)
    rows = {r["client_id"]: r for r in valued.iter_rows(named=True)}
    # t1: the median of growth's paying clients; t2: of every paying client (no one pays for gold)
    assert [rows[c][Scores.CONVERSION_ARR] for c in ids] == [None, None, None, 9_000.0, 6_000.0]
    # a prospect's value, not revenue: ARR, revenue at risk and lifetime value stay 0, tier C
    assert [rows[c][Scores.ARR] for c in ("t1", "t2")] == [0.0, 0.0]
    assert [rows[c][Scores.REVENUE_AT_RISK] for c in ("t1", "t2")] == [0.0, 0.0]
    assert [rows[c][Scores.VALUE_TIER] for c in ids] == ["A", "B", "C", "C", "C"]
    # ranked by p x the ARR at stake: t1 0.8 x 9,000 = 7,200, t2 3,000, p1 2,400, p2 1,200, p3 600 (before: the
    # trials last, at ARR 0)
    assert [rows[c][Scores.PRIORITY] for c in ids] == [3, 4, 5, 1, 2]
    ranked = zone_priority(valued, ["red", "red", "red", "yellow", "red"])
    assert ranked.get_column(Scores.PRIORITY).to_list() == [2, 3, 4, 5, 1]


def _growth_trial_valued(ids: list[str], p: list[float]) -> pl.DataFrame:
    """``ids``: p1 pays 12,000 a year for growth, p2 6,000 and t1 trials growth without paying (conversion: the
    median of growth's paying clients, 9,000), at probabilities ``p``; the list of 2024-06-03, valued."""
    from churnml.scoring.value import client_plans

    as_of = date(2024, 6, 3)
    subs = pl.DataFrame(
        {
            "client_id": ["p1", "p2", "t1"],
            "start_date": [datetime(2024, 1, 1)] * 2 + [datetime(2024, 5, 24)],
            "end_date": [datetime(2025, 1, 1)] * 2 + [datetime(2024, 6, 7)],
            "mrr": [1_000.0, 500.0, 0.0],
            "product": ["growth"] * 3,
        }
    )
    arr = annual_recurring_revenue(ids, as_of, subs, None).join(
        client_plans(ids, as_of, subs, None), on="client_id", maintain_order="left"
    )
    scored = pl.DataFrame({"client_id": ids, Scores.PROBABILITY: p})
    return value_table(scored, pl.DataFrame({"client_id": ids}), arr, 90, CFG)


@pytest.mark.parametrize(
    ("complaints", "reason"),
    [
        # 6.7 per 10,000 of the 9,000 it would bring: as a paying client of 9,000 with them, kept (read against
        # its ARR of 0 it was let go: "6 complaints in 365 days for EUR 0 of ARR")
        (6, ""),
        # 33 per 10,000, over service_load (30): as demanding as a paying client let go, and said at its value
        (30, "30 complaints in 365 days for EUR 9000 of ARR on conversion"),
    ],
)
def test_a_trialist_is_weighed_against_its_conversion_not_an_arr_of_0(complaints: int, reason: str) -> None:
    ids = ["p1", "p2", "t1"]
    valued = _growth_trial_valued(ids, [0.2, 0.2, 0.8])
    assert valued.get_column(Scores.ARR).to_list() == [12_000.0, 6_000.0, 0.0]  # no trial value in arr
    assert valued.get_column(Scores.CONVERSION_ARR).to_list() == [None, None, 9_000.0]
    tickets = pl.DataFrame(
        {
            "client_id": ["t1"] * complaints,
            "opened_at": [datetime(2024, 5, 28)] * complaints,
            "kind": ["complaint"] * complaints,
        }
    )
    out = keep_flags(valued, pl.DataFrame({"client_id": ids}), tickets, None, date(2024, 6, 3), CFG, "EUR")
    assert out.get_column(Scores.NOT_WORTH_KEEPING_REASON).to_list() == ["", "", reason]
    assert out.get_column(Scores.NOT_WORTH_KEEPING).to_list() == [False, False, bool(reason)]


def _deliveries(client: str, every_days: int, n: int, price: float, mrr: float) -> tuple[list, list]:
    """``n`` terms of ``every_days`` back to back from 2026-01-05 at ``mrr``, each charged ``price`` at its start:
    (subscriptions rows, payments rows)."""
    starts = [datetime(2026, 1, 5) + timedelta(days=every_days * k) for k in range(n)]
    terms = [(client, a, a + timedelta(days=every_days), mrr) for a in starts]
    paid = [(client, f"{client}-{k}", a + timedelta(hours=4), price, "paid") for k, a in enumerate(starts)]
    return terms, paid


def _term_tables(*clients: tuple[list, list]) -> tuple[pl.DataFrame, pl.DataFrame]:
    terms = [row for t, _ in clients for row in t]
    paid = [row for _, p in clients for row in p]
    # the payments log runs past every term (a last order after them) and began before them
    paid += [("z", "z-0", datetime(2026, 1, 1), 5.0, "paid"), ("z", "z-1", datetime(2027, 6, 1), 5.0, "paid")]
    subs = pl.DataFrame(terms, schema=["client_id", "start_date", "end_date", "mrr"], orient="row")
    pays = pl.DataFrame(paid, schema=["client_id", "invoice_id", "paid_at", "amount", "status"], orient="row")
    return subs, pays


def test_an_mrr_holding_each_terms_price_is_said() -> None:
    """An auto-ship every 8 weeks at 60 a delivery, written with mrr 60 (the delivery's price) where its monthly
    amount is 60 x 30.44 / 56 = 32.61: its ARR would read 720 a year for the 391 it brings."""
    from churnml.scoring.value import term_prices_note

    priced = [_deliveries(f"p{i}", 56, 3, 60.0, 60.0) for i in range(7)]  # 21 terms priced
    monthly = [_deliveries(f"m{i}", 56, 3, 60.0, 32.61) for i in range(7)]  # 21 terms at their monthly amount
    yearly = [_deliveries(f"y{i}", 365, 1, 12_000.0, 1_000.0) for i in range(21)]  # a year paid up front
    note = term_prices_note(*_term_tables(*priced), "EUR")
    assert note is not None and note.startswith(
        "subscriptions.mrr: 21 of the 21 paid terms that are not a month long and whose orders the payments show "
        "were charged about their mrr, not mrr x their length in months (e.g. p0 from 2026-01-05, 56 days, mrr "
        "EUR 60.00, ordered EUR 60.00;"
    )
    assert note.endswith(
        "mrr looks like each term's price. mrr is the term's monthly amount (a term of 56 days charged 60 has mrr 60 "
        "x 30.44 / 56 = 32.61; a year of 12,000 has 1,000): the ARR (12 x mrr), revenue at risk, value tiers and "
        "renewal values read it as a month's, 12 x the days of a term / 365.25 times a client's year (1.84 x at 56 "
        "days)"
    )
    assert term_prices_note(*_term_tables(*monthly), "EUR") is None
    assert term_prices_note(*_term_tables(*yearly), "EUR") is None
    assert term_prices_note(*_term_tables(*priced[:6]), "EUR") is None  # 18 terms: too few to say
    more = [_deliveries(f"n{i}", 56, 3, 60.0, 32.61) for i in range(7)]
    assert term_prices_note(*_term_tables(*priced, *monthly, *more), "EUR") is None  # a third of them


def _debits(client: str, start: datetime, months: int, amount: float) -> list[tuple]:
    return [(client, start + timedelta(days=30 * m, hours=6), amount, "paid") for m in range(months)]


def test_a_plan_members_arr_adds_the_orders_beyond_its_plan_to_the_terms() -> None:
    """A vet plan member pays a monthly direct debit (its term's mrr) and its pets' treatments on top: its ARR was
    12 x the plan fee alone, GBP 222 at the median of a 3-clinic group's members against the GBP 549 they were
    invoiced in the year, below pay-per-visit owners of the same spend (8 members in the top fifth by ARR, 47 now).
    The orders that are no charge of a term (not the mrr, or the summed mrr of the terms running, times a number of
    months) add to 12 x the terms' MRR; a charge retried after its term ended is still a charge; a client whose
    invoices never read as a charge (tax on every debit) keeps 12 x its MRR; an annual term paid up front is
    its charge; an order before its plan began counts too (pay per visit, then the plan)."""
    as_of = date(2026, 11, 30)
    year_ago = datetime(2025, 12, 1)
    subs = pl.DataFrame(
        {
            "client_id": ["member", "member", "taxed", "annual", "joined"],
            "start_date": [
                datetime(2025, 6, 1),
                datetime(2026, 6, 1),
                year_ago,
                datetime(2026, 3, 1),
                datetime(2026, 9, 1),
            ],
            "end_date": [
                datetime(2026, 6, 1),
                datetime(2027, 6, 1),
                datetime(2026, 12, 1),
                datetime(2027, 3, 1),
                datetime(2027, 9, 1),
            ],
            "mrr": [30.0, 32.0, 30.0, 100.0, 20.0],
        }
    )
    member = [
        *_debits("member", datetime(2025, 12, 1), 6, 30.0),  # the plan's debits of the year ...
        (
            "member",
            datetime(2026, 6, 4, 6),
            30.0,
            "paid",
        ),  # ... the last month's, failed and retried 3 days late
        *_debits("member", datetime(2026, 7, 1), 5, 32.0),  # the renewed term's debits at the new fee
        ("member", datetime(2026, 2, 10, 11), 400.0, "paid"),  # an illness visit
        ("member", datetime(2026, 9, 3, 15), 250.0, "paid"),  # a vaccination of a second pet
    ]
    taxed = _debits("taxed", year_ago, 12, 36.0)  # 20% VAT on every debit: never the mrr
    annual = [("annual", datetime(2026, 3, 1, 6), 1200.0, "paid")]
    joined = [
        ("joined", datetime(2026, 1, 15, 10), 180.0, "paid"),  # a visit before the plan
        *_debits("joined", datetime(2026, 9, 1), 3, 20.0),
        ("joined", datetime(2026, 10, 20, 10), 90.0, "paid"),  # a visit on the plan
    ]
    pays = pl.DataFrame(
        [*member, *taxed, *annual, *joined], schema=["client_id", "paid_at", "amount", "status"], orient="row"
    )
    out = annual_recurring_revenue(["member", "taxed", "annual", "joined"], as_of, subs, pays)
    assert dict(zip(out["client_id"], out["arr"].round(2), strict=True)) == {
        "member": 12 * 32.0 + 400.0 + 250.0,
        "taxed": 12 * 30.0,
        "annual": 12 * 100.0,
        "joined": 12 * 20.0 + 180.0 + 90.0,
    }


def test_charge_bills_are_each_price_times_the_months_and_its_own_in_three_bands() -> None:
    """What a client's terms may charge (value._charge_bills): a price of 100 on a 12-month term is billed 100,
    200, 300, 400, 600 or 1,200 (its own length repeats 12 months: once); a free term bills nothing; 50 on a
    5-month term adds 250. Each bill stands in its 1% band and the two beside it."""
    import math

    from churnml.scoring.value import _charge_bills

    prices = pl.DataFrame(
        {"_key": [1, 2, 3], "_mrr": [100.0, 0.0, 50.0], "_months": [12.0, 1.0, 5.0]},
        schema={"_key": pl.UInt64, "_mrr": pl.Float64, "_months": pl.Float64},
    )
    bills = {
        1: [100.0, 200.0, 300.0, 400.0, 600.0, 1200.0],
        3: [50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 600.0],
    }
    expected = sorted(
        (key, bill, math.floor(math.log(bill) / math.log(1.01)) + side)
        for key, amounts in bills.items()
        for bill in amounts
        for side in (-1, 0, 1)
    )
    assert sorted(_charge_bills(prices).rows()) == expected


def test_the_regular_years_figures_are_read_once_per_client_and_instant() -> None:
    from churnml.scoring.value import _regular_year, _regular_year_parts

    # a donor of 20 a month since 2025-02-01 (and a refund of 5 between), listed 2025-05-20; a client with one
    # payment: no gaps
    at = datetime(2025, 5, 20)
    rows = [("d", datetime(2025, 2, 1) + timedelta(days=30 * i), 20.0) for i in range(4)]
    rows += [("d", datetime(2025, 3, 10), -5.0), ("e", datetime(2025, 4, 1), 50.0)]
    payments = pl.DataFrame(rows, schema=["client_id", "_counted_at", "amount"], orient="row").with_columns(
        pl.lit(at).alias("_at"), pl.lit(datetime(2025, 2, 1)).alias("_first_received")
    )
    parts = payments.group_by("client_id", "_at").agg(*_regular_year_parts()).sort("client_id")
    assert parts.columns == [
        "client_id",
        "_at",
        "_received_n",
        "_received_min",
        "_received_max",
        "_gap_median",
        "_gap_max",
        "_gap_min",
        "_received_mean",
        "_at_first",
        "_first_received_at",
    ]
    d, e = parts.rows(named=True)
    assert (d["_received_n"], d["_received_min"], d["_received_max"]) == (
        4,
        datetime(2025, 2, 1),
        datetime(2025, 5, 2),
    )
    assert (d["_gap_median"], d["_gap_max"], d["_gap_min"], d["_received_mean"]) == (30.0, 30.0, 30.0, 20.0)
    assert (e["_received_n"], e["_gap_median"], e["_received_mean"]) == (1, None, 50.0)
    # the run rate over them: 20 x 365 / 30 for the donor, none for a single payment
    year = parts.select(_regular_year()).to_series().to_list()
    assert year == [pytest.approx(20.0 * 365 / 30), None]
