"""Usage features on a hand-built client whose logins fall on known days."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest
from feature_helpers import features_at, make_dataset
from hypothesis import given, settings
from hypothesis import strategies as st

from churnml.config import FeaturesConfig
from churnml.contract.schemas import Table

S1 = date(2024, 3, 4)  # a Monday
S2 = date(2024, 3, 11)


def ev(client: str, ts: datetime, event: str, user: str = "u1", value: float | None = None) -> dict:
    return {"client_id": client, "ts": ts, "event": event, "user_id": user, "value": value}


TABLES = {
    Table.CLIENTS: [
        {"client_id": "old", "created_at": datetime(2023, 6, 1)},
        {"client_id": "young", "created_at": datetime(2024, 2, 20)},
        {"client_id": "ancient", "created_at": datetime(2005, 1, 1)},
    ],
    Table.EVENTS: [
        ev("old", datetime(2024, 1, 1, 9), "login", value=60),  # 63 days before S1: in 91d, not 28d
        ev("old", datetime(2024, 2, 5), "login", value=60),  # exactly 28 days before S1: in 28d
        ev("old", datetime(2024, 2, 10), "data_export"),
        ev("old", datetime(2024, 2, 26), "login", value=30),  # 7 days before S1: in 7d
        ev("old", datetime(2024, 3, 1), "report_view", user="u2", value=10),
        ev("old", datetime(2024, 3, 3, 23, 59), "login", value=30),  # last minute before S1
        ev("old", datetime(2024, 3, 4, 0, 0), "login"),  # AT the snapshot: not seen at S1
        ev("young", datetime(2024, 2, 21), "login"),
        ev("young", datetime(2024, 2, 28), "login"),
        ev("ancient", datetime(2024, 2, 28), "login"),
    ],
}


@pytest.fixture(scope="module")
def frame():
    return features_at(make_dataset(TABLES), ["old", "young", "ancient"], [S1, S2])


@pytest.mark.parametrize(
    ("client", "snapshot", "feature", "expected"),
    [
        ("old", S1, "usage_logins_7d", 2),
        ("old", S1, "usage_logins_28d", 3),
        ("old", S1, "usage_logins_91d", None),  # 91 days reach back before the data: unknown
        ("old", S1, "usage_logins_182d", None),
        ("old", S1, "usage_events_7d", 3),
        ("old", S1, "usage_events_28d", 5),
        ("old", S1, "usage_active_users_7d", 2),
        ("old", S1, "usage_active_users_91d", None),
        ("old", S1, "usage_event_kinds_7d", 2),
        ("old", S1, "usage_event_kinds_28d", 3),
        ("old", S1, "usage_key_share_7d", 1 / 3),
        ("old", S1, "usage_time_7d", 70),
        ("old", S1, "usage_time_91d", None),
        ("old", S1, "usage_exports_28d", 1),
        ("old", S1, "usage_exports_7d", 0),
        ("old", S1, "usage_days_since_export", 23),
        ("old", S1, "usage_days_since_login", 1),
        ("old", S1, "usage_days_since_event", 1),
        # 3 logins in the last 4 weeks against 1 in the 13 weeks before, of which only 5 hold data
        # (the data starts on 2024-01-01, 9 weeks before S1): (3 + 1) / (1 * 4 / 5 + 1)
        ("old", S1, "usage_logins_ratio", 4 / (4 / 5 + 1)),
        ("old", S2, "usage_logins_7d", 1),  # the login at 00:00 on S1 belongs to the next week
        ("old", S2, "usage_days_since_login", 7),
        ("old", S2, "usage_active_users_7d", 1),
        ("old", S2, "usage_active_users_28d", 2),
        # young client: 13 days old at S1, seen over the 13 days it existed (not the two weeks it touched)
        ("young", S1, "account_tenure_days", 13),
        ("young", S1, "usage_logins_91d", None),  # older than the client: unknown
        ("young", S1, "usage_logins_per_week_91d", 2 * 7 / 13),
        ("young", S1, "usage_onboarding_progress", 1.0),
        ("young", S2, "usage_onboarding_progress", 2 / 3),
        ("young", S1, "usage_logins_ratio", None),  # no baseline week yet
        ("young", S1, "usage_days_since_export", None),
        # created long before the data: onboarding not observed; rates over the weeks with data
        ("ancient", S1, "usage_onboarding_progress", None),
        ("ancient", S1, "account_tenure_days", 7002),
        ("ancient", S1, "usage_logins_per_week_182d", 1 / 9),  # 9 weeks of data before S1
    ],
)
def test_usage_values(frame, at, client, snapshot, feature, expected):
    got = at(frame, client, snapshot, feature)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


SCALED = FeaturesConfig(unobserved_windows="scaled")


@pytest.mark.parametrize(
    ("client", "snapshot", "feature", "expected"),
    [
        # the data starts on 2024-01-01: 63 days before S1, 70 before S2; a longer window is the count over
        # those days scaled to the window (old: 4 logins and 190 seconds before S1, 2 users)
        ("old", S1, "usage_logins_91d", 4 * 91 / 63),
        ("old", S1, "usage_logins_182d", 4 * 182 / 63),
        ("old", S1, "usage_time_91d", 190 * 91 / 63),
        # distinct users are no sum: 2 users over 63 days are 2 users, not 2.9 (an app's single user read 6.5)
        ("old", S1, "usage_active_users_91d", 2),
        ("old", S1, "usage_event_kinds_182d", 3),
        ("old", S2, "usage_logins_91d", 5 * 91 / 70),
        ("old", S1, "usage_logins_28d", 3),  # a window the data covers is not scaled
        ("old", S1, "usage_logins_per_week_91d", 4 / 9),  # rates are not windowed sums: as before
        # scaled by the data's days, not the client's: created on 2024-02-20, 2 logins
        ("young", S1, "usage_logins_91d", 2 * 91 / 63),
    ],
)
def test_scaled_windows_are_the_count_over_the_data_at_the_windows_rate(client, snapshot, feature, expected):
    frame = features_at(make_dataset(TABLES), ["old", "young", "ancient"], [S1, S2], SCALED)
    got = frame.filter((pl.col("client_id") == client) & (pl.col("snapshot") == snapshot))[feature][0]
    assert got == pytest.approx(expected, rel=1e-12)


def test_a_snapshot_on_the_datas_first_day_has_no_window_even_scaled() -> None:
    first = date(2024, 1, 1)  # the first activity's day (a Monday: on the grid)
    frame = features_at(make_dataset(TABLES), ["old"], [first, S1], SCALED)
    at_first = frame.filter(pl.col("snapshot") == first)
    assert at_first["usage_logins_7d"][0] is None
    assert at_first["usage_logins_182d"][0] is None


def test_slope_and_zscore_follow_the_weekly_counts(build, at):
    """Logins per week 1, 2, ..., 13 before S1: least-squares slope 1/week; mean 7 -> relative 1/8."""
    rows = [{"client_id": "c", "created_at": datetime(2023, 1, 2)}]
    early = date.fromordinal(S1.toordinal() - 7 * 40)  # data starts 40 weeks before S1 (not a login)
    events = [ev("c", datetime(early.year, early.month, early.day), "page_view")]
    for k in range(13):  # week k before S1 (k = 0: the last week) gets 13 - k logins
        day = date.fromordinal(S1.toordinal() - 7 * (k + 1) + 2)
        events += [ev("c", datetime(day.year, day.month, day.day, 12), "login") for _ in range(13 - k)]
    frame = build({Table.CLIENTS: rows, Table.EVENTS: events}, ["c"], [S1])
    assert at(frame, "c", S1, "usage_logins_slope") == pytest.approx(1 / (7 + 1))
    # last 4 weeks mean 11.5 vs the 26 weeks before: 9 weeks with 1..9 and 17 observed empty weeks
    base = [float(x) for x in range(1, 10)] + [0.0] * 17
    mean = sum(base) / 26
    sd = (sum((x - mean) ** 2 for x in base) / 25) ** 0.5
    assert at(frame, "c", S1, "usage_logins_z") == pytest.approx((11.5 - mean) / (sd + 1))


def test_categorical_event_names_and_users_give_the_same_features(frame) -> None:
    """read_dataset holds events.event and events.user_id as Categorical: the features must not change."""
    from churnml.contract.schemas import CONTRACT
    from churnml.contract.validation import compact_table

    plain = make_dataset(TABLES)
    compact = plain.with_tables(events=compact_table(plain.tables[Table.EVENTS], CONTRACT[Table.EVENTS]))
    assert compact.tables[Table.EVENTS].schema["event"] == pl.Categorical()
    assert features_at(compact, ["old", "young", "ancient"], [S1, S2]).equals(frame)


@pytest.mark.parametrize(
    ("empty", "absent"),
    [
        ("key_events", ["usage_key_share_7d", "usage_key_share_trend"]),
        ("export_events", ["usage_exports_28d", "usage_days_since_export"]),
        ("login_events", ["usage_logins_7d", "usage_logins_ratio", "usage_days_since_login"]),
    ],
)
def test_a_config_without_such_events_has_no_such_features(empty: str, absent: list[str], frame) -> None:
    """A shop's log has no product features to watch: no column that is only ever 0 or 'no data'."""
    from churnml.config import FeaturesConfig
    from churnml.features.registry import feature_specs

    cfg = FeaturesConfig(**{empty: []})
    table = features_at(make_dataset(TABLES), ["old", "young", "ancient"], [S1, S2], cfg)
    assert not set(absent) & set(table.columns)
    assert not set(absent) & set(feature_specs(cfg))
    # Every other feature is there, with the same values as under the default config.
    kept = [c for c in frame.columns if c in table.columns]
    assert len(kept) == len(table.columns) and len(kept) < len(frame.columns)
    assert table.equals(frame.select(kept))


