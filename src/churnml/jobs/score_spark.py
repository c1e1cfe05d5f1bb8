"""``churnml score --engine spark`` (or ``features.engine: spark``): the weekly list on Apache Spark.

What runs where:

- **executors, Spark SQL**: reading the Parquet files (``spark.read.parquet``), the contract checks, the
  time bounds, the events the list reads (:func:`churnml.scoring.spark.scoring_events`: the scoring
  window whole, a predicate pushed into the scan, and of the older rows only those the features carry:
  each client's last event, last login, last export and its first weeks, and with ``label.activity_events``
  its last activity, :func:`with_last_activities`), and cutting every table into
  client buckets (:func:`churnml.scoring.spark.bucket_blobs`, a shuffle);
- **executors, Python tasks** (``mapInPandas``, one client bucket at a time, the Polars code of
  ``churnml score``; :mod:`churnml.scoring.spark_buckets`): pass 1, the events the features read and
  the portfolio view of the events (as :mod:`churnml.jobs.score_data` cuts them for a client batch), the
  active spine and the features of every history snapshot (:func:`churnml.features.build_features` on
  Polars, with the whole dataset's dates), kept as blobs; pass 2, probabilities, health history, value,
  keep flags, rules, zones, CRM views, TreeSHAP drivers and why-changed;
- **driver**: loading the model, the portfolio-wide steps on the small per-client result (reference
  levels and drift from this week's features, collected after pass 1, and the portfolio's usage ratio
  from the clients' ratios of pass 1, both shipped to pass 2; value tiers, priorities, actions,
  column order), who left since the last list written (:func:`left_clients_dataset`: those clients' rows
  collected for :func:`churnml.jobs.score.left_since_last_list`), each table's rhythm from its record days
  (:func:`record_days`, :func:`rhythm_spans`: stale tables judged as on Polars), the report and the
  manifest, and writing the list folder (scores.parquet, scores.csv,
  history.parquet, report.html, manifest.json) atomically, as ``churnml score`` does.

Nothing of the features runs in Spark SQL any more: the Narwhals feature code planned on Spark (a long
chain of window operators over the client x week grid) took 475 s of a 656 s run on 10k clients;
``churnml features --engine spark`` still runs it (:mod:`churnml.features.build`).

The session is the running one, else a new one (:func:`spark_session`): under ``spark-submit`` on the master
it gives, from a shell a local ``local[2]`` with 4 GB of driver memory (``churnml score --spark-master``,
``--spark-driver-memory`` choose others); session time zone UTC (the contract's timestamps are naive UTC).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from churnml.config import Config, config_hash, history_hash
from churnml.contract.schemas import (
    ACTIVITY_TABLES,
    CLIENT_ID,
    CONTRACT,
    REQUIRED_TABLES,
    SNAPSHOT,
    Communications,
    Events,
    Subscriptions,
    Table,
    Tickets,
)
from churnml.jobs.common import Timer, UserError, config_for, data_folder

__all__ = [
    "CLIENTS_PER_BUCKET",
    "DRIVER_MEMORY",
    "LOCAL_MASTER",
    "empty_spark_columns",
    "events_read_note",
    "java_problem",
    "left_clients_dataset",
    "nanosecond_columns",
    "off_the_list",
    "record_days",
    "rhythm_spans",
    "score_on_spark",
    "spans_from_bounds",
    "spark_parquet",
    "spark_session",
    "with_last_activities",
]

# clients per bucket of the executors' per-client pass (a bucket's rows of every table are one task's input)
CLIENTS_PER_BUCKET = 2000
# the session churnml starts when none runs (churnml score --spark-master, --spark-driver-memory)
LOCAL_MASTER = "local[2]"
DRIVER_MEMORY = "4g"


def spark_session(master: str | None = None, driver_memory: str | None = None) -> Any:
    """The active Spark session (its master and memory as they are), else a new one: ``master`` (``churnml score
    --spark-master``; default :data:`LOCAL_MASTER`, or under ``spark-submit`` the master it was given),
    ``driver_memory`` (``--spark-driver-memory``; default :data:`DRIVER_MEMORY`), UTC, quiet logs.
    Python workers run this interpreter (``PYSPARK_PYTHON``) so that they import the same churnml.
    Without pyspark, or when Spark cannot start its Java runtime, a :class:`UserError` says what to install."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UserError(
            "--engine spark needs pyspark, which is not installed in this environment: "
            "pip install 'churnml[spark]' (and a Java 17+ runtime), or score without --engine spark"
        ) from None

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    active = SparkSession.getActiveSession()
    if active is not None:
        active.conf.set("spark.sql.session.timeZone", "UTC")
        return active
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.appName("churnml-score")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", driver_memory or DRIVER_MEMORY)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # PySpark's DataFrame debugging records each column expression's Python call site in the JVM: several
        # py4j round trips per expression, a tenth of the feature build's time; an error still names its plan
        .config("spark.python.sql.dataFrameDebugging.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
    )
    # under spark-submit (a gateway is already running) the master comes from spark-submit unless given
    if master is not None or "PYSPARK_GATEWAY_PORT" not in os.environ:
        builder = builder.master(master or LOCAL_MASTER)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # pyspark raises PySparkRuntimeError (JAVA_GATEWAY_EXITED) without a usable JVM
        if "JAVA_GATEWAY_EXITED" not in str(exc) and "Java gateway" not in str(exc):
            raise
        raise UserError(java_problem(os.environ.get("JAVA_HOME"), shutil.which("java"))) from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def java_problem(java_home: str | None, java_on_path: str | None) -> str:
    """Why Spark could not start its Java runtime, and what to do, from ``JAVA_HOME`` and the ``java``
    found on the PATH (None when absent)."""
    if not java_home and not java_on_path:
        where = "no Java runtime was found (JAVA_HOME is not set and no java is on the PATH)"
    else:
        where = f"the Java runtime at {java_home or java_on_path} did not start Spark's gateway"
    return (
        f"Spark could not start: {where}. pyspark 4 needs Java 17 or 21: install one (e.g. "
        "apt install openjdk-17-jre-headless) and set JAVA_HOME to it, check `java -version`, or score "
        "without --engine spark"
    )


