"""CRM views on hand-built clients: renewals and the grace state, silence, stalled onboarding, exports."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from churnml.contract.schemas import Table
from churnml.scoring.columns import Scores
from churnml.scoring.crm import (
    days_text,
    last_data_export,
    last_interaction,
    last_returns,
    onboarding_stalled,
    renewed_rows,
    term_state_text,
    term_status,
)

AS_OF = date(2024, 6, 3)
T = datetime(2024, 6, 3)


def ago(days: float) -> datetime:
    return T - timedelta(days=days)


SUBS = pl.DataFrame(
    {
        # annual: renews in 20 days, 1,000 a month for 12 months; monthly: renews in 10 days;
        # lapsed: ended 12 days ago (within the 30-day grace); long_gone: ended 45 days ago
        # signed: an annual term ending in 9 days, its renewal booked to start then; signed_late: its term
        # ended 5 days ago, the renewal booked to start in 3 days
        "client_id": [
            "annual",
            "monthly",
            "lapsed",
            "long_gone",
            "signed",
            "signed",
            "signed_late",
            "signed_late",
            "cotermed",
            "cotermed",
            "two_policies",
            "two_policies",
        ],
        # cotermed: an annual term of 1,000 ending in 30 days and an add-on of 200 bought 6 months ago
        # two_policies: a home policy (50 a month) renewing in 200 days, a motor one (80) in 20
        "start_date": [
            ago(345),
            ago(20),
            ago(42),
            ago(75),
            ago(356),
            ago(-9),
            ago(370),
            ago(-3),
            ago(335),
            ago(152),
            ago(165),
            ago(345),
        ],
        "end_date": [
            ago(-20),
            ago(-10),
            ago(12),
            ago(45),
            ago(-9),
            ago(-739),
            ago(5),
            ago(-368),
            ago(-30),
            ago(-30),
            ago(-200),
            ago(-20),
        ],
        "mrr": [1000.0, 50.0, 80.0, 80.0, 500.0, 550.0, 200.0, 200.0, 1000.0, 200.0, 50.0, 80.0],
    }
)


@pytest.mark.parametrize(
    ("client", "days", "value", "due", "grace", "state"),
    [
        ("annual", 20, 12_000.0, True, False, ""),
        ("monthly", 10, 50.0, False, False, ""),  # renews every month: not in the renewals view
        ("lapsed", None, None, False, True, "Term ended 12 days ago and was not renewed"),
        ("long_gone", None, None, False, False, ""),
        ("no_terms", None, None, False, False, ""),
        # a renewal booked ahead is done: no renewal due, no lapse
        ("signed", 9, 6_000.0, False, False, "Renewed: the next term starts 2024-06-12"),
        ("signed_late", None, None, False, False, "Renewed: the next term starts 2024-06-06"),
        # what renews: both terms for the main term's 12 months (the add-on's 6 months made it 13,200)
        ("cotermed", 30, 14_400.0, True, False, ""),
        # the nearest renewal, not the last: the motor policy's 12 months at 80
        ("two_policies", 20, 960.0, True, False, ""),
    ],
)
def test_term_status(
    client: str, days: int | None, value: float | None, due: bool, grace: bool, state: str
) -> None:
    out = term_status([client], AS_OF, SUBS, grace_days=30, renewal_days=60).row(0, named=True)
    assert out[Scores.RENEWAL_DAYS] == days
    assert out[Scores.RENEWAL_VALUE] == (pytest.approx(value) if value is not None else None)
    assert (out[Scores.RENEWAL_DUE], out[Scores.IN_GRACE], out[Scores.TERM_STATE]) == (due, grace, state)


@pytest.mark.parametrize(
    ("ended", "grace", "state"),
    [
        (ago(29.6), True, "Term ended 30 days ago and was not renewed"),  # 2024-05-04 09:36
        (ago(30), True, "Term ended 30 days ago and was not renewed"),  # 2024-05-04 00:00
        (
            ago(30.6),
            False,
            "",
        ),  # 2024-05-03 14:24: 31 calendar days, past the 30-day grace (was "31 days ago")
    ],
)
def test_the_grace_counts_the_calendar_days_its_state_says(ended: datetime, grace: bool, state: str) -> None:
    subs = pl.DataFrame(
        {"client_id": ["a"], "start_date": [ended - timedelta(days=365)], "end_date": [ended]}
    )
    out = term_status(["a"], AS_OF, subs.with_columns(mrr=pl.lit(100.0)), grace_days=30, renewal_days=60)
    assert (out.item(0, Scores.IN_GRACE), out.item(0, Scores.TERM_STATE)) == (grace, state)


def test_next_term_start_is_the_booked_start_and_marks_the_renewed_rows() -> None:
    ids = ["annual", "lapsed", "signed", "signed_late", "no_terms"]
    out = term_status(ids, AS_OF, SUBS, grace_days=30, renewal_days=60)
    assert out.get_column(Scores.NEXT_TERM_START).to_list() == [
        None,
        None,
        date(2024, 6, 12),
        date(2024, 6, 6),
        None,
    ]
    assert renewed_rows(out).tolist() == [False, False, True, True, False]


@pytest.mark.parametrize(("n", "text"), [(0, "today"), (1, "1 day"), (12, "12 days")])
def test_days_text(n: int, text: str) -> None:
    assert days_text(n) == text


def test_term_state_text_is_plain() -> None:
    assert term_state_text(1) == "Term ended 1 day ago and was not renewed"
    assert term_state_text(0) == "Term ended today and was not renewed"
    assert term_state_text(None) == ""
    # within rules.term_lapsed_days of the end a renewal may still be on its way
    assert term_state_text(1, settle_days=3) == "Term ended 1 day ago; no renewal recorded yet"
    assert term_state_text(3, settle_days=3) == "Term ended 3 days ago and was not renewed"
    # the data ends a week before the list: 9 days ago, but only 2 days of data after the end
    assert (
        term_state_text(9, settle_days=3, recorded_days=2) == "Term ended 9 days ago; no renewal recorded yet"
    )


def test_last_interaction_counts_the_clients_side_only() -> None:
    clients = pl.DataFrame({"client_id": ["a", "b", "c"], "created_at": [ago(300)] * 3})
    comms = pl.DataFrame(
        {
            # a: wrote to us 5 days ago; b: our outreach 2 days ago got no reply, a held meeting 40 days ago
            "client_id": ["a", "b", "b"],
            "ts": [ago(5), ago(2), ago(40)],
            "channel": ["email", "email", "meeting"],
            "direction": ["in", "out", "out"],
            "outcome": [None, "no_reply", "held"],
        }
    )
    tickets = pl.DataFrame({"client_id": ["a"], "opened_at": [ago(9)]})
    out = last_interaction(["a", "b", "c"], AS_OF, clients, comms, tickets)
    assert out.get_column(Scores.DAYS_SILENT).to_list() == [5, 40, 300]  # c: never, counted from creation
    assert out.get_column(Scores.LAST_INTERACTION).to_list() == [ago(5).date(), ago(40).date(), None]
    # c created years before the data begins (a 1900 placeholder, or 2014 in a 2-year log): silent since the
    # data's first record, 120 days ago, not since its creation
    old = clients.with_columns(pl.lit(datetime(1900, 1, 1)).alias("created_at"))
    out = last_interaction(["a", "b", "c"], AS_OF, old, comms, tickets, observed_from=ago(120))
    assert out.get_column(Scores.DAYS_SILENT).to_list() == [5, 40, 120]


@pytest.mark.parametrize(
    ("client", "paid", "amount", "status", "days_silent"),
    [
        ("shop", 1, 250.0, "paid", 1),  # a wholesale client's order yesterday: in touch, not 85 days silent
        ("shop", 0, 250.0, "paid", 85),  # paid on the as-of date: not before it
        ("shop", 1, -250.0, "paid", 85),  # a refund is no order
        ("shop", 1, 250.0, "failed", 85),  # nor a failed attempt
        (
            "subscriber",
            1,
            40.0,
            "paid",
            85,
        ),  # charged in its running term: the renewal, not the client speaking
        ("subscriber", 30, 40.0, "paid", 30),  # ordered 30 days ago, after its only term ended 60 days ago
    ],
)
def test_an_order_placed_outside_a_term_is_an_interaction(
    client: str, paid: int, amount: float, status: str, days_silent: int
) -> None:
    clients = pl.DataFrame({"client_id": ["shop", "subscriber"], "created_at": [ago(300)] * 2})
    comms = pl.DataFrame(
        {
            "client_id": ["shop", "subscriber"],
            "ts": [ago(85)] * 2,
            "channel": ["email"] * 2,
            "direction": ["in"] * 2,
        }
    )
    # subscriber: a term from 150 to 60 days ago for the orders of 30 days ago, else one running through today
    ended = paid == 30
    subs = pl.DataFrame(
        {
            "client_id": ["subscriber"],
            "start_date": [ago(150)],
            "end_date": [ago(60) if ended else ago(-30)],
            "mrr": [40.0],
        }
    )
    payments = pl.DataFrame(
        {"client_id": [client], "amount": [amount], "paid_at": [ago(paid)], "status": [status]}
    )
    out = last_interaction([client], AS_OF, clients, comms, None, payments=payments, subscriptions=subs)
    assert out.get_column(Scores.DAYS_SILENT).to_list() == [days_silent]
    # without the payments, as before: silent since the e-mail
    assert last_interaction([client], AS_OF, clients, comms, None).get_column(
        Scores.DAYS_SILENT
    ).to_list() == [85]


def test_the_teams_logged_contacts_are_on_the_list_and_a_reached_client_is_not_silent() -> None:
    from churnml.scoring.crm import last_contact

    clients = pl.DataFrame({"client_id": ["a", "b", "c", "d"], "created_at": [ago(300)] * 4})
    comms = pl.DataFrame(
        {"client_id": ["a"], "ts": [ago(50)], "channel": ["email"], "direction": ["in"], "outcome": [None]}
    )
    interventions = pl.DataFrame(
        {
            # a: a save call held 6 days ago; b: a call nobody answered 3 days ago; c: an offer on the as-of day
            "client_id": ["a", "b", "c", "a"],
            "ts": [ago(6), ago(3), ago(0), ago(20)],
            "kind": ["call", "call", "offer", "email"],
            "campaign": [None, None, "WINBACK10", None],
            "owner": ["anna", "tom", None, "anna"],
            "outcome": ["held", "No answer", None, "replied"],
        }
    )
    out = last_interaction(["a", "b", "c", "d"], AS_OF, clients, comms, None, interventions=interventions)
    assert out.get_column(Scores.DAYS_SILENT).to_list() == [6, 300, 300, 300]  # b was not reached
    seen = last_contact(["a", "b", "c", "d"], AS_OF, interventions)
    assert seen.rows() == [
        ("a", ago(6).date(), "call (held) by anna"),
        ("b", ago(3).date(), "call (No answer) by tom"),
        ("c", None, None),  # logged on the list's own day: after the data the list reads
        ("d", None, None),
    ]
    assert last_contact(["a"], AS_OF, None).rows() == [("a", None, None)]


@pytest.mark.parametrize(
    ("outcome", "was_reached"),
    [
        ("held", True),
        ("saved", True),
        ("declined the offer", True),
        ("no_answer", False),
        ("Voicemail", False),
        ("no-show", False),
        ("Call answered", True),
        ("sent", False),  # an offer mailed (the demo's win-back offers): no contact yet
        ("unanswered", False),
        ("not answered", False),
        ("no response", False),
        ("pending", False),
        ("failed", False),
        ("could not be reached", False),
        ("never reached", False),
        ("meeting not attended", False),
        ("unattended", False),
        ("call disconnected", False),
        ("withheld", False),
        ("not interested", True),  # the client said so: reached
        ("offer rejected", True),
        ("meeting booked", True),
        ("", False),
        (None, False),
    ],
)
def test_an_outcome_says_whether_the_client_was_reached(outcome, was_reached) -> None:
    from churnml.scoring.crm import reached

    frame = pl.DataFrame({"outcome": [outcome]}, schema={"outcome": pl.String})
    assert frame.select(reached()).item() is was_reached


def test_onboarding_stalled_and_last_export() -> None:
    clients = pl.DataFrame(
        {"client_id": ["slow", "busy", "old", "baby"], "created_at": [ago(63), ago(63), ago(400), ago(10)]}
    )
    events = pl.DataFrame(
        {
            # slow: active in 2 of its 9 weeks; busy: in 9; old and baby: none, but out of the age range
            "client_id": ["slow", "slow"] + ["busy"] * 9,
            "ts": [ago(60), ago(30)] + [ago(7 * k + 1) for k in range(9)],
            "event": ["login", "data_export"] + ["login"] * 9,
        }
    )
    stalled = onboarding_stalled(
        ["slow", "busy", "old", "baby"], AS_OF, clients, events, min_days=30, max_days=120, active_share=0.5
    )
    assert stalled.get_column(Scores.ONBOARDING_STALLED).to_list() == [True, False, False, False]
    exports = last_data_export(["slow", "busy"], AS_OF, events, ("data_export",))
    assert exports.get_column(Scores.LAST_DATA_EXPORT).to_list() == [ago(30).date(), None]


def test_onboarding_counts_the_weeks_a_client_ordered_in_but_not_a_terms_charge() -> None:
    # a wholesaler's new restaurants, 63 days old (9 weeks): "phone" orders every 7 days by phone and never logs
    # in to the web shop (read "active in 0 of its first 9 weeks" and told "training session"); "web" logged in
    # once; "subscriber" is charged weekly within its running term (a charge is no use of the product)
    clients = pl.DataFrame({"client_id": ["phone", "web", "subscriber"], "created_at": [ago(63)] * 3})
    events = pl.DataFrame({"client_id": ["web"], "ts": [ago(60)], "event": ["login"]})
    weekly = [ago(7 * k + 1) for k in range(9)]
    payments = pl.DataFrame(
        {
            "client_id": ["phone"] * 9 + ["subscriber"] * 9,
            "amount": [640.0] * 18,
            "issued_at": weekly * 2,
            "paid_at": [t + timedelta(days=30) for t in weekly] * 2,
        }
    )
    subscriptions = pl.DataFrame(
        {"client_id": ["subscriber"], "start_date": [ago(63)], "end_date": [ago(-300)], "mrr": [2773.0]}
    )
    ids = ["phone", "web", "subscriber"]
    out = onboarding_stalled(
        ids,
        AS_OF,
        clients,
        events,
        min_days=30,
        max_days=120,
        active_share=0.5,
        with_weeks=True,
        payments=payments,
        subscriptions=subscriptions,
    )
    assert out.select(Scores.ONBOARDING_STALLED, "_weeks_active").rows() == [(False, 9), (True, 1), (True, 0)]


@pytest.mark.parametrize("age", [29, 30, 31, 32, 33, 34, 35])  # created on each weekday, 5 weeks of life
@pytest.mark.parametrize(
    ("days", "stalled"),
    [
        ([0, 1, 8], True),  # active in its weeks 1 and 2 of 5: 40% < 50%, whatever the weekday it began
        ([6, 7, 13, 14], False),  # its weeks 1, 2 and 3 (day 7 begins week 2, day 14 week 3): 3 of 5
        ([0, 8, 15], False),  # 3 of 5 weeks
        ([-1, 8, 15], False),  # use the day before its creation counts in its first week
    ],
)
def test_onboarding_counts_the_clients_own_weeks_from_its_creation(
    age: int, days: list[int], stalled: bool
) -> None:
    clients = pl.DataFrame({"client_id": ["c"], "created_at": [ago(age)]})
    events = pl.DataFrame(
        {
            "client_id": ["c"] * len(days),
            "ts": [ago(age - d) + timedelta(hours=10) for d in days],
            "event": "login",
        }
    )
    out = onboarding_stalled(["c"], AS_OF, clients, events, min_days=20, max_days=120, active_share=0.5)
    assert out.get_column(Scores.ONBOARDING_STALLED).to_list() == [stalled]


def _rhythm_events(clients: dict[str, list[int]]) -> pl.DataFrame:
    """One meter reading per day given (days before the as-of date, at 10:00), per client."""
    rows = [(c, ago(d) + timedelta(hours=10), "meter_reading") for c, days in clients.items() for d in days]
    return pl.DataFrame(rows, schema=["client_id", "ts", "event"], orient="row")


def test_the_usual_share_of_active_weeks_counts_the_orders_placed_outside_a_term() -> None:
    # ten restaurants of two years ordering every 14 days by phone, one of them also logging in once: their
    # typical client is active in 9 of its 18 weeks of the last 120 days (events alone: one client, too few)
    from churnml.scoring.crm import usual_active_week_share

    old = [f"o{i}" for i in range(10)]
    clients = pl.DataFrame({"client_id": old, "created_at": [ago(730)] * 10})
    events = pl.DataFrame({"client_id": ["o0"], "ts": [ago(3)], "event": ["login"]})
    days = list(range(5, 120, 14))
    payments = pl.DataFrame(
        {
            "client_id": [c for c in old for _ in days],
            "amount": 420.0,
            "issued_at": [ago(d) + timedelta(hours=10) for _ in old for d in days],
            "paid_at": [ago(d) + timedelta(hours=10) for _ in old for d in days],
        }
    )
    assert usual_active_week_share(clients, events, AS_OF, 120) is None
    assert usual_active_week_share(clients, events, AS_OF, 120, payments=payments) == (9 / 18, 10)


@pytest.mark.parametrize(("gap", "said"), [(28, True), (7, False)])
def test_onboarding_rhythm_note_says_a_portfolio_active_in_few_of_its_weeks(gap: int, said: bool) -> None:
    """Ten households of two years reading their meter every ``gap`` days, two of 60 days reading monthly: read
    monthly, the typical client is active in 5 of its 18 weeks of the last 120 days (28%), and a young client's 2
    readings in its 9 weeks are its rhythm, not a stalled onboarding."""
    from churnml.scoring.crm import onboarding_rhythm_note, usual_active_week_share

    old = {f"o{i}": list(range(5, 120, gap)) for i in range(10)}
    young = {"y1": [5, 33], "y2": [6, 34]}
    clients = pl.DataFrame(
        {"client_id": [*old, *young], "created_at": [ago(730)] * len(old) + [ago(60)] * len(young)}
    )
    events = _rhythm_events({**old, **young})
    share, counted = usual_active_week_share(clients, events, AS_OF, 120)
    assert counted == 10
    assert share == pytest.approx(5 / 18 if said else 17 / 18)
    note = onboarding_rhythm_note(clients, events, AS_OF, min_days=30, max_days=120, active_share=0.5)
    if not said:  # a product used every week: the default share of the weeks fits
        assert note is None
        return
    assert note == (
        "events: the typical client is active in 28% of its weeks (the median of 10 clients over the last 120 "
        "days), under score.onboarding_active_share (0.5): onboarding_stalled calls a young client on that same "
        "rhythm stalled (2 of the 2 clients 30 to 120 days old now). Set score.onboarding_active_share: 0.14 "
        "(that share of the typical client's weeks), or leave onboarding_stalled out of rules.enabled"
    )
    # the rule already off (a shop's adapted config): the note does not suggest turning it off; the list's
    # column and the report's view still read the share
    off = onboarding_rhythm_note(
        clients, events, AS_OF, min_days=30, max_days=120, active_share=0.5, rule_enabled=False
    )
    assert off == note.replace(
        ", or leave onboarding_stalled out of rules.enabled",
        " (the rule is off in rules.enabled; the list's onboarding_stalled column and the report's view read it)",
    )
    # at the share suggested, monthly readings are no stalled onboarding
    assert onboarding_stalled(
        list(young), AS_OF, clients, events, min_days=30, max_days=120, active_share=0.14
    ).get_column(Scores.ONBOARDING_STALLED).to_list() == [False, False]
    # no young client now (a portfolio that stopped signing up): said so, not "0 of the 0 clients"
    aged = clients.with_columns(pl.lit(ago(730)).alias("created_at"))
    assert "stalled (no client is 30 to 120 days old now). Set" in onboarding_rhythm_note(
        aged, events, AS_OF, min_days=30, max_days=120, active_share=0.5
    )


def test_onboarding_rhythm_note_needs_enough_established_clients() -> None:
    from churnml.scoring.crm import onboarding_rhythm_note

    clients = pl.DataFrame({"client_id": ["o", "y"], "created_at": [ago(730), ago(60)]})
    events = _rhythm_events({"o": [5, 33, 61, 89, 117], "y": [5]})
    assert onboarding_rhythm_note(clients, events, AS_OF, min_days=30, max_days=120, active_share=0.5) is None


def test_views_whose_table_is_absent_are_null_not_alarms() -> None:
    # no communications nor tickets table: nobody is "silent"; no events table: no onboarding "stalled"
    clients = pl.DataFrame({"client_id": ["young", "old"], "created_at": [ago(40), ago(400)]})
    silent = last_interaction(["young", "old"], AS_OF, clients, None, None)
    assert silent.get_column(Scores.DAYS_SILENT).to_list() == [None, None]
    assert silent.get_column(Scores.LAST_INTERACTION).to_list() == [None, None]
    stalled = onboarding_stalled(
        ["young", "old"], AS_OF, clients, None, min_days=30, max_days=120, active_share=0.5
    )
    assert stalled.get_column(Scores.ONBOARDING_STALLED).to_list() == [None, None]
    # a tickets table alone still says who is silent; an events table with no row says nobody was active
    tickets = pl.DataFrame({"client_id": ["old"], "opened_at": [ago(9)]})
    assert last_interaction(["young", "old"], AS_OF, clients, None, tickets).get_column(
        Scores.DAYS_SILENT
    ).to_list() == [40, 9]
    no_rows = pl.DataFrame(schema={"client_id": pl.String, "ts": pl.Datetime("us"), "event": pl.String})
    assert onboarding_stalled(
        ["young", "old"], AS_OF, clients, no_rows, min_days=30, max_days=120, active_share=0.5
    ).get_column(Scores.ONBOARDING_STALLED).to_list() == [True, False]


def test_silence_counts_from_when_the_contact_logs_began() -> None:
    # invoices back to 2022, the CRM's contact logs from 2025-06-01: a member who was never in touch is
    # silent since the logs began, not since 2022 ("1,793 days silent" for members checking in weekly)
    from churnml.config import FeaturesConfig, LabelConfig, ScoreConfig
    from churnml.contract.dataset import Dataset
    from churnml.contract.schemas import Table
    from churnml.scoring.standing import _crm_views

    as_of = date(2025, 9, 1)
    tables = {
        Table.CLIENTS: pl.DataFrame(
            {"client_id": ["quiet", "talks"], "created_at": [datetime(2022, 1, 3)] * 2}
        ),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ["quiet", "talks"],
                "start_date": [datetime(2022, 1, 3)] * 2,
                "end_date": [datetime(2026, 1, 3)] * 2,
                "mrr": [40.0, 40.0],
            }
        ),
        Table.TICKETS: pl.DataFrame({"client_id": ["talks"], "opened_at": [datetime(2025, 6, 1)]}),
    }
    data = Dataset(tables, "gym", datetime(2022, 1, 3), datetime(2025, 9, 1))
    assert data.contact_first() == datetime(2025, 6, 1)
    stalled = pl.DataFrame({"client_id": ["quiet", "talks"], Scores.ONBOARDING_STALLED: [False, False]})
    views = _crm_views(
        data, ["quiet", "talks"], as_of, LabelConfig(), ScoreConfig(), FeaturesConfig(), stalled
    )
    assert views.get_column(Scores.ONBOARDING_STALLED).to_list() == [False, False]
    assert views.get_column(Scores.DAYS_SILENT).to_list() == [92, 92]  # 2025-06-01 .. 2025-09-01


def test_a_free_term_after_paid_ones_is_said() -> None:
    # a gym member frozen for two months after paid months; a free-tier client that never paid
    subs = pl.DataFrame(
        {
            "client_id": ["frozen", "frozen", "free_only"],
            "start_date": [ago(60), ago(20), ago(100)],
            "end_date": [ago(20), ago(-40), ago(-265)],
            "mrr": [40.0, 0.0, 0.0],
        }
    )
    out = term_status(["frozen", "free_only"], AS_OF, subs, grace_days=30, renewal_days=60)
    assert out.get_column(Scores.TERM_STATE).to_list() == [
        f"On a free term since its last paid one ended on {ago(20):%Y-%m-%d} (a pause, or a free plan)",
        "On a free trial (or a free plan), nothing paid yet: it ends in 265 days",
    ]
    assert out.get_column(Scores.IN_GRACE).to_list() == [False, False]
    # the frozen member's 2-month free term renews into its 40 a month plan: 80 at stake, not 0
    assert out.get_column(Scores.RENEWAL_VALUE).to_list() == [80.0, 0.0]


def test_a_pause_is_marked_and_its_end_is_no_renewal_due() -> None:
    from churnml.scoring.crm import PAUSE_DUE, PAUSED, paused_clients

    # frozen: 2 free months after paid ones, ending in 40 days; annual: a paid year ending in 40 days;
    # resuming: frozen too, its paid plan booked from the free term's end; lapsed_free: its base plan ended 10
    # days ago, a free add-on runs on
    subs = pl.DataFrame(
        {
            "client_id": [
                "frozen",
                "frozen",
                "annual",
                "resuming",
                "resuming",
                "resuming",
                "lapsed_free",
                "lapsed_free",
            ],
            "start_date": [ago(60), ago(20), ago(325), ago(60), ago(20), ago(-40), ago(375), ago(100)],
            "end_date": [ago(20), ago(-40), ago(-40), ago(20), ago(-40), ago(-70), ago(10), ago(-265)],
            "mrr": [40.0, 0.0, 100.0, 40.0, 0.0, 40.0, 40.0, 0.0],
            "is_addon": [False, False, False, False, False, False, False, True],
        }
    )
    ids = ["frozen", "annual", "resuming", "lapsed_free"]
    out = term_status(ids, AS_OF, subs, grace_days=30, renewal_days=60)
    assert out.get_column(PAUSED).to_list() == [True, False, False, False]
    assert out.get_column(Scores.RENEWAL_DUE).to_list() == [False, True, False, False]
    assert out.get_column(PAUSE_DUE).to_list() == [True, False, False, False]
    assert out.get_column(Scores.RENEWAL_DAYS).to_list()[:2] == [40, 40]
    assert paused_clients(subs, AS_OF, 30).get_column("client_id").to_list() == ["frozen"]
    assert paused_clients(None, AS_OF, 30).height == 0


def test_paused_rows_are_the_clients_on_a_pause() -> None:
    from churnml.scoring.reasons import paused_rows

    # resuming: free since 20 days ago, its paid plan booked from the free term's end (crm.paused_clients: a
    # renewal booked is no pause; free_after_paid alone counted it)
    subs = pl.DataFrame(
        {
            "client_id": ["frozen", "frozen", "free_only", "paying", "resuming", "resuming", "resuming"],
            "start_date": [ago(60), ago(20), ago(100), ago(100), ago(60), ago(20), ago(-10)],
            "end_date": [ago(20), ago(-40), ago(-265), ago(-265), ago(20), ago(-10), ago(-40)],
            "mrr": [40.0, 0.0, 0.0, 40.0, 40.0, 0.0, 40.0],
        }
    )
    ids = ["frozen", "free_only", "paying", "no_terms", "resuming"]
    assert paused_rows(ids, AS_OF, subs).tolist() == [True, False, False, False, False]
    assert paused_rows(ids, AS_OF, None).tolist() == [False] * 5


def _cycle_terms(client: str, paid_days: int, free: list[int]) -> list[tuple]:
    """Three paid terms of ``paid_days`` at 40 a month back to back, then free terms of these lengths, the last one
    running at the as-of date (its end ``free[-1] // 2`` days ahead)."""
    end = -(free[-1] // 2)
    rows = []
    for days in reversed(free):
        rows.append((client, ago(end + days), ago(end), 0.0))
        end += days
    for _ in range(3):
        rows.append((client, ago(end + paid_days), ago(end), 40.0))
        end += paid_days
    return rows


def test_one_free_term_no_longer_than_the_paid_ones_is_a_skip() -> None:
    """A pet-food shop's auto-ships: a skipped delivery is one term at mrr 0 as long as the paid ones, a pause one
    longer term. Its 240 customers on a free term on 2026-11-02 all read "(a pause, or a free plan)"; 157 of the 164
    free for one term no longer than their paid one were skipping a delivery."""
    from churnml.scoring.crm import PAUSED, SKIP

    rows = (
        _cycle_terms("skip", 28, [28])  # every 4 weeks, one delivery skipped
        + _cycle_terms("skip8", 56, [57])  # every 8 weeks (a day longer: the calendar)
        + _cycle_terms("month", 30, [31])  # a monthly plan, one month off
        + _cycle_terms("pause", 28, [84])  # a pause of 12 weeks in one term
        + _cycle_terms("per_cycle", 28, [28, 28])  # a pause written as a free term per delivery: the second
        + _cycle_terms("annual", 365, [30])  # a free month after an annual contract: no billing cycle skipped
    )
    subs = pl.DataFrame(rows, schema=["client_id", "start_date", "end_date", "mrr"], orient="row")
    ids = ["skip", "skip8", "month", "pause", "per_cycle", "annual"]
    out = term_status(ids, AS_OF, subs, grace_days=30, renewal_days=60)
    assert out.get_column(PAUSED).to_list() == [True] * 6
    assert out.get_column(SKIP).to_list() == [True, True, True, False, False, False]
    states = out.get_column(Scores.TERM_STATE).to_list()
    assert states[0] == (
        f"Skipping one term since its last paid one ended on {ago(14):%Y-%m-%d} (a free term no longer than its "
        "paid ones: a skipped delivery or billing cycle)"
    )
    assert (
        states[3]
        == f"On a free term since its last paid one ended on {ago(42):%Y-%m-%d} (a pause, or a free plan)"
    )


def test_a_pause_is_said_only_for_the_clients_on_a_pause() -> None:
    from churnml.scoring.reasons import pause_sentences

    # resuming: free since 20 days ago, its paid plan booked from the free term's end; lapsed_free: its plan ended
    # 10 days ago, a free add-on runs on. Free terms after paid ones both (crm.free_after_paid), no pause either
    # (crm.paused_clients): "On a pause or a free plan" was said for them
    subs = pl.DataFrame(
        {
            "client_id": [
                "frozen",
                "frozen",
                "resuming",
                "resuming",
                "resuming",
                "lapsed_free",
                "lapsed_free",
            ],
            "start_date": [ago(60), ago(20), ago(60), ago(20), ago(-10), ago(375), ago(100)],
            "end_date": [ago(20), ago(-40), ago(20), ago(-10), ago(-40), ago(10), ago(-265)],
            "mrr": [40.0, 0.0, 40.0, 0.0, 40.0, 40.0, 0.0],
            "is_addon": [False, False, False, False, False, False, True],
        }
    )
    ids = ["frozen", "resuming", "lapsed_free", "no_terms"]
    since = (AS_OF - timedelta(days=20)).isoformat()
    assert pause_sentences(ids, AS_OF, subs, "EUR") == [
        f"On a pause or a free plan since {since}: MRR EUR 0, from EUR 40",
        None,
        None,
        None,
    ]
    # the list's own mark (term_status's PAUSED) decides
    assert pause_sentences(ids, AS_OF, subs, "EUR", np.array([False, False, False, False])) == [None] * 4
    # one free term no longer than the paid one before it: a skip (crm.one_term_skips)
    skip = pl.DataFrame(
        _cycle_terms("skip", 28, [28]), schema=["client_id", "start_date", "end_date", "mrr"], orient="row"
    )
    assert pause_sentences(["skip"], AS_OF, skip, "EUR") == [
        f"Skipping one term since {(AS_OF - timedelta(days=14)).isoformat()}: MRR EUR 0, from EUR 40"
    ]


@pytest.mark.parametrize(
    ("every_days", "terms", "renewal_days", "due"),
    [
        (28, 3, 60, False),  # an auto-ship every 4 weeks: a month, as a monthly plan
        (42, 3, 60, False),  # every 6 weeks: a month
        (56, 3, 60, False),  # every 8 weeks: 2 months, no longer than the 60-day window: in it all along
        (91, 3, 60, True),  # a quarter, longer than the window: due in its last 60 days
        (91, 3, 90, False),  # ... but no longer than a 90-day window
        (56, 3, 30, True),  # 8 weeks under a 30-day window: due in its last 30 days
        (56, 1, 60, True),  # a first term of 2 months (a stub pro-rated to an anniversary) repeats no cycle
        (28, 1, 60, False),  # a first month: monthly
    ],
)
def test_a_term_no_longer_than_the_renewals_window_is_a_billing_cycle_not_a_renewal_due(
    every_days: int, terms: int, renewal_days: int, due: bool
) -> None:
    # deliveries back to back, the running one ending in 20 days
    ends = [ago(-20 + every_days * k) for k in range(terms)]
    subs = pl.DataFrame(
        {
            "client_id": ["box"] * terms,
            "start_date": [end - timedelta(days=every_days) for end in ends],
            "end_date": ends,
            "mrr": [40.0] * terms,
        }
    )
    out = term_status(["box"], AS_OF, subs, grace_days=30, renewal_days=renewal_days).row(0, named=True)
    assert (out[Scores.RENEWAL_DAYS], out[Scores.RENEWAL_DUE]) == (20, due)


def test_running_term_days_are_the_longest_running_terms_length() -> None:
    from churnml.scoring.reasons import running_term_days, short_term_clients

    subs = pl.DataFrame(
        {
            "client_id": ["annual", "monthly", "gone"],
            "start_date": [ago(100), ago(10), ago(400)],
            "end_date": [ago(-265), ago(-20), ago(35)],
            "mrr": [100.0, 100.0, 100.0],
        }
    )
    ids = ["annual", "monthly", "gone", "none"]
    assert running_term_days(ids, AS_OF, subs).tolist() == [365.0, 30.0, float("inf"), float("inf")]
    assert short_term_clients(ids, AS_OF, subs).tolist() == [False, True, False, False]


def test_a_next_term_booked_at_a_price_rise_stays_a_renewal_to_work() -> None:
    from churnml.scoring.crm import renewed_rows, with_price_rises

    # quote: its booked next term is the rise; signed: no rise; due: a rise, nothing booked; auto: a monthly
    # plan that rose 20% two months ago, its next month booked at that same price (a rise already started)
    views = pl.DataFrame(
        {
            "client_id": ["quote", "signed", "due", "auto"],
            Scores.RENEWAL_DUE: [False, False, True, False],
            Scores.RENEWAL_DAYS: [2, 9, 20, 5],
            Scores.NEXT_TERM_START: [date(2026, 12, 3), date(2026, 12, 10), None, date(2026, 12, 6)],
            Scores.TERM_STATE: [
                "Renewed: the next term starts 2026-12-03",
                "Renewed: the next term starts 2026-12-10",
                "",
                "Renewed: the next term starts 2026-12-06",
            ],
        }
    )
    kinds = pl.Series(["booked", None, "discount", "started"], dtype=pl.String)
    out = with_price_rises(views, kinds, renewal_days=60)
    assert out.get_column(Scores.RENEWAL_DUE).to_list() == [True, False, True, False]
    assert renewed_rows(out).tolist() == [False, True, False, True]  # the quote is no renewal done
    later = with_price_rises(views, kinds, renewal_days=1)
    assert later.get_column(Scores.RENEWAL_DUE).to_list() == [False, False, True, False]  # beyond the view
    assert out.get_column(Scores.TERM_STATE).to_list() == [
        "Next term booked from 2026-12-03 at a higher price: a renewal to work, not a done one",
        "Renewed: the next term starts 2026-12-10",
        "",
        "Renewed: the next term starts 2026-12-06, at the price that already rose in the running term",
    ]


# back: away 67 days (a term after a gap longer than the 30-day grace), back yesterday; back_long: back 100
# days ago, past BACK_DAYS (91); quick: renewed 20 days after its term ended (within the grace), a churn
# record between; relapsed: back 50 days ago, and its term ended again 10 days ago; steady: never away
RETURNS = pl.DataFrame(
    {
        "client_id": [
            "back",
            "back",
            "back_long",
            "back_long",
            "quick",
            "quick",
            "relapsed",
            "relapsed",
            "steady",
        ],
        "start_date": [ago(400), ago(1), ago(400), ago(100), ago(400), ago(10), ago(300), ago(50), ago(400)],
        "end_date": [ago(68), ago(-29), ago(160), ago(-20), ago(30), ago(-20), ago(200), ago(10), ago(-30)],
        "mrr": 100.0,
    }
)
RETURN_CHURNS = pl.DataFrame({"client_id": ["quick"], "churned_at": [ago(30)]})


@pytest.mark.parametrize(
    ("client", "with_churns", "state"),
    [
        ("back", False, "Back since 2024-06-02 after 67 days away"),
        ("back_long", False, ""),
        ("quick", False, ""),  # a renewal within the grace, and no churn record known: the same spell
        ("quick", True, "Back since 2024-05-24 after 20 days away"),
        ("relapsed", True, "Term ended 10 days ago and was not renewed"),  # the lapse is the news
        ("steady", True, ""),
    ],
)
def test_a_client_back_from_an_absence_says_since_when_and_how_long_it_was_away(
    client: str, with_churns: bool, state: str
) -> None:
    churns = RETURN_CHURNS if with_churns else None
    out = term_status([client], AS_OF, RETURNS, grace_days=30, renewal_days=60, churns=churns)
    assert out.get_column(Scores.TERM_STATE).to_list() == [state]


def test_last_returns_reads_terms_churn_records_and_without_terms_the_events() -> None:
    tables = {Table.SUBSCRIPTIONS: RETURNS, Table.CHURNS: RETURN_CHURNS}
    out = last_returns(tables, AS_OF, grace_days=30).sort("client_id")
    assert out.rows() == [
        ("back", ago(1), ago(68)),
        ("back_long", ago(100), ago(160)),
        ("quick", ago(10), ago(30)),
        ("relapsed", ago(50), ago(200)),
    ]
    # no terms: the first event more than the grace after the churn (the last logins are its wind-down)
    events = pl.DataFrame(
        {"client_id": ["gone", "gone", "gone"], "ts": [ago(60), ago(50), ago(20)], "event": "login"}
    )
    churns = pl.DataFrame({"client_id": ["gone"], "churned_at": [ago(55)]})
    out = last_returns({Table.CHURNS: churns, Table.EVENTS: events}, AS_OF, grace_days=30)
    assert out.rows() == [("gone", ago(20), ago(55))]
    # a return on or after the as-of date is not known yet
    assert last_returns({Table.CHURNS: churns, Table.EVENTS: events}, date(2024, 5, 14), 30).height == 0


@pytest.mark.parametrize(
    ("with_flag", "in_grace"),
    [
        (True, True),  # the base plan ended 12 days ago; its storage add-on running on does not keep it out
        (False, False),  # no is_addon column: the add-on's term is a term like any other
    ],
)
def test_an_add_on_running_on_does_not_keep_a_lapsed_base_plan_out_of_grace(
    with_flag: bool, in_grace: bool
) -> None:
    subs = pl.DataFrame(
        {
            "client_id": ["a", "a"],
            "start_date": [ago(377), ago(100)],
            "end_date": [ago(12), ago(-80)],
            "mrr": [100.0, 20.0],
            "is_addon": [False, True],
        }
    )
    if not with_flag:
        subs = subs.drop("is_addon")
    status = term_status(["a"], AS_OF, subs, grace_days=30, renewal_days=60)
    assert status.get_column(Scores.IN_GRACE).to_list() == [in_grace]


# (start, end, is_addon) in days before AS_OF (negative: after it), per client of the test below
BOOKINGS = {
    # an annual plan ending in 20 days beside an add-on booked from in 10 days: nothing renews the plan
    "addon_ahead": [(345, -20, False), (-10, -20, True)],
    # a plan lapsed 10 days ago, an add-on booked from in 7 days: in grace, not renewed
    "addon_after_lapse": [(375, 10, False), (-7, -37, True)],
    # the client's only term is booked ahead: its first term, no renewal
    "first_ahead": [(-20, -385, False)],
    # a 2-year term booked from in 7 days beside a plan running 200 more days: an upgrade beside it
    "upgrade_beside": [(165, -200, False), (-7, -737, False)],
    # a renewal booked from 5 days before the plan ends (within a quarter of its year): an early renewal
    "early": [(345, -20, False), (-15, -380, False)],
    # the renewal starts when the plan ends
    "on_time": [(345, -20, False), (-20, -385, False)],
}


@pytest.mark.parametrize(
    ("client", "booked", "due", "grace", "state"),
    [
        ("addon_ahead", None, True, False, ""),
        ("addon_after_lapse", None, False, True, "Term ended 10 days ago and was not renewed"),
        ("first_ahead", None, False, False, ""),
        ("upgrade_beside", None, False, False, ""),
        ("early", date(2024, 6, 18), False, False, "Renewed: the next term starts 2024-06-18"),
        ("on_time", date(2024, 6, 23), False, False, "Renewed: the next term starts 2024-06-23"),
    ],
)
def test_only_a_base_term_after_the_last_one_is_a_renewal_booked_ahead(
    client: str, booked: date | None, due: bool, grace: bool, state: str
) -> None:
    rows = BOOKINGS[client]
    subs = pl.DataFrame(
        {
            "client_id": [client] * len(rows),
            "start_date": [ago(a) for a, _, _ in rows],
            "end_date": [ago(b) for _, b, _ in rows],
            "mrr": [100.0] * len(rows),
            "is_addon": [addon for _, _, addon in rows],
        }
    )
    out = term_status([client], AS_OF, subs, grace_days=30, renewal_days=60).row(0, named=True)
    assert out[Scores.NEXT_TERM_START] == booked
    assert (out[Scores.RENEWAL_DUE], out[Scores.IN_GRACE], out[Scores.TERM_STATE]) == (due, grace, state)


def test_a_return_after_a_churns_record_without_subscriptions_is_said() -> None:
    """No subscriptions table: the first event more than the grace after the churns record is the return."""
    churns = pl.DataFrame({"client_id": ["v"], "churned_at": [ago(120)], "reason": ["price"]})
    events = pl.DataFrame({"client_id": ["v", "v"], "ts": [ago(130), ago(40)], "event": ["login", "login"]})
    tables = {Table.CHURNS: churns, Table.EVENTS: events}
    said = term_status(["v"], AS_OF, None, 30, 60, churns=churns, tables=tables)
    assert said.get_column(Scores.TERM_STATE).to_list() == [f"Back since {ago(40).date()} after 80 days away"]
    assert term_status(["v"], AS_OF, None, 30, 60, churns=churns).get_column(Scores.TERM_STATE).to_list() == [
        ""
    ]


@pytest.mark.parametrize(("share", "booked", "due"), [(0.25, None, True), (0.4, date(2024, 6, 4), False)])
def test_term_status_reads_bookings_with_the_configured_early_renewal_share(share, booked, due) -> None:
    from churnml.scoring.crm import lapsed_terms, paused_clients

    # a quarter ending in 30 days, the next booked from tomorrow: 29 of its 90 days (32%) early
    subs = pl.DataFrame(
        {
            "client_id": ["q", "q"],
            "start_date": [ago(60), ago(-1)],
            "end_date": [ago(-30), ago(-91)],
            "mrr": [100.0, 100.0],
        }
    )
    out = term_status(["q"], AS_OF, subs, grace_days=30, renewal_days=60, renewal_share=share).row(
        0, named=True
    )
    assert (out[Scores.NEXT_TERM_START], out[Scores.RENEWAL_DUE]) == (booked, due)
    # the other readers of bookings take the share too
    assert lapsed_terms(subs, AS_OF, 30, share).height == 0
    assert paused_clients(subs, AS_OF, 30, share).height == 0


# (start, end, is_addon) in days before AS_OF (negative: after it), per client of the test below
ADDON_RENEWALS = {
    # the base plan ended 10 days ago (in grace); its storage add-on runs 20 more days
    "plan_lapsed": [(375, 10, False), (100, -20, True)],
    # a monthly plan renewing in 10 days beside an annual add-on ending in 200 days
    "monthly_plan": [(20, -10, False), (165, -200, True)],
    # a monthly plan renewing in 10 days beside an annual add-on ending the same day: still a monthly renewal,
    # not due (the add-on's 12 months made it due, worth 12 x both)
    "monthly_cotermed": [(20, -10, False), (355, -10, True)],
    # a client that only ever bought add-ons: they are its terms
    "addons_only": [(345, -20, True)],
}


@pytest.mark.parametrize(
    ("client", "renewal", "days", "value", "due"),
    [
        (
            "plan_lapsed",
            None,
            None,
            None,
            False,
        ),  # no base plan runs: no renewal (the add-on's end read as one)
        ("monthly_plan", date(2024, 6, 13), 10, 100.0, False),  # the plan's end, not the add-on's in 200 days
        ("monthly_cotermed", date(2024, 6, 13), 10, 200.0, False),  # both, for the plan's one month
        ("addons_only", date(2024, 6, 23), 20, 1_200.0, True),
    ],
)
def test_the_next_renewal_is_the_base_plans_never_an_add_ons(client, renewal, days, value, due) -> None:
    rows = ADDON_RENEWALS[client]
    subs = pl.DataFrame(
        {
            "client_id": [client] * len(rows),
            "start_date": [ago(a) for a, _, _ in rows],
            "end_date": [ago(b) for _, b, _ in rows],
            "mrr": [100.0] * len(rows),
            "is_addon": [addon for _, _, addon in rows],
        }
    )
    out = term_status([client], AS_OF, subs, grace_days=30, renewal_days=60).row(0, named=True)
    assert (
        out[Scores.RENEWAL_DATE],
        out[Scores.RENEWAL_DAYS],
        out[Scores.RENEWAL_VALUE],
        out[Scores.RENEWAL_DUE],
    ) == (renewal, days, value, due)


@pytest.mark.parametrize(
    ("ended_days_ago", "withdrawn", "in_grace", "state"),
    [
        (
            None,
            False,
            False,
            "Gave notice on 2024-05-14: it takes effect when the term ends on 2024-06-23 (in 20 days)",
        ),
        (None, True, False, ""),
        (
            0,
            False,
            False,
            "Gave notice on 2024-05-14: it takes effect when the term ends on 2024-06-03 (today)",
        ),
        (1, False, True, "Term ended 1 day ago, as its notice of 2024-05-14 said, and was not renewed"),
        (1, True, False, "Term ended 1 day ago; no renewal recorded yet"),
    ],
)
def test_term_status_says_a_notice_and_when_it_takes_effect(
    ended_days_ago, withdrawn, in_grace, state
) -> None:
    # a monthly member (the running term to 20 days ahead, or the last one ended ended_days_ago) that gave notice
    # 20 days ago (a cancellation_request ticket), withdrawn 5 days ago or not
    last = -20 if ended_days_ago is None else ended_days_ago
    subs = pl.DataFrame(
        {
            "client_id": ["m", "m"],
            "start_date": [ago(last + 60), ago(last + 30)],
            "end_date": [ago(last + 30), ago(last)],
            "mrr": [300.0, 300.0],
        }
    )
    tables = {
        Table.TICKETS: pl.DataFrame(
            {"client_id": ["m"], "opened_at": [ago(20)], "kind": ["cancellation_request"]}
        )
    }
    if withdrawn:
        tables[Table.SIGNALS] = pl.DataFrame(
            {"client_id": ["m"], "ts": [ago(5)], "signal": ["cancellation_withdrawn"]}
        )
    out = term_status(["m"], AS_OF, subs, 30, 60, 3, tables=tables, notice_days=91).row(0, named=True)
    assert (out[Scores.IN_GRACE], out[Scores.TERM_STATE]) == (in_grace, state)


@pytest.mark.parametrize(
    ("ended_days_ago", "in_grace", "state"),
    [
        (
            None,
            False,
            "Gave notice on 2024-05-31: it takes effect when the free trial ends on 2024-06-06 (in 3 days)",
        ),
        (2, True, "Free trial ended 2 days ago, as its notice of 2024-05-26 said, without a paid term"),
    ],
)
def test_a_trialist_that_gave_notice_is_said_as_a_trial(ended_days_ago, in_grace, state) -> None:
    # a 7-day free trial (mrr 0, nothing paid) whose auto-renewal the learner turned off the day after it began
    # (a cancellation_request ticket): a language app's list said "Term ended 13 days ago, as its notice of
    # 2026-11-16 said, and was not renewed" of 32 trialists that never had a term to renew
    end = -3 if ended_days_ago is None else ended_days_ago
    subs = pl.DataFrame(
        {"client_id": ["t"], "start_date": [ago(end + 7)], "end_date": [ago(end)], "mrr": [0.0]}
    )
    tables = {
        Table.TICKETS: pl.DataFrame(
            {"client_id": ["t"], "opened_at": [ago(end + 6)], "kind": ["cancellation_request"]}
        )
    }
    out = term_status(["t"], AS_OF, subs, 16, 60, 3, tables=tables, notice_days=91).row(0, named=True)
    assert (out[Scores.IN_GRACE], out[Scores.TERM_STATE]) == (in_grace, state)


def test_a_term_booked_after_a_notice_is_its_notice_period_not_a_renewal() -> None:
    from churnml.scoring.crm import renewed_rows

    # a monthly member that gave notice 20 days ago; the running month ends in 5 days, the next one (its notice
    # period) is booked from then: it takes effect when that one ends, and nothing is renewed
    subs = pl.DataFrame(
        {
            "client_id": ["m", "m"],
            "start_date": [ago(25), ago(-5)],
            "end_date": [ago(-5), ago(-35)],
            "mrr": [300.0] * 2,
        }
    )
    tickets = pl.DataFrame({"client_id": ["m"], "opened_at": [ago(20)], "kind": ["cancellation_request"]})
    out = term_status(["m"], AS_OF, subs, 30, 60, 3, tables={Table.TICKETS: tickets}, notice_days=91)
    assert out.get_column(Scores.TERM_STATE).to_list() == [
        "Gave notice on 2024-05-14: it takes effect when the term ends on 2024-07-08 (in 35 days)"
    ]
    assert renewed_rows(out).tolist() == [False]


@pytest.mark.parametrize(
    ("terms", "state"),
    [
        # (started, ends) days before the as-of date of each term of a client that gave notice 20 days ago
        # a monthly member: the month running at the notice ends in 5 days, the next one (booked after the notice)
        # is its one-month notice period
        (
            [(25, -5), (-5, -35)],
            "Gave notice on 2024-05-14: it takes effect when the term ends on 2024-07-08 (in 35 days)",
        ),
        # two months' notice: both months after the running one are its notice period
        (
            [(25, -5), (-5, -35), (-35, -65)],
            "Gave notice on 2024-05-14: it takes effect when the term ends on 2024-08-07 (in 65 days)",
        ),
        # a quarterly term, the next quarter its notice period (ends 91 days after the running one)
        (
            [(60, 30), (30, -61)],
            "Gave notice on 2024-05-14: it takes effect when the term ends on 2024-08-03 (in 61 days)",
        ),
        # an annual policy ending in 65 days, its renewal booked from then (before or after the call): a
        # renewal, not the notice period: the notice takes effect when the running year ends
        (
            [(300, -65), (-65, -430)],
            "Gave notice on 2024-05-14: it takes effect when the term ends on 2024-08-07 (in 65 days)",
        ),
        # an annual policy renewed 10 days ago, 10 days after the call: the client stayed, the notice is over
        ([(375, 10), (10, -355)], ""),
        # an annual policy with nothing booked: the running year's end
        (
            [(300, -65)],
            "Gave notice on 2024-05-14: it takes effect when the term ends on 2024-08-07 (in 65 days)",
        ),
    ],
)
def test_a_notice_takes_effect_when_the_running_term_ends_a_renewal_is_no_notice_period(
    terms: list[tuple[int, int]], state: str
) -> None:
    subs = pl.DataFrame(
        {
            "client_id": ["h"] * len(terms),
            "start_date": [ago(s) for s, _ in terms],
            "end_date": [ago(e) for _, e in terms],
            "mrr": [50.0] * len(terms),
        }
    )
    tickets = pl.DataFrame({"client_id": ["h"], "opened_at": [ago(20)], "kind": ["cancellation_request"]})
    out = term_status(["h"], AS_OF, subs, 30, 60, 3, tables={Table.TICKETS: tickets}, notice_days=91)
    assert out.get_column(Scores.TERM_STATE).to_list() == [state]


@pytest.mark.parametrize(
    ("max_notice_days", "rows"),
    [
        # the next month (30 days) is the notice period: it takes effect when it ends, in 25 days
        (92, [("m", ago(20), ago(-25), True)]),
        # no notice period is longer than 20 days: the next month is a renewal; it started 5 days ago, the
        # client stayed and the notice no longer stands
        (20, []),
    ],
)
def test_cancellation_notices_bound_a_notice_period_by_max_notice_days(
    max_notice_days: int, rows: list
) -> None:
    from churnml.scoring.crm import cancellation_notices

    # a monthly member that gave notice 20 days ago; the month running then ended 5 days ago, the next one (from
    # then to 25 days ahead) runs
    subs = pl.DataFrame(
        {
            "client_id": ["m", "m"],
            "start_date": [ago(35), ago(5)],
            "end_date": [ago(5), ago(-25)],
            "mrr": [300.0] * 2,
        }
    )
    tickets = pl.DataFrame({"client_id": ["m"], "opened_at": [ago(20)], "kind": ["cancellation_request"]})
    tables = {Table.TICKETS: tickets, Table.SUBSCRIPTIONS: subs}
    assert cancellation_notices(tables, AS_OF, 91, max_notice_days).rows() == rows


def test_placed_orders_are_the_orders_outside_terms_read_without_a_polars_warning() -> None:
    import warnings

    from churnml.scoring.crm import placed_orders

    # a: an order inside its term (its charge) and one after it ended; b: no term, one order; c: an order before
    # its term started
    payments = pl.DataFrame(
        {
            "client_id": ["a", "a", "b", "c"],
            "amount": [10.0, 10.0, 5.0, 7.0],
            "paid_at": [ago(50), ago(10), ago(30), ago(40)],
        }
    )
    subs = pl.DataFrame(
        {
            "client_id": ["a", "c"],
            "start_date": [ago(60), ago(20)],
            "end_date": [ago(30), ago(-10)],
            "mrr": [10.0, 7.0],
        }
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # Polars' warning is recorded, not raised, under "error"
        out = placed_orders(payments, subs, T)
    assert [str(w.message) for w in caught] == []
    assert sorted(out.rows()) == [("a", ago(10)), ("b", ago(30)), ("c", ago(40))]


# (start, end, mrr) per client of the test below: a seat change inside an annual contract written, as billing
# systems write it, as a new term from the change to the contract's end (the running term cut at the change)
COTERMED_CHANGES = {
    # 10 seats from 2023-12-20, cut to 5 on 2024-04-20 for the rest of the year: renews 2024-12-20 for a year
    "downgraded": [
        (datetime(2023, 12, 20), datetime(2024, 4, 20), 100.0),
        (datetime(2024, 4, 20), datetime(2024, 12, 20), 50.0),
    ],
    # 10 seats from 2023-06-10, 12 from 2024-05-20, 21 days before the year ends on 2024-06-10
    "upgraded_late": [
        (datetime(2023, 6, 10), datetime(2024, 5, 20), 100.0),
        (datetime(2024, 5, 20), datetime(2024, 6, 10), 120.0),
    ],
    # monthly terms, a seat added at the last renewal: a monthly renewal
    "monthly": [
        (datetime(2024, 4, 15), datetime(2024, 5, 15), 100.0),
        (datetime(2024, 5, 15), datetime(2024, 6, 15), 120.0),
    ],
    # an annual contract renewed whole
    "annual": [(datetime(2023, 6, 20), datetime(2024, 6, 20), 100.0)],
    # a first term pro-rated to an anniversary (nothing before it): its own length
    "prorated_first": [(datetime(2024, 4, 25), datetime(2024, 7, 1), 100.0)],
    # annual contracts from 2022-07-01; 2 vehicles added on 2024-06-01, a month before the year ends: the stub is
    # a whole month, yet no contract starts on 2024-06-01 (the year before it holds 11 months)
    "annual_cut_a_month_before_its_end": [
        (datetime(2022, 7, 1), datetime(2023, 7, 1), 100.0),
        (datetime(2023, 7, 1), datetime(2024, 6, 1), 100.0),
        (datetime(2024, 6, 1), datetime(2024, 7, 1), 120.0),
    ],
    # a 2-year contract from 2022-09-01, cut by seat changes into 7, 12, 2 and 3 months: the last stub is a quarter
    "two_years_cut_into_a_quarter": [
        (datetime(2022, 9, 1), datetime(2023, 4, 1), 150.0),
        (datetime(2023, 4, 1), datetime(2024, 4, 1), 130.0),
        (datetime(2024, 4, 1), datetime(2024, 6, 1), 150.0),
        (datetime(2024, 6, 1), datetime(2024, 9, 1), 50.0),
    ],
}


@pytest.mark.parametrize(
    ("client", "renewal", "value", "due"),
    [
        ("downgraded", date(2024, 12, 20), 600.0, False),  # 12 x 50 (it read 8 x 50 = 400)
        ("upgraded_late", date(2024, 6, 10), 1_440.0, True),  # 12 x 120, due (it read 120, a monthly renewal)
        ("monthly", date(2024, 6, 15), 120.0, False),
        ("annual", date(2024, 6, 20), 1_200.0, True),
        ("prorated_first", date(2024, 7, 1), 200.0, True),
        # a stub whose length is itself a contract's renews for the contract it cuts, when the terms before it
        # make no whole contracts up to it: 12 x 120, due (it read 120, a monthly renewal, never due: a fleet
        # tracker's annual accounts renewing the next day missing from the renewals view)
        ("annual_cut_a_month_before_its_end", date(2024, 7, 1), 1_440.0, True),
        ("two_years_cut_into_a_quarter", date(2024, 9, 1), 1_200.0, False),  # 24 x 50 (it read 3 x 50)
    ],
)
def test_a_cotermed_change_renews_for_the_contracts_length(client, renewal, value, due) -> None:
    rows = COTERMED_CHANGES[client]
    subs = pl.DataFrame(
        {
            "client_id": [client] * len(rows),
            "start_date": [a for a, _, _ in rows],
            "end_date": [b for _, b, _ in rows],
            "mrr": [m for _, _, m in rows],
        }
    )
    out = term_status([client], AS_OF, subs, grace_days=30, renewal_days=60).row(0, named=True)
    assert (out[Scores.RENEWAL_DATE], out[Scores.RENEWAL_VALUE], out[Scores.RENEWAL_DUE]) == (
        renewal,
        value,
        due,
    )


def test_terms_billed_every_14_days_are_no_contract_cut_by_changes() -> None:
    # a coffee subscriber's deliveries every 14 days from 2024-01-15: 13 terms reach 2024-07-15, six months to
    # the day after the first start; read as one 6-month contract cut by seat changes, its 14-day term was a
    # renewal due worth 6 x the MRR (180)
    starts = [datetime(2024, 1, 15) + timedelta(days=14 * i) for i in range(13)]
    subs = pl.DataFrame(
        {
            "client_id": ["coffee"] * 13,
            "start_date": starts,
            "end_date": [a + timedelta(days=14) for a in starts],
            "mrr": [30.0] * 13,
        }
    )
    assert subs.get_column("end_date").max() == datetime(2024, 7, 15)
    out = term_status(["coffee"], date(2024, 7, 8), subs, grace_days=30, renewal_days=60).row(0, named=True)
    assert (out[Scores.RENEWAL_DATE], out[Scores.RENEWAL_VALUE], out[Scores.RENEWAL_DUE]) == (
        date(2024, 7, 15),
        30.0,
        False,
    )


@pytest.mark.parametrize(
    ("issued", "paid", "status", "days_silent"),
    [
        (10, -30, "paid", 10),  # invoiced 10 days ago, paid in 30 days: it ordered 10 days ago
        (10, None, "open", 10),  # invoiced, not paid yet: an order all the same
        (50, 10, "paid", 50),  # paid 10 days ago for its order of 50 days ago
        (10, None, "failed", 85),  # a failed invoice is no order
    ],
)
def test_an_order_on_credit_terms_is_an_interaction_when_invoiced(
    issued: int, paid: int | None, status: str, days_silent: int
) -> None:
    clients = pl.DataFrame({"client_id": ["shop"], "created_at": [ago(300)]})
    comms = pl.DataFrame({"client_id": ["shop"], "ts": [ago(85)], "channel": ["email"], "direction": ["in"]})
    payments = pl.DataFrame(
        {
            "client_id": ["shop"],
            "amount": [250.0],
            "issued_at": [ago(issued)],
            "paid_at": [None if paid is None else ago(paid)],
            "status": [status],
        },
        schema={
            "client_id": pl.String,
            "amount": pl.Float64,
            "issued_at": pl.Datetime("us"),
            "paid_at": pl.Datetime("us"),
            "status": pl.String,
        },
    )
    out = last_interaction(["shop"], AS_OF, clients, comms, None, payments=payments)
    assert out.get_column(Scores.DAYS_SILENT).to_list() == [days_silent]


def test_a_client_that_never_paid_is_said_on_a_free_trial_and_marked() -> None:
    """A streaming service's 14-day trials written as terms at mrr 0: a trialist read an empty term_state and
    "Adoption review: training on the key features"; one whose trial ended unpaid "Term ended 4 days ago and
    was not renewed. Renewal call: ..."."""
    from churnml.scoring.crm import PAUSED, TRIAL, free_trials

    # trialing: 14 free days, 5 left; converted: its trial then a paid month; lapsed_trial: trial ended 4
    # days ago, nothing paid; frozen: two free months after a paid one (a pause, not a trial); booked: trial
    # running, its first paid month booked from the trial's end
    subs = pl.DataFrame(
        {
            "client_id": [
                "trialing",
                "converted",
                "converted",
                "lapsed_trial",
                "frozen",
                "frozen",
                "booked",
                "booked",
            ],
            "start_date": [ago(9), ago(30), ago(16), ago(18), ago(40), ago(10), ago(9), ago(-5)],
            "end_date": [ago(-5), ago(16), ago(-14), ago(4), ago(10), ago(-50), ago(-5), ago(-35)],
            "mrr": [0.0, 0.0, 12.99, 0.0, 12.99, 0.0, 0.0, 12.99],
        }
    )
    ids = ["trialing", "converted", "lapsed_trial", "frozen", "booked"]
    out = term_status(ids, AS_OF, subs, grace_days=7, renewal_days=60, settle_days=3)
    assert out.get_column(Scores.TERM_STATE).to_list() == [
        "On a free trial (or a free plan), nothing paid yet: it ends in 5 days",
        "",
        "Free trial ended 4 days ago without a paid term",
        f"On a free term since its last paid one ended on {ago(10):%Y-%m-%d} (a pause, or a free plan)",
        f"Renewed: the next term starts {ago(-5):%Y-%m-%d}",
    ]
    assert out.get_column(TRIAL).to_list() == [True, False, True, False, True]
    assert out.get_column(PAUSED).to_list() == [False, False, False, True, False]
    assert out.get_column(Scores.IN_GRACE).to_list() == [False, False, True, False, False]
    assert out.get_column(Scores.RENEWAL_DUE).to_list() == [False] * 5
    assert free_trials(subs, AS_OF).get_column("client_id").to_list() == [
        "booked",
        "lapsed_trial",
        "trialing",
    ]
    assert free_trials(None, AS_OF).height == 0


def test_a_client_whose_mrr_is_not_exported_or_who_pays_by_invoice_is_no_trial() -> None:
    from churnml.scoring.crm import free_trials

    # blank: its term's mrr not exported (unknown, not free); metered: a plan at mrr 0 billed by usage, an invoice
    # paid 5 days ago; declined: a free term and only a failed charge; later: a free term, its first payment after
    # the as-of date; trialing: a free term, nothing paid
    subs = pl.DataFrame(
        {
            "client_id": ["blank", "metered", "declined", "later", "trialing"],
            "start_date": [ago(20)] * 5,
            "end_date": [ago(-10)] * 5,
            "mrr": [None, 0.0, 0.0, 0.0, 0.0],
        }
    )
    payments = pl.DataFrame(
        {
            "client_id": ["metered", "declined", "later"],
            "amount": [42.0, 12.99, 12.99],
            "paid_at": [ago(5), ago(3), ago(-2)],
            "status": ["paid", "failed", "paid"],
        }
    )
    assert free_trials(subs, AS_OF, payments).get_column("client_id").to_list() == [
        "declined",
        "later",
        "trialing",
    ]
    assert free_trials(subs, AS_OF).get_column("client_id").to_list() == [
        "declined",
        "later",
        "metered",
        "trialing",
    ]


def test_a_subscriber_whose_terms_on_record_begin_before_its_payments_do_is_no_trial() -> None:
    """A pet-food shop's export: the terms running on its first day whole (a pause among them), the payments from
    that day. A subscriber paused then and gone before paying again read as a trial that never paid (7 win-back
    re-offers of "a trial extension with a guided start")."""
    from churnml.scoring.crm import free_trials

    # paused: a customer since ago(700), its terms on record a pause from ago(130) to ago(60); freemium: on a free
    # plan since it signed up, ago(400), before the billing system; trial: signed up ago(20), a free month; lead:
    # created ago(300), its trial from ago(20), after the payments log began (ago(100)): nothing paid in between
    subs = pl.DataFrame(
        {
            "client_id": ["paused", "freemium", "trial", "lead"],
            "start_date": [ago(130), ago(400), ago(20), ago(20)],
            "end_date": [ago(60), ago(-30), ago(-10), ago(-10)],
            "mrr": [0.0] * 4,
        }
    )
    payments = pl.DataFrame({"client_id": ["other"], "amount": [40.0], "paid_at": [ago(100)]})
    clients = pl.DataFrame(
        {
            "client_id": ["paused", "freemium", "trial", "lead", "other"],
            "created_at": [ago(700), ago(400), ago(20), ago(300), ago(500)],
        }
    )
    assert free_trials(subs, AS_OF, payments, clients).get_column("client_id").to_list() == [
        "freemium",
        "lead",
        "trial",
    ]
    # without the clients' creation, or without payments, nothing says its past is off the record
    assert free_trials(subs, AS_OF, payments).height == 4
    assert free_trials(subs, AS_OF, None, clients).height == 4
    # a placeholder creation (1900-01-01) is unknown
    unknown = clients.with_columns(pl.lit(datetime(1900, 1, 1)).alias("created_at"))
    assert free_trials(subs, AS_OF, payments, unknown).height == 4


def test_trial_state_text_is_plain() -> None:
    from churnml.scoring.crm import trial_state_text

    assert trial_state_text(0) == "On a free trial (or a free plan), nothing paid yet: it ends today"
    assert trial_state_text(1) == "On a free trial (or a free plan), nothing paid yet: it ends in 1 day"
    assert trial_state_text(None, 1, settle_days=3) == "Free trial ended 1 day ago; no paid term recorded yet"
    assert trial_state_text(None, 0) == "Free trial ended today without a paid term"
    assert trial_state_text(None) == ""


def test_term_facts_read_once_give_the_views_and_the_rules_own() -> None:
    """The list reads each client's terms once (crm.term_facts) for its term_state and its term_lapsed rule, which
    read the other tables differently (the view the payments and churns, the rule neither): each equals what it
    reads alone, and the quiet rules' pause test reads the same pauses."""
    from churnml.config import RulesConfig
    from churnml.scoring.crm import PAUSED, SKIP, term_facts
    from churnml.scoring.rules import fired_rules

    # frozen: 2 free months after paid ones; annual: a paid year ending in 40 days; resuming: frozen, its paid plan
    # booked from the free term's end; lapsed_free: its base plan ended 10 days ago, a free add-on runs on;
    # trial: a free term, never paid
    subs = pl.DataFrame(
        {
            "client_id": [
                *("frozen", "frozen", "annual"),
                *("resuming", "resuming", "resuming"),
                *("lapsed_free", "lapsed_free", "trial"),
            ],
            "start_date": [
                ago(60),
                ago(20),
                ago(325),
                ago(60),
                ago(20),
                ago(-40),
                ago(375),
                ago(100),
                ago(40),
            ],
            "end_date": [
                ago(20),
                ago(-40),
                ago(-40),
                ago(20),
                ago(-40),
                ago(-70),
                ago(10),
                ago(-265),
                ago(-5),
            ],
            "mrr": [40.0, 0.0, 100.0, 40.0, 0.0, 40.0, 40.0, 0.0, 0.0],
            "is_addon": [False, False, False, False, False, False, False, True, False],
        }
    )
    ids = ["frozen", "annual", "resuming", "lapsed_free", "trial", "no_terms"]
    facts = term_facts(ids, AS_OF, subs, 30)
    assert facts.get_column("client_id").to_list() == ids
    assert facts.get_column(PAUSED).to_list() == [True, False, False, False, False, False]
    assert facts.get_column(SKIP).to_list() == [False] * 6
    assert facts.get_column("_last_end").is_not_null().to_list() == [False, False, False, True, False, False]
    assert facts.get_column("_booked").to_list() == [
        None,
        None,
        (T + timedelta(days=40)).date(),
        None,
        None,
        None,
    ]
    view = {"renewal_days": 60, "settle_days": 3, "data_end": AS_OF, "tables": {Table.SUBSCRIPTIONS: subs}}
    rule = {"renewal_days": 0, "settle_days": 3, "data_end": AS_OF, "tables": {}}
    for args in (view, rule):
        alone = term_status(ids, AS_OF, subs, 30, **args)
        assert_frame_equal(term_status(ids, AS_OF, subs, 30, **args, facts=facts), alone, check_exact=True)
    cfg = RulesConfig(enabled=["term_lapsed", "no_activity", "usage_drop"], term_lapsed_days=3)
    tables = {Table.SUBSCRIPTIONS: subs, Table.CLIENTS: pl.DataFrame({"client_id": ids})}
    said = dict(low_csat=3.0, export_events=[], grace_days=30, data_end=AS_OF)
    alone = fired_rules(tables, ids, AS_OF, None, cfg, **said)
    shared = fired_rules(tables, ids, AS_OF, None, cfg, **said, terms=facts)
    assert_frame_equal(shared, alone, check_exact=True)
    assert shared.get_column(Scores.RULES).to_list()[3] == "term_lapsed"


def _terms_everywhere(booked_ahead: bool) -> dict[Table, pl.DataFrame]:
    """Clients whose terms every reader of the list's terms reads: ``renewing`` (its renewal booked from 9 days
    on, when ``booked_ahead``), ``lapsed`` (its plan ended 10 days ago, a storage add-on running on),
    ``returned`` (back 40 days ago after 160 days away), ``noticed`` (a cancellation request 20 days ago, its
    annual term ending in 60 days), ``churned`` (a churns record 100 days ago, a new term 50 days ago) and
    ``addon_first`` (an add-on bought before its plan, which is booked from 5 days on when ``booked_ahead``)."""
    rows = [
        ("renewing", 356, -9, False),
        ("lapsed", 375, 10, False),
        ("lapsed", 200, -165, True),
        ("returned", 400, 200, False),
        ("returned", 40, -325, False),
        ("noticed", 305, -60, False),
        ("churned", 465, 100, False),
        ("churned", 50, -315, False),
        ("addon_first", 90, -275, True),
    ]
    if booked_ahead:
        rows += [("renewing", -9, -374, False), ("addon_first", -5, -360, False)]
    subs = pl.DataFrame(
        {
            "client_id": [c for c, *_ in rows],
            "start_date": [ago(s) for _, s, _, _ in rows],
            "end_date": [ago(e) for _, _, e, _ in rows],
            "mrr": [100.0] * len(rows),
            "is_addon": [a for *_, a in rows],
        }
    )
    tickets = pl.DataFrame(
        {"client_id": ["noticed"], "opened_at": [ago(20)], "kind": ["cancellation_request"]}
    )
    churns = pl.DataFrame({"client_id": ["churned"], "churned_at": [ago(100)]})
    return {Table.SUBSCRIPTIONS: subs, Table.TICKETS: tickets, Table.CHURNS: churns}


@pytest.mark.parametrize("booked_ahead", [False, True])
def test_the_readers_of_terms_handed_the_customer_terms_read_what_they_read_alone(
    booked_ahead: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every reader of a client's terms on the list (bookings, lapses, notices, returns, the term facts and
    state) handed :func:`churnml.labels.customer_terms` of the subscriptions (read once per list) gives what it
    gives reading them alone, with and without terms booked after the list's date; with none booked after it,
    the terms are not read again (the list read them about 25 times: 3.4 CPU-s of a 100k list)."""
    import churnml.labels as labels
    from churnml.labels import customer_terms, returns_after_churns
    from churnml.scoring.crm import booked_terms, cancellation_notices, lapsed_terms, term_facts

    tables = _terms_everywhere(booked_ahead)
    subs = tables[Table.SUBSCRIPTIONS]
    ids = ["renewing", "lapsed", "returned", "noticed", "churned", "addon_first", "no_terms"]
    customer = customer_terms(subs)
    left = tables[Table.CHURNS]
    view = dict(settle_days=3, data_end=AS_OF, churns=left, tables=tables, notice_days=30)
    readers = {
        "booked": lambda c: booked_terms(subs, AS_OF, customer=c).sort("client_id"),
        "lapsed": lambda c: lapsed_terms(subs, AS_OF, 30, customer=c).sort("client_id"),
        "facts": lambda c: term_facts(ids, AS_OF, subs, 30, customer=c),
        "notices": lambda c: cancellation_notices(tables, AS_OF, 30, customer=c).sort("client_id"),
        "returns": lambda c: last_returns(tables, AS_OF, 30, c).sort("client_id"),
        "back": lambda c: returns_after_churns(tables, left, 30, before=T, customer=c),
        "status": lambda c: term_status(ids, AS_OF, subs, 30, 60, **view, customer=c),
    }
    alone = {name: read(None) for name, read in readers.items()}
    calls = []

    def counted(frame: pl.DataFrame) -> pl.DataFrame:
        calls.append(frame.height)
        return customer_terms(frame)

    monkeypatch.setattr(labels, "customer_terms", counted)
    for name, read in readers.items():
        assert_frame_equal(read(customer), alone[name], check_exact=True)
    # booked after the list's date: the readers of the terms started before it read them anew (lapsed_terms
    # twice, in itself and in term_facts and term_status: 3; last_returns, itself and in term_status: 2)
    assert len(calls) == (5 if booked_ahead else 0)
    # addon_first's plan renews its add-on (its terms until the plan starts)
    booked = ["addon_first", "renewing"] if booked_ahead else []
    assert alone["booked"].get_column("client_id").to_list() == booked
    assert alone["lapsed"].get_column("client_id").to_list() == ["lapsed"]
    assert alone["returns"].get_column("client_id").to_list() == ["churned", "returned"]
    assert alone["notices"].get_column("client_id").to_list() == ["noticed"]


def test_contract_starts_read_the_terms_sorted_and_once_in_any_order() -> None:
    from churnml.scoring.crm import contract_starts

    # annual contracts from 2022-07-01 cut a month before the year's end (COTERMED_CHANGES), and a 2-year contract
    # cut into a quarter: its rows repeated (two seats written as two rows) and in no order
    rows = [("a", *r[:2]) for r in COTERMED_CHANGES["annual_cut_a_month_before_its_end"]] + [
        ("b", *r[:2]) for r in COTERMED_CHANGES["two_years_cut_into_a_quarter"]
    ]
    frame = pl.DataFrame(rows, schema=["client_id", "start_date", "end_date"], orient="row")
    shuffled = pl.concat([frame.reverse(), frame.slice(1, 2)])
    cut = datetime(2024, 6, 15)
    expected = [
        ("a", datetime(2024, 6, 1), datetime(2024, 7, 1), datetime(2023, 7, 1)),
        ("b", datetime(2024, 6, 1), datetime(2024, 9, 1), datetime(2022, 9, 1)),
    ]
    for terms in (frame, shuffled):
        assert sorted(contract_starts(terms, cut).rows()) == expected
