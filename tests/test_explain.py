"""Explanations: health mapping, grouped drivers with real sentences, family health, why it changed."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import polars as pl
import pytest

from churnml.config import FeaturesConfig
from churnml.features.registry import sentence
from churnml.modeling.train import ChurnModel
from churnml.scoring.explain import (
    AGE_BAND_MIN_CLIENTS,
    LOWERS,
    RAISES,
    age_band_levels,
    age_bands,
    change_reasons,
    citable_mask,
    family_health,
    grouped_contributions,
    health_score,
    points_text,
    reference_levels,
    registry_catalog,
    top_drivers,
    typical_said,
)
from churnml.scoring.outputs import Scores

SPECS, DESCRIBE = registry_catalog(FeaturesConfig())

# Three features of one signal (logins), one each of meetings, complaints and late payment.
NAMES = [
    "usage_logins_28d",
    "usage_logins_ratio",
    "usage_days_since_login",
    "comm_rescheduled_91d",
    "support_complaints_91d",
    "payments_late_91d",
]


@pytest.mark.parametrize(
    ("p", "health"),
    [(0.0, 100.0), (0.15, 85.0), (0.35, 65.0), (0.5, 50.0), (0.999, 0.1), (1.0, 0.0)],
)
def test_health_is_100_times_one_minus_p(p: float, health: float) -> None:
    assert health_score(np.array([p]))[0] == pytest.approx(health)


def test_health_is_monotone_decreasing() -> None:
    p = np.linspace(0, 1, 101)
    assert np.all(np.diff(health_score(p)) <= 0)


def test_grouping_keeps_correlated_login_features_from_crowding_out_others() -> None:
    # Per feature, the three login features are the three largest; grouped, logins is one driver.
    contrib = np.array([[0.30, 0.29, 0.28, 0.25, 0.26, 0.01, -2.0]])
    values = np.array([[3.0, 0.38, 12.0, 4.0, 2.0, 0.0]])
    drivers = top_drivers(contrib, values, NAMES, SPECS, DESCRIBE, k=3)
    row = drivers.row(0, named=True)
    assert [row[Scores.driver(i, "feature")] for i in (1, 2, 3)] == [
        "usage_logins_28d",  # the logins group (0.87), led by its largest feature
        "support_complaints_91d",  # 0.26
        "comm_rescheduled_91d",  # 0.25
    ]
    assert row[Scores.driver(1, "contribution")] == pytest.approx(0.87)
    assert [row[Scores.driver(i, "family")] for i in (1, 2, 3)] == ["usage", "support", "communication"]
    assert row[Scores.driver(1, "sentence")] == "3 logins in the last 28 days"
    assert row[Scores.driver(3, "sentence")] == sentence("comm_rescheduled_91d", 4.0)


@pytest.mark.parametrize(
    ("safe", "expected"),
    [
        # a client at risk (yellow, red): what raises the risk leads, then the strongest risk-lowering groups
        (
            False,
            [
                ("comm_rescheduled_91d", RAISES, 0.4),
                ("support_complaints_91d", LOWERS, -0.9),
                ("payments_late_91d", LOWERS, -0.1),
            ],
        ),
        # a green client: what keeps it safe leads
        (
            True,
            [
                ("support_complaints_91d", LOWERS, -0.9),
                ("payments_late_91d", LOWERS, -0.1),
                ("comm_rescheduled_91d", RAISES, 0.4),
            ],
        ),
    ],
)
def test_drivers_lead_with_the_risk_unless_the_client_is_safe(
    safe: bool, expected: list[tuple[str, str, float]]
) -> None:
    # the contributions sum to -0.6: below the model's average risk
    contrib = np.array([[0.0, 0.0, 0.0, 0.4, -0.9, -0.1, -1.0]])
    values = np.array([[10.0, 1.0, 2.0, 2.0, 0.0, 0.0]])
    drivers = top_drivers(contrib, values, NAMES, SPECS, DESCRIBE, k=3, safe=np.array([safe]))
    row = drivers.row(0, named=True)
    got = [
        (
            row[Scores.driver(i, "feature")],
            row[Scores.driver(i, "direction")],
            row[Scores.driver(i, "contribution")],
        )
        for i in (1, 2, 3)
    ]
    assert got == [(f, d, pytest.approx(c)) for f, d, c in expected]


def test_zero_groups_leave_empty_drivers() -> None:
    contrib = np.array([[0.0, 0.0, 0.0, 0.0, 0.5, 0.0, -1.0]])
    row = top_drivers(contrib, np.zeros((1, 6)), NAMES, SPECS, DESCRIBE, k=3).row(0, named=True)
    assert row[Scores.driver(1, "feature")] == "support_complaints_91d"
    assert row[Scores.driver(2, "feature")] is None
    assert row[Scores.driver(3, "sentence")] is None


def test_family_health_splits_the_lost_points_by_positive_share() -> None:
    # p = 0.4 -> health 60, 40 points lost; positive mass: usage 0.6, support 0.2, payments 0.2.
    contrib = np.array([[0.3, 0.3, -0.5, 0.0, 0.2, 0.2, -1.0]])
    fam = family_health(contrib, NAMES, SPECS, health_score(np.array([0.4])))
    assert fam["usage"][0] == pytest.approx(100 - 40 * 0.6)
    assert fam["support"][0] == pytest.approx(100 - 40 * 0.2)
    assert fam["payments"][0] == pytest.approx(100 - 40 * 0.2)
    assert fam["communication"][0] == pytest.approx(100.0)  # a feature, no positive contribution
    assert np.isnan(fam["account"][0])  # no account feature in the model: not observed, not a perfect 100
    lost = sum(100 - fam[f][0] for f in fam if not np.isnan(fam[f][0]))
    assert lost == pytest.approx(40.0)


def test_change_reasons_name_the_groups_that_moved_the_score() -> None:
    before = np.array([[0.0, 0.0, 0.0, 0.1, 0.0, 0.0, -2.0], [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, -2.0]])
    now = np.array([[0.2, 0.3, 0.0, 0.1, 0.0, 0.4, -2.0], [0.1, 0.0, 0.0, 0.0, 0.0, 0.0, -2.0]])
    values = np.array([[2.0, 0.38, 20.0, 1.0, 0.0, 3.0], [9.0, 1.1, 1.0, 0.0, 0.0, 0.0]])
    reasons = change_reasons(now, before, values, NAMES, SPECS, DESCRIBE, k=3)
    assert reasons[0] == (
        "risk up: "
        + sentence("usage_logins_ratio", 0.38)
        + " (+0.50); "
        + sentence("payments_late_91d", 3.0)
        + " (+0.40)"
    )
    assert reasons[1] == "risk down: " + sentence("usage_logins_28d", 9.0) + " (-0.40)"
    unchanged = change_reasons(now[:1], now[:1], values[:1], NAMES, SPECS, DESCRIBE, k=3)
    assert unchanged == [None]


@pytest.fixture(scope="module")
def tiny_model() -> tuple[ChurnModel, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n = 600
    X = pd.DataFrame(
        {
            "usage_logins_28d": rng.poisson(8, n).astype(float),
            "usage_logins_ratio": rng.uniform(0.2, 1.5, n),
            "usage_days_since_login": rng.integers(0, 60, n).astype(float),
            "comm_rescheduled_91d": rng.poisson(1, n).astype(float),
            "support_complaints_91d": rng.poisson(0.5, n).astype(float),
            "payments_late_91d": rng.poisson(0.5, n).astype(float),
        }
    )
    logit = -2 - 1.5 * (X["usage_logins_ratio"] - 1) + 0.6 * X["support_complaints_91d"]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    params = {"n_estimators": 25, "num_leaves": 4, "min_child_samples": 10, "learning_rate": 0.2}
    model = ChurnModel(params=params, early_stopping_rounds=10, n_jobs=1)
    model.fit(X.iloc[:400], y[:400], eval_set=(X.iloc[400:], y[400:]))
    return model, X


def test_contributions_plus_base_equal_the_raw_score(tiny_model: tuple[ChurnModel, pd.DataFrame]) -> None:
    model, X = tiny_model
    contrib = model.contributions(X)
    np.testing.assert_allclose(contrib.sum(axis=1), model.raw_score(X), atol=1e-9)
    # The drivers' group sums together with the other groups and the base value rebuild the score.
    grouped = grouped_contributions(contrib, list(X.columns), SPECS)
    np.testing.assert_allclose(grouped.sums.sum(axis=1) + contrib[:, -1], model.raw_score(X), atol=1e-9)
    drivers = top_drivers(contrib, X.to_numpy(), list(X.columns), SPECS, DESCRIBE, k=len(grouped.groups))
    shown = drivers.select([Scores.driver(i + 1, "contribution") for i in range(len(grouped.groups))])
    total = shown.fill_null(0.0).sum_horizontal().to_numpy()
    np.testing.assert_allclose(total + contrib[:, -1], model.raw_score(X), atol=1e-5)


def test_driver_sentences_are_filled_with_the_clients_own_values(
    tiny_model: tuple[ChurnModel, pd.DataFrame],
) -> None:
    model, X = tiny_model
    contrib = model.contributions(X)
    drivers = top_drivers(contrib, X.to_numpy(), list(X.columns), SPECS, DESCRIBE, k=3)
    checked = 0
    for row, d in enumerate(drivers.iter_rows(named=True)):
        feature = d[Scores.driver(1, "feature")]
        if feature is None:
            continue
        assert d[Scores.driver(1, "sentence")] == sentence(feature, float(X.iloc[row][feature]))
        checked += 1
    assert checked > 100


CONTRACT_NAMES = ["payments_discount", "payments_mrr", "payments_days_to_term_end"]


@pytest.mark.parametrize(
    ("contrib", "values", "lead"),
    [
        # A lapsed term: the missing discount pushes most, but the known "ended 12 days ago" leads.
        ([3.0, 0.2, 0.5], [np.nan, 0.0, -12.0], "payments_days_to_term_end"),
        # Every member known: the largest contribution leads.
        ([3.0, 0.2, 0.5], [0.1, 0.0, -12.0], "payments_discount"),
        # Only the missing member pushes risk up: it leads, there is nothing better to say.
        ([3.0, -0.3, -0.2], [np.nan, 0.0, 40.0], "payments_discount"),
    ],
)
def test_a_known_value_leads_its_group_over_a_missing_one(
    contrib: list[float], values: list[float], lead: str
) -> None:
    contributions = np.array([[*contrib, -2.0]])
    drivers = top_drivers(contributions, np.array([values]), CONTRACT_NAMES, SPECS, DESCRIBE, k=1)
    row = drivers.row(0, named=True)
    assert row[Scores.driver(1, "feature")] == lead
    assert row[Scores.driver(1, "contribution")] == pytest.approx(sum(contrib))


# -- reasons people trust ---------------------------------------------------------------------------
TRUST_NAMES = ["comm_sentiment_91d", "comm_reply_rate_91d", "usage_logins_ratio", "support_complaints_91d"]


@pytest.mark.parametrize(
    ("values", "expected_first"),
    [
        # every feature pushes up, but sentiment +0.45, replies 90% and logins up 30% are good news:
        # only the complaints may be cited as raising the risk
        ([0.45, 0.9, 1.3, 2.0], "support_complaints_91d"),
        # sentiment -0.4 is bad news (below the median 0.1 and negative): it leads
        ([-0.4, 0.9, 1.3, 2.0], "comm_sentiment_91d"),
        # no data is no reason
        ([np.nan, np.nan, np.nan, 2.0], "support_complaints_91d"),
        # a sentiment of 0.00 (below the median 0.1, but not negative) is no bad news either
        ([-0.001, 0.9, 1.3, 2.0], "support_complaints_91d"),
    ],
)
def test_good_news_is_never_cited_as_raising_risk(values: list[float], expected_first: str) -> None:
    contrib = np.array([[0.9, 0.8, 0.7, 0.1, -2.0]])
    X = np.array([values])
    portfolio = np.array([[0.1, 0.5, 1.0, 0.0], [0.1, 0.95, 0.8, 1.0], [0.2, 0.7, 1.2, 0.0]])
    reference = reference_levels(portfolio, TRUST_NAMES, SPECS)
    assert reference.tolist() == [0.1, 0.7, 1.0, 0.0]  # medians, and a ratio's neutral 1
    ok = citable_mask(contrib, X, TRUST_NAMES, SPECS, reference)
    row = top_drivers(contrib, X, TRUST_NAMES, SPECS, DESCRIBE, k=3, citable=ok).row(0, named=True)
    assert row[Scores.driver(1, "feature")] == expected_first
    raising = [
        row[Scores.driver(i, "feature")] for i in (1, 2, 3) if row[Scores.driver(i, "direction")] == RAISES
    ]
    assert "comm_reply_rate_91d" not in raising and "usage_logins_ratio" not in raising


def test_an_uninformative_driver_is_dropped() -> None:
    names = ["payments_days_to_term_end", "support_complaints_91d"]
    contrib = np.array([[0.8, 0.1, -2.0], [0.8, 0.1, -2.0]])
    X = np.array([[5.0, 2.0], [5.0, 2.0]])
    reference = np.array([100.0, 0.0])
    monthly = {"payments_days_to_term_end": np.array([True, False])}
    ok = citable_mask(contrib, X, names, SPECS, reference, monthly)
    drivers = top_drivers(contrib, X, names, SPECS, DESCRIBE, k=1, citable=ok)
    assert drivers.get_column(Scores.driver(1, "feature")).to_list() == [
        "support_complaints_91d",
        "payments_days_to_term_end",
    ]


def test_sentences_use_the_clients_other_values() -> None:
    specs, describe = registry_catalog(FeaturesConfig(), currency="EUR")
    names = [
        "usage_logins_ratio",
        "usage_logins_per_week_28d",
        "account_signals_91d",
        "account_vendor_review_91d",
        "account_tenure_days",
    ]
    # the ratio is smoothed, (a + 1) / (expected + 1): 12 logins in 28 days at 0.25 means 51 expected
    # (12.8 a week); none at 0.25 means 3 expected (0.8 a week), not "0.0 a week, down from 0.0"
    X = np.array([[0.25, 3.0, 1.0, 1.0, 400.0], [0.25, 0.0, 0.0, 0.0, 400.0]])
    contrib = np.array([[0.9, 0.0, 0.5, 0.0, 0.0, -2.0], [0.9, 0.0, 0.0, 0.0, 0.0, -2.0]])
    drivers = top_drivers(contrib, X, names, specs, describe, k=2)
    row = drivers.row(0, named=True)
    assert (
        row[Scores.driver(1, "sentence")] == "Logins 3.0 a week, down from 12.8 a week in the 91 days before"
    )
    assert drivers.row(1, named=True)[Scores.driver(1, "sentence")] == (
        "Logins 0.0 a week, down from 0.8 a week in the 91 days before"
    )
    assert (
        row[Scores.driver(2, "sentence")] == "1 account warning signal in the last 91 days: 'vendor review'"
    )


def test_a_signal_is_one_reason_not_two() -> None:
    """The count of every warning signal and the count of its kind are one group: a "champion left" is
    cited once, by the feature that pushes most, with the kinds named."""
    specs, describe = registry_catalog(FeaturesConfig())
    names = [
        "account_signals_182d",
        "account_champion_left_182d",
        "account_days_since_champion_left",
        "support_complaints_91d",
    ]
    X = np.array([[1.0, 1.0, 40.0, 2.0]])
    contrib = np.array([[0.4, 0.3, 0.2, 0.1, -1.0]])
    drivers = top_drivers(contrib, X, names, specs, describe, k=3)
    row = drivers.row(0, named=True)
    assert [row[Scores.driver(i, "sentence")] for i in (1, 2, 3)] == [
        "1 account warning signal in the last 182 days: 'champion left'",
        "2 complaints in the last 91 days",
        None,
    ]
    assert row[Scores.driver(1, "contribution")] == 0.9


def test_time_in_the_product_is_compared_with_the_clients_own_past_in_hours() -> None:
    specs, describe = registry_catalog(FeaturesConfig())
    names = ["usage_time_ratio", "usage_time_28d"]
    # 8 hours in the last 28 days = 2 hours a week; a ratio of 0.5 means 4 hours a week before
    X = np.array([[0.5, 8 * 3600.0]])
    row = top_drivers(np.array([[0.7, 0.0, -2.0]]), X, names, specs, describe, k=1).row(0, named=True)
    assert row[Scores.driver(1, "sentence")] == (
        "Time in the product 2 hours a week, down from 4 hours a week in the 91 days before"
    )


def test_a_z_score_of_no_use_at_all_is_said_down_to_none() -> None:
    """A streaming subscriber with 0 sessions in the last 4 weeks, after bursts of viewing, read "Logins over the
    last 4 weeks were a little below usual (-0.8 standard deviations ...)" beside "0 events in the last 28 days
    against a usual 15": the spread of its bursts made a stop look like a dip."""
    specs, describe = registry_catalog(FeaturesConfig())
    names = ["usage_logins_z", "usage_logins_per_week_28d", "usage_time_z", "usage_time_28d"]
    # row 0: none in the last 28 days; row 1: 2 logins a week (a dip, said as before); row 2: time none, -2.4 sd
    X = np.array([[-0.8, 0.0, -0.3, 0.0], [-0.8, 2.0, -2.4, 3600.0], [-0.8, np.nan, -2.4, 0.0]])
    contrib = np.array([[0.9, 0.0, 0.5, 0.0, -2.0]] * 3)
    drivers = top_drivers(contrib, X, names, specs, describe, k=2)
    said = [[r[Scores.driver(i, "sentence")] for i in (1, 2)] for r in drivers.iter_rows(named=True)]
    assert said == [
        [
            "Logins over the last 4 weeks were down to none (-0.8 standard deviations from this client's own last "
            "26 weeks)",
            "Time in the product over the last 4 weeks was down to none (-0.3 standard deviations from this "
            "client's own last 26 weeks)",
        ],
        [
            "Logins over the last 4 weeks were a little below usual (-0.8 standard deviations from this client's "
            "own last 26 weeks)",
            "Time in the product over the last 4 weeks was far below usual (-2.4 standard deviations from this "
            "client's own last 26 weeks)",
        ],
        [
            "Logins over the last 4 weeks were a little below usual (-0.8 standard deviations from this client's "
            "own last 26 weeks)",
            "Time in the product over the last 4 weeks was down to none (-2.4 standard deviations from this "
            "client's own last 26 weeks)",
        ],
    ]