def read_spark_tables(
    session: Any, folder: Path, cfg: Config
) -> tuple[dict[Table, Any], dict[str, dict[str, int]]]:
    """Every table of ``folder`` read by Spark and checked against the contract (contract types and
    columns), ``clients.created_at`` repaired as :func:`churnml.contract.io.read_dataset` does, money in
    score.currency (``data.currency_rates``), and the repairs made (``{table: {problem: rows}}``)."""
    from churnml.contract.io import dataset_files
    from churnml.contract.validation import CREATED_REPAIR, PLAUSIBLE_FROM, ContractError
    from churnml.scoring.spark import (
        checked_spark_references,
        repaired_contract_frame,
        spark_created_repaired,
    )

    files = dataset_files(folder)
    for table in REQUIRED_TABLES:
        if table not in files:
            raise ContractError(str(table), f"required table missing: no {table}.parquet in {folder}")
    if not any(t in files for t in ACTIVITY_TABLES):
        raise ContractError("events", f"no activity table in {folder}")
    text = [p.name for p in files.values() if p.suffix != ".parquet"]
    if text:
        raise UserError(
            f"the Spark engine reads Parquet only: write {text} as Parquet beside them (e.g. "
            "pl.read_csv(path).write_parquet(...), then remove the CSV: one file per table) or score with Polars"
        )
    from churnml.contract.io import as_of_limit

    limit = as_of_limit(cfg.data)
    read = {
        t: repaired_contract_frame(
            spark_parquet(session, p),
            t,
            limit,
            cfg.data.max_examples,
            cfg.data.early_renewal_share,
            cfg.data.timezone,
            cfg.data.pause_products,
            cfg.data.currency_rates,
        )
        for t, p in files.items()
    }
    tables = {t: frame for t, (frame, _) in read.items()}
    repairs = {str(t): dict(fixed) for t, (_, fixed) in read.items() if fixed}
    checked_spark_references(tables, cfg.data.max_examples)
    plausible = datetime(PLAUSIBLE_FROM.year, PLAUSIBLE_FROM.month, PLAUSIBLE_FROM.day)
    repaired, moved = spark_created_repaired(tables, plausible)
    if moved:
        repairs.setdefault(str(Table.CLIENTS), {})[CREATED_REPAIR] = moved
    return repaired, repairs


def nanosecond_columns(path: Path) -> list[str]:
    """The columns of a Parquet file stored as nanosecond timestamps (pandas writes its ``datetime64[ns]``
    so), read from the file's footer: Spark refuses them ("Illegal Parquet type: INT64
    (TIMESTAMP(NANOS,false))")."""
    import polars as pl

    schema = pl.read_parquet_schema(path)
    return [c for c, kind in schema.items() if isinstance(kind, pl.Datetime) and kind.time_unit == "ns"]


def spark_parquet(session: Any, path: Path) -> Any:
    """The Parquet file ``path`` as a Spark frame; nanosecond timestamps (:func:`nanosecond_columns`) are
    read as whole numbers (``spark.sql.legacy.parquet.nanosAsLong``) and turned into microsecond
    timestamps (the sub-microsecond digits dropped, as the Polars read does); the other columns as stored."""
    from pyspark.sql import functions as F

    nanos = nanosecond_columns(path)
    if nanos:
        session.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    frame = session.read.parquet(str(path))
    for col in nanos:
        frame = frame.withColumn(col, F.expr(f"timestamp_micros(`{col}` div 1000)"))
    return frame


def _plausible_first(columns: Iterable[Mapping[str, Any]]) -> Any:
    """The earliest ``min_plausible`` of the columns' bounds, else (no column holds a date from 1971 on) the
    earliest ``min``; None without any: :func:`churnml.contract.dataset.plausible_first` on the bounds."""
    bounds = list(columns)
    late = [v["min_plausible"] for v in bounds if v.get("min_plausible") is not None]
    every = [v["min"] for v in bounds if v.get("min") is not None]
    return min(late) if late else (min(every) if every else None)


def _dates(bounds: Mapping[str, Any], cfg: Config, as_of: date | None) -> dict[str, Any]:
    """The dataset's dates from the time bounds (as :func:`churnml.contract.io.read_dataset` and
    :class:`~churnml.contract.dataset.Dataset` define them): start, as_of, first activity, the scoring day."""
    from churnml.contract.dataset import NOT_ACTIVITY
    from churnml.contract.validation import data_last, midnight_after

    cols = {k: v for k, v in bounds.items() if "." in k}
    # as Dataset.first_activity, events_first, contact_first, payments_first and terms_first read them: churns, interventions and clients
    # are no activity (NOT_ACTIVITY), dates before 1971 (placeholders) are left out unless no column holds a
    # later one
    not_activity = tuple(f"{t}." for t in NOT_ACTIVITY)
    acts = {k: v for k, v in cols.items() if not k.startswith(not_activity)}
    others = {
        k: v for k, v in cols.items() if k.startswith(not_activity) and not k.startswith(f"{Table.CLIENTS}.")
    }
    known = [v for v in cols.values() if v.get("min") is not None]
    if not known:
        raise UserError("no timestamps found in any table")
    # as validation.timestamp_span: the first plausible activity, else the first plausible churn or
    # intervention, else the first timestamp of all
    lows, other_lows = (
        [v["min_plausible"] for v in part.values() if v.get("min_plausible") is not None]
        for part in (acts, others)
    )
    start = min(lows or other_lows or [v["min"] for v in known])
    last = data_last({k: v.get("max") for k, v in cols.items()})
    data_as_of = midnight_after(cfg.data.as_of if cfg.data.as_of is not None else last)
    contacts = [
        cols[key]
        for key in (f"{Table.COMMUNICATIONS}.{Communications.TS}", f"{Table.TICKETS}.{Tickets.OPENED_AT}")
        if key in cols
    ]
    events = [cols[key]] if (key := f"{Table.EVENTS}.{Events.TS}") in cols else []
    payments = [v for k, v in cols.items() if k.startswith(f"{Table.PAYMENTS}.")]
    terms = [cols[key]] if (key := f"{Table.SUBSCRIPTIONS}.{Subscriptions.START_DATE}") in cols else []
    first_activity = _plausible_first(acts.values())
    return {
        "start": start,
        "data_as_of": data_as_of,
        "activity_start": first_activity if first_activity is not None else start,
        "events_start": _plausible_first(events),
        "contact_start": _plausible_first(contacts),
        "payments_start": _plausible_first(payments),
        "terms_start": _plausible_first(terms),
        "day": as_of or data_as_of.date(),
    }


