"""What the Spark score job says on the driver: a missing Java or pyspark in one line, stale tables from the
Spark time bounds."""

from __future__ import annotations

import subprocess
import sys

import pytest

from churnml.jobs.score_spark import java_problem


@pytest.mark.parametrize(
    ("java_home", "on_path", "words"),
    [
        (None, None, "no Java runtime was found (JAVA_HOME is not set and no java is on the PATH)"),
        ("/opt/jdk8", None, "the Java runtime at /opt/jdk8 did not start Spark's gateway"),
        (None, "/usr/bin/java", "the Java runtime at /usr/bin/java did not start Spark's gateway"),
    ],
)
def test_the_java_problem_says_what_was_found(java_home, on_path, words) -> None:
    text = java_problem(java_home, on_path)
    assert text.startswith(f"Spark could not start: {words}.")
    assert "Java 17 or 21" in text


def test_a_broken_java_home_is_a_user_error(tmp_path) -> None:
    pytest.importorskip("pyspark")
    code = (
        "from churnml.jobs.common import UserError\n"
        "from churnml.jobs.score_spark import spark_session\n"
        "try:\n"
        "    spark_session('local[1]', driver_memory='512m')\n"
        "except UserError as exc:\n"
        "    print('USER ERROR:', exc)\n"
    )
    env = {"JAVA_HOME": str(tmp_path / "no-jdk"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert f"USER ERROR: Spark could not start: the Java runtime at {tmp_path / 'no-jdk'}" in out.stdout, (
        out.stdout + out.stderr[-2000:]
    )


def test_spark_time_bounds_give_the_spans_a_stale_table_is_read_from() -> None:
    from datetime import date, datetime

    from churnml.contract.validation import lagging_tables
    from churnml.jobs.score_spark import spans_from_bounds

    bounds = {
        "events": {"rows": 3},
        "events.ts": {"max": datetime(2025, 1, 30), "max_before": datetime(2025, 1, 30)},
        "tickets": {"rows": 2},
        "tickets.opened_at": {"max": datetime(2024, 10, 31), "max_before": datetime(2024, 10, 31)},
        "subscriptions": {"rows": 1},
        "subscriptions.start_date": {"max": date(2024, 6, 1), "max_before": date(2024, 6, 1)},
    }
    # the terms' scheduled end is no time column of the bounds: read apart
    spans = spans_from_bounds(bounds, last_end=date(2025, 6, 1))
    assert spans == {
        "events": {"last_before_as_of": "2025-01-30T00:00:00"},
        "tickets": {"last_before_as_of": "2024-10-31T00:00:00"},
        "subscriptions": {"last_before_as_of": "2024-06-01T00:00:00", "last_end": "2025-06-01T00:00:00"},
    }
    # the tickets end 92 days before the list of 2025-01-31; terms run past it: current
    assert lagging_tables(spans, date(2025, 1, 31), 21) == {"tickets": 92}
    # without the terms' end the subscriptions, last started 244 days before, would read stale
    assert lagging_tables(spans_from_bounds(bounds), date(2025, 1, 31), 21) == {
        "subscriptions": 244,
        "tickets": 92,
    }


def test_spark_dates_leave_placeholders_and_churn_logs_out_of_the_first_activity() -> None:
    # as Dataset.first_activity / events_first / contact_first: a payment dated 1900-01-01 and a churn log
    # reaching back to 2020 date no log's beginning
    from datetime import date, datetime

    from churnml.config import Config
    from churnml.jobs.score_spark import _dates

    def col(low: datetime, plausible: datetime | None, high: datetime) -> dict:
        return {"min": low, "min_plausible": plausible, "max": high}

    end = datetime(2025, 6, 30)
    bounds = {
        "clients.created_at": col(datetime(2015, 1, 1), datetime(2015, 1, 1), end),
        "payments.paid_at": col(datetime(1900, 1, 1), datetime(2024, 3, 1), end),
        "events.ts": col(datetime(1753, 1, 1), datetime(2024, 5, 6), end),
        "tickets.opened_at": col(datetime(2024, 7, 1), datetime(2024, 7, 1), end),
        "payments.issued_at": col(datetime(2024, 3, 5), datetime(2024, 3, 5), end),
        "subscriptions.start_date": col(datetime(1900, 1, 1), datetime(2024, 3, 4), end),
        "churns.churned_at": col(datetime(2020, 2, 1), datetime(2020, 2, 1), datetime(2025, 5, 1)),
    }
    dates = _dates(bounds, Config(), None)
    assert (dates["activity_start"], dates["events_start"], dates["contact_start"]) == (
        datetime(2024, 3, 1),
        datetime(2024, 5, 6),
        datetime(2024, 7, 1),
    )
    # as Dataset.payments_first (every payment time column) and terms_first (the first plausible start_date)
    assert (dates["payments_start"], dates["terms_start"]) == (datetime(2024, 3, 1), datetime(2024, 3, 4))
    assert dates["day"] == date(2025, 7, 1)


@pytest.mark.parametrize(
    ("tables", "start"),
    [
        # the first activity (a payment), not the churn log nor the one old call of interventions
        (("payments", "churns", "interventions"), (2024, 3, 1)),
        # without activity from 1971 on: the first plausible churn or intervention
        (("churns", "interventions"), (2019, 6, 3)),
        (("churns",), (2020, 2, 1)),
        # without any plausible date: the first of all (clients' placeholder included)
        (("old_events",), (1900, 1, 1)),
    ],
)
def test_spark_start_is_the_first_activity_as_timestamp_span_gives(tables, start) -> None:
    from datetime import datetime

    from churnml.config import Config
    from churnml.jobs.score_spark import _dates

    end = datetime(2025, 6, 30)
    every = {
        "payments": ("payments.paid_at", datetime(1900, 1, 1), datetime(2024, 3, 1)),
        "churns": ("churns.churned_at", datetime(2020, 2, 1), datetime(2020, 2, 1)),
        "interventions": ("interventions.ts", datetime(2019, 6, 3), datetime(2019, 6, 3)),
        "old_events": ("events.ts", datetime(1900, 1, 1), None),
    }
    bounds = {"clients.created_at": {"min": datetime(1950, 1, 1), "min_plausible": None, "max": end}}
    for name in tables:
        key, low, plausible = every[name]
        bounds[key] = {"min": low, "min_plausible": plausible, "max": end}
    assert _dates(bounds, Config(), None)["start"] == datetime(*start)


def test_spark_spans_judge_a_table_by_its_own_rhythm() -> None:
    """Tickets opened every 30 days, the last 25 days before the list: silent as usual, not stale (the fixed
    score.max_data_lag_days of 21 called them stale); payments daily until 30 days before it: stale."""
    from datetime import date, datetime, timedelta

    from churnml.contract.validation import lagging_table_text, lagging_tables
    from churnml.jobs.score_spark import rhythm_spans, spans_from_bounds

    day = date(2025, 1, 31)
    tickets = [date(2025, 1, 6) - timedelta(days=30 * k) for k in range(12)][::-1]
    payments = [date(2024, 11, 1) + timedelta(days=k) for k in range(61)]  # none in the last 30 days
    bounds = {
        "tickets": {"rows": 12},
        "tickets.opened_at": {
            "min": datetime(2024, 2, 11),
            "max": datetime(2025, 1, 6),
            "max_before": datetime(2025, 1, 6),
        },
        "payments": {"rows": 61},
        "payments.paid_at": {
            "min": datetime(2024, 11, 1),
            "max": datetime(2024, 12, 31),
            "max_before": datetime(2024, 12, 31),
        },
        "payments.issued_at": {},
    }
    days = {"tickets": tickets, "payments": payments}
    spans = rhythm_spans(spans_from_bounds(bounds), bounds, days, day)
    assert spans["tickets"] == {
        "first": "2024-02-11T00:00:00",
        "last": "2025-01-06T00:00:00",
        "last_before_as_of": "2025-01-06T00:00:00",
        "usual_gap_days": 30,
    }
    assert spans["payments"]["usual_gap_days"] == 1
    assert lagging_tables(spans, day, 21) == {"payments": 31}
    assert lagging_tables(spans_from_bounds(bounds), day, 21) == {"tickets": 25, "payments": 31}  # no rhythm
    assert lagging_table_text("payments", 31, spans["payments"], 21).startswith(
        "payments: no record for 31 days, its longest usual gap is 1 day ("
    )


def test_the_buckets_get_each_client_s_last_activity_from_before_the_shipped_rows(spark) -> None:
    # label.activity_events: the buckets' portfolio view marks each client's last activity, as the Polars
    # path reads it from the whole file; one from before the shipped rows was missing (no_activity fired)
    from datetime import datetime

    from churnml.config import FeaturesConfig
    from churnml.jobs.score_spark import with_last_activities
    from churnml.scoring.spark import scoring_events

    clients = spark.createDataFrame(
        [("c1", datetime(2023, 1, 1)), ("c2", datetime(2023, 1, 1))],
        "client_id string, created_at timestamp_ntz",
    )
    rows = [
        ("c1", datetime(2023, 5, 1, 9), "api_call"),  # an older activity: not added
        ("c1", datetime(2023, 6, 1, 9), "api_call"),  # c1's last activity before the window: added
        ("c1", datetime(2023, 6, 1, 9), "api_call"),  # ... both rows at it
        ("c1", datetime(2023, 9, 1, 9), "report"),  # c1's last event: shipped already
        ("c2", datetime(2023, 8, 1, 9), "report"),
        ("c2", datetime(2023, 9, 1, 9), "api_call"),  # c2's last event and activity: not shipped twice
        ("c2", datetime(2024, 3, 5), "api_call"),  # in the window
    ]
    events = spark.createDataFrame(
        [(c, ts, e, "u1", 1.0) for c, ts, e in rows],
        "client_id string, ts timestamp_ntz, event string, user_id string, value double",
    )
    start = datetime(2024, 3, 1)
    shipped = scoring_events(events, clients, start, datetime(2024, 6, 1), FeaturesConfig())
    got = sorted(
        (r["client_id"], r["ts"], r["event"])
        for r in with_last_activities(shipped, events, start, ["api_call"]).collect()
    )
    assert got == [
        ("c1", datetime(2023, 6, 1, 9), "api_call"),
        ("c1", datetime(2023, 6, 1, 9), "api_call"),
        ("c1", datetime(2023, 9, 1, 9), "report"),
        ("c2", datetime(2023, 9, 1, 9), "api_call"),
        ("c2", datetime(2024, 3, 5), "api_call"),
    ]
    # without activity_events (every event is activity) or with none: the shipped rows as they are
    for activity in (None, []):
        assert with_last_activities(shipped, events, start, activity) is shipped


def test_the_spark_options_reach_the_session_the_score_job_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from churnml import cli
    from churnml.jobs import score_spark
    from churnml.jobs.common import UserError

    def fake(*_args, master=None, driver_memory=None, **_kw):
        raise UserError(f"session on {master} with {driver_memory}")

    monkeypatch.setattr(score_spark, "score_on_spark", fake)
    args = ["score", "--engine", "spark", "--spark-master", "local[*]", "--spark-driver-memory", "8g"]
    result = CliRunner().invoke(cli.app, args)
    assert "session on local[*] with 8g" in " ".join(result.output.split())
    # the options are the Spark engine's: refused with Polars, before any work
    result = CliRunner().invoke(cli.app, ["score", "--engine", "polars", "--spark-master", "local[4]"])
    assert result.exit_code != 0
    assert "--spark-master: for --engine spark (features.engine) only" in " ".join(result.output.split())


def test_a_new_session_takes_the_master_and_driver_memory_given(tmp_path) -> None:
    pytest.importorskip("pyspark")
    import shutil

    if shutil.which("java") is None:
        pytest.skip("no JVM")
    code = (
        "from churnml.jobs.score_spark import spark_session\n"
        "s = spark_session('local[1]', driver_memory='768m')\n"
        "print('GOT', s.sparkContext.master, s.conf.get('spark.driver.memory'))\n"
        "s.stop()\n"
        "s = spark_session()\n"
        "print('DEFAULT', s.sparkContext.master, s.conf.get('spark.driver.memory'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "GOT local[1] 768m" in out.stdout, out.stdout + out.stderr[-2000:]
    assert "DEFAULT local[2] 4g" in out.stdout, out.stdout + out.stderr[-2000:]


def test_spark_refuses_a_list_nobody_is_on_and_a_future_time_in_the_polars_sentences(spark) -> None:
    """Spark said 'nothing to score' alone where Polars names the terms booked after the grace
    (assemble.nobody_active_message), and a timestamp after the clock in UTC where Polars says data.timezone
    (validation.future_timestamp_problem): the sentences of the Polars tests, written out."""
    from datetime import date, datetime

    from churnml.contract.schemas import Table
    from churnml.contract.validation import ContractError
    from churnml.jobs.score_spark import booked_terms
    from churnml.scoring.assemble import nobody_active_message
    from churnml.scoring.spark import repaired_contract_frame

    terms = spark.createDataFrame(
        [
            ("a", datetime(2026, 4, 27), datetime(2026, 6, 28)),
            ("a", datetime(2026, 9, 7), datetime(2026, 11, 15)),  # booked after the summer
            ("b", datetime(2026, 4, 27), datetime(2026, 6, 28)),
            ("n", datetime(2026, 9, 7), datetime(2026, 11, 15)),  # a first term booked ahead: no return
        ],
        "client_id string, start_date timestamp_ntz, end_date timestamp_ntz",
    )
    assert nobody_active_message(
        booked_terms({Table.SUBSCRIPTIONS: terms}, date(2026, 8, 17)), date(2026, 8, 17), 30
    ) == (
        "no client is active at the as-of date 2026-08-17: nothing to score; 1 client has a term booked to start on "
        "2026-09-07 or later after a gap longer than label.grace_days (30): each is gone until that term starts. A "
        "break the business takes between terms (a school closed for the summer) wants a grace that covers it: "
        "churnml validate names it"
    )
    payments = spark.createDataFrame(
        [("b", 20.0, datetime(2031, 1, 1))], "client_id string, amount double, paid_at timestamp_ntz"
    )
    clock = datetime(2026, 12, 5, 10, 17)  # no as-of date: the clock in data.timezone is the limit
    with pytest.raises(ContractError) as refused:
        repaired_contract_frame(payments, Table.PAYMENTS, clock, timezone="America/Los_Angeles")
    assert str(refused.value).startswith(
        "table 'payments', column 'paid_at': timestamp after 2026-12-05 10:17 America/Los_Angeles, this "
        "machine's clock plus data.future_tolerance_days (no as-of date given: set data.as_of, or --as-of when "
        "scoring, for another day) (1 row)"
    )


def test_empty_optional_columns_and_the_terms_end_are_read_from_the_time_bounds() -> None:
    # one aggregate per table gives both (no Spark job of their own): an optional column without a value
    # in a table with rows is empty; a table without rows has no empty column to speak of
    from datetime import date

    from churnml.jobs.score_spark import _last_end, empty_spark_columns

    bounds = {
        "tickets": {"rows": 4, "filled": {"csat": 0, "priority": 3, "resolved_at": 4}},
        "tickets.opened_at": {"max": None},
        "payments": {"rows": 2, "filled": {"issued_at": 0, "currency": 0}},
        "comms": {"rows": 0, "filled": {"direction": 0}},
        "subscriptions": {"rows": 3, "filled": {}, "last_end": date(2025, 6, 1)},
    }
    assert empty_spark_columns(bounds) == ["payments.currency", "payments.issued_at", "tickets.csat"]
    assert _last_end(bounds) == date(2025, 6, 1)
    assert _last_end({"events": {"rows": 1, "filled": {}}}) is None


def test_spark_record_days_are_each_table_s_days_before_the_list(spark) -> None:
    # one aggregate for every table: the days before the list's day, placeholders (1900) left out, a table
    # without a day before it still present with none, as each table's own aggregate gave them
    from datetime import date, datetime

    from churnml.contract.schemas import Table
    from churnml.jobs.score_spark import record_days

    events = spark.createDataFrame(
        [
            ("c1", datetime(2024, 3, 4, 9)),
            ("c1", datetime(2024, 3, 4, 17)),  # the same day twice: once
            ("c2", datetime(2024, 3, 1, 23, 59)),
            ("c2", datetime(1900, 1, 1)),  # a placeholder
            ("c2", datetime(2024, 3, 8)),  # the list's day: not before it
        ],
        "client_id string, ts timestamp_ntz",
    )
    tickets = spark.createDataFrame(
        [("c1", datetime(2024, 2, 20, 8)), ("c2", datetime(2024, 3, 4, 10))],
        "client_id string, opened_at timestamp_ntz",
    )
    churns = spark.createDataFrame(
        [("c2", datetime(2024, 3, 9))], "client_id string, churned_at timestamp_ntz"
    )
    days = record_days({Table.EVENTS: events, Table.TICKETS: tickets, Table.CHURNS: churns}, date(2024, 3, 8))
    assert days == {
        "churns": [],
        "events": [date(2024, 3, 1), date(2024, 3, 4)],
        "tickets": [date(2024, 2, 20), date(2024, 3, 4)],
    }
