"""Post-mortem of churns against a hand-built list history, with the expected verdicts written out."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from churnml.config import ZonesConfig
from churnml.reporting.postmortem import (
    CAUGHT_EARLY,
    CAUGHT_LATE,
    MISSED,
    NOT_REVIEWED,
    list_timeline,
    postmortem,
    postmortem_totals,
    review_lead,
)

D = datetime
ZONES = ZonesConfig()  # yellow at 0.15, red at 0.35

CHURNS = pl.DataFrame(
    [
        ("x", D(2024, 3, 1), "price"),
        ("y", D(2024, 2, 20), "moved"),
        ("z", D(2024, 2, 10), None),
        ("w", D(2024, 2, 15), "service"),
        ("v", D(2024, 4, 1), "price"),  # after the period
    ],
    schema={"client_id": pl.String, "churned_at": pl.Datetime("us"), "reason": pl.String},
    orient="row",
)


def _list(as_of: date, rows: list[tuple[str, float, str, str | None]]) -> pl.DataFrame:
    """A written list: (client, probability, zone, top driver family)."""
    return pl.DataFrame(
        {
            "client_id": [r[0] for r in rows],
            "as_of": [as_of] * len(rows),
            "churn_probability": [r[1] for r in rows],
            "zone": [r[2] for r in rows],
            "driver_1_family": [r[3] for r in rows],
            "driver_1_sentence": [None if r[3] is None else f"{r[3]} got worse" for r in rows],
        }
    )


def _history(rows: list[tuple[str, date, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"client_id": pl.String, "snapshot": pl.Date, "churn_probability": pl.Float64},
                        orient="row")  # fmt: skip


LISTS = [
    _list(date(2024, 1, 15), [("x", 0.2, "yellow", "payments"), ("y", 0.05, "green", "usage")]),
    _list(
        date(2024, 2, 12),
        [("x", 0.5, "red", "support"), ("w", 0.4, "red", "support"), ("y", 0.1, "green", None)],
    ),
]
HISTORIES = [
    _history([("x", date(2024, 1, 8), 0.05), ("x", date(2024, 1, 15), 0.9)]),  # the list row of 01-15 wins
    _history([("x", date(2024, 2, 5), 0.4), ("y", date(2024, 2, 5), 0.1)]),
]


@pytest.fixture(scope="module")
def timeline() -> pl.DataFrame:
    return list_timeline(LISTS, HISTORIES, ZONES)


def test_timeline_prefers_list_rows_and_zones_history_by_the_thresholds(timeline):
    x = timeline.filter(pl.col("client_id") == "x").select("as_of", "zone", "source", "driver_1_family")
    assert x.rows() == [
        (date(2024, 1, 8), "green", "history", None),
        (date(2024, 1, 15), "yellow", "list", "payments"),
        (date(2024, 2, 5), "red", "history", None),  # 0.4 >= red 0.35
        (date(2024, 2, 12), "red", "list", "support"),
    ]


@pytest.mark.parametrize(
    ("learned_until", "kept"),
    [
        (None, [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15)]),  # unknown: the manifest predates it
        (date(2024, 1, 8), [date(2024, 1, 8), date(2024, 1, 15)]),
        (date(2024, 2, 1), []),  # the model knew how every history week ended
    ],
)
def test_history_weeks_count_only_when_their_model_had_not_learned_how_they_ended(learned_until, kept):
    from churnml.reporting.postmortem import out_of_time_history

    history = pl.DataFrame(
        {
            "client_id": ["a", "a", "a"],
            "snapshot": [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15)],
            "churn_probability": [0.9, 0.9, 0.9],
        }
    )
    assert out_of_time_history(history, learned_until).get_column("snapshot").to_list() == kept


def test_postmortem_verdicts(timeline):
    got = postmortem(CHURNS, timeline, date(2024, 2, 1), date(2024, 4, 1), lookback_days=90, early_weeks=4)
    cols = ["client_id", "reason", "lists_before", "first_flagged_at", "weeks_flagged_before", "first_red_at",
            "weeks_red_before", "driver_family", "verdict"]  # fmt: skip
    assert got.select(cols).rows() == [
        ("z", "unknown", 0, None, None, None, None, None, NOT_REVIEWED),
        ("w", "service", 1, date(2024, 2, 12), 0, date(2024, 2, 12), 0, "support", CAUGHT_LATE),
        ("y", "moved", 3, None, None, None, None, "usage", MISSED),  # green on every list
        # x: yellow on 01-15 (46 days = 6 weeks before), red from 02-05 (25 days = 3 weeks)
        ("x", "price", 4, date(2024, 1, 15), 6, date(2024, 2, 5), 3, "payments", CAUGHT_EARLY),
    ]


@pytest.mark.parametrize(
    ("notice", "after", "verdict"),
    [
        (date(2024, 1, 10), True, CAUGHT_LATE),  # asked to cancel before the first flagging list (01-15)
        (date(2024, 1, 15), False, CAUGHT_EARLY),  # the list of 01-15 read data before that day
        (date(2024, 2, 20), False, CAUGHT_EARLY),  # the list warned six weeks before the request
        (None, False, CAUGHT_EARLY),
    ],
)
def test_a_flag_that_followed_the_clients_own_cancellation_request_is_no_early_catch(
    timeline, notice, after, verdict
):
    notices = (
        pl.DataFrame({"client_id": ["x"], "notice_at": [datetime.combine(notice, datetime.min.time())]})
        if notice is not None
        else None
    )
    got = postmortem(
        CHURNS, timeline, date(2024, 2, 1), date(2024, 4, 1), lookback_days=90, early_weeks=4, notices=notices
    )
    x = got.filter(pl.col("client_id") == "x").row(0, named=True)
    assert (x["notice_at"], x["flagged_after_notice"], x["verdict"]) == (notice, after, verdict)


def test_a_churn_soon_after_the_first_list_is_not_reviewed_rather_than_caught_late(timeline):
    # the lists begin on 2024-01-08: a churn on 01-20 could not be flagged 4 weeks ahead by any of them
    early = pl.DataFrame(
        {"client_id": ["x"], "churned_at": [D(2024, 1, 20)], "reason": ["price"]},
        schema={"client_id": pl.String, "churned_at": pl.Datetime("us"), "reason": pl.String},
    )
    got = postmortem(early, timeline, date(2024, 1, 1), date(2024, 2, 1), lookback_days=90, early_weeks=4)
    assert got.select("client_id", "first_flagged_at", "verdict").rows() == [
        ("x", date(2024, 1, 15), NOT_REVIEWED)  # flagged 0 weeks before: "caught late" before
    ]
    # one never flagged then is not reviewed either: a miss would count where a catch does not
    calm = early.with_columns(pl.lit("y").alias("client_id"))
    got = postmortem(calm, timeline, date(2024, 1, 1), date(2024, 2, 1), lookback_days=90, early_weeks=4)
    assert got.select("client_id", "verdict").rows() == [("y", NOT_REVIEWED)]


# a: red on the lists of 02-05 and 02-12, churns 02-20, back 03-01, green on every list since, churns again 04-10
SECOND_CHURN_LISTS = [
    _list(day, [("a", 0.9 if zone == "red" else 0.01, zone, None), ("z", 0.01, "green", None)])
    for day, zone in [
        (date(2024, 1, 1), "green"),
        (date(2024, 2, 5), "red"),
        (date(2024, 2, 12), "red"),
        *[(date(2024, 3, 4) + timedelta(weeks=w), "green") for w in range(6)],  # 03-04 .. 04-08
    ]
]


@pytest.mark.parametrize(
    ("returned_at", "notice", "second"),
    [
        # the window of the second churn starts at the return: 6 green lists, the flags of February are the
        # first churn's: missed, not "caught early, 9 weeks before"
        (D(2024, 3, 1), None, (6, None, None, None, MISSED)),
        # without returns, after the previous churn: the same lists
        (None, None, (6, None, None, None, MISSED)),
        # a cancellation request before the first churn was about the first churn
        (D(2024, 3, 1), D(2024, 2, 1), (6, None, None, None, MISSED)),
        (D(2024, 3, 1), D(2024, 3, 20), (6, None, None, date(2024, 3, 20), MISSED)),
    ],
)
def test_a_second_churn_is_judged_by_the_lists_since_the_client_came_back(returned_at, notice, second):
    churns = pl.DataFrame(
        {
            "client_id": ["a", "a"],
            "churned_at": [D(2024, 2, 20), D(2024, 4, 10)],
            "reason": ["price", "price"],
            "returned_at": [returned_at, None],
        },
        schema={"client_id": pl.String, "churned_at": pl.Datetime("us"), "reason": pl.String,
                "returned_at": pl.Datetime("us")},
    )  # fmt: skip
    notices = None if notice is None else pl.DataFrame({"client_id": ["a"], "notice_at": [notice]})
    timeline = list_timeline(SECOND_CHURN_LISTS, [], ZONES)
    got = postmortem(
        churns, timeline, date(2024, 1, 1), date(2024, 5, 1), lookback_days=90, early_weeks=4, notices=notices
    )
    cols = ["lists_before", "first_flagged_at", "weeks_flagged_before", "notice_at", "verdict"]
    first = (
        3,
        date(2024, 2, 5),
        2,
        notice.date() if notice and notice < D(2024, 2, 20) else None,
        CAUGHT_LATE,
    )
    assert got.select(cols).rows() == [first, second]


def test_lookback_limits_what_counts(timeline):
    got = postmortem(CHURNS, timeline, date(2024, 3, 1), date(2024, 3, 2), lookback_days=30, early_weeks=4)
    # only lists after 01-31 count: first flagged 02-05 (red), 3 weeks before: late
    assert got.select("client_id", "first_flagged_at", "verdict").rows() == [
        ("x", date(2024, 2, 5), CAUGHT_LATE)
    ]


def test_totals_by_reason(timeline):
    review = postmortem(CHURNS, timeline, date(2024, 2, 1), date(2024, 4, 1), lookback_days=90, early_weeks=4)
    got = postmortem_totals(review, "reason")
    cols = [
        "reason",
        "churns",
        "reviewed",
        "caught_early",
        "caught_late",
        "missed",
        "not_reviewed",
        "caught_share",
        "red_share",
    ]
    assert got.select(cols).rows() == [
        ("moved", 1, 1, 0, 0, 1, 0, 0.0, 0.0),
        ("price", 1, 1, 1, 0, 0, 0, 1.0, 1.0),  # x: red from 02-05
        ("service", 1, 1, 0, 1, 0, 0, 1.0, 1.0),
        ("unknown", 1, 0, 0, 0, 0, 1, None, None),
    ]


@pytest.mark.parametrize(
    ("hindsight", "expected"),
    [
        ((), ""),
        (
            ("2024-02-05", "2024-02-12"),
            "2 of the 3 lists (2024-02-05, 2024-02-12) were scored by a model that had already learned churns "
            "they predict (back-dated lists scored with a later model): their catches flatter the model; only "
            "lists written at their date, by the champion of that week, are an honest record",
        ),
    ],
)
def test_the_page_says_which_lists_were_scored_with_hindsight(timeline, hindsight, expected):
    from churnml.reporting.postmortem import hindsight_warning, postmortem_page

    assert hindsight_warning(hindsight, 3) == expected
    review = postmortem(CHURNS, timeline, date(2024, 2, 1), date(2024, 4, 1), lookback_days=90, early_weeks=4)
    totals = postmortem_totals(review, "reason")
    page = postmortem_page(
        review,
        totals,
        postmortem_totals(review, "driver_family"),
        date(2024, 2, 1),
        date(2024, 4, 1),
        3,
        hindsight,
        lookback_days=90,
    )
    assert ("<b>Scored with hindsight.</b> 2 of the 3 lists" in page) is bool(hindsight)
    assert "Only the lists of the 90 days before each churn are read" in page
    assert "so 12 weeks is the most warning a churn can show" in page


def test_cli_reads_the_written_lists(tmp_path):
    from typer.testing import CliRunner

    from churnml.cli import app
    from churnml.contract.io import write_tables
    from churnml.contract.schemas import Table

    clients = pl.DataFrame({"client_id": ["x", "y", "z", "w", "v"], "created_at": [D(2023, 1, 1)] * 5})
    events = pl.DataFrame(
        {"client_id": ["x", "y", "z", "w", "v"], "ts": [D(2023, 6, 1)] * 5, "event": ["login"] * 5}
    )
    write_tables({Table.CLIENTS: clients, Table.EVENTS: events, Table.CHURNS: CHURNS}, tmp_path / "data")
    for frame, hist in zip(LISTS, HISTORIES, strict=True):
        folder = tmp_path / "scores" / frame.get_column("as_of")[0].isoformat()
        folder.mkdir(parents=True)
        frame.write_parquet(folder / "scores.parquet")
        hist.write_parquet(folder / "history.parquet")
    out = tmp_path / "pm"
    result = CliRunner().invoke(
        app,
        ["postmortem", "--data", str(tmp_path / "data"), "--from", "2024-02-01", "--to", "2024-04-01",
         "--scores", str(tmp_path / "scores"), "--out", str(out), "--set", "label.source=churns",
         "--set", "data.as_of=2024-06-30"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written = pl.read_parquet(out / "postmortem.parquet")
    assert written.get_column("verdict").to_list() == [NOT_REVIEWED, CAUGHT_LATE, MISSED, CAUGHT_EARLY]
    page = (out / "postmortem.html").read_text()
    assert "<svg" in page and "missed 1" in page
    assert (out / "by_reason.csv").is_file() and (out / "by_family.csv").is_file()


def test_cli_rejects_an_empty_period(tmp_path):
    from typer.testing import CliRunner

    from churnml.cli import app

    result = CliRunner().invoke(app, ["postmortem", "--from", "2024-02-01", "--to", "2024-02-01"])
    assert result.exit_code == 1 and "must be after --from" in result.output


def test_cli_says_there_is_nothing_to_review_when_the_only_list_is_at_the_data_end(tmp_path):
    """The first list of a dataset, then `postmortem` with no period: not a "--to must be after --from"
    about options the user never gave."""
    from typer.testing import CliRunner

    from churnml.cli import app
    from churnml.contract.io import write_tables
    from churnml.contract.schemas import Table

    clients = pl.DataFrame({"client_id": ["x"], "created_at": [D(2024, 1, 1)]})
    events = pl.DataFrame({"client_id": ["x"], "ts": [D(2024, 6, 29)], "event": ["login"]})
    write_tables({Table.CLIENTS: clients, Table.EVENTS: events}, tmp_path / "data")
    listed = tmp_path / "scores" / "2024-06-30"  # the data ends on 2024-06-29: the as-of date is 06-30
    listed.mkdir(parents=True)
    LISTS[0].write_parquet(listed / "scores.parquet")
    result = CliRunner().invoke(
        app,
        ["postmortem", "--data", str(tmp_path / "data"), "--scores", str(tmp_path / "scores"),
         "--out", str(tmp_path / "pm")],
        terminal_width=400,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "nothing to review yet: the oldest list under" in result.output
    assert "is dated 2024-06-30 and the data ends on 2024-06-30" in result.output
    assert not (tmp_path / "pm").exists()


def test_the_postmortem_reads_only_the_lists_of_its_dataset(tmp_path):
    import json

    from churnml.jobs.reports import list_folders

    for day, name in [
        ("2025-01-06", "shop"),
        ("2025-01-13", "crm"),
        ("2025-01-20", None),
        ("2025-01-27", "shop"),
    ]:
        folder = tmp_path / day
        folder.mkdir()
        (folder / "scores.parquet").write_bytes(b"")
        manifest = {"written_by": "churnml"} if name is None else {"data": {"name": name}}
        (folder / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "notes").mkdir()  # not a list
    names = [p.name for p in list_folders(tmp_path, "shop")]
    assert names == ["2025-01-06", "2025-01-20", "2025-01-27"]  # the unnamed list is kept
    assert len(list_folders(tmp_path)) == 4
    assert list_folders(tmp_path / "missing", "shop") == []


@pytest.mark.parametrize(
    ("horizon", "asked", "weeks", "noted"),
    [
        (90, None, 4, False),  # 12 weeks of look-back: 4 as always
        (28, None, 2, False),  # 4 weeks of look-back show at most 3 weeks of warning: half of them
        (14, None, 1, False),
        (28, 4, 4, True),  # asked for what no churn can reach: kept, and said
        (28, 3, 3, False),
        (90, 12, 12, False),  # a list 89 days before the churn is 12 weeks of warning: reachable
        (90, 13, 13, True),
        (84, 12, 12, True),  # a list 84 days before is outside the look-back: 11 weeks at most
        (84, 11, 11, False),
    ],
)
def test_early_is_a_warning_the_horizon_can_show(horizon, asked, weeks, noted) -> None:
    from churnml.jobs.reports import early_weeks_for

    got, note = early_weeks_for(horizon, asked)
    assert got == weeks and (note is not None) == noted
    if noted:
        assert note.startswith(f"--early-weeks {asked}: no churn can be caught that early")


@pytest.mark.parametrize(("horizon", "most"), [(90, 12), (84, 11), (28, 3), (14, 1)])
def test_the_most_warning_said_is_the_most_a_review_counts(horizon, most) -> None:
    from churnml.jobs.reports import early_weeks_for
    from churnml.reporting.postmortem import most_warning_weeks, postmortem_page

    # red on a list every day of the look-back: the first flag is as early as a churn can show
    churn = D(2024, 6, 3)
    days = [churn.date() - timedelta(days=d) for d in range(200)]
    timeline = list_timeline([_list(day, [("a", 0.9, "red", None)]) for day in days], [], ZONES)
    churns = pl.DataFrame(
        {"client_id": ["a"], "churned_at": [churn], "reason": ["price"]},
        schema={"client_id": pl.String, "churned_at": pl.Datetime("us"), "reason": pl.String},
    )
    review = postmortem(
        churns, timeline, date(2024, 6, 1), date(2024, 7, 1), lookback_days=horizon, early_weeks=most
    )
    assert review.select("weeks_flagged_before", "verdict").row(0) == (most, CAUGHT_EARLY)
    assert most_warning_weeks(horizon) == most
    assert early_weeks_for(horizon, most)[1] is None and early_weeks_for(horizon, most + 1)[1] is not None
    by = postmortem_totals(review, "reason")
    page = postmortem_page(review, by, postmortem_totals(review, "driver_family"), date(2024, 6, 1),
                           date(2024, 7, 1), 200, lookback_days=horizon)  # fmt: skip
    assert f"so {most} weeks is the most warning a churn can show" in page


def test_the_family_section_says_what_each_family_covers() -> None:
    from churnml.features.registry import FAMILIES, FAMILY_SCOPES

    assert set(FAMILY_SCOPES) == set(FAMILIES)
    # a term ending soon is a "payments" driver: the page says so, not to read it as payment trouble
    assert (
        FAMILY_SCOPES["payments"] == "payments, invoices and subscription terms (a term ending soon is here)"
    )


def _review(rows: list[tuple[int, date | None, date | None, str]]) -> pl.DataFrame:
    """A :func:`postmortem` frame cut to what the lead reads: (lists before, first flagged, first red, verdict)."""
    return pl.DataFrame(
        rows,
        schema={
            "lists_before": pl.UInt32,
            "first_flagged_at": pl.Date,
            "first_red_at": pl.Date,
            "verdict": pl.String,
        },
        orient="row",
    ).with_columns(pl.lit(False).alias("flagged_after_notice"))


J1, J8 = date(2024, 1, 1), date(2024, 1, 8)


@pytest.mark.parametrize(
    ("rows", "early_weeks", "expected"),
    [
        ([], 4, "No churn from 2024-02-01 to 2024-03-01."),
        (
            [(0, None, None, NOT_REVIEWED)] * 2,
            4,
            "2 churns from 2024-02-01 to 2024-03-01; no list covers any of them.",
        ),
        (  # the lists began too late to review any, but they did show something: said, not "no list covers"
            [(1, J1, J1, NOT_REVIEWED), (3, J1, None, NOT_REVIEWED), (2, None, None, NOT_REVIEWED)],
            4,
            "3 churns from 2024-02-01 to 2024-03-01; none is reviewed yet: the first list came fewer than 4 weeks "
            "before each of them, too soon to warn early (a churn is reviewed once the lists began at least 4 "
            "weeks before it). What the lists did show: all 3 were on 1 to 3 lists before leaving, 2 in yellow or "
            "red on at least one (1 red), 1 green on every one.",
        ),
        (
            [(1, J8, J8, NOT_REVIEWED), (0, None, None, NOT_REVIEWED)],
            None,
            "2 churns from 2024-02-01 to 2024-03-01; none is reviewed yet: the first list came too soon before "
            "each of them to warn early (--early-weeks). What the lists did show: 1 of them was on 1 list before "
            "leaving, 1 in yellow or red on at least one (1 red), 0 green on every one; 1 was on no list before "
            "leaving.",
        ),
        (
            [(5, J1, None, CAUGHT_EARLY), (5, None, None, MISSED), (1, J8, J8, NOT_REVIEWED)],
            4,
            "3 churns from 2024-02-01 to 2024-03-01; 2 had lists in the weeks before them, from early enough to "
            "warn. Of those the list flagged 1 (50%) in yellow or red before they left (1 early, 0 late) and "
            "missed 1.",
        ),
    ],
)
def test_the_lead_says_what_the_lists_showed_even_when_none_is_reviewed_yet(rows, early_weeks, expected):
    from churnml.reporting.postmortem import review_lead

    assert review_lead(_review(rows), date(2024, 2, 1), date(2024, 3, 1), early_weeks) == expected


@pytest.mark.parametrize(
    ("known_until", "expected"),
    [
        (None, "No churn from 2024-02-01 to 2024-03-01."),
        (date(2024, 3, 1), "No churn from 2024-02-01 to 2024-03-01."),  # every departure of it known
        (
            date(2024, 2, 10),
            "No churn known from 2024-02-01 to 2024-03-01: the data knows churns by their departure up to "
            "2024-02-10 (who left later is decided only once the label's lag has passed: under the inactivity "
            "label, its inactivity_days without an order), and this period runs past it. A period ending on "
            "2024-02-10 or earlier (--to) reviews churns that are known.",
        ),
        (
            date(2024, 1, 15),
            "No churn known from 2024-02-01 to 2024-03-01: the data knows churns by their departure up to "
            "2024-01-15 (who left later is decided only once the label's lag has passed: under the inactivity "
            "label, its inactivity_days without an order), and this period lies wholly after it. A period "
            "ending on 2024-01-15 or earlier (--to) reviews churns that are known.",
        ),
    ],
)
def test_a_period_without_churns_past_the_known_churns_is_not_called_churn_free(known_until, expected):
    from churnml.reporting.postmortem import review_lead

    assert review_lead(_review([]), date(2024, 2, 1), date(2024, 3, 1), None, known_until) == expected


# the false-alarm side: end 2024-03-01, a 30-day look-back (lists of 02-01 .. 02-29), the period from 02-15
STAYED_TIMELINE = pl.DataFrame(
    [
        ("a", date(2024, 2, 5), "green"),
        ("a", date(2024, 2, 12), "yellow"),
        ("b", date(2024, 2, 5), "red"),
        ("c", date(2024, 2, 5), "green"),
        ("c", date(2024, 2, 26), "green"),
        ("d", date(2024, 1, 29), "red"),  # before the window: not read
        ("d", date(2024, 2, 12), "green"),
        ("e", date(2024, 2, 5), "red"),  # churned in the period: a churn, not a stayer
        ("f", date(2024, 2, 12), "yellow"),  # churned 2 weeks after the period: its flag was right
        ("g", date(2024, 2, 12), "green"),  # churned months later: stayed, as far as these lists speak
        ("h", date(2024, 3, 1), "red"),  # a list dated on the end reads no week of the period
        ("i", date(2024, 2, 5), "yellow"),  # left in January and came back
        ("k", date(2024, 2, 5), "yellow"),  # left in the window, before the period began
    ],
    schema={"client_id": pl.String, "as_of": pl.Date, "zone": pl.String},
    orient="row",
)
STAYED_CHURNS = pl.DataFrame(
    [
        ("e", D(2024, 2, 20)),
        ("f", D(2024, 3, 15)),
        ("g", D(2024, 6, 1)),
        ("i", D(2024, 1, 10)),
        ("k", D(2024, 2, 3)),
    ],
    schema={"client_id": pl.String, "churned_at": pl.Datetime("us")},
    orient="row",
)


KNOWN = date(2024, 6, 30)  # the churns are known well past the lists' 30 days


def test_clients_who_stayed_are_those_on_the_lists_of_the_look_back_who_did_not_churn():
    from churnml.reporting.postmortem import clients_who_stayed

    got = clients_who_stayed(
        STAYED_CHURNS,
        STAYED_TIMELINE,
        date(2024, 2, 15),
        date(2024, 3, 1),
        lookback_days=30,
        known_until=KNOWN,
    )
    assert got.rows() == [
        ("a", 2, True, False),
        ("b", 1, True, True),
        ("c", 2, False, False),
        ("d", 1, False, False),
        ("g", 1, False, False),
        ("i", 1, True, False),
    ]


def test_the_page_shows_how_often_the_lists_flag_the_clients_who_stayed_beside_the_churns():
    from churnml.reporting.postmortem import (
        clients_who_stayed,
        false_alarm_sentence,
        flag_comparison,
        postmortem_page,
    )

    stayed = clients_who_stayed(
        STAYED_CHURNS,
        STAYED_TIMELINE,
        date(2024, 2, 15),
        date(2024, 3, 1),
        lookback_days=30,
        known_until=KNOWN,
    )
    review = _review(
        [
            (5, J1, J1, CAUGHT_EARLY),
            (5, J1, J8, CAUGHT_LATE),
            (5, None, None, MISSED),
            (5, J8, None, CAUGHT_EARLY),
            (1, J8, J8, NOT_REVIEWED),  # not one of the reviewed churns
        ]
    )
    comparison = flag_comparison(review, stayed)
    assert comparison.rows() == [("churned", 4, 0.75, 0.5), ("did not churn", 6, 0.5, 1 / 6)]
    expected = (
        "The lists flag clients who stay, too. Of the 6 clients on the lists of the 30 days before 2024-03-01 who "
        "did not churn (in the period, nor in the 30 days after it as far as the data shows), 50% were yellow or "
        "red on at least one list and 17% red; of the 4 reviewed churns, 75% and 50%: a churner was 1.5 times as "
        "likely to be yellow or red and 3.0 times as likely to be red as a client who stayed. Read each caught "
        "share below against the 50%, each red share against the 17%."
    )
    assert false_alarm_sentence(comparison, date(2024, 3, 1), 30) == expected
    review = review.with_columns(
        pl.lit("price").alias("reason"), pl.lit(None, pl.String).alias("driver_family")
    )
    review = review.with_columns(pl.lit(None, pl.Int64).alias("weeks_flagged_before"))
    page = postmortem_page(
        review,
        postmortem_totals(review, "reason"),
        postmortem_totals(review, "driver_family"),
        date(2024, 2, 15),
        date(2024, 3, 1),
        2,
        lookback_days=30,
        stayed=stayed,
    )
    assert expected in page and "<td>did not churn</td>" in page and "16.7%" in page


@pytest.mark.parametrize(
    ("flags", "expected_end"),
    [
        # none reviewed yet: the churns on a list before leaving stand in, and no caught share is below
        (
            [(2, J1, J1, NOT_REVIEWED), (1, None, None, NOT_REVIEWED), (0, None, None, NOT_REVIEWED)],
            "of the 2 churns on a list before leaving, 50% and 50%: a churner was 1.0 times as likely to be "
            "yellow or red and 3.0 times as likely to be red as a client who stayed.",
        ),
        ([(0, None, None, NOT_REVIEWED)], "17% red."),  # no churn on a list: nothing to compare
    ],
)
def test_the_false_alarm_sentence_without_reviewed_churns(flags, expected_end):
    from churnml.reporting.postmortem import clients_who_stayed, false_alarm_sentence, flag_comparison

    stayed = clients_who_stayed(
        STAYED_CHURNS,
        STAYED_TIMELINE,
        date(2024, 2, 15),
        date(2024, 3, 1),
        lookback_days=30,
        known_until=KNOWN,
    )
    got = false_alarm_sentence(flag_comparison(_review(flags), stayed), date(2024, 3, 1), 30)
    assert got.endswith(expected_end), got


@pytest.mark.parametrize(
    ("rows", "told"),
    [
        # (verdict, flagged after the client's own cancellation request)
        ([(CAUGHT_LATE, True), (CAUGHT_EARLY, False), (MISSED, False)], 1),
        # a churn flagged after its notice but not reviewed (the lists began too late) is none of the caught
        ([(NOT_REVIEWED, True), (MISSED, False)], 0),
        ([(NOT_REVIEWED, True), (CAUGHT_LATE, True), (CAUGHT_LATE, False)], 1),
    ],
)
def test_only_caught_churns_count_as_first_flagged_after_their_notice(rows, told):
    from churnml.reporting.postmortem import caught_after_notice

    review = pl.DataFrame(
        rows, schema={"verdict": pl.String, "flagged_after_notice": pl.Boolean}, orient="row"
    )
    assert caught_after_notice(review) == told


def test_the_lead_does_not_count_an_unreviewed_churn_among_the_caught():
    """a: on two lists (green, then red after its cancellation request), churned 9 days after the first
    list: not reviewed; b: green on nine lists, missed. The lead said "1 of the caught were first flagged
    only once they had asked to cancel" of a list that caught none."""
    from churnml.reporting.postmortem import postmortem, review_lead

    weeks = [date(2026, 8, 1) + timedelta(weeks=k) for k in range(9)]
    lists = pl.DataFrame(
        {
            "client_id": ["a"] * 2 + ["b"] * 9,
            "as_of": [date(2026, 8, 1), date(2026, 8, 8), *weeks],
            "zone": ["green", "red"] + ["green"] * 9,
        }
    )
    churns = pl.DataFrame(
        {
            "client_id": ["a", "b"],
            "churned_at": [D(2026, 8, 10), D(2026, 10, 1)],
            "reason": ["price", "price"],
        }
    )
    notices = pl.DataFrame({"client_id": ["a"], "notice_at": [D(2026, 8, 5)]})
    review = postmortem(
        churns, lists, date(2026, 8, 1), date(2026, 10, 2), lookback_days=90, early_weeks=4, notices=notices
    )
    assert review.select("verdict", "flagged_after_notice").rows() == [(NOT_REVIEWED, True), (MISSED, False)]
    assert review_lead(review, date(2026, 8, 1), date(2026, 10, 2), 4) == (
        "2 churns from 2026-08-01 to 2026-10-02; 1 had lists in the weeks before them, from early enough to warn. "
        "Of those the list flagged 0 (0%) in yellow or red before they left (0 early, 0 late) and missed 1."
    )


