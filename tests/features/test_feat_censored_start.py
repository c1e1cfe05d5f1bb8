"""Left-censored starts (features.censored_start_days): a client created at the data's start may have been one
long before the data began, so its tenure and days since its first payment are unknown, and
``account_tenure_censored`` says so; a start well inside the data, or years before it, is known."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from churnml.config import FeaturesConfig
from churnml.contract.schemas import Table
from churnml.features.registry import sentence

ON = FeaturesConfig(lifetime=True, censored_start_days=28)  # opt-in: off by default

# the data's first activity is old's payment of 2024-01-01; old is dated 2024-01-03 (an import date, a shop's
# first order in the log), new 2024-03-01 (well inside the data), crm 2020-05-01 (a CRM's own date, years before)
CLIENTS = [
    {"client_id": "old", "created_at": datetime(2024, 1, 3)},
    {"client_id": "new", "created_at": datetime(2024, 3, 1)},
    {"client_id": "crm", "created_at": datetime(2020, 5, 1)},
]


def payment(client: str, paid: datetime) -> dict:
    return {"client_id": client, "issued_at": paid, "paid_at": paid, "amount": 10.0, "status": "paid"}


PAYMENTS = [
    payment("old", datetime(2024, 1, 1)),
    payment("old", datetime(2024, 2, 10)),
    payment("new", datetime(2024, 3, 2)),
    payment("crm", datetime(2024, 1, 20)),
]
S = date(2024, 4, 1)
TABLES = {Table.CLIENTS: CLIENTS, Table.PAYMENTS: PAYMENTS}


@pytest.mark.parametrize(
    ("client", "feature", "expected"),
    [
        ("old", "account_tenure_days", None),  # at least 91 days: unknown, not 89
        ("old", "account_tenure_censored", 1),
        ("old", "payments_days_since_first_payment", None),  # the payments log's first day: unknown
        ("old", "payments_orders_total", 2),  # on record, as said
        ("new", "account_tenure_days", 31),
        ("new", "account_tenure_censored", 0),
        ("new", "payments_days_since_first_payment", 30),
        ("crm", "account_tenure_days", 1431),
        ("crm", "account_tenure_censored", 0),
        # its first payment in the log (2024-01-20) is 19 days into it: it may have paid for years before
        ("crm", "payments_days_since_first_payment", None),
    ],
)
def test_a_start_at_the_datas_start_is_unknown(build, at, client, feature, expected):
    frame = build(TABLES, ["old", "new", "crm"], [S], ON)
    got = at(frame, client, S, feature)
    assert got == (None if expected is None else pytest.approx(expected))


def test_off_reads_the_dates_as_given(build, at):
    frame = build(TABLES, ["old", "crm"], [S], FeaturesConfig(lifetime=True))  # the default: off
    assert "account_tenure_censored" not in frame.columns
    assert at(frame, "old", S, "account_tenure_days") == 89
    assert at(frame, "old", S, "payments_days_since_first_payment") == 91
    assert at(frame, "crm", S, "payments_days_since_first_payment") == 72


def test_a_censored_client_is_not_told_its_age():
    assert (
        sentence("account_tenure_censored", 1.0, ON)
        == "Client since before the data began (start date not in the data)"
    )
    assert sentence("account_tenure_censored", 0.0, ON) == "Client since a start date within the data"
    # not "Tenure: no data", nor "Client for 89 days" counted from the data's first day
    assert sentence("account_tenure_days", None) == "Start date not in the data: tenure unknown"


def test_a_first_payment_at_the_start_of_a_late_payments_log_is_unknown(build, at):
    # terms since 2023-09-01 (the data's start), invoices exported from 2024-01-01 on: the first one in the log,
    # 2024-01-10, is no first payment; the client's own created_at (2023-06-01) is a known date
    clients = [{"client_id": "c", "created_at": datetime(2023, 6, 1)}]
    terms = [
        {"client_id": "c", "start_date": datetime(2023, 9, 1), "end_date": datetime(2024, 9, 1), "mrr": 10.0}
    ]
    payments = [payment("c", datetime(2024, 1, 10)), payment("c", datetime(2024, 2, 10))]
    for p in payments:
        p["issued_at"] = datetime(2024, 1, 1) if p["paid_at"].month == 1 else p["paid_at"]
    tables = {Table.CLIENTS: clients, Table.SUBSCRIPTIONS: terms, Table.PAYMENTS: payments}
    frame = build(tables, ["c"], [S], ON)
    assert at(frame, "c", S, "payments_days_since_first_payment") is None
    assert at(frame, "c", S, "account_tenure_days") == 305
    assert at(frame, "c", S, "account_tenure_censored") == 0
