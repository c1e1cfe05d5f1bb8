"""Labels: snapshot grid, churn dates by source, active spine, labeled spine (hand-built datasets)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from churnml.config import LabelConfig, SnapshotsConfig
from churnml.contract.dataset import Dataset
from churnml.contract.schemas import Churns, Clients, Events, Payments, Subscriptions, Table
from churnml.contract.validation import ContractError
from churnml.labels import (
    CHURNED_AT,
    LEFT_AT,
    active_spine,
    activity_times,
    auto_label_source,
    churn_dates,
    fitting_horizon,
    label_lag_days,
    labeled_spine,
    order_placed_at,
    orders,
    resolved_label,
    returns_after_churns,
    snapshot_grid,
    unknown_activity_events_note,
)

D = datetime
DT = pl.Datetime("us")


def dataset(as_of: datetime, **tables: pl.DataFrame) -> Dataset:
    typed = {Table(name): frame for name, frame in tables.items()}
    return Dataset(tables=typed, name="t", start=D(2024, 1, 1), as_of=as_of)


def clients(*rows: tuple[str, datetime]) -> pl.DataFrame:
    return pl.DataFrame(
        {Clients.CLIENT_ID: [r[0] for r in rows], Clients.CREATED_AT: [r[1] for r in rows]},
        schema={Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: DT},
    )


def subscriptions(*rows: tuple[str, datetime, datetime]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            Subscriptions.CLIENT_ID: [r[0] for r in rows],
            Subscriptions.START_DATE: [r[1] for r in rows],
            Subscriptions.END_DATE: [r[2] for r in rows],
            Subscriptions.MRR: [100.0] * len(rows),
        },
        schema={
            Subscriptions.CLIENT_ID: pl.String,
            Subscriptions.START_DATE: DT,
            Subscriptions.END_DATE: DT,
            Subscriptions.MRR: pl.Float64,
        },
    )


def events(*rows: tuple[str, datetime]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            Events.CLIENT_ID: [r[0] for r in rows],
            Events.TS: [r[1] for r in rows],
            Events.EVENT: ["x"] * len(rows),
        },
        schema={Events.CLIENT_ID: pl.String, Events.TS: DT, Events.EVENT: pl.String},
    )


def payments(*rows: tuple[str, datetime | None, float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            Payments.CLIENT_ID: [r[0] for r in rows],
            Payments.AMOUNT: [r[2] for r in rows],
            Payments.PAID_AT: [r[1] for r in rows],
        },
        schema={Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
    )


def rows(frame: pl.DataFrame) -> list[tuple]:
    return [tuple(r) for r in frame.iter_rows()]


# ----------------------------------------------------------------------------------------------
# snapshot grid
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cfg", "start", "end", "first", "last", "n"),
    [
        # 2024-01-03 + 7 days = Wed 01-10 -> Monday 01-15; last data day Thu 02-29 -> Monday 03-04.
        (
            SnapshotsConfig(min_history_days=7),
            D(2024, 1, 3),
            D(2024, 3, 1),
            date(2024, 1, 15),
            date(2024, 3, 4),
            8,
        ),
        # data_end as a timestamp inside the last day (Thu 02-29 15:00) gives the same last snapshot.
        (
            SnapshotsConfig(min_history_days=7),
            D(2024, 1, 3),
            D(2024, 2, 29, 15),
            date(2024, 1, 15),
            date(2024, 3, 4),
            8,
        ),
        # last data day is a Sunday -> the Monday right after (the as-of day itself).
        (
            SnapshotsConfig(min_history_days=0),
            D(2024, 1, 1),
            D(2024, 1, 15),
            date(2024, 1, 1),
            date(2024, 1, 15),
            3,
        ),
        # last data day is a Monday -> next Monday (a snapshot on that Monday would miss its data).
        (
            SnapshotsConfig(min_history_days=0),
            D(2024, 1, 1),
            D(2024, 1, 16),
            date(2024, 1, 1),
            date(2024, 1, 22),
            4,
        ),
        # explicit start/end snap to the weekday (Wednesday = 2), inwards.
        (
            SnapshotsConfig(weekday=2, start=date(2024, 1, 1), end=date(2024, 2, 5)),
            D(2023, 1, 1),
            D(2025, 1, 1),
            date(2024, 1, 3),
            date(2024, 1, 31),
            5,
        ),
    ],
)
def test_snapshot_grid(cfg, start, end, first, last, n):
    grid = snapshot_grid(cfg, start, end)
    assert (grid[0], grid[-1], len(grid)) == (first, last, n)
    assert all(d.weekday() == cfg.weekday for d in grid)
    assert all((b - a).days == 7 for a, b in itertools.pairwise(grid))


def test_snapshot_grid_empty_is_a_clear_error():
    with pytest.raises(ValueError, match="min_history_days"):
        snapshot_grid(SnapshotsConfig(min_history_days=91), D(2024, 1, 1), D(2024, 2, 1))


# ----------------------------------------------------------------------------------------------
# subscriptions source
# ----------------------------------------------------------------------------------------------
SUBS_CFG = LabelConfig(source="subscriptions", horizon_days=30, grace_days=30)
SUBS_DATA = dataset(
    D(2024, 7, 1),
    clients=clients(
        ("a", D(2024, 1, 1)),
        ("b", D(2024, 1, 1)),
        ("c", D(2024, 1, 1)),
        ("d", D(2024, 1, 1)),
        ("e", D(2024, 5, 1)),
    ),
    subscriptions=subscriptions(
        ("a", D(2024, 1, 1), D(2024, 2, 1)),  # re-signup 9 days later: within grace, one spell
        ("a", D(2024, 2, 10), D(2024, 3, 1)),
        ("b", D(2024, 1, 1), D(2024, 2, 1)),  # 60-day gap: churn at 02-01, back at 04-01
        ("b", D(2024, 4, 1), D(2024, 5, 1)),
        ("c", D(2024, 1, 1), D(2024, 6, 15)),  # ends 06-15, grace runs past data end: unknown
        ("d", D(2024, 1, 1), D(2024, 6, 1)),  # add-on inside the main term; 06-01 + 30 = data end
        ("d", D(2024, 3, 1), D(2024, 4, 1)),
    ),
)
SNAPS = [
    date(2024, 1, 1),
    date(2024, 1, 15),
    date(2024, 2, 5),
    date(2024, 3, 4),
    date(2024, 4, 8),
    date(2024, 6, 3),
]


def test_subscription_churn_dates():
    got = churn_dates(SUBS_DATA, SUBS_CFG)
    assert got.schema == pl.Schema({Churns.CLIENT_ID: pl.String, Churns.CHURNED_AT: DT, LEFT_AT: DT})
    # a term's end is the departure itself
    assert rows(got) == [
        ("a", D(2024, 3, 1), D(2024, 3, 1)),
        ("b", D(2024, 2, 1), D(2024, 2, 1)),
        ("b", D(2024, 5, 1), D(2024, 5, 1)),
        ("d", D(2024, 6, 1), D(2024, 6, 1)),
    ]


def test_subscription_labeled_spine():
    got = labeled_spine(SUBS_DATA, SNAPS, SUBS_CFG)
    assert got.schema == pl.Schema(
        {"client_id": pl.String, "snapshot": pl.Date, "label": pl.Int8, "churned_at": DT}
    )
    j15, f5, m4, a8, j3 = SNAPS[1:]
    expected = [
        ("a", j15, 0, D(2024, 3, 1)),
        ("a", f5, 1, D(2024, 3, 1)),  # churns 03-01, inside [02-05, 03-06); the 02-01 gap was bridged
        ("a", m4, 1, D(2024, 3, 1)),  # term ended 03-01 but grace runs to 03-31: still in, label 1
        ("b", j15, 1, D(2024, 2, 1)),
        ("b", f5, 1, D(2024, 2, 1)),  # in grace at 02-05 (churn known only 03-02)
        ("b", a8, 1, D(2024, 5, 1)),  # came back on 04-01: active again, churns again 05-01
        ("c", j15, 0, None),
        ("c", f5, 0, None),
        ("c", m4, 0, None),
        ("c", a8, 0, None),
        ("c", j3, None, None),  # 06-03 + 30 + grace 30 is past the data end: scoring row
        ("d", j15, 0, D(2024, 6, 1)),
        ("d", f5, 0, D(2024, 6, 1)),
        ("d", m4, 0, D(2024, 6, 1)),
        ("d", a8, 0, D(2024, 6, 1)),
        ("d", j3, None, D(2024, 6, 1)),  # churn 06-01 known on 07-01 (= data end): decided
        # e, created 05-01 without any term (a lead, a trial that never paid): never a customer
    ]
    assert rows(got) == expected
    spine = active_spine(SUBS_DATA, SNAPS, SUBS_CFG)
    assert rows(spine) == [(r[0], r[1]) for r in expected]


# ----------------------------------------------------------------------------------------------
# inactivity source
# ----------------------------------------------------------------------------------------------
INACT_CFG = LabelConfig(source="inactivity", horizon_days=30, inactivity_days=30)
INACT_DATA = dataset(
    D(2024, 7, 1),
    clients=clients(("x", D(2024, 1, 1)), ("y", D(2024, 1, 1)), ("z", D(2024, 1, 1))),
    events=events(("x", D(2024, 1, 10)), ("x", D(2024, 1, 20)), ("x", D(2024, 3, 15))),
    payments=payments(
        ("x", D(2024, 3, 20), 100.0),
        ("x", D(2024, 6, 1), -50.0),  # a refund is not activity
        ("y", None, 80.0),  # unpaid invoice is not activity
        ("y", D(2024, 6, 15), 80.0),  # churn would be 07-15: after the data end, undecided
    ),
)


def test_inactivity_churn_dates():
    got = churn_dates(INACT_DATA, INACT_CFG)
    # churned_at = last activity of a run + inactivity_days (decided then); left_at = that last activity
    assert rows(got) == [("x", D(2024, 2, 19), D(2024, 1, 20)), ("x", D(2024, 4, 19), D(2024, 3, 20))]


def test_inactivity_labeled_spine():
    snaps = [
        date(2024, 1, 15),
        date(2024, 2, 12),
        date(2024, 2, 26),
        date(2024, 3, 18),
        date(2024, 4, 15),
        date(2024, 4, 22),
        date(2024, 6, 17),
    ]
    got = labeled_spine(INACT_DATA, snaps, INACT_CFG)
    assert rows(got) == [
        # label: no order or event in [s, s + 30 days); churned_at: when the client leaves the active set
        ("x", date(2024, 1, 15), 0, D(2024, 2, 19)),  # an event on 01-20
        ("x", date(2024, 2, 12), 1, D(2024, 2, 19)),  # next activity 03-15, after 02-12 + 30 = 03-13
        # 02-26: 37 days without activity -> absent; back on 03-15
        ("x", date(2024, 3, 18), 0, D(2024, 4, 19)),  # an order on 03-20
        ("x", date(2024, 4, 15), 1, D(2024, 4, 19)),  # nothing after (the 06-01 refund is no order)
        ("y", date(2024, 6, 17), None, None),  # 06-17 + 30 is past the data end
        # z never had any activity: never active
    ]


@pytest.mark.parametrize("placeholder", [False, True])
def test_a_placeholder_date_does_not_merge_clients_runs(placeholder):
    # seam-a and seam-b are active every 14 days from 01-06 to 05-26; seam-z has one event on 1753-01-01
    # (SQL Server's minimum date), which once overflowed a key packing client and time into one integer
    fortnights = [D(2025, 1, 6) + timedelta(weeks=2 * k) for k in range(11)]
    log = [(c, t) for c in ("seam-a", "seam-b") for t in fortnights]
    data = dataset(
        D(2025, 9, 1),
        clients=clients(*((c, D(2025, 1, 1)) for c in ("seam-a", "seam-b", "seam-z"))),
        events=events(*log, *([("seam-z", D(1753, 1, 1))] if placeholder else [])),
    )
    snaps = [date(2025, 2, 3) + timedelta(weeks=2 * k) for k in range(10)]  # 02-03 to 06-09
    cfg = LabelConfig(source="inactivity", horizon_days=28, inactivity_days=28)
    # active at every snapshot; 06-09 has no activity after it: label 1; they leave on 05-26 + 28 = 06-23
    expected = [
        (c, s, int(s == date(2025, 6, 9)), D(2025, 6, 23)) for c in ("seam-a", "seam-b") for s in snaps
    ]
    assert rows(labeled_spine(data, snaps, cfg)) == expected


@pytest.mark.parametrize(
    ("b_first", "b_snapshots"),
    [
        (D(2025, 1, 27), [date(2025, 2, 10), date(2025, 2, 24)]),  # 7 days after a's last activity
        (D(2025, 1, 8), [date(2025, 1, 13), date(2025, 1, 27)]),  # before a's last activity
    ],
)
def test_one_clients_run_ends_where_the_next_clients_begins(b_first, b_snapshots):
    data = dataset(
        D(2025, 6, 1),
        clients=clients(("a", D(2025, 1, 1)), ("b", D(2025, 1, 1))),
        events=events(("a", D(2025, 1, 6)), ("a", D(2025, 1, 20)), ("b", b_first)),
    )
    snaps = [date(2025, 1, 13), date(2025, 1, 27), date(2025, 2, 10), date(2025, 2, 24)]
    got = active_spine(data, snaps, LabelConfig(source="inactivity", inactivity_days=28))
    # a: active after 01-06 until 01-20 + 28 = 02-17; b: after its only event until 28 days later
    a_snapshots = [date(2025, 1, 13), date(2025, 1, 27), date(2025, 2, 10)]
    assert rows(got) == [("a", s) for s in a_snapshots] + [("b", s) for s in b_snapshots]


# ----------------------------------------------------------------------------------------------
# churns source
# ----------------------------------------------------------------------------------------------
def churns(*rows: tuple[str, datetime]) -> pl.DataFrame:
    return pl.DataFrame(
        {Churns.CLIENT_ID: [r[0] for r in rows], Churns.CHURNED_AT: [r[1] for r in rows]},
        schema={Churns.CLIENT_ID: pl.String, Churns.CHURNED_AT: DT},
    )


CHURNS_CFG = LabelConfig(source="churns", horizon_days=30)


def payments_with_status(*rows: tuple[str, datetime | None, float, str | None]) -> pl.DataFrame:
    return payments(*(r[:3] for r in rows)).with_columns(
        pl.Series(Payments.STATUS, [r[3] for r in rows], dtype=pl.String)
    )


@pytest.mark.parametrize(
    ("status", "amount", "activity"),
    [
        ("paid", 50.0, True),
        (None, 50.0, True),  # no status: a paid row is an order
        ("open", 50.0, True),  # paid_at set: the payments features count it paid too
        ("failed", 50.0, False),  # a declined card or a dunning retry: no money moved
        ("refunded", 50.0, False),  # money going back, whatever the sign it is written with
        ("refunded", -50.0, False),
        ("paid", -50.0, False),  # a refund row
    ],
)
def test_only_an_order_is_activity(status, amount, activity):
    data = dataset(
        D(2025, 7, 1),
        clients=clients(("a", D(2025, 1, 1))),
        payments=payments_with_status(("a", D(2025, 2, 3), amount, status)),
    )
    assert rows(activity_times(data)) == ([("a", D(2025, 2, 3))] if activity else [])


# one real payment on 01-06, then a payment-retry log of failed attempts on 02-03, 03-03 and 04-07
RETRIES = payments_with_status(
    ("a", D(2025, 1, 6), 50.0, "paid"),
    ("a", D(2025, 2, 3), 50.0, "failed"),
    ("a", D(2025, 3, 3), 50.0, "failed"),
    ("a", D(2025, 4, 7), 50.0, "failed"),
)


def test_failed_payments_neither_keep_a_shop_client_active_nor_label_it_staying():
    data = dataset(D(2025, 7, 1), clients=clients(("a", D(2025, 1, 1))), payments=RETRIES)
    snaps = [date(2025, 1, 20), date(2025, 2, 17), date(2025, 3, 17), date(2025, 4, 14)]
    cfg = LabelConfig(source="inactivity", horizon_days=28, inactivity_days=28)
    # the only order is on 01-06: gone 28 days later (02-03), so only 01-20 is a row, and it churns
    assert rows(labeled_spine(data, snaps, cfg)) == [("a", date(2025, 1, 20), 1, D(2025, 2, 3))]


def test_a_failed_payment_after_a_churn_record_is_no_return():
    data = dataset(
        D(2025, 7, 1),
        clients=clients(("a", D(2025, 1, 1))),
        payments=RETRIES,
        churns=churns(("a", D(2025, 2, 10))),
    )
    recorded = churns(("a", D(2025, 2, 10))).rename({Churns.CHURNED_AT: CHURNED_AT})
    assert rows(returns_after_churns(data.tables, recorded, grace_days=14)) == [("a", D(2025, 2, 10), None)]
    snaps = [date(2025, 2, 3), date(2025, 2, 17), date(2025, 3, 17), date(2025, 4, 14), date(2025, 5, 12)]
    got = active_spine(data, snaps, LabelConfig(source="churns", grace_days=14))
    assert rows(got) == [("a", date(2025, 2, 3))]


def test_churns_table_with_return_by_activity():
    data = dataset(
        D(2024, 7, 1),
        clients=clients(("p", D(2024, 1, 1)), ("q", D(2024, 1, 1))),
        churns=churns(("p", D(2024, 2, 1)), ("p", D(2024, 5, 1)), ("q", D(2024, 3, 1))),
        events=events(("p", D(2024, 1, 5)), ("p", D(2024, 3, 10)), ("q", D(2024, 1, 5))),
    )
    # a churns record is its own departure
    assert rows(churn_dates(data, CHURNS_CFG)) == [
        ("p", D(2024, 2, 1), D(2024, 2, 1)),
        ("p", D(2024, 5, 1), D(2024, 5, 1)),
        ("q", D(2024, 3, 1), D(2024, 3, 1)),
    ]
    snaps = [date(2024, 1, 8), date(2024, 2, 5), date(2024, 3, 11), date(2024, 4, 8), date(2024, 6, 3)]
    assert rows(labeled_spine(data, snaps, CHURNS_CFG)) == [
        ("p", date(2024, 1, 8), 1, D(2024, 2, 1)),
        # 02-05 churned; 03-10 event = return, so from 03-11 active again
        ("p", date(2024, 3, 11), 0, D(2024, 5, 1)),
        ("p", date(2024, 4, 8), 1, D(2024, 5, 1)),
        ("q", date(2024, 1, 8), 0, D(2024, 3, 1)),
        ("q", date(2024, 2, 5), 1, D(2024, 3, 1)),
    ]


@pytest.mark.parametrize(
    ("with_events", "returned_at", "spine"),
    [
        # beside an events table, an order 5 weeks after the churn is no return (billed in arrears, a late
        # collection): only a new event would be
        (True, None, []),
        # a log of orders alone: that order is the return
        (False, D(2025, 3, 17), [date(2025, 3, 24), date(2025, 4, 21)]),
    ],
)
def test_without_terms_a_churned_client_returns_by_an_event_or_only_without_events_an_order(
    with_events, returned_at, spine
):
    logins = {"events": events(("a", D(2025, 1, 6)))} if with_events else {}
    data = dataset(
        D(2025, 7, 1),
        clients=clients(("a", D(2025, 1, 1))),
        payments=payments(("a", D(2025, 1, 6), 50.0), ("a", D(2025, 3, 17), 50.0)),
        churns=churns(("a", D(2025, 2, 10))),
        **logins,
    )
    recorded = churns(("a", D(2025, 2, 10))).rename({Churns.CHURNED_AT: CHURNED_AT})
    assert rows(returns_after_churns(data.tables, recorded, grace_days=14)) == [
        ("a", D(2025, 2, 10), returned_at)
    ]
    got = active_spine(
        data, [date(2025, 3, 24), date(2025, 4, 21)], LabelConfig(source="churns", grace_days=14)
    )
    assert rows(got) == [("a", s) for s in spine]


@pytest.mark.parametrize(
    ("after", "back_on"),
    [
        (timedelta(seconds=5), None),  # the cancellation flow's own "Cancellation Confirmation" event
        (timedelta(days=12), None),  # a last login to export its data
        (timedelta(days=30), None),  # the grace's last day: still its wind-down
        (timedelta(days=31), date(2024, 4, 8)),  # a month on: back
    ],
)
def test_activity_right_after_a_churn_record_is_its_wind_down_not_a_return(after, back_on):
    churned = D(2024, 3, 1, 10)
    data = dataset(
        D(2024, 7, 1),
        clients=clients(("p", D(2024, 1, 1))),
        churns=churns(("p", churned)),
        events=events(("p", D(2024, 1, 5)), ("p", churned + after)),
    )
    snaps = [date(2024, 2, 5), date(2024, 3, 4), date(2024, 4, 8), date(2024, 5, 6)]
    cfg = LabelConfig(source="churns", horizon_days=30, grace_days=30)
    got = [s for _, s in rows(active_spine(data, snaps, cfg))]
    assert got == [date(2024, 2, 5)] + ([back_on, date(2024, 5, 6)] if back_on else [])


@pytest.mark.parametrize(
    ("source", "recorded", "returned_at"),
    [
        ("subscriptions", False, D(2024, 9, 1)),  # a new term only
        ("auto", True, D(2024, 9, 1)),  # auto: the subscriptions table's rule
        ("churns", True, D(2024, 9, 1)),  # with a subscriptions table, a new term
        ("inactivity", False, D(2024, 4, 10)),  # an order, terms or not
        ("inactivity", True, D(2024, 5, 10)),  # after a churns record, the order of 04-10 is its wind-down
        (
            "mixed",
            False,
            D(2024, 5, 10),
        ),  # 04-10 falls in the spell's grace (its term's order); 05-10 is back
        ("mixed", True, D(2024, 5, 10)),
    ],
)
def test_the_return_rule_follows_the_label_source(source, recorded, returned_at):
    """a's term ends on 04-01 (grace 30 days); it orders on 04-10 and 05-10, and starts a new term on 09-01."""
    data = dataset(
        D(2025, 1, 1),
        clients=clients(("a", D(2024, 1, 1))),
        subscriptions=subscriptions(("a", D(2024, 1, 1), D(2024, 4, 1)), ("a", D(2024, 9, 1), D(2025, 3, 1))),
        payments=payments(
            ("a", D(2024, 2, 1), 20.0), ("a", D(2024, 4, 10), 20.0), ("a", D(2024, 5, 10), 20.0)
        ),
    )
    left = pl.DataFrame(
        {"client_id": ["a"], CHURNED_AT: [D(2024, 4, 1)]}, schema={"client_id": pl.String, CHURNED_AT: DT}
    )
    got = returns_after_churns(data.tables, left, 30, source=source, recorded=recorded)
    assert rows(got) == [("a", D(2024, 4, 1), returned_at)]