# -- event names the config counts, against the names the data holds --------------------------------
_COUNTS = {"Sign In": 50, "Create Invoice": 30, "Data-Export": 2, "View Dashboard": 30}


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        # the defaults against a product that names its own events: one note, every setting named
        (
            {},
            "events: no event in the data has a name these features count, so they are 0 for every client: "
            "logins (features.login_events: login); key features (features.key_events: report_view, "
            "dashboard_view, api_call, integration_sync); data exports (features.export_events: "
            "data_export) ('Data-Export' differs only in case or punctuation). The most frequent event "
            "names: 'Sign In' (50), 'Create Invoice' (30), 'View Dashboard' (30), 'Data-Export' (2). "
            "Name yours in a config (features: {login_events: [...], key_events: [...], export_events: "
            "[...]}; [] where the product has none)",
        ),
        # one name of a setting found is enough; a setting set to [] counts nothing and is not named
        (
            {"login_events": ("Sign In", "login"), "key_events": (), "export_events": ("Data-Export",)},
            None,
        ),
        # logins found: an export setting that finds nothing is likely right (no export yet) ...
        (
            {"login_events": ("Sign In",), "key_events": ("View Dashboard",), "export_events": ("export",)},
            None,
        ),
        # logins found, the default key features found nowhere: named (their share is the adoption signal)
        (
            {"login_events": ("Sign In",), "export_events": ("export",)},
            "key features (features.key_events: report_view, dashboard_view, api_call, integration_sync)",
        ),
        # ... unless the data holds a near miss of its names
        (
            {
                "login_events": ("Sign In",),
                "key_events": ("View Dashboard",),
                "export_events": ("data_export",),
            },
            "data exports (features.export_events: data_export) ('Data-Export' differs only in case or punctuation)",
        ),
    ],
)
def test_event_name_notes(settings, expected) -> None:
    from churnml.config import FeaturesConfig
    from churnml.features.usage import event_name_notes

    notes = event_name_notes(_COUNTS, FeaturesConfig(**settings), shown=4)
    if expected is None:
        assert notes == []
    else:
        assert len(notes) == 1
        assert expected in notes[0]
        for key in ("login_events", "key_events", "export_events"):  # only the settings that miss
            assert (key in notes[0]) == (key in expected)


