"""Communication features: three unanswered emails then a reply; disrupted meetings."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import narwhals as nw
import polars as pl
import pytest
from feature_helpers import contract_frame, features_at, make_dataset

from churnml.config import FeaturesConfig
from churnml.contract.dataset import Dataset
from churnml.contract.schemas import Table
from churnml.features import build_features
from churnml.features.build import dataset_mailings


def touch(ts, direction="out", outcome=None, channel="email", **kw) -> dict:
    return {"client_id": "c", "ts": ts, "channel": channel, "direction": direction, "outcome": outcome, **kw}


TOUCHES = [
    touch(datetime(2024, 2, 1), outcome="no_reply"),
    touch(datetime(2024, 2, 8), outcome="no_reply"),
    touch(datetime(2024, 2, 15), outcome="no_reply"),
    touch(datetime(2024, 2, 20), channel="meeting", outcome="rescheduled"),
    touch(datetime(2024, 2, 21), channel="meeting", outcome="cancelled"),
    touch(datetime(2024, 2, 22, 10), outcome="replied", response_hours=30.0, words=40.0, sentiment=-0.5),
    touch(datetime(2024, 2, 27), outcome="no_reply"),
    touch(datetime(2024, 2, 28), direction="in", channel="chat", words=10.0, sentiment=0.5),
    touch(datetime(2024, 2, 29), outcome="no_reply"),
    touch(datetime(2024, 3, 1), outcome="no_reply"),
]
CLIENTS = [{"client_id": "c", "created_at": datetime(2023, 1, 1)}]
CLIENTS_ABC = [{"client_id": c, "created_at": datetime(2023, 1, 1)} for c in "ABC"]
SNAPS = [date(2024, 2, 19), date(2024, 2, 26), date(2024, 3, 4)]


@pytest.fixture(scope="module")
def frame():
    snaps = [*SNAPS, date(2024, 3, 11)]
    return features_at(make_dataset({Table.CLIENTS: CLIENTS, Table.COMMUNICATIONS: TOUCHES}), ["c"], snaps)


@pytest.mark.parametrize(
    ("snapshot", "feature", "expected"),
    [
        # a no_reply is known 7 days (features.no_reply_after_days) after it was sent: the one of 02-15 not yet
        (date(2024, 2, 19), "comm_no_reply_streak", 2),
        (date(2024, 2, 26), "comm_no_reply_streak", 0),  # the reply ends the streak
        (date(2024, 3, 4), "comm_no_reply_streak", 0),  # the no-replies of 02-27 .. 03-01 are not known yet
        (date(2024, 3, 11), "comm_no_reply_streak", 2),  # they are: the inbound chat of 02-28 ended the first
        (date(2024, 2, 19), "comm_reply_rate_28d", 0.0),
        (date(2024, 2, 26), "comm_reply_rate_28d", 0.25),
        # a 28-day window that reaches back before the data starts is unknown, not a count
        (date(2024, 2, 26), "comm_meetings_disrupted_28d", None),
        (date(2024, 2, 26), "comm_rescheduled_28d", None),
        (date(2024, 2, 26), "comm_cancelled_7d", 1),
        (date(2024, 2, 26), "comm_response_hours_28d", 30),
        (date(2024, 2, 26), "comm_words_28d", 40),
        (date(2024, 3, 4), "comm_words_28d", 25),  # replied email 40 words, inbound chat 10
        (date(2024, 3, 4), "comm_sentiment_28d", 0.0),
        (date(2024, 3, 4), "comm_touches_in_7d", 1),
        (date(2024, 3, 4), "comm_touches_out_7d", 3),
        (date(2024, 3, 4), "comm_email_28d", 6),
        (date(2024, 3, 4), "comm_meeting_28d", 2),
        (date(2024, 3, 4), "comm_days_since_inbound", 5),
        (date(2024, 2, 19), "comm_days_since_inbound", None),
        (date(2024, 2, 19), "comm_response_hours_28d", None),
    ],
)
def test_communication_values(frame, at, snapshot, feature, expected):
    got = at(frame, "c", snapshot, feature)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def test_same_timestamp_reply_ends_the_streak(build, at):
    ts = datetime(2024, 2, 20, 9)
    rows = [touch(datetime(2024, 2, 19), outcome="no_reply"), touch(ts, outcome="no_reply"), touch(ts, "in")]
    frame = build({Table.CLIENTS: CLIENTS, Table.COMMUNICATIONS: rows}, ["c"], [date(2024, 2, 26)])
    assert at(frame, "c", date(2024, 2, 26), "comm_no_reply_streak") == 0


@pytest.mark.parametrize(
    ("snapshot", "streak"), [(date(2024, 2, 19), 0), (date(2024, 2, 26), 1), (date(2024, 3, 11), 1)]
)
def test_replies_to_one_moment_mark_its_no_replies_answered_when_the_first_came(build, at, snapshot, streak):
    """Two outreaches and a no-reply sent at one moment, answered 2 and 200 hours later: the first reply (02-12)
    marks the no-replies sent by then, that moment's included (2); the later reply marks the same; a cancelled
    meeting marks nothing. Known no-replies: 02-05's from 02-12, 02-12's from 02-19 (after the 02-19 snapshot's
    week), 02-14's from 02-21: streaks 0 (1 known - 2), then 3 - 2."""
    ts = datetime(2024, 2, 12, 10)
    rows = [
        touch(datetime(2024, 2, 5), outcome="no_reply"),
        touch(ts, outcome="no_reply"),
        touch(ts, outcome="replied", response_hours=2.0),
        touch(ts, outcome="replied", response_hours=200.0),
        touch(datetime(2024, 2, 13), channel="meeting", outcome="cancelled"),
        touch(datetime(2024, 2, 14), outcome="no_reply"),
    ]
    frame = build({Table.CLIENTS: CLIENTS, Table.COMMUNICATIONS: rows}, ["c"], [snapshot])
    assert at(frame, "c", snapshot, "comm_no_reply_streak") == streak


