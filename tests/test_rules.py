"""Early-warning rules on hand-built clients: each client is built to fire exactly the rules named."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from churnml.config import RulesConfig
from churnml.contract.schemas import Table
from churnml.scoring.outputs import History, Scores
from churnml.scoring.rules import (
    RULE_TEXT,
    RULES,
    amount_said,
    evidence_by_rule,
    fired_rules,
    rule_descriptions,
    unanswered_run_needed,
)

AS_OF = date(2024, 6, 3)
T0 = datetime(2024, 6, 3)


def days_ago(n: float) -> datetime:
    return T0 - timedelta(days=n)


IDS = ["quiet", "ghosted", "answered", "unhappy", "mixed", "dropping", "exporter", "orphan", "fine"]

CLIENTS = pl.DataFrame({"client_id": IDS, "created_at": [days_ago(800)] * len(IDS)})

EVENTS = pl.DataFrame(
    {
        "client_id": ["quiet", "exporter", "exporter", "fine", "fine", "unhappy"],
        "ts": [days_ago(120), days_ago(10), days_ago(3), days_ago(2), days_ago(-1), days_ago(1)],
        # "fine" exports only after the as-of date (ignored) and logs in two days before it.
        "event": ["login", "login", "data_export", "login", "data_export", "login"],
    }
)
PAYMENTS = pl.DataFrame(
    {
        "client_id": ["quiet", "ghosted", "answered", "mixed", "dropping", "orphan", "exporter"],
        "amount": [100.0] * 7,
        "paid_at": [days_ago(95), days_ago(5), days_ago(5), days_ago(5), days_ago(5), days_ago(5), None],
        "issued_at": [
            days_ago(100),
            days_ago(10),
            days_ago(10),
            days_ago(10),
            days_ago(10),
            days_ago(10),
            days_ago(4),
        ],
    }
)
COMMS = pl.DataFrame(
    {
        "client_id": ["ghosted"] * 3 + ["answered"] * 3 + ["mixed"] * 3,
        "ts": [days_ago(30), days_ago(20), days_ago(10)] * 3,
        "channel": ["email"] * 9,
        "direction": ["out", "out", "out", "out", "out", "in", "out", "out", "out"],
        # ghosted: two no_reply in a row. answered: no outcome, but the client wrote back afterwards.
        # mixed: the last one was replied.
        "outcome": ["replied", "no_reply", "no_reply", None, None, None, "no_reply", "no_reply", "replied"],
    }
)
TICKETS = pl.DataFrame(
    {
        "client_id": ["unhappy"] * 3 + ["mixed"] * 3,
        "opened_at": [days_ago(60), days_ago(40), days_ago(20), days_ago(60), days_ago(40), days_ago(20)],
        "closed_at": [days_ago(55), days_ago(35), days_ago(15), days_ago(55), days_ago(35), days_ago(-3)],
        # mixed: its last low rating arrives after the as-of date, so the last two known are 5 and 1.
        "csat": [5.0, 2.0, 1.0, 1.0, 5.0, 1.0],
    }
)
SIGNALS = pl.DataFrame(
    {
        "client_id": ["orphan", "fine"],
        "ts": [days_ago(30), days_ago(200)],
        "signal": ["champion_left", "champion_left"],
    }
)
HISTORY = pl.DataFrame(
    {
        History.CLIENT_ID: ["dropping"] * 3 + ["fine"] * 3,
        History.SNAPSHOT: [AS_OF - timedelta(weeks=w) for w in (20, 8, 0)] * 2,
        # dropping: 90 -> 60 within 13 weeks; fine: its 99 lies 20 weeks back (outside the window).
        History.HEALTH: [95.0, 90.0, 60.0, 99.0, 80.0, 70.0],
    }
)
TABLES = {
    Table.CLIENTS: CLIENTS,
    Table.EVENTS: EVENTS,
    Table.PAYMENTS: PAYMENTS,
    Table.COMMUNICATIONS: COMMS,
    Table.TICKETS: TICKETS,
    Table.SIGNALS: SIGNALS,
}

EXPECTED = {
    "quiet": "no_activity",
    "ghosted": "unanswered_outreach",
    "answered": "",
    "unhappy": "low_ratings",
    "mixed": "",
    "dropping": "health_drop",
    "exporter": "data_export",
    "orphan": "champion_change",
    "fine": "",
}


@pytest.fixture(scope="module")
def fired() -> dict[str, str]:
    out = fired_rules(TABLES, IDS, AS_OF, HISTORY, RulesConfig(), low_csat=2, export_events=("data_export",))
    assert out.height == len(IDS)
    return dict(zip(out.get_column("client_id"), out.get_column(Scores.RULES), strict=True))


@pytest.mark.parametrize("client", IDS)
def test_each_hand_built_client_fires_its_rule(fired: dict[str, str], client: str) -> None:
    assert fired[client] == EXPECTED[client]


# what each fired rule of the hand-built clients saw (AS_OF 2024-06-03)
EXPECTED_EVIDENCE = {
    "quiet": "no_activity: last order or activity on 2024-02-24, 100 days ago",  # its order, issued 100 days ago
    "ghosted": "unanswered_outreach: the last 2 outreaches (email) from 2024-05-14 to 2024-05-24 went unanswered",
    "answered": None,
    "unhappy": "low_ratings: the last 2 satisfaction ratings 2 and 1, since 2024-04-29",  # closed 35 and 15 days ago
    "mixed": None,
    "dropping": "health_drop: health fell from 90 to 60 within 13 weeks",
    "exporter": "data_export: exported data on 2024-05-31",
    "orphan": "champion_change: champion left on 2024-05-04",
    "fine": None,
}


def test_each_hand_built_client_says_what_its_rule_saw() -> None:
    out = fired_rules(TABLES, IDS, AS_OF, HISTORY, RulesConfig(), low_csat=2, export_events=("data_export",))
    assert dict(zip(out.get_column("client_id"), out.get_column(Scores.RULES_EVIDENCE), strict=True)) == (
        EXPECTED_EVIDENCE
    )
    assert not any(c.startswith("_evidence") for c in out.columns)


def test_several_rules_say_what_they_saw_in_config_order() -> None:
    tables = {
        **TABLES,
        Table.TICKETS: pl.DataFrame(
            {
                "client_id": ["orphan"] * 3,
                "opened_at": [days_ago(50), days_ago(12), days_ago(9)],
                "kind": ["complaint", "complaint", "cancellation_request"],
            }
        ),
        Table.SIGNALS: pl.DataFrame(
            {
                "client_id": ["orphan", "orphan"],
                "ts": [days_ago(60), days_ago(30)],
                "signal": ["vendor_review", "champion_left"],
                "note": ["RFP from Acme; due in June", " "],
            }
        ),
    }
    cfg = RulesConfig(enabled=("cancellation_request", "complaints", "champion_change", "vendor_review"))
    out = fired_rules(tables, ["orphan"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.RULES).to_list() == [
        "cancellation_request; complaints; champion_change; vendor_review"
    ]
    evidence = out.get_column(Scores.RULES_EVIDENCE).item()
    assert evidence == (
        "cancellation_request: asked to cancel on 2024-05-25; complaints: 2 complaints from 2024-04-14 to 2024-05-22, "
        "against 1 order; "
        "champion_change: champion left on 2024-05-04; vendor_review: vendor review on 2024-04-04 (RFP from Acme; "
        "due in June)"
    )
    assert evidence_by_rule(evidence) == {
        "cancellation_request": "asked to cancel on 2024-05-25",
        "complaints": "2 complaints from 2024-04-14 to 2024-05-22, against 1 order",
        "champion_change": "champion left on 2024-05-04",
        "vendor_review": "vendor review on 2024-04-04 (RFP from Acme; due in June)",
    }


def test_boolean_columns_match_the_list() -> None:
    out = fired_rules(TABLES, IDS, AS_OF, HISTORY, RulesConfig(), low_csat=2, export_events=("data_export",))
    for name in RulesConfig().enabled:
        hits = out.filter(pl.col(Scores.rule(name))).get_column("client_id").to_list()
        assert hits == [c for c in IDS if EXPECTED[c] == name]


def test_disabled_rules_and_missing_tables_do_not_fire() -> None:
    cfg = RulesConfig(enabled=("no_activity", "low_ratings", "champion_change"))
    only_clients_and_events = {Table.CLIENTS: CLIENTS, Table.EVENTS: EVENTS}
    out = fired_rules(
        only_clients_and_events, IDS, AS_OF, None, cfg, low_csat=2, export_events=("data_export",)
    )
    assert [c for c in out.columns if c.startswith("rule_")] == [
        "rule_no_activity",
        "rule_low_ratings",
        "rule_champion_change",
    ]
    # Without payments, clients with no events at all count from their creation (800 days ago).
    fired = dict(zip(out.get_column("client_id"), out.get_column(Scores.RULES), strict=True))
    assert fired["quiet"] == "no_activity"
    assert fired["ghosted"] == "no_activity"
    assert fired["fine"] == ""
    assert fired["orphan"] == "no_activity"


def test_thresholds_come_from_config() -> None:
    cfg = RulesConfig(
        unanswered_outreach=3, no_activity_days=200, enabled=("unanswered_outreach", "no_activity")
    )
    out = fired_rules(TABLES, IDS, AS_OF, HISTORY, cfg, low_csat=2, export_events=("data_export",))
    assert out.get_column(Scores.RULES).to_list() == [""] * len(IDS)


@pytest.mark.parametrize(
    ("outcome", "days", "fires"),
    [
        ("held", 5, False),  # a save call held after the unanswered e-mails: the team reached them
        ("no answer", 5, True),  # a call nobody answered reaches no one
        ("held", 15, True),  # held before the last unanswered e-mail (10 days ago)
    ],
)
def test_unanswered_outreach_stops_once_the_team_reached_the_client(
    outcome: str, days: int, fires: bool
) -> None:
    interventions = pl.DataFrame(
        {"client_id": ["ghosted"], "ts": [days_ago(days)], "kind": ["call"], "outcome": [outcome]}
    )
    cfg = RulesConfig(enabled=("unanswered_outreach",))
    tables = {**TABLES, Table.INTERVENTIONS: interventions}
    out = fired_rules(tables, IDS, AS_OF, HISTORY, cfg, low_csat=2, export_events=("data_export",))
    fired = dict(zip(out.get_column("client_id"), out.get_column(Scores.RULES), strict=True))
    assert fired["ghosted"] == ("unanswered_outreach" if fires else "")


@pytest.mark.parametrize(
    ("days", "fires"),
    [
        (5, False),  # ghosted opened a ticket after the last unanswered e-mail (10 days ago): it writes in
        (15, True),  # a ticket before it says nothing of the e-mails since
    ],
)
def test_unanswered_outreach_stops_once_the_client_writes_in(days: int, fires: bool) -> None:
    ticket = pl.DataFrame(
        {"client_id": ["ghosted"], "opened_at": [days_ago(days)], "closed_at": [None], "csat": [None]},
        schema_overrides={"closed_at": pl.Datetime("us"), "csat": pl.Float64},
    )
    cfg = RulesConfig(enabled=("unanswered_outreach",))
    tables = {**TABLES, Table.TICKETS: pl.concat([TICKETS, ticket], how="diagonal_relaxed")}
    out = fired_rules(tables, IDS, AS_OF, HISTORY, cfg, low_csat=2, export_events=("data_export",))
    fired = dict(zip(out.get_column("client_id"), out.get_column(Scores.RULES), strict=True))
    assert fired["ghosted"] == ("unanswered_outreach" if fires else "")


@pytest.mark.parametrize(("days", "fires"), [(91, True), (25, True), (15, False)])
def test_unanswered_outreach_reads_only_its_window(days: int, fires: bool) -> None:
    # ghosted's two unanswered outreaches were 20 and 10 days ago: a 15-day window holds only one
    cfg = RulesConfig(unanswered_days=days, enabled=("unanswered_outreach",))
    out = fired_rules(TABLES, IDS, AS_OF, HISTORY, cfg, low_csat=2, export_events=("data_export",))
    fired = dict(zip(out.get_column("client_id"), out.get_column(Scores.RULES), strict=True))
    assert fired["ghosted"] == ("unanswered_outreach" if fires else "")


@pytest.mark.parametrize(
    ("events_28d", "events_182d", "fires"),
    [
        (8, 624, True),  # usually 112 a 28 days (616 in the 154 days before), 8 in the last 28: down 93%
        (1, 617, True),  # 1 event of 112 ("1 event", not "1 events")
        (44, 660, True),  # 44 of 112: down 61%
        (48, 664, False),  # 48 of 112: down 57%, under the 60%
        (0, 44, False),  # usually 8 events in 28 days: too little use to call a drop
        (None, None, False),  # no usage features (no events table): never fires
    ],
)
def test_usage_drop_compares_the_last_weeks_with_the_clients_own_usual(
    events_28d: int | None, events_182d: int | None, fires: bool
) -> None:
    # read from the clients' features (the weekly job hands the rules only a few event rows per client)
    features = pl.DataFrame(
        {"client_id": ["settled"], "usage_events_28d": [events_28d], "usage_events_182d": [events_182d]},
        schema={"client_id": pl.String, "usage_events_28d": pl.Float64, "usage_events_182d": pl.Float64},
    )
    cfg = RulesConfig(enabled=("usage_drop",))
    out = fired_rules(
        NEW_TABLES, NEW_IDS, AS_OF, None, cfg, low_csat=2, export_events=("data_export",), features=features
    )
    fired = dict(zip(out.get_column("client_id"), out.get_column(Scores.RULES), strict=True))
    assert fired["settled"] == ("usage_drop" if fires else "")
    said = dict(zip(out.get_column("client_id"), out.get_column(Scores.RULES_EVIDENCE), strict=True))
    usual = None if events_182d is None else round((events_182d - events_28d) * 28 / 154)
    assert said["settled"] == (
        f"usage_drop: {events_28d} event{'' if events_28d == 1 else 's'} in the last 28 days against a usual {usual}"
        if fires
        else None
    )
    # without the features, nothing to read: it does not fire
    bare = fired_rules(NEW_TABLES, NEW_IDS, AS_OF, None, cfg, low_csat=2, export_events=("data_export",))
    assert set(bare.get_column(Scores.RULES)) == {""}


def test_usage_drop_says_its_counts_grouped_in_thousands() -> None:
    # an API account's daily aggregates: 66,919 calls in the last 28 days against 1,465,479 in the 154 days
    # before, a usual of 266,451 per 28 days (said as the drivers say counts: "31,151 a week")
    features = pl.DataFrame(
        {"client_id": ["settled"], "usage_events_28d": [66_919.0], "usage_events_182d": [1_532_398.0]}
    )
    cfg = RulesConfig(enabled=("usage_drop",))
    out = fired_rules(
        NEW_TABLES, NEW_IDS, AS_OF, None, cfg, low_csat=2, export_events=("data_export",), features=features
    )
    said = dict(zip(out.get_column("client_id"), out.get_column(Scores.RULES_EVIDENCE), strict=True))
    assert said["settled"] == "usage_drop: 66,919 events in the last 28 days against a usual 266,451"


def test_every_rule_has_a_plain_language_text() -> None:
    texts = rule_descriptions(RulesConfig(), grace_days=30)
    assert set(texts) == set(RulesConfig().enabled) == set(RULES) == set(RULE_TEXT)
    assert (
        texts["complaints"]
        == "2 or more complaints in the last 91 days, more than 5% of the client's orders in them"
    )
    assert "30-day grace period" in texts["term_lapsed"]
    assert all("{" not in t for t in texts.values())


NEW_IDS = ["lapsed", "renewed", "complainer", "unpaid", "reviewing", "stalled", "settled"]
NEW_TABLES = {
    Table.CLIENTS: pl.DataFrame(
        {
            "client_id": NEW_IDS,
            "created_at": [days_ago(800)] * 5 + [days_ago(60), days_ago(60)],
        }
    ),
    Table.SUBSCRIPTIONS: pl.DataFrame(
        {
            # lapsed: its term ended 12 days ago, nothing since; renewed: a new term started on that day
            "client_id": ["lapsed", "renewed", "renewed"],
            "start_date": [days_ago(377), days_ago(377), days_ago(12)],
            "end_date": [days_ago(12), days_ago(12), days_ago(-353)],
            "mrr": [100.0, 100.0, 100.0],
        }
    ),
    Table.TICKETS: pl.DataFrame(
        {
            "client_id": ["complainer"] * 2 + ["settled"] * 2,
            # settled: one of its two complaints is older than the 91-day window
            "opened_at": [days_ago(40), days_ago(10), days_ago(200), days_ago(10)],
            "kind": ["complaint"] * 4,
        }
    ),
    Table.PAYMENTS: pl.DataFrame(
        {
            "client_id": ["unpaid", "settled"],
            "amount": [100.0, 100.0],
            "issued_at": [days_ago(50), days_ago(50)],
            "due_at": [days_ago(20), days_ago(20)],
            "paid_at": [None, days_ago(22)],
            "status": ["open", "paid"],
        }
    ),
    Table.SIGNALS: pl.DataFrame(
        {
            "client_id": ["reviewing", "settled"],
            "ts": [days_ago(5), days_ago(5)],
            "signal": ["competitor_trial", "layoffs"],
        }
    ),
    # stalled (60 days old) was active in 1 of its 9 weeks; settled (same age) in 8 of them
    Table.EVENTS: pl.DataFrame(
        {
            "client_id": ["stalled"] + ["settled"] * 8,
            "ts": [days_ago(50)] + [days_ago(7 * k + 1) for k in range(8)],
            "event": ["login"] * 9,
        }
    ),
}


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        ("lapsed", "term_lapsed"),
        ("renewed", ""),
        ("complainer", "complaints"),
        ("unpaid", "payment_trouble"),
        ("reviewing", "vendor_review"),
        ("stalled", "onboarding_stalled"),
        ("settled", ""),
    ],
)
def test_the_new_rules_fire_for_their_client(client: str, expected: str) -> None:
    cfg = RulesConfig(
        enabled=("term_lapsed", "complaints", "payment_trouble", "vendor_review", "onboarding_stalled")
    )
    out = fired_rules(NEW_TABLES, NEW_IDS, AS_OF, None, cfg, low_csat=2, export_events=("data_export",))
    assert (
        dict(zip(out.get_column("client_id"), out.get_column(Scores.RULES), strict=True))[client] == expected
    )


def test_the_new_rules_say_what_they_saw() -> None:
    cfg = RulesConfig(
        enabled=("term_lapsed", "complaints", "payment_trouble", "vendor_review", "onboarding_stalled")
    )
    out = fired_rules(
        NEW_TABLES, NEW_IDS, AS_OF, None, cfg, low_csat=2, export_events=("data_export",), currency="EUR"
    )
    assert dict(zip(out.get_column("client_id"), out.get_column(Scores.RULES_EVIDENCE), strict=True)) == {
        "lapsed": "term_lapsed: term ended 12 days ago and was not renewed",
        "renewed": None,
        "complainer": "complaints: 2 complaints from 2024-04-24 to 2024-05-24",
        "unpaid": "payment_trouble: an invoice of EUR 100 due 2024-05-14, unpaid 20 days after",
        "reviewing": "vendor_review: competitor trial on 2024-05-29",
        "stalled": "onboarding_stalled: active in 1 of its first 9 weeks",  # 60 days: 9 weeks begun
        "settled": None,
    }


def test_onboarding_stalled_reads_the_frame_the_list_already_holds() -> None:
    from churnml.scoring.crm import onboarding_stalled

    cfg = RulesConfig(enabled=("onboarding_stalled",))
    args = {"low_csat": 2, "export_events": ("data_export",), "onboarding": (30, 120, 0.5)}
    # the list computes it once (standing.client_standing) for its column and hands it to the rule
    held = onboarding_stalled(
        NEW_IDS, AS_OF, NEW_TABLES[Table.CLIENTS], NEW_TABLES[Table.EVENTS],
        min_days=30, max_days=120, active_share=0.5, with_weeks=True,
    )  # fmt: skip
    computed = fired_rules(NEW_TABLES, NEW_IDS, AS_OF, None, cfg, **args)
    assert fired_rules(NEW_TABLES, NEW_IDS, AS_OF, None, cfg, **args, stalled=held).equals(computed)
    said = dict(
        zip(computed.get_column("client_id"), computed.get_column(Scores.RULES_EVIDENCE), strict=True)
    )
    assert said["stalled"] == "onboarding_stalled: active in 1 of its first 9 weeks"
    # what is handed is what the rule reads: no second computation
    other = held.with_columns(pl.col("client_id").is_in(["settled"]).alias("onboarding_stalled"))
    out = fired_rules(NEW_TABLES, NEW_IDS, AS_OF, None, cfg, **args, stalled=other)
    assert out.filter(pl.col(Scores.RULES) != "").get_column("client_id").to_list() == ["settled"]


def test_onboarding_stalled_evidence_reads_a_frame_held_in_chunks() -> None:
    # the list's frame comes from a join that Polars may run in parallel: its columns then lie in chunks of
    # other lengths than their neighbours' (a language app's list: [1295] beside [648, 647]), and a filter
    # keeping rows of one chunk only leaves an empty chunk; pl.format over such columns panicked
    # ("assertion failed: i < self.len()") and `churnml score` died with a traceback
    cfg = RulesConfig(enabled=("onboarding_stalled",))
    args = {"low_csat": 2, "export_events": ("data_export",), "onboarding": (30, 120, 0.5)}
    ids = NEW_IDS[:6]

    def halves(name: str, values: list, dtype: pl.DataType) -> pl.Series:
        return pl.concat(
            [pl.Series(name, values[:3], dtype), pl.Series(name, values[3:], dtype)], rechunk=False
        )

    held = pl.DataFrame(
        [
            pl.Series("client_id", ids),
            halves("onboarding_stalled", [False, False, False, False, True, True], pl.Boolean),
            halves("_weeks_active", [5, 6, 7, 8, 1, 2], pl.Int64),
            pl.Series("_weeks_lived", [9, 9, 9, 9, 9, 10], pl.Int64),
        ]
    )
    assert held.n_chunks("all") == [1, 2, 2, 1]
    out = fired_rules(NEW_TABLES, ids, AS_OF, None, cfg, **args, stalled=held)
    said = dict(zip(out.get_column("client_id"), out.get_column(Scores.RULES_EVIDENCE), strict=True))
    assert said == {
        "lapsed": None,
        "renewed": None,
        "complainer": None,
        "unpaid": None,
        "reviewing": "onboarding_stalled: active in 1 of its first 9 weeks",
        "stalled": "onboarding_stalled: active in 2 of its first 10 weeks",
    }


@pytest.mark.parametrize(
    ("days", "enabled", "source", "expected"),
    [
        (
            90,
            ("no_activity",),
            "inactivity",
            "rules.no_activity_days (90) is not under label.inactivity_days (90): a client without activity "
            "that long is no longer active, so it is on no list and the no_activity rule never fires; set it "
            "under, e.g. rules.no_activity_days: 45 (half), for an early warning",
        ),
        (45, ("no_activity",), "inactivity", None),  # an early warning: it can fire
        (90, ("no_activity",), "subscriptions", None),  # a client stays active while its term runs
        (120, ("term_lapsed",), "inactivity", None),  # the rule is off
    ],
)
def test_a_no_activity_rule_as_long_as_the_inactivity_is_said_never_to_fire(days, enabled, source, expected):
    from churnml.config import RulesConfig
    from churnml.scoring.rules import unreachable_no_activity_note

    rules = RulesConfig(no_activity_days=days, enabled=enabled)
    assert unreachable_no_activity_note(rules, source, 90) == expected


@pytest.mark.parametrize(
    ("ended_days_ago", "data_ends_days_ago", "fires"),
    [
        (0, 0, False),
        (2, 0, False),
        (3, 0, True),
        (12, 0, True),
        # the export is a week old (its last day 7 days before the list): a term that ended 9 days ago
        # had 2 days of data to show a renewal, one that ended 12 days ago 5
        (9, 7, False),
        (12, 7, True),
    ],
)
def test_a_term_is_called_lapsed_only_once_a_late_renewal_would_show(
    ended_days_ago: int, data_ends_days_ago: int, fires: bool
) -> None:
    """A billing export taken just after midnight holds the terms that ended that night but not their
    renewals yet: the rule waits rules.term_lapsed_days (3) before calling them lapsed, counted to the
    data's end when the list is dated later (a week-old export scored a week on)."""
    tables = {
        **NEW_TABLES,
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ["lapsed"],
                "start_date": [days_ago(ended_days_ago + 30)],
                "end_date": [days_ago(ended_days_ago)],
                "mrr": [100.0],
            }
        ),
    }
    cfg = RulesConfig(enabled=("term_lapsed",))
    data_end = AS_OF - timedelta(days=data_ends_days_ago)
    out = fired_rules(
        tables, NEW_IDS, AS_OF, None, cfg, low_csat=2, export_events=("data_export",), data_end=data_end
    )
    fired = dict(zip(out.get_column("client_id"), out.get_column(Scores.RULES), strict=True))
    assert fired["lapsed"] == ("term_lapsed" if fires else "")


