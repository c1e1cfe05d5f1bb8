"""The weekly list on Apache Spark: the pure Spark transformations (no paths, no session set-up).

The job (:mod:`churnml.jobs.score_spark`) reads the Parquet files with ``spark.read.parquet`` and runs:

1. :func:`contract_frame` / :func:`checked_spark_references` -- every table coerced to its contract
   types and checked against the contract (:mod:`churnml.contract.schemas`) as Spark expressions: required
   columns, no type that no conversion reads right (from the Parquet footer), values readable as their type
   (texts in the Polars read's layouts), non-null ids, allowed values and bounds, unique keys, ordered
   columns, no timestamp on or after the as-of limit, client ids known to ``clients``. Errors are the Polars
   path's :class:`~churnml.contract.validation.ContractError` (table, column, problem, a few offending rows);
   repairs are counted under the Polars read's names.
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
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from churnml.config import FeaturesConfig
from churnml.contract.schemas import (
    CLIENT_ID,
    CONTRACT,
    Clients,
    ColumnSpec,
    Kind,
    Payments,
    Subscriptions,
    Table,
)
from churnml.contract.validation import (  # its layouts are private: the Spark read reads the same
    CURRENCY,
    DATETIME_FORMATS,
    DATETIME_TZ_FORMATS,
    DUPLICATE_INVOICE,
    MONEY_COLUMNS,
    NOT_ALLOWED,
    NOT_FINITE,
    NULL_MARKERS,
    OVERLAPPING_TERMS,
    PLAUSIBLE_FROM,
    YEAR_FIRST,
    ContractError,
    allowed_span,
    currency_column,
    currency_problem,
    currency_read_notes,
    duplicate_invoice_text,
    empty_value_problem,
    epoch_hint,
    found_values_text,
    future_timestamp_problem,
    ignored_columns_note,
    implausible_dates,
    missing_columns_problem,
    refused_currency_codes,
    unreadable_hint,
    unsupported_type,
)

__all__ = [
    "BLOB_SCHEMA",
    "bucket_blobs",
    "checked_spark_references",
    "contract_frame",
    "frame_of_blob",
    "repaired_contract_frame",
    "scoring_events",
    "spark_amounts_in_one_currency",
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


def _identifying_columns(table: Table) -> list[str]:
    """The columns that tell a row of ``table`` apart where no row number can (Spark rows have no file
    order): ``client_id``, the table's keys (its unique columns; a payment's ``invoice_id``, a term's
    ``product``) and its time columns."""
    schema = CONTRACT[table]
    keys = {Table.PAYMENTS: [Payments.INVOICE_ID], Table.SUBSCRIPTIONS: [Subscriptions.PRODUCT]}.get(
        table, []
    )
    return list(dict.fromkeys([CLIENT_ID, *schema.unique, *keys, *schema.time_columns]))


def _examples(frame: Any, table: Table, mask: Any, columns: Iterable[str], limit: int) -> pl.DataFrame:
    """A few rows of ``frame`` (rows of ``table``) where ``mask`` holds, as a Polars frame: the columns of the
    problem ``columns`` after the row's :func:`_identifying_columns` (the Polars examples' ``row`` number has no
    Spark twin: Spark rows have no file order)."""
    shown = [c for c in dict.fromkeys([*_identifying_columns(table), *columns]) if c in frame.columns]
    rows = frame.filter(mask).select(*shown).limit(limit).collect()
    return pl.DataFrame([r.asDict() for r in rows], schema=shown, orient="row") if rows else pl.DataFrame()


# a run of whitespace at either end of a text (Unicode White_Space, as Polars' strip_chars)
_ENDS = r"(?U)^\s+|\s+$"


def _stripped(col: Any) -> Any:
    """``col`` (text) without whitespace at either end, as Polars' ``str.strip_chars`` (Spark's ``trim`` strips
    only spaces: a tab or a no-break space stayed)."""
    from pyspark.sql import functions as F

    return F.regexp_replace(col, _ENDS, "")


# the Java regular expression of each strftime field of the Polars read's layouts (chrono's readings: a month,
# a day or an hour in one or two digits, a fraction of any length, an offset "Z", "+01", "+0100", "+01:00")
_FIELDS = {
    "%Y": ("y", r"\+?(\d{1,4})"),
    "%m": ("m", r"(\d{1,2})"),
    "%d": ("d", r"(\d{1,2})"),
    "%H": ("H", r"(\d{1,2})"),
    "%M": ("M", r"(\d{1,2})"),
    "%S": ("S", r"(\d{1,2})"),
    "%.f": ("f", r"(\.\d+)?"),
    "%#z": ("z", r"\s*(Z|[+-]\d{2}(?::?\d{2})?)"),
}


def _layout_pattern(layout: str) -> tuple[str, dict[str, int]]:
    """A strftime layout of the Polars read (``validation.DATETIME_FORMATS``: ``"%Y-%m-%d %H:%M"``) as a Java
    regular expression matching a whole text, and the group of each field in it (``{"y": 1, ...}``). A space
    matches any run of whitespace, none too (as chrono reads it). Raises for a field it does not know."""
    parts, groups = [], {}
    for token in re.findall(r"%#z|%\.f|%.|.", layout, flags=re.S):
        if token in _FIELDS:
            field, pattern = _FIELDS[token]
            groups[field] = len(groups) + 1
            parts.append(pattern)
        elif token.startswith("%"):
            raise ValueError(f"the Spark read has no pattern for {token} (in the layout {layout!r})")
        else:
            parts.append(r"\s*" if token == " " else re.escape(token))
    return "^" + "".join(parts) + "$", groups


def _layout_text(text: Any, layout: str) -> tuple[Any, Any]:
    """(``text`` in ``layout`` rewritten as Spark casts it, ``yyyy-MM-dd HH:mm:ss[.ffffff][+hh:mm]``, null when it is
    not in the layout; whether it has an offset): the fraction cut to microseconds, as Polars reads it."""
    from pyspark.sql import functions as F

    pattern, groups = _layout_pattern(layout)

    def part(field: str, width: int) -> Any:
        if field not in groups:
            return F.lit("0" * width)
        return F.lpad(F.regexp_extract(text, pattern, groups[field]), width, "0")

    fraction = F.substring(F.regexp_extract(text, pattern, groups["f"]), 1, 7) if "f" in groups else F.lit("")
    offset = F.lit("")
    if "z" in groups:
        zone = F.regexp_extract(text, pattern, groups["z"])
        digits = F.regexp_replace(zone, "[^0-9]", "")
        minutes = F.substring(digits, 3, 2)
        offset = F.when(zone == "Z", F.lit("+00:00")).otherwise(
            F.concat(
                F.substring(zone, 1, 1),
                F.substring(digits, 1, 2),
                F.lit(":"),
                F.when(minutes == "", F.lit("00")).otherwise(minutes),
            )
        )
    written = F.concat(
        part("y", 4), F.lit("-"), part("m", 2), F.lit("-"), part("d", 2), F.lit(" "),
        part("H", 2), F.lit(":"), part("M", 2), F.lit(":"), part("S", 2), fraction, offset,
    )  # fmt: skip
    found = text.rlike(pattern)
    return F.when(found, written), F.when(found, F.lit("z" in groups))


def _converted(col: Any, source: Any, kind: Kind, timezone: str = "UTC") -> Any:
    """``col`` (of Spark type ``source``) in the contract type of ``kind``; null where unreadable, as on Polars
    (:func:`churnml.contract.validation.coerced_table`): text trimmed, null markers empty, ids stored as whole
    floats without their ``.0``, texts read in the Polars read's layouts only (:func:`_layout_pattern`). Times
    with an offset, and Spark's zoned timestamps (instants), become ``timezone``'s wall-clock time
    (``data.timezone``), as on Polars."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if isinstance(source, T.StringType):  # a null marker ("NULL", "N/A"...) is an empty cell, as on Polars
        col = F.when(~_stripped(col).isin(*NULL_MARKERS), col)
    if kind is Kind.STR:
        text = col.cast("string")
        if isinstance(source, T.FractionalType):  # 12345.0 -> "12345": ids exported from spreadsheets
            text = F.when(col == F.round(col, 0), col.try_cast("bigint").cast("string")).otherwise(text)
        text = _stripped(text)
        return F.when(text != "", text)
    if kind is Kind.DATETIME:

        def local(instant: Any) -> Any:  # the session is UTC: shift the instant to the zone's wall clock
            shifted = instant if timezone == "UTC" else F.from_utc_timestamp(instant, timezone)
            return shifted.cast(T.TimestampNTZType())

        if isinstance(source, T.StringType):
            # each layout's text rewritten as Spark casts it, through an instant: a UTC offset is honoured (the
            # session is UTC, as Polars converts). Text without an offset is read in the UTC session
            # unchanged: already the zone's wall-clock time
            text = _stripped(col)
            read = [_layout_text(text, layout) for layout in (*DATETIME_FORMATS, *DATETIME_TZ_FORMATS)]
            # from a year of four digits, as on Polars (YEAR_FIRST): "06/03/24" is no 0006-03-24
            written = F.when(text.rlike(YEAR_FIRST), F.coalesce(*[written for written, _ in read]))
            instant = written.try_cast(T.TimestampType())
            if timezone == "UTC":
                return instant.cast(T.TimestampNTZType())
            zoned = F.coalesce(*[offset for _, offset in read])
            return F.when(zoned, local(instant)).otherwise(instant.cast(T.TimestampNTZType()))
        if isinstance(source, T.TimestampType):
            return local(col)
        return col.try_cast(T.TimestampNTZType())
    if kind is Kind.BOOL and not isinstance(source, T.BooleanType):
        low = F.lower(_stripped(col.cast("string")))
        true, false = ("true", "t", "yes", "y", "1", "1.0"), ("false", "f", "no", "n", "0", "0.0")
        return F.when(low.isin(*true), F.lit(True)).when(low.isin(*false), F.lit(False))
    if kind is Kind.INT and not isinstance(source, T.IntegralType):
        as_float = col.try_cast("double")
        return F.when(as_float == F.round(as_float, 0), as_float.try_cast("bigint"))
    return col.try_cast(_spark_type(kind))