@pytest.mark.parametrize(
    ("snapshot", "rate", "hours", "words"),
    [
        # sent Sunday 22:00, replied 5 hours later (Monday 03:00): the Monday snapshot sees an outreach
        # still pending (no outcome yet: no rate, no hours, no words), the next one sees the reply
        (date(2024, 3, 11), None, None, None),
        (date(2024, 3, 18), 1.0, 5.0, 12.0),
    ],
)
def test_a_reply_is_known_when_it_came_not_when_the_outreach_was_sent(snapshot, rate, hours, words):
    touches = [
        touch(datetime(2024, 1, 1), direction="in", channel="chat"),
        touch(datetime(2024, 3, 10, 22), outcome="replied", response_hours=5.0, words=12.0),
    ]
    got = features_at(
        make_dataset({Table.CLIENTS: CLIENTS, Table.COMMUNICATIONS: touches}), ["c"], [snapshot]
    )
    row = got.row(0, named=True)
    assert (row["comm_reply_rate_7d"], row["comm_response_hours_7d"], row["comm_words_7d"]) == (
        rate,
        hours,
        words,
    )


def test_inbound_only_communications_without_optional_columns() -> None:
    # no outreach (nothing moves to a reply's week) and no sentiment, words or hours columns
    touches = [
        {"client_id": "c", "ts": datetime(2024, 2, 1), "channel": "chat", "direction": "in"},
        {"client_id": "c", "ts": datetime(2024, 2, 20), "channel": "email", "direction": "in"},
    ]
    got = features_at(make_dataset({Table.CLIENTS: CLIENTS, Table.COMMUNICATIONS: touches}), ["c"], SNAPS)
    assert got.get_column("comm_touches_in_7d").to_list() == [0, 1, 0]
    assert got.get_column("comm_reply_rate_28d").to_list() == [None, None, None]


