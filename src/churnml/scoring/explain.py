"""Why a client is at risk: exact TreeSHAP contributions turned into plain-language drivers.

Input grain: one row per client at one snapshot, with the model's contributions from LightGBM
``pred_contrib`` (raw log-odds; shape ``(n, n_features + 1)``, the last column is the base value, each
row sums to the raw score) and the client's feature values in the same column order.

- **Health** (:func:`health_score`): ``health = 100 x (1 - p)`` with ``p`` the calibrated churn
  probability over the horizon. It is monotone (higher probability, lower health), reads as "points
  of health", and a drop of 20 points means the probability rose by 0.20.
- **Health per family** (:func:`family_health`): the points of health a client has lost
  (``100 - health``) are split over the families (usage, payments, communication, support, account)
  by each family's share of the client's *positive* (risk-raising) contributions; a family's health
  is ``100 - its lost points``. The lost points of all families add up to the client's lost points; a
  family that raises no risk stays at 100.
- **Drivers** (:func:`top_drivers`): contributions are first summed per signal *group* from the
  feature registry (all login features form one group), so correlated features of one signal do not
  crowd out the others. The groups that raise the risk come first, largest first, and when fewer
  than ``k`` raise it the strongest risk-lowering groups fill the remaining places; for a client in the
  green zone (``safe``) below the model's average risk (its contributions sum under 0) the
  risk-lowering groups come first: what keeps it safe. Each driver names the
  group's leading feature (its largest contribution in the group's direction), its family, its
  direction (``raises risk`` / ``lowers risk``), the registry sentence filled with the client's own
  value, and the group's summed contribution in log-odds.
- **Why it changed** (:func:`change_reasons`): the same grouping applied to the difference of the
  contributions between two snapshots of a client; the groups that moved the raw score in the
  direction of the total change, largest first, each said as before -> after
  ("logins in the last 28 days: 12 -> 3").
- **Reasons people trust** (:func:`citable_mask`): a feature is cited as raising the risk only when its
  value is bad news for the client: below the reference for a "less is riskier" feature, above it for
  a "more is riskier" one. The reference is the neutral point of a trend (ratio 1, change 0), or the
  portfolio's median trend this week when that is bad news itself (a season: :func:`portfolio_trend`), or the
  portfolio's median this week; a sentiment that is not negative and a reply rate at or above 80% are
  never bad news (:data:`GOOD_NEWS_FLOORS`), nor a gap since the last payment no longer than the client's
  usual gap (:data:`GOOD_NEWS_CEILINGS`), nor the days since its last event or login no longer than its usual
  gap between them (:data:`USUAL_GAP_RATES`, :func:`usual_gap_days`: a monthly meter reading 21 days ago). A windowed count of a client younger than its window (its
  count over its age) is held against the reference at its rate over the window: 10 logins in its first
  15 days are 121 in 182, no bad news against a typical 39. Symmetrically, bad news is never cited as
  lowering the risk.
  Missing values ("no data"), an ambiguous feature (direction 0) at the portfolio's typical level or at
  0, and drivers the caller marks as carrying no information for the client (the term end of a
  monthly plan) are not cited at all. A count of what a client did for the business (its orders on record:
  :data:`NEVER_A_RISK`; its orders in a window above the portfolio's typical count,
  :data:`NEVER_A_RISK_ABOVE_TYPICAL`; the days since its last order under the portfolio's typical ones,
  :data:`NEVER_A_RISK_BELOW_TYPICAL`) is never cited as raising the risk, though the model may weigh it so (a frequent
  buyer gone quiet is likelier gone: the gap against its usual gap says that). Sentences name the
  signal's kind ("1 account warning signal in the last 91 days: 'vendor review'"), compare a trend with the client's own past
  ("Logins 3.0 a week, down from 7.9 a week in the 91 days before") and never report a window longer
  than the client's age. A level measured against the portfolio (not a trend against the client's own
  past) says the level it is measured against: "9 product events in the last 7 days (typical client: 31)",
  "Current MRR is EUR 311 (typical client: EUR 1,450)" (:func:`typical_said`), so a CSM sees why it counts; not
  the days since something most clients may never have done, nor a term's end. A young client's level said over
  its age is measured against the clients of its age (:func:`age_band_levels`): "EUR 183 paid in its first 89 days
  (typical client of its age: EUR 346)".
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import polars as pl

from churnml.config import FeaturesConfig
from churnml.features.account import SIGNALS_GROUP
from churnml.features.build import PAYMENTS_LOG
from churnml.features.payments import from_payments_log
from churnml.features.registry import (
    FAMILIES,
    distinct_count,
    feature_window,
    renamed_login,
    renamed_value,
    summed_window_days,
    usual_level,
)
from churnml.features.usage import SEATS
from churnml.scoring.outputs import Scores

__all__ = [
    "AGE_BANDS",
    "AGE_BAND_MIN_CLIENTS",
    "FAMILIES",
    "GOOD_NEWS_CEILINGS",
    "GOOD_NEWS_FLOORS",
    "NEVER_A_RISK",
    "NEVER_A_RISK_ABOVE_TYPICAL",
    "NEVER_A_RISK_BELOW_TYPICAL",
    "SEAT_USE",
    "USUAL_GAP_RATES",
    "Describe",
    "Describer",
    "GroupedContributions",
    "age_band_levels",
    "age_bands",
    "change_reasons",
    "citable_mask",
    "family_health",
    "grouped_contributions",
    "health_score",
    "points_text",
    "portfolio_trend",
    "reference_levels",
    "registry_catalog",
    "top_drivers",
    "typical_said",
    "typical_unsaid",
    "usual_gap_days",
    "z_level_said",
]

# the signal families are the registry's (a new family is added there, once)
RAISES = "raises risk"
LOWERS = "lowers risk"
DRIVER_PARTS = ("feature", "family", "direction", "sentence", "contribution")

Describe = Callable[..., str]

# "Less is riskier" features whose value at or above the floor is good news whatever the portfolio does.
GOOD_NEWS_FLOORS: Mapping[str, float] = {"comm_sentiment": 0.0, "comm_reply_rate": 0.8}
# "More is riskier" features whose value at or below the ceiling is good news whatever the portfolio does: a gap
# since the last payment shorter than the client's usual gap is its rhythm (a monthly invoice half-way through its
# month read "0.8 times this client's typical gap" as a red client's top reason)
GOOD_NEWS_CEILINGS: Mapping[str, float] = {"payments_gap_ratio": 1.0}
# "Days since" usage features whose value no longer than the client's own usual gap between those events is its
# rhythm, not bad news: the usual gap is 7 / its events per week over the longest window the model has (the
# registry pattern's feature). Monthly meter readings read "Last product activity 21 days ago" as a risk (92
# citations on a simulated energy supplier's list) where the portfolio's median was 15 days
USUAL_GAP_RATES: Mapping[str, str] = {
    "usage_days_since_event": "usage_events_per_week_{w}d",
    "usage_days_since_login": "usage_logins_per_week_{w}d",
}
# ambiguous features (direction 0) that read as good news whatever the model does with them: "25 payments or
# orders on record" was a red client's top reason
NEVER_A_RISK = ("payments_orders_total",)
# ambiguous windowed counts of what a client did for the business, cited as raising the risk only when the count
# (as said, not at a young client's rate) is at or below the portfolio's typical one: "1 order in the last 182 days
# (typical client: 2)" says why, "2 payments or orders in the last 28 days (typical client: 1)" read as a risk on
# a shop's list (3 of 454 citations, Online Retail II)
NEVER_A_RISK_ABOVE_TYPICAL = re.compile(r"^payments_orders_\d+d$")
# ambiguous "days since" features of what a client did for the business, cited as raising the risk only when the
# days are more than the portfolio's typical ones: an order more recent than most is no reason to leave, whatever
# the model makes of it with the client's other columns (a dental chain's yearly-recall and new patients red for
# "Last payment or order 6 days ago", the top reason of 14 of its 166 red patients, 21 citations as a risk)
NEVER_A_RISK_BELOW_TYPICAL = ("payments_days_since_payment",)
# "days since the first record" features: at the data's first days they say when the data begins
_SINCE_FIRST_RECORD = ("payments_days_since_first_payment",)
_DATA_START_DAYS = 7
# The neutral point of a trend: at it nothing changed.
_NEUTRAL = {"ratio": 1.0, "change": 0.0, "diff": 0.0, "slope": 0.0, "z": 0.0}
_WINDOW = re.compile(r"_(\d+)d$")
# a trend's two windows in its sentence: "(last 28 days vs the 91 days before)"
_TREND_WINDOWS = re.compile(r"\blast (\d+) days vs the (\d+) days before")
TENURE = "account_tenure_days"
_T = TypeVar("_T")


def _per_name(method: Callable[[Describer, str], _T]) -> Callable[[Describer, str], _T]:
    """A :class:`Describer` method of the feature name alone, computed once per name and describer (its settings
    are fixed when it is made): the list's sentences ask it for each of their ~100,000 drivers."""

    @functools.wraps(method)
    def once(self: Describer, name: str) -> _T:
        key = (method.__name__, name)
        memo = self._per_name
        if key not in memo:
            memo[key] = method(self, name)
        return memo[key]  # type: ignore[no-any-return]

    return once