def test_z_level_said_changes_only_a_stop() -> None:
    from churnml.scoring.explain import z_level_said

    text = "Logins over the last 4 weeks were well below usual (-1.5 standard deviations from ...)"
    assert (
        z_level_said(text, -1.5, 0.0)
        == "Logins over the last 4 weeks were down to none (-1.5 standard deviations from ...)"
    )
    assert z_level_said(text, -1.5, 1.0) == text
    assert z_level_said(text, -1.5, None) == text
    assert z_level_said(text, -1.5, float("nan")) == text
    up = "Logins over the last 4 weeks were a little above usual (+0.5 standard deviations from ...)"
    assert z_level_said(up, 0.5, 0.0) == up


@pytest.mark.parametrize(
    ("z", "in_sentence", "short"),
    [
        # an annual invoice after 26 weeks of none: (mean - 0) / (0 + 1) in money units
        (
            590.0,
            "far above usual (over +10 standard deviations from this client's own last 26 weeks)",
            "over +10 sd",
        ),
        (-12.34, "far below usual (under -10 standard deviations from", "under -10 sd"),
        # up to 10 as it is
        (10.04, "far above usual (+10.0 standard deviations from", "+10.0 sd"),
        (2.5, "far above usual (+2.5 standard deviations from", "+2.5 sd"),
    ],
)
def test_a_z_score_past_ten_standard_deviations_is_said_as_over_ten(
    z: float, in_sentence: str, short: str
) -> None:
    from churnml.features.registry import feature_spec
    from churnml.scoring.explain import _short_value

    assert in_sentence in sentence("payments_paid_z", z)
    assert _short_value(feature_spec("payments_paid_z"), z, "EUR") == short


def test_an_overflowed_value_is_said_plainly_not_a_traceback() -> None:
    # an mrr of 1e308 passed validate; its change overflowed to infinity and the sentence crashed
    specs, describe = registry_catalog(FeaturesConfig(), currency="EUR")
    names = ["payments_mrr_change_91d"] if "payments_mrr_change_91d" in specs else [next(iter(specs))]
    X = np.array([[np.inf]])
    row = top_drivers(np.array([[0.7, -2.0]]), X, names, specs, describe, k=1).row(0, named=True)
    assert row[Scores.driver(1, "sentence")].endswith(": beyond any plausible value (check the input)")


def test_a_young_clients_window_is_its_age() -> None:
    names = ["usage_logins_182d", "account_tenure_days"]
    X = np.array([[0.0, 15.0]])
    row = top_drivers(np.array([[0.5, 0.0, -2.0]]), X, names, SPECS, DESCRIBE, k=1).row(0, named=True)
    assert row[Scores.driver(1, "sentence")] == "0 logins in its first 15 days"


SCALED = FeaturesConfig(unobserved_windows="scaled")


@pytest.mark.parametrize(
    ("cfg", "name", "value", "age", "expected"),
    [
        # 120 days of data before the snapshot: a 182-day window holds the count of those days, scaled
        (SCALED, "payments_orders_182d", 2 * 182 / 120, None, "2 payments or orders in the 120 days of data"),
        (SCALED, "payments_orders_182d", 182 / 120, 400.0, "1 payment or order in the 120 days of data"),
        (SCALED, "payments_paid_182d", 900 * 182 / 120, None, "EUR 900 paid in the 120 days of data"),
        # a client younger than the data: its whole life's count, said over its age
        (SCALED, "payments_orders_182d", 3 * 182 / 120, 30.0, "3 payments or orders in its first 30 days"),
        # a window the data covers, and a rate, are said as they are
        (SCALED, "payments_orders_91d", 2.0, None, "2 payments or orders in the last 91 days"),
        (SCALED, "usage_logins_per_week_182d", 1.5, None, "1.5 logins per week over the last 182 days (or since the client started)"),
        # not scaled (unknown windows): the value is the window's own
        (FeaturesConfig(unobserved_windows="unknown"), "payments_orders_182d", 2.0, None, "2 payments or orders in the last 182 days"),
        # distinct users are no sum (never scaled): the count over the data, said so
        (SCALED, "usage_active_users_182d", 2.0, None, "2 distinct users active in the 120 days of data"),
        (SCALED, "usage_active_users_182d", 1.0, 20.0, "1 distinct user active in its first 20 days"),
        # onboarding is over the first 90 days: a younger client is seen over its age
        (SCALED, "usage_onboarding_progress", 0.25, 27.0, "Active in 25% of the weeks of its first 27 days"),
        (SCALED, "usage_onboarding_progress", 0.25, 300.0, "Active in 25% of the weeks of its first 90 days"),
    ],
)  # fmt: skip
def test_a_scaled_window_is_said_as_the_count_over_the_days_of_data(cfg, name, value, age, expected) -> None:
    _, describe = registry_catalog(cfg, currency="EUR", data_days=120)
    assert describe(name, value, age) == expected


def test_why_changed_marks_scaled_windows_as_estimates() -> None:
    specs, describe = registry_catalog(SCALED, currency="EUR", data_days=120)
    reasons = change_reasons(
        np.array([[0.6, -2.0]]),
        np.array([[0.0, -2.0]]),
        np.array([[1.5]]),
        ["payments_orders_182d"],
        specs,
        describe,
        k=1,
        feature_values_before=np.array([[3.0]]),
    )
    assert reasons == [
        "risk up: Payments or orders in the last 182 days: 3 \u2192 2 (estimates: the data is shorter than "
        "the window) (+0.60)"
    ]


LOGINS_AND_PAID = ["usage_logins_28d", "payments_paid_91d"]


@pytest.mark.parametrize(
    ("now", "move", "expected", "paid_now"),
    [
        # the raw score's move per signal (log-odds) without the probabilities
        (
            [0.6, 0.2],
            None,
            "risk up: Logins in the last 28 days: 12 \u2192 3 (+0.60); "
            "Paid in the last 91 days: EUR 2,400 \u2192 EUR 800 (+0.20)",
            800.0,
        ),
        # the raw score rose 0.8 while the probability went 12% -> 31% (+19 points): logins 0.6 / 0.8
        # of it, payments 0.2 / 0.8
        (
            [0.6, 0.2],
            0.19,
            "risk up: Logins in the last 28 days: 12 \u2192 3 (+14 pts); "
            "Paid in the last 91 days: EUR 2,400 \u2192 EUR 800 (+5 pts)",
            800.0,
        ),
        # logins +0.6 while payments -0.2 offset part of it: the probability rose 10 points, all of them
        # logins' (0.6 / 0.6 of the push), not 0.6 / 0.4 = 15 points
        ([0.6, -0.2], 0.10, "risk up: Logins in the last 28 days: 12 \u2192 3 (+10 pts)", 800.0),
        # payments +0.6 but unnamed (its value did not move: no before -> after): logins keep their share,
        # 0.2 / 0.8 of the 20 points, not all of them
        ([0.2, 0.6], 0.20, "risk up: Logins in the last 28 days: 12 \u2192 3 (+5 pts)", 2400.0),
    ],
)
def test_why_changed_says_before_and_after_and_the_share_of_the_move(
    now: list[float], move: float | None, expected: str, paid_now: float
) -> None:
    specs, describe = registry_catalog(FeaturesConfig(), currency="EUR")
    reasons = change_reasons(
        np.array([[*now, -2.0]]),
        np.array([[0.0, 0.0, -2.0]]),
        np.array([[3.0, paid_now]]),
        LOGINS_AND_PAID,
        specs,
        describe,
        k=2,
        feature_values_before=np.array([[12.0, 2400.0]]),
        probability_move=None if move is None else np.array([move]),
    )
    assert reasons == [expected]