@pytest.mark.parametrize(("snapshot", "streak"), [(date(2024, 3, 11), 2), (date(2024, 3, 18), 0)])
def test_a_reply_ends_the_no_reply_streak_when_it_came(snapshot, streak):
    # two unanswered e-mails (known a week after), then one sent Sunday 22:00 and replied 5 hours later:
    # the Monday snapshot still sees the streak of 2 (the reply had not come), the next one sees it ended
    touches = [
        touch(datetime(2024, 2, 19), outcome="no_reply"),
        touch(datetime(2024, 2, 26), outcome="no_reply"),
        touch(datetime(2024, 3, 10, 22), outcome="replied", response_hours=5.0),
    ]
    got = features_at(
        make_dataset({Table.CLIENTS: CLIENTS, Table.COMMUNICATIONS: touches}), ["c"], [snapshot]
    )
    assert got.get_column("comm_no_reply_streak").to_list() == [streak]


def _outreach(client: str, outcome: str, **kw) -> dict:
    # Sunday 2024-03-03 10:00, the day before the Monday snapshot 2024-03-04
    return {**touch(datetime(2024, 3, 3, 10), outcome=outcome, **kw), "client_id": client}


REPLY_OR_NOT = [
    *[{"client_id": c, "ts": datetime(2024, 1, 2), "channel": "chat", "direction": "in"} for c in "ABC"],
    _outreach("A", "replied", response_hours=48.0),  # the reply comes Tuesday 03-05
    _outreach("B", "replied"),  # a reply, its time not recorded
    _outreach("C", "no_reply"),
]


@pytest.mark.parametrize(
    ("wait", "snapshot", "expected"),
    [
        # the day after: every outcome still pending, whatever it will be (the snapshot cannot tell them apart)
        (7, date(2024, 3, 4), {"A": (None, 0), "B": (None, 0), "C": (None, 0)}),
        # a week later: A's reply came, B's reply and C's no_reply are known 7 days after they were sent
        (7, date(2024, 3, 11), {"A": (1.0, 0), "B": (1.0, 0), "C": (0.0, 1)}),
        (10, date(2024, 3, 11), {"A": (1.0, 0), "B": (None, 0), "C": (None, 0)}),
        # 0 = known as sent; A's reply still waits for its time
        (0, date(2024, 3, 4), {"A": (None, 0), "B": (1.0, 0), "C": (0.0, 1)}),
    ],
)
def test_an_outcome_is_pending_until_known_whatever_it_will_be(build, wait, snapshot, expected):
    cfg = FeaturesConfig(no_reply_after_days=wait)
    frame = build({Table.CLIENTS: CLIENTS_ABC, Table.COMMUNICATIONS: REPLY_OR_NOT}, "ABC", [snapshot], cfg)
    got = {
        r["client_id"]: (r["comm_reply_rate_7d"], r["comm_no_reply_streak"])
        for r in frame.iter_rows(named=True)
    }
    assert got == expected


@pytest.mark.parametrize(
    ("first", "then", "snapshot", "streak"),
    [
        # the client wrote back before the no_reply was known: no streak, not -1
        (
            touch(datetime(2024, 3, 1), outcome="no_reply"),
            touch(datetime(2024, 3, 2), "in"),
            date(2024, 3, 4),
            0,
        ),
        (
            touch(datetime(2024, 3, 1), outcome="no_reply"),
            touch(datetime(2024, 3, 2), "in"),
            date(2024, 3, 11),
            0,
        ),
        # it wrote, then an outreach went unanswered: known a week after it was sent
        (
            touch(datetime(2024, 2, 20), "in"),
            touch(datetime(2024, 3, 1), outcome="no_reply"),
            date(2024, 3, 4),
            0,
        ),
        (
            touch(datetime(2024, 2, 20), "in"),
            touch(datetime(2024, 3, 1), outcome="no_reply"),
            date(2024, 3, 11),
            1,
        ),
    ],
)
def test_a_response_before_a_no_reply_is_known_leaves_no_streak(build, at, first, then, snapshot, streak):
    frame = build({Table.CLIENTS: CLIENTS, Table.COMMUNICATIONS: [first, then]}, ["c"], [snapshot])
    assert at(frame, "c", snapshot, "comm_no_reply_streak") == streak


