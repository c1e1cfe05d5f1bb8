"""The in-memory form of a validated input dataset, handed from ``io.py`` to the pure pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from churnml.schemas import Table

__all__ = ["Dataset", "RepairLog"]


@dataclass(frozen=True)
class RepairLog:
    """What validation repaired or skipped, per table: ``{table: {problem: row count}}``.

    Nothing is dropped silently: every repair is counted here and written to the run's manifest.
    """

    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def total(self) -> int:
        return sum(n for per in self.counts.values() for n in per.values())


@dataclass(frozen=True)
class Dataset:
    """Validated tables of one dataset, typed as the contract says (``schemas.CONTRACT``).

    ``tables`` holds only the tables present in the input folder; optional tables that are absent
    simply have no features. ``as_of`` is the extraction date: no timestamp lies after it, and it is
    the default scoring date. ``start`` is the earliest timestamp in any table.
    """

    tables: Mapping[Table, pl.DataFrame]
    name: str
    start: datetime
    as_of: datetime
    repairs: RepairLog = field(default_factory=RepairLog)
    checksums: Mapping[str, str] = field(default_factory=dict)

    def get(self, table: Table) -> pl.DataFrame | None:
        return self.tables.get(table)

    def __contains__(self, table: object) -> bool:
        return table in self.tables

    def row_counts(self) -> dict[str, int]:
        return {str(t): df.height for t, df in self.tables.items()}

    def with_tables(self, **replace: pl.DataFrame) -> Dataset:
        """A new dataset with some tables replaced (e.g. cut at a cutoff); the original is untouched."""
        tables = dict(self.tables)
        for name, frame in replace.items():
            tables[Table(name)] = frame
        return Dataset(tables, self.name, self.start, self.as_of, self.repairs, self.checksums)