def _union(frames: list[Any]) -> Any:
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out


def _persisted(frame: Any) -> Any:
    """``frame`` computed now and kept (memory, spilling to disk): later passes reuse it."""
    from pyspark import StorageLevel

    kept = frame.persist(StorageLevel.MEMORY_AND_DISK)
    kept.count()
    return kept


def _week_features(passed: Any) -> pl.DataFrame:
    """This week's feature rows (one per listed client, sorted by client_id) of the feature pass, collected
    to the driver: the portfolio's reference levels and drift are computed from them."""
    from pyspark.sql import functions as F

    from churnml.scoring.spark import BLOB, KIND, frame_of_blob
    from churnml.scoring.spark_buckets import NOW

    rows = passed.filter(F.col(KIND) == NOW).select(BLOB).collect()
    if not rows:
        return pl.DataFrame()
    return pl.concat([frame_of_blob(r[BLOB]) for r in rows], how="vertical_relaxed").sort(CLIENT_ID)


def _usage_ratios(passed: Any) -> pl.DataFrame:
    """Every listed client's usage ratios this week and last week (``[client_id, snapshot, _ratio, _recent,
    _usual]``,
    :func:`churnml.scoring.spark_buckets.bucket_usage_ratios`) of the feature pass, collected to the driver:
    the portfolio's ratio ``usage_drop`` reads in every bucket (:func:`churnml.scoring.rules.portfolio_usage_ratio`:
    their median, when the portfolio's total use fell too)."""
    from pyspark.sql import functions as F

    from churnml.scoring.spark import BLOB, KIND, frame_of_blob
    from churnml.scoring.spark_buckets import RATIOS

    rows = passed.filter(F.col(KIND) == RATIOS).select(BLOB).collect()
    schema = {
        CLIENT_ID: pl.String,
        SNAPSHOT: pl.Date,
        "_ratio": pl.Float64,
        "_recent": pl.Float64,
        "_usual": pl.Float64,
    }
    return pl.concat(
        [pl.DataFrame(schema=schema), *(frame_of_blob(r[BLOB]) for r in rows)], how="vertical_relaxed"
    ).sort(CLIENT_ID, SNAPSHOT)


def _shipped(tables: Mapping[Table, Any], ctx: Any, known_ids: Any = None) -> dict[Table, Any]:
    """The tables as the client buckets get them: the events, when ``ctx.windowed``, only those of
    :func:`churnml.scoring.spark.scoring_events` (the scoring window whole, a few older rows per client);
    every other table whole. With weeks reused from last week's file (``ctx.reused``), a client not in it
    (``known_ids``, a Spark frame of its ``client_id``: a client back after a churn is scored at those weeks
    too, :func:`churnml.scoring.assemble.listed_spine`) gets the window of every history week."""
    from churnml.scoring.spark import scoring_events
    from churnml.scoring.window import events_read_whole_from, scoring_window

    if not ctx.windowed:
        return dict(tables)
    events, clients = tables[Table.EVENTS], tables[Table.CLIENTS]

    def shipped(rows: Any, weeks: list[date]) -> Any:
        window = scoring_window(ctx.as_of, weeks, ctx.features)
        start = events_read_whole_from(window, ctx.as_of, ctx.score, ctx.rules)
        out = scoring_events(rows, clients, start, window.end, ctx.features)
        return with_last_activities(out, rows, start, ctx.label.activity_events)

    if not ctx.reused or known_ids is None:
        return {**tables, Table.EVENTS: shipped(events, list(ctx.todo))}
    on_file = events.join(known_ids, on=CLIENT_ID, how="left_semi")
    others = events.join(known_ids, on=CLIENT_ID, how="left_anti")
    wide = shipped(others, [*ctx.todo, *ctx.reused])
    return {**tables, Table.EVENTS: shipped(on_file, list(ctx.todo)).unionByName(wide)}


def with_last_activities(
    shipped: Any, events: Any, start: datetime, activity_events: Iterable[str] | None
) -> Any:
    """``shipped`` (the events :func:`churnml.scoring.spark.scoring_events` ships from ``start`` on, and a few
    older rows) with each client's rows at its last event of ``activity_events`` (``label.activity_events``)
    before ``start`` that it lacks: the last activity the buckets' portfolio view marks
    (:func:`churnml.scoring.window.event_marks`), as the Polars path reads it from the whole file. The added
    rows carry no other mark, so the features' events (:func:`churnml.scoring.window.needed_events`) leave
    them out. ``activity_events`` None (every event is activity: the last event is shipped) or empty:
    ``shipped``."""
    from pyspark.sql import functions as F

    names = list(activity_events or [])
    if not names:
        return shipped
    ts, low = F.col(Events.TS), F.lit(start).cast("timestamp_ntz")
    old = events.filter((ts < low) & F.col(Events.EVENT).isin(*names))
    last = old.groupBy(CLIENT_ID).agg(F.max(ts).alias("_last_activity"))
    rows = old.join(last, on=CLIENT_ID).filter(ts == F.col("_last_activity")).select(*events.columns)
    # a row shipped already (the last event, login or export, the first weeks) is not shipped twice
    return shipped.unionByName(rows.exceptAll(shipped.filter(ts < low)))


def _known_ids(session: Any, known: pl.DataFrame) -> Any:
    """The clients of last week's reused history rows, a Spark frame of ``client_id``."""
    ids = known.select(pl.col(CLIENT_ID).cast(pl.String)).unique().get_column(CLIENT_ID).to_list()
    return session.createDataFrame([(c,) for c in ids], schema=f"{CLIENT_ID} string")