@pytest.mark.parametrize(
    ("known_until", "expected"),
    [
        # every list of the window (02-01 .. 02-29) has its 30 days in the data: as above
        (
            date(2024, 3, 30),
            [
                ("a", 2, True, False),
                ("b", 1, True, True),
                ("c", 2, False, False),
                ("d", 1, False, False),
                ("g", 1, False, False),
                ("i", 1, True, False),
            ],
        ),
        # churns known to 03-10: only the lists up to 02-09 have had their 30 days (a, c: their 02-05 list)
        (
            date(2024, 3, 10),
            [("a", 1, False, False), ("b", 1, True, True), ("c", 1, False, False), ("i", 1, True, False)],
        ),
        # churns known to the period's end (the default --to): no list has had its 30 days, no one stayed yet
        (date(2024, 3, 1), []),
    ],
    ids=["all-known", "early-lists-known", "none-known"],
)
def test_only_the_lists_whose_horizon_ends_within_the_data_tell_who_stayed(known_until, expected):
    from churnml.reporting.postmortem import clients_who_stayed

    got = clients_who_stayed(
        STAYED_CHURNS,
        STAYED_TIMELINE,
        date(2024, 2, 15),
        date(2024, 3, 1),
        lookback_days=30,
        known_until=known_until,
    )
    assert got.rows() == expected