def _stored_types(frame: Any) -> dict[str, pl.DataType]:
    """The types ``frame``'s columns are stored in, as Polars reads them: from the footer of the Parquet file it
    reads (``inputFiles``: a duration, a time of day Spark reads as a whole number of its unit), else (a frame
    made in memory, files not on this machine) from the Spark types that have a Polars twin."""
    from urllib.parse import urlparse

    from pyspark.sql import types as T

    files = [urlparse(f) for f in frame.inputFiles()]
    local = [Path(f.path) for f in files if f.scheme in ("", "file") and Path(f.path).is_file()]
    if local:
        stored = pl.read_parquet_schema(local[0])
        return {c: stored[c] for c in frame.columns if c in stored}
    twins = {
        T.BooleanType: pl.Boolean(),
        T.BinaryType: pl.Binary(),
        T.DateType: pl.Date(),
        T.TimestampType: pl.Datetime("us", "UTC"),
        T.TimestampNTZType: pl.Datetime("us"),
        T.DayTimeIntervalType: pl.Duration("us"),
        T.ArrayType: pl.List(pl.Null()),
        T.MapType: pl.List(pl.Null()),
        T.StructType: pl.Struct([]),
        T.ByteType: pl.Int8(),
        T.ShortType: pl.Int16(),
        T.IntegerType: pl.Int32(),
        T.LongType: pl.Int64(),
        T.FloatType: pl.Float32(),
        T.DoubleType: pl.Float64(),
        T.DecimalType: pl.Float64(),
    }
    return {
        f.name: twin
        for f in frame.schema.fields
        if (twin := next((t for kind, t in twins.items() if isinstance(f.dataType, kind)), None)) is not None
    }


