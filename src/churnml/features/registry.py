"""The feature registry: every column ``build_features`` can emit, with its meaning.

The registry only collects: each family module (:mod:`~churnml.features.usage`,
:mod:`~churnml.features.payments`, :mod:`~churnml.features.communication`,
:mod:`~churnml.features.support`, :mod:`~churnml.features.account`) declares its columns next to the
code that computes them, as ``SPECS`` (see :mod:`churnml.features.spec`), and :data:`FAMILIES` lists
those modules' names in column order. One :class:`FeatureSpec` per feature: family, unit, direction of
risk, signal group, kind and a plain-language template that :func:`sentence` fills with a client's
value for the explanations.

Names follow ``<family>_<signal>[_<window>d]``. :data:`FEATURES` lists the names for the default
windows (7, 28, 91, 182 days); :func:`feature_spec` also understands any other window.

Template placeholders: ``{value}`` (the raw value, any format spec), ``{pct}`` (percent derived from
the kind: a ratio 0.38 -> 62, a share 0.25 -> 25, a change -0.2 -> 20), ``{abs}`` (the absolute
value), ``{verb}`` ("fell", "rose" or "did not change"), ``{money}`` (the amount with the currency
from ``score.currency``) and ``{hours}`` (seconds said in hours).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType, ModuleType

from churnml.config import FeaturesConfig
from churnml.features import account, communication, payments, support, usage
from churnml.features.spec import FeatureSpec, SpecPattern

__all__ = [
    "FAMILIES",
    "FAMILY_SCOPES",
    "FEATURES",
    "FeatureSpec",
    "distinct_count",
    "feature_names",
    "feature_spec",
    "feature_specs",
    "feature_window",
    "hours",
    "money",
    "nearest_window_column",
    "renamed_login",
    "renamed_value",
    "sentence",
    "summed_window_days",
    "usual_level",
    "z_said",
]

# The family modules, in column order: each exports FAMILY (its name), SCOPE (what it covers, in the pages'
# words) and SPECS (its columns' patterns, in the order it emits them). A new family is one module plus one row here (and its step in
# churnml.features.build).
_FAMILY_MODULES: tuple[ModuleType, ...] = (usage, payments, communication, support, account)

FAMILIES: tuple[str, ...] = tuple(module.FAMILY for module in _FAMILY_MODULES)
# each family's SCOPE ("payments" holds the subscription terms too)
FAMILY_SCOPES: dict[str, str] = {module.FAMILY: module.SCOPE for module in _FAMILY_MODULES}


def _collected(modules: Iterable[ModuleType]) -> tuple[SpecPattern, ...]:
    """Every family's patterns in family order; each carries its module's family, no name twice."""
    out: list[SpecPattern] = []
    seen: set[str] = set()
    for module in modules:
        for pattern in module.SPECS:
            if pattern.family != module.FAMILY:
                raise RuntimeError(f"feature {pattern.name}: family {pattern.family!r} in {module.__name__}")
            if pattern.name in seen:
                raise RuntimeError(f"duplicate feature name {pattern.name}")
            seen.add(pattern.name)
            out.append(pattern)
    return tuple(out)


_BASES: tuple[SpecPattern, ...] = _collected(_FAMILY_MODULES)


def _context(cfg: FeaturesConfig) -> dict[str, object]:
    return {
        "recent": cfg.recent_days,
        "longest": max(cfg.windows),
        "baseline": cfg.baseline_days,
        "slope": cfg.slope_weeks,
        "zr": cfg.zscore_recent_weeks,
        "zb": cfg.zscore_baseline_weeks,
        "young": cfg.young_days,
        "low": cfg.low_csat,
    }


def _with_context(spec: FeatureSpec, cfg: FeaturesConfig) -> FeatureSpec:
    """Fill the config placeholders ({recent}, {baseline}, ...) and keep {value}/{pct}/{verb}; the login
    columns' words say ``features.login_noun`` ("Last order 56 days ago" in a shop), the payments columns' seats
    and the users per seat ``features.seat_noun`` ("297 vehicles on active terms" of a fleet tracker, "0.40 active
    users per paid desk" of a coworking operator's team desks); with
    ``features.orders_at: paid`` the order columns say payments (:func:`payments_only`)."""
    template, label = spec.template, spec.label
    for key, val in _context(cfg).items():
        template, label = (
            t.replace("{" + key + "}", str(val)).replace("{" + key + ":g}", f"{val:g}")
            for t in (template, label)
        )
    unit = spec.unit
    if spec.group == "logins" and cfg.login_noun != "login":
        template, unit, label = (renamed_login(t, cfg.login_noun) for t in (template, unit, label))
    if cfg.seat_noun != "seat" and (
        spec.family == payments.FAMILY or spec.name.startswith(usage.SEAT_USE_PREFIX)
    ):
        template, unit, label = (renamed_seat(t, cfg.seat_noun) for t in (template, unit, label))
    if spec.group == "time_in_product" and cfg.value_noun:
        template, unit, label = (renamed_value(t, cfg.value_noun) for t in (template, unit, label))
    if cfg.orders_at == "paid":
        template, label = payments_only(template), payments_only(label)
    return FeatureSpec(spec.name, spec.family, unit, spec.direction, spec.group, template, spec.kind, label)


_LOGIN_WORD = re.compile(r"\b([Ll])ogin(s?)\b")


def renamed_login(text: str, noun: str) -> str:
    """``text`` with "login(s)" / "Login(s)" said as ``noun`` (its capital where the word had one)."""

    def said(m: re.Match[str]) -> str:
        word = noun[0].upper() + noun[1:] if m.group(1) == "L" else noun
        return word + m.group(2)

    return _LOGIN_WORD.sub(said, text)


_SEAT_WORD = re.compile(r"\b([Ss])eat(s?)\b")


def renamed_seat(text: str, noun: str) -> str:
    """``text`` with "seat(s)" / "Seat(s)" said as ``noun`` (``features.seat_noun``: what a unit of
    ``subscriptions.quantity`` is, its capital where the word had one)."""

    def said(m: re.Match[str]) -> str:
        word = noun[0].upper() + noun[1:] if m.group(1) == "S" else noun
        return word + m.group(2)

    return _SEAT_WORD.sub(said, text)


_PAYMENT_OR_ORDER = re.compile(r"\b(payment|Payment)(s?) or orders?\b")


def payments_only(text: str) -> str:
    """``text`` of an order column ("Last payment or order 402 days ago") said as payments alone ("Last payment
    402 days ago"): with ``features.orders_at: paid`` (contract billing) the orders these columns count are the
    payments, at their payment; "or order" read false beside an invoice issued 45 days ago and not yet paid."""
    return _PAYMENT_OR_ORDER.sub(lambda m: m.group(1) + m.group(2), text)


def renamed_value(text: str, noun: str) -> str:
    """``text`` of a feature of ``events.value`` (read as seconds in the product by default) said in
    ``noun`` (``features.value_noun``: "API calls", "GB"): ``"{hours} in the product"`` becomes
    ``"{value:,.0f} API calls"``, "time in the product" the noun, the unit the noun."""
    capital = noun[:1].upper() + noun[1:]
    return (
        text.replace("{hours} in the product", "{value:,.0f} " + noun)
        .replace("seconds (said in hours)", noun)
        .replace("share of weekly time", f"share of weekly {noun}")
        .replace("Time in the product", capital)
        .replace("time in the product", noun)
        .replace("weeks was {level}", "weeks were {level}")  # the noun is a plural
    )


def feature_specs(cfg: FeaturesConfig | None = None) -> dict[str, FeatureSpec]:
    """Every feature name for this config's windows, in emission order."""
    return dict(_cached_specs(cfg or FeaturesConfig()))


_WINDOW_DAYS = re.compile(r"_(\d+)d$")
_SUMMED_KINDS = ("count", "amount")
# counts of distinct things over a window (users, event kinds): not sums, so a window longer than the data
# is not a share of one that a rate could scale (scaled, an app's single user read as 6.5 users)
_DISTINCT_GROUPS = ("users", "breadth")


def summed_window_days(name: str, specs: Mapping[str, FeatureSpec]) -> int | None:
    """The window in days of a windowed sum (a count or amount over the last ``w`` days, e.g.
    ``payments_orders_182d``: 182), None for any other feature (rates, shares, trends, days since)."""
    m = _WINDOW_DAYS.search(name)
    spec = specs.get(name)
    return int(m.group(1)) if m and spec is not None and spec.kind in _SUMMED_KINDS else None


def distinct_count(name: str, specs: Mapping[str, FeatureSpec]) -> bool:
    """Whether ``name`` counts distinct things over its window (users, event kinds): a window the data does
    not cover is unknown like any other, but no rate scales it (``features.unobserved_windows: scaled``)."""
    spec = specs.get(name)
    return spec is not None and spec.group in _DISTINCT_GROUPS


# Usage groups that count the event names a config lists: absent when it lists none (a shop's log has no
# product features to watch), rather than columns that are only ever 0 or empty and read "no data".
_EVENT_GROUPS = {
    "logins": "login_events",
    "key_features": "key_events",
    "exports": "export_events",
    "friction": "friction_events",
}


def _configured(base: SpecPattern, cfg: FeaturesConfig) -> bool:
    if base.name in payments.LIFETIME:  # RFM's lifetime columns: features.lifetime (on for shops)
        return cfg.lifetime is True
    if base.name == account.TENURE_CENSORED:  # features.censored_start_days: 0 = off
        return cfg.censored_start_days > 0
    needs = _EVENT_GROUPS.get(base.group) if base.family == "usage" else None
    return needs is None or bool(getattr(cfg, needs))


@functools.lru_cache(maxsize=32)
def _cached_specs(cfg: FeaturesConfig) -> Mapping[str, FeatureSpec]:
    out: dict[str, FeatureSpec] = {}
    for base in _BASES:
        if not _configured(base, cfg):
            continue
        for w in cfg.windows if base.windowed else (None,):
            spec = _with_context(base.at(w), cfg)
            out[spec.name] = spec
    return MappingProxyType(out)


def feature_names(family: str, cfg: FeaturesConfig | None = None) -> list[str]:
    """Names of one family's features, in emission order."""
    return [n for n, s in feature_specs(cfg).items() if s.family == family]


FEATURES: Mapping[str, FeatureSpec] = MappingProxyType(feature_specs())

_WINDOW = re.compile(r"^(?P<stem>.+)_(?P<w>\d+)d$")
_WINDOWED: Mapping[str, SpecPattern] = MappingProxyType({base.name: base for base in _BASES if base.windowed})


def feature_window(name: str) -> tuple[str, int] | None:
    """The pattern and the window in days of a windowed feature column, any window (``usage_logins_per_week_35d``:
    ``("usage_logins_per_week_{w}d", 35)``); None for a column no windowed pattern gives (a trend, a days
    since, an unknown name). The one reading of a column's window from its name."""
    m = _WINDOW.match(name)
    pattern = f"{m['stem']}_{{w}}d" if m else None
    return (pattern, int(m["w"])) if m and pattern in _WINDOWED else None


def nearest_window_column(columns: Iterable[str], stem: str, days: int) -> str | None:
    """The column ``<stem>_<w>d`` among ``columns`` whose window is nearest ``days`` (the longer of two as near),
    None without one: the feature a rule of ``days`` reads (``support_complaints_91d`` for ``rules.complaints_days``)."""
    windows = {int(m.group(1)): c for c in columns if (m := re.fullmatch(rf"{re.escape(stem)}_(\d+)d", c))}
    if not windows:
        return None
    return windows[min(windows, key=lambda w: (abs(w - days), -w))]


def feature_spec(name: str, cfg: FeaturesConfig | None = None) -> FeatureSpec:
    """The spec of one feature column (any window, e.g. ``usage_logins_35d``); ``KeyError`` if unknown."""
    if cfg is None and name in FEATURES:
        return FEATURES[name]
    if cfg is not None:
        specs = _cached_specs(cfg)
        if name in specs:
            return specs[name]
    windowed = feature_window(name)
    if windowed is not None:
        pattern, w = windowed
        return _with_context(_WINDOWED[pattern].at(w), cfg or FeaturesConfig())
    raise KeyError(f"unknown feature {name!r}: not in churnml.features.registry")


def _pct_and_verb(kind: str, value: float) -> tuple[int, str]:
    if kind in ("ratio",):
        delta = value - 1.0
    elif kind in ("change", "diff", "slope", "z"):
        delta = value
    elif kind == "share":
        return round(value * 100), ""
    else:
        return round(value * 100), ""
    pct = abs(delta) * 100
    verb = "did not change" if round(pct) == 0 else ("fell" if delta < 0 else "rose")
    return round(pct), verb


def usual_level(z: float) -> str:
    """A z-score against the client's own past said in words: "far below usual" (2 or more
    standard deviations), "well below" (1 to 2), "a little below" (under 1), "as usual" (0.0 as shown)."""
    shown = round(z, 1)
    if shown == 0:
        return "as usual"
    side = "below" if shown < 0 else "above"
    size = "far" if abs(shown) >= 2 else "well" if abs(shown) >= 1 else "a little"
    return f"{size} {side} usual"


# a z-score beyond this many standard deviations is said as "over +10": against a past that hardly varied (the
# +1 of features._grid.zscore in the feature's own units, an annual invoice after 26 weeks of none) it reads
# "+590.0 standard deviations", a number no reader can weigh
Z_SAID_MAX = 10


def z_said(z: float) -> str:
    """A z-score as a sentence says it: ``"+1.2"``, or ``"over +10"`` / ``"under -10"`` past :data:`Z_SAID_MAX`."""
    if abs(round(z, 1)) > Z_SAID_MAX:
        return f"over +{Z_SAID_MAX}" if z > 0 else f"under -{Z_SAID_MAX}"
    return f"{z:+.1f}"


def money(value: float, currency: str = "") -> str:
    """An amount with its currency: ``"EUR 8,098"`` (``"8,098"`` without one)."""
    return f"{currency} {value:,.0f}" if currency else f"{value:,.0f}"


def hours(seconds: float) -> str:
    """Seconds said in hours (minutes below one hour): ``"3.5 hours"``, ``"1 hour"``, ``"20 minutes"``."""
    h = seconds / 3600.0
    if h < 1:
        m = round(seconds / 60.0)
        return "1 minute" if m == 1 else f"{m} minutes"
    shown = f"{h:,.1f}".removesuffix(".0")
    return "1 hour" if shown == "1" else f"{shown} hours"


_LOW_RATINGS = "support_csat_low_last2"


_TENURE = "account_tenure_days"


def sentence(
    name: str,
    value: float | None,
    cfg: FeaturesConfig | None = None,
    *,
    currency: str = "",
    age_days: float | None = None,
    data_days: float | None = None,
) -> str:
    """The feature's plain-language sentence filled with a client's value.

    ``sentence("usage_logins_ratio", 0.38)`` -> "Logins fell 62% against this client's usual rate ...";
    a null/NaN value gives "<label>: no data". Amounts name ``currency``, time in the product is said
    in hours, one of a thing reads in the singular ("1 day"), and with ``age_days`` a window longer than
    the client's age is said as its age ("0 logins in its first 15 days", not "in the last 182 days"),
    with ``data_days`` a window longer than the data as the data's days ("2 orders in the 120 days of
    data"). The value must then be the count over those days.
    """
    spec = feature_spec(name, cfg)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        # a start before the data (features.build.with_censored_starts) or not on record
        if spec.name == _TENURE:
            return "Start date not in the data: tenure unknown"
        return f"{spec.label[:1].upper()}{spec.label[1:]}: no data"
    value = float(value)
    if round(value, 2) == 0:
        value = 0.0  # no "-0.00"
    if spec.name == _DAYS_TO_TERM_END and value < 0:
        return _singular_words(f"The last term ended {-value:.0f} days ago; no new term since")
    if spec.name == _DAYS_TO_TERM_END and round(value) == 0:
        return "The current term ends today"
    if spec.name == account.TENURE_CENSORED and round(value) == 0:
        return "Client since a start date within the data"
    if spec.name == _NO_REPLY_STREAK and round(value) == 1:
        return "The last outreach attempt got no reply"
    pct, verb = _pct_and_verb(spec.kind, value)
    text = spec.template.format(
        value=value,
        pct=pct,
        verb=verb,
        abs=abs(value),
        money=money(value, currency),
        hours=hours(value),
        level=usual_level(value),
        z=z_said(value),
    )
    if spec.template.startswith(_COUNT) and round(value) == 1:
        text = _singular(text)
    if spec.name == _LOW_RATINGS and round(value) == 1:
        text = text.replace("ratings were low", "ratings was low")  # "1 of the last two ... was low"
    if spec.name == _LOW_RATINGS and round(value) == 2:
        text = text.replace("2 of the last two", "The last two")  # not "2 of the last two ... were low"
    text = _singular_words(text)
    if age_days is not None and age_days == age_days:
        text = _within_age(text, age_days)
    elif data_days is not None and data_days == data_days:
        text = _within_age(text, data_days, "{over} the {days} of data", "the {days} of data before")
    # "did not change by 0.00 points" -> "did not change"
    return _NO_CHANGE.sub("did not change", text)


_LAST_WINDOW = re.compile(r"\b(in|over) the last (\d+) days")
_FIRST_DAYS = re.compile(r"\bits first (\d+) days")  # onboarding: "of its first 90 days"
_OWN_WEEKS = re.compile(r"\bthis client's own last (\d+) weeks")  # a z-score's baseline
# a trend's two windows: "(last 28 days vs the 91 days before)"
_TREND_WINDOWS = re.compile(r"\blast (\d+) days vs the (\d+) days before")


def _within_age(
    text: str, age_days: float, said: str = "{over} its first {days}", before: str = "its {days} before"
) -> str:
    """ "in the last 182 days" -> "in its first 15 days" when the client is 15 days old (``said``: how the
    shorter span is said, e.g. "{over} the {days} of data": "in the 120 days of data"); a trend's baseline
    "(last 28 days vs the 91 days before)" -> "(last 28 days vs its 12 days before)" (``before``: "the
    {days} of data before")."""
    age = max(int(age_days), 0)

    def cut(match: re.Match[str]) -> str:
        if int(match.group(2)) <= age:
            return match.group(0)
        days = f"{age} day" + ("" if age == 1 else "s")
        return said.format(over=match.group(1), days=days)

    def first(match: re.Match[str]) -> str:
        if int(match.group(1)) <= age:
            return match.group(0)
        return f"its first {age} day" + ("" if age == 1 else "s")

    def own(match: re.Match[str]) -> str:
        if int(match.group(1)) * 7 <= age:
            return match.group(0)
        return "this client's own earlier weeks"

    def trend(match: re.Match[str]) -> str:
        recent, baseline = int(match.group(1)), int(match.group(2))
        if recent + baseline <= age:
            return match.group(0)
        days = max(age - recent, 1)
        return f"last {recent} days vs " + before.format(days=f"{days} day" + ("" if days == 1 else "s"))

    shortened = _TREND_WINDOWS.sub(trend, _LAST_WINDOW.sub(cut, text))
    shortened = _OWN_WEEKS.sub(own, _FIRST_DAYS.sub(first, shortened))
    return shortened.replace(" (or since the client started)", "") if shortened != text else text


# "1 days" -> "1 day" wherever a lone 1 counts a plural noun ("Last login 1 days ago", "in 1 weeks").
_ONE_PLURAL = re.compile(r"(?<![\d.,])\b1 (days|weeks|months|hours|minutes|times|points)\b")


def _singular_words(text: str) -> str:
    return _ONE_PLURAL.sub(lambda m: f"1 {m.group(1)[:-1]}", text)


_COUNT = "{value:.0f} "
# "1 logins in ..." -> "1 login in ...": the first plural among the first words after the count, and
# the noun joined to it by "or" ("1 payment or order"); "1 of the last two ..." has none and stays.
_FIRST_PLURAL = re.compile(r"^1 ((?:[A-Za-z'-]+ ){0,2}?)([A-Za-z-]+[^s])s\b(?: or ([A-Za-z-]+[^s])s\b)?")
_ES_PLURAL = re.compile(r"(ch|sh|x|ss)e$")  # "touches" -> "touch", not "touche"


def _singular(text: str) -> str:
    def noun(stem: str) -> str:
        return _ES_PLURAL.sub(r"\1", stem)

    def one(match: re.Match[str]) -> str:
        tail = f" or {noun(match.group(3))}" if match.group(3) else ""
        return f"1 {match.group(1)}{noun(match.group(2))}{tail}"

    return _FIRST_PLURAL.sub(one, text, count=1)


_DAYS_TO_TERM_END = payments.DAYS_TO_TERM_END
_NO_REPLY_STREAK = "comm_no_reply_streak"

_NO_CHANGE = re.compile(
    r"did not change(?: by)?(?: about)? [0-9.]+%?(?: points)?(?: of (?:their|its) mean weekly level each week)?"
)
