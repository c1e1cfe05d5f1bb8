"""What the client buckets of ``churnml score --engine spark`` see, against the Polars path: the scoring window
and the rows carried from before it, the whole portfolio's mailings, the configuration the executors get (the
portfolio-wide usage dip, who left since the last list and stale tables on whole lists:
tests/test_score_spark_portfolio.py).

The session every Spark test of the worker shares (tests/conftest.py). Skipped only when pyspark or a Java
runtime is missing.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from datetime import date, datetime, timedelta

import polars as pl
import pytest

from churnml.config import FeaturesConfig, LabelConfig, load_config
from churnml.contract.schemas import Table
from churnml.features import build_features

pytest.importorskip("pyspark")
pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("JAVA_HOME"), reason="no JVM"),
]


def test_spark_ships_the_window_and_the_rows_carried_from_before_it(spark) -> None:
    from churnml.scoring.spark import scoring_events

    clients = spark.createDataFrame(
        [("c1", datetime(2023, 1, 1)), ("c2", datetime(2023, 6, 1))],
        "client_id string, created_at timestamp_ntz",
    )
    rows = [
        ("c1", datetime(2023, 2, 1, 10), "report"),  # onboarding weeks (98 days after created_at)
        ("c1", datetime(2023, 5, 1, 9), "login"),  # an earlier login: dropped
        ("c1", datetime(2023, 6, 1, 9), "data_export"),  # last export before the window
        ("c1", datetime(2023, 7, 1, 9), "login"),  # last login before the window
        ("c1", datetime(2023, 8, 1, 9), "report"),  # dropped
        ("c1", datetime(2023, 9, 1, 9), "report"),  # last event before the window
        ("c1", datetime(2024, 3, 1), "report"),  # the window's first instant
        ("c1", datetime(2024, 5, 31, 23, 59), "login"),
        ("c1", datetime(2024, 6, 1), "report"),  # the as-of date: dropped
        ("c2", datetime(2024, 1, 5, 8), "data_export"),  # last export
        ("c2", datetime(2024, 1, 10, 8), "report"),  # dropped
        ("c2", datetime(2024, 2, 20, 8), "report"),  # two rows at the last timestamp: both kept
        ("c2", datetime(2024, 2, 20, 8), "chat"),
    ]
    events = spark.createDataFrame(
        [(c, ts, e, "u1", 1.0) for c, ts, e in rows],
        "client_id string, ts timestamp_ntz, event string, user_id string, value double",
    )
    shipped = scoring_events(
        events, clients, datetime(2024, 3, 1), datetime(2024, 6, 1), FeaturesConfig()
    ).collect()
    assert {(r["user_id"], r["value"]) for r in shipped} == {("u1", 1.0)}  # rows whole
    assert sorted((r["client_id"], r["ts"], r["event"]) for r in shipped) == sorted(
        [
            ("c1", datetime(2023, 2, 1, 10), "report"),
            ("c1", datetime(2023, 6, 1, 9), "data_export"),
            ("c1", datetime(2023, 7, 1, 9), "login"),
            ("c1", datetime(2023, 9, 1, 9), "report"),
            ("c1", datetime(2024, 3, 1), "report"),
            ("c1", datetime(2024, 5, 31, 23, 59), "login"),
            ("c2", datetime(2024, 1, 5, 8), "data_export"),
            ("c2", datetime(2024, 2, 20, 8), "report"),
            ("c2", datetime(2024, 2, 20, 8), "chat"),
        ]
    )


def test_a_bucket_without_rows_of_a_table_still_has_it_empty() -> None:
    from churnml.config import RulesConfig, ScoreConfig, ValueConfig
    from churnml.scoring.spark import _ipc
    from churnml.scoring.spark_buckets import BucketContext, bucket_dataset

    clients = pl.DataFrame(
        {"client_id": ["c1"], "created_at": [datetime(2024, 1, 1)]},
        schema={"client_id": pl.String, "created_at": pl.Datetime("us")},
    )
    ctx = BucketContext(
        as_of=date(2024, 6, 3),
        prev_date=date(2024, 5, 27),
        todo=(date(2024, 6, 3),),
        reused=frozenset(),
        name="t",
        start=datetime(2024, 1, 1),
        data_as_of=datetime(2024, 6, 3),
        activity_start=datetime(2024, 1, 1),
        label=LabelConfig(),
        features=FeaturesConfig(),
        score=ScoreConfig(),
        value=ValueConfig(),
        rules=RulesConfig(),
        present=("clients", "churns"),
    )
    dataset = bucket_dataset({"clients": [_ipc(clients.to_arrow())]}, ctx)
    assert sorted(str(t) for t in dataset.tables) == ["churns", "clients"]
    assert dataset.tables[Table.CHURNS].height == 0
    assert dataset.tables[Table.CHURNS].schema["churned_at"] == pl.Datetime("us")
    assert dataset.tables[Table.CLIENTS].get_column("client_id").to_list() == ["c1"]
    assert dataset.first_activity() == datetime(2024, 1, 1)


def test_the_executors_read_bookings_with_the_configured_early_renewal_share() -> None:
    from types import SimpleNamespace

    from churnml.jobs.score_spark import _context

    # Spark's BucketContext was built without it: its buckets read renewals booked ahead at the 0.25 default
    cfg = load_config(overrides=["data.early_renewal_share=0.1"])
    plan = SimpleNamespace(todo=[date(2025, 1, 6)], reused=[])
    when = datetime(2025, 1, 1)
    keys = (
        "start",
        "data_as_of",
        "activity_start",
        "events_start",
        "contact_start",
        "payments_start",
        "terms_start",
    )
    dates = {k: when for k in keys}
    fitted = SimpleNamespace(feature_names_=["usage_logins_28d"])
    ctx = _context(date(2025, 1, 6), plan, "d", dates, fitted, cfg)
    assert ctx.early_renewal_share == 0.1


def test_a_bucket_observes_a_late_payments_log_from_the_start_the_driver_found() -> None:
    """The driver's dates (from the whole dataset's column bounds) carry the payments log's first record and the
    first term to every bucket: a bucket of B alone (its first bill on 07-15) observes the payments from the
    portfolio's 07-01, as the whole dataset does."""
    from types import SimpleNamespace

    from churnml.contract.dataset import Dataset
    from churnml.contract.schemas import CONTRACT
    from churnml.jobs.score_spark import _context, _dates
    from churnml.scoring.spark import _ipc
    from churnml.scoring.spark_buckets import bucket_dataset
    from test_scoring import late_payments_tables

    tables = late_payments_tables()
    whole = Dataset(tables, "late", datetime(2026, 6, 4), datetime(2026, 10, 1))
    bounds = {
        f"{t}.{c}": {"min": f[c].min(), "min_plausible": f[c].min(), "max": f[c].max()}
        for t, f in tables.items()
        for c in CONTRACT[t].time_columns
        if c in f.columns
    }
    cfg = load_config()
    plan = SimpleNamespace(todo=[date(2026, 9, 28)], reused=[])
    fitted = SimpleNamespace(feature_names_=["payments_paid_28d"])
    ctx = _context(date(2026, 9, 28), plan, "late", _dates(bounds, cfg, None), fitted, cfg)
    assert (ctx.payments_start, ctx.terms_start) == (datetime(2026, 7, 1, 9), datetime(2026, 6, 4))
    blobs = {str(t): [_ipc(f.filter(pl.col("client_id") == "B").to_arrow())] for t, f in tables.items()}
    bucket = bucket_dataset(blobs, ctx)
    assert bucket.payments_observed_from() == whole.payments_observed_from() == datetime(2026, 7, 1, 9)
    spine = pl.DataFrame({"client_id": ["B", "B"], "snapshot": [date(2026, 8, 10), date(2026, 9, 28)]})
    expected = build_features(whole, spine, cfg.features)
    assert build_features(bucket, spine, cfg.features).equals(expected)


