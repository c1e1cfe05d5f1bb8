"""The weekly list: mapping tables, the end-to-end `churnml score` run, change since last week, CSV
formula safety, atomic and idempotent writing, and the refusals (mismatched model, stale data)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from churnml.cli import app, at_risk_text
from churnml.config import (
    FeaturesConfig,
    LabelConfig,
    PlaybooksConfig,
    RulesConfig,
    ScoreConfig,
    ValueConfig,
    ZonesConfig,
    load_config,
)
from churnml.contract.dataset import Dataset
from churnml.contract.io import write_tables
from churnml.contract.schemas import Table
from churnml.features import build_features
from churnml.labels import active_spine
from churnml.modeling.export import export_model, feature_reference
from churnml.modeling.train import ChurnModel
from churnml.scoring.assemble import (
    ScoringError,
    check_data_lag,
    check_feature_match,
    gone_clients,
    history_snapshots,
    recommended_plays,
)
from churnml.scoring.columns import Scores
from churnml.scoring.outputs import FORMULA_PREFIXES, formula_safe_csv, write_scores_atomically
from churnml.scoring.standing import (
    PreviousWeek,
    Standing,
    client_standing,
    crowded_red_note,
    empty_zones_note,
    health_history,
    history_zones,
    tables_as_they_stood,
    zone_changes,
    zone_paths,
    zones,
    zones_on,
)

AS_OF = date(2024, 6, 3)  # a Monday
START = datetime(2023, 9, 4)


# -- zones along the history -------------------------------------------------------------------
def test_last_weeks_zones_are_the_zone_paths_up_to_its_date() -> None:
    # one pass over the history gives last week's zones with hysteresis: the zone at each client's last week on
    # or before that date, as the history cut there gives it; a client with no week by then is green
    cfg = ZonesConfig(yellow=0.15, red=0.35, exit_margin=0.05, exit_weeks=2)
    weeks = [date(2024, 5, 6), date(2024, 5, 13), date(2024, 5, 20), date(2024, 5, 27), date(2024, 6, 3)]
    rows = [
        ("a", w, p) for w, p in zip(weeks, [0.40, 0.33, 0.32, 0.10, 0.10], strict=True)
    ]  # red held a week below its threshold, yellow held a week above its exit, then green
    rows += [("b", weeks[0], 0.40), ("b", weeks[3], 0.10), ("b", weeks[4], 0.12)]  # back after an absence
    rows += [("c", weeks[4], 0.50)]  # first seen this week
    rows += [("d", weeks[1], 0.20), ("d", weeks[2], 0.36)]  # gone before last week: its last week's zone
    history = pl.DataFrame(
        rows,
        schema={"client_id": pl.String, "snapshot": pl.Date, "churn_probability": pl.Float64},
        orient="row",
    )
    paths = zone_paths(history, cfg)
    assert paths.filter(pl.col("client_id") == "a").get_column("zone").to_list() == [
        "red",
        "red",
        "yellow",
        "yellow",
        "green",
    ]
    assert paths.filter(pl.col("client_id") == "b").get_column("zone").to_list() == ["red", "green", "green"]
    last_week = weeks[3]
    assert zones_on(paths, ["a", "b", "c", "d", "e"], last_week) == [
        "yellow",
        "green",
        "green",
        "red",
        "green",
    ]
    assert zones_on(paths, ["a", "b", "d"], weeks[2]) == ["yellow", "red", "red"]
    cut = history.filter(pl.col("snapshot") <= last_week)
    assert zones_on(paths, ["a", "b", "c", "d"], last_week) == zones_on(
        zone_paths(cut, cfg), ["a", "b", "c", "d"], AS_OF
    )
    # this week's: the last zone, last week's beside it when that week is the one before, the changes
    stable = history_zones(paths, ["a", "b", "c", "d", "e"], last_week)
    assert stable.now == ["green", "green", "red", "red", "green"]
    assert stable.previous == ["yellow", "green", None, None, None]
    assert stable.changes == [2, 1, 0, 1, 0]


def _zone_path_reference(p: list[float], fresh: list[bool], cfg: ZonesConfig) -> list[int]:
    """The hysteresis walked one week at a time, as zone_path walked it before the paths were stepped together."""
    thresholds = (0.0, cfg.yellow, cfg.red)

    def level(x: float) -> int:
        return 2 if x >= cfg.red else 1 if x >= cfg.yellow else 0

    out, current, below = [], 0, 0
    for x, new in zip(p, fresh, strict=True):
        raw = level(x)
        if new or raw >= current:
            current, below = raw, 0
        else:
            below += 1
            if x < thresholds[current] - cfg.exit_margin:
                current, below = min(current, level(x + cfg.exit_margin)), 0
            elif below >= cfg.exit_weeks:
                current, below = raw, 0
        out.append(current)
    return out


@settings(max_examples=200, deadline=None)
@given(
    paths=st.lists(
        st.lists(
            st.tuples(st.sampled_from([0.0, 0.1, 0.14, 0.15, 0.2, 0.3, 0.34, 0.35, 0.5]), st.booleans()),
            min_size=1,
            max_size=12,
        ),
        min_size=1,
        max_size=8,
    ),
    margin=st.sampled_from([0.0, 0.05, 0.1]),
    weeks=st.integers(min_value=1, max_value=3),
)
def test_zone_levels_step_many_paths_as_one_at_a_time(
    paths: list[list[tuple[float, bool]]], margin: float, weeks: int
) -> None:
    from churnml.scoring.playbook import zone_levels

    cfg = ZonesConfig(yellow=0.15, red=0.35, exit_margin=margin, exit_weeks=weeks)
    p = [x for path in paths for x, _ in path]
    fresh = [i == 0 or gap for path in paths for i, (_, gap) in enumerate(path)]
    expected = [
        z
        for path in paths
        for z in _zone_path_reference(
            [x for x, _ in path], [i == 0 or g for i, (_, g) in enumerate(path)], cfg
        )
    ]
    assert zone_levels(np.array(p), np.array(fresh), cfg).tolist() == expected


# -- mapping tables ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("p", "zone"),
    [(0.0, "green"), (0.1499, "green"), (0.15, "yellow"), (0.3499, "yellow"), (0.35, "red"), (0.99, "red")],
)
def test_probability_zones(p: float, zone: str) -> None:
    assert zones(np.array([p]), np.array([0.0]), ["a"], ZonesConfig(yellow=0.15, red=0.35)) == [zone]


def _capacity_standing(mrr: dict[str, float], p_now: dict[str, float], prev: PreviousWeek) -> Standing:
    """:func:`client_standing` at 2026-12-05 of the clients of ``p_now`` (the clients of ``mrr`` each with a
    term running then at that MRR), capacity zones (2 red, 1 yellow; thresholds red 0.35, yellow 0.15), no
    rules."""
    everyone = list(mrr)
    clients = pl.DataFrame({"client_id": everyone, "created_at": [datetime(2025, 1, 1)] * len(everyone)})
    terms = pl.DataFrame(
        {
            "client_id": everyone,
            "start_date": [datetime(2026, 1, 1)] * len(everyone),
            "end_date": [datetime(2027, 1, 1)] * len(everyone),
            "mrr": list(mrr.values()),
        }
    )
    data = Dataset(
        {Table.CLIENTS: clients, Table.SUBSCRIPTIONS: terms}, "x", datetime(2025, 1, 1), datetime(2026, 12, 5)
    )
    capacity = ZonesConfig(method="capacity", red=0.35, yellow=0.15, red_capacity=2, yellow_capacity=1)
    return client_standing(
        data,
        list(p_now),
        np.array(list(p_now.values())),
        prev,
        pl.DataFrame(schema={"client_id": pl.String, "snapshot": pl.Date, "churn_probability": pl.Float64}),
        date(2026, 12, 5),
        label=LabelConfig(),
        features=FeaturesConfig(),
        score=ScoreConfig(zones=capacity),
        value=ValueConfig(),
        rules=RulesConfig(enabled=[]),
    )


SEASON_SAID = "Silent 249 days: its orders paused 305 days across this day a year ago"


def test_a_client_in_its_seasons_pause_is_said_so_beside_the_models_zone() -> None:
    """A garden shop's buyer of every spring (orders on 2024-03-01, 04-01, 05-01, 2025-03-02, 04-01, 05-01) and a
    monthly buyer gone quiet the same day, both ranked red by the model on 2026-01-05: the spring buyer's
    term_state says its silence is its season, and its probability and zone stay the model's; the monthly
    buyer is flagged no_activity and says nothing of a season."""
    from test_rules import spring_and_gone_tables

    day = date(2026, 1, 5)
    data = Dataset(spring_and_gone_tables(), "garden", datetime(2024, 1, 1), datetime(2026, 1, 5))
    standing = client_standing(
        data,
        ["spring", "gone"],
        np.array([0.6, 0.6]),
        PreviousWeek(date(2025, 12, 29), [], np.zeros(0), {}),
        pl.DataFrame(
            {"client_id": ["spring", "gone"], "snapshot": [day] * 2, "churn_probability": [0.6] * 2},
            schema={"client_id": pl.String, "snapshot": pl.Date, "churn_probability": pl.Float64},
        ),
        day,
        label=LabelConfig(),
        features=FeaturesConfig(),
        score=ScoreConfig(),
        value=ValueConfig(),
        rules=RulesConfig(enabled=["no_activity"], raise_zone={}),
    )
    assert standing.views.get_column(Scores.TERM_STATE).to_list() == [SEASON_SAID, ""]
    assert standing.season_pause.tolist() == [True, False]
    assert standing.fired.get_column(Scores.RULES).to_list() == ["", "no_activity"]
    assert standing.valued.get_column(Scores.PROBABILITY).to_list() == [0.6, 0.6]
    assert standing.zone == ["red", "red"]


@pytest.mark.parametrize(("share", "booked", "due"), [(0.25, None, True), (0.4, date(2026, 12, 6), False)])
def test_client_standing_reads_bookings_with_the_configured_early_renewal_share(share, booked, due) -> None:
    # a quarter ending in 30 days, the next one booked from tomorrow: 29 of its 90 days (32%) early, a renewal
    # booked ahead under data.early_renewal_share 0.4 (not due), none under the default 0.25 (due in 30 days)
    day = date(2026, 12, 5)
    at = datetime(2026, 12, 5)
    clients = pl.DataFrame({"client_id": ["q"], "created_at": [datetime(2025, 1, 1)]})
    terms = pl.DataFrame(
        {
            "client_id": ["q", "q"],
            "start_date": [at - timedelta(days=60), at + timedelta(days=1)],
            "end_date": [at + timedelta(days=30), at + timedelta(days=91)],
            "mrr": [100.0, 100.0],
        }
    )
    data = Dataset({Table.CLIENTS: clients, Table.SUBSCRIPTIONS: terms}, "x", datetime(2025, 1, 1), at)
    standing = client_standing(
        data,
        ["q"],
        np.array([0.1]),
        PreviousWeek(date(2026, 11, 28), [], np.zeros(0), {}),
        pl.DataFrame(schema={"client_id": pl.String, "snapshot": pl.Date, "churn_probability": pl.Float64}),
        day,
        label=LabelConfig(),
        features=FeaturesConfig(),
        score=ScoreConfig(renewal_days=60),
        value=ValueConfig(),
        rules=RulesConfig(enabled=["term_lapsed"]),
        early_renewal_share=share,
    )
    views = standing.views.row(0, named=True)
    assert (views[Scores.NEXT_TERM_START], views[Scores.RENEWAL_DUE]) == (booked, due)


def test_a_next_month_booked_after_a_rise_already_started_reads_renewed() -> None:
    # a monthly plan renewed 20% up 40 days ago (price_rise: a rise already started), its next month booked at
    # that same price: a renewal done, not "booked at a higher price"
    at = datetime(2026, 12, 5)
    starts = [100, 70, 40, 10, -20]
    clients = pl.DataFrame({"client_id": ["m"], "created_at": [datetime(2025, 1, 1)]})
    terms = pl.DataFrame(
        {
            "client_id": ["m"] * 5,
            "start_date": [at - timedelta(days=d) for d in starts],
            "end_date": [at - timedelta(days=d - 30) for d in starts],
            "mrr": [100.0, 100.0, 120.0, 120.0, 120.0],
        }
    )
    data = Dataset({Table.CLIENTS: clients, Table.SUBSCRIPTIONS: terms}, "x", datetime(2025, 1, 1), at)
    standing = client_standing(
        data,
        ["m"],
        np.array([0.1]),
        PreviousWeek(date(2026, 11, 28), [], np.zeros(0), {}),
        pl.DataFrame(schema={"client_id": pl.String, "snapshot": pl.Date, "churn_probability": pl.Float64}),
        date(2026, 12, 5),
        label=LabelConfig(),
        features=FeaturesConfig(),
        score=ScoreConfig(),
        value=ValueConfig(),
        rules=RulesConfig(enabled=["price_rise"]),
    )
    assert standing.fired.get_column(Scores.RULES).to_list() == ["price_rise"]
    assert standing.views.get_column(Scores.TERM_STATE).to_list() == [
        "Renewed: the next term starts 2026-12-25, at the price that already rose in the running term"
    ]


def test_usage_drop_reads_a_falling_client_over_the_days_of_data_on_the_list() -> None:
    # 60 days of data, features.unobserved_windows: scaled (the 182-day count is the 60 days' x 182 / 60):
    # "falling" logged 20 events a day for 32 days, then 7 a day for the last 28 (196); "steady" 10 a day. The
    # list reads the usual over the 32 days of usual observed: 640 x 28 / 32 = 560, x0.35, and usage_drop
    # fires; read before as the scaled 2,536 less 196 over 154 days, a usual of 425 (x0.46): it did not
    at = datetime(2026, 12, 7)
    start = at - timedelta(days=60)
    rows = [
        (client, start + timedelta(days=d, hours=10))
        for d in range(60)
        for client, n in (("falling", 20 if d < 32 else 7), ("steady", 10))
        for _ in range(n)
    ]
    events = pl.DataFrame({"client_id": [c for c, _ in rows], "ts": [t for _, t in rows], "event": "login"})
    clients = pl.DataFrame({"client_id": ["falling", "steady"], "created_at": [datetime(2025, 1, 1)] * 2})
    data = Dataset({Table.CLIENTS: clients, Table.EVENTS: events}, "x", start, at)
    spine = pl.DataFrame({"client_id": ["falling", "steady"], "snapshot": [at.date()] * 2})
    features = build_features(data, spine, FeaturesConfig(unobserved_windows="scaled")).drop("snapshot")
    assert features.get_column("usage_events_182d").to_list() == [
        pytest.approx(836 * 182 / 60),
        600 * 182 / 60,
    ]
    standing = client_standing(
        data,
        ["falling", "steady"],
        np.array([0.1, 0.1]),
        PreviousWeek(date(2026, 11, 30), [], np.zeros(0), {}),
        pl.DataFrame(schema={"client_id": pl.String, "snapshot": pl.Date, "churn_probability": pl.Float64}),
        at.date(),
        label=LabelConfig(),
        features=FeaturesConfig(unobserved_windows="scaled"),
        score=ScoreConfig(),
        value=ValueConfig(),
        rules=RulesConfig(enabled=["usage_drop"]),
        features_now=features,
    )
    assert standing.fired.get_column(Scores.RULES).to_list() == ["usage_drop", ""]
    assert standing.fired.get_column(Scores.RULES_EVIDENCE).to_list() == [
        "usage_drop: 196 events in the last 28 days against a usual 560",
        None,
    ]


def test_capacity_zones_rank_each_zone_by_revenue_at_risk_without_the_threshold_floor() -> None:
    # a: p 0.9 x 1,200 = 1,080 at risk; b: p 0.05 x 12,000 = 600, red by capacity (no rule raised it), so
    # it is not ranked as if at the red threshold (0.35 x 12,000 = 4,200): a first, then b
    prev = PreviousWeek(date(2026, 11, 28), [], np.zeros(0), {})
    standing = _capacity_standing(
        {"a": 100.0, "b": 1_000.0, "c": 10.0}, {"a": 0.9, "b": 0.05, "c": 0.01}, prev
    )
    assert standing.zone == ["red", "red", "yellow"]
    assert standing.raised_by == ["", "", ""]
    assert standing.valued.get_column(Scores.PRIORITY).to_list() == [1, 2, 3]


def test_capacity_zones_weigh_a_trial_at_its_conversion_as_its_priority_does() -> None:
    # a: p 0.3 x 1,200 = 360 at risk; b: p 0.02 x 12,000 = 240; t never paid (a free term), p 0.9 x 6,600 (the
    # median of the paying clients' ARR) = 5,940 at stake: red with a, b yellow. At its revenue at risk of 0 it
    # could never be red (a, b red, t yellow) while its priority ranked it first; last week's zones alike
    prev = PreviousWeek(date(2026, 11, 28), ["a", "b", "t"], np.array([0.3, 0.02, 0.9]), {})
    standing = _capacity_standing({"a": 100.0, "b": 1_000.0, "t": 0.0}, {"a": 0.3, "b": 0.02, "t": 0.9}, prev)
    assert standing.zone == ["red", "yellow", "red"]
    assert standing.valued.get_column(Scores.CONVERSION_ARR).to_list() == [None, None, 6_600.0]
    assert standing.valued.get_column(Scores.REVENUE_AT_RISK).to_list()[2] == 0.0  # no trial value at risk
    assert standing.valued.get_column(Scores.PRIORITY).to_list() == [2, 3, 1]
    assert standing.previous_zone == ["red", "yellow", "red"]  # not new in red: red last week too


@pytest.mark.parametrize(
    ("last_week", "previous_zone", "zone_change", "new_in_red"),
    [
        # last week's list: A (6,000 at risk) and B (3,000) red, C (600) yellow. A left since; B and C are
        # the two red this week: C is new in red
        (["A", "B", "C"], ["red", "yellow"], ["", "yellow->red"], [False, True]),
        # ranked among this week's clients only, C would read "red last week" (what a PreviousWeek of the
        # listed clients alone gives: the pipeline must pass every client of last week's list)
        (["B", "C"], ["red", "red"], ["", ""], [False, False]),
    ],
)
def test_last_weeks_capacity_zones_rank_every_client_of_last_weeks_list(
    last_week: list[str], previous_zone: list[str], zone_change: list[str], new_in_red: list[bool]
) -> None:
    prev = PreviousWeek(date(2026, 11, 28), last_week, np.full(len(last_week), 0.5), {})
    standing = _capacity_standing({"A": 1_000.0, "B": 500.0, "C": 100.0}, {"B": 0.6, "C": 0.5}, prev)
    assert standing.zone == ["red", "red"]
    assert standing.previous_zone == previous_zone
    assert zone_changes(standing.previous_zone, standing.zone) == (zone_change, new_in_red)


@pytest.mark.parametrize(
    ("renewal_start", "previous_zone", "zone_change"),
    [
        # renewed between last week's list (2026-02-22) and this one: last week's list showed the lapse (red:
        # term_lapsed), not a renewal it could not know of (it read green, the lapse never shown)
        (datetime(2026, 2, 25), "red", "red->green"),
        # renewed before last week's list: green then too
        (datetime(2026, 2, 20), "green", ""),
        # the renewal booked to start after this week's list: "Renewed" now, unknown last week
        (datetime(2026, 3, 3), "red", "red->green"),
    ],
)
def test_last_weeks_zone_reads_the_tables_as_they_stood_then(
    renewal_start: datetime, previous_zone: str, zone_change: str
) -> None:
    # c1's yearly term ended 2026-02-10; the model reads 5% both weeks (green); term_lapsed raises to red
    as_of, prev = date(2026, 3, 1), date(2026, 2, 22)
    clients = pl.DataFrame({"client_id": ["c1"], "created_at": [datetime(2025, 1, 1)]})
    terms = pl.DataFrame(
        {
            "client_id": ["c1", "c1"],
            "start_date": [datetime(2025, 2, 10), renewal_start],
            "end_date": [datetime(2026, 2, 10), renewal_start + timedelta(days=365)],
            "mrr": [100.0, 100.0],
        }
    )
    history = pl.DataFrame(
        {"client_id": ["c1", "c1"], "snapshot": [prev, as_of], "churn_probability": [0.05, 0.05]},
        schema={"client_id": pl.String, "snapshot": pl.Date, "churn_probability": pl.Float64},
    )
    data = Dataset(
        {Table.CLIENTS: clients, Table.SUBSCRIPTIONS: terms}, "x", datetime(2025, 1, 1), datetime(2026, 3, 1)
    )
    standing = client_standing(
        data,
        ["c1"],
        np.array([0.05]),
        PreviousWeek(prev, ["c1"], np.array([0.05]), {}),
        history,
        as_of,
        label=LabelConfig(),
        features=FeaturesConfig(),
        score=ScoreConfig(),
        value=ValueConfig(),
        rules=RulesConfig(enabled=["term_lapsed"]),
    )
    assert standing.zone == ["green"]
    assert standing.previous_zone == [previous_zone]
    assert zone_changes(standing.previous_zone, standing.zone) == ([zone_change], [False])


def test_tables_as_they_stood_keep_the_rows_begun_before_the_day() -> None:
    day, t = date(2026, 2, 22), datetime(2026, 2, 22)
    before, after = t - timedelta(hours=1), t + timedelta(days=2)
    payments = pl.DataFrame(
        {
            # an invoice issued before and paid after (open then: kept), one issued after, a payment without an
            # invoice before and one after, a row with neither time (kept: it cannot be dated)
            "client_id": ["a", "b", "c", "d", "e"],
            "amount": [10.0, 20.0, 30.0, 40.0, 50.0],
            "paid_at": [after, after, before, after, None],
            "issued_at": [before, after, None, None, None],
        },
        schema_overrides={"paid_at": pl.Datetime("us"), "issued_at": pl.Datetime("us")},
    )
    churns = pl.DataFrame({"client_id": ["a", "b"], "churned_at": [before, t]})
    clients = pl.DataFrame({"client_id": ["a", "z"], "created_at": [before, after]})
    stood = tables_as_they_stood(
        {Table.PAYMENTS: payments, Table.CHURNS: churns, Table.CLIENTS: clients}, day
    )
    assert stood[Table.PAYMENTS].get_column("client_id").to_list() == ["a", "c", "e"]
    assert stood[Table.CHURNS].get_column("client_id").to_list() == ["a"]
    assert stood[Table.CLIENTS].equals(clients)


def test_the_health_history_holds_this_weeks_clients_only() -> None:
    # A was scored at last week's date for last week's zones only (on that list, gone since)
    probs = pl.DataFrame(
        {
            "client_id": ["A", "B", "B"],
            "snapshot": [date(2026, 11, 28), date(2026, 11, 28), date(2026, 12, 5)],
            "churn_probability": [0.5, 0.5, 0.25],
        },
        schema={"client_id": pl.String, "snapshot": pl.Date, "churn_probability": pl.Float64},
    )
    history = health_history(probs, pl.DataFrame(), set(), ["B"])
    assert history.select("client_id", "snapshot", "health_score").rows() == [
        ("B", date(2026, 11, 28), 50.0),
        ("B", date(2026, 12, 5), 75.0),
    ]


def test_capacity_zones_take_the_largest_revenue_at_risk() -> None:
    cfg = ZonesConfig(method="capacity", red_capacity=1, yellow_capacity=2)
    p = np.array([0.9, 0.1, 0.2, 0.3, 0.2])
    rar = np.array([10.0, 500.0, 40.0, 40.0, 30.0])
    # b (500) red; c and d tie at 40 -> the higher probability (d) first, both yellow; a, e green.
    assert zones(p, rar, ["a", "b", "c", "d", "e"], cfg) == ["green", "red", "yellow", "yellow", "green"]


@pytest.mark.parametrize(
    ("zone_list", "probability", "cfg", "rate", "expected"),
    [
        # a marketplace: nearly everyone leaves, the shop thresholds put 3 of 4 in red
        (
            ["red", "red", "red", "yellow"],
            [0.99, 0.98, 0.98, 0.6],
            ZonesConfig(yellow=0.5, red=0.7),
            0.975,
            "3 of 4 clients (75%) are red: the red threshold (score.zones.red 0.7) is below most clients' churn "
            "probability (median 0.98; the model's training rows churned at 97.5%), so red sets no priority here.",
        ),
        (
            ["red", "red", "green", "green"],
            [0.9, 0.8, 0.1, 0.1],
            ZonesConfig(),
            None,
            "2 of 4 clients (50%) are red",
        ),
        (
            ["red", "yellow", "green", "green"],
            [0.9, 0.3, 0.1, 0.1],
            ZonesConfig(),
            0.1,
            None,
        ),  # 25%: a priority
        (
            ["red", "red"],
            [0.9, 0.8],
            ZonesConfig(method="capacity"),
            0.9,
            None,
        ),  # capacity sets its own share
        ([], [], ZonesConfig(), None, None),
    ],
)
def test_a_list_mostly_in_red_says_that_red_sets_no_priority(
    zone_list, probability, cfg, rate, expected
) -> None:
    got = crowded_red_note(zone_list, np.array(probability), cfg, rate)
    if expected is None:
        assert got is None
    else:
        assert got is not None and got.startswith(expected)
        assert "score.zones.method: capacity" in got


@pytest.mark.parametrize(
    ("n", "top", "cfg", "rate", "expected"),
    [
        (
            25,
            0.27,
            ZonesConfig(yellow=0.5, red=0.7),
            0.12,
            "no client of 25 reaches yellow (score.zones.yellow 0.5): the highest churn probability is 0.27 and "
            "the model's training rows churned at 12.0%, so the thresholds sit above every client and the list "
            "looks all clear. Its order (priority) still ranks the risk; set score.zones.yellow and "
            "score.zones.red nearer this data's churn rate (twice and four times its odds of leaving: yellow "
            "0.21, red 0.35), or score.zones.method: capacity (the top 50 by revenue at risk red, the next 150 "
            "yellow)",
        ),
        (19, 0.27, ZonesConfig(yellow=0.5, red=0.7), 0.12, None),  # too few clients to say
        (25, 0.27, ZonesConfig(method="capacity"), 0.12, None),
    ],
)
def test_a_list_with_nobody_in_yellow_says_the_thresholds_sit_above_everyone(n, top, cfg, rate, expected):
    probability = np.array([top] + [0.05] * (n - 1))
    assert empty_zones_note(["green"] * n, probability, cfg, rate) == expected
    # one client in red and one in yellow: both zones hold clients, no note
    assert empty_zones_note(["red", "yellow"] + ["green"] * (n - 2), probability, cfg, rate) is None
    if expected is not None:  # yellow but no red: red sits above everyone
        assert empty_zones_note(["yellow"] + ["green"] * (n - 1), probability, cfg, rate) == (
            f"no client of {n} reaches red (score.zones.red 0.7): the highest churn probability is 0.27 and the "
            "model's training rows churned at 12.0%, so red sits above every client. Work the yellow clients "
            "in their order (priority), or set score.zones.red nearer this data's churn rate (twice and four "
            "times its odds of leaving: yellow 0.21, red 0.35)"
        )


@pytest.mark.parametrize(
    ("model_zone", "zone", "expected"),
    [
        # a fitness app's list: the model puts one client in yellow, term_lapsed raised 2 lapsed trials to red
        (
            ["yellow"] + ["green"] * 24,
            ["yellow", "red", "red"] + ["green"] * 22,
            "no client of 25 reaches red by the model's probability (2 red by the rules) (score.zones.red 0.7): "
            "the highest churn probability is 0.27 and the model's training rows churned at 12.0%, so red sits "
            "above every other client. Work the yellow clients in their order (priority), or set score.zones.red "
            "nearer this data's churn rate (twice and four times its odds of leaving: yellow 0.21, red 0.35)",
        ),
        # one red by the model (an expired trial), nobody in yellow: the thresholds sit above every other client
        # (a project-management SaaS's lists under a 30-day horizon said nothing), 2 more raised by the rules
        (
            ["red"] + ["green"] * 24,
            ["red", "yellow", "yellow"] + ["green"] * 22,
            "no client of 25 reaches yellow by the model's probability but the 1 in red (score.zones.yellow 0.5; "
            "2 more yellow or red by the rules): the highest other churn probability is 0.05 and the model's "
            "training rows churned at 12.0%, so the thresholds sit above every other client. Its order (priority) "
            "still ranks the risk; set score.zones.yellow and score.zones.red nearer this data's churn rate (twice "
            "and four times its odds of leaving: yellow 0.21, red 0.35), or score.zones.method: capacity (the top "
            "50 by revenue at risk red, the next 150 yellow)",
        ),
        # nobody yellow by the model, 3 raised by the rules: the list does not look all clear
        (
            ["green"] * 25,
            ["red", "yellow", "yellow"] + ["green"] * 22,
            "no client of 25 reaches yellow by the model's probability (3 yellow or red by the rules; "
            "score.zones.yellow 0.5): the highest churn probability is 0.27 and the model's training rows churned "
            "at 12.0%, so the thresholds sit above every other client. Its order (priority) still ranks the risk; "
            "set score.zones.yellow and score.zones.red nearer this data's churn rate (twice and four times its "
            "odds of leaving: yellow 0.21, red 0.35), or score.zones.method: capacity (the top 50 by revenue at "
            "risk red, the next 150 yellow)",
        ),
    ],
)
def test_the_empty_zones_note_counts_the_clients_the_rules_raised(model_zone, zone, expected) -> None:
    probability = np.array([0.27] + [0.05] * 24)
    cfg = ZonesConfig(yellow=0.5, red=0.7)
    assert empty_zones_note(model_zone, probability, cfg, 0.12, zone=zone) == expected


# labels.terms_beyond_horizon_note of a March list of schools that all renew on 1 September
_REACH = (
    "100% of the 25 active clients' terms end 90 days or more after 2026-03-02: they run 365 days (median) and "
    "a client churns at a term's end, so the model can flag a non-renewal only within 90 days of it "
    "(label.horizon_days). For an earlier warning, label.horizon_days: 210 (three in four of these terms end "
    "within 183 days of 2026-03-02; each label then waits that long plus label.grace_days after its snapshot)"
)


@pytest.mark.parametrize(
    ("zone_list", "yellow", "expected"),
    [
        (
            ["yellow"] + ["green"] * 24,
            0.15,
            "no client of 25 reaches red (score.zones.red 0.35): the highest churn probability is 0.20 and the "
            "model's training rows churned at 3.4%, so red sits above every client. Work the yellow clients in "
            f"their order (priority); lower thresholds would not bring the renewals in: {_REACH}",
        ),
        (
            ["green"] * 25,
            0.25,
            "no client of 25 reaches yellow (score.zones.yellow 0.25): the highest churn probability is 0.20 and "
            "the model's training rows churned at 3.4%, so the thresholds sit above every client and the list "
            "looks all clear. Its order (priority) still ranks the risk; lower thresholds would not bring the "
            f"renewals in: {_REACH}",
        ),
        (["red", "yellow"] + ["green"] * 23, 0.15, None),  # someone in red and in yellow: no note
        (  # one in red, nobody in yellow: yellow sits above every other client
            ["red"] + ["green"] * 24,
            0.15,
            "no client of 25 reaches yellow by the model's probability but the 1 in red (score.zones.yellow "
            "0.15): the highest other churn probability is 0.05 and the model's training rows churned at 3.4%, "
            "so the thresholds sit above every other client. Its order (priority) still ranks the risk; lower "
            f"thresholds would not bring the renewals in: {_REACH}",
        ),
    ],
)
def test_an_empty_red_zone_whose_renewals_lie_beyond_the_horizon_advises_the_horizon(
    zone_list, yellow, expected
):
    probability = np.array([0.20] + [0.05] * 24)
    got = empty_zones_note(
        zone_list, probability, ZonesConfig(yellow=yellow, red=0.35), 0.034, horizon_reach=_REACH
    )
    assert got == expected


@pytest.mark.parametrize(
    ("before", "now", "change", "new_red"),
    [
        ("green", "yellow", "green->yellow", False),
        ("yellow", "red", "yellow->red", True),
        ("red", "red", "", False),
        ("red", "green", "red->green", False),
        (None, "red", "new", True),
        (None, "green", "new", False),
    ],
)
def test_zone_changes(before: str | None, now: str, change: str, new_red: bool) -> None:
    assert zone_changes([before], [now]) == ([change], [new_red])


def _play_rows(**columns: list) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    base = {
        Scores.ZONE: ["green"] * n,
        Scores.VALUE_TIER: ["A"] * n,
        Scores.RULES: [""] * n,
        Scores.TERM_STATE: [""] * n,
        Scores.RENEWAL_DUE: [False] * n,
        Scores.RENEWAL_DAYS: [None] * n,
        Scores.NOT_WORTH_KEEPING: [False] * n,
        Scores.NOT_WORTH_KEEPING_REASON: [""] * n,
        Scores.driver(1, "family"): [None] * n,
        Scores.driver(1, "direction"): [None] * n,
    }
    return pl.DataFrame({**base, **columns})


def test_plays_follow_the_lead_driver_only_when_it_raises_the_risk() -> None:
    rows = _play_rows(
        **{
            Scores.ZONE: ["yellow", "yellow", "red"],
            Scores.driver(1, "family"): ["payments", "payments", "support"],
            Scores.driver(1, "direction"): ["raises risk", "lowers risk", "raises risk"],
        }
    )
    plays = recommended_plays(rows, load_config().playbooks)
    assert plays.get_column(Scores.ACTION_ROLE).to_list() == ["sales", "success", "service"]
    assert plays.get_column(Scores.ACTION_BASIS).to_list() == [
        "driver: payments",
        "zone and tier",
        "driver: support",
    ]


def test_a_cancellation_request_leading_is_no_ticket_follow_up_in_the_list() -> None:
    # the driver's feature names its registry group: a request 139 days old (its rule no longer fired) read
    # "Follow up on their tickets" for a learner whose only ticket it was
    rows = _play_rows(
        **{
            Scores.ZONE: ["red", "red"],
            Scores.driver(1, "family"): ["support", "support"],
            Scores.driver(1, "direction"): ["raises risk", "raises risk"],
            Scores.driver(1, "feature"): ["support_cancellation_requests_182d", "support_open_tickets"],
        }
    )
    plays = recommended_plays(rows, load_config().playbooks)
    assert plays.get_column(Scores.ACTION_BASIS).to_list() == ["zone and tier", "driver: support"]


def test_a_paused_client_s_play_is_the_pause_s_in_the_list() -> None:
    # the pause's facts the CRM views write (crm.PAUSE_FACTS) reach choose_play, not a reading of the term state
    from churnml.scoring.crm import PAUSE_DUE, PAUSED

    paused = "On a free term since its last paid one ended on 2025-10-22 (a pause, or a free plan)"
    rows = _play_rows(
        **{
            Scores.ZONE: ["yellow", "yellow", "yellow"],
            Scores.RULES: ["usage_drop", "usage_drop", "usage_drop"],
            Scores.TERM_STATE: [paused, "", paused],
            Scores.RENEWAL_DAYS: [13, None, 13],
            PAUSED: [True, False, False],
            PAUSE_DUE: [True, False, False],
        }
    )
    plays = recommended_plays(rows, load_config().playbooks)
    assert plays.get_column(Scores.ACTION_BASIS).to_list() == [
        "pause",
        "rule: usage_drop",
        "rule: usage_drop",
    ]
    assert plays.get_column(Scores.ACTION).to_list()[0] == (
        "Within two weeks: On a pause or a free plan: ask whether they will resume the paid plan and what would "
        "make it fit (the free term ends in 13 days)"
    )


def test_missing_playbook_entry_is_named() -> None:
    with pytest.raises(ScoringError, match="zone 'red' and tier 'B'"):
        recommended_plays(
            _play_rows(**{Scores.ZONE: ["red"], Scores.VALUE_TIER: ["B"]}),
            PlaybooksConfig(actions={"red": {"A": "call"}}),
        )


def test_history_snapshots_are_weekly_and_end_at_the_as_of_date() -> None:
    assert history_snapshots(AS_OF, 3) == [AS_OF - timedelta(weeks=2), AS_OF - timedelta(weeks=1), AS_OF]
    assert history_snapshots(AS_OF, 1) == [AS_OF - timedelta(weeks=1), AS_OF]


def test_feature_mismatch_names_the_differences() -> None:
    assert check_feature_match(["a", "b"], ["b", "a"]) == ()
    with pytest.raises(
        ScoringError, match=r"1 model features are not in the data \(e.g. c\).*1 data features"
    ):
        check_feature_match(["a", "c"], ["a", "d"])


def test_features_the_model_never_learned_are_left_out_and_said() -> None:
    from churnml.scoring.assemble import unknown_features_note

    # a signals table appeared since the model was trained: the list goes on without its features
    unknown = check_feature_match(["a", "b"], ["a", "b", "account_signals_7d", "account_signals_28d"])
    assert unknown == ("account_signals_7d", "account_signals_28d")
    assert unknown_features_note(unknown) == (
        "2 features of the data are unknown to the model (account_signals_7d, account_signals_28d): a table or "
        "column it did not learn from, left out of this list until the next churnml train"
    )
    assert unknown_features_note(()) is None


def test_stale_data_is_refused() -> None:
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["a"], "created_at": [datetime(2020, 1, 1)]}),
        Table.EVENTS: pl.DataFrame({"client_id": ["a"], "ts": [datetime(2024, 5, 1)], "event": ["login"]}),
    }
    assert check_data_lag(tables, date(2024, 5, 10), 21) == datetime(2024, 5, 1)
    with pytest.raises(ScoringError) as refused:
        check_data_lag(tables, date(2024, 6, 3), 21)
    # the way on for a business closed for a season (a school's August export: nothing since a July payment)
    assert str(refused.value) == (
        "the data ends on 2024-05-01, 33 days before the as-of date 2024-06-03 (score.max_data_lag_days = 21); "
        "refresh the data, pass an earlier --as-of, or, when nothing happened since (a business closed for a "
        "season), --set score.max_data_lag_days=33"
    )
    assert check_data_lag(tables, date(2024, 6, 3), 33) == datetime(2024, 5, 1)


def test_a_list_without_data_before_its_date_is_refused_in_one_sentence() -> None:
    """The refusal of both engines (no_data_message: Polars' check_data_lag, Spark's _check_lag)."""
    from churnml.scoring.assemble import no_data_message

    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["a"], "created_at": [datetime(2020, 1, 1)]}),
        Table.EVENTS: pl.DataFrame({"client_id": ["a"], "ts": [datetime(2024, 5, 1)], "event": ["login"]}),
    }
    said = "no data before the as-of date 2024-04-01: nothing to score"
    assert no_data_message(date(2024, 4, 1)) == said
    with pytest.raises(ScoringError, match=f"^{said}$"):
        check_data_lag(tables, date(2024, 4, 1), 21)


_NOBODY = "no client is active at the as-of date 2026-08-17: nothing to score"


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        # two students of the summer term (ended 2026-06-28), one booked for September: the break is named
        (
            [
                ("a", "2026-04-27", "2026-06-28"),
                ("a", "2026-09-07", "2026-11-15"),
                ("b", "2026-04-27", "2026-06-28"),
            ],
            f"{_NOBODY}; 1 client has a term booked to start on 2026-09-07 or later after a gap longer than "
            "label.grace_days (30): each is gone until that term starts. A break the business takes between terms "
            "(a school closed for the summer) wants a grace that covers it: churnml validate names it",
        ),
        ([("b", "2026-04-27", "2026-06-28")], _NOBODY),  # nobody booked: nothing more to say
        ([("n", "2026-09-07", "2026-11-15")], _NOBODY),  # a new student's first term booked ahead: no return
    ],
)
def test_a_list_nobody_is_on_names_the_terms_booked_after_the_grace(terms, expected) -> None:
    """A school closed all summer, its August list under the default 30-day grace: 'nothing to score' said
    nothing of the 226 students booked for September (it now names them and the grace)."""
    from churnml.scoring.assemble import nobody_active_message

    subs = pl.DataFrame(
        terms, schema={"client_id": pl.String, "start_date": pl.String, "end_date": pl.String}, orient="row"
    ).with_columns(pl.col("start_date", "end_date").str.to_datetime("%Y-%m-%d"), mrr=pl.lit(140.0))
    assert nobody_active_message(subs, date(2026, 8, 17), 30) == expected
    assert nobody_active_message(None, date(2026, 8, 17), 30) == _NOBODY


# -- a tiny CRM, a tiny real model ----------------------------------------------------------------
def tiny_tables(n: int = 24, seed: int = 0) -> dict[Table, pl.DataFrame]:
    """n clients with daily logins and monthly terms; every 4th client's logins collapse in May 2024,
    client c001 stops logging in two weeks before the as-of date."""
    rng = np.random.default_rng(seed)
    end = datetime(AS_OF.year, AS_OF.month, AS_OF.day)
    ids = [f"c{i:03d}" for i in range(n)]
    names = ['=HYPERLINK("x")' if i == 0 else f"Client {i}" for i in range(n)]
    clients = pl.DataFrame(
        {
            "client_id": ids,
            "created_at": [START] * n,
            "name": names,
            "owner": [f"owner{i % 3}" for i in range(n)],
            "strategic": [i % 4 for i in range(n)],
        }
    )
    events, subs, pays = [], [], []
    for i, c in enumerate(ids):
        rate = 1.0 + (i % 5) * 0.4
        day = START
        while day < end:
            r = rate
            if i % 4 == 0 and day >= datetime(2024, 5, 1):
                r *= 0.1
            if c == "c001" and day >= end - timedelta(days=14):
                r = 0.0
            for _ in range(rng.poisson(r)):
                events.append((c, day + timedelta(hours=int(rng.integers(0, 24))), "login"))
            day += timedelta(days=1)
        term = START
        while term < end:
            subs.append((c, term, term + timedelta(days=30), 100.0 + 10 * i))
            pays.append((c, 100.0 + 10 * i, term + timedelta(days=2)))
            term += timedelta(days=30)
    dt = pl.Datetime("us")
    return {
        Table.CLIENTS: clients,
        Table.EVENTS: pl.DataFrame(
            events, schema={"client_id": pl.String, "ts": dt, "event": pl.String}, orient="row"
        ),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            subs,
            schema={"client_id": pl.String, "start_date": dt, "end_date": dt, "mrr": pl.Float64},
            orient="row",
        ),
        Table.PAYMENTS: pl.DataFrame(
            pays, schema={"client_id": pl.String, "amount": pl.Float64, "paid_at": dt}, orient="row"
        ).filter(pl.col("paid_at") < end),
    }


def tiny_dataset() -> Dataset:
    tables = tiny_tables()
    return Dataset(tables, "tiny", START, datetime(AS_OF.year, AS_OF.month, AS_OF.day))


def train_tiny_model(dataset: Dataset, extra_feature: bool = False) -> tuple[ChurnModel, dict]:
    snaps = [date(2024, 1, 1) + timedelta(weeks=k) for k in range(22)]
    spine = active_spine(dataset, snaps, LabelConfig())
    table = build_features(dataset, spine, FeaturesConfig())
    names = [c for c in table.columns if c not in ("client_id", "snapshot")]
    X = table.select(names).cast(pl.Float64).to_pandas()
    if extra_feature:
        X["made_up_feature"] = 1.0
    # Label: a low recent login rate against the client's own past (with a little noise).
    rng = np.random.default_rng(3)
    ratio = X["usage_logins_ratio"].fillna(1.0).to_numpy()
    y = ((ratio < 0.7) ^ (rng.uniform(size=len(X)) < 0.05)).astype(int)
    params = {"n_estimators": 15, "num_leaves": 4, "min_child_samples": 5, "learning_rate": 0.3}
    model = ChurnModel(params=params, early_stopping_rounds=5, n_jobs=1).fit(X, y, eval_set=(X, y))
    return model, {"model_version": "3", "feature_reference": feature_reference(X)}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("score")
    dataset = tiny_dataset()
    write_tables({str(t): f for t, f in dataset.tables.items()}, root / "raw")
    model, meta = train_tiny_model(dataset)
    export_model(model, root / "model", meta)
    bad, bad_meta = train_tiny_model(dataset, extra_feature=True)
    export_model(bad, root / "bad_model", bad_meta)
    return {"root": root, "raw": root / "raw", "model": root / "model", "bad_model": root / "bad_model"}


def run_score(ws: dict[str, Path], out: Path, *extra: str, model: str = "model") -> object:
    args = ["score", "--data", str(ws["raw"]), "--as-of", AS_OF.isoformat(), "--out", str(out)]
    args += ["--model", str(ws[model]), "--set", "score.history_weeks=4", *extra]
    return CliRunner().invoke(app, args)


@pytest.fixture(scope="module")
def scored(workspace: dict[str, Path]) -> Path:
    out = workspace["root"] / "scores" / AS_OF.isoformat()
    result = run_score(workspace, out)
    assert result.exit_code == 0, result.output
    return out


def test_score_writes_the_whole_list(scored: Path, workspace: dict[str, Path]) -> None:
    assert sorted(p.name for p in scored.iterdir()) == [
        "history.parquet",
        "manifest.json",
        "report.html",
        "scores.csv",
        "scores.parquet",
    ]
    scores = pl.read_parquet(scored / "scores.parquet")
    active = active_spine(tiny_dataset(), [AS_OF], LabelConfig())
    assert sorted(scores.get_column("client_id").to_list()) == sorted(
        active.get_column("client_id").to_list()
    )
    assert scores.get_column(Scores.PRIORITY).to_list() == list(range(1, scores.height + 1))
    p = scores.get_column(Scores.PROBABILITY).to_numpy()
    assert ((p > 0) & (p < 1)).all()
    np.testing.assert_allclose(scores.get_column(Scores.HEALTH).to_numpy(), np.round(100 * (1 - p), 1))
    assert set(scores.get_column(Scores.ZONE)) <= {"green", "yellow", "red"}
    # at or above the red threshold is red; below it a client can stay red a while (hysteresis)
    assert all(z == "red" for z, x in zip(scores.get_column(Scores.ZONE), p, strict=True) if x >= 0.35)
    # ARR: one running term of 100 + 10 i per client, 12 months.
    arr = dict(zip(scores.get_column("client_id"), scores.get_column(Scores.ARR), strict=True))
    assert arr["c003"] == pytest.approx(12 * 130.0)
    assert scores.get_column(Scores.driver(1, "sentence")).null_count() < scores.height
    manifest = json.loads((scored / "manifest.json").read_text())
    assert manifest["as_of"] == AS_OF.isoformat()
    assert manifest["model"]["version"] == "3"
    assert manifest["clients_scored"] == scores.height
    assert manifest["data"]["row_counts"]["clients"] == 24
    assert set(manifest["data"]["checksums"]) == {"clients", "events", "subscriptions", "payments"}
    assert sum(manifest["zones"].values()) == scores.height
    assert "timings" in manifest
    history = pl.read_parquet(scored / "history.parquet")
    assert history.group_by("client_id").len().get_column("len").max() == 4
    # the manifest names the weeks scored that hold clients: those of history.parquet, none before the data
    weeks = sorted(d.isoformat() for d in history.get_column("snapshot").unique().to_list())
    assert manifest["history"]["snapshots_scored"] == weeks


def test_previous_week_is_the_same_model_on_last_weeks_snapshot(
    scored: Path, workspace: dict[str, Path]
) -> None:
    from churnml.modeling.export import load_exported

    model, _ = load_exported(workspace["model"])
    dataset = tiny_dataset()
    prev = AS_OF - timedelta(weeks=1)
    table = build_features(dataset, active_spine(dataset, [prev], LabelConfig()), FeaturesConfig())
    expected = dict(
        zip(
            table.get_column("client_id").to_list(),
            model.churn_probability(table.select(model.feature_names_).cast(pl.Float64).to_pandas()),
            strict=True,
        )
    )
    scores = pl.read_parquet(scored / "scores.parquet")
    for row in scores.iter_rows(named=True):
        assert row[Scores.PREVIOUS_PROBABILITY] == pytest.approx(expected[row["client_id"]])
        assert row[Scores.PROBABILITY_CHANGE] == pytest.approx(
            row[Scores.PROBABILITY] - expected[row["client_id"]]
        )
        # The change is explained when it is material (score.change_min) or the zone changed.
        material = abs(row[Scores.PROBABILITY_CHANGE]) >= 0.01 or row[Scores.ZONE_CHANGE] != ""
        assert (row[Scores.WHY_CHANGED] is not None) == material
        if row[Scores.PREVIOUS_ZONE] != row[Scores.ZONE]:
            assert row[Scores.ZONE_CHANGE] == f"{row[Scores.PREVIOUS_ZONE]}->{row[Scores.ZONE]}"
    # c001 stopped logging in two weeks ago: its risk rose, and the logins explain why.
    c001 = scores.filter(pl.col("client_id") == "c001").row(0, named=True)
    assert c001[Scores.PROBABILITY_CHANGE] > 0
    # before -> after: the probability, then each signal ("Days since the last login: 1 day -> 8 days")
    head, reasons = c001[Scores.WHY_CHANGED].split("; risk up: ", 1)
    before, after = head.split(" \u2192 ")
    assert float(before.strip("<> %")) < float(after.strip("<> %"))  # "> 99%": never said as a certainty
    # every event of the tiny data is a login: the model may split on either twin feature
    assert ("login" in reasons.lower() or "product events" in reasons.lower()) and " \u2192 " in reasons


def test_csv_is_formula_safe_and_matches_the_parquet(scored: Path) -> None:
    raw = (scored / "scores.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfclient_id,")  # a BOM: Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    scores = pl.read_parquet(scored / "scores.parquet")
    assert len(rows) == scores.height
    name_of = {r["client_id"]: r["name"] for r in rows}
    assert name_of["c000"] == '\'=HYPERLINK("x")'
    for row in rows:
        for value in row.values():
            if value and value.startswith(FORMULA_PREFIXES):
                float(value)  # only numbers may start like a formula


def test_rerun_gives_identical_files(scored: Path, workspace: dict[str, Path]) -> None:
    before = {p.name: p.read_bytes() for p in scored.iterdir()}
    result = run_score(workspace, scored)
    assert result.exit_code == 0, result.output
    assert "unchanged" in result.output
    after = {p.name: p.read_bytes() for p in scored.iterdir()}
    assert after == before


def test_mismatched_model_is_refused(workspace: dict[str, Path]) -> None:
    out = workspace["root"] / "mismatch"
    result = run_score(workspace, out, model="bad_model")
    assert result.exit_code == 1
    assert "does not match the data" in result.output and "made_up_feature" in result.output
    assert not out.exists()


def test_stale_data_is_refused_by_the_command(workspace: dict[str, Path]) -> None:
    out = workspace["root"] / "late"
    args = ["score", "--data", str(workspace["raw"]), "--as-of", "2024-09-02", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--model", str(workspace["model"])])
    assert result.exit_code == 1
    assert "days before the as-of date 2024-09-02" in result.output


# -- atomic writing ------------------------------------------------------------------------------
MARKED = b'{"written_by": "churnml"}'


def test_a_failure_mid_write_keeps_the_previous_list(tmp_path: Path) -> None:
    folder = tmp_path / "2024-06-03"
    assert write_scores_atomically(folder, {"scores.csv": b"old", "manifest.json": MARKED})

    def explode(path: Path) -> None:
        path.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_scores_atomically(
            folder, {"scores.csv": b"new", "report.html": explode, "manifest.json": MARKED}
        )
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "scores.csv"]
    assert (folder / "scores.csv").read_bytes() == b"old"
    # no temp folders or lock file left
    assert [p.name for p in tmp_path.iterdir()] == ["2024-06-03"]


def test_an_interrupted_swap_is_recovered(tmp_path: Path) -> None:
    folder = tmp_path / "2024-06-03"
    write_scores_atomically(folder, {"scores.csv": b"old", "manifest.json": MARKED})
    # A crash between the two renames leaves only the renamed-away previous list.
    folder.rename(tmp_path / ".2024-06-03.old-999")
    assert write_scores_atomically(folder, {"scores.csv": b"new", "manifest.json": MARKED})
    assert (folder / "scores.csv").read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["2024-06-03"]


def test_same_files_leave_the_folder_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    first = json.dumps({"as_of": "2024-06-03", "timings": {"total": 1.0}, "written_by": "churnml"}).encode()
    second = json.dumps({"as_of": "2024-06-03", "timings": {"total": 2.5}, "written_by": "churnml"}).encode()
    assert write_scores_atomically(folder, {"a.csv": b"1", "manifest.json": first})
    assert not write_scores_atomically(folder, {"a.csv": b"1", "manifest.json": second})
    assert (folder / "manifest.json").read_bytes() == first
    assert write_scores_atomically(folder, {"a.csv": b"2", "manifest.json": second})
    assert (folder / "a.csv").read_bytes() == b"2"


def test_csv_writes_midnight_times_as_dates_and_other_times_to_the_second() -> None:
    frame = pl.DataFrame(
        {
            "churned_at": [datetime(2025, 7, 22), None],
            "ts": [datetime(2025, 7, 22, 13, 5), datetime(2025, 7, 1)],
        }
    )
    text = formula_safe_csv(frame).decode("utf-8-sig")
    assert text == "churned_at,ts\n2025-07-22,2025-07-22 13:05:00\n,2025-07-01 00:00:00\n"


# -- CSV formula safety (property) -------------------------------------------------------------
cells = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["=1+1", "+cmd", "-2", "-2.5e3", "@SUM(A1)", "\tx", "\r=1", " =x", "-", "+", "'=x"]),
)


@given(st.lists(cells, min_size=1, max_size=8), st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=8))
@settings(max_examples=150, deadline=None)
def test_no_csv_cell_starts_a_formula(texts: list[str], numbers: list[float]) -> None:
    n = min(len(texts), len(numbers))
    frame = pl.DataFrame({"text": texts[:n], "number": numbers[:n]})
    rows = list(csv.reader(io.StringIO(formula_safe_csv(frame).decode("utf-8-sig"), newline="")))
    assert rows[0] == ["text", "number"]
    assert len(rows) == n + 1
    for (text_cell, number_cell), original in zip(rows[1:], texts[:n], strict=True):
        for cell in (text_cell, number_cell):
            if cell.startswith(FORMULA_PREFIXES):
                float(cell)
        # Nothing is lost: the text is the original, or the original behind one quote.
        assert text_cell in (original, "'" + original)


def test_client_batches_and_reused_history_give_the_same_list(workspace: dict[str, Path]) -> None:
    from churnml.modeling.export import load_exported
    from churnml.scoring.assemble import scored_list

    cfg = load_config(overrides=["score.history_weeks=3"])
    model, meta = load_exported(workspace["model"])
    dataset = tiny_dataset()
    slices = {
        "label": cfg.label,
        "features": cfg.features,
        "score": cfg.score,
        "value": cfg.value,
        "rules": cfg.rules,
        "playbooks": cfg.playbooks,
    }
    whole = scored_list(dataset, AS_OF, model, meta, **slices)
    batched = scored_list(dataset, AS_OF, model, meta, rows_per_batch=20, **slices)
    assert len(whole.scored_snapshots) == 3
    assert batched.scores.equals(whole.scores)
    assert batched.history.equals(whole.history)
    # Last week's history (same model) is reused: only this week and last week are scored again.
    reused = scored_list(dataset, AS_OF, model, meta, known_history=whole.history, **slices)
    assert reused.scored_snapshots == (AS_OF - timedelta(weeks=1), AS_OF)
    assert reused.history.equals(whole.history)
    assert reused.scores.equals(whole.scores)
    # a listed client without rows in last week's file (back after a churn, not on last week's list): scored
    # at the reused weeks too, as without the file (it had this week and last week only)
    back = whole.history.get_column("client_id").unique().sort()[0]
    known = whole.history.filter(pl.col("client_id") != back)
    returned = scored_list(dataset, AS_OF, model, meta, known_history=known, **slices)
    assert returned.scored_snapshots == (AS_OF - timedelta(weeks=1), AS_OF)
    assert returned.history.filter(pl.col("client_id") == back).height == 3
    assert returned.history.equals(whole.history)
    assert returned.scores.equals(whole.scores)


@pytest.mark.parametrize(
    ("mailed", "said"),
    [
        # a newsletter to all 24 clients 10 days ago, beside a personal e-mail: said once for the list
        (
            24,
            "unanswered_outreach skips 1 mailing of the last 91 days (24 outbound touches: on one channel and day "
            "to 30% or more of the clients, 20 at least): a newsletter is no outreach that waits for an answer",
        ),
        (5, None),  # e-mails to 5 clients: outreach, no mailing
    ],
)
def test_the_list_says_the_mailings_unanswered_outreach_skipped(
    workspace: dict[str, Path], mailed: int, said: str | None
) -> None:
    from churnml.modeling.export import load_exported
    from churnml.scoring.assemble import scored_list

    cfg = load_config(overrides=["score.history_weeks=2"])
    model, meta = load_exported(workspace["model"])
    tables = tiny_tables()
    ids = tables[Table.CLIENTS].get_column("client_id").to_list()
    sent = datetime(AS_OF.year, AS_OF.month, AS_OF.day) - timedelta(days=10)
    tables[Table.COMMUNICATIONS] = pl.DataFrame(
        {
            "client_id": [*ids[:mailed], "c002"],
            "ts": [sent] * mailed + [sent + timedelta(days=1)],
            "channel": ["email"] * (mailed + 1),
            "direction": ["out"] * (mailed + 1),
        }
    )
    dataset = Dataset(tables, "tiny", START, datetime(AS_OF.year, AS_OF.month, AS_OF.day))
    slices = {k: getattr(cfg, k) for k in ("label", "features", "score", "value", "rules", "playbooks")}
    assert scored_list(dataset, AS_OF, model, meta, **slices).mailings == said


class _FlatModel:
    """A model that gives every row 0.1: the batches' features are what is compared."""

    def churn_probability(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), 0.1)