def test_churns_table_return_by_new_term_when_subscriptions_exist():
    data = dataset(
        D(2024, 7, 1),
        clients=clients(("p", D(2024, 1, 1))),
        churns=churns(("p", D(2024, 2, 1))),
        subscriptions=subscriptions(("p", D(2024, 1, 1), D(2024, 2, 1)), ("p", D(2024, 4, 1), D(2024, 9, 1))),
        events=events(("p", D(2024, 2, 20))),  # an event alone does not bring the client back here
    )
    snaps = [date(2024, 1, 8), date(2024, 3, 4), date(2024, 4, 8)]
    assert rows(active_spine(data, snaps, CHURNS_CFG)) == [("p", date(2024, 1, 8)), ("p", date(2024, 4, 8))]


# the record's return by the label's rule (labels.returns_after_churns): under inactivity the event of 04-02,
# after the record's 10-day wind-down; under subscriptions a new term; under mixed a new term too (04-02 falls
# in the first term spell's grace: a subscriber's activity, no one-off buyer's return)
BACK_BY_TERM = [("g", date(2024, 5, 6), 0), ("g", date(2024, 6, 3), 0)]


@pytest.mark.parametrize(
    ("source", "back"),
    [
        ("inactivity", [("g", date(2024, 4, 8), 0), *BACK_BY_TERM]),
        ("subscriptions", BACK_BY_TERM),
        ("mixed", BACK_BY_TERM),
    ],
)
def test_a_churn_record_removes_the_client_until_it_comes_back(source, back):
    # g keeps ordering (monthly terms, an event each month) but its churns record says it left on
    # 03-10; it comes back with a new term and an event on 05-01 (and, under inactivity, the event of 04-02).
    data = dataset(
        D(2024, 8, 1),
        clients=clients(("g", D(2024, 1, 1))),
        subscriptions=subscriptions(("g", D(2024, 1, 1), D(2024, 4, 1)), ("g", D(2024, 5, 1), D(2024, 9, 1))),
        events=events(*[("g", D(2024, m, 2)) for m in range(1, 8)]),
        churns=churns(("g", D(2024, 3, 10))),
    )
    cfg = LabelConfig(source=source, horizon_days=35, inactivity_days=45, grace_days=10)
    snaps = [date(2024, 3, 4), date(2024, 3, 11), date(2024, 4, 8), date(2024, 5, 6), date(2024, 6, 3)]
    got = [(c, s, label) for c, s, label, _ in labeled_spine(data, snaps, cfg).iter_rows()]
    # the record on 03-10 falls in [03-04, 04-08); from 03-11 gone until the return
    assert got == [("g", date(2024, 3, 4), 1), *back]


@pytest.mark.parametrize(
    ("source", "table"), [("churns", "churns"), ("subscriptions", "subscriptions"), ("inactivity", "events")]
)
def test_missing_source_table_is_a_clear_error(source, table):
    data = dataset(D(2024, 7, 1), clients=clients(("a", D(2024, 1, 1))))
    with pytest.raises(ContractError, match=f"table '{table}'.*(label.source|inactivity)"):
        churn_dates(data, LabelConfig(source=source))


@pytest.mark.parametrize(
    ("tables", "source"),
    [
        ({Table.CLIENTS, Table.SUBSCRIPTIONS, Table.CHURNS, Table.EVENTS}, "subscriptions"),
        ({Table.CLIENTS, Table.SUBSCRIPTIONS}, "subscriptions"),
        ({Table.CLIENTS, Table.CHURNS, Table.EVENTS}, "churns"),
        ({Table.CLIENTS, Table.PAYMENTS}, "inactivity"),
        ({Table.CLIENTS, Table.EVENTS, Table.TICKETS}, "inactivity"),
    ],
)
def test_auto_label_source_follows_the_tables(tables: set, source: str) -> None:
    assert auto_label_source(tables)[0] == source
    assert resolved_label(LabelConfig(source="auto"), tables).source == source
    assert resolved_label(LabelConfig(source="churns"), tables).source == "churns"  # a set source wins