def _newsletter_tables() -> dict[Table, pl.DataFrame]:
    # 25 clients on yearly terms; a weekly newsletter to all of them, no reply; c00's account manager writes
    # every 4 weeks and c00 answers
    ids = [f"c{i:02d}" for i in range(25)]
    start = datetime(2024, 1, 1)
    touches = [
        (c, start + timedelta(days=1, weeks=w), "email", "out", "no_reply") for w in range(12) for c in ids
    ]
    touches += [("c00", start + timedelta(days=3, weeks=4 * m), "email", "out", "replied") for m in range(3)]
    dt = pl.Datetime("us")
    return {
        Table.CLIENTS: pl.DataFrame({"client_id": ids, "created_at": [start] * 25}),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ids,
                "start_date": [start] * 25,
                "end_date": [datetime(2025, 1, 1)] * 25,
                "mrr": 10.0,
            },
            schema={"client_id": pl.String, "start_date": dt, "end_date": dt, "mrr": pl.Float64},
        ),
        Table.COMMUNICATIONS: pl.DataFrame(
            touches, schema=["client_id", "ts", "channel", "direction", "outcome"], orient="row"
        ),
    }


def test_a_bucket_leaves_out_the_mailings_of_the_whole_dataset_it_is_handed() -> None:
    from churnml.config import RulesConfig, ScoreConfig, ValueConfig
    from churnml.contract.dataset import Dataset
    from churnml.features.build import dataset_mailings
    from churnml.scoring.spark_buckets import BucketContext, bucket_features

    tables = _newsletter_tables()
    as_of, start, end = date(2024, 3, 25), datetime(2024, 1, 1), datetime(2024, 3, 25)
    whole = Dataset(tables, "t", start, end)
    ctx = BucketContext(
        as_of=as_of,
        prev_date=as_of - timedelta(weeks=1),
        todo=(as_of,),
        reused=frozenset(),
        name="t",
        start=start,
        data_as_of=end,
        activity_start=whole.first_activity(),
        contact_start=whole.contact_first(),
        label=LabelConfig(),
        features=FeaturesConfig(),
        score=ScoreConfig(),
        value=ValueConfig(),
        rules=RulesConfig(),
        present=tuple(str(t) for t in tables),
        mailings=dataset_mailings(whole),
    )
    spine = pl.DataFrame({"client_id": ["c00"], "snapshot": [as_of]})
    expected = build_features(whole, spine, FeaturesConfig())
    comm = [c for c in expected.columns if c.startswith("comm_")]
    bucket = whole.with_tables(**{str(t): f.filter(pl.col("client_id") == "c00") for t, f in tables.items()})
    got, _ = bucket_features(bucket, ctx)
    assert got.select(comm).equals(expected.select(comm))
    assert got.get_column("comm_touches_out_28d").to_list() == [1.0]  # the account manager's e-mail only
    # without the whole dataset's mailings the bucket of one client finds none: 4 newsletters are outreach
    alone, _ = bucket_features(bucket, replace(ctx, mailings=None))
    assert alone.get_column("comm_touches_out_28d").to_list() == [5.0]