def test_small_client_batches_give_the_communication_features_of_one_batch() -> None:
    from churnml.scoring.assemble import _score_spine

    # a weekly newsletter to all 24 clients, no reply, and c002's account manager's e-mails, answered:
    # a mailing judged within a batch of 6 clients (fewer than rules.mailing_min_clients, 20) would be outreach
    tables = tiny_tables()
    ids = tables[Table.CLIENTS].get_column("client_id").to_list()
    end = datetime(AS_OF.year, AS_OF.month, AS_OF.day)
    sent = [end - timedelta(days=3 + 7 * w) for w in range(8)]
    rows = [(c, ts, "email", "out", "no_reply") for ts in sent for c in ids]
    rows += [("c002", ts + timedelta(days=1), "email", "out", "replied") for ts in sent[::4]]
    schema = ["client_id", "ts", "channel", "direction", "outcome"]
    tables[Table.COMMUNICATIONS] = pl.DataFrame(rows, schema=schema, orient="row")
    dataset = Dataset(tables, "tiny", START, end)
    prev = AS_OF - timedelta(weeks=1)
    spine = active_spine(dataset, [prev, AS_OF], LabelConfig())
    features, rules = FeaturesConfig(), RulesConfig()
    names = [c for c in build_features(dataset, spine.head(1), features).columns if c.startswith("comm_")]
    run = (dataset, spine, _FlatModel(), names, AS_OF, prev, features)
    whole = _score_spine(*run, 10**9, None, rules=rules)
    batched = _score_spine(*run, 6, None, rules=rules)  # 4 batches of 6 clients
    for got, expected in ((batched.now, whole.now), (batched.prev, whole.prev)):
        assert pl.concat(got).sort("client_id").equals(pl.concat(expected).sort("client_id"))
    now = pl.concat(whole.now)
    # the newsletters are no outreach: out touches in 28 days are c002's personal ones (1), no streak
    assert now.get_column("comm_no_reply_streak").unique().to_list() == [0.0]
    out = dict(now.select("client_id", "comm_touches_out_28d").rows())
    assert (out["c002"], out["c003"]) == (1.0, 0.0)