def test_auto_labels_a_shop_log_like_inactivity() -> None:
    """A dataset with orders only: ``auto`` gives the labels of ``inactivity``, row for row."""
    data = dataset(
        D(2024, 7, 1),
        clients=clients(("a", D(2024, 1, 1)), ("b", D(2024, 1, 1))),
        payments=pl.DataFrame(
            {
                Payments.CLIENT_ID: ["a", "a", "b", "b"],
                Payments.AMOUNT: [10.0, 12.0, 5.0, 7.0],
                Payments.PAID_AT: [D(2024, 1, 5), D(2024, 4, 20), D(2024, 1, 8), D(2024, 1, 29)],
            },
            schema={Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
        ),
    )
    snaps = [date(2024, 2, 5), date(2024, 3, 4)]
    auto = labeled_spine(data, snaps, LabelConfig(source="auto", horizon_days=60))
    assert auto.equals(labeled_spine(data, snaps, LabelConfig(source="inactivity", horizon_days=60)))
    # a: back on 04-20, after the 60 days from 02-05 (until 04-05): churned, then active again in time
    assert auto.select("client_id", "snapshot", "label").rows() == [
        ("a", date(2024, 2, 5), 1),
        ("a", date(2024, 3, 4), 0),
        ("b", date(2024, 2, 5), 1),
        ("b", date(2024, 3, 4), 1),
    ]


def test_two_churns_known_at_the_same_instant_give_the_same_label_every_run() -> None:
    """A term ending 02-03 (known 02-13, after the 10-day grace) and a churns record dated 02-13 are two
    churn changes of one instant: the earliest date wins, run after run (found by the point-in-time
    property below, which failed on about half of its runs)."""
    data = dataset(
        D(2024, 7, 1),
        clients=clients(("a", D(2024, 1, 1))),
        subscriptions=subscriptions(("a", D(2024, 1, 1), D(2024, 2, 3))),
        churns=churns(("a", D(2024, 2, 13))),
    )
    cfg = LabelConfig(source="subscriptions", horizon_days=21, grace_days=10)
    runs = {
        tuple(labeled_spine(data, [date(2024, 1, 15)], cfg).select("label", "churned_at").row(0))
        for _ in range(12)
    }
    assert runs == {(1, D(2024, 2, 3))}  # 02-03 falls in [01-15, 02-05)


WEEKLY = [date(2024, 1, 8) + timedelta(weeks=k) for k in range(6)]  # 01-08 .. 02-12, Mondays


@pytest.mark.parametrize(
    ("snapshots", "data_end", "lag", "fits"),
    [
        (WEEKLY, D(2024, 3, 1), 0, 32),  # the 4th snapshot is 01-29: 32 days to 03-01
        (WEEKLY, D(2024, 3, 1), 10, 22),
        (WEEKLY, D(2024, 2, 10), 0, 12),  # a short horizon still fits
        (WEEKLY[:3], D(2024, 6, 1), 0, None),  # fewer than 4 snapshots
        (WEEKLY, D(2024, 2, 4), 0, None),  # 6 days after the 4th snapshot
    ],
)
def test_fitting_horizon_labels_the_first_four_snapshots(snapshots, data_end, lag, fits) -> None:
    assert fitting_horizon(snapshots, data_end, lag) == fits


def test_the_fitting_horizon_is_the_longest_that_labels_the_fourth_snapshot() -> None:
    data = dataset(
        D(2024, 3, 1),
        clients=clients(("a", D(2024, 1, 1))),
        events=events(*[("a", D(2024, 1, 2) + timedelta(days=7 * k)) for k in range(8)]),
    )
    fits = fitting_horizon(WEEKLY, data.as_of, 0)
    labeled = {
        h: labeled_spine(data, WEEKLY, LabelConfig(source="inactivity", horizon_days=h))
        .filter(pl.col("label").is_not_null())
        .height
        for h in (fits, fits + 1)
    }
    assert labeled == {fits: 4, fits + 1: 3}


def test_the_label_lag_needs_a_resolved_source() -> None:
    with pytest.raises(ValueError, match=r"label\.source 'auto' is not resolved"):
        label_lag_days(LabelConfig(source="auto"))


# ----------------------------------------------------------------------------------------------
# properties
# ----------------------------------------------------------------------------------------------
BASE = D(2024, 1, 1)
N_DAYS = 120


@st.composite
def activity_logs(draw):
    n_clients = draw(st.integers(1, 4))
    created = [draw(st.integers(0, 60)) for _ in range(n_clients)]
    acts = [
        (f"c{i}", day)
        for i in range(n_clients)
        for day in draw(st.lists(st.integers(created[i], N_DAYS - 1), max_size=8))
    ]
    return created, acts


@settings(max_examples=60, deadline=None)
@given(log=activity_logs(), inactivity=st.integers(3, 30), horizon=st.integers(1, 30))
def test_inactivity_matches_brute_force(log, inactivity, horizon):
    created, acts = log
    data = dataset(
        BASE + timedelta(days=N_DAYS),
        clients=clients(*[(f"c{i}", BASE + timedelta(days=c)) for i, c in enumerate(created)]),
        events=events(*[(cid, BASE + timedelta(days=d)) for cid, d in acts]),
    )
    cfg = LabelConfig(source="inactivity", inactivity_days=inactivity, horizon_days=horizon)
    snaps = [BASE.date() + timedelta(days=d) for d in range(0, N_DAYS + 7, 7)]
    got = labeled_spine(data, snaps, cfg)

    expected = []
    for i, c in enumerate(created):
        days = {d for cid, d in acts if cid == f"c{i}"}
        for snap in snaps:
            s = (snap - BASE.date()).days
            if not (c < s and any(s - inactivity <= a < s for a in days)):
                continue
            # the standard shop label: no activity at all in [s, s + horizon)
            label = None if s + horizon > N_DAYS else int(not any(s <= a < s + horizon for a in days))
            expected.append((f"c{i}", snap, label))
    assert [(r[0], r[1], r[2]) for r in got.iter_rows()] == sorted(expected)


@settings(max_examples=40, deadline=None)
@given(
    terms=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]), st.integers(0, 100), st.integers(1, 60), st.integers(0, 60)
        ),
        min_size=1,
        max_size=10,
    ),
    grace=st.integers(0, 20),
)
def test_subscription_spine_is_one_row_per_client_snapshot_after_creation(terms, grace):
    created = {cid: min(t[1] for t in terms if t[0] == cid) for cid in {t[0] for t in terms}}
    data = dataset(
        BASE + timedelta(days=150),
        clients=clients(*[(cid, BASE + timedelta(days=d)) for cid, d in sorted(created.items())]),
        subscriptions=subscriptions(
            *[
                (cid, BASE + timedelta(days=s), BASE + timedelta(days=s + length))
                for cid, s, length, _ in terms
            ]
        ),
    )
    snaps = [BASE.date() + timedelta(days=d) for d in range(0, 160, 7)]
    got = labeled_spine(data, snaps, LabelConfig(source="subscriptions", grace_days=grace, horizon_days=14))
    assert got.select("client_id", "snapshot").is_duplicated().sum() == 0
    for cid, snap in got.select("client_id", "snapshot").iter_rows():
        assert BASE + timedelta(days=created[cid]) < datetime(snap.year, snap.month, snap.day)
    # a client is active at a snapshot iff no decided churn is the latest change before it:
    # in particular a client inside a term that covers the snapshot is always present.
    present = set(got.select("client_id", "snapshot").iter_rows())
    for cid, s, length, _ in terms:
        for snap in snaps:
            day = (snap - BASE.date()).days
            if s < day <= s + length and created[cid] < day:
                assert (cid, snap) in present
    # labels: 1 iff churned_at within the horizon, null only in the tail
    for _, snap, label, churned_at in got.iter_rows():
        sdt = datetime(snap.year, snap.month, snap.day)
        if sdt + timedelta(days=14 + grace) > BASE + timedelta(days=150):
            assert label is None
        else:
            assert label == int(churned_at is not None and churned_at < sdt + timedelta(days=14))


def _cut(data: Dataset, at: datetime) -> Dataset:
    """The dataset as it was known at ``at``: rows strictly before it (a term's end is known at its start)."""
    cols = {
        Table.CLIENTS: Clients.CREATED_AT,
        Table.SUBSCRIPTIONS: Subscriptions.START_DATE,
        Table.EVENTS: Events.TS,
        Table.CHURNS: Churns.CHURNED_AT,
    }
    tables = {t: f.filter(pl.col(cols[t]) < at) for t, f in data.tables.items()}
    return Dataset(tables=tables, name="cut", start=data.start, as_of=at)


@settings(max_examples=40, deadline=None)
@given(
    terms=st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 150), st.integers(1, 60)), max_size=8),
    acts=st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 199)), max_size=12),
    lost=st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 199)), max_size=3, unique=True),
    source=st.sampled_from(["churns", "subscriptions", "inactivity", "mixed"]),
    cut=st.integers(20, 200),
    listed=st.sampled_from([None, ("x",), ("login",)]),
)
def test_membership_and_labels_are_point_in_time(terms, acts, lost, source, cut, listed):
    """Cutting the data at any day T leaves membership unchanged for snapshots up to T and every label
    that is known by T unchanged."""
    day = lambda d: BASE + timedelta(days=d)  # noqa: E731
    data = dataset(
        day(200),
        clients=clients(("a", day(0)), ("b", day(10)), ("c", day(30))),
        subscriptions=subscriptions(*[(c, day(s), day(s + n)) for c, s, n in terms]),
        events=events(*[(c, day(d)) for c, d in acts]),
        churns=churns(*[(c, day(d)) for c, d in lost]),
    )
    cfg = LabelConfig(
        source=source, horizon_days=21, grace_days=10, inactivity_days=20, activity_events=listed
    )
    snaps = [BASE.date() + timedelta(days=d) for d in range(0, 207, 7)]
    full = labeled_spine(data, snaps, cfg)
    cut_at = day(cut)
    early = [s for s in snaps if datetime(s.year, s.month, s.day) <= cut_at]
    past = labeled_spine(_cut(data, cut_at), early, cfg)
    full_early = full.filter(pl.col("snapshot").is_in(early))
    assert rows(past.select("client_id", "snapshot")) == rows(full_early.select("client_id", "snapshot"))
    known = past.filter(pl.col("label").is_not_null())
    assert rows(known.select("client_id", "snapshot", "label")) == rows(
        full_early.join(known.select("client_id", "snapshot"), on=["client_id", "snapshot"]).select(
            "client_id", "snapshot", "label"
        )
    )


def test_hindsight_spine_counts_churn_from_churned_at():
    # b's term ended 02-01 (grace until 03-02): point-in-time it is still in at 02-05, in hindsight not.
    snaps = [date(2024, 2, 5), date(2024, 6, 3)]
    pit = active_spine(SUBS_DATA, snaps, SUBS_CFG)
    past = active_spine(SUBS_DATA, snaps, SUBS_CFG, hindsight=True)
    assert ("b", date(2024, 2, 5)) in rows(pit)
    assert rows(past) == [
        ("a", date(2024, 2, 5)),
        ("c", date(2024, 2, 5)),
        ("c", date(2024, 6, 3)),  # c's term ends 06-15: not churned
        ("d", date(2024, 2, 5)),  # e: no term, never active
    ]


def _terms(rows: list[tuple[str, str, str]], addon: list[bool] | None = None) -> pl.DataFrame:
    frame = pl.DataFrame(
        rows, schema={"client_id": pl.String, "start_date": pl.String, "end_date": pl.String}, orient="row"
    ).with_columns(pl.col("start_date", "end_date").str.to_datetime("%Y-%m-%d"))
    return frame if addon is None else frame.with_columns(pl.Series("is_addon", addon))


def test_a_table_of_whole_subscriptions_reads_as_such() -> None:
    from churnml.labels import unrenewed_terms_note

    end = datetime(2024, 12, 1)
    # monthly terms, renewed: each client's terms chain (a renewal starts the day the last one ends)
    chained = _terms(
        [(f"c{i}", f"2024-{m:02d}-01", f"2024-{m + 1:02d}-01") for i in range(3) for m in range(1, 11)]
    )
    assert unrenewed_terms_note(chained, end, 30, least=5) is None
    # one row per subscription: every ended row is a churn, none is renewed
    whole = _terms([(f"c{i}", "2024-01-01", f"2024-{i + 2:02d}-01") for i in range(6)])
    note = unrenewed_terms_note(whole, end, 30, least=5)
    assert note is not None and note.startswith(
        "subscriptions: of the 6 terms that ended by 2024-11-01, 0 were followed by a new term within "
        "label.grace_days (30): the table reads as one row per subscription, not per term."
    )
    assert unrenewed_terms_note(whole, end, 30, least=7) is None  # too few ended terms to tell
    # a renewal within the grace counts (here 10 days late); add-on rows are not terms to renew
    late = _terms([("a", "2024-01-01", "2024-02-01"), ("a", "2024-02-11", "2024-03-11")] * 1)
    assert unrenewed_terms_note(late, end, 30, least=1) is None
    assert unrenewed_terms_note(late, end, 5, least=1) is not None  # 10 days is past a 5-day grace
    addons = _terms(
        [
            ("a", "2024-01-01", "2024-02-01"),
            ("a", "2024-01-01", "2024-02-01"),
            ("a", "2024-02-01", "2024-03-01"),
        ],
        addon=[False, True, False],
    )
    assert unrenewed_terms_note(addons, end, 30, least=1) is None


# 20 students: a spring term ending 2024-06-28, and 10 of them back for the autumn term starting 2024-09-07 (71
# days later); the other 10 leave. SCHOOL_LATE: the autumn terms only.
_SPRING = [(f"s{i}", "2024-04-20", "2024-06-28") for i in range(20)]
_AUTUMN = [(f"s{i}", "2024-09-07", "2024-11-15") for i in range(10)]
# 10 clients back 71 days after terms ending on 10 different days (win-backs, no break)
_SPREAD = [(f"w{i}", f"2024-05-{i + 1:02d}", f"2024-06-{i + 1:02d}") for i in range(10)] + [
    (f"w{i}", f"2024-08-{i + 11:02d}", f"2024-10-{i + 11:02d}") for i in range(10)
]
_SCHOOL_NOTE = (
    "subscriptions: 10 of the 20 terms not renewed within label.grace_days (30) were followed by a new term of "
    "the client later, 10 of them after a term ending on 2024-06-28 (a new term 71 days later, the median): under "
    "the subscriptions label each is a churn and a return, and every client between two such terms reads as "
    "gone (off the weekly list, on the win-back list until its next term is booked). A break the business takes "
    "between terms (a school closed for the summer) is no churn: --set label.grace_days=77 covers 3 in 4 of "
    "these gaps (labels then wait label.horizon_days plus that grace)"
)


@pytest.mark.parametrize(
    ("rows", "grace", "least", "expected"),
    [
        (_SPRING + _AUTUMN, 30, 5, _SCHOOL_NOTE),  # a summer break: everyone back on one day, 71 days later
        (_SPRING + _AUTUMN, 77, 5, None),  # a grace covering the break: renewals, no note
        (_SPRING + _AUTUMN, 30, 11, None),  # fewer late returns than least
        (_SPRING, 30, 5, None),  # nobody came back: churns, no break
        (_SPREAD, 30, 5, None),  # returns after terms ending on 10 different days: win-backs, no break
    ],
)
def test_clients_back_together_after_the_grace_read_as_a_break(rows, grace, least, expected) -> None:
    """A school closed all summer: the default 30-day grace labels every student of the spring term a churn;
    validate and train say so, with the grace that covers the break (it said nothing: a list in August had
    'no client active at the as-of date', the model learned that every spring term churns)."""
    from churnml.labels import late_returns_note

    assert late_returns_note(_terms(rows), datetime(2024, 11, 1), grace, least=least) == expected


def test_a_subscriber_is_active_from_its_first_term_not_from_its_creation():
    """A client of the clients table is a customer from its first term's start (a lead signed up on
    01-01 that subscribes on 03-01), and never without a term (a lead that never subscribes)."""
    data = dataset(
        D(2024, 7, 1),
        clients=clients(("paying", D(2024, 1, 1)), ("lead", D(2024, 1, 1))),
        subscriptions=subscriptions(("paying", D(2024, 3, 1), D(2024, 9, 1))),
    )
    snaps = [date(2024, 2, 5), date(2024, 3, 4), date(2024, 6, 3)]
    assert rows(active_spine(data, snaps, SUBS_CFG)) == [
        ("paying", date(2024, 3, 4)),
        ("paying", date(2024, 6, 3)),
    ]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # the first term's start; e (no term) never became a customer
        (
            "subscriptions",
            [("a", D(2024, 1, 1)), ("b", D(2024, 1, 1)), ("c", D(2024, 1, 1)), ("d", D(2024, 1, 1))],
        ),
        # churns on data with terms: the first term too (e, a lead, never)
        (
            "churns",
            [("a", D(2024, 1, 1)), ("b", D(2024, 1, 1)), ("c", D(2024, 1, 1)), ("d", D(2024, 1, 1))],
        ),
    ],
)
def test_customer_since(source, expected):
    from churnml.labels import customer_since

    assert rows(customer_since(SUBS_DATA, LabelConfig(source=source))) == expected


# A CRM with a churns table and orders: p pays from 02-01, q is a lead (a quote of 80 never invoiced nor
# paid), r pays and leaves.
LEADS_DATA = dataset(
    D(2024, 7, 1),
    clients=clients(("p", D(2024, 1, 1)), ("q", D(2024, 1, 1)), ("r", D(2024, 1, 1))),
    payments=payments(("p", D(2024, 2, 1), 100.0), ("r", D(2024, 1, 10), 50.0), ("q", None, 80.0)),
    churns=churns(("r", D(2024, 3, 1))),
)
# The same without payments: an app's users (events only), customers from their created_at.
USERS_DATA = dataset(
    D(2024, 7, 1),
    clients=clients(("p", D(2024, 1, 1)), ("q", D(2024, 1, 1)), ("r", D(2024, 1, 1))),
    events=events(("p", D(2024, 2, 1)), ("r", D(2024, 1, 10))),
    churns=churns(("r", D(2024, 3, 1))),
)