def test_why_changed_says_the_days_since_the_last_order_as_its_sentence_does() -> None:
    # a wholesaler's restaurant invoiced on 30-day terms: the feature counts from its last order (its invoice),
    # which the sentence says "Last payment or order 36 days ago"; "Days since the last payment: 29 days -> 36
    # days" read as a payment overdue to a success manager
    specs, describe = registry_catalog(FeaturesConfig(), currency="EUR")
    reasons = change_reasons(
        np.array([[0.6, -2.0]]),
        np.array([[0.0, -2.0]]),
        np.array([[36.0]]),
        ["payments_days_since_payment"],
        specs,
        describe,
        k=1,
        feature_values_before=np.array([[29.0]]),
    )
    assert reasons == ["risk up: Days since the last payment or order: 29 days \u2192 36 days (+0.60)"]


@pytest.mark.parametrize(
    ("points", "text"),
    [
        (14.25, "+14 pts"),
        (-3.6, "-4 pts"),
        (1.2, "+1 pt"),
        (-1.4, "-1 pt"),
        (0.96, "+1 pt"),
        (0.94, "+0.9 pts"),
        (0.42, "+0.4 pts"),
        (-0.04, "<0.1 pts"),
    ],
)
def test_points_text(points: float, text: str) -> None:
    assert points_text(points) == text


@pytest.mark.parametrize(("chat", "cited"), [(0.0, False), (3.0, False), (9.0, True)])
def test_an_ambiguous_feature_is_cited_only_away_from_the_typical_level(chat: float, cited: bool) -> None:
    # comm_chat_182d has direction 0; the portfolio's median is 3 chat touches
    names = ["comm_chat_182d"]
    ok = citable_mask(np.array([[0.4, -2.0]]), np.array([[chat]]), names, SPECS, np.array([3.0]))
    assert bool(ok[0, 0]) is cited


@pytest.mark.parametrize(
    ("ratios", "reference"),
    [
        ([0.5, 0.52, 0.6, 0.2, 0.55], 0.52),  # August: the median learner at x0.52 of its usual
        ([1.3, 1.2, 0.9, 1.4, 1.25], 1.0),  # September, use picking up: the neutral point
        ([1.0, 0.97, 1.02, 0.5, 1.0], 1.0),
    ],
)
def test_a_trend_is_read_against_the_portfolios_own_trend_when_that_is_bad_news(
    ratios: list[float], reference: float
) -> None:
    # usage_events_ratio: less is riskier; usage_events_28d, a level: always the median
    X = np.array([ratios, [10.0, 20.0, 30.0, 40.0, 50.0]]).T
    levels = reference_levels(X, ["usage_events_ratio", "usage_events_28d"], SPECS)
    assert levels.tolist() == [reference, 30.0]


def test_a_season_that_moves_every_client_is_no_clients_reason() -> None:
    # five learners in August, every one's events down against its own usual; only the one down far more than
    # the portfolio (x0.2 against the median x0.52) is cited, and said against the portfolio's own fall
    names = ["usage_events_ratio"]
    X = np.array([[0.52], [0.55], [0.6], [0.2], [0.52]])
    contrib = np.array([[0.3, -2.0]] * 5)
    reference = reference_levels(X, names, SPECS)
    ok = citable_mask(contrib, X, names, SPECS, reference)
    assert ok[:, 0].tolist() == [False, False, False, True, False]
    rows = top_drivers(contrib, X, names, SPECS, DESCRIBE, k=1, citable=ok, reference=reference)
    assert rows.get_column(Scores.driver(1, "sentence")).to_list() == [
        None,
        None,
        None,
        "Product events fell 80% against this client's usual rate (last 28 days vs the 91 days before)"
        " (typical client: -48% vs usual)",
        None,
    ]


def test_a_fall_smaller_than_the_portfolios_is_no_good_news() -> None:
    # the same August: learners whose events fell less than the portfolio's (x0.6, x0.55) or rose (x1.2); the
    # model reads their trend as lowering the risk, but only the rise may be said to keep a learner safe
    names = ["usage_events_ratio"]
    X = np.array([[0.52], [0.55], [0.6], [0.2], [0.52], [1.2]])
    contrib = np.array([[-0.3, -2.0]] * 6)
    ok = citable_mask(contrib, X, names, SPECS, reference_levels(X, names, SPECS))
    assert ok[:, 0].tolist() == [False, False, False, False, False, True]


@pytest.mark.parametrize(("contribution", "cited"), [(0.4, False), (-0.4, True)])
def test_orders_on_record_are_never_cited_as_raising_the_risk(contribution: float, cited: bool) -> None:
    # ambiguous (direction 0) and far from the typical 4 orders: cited only as lowering the risk
    names = ["payments_orders_total"]
    ok = citable_mask(np.array([[contribution, -2.0]]), np.array([[25.0]]), names, SPECS, np.array([4.0]))
    assert bool(ok[0, 0]) is cited


@pytest.mark.parametrize(
    ("orders", "contribution", "cited"),
    [(3.0, 0.4, False), (3.0, -0.4, True), (1.0, 0.4, True), (1.0, -0.4, True), (2.0, 0.4, False)],
)
def test_orders_in_a_window_above_the_typical_count_are_never_cited_as_raising_the_risk(
    orders: float, contribution: float, cited: bool
) -> None:
    # ambiguous (direction 0); the portfolio's typical client placed 2 orders in the last 28 days: 3 orders raise
    # no risk in words, 1 order may (at the typical level an ambiguous feature says nothing either way)
    names = ["payments_orders_28d"]
    ok = citable_mask(np.array([[contribution, -2.0]]), np.array([[orders]]), names, SPECS, np.array([2.0]))
    assert bool(ok[0, 0]) is cited


@pytest.mark.parametrize(
    ("days", "contribution", "cited"),
    [(6.0, 0.4, False), (6.0, -0.4, True), (200.0, 0.4, True), (200.0, -0.4, True), (95.0, 0.4, False)],
)
def test_a_more_recent_order_than_typical_is_never_cited_as_raising_the_risk(
    days: float, contribution: float, cited: bool
) -> None:
    # ambiguous (direction 0); the typical client's last order was 95 days ago: a patient seen 6 days ago read
    # "Last payment or order 6 days ago" as its top reason for red; 200 days may still say why
    names = ["payments_days_since_payment"]
    ok = citable_mask(np.array([[contribution, -2.0]]), np.array([[days]]), names, SPECS, np.array([95.0]))
    assert bool(ok[0, 0]) is cited


def test_a_young_clients_first_order_is_still_cited_as_raising_the_risk() -> None:
    # 1 order in its first 37 days (2.7 a month at its rate, above the typical 2 in 182 days): the count as said
    # is below the typical one, so "1 payment or order in its first 37 days" may still say why the risk is high
    names = ["account_tenure_days", "payments_orders_182d"]
    raises = np.array([[0.0, 0.4, -2.0]])
    ok = citable_mask(raises, np.array([[37.0, 1.0]]), names, SPECS, np.array([400.0, 2.0]))
    assert bool(ok[0, 1]) is True


def test_why_changed_never_names_good_news_for_a_rise() -> None:
    # reply rate rose to 90% (good news) and complaints rose to 3: only the complaints explain the rise
    names = ["comm_reply_rate_91d", "support_complaints_91d"]
    before = np.array([[0.0, 0.0, -2.0]])
    now = np.array([[0.5, 0.2, -2.0]])
    X_now, X_before = np.array([[0.9, 3.0]]), np.array([[0.6, 1.0]])
    may_raise = citable_mask(np.ones((1, 3)), X_now, names, SPECS, np.array([0.7, 0.0]))
    reasons = change_reasons(
        now, before, X_now, names, SPECS, DESCRIBE, k=2, feature_values_before=X_before, may_raise=may_raise
    )
    assert reasons == ["risk up: Complaints in the last 91 days: 1 \u2192 3 (+0.20)"]


def test_a_z_score_is_cited_as_said_and_over_the_weeks_a_young_client_had() -> None:
    specs, describe = registry_catalog(FeaturesConfig())
    names = ["usage_events_z"]
    # shown with one decimal: -0.04 reads "-0.0 standard deviations", no news either way
    X = np.array([[-0.04], [-0.6], [0.04], [0.6]])
    raises = np.array([[0.5, -2.0], [0.5, -2.0], [-0.5, -2.0], [-0.5, -2.0]])
    ok = citable_mask(raises, X, names, specs, reference_levels(X, names, specs))
    assert ok[:, 0].tolist() == [False, True, False, True]
    # 100 days old: fewer than the 4 + 26 weeks the z-score compares
    assert describe("usage_events_z", -1.2, 100.0) == (
        "Product events over the last 4 weeks were well below usual (-1.2 standard deviations from this "
        "client's own earlier weeks)"
    )
    assert describe("usage_events_z", -1.2, 400.0).endswith("from this client's own last 26 weeks)")
    assert describe("usage_events_z", 2.3, 400.0).startswith(
        "Product events over the last 4 weeks were far above usual"
    )
    assert describe("usage_events_z", 0.04, 400.0).startswith(
        "Product events over the last 4 weeks were as usual"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.38, "-62% vs usual"), (1.0, "+0% vs usual"), (4.0, "+300% vs usual"), (28251.0, "over 10x usual")],
)
def test_a_trend_far_above_a_usual_level_near_none_is_said_as_an_order(value, shown) -> None:
    from churnml.scoring.explain import _short_value

    specs, _ = registry_catalog(FeaturesConfig())
    assert _short_value(specs["usage_time_ratio"], value, "EUR") == shown


def test_a_trend_says_the_logins_noun_and_the_days_a_young_client_had_before() -> None:
    specs, describe = registry_catalog(FeaturesConfig(login_noun="order"))
    names = ["usage_logins_ratio", "usage_logins_per_week_28d", "account_tenure_days"]
    X = np.array([[0.5, 0.5, 40.0], [0.5, 0.5, 400.0]])
    contrib = np.array([[0.9, 0.0, 0.0, -2.0], [0.9, 0.0, 0.0, -2.0]])
    drivers = top_drivers(contrib, X, names, specs, describe, k=1)
    sentences = drivers.get_column(Scores.driver(1, "sentence")).to_list()
    # 2 orders in 28 days at 0.5: 5 expected over as long a window; a 40-day-old customer had 12 days before
    assert sentences == [
        "Orders 0.5 a week, down from 1.2 a week in its 12 days before",
        "Orders 0.5 a week, down from 1.2 a week in the 91 days before",
    ]


def test_a_first_record_on_the_datas_first_days_says_the_data_begins_then() -> None:
    from churnml.scoring.explain import Describer

    describe = Describer(FeaturesConfig(lifetime=True), "EUR", data_days=150)
    assert describe("payments_days_since_first_payment", 148.0) == (
        "First payment or order on record 148 days ago, when the data begins (it may have bought before)"
    )
    assert (
        describe("payments_days_since_first_payment", 60.0) == "First payment or order on record 60 days ago"
    )
    assert Describer(FeaturesConfig(lifetime=True), "EUR")(
        "payments_days_since_first_payment", 148.0
    ).endswith("148 days ago")


@pytest.mark.parametrize(
    ("why", "raised_by", "before", "now", "expected"),
    [
        # a lapsed term moved the client green -> red while the model's probability stayed at the floor
        (None, "term_lapsed", "green", "red", "zone raised by the rule term lapsed"),
        (
            "0.0% → 0.0%; risk down: ...",
            "term_lapsed",
            "green",
            "red",
            "zone raised by the rule term lapsed; 0.0% → 0.0%; risk down: ...",
        ),
        ("12% → 31%; risk up: ...", "term_lapsed", "red", "red", "12% → 31%; risk up: ..."),  # no move
        ("12% → 31%; risk up: ...", "", "green", "yellow", "12% → 31%; risk up: ..."),  # the model moved it
        (None, "term_lapsed", None, "red", None),  # new this week: nothing to explain
    ],
)
def test_a_zone_a_rule_moved_says_so_first(why, raised_by, before, now, expected) -> None:
    from churnml.scoring.reasons import with_raising_rules

    assert with_raising_rules(why, raised_by, before, now) == expected


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("comm_sentiment_7d", -0.04, "0"),  # not "-0"
        ("comm_sentiment_7d", -0.3, "-0.3"),
        ("usage_events_z", -0.02, "0.0 sd"),
        ("usage_events_z", -0.7, "-0.7 sd"),
        ("payments_mrr_change_91d", -0.001, "0%"),
        ("payments_mrr_change_91d", -0.25, "-25%"),
    ],
)
def test_a_value_that_rounds_to_zero_has_no_minus_sign(name: str, value: float, text: str) -> None:
    from churnml.scoring.explain import _short_value

    assert _short_value(SPECS.get(name), value, "EUR") == text


