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
        # the cancellation request of 2024-03-01 is no support trouble: the discount request alone
        (S1, "support_tickets_28d", 1),
        (S1, "support_open_tickets", 0),
        (S1, "support_days_since_ticket", 13),
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


def test_the_other_signals_note_says_what_other_does_and_where_notes_that_warn_of_nothing_go() -> None:
    """A vet clinic's household notes ('pet_deceased', 'moved_away', 'price_sensitive') were warnings said as
    'other' and led red households to "Account review with the decision maker"; the note asked only to map them to
    a known kind, of which none fits: it says what 'other' does, that a departure is a churns row and a note that
    warns of nothing is no signal."""
    import polars as pl

    from churnml.features.account import other_signals_note

    signals = pl.DataFrame(
        {
            "client_id": ["a", "b", "c", "d"],
            "signal": ["pet_deceased", "pet_deceased", "moved_away", "price_sensitive"],
        }
    )
    assert other_signals_note(signals) == (
        "signals: 'pet_deceased' (2), 'moved_away' (1), 'price_sensitive' (1) are not among the kinds churnml tells "
        "apart (champion_left, layoffs, budget_cut, strategy_change, vendor_review, competitor_trial, "
        "cancellation_withdrawn): they are counted and said as 'other', a warning sign that raises the risk and, "
        "leading, the account family's play (playbooks.families.account). Map each to the nearest known kind where "
        "one fits (a 'will not renew' note is a cancellation_request ticket, a new decision maker is champion_left); "
        "a note that the client left (moved away, deceased, closed, records sent to another provider) is a churns "
        "row on its day (reason moved, closed, competitor), and a note that warns of nothing (a trait such as 'price "
        "sensitive', a life event the client stays through) is no signal: leave it out"
    )


def test_a_placeholder_created_at_gives_an_unknown_tenure(build, at):
    # created_at 1900-01-01 (kept and reported by validation): "Client for 45,000 days" said nothing true
    clients = [*CLIENTS, {"client_id": "p", "created_at": datetime(1900, 1, 1)}]
    frame = build({Table.CLIENTS: clients, Table.TICKETS: TICKETS}, ["c", "p"], [S1])
    assert at(frame, "c", S1, "account_tenure_days") == 428
    assert at(frame, "p", S1, "account_tenure_days") is None


def _support_at(tickets: list[dict], signals: list[dict] | None, snapshots: list[date]) -> dict[date, dict]:
    """The ``support_*`` features of client "c" at each snapshot, from the family called on its own."""
    import narwhals as nw
    import polars as pl
    from feature_helpers import contract_frame

    from churnml.config import FeaturesConfig
    from churnml.features._grid import CDAY, CIDX, WEEK, client_week_grid, python_day_number, week_axis
    from churnml.features.support import support_features

    axis = week_axis(pl.Series(snapshots, dtype=pl.Date), datetime(2023, 1, 2))
    clients = pl.DataFrame({"client_id": ["c"], CIDX: [0], CDAY: [python_day_number(datetime(2023, 1, 1))]})
    grid = client_week_grid(nw.from_native(clients.lazy()), axis)
    frame = nw.from_native(contract_frame(Table.TICKETS, tickets).lazy())
    sig = None if signals is None else nw.from_native(contract_frame(Table.SIGNALS, signals).lazy())
    out = support_features(frame, grid, axis, FeaturesConfig(), sig).collect().to_native()
    # the grid week before the snapshot's describes it
    week = {
        s: (python_day_number(datetime(s.year, s.month, s.day)) - axis.anchor) // 7 - 1 for s in snapshots
    }
    return {s: out.filter(pl.col(WEEK) == week[s]).row(0, named=True) for s in snapshots}


def withdrawn(ts: datetime) -> dict:
    return {"client_id": "c", "ts": ts, "signal": "cancellation_withdrawn"}


REQUESTS = [
    ticket(datetime(2024, 1, 10), kind="cancellation_request"),  # withdrawn on 2024-01-20
    ticket(datetime(2024, 2, 5), kind="cancellation_request"),  # withdrawn on 2024-03-10
    ticket(datetime(2024, 2, 26), kind="cancellation_request"),  # withdrawn on 2024-03-10
    ticket(datetime(2024, 3, 10, 9), kind="cancellation_request"),  # an hour after that withdrawal: stands
]
# a withdrawal withdraws the requests opened at or before it (2024-01-20's only 2024-01-10's)
WITHDRAWALS = [withdrawn(datetime(2024, 1, 20)), withdrawn(datetime(2024, 3, 10, 8))]
JAN15, MAR4, MAR11 = date(2024, 1, 15), date(2024, 3, 4), date(2024, 3, 11)


