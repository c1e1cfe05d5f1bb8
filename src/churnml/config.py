"""Typed configuration, read once from the defaults shipped in the package and passed around in slices.

The defaults are ``churnml/default.yaml`` (package data, so a wheel install has them; the checkout's
``configs/default.yaml`` links to it) and equal the pydantic defaults below, key for
key and in the same order: ``Config() == load_config()`` (both are tested).

``load_config(path, overrides)`` merges a partial YAML over the defaults, applies ``--set`` style
overrides (``label.horizon_days=30``) and validates everything with pydantic: an unknown key or a
wrong type is a :class:`ConfigError` that names the key.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "Config",
    "ConfigError",
    "CsvConfig",
    "DataConfig",
    "FeaturesConfig",
    "LabelConfig",
    "PathsConfig",
    "Play",
    "PlaybooksConfig",
    "RulesConfig",
    "ScoreConfig",
    "SnapshotsConfig",
    "TrackingConfig",
    "TrainConfig",
    "TuneConfig",
    "ValueConfig",
    "WinbackConfig",
    "ZonesConfig",
    "config_hash",
    "default_config_path",
    "default_config_text",
    "history_hash",
    "load_config",
    "with_label_source",
]


class ConfigError(ValueError):
    """A configuration file or override is wrong; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathsConfig(_Section):
    data: Path = Path("data/raw")
    truth: Path = Path("data/truth")
    features: Path = Path("data/features")
    scores: Path = Path("data/scores")
    models: Path = Path("models")
    tune: Path = Path("data/tune")


class CsvConfig(_Section):
    """How the contract's CSV files are written: applied to every CSV table read (``data.csv``)."""

    separator: str = ","  # the field separator: ",", ";", "\t" (or "tab") or "|"
    decimal_comma: bool = (
        False  # numbers written 12,50 / 1.546,81 / 5 425,06: read as 12.50, 1546.81, 5425.06
    )
    encoding: str = "utf-8"  # the files' text encoding (cp1252, latin-1, ...): decoded to UTF-8 at read
    date_formats: tuple[str, ...] = ()  # formats tried on text times before ISO 8601: ["%d/%m/%Y", ...]

    @field_validator("separator")
    @classmethod
    def _one_character(cls, value: str) -> str:
        value = "\t" if value in ("\\t", "tab") else value  # --set data.csv.separator=tab
        if len(value) != 1 or value in '"\r\n':
            raise ValueError(
                f"the separator is one character other than a quote or a line break, such as ';': {value!r}"
            )
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(
                f"{value!r} is not a text encoding Python knows: write one such as utf-8, cp1252 or latin-1"
            ) from None

    @field_validator("date_formats")
    @classmethod
    def _day_month_formats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import re

        for fmt in value:
            if not all(d in fmt for d in ("%d", "%m")) or not ("%Y" in fmt or "%y" in fmt):
                raise ValueError(
                    f"a date format names the day, month and year (%d, %m, %Y), such as %d/%m/%Y: {fmt!r}"
                )
            if re.search(r"%[#:]?[zZ]", fmt):
                raise ValueError(
                    f"a date format with a UTC offset ({fmt!r}): write those times in ISO 8601, which churnml reads "
                    "with their offset"
                )
        return value


class DataConfig(_Section):
    # the dataset's name (contract.io.dataset_name): its MLflow experiment and registered model
    # (churnml-<name>), the lists, history and pages it owns; None = the data folder's name
    name: str | None = None
    as_of: date | None = None
    future_tolerance_days: int = Field(0, ge=0)
    max_examples: int = Field(5, ge=1)
    early_renewal_share: float = Field(0.25, ge=0, le=1)
    # subscriptions.product names whose terms are pauses whatever their fee (a gym's "Freeze" at 5 a month):
    # read at MRR 0, counted (contract.validation.pause_terms_freed); () = none
    pause_products: tuple[str, ...] = ()
    churn_events: tuple[str, ...] = ()
    timezone: str = "UTC"
    # currency code -> what one unit is worth in score.currency: money tables holding several currencies
    # are converted at read with them (contract.validation.amounts_in_one_currency); {} = none given
    currency_rates: dict[str, float] = Field(default_factory=dict)
    csv: CsvConfig = CsvConfig()

    @field_validator("name", mode="before")
    @classmethod
    def _plain_name(cls, value: Any) -> str | None:
        if value is None:
            return None
        # YAML reads `name: 2025` or `--set data.name=2025-12-01` as a number or a date: the name is its text
        name = str(value).strip()
        # it names a folder (data/scores/<name>/...), an MLflow model (models:/churnml-<name>@champion) and the
        # lists' manifests: no path, no alias or version separator
        if not name or name in (".", "..") or any(c in name for c in "/\\@:"):
            raise ValueError("a dataset name is a plain name such as crm, without '/', '\\', '@' or ':'")
        return name

    @field_validator("currency_rates")
    @classmethod
    def _positive_rates(cls, value: dict[str, float]) -> dict[str, float]:
        import math

        rates = {str(code).strip().upper(): rate for code, rate in value.items()}
        bad = {code: rate for code, rate in rates.items() if not (math.isfinite(rate) and rate > 0)}
        if bad:
            raise ValueError(
                f"each rate is what one unit of the currency is worth in score.currency, a number above 0: {bad}"
            )
        if len(rates) < len(value):
            raise ValueError(f"a currency written twice (codes are read in capitals, trimmed): {list(value)}")
        return rates

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone name: write an IANA name such as UTC, Europe/Paris or "
                "America/New_York"
            ) from None
        return value