def test_the_driver_finds_the_mailings_of_the_whole_dataset_as_polars_does(spark) -> None:
    from churnml.config import RulesConfig
    from churnml.contract.dataset import Dataset
    from churnml.features.build import dataset_mailings
    from churnml.scoring.spark_buckets import driver_mailings

    tables = _newsletter_tables()
    on_spark = {t: spark.createDataFrame(f.to_pandas()) for t, f in tables.items()}
    rules = RulesConfig()
    expected = dataset_mailings(Dataset(tables, "t", datetime(2024, 1, 1), datetime(2024, 3, 25)))
    assert expected.height == 12
    assert driver_mailings(on_spark, rules).equals(expected)
    assert driver_mailings({Table.CLIENTS: on_spark[Table.CLIENTS]}, rules).height == 0


def test_a_bucket_reads_a_scaled_usage_window_over_the_whole_dataset_s_days() -> None:
    # a bucket whose one client began logging 40 days ago, of a dataset whose data began 60 days ago
    # (features.unobserved_windows: scaled: the 182-day count is the 60 days' x 182 / 60): 40 events a day for
    # 12 days, then 7 a day for the last 28 (196). Its usual is read over the whole dataset's 32 days of usual,
    # as the Polars list reads it: 480 x 28 / 32 = 420, x0.47 (not over its own 12 days, 1,120; read before as
    # the scaled 2,050.5 less 196 over 154 days: 337, x0.58)
    from churnml.config import RulesConfig, ScoreConfig, ValueConfig
    from churnml.contract.dataset import Dataset
    from churnml.scoring.spark_buckets import BucketContext, bucket_usage_ratios

    at = datetime(2026, 12, 7)
    start = at - timedelta(days=60)
    rows = [at - timedelta(days=40 - d, hours=-10) for d in range(40) for _ in range(7 if d >= 12 else 40)]
    events = pl.DataFrame({"client_id": "f", "ts": rows, "event": "login"})
    clients = pl.DataFrame({"client_id": ["f"], "created_at": [datetime(2025, 1, 1)]})
    cfg = FeaturesConfig(unobserved_windows="scaled")
    bucket = Dataset(
        {Table.CLIENTS: clients, Table.EVENTS: events},
        "t",
        start,
        at,
        activity_start=start,
        events_start=start,
    )
    spine = pl.DataFrame({"client_id": ["f"], "snapshot": [at.date()]})
    features = build_features(bucket, spine, cfg)
    names = tuple(c for c in features.columns if c.startswith("usage_events_"))
    ctx = BucketContext(
        as_of=at.date(),
        prev_date=at.date() - timedelta(days=7),
        todo=(at.date(),),
        reused=frozenset(),
        name="t",
        start=start,
        data_as_of=at,
        activity_start=start,
        label=LabelConfig(),
        features=cfg,
        score=ScoreConfig(),
        value=ValueConfig(),
        rules=RulesConfig(enabled=["usage_drop"]),
        names=names,
        events_start=start,
    )
    ratios = bucket_usage_ratios(bucket, features, ctx)
    assert ratios.select("client_id", "_recent", "_usual", "_ratio").rows() == [
        ("f", 196.0, pytest.approx(420.0), pytest.approx(196 / 420))
    ]