@pytest.mark.parametrize(
    ("noun", "name", "value", "text"),
    [
        ("", "usage_time_28d", 7200.0, "2 hours in the product in the last 28 days"),
        ("API calls", "usage_time_28d", 12400.0, "12,400 API calls in the last 28 days"),
        ("GB", "usage_time_7d", 3.0, "3 GB in the last 7 days"),
        (
            "usage counts (logins + tasks)",
            "usage_time_7d",
            3.0,
            "3 usage counts (logins + tasks) in the last 7 days",
        ),
    ],
)
def test_the_value_of_events_is_said_in_its_own_unit(noun: str, name: str, value: float, text: str) -> None:
    _specs, describe = registry_catalog(FeaturesConfig(value_noun=noun))
    assert describe(name, value) == text


@pytest.mark.parametrize("noun", ["{hours}", " GB", "GB ", "x" * 61])
def test_a_value_noun_that_would_break_the_sentences_is_refused(noun: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="value_noun"):
        FeaturesConfig(value_noun=noun)


def test_a_trend_of_api_calls_is_said_as_calls_a_week() -> None:
    from churnml.scoring.explain import _row_sentence

    cfg = FeaturesConfig(value_noun="API calls")
    specs, describe = registry_catalog(cfg)
    names = ["usage_time_ratio", "usage_time_28d"]
    row = np.array([0.5, 4000.0])  # 1,000 a week now; (4000 + 1) / 0.5 - 1 = 8,001 in the 28 days before
    text = _row_sentence(describe, specs, names, {n: i for i, n in enumerate(names)}, row, 0, None)
    assert text == "API calls 1,000 a week, down from 2,000 a week in the 91 days before"


def test_a_green_client_above_the_average_risk_keeps_its_risks_first() -> None:
    # green, but its contributions sum to +0.2 (above the average risk the model learned)
    contrib = np.array([[0.0, 0.0, 0.0, 0.6, -0.3, -0.1, -1.0]])
    values = np.array([[10.0, 1.0, 2.0, 2.0, 0.0, 0.0]])
    row = top_drivers(contrib, values, NAMES, SPECS, DESCRIBE, k=3, safe=np.array([True])).row(0, named=True)
    assert (row[Scores.driver(1, "feature")], row[Scores.driver(1, "direction")]) == (
        "comm_rescheduled_91d",
        RAISES,
    )


def test_an_annual_term_paid_up_front_does_not_cite_the_months_without_a_payment() -> None:
    """267 days since the last payment is the rhythm of a running 365-day term paid at its start, not a
    risk; the same silence under a 30-day term (or none), or under an annual renewal that began 30 days ago
    and was never paid, is cited."""
    from churnml.scoring.reasons import Citing, explanations

    rng = np.random.default_rng(3)
    names = ["payments_days_since_payment", "usage_logins_28d"]
    since = rng.uniform(0, 400, 3000)
    logins = rng.uniform(0, 50, 3000)
    y = (rng.uniform(size=3000) < 0.05 + 0.6 * (since > 200)).astype(int)
    X = pd.DataFrame({names[0]: since, names[1]: logins})
    model = ChurnModel({"n_estimators": 40, "num_leaves": 7}, n_jobs=1).fit(X, y, calib_set=(X, y))
    rows = np.array([[267.0, 10.0]] * 4)
    citing = Citing(
        reference=np.array([30.0, 10.0]),
        monthly=np.array([False, True, False, False]),
        term_days=np.array([365.0, 30.0, np.inf, 365.0]),
        term_age=np.array([270.0, 10.0, np.inf, 30.0]),
    )
    out = explanations(
        model,
        rows,
        rows,
        np.arange(4),
        np.array([0, 1, 2, 3]),
        np.array([50.0] * 4),
        names,
        FeaturesConfig(),
        2,
        citing,
    )
    cited = [[row[Scores.driver(i, "feature")] for i in (1, 2)] for row in out.drivers.iter_rows(named=True)]
    assert "payments_days_since_payment" not in cited[0]
    assert [c[0] for c in cited[1:]] == ["payments_days_since_payment"] * 3


def silence_model(names: list[str]) -> ChurnModel:
    """A model where the days since the last order and that gap against the usual one raise the risk, and the
    money paid in the last 182 days lowers it (``names``: those three features)."""
    rng = np.random.default_rng(11)
    since, ratio, paid = rng.uniform(0, 400, 3000), rng.uniform(0, 10, 3000), rng.uniform(0, 1000, 3000)
    risk = 0.05 + 0.4 * (since > 150) + 0.3 * (ratio > 2) + 0.2 * (paid < 100)
    y = (rng.uniform(size=3000) < risk).astype(int)
    X = pd.DataFrame({names[0]: since, names[1]: ratio, names[2]: paid})
    return ChurnModel({"n_estimators": 40, "num_leaves": 7}, n_jobs=1).fit(X, y, calib_set=(X, y))


def test_a_client_in_its_seasons_pause_is_not_cited_its_silence() -> None:
    """Two clients silent 249 days since their last order, nothing paid in 182 days: the one in its season's
    pause (rules.season_pauses: its orders paused 305 days across the same day a year ago) is cited no days since
    its last order nor its gap against its usual; its spend still is, and the other is cited all three."""
    from churnml.scoring.reasons import Citing, explanations

    names = ["payments_days_since_payment", "payments_gap_ratio", "payments_paid_182d"]
    rows = np.array([[249.0, 2.9, 0.0], [249.0, 8.2, 0.0]])
    citing = Citing(
        reference=np.array([30.0, 1.0, 400.0]),
        monthly=np.array([False, False]),
        season=np.array([True, False]),
    )
    out = explanations(
        silence_model(names),
        rows,
        rows[:0],
        np.arange(2),
        np.array([-1, -1]),
        np.array([20.0] * 2),
        names,
        FeaturesConfig(),
        3,
        citing,
        "EUR",
    )
    cited = [
        [(row[Scores.driver(i, "feature")], row[Scores.driver(i, "direction")]) for i in (1, 2, 3)]
        for row in out.drivers.iter_rows(named=True)
    ]
    assert cited[0] == [("payments_paid_182d", RAISES), (None, None), (None, None)]
    assert ("payments_paid_182d", RAISES) in cited[1]
    assert {f for f, _ in cited[1]} & {"payments_days_since_payment", "payments_gap_ratio"}


def test_the_running_terms_length_and_age() -> None:
    from churnml.scoring.reasons import running_term_days, running_terms

    as_of = date(2024, 6, 1)
    subs = pl.DataFrame(
        {
            "client_id": ["a", "a", "b"],
            "start_date": [datetime(2024, 1, 1), datetime(2024, 5, 1), datetime(2024, 5, 20)],
            "end_date": [datetime(2025, 1, 1), datetime(2024, 6, 30), datetime(2024, 6, 20)],
        }
    )
    ids = ["a", "b", "c"]
    assert running_term_days(ids, as_of, subs).tolist() == [366.0, 31.0, float("inf")]
    lengths, ages = running_terms(ids, as_of, subs)
    assert lengths.tolist() == [366.0, 31.0, float("inf")]
    assert ages.tolist() == [152.0, 12.0, float("inf")]


@pytest.mark.parametrize(
    ("rows", "length", "age"),
    [
        # a monthly plan with an annual add-on: the plan's term (the add-on is no term of the client)
        ([("2024-05-20", "2024-06-20", False), ("2024-01-01", "2025-01-01", True)], 31.0, 12.0),
        # only add-ons: they are its terms, as in the labels
        ([("2024-01-01", "2025-01-01", True)], 366.0, 152.0),
        # an add-on alone, running on after the plan ended: no running term
        (
            [("2024-01-01", "2024-05-01", False), ("2024-01-01", "2025-01-01", True)],
            float("inf"),
            float("inf"),
        ),
        # an add-on before a plan booked to start after as_of: the add-on is the running term
        ([("2024-06-10", "2025-06-10", False), ("2024-05-01", "2025-05-01", True)], 365.0, 31.0),
        # no is_addon marked (null): a base term
        ([("2024-05-20", "2024-06-20", None)], 31.0, 12.0),
    ],
)
def test_the_running_terms_are_the_base_terms(
    rows: list[tuple[str, str, bool | None]], length: float, age: float
) -> None:
    from churnml.scoring.reasons import running_terms

    subs = pl.DataFrame(
        {
            "client_id": ["a"] * len(rows),
            "start_date": [datetime.fromisoformat(r[0]) for r in rows],
            "end_date": [datetime.fromisoformat(r[1]) for r in rows],
            "is_addon": pl.Series([r[2] for r in rows], dtype=pl.Boolean),
        }
    )
    lengths, ages = running_terms(["a"], date(2024, 6, 1), subs)
    assert (lengths.tolist(), ages.tolist()) == ([length], [age])


class _RaisingModel:
    """TreeSHAP stand-in: both features raise the risk, the base value last."""

    def contributions(self, X: np.ndarray) -> np.ndarray:
        return np.tile([1.0, 0.5, -2.0], (len(X), 1))


def _two_clients_first_sentences(
    X: np.ndarray, names: list[str], citing, model=None, top: int = 2
) -> list[tuple]:
    """The first ``top`` driver sentences of two clients whose two features (``names``, values ``X``) both raise
    their risk (or as ``model`` says), explained with ``citing`` (:class:`churnml.scoring.reasons.Citing`)."""
    from churnml.scoring.reasons import explanations

    out = explanations(
        model or _RaisingModel(),
        X,
        X[:0],
        np.arange(2),
        np.array([-1, -1]),
        np.array([40.0] * 2),
        names,
        FeaturesConfig(),
        top,
        citing,
        "EUR",
    )
    return out.drivers.select(Scores.driver(i, "sentence") for i in range(1, top + 1)).rows()


def test_an_annual_add_on_does_not_mute_a_monthly_clients_payment_silence() -> None:
    """Two monthly clients with nothing paid for 100 days: the one with an annual add-on is cited as the
    other ("EUR 0 paid in the last 91 days", "Last payment or order 100 days ago"), its add-on no annual
    term paid up front."""
    from churnml.scoring.reasons import MONTHLY_TERM_DAYS, Citing, running_terms

    as_of = date(2026, 12, 5)
    subs = pl.DataFrame(
        {
            "client_id": ["addon", "addon", "plain"],
            "start_date": [datetime(2026, 11, 20), datetime(2026, 3, 1), datetime(2026, 11, 20)],
            "end_date": [datetime(2026, 12, 20), datetime(2027, 3, 1), datetime(2026, 12, 20)],
            "mrr": [100.0, 10.0, 100.0],
            "is_addon": [False, True, False],
        }
    )
    names = ["payments_paid_91d", "payments_days_since_payment"]
    X = np.array([[0.0, 100.0], [0.0, 100.0]])
    term_days, term_age = running_terms(["addon", "plain"], as_of, subs)
    citing = Citing(
        np.array([300.0, 20.0]), term_days <= MONTHLY_TERM_DAYS, 700, np.zeros(2, bool), term_days, term_age
    )
    said = _two_clients_first_sentences(X, names, citing)
    assert (
        said
        == [
            ("EUR 0 paid in the last 91 days (typical client: EUR 300)", "Last payment or order 100 days ago")
        ]
        * 2
    )


_SEAT_USE_NAMES = ["usage_seat_use_28d", "usage_active_users_28d", "payments_seats"]


def _seat_use_sentences(cfg: FeaturesConfig, X: np.ndarray) -> list[str]:
    """The leading driver's sentence of each row of ``X`` (seat use, its users, its seats), the seat use leading."""
    specs, describe = registry_catalog(cfg)
    contrib = np.tile([0.9, 0.0, 0.0, -1.0], (len(X), 1))
    drivers = top_drivers(contrib, X, _SEAT_USE_NAMES, specs, describe, k=1)
    return drivers.get_column(Scores.driver(1, "sentence")).to_list()


def test_seat_use_is_said_as_users_for_paid_seats() -> None:
    specs, describe = registry_catalog(FeaturesConfig())
    names = list(_SEAT_USE_NAMES)
    X = np.array([[1 / 365, 1.0, 365.0], [0.5, 2.0, 4.0]])
    assert _seat_use_sentences(FeaturesConfig(), X) == [
        "1 distinct user active in the last 28 days, for 365 paid seats",
        "2 distinct users active in the last 28 days, for 4 paid seats",
    ]
    # a client younger than the window: the users' sentence says its age
    names = [*names, "account_tenure_days"]
    young = top_drivers(
        np.array([[0.9, 0.0, 0.0, 0.0, -1.0]]),
        np.array([[0.1, 1.0, 10.0, 15.0]]),
        names,
        specs,
        describe,
        k=1,
    )
    assert young.get_column(Scores.driver(1, "sentence")).to_list() == [
        "1 distinct user active in its first 15 days, for 10 paid seats"
    ]
    assert sentence("usage_seat_use_28d", 0.5) == "0.50 active users per paid seat in the last 28 days"