class Describer:
    """The registry sentence of ``(feature, value)``, with the currency and, when the feature's window is
    longer than the client's age (``age`` in days), said over its age. Sentences are cached: counts and
    days repeat across a portfolio.

    ``data_days``: the days of data before the described snapshot. With ``features.unobserved_windows:
    scaled`` a windowed sum longer than that is the count over those days scaled to the window
    (:func:`churnml.features.build.resolved_unobserved_windows`); its sentence says the count itself,
    over the days of data ("2 orders in the 120 days of data"), or over the client's age when it is
    younger than the data (its whole life's count). ``family_days``: the days before the snapshot of a
    family's log that began late (``{"usage": 70}``: the usage log of a CRM whose invoices go back years),
    which its features are resolved from (:meth:`days_of`). A trend whose windows reach back further than
    the days of data (or the client's age) says the baseline it had: "(last 28 days vs the 35 days of data
    before)", "Logins 2.0 a week, down from 10.0 a week in the 35 days of data before"."""

    def __init__(
        self,
        cfg: FeaturesConfig,
        currency: str = "",
        data_days: int | None = None,
        family_days: Mapping[str, int] | None = None,
    ) -> None:
        from churnml.features import registry

        self.cfg = cfg
        self.currency = currency
        self.data_days = data_days
        self.family_days: Mapping[str, int] = dict(family_days or {})
        self._specs = registry.feature_specs(cfg)
        self._per_name: dict[tuple[str, str], Any] = {}  # what _per_name methods found, per (method, name)
        # With the default settings the registry's fast path (no per-call spec rebuild) gives the same text.
        fill_cfg = None if cfg == FeaturesConfig() else cfg

        @functools.lru_cache(maxsize=1 << 17)
        def cached(name: str, value: float, age: int | None, data: int | None = None) -> str:
            return registry.sentence(name, value, fill_cfg, currency=currency, age_days=age, data_days=data)

        self._cached = cached

    @_per_name
    def days_of(self, name: str) -> int | None:
        """The days of data before the described snapshot that feature ``name`` is resolved from: its
        family's (``family_days``: a log that began late; a payment column's, the payments log's, under
        :data:`~churnml.features.build.PAYMENTS_LOG`), else ``data_days``."""
        if PAYMENTS_LOG in self.family_days and from_payments_log(name):
            return self.family_days[PAYMENTS_LOG]
        family = _spec_attr(self._specs, name, "family", None)
        return self.family_days.get(family, self.data_days) if family is not None else self.data_days

    @_per_name
    def scaled_window(self, name: str) -> int | None:
        """The window (days) of ``name`` when its value at the described snapshot is scaled up from fewer
        days of data (``features.unobserved_windows: scaled``), else None."""
        data = self.days_of(name)
        if self.cfg.unobserved_windows != "scaled" or data is None:
            return None
        days = summed_window_days(name, self._specs)
        if days is None or distinct_count(name, self._specs):  # distinct users or kinds: never scaled
            return None
        return days if days > data else None

    @_per_name
    def _over_the_data(self, name: str) -> bool:
        """A count of distinct users or event kinds whose window is longer than the data: its value is the
        count over the days of data (not scaled), and said so."""
        window = _WINDOW.search(name)
        data = self.days_of(name)
        return (
            data is not None
            and window is not None
            and int(window.group(1)) > data
            and distinct_count(name, self._specs)
        )

    @_per_name
    def compared_days(self, name: str) -> int | None:
        """The days a trend of the client against its own past reaches back over (its recent window and
        the baseline before it: "(last 28 days vs the 91 days before)", a z-score's weeks), else None."""
        if name.endswith("_z") and _spec_attr(self._specs, name, "kind", None) == "z":
            return 7 * (self.cfg.zscore_recent_weeks + self.cfg.zscore_baseline_weeks)
        m = _TREND_WINDOWS.search(str(_spec_attr(self._specs, name, "template", "")))
        return None if m is None else int(m.group(1)) + int(m.group(2))

    def __call__(self, name: str, value: float, age: float | None = None) -> str:
        data = self.days_of(name)
        first_days = data is not None and value == value and value >= data - _DATA_START_DAYS
        if name in _SINCE_FIRST_RECORD and first_days:  # its first record lies in the data's first days
            return f"{self._cached(name, value, None)}, when the data begins (it may have bought before)"
        # a client younger than the data: a count over the data is its whole life's, said over its age
        own_age = int(age) if age is not None and age == age and data is not None and age < data else None
        scaled = self.scaled_window(name)
        if scaled is not None and value == value and data is not None:
            own = value * data / scaled  # the count over the days of data
            return (
                self._cached(name, own, own_age)
                if own_age is not None
                else self._cached(name, own, None, data)
            )
        if value == value and self._over_the_data(name):
            if own_age is not None:
                return self._cached(name, value, own_age)
            return self._cached(name, value, None, data)
        compared = self.compared_days(name)
        if (
            compared is not None
            and value == value
            and data is not None
            and data < compared
            and own_age is None
        ):
            # a trend whose baseline reaches back before the data: said over the days of data it had
            return self._cached(name, value, None, data)
        too_long = self.over_its_age(name, age)
        # NaN is mapped to one object so that every missing value finds the same cache entry.
        return self._cached(name, math.nan if value != value else value, int(age) if too_long else None)

    @_per_name
    def _window_days(self, name: str) -> int | None:
        """The window of ``name`` in days from its name (``usage_logins_28d``: 28), None without one."""
        window = _WINDOW.search(name)
        return None if window is None else int(window.group(1))

    @_per_name
    def age_said_below(self, name: str) -> float:
        """The age (days) below which the sentence of ``name`` may depend on the client's age (:meth:`__call__`,
        and :func:`typical_said` after it): its window, a trend's compared days, onboarding's ``young_days``
        (:meth:`over_its_age`), and its days of data where a value is said over them (a scaled window, a count
        over the data). At or above it, and for an unknown age, every client with the same value reads the same
        sentence (:func:`_driver_sentences` says each once). 0: no age changes it."""
        limits = [self._window_days(name) or 0, self.compared_days(name) or 0]
        if name == "usage_onboarding_progress":
            limits.append(self.cfg.young_days)
        data = self.days_of(name)
        if data is not None and (self.scaled_window(name) is not None or self._over_the_data(name)):
            limits.append(data)
        return float(max(limits))

    def over_its_age(self, name: str, age: float | None) -> bool:
        """Whether ``name`` is said over the client's age rather than its own span: a window longer than the
        client's life, onboarding before ``young_days``, a z-score younger than its weeks."""
        if age is None or age != age:
            return False
        window = self._window_days(name)
        if window is not None and window > age:
            return True
        # onboarding is over the client's first young_days: a younger client is seen over its age so far
        if name == "usage_onboarding_progress" and age < self.cfg.young_days:
            return True
        # a trend compares the last weeks with the weeks before them: a younger client had fewer of those
        compared = self.compared_days(name)
        return compared is not None and age < compared