def test_a_bucket_says_a_clients_seasons_pause_as_the_polars_list_does() -> None:
    """The executors' scoring pass (bucket_scores: client_standing and list_reasons on the bucket's own orders)
    on a bucket of a buyer of every spring and a monthly buyer gone quiet the same day (tests/test_rules.py), on
    2026-01-05: the spring buyer's term_state says its season's pause, and its drivers cite no days since its last
    order nor its gap against its usual; the monthly buyer's do."""
    import numpy as np

    from churnml.config import RulesConfig, ScoreConfig, ValueConfig
    from churnml.contract.dataset import Dataset
    from churnml.scoring.spark_buckets import BucketContext, bucket_scores
    from test_explain import silence_model
    from test_rules import spring_and_gone_tables
    from test_scoring import SEASON_SAID

    at, start = datetime(2026, 1, 5), datetime(2024, 1, 1)
    bucket = Dataset(spring_and_gone_tables(), "garden", start, at, activity_start=start)
    names = ("payments_days_since_payment", "payments_gap_ratio", "payments_paid_182d")
    spine = pl.DataFrame({"client_id": ["gone", "spring"], "snapshot": [at.date()] * 2})
    features = build_features(bucket, spine, FeaturesConfig()).select(
        "client_id", pl.col("snapshot").cast(pl.Date), *names
    )
    ctx = BucketContext(
        as_of=at.date(),
        prev_date=at.date() - timedelta(days=7),
        todo=(at.date(),),
        reused=frozenset(),
        name="garden",
        start=start,
        data_as_of=at,
        activity_start=start,
        label=LabelConfig(),
        features=FeaturesConfig(),
        score=ScoreConfig(),
        value=ValueConfig(),
        rules=RulesConfig(enabled=["no_activity"]),
        model=silence_model(list(names)),
        names=names,
        reference=np.array([30.0, 1.0, 400.0]),
    )
    result, _ = bucket_scores(bucket, features, None, ctx)
    rows = {r["client_id"]: r for r in result.iter_rows(named=True)}
    assert (rows["spring"]["v|term_state"], rows["gone"]["v|term_state"]) == (SEASON_SAID, "")
    silence = {"payments_days_since_payment", "payments_gap_ratio"}
    cited = {c: {r[f"d|driver_{i}_feature"] for i in (1, 2, 3)} for c, r in rows.items()}
    assert not cited["spring"] & silence
    assert cited["gone"] & silence


