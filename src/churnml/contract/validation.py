"""Validation of input tables against the data contract (``schemas.CONTRACT``).

Two steps per table, both pure functions over Polars frames:

1. :func:`coerced_table` turns whatever the file held into the contract's types: strings are
   trimmed (counted as a repair), empty strings and the usual null markers (:data:`NULL_MARKERS`: ``NULL``,
   ``N/A``, ``NaN``..., counted) become nulls, timestamps in the usual ISO layouts
   (with or without time zone; converted to naive UTC) are parsed, numbers and booleans are cast.
   Columns outside the contract are set aside and counted. A value that cannot be parsed is an error.
2. :func:`checked_table` enforces the rules: required columns without nulls, allowed values, numeric
   ranges, unique keys, ordered pairs (end not before start), and no timestamp after the as-of date.
3. :func:`amounts_in_one_currency` puts a money table's amounts in one currency: converted at
   ``data.currency_rates`` when its currency column holds several codes (counted per currency), refused
   without a rate for each.

:func:`checked_references` then verifies that every ``client_id`` of every table exists in
``clients``. Every failure is a :class:`ContractError` naming the table, the column, the problem and
up to ``max_examples`` offending rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import polars as pl
from rich.table import Table as RichTable

from churnml.contract.dataset import NOT_ACTIVITY, Dataset
from churnml.contract.schemas import (
    ACTIVITY_TABLES,
    CLIENT_ID,
    COLUMN_SYNONYMS,
    CONTRACT,
    POLARS_TYPE,
    TABLE_COLUMN_SYNONYMS,
    Churns,
    Clients,
    ColumnSpec,
    Events,
    Kind,
    Payments,
    Subscriptions,
    Table,
    TableSchema,
)

__all__ = [
    "CHURN_EVENTS_REPAIR",
    "CREATED_REPAIR",
    "CURRENCY",
    "CURRENCY_NAMES",
    "DATETIME_FORMATS",
    "DATETIME_TZ_FORMATS",
    "DUPLICATE_INVOICE",
    "EARLY_RENEWAL_REPAIR",
    "FIRST_RECORD",
    "MONEY_COLUMNS",
    "NOT_ALLOWED",
    "NOT_FINITE",
    "NULL_MARKERS",
    "OVERLAPPING_TERMS",
    "PAUSE_PRODUCT_REPAIR",
    "RHYTHM_FLOOR_DAYS",
    "RHYTHM_LOOKBACK_DAYS",
    "RHYTHM_MIN_HISTORY_DAYS",
    "TIME_OFFSET",
    "YEAR_FIRST",
    "ContractError",
    "TableRepairs",
    "allowed_lag_days",
    "allowed_span",
    "amounts_in_one_currency",
    "checked_references",
    "checked_table",
    "churns_from_events",
    "clients_created_by_first_record",
    "coerced_table",
    "column_synonym_matches",
    "compact_table",
    "converted_note",
    "currency_codes",
    "currency_column",
    "currency_named",
    "currency_notes",
    "currency_problem",
    "currency_read_notes",
    "data_last",
    "dataset_summary",
    "duplicate_invoice_problem",
    "duplicate_invoice_text",
    "early_renewals_repaired",
    "empty_cells_text",
    "empty_optional_columns",
    "empty_short_windows",
    "empty_value_problem",
    "epoch_hint",
    "first_records",
    "found_values_text",
    "future_timestamp_problem",
    "ignored_columns_note",
    "implausible_dates",
    "lagging_table_text",
    "lagging_tables",
    "missing_columns_problem",
    "normalised_name",
    "null_marker_repairs",
    "offset_datetime",
    "offset_minutes",
    "offset_text",
    "one_currency_note",
    "pause_products_unfound",
    "pause_terms_freed",
    "rates_example",
    "refused_currency_codes",
    "renewal_start",
    "repeated_as_categories",
    "rows_per_currency",
    "several_zones",
    "shown_value",
    "table_spans",
    "timestamp_span",
    "unmarked_currency_note",
    "unreadable_hint",
    "unsupported_type",
    "usual_gap_days",
    "wall_clock",
    "with_churn_events",
    "with_created_repaired",
    "with_null_markers_empty",
    "zone_offset_text",
    "zone_repair_texts",
    "zone_repairs",
]

DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
)
DATETIME_TZ_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
# Timestamps before this are placeholders for "unknown" (1900-01-01, 1970-01-01), not real dates.
PLAUSIBLE_FROM = date(1971, 1, 1)


def known_time(column: str) -> pl.Expr:
    """The times of ``column`` as ``pl.Datetime("us")``, null where before :data:`PLAUSIBLE_FROM`: a placeholder
    for "unknown" (a legacy account's ``created_at`` of 1900-01-01, kept and counted by validation) is no date to
    count days from (a win-back tenure of 126 years). Named ``column``."""
    cut = datetime(PLAUSIBLE_FROM.year, PLAUSIBLE_FROM.month, PLAUSIBLE_FROM.day)
    t = pl.col(column).cast(pl.Datetime("us"))
    return pl.when(t >= cut).then(t).alias(column)


# What exports write for an empty cell (Postgres/BI "NULL", pandas "NaN", spreadsheets "#N/A"...): read as
# empty in every column, and counted. Not "NA": a real region or country code (Namibia).
NULL_MARKERS = ("NULL", "null", "Null", "(null)", "NaN", "nan", "N/A", "n/a", "#N/A", "None")
_TRUE = ("true", "t", "yes", "y", "1", "1.0")
_FALSE = ("false", "f", "no", "n", "0", "0.0")


class ContractError(ValueError):
    """Input data breaks the contract. The message names table, column, problem and example rows."""

    def __init__(
        self,
        table: str,
        problem: str,
        column: str | None = None,
        examples: pl.DataFrame | None = None,
        count: int | None = None,
    ) -> None:
        self.table = table
        self.column = column
        self.problem = problem
        self.count = count
        self.examples = examples
        where = f"table '{table}'" + (f", column '{column}'" if column else "")
        how_many = f" ({count:,} row{'' if count == 1 else 's'})" if count is not None else ""
        message = f"{where}: {problem}{how_many}"
        if examples is not None and examples.height:
            rows = "; ".join(
                ", ".join(f"{k}={shown_value(v)}" for k, v in row.items())
                for row in examples.iter_rows(named=True)
            )
            message += f". e.g. {rows}"
        super().__init__(message)


def shown_value(value: object) -> str:
    """A cell as an error message shows it: dates and times in ISO form (a date alone at midnight), text
    quoted, anything else as Python writes it (``datetime.datetime(2024, 5, 29, 0, 0)`` read as code)."""
    if isinstance(value, datetime):
        return repr(value.date().isoformat() if value.time() == time() else value.isoformat(sep=" "))
    if isinstance(value, date):
        return repr(value.isoformat())
    return repr(value)


@dataclass(frozen=True)
class TableRepairs:
    """Counts of what coercion repaired or set aside in one table: ``{problem: rows}``."""

    counts: Mapping[str, int]


def _examples(frame: pl.DataFrame, mask: pl.Expr, columns: list[str], limit: int) -> pl.DataFrame:
    shown = [c for c in dict.fromkeys([CLIENT_ID, *columns]) if c in frame.columns]
    return (
        frame.with_row_index("row")
        .filter(mask)
        .select(["row", *shown])
        .head(limit)
        .with_columns(pl.col("row") + 1)  # 1-based, as a person counts rows in a file
    )


def epoch_hint(values: pl.Series) -> str:
    """', they look like seconds since 1970' (or milliseconds, ...) from the size of the typical value."""
    typical = values.drop_nulls().abs().median()
    if typical is None:
        return ""
    if 2e4 <= float(typical) < 8e4:  # 1954 .. 2119 as days since 1899-12-30
        return ", they look like spreadsheet serial dates (days since 1899-12-30: 45292 is 2024-01-01)"
    for unit, low, high in (
        ("seconds", 1e8, 1e10),
        ("milliseconds", 1e11, 1e13),
        ("microseconds", 1e14, 1e16),
        ("nanoseconds", 1e17, 1e19),
    ):
        if low <= float(typical) < high:
            return f", they look like {unit} since 1970"
    return ""


def wall_clock(zoned: pl.Expr, timezone: str = "UTC") -> pl.Expr:
    """Zoned times as the naive wall-clock time of ``timezone`` (``data.timezone``), in microseconds."""
    return zoned.dt.convert_time_zone(timezone).dt.replace_time_zone(None).dt.cast_time_unit("us")


def offset_datetime(
    text: pl.Expr, timezone: str = "UTC", formats: Sequence[str] = DATETIME_TZ_FORMATS
) -> pl.Expr:
    """Texts written with a UTC offset or "Z" (ISO 8601 by default: ``2024-03-01T00:30:00+01:00``,
    ``...T10:00:00.000Z``; or the strftime ``formats`` given, holding ``%z``) as the naive wall-clock time of
    ``timezone`` (``data.timezone``); null where none reads."""
    return pl.coalesce(
        [
            wall_clock(text.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC"), timezone)
            for f in formats
        ]
    )


# every layout of DATETIME_FORMATS and DATETIME_TZ_FORMATS starts with the year in four digits; "%Y" reads fewer,
# so the "06" of a day-first "06/03/24" would be the year 6 (a login of 2024 kept in antiquity as a "placeholder")
YEAR_FIRST = r"^\d{4}[-/]"


def _parsed_datetime(expr: pl.Expr, timezone: str = "UTC") -> pl.Expr:
    """Text times in one of the contract's layouts (:data:`DATETIME_FORMATS`, or with a UTC offset as ``timezone``'s
    wall-clock time), written from a year of four digits; null otherwise (``06/03/24`` is no ``%Y/%m/%d``)."""
    naive = [expr.str.to_datetime(f, strict=False, time_unit="us") for f in DATETIME_FORMATS]
    read = pl.coalesce([*naive, offset_datetime(expr, timezone)])
    return pl.when(expr.str.contains(YEAR_FIRST)).then(read)


# a UTC offset or "Z" at the end of a text, and after a written time of day ("10:00+01", "10:00:00.5
# -05:00", "10:00Z"): group 1
_OFFSET_END = r"(Z|[+-]\d{2}(?::?\d{2})?)$"
TIME_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*" + _OFFSET_END


def offset_minutes(offset: pl.Expr) -> pl.Expr:
    """A written UTC offset ("Z", "+01", "+0100", "-05:00") as signed minutes east of UTC."""
    digits = offset.str.replace_all(r"[^0-9]", "")
    hours = digits.str.slice(0, 2).cast(pl.Int32, strict=False).fill_null(0)
    minutes = digits.str.slice(2, 2).cast(pl.Int32, strict=False).fill_null(0)
    sign = pl.when(offset.str.starts_with("-")).then(-1).otherwise(1)
    return sign * (hours * 60 + minutes)


def offset_text(minutes: int) -> str:
    """Signed minutes east of UTC in the ISO form: -240 -> "-04:00", 0 -> "+00:00"."""
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def several_zones(offsets: Sequence[int]) -> bool:
    """Whether written offsets (minutes east of UTC) come from more than one zone: one zone's offsets lie
    at most an hour apart (winter and summer time: +01:00 and +02:00 are one Berlin)."""
    return bool(offsets) and max(offsets) - min(offsets) > 60


def zone_repair_texts(column: str, timezone: str, several: bool) -> tuple[str, str]:
    """The names (no counts, the same in every batch) under which :func:`zone_repairs` counts the times of
    ``column`` whose clock time the reading in ``timezone`` changed, and those of them now on another
    calendar day; with the advice that fits one zone (set data.timezone to it) or ``several``."""
    if timezone == "UTC":
        moved = (
            f"{column}: times written with an offset other than UTC's, read in UTC: their clock time changed"
        )
        advice = "(data.timezone: your zone, e.g. Europe/Paris, keeps local times and days)"
    else:
        moved = (
            f"{column}: times written with an offset other than {timezone}'s, read as {timezone} time: their clock "
            "time changed"
        )
        advice = "(data.timezone)"
    if several:
        advice = (
            "(offsets more than an hour apart: several zones in one column; data.timezone keeps one zone's local "
            "days: to keep each client's, export local times without an offset)"
        )
    day = (
        f"{column}: of those, times on another calendar day than the one written (an evening or a night moved "
        "across midnight: daily and weekly features count them on that day)"
    )
    return f"{moved} {advice}", day


def zone_offset_text(column: str, minutes: int) -> str:
    """The name under which :func:`zone_repairs` counts the times of ``column`` written at one offset."""
    return f"{column}: times written at UTC offset {offset_text(minutes)}"


def zone_repairs(spec: ColumnSpec, original: pl.Series, timezone: str = "UTC") -> dict[str, int]:
    """Times that reading them in ``timezone`` (``data.timezone``) moved: written with an offset, or stored
    in a zone, whose wall-clock time differs from ``timezone``'s at that instant (a Paris time read in
    Paris is not moved). Counted (grain: rows of the column) under the names of :func:`zone_repair_texts`:
    the times whose clock time changed, and apart those of them now on another calendar day (what daily
    and weekly features see). When written offsets lie more than an hour apart (:func:`several_zones`: a
    Berlin and a New York office in one export), also the rows per offset (:func:`zone_offset_text`), as
    no one data.timezone keeps every local day. A text column without an offset is not parsed again."""
    if spec.kind is not Kind.DATETIME:
        return {}
    per_offset: dict[int, int] = {}
    if isinstance(original.dtype, pl.Datetime) and original.dtype.time_zone is not None:
        own = original.dt.replace_time_zone(None).dt.cast_time_unit("us")
        now = original.to_frame().select(wall_clock(pl.col(original.name), timezone)).to_series()
    elif original.dtype == pl.String:
        text = original.str.strip_chars()
        offset = text.filter(text.str.contains(TIME_OFFSET).fill_null(False))
        if offset.len() == 0:  # most columns: nothing to parse again
            return {}
        frame = offset.to_frame("t")
        own = frame.select(_parsed_datetime(pl.col("t").str.replace(r"\s*" + _OFFSET_END, ""))).to_series()
        now = frame.select(_parsed_datetime(pl.col("t"), timezone)).to_series()
        counts = frame.group_by(offset_minutes(pl.col("t").str.extract(_OFFSET_END, 1)).alias("m")).len()
        per_offset = dict(
            zip(counts.get_column("m").to_list(), counts.get_column("len").to_list(), strict=True)
        )
    else:
        return {}
    moved = int((own != now).fill_null(False).sum())
    if not moved:
        return {}
    several = several_zones(list(per_offset))
    clock, day = zone_repair_texts(spec.name, timezone, several)
    out = {clock: moved}
    other_day = int((own.dt.date() != now.dt.date()).fill_null(False).sum())
    if other_day:
        out[day] = other_day
    if several:
        out.update({zone_offset_text(spec.name, m): n for m, n in sorted(per_offset.items())})
    return out


def _empty_or_marker(text: pl.Expr) -> pl.Expr:
    """Trimmed text with blank cells and null markers (:data:`NULL_MARKERS`) as nulls."""
    return text.str.strip_chars().replace(["", *NULL_MARKERS], None)


def with_null_markers_empty(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
    """``frame`` with every text cell holding a null marker (:data:`NULL_MARKERS`, around spaces) empty, and
    the count per column and marker (:func:`null_marker_repairs`). Same rows and columns: for readers whose
    columns are not the contract's (``churnml adapt``'s transaction log)."""
    text = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    counts: dict[str, int] = {}
    for column in text:
        counts.update(null_marker_repairs(column, frame.get_column(column)))
    if not counts:
        return frame, counts
    marked = [
        pl.when(pl.col(c).str.strip_chars().is_in(NULL_MARKERS)).then(None).otherwise(pl.col(c)).alias(c)
        for c in text
    ]
    return frame.with_columns(marked), counts


def null_marker_repairs(column: str, original: pl.Series) -> dict[str, int]:
    """Cells of a text column holding a null marker (``NULL``, ``N/A``..., :data:`NULL_MARKERS`), read as
    empty: ``{"user_id: 'NULL' read as empty": rows}``, one entry per marker found (same names in every batch)."""
    if original.dtype != pl.String:
        return {}
    found = original.str.strip_chars().filter(original.str.strip_chars().is_in(NULL_MARKERS))
    if found.len() == 0:
        return {}
    return {f"{column}: {marker!r} read as empty": int(n) for marker, n in found.value_counts().iter_rows()}


def _as_kind(expr: pl.Expr, dtype: pl.DataType, kind: Kind, timezone: str = "UTC") -> pl.Expr:
    """Expression converting a column of dtype ``dtype`` to the contract type of ``kind`` (times with a zone
    or offset as ``timezone``'s wall-clock time)."""
    if kind is Kind.STR:
        text = expr.cast(pl.String)
        if dtype.is_float():
            # 12345.0 -> "12345": ids exported from spreadsheets arrive as floats
            text = (
                pl.when(expr == expr.round(0))
                .then(expr.cast(pl.Int64, strict=False).cast(pl.String))
                .otherwise(text)
            )
        return _empty_or_marker(text)
    if kind is Kind.DATETIME:
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is not None:
                return wall_clock(expr, timezone)
            return expr.dt.cast_time_unit("us")
        if dtype == pl.Date:
            return expr.cast(pl.Datetime("us"))
        if dtype == pl.String:
            return _parsed_datetime(_empty_or_marker(expr), timezone)
        return expr.cast(pl.Datetime("us"), strict=False)
    if kind is Kind.BOOL:
        if dtype == pl.Boolean:
            return expr
        low = expr.cast(pl.String).str.strip_chars().str.to_lowercase()
        return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False).otherwise(None)
    if dtype == pl.String:
        expr = _empty_or_marker(expr)
    if kind is Kind.INT and (dtype.is_float() or dtype == pl.String):
        as_float = expr.cast(pl.Float64, strict=False)
        # non-strict: a whole number past Int64's range (1e20) is unreadable, reported with its rows, not a crash
        return (
            pl.when(as_float == as_float.round(0)).then(as_float.cast(pl.Int64, strict=False)).otherwise(None)
        )
    return expr.cast(POLARS_TYPE[kind], strict=False)