def registry_catalog(
    cfg: FeaturesConfig,
    currency: str = "",
    data_days: int | None = None,
    family_days: Mapping[str, int] | None = None,
) -> tuple[Mapping[str, Any], Describer]:
    """The feature registry's specs and sentence function (``churnml.features.registry``) for ``cfg``
    (``data_days``, ``family_days``: :class:`Describer`)."""
    from churnml.features import registry

    return registry.feature_specs(cfg), Describer(cfg, currency, data_days, family_days)


def reference_levels(
    values: np.ndarray, feature_names: Sequence[str], specs: Mapping[str, Any]
) -> np.ndarray:
    """Per feature, the level that separates good news from bad: the median over the rows (this week's
    portfolio), and for a trend its neutral point (ratio 1, change 0), or that median where it lies on the
    trend's bad side (:func:`portfolio_trend`); NaN when every value is missing."""
    X = np.asarray(values, dtype=float)
    out = np.full(len(feature_names), np.nan)
    for j, name in enumerate(feature_names):
        kind = _spec_attr(specs, name, "kind", None)
        median = float(np.nanmedian(X[:, j])) if len(X) and np.isfinite(X[:, j]).any() else np.nan
        if kind in _NEUTRAL:
            direction = _spec_attr(specs, name, "direction", 0)
            out[j] = portfolio_trend(median, _NEUTRAL[kind], direction)
        else:
            out[j] = median
    return out


def portfolio_trend(median: float, neutral: float, direction: int) -> float:
    """The level a trend's bad news is read against: its ``neutral`` point, or the portfolio's ``median`` this week
    where that is already bad news (below neutral for a "less is riskier" trend, ``direction`` -1, above it for a
    "more is riskier" one). A season that moves every client (a language app's August: the median learner's
    events at x0.52 of its usual) is no learner's reason: a learner at x0.6 is no worse than the portfolio, and
    one at x0.2 is said against it ("... (typical client: -48% vs usual)", :func:`typical_said`). A portfolio
    trending up keeps the neutral point: a client up less than the others is not down."""
    if median == median and ((direction < 0 and median < neutral) or (direction > 0 and median > neutral)):
        return median
    return neutral


# the age bands of "the typical client of its age" (upper edges, days of tenure): a client younger than a feature's
# window is said over its age ("EUR 183 paid in its first 89 days"), which the portfolio's median, over the whole
# window, does not compare with; the median of the clients of its band does (:func:`age_band_levels`)
AGE_BANDS: tuple[int, ...] = (14, 30, 61, 91, 122, 152, 182, 273, 365)
# a band's median is said only when at least this many clients of the band have a value
AGE_BAND_MIN_CLIENTS = 10


def age_bands(ages: np.ndarray) -> np.ndarray:
    """Each age's band (index into :data:`AGE_BANDS`' bands, the last one open-ended); -1 for a missing age."""
    a = np.asarray(ages, dtype=float)
    bands = np.searchsorted(np.asarray(AGE_BANDS, dtype=float), np.nan_to_num(a, nan=0.0), side="right")
    return np.where(np.isfinite(a), bands, -1)


def age_band_levels(values: np.ndarray, feature_names: Sequence[str]) -> np.ndarray | None:
    """``(bands, features)``: per age band (:func:`age_bands` of the tenure feature), the median of each
    feature over the rows of that band with a value (this week's portfolio), NaN with fewer than
    :data:`AGE_BAND_MIN_CLIENTS` of them; None without the tenure feature. What a young client's level is said
    against: "EUR 183 paid in its first 89 days (typical client of its age: EUR 410)"."""
    names = list(feature_names)
    if TENURE not in names:
        return None
    X = np.asarray(values, dtype=float)
    bands = age_bands(X[:, names.index(TENURE)]) if len(X) else np.zeros(0, dtype=np.int64)
    out = np.full((len(AGE_BANDS) + 1, len(names)), np.nan)
    for band in range(len(AGE_BANDS) + 1):
        rows = X[bands == band]
        if len(rows) < AGE_BAND_MIN_CLIENTS:
            continue
        with warnings.catch_warnings():  # a column without a value in the band: NaN, set aside below
            warnings.simplefilter("ignore", RuntimeWarning)
            medians = np.nanmedian(rows, axis=0)
        out[band] = np.where(np.isfinite(rows).sum(axis=0) >= AGE_BAND_MIN_CLIENTS, medians, np.nan)
    return out


def _floor(name: str) -> float | None:
    for prefix, floor in GOOD_NEWS_FLOORS.items():
        if name.startswith(prefix):
            return floor
    return None


# the kinds whose sentence says "did not change" at this value (features.registry._pct_and_verb)
_CHANGE_KINDS = {"ratio": 1.0, "change": 0.0, "diff": 0.0, "slope": 0.0}