def test_a_red_client_leaving_after_the_data_ends_is_no_false_alarm():
    """The reviewer's case: the data (and the period, by default) ends 12-01; r, red on the list of 11-20,
    leaves on 12-21, which the data does not show yet. It was counted as a client who stayed, flagged red."""
    from churnml.reporting.postmortem import clients_who_stayed, postmortem_page

    timeline = pl.DataFrame(
        {"client_id": ["r", "g"], "as_of": [date(2026, 11, 20)] * 2, "zone": ["red", "green"]}
    )
    churns_seen = pl.DataFrame(schema={"client_id": pl.String, "churned_at": pl.Datetime("us")})
    end = date(2026, 12, 1)
    stayed = clients_who_stayed(
        churns_seen, timeline, date(2026, 9, 1), end, lookback_days=90, known_until=end
    )
    assert stayed.height == 0
    review = _review([(1, J1, J1, CAUGHT_EARLY)]).with_columns(
        pl.lit("price").alias("reason"),
        pl.lit(None, pl.String).alias("driver_family"),
        pl.lit(None, pl.Int64).alias("weeks_flagged_before"),
    )
    page = postmortem_page(
        review,
        postmortem_totals(review, "reason"),
        postmortem_totals(review, "driver_family"),
        date(2026, 9, 1),
        end,
        1,
        lookback_days=90,
        stayed=stayed,
        known_until=end,
    )
    assert (
        "Who stays is not known yet: the lists of the 90 days before 2026-12-01 speak of the 90 days after them, "
        "which run past 2026-12-01, the last day the data knows churns of, so this page cannot say how often the "
        "lists flag clients who stay (the false alarms) to read the caught shares against. A period ending on "
        "2026-09-03 or earlier (--to) shows it."
    ) in page
    assert "did not churn" not in page


