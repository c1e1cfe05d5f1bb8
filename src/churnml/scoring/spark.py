"""The weekly list on Apache Spark: the pure Spark transformations (no paths, no session set-up).

The job (:mod:`churnml.jobs.score_spark`) reads the Parquet files with ``spark.read.parquet`` and runs:

1. :func:`contract_frame` / :func:`checked_spark_references` -- every table coerced to its contract
   types and checked against the contract (:mod:`churnml.contract.schemas`) as Spark expressions: required
   columns, values readable as their type, non-null ids, allowed values and bounds, unique keys, ordered
   columns, no timestamp after the as-of limit, client ids known to ``clients``. Errors are the Polars
   path's :class:`~churnml.contract.validation.ContractError` (table, column, problem, a few offending rows).
2. :func:`spark_features` -- the as-of features of the listed clients at every history snapshot with the
   same Narwhals code as :func:`churnml.features.build_features` (one Spark plan; nothing leaves the JVM).
3. :func:`bucket_blobs` -- rows grouped by client bucket (``pmod(xxhash64(client_id), buckets)``) into
   one compressed Arrow IPC blob per (bucket, table): what the executors' per-client work reads
   (:mod:`churnml.scoring.spark_buckets`, run through ``mapInPandas``).

Grain: every frame keeps the grain of its table; the feature table is one row per (client, snapshot).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import narwhals as nw
import polars as pl

from churnml.config import FeaturesConfig
from churnml.contract.schemas import (
    CLIENT_ID,
    CONTRACT,
    SNAPSHOT,
    Clients,
    Kind,
    Payments,
    Subscriptions,
    Table,
)
from churnml.contract.validation import ContractError

__all__ = [
    "BLOB_SCHEMA",
    "bucket_blobs",
    "checked_spark_references",
    "contract_frame",
    "frame_of_blob",
    "spark_features",
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


def _converted(col: Any, source: Any, kind: Kind) -> Any:
    """``col`` (of Spark type ``source``) in the contract type of ``kind``; null where unreadable."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if kind is Kind.STR:
        text = F.trim(col.cast("string"))
        return F.when(text != "", text)
    if kind is Kind.DATETIME:
        if isinstance(source, T.StringType):
            return F.trim(col).try_cast(T.TimestampNTZType())
        return col.try_cast(T.TimestampNTZType())
    if kind is Kind.BOOL and not isinstance(source, T.BooleanType):
        low = F.lower(F.trim(col.cast("string")))
        true, false = ("true", "t", "yes", "y", "1", "1.0"), ("false", "f", "no", "n", "0", "0.0")
        return F.when(low.isin(*true), F.lit(True)).when(low.isin(*false), F.lit(False))
    if kind is Kind.INT and not isinstance(source, T.IntegralType):
        as_float = col.try_cast("double")
        return F.when(as_float == F.round(as_float, 0), as_float.cast("bigint"))
    return col.try_cast(_spark_type(kind))