def test_no_events_no_note() -> None:
    from churnml.config import FeaturesConfig
    from churnml.features.usage import event_name_notes

    assert event_name_notes({}, FeaturesConfig()) == []


def test_trouble_events_are_counted_as_a_share_of_the_clients_events() -> None:
    """``features.friction_events`` (none by default): the old client's 5 events of the 28 days before S1
    hold the export (Feb 10) and the report view (Mar 1); the 7 days before S1 hold the report view and
    two logins. The share's trend: 2 of 5 in the last 28 days against 0 of 1 in the 91 days before."""
    from churnml.config import FeaturesConfig

    cfg = FeaturesConfig(friction_events=("data_export", "report_view"))
    table = features_at(make_dataset(TABLES), ["old", "young", "ancient"], [S1, S2], cfg)
    row = table.filter((pl.col("client_id") == "old") & (pl.col("snapshot") == S1)).row(0, named=True)
    assert (row["usage_friction_7d"], row["usage_friction_28d"]) == (1, 2)
    assert row["usage_friction_share_7d"] == pytest.approx(1 / 3)
    assert row["usage_friction_share_28d"] == pytest.approx(2 / 5)
    assert row["usage_friction_share_trend"] == pytest.approx(2 / 5 - 0)
    young = table.filter((pl.col("client_id") == "young") & (pl.col("snapshot") == S1)).row(0, named=True)
    assert (young["usage_friction_7d"], young["usage_friction_share_7d"]) == (0, 0)


