"""Payment and subscription features on hand-built invoices and terms."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from feature_helpers import features_at, make_dataset, value

from churnml.config import Config, FeaturesConfig, LabelConfig
from churnml.contract.schemas import Table
from churnml.features.payments import LIFETIME

S0 = date(2024, 2, 12)  # Monday: invoice 1 is overdue, not yet paid (paid later that day)
S1 = date(2024, 3, 4)
S_OLD = date(2023, 12, 4)

CLIENTS = [{"client_id": "c", "created_at": datetime(2023, 6, 1)}]
PAYMENTS = [
    # paid 12 days late
    {
        "client_id": "c",
        "amount": 100.0,
        "issued_at": datetime(2024, 1, 1),
        "due_at": datetime(2024, 1, 31),
        "paid_at": datetime(2024, 2, 12, 10),
        "status": "paid",
    },
    # paid on time
    {
        "client_id": "c",
        "amount": 50.0,
        "issued_at": datetime(2024, 1, 1),
        "due_at": datetime(2024, 1, 15),
        "paid_at": datetime(2024, 1, 10),
        "status": "paid",
    },
    # still unpaid, due 2024-03-02: overdue at S1
    {
        "client_id": "c",
        "amount": 70.0,
        "issued_at": datetime(2024, 2, 1),
        "due_at": datetime(2024, 3, 2),
        "paid_at": None,
        "status": "open",
    },
    {
        "client_id": "c",
        "amount": 30.0,
        "issued_at": datetime(2024, 2, 20),
        "paid_at": None,
        "status": "failed",
    },
    {"client_id": "c", "amount": -20.0, "paid_at": datetime(2024, 2, 25), "status": "refunded"},
]
SUBSCRIPTIONS = [
    {
        "client_id": "c",
        "start_date": datetime(2023, 9, 1),
        "end_date": datetime(2024, 3, 1),
        "mrr": 100.0,
        "quantity": 10.0,
        "is_addon": False,
    },
    {
        "client_id": "c",
        "start_date": datetime(2023, 9, 1),
        "end_date": datetime(2024, 3, 1),
        "mrr": 20.0,
        "is_addon": True,
    },
    # renewal on a smaller plan with a discount, add-on dropped
    {
        "client_id": "c",
        "start_date": datetime(2024, 3, 1),
        "end_date": datetime(2024, 9, 1),
        "mrr": 80.0,
        "quantity": 8.0,
        "is_addon": False,
        "discount": 0.1,
    },
]


@pytest.fixture(scope="module")
def frame():
    tables = {Table.CLIENTS: CLIENTS, Table.PAYMENTS: PAYMENTS, Table.SUBSCRIPTIONS: SUBSCRIPTIONS}
    cfg = FeaturesConfig(lifetime=True)  # with RFM's lifetime columns
    return features_at(make_dataset(tables), ["c"], [S_OLD, S0, date(2024, 2, 26), S1], cfg)


@pytest.mark.parametrize(
    ("source", "lifetime", "expected"),
    [
        ("inactivity", "auto", True),  # a shop: RFM's lifetime frequency and order value
        ("subscriptions", "auto", False),  # contract billing: the invoice count repeats the tenure
        ("churns", "auto", False),
        ("subscriptions", True, True),  # said explicitly, it holds
        ("inactivity", False, False),
    ],
)
def test_lifetime_columns_are_on_for_purchases_without_a_contract(source, lifetime, expected):
    cfg = Config(label=LabelConfig(source=source), features=FeaturesConfig(lifetime=lifetime))
    assert cfg.features.lifetime is expected
    tables = {Table.CLIENTS: CLIENTS, Table.PAYMENTS: PAYMENTS}
    columns = features_at(make_dataset(tables), ["c"], [S1], cfg.features).columns
    assert [c for c in columns if c in LIFETIME] == (list(LIFETIME) if expected else [])


@pytest.mark.parametrize(
    ("snapshot", "feature", "expected"),
    [
        # the invoices begin on 2024-01-01, 122 days after the terms (2023-09-01): the payments log began late
        # (Dataset.payments_observed_from), and 91 days reach before it: unknown (were 150, 2 and 1, counted
        # as if the client had paid nothing from September to December)
        (S1, "payments_paid_91d", None),
        (S1, "payments_orders_91d", None),
        (S1, "payments_late_91d", None),
        (S1, "payments_paid_28d", 100),  # the 28 days lie within the log
        (S1, "payments_orders_28d", 1),
        (S1, "payments_late_share_91d", 0.5),
        (S1, "payments_days_late_91d", 6),  # (12 + 0) / 2
        (S1, "payments_overdue_open", 1),
        (S1, "payments_overdue_amount", 70),
        (S1, "payments_open", 1),
        (S1, "payments_failed_28d", 1),
        (S1, "payments_refunds_28d", 1),
        (S1, "payments_refunded_28d", 20),
        (S1, "payments_days_since_payment", 21),  # 2024-02-12 -> 2024-03-04
        (S1, "payments_mean_gap_days", 33),  # 2024-01-10 -> 2024-02-12
        (S1, "payments_gap_ratio", 21 / 33),
        (S1, "payments_orders_total", 2),  # the refund and the failed payment are not orders
        (S1, "payments_days_since_first_payment", 54),  # 2024-01-10 -> 2024-03-04
        (S1, "payments_mean_amount", 75),  # (100 + 50) / 2
        (S0, "payments_orders_total", 1),  # paid on the snapshot's day: not seen yet
        (S0, "payments_days_since_first_payment", 33),
        (S0, "payments_mean_amount", 50),
        (S_OLD, "payments_orders_total", 0),
        (S_OLD, "payments_days_since_first_payment", None),
        (S_OLD, "payments_mean_amount", None),
        # before the late payment arrives: overdue, and both invoices still open
        (S0, "payments_overdue_open", 1),
        (S0, "payments_overdue_amount", 100),
        (S0, "payments_open", 2),
        (S0, "payments_late_91d", None),  # was 0: 42 days of the log
        (S0, "payments_days_since_payment", 33),
        (S0, "payments_mean_gap_days", None),
        # subscriptions
        (S1, "payments_mrr", 80),
        (S1, "payments_seats", 8),
        (S1, "payments_addons", 0),
        (S1, "payments_mrr_change_91d", (80 - 120) / 120),
        (S1, "payments_seats_change_91d", -0.2),
        (S1, "payments_addons_change_91d", -1),
        (S1, "payments_downgrades_7d", 1),
        (S1, "payments_discount", 0.1),
        (S1, "payments_days_to_term_end", 181),  # 2024-09-01
        (date(2024, 2, 26), "payments_mrr", 120),
        (date(2024, 2, 26), "payments_days_to_term_end", 4),
        (date(2024, 2, 26), "payments_discount", None),
        (S_OLD, "payments_mrr", 120),
    ],
)
def test_payment_values(frame, at, snapshot, feature, expected):
    got = at(frame, "c", snapshot, feature)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def test_without_subscriptions_no_plan_columns(build):
    frame = build({Table.CLIENTS: CLIENTS, Table.PAYMENTS: PAYMENTS}, ["c"], [S1])
    assert "payments_paid_91d" in frame.columns
    assert "payments_mrr" not in frame.columns
    assert not any(c.startswith(("usage_", "comm_", "support_")) for c in frame.columns)


@pytest.mark.parametrize(
    ("snapshot", "mrr", "days_to_end"),
    [
        (date(2025, 3, 10), 105, 21),  # the plan ends 2025-03-31 (the add-on to 2025-12-31 read 296 days)
        (date(2025, 4, 7), 5, -7),  # in the plan's grace: its end is behind, whatever the add-on
    ],
)
def test_the_term_end_is_the_base_plan_s_when_an_add_on_outlives_it(build, at, snapshot, mrr, days_to_end):
    # the labels read the customer's term from its base plans (labels.customer_terms): so does the feature
    subscriptions = [
        {
            "client_id": "a",
            "start_date": datetime(2025, 1, 1),
            "end_date": datetime(2025, 3, 31),
            "mrr": 100.0,
            "is_addon": False,
        },
        {
            "client_id": "a",
            "start_date": datetime(2025, 2, 1),
            "end_date": datetime(2025, 12, 31),
            "mrr": 5.0,
            "is_addon": True,
        },
    ]
    clients = [{"client_id": "a", "created_at": datetime(2025, 1, 1)}]
    frame = build({Table.CLIENTS: clients, Table.SUBSCRIPTIONS: subscriptions}, ["a"], [snapshot])
    assert at(frame, "a", snapshot, "payments_mrr") == pytest.approx(mrr)  # revenue: the add-on's too
    assert at(frame, "a", snapshot, "payments_days_to_term_end") == pytest.approx(days_to_end)


def test_a_client_with_add_ons_only_reads_their_end(build, at):
    subscriptions = [
        {
            "client_id": "a",
            "start_date": datetime(2025, 1, 1),
            "end_date": datetime(2025, 6, 30),
            "mrr": 5.0,
            "is_addon": True,
        }
    ]
    clients = [{"client_id": "a", "created_at": datetime(2025, 1, 1)}]
    frame = build({Table.CLIENTS: clients, Table.SUBSCRIPTIONS: subscriptions}, ["a"], [date(2025, 3, 10)])
    assert at(frame, "a", date(2025, 3, 10), "payments_days_to_term_end") == pytest.approx(112)


@pytest.mark.parametrize("placeholder", [None, datetime(1900, 1, 1), datetime(1753, 1, 1)])
def test_a_placeholder_date_does_not_make_a_young_datasets_long_windows_observed(placeholder):
    # two orders of 10 (01-06 and 04-07 2025): the data starts on 01-06, so a 182-day window at 05-26 reaches
    # back before it and is unknown; a payment dated like a placeholder for "unknown" does not move that start
    orders = [
        {"client_id": "c", "amount": 10.0, "paid_at": datetime(2025, 1, 6)},
        {"client_id": "c", "amount": 10.0, "paid_at": datetime(2025, 4, 7)},
    ]
    extra = [{"client_id": "c", "amount": 5.0, "paid_at": placeholder}] if placeholder else []
    data = make_dataset(
        {
            Table.CLIENTS: [{"client_id": "c", "created_at": datetime(2025, 1, 2)}],
            Table.PAYMENTS: orders + extra,
        }
    )
    assert data.first_activity() == datetime(2025, 1, 6)
    got = features_at(data, ["c"], [date(2025, 5, 26)]).row(0, named=True)
    assert (got["payments_paid_91d"], got["payments_paid_182d"], got["payments_orders_182d"]) == (
        10.0,
        None,
        None,
    )


PLACEHOLDER = datetime(1900, 1, 1)  # "unknown", kept by validation and not the data's start
FEB5, MAR4 = date(2024, 2, 5), date(2024, 3, 4)


def invoice(issued: datetime, due: datetime, paid: datetime | None) -> dict:
    return {"client_id": "c", "amount": 50.0, "issued_at": issued, "due_at": due, "paid_at": paid}


@pytest.mark.parametrize(
    ("placeholder_invoice", "feature", "expected"),
    [
        # issued on the placeholder, paid on 2024-02-12: open until then (was 0, then -1)
        (invoice(PLACEHOLDER, datetime(2024, 2, 20), datetime(2024, 2, 12)), "payments_open", [1, 0]),
        (invoice(PLACEHOLDER, datetime(2024, 2, 20), None), "payments_open", [1, 1]),
        # due on the placeholder too: overdue until paid (was 0, then -1 and -50)
        (invoice(PLACEHOLDER, PLACEHOLDER, datetime(2024, 2, 12)), "payments_overdue_open", [1, 0]),
        (invoice(PLACEHOLDER, PLACEHOLDER, datetime(2024, 2, 12)), "payments_overdue_amount", [50, 0]),
        # issued and paid on placeholders: never open in the grid
        (invoice(PLACEHOLDER, PLACEHOLDER, PLACEHOLDER), "payments_open", [0, 0]),
    ],
)
def test_an_invoice_issued_on_a_placeholder_date_is_open_from_the_grid_s_start(
    build, at, placeholder_invoice, feature, expected
):
    payments = [
        invoice(datetime(2024, 1, 2), datetime(2024, 1, 20), datetime(2024, 1, 5)),
        placeholder_invoice,
    ]
    clients = [{"client_id": "c", "created_at": datetime(2024, 1, 1)}]
    frame = build({Table.CLIENTS: clients, Table.PAYMENTS: payments}, ["c"], [FEB5, MAR4])
    assert [at(frame, "c", s, feature) for s in (FEB5, MAR4)] == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (PLACEHOLDER, datetime(2024, 2, 20), [100, 0]),  # runs from the grid's start (was 0, then -100)
        (PLACEHOLDER, datetime(1901, 1, 1), [0, 0]),  # ended before the grid: in none of its weeks
        (datetime(2024, 1, 2), datetime(2024, 2, 20), [100, 0]),
    ],
)
def test_a_term_started_on_a_placeholder_date_runs_from_the_grid_s_start(build, at, start, end, expected):
    subscriptions = [
        {"client_id": "c", "start_date": start, "end_date": end, "mrr": 100.0, "is_addon": False}
    ]
    payments = [invoice(datetime(2024, 1, 2), datetime(2024, 1, 20), datetime(2024, 1, 5))]
    clients = [{"client_id": "c", "created_at": datetime(2024, 1, 1)}]
    frame = build(
        {Table.CLIENTS: clients, Table.PAYMENTS: payments, Table.SUBSCRIPTIONS: subscriptions},
        ["c"],
        [FEB5, MAR4],
    )
    assert [at(frame, "c", s, "payments_mrr") for s in (FEB5, MAR4)] == expected


# a distributor's order on 40-day credit terms: invoiced on Monday 2024-01-08, paid on Saturday 02-17; the
# snapshot of 01-22 falls between the two, that of 02-19 after both
CREDIT = [
    {
        "client_id": "shop",
        "amount": 400.0,
        "issued_at": datetime(2024, 1, 8, 9),
        "due_at": datetime(2024, 2, 7, 9),
        "paid_at": datetime(2024, 2, 17, 11),
        "status": "paid",
    },
    # an earlier order, paid 40 days later too
    {
        "client_id": "shop",
        "amount": 200.0,
        "issued_at": datetime(2023, 11, 27, 9),
        "due_at": datetime(2023, 12, 27, 9),
        "paid_at": datetime(2024, 1, 6, 11),
        "status": "paid",
    },
]
BETWEEN, AFTER = date(2024, 1, 22), date(2024, 2, 19)


@pytest.mark.parametrize(
    ("orders_at", "at", "feature", "expected"),
    [
        # placed when invoiced: the snapshot between issued_at and paid_at sees the order, not the money
        ("issued", BETWEEN, "payments_orders_28d", 1),
        ("issued", BETWEEN, "payments_days_since_payment", 14.0),  # since its last order, 01-08
        ("issued", BETWEEN, "payments_mean_gap_days", 42.0),  # 11-27 -> 01-08
        ("issued", BETWEEN, "payments_orders_total", 2.0),
        ("issued", BETWEEN, "payments_mean_amount", 300.0),  # (200 + 400) / 2: the orders' amounts
        ("issued", BETWEEN, "payments_paid_28d", 200.0),  # the money of 01-06 (the first order's), not 400
        ("issued", BETWEEN, "payments_open", 1),  # the invoice of 01-08, unpaid then
        ("issued", AFTER, "payments_orders_28d", 0),  # 42 days after the last order
        ("issued", AFTER, "payments_days_since_payment", 42.0),
        ("issued", AFTER, "payments_paid_28d", 400.0),  # paid 02-17
        # placed when paid (contract billing's charges, as before)
        ("paid", BETWEEN, "payments_orders_28d", 1),  # the payment of 01-06
        ("paid", BETWEEN, "payments_days_since_payment", 16.0),
        ("paid", BETWEEN, "payments_orders_total", 1.0),
        ("paid", BETWEEN, "payments_mean_amount", 200.0),
        ("paid", AFTER, "payments_orders_28d", 1),
        ("paid", AFTER, "payments_days_since_payment", 2.0),
        ("paid", AFTER, "payments_mean_gap_days", 42.0),  # 01-06 -> 02-17
    ],
)
def test_an_order_on_credit_terms_counts_when_invoiced_and_its_money_when_paid(
    orders_at, at, feature, expected
):
    tables = {
        Table.CLIENTS: [{"client_id": "shop", "created_at": datetime(2023, 6, 1)}],
        Table.PAYMENTS: CREDIT,
    }
    cfg = FeaturesConfig(lifetime=True, orders_at=orders_at)
    got = features_at(make_dataset(tables), ["shop"], [BETWEEN, AFTER], cfg)
    assert value(got, "shop", at, feature) == expected


@pytest.mark.parametrize(
    ("source", "orders_at", "expected"),
    [
        ("inactivity", "auto", "issued"),  # a shop's orders, as its label reads them
        ("mixed", "auto", "issued"),
        ("subscriptions", "auto", "paid"),  # a term's charge: when paid, as before
        ("churns", "auto", "paid"),
        ("subscriptions", "issued", "issued"),  # said explicitly, it holds
    ],
)
def test_orders_count_when_placed_for_purchases_without_a_contract(source, orders_at, expected):
    cfg = Config(label=LabelConfig(source=source), features=FeaturesConfig(orders_at=orders_at))
    assert cfg.features.orders_at == expected
