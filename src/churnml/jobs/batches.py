"""Training at portfolio scale: the labeled feature table built batch by batch, in float32.

Features and labels are per client, so the clients can be split into batches (hash partitions of the
trimmed ``client_id``) and each batch computed from its own rows only. What is portfolio-wide is
computed once, from lazy scans of the files, and handed to every batch: the data's start, its as-of
date and its first activity (the anchor of the weekly grid and of ``resolved_unobserved_windows``).
Each batch is read from the files (only its clients' rows), validated like :func:`read_dataset`
(coercion, contract rules, references to ``clients``), labeled and featurised; its labeled rows go to
a float32 block on scratch disk. At the end the blocks are gathered into one float32 matrix in the
order of the whole-portfolio table (snapshot, client_id), so the model does not depend on the batch
size. Peak memory: one batch's tables and features, plus the final float32 matrix.

With one batch (``train.batch_clients`` at least the number of clients) the dataset is read whole with
:func:`churnml.contract.io.read_dataset`, as before.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from churnml.config import Config, CsvConfig, DataConfig
from churnml.contract.dataset import Dataset, RepairLog
from churnml.contract.schemas import CLIENT_ID, CONTRACT, LABEL, SNAPSHOT, Churns, Table
from churnml.features import feature_columns

CHURNED_AT = Churns.CHURNED_AT  # the labeled table's churn instant (churnml.labels.CHURNED_AT)

__all__ = [
    "LabeledTable",
    "batch_count",
    "client_partition",
    "compact_labeled",
    "labeled_table_in_batches",
    "portfolio_span",
    "training_table",
    "whole_labeled_table",
]

_HASH_SEED = 15


@dataclass(frozen=True)
class LabeledTable:
    """The labeled rows of the training table: ``frame`` (pandas, one row per client x snapshot with a
    known label; columns ``client_id``, ``snapshot``, ``label`` and one float32 column per feature, the
    features in one block) and ``unlabeled`` (rows left out because their label is not known yet)."""

    frame: pd.DataFrame
    unlabeled: int


def client_partition(parts: int, part: int) -> pl.Expr:
    """True for the rows whose trimmed ``client_id`` falls in hash partition ``part`` of ``parts``."""
    key = pl.col(CLIENT_ID).cast(pl.String).str.strip_chars()
    return (key.hash(_HASH_SEED) % parts) == part


def batch_count(files: dict[Table, Path], batch_clients: int, csv: CsvConfig | None = None) -> int:
    """How many client batches: the clients file's distinct ids over ``batch_clients``, rounded up (a CSV
    clients file read as ``csv``, ``data.csv``, says it is written)."""
    n = _scan(files[Table.CLIENTS], csv).select(pl.col(CLIENT_ID).n_unique()).collect().item()
    return max(1, math.ceil(int(n) / batch_clients))


def _scan(path: Path, csv: CsvConfig | None = None) -> pl.LazyFrame:
    from churnml.contract.io import read_table_file

    if path.name.endswith(".parquet"):
        return pl.scan_parquet(path)
    return read_table_file(path, Table.CLIENTS, csv).lazy()  # the clients table: small, any encoding


def portfolio_span(
    files: dict[Table, Path],
) -> (
    tuple[datetime, datetime, datetime, datetime | None, datetime | None, datetime | None, datetime | None]
    | None
):
    """(start, last timestamp, first activity, first event, first contact, first payment, first term) of the
    whole dataset from lazy scans of its time columns, exactly as
    :func:`~churnml.contract.validation.timestamp_span`, ``Dataset.first_activity``, ``Dataset.events_first``,
    ``Dataset.contact_first``, ``Dataset.payments_first`` and ``Dataset.terms_first`` compute them on the
    validated tables; None when a time column is not stored as a date or datetime (text
    timestamps need the full coercion: the caller then reads the dataset whole)."""
    from churnml.contract.validation import timestamp_span

    extremes: dict[Table, pl.DataFrame] = {}
    for table, path in files.items():
        if not path.name.endswith(".parquet"):
            return None
        lf = pl.scan_parquet(path)
        schema = lf.collect_schema()
        cols = [c for c in CONTRACT[table].time_columns if c in schema]
        if any(not (schema[c] == pl.Date or isinstance(schema[c], pl.Datetime)) for c in cols):
            return None
        if any(isinstance(schema[c], pl.Datetime) and schema[c].time_zone for c in cols):  # type: ignore[union-attr]
            return None
        as_dt = [pl.col(c).cast(pl.Datetime("us")) for c in cols]
        cut = datetime(1971, 1, 1)
        # three rows per table: the minimum, the maximum and the least plausible value of each column
        extremes[table] = pl.concat(
            [
                lf.select(e.min() for e in as_dt),
                lf.select(e.max() for e in as_dt),
                lf.select(e.filter(e >= cut).min() for e in as_dt),
            ]
        ).collect()
    start, last = timestamp_span(extremes)
    spans = Dataset(extremes, "", start, last)
    return (
        start,
        last,
        spans.first_activity(),
        spans.events_first(),
        spans.contact_first(),
        spans.payments_first(),
        spans.terms_first(),
    )


# Parquet tables with more rows than this are split into the batches' partitions in one pass first
# (each batch then reads its own file), instead of every batch scanning and hashing the whole table.
_SPLIT_ROWS = 5_000_000


def _split_tables(files: dict[Table, Path], parts: int, scratch: Path) -> dict[Table, Path]:
    """The big Parquet tables written once to ``scratch/<table>/_part=<i>/`` (one folder per batch,
    rows in file order; the repeated text columns as categories,
    :func:`churnml.contract.validation.repeated_as_categories`); the folders' parent per table split."""
    from churnml.contract.validation import repeated_as_categories

    out: dict[Table, Path] = {}
    for table, path in files.items():
        if not path.name.endswith(".parquet"):
            continue
        if pl.scan_parquet(path).select(pl.len()).collect().item() <= _SPLIT_ROWS:
            continue
        key = pl.col(CLIENT_ID).cast(pl.String).str.strip_chars().hash(_HASH_SEED) % parts
        target = scratch / str(table)
        scan = pl.scan_parquet(path)
        scan.with_columns(repeated_as_categories(scan.collect_schema(), CONTRACT[table])).sink_parquet(
            pl.PartitionBy(target, key={"_part": key}, include_key=False), mkdir=True
        )
        out[table] = target
    return out