def test_trouble_event_shares_raise_the_risk_and_counts_do_not_say() -> None:
    from churnml.config import FeaturesConfig
    from churnml.features.registry import feature_specs, sentence

    specs = feature_specs(FeaturesConfig(friction_events=("Error",)))
    assert (specs["usage_friction_share_28d"].direction, specs["usage_friction_share_trend"].direction) == (
        1,
        1,
    )
    assert specs["usage_friction_28d"].direction == 0  # follows the volume of use
    assert not any(n.startswith("usage_friction") for n in feature_specs(FeaturesConfig()))
    assert sentence("usage_friction_share_28d", 0.25, FeaturesConfig(friction_events=("Error",))) == (
        "25% of product events were trouble events in the last 28 days"
    )


@pytest.mark.parametrize(
    ("counts", "friction", "expected"),
    [
        # an app's log under the defaults: its trouble pages, the most frequent first
        (
            {"NextSong": 900, "Thumbs Down": 40, "Help": 25, "Error": 9, "Home": 50},
            (),
            "events: 'Thumbs Down' (40), 'Help' (25), 'Error' (9) read like trouble. If they are, list them "
            "in features.friction_events (e.g. --set 'features.friction_events=[...]'): their share of a "
            "client's events becomes a risk that rises with it (none is counted so by default)",
        ),
        (
            {"login": 10, "report_view": 5, "data_export": 1},
            (),
            None,
        ),  # churnml's demo names: nothing reads so
        ({"Error": 9, "Help": 25}, ("Error",), None),  # already listed: no hint
        ({}, (), None),  # no events table
    ],
)
def test_names_that_read_like_trouble_are_hinted_while_none_is_listed(counts, friction, expected) -> None:
    from churnml.config import FeaturesConfig
    from churnml.features.usage import friction_hint

    got = friction_hint(counts, FeaturesConfig(friction_events=friction))
    assert got == ([expected] if expected else [])


def test_the_hint_names_five_and_counts_the_rest() -> None:
    from churnml.config import FeaturesConfig
    from churnml.features.usage import friction_hint

    counts = {f"error_{i}": 10 - i for i in range(7)}
    (note,) = friction_hint(counts, FeaturesConfig())
    assert (
        "'error_0' (10), 'error_1' (9), 'error_2' (8), 'error_3' (7), 'error_4' (6) and 2 more read like"
        in note
    )


@pytest.mark.parametrize(
    ("client", "seats", "expected_28d", "expected_91d"),
    [
        # the events begin 63 days before S1: a 91-day count of users is unknown, and so is its seat use
        ("old", 4, 2 / 4, None),  # u1 and u2 active in the last 28 days, 4 seats
        ("old", 1, 2.0, None),  # more users than seats
        ("old", 0, None, None),  # not sold by the seat
        ("young", 5, 1 / 5, None),
    ],
)
def test_seat_use_is_the_active_users_per_paid_seat(client, seats, expected_28d, expected_91d) -> None:
    terms = [
        {
            "client_id": c,
            "start_date": datetime(2023, 6, 1),
            "end_date": datetime(2025, 6, 1),
            "mrr": 10.0,
            "quantity": seats,
        }
        for c in ("old", "young", "ancient")
    ]
    frame = features_at(make_dataset({**TABLES, Table.SUBSCRIPTIONS: terms}), [client], [S1])
    row = frame.row(0, named=True)
    assert (row["usage_seat_use_28d"], row["usage_seat_use_91d"]) == (expected_28d, expected_91d)


def test_a_quantity_that_counts_no_users_gives_no_seat_use() -> None:
    """A fleet-tracking account billed per vehicle: 40 devices, 2 named users log in. Its users per device
    (0.05) is no seat use (a big fleet reads lower, whatever its health): with features.quantity_is_users
    false the feature is absent, while the users and the quantity keep their own features."""
    terms = [
        {
            "client_id": c,
            "start_date": datetime(2023, 6, 1),
            "end_date": datetime(2025, 6, 1),
            "mrr": 10.0,
            "quantity": 40,
        }
        for c in ("old", "young", "ancient")
    ]
    dataset = make_dataset({**TABLES, Table.SUBSCRIPTIONS: terms})
    devices = features_at(dataset, ["old"], [S1], FeaturesConfig(quantity_is_users=False))
    assert not [c for c in devices.columns if c.startswith("usage_seat_use_")]
    row = devices.row(0, named=True)
    assert (row["usage_active_users_28d"], row["payments_seats"]) == (2, 40)
    seats = features_at(dataset, ["old"], [S1]).row(0, named=True)
    assert seats["usage_seat_use_28d"] == 2 / 40


def test_without_a_subscriptions_table_there_is_no_seat_use() -> None:
    assert not any(
        c.startswith("usage_seat_use") for c in features_at(make_dataset(TABLES), ["old"], [S1]).columns
    )


