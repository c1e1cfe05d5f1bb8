"""The feature registry: every column ``build_features`` can emit, with its meaning.

One :class:`FeatureSpec` per feature: family (usage, payments, communication, support, account),
unit, direction of risk (+1: a higher value means more risk, -1: a lower value means more risk,
0: ambiguous), signal group (correlated features of one signal share a group, e.g. all login
features are "logins"), and a plain-language template that :func:`sentence` fills with a client's
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
from dataclasses import dataclass
from types import MappingProxyType

from churnml.config import FeaturesConfig
from churnml.contract.schemas import Communications, Signals

__all__ = [
    "FAMILIES",
    "FEATURES",
    "FeatureSpec",
    "feature_names",
    "feature_spec",
    "feature_specs",
    "hours",
    "money",
    "sentence",
]

FAMILIES = ("usage", "payments", "communication", "support", "account")

# How a value turns into {pct} and {verb}.
#   count/amount/days/mean/score: plain levels; share: 0..1; ratio: recent/baseline (1 = unchanged);
#   change: relative change (-0.2 = fell 20%); diff: difference of two shares or means; slope: relative
#   weekly slope; z: standard deviations.
KINDS = ("count", "amount", "days", "mean", "score", "share", "ratio", "change", "diff", "slope", "z")


@dataclass(frozen=True)
class FeatureSpec:
    """What one feature column means.

    ``kind`` says how :func:`sentence` derives ``{pct}``/``{verb}``; ``label`` is the short noun phrase
    used when the value is missing ("logins in the last 28 days: no data").
    """

    name: str
    family: str
    unit: str
    direction: int
    group: str
    template: str
    kind: str = "count"
    label: str = ""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"feature {self.name}: unknown family {self.family!r}")
        if self.direction not in (-1, 0, 1):
            raise ValueError(f"feature {self.name}: direction must be -1, 0 or +1")
        if self.kind not in KINDS:
            raise ValueError(f"feature {self.name}: unknown kind {self.kind!r}")


@dataclass(frozen=True)
class _Base:
    """A spec pattern; ``{w}`` in name/label/template is the window in days."""

    name: str
    family: str
    unit: str
    direction: int
    group: str
    template: str
    kind: str
    label: str

    @property
    def windowed(self) -> bool:
        return "{w}" in self.name

    def at(self, w: int | None) -> FeatureSpec:
        def fill(s: str) -> str:
            return s if w is None else s.replace("{w}", str(w))

        return FeatureSpec(
            fill(self.name),
            self.family,
            self.unit,
            self.direction,
            self.group,
            fill(self.template),
            self.kind,
            fill(self.label),
        )


def _b(name, family, unit, direction, group, template, kind="count", label=""):
    # default label: the template without its leading value ("{value:.0f} logins in ..." -> "logins in ...")
    if not label:
        stripped = re.sub(r"^\{value[^}]*\}\s*", "", template)
        label = stripped if stripped != template else name
    return _Base(name, family, unit, direction, group, template, kind, label)


def _trends(prefix: str, family: str, what: str, unit: str, group: str, direction: int) -> list[_Base]:
    """Ratio, slope and z-score of one weekly signal against the client's own past."""
    return [
        _b(
            f"{prefix}_ratio",
            family,
            "ratio",
            direction,
            group,
            f"{what} {{verb}} {{pct}}% against this client's usual rate (last {{recent}} days vs the "
            f"{{baseline}} days before)",
            "ratio",
            f"trend of {what.lower()}",
        ),
        _b(
            f"{prefix}_slope",
            family,
            f"share of weekly {unit} per week",
            direction,
            group,
            f"{what} {{verb}} by about {{pct}}% of their usual weekly level per week over the last "
            f"{{slope}} weeks",
            "slope",
            f"weekly trend of {what.lower()}",
        ),
        _b(
            f"{prefix}_z",
            family,
            "standard deviations",
            direction,
            group,
            f"{what} over the last {{zr}} weeks were {{value:+.1f}} standard deviations from this "
            f"client's own last {{zb}} weeks",
            "z",
            f"z-score of {what.lower()}",
        ),
    ]