def test_since_last_week_capacity_zones_are_the_zones_last_weeks_list_showed(
    workspace: dict[str, Path],
) -> None:
    from churnml.modeling.export import load_exported
    from churnml.scoring.assemble import scored_list

    # c016 and c020 (logins down since May: red) leave 3 days before the as-of date (a churn record; no
    # term, payment or login since): this week's previous_zone of every other client is its zone on last
    # week's list, where they were red (capacity zones, no rule raising any zone)
    tables = tiny_tables()
    left, cut = ["c016", "c020"], datetime(AS_OF.year, AS_OF.month, AS_OF.day) - timedelta(days=3)
    gone = pl.col("client_id").is_in(left)
    dataset = Dataset(
        {
            **tables,
            Table.SUBSCRIPTIONS: tables[Table.SUBSCRIPTIONS].filter(
                ~gone | (pl.col("start_date") < cut - timedelta(days=30))
            ),
            Table.PAYMENTS: tables[Table.PAYMENTS].filter(
                ~gone | (pl.col("paid_at") < cut - timedelta(days=30))
            ),
            Table.EVENTS: tables[Table.EVENTS].filter(~gone | (pl.col("ts") < cut)),
            Table.CHURNS: pl.DataFrame({"client_id": left, "churned_at": [cut, cut]}),
        },
        "tiny",
        START,
        datetime(AS_OF.year, AS_OF.month, AS_OF.day),
    )
    cfg = load_config(
        overrides=[
            "score.history_weeks=3",
            "score.zones.method=capacity",
            "score.zones.red_capacity=3",
            "score.zones.yellow_capacity=4",
            "rules.enabled=[]",
        ]
    )
    model, meta = load_exported(workspace["model"])
    slices = {
        "label": cfg.label,
        "features": cfg.features,
        "score": cfg.score,
        "value": cfg.value,
        "rules": cfg.rules,
        "playbooks": cfg.playbooks,
    }
    now = scored_list(dataset, AS_OF, model, meta, **slices).scores
    shown = scored_list(dataset, AS_OF - timedelta(weeks=1), model, meta, **slices).scores
    assert shown.filter(gone).get_column(Scores.ZONE).to_list() == ["red", "red"]
    assert now.filter(gone).height == 0
    both = now.join(shown.select("client_id", pl.col(Scores.ZONE).alias("shown")), on="client_id")
    assert both.get_column(Scores.PREVIOUS_ZONE).to_list() == both.get_column("shown").to_list()