@pytest.mark.parametrize(
    ("known_until", "unknown", "only"),
    [
        (date(2024, 3, 1), True, None),  # the window's first list (02-01) speaks to 03-02
        (
            date(2024, 3, 2),
            False,
            " (those up to 2024-02-01: after a later list, who stays is not known yet)",
        ),
        (
            date(2024, 3, 10),
            False,
            " (those up to 2024-02-09: after a later list, who stays is not known yet)",
        ),
        (date(2024, 3, 30), False, ""),  # the last list (02-29) speaks to 03-30: all known
    ],
)
def test_the_page_says_when_who_stayed_is_not_known_or_known_of_the_early_lists_only(
    known_until, unknown, only
):
    from churnml.reporting.postmortem import false_alarm_sentence, flag_comparison, stayers_unknown_sentence

    end = date(2024, 3, 1)
    assert bool(stayers_unknown_sentence(end, 30, known_until)) is unknown
    if only is not None:
        stayed = pl.DataFrame({"client_id": ["a"], "lists": [1], "flagged": [True], "red": [False]})
        sentence = false_alarm_sentence(flag_comparison(_review([]), stayed), end, 30, known_until)
        assert sentence.startswith(
            f"The lists flag clients who stay, too. Of the 1 clients on the lists of the 30 days before 2024-03-01{only} who did not churn"
        )