def test_the_driver_weighs_a_trialists_tickets_against_its_conversion_over_the_whole_list(
    monkeypatch,
) -> None:
    """p1 and p2 pay 12,000 and 6,000 a year for growth, t1 trials it (never paid) with 6 complaints in the month.
    Alone in its bucket t1 has no paying client to be valued against (it read "6 complaints in 365 days for EUR
    0 of ARR": let go); the driver weighs the bucket's counts against its conversion over the whole list (9,000,
    6.7 per 10,000: kept), as the Polars list does. The buckets ship the counts and judge nothing: each judged
    its clients against the bucket's stakes and the driver threw that verdict away."""
    import numpy as np

    import churnml.scoring.standing as standing_module
    from churnml.config import RulesConfig, ScoreConfig, ValueConfig
    from churnml.contract.dataset import Dataset
    from churnml.scoring.spark_buckets import BucketContext, assembled_scores, bucket_scores
    from churnml.scoring.standing import PreviousWeek, client_standing
    from test_explain import silence_model

    at, start = datetime(2024, 6, 3), datetime(2024, 1, 1)
    ids = ["p1", "p2", "t1"]
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ids, "created_at": [start] * 3}),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ids,
                "start_date": [start, start, datetime(2024, 5, 24)],
                "end_date": [datetime(2025, 1, 1)] * 2 + [datetime(2024, 6, 7)],
                "mrr": [1_000.0, 500.0, 0.0],
                "product": ["growth"] * 3,
            }
        ),
        Table.PAYMENTS: pl.DataFrame(
            {"client_id": ["p1", "p2"], "amount": [1_000.0, 500.0], "paid_at": [datetime(2024, 5, 1)] * 2}
        ),
        Table.TICKETS: pl.DataFrame(
            {"client_id": ["t1"] * 6, "opened_at": [datetime(2024, 5, 28)] * 6, "kind": ["complaint"] * 6}
        ),
    }
    names = ("payments_days_since_payment", "payments_gap_ratio", "payments_paid_182d")
    ctx = BucketContext(
        as_of=at.date(),
        prev_date=at.date() - timedelta(days=7),
        todo=(at.date(),),
        reused=frozenset(),
        name="saas",
        start=start,
        data_as_of=at,
        activity_start=start,
        label=LabelConfig(),
        features=FeaturesConfig(),
        score=ScoreConfig(currency="EUR"),
        value=ValueConfig(),
        rules=RulesConfig(enabled=[]),
        model=silence_model(list(names)),
        names=names,
        reference=np.array([30.0, 1.0, 400.0]),
    )
    judged: list[list[str]] = []
    verdicts = standing_module.keep_verdicts

    def counted(inputs, *args, **kwargs):
        judged.append(inputs.get_column("client_id").to_list())
        return verdicts(inputs, *args, **kwargs)

    monkeypatch.setattr(standing_module, "keep_verdicts", counted)
    parts = []
    for bucket_ids in (["p1", "p2"], ["t1"]):
        keep = pl.col("client_id").is_in(bucket_ids)
        bucket = Dataset(
            {t: f.filter(keep) for t, f in tables.items()}, "saas", start, at, activity_start=start
        )
        spine = pl.DataFrame({"client_id": bucket_ids, "snapshot": [at.date()] * len(bucket_ids)})
        features = build_features(bucket, spine, FeaturesConfig()).select(
            "client_id", pl.col("snapshot").cast(pl.Date), *names
        )
        parts.append(bucket_scores(bucket, features, None, ctx)[0])
    assert judged == []  # no verdict in a bucket
    cfg = load_config(None)
    listed = assembled_scores(
        parts,
        at.date(),
        label=ctx.label,
        score=ctx.score,
        value=ctx.value,
        playbooks=cfg.playbooks,
        data_start=start,
    ).sort("client_id")
    assert listed.get_column("conversion_arr").to_list() == [None, None, 9_000.0]
    assert listed.get_column("not_worth_keeping").to_list() == [False, False, False]
    # the Polars list's own verdict, on the whole list at once
    whole = client_standing(
        Dataset(tables, "saas", start, at, activity_start=start),
        ids,
        np.array([0.2, 0.2, 0.8]),
        PreviousWeek(ctx.prev_date, [], np.zeros(0), {}),
        pl.DataFrame(schema={"client_id": pl.String, "snapshot": pl.Date, "churn_probability": pl.Float64}),
        at.date(),
        label=ctx.label,
        features=ctx.features,
        score=ctx.score,
        value=ctx.value,
        rules=ctx.rules,
    )
    assert whole.keep.get_column("not_worth_keeping").to_list() == [False, False, False]
    assert judged == [ids]  # the Polars list judges its whole list once


