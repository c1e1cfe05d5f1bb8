"""The client-week store a weekly list carries to the next one (``score.client_week_store``).

A list scored from a Parquet events file writes, beside its files, the usage family's aggregates of its
window's weeks (:func:`churnml.features.usage.calendar_aggregates`: per client x week x event kind, and per
client x user x week, each week keyed by the day it starts): :data:`KINDS_FILE` and :data:`USERS_FILE`, named
in the manifest's ``data.client_week_store`` with the weeks they cover, the events file's rows in each of
those weeks, the optional columns holding a value in each, and the settings they were made with
(:func:`churnml.config.history_hash`).

Next week's list reuses them (:func:`reusable_store`) when last week's list holds a store of the same settings
whose weeks start on this list's weekday, begin no later than this list's window and hold, week by week, the
rows the events file holds now (their count and a fingerprint of their values, from the marks pass,
:func:`churnml.jobs.score_data.day_fingerprints`, collected with it). It then reads of the window only the weeks since
that list (and the rows carried from before the window, as always) and builds the usage features from the
stored weeks and the new ones: the same features as from the raw window, because aggregates of separate
ranges of whole weeks, put together, are those of the whole (tests/features/test_feat_usage_aggregates.py).
Otherwise it reads the raw window and says why in one line. Either way it writes its own store.

The store also holds the raw rows this list carried from before its window and each week's carry candidates
(:data:`CARRIED_FILE`: each client's last event, login and export before the window and its onboarding days,
:func:`churnml.scoring.window.needed_events`; per client x week the rows at that week's last event, login and
export and its onboarding days, :func:`churnml.scoring.window.carry_candidates`), each with the onboarding end it
was picked with. Next week's list takes the rows it carries from before its window from those
(:func:`churnml.scoring.window.needed_events`'s ``carried``): no row of the file before its window is read. That is
the same set: a window's marks before it are the latest of the weeks' marks.

What is checked before reuse, from the marks pass (:func:`churnml.jobs.score_data.day_fingerprints`, collected with it):
each stored week's rows and a fingerprint of their values (a sum of every row's hash, :func:`fingerprint_sums`), and
the same of every row before the store's window (what its carried rows were picked from): a row added, removed or
rewritten in place is seen (up to hash collisions, 2^-64 per changed day), and the raw window is read instead. A
client whose onboarding now ends later than the store picked its rows with (its ``created_at`` moved) refuses the
store too. What the store changes in the manifest: the rows read, and so the repair counts, cover the rows read by
this run (the stored weeks were validated by the list that stored them, whose manifest holds their repairs); the
empty optional columns are judged on the rows read and the stored weeks together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from churnml.contract.schemas import CLIENT_ID, Events
from churnml.features._grid import WeekAxis, python_day_number
from churnml.features.usage import WEEK_DAY
from churnml.scoring.window import ONBOARDING_END, week_index

__all__ = [
    "CARRIED_FILE",
    "KINDS_FILE",
    "STORE_FILES",
    "STORE_KEY",
    "USERS_FILE",
    "StoredWeeks",
    "fingerprint_sums",
    "read_skipped_said",
    "reader_axis",
    "reusable_store",
    "store_record",
    "store_said",
    "store_unused_said",
    "week_of",
    "week_rows",
    "week_starts",
]

KINDS_FILE = "client_weeks_kinds.parquet"
USERS_FILE = "client_weeks_users.parquet"
CARRIED_FILE = "client_weeks_carried.parquet"
STORE_FILES = (KINDS_FILE, USERS_FILE, CARRIED_FILE)
# the manifest's entry (under ``data``)
STORE_KEY = "client_week_store"
# the day sums of day_fingerprints' fingerprint: each row's hash split in two 32-bit halves, summed per day (no overflow
# below 2^31 rows a day)
_FP_HI, _FP_LO, _FINGERPRINT_SEED, _HALF = "_fp_hi", "_fp_lo", 0x15C1, 2**32


def reader_axis(start: datetime, end: datetime) -> WeekAxis:
    """The week axis a batch's events are aggregated on for the store: weeks start on ``end``'s weekday (the
    list's as-of date; week -1 is the one before it), from the week of ``start`` (the window's) to -1."""
    anchor = python_day_number(end)
    return WeekAxis(anchor=anchor, first_week=(python_day_number(start) - anchor) // 7, last_week=-1)


def week_starts(start: datetime, end: datetime) -> list[date]:
    """The days the weeks from ``start`` to ``end`` (exclusive) start on, 7 days apart."""
    first = start.date()
    return [first + timedelta(weeks=i) for i in range((end.date() - first).days // 7)]


def week_of(start: datetime, index: int) -> str:
    """The ISO date week ``index`` of :func:`week_index` starts on: the store's key of a week."""
    return (start.date() + timedelta(weeks=index)).isoformat()