def _bases() -> list[_Base]:
    u, p, c, s, a = FAMILIES
    out: list[_Base] = []
    # ---- usage
    out += [
        _b(
            "usage_events_{w}d",
            u,
            "events",
            -1,
            "activity",
            "{value:.0f} product events in the last {w} days",
        ),
        _b(
            "usage_events_per_week_{w}d",
            u,
            "events per week",
            -1,
            "activity",
            "{value:.1f} product events per week over the last {w} days (or since the client started)",
            "mean",
        ),
        _b("usage_logins_{w}d", u, "logins", -1, "logins", "{value:.0f} logins in the last {w} days"),
        _b(
            "usage_logins_per_week_{w}d",
            u,
            "logins per week",
            -1,
            "logins",
            "{value:.1f} logins per week over the last {w} days (or since the client started)",
            "mean",
        ),
        _b(
            "usage_active_users_{w}d",
            u,
            "users",
            -1,
            "users",
            "{value:.0f} distinct users active in the last {w} days",
        ),
        _b(
            "usage_time_{w}d",
            u,
            "seconds (said in hours)",
            -1,
            "time_in_product",
            "{hours} in the product in the last {w} days",
            "amount",
            "time in the product in the last {w} days",
        ),
        _b(
            "usage_event_kinds_{w}d",
            u,
            "event kinds",
            -1,
            "breadth",
            "{value:.0f} different product features used in the last {w} days",
        ),
        _b(
            "usage_key_share_{w}d",
            u,
            "share of events",
            -1,
            "key_features",
            "{pct}% of product events were key-feature events in the last {w} days",
            "share",
            "share of key-feature events in the last {w} days",
        ),
        _b(
            "usage_key_share_trend",
            u,
            "share difference",
            -1,
            "key_features",
            "The share of key-feature use {verb} by {pct} points (last {recent} days vs the {baseline} "
            "days before)",
            "diff",
            "trend of key-feature share",
        ),
        _b("usage_exports_{w}d", u, "exports", 1, "exports", "{value:.0f} data exports in the last {w} days"),
        _b(
            "usage_days_since_export",
            u,
            "days",
            -1,
            "exports",
            "Last data export {value:.0f} days ago",
            "days",
            "days since the last data export",
        ),
        _b(
            "usage_days_since_login",
            u,
            "days",
            1,
            "logins",
            "Last login {value:.0f} days ago",
            "days",
            "days since the last login",
        ),
        _b(
            "usage_days_since_event",
            u,
            "days",
            1,
            "activity",
            "Last product activity {value:.0f} days ago",
            "days",
            "days since the last product activity",
        ),
        _b(
            "usage_onboarding_progress",
            u,
            "share of weeks",
            -1,
            "onboarding",
            "Active in {pct}% of the weeks of its first {young} days",
            "share",
            "onboarding progress",
        ),
    ]
    out += _trends("usage_events", u, "Product events", "events", "activity", -1)
    out += _trends("usage_logins", u, "Logins", "logins", "logins", -1)
    out += _trends("usage_time", u, "Time in the product", "time", "time_in_product", -1)
    # ---- payments
    out += [
        _b(
            "payments_paid_{w}d",
            p,
            "currency",
            -1,
            "revenue",
            "{money} paid in the last {w} days",
            "amount",
            "paid in the last {w} days",
        ),
        _b(
            "payments_orders_{w}d",
            p,
            "payments",
            -1,
            "orders",
            "{value:.0f} payments or orders in the last {w} days",
        ),
        _b(
            "payments_late_{w}d",
            p,
            "invoices",
            1,
            "late_payment",
            "{value:.0f} invoices paid after their due date in the last {w} days",
        ),
        _b(
            "payments_late_share_{w}d",
            p,
            "share of invoices",
            1,
            "late_payment",
            "{pct}% of the invoices paid in the last {w} days were paid late",
            "share",
            "share of invoices paid late in the last {w} days",
        ),
        _b(
            "payments_days_late_{w}d",
            p,
            "days",
            1,
            "late_payment",
            "Invoices paid in the last {w} days were on average {value:.0f} days late",
            "mean",
            "mean days late of invoices paid in the last {w} days",
        ),
        _b(
            "payments_late_share_trend",
            p,
            "share difference",
            1,
            "late_payment",
            "The share of invoices paid late {verb} by {pct} points (last {baseline} days vs all earlier "
            "history)",
            "diff",
            "trend of late payment",
        ),
        _b(
            "payments_overdue_open",
            p,
            "invoices",
            1,
            "late_payment",
            "{value:.0f} invoices past their due date and still unpaid",
        ),
        _b(
            "payments_overdue_amount",
            p,
            "currency",
            1,
            "late_payment",
            "{money} in invoices past their due date and still unpaid",
            "amount",
            "amount past due and unpaid",
        ),
        _b(
            "payments_open", p, "invoices", 0, "open_invoices", "{value:.0f} invoices issued and not yet paid"
        ),
        _b(
            "payments_failed_{w}d",
            p,
            "invoices",
            1,
            "failed_payment",
            "{value:.0f} failed payments in the last {w} days",
        ),
        _b("payments_refunds_{w}d", p, "refunds", 1, "refunds", "{value:.0f} refunds in the last {w} days"),
        _b(
            "payments_refunded_{w}d",
            p,
            "currency",
            1,
            "refunds",
            "{money} refunded in the last {w} days",
            "amount",
            "refunded in the last {w} days",
        ),
        _b(
            "payments_days_since_payment",
            p,
            "days",
            1,
            "orders",
            "Last payment or order {value:.0f} days ago",
            "days",
            "days since the last payment",
        ),
        _b(
            "payments_mean_gap_days",
            p,
            "days",
            0,
            "orders",
            "Usually {value:.0f} days between payments or orders",
            "mean",
            "typical gap between orders",
        ),
        _b(
            "payments_gap_ratio",
            p,
            "ratio",
            1,
            "orders",
            "The current gap since the last order is {value:.1f} times this client's typical gap",
            "mean",
            "current gap vs typical gap",
        ),
        _b(
            "payments_mrr",
            p,
            "currency per month",
            0,
            "contract",
            "Current MRR is {money}",
            "amount",
            "current MRR",
        ),
        _b(
            "payments_mrr_change_91d",
            p,
            "relative change",
            -1,
            "plan",
            "MRR {verb} {pct}% over the last 91 days",
            "change",
            "MRR change over 91 days",
        ),
        _b(
            "payments_seats",
            p,
            "seats",
            0,
            "contract",
            "{value:.0f} seats on active terms",
            "count",
            "current seats",
        ),
        _b(
            "payments_seats_change_91d",
            p,
            "relative change",
            -1,
            "seats",
            "Seats {verb} {pct}% over the last 91 days",
            "change",
            "seat change over 91 days",
        ),
        _b(
            "payments_addons",
            p,
            "add-ons",
            -1,
            "contract",
            "{value:.0f} active add-ons",
            "count",
            "active add-ons",
        ),
        _b(
            "payments_addons_change_91d",
            p,
            "add-ons",
            -1,
            "addons",
            "Add-ons changed by {value:+.0f} over the last 91 days",
            "count",
            "add-on change over 91 days",
        ),
        _b(
            "payments_downgrades_{w}d",
            p,
            "downgrades",
            1,
            "plan",
            "{value:.0f} downgrades (lower MRR or fewer seats) in the last {w} days",
        ),
        _b(
            "payments_discount",
            p,
            "share of price",
            1,
            "contract",
            "Current discount is {pct}%",
            "share",
            "current discount",
        ),
        _b(
            "payments_days_to_term_end",
            p,
            "days",
            -1,
            "contract",
            "The current term ends in {value:.0f} days",
            "days",
            "days to the end of the current term",
        ),
    ]
    out += _trends("payments_paid", p, "Payments", "amount", "revenue", -1)
    # ---- communication
    for d, word, direction in (("in", "from the client", -1), ("out", "to the client", 0)):
        out.append(
            _b(
                f"comm_touches_{d}_{{w}}d",
                c,
                "touches",
                direction,
                "touches",
                f"{{value:.0f}} touches {word} in the last {{w}} days",
            )
        )
    for ch in Communications.CHANNELS:
        out.append(
            _b(
                f"comm_{ch}_{{w}}d",
                c,
                "touches",
                0,
                "touches",
                f"{{value:.0f}} {ch} touches in the last {{w}} days",
            )
        )
    out += [
        _b(
            "comm_inbound_ratio",
            c,
            "ratio",
            -1,
            "touches",
            "Touches from the client {verb} {pct}% against its usual rate (last {recent} days vs the "
            "{baseline} days before)",
            "ratio",
            "trend of touches from the client",
        ),
        _b(
            "comm_reply_rate_{w}d",
            c,
            "share of outreach",
            -1,
            "replies",
            "The client replied to {pct}% of outreach in the last {w} days",
            "share",
            "reply rate in the last {w} days",
        ),
        _b(
            "comm_reply_rate_trend",
            c,
            "share difference",
            -1,
            "replies",
            "The reply rate {verb} by {pct} points (last {recent} days vs the {baseline} days before)",
            "diff",
            "trend of the reply rate",
        ),
        _b(
            "comm_response_hours_{w}d",
            c,
            "hours (mean)",
            1,
            "response_time",
            "Mean response time {value:.0f} hours in the last {w} days",
            "mean",
            "mean response time (hours) in the last {w} days",
        ),
        _b(
            "comm_response_hours_trend",
            c,
            "ratio",
            1,
            "response_time",
            "Response time {verb} {pct}% (mean, last {recent} days vs the {baseline} days before)",
            "ratio",
            "trend of response time",
        ),
        _b(
            "comm_words_{w}d",
            c,
            "words (mean)",
            -1,
            "reply_length",
            "Replies averaged {value:.0f} words in the last {w} days",
            "mean",
            "words per reply in the last {w} days",
        ),
        _b(
            "comm_words_trend",
            c,
            "ratio",
            -1,
            "reply_length",
            "Reply length {verb} {pct}% (mean, last {recent} days vs the {baseline} days before)",
            "ratio",
            "trend of reply length",
        ),
        _b(
            "comm_rescheduled_{w}d",
            c,
            "meetings",
            1,
            "meetings",
            "{value:.0f} meetings rescheduled in the last {w} days",
        ),
        _b(
            "comm_cancelled_{w}d",
            c,
            "meetings",
            1,
            "meetings",
            "{value:.0f} meetings cancelled in the last {w} days",
        ),
        _b(
            "comm_no_show_{w}d",
            c,
            "meetings",
            1,
            "meetings",
            "{value:.0f} meetings the client did not show up to in the last {w} days",
        ),
        _b(
            "comm_meetings_disrupted_{w}d",
            c,
            "meetings",
            1,
            "meetings",
            "{value:.0f} meetings rescheduled or cancelled or missed in the last {w} days",
        ),
        _b(
            "comm_no_reply_streak",
            c,
            "touches",
            1,
            "no_reply",
            "The last {value:.0f} outreach attempts got no reply",
            "count",
            "unanswered outreach streak",
        ),
        _b(
            "comm_days_since_inbound",
            c,
            "days",
            1,
            "touches",
            "Last touch from the client {value:.0f} days ago",
            "days",
            "days since the client last got in touch",
        ),
        _b(
            "comm_sentiment_{w}d",
            c,
            "sentiment (-1..1)",
            -1,
            "sentiment",
            "Mean sentiment {value:+.2f} (on -1..1) in the last {w} days",
            "score",
            "mean sentiment in the last {w} days",
        ),
        _b(
            "comm_sentiment_trend",
            c,
            "sentiment difference",
            -1,
            "sentiment",
            "Sentiment {verb} by {abs:.2f} (last {recent} days vs the {baseline} days before)",
            "diff",
            "trend of sentiment",
        ),
    ]
    # ---- support
    out += [
        _b(
            "support_tickets_{w}d",
            s,
            "tickets",
            0,
            "tickets",
            "{value:.0f} support tickets in the last {w} days",
        ),
        _b(
            "support_complaints_{w}d",
            s,
            "tickets",
            1,
            "complaints",
            "{value:.0f} complaints in the last {w} days",
        ),
        _b(
            "support_discount_requests_{w}d",
            s,
            "tickets",
            1,
            "discount",
            "{value:.0f} discount requests in the last {w} days",
        ),
        _b(
            "support_cancellation_requests_{w}d",
            s,
            "tickets",
            1,
            "cancellation",
            "{value:.0f} cancellation requests in the last {w} days",
        ),
        _b(
            "support_tickets_ratio",
            s,
            "ratio",
            0,
            "tickets",
            "Tickets {verb} {pct}% against this client's usual rate (last {recent} days vs the {baseline} "
            "days before)",
            "ratio",
            "trend of tickets",
        ),
        _b("support_open_tickets", s, "tickets", 1, "tickets", "{value:.0f} tickets still open"),
        _b(
            "support_days_since_ticket",
            s,
            "days",
            0,
            "tickets",
            "Last support ticket {value:.0f} days ago",
            "days",
            "days since the last ticket",
        ),
        _b(
            "support_csat_last",
            s,
            "CSAT (1-5)",
            -1,
            "csat",
            "The last satisfaction rating was {value:.0f} of 5",
            "score",
            "last satisfaction rating",
        ),
        _b(
            "support_csat_prev",
            s,
            "CSAT (1-5)",
            -1,
            "csat",
            "The rating before the last was {value:.0f} of 5",
            "score",
            "previous satisfaction rating",
        ),
        _b(
            "support_csat_last2_mean",
            s,
            "CSAT (1-5)",
            -1,
            "csat",
            "The last two satisfaction ratings average {value:.1f} of 5",
            "score",
            "mean of the last two ratings",
        ),
        _b(
            "support_csat_low_last2",
            s,
            "ratings",
            1,
            "csat",
            "{value:.0f} of the last two satisfaction ratings were low (at or below {low:g})",
            "count",
            "low ratings among the last two",
        ),
        _b(
            "support_csat_trend",
            s,
            "CSAT difference",
            -1,
            "csat",
            "Satisfaction {verb} by {abs:.1f} points (last {baseline} days vs all earlier ratings)",
            "diff",
            "trend of satisfaction",
        ),
    ]
    # ---- account
    out += [
        _b("account_tenure_days", a, "days", 0, "tenure", "Client for {value:.0f} days", "days", "tenure"),
        _b(
            "account_signals_{w}d",
            a,
            "signals",
            1,
            "account_signals",
            "{value:.0f} account warning signals in the last {w} days",
        ),
    ]
    for kind in (*Signals.KNOWN, "other"):
        words = kind.replace("_", " ")
        out.append(
            _b(
                f"account_{kind}_{{w}}d",
                a,
                "signals",
                1,
                kind,
                f"{{value:.0f}} '{words}' signals in the last {{w}} days",
            )
        )
        out.append(
            _b(
                f"account_days_since_{kind}",
                a,
                "days",
                -1,
                kind,
                f"Last '{words}' signal {{value:.0f}} days ago",
                "days",
                f"days since '{words}'",
            )
        )
    return out