def citable_mask(
    contributions: np.ndarray,
    values: np.ndarray,
    feature_names: Sequence[str],
    specs: Mapping[str, Any],
    reference: np.ndarray,
    uninformative: Mapping[str, np.ndarray] | None = None,
    days_of: Callable[[str], int | None] | None = None,
) -> np.ndarray:
    """``(n, n_features)`` booleans: may this feature be cited for this row in the direction of its
    contribution? (rules: module docstring). ``uninformative`` maps a feature to the rows where it says
    nothing about the client. A windowed count or amount of a client younger than its window is its count
    over its age: it is held against the reference at the same rate over the window (10 logins in its first
    15 days are 121 in 182, no bad news against a portfolio's 39); ``days_of`` (:meth:`Describer.days_of`):
    the days of data a feature is resolved from, where a window longer than them holds a count already
    scaled to the window over those days (``features.unobserved_windows: scaled``)."""
    X = np.asarray(values, dtype=float)
    raises = np.asarray(contributions, dtype=float)[:, : len(feature_names)] > 0
    ok = np.ones(X.shape, dtype=bool)
    ages = _ages(X, feature_names)
    for j, name in enumerate(feature_names):
        direction = _spec_attr(specs, name, "direction", 0)
        v, ref = _at_the_windows_rate(X[:, j], name, specs, ages, days_of), reference[j]
        kind = _spec_attr(specs, name, "kind", None)
        if kind == "z":
            v = np.round(v, 1)  # as said ("+0.0 standard deviations" is no news either way)
        with np.errstate(invalid="ignore"):
            if direction == -1:
                bad = v < ref if ref == ref else np.zeros(len(v), dtype=bool)
                floor = _floor(name)
                if floor is not None:
                    bad &= np.round(v, 2) < floor  # as shown: "+0.00" is not bad news
            elif direction == 1:
                bad = v > ref if ref == ref else np.zeros(len(v), dtype=bool)
                ceiling = GOOD_NEWS_CEILINGS.get(name)
                if ceiling is not None:
                    bad &= np.round(v, 1) > ceiling  # as said: "1.0 times its typical gap" is not bad news
                usual = usual_gap_days(X, feature_names, name)
                if usual is not None:  # as said, in whole days: "21 days ago" of a reading every 30 days
                    bad &= ~(np.round(v) <= usual)
            else:
                bad = None
        if bad is not None:
            good = ~bad if kind != "z" else ~bad & (v != ref)  # a z of +0.0 is no news either way
            if kind in _NEUTRAL and ref != _NEUTRAL[kind]:
                # read against the portfolio's own fall (a season: portfolio_trend), a fall is still never good
                # news: "Product events fell 40% ..." keeps no client safe, however much further the others fell
                neutral = _NEUTRAL[kind]
                with np.errstate(invalid="ignore"):
                    good = (v > neutral) if direction == -1 else (v < neutral)
            if kind in _CHANGE_KINDS:  # "... did not change" (under half a point) is no news either way
                moved = np.round(np.abs(v - _CHANGE_KINDS[kind]) * 100) != 0
                good, bad = good & moved, bad & moved
            ok[:, j] = np.where(raises[:, j], bad, good)
        else:
            # an ambiguous feature says nothing at the portfolio's typical level, nor when it is 0
            # ("0 chat touches" is the absence of something neither good nor bad)
            ok[:, j] = (v != ref) & (v != 0) if ref == ref else v != 0

        ok[:, j] &= ~np.isnan(v)
        if name in NEVER_A_RISK:
            ok[:, j] &= ~raises[:, j]
        if NEVER_A_RISK_ABOVE_TYPICAL.match(name) and ref == ref:
            # the count as said, not at a young client's rate: "1 order in its first 37 days" still says why
            with np.errstate(invalid="ignore"):
                ok[:, j] &= ~(raises[:, j] & (X[:, j] > ref))
        if name in NEVER_A_RISK_BELOW_TYPICAL and ref == ref:
            with np.errstate(invalid="ignore"):
                ok[:, j] &= ~(raises[:, j] & (X[:, j] < ref))
        if uninformative and name in uninformative:
            ok[:, j] &= ~np.asarray(uninformative[name], dtype=bool)
    return ok


def usual_gap_days(values: np.ndarray, feature_names: Sequence[str], name: str) -> np.ndarray | None:
    """Per row, the client's usual gap in days between the events a "days since" feature ``name`` reads
    (:data:`USUAL_GAP_RATES`): 7 / its events per week over the longest window among ``feature_names`` (each
    column's window as the registry reads it, :func:`churnml.features.registry.feature_window`), NaN where it had
    none (no rhythm to be on); None when ``name`` has no such rate or the model none of its windows. Grain: the
    rows of ``values`` (one per client), columns ``feature_names``."""
    pattern = USUAL_GAP_RATES.get(name)
    if pattern is None:
        return None
    windows = {
        windowed[1]: j
        for j, f in enumerate(feature_names)
        if (windowed := feature_window(f)) is not None and windowed[0] == pattern
    }
    if not windows:
        return None
    rate = np.asarray(values, dtype=float)[:, windows[max(windows)]]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rate > 0, 7.0 / rate, np.nan)


def _at_the_windows_rate(
    v: np.ndarray,
    name: str,
    specs: Mapping[str, Any],
    ages: np.ndarray,
    days_of: Callable[[str], int | None] | None,
) -> np.ndarray:
    """``v`` (one windowed sum per row) where a client is younger than its window (and than the days of
    data it is resolved from) as the same rate over the whole window: ``v x min(window, days) / age``; other
    features and rows unchanged. Distinct users and kinds do not add up over days: unchanged."""
    window = summed_window_days(name, specs)
    if window is None or distinct_count(name, specs):
        return v
    days = None if days_of is None else days_of(name)
    span = window if days is None else min(window, days)
    with np.errstate(invalid="ignore"):
        young = np.isfinite(ages) & (ages >= 1) & (ages < span)
    return np.where(young, v * span / np.where(young, ages, 1.0), v)


def _masked(contributions: np.ndarray, citable: np.ndarray | None) -> np.ndarray:
    """Contributions with the uncitable ones set to 0 (the base column is kept)."""
    contrib = np.asarray(contributions, dtype=float)
    if citable is None:
        return contrib
    out = contrib.copy()
    n_features = citable.shape[1]
    out[:, :n_features] = np.where(citable, contrib[:, :n_features], 0.0)
    return out


def health_score(probability: np.ndarray) -> np.ndarray:
    """``100 x (1 - p)``, rounded to 0.1 point (module docstring)."""
    p = np.clip(np.asarray(probability, dtype=float), 0.0, 1.0)
    return np.round(100.0 * (1.0 - p), 1)


def _spec_attr(specs: Mapping[str, Any], name: str, attr: str, default: Any) -> Any:
    spec = specs.get(name)
    return getattr(spec, attr, default) if spec is not None else default


@dataclass(frozen=True)
class GroupedContributions:
    """Contributions summed per signal group: ``sums[:, j]`` is group ``groups[j]``'s total for each row;
    ``members[j]`` are the column indices of its features."""

    groups: tuple[str, ...]
    sums: np.ndarray
    members: tuple[np.ndarray, ...]


def grouped_contributions(
    contributions: np.ndarray, feature_names: Sequence[str], specs: Mapping[str, Any]
) -> GroupedContributions:
    """Sum the per-feature contributions (base column excluded when present) per registry group.

    A feature missing from the registry forms a group of its own.
    """
    n_features = len(feature_names)
    values = np.asarray(contributions, dtype=float)[:, :n_features]
    by_group: dict[str, list[int]] = {}
    for i, name in enumerate(feature_names):
        by_group.setdefault(str(_spec_attr(specs, name, "group", None) or name), []).append(i)
    groups = tuple(by_group)
    members = tuple(np.asarray(by_group[g], dtype=np.int64) for g in groups)
    sums = (
        np.column_stack([values[:, idx].sum(axis=1) for idx in members])
        if groups
        else np.zeros((len(values), 0))
    )
    return GroupedContributions(groups, sums, members)


def family_health(
    contributions: np.ndarray,
    feature_names: Sequence[str],
    specs: Mapping[str, Any],
    health: np.ndarray,
) -> dict[str, np.ndarray]:
    """``{family: 0-100 health}`` per row: lost points split by each family's share of positive contributions.
    A family of which the model has no feature (its table absent: an app's payments) is NaN, not observed,
    rather than a perfect 100. See the module docstring."""
    n_features = len(feature_names)
    positive = np.clip(np.asarray(contributions, dtype=float)[:, :n_features], 0.0, None)
    total = positive.sum(axis=1)
    lost = 100.0 - np.asarray(health, dtype=float)
    out: dict[str, np.ndarray] = {}
    for family in FAMILIES:
        idx = [i for i, name in enumerate(feature_names) if _spec_attr(specs, name, "family", None) == family]
        if not idx:
            out[family] = np.full(len(total), np.nan)
            continue
        mass = positive[:, idx].sum(axis=1)
        share = np.divide(mass, total, out=np.zeros_like(mass), where=total > 0)
        out[family] = np.round(100.0 - lost * share, 1)
    return out