def test_seat_use_says_the_configured_seat_noun() -> None:
    # a coworking operator bills team desks: its payments columns say "12 desks on active terms", so its seat use
    # says desks too, not "5 distinct users active ..., for 12 paid seats (typical client: 0.85 active users per paid seat)"
    desks = FeaturesConfig(seat_noun="desk")
    specs, describe = registry_catalog(desks)
    assert _seat_use_sentences(desks, np.array([[5 / 12, 5.0, 12.0], [0.0, 0.0, 1.0]])) == [
        "5 distinct users active in the last 28 days, for 12 paid desks",
        "0 distinct users active in the last 28 days, for 1 paid desk",
    ]
    assert sentence("usage_seat_use_28d", 0.5, desks) == "0.50 active users per paid desk in the last 28 days"
    assert typical_said(describe, specs, "usage_seat_use_28d", 0.25, 0.6, 400.0) == (
        " (typical client: 0.60 active users per paid desk)"
    )


def test_a_second_signal_kind_is_named_when_one_kinds_feature_leads_the_signals() -> None:
    specs, describe = registry_catalog(FeaturesConfig())
    names = [
        "account_signals_182d",
        "account_champion_left_182d",
        "account_vendor_review_182d",
        "account_days_since_vendor_review",
    ]
    X = np.array([[2.0, 1.0, 1.0, 5.0], [1.0, 0.0, 1.0, 5.0]])
    contrib = np.array([[0.1, 0.3, 0.0, 0.5, -1.0], [0.1, 0.0, 0.0, 0.5, -1.0]])
    drivers = top_drivers(contrib, X, names, specs, describe, k=1)
    assert drivers.get_column(Scores.driver(1, "sentence")).to_list() == [
        "2 account warning signals in the last 182 days: 'champion left', 'vendor review'",
        "Last 'vendor review' signal 5 days ago",  # one kind only: its own sentence
    ]


def test_a_lapsed_term_is_said_once_not_echoed_by_its_mrr_and_seats() -> None:
    """An insurer's lapsed customer read "MRR fell 100%", "The last term ended 5 days ago" and "Seats fell
    100%": the term's end says it; a running client's MRR fall is still cited."""
    from churnml.scoring.reasons import Citing, explanations

    rng = np.random.default_rng(5)
    names = ["payments_days_to_term_end", "payments_mrr_change_91d", "payments_seats_change_91d"]
    end = rng.uniform(-30, 300, 3000)
    fall = np.where(end < 0, -1.0, rng.choice([0.0, -0.5], 3000))
    y = (rng.uniform(size=3000) < 0.03 + 0.5 * (end < 0) + 0.3 * (fall < 0)).astype(int)
    X = pd.DataFrame({names[0]: end, names[1]: fall, names[2]: fall})
    model = ChurnModel({"n_estimators": 40, "num_leaves": 7}, n_jobs=1).fit(X, y, calib_set=(X, y))
    rows = np.array([[-5.0, -1.0, -1.0], [200.0, -0.5, -0.5]])  # lapsed 5 days ago; running, MRR halved
    citing = Citing(reference=np.array([100.0, 0.0, 0.0]), monthly=np.array([False, False]))
    out = explanations(
        model,
        rows,
        rows,
        np.arange(2),
        np.array([0, 1]),
        np.array([50.0] * 2),
        names,
        FeaturesConfig(),
        3,
        citing,
    )
    cited = [
        [row[Scores.driver(i, "feature")] for i in (1, 2, 3) if row[Scores.driver(i, "feature")]]
        for row in out.drivers.iter_rows(named=True)
    ]
    assert "payments_mrr_change_91d" not in cited[0] and "payments_seats_change_91d" not in cited[0]
    assert "payments_days_to_term_end" in cited[0]
    assert any(c in cited[1] for c in ("payments_mrr_change_91d", "payments_seats_change_91d"))


@pytest.mark.parametrize(
    ("name", "value", "lowers", "citable"),
    [
        ("payments_late_share_trend", 0.0, True, False),  # "did not change": lowers no risk worth saying
        ("payments_late_share_trend", 0.004, True, False),  # said "did not change" too (under half a point)
        ("payments_late_share_trend", -0.2, True, True),  # fell 20 points: good news, said
        ("usage_events_ratio", 1.0, True, False),
        ("usage_events_ratio", 1.3, True, True),
        ("usage_events_ratio", 0.5, False, True),  # halved: raises the risk, said
    ],
)
def test_no_change_is_not_cited_as_lowering_the_risk(
    name: str, value: float, lowers: bool, citable: bool
) -> None:
    """A marketplace's green sellers read "The share of invoices paid late did not change" 467 times."""
    specs, _ = registry_catalog(FeaturesConfig())
    contribution = np.array([[-0.5 if lowers else 0.5, -2.0]])
    ok = citable_mask(
        contribution, np.array([[value]]), [name], specs, np.array([0.0 if "trend" in name else 1.0])
    )
    assert bool(ok[0, 0]) is citable


@pytest.mark.parametrize(
    ("gap_ratio", "cited"),
    [
        (0.8, False),  # half-way through its usual gap: its rhythm, though above the portfolio's 0.5
        (1.04, False),  # said "1.0 times": not late
        (1.3, True),  # later than usual
    ],
)
def test_a_gap_no_longer_than_usual_is_never_cited_as_a_risk(gap_ratio: float, cited: bool) -> None:
    names = ["payments_gap_ratio"]
    ok = citable_mask(np.array([[0.4, -2.0]]), np.array([[gap_ratio]]), names, SPECS, np.array([0.5]))
    assert bool(ok[0, 0]) is cited


@pytest.mark.parametrize(
    ("days_since", "per_week_182d", "cited"),
    [
        (21.0, 0.23, False),  # a monthly meter reading 21 days ago: within its usual 30 days, though above 15
        (30.4, 0.23, False),  # said "30 days ago": on its rhythm
        (45.0, 0.23, True),  # half a month late
        (21.0, 5.0, True),  # a client active five times a week: 21 days is no rhythm of its
        (21.0, 0.0, True),  # no event in the window: no rhythm to be on
    ],
)
def test_days_since_an_event_within_the_clients_usual_gap_are_never_cited_as_a_risk(
    days_since: float, per_week_182d: float, cited: bool
) -> None:
    """The portfolio's median days since the last event is 15; the client's usual gap is 7 / its events per
    week over the longest window (182 days, not the 28)."""
    names = ["usage_days_since_event", "usage_events_per_week_28d", "usage_events_per_week_182d"]
    values = np.array([[days_since, 0.0, per_week_182d]])
    ok = citable_mask(np.array([[0.4, 0.0, 0.0, -2.0]]), values, names, SPECS, np.array([15.0, 1.0, 1.0]))
    assert bool(ok[0, 0]) is cited


def test_the_usual_gap_reads_the_longest_window_the_registry_gives_the_rate_columns() -> None:
    from churnml.scoring.explain import usual_gap_days

    # windows of a config (35, 120 days), the logins' rate beside the events': 7 / the 120-day rate; a column no
    # registry pattern gives (usage_events_per_week_28d_raw) has no window
    names = [
        "usage_events_per_week_35d",
        "usage_events_per_week_120d",
        "usage_logins_per_week_365d",
        "usage_events_per_week_28d_raw",
    ]
    values = np.array([[1.0, 0.25, 7.0, 9.0], [2.0, 0.0, 1.0, 9.0]])
    got = usual_gap_days(values, names, "usage_days_since_event")
    assert got is not None and got.tolist()[0] == 28.0 and np.isnan(got[1])  # 7 / 0.25; no event: no rhythm
    assert usual_gap_days(values, names, "usage_days_since_login").tolist() == [1.0, 7.0]
    assert usual_gap_days(values, names, "payments_days_since_payment") is None
    assert usual_gap_days(values[:, 3:], names[3:], "usage_days_since_event") is None


@pytest.mark.parametrize(
    ("name", "value", "reference", "age", "expected"),
    [
        ("usage_events_7d", 9.0, 31.0, 400.0, " (typical client: 31)"),
        ("payments_mrr", 311.0, 1450.0, 400.0, " (typical client: EUR 1,450)"),
        ("comm_response_hours_91d", 37.0, 12.0, 400.0, " (typical client: 12 hours)"),
        ("usage_seat_use_28d", 0.25, 0.6, 400.0, " (typical client: 0.60 active users per paid seat)"),
        ("usage_key_share_182d", 0.38, 0.55, 400.0, " (typical client: 55%)"),
        (
            "usage_days_since_export",
            5.0,
            40.0,
            400.0,
            "",
        ),  # the median of those who ever exported: most never did
        ("payments_days_to_term_end", -12.0, 19.0, 400.0, ""),  # monthly plans mid-cycle are no yardstick
        ("payments_addons_change_91d", -1.0, 0.0, 400.0, ""),  # a change against its own past
        ("support_csat_low_last2", 1.0, 0.0, 400.0, ""),  # a flag
        ("usage_onboarding_progress", 0.86, 1.0, 46.0, ""),  # said over its first 46 days
        (
            "comm_words_91d",
            59.0,
            108.4,
            400.0,
            " (typical client: 108 words)",
        ),  # as the sentence says "59 words"
        ("account_tenure_days", 861.0, 400.0, 861.0, " (typical client: 400 days)"),
        ("usage_events_ratio", 0.4, 1.0, 400.0, ""),  # a trend compares with the client's own past
        ("payments_gap_ratio", 1.6, 0.5, 400.0, ""),  # so does the gap against its usual gap
        ("account_signals_91d", 1.0, 0.0, 400.0, ""),  # the signal's kinds are said instead
        ("usage_events_28d", 9.0, 31.0, 20.0, ""),  # said over its 20 days, the median over 28
        ("usage_events_7d", 9.2, 9.4, 400.0, ""),  # both read 9
        ("usage_events_7d", float("nan"), 31.0, 400.0, ""),  # no data
    ],
)
def test_a_level_cited_against_the_portfolio_says_the_typical_clients(
    name: str, value: float, reference: float, age: float, expected: str
) -> None:
    specs, describe = registry_catalog(FeaturesConfig(), currency="EUR")
    assert typical_said(describe, specs, name, value, reference, age) == expected


def test_drivers_with_the_reference_say_the_typical_level() -> None:
    names = ["usage_events_7d", "support_complaints_91d"]
    contrib = np.array([[0.9, 0.5, -2.0]])
    X = np.array([[9.0, 2.0]])
    reference = np.array([31.0, 0.0])
    row = top_drivers(contrib, X, names, SPECS, DESCRIBE, k=2, reference=reference).row(0, named=True)
    assert row[Scores.driver(1, "sentence")] == "9 product events in the last 7 days (typical client: 31)"
    assert row[Scores.driver(2, "sentence")] == "2 complaints in the last 91 days (typical client: 0)"
    plain = top_drivers(contrib, X, names, SPECS, DESCRIBE, k=2).row(0, named=True)
    assert plain[Scores.driver(1, "sentence")] == "9 product events in the last 7 days"


@pytest.mark.parametrize(
    ("name", "value", "of_its_age", "age", "expected"),
    [
        # said over its 89 days: against the clients of its age, not the portfolio's 182 days
        ("payments_paid_182d", 183.0, 346.0, 89.0, " (typical client of its age: EUR 346)"),
        ("usage_events_28d", 9.0, 25.0, 20.0, " (typical client of its age: 25)"),
        ("usage_events_28d", 9.0, float("nan"), 20.0, ""),  # too few clients of its age
        ("usage_events_28d", 9.0, None, 20.0, ""),  # no age reference given
        (
            "usage_events_28d",
            9.0,
            25.0,
            400.0,
            " (typical client: 31)",
        ),  # older than the window: the portfolio
        ("usage_events_ratio", 0.4, 2.0, 20.0, ""),  # a trend: its own past, whatever its age
    ],
)
def test_a_young_clients_level_is_said_against_the_clients_of_its_age(
    name: str, value: float, of_its_age: float | None, age: float, expected: str
) -> None:
    specs, describe = registry_catalog(FeaturesConfig(), currency="EUR")
    assert typical_said(describe, specs, name, value, 31.0, age, of_its_age) == expected


