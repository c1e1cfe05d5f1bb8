"""The champion gate: promoted only on backtest evidence, never over a simple baseline."""

from __future__ import annotations

import pandas as pd
import pytest

from churnml.modeling.champion import verdict


def _metrics(**pr_auc: float) -> pd.DataFrame:
    return pd.DataFrame({"pr_auc": pr_auc}).rename_axis("contender")


@pytest.mark.parametrize(
    ("metrics", "champion", "promoted", "words"),
    [
        (pd.DataFrame(), None, False, "no out-of-time estimate yet"),
        # the 40-client model that lost to the baselines must never become champion, even with none
        (_metrics(model=0.20, logistic=0.31, rules=0.18), None, False, "not above the logistic baseline"),
        (_metrics(model=0.30, logistic=0.25, rules=0.30), None, False, "not above the rules baseline"),
        (_metrics(model=0.40, logistic=0.31, rules=0.18), None, True, "no champion yet"),
        (_metrics(model=0.40, logistic=0.31, rules=0.18), ("3", 0.38), True, ">= champion v3's procedure"),
        (
            _metrics(model=0.40, logistic=0.31, rules=0.18),
            ("3", 0.40),
            True,
            "the same procedure as champion v3",
        ),  # a tie of the same procedure: its figure is this run's, the refit replaces it
        (_metrics(model=0.40, logistic=0.31, rules=0.18), ("3", 0.42), False, "< champion v3's procedure"),
        # said as the gate asks, a mean above theirs (the evidence line may call the gap a tie): not "beats"
        (
            _metrics(model=0.40, logistic=0.31),
            None,
            True,
            "no champion yet; mean fold PR-AUC 0.4000 is above logistic 0.3100",
        ),
        (
            _metrics(model=0.40),
            None,
            True,
            "no champion yet; mean fold PR-AUC 0.4000, no baseline to compare",
        ),
        (
            _metrics(model=0.40, logistic=0.31),
            ("2", float("nan")),
            True,
            "champion v2 cannot be judged on these rows; above logistic 0.3100",
        ),
    ],
)
def test_verdict(metrics, champion, promoted, words):
    got = verdict(metrics, champion)
    assert got.promoted is promoted
    assert words in got.reason


@pytest.mark.parametrize(
    ("model", "max_credible", "promoted", "words"),
    [
        # a leaked end date: perfect on the backtest, never promoted
        (
            1.0,
            0.98,
            False,
            "too good to be true: mean fold PR-AUC 1.0000 on the backtest (train.max_credible_pr_auc 0.98)",
        ),
        (0.98, 0.98, False, "too good to be true: mean fold PR-AUC 0.9800"),
        (0.9799, 0.98, True, "no champion yet; mean fold PR-AUC 0.9799 is above logistic 0.9600"),
        (1.0, None, True, "no champion yet"),  # the check turned off (churn announced by a notice period)
    ],
)
def test_a_backtest_too_good_to_be_true_is_not_promoted(model, max_credible, promoted, words):
    got = verdict(_metrics(model=model, logistic=0.96, rules=0.08), None, max_credible=max_credible)
    assert got.promoted is promoted and got.too_good is (not promoted)
    assert words in got.reason


@pytest.mark.parametrize(
    ("lone", "max_credible", "promoted", "words"),
    [
        # a leaked end date the model used only in part (random split thresholds): refused for the column
        (
            ("payments_days_to_term_end", 0.999),
            0.98,
            False,
            "too good to be true: mean fold PR-AUC 0.9990 of payments_days_to_term_end alone on the backtest's test rows "
            "(train.max_credible_pr_auc 0.98; the model 0.7300)",
        ),
        (("usage_days_since_login", 0.61), 0.98, True, "no champion yet; mean fold PR-AUC 0.7300"),
        (("payments_days_to_term_end", 1.0), None, True, "no champion yet"),  # the check turned off
        (None, 0.98, True, "no champion yet"),  # no usable fold to rank by a feature
    ],
)
def test_a_feature_too_good_alone_is_not_promoted(lone, max_credible, promoted, words):
    got = verdict(_metrics(model=0.73, logistic=0.19, rules=0.16), None, max_credible=max_credible, lone=lone)
    assert got.promoted is promoted and got.too_good is (not promoted)
    assert words in got.reason