_BASES: tuple[_Base, ...] = tuple(_bases())


def _context(cfg: FeaturesConfig) -> dict[str, object]:
    return {
        "recent": cfg.recent_days,
        "baseline": cfg.baseline_days,
        "slope": cfg.slope_weeks,
        "zr": cfg.zscore_recent_weeks,
        "zb": cfg.zscore_baseline_weeks,
        "young": cfg.young_days,
        "low": cfg.low_csat,
    }


def _with_context(spec: FeatureSpec, cfg: FeaturesConfig) -> FeatureSpec:
    """Fill the config placeholders ({recent}, {baseline}, ...) and keep {value}/{pct}/{verb}."""
    template = spec.template
    for key, val in _context(cfg).items():
        template = template.replace("{" + key + "}", str(val)).replace("{" + key + ":g}", f"{val:g}")
    return FeatureSpec(
        spec.name, spec.family, spec.unit, spec.direction, spec.group, template, spec.kind, spec.label
    )


def feature_specs(cfg: FeaturesConfig | None = None) -> dict[str, FeatureSpec]:
    """Every feature name for this config's windows, in emission order."""
    return dict(_cached_specs(cfg or FeaturesConfig()))


# Usage groups that count the event names a config lists: absent when it lists none (a shop's log has no
# product features to watch), rather than columns that are only ever 0 or empty and read "no data".
_EVENT_GROUPS = {"logins": "login_events", "key_features": "key_events", "exports": "export_events"}