def _unchanged_columns(frame: pl.DataFrame, present: list[ColumnSpec]) -> set[str]:
    """Columns that coercion would leave exactly as they are: already of the contract type and, for
    text (stored as text or as categories), without a value to trim or blank (checked on the distinct
    values: cheap on repeated ids, cheaper still on categories). These are passed through untouched (no
    copy, no per-row checks; categories read as the text they show)."""
    same = {s.name for s in present if s.kind is not Kind.STR and frame.schema[s.name] == POLARS_TYPE[s.kind]}
    text = [
        s
        for s in present
        if s.kind is Kind.STR and isinstance(frame.schema[s.name], pl.String | pl.Categorical | pl.Enum)
    ]
    if text:
        distinct = frame.select([pl.col(s.name).unique().cast(pl.String).implode() for s in text])
        for spec in text:
            values = distinct.get_column(spec.name).explode()
            stripped = values.str.strip_chars()
            changed = (values != stripped) | (stripped == "") | stripped.is_in(NULL_MARKERS)
            if spec.allowed is not None:
                changed = changed | _other_case(values, spec.allowed)
            if not changed.any():
                same.add(spec.name)
    return same


def _kept_categories(spec: ColumnSpec, frame: pl.DataFrame, kept: set[str]) -> bool:
    """Whether ``frame``'s column of ``spec`` passes coercion as the categories it holds: a ``repeated`` text
    column (which :func:`compact_table` makes categories anyway) stored as ``pl.Categorical`` (the global
    categories: what :func:`compact_table` gives) with nothing to trim or blank (in ``kept``,
    :func:`_unchanged_columns`): the scoring job's spilled events
    (:meth:`churnml.jobs.score_data.EventBatches.spilled`) are read back so, without a round trip through text.
    Other category columns are read as the text they show."""
    return spec.repeated and spec.name in kept and frame.schema[spec.name] == pl.Categorical()


def _other_case(text: pl.Series | pl.Expr, allowed: Sequence[str]) -> Any:
    """Values that are an allowed value in another letter case ("Email" for "email")."""
    allowed = list(allowed)
    return ~text.is_in(allowed) & text.str.to_lowercase().is_in(allowed)


def _case_folded(text: pl.Expr, allowed: Sequence[str]) -> pl.Expr:
    """``text`` with each allowed value written in another case ("Email", "INBOUND"...) in the contract's."""
    return pl.when(_other_case(text, allowed)).then(text.str.to_lowercase()).otherwise(text)