def _refused_types(frame: Any, table: Table, max_examples: int) -> None:
    """Raise, as the Polars read does (``validation.unsupported_type``, ``_refuse_numeric_timestamps``), for a
    contract column stored in a type no conversion reads right (a duration read as a count of microseconds,
    true/false as an amount, times of day, lists) and for timestamps stored as numbers (with the unit their
    typical size suggests): the problem, the column, its rows with a value and a few of them."""
    from pyspark.sql import functions as F

    stored = _stored_types(frame)
    for spec in CONTRACT[table].columns:
        if spec.name not in stored:
            continue
        dtype, col = stored[spec.name], frame[spec.name]
        why = unsupported_type(dtype, spec.kind)
        if why is None and spec.kind is Kind.DATETIME and dtype.is_numeric():
            typical = frame.select(F.median(F.abs(col.cast("double")))).collect()[0][0]
            why = (
                f"timestamps stored as numbers ({dtype}){epoch_hint(pl.Series([typical], dtype=pl.Float64))}; "
                "churnml does not guess their unit: store them as Parquet timestamps or ISO 8601 text "
                "(e.g. pl.from_epoch(column, time_unit='s'))"
            )
        if why:
            shown = frame.withColumn(spec.name, col.cast("string"))
            count = frame.filter(col.isNotNull()).count()
            examples = _examples(shown, table, shown[spec.name].isNotNull(), [spec.name], max_examples)
            raise ContractError(str(table), why, spec.name, examples, count)