def _sentence(
    describe: Describe, specs: Mapping[str, Any], name: str, value: float, age: float | None = None
) -> str:
    if isinstance(value, float) and math.isinf(value):  # an absurd input (an mrr of 1e308) overflowed
        said = (specs[name].label or name) if name in specs else name
        return f"{said[:1].upper()}{said[1:]}: beyond any plausible value (check the input)"
    if name in specs:
        return describe(name, value) if age is None else describe(name, value, age)
    shown = "missing" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3g}"
    return f"{name} is {shown}"


_SIGNALS = re.compile(r"^account_signals_(\d+)d$")
# the named users per paid seat over a window (features.usage.with_seat_use): "for N paid seats"
SEAT_USE = re.compile(r"^usage_seat_use_(\d+)d$")
# A trend (recent rate / the client's usual rate) said as levels: the feature holding the recent level,
# and the number of days it is counted over (None: it is already a weekly rate).
_RATIO_LEVELS = {
    "usage_logins_ratio": ("Logins", "usage_logins_per_week_{w}d", False),
    "usage_events_ratio": ("Product events", "usage_events_per_week_{w}d", False),
    "usage_time_ratio": ("Time in the product", "usage_time_{w}d", True),
}


# A z-score of the client's weekly use against its own past (the trend's signal, :data:`_RATIO_LEVELS`): the feature
# holding the level over the z-score's recent weeks, ``{w}`` their days
_Z_LEVELS = {f"{name.removesuffix('_ratio')}_z": level for name, (_, level, _) in _RATIO_LEVELS.items()}
# the level word of a z-score whose recent weeks hold no use at all
NONE_LEVEL = "down to none"


def z_level_said(text: str, z: float, recent_level: float | None) -> str:
    """A z-score's sentence (``"Logins over the last 4 weeks were a little below usual (-0.8 standard deviations
    ..."``) with its level word said as the use itself when the recent weeks held none (``recent_level`` 0, the
    level over those weeks): "were down to none (-0.8 ...". Against a past of bursts the spread is wide, and a
    stop read "a little below usual" beside "0 events in the last 28 days against a usual 15" (22 of a streaming
    service's 285 red and yellow subscribers). Unchanged otherwise (a level unknown, a z-score not below 0)."""
    if recent_level is None or recent_level != 0 or round(z, 1) >= 0:  # NaN != 0: a level unknown
        return text
    return text.replace(f" {usual_level(z)} (", f" {NONE_LEVEL} (", 1)


def _weekly(value: float, total_over_window: bool, window: int, hours_of_seconds: bool) -> str:
    per_week = value / (window / 7) if total_over_window else value
    if hours_of_seconds:
        from churnml.features.registry import hours

        return hours(per_week)
    return f"{per_week:,.0f}" if per_week >= 100 else f"{per_week:.1f}"


def _signal_kinds(row: np.ndarray, index: Mapping[str, int], window: str) -> list[str]:
    """The kinds of account signals a row counts in one window ("'vendor review'")."""
    return [
        kind for j, kind in _kind_columns(tuple(index.items()), window) if row[j] == row[j] and row[j] > 0
    ]


@functools.lru_cache(maxsize=64)
def _kind_columns(index: tuple[tuple[str, int], ...], window: str) -> tuple[tuple[int, str], ...]:
    """The columns of ``index`` (``(feature, column)`` pairs) counting one kind of account signal in one window,
    with the kind as said ("'vendor review'"), in the order of ``index``: found once per list, not per driver."""
    pattern = re.compile(rf"^account_(?!signals_|days_since_)(.+)_{window}d$")
    return tuple(
        (j, f"'{m.group(1).replace('_', ' ')}'")
        for name, j in index
        if (m := pattern.match(name)) is not None
    )


def _reads_other_values(
    describe: Describe, specs: Mapping[str, Any], index: Mapping[str, int], name: str
) -> bool:
    """Whether :func:`_row_sentence` says feature ``name`` with the client's other values of ``index`` (the kinds
    of its account signals, the signals' total, the seat use's users and seats, a trend's or a z-score's level);
    False: its sentence is that of its own value alone (:func:`_sentence`), whatever the row. Read once per
    feature of a list (:func:`_driver_sentences`), not per driver."""
    if _SIGNALS.match(name) or _spec_attr(specs, name, "group", None) == SIGNALS_GROUP:
        return True
    m = SEAT_USE.match(name)
    if m and f"usage_active_users_{m.group(1)}d" in index and SEATS in index:
        return True
    return isinstance(describe, Describer) and (name in _Z_LEVELS or name in _RATIO_LEVELS)


def _row_sentence(
    describe: Describe,
    specs: Mapping[str, Any],
    names: Sequence[str],
    index: Mapping[str, int],
    row: np.ndarray,
    col: int,
    age: float | None,
) -> str:
    """The sentence of feature ``names[col]`` for one client, using the client's other values where they
    say more: the kinds of its account signals, a trend as levels against its own past."""
    name = str(names[col])
    value = float(row[col])
    text = _sentence(describe, specs, name, value, age)
    m = _SIGNALS.match(name)
    if m:
        kinds = _signal_kinds(row, index, m.group(1))
        return f"{text}: {', '.join(kinds)}" if kinds else text
    if _spec_attr(specs, name, "group", None) == SIGNALS_GROUP:
        # one kind's feature leads the signals' one reason: where the client has had several kinds, the
        # count of them all names each (a champion leaving is not hidden behind a vendor review)
        totals = sorted(
            (int(w.group(1)), j) for n, j in index.items() if (w := _SIGNALS.match(n)) and row[j] == row[j]
        )
        for days, j in reversed(totals):
            kinds = _signal_kinds(row, index, str(days))
            if row[j] > 0 and len(kinds) > 1:
                total = _sentence(describe, specs, str(names[j]), float(row[j]), age)
                return f"{total}: {', '.join(kinds)}"
    m = SEAT_USE.match(name)
    users = index.get(f"usage_active_users_{m.group(1)}d") if m else None
    seats = index.get(SEATS)
    if m and users is not None and seats is not None and value == value and row[seats] > 0:
        # "1 distinct user active in the last 28 days, for 365 paid seats" (the users' sentence keeps its
        # window within the client's age), not "0.00 active users per paid seat"
        paid = float(row[seats])
        said = _sentence(describe, specs, f"usage_active_users_{m.group(1)}d", float(row[users]), age)
        noun = describe.cfg.seat_noun if isinstance(describe, Describer) else "seat"
        return f"{said}, for {paid:.0f} paid {noun}{'' if round(paid) == 1 else 's'}"
    if name in _Z_LEVELS and isinstance(describe, Describer) and value == value:
        j = index.get(_Z_LEVELS[name].format(w=7 * describe.cfg.zscore_recent_weeks))
        return text if j is None else z_level_said(text, value, float(row[j]))
    if name in _RATIO_LEVELS and isinstance(describe, Describer) and value == value and value > 0:
        what, level, total = _RATIO_LEVELS[name]
        recent = describe.cfg.recent_days
        j = index.get(level.format(w=recent))
        if j is not None and row[j] == row[j] and round(value, 2) != 1.0:
            timed = name.startswith("usage_time") and not describe.cfg.value_noun
            now = _weekly(float(row[j]), total, recent, timed)
            # the ratio is smoothed, (a + 1) / (expected + 1) (features._grid.ratio_trend): the earlier
            # level over a window as long as the recent one is (a + 1) / ratio - 1, not a / ratio (which
            # read "0.0 a week, down from 0.0 a week" whenever the recent level was 0)
            a = float(row[j]) if total else float(row[j]) * recent / 7
            before = _weekly(max((a + 1) / value - 1, 0.0), True, recent, timed)
            word = "down" if value < 1 else "up"
            what = renamed_login(what, describe.cfg.login_noun)  # a shop's "Orders", an app's "Sessions"
            if describe.cfg.value_noun:  # an API platform's "API calls", not "Time in the product"
                what = renamed_value(what, describe.cfg.value_noun)
            # a client younger than the two windows had fewer days before its recent ones, and so had every
            # client where the data (its family's log) holds fewer days than them
            days = describe.cfg.baseline_days
            data = describe.days_of(name)
            own_age = int(age) if age is not None and age == age and (data is None or age < data) else None
            if own_age is not None and own_age < recent + days:
                days = max(own_age - recent, 1)
                span = f"its {days} day{'' if days == 1 else 's'} before"
            elif own_age is None and data is not None and data < recent + days:
                days = max(data - recent, 1)
                span = f"the {days} day{'' if days == 1 else 's'} of data before"
            else:
                span = f"the {days} days before"
            return f"{what} {now} a week, {word} from {before} a week in {span}"
    return text