@pytest.mark.parametrize(
    ("model", "rate", "promoted", "words"),
    [
        # a marketplace where 97.5% of the active customers never order again: any ranking scores ~0.975
        (0.9895, 0.975, True, "no champion yet; mean fold PR-AUC 0.9895"),
        # a leak is still perfect above any rate
        (
            1.0,
            0.975,
            False,
            "mean fold PR-AUC 1.0000 on the backtest (train.max_credible_pr_auc 0.98)",
        ),
        # at a usual churn rate the measure is nearly the PR-AUC itself
        (
            0.981,
            0.05,
            False,
            "mean fold PR-AUC 0.9810 on the backtest, 0.9800 of the way from the churn rate 0.050 to 1",
        ),
        (0.979, 0.05, True, "no champion yet"),
    ],
)
def test_too_good_to_be_true_is_measured_above_the_churn_rate(model, rate, promoted, words):
    metrics = pd.DataFrame(
        {"pr_auc": {"model": model, "logistic": 0.5 + rate / 2, "rules": rate}, "base_rate": rate}
    ).rename_axis("contender")
    got = verdict(metrics, None, max_credible=0.98)
    assert got.promoted is promoted and got.too_good is (not promoted)
    assert words in got.reason


@pytest.mark.parametrize(
    ("pr_auc", "rate", "expected"),
    [
        (0.98, 0.05, 0.97894737),
        (0.9895, 0.975, 0.58),
        (1.0, 0.5, 1.0),
        (0.5, 0.5, 0.0),
        (0.7, float("nan"), 0.7),
    ],
)
def test_pr_auc_above_rate(pr_auc, rate, expected):
    from churnml.modeling.champion import pr_auc_above_rate

    assert pr_auc_above_rate(pr_auc, rate) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("label", "words"),
    [
        ({"source": "subscriptions"}, "subscriptions.end_date set to when a subscription was cancelled"),
        (
            {"source": "inactivity", "inactivity_days": 28, "horizon_days": 14},
            "label.inactivity_days (28) is longer than label.horizon_days (14), so a client silent for 14 to "
            "28 days still counts as active",
        ),
        (
            {"source": "inactivity", "inactivity_days": 14, "horizon_days": 14},
            "a column written after the fact",
        ),
        ({"source": "churns"}, "a column written after the fact"),
    ],
)
def test_the_usual_cause_of_a_backtest_too_good_follows_the_label(label, words) -> None:
    from churnml.config import LabelConfig
    from churnml.jobs.train import usual_leak_cause

    assert words in usual_leak_cause(LabelConfig(**label))


@pytest.mark.parametrize(
    ("score", "champ", "new_recipe", "newer_labels", "promoted", "words"),
    [
        # a tuned model on the same labels: +0.0007 is no evidence (train.champion_margin 0.005)
        (0.4007, 0.40, True, False, False, "not better by train.champion_margin 0.005"),
        (0.4060, 0.40, True, False, True, "by at least train.champion_margin 0.005"),
        # a new recipe with newer labels: promoted unless the champion's procedure is clearly better
        (0.3970, 0.40, True, True, True, "within train.champion_margin 0.005, with newer labels"),
        (0.3940, 0.40, True, True, False, "< champion v3's procedure"),
        # the same recipe: its own figure (one figure, not two compared), the refit replaces it
        (
            0.40,
            0.40,
            False,
            True,
            True,
            "the same procedure as champion v3 (its parameters and feature columns: on "
            "the same backtest rows its mean fold PR-AUC is this run's, 0.4000), refit on labels up to a later date",
        ),
        (
            0.40,
            0.40,
            False,
            False,
            True,
            "the same procedure as champion v3 (its parameters and feature columns: "
            "on the same backtest rows its mean fold PR-AUC is this run's, 0.4000), refit on the same labels",
        ),
        (0.3990, 0.40, False, True, False, "< champion v3's procedure"),
    ],
)
def test_a_new_recipe_must_clear_the_margin(score, champ, new_recipe, newer_labels, promoted, words) -> None:
    got = verdict(
        _metrics(model=score, logistic=0.31, rules=0.18),
        ("3", champ),
        new_recipe=new_recipe,
        newer_labels=newer_labels,
        margin=0.005,
    )
    assert got.promoted is promoted
    assert words in got.reason, got.reason


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        # the evidence line just before may call +0.050 [-0.028, +0.138] a tie: said as the mean above, not "beats"
        (
            _metrics(model=0.6321, logistic=0.5819),
            "mean fold PR-AUC 0.6321 is above logistic 0.5819 (the gate asks no more; whether the lead is beyond "
            "the noise is the evidence line's); the champion's procedure, if any, is judged after the deployed fit",
        ),
        (
            _metrics(model=0.30, logistic=0.31),
            "NOT promoted, whatever the champion: not above the logistic baseline on the backtest (mean fold "
            "PR-AUC 0.3000 vs 0.3100; the gate asks a mean above it, whether or not the evidence line calls the gap "
            "a tie)",
        ),
    ],
)
def test_the_gate_line_says_a_mean_above_the_baselines_not_a_lead(metrics, expected) -> None:
    from churnml.modeling.champion import baselines_verdict_text

    assert baselines_verdict_text(metrics) == expected