def _deltas_by_hand(rows: list[tuple[str, str | None, int]], weeks: list[int], last: int) -> dict:
    """The in/out deltas of ``distinct_active_deltas`` from their definition, in plain Python."""
    active: dict[tuple[str, str], list[int]] = {}
    for client, key, week in rows:
        if key is not None:
            active.setdefault((client, key), [])
            if week not in active[(client, key)]:
                active[(client, key)].append(week)
    out: dict[tuple[str, int], dict[str, int]] = {}
    for (client, _), seen in active.items():
        seen.sort()
        for i, week in enumerate(seen):
            if week > last:
                continue
            gap_prev = None if i == 0 else week - seen[i - 1]
            gap_next = None if i == len(seen) - 1 else seen[i + 1] - week
            cell = out.setdefault((client, week), {f"_u__{d}{w}": 0 for d in ("in", "out") for w in weeks})
            for w in weeks:
                cell[f"_u__in{w}"] += gap_prev is None or gap_prev > w
                cell[f"_u__out{w}"] += gap_next is None or gap_next > w
    return out


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]), st.sampled_from(["u1", "u2", "x", None]), st.integers(-9, 3)
        ),
        max_size=40,
    ),
    categorical=st.booleans(),
)
def test_distinct_deltas_on_polars_are_the_definition(rows, categorical) -> None:
    """The Polars path (integer pair codes, one sort) counts the keys entering and leaving each window as
    the definition does, with the key as text or as a category."""
    import narwhals as nw

    from churnml.features._grid import WeekAxis
    from churnml.features.usage import distinct_active_deltas

    frame = pl.DataFrame(
        rows, schema={"client_id": pl.String, "user_id": pl.String, "_week": pl.Int64}, orient="row"
    )
    if categorical:
        frame = frame.with_columns(pl.col("user_id").cast(pl.Categorical))
    axis = WeekAxis(anchor=0, first_week=-9, last_week=1)
    got = distinct_active_deltas(nw.from_native(frame.lazy()), "user_id", [1, 4], "_u", axis)
    table = got.collect().to_native()
    assert table.schema["client_id"] == pl.String
    found = {(r.pop("client_id"), r.pop("_week")): r for r in table.to_dicts()}
    assert found == _deltas_by_hand(rows, [1, 4], last=1)


@pytest.mark.parametrize(
    ("top_client", "top_key", "last", "fits"),
    [
        (2**32 - 1, 2**16 - 1, 2**16 - 1, True),  # 2**32 x 2**16 x 2**16 = 2**64: the most one integer holds
        (2**32 - 1, 2**16 - 1, 2**16, False),  # one week more
        (2**32 - 1, 2**16, 2**16 - 1, False),  # one key code more
        (9, 99, 51, True),  # a batch's codes and a year of weeks
    ],
)
def test_a_pair_and_week_are_packed_only_where_they_fit_in_64_bits(top_client, top_key, last, fits) -> None:
    """The packed key of (client code, key code, week) is given where the codes up to their top and the weeks
    0 .. ``last`` fit in an unsigned 64-bit integer, and its largest value is then the last one it holds."""
    from churnml.features.usage import _pair_week_key

    key = _pair_week_key("user_id", top_client, top_key, 0, last)
    assert (key is not None) == fits
    if fits:
        top = pl.DataFrame(
            {"_client_code": [top_client], "user_id": [top_key], "_week": [last]},
            schema={"_client_code": pl.UInt32, "user_id": pl.UInt32, "_week": pl.Int64},
        )
        assert top.select(key).item() == (top_client + 1) * (top_key + 1) * (last + 1) - 1


@pytest.mark.parametrize(
    ("weeks", "packed"),
    [
        ((-3, 0, 2), True),  # a batch's weeks: client, user and week packed in one integer
        ((0, 2**61, 2**62), False),  # too long a span to pack: the two-column sort
    ],
)
def test_rows_are_put_in_pair_and_week_order_whether_packed_or_not(weeks, packed) -> None:
    """The distinct keys' rows come out by (client, key), then week, the order the deltas' shifts read,
    whether sorted by one packed integer or, where the codes and weeks do not fit in one, by two columns."""
    from churnml.features.usage import _pair_coded, in_pair_week_order

    early, mid, late = weeks
    rows = [
        ("b", "u2", late),
        ("a", "u1", late),
        ("b", "u1", early),
        ("a", "u2", mid),
        ("a", "u1", early),
        ("b", "u2", early),
        ("a", "u3", mid),
    ]
    frame = pl.DataFrame(
        rows, schema={"client_id": pl.String, "user_id": pl.String, "_week": pl.Int64}, orient="row"
    )
    coded = _pair_coded(frame.lazy(), "user_id").collect()
    client = coded.get_column("_client_code").to_physical()
    user = coded.get_column("user_id").to_physical()
    span = max(weeks) - min(weeks) + 1
    assert ((int(client.max()) + 1) * (int(user.max()) + 1) * span <= 2**64) == packed
    got = in_pair_week_order(coded, "user_id")
    assert got.columns == coded.columns
    # the categories' codes are the process's (their order of appearance), not the text's
    codes = dict(zip(coded.get_column("_client_code").cast(pl.String), client, strict=True))
    codes |= dict(zip(coded.get_column("user_id").cast(pl.String), user, strict=True))
    expected = sorted(rows, key=lambda r: (codes[r[0]], codes[r[1]], r[2]))
    assert got.select(pl.col("_client_code", "user_id").cast(pl.String), "_week").rows() == expected
    assert got.equals(coded.sort("_pair", "_week"))