@pytest.mark.parametrize(
    ("snapshot", "expected"),
    [
        # the day after: the replies (A's on Tuesday, B's undated) had not come, their tone is unknown;
        # a meeting's tone is known when it was held
        (date(2024, 3, 4), {"A": None, "B": None, "C": 0.5}),
        (date(2024, 3, 11), {"A": -0.9, "B": 0.8, "C": None}),
    ],
)
def test_a_replys_sentiment_is_known_when_the_reply_is(build, snapshot, expected):
    touches = [
        *REPLY_OR_NOT[:3],
        _outreach("A", "replied", response_hours=48.0, sentiment=-0.9),
        _outreach("B", "replied", sentiment=0.8),
        {**_outreach("C", "held", sentiment=0.5), "channel": "meeting"},
    ]
    frame = build({Table.CLIENTS: CLIENTS_ABC, Table.COMMUNICATIONS: touches}, "ABC", [snapshot])
    assert dict(frame.select("client_id", "comm_sentiment_7d").iter_rows()) == expected


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        # created 03-04: three weeks old at 03-25, no week of the 91 days before the last 28: no baseline
        (datetime(2024, 3, 4), None),
        # created 02-19: one baseline week (02-19 .. 02-25), nothing asked in it: 0/2 -> (0+1)/(2+2) - 1/2
        (datetime(2024, 2, 19), -0.25),
    ],
)
def test_the_reply_rate_trend_needs_a_baseline_week(build, at, created, expected):
    touches = [
        {**touch(datetime(2023, 1, 3), "in"), "client_id": "old"},  # the data starts long before
        touch(datetime(2024, 3, 6, 9), outcome="no_reply"),
        touch(datetime(2024, 3, 13, 9), outcome="no_reply"),
    ]
    clients = [
        {"client_id": "old", "created_at": datetime(2023, 1, 2)},
        {"client_id": "c", "created_at": created},
    ]
    frame = build({Table.CLIENTS: clients, Table.COMMUNICATIONS: touches}, ["c"], [date(2024, 3, 25)])
    assert at(frame, "c", date(2024, 3, 25), "comm_reply_rate_28d") == 0.0
    assert at(frame, "c", date(2024, 3, 25), "comm_reply_rate_trend") == expected


# ---- mailings (a newsletter to everyone) are no outreach: left out of every communication feature
NEWSLETTER_IDS = [f"c{i:02d}" for i in range(25)]
NEWSLETTER = [
    # every Tuesday from 2024-01-02, 12 weeks, one e-mail to each of the 25 clients, logged as unanswered
    *[
        {**touch(datetime(2024, 1, 2, 9) + timedelta(weeks=w), outcome="no_reply"), "client_id": c}
        for w in range(12)
        for c in NEWSLETTER_IDS
    ],
    # c00's account manager writes every 4 weeks (on a Thursday) and c00 answers within hours
    *[
        {
            **touch(datetime(2024, 1, 4, 10) + timedelta(weeks=4 * m), outcome="replied", response_hours=3.0),
            "client_id": "c00",
        }
        for m in range(3)
    ],
    # a call to c00 on a newsletter day: one client on its channel, outreach
    {
        **touch(datetime(2024, 2, 27, 11), channel="call", outcome="replied", response_hours=1.0),
        "client_id": "c00",
    },
    # a client's message is the client speaking: kept
    {**touch(datetime(2024, 2, 29, 12), direction="in"), "client_id": "c00"},
]
NEWSLETTER_CLIENTS = [{"client_id": c, "created_at": datetime(2024, 1, 1)} for c in NEWSLETTER_IDS]


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        # in the 28 days before 03-25: the account manager's e-mail of 02-29 and the call of 02-27, not the
        # newsletters of 02-27, 03-05, 03-12 and 03-19
        ("comm_touches_out_28d", 2),
        ("comm_email_28d", 2),  # the account manager's and c00's own
        ("comm_call_28d", 1),
        ("comm_touches_in_28d", 1),
        ("comm_reply_rate_28d", 1.0),
        # the newsletters of 03-05 and 03-12 (known a week after) were no outreach left unanswered
        ("comm_no_reply_streak", 0),
        ("comm_response_hours_28d", 2.0),
    ],
)
def test_a_newsletter_is_no_outreach(build, at, feature, expected):
    tables = {Table.CLIENTS: NEWSLETTER_CLIENTS, Table.COMMUNICATIONS: NEWSLETTER}
    frame = build(tables, ["c00"], [date(2024, 3, 25)])
    assert at(frame, "c00", date(2024, 3, 25), feature) == pytest.approx(expected)