@pytest.mark.parametrize(
    ("zone", "priority", "limit", "expected"),
    [
        (["green", "red", "yellow", "red"], [1, 3, 2, 4], None, [0, 1, 2, 3]),
        (["green", "red", "yellow", "red"], [1, 3, 2, 4], 2, [1, 3]),  # both reds, by priority
        (["green", "red", "yellow", "red"], [1, 3, 2, 4], 3, [1, 2, 3]),
        (["green", "green"], [2, 1], 1, [1]),
    ],
)
def test_explained_rows(zone: list[str], priority: list[int], limit: int | None, expected: list[int]) -> None:
    from churnml.scoring.reasons import explained_rows

    assert explained_rows(zone, np.asarray(priority), limit).tolist() == expected


def test_explain_limit_leaves_the_scores_unchanged(workspace: dict[str, Path]) -> None:
    from churnml.modeling.export import load_exported
    from churnml.scoring.assemble import scored_list

    model, meta = load_exported(workspace["model"])
    dataset = tiny_dataset()
    full, capped = (
        scored_list(
            dataset,
            AS_OF,
            model,
            meta,
            label=cfg.label,
            features=cfg.features,
            score=cfg.score,
            value=cfg.value,
            rules=cfg.rules,
            playbooks=cfg.playbooks,
        ).scores
        for cfg in (
            load_config(overrides=["score.history_weeks=2"]),
            load_config(overrides=["score.history_weeks=2", "score.explain_limit=5"]),
        )
    )
    assert full.get_column(Scores.EXPLAINED).all()
    assert capped.get_column(Scores.EXPLAINED).sum() == 5
    explained = capped.filter(pl.col(Scores.EXPLAINED))
    same = full.filter(pl.col("client_id").is_in(explained.get_column("client_id").implode()))
    assert explained.drop(Scores.EXPLAINED).equals(same.drop(Scores.EXPLAINED))
    rest = capped.filter(~pl.col(Scores.EXPLAINED))
    assert rest.get_column(Scores.driver(1, "sentence")).null_count() == rest.height
    assert rest.get_column(Scores.family_health("usage")).null_count() == rest.height
    # the action follows the leading driver, which unexplained rows do not have
    untouched = [
        c for c in full.columns if not c.startswith(("driver_", "health_", "why", "explained", "action"))
    ]
    assert capped.select(untouched).equals(full.select(untouched))