def _batch_rows(path: Path, split: Path | None, keep: pl.Expr, part: int) -> pl.DataFrame:
    """The raw rows of one batch's clients from a Parquet table (its split folder when there is one)."""
    if split is None:
        return pl.scan_parquet(path).filter(keep).collect(engine="streaming")
    folder = split / f"_part={part}"
    if not folder.is_dir():
        return pl.scan_parquet(path).head(0).collect()
    return pl.read_parquet(folder, hive_partitioning=False)


def _file_rows(path: Path, keep: pl.Expr, whole: pl.DataFrame | None) -> pl.Series:
    """The 1-based row in the table file at ``path`` of each of one batch's rows (``keep``), in the batch's
    order: from ``whole`` (a CSV file's rows as read, blank lines skipped) or a scan of the Parquet file's
    ids. Read only when an error names the batch's rows."""
    rows = whole.lazy() if whole is not None else pl.scan_parquet(path).select(CLIENT_ID)
    return rows.with_row_index("row", offset=1).filter(keep).collect().get_column("row")


def _read_batch(
    files: dict[Table, Path], cfg: DataConfig, parts: int, part: int, split: dict[Table, Path] | None = None
) -> tuple[dict[Table, pl.DataFrame], dict[str, dict[str, int]]]:
    """One batch's validated tables (what :func:`read_dataset` does, on the batch's rows only). A breach of
    the contract names its rows as the whole read does (:func:`churnml.contract.io.with_csv_lines`): a CSV
    file's by their lines, a Parquet file's by their rows in the file, not in the batch."""
    from churnml.contract.io import as_of_limit, contract_table, read_table, with_csv_lines, with_file_rows
    from churnml.contract.validation import (
        ContractError,
        checked_references,
        coerced_table,
        with_churn_events,
        with_created_repaired,
    )

    keep = client_partition(parts, part)
    tables: dict[Table, pl.DataFrame] = {}
    repairs: dict[str, dict[str, int]] = {}
    wholes: dict[Table, pl.DataFrame] = {}  # the CSV tables read whole, to name an error's lines

    def in_file(error: ContractError) -> ContractError:
        table = Table(error.table)
        rows = _file_rows(files[table], keep, wholes.get(table))
        return with_csv_lines(with_file_rows(error, rows), files[table], cfg.csv)

    limit = as_of_limit(cfg)
    for table, path in files.items():
        if path.name.endswith(".parquet"):
            raw, skipped = _batch_rows(path, (split or {}).get(table), keep, part), {}
        else:
            whole, skipped = read_table(path, table, cfg.max_examples, cfg.csv)
            raw, skipped = whole.filter(keep), (skipped if part == 0 else {})
            wholes[table] = whole.select(CLIENT_ID)
        if raw.height == 0:  # no row of this batch's clients: the table's types from its first row
            first = (
                pl.scan_parquet(path).head(1).collect() if path.name.endswith(".parquet") else whole.head(1)
            )
            try:  # the file's first row: its row 1
                coerced, repaired = coerced_table(first, CONTRACT[table], cfg.max_examples, cfg.timezone)
            except ContractError as exc:
                raise with_csv_lines(exc, path, cfg.csv) from None
            coerced, fixed = coerced.clear(), {}
        else:
            try:
                coerced, repaired = coerced_table(raw, CONTRACT[table], cfg.max_examples, cfg.timezone)
            except ContractError as exc:
                raise in_file(exc) from None
            fixed = dict(repaired.counts)
        del raw
        try:
            tables[table], found = contract_table(coerced, table, cfg, limit)
        except ContractError as exc:
            raise in_file(exc) from None
        del coerced
        counts = {**skipped, **fixed, **found}
        if counts:
            repairs[str(table)] = counts
    try:
        checked_references(tables, cfg.max_examples)
    except ContractError as exc:
        raise in_file(exc) from None
    tables, repairs = with_created_repaired(tables, repairs)  # a batch holds every row of its clients
    return with_churn_events(tables, repairs, cfg.churn_events)