# Weekly lists 01-01 .. 04-01: a green until 03-04 and red from then on, b red from 01-29, c always green.
# Under the inactivity rule (90 days) each churn is decided 90 days after the client's last order (left_at).
def _red_from(client: str, day: date, since: date | None) -> tuple[str, float, str, None]:
    """A list row of ``client`` on ``day``: red from ``since`` on (never when None), else green."""
    red = since is not None and day >= since
    return (client, 0.9 if red else 0.01, "red" if red else "green", None)


DEPARTED_TIMELINE = list_timeline(
    [
        _list(
            day,
            [
                _red_from("a", day, date(2024, 3, 4)),
                _red_from("b", day, date(2024, 1, 29)),
                _red_from("c", day, None),
            ],
        )
        for day in [date(2024, 1, 1) + timedelta(weeks=i) for i in range(14)]
    ],
    [],
    ZONES,
)
DEPARTED = pl.DataFrame(
    [
        ("a", D(2024, 5, 10), D(2024, 2, 10), None),
        ("b", D(2024, 5, 30), D(2024, 3, 1), None),
        ("c", D(2024, 4, 14), D(2024, 1, 15), None),
    ],
    schema={
        "client_id": pl.String,
        "churned_at": pl.Datetime("us"),
        "left_at": pl.Datetime("us"),
        "reason": pl.String,
    },
    orient="row",
)