def _text_repairs(spec: ColumnSpec, original: Any, source: Any) -> dict[str, Any]:
    """What coercion repairs in one column written as text (``original``): ``{name: rows mask}`` under the
    names of ``validation._text_repairs`` (null markers read as empty, per marker; text trimmed, blank cells,
    allowed values in another case)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if not isinstance(source, T.StringType):
        return {}
    text = _stripped(original)
    out = {f"{spec.name}: {marker!r} read as empty": text == marker for marker in NULL_MARKERS}
    if spec.kind is Kind.STR:
        out[f"{spec.name}: whitespace trimmed"] = original != text
        out[f"{spec.name}: blank cells read as empty"] = text == ""
        if spec.allowed is not None:
            other = ~text.isin(*spec.allowed) & F.lower(text).isin(*spec.allowed)
            out[f"{spec.name}: values in another letter case read as the contract's"] = other
    return out


def _coerced(
    frame: Any, table: Table, timezone: str = "UTC", max_examples: int = 5
) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    """(the table with every contract column in its contract type (absent optional ones as typed nulls),
    only contract columns, in contract order, and a money table's currency codes as :data:`CURRENCY` when
    it has a currency column (as :func:`churnml.contract.validation.coerced_table`); the same with the
    original columns beside them as ``_orig_<name>``; per column, the mask of values that could not be read; per repair of
    :func:`churnml.contract.validation.coerced_table`, under its name, the count to take on the second frame).
    Raises for a missing required column, a column stored in a type no conversion reads right, or
    timestamps stored as numbers (:func:`_refused_types`)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    schema = CONTRACT[table]
    missing = [c for c in schema.required if c not in frame.columns]
    if missing:
        raise ContractError(
            str(table), missing_columns_problem(missing, frame.columns, str(table)), missing[0]
        )
    _refused_types(frame, table, max_examples)
    types = {f.name: f.dataType for f in frame.schema.fields}

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
    extra = [c for c in frame.columns if c not in {s.name for s in schema.columns}]
    currency = currency_column(extra, table)  # read: the amounts' currency (spark_amounts_in_one_currency)
    if currency is not None:
        cols.append(_currency_codes(F.col(currency)).alias(CURRENCY))
        extra.remove(currency)
    out = frame.select(*cols)
    present = [s for s in schema.columns if s.name in types]
    bad = {}
    for s in present:
        original = F.col(f"_orig_{s.name}")
        unread = original.isNotNull() & F.col(s.name).isNull()
        if isinstance(types[s.name], T.StringType):  # blank or a null marker: read as empty, not unreadable
            unread = unread & ~_stripped(original).isin("", *NULL_MARKERS)
        bad[s.name] = unread
    both = frame.select(*cols, *[F.col(n).alias(f"_orig_{n}") for n in bad])
    repairs: dict[str, Any] = {}
    if extra:
        repairs[ignored_columns_note(extra, frame.columns, schema)] = F.count(F.lit(1))
    for s in present:
        masks = _text_repairs(s, F.col(f"_orig_{s.name}"), types[s.name])
        repairs.update({name: F.sum(F.coalesce(m, F.lit(False)).cast("long")) for name, m in masks.items()})
    return out, both, bad, repairs