def compact_labeled(table: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray, list[str], int]:
    """A labeled feature table (client x snapshot, ``label`` null when unknown) as its labeled rows'
    keys (``client_id``, ``snapshot``, ``label`` Int8, and ``churned_at`` when the table has it: the
    backtest's "not lapsed" figures read it), their features as a float32 matrix of shape (features, rows)
    (one feature per row of the matrix: the layout of a pandas block), the feature names (numeric columns
    but the label) and the number of unlabeled rows left out."""
    known = table.filter(pl.col(LABEL).is_not_null())
    churned = [pl.col(CHURNED_AT)] if CHURNED_AT in known.columns else []
    keys = known.select(
        pl.col(CLIENT_ID).cast(pl.String), pl.col(SNAPSHOT), pl.col(LABEL).cast(pl.Int8), *churned
    )
    names = [c for c in feature_columns(known) if c != LABEL and known.schema[c].is_numeric()]
    block = np.empty((len(names), known.height), dtype=np.float32)
    for i, name in enumerate(names):  # column by column: no float64 copy of the whole table
        block[i] = known.get_column(name).cast(pl.Float32).to_numpy()
    return keys, block, names, table.height - known.height


def assembled_frame(keys: pl.DataFrame, block: np.ndarray, names: list[str]) -> pd.DataFrame:
    """The pandas labeled table: the float32 block (features, rows) as one pandas block, no copy."""
    frame = pd.DataFrame(block.T, columns=names, copy=False)
    if CHURNED_AT in keys.columns:  # a datetime: never a feature (modeling.experiment.feature_columns)
        frame.insert(0, CHURNED_AT, keys.get_column(CHURNED_AT).to_pandas())
    frame.insert(0, LABEL, keys.get_column(LABEL).to_numpy().astype(float))
    frame.insert(0, SNAPSHOT, keys.get_column(SNAPSHOT).to_pandas())
    frame.insert(0, CLIENT_ID, keys.get_column(CLIENT_ID).to_numpy())
    return frame


def _gathered(
    scratch: Path, parts: list[tuple[pl.DataFrame, int]], names: list[str]
) -> tuple[pl.DataFrame, np.ndarray]:
    """Every batch's keys and float32 block (spilled to ``scratch``) in (snapshot, client_id) order."""
    keys = pl.concat(
        [k.with_columns(pl.lit(i, pl.Int32).alias("_batch")) for i, (k, _) in enumerate(parts)]
    ).with_row_index("_row")
    order = keys.select(pl.col("_row").sort_by(SNAPSHOT, CLIENT_ID)).get_column("_row").to_numpy()
    position = np.empty(order.size, dtype=np.int64)
    position[order] = np.arange(order.size)
    block = np.empty((len(names), order.size), dtype=np.float32)
    start = 0
    for i, (_, n) in enumerate(parts):
        rows = np.load(scratch / f"batch{i}.npy", mmap_mode="r")
        block[:, position[start : start + n]] = rows
        start += n
        del rows
        (scratch / f"batch{i}.npy").unlink()
    return keys.drop("_batch", "_row")[order], block