class LabelConfig(_Section):
    source: Literal["auto", "churns", "subscriptions", "inactivity", "mixed"] = "auto"
    horizon_days: int = Field(90, ge=1)
    inactivity_days: int = Field(90, ge=1)
    grace_days: int = Field(30, ge=0)
    # the event names that count as activity (inactivity label, mixed's one-off buyers, a return after a churn,
    # the no_activity rule); None = every event. Orders always count (with events, not a charge while a term runs).
    # A name the data lacks is no error.
    activity_events: tuple[str, ...] | None = None


class SnapshotsConfig(_Section):
    weekday: int = Field(0, ge=0, le=6)
    start: date | None = None
    end: date | None = None
    min_history_days: int = Field(28, ge=0)


class FeaturesConfig(_Section):
    windows: tuple[int, ...] = (7, 28, 91, 182)
    recent_days: int = Field(28, ge=7)
    baseline_days: int = Field(91, ge=7)
    slope_weeks: int = Field(13, ge=2)
    zscore_recent_weeks: int = Field(4, ge=1)
    zscore_baseline_weeks: int = Field(26, ge=2)
    young_days: int = Field(90, ge=0)
    login_events: tuple[str, ...] = ("login",)
    login_noun: str = Field("login", pattern=r"^[a-z][a-z ]*[a-z]$")
    # subscriptions.quantity counts user seats (licences of named users): the users per paid seat features
    # (usage_seat_use_<w>d) read it; false where it counts devices, vehicles, sites or GB (no seat use)
    quantity_is_users: bool = True
    # what one unit of subscriptions.quantity is called in the payments explanations (singular, lower case): a
    # fleet tracker's "vehicle" ("297 vehicles on active terms", "Vehicles fell 40% ..."); wording only
    seat_noun: str = Field("seat", pattern=r"^[a-z][a-z ]*[a-z]$")
    # any words but braces (the noun goes into the sentences' templates): "usage counts (logins + tasks)"
    value_noun: str = Field("", max_length=60, pattern=r"^([^\s{}]([^{}]*[^\s{}])?)?$")
    key_events: tuple[str, ...] = ("report_view", "dashboard_view", "api_call", "integration_sync")
    export_events: tuple[str, ...] = ("data_export",)
    friction_events: tuple[str, ...] = ()
    low_csat: float = Field(2, ge=1, le=5)
    # tickets.priority values (compared lowercased) that make a ticket urgent: support_open_urgent_tickets
    urgent_priorities: tuple[str, ...] = ("urgent", "critical", "high", "highest", "blocker", "p0", "p1")
    # an outreach's no_reply (or a reply whose response_hours are not recorded) is known this many days after
    # it was sent, not as sent: a snapshot must not tell apart the outreach that will be answered
    no_reply_after_days: int = Field(7, ge=0)
    lifetime: bool | Literal["auto"] = "auto"
    orders_at: Literal["auto", "issued", "paid"] = "auto"
    unobserved_windows: Literal["auto", "unknown", "scaled"] = "auto"
    # a client created (or first paying) within this many days of the data's first activity may have started
    # before the data: its tenure is unknown, account_tenure_censored says so (features.build.started_with_data);
    # 0 = off (the default: measured, not kept on, docs/benchmarks.md)
    censored_start_days: int = Field(0, ge=0)
    engine: Literal["polars", "spark"] = "polars"

    @field_validator("windows")
    @classmethod
    def _positive_sorted(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(w <= 0 for w in v):
            raise ValueError("windows must be a non-empty list of positive day counts")
        return tuple(sorted(set(v)))


class TrainConfig(_Section):
    model_name: str | None = None  # None: "churnml-<dataset name>" (tracking.registered_name)
    folds: int = Field(4, ge=1)
    test_days: int | None = Field(None, ge=7)
    min_train_days: int = Field(28, ge=7)
    max_credible_pr_auc: float | None = Field(0.98, gt=0, le=1)
    champion_margin: float = Field(0.005, ge=0, le=1)
    holdout_share: float = Field(0.2, gt=0, lt=1)
    cross_fit_parts: int = Field(5, ge=1)
    cross_fit_max_rows: int | None = Field(250_000, ge=1)
    cross_fit_large_rows: int | None = Field(100_000, ge=1)
    cross_fit_large_parts: int = Field(3, ge=1)
    # shared: every cross-fitted part stops at the round that maximises the parts' mean validation curve;
    # each: every part at its own curve's maximum (modeling.train.with_shared_rounds); auto: shared when the
    # parts hold fewer than shared_rounds_below_churners churning clients each (experiment.decided_cross_fit_rounds)
    cross_fit_rounds: Literal["auto", "shared", "each"] = "auto"
    shared_rounds_below_churners: int = Field(100, ge=0)
    calibration: Literal["auto", "isotonic", "sigmoid"] = "auto"
    min_isotonic_positives: int = Field(200, ge=1)
    monotone: bool = True
    # LightGBM's extremely randomized split thresholds: auto = on when the labeled table holds fewer
    # churning clients than extra_trees_below_churners (experiment.decided_extra_trees)
    extra_trees: bool | Literal["auto"] = "auto"
    extra_trees_below_churners: int = Field(500, ge=0)
    seed: int = 42
    params_file: Path | None = None
    lightgbm: dict[str, Any] = Field(
        default_factory=lambda: {
            "n_estimators": 2000,
            "learning_rate": 0.05,
            "num_leaves": 4,
            "min_child_samples": 20,
            "subsample": 0.8,
            "subsample_freq": 1,
            "colsample_bytree": 0.35,
            "reg_lambda": 1.0,
            "min_split_gain": 0.5,
        }
    )
    early_stopping_rounds: int = Field(100, ge=1)
    logistic_c: float = Field(0.1, gt=0)
    imbalance_power: float = Field(0.5, ge=0, le=1)
    n_jobs: int = Field(2, ge=1)
    batch_clients: int = Field(10_000, ge=1)
    max_train_rows: int | None = Field(500_000, ge=1)
    snapshot_step: int = Field(1, ge=1)


class TuneConfig(_Section):
    trials: int = Field(30, ge=1)
    timeout: int | None = Field(None, ge=1)
    study_name: str = "churnml"
    trees_per_trial: int = Field(600, ge=10)


class ZonesConfig(_Section):
    method: Literal["probability", "capacity"] = "probability"
    yellow: float = Field(0.15, ge=0, le=1)
    red: float = Field(0.35, ge=0, le=1)
    red_capacity: int = Field(50, ge=0)
    yellow_capacity: int = Field(150, ge=0)
    # hysteresis (probability method): a client leaves a zone only when its probability falls below the
    # zone's threshold by exit_margin, or stays below the threshold for exit_weeks weeks in a row
    exit_margin: float = Field(0.05, ge=0, le=1)
    exit_weeks: int = Field(3, ge=1)

    @model_validator(mode="after")
    def _red_above_yellow(self) -> ZonesConfig:
        # red below yellow would put every client at risk in red and leave yellow empty
        if self.red < self.yellow:
            raise ValueError(
                f"score.zones.red ({self.red:g}) must not be below score.zones.yellow ({self.yellow:g}): "
                "red is the higher-risk zone"
            )
        return self


class ScoreConfig(_Section):
    zones: ZonesConfig = ZonesConfig()
    top_drivers: int = Field(3, ge=1)
    history_weeks: int = Field(26, ge=1)
    drift_psi: float = Field(0.25, gt=0)
    max_data_lag_days: int = Field(21, ge=0)
    report_clients: int = Field(100, ge=0)
    report_movers: int = Field(20, ge=0)
    change_min: float = Field(0.01, ge=0, le=1)
    explain_limit: int | None = Field(None, ge=0)
    batch_rows: int = Field(400_000, ge=1)
    batch_clients: int = Field(10_000, ge=1)
    scratch_dir: Path | None = None
    client_week_store: bool = False
    currency: str = "EUR"
    renewal_days: int = Field(60, ge=0)
    onboarding_days: int = Field(120, ge=1)
    onboarding_min_days: int = Field(30, ge=0)
    onboarding_active_share: float = Field(0.5, ge=0, le=1)
    report_owner_clients: int = Field(15, ge=0)
    silent_days: int = Field(30, ge=1)


class ValueConfig(_Section):
    default_margin: float = Field(0.7, ge=0, le=1)
    tier_a_share: float = Field(0.2, ge=0, le=1)
    tier_a_strategic: int = Field(2, ge=0, le=3)
    tier_b_share: float = Field(0.5, ge=0, le=1)
    max_lifetime_years: float = Field(10, gt=0)
    retained_years: float | None = Field(None, gt=0)
    keep_strategic: int = Field(2, ge=0, le=3)
    low_margin: float = Field(0.1, ge=0, le=1)
    toxic_tickets: int = Field(6, ge=1)
    toxic_days: int = Field(365, ge=1)
    service_load: float = Field(30.0, gt=0)
    low_loyalty_returns: int = Field(2, ge=1)


RuleName = Literal[
    "cancellation_request",
    "term_lapsed",
    "no_activity",
    "unanswered_outreach",
    "low_ratings",
    "complaints",
    "payment_trouble",
    "contraction",
    "price_rise",
    "usage_drop",
    "health_drop",
    "data_export",
    "champion_change",
    "vendor_review",
    "budget_pressure",
    "onboarding_stalled",
]
Role = Literal["sales", "service", "success", "finance", "management"]


class RulesConfig(_Section):
    no_activity_days: int = Field(90, ge=1)
    no_activity_rhythm: float = Field(1.5, ge=0)
    term_lapsed_days: int = Field(3, ge=0)
    unanswered_outreach: int = Field(2, ge=1)
    unanswered_days: int = Field(91, ge=1)
    # ... and the run is one the client's own answer rate gives by chance under this share of the time (1: the count)
    unanswered_chance: float = Field(0.1, gt=0, le=1)
    # unanswered_outreach skips mailings: the outbound touches of one day and channel to at least this share of the
    # clients on the books then and at least mailing_min_clients of them (a newsletter, a price letter)
    mailing_share: float = Field(0.3, gt=0, le=1)
    mailing_min_clients: int = Field(20, ge=1)
    low_ratings: int = Field(2, ge=1)
    low_ratings_days: int = Field(91, ge=1)
    health_drop_points: float = Field(20, gt=0)
    health_drop_weeks: int = Field(13, ge=1)
    data_export_days: int = Field(28, ge=1)
    champion_change_days: int = Field(91, ge=1)
    complaints: int = Field(2, ge=1)
    complaints_days: int = Field(91, ge=1)
    # complaints fire only beyond this share of the client's orders in complaints_days (0: the count alone)
    complaints_per_order: float = Field(0.05, ge=0, le=1)
    # ... and beyond this many per distinct active user of the window nearest complaints_days (0: users not counted)
    complaints_per_user: float = Field(0.0, ge=0)
    payment_trouble_days: int = Field(91, ge=1)
    overdue_days: int = Field(14, ge=0)
    overdue_usual_days: int = Field(365, ge=0)
    vendor_review_days: int = Field(91, ge=1)
    budget_pressure_days: int = Field(91, ge=1)
    cancellation_days: int = Field(91, ge=1)
    contraction_share: float = Field(0.25, gt=0, lt=1)
    contraction_days: int = Field(91, ge=1)
    price_rise_share: float = Field(0.15, gt=0)
    price_rise_days: int = Field(91, ge=1)
    price_rise_discount: float = Field(0.3, gt=0, le=1)
    usage_drop_share: float = Field(0.6, gt=0, lt=1)
    usage_drop_days: int = Field(28, ge=1)
    usage_drop_usual_days: int = Field(154, ge=7)
    usage_drop_min_events: float = Field(12, gt=0)
    enabled: tuple[RuleName, ...] = (
        "cancellation_request",
        "term_lapsed",
        "no_activity",
        "unanswered_outreach",
        "low_ratings",
        "complaints",
        "payment_trouble",
        "contraction",
        "price_rise",
        "usage_drop",
        "health_drop",
        "data_export",
        "champion_change",
        "vendor_review",
        "budget_pressure",
        "onboarding_stalled",
    )
    # a fired rule can raise the zone to at least this one (the model's zone is kept in model_zone); green:
    # no raise (a config file cannot delete a default's key)
    raise_zone: dict[RuleName, Literal["green", "yellow", "red"]] = Field(
        default_factory=lambda: {
            "cancellation_request": "red",
            "term_lapsed": "red",
            "champion_change": "yellow",
            "vendor_review": "yellow",
            "low_ratings": "yellow",
            "usage_drop": "yellow",
            "payment_trouble": "yellow",
        }
    )


class Play(_Section):
    """One playbook entry: the role who acts and the task."""

    role: Role
    task: str


class PlaybooksConfig(_Section):
    escalation_role: str = "head_of_customer_success"
    # the zones and value tiers whose clients are escalated to escalation_role
    escalate: dict[Literal["green", "yellow", "red"], list[Literal["A", "B", "C"]]] = Field(
        default_factory=lambda: {"red": ["A", "B"], "yellow": ["A"]}
    )
    # the action when no rule fired and no driver raises the risk (mostly green clients)
    actions: dict[Literal["green", "yellow", "red"], dict[Literal["A", "B", "C"], str]] = Field(
        default_factory=lambda: {
            "green": {
                "A": "Quarterly business review; look for expansion",
                "B": "Keep the regular cadence",
                "C": "Automated nurture",
            },
            "yellow": {
                "A": "Owner check-in call: ask about goals for the next quarter",
                "B": "Owner check-in call",
                "C": "Automated check-in",
            },
            "red": {
                "A": "Owner call with a success plan",
                "B": "Owner call with a success plan",
                "C": "Owner call",
            },
        }
    )
    # how soon, by zone and value tier: the prefix of every action ("Red, tier A: this week")
    urgency: dict[Literal["green", "yellow", "red"], dict[Literal["A", "B", "C"], str]] = Field(
        default_factory=lambda: {
            "red": {"A": "This week", "B": "This week", "C": "This week"},
            "yellow": {"A": "Within two weeks", "B": "Within two weeks", "C": "This month"},
            "green": {"A": "At the next review", "B": "At the next review", "C": "When convenient"},
        }
    )
    # a renewal due within this many days takes red's urgency (within renewal_soon_days: yellow's)
    renewal_urgent_days: int = Field(14, ge=0)
    renewal_soon_days: int = Field(30, ge=0)
    # the play of these rules takes red's urgency outside green: a failed card lapses with its next debit
    urgent_rules: tuple[RuleName, ...] = ("payment_trouble",)
    # in the grace period, the play of these rules (the cause of the lapse) comes before the renewal call
    grace_causes: tuple[RuleName, ...] = ("payment_trouble",)
    # a fired rule decides the action (the first fired one in this order); then the leading driver family
    rules: dict[RuleName, Play] = Field(
        default_factory=lambda: {
            "cancellation_request": Play(
                role="sales",
                task="Save call: they asked to cancel; find what would keep them before it takes effect",
            ),
            "term_lapsed": Play(
                role="sales",
                task="Renewal call: the term ended and was not renewed; ask what blocks it and renew",
            ),
            "champion_change": Play(
                role="management",
                task="Meet the new decision maker: relationship reset and a joint improvement plan",
            ),
            "vendor_review": Play(
                role="management",
                task="Executive call before the vendor review ends: value review and tariff review",
            ),
            "payment_trouble": Play(
                role="finance", task="Resolve the failed or overdue invoices; offer a payment plan"
            ),
            "complaints": Play(
                role="service",
                task="Follow up on the recent complaints (what was fixed, what is left); service review with the client",
            ),
            "low_ratings": Play(
                role="service", task="Call about the low ratings; process review and a fix plan"
            ),
            "contraction": Play(
                role="success",
                task="Account review: ask why they cut seats or plan, and what would win it back",
            ),
            "price_rise": Play(
                role="sales",
                task="Price rise: explain what the new price buys and offer the options (before a rise to come "
                "starts; now, for one already started)",
            ),
            "usage_drop": Play(
                role="success",
                task="Usage review: their use fell far below its usual; ask what changed and who stopped using it",
            ),
            "budget_pressure": Play(
                role="management",
                task="Value review before their budget decision: what they get, in their numbers, and the options",
            ),
            "onboarding_stalled": Play(
                role="success", task="Onboarding follow-up: training session and a first-90-days plan"
            ),
            "data_export": Play(
                role="success", task="Call about the data export: what do they need the data for?"
            ),
            "unanswered_outreach": Play(
                role="success", task="Reach another contact: outreach went unanswered twice in a row"
            ),
            "no_activity": Play(
                role="sales", task="No recent order or use: call about purchase plans and budget"
            ),
            "health_drop": Play(
                role="success", task="Health dropped sharply: review the drivers with the client"
            ),
        }
    )
    families: dict[Literal["usage", "payments", "communication", "support", "account"], Play] = Field(
        default_factory=lambda: {
            "usage": Play(role="success", task="Adoption review: training on the key features"),
            "payments": Play(role="sales", task="Purchase plans and budget: tariff review"),
            "communication": Play(
                role="success", task="Re-engage: call the champion; agree on a check-in rhythm"
            ),
            "support": Play(role="service", task="Service review: resolve open tickets; process review"),
            "account": Play(
                role="management",
                task="Account review with the decision maker: what changed for them, what comes next",
            ),
        }
    )
    # a client in its grace period, a renewal due soon, and a client not worth keeping
    grace: Play = Play(role="sales", task="Renewal call: ask what stands in the way and renew the term")
    renewal: Play = Play(
        role="sales", task="Prepare the renewal: what the last term brought them and the offer for the next"
    )
    let_go: Play = Play(role="management", task="No discount and no escalation; keep the door open")
    # a client that never paid (every term so far free: a trial, a free plan), yellow or red or its trial ended
    trial: Play = Play(
        role="success",
        task="Convert the trial: a guided start on what they have not used yet, and the plan that fits them",
    )

    @model_validator(mode="after")
    def _urgent_within_soon(self) -> PlaybooksConfig:
        if self.renewal_urgent_days > self.renewal_soon_days:
            raise ValueError(
                f"playbooks.renewal_urgent_days ({self.renewal_urgent_days}) must not exceed "
                f"playbooks.renewal_soon_days ({self.renewal_soon_days}): the urgent renewals are the soonest"
            )
        return self


class WinbackConfig(_Section):
    """The win-back playbook: stages by days since leaving, an approach per reason, who not to bring back."""

    stages: tuple[int, ...] = (30, 90, 180)
    stage_actions: tuple[str, ...] = (
        "watch: a soft touch",
        "active engagement",
        "recovery attempt",
        "recovery attempt",
    )
    approaches: dict[str, str] = Field(
        default_factory=lambda: {
            "price": "a price match or a loyalty offer",
            "service": "a call from a manager: an honest apology and what was fixed",
            "forgot": "news, a useful guide, 'we thought of you'",
            "lost_interest": "related products and what is new",
            "competitor": "what we do better now, a switch-back offer",
            "moved": "no attempt: keep a soft relationship (newsletter, season's greetings)",
            "payment_failed": "a reminder to update the payment method; reactivate in one click",
            "closed": "none: the client no longer exists",
            "completed": "what comes next: the next course, level or goal after the one they finished, no save offer",
            "other": "ask what would make them come back",
        }
    )
    default_approach: str = "ask what would make them come back"
    no_attempt_reasons: tuple[str, ...] = ("moved",)
    no_contact_reasons: tuple[str, ...] = ("closed",)
    # involuntary churn (a card that failed): its approach from the first day, and an attempt whatever the
    # lifetime value (a reminder to update the card costs next to nothing; waiting a month loses them)
    immediate_reasons: tuple[str, ...] = ("payment_failed",)
    # ... unless the client left owing: at least this many failed payments in the year before its departure that
    # no payment settled (months of unpaid bills: a debt to recover, not a card to update), let go (0: never)
    debt_failures: int = Field(3, ge=0)
    # a client that never paid (its terms all free: an expired free trial, a free plan; crm.free_trials): a
    # prospect to re-offer cheaply (decision re-offer, whatever its lifetime value), ranked by its days of use
    trial_approach: str = "an e-mail with a trial extension or a first-month offer, nothing more costly"
    # ... a trialist that used the product on at least this share of its trial's days is offered its first paid
    # month, one that used it less a trial extension with a guided start, one that never did a new trial
    trial_used_share: float = Field(0.25, ge=0, le=1)
    cost_per_attempt: float = Field(500.0, ge=0)
    min_value_ratio: float = Field(1.5, ge=0)
    repeated_complaints: int = Field(2, ge=1)
    discount_demands: int = Field(1, ge=1)
    low_loyalty_days: int = Field(365, ge=0)
    high_demands: int = Field(4, ge=1)
    # complaints and requests are demanding (the two let-go tests above) only when more than this share of the
    # client's orders of its last year: a commuter's 4 complaints in 300 trips are wear, a monthly account's 4 in
    # 12 invoices are not (0: the counts alone)
    demands_per_order: float = Field(0.05, ge=0, le=1)
    regular_orders: int = Field(10, ge=1)
    high_value_share: float = Field(0.2, ge=0, le=1)
    call_gap_days: tuple[int, int] = (3, 5)
    # a return counts within this many days: of a contact (the A/B tests and return rates compare only
    # the contacts that have had them all) and, on the list, of the days a client has been gone (its
    # chance of a return, measured on the past absences)
    follow_up_days: int = Field(180, ge=1)
    # the list's chance of a return per reason is smoothed towards all reasons' with the weight of this
    # many absences
    return_prior: float = Field(20.0, ge=0)
    # true: an attempt whose expected value (lifetime value x the chance of a return, at the upper end of its 95%
    # interval) is under cost_per_attempt waits for the first later day whose chance pays the cost, else keeps in
    # touch (reporting.winback.attempt_days): where returns come on their own schedule (switchers back when a rival's
    # fixed term ends). Off by default: the chance is measured on past absences, contacted or not, and a campaign
    # may bring back far more than it (the generated CRM's campaign B: 16.9% of its contacts)
    attempt_by_chance: bool = False

    @field_validator("stages")
    @classmethod
    def _increasing(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(b <= 0 for b in v) or list(v) != sorted(set(v)):
            raise ValueError("stages must be increasing positive day counts, e.g. [30, 90, 180]")
        return v

    @field_validator("call_gap_days")
    @classmethod
    def _gap(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] < 1 or v[1] < v[0]:
            raise ValueError("call_gap_days must be [shortest, longest] days between calls, e.g. [3, 5]")
        return v

    @model_validator(mode="after")
    def _one_action_per_stage(self) -> WinbackConfig:
        if len(self.stage_actions) != len(self.stages) + 1:
            raise ValueError(
                f"stage_actions needs one action per stage: {len(self.stages) + 1} "
                f"(stages has {len(self.stages)} edges), got {len(self.stage_actions)}"
            )
        return self


class TrackingConfig(_Section):
    uri: str = "sqlite:///mlflow.db"
    experiment: str | None = None


class Config(_Section):
    """The whole configuration; functions receive one slice (``cfg.label``), never all of it."""

    paths: PathsConfig = PathsConfig()
    data: DataConfig = DataConfig()
    label: LabelConfig = LabelConfig()
    snapshots: SnapshotsConfig = SnapshotsConfig()
    features: FeaturesConfig = FeaturesConfig()
    train: TrainConfig = TrainConfig()
    tune: TuneConfig = TuneConfig()
    score: ScoreConfig = ScoreConfig()
    value: ValueConfig = ValueConfig()
    rules: RulesConfig = RulesConfig()
    playbooks: PlaybooksConfig = PlaybooksConfig()
    winback: WinbackConfig = WinbackConfig()
    tracking: TrackingConfig = TrackingConfig()

    @model_validator(mode="after")
    def _resolved_features(self) -> Config:
        """The ``auto`` feature settings decided for the label source (with ``label.source: auto``, once
        the source is: :func:`with_label_source`). For purchases without a contract (``label.source:
        inactivity``, a shop's orders; ``mixed``, a shop with subscribers too) ``features.lifetime`` is on
        (RFM's lifetime frequency and order value), ``features.unobserved_windows`` is ``scaled`` and
        ``features.orders_at`` is ``issued`` (an order counts when placed, :func:`churnml.labels.order_placed_at`,
        as the label reads it); for contract billing the lifetime count of regular invoices repeats the tenure,
        a window that reaches before the data is ``unknown`` (docs/benchmarks.md, "Lifetime columns" and
        "Windows longer than the data"), and a term's charge counts when paid (``orders_at: paid``)."""
        if self.label.source == "auto":
            return self
        shop = self.label.source in ("inactivity", "mixed")
        update: dict[str, Any] = {}
        if self.features.lifetime == "auto":
            update["lifetime"] = shop
        if self.features.unobserved_windows == "auto":
            update["unobserved_windows"] = "scaled" if shop else "unknown"
        if self.features.orders_at == "auto":
            update["orders_at"] = "issued" if shop else "paid"
        if update:
            object.__setattr__(self, "features", self.features.model_copy(update=update))  # frozen
        return self

    @model_validator(mode="after")
    def _rates_into_the_reporting_currency(self) -> Config:
        """``data.currency_rates`` convert into ``score.currency``, the currency every output names: when
        rates are given, that currency is among them at 1 (rates into EUR under a USD report would name
        euros dollars)."""
        rates, currency = self.data.currency_rates, self.score.currency.strip().upper()
        if rates and rates.get(currency) != 1:
            got = f"it has {currency}: {rates[currency]:g}" if currency in rates else f"it has no {currency}"
            raise ValueError(
                f"data.currency_rates convert amounts into score.currency ({currency}), so they give "
                f"{currency}: 1 ({got}); set score.currency to the currency the rates are into, or give each "
                f"rate into {currency}"
            )
        return self


def with_label_source(cfg: Config, source: str) -> Config:
    """``cfg`` with ``label.source`` set to ``source`` (a concrete one, for ``auto`` resolved against a
    dataset: :func:`churnml.jobs.common.config_for`), the ``auto`` feature settings decided for it."""
    data = cfg.model_dump()
    data["label"]["source"] = source
    return Config.model_validate(data)


def default_config_path() -> Path:
    """The defaults shipped inside the package, ``churnml/default.yaml`` (``configs/default.yaml`` links here).

    Always the package's file, never a ``configs/`` folder found above it: an installed churnml inside
    another project must not pick up that project's file."""
    return Path(str(resources.files("churnml") / "default.yaml"))


def default_config_text() -> str:
    """The text of the package's ``default.yaml``, read as a package resource: inside a zip (``spark-submit
    --py-files churnml.whl``) it has no file path (:func:`default_config_path` names it for messages)."""
    return (resources.files("churnml") / "default.yaml").read_text(encoding="utf-8")


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key written twice in one mapping: YAML keeps the last silently, so a
    config holding two ``label:`` sections (one copied from an example) lost the first without a word."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} written twice (lines {seen[key]} and {line}): keep one", None
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path, text: str | None = None) -> dict[str, Any]:
    """The YAML mapping of the file ``path`` (or of ``text``, read from it elsewhere); a key written twice in
    one mapping is an error naming it and its lines (:class:`_UniqueKeyLoader`)."""
    try:
        loaded = yaml.load(Path(path).read_text() if text is None else text, Loader=_UniqueKeyLoader)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, not {type(loaded).__name__}")
    return loaded


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _with_override(tree: dict[str, Any], assignment: str) -> dict[str, Any]:
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected key=value, e.g. label.horizon_days=30")
    dotted, raw = assignment.split("=", 1)
    keys = [k for k in dotted.strip().split(".") if k]
    if not keys:
        raise ConfigError(f"--set {assignment!r}: empty key")
    value = yaml.safe_load(raw) if raw.strip() else None
    patch: dict[str, Any] = {keys[-1]: value}
    for key in reversed(keys[:-1]):
        patch = {key: patch}
    return _merged(tree, patch)


def _error_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key '{key}'")
        elif not key:  # a rule across sections (Config's own validators): its message names the keys
            parts.append(str(err["msg"]).removeprefix("Value error, "))
        else:
            parts.append(f"'{key}': {err['msg']} (got {err.get('input')!r})")
    return "bad config: " + "; ".join(parts)


def load_config(
    path: Path | str | Sequence[Path | str] | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> Config:
    """Defaults, then the partial YAML at ``path`` (or each of several, merged in order), then each
    ``key=value`` override."""
    tree = _read_yaml(default_config_path(), default_config_text())
    paths = [] if path is None else [path] if isinstance(path, (str, Path)) else list(path)
    for one in paths:
        tree = _merged(tree, _read_yaml(Path(one)))
    for assignment in overrides:
        tree = _with_override(tree, assignment)
    try:
        return Config.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(_error_message(exc)) from None


def config_hash(cfg: Config) -> str:
    """A stable short hash of the effective configuration (recorded in manifests and MLflow)."""
    return _short_hash(cfg.model_dump(mode="json"))


# settings that say how a run executes or words its text, not what a client's weekly probability is
_NOT_IN_HISTORY = {
    "features": {"engine", "login_noun", "value_noun", "seat_noun"},
    "data": {"name", "as_of", "max_examples"},
}
# the settings of other sections the features read: the mailings the communication features leave out
_IN_HISTORY = {"rules": {"mailing_share", "mailing_min_clients"}}


def history_hash(cfg: Config, code_version: str | None = None) -> str:
    """A stable short hash of the settings a list's weekly health history depends on (besides the model
    and the data): the features (not their engine or nouns), the label, how the data is read (not its
    as-of date), the rules the features read (``rules.mailing_share``, ``rules.mailing_min_clients``: the
    mailings the communication features leave out) and churnml's version (``code_version``, default the
    installed one: a new release may compute a feature differently, so its first list scores the history
    again). Next week's list reuses last week's history when it matches: a change of the other rules,
    values, playbooks, batch sizes or engine keeps it."""
    from churnml import __version__

    sections: dict[str, Any] = {"churnml": code_version or __version__}
    sections |= {
        name: getattr(cfg, name).model_dump(mode="json", exclude=_NOT_IN_HISTORY.get(name, set()))
        for name in ("features", "label", "data")
    }
    sections.update(
        {name: getattr(cfg, name).model_dump(mode="json", include=keys) for name, keys in _IN_HISTORY.items()}
    )
    return _short_hash(sections)


def _short_hash(tree: Any) -> str:
    blob = json.dumps(tree, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