def test_a_churn_is_judged_against_the_clients_departure_not_the_day_it_is_decided():
    got = postmortem(
        DEPARTED, DEPARTED_TIMELINE, date(2024, 1, 1), date(2024, 7, 1), lookback_days=90, early_weeks=4
    )
    cols = ["client_id", "left_at", "lists_before", "first_flagged_at", "weeks_flagged_before",
            "flagged_after_leaving", "verdict"]  # fmt: skip
    assert got.select(cols).rows() == [
        # left 01-15, two weeks after the first list: no list could warn 4 weeks ahead (by 04-14, the day it
        # was decided, it read "missed")
        ("c", D(2024, 1, 15), 14, None, None, False, NOT_REVIEWED),
        # red from 03-04, three weeks after its last order (02-10): late, not "9 weeks early" against 05-10
        ("a", D(2024, 2, 10), 14, date(2024, 3, 4), -4, True, CAUGHT_LATE),
        ("b", D(2024, 3, 1), 14, date(2024, 1, 29), 4, False, CAUGHT_EARLY),  # 32 days before it left
    ]
    assert review_lead(got, date(2024, 1, 1), date(2024, 7, 1), 4) == (
        "3 churns from 2024-01-01 to 2024-07-01; 2 had lists in the weeks before them, from early enough to "
        "warn. Of those the list flagged 2 (100%) in yellow or red before the churn was decided (1 early, 1 late) "
        "and missed 0. 1 of the caught were first flagged only after they had left (after their last order or "
        "activity, before the churn was decided): no early warning (counted late)."
    )
    # the period is that of the departures: a churn decided in it that left before it is not its churn
    spring = postmortem(
        DEPARTED, DEPARTED_TIMELINE, date(2024, 2, 1), date(2024, 7, 1), lookback_days=90, early_weeks=4
    )
    assert spring.get_column("client_id").to_list() == ["a", "b"]