@pytest.mark.parametrize(("opened_days_ago", "fires"), [(5, True), (90, True), (92, False)])
def test_a_cancellation_request_fires_its_rule_raises_red_and_leads_the_action(
    opened_days_ago, fires
) -> None:
    from churnml.config import PlaybooksConfig
    from churnml.scoring.playbook import ClientFacts, choose_play, raised_zones

    tables = {
        **NEW_TABLES,
        Table.TICKETS: pl.DataFrame(
            {
                "client_id": ["complainer", "complainer", "complainer"],
                "opened_at": [days_ago(40), days_ago(10), days_ago(opened_days_ago)],
                "kind": ["complaint", "complaint", "cancellation_request"],
            }
        ),
    }
    cfg = RulesConfig(enabled=("cancellation_request", "complaints"))
    out = fired_rules(tables, NEW_IDS, AS_OF, None, cfg, low_csat=2, export_events=("data_export",))
    fired = dict(zip(out.get_column("client_id"), out.get_column(Scores.RULES), strict=True))["complainer"]
    assert fired == ("cancellation_request; complaints" if fires else "complaints")
    if fires:
        assert raised_zones(["green"], [fired], cfg.raise_zone)[0] == ["red"]
        play = choose_play(ClientFacts("red", "C", rules=fired), PlaybooksConfig())
        assert (play.role, play.basis) == ("sales", "rule: cancellation_request")
        assert "Save call: they asked to cancel" in play.action


def _fired_for(
    rule: str,
    table: Table,
    rows: pl.DataFrame,
    data_end: date | None = None,
    extra: dict | None = None,
    column: str = Scores.RULES,
) -> list[str]:
    """``rules_fired`` (or another ``column`` of the rules' output) of the one client of ``rows`` (a table of
    ``table``; ``extra``: other tables), ``rule`` alone enabled."""
    client = rows.get_column("client_id").unique().to_list()
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": client, "created_at": [days_ago(800)]}),
        table: rows,
        **(extra or {}),
    }
    cfg = RulesConfig(enabled=(rule,))
    out = fired_rules(tables, client, AS_OF, None, cfg, low_csat=2, export_events=(), data_end=data_end)
    return out.get_column(column).to_list()


@pytest.mark.parametrize(
    ("rows", "fires"),
    [
        ([("failed", 30, None)], True),  # a failure, nothing paid since
        ([("failed", 30, None), ("paid", 23, 23)], False),  # the returned debit collected a week later
        ([("paid", 40, 40), ("failed", 30, None)], True),  # paid before the failure: still open
        ([("failed", 120, None)], False),  # older than payment_trouble_days (91)
    ],
)
def test_payment_trouble_fires_while_a_failure_is_unsettled(rows, fires) -> None:
    # the client has a running term: a failed payment is a charge of it that did not go through
    terms = pl.DataFrame(
        {"client_id": ["m"], "start_date": [days_ago(200)], "end_date": [days_ago(-165)], "mrr": [30.0]}
    )
    payments = pl.DataFrame(
        {
            "client_id": ["m"] * len(rows),
            "amount": [30.0] * len(rows),
            "issued_at": [days_ago(r[1]) for r in rows],
            "paid_at": [days_ago(r[2]) if r[2] is not None else None for r in rows],
            "status": [r[0] for r in rows],
        }
    )
    fired = _fired_for("payment_trouble", Table.PAYMENTS, payments, extra={Table.SUBSCRIPTIONS: terms})
    assert fired == (["payment_trouble"] if fires else [""])


@pytest.mark.parametrize(
    ("rows", "fires"),
    [
        # (status, issued_at, paid_at) days ago; a failed row's paid_at is its attempt time
        ([("failed", 106, 10)], True),  # an invoice of 106 days ago declined 10 days ago: within the 91 days
        ([("failed", 30, 120)], False),  # declined 120 days ago: outside them, whatever the invoice's date
        ([("failed", 30, 10), ("paid", 25, 25)], True),  # a charge paid before the decline settles nothing
        ([("failed", 30, 10), ("paid", 8, 5)], False),  # paid after the decline: settled
        ([("failed", 30, 10), (None, 8, 5)], False),  # an empty status is a payment too (labels.orders)
        ([("failed", 30, 10), ("refunded", 8, 5)], True),  # a refund settles no failure
        ([("failed", 30, -2)], False),  # declined after the as-of date: not known yet
    ],
)
def test_payment_trouble_dates_a_failure_at_its_attempt(rows, fires) -> None:
    terms = pl.DataFrame(
        {"client_id": ["m"], "start_date": [days_ago(200)], "end_date": [days_ago(-165)], "mrr": [30.0]}
    )
    payments = pl.DataFrame(
        {
            "client_id": ["m"] * len(rows),
            "amount": [30.0] * len(rows),
            "issued_at": [days_ago(r[1]) for r in rows],
            "paid_at": [days_ago(r[2]) for r in rows],
            "status": [r[0] for r in rows],
        },
        schema_overrides={"status": pl.String},
    )
    fired = _fired_for("payment_trouble", Table.PAYMENTS, payments, extra={Table.SUBSCRIPTIONS: terms})
    assert fired == (["payment_trouble"] if fires else [""])


@pytest.mark.parametrize(
    ("failed_days_ago", "fires"),
    [
        ([30], False),  # one failed top-up, nothing owed: tried again later
        ([30, 20], True),  # failed again
        ([120, 20], False),  # the first one is older than payment_trouble_days (91)
    ],
)
def test_without_terms_a_payment_must_fail_twice(failed_days_ago: list[int], fires: bool) -> None:
    payments = pl.DataFrame(
        {
            "client_id": ["p"] * (len(failed_days_ago) + 1),
            "amount": [10.0] * (len(failed_days_ago) + 1),
            "issued_at": [days_ago(60)] + [days_ago(d) for d in failed_days_ago],
            "paid_at": [days_ago(60)] + [None] * len(failed_days_ago),
            "status": ["paid"] + ["failed"] * len(failed_days_ago),
        }
    )
    if failed_days_ago == [120, 20]:  # the paid top-up came between them
        payments = payments.with_columns(pl.Series("issued_at", [days_ago(60), days_ago(120), days_ago(20)]))
    assert _fired_for("payment_trouble", Table.PAYMENTS, payments) == (["payment_trouble"] if fires else [""])


def test_a_cancellation_that_took_effect_as_a_move_to_the_free_plan_is_no_save_call() -> None:
    ids = ["moved", "asked"]
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ids, "created_at": [days_ago(800)] * 2}),
        Table.TICKETS: pl.DataFrame(
            {"client_id": ids, "opened_at": [days_ago(20)] * 2, "kind": ["cancellation_request"] * 2}
        ),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                # moved: its paid term ended 10 days ago, after the request; a free one runs since
                "client_id": ["moved", "moved", "asked"],
                "start_date": [days_ago(375), days_ago(10), days_ago(300)],
                "end_date": [days_ago(10), days_ago(-355), days_ago(-65)],
                "mrr": [300.0, 0.0, 300.0],
            }
        ),
    }
    cfg = RulesConfig(enabled=("cancellation_request",))
    out = fired_rules(tables, ids, AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.RULES).to_list() == ["", "cancellation_request"]


@pytest.mark.parametrize(
    ("rows", "fires"),
    [
        # a failed attempt (its due date passed, never paid: the attempt) then the invoice paid: settled
        ([("failed", 60, 40, None), ("paid", 50, 40, 35)], False),
        ([("open", 40, 20, None)], True),  # an invoice 20 days past due, unpaid
        ([("open", 40, 10, None)], False),  # 10 days past due: within rules.overdue_days (14)
        ([("open", 20, -10, None)], False),  # not due yet
        # an invoice of nothing, or a credit note, left open 20 days past due: nothing is owed (labels.orders)
        ([("open", 40, 20, None, 0.0)], False),
        ([("open", 40, 20, None, -50.0)], False),
    ],
)
def test_an_overdue_invoice_is_one_still_awaiting_payment(rows, fires) -> None:
    _assert_payment_trouble(rows, fires)


@pytest.mark.parametrize(("due_days_ago", "fires"), [(22, True), (20, False), (5, False)])
def test_an_invoice_due_after_the_data_ends_is_not_overdue(due_days_ago: int, fires: bool) -> None:
    # the export's last day was 7 days before the list: an invoice due 5 days ago may have been paid since;
    # one due 20 days ago was 13 days overdue on the data's last day (under rules.overdue_days, 14)
    rows = [("open", 40, due_days_ago, None)]
    _assert_payment_trouble(rows, fires, data_end=AS_OF - timedelta(days=7))


@pytest.mark.parametrize(
    ("rows", "fires"),
    [
        # (status, issued_at, due_at, paid_at): days before AS_OF. A patient's check-up invoice left open 300
        # days (written off) while it paid the visits it booked after it: no trouble paying now
        ([("open", 330, 300, None), ("paid", 150, 120, 118), ("paid", 40, 10, 12)], False),
        # the same old invoice, and the newest one unpaid 20 days past due too: it stopped paying
        ([("open", 330, 300, None), ("paid", 150, 120, 118), ("open", 50, 20, None)], True),
        # paid an invoice due before the open one: that says nothing of the open one
        ([("paid", 360, 330, 331), ("open", 330, 300, None)], True),
        # the later invoice paid only after the list's date: not known to be settled
        ([("open", 330, 300, None), ("paid", 40, 10, -3)], True),
        # an account closing: its last order, placed before the open invoice fell due, paid; nothing ordered since
        ([("open", 330, 300, None), ("paid", 310, 280, 270)], True),
    ],
)
def test_an_old_invoice_left_open_while_later_ones_are_paid_is_no_payment_trouble(rows, fires) -> None:
    _assert_payment_trouble(rows, fires)


def _assert_payment_trouble(rows, fires, data_end=None) -> None:
    payments = pl.DataFrame(
        {
            "client_id": ["m"] * len(rows),
            "amount": [r[4] if len(r) > 4 else 100.0 for r in rows],
            "issued_at": [days_ago(r[1]) for r in rows],
            "due_at": [days_ago(r[2]) for r in rows],
            "paid_at": [days_ago(r[3]) if r[3] is not None else None for r in rows],
            "status": [r[0] for r in rows],
        }
    )
    assert _fired_for("payment_trouble", Table.PAYMENTS, payments, data_end) == (
        ["payment_trouble"] if fires else [""]
    )