def test_a_client_batch_keeps_the_whole_datasets_weekly_grid() -> None:
    """A batch whose clients start later than the rest must see the same grid as the whole dataset."""
    from churnml.scoring.assemble import _client_subset

    tables = tiny_tables()
    late = [c for c in tables[Table.CLIENTS].get_column("client_id").to_list() if c != "c000"]
    # Everyone but c000 has no activity in the first five weeks: a batch of them starts later.
    cut = START + timedelta(weeks=5, days=3)
    tables = {
        t: (
            f.filter((pl.col("client_id") == "c000") | (pl.col(f.columns[1]) >= cut))
            if t != Table.CLIENTS
            else f
        )
        for t, f in tables.items()
    }
    whole = Dataset(tables, "tiny", START, datetime(AS_OF.year, AS_OF.month, AS_OF.day))
    spine = active_spine(whole, [AS_OF - timedelta(weeks=8), AS_OF], LabelConfig())
    spine = spine.filter(pl.col("client_id").is_in(late))
    expected = build_features(whole, spine, FeaturesConfig())
    batch = _client_subset(whole, late)
    assert batch.first_activity() == whole.first_activity()
    assert build_features(batch, spine, FeaturesConfig()).equals(expected)
    # Without the pinned start the batch's grid would begin five weeks later (what this test guards).
    unpinned = batch.with_tables()
    unpinned = Dataset(dict(unpinned.tables), "tiny", START, whole.as_of)
    assert unpinned.first_activity() > whole.first_activity()
    assert not build_features(unpinned, spine, FeaturesConfig()).equals(expected)


def late_payments_tables() -> dict[Table, pl.DataFrame]:
    """Two clients on monthly terms from 2026-06-04 (A) and 06-10 (B); a billing export from 2026-07-01: A's
    invoices from that day, B's from 07-15 (a batch of B alone would begin the log two weeks later)."""
    dt = pl.Datetime("us")
    terms = [
        (c, s + timedelta(days=30 * i), s + timedelta(days=30 * (i + 1)), 49.0)
        for c, s in (("A", datetime(2026, 6, 4)), ("B", datetime(2026, 6, 10)))
        for i in range(4)
    ]
    bills = [
        (c, f + timedelta(days=30 * i), 49.0)
        for c, f in (("A", datetime(2026, 7, 1, 9)), ("B", datetime(2026, 7, 15, 9)))
        for i in range(3)
    ]
    return {
        Table.CLIENTS: pl.DataFrame({"client_id": ["A", "B"], "created_at": [datetime(2025, 1, 1)] * 2}),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            terms,
            schema={"client_id": pl.String, "start_date": dt, "end_date": dt, "mrr": pl.Float64},
            orient="row",
        ),
        Table.PAYMENTS: pl.DataFrame(
            bills, schema={"client_id": pl.String, "paid_at": dt, "amount": pl.Float64}, orient="row"
        ),
    }


def test_a_client_batch_observes_a_late_payments_log_from_the_whole_datasets_start() -> None:
    """The weekly list's client batches pin the payments log's start (Dataset.payments_observed_from): B's
    payment features are those of the whole dataset, observed from 2026-07-01, not from its own first bill."""
    from churnml.scoring.assemble import _client_subset

    whole = Dataset(late_payments_tables(), "late", datetime(2026, 6, 4), datetime(2026, 10, 1))
    assert whole.payments_observed_from() == datetime(2026, 7, 1, 9)
    spine = pl.DataFrame(
        {"client_id": ["B"] * 3, "snapshot": [date(2026, 7, 27), date(2026, 8, 10), date(2026, 9, 28)]}
    )
    expected = build_features(whole, spine, FeaturesConfig())
    # B at 08-10: 49 paid 07-15 in the last 28 days, against the log's week of 06-29 before them (no bill)
    assert expected.get_column("payments_paid_28d").to_list() == [None, 49.0, 49.0]
    batch = _client_subset(whole, ["B"])
    assert batch.payments_observed_from() == whole.payments_observed_from()
    assert build_features(batch, spine, FeaturesConfig()).equals(expected)
    # unpinned, B's log would begin on 07-15: its 28 days at 08-10 reach before it (unknown)
    unpinned = Dataset(dict(batch.tables), "late", whole.start, whole.as_of)
    assert unpinned.payments_observed_from() == datetime(2026, 7, 15, 9)
    assert not build_features(unpinned, spine, FeaturesConfig()).equals(expected)


@pytest.mark.parametrize("keep", [[2, 3], [0, 2, 4], [], [0, 1, 2, 3, 4]])
def test_copied_rows_are_the_filtered_rows(keep: list[int]) -> None:
    from churnml.scoring.assemble import _copied_rows

    frame = pl.DataFrame({"k": [0, 1, 2, 3, 4], "v": [0.5, None, 2.5, 3.5, 4.5], "s": list("abcde")})
    predicate = pl.col("k").is_in(keep)
    got = _copied_rows(frame, predicate)
    assert got.equals(frame.filter(predicate))
    assert got.get_column("k").to_list() == keep


def test_gone_clients_stay_off_the_list_until_they_come_back() -> None:
    t = datetime(2024, 6, 3)
    ids = ["gone", "returned", "paid_last_invoice", "never_left", "later", "at_midnight"]
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ids, "created_at": [t - timedelta(days=400)] * 6}),
        Table.CHURNS: pl.DataFrame(
            {
                "client_id": ["gone", "returned", "paid_last_invoice", "later", "at_midnight"],
                # "later" churns after the as-of date: not gone yet; "at_midnight" at 00:00 of it, which the
                # spine still reads as active (strictly before): listed, not gone, as on the win-back list
                "churned_at": [
                    t - timedelta(days=20),
                    t - timedelta(days=200),
                    t - timedelta(days=10),
                    t + timedelta(days=3),
                    t,
                ],
            }
        ),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ["returned"],
                "start_date": [t - timedelta(days=100)],
                "end_date": [t + timedelta(days=265)],
                "mrr": [100.0],
            }
        ),
        Table.PAYMENTS: pl.DataFrame(
            {"client_id": ["paid_last_invoice"], "amount": [100.0], "paid_at": [t - timedelta(days=2)]}
        ),
        Table.EVENTS: pl.DataFrame(
            {"client_id": ["gone"], "ts": [t - timedelta(days=25)], "event": ["login"]}
        ),
    }
    assert gone_clients(tables, t.date(), grace_days=30) == {"gone", "paid_last_invoice"}


@pytest.mark.parametrize(
    ("source", "gone"),
    [
        # a customer is a client with a term: only a new term is a return
        ("subscriptions", {"orders_again", "wound_down", "subscriber"}),
        ("churns", {"orders_again", "wound_down", "subscriber"}),
        ("auto", {"orders_again", "wound_down", "subscriber"}),
        # an order after the record's wind-down is a return, terms or not
        ("inactivity", {"wound_down"}),
        # a term, or an order outside the term spells and their grace: the subscriber's order of t-40 is in its
        # term's grace
        ("mixed", {"wound_down", "subscriber"}),
    ],
)
def test_gone_clients_follow_the_return_rule_of_the_label_source(source: str, gone: set[str]) -> None:
    t = datetime(2024, 6, 3)
    ago = [t - timedelta(days=d) for d in range(400)]
    ids = ["orders_again", "wound_down", "subscriber", "renewed"]
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ids, "created_at": [ago[399]] * 4}),
        Table.CHURNS: pl.DataFrame({"client_id": ids, "churned_at": [ago[120], ago[20], ago[100], ago[200]]}),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ["subscriber", "renewed", "renewed"],
                "start_date": [ago[300], ago[300], ago[50]],
                "end_date": [ago[60], ago[200], t + timedelta(days=300)],
                "mrr": [20.0] * 3,
            }
        ),
        Table.PAYMENTS: pl.DataFrame(
            {
                "client_id": ["orders_again", "wound_down", "subscriber", "subscriber", "renewed"],
                "amount": [20.0] * 5,
                "paid_at": [
                    ago[30],
                    ago[10],
                    ago[70],
                    ago[40],
                    ago[50],
                ],  # renewed: its new term's first order
            }
        ),
    }
    assert gone_clients(tables, t.date(), grace_days=30, source=source) == gone


@pytest.mark.parametrize(
    ("activity_events", "gone"),
    [
        (None, set()),  # every event is activity: the login 30 days ago is a return
        (("card_payment",), {"logs_in"}),  # a bank's dormancy: logins alone are no return
        (("card_payment", "login"), set()),
    ],
)
def test_the_weekly_lists_gone_clients_read_the_label_activity_events(
    activity_events, gone: set[str]
) -> None:
    t = datetime(2024, 6, 3)
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["logs_in"], "created_at": [t - timedelta(days=400)]}),
        Table.CHURNS: pl.DataFrame({"client_id": ["logs_in"], "churned_at": [t - timedelta(days=120)]}),
        Table.EVENTS: pl.DataFrame(
            {"client_id": ["logs_in"], "ts": [t - timedelta(days=30)], "event": ["login"]}
        ),
    }
    assert gone_clients(tables, t.date(), 30, "inactivity", activity_events) == gone


def test_without_terms_activity_in_the_wind_down_after_a_churn_is_no_return() -> None:
    # the labels, the weekly list and the win-back list read one rule (labels.returns_after_churns): a
    # login the evening after cancelling keeps the client gone (on the win-back list, off the keep list)
    from churnml.reporting.winback import return_dates

    t = datetime(2024, 6, 3)
    ids = ["wound_down", "came_back", "silent", "billed_in_arrears"]
    churned = [t - timedelta(days=60)] * 4
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ids, "created_at": [t - timedelta(days=400)] * 4}),
        Table.CHURNS: pl.DataFrame({"client_id": ids, "churned_at": churned}),
        Table.EVENTS: pl.DataFrame(
            {
                "client_id": ["wound_down", "came_back"],
                "ts": [t - timedelta(days=59, hours=14), t - timedelta(days=20)],
                "event": ["login", "order"],
            }
        ),
        # its last month's usage invoiced and paid 37 days after it left: beside events, no return
        Table.PAYMENTS: pl.DataFrame(
            {"client_id": ["billed_in_arrears"], "amount": [250.0], "paid_at": [t - timedelta(days=23)]}
        ),
    }
    assert gone_clients(tables, t.date(), grace_days=30) == {"wound_down", "silent", "billed_in_arrears"}
    data = Dataset(tables, "t", t - timedelta(days=400), t)
    churns = pl.DataFrame({"client_id": ids, "churned_at": churned})
    assert return_dates(data, churns, grace_days=30).get_column("returned_at").to_list() == [
        None,
        t - timedelta(days=20),
        None,
        None,
    ]
    # a log of orders alone (no events table): its payments are the orders, and one is a return
    orders_only = {k: v for k, v in tables.items() if k != Table.EVENTS}
    assert gone_clients(orders_only, t.date(), grace_days=30) == {"wound_down", "came_back", "silent"}


