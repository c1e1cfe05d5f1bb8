"""The baselines the model must beat, evaluated on the same test rows.

Grain: one row per client x snapshot of the feature table (columns named as in
``churnml.features.registry.FEATURES``).

- :func:`rule_risk_score`: the seeds' rule-based health score. Each rule (no activity or order for 90
  days, two unanswered outreaches in a row, the last two ratings low, a payment late, ...) fires 0/1 on
  feature columns it finds by name; the risk score is the number of rules that fire. Rules whose
  columns are absent (a family missing from the data) are skipped and reported, not guessed. The rules
  the weekly list also fires read its settings (:func:`baseline_rules`: ``rules.no_activity_days``, and
  ``rules.unanswered_outreach`` and ``rules.unanswered_chance`` through the list's own test,
  :func:`churnml.scoring.rules.unanswered_run_needed`; ``complaints`` at ``rules.complaints``,
  ``rules.complaints_days`` and ``rules.complaints_per_order``, :func:`complaints_rule`).
- :class:`LogisticBaseline`: L2-regularised logistic regression on the same features (median impute +
  missing indicators + standardise).
- :func:`oracle_scores`: on generated data, the true probability of churn within the horizon from the
  truth folder's hazard (the ceiling).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from churnml.config import RulesConfig
from churnml.contract.schemas import CLIENT_ID, SNAPSHOT
from churnml.features.registry import nearest_window_column

__all__ = [
    "RULES",
    "LogisticBaseline",
    "Rule",
    "baseline_rules",
    "complaints_rule",
    "finite_values",
    "oracle_scores",
    "recency_rules",
    "rule_flags",
    "rule_risk_score",
    "unanswered_run",
    "unanswered_runs_needed",
]


@dataclass(frozen=True)
class Rule:
    """One seed rule: fires when ``test(value)`` holds for a column whose name matches ``pattern``.

    ``combine="any"``: fires when any matching column passes; ``"all"``: when every matching column
    does (missing counts as passing: "no order ever" is "no order for 90 days"). ``given``: a function of the
    whole feature table giving the threshold of each row (``test(values, threshold)``; a row without one does not
    fire), for a rule whose threshold is the client's own (:func:`unanswered_run`); None: ``test(values)``.
    """

    name: str
    family: str
    pattern: str
    test: Callable[..., np.ndarray]
    combine: str = "any"
    description: str = ""
    given: Callable[[pd.DataFrame], np.ndarray] | None = None
    # of the columns matching ``pattern``, the ones the rule reads (one window of several); None: every one
    pick: Callable[[list[str]], list[str]] | None = None


def _ge(x: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda v: v >= x


def _gt(x: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda v: v > x


def _le(x: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda v: v <= x


def _lt(x: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda v: v < x


def recency_rules(days: int = 90) -> tuple[Rule, ...]:
    """The two "nothing for ``days`` days" rules (``rules.no_activity_days``: an app that calls a user gone
    after 28 quiet days never reaches 90, and its rule score was constant)."""
    return (
        Rule(
            f"no_activity_{days}d",
            "usage",
            r"^usage_days_since_event$",
            _ge(days),
            "all",
            f"no product activity for {days} days (or never)",
        ),
        Rule(
            f"no_order_{days}d",
            "payments",
            r"^payments_days_since_payment$",
            _ge(days),
            "all",
            f"no order or payment for {days} days (or never)",
        ),
    )


def _reply_rate_column(columns: list[str], days: int) -> str | None:
    """The reply-rate feature (``comm_reply_rate_<w>d``) whose window is nearest ``days``, None without one."""
    return nearest_window_column(columns, "comm_reply_rate", days)


def complaints_rule(n: int = 2, days: int = 91, share: float = 0.05, per_user: float = 0.0) -> Rule:
    """``complaints`` as the weekly list tests it (:func:`churnml.scoring.rules.complaints_beyond_use`): at least
    ``n`` complaints (``rules.complaints``) in the feature window nearest ``days`` (``rules.complaints_days``,
    ``support_complaints_<w>d``), more than ``share`` (``rules.complaints_per_order``) of the client's orders
    of the same window (``payments_orders_<w>d``; unknown or absent: 0, the count alone, as the list reads a
    client without orders) and more than ``per_user`` (``rules.complaints_per_user``) per distinct active user of
    the window nearest ``days`` (``usage_active_users_<w>d``; unknown or absent: not counted)."""

    def values(features: pd.DataFrame, column: str | None) -> np.ndarray:
        """The column's values, 0 where unknown or absent (the count alone)."""
        if column is None or column not in features.columns:
            return np.zeros(len(features))
        read = pd.to_numeric(features[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return np.nan_to_num(read, nan=0.0)

    def allowance(features: pd.DataFrame) -> np.ndarray:
        """The complaints the client's orders and people account for (more fire)."""
        columns = [str(c) for c in features.columns]
        complaints = nearest_window_column(columns, "support_complaints", days)
        placed = (
            None if complaints is None else complaints.replace("support_complaints_", "payments_orders_", 1)
        )
        users = nearest_window_column(columns, "usage_active_users", days)
        return np.maximum(share * values(features, placed), per_user * values(features, users))

    def beyond(values: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        return (values >= n) & (values > allowed[:, None])

    def nearest(columns: list[str]) -> list[str]:
        column = nearest_window_column(columns, "support_complaints", days)
        return [] if column is None else [column]

    return Rule(
        "complaints",
        "support",
        r"^support_complaints_\d+d$",
        beyond,
        description=f"{n} or more complaints in the last {days} days (the feature window nearest), more than "
        f"{share:.0%} of the client's orders"
        + (f" and {per_user:g} per active user" if per_user > 0 else "")
        + " in them",
        given=allowance,
        pick=nearest,
    )


def unanswered_runs_needed(
    features: pd.DataFrame, n: int = 2, chance: float = 0.1, days: int = 91
) -> np.ndarray:
    """Per row of ``features``, the unanswered outbound touches in a row that make ``unanswered_outreach``
    fire: the weekly list's test (:func:`churnml.scoring.rules.unanswered_run_needed`, ``n``:
    ``rules.unanswered_outreach``, ``chance``: ``rules.unanswered_chance``) with the client's reply rate over
    the feature window nearest ``days`` (``rules.unanswered_days``) as its answer rate; ``n`` where the rate is
    unknown (no outreach asked, no reply-rate feature)."""
    import polars as pl

    from churnml.scoring.rules import unanswered_run_needed

    column = _reply_rate_column([str(c) for c in features.columns], days)
    rate = (
        pd.to_numeric(features[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if column is not None
        else np.full(len(features), np.nan)
    )
    needed = pl.DataFrame({"rate": rate}, schema={"rate": pl.Float64}).select(
        unanswered_run_needed(pl.col("rate").fill_nan(None), pl.lit(1.0), n, chance)
    )
    return needed.to_series().to_numpy().astype(float)


def unanswered_run(n: int = 2, chance: float = 0.1, days: int = 91) -> Rule:
    """``unanswered_outreach`` as the weekly list tests it (:func:`unanswered_runs_needed`) on the no-reply
    streak feature (known no-replies since the client last responded, mailings left out as the list leaves
    them). Unlike the list's rule the streak has no window, a client that never answered is not set apart and
    a logged intervention or a ticket since does not end it: the feature table has no raw touches."""
    return Rule(
        "unanswered_outreach",
        "communication",
        r"^comm_no_reply_streak$",
        lambda v, needed: v >= needed[:, None],
        description=f"{n} or more outbound touches in a row without a reply (more for a client that seldom "
        f"answers: a run its reply rate gives by chance under {chance:.0%} of the time)",
        given=lambda features: unanswered_runs_needed(features, n, chance, days),
    )


def baseline_rules(rules: RulesConfig | None = None) -> tuple[Rule, ...]:
    """The rule score's rules (:data:`RULES`) under the list's settings ``rules`` (``cfg.rules``; None: the
    defaults): the recency rules at ``rules.no_activity_days``, ``unanswered_outreach`` at
    ``rules.unanswered_outreach`` and ``rules.unanswered_chance`` (:func:`unanswered_run`), ``complaints`` at
    ``rules.complaints``, ``rules.complaints_days``, ``rules.complaints_per_order`` and ``rules.complaints_per_user``
    (:func:`complaints_rule`)."""
    cfg = rules or RulesConfig()
    unanswered = unanswered_run(cfg.unanswered_outreach, cfg.unanswered_chance, cfg.unanswered_days)
    complaints = complaints_rule(
        cfg.complaints, cfg.complaints_days, cfg.complaints_per_order, cfg.complaints_per_user
    )
    return (*recency_rules(cfg.no_activity_days), unanswered, *_OTHER_RULES, complaints, *_LAST_RULES)


# Column names follow churnml.features.registry (``<family>_<signal>[_<window>d]``).
_OTHER_RULES: tuple[Rule, ...] = (
    Rule(
        "low_ratings",
        "support",
        r"^support_csat_low_last2$",
        _ge(2),
        description="the last two CSAT ratings are low",
    ),
    Rule(
        "payment_late",
        "payments",
        r"^payments_late_28d$|^payments_overdue_open$",
        _gt(0),
        description="an invoice paid late in the last 28 days, or one overdue now",
    ),
    Rule(
        "failed_payment",
        "payments",
        r"^payments_failed_28d$",
        _gt(0),
        description="a failed payment in the last 28 days",
    ),
    Rule(
        "downgrade",
        "payments",
        r"^payments_(mrr|seats|addons)_change_91d$",
        _lt(0),
        description="MRR, seats or add-ons fell over 91 days",
    ),
    Rule(
        "data_export",
        "usage",
        r"^usage_exports_28d$",
        _gt(0),
        description="a data export in the last 28 days",
    ),
    Rule(
        "meetings_disrupted",
        "communication",
        r"^comm_meetings_disrupted_91d$",
        _ge(2),
        description="two or more meetings rescheduled, cancelled or missed in 91 days",
    ),
)
# after complaints_rule (the order of the rule score's columns)
_LAST_RULES: tuple[Rule, ...] = (
    Rule(
        "cancellation_request",
        "support",
        r"^support_cancellation_requests_91d$",
        _gt(0),
        description="a cancellation request in the last 91 days",
    ),
    Rule(
        "account_signal",
        "account",
        r"^account_(champion_left|vendor_review|competitor_trial|budget_cut|layoffs)_91d$",
        _gt(0),
        description="champion left, vendor review, competitor trial, budget cut or layoffs in 91 days",
    ),
)
RULES: tuple[Rule, ...] = baseline_rules()


def _matching(columns: list[str], rule: Rule) -> list[str]:
    rx = re.compile(rule.pattern)
    return [c for c in columns if rx.search(c)]


def rule_flags(features: pd.DataFrame, rules: tuple[Rule, ...] = RULES) -> pd.DataFrame:
    """One 0/1 column per rule whose columns exist in ``features`` (same rows, same index)."""
    columns = [str(c) for c in features.columns]
    out = {}
    for rule in rules:
        cols = _matching(columns, rule)
        if rule.pick is not None:
            cols = rule.pick(cols)
        if not cols:
            continue
        values = features[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            passed = rule.test(values) if rule.given is None else rule.test(values, rule.given(features))
        if rule.combine == "all":
            fired = np.where(np.isnan(values), True, passed).all(axis=1)
        else:
            fired = np.where(np.isnan(values), False, passed).any(axis=1)
        out[rule.name] = fired.astype(int)
    return pd.DataFrame(out, index=features.index)


def rule_risk_score(features: pd.DataFrame, rules: tuple[Rule, ...] = RULES) -> tuple[np.ndarray, list[str]]:
    """(number of rules firing per row, names of the rules that could be evaluated)."""
    flags = rule_flags(features, rules)
    if flags.shape[1] == 0:
        return np.zeros(len(features)), []
    return flags.sum(axis=1).to_numpy(dtype=float), list(flags.columns)


class LogisticBaseline(ClassifierMixin, BaseEstimator):
    """L2 logistic regression on the feature table: median impute (+ missing flags), standardise.

    Fitted attributes: ``pipeline_``, ``feature_names_``.
    """

    def __init__(self, C: float = 0.1, max_iter: int = 2000) -> None:
        self.C = C
        self.max_iter = max_iter

    def fit(self, X: pd.DataFrame, y: Any) -> LogisticBaseline:
        self.feature_names_ = [str(c) for c in X.columns]
        self.pipeline_ = make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=self.C, max_iter=self.max_iter),
        )
        self.pipeline_.fit(finite_values(X[self.feature_names_]), np.asarray(y, dtype=int))
        self.classes_ = np.array([0, 1])
        return self

    def churn_probability(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.predict_proba(finite_values(X[self.feature_names_]))[:, 1]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.churn_probability(X)
        return np.column_stack([1 - p, p])


def finite_values(X: pd.DataFrame) -> np.ndarray:
    """``X`` as floats with infinite values (a rate over a zero baseline) made missing: the linear
    model's input, and the values the leak check ranks (:func:`churnml.modeling.experiment.lone_feature_pr_auc`)."""
    arr = X.to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isfinite(arr), arr, np.nan)


def oracle_scores(hazard: Any, rows: Any, horizon_days: int, now: bool = False) -> np.ndarray:
    """True P(churn within the horizon) per row of ``rows`` (client_id, snapshot), from the truth hazard.

    Uses ``churnml.demo.synth.oracle_probability`` (``now``: ``nowcast_probability``, the client's latent
    decline frozen at the snapshot); the result is aligned to the order of ``rows``.
    """
    import polars as pl

    from churnml.demo.synth import nowcast_probability, oracle_probability

    probability = nowcast_probability if now else oracle_probability

    spine = rows if isinstance(rows, pl.DataFrame) else pl.from_pandas(pd.DataFrame(rows))
    spine = spine.select(CLIENT_ID, pl.col(SNAPSHOT).cast(pl.Date)).with_row_index("_row")
    result = probability(hazard, spine.drop("_row"), horizon_days)
    joined = spine.join(
        result.with_columns(pl.col(SNAPSHOT).cast(pl.Date)), on=[CLIENT_ID, SNAPSHOT], how="left"
    ).sort("_row")
    values = joined.get_column("oracle").to_numpy().astype(float)
    if values.shape[0] != spine.height:
        raise ValueError(f"oracle gave {values.shape[0]} probabilities for {spine.height} rows")
    return values