def typical_said(
    describe: Describe,
    specs: Mapping[str, Any],
    name: str,
    value: float,
    reference: float,
    age: float | None,
    of_its_age: float | None = None,
) -> str:
    """ " (typical client: X)" after the sentence of a level cited against the portfolio (``reference``: the
    median of this week's portfolio, :func:`reference_levels`); "" where the sentence already compares (a
    trend against the client's own past, the kinds of its signals), where the level is said over fewer days
    than the window the median covers (a window longer than the data), and where the two read the same. A
    client younger than the window, its level said over its age, is compared with the clients of its age
    instead, " (typical client of its age: X)" (``of_its_age``: the median of its age band,
    :func:`age_band_levels`; "" without one)."""
    spec = specs.get(name)
    if spec is None or value != value or reference != reference:
        return ""
    if (
        spec.kind in _NEUTRAL
    ):  # a trend compares with the client's own past; said against a portfolio moving too
        return _typical_trend_said(spec, value, reference, describe)
    if typical_unsaid(describe, specs, name):
        return ""
    window = _WINDOW.search(name)
    young = (window is not None and age is not None and age == age and age < int(window.group(1))) or (
        isinstance(describe, Describer) and describe.over_its_age(name, age)
    )
    who = "typical client"
    if young:  # said over the client's age ("in its first 20 days"): against the clients of its age
        if of_its_age is None or of_its_age != of_its_age:
            return ""
        reference, who = of_its_age, "typical client of its age"
    currency = describe.currency if isinstance(describe, Describer) else ""
    said, typical = _short_value(spec, value, currency), _short_value(spec, reference, currency)
    if said == typical:
        return ""
    own = _VALUE_FORMAT.search(spec.template)
    if own and spec.kind in ("count", "mean", "score") and not spec.unit.startswith(("currency", "seconds")):
        typical = format(
            reference, own.group(1)
        )  # as the sentence says its own value ("59 words", not 108.4)
        if typical == format(value, own.group(1)):
            return ""
    # a mean's bare number needs its unit where the sentence puts it elsewhere ("Mean response time 37 hours")
    unit = spec.unit.removesuffix(" (mean)")
    if spec.kind == "mean" and (unit in _MEAN_UNITS_SAID or SEAT_USE.match(spec.name)):
        typical = f"{typical} {unit}"
    return f" ({who}: {typical})"


def typical_unsaid(describe: Describe, specs: Mapping[str, Any], name: str) -> bool:
    """Whether :func:`typical_said` says nothing after feature ``name``'s sentence, whatever the client's value, age
    and the typical levels: a feature without a spec, a signal, the days since a first record or since the last
    time, a level with no typical value (:data:`_NO_TYPICAL`), a change, a level said over the days of data, a gap
    against the client's own usual gap (unit ``ratio``: already a comparison). A trend (said against the
    portfolio's own trend) is never unsaid here. Read once per feature of a list (:func:`_driver_sentences`)."""
    spec = specs.get(name)
    if spec is None:
        return True
    if spec.kind in _NEUTRAL:
        return False
    return (
        spec.group == SIGNALS_GROUP
        or name in _SINCE_FIRST_RECORD
        or name in _NO_TYPICAL
        or "_change_" in name
        or "days_since" in name  # the median of the clients that ever did it: most may never have
        or (
            isinstance(describe, Describer)
            and bool(describe.scaled_window(name) or describe._over_the_data(name))
        )
        or spec.unit == "ratio"
    )


def _typical_trend_said(spec: Any, value: float, reference: float, describe: Describe) -> str:
    """ " (typical client: -48% vs usual)" after a trend's sentence when its ``reference`` is the portfolio's own
    trend this week, on the bad side of the neutral point (:func:`portfolio_trend`: a season), else ""."""
    if portfolio_trend(reference, _NEUTRAL[spec.kind], spec.direction) == _NEUTRAL[spec.kind]:
        return ""
    currency = describe.currency if isinstance(describe, Describer) else ""
    said, typical = _short_value(spec, value, currency), _short_value(spec, reference, currency)
    return "" if said == typical else f" (typical client: {typical})"


# the units of means said after the typical client's value ("12 hours"; the users per seat's too, "0.6 active users
# per paid seat", in its seat noun)
_MEAN_UNITS_SAID = ("hours", "words")
# levels whose typical value says nothing: the term end (a portfolio of monthly plans mid-cycle: "the last term
# ended 12 days ago (typical client: 19 days)"), a flag of the last two ratings
_NO_TYPICAL = ("payments_days_to_term_end", "support_csat_low_last2")
_VALUE_FORMAT = re.compile(r"\{value:([^}]*)\}")


def _ages(values: np.ndarray, feature_names: Sequence[str]) -> np.ndarray:
    """Each row's age in days (the tenure feature), NaN when the model has no tenure feature."""
    names = list(feature_names)
    if TENURE in names:
        return np.asarray(values, dtype=float)[:, names.index(TENURE)]
    return np.full(len(values), np.nan)


def _lead_features(
    grouped: GroupedContributions,
    contributions: np.ndarray,
    sign: np.ndarray,
    values: np.ndarray | None = None,
    wanted: np.ndarray | None = None,
) -> np.ndarray:
    """Per row and group, the column index of the feature contributing most in direction ``sign``.

    With ``values``, a member that has a value is preferred over one that is missing whenever it also
    pushes in that direction: "the last term ended 12 days ago" says more than "discount: no data".
    ``wanted`` (``(n, k)`` group indices per row: the groups a row's drivers name) finds only those; the
    other places are -1 (a row names a few of some forty groups).
    """
    contrib = np.asarray(contributions, dtype=float)
    lead = np.empty(grouped.sums.shape, dtype=np.int64) if wanted is None else np.full(grouped.sums.shape, -1)
    for j, idx in enumerate(grouped.members):
        rows = np.arange(len(contrib)) if wanted is None else np.flatnonzero((wanted == j).any(axis=1))
        if len(rows) == 0:
            continue
        at = np.ix_(rows, idx)
        oriented = contrib[at] * sign[rows, None]
        best = idx[np.argmax(oriented, axis=1)]
        if values is not None and len(idx) > 1:
            known = np.where(np.isnan(values[at]), -np.inf, oriented)
            best_known = np.argmax(known, axis=1)
            usable = np.take_along_axis(known, best_known[:, None], axis=1)[:, 0] > 0
            best = np.where(usable, idx[best_known], best)
        lead[rows, j] = best
    return lead


@dataclass(frozen=True)
class RankedDrivers:
    """Per row, the top ``k`` groups of :func:`ranked_drivers`: ``order`` (group indices, ``(n, k)``),
    ``total`` (each group's summed contribution, 0 where the row has fewer groups) and ``lead`` (the feature
    index that speaks for it)."""

    order: np.ndarray
    total: np.ndarray
    lead: np.ndarray


