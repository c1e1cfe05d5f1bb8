"""Reading dataset folders and writing files atomically; the jobs (:mod:`churnml.jobs`) call these at the edge.

A dataset folder holds one file per table of the contract, ``<table>.parquet`` or ``<table>.csv``
(auto-detected; ``.csv.gz`` too). :func:`read_dataset` reads, coerces and validates every table and
returns a :class:`~churnml.contract.dataset.Dataset`; any breach of the contract raises
:class:`~churnml.contract.validation.ContractError`. Writers are atomic: they write a temporary file beside
the target and rename it, so a reader never sees half a file.

CSV files are comma-separated UTF-8 with a header, unless ``data.csv`` says otherwise (:class:`CsvConfig`:
the separator, the encoding, decimal commas, day-first time formats; :func:`regional_values`). A row with
fewer or more fields than the header is an error naming its line (a row cut short must not become a real
record); a file that is one column with ``;``, tab or ``|`` in its header is named as probably using that
delimiter. Blank lines (and rows of empty fields only) are skipped and counted as a repair. A contract error
names a CSV's offending rows by the line each starts on (:func:`with_csv_lines`), as an editor shows them.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from churnml.config import CsvConfig, DataConfig
from churnml.contract.dataset import Dataset, RepairLog
from churnml.contract.schemas import ACTIVITY_TABLES, CONTRACT, POLARS_TYPE, REQUIRED_TABLES, Kind, Table
from churnml.contract.validation import (
    EARLY_RENEWAL_REPAIR,
    PAUSE_PRODUCT_REPAIR,
    ContractError,
    amounts_in_one_currency,
    checked_references,
    checked_table,
    coerced_table,
    compact_table,
    early_renewals_repaired,
    implausible_dates,
    midnight_after,
    pause_terms_freed,
    timestamp_span,
    wall_clock,
    with_churn_events,
    with_created_repaired,
)

__all__ = [
    "ADAPT_REPORT",
    "OTHER_DELIMITERS",
    "as_of_limit",
    "checked_file_references",
    "contract_table",
    "csv_data_lines",
    "csv_layout",
    "data_clock",
    "dataset_files",
    "dataset_name",
    "decimal_points",
    "file_checksum",
    "iso_times",
    "part_folder_problem",
    "read_dataset",
    "read_table",
    "read_table_file",
    "read_tables",
    "regional_values",
    "repaired_renewals",
    "rows_per_day",
    "scanned_parquet",
    "time_bounds",
    "unread_files",
    "unread_files_note",
    "validated_table",
    "with_csv_lines",
    "with_default_permissions",
    "with_file_rows",
    "write_json_atomic",
    "write_parquet_atomic",
    "write_tables",
    "write_text_atomic",
]

_SUFFIXES = (".parquet", ".csv", ".csv.gz")
# Data-like files churnml does not read: named when they hold what looks like a table.
_OTHER_DATA_SUFFIXES = (".tsv", ".txt", ".xlsx", ".xls", ".json", ".jsonl", ".pq", ".gz", ".zip")
ADAPT_REPORT = "adapt_report.json"  # what `churnml adapt` writes beside the tables: not a table, never read
# Delimiters other than the comma that exports use; named in the error when they are the likely cause.
OTHER_DELIMITERS = {";": "semicolon (;)", "\t": "tab", "|": "pipe (|)"}
_PLAIN_CSV = (
    CsvConfig()
)  # comma-separated UTF-8, numbers and times as written: what a read without data.csv takes
# a number written with a decimal comma and, optionally, one separator grouping thousands (dots, spaces, no-break or
# narrow no-break spaces) after a first group that is no lone 0: 12,50, 1.546,81, 5 425,06 ("0.125" groups no
# thousands: as it is, 0.125). Rust's regex has no back-references: one branch per separator
_COMMA_NUMBER = (
    r"^-?([1-9]\d{0,2}(\.\d{3})+|[1-9]\d{0,2}( \d{3})+|[1-9]\d{0,2}(\x{00a0}\d{3})+|[1-9]\d{0,2}(\x{202f}\d{3})+|\d+)"
    r"(,\d+)?$"
)


def _data_file_stem(name: str) -> str | None:
    """The table-like stem of a file name that looks like data (``Events.CSV`` -> ``events``,
    ``payments.xlsx`` -> ``payments``), else ``None`` (``churnml.yaml``, ``README.md``, hidden files)."""
    lower = name.lower()
    if lower.startswith("."):
        return None
    for suffix in (*_SUFFIXES, *_OTHER_DATA_SUFFIXES):
        if lower.endswith(suffix):
            return lower[: -len(suffix)]
    return None


def _misnamed_table_file(files: list[Path], table: Table) -> ContractError | None:
    """An error for a file among ``files`` (the folder's, sorted) that is plainly meant as ``table`` but that
    churnml would not read: another letter case (``Events.csv``) or another format (``events.xlsx``).
    Without it the table would be silently absent, and every feature of it with it."""
    for path in files:
        if _data_file_stem(path.name) == str(table):
            wanted = ", ".join(f"{table}{suffix}" for suffix in _SUFFIXES)
            fix = (
                f"rename it to {table}{path.name[len(str(table)) :].lower()}"
                if path.name.lower().endswith(_SUFFIXES)
                else f"export the table as {table}.csv or {table}.parquet"
            )
            return ContractError(
                str(table), f"file {path.name} looks like this table, but churnml reads only {wanted}: {fix}"
            )
    return None


def dataset_files(folder: Path) -> dict[Table, Path]:
    """The file of each contract table present in ``folder``; an error if one table has two files or
    a file plainly meant as a table has a name churnml would not read (``Clients.CSV``,
    ``events.xlsx``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"dataset folder {folder} does not exist (give one with --data)")
    found: dict[Table, Path] = {}
    listed = sorted(p for p in folder.iterdir() if p.is_file())  # once, for the misnamed-file check
    for table in Table:
        if (parts := _parquet_part_folder(folder, table)) is not None:
            raise ContractError(str(table), part_folder_problem(parts, table))
        candidates = [folder / f"{table}{suffix}" for suffix in _SUFFIXES]
        present = [p for p in candidates if p.is_file()]
        if len(present) > 1:
            raise ContractError(str(table), f"two files for one table: {[p.name for p in present]}; keep one")
        if present:
            found[table] = present[0]
        elif (misnamed := _misnamed_table_file(listed, table)) is not None:
            raise misnamed
    return found


def _parquet_part_folder(folder: Path, table: Table) -> Path | None:
    """``<table>.parquet/`` or ``<table>/`` in ``folder`` when it is a folder holding Parquet files (part
    files as Spark or a partitioned write leaves them, at any depth); None otherwise."""
    for candidate in (folder / f"{table}.parquet", folder / str(table)):
        if candidate.is_dir() and next(candidate.rglob("*.parquet"), None) is not None:
            return candidate
    return None


def part_folder_problem(parts: Path, table: Table) -> str:
    """What to do with a folder of Parquet part files where churnml reads one file per table."""
    return (
        f"{parts.name}/ is a folder of Parquet part files (as Spark or a partitioned write leaves them); "
        f"churnml reads one file per table: write {table}.parquet as one file (Spark: "
        f"df.coalesce(1).write.parquet(...), then move the part file to {table}.parquet; Polars: "
        f"pl.scan_parquet('{parts.name}/**/*.parquet', hive_partitioning=True).sink_parquet('{table}.parquet'))"
    )


def unread_files(folder: Path) -> list[str]:
    """Names of the files in ``folder`` that look like data (CSV, Parquet, Excel, JSON, text) but are
    no contract table, so churnml does not read them (``orders.csv``): said by ``churnml validate``."""
    tables = {str(t) for t in Table}
    return sorted(
        path.name
        for path in Path(folder).iterdir()
        if path.is_file()
        and path.name != ADAPT_REPORT
        and (stem := _data_file_stem(path.name)) is not None
        and stem not in tables
    )


def unread_files_note(folder: Path) -> str:
    """'; files found but not read ...: rename each ...' naming the data files in ``folder`` that are no
    contract table (:func:`unread_files`: ``abonnements.csv``, ``factures.csv`` of a French export) and the
    table names to rename them to; "" when there are none. Said where a table is missing, which they may be."""
    skipped = unread_files(folder)
    if not skipped:
        return ""
    names = ", ".join(str(t) for t in Table)
    return (
        f"; files found but not read (no contract table of that name): {', '.join(skipped)}: rename each to "
        f"the name of the table it holds ({names}; .csv or .parquet)"
    )


def _delimiter_hint(text: str, contract: bool = True) -> str:
    """' (the file looks semicolon (;)-delimited ...)' when another delimiter is frequent in ``text``, naming
    the setting that reads it when the file is a ``contract`` table (``data.csv.separator``)."""
    counts = {d: text.count(d) for d in OTHER_DELIMITERS}
    likely = max(counts, key=lambda d: counts[d])
    if counts[likely] == 0 or counts[likely] < text.count(","):
        return ""
    return (
        f"; the file looks {OTHER_DELIMITERS[likely]}-delimited: churnml reads comma-separated CSV, "
        "export it with commas" + (f" (or set data.csv.separator: {likely!r})" if contract else "")
    )


def _text_lines(path: Path, encoding: str = "utf-8") -> Any:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def csv_layout(
    path: Path, table: Table | str, max_examples: int = 5, delimiter: str = ",", encoding: str = "utf-8"
) -> int:
    """Number of blank lines in the CSV file at ``path``, after checking its layout: every row has as
    many fields as the header. Raises :class:`ContractError` naming the lines of ragged rows (and the
    delimiter when another one is the likely cause). ``table``: the name errors give (a contract table,
    or ``transactions`` for ``adapt``'s input); ``delimiter``: the file's field separator; ``encoding``:
    its text encoding (``data.csv.encoding``)."""
    header: list[str] | None = None
    ragged: list[tuple[int, int, str]] = []
    n_ragged = blank = 0
    try:
        with _text_lines(path, encoding) as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            for record in reader:
                if not record or (len(record) == 1 and not record[0].strip()):
                    blank += 1
                    continue
                if header is None:
                    header = record
                    continue
                if len(record) != len(header):
                    n_ragged += 1
                    if len(ragged) < max_examples:
                        ragged.append((reader.line_num, len(record), ",".join(record)[:80]))
    except UnicodeDecodeError as exc:
        written = "UTF-8" if encoding == "utf-8" else encoding
        fix = (  # adapt's log is read as UTF-8 whatever data.csv says: no setting to name
            "set data.csv.encoding to the encoding it is written in (cp1252 for most Windows exports)"
            if isinstance(table, Table)
            else f"convert it first, e.g. iconv -f cp1252 -t utf-8 {path.name} (cp1252 for most Windows exports)"
        )
        raise ContractError(
            str(table),
            f"file {path.name} is not {written} text ({exc.reason} at byte {exc.start}); save it as UTF-8, or {fix}",
        ) from None
    except (OSError, csv.Error, EOFError) as exc:
        raise ContractError(str(table), f"file {path.name} is not a readable CSV table ({exc})") from None
    if header is None:
        raise ContractError(str(table), f"file {path.name} is empty; remove it if the table does not apply")
    contract = isinstance(table, Table)
    if len(header) == 1 and delimiter == "," and _delimiter_hint(header[0]):
        raise ContractError(
            str(table),
            f"file {path.name} has a single column {header[0][:60]!r}{_delimiter_hint(header[0], contract)}",
        )
    if n_ragged:
        examples = pl.DataFrame(
            ragged, schema={"line": pl.Int64, "fields": pl.Int64, "text": pl.String}, orient="row"
        )
        raise ContractError(
            str(table),
            f"rows with a different number of fields than the header's {len(header)} in {path.name} "
            f"(a row cut short or a stray delimiter)"
            + (_delimiter_hint(" ".join(t for *_, t in ragged), contract) if delimiter == "," else ""),
            examples=examples,
            count=n_ragged,
        )
    return blank


def _empty_record(record: list[str]) -> bool:
    """Whether a CSV record holds nothing: a blank line or a row of empty (or blank) fields, which
    :func:`read_table` skips."""
    return all(not field.strip() for field in record)


def csv_data_lines(path: Path, rows: Collection[int], csv_config: CsvConfig | None = None) -> dict[int, int]:
    """The line of the CSV file at ``path`` on which each of the data ``rows`` starts, ``{row: line}``:
    ``rows`` are 1-based and counted as validation counts them, in the table :func:`read_table` returns (the
    header and the empty records it skips not counted); a line is what a text editor or a spreadsheet
    shows (the header's line counted, blank lines too). ``csv_config``: how the file is written (``data.csv``)."""
    written = csv_config or _PLAIN_CSV
    wanted, lines = set(rows), {}
    n, header, last = 0, False, 0
    with _text_lines(path, written.encoding) as handle:
        reader = csv.reader(handle, delimiter=written.separator)
        for record in reader:
            start, last = last + 1, reader.line_num
            if _empty_record(record):
                continue
            if not header:
                header = True
                continue
            n += 1
            if n in wanted:
                lines[n] = start
                if len(lines) == len(wanted):
                    break
    return lines


def with_csv_lines(error: ContractError, path: Path, csv_config: CsvConfig | None = None) -> ContractError:
    """``error`` with its example rows named by the line of the CSV file at ``path`` on which each starts
    (``line=12``: :func:`csv_data_lines`) in place of the data row validation counts (``row=9``: the header
    and blank lines not counted), so that a user finds them in an editor; ``error`` itself for a Parquet
    file or without example rows."""
    examples = error.examples
    if path.name.endswith(".parquet") or examples is None or "row" not in examples.columns:
        return error
    lines = csv_data_lines(path, examples.get_column("row").to_list(), csv_config)
    named = examples.with_columns(
        pl.col("row").replace_strict(lines, default=None, return_dtype=pl.Int64)
    ).rename({"row": "line"})
    return ContractError(error.table, error.problem, error.column, named, error.count)


def with_file_rows(error: ContractError, file_rows: pl.Series) -> ContractError:
    """``error`` raised on a part of a table (a client batch's rows) with its example rows, 1-based rows of
    that part, named by the 1-based rows of the whole table they are: ``file_rows`` holds the table's row of
    each of the part's rows, in the part's order. ``error`` itself without example rows."""
    examples = error.examples
    if examples is None or "row" not in examples.columns:
        return error
    rows = file_rows.gather(examples.get_column("row") - 1).cast(pl.Int64)
    named = examples.with_columns(rows.alias("row"))
    return ContractError(error.table, error.problem, error.column, named, error.count)


def checked_file_references(
    tables: Mapping[Table, pl.DataFrame], files: Mapping[Table, Path], cfg: DataConfig
) -> None:
    """Raise when any table holds a ``client_id`` that is not in ``clients``
    (:func:`~churnml.contract.validation.checked_references`), its rows named as in every other contract
    error: a CSV file's by the line each starts on (:func:`with_csv_lines`), a Parquet file's by its row.
    ``tables`` are the whole tables read from ``files``, rows in file order (blank CSV lines skipped)."""
    try:
        checked_references(tables, cfg.max_examples)
    except ContractError as exc:
        raise with_csv_lines(exc, files[Table(exc.table)], cfg.csv) from None


def read_table(
    path: Path, table: Table, max_examples: int = 5, csv: CsvConfig | None = None
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Raw contents of one table file, and what reading skipped or rewrote (``{problem: rows}``).

    Parquet is read as stored; CSV is checked by :func:`csv_layout` and read as text as ``csv`` says it
    is written (``data.csv``; None: comma-separated UTF-8), its blank rows (all cells empty) skipped and
    counted, its regional numbers and times written as the contract reads them (:func:`regional_values`)
    and counted; coercion happens in validation."""
    csv = csv or _PLAIN_CSV
    skipped: dict[str, int] = {}
    if not path.name.endswith(".parquet"):
        csv_layout(path, table, max_examples, csv.separator, csv.encoding)
    frame = read_table_file(path, table, csv)
    if not path.name.endswith(".parquet") and frame.width and frame.height:
        empty = pl.all_horizontal(pl.all().is_null() | (pl.all().str.strip_chars() == ""))
        n_blank = int(frame.select(empty.sum()).item())
        if n_blank:
            frame = frame.filter(~empty)
            skipped["blank lines (or rows of empty cells) skipped"] = n_blank
        if csv.encoding != "utf-8" and (decoded := _non_ascii_rows(frame)):
            skipped[f"rows decoded from {csv.encoding} to UTF-8 (data.csv.encoding)"] = decoded
        frame, rewritten = regional_values(frame, table, csv)
        skipped |= rewritten
    return frame, skipped


def _non_ascii_rows(frame: pl.DataFrame) -> int:
    """Rows of a text frame with a cell holding a character outside ASCII (their text depends on the encoding)."""
    outside = pl.any_horizontal(pl.all().str.contains(r"[^\x00-\x7F]").fill_null(False))
    return int(frame.select(outside.sum()).item())


def decimal_points(text: pl.Expr) -> pl.Expr:
    """Numbers written with a decimal comma, thousands grouped by dots, spaces, no-break or narrow no-break
    spaces ("12,50", "1.546,81", "5 425,06", "1.546"), as plain decimal-point text ("12.50", "1546.81",
    "5425.06", "1546"); any other text as it is (" 22 " too: validation trims it). One row per cell."""
    trimmed = text.str.strip_chars()
    plain = trimmed.str.replace_all(r"[. \x{00a0}\x{202f}]", "").str.replace(",", ".", literal=True)
    return pl.when(trimmed.str.contains(_COMMA_NUMBER) & (plain != trimmed)).then(plain).otherwise(text)


def iso_times(text: pl.Expr, formats: tuple[str, ...]) -> pl.Expr:
    """Times written in one of ``formats`` (``%d/%m/%Y``, the first that reads the whole text) as ISO 8601
    text (``2024-07-24 00:00:00``); any other text as it is. One row per cell. A format with ``%Y`` reads only
    a text holding four digits in a row: ``%Y`` reads the ``24`` of ``06/03/24`` as the year 24, which ``%y``
    (when given) reads as 2024, and validation refuses otherwise."""
    trimmed = text.str.strip_chars()
    reads = [trimmed.str.to_datetime(f, strict=False, time_unit="us") for f in formats]
    four_digits = trimmed.str.contains(r"\d{4}")
    read = pl.coalesce(
        [pl.when(four_digits).then(r) if "%Y" in f else r for f, r in zip(formats, reads, strict=True)]
    )
    return pl.when(read.is_not_null()).then(read.dt.to_string("%Y-%m-%d %H:%M:%S%.f")).otherwise(text)


def regional_values(frame: pl.DataFrame, table: Table, csv: CsvConfig) -> tuple[pl.DataFrame, dict[str, int]]:
    """A CSV table read as text (one row per record) with the contract's number columns written with a decimal
    point (``csv.decimal_comma``: :func:`decimal_points`) and its time columns in ISO 8601 (``csv.date_formats``:
    :func:`iso_times`), and the cells whose text changed per column (``{repair: cells}``); other columns,
    and cells written otherwise, as they are (validation reads or refuses them)."""
    rewrites: dict[str, tuple[pl.Expr, str]] = {}
    for spec in CONTRACT[table].columns:
        if spec.name not in frame.columns or frame.schema[spec.name] != pl.String:
            continue
        if csv.decimal_comma and spec.kind in (Kind.FLOAT, Kind.INT):
            rewrites[spec.name] = (decimal_points(pl.col(spec.name)), "decimal commas read as decimal points")
        elif csv.date_formats and spec.kind is Kind.DATETIME:
            formats = ", ".join(csv.date_formats)
            rewrites[spec.name] = (iso_times(pl.col(spec.name), csv.date_formats), f"times read as {formats}")
    if not rewrites:
        return frame, {}
    rewritten = frame.with_columns(expr.alias(name) for name, (expr, _) in rewrites.items())
    changed = rewritten.select(
        (pl.col(name) != frame.get_column(name)).fill_null(False).sum().alias(name) for name in rewrites
    ).row(0, named=True)
    counts = {
        f"{name}: {what} (data.csv)": int(changed[name])
        for name, (_, what) in rewrites.items()
        if changed[name]
    }
    return rewritten, counts


def _utf8_csv(path: Path, encoding: str) -> BytesIO:
    """The CSV file at ``path`` (gzipped or not) decoded from ``encoding``, as UTF-8 bytes for the parser."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        return BytesIO(handle.read().decode(encoding).encode("utf-8"))


def read_table_file(path: Path, table: Table, csv: CsvConfig | None = None) -> pl.DataFrame:
    """Raw contents of one table file (CSV is read as text as ``csv`` says it is written, ``data.csv``; None:
    comma-separated UTF-8; coercion happens in validation)."""
    csv = csv or _PLAIN_CSV
    try:
        if path.name.endswith(".parquet"):
            return pl.read_parquet(path)
        source = path if csv.encoding == "utf-8" else _utf8_csv(path, csv.encoding)
        return pl.read_csv(
            source, infer_schema=False, null_values=[""], try_parse_dates=False, separator=csv.separator
        )
    except Exception as exc:  # any parser failure means the file is not a table we can read
        kind = "Parquet" if path.name.endswith(".parquet") else "CSV"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ContractError(
            str(table), f"file {path.name} is not a readable {kind} table ({first_line})"
        ) from None


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_clock(cfg: DataConfig) -> datetime:
    """Now, as the naive wall-clock time of the data's zone (``data.timezone``)."""
    return datetime.now(ZoneInfo(cfg.timezone)).replace(tzinfo=None)


def as_of_limit(cfg: DataConfig) -> datetime:
    """The first timestamp not allowed in the data (every time must lie before it): the midnight after the
    as-of day, or now when none is given, later by ``data.future_tolerance_days``."""
    if cfg.as_of is not None:
        return midnight_after(cfg.as_of) + timedelta(days=cfg.future_tolerance_days)
    return data_clock(cfg) + timedelta(days=cfg.future_tolerance_days)


def validated_table(raw: pl.DataFrame, table: Table, cfg: DataConfig) -> tuple[pl.DataFrame, dict[str, int]]:
    """One table's raw rows coerced, checked (nothing after the as-of limit) and compacted, and what
    was repaired (``{problem: rows}``); raises :class:`ContractError` on a breach of the contract."""
    coerced, fixed = coerced_table(raw, CONTRACT[table], cfg.max_examples, cfg.timezone)
    frame, counts = contract_table(coerced, table, cfg, as_of_limit(cfg))
    return frame, {**fixed.counts, **counts}


def contract_table(
    coerced: pl.DataFrame, table: Table, cfg: DataConfig, limit: datetime
) -> tuple[pl.DataFrame, dict[str, int]]:
    """A coerced table (:func:`churnml.contract.validation.coerced_table`) checked (nothing after
    ``limit``), its amounts in score.currency (a money table in several currencies converted at
    ``data.currency_rates``, or refused without them: :func:`churnml.contract.validation.amounts_in_one_currency`),
    repaired (:func:`repaired_renewals`) and compacted, and what was repaired, converted or found
    implausible (``{problem: rows}``); raises :class:`ContractError` on a breach of the contract. What
    the whole read, each training batch and the scoring read of the small tables do to every table."""
    checked = checked_table(
        coerced, CONTRACT[table], limit, cfg.max_examples, cfg.early_renewal_share, cfg.timezone
    )
    checked, converted = amounts_in_one_currency(checked, table, cfg.currency_rates, cfg.max_examples)
    checked, renewals = repaired_renewals(checked, table, cfg)
    checked, pauses = freed_pauses(checked, table, cfg)
    frame = compact_table(checked, CONTRACT[table])
    return frame, {**converted, **renewals, **pauses, **implausible_dates(frame, CONTRACT[table])}


def freed_pauses(frame: pl.DataFrame, table: Table, cfg: DataConfig) -> tuple[pl.DataFrame, dict[str, int]]:
    """``frame`` (``table`` in contract types) with the subscriptions' terms of ``data.pause_products`` at
    mrr 0 (:func:`churnml.contract.validation.pause_terms_freed`), and how many had a fee (``{}`` for other
    tables and when none had)."""
    if table is not Table.SUBSCRIPTIONS:
        return frame, {}
    freed, n = pause_terms_freed(frame, cfg.pause_products)
    return freed, ({PAUSE_PRODUCT_REPAIR: n} if n else {})


def repaired_renewals(
    frame: pl.DataFrame, table: Table, cfg: DataConfig
) -> tuple[pl.DataFrame, dict[str, int]]:
    """``frame`` (``table`` in contract types) with the subscriptions' renewals booked early starting
    when the term they renew ends (:func:`churnml.contract.validation.early_renewals_repaired`), and the
    repair's count (``{}`` for other tables and when nothing moved)."""
    if table is not Table.SUBSCRIPTIONS:
        return frame, {}
    repaired, moved = early_renewals_repaired(frame, cfg.early_renewal_share)
    return repaired, ({EARLY_RENEWAL_REPAIR: moved} if moved else {})


def read_tables(
    files: Mapping[Table, Path], cfg: DataConfig
) -> tuple[dict[Table, pl.DataFrame], dict[str, dict[str, int]]]:
    """Every table of ``files`` read and validated (:func:`validated_table`; a CSV's rows in its errors named by
    their lines, :func:`with_csv_lines`), and the repairs per table (tables without repairs left out).
    References between tables are not checked here."""
    tables: dict[Table, pl.DataFrame] = {}
    repairs: dict[str, dict[str, int]] = {}
    for table, path in files.items():
        raw, skipped = read_table(path, table, cfg.max_examples, cfg.csv)
        try:
            tables[table], fixed = validated_table(raw, table, cfg)
        except ContractError as exc:
            raise with_csv_lines(exc, path, cfg.csv) from None
        del raw
        counts = {**skipped, **fixed}
        if counts:
            repairs[str(table)] = counts
    return tables, repairs


def scanned_parquet(path: Path, table: Table) -> pl.LazyFrame:
    """A lazy scan of one Parquet table file (filters and column choices are pushed into the read)."""
    try:
        return pl.scan_parquet(path)
    except Exception as exc:  # any parser failure means the file is not a table we can read
        raise ContractError(str(table), f"file {path.name} is not a readable Parquet table ({exc})") from None


def _lossless_contract_type(
    expr: pl.Expr, dtype: pl.DataType, kind: Kind, timezone: str = "UTC"
) -> pl.Expr | None:
    """``expr`` in the contract type of ``kind`` when the conversion cannot fail nor needs a repair the
    eager read would count (nanosecond times, zoned times as ``timezone``'s wall-clock time, whole-number or
    categorical ids, whole numbers as floats, narrower integers as integers); None when only the eager read
    can convert it (text times, float ids, other types)."""
    if dtype == POLARS_TYPE[kind]:
        return expr
    if kind is Kind.DATETIME and (isinstance(dtype, pl.Datetime) or dtype == pl.Date):
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            return wall_clock(expr, timezone)
        return expr.cast(pl.Datetime("us"))
    if kind is Kind.STR and (dtype.is_integer() or isinstance(dtype, pl.Categorical | pl.Enum)):
        return expr.cast(pl.String)
    if kind is Kind.FLOAT and dtype.is_numeric():
        return expr.cast(pl.Float64)
    if kind is Kind.INT and dtype.is_integer() and dtype != pl.UInt64:  # a count stored as Int32 or UInt32
        return expr.cast(POLARS_TYPE[Kind.INT])
    return None


def typed_scan(scan: pl.LazyFrame, table: Table, timezone: str = "UTC") -> pl.LazyFrame | None:
    """A lazily scanned table with its contract columns in their contract types, converted in the scan
    (:func:`_lossless_contract_type`: a pandas export's nanosecond or zoned times, integer ids), so that
    what is computed on the scan (per-client marks, client batches) reads the ids and times the
    validated tables hold; its other columns as stored. None when a column needs the eager read's
    coercion (text times, float ids, durations), which also names what it cannot read."""
    schema = scan.collect_schema()
    typed = []
    for spec in CONTRACT[table].columns:
        if spec.name not in schema:
            continue
        expr = _lossless_contract_type(pl.col(spec.name), schema[spec.name], spec.kind, timezone)
        if expr is None:
            return None
        typed.append(expr.alias(spec.name))
    return scan.with_columns(typed)


def rows_per_day(scan: pl.LazyFrame, column: str) -> pl.LazyFrame:
    """The rows of a lazily scanned table per day of one time column (lazy ``[day, rows, first, last]``, one row
    per day holding a row, ``first`` / ``last`` its earliest and latest time; rows without a time under a null
    day): one streaming pass reading that column only, from which the table's bounds (:func:`time_bounds`), its
    days before a date and their rows are read without another pass."""
    ts = pl.col(column).cast(pl.Datetime("us"))
    return scan.group_by(ts.dt.date().alias("day")).agg(
        pl.len().alias("rows"), ts.min().alias("first"), ts.max().alias("last")
    )


def time_bounds(days: pl.DataFrame) -> dict[str, Any]:
    """``rows``, ``first``, ``first_plausible`` (from 1971 on) and ``last`` of one time column, from its
    :func:`rows_per_day` (a day from 1971 on holds only times from 1971 on)."""
    from churnml.contract.validation import PLAUSIBLE_FROM

    plausible = days.filter(pl.col("day") >= PLAUSIBLE_FROM)
    return {
        "rows": int(days.get_column("rows").sum()),
        "first": days.get_column("first").min(),
        "first_plausible": plausible.get_column("first").min(),
        "last": days.get_column("last").max(),
    }


def dataset_name(folder: Path | str, cfg: DataConfig) -> str:
    """The dataset's name: ``data.name`` when set, else the data folder's name. Everything a dataset owns is
    keyed by it (its MLflow experiment and registered model ``churnml-<name>``, its tuned parameters, the
    lists whose history and "since last week" it reads, its report pages): a weekly export written to a
    folder per date (``exports/2026-11-09/``) is one dataset only under one ``data.name``."""
    return cfg.name if cfg.name is not None else Path(folder).resolve().name


def read_dataset(folder: Path, cfg: DataConfig) -> Dataset:
    """Read, coerce and validate every table in ``folder``.

    Raises :class:`ContractError` naming table, column, problem and example rows when the data breaks
    the contract (a missing table with the data files found but not read: :func:`unread_files_note`); repairs (trimmed ids, ignored columns) are counted in ``Dataset.repairs``.
    """
    folder = Path(folder)
    files = dataset_files(folder)
    for table in REQUIRED_TABLES:
        if table not in files:
            raise ContractError(
                str(table),
                f"required table missing: no {table}.parquet or {table}.csv in {folder}{unread_files_note(folder)}",
            )
    if not any(t in files for t in ACTIVITY_TABLES):
        names = ", ".join(str(t) for t in ACTIVITY_TABLES)
        raise ContractError(
            "events",
            f"no activity table in {folder}: need at least one of {names}{unread_files_note(folder)}",
        )

    tables, repairs = read_tables(files, cfg)
    checked_file_references(tables, files, cfg)
    tables, repairs = with_created_repaired(tables, repairs)
    tables, repairs = with_churn_events(tables, repairs, cfg.churn_events)

    start, last = timestamp_span(tables)
    return Dataset(
        tables=tables,
        name=dataset_name(folder, cfg),
        start=start,
        as_of=midnight_after(cfg.as_of if cfg.as_of is not None else last),
        repairs=RepairLog(repairs),
        checksums={str(t): file_checksum(p) for t, p in files.items()},
    )


def with_default_permissions(path: Path) -> Path:
    """Give ``path`` the mode a plain ``open``/``mkdir`` would (0666/0777 less the umask).

    ``tempfile`` creates private (0600/0700) files and folders; renamed into place they would keep
    that mode and lock out the batch job or analyst who reads the outputs under another user.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if Path(path).is_dir() else 0o666) & ~umask)
    return Path(path)


def _atomic(path: Path, write: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with_default_permissions(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_parquet_atomic(frame: pl.DataFrame, path: Path, metadata: Mapping[str, str] | None = None) -> Path:
    """Write ``frame`` to ``path`` as Parquet via a temporary file and a rename (``metadata``: key-value
    pairs stored in the file's footer, e.g. who wrote it)."""
    kv = dict(metadata) if metadata else None
    return _atomic(path, lambda tmp: frame.write_parquet(tmp, statistics=False, metadata=kv))


def write_text_atomic(text: str, path: Path) -> Path:
    return _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json_atomic(payload: Mapping[str, Any], path: Path) -> Path:
    return write_text_atomic(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n", path)


def write_tables(tables: Mapping[Table | str, pl.DataFrame], folder: Path) -> list[Path]:
    """Write a contract dataset (one Parquet file per table) into ``folder``."""
    return [write_parquet_atomic(frame, Path(folder) / f"{name}.parquet") for name, frame in tables.items()]