def test_the_lead_of_unreviewed_departures_says_which_were_flagged_only_after_they_left():
    # the lists begin 01-01: with 10 weeks of warning asked none of the three can be reviewed
    got = postmortem(
        DEPARTED, DEPARTED_TIMELINE, date(2024, 1, 1), date(2024, 7, 1), lookback_days=90, early_weeks=10
    )
    assert review_lead(got, date(2024, 1, 1), date(2024, 7, 1), 10) == (
        "3 churns from 2024-01-01 to 2024-07-01; none is reviewed yet: the first list came fewer than 10 weeks "
        "before each of them, too soon to warn early (a churn is reviewed once the lists began at least 10 weeks "
        "before it). What the lists did show: all 3 were on 14 lists before the churn was decided, 2 in yellow or "
        "red on at least one (2 red; 1 only after they had left), 1 green on every one."
    )


@pytest.mark.parametrize(
    ("first_list", "tail"),
    [
        # a list of 01-20 speaks to 02-19, known by 03-01: a period ending 02-01 reads it
        (date(2024, 1, 20), "A period ending on 2024-02-01 or earlier (--to) shows it."),
        (None, "A period ending on 2024-02-01 or earlier (--to) shows it."),
        # the oldest list (02-10) speaks to 03-11, past 03-01: no --to shows it (--to 2024-02-01 was refused,
        # 'must be after --from 2024-02-10', and no list before it could be read)
        (
            date(2024, 2, 10),
            "No list written so far can show it: the oldest, of 2024-02-10, speaks of the 30 days up to "
            "2024-03-11, and the data knows churns up to 2024-03-01; run it again once it knows them up to "
            "2024-03-11.",
        ),
    ],
)
def test_who_stays_is_shown_by_a_period_only_when_a_written_list_allows_it(first_list, tail) -> None:
    from churnml.reporting.postmortem import stayers_unknown_sentence

    sentence = stayers_unknown_sentence(date(2024, 3, 1), 30, date(2024, 3, 1), first_list=first_list)
    assert sentence.endswith(tail)