def ranked_drivers(
    contributions: np.ndarray,
    values: np.ndarray,
    feature_names: Sequence[str],
    specs: Mapping[str, Any],
    k: int,
    citable: np.ndarray | None = None,
    safe: np.ndarray | None = None,
) -> RankedDrivers:
    """The top ``k`` groups per row: risk-raising groups first (largest first), then the others by strength;
    for a safe client (``safe`` and below the average risk the model learned: its contributions sum under 0)
    the risk-lowering ones first: what keeps it safe, not a client size that nudges a 0.1% risk up. Each group
    is spoken for by its lead feature in the group's direction (:func:`_lead_features`)."""
    below = np.asarray(contributions, dtype=float)[:, : len(feature_names)].sum(axis=1) < 0
    safer = below & (False if safe is None else np.asarray(safe, dtype=bool))
    masked = _masked(contributions, citable)
    grouped = grouped_contributions(masked, feature_names, specs)
    sums = grouped.sums
    lead_sign = np.where(safer, -1.0, 1.0)[:, None]
    key = np.where(sums * lead_sign > 0, 1e12 + np.abs(sums), np.abs(sums))
    order = np.argsort(-key, axis=1, kind="stable")[:, :k]
    total = np.take_along_axis(sums, order, axis=1)
    n = len(sums)
    # the lead of each group a row names, in either direction (its total's sign picks one)
    lead_up = _lead_features(grouped, masked, np.ones(n), values, order)
    lead_down = _lead_features(grouped, masked, -np.ones(n), values, order)
    lead = np.where(
        total > 0, np.take_along_axis(lead_up, order, axis=1), np.take_along_axis(lead_down, order, axis=1)
    )
    return RankedDrivers(order, total, lead)


def _driver_sentences(
    rows: np.ndarray,
    cols: np.ndarray,
    values: np.ndarray,
    feature_names: Sequence[str],
    specs: Mapping[str, Any],
    describe: Describe,
    reference: np.ndarray | None,
    age_reference: np.ndarray | None,
    memo: dict[tuple[int, int, float], str] | None = None,
) -> list[str]:
    """The sentence of feature ``cols[i]`` for row ``rows[i]``: its value said (over the client's age for a
    young client), then against the typical client's level with ``reference`` (of its age with
    ``age_reference``: :func:`typical_said`). ``memo``: the sentences already said of these ``values`` under the
    same arguments, keyed by (column, the value's bits, the age where it changes the sentence, else inf), which
    the call reads and adds to (:func:`top_drivers` shares one over its drivers); None: one for this call."""
    names = np.asarray(list(feature_names), dtype=object)
    index = {str(name): j for j, name in enumerate(feature_names)}
    ages = _ages(values, feature_names)
    bands = age_bands(ages)

    def of_its_age(r: int, c: int) -> float | None:
        if age_reference is None or bands[r] < 0:
            return None
        return float(age_reference[bands[r], c])

    # what a feature's name alone decides, once per feature cited, not per driver: whether its sentence reads the
    # row's other values, whether a typical level may follow it, below which age the client's age changes it
    own: dict[int, bool] = {}
    unsaid: dict[int, bool] = {}
    young: dict[int, float] = {}
    # a sentence of the cited value alone, said once per (feature, value, age where it changes it): counts, days and
    # amounts repeat across a portfolio (the value's bits keep -0.0 apart from 0.0, which read "-0%" and "+0%")
    said = memo if memo is not None else {}
    bits = values[rows, cols].view(np.int64).tolist()
    out = []
    for r, c, b in zip(rows.tolist(), cols.tolist(), bits, strict=True):
        name = str(names[c])
        if c not in own:
            own[c] = not _reads_other_values(describe, specs, index, name)
            unsaid[c] = reference is None or typical_unsaid(describe, specs, name)
            young[c] = describe.age_said_below(name) if isinstance(describe, Describer) else math.inf
        a = float(ages[r])
        key = (c, b, a if a < young[c] else math.inf)  # an unknown age (NaN) reads as an old one
        if own[c] and key in said:
            out.append(said[key])
            continue
        age = None if a != a else a
        value = float(values[r, c])
        text = (
            _sentence(describe, specs, name, value, age)
            if own[c]
            else _row_sentence(describe, specs, names, index, values[r], c, age)
        )
        if not unsaid[c]:
            text += typical_said(describe, specs, name, value, float(reference[c]), ages[r], of_its_age(r, c))
        if own[c]:
            said[key] = text
        out.append(text)
    return out


def top_drivers(
    contributions: np.ndarray,
    feature_values: np.ndarray,
    feature_names: Sequence[str],
    specs: Mapping[str, Any],
    describe: Describe,
    k: int,
    citable: np.ndarray | None = None,
    safe: np.ndarray | None = None,
    reference: np.ndarray | None = None,
    age_reference: np.ndarray | None = None,
    said: dict[tuple[int, int, float], str] | None = None,
) -> pl.DataFrame:
    """The top ``k`` drivers per row as flat columns ``driver_<i>_<part>`` (module docstring).

    ``feature_values`` is the ``(n, n_features)`` matrix the contributions were computed from. Rows with
    fewer than ``k`` non-zero groups get empty (null) trailing drivers. With ``citable``
    (:func:`citable_mask`) only citable contributions make drivers. ``safe`` (one flag per row: the
    client is in the green zone) leads those rows with what keeps the risk low when the client is also
    below the model's average risk (a green client at 12% against a 5% portfolio keeps its risks first).
    With ``reference`` (:func:`reference_levels`, one level per feature), a level cited against the portfolio
    says the typical client's level (:func:`typical_said`); with ``age_reference`` (:func:`age_band_levels`), a
    young client's level said over its age says that of the clients of its age. ``said``: the sentences already said
    under the same ``feature_names``, ``specs``, ``describe``, ``reference`` and ``age_reference``
    (:func:`_driver_sentences`' memo), read and added to: the chunks of one list share one (None: one per call).
    """
    values = np.asarray(feature_values, dtype=float)
    ranked = ranked_drivers(contributions, values, feature_names, specs, k, citable, safe)
    n, g = len(values), ranked.order.shape[1]
    names = np.asarray(list(feature_names), dtype=object)
    families = np.asarray([_spec_attr(specs, name, "family", None) for name in feature_names], dtype=object)
    columns: dict[str, pl.Series] = {}
    said = {} if said is None else said  # one sentence per feature, value and age said, over the k drivers
    for i in range(k):
        if i >= g:  # fewer groups than drivers: the trailing drivers are empty
            shown, col, t = np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64), np.zeros(n)
        else:
            shown, col, t = ranked.total[:, i] != 0, ranked.lead[:, i], ranked.total[:, i]
        rows = np.flatnonzero(shown)
        sentence = np.full(n, None, dtype=object)
        sentence[rows] = _driver_sentences(
            rows, col[rows], values, feature_names, specs, describe, reference, age_reference, said
        )
        parts = {
            "feature": np.where(shown, names[col], None),
            "family": np.where(shown, families[col], None),
            "direction": np.where(shown, np.where(t > 0, RAISES, LOWERS).astype(object), None),
            "sentence": sentence,
        }
        for part, data in parts.items():
            columns[Scores.driver(i + 1, part)] = pl.Series(data.tolist(), dtype=pl.String)
        columns[Scores.driver(i + 1, "contribution")] = pl.Series(
            [round(float(v), 6) if ok else None for v, ok in zip(t.tolist(), shown.tolist(), strict=True)],
            dtype=pl.Float64,
        )
    return pl.DataFrame(
        [
            columns[Scores.driver(i + 1, part)].alias(Scores.driver(i + 1, part))
            for i in range(k)
            for part in DRIVER_PARTS
        ]
    )