def labeled_table_in_batches(
    folder: Path, cfg: Config, progress: Callable[[str], None] | None = None
) -> tuple[Dataset, LabeledTable] | None:
    """The labeled table of the dataset in ``folder`` built batch by batch (module docstring), with a
    table-less :class:`Dataset` carrying its name, start and as-of date; None when one batch holds every
    client or the time columns need the full read (the caller reads the dataset whole)."""
    from churnml.contract.io import dataset_files, dataset_name
    from churnml.contract.validation import midnight_after
    from churnml.pipeline import labeled_feature_table

    say = progress or (lambda _m: None)
    files = dataset_files(Path(folder))
    if Table.CLIENTS not in files:
        return None
    parts = batch_count(files, cfg.train.batch_clients, cfg.data.csv)
    span = portfolio_span(files) if parts > 1 else None
    if span is None:
        return None
    start, last, first, events_first, contact_first, payments_first, terms_first = span
    as_of = midnight_after(cfg.data.as_of if cfg.data.as_of is not None else last)
    name = dataset_name(folder, cfg.data)
    done: list[tuple[pl.DataFrame, int]] = []
    names: list[str] = []
    unlabeled = 0
    repairs: dict[str, dict[str, int]] = {}
    mailings = whole_mailings(files, cfg)
    with tempfile.TemporaryDirectory(prefix="churnml-train-") as tmp:
        scratch = Path(tmp)
        split = _split_tables(files, parts, scratch)
        tables = ", ".join(str(t) for t in split)
        say(f"split {tables} into {parts} client batches" if split else f"reading {parts} client batches")
        for part in range(parts):
            tables, fixed = _read_batch(files, cfg.data, parts, part, split)
            for folder in split.values():
                shutil.rmtree(folder / f"_part={part}", ignore_errors=True)
            for t, counts in fixed.items():
                for k, v in counts.items():
                    repairs.setdefault(t, {})[k] = repairs.get(t, {}).get(k, 0) + v
            batch = Dataset(
                tables,
                name,
                start,
                as_of,
                activity_start=first,
                events_start=events_first,
                contact_start=contact_first,
                payments_start=payments_first,
                terms_start=terms_first,
            )
            table = labeled_feature_table(
                batch, cfg.snapshots, cfg.label, cfg.features, rules=cfg.rules, mailings=mailings
            )
            del tables, batch
            keys, block, names, left_out = compact_labeled(table)
            del table
            np.save(scratch / f"batch{part}.npy", block)
            done.append((keys, block.shape[1]))
            unlabeled += left_out
            del block
            say(f"batch {part + 1}/{parts}: {keys.height:,} labeled rows")
        keys, block = _gathered(scratch, done, names)
    meta = Dataset(
        {},
        name,
        start,
        as_of,
        RepairLog(repairs),
        {},
        first,
        events_first,
        contact_first,
        payments_first,
        terms_first,
    )
    return meta, LabeledTable(assembled_frame(keys, block, names), unlabeled)


def whole_mailings(files: Mapping[Table, Path], cfg: Config) -> pl.DataFrame | None:
    """The mailings of the whole portfolio (:func:`churnml.features.build.dataset_mailings` of the clients and
    communications read whole: small tables), handed to every training batch so that none judges them within
    its own clients, as the weekly list's batches do not; None without a communications table."""
    from churnml.contract.io import read_tables
    from churnml.features.build import dataset_mailings

    if Table.COMMUNICATIONS not in files:
        return None
    tables, _ = read_tables({t: files[t] for t in (Table.CLIENTS, Table.COMMUNICATIONS)}, cfg.data)
    whole = Dataset(tables, "mailings", datetime(1970, 1, 1), datetime(1970, 1, 1))
    return dataset_mailings(whole, cfg.rules.mailing_share, cfg.rules.mailing_min_clients)


def training_table(
    folder: Path, cfg: Config, progress: Callable[[str], None] | None = None
) -> tuple[Dataset, LabeledTable]:
    """The dataset (tables only when read whole) and its labeled table: batch by batch when the
    portfolio holds more than ``train.batch_clients`` clients, else read whole as before; the table is
    float32 either way."""
    from churnml.contract.io import read_dataset

    batched = labeled_table_in_batches(folder, cfg, progress)
    if batched is not None:
        return batched
    dataset = read_dataset(Path(folder), cfg.data)
    return dataset, whole_labeled_table(dataset, cfg, progress)


def whole_labeled_table(
    dataset: Dataset, cfg: Config, progress: Callable[[str], None] | None = None
) -> LabeledTable:
    """The labeled table of a dataset read whole, as ``train`` learns from it (float32 features): the
    table of :func:`training_table` below ``train.batch_clients``, and of ``bench models``."""
    from churnml.pipeline import labeled_feature_table

    table = labeled_feature_table(dataset, cfg.snapshots, cfg.label, cfg.features, progress, rules=cfg.rules)
    keys, block, names, unlabeled = compact_labeled(table)
    del table
    return LabeledTable(assembled_frame(keys, block, names), unlabeled)