def _plain_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def normalised_name(name: str) -> str:
    """A column name as :data:`~churnml.contract.schemas.COLUMN_SYNONYMS` writes it: lower case, every run of
    other characters than letters and digits one ``_``, a capital after a small letter a new word, stripped of
    ``_`` at both ends: ``"Account ID"`` -> ``account_id``, ``"CustomerID"`` -> ``customer_id``,
    ``" Signup-Date "`` -> ``signup_date``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")


def column_synonym_matches(
    missing: Sequence[str], found: Sequence[str], table: str | None = None
) -> list[tuple[str, str]]:
    """``(found, missing)`` pairs: a column found that is a common name of a missing required column
    (:data:`~churnml.contract.schemas.COLUMN_SYNONYMS`, and :data:`~churnml.contract.schemas.TABLE_COLUMN_SYNONYMS`
    of ``table``), compared normalised and without the ``_`` (:func:`normalised_name`: "Account ID", "AccountID",
    "account-id" are account_id), in the order of ``missing`` then ``found``. A column of the table's contract
    (events' ``user_id``) is never another's, nor is one written like a missing one (:func:`missing_columns_problem`
    says those)."""
    schema = CONTRACT.get(Table(table)) if table in {t.value for t in Table} else None
    own = {_plain_name(c.name) for c in schema.columns} if schema is not None else set()
    extra = TABLE_COLUMN_SYNONYMS.get(Table(table), {}) if schema is not None else {}
    pairs = []
    for m in missing:
        names = {_plain_name(n) for n in (*COLUMN_SYNONYMS.get(m, ()), *extra.get(m, ()))}
        for f in found:
            plain = _plain_name(normalised_name(f))
            if plain in names and plain not in own and plain not in {_plain_name(x) for x in missing}:
                pairs.append((f, m))
    return pairs


def missing_columns_problem(missing: Sequence[str], found: Sequence[str], table: str | None = None) -> str:
    """The problem of a table without some required columns, naming the columns found that differ from
    a missing one only in case or punctuation (``Client_ID``, ``ClientId`` for ``client_id``), and those that
    are a common name of one in a CRM's or a billing system's export (:func:`column_synonym_matches` in
    ``table``: "'Account ID' looks like 'client_id': rename it"). Nothing is renamed: a guess said, not made."""
    near = [(f, m) for m in missing for f in found if _plain_name(f) == _plain_name(m)]
    rename = [f"{f!r} is {m!r} written otherwise: rename it" for f, m in near]
    named = {m for _, m in near}
    alike: dict[str, list[str]] = {}
    for f, m in column_synonym_matches(missing, found, table):
        if m not in named:
            alike.setdefault(m, []).append(f)
    for m, fs in alike.items():
        if len(fs) == 1:
            rename.append(f"{fs[0]!r} looks like {m!r}: rename it")
        else:
            rename.append(f"{' or '.join(repr(f) for f in fs)} look like {m!r}: rename one of them")
    said = "; ".join(rename)
    return f"missing required column(s) {list(missing)}; found {list(found)}" + (f" ({said})" if said else "")


def ignored_columns_note(extra: Sequence[str], found: Sequence[str], schema: TableSchema) -> str:
    """The repair note of columns outside the contract (``extra``, among the table's columns ``found``),
    naming those that are an absent optional column of ``schema`` written in another case or punctuation
    (``Segment`` for ``segment``), as :func:`missing_columns_problem` names required ones."""
    absent = [s.name for s in schema.columns if not s.required and s.name not in found]
    near = [(f, m) for f in extra for m in absent if _plain_name(f) == _plain_name(m)]
    rename = "; ".join(f"{f!r} is the optional column {m!r} written otherwise: rename it" for f, m in near)
    return f"ignored columns {list(extra)}" + (f" ({rename})" if rename else "")


_DAY_MONTH = re.compile(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}([ T].*)?")
_MONEY = re.compile(r"[$€£¥]|\d,\d{3}\b|\b(EUR|USD|GBP|CHF)\b")
# 12,50 or, with one separator grouping thousands, 1.546,81 (German, Dutch, ... exports) or 5 425,06 (French
# exports: a plain space, a no-break space or a narrow no-break space)
_GROUP_SEPARATORS = {
    ".": "dots",
    " ": "spaces",
    "\u00a0": "no-break spaces (U+00A0)",
    "\u202f": "narrow no-break spaces (U+202F)",
}
_DECIMAL_COMMA = re.compile(r"-?(\d+|\d{1,3}(?P<sep>[. \u00a0\u202f])\d{3}((?P=sep)\d{3})*),\d+")


_PERCENT = re.compile(r"-?\d+([.,]\d+)?\s*%")
_YES_NO = ("true", "false", "yes", "no", "y", "n", "t", "f")


def _whole_numbers(spec: ColumnSpec | None) -> str:
    """ "whole numbers from 0 to 3" for a bounded column, else "whole numbers"."""
    if spec is not None and spec.low is not None and spec.high is not None:
        return f"whole numbers from {spec.low:g} to {spec.high:g}"
    return "whole numbers"


def unreadable_hint(kind: Kind, values: Sequence[str | None], spec: ColumnSpec | None = None) -> str:
    """What values that could not be read as ``kind`` usually are, and what to write instead ("" when
    nothing is recognised): dates written day or month first (03/15/2024), amounts with a currency sign
    or thousands separators ($1,234.50), decimal commas (12,50, 1.546,81, 5 425,06 with any space grouping
    thousands), percentages (15%), yes/no words in a
    column of numbers (TRUE, no); for a true/false column, the words it reads (oui, ja are none). ``spec``: the column, for its allowed range."""
    texts = [str(v).strip() for v in values if v is not None and str(v).strip()]
    if not texts:
        return ""
    if kind in (Kind.FLOAT, Kind.INT) and all(_PERCENT.fullmatch(t) for t in texts):
        return " (percentages: write a fraction, such as 0.15 for 15%)"
    if kind in (Kind.FLOAT, Kind.INT) and all(t.lower() in _YES_NO for t in texts):
        return f" (yes/no words: this column takes {_whole_numbers(spec)}, such as 1 for yes and 0 for no)"
    if kind is Kind.DATETIME and all(_DAY_MONTH.fullmatch(t) for t in texts):
        return (
            " (dates written day or month first, such as 03/15/2024: churnml does not guess which comes "
            "first; write ISO 8601 dates such as 2024-03-15, or name a CSV file's formats in data.csv.date_formats, "
            "such as %d/%m/%Y and %d/%m/%Y %H:%M, %y for a year of two digits)"
        )
    if kind is Kind.BOOL:
        return (
            f" (churnml reads {', '.join(_TRUE)} as true and {', '.join(_FALSE)} as false, in any letter case: "
            "write the column with these words)"
        )
    if kind in (Kind.FLOAT, Kind.INT) and any(_MONEY.search(t) for t in texts):
        return " (a currency sign or thousands separators: write plain numbers such as 1234.50)"
    if kind in (Kind.FLOAT, Kind.INT) and all(_DECIMAL_COMMA.fullmatch(t) for t in texts):
        return _decimal_comma_hint(texts)
    return ""


def _decimal_comma_hint(texts: Sequence[str]) -> str:
    """The hint for numbers written with a decimal comma (each of ``texts`` matches ``_DECIMAL_COMMA``),
    naming the thousands separators seen (dots, spaces, no-break spaces) and one of them written right."""
    seen = {m.group("sep") for t in texts if (m := _DECIMAL_COMMA.fullmatch(t)) and m.group("sep")}
    grouped = [t for t in texts if any(sep in t for sep in seen)]
    example = grouped[0] if grouped else texts[0]
    plain = re.sub(r"[. \u00a0\u202f]", "", example).replace(",", ".")
    setting = "; a CSV file reads so with data.csv.decimal_comma: true"
    if not seen:
        return f" (decimal commas: write a decimal point, such as {plain} for {example}{setting})"
    names = " and ".join(_GROUP_SEPARATORS[sep] for sep in _GROUP_SEPARATORS if sep in seen)
    return (
        f" (decimal commas, with {names} grouping thousands: write a decimal point and no thousands "
        f"separator, such as {plain} for {example}{setting})"
    )


def _checked_shape(frame: pl.DataFrame, schema: TableSchema) -> None:
    """Refuse a frame without columns, without a required column, or without rows."""
    table = str(schema.name)
    if frame.width == 0:
        raise ContractError(table, "has no columns: it is not a table")
    missing = [c for c in schema.required if c not in frame.columns]
    if missing:
        raise ContractError(table, missing_columns_problem(missing, frame.columns, table), column=missing[0])
    if frame.height == 0:
        raise ContractError(
            table, "is empty (a header but no rows); remove the file if the table does not apply"
        )


def _refuse_numeric_timestamps(
    frame: pl.DataFrame, present: list[ColumnSpec], table: str, max_examples: int
) -> None:
    """Timestamps stored as numbers have no unit churnml could trust: refuse them with a hint."""
    for spec in present:
        if spec.kind is Kind.DATETIME and frame.schema[spec.name].is_numeric():
            raise ContractError(
                table,
                f"timestamps stored as numbers ({frame.schema[spec.name]}){epoch_hint(frame.get_column(spec.name))}; "
                "churnml does not guess their unit: store them as Parquet timestamps or ISO 8601 text "
                "(e.g. pl.from_epoch(column, time_unit='s'))",
                column=spec.name,
                examples=_examples(frame, pl.col(spec.name).is_not_null(), [spec.name], max_examples),
                count=int(frame.get_column(spec.name).is_not_null().sum()),
            )


def unsupported_type(dtype: pl.DataType, kind: Kind) -> str | None:
    """Why a column stored as ``dtype`` cannot hold the contract's ``kind`` (None when it can be read):
    nested cells, durations or times of day, true/false for an amount, dates for a number."""
    if dtype.is_nested() or dtype in (pl.Object, pl.Binary):
        return (
            f"holds {dtype} values (a list, a record or bytes in each cell); store one plain value per cell"
        )
    if isinstance(dtype, pl.Duration):
        wanted = "hours as numbers, such as 2.5" if kind in (Kind.FLOAT, Kind.INT) else "ISO 8601 times"
        return f"holds durations ({dtype}), read as a count of their unit they would be wrong; write {wanted}"
    if dtype == pl.Time:
        return "holds times of day without a date; write dates and times, such as 2024-06-03T10:00:00"
    if kind is Kind.FLOAT and dtype == pl.Boolean:
        return "holds true/false values where the contract wants numbers"
    if kind in (Kind.FLOAT, Kind.INT) and dtype.is_temporal():
        return f"holds dates or times ({dtype}) where the contract wants numbers"
    return None


def _refuse_unsupported_types(
    frame: pl.DataFrame, present: list[ColumnSpec], table: str, max_examples: int
) -> None:
    """A column stored in a type that no conversion reads right is refused, naming it (rather than a
    duration read as nanoseconds, or a traceback)."""
    for spec in present:
        why = unsupported_type(frame.schema[spec.name], spec.kind)
        if why:
            raise ContractError(
                table,
                why,
                column=spec.name,
                examples=_examples(frame, pl.col(spec.name).is_not_null(), [spec.name], max_examples),
                count=int(frame.get_column(spec.name).is_not_null().sum()),
            )


def _contract_value(expr: pl.Expr, dtype: pl.DataType, spec: ColumnSpec, timezone: str = "UTC") -> pl.Expr:
    """``expr`` in the contract type of ``spec`` (:func:`_as_kind`); for a text column with allowed values,
    those written in another case in the contract's (:func:`_case_folded`)."""
    value = _as_kind(expr, dtype, spec.kind, timezone)
    return _case_folded(value, spec.allowed) if spec.kind is Kind.STR and spec.allowed is not None else value


def _text_repairs(spec: ColumnSpec, original: pl.Series) -> dict[str, int]:
    """Cells of a text column that were trimmed, were blank (read as empty), or held an allowed value in
    another case (read in the contract's: "Email" as "email"); cells of any column written as text that held
    a null marker ("NULL", "N/A"...: :func:`null_marker_repairs`), read as empty."""
    counts: dict[str, int] = null_marker_repairs(spec.name, original)
    if spec.kind is Kind.STR and original.dtype == pl.String:
        trimmed = int(((original != original.str.strip_chars()) & original.is_not_null()).sum())
        if trimmed:
            counts[f"{spec.name}: whitespace trimmed"] = trimmed
        blank = int((original.str.strip_chars() == "").sum())
        if blank:
            counts[f"{spec.name}: blank cells read as empty"] = blank
        if spec.allowed is not None:
            cased = int(_other_case(original.str.strip_chars(), spec.allowed).fill_null(False).sum())
            if cased:
                counts[f"{spec.name}: values in another letter case read as the contract's"] = cased
    return counts


def _refuse_unreadable(
    frame: pl.DataFrame, converted: pl.DataFrame, spec: ColumnSpec, table: str, max_examples: int
) -> None:
    """A value that is there but could not be read as its column's type is an error (with examples)."""
    original = frame.get_column(spec.name)
    new = converted.get_column(spec.name)
    text_blank = (  # blank or a null marker: read as empty, not unreadable
        original.str.strip_chars().is_in(["", *NULL_MARKERS]).fill_null(False)
        if original.dtype == pl.String
        else pl.Series([False] * frame.height)
    )
    bad = original.is_not_null() & new.is_null() & ~text_blank
    if not bad.any():
        return
    shown = (
        frame.with_columns(converted.get_column(CLIENT_ID).alias(CLIENT_ID))
        if CLIENT_ID in converted.columns
        else frame
    )
    examples = _examples(shown, pl.Series(bad), [spec.name], max_examples)
    digits = original.filter(bad).cast(pl.String).str.strip_chars().str.contains(r"^-?\d+(\.\d+)?$")
    hint = unreadable_hint(spec.kind, original.filter(bad).cast(pl.String).head(100).to_list(), spec)
    if spec.kind is Kind.DATETIME and digits.all():
        numbers = original.filter(bad).cast(pl.Float64, strict=False)
        hint = (
            f" (numbers{epoch_hint(numbers)}: churnml does not guess their unit; write "
            "ISO 8601 text such as 2024-06-03 or 2024-06-03T10:00:00)"
        )
    raise ContractError(
        table,
        f"cannot read values as {spec.kind.value}{hint}",
        column=spec.name,
        examples=examples,
        count=int(bad.sum()),
    )


# the money column of each table whose amounts are money, and the names a currency column goes by in an export
MONEY_COLUMNS = {Table.PAYMENTS: Payments.AMOUNT, Table.SUBSCRIPTIONS: Subscriptions.MRR}
CURRENCY_NAMES = ("currency", "currency_code", "curr", "ccy", "order_currency")  # the last: WooCommerce's
# a money table's currency codes, carried by coerced_table beside the contract columns for
# amounts_in_one_currency (contract.io.contract_table), which converts the amounts and drops them
CURRENCY = "currency"
_RATES = "data.currency_rates"


def currency_column(columns: Sequence[str], table: Table) -> str | None:
    """The column of a money table (:data:`MONEY_COLUMNS`) that names each row's currency (:func:`currency_named`:
    ``currency``, ``currency_code``, ``curr``, ``ccy`` or ``order_currency``, in any case); None for other tables
    and without one."""
    if table not in MONEY_COLUMNS:
        return None
    return currency_named(columns)


def currency_named(columns: Sequence[str]) -> str | None:
    """The first of ``columns`` named as a currency column (:data:`CURRENCY_NAMES`, in any case, spaces and
    hyphens read as ``_``: ``Currency``, ``Currency Code``, ``CCY``); None without one."""
    return next(
        (c for c in columns if "_".join(c.strip().lower().replace("-", " ").split()) in CURRENCY_NAMES), None
    )


def currency_codes(codes: pl.Expr) -> pl.Expr:
    """Currency codes as they are compared with ``data.currency_rates``: text, trimmed, in capitals; blank
    or a null marker ("N/A") read as empty."""
    text = codes.cast(pl.String).str.strip_chars().str.to_uppercase()
    return pl.when(text.is_in(["", *(m.upper() for m in NULL_MARKERS)])).then(None).otherwise(text)


def rows_per_currency(codes: pl.Series) -> list[tuple[str | None, int]]:
    """``[(code, rows)]`` of a money table's currency codes (:func:`currency_codes`), most rows first (then by
    code; None: rows without one)."""
    counts = codes.value_counts(name="rows").sort(
        ["rows", codes.name], descending=[True, False], nulls_last=True
    )
    return [(code, int(n)) for code, n in counts.iter_rows()]


def _currency_counts_text(counts: Sequence[tuple[str | None, int]]) -> str:
    """``"USD (3,120 rows), JPY (1,204 rows), no currency (5 rows)"``."""
    return ", ".join(
        f"{'no currency' if c is None else c} ({n:,} row{'s' if n != 1 else ''})" for c, n in counts
    )


def rates_example(codes: Sequence[str], rates: Mapping[str, float]) -> str:
    """The setting that would convert ``codes``, as a config file given with ``--config`` and ``--set`` write
    it (no file is read unless ``--config`` names it): the rates known (``rates``), RATE where one is to give."""
    mapping = "{" + ", ".join(f"{c}: {rates[c]:g}" if c in rates else f"{c}: RATE" for c in codes) + "}"
    return (
        f"in a config file (--config) 'data: {{currency_rates: {mapping}}}', or --set \"{_RATES}={mapping}\" (RATE: what one "
        "unit of that currency is worth in score.currency, which is there at 1)"
    )


def currency_problem(counts: Sequence[tuple[str | None, int]], rates: Mapping[str, float]) -> str:
    """Why a money table's amounts (rows per currency ``counts``: :func:`rows_per_currency`) cannot be read:
    several currencies without rates, a currency without one among ``rates`` (``data.currency_rates``), or rows
    without a currency among amounts to convert."""
    codes = [c for c, _ in counts if c is not None]
    summed = (
        "churnml would sum them as one amount in score.currency (ARR, revenue at risk, value tiers, priorities, "
        "the payment features and the reasons' amounts)"
    )
    if not rates:
        return (
            f"amounts in several currencies (its currency column): {_currency_counts_text(counts)}; {summed}. Give "
            f"each currency's rate into score.currency with {_RATES}, {rates_example(codes, rates)}"
        )
    missing = [(c, n) for c, n in counts if c is not None and c not in rates]
    if not missing:
        return (
            f"rows without a currency (its currency column empty) among amounts to convert into score.currency "
            f"({_currency_counts_text(counts)}): write each row's currency"
        )
    return (
        f"amounts in a currency without a rate in {_RATES}: {_currency_counts_text(missing)}"
        f" (the table holds {_currency_counts_text(counts)}); add the rate of each into score.currency, "
        f"{rates_example(codes, rates)}"
    )


def converted_note(money: str, code: str, rate: float) -> str:
    """The repair note of the ``money`` amounts in ``code`` converted at ``rate`` (one per currency: the
    batches of a training table add up under it)."""
    return f"{money}: amounts in {code} converted into score.currency at {rate:g} ({_RATES})"


def one_currency_note(money: str, code: str) -> str:
    """The note of a money table whose every amount is in the one currency ``code``, read as it is."""
    return (
        f"{money}: every amount is in {code}, read as it is: the outputs name score.currency, so set "
        f"score.currency: {code} if it is another (or give {_RATES} to convert)"
    )


def currency_notes(repairs: Mapping[str, Mapping[str, int]]) -> list[str]:
    """What ``train`` and ``score`` say of the money tables' currencies, from a read's repairs (``{table:
    {note: rows}}``, :attr:`churnml.contract.dataset.Dataset.repairs`): per money table the currencies
    converted at ``data.currency_rates`` with their rows and rates (:func:`converted_note`), or the one
    currency its amounts are in (:func:`one_currency_note`); empty when the tables name no currency."""
    notes = []
    for table, money in MONEY_COLUMNS.items():
        counts = repairs.get(str(table), {})
        pattern = re.compile(rf"^{money}: amounts in (\S+) converted into score\.currency at (\S+) \(")
        converted = [(m.group(1), m.group(2), n) for k, n in counts.items() if (m := pattern.match(k))]
        if converted:
            each = ", ".join(f"{n:,} rows in {code} at {rate}" for code, rate, n in converted)
            notes.append(f"{table}.{money} converted into score.currency ({_RATES}): {each}")
        notes += [f"{table}.{k}" for k in counts if k.startswith(f"{money}: every amount is in ")]
    return notes


def refused_currency_codes(
    counts: Sequence[tuple[str | None, int]], rates: Mapping[str, float]
) -> tuple[str | None, ...]:
    """The currency codes of a money table (rows per code ``counts``: :func:`rows_per_currency`) whose rows
    cannot be read with ``rates`` (``data.currency_rates``); ``None`` among them stands for the rows without
    a code. Every code without rates when there are several (amounts of several currencies are never summed
    as one); the codes without a rate among rates given; the rows without a code among amounts to convert
    (a rate other than 1); none with one code and no rates (read as they are) or every code at rate 1."""
    known = [c for c, _ in counts if c is not None]
    if not rates:
        return () if len(known) <= 1 else tuple(c for c, _ in counts)
    missing = tuple(c for c in known if c not in rates)
    if missing:
        return missing
    if any(rates[c] != 1 for c in known):
        return tuple(c for c, _ in counts if c is None)
    return ()


def currency_read_notes(
    counts: Sequence[tuple[str | None, int]], rates: Mapping[str, float], money: str
) -> dict[str, int]:
    """What reading a money table's amounts (rows per code ``counts``, none refused) in score.currency says:
    one note per currency converted at a rate other than 1 with its rows (:func:`converted_note`), or with one
    code and no rates the note that every amount is in it (:func:`one_currency_note`, every row)."""
    known = [c for c, _ in counts if c is not None]
    if not rates:
        return {one_currency_note(money, known[0]): sum(n for _, n in counts)} if known else {}
    return {converted_note(money, c, rates[c]): n for c, n in counts if c is not None and rates[c] != 1}


# the clients table's free-text columns that group the outputs, and what each groups
_GROUPING_COLUMNS = {
    Clients.SEGMENT: "the report's portfolio by segment and the churn-rate metrics count",
    Clients.OWNER: "the report's owner sections count",
}


def spelling_variants_notes(clients: pl.DataFrame, shown: int = 3) -> list[str]:
    """A note for each grouping column of ``clients`` (``segment``, ``owner``) writes one value in several ways
    that differ only in letter case or spacing ('restaurant' and 'Restaurant', 'Marc  Dubois' and 'Marc
    Dubois'): the outputs group by the exact text, so each spelling is a segment or an owner of its own (a food
    wholesaler's report listed 'restaurant' 92 clients and 'Restaurant' 43). Nothing is merged (a guess said, not
    made: rename them in the export). One note per such column, the values with the most rows first, each
    with its spellings by rows; none when every value has one spelling."""
    said = []
    for column, groups in _GROUPING_COLUMNS.items():
        if column not in clients.columns:
            continue
        text = pl.col(column).cast(pl.String)
        key = text.str.strip_chars().str.replace_all(r"\s+", " ").str.to_lowercase().alias("_key")
        spellings = (
            clients.filter(text.is_not_null())
            .group_by(text.alias(column), key)
            .len()
            .filter(pl.len().over("_key") > 1)
            .sort(["_key", "len", column], descending=[False, True, False])
        )
        if spellings.height == 0:
            continue
        keys = (
            spellings.group_by("_key", maintain_order=True)
            .agg(pl.col(column), pl.col("len"), pl.col("len").sum().alias("_rows"))
            .sort(["_rows", "_key"], descending=[True, False])
        )
        examples = "; ".join(
            " / ".join(f"'{v}' ({n:,})" for v, n in zip(values, counts, strict=True))
            for values, counts in keys.head(shown).select(column, "len").iter_rows()
        )
        n = keys.height
        said.append(
            f"clients.{column}: {n:,} value{'s are' if n > 1 else ' is'} written in more than one way, differing only "
            f"in letter case or spaces ({examples}): {groups} each spelling apart; write each one way in the export"
        )
    return said


def unmarked_currency_note(
    money_tables: Sequence[Table],
    repairs: Mapping[str, Mapping[str, int]],
    rates: Mapping[str, float],
    currency: str,
) -> str | None:
    """What ``validate`` and ``train`` say of the money tables among ``money_tables`` read without a currency
    named (no currency column, or one whose every cell is empty: none of :func:`currency_notes` of the read's
    ``repairs`` is theirs, and no ``data.currency_rates`` are given): their amounts are taken to be in
    ``currency`` (score.currency), the currency every output names, and how to name another. None when every
    money table names its currency, or rates are given."""
    if rates:
        return None
    said = currency_notes(repairs)
    unmarked = [
        f"{table}.{MONEY_COLUMNS[table]}"
        for table in money_tables
        if table in MONEY_COLUMNS and not any(n.startswith(f"{table}.") for n in said)
    ]
    if not unmarked:
        return None
    other = "EUR" if currency == "USD" else "USD"  # the example names another currency than the one read
    return (
        f"{', '.join(unmarked)}: no currency named (no currency column, or an empty one), the amounts are read as "
        f"{currency} (score.currency, which every output names): if they are in another currency, set it (e.g. "
        f"--set score.currency={other}), or add a currency column (currency, currency_code, ccy) with "
        "data.currency_rates for several"
    )


def amounts_in_one_currency(
    frame: pl.DataFrame, table: Table, rates: Mapping[str, float], max_examples: int = 5
) -> tuple[pl.DataFrame, dict[str, int]]:
    """``frame`` (a coerced ``table``, its currency codes in :data:`CURRENCY` when it had a currency
    column) with its money column (:data:`MONEY_COLUMNS`) in score.currency, without the codes, and what was
    converted (``{note: rows}``, one per currency: :func:`currency_read_notes`). Grain unchanged: one row per
    input row, in input order.

    ``rates`` (``data.currency_rates``) turn one unit of a currency into score.currency. With rates for every
    code each amount is multiplied by its currency's rate (rows at rate 1 are not counted); one code and no
    rates: unchanged, said (:func:`one_currency_note`). Raises :class:`ContractError` naming each currency with
    its rows, a row of each and the setting to add (:func:`currency_problem`) for the rows of
    :func:`refused_currency_codes`: several codes without rates, a code without a rate among rates given, or
    rows without a code among amounts to convert: amounts of several currencies are never summed as one.
    The Spark read applies the same two rules (:func:`churnml.scoring.spark.spark_amounts_in_one_currency`)."""
    if CURRENCY not in frame.columns:
        return frame, {}
    money = MONEY_COLUMNS[table]
    counts = rows_per_currency(frame.get_column(CURRENCY))
    codes = refused_currency_codes(counts, rates)
    if codes:
        refused = pl.col(CURRENCY).is_in([c for c in codes if c is not None]).fill_null(False)
        if None in codes:
            refused = refused | pl.col(CURRENCY).is_null()
        shown = (
            frame.with_row_index("row")
            .filter(refused & pl.col(CURRENCY).is_first_distinct())
            .select(pl.col("row") + 1, CLIENT_ID, money, CURRENCY)
            .head(max_examples)
        )
        count = sum(n for c, n in counts if c in codes)
        raise ContractError(
            str(table), currency_problem(counts, rates), column=money, examples=shown, count=count
        )
    notes = currency_read_notes(counts, rates, money)
    if not rates:
        return frame.drop(CURRENCY), notes
    factor = pl.col(CURRENCY).replace_strict(dict(rates), default=1.0, return_dtype=pl.Float64)
    return frame.with_columns(pl.col(money) * factor).drop(CURRENCY), notes


def coerced_table(
    frame: pl.DataFrame, schema: TableSchema, max_examples: int = 5, timezone: str = "UTC"
) -> tuple[pl.DataFrame, TableRepairs]:
    """The table in contract types, only contract columns, plus what was repaired; times with a zone or a
    UTC offset become ``timezone``'s wall-clock time (``data.timezone``, counted when that moved them).

    Grain unchanged: one output row per input row, in input order. A money table's currency column
    (:func:`currency_column`) is kept beside them as :data:`CURRENCY` (codes in capitals), for
    :func:`amounts_in_one_currency` to convert the amounts and drop it. Raises :class:`ContractError`
    for a missing required column or a value that cannot be read as its type.
    """
    table = str(schema.name)
    _checked_shape(frame, schema)
    counts: dict[str, int] = {}
    extra = [c for c in frame.columns if c not in {s.name for s in schema.columns}]
    currency = currency_column(extra, schema.name)
    extra = [c for c in extra if c != currency]  # read: the amounts' currency (amounts_in_one_currency)
    if extra:
        counts[ignored_columns_note(extra, frame.columns, schema)] = frame.height

    present = [spec for spec in schema.columns if spec.name in frame.columns]
    kept = _unchanged_columns(frame, present)
    categorical = [
        s.name
        for s in present
        if isinstance(frame.schema[s.name], pl.Categorical | pl.Enum) and not _kept_categories(s, frame, kept)
    ]
    if categorical:  # a pandas category column: read as the text it shows
        frame = frame.with_columns(pl.col(c).cast(pl.String) for c in categorical)
    _refuse_unsupported_types(frame, present, table, max_examples)
    _refuse_numeric_timestamps(frame, present, table, max_examples)
    converted = frame.select(
        [
            pl.col(s.name)
            if s.name in kept
            else _contract_value(pl.col(s.name), frame.schema[s.name], s, timezone).alias(s.name)
            for s in present
        ]
    )
    for spec in present:
        if spec.name in kept:  # already the contract type, nothing to trim, blank or misread
            continue
        counts.update(_text_repairs(spec, frame.get_column(spec.name)))
        counts.update(zone_repairs(spec, frame.get_column(spec.name), timezone))
        _refuse_unreadable(frame, converted, spec, table, max_examples)
    absent = [
        pl.lit(None, dtype=POLARS_TYPE[s.kind]).alias(s.name)
        for s in schema.columns
        if s.name not in frame.columns
    ]
    converted = converted.with_columns(absent) if absent else converted
    converted = converted.select([s.name for s in schema.columns])
    if currency is not None:  # carried for amounts_in_one_currency, which converts and drops it
        converted = converted.with_columns(
            frame.select(currency_codes(pl.col(currency)).alias(CURRENCY)).to_series()
        )
    return converted, TableRepairs(counts)


OVERLAPPING_TERMS = (
    "overlapping terms of one product: a term starts before the client's previous term of the same product "
    "ends (ARR would count twice; a renewal starts when the last term ends, and one booked a few days early is "
    "moved there: data.early_renewal_share; an amendment mid-term, such as added seats running to the same "
    "end, is an add-on: give it a product of its own, or end the earlier term the day it starts)"
)


DUPLICATE_INVOICE = "the same invoice_id twice for one client"


def duplicate_invoice_problem(repeated: pl.DataFrame) -> str:
    """Why the payments rows ``repeated`` (those sharing a client and an invoice_id) are refused: an amount
    that would count twice; when some are failed attempts (``paid_at`` empty or ``status`` failed), a
    payment-retry log, with the count of those attempts and how to write it; when some are refunds (``status``
    refunded or a negative amount), refunds under their payment's id."""
    status = pl.col(Payments.STATUS) if Payments.STATUS in repeated.columns else pl.lit(None, pl.String)
    failed, refunds = repeated.select(
        (pl.col(Payments.PAID_AT).is_null() | (status == "failed").fill_null(False)).sum(),
        ((status == "refunded").fill_null(False) | (pl.col(Payments.AMOUNT) < 0).fill_null(False)).sum(),
    ).row(0)
    return duplicate_invoice_text(int(failed), repeated.height, int(refunds))


def duplicate_invoice_text(failed: int, rows: int, refunds: int = 0) -> str:
    """:func:`duplicate_invoice_problem` from its counts: ``failed`` failed attempts and ``refunds`` refunds
    among the ``rows`` repeated rows (the Spark path counts them with an aggregate)."""
    if not failed and refunds:
        return (
            f"{DUPLICATE_INVOICE}: {refunds:,} of these {rows:,} rows are refunds (status 'refunded' or a negative "
            "amount) under the invoice_id of the payment they refund; a refund counts negative whatever its sign, "
            "so a payment and its refund under one id cannot be told from a refund written twice: give each refund "
            "an id of its own (INV-1-refund), or leave its invoice_id empty"
        )
    if not failed:
        return f"{DUPLICATE_INVOICE} (its amount would count twice)"
    return (
        f"{DUPLICATE_INVOICE}: {failed:,} of these {rows:,} rows are failed attempts (paid_at empty or "
        "status 'failed'), a payment-retry log with one row per attempt at an invoice, where each row would "
        "count as a payment of its own; write one row per invoice with its final state (the paid attempt's "
        "paid_at and status, the invoice failed when no attempt was paid), or each attempt with its own id (the "
        "charge or attempt id) as invoice_id"
    )


def _term_key(addon: bool = True) -> list[pl.Expr]:
    """What makes a run of subscription terms one product's, whose terms renew one another rather than overlap:
    the client, the product and whether the term is an add-on (``is_addon``, null read as false; ``addon``
    False: a frame without the column): an add-on without a product of its own, running inside its base
    term, is no second term of the base plan."""
    key = [pl.col(CLIENT_ID), pl.col(Subscriptions.PRODUCT)]
    if addon:
        key.append(pl.col(Subscriptions.IS_ADDON).cast(pl.Boolean).fill_null(False))
    return key


def _table_rules(
    schema: TableSchema, renewal_share: float = 0.0
) -> list[tuple[str, str | None, pl.Expr, list[str]]]:
    """Rules of one table beyond the column specs: payments are not counted twice, subscription terms
    of one product do not double ARR (once renewals booked early start when the term they renew ends:
    :func:`renewal_start`). Each is (problem, column, breach mask, columns shown)."""
    if schema.name is Table.PAYMENTS:
        invoice = pl.col(Payments.INVOICE_ID)
        return [
            (
                DUPLICATE_INVOICE,
                Payments.INVOICE_ID,
                invoice.is_not_null() & pl.struct(CLIENT_ID, Payments.INVOICE_ID).is_duplicated(),
                [Payments.INVOICE_ID, Payments.AMOUNT, Payments.PAID_AT, Payments.STATUS],
            )
        ]
    if schema.name is Table.SUBSCRIPTIONS:
        start, end = Subscriptions.START_DATE, Subscriptions.END_DATE
        term = _term_key()
        shown = [Subscriptions.PRODUCT, start, end, Subscriptions.MRR]
        # the latest end of the product's earlier terms; a term starting before it overlaps them
        earlier_end = pl.col(end).cum_max().shift(1).over(term, order_by=start)
        return [
            (
                "duplicate term: the same client, product and start_date twice (ARR would count twice)",
                start,
                pl.struct([*term, start]).is_duplicated(),
                shown,
            ),
            (
                OVERLAPPING_TERMS,
                start,
                renewal_start(renewal_share) < earlier_end,
                shown,
            ),
        ]
    return []


# What the repair below is called in the repair log (validate's "repaired" column, the manifests).
EARLY_RENEWAL_REPAIR = "start_date before the previous term's end (a renewal booked early), taken as that end"


def renewal_start(share: float, addon: bool = True) -> pl.Expr:
    """The ``start_date`` a subscription term takes once a **renewal booked early** starts when the term
    it renews ends (an expression over the subscriptions table).

    Billing systems often date a renewal on the day it is charged, a few days before the running term
    ends (a 30-day term renewed 3 days early overlaps it by 3 days). A term of one client and product (add-ons
    apart from base terms: :func:`_term_key`) is taken as such a renewal when it starts before the latest end
    of that product's earlier terms, ends after it, and overlaps it by at most ``share`` of its own length
    (``data.early_renewal_share``; ``addon`` False for a table without ``is_addon``; 0
    leaves every start as it is). A longer overlap (an upgrade that did not end the old term) is left to
    the overlap check, which refuses it. Moving a start later only hides a renewal for its few early
    days: no snapshot learns of it sooner."""
    start, end = pl.col(Subscriptions.START_DATE), pl.col(Subscriptions.END_DATE)
    if share <= 0:
        return start
    earlier_end = end.cum_max().shift(1).over(_term_key(addon), order_by=Subscriptions.START_DATE)
    early = (
        (start < earlier_end)
        & (end > earlier_end)
        & ((earlier_end - start).dt.total_seconds() <= share * (end - start).dt.total_seconds())
    )
    return pl.when(early.fill_null(False)).then(earlier_end).otherwise(start)


PAUSE_PRODUCT_REPAIR = "terms of a pause product (data.pause_products) read at mrr 0, a pause"


def pause_products_unfound(products: Sequence[str]) -> ContractError:
    """The refusal of ``data.pause_products`` on a subscriptions table without a product column (the Polars
    and the Spark read say it alike)."""
    return ContractError(
        str(Table.SUBSCRIPTIONS),
        f"data.pause_products names {', '.join(products)}, but the table has no product column to find "
        "them in: add the product of each term, or leave data.pause_products empty",
        column=Subscriptions.PRODUCT,
    )


def pause_terms_freed(frame: pl.DataFrame, products: Sequence[str]) -> tuple[pl.DataFrame, int]:
    """Subscription terms (contract types) with the terms of ``products`` (``data.pause_products``: a gym's
    "Freeze" at 5 a month) at ``mrr`` 0, so that every reader of a pause (terms free after paid ones:
    :func:`churnml.scoring.crm.free_after_paid`, the list's value, the rules, the features, the metrics) reads
    them as one, and how many such terms had a fee (their fee is the count's price: reported, not kept).
    Grain and row order unchanged. Raises :class:`ContractError` when products are named and the table has
    no ``product`` column."""
    if not products or frame.height == 0:
        return frame, 0
    if Subscriptions.PRODUCT not in frame.columns:
        raise pause_products_unfound(products)
    pause = pl.col(Subscriptions.PRODUCT).is_in(list(products)).fill_null(False)
    paid = int(frame.select((pause & (pl.col(Subscriptions.MRR) != 0)).sum()).item())
    if not paid:
        return frame, 0
    mrr = pl.when(pause).then(pl.lit(0.0)).otherwise(pl.col(Subscriptions.MRR))
    return frame.with_columns(mrr.cast(frame.schema[Subscriptions.MRR]).alias(Subscriptions.MRR)), paid


def early_renewals_repaired(frame: pl.DataFrame, share: float) -> tuple[pl.DataFrame, int]:
    """Subscription terms (contract types) with each renewal booked early starting when the term it
    renews ends (:func:`renewal_start`), and how many moved. Grain and row order unchanged."""
    if share <= 0 or frame.height == 0:
        return frame, 0
    moved_start = renewal_start(share, Subscriptions.IS_ADDON in frame.columns)
    moved = int(frame.select((moved_start != pl.col(Subscriptions.START_DATE)).sum()).item())
    if not moved:
        return frame, 0
    return frame.with_columns(moved_start.alias(Subscriptions.START_DATE)), moved


# What an empty required cell usually means in an export, and what to write instead.
_EMPTY_HINTS = {
    (str(Table.SUBSCRIPTIONS), Subscriptions.END_DATE): (
        " (a term without an end: an open-ended, evergreen or rolling contract, or the running term of a "
        "billing export. Write each term's scheduled end, the end of its billing period, e.g. start + 1 "
        "month for a monthly plan, and each renewal as a new row; without scheduled ends, leave the "
        "subscriptions table out and label with a churns table: label.source churns)"
    ),
}


# What a timestamp after the as-of date usually is in an export, and where it belongs.
_FUTURE_HINTS = {
    (str(Table.CHURNS), Churns.CHURNED_AT): (
        " (a cancellation scheduled for a later day, such as the end of the paid period: a churn is recorded "
        "on the day it takes effect; its notice belongs in tickets, kind cancellation_request)"
    ),
}


def future_timestamp_problem(table: str, column: str, as_of: datetime, timezone: str = "UTC") -> str:
    """The problem of a timestamp on or after ``as_of`` (the limit: the midnight after the as-of date, or the
    machine's clock as ``timezone``'s wall-clock time, ``data.timezone``: :func:`churnml.contract.io.data_clock`),
    with what it usually is where that is known (a ``churns.churned_at`` in the future: a scheduled
    cancellation)."""
    # a limit that is not a midnight is the machine's clock: no data.as_of (nor a later --as-of) was given
    clock = (as_of.hour, as_of.minute, as_of.second) != (0, 0, 0)
    said = (
        f"{as_of:%Y-%m-%d %H:%M} {timezone}, this machine's clock plus data.future_tolerance_days (no as-of date "
        "given: set data.as_of, or --as-of when scoring, for another day)"
        if clock
        else f"the as-of date (on or after {as_of:%Y-%m-%d %H:%M}, the midnight after it)"
    )
    return f"timestamp after {said}" + _FUTURE_HINTS.get((str(table), column), "")


def empty_value_problem(table: str, column: str) -> str:
    """The problem of an empty cell in a required column, with what it usually means where that is known
    (an empty ``subscriptions.end_date``: an open-ended term)."""
    return "empty value in a required column" + _EMPTY_HINTS.get((str(table), column), "")


NOT_ALLOWED = "value not among the allowed"  # how the allowed-values problem begins (Polars, Spark)
# a number column's NaN or infinite value (Polars, Spark): checked before its bounds, which NaN is above; the NaN of
# a pandas export is its empty cell
NOT_FINITE = (
    "value is NaN or infinite (NaN is how pandas writes an empty number: write those cells empty, e.g. "
    "pl.from_pandas(df, nan_to_null=True) or df.astype('Float64') before writing the file)"
)


def allowed_span(low: float | None, high: float | None, required: bool) -> str:
    """What a bounded column allows, said after its breach: " (allowed: 1 to 5; leave the cell empty when
    unknown)" -- a 0 for "no rating" or a -100..100 scale then reads as what it is."""
    if low is None and high is None:
        return ""
    allowed = (
        f"{low:g} to {high:g}"
        if low is not None and high is not None
        else (f"{low:g} or more" if low is not None else f"{high:g} or less")
    )
    return f" (allowed: {allowed}{'' if required else '; leave the cell empty when unknown'})"


def checked_table(
    frame: pl.DataFrame,
    schema: TableSchema,
    as_of: datetime | None = None,
    max_examples: int = 5,
    renewal_share: float = 0.0,
    timezone: str = "UTC",
) -> pl.DataFrame:
    """The same table, after checking the contract's rules on a coerced frame; raises on the first breach.

    ``as_of``: the limit (:func:`churnml.contract.io.as_of_limit`: the midnight after the as-of date, or the
    clock as ``timezone``'s wall-clock time): no timestamp in ``schema.time_columns`` (scheduled ones aside)
    may lie on or after it. ``renewal_share``:
    subscription terms overlap only once renewals booked early have moved (:func:`renewal_start`;
    :func:`early_renewals_repaired` moves them after the check).
    """
    table = str(schema.name)
    rules: list[tuple[str, str | None, pl.Expr, list[str]]] = []  # (problem, column, breach, shown)
    for spec in schema.columns:
        col = pl.col(spec.name)
        if spec.required and not spec.nullable:
            rules.append((empty_value_problem(table, spec.name), spec.name, col.is_null(), [spec.name]))
        if spec.allowed is not None:
            rules.append(
                (
                    f"{NOT_ALLOWED} {list(spec.allowed)}",
                    spec.name,
                    col.is_not_null() & ~col.is_in(list(spec.allowed)),
                    [spec.name],
                )
            )
        if spec.kind is Kind.FLOAT:  # before the bounds: NaN is above every one of them
            rules.append((NOT_FINITE, spec.name, ~col.is_finite(), [spec.name]))
        span = allowed_span(spec.low, spec.high, required=spec.required)
        if spec.low is not None:
            rules.append((f"value below {spec.low:g}{span}", spec.name, col < spec.low, [spec.name]))
        if spec.high is not None:
            rules.append((f"value above {spec.high:g}{span}", spec.name, col > spec.high, [spec.name]))

    if schema.unique:
        keys = list(schema.unique)
        rules.append((f"duplicate key {keys}", keys[-1], pl.struct(keys).is_duplicated(), keys))
    rules.extend(_table_rules(schema, renewal_share))

    for earlier, later in schema.ordered:
        rules.append(
            (
                f"'{later}' is before '{earlier}'",
                later,
                pl.col(later) < pl.col(earlier),
                [earlier, later],
            )
        )

    if as_of is not None:
        for column in (c for c in schema.time_columns if c not in schema.scheduled):
            rules.append(
                (
                    future_timestamp_problem(table, column, as_of, timezone),
                    column,
                    pl.col(column) >= as_of,  # the midnight after the as-of day is the next day's
                    [column],
                )
            )
    if not rules:
        return frame
    # every rule's breach count in one parallel pass; examples only for the first rule that fails
    counts = frame.select([mask.sum().alias(f"r{i}") for i, (_, _, mask, _) in enumerate(rules)]).row(0)
    for (problem, column, mask, cols), count in zip(rules, counts, strict=True):
        if count:
            if problem.startswith(NOT_ALLOWED) and column is not None:
                problem += _values_found(frame.filter(mask).get_column(column))
            if problem == DUPLICATE_INVOICE:
                problem = duplicate_invoice_problem(frame.filter(mask))
            raise ContractError(
                table, problem, column, _examples(frame, mask, cols, max_examples), count=count
            )
    return frame


def _values_found(values: pl.Series, shown: int = 8) -> str:
    """``"; found 'succeeded' (7,314), 'void' (12)"``: the distinct offending values, most frequent first,
    so that one error shows every value to map, not the first few rows of one of them."""
    counts = values.cast(pl.String).value_counts(sort=True, name="n")
    return found_values_text(counts.rows(), shown)


def found_values_text(counts: Sequence[tuple[Any, int]], shown: int = 8) -> str:
    """``"; found 'succeeded' (7,314), 'void' (12)"`` from (value, rows) pairs, most frequent first (every
    pair: the text says how many more there are beyond ``shown``); one value alone is said without its count,
    which is the error's rows (``"; found 'sms'"``, then " (4,874 rows)")."""
    if len(counts) == 1:
        return f"; found {counts[0][0]!r}"
    found = ", ".join(f"{v!r} ({n:,})" for v, n in counts[:shown])
    more = f" and {len(counts) - shown} more" if len(counts) > shown else ""
    return f"; found {found}{more}"


def repeated_as_categories(columns: Mapping[str, pl.DataType], schema: TableSchema) -> list[pl.Expr]:
    """The ``repeated`` text columns of ``schema`` that ``columns`` (a frame's or a scan's names and types)
    holds as text, cast to categories: what a scratch copy of a big table writes (the scoring job's spilled
    events, :meth:`churnml.jobs.score_data.EventBatches.spilled`; the training batches' split,
    :func:`churnml.jobs.batches.labeled_table_in_batches`). The same values, written at the cost of text,
    read back without hashing every row, and kept so by :func:`coerced_table` when clean (the type
    :func:`compact_table` gives them anyway)."""
    return [
        pl.col(s.name).cast(pl.Categorical)
        for s in schema.columns
        if s.repeated and columns.get(s.name) == pl.String
    ]


def compact_table(frame: pl.DataFrame, schema: TableSchema) -> pl.DataFrame:
    """The validated table with its ``repeated`` string columns as ``pl.Categorical`` (same values;
    on a 40M-row events table this saves about 1 GB). Comparisons, ``is_in``, grouping and distinct
    counts read them exactly as strings."""
    repeated = [
        s.name
        for s in schema.columns
        if s.repeated and s.name in frame.columns and frame.schema[s.name] == pl.String
    ]
    if not repeated:
        return frame
    return frame.with_columns(pl.col(c).cast(pl.Categorical) for c in repeated)


def _unknown_ids_hint(unknown: pl.DataFrame, known: pl.DataFrame) -> str:
    """What unknown ids usually are, when most of them are the clients' ids written otherwise: with a
    trailing ".0" (a spreadsheet turned them into numbers), with invisible characters in them (a
    zero-width space, a BOM), with leading zeros dropped (``42`` for ``00042``) or added (``004706`` for
    ``4706``); "" else."""
    ids = unknown.get_column(CLIENT_ID).cast(pl.String).unique().sort()
    clients = set(known.get_column(CLIENT_ID).cast(pl.String).to_list())
    if ids.len() == 0:
        return ""
    dotted = ids.str.replace(r"\.0+$", "").is_in(list(clients))
    if dotted.mean() >= 0.5:  # type: ignore[operator]
        return (
            f" (they are the clients' ids followed by '.0', e.g. {ids.filter(dotted).item(0)!r}: a "
            "spreadsheet turned them into numbers; export the column as text)"
        )
    invisible = "\u200b\u200c\u200d\u2060\ufeff\u00a0"  # zero-width, BOM, non-breaking space
    bare = {c.strip(invisible): c for c in clients if any(ch in c for ch in invisible)}
    hidden = [i for i in ids.to_list() if any(ch in i for ch in invisible)]
    if bare or hidden:
        side = "clients table's" if bare else "these"
        example = next(iter(bare.values())) if bare else hidden[0]
        return (
            f" (the {side} ids hold invisible characters (a zero-width or non-breaking space, a BOM), "
            f"e.g. {example!r}: remove them from the export)"
        )
    unpadded = {c.lstrip("0"): c for c in clients if c.startswith("0")}
    if unpadded and ids.is_in(list(unpadded)).mean() >= 0.5:  # type: ignore[operator]
        first = ids.filter(ids.is_in(list(unpadded))).item(0)
        return (
            f" (they are the clients' ids without their leading zeros, e.g. {first!r} for "
            f"{unpadded[first]!r}: a spreadsheet turned them into numbers; export the column as text)"
        )
    unpadded_ids = ids.str.replace(r"^0+(\d)", "${1}")
    padded = (ids != unpadded_ids) & unpadded_ids.is_in(list(clients))
    if padded.mean() >= 0.5:  # type: ignore[operator]
        first = ids.filter(padded).item(0)
        return (
            f" (they are the clients' ids with leading zeros added, e.g. {first!r} for "
            f"{first.lstrip('0') or '0'!r}: the export padded this table's ids (a fixed-width text column) and not "
            "the clients'; export both tables' ids the same way)"
        )
    return ""


def checked_references(tables: Mapping[Table, pl.DataFrame], max_examples: int = 5) -> None:
    """Raise when any table holds a ``client_id`` that is not in ``clients``."""
    known = tables[Table.CLIENTS].select(CLIENT_ID)
    for name, frame in tables.items():
        if name is Table.CLIENTS:
            continue
        # distinct ids first (cheap); the row-level join only runs when some id is unknown
        distinct = frame.lazy().select(pl.col(CLIENT_ID).unique())
        if distinct.join(known.lazy(), on=CLIENT_ID, how="anti").select(pl.len()).collect().item() == 0:
            continue
        unknown = frame.with_row_index("row").join(known, on=CLIENT_ID, how="anti")
        if unknown.height:
            raise ContractError(
                str(name),
                "client_id not found in table 'clients'" + _unknown_ids_hint(unknown, known),
                CLIENT_ID,
                unknown.select("row", CLIENT_ID).with_columns(pl.col("row") + 1).head(max_examples),
                count=unknown.height,
            )


# What the repair below is called in the repair log (validate's "repaired" column, the manifests).
CREATED_REPAIR = "created_at after the client's first record, taken as that record's time"
FIRST_RECORD = "_first_record"  # the column of first_records


def first_records(tables: Mapping[Table, pl.DataFrame]) -> pl.DataFrame:
    """The earliest record of each client in the tables other than ``clients`` and ``churns``:
    ``client_id``, ``_first_record`` (the minimum of every table's time columns, ``schemas.CONTRACT``;
    dates before 1971, placeholders for "unknown", left out). One row per client with such a record.
    A churn ends a relationship and never starts one: a churn dated before ``created_at`` is a conflict
    of dates said by ``validate`` (:func:`churnml.labels.churns_before_creation_note`), not a creation."""
    cut = datetime(PLAUSIBLE_FROM.year, PLAUSIBLE_FROM.month, PLAUSIBLE_FROM.day)
    parts = [
        frame.select(
            pl.col(CLIENT_ID).cast(pl.String), pl.col(col).cast(pl.Datetime("us")).alias(FIRST_RECORD)
        )
        for table, frame in tables.items()
        if table not in (Table.CLIENTS, Table.CHURNS)
        for col in CONTRACT[table].time_columns
        if col in frame.columns
    ]
    if not parts:
        return pl.DataFrame(schema={CLIENT_ID: pl.String, FIRST_RECORD: pl.Datetime("us")})
    return (
        pl.concat(parts)
        .filter(pl.col(FIRST_RECORD) >= cut)
        .group_by(CLIENT_ID)
        .agg(pl.col(FIRST_RECORD).min())
    )


def clients_created_by_first_record(clients: pl.DataFrame, firsts: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """``clients`` with each ``created_at`` on a later day than the client's first record (``firsts``:
    :func:`first_records`, several frames' rows allowed) moved back to that record's time, and how many
    moved. A CRM migrated or adopted late records every older client as created on the import day;
    taken at its word, such a client would not exist (nor be a training row) before that day, and its
    tenure would be negative before it. A record earlier the same day (a first term dated at midnight of
    the day the client was created at 14:05) is no sign of that and moves nothing. Rows, order and the
    other columns unchanged."""
    first = firsts.group_by(CLIENT_ID).agg(pl.col(FIRST_RECORD).min())
    created = pl.col(Clients.CREATED_AT)
    joined = clients.join(first, on=CLIENT_ID, how="left", maintain_order="left")
    later = (
        created.is_not_null()
        & pl.col(FIRST_RECORD).is_not_null()
        & (pl.col(FIRST_RECORD).dt.date() < created.cast(pl.Datetime("us")).dt.date())
    )
    moved = int(joined.select(later.sum()).item())
    if not moved:
        return clients, 0
    fixed = (
        pl.when(later).then(pl.col(FIRST_RECORD).cast(clients.schema[Clients.CREATED_AT])).otherwise(created)
    )
    return joined.with_columns(fixed.alias(Clients.CREATED_AT)).select(clients.columns), moved


CHURN_EVENTS_REPAIR = "records read from events named in data.churn_events"


def churns_from_events(events: pl.DataFrame | pl.LazyFrame, names: Sequence[str]) -> pl.DataFrame:
    """``[client_id, churned_at]`` of the events named in ``names`` (``data.churn_events``: an app's
    ``account_deleted``), one per client and time; empty without names."""
    schema = {CLIENT_ID: pl.String, Churns.CHURNED_AT: pl.Datetime("us")}
    if not names:
        return pl.DataFrame(schema=schema)
    found = (
        events.lazy()
        .filter(pl.col(Events.EVENT).cast(pl.String).is_in(list(names)))
        .select(
            pl.col(CLIENT_ID).cast(pl.String),
            pl.col(Events.TS).cast(pl.Datetime("us")).alias(Churns.CHURNED_AT),
        )
        .unique()
        .sort(CLIENT_ID, Churns.CHURNED_AT)
    )
    return found.collect()


def with_churn_events(
    tables: Mapping[Table, pl.DataFrame],
    repairs: Mapping[str, Mapping[str, int]],
    names: Sequence[str],
    events: pl.DataFrame | pl.LazyFrame | None = None,
) -> tuple[dict[Table, pl.DataFrame], dict[str, dict[str, int]]]:
    """``tables`` with the churn records of the events named in ``names`` (:func:`churns_from_events` of
    ``events``, by default ``tables[events]``; a scan when the events are not read whole) added to
    ``churns`` (made when absent), and ``repairs`` with their count under :data:`CHURN_EVENTS_REPAIR`.
    A churn ``churns`` already records (same client and time) is not added again, nor counted: the table's
    key stays unique. Unchanged without names."""
    out = {str(t): dict(c) for t, c in repairs.items()}
    source = events if events is not None else tables.get(Table.EVENTS)
    if not names or source is None:
        return dict(tables), out
    found = churns_from_events(source, names)
    churns = tables.get(Table.CHURNS)
    if churns is not None:
        key = [CLIENT_ID, Churns.CHURNED_AT]
        recorded = churns.select(
            pl.col(CLIENT_ID).cast(pl.String), pl.col(Churns.CHURNED_AT).cast(pl.Datetime("us"))
        )
        found = found.join(recorded, on=key, how="anti")
    if found.height == 0:
        return dict(tables), out
    merged = found if churns is None else pl.concat([churns, found], how="diagonal_relaxed")
    out.setdefault(str(Table.CHURNS), {})[CHURN_EVENTS_REPAIR] = found.height
    return {**tables, Table.CHURNS: merged}, out


def with_created_repaired(
    tables: Mapping[Table, pl.DataFrame],
    repairs: Mapping[str, Mapping[str, int]],
    firsts: pl.DataFrame | None = None,
) -> tuple[dict[Table, pl.DataFrame], dict[str, dict[str, int]]]:
    """``tables`` with ``clients.created_at`` repaired by the first records of the other tables
    (:func:`clients_created_by_first_record`; ``firsts``: records of tables not in ``tables``, e.g. the
    events a scoring run only scans), and ``repairs`` with the count under :data:`CREATED_REPAIR`."""
    found = first_records(tables)
    if firsts is not None:
        found = pl.concat([found, firsts.select(CLIENT_ID, FIRST_RECORD)])
    clients, moved = clients_created_by_first_record(tables[Table.CLIENTS], found)
    out = {str(t): dict(c) for t, c in repairs.items()}
    if moved:
        out.setdefault(str(Table.CLIENTS), {})[CREATED_REPAIR] = moved
    return {**tables, Table.CLIENTS: clients}, out


def implausible_dates(frame: pl.DataFrame, schema: TableSchema) -> dict[str, int]:
    """``{"<column>: dates before 1971 (placeholders?), kept but not used as the data's start": rows}``
    for each time column holding such dates (1900-01-01, 1970-01-01 and the like stand for "unknown")."""
    cut = datetime(PLAUSIBLE_FROM.year, PLAUSIBLE_FROM.month, PLAUSIBLE_FROM.day)
    cols = [c for c in schema.time_columns if c in frame.columns]
    if not cols:
        return {}
    counts = frame.select([(pl.col(c) < cut).sum().alias(c) for c in cols]).row(0, named=True)
    return {
        f"{c}: dates before {PLAUSIBLE_FROM:%Y} (placeholders?), kept but not used as the data's start": int(
            n
        )
        for c, n in counts.items()
        if n
    }


def timestamp_span(tables: Mapping[Table, pl.DataFrame]) -> tuple[datetime, datetime]:
    """(start, last): the data's real start and its latest timestamp.

    ``last`` is the latest value of any contract time column (scheduled subscription ends excluded).
    ``start`` is the earliest plausible activity timestamp (from 1971 on), the tables of
    :data:`~churnml.contract.dataset.NOT_ACTIVITY` aside, as ``Dataset.first_activity``: a placeholder
    ``created_at`` such as 1900-01-01 must not stretch the weekly snapshot grid back 124 years, nor one 2019 call
    in ``interventions`` or a churn log kept longer than the events stretch it back to weeks without any
    activity (all labeled 0). It falls back to the plausible timestamps of ``churns`` and ``interventions``
    when no activity timestamp is plausible, then to all timestamps.
    """
    cut = datetime(PLAUSIBLE_FROM.year, PLAUSIBLE_FROM.month, PLAUSIBLE_FROM.day)
    lows: list[datetime] = []
    other_lows: list[datetime] = []
    bounds = []
    maxima: dict[str, datetime | None] = {}
    for name, frame in tables.items():
        for col in (
            c for c in CONTRACT[name].time_columns if c in frame.columns
        ):  # optional ones may be absent
            column = frame.get_column(col)
            bounds.append((column.min(), column.max()))
            maxima[f"{name}.{col}"] = column.max()
            if name is not Table.CLIENTS:
                low = column.filter(column >= cut).min()
                if low is not None:
                    (other_lows if name in NOT_ACTIVITY else lows).append(low)
    known = [(lo, hi) for lo, hi in bounds if lo is not None]
    if not known:
        raise ContractError("clients", "no timestamps found in any table")
    start = min(lows or other_lows or [lo for lo, _ in known])
    return start, data_last(maxima)


def data_last(maxima: Mapping[str, datetime | None]) -> datetime:
    """The data's latest timestamp from each time column's maximum (keys ``"<table>.<column>"``).

    Subscription terms count by their ``start_date`` only when no table but ``clients`` has a timestamp:
    a term that starts after every other record is scheduled (booked ahead, or a renewal booked early
    that starts when the running term ends: :func:`renewal_start`), as its ``end_date`` is, and does not
    move the data's end (the default as-of date) into the future."""
    starts = f"{Table.SUBSCRIPTIONS}.{Subscriptions.START_DATE}"
    known = {k: v for k, v in maxima.items() if v is not None}
    others = [v for k, v in known.items() if k != starts and not k.startswith(f"{Table.CLIENTS}.")]
    if others and starts in known:
        known.pop(starts)
    return max(known.values())


# a table's rhythm is read from its records of the year before its last one (every season, a yearly invoice)
RHYTHM_LOOKBACK_DAYS = 365
# fewer days than this between a table's first and last record before the as-of date: too short to know its
# rhythm, judged by score.max_data_lag_days alone
RHYTHM_MIN_HISTORY_DAYS = 56
# lists and exports come weekly: a table is never called stale for less than a week (or max_data_lag_days)
RHYTHM_FLOOR_DAYS = 7


def usual_gap_days(times: pl.Series, as_of: date) -> int | None:
    """The longest gap, in days, between consecutive days holding a record (``times`` before ``as_of``,
    placeholders before 1971 left out) among the gaps that end in the :data:`RHYTHM_LOOKBACK_DAYS` up to
    the last record (the whole history when shorter): the silence the table keeps as a rule, a yearly
    invoice's year, a quiet summer's weeks. None when the records span fewer than
    :data:`RHYTHM_MIN_HISTORY_DAYS` days: too short to know the rhythm."""
    cut = datetime(as_of.year, as_of.month, as_of.day)
    plausible = datetime(PLAUSIBLE_FROM.year, PLAUSIBLE_FROM.month, PLAUSIBLE_FROM.day)
    kept = times.drop_nulls().cast(pl.Datetime("us"))
    days = kept.filter((kept < cut) & (kept >= plausible)).dt.date().unique().sort()
    if days.len() < 2 or (days[-1] - days[0]).days < RHYTHM_MIN_HISTORY_DAYS:
        return None
    gaps = days.to_frame("day").with_columns(gap=pl.col("day").diff().dt.total_days())
    recent = gaps.filter(pl.col("day") > days[-1] - timedelta(days=RHYTHM_LOOKBACK_DAYS))
    longest = recent.get_column("gap").max()
    return None if longest is None else int(longest)


def table_spans(tables: Mapping[Table, pl.DataFrame], as_of: date) -> dict[str, dict[str, str | int | None]]:
    """Per table (grain: one entry per table present): ``first`` and ``last`` timestamp of its time
    columns, ``last_before_as_of`` (the latest one a snapshot at ``as_of`` sees), ``usual_gap_days``
    (:func:`usual_gap_days`: its rhythm, absent when too short to know) and, for subscriptions,
    ``last_end`` (the latest scheduled end of a term). ISO strings, None when the table has no value."""
    cut = datetime(as_of.year, as_of.month, as_of.day)
    out: dict[str, dict[str, str | int | None]] = {}
    for name, frame in tables.items():
        cols = [c for c in CONTRACT[name].time_columns if c in frame.columns]
        if not cols:
            continue
        both = pl.concat([frame.get_column(c).alias("t") for c in cols])
        first, last = both.min(), both.max()
        before = both.filter(both < cut).max()
        span: dict[str, str | int | None] = {
            "first": None if first is None else first.isoformat(),
            "last": None if last is None else last.isoformat(),
            "last_before_as_of": None if before is None else before.isoformat(),
        }
        gap = usual_gap_days(both, as_of)
        if gap is not None:  # only a rhythm known is said
            span["usual_gap_days"] = gap
        if name is Table.SUBSCRIPTIONS:
            end = frame.get_column(Subscriptions.END_DATE).max()
            span["last_end"] = None if end is None else end.isoformat()
        out[str(name)] = span
    return out


def allowed_lag_days(usual_gap: int | None, max_lag_days: int) -> int:
    """Days a table may go without a record before the as-of date: its usual gap (:func:`usual_gap_days`),
    never less than :data:`RHYTHM_FLOOR_DAYS` (or ``max_lag_days`` when smaller); ``max_lag_days``
    (``score.max_data_lag_days``) when its rhythm is not known."""
    if usual_gap is None:
        return max_lag_days
    return max(usual_gap, min(RHYTHM_FLOOR_DAYS, max_lag_days))


def lagging_tables(spans: Mapping[str, Mapping[str, Any]], as_of: date, max_lag_days: int) -> dict[str, int]:
    """``{table: days}`` for each activity table whose data ends more days before ``as_of`` than it may
    (:func:`allowed_lag_days`: its own rhythm, ``usual_gap_days``, or ``max_lag_days`` without one): a stale
    export changes the list without a word, while a table silent as it always is (yearly invoices, quiet
    summers) is not stale. A subscriptions table whose terms run up to ``as_of`` is current, whenever its
    last term started."""
    cut = datetime(as_of.year, as_of.month, as_of.day)
    out: dict[str, int] = {}
    for table in ACTIVITY_TABLES:
        span = spans.get(str(table))
        if span is None or span.get("last_before_as_of") is None:
            continue
        covered = datetime.fromisoformat(span["last_before_as_of"])
        if span.get("last_end") is not None:
            covered = max(covered, min(datetime.fromisoformat(span["last_end"]), cut))
        lag = (cut - covered).days
        if lag > allowed_lag_days(span.get("usual_gap_days"), max_lag_days):
            out[str(table)] = lag
    return out


def lagging_table_text(table: str, lag: int, span: Mapping[str, Any], max_lag_days: int) -> str:
    """The warning for a table :func:`lagging_tables` found stale, with the rhythm it was judged by:
    "payments: no record for 79 days, its longest usual gap is 12 days"."""
    gap = span.get("usual_gap_days")
    if gap is None:
        return (
            f"{table}: no record for {lag} days, more than score.max_data_lag_days = {max_lag_days} "
            f"(its records span less than {RHYTHM_MIN_HISTORY_DAYS} days: too short to know its usual gaps)"
        )
    text = f"{table}: no record for {lag} days, its longest usual gap is {gap} day{'' if gap == 1 else 's'}"
    first, last = span.get("first"), span.get("last_before_as_of")
    if first and last and (datetime.fromisoformat(last) - datetime.fromisoformat(first)).days < 365:
        text += " (its records span less than a year: a yearly rhythm, such as invoices or quiet holidays, cannot show yet)"
    return text


def empty_short_windows(
    spans: Mapping[str, Mapping[str, str | None]], as_of: date, shortest_window_days: int
) -> int | None:
    """Whole days between the last event and ``as_of`` when the last event lies before the shortest usage
    window (``shortest_window_days`` before ``as_of``): every client's shortest windows are then empty, and
    the model reads the silence as a drop in use for all at once (an app scored 8 days after its export
    turned every user red). None otherwise, or without events. Tighter than :func:`lagging_tables`, which
    allows weeks of lag for every table."""
    span = spans.get(str(Table.EVENTS))
    if span is None or span.get("last_before_as_of") is None:
        return None
    gap = datetime(as_of.year, as_of.month, as_of.day) - datetime.fromisoformat(span["last_before_as_of"])
    return gap.days if gap > timedelta(days=shortest_window_days) else None


def empty_optional_columns(tables: Mapping[Table, pl.DataFrame]) -> list[str]:
    """``table.column`` of every optional contract column that holds no value (absent from the file or
    all empty): the features computed from it are missing for every client."""
    out = []
    for name, frame in tables.items():
        optional = [c for c in CONTRACT[name].optional if c in frame.columns]
        if not optional or frame.height == 0:
            continue
        nulls = frame.select(optional).null_count().row(0, named=True)
        out.extend(f"{name}.{c}" for c, n in nulls.items() if n == frame.height)
    return out


def midnight_after(moment: date | datetime) -> datetime:
    """Midnight at the end of ``moment``'s day: a snapshot then sees everything dated that day."""
    return datetime(moment.year, moment.month, moment.day) + timedelta(days=1)


def empty_cells_text(frame: pl.DataFrame) -> str:
    """The empty cells of a table for people: each column with any, by count ("csat 1,204"), a column
    without a single value said so ("value: none (absent or empty)") rather than by a count that reads as
    a data problem (an optional column the file does not have is read as empty); "0" when there are none."""
    said = []
    for column, n in frame.null_count().row(0, named=True).items():
        if n and n == frame.height:
            said.append(f"{column}: none (absent or empty)")
        elif n:
            said.append(f"{column} {n:,}")
    return ", ".join(said) or "0"


def dataset_summary(dataset: Dataset) -> RichTable:
    """A per-table summary for people: rows, clients, time span, empty cells, repairs."""
    out = RichTable(title=f"dataset '{dataset.name}' (as of {dataset.as_of:%Y-%m-%d})")
    for header in ("table", "rows", "clients", "from", "to", "empty cells", "repaired"):
        out.add_column(header, justify="right" if header in ("rows", "clients", "empty cells") else "left")
    for name in Table:
        frame = dataset.get(name)
        if frame is None:
            out.add_row(str(name), "-", "-", "-", "-", "-", "absent (its features are skipped)")
            continue
        schema = CONTRACT[name]
        time_col = schema.time_columns[0] if schema.time_columns else None
        start = frame.get_column(time_col).min() if time_col else None
        end = frame.get_column(time_col).max() if time_col else None
        repaired = dataset.repairs.counts.get(str(name), {})
        out.add_row(
            str(name),
            f"{frame.height:,}",
            f"{frame.get_column(CLIENT_ID).n_unique():,}",
            f"{start:%Y-%m-%d}" if start else "-",
            f"{end:%Y-%m-%d}" if end else "-",
            empty_cells_text(frame),
            "; ".join(f"{k}: {v:,}" for k, v in repaired.items()) or "none",
        )
    return out