def _coerced(frame: Any, table: Table) -> tuple[Any, Any, dict[str, Any]]:
    """(the table with every contract column in its contract type (absent optional ones as typed nulls),
    only contract columns, in contract order; the same with the original columns beside them as
    ``_orig_<name>``; per column, the mask of values that could not be read). Raises for a missing
    required column or timestamps stored as numbers."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    schema = CONTRACT[table]
    missing = [c for c in schema.required if c not in frame.columns]
    if missing:
        raise ContractError(
            str(table), f"missing required column(s) {missing}; found {frame.columns}", missing[0]
        )
    types = {f.name: f.dataType for f in frame.schema.fields}
    for spec in schema.columns:
        if spec.kind is Kind.DATETIME and isinstance(types.get(spec.name), T.NumericType):
            raise ContractError(
                str(table),
                f"timestamps stored as numbers ({types[spec.name].simpleString()}); churnml does not guess "
                "their unit: store them as Parquet timestamps or ISO 8601 text",
                spec.name,
            )
    cols = [
        _converted(F.col(s.name), types[s.name], s.kind).alias(s.name)
        if s.name in types
        else F.lit(None).cast(_spark_type(s.kind)).alias(s.name)
        for s in schema.columns
    ]
    out = frame.select(*cols)
    bad = {
        s.name: F.col(f"_orig_{s.name}").isNotNull()
        & F.col(s.name).isNull()
        & ~(F.trim(F.col(f"_orig_{s.name}").cast("string")) == F.lit("")).eqNullSafe(True)
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
    return ContractError(str(table), f"cannot read values as {kind.value}", name, examples, count)


def _column_rules(table: Table) -> list[tuple[str, str, Any, list[str]]]:
    """The contract's rules of single columns: required values, allowed values, bounds, finite floats."""
    from pyspark.sql import functions as F

    schema = CONTRACT[table]
    rules: list[tuple[str, str, Any, list[str]]] = []
    for spec in schema.columns:
        col = F.col(spec.name)
        if spec.required and not spec.nullable:
            rules.append(("empty value in a required column", spec.name, col.isNull(), [spec.name]))
        if spec.allowed is not None:
            rules.append(
                (
                    f"value not among the allowed {list(spec.allowed)}",
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
                "the same invoice_id twice for one client (its amount would count twice)",
                Payments.INVOICE_ID,
                [CLIENT_ID, Payments.INVOICE_ID],
                [Payments.INVOICE_ID, Payments.AMOUNT, Payments.PAID_AT],
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
                "overlapping terms of one product: a term starts before the client's previous term of the same "
                "product ends (ARR would count twice; a renewal starts when the last term ends)",
                start,
                F.col(start) < F.col("_earlier_end"),
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
        for column in schema.time_columns:
            rules.append(
                (
                    f"timestamp after the as-of date {limit:%Y-%m-%d %H:%M}",
                    column,
                    F.col(column) > F.lit(limit),
                    [column],
                )
            )
    return frame, rules


def contract_frame(frame: Any, table: Table, limit: datetime | None, max_examples: int = 5) -> Any:
    """``frame`` (a Spark DataFrame of ``table`` as read) in contract types and columns, checked against the
    contract: one Spark pass counts every rule's breaches; the first rule that fails raises a
    :class:`ContractError` with a few offending rows. Grain unchanged."""
    from pyspark.sql import functions as F

    coerced, both, bad = _coerced(frame, table)
    checked, rules = _rules(both, table, limit)
    counts = checked.select(
        F.count(F.lit(1)).alias("_rows"),
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
            examples = _examples(checked, F.coalesce(mask, F.lit(False)), shown, max_examples)
            raise ContractError(str(table), problem, column, examples, int(counts[f"r{i}"]))
    return coerced


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


_WINDOW_DAYS = re.compile(r"_(\d+)d$")


def _observed_windows(frame: Any, names: list[str], data_start: datetime, cfg: FeaturesConfig) -> Any:
    """:func:`churnml.features.build.without_unobserved_windows` on Spark: every windowed sum whose window
    reaches back before ``data_start`` set to null."""
    from pyspark.sql import functions as F

    from churnml.features.build import _SUMMED_KINDS
    from churnml.features.registry import feature_specs

    specs = feature_specs(cfg)
    span = F.datediff(F.col(SNAPSHOT), F.lit(data_start.date()))
    cols = []
    for name in names:
        m = _WINDOW_DAYS.search(name)
        if m and specs[name].kind in _SUMMED_KINDS:
            cols.append(F.when(span >= int(m.group(1)), F.col(name)).alias(name))
        else:
            cols.append(F.col(name))
    return frame.select(CLIENT_ID, SNAPSHOT, *cols)


def spark_features(
    tables: Mapping[Table, Any],
    spine: Any,
    snapshots: list[date],
    data_start: datetime,
    cfg: FeaturesConfig,
) -> Any:
    """The feature table of ``spine`` (a Spark DataFrame: ``client_id``, ``snapshot`` as a date) as a Spark
    DataFrame: ``client_id``, ``snapshot`` and one double per registered feature whose table is present, the
    values of :func:`churnml.features.build_features` (same Narwhals code; per-client shifts). ``tables``:
    contract frames (:func:`contract_frame`); ``snapshots``: the spine's distinct snapshot dates;
    ``data_start``: the dataset's first activity (:meth:`churnml.contract.dataset.Dataset.first_activity`)."""
    from pyspark.sql import functions as F

    from churnml.features._grid import CDAY, CIDX, WEEK, client_week_grid, day_number, dense_shifts, week_axis
    from churnml.features.build import _STEPS
    from churnml.features.registry import feature_specs

    axis = week_axis(pl.Series(snapshots, dtype=pl.Date), data_start)
    clients = tables[Table.CLIENTS].select(CLIENT_ID, Clients.CREATED_AT)
    # a distinct integer per client: on Spark it only labels the rows (shifts are per-client windows)
    keyed = spine.select(CLIENT_ID).distinct().join(clients, on=CLIENT_ID, how="left")
    keyed = keyed.withColumn(CIDX, F.xxhash64(CLIENT_ID))
    grid_lf = (
        nw.from_native(keyed)
        .with_columns(day_number(nw.col(Clients.CREATED_AT)).alias(CDAY), nw.col(CIDX).cast(nw.Int64))
        .select(CLIENT_ID, CIDX, CDAY)
    )
    grid = client_week_grid(grid_lf, axis)
    spine_lf = nw.from_native(spine.select(CLIENT_ID, F.col(SNAPSHOT).cast("date").alias(SNAPSHOT)))
    spine_lf = spine_lf.with_columns(((day_number(nw.col(SNAPSHOT)) - axis.anchor) // 7 - 1).alias(WEEK))
    weeks = sorted({(d - date(1970, 1, 1)).days for d in snapshots})
    weeks = [(d - axis.anchor) // 7 - 1 for d in weeks]
    out = spine_lf
    with dense_shifts(None):
        for _name, table, fn in _STEPS:
            if table is None:
                source = tables.get(Table.SIGNALS)
                fam = fn(None if source is None else nw.from_native(source), grid, axis, cfg)
            elif table in tables:
                fam = fn(nw.from_native(tables[table]), grid, axis, cfg)
            else:
                continue
            # each family computed on its own and kept (its plan cut): one plan of every family's window
            # expressions at once takes Spark's optimizer minutes
            at_spine = fam.filter(nw.col(WEEK).is_in(weeks)).to_native().localCheckpoint(eager=True)
            out = out.join(nw.from_native(at_spine), on=[CLIENT_ID, WEEK], how="left")
    native = out.to_native()
    present = [n for n in feature_specs(cfg) if n in native.columns]
    unknown = [c for c in native.columns if c not in (CLIENT_ID, SNAPSHOT, WEEK) and c not in present]
    if unknown:
        raise RuntimeError(f"features: columns missing from the registry: {unknown[:5]}")
    typed = native.select(CLIENT_ID, SNAPSHOT, *[F.col(n).cast("double").alias(n) for n in present])
    return _observed_windows(typed, present, data_start, cfg)


# -- client buckets: what the executors read ------------------------------------------------------
def _ipc(table: Any) -> bytes:
    sink = io.BytesIO()
    pl.from_arrow(table).write_ipc(sink, compression="zstd")
    return sink.getvalue()


def frame_of_blob(blob: bytes) -> pl.DataFrame:
    """The Polars frame of one blob of :func:`bucket_blobs` (or of an executor's result)."""
    return pl.read_ipc(io.BytesIO(blob))


def bucket_blobs(frame: Any, kind: str, buckets: int) -> Any:
    """``frame`` (rows with a ``client_id``) cut into client buckets (``pmod(xxhash64(client_id), buckets)``):
    one row per non-empty bucket, [bucket, kind, blob] with the bucket's rows as compressed Arrow IPC
    (exact types: no pandas conversion). Every table cut with the same ``buckets`` puts a client's rows
    of every table in the same bucket."""
    import pyarrow as pa
    from pyspark.sql import functions as F

    columns = list(frame.columns)

    def packed(rows: pa.Table) -> pa.Table:
        bucket = rows.column(BUCKET)[0].as_py() if rows.num_rows else -1
        blob = _ipc(rows.select(columns))
        return pa.table(
            {BUCKET: pa.array([bucket], pa.int32()), KIND: [kind], BLOB: pa.array([blob], pa.binary())}
        )

    keyed = frame.withColumn(BUCKET, F.pmod(F.xxhash64(CLIENT_ID), F.lit(buckets)).cast("int"))
    return keyed.groupBy(BUCKET).applyInArrow(packed, BLOB_SCHEMA)


def first_and_last_events(events: Any) -> Any:
    """The events the per-client scoring code reads: per client, event name and calendar day, only the
    first and the last timestamp (other columns null; contract columns and order kept).

    Exact for that code: it reads the last activity before a cut-off at midnight, whether an event falls in a
    window of whole days, the distinct active weeks, the gaps between activities and the last data export;
    never how many events a day holds (the features read the full table). On the generated data a client
    logs several events a day, so this cuts the rows shipped to the executors several times."""
    from pyspark.sql import functions as F

    from churnml.contract.schemas import Events

    day = F.to_date(F.col(Events.TS)).alias("_day")
    bounds = events.groupBy(CLIENT_ID, Events.EVENT, day).agg(
        F.min(Events.TS).alias("_first"), F.max(Events.TS).alias("_last")
    )
    kept = bounds.select(
        CLIENT_ID, Events.EVENT, F.explode(F.array_distinct(F.array("_first", "_last"))).alias(Events.TS)
    )
    types = {f.name: f.dataType for f in events.schema.fields}
    return kept.select(
        *[F.col(c) if c in kept.columns else F.lit(None).cast(types[c]).alias(c) for c in events.columns]
    )