# AS_OF is 2024-06-03: 30 days before it is 2024-05-04, 20 days before 2024-05-14, 10 days before 2024-05-24
@pytest.mark.parametrize(
    ("rows", "evidence"),
    [
        # (status, amount, issued_at, due_at, paid_at, invoice_id): days before AS_OF
        (
            [("failed", 49.9, 30, None, 30, None)],
            "payment_trouble: a failed payment of EUR 49.90 on 2024-05-04, nothing paid since",
        ),
        (
            [("failed", 30.0, 30, None, 30, None), ("failed", 30.0, 20, None, 20, None)],
            "payment_trouble: 2 failed payments from 2024-05-04 to 2024-05-14 (the last EUR 30), nothing paid since",
        ),
        (  # paid before the second failure: only that one is unsettled
            [
                ("failed", 30.0, 30, None, 30, None),
                ("paid", 30.0, 25, None, 25, None),
                ("failed", 45.0, 20, None, 20, None),
            ],
            "payment_trouble: a failed payment of EUR 45 on 2024-05-14, nothing paid since",
        ),
        (
            [("open", 1200.0, 50, 20, None, "INV-7")],
            "payment_trouble: invoice INV-7 of EUR 1,200 due 2024-05-14, unpaid 20 days after",
        ),
        (
            [("open", 1200.0, 60, 30, None, "INV-6"), ("open", 250.5, 50, 20, None, "INV-7")],
            "payment_trouble: 2 invoices unpaid past their due dates, EUR 1,450.50 in all, the oldest INV-6 due "
            "2024-05-04 (30 days)",
        ),
        (
            [("open", 80.0, 50, 20, None, None)],
            "payment_trouble: an invoice of EUR 80 due 2024-05-14, unpaid 20 days after",
        ),
        (  # both tests fire: both said, in that order
            [("failed", 30.0, 30, None, 10, None), ("open", 80.0, 50, 20, None, "INV-9")],
            "payment_trouble: a failed payment of EUR 30 on 2024-05-24, nothing paid since, and invoice INV-9 of "
            "EUR 80 due 2024-05-14, unpaid 20 days after",
        ),
        ([("open", 80.0, 20, 5, None, "INV-1")], None),  # 5 days past due: the rule does not fire
    ],
)
def test_payment_trouble_says_which_test_fired_and_on_what(rows, evidence) -> None:
    terms = pl.DataFrame(
        {"client_id": ["m"], "start_date": [days_ago(200)], "end_date": [days_ago(-165)], "mrr": [30.0]}
    )
    payments = pl.DataFrame(
        {
            "client_id": ["m"] * len(rows),
            "amount": [r[1] for r in rows],
            "issued_at": [days_ago(r[2]) for r in rows],
            "due_at": [None if r[3] is None else days_ago(r[3]) for r in rows],
            "paid_at": [None if r[4] is None else days_ago(r[4]) for r in rows],
            "status": [r[0] for r in rows],
            "invoice_id": [r[5] for r in rows],
        },
        schema_overrides={"due_at": pl.Datetime("us"), "invoice_id": pl.String},
    )
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["m"], "created_at": [days_ago(800)]}),
        Table.PAYMENTS: payments,
        Table.SUBSCRIPTIONS: terms,
    }
    cfg = RulesConfig(enabled=("payment_trouble", "complaints"))
    out = fired_rules(tables, ["m"], AS_OF, None, cfg, low_csat=2, export_events=(), currency="EUR")
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [evidence]
    assert out.get_column(Scores.RULES).to_list() == ["payment_trouble" if evidence else ""]


def test_the_evidence_names_no_currency_when_none_is_set() -> None:
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["a", "b"], "created_at": [days_ago(800)] * 2}),
        Table.PAYMENTS: pl.DataFrame(
            {
                "client_id": ["a"],
                "amount": [12345.678],
                "issued_at": [days_ago(40)],
                "due_at": [days_ago(30)],
                "paid_at": [None],
                "status": ["open"],
            },
            schema_overrides={"paid_at": pl.Datetime("us")},
        ),
        Table.TICKETS: pl.DataFrame(
            {"client_id": ["b"] * 3, "opened_at": [days_ago(d) for d in (5, 6, 7)], "kind": ["complaint"] * 3}
        ),
    }
    cfg = RulesConfig(enabled=("payment_trouble", "complaints"))
    out = fired_rules(tables, ["a", "b"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.RULES).to_list() == ["payment_trouble", "complaints"]
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [
        "payment_trouble: an invoice of 12,345.68 due 2024-05-04, unpaid 30 days after",
        "complaints: 3 complaints from 2024-05-27 to 2024-05-29",
    ]


@pytest.mark.parametrize(
    ("value", "currency", "said"),
    [
        (1200.0, "EUR", "EUR 1,200"),
        (49.9, "USD", "USD 49.90"),
        (0.5, "", "0.50"),
        (1e6, "GBP", "GBP 1,000,000"),
    ],
)
def test_amount_said(value: float, currency: str, said: str) -> None:
    assert amount_said(value, currency) == said


@pytest.mark.parametrize(
    ("now", "then", "fires"),
    [
        (20 * 30.0, 40 * 30.0, True),  # 40 seats cut to 20: MRR halved
        (35 * 30.0, 40 * 30.0, False),  # -12.5%: under contraction_share (25%)
        (0.0, 40 * 30.0, False),  # a move to free terms is a pause or a downgrade to free, not this rule
        (60 * 30.0, 40 * 30.0, False),  # expansion
    ],
)
def test_contraction_fires_when_the_running_mrr_was_cut(now: float, then: float, fires: bool) -> None:
    subs = _two_terms(now, then)
    assert _fired_for("contraction", Table.SUBSCRIPTIONS, subs) == (["contraction"] if fires else [""])


def test_contraction_and_a_cancellation_say_the_amounts_and_dates() -> None:
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["w"], "created_at": [days_ago(800)]}),
        Table.SUBSCRIPTIONS: _two_terms(599.5, 1200.0),
        Table.TICKETS: pl.DataFrame(
            {"client_id": ["w"], "opened_at": [days_ago(10)], "kind": ["cancellation_request"]}
        ),
    }
    cfg = RulesConfig(enabled=("contraction", "cancellation_request"))
    out = fired_rules(tables, ["w"], AS_OF, None, cfg, low_csat=2, export_events=(), currency="USD")
    # contraction_days (91) before 2024-06-03 is 2024-03-04; the cut term started 30 days before AS_OF and ends
    # 335 days after it
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [
        "contraction: recurring revenue USD 599.50 a month since 2024-05-04, from USD 1,200 on 2024-03-04; "
        "cancellation_request: asked to cancel on 2024-05-24, effective 2025-05-04"
    ]


def _two_terms(now: float, then: float, gap_days: int = 0) -> pl.DataFrame:
    """A term at ``then`` a month a year ago until 30 days ago, the next at ``now`` from ``gap_days``
    later."""
    return pl.DataFrame(
        {
            "client_id": ["w", "w"],
            "start_date": [days_ago(200), days_ago(30 - gap_days)],
            "end_date": [days_ago(30), days_ago(-335)],
            "mrr": [then, now],
        }
    )


def test_contraction_says_the_day_of_the_cut_not_only_the_rule_s_reference_day() -> None:
    # seats cut at a monthly renewal 60 days before the list (2024-04-04), renewed at the lower MRR 30 days before:
    # the cut dates from 2024-04-04 (before: only "from USD 1,200 on 2024-03-04", the rule's reference day)
    subs = pl.DataFrame(
        {
            "client_id": ["w"] * 3,
            "start_date": [days_ago(200), days_ago(60), days_ago(30)],
            "end_date": [days_ago(60), days_ago(30), days_ago(-1)],
            "mrr": [1200.0, 600.0, 600.0],
        }
    )
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["w"], "created_at": [days_ago(800)]}),
        Table.SUBSCRIPTIONS: subs,
    }
    cfg = RulesConfig(enabled=("contraction",))
    out = fired_rules(tables, ["w"], AS_OF, None, cfg, low_csat=2, export_events=(), currency="USD")
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [
        "contraction: recurring revenue USD 600 a month since 2024-04-04, from USD 1,200 on 2024-03-04"
    ]


def test_a_return_at_a_win_back_price_is_no_contraction() -> None:
    # left 30 days ago, back 20 days later at a tenth of the price (a win-back offer): a return
    assert _fired_for("contraction", Table.SUBSCRIPTIONS, _two_terms(1.0, 9.99, gap_days=20)) == [""]
    # the same cut without a gap is a contraction
    assert _fired_for("contraction", Table.SUBSCRIPTIONS, _two_terms(1.0, 9.99)) == ["contraction"]


@pytest.mark.parametrize(("pause_products", "fires"), [((), True), (("Freeze",), False)])
def test_a_client_on_a_pause_is_no_contraction(pause_products, fires) -> None:
    from churnml.contract.validation import pause_terms_freed

    # a gym member: 40 a month until 20 days ago, frozen at 5 a month since (a "Freeze" term of its own)
    subs = pl.DataFrame(
        {
            "client_id": ["w", "w"],
            "start_date": [days_ago(200), days_ago(20)],
            "end_date": [days_ago(20), days_ago(-70)],
            "mrr": [40.0, 5.0],
            "product": ["Flex", "Freeze"],
        }
    )
    # as the read makes it (data.pause_products): the freeze at mrr 0 is a pause (RuleInput.paused), no cut;
    # without the setting a fall from 40 to 5 is one
    read, _ = pause_terms_freed(subs, pause_products)
    assert _fired_for("contraction", Table.SUBSCRIPTIONS, read) == (["contraction"] if fires else [""])


@pytest.mark.parametrize(
    ("home_next", "car_next", "fires"),
    [
        (
            55.73,
            60.0,
            True,
        ),  # the home policy quoted 37% up: 13% on the customer's total, a rise all the same
        (44.0, 61.0, False),  # +8% and +2%
        (None, 70.0, True),  # only the car renews soon, 17% up
        (None, 61.0, False),
    ],
)
def test_price_rise_compares_each_product_with_its_own_running_term(home_next, car_next, fires) -> None:
    """An insurer's customer with a home and two car policies, each renewing on its own anniversary."""
    rows = [
        ("home", days_ago(340), days_ago(-25), 40.81),
        ("car", days_ago(300), days_ago(-65), 60.0),
        ("car2", days_ago(200), days_ago(-165), 60.0),
        ("car", days_ago(-65), days_ago(-430), car_next),
    ]
    if home_next is not None:
        rows.append(("home", days_ago(-25), days_ago(-390), home_next))
    subs = pl.DataFrame(
        [("p", *r) for r in rows],
        schema=["client_id", "product", "start_date", "end_date", "mrr"],
        orient="row",
    )
    assert _fired_for("price_rise", Table.SUBSCRIPTIONS, subs) == (["price_rise"] if fires else [""])


@pytest.mark.parametrize(("next_each", "fires"), [(84.0, True), (63.0, False)])
def test_price_rise_sums_a_products_terms_on_both_sides(next_each: float, fires: bool) -> None:
    """Two terms of one product (two cars on one "car" line) renewed on the same day, each 40% up."""
    rows = [
        ("car", days_ago(300), days_ago(-30), 60.0),
        ("car", days_ago(300), days_ago(-30), 60.0),
        ("car", days_ago(-30), days_ago(-395), next_each),
        ("car", days_ago(-30), days_ago(-395), next_each),
        ("home", days_ago(100), days_ago(-265), 500.0),  # dilutes the client-level comparison
    ]
    subs = pl.DataFrame(
        [("p", *r) for r in rows],
        schema=["client_id", "product", "start_date", "end_date", "mrr"],
        orient="row",
    )
    assert _fired_for("price_rise", Table.SUBSCRIPTIONS, subs) == (["price_rise"] if fires else [""])


@pytest.mark.parametrize(
    ("now", "booked", "starts_in", "fires"),
    [
        (1.0, 9.99, 10, True),  # an intro month at 1 stepping up to 9.99 in 10 days
        (100.0, 118.5, 30, True),  # a renewal quote 18.5% up
        (100.0, 110.0, 30, False),  # +10%: under price_rise_share (15%)
        (100.0, 130.0, 120, False),  # starts beyond price_rise_days (91)
        (100.0, 80.0, 10, False),  # cheaper
    ],
)
def test_price_rise_fires_on_a_booked_next_term_that_costs_more(
    now: float, booked: float, starts_in: int, fires: bool
) -> None:
    subs = pl.DataFrame(
        {
            "client_id": ["p", "p"],
            "start_date": [days_ago(300), days_ago(-starts_in)],
            "end_date": [days_ago(-starts_in), days_ago(-starts_in - 365)],
            "mrr": [now, booked],
        }
    )
    assert _fired_for("price_rise", Table.SUBSCRIPTIONS, subs) == (["price_rise"] if fires else [""])


DISCOUNTED_TERMS = {
    "client_id": pl.String,
    "start_date": pl.Datetime("us"),
    "end_date": pl.Datetime("us"),
    "mrr": pl.Float64,
    "discount": pl.Float64,
}


@pytest.mark.parametrize(
    ("discount", "ends_in", "booked", "fires"),
    [
        (0.9, 20, False, True),  # an intro month at 90% off ending in 20 days, nothing booked after it
        (0.9, 120, False, False),  # ends beyond price_rise_days
        (0.1, 20, False, False),  # a 10% discount: under price_rise_discount (30%)
        (0.9, 20, True, False),  # the next term is booked at the same price: no rise
        (None, 20, False, False),  # no discount
    ],
)
def test_price_rise_fires_when_a_discount_ends(
    discount: float | None, ends_in: int, booked: bool, fires: bool
) -> None:
    rows = [("d", days_ago(70), days_ago(-ends_in), 1.0, discount)]
    if booked:
        rows.append(("d", days_ago(-ends_in), days_ago(-ends_in - 30), 1.0, discount))
    subs = pl.DataFrame(
        rows,
        schema=DISCOUNTED_TERMS,
        orient="row",
    )
    assert _fired_for("price_rise", Table.SUBSCRIPTIONS, subs) == (["price_rise"] if fires else [""])


def _price_rise_evidence(subs: pl.DataFrame) -> list[str | None]:
    return _fired_for("price_rise", Table.SUBSCRIPTIONS, subs, column=Scores.RULES_EVIDENCE)


def test_price_rise_says_which_kind_of_rise_it_saw() -> None:
    booked = pl.DataFrame(
        {
            "client_id": ["p", "p"],
            "start_date": [days_ago(300), days_ago(-10)],
            "end_date": [days_ago(-10), days_ago(-375)],
            "mrr": [100.0, 118.5],
        }
    )
    discount = pl.DataFrame(
        [("d", days_ago(70), days_ago(-20), 1.0, 0.9)],
        schema=DISCOUNTED_TERMS,
        orient="row",
    )
    started = _monthly_terms([(100.0, 1), (100.0, 1), (100.0, 1), (120.0, 1)], None)
    assert _price_rise_evidence(booked) == ["price_rise: the next term is booked at a higher price"]
    assert _price_rise_evidence(discount) == [
        "price_rise: a discount ends with the running term and nothing is booked after it"
    ]
    assert _price_rise_evidence(started) == [
        "price_rise: the running term costs more than the plan did at any time from 182 to 91 days ago"
    ]


def _annual_terms(discounts: list[float], ends_in: int) -> pl.DataFrame:
    """Consecutive yearly terms at 1,000 a month, the last one ending in ``ends_in`` days, with these
    discounts (oldest first)."""
    n = len(discounts)
    ends = [days_ago(-ends_in + 365 * (n - 1 - i)) for i in range(n)]
    return pl.DataFrame(
        {
            "client_id": ["a"] * n,
            "start_date": [e - timedelta(days=365) for e in ends],
            "end_date": ends,
            "mrr": [1000.0] * n,
            "discount": discounts,
        }
    )


@pytest.mark.parametrize(
    ("discounts", "fires"),
    [
        ([0.5], True),  # the first year at 50% off: the full price may come next
        ([0.0, 0.5], True),  # a first promotion this year
        ([0.5, 0.5], False),  # the same 50% renewed: the client's price
        ([0.5, 0.5, 0.6], False),
        ([0.2], False),  # 20%: under price_rise_discount (30%), a negotiated price
        ([0.1, 0.15], False),  # a retention discount raised at a renewal
    ],
)
def test_a_discount_held_for_more_than_a_year_is_no_price_rise(discounts: list[float], fires: bool) -> None:
    subs = _annual_terms(discounts, ends_in=30)
    assert _fired_for("price_rise", Table.SUBSCRIPTIONS, subs) == (["price_rise"] if fires else [""])


def test_monthly_intro_terms_at_a_discount_end_in_a_price_rise() -> None:
    # three monthly rows at 90% off, the last ending in 10 days: one intro offer of three months
    ends = [days_ago(50), days_ago(20), days_ago(-10)]
    subs = pl.DataFrame(
        {
            "client_id": ["m"] * 3,
            "start_date": [e - timedelta(days=30) for e in ends],
            "end_date": ends,
            "mrr": [1.0] * 3,
            "discount": [0.9] * 3,
        }
    )
    assert _fired_for("price_rise", Table.SUBSCRIPTIONS, subs) == ["price_rise"]


@pytest.mark.parametrize(
    ("directions", "outcomes", "fires"),
    [
        (["out", "out", "out"], ["replied", "no_reply", "no_reply"], True),  # stopped answering
        (["in", "out", "out"], [None, None, None], True),  # wrote to us once, then silence
        (["out", "out", "out"], ["no_reply", "no_reply", "no_reply"], False),  # never answers: no news
        (["out", "out", "out"], [None, None, None], False),  # mailings never answered
        # where outcomes are recorded, an empty one is a mailing nobody waits an answer for: a customer who
        # called us, then got two newsletters, is no unanswered outreach
        (["in", "out", "out"], ["replied", None, None], False),
        (["in", "out", "out"], ["replied", "no_reply", "no_reply"], True),
    ],
)
def test_unanswered_outreach_is_for_clients_that_used_to_answer(directions, outcomes, fires) -> None:
    comms = pl.DataFrame(
        {
            "client_id": ["c"] * 3,
            "ts": [days_ago(60), days_ago(20), days_ago(10)],
            "channel": ["email"] * 3,
            "direction": directions,
            "outcome": outcomes,
        },
        schema_overrides={"outcome": pl.String},
    )
    assert _fired_for("unanswered_outreach", Table.COMMUNICATIONS, comms) == (
        ["unanswered_outreach"] if fires else [""]
    )


@pytest.mark.parametrize(
    ("opened", "fires", "evidence"),
    [
        # an app user opening 4 push notifications in 10: 2 unopened in a row are a 36% draw of its usual
        ("NYNNYNNYNY" + "NN", False, None),
        # 5 in a row: 0.6 ** 5 = 8%, under 10%
        (
            "NYNNYNNYNY" + "NNNNN",
            True,
            "unanswered_outreach: the last 5 outreaches (other) from 2024-05-28 to 2024-06-01 went unanswered, "
            "where it answered 4 of the 10 before",
        ),
        # a client answering 9 in 10: 2 in a row, as before (0.1 ** 2 = 1%)
        (
            "YYYYNYYYYY" + "NN",
            True,
            "unanswered_outreach: the last 2 outreaches (other) from 2024-05-31 to 2024-06-01 went unanswered",
        ),
    ],
)
def test_unanswered_outreach_waits_for_a_run_the_clients_own_answer_rate_makes_unlikely(
    opened: str, fires: bool, evidence: str | None
) -> None:
    n = len(opened)
    comms = pl.DataFrame(
        {
            "client_id": ["c"] * n,
            "ts": [days_ago(n + 1 - i) for i in range(n)],
            "channel": ["other"] * n,
            "direction": ["out"] * n,
            "outcome": ["replied" if o == "Y" else "no_reply" for o in opened],
        }
    )
    assert _fired_for("unanswered_outreach", Table.COMMUNICATIONS, comms) == (
        ["unanswered_outreach"] if fires else [""]
    )
    assert _fired_for("unanswered_outreach", Table.COMMUNICATIONS, comms, column=Scores.RULES_EVIDENCE) == [
        evidence
    ]