@pytest.mark.parametrize(
    ("firsts", "counts", "expected"),
    [
        # an SSO login adopted 4 months in, a tenth of the events: named with what to do
        (
            {"login": datetime(2025, 3, 1), "sso_login": datetime(2025, 7, 15)},
            {"login": 900, "sso_login": 100},
            "events: 'sso_login' (from 2025-07-15, 100 rows) began during the data and no setting of event names "
            "lists it: counted only in the totals. If one is a login, a key feature, an export or trouble, name "
            "it in features.login_events, key_events, export_events or friction_events (a new login method "
            "otherwise reads as the logins falling) and train again",
        ),
        (
            {"login": datetime(2025, 3, 1), "sso_login": datetime(2025, 4, 15)},
            {"login": 900, "sso_login": 100},
            None,
        ),
        (
            {"login": datetime(2025, 3, 1), "beta_click": datetime(2025, 7, 15)},
            {"login": 995, "beta_click": 5},
            None,
        ),
        ({"login": datetime(2025, 3, 1), "sso_login": "2025-07-15"}, {"login": 900, "sso_login": 100}, None),
    ],
)
def test_a_frequent_event_kind_that_began_during_the_data_is_named(firsts, counts, expected) -> None:
    from churnml.features.usage import new_event_kinds_note

    got = new_event_kinds_note(counts, firsts, datetime(2025, 3, 1), FeaturesConfig())
    assert got == ([] if expected is None else [expected])
    listed = FeaturesConfig(login_events=("login", "sso_login"))
    assert new_event_kinds_note(counts, firsts, datetime(2025, 3, 1), listed) == []


# A warehouse's daily aggregates: one row per client x day x kind, `count` occurrences, no user_id.
def agg(client: str, ts: datetime, event: str, count: int | None) -> dict:
    return {"client_id": client, "ts": ts, "event": event, "count": count}


AGGREGATES = {
    Table.CLIENTS: [{"client_id": c, "created_at": datetime(2024, 1, 1)} for c in ("a", "quiet")],
    Table.EVENTS: [
        agg("a", datetime(2024, 2, 26), "login", 5),
        agg("a", datetime(2024, 2, 26), "report_view", 3),  # a key feature
        agg("a", datetime(2024, 2, 27), "login", None),  # empty: one login
        agg("a", datetime(2024, 2, 28), "data_export", 2),
        agg("a", datetime(2024, 3, 1), "edit", 0),  # a row of no occurrence: no kind used, still a day seen
    ],
}


@pytest.mark.parametrize(
    ("client", "feature", "expected"),
    [
        ("a", "usage_events_7d", 11),  # 5 + 3 + 1 + 2 + 0, not 5 rows
        ("a", "usage_events_per_week_7d", 11),
        ("a", "usage_logins_7d", 6),
        ("a", "usage_logins_per_week_7d", 6),
        ("a", "usage_key_share_7d", 3 / 11),  # not 1 row in 5
        ("a", "usage_exports_7d", 2),
        ("a", "usage_event_kinds_7d", 3),  # login, report_view, data_export: no edit occurred
        ("a", "usage_days_since_event", 3),  # the row of count 0 is a day with a record
        ("a", "usage_days_since_login", 6),
        ("a", "usage_days_since_export", 5),
        # no user_id in the table: distinct users are unknown, not 0, for every client
        ("a", "usage_active_users_7d", None),
        ("quiet", "usage_active_users_7d", None),
        ("quiet", "usage_events_7d", 0),
    ],
)
def test_a_rows_count_is_summed_where_events_are_counted(client, feature, expected) -> None:
    frame = features_at(make_dataset(AGGREGATES), ["a", "quiet"], [S1])
    got = frame.filter(pl.col("client_id") == client)[feature][0]
    assert got == (None if expected is None else pytest.approx(expected))