def fingerprint_sums(columns: list[str]) -> list[pl.Expr]:
    """Aggregations of a day's rows (:func:`churnml.jobs.score_data.day_fingerprints`) that change when a row's value in
    any of ``columns`` does: the sums of each row's hash (Polars' seeded hash of the row's ``columns``, stable
    within a Polars version), split in two halves (``_fp_hi``, ``_fp_lo``)."""
    row = pl.struct(columns).hash(_FINGERPRINT_SEED)
    return [(row // _HALF).sum().alias(_FP_HI), (row % _HALF).sum().alias(_FP_LO)]


def _sums(day_rows: pl.DataFrame, keep: pl.Expr, key: pl.Expr) -> dict[int, tuple[int, str | None]]:
    """(rows, fingerprint) of ``day_rows``' days kept by ``keep``, per ``key``; the fingerprint None when the
    days were counted without one."""
    has_fp = _FP_HI in day_rows.columns
    sums = [pl.col("rows").sum()] + ([pl.col(_FP_HI).sum(), pl.col(_FP_LO).sum()] if has_fp else [])
    out = {}
    for row in day_rows.filter(keep).group_by(key.alias("_k")).agg(*sums).iter_rows(named=True):
        fp = f"{row[_FP_HI] % 2**64:016x}{row[_FP_LO] % 2**64:016x}" if has_fp else None
        out[row["_k"]] = (int(row["rows"]), fp)
    return out


def _week_sums(day_rows: pl.DataFrame, start: datetime, end: datetime) -> dict[str, tuple[int, str | None]]:
    """(rows, fingerprint) of the events file in each week from ``start`` to ``end`` (:func:`week_starts`; a week
    without rows: (0, None))."""
    day = pl.col("day")
    sums = _sums(day_rows, (day >= start.date()) & (day < end.date()), week_index(day, start))
    return {week_of(start, i): sums.get(i, (0, None)) for i in range(len(week_starts(start, end)))}


def week_rows(day_rows: pl.DataFrame, start: datetime, end: datetime) -> dict[str, int]:
    """Rows of the events file in each week from ``start`` to ``end`` (:func:`week_starts`; ISO date of the
    week's first day -> rows), from ``day_rows`` (``[day, rows]``: the file's rows per day,
    :func:`churnml.jobs.score_data.event_days`)."""
    return {week: rows for week, (rows, _) in _week_sums(day_rows, start, end).items()}


def _rows_before(day_rows: pl.DataFrame, start: datetime) -> tuple[int, str | None]:
    """(rows, fingerprint) of the events file before ``start``."""
    day = pl.col("day")
    return _sums(day_rows, day < start.date(), pl.lit(0)).get(0, (0, None))


@dataclass(frozen=True)
class StoredWeeks:
    """Last week's store, found reusable for this list (:func:`reusable_store`): its files in ``folder``
    (``kinds``, ``users``), cut to the weeks from ``start`` (this list's window) to ``end`` (that list's
    as-of date, where its weeks end); ``filled``: the optional event columns holding a value in each of those
    weeks (week ISO date -> names); ``since``: where that list's window began (its carried rows are the ones
    before it: this list reads the file from there on)."""

    folder: Path
    start: datetime
    end: datetime
    filled: dict[str, frozenset[str]]
    since: datetime

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

    def carried(self) -> pl.LazyFrame:
        """The raw rows that stand for the events file's rows before this list's window (``start``): those
        that list carried from before its own (``since``) and the candidates of its weeks up to ``start``
        (:func:`churnml.scoring.window.carry_candidates`), in the events file's columns."""
        ts = pl.col(Events.TS)
        return pl.scan_parquet(self.folder / CARRIED_FILE).filter(ts < self.start).drop(ONBOARDING_END)

    def candidates(self) -> pl.LazyFrame:
        """The stored candidates of the reused weeks (from ``start`` on), with their onboarding end: this list's
        own store keeps them."""
        return pl.scan_parquet(self.folder / CARRIED_FILE).filter(pl.col(Events.TS) >= self.start)


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
    window) to ``end`` (its as-of date): its files, weeks, the events file's rows and their fingerprint per week
    and before the weeks (:func:`week_rows`, :func:`fingerprint_sums`), the optional columns holding a value per
    week (``filled``: week ISO date -> names), the settings hash (``settings``,
    :func:`churnml.config.history_hash`), and what this list reused: the weeks taken from ``reused`` (last
    week's store) and those aggregated from the events, or ``reason``, why the raw window was read instead."""
    weeks = [d.isoformat() for d in week_starts(start, end)]
    reused_weeks = [] if reused is None else [d.isoformat() for d in week_starts(start, reused.end)]
    sums = _week_sums(day_rows, start, end)
    before_rows, before_fp = _rows_before(day_rows, start)
    return {
        "files": list(STORE_FILES),
        "weeks_from": start.isoformat(),
        "weeks_to": end.isoformat(),
        "history_hash": settings,
        "week_rows": {w: rows for w, (rows, _) in sums.items()},
        "week_fingerprints": {w: fp for w, (_, fp) in sums.items()},
        "rows_before": before_rows,
        "fingerprint_before": before_fp,
        "fingerprinted_by": f"polars {pl.__version__}",
        "filled": {w: sorted(filled.get(w, set())) for w in weeks},
        "reused_from": None if reused is None else reused.folder.name,
        "reused_weeks": reused_weeks,
        "aggregated_weeks": [w for w in weeks if w not in set(reused_weeks)],
        "not_reused_because": reason,
    }


def _changed(name: str, what: str, now: tuple[int, str | None], before: tuple[Any, Any]) -> str | None:
    """Why the events file's rows of ``what`` no longer match the store of list ``name`` (their count, then
    their fingerprint), or None."""
    if before[0] != now[0]:
        return f"the events file holds {now[0]:,} rows {what}, the store of {name} {before[0] or 0:,}"
    if before[1] != now[1]:
        return (
            f"the events file's rows {what} changed since the store of {name} was written (the same {now[0]:,} "
            "rows, other values)"
        )
    return None


def _later_onboarding(folder: Path, onboarding: pl.DataFrame, since: datetime) -> str | None:
    """A client whose onboarding days now end later than the store's carried rows were picked with (the earliest
    of its rows' ends; ``onboarding``: ``[client_id, _onboarding_end]`` now,
    :func:`churnml.scoring.window.onboarding_ends`), where that cut left out days before this window (``since``):
    one line, or None."""
    never = datetime(1, 1, 1)
    stored = (
        pl.scan_parquet(folder / CARRIED_FILE)
        .group_by(CLIENT_ID)
        .agg(pl.col(ONBOARDING_END).fill_null(never).min())
        .collect()
    )
    late = (
        stored.join(onboarding, on=CLIENT_ID, how="inner", suffix="_now")
        .filter(
            pl.col(ONBOARDING_END).fill_null(never)
            < pl.min_horizontal(pl.col(f"{ONBOARDING_END}_now").fill_null(never), pl.lit(since))
        )
        .sort(CLIENT_ID)
    )
    if late.height == 0:
        return None
    return (
        f"the onboarding of {late.height:,} client{'s' if late.height != 1 else ''} (first "
        f"{late.item(0, CLIENT_ID)}) now ends later than when the store of {folder.name} was written "
        "(clients.created_at changed)"
    )


def reusable_store(
    folder: Path,
    settings: str,
    dataset_name: str,
    start: datetime,
    end: datetime,
    day_rows: pl.DataFrame,
    schema: pl.Schema,
    onboarding: pl.DataFrame,
) -> tuple[StoredWeeks | None, str | None]:
    """(last week's store for a list whose window runs from ``start`` to ``end``, None) when the list in
    ``folder`` holds one (:func:`store_record`) of this dataset and settings (``settings``:
    :func:`churnml.config.history_hash`), its weeks start on ``end``'s weekday, begin no later than ``start``
    and end after it (and not after ``end``), the events file (``schema``: its columns as scanned) holds the same
    rows in each reused week and before the store's weeks, by count and fingerprint, as it did (``day_rows``: the
    file's rows per day now, :func:`churnml.jobs.score_data.day_fingerprints`), and no client's
    onboarding now ends later than its carried rows were picked with (``onboarding``); else (None, why not, one
    line)."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, f"no list in {folder}"
    data = manifest.get("data") or {}
    record = data.get(STORE_KEY)
    if not isinstance(record, dict) or not record.get("week_rows"):
        return None, f"the list of {folder.name} holds no client-week store"
    missing = [f for f in STORE_FILES if not (folder / f).is_file()]
    if missing:
        return None, f"the list of {folder.name} lacks {', '.join(missing)}"
    if data.get("name") != dataset_name or record.get("history_hash") != settings:
        return None, f"the store of {folder.name} was made with other settings or data"
    if record.get("fingerprinted_by") != f"polars {pl.__version__}":
        return None, (
            f"the store of {folder.name} was fingerprinted by {record.get('fingerprinted_by') or 'no version'}, "
            f"this run has polars {pl.__version__}"
        )
    stored_from = datetime.fromisoformat(record["weeks_from"])
    stored_to = datetime.fromisoformat(record["weeks_to"])
    if (end - stored_to).days % 7 or (start - stored_from).days % 7:
        return None, f"the store of {folder.name} has weeks starting on another weekday"
    if stored_from > start:
        return None, f"its weeks begin {stored_from.date()}, after this window's start {start.date()}"
    if stored_to <= start or stored_to > end:
        return None, f"its weeks (to {stored_to.date()}) hold none of this window's"
    carried = pl.scan_parquet(folder / CARRIED_FILE).drop(ONBOARDING_END).collect_schema()
    if carried != schema:
        return None, f"the events file's columns are not those of the store of {folder.name}"
    before = (record.get("rows_before"), record.get("fingerprint_before"))
    why = _changed(folder.name, f"before {stored_from.date()}", _rows_before(day_rows, stored_from), before)
    # every stored week: the reused ones, and the ones before this window whose rows the store carries
    stored = {"rows": record["week_rows"], "fp": record.get("week_fingerprints") or {}}
    for week, now in _week_sums(day_rows, stored_from, stored_to).items():
        was = (stored["rows"].get(week), stored["fp"].get(week))
        why = why or _changed(folder.name, f"in the week of {week}", now, was)
    why = why or _later_onboarding(folder, onboarding, start)
    if why is not None:
        return None, why
    reused = week_starts(start, stored_to)
    filled = {d.isoformat(): frozenset((record.get("filled") or {}).get(d.isoformat(), [])) for d in reused}
    return StoredWeeks(folder, start, stored_to, filled, stored_from), None


def store_said(store: StoredWeeks | None, reason: str | None) -> str:
    """The console's line on the client-week store (``score.client_week_store``): the weeks reused from last
    week's list, and what of the events is read, or why the events' window is read whole."""
    if store is not None:
        return (
            f"client-week store: the weeks {store.start.date()} to {store.end.date()} reused from the list of "
            f"{store.folder.name}; the events read from {store.end.date()} on (the rows carried from before the "
            "window taken from the store)"
        )
    return f"client-week store not reused ({reason}): the events' whole window read"


def store_unused_said(store_on: bool, engine: str, batched: bool) -> str | None:
    """The console's line when ``score.client_week_store`` is on (``store_on``) but this run can neither read
    nor write a store: on the Spark ``engine``, or when the tables are read whole (not ``batched``: no events,
    CSV events, or a label that reads the events' whole history); None otherwise (the store's own line says the rest)."""
    if not store_on:
        return None
    if engine == "spark":
        return (
            "client-week store not used: the Spark engine reads the events' window itself (no store written)"
        )
    if not batched:
        return (
            "client-week store not used: this run reads its tables whole (no events, CSV events, or a label "
            "that reads the events' whole history), so no store is written or reused"
        )
    return None


def read_skipped_said(record: dict[str, Any], start: datetime, end: datetime) -> str:
    """What the console's read line says of the rows skipped: outside the window from ``start`` to ``end``, and
    in the weeks taken from the store when the list's ``record`` (its manifest's ``data.client_week_store``,
    empty without a store) reused some."""
    window = f"outside the window {start:%Y-%m-%d} .. {end:%Y-%m-%d}"
    reused = record.get("reused_weeks") or []
    if not reused:
        return window
    return f"{window} or in its {len(reused)} weeks taken from the client-week store of {record.get('reused_from')}"