@pytest.mark.parametrize(
    ("answered", "before", "needed"),
    [(0, 0, 2), (1, 1, 2), (9, 10, 2), (4, 10, 5), (1, 2, 4), (1, 10, 22)],
)
def test_unanswered_run_needed_is_the_shortest_run_under_the_chance(
    answered: int, before: int, needed: int
) -> None:
    out = pl.select(unanswered_run_needed(pl.lit(answered), pl.lit(before), 2, 0.1)).item()
    assert out == needed


@pytest.mark.parametrize(
    ("rated_days_ago", "fires"),
    [
        ((30, 10), True),
        ((200, 190), False),  # an outage's ratings of six months ago are no news
        ((120, 10), False),  # one of the two outside low_ratings_days (91)
    ],
)
def test_low_ratings_fire_only_while_they_are_recent(rated_days_ago: tuple[int, int], fires: bool) -> None:
    tickets = pl.DataFrame(
        {
            "client_id": ["c", "c"],
            "opened_at": [days_ago(d + 1) for d in rated_days_ago],
            "closed_at": [days_ago(d) for d in rated_days_ago],
            "csat": [1.0, 2.0],
        }
    )
    assert _fired_for("low_ratings", Table.TICKETS, tickets) == (["low_ratings"] if fires else [""])


@pytest.mark.parametrize(
    ("kinds", "fires"),
    [
        # a cancellation request rated 1: how the exit was handled, not support trouble (fired before)
        (("question", "cancellation_request"), False),
        (("question", "bug"), True),  # two support tickets rated 1
        ((None, "bug"), True),  # a ticket without a kind is support trouble
    ],
)
def test_low_ratings_read_the_ratings_of_support_trouble_only(kinds: tuple, fires: bool) -> None:
    """The last two ratings, both 1: of two support tickets they fire; one given on a cancellation request
    is not read (as the CSAT features, features.support.trouble_flag), so the last two are the question's
    and nothing before it."""
    tickets = pl.DataFrame(
        {
            "client_id": ["c", "c"],
            "opened_at": [days_ago(31), days_ago(11)],
            "closed_at": [days_ago(30), days_ago(10)],
            "kind": pl.Series(list(kinds), dtype=pl.String),
            "csat": [1.0, 1.0],
        }
    )
    assert _fired_for("low_ratings", Table.TICKETS, tickets) == (["low_ratings"] if fires else [""])


@pytest.mark.parametrize(
    ("other_client", "fires"),
    [
        (None, True),  # e-mails never record an outcome: their silence is read from the replies
        (("call", "held", 30), True),  # another client's call outcome: e-mails still never record one
        (("email", "replied", 30), False),  # e-mails record outcomes: the empty ones are mailings
        (("email", "replied", -5), True),  # an outcome recorded after the as-of date is not known yet
    ],
)
def test_an_empty_outcome_counts_by_whether_its_channel_records_outcomes(other_client, fires) -> None:
    rows = [("c", days_ago(60), "email", "in", None), ("c", days_ago(20), "email", "out", None)]
    rows.append(("c", days_ago(10), "email", "out", None))
    if other_client is not None:
        channel, outcome, ago = other_client
        rows.append(("d", days_ago(ago), channel, "out", outcome))
    comms = pl.DataFrame(
        rows, schema=["client_id", "ts", "channel", "direction", "outcome"], orient="row"
    ).with_columns(pl.col("outcome").cast(pl.String))
    clients = pl.DataFrame({"client_id": ["c", "d"], "created_at": [days_ago(800)] * 2})
    tables = {Table.CLIENTS: clients, Table.COMMUNICATIONS: comms}
    cfg = RulesConfig(enabled=("unanswered_outreach",))
    out = fired_rules(tables, ["c"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.RULES).to_list() == (["unanswered_outreach"] if fires else [""])


def test_a_new_promotion_after_years_at_full_price_is_an_intro_again() -> None:
    # 50% off in the first year, two years at full price, then a new 50% promotion ending in 30 days
    subs = _annual_terms([0.5, 0.0, 0.0, 0.5], ends_in=30)
    assert _fired_for("price_rise", Table.SUBSCRIPTIONS, subs) == ["price_rise"]


@pytest.mark.parametrize(
    ("failed_days_ago", "others_have_terms", "fires"),
    [
        ([30, 30], False, False),  # two automatic retries the same day: one failure
        ([30], True, False),  # other clients' terms do not make this client's top-up a debt
        ([30, 20], True, True),
    ],
)
def test_payment_trouble_is_decided_per_client(failed_days_ago, others_have_terms, fires) -> None:
    n = len(failed_days_ago)
    payments = pl.DataFrame(
        {
            "client_id": ["p"] * n,
            "amount": [10.0] * n,
            "issued_at": [days_ago(d) for d in failed_days_ago],
            "paid_at": [None] * n,
            "status": ["failed"] * n,
        },
        schema_overrides={"paid_at": pl.Datetime("us")},
    )
    extra = {}
    if others_have_terms:
        extra[Table.SUBSCRIPTIONS] = pl.DataFrame(
            {
                "client_id": ["other"],
                "start_date": [days_ago(100)],
                "end_date": [days_ago(-265)],
                "mrr": [9.0],
            }
        )
    assert _fired_for("payment_trouble", Table.PAYMENTS, payments, extra=extra) == (
        ["payment_trouble"] if fires else [""]
    )


@pytest.mark.parametrize(
    ("fired", "expected"),
    [
        # 12 of 20 clients fire data_export: said, with its text and the settings it reads
        (
            ["data_export"] * 11 + ["data_export; complaints"] + [""] * 8,
            "data_export (exported data in the last 28 days) fires for 12 of 20 clients (settings: "
            "rules.data_export_days, features.export_events): a rule that fires for most of the list tells no "
            "one apart and its action crowds out the others; check what it reads, or switch it off (rules.enabled)",
        ),
        (["data_export"] * 9 + [""] * 11, None),  # under half of the list
        (["data_export"] * 6 + [""] * 2, None),  # most of a list of 8, but under 10 clients
        ([""] * 30, None),
    ],
)
def test_a_rule_firing_for_most_of_the_list_is_said(fired: list[str], expected: str | None) -> None:
    from churnml.scoring.rules import crowded_rules_note

    cfg = RulesConfig(enabled=("data_export", "complaints"))
    assert crowded_rules_note(fired, cfg) == expected


@pytest.mark.parametrize(
    ("signal", "days", "fires"),
    [
        ("layoffs", 30, True),
        ("budget_cut", 90, True),
        ("budget_cut", 100, False),
        ("strategy_change", 30, False),
    ],
)
def test_budget_pressure_is_a_layoffs_or_budget_cut_signal_within_its_days(signal, days, fires) -> None:
    signals = pl.DataFrame({"client_id": ["fine"], "ts": [days_ago(days)], "signal": [signal]})
    cfg = RulesConfig(enabled=("budget_pressure",))
    out = fired_rules(
        {**TABLES, Table.SIGNALS: signals}, IDS, AS_OF, HISTORY, cfg, low_csat=2, export_events=()
    )
    fired = dict(zip(out.get_column("client_id"), out.get_column(Scores.RULES), strict=True))
    assert fired["fine"] == ("budget_pressure" if fires else "")


def _usage_portfolio(ratios: list[float], usual: float = 100.0) -> pl.DataFrame:
    """Features of a portfolio whose clients each used ``usual`` events a 28 days over the 154 days before
    and ``ratio`` x that in the last 28 (client ``c0``, ``c1``, ...)."""
    ids = [f"c{i}" for i in range(len(ratios))]
    recent = [r * usual for r in ratios]
    return pl.DataFrame(
        {
            "client_id": ids,
            "usage_events_28d": recent,
            "usage_events_182d": [r + usual * 154 / 28 for r in recent],
        }
    )


def _usage_drops(
    features: pl.DataFrame, tables: dict | None = None, portfolio_ratio: float | None = None
) -> list[str]:
    ids = features.get_column("client_id").to_list()
    tables = tables or {
        Table.CLIENTS: pl.DataFrame({"client_id": ids, "created_at": [days_ago(800)] * len(ids)})
    }
    cfg = RulesConfig(enabled=("usage_drop",))
    out = fired_rules(
        tables,
        ids,
        AS_OF,
        None,
        cfg,
        low_csat=2,
        export_events=(),
        features=features,
        portfolio_ratio=portfolio_ratio,
    )
    return out.filter(pl.col(Scores.rule("usage_drop"))).get_column("client_id").to_list()


@pytest.mark.parametrize(
    ("ratios", "fired"),
    [
        # a portfolio-wide dip: everyone at x0.55 (down 45%), c9 and c10 at x0.37 (down 63%: the client's own
        # rule alone fired for them), c11 at x0.1 (down 90%): only c11 fell 60% more than the portfolio
        ([0.55] * 9 + [0.37, 0.37, 0.1], ["c11"]),
        # a few fell, the portfolio did not: the client's own usual decides, as before
        ([1.0] * 9 + [0.37, 0.5, 0.1], ["c9", "c11"]),
        # a portfolio that grew is no higher bar
        ([1.3] * 9 + [0.37, 0.5, 0.1], ["c9", "c11"]),
        # most of the portfolio's events stopped (a tracking change): no one fell more than the portfolio
        ([0.0] * 9 + [0.37, 0.37, 0.1], []),
        # under PORTFOLIO_MIN_CLIENTS usually active clients: no portfolio to read, each its own
        ([0.37, 0.37, 0.1], ["c0", "c1", "c2"]),
    ],
)
def test_usage_drop_reads_a_client_against_the_portfolios_drop_of_the_same_weeks(
    ratios: list[float], fired: list[str]
) -> None:
    assert _usage_drops(_usage_portfolio(ratios)) == fired


@pytest.mark.parametrize(
    ("ratios", "fired"),
    [
        # 16 clients at x0.35 (a holiday): the whole's median x0.35, no one fell 60% more; each half of 8 alone
        # is under PORTFOLIO_MIN_CLIENTS, has no portfolio to read and fired usage_drop for all 16
        ([0.35] * 16, []),
        # halves of medians x0.5 and x1.0: alone the second half's bar was x0.4 (c22 at x0.35 fired), the
        # whole's (median x0.5) is x0.2
        ([0.5] * 10 + [0.25, 0.15] + [1.0] * 10 + [0.35, 0.15], ["c11", "c23"]),
    ],
)
def test_parts_of_a_portfolio_read_with_the_whole_s_usage_ratio_fire_as_the_whole(
    ratios: list[float], fired: list[str]
) -> None:
    # Spark scores the list a client bucket at a time: each gets the whole portfolio's ratio
    from churnml.scoring.rules import client_usage_ratios, portfolio_usage_ratio

    features = _usage_portfolio(ratios)
    whole = portfolio_usage_ratio(client_usage_ratios(features, RulesConfig(), {}, AS_OF))
    halves = [features[: len(ratios) // 2], features[len(ratios) // 2 :]]
    assert _usage_drops(features) == fired
    assert [c for part in halves for c in _usage_drops(part, portfolio_ratio=whole)] == fired
    assert [c for part in halves for c in _usage_drops(part)] != fired  # each half's own median


def test_usage_drop_reads_the_ratios_the_list_already_holds() -> None:
    # the list computes every client's ratio once (its dip banner reads them too) and hands them to the rules
    from churnml.scoring.rules import client_usage_ratios

    features = _usage_portfolio([1.0] * 9 + [0.37, 0.5, 0.1])
    ids = features.get_column("client_id").to_list()
    tables = {Table.CLIENTS: pl.DataFrame({"client_id": ids, "created_at": [days_ago(800)] * len(ids)})}
    cfg = RulesConfig(enabled=("usage_drop",))

    def drops(ratios: pl.DataFrame | None) -> list[str]:
        out = fired_rules(
            tables, ids, AS_OF, None, cfg, low_csat=2, export_events=(), features=features, ratios=ratios
        )
        return out.filter(pl.col(Scores.rule("usage_drop"))).get_column("client_id").to_list()

    held = client_usage_ratios(features, cfg, tables, AS_OF)
    assert held.sort("client_id").get_column("_ratio").round(6).to_list()[:4] == [
        1.0,
        1.0,
        0.5,
        0.1,
    ]  # c0 c1 c10 c11
    assert drops(None) == drops(held) == ["c9", "c11"]
    # the ratios given are the ones read (not computed again from the features): c3 at x0.2 fires, c11 does not
    given = pl.DataFrame({"client_id": ids, "_ratio": [1.0, 1.0, 1.0, 0.2] + [1.0] * 8})
    assert drops(given) == ["c3"]


def test_a_portfolio_wide_usage_dip_is_said() -> None:
    from churnml.scoring.rules import portfolio_usage_note

    cfg = RulesConfig(enabled=("usage_drop",))
    tables = {Table.CLIENTS: pl.DataFrame(schema={"client_id": pl.String, "created_at": pl.Datetime("us")})}
    dip = _usage_portfolio([0.55] * 9 + [0.37, 0.37, 0.1])
    assert portfolio_usage_note(dip, cfg, tables, AS_OF) == (
        "product use fell across the portfolio: in the last 28 days the median client used it 45% less than its "
        "usual (12 clients usually active): a portfolio-wide dip (a season, a holiday, an outage, a tracking "
        "change), not so many churners. usage_drop reads each client against it: it fires where a client's use "
        "is down 60% or more against the portfolio's (at most 22% of its usual this week); the model's scores "
        "read the dip too (its reasons cite a trend only where it fell further than the portfolio's)"
    )
    assert portfolio_usage_note(_usage_portfolio([0.85] * 9 + [0.1] * 3), cfg, tables, AS_OF) is None  # -15%
    assert portfolio_usage_note(_usage_portfolio([0.5] * 5), cfg, tables, AS_OF) is None  # too few clients
    assert portfolio_usage_note(None, cfg, tables, AS_OF) is None
    # most of the portfolio's events stopped: usage_drop fires for no one, and the list says so
    stopped = portfolio_usage_note(_usage_portfolio([0.0] * 9 + [0.37, 0.37, 0.1]), cfg, tables, AS_OF)
    assert stopped is not None and "usage_drop fires for no one this week" in stopped


def _usage_mix(clients: list[tuple[int, float, float]]) -> pl.DataFrame:
    """Features of ``(how many, usual, recent)`` clients: each used ``usual`` events a 28 days over the 154
    days before and ``recent`` in the last 28 (``c0``, ``c1``, ... in that order)."""
    rows = [(usual, recent) for n, usual, recent in clients for _ in range(n)]
    return pl.DataFrame(
        {
            "client_id": [f"c{i}" for i in range(len(rows))],
            "usage_events_28d": [r for _, r in rows],
            "usage_events_182d": [r + u * 154 / 28 for u, r in rows],
        }
    )


# 12 light clients just over usage_drop_min_events (12 a 28 days: usual 13) and back at 8 (x0.62), 12 just
# under it (usual 10, not compared) now at 15, and c24 at x0.3 (usual 20, recent 6)
_FLAT = [(12, 13.0, 8.0), (12, 10.0, 15.0), (1, 20.0, 6.0)]


@pytest.mark.parametrize(
    ("clients", "median", "total", "portfolio", "dip", "fired"),
    [
        # sparse use that did not move (the total 282 of 296 usual, x0.95): the median x0.62 is the clients
        # picked by a busy usual falling back; no dip, and usage_drop keeps its own bar x0.4: c24 at x0.3 fires
        (_FLAT, 0.615, 0.953, 0.953, None, ["c24"]),
        # the same clients, and the light ones fell too (15 -> 3, the total x0.47): a dip the median measures
        (
            [(12, 13.0, 8.0), (12, 10.0, 3.0), (1, 20.0, 6.0)],
            0.615,
            0.466,
            0.615,
            "the median client used it 38% less than its usual (13 clients usually active)",
            [],
        ),
        # a real seasonal dip (everyone at x0.55), as before: the median's
        (
            [(9, 100.0, 55.0), (2, 100.0, 37.0), (1, 100.0, 10.0)],
            0.55,
            0.483,
            0.55,
            "the median client used it 45% less than its usual (12 clients usually active)",
            ["c11"],
        ),
        # a heavy client stopped (the total x0.31), the median client did not move: no dip
        ([(11, 20.0, 20.0), (1, 500.0, 0.0)], 1.0, 0.305, 1.0, None, ["c11"]),
    ],
)
def test_a_portfolio_dip_needs_the_total_use_to_fall_too(
    clients: list[tuple[int, float, float]],
    median: float,
    total: float,
    portfolio: float,
    dip: str | None,
    fired: list[str],
) -> None:
    from churnml.scoring.rules import (
        client_usage_ratios,
        portfolio_usage_ratio,
        portfolio_usage_total,
        usage_dip_note,
    )

    features = _usage_mix(clients)
    cfg = RulesConfig(enabled=("usage_drop",))
    ratios = client_usage_ratios(features, cfg, {}, AS_OF)
    assert ratios.height == features.height  # the light clients too: the total reads them
    assert float(ratios.get_column("_ratio").median()) == pytest.approx(median, abs=1e-3)
    assert portfolio_usage_total(ratios) == pytest.approx(total, abs=1e-3)
    assert portfolio_usage_ratio(ratios) == pytest.approx(portfolio, abs=1e-3)
    note = usage_dip_note(ratios, cfg)
    assert (note is None) if dip is None else (note is not None and dip in note)
    assert _usage_drops(features) == fired


def test_ratios_without_totals_read_the_median_alone() -> None:
    # ratios collected without _recent / _usual (the Spark driver's) keep the median's portfolio ratio
    from churnml.scoring.rules import portfolio_usage_ratio, portfolio_usage_total

    ratios = pl.DataFrame({"client_id": [f"c{i}" for i in range(12)], "_ratio": [0.6] * 11 + [None]})
    assert portfolio_usage_total(ratios) is None
    assert portfolio_usage_ratio(ratios) == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("back_days_ago", "events", "fires"),
    [
        # (events in the last 28, 91, 182 days); never gone: 8 against its usual 112 a 28 days
        (None, (8, 260, 624), True),
        # back 1 day ago after 60 days away: the last 28 days are its absence, no drop of its use
        (1, (0, 0, 500), False),
        # back 60 days ago: no window since its return leaves a usual to compare with (28 of 91 days)
        (60, (10, 200, 400), False),
        # back 120 days ago: compared over the 91 days since its return, steady at 40 (its heavy use before
        # leaving, 770 in the 182 days' other part, is another spell's)
        (120, (40, 130, 900), False),
        # back 120 days ago and collapsed since: 4 against its 56 a 28 days since the return
        (120, (4, 130, 200), True),
    ],
)
def test_usage_drop_compares_a_returned_client_only_since_its_return(
    back_days_ago: int | None, events: tuple[int, int, int], fires: bool
) -> None:
    if back_days_ago is None:
        starts, ends = [days_ago(400)], [days_ago(-30)]
    else:  # away 60 days (longer than the 30-day grace): a new customer spell
        starts, ends = [days_ago(400), days_ago(back_days_ago)], [days_ago(back_days_ago + 60), days_ago(-30)]
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["back"], "created_at": [days_ago(800)]}),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {"client_id": ["back"] * len(starts), "start_date": starts, "end_date": ends, "mrr": 100.0}
        ),
    }
    features = pl.DataFrame(
        {
            "client_id": ["back"],
            **{f"usage_events_{w}d": [float(n)] for w, n in zip((28, 91, 182), events, strict=True)},
        }
    )
    assert _usage_drops(features, tables) == (["back"] if fires else [])