_NEGATIVE_ZERO = re.compile(r"-(0(?:\.0+)?)(?![\d.])")


def _short_value(spec: Any, value: float, currency: str) -> str:
    """A feature value in a few characters for before -> after: ``62%``, ``EUR 1,200``, ``3 days``; a
    value that rounds to zero has no minus sign ("0.1 → 0", not "0.1 → -0")."""
    if value != value:
        return "no data"
    # a portfolio's values repeat (counts, days, the typical level beside every client's): said once per value;
    # the sign keeps -0.0 apart from 0.0, which the key's equality would merge ("-0%" shown as "0%", "+0%")
    kind, unit = getattr(spec, "kind", "count"), getattr(spec, "unit", "")
    return _short_text(kind, unit, float(value), math.copysign(1.0, value), currency)


@functools.lru_cache(maxsize=1 << 16)
def _short_text(kind: str, unit: str, value: float, _sign: float, currency: str) -> str:
    """:func:`_short_value` of a value that is a number (``_sign``: its sign, in the cache's key only)."""
    text = _value_text(kind, unit, value, currency)
    return _NEGATIVE_ZERO.sub(r"\1", text) if "-" in text else text


def _value_text(kind: str, unit: str, value: float, currency: str) -> str:
    from churnml.features.registry import hours, money, z_said

    if kind == "share":
        return f"{100 * value:.0f}%"
    if kind == "ratio":
        # a ratio to a usual level near none (time in seconds + 1) reads "+2825000%": say the order instead
        return "over 10x usual" if value > 10 else f"{100 * (value - 1):+.0f}% vs usual"
    if kind in ("change", "slope"):
        return f"{100 * value:+.0f}%"
    if kind == "diff" and unit == "share difference":  # as the sentence says it: "fell by 15 points"
        return f"{100 * value:+.0f} pts"
    if kind == "diff":
        return f"{value:+.2f}"
    if kind == "z":
        return f"{z_said(value)} sd"
    if unit.startswith("currency"):
        return money(value, currency)
    if unit.startswith("seconds"):
        return hours(value)
    if kind == "days" or unit == "days":
        return f"{value:.0f} day" + ("" if round(value) == 1 else "s")
    if kind in ("mean", "score"):
        return f"{value:.1f}".removesuffix(".0")
    return f"{value:,.0f}"


def _before_after(spec: Any, name: str, before: float, after: float, currency: str) -> str:
    label = str(getattr(spec, "label", "") or name)
    return f"{label[:1].upper()}{label[1:]}: {_short_value(spec, before, currency)} → {_short_value(spec, after, currency)}"


def points_text(points: float) -> str:
    """Percentage points of probability: ``"+11 pts"``, ``"+1 pt"``, ``"-0.4 pts"``, ``"<0.1 pts"`` for a
    sliver."""
    if abs(points) < 0.05:
        return "<0.1 pts"
    if abs(points) < 0.95:  # one decimal below a point ("+0.4 pts"); "+1 pt" from 0.95 on
        return f"{points:+.1f} pts"
    whole = f"{points:+.0f}"
    return f"{whole} pt" if whole in ("+1", "-1") else f"{whole} pts"


def change_reasons(
    contributions_now: np.ndarray,
    contributions_before: np.ndarray,
    feature_values_now: np.ndarray,
    feature_names: Sequence[str],
    specs: Mapping[str, Any],
    describe: Describe,
    k: int,
    min_change: float = 1e-9,
    *,
    feature_values_before: np.ndarray | None = None,
    may_raise: np.ndarray | None = None,
    probability_move: np.ndarray | None = None,
) -> list[str | None]:
    """Per row, why the raw score moved between two snapshots, as one line of plain language.

    E.g. ``"risk up: Logins fell 62% ... (+0.41); 3 meetings rescheduled ... (+0.12)"``; with
    ``feature_values_before`` each group is said as before -> after instead ("Logins in the last 28
    days: 12 → 3 (+0.41)"). The drivers are the groups whose contribution changed in the direction of
    the total change, largest first. ``may_raise`` (:func:`citable_mask` of this week's values with every
    contribution taken as positive: may the feature be cited as raising the risk?) keeps a feature from
    being named for a rise its value does not explain (good news raising the risk). ``None`` where the raw
    score did not move.

    Each group's number is its move of the raw score (log-odds), or, with ``probability_move`` (the
    calibrated probability after minus before, per row), its share of that move in percentage points:
    the group's log-odds change over the summed changes of every group that moved the score the way it
    went (named or not: one without data keeps its share), times the probability's move ("12% -> 31%;
    risk up: Logins ... 12 -> 3 (+11 pts)"). The named groups add up to the move at most.
    """
    now = np.asarray(contributions_now, dtype=float)
    before = np.asarray(contributions_before, dtype=float)
    diff = now - before
    total = diff.sum(axis=1)  # includes the base column, which is the same at both snapshots
    sign = np.where(total >= 0, 1.0, -1.0)
    shown = diff
    if may_raise is not None:
        # a feature is named for a rise only where it may be cited as raising the risk now; a fall may be
        # named for any known value
        n_f = may_raise.shape[1]
        missing = np.isnan(np.asarray(feature_values_now, dtype=float))
        named = np.where(sign[:, None] > 0, may_raise, ~missing)
        shown = _masked(diff, named | ((diff[:, :n_f] * sign[:, None]) <= 0))
    grouped = grouped_contributions(shown, feature_names, specs)
    oriented = grouped.sums * sign[:, None]
    # what every group moving the score the way it went adds up to, named or not (the others offset part
    # of it): a feature left unnamed (no data: a lapsed client's missing discount, +2.5 log-odds) keeps its
    # share, so the named ones are not handed the whole move
    every = grouped_contributions(diff, feature_names, specs).sums
    pushed = np.where(every * sign[:, None] > 0, every, 0.0).sum(axis=1)
    order = np.argsort(-oriented, axis=1, kind="stable")[:, :k]
    values = np.asarray(feature_values_now, dtype=float)
    lead = _lead_features(grouped, shown, sign, values, order)  # the groups a row may name
    currency = getattr(describe, "currency", "")
    scaled_window = getattr(describe, "scaled_window", lambda _name: None)
    out: list[str | None] = []
    for row in range(len(diff)):
        if abs(total[row]) < min_change:
            out.append(None)
            continue
        parts = []
        for j in order[row]:
            delta = float(grouped.sums[row, j])
            if delta * sign[row] < 0.005:  # shown as +0.00: no reason
                break
            c = int(lead[row, j])
            name = feature_names[c]
            if feature_values_before is not None:
                was, now_v = float(feature_values_before[row, c]), float(values[row, c])
                if was == now_v or (was != was and now_v != now_v):
                    continue  # the value did not move: it is no "before -> after" reason
                text = _before_after(
                    specs.get(name),
                    name,
                    float(feature_values_before[row, c]),
                    float(values[row, c]),
                    currency,
                )
                if scaled_window(name) is not None:
                    text += " (estimates: the data is shorter than the window)"
            else:
                text = _sentence(describe, specs, name, float(values[row, c]))
            amount = (
                f"{delta:+.2f}"
                if probability_move is None
                else points_text(100.0 * delta / pushed[row] * float(probability_move[row]))
            )
            parts.append(f"{text} ({amount})")
        head = "risk up: " if sign[row] > 0 else "risk down: "
        out.append(head + ("; ".join(parts) if parts else "many small changes, no single signal stands out"))
    return out