def test_counts_feed_the_ratios_and_trends() -> None:
    # 2 logins a day for the 4 weeks before S2's last week, then 1 a day: the ratio reads the counts
    rows = [
        agg("a", datetime(2024, 2, 5) + timedelta(days=d), "login", 2 if d < 28 else 1) for d in range(35)
    ]
    frame = features_at(make_dataset({**AGGREGATES, Table.EVENTS: rows}), ["a"], [S2])
    # last 4 weeks: 21 x 2 + 7 x 1 = 49; the week before: 14, over 1 of the 13 baseline weeks with data
    assert frame["usage_logins_28d"][0] == 49
    assert frame["usage_logins_ratio"][0] == pytest.approx((49 + 1) / (14 * 4 / 1 + 1))


@pytest.mark.parametrize(
    ("client", "snapshot", "expected_users", "expected_seat_use"),
    [
        ("users", S1, 2, 2 / 4),  # user-level rows: u1 and u2
        ("fed", S1, None, None),  # the week's rows carry no user id (an aggregate feed): unknown, not 0
        ("fed", S2, 0, 0.0),  # a week without events: nobody active, whoever records users
        ("none", S1, 0, 0.0),  # no event at all in a table with user ids: nobody active
    ],
)
def test_active_users_are_null_where_the_rows_carry_no_user_id(
    client, snapshot, expected_users, expected_seat_use
) -> None:
    tables = {
        Table.CLIENTS: [{"client_id": c, "created_at": datetime(2024, 1, 1)} for c in ("users", "fed", "none")],
        Table.EVENTS: [
            ev("users", datetime(2024, 2, 26), "login", user="u1"),
            ev("users", datetime(2024, 2, 27), "login", user="u2"),
            agg("fed", datetime(2024, 2, 26), "login", 40),
        ],
        Table.SUBSCRIPTIONS: [
            {"client_id": c, "start_date": datetime(2024, 1, 1), "end_date": datetime(2025, 1, 1), "mrr": 10.0,
             "quantity": 4}
            for c in ("users", "fed", "none")
        ],
    }  # fmt: skip
    row = features_at(make_dataset(tables), [client], [snapshot]).row(0, named=True)
    assert (row["usage_active_users_7d"], row["usage_seat_use_7d"]) == (expected_users, expected_seat_use)


def test_without_user_ids_seat_use_is_null() -> None:
    terms = [
        {"client_id": c, "start_date": datetime(2024, 1, 1), "end_date": datetime(2025, 1, 1), "mrr": 10.0,
         "quantity": 4}
        for c in ("a", "quiet")
    ]  # fmt: skip
    frame = features_at(make_dataset({**AGGREGATES, Table.SUBSCRIPTIONS: terms}), ["a", "quiet"], [S1])
    assert frame.select("usage_active_users_28d", "usage_seat_use_28d").rows() == [(None, None), (None, None)]


# Created on a Sunday, the last day of its first grid week (weeks start on Mondays): 2 logins every day since.
STEADY_CREATED = {8: datetime(2024, 2, 25), 29: datetime(2024, 2, 4), 36: datetime(2024, 1, 28)}


@pytest.mark.parametrize(
    ("age", "feature", "expected"),
    [
        # 16 logins in 8 days: 14 a week (it read 8: 16 over the two weeks it touched)
        (8, "usage_logins_per_week_28d", 14.0),
        (8, "usage_events_per_week_7d", 14.0),  # its last week alone: right before too
        # 28 days of 14 a week against its 1 day of 2: steady (it read 6.33, "rose 533%")
        (29, "usage_logins_ratio", 1.0),
        (29, "usage_logins_per_week_91d", 14.0),
        # 28 days against its 8 days before: steady (it read (56 + 1) / (16 * 4 / 2 + 1) = 1.73)
        (36, "usage_logins_ratio", 1.0),
    ],
)
def test_a_clients_first_week_counts_the_days_it_existed(age: int, feature: str, expected: float) -> None:
    created = STEADY_CREATED[age]
    logins = [ev("c", created + timedelta(days=d, hours=h), "login") for d in range(age) for h in range(2)]
    tables = {
        Table.CLIENTS: [{"client_id": "c", "created_at": created}, {"client_id": "o", "created_at": created}],
        Table.EVENTS: [ev("o", datetime(2023, 12, 1), "login"), *logins],
    }
    row = features_at(make_dataset(tables), ["c"], [S1]).row(0, named=True)
    assert row["account_tenure_days"] == age
    assert row[feature] == pytest.approx(expected)