EARLY = [f"a{i:02d}" for i in range(20)]
LATE = [f"b{i:02d}" for i in range(80)]
# 20 clients from 01-01, 80 more from 02-15: an e-mail to the 20 early ones on 02-01 reaches all the
# clients on the books that day (a mailing), the same e-mail on 03-01 reaches 20 of 100 (20% < 30%: outreach)
BOOKS_CLIENTS = [
    *[{"client_id": c, "created_at": datetime(2024, 1, 1)} for c in EARLY],
    *[{"client_id": c, "created_at": datetime(2024, 2, 15)} for c in LATE],
]
BOOKS_TOUCHES = [
    {
        **touch(datetime(2024, 1, 2), "in"),
        "client_id": "a00",
    },  # the log begins: the 28-day windows are observed
    *[{**touch(datetime(2024, 2, 1, 9), outcome="no_reply"), "client_id": c} for c in EARLY],
    *[{**touch(datetime(2024, 3, 1, 9), outcome="no_reply"), "client_id": c} for c in EARLY],
]


@pytest.mark.parametrize(
    ("snapshot", "out_28d", "streak"),
    [
        # the e-mail of 02-01 is a mailing: the clients created later do not make it an outreach
        (date(2024, 2, 12), 0, 0),
        # the e-mail of 03-01 went to 20% of the clients on the books: outreach, unanswered (known 03-08)
        (date(2024, 3, 11), 1, 1),
    ],
)
def test_a_mailing_is_judged_by_the_clients_on_the_books_that_day(build, at, snapshot, out_28d, streak):
    frame = build({Table.CLIENTS: BOOKS_CLIENTS, Table.COMMUNICATIONS: BOOKS_TOUCHES}, ["a00"], [snapshot])
    assert (
        at(frame, "a00", snapshot, "comm_touches_out_28d"),
        at(frame, "a00", snapshot, "comm_no_reply_streak"),
    ) == (
        out_28d,
        streak,
    )


@pytest.mark.parametrize(("least", "out_28d"), [(20, 1), (5, 0)])
def test_a_mailing_reaches_at_least_mailing_min_clients(least, out_28d):
    # an e-mail to all 5 clients: outreach under the default rules.mailing_min_clients (20), a mailing at 5
    ids = list("ABCDE")
    tables = {
        Table.CLIENTS: [{"client_id": c, "created_at": datetime(2024, 1, 1)} for c in ids],
        Table.COMMUNICATIONS: [
            {**touch(datetime(2024, 1, 2), "in"), "client_id": "A"},  # the log begins: the window is observed
            *[{**touch(datetime(2024, 2, 20), outcome="no_reply"), "client_id": c} for c in ids],
        ],
    }
    keys = pl.DataFrame({"client_id": ["A"], "snapshot": [date(2024, 2, 26)]})
    frame = build_features(make_dataset(tables), keys, FeaturesConfig(), mailing_min_clients=least)
    assert frame.get_column("comm_touches_out_28d").to_list() == [out_28d]