def test_the_list_shows_the_grace_period_and_leaves_gone_clients_out(workspace: dict[str, Path]) -> None:
    from churnml.modeling.export import load_exported
    from churnml.scoring.assemble import scored_list

    cfg = load_config(overrides=["score.history_weeks=2"])
    model, meta = load_exported(workspace["model"])
    end = datetime(AS_OF.year, AS_OF.month, AS_OF.day)
    tables = tiny_tables()
    subs = tables[Table.SUBSCRIPTIONS]
    # c005 did not renew: its terms stop with the one that ended a few days before the as-of date
    lapsed = subs.filter(
        ((pl.col("client_id") != "c005") | (pl.col("end_date") < end))
        & ((pl.col("client_id") != "c007") | (pl.col("start_date") < end - timedelta(days=20)))
    )
    last_end = lapsed.filter(pl.col("client_id") == "c005").get_column("end_date").max()
    # c007 left 20 days ago (a churn record): no term and no login since
    events = tables[Table.EVENTS].filter(
        (pl.col("client_id") != "c007") | (pl.col("ts") < end - timedelta(days=20))
    )
    churns = pl.DataFrame({"client_id": ["c007"], "churned_at": [end - timedelta(days=20)]})
    dataset = Dataset(
        {**tables, Table.SUBSCRIPTIONS: lapsed, Table.EVENTS: events, Table.CHURNS: churns},
        "tiny",
        START,
        end,
    )
    scores = scored_list(
        dataset,
        AS_OF,
        model,
        meta,
        label=cfg.label,
        features=cfg.features,
        score=cfg.score,
        value=cfg.value,
        rules=cfg.rules,
        playbooks=cfg.playbooks,
    ).scores
    assert "c007" not in scores.get_column("client_id").to_list()
    c005 = scores.filter(pl.col("client_id") == "c005").row(0, named=True)
    days = (end - last_end).days
    assert 0 < days <= cfg.label.grace_days
    assert c005[Scores.TERM_STATE] == f"Term ended {days} days ago and was not renewed"
    assert c005[Scores.IN_GRACE] and c005[Scores.ZONE] == "red"  # raised by the term_lapsed rule
    assert c005[Scores.ACTION].startswith(c005[Scores.TERM_STATE] + ". Renewal call")
    assert (c005[Scores.ACTION_ROLE], c005[Scores.ACTION_BASIS]) == ("sales", "grace period")


def test_drift_leaves_out_features_the_training_never_saw() -> None:
    import pandas as pd

    from churnml.modeling.export import feature_reference
    from churnml.scoring.assemble import feature_drift

    train = pd.DataFrame({"seen": np.arange(100.0), "never": np.full(100, np.nan)})
    metadata = {"feature_reference": feature_reference(train)}
    now = np.column_stack([np.arange(100.0) + 1000.0, np.arange(100.0)])  # both have values now
    psi = feature_drift(now, ["seen", "never"], metadata)
    assert list(psi) == ["seen"]  # "never" was missing for every training row: no reference to drift from
    assert psi["seen"] > 0.25


@pytest.mark.parametrize(
    ("now", "drifted"),
    [
        # every monthly subscriber moved from 9.99 to 12.99, the annual ones (8.33) kept theirs: 0.9 of the
        # mass leaves [9.99] (half a value of 200 remains) for the bin above, empty in training:
        # (0.9 - 0.0025) ln(0.9 / 0.0025) + 0.8999 ln(0.9 / 1e-4) = 13.4763, far above 0.25 and the noise
        ([8.33] * 20 + [12.99] * 180, {"payments_mrr": 13.47635}),
        ([8.33] * 20 + [9.99] * 180, {}),  # the same prices: PSI 0
    ],
)
def test_a_price_raised_for_every_subscriber_is_reported_as_drifted(now, drifted) -> None:
    """A price is one value for most clients: its reference bins hold each price alone, so a new price
    (above the top one here) reads as drift; quantile edges ([9.99]) put 12.99 with 9.99 (PSI 0.001)."""
    import pandas as pd

    from churnml.modeling.export import feature_reference
    from churnml.scoring.assemble import drifted_features, feature_drift

    metadata = {
        "feature_reference": feature_reference(pd.DataFrame({"payments_mrr": [8.33] * 100 + [9.99] * 900}))
    }
    psi = feature_drift(np.array(now)[:, None], ["payments_mrr"], metadata)
    assert psi == {"payments_mrr": drifted.get("payments_mrr", 0.0)}
    assert drifted_features(psi, metadata, len(now), 0.25) == drifted


@pytest.mark.parametrize(
    ("psi", "rows_now", "drifted"),
    [
        (0.30, 2_000, True),  # above 0.25 and far above the noise of 2,000 rows (0.014)
        (0.30, 100, True),  # the noise of 100 rows against 10,000 is 0.251
        (0.30, 60, False),  # ... of 60 rows 0.409: a PSI of 0.3 is the luck of the draw
        (0.20, 2_000, False),  # below score.drift_psi
    ],
)
def test_a_feature_is_reported_as_drifted_above_both_the_threshold_and_the_sampling_noise(
    psi, rows_now, drifted
) -> None:
    from churnml.scoring.assemble import drifted_features

    reference = {"edges": list(range(9)), "proportions": [0.1] * 10, "missing": 0.0, "rows": 10_000}
    metadata = {"feature_reference": {"x": reference}}
    assert drifted_features({"x": psi}, metadata, rows_now, 0.25) == ({"x": psi} if drifted else {})


def test_model_weight_is_each_features_share_of_the_gain() -> None:
    from churnml.scoring.assemble import model_weight

    model, _ = train_tiny_model(tiny_dataset(), extra_feature=True)
    every = model_weight(model, model.feature_names_)
    assert sum(every.values()) == pytest.approx(1.0, abs=1e-3)
    # the label is made of the login ratio; in the tiny data the events ratio carries the same signal
    first = next(iter(every))
    assert first == "usage_events_ratio" and every[first] > 0.5
    assert list(every.values()) == sorted(every.values(), reverse=True)  # largest first
    assert model_weight(model, ["made_up_feature"]) == {"made_up_feature": 0.0}  # constant: never split on
    assert model_weight(object(), ["usage_logins_ratio"]) == {}  # a baseline has no gain


@pytest.mark.parametrize(
    ("weight", "expected"),
    [
        (
            {"a": 0.1, "b": 0.02, "c": 0.1},
            "3 features drifted past PSI 0.25, carrying 22.0% of the model's weight (gain); the ones it "
            "leans on most: a (PSI 0.41, 10.0% of the weight), c (PSI 0.30, 10.0% of the weight), and 1 "
            "more (report, manifest.json)",
        ),
        (
            {},
            "3 features drifted past PSI 0.25; first: b (PSI 0.90), a (PSI 0.41), and 1 more (report, manifest.json)",
        ),
        (  # a little use reads "<0.1%" as in the report, not "0.0%"; never split on: "0%"
            {"a": 0.0004, "b": 0.0, "c": 0.0},
            "3 features drifted past PSI 0.25, carrying <0.1% of the model's weight (gain); the ones it "
            "leans on most: a (PSI 0.41, <0.1% of the weight), b (PSI 0.90, 0% of the weight), and 1 "
            "more (report, manifest.json)",
        ),
    ],
)
def test_drift_warning_puts_what_the_model_leans_on_first(weight: dict, expected: str) -> None:
    from churnml.scoring.assemble import drift_order, drift_warning

    drifted = {"a": 0.41, "b": 0.9, "c": 0.3}
    assert drift_warning(drifted, weight, 0.25, shown=2) == expected
    by_weight = ["a", "c", "b"] if weight.get("c") else ["a", "b", "c"]  # then by PSI
    assert drift_order(drifted, weight) == (by_weight if weight else ["b", "a", "c"])


@pytest.mark.parametrize(
    ("arr", "at_risk", "clients", "expected"),
    [
        (2_004_215.0, 94_421.4, 243, "ARR at risk 94,421"),
        (0.0, 0.0, 216, "no revenue in the data (ranked by probability)"),
        (0.0, 0.0, 0, "ARR at risk 0"),  # an empty list has no clients to say it of
    ],
)
def test_the_console_line_says_a_list_without_revenue_rather_than_zero_at_risk(
    arr: float, at_risk: float, clients: int, expected: str
) -> None:
    assert at_risk_text(arr, at_risk, clients) == expected


@pytest.mark.parametrize(
    ("table", "column"),
    [(Table.CHURNS, "churned_at"), (Table.INTERVENTIONS, "ts")],
)
def test_an_old_churn_or_intervention_log_does_not_start_the_observed_weeks(table, column) -> None:
    """A churn log (or the team's interventions) reaching back years before the events is not activity:
    the grid and the weeks clients are observed from start at the first event, not at 2015."""
    clients = pl.DataFrame({"client_id": ["a", "b"], "created_at": [datetime(2014, 1, 1)] * 2})
    events = pl.DataFrame(
        {"client_id": ["a", "b"], "ts": [datetime(2024, 3, 4), datetime(2024, 3, 11)], "event": ["login"] * 2}
    )
    extra = {"client_id": ["b"], column: [datetime(2015, 6, 1)]}
    if table == Table.INTERVENTIONS:
        extra["kind"] = ["call"]
    tables = {Table.CLIENTS: clients, Table.EVENTS: events, table: pl.DataFrame(extra)}
    ds = Dataset(tables, "old-log", datetime(2014, 1, 1), datetime(2024, 6, 1))
    assert ds.first_activity() == datetime(2024, 3, 4)


def test_an_account_deleted_event_named_in_churn_events_makes_the_client_gone(tmp_path) -> None:
    from churnml.config import DataConfig
    from churnml.contract.io import read_dataset, write_tables
    from churnml.contract.validation import CHURN_EVENTS_REPAIR

    t = datetime(2024, 6, 3)
    clients = pl.DataFrame({"client_id": ["deleted", "stays"], "created_at": [t - timedelta(days=60)] * 2})
    events = pl.DataFrame(
        {
            "client_id": ["deleted", "deleted", "stays", "stays"],
            "ts": [
                t - timedelta(days=12),
                t - timedelta(days=10),
                t - timedelta(days=12),
                t - timedelta(days=2),
            ],
            "event": ["session_start", "account_deleted", "session_start", "session_start"],
        }
    )
    folder = tmp_path / "app"
    write_tables({Table.CLIENTS: clients, Table.EVENTS: events}, folder)
    plain = read_dataset(folder, DataConfig(as_of=t.date()))
    assert Table.CHURNS not in plain.tables and gone_clients(plain.tables, t.date(), 30) == set()
    read = read_dataset(folder, DataConfig(as_of=t.date(), churn_events=("account_deleted",)))
    assert read.tables[Table.CHURNS].rows() == [("deleted", t - timedelta(days=10))]
    assert read.repairs.counts["churns"] == {CHURN_EVENTS_REPAIR: 1}
    # gone from the deletion on: off the list (the deletion event itself is no return)
    assert gone_clients(read.tables, t.date(), 30) == {"deleted"}


@pytest.mark.parametrize(
    ("name", "leaving"),
    [
        ("Account Deleted", True),
        ("close_shop_flow_started", True),
        ("workspace_closed", True),
        ("user_account_deleted", True),  # an app's user is its client
        ("unregistered", True),
        ("listing_deactivated", False),  # a seller managing listings: routine (2,704 of 3,015 sellers)
        ("user_deleted", False),  # a seat of a B2B account
        ("shop_listing_deleted", False),
        ("delete_project", False),
        ("account_settings_page_closed", False),
        ("cancel_page_view", False),  # a cancellation page is friction
        ("AccountDeleted", True),
        ("accountdeleted", True),
        ("profile_deleted", True),
        ("account_settings_closed", False),  # a window of the app
        ("workspace_tab_closed", False),
        ("account_disclosure_viewed", False),
        ("shopping_cart_deleted", False),
        ("datastore_deleted", False),
        ("account_deletion_cancelled", False),
        ("unregister_webhook", False),
        ("deletesubaccount", False),
        ("closeworkshop", False),
        ("deleteaccount", True),
        ("account_closing_reminder_sent", False),
    ],
)
def test_only_events_on_the_whole_account_read_like_leaving(name: str, leaving: bool) -> None:
    from churnml.features.usage import leaving_names

    assert leaving_names({"login": 50, name: 3}) == ([name] if leaving else [])


@pytest.mark.parametrize(
    ("counts", "churn_events", "expected"),
    [
        (
            {"session_start": 900, "Account Deleted": 12, "error": 4},
            (),
            "events: 'Account Deleted' (12) read like a client leaving for good. If they are, list them in "
            "data.churn_events (e.g. --set 'data.churn_events=[Account Deleted]'): each is then a churns record, "
            "and the client leaves the list and joins the win-back list; as ordinary events they count as activity",
        ),
        ({"session_start": 900, "Account Deleted": 12}, ("Account Deleted",), None),  # already said
        ({"session_start": 900, "cancel_page_view": 30}, (), None),  # a cancellation page is friction
    ],
)
def test_event_names_that_read_like_leaving_are_pointed_at_churn_events(
    counts, churn_events, expected
) -> None:
    from churnml.features.usage import leaving_hint

    assert leaving_hint(counts, churn_events) == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("auto_renew_off", "notice"),
        ("AutoRenewDisabled", "notice"),
        ("AUTO_RENEW_DISABLED", "notice"),
        ("autorenew_cancelled", "notice"),
        ("SUBSCRIPTION_CANCELED", "notice"),
        ("cancelSubscription", "notice"),
        ("membership_cancelled", "notice"),
        ("auto_renew_on", "withdrawal"),
        ("AutoRenewEnabled", "withdrawal"),
        ("cancel_subscription_page_view", None),  # a page of the app: friction
        ("subscription_cancel_flow_started", None),
        ("auto_renew_reminder_email", None),  # a mail about it
        ("subscription_cancel_failed", None),
        ("lesson_cancelled", None),  # no subscription
        ("subscription_purchased", None),
        ("renewal_succeeded", None),
        ("auto_play_off", None),
        # a request to move the account to another provider: a bank's current account switch, a number ported out
        ("switch_out_request", "notice"),
        ("SwitchOutRequested", "notice"),
        ("CASS_SWITCH_OUT", "notice"),
        ("port_out_request", "notice"),
        ("PortOutRequested", "notice"),
        ("number_porting_out", "notice"),
        ("supply_switched_away", None),  # "switched", not the act of asking
        ("switch_out_cancelled", "withdrawal"),
        ("switch_out_page_view", None),
        ("transfer_out", None),  # a payment
        ("switch_in_completed", None),  # a client arriving
        ("port_in_request", None),
        ("switch_account", None),  # a profile switched in the app
        ("report_out", None),
    ],
)
def test_event_names_that_read_like_a_subscribers_notice(name: str, kind: str | None) -> None:
    from churnml.features.usage import notice_names

    notices, withdrawals = notice_names({"session_start": 50, name: 3})
    assert (notices, withdrawals) == (
        [name] if kind == "notice" else [],
        [name] if kind == "withdrawal" else [],
    )