def test_rows_holding_a_months_occurrences_are_said_and_daily_or_weekly_rows_are_not() -> None:
    """A smart meter's readings written as one row a month per household with the month's days read (count 28),
    dated on any day of it: a 28-day window holds a month's or none, and usage_drop fired for 395 households of
    an energy supplier, 7.3% of whom left (7.0% of the list). Daily rows with a count, weekly aggregates and
    monthly rows without one (a reading a month, count 1) are what a count is for."""
    from churnml.features.usage import lumped_counts_note

    def rows(kind: str, every: int, count: int | None, n: int = 6) -> list[tuple]:
        return [
            (c, datetime(2025, 1, 1) + timedelta(days=every * i + k), kind, count)
            for c, k in (("a", 0), ("b", 3))
            for i in range(n)
        ]

    events = pl.DataFrame(
        rows("meter_reading", 30, 28)
        + rows("login", 1, 3)
        + rows("weekly_sync", 7, 7)
        + rows("reading", 30, None),
        schema={"client_id": pl.String, "ts": pl.Datetime("us"), "event": pl.String, "count": pl.Int64},
        orient="row",
    )
    assert lumped_counts_note(events, 28) == (
        "events: 'meter_reading' (12 rows, a median 30 days apart, count 28): each row seems to hold a period's "
        "occurrences, not a day's. A row's count is read as occurrences on its day, so a 28-day window holds a whole "
        "period's or none, by the day its row falls on, and usage_drop and the usage trends read a client between "
        "two rows as its use collapsing. Write the occurrences on the days they happened (one row per client, day "
        "and kind), or these rows without a count (one event a period)"
    )
    assert lumped_counts_note(events.filter(pl.col("event") != "meter_reading"), 28) is None
    assert lumped_counts_note(events.drop("count"), 28) is None


# "fading" had four users and three kinds of events over the half-year; in the last 28 days before S1 only u1
# logs in. "silent" has no event at all. Each case cuts the data's first day (the anchor's lone event) so the
# longest window on record is 182 days, 91 days or none.
def _fading_tables(first_day: datetime) -> dict:
    early = [
        ev("fading", datetime(2023, 10, 2), "login", user="u1"),  # 154 days before S1: in 182d, not 91d
        ev("fading", datetime(2023, 10, 3), "report_view", user="u2"),
        ev("fading", datetime(2023, 10, 4), "data_export", user="u3"),
    ]
    late = [
        ev("fading", datetime(2023, 12, 20), "report_view", user="u4"),  # 75 days before S1: in 91d, not 28d
        ev("fading", datetime(2024, 2, 20), "login", user="u1"),  # 13 days before S1: in 28d
    ]
    kept = [e for e in [*early, *late] if e["ts"] >= first_day]
    return {
        Table.CLIENTS: [{"client_id": c, "created_at": first_day} for c in ("anchor", "fading", "silent")],
        Table.EVENTS: [ev("anchor", first_day, "login", user="a1"), *kept],
    }


@pytest.mark.parametrize(
    ("first_day", "windows", "client", "expected_users", "expected_kinds"),
    [
        # 182 days on record: of u1..u4, u1 alone is active in the last 28 days; of 3 kinds, logins alone
        (datetime(2023, 8, 1), "unknown", "fading", 1 / 4, 1 / 3),
        # 94 days of data: the 182-day counts are unknown, the 91-day ones are the longest on record (u4, u1)
        (datetime(2023, 12, 1), "unknown", "fading", 1 / 2, 1 / 2),
        # scaled windows leave distinct counts unscaled (the count over the data): the same shares
        (datetime(2023, 12, 1), "scaled", "fading", 1 / 2, 1 / 2),
        # 49 days of data: no window longer than 28 days is on record
        (datetime(2024, 1, 15), "unknown", "fading", None, None),
        # no user and no kind over the longest window: no share of nothing
        (datetime(2023, 8, 1), "unknown", "silent", None, None),
    ],
)
def test_recent_shares_are_the_longest_window_s_users_and_kinds_still_seen(
    first_day, windows, client, expected_users, expected_kinds
) -> None:
    cfg = FeaturesConfig(unobserved_windows=windows)
    row = features_at(make_dataset(_fading_tables(first_day)), [client], [S1], cfg).row(0, named=True)
    assert (row["usage_users_recent_share"], row["usage_kinds_recent_share"]) == (
        expected_users,
        expected_kinds,
    )


def test_without_the_recent_window_among_the_windows_there_are_no_recent_shares() -> None:
    cfg = FeaturesConfig(windows=[7, 35, 91, 182])  # recent_days 28 is not a level window
    frame = features_at(make_dataset(_fading_tables(datetime(2023, 8, 1))), ["fading"], [S1], cfg)
    assert "usage_users_recent_share" not in frame.columns
    assert frame.row(0, named=True)["usage_active_users_35d"] == 1