@pytest.mark.parametrize(
    ("data", "since", "spine"),
    [
        (
            LEADS_DATA,
            [("p", D(2024, 2, 1)), ("r", D(2024, 1, 10))],
            [
                ("p", date(2024, 2, 5)),
                ("p", date(2024, 3, 4)),
                ("r", date(2024, 1, 15)),
                ("r", date(2024, 2, 5)),
            ],
        ),
        (
            USERS_DATA,
            [("p", D(2024, 1, 1)), ("q", D(2024, 1, 1)), ("r", D(2024, 1, 1))],
            [
                ("p", date(2024, 1, 15)),
                ("p", date(2024, 2, 5)),
                ("p", date(2024, 3, 4)),
                ("q", date(2024, 1, 15)),
                ("q", date(2024, 2, 5)),
                ("q", date(2024, 3, 4)),
                ("r", date(2024, 1, 15)),
                ("r", date(2024, 2, 5)),
            ],
        ),
    ],
    ids=["leads-with-orders", "users-without-orders"],
)
def test_with_the_churns_source_a_lead_that_never_pays_is_no_customer(data, since, spine):
    from churnml.labels import customer_since

    cfg = LabelConfig(source="churns", horizon_days=30)
    assert rows(customer_since(data, cfg)) == since
    got = active_spine(data, [date(2024, 1, 1), date(2024, 1, 15), date(2024, 2, 5), date(2024, 3, 4)], cfg)
    assert rows(got) == spine


# ----------------------------------------------------------------------------------------------
# add-ons: a client's base terms make it a customer
# ----------------------------------------------------------------------------------------------
def addon_terms(*rows: tuple[str, datetime, datetime, bool | None]) -> pl.DataFrame:
    return subscriptions(*(r[:3] for r in rows)).with_columns(
        pl.Series(Subscriptions.IS_ADDON, [r[3] for r in rows], dtype=pl.Boolean)
    )


# a: its base plan (and an sso add-on) end 2025-10-28, its storage add-on runs on to 2026-02-07;
# o: only ever bought add-ons; r: its base ends 2025-10-28, a new add-on alone on 2025-12-15, a new base
# plan on 2026-03-02
ADDON_ROWS = [
    ("a", D(2024, 10, 28), D(2025, 10, 28), False),
    ("a", D(2024, 10, 28), D(2025, 10, 28), True),
    ("a", D(2025, 2, 7), D(2026, 2, 7), True),
    ("o", D(2025, 9, 1), D(2025, 11, 1), True),
    ("o", D(2025, 10, 1), D(2026, 1, 1), True),
    ("r", D(2024, 10, 28), D(2025, 10, 28), False),
    ("r", D(2025, 12, 15), D(2026, 12, 15), True),
    ("r", D(2026, 3, 2), D(2027, 3, 2), False),
]
ADDON_SNAPS = [date(2025, 10, 6), date(2025, 12, 1), date(2026, 1, 5), date(2026, 3, 9)]


@pytest.mark.parametrize(
    ("terms", "churned", "spine"),
    [
        # a churns at its base end though its add-on runs on; r's add-on alone is no return, its new base
        # term is; o (add-ons only) churns at its last add-on's end, as before
        (
            addon_terms(*ADDON_ROWS),
            [("a", D(2025, 10, 28)), ("o", D(2026, 1, 1)), ("r", D(2025, 10, 28))],
            [
                ("a", date(2025, 10, 6)),
                ("o", date(2025, 10, 6)),
                ("o", date(2025, 12, 1)),
                ("o", date(2026, 1, 5)),
                ("r", date(2025, 10, 6)),
                ("r", date(2026, 3, 9)),
            ],
        ),
        # no is_addon column: every row is a term, as before (a's storage add-on keeps it a customer to
        # 2026-02-07, known 2026-03-09; r is back with its add-on on 2025-12-15)
        (
            subscriptions(*(r[:3] for r in ADDON_ROWS)),
            [("a", D(2026, 2, 7)), ("o", D(2026, 1, 1)), ("r", D(2025, 10, 28))],
            [
                *[("a", s) for s in ADDON_SNAPS],
                ("o", date(2025, 10, 6)),
                ("o", date(2025, 12, 1)),
                ("o", date(2026, 1, 5)),
                ("r", date(2025, 10, 6)),
                ("r", date(2026, 1, 5)),
                ("r", date(2026, 3, 9)),
            ],
        ),
        # every row an add-on: the same as without the column
        (
            addon_terms(*((*r[:3], True) for r in ADDON_ROWS)),
            [("a", D(2026, 2, 7)), ("o", D(2026, 1, 1)), ("r", D(2025, 10, 28))],
            [
                *[("a", s) for s in ADDON_SNAPS],
                ("o", date(2025, 10, 6)),
                ("o", date(2025, 12, 1)),
                ("o", date(2026, 1, 5)),
                ("r", date(2025, 10, 6)),
                ("r", date(2026, 1, 5)),
                ("r", date(2026, 3, 9)),
            ],
        ),
    ],
    ids=["base-and-add-ons", "no-is_addon-column", "all-add-ons"],
)
def test_a_base_plan_ending_while_an_add_on_runs_on_is_churn_at_the_base_end(terms, churned, spine):
    data = dataset(
        D(2026, 6, 1),
        clients=clients(("a", D(2024, 10, 1)), ("o", D(2024, 10, 1)), ("r", D(2024, 10, 1))),
        subscriptions=terms,
    )
    assert rows(churn_dates(data, SUBS_CFG).drop(LEFT_AT)) == churned
    assert rows(active_spine(data, ADDON_SNAPS, SUBS_CFG)) == spine


def test_the_label_before_a_base_end_with_an_add_on_running_on_is_churn():
    data = dataset(
        D(2026, 6, 1), clients=clients(("a", D(2024, 10, 1))), subscriptions=addon_terms(*ADDON_ROWS[:3])
    )
    assert rows(labeled_spine(data, [date(2025, 10, 6)], SUBS_CFG)) == [
        ("a", date(2025, 10, 6), 1, D(2025, 10, 28))
    ]


@pytest.mark.parametrize(
    ("addon", "kept"),
    [
        ([False, True, True, True], [0, 2, 3]),  # x keeps its base term; y has only add-ons: all of them
        ([False, None, False, True], [0, 1, 2]),  # a null is_addon is a base term
        ([None, True, False, True], [0, 2]),
        ([True, True, True, True], [0, 1, 2, 3]),  # a table of add-ons only: every row
    ],
)
def test_customer_terms_are_the_base_terms_of_a_client_that_has_any(addon, kept):
    from churnml.labels import customer_terms

    day = D(2025, 1, 1)
    terms = addon_terms(*((c, day, day + timedelta(days=30), a) for c, a in zip("xxyy", addon, strict=True)))
    got = customer_terms(terms.with_row_index("_row")).get_column("_row").to_list()
    assert got == kept


def test_an_add_on_is_no_first_record_nor_a_return_of_a_client_with_base_terms():
    """b buys an add-on on 2024-05-01, its base plan on 2024-06-01 (ended 2025-06-01, recorded churn), a new
    add-on alone on 2025-08-01 and a new base plan on 2025-10-01: a customer from 2024-05-01 (until its first
    base plan, its add-on is its term: a snapshot in May sees a paying client), back on 2025-10-01."""
    from churnml.labels import customer_since, returns_after_churns

    data = dataset(
        D(2026, 6, 1),
        clients=clients(("b", D(2024, 1, 1))),
        subscriptions=addon_terms(
            ("b", D(2024, 5, 1), D(2025, 5, 1), True),
            ("b", D(2024, 6, 1), D(2025, 6, 1), False),
            ("b", D(2025, 8, 1), D(2026, 8, 1), True),
            ("b", D(2025, 10, 1), D(2026, 10, 1), False),
        ),
        churns=churns(("b", D(2025, 6, 1))),
    )
    for source in ("subscriptions", "churns"):
        assert rows(customer_since(data, LabelConfig(source=source))) == [("b", D(2024, 5, 1))]
    recorded = pl.DataFrame({"client_id": ["b"], "churned_at": [D(2025, 6, 1)]})
    assert rows(returns_after_churns(data.tables, recorded, 30)) == [("b", D(2025, 6, 1), D(2025, 10, 1))]


def test_under_the_churns_label_an_add_on_running_on_does_not_hide_a_lapse() -> None:
    from churnml.labels import unrecorded_lapses_note

    # a's base plan ended 2025-10-28 and its storage add-on runs on; o only ever bought add-ons
    subs = addon_terms(*ADDON_ROWS[:5])
    note = unrecorded_lapses_note(subs, None, D(2026, 3, 1), 30)
    assert note is not None and note.startswith(
        "subscriptions: 2 clients have had no term for more than label.grace_days (30) and no churns record "
        "since: a (last term ended 2025-10-28), o (last term ended 2026-01-01)."
    )


@pytest.mark.parametrize(
    ("mrrs", "expected"),
    [
        # 3 clients of 4 only ever on a free plan (or trials that never paid): said
        (
            {"a": [0.0, 0.0], "b": [0.0], "c": [0.0], "d": [0.0, 49.0]},
            "3 of the 4 clients with terms have only terms with mrr 0",
        ),
        ({"a": [10.0], "b": [20.0], "c": [0.0, 30.0], "d": [5.0]}, None),  # every client paid at some point
        (
            {
                "a": [0.0],
                "b": [10.0],
                "c": [20.0],
                "d": [30.0],
                "e": [40.0],
                "f": [5.0],
                "g": [6.0],
                "h": [7.0],
                "i": [8.0],
                "j": [9.0],
                "k": [1.0],
            },
            None,
        ),  # 1 of 11: under a tenth
    ],
)
def test_many_clients_with_only_free_terms_are_named(mrrs, expected):
    from churnml.labels import free_terms_note

    rows = [
        (c, D(2024, 1, 1) + timedelta(days=30 * i), m) for c, ms in mrrs.items() for i, m in enumerate(ms)
    ]
    subs = pl.DataFrame(
        rows, schema={"client_id": pl.String, "start_date": DT, "mrr": pl.Float64}, orient="row"
    )
    note = free_terms_note(subs, least=3)
    if expected is None:
        assert note is None
    else:
        assert note is not None and expected in note
        assert note.endswith(
            "each is a customer that churns when its last free term ends, so the label counts a trial that does not "
            "convert as a churn. Kept, the list says them as trials, weighs them at the plan they would convert into "
            "(conversion_arr) and win-back re-offers them; to predict paying customers leaving only, leave trial "
            "terms out: a trial that converts becomes a customer with its first paid term"
        )


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        (["a", "b"], None),  # every client has a term
        (
            ["a", "b", "lead1", "lead2", "lead3", "lead4"],
            "clients: 4 of the 6 clients have no term in subscriptions (lead1, lead2, lead3, ...)",
        ),
    ],
)
def test_clients_without_any_term_are_counted_and_named(ids, expected):
    from churnml.labels import termless_clients_note

    clients = pl.DataFrame({"client_id": ids})
    subs = pl.DataFrame({"client_id": ["a", "b", "b"]})
    note = termless_clients_note(clients, subs)
    assert note is None if expected is None else (note is not None and note.startswith(expected))


def _shop_payments(rows: list[tuple[str, float, str]]) -> pl.DataFrame:
    """Payments ``(client_id, amount, status)``, each paid on 2024-02-01."""
    ids, amounts, statuses = zip(*rows, strict=True) if rows else ((), (), ())
    return pl.DataFrame(
        {
            "client_id": list(ids),
            "amount": list(amounts),
            "paid_at": [D(2024, 2, 1)] * len(ids),
            "status": list(statuses),
        },
        schema={"client_id": pl.String, "amount": pl.Float64, "paid_at": DT, "status": pl.String},
    )


@pytest.mark.parametrize(
    ("payments", "expected"),
    [
        # no payments table: every termless client reads as a lead, as before
        (
            None,
            "clients: 3 of the 5 clients have no term in subscriptions (buy1, buy2, lead1): leads, free users "
            "without a term, or terms missing from the export. They are no customers",
        ),
        # two one-off buyers (3 orders: a failed attempt and a refund are none) and a lead: the buyers are counted
        # with their orders against the 4 clients with orders, and told what each label does with them
        (
            [
                ("buy1", 9.0, "paid"),
                ("buy1", 9.0, "paid"),
                ("buy2", 9.0, "paid"),
                ("buy2", 9.0, "failed"),
                ("lead1", 9.0, "refunded"),
                ("a", 20.0, "paid"),
                ("b", 20.0, "paid"),
            ],
            "clients: 3 of the 5 clients have no term in subscriptions: 2 of them have orders (3 orders; buy1, buy2), "
            "50% of the 4 clients with orders: buyers without a contract (one-off buyers), not leads. Under "
            "label.source subscriptions a customer is a client with a term, so they are never trained on nor "
            "listed; label.source: mixed lists them too, each while it has an order or event in the last "
            "label.inactivity_days, and calls its churn no order and no activity in the horizon, the subscribers "
            "still by their terms. "
            "The 1 without an order (lead1): leads, free users without a term, or terms missing from the export. "
            "They are no customers: never trained on nor listed. If they are free users you want on the list, "
            "give them terms with mrr 0",
        ),
        # every termless client buys: no word of leads nor of mrr 0
        (
            [("buy1", 9.0, "paid"), ("buy2", 9.0, "paid"), ("lead1", 9.0, "paid")],
            "clients: 3 of the 5 clients have no term in subscriptions: 3 of them have orders (3 orders; buy1, buy2, "
            "lead1), 100% of the 3 clients with orders: buyers without a contract (one-off buyers), not leads. "
            "Under label.source subscriptions a customer is a client with a term, so they are never trained on nor "
            "listed; label.source: mixed lists them too, each while it has an order or event in the last "
            "label.inactivity_days, and calls its churn no order and no activity in the horizon, the subscribers "
            "still by their terms",
        ),
    ],
)
def test_termless_clients_with_orders_are_buyers_without_a_contract_not_leads(payments, expected) -> None:
    from churnml.labels import termless_clients_note

    clients = pl.DataFrame({"client_id": ["a", "b", "buy1", "buy2", "lead1"]})
    subs = pl.DataFrame({"client_id": ["a", "b"]})
    note = termless_clients_note(clients, subs, None if payments is None else _shop_payments(payments))
    assert note is not None and note.startswith(expected)