@pytest.mark.parametrize(
    ("start", "end", "lists", "expected"),
    [
        (None, None, ["2026-01-05", "2026-02-02", "notes"], (date(2026, 1, 5), date(2026, 3, 1))),
        (None, None, [], (date(2025, 12, 1), date(2026, 3, 1))),  # one horizon (90 days) before the data end
        (date(2026, 2, 1), None, ["2026-01-05"], (date(2026, 2, 1), date(2026, 3, 1))),
        (None, date(2026, 2, 1), ["2026-01-05"], (date(2026, 1, 5), date(2026, 2, 1))),
    ],
)
def test_review_period_as_asked_else_from_the_oldest_list_to_the_data_end(
    tmp_path, start, end, lists, expected
):
    from churnml.jobs.reports import review_period

    dirs = [tmp_path / name for name in lists]
    assert review_period(start, end, dirs, date(2026, 3, 1), 90, tmp_path) == expected


@pytest.mark.parametrize(
    ("start", "end", "lists", "message"),
    [
        (None, None, ["2026-03-01"], "nothing to review yet: the oldest list under"),
        (date(2026, 2, 1), date(2026, 2, 1), [], "--to 2026-02-01 must be after --from 2026-02-01"),
        (None, date(2026, 1, 1), ["2026-01-05"], "--to 2026-01-01 must be after --from 2026-01-05"),
    ],
)
def test_review_period_refuses_an_empty_one(tmp_path, start, end, lists, message):
    from churnml.jobs.common import UserError
    from churnml.jobs.reports import review_period

    with pytest.raises(UserError, match=message):
        review_period(start, end, [tmp_path / name for name in lists], date(2026, 3, 1), 90, tmp_path)
