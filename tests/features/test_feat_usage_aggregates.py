"""The usage family from its client-week aggregates (``usage_aggregates`` / ``usage_features_from``): the
aggregates of a hand-built events table hold the values written out below, and the features computed from
aggregates built on separate ranges of weeks (what a client-week store carried from one list to the next
would hold: the old weeks stored, the new weeks aggregated from the raw file) are those of the raw events,
bit for bit."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import narwhals as nw
import polars as pl
import pytest
from feature_helpers import make_dataset
from polars.testing import assert_frame_equal

from churnml.config import FeaturesConfig
from churnml.contract.schemas import CLIENT_ID, Events, Table
from churnml.features._grid import CDAY, CIDX, DAY, WEEK, client_week_grid, dense_shifts, week_axis
from churnml.features.usage import (
    UsageAggregates,
    dated_events,
    usage_aggregates,
    usage_features,
    usage_features_from,
)

CFG = FeaturesConfig()
S = date(2024, 9, 2)  # a Monday, 35 weeks after the data's first day (2024-01-01, week -35)
NEXT = S + timedelta(weeks=1)
DATA_START = datetime(2024, 1, 1)


def ev(
    client: str, ts: datetime, event: str, user: str | None, value: float, count: int | None = None
) -> dict:
    return {"client_id": client, "ts": ts, "event": event, "user_id": user, "value": value, "count": count}


TABLES = {
    Table.CLIENTS: [
        {"client_id": "old", "created_at": datetime(2020, 5, 1)},
        {"client_id": "onb", "created_at": datetime(2024, 1, 8)},
        {"client_id": "new", "created_at": datetime(2024, 6, 3)},
    ],
    Table.EVENTS: [
        ev("old", datetime(2024, 1, 2), "login", "u1", 0.1),  # week -35
        ev("old", datetime(2024, 1, 3), "login", "u2", 0.2, count=3),  # week -35: 3 logins
        ev("old", datetime(2024, 1, 4, 8), "login", "u1", 0.3),  # week -35, u1 again
        ev("old", datetime(2024, 3, 5), "report_view", "u2", 0.7),  # week -26
        ev("old", datetime(2024, 8, 26), "data_export", None, 1.3),  # week -1, no user
        ev("onb", datetime(2024, 1, 9), "login", "u7", 2.1),  # week -34
        ev("onb", datetime(2024, 1, 16), "login", "u7", 0.3),  # week -33
        ev("onb", datetime(2024, 4, 15), "login", "u7", 0.6),  # week -20
        ev("new", datetime(2024, 6, 4), "login", "u9", 4.4),  # week -13
        ev("new", datetime(2024, 8, 20), "edit", "u9", 0.1, count=0),  # week -2: a row of no occurrence
    ],
}


def _day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _setup() -> tuple:
    """(the events as a lazy frame, the axis of the snapshots S and NEXT, the client x week grid)."""
    axis = week_axis(pl.Series([S, NEXT]), DATA_START)
    events = nw.from_native(make_dataset(TABLES).tables[Table.EVENTS].lazy())
    return events, axis, _grid(axis)


def _grid(axis):  # type: ignore[no-untyped-def]
    """The client x week grid of the three clients on ``axis``."""
    ids = [r["client_id"] for r in TABLES[Table.CLIENTS]]
    created = [_day(r["created_at"].date()) for r in TABLES[Table.CLIENTS]]
    clients = nw.from_native(pl.LazyFrame({CLIENT_ID: ids, CIDX: list(range(len(ids))), CDAY: created}))
    return client_week_grid(clients, axis)


def _sorted(frame: nw.LazyFrame, keys: list[str]) -> pl.DataFrame:
    return frame.collect().to_native().with_columns(pl.col(pl.Categorical).cast(pl.String)).sort(keys)


def test_usage_aggregates_hold_the_client_week_rows():
    events, axis, _ = _setup()
    agg = usage_aggregates(events, axis)
    kinds = _sorted(agg.kinds, [CLIENT_ID, WEEK, Events.EVENT])
    assert kinds.select(
        CLIENT_ID, WEEK, Events.EVENT, "_n_events", "_last_event_day", "_n_user_rows"
    ).rows() == [
        ("new", -13, "login", 1, _day(date(2024, 6, 4)), 1),
        ("new", -2, "edit", 0, _day(date(2024, 8, 20)), 1),
        ("old", -35, "login", 5, _day(date(2024, 1, 4)), 3),
        ("old", -26, "report_view", 1, _day(date(2024, 3, 5)), 1),
        ("old", -1, "data_export", 1, _day(date(2024, 8, 26)), 0),
        ("onb", -34, "login", 1, _day(date(2024, 1, 9)), 1),
        ("onb", -33, "login", 1, _day(date(2024, 1, 16)), 1),
        ("onb", -20, "login", 1, _day(date(2024, 4, 15)), 1),
    ]
    assert kinds.filter(pl.col(CLIENT_ID) == "old", pl.col(WEEK) == -35).get_column("_time").item() == (
        0.1 + 0.2 + 0.3
    )
    users = _sorted(agg.users, [CLIENT_ID, WEEK, Events.USER_ID])
    assert users.select(CLIENT_ID, Events.USER_ID, WEEK).rows() == [
        ("new", "u9", -13),
        ("new", "u9", -2),
        ("old", "u1", -35),
        ("old", "u2", -35),
        ("old", "u2", -26),
        ("onb", "u7", -34),
        ("onb", "u7", -33),
        ("onb", "u7", -20),
    ]


def test_features_from_aggregates_of_week_ranges_equal_the_raw_events():
    """Aggregates built on the weeks before -20 and on the weeks from -20 (each from its own events),
    concatenated: the features of the raw events, bit for bit."""
    events, axis, grid = _setup()
    with dense_shifts(axis.first_week):
        raw = _sorted(usage_features(events, grid, axis, CFG), [CLIENT_ID, WEEK])
        dated = dated_events(events, axis)
        parts = [
            usage_aggregates(dated.filter(weeks).drop(DAY, WEEK), axis)
            for weeks in (nw.col(WEEK) < -20, nw.col(WEEK) >= -20)
        ]
        stored = UsageAggregates(
            kinds=nw.concat([p.kinds for p in parts]), users=nw.concat([p.users for p in parts])
        )
        split = _sorted(usage_features_from(stored, grid, axis, CFG), [CLIENT_ID, WEEK])
    assert raw.height == 3 * (axis.last_week - axis.first_week + 1)
    assert (
        raw.filter(pl.col(CLIENT_ID) == "old", pl.col(WEEK) == -1)
        .get_column("usage_active_users_182d")
        .item()
        == 1
    )
    assert_frame_equal(split, raw, check_exact=True)


def test_calendar_aggregates_are_keyed_by_the_day_their_week_starts_and_come_back_on_another_axis():
    """A store keeps the weeks by the day they start (another list's axis is anchored on another snapshot):
    the aggregates of the axis of S, in calendar form, put on the axis of the week after give that axis's own
    aggregates, and so its features, bit for bit; a week starting on another weekday is refused."""
    from churnml.features.usage import WEEK_DAY, aggregates_on_axis, calendar_aggregates

    events, axis, _ = _setup()
    kinds, users = calendar_aggregates(usage_aggregates(events, axis), axis)
    assert kinds.filter(pl.col(CLIENT_ID) == "old").sort(WEEK_DAY).get_column(WEEK_DAY).to_list() == [
        _day(date(2024, 1, 1)),  # week -35 of S's axis starts on Monday 2024-01-01
        _day(date(2024, 3, 4)),
        _day(date(2024, 8, 26)),
    ]
    assert users.schema[CLIENT_ID] == pl.String and users.schema[Events.USER_ID] == pl.String
    later = week_axis(pl.Series([NEXT, NEXT + timedelta(weeks=1)]), DATA_START)
    grid = _grid(later)
    with dense_shifts(later.first_week):
        own = _sorted(usage_aggregates(events, later).kinds, [CLIENT_ID, WEEK, Events.EVENT])
        moved = _sorted(aggregates_on_axis(kinds, users, later).kinds, [CLIENT_ID, WEEK, Events.EVENT])
        assert_frame_equal(moved, own.select(moved.columns), check_exact=True)
        stored = aggregates_on_axis(kinds, users, later)
        raw = _sorted(usage_features(events, grid, later, CFG), [CLIENT_ID, WEEK])
        again = _sorted(usage_features_from(stored, grid, later, CFG), [CLIENT_ID, WEEK])
    assert_frame_equal(again, raw, check_exact=True)
    tuesday = week_axis(pl.Series([S + timedelta(days=1)]), DATA_START)
    with pytest.raises(ValueError, match="another weekday than the snapshots"):
        aggregates_on_axis(kinds, users, tuesday)
