"""The weekly list on Apache Spark: the pure Spark transformations (no paths, no session set-up).

The job (:mod:`churnml.jobs.score_spark`) reads the Parquet files with ``spark.read.parquet`` and runs:

1. :func:`contract_frame` / :func:`checked_spark_references` -- every table coerced to its contract
   types and checked against the contract (:mod:`churnml.contract.schemas`) as Spark expressions: required
   columns, values readable as their type, non-null ids, allowed values and bounds, unique keys, ordered
   columns, no timestamp after the as-of limit, client ids known to ``clients``. Errors are the Polars
   path's :class:`~churnml.contract.validation.ContractError` (table, column, problem, a few offending rows).
2. :func:`scoring_events` -- the events the list reads: the scoring window whole, a few older rows per
   client (those :func:`churnml.scoring.window.needed_events` may carry);
3. :func:`bucket_blobs` -- rows grouped by client bucket (``pmod(xxhash64(client_id), buckets)``) into
   one compressed Arrow IPC blob per (bucket, table): what the executors' per-client work reads
   (:mod:`churnml.scoring.spark_buckets`, run through ``mapInPandas``).

Grain: every frame keeps the grain of its table. The features are computed per client bucket by the
executors, with the Polars code of ``churnml score`` (:mod:`churnml.scoring.spark_buckets`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import polars as pl

from churnml.config import FeaturesConfig
from churnml.contract.schemas import (
    CLIENT_ID,
    CONTRACT,
    Clients,
    Kind,
    Payments,
    Subscriptions,
    Table,
)
from churnml.contract.validation import (
    DUPLICATE_INVOICE,
    NOT_ALLOWED,
    NULL_MARKERS,
    OVERLAPPING_TERMS,
    TIME_OFFSET,
    ContractError,
    duplicate_invoice_text,
    empty_value_problem,
    found_values_text,
    future_timestamp_problem,
    missing_columns_problem,
    unreadable_hint,
)

__all__ = [
    "BLOB_SCHEMA",
    "bucket_blobs",
    "checked_spark_references",
    "contract_frame",
    "frame_of_blob",
    "repaired_contract_frame",
    "scoring_events",
    "spark_created_repaired",
    "time_bounds",
]

BUCKET, KIND, BLOB = "bucket", "kind", "blob"
# the rows the executors exchange: one compressed Arrow IPC blob per (client bucket, table or result)
BLOB_SCHEMA = f"{BUCKET} int, {KIND} string, {BLOB} binary"


def _spark_type(kind: Kind) -> Any:
    from pyspark.sql import types as T

    return {
        Kind.STR: T.StringType(),
        Kind.DATETIME: T.TimestampNTZType(),
        Kind.FLOAT: T.DoubleType(),
        Kind.INT: T.LongType(),
        Kind.BOOL: T.BooleanType(),
    }[kind]


def _examples(frame: Any, mask: Any, columns: Iterable[str], limit: int) -> pl.DataFrame:
    """A few rows of ``frame`` where ``mask`` holds, as a Polars frame (Spark rows have no file order)."""
    shown = [c for c in dict.fromkeys([CLIENT_ID, *columns]) if c in frame.columns]
    rows = frame.filter(mask).select(*shown).limit(limit).collect()
    return pl.DataFrame([r.asDict() for r in rows], schema=shown, orient="row") if rows else pl.DataFrame()


def _converted(col: Any, source: Any, kind: Kind, timezone: str = "UTC") -> Any:
    """``col`` (of Spark type ``source``) in the contract type of ``kind``; null where unreadable. Times
    with an offset, and Spark's zoned timestamps (instants), become ``timezone``'s wall-clock time
    (``data.timezone``), as on Polars."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if isinstance(source, T.StringType):  # a null marker ("NULL", "N/A"...) is an empty cell, as on Polars
        col = F.when(~F.trim(col).isin(*NULL_MARKERS), col)
    if kind is Kind.STR:
        text = F.trim(col.cast("string"))
        return F.when(text != "", text)
    if kind is Kind.DATETIME:

        def local(instant: Any) -> Any:  # the session is UTC: shift the instant to the zone's wall clock
            shifted = instant if timezone == "UTC" else F.from_utc_timestamp(instant, timezone)
            return shifted.cast(T.TimestampNTZType())

        if isinstance(source, T.StringType):
            # through an instant: a UTC offset in the text is honoured (the session is UTC, as Polars
            # converts; a direct cast to TimestampNTZ dropped it: 10:00+01:00 read 10:00). Text without an
            # offset is read in the UTC session unchanged: already the zone's wall-clock time
            text = F.trim(col)
            instant = text.try_cast(T.TimestampType())
            if timezone == "UTC":
                return instant.cast(T.TimestampNTZType())
            return F.when(text.rlike(TIME_OFFSET), local(instant)).otherwise(
                instant.cast(T.TimestampNTZType())
            )
        if isinstance(source, T.TimestampType):
            return local(col)
        return col.try_cast(T.TimestampNTZType())
    if kind is Kind.BOOL and not isinstance(source, T.BooleanType):
        low = F.lower(F.trim(col.cast("string")))
        true, false = ("true", "t", "yes", "y", "1", "1.0"), ("false", "f", "no", "n", "0", "0.0")
        return F.when(low.isin(*true), F.lit(True)).when(low.isin(*false), F.lit(False))
    if kind is Kind.INT and not isinstance(source, T.IntegralType):
        as_float = col.try_cast("double")
        return F.when(as_float == F.round(as_float, 0), as_float.cast("bigint"))
    return col.try_cast(_spark_type(kind))