@pytest.mark.parametrize(
    ("events", "ratio"),
    [
        # (events in the last 28, 91, 182 days); every window known: the 182 days' 154 of usual
        ((28.0, 182.0, 336.0), 0.5),
        # the 182-day count unknown (data shorter than 182 days, features.unobserved_windows: unknown): the
        # 91 days' count over its own 63 days of usual, a steady client at x1.0 (154 days read x2.44) ...
        ((56.0, 182.0, None), 1.0),
        # ... and a collapse to a quarter of its use at x0.25 (154 days read x0.61: usage_drop did not fire)
        ((14.0, 140.0, None), 0.25),
        # no window long enough known: not compared
        ((14.0, None, None), None),
    ],
)
def test_usage_ratios_read_a_null_window_s_count_and_days_together(
    events: tuple[float, float | None, float | None], ratio: float | None
) -> None:
    from churnml.scoring.rules import RuleInput, usage_ratios

    features = pl.DataFrame(
        {
            "client_id": ["c"],
            **{f"usage_events_{w}d": [n] for w, n in zip((28, 91, 182), events, strict=True)},
        },
        schema={"client_id": pl.String, **{f"usage_events_{w}d": pl.Float64 for w in (28, 91, 182)}},
    )
    tables = {Table.CLIENTS: pl.DataFrame({"client_id": ["c"], "created_at": [days_ago(800)]})}
    ctx = RuleInput(
        tables, features.select("client_id"), AS_OF, None, RulesConfig(), 0.0, (), features=features
    )
    assert usage_ratios(ctx).get_column("_ratio").to_list() == (
        [] if ratio is None else [pytest.approx(ratio)]
    )
    assert _usage_drops(features, tables) == (["c"] if ratio is not None and ratio <= 0.4 else [])


@pytest.mark.parametrize(
    ("data_days", "events", "usual", "ratio"),
    [
        # 60 days of data (features.unobserved_windows: scaled: each window's count over the 60 days x w / 60):
        # 640 events in the first 32 days, 196 in the last 28: a usual of 560 a 28 days, x0.35 (read before as
        # the scaled total less the raw 196 over 154 days: a usual of 425, x0.46, and usage_drop did not fire)
        (60, (196.0, 836 * 91 / 60, 836 * 182 / 60), 560.0, 0.35),
        # steady on 60 days: 280 a 28 days before and since, x1.0 (as before)
        (60, (280.0, 600 * 91 / 60, 600 * 182 / 60), 280.0, 1.0),
        # 120 days of data: the 182-day count over its 120 days (92 of usual), not the whole 91 days' 63
        (120, (50.0, 300.0, 510 * 182 / 120), 140.0, 50 / 140),
        # 200 days of data: no window scaled, read as whole (154 days of usual, as without the data's days)
        (200, (28.0, 182.0, 336.0), 56.0, 0.5),
        # 40 days of data: 12 days of usual observed, under the 28 of a comparison: not compared
        (40, (100.0, 140 * 91 / 40, 140 * 182 / 40), None, None),
    ],
)
def test_usage_ratios_read_a_scaled_window_over_the_days_of_data(
    data_days: int, events: tuple[float, float, float], usual: float | None, ratio: float | None
) -> None:
    from churnml.scoring.rules import RuleInput, usage_ratios

    features = pl.DataFrame(
        {
            "client_id": ["c"],
            **{f"usage_events_{w}d": [n] for w, n in zip((28, 91, 182), events, strict=True)},
        }
    )
    tables = {Table.CLIENTS: pl.DataFrame({"client_id": ["c"], "created_at": [days_ago(800)]})}
    start = AS_OF - timedelta(days=data_days)
    ctx = RuleInput(
        tables,
        features.select("client_id"),
        AS_OF,
        None,
        RulesConfig(),
        0.0,
        (),
        features=features,
        usage_start=start,
    )
    got = usage_ratios(ctx)
    assert got.get_column("_usual").to_list() == ([] if usual is None else [pytest.approx(usual)])
    assert got.get_column("_ratio").to_list() == ([] if ratio is None else [pytest.approx(ratio)])
    out = fired_rules(
        tables,
        ["c"],
        AS_OF,
        None,
        RulesConfig(enabled=("usage_drop",)),
        low_csat=2,
        export_events=(),
        features=features,
        usage_start=start,
    )
    said = (
        f"usage_drop: {events[0]:.0f} events in the last 28 days against a usual {usual:.0f}" if usual else ""
    )
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [said if ratio and ratio <= 0.4 else None]


def test_a_churn_record_and_a_term_after_it_are_a_return_for_usage_drop() -> None:
    # the term ran on (a renewal 10 days after the last one ended, within the grace), but a churn record
    # lies between: a return 10 days ago, so its last 28 days are no drop
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["back"], "created_at": [days_ago(800)]}),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ["back", "back"],
                "start_date": [days_ago(400), days_ago(10)],
                "end_date": [days_ago(20), days_ago(-20)],
                "mrr": [100.0, 100.0],
            }
        ),
    }
    features = pl.DataFrame({"client_id": ["back"], "usage_events_28d": [2.0], "usage_events_182d": [500.0]})
    assert _usage_drops(features, tables) == ["back"]  # no churn record: the same spell, a real drop
    churns = pl.DataFrame({"client_id": ["back"], "churned_at": [days_ago(20)]})
    assert _usage_drops(features, {**tables, Table.CHURNS: churns}) == []


@pytest.mark.parametrize(
    ("recent", "fires"),
    [
        ({"amount": 100.0, "paid_at": days_ago(5), "status": "paid"}, False),  # an order 5 days ago
        ({"amount": 100.0, "paid_at": days_ago(5), "status": "failed"}, True),  # a dunning retry: no order
        ({"amount": -100.0, "paid_at": days_ago(5), "status": "refunded"}, True),  # money going back
        # an invoice issued 6 days ago, not paid yet: an order placed on credit terms (labels.order_placed_at)
        ({"amount": 100.0, "paid_at": None, "status": "open"}, False),
        ({"amount": 100.0, "paid_at": None, "status": "failed"}, True),  # a failed invoice is none
        # paid 5 days ago for an invoice issued 40 days ago: its order was placed 40 days ago
        ({"amount": 100.0, "paid_at": days_ago(5), "status": "paid", "issued_at": days_ago(40)}, True),
    ],
)
def test_no_activity_counts_orders_only(recent: dict, fires: bool) -> None:
    # the rule says "no order and no product activity": a declined card or a refund is none, an invoice is
    # one from when it was issued (labels.orders, as the inactivity label reads activity)
    rows = [{"amount": 100.0, "paid_at": days_ago(100), "status": "paid"}, recent]
    payments = pl.DataFrame(
        [{"client_id": "c", "issued_at": days_ago(6), **r} for r in rows],
        schema={
            "client_id": pl.String,
            "issued_at": pl.Datetime("us"),
            "amount": pl.Float64,
            "paid_at": pl.Datetime("us"),
            "status": pl.String,
        },
    )
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["c"], "created_at": [days_ago(800)]}),
        Table.PAYMENTS: payments,
    }
    cfg = RulesConfig(enabled=("no_activity",), no_activity_days=30)
    out = fired_rules(tables, ["c"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.rule("no_activity")).to_list() == [fires]


@pytest.mark.parametrize(
    ("with_events", "term", "fires"),
    [
        # a gym member: last check-in 40 days ago, the monthly debit collected 5 days ago during its term:
        # the charge is not the member coming back
        (True, (days_ago(300), days_ago(-65)), True),
        # the same payment with no term running: an order the client placed
        (True, None, False),
        # no events table: the orders are all the activity there is, charges included
        (False, (days_ago(300), days_ago(-65)), False),
    ],
)
def test_no_activity_does_not_read_a_terms_charge_as_activity(with_events, term, fires) -> None:
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["m"], "created_at": [days_ago(300)]}),
        Table.PAYMENTS: pl.DataFrame(
            {"client_id": ["m"], "amount": [39.0], "paid_at": [days_ago(5)], "status": ["paid"]},
            schema={
                "client_id": pl.String,
                "amount": pl.Float64,
                "paid_at": pl.Datetime("us"),
                "status": pl.String,
            },
        ),
    }
    if with_events:
        tables[Table.EVENTS] = pl.DataFrame(
            {"client_id": ["m"], "ts": [days_ago(40)], "event": ["checkin"]},
            schema={"client_id": pl.String, "ts": pl.Datetime("us"), "event": pl.String},
        )
    if term is not None:
        tables[Table.SUBSCRIPTIONS] = pl.DataFrame(
            {"client_id": ["m"], "start_date": [term[0]], "end_date": [term[1]], "mrr": [39.0]}
        )
    cfg = RulesConfig(enabled=("no_activity",), no_activity_days=30)
    out = fired_rules(tables, ["m"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.rule("no_activity")).to_list() == [fires]


@pytest.mark.parametrize(
    ("events_days_ago", "evidence"),
    [
        # a coffee subscriber charged every 14 days, no visit to the shop for 40 days: it read "last order or
        # activity on 2024-04-24, 40 days ago", of a client charged 5 days ago
        (
            [40],
            "no_activity: last order or activity on 2024-04-24, 40 days ago (the charges of its terms aside, the last on "
            "2024-05-29)",
        ),
        # never on the site: it read "no order or activity since it was created", of a subscriber paid up to date
        (
            [],
            "no_activity: no order or activity since it was created on 2024-01-05, 150 days ago (the charges of its "
            "terms aside, the last on 2024-05-29)",
        ),
    ],
)
def test_no_activity_says_the_terms_charges_it_left_out(events_days_ago, evidence) -> None:
    charged = [days_ago(d) for d in (33, 19, 5)]
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["s"], "created_at": [days_ago(150)]}),
        Table.PAYMENTS: pl.DataFrame(
            {"client_id": ["s"] * 3, "amount": [14.0] * 3, "paid_at": charged, "status": ["paid"] * 3},
            schema={
                "client_id": pl.String,
                "amount": pl.Float64,
                "paid_at": pl.Datetime("us"),
                "status": pl.String,
            },
        ),
        Table.EVENTS: pl.DataFrame(
            {"client_id": ["s"] * len(events_days_ago), "ts": [days_ago(d) for d in events_days_ago]}
            | {"event": ["visit"] * len(events_days_ago)},
            schema={"client_id": pl.String, "ts": pl.Datetime("us"), "event": pl.String},
        ),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ["s"] * 3,
                "start_date": [days_ago(d) for d in (33, 19, 5)],
                "end_date": [days_ago(d) for d in (19, 5, -9)],
                "mrr": [30.42] * 3,
            }
        ),
    }
    cfg = RulesConfig(enabled=("no_activity",), no_activity_days=35)
    out = fired_rules(tables, ["s"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [evidence]


@pytest.mark.parametrize(
    ("term", "ordered", "fires"),
    [
        # a B2B annual contract without a usage log: its yearly invoice issued the day the term began, 200
        # days ago, is the only order it places this year; it is on its contract, not 200 days quiet
        ((days_ago(200), days_ago(-165)), days_ago(200), False),
        # the renewal invoiced 10 days before the term began
        ((days_ago(200), days_ago(-165)), days_ago(210), False),
        # a monthly term: 120 days without a charge is quiet whatever the term
        ((days_ago(20), days_ago(-10)), days_ago(120), True),
        # the annual term began 400 days ago and runs on (a contract of two years): its one order 400 days ago
        ((days_ago(400), days_ago(-330)), days_ago(400), False),
        # an annual term whose last order is older than the term itself: nothing charged for this term
        ((days_ago(100), days_ago(-265)), days_ago(400), True),
        # no term running: the orders are all there is
        (None, days_ago(200), True),
    ],
)
def test_no_activity_without_events_waits_for_the_running_terms_length(term, ordered, fires) -> None:
    # no events table: a client's orders are its activity, and a client on a term is charged once a term
    # (a 150-account CRM with annual contracts: no_activity fired for 68 of 126 clients, "last order on
    # 2025-12-17, 348 days ago" of an account paid up to its renewal and called 27 days ago)
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["a"], "created_at": [days_ago(800)]}),
        Table.PAYMENTS: pl.DataFrame(
            {
                "client_id": ["a"],
                "amount": [12000.0],
                "issued_at": [ordered],
                "paid_at": [ordered + timedelta(days=20)],
            },
            schema={
                "client_id": pl.String,
                "amount": pl.Float64,
                "issued_at": pl.Datetime("us"),
                "paid_at": pl.Datetime("us"),
            },
        ),
    }
    if term is not None:
        tables[Table.SUBSCRIPTIONS] = pl.DataFrame(
            {"client_id": ["a"], "start_date": [term[0]], "end_date": [term[1]], "mrr": [1000.0]}
        )
    cfg = RulesConfig(enabled=("no_activity",), no_activity_days=90)
    out = fired_rules(tables, ["a"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.rule("no_activity")).to_list() == [fires]


def test_a_paused_client_fires_neither_usage_drop_nor_no_activity() -> None:
    # both quiet for 120 days and down 93% on their usual; "paused" is on 2 free months after paid ones
    ids = ["paused", "paying"]
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ids, "created_at": [days_ago(800)] * 2}),
        Table.EVENTS: pl.DataFrame({"client_id": ids, "ts": [days_ago(120)] * 2}),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ["paused", "paused", "paying"],
                "start_date": [days_ago(400), days_ago(35), days_ago(400)],
                "end_date": [days_ago(35), days_ago(-25), days_ago(-330)],
                "mrr": [40.0, 0.0, 40.0],
            }
        ),
    }
    features = pl.DataFrame(
        {"client_id": ids, "usage_events_28d": [8.0, 8.0], "usage_events_182d": [624.0, 624.0]}
    )
    cfg = RulesConfig(enabled=("no_activity", "usage_drop"))
    out = fired_rules(tables, ids, AS_OF, None, cfg, low_csat=2, export_events=(), features=features)
    assert out.get_column(Scores.RULES).to_list() == ["", "no_activity; usage_drop"]


@pytest.mark.parametrize(("share", "fires"), [(0.25, False), (0.4, True)])
def test_price_rise_reads_bookings_with_the_configured_early_renewal_share(share: float, fires: bool) -> None:
    # a quarter ending in 30 days, the next one (20% up) booked from tomorrow: 29 of its 90 days (32%) early, a
    # renewal under data.early_renewal_share 0.4, not under the default 0.25
    subs = pl.DataFrame(
        {
            "client_id": ["p", "p"],
            "start_date": [days_ago(60), days_ago(-1)],
            "end_date": [days_ago(-30), days_ago(-91)],
            "mrr": [100.0, 120.0],
        }
    )
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["p"], "created_at": [days_ago(800)]}),
        Table.SUBSCRIPTIONS: subs,
    }
    cfg = RulesConfig(enabled=("price_rise",))
    out = fired_rules(
        tables, ["p"], AS_OF, None, cfg, low_csat=2, export_events=(), early_renewal_share=share
    )
    assert out.get_column(Scores.RULES).to_list() == (["price_rise"] if fires else [""])


def _monthly_terms(prices: list[tuple[float, float]], gap_before: int | None = None) -> pl.DataFrame:
    """A monthly plan auto-renewed every 30 days, the running term last (started 10 days ago): one
    ``(mrr, quantity)`` per term, oldest first; ``gap_before``: the index of a term that starts 60 days after
    the one before ended (a return)."""
    n = len(prices)
    starts = [10 + 30 * (n - 1 - i) for i in range(n)]
    shift = [60 if gap_before is not None and i < gap_before else 0 for i in range(n)]
    return pl.DataFrame(
        {
            "client_id": ["m"] * n,
            "start_date": [days_ago(a + g) for a, g in zip(starts, shift, strict=True)],
            "end_date": [days_ago(a + g - 30) for a, g in zip(starts, shift, strict=True)],
            "mrr": [p for p, _ in prices],
            "quantity": [q for _, q in prices],
        }
    )


