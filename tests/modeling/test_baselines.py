"""Baselines: seed rules on feature columns, logistic regression, graceful absence of families."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnml.config import RulesConfig
from churnml.modeling.baselines import LogisticBaseline, baseline_rules, rule_flags, rule_risk_score


def test_rules_fire_on_the_written_out_rows():
    features = pd.DataFrame(
        {
            "usage_days_since_event": [120.0, 5.0, np.nan, 30.0],
            "comm_no_reply_streak": [0.0, 2.0, 1.0, 3.0],
            "support_csat_low_last2": [2.0, 0.0, 1.0, np.nan],
            "payments_late_28d": [0.0, 1.0, 0.0, 0.0],
            "payments_overdue_open": [0.0, 0.0, 0.0, 1.0],
            "payments_seats_change_91d": [-0.2, 0.0, 0.1, np.nan],
            "payments_mrr_change_91d": [0.0, 0.0, 0.0, 0.0],
        }
    )
    flags = rule_flags(features)
    assert list(flags.columns) == [
        "no_activity_90d",
        "unanswered_outreach",
        "low_ratings",
        "payment_late",
        "downgrade",
    ]
    assert flags["no_activity_90d"].tolist() == [1, 0, 1, 0]  # never any event counts as no activity
    assert flags["unanswered_outreach"].tolist() == [0, 1, 0, 1]
    assert flags["low_ratings"].tolist() == [1, 0, 0, 0]
    assert flags["payment_late"].tolist() == [0, 1, 0, 1]  # late in 28 days, or overdue now
    assert flags["downgrade"].tolist() == [1, 0, 0, 0]
    score, used = rule_risk_score(features)
    assert score.tolist() == [3.0, 2.0, 1.0, 2.0]
    assert "no_order_90d" not in used  # no payments_days_since_payment column: skipped, not guessed


def test_no_rule_column_gives_zero_score_and_no_rules():
    score, used = rule_risk_score(pd.DataFrame({"x": [1.0, 2.0]}))
    assert used == [] and score.tolist() == [0.0, 0.0]


def test_logistic_baseline_learns_a_linear_signal_and_survives_missing_and_inf():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000)})
    y = (rng.random(2000) < 1 / (1 + np.exp(-(2 * X["a"] - 1)))).astype(int)
    X.loc[::7, "b"] = np.nan
    X.loc[::11, "b"] = np.inf
    model = LogisticBaseline(C=1.0).fit(X, y)
    p = model.churn_probability(X)
    assert ((p > 0) & (p < 1)).all()
    assert np.corrcoef(p, X["a"])[0, 1] > 0.9
    assert p.mean() == pytest.approx(y.mean(), abs=0.01)


def test_the_rule_score_waits_the_configured_days_of_silence() -> None:
    # an app that calls a user gone after 28 quiet days: a 90-day rule never fires on its active users
    features = pd.DataFrame({"usage_days_since_event": [3.0, 8.0, 20.0, np.nan]})
    assert rule_flags(features)["no_activity_90d"].tolist() == [0, 0, 0, 1]  # only "never"
    flags = rule_flags(features, baseline_rules(RulesConfig(no_activity_days=7)))
    assert list(flags.columns) == ["no_activity_7d"]
    assert flags["no_activity_7d"].tolist() == [0, 1, 1, 1]


def test_the_rule_score_tests_unanswered_outreach_as_the_list_does() -> None:
    # the list's test (rules.unanswered_run_needed): n in a row, more where the client's own reply rate makes
    # n likely by chance (under rules.unanswered_chance): 4 replies in 10 need 5 (0.6 ** 5 = 8% < 10%), 9 in 10
    # need 2; no reply rate known: n
    features = pd.DataFrame(
        {
            "comm_no_reply_streak": [2.0, 2.0, 4.0, 5.0, 2.0, np.nan],
            "comm_reply_rate_28d": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # not the window nearest 91 days
            "comm_reply_rate_91d": [0.9, 0.4, 0.4, 0.4, np.nan, 0.9],
        }
    )
    assert rule_flags(features)["unanswered_outreach"].tolist() == [1, 0, 0, 1, 1, 0]
    every_run = baseline_rules(RulesConfig(unanswered_chance=1.0))  # 1: the count alone
    assert rule_flags(features, every_run)["unanswered_outreach"].tolist() == [1, 1, 1, 1, 1, 0]
    three = baseline_rules(RulesConfig(unanswered_outreach=3))
    assert rule_flags(features, three)["unanswered_outreach"].tolist() == [0, 0, 0, 1, 0, 0]


@pytest.mark.parametrize(
    ("complaints", "orders", "share", "fires"),
    [
        (3.0, 140.0, 0.05, 0),  # a commuter's 3 complaints in 140 trips: wear (fired before, as "complaint")
        (7.0, 140.0, 0.05, 0),  # 5% of 140: not more
        (8.0, 140.0, 0.05, 1),
        (3.0, 3.0, 0.05, 1),  # a B2B account: 3 complaints, 3 monthly invoices
        (2.0, np.nan, 0.05, 1),  # no order known: the count alone
        (1.0, 0.0, 0.05, 0),  # under rules.complaints (fired before: any complaint)
        (3.0, 140.0, 0.0, 1),  # rules.complaints_per_order 0: the count alone
    ],
)
def test_the_rule_score_tests_complaints_as_the_list_does(
    complaints: float, orders: float, share: float, fires: int
) -> None:
    # the list's test (rules.complaints_beyond_use): rules.complaints or more in the window nearest
    # rules.complaints_days, more than rules.complaints_per_order of the orders of the same window
    features = pd.DataFrame(
        {
            "support_complaints_28d": [9.0],  # not the window nearest 91 days
            "support_complaints_91d": [complaints],
            "payments_orders_28d": [0.0],
            "payments_orders_91d": [orders],
        }
    )
    flags = rule_flags(features, baseline_rules(RulesConfig(complaints_per_order=share)))
    assert list(flags.columns) == ["complaints"]
    assert flags["complaints"].tolist() == [fires]


@pytest.mark.parametrize(
    ("complaints", "users", "fires"),
    [
        (3.0, 16.0, 0),  # a team of 16 at its desks: 3 complaints a quarter come with its people
        (5.0, 16.0, 1),  # more than rules.complaints_per_user (0.25) per active user
        (2.0, 1.0, 1),  # a member alone
        (3.0, np.nan, 1),  # no user ids: the orders and the count alone
    ],
)
def test_the_rule_score_weighs_complaints_against_the_users_as_the_list_does(
    complaints: float, users: float, fires: int
) -> None:
    # rules.complaints_per_user 0.25 (team accounts; the default 0 counts no users: every case fires)
    features = pd.DataFrame(
        {
            "support_complaints_91d": [complaints],
            "payments_orders_91d": [3.0],
            "usage_active_users_28d": [1.0],  # not the window nearest 91 days
            "usage_active_users_91d": [users],
        }
    )
    flags = rule_flags(features, baseline_rules(RulesConfig(complaints_per_user=0.25)))
    assert flags["complaints"].tolist() == [fires]
    assert rule_flags(features, baseline_rules(RulesConfig()))["complaints"].tolist() == [1]


def test_the_rule_score_reads_complaints_without_orders_and_cancellations_apart() -> None:
    features = pd.DataFrame(
        {
            "support_complaints_91d": [2.0, 0.0, 1.0],
            "support_cancellation_requests_91d": [0.0, 1.0, 1.0],
        }
    )
    flags = rule_flags(features)
    assert list(flags.columns) == ["complaints", "cancellation_request"]
    assert flags["complaints"].tolist() == [1, 0, 0]
    assert flags["cancellation_request"].tolist() == [0, 1, 1]