def _sends(day: int, n: int, channel: str = "email", direction: str = "out") -> list[dict]:
    # n clients k00.. reached on 2024-03-<day> at 09:00
    return [
        {**touch(datetime(2024, 3, day, 9), direction, channel=channel), "client_id": f"k{i:02d}"}
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("touches", "created", "expected"),
    [
        # 20 of 20 on the books, e-mail: a mailing; the 5 calls that day are not (too few on their channel)
        (_sends(4, 20) + _sends(4, 5, "call"), {datetime(2024, 1, 1): 20}, [(4, "email", 20)]),
        # 20 of 100: not 30%; 30 of 100: a mailing
        (_sends(4, 20) + _sends(5, 30), {datetime(2024, 1, 1): 100}, [(5, "email", 30)]),
        # 20 of 20 on 03-04; the 80 created on 03-05 (and later) count from then only
        (
            _sends(4, 20) + _sends(5, 20),
            {datetime(2024, 1, 1): 20, datetime(2024, 3, 5, 17): 80},
            [(4, "email", 20)],
        ),
        # inbound touches are never a mailing; 19 clients are fewer than rules.mailing_min_clients
        (_sends(4, 25, direction="in") + _sends(5, 19), {datetime(2024, 1, 1): 19}, []),
        # without a clients table, the clients of the log from their first touch
        (_sends(4, 20), None, [(4, "email", 20)]),
    ],
)
def test_mailing_days(touches, created, expected):
    from churnml.features._grid import python_day_number
    from churnml.features.communication import mailing_days

    comm = nw.from_native(contract_frame(Table.COMMUNICATIONS, touches).lazy())
    clients = None
    if created is not None:
        rows = [
            {"client_id": f"x{k}-{i}", "created_at": ts}
            for k, (ts, n) in enumerate(created.items())
            for i in range(n)
        ]
        clients = nw.from_native(contract_frame(Table.CLIENTS, rows).lazy())
    got = mailing_days(comm, clients, share=0.3, least=20).collect().to_native().sort("_day")
    march = python_day_number(datetime(2024, 3, 1)) - 1
    assert [(d - march, ch, n) for d, ch, n in got.rows()] == expected


def _newsletter_batch(ids: list[str]) -> Dataset:
    # the newsletter data restricted to ``ids``, with the whole data's first activity (a client batch)
    whole = make_dataset({Table.CLIENTS: NEWSLETTER_CLIENTS, Table.COMMUNICATIONS: NEWSLETTER})
    keep = pl.col("client_id").is_in(ids)
    batch = whole.with_tables(**{str(t): f.filter(keep) for t, f in whole.tables.items()})
    return replace(batch, activity_start=whole.first_activity(), contact_start=whole.contact_first())


def test_the_mailings_of_the_whole_dataset_found_once_are_handed_to_every_client_batch():
    whole = make_dataset({Table.CLIENTS: NEWSLETTER_CLIENTS, Table.COMMUNICATIONS: NEWSLETTER})
    mailings = dataset_mailings(whole)
    # the 12 Tuesdays' newsletters; the call of 02-27 (one client) is outreach
    assert mailings.schema == pl.Schema({"day": pl.Date, "channel": pl.String})
    assert mailings.rows() == [(date(2024, 1, 2) + timedelta(weeks=w), "email") for w in range(12)]
    keys = pl.DataFrame({"client_id": ["c00", "c01"], "snapshot": [date(2024, 3, 25)] * 2})
    expected = build_features(whole, keys, FeaturesConfig())
    comm = [c for c in expected.columns if c.startswith("comm_")]
    for client in ("c00", "c01"):
        one = keys.filter(pl.col("client_id") == client)
        got = build_features(_newsletter_batch([client]), one, FeaturesConfig(), mailings=mailings)
        assert got.select(comm).equals(expected.filter(pl.col("client_id") == client).select(comm))
    # without them a batch of one client judges the newsletters within itself: 1 client, no mailing
    alone = build_features(_newsletter_batch(["c00"]), keys.head(1), FeaturesConfig())
    assert alone.get_column("comm_touches_out_28d").to_list() == [6]


def test_no_mailings_handed_leaves_every_touch_in():
    tables = {Table.CLIENTS: NEWSLETTER_CLIENTS, Table.COMMUNICATIONS: NEWSLETTER}
    keys = pl.DataFrame({"client_id": ["c00"], "snapshot": [date(2024, 3, 25)]})
    none = pl.DataFrame(schema={"day": pl.Date, "channel": pl.String})
    frame = build_features(make_dataset(tables), keys, FeaturesConfig(), mailings=none)
    # the 4 newsletters and the 2 personal touches of the 28 days
    assert frame.get_column("comm_touches_out_28d").to_list() == [6]