@pytest.mark.parametrize(
    ("source", "said"),
    [("auto", True), ("subscriptions", True), ("inactivity", False), ("churns", False), ("mixed", False)],
)
def test_the_termless_clients_note_is_said_under_the_subscriptions_label_only(
    source: str, said: bool
) -> None:
    """Under the inactivity, churns and mixed labels a client is a customer from its first order, term or not: a note
    saying it is "never trained on nor listed" would be false there."""
    from churnml.config import load_config
    from churnml.jobs.inputs import data_notes

    cfg = load_config()
    cfg = cfg.model_copy(update={"label": cfg.label.model_copy(update={"source": source})})
    data = Dataset(
        {
            Table.CLIENTS: pl.DataFrame(
                {"client_id": ["a", "buy1"], "created_at": [D(2024, 1, 1)] * 2},
                schema_overrides={"created_at": DT},
            ),
            Table.SUBSCRIPTIONS: pl.DataFrame(
                {
                    "client_id": ["a"],
                    "start_date": [D(2024, 1, 1)],
                    "end_date": [D(2025, 1, 1)],
                    "mrr": [10.0],
                }
            ),
            Table.PAYMENTS: _shop_payments([("a", 10.0, "paid"), ("buy1", 9.0, "paid")]),
        },
        "shop",
        D(2024, 1, 1),
        D(2024, 6, 1),
    )
    notes = [n for n in data_notes(data, cfg) if n.startswith("clients: 1 of the 2 clients have no term")]
    assert len(notes) == (1 if said else 0)


def _rhythm(clients: int, gaps: list[int]) -> pl.DataFrame:
    """``clients`` clients active on the days given by the cumulated ``gaps`` from 2024-01-01."""
    days = [0]
    for g in gaps:
        days.append(days[-1] + g)
    return pl.DataFrame(
        {
            "client_id": [f"c{i}" for i in range(clients) for _ in days],
            "_at": [D(2024, 1, 1) + timedelta(days=d, hours=i % 20) for i in range(clients) for d in days],
        },
        schema={"client_id": pl.String, "_at": DT},
    )


@pytest.mark.parametrize(
    ("clients", "gaps", "horizon", "note"),
    [
        (25, [30, 31, 28, 33, 30], 30, True),  # monthly invoices, one paid 3 days late, a 30-day horizon
        (25, [30, 31, 28, 33, 30], 90, False),  # the same against 90 days: three gaps fit in a horizon
        (25, [30, 31, 28, 33, 30], 14, False),  # a horizon of half the rhythm: no
        (25, [5, 60, 12, 90, 30], 60, False),  # a shop's irregular orders
        (19, [30, 31, 28, 33, 30], 30, False),  # too few clients to say anything
        (25, [30, 31], 30, False),  # 3 activity days: too few gaps to call a rhythm
    ],
)
def test_a_regular_rhythm_about_the_horizon_is_said(clients, gaps, horizon, note):
    from churnml.labels import activity_day_gaps, regular_rhythm_note

    said = regular_rhythm_note(activity_day_gaps(_rhythm(clients, gaps)), horizon)
    assert (said is not None) is note
    if note:
        assert said is not None and said.startswith("label: 25 of the 25 clients with 4 activity days")
        assert "a regular rhythm of about 30 days" in said and "label.horizon_days: 60 or more" in said


def test_a_churn_dated_before_its_client_was_created_is_said():
    from churnml.labels import churns_before_creation_note

    clients = pl.DataFrame(
        {"client_id": ["a", "b"], "created_at": [D(2023, 5, 24), D(2024, 1, 1)]},
        schema_overrides={"created_at": DT},
    )
    churns = pl.DataFrame(
        {"client_id": ["a", "b"], "churned_at": [D(2020, 1, 1), D(2024, 6, 1)]},
        schema_overrides={"churned_at": DT},
    )
    note = churns_before_creation_note(churns, clients)
    assert note is not None and note.startswith(
        "churns: 1 churn record is dated before its client's created_at (a churned 2020-01-01, created 2023-05-24)"
    )
    assert churns_before_creation_note(churns.filter(pl.col("client_id") == "b"), clients) is None


def test_a_churn_dated_on_its_clients_creation_day_is_not_said_to_come_before_it():
    # a subscription app's date-only churned_at (midnight) of a sign-up created at 07:14 whose first card
    # failed that day: it read "churned 2026-04-02, created 2026-04-02" as a churn dated before its creation
    from churnml.labels import churns_before_creation_note

    clients = pl.DataFrame(
        {"client_id": ["a", "b"], "created_at": [datetime(2026, 4, 2, 7, 14), datetime(2026, 4, 2, 7, 14)]},
        schema_overrides={"created_at": DT},
    )
    churns = pl.DataFrame(
        {"client_id": ["a", "b"], "churned_at": [datetime(2026, 4, 2), datetime(2026, 4, 1, 23, 59)]},
        schema_overrides={"churned_at": DT},
    )
    note = churns_before_creation_note(churns, clients)
    assert note is not None and note.startswith(
        "churns: 1 churn record is dated before its client's created_at (b churned 2026-04-01, created 2026-04-02)"
    )


def test_a_churn_is_no_first_record_for_the_created_at_repair():
    from churnml.contract.validation import first_records

    tables = {
        Table.CHURNS: pl.DataFrame({"client_id": ["a"], "churned_at": [D(2020, 1, 1)]}),
        Table.PAYMENTS: pl.DataFrame({"client_id": ["a"], "paid_at": [D(2023, 6, 1)]}),
    }
    assert first_records(tables).rows() == [("a", D(2023, 6, 1))]


@pytest.mark.parametrize(
    ("events_from", "note"),
    [
        (
            D(2025, 5, 1),
            "data: events start on 2025-05-01, 365 days after the data's first record (2024-05-01)",
        ),
        (D(2024, 6, 1), None),  # a month after the first term: no note
    ],
)
@pytest.mark.parametrize("placeholders", [False, True])
def test_behaviour_tables_that_start_late_are_said(events_from, note, placeholders):
    from churnml.labels import late_behaviour_note

    # placeholders: a term and an event dated 1900-01-01 ("unknown") date neither the data's start nor the events'
    starts = [D(2024, 5, 1)] + ([D(1900, 1, 1)] * placeholders)
    tables = {
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {"client_id": "a", "start_date": starts, "end_date": D(2026, 5, 1), "mrr": 10.0},
        ),
        Table.EVENTS: pl.DataFrame({"client_id": "a", "ts": [events_from, *starts[1:]], "event": "login"}),
    }
    said = late_behaviour_note(tables, 28)
    if note is None:
        assert said is None
    else:
        assert said is not None and said.startswith(note) and said.endswith("snapshots.start: 2025-05-29")


def test_a_behaviour_table_starting_far_later_than_another_is_said_apart():
    # one early ticket hid that the usage log starts four months later
    from churnml.labels import late_behaviour_note

    tables = {
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {"client_id": ["a"], "start_date": [D(2023, 5, 1)], "end_date": [D(2026, 5, 1)], "mrr": [10.0]}
        ),
        Table.TICKETS: pl.DataFrame({"client_id": ["a"], "opened_at": [D(2024, 12, 20)]}),
        Table.EVENTS: pl.DataFrame({"client_id": ["a"], "ts": [D(2025, 4, 30)], "event": ["login"]}),
    }
    assert late_behaviour_note(tables, 28) == (
        "data: tickets start on 2024-12-20 (events on 2025-04-30), 599 days after the data's first record "
        "(2023-05-01): the snapshots before then see no usage or contact at all, and the model learns from a "
        "past without the signals the list reads. To train from when they start: snapshots.start: 2025-01-17 "
        "(2025-05-28 once every one of them holds data)"
    )


def test_behaviour_tables_starting_on_other_days_are_each_said_with_their_own_day():
    # a fleet tracker's export: its notice calls and tickets reach back to 2025-05-18, its daily usage summaries
    # begin 2025-08-01, 75 days later; the note said "events, communications, tickets start on 2025-05-18"
    from churnml.labels import late_behaviour_note

    tables = {
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {"client_id": ["a"], "start_date": [D(2021, 8, 1)], "end_date": [D(2026, 8, 1)], "mrr": [10.0]}
        ),
        Table.EVENTS: pl.DataFrame({"client_id": ["a"], "ts": [D(2025, 8, 1)], "event": ["trips"]}),
        Table.COMMUNICATIONS: pl.DataFrame(
            {"client_id": ["a"], "ts": [D(2025, 5, 18)], "channel": ["call"], "direction": ["in"]}
        ),
        Table.TICKETS: pl.DataFrame({"client_id": ["a"], "opened_at": [D(2025, 5, 18)]}),
    }
    assert late_behaviour_note(tables, 28, moved=True) == (
        "data: communications, tickets start on 2025-05-18 (events on 2025-08-01), 1386 days after the data's "
        "first record (2021-08-01): the training snapshots start on 2025-06-15, 28 days into them, so that the model "
        "learns from the past the list reads (snapshots.start: 2021-08-29 trains on the time before them too)"
    )


def test_under_the_churns_label_clients_whose_terms_lapsed_without_a_record_are_named() -> None:
    from churnml.labels import unrecorded_lapses_note

    D = datetime
    subs = pl.DataFrame(
        {
            # orion: last term ended 2024-02-01, no record; vertex: ended then too, its churn recorded;
            # fresh: ended 10 days before the data's end (in grace); running: still under contract
            "client_id": ["orion", "vertex", "fresh", "running"],
            "start_date": [D(2023, 2, 1), D(2023, 2, 1), D(2023, 5, 22), D(2024, 1, 1)],
            "end_date": [D(2024, 2, 1), D(2024, 2, 1), D(2024, 5, 22), D(2025, 1, 1)],
        }
    )
    churns = pl.DataFrame({"client_id": ["vertex"], "churned_at": [D(2024, 2, 1)]})
    assert unrecorded_lapses_note(subs, churns, D(2024, 6, 1), 30) == (
        "subscriptions: 1 client has had no term for more than label.grace_days (30) and no churns record "
        "since: orion (last term ended 2024-02-01). Under label.source: churns they count as active customers "
        "that never left (they train as staying and stay on the list); add their churns records, or use "
        "label.source: subscriptions"
    )
    assert (
        unrecorded_lapses_note(subs.filter(pl.col("client_id") != "orion"), churns, D(2024, 6, 1), 30) is None
    )


def test_clients_dormant_for_a_year_without_a_churn_record_are_named() -> None:
    from churnml.labels import dormant_clients_note

    end = datetime(2026, 12, 1)
    activity = pl.DataFrame(
        {
            "client_id": ["gift", "gift", "monthly", "left", "back"],
            "_at": [
                datetime(2022, 12, 10),
                datetime(2023, 3, 1),
                datetime(2026, 11, 5),
                datetime(2024, 1, 5),
                datetime(2025, 1, 1),
            ],
        }
    )
    # left: a churn record after its last activity; back: dormant too, its churn record is older than its
    # last activity (it came back, then went quiet)
    churns = pl.DataFrame(
        {"client_id": ["left", "back"], "churned_at": [datetime(2024, 3, 1), datetime(2024, 6, 1)]}
    )
    note = dormant_clients_note(activity, churns, end)
    assert note is not None and note.startswith(
        "2 clients have had no order and no event for more than 365 days and no churns record since: "
        "gift (last active 2023-03-01), back (last active 2025-01-01). Under label.source: churns"
    )
    assert dormant_clients_note(activity.filter(pl.col("client_id") == "monthly"), churns, end) is None


@pytest.mark.parametrize(
    ("slow", "quick", "inactivity", "expected"),
    [
        # twice-a-year buyers among weekly ones, gone after 90 quiet days: said, with 1.5 x 182 in weeks
        (
            25,
            100,
            90,
            "label: 25 of the 125 clients with 2 activity days or more (20%) usually go 90 days or longer "
            "between two (typically 182 days): under label.inactivity_days (90) each of their quiet spells "
            "reads as leaving, so they are labeled gone between orders, left off the weekly list and put on "
            "the win-back list while they still buy. If that is their rhythm, raise it "
            "(label.inactivity_days: 273, and rules.no_activity_days under it)",
        ),
        (25, 100, 200, None),  # a window longer than their rhythm
        (19, 0, 90, None),  # too few clients to say anything
        (25, 300, 90, None),  # under a tenth of the repeat clients
    ],
)
def test_clients_whose_rhythm_is_slower_than_the_inactivity_window_are_said(
    slow, quick, inactivity, expected
):
    from churnml.labels import activity_day_gaps, slow_rhythm_note

    twice_a_year = _rhythm(slow, [182])  # two orders: all a young log holds of them
    weekly = _rhythm(quick, [7, 7, 7]).with_columns(
        pl.concat_str(pl.lit("w"), "client_id").alias("client_id")
    )
    activity = pl.concat([twice_a_year, weekly])
    assert slow_rhythm_note(activity_day_gaps(activity), inactivity) == expected


def _booked_visits(prefix: str, every_days: int, visits: int, lead_days: int) -> pl.DataFrame:
    """30 clients (``<prefix>0`` ...) with a visit every ``every_days`` from 2025-01-06, ``visits`` of them, each
    booked ``lead_days`` before it: two activity days a visit (``client_id``, ``_at``)."""
    days = [D(2025, 1, 6, 10) + timedelta(days=every_days * k) for k in range(visits)]
    return pl.DataFrame(
        {
            "client_id": [f"{prefix}{c}" for c in range(30) for _ in days for _ in (0, 1)],
            "_at": [t - timedelta(days=lead) for _ in range(30) for t in days for lead in (lead_days, 0)],
        },
        schema={"client_id": pl.String, "_at": DT},
    )


def test_a_booking_weeks_before_each_recall_visit_does_not_hide_a_slow_rhythm():
    """A dental chain's patients on a 6-month recall book each check-up 21 days ahead and come back 182 days after
    it: their activity days are 21 and 161 days apart, the median gap 21 (or 91 with four days), and under
    label.inactivity_days 90 the slow note said nothing while each patient fell off the list 90 days after a
    visit. The rhythm they come back at (activity_day_gaps' _return) is 161 days: said, 1.5 x that in weeks."""
    from churnml.labels import activity_day_gaps, slow_rhythm_note

    patients = _booked_visits("p", every_days=182, visits=3, lead_days=21)
    gaps = activity_day_gaps(patients)
    assert gaps.filter(pl.col("client_id") == "p0").select("_med", "_return").row(0) == (21.0, 161.0)
    assert slow_rhythm_note(gaps, 90) == (
        "label: 30 of the 30 clients with 2 activity days or more (100%) usually go 90 days or longer "
        "between two (typically 161 days): under label.inactivity_days (90) each of their quiet spells "
        "reads as leaving, so they are labeled gone between orders, left off the weekly list and put on "
        "the win-back list while they still buy. If that is their rhythm, raise it "
        "(label.inactivity_days: 245, and rules.no_activity_days under it)"
    )