def _known_blobs(session: Any, known: pl.DataFrame, buckets: int) -> Any | None:
    """Last week's reused history rows, cut into the client buckets (None when nothing is reused)."""
    from churnml.scoring.spark import bucket_blobs
    from churnml.scoring.spark_buckets import KNOWN

    if known.height == 0:
        return None
    from churnml.scoring.outputs import History

    cols = [History.CLIENT_ID, History.SNAPSHOT, History.PROBABILITY, History.HEALTH]
    rows = known.select(cols).with_columns(pl.col(SNAPSHOT).cast(pl.Date)).rows()
    schema = f"{cols[0]} string, {cols[1]} date, {cols[2]} double, {cols[3]} double"
    frame = session.createDataFrame(rows, schema=schema)
    return bucket_blobs(frame, KNOWN, buckets)


def _collected(
    results: list[Any], ctx: Any, values_now: Any, metadata: Mapping[str, Any], cfg: Config
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, float], dict[str, float], dict[str, str]]:
    """(list, history, PSI, drifted features, shifts expected by construction) from the executors' blobs: the
    portfolio-wide steps."""
    from churnml.scoring.assemble import drift_verdict
    from churnml.scoring.spark import BLOB, KIND, frame_of_blob
    from churnml.scoring.spark_buckets import HISTORY, LIST, assembled_scores

    lists = [frame_of_blob(r[BLOB]) for r in results if r[KIND] == LIST]
    history = pl.concat([frame_of_blob(r[BLOB]) for r in results if r[KIND] == HISTORY]).sort(
        CLIENT_ID, SNAPSHOT
    )
    scores = assembled_scores(
        lists,
        ctx.as_of,
        label=cfg.label,
        score=cfg.score,
        value=cfg.value,
        playbooks=cfg.playbooks,
        data_start=ctx.start,
    )
    psi, drifted, expected = drift_verdict(
        values_now, list(ctx.names), metadata, cfg.score.drift_psi, ctx.as_of
    )
    return scores, history, psi, drifted, expected


def scored_on_spark(
    session: Any,
    tables: Mapping[Table, Any],
    ctx: Any,
    known: pl.DataFrame,
    metadata: Mapping[str, Any],
    cfg: Config,
    timer: Timer,
    step: Callable[[str], None],
    rows_in_file: int | None = None,
) -> tuple[Any, dict[str, Any] | None]:
    """(the :class:`~churnml.scoring.assemble.ScoredList` of ``ctx.as_of`` from the checked Spark tables, what
    was read of the events: the manifest's ``data.read.events``, :func:`events_read_note`; None when the
    events are shipped whole, as the Polars path's eager read has none) (``ctx``: a
    :class:`~churnml.scoring.spark_buckets.BucketContext` with the model)."""
    from dataclasses import replace

    from pyspark.sql import functions as F

    from churnml.modeling.train import feature_matrix
    from churnml.scoring.assemble import (
        ScoredList,
        ScoringError,
        check_feature_match,
        missing_features,
        model_weight,
        nobody_active_message,
    )
    from churnml.scoring.explain import age_band_levels, reference_levels, registry_catalog
    from churnml.scoring.rules import portfolio_usage_ratio, usage_dip_note
    from churnml.scoring.spark import BLOB_SCHEMA, BUCKET, KIND, bucket_blobs
    from churnml.scoring.spark_buckets import (
        FEATURES,
        VIEW,
        driver_mailings,
        feature_partition,
        score_partition,
    )
    from churnml.scoring.window import scoring_window

    windowed = Table.EVENTS in tables and cfg.label.source == "subscriptions"
    # the mailings judged once on the whole portfolio, as the Polars path does (never within a bucket)
    mailings = driver_mailings(tables, cfg.rules)
    ctx = replace(ctx, present=tuple(str(t) for t in tables), windowed=windowed, mailings=mailings)
    n_clients = tables[Table.CLIENTS].count()
    n_events = rows_in_file if rows_in_file is not None else (tables[Table.EVENTS].count() if windowed else 0)
    buckets = max(2, math.ceil(n_clients / CLIENTS_PER_BUCKET))
    step(f"cutting the tables into {buckets} client buckets")
    done = timer.step("buckets")
    known_ids = _known_ids(session, known) if ctx.reused else None
    shipped = _shipped(tables, ctx, known_ids)
    blobs = _persisted(_union([bucket_blobs(frame, str(t), buckets) for t, frame in shipped.items()]))
    read = None
    if windowed:  # what the buckets got of the events, counted in the kept blobs
        weeks = [*ctx.todo, *(ctx.reused if known_ids is not None else ())]
        rows = _blob_rows(blobs, str(Table.EVENTS))
        read = events_read_note(n_events, rows, scoring_window(ctx.as_of, weeks, ctx.features), buckets)
    # last week's reused rows: the feature pass reads who has none (scored at the reused weeks too)
    known_blobs = _known_blobs(session, known, buckets)
    known_blobs = _persisted(known_blobs) if known_blobs is not None else None
    done()
    step(f"spine and features at {len(ctx.todo)} weekly snapshots, per client bucket")
    done = timer.step("features")
    passed = _persisted(
        _union([blobs, *([known_blobs] if known_blobs is not None else [])])
        .repartition(buckets, BUCKET)
        .mapInPandas(feature_partition(replace(ctx, model=None)), BLOB_SCHEMA)
    )
    now = _week_features(passed)
    if now.height == 0:
        raise ScoringError(
            nobody_active_message(booked_terms(tables, ctx.as_of), ctx.as_of, cfg.label.grace_days)
        )
    names = list(ctx.names)
    unknown = check_feature_match(names, [c for c in now.columns if c not in (CLIENT_ID, SNAPSHOT)])
    values_now = feature_matrix(now, names)
    # usage_drop reads every client against the whole portfolio's use, this week and last week (its
    # zones), not each bucket's: the median of every client's ratio (returns read in the buckets)
    ratios = _usage_ratios(passed)
    week_ratios = {day: ratios.filter(pl.col(SNAPSHOT) == day) for day in (ctx.as_of, ctx.prev_date)}
    ctx = replace(
        ctx,
        reference=reference_levels(values_now, names, registry_catalog(cfg.features)[0]),
        age_reference=age_band_levels(values_now, names),
        usage_ratios=(
            portfolio_usage_ratio(week_ratios[ctx.as_of]),
            portfolio_usage_ratio(week_ratios[ctx.prev_date]),
        ),
    )
    done()
    step("scores, rules and drivers on the executors")
    done = timer.step("score_explain")
    # windowed, the buckets' events are replaced by their portfolio view (what the scoring pass reads)
    tables_in = blobs.filter(F.col(KIND) != str(Table.EVENTS)) if windowed else blobs
    parts = [tables_in, passed.filter(F.col(KIND).isin(FEATURES, VIEW))]
    parts += [known_blobs] if known_blobs is not None else []
    results = (
        _union(parts).repartition(buckets, BUCKET).mapInPandas(score_partition(ctx), BLOB_SCHEMA).collect()
    )
    done()
    step("value tiers, priorities and actions")
    done = timer.step("assemble")
    scores, history, psi, drifted, expected = _collected(results, ctx, values_now, metadata, cfg)
    done()
    for frame in (passed, blobs):
        frame.unpersist()
    weight = model_weight(ctx.model, drifted)
    missing = missing_features(values_now, list(ctx.names), metadata)
    # the portfolio's use against its usual: the ratio the buckets' usage_drop read
    dip = usage_dip_note(week_ratios[ctx.as_of], cfg.rules)
    scored = ScoredList(
        ctx.as_of,
        scores,
        history,
        psi,
        drifted,
        dict(timer.seconds),
        tuple(ctx.todo),
        weight,
        missing,
        unknown,
        dip,
        expected_drift=expected,
    )
    return scored, read