def _coerced(frame: Any, table: Table, timezone: str = "UTC") -> tuple[Any, Any, dict[str, Any]]:
    """(the table with every contract column in its contract type (absent optional ones as typed nulls),
    only contract columns, in contract order; the same with the original columns beside them as
    ``_orig_<name>``; per column, the mask of values that could not be read). Raises for a missing
    required column or timestamps stored as numbers."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    schema = CONTRACT[table]
    missing = [c for c in schema.required if c not in frame.columns]
    if missing:
        raise ContractError(str(table), missing_columns_problem(missing, frame.columns), missing[0])
    types = {f.name: f.dataType for f in frame.schema.fields}
    for spec in schema.columns:
        if spec.kind is Kind.DATETIME and isinstance(types.get(spec.name), T.NumericType):
            raise ContractError(
                str(table),
                f"timestamps stored as numbers ({types[spec.name].simpleString()}); churnml does not guess "
                "their unit: store them as Parquet timestamps or ISO 8601 text",
                spec.name,
            )

    def folded(value: Any, allowed: tuple[str, ...] | None) -> Any:
        """Allowed values written in another case ("Email") in the contract's, as on Polars."""
        if allowed is None:
            return value
        other = ~value.isin(*allowed) & F.lower(value).isin(*allowed)
        return F.when(other, F.lower(value)).otherwise(value)

    cols = [
        (
            folded(_converted(F.col(s.name), types[s.name], s.kind, timezone), s.allowed)
            if s.kind is Kind.STR
            else _converted(F.col(s.name), types[s.name], s.kind, timezone)
        ).alias(s.name)
        if s.name in types
        else F.lit(None).cast(_spark_type(s.kind)).alias(s.name)
        for s in schema.columns
    ]
    out = frame.select(*cols)
    bad = {
        s.name: F.col(f"_orig_{s.name}").isNotNull()
        & F.col(s.name).isNull()
        & ~F.trim(F.col(f"_orig_{s.name}").cast("string")).isin("", *NULL_MARKERS).eqNullSafe(True)
        for s in schema.columns
        if s.name in types
    }
    both = frame.select(*cols, *[F.col(n).alias(f"_orig_{n}") for n in bad])
    return out, both, bad


def _coercion_error(
    both: Any, table: Table, name: str, mask: Any, count: int, max_examples: int
) -> ContractError:
    from pyspark.sql import functions as F

    kind = CONTRACT[table].column(name).kind
    shown = both.filter(mask).withColumn(name, F.col(f"_orig_{name}").cast("string"))
    examples = _examples(shown, F.lit(True), [name], max_examples)
    values = examples.get_column(name).to_list() if name in examples.columns else []
    hint = unreadable_hint(kind, values)
    return ContractError(str(table), f"cannot read values as {kind.value}{hint}", name, examples, count)


