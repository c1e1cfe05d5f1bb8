"""The client-week store a weekly list carries to the next one (``score.client_week_store``).

A list scored from a Parquet events file writes, beside its files, the usage family's aggregates of its
window's weeks (:func:`churnml.features.usage.calendar_aggregates`: per client x week x event kind, and per
client x user x week, each week keyed by the day it starts): :data:`KINDS_FILE` and :data:`USERS_FILE`, named
in the manifest's ``data.client_week_store`` with the weeks they cover, the events file's rows in each of
those weeks, the optional columns holding a value in each, and the settings they were made with
(:func:`churnml.config.history_hash`).

Next week's list reuses them (:func:`reusable_store`) when last week's list holds a store of the same settings
whose weeks start on this list's weekday, begin no later than this list's window and hold, week by week, as
many rows of the events file as the file holds now (the days' counts come from the marks pass,
:func:`churnml.jobs.score_data.event_days`, at no extra read). It then reads of the window only the weeks since
that list (and the rows carried from before the window, as always) and builds the usage features from the
stored weeks and the new ones: the same features as from the raw window, because aggregates of separate
ranges of whole weeks, put together, are those of the whole (tests/features/test_feat_usage_aggregates.py).
Otherwise it reads the raw window and says why in one line. Either way it writes its own store.

What a row count per week cannot see: a re-export that changes values and keeps every week's row count (a
checksum of the weeks would cost the read the store saves). What the store changes in the manifest: the rows
read, and so the repair counts, cover the rows read by this run (the stored weeks were validated by the list
that stored them, whose manifest holds their repairs); the empty optional columns are judged on the rows read
and the stored weeks together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from churnml.features._grid import WeekAxis, python_day_number
from churnml.features.usage import WEEK_DAY

__all__ = [
    "KINDS_FILE",
    "STORE_FILES",
    "STORE_KEY",
    "USERS_FILE",
    "StoredWeeks",
    "reader_axis",
    "reusable_store",
    "store_record",
    "week_rows",
    "week_starts",
]

KINDS_FILE = "client_weeks_kinds.parquet"
USERS_FILE = "client_weeks_users.parquet"
STORE_FILES = (KINDS_FILE, USERS_FILE)
# the manifest's entry (under ``data``)
STORE_KEY = "client_week_store"


def reader_axis(start: datetime, end: datetime) -> WeekAxis:
    """The week axis a batch's events are aggregated on for the store: weeks start on ``end``'s weekday (the
    list's as-of date; week -1 is the one before it), from the week of ``start`` (the window's) to -1."""
    anchor = python_day_number(end)
    return WeekAxis(anchor=anchor, first_week=(python_day_number(start) - anchor) // 7, last_week=-1)


def week_starts(start: datetime, end: datetime) -> list[date]:
    """The days the weeks from ``start`` to ``end`` (exclusive) start on, 7 days apart."""
    first = start.date()
    return [first + timedelta(weeks=i) for i in range((end.date() - first).days // 7)]


def week_rows(day_rows: pl.DataFrame, start: datetime, end: datetime) -> dict[str, int]:
    """Rows of the events file in each week from ``start`` to ``end`` (:func:`week_starts`; ISO date of the
    week's first day -> rows), from ``day_rows`` (``[day, rows]``: the file's rows per day,
    :func:`churnml.jobs.score_data.event_days`)."""
    first = pl.lit(start.date())
    counted = (
        day_rows.filter((pl.col("day") >= start.date()) & (pl.col("day") < end.date()))
        .group_by(((pl.col("day") - first).dt.total_days() // 7).alias("_i"))
        .agg(pl.col("rows").sum())
    )
    rows = dict(zip(counted.get_column("_i").to_list(), counted.get_column("rows").to_list(), strict=True))
    return {d.isoformat(): int(rows.get(i, 0)) for i, d in enumerate(week_starts(start, end))}


@dataclass(frozen=True)
class StoredWeeks:
    """Last week's store, found reusable for this list (:func:`reusable_store`): its files in ``folder``
    (``kinds``, ``users``), cut to the weeks from ``start`` (this list's window) to ``end`` (that list's
    as-of date, where its weeks end); ``filled``: the optional event columns holding a value in each of those
    weeks (week ISO date -> names)."""

    folder: Path
    start: datetime
    end: datetime
    filled: dict[str, frozenset[str]]

    def columns(self) -> set[str]:
        """The optional event columns holding a value in any reused week."""
        return {c for names in self.filled.values() for c in names}

    def scans(self) -> tuple[pl.LazyFrame, pl.LazyFrame]:
        """(kinds, users) of the reused weeks (lazy scans of the files)."""
        cut = pl.col(WEEK_DAY) >= python_day_number(self.start)
        return (
            pl.scan_parquet(self.folder / KINDS_FILE).filter(cut),
            pl.scan_parquet(self.folder / USERS_FILE).filter(cut),
        )


def store_record(
    start: datetime,
    end: datetime,
    day_rows: pl.DataFrame,
    filled: dict[str, set[str]],
    settings: str,
    reused: StoredWeeks | None,
    reason: str | None,
) -> dict[str, Any]:
    """The manifest's ``data.client_week_store`` of a list whose store covers the weeks from ``start`` (its
    window) to ``end`` (its as-of date): its files, weeks, the events file's rows per week
    (:func:`week_rows`), the optional columns holding a value per week (``filled``: week ISO date -> names),
    the settings hash (``settings``, :func:`churnml.config.history_hash`), and what this list reused: the
    weeks taken from ``reused`` (last week's store) and those aggregated from the events, or ``reason``, why
    the raw window was read instead."""
    weeks = [d.isoformat() for d in week_starts(start, end)]
    reused_weeks = [] if reused is None else [d.isoformat() for d in week_starts(start, reused.end)]
    return {
        "files": list(STORE_FILES),
        "weeks_from": start.isoformat(),
        "weeks_to": end.isoformat(),
        "history_hash": settings,
        "week_rows": week_rows(day_rows, start, end),
        "filled": {w: sorted(filled.get(w, set())) for w in weeks},
        "reused_from": None if reused is None else reused.folder.name,
        "reused_weeks": reused_weeks,
        "aggregated_weeks": [w for w in weeks if w not in set(reused_weeks)],
        "not_reused_because": reason,
    }


def reusable_store(
    folder: Path, settings: str, dataset_name: str, start: datetime, end: datetime, day_rows: pl.DataFrame
) -> tuple[StoredWeeks | None, str | None]:
    """(last week's store for a list whose window runs from ``start`` to ``end``, None) when the list in
    ``folder`` holds one (:func:`store_record`) of this dataset and settings (``settings``:
    :func:`churnml.config.history_hash`), its weeks start on ``end``'s weekday, begin no later than ``start``
    and end after it (and not after ``end``), and the events file holds as many rows in each reused week as it
    did (``day_rows``: the file's rows per day now, :func:`churnml.jobs.score_data.event_days`); else (None,
    why not, one line)."""
    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, f"no list in {folder}"
    data = manifest.get("data") or {}
    record = data.get(STORE_KEY)
    if not isinstance(record, dict) or not record.get("week_rows"):
        return None, f"the list of {Path(folder).name} holds no client-week store"
    missing = [f for f in STORE_FILES if not (Path(folder) / f).is_file()]
    if missing:
        return None, f"the list of {Path(folder).name} lacks {', '.join(missing)}"
    if data.get("name") != dataset_name or record.get("history_hash") != settings:
        return None, f"the store of {Path(folder).name} was made with other settings or data"
    stored_from = datetime.fromisoformat(record["weeks_from"])
    stored_to = datetime.fromisoformat(record["weeks_to"])
    if (end - stored_to).days % 7 or (start - stored_from).days % 7:
        return None, f"the store of {Path(folder).name} has weeks starting on another weekday"
    if stored_from > start:
        return None, f"its weeks begin {stored_from.date()}, after this window's start {start.date()}"
    if stored_to <= start or stored_to > end:
        return None, f"its weeks (to {stored_to.date()}) hold none of this window's"
    now = week_rows(day_rows, start, stored_to)
    before = record["week_rows"]
    for week, rows in now.items():
        if before.get(week) != rows:
            return None, (
                f"the events file holds {rows:,} rows in the week of {week}, the store of "
                f"{Path(folder).name} {before.get(week, 0):,}"
            )
    filled = {w: frozenset((record.get("filled") or {}).get(w, [])) for w in now}
    return StoredWeeks(Path(folder), start, stored_to, filled), None