def _currency_codes(col: Any) -> Any:
    """Currency codes as :func:`churnml.contract.validation.currency_codes` reads them: text, trimmed, in
    capitals; blank or a null marker read as empty."""
    from pyspark.sql import functions as F

    text = F.upper(_stripped(col.cast("string")))
    return F.when(~text.isin("", *(m.upper() for m in NULL_MARKERS)), text)


def spark_amounts_in_one_currency(
    frame: Any, table: Table, rates: Mapping[str, float], max_examples: int = 5
) -> tuple[Any, dict[str, int]]:
    """:func:`churnml.contract.validation.amounts_in_one_currency` on Spark: ``frame`` (a coerced ``table``,
    its currency codes in :data:`CURRENCY` when it had a currency column) with its money column in
    score.currency and without the codes, and the notes of what was read (one job: the rows per code). The
    same rules (:func:`refused_currency_codes`, :func:`currency_read_notes`), the same refusal
    (:func:`currency_problem`, a row of each refused code as its examples, without the row number Spark rows
    lack), the same products (each amount times its currency's rate, a double)."""
    from pyspark.sql import functions as F

    if CURRENCY not in frame.columns:
        return frame, {}
    money = MONEY_COLUMNS[table]
    found = [(r[CURRENCY], int(r["count"])) for r in frame.groupBy(CURRENCY).count().collect()]
    # most rows first, then by code, rows without a code last: as rows_per_currency orders them
    counts = sorted(found, key=lambda cn: (-cn[1], cn[0] is None, cn[0] or ""))
    codes = refused_currency_codes(counts, rates)
    if codes:
        named = [c for c in codes if c is not None]
        refused = F.coalesce(F.col(CURRENCY).isin(*named), F.lit(False)) if named else F.lit(False)
        if None in codes:
            refused = refused | F.col(CURRENCY).isNull()
        firsts = frame.filter(refused).dropDuplicates([CURRENCY])
        examples = _examples(firsts, table, F.lit(True), [money, CURRENCY], max_examples)
        count = sum(n for c, n in counts if c in codes)
        raise ContractError(str(table), currency_problem(counts, rates), money, examples, count)
    notes = currency_read_notes(counts, rates, money)
    if not rates:
        return frame.drop(CURRENCY), notes
    factor = F.lit(1.0)
    for code, rate in rates.items():
        factor = F.when(F.col(CURRENCY) == code, F.lit(float(rate))).otherwise(factor)
    return frame.withColumn(money, F.col(money) * factor).drop(CURRENCY), notes