@pytest.mark.parametrize(
    ("fast", "gaps", "monthly", "inactivity", "expected"),
    [
        # a distributor's accounts ordering twice a week, one pause of 36 days, under 90 days: said, with the
        # pause in whole weeks for both windows
        (
            25,
            [3, 4, 3, 4, 36],
            0,
            90,
            "label: 25 of the 25 clients with 4 activity days or more (100%) usually come back within 15 days "
            "(typically every 4 days), far inside label.inactivity_days (90): a client that stops is labeled "
            "gone only after 90 quiet days, so the clients at the top of the list have mostly been gone for "
            "weeks already. 9 in 10 of them never paused longer than 36 days: if that is their rhythm, shorten "
            "the label (--set label.inactivity_days=42 --set label.horizon_days=42, and rules.no_activity_days "
            "under it)",
        ),
        (25, [3, 4, 3, 4, 36], 30, 90, None),  # under half of the repeat clients (the others monthly)
        # beside them, 6 quarterly accounts: the suggested 42 days would label each gone after every order
        (
            25,
            [3, 4, 3, 4, 36],
            -6,
            90,
            "label: 25 of the 31 clients with 4 activity days or more (81%) usually come back within 15 days "
            "(typically every 4 days), far inside label.inactivity_days (90): a client that stops is labeled "
            "gone only after 90 quiet days, so the clients at the top of the list have mostly been gone for "
            "weeks already. 9 in 10 of them never paused longer than 36 days. But 6 of the 31 clients with 2 "
            "activity days or more (19%) usually go 42 days or longer between two (typically 91 days): "
            "label.inactivity_days is one window for every client, and 42 days would label each of them gone "
            "after every order. Shorten the label (--set label.inactivity_days=42 --set label.horizon_days=42) "
            "only if those clients may be misread, or score them apart",
        ),
        # 4 quarterly accounts (under 5): the advice stands as it is
        (
            25,
            [3, 4, 3, 4, 36],
            -4,
            90,
            "label: 25 of the 29 clients with 4 activity days or more (86%) usually come back within 15 days "
            "(typically every 4 days), far inside label.inactivity_days (90): a client that stops is labeled "
            "gone only after 90 quiet days, so the clients at the top of the list have mostly been gone for "
            "weeks already. 9 in 10 of them never paused longer than 36 days: if that is their rhythm, shorten "
            "the label (--set label.inactivity_days=42 --set label.horizon_days=42, and rules.no_activity_days "
            "under it)",
        ),
        (19, [3, 4, 3, 4, 36], 0, 90, None),  # too few clients to say anything
        (25, [3, 4, 3, 4, 36], 0, 42, None),  # already a window of their longest pauses
        (25, [3, 4], 0, 90, None),  # 3 activity days: too few to call a rhythm
    ],
)
def test_clients_whose_rhythm_is_far_faster_than_the_inactivity_window_are_said(
    fast, gaps, monthly, inactivity, expected
):
    from churnml.labels import activity_day_gaps, fast_rhythm_note

    twice_a_week = _rhythm(fast, gaps)
    # monthly > 0: that many monthly clients; < 0: that many quarterly ones
    others = _rhythm(abs(monthly), [30, 28, 31] if monthly >= 0 else [91, 90, 92]).with_columns(
        pl.concat_str(pl.lit("m"), "client_id").alias("client_id")
    )
    activity = pl.concat([twice_a_week, others])
    assert fast_rhythm_note(activity_day_gaps(activity), inactivity) == expected


def test_the_fast_rhythm_notes_window_is_said_as_a_number_of_days_a_reader_can_read():
    # label.inactivity_days 70: a sixth of it read "usually come back within 11.6667 days"
    from churnml.labels import activity_day_gaps, fast_rhythm_note

    said = fast_rhythm_note(activity_day_gaps(_rhythm(25, [3, 4, 3, 4, 36])), 70)
    assert said is not None and said.startswith(
        "label: 25 of the 25 clients with 4 activity days or more (100%) usually come back within 11.7 days "
        "(typically every 4 days), far inside label.inactivity_days (70)"
    )


def _late_events_dataset(as_of: datetime) -> Dataset:
    """Terms since 2023-05-01, the usage log only from 2025-04-30 (a CRM whose product analytics came later)."""
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["a"], "created_at": [D(2023, 5, 1)]}),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {"client_id": ["a"], "start_date": [D(2023, 5, 1)], "end_date": [D(2027, 5, 1)], "mrr": [10.0]}
        ),
        Table.EVENTS: pl.DataFrame({"client_id": ["a"], "ts": [D(2025, 4, 30)], "event": ["login"]}),
    }
    return Dataset(tables, "late", D(2023, 5, 1), as_of)


@pytest.mark.parametrize(
    ("as_of", "start", "first"),
    [
        # 28 days after the usage log begins (2025-05-28), on the next Monday
        (D(2026, 1, 1), None, date(2025, 6, 2)),
        # too recent to label one of those snapshots (90 days + 30 of grace by 2025-08-01): from the data's start
        (D(2025, 8, 1), None, date(2023, 5, 29)),
        # the usage log begins 10 days before the data's end: no snapshot after it, the data's grid (it raised)
        (D(2025, 5, 10), None, date(2023, 5, 29)),
        # a start set by the user is kept
        (D(2026, 1, 1), date(2024, 1, 1), date(2024, 1, 1)),
    ],
)
def test_training_snapshots_start_when_the_behaviour_logs_do(as_of: datetime, start, first: date) -> None:
    from churnml.config import SnapshotsConfig
    from churnml.pipeline import training_snapshots

    data = _late_events_dataset(as_of)
    snaps = training_snapshots(data, SnapshotsConfig(start=start), LabelConfig(source="subscriptions"))
    assert snaps[0] == first
    assert training_snapshots(data, SnapshotsConfig(start=start))[0] == (start or date(2023, 5, 29))


def test_the_late_behaviour_note_says_where_training_starts() -> None:
    from churnml.labels import late_behaviour_note

    data = _late_events_dataset(D(2026, 1, 1))
    assert late_behaviour_note(data.tables, 28, moved=True) == (
        "data: events start on 2025-04-30, 730 days after the data's first record (2023-05-01): the training "
        "snapshots start on 2025-05-28, 28 days into them, so that the model learns from the past the list reads "
        "(snapshots.start: 2023-05-29 trains on the time before them too)"
    )


@pytest.mark.parametrize("gone_before", [False, True])
def test_the_late_behaviour_note_suggests_no_earlier_start_over_a_past_of_survivors(
    gone_before: bool,
) -> None:
    # a billing system adopted on 2026-07-06 keeps each account's running term (the annual one's from 2025-07-01)
    # and nobody who left before: the note said "snapshots.start: 2025-07-29 trains on the time before them too",
    # and following it gave 4 backtest folds, each skipped for 0 churners among its training rows
    from churnml.labels import late_behaviour_note

    rows = [
        ("a", D(2025, 7, 1), D(2026, 7, 1)),
        ("a", D(2026, 7, 1), D(2027, 7, 1)),
        ("m", D(2026, 6, 15), D(2026, 7, 15)),
        ("m", D(2026, 7, 15), D(2026, 8, 15)),
    ]
    if (
        gone_before
    ):  # an export that holds a client gone in 2025 holds its leavers: the earlier past can train
        rows.append(("g", D(2025, 8, 1), D(2025, 9, 1)))
    tables = {
        Table.SUBSCRIPTIONS: pl.DataFrame(
            rows, schema=["client_id", "start_date", "end_date"], orient="row"
        ).with_columns(pl.lit(10.0).alias("mrr")),
        Table.EVENTS: pl.DataFrame({"client_id": ["a"], "ts": [D(2026, 7, 6)], "event": ["login"]}),
    }
    moves = (
        "data: events start on 2026-07-06, 370 days after the data's first record (2025-07-01): the training "
        "snapshots start on 2026-08-03, 28 days into them, so that the model learns from the past the list reads"
    )
    expected = (
        f"{moves} (snapshots.start: 2025-07-29 trains on the time before them too)"
        if gone_before
        else f"{moves}. No client left before them: the records before hold only the clients still customers then "
        "(a CRM or billing system adopted later brings the terms of the accounts it took over, not of those gone), "
        "so a training row there could never be a churn: keep snapshots.start unset"
    )
    assert late_behaviour_note(tables, 28, moved=True, grace_days=30) == expected


def test_an_add_on_client_that_buys_a_base_plan_later_reads_the_same_before_it() -> None:
    """A client on an add-on alone (2024-01 .. 2024-07) that buys a base plan in 2025-03: its 2024 snapshots read
    the same with the data cut in 2024 as with the whole data (no selection on the future)."""
    from churnml.labels import customer_terms

    subs = pl.DataFrame(
        {
            "client_id": ["c", "c", "k"],
            "start_date": [D(2024, 1, 1), D(2025, 3, 1), D(2024, 1, 1)],
            "end_date": [D(2024, 7, 1), D(2026, 3, 1), D(2026, 1, 1)],
            "mrr": [5.0, 50.0, 50.0],
            "is_addon": [True, False, False],
        }
    )
    clients = pl.DataFrame({"client_id": ["c", "k"], "created_at": [D(2023, 12, 1)] * 2})

    def rows(as_of: datetime) -> list[tuple]:
        data = Dataset(
            {Table.SUBSCRIPTIONS: subs.filter(pl.col("start_date") < as_of), Table.CLIENTS: clients},
            "x",
            D(2024, 1, 1),
            as_of,
        )
        spine = labeled_spine(
            data, [date(2024, 3, 4), date(2024, 6, 3)], LabelConfig(horizon_days=60, grace_days=14)
        )
        return spine.filter(pl.col("client_id") == "c").select("snapshot", "label").rows()

    assert rows(D(2024, 9, 1)) == rows(D(2025, 6, 1)) == [(date(2024, 3, 4), 0), (date(2024, 6, 3), 1)]
    # an add-on bought before the base plan is cut at the plan's start; one bought after it is no term
    mixed = pl.DataFrame(
        {
            "client_id": ["m", "m", "m"],
            "start_date": [D(2024, 1, 1), D(2024, 3, 1), D(2024, 5, 1)],
            "end_date": [D(2024, 12, 1), D(2025, 3, 1), D(2025, 5, 1)],
            "mrr": [5.0, 50.0, 5.0],
            "is_addon": [True, False, True],
        }
    )
    assert customer_terms(mixed).select("start_date", "end_date").rows() == [
        (D(2024, 1, 1), D(2024, 3, 1)),
        (D(2024, 3, 1), D(2025, 3, 1)),
    ]


def test_the_data_notes_of_late_behaviour_logs_too_close_to_the_end_do_not_raise() -> None:
    from churnml.config import load_config
    from churnml.jobs.inputs import data_notes

    notes = data_notes(_late_events_dataset(D(2025, 5, 10)), load_config())
    late = [n for n in notes if n.startswith("data: events start on 2025-04-30")]
    assert len(late) == 1 and late[0].endswith("To train from when they start: snapshots.start: 2025-05-28")


@pytest.mark.parametrize("batched", [False, True])
def test_the_late_behaviour_note_is_said_of_a_portfolio_read_batch_by_batch(tmp_path, batched: bool) -> None:
    """train reads a big portfolio batch by batch (a dataset holding no tables, its folder beside it): the note on
    events beginning late is said as validate says it of the whole (a fitness app's events began 364 days after
    its annual terms, and train said nothing while its model learned from the year before them)."""
    from churnml.config import load_config
    from churnml.jobs.inputs import data_notes

    whole = _late_events_dataset(D(2025, 5, 10))
    for table, frame in whole.tables.items():
        frame.write_parquet(tmp_path / f"{table}.parquet")
    dataset = (
        Dataset(
            {}, "late", whole.start, whole.as_of, activity_start=D(2023, 5, 1), events_start=D(2025, 4, 30)
        )
        if batched
        else whole
    )
    notes = data_notes(dataset, load_config(), tmp_path if batched else None)
    assert [n for n in notes if n.startswith("data:")] == [
        "data: events start on 2025-04-30, 730 days after the data's first record (2023-05-01): the snapshots "
        "before then see no usage or contact at all, and the model learns from a past without the signals the "
        "list reads. To train from when they start: snapshots.start: 2025-05-28"
    ]


def _running_terms(*rows: tuple[str, datetime, datetime]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"client_id": pl.String, "start_date": DT, "end_date": DT}, orient="row")


# four schools on annual contracts that all renew on 1 September
_ANNUAL = _running_terms(*((c, D(2025, 9, 1), D(2026, 9, 1)) for c in "abcd"))
# four clients on monthly terms, renewed month after month
_MONTHLY = _running_terms(*((c, D(2026, m, 1), D(2026, m + 1, 1)) for c in "abcd" for m in range(1, 12)))


@pytest.mark.parametrize(
    ("terms", "dates", "horizon", "expected"),
    [
        (
            _ANNUAL,
            [date(2026, 3, 2)],
            90,
            "100% of the 4 active clients' terms end 90 days or more after 2026-03-02: they run 365 days "
            "(median) and a client churns at a term's end, so the model can flag a non-renewal only within 90 "
            "days of it (label.horizon_days). For an earlier warning, label.horizon_days: 210 (three in four of "
            "these terms end within 183 days of 2026-03-02; each label then waits that long plus "
            "label.grace_days after its snapshot)",
        ),
        # the list of 6 July: every renewal lies 57 days ahead, within the horizon
        (_ANNUAL, [date(2026, 7, 6)], 90, None),
        # a horizon that reaches 1 September from March
        (_ANNUAL, [date(2026, 3, 2)], 240, None),
        # every fourth week of a year: 9 of the 12 snapshots with a term running lie more than 90 days before
        # its end (337, 309, ... 113 days), 3 within (85, 57, 29); the upper quartile 281 days -> 300
        (
            _ANNUAL,
            [date(2025, 9, 1) + timedelta(weeks=4 * i) for i in range(13)],
            90,
            "at 12 snapshots 2025-09-29 .. 2026-08-03, 75% of the active clients' terms (48 client x snapshot "
            "rows) end 90 days or more after the snapshot: they run 365 days (median) and a client churns at a "
            "term's end, so the model can flag a non-renewal only within 90 days of it (label.horizon_days). For "
            "an earlier warning, label.horizon_days: 300 (three in four of these terms end within 281 days of "
            "their snapshot; each label then waits that long plus label.grace_days after its snapshot)",
        ),
        # monthly terms never, not even under a 14-day horizon (most terms end more than 14 days ahead)
        (_MONTHLY, [date(2026, 3, 2)], 14, None),
        (_MONTHLY, [date(2026, 1, 5) + timedelta(weeks=i) for i in range(40)], 7, None),
        # no term running at the date
        (_ANNUAL, [date(2027, 1, 4)], 90, None),
    ],
)
def test_terms_that_end_beyond_the_horizon_are_said(terms, dates, horizon, expected):
    from churnml.labels import terms_beyond_horizon_note

    assert terms_beyond_horizon_note(terms, dates, horizon) == expected


# a language school's fall semester: every student's term ends on 31 January
_SEMESTER = _running_terms(*((c, D(2025, 9, 1), D(2026, 1, 31)) for c in "abcd"))


