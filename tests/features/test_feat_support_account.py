"""Support features (two low CSAT ratings) and account features (signals, tenure)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from feature_helpers import features_at, make_dataset

from churnml.contract.schemas import Table

CLIENTS = [{"client_id": "c", "created_at": datetime(2023, 1, 1)}]


def ticket(opened, closed=None, kind="question", csat=None) -> dict:
    return {"client_id": "c", "opened_at": opened, "closed_at": closed, "kind": kind, "csat": csat}


TICKETS = [
    ticket(datetime(2023, 10, 2), datetime(2023, 10, 3), csat=5.0),
    ticket(datetime(2024, 1, 10), datetime(2024, 1, 12), csat=4.0),
    ticket(datetime(2024, 2, 1), datetime(2024, 2, 5), kind="complaint", csat=2.0),
    ticket(datetime(2024, 2, 20), datetime(2024, 2, 22), kind="discount_request", csat=1.0),
    ticket(datetime(2024, 3, 1), kind="cancellation_request"),  # still open
]
SIGNALS = [
    {"client_id": "c", "ts": datetime(2023, 10, 1), "signal": "vendor_review"},
    {"client_id": "c", "ts": datetime(2024, 2, 20), "signal": "champion_left"},
    {"client_id": "c", "ts": datetime(2024, 3, 1), "signal": "new_ceo"},
]
S1 = date(2024, 3, 4)
S0 = date(2024, 2, 19)


@pytest.fixture(scope="module")
def frame():
    tables = {Table.CLIENTS: CLIENTS, Table.TICKETS: TICKETS, Table.SIGNALS: SIGNALS}
    return features_at(make_dataset(tables), ["c"], [S0, S1])


@pytest.mark.parametrize(
    ("snapshot", "feature", "expected"),
    [
        (S1, "support_csat_last", 1),
        (S1, "support_csat_prev", 2),
        (S1, "support_csat_last2_mean", 1.5),
        (S1, "support_csat_low_last2", 2),
        (S1, "support_csat_trend", 7 / 3 - 5),  # last 91 days (4, 2, 1) vs earlier (5)
        (S1, "support_complaints_91d", 1),
        (S1, "support_discount_requests_28d", 1),
        (S1, "support_cancellation_requests_7d", 1),
        (S1, "support_tickets_28d", 2),
        (S1, "support_open_tickets", 1),
        (S1, "support_days_since_ticket", 3),
        # the 1-star rating arrives on 2024-02-22: not known at S0
        (S0, "support_csat_last", 2),
        (S0, "support_csat_prev", 4),
        (S0, "support_csat_low_last2", 1),
        (S1, "account_tenure_days", 428),
        (S1, "account_champion_left_28d", 1),
        (S1, "account_days_since_champion_left", 13),
        (S1, "account_vendor_review_91d", 0),
        (S1, "account_vendor_review_182d", None),  # 182 days reach back before the data: unknown
        (S1, "account_other_7d", 1),
        (S1, "account_signals_182d", None),
        (S0, "account_days_since_champion_left", None),
    ],
)
def test_support_and_account_values(frame, at, snapshot, feature, expected):
    got = at(frame, "c", snapshot, feature)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


S_MID = date(2024, 8, 12)  # the last rating (known 2024-02-22) 24 weeks back, the one before it 26 weeks back
S_LATE = date(2024, 9, 30)  # both more than 26 weeks back


@pytest.mark.parametrize(
    ("snapshot", "feature", "expected"),
    [
        (S_MID, "support_csat_last", 1),
        (S_MID, "support_csat_prev", None),  # older than the longest window (182 days): unknown
        (S_MID, "support_csat_last2_mean", 1),
        (S_MID, "support_csat_low_last2", 1),
        (S_LATE, "support_csat_last", None),
        (S_LATE, "support_csat_prev", None),
        (S_LATE, "support_csat_last2_mean", None),
        (S_LATE, "support_csat_low_last2", None),
    ],
)
def test_ratings_older_than_the_longest_window_are_unknown(build, at, snapshot, feature, expected):
    frame = build({Table.CLIENTS: CLIENTS, Table.TICKETS: TICKETS}, ["c"], [S1, S_MID, S_LATE])
    got = at(frame, "c", snapshot, feature)
    assert got == (None if expected is None else pytest.approx(expected))


def test_without_signals_only_tenure(build):
    frame = build({Table.CLIENTS: CLIENTS, Table.TICKETS: TICKETS}, ["c"], [S1])
    assert [c for c in frame.columns if c.startswith("account_")] == ["account_tenure_days"]


def test_signal_kinds_of_ones_own_are_named_since_they_are_said_as_other() -> None:
    import polars as pl

    from churnml.features.account import other_signals_note

    signals = pl.DataFrame(
        {
            "client_id": ["a"] * 5,
            "signal": ["cancellation_intent", "layoffs", "cancellation_intent", "m_and_a", None],
        }
    )
    note = other_signals_note(signals)
    assert note is not None
    assert note.startswith("signals: 'cancellation_intent' (2), 'm_and_a' (1) are not among the kinds")
    assert other_signals_note(signals.filter(pl.col("signal") == "layoffs")) is None


def test_a_placeholder_created_at_gives_an_unknown_tenure(build, at):
    # created_at 1900-01-01 (kept and reported by validation): "Client for 45,000 days" said nothing true
    clients = [*CLIENTS, {"client_id": "p", "created_at": datetime(1900, 1, 1)}]
    frame = build({Table.CLIENTS: clients, Table.TICKETS: TICKETS}, ["c", "p"], [S1])
    assert at(frame, "c", S1, "account_tenure_days") == 428
    assert at(frame, "p", S1, "account_tenure_days") is None
