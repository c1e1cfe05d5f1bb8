"""The registry: every emitted column is described, and sentences read right."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from feature_helpers import dataset_of, random_tables, spine

from churnml.config import FeaturesConfig
from churnml.contract.schemas import CLIENT_ID, Table
from churnml.features import FEATURES, FeatureSpec, build_features, feature_spec, sentence
from churnml.features.registry import FAMILIES, feature_names

START, END = datetime(2023, 1, 2), datetime(2024, 1, 1)


def test_every_emitted_column_is_registered_and_every_registered_one_is_emitted():
    frames = random_tables(11, START, END)
    ids = frames[Table.CLIENTS].get_column(CLIENT_ID).to_list()
    out = build_features(dataset_of(frames, START, END), spine(ids, [date(2023, 9, 4)]), FeaturesConfig())
    assert out.columns[2:] == list(FEATURES)


def test_other_windows_are_understood():
    cfg = FeaturesConfig(windows=(14, 35))
    frames = random_tables(12, START, END)
    ids = frames[Table.CLIENTS].get_column(CLIENT_ID).to_list()
    out = build_features(dataset_of(frames, START, END), spine(ids, [date(2023, 9, 4)]), cfg)
    assert "usage_logins_35d" in out.columns and "usage_logins_28d" not in out.columns
    for name in out.columns[2:]:
        assert feature_spec(name).name == name
    assert feature_spec("usage_logins_35d").template == "{value:.0f} logins in the last 35 days"


@pytest.mark.parametrize(
    ("name", "window"),
    [
        (
            "usage_logins_per_week_35d",
            ("usage_logins_per_week_{w}d", 35),
        ),  # any window, not the configured only
        ("usage_events_per_week_182d", ("usage_events_per_week_{w}d", 182)),
        ("comm_reply_rate_91d", ("comm_reply_rate_{w}d", 91)),
        ("payments_mrr_change_91d", None),  # a fixed 91 days in its name, no windowed pattern
        ("usage_days_since_event", None),
        ("usage_logins_per_week_x28d", None),
        ("my_own_column_28d", None),  # no pattern of the registry
    ],
)
def test_a_columns_window_is_read_from_the_registrys_patterns(
    name: str, window: tuple[str, int] | None
) -> None:
    from churnml.features.registry import feature_window

    assert feature_window(name) == window


@pytest.mark.parametrize("spec", list(FEATURES.values()), ids=list(FEATURES))
def test_specs_are_complete(spec: FeatureSpec):
    assert spec.family in FAMILIES
    assert spec.direction in (-1, 0, 1)
    assert spec.group and spec.unit and spec.label
    assert spec.name.startswith({"communication": "comm"}.get(spec.family, spec.family))
    text = sentence(spec.name, 0.5)
    assert "{" not in text and (text[0].isupper() or text[0].isdigit())


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "usage_logins_ratio",
            0.38,
            "Logins fell 62% against this client's usual rate (last 28 days vs the 91 days before)",
        ),
        (
            "usage_logins_ratio",
            1.3,
            "Logins rose 30% against this client's usual rate (last 28 days vs the 91 days before)",
        ),
        (
            "comm_meetings_disrupted_91d",
            3.0,
            "3 meetings rescheduled or cancelled or missed in the last 91 days",
        ),
        ("comm_no_reply_streak", 2.0, "The last 2 outreach attempts got no reply"),
        ("payments_mrr_change_91d", -0.25, "MRR fell 25% over the last 91 days"),
        ("payments_late_share_182d", 0.25, "25% of the invoices paid in the last 182 days were paid late"),
        ("support_csat_low_last2", 2.0, "The last two satisfaction ratings were low (at or below 2)"),
        ("comm_sentiment_trend", -0.3, "Sentiment fell by 0.30 (last 28 days vs the 91 days before)"),
        (
            "usage_key_share_trend",
            0.0,
            "The share of key-feature use did not change (last 28 days vs the 91 days before)",
        ),
        ("usage_logins_28d", None, "Logins in the last 28 days: no data"),
        # one of a thing reads in the singular
        ("usage_logins_28d", 1.0, "1 login in the last 28 days"),
        ("payments_orders_91d", 1.0, "1 payment or order in the last 91 days"),
        ("support_open_tickets", 1.0, "1 ticket still open"),
        ("support_open_urgent_tickets", 2.0, "2 urgent tickets still open"),
        ("payments_overdue_open", 1.0, "1 invoice overdue and still unpaid"),
        ("payments_overdue_open", 3.0, "3 invoices overdue and still unpaid"),
        ("support_open_tickets", 0.0, "0 tickets still open"),
        ("support_csat_low_last2", 1.0, "1 of the last two satisfaction ratings was low (at or below 2)"),
        ("support_csat_last", float("nan"), "Last satisfaction rating: no data"),
    ],
)
def test_sentences(name, value, expected):
    assert sentence(name, value) == expected


def test_unknown_feature_is_a_key_error():
    with pytest.raises(KeyError, match="unknown feature"):
        feature_spec("usage_nothing")


def test_groups_keep_one_signal_together():
    logins = {FEATURES[n].group for n in FEATURES if n.startswith("usage_logins")}
    assert logins == {"logins"}
    assert set(feature_names("account")) >= {"account_tenure_days", "account_champion_left_91d"}


def test_dates_are_days(tmp_path):
    # a guard for the unit of recency features: always whole days
    recency = [n for n in FEATURES if "days_since" in n]
    assert "usage_days_since_login" in recency  # the guard guards something
    assert {FEATURES[n].unit for n in recency} == {"days"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5.0, "The current term ends in 5 days"),
        (1.0, "The current term ends in 1 day"),
        (0.0, "The current term ends today"),
        (-12.0, "The last term ended 12 days ago; no new term since"),
        (-1.0, "The last term ended 1 day ago; no new term since"),
    ],
)
def test_days_to_term_end_reads_well_on_both_sides_of_the_end(value: float, expected: str) -> None:
    assert sentence("payments_days_to_term_end", value) == expected


@pytest.mark.parametrize(
    ("name", "value", "kwargs", "expected"),
    [
        ("usage_days_since_login", 1.0, {}, "Last login 1 day ago"),
        ("usage_time_28d", 7200.0, {}, "2 hours in the product in the last 28 days"),
        ("usage_time_28d", 5400.0, {}, "1.5 hours in the product in the last 28 days"),
        ("usage_time_28d", 3600.0, {}, "1 hour in the product in the last 28 days"),
        ("usage_time_28d", 1200.0, {}, "20 minutes in the product in the last 28 days"),
        ("payments_paid_91d", 8098.0, {"currency": "EUR"}, "EUR 8,098 paid in the last 91 days"),
        ("payments_mrr", 0.0, {"currency": "USD"}, "Current MRR is USD 0"),
        ("usage_logins_182d", 0.0, {"age_days": 15}, "0 logins in its first 15 days"),
        ("usage_logins_28d", 4.0, {"age_days": 15}, "4 logins in its first 15 days"),
        ("usage_logins_7d", 4.0, {"age_days": 15}, "4 logins in the last 7 days"),
        (
            "usage_logins_per_week_182d",
            1.0,
            {"age_days": 45},
            "1.0 logins per week over its first 45 days",
        ),
        ("comm_no_reply_streak", 1.0, {}, "The last outreach attempt got no reply"),
        ("comm_no_reply_streak", 2.0, {}, "The last 2 outreach attempts got no reply"),
    ],
)
def test_sentences_name_the_thing_in_the_right_number(
    name: str, value: float, kwargs: dict, expected: str
) -> None:
    text = sentence(name, value, **kwargs)
    assert text == expected
    assert "units of time" not in text and not re.search(r"(?<![\d.,])1 days", text)


def test_the_current_term_state_is_one_signal_group() -> None:
    # A lapsed term zeroes MRR, seats, add-ons and discount at once: one driver, not four.
    groups = {
        FEATURES[n].group
        for n in (
            "payments_mrr",
            "payments_seats",
            "payments_addons",
            "payments_discount",
            "payments_days_to_term_end",
        )
    }
    assert groups == {"contract"}


def test_families_are_defined_once_and_each_has_features():
    from churnml.scoring import explain

    assert explain.FAMILIES is FAMILIES  # family health reads the registry's list
    assert {FEATURES[n].family for n in FEATURES} == set(FAMILIES)


def test_the_collected_names_and_their_order_are_the_frozen_list():
    # the model reads columns by position: moving specs between modules must not reorder them
    frozen = (Path(__file__).parent / "frozen_feature_names.txt").read_text().split()
    assert len(frozen) == 242
    assert list(FEATURES) == frozen


def test_each_family_module_declares_its_own_specs():
    from churnml.features import account, communication, payments, support, usage

    modules = (usage, payments, communication, support, account)
    assert tuple(m.FAMILY for m in modules) == FAMILIES
    for m in modules:
        assert m.SPECS and {p.family for p in m.SPECS} == {m.FAMILY}
    assert [p.name for p in account.SPECS][:4] == [
        "account_tenure_days",
        "account_tenure_censored",
        "account_signals_{w}d",
        f"account_{account.SIGNAL_KINDS[0]}_{{w}}d",
    ]


def test_the_registry_refuses_a_spec_filed_under_another_family_or_a_name_twice():
    from churnml.features.registry import _collected
    from churnml.features.spec import spec

    def module(family, *names, declared=None):
        specs = tuple(spec(n, declared or family, "events", -1, "g", "{value:.0f} things") for n in names)
        return SimpleNamespace(FAMILY=family, SPECS=specs, __name__=f"fake_{family}")

    assert [p.name for p in _collected([module("usage", "usage_a"), module("account", "account_b")])] == [
        "usage_a",
        "account_b",
    ]
    with pytest.raises(RuntimeError, match="family 'usage' in fake_account"):
        _collected([module("account", "account_b", declared="usage")])
    with pytest.raises(RuntimeError, match="duplicate feature name usage_a"):
        _collected([module("usage", "usage_a"), module("support", "usage_a")])


@pytest.mark.parametrize(
    ("name", "value", "login", "order"),
    [
        ("usage_days_since_login", 56.0, "Last login 56 days ago", "Last order 56 days ago"),
        ("usage_logins_28d", 1.0, "1 login in the last 28 days", "1 order in the last 28 days"),
        (
            "usage_events_28d",
            3.0,
            "3 product events in the last 28 days",
            "3 product events in the last 28 days",
        ),
    ],
)
def test_the_login_columns_say_the_configured_noun(name, value, login, order):
    # a shop's adapted config counts orders as its logins and says so; the other columns keep their words
    shop = FeaturesConfig(login_events=("order",), login_noun="order")
    assert (sentence(name, value), sentence(name, value, shop)) == (login, order)
    assert feature_spec("usage_logins_ratio", shop).label == "trend of orders"


@pytest.mark.parametrize(
    ("name", "value", "seats", "vehicles"),
    [
        ("payments_seats", 297.0, "297 seats on active terms", "297 vehicles on active terms"),
        (
            "payments_seats_change_91d",
            -0.4,
            "Seats fell 40% over the last 91 days",
            "Vehicles fell 40% over the last 91 days",
        ),
        (
            "payments_downgrades_91d",
            2.0,
            "2 downgrades (lower MRR or fewer seats) in the last 91 days",
            "2 downgrades (lower MRR or fewer vehicles) in the last 91 days",
        ),
    ],
)
def test_the_quantity_columns_say_the_configured_noun(name, value, seats, vehicles):
    # a fleet tracker bills per vehicle: "297 seats on active terms" is not what its success managers count
    fleet = FeaturesConfig(seat_noun="vehicle")
    assert (sentence(name, value), sentence(name, value, fleet)) == (seats, vehicles)
    assert feature_spec("payments_seats", fleet).label == "current vehicles"
    assert feature_spec("payments_seats_change_91d", fleet).label == "vehicle change over 91 days"


@pytest.mark.parametrize(
    ("name", "value", "either", "paid"),
    [
        (
            "payments_days_since_payment",
            402.0,
            "Last payment or order 402 days ago",
            "Last payment 402 days ago",
        ),
        (
            "payments_orders_91d",
            1.0,
            "1 payment or order in the last 91 days",
            "1 payment in the last 91 days",
        ),
        (
            "payments_mean_gap_days",
            370.0,
            "Usually 370 days between payments or orders",
            "Usually 370 days between payments",
        ),
    ],
)
def test_the_order_columns_say_payments_when_orders_are_counted_when_paid(name, value, either, paid):
    # contract billing (features.orders_at: paid, the subscriptions label's): an order is counted at its payment,
    # so "Last payment or order 402 days ago" read false of an annual account whose invoice was issued 45 days ago
    billing = FeaturesConfig(orders_at="paid")
    assert (sentence(name, value), sentence(name, value, billing)) == (either, paid)
    assert sentence(name, value, FeaturesConfig(orders_at="issued")) == either
    assert feature_spec("payments_mean_gap_days", billing).label == "typical gap between payments"


def test_every_label_is_said_with_its_config_filled_in():
    # a label is said as it stands ("<label>: no data"): no placeholder may be left in it
    assert [n for n, s in FEATURES.items() if "{" in s.label or "}" in s.label] == []
    assert (
        FEATURES["usage_users_recent_share"].label
        == "share of the last 182 days' users active in the last 28 days"
    )