@pytest.mark.parametrize(
    ("counts", "recorded", "expected"),
    [
        (
            {"lesson_completed": 900, "auto_renew_off": 40, "auto_renew_on": 3},
            0,
            "events: 'auto_renew_off' (40) read like a client's notice (the renewal turned off: the "
            "subscription ends with its paid term). If they are, write each as a tickets row of kind "
            "'cancellation_request' on its day (client_id, opened_at), and each 'auto_renew_on' as a signals row "
            "'cancellation_withdrawn' (client_id, ts): the rule cancellation_request then holds the client in red "
            "until the term it gave notice in ends, and the model reads support_cancellation_requests_<w>d; as "
            "events they count only as activity",
        ),
        (
            {"lesson_completed": 900, "SUBSCRIPTION_CANCELED": 7},
            0,
            "events: 'SUBSCRIPTION_CANCELED' (7) read like a client's notice (the renewal turned off: the "
            "subscription ends with its paid term). If they are, write each as a tickets row of kind "
            "'cancellation_request' on its day (client_id, opened_at): the rule cancellation_request then holds "
            "the client in red until the term it gave notice in ends, and the model reads "
            "support_cancellation_requests_<w>d; as events they count only as activity",
        ),
        (
            # a bank's current account switch service: the salary and the direct debits move, the account closes
            {"card_payment": 9000, "switch_out_request": 120, "switch_out_cancelled": 4},
            0,
            "events: 'switch_out_request' (120) read like a client's notice (a switch to another provider: the "
            "account closes when it completes). If they are, write each as a tickets row of kind "
            "'cancellation_request' on its day (client_id, opened_at), and each 'switch_out_cancelled' as a signals "
            "row 'cancellation_withdrawn' (client_id, ts): the rule cancellation_request then holds the client in "
            "red until the term it gave notice in ends, and the model reads support_cancellation_requests_<w>d; as "
            "events they count only as activity",
        ),
        (
            # an energy supplier: its move-out notices written as tickets (272), its switch requests left in the
            # events, read as activity
            {"smart_meter_reading": 90000, "switch_out_request": 946},
            272,
            "events: 'switch_out_request' (946) read like a client's notice (a switch to another provider: the "
            "account closes when it completes); the tickets hold 272 of kind 'cancellation_request', fewer than "
            "these events (not all of these can be among them). If they are, write each as a tickets row of kind 'cancellation_request' "
            "on its day (client_id, opened_at): the rule cancellation_request then holds the client in red until "
            "the term it gave notice in ends, and the model reads support_cancellation_requests_<w>d; as events "
            "they count only as activity",
        ),
        ({"lesson_completed": 900, "auto_renew_off": 40}, 40, None),  # the tickets already hold the notices
        ({"lesson_completed": 900, "auto_renew_off": 40}, 312, None),  # and more (the moves' notices too)
        ({"lesson_completed": 900, "auto_renew_on": 3}, 0, None),  # a withdrawal alone says nothing
    ],
)
def test_notice_events_are_pointed_at_cancellation_request_tickets(counts, recorded, expected) -> None:
    # a language app's export: 949 'auto_renew_off' events, read as activity, the 88 yearly subscribers who had
    # turned auto-renew off green (40) or yellow (47) on the list, nothing said
    from churnml.features.usage import notice_hint

    assert notice_hint(counts, recorded) == ([expected] if expected else [])


def test_a_booked_renewal_is_read_at_the_datas_date_only(workspace: dict[str, Path]) -> None:
    """A term that starts after the data's end is a renewal booked ahead: the list at the data's date says
    so (no escalation, no renewal due); a back-dated list cannot know when it was booked and ignores it."""
    from churnml.modeling.export import load_exported
    from churnml.scoring.assemble import scored_list

    cfg = load_config(overrides=["score.history_weeks=2"])
    model, meta = load_exported(workspace["model"])
    end = datetime(AS_OF.year, AS_OF.month, AS_OF.day)
    tables = tiny_tables()
    subs = tables[Table.SUBSCRIPTIONS]
    running_end = subs.filter(pl.col("client_id") == "c003").get_column("end_date").max()
    booked = pl.DataFrame(
        {
            "client_id": ["c003"],
            "start_date": [running_end],
            "end_date": [running_end + timedelta(days=365)],
            "mrr": [140.0],
        },
        schema=subs.schema,
    )
    dataset = Dataset({**tables, Table.SUBSCRIPTIONS: pl.concat([subs, booked])}, "tiny", START, end)

    def state_of(day: date) -> dict:
        scores = scored_list(
            dataset,
            day,
            model,
            meta,
            label=cfg.label,
            features=cfg.features,
            score=cfg.score,
            value=cfg.value,
            rules=cfg.rules,
            playbooks=cfg.playbooks,
        ).scores
        return scores.filter(pl.col("client_id") == "c003").row(0, named=True)

    now = state_of(AS_OF)
    assert now[Scores.TERM_STATE] == f"Renewed: the next term starts {running_end.date().isoformat()}"
    assert now[Scores.ESCALATION] == "" and not now[Scores.RENEWAL_DUE] and not now[Scores.IN_GRACE]
    assert now[Scores.driver(1, "feature")] != "payments_days_to_term_end"
    assert state_of(AS_OF - timedelta(weeks=1))[Scores.TERM_STATE] == ""


def test_a_list_dated_days_after_the_data_says_so(workspace: dict[str, Path]) -> None:
    # the tiny dataset ends the day before AS_OF; a list dated 10 days later is a week-old export scored
    # at this week's date: said (the rule's side: test_rules, a term ending in the gap is not lapsed)
    late = AS_OF + timedelta(days=10)
    out = workspace["root"] / "late"
    args = ["score", "--data", str(workspace["raw"]), "--as-of", late.isoformat(), "--out", str(out)]
    args += ["--model", str(workspace["model"]), "--set", "score.history_weeks=4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"the data ends 10 days before the as-of date {late}" in said


@pytest.mark.parametrize(
    ("before", "now", "expected"),
    [
        ("2", "2", None),  # the same model: nothing to say
        (None, "3", None),  # no list last week
        (
            "2",
            "3",
            "the model changed since the list of 2024-05-27 (version 2 -> 3): 'since last week' (zone change, "
            "new in red, why it changed) compares with last week re-scored by the new model, in which 1 client "
            "had another zone than on the list that was sent; this week's zone differs from the sent one for "
            "2 clients: a (green -> red), b (red -> yellow)",
        ),
    ],
)
def test_a_retrain_between_two_lists_is_said(before: str | None, now: str, expected: str | None) -> None:
    from churnml.jobs.score import model_change_note

    sent = pl.DataFrame({"client_id": ["a", "b", "c"], Scores.ZONE: ["green", "red", "yellow"]})
    # this week's list: a's last week re-scored by the new model is red (sent green) and a is red now; b's
    # re-scored last week matches the sent red, but b is yellow now; d is new
    listed = pl.DataFrame(
        {
            "client_id": ["a", "b", "d"],
            Scores.PREVIOUS_ZONE: ["red", "red", None],
            Scores.ZONE: ["red", "yellow", "green"],
        },
        schema={"client_id": pl.String, Scores.PREVIOUS_ZONE: pl.String, Scores.ZONE: pl.String},
    )
    assert model_change_note(before, sent, now, listed, date(2024, 5, 27)) == expected


def test_a_batch_log_gets_timed_step_lines_not_a_progress_bar(workspace: dict[str, Path]) -> None:
    # CliRunner's stderr is no terminal, as a cron job's is: no bar redrawn into the mail
    result = run_score(workspace, workspace["root"] / "logged")
    assert result.exit_code == 0, result.output
    assert "\u2501" not in result.output  # the bar's line character
    steps = re.findall(r"^\d\d:\d\d:\d\d score (.+)$", result.output, flags=re.MULTILINE)
    # the model is loaded before the data is read (a missing model is said at once)
    assert steps[:2] == ["loading the model", "reading the data"] and "done" in steps


@pytest.mark.parametrize(("days_after", "said"), [(0, False), (2, False), (3, True), (7, True)])
def test_a_list_dated_days_after_the_data_is_said_in_the_report_too(days_after: int, said: bool) -> None:
    from churnml.jobs.score import stale_data_note

    data_end = date(2026, 10, 5)  # the last record on 10-04
    note = stale_data_note(data_end + timedelta(days=days_after), data_end)
    assert (note is not None) == said
    if said:
        assert note.startswith(f"the data ends {days_after} days before the as-of date")
        assert "(its last record: 2026-10-04)" in note


@pytest.mark.parametrize(
    ("now", "said"),
    [
        ([0.54, 0.10], None),  # re-scored as sent
        ([0.56, 0.12], None),  # under 5 points
        (
            [0.26, 0.10],
            "the list of 2026-01-20 re-scored on today's data moves 1 client by 5 points or more against what "
            "was sent: a (54% sent, 26% now). Data about that week arrived or changed after it was scored (a "
            "late export, a day cut short); 'since last week' (zone change, why it changed) compares with last "
            "week as the data now says it",
        ),
    ],
)
def test_last_week_re_scored_away_from_the_sent_list_is_said(now: list[float], said: str | None) -> None:
    from churnml.jobs.score import rescored_note

    sent = pl.DataFrame({"client_id": ["a", "b", "gone"], "churn_probability": [0.54, 0.10, 0.9]})
    scores = pl.DataFrame({"client_id": ["a", "b", "new"], "previous_probability": [*now, None]})
    assert rescored_note(sent, scores, date(2026, 1, 20)) == said
    assert rescored_note(None, scores, date(2026, 1, 20)) is None


MONDAY = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("usual", "rows", "hour", "said"),
    [
        ([5928, 5710, 5865, 5831], 71, 0, True),  # an export at 06:00 caught a night's events
        ([5928, 5710, 5865, 5831], 2900, 19, True),  # under half a usual Monday, ending at 19:xx
        ([5928, 5710, 5865, 5831], 2900, 20, False),  # the day ran to the evening: a quiet day, whole
        ([5928, 5710, 5865, 5831], 3000, 6, False),  # half of a usual Monday or more
        ([5928, 5710, 5865, 5831], 0, 0, False),  # no event at all that day: a lagging table, said apart
        ([5928, 0, 0, 5831], 71, 0, False),  # fewer than 3 usual Mondays to compare with
        ([12, 15, 18, 11], 1, 0, False),  # too few events a day to tell
    ],
)
def test_a_last_day_cut_short_by_the_export_is_said_and_left_for_next_week(
    usual: list[int], rows: int, hour: int, said: bool
) -> None:
    from churnml.jobs.score import partial_last_day_note

    daily = {MONDAY - timedelta(weeks=k + 1): n for k, n in enumerate(usual)} | {MONDAY: rows}
    daily[MONDAY - timedelta(days=1)] = 400  # other weekdays do not count
    note = partial_last_day_note(daily, MONDAY, datetime(2026, 3, 2, hour, 29))
    assert (note is not None) == said
    if said and rows == 71:
        assert note == (
            "the data's last day, 2026-03-02, holds 71 events up to 00:29, 1% of a usual Monday's (5,848, the "
            "median of the 4 Mondays before): an export made during the day. The list is as of 2026-03-02 "
            "(the data before it); that day's rows wait for next week's list (--as-of 2026-03-03 scores them now)"
        )


@pytest.mark.parametrize(
    ("zones_list", "rate", "said"),
    [
        (["yellow"] * 7 + ["red"] * 1 + ["green"] * 2, 0.29, True),  # 80% watched, yellow 0.15 < 29%
        (["yellow"] * 7 + ["red"] * 1 + ["green"] * 2, 0.10, False),  # yellow 0.15 above the rate
        (["yellow"] * 3 + ["green"] * 7, 0.29, False),  # 30% watched
        (["yellow"] * 8 + ["green"] * 2, None, False),  # no rate to compare
    ],
)
def test_a_list_mostly_yellow_under_thresholds_below_the_churn_rate_is_said(
    zones_list: list[str], rate: float | None, said: bool
) -> None:
    from churnml.scoring.standing import crowded_watch_note

    note = crowded_watch_note(zones_list, np.full(len(zones_list), 0.3), ZonesConfig(), rate)
    assert (note is not None) == said
    if said:
        assert note.startswith("8 of 10 clients (80%) are yellow or red")
        assert note.endswith("yellow 0.45, red 0.62")


@pytest.mark.parametrize(
    ("as_of", "configured", "reaches"),
    [
        (date(2999, 1, 4), None, True),  # a day still to come: the data is read up to its end
        (date(2020, 1, 6), None, False),  # a past day: the check stays at now (the data may run on)
        (None, None, False),
        (date(2999, 1, 4), date(2999, 2, 1), False),  # data.as_of set: it decides
    ],
)
def test_a_future_as_of_day_extends_the_datas_future_timestamp_check(as_of, configured, reaches) -> None:
    from churnml.config import load_config
    from churnml.contract.io import as_of_limit
    from churnml.jobs.score import with_future_as_of

    cfg = load_config(None, [f"data.as_of={configured}"] if configured else [])
    got = with_future_as_of(cfg, as_of)
    assert got.data.as_of == cfg.data.as_of  # the data's own end (and its staleness note) is untouched
    if reaches:
        assert as_of_limit(got.data) >= datetime(2999, 1, 5)
    else:
        assert got == cfg


def _written_list(folder, dataset: str = "crm") -> None:
    import json

    from churnml.scoring.outputs import MANIFEST, MARKER, MARKER_KEY

    folder.mkdir(parents=True)
    (folder / MANIFEST).write_text(json.dumps({MARKER_KEY: MARKER, "data": {"name": dataset}}))
    (folder / "scores.parquet").write_bytes(b"")


def test_the_previous_list_is_the_last_one_written_not_the_date_a_week_before(tmp_path) -> None:
    from churnml.jobs.score import missed_weeks_note
    from churnml.scoring.outputs import previous_list

    for day in ("2026-05-25", "2026-07-06", "2026-07-13"):
        _written_list(tmp_path / day)
    _written_list(tmp_path / "2026-07-27", dataset="another")  # another dataset's list
    (tmp_path / "2026-07-20").mkdir()  # a failed run's empty folder
    (tmp_path / "notes").mkdir()
    # two weeks without a list: the list before them is the one the team last received
    assert previous_list(tmp_path, date(2026, 8, 3), "crm") == tmp_path / "2026-07-13"
    assert previous_list(tmp_path, date(2026, 7, 13), "crm") == tmp_path / "2026-07-06"
    assert previous_list(tmp_path, date(2026, 7, 6), "crm") == tmp_path / "2026-05-25"  # 6 weeks back: kept
    assert previous_list(tmp_path, date(2026, 9, 28), "crm") is None  # 11 weeks back: too far
    assert missed_weeks_note(tmp_path / "2026-07-13", date(2026, 8, 3)) == (
        "the last list written is of 2026-07-13, 3 weeks before this one: 'since last week' (previous zone, new "
        "in red, why it changed) compares with 2026-07-27 re-scored, a list nobody received; compare with the "
        "list of 2026-07-13 for what changed since the team last saw it"
    )
    assert missed_weeks_note(tmp_path / "2026-07-06", date(2026, 7, 13)) is None  # last week's