@pytest.mark.parametrize(
    ("signals", "snapshot", "window", "expected"),
    [
        (WITHDRAWALS, JAN15, 7, 1),  # opened on 2024-01-10, withdrawn only later
        (WITHDRAWALS, JAN15, 91, 1),
        (WITHDRAWALS, MAR4, 7, 1),  # 2024-02-26's
        (WITHDRAWALS, MAR4, 28, 2),  # 2024-02-05's stands: its withdrawal (2024-03-10) is after the snapshot
        (WITHDRAWALS, MAR4, 91, 2),  # 2024-01-10's was withdrawn
        (WITHDRAWALS, MAR11, 7, 1),  # 2024-03-10 09:00's
        (WITHDRAWALS, MAR11, 91, 1),
        (None, MAR4, 91, 3),  # no signals table: every request stands
        (None, MAR11, 91, 4),
        (None, MAR11, 28, 2),  # 2024-02-05's left the 28-day window
    ],
)
def test_a_withdrawn_cancellation_request_no_longer_counts(signals, snapshot, window, expected) -> None:
    got = _support_at(REQUESTS, signals, [JAN15, MAR4, MAR11])[snapshot]
    assert got[f"support_cancellation_requests_{window}d"] == expected


def test_a_withdrawn_notice_is_no_account_warning_signal(build, at) -> None:
    # a notice withdrawn was counted as an "other" warning signal, which may raise the risk of a client staying
    signals = [*SIGNALS, withdrawn(datetime(2024, 3, 2)), withdrawn(datetime(2024, 2, 26))]
    frame = build({Table.CLIENTS: CLIENTS, Table.TICKETS: TICKETS, Table.SIGNALS: signals}, ["c"], [S1])
    assert at(frame, "c", S1, "account_other_7d") == 1  # new_ceo's, as without the withdrawals
    assert at(frame, "c", S1, "account_signals_28d") == 2  # champion_left and new_ceo
    assert not [c for c in frame.columns if "withdrawn" in c]


def test_a_withdrawn_notice_is_a_kind_churnml_tells_apart() -> None:
    import polars as pl

    from churnml.features.account import other_signals_note

    signals = pl.DataFrame({"client_id": ["a", "a"], "signal": ["cancellation_withdrawn", "layoffs"]})
    assert other_signals_note(signals) is None


def test_build_features_reads_the_withdrawals_from_the_signals_table(build, at) -> None:
    # build_features hands the signals to the support family: the requests of 2024-02-05 and 2024-02-26,
    # withdrawn on 2024-02-27, no longer count at 2024-03-04; without the signals table they do
    clients = [{"client_id": "c", "created_at": datetime(2023, 1, 1)}]
    tickets = [ticket(datetime(2024, 1, 2), kind="question"), *REQUESTS[1:3]]
    with_signals = build(
        {Table.CLIENTS: clients, Table.TICKETS: tickets, Table.SIGNALS: [withdrawn(datetime(2024, 2, 27))]},
        ["c"],
        [MAR4],
    )
    without = build({Table.CLIENTS: clients, Table.TICKETS: tickets}, ["c"], [MAR4])
    assert at(with_signals, "c", MAR4, "support_cancellation_requests_28d") == 0
    assert at(without, "c", MAR4, "support_cancellation_requests_28d") == 2


# one question a month, each answered, in an export without closed_at (optional in the contract)
UNCLOSED = [ticket(datetime(2023, 1, 10 + i), kind="question") for i in (0, 10)] + [
    ticket(datetime(2023, 3, 1)),
    ticket(datetime(2023, 4, 3)),
]


@pytest.mark.parametrize(
    ("tickets", "expected"),
    [
        (UNCLOSED, [None, None]),  # was 3 and 4: every ticket ever opened read as still open
        # one close date in the table: the others are open (the data says so)
        ([*UNCLOSED[:3], ticket(datetime(2023, 4, 3), datetime(2023, 4, 4))], [3, 3]),
    ],
)
def test_without_any_close_date_no_ticket_is_known_to_be_open(tickets, expected) -> None:
    got = _support_at(tickets, None, [date(2023, 3, 6), date(2023, 5, 1)])
    assert [row["support_open_tickets"] for row in got.values()] == expected


PLACEHOLDER = datetime(1900, 1, 1)  # "unknown", kept by validation and not the data's start
FEB5, MAR4_ = date(2024, 2, 5), date(2024, 3, 4)


@pytest.mark.parametrize(
    ("tickets", "feature", "expected"),
    [
        # opened on the placeholder, closed on 2024-02-10: open until then (was 0, then -1)
        (
            [ticket(PLACEHOLDER, datetime(2024, 2, 10)), ticket(datetime(2024, 1, 3), datetime(2024, 1, 4))],
            "support_open_tickets",
            [1, 0],
        ),
        # opened and closed on placeholders: never open in the grid
        ([ticket(PLACEHOLDER, PLACEHOLDER), ticket(datetime(2024, 1, 3))], "support_open_tickets", [1, 1]),
        # the placeholder ticket is in no window and no recency: the last ticket is 2024-01-03's
        (
            [ticket(PLACEHOLDER, datetime(2024, 2, 10)), ticket(datetime(2024, 1, 3))],
            "support_days_since_ticket",
            [33, 61],
        ),
        (
            [ticket(PLACEHOLDER, datetime(2024, 2, 10)), ticket(datetime(2024, 1, 3))],
            "support_tickets_28d",
            [0, 0],
        ),
        # a rating known on the placeholder is older than any window; the real one is the last (was null: the
        # running count of ratings left out the one before the grid, so it picked the placeholder's)
        (
            [ticket(PLACEHOLDER, csat=5.0), ticket(datetime(2024, 1, 3), datetime(2024, 1, 4), csat=1.0)],
            "support_csat_last",
            [1.0, 1.0],
        ),
        (
            [ticket(PLACEHOLDER, csat=5.0), ticket(datetime(2024, 1, 3), datetime(2024, 1, 4), csat=1.0)],
            "support_csat_prev",
            [None, None],
        ),
    ],
)
def test_a_ticket_opened_on_a_placeholder_date_counts_from_the_grid_s_start(
    build, at, tickets, feature, expected
):
    clients = [{"client_id": "c", "created_at": datetime(2024, 1, 1)}]
    frame = build({Table.CLIENTS: clients, Table.TICKETS: tickets}, ["c"], [FEB5, MAR4_])
    assert [at(frame, "c", s, feature) for s in (FEB5, MAR4_)] == expected