@pytest.mark.parametrize(
    ("prices", "gap_before", "fires"),
    [
        ([(100.0, 1), (100.0, 1), (100.0, 1), (120.0, 1)], None, True),  # renewed 20% up 10 days ago
        ([(100.0, 1), (100.0, 1), (120.0, 1), (120.0, 1)], None, True),  # 40 days ago: the rise still runs
        ([(100.0, 1), (100.0, 1), (100.0, 1), (110.0, 1)], None, False),  # +10%: under price_rise_share (15%)
        ([(100.0, 1), (120.0, 1), (120.0, 1), (120.0, 1), (120.0, 1)], None, False),  # 100 days ago: past 91
        (
            [(100.0, 10), (100.0, 10), (100.0, 10), (120.0, 12)],
            None,
            False,
        ),  # 2 seats added at the same price
        ([(100.0, 1), (100.0, 1), (100.0, 1), (120.0, 1)], 3, False),  # back after 60 days at a new price
        ([(100.0, 1), (0.0, 1), (0.0, 1), (100.0, 1)], None, False),  # a pause resuming at its price
    ],
)
def test_price_rise_fires_on_a_rise_already_started_with_nothing_booked(
    prices: list[tuple[float, float]], gap_before: int | None, fires: bool
) -> None:
    """A monthly plan auto-renewed at a higher price books no term ahead: the rise is in the running term."""
    subs = _monthly_terms(prices, gap_before)
    assert _fired_for("price_rise", Table.SUBSCRIPTIONS, subs) == (["price_rise"] if fires else [""])


@pytest.mark.parametrize(
    ("prices", "fires"),
    [
        # an auto-ship whose basket varies from term to term: 115 is 21% above the 95 running 91 days ago, not
        # above the 110 of the term before it
        ([110.0, 95.0, 120.0, 100.0, 115.0], False),
        ([100.0, 95.0, 100.0, 130.0, 130.0], True),  # 130 is above every price of before: a rise
    ],
)
def test_a_started_price_rise_is_above_every_price_of_before_not_above_one(
    prices: list[float], fires: bool
) -> None:
    subs = _monthly_terms([(p, 1) for p in prices]).drop("quantity")
    assert _fired_for("price_rise", Table.SUBSCRIPTIONS, subs) == (["price_rise"] if fires else [""])


def _rhythm_terms(before_days: int, now_days: int, before_mrr: float, now_mrr: float) -> pl.DataFrame:
    """Back-to-back terms of ``before_days`` at ``before_mrr`` (a month a term's monthly amount) until 60 days ago,
    from 250 days ago at least, then terms of ``now_days`` at ``now_mrr`` up to one running at the as-of date."""
    before = []
    end = 60
    while end < 250:
        before.append((end + before_days, end, before_mrr))
        end += before_days
    after = []
    start = 60
    while start > 0:
        after.append((start, start - now_days, now_mrr))
        start -= now_days
    rows = sorted(before, reverse=True) + after
    return pl.DataFrame(
        {
            "client_id": ["s"] * len(rows),
            "start_date": [days_ago(a) for a, _, _ in rows],
            "end_date": [days_ago(b) for _, b, _ in rows],
            "mrr": [m for _, _, m in rows],
        }
    )


@pytest.mark.parametrize(
    ("before_days", "now_days", "before_mrr", "now_mrr", "fires"),
    [
        (
            28,
            14,
            40.0,
            80.0,
            False,
        ),  # an auto-ship moved from every 4 weeks to every 2: the same basket, twice a month
        (56, 42, 30.0, 40.0, False),  # from every 8 weeks to every 6
        (7, 14, 100.0, 120.0, False),  # a weekly meal kit now every 2 weeks, a bigger box: a change of plan
        (365, 30, 80.0, 100.0, False),  # an annual plan left for a monthly one at the monthly price
        (28, 28, 40.0, 48.0, True),  # every 4 weeks as before, each delivery 20% dearer: a price rise
        (28, 31, 100.0, 120.0, True),  # a monthly plan 20% up: the calendar's months are 28 to 31 days long
        (91, 92, 100.0, 120.0, True),  # a quarter renewed 20% up
    ],
)
def test_a_started_price_rise_compares_terms_of_one_length(
    before_days: int, now_days: int, before_mrr: float, now_mrr: float, fires: bool
) -> None:
    """A price rise is the same plan costing more a month; a term of another length (a delivery more often, a
    monthly plan instead of an annual one) is another plan, whose monthly amount says nothing of its price."""
    subs = _rhythm_terms(before_days, now_days, before_mrr, now_mrr)
    assert _fired_for("price_rise", Table.SUBSCRIPTIONS, subs) == (["price_rise"] if fires else [""])


def test_a_started_price_rise_wants_the_plan_on_terms_of_its_length_all_through_the_days_before() -> None:
    # deliveries every 6 weeks at 30 a month until 130 days ago, then every 8 weeks at 20, the running one at 24: 20%
    # above the one 8-weekly term running 91 days ago, but that plan did not run through the days before (182 to 91
    # days ago): one basket against one is no price rise
    rows = [
        (256, 214, 30.0),
        (214, 172, 30.0),
        (172, 130, 30.0),
        (130, 74, 20.0),
        (74, 18, 20.0),
        (18, -38, 24.0),
    ]
    subs = pl.DataFrame(
        {
            "client_id": ["s"] * len(rows),
            "start_date": [days_ago(a) for a, _, _ in rows],
            "end_date": [days_ago(b) for _, b, _ in rows],
            "mrr": [m for _, _, m in rows],
        }
    )
    assert _fired_for("price_rise", Table.SUBSCRIPTIONS, subs) == [""]


@pytest.mark.parametrize(
    ("term_days", "started_days_ago", "fires"),
    [
        (30, 10, True),  # a monthly plan renewed 20% up: it can leave at the next month
        (91, 40, True),  # a quarter renewed 20% up, ending in 51 days: within price_rise_days (91)
        (120, 40, True),  # a 4-month term ending in 80 days
        (182, 60, False),  # a half-year ending in 122 days: locked in past price_rise_days
        (365, 40, False),  # a year renewed 20% up 40 days ago: locked in for 325 days, nothing to act on yet
    ],
)
def test_a_started_price_rise_fires_only_while_the_client_can_leave_soon(
    term_days: int, started_days_ago: int, fires: bool
) -> None:
    # the plan renewed at a higher price: terms of term_days back to back, those before at 100 a month (running
    # price_rise_days, 91, ago and since), the running one (from started_days_ago) at 120
    ends = [started_days_ago - term_days]
    while ends[-1] < started_days_ago + 100:
        ends.append(ends[-1] + term_days)
    subs = pl.DataFrame(
        {
            "client_id": ["m"] * len(ends),
            "start_date": [days_ago(e + term_days) for e in ends],
            "end_date": [days_ago(e) for e in ends],
            "mrr": [120.0] + [100.0] * (len(ends) - 1),
        }
    )
    assert _fired_for("price_rise", Table.SUBSCRIPTIONS, subs) == (["price_rise"] if fires else [""])


def test_the_price_rise_text_names_a_started_rise() -> None:
    assert rule_descriptions(RulesConfig(enabled=("price_rise",)))["price_rise"] == (
        "the price rises by 15% or more within 91 days, or rose so in the last 91 days (the next term booked at a "
        "higher price, a discount of 30% or more ending, or the running term, monthly or ending within 91 days, "
        "costing that much more than the plan did on terms as long at any time in the 91 days up to 91 days ago: a "
        "monthly plan renewed at a higher price, not a price that varies from term to term nor deliveries more often)"
    )


@pytest.mark.parametrize(
    ("next_mrr", "kind"),
    [
        (120.0, "started"),  # rose 20% 40 days ago, the next month booked at that same price
        (150.0, "booked"),  # and the next month booked another 25% up: the booked rise is the one to work
        (None, "started"),  # nothing booked
    ],
)
def test_price_rise_kinds_tell_a_booked_rise_from_one_already_started(
    next_mrr: float | None, kind: str
) -> None:
    from churnml.scoring.rules import price_rise_kinds

    subs = _monthly_terms([(100.0, 1), (100.0, 1), (120.0, 1), (120.0, 1)])
    if next_mrr is not None:  # the next month, from the running one's end (in 20 days)
        subs = pl.concat(
            [
                subs,
                pl.DataFrame(
                    {
                        "client_id": ["m"],
                        "start_date": [days_ago(-20)],
                        "end_date": [days_ago(-50)],
                        "mrr": [next_mrr],
                        "quantity": [1],
                    }
                ),
            ],
            how="vertical_relaxed",
        )
    tables = {Table.SUBSCRIPTIONS: subs}
    got = price_rise_kinds(tables, ["m", "other"], AS_OF, RulesConfig(enabled=("price_rise",)))
    assert got.to_list() == [kind, None]


@pytest.mark.parametrize(
    ("running", "booked", "fires"),
    [
        # (mrr, is_addon) of the terms running now (an annual base ending in 20 days) and of those booked from then
        (
            [(100.0, False)],
            [(100.0, False), (30.0, True)],
            False,
        ),  # renewed at 100 with a new add-on: no rise
        ([(100.0, False), (30.0, True)], [(100.0, False)], False),  # the add-on dropped at the renewal
        ([(100.0, False)], [(120.0, False), (30.0, True)], True),  # the base 20% up
        ([(100.0, False), (30.0, True)], [(120.0, False), (30.0, True)], True),
        ([(100.0, False), (30.0, True)], [(110.0, False), (45.0, True)], False),  # base +10%, under the 15%
        ([(10.0, True)], [(12.0, True)], True),  # add-ons alone: the client's terms (labels.customer_terms)
    ],
)
def test_a_booked_price_rise_compares_base_terms_with_base_terms(running, booked, fires) -> None:
    from churnml.scoring.rules import price_rise_kinds

    rows = [("p", days_ago(345), days_ago(-20), m, a) for m, a in running]
    rows += [("p", days_ago(-20), days_ago(-385), m, a) for m, a in booked]
    subs = pl.DataFrame(rows, schema=["client_id", "start_date", "end_date", "mrr", "is_addon"], orient="row")
    assert _fired_for("price_rise", Table.SUBSCRIPTIONS, subs) == (["price_rise"] if fires else [""])
    kinds = price_rise_kinds({Table.SUBSCRIPTIONS: subs}, ["p"], AS_OF, RulesConfig(enabled=("price_rise",)))
    assert kinds.to_list() == ["booked" if fires else None]


# a monthly member: terms of 30 days, the running one from 10 days ago to 20 days ahead (or, ended_days_ago set,
# the last one ended that many days ago); a cancellation_request ticket 20 days ago
def _member(ended_days_ago: int | None, withdrawn_days_ago: int | None) -> dict[Table, pl.DataFrame]:
    last = -20 if ended_days_ago is None else ended_days_ago
    ends = [last + 60, last + 30, last]
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["m"], "created_at": [days_ago(800)]}),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ["m"] * 3,
                "start_date": [days_ago(e + 30) for e in ends],
                "end_date": [days_ago(e) for e in ends],
                "mrr": [300.0] * 3,
            }
        ),
        Table.TICKETS: pl.DataFrame(
            {"client_id": ["m"], "opened_at": [days_ago(20)], "kind": ["cancellation_request"]}
        ),
    }
    if withdrawn_days_ago is not None:
        tables[Table.SIGNALS] = pl.DataFrame(
            {"client_id": ["m"], "ts": [days_ago(withdrawn_days_ago)], "signal": ["cancellation_withdrawn"]}
        )
    return tables


@pytest.mark.parametrize(
    ("ended_days_ago", "withdrawn_days_ago", "fired"),
    [
        (None, None, "cancellation_request"),  # the notice stands, its term runs: the save call
        (None, 5, ""),  # withdrawn since: no alarm left
        (None, 30, "cancellation_request"),  # a withdrawal of an earlier notice does not undo this one
        (
            1,
            None,
            "term_lapsed",
        ),  # its term ended yesterday unrenewed: in effect, a lapse at once (no settling)
    ],
)
def test_a_cancellation_request_withdrawn_or_in_effect_is_no_save_call(
    ended_days_ago: int | None, withdrawn_days_ago: int | None, fired: str
) -> None:
    cfg = RulesConfig(enabled=("cancellation_request", "term_lapsed"))
    out = fired_rules(
        _member(ended_days_ago, withdrawn_days_ago), ["m"], AS_OF, None, cfg, low_csat=2, export_events=()
    )
    assert out.get_column(Scores.RULES).to_list() == [fired]