def test_age_band_levels_are_the_medians_of_each_bands_clients() -> None:
    # tenure bands: (.., 14], (14, 30], (30, 61], ...; 10 clients of 20 days, 10 of 50, 3 of 100 (too few)
    n = AGE_BAND_MIN_CLIENTS
    ages = [20.0] * n + [50.0] * n + [100.0] * 3
    spend = list(range(1, n + 1)) + [10.0 * k for k in range(1, n + 1)] + [7.0, 8.0, 9.0]
    X = np.array([ages, spend]).T
    levels = age_band_levels(X, ["account_tenure_days", "payments_paid_182d"])
    assert levels is not None and levels.shape == (10, 2)
    assert levels[1].tolist() == [20.0, 5.5]  # the median of 1..10
    assert levels[2].tolist() == [50.0, 55.0]  # of 10..100
    assert np.isnan(levels[4]).all() and np.isnan(levels[0]).all()  # 3 clients of 100 days; none under 14
    assert age_bands(np.array([0.0, 14.0, 14.5, 89.0, 400.0, np.nan])).tolist() == [0, 1, 1, 3, 9, -1]
    assert age_band_levels(X[:, 1:], ["payments_paid_182d"]) is None  # no tenure feature: no ages


def test_drivers_of_a_young_client_say_the_typical_level_of_its_age() -> None:
    names = ["payments_paid_182d", "account_tenure_days"]
    contrib = np.array([[0.9, 0.1, -2.0], [0.9, 0.1, -2.0]])
    X = np.array([[183.0, 89.0], [183.0, 400.0]])
    age_reference = np.full((10, 2), np.nan)
    age_reference[3] = [346.0, 80.0]  # the band of 61..91 days
    specs, describe = registry_catalog(FeaturesConfig(), currency="EUR")
    out = top_drivers(
        contrib,
        X,
        names,
        specs,
        describe,
        k=1,
        reference=np.array([650.0, 300.0]),
        age_reference=age_reference,
    )
    assert out.get_column(Scores.driver(1, "sentence")).to_list() == [
        "EUR 183 paid in its first 89 days (typical client of its age: EUR 346)",
        "EUR 183 paid in the last 182 days (typical client: EUR 650)",
    ]


def test_a_payment_gap_within_the_clients_rhythm_is_not_cited() -> None:
    """40 days since the last order of a client that orders every 60 days (gap ratio 0.7) is its rhythm; the
    same 40 days at a ratio of 1.3 (it usually orders every 30) is cited."""
    from churnml.scoring.reasons import Citing, explanations

    rng = np.random.default_rng(5)
    names = ["payments_days_since_payment", "payments_gap_ratio", "usage_logins_28d"]
    since = rng.uniform(0, 120, 3000)
    ratio = rng.uniform(0.2, 3.0, 3000)
    logins = rng.uniform(0, 50, 3000)
    y = (rng.uniform(size=3000) < 0.05 + 0.5 * (since > 30)).astype(int)
    X = pd.DataFrame({names[0]: since, names[1]: ratio, names[2]: logins})
    model = ChurnModel({"n_estimators": 40, "num_leaves": 7}, n_jobs=1).fit(X, y, calib_set=(X, y))
    rows = np.array([[40.0, 0.7, 10.0], [40.0, 1.3, 10.0]])
    citing = Citing(reference=np.array([20.0, 0.6, 10.0]), monthly=np.array([False, False]))
    out = explanations(
        model,
        rows,
        rows,
        np.arange(2),
        np.array([0, 1]),
        np.array([50.0] * 2),
        names,
        FeaturesConfig(),
        3,
        citing,
    )
    cited = [
        [row[Scores.driver(i, "feature")] for i in (1, 2, 3)] for row in out.drivers.iter_rows(named=True)
    ]
    assert "payments_days_since_payment" not in cited[0]
    assert "payments_days_since_payment" in cited[1]


def test_a_pause_is_said_as_a_pause_not_as_a_downgrade() -> None:
    """A pet-food subscriber paused since 2025-10-22 (a term with mrr 0 after EUR 45 ones) read "MRR fell 100%
    over the last 91 days" and "Seats fell 100%": the pause is said once, as a pause; a client that halved
    its plan is still told as a downgrade."""
    from churnml.scoring.reasons import (
        MONTHLY_TERM_DAYS,
        Citing,
        pause_sentences,
        paused_rows,
        running_terms,
    )

    as_of = date(2025, 12, 1)
    subs = pl.DataFrame(
        {
            "client_id": ["paused", "paused", "halved", "halved"],
            "start_date": [
                datetime(2025, 9, 22),
                datetime(2025, 10, 22),
                datetime(2025, 8, 1),
                datetime(2025, 11, 1),
            ],
            "end_date": [
                datetime(2025, 10, 22),
                datetime(2025, 12, 22),
                datetime(2025, 11, 1),
                datetime(2026, 2, 1),
            ],
            "mrr": [45.0, 0.0, 100.0, 50.0],
        }
    )
    ids = ["paused", "halved"]
    names = ["payments_mrr_change_91d", "payments_seats_change_91d"]
    X = np.array([[-1.0, -1.0], [-0.5, -0.5]])
    term_days, term_age = running_terms(ids, as_of, subs)
    citing = Citing(
        np.array([0.0, 0.0]),
        term_days <= MONTHLY_TERM_DAYS,
        700,
        paused_rows(ids, as_of, subs),
        term_days,
        term_age,
        pause_sentences(ids, as_of, subs, "EUR"),
    )
    said = _two_clients_first_sentences(X, names, citing)
    assert said == [
        ("On a pause or a free plan since 2025-10-22: MRR EUR 0, from EUR 45", None),
        ("MRR fell 50% over the last 91 days", "Seats fell 50% over the last 91 days"),
    ]


def test_a_pause_is_no_fall_of_payments() -> None:
    """A coffee subscriber a month on a pause (a term at mrr 0 after paid ones) read "Payments fell by about 12%
    of their mean weekly level each week over the last 13 weeks": the pause bills nothing, its payments'
    silence is no news; a client without a pause is still told."""
    from churnml.scoring.reasons import MONTHLY_TERM_DAYS, Citing, running_terms

    as_of = date(2026, 11, 1)
    subs = pl.DataFrame(
        {
            "client_id": ["paused", "paused", "paying"],
            "start_date": [datetime(2026, 9, 5), datetime(2026, 10, 3), datetime(2026, 10, 20)],
            "end_date": [datetime(2026, 10, 3), datetime(2026, 11, 3), datetime(2026, 11, 17)],
            "mrr": [15.21, 0.0, 15.21],
        }
    )
    ids = ["paused", "paying"]
    names = ["payments_paid_slope", "payments_paid_z"]
    X = np.array([[-0.12, -3.0], [-0.12, -3.0]])
    term_days, term_age = running_terms(ids, as_of, subs)
    citing = Citing(
        np.array([0.0, 0.0]),
        term_days <= MONTHLY_TERM_DAYS,
        700,
        np.array([True, False]),
        term_days,
        term_age,
    )
    paused, paying = _two_clients_first_sentences(X, names, citing)
    assert paused == (None, None)
    assert (
        paying[0] == "Payments fell by about 12% of their mean weekly level each week over the last 13 weeks"
    )


def test_a_pause_pays_for_no_seats() -> None:
    """A learner on a pause (a term at mrr 0 after paid ones) read "0 distinct users active in the last 28 days,
    for 1 paid seat" (14 of an online school's 43 paused learners): it pays for no seat while paused, and its
    quiet is the pause's; a paying client's idle seats are still told."""
    from churnml.features.usage import SEATS
    from churnml.scoring.reasons import Citing

    names = ["usage_seat_use_28d", "usage_active_users_28d", SEATS]
    X = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])  # 1 seat each, no user active in 28 days
    monthly = np.array([True, True])  # both on a monthly term (the paused one's free month)
    citing = Citing(
        np.array([1.0, 1.0, 1.0]),  # the typical client: every seat used
        monthly,
        700,
        np.array([True, False]),  # the first on a pause
        np.array([30.0, 30.0]),
        np.array([10.0, 10.0]),
    )

    class SeatsIdle:  # TreeSHAP stand-in: the idle seats raise the risk, users and seats say nothing
        def contributions(self, X: np.ndarray) -> np.ndarray:
            return np.tile([1.0, 0.0, 0.0, -2.0], (len(X), 1))

    (paused,), (paying,) = _two_clients_first_sentences(X, names, citing, SeatsIdle(), top=1)
    assert paused is None
    assert paying == (
        "0 distinct users active in the last 28 days, for 1 paid seat (typical client: 1.00 active users per paid seat)"
    )


def test_a_pause_is_no_mrr_fall_in_why_it_changed() -> None:
    """The week a subscriber paused, its why_changed read "MRR change over 91 days: no data → -100%": its
    term_state says the pause; a client that halved its plan still reads its MRR's before -> after."""
    from churnml.scoring.reasons import Citing, explanations

    class FallingModel:  # TreeSHAP stand-in: an MRR fall raises the risk by its size, the base value last
        def contributions(self, X: np.ndarray) -> np.ndarray:
            fall = -np.nan_to_num(X[:, :1], nan=0.0)
            return np.hstack([fall, np.full((len(X), 1), -2.0)])

    names = ["payments_mrr_change_91d"]
    now, before = np.array([[-1.0], [-0.5]]), np.array([[np.nan], [np.nan]])
    citing = Citing(
        np.array([0.0]),
        np.array([False, False]),
        700,
        np.array([True, False]),
        pause_said=["On a pause or a free plan since 2025-10-22: MRR 0, from 45", None],
    )
    out = explanations(
        FallingModel(),
        now,
        before,
        np.arange(2),
        np.array([0, 1]),
        np.array([40.0] * 2),
        names,
        FeaturesConfig(),
        1,
        citing,
    )
    assert out.why_changed == [
        "risk up: many small changes, no single signal stands out",
        "risk up: MRR change over 91 days: no data → -50% (+0.50)",
    ]


@pytest.mark.parametrize(
    ("name", "value", "age", "expected"),
    [
        # a year of invoices, 70 days of events: the usage windows are resolved from the usage log's start
        ("usage_logins_182d", 10 * 182 / 70, 1500.0, "10 logins in the 70 days of data"),
        ("usage_logins_91d", 10 * 91 / 70, 1500.0, "10 logins in the 70 days of data"),
        ("usage_active_users_182d", 1.0, 1500.0, "1 distinct user active in the 70 days of data"),
        ("usage_logins_182d", 3 * 182 / 70, 30.0, "3 logins in its first 30 days"),
        # the payments family reads the data's own days
        ("payments_orders_182d", 2.0, 1500.0, "2 payments or orders in the last 182 days"),
    ],
)
def test_a_late_usage_log_is_said_over_its_own_days(name, value, age, expected) -> None:
    # it read "26 logins in the last 182 days" for 10 logins: the days of data counted from the first invoice
    _, describe = registry_catalog(
        FeaturesConfig(unobserved_windows="scaled"), data_days=364, family_days={"usage": 70}
    )
    assert describe(name, value, age) == expected


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        # invoices from 89 days before the list, terms from 116: the payment windows are resolved from the log
        ("payments_orders_182d", 3 * 182 / 89, "3 payments or orders in the 89 days of data"),
        ("payments_paid_91d", 147 * 91 / 89, "$ 147 paid in the 89 days of data"),
        # the subscription columns read the data's own days
        (
            "payments_downgrades_182d",
            1 * 182 / 116,
            "1 downgrade (lower MRR or fewer seats) in the 116 days of data",
        ),
    ],
)
def test_a_late_payments_log_is_said_over_its_own_days(name, value, expected) -> None:
    _, describe = registry_catalog(
        FeaturesConfig(unobserved_windows="scaled"), "$", data_days=116, family_days={"payments_log": 89}
    )
    assert describe(name, value, 1500.0) == expected


def test_the_days_of_a_late_payments_log_are_handed_to_the_sentences() -> None:
    from churnml.contract.dataset import Dataset
    from churnml.contract.schemas import Table
    from churnml.scoring.reasons import late_family_days

    dt = pl.Datetime("us")
    terms = pl.DataFrame(
        {"client_id": ["c"], "start_date": [datetime(2026, 6, 4)], "end_date": [datetime(2027, 6, 4)]},
        schema={"client_id": pl.String, "start_date": dt, "end_date": dt},
    )
    payments = pl.DataFrame({"client_id": ["c"], "amount": [49.0], "paid_at": [datetime(2026, 7, 1)]})
    clients = pl.DataFrame({"client_id": ["c"], "created_at": [datetime(2025, 1, 1)]})
    as_of = datetime(2026, 9, 28)
    tables = {Table.CLIENTS: clients, Table.SUBSCRIPTIONS: terms, Table.PAYMENTS: payments}
    assert late_family_days(Dataset(tables, "t", datetime(2026, 6, 4), as_of), as_of.date()) == {
        "payments_log": 89
    }
    shop = {Table.CLIENTS: clients, Table.PAYMENTS: payments}  # no terms: the orders are the first activity
    assert late_family_days(Dataset(shop, "t", datetime(2026, 7, 1), as_of), as_of.date()) == {}