def _configured(base: _Base, cfg: FeaturesConfig) -> bool:
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


def feature_spec(name: str, cfg: FeaturesConfig | None = None) -> FeatureSpec:
    """The spec of one feature column (any window, e.g. ``usage_logins_35d``); ``KeyError`` if unknown."""
    if cfg is None and name in FEATURES:
        return FEATURES[name]
    if cfg is not None:
        specs = _cached_specs(cfg)
        if name in specs:
            return specs[name]
    m = _WINDOW.match(name)
    if m:
        pattern = f"{m['stem']}_{{w}}d"
        for base in _BASES:
            if base.name == pattern:
                return _with_context(base.at(int(m["w"])), cfg or FeaturesConfig())
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


def sentence(
    name: str,
    value: float | None,
    cfg: FeaturesConfig | None = None,
    *,
    currency: str = "",
    age_days: float | None = None,
) -> str:
    """The feature's plain-language sentence filled with a client's value.

    ``sentence("usage_logins_ratio", 0.38)`` -> "Logins fell 62% against this client's usual rate ...";
    a null/NaN value gives "<label>: no data". Amounts name ``currency``, time in the product is said
    in hours, one of a thing reads in the singular ("1 day"), and with ``age_days`` a window longer than
    the client's age is said as its age ("0 logins in its first 15 days", not "in the last 182 days").
    """
    spec = feature_spec(name, cfg)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{spec.label[:1].upper()}{spec.label[1:]}: no data"
    value = float(value)
    if round(value, 2) == 0:
        value = 0.0  # no "-0.00"
    if spec.name == _DAYS_TO_TERM_END and value < 0:
        return _singular_words(f"Term ended {-value:.0f} days ago and was not renewed")
    if spec.name == _DAYS_TO_TERM_END and round(value) == 0:
        return "The current term ends today"
    if spec.name == _NO_REPLY_STREAK and round(value) == 1:
        return "The last outreach attempt got no reply"
    pct, verb = _pct_and_verb(spec.kind, value)
    text = spec.template.format(
        value=value, pct=pct, verb=verb, abs=abs(value), money=money(value, currency), hours=hours(value)
    )
    if spec.template.startswith(_COUNT) and round(value) == 1:
        text = _singular(text)
    text = _singular_words(text)
    if age_days is not None and age_days == age_days:
        text = _within_age(text, age_days)
    # "did not change by 0.00 points" -> "did not change"
    return _NO_CHANGE.sub("did not change", text)


_LAST_WINDOW = re.compile(r"\b(in|over) the last (\d+) days")


def _within_age(text: str, age_days: float) -> str:
    """ "in the last 182 days" -> "in its first 15 days" when the client is 15 days old."""
    age = max(int(age_days), 0)

    def cut(match: re.Match[str]) -> str:
        if int(match.group(2)) <= age:
            return match.group(0)
        return f"{match.group(1)} its first {age} day" + ("" if age == 1 else "s")

    shortened = _LAST_WINDOW.sub(cut, text)
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


_DAYS_TO_TERM_END = "payments_days_to_term_end"
_NO_REPLY_STREAK = "comm_no_reply_streak"

_NO_CHANGE = re.compile(
    r"did not change(?: by)?(?: about)? [0-9.]+%?(?: points)?(?: of their usual weekly level per week)?"
)


def _check_unique(names: Iterable[str]) -> None:  # pragma: no cover - import-time guard
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise RuntimeError(f"duplicate feature name {n}")
        seen.add(n)


_check_unique(b.name for b in _BASES)