def test_a_term_ending_on_the_horizons_last_day_is_beyond_it():
    # the label counts a churn dated before snapshot + horizon: from 2 November a 90-day horizon ends on 31
    # January itself, so no non-renewal of the semester is in reach (the note said nothing, and the list's
    # empty zones were blamed on the thresholds); the horizon suggested lies past the quartile (90 -> 120)
    from churnml.labels import terms_beyond_horizon_note

    assert terms_beyond_horizon_note(_SEMESTER, [date(2025, 11, 2)], 90) == (
        "100% of the 4 active clients' terms end 90 days or more after 2025-11-02: they run 152 days (median) "
        "and a client churns at a term's end, so the model can flag a non-renewal only within 90 days of it "
        "(label.horizon_days). For an earlier warning, label.horizon_days: 120 (three in four of these terms "
        "end within 90 days of 2025-11-02; each label then waits that long plus label.grace_days after its "
        "snapshot)"
    )
    # a week later the end is 83 days ahead: in reach
    assert terms_beyond_horizon_note(_SEMESTER, [date(2025, 11, 9)], 90) is None


@pytest.mark.parametrize(
    ("longest", "expected_end"),
    [
        # the data judges a 300-day horizon: the suggestion stands
        (300, "For an earlier warning, label.horizon_days: 300 (three in four"),
        # 8 months of data judge 55 days at most: the suggestion is for later, not advice to follow now
        (
            55,
            "An earlier warning would need label.horizon_days: 300 (three in four of these terms end within 281 "
            "days of their snapshot), which this data cannot judge yet (a backtest fold needs a horizon of 55 "
            "days or less now): keep the horizon until the data is longer",
        ),
        (
            0,
            "An earlier warning would need label.horizon_days: 300 (three in four of these terms end within 281 "
            "days of their snapshot), which this data cannot judge yet (no horizon gives a backtest fold yet): "
            "keep the horizon until the data is longer",
        ),
    ],
)
def test_a_longer_horizon_is_suggested_only_when_the_data_can_judge_it(longest, expected_end):
    from churnml.labels import terms_beyond_horizon_note

    dates = [date(2025, 9, 1) + timedelta(weeks=4 * i) for i in range(13)]
    note = terms_beyond_horizon_note(_ANNUAL, dates, 90, longest_labeled=longest)
    assert note is not None
    assert note.startswith("at 12 snapshots 2025-09-29 .. 2026-08-03, 75% of the active clients' terms")
    assert expected_end in note


def test_running_term_ends_take_the_term_started_before_the_date():
    from churnml.labels import running_term_ends

    terms = _running_terms(
        ("a", D(2025, 9, 1), D(2026, 9, 1)),
        ("a", D(2026, 9, 1), D(2027, 9, 1)),  # a renewal booked ahead: not running yet
        ("b", D(2026, 3, 2), D(2026, 4, 2)),  # starts on the date: not seen by it
        ("c", D(2026, 2, 1), D(2026, 3, 1)),  # ended before the date
        ("d", D(2026, 2, 15), D(2026, 3, 15)),
        ("d", D(2026, 1, 1), D(2026, 7, 1)),  # two running terms: the latest end, the longest term
    )
    got = running_term_ends(terms, [date(2026, 3, 2)])
    assert got.rows() == [("a", date(2026, 3, 2), 365, 183), ("d", date(2026, 3, 2), 181, 121)]


@pytest.mark.parametrize(
    ("source", "days"),
    [
        ("subscriptions", 30),  # a term's end is known after the grace
        ("churns", 0),  # a record at once
        ("inactivity", 90),  # one who stopped ordering is a churn 90 days later
        ("mixed", 90),  # the longer of the two
    ],
)
def test_a_departure_is_known_after_the_label_lag_or_the_inactivity_days(source, days):
    from churnml.labels import departure_lag_days

    assert departure_lag_days(LabelConfig(source=source, grace_days=30, inactivity_days=90)) == days


# label.activity_events: which events are activity (a bank's dormancy: transactions count, logins do not)
# ----------------------------------------------------------------------------------------------
def named_events(*rows: tuple[str, datetime, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            Events.CLIENT_ID: [r[0] for r in rows],
            Events.TS: [r[1] for r in rows],
            Events.EVENT: [r[2] for r in rows],
        },
        schema={Events.CLIENT_ID: pl.String, Events.TS: DT, Events.EVENT: pl.String},
    )


# "a" transfers money out until 01-15, then only logs in (every two weeks to 06-17); "b" pays by card to 06-25
BANK = dataset(
    D(2024, 7, 1),
    clients=clients(("a", D(2024, 1, 1)), ("b", D(2024, 1, 1))),
    events=named_events(
        ("a", D(2024, 1, 2), "transfer_out"),
        ("a", D(2024, 1, 15), "transfer_out"),
        *[("a", D(2024, 1, 29) + timedelta(days=14 * k), "login") for k in range(11)],
        *[("b", D(2024, 1, 2) + timedelta(days=14 * k), "card_payment") for k in range(13)],
    ),
)
SAVER = subscriptions(("s", D(2024, 1, 1), D(2024, 12, 31)))  # another client's term, for mixed
BANK_SNAPS = [date(2024, 1, 8), date(2024, 2, 5), date(2024, 3, 4), date(2024, 4, 1)]


@pytest.mark.parametrize(
    ("activity_events", "a_churns", "a_spine"),
    [
        # the default: every event is activity, so a client that only logs in never leaves
        (
            None,
            [],
            [(date(2024, 1, 8), 0), (date(2024, 2, 5), 0), (date(2024, 3, 4), 0), (date(2024, 4, 1), 0)],
        ),
        # logins listed: the same
        (("card_payment", "transfer_out", "login"), [], None),
        # logins not listed: a leaves 30 days after its last transfer (02-14): at 02-05 none follows in 30 days
        (
            ("card_payment", "transfer_out"),
            [("a", D(2024, 2, 14), D(2024, 1, 15))],
            [(date(2024, 1, 8), 0), (date(2024, 2, 5), 1)],
        ),
    ],
)
@pytest.mark.parametrize("source", ["inactivity", "mixed"])
def test_only_the_listed_events_are_activity(activity_events, a_churns, a_spine, source):
    # under mixed a and b hold no term (only "s" does): one-off clients, labeled by the same inactivity rule
    data = (
        BANK
        if source == "inactivity"
        else dataset(BANK.as_of, **{str(t): f for t, f in BANK.tables.items()}, subscriptions=SAVER)
    )
    cfg = LabelConfig(source=source, horizon_days=30, inactivity_days=30, activity_events=activity_events)
    assert rows(churn_dates(data, cfg).filter(pl.col("client_id") == "a")) == a_churns
    got = labeled_spine(data, BANK_SNAPS, cfg).filter(pl.col("client_id") == "a")
    if a_spine is not None:
        assert rows(got.select("snapshot", "label")) == a_spine
    # b's card payments count either way: active at every snapshot, label 0
    assert (
        rows(labeled_spine(data, BANK_SNAPS, cfg).filter(pl.col("client_id") == "b").select("label"))
        == [(0,)] * 4
    )


@pytest.mark.parametrize(
    ("activity_events", "returned_at"),
    [
        (None, D(2024, 4, 22)),  # the default: the login of 04-22 brings the dormant client back
        (("login", "transfer_out"), D(2024, 4, 22)),
        (("transfer_out",), D(2024, 6, 3)),  # logins do not: its next transfer does
        (("card_payment",), None),  # nothing listed follows
    ],
)
def test_a_return_through_a_login_counts_only_when_logins_are_activity(activity_events, returned_at):
    data = dataset(
        D(2024, 7, 1),
        clients=clients(("a", D(2024, 1, 1))),
        churns=churns(("a", D(2024, 3, 1))),
        events=named_events(
            ("a", D(2024, 1, 15), "transfer_out"),
            ("a", D(2024, 4, 22), "login"),
            ("a", D(2024, 6, 3), "transfer_out"),
        ),
    )
    recorded = churns(("a", D(2024, 3, 1))).rename({Churns.CHURNED_AT: CHURNED_AT})
    for source in ("churns", "inactivity"):
        got = returns_after_churns(data.tables, recorded, 14, source=source, activity_events=activity_events)
        assert rows(got) == [("a", D(2024, 3, 1), returned_at)]
    # the churns label reads the same return: active again from the first snapshot after it
    cfg = LabelConfig(source="churns", grace_days=14, activity_events=activity_events)
    spine = [s for _, s in rows(active_spine(data, [date(2024, 4, 29), date(2024, 6, 10)], cfg))]
    assert spine == [
        s for s in (date(2024, 4, 29), date(2024, 6, 10)) if returned_at and returned_at.date() < s
    ]


def test_an_activity_event_the_data_lacks_is_no_error():
    """A name no event has (a typo, a table without transactions yet): nothing but orders is activity."""
    cfg = LabelConfig(source="inactivity", horizon_days=30, inactivity_days=30, activity_events=("transfer",))
    assert labeled_spine(BANK, BANK_SNAPS, cfg).height == 0
    assert churn_dates(BANK, cfg).height == 0
    assert activity_times(BANK, ()).height == 0


@pytest.mark.parametrize(
    ("activity_events", "note"),
    [
        (None, None),  # every event
        (("transfer_out", "card_payment"), None),
        (
            ("transfer_out", "transfer"),
            "label.activity_events: no event is named 'transfer', so it counts as no activity (only orders and "
            "the other names do). The most frequent event names: 'card_payment' (13), 'login' (11), "
            "'transfer_out' (2)",
        ),
    ],
)
def test_an_activity_event_the_data_lacks_is_named(activity_events, note):
    assert unknown_activity_events_note(BANK.tables[Table.EVENTS], activity_events) == note
    assert unknown_activity_events_note(None, activity_events) is None


# ----------------------------------------------------------------------------------------------
# orders on credit terms: an order is placed at its invoice's issued_at, paid 40 days later
# ----------------------------------------------------------------------------------------------
def invoices(*rows: tuple[str, datetime, datetime | None, str]) -> pl.DataFrame:
    """``(client, issued_at, paid_at, status)`` rows of 100.0 each."""
    return pl.DataFrame(
        {
            Payments.CLIENT_ID: [r[0] for r in rows],
            Payments.AMOUNT: [100.0] * len(rows),
            Payments.ISSUED_AT: [r[1] for r in rows],
            Payments.PAID_AT: [r[2] for r in rows],
            Payments.STATUS: [r[3] for r in rows],
        },
        schema={
            Payments.CLIENT_ID: pl.String,
            Payments.AMOUNT: pl.Float64,
            Payments.ISSUED_AT: DT,
            Payments.PAID_AT: DT,
            Payments.STATUS: pl.String,
        },
    )


# w orders on 01-10, 02-20 and 04-01, each paid 40 days later; u is invoiced on 05-20 and has not paid yet
CREDIT_TERMS = invoices(
    ("w", D(2024, 1, 10), D(2024, 2, 19), "paid"),
    ("w", D(2024, 2, 20), D(2024, 3, 31), "paid"),
    ("w", D(2024, 4, 1), D(2024, 5, 11), "paid"),
    ("u", D(2024, 5, 20), None, "open"),
)
CREDIT_SNAPS = [
    date(2024, m, d) for m, d in ((1, 15), (2, 12), (2, 26), (3, 18), (4, 8), (4, 29), (5, 27), (6, 3))
]


@pytest.mark.parametrize(
    ("table", "spine"),
    [
        (
            CREDIT_TERMS,
            [
                # label: no order placed in [s, s + 30 days); churned_at: the last order of the run + 30 days
                ("u", date(2024, 5, 27), 1, D(2024, 6, 19)),  # invoiced on 05-20, unpaid: it ordered
                ("u", date(2024, 6, 3), None, D(2024, 6, 19)),  # 06-03 + 30 is past the data end
                ("w", date(2024, 1, 15), 1, D(2024, 2, 9)),  # ordered 01-10; the next order is 02-20
                # 02-12: 33 days after 01-10, not active (its payment on 02-19 is no order)
                ("w", date(2024, 2, 26), 1, D(2024, 3, 21)),  # the next order, 04-01, is after 03-27
                ("w", date(2024, 3, 18), 0, D(2024, 3, 21)),  # an order on 04-01
                ("w", date(2024, 4, 8), 1, D(2024, 5, 1)),  # 04-01 was its last order
                ("w", date(2024, 4, 29), 1, D(2024, 5, 1)),  # its payment on 05-11 is no new order
                # 05-27, 06-03: its last order was 56 days before
            ],
        ),
        (
            # without issued_at an order is read when it is paid, as before
            CREDIT_TERMS.drop(Payments.ISSUED_AT),
            [
                ("w", date(2024, 2, 26), 1, D(2024, 3, 20)),
                ("w", date(2024, 3, 18), 0, D(2024, 3, 20)),
                ("w", date(2024, 4, 8), 1, D(2024, 4, 30)),
                ("w", date(2024, 4, 29), 0, D(2024, 4, 30)),  # the payment on 05-11 reads as an order
                ("w", date(2024, 5, 27), 1, D(2024, 6, 10)),
                ("w", date(2024, 6, 3), None, D(2024, 6, 10)),
            ],
        ),
    ],
)
def test_an_order_on_credit_terms_is_placed_when_it_is_invoiced(table, spine):
    data = dataset(D(2024, 7, 1), clients=clients(("u", D(2024, 1, 1)), ("w", D(2024, 1, 1))), payments=table)
    got = labeled_spine(data, CREDIT_SNAPS, INACT_CFG).sort("client_id", "snapshot")
    assert rows(got) == spine


@pytest.mark.parametrize(
    ("issued", "paid", "placed"),
    [
        (D(2024, 1, 10), D(2024, 2, 19), D(2024, 1, 10)),  # on credit terms: when invoiced
        (None, D(2024, 2, 19), D(2024, 2, 19)),  # no invoice date: when paid
        (D(2024, 1, 10), None, D(2024, 1, 10)),  # invoiced, not paid yet: an order all the same
        (D(2024, 3, 1), D(2024, 2, 19), D(2024, 2, 19)),  # prepaid, invoiced later: when paid
        (None, None, None),  # neither: no order
    ],
)
def test_an_order_is_placed_at_its_invoice_else_its_payment(issued, paid, placed):
    table = invoices(("w", issued, paid, None))  # type: ignore[arg-type]
    assert order_placed_at(table.columns) is not None
    assert table.select(order_placed_at(table.columns)).item() == placed
    assert orders(table).height == (placed is not None)