def test_the_days_of_a_late_usage_log_are_handed_to_the_sentences() -> None:
    from churnml.contract.dataset import Dataset
    from churnml.contract.schemas import Table
    from churnml.scoring.reasons import late_family_days

    payments = pl.DataFrame({"client_id": ["c"], "amount": [10.0], "paid_at": [datetime(2023, 3, 6)]})
    events = pl.DataFrame({"client_id": ["c"], "ts": [datetime(2023, 12, 25)], "event": ["login"]})
    clients = pl.DataFrame({"client_id": ["c"], "created_at": [datetime(2020, 1, 1)]})
    as_of = datetime(2024, 3, 4)
    tables = {Table.CLIENTS: clients, Table.PAYMENTS: payments, Table.EVENTS: events}
    late = Dataset(tables, "t", datetime(2023, 3, 6), as_of)
    assert late_family_days(late, as_of.date()) == {"usage": 70}
    early = Dataset({Table.CLIENTS: clients, Table.EVENTS: events}, "t", datetime(2023, 12, 25), as_of)
    assert late_family_days(early, as_of.date()) == {}


@pytest.mark.parametrize(
    ("name", "value", "age", "expected"),
    [
        # 63 days of data: the trend's baseline is the 35 days before the last 28, not 91
        (
            "usage_logins_ratio",
            0.22,
            1524.0,
            "Logins fell 78% against this client's usual rate (last 28 days vs the 35 days of data before)",
        ),
        (
            "usage_key_share_trend",
            -0.15,
            1524.0,
            "The share of key-feature use fell by 15 points (last 28 days vs the 35 days of data before)",
        ),
        (
            "usage_logins_z",
            -8.0,
            1524.0,
            "Logins over the last 4 weeks were far below usual (-8.0 standard deviations from this client's "
            "own earlier weeks)",
        ),
        # a client younger than the data: its own days before the last 28
        (
            "usage_key_share_trend",
            -0.15,
            40.0,
            "The share of key-feature use fell by 15 points (last 28 days vs its 12 days before)",
        ),
        (
            "comm_reply_rate_trend",
            -0.15,
            50.0,
            "The reply rate fell by 15 points (last 28 days vs its 22 days before)",
        ),
    ],
)
def test_a_trends_baseline_is_said_over_the_days_it_had(name, value, age, expected) -> None:
    # it said "vs the 91 days before" and "own last 26 weeks" of 5 weeks of data, and of a 40-day-old client
    _, describe = registry_catalog(FeaturesConfig(), data_days=63)
    assert describe(name, value, age) == expected


@pytest.mark.parametrize(
    ("age", "data_days", "expected"),
    [
        (1524.0, 63, "Logins 2.0 a week, down from 10.0 a week in the 35 days of data before"),
        (1524.0, 300, "Logins 2.0 a week, down from 10.0 a week in the 91 days before"),
        (40.0, 63, "Logins 2.0 a week, down from 10.0 a week in its 12 days before"),
        (1524.0, None, "Logins 2.0 a week, down from 10.0 a week in the 91 days before"),
    ],
)
def test_a_trend_said_as_levels_names_the_days_of_data_it_compares_with(age, data_days, expected) -> None:
    specs, describe = registry_catalog(FeaturesConfig(), data_days=data_days)
    names = ["usage_logins_ratio", "usage_logins_per_week_28d", "account_tenure_days"]
    # 8 logins in the last 28 days against 10 a week before: (8 + 1) / (40 + 1)
    X = np.array([[9 / 41, 2.0, age]])
    row = top_drivers(np.array([[0.9, 0.0, 0.0, -2.0]]), X, names, specs, describe, k=1).row(0, named=True)
    assert row[Scores.driver(1, "sentence")] == expected


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("usage_key_share_trend", -0.15, "-15 pts"),  # a share's difference in points, as its sentence
        ("usage_key_share_trend", 0.05, "+5 pts"),
        ("comm_sentiment_trend", -0.15, "-0.15"),  # a sentiment's difference stays a difference
    ],
)
def test_a_share_difference_before_and_after_is_said_in_points(name, value, shown) -> None:
    # why_changed read "Trend of key-feature share: +0.05 → -0.15" where the driver said "fell by 15 points"
    from churnml.scoring.explain import _short_value

    assert _short_value(SPECS[name], value, "EUR") == shown


@pytest.mark.parametrize(
    ("logins", "age", "data_days", "cited"),
    [
        (10.0, 15.0, None, False),  # 10 in its first 15 days: 121 in 182, above the portfolio's 39
        (2.0, 15.0, None, True),  # 2 in 15 days: 24 in 182, below it
        (30.0, 400.0, None, True),  # a whole window: as it is
        (45.0, 400.0, None, False),
        # a window longer than the 120 days of data, scaled to the window over them (10 in 15 days read
        # 10 x 182 / 120): the same rate, 121
        (10 * 182 / 120, 15.0, 120, False),
        (2 * 182 / 120, 15.0, 120, True),
    ],
)
def test_a_young_clients_count_is_held_against_the_portfolio_at_its_rate(
    logins, age, data_days, cited
) -> None:
    # "10 logins in its first 15 days" was cited as raising the risk against a portfolio of 39 in 182 days
    specs, describe = registry_catalog(FeaturesConfig(unobserved_windows="scaled"), data_days=data_days)
    names = ["usage_logins_182d", "account_tenure_days"]
    X = np.array([[40.0, 400.0], [38.0, 500.0], [45.0, 300.0], [logins, age]])
    contrib = np.array([[0.0, 0.0, -2.0]] * 3 + [[0.5, 0.0, -2.0]])
    reference = np.array([39.0, 400.0])
    scaled = {} if data_days is None else {"days_of": describe.days_of}
    ok = citable_mask(contrib, X, names, specs, reference, **scaled)
    assert bool(ok[3, 0]) is cited


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        # weekly events 217, 150, 137, 51, 36, 43, 15, 19, 23, 7, 14, 15, 24 (a project-management SaaS's account
        # leaving; 228 a week in the 13 weeks before): the slope, -13.8 a week, is 23% of the mean of these 13
        # weeks (57.8), a quarter of their usual; it read "23% of their usual weekly level per week", 300% in
        # 13 weeks
        (
            "usage_events_slope",
            -0.234,
            "Product events fell by about 23% of their mean weekly level each week over the last 13 weeks",
        ),
        ("usage_logins_slope", 0.05, "Logins rose by about 5% of their mean weekly level each week over the last 13 weeks"),
        ("usage_logins_slope", 0.0, "Logins did not change over the last 13 weeks"),
    ],
)  # fmt: skip
def test_a_slope_is_said_against_the_mean_of_its_own_weeks(name, value, expected) -> None:
    assert DESCRIBE(name, value, None) == expected


@pytest.mark.parametrize(
    ("terms", "paid", "first_sentence"),
    [
        # 7 days into a free 14-day trial: nothing was due, its USD 0 is no reason (before the fix it led)
        (
            [(datetime(2026, 3, 1), datetime(2026, 3, 15), 0.0)],
            0.0,
            "Client for 7 days (typical client: 400 days)",
        ),
        # 7 days into a paid 14-day term and nothing paid: news
        ([(datetime(2026, 3, 1), datetime(2026, 3, 15), 30.0)], 0.0, "EUR 0 paid in its first 7 days"),
        # a trial that paid a one-off: said as it is (only a certain zero is quiet)
        ([(datetime(2026, 3, 1), datetime(2026, 3, 15), 0.0)], 5.0, "EUR 5 paid in its first 7 days"),
        # on a free 14-day term since a paid one ended 3 days ago: 4 of its 7 days were billed
        (
            [
                (datetime(2026, 2, 1), datetime(2026, 3, 5), 30.0),
                (datetime(2026, 3, 5), datetime(2026, 3, 19), 0.0),
            ],
            0.0,
            "EUR 0 paid in its first 7 days",
        ),
        # no term at all (a shop's buyer): nothing bought is news
        ([], 0.0, "EUR 0 paid in its first 7 days"),
        # a free trial that ended 3 days ago unpaid: nothing was ever due, its end says it (was "EUR 0 paid")
        (
            [(datetime(2026, 2, 19), datetime(2026, 3, 5), 0.0)],
            0.0,
            "Client for 7 days (typical client: 400 days)",
        ),
        # a paid term that lapsed 3 days ago, nothing paid: news
        ([(datetime(2026, 2, 19), datetime(2026, 3, 5), 30.0)], 0.0, "EUR 0 paid in its first 7 days"),
    ],
)
def test_a_zero_paid_that_free_terms_make_certain_is_no_reason(terms, paid, first_sentence) -> None:
    """A 7-day-old client with nothing paid over 28 days read "EUR 0 paid in its first 7 days" on a free
    trial (a first term at mrr 0): nothing was due, so the zero says nothing about it."""
    from churnml.scoring.reasons import MONTHLY_TERM_DAYS, Citing, free_term_days, running_terms

    as_of = date(2026, 3, 8)
    subs = pl.DataFrame(
        {
            "client_id": ["c"] * len(terms),
            "start_date": [t[0] for t in terms],
            "end_date": [t[1] for t in terms],
            "mrr": [t[2] for t in terms],
        },
        schema={
            "client_id": pl.String,
            "start_date": pl.Datetime("us"),
            "end_date": pl.Datetime("us"),
            "mrr": pl.Float64,
        },
    )
    ids = ["c", "c"]
    term_days, term_age = running_terms(ids, as_of, subs)
    citing = Citing(
        np.array([60.0, 400.0]),
        term_days <= MONTHLY_TERM_DAYS,
        700,
        np.zeros(2, bool),
        term_days,
        term_age,
        free_days=free_term_days(ids, as_of, subs),
    )
    X = np.array([[paid, 7.0], [paid, 7.0]])
    said = _two_clients_first_sentences(X, ["payments_paid_28d", "account_tenure_days"], citing)
    assert said[0][0] == first_sentence


def test_a_trialists_drivers_speak_of_its_trial_not_of_a_paid_term() -> None:
    from churnml.scoring.reasons import with_trials_said

    seats = "0 distinct users active in its first 13 days, for 22 paid seats (typical client of its age: 0.19 active users per paid seat)"
    ended = "The last term ended 20 days ago; no new term since"
    drivers = pl.DataFrame(
        {
            "driver_1_sentence": [ended, ended],
            "driver_2_sentence": [seats, None],
        }
    )
    got = with_trials_said(drivers, np.array([True, False]), 2)
    assert got.row(0) == (
        "The free trial ended 20 days ago; no paid term since",
        "0 distinct users active in its first 13 days, for 22 seats of its free trial (typical client of its "
        "age: 0.19 active users per paid seat)",
    )
    assert got.row(1) == (ended, None)  # a paying client's lapse is said as it was
    # a seat said in its own noun (features.seat_noun: desk, team desk) is a seat of the trial too
    desks = "1 distinct user active in the last 28 days, for 3 paid team desks (typical client: 0.85 active users per paid team desk)"
    got = with_trials_said(pl.DataFrame({"driver_1_sentence": [desks]}), np.array([True]), 1)
    assert got.item(0, 0) == (
        "1 distinct user active in the last 28 days, for 3 team desks of its free trial (typical client: 0.85 active "
        "users per paid team desk)"
    )


def test_a_usual_payment_gap_within_the_running_term_is_its_billing_not_a_reason() -> None:
    """A school's student paying a 6-month term up front (terms 184 and 181 days: usually 183 days between
    payments) and a monthly payer (30 days) were cited "Usually 183 days between payments or orders" as a top
    reason: a term is billed at least once, so a gap within the term is its billing. A monthly plan paid every
    61 days (its payments due more often than that) and a shop's buyer without a term (every 91 days) still are."""
    from churnml.scoring.reasons import MONTHLY_TERM_DAYS, Citing, explanations, running_terms

    as_of = date(2026, 3, 9)
    subs = pl.DataFrame(
        {
            "client_id": ["semester", "semester", "monthly", "skipper"],
            "start_date": [
                datetime(2025, 7, 1),
                datetime(2026, 1, 1),
                datetime(2026, 3, 1),
                datetime(2026, 3, 1),
            ],
            "end_date": [
                datetime(2026, 1, 1),
                datetime(2026, 7, 1),
                datetime(2026, 4, 1),
                datetime(2026, 4, 1),
            ],
            "mrr": [100.0] * 4,
        }
    )
    ids = ["semester", "monthly", "skipper", "shop"]
    term_days, term_age = running_terms(ids, as_of, subs)
    assert term_days.tolist() == [181.0, 31.0, 31.0, float("inf")]
    names = ["payments_mean_gap_days", "payments_gap_ratio"]
    # the features of payments 2 days into each term (the shop: an order every 3 months), as build_features reads
    X = np.array([[182.75, 0.36], [30.38, 0.2], [60.77, 0.1], [91.38, 0.68]])
    citing = Citing(
        np.array([30.0, 1.0]), term_days <= MONTHLY_TERM_DAYS, 700, np.zeros(4, bool), term_days, term_age
    )
    out = explanations(
        _RaisingModel(),
        X,
        X[:0],
        np.arange(4),
        np.full(4, -1),
        np.full(4, 40.0),
        names,
        FeaturesConfig(),
        2,
        citing,
        "EUR",
    )
    assert out.drivers.get_column(Scores.driver(1, "sentence")).to_list() == [
        None,
        None,
        "Usually 61 days between payments or orders (typical client: 30)",
        "Usually 91 days between payments or orders (typical client: 30)",
    ]