def booked_terms(tables: Mapping[Table, Any], as_of: date) -> pl.DataFrame | None:
    """The terms (``client_id``, ``start_date``, ``end_date``) of the clients with a term starting on or after
    ``as_of`` in the Spark subscriptions table, collected to the driver: what
    :func:`churnml.scoring.assemble.nobody_active_message` reads to say who is booked after a gap. None
    without a subscriptions table."""
    from pyspark.sql import functions as F

    terms = tables.get(Table.SUBSCRIPTIONS)
    if terms is None:
        return None
    cut = datetime(as_of.year, as_of.month, as_of.day)
    columns = [CLIENT_ID, Subscriptions.START_DATE, Subscriptions.END_DATE]
    booked = (
        terms.where(F.col(Subscriptions.START_DATE) >= F.lit(cut).cast("timestamp_ntz"))
        .select(CLIENT_ID)
        .distinct()
    )
    rows = terms.join(booked, on=CLIENT_ID, how="left_semi").select(*columns).collect()
    schema = {
        CLIENT_ID: pl.String,
        Subscriptions.START_DATE: pl.Datetime("us"),
        Subscriptions.END_DATE: pl.Datetime("us"),
    }
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def _blob_rows(blobs: Any, kind: str) -> int:
    """The rows packed in the blobs of ``kind`` (:func:`churnml.scoring.spark.bucket_blobs`): one small pass
    over the kept blobs, each read for its ``client_id`` column only."""
    import io

    import pyarrow as pa
    from pyspark.sql import functions as F

    from churnml.scoring.spark import BLOB, KIND

    def counted(batches: Iterable[Any]) -> Iterable[Any]:
        for batch in batches:
            blobs_ = batch.column(0).to_pylist()
            n = sum(pl.read_ipc(io.BytesIO(b), columns=[CLIENT_ID]).height for b in blobs_)
            yield pa.RecordBatch.from_pydict({"rows": pa.array([n], pa.int64())})

    total = (
        blobs.filter(F.col(KIND) == kind).select(BLOB).mapInArrow(counted, "rows long").agg(F.sum("rows"))
    ).collect()[0][0]
    return int(total or 0)


def events_read_note(rows_in_file: int, rows_read: int, window: Any, buckets: int) -> dict[str, Any]:
    """The manifest's ``data.read.events`` of a Spark run, in the fields of the Polars run's
    (:meth:`churnml.jobs.score_data.EventReads.note`): the rows of the file, the rows shipped to the client
    buckets (``rows_read``: the scoring ``window``, a :class:`~churnml.scoring.window.ScoringWindow`, and
    the rows carried from before it), the rest skipped, the client buckets (``client_batches``); nothing is
    spilled to a scratch folder (``spilled_rows``, ``spilled_mb``: null; Spark spills on its own)."""
    return {
        "rows_in_file": rows_in_file,
        "rows_read": rows_read,
        "rows_skipped": rows_in_file - rows_read,
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "client_batches": buckets,
        "spilled_rows": None,
        "spilled_mb": None,
    }


def empty_spark_columns(bounds: Mapping[str, Any]) -> list[str]:
    """:func:`churnml.contract.validation.empty_optional_columns` of the Spark tables, sorted: ``table.column``
    of every optional contract column without a value in a table with rows, read from the tables'
    :func:`~churnml.scoring.spark.time_bounds` (``rows`` and ``filled``: no Spark job of its own)."""
    out = [
        f"{table}.{column}"
        for table, entry in bounds.items()
        if "." not in table and entry["rows"]
        for column, values in entry["filled"].items()
        if values == 0
    ]
    return sorted(out)


def _spark_manifest(
    result: Any,
    bounds: Mapping[str, Any],
    dates: Mapping[str, Any],
    checksums: Mapping[str, str],
    meta: Mapping[str, Any],
    files: Mapping[str, bytes],
    reused: int,
    cfg: Config,
    name: str,
    repairs: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Any]:
    """``manifest.json`` of a list scored on Spark: :func:`churnml.scoring.assemble.list_manifest` over the
    Spark tables' facts (row counts, checksums, the last timestamp before the as-of date, ``repairs``),
    plus the dataset the model learned from (``model.trained_on``, ``meta["trained_on"]``) and the engine."""
    from types import SimpleNamespace

    from churnml.contract.dataset import RepairLog
    from churnml.scoring.assemble import list_manifest
    from churnml.scoring.outputs import MARKER

    # one row per table holding each time column's last value before the as-of date: what
    # last_data_before reads of the full tables
    last = {
        Table(t): pl.DataFrame(
            {c: [bounds[f"{t}.{c}"].get("max_before")] for c in CONTRACT[Table(t)].time_columns},
            schema={c: pl.Datetime("us") for c in CONTRACT[Table(t)].time_columns},
        )
        for t in (k for k in bounds if "." not in k)
    }
    facts = SimpleNamespace(
        name=name,
        tables=last,
        checksums=dict(checksums),
        repairs=RepairLog(dict(repairs or {})),
        row_counts=lambda: {t: v["rows"] for t, v in bounds.items() if "." not in t},
    )
    manifest = list_manifest(
        result,
        dataset=facts,
        model_version=meta["version"],
        model_source=meta["source"],
        config_hash=meta["config_hash"],
        drift_psi=cfg.score.drift_psi,
        files=dict(files),
        history_reused=reused,
        timings=result.timings,
    )
    manifest["model"]["trained_on"] = meta.get("trained_on")
    return {**manifest, "history_hash": history_hash(cfg), "engine": "spark", "written_by": MARKER}