# a High bug open since January, an urgent one closed in February, a low-priority question still open
PRIORITIES = [
    {**ticket(datetime(2024, 1, 8)), "priority": "High"},
    {**ticket(datetime(2024, 1, 15), datetime(2024, 2, 20)), "priority": " URGENT "},
    {**ticket(datetime(2024, 2, 1)), "priority": "low"},
]


@pytest.mark.parametrize(
    ("tickets", "expected"),
    [
        (PRIORITIES, [2, 1]),  # Feb 5: the High and the urgent one; Mar 4: the High one (3 tickets open)
        ([{**t, "priority": None} for t in PRIORITIES], [None, None]),  # no priority recorded: not known
        ([{**t, "priority": "Normal"} for t in PRIORITIES], [0, 0]),
    ],
)
def test_open_urgent_tickets_count_the_urgent_priorities_still_open(tickets, expected) -> None:
    # a B2B SaaS's unresolved High-priority bugs counted as much as a low question: tickets.priority was
    # read and validated, and no feature used it
    got = _support_at(tickets, None, [FEB5, MAR4_])
    assert [row["support_open_urgent_tickets"] for row in got.values()] == expected
    if expected[0] is not None:
        assert [row["support_open_tickets"] for row in got.values()] == [3, 2]


# a learner whose only tickets are cancellation requests (auto-renew turned off), one open, and one whose
# question came before its request
ONLY_REQUESTS = [
    ticket(datetime(2024, 1, 8), datetime(2024, 1, 9), kind="cancellation_request"),
    ticket(datetime(2024, 2, 28), kind="cancellation_request"),
]
QUESTION_THEN_REQUEST = [
    {**ticket(datetime(2024, 1, 3), datetime(2024, 1, 20)), "priority": "high"},
    {**ticket(datetime(2024, 2, 28), kind="cancellation_request"), "priority": "high"},
]


@pytest.mark.parametrize(
    ("tickets", "feature", "expected"),
    [
        # was 4 days, 1 ticket, 1 open ("Days since the last ticket: no data -> 4 days (+19 pts)")
        (ONLY_REQUESTS, "support_days_since_ticket", None),
        (ONLY_REQUESTS, "support_tickets_28d", 0),
        (ONLY_REQUESTS, "support_tickets_91d", 0),
        (ONLY_REQUESTS, "support_open_tickets", 0),
        (ONLY_REQUESTS, "support_cancellation_requests_28d", 1),  # the cancellation features keep reading it
        (ONLY_REQUESTS, "support_cancellation_requests_91d", 2),
        (QUESTION_THEN_REQUEST, "support_days_since_ticket", 61),  # the question's, not the request's 5
        (QUESTION_THEN_REQUEST, "support_tickets_91d", 1),
        (QUESTION_THEN_REQUEST, "support_open_tickets", 0),
        (QUESTION_THEN_REQUEST, "support_open_urgent_tickets", 0),
        (QUESTION_THEN_REQUEST, "support_cancellation_requests_28d", 1),
    ],
)
def test_a_cancellation_request_is_no_support_ticket(tickets, feature, expected) -> None:
    got = _support_at(tickets, None, [MAR4_])[MAR4_][feature]
    assert got == expected


# a client rates its question 4 of 5, then its cancellation request (its exit handled) 1 of 5
RATED_REQUEST = [
    ticket(datetime(2024, 1, 3), datetime(2024, 1, 5), csat=4.0),
    ticket(datetime(2024, 2, 20), datetime(2024, 2, 21), kind="cancellation_request", csat=1.0),
]


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        # was 1 (the request's rating), 4, 2.5, 1
        ("support_csat_last", 4),
        ("support_csat_prev", None),
        ("support_csat_last2_mean", 4),
        ("support_csat_low_last2", 0),
        ("support_cancellation_requests_28d", 1),  # the request itself still counts
    ],
)
def test_the_rating_of_a_cancellation_request_is_no_satisfaction_rating(feature, expected) -> None:
    assert _support_at(RATED_REQUEST, None, [MAR4_])[MAR4_][feature] == expected