def test_the_signal_kinds_columns_are_found_once_per_window_in_the_features_order() -> None:
    """The columns of each kind of account signal in a window, said as the sentence names them, in the order of
    the features; a row's kinds are those it counts (a missing count is none)."""
    from churnml.scoring.explain import _kind_columns, _signal_kinds

    index = {
        "account_signals_28d": 0,
        "account_vendor_review_28d": 1,
        "account_champion_left_28d": 2,
        "account_vendor_review_91d": 3,
        "account_days_since_vendor_review": 4,
        "usage_logins_28d": 5,
    }
    assert _kind_columns(tuple(index.items()), "28") == ((1, "'vendor review'"), (2, "'champion left'"))
    assert _kind_columns(tuple(index.items()), "91") == ((3, "'vendor review'"),)
    row = np.array([2.0, 1.0, np.nan, 1.0, 3.0, 9.0])
    assert _signal_kinds(row, index, "28") == ["'vendor review'"]
    assert _signal_kinds(np.array([2.0, 1.0, 1.0, 0.0, 3.0, 9.0]), index, "28") == [
        "'vendor review'",
        "'champion left'",
    ]
    assert _signal_kinds(row, index, "91") == ["'vendor review'"]


def test_a_describer_finds_what_a_feature_name_says_once() -> None:
    """What a describer reads of a feature's name alone (its family's days, window, trend span) is found once per
    name and gives the same answers the second time, the sentences unchanged."""
    from churnml.scoring.explain import Describer

    describe = Describer(
        FeaturesConfig(unobserved_windows="scaled"), "EUR", data_days=60, family_days={"usage": 40}
    )

    def read() -> list[object]:
        return [
            describe.days_of("usage_logins_91d"),
            describe.days_of("payments_mrr"),
            describe.scaled_window("usage_logins_91d"),
            describe.compared_days("usage_logins_ratio"),
            describe.over_its_age("usage_logins_91d", 30.0),
        ]

    first = read()
    assert first == [40, 60, 91, 119, True]
    assert ("days_of", "usage_logins_91d") in describe._per_name
    assert read() == first
    assert describe("usage_logins_91d", 4.0) == describe("usage_logins_91d", 4.0)


@pytest.mark.parametrize("data_days", [None, 60])
def test_what_a_feature_s_name_decides_of_its_sentence_holds_for_every_value(data_days: int | None) -> None:
    """The list's sentences read once per feature whether a feature's sentence reads the row's other values and
    whether a typical level may follow it (``_reads_other_values``, ``typical_unsaid``); for every feature of the
    registry, at values, ages and typical levels of every kind, a feature said alone is said as its own value and
    an unsaid one gets no typical level."""
    from churnml.scoring.explain import _reads_other_values, _row_sentence, _sentence, typical_unsaid

    cfg = FeaturesConfig(unobserved_windows="scaled")
    specs, describe = registry_catalog(cfg, currency="EUR", data_days=data_days)
    names = list(specs)
    index = {n: i for i, n in enumerate(names)}
    levels = (0.0, -0.0, 1.0, 2.5, -0.3, 0.004, 30.0, 1e5, float("nan"))
    for name in names:
        col = index[name]
        own = not _reads_other_values(describe, specs, index, name)
        unsaid = typical_unsaid(describe, specs, name)
        for value in levels:
            for age in (None, 5.0, 40.0, 400.0):
                row = np.full(len(names), 3.0)
                row[col] = value
                if own:
                    assert _row_sentence(describe, specs, names, index, row, col, age) == _sentence(
                        describe, specs, name, value, age
                    ), (name, value, age)
                if unsaid:
                    for reference, of_its_age in ((1.0, 2.0), (0.0, None), (50.0, float("nan"))):
                        said = typical_said(describe, specs, name, value, reference, age, of_its_age)
                        assert said == "", (name, value, age, reference)
    # both kinds are met: most features are said alone, some read the row; some never say a typical level
    assert any(_reads_other_values(describe, specs, index, n) for n in names)
    assert any(typical_unsaid(describe, specs, n) for n in names)
    assert not all(typical_unsaid(describe, specs, n) for n in names)


def test_a_short_value_of_minus_zero_is_said_apart_from_zero_whichever_comes_first() -> None:
    """The short values are kept per value (a portfolio's repeat); -0.0 equals 0.0 as a key, yet reads "0%" where
    0.0 reads "+0%": each is said as it was before the values were kept, in either order."""
    from churnml.scoring.explain import _short_value

    spec = SPECS["payments_mrr_change_91d"]
    assert [_short_value(spec, v, "EUR") for v in (-0.0, 0.0, -0.0)] == ["0%", "+0%", "0%"]
    spec = SPECS["payments_seats_change_91d"]
    assert [_short_value(spec, v, "EUR") for v in (0.0, -0.0, 0.0)] == ["+0%", "0%", "+0%"]
    assert _short_value(spec, float("nan"), "EUR") == "no data"


@pytest.mark.parametrize(
    ("cfg", "data_days", "name", "below", "young", "young_said"),
    [
        # its window: 27 days old, its events are said over its age
        (FeaturesConfig(), None, "usage_logins_28d", 28.0, 27.0, "3 logins in its first 27 days"),
        # a trend: its 28 days against the 91 before
        (
            FeaturesConfig(),
            None,
            "usage_logins_ratio",
            119.0,
            118.0,
            "Logins fell 70% against this client's usual rate (last 28 days vs its 90 days before)",
        ),
        # onboarding over its first young_days (90)
        (FeaturesConfig(), None, "usage_onboarding_progress", 90.0, 60.0, None),
        # the days since the last payment and the tenure: no age changes them
        (FeaturesConfig(), None, "payments_days_since_payment", 0.0, None, None),
        (FeaturesConfig(), None, "account_tenure_days", 0.0, None, None),
        # a window scaled from 70 days of usage log: said over the data, or over a younger client's age
        (
            FeaturesConfig(unobserved_windows="scaled"),
            364,
            "usage_logins_182d",
            182.0,
            30.0,
            "1 login in its first 30 days",  # 3 over 182 days scaled from 70: 1 in them
        ),
    ],
)
def test_a_sentence_no_longer_depends_on_the_clients_age_from_age_said_below(
    cfg: FeaturesConfig,
    data_days: int | None,
    name: str,
    below: float,
    young: float | None,
    young_said: str | None,
) -> None:
    # the drivers' sentences are said once per feature, value and age where it changes them (top_drivers): at or
    # above the age, and for an unknown one, every client with the value reads the sentence of no age
    specs, describe = registry_catalog(
        cfg, data_days=data_days, family_days={"usage": 70} if data_days else None
    )
    assert describe.age_said_below(name) == below
    value = 0.3 if name.endswith("_ratio") else 3.0
    plain = describe(name, value)
    for age in (below, below + 1, 10 * below + 500, float("nan")):
        assert describe(name, value, age) == plain
        assert typical_said(describe, specs, name, value, 31.0, age, 7.0) == typical_said(
            describe, specs, name, value, 31.0, None
        )
    if young is not None and young_said is not None:
        assert describe(name, value, young) == young_said != plain


def test_top_drivers_says_a_feature_at_one_value_and_age_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import churnml.scoring.explain as explain

    said: list[tuple[str, float, float | None]] = []
    sentence_of = explain._sentence

    def counted(describe, specs, name, value, age=None):  # type: ignore[no-untyped-def]
        said.append((name, value, age))
        return sentence_of(describe, specs, name, value, age)

    monkeypatch.setattr(explain, "_sentence", counted)
    names = ["usage_events_28d", "account_tenure_days"]
    # 9 events at 400 and 500 days, at an unknown age and at 28 days (its window): one sentence; 4 events another;
    # 9 events at 20 days (younger than the window) its own; -0.0 and 0.0 apart (as the value's bits)
    X = np.array(
        [[9, 400], [9, 500], [9, np.nan], [9, 28], [4, 400], [9, 20], [0.0, 400], [-0.0, 400]], dtype=float
    )
    contrib = np.tile([0.9, 0.0, -2.0], (len(X), 1))
    reference = np.array([31.0, 300.0])
    memo: dict[tuple[int, int, float], str] = {}
    out = top_drivers(contrib, X, names, SPECS, DESCRIBE, k=1, reference=reference, said=memo)
    nine = "9 product events in the last 28 days (typical client: 31)"
    none = "0 product events in the last 28 days (typical client: 31)"
    assert out.get_column(Scores.driver(1, "sentence")).to_list() == [
        nine,
        nine,
        nine,
        nine,
        "4 product events in the last 28 days (typical client: 31)",
        "9 product events in its first 20 days",
        none,
        none,
    ]
    assert said == [
        ("usage_events_28d", 9.0, 400.0),
        ("usage_events_28d", 4.0, 400.0),
        ("usage_events_28d", 9.0, 20.0),
        ("usage_events_28d", 0.0, 400.0),
        ("usage_events_28d", -0.0, 400.0),
    ]
    # a second chunk of the same list handed the same memo says nothing anew
    again = top_drivers(contrib[:2], X[:2], names, SPECS, DESCRIBE, k=1, reference=reference, said=memo)
    assert again.get_column(Scores.driver(1, "sentence")).to_list() == [nine, nine]
    assert len(said) == 5


@pytest.mark.parametrize(
    ("cfg", "data_days", "family_days"),
    [
        (FeaturesConfig(), None, None),
        (FeaturesConfig(), 63, None),
        (FeaturesConfig(unobserved_windows="scaled"), 364, {"usage": 70}),
    ],
)
def test_no_sentence_of_the_registry_reads_the_age_from_age_said_below(cfg, data_days, family_days) -> None:
    # every feature the registry holds, at a few values: a client as old as age_said_below or older (or of an
    # unknown age) reads the sentence and the typical level of no age
    specs, describe = registry_catalog(cfg, data_days=data_days, family_days=family_days)
    for name in specs:
        below = describe.age_said_below(name)
        for value in (0.0, 0.4, 3.0, 45.0, float("nan")):
            plain = describe(name, value)
            typical = typical_said(describe, specs, name, value, 2.0, None)
            for age in (below, below + 3, 4000.0, float("nan")):
                assert describe(name, value, age) == plain, (name, value, age)
                assert typical_said(describe, specs, name, value, 2.0, age, 9.0) == typical, (
                    name,
                    value,
                    age,
                )


def test_the_leads_of_the_groups_a_row_names_are_found_alone() -> None:
    from churnml.scoring.explain import _lead_features

    # groups: logins (columns 0-2), meetings (3), complaints (4), late payments (5)
    contrib = np.array(
        [
            [0.30, -0.10, 0.20, 0.25, 0.0, 0.01, -2.0],  # logins led by its 28-day count
            [0.10, 0.40, -0.30, 0.0, 0.5, 0.0, -2.0],  # raising: the ratio; lowering: the days since
            [0.30, 0.20, 0.10, 0.0, 0.0, 0.6, -2.0],  # the 28-day count has no value: the ratio speaks
        ]
    )
    values = np.array(
        [[3.0, 0.4, 12.0, 4.0, 0.0, 1.0], [3.0, 0.4, 12.0, 0.0, 2.0, 0.0], [np.nan, 0.4, 12.0, 0, 0, 2]]
    )
    grouped = grouped_contributions(contrib, NAMES, SPECS)
    # the groups each row's drivers name: logins and meetings; complaints and logins; late payments and logins
    wanted = np.array([[0, 1], [2, 0], [3, 0]])
    up = _lead_features(grouped, contrib, np.ones(3), values, wanted)
    assert up.tolist() == [[0, 3, -1, -1], [1, -1, 4, -1], [1, -1, -1, 5]]
    down = _lead_features(grouped, contrib, -np.ones(3), values, wanted)
    assert down.tolist() == [[1, 3, -1, -1], [2, -1, 4, -1], [2, -1, -1, 5]]
    # where wanted, as the leads of every group
    for sign, found in ((1.0, up), (-1.0, down)):
        every = _lead_features(grouped, contrib, np.full(3, sign), values)
        assert (
            np.take_along_axis(every, wanted, axis=1).tolist()
            == np.take_along_axis(found, wanted, axis=1).tolist()
        )