def _windows_before_logs(
    result: Any, dates: Mapping[str, Any], spans: Mapping[str, Any], cfg: Config, name: str
) -> list[dict[str, Any]]:
    """The manifest's ``data.windows_before_logs`` on Spark: :func:`churnml.features.build.windows_before_logs` of
    the features missing now, read against the whole dataset's dates (the buckets' own, :func:`_dates`) and the
    tables' first records (``spans``), as the Polars job reads them."""
    from churnml.contract.dataset import Dataset
    from churnml.features.build import windows_before_logs

    dataset = Dataset(
        {},
        name,
        dates["start"],
        dates["data_as_of"],
        activity_start=dates["activity_start"],
        events_start=dates["events_start"],
        contact_start=dates["contact_start"],
        payments_start=dates["payments_start"],
        terms_start=dates["terms_start"],
    )
    firsts = {t: s.get("first") for t, s in spans.items()}
    return windows_before_logs(result.missing_now, result.as_of, dataset, cfg.features, firsts)


def _bounds(tables: Mapping[Table, Any], cfg: Config, as_of: date | None) -> dict[str, Any]:
    """:func:`churnml.scoring.spark.time_bounds` with ``max_before`` the last value before the scoring day
    (when the day is the default, the day after the last data, every value)."""
    from churnml.contract.validation import PLAUSIBLE_FROM, midnight_after
    from churnml.scoring.spark import time_bounds

    cut = (
        datetime.combine(as_of, datetime.min.time())
        if as_of
        else (midnight_after(cfg.data.as_of) if cfg.data.as_of else None)
    )
    plausible = datetime(PLAUSIBLE_FROM.year, PLAUSIBLE_FROM.month, PLAUSIBLE_FROM.day)
    bounds = time_bounds(tables, plausible, cut)
    if cut is None:  # the day after the last data: every timestamp is before it
        bounds = {k: {**v, "max_before": v.get("max")} if "." in k else v for k, v in bounds.items()}
    return bounds


def _context(day: date, plan: Any, name: str, dates: Mapping[str, Any], fitted: Any, cfg: Config) -> Any:
    """The :class:`~churnml.scoring.spark_buckets.BucketContext` every executor task gets."""
    from churnml.contract.dataset import usage_windows_start
    from churnml.scoring.spark_buckets import BucketContext

    ctx = BucketContext(
        as_of=day,
        prev_date=day - timedelta(weeks=1),
        todo=tuple(plan.todo),
        reused=frozenset(plan.reused),
        name=name,
        start=dates["start"],
        data_as_of=dates["data_as_of"],
        activity_start=dates["activity_start"],
        events_start=dates["events_start"],
        contact_start=dates["contact_start"],
        payments_start=dates["payments_start"],
        terms_start=dates["terms_start"],
        label=cfg.label,
        features=cfg.features,
        score=cfg.score,
        value=cfg.value,
        rules=cfg.rules,
        model=fitted,
        names=tuple(fitted.feature_names_),
        # how early a renewal booked ahead may start, as the Polars path reads bookings (it was the 0.25 default)
        early_renewal_share=cfg.data.early_renewal_share,
        # the day the usage windows are observed from, read once here from the whole dataset's dates (as every
        # bucket's dataset holds them, spark_buckets.bucket_dataset) as the Polars list reads it once
        usage_start=usage_windows_start(dates["activity_start"], dates["events_start"]).date(),
    )
    return ctx