def test_the_notes_against_last_weeks_list_skip_an_older_list(tmp_path) -> None:
    # the list of 11-16 (none on 11-23): today's "previous" is 11-23 re-scored, not that list's date, so
    # neither the re-scored nor the model-change note compares the two (the missed-weeks note says the gap)
    from churnml.jobs.score import _last_week_notes

    _written_list(tmp_path / "2026-11-16")
    assert _last_week_notes(tmp_path / "2026-11-16", "3", None, date(2026, 11, 30)) == (None, None)


def test_the_report_and_manifest_say_who_left_since_the_last_list(
    workspace: dict[str, Path], tmp_path
) -> None:
    # c005 churned on 2024-06-01 (gone: no term starts after it), so it is off this week's list; the list of
    # 2024-05-27, the last one written, had it in red (one client, no green one: nothing said of green)
    from churnml.scoring.outputs import MANIFEST, MARKER, MARKER_KEY

    tables = tiny_dataset().tables
    churns = pl.DataFrame({"client_id": ["c005"], "churned_at": [datetime(2024, 6, 1)], "reason": ["price"]})
    write_tables({**{str(t): f for t, f in tables.items()}, "churns": churns}, tmp_path / "crm")
    last = tmp_path / "scores" / "2024-05-27"
    last.mkdir(parents=True)
    # scored with hindsight (a back-dated list): its hit rate is said to flatter the model
    (last / MANIFEST).write_text(
        json.dumps({MARKER_KEY: MARKER, "data": {"name": "crm"}, "model": {"hindsight": True}})
    )
    ids = [f"c{i:03d}" for i in range(24)]
    pl.DataFrame(
        {
            Scores.CLIENT_ID: ids,
            Scores.NAME: [f"Client {i}" for i in range(24)],
            Scores.OWNER: [f"owner{i % 3}" for i in range(24)],
            Scores.ZONE: ["red" if c == "c005" else "green" for c in ids],
            Scores.PROBABILITY: [0.5 if c == "c005" else 0.05 for c in ids],
            Scores.ARR: [12 * (100.0 + 10 * i) for i in range(24)],
        }
    ).write_parquet(last / "scores.parquet")
    out = tmp_path / "scores" / AS_OF.isoformat()
    args = ["score", "--data", str(tmp_path / "crm"), "--as-of", AS_OF.isoformat(), "--out", str(out)]
    result = CliRunner().invoke(
        app, [*args, "--model", str(workspace["model"]), "--set", "score.history_weeks=2"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["left_since_last_list"] == {
        "list": "2024-05-27",
        "clients": 1,
        "red": 1,
        "yellow": 0,
        "arr": 1800.0,
    }
    page = (out / "report.html").read_text()
    assert "Left since the last list (1)" in page
    assert (
        "1 client of the list of 2024-05-27 is not on this one (ARR EUR 1,800), most ARR first. That list had 1"
        in page
    )
    assert "<td>churn recorded on 2024-06-01, reason: price</td>" in page
    assert "(100.0%). That list was scored by a model that had learned its own outcomes (hindsight)" in page
    assert "c005" not in pl.read_parquet(out / "scores.parquet").get_column(Scores.CLIENT_ID).to_list()


@pytest.mark.parametrize(
    ("source", "months", "said"),
    [
        ("subscriptions", 12, True),  # annual terms all renewing on 1 September, listed in March
        ("subscriptions", 1, False),  # monthly terms: always within the horizon
        ("churns", 12, False),  # another label: its own churn dates, not the terms' ends
    ],
)
def test_a_list_months_before_its_clients_renewals_advises_the_horizon(source, months, said) -> None:
    from churnml.config import LabelConfig
    from churnml.jobs.score import horizon_reach_note

    ends = datetime(2025, 9, 1) if months == 12 else datetime(2025, 3, 25)
    starts = datetime(2024, 9, 1) if months == 12 else datetime(2025, 2, 25)
    terms = pl.DataFrame(
        {
            "client_id": [f"s{i}" for i in range(12)],
            "start_date": [starts] * 12,
            "end_date": [ends] * 12,
            "mrr": [100.0] * 12,
        }
    )
    note = horizon_reach_note(terms, LabelConfig(source=source, horizon_days=90), date(2025, 3, 2))
    assert (note is not None) is said
    if said:
        assert (
            "label.horizon_days" in note
            and "100% of the 12 active clients' terms end 90 days or more" in note
        )


def test_the_score_job_passes_the_configured_early_renewal_share(monkeypatch: pytest.MonkeyPatch) -> None:
    # jobs.score._scored_list hands data.early_renewal_share to assemble.scored_list
    import churnml.scoring.assemble as assemble
    from churnml.config import Config
    from churnml.jobs.score import _scored_list

    seen: dict[str, object] = {}
    monkeypatch.setattr(assemble, "scored_list", lambda *args, **kwargs: seen.update(kwargs))
    cfg = Config().model_copy(update={"data": Config().data.model_copy(update={"early_renewal_share": 0.4})})
    _scored_list(None, date(2026, 12, 5), None, {}, None, None, cfg, print)
    assert seen["early_renewal_share"] == 0.4


def test_the_features_that_age_by_construction_are_the_tenure_and_the_counts_from_the_first_record() -> None:
    from churnml.scoring.assemble import aging_features

    names = [
        "account_tenure_days",  # the registry's group "tenure"
        "payments_days_since_first_payment",  # lifetime columns counted from the first record
        "payments_orders_total",
        "payments_mean_amount",  # a lifetime mean: no age in it
        "usage_events_7d",
        "payments_days_since_payment",
        "not_a_registry_feature",
    ]
    assert aging_features(names) == {
        "account_tenure_days",
        "payments_days_since_first_payment",
        "payments_orders_total",
    }


def test_the_windows_the_data_did_not_cover_at_the_reference_snapshots_are_filled_windows() -> None:
    from churnml.scoring.assemble import filled_windows

    # data from 2025-01-01; the reference's first snapshot is 91 days before the training window's end,
    # 2025-04-02: 91 days of data then
    metadata = {
        "data_window": ["2025-01-01", "2025-10-01"],
        "training_window": ["2025-02-03", "2025-07-01"],
        "features_config": {},
    }
    names = [
        "usage_events_182d",
        "usage_events_91d",
        "usage_seat_use_182d",
        "usage_events_ratio",
        "usage_users_recent_share",
    ]
    # the 182-day count, the users per seat of the 182-day user count and the share of those users active in the
    # last 28 days (then the 91-day users'); the 91-day window was whole
    assert filled_windows(names, metadata) == {
        "usage_events_182d",
        "usage_seat_use_182d",
        "usage_users_recent_share",
    }
    assert filled_windows(names, {}) == set()  # a card that does not say its windows


def _seasonal_model_metadata() -> dict:
    """The drift reference of a model whose recent training rows (autumn) read 10..19 events a week, and its
    season: the snapshots of 2024-12-23, 2024-12-30 and 2025-01-06 read 0..4 (Christmas), the others 10..19."""
    import pandas as pd

    from churnml.modeling.export import feature_reference, season_reference

    usual = np.tile(np.arange(10.0, 20.0), 20)
    recent = pd.DataFrame({"usage_events_7d": usual, "payments_mrr": usual, "account_tenure_days": usual})
    reference = feature_reference(recent)
    weeks = pd.date_range("2024-12-02", "2025-02-24", freq="7D")
    low = {pd.Timestamp("2024-12-23"), pd.Timestamp("2024-12-30"), pd.Timestamp("2025-01-06")}
    rows = [
        {"snapshot": week, "usage_events_7d": float(v % 5) if week in low else v, "payments_mrr": v}
        | {"account_tenure_days": v}
        for week in weeks
        for v in usual
    ]
    return {
        "feature_reference": reference,
        "season_reference": season_reference(pd.DataFrame(rows), reference, "snapshot"),
    }


def test_drift_tells_apart_the_shifts_of_a_season_the_training_held_and_of_the_clients_age() -> None:
    from churnml.scoring.assemble import drift_verdict

    metadata = _seasonal_model_metadata()
    names = ["usage_events_7d", "payments_mrr", "account_tenure_days"]
    christmas = np.tile(np.arange(0.0, 5.0), 80)  # this Christmas week's 400 clients, as the last one's
    now = np.column_stack([christmas, christmas, christmas + 400.0])  # a price cut; a year older
    psi, drifted, expected = drift_verdict(now, names, metadata, 0.25, date(2025, 12, 29))
    assert set(psi) == set(names) and min(psi.values()) > 0.25  # all three past the line
    assert drifted == {"payments_mrr": psi["payments_mrr"]}  # the one to act on
    assert expected == {
        "account_tenure_days": "growing with the clients' age (and the log's) since the training snapshots",
        "usage_events_7d": "as in the same weeks of 2024 (PSI 0.25 or less against the training snapshots "
        "2024-12-23 .. 2025-01-06)",
    }
    # a week later the season is over in the training data (2025-01-06 .. 2025-01-20 held one low week):
    # the same low use is drift
    _, drifted, expected = drift_verdict(now, names, metadata, 0.25, date(2026, 1, 12))
    assert set(drifted) == {"payments_mrr", "usage_events_7d"} and list(expected) == ["account_tenure_days"]
    # a model without a season reference (trained before it, or on under a year): the age alone
    _, drifted, expected = drift_verdict(
        now, names, {"feature_reference": metadata["feature_reference"]}, 0.25, date(2025, 12, 29)
    )
    assert set(drifted) == {"payments_mrr", "usage_events_7d"} and list(expected) == ["account_tenure_days"]


def test_the_expected_shifts_are_said_by_reason() -> None:
    from churnml.scoring.assemble import expected_drift_note

    expected = {
        "a": "as in the same weeks of 2024",
        "account_tenure_days": "growing with age",
        "b": "as in the same weeks of 2024",
    }
    psi = {"a": 0.31, "b": 0.4, "account_tenure_days": 1.5}
    assert expected_drift_note(expected, psi, shown=1) == (
        "3 features shifted as expected, not counted as drift: as in the same weeks of 2024: a (PSI 0.31) and 1 "
        "more (manifest.json); growing with age: account_tenure_days (PSI 1.50)"
    )
    assert expected_drift_note({}, psi) is None


def test_a_feature_set_by_a_calendar_every_client_shares_is_no_drift() -> None:
    # a school whose 40 students' terms all end on 31 August: at each weekly snapshot of the training data every
    # student reads the same days to the term's end (182, 175, ... 63), another number each week; everyone pays
    # 50 a month. The list of 3 November reads 89 days to the term's end of 31 January for all, in a gap between
    # the training weeks' values (PSI past 10): a date, not a change in the students. The price now 60 for all is
    # drift: one value at every training snapshot is no calendar
    import pandas as pd

    from churnml.modeling.export import calendar_features, feature_reference, season_reference
    from churnml.scoring.assemble import drift_verdict

    weeks = pd.date_range("2025-03-03", "2025-06-30", freq="7D")
    rows = pd.DataFrame(
        [
            {
                "snapshot": week,
                "client": f"s{c}",
                "payments_days_to_term_end": float((pd.Timestamp("2025-08-31") - week).days),
                "payments_mrr": 50.0,
                "usage_events_7d": float(10 + c % 10),
            }
            for week in weeks
            for c in range(40)
        ]
    )
    names = ["payments_days_to_term_end", "payments_mrr", "usage_events_7d"]
    recent = rows[rows["snapshot"] >= weeks[-13]]
    reference = feature_reference(recent[names], clients=recent["client"].to_numpy())
    season = season_reference(rows[["snapshot", *names]], reference, "snapshot")
    metadata = {"feature_reference": reference, "season_reference": season}
    assert calendar_features(season, reference) == {"payments_days_to_term_end": 1.0}

    now = np.column_stack([np.full(40, 89.0), np.full(40, 60.0), 10.0 + np.arange(40) % 10])
    psi, drifted, expected = drift_verdict(now, names, metadata, 0.25, date(2025, 11, 3))
    assert (
        psi["payments_days_to_term_end"] > 10 and psi["payments_mrr"] > 10 and psi["usage_events_7d"] < 0.25
    )
    assert drifted == {"payments_mrr": psi["payments_mrr"]}
    assert expected == {
        "payments_days_to_term_end": "set by a calendar the clients share (at every training snapshot of the last "
        "year and in this list 80% or more of the clients read one value, e.g. the days to a term end common to "
        "all): another week reads another value"
    }
    # a list whose students no longer share it (half of them on another term) is drift again
    spread = now.copy()
    spread[:20, 0] = 150.0
    _, drifted, expected = drift_verdict(spread, names, metadata, 0.25, date(2025, 11, 3))
    assert set(drifted) == {"payments_days_to_term_end", "payments_mrr"} and expected == {}


def test_client_standing_reads_the_customer_terms_once_this_week_and_once_last_week(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every rule, the ARR, the CRM views, the price rises and last week's raised zones read the clients' customer
    terms (labels.customer_terms): the standing reads them once for this week and once for last week's tables
    (no term booked after either date), not once per reader (28 reads a 10k list, 3.4 CPU-s at 100k)."""
    import churnml.labels as labels
    import churnml.scoring.standing as standing_module
    from churnml.labels import customer_terms
    from test_crm import _terms_everywhere

    day = date(2024, 6, 3)
    tables = _terms_everywhere(booked_ahead=False)
    ids = ["renewing", "lapsed", "returned", "noticed", "churned", "addon_first"]
    tables[Table.CLIENTS] = pl.DataFrame({"client_id": ids, "created_at": [datetime(2022, 1, 1)] * len(ids)})
    data = Dataset(tables, "terms", datetime(2022, 1, 1), datetime(2024, 6, 3))
    calls = []

    def counted(frame: pl.DataFrame) -> pl.DataFrame:
        calls.append(frame.height)
        return customer_terms(frame)

    monkeypatch.setattr(labels, "customer_terms", counted)
    monkeypatch.setattr(standing_module, "customer_terms", counted, raising=False)
    capacity = ZonesConfig(method="capacity", red=0.35, yellow=0.15, red_capacity=2, yellow_capacity=1)
    standing = client_standing(
        data,
        ids,
        np.full(len(ids), 0.2),
        PreviousWeek(date(2024, 5, 27), ids, np.full(len(ids), 0.2), {}),
        pl.DataFrame(
            schema={
                "client_id": pl.String,
                "snapshot": pl.Date,
                "churn_probability": pl.Float64,
                "health_score": pl.Float64,
            }
        ),
        day,
        label=LabelConfig(),
        features=FeaturesConfig(),
        score=ScoreConfig(zones=capacity),
        value=ValueConfig(),
        rules=RulesConfig(),
    )
    # this week's 9 terms, last week's 9 (every one started before 2024-05-27), for its capacity zones' ARR and
    # its rules
    assert calls == [9, 9]
    fired = dict(zip(ids, standing.fired.get_column(Scores.RULES).to_list(), strict=True))
    assert "cancellation_request" in fired["noticed"] and "term_lapsed" in fired["lapsed"]