@pytest.mark.parametrize(
    ("gaps", "horizon", "expected"),
    [
        # pet owners: a booking, the visit 7 days later, the next booking a year on (every pause 358 days)
        (
            [7, 358, 7, 358],
            180,
            "label: 25 of the 25 clients with 2 activity days or more (100%) paused label.horizon_days (180) or "
            "longer between two (typically 358 days, their longest) and came back: at the snapshots before each "
            "such pause they are labeled gone, so the model learns their rhythm as leaving and lists clients on "
            "schedule (a yearly visit under a half-year horizon). If such pauses are their rhythm, a horizon of "
            "label.horizon_days: 360 covers 3 in 4 of them (labels then wait that long)",
        ),
        ([7, 358, 7, 358], 365, None),  # the horizon reaches past their pauses
        ([30, 30, 30, 30], 90, None),  # monthly buyers never pause a horizon
    ],
)
def test_clients_pausing_past_the_horizon_and_coming_back_are_said(gaps, horizon, expected):
    """Under the inactivity label a pause of the horizon or longer is a churn label, even when the client comes
    back: a vet chain's yearly visits under 180 days made 61% of its pay-per-visit churn labels owners on schedule,
    and train said nothing of it."""
    from churnml.labels import activity_day_gaps, pauses_past_horizon_note

    assert pauses_past_horizon_note(activity_day_gaps(_rhythm(25, gaps)), horizon) == expected


@pytest.mark.parametrize(
    ("kinds", "said"), [(None, True), (["question"], True), (["cancellation_request"], False)]
)
def test_the_notice_events_note_waits_for_notices_the_tickets_do_not_hold(kinds, said: bool) -> None:
    """An app's ``auto_renew_off`` events are named until the tickets hold a ``cancellation_request`` (the
    notices written where the rule and the model read them)."""
    from churnml.config import load_config
    from churnml.jobs.inputs import data_notes

    tables = {
        Table.CLIENTS: pl.DataFrame(
            {"client_id": ["a", "b"], "created_at": [D(2024, 1, 1)] * 2}, schema_overrides={"created_at": DT}
        ),
        Table.EVENTS: pl.DataFrame(
            {
                "client_id": ["a", "a", "b"],
                "ts": [D(2024, 2, 1), D(2024, 3, 1), D(2024, 3, 2)],
                "event": ["lesson_completed", "auto_renew_off", "lesson_completed"],
            },
            schema_overrides={"ts": DT},
        ),
    }
    if kinds is not None:
        tables[Table.TICKETS] = pl.DataFrame(
            {"client_id": ["a"], "opened_at": [D(2024, 3, 1)], "kind": kinds},
            schema_overrides={"opened_at": DT},
        )
    data = Dataset(tables, "app", D(2024, 1, 1), D(2024, 6, 1))
    notes = [n for n in data_notes(data, load_config()) if "read like a client's notice" in n]
    assert len(notes) == (1 if said else 0)


def test_a_booking_days_before_each_visit_is_no_second_return_in_the_fast_rhythm_note():
    """A vet chain's owners book each monthly visit 3 days ahead (two events a visit): their activity days are 3
    and 27 days apart, the median gap 3, and the note read "usually come back within 15 days (typically every 3
    days)" under 90 days, six times faster than they return. The rhythm the note claims is the quiet spell beside
    a typical activity day (activity_day_gaps' _return): 27 days, no note; owners visiting every week are still
    said (typically every 7 days), with the monthly ones beside them, not fast."""
    from churnml.labels import activity_day_gaps, fast_rhythm_note

    monthly = _booked_visits("m", every_days=30, visits=12, lead_days=3)
    gaps = activity_day_gaps(monthly)
    assert fast_rhythm_note(gaps, 90) is None
    assert gaps.filter(pl.col("client_id") == "m0").select("_n", "_med", "_lo", "_hi", "_return").row(0) == (
        23,
        3.0,
        3,
        27,
        27.0,
    )
    weekly = _rhythm(30, [7] * 49)
    said = fast_rhythm_note(activity_day_gaps(pl.concat([monthly, weekly])), 90)
    assert said is not None and said.startswith(
        "label: 30 of the 60 clients with 4 activity days or more (50%) usually come back within 15 days "
        "(typically every 7 days), far inside label.inactivity_days (90)"
    )


# 20 clients pausing 200 days, 10 a year (358), under a 180-day horizon: the pauses note suggests 360
_PAUSES_SAID = (
    "label: 30 of the 30 clients with 2 activity days or more (100%) paused label.horizon_days (180) or longer "
    "between two (typically 200 days, their longest) and came back: at the snapshots before each such pause they "
    "are labeled gone, so the model learns their rhythm as leaving and lists clients on schedule (a yearly visit "
    "under a half-year horizon). If such pauses are their rhythm, a horizon of label.horizon_days: 360 covers 3 "
    "in 4 of them (labels then wait that long)"
)
_NO_FOLD = (
    ". Covering them costs the estimate on this data: 360 gives no out-of-time fold (no backtest estimate, no "
    "promotion) until about 45 more days of data"
)


@pytest.mark.parametrize(
    ("reach", "expected"),
    [
        (None, _PAUSES_SAID),  # validate: no backtest planned, the note as it was
        ((0, None), _PAUSES_SAID),  # 360 gives a fold now: nothing conflicts
        # 270 is the longest horizon with a fold now: it ends the 200-day pauses, not the yearly ones
        (
            (45, 270),
            _PAUSES_SAID
            + _NO_FOLD
            + "; label.horizon_days: 270, the longest that gives one now, covers 67% of "
            "those pauses (360: 100%), the rest labeled churn",
        ),
        # no horizon over today's gives a fold now: the estimate waits whatever the horizon
        ((45, 150), _PAUSES_SAID + _NO_FOLD + ", and no horizon longer than 180 gives one now"),
        ((45, None), _PAUSES_SAID + _NO_FOLD + ", and no horizon longer than 180 gives one now"),
    ],
)
def test_the_pauses_note_says_what_its_horizon_costs_the_backtest(reach, expected) -> None:
    """A dental chain on 16 months: the pauses note asked for label.horizon_days 240 ("covers 3 in 4"), the
    backtest's hint under 240 for 202 or less (a fold now), and nothing said the two conflict. Told the backtest's
    reach (``fold_reach``: the days of data more a horizon needs for a fold, the longest horizon with one now),
    the note says which wins what."""
    from churnml.labels import activity_day_gaps, pauses_past_horizon_note

    yearly = _rhythm(10, [7, 358, 7, 358]).with_columns(
        (pl.lit("y") + pl.col("client_id")).alias("client_id")
    )
    gaps = activity_day_gaps(pl.concat([_rhythm(20, [7, 200, 7, 200]), yearly]))
    seen: list[int] = []

    def fold_reach(horizon: int) -> tuple[int, int | None]:
        seen.append(horizon)
        return reach

    said = pauses_past_horizon_note(gaps, 180, fold_reach=None if reach is None else fold_reach)
    assert said == expected
    assert seen == ([] if reach is None else [360])  # asked of the horizon it suggests


@pytest.mark.parametrize(
    ("reach", "tail"),
    [
        (None, "label.horizon_days: 60 or more)"),  # validate: no backtest planned
        ((0, None), "label.horizon_days: 60 or more)"),  # 60 gives a fold now
        (
            (40, 45),
            "label.horizon_days: 60 or more); this data gives 60 no out-of-time fold until about 40 more days of "
            "data (45 is the longest that gives one now)",
        ),
        # nothing over today's 30 gives one: no longest named
        (
            (40, 28),
            "label.horizon_days: 60 or more); this data gives 60 no out-of-time fold until about 40 more days of data",
        ),
    ],
)
def test_the_regular_rhythm_note_says_what_its_horizon_costs_the_backtest(reach, tail) -> None:
    """Monthly invoices under a 30-day horizon: the note asks for 60 days or more; on data too short for a fold
    under 60 it says so (:func:`churnml.labels.horizon_without_fold`, as the pauses note)."""
    from churnml.labels import activity_day_gaps, regular_rhythm_note

    gaps = activity_day_gaps(_rhythm(25, [30, 31, 28, 33, 30]))
    said = regular_rhythm_note(gaps, 30, fold_reach=None if reach is None else (lambda _h: reach))
    assert said is not None and said.endswith(tail)


@pytest.mark.parametrize(
    ("clients", "hinted", "expected"),
    [
        # 25 clients whose longest pause (220 days) a 240-day horizon covers and the hinted 202 does not
        (
            25,
            202,
            "under it, 25 of the 25 clients with 2 activity days or more, whose longest pause 240 covers, read as "
            "churn before each such pause",
        ),
        (25, 221, ""),  # the hinted horizon covers their pauses too
        (19, 202, ""),  # too few to say
    ],
)
def test_the_no_fold_hint_says_what_its_horizon_costs_the_pauses(clients, hinted, expected) -> None:
    """A dental chain under 240 days: no fold, and the hint "label.horizon_days: 202 or less gives one now" said
    nothing of the 123 of 2,453 patients whose longest pause 240 covered and 202 does not (the mirror of the
    pauses note telling what its horizon costs the backtest)."""
    from churnml.labels import activity_day_gaps, pauses_cut_by_hint

    gaps = activity_day_gaps(_rhythm(clients, [7, 220, 7, 220]))
    assert pauses_cut_by_hint(gaps, hinted, 240) == expected


def test_a_fee_charged_during_a_term_is_no_activity_under_the_label():
    """A bank's premium account: card payments stop on 2024-01-10, the monthly fee (a term a month, paid on its
    first day) is still taken from the balance until May. The no_activity rule reads the fee as a charge, not
    the client acting; the label read it as activity and called the customer dormant 57 days late (median of 35
    such accounts). An order outside any term still counts; without events every order does."""
    from churnml.labels import activity_times

    months = [D(2024, m, 1) for m in range(1, 6)]
    tables = {
        Table.CLIENTS: pl.DataFrame(
            {"client_id": ["a", "b"], "created_at": [D(2023, 1, 1), D(2023, 1, 1)]},
            schema_overrides={"created_at": DT},
        ),
        Table.EVENTS: pl.DataFrame(
            {"client_id": ["a", "b"], "ts": [D(2024, 1, 10), D(2024, 1, 12)], "event": ["card_payment"] * 2},
            schema_overrides={"ts": DT},
        ),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ["a"] * 5,
                "start_date": months,
                "end_date": [D(2024, m, 1) for m in range(2, 7)],
                "mrr": [9.0] * 5,
            },
            schema_overrides={"start_date": DT, "end_date": DT},
        ),
        Table.PAYMENTS: pl.DataFrame(
            {
                "client_id": ["a"] * 5 + ["b"],
                "amount": [9.0] * 5 + [0.4],
                "paid_at": [*months, D(2024, 1, 31)],  # b: interchange booked at the month's end, no term
            },
            schema_overrides={"paid_at": DT},
        ),
    }
    data = Dataset(tables, "bank", D(2023, 1, 1), D(2024, 6, 1))
    last = (
        activity_times(data, ["card_payment"])
        .group_by("client_id")
        .agg(pl.col("_at").max())
        .sort("client_id")
    )
    assert last.rows() == [("a", D(2024, 1, 10)), ("b", D(2024, 1, 31))]
    no_events = Dataset(
        {k: v for k, v in tables.items() if k != Table.EVENTS}, "bank", D(2023, 1, 1), D(2024, 6, 1)
    )
    last = activity_times(no_events).group_by("client_id").agg(pl.col("_at").max()).sort("client_id")
    assert last.rows() == [("a", D(2024, 5, 1)), ("b", D(2024, 1, 31))]


def test_customer_terms_before_a_cut_are_those_of_the_rows_started_before_it_whole_or_read_anew() -> None:
    """:func:`customer_terms_before` is :func:`customer_terms` of the rows started before the cut. Handed the
    whole table's customer terms, it gives them back as they are when every row started before the cut (the
    list's table at its own date); when a base term is booked after it, the whole table's cut the add-ons before
    it at its start, which the cut does not know: read anew (the add-on keeps its end, 2026-12-31)."""
    from churnml.labels import customer_terms, customer_terms_before

    cut = datetime(2026, 12, 5)
    subs = pl.DataFrame(
        {
            # a: a plan and an add-on bought before it; b: add-ons only, a base plan booked from 2026-12-10
            "client_id": ["a", "a", "b", "b"],
            "start_date": [
                datetime(2026, 1, 1),
                datetime(2025, 6, 1),
                datetime(2026, 1, 1),
                datetime(2026, 12, 10),
            ],
            "end_date": [
                datetime(2026, 12, 31),
                datetime(2026, 6, 30),
                datetime(2026, 12, 31),
                datetime(2027, 12, 9),
            ],
            "mrr": [100.0, 10.0, 20.0, 120.0],
            "is_addon": [False, True, True, False],
        }
    )
    whole = customer_terms(subs)
    # the whole table's: b's add-on cut at its plan's start
    assert whole.select("client_id", "end_date").rows() == [
        ("a", datetime(2026, 12, 31)),
        ("a", datetime(2026, 1, 1)),
        ("b", datetime(2026, 12, 10)),
        ("b", datetime(2027, 12, 9)),
    ]
    known = [("a", datetime(2026, 12, 31)), ("a", datetime(2026, 1, 1)), ("b", datetime(2026, 12, 31))]
    for customer in (None, whole):
        before = customer_terms_before(subs, cut, customer)
        assert before.select("client_id", "end_date").rows() == known
        assert_frame_equal(before, customer_terms(subs.filter(pl.col("start_date") < cut)), check_exact=True)
    # nothing booked after the cut: the whole table's customer terms, not read again
    started = subs.filter(pl.col("start_date") < cut)
    held = customer_terms(started)
    assert customer_terms_before(started, cut, held) is held


@pytest.mark.parametrize("before", [False, True])
def test_running_max_per_client_is_the_window_per_client(before: bool) -> None:
    """:func:`running_max_per_client` gives Polars' window ``cum_max()`` (``shift(1)`` with ``before``) over
    ``client_id``: on clients' rows together (numpy), ties and equal ends across clients included; on rows of a
    client apart, with a null, or on floats (the window itself)."""
    from churnml.labels import running_max_per_client

    d = [datetime(2024, m, 1) for m in range(1, 8)]
    terms = pl.DataFrame(
        {
            "client_id": ["a", "a", "a", "b", "b", "c", "d", "d"],
            "_end": [d[3], d[1], d[5], d[6], d[6], d[0], d[2], d[4]],
        }
    )
    reached = {
        False: [d[3], d[3], d[5], d[6], d[6], d[0], d[2], d[4]],
        True: [None, d[3], d[3], None, d[6], None, None, d[2]],
    }
    assert running_max_per_client(terms, "_end", before=before).to_list() == reached[before]
    window = pl.col("_end").cum_max()
    expected = (window.shift(1) if before else window).over("client_id")
    apart = terms.sort("_end")  # a client's rows apart
    with_null = terms.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(None).otherwise("_end").alias("_end")
    )
    floats = terms.with_columns(pl.col("_end").dt.epoch("s").cast(pl.Float64))
    for frame in (
        terms,
        apart,
        with_null,
        floats,
        terms.with_columns(pl.col("_end").dt.date()),
        terms.head(0),
    ):
        got = running_max_per_client(frame, "_end", before=before)
        assert_frame_equal(got.to_frame(), frame.select(expected), check_exact=True)