def test_mailings_without_their_columns_are_refused():
    tables = {Table.CLIENTS: NEWSLETTER_CLIENTS, Table.COMMUNICATIONS: NEWSLETTER}
    keys = pl.DataFrame({"client_id": ["c00"], "snapshot": [date(2024, 3, 25)]})
    with pytest.raises(ValueError, match=r"mailings lacks column\(s\) \['channel'\]"):
        build_features(
            make_dataset(tables), keys, FeaturesConfig(), mailings=pl.DataFrame({"day": [date(2024, 1, 2)]})
        )


def test_a_dataset_without_communications_has_no_mailings():
    dataset = make_dataset({Table.CLIENTS: NEWSLETTER_CLIENTS})
    assert dataset_mailings(dataset).shape == (0, 2)


FIVE = list("ABCDE")
# an e-mail to all 5 clients (a mailing when rules.mailing_min_clients is 5 or less, else outreach)
FIVE_TABLES = {
    Table.CLIENTS: [{"client_id": c, "created_at": datetime(2024, 1, 1)} for c in FIVE],
    Table.PAYMENTS: [{"client_id": c, "amount": 10.0, "paid_at": datetime(2024, 2, 1)} for c in FIVE],
    Table.COMMUNICATIONS: [
        {**touch(datetime(2024, 1, 2), "in"), "client_id": "A"},  # the log begins: the window is observed
        *[{**touch(datetime(2024, 2, 20), outcome="no_reply"), "client_id": c} for c in FIVE],
    ],
}


@pytest.mark.parametrize(("least", "out_28d"), [(20, 1.0), (5, 0.0)])
def test_the_feature_tables_read_the_configured_mailing_keys(tmp_path, least, out_28d):
    from churnml.config import LabelConfig, RulesConfig, load_config
    from churnml.contract.io import write_tables
    from churnml.jobs.features import feature_table
    from churnml.pipeline import snapshot_feature_table

    day, label = date(2024, 2, 26), LabelConfig(source="inactivity")
    rules = RulesConfig(mailing_min_clients=least)
    table = snapshot_feature_table(make_dataset(FIVE_TABLES), day, label, FeaturesConfig(), rules=rules)
    assert table.get_column("comm_touches_out_28d").to_list() == [out_28d] * 5
    # churnml features
    write_tables({str(t): contract_frame(t, rows) for t, rows in FIVE_TABLES.items()}, tmp_path / "raw")
    cfg = load_config(overrides=[f"rules.mailing_min_clients={least}", "label.source=inactivity"])
    table = feature_table(tmp_path / "raw", cfg, tmp_path / "features.parquet", day)
    assert table.get_column("comm_touches_out_28d").to_list() == [out_28d] * 5


def test_no_reply_rate_trend_without_outreach_asked_in_the_recent_window(build, at):
    # two outreaches replied in January, none asked in the last 28 days (the client wrote once): there is no
    # recent reply rate, so no trend; the prior 1/2 against (2+1)/(2+2) read "The reply rate fell by 25 points"
    touches = [
        {**touch(datetime(2023, 1, 3), "in"), "client_id": "old"},  # the data starts long before
        touch(datetime(2024, 1, 10, 9), outcome="replied"),
        touch(datetime(2024, 1, 24, 9), outcome="replied"),
        touch(datetime(2024, 3, 20, 9), "in"),
    ]
    clients = [{"client_id": k, "created_at": datetime(2023, 1, 2)} for k in ("old", "c")]
    frame = build({Table.CLIENTS: clients, Table.COMMUNICATIONS: touches}, ["c"], [date(2024, 3, 25)])
    assert at(frame, "c", date(2024, 3, 25), "comm_reply_rate_28d") is None
    assert at(frame, "c", date(2024, 3, 25), "comm_reply_rate_trend") is None