def test_the_usage_window_start_is_read_once_on_the_driver_and_handed_to_the_buckets(monkeypatch) -> None:
    """A bucket read Dataset.usage_windows_from three times (usage_drop's ratios this week and last week, then
    client_standing); the driver reads it once from the whole dataset's dates (BucketContext.usage_start), as the
    Polars list does, and the buckets take it: the same ratios, no read in a bucket. Without it, once a pass."""
    from types import SimpleNamespace

    from churnml.config import RulesConfig, ScoreConfig, ValueConfig
    from churnml.contract.dataset import Dataset
    from churnml.jobs.score_spark import _context
    from churnml.scoring.spark_buckets import BucketContext, bucket_usage_ratios

    at = datetime(2026, 12, 7)
    start = at - timedelta(days=60)
    rows = [at - timedelta(days=40 - d, hours=-10) for d in range(40)]
    events = pl.DataFrame({"client_id": "f", "ts": rows, "event": "login"})
    clients = pl.DataFrame({"client_id": ["f"], "created_at": [datetime(2025, 1, 1)]})
    cfg = FeaturesConfig(unobserved_windows="scaled")
    bucket = Dataset(
        {Table.CLIENTS: clients, Table.EVENTS: events},
        "t",
        start,
        at,
        activity_start=start,
        events_start=start,
    )
    spine = pl.DataFrame({"client_id": ["f"], "snapshot": [at.date()]})
    features = build_features(bucket, spine, cfg)
    names = tuple(c for c in features.columns if c.startswith("usage_events_"))
    dates = {
        "start": start,
        "data_as_of": at,
        "activity_start": start,
        "events_start": start,
        "contact_start": None,
        "payments_start": None,
        "terms_start": None,
    }
    whole = load_config(None)
    whole = whole.model_copy(update={"features": cfg, "rules": RulesConfig(enabled=["usage_drop"])})
    plan = SimpleNamespace(todo=[at.date()], reused=[])
    driver = _context(at.date(), plan, "t", dates, SimpleNamespace(feature_names_=list(names)), whole)
    assert driver.usage_start == bucket.usage_windows_from().date() == start.date()
    reads = []
    original = Dataset.usage_windows_from

    def counted(self: Dataset) -> datetime:
        reads.append(1)
        return original(self)

    monkeypatch.setattr(Dataset, "usage_windows_from", counted)
    ctx = BucketContext(
        as_of=at.date(),
        prev_date=at.date() - timedelta(days=7),
        todo=(at.date(),),
        reused=frozenset(),
        name="t",
        start=start,
        data_as_of=at,
        activity_start=start,
        label=LabelConfig(),
        features=cfg,
        score=ScoreConfig(),
        value=ValueConfig(),
        rules=RulesConfig(enabled=["usage_drop"]),
        names=names,
        events_start=start,
    )
    own = bucket_usage_ratios(bucket, features, ctx)
    assert len(reads) == 1  # both weeks read one start (it was read for each)
    handed = bucket_usage_ratios(bucket, features, replace(ctx, usage_start=driver.usage_start))
    assert len(reads) == 1 and handed.equals(own)


@pytest.mark.parametrize(("events_after", "from_events"), [(30, True), (3, False), (None, False)])
def test_the_driver_reads_the_usage_windows_start_from_the_dates_as_a_dataset_does(
    events_after, from_events
) -> None:
    """The driver holds the whole dataset's dates, no table: it reads the usage windows' start from them
    (contract.dataset.usage_windows_start) as Dataset.usage_windows_from reads it from a dataset's tables: a usage
    log begun 30 days after the first payment from its first event, one begun 3 days after (or none) from the
    first activity."""
    from types import SimpleNamespace

    from churnml.contract.dataset import Dataset, usage_windows_start
    from churnml.jobs.score_spark import _context

    start, at = datetime(2026, 6, 1), datetime(2026, 12, 7)
    first_event = None if events_after is None else start + timedelta(days=events_after)
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["f"], "created_at": [start]}),
        Table.PAYMENTS: pl.DataFrame({"client_id": ["f"], "amount": [10.0], "paid_at": [start]}),
    }
    if first_event is not None:
        tables[Table.EVENTS] = pl.DataFrame({"client_id": ["f"], "ts": [first_event], "event": ["login"]})
    dates = {
        "start": start,
        "data_as_of": at,
        "activity_start": start,
        "events_start": first_event,
        "contact_start": None,
        "payments_start": start,
        "terms_start": None,
    }
    plan = SimpleNamespace(todo=[at.date()], reused=[])
    driver = _context(at.date(), plan, "t", dates, SimpleNamespace(feature_names_=[]), load_config(None))
    expected = (first_event if from_events else start).date()
    assert driver.usage_start == expected
    assert usage_windows_start(start, first_event).date() == expected
    assert Dataset(tables, "t", start, at).usage_windows_from().date() == expected