def _column_rules(table: Table) -> list[tuple[str, str, Any, list[str]]]:
    """The contract's rules of single columns: required values, allowed values, bounds, finite floats."""
    from pyspark.sql import functions as F

    schema = CONTRACT[table]
    rules: list[tuple[str, str, Any, list[str]]] = []
    for spec in schema.columns:
        col = F.col(spec.name)
        if spec.required and not spec.nullable:
            rules.append((empty_value_problem(str(table), spec.name), spec.name, col.isNull(), [spec.name]))
        if spec.allowed is not None:
            rules.append(
                (
                    f"{NOT_ALLOWED} {list(spec.allowed)}",
                    spec.name,
                    col.isNotNull() & ~col.isin(*spec.allowed),
                    [spec.name],
                )
            )
        if spec.low is not None:
            rules.append((f"value below {spec.low:g}", spec.name, col < spec.low, [spec.name]))
        if spec.high is not None:
            rules.append((f"value above {spec.high:g}", spec.name, col > spec.high, [spec.name]))
        if spec.kind is Kind.FLOAT:
            rules.append(
                (
                    "value is NaN or infinite",
                    spec.name,
                    F.isnan(col) | (F.abs(col) == float("inf")),
                    [spec.name],
                )
            )
    return rules


def _rules(
    frame: Any, table: Table, limit: datetime | None
) -> tuple[Any, list[tuple[str, str, Any, list[str]]]]:
    """(frame with helper columns, rules): each rule is (problem, column, breach mask, columns shown), the
    rules of :func:`churnml.contract.validation.checked_table` as Spark expressions."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    schema = CONTRACT[table]
    rules = _column_rules(table)
    duplicated: list[tuple[str, str, list[str], list[str], Any]] = []
    if schema.unique:
        keys = list(schema.unique)
        duplicated.append((f"duplicate key {keys}", keys[-1], keys, keys, F.lit(True)))
    if table is Table.PAYMENTS:
        duplicated.append(
            (
                f"{DUPLICATE_INVOICE} (its amount would count twice)",
                Payments.INVOICE_ID,
                [CLIENT_ID, Payments.INVOICE_ID],
                [Payments.INVOICE_ID, Payments.AMOUNT, Payments.PAID_AT, Payments.STATUS],
                F.col(Payments.INVOICE_ID).isNotNull(),
            )
        )
    if table is Table.SUBSCRIPTIONS:
        start, end = Subscriptions.START_DATE, Subscriptions.END_DATE
        shown = [Subscriptions.PRODUCT, start, end, Subscriptions.MRR]
        term = [CLIENT_ID, Subscriptions.PRODUCT]
        duplicated.append(
            (
                "duplicate term: the same client, product and start_date twice (ARR would count twice)",
                start,
                [*term, start],
                shown,
                F.lit(True),
            )
        )
        earlier = Window.partitionBy(*term).orderBy(start).rowsBetween(Window.unboundedPreceding, -1)
        frame = frame.withColumn("_earlier_end", F.max(end).over(earlier))
        rules.append(
            (
                OVERLAPPING_TERMS,
                start,
                (F.col(_RENEWAL_START) if _RENEWAL_START in frame.columns else F.col(start))
                < F.col("_earlier_end"),
                shown,
            )
        )
    for i, (problem, column, keys, shown, when) in enumerate(duplicated):
        frame = frame.withColumn(f"_dup{i}", F.count(F.lit(1)).over(Window.partitionBy(*keys)))
        rules.append((problem, column, when & (F.col(f"_dup{i}") > 1), shown))
    for earlier_col, later in schema.ordered:
        rules.append(
            (
                f"'{later}' is before '{earlier_col}'",
                later,
                F.col(later) < F.col(earlier_col),
                [earlier_col, later],
            )
        )
    if limit is not None:
        for column in (c for c in schema.time_columns if c not in schema.scheduled):
            rules.append(
                (
                    future_timestamp_problem(str(table), column, limit),
                    column,
                    F.col(column) > F.lit(limit),
                    [column],
                )
            )
    return frame, rules


def contract_frame(frame: Any, table: Table, limit: datetime | None, max_examples: int = 5) -> Any:
    """``frame`` (a Spark DataFrame of ``table`` as read) in contract types and columns, checked against the
    contract: one Spark pass counts every rule's breaches; the first rule that fails raises a
    :class:`ContractError` with a few offending rows. Grain unchanged. No repair of subscriptions
    (:func:`repaired_contract_frame` makes them)."""
    return repaired_contract_frame(frame, table, limit, max_examples)[0]


_RENEWAL_START = "_renewal_start"


def _with_renewal_start(frame: Any, share: float) -> Any:
    """Subscription terms with ``_renewal_start``: the start each term takes once renewals booked early
    start when the term they renew ends (:func:`churnml.contract.validation.renewal_start`)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    start, end = Subscriptions.START_DATE, Subscriptions.END_DATE
    earlier = (
        Window.partitionBy(CLIENT_ID, Subscriptions.PRODUCT)
        .orderBy(start)
        .rowsBetween(Window.unboundedPreceding, -1)
    )
    prev = F.max(end).over(earlier)
    span = lambda a, b: F.unix_timestamp(a) - F.unix_timestamp(b)  # noqa: E731
    early = (
        (F.col(start) < prev)
        & (F.col(end) > prev)
        & (span(prev, F.col(start)) <= F.lit(share) * span(F.col(end), F.col(start)))
    )
    return frame.withColumn(
        _RENEWAL_START, F.when(F.coalesce(early, F.lit(False)), prev).otherwise(F.col(start))
    )