def _coercion_error(
    both: Any, table: Table, name: str, mask: Any, count: int, max_examples: int
) -> ContractError:
    """The refusal of values of ``name`` that could not be read, worded as ``validation._refuse_unreadable``
    words it: what such values usually are (read from up to 100 of them), and for times written as numbers
    only, the unit they look like (from their typical size)."""
    from pyspark.sql import functions as F

    spec = CONTRACT[table].column(name)
    original = F.col(f"_orig_{name}").cast("string")
    unread = both.filter(mask)
    shown = unread.withColumn(name, original)
    examples = _examples(shown, table, F.lit(True), [name], max_examples)
    hint = unreadable_hint(spec.kind, [r[0] for r in unread.select(original).limit(100).collect()], spec)
    if spec.kind is Kind.DATETIME:
        text = _stripped(original)
        row = unread.select(
            F.min(text.rlike(r"^-?\d+(\.\d+)?$").cast("int")).alias("digits"),
            F.median(F.abs(text.try_cast("double"))).alias("typical"),
        ).collect()[0]
        if row["digits"] == 1:
            hint = (
                f" (numbers{epoch_hint(pl.Series([row['typical']], dtype=pl.Float64))}: churnml does not guess "
                "their unit; write ISO 8601 text such as 2024-06-03 or 2024-06-03T10:00:00)"
            )
    return ContractError(str(table), f"cannot read values as {spec.kind.value}{hint}", name, examples, count)


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
        if spec.kind is Kind.FLOAT:  # before the bounds, as on Polars: NaN is above every one of them
            rules.append((NOT_FINITE, spec.name, F.isnan(col) | (F.abs(col) == float("inf")), [spec.name]))
        # what the column allows, said after a breach of its bounds as on Polars
        span = allowed_span(spec.low, spec.high, required=spec.required)
        if spec.low is not None:
            rules.append((f"value below {spec.low:g}{span}", spec.name, col < spec.low, [spec.name]))
        if spec.high is not None:
            rules.append((f"value above {spec.high:g}{span}", spec.name, col > spec.high, [spec.name]))
    return rules


def _term_key() -> list[Any]:
    """What makes a run of subscription terms one product's (``validation._term_key``): the client, the product
    and whether the term is an add-on (``is_addon``, null read as false)."""
    from pyspark.sql import functions as F

    addon = F.coalesce(F.col(Subscriptions.IS_ADDON).cast("boolean"), F.lit(False))
    return [F.col(CLIENT_ID), F.col(Subscriptions.PRODUCT), addon]