def score_on_spark(
    data: Path | None,
    cfg: Config,
    as_of: date | None,
    out: Path | None,
    model: str | None,
    progress: Callable[[str], None] | None = None,
    session: Any = None,
    master: str | None = None,
    driver_memory: str | None = None,
) -> Any:
    """``churnml score --engine spark``: the list of :func:`churnml.jobs.score.score`, computed on Spark
    (what runs where: module docstring); returns a :class:`churnml.jobs.score.ScoreRun`. ``session``: the
    Spark session to use, else :func:`spark_session` of ``master`` and ``driver_memory``, started once the
    model is loaded."""
    from churnml.contract.io import dataset_files, file_checksum
    from churnml.contract.io import dataset_name as name_of_dataset
    from churnml.contract.validation import empty_short_windows, lagging_tables
    from churnml.jobs.reports import page_links
    from churnml.jobs.score import (
        UNDATED,
        ScoreRun,
        _checked_settings,
        _last_week_notes,
        _list_files,
        _report,
        left_record,
        left_since_last_list,
        list_notes,
        missed_weeks_note,
        model_record,
        scoring_model,
    )
    from churnml.scoring.assemble import ScoringError, history_plan, model_version
    from churnml.scoring.outputs import (
        checked_list_of,
        checked_output_folder,
        checked_output_path,
        last_list_folder,
        previous_list,
        protected_folders,
        read_previous_history,
        write_scores_atomically,
    )

    if cfg.score.zones.method != "probability":
        raise UserError(
            "score.zones.method = capacity ranks the whole portfolio into zones: score it with Polars"
        )
    if cfg.data.churn_events:
        raise UserError(
            "data.churn_events is read by the Polars jobs only: on Spark, write those events into the churns "
            "table (client_id, churned_at) or score with Polars"
        )
    step = progress or (lambda _m: None)
    folder_in = data_folder(data, cfg)
    cfg = config_for(folder_in, cfg)
    dataset_name = name_of_dataset(folder_in, cfg.data)
    protected = protected_folders(folder_in)
    if out is not None:
        checked_output_path(out, protected)
        checked_output_folder(out)
    else:  # the default folder's place, refused before the model loads (its date comes with the data)
        checked_output_path(cfg.paths.scores / UNDATED, protected, "the list folder (paths.scores)")
    timer = Timer()
    # the model before Spark starts and reads: a missing or refused model is said first, as on Polars
    step("loading the model")
    done = timer.step("load_model")
    fitted, metadata, source = scoring_model(model, cfg, dataset_name)
    done()
    _checked_settings(metadata, cfg, source, folder_in)
    session = session or spark_session(master, driver_memory)
    step("reading and checking the tables (Spark)")
    done = timer.step("read_validate")
    tables, repairs = read_spark_tables(session, folder_in, cfg)
    bounds = _bounds(tables, cfg, as_of)
    done()
    dates = _dates(bounds, cfg, as_of)
    day = dates["day"]
    _check_lag(bounds, day, cfg.score.max_data_lag_days)
    version, chash = model_version(metadata), config_hash(cfg)
    folder = out if out is not None else checked_list_of(cfg.paths.scores / day.isoformat(), dataset_name)
    checked_output_path(folder, protected)
    checked_output_folder(folder)
    known = None
    last_week = last_list_folder(folder.parent, day, dataset_name)
    if version != "unknown":
        known = read_previous_history(last_week, version, history_hash(cfg), dataset_name)
    plan = history_plan(known, day, cfg.score.history_weeks)
    ctx = _context(day, plan, dataset_name, dates, fitted, cfg)
    try:
        result, read = scored_on_spark(
            session,
            tables,
            ctx,
            plan.known,
            metadata,
            cfg,
            timer,
            step,
            bounds.get(str(Table.EVENTS), {}).get("rows"),
        )
    except ScoringError as exc:
        raise UserError(str(exc)) from None
    step("writing the report")
    changed_model, rescored = _last_week_notes(last_week, version, result, day)
    notes = replace(
        list_notes(
            result,
            metadata,
            cfg,
            day,
            dataset_name,
            asked=model is not None,
            data_end=dates["data_as_of"].date(),
        ),
        model_change=changed_model,
        rescored=rescored,
        missed=missed_weeks_note(last_week, day),
    )
    links = page_links(folder, "report", cfg, dataset_name) if out is None else []
    # who left since the last list written: the Polars job's own steps, over the rows of those clients only
    previous = previous_list(folder.parent, day, dataset_name)
    gone = left_clients_dataset(tables, off_the_list(previous, result.scores), ctx, cfg)
    left = left_since_last_list(previous, result, gone, day, cfg)
    files = _list_files(result, _report(result, day, version, cfg, notes, links, left))
    reused = len(plan.reused)  # the weeks taken from last week's file (this week and last: scored afresh)
    checksums = {str(t): file_checksum(p) for t, p in dataset_files(folder_in).items()}
    meta = {"version": version, "source": source, "trained_on": metadata.get("dataset"), "config_hash": chash}
    manifest = _spark_manifest(result, bounds, dates, checksums, meta, files, reused, cfg, ctx.name, repairs)
    manifest["timings"] = {**timer.seconds, "total": timer.total()}
    manifest["model"] = model_record(manifest["model"], metadata, day)
    # each table judged by its own rhythm, as table_spans and lagging_tables judge it on Polars
    spans = rhythm_spans(spans_from_bounds(bounds, _last_end(bounds)), bounds, record_days(tables, day), day)
    lagging = lagging_tables(spans, day, cfg.score.max_data_lag_days)
    empty = empty_spark_columns(bounds)
    manifest["data"] = {
        **manifest.get("data", {}),
        "tables": spans,
        "lagging_tables": lagging,
        "events_lag_days_empty_windows": empty_short_windows(spans, day, min(cfg.features.windows)),
        "empty_optional_columns": empty,
        "features_missing_now": list(result.missing_now),
        "windows_before_logs": _windows_before_logs(result, dates, spans, cfg, ctx.name),
        **({"read": {str(Table.EVENTS): read}} if read is not None else {}),
    }
    manifest["left_since_last_list"] = left_record(left)
    files["manifest.json"] = (json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n").encode()
    changed = write_scores_atomically(folder, files)
    step("done")
    return ScoreRun(
        folder=folder,
        day=day,
        version=version,
        result=result,
        manifest=manifest,
        changed=changed,
        lagging=lagging,
        empty_columns=empty,
        dark_features=list(result.missing_now),
        timer=timer,
        notes=notes,
    )


def spans_from_bounds(
    bounds: Mapping[str, Any], last_end: date | datetime | None = None
) -> dict[str, dict[str, str | None]]:
    """:func:`churnml.contract.validation.table_spans`'s ``last_before_as_of`` per table, from the Spark
    time bounds (``"<table>.<column>"``: ``max_before``), and the subscriptions' ``last_end`` (the latest
    scheduled end of a term, not a time column of the bounds): what
    :func:`~churnml.contract.validation.lagging_tables` reads (a stale tickets export went unsaid)."""
    out: dict[str, dict[str, str | None]] = {}
    for table in (k for k in bounds if "." not in k):
        stats = [bounds.get(f"{table}.{c}", {}) for c in CONTRACT[Table(table)].time_columns]
        before = [_as_datetime(v["max_before"]) for v in stats if v.get("max_before") is not None]
        out[table] = {"last_before_as_of": max(before).isoformat() if before else None}
    if str(Table.SUBSCRIPTIONS) in out and last_end is not None:
        out[str(Table.SUBSCRIPTIONS)]["last_end"] = _as_datetime(last_end).isoformat()
    return out


def record_days(tables: Mapping[Table, Any], day: date) -> dict[str, list[date]]:
    """Per table: the days holding a record in any of its time columns before ``day``, from 1971 on
    (placeholders left out), sorted; one small Spark aggregate for every table (a day per table and row):
    what :func:`churnml.contract.validation.usual_gap_days` reads of a table's rhythm."""
    from pyspark.sql import functions as F

    from churnml.contract.validation import PLAUSIBLE_FROM

    cut = datetime(day.year, day.month, day.day)
    plausible = datetime(PLAUSIBLE_FROM.year, PLAUSIBLE_FROM.month, PLAUSIBLE_FROM.day)
    timed = {
        table: cols
        for table, frame in tables.items()
        if (cols := [c for c in CONTRACT[table].time_columns if c in frame.columns])
    }
    if not timed:
        return {}
    parts = [
        tables[table]
        .where((F.col(c) < F.lit(cut)) & (F.col(c) >= F.lit(plausible)))
        .select(F.lit(str(table)).alias("_table"), F.to_date(F.col(c)).alias("_day"))
        for table, cols in timed.items()
        for c in cols
    ]
    # a table whose time columns hold no day before ``day`` has none (as one aggregate per table said)
    out: dict[str, list[date]] = {str(table): [] for table in timed}
    for row in _union(parts).distinct().collect():
        out[row["_table"]].append(row["_day"])
    return {table: sorted(days) for table, days in sorted(out.items())}


def rhythm_spans(
    spans: Mapping[str, Mapping[str, Any]],
    bounds: Mapping[str, Any],
    days: Mapping[str, list[date]],
    day: date,
) -> dict[str, dict[str, Any]]:
    """:func:`spans_from_bounds` with what :func:`churnml.contract.validation.table_spans` adds on Polars:
    each table's ``first`` and ``last`` timestamp (from the bounds) and its rhythm, ``usual_gap_days``
    (:func:`~churnml.contract.validation.usual_gap_days` of its record days ``days``, :func:`record_days`;
    absent when too short to know), so that a table is called stale by its own rhythm, not by
    ``score.max_data_lag_days``, and the warning says the rhythm it was judged by."""
    from churnml.contract.validation import usual_gap_days

    out: dict[str, dict[str, Any]] = {}
    for table, span in spans.items():
        stats = [bounds.get(f"{table}.{c}", {}) for c in CONTRACT[Table(table)].time_columns]
        lows = [v["min"] for v in stats if v.get("min") is not None]
        highs = [v["max"] for v in stats if v.get("max") is not None]
        first, last = (min(lows) if lows else None), (max(highs) if highs else None)
        entry: dict[str, Any] = {
            "first": None if first is None else first.isoformat(),
            "last": None if last is None else last.isoformat(),
            **span,
        }
        times = pl.Series("t", [_as_datetime(d) for d in days.get(table, [])], dtype=pl.Datetime("us"))
        gap = usual_gap_days(times, day)
        if gap is not None:  # only a rhythm known is said
            entry["usual_gap_days"] = gap
        out[table] = entry
    return out


def off_the_list(previous: Path | None, scores: pl.DataFrame) -> list[str]:
    """The clients of the list in ``previous`` (its ``scores.parquet``) that are not on ``scores``, sorted;
    empty without a last list or when it does not read (the report then says nothing of it)."""
    if previous is None:
        return []
    try:
        before = pl.read_parquet(previous / "scores.parquet", columns=[CLIENT_ID])
    except (OSError, pl.exceptions.PolarsError):
        return []
    now = scores.get_column(CLIENT_ID).cast(pl.String).implode()
    gone = before.get_column(CLIENT_ID).cast(pl.String).filter(~before.get_column(CLIENT_ID).is_in(now))
    return sorted(gone.drop_nulls().unique().to_list())


def left_clients_dataset(tables: Mapping[Table, Any], ids: list[str], ctx: Any, cfg: Config) -> Any:
    """The dataset of the clients ``ids`` (the last list's clients not on this one), collected to the driver,
    for :func:`churnml.jobs.score.left_since_last_list`: their rows of the tables that say why a client left
    (churns, subscriptions; events and payments when a return or the inactivity label reads them: without a
    subscriptions table, or under ``label.source: inactivity``), every other table of the dataset present and
    empty (``label.source: auto`` is decided by the tables present), typed as the executors type theirs
    (:func:`churnml.scoring.spark_buckets.bucket_dataset`), with the whole dataset's dates."""
    from pyspark.sql import functions as F

    from churnml.labels import resolved_label
    from churnml.scoring.spark import BLOB, KIND, bucket_blobs
    from churnml.scoring.spark_buckets import bucket_dataset

    wanted = {Table.CHURNS, Table.SUBSCRIPTIONS}
    if Table.SUBSCRIPTIONS not in tables or resolved_label(cfg.label, tables).source == "inactivity":
        wanted |= {Table.EVENTS, Table.PAYMENTS}
    blobs: dict[str, list[bytes]] = {}
    if ids:
        for table in sorted(wanted & set(tables)):
            mine = tables[table].where(F.col(CLIENT_ID).isin(ids))
            for row in bucket_blobs(mine, str(table), 1).select(KIND, BLOB).collect():
                blobs.setdefault(row[KIND], []).append(row[BLOB])
    return bucket_dataset(blobs, replace(ctx, present=tuple(str(t) for t in tables)))


def _last_end(bounds: Mapping[str, Any]) -> date | datetime | None:
    """The latest scheduled end of a term in the Spark subscriptions table, from its
    :func:`~churnml.scoring.spark.time_bounds` (None without the table or a term)."""
    return bounds.get(str(Table.SUBSCRIPTIONS), {}).get("last_end")


def _as_datetime(value: date | datetime) -> datetime:
    """A Spark date or timestamp as a datetime (a date at midnight): Date columns of the bounds compare
    with timestamps."""
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


def _check_lag(bounds: Mapping[str, Any], day: date, max_lag_days: int) -> None:
    """:func:`churnml.scoring.assemble.check_data_lag` from the time bounds (client creation excluded)."""
    key = "max_before"
    cut = datetime(day.year, day.month, day.day)
    values = [
        v.get(key)
        for k, v in bounds.items()
        if "." in k and not k.startswith(f"{Table.CLIENTS}.") and v.get(key) is not None
    ]
    values = [v for v in values if v < cut]
    from churnml.scoring.assemble import no_data_message, stale_data_message

    if not values:
        raise UserError(no_data_message(day))
    last = max(values)
    lag = (cut - last).days
    if lag > max_lag_days:
        raise UserError(stale_data_message(last, lag, day, max_lag_days))