def repaired_contract_frame(
    frame: Any,
    table: Table,
    limit: datetime | None,
    max_examples: int = 5,
    early_renewal_share: float = 0.0,
    timezone: str = "UTC",
) -> tuple[Any, dict[str, int]]:
    """(:func:`contract_frame`'s checked frame, the repairs made: ``{problem: rows}``): subscription terms
    renewed early start when the term they renew ends (``data.early_renewal_share``, as on Polars:
    :func:`churnml.contract.io.repaired_renewals`), before the overlap check."""
    from pyspark.sql import functions as F

    from churnml.contract.validation import EARLY_RENEWAL_REPAIR

    coerced, both, bad = _coerced(frame, table, timezone)
    renew = table is Table.SUBSCRIPTIONS and early_renewal_share > 0
    if renew:
        start = Subscriptions.START_DATE
        coerced = (
            _with_renewal_start(coerced, early_renewal_share)
            .withColumn(start, F.col(_RENEWAL_START))
            .drop(_RENEWAL_START)
        )
        both = _with_renewal_start(both, early_renewal_share)
    checked, rules = _rules(both, table, limit)
    moved = (F.col(_RENEWAL_START) != F.col(Subscriptions.START_DATE)).cast("long")
    counts = checked.select(
        F.count(F.lit(1)).alias("_rows"),
        *([F.sum(moved).alias("_renewed")] if renew else []),
        *[F.sum(m.cast("long")).alias(f"b_{n}") for n, m in bad.items()],
        *[
            F.sum(F.coalesce(mask, F.lit(False)).cast("long")).alias(f"r{i}")
            for i, (_, _, mask, _) in enumerate(rules)
        ],
    ).collect()[0]
    if counts["_rows"] == 0:
        raise ContractError(
            str(table), "is empty (a header but no rows); remove the file if the table does not apply"
        )
    for name, mask in bad.items():
        if counts[f"b_{name}"]:
            raise _coercion_error(both, table, name, mask, int(counts[f"b_{name}"]), max_examples)
    for i, (problem, column, mask, shown) in enumerate(rules):
        if counts[f"r{i}"]:
            breach = F.coalesce(mask, F.lit(False))
            examples = _examples(checked, breach, shown, max_examples)
            if problem.startswith(NOT_ALLOWED):  # every value to map, as on Polars
                found = (
                    checked.filter(breach).groupBy(column).count().orderBy(F.desc("count"), column).collect()
                )
                problem += found_values_text([(r[column], int(r["count"])) for r in found])
            if problem.startswith(DUPLICATE_INVOICE):  # a retry log's failed attempts said, as on Polars
                attempt = F.col(Payments.PAID_AT).isNull() | (F.col(Payments.STATUS) == "failed")
                failed = checked.filter(breach & F.coalesce(attempt, F.lit(False))).count()
                problem = duplicate_invoice_text(int(failed), int(counts[f"r{i}"]))
            raise ContractError(str(table), problem, column, examples, int(counts[f"r{i}"]))
    moved = int(counts["_renewed"] or 0) if renew else 0
    return coerced, ({EARLY_RENEWAL_REPAIR: moved} if moved else {})


