"""``churnml score`` says why features the model learned from are missing for every client: a back-dated list
whose windows reach back before a table's first record is told so (the table, its first record, the window),
not that the data may end days before the as-of date."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from churnml.config import FeaturesConfig
from churnml.contract.dataset import Dataset
from churnml.features.build import windows_before_logs
from churnml.jobs.score import missing_features_warning

# a streaming service's back-dated list: its terms and invoices begin 2026-01-31, its usage log 2026-03-01
STARTS = {
    "activity_start": datetime(2026, 1, 31),
    "events_start": datetime(2026, 3, 1, 7),
    "contact_start": datetime(2026, 2, 3),
    "payments_start": datetime(2026, 1, 31),
    "terms_start": datetime(2026, 1, 31),
}
MISSING = [
    "usage_events_182d",  # the usage log began 161 days before 2026-08-09
    "usage_seat_use_182d",  # users per seat over the 182-day user count
    "usage_users_recent_share",  # the share of the 182-day users active in the last 28 days
    "usage_events_28d",  # whole: missing for another cause
    "usage_logins_per_week_28d",  # a rate, never resolved by its window
    "comm_email_182d",  # the contact logs began with the data (2 days later): observed from 2026-01-31
    "support_tickets_7d",
]


def backdated(**starts: datetime) -> Dataset:
    """A dataset whose logs begin on the ``starts`` pinned (no rows: only its first records are read)."""
    return Dataset(
        tables={}, name="streaming", start=datetime(2026, 1, 31), as_of=datetime(2026, 11, 1), **starts
    )


@pytest.mark.parametrize(
    ("mode", "as_of", "expected"),
    [
        (
            "unknown",
            date(2026, 8, 9),
            [
                {
                    "table": "events",
                    "first_record": "2026-03-01",
                    "window_days": 182,
                    "window_from": "2026-02-08",
                    "known_from": "2026-08-30",
                    "features": ["usage_events_182d", "usage_seat_use_182d", "usage_users_recent_share"],
                }
            ],
        ),
        ("unknown", date(2026, 8, 30), []),  # the window is whole from then
        ("scaled", date(2026, 8, 9), []),  # scaled from the 161 days observed: not missing for this cause
        (
            "scaled",
            date(2026, 3, 1),  # no day of the usage log before the list
            [
                {
                    "table": "events",
                    "first_record": "2026-03-01",
                    "window_days": 182,
                    "window_from": "2025-08-31",
                    "known_from": "2026-03-02",
                    "features": ["usage_events_182d", "usage_seat_use_182d", "usage_users_recent_share"],
                },
                {
                    "table": "events",
                    "first_record": "2026-03-01",
                    "window_days": 28,
                    "window_from": "2026-02-01",
                    "known_from": "2026-03-02",
                    "features": ["usage_events_28d"],
                },
            ],
        ),
    ],
)
def test_a_window_reaching_back_before_its_tables_first_record_is_named(
    mode: str, as_of: date, expected: list[dict[str, object]]
) -> None:
    cfg = FeaturesConfig(unobserved_windows=mode)
    firsts = {"events": "2026-03-01T07:00:00", "communications": "2026-02-17T00:00:00"}
    assert windows_before_logs(MISSING, as_of, backdated(**STARTS), cfg, firsts) == expected


def test_the_contact_logs_that_began_late_are_named_by_the_table_each_feature_reads() -> None:
    # a language app: contracts from 2025-01-02, its product and contact logs from 2026-01-01
    starts = {**STARTS, "activity_start": datetime(2025, 1, 2), "terms_start": datetime(2025, 1, 2)}
    starts |= {"events_start": datetime(2026, 1, 1, 6), "contact_start": datetime(2026, 1, 1, 8)}
    starts["payments_start"] = datetime(2025, 1, 2)
    names = ["comm_email_182d", "support_tickets_182d", "usage_events_182d", "payments_paid_182d"]
    got = windows_before_logs(names, date(2026, 6, 14), backdated(**starts), FeaturesConfig())
    assert [
        (r["table"], r["first_record"], r["window_from"], r["known_from"], r["features"]) for r in got
    ] == [
        ("communications", "2026-01-01", "2025-12-14", "2026-07-02", ["comm_email_182d"]),
        ("tickets", "2026-01-01", "2025-12-14", "2026-07-02", ["support_tickets_182d"]),
        ("events", "2026-01-01", "2025-12-14", "2026-07-02", ["usage_events_182d"]),
    ]


WINDOW = {
    "table": "events",
    "first_record": "2026-03-01",
    "window_days": 182,
    "window_from": "2026-02-08",
    "known_from": "2026-08-30",
    "features": ["usage_events_182d", "usage_time_182d"],
}
HEAD = "features the model learned from are missing for every client scored now and move the scores: "
BEFORE = (
    "back before the first record of the table they read, which churnml leaves unknown "
    "(features.unobserved_windows): the 182-day windows from 2026-02-08 of events (2 features), before its "
    "first record on 2026-03-01 (whole in lists from 2026-08-30)"
)
OTHER = (
    "no client on the list has such a record in the feature's window (the data may end days before the as-of "
    "date, emptying the short windows), or the column it reads is empty (optional column(s) events.value hold "
    "no value)"
)


@pytest.mark.parametrize(
    ("dark", "windows", "expected"),
    [
        (
            ["usage_events_182d", "usage_time_182d"],
            [WINDOW],
            f"2 {HEAD}usage_events_182d, usage_time_182d. Their windows reach {BEFORE} "
            "(manifest.json, data.features_missing_now, data.windows_before_logs)",
        ),
        (
            ["usage_events_182d", "usage_time_182d", "usage_time_7d"],
            [WINDOW],
            f"3 {HEAD}usage_events_182d, usage_time_182d, usage_time_7d. 2 of them read windows reaching {BEFORE}. "
            f"For the other 1 (usage_time_7d): either {OTHER} "
            "(manifest.json, data.features_missing_now, data.windows_before_logs)",
        ),
        (  # no window before a log: the causes as before
            ["usage_time_7d", "usage_time_182d"],
            [],
            f"2 {HEAD}usage_time_7d, usage_time_182d. Either {OTHER} (manifest.json, data.features_missing_now)",
        ),
        (
            ["usage_events_182d", "comm_email_182d"],
            [
                {**WINDOW, "features": ["usage_events_182d"]},
                {**WINDOW, "table": "communications", "features": ["comm_email_182d"]},
            ],
            f"2 {HEAD}usage_events_182d, comm_email_182d. Their windows reach back before the first record of the "
            "table they read, which churnml leaves unknown (features.unobserved_windows): the 182-day windows "
            "from 2026-02-08 of events (1 feature) and communications (1), before their first records on "
            "2026-03-01 (whole in lists from 2026-08-30) "
            "(manifest.json, data.features_missing_now, data.windows_before_logs)",
        ),
    ],
)
def test_the_warning_says_the_window_before_the_log_and_keeps_the_other_causes(
    dark: list[str], windows: list[dict[str, object]], expected: str
) -> None:
    assert missing_features_warning(dark, ["events.value", "tickets.priority"], windows) == expected
