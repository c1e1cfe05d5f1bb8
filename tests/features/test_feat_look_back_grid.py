"""The usage family's look-back grid: a spine whose snapshots start late (next week's list) is featurised
on the weeks its windows reach back to, not from the data's first activity; the weeks before the grid are
carried in, so the features are those of the whole grid, bit for bit."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import narwhals as nw
import polars as pl
import pytest
from feature_helpers import dataset_of, make_dataset, random_tables, spine
from polars.testing import assert_frame_equal

from churnml.config import FeaturesConfig
from churnml.contract.schemas import CLIENT_ID, Table
from churnml.features import build_features
from churnml.features._grid import (
    CDAY,
    CIDX,
    CWEEK,
    WEEK,
    WeekAxis,
    client_week_grid,
    dense_shifts,
    existing_weeks,
    look_back_axis,
    safe_div,
    week_axis,
)
from churnml.features.build import contact_observed_from
from churnml.features.usage import usage_features, usage_look_back_weeks
from churnml.scoring.window import feature_lookback_days

CFG = FeaturesConfig()
S = date(2024, 9, 2)  # a Monday, 35 weeks after the data's first day (2024-01-01)
NEXT = S + timedelta(weeks=1)


def ev(client: str, ts: datetime, event: str, user: str, value: float) -> dict:
    return {"client_id": client, "ts": ts, "event": event, "user_id": user, "value": value}


# 30 weeks of look-back before S's row (week -1): the grid starts at week -31 (2024-01-29); the data at
# week -35 (2024-01-01). Values with tenths: running sums whose bits depend on the order of the additions.
TABLES = {
    Table.CLIENTS: [
        {"client_id": "old", "created_at": datetime(2020, 5, 1)},
        {"client_id": "onb", "created_at": datetime(2024, 1, 8)},  # onboarding weeks -34 .. -22
        {"client_id": "new", "created_at": datetime(2024, 6, 3)},
    ],
    Table.EVENTS: [
        ev("old", datetime(2024, 1, 2), "login", "u1", 0.1),  # before the grid: the last login
        ev("old", datetime(2024, 1, 30), "report_view", "u2", 0.2),  # the grid's first week
        ev("old", datetime(2024, 3, 5), "report_view", "u2", 0.7),
        ev("old", datetime(2024, 8, 26), "data_export", "u2", 1.3),  # the week before S
        ev("onb", datetime(2024, 1, 9), "login", "u7", 2.1),  # onboarding week 1 (before the grid)
        ev("onb", datetime(2024, 1, 16), "login", "u7", 0.3),  # onboarding week 2 (before the grid)
        ev("onb", datetime(2024, 4, 15), "login", "u7", 0.6),  # after its onboarding weeks
        ev("new", datetime(2024, 6, 4), "login", "u9", 4.4),
        ev("new", datetime(2024, 8, 20), "edit", "u9", 0.1),
    ],
}


def _grid_clients(ids: list[str]) -> nw.LazyFrame:
    created = {r["client_id"]: r["created_at"] for r in TABLES[Table.CLIENTS]}
    days = [(created[c].date() - date(1970, 1, 1)).days for c in ids]
    return nw.from_native(pl.LazyFrame({CLIENT_ID: ids, CIDX: list(range(len(ids))), CDAY: days}))


def _usage(axis: WeekAxis, ids: list[str]) -> tuple[pl.DataFrame, int]:
    """(usage features at the spine's rows -1 and 0, rows of the grid they were computed on)."""
    grid = client_week_grid(_grid_clients(ids), axis)
    events = nw.from_native(make_dataset(TABLES).tables[Table.EVENTS].lazy())
    with dense_shifts(axis.first_week):
        out = usage_features(events, grid, axis, CFG).filter(nw.col(WEEK).is_in([-1, 0]))
        frame = out.collect().to_native().sort(WEEK, CLIENT_ID)
    return frame, grid.select(nw.len()).collect().to_native().item()


def test_the_usage_look_back_is_the_scoring_window_s() -> None:
    assert usage_look_back_weeks(CFG) == 30
    assert 7 * usage_look_back_weeks(CFG) == feature_lookback_days(CFG)


def test_the_look_back_axis_starts_at_the_look_back_and_keeps_the_data_s_origin() -> None:
    whole = week_axis(pl.Series([S, NEXT]), datetime(2024, 1, 1, 9))
    assert (whole.first_week, whole.last_week) == (-35, 0)
    axis = look_back_axis(whole, usage_look_back_weeks(CFG))
    assert (axis.first_week, axis.last_week, axis.origin_week, axis.observed_from) == (-31, 0, -35, -35)
    assert look_back_axis(whole, 40) == whole  # a look-back before the data: the whole grid


def test_an_old_client_is_observed_from_the_data_s_origin_on_a_look_back_grid() -> None:
    anchor = (S - date(1970, 1, 1)).days
    axis = WeekAxis(anchor=anchor, first_week=-31, last_week=0, origin_week=-35)
    grid = client_week_grid(_grid_clients(["old", "new"]), axis).collect().to_native()
    first = grid.filter(pl.col(WEEK) == -31).sort(CLIENT_ID)
    new_week = ((date(2024, 6, 3) - date(1970, 1, 1)).days - anchor) // 7
    assert first.get_column(CWEEK).to_list() == [new_week, -35]  # new, old


def test_usage_on_the_look_back_grid_equals_the_whole_grid_on_fewer_rows() -> None:
    ids = ["new", "old", "onb"]
    whole = week_axis(pl.Series([S, NEXT]), datetime(2024, 1, 1))
    short, short_rows = _usage(look_back_axis(whole, usage_look_back_weeks(CFG)), ids)
    full, full_rows = _usage(whole, ids)
    assert (short_rows, full_rows) == (3 * 32, 3 * 36)
    assert_frame_equal(short, full, check_exact=True)
    at_s = short.filter(pl.col(WEEK) == -1).sort(CLIENT_ID)
    # from rows before the grid: the last login (2024-01-02), two onboarding weeks of 13
    assert at_s.get_column("usage_days_since_login").to_list() == [
        (S - date(2024, 6, 4)).days,
        (S - date(2024, 1, 2)).days,
        (S - date(2024, 4, 15)).days,
    ]
    assert at_s.get_column("usage_onboarding_progress").to_list()[2] == 2 / 13


def test_build_features_of_a_late_spine_equal_the_whole_grid_s() -> None:
    keys = spine(["new", "old", "onb"], [S, NEXT])
    dataset = make_dataset(TABLES)
    assert_frame_equal(
        build_features(dataset, keys, CFG),
        build_features(dataset, keys, CFG, whole_grid=True),
        check_exact=True,
    )


@pytest.mark.parametrize("seed", [3, 8])
def test_random_data_scored_late_gives_the_whole_grid_s_features(seed: int) -> None:
    start, end = datetime(2023, 1, 2), datetime(2024, 12, 2)
    frames = random_tables(seed, start, end, n_clients=8, scale=4)
    keys = spine(
        frames[Table.CLIENTS].get_column(CLIENT_ID).to_list(), [date(2024, 10, 7), date(2024, 10, 14)]
    )
    dataset = dataset_of(frames, start, end)
    assert_frame_equal(
        build_features(dataset, keys, CFG),
        build_features(dataset, keys, CFG, whole_grid=True),
        check_exact=True,
    )


def test_a_rate_over_clients_all_past_the_window_is_a_true_division() -> None:
    """Where every row is older than the window, the denominator is still a column: 28 / 13, not
    28 * (1 / 13) (one ulp apart), which is what Polars computes for a division by a constant."""
    rows = nw.from_native(pl.LazyFrame({WEEK: [20, 25, 30], CWEEK: [0, 0, 0], "n": [28.0, 28.0, 28.0]}))
    out = rows.select(safe_div(nw.col("n"), existing_weeks(13)).alias("rate")).collect().to_native()
    assert out.get_column("rate").to_list() == [28 / 13] * 3


# A CRM whose invoices go back to 2023-01 while its product analytics begin on 2024-06-03 (a Monday),
# long after (>= LATE_TABLE_DAYS): the usage family observes its clients from the log's start.
LATE = {
    Table.CLIENTS: [
        {"client_id": "old", "created_at": datetime(2023, 6, 1)},  # created after the data, before the log
        {"client_id": "young", "created_at": datetime(2024, 7, 1)},  # created after the log began
    ],
    Table.PAYMENTS: [
        {"client_id": "old", "paid_at": datetime(2023, 1, 2), "amount": 100.0},
        {"client_id": "young", "paid_at": datetime(2024, 7, 1), "amount": 100.0},
    ],
    Table.EVENTS: [
        ev("old", datetime(2024, 6, 3, 9), "login", "u1", 1.0),
        ev("old", datetime(2024, 7, 29), "login", "u1", 1.0),
        ev("young", datetime(2024, 7, 2), "login", "u2", 1.0),
    ],
}


@pytest.mark.parametrize("whole_grid", [False, True])
def test_a_usage_log_that_began_late_observes_the_clients_from_its_start(whole_grid: bool) -> None:
    dataset = make_dataset(LATE)
    assert dataset.usage_observed_from() == datetime(2024, 6, 3, 9)
    snap = date(2024, 9, 2)  # 91 days after the log began, 609 after the first invoice
    got = build_features(dataset, spine(["old", "young"], [snap]), CFG, whole_grid=whole_grid).sort(CLIENT_ID)
    # the old client's onboarding was never observed (null, not 0% of its first weeks); the young one's was
    assert got.get_column("usage_onboarding_progress").to_list()[0] is None
    assert got.get_column("usage_onboarding_progress").to_list()[1] == 1 / 9
    # a 182-day window reaching before the log began is truncated, not a full window of the data's 609
    # days: unknown (an unresolved auto), or scaled from the log's 91 days
    assert got.get_column("usage_events_182d").to_list() == [None, None]
    scaled = FeaturesConfig(unobserved_windows="scaled")
    rescaled = build_features(dataset, spine(["old", "young"], [snap]), scaled, whole_grid=whole_grid)
    assert rescaled.sort(CLIENT_ID).get_column("usage_events_182d").to_list() == [2 * 182 / 91, 1 * 182 / 91]
    # the old client's weeks of use count from the log's start: 2 logins over 13 weeks, not 2 over 26
    assert got.get_column("usage_logins_per_week_182d").to_list()[0] == pytest.approx(2 / 13)


@pytest.mark.parametrize(
    ("first_event", "late"), [(datetime(2023, 1, 8), False), (datetime(2023, 1, 9), True)]
)
def test_a_usage_log_that_began_within_a_week_of_the_data_is_observed_from_the_data_s_start(
    first_event: datetime, late: bool
) -> None:
    # the first invoice on 2023-01-02: a first event 6 days after it began with the data, 7 days after it late
    early = {**LATE, Table.EVENTS: [*LATE[Table.EVENTS], ev("old", first_event, "login", "u1", 1.0)]}
    assert make_dataset(early).usage_observed_from() == (first_event if late else None)


# A usage-billed API's export from 2026-07-01 (a Wednesday): its daily aggregates (100 calls a day, in `count`)
# and invoices from that day (issued on the 1st, paid on the 4th), its terms those running then, the first
# started on 2026-06-04 (27 days before).
API_EXPORT = {
    Table.CLIENTS: [{"client_id": "A", "created_at": datetime(2025, 1, 1)}],
    Table.SUBSCRIPTIONS: [
        {
            "client_id": "A",
            "start_date": datetime(2026, 6 + i, 4),
            "end_date": datetime(2026, 7 + i, 4),
            "mrr": 49.0,
        }
        for i in range(4)
    ],
    Table.PAYMENTS: [
        {
            "client_id": "A",
            "issued_at": datetime(2026, 7 + i, 1),
            "paid_at": datetime(2026, 7 + i, 4, 1),
            "amount": 49.0,
            "invoice_id": f"in{i}",
        }
        for i in range(3)
    ],
    Table.EVENTS: [
        {**ev("A", datetime(2026, 7, 1) + timedelta(days=d), "completions", "key_1", 0.2), "count": 100}
        for d in range(89)  # 2026-07-01 .. 2026-09-27
    ],
}


@pytest.mark.parametrize(
    ("snap", "events_7d", "events_28d", "ratio"),
    [
        # 12 days of the log: the 28 days reach before it (unknown, was 1,200 as if June had no call), and no
        # baseline day yet (null, was 1,201 times the baseline of June's unrecorded days)
        (date(2026, 7, 13), 700.0, None, None),
        # 2,800 calls in the last 28 days against 6,100 in the 63 days before them from the log's first week
        # (2026-06-29; was 91 days from the first term's: 1.49)
        (date(2026, 9, 28), 700.0, 2800.0, 2801 / (6100 * 28 / 63 + 1)),
    ],
)
def test_a_usage_log_that_began_weeks_after_the_running_terms_is_observed_from_its_start(
    snap: date, events_7d: float, events_28d: float | None, ratio: float | None
) -> None:
    dataset = make_dataset(API_EXPORT)
    assert dataset.first_activity() == datetime(2026, 6, 4)
    assert dataset.usage_observed_from() == datetime(2026, 7, 1)
    row = build_features(dataset, spine(["A"], [snap]), CFG).row(0, named=True)
    assert (row["usage_events_7d"], row["usage_events_28d"]) == (events_7d, events_28d)
    assert row["usage_events_ratio"] == (None if ratio is None else pytest.approx(ratio))


@pytest.mark.parametrize(
    ("cfg", "snap", "paid_28d", "paid_91d", "ratio", "z"),
    [
        # 12 days of the payments log: the 28 days reach before it (unknown, was 49 as if June had no bill) and
        # no baseline day yet (null, was 50.0: 49 against the nothing of June's unrecorded weeks; z was 12.25)
        (CFG, date(2026, 7, 13), None, None, None, None),
        # 49 paid in the last 28 days against 98 in the 63 days before them from the log's first week
        # (2026-06-29; was 91 days from the first term's week: 1.60); the 91 days reach back before the log's 89
        # (was 147, the truncated count)
        (CFG, date(2026, 9, 28), 49.0, None, 50 / (98 * 28 / 63 + 1), 0.0602075894685874),
        # scaled: the 147 of the log's 89 days scaled to the window; the 12 days' 49 to 28 days
        (
            FeaturesConfig(unobserved_windows="scaled"),
            date(2026, 7, 13),
            49 * 28 / 12,
            49 * 91 / 12,
            None,
            None,
        ),
        (
            FeaturesConfig(unobserved_windows="scaled"),
            date(2026, 9, 28),
            49.0,
            147 * 91 / 89,
            1.1221945,
            0.0602076,
        ),
    ],
)
def test_a_payments_log_that_began_weeks_after_the_running_terms_is_observed_from_its_start(
    cfg: FeaturesConfig,
    snap: date,
    paid_28d: float | None,
    paid_91d: float | None,
    ratio: float | None,
    z: float | None,
) -> None:
    dataset = make_dataset(API_EXPORT)
    row = build_features(dataset, spine(["A"], [snap]), cfg).row(0, named=True)
    assert row["payments_paid_7d"] == 0.0
    assert row["payments_paid_28d"] == (None if paid_28d is None else pytest.approx(paid_28d))
    assert row["payments_paid_91d"] == (None if paid_91d is None else pytest.approx(paid_91d))
    assert row["payments_paid_ratio"] == (None if ratio is None else pytest.approx(ratio))
    assert row["payments_paid_z"] == (None if z is None else pytest.approx(z))
    # the subscription terms begin with the data: their columns keep its start (the 91 days at 09-28 are seen)
    assert row["payments_mrr"] == 49.0
    unknown = snap < date(2026, 9, 3) and cfg.unobserved_windows != "scaled"
    assert row["payments_downgrades_91d"] == (None if unknown else 0.0)
    assert dataset.first_activity() == datetime(2026, 6, 4)
    assert dataset.payments_observed_from() == datetime(2026, 7, 1)


@pytest.mark.parametrize(
    ("left_out", "from_log", "n_columns"), [(Table.PAYMENTS, False, 12), (Table.SUBSCRIPTIONS, True, 42)]
)
def test_every_payments_column_is_told_from_the_log_or_the_terms_as_it_is_computed(
    left_out, from_log, n_columns
) -> None:
    """features.payments.from_payments_log names the terms' columns in a list of its own (TERM_PATTERNS): every
    payments_* column built from the terms alone is none of the log's, every one built from the payments alone is
    (a column added to subscription_features and not to the list would be resolved from a late log's start)."""
    from churnml.features.payments import from_payments_log

    data = {t: rows for t, rows in API_EXPORT.items() if t != left_out}
    table = build_features(make_dataset(data), spine(["A"], [date(2026, 9, 28)]), CFG)
    columns = [c for c in table.columns if c.startswith("payments_")]
    assert len(columns) == n_columns
    assert [c for c in columns if from_payments_log(c) != from_log] == []


def test_validate_and_train_say_a_payments_log_that_began_late() -> None:
    from churnml.features.payments import late_payments_note

    assert late_payments_note(make_dataset(API_EXPORT)) == (
        "data: payments start on 2026-07-01, 27 days after the first subscription term (2026-06-04): the payment "
        "features observe the clients from then (a window reaching before it is unknown, not a time without "
        "payments). If the billing export was cut there, export the invoices from the first term on"
    )
    billed = [{"client_id": "A", "paid_at": datetime(2026, 6, 4, 1), "amount": 49.0, "invoice_id": "in0"}]
    assert late_payments_note(make_dataset({**API_EXPORT, Table.PAYMENTS: billed})) is None


def test_a_payments_log_that_began_with_the_terms_is_unchanged() -> None:
    # the same client billed from its first term (2026-06-04): payments are observed from the data's start
    billed = [
        {"client_id": "A", "paid_at": datetime(2026, 6 + i, 4, 1), "amount": 49.0, "invoice_id": f"in{i}"}
        for i in range(4)
    ]
    dataset = make_dataset({**API_EXPORT, Table.PAYMENTS: billed})
    early = build_features(dataset, spine(["A"], [date(2026, 7, 13)]), CFG).row(0, named=True)
    # the June bill counts: 49 in the last 28 days against 49 in the 14 days before them (from 2026-06-01)
    assert early["payments_paid_28d"] == 49.0
    assert early["payments_paid_ratio"] == pytest.approx(50 / (49 * 28 / 14 + 1))
    row = build_features(dataset, spine(["A"], [date(2026, 9, 28)]), CFG).row(0, named=True)
    # 49 in the last 28 days against 147 in the 91 days before them (from the first term's week, 2026-06-01)
    assert row["payments_paid_91d"] == 147.0
    assert row["payments_paid_ratio"] == pytest.approx(50 / (147 * 28 / 91 + 1))
    assert dataset.payments_observed_from() is None


@pytest.mark.parametrize(
    ("first_bill", "terms", "late"),
    [
        (datetime(2026, 6, 24, 23), True, False),  # 20 days after the first term: a bill in arrears, a trial
        (datetime(2026, 6, 25), True, True),  # 21 days: the log began late
        (datetime(2026, 9, 1), False, False),  # no terms: a shop's orders are its first activity
    ],
)
def test_a_payments_log_is_late_three_weeks_after_the_first_term(
    first_bill: datetime, terms: bool, late: bool
) -> None:
    bills = [{"client_id": "A", "paid_at": first_bill, "amount": 49.0}, *API_EXPORT[Table.PAYMENTS]]
    tables = {**API_EXPORT, Table.PAYMENTS: bills}
    if not terms:
        del tables[Table.SUBSCRIPTIONS]
    dataset = make_dataset(tables)
    assert dataset.payments_observed_from() == (first_bill if late else None)


# Invoices from 2023-01, the contact logs (communications and tickets) from 2024-06-03 (a Monday; a helpdesk
# adopted later): one inbound email and one ticket a week since. The communication and support families observe
# the client from the logs' start: a steady contact reads as steady, not as a surge over the invoices' years.
CONTACT_START = datetime(2024, 6, 3, 10)
LATE_CONTACT = {
    Table.CLIENTS: [{"client_id": "A", "created_at": datetime(2023, 1, 2)}],
    Table.PAYMENTS: [
        {"client_id": "A", "paid_at": datetime(2023, 1, 5) + timedelta(days=30 * i), "amount": 100.0}
        for i in range(19)
    ],
    Table.COMMUNICATIONS: [
        {"client_id": "A", "ts": CONTACT_START + timedelta(weeks=i), "channel": "email", "direction": "in"}
        for i in range(30)
    ],
    Table.TICKETS: [
        {
            "client_id": "A",
            "opened_at": CONTACT_START + timedelta(weeks=i, hours=1),
            "closed_at": CONTACT_START + timedelta(weeks=i, hours=5),
            "kind": "question",
        }
        for i in range(30)
    ],
}


@pytest.mark.parametrize(
    ("cfg", "snap", "ratio", "count_28d", "count_91d", "count_182d"),
    [
        # 4 weeks of contact: no baseline week yet (was 5.0: 4 against 0 in the 13 weeks before)
        (CFG, date(2024, 7, 1), None, 4.0, None, None),
        # 9 weeks: 4 in the last 4 against 5 in the 5 before (was 1.97); the 91 and 182 days reach before the logs
        (CFG, date(2024, 8, 5), 1.0, 4.0, None, None),
        (CFG, date(2024, 12, 2), 1.0, 4.0, 13.0, 26.0),
        # scaled: the 9 contacts of the logs' 63 days scaled to the window (was the truncated 9)
        (FeaturesConfig(unobserved_windows="scaled"), date(2024, 8, 5), 1.0, 4.0, 13.0, 26.0),
    ],
)
def test_contact_logs_that_began_late_observe_the_clients_from_their_start(
    cfg: FeaturesConfig,
    snap: date,
    ratio: float | None,
    count_28d: float,
    count_91d: float | None,
    count_182d: float | None,
) -> None:
    dataset = make_dataset(LATE_CONTACT)
    assert contact_observed_from(dataset) == CONTACT_START
    row = build_features(dataset, spine(["A"], [snap]), cfg).row(0, named=True)
    assert (row["comm_inbound_ratio"], row["support_tickets_ratio"]) == (ratio, ratio)
    assert (row["comm_touches_in_28d"], row["support_tickets_28d"]) == (count_28d, count_28d)
    assert row["support_tickets_91d"] == count_91d
    assert (row["comm_touches_in_182d"], row["support_tickets_182d"]) == (count_182d, count_182d)


def test_contact_logs_that_began_with_the_data_are_observed_from_the_data_s_start() -> None:
    early = {
        **LATE_CONTACT,
        Table.PAYMENTS: [{"client_id": "A", "paid_at": datetime(2024, 4, 1), "amount": 1.0}],
    }
    assert contact_observed_from(make_dataset(early)) is None  # 63 days before the first contact: not late