@pytest.mark.parametrize(
    ("terms", "evidence"),
    [
        # an annual plan whose auto-renewal was turned off 150 days ago, the year ending in 60 days: the notice
        # stands until then, whatever rules.cancellation_days (91)
        ([(305, -60)], "cancellation_request: asked to cancel on 2024-01-05, effective 2024-08-02"),
        # a monthly member who asked 150 days ago and paid every month since: it stayed
        ([(170 - 30 * k, 140 - 30 * k) for k in range(6)], None),
    ],
)
def test_a_notice_older_than_cancellation_days_stands_while_its_term_runs(
    terms: list[tuple[int, int]], evidence: str | None
) -> None:
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["h"], "created_at": [days_ago(800)]}),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ["h"] * len(terms),
                "start_date": [days_ago(s) for s, _ in terms],
                "end_date": [days_ago(e) for _, e in terms],
                "mrr": [10.0] * len(terms),
            }
        ),
        Table.TICKETS: pl.DataFrame(
            {"client_id": ["h"], "opened_at": [days_ago(150)], "kind": ["cancellation_request"]}
        ),
    }
    cfg = RulesConfig(enabled=("cancellation_request", "term_lapsed"))
    out = fired_rules(tables, ["h"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [evidence]


@pytest.mark.parametrize(
    ("renewal_start", "fired"),
    [
        (
            None,
            "cancellation_request",
        ),  # nothing booked: the notice takes effect when the year ends, in 65 days
        (-65, "cancellation_request"),  # the next year booked from then: not started, the notice still stands
        (10, ""),  # the next year started 10 days ago, after the call: the household stayed, no save call
    ],
)
def test_a_cancellation_request_ends_once_an_annual_renewal_starts(
    renewal_start: int | None, fired: str
) -> None:
    # a household on annual terms that called to cancel 20 days ago; its running year started 300 days ago
    # (375 when renewed 10 days ago); a renewal (a year from renewal_start days ago) is no notice period
    terms = [(300, -65)] if renewal_start != 10 else [(375, 10)]
    if renewal_start is not None:
        terms.append((renewal_start, renewal_start - 365))
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["h"], "created_at": [days_ago(800)]}),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ["h"] * len(terms),
                "start_date": [days_ago(s) for s, _ in terms],
                "end_date": [days_ago(e) for _, e in terms],
                "mrr": [40.0] * len(terms),
            }
        ),
        Table.TICKETS: pl.DataFrame(
            {"client_id": ["h"], "opened_at": [days_ago(20)], "kind": ["cancellation_request"]}
        ),
    }
    cfg = RulesConfig(enabled=("cancellation_request", "term_lapsed"))
    out = fired_rules(tables, ["h"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.RULES).to_list() == [fired]


@pytest.mark.parametrize(
    ("case", "rule", "said"),
    [
        # a notice, its term ended yesterday: a lapse at once, no term_lapsed_days of settling
        (
            "ended after a notice",
            "term_lapsed",
            "at least 3 days ago (at once when the client had given notice)",
        ),
        (
            "no term",
            "cancellation_request",
            "asked to cancel in the last 91 days (or earlier in the running term), not withdrawn, renewed since nor "
            "yet in effect",
        ),
    ],
)
def test_a_rules_text_holds_for_each_case_it_fires_on(case: str, rule: str, said: str) -> None:
    tables = _member(1, None)
    if case == "no term":  # a client without terms keeps its notice: nothing says it took effect
        tables.pop(Table.SUBSCRIPTIONS)
    cfg = RulesConfig(enabled=("cancellation_request", "term_lapsed"))
    out = fired_rules(tables, ["m"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.RULES).to_list() == [rule]
    assert said in rule_descriptions(cfg, grace_days=30)[rule]


def _mailed(n_clients: int, reached: int, personal: int) -> dict[Table, pl.DataFrame]:
    """``n_clients`` clients (c0, c1, ...) that each wrote in 100 days ago; e-mails sent 40 and 10 days ago to
    the first ``reached`` of them (no_reply), and ``personal`` e-mails to c0 alone 30 and 5 days ago (no_reply)."""
    ids = [f"c{i}" for i in range(n_clients)]
    rows = [(c, days_ago(100), "in", "replied") for c in ids]
    rows += [(c, days_ago(d), "out", "no_reply") for d in (40, 10) for c in ids[:reached]]
    rows += [("c0", days_ago(d), "out", "no_reply") for d in (30, 5)[:personal]]
    return {
        Table.CLIENTS: pl.DataFrame({"client_id": ids, "created_at": [days_ago(800)] * n_clients}),
        Table.COMMUNICATIONS: pl.DataFrame(
            {
                "client_id": [r[0] for r in rows],
                "ts": [r[1] for r in rows],
                "channel": ["email"] * len(rows),
                "direction": [r[2] for r in rows],
                "outcome": [r[3] for r in rows],
            }
        ),
    }


@pytest.mark.parametrize(
    ("n_clients", "reached", "personal", "fires"),
    [
        (25, 25, 0, False),  # a monthly newsletter to every client: a mailing, no outreach
        (25, 25, 2, True),  # two personal e-mails unanswered beside it: the alarm
        (25, 19, 0, True),  # sent to 19 clients: under rules.mailing_min_clients (20), read as outreach
        (100, 25, 0, True),  # to 25 of 100 clients: under rules.mailing_share (30%), read as outreach
    ],
)
def test_unanswered_outreach_skips_mailings(n_clients: int, reached: int, personal: int, fires: bool) -> None:
    from churnml.scoring.rules import mailings_note

    tables = _mailed(n_clients, reached, personal)
    cfg = RulesConfig(enabled=("unanswered_outreach",))
    out = fired_rules(tables, ["c0"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.RULES).to_list() == (["unanswered_outreach"] if fires else [""])
    note = mailings_note(tables, AS_OF, cfg)
    assert note == (
        None
        if reached < 20 or reached < 0.3 * n_clients
        else "unanswered_outreach skips 2 mailings of the last 91 days (50 outbound touches: on one channel and day "
        "to 30% or more of the clients, 20 at least): a newsletter is no outreach that waits for an answer"
    )


@pytest.mark.parametrize(
    ("n_clients", "reached", "settings", "fires", "said"),
    [
        (25, 19, {"mailing_min_clients": 15}, False, "to 30% or more of the clients, 15 at least"),
        (100, 25, {"mailing_share": 0.2}, False, "to 20% or more of the clients, 20 at least"),
        (25, 25, {"mailing_min_clients": 26}, True, None),  # to 25 clients: under 26, read as outreach
        (25, 25, {"mailing_share": 1.0}, False, "to 100% or more of the clients, 20 at least"),
    ],
)
def test_what_a_mailing_is_is_set_in_the_rules(n_clients, reached, settings, fires, said) -> None:
    from churnml.scoring.rules import mailings_note, rule_descriptions

    tables = _mailed(n_clients, reached, 0)
    cfg = RulesConfig(enabled=("unanswered_outreach",), **settings)
    out = fired_rules(tables, ["c0"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.RULES).to_list() == (["unanswered_outreach"] if fires else [""])
    note = mailings_note(tables, AS_OF, cfg)
    assert (note is None) if said is None else (note is not None and said in note)
    share, least = cfg.mailing_share, cfg.mailing_min_clients
    assert (
        f"a mailing, one channel and day to {share:.0%} or more of the clients and {least} at least"
        in (rule_descriptions(cfg)["unanswered_outreach"])
    )


def test_a_mailing_counts_the_clients_on_the_books_that_day() -> None:
    from churnml.scoring.rules import mailing_days

    # 40 clients, 20 of whom left (a churns record) before the day: the e-mail to 8 of them is 40% of the 20 left
    # on the books, a mailing only once the gone are counted out (8 of 40 is 20%), under a minimum of 5 clients
    ids = [f"c{i}" for i in range(40)]
    clients = pl.DataFrame({"client_id": ids, "created_at": [days_ago(800)] * 40})
    churns = pl.DataFrame({"client_id": ids[20:], "churned_at": [days_ago(50)] * 20})
    comms = pl.DataFrame(
        {
            "client_id": ids[:8],
            "ts": [days_ago(10)] * 8,
            "channel": ["email"] * 8,
            "direction": ["out"] * 8,
        }
    )
    got = mailing_days(comms, clients, churns, T0, least=5)
    assert got.rows() == [(days_ago(10).date(), "email", 8)]
    assert mailing_days(comms, clients, None, T0, least=5).height == 0


# what the 20 churners of _churned_60 did, days ago: their churns records and their base terms since (start, end)
_CHURNER_HISTORIES = {
    "left": ([150], []),
    "left, two records": ([300, 150], []),  # a second record of the same absence: one client gone
    "back": ([150], [(100, -265)]),  # a new term since: on the books again
    "left twice, back": ([300, 150], [(100, -265)]),
    "back, left again": ([300, 150], [(250, 150)]),  # its last churn has no return since: gone
    "back after the mailing": ([150], [(5, -360)]),  # gone on the mailing's day (10 days ago)
}


def _churned_60(history: str) -> dict[Table, pl.DataFrame]:
    """60 clients, the last 20 of them churners with ``history`` (:data:`_CHURNER_HISTORIES`)."""
    ids = [f"c{i:02d}" for i in range(60)]
    churned, terms = _CHURNER_HISTORIES[history]
    churners = ids[40:]
    return {
        Table.CLIENTS: pl.DataFrame({"client_id": ids, "created_at": [days_ago(800)] * 60}),
        Table.CHURNS: pl.DataFrame(
            {
                "client_id": [c for c in churners for _ in churned],
                "churned_at": [days_ago(d) for d in churned] * 20,
            }
        ),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": [c for c in churners for _ in terms],
                "start_date": [days_ago(t[0]) for t in terms] * 20,
                "end_date": [days_ago(t[1]) for t in terms] * 20,
                "mrr": [50.0] * (20 * len(terms)),
            },
            schema={
                "client_id": pl.String,
                "start_date": pl.Datetime("us"),
                "end_date": pl.Datetime("us"),
                "mrr": pl.Float64,
            },
        ),
    }


@pytest.mark.parametrize(
    ("history", "reached", "on_the_books", "mailing"),
    [
        ("left", 12, 40, True),  # 12 of the 40 left on the books: 30%
        ("left", 11, 40, False),
        ("left, two records", 12, 40, True),
        (
            "left, two records",
            11,
            40,
            False,
        ),  # each churner counted out once (was twice: 11 of 20 read a mailing)
        ("back", 12, 60, False),  # the 20 came back: 12 of 60 is 20%
        ("left twice, back", 12, 60, False),
        ("back, left again", 12, 40, True),
        ("back after the mailing", 12, 40, True),
    ],
)
def test_a_mailing_counts_each_gone_client_once_and_not_those_back(
    history, reached, on_the_books, mailing
) -> None:
    from churnml.scoring.rules import mailing_days

    tables = _churned_60(history)
    comms = pl.DataFrame(
        {
            "client_id": [f"c{i:02d}" for i in range(reached)],
            "ts": [days_ago(10)] * reached,
            "channel": ["call"] * reached,
            "direction": ["out"] * reached,
        }
    )
    got = mailing_days(comms, tables[Table.CLIENTS], tables[Table.CHURNS], T0, 0.3, 5, tables=tables)
    assert got.rows() == ([(days_ago(10).date(), "call", reached)] if mailing else [])
    assert (reached >= 0.3 * on_the_books) == mailing


@pytest.mark.parametrize(("history", "fires"), [("left", False), ("back", True), ("left twice, back", True)])
def test_unanswered_outreach_reads_the_returned_clients_as_on_the_books(history: str, fires: bool) -> None:
    # c00 answered before; 12 calls of one day unanswered (a mailing to the 40 on the books, not to the 60 once the
    # churners came back), then one more to c00
    tables = _churned_60(history)
    rows = [("c00", days_ago(40), "in", None)] + [
        (f"c{i:02d}", days_ago(10), "out", "no_reply") for i in range(12)
    ]
    rows.append(("c00", days_ago(5), "out", "no_reply"))
    tables[Table.COMMUNICATIONS] = pl.DataFrame(
        rows, schema=["client_id", "ts", "direction", "outcome"], orient="row"
    ).with_columns(pl.lit("call").alias("channel"))
    cfg = RulesConfig(enabled=("unanswered_outreach",), mailing_min_clients=5)
    out = fired_rules(tables, ["c00"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.RULES).to_list() == (["unanswered_outreach"] if fires else [""])


@pytest.mark.parametrize(
    ("activity_events", "fires"),
    [
        (None, False),  # the default: every event, and the login of 5 days ago is one
        (("login", "transfer_out"), False),
        (("transfer_out", "card_payment"), True),  # a bank's activity: the last transfer was 100 days ago
        (("no_such_event",), True),  # a name no event has: no error, nothing but orders counts
    ],
)
def test_no_activity_reads_the_label_activity_events(activity_events, fires) -> None:
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["saver"], "created_at": [days_ago(800)]}),
        Table.EVENTS: pl.DataFrame(
            {
                "client_id": ["saver", "saver"],
                "ts": [days_ago(100), days_ago(5)],
                "event": ["transfer_out", "login"],
            }
        ),
    }
    cfg = RulesConfig(enabled=("no_activity",), no_activity_days=60)
    out = fired_rules(
        tables, ["saver"], AS_OF, None, cfg, low_csat=2, export_events=(), activity_events=activity_events
    )
    assert out.get_column(Scores.RULES).to_list() == (["no_activity"] if fires else [""])


@pytest.mark.parametrize(
    ("every", "orders", "quiet", "rhythm", "said"),
    [
        (90, 6, 40, 1.5, None),  # a quarterly buyer 40 days after an order: its rhythm (fired before the fix)
        (90, 6, 134, 1.5, None),  # under 1.5 x 90 days
        # 1.5 x its usual gap: late by its own rhythm
        (90, 6, 135, 1.5, "135 days ago, 1.5 times its usual gap of 90 days"),
        (30, 18, 40, 1.5, None),  # a monthly buyer 40 days after an order: under 45
        (30, 18, 45, 1.5, "45 days ago, 1.5 times its usual gap of 30 days"),
        (30, 18, 51, 1.5, "51 days ago, 1.7 times its usual gap of 30 days"),
        (30, 18, 60, 1.5, "60 days ago, 2.0 times its usual gap of 30 days"),
        (
            7,
            30,
            40,
            1.5,
            "40 days ago, 5.7 times its usual gap of 7 days",
        ),  # no_activity_days (35) is the longer
        # a commuter riding every day (said "usual gap of 1 days" before)
        (1, 30, 40, 1.5, "40 days ago, 40.0 times its usual gap of 1 day"),
        (90, 2, 40, 1.5, "40 days ago"),  # two orders: one gap is no rhythm yet
        (90, 6, 40, 0.0, "40 days ago"),  # rules.no_activity_rhythm 0: no_activity_days alone
    ],
)
def test_no_activity_waits_for_the_clients_own_order_rhythm(every, orders, quiet, rhythm, said) -> None:
    """A shop under the inactivity label (rules.no_activity_days 35, under label.inactivity_days): a client
    ordering every 90 days was flagged 40 days after an order; it is flagged once silent 1.5 times its usual
    gap between orders (the median), or no_activity_days when that is longer."""
    paid = [days_ago(quiet + every * k) for k in range(orders)]
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["c"], "created_at": [days_ago(3000)]}),
        Table.PAYMENTS: pl.DataFrame(
            {"client_id": ["c"] * orders, "amount": [80.0] * orders, "paid_at": paid}
        ),
    }
    cfg = RulesConfig(enabled=("no_activity",), no_activity_days=35, no_activity_rhythm=rhythm)
    out = fired_rules(tables, ["c"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.rule("no_activity")).to_list() == [said is not None]
    last = f"last order on {(T0 - timedelta(days=quiet)).date()}, "
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [
        None if said is None else f"no_activity: {last}{said}"
    ]


def test_a_client_quiet_one_day_is_said_one_day() -> None:
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["c"], "created_at": [days_ago(30)]}),
        Table.PAYMENTS: pl.DataFrame({"client_id": ["c"], "amount": [8.0], "paid_at": [days_ago(1)]}),
    }
    cfg = RulesConfig(enabled=("no_activity",), no_activity_days=1)
    out = fired_rules(tables, ["c"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [
        "no_activity: last order on 2024-06-02, 1 day ago"
    ]


def test_no_activity_says_how_many_usual_gaps_the_silence_is_to_a_tenth() -> None:
    """A pet owner whose visits came every 90 days, silent 170 days: the rule fires at 1.5 usual gaps, and
    its evidence said "1 times its usual gap of 90 days" (the whole times, floored), which reads as a client
    on its rhythm; it says 1.9 times."""
    paid = [days_ago(170 + 90 * k) for k in range(6)]
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["c"], "created_at": [days_ago(3000)]}),
        Table.PAYMENTS: pl.DataFrame({"client_id": ["c"] * 6, "amount": [60.0] * 6, "paid_at": paid}),
    }
    cfg = RulesConfig(enabled=("no_activity",), no_activity_days=90, no_activity_rhythm=1.5)
    out = fired_rules(tables, ["c"], AS_OF, None, cfg, low_csat=2, export_events=())
    day = (T0 - timedelta(days=170)).date()
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [
        f"no_activity: last order on {day}, 170 days ago, 1.9 times its usual gap of 90 days"
    ]


SPRINGS = tuple((year, month) for year in (2023, 2024) for month in (3, 4, 5))


@pytest.mark.parametrize(
    ("as_of", "orders", "rhythm", "fires"),
    [
        # silent 259 days since May; a year earlier its orders paused 305 days (May to March) across that day
        (date(2025, 1, 15), SPRINGS, 1.5, False),  # fired before: 259 days, 8 times its usual 31 days
        # mid-March, silent 315 days: a year earlier it had ordered on March 1 (a 31-day gap): late for its season
        (date(2025, 3, 12), SPRINGS, 1.5, True),
        (date(2024, 1, 15), SPRINGS[:3], 1.5, True),  # one season on record: no year before to read
        (date(2025, 1, 15), SPRINGS, 0.0, True),  # rules.no_activity_rhythm 0: no_activity_days alone
        # two orders a year apart: its one pause spans the day, but one gap is no rhythm, nor a season
        (date(2025, 1, 15), ((2023, 5), (2024, 5)), 1.5, True),
    ],
)
def test_no_activity_waits_out_the_season_of_a_buyer_of_every_spring(as_of, orders, rhythm, fires) -> None:
    """A garden shop's client orders on March 1, April 1 and May 1 every year: its usual gap (the median)
    is 31 days, so it was flagged all winter."""
    paid = [datetime(year, month, 1) for year, month in orders]
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["c"], "created_at": [datetime(2023, 1, 1)]}),
        Table.PAYMENTS: pl.DataFrame(
            {"client_id": ["c"] * len(paid), "amount": [80.0] * len(paid), "paid_at": paid}
        ),
    }
    cfg = RulesConfig(enabled=("no_activity",), no_activity_days=90, no_activity_rhythm=rhythm)
    out = fired_rules(tables, ["c"], as_of, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.rule("no_activity")).to_list() == [fires]


def _monthly(first: tuple[int, int], last: tuple[int, int], day: int = 20) -> list[datetime]:
    """The ``day`` of every month from ``first`` to ``last`` (year, month), both included."""
    months = range(first[0] * 12 + first[1] - 1, last[0] * 12 + last[1])
    return [datetime(m // 12, m % 12 + 1, day) for m in months]


@pytest.mark.parametrize(
    ("orders", "fires", "season"),
    [
        # a monthly buyer that paused 300 days once (2024-08-20 to 2025-06-16) across the day a year ago
        # (2025-01-06), silent 200 days since 2025-06-19: last year it had ordered through June to August, it
        # did not stop in June: no season, flagged (read as its season before: 200 days within 300)
        ([*_monthly((2024, 1), (2024, 8)), datetime(2025, 6, 16), datetime(2025, 6, 19)], True, None),
        # it stopped on 2024-06-20 a year ago, the day of the year it stopped on now (2025-06-19), and came back
        # on 2025-05-19: with no order two years back, that one year is all there is to read: its season
        ([*_monthly((2024, 1), (2024, 6)), datetime(2025, 5, 19), datetime(2025, 6, 19)], False, 333),
        # the same with orders every month of 2023 on record: two years ago it ordered right through the
        # summer and autumn, last year's pause was a one-off: flagged (read as its season before)
        ([*_monthly((2023, 1), (2024, 6)), datetime(2025, 5, 19), datetime(2025, 6, 19)], True, None),
    ],
)
def test_one_pause_across_the_day_a_year_ago_is_no_season(orders, fires, season) -> None:
    """A season is the same pause every year the client's orders reach back to, begun when this one did (its
    last order on the same day of the year, give or take a month), not any pause that spans the day."""
    from churnml.scoring.rules import SEASON_GAP, no_activity_flags

    as_of = date(2026, 1, 5)
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["c"], "created_at": [datetime(2023, 1, 1)]}),
        Table.PAYMENTS: pl.DataFrame(
            {
                "client_id": ["c"] * len(orders),
                "amount": [80.0] * len(orders),
                "paid_at": pl.Series(orders, dtype=pl.Datetime("us")),
            }
        ),
    }
    cfg = RulesConfig(enabled=("no_activity",), no_activity_days=90, no_activity_rhythm=1.5)
    flags = no_activity_flags(tables, ["c"], as_of, cfg)
    assert flags is not None and flags.get_column("_quiet").to_list() == [200]
    assert flags.get_column(SEASON_GAP).to_list() == [season]
    out = fired_rules(tables, ["c"], as_of, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.rule("no_activity")).to_list() == [fires]


# a garden shop's buyer of every spring ("spring") beside a monthly buyer gone quiet on the same day ("gone")
SPRING_DAYS = (
    datetime(2024, 3, 1),
    datetime(2024, 4, 1),
    datetime(2024, 5, 1),
    datetime(2025, 3, 2),
    datetime(2025, 4, 1),
    datetime(2025, 5, 1),
)
# every month from 2024-03-01 to 2025-05-01
MONTHLY_DAYS = tuple(datetime(2024 + (m - 1) // 12, (m - 1) % 12 + 1, 1) for m in range(3, 18))


# a buyer of every March and September
HALF_YEAR_DAYS = (datetime(2024, 3, 1), datetime(2024, 9, 1), datetime(2025, 3, 1), datetime(2025, 9, 1))


def spring_and_gone_tables(half_year: bool = False) -> dict[Table, pl.DataFrame]:
    """``spring`` orders 80 on the days of :data:`SPRING_DAYS`, ``gone`` every month from 2024-03-01 to
    2025-05-01: both last ordered on 2025-05-01; with ``half_year``, ``half`` on those of
    :data:`HALF_YEAR_DAYS`."""
    paid = [("spring", d) for d in SPRING_DAYS] + [("gone", d) for d in MONTHLY_DAYS]
    paid += [("half", d) for d in HALF_YEAR_DAYS] if half_year else []
    ids = ["spring", "gone", "half"] if half_year else ["spring", "gone"]
    return {
        Table.CLIENTS: pl.DataFrame({"client_id": ids, "created_at": [datetime(2024, 1, 1)] * len(ids)}),
        Table.PAYMENTS: pl.DataFrame(
            {
                "client_id": [c for c, _ in paid],
                "amount": [80.0] * len(paid),
                "paid_at": pl.Series([d for _, d in paid], dtype=pl.Datetime("us")),
            }
        ),
    }


@pytest.mark.parametrize(
    ("as_of", "pauses", "fired"),
    [
        # silent 249 days; a year earlier (2025-01-06) its orders paused 305 days, 2024-05-01 to 2025-03-02.
        # The monthly buyer's paused 31 days then (2025-01-01 to 2025-02-01): its silence is news. The March and
        # September buyer, silent 126 days, is on its rhythm (under 1.5 x 184 days) and in its season (181 days
        # from 2024-09-01 to 2025-03-01)
        (
            date(2026, 1, 5),
            [
                (
                    "spring",
                    249,
                    305,
                    "Silent 249 days: its orders paused 305 days across this day a year ago",
                ),
                ("half", 126, 181, "Silent 126 days: its orders paused 181 days across this day a year ago"),
            ],
            ["", "no_activity", ""],
        ),
        # mid-March, silent 319 days: a year earlier it paused 30 days (2025-03-02 to 2025-04-01): late; the
        # March buyer, silent 196 days, had ordered on 2025-03-01 (184 days after 2024-09-01): on its rhythm only
        (date(2026, 3, 16), [], ["no_activity", "no_activity", ""]),
        # silent 45 days: under no_activity_days, no pause to say; the March buyer is silent 106 days within the
        # 184 days it paused from 2024-03-01 to 2024-09-01
        (
            date(2025, 6, 15),
            [("half", 106, 184, "Silent 106 days: its orders paused 184 days across this day a year ago")],
            ["", "", ""],
        ),
    ],
)
def test_season_pauses_are_those_the_season_keeps_no_activity_from_flagging(as_of, pauses, fired) -> None:
    from churnml.scoring.rules import season_pauses

    tables = spring_and_gone_tables(half_year=True)
    ids = ["spring", "gone", "half"]
    cfg = RulesConfig(enabled=("no_activity",), no_activity_days=90, no_activity_rhythm=1.5)
    assert season_pauses(tables, ids, as_of, cfg).rows() == pauses
    out = fired_rules(tables, ids, as_of, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.RULES).to_list() == fired
    # no_activity_rhythm 0 reads no rhythm nor season (no_activity_days alone): nobody in a season's pause
    off = cfg.model_copy(update={"no_activity_rhythm": 0.0})
    assert season_pauses(tables, ids, as_of, off).height == 0


@pytest.mark.parametrize(
    ("event_days_ago", "evidence"),
    [
        ([], "no_activity: no activity since it was created on 2024-01-05, 150 days ago"),
        ([60, 45], "no_activity: last activity on 2024-04-19, 45 days ago"),
    ],
)
def test_no_activity_says_the_last_activity_or_the_creation(event_days_ago: list[int], evidence: str) -> None:
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["c"], "created_at": [days_ago(150)]}),
        Table.EVENTS: pl.DataFrame(
            {
                "client_id": ["c"] * len(event_days_ago),
                "ts": [days_ago(d) for d in event_days_ago],
                "event": ["login"] * len(event_days_ago),
            },
            schema={"client_id": pl.String, "ts": pl.Datetime("us"), "event": pl.String},
        ),
    }
    cfg = RulesConfig(enabled=("no_activity",), no_activity_days=35)
    out = fired_rules(tables, ["c"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [evidence]


def test_a_data_export_on_several_days_says_how_many_and_the_last() -> None:
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["x"], "created_at": [days_ago(400)]}),
        Table.EVENTS: pl.DataFrame(
            {
                "client_id": ["x"] * 4,
                # two exports on one day, one 8 days ago, one after the as-of date (unknown yet)
                "ts": [days_ago(3), days_ago(2.9), days_ago(8), days_ago(-1)],
                "event": ["data_export"] * 4,
            }
        ),
    }
    cfg = RulesConfig(enabled=("data_export",))
    out = fired_rules(tables, ["x"], AS_OF, None, cfg, low_csat=2, export_events=("data_export",))
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [
        "data_export: exported data on 2 days, the last 2024-05-31"
    ]