def _rules(
    frame: Any, table: Table, limit: datetime | None, timezone: str = "UTC"
) -> tuple[Any, list[tuple[str, str, Any, list[str]]]]:
    """(frame with helper columns, rules): each rule is (problem, column, breach mask, columns shown), the
    rules of :func:`churnml.contract.validation.checked_table` as Spark expressions, in its order (the first
    that fails is the one said); ``timezone`` (``data.timezone``): the zone a clock limit is said in, as the
    Polars read says it."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    schema = CONTRACT[table]
    rules = _column_rules(table)

    def repeated(keys: list[Any]) -> Any:
        """Rows whose ``keys`` another row has too (a helper column counts each key's rows)."""
        nonlocal frame
        name = f"_dup{sum(c.startswith('_dup') for c in frame.columns)}"
        frame = frame.withColumn(name, F.count(F.lit(1)).over(Window.partitionBy(*keys)))
        return F.col(name) > 1

    if schema.unique:
        keys = list(schema.unique)
        rules.append((f"duplicate key {keys}", keys[-1], repeated(keys), keys))
    if table is Table.PAYMENTS:
        rules.append(
            (
                f"{DUPLICATE_INVOICE} (its amount would count twice)",
                Payments.INVOICE_ID,
                F.col(Payments.INVOICE_ID).isNotNull() & repeated([CLIENT_ID, Payments.INVOICE_ID]),
                [Payments.INVOICE_ID, Payments.AMOUNT, Payments.PAID_AT, Payments.STATUS],
            )
        )
    if table is Table.SUBSCRIPTIONS:
        start, end = Subscriptions.START_DATE, Subscriptions.END_DATE
        shown = [Subscriptions.PRODUCT, start, end, Subscriptions.MRR]
        rules.append(
            (
                "duplicate term: the same client, product and start_date twice (ARR would count twice)",
                start,
                repeated([*_term_key(), F.col(start)]),
                shown,
            )
        )
        earlier = Window.partitionBy(*_term_key()).orderBy(start).rowsBetween(Window.unboundedPreceding, -1)
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
                    future_timestamp_problem(str(table), column, limit, timezone),
                    column,
                    F.col(column) >= F.lit(limit),  # the midnight after the as-of day is the next day's
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
    start when the term they renew ends (:func:`churnml.contract.validation.renewal_start`; add-ons apart from
    base terms: :func:`_term_key`)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    start, end = Subscriptions.START_DATE, Subscriptions.END_DATE
    earlier = Window.partitionBy(*_term_key()).orderBy(start).rowsBetween(Window.unboundedPreceding, -1)
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


def _pause_mask(frame: Any, products: Sequence[str]) -> Any:
    """The Spark twin of :func:`churnml.contract.validation.pause_terms_freed`'s test: a term of one of
    ``products`` (``data.pause_products``); raises :class:`ContractError` without a product column."""
    from pyspark.sql import functions as F

    from churnml.contract.validation import pause_products_unfound

    if Subscriptions.PRODUCT not in frame.columns:
        raise pause_products_unfound(products)
    return F.coalesce(F.col(Subscriptions.PRODUCT).isin(list(products)), F.lit(False))


def repaired_contract_frame(
    frame: Any,
    table: Table,
    limit: datetime | None,
    max_examples: int = 5,
    early_renewal_share: float = 0.0,
    timezone: str = "UTC",
    pause_products: Sequence[str] = (),
    currency_rates: Mapping[str, float] | None = None,
) -> tuple[Any, dict[str, int]]:
    """(:func:`contract_frame`'s checked frame, the repairs made: ``{problem: rows}``, under the names of the
    Polars read, :func:`churnml.contract.io.validated_table`: columns ignored, text trimmed, blank cells and
    null markers read as empty, allowed values in another case, dates before 1971 kept, and subscription terms
    renewed early starting when the term they renew ends (``data.early_renewal_share``:
    :func:`churnml.contract.io.repaired_renewals`), before the overlap check; the terms of ``pause_products``
    at mrr 0, ``data.pause_products``: :func:`churnml.contract.validation.pause_terms_freed`), a money table's
    amounts in score.currency (``data.currency_rates``: :func:`spark_amounts_in_one_currency`) after the
    checks, as on Polars."""
    from pyspark.sql import functions as F

    from churnml.contract.validation import EARLY_RENEWAL_REPAIR, PAUSE_PRODUCT_REPAIR

    coerced, both, bad, repairs = _coerced(frame, table, timezone, max_examples)
    renew = table is Table.SUBSCRIPTIONS and early_renewal_share > 0
    if renew:
        start = Subscriptions.START_DATE
        coerced = (
            _with_renewal_start(coerced, early_renewal_share)
            .withColumn(start, F.col(_RENEWAL_START))
            .drop(_RENEWAL_START)
        )
        both = _with_renewal_start(both, early_renewal_share)
    if table is Table.SUBSCRIPTIONS and pause_products:  # counted with the other repairs, in one pass
        pause = _pause_mask(coerced, pause_products)
        repairs[PAUSE_PRODUCT_REPAIR] = F.sum((pause & (F.col(Subscriptions.MRR) != 0)).cast("long"))
        mrr = F.when(pause, F.lit(0.0)).otherwise(F.col(Subscriptions.MRR))
        coerced = coerced.withColumn(Subscriptions.MRR, mrr.cast(coerced.schema[Subscriptions.MRR].dataType))
    checked, rules = _rules(both, table, limit, timezone)
    schema = CONTRACT[table]
    plausible = F.lit(datetime(PLAUSIBLE_FROM.year, PLAUSIBLE_FROM.month, PLAUSIBLE_FROM.day)).cast(
        "timestamp_ntz"
    )
    for column in schema.time_columns:  # placeholders for "unknown" (1900-01-01), named as on Polars
        (name,) = implausible_dates(pl.DataFrame({column: [datetime(1900, 1, 1)]}), schema)
        repairs[name] = F.sum((F.col(column) < plausible).cast("long"))
    moved = (F.col(_RENEWAL_START) != F.col(Subscriptions.START_DATE)).cast("long")
    counts = checked.select(
        F.count(F.lit(1)).alias("_rows"),
        *([F.sum(moved).alias("_renewed")] if renew else []),
        *[F.sum(m.cast("long")).alias(f"b_{n}") for n, m in bad.items()],
        *[count.alias(f"f{i}") for i, count in enumerate(repairs.values())],
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
            examples = _examples(checked, table, breach, shown, max_examples)
            if problem.startswith(NOT_ALLOWED):  # every value to map, as on Polars
                found = (
                    checked.filter(breach).groupBy(column).count().orderBy(F.desc("count"), column).collect()
                )
                problem += found_values_text([(r[column], int(r["count"])) for r in found])
            if problem.startswith(DUPLICATE_INVOICE):  # a retry log's failed attempts said, as on Polars
                attempt = F.col(Payments.PAID_AT).isNull() | (F.col(Payments.STATUS) == "failed")
                failed = checked.filter(breach & F.coalesce(attempt, F.lit(False))).count()
                refund = (F.col(Payments.STATUS) == "refunded") | (F.col(Payments.AMOUNT) < 0)
                refunds = checked.filter(breach & F.coalesce(refund, F.lit(False))).count()
                problem = duplicate_invoice_text(int(failed), int(counts[f"r{i}"]), int(refunds))
            raise ContractError(str(table), problem, column, examples, int(counts[f"r{i}"]))
    coerced, converted = spark_amounts_in_one_currency(coerced, table, currency_rates or {}, max_examples)
    made = {name: int(counts[f"f{i}"] or 0) for i, name in enumerate(repairs)}
    made.update(converted)
    moved = int(counts["_renewed"] or 0) if renew else 0
    made[EARLY_RENEWAL_REPAIR] = moved
    return coerced, {name: n for name, n in made.items() if n}


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
                _examples(unknown, name, unknown[CLIENT_ID].isNotNull(), [CLIENT_ID], max_examples),
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
    value from ``plausible_from`` on) and ``max_before`` (the greatest value before ``cut``); per table
    (``"<table>"``): its ``rows``, ``filled`` (each optional contract column's count of values: what
    :func:`churnml.jobs.score_spark.empty_spark_columns` reads) and, for subscriptions, ``last_end`` (the
    latest scheduled end of a term). One Spark aggregate per table."""
    from pyspark.sql import functions as F

    out: dict[str, Any] = {}
    for table, frame in tables.items():
        optional = [c for c in CONTRACT[table].optional if c in frame.columns]
        aggs = [F.count(F.lit(1)).alias("rows"), *(F.count(F.col(c)).alias(f"{c}|filled") for c in optional)]
        if table == Table.SUBSCRIPTIONS:
            aggs.append(F.max(F.col(Subscriptions.END_DATE)).alias("last_end"))
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
        entry: dict[str, Any] = {"rows": row.pop("rows"), "filled": {}}
        if "last_end" in row:
            entry["last_end"] = row.pop("last_end")
        for key, value in row.items():
            col, stat = key.split("|")
            if stat == "filled":
                entry["filled"][col] = value
            else:
                out.setdefault(f"{table}.{col}", {})[stat] = value
        out[str(table)] = entry
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