def checked_spark_references(tables: Mapping[Table, Any], max_examples: int = 5) -> None:
    """Raise when any table holds a ``client_id`` that is not in ``clients`` (distinct ids, one anti-join each)."""
    known = tables[Table.CLIENTS].select(CLIENT_ID)
    for name, frame in tables.items():
        if name is Table.CLIENTS:
            continue
        unknown = frame.join(known, on=CLIENT_ID, how="left_anti")
        count = unknown.count()
        if count:
            raise ContractError(
                str(name),
                "client_id not found in table 'clients'",
                CLIENT_ID,
                _examples(unknown, unknown[CLIENT_ID].isNotNull(), [CLIENT_ID], max_examples),
                count,
            )


def spark_created_repaired(
    tables: Mapping[Table, Any], plausible_from: datetime
) -> tuple[dict[Table, Any], int]:
    """``tables`` with ``clients.created_at`` moved back to the client's first record in the other tables
    where that falls on an earlier day, and how many clients moved: the Spark twin of
    :func:`churnml.contract.validation.with_created_repaired` (same records,
    :func:`~churnml.contract.validation.first_records`: the time columns of every table but ``clients`` and
    ``churns``, from ``plausible_from`` on: a churn ends a relationship and never starts one)."""
    from functools import reduce

    from pyspark.sql import functions as F

    parts = [
        frame.select(F.col(CLIENT_ID), F.col(col).alias("_first"))  # contract_frame: timestamp_ntz
        for table, frame in tables.items()
        if table not in (Table.CLIENTS, Table.CHURNS)
        for col in CONTRACT[table].time_columns
        if col in frame.columns
    ]
    if not parts:
        return dict(tables), 0
    firsts = (
        reduce(lambda a, b: a.unionByName(b), parts)
        .where(F.col("_first") >= F.lit(plausible_from).cast("timestamp_ntz"))
        .groupBy(CLIENT_ID)
        .agg(F.min("_first").alias("_first"))
    )
    clients = tables[Table.CLIENTS]
    created = F.col(Clients.CREATED_AT)
    later = created.isNotNull() & F.col("_first").isNotNull() & (F.to_date("_first") < F.to_date(created))
    joined = clients.join(firsts, on=CLIENT_ID, how="left")
    moved = joined.where(later).count()
    if not moved:
        return dict(tables), 0
    fixed = joined.withColumn(Clients.CREATED_AT, F.when(later, F.col("_first")).otherwise(created))
    return {**tables, Table.CLIENTS: fixed.select(*clients.columns)}, moved


def time_bounds(
    tables: Mapping[Table, Any], plausible_from: datetime, cut: datetime | None = None
) -> dict[str, Any]:
    """Per table and time column (``"<table>.<column>"``): ``min``, ``max``, ``min_plausible`` (the least
    value from ``plausible_from`` on) and ``max_before`` (the greatest value before ``cut``), and per
    table its ``rows``: one Spark aggregate per table."""
    from pyspark.sql import functions as F

    out: dict[str, Any] = {}
    for table, frame in tables.items():
        aggs = [F.count(F.lit(1)).alias("rows")]
        for col in CONTRACT[table].time_columns:
            c = F.col(col)
            aggs += [
                F.min(c).alias(f"{col}|min"),
                F.max(c).alias(f"{col}|max"),
                F.min(F.when(c >= F.lit(plausible_from), c)).alias(f"{col}|min_plausible"),
            ]
            if cut is not None:
                aggs.append(F.max(F.when(c < F.lit(cut), c)).alias(f"{col}|max_before"))
        row = frame.select(*aggs).collect()[0].asDict()
        out[str(table)] = {"rows": row.pop("rows")}
        for key, value in row.items():
            col, stat = key.split("|")
            out.setdefault(f"{table}.{col}", {})[stat] = value
    return out


# -- client buckets: what the executors read ------------------------------------------------------
def _ipc(table: Any) -> bytes:
    sink = io.BytesIO()
    pl.from_arrow(table).write_ipc(sink, compression="zstd")
    return sink.getvalue()


def frame_of_blob(blob: bytes) -> pl.DataFrame:
    """The Polars frame of one blob of :func:`bucket_blobs` (or of an executor's result)."""
    return pl.read_ipc(io.BytesIO(blob))


# rows of one task's input packed at a time (a task's Arrow batches are buffered up to this many rows)
_PACK_ROWS = 1_000_000