@given(
    st.dictionaries(
        st.sampled_from(sorted(RULES)),
        # what a rule saw: any text, a "; " and a colon inside too (a signal's note, an invoice id)
        st.text(alphabet=st.sampled_from("ab1 ;:-()"), min_size=1, max_size=30).filter(
            lambda t: t.strip() == t and not any(f"; {name}: " in f"; {t}" for name in RULES)
        ),
        max_size=5,
    )
)
def test_evidence_is_read_back_as_it_was_written(said: dict[str, str]) -> None:
    """``rules_evidence`` joins ``<rule>: <what>`` with "; "; read back it gives each rule its own text, unless
    that text itself holds "; <a rule's name>: " (never a sentence churnml writes)."""
    written = "; ".join(f"{name}: {what}" for name, what in said.items()) or None
    assert evidence_by_rule(written) == said


# (status, amount, issued_at, due_at, paid_at, invoice_id): days before AS_OF (2024-06-03); a wholesaler's
# account on 30-day terms that pays its invoices up to 20 days after their due date
_PAYS_LATE = [
    ("paid", 500.0, 200, 170, 150, "INV-1"),  # 20 days late
    ("paid", 500.0, 150, 120, 110, "INV-2"),  # 10 days late
    ("paid", 500.0, 100, 70, 75, "INV-3"),  # 5 days early
]


@pytest.mark.parametrize(
    ("due_days_ago", "usual_days", "evidence"),
    [
        # 18 days past due: past rules.overdue_days (14), within its habit (20): no trouble
        (18, 365, None),
        # 25 days: later than it paid any invoice in the last year
        (
            25,
            365,
            "payment_trouble: invoice INV-4 of EUR 500 due 2024-05-09, unpaid 25 days after (in the 365 days before "
            "2024-05-09 it paid every invoice within 20 days of its due date)",
        ),
        # rules.overdue_usual_days 0: overdue_days alone, as before
        (18, 0, "payment_trouble: invoice INV-4 of EUR 500 due 2024-05-16, unpaid 18 days after"),
        # its late payments older than the window: no habit known, overdue_days alone
        (18, 30, "payment_trouble: invoice INV-4 of EUR 500 due 2024-05-16, unpaid 18 days after"),
    ],
)
def test_an_invoice_is_overdue_only_past_the_clients_own_habit(due_days_ago, usual_days, evidence) -> None:
    rows = [*_PAYS_LATE, ("open", 500.0, due_days_ago + 30, due_days_ago, None, "INV-4")]
    payments = pl.DataFrame(
        {
            "client_id": ["w"] * len(rows),
            "amount": [r[1] for r in rows],
            "issued_at": [days_ago(r[2]) for r in rows],
            "due_at": [days_ago(r[3]) for r in rows],
            "paid_at": [None if r[4] is None else days_ago(r[4]) for r in rows],
            "status": [r[0] for r in rows],
            "invoice_id": [r[5] for r in rows],
        }
    )
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["w"], "created_at": [days_ago(800)]}),
        Table.PAYMENTS: payments,
    }
    cfg = RulesConfig(enabled=("payment_trouble",), overdue_usual_days=usual_days)
    out = fired_rules(tables, ["w"], AS_OF, None, cfg, low_csat=2, export_events=(), currency="EUR")
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [evidence]


def test_a_payment_made_after_the_overdue_invoice_fell_due_sets_no_habit() -> None:
    """A coworking company going bust (19 desks, ARR 105k): monthly invoices due on the 15th, paid on time, its July
    one 17 days late; its October one paid on 2026-11-29, 45 days late, and its November one still open on the list
    of 2026-12-08, 23 days past due. Read against the year up to the list, its habit was 45 days: no trouble, green
    with "look for expansion" until day 46. The payment made after the November invoice fell due is the trouble, not
    the habit: against the 17 days of the year before 2026-11-15 it fires."""
    due = [datetime(2026, m, 15) for m in range(6, 12)]
    paid = [datetime(2026, 6, 15), datetime(2026, 8, 1), datetime(2026, 8, 12), datetime(2026, 9, 11)]
    paid += [datetime(2026, 11, 29), None]
    payments = pl.DataFrame(
        {
            "client_id": ["bust"] * 6,
            "amount": [8792.56] * 6,
            "issued_at": [d - timedelta(days=14) for d in due],
            "due_at": due,
            "paid_at": paid,
            "status": ["paid"] * 5 + ["open"],
            "invoice_id": [f"INV-{k}" for k in range(1, 7)],
        }
    )
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["bust"], "created_at": [datetime(2025, 1, 1)]}),
        Table.PAYMENTS: payments,
    }
    cfg = RulesConfig(enabled=("payment_trouble",))
    out = fired_rules(
        tables, ["bust"], date(2026, 12, 8), None, cfg, low_csat=2, export_events=(), currency="EUR"
    )
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [
        "payment_trouble: invoice INV-6 of EUR 8,792.56 due 2026-11-15, unpaid 23 days after (in the 365 days before "
        "2026-11-15 it paid every invoice within 17 days of its due date)"
    ]


@pytest.mark.parametrize(
    ("due", "evidence"),
    [
        # 18.3 days past due against a habit of 17.98 days (both said as 18): within its habit in whole days,
        # no trouble (fired, it read "unpaid 18 days after (... it paid every invoice within 18 days ...)")
        (datetime(2024, 5, 15, 16, 14), None),
        (
            datetime(2024, 5, 14, 16, 14),
            "payment_trouble: invoice INV-2 of EUR 533.64 due 2024-05-14, unpaid 19 days after (in the 365 days "
            "before 2024-05-14 it paid every invoice within 18 days of its due date)",
        ),
    ],
)
def test_an_invoice_is_past_the_habit_in_the_whole_days_it_is_said_in(due, evidence) -> None:
    # a restaurant on 30-day terms paid its first invoice 17.98 days after its due date
    payments = pl.DataFrame(
        {
            "client_id": ["w", "w"],
            "amount": [671.6, 533.64],
            "issued_at": [datetime(2024, 1, 31, 10, 45), due - timedelta(days=30)],
            "due_at": [datetime(2024, 3, 1, 10, 45), due],
            "paid_at": [datetime(2024, 3, 19, 10, 9, 33), None],
            "status": ["paid", "open"],
            "invoice_id": ["INV-1", "INV-2"],
        }
    )
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["w"], "created_at": [datetime(2024, 1, 31)]}),
        Table.PAYMENTS: payments,
    }
    cfg = RulesConfig(enabled=("payment_trouble",))
    out = fired_rules(tables, ["w"], AS_OF, None, cfg, low_csat=2, export_events=(), currency="EUR")
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [evidence]


def test_the_latest_days_late_of_a_clients_paid_invoices_in_the_window() -> None:
    from churnml.scoring.rules import latest_days_late

    payments = pl.DataFrame(
        {
            "client_id": ["late", "late", "late", "on_time", "old"],
            "amount": [100.0] * 5,
            "due_at": [days_ago(d) for d in (170, 120, 70, 40, 500)],
            # late: 20, 10 and -5 days after due; on_time: 3 days early; old: paid 480 days ago, out of the year
            "paid_at": [days_ago(d) for d in (150, 110, 75, 43, 480)],
            "status": ["paid", "paid", "refunded", "paid", "paid"],
        }
    )
    got = latest_days_late(payments, datetime.combine(AS_OF, datetime.min.time()), 365).sort("client_id")
    # late: the refund is no invoice paid (its 5 days early would not count anyway)
    assert got.rows() == [("late", 20.0), ("on_time", 0.0)]


def test_the_latest_days_late_reads_only_orders_not_a_zero_amount_invoice_nor_a_refund() -> None:
    from churnml.scoring.rules import latest_days_late

    payments = pl.DataFrame(
        {
            "client_id": ["c"] * 4,
            # a free month's invoice closed 40 days late, a refund 30 days after its due date, a refund row
            # with a negative amount 50 days after: none is an order paid (labels.orders); the order 5 days late
            "amount": [0.0, 80.0, -80.0, 100.0],
            "due_at": [days_ago(d) for d in (100, 90, 80, 60)],
            "paid_at": [days_ago(d) for d in (60, 60, 30, 55)],
            "status": ["paid", "refunded", None, "paid"],
        }
    )
    got = latest_days_late(payments, datetime.combine(AS_OF, datetime.min.time()), 365)
    assert got.rows() == [("c", 5.0)]


def _rider(cid: str, trips: int, complaints: int, days: int = 91) -> dict[str, list]:
    """``trips`` paid trips and ``complaints`` complaint tickets spread over the ``days`` before AS_OF."""
    return {
        "pay": [(cid, 12.0, days_ago(1 + k * (days - 2) / max(trips, 1))) for k in range(trips)],
        "tick": [(cid, days_ago(2 + k * 7), "complaint") for k in range(complaints)],
    }


@pytest.mark.parametrize(
    ("trips", "complaints", "share", "fires", "said"),
    [
        # a commuter: 3 complaints in 140 trips are wear (the count alone fired before)
        (140, 3, 0.05, False, None),
        (140, 7, 0.05, False, None),  # 7 is 5% of 140: not more
        (140, 8, 0.05, True, "8 complaints from 2024-04-13 to 2024-06-01, against 140 orders"),
        # a B2B account: 3 monthly invoices and 3 complaints
        (3, 3, 0.05, True, "3 complaints from 2024-05-18 to 2024-06-01, against 3 orders"),
        # a one-off rider: 2 complaints in 1 trip
        (1, 2, 0.05, True, "2 complaints from 2024-05-25 to 2024-06-01, against 1 order"),
        # no order in the window: the count alone
        (0, 2, 0.05, True, "2 complaints from 2024-05-25 to 2024-06-01"),
        # one complaint is under rules.complaints, whatever the orders
        (1, 1, 0.05, False, None),
        # rules.complaints_per_order 0: the count alone
        (140, 3, 0.0, True, "3 complaints from 2024-05-18 to 2024-06-01, against 140 orders"),
    ],
)
def test_complaints_fire_only_beyond_the_clients_share_of_its_orders(
    trips: int, complaints: int, share: float, fires: bool, said: str | None
) -> None:
    """A car-sharing service's commuters (11 trips a week) complained most because they rode most: the rule
    fired for 155 riders of whom 18.7% left, against 30.4% of the list. A complaint counts against the client's
    orders of the rule's window (rules.complaints_per_order)."""
    rows = _rider("c", trips, complaints)
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["c"], "created_at": [days_ago(800)]}),
        Table.PAYMENTS: pl.DataFrame(rows["pay"], schema=["client_id", "amount", "paid_at"], orient="row"),
        Table.TICKETS: pl.DataFrame(rows["tick"], schema=["client_id", "opened_at", "kind"], orient="row"),
    }
    cfg = RulesConfig(enabled=("complaints",), complaints_per_order=share)
    out = fired_rules(tables, ["c"], AS_OF, None, cfg, low_csat=2, export_events=())
    assert out.get_column(Scores.rule("complaints")).to_list() == [fires]
    assert out.get_column(Scores.RULES_EVIDENCE).to_list() == [
        None if said is None else f"complaints: {said}"
    ]


@pytest.mark.parametrize(
    ("users", "complaints", "per_user", "fires"),
    [
        # a coworking company's team of 16 people at its desks, one monthly invoice: 3 noise and cleaning
        # complaints in a quarter come with its people (101 of 154 companies fired, "against 3 orders")
        (16.0, 3, 0.25, False),
        (16.0, 4, 0.25, False),  # 4 is a quarter of 16: not more
        (16.0, 5, 0.25, True),
        # a hot-desk member, one person: 2 complaints are a lot
        (1.0, 2, 0.25, True),
        # no user ids in the events (or no events): the orders and the count alone, as before
        (None, 3, 0.25, True),
        # rules.complaints_per_user 0: the people are not counted
        (16.0, 3, 0.0, True),
    ],
)
def test_complaints_fire_only_beyond_the_clients_share_of_its_users(
    users: float | None, complaints: int, per_user: float, fires: bool
) -> None:
    """Complaints come with the people who use the service: a team account of 16 active users files a team's
    complaints. Beside its orders, a complaint counts against the client's distinct active users of the feature
    window nearest rules.complaints_days (usage_active_users_<w>d; rules.complaints_per_user)."""
    rows = _rider("c", 3, complaints)
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["c"], "created_at": [days_ago(800)]}),
        Table.PAYMENTS: pl.DataFrame(rows["pay"], schema=["client_id", "amount", "paid_at"], orient="row"),
        Table.TICKETS: pl.DataFrame(rows["tick"], schema=["client_id", "opened_at", "kind"], orient="row"),
    }
    features = pl.DataFrame(
        {"client_id": ["c"], "usage_active_users_28d": [1.0], "usage_active_users_91d": [users]},
        schema={
            "client_id": pl.String,
            "usage_active_users_28d": pl.Float64,
            "usage_active_users_91d": pl.Float64,
        },
    )
    cfg = RulesConfig(enabled=("complaints",), complaints_per_user=per_user)
    out = fired_rules(tables, ["c"], AS_OF, None, cfg, low_csat=2, export_events=(), features=features)
    assert out.get_column(Scores.rule("complaints")).to_list() == [fires]


def test_an_order_older_than_the_window_does_not_excuse_complaints() -> None:
    # 200 trips a year ago, none in the last 91 days, and 2 complaints now: a client who stopped riding
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["c"], "created_at": [days_ago(800)]}),
        Table.PAYMENTS: pl.DataFrame(
            {
                "client_id": ["c"] * 200,
                "amount": [12.0] * 200,
                "paid_at": [days_ago(100 + k) for k in range(200)],
            }
        ),
        Table.TICKETS: pl.DataFrame(
            {"client_id": ["c"] * 2, "opened_at": [days_ago(3), days_ago(10)], "kind": ["complaint"] * 2}
        ),
    }
    out = fired_rules(
        tables, ["c"], AS_OF, None, RulesConfig(enabled=("complaints",)), low_csat=2, export_events=()
    )
    assert out.get_column(Scores.rule("complaints")).to_list() == [True]


@pytest.mark.parametrize(
    ("then_days", "now_days", "seats", "fires"),
    [
        (
            30,
            365,
            (1, 1),
            False,
        ),  # off a rolling tariff onto a 12-month fixed one at its lower price: signed for a year
        (30, 30, (1, 1), True),  # a cheaper month-to-month plan: a smaller plan
        (28, 56, (1, 1), True),  # monthly deliveries moved to every 8 weeks: no commitment
        (30, 91, (1, 1), False),  # a quarter: committed for longer
        (365, 365, (1, 1), True),  # an annual contract renewed 40% lower: a downsell
        (30, 365, (40, 20), True),  # annual now, but 20 seats of 40: a cut all the same
    ],
)
def test_a_move_from_a_rolling_term_to_a_longer_one_at_a_lower_price_is_no_contraction(
    then_days, now_days, seats, fires
) -> None:
    """A household on a rolling monthly tariff at 146 a month until 20 days ago, on a new term at 93 since."""
    subs = pl.DataFrame(
        {
            "client_id": ["w", "w"],
            "start_date": [days_ago(20 + then_days), days_ago(20)],
            "end_date": [days_ago(20), days_ago(20 - now_days)],
            "mrr": [146.0, 93.0],
            "quantity": list(seats),
        }
    )
    # the earlier term runs 91 days ago (contraction_days) only when it is long enough: a rolling tariff is a run
    # of monthly terms, the last of which ran then
    rolling = pl.DataFrame(
        {
            "client_id": ["w"] * 4,
            "start_date": [days_ago(20 + then_days * k) for k in (4, 3, 2, 1)],
            "end_date": [days_ago(20 + then_days * (k - 1)) for k in (4, 3, 2, 1)],
            "mrr": [146.0] * 4,
            "quantity": [seats[0]] * 4,
        }
    )
    terms = pl.concat([rolling, subs.tail(1)]) if then_days < 91 else subs
    assert _fired_for("contraction", Table.SUBSCRIPTIONS, terms) == (["contraction"] if fires else [""])