def _packed(batches: list[Any], columns: list[str], kind: str) -> Iterator[Any]:
    """One Arrow record batch [bucket, kind, blob] per bucket present in ``batches`` (keyed rows)."""
    import pyarrow as pa

    rows = pl.from_arrow(pa.Table.from_batches(batches))
    assert isinstance(rows, pl.DataFrame)
    for (bucket,), part in sorted(rows.partition_by(BUCKET, as_dict=True).items()):
        sink = io.BytesIO()
        part.select(columns).write_ipc(sink, compression="zstd")
        yield pa.RecordBatch.from_pydict(
            {
                BUCKET: pa.array([bucket], pa.int32()),
                KIND: pa.array([kind], pa.string()),
                BLOB: pa.array([sink.getvalue()], pa.binary()),
            }
        )


def bucket_blobs(frame: Any, kind: str, buckets: int) -> Any:
    """``frame`` (rows with a ``client_id``) cut into client buckets (``pmod(xxhash64(client_id), buckets)``):
    rows [bucket, kind, blob], each blob some of a bucket's rows as compressed Arrow IPC (exact types: no
    pandas conversion); one blob per bucket per million rows of an input partition. Packed where
    the rows are (``mapInArrow``, no shuffle of the rows: only the compressed blobs move when the buckets
    are gathered). Every table cut with the same ``buckets`` puts a client's rows of every table in the
    same bucket."""
    from pyspark.sql import functions as F

    columns = list(frame.columns)

    def packed(batches: Iterator[Any]) -> Iterator[Any]:
        pending: list[Any] = []
        held = 0
        for batch in batches:
            if batch.num_rows:
                pending.append(batch)
                held += batch.num_rows
            if held >= _PACK_ROWS:
                yield from _packed(pending, columns, kind)
                pending, held = [], 0
        if pending:
            yield from _packed(pending, columns, kind)

    keyed = frame.withColumn(BUCKET, F.pmod(F.xxhash64(CLIENT_ID), F.lit(buckets)).cast("int"))
    return keyed.mapInArrow(packed, BLOB_SCHEMA)


def scoring_events(
    events: Any, clients: Any, start: datetime, end: datetime, features: FeaturesConfig
) -> Any:
    """The events a scoring run at ``end`` (midnight of the as-of date) ships to the client buckets: every
    row with ``start <= ts < end`` (two predicates on the read column, pushed into the Parquet scan), and of
    the rows before ``start`` only those :func:`churnml.scoring.window.needed_events` may carry: each
    client's rows at its last event, last login and last export before ``start``, and its rows of the
    first :func:`~churnml.scoring.window.onboarding_carry_days` after its ``created_at``. Rows as they are
    (contract columns and order); ``start`` at or before the scoring window's start.

    A superset of what the per-bucket Polars code then picks (:func:`~churnml.scoring.window.event_marks`,
    :func:`~churnml.scoring.window.needed_events`, :func:`~churnml.scoring.window.portfolio_days`): the
    same rows as the Polars path, and nothing dated on or after ``end``."""
    from pyspark.sql import functions as F

    from churnml.contract.schemas import Events
    from churnml.scoring.window import onboarding_carry_days

    ts, event = F.col(Events.TS), F.col(Events.EVENT)

    def among(names: Iterable[str]) -> Any:
        names = list(names)
        return event.isin(*names) if names else F.lit(False)

    login, export = among(features.login_events), among(features.export_events)
    low, high = F.lit(start).cast("timestamp_ntz"), F.lit(end).cast("timestamp_ntz")
    recent = events.filter((ts >= low) & (ts < high))
    old = events.filter(ts < low)
    marks = old.groupBy(CLIENT_ID).agg(
        F.max(ts).alias("_last"),
        F.max(F.when(login, ts)).alias("_login"),
        F.max(F.when(export, ts)).alias("_export"),
    )
    days = onboarding_carry_days(features)
    ends = clients.select(
        CLIENT_ID, F.expr(f"{Clients.CREATED_AT} + INTERVAL {days} DAYS").alias("_onboarding_end")
    )
    kept = (ts == F.col("_last")) | (login & (ts == F.col("_login"))) | (export & (ts == F.col("_export")))
    carried = (
        old.join(marks, on=CLIENT_ID, how="inner")
        .join(ends, on=CLIENT_ID, how="left")
        .filter(kept | (ts < F.col("_onboarding_end")))
        .select(*events.columns)
    )
    return recent.unionByName(carried)
