"""What ``churnml score`` reads: only what the list needs, client batch by client batch (I/O side).

A Parquet events table is never read whole (:mod:`churnml.scoring.window`): one streaming pass takes its
rows per day (:func:`churnml.contract.io.rows_per_day`: its bounds, the days holding an event before the list,
the file's rhythm, :func:`event_days`, and the last day's check), one its per-client marks (the portfolio view
and the rows carried from before the window; with the client-week store, each day's fingerprint too), one the
last weeks' days of the portfolio view (:func:`churnml.scoring.window.portfolio_days`). With several client batches, one more streaming pass
spills the needed rows (the window and the carried rows)
to a scratch folder, one Parquet file set per batch (:meth:`EventBatches.spilled`); each batch then reads,
validates and featurises its own file (without the spill each batch would re-scan the whole events file:
a file without row-group statistics cannot skip the other batches' rows). Every other table is small
and read whole, validated as ``churnml validate`` does. CSV events, or a label source that reads the
events' whole history (``label.source`` churns or inactivity), keep the eager path (every table read whole).

What was read and skipped is counted (:class:`EventReads`) and written to the manifest and the console.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from churnml.config import Config
from churnml.contract.dataset import Dataset, RepairLog
from churnml.contract.schemas import (
    ACTIVITY_TABLES,
    CLIENT_ID,
    CONTRACT,
    POLARS_TYPE,
    REQUIRED_TABLES,
    Events,
    Table,
)
from churnml.features._grid import python_day_number

__all__ = [
    "EventBatches",
    "EventReads",
    "ScoringData",
    "day_fingerprints",
    "event_days",
    "open_scoring_data",
    "recent_daily_events",
    "removed_stale_scratch",
    "rhythm_of",
    "scratch_folder",
    "stale_scratch_folders",
    "with_read_notes",
]


@dataclass
class EventReads:
    """What a run read of the events table (filled as the batches are read): rows in the file, rows read
    (the window and the carried rows), the window, the batch count, the repairs and which optional
    columns held a value."""

    rows_in_file: int
    first: datetime | None
    last: datetime | None
    window_start: datetime | None = None
    window_end: datetime | None = None
    batches: int = 0
    rows_read: int = 0
    repairs: dict[str, int] = field(default_factory=dict)
    filled: set[str] = field(default_factory=set)
    seconds: float = 0.0  # reading and validating the batches
    spilled_rows: int | None = None  # rows written to the scratch folder (None: no spill, one batch)
    spilled_bytes: int = 0
    spill_seconds: float = 0.0
    # the events' rhythm in the whole file (contract.validation.usual_gap_days of its record days before the
    # list's date ``as_of``; None: too short to know) and the lag a table without one may have: what
    # the stale-table warning judges and says (the rows read, a window and a few days per client, have none)
    usual_gap_days: int | None = None
    as_of: date | None = None
    max_lag_days: int | None = None
    # the file's rows per day before the list's date (event_days, or day_fingerprints with the client-week
    # store): the store's rows per week
    day_rows: pl.DataFrame | None = None
    client_weeks_seconds: float = 0.0  # the batches' usage aggregates for the client-week store

    def skipped(self) -> int:
        return self.rows_in_file - self.rows_read

    def note(self) -> dict[str, Any]:
        """The manifest's ``data.read.events`` entry."""
        return {
            "rows_in_file": self.rows_in_file,
            "rows_read": self.rows_read,
            "rows_skipped": self.skipped(),
            "window_start": None if self.window_start is None else self.window_start.isoformat(),
            "window_end": None if self.window_end is None else self.window_end.isoformat(),
            "client_batches": self.batches,
            "spilled_rows": self.spilled_rows,
            "spilled_mb": round(self.spilled_bytes / 1e6, 1),
        }


# the spill's partition column (dropped from the files: each batch's files sit under <key>=<batch>/)
_SPILL_KEY = "_batch"


@dataclass
class EventBatches:
    """Client batch ``k`` of ``n`` as a :class:`Dataset` (small tables cut to the batch's clients, the
    batch's needed events read and validated), for :func:`churnml.scoring.assemble.scored_list`.

    The needed events come from the events file (``spill`` None: each batch scans it) or from the
    batch's own files in the scratch folder ``spill`` (:meth:`spilled`)."""

    n: int
    scan: pl.LazyFrame
    small: dict[Table, pl.DataFrame]
    marks: pl.DataFrame
    window: Any  # churnml.scoring.window.ScoringWindow
    base: Dataset
    cfg: Config
    reads: EventReads
    spill: Path | None = None
    # the client-week store (score.client_week_store, churnml.jobs.week_store): ``store_on`` builds each batch's
    # usage aggregates here (Dataset.client_weeks) and writes its window's weeks to ``scratch``; ``stored``: last
    # week's store reused (the window's rows read only from its end on)
    store_on: bool = False
    stored: Any = None  # churnml.jobs.week_store.StoredWeeks
    scratch: Path | None = None
    week_filled: dict[str, set[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.n

    def _read_from(self) -> datetime | None:
        """Where the window's rows are read from: the end of the reused store's weeks (None: the window's start)."""
        return None if self.stored is None else self.stored.end

    def _carried(self) -> tuple[pl.LazyFrame | None, datetime | None]:
        """(the rows the reused store carried from before its window, that window's start), or (None, None): the
        file's rows before the window read."""
        if self.stored is None:
            return None, None
        return self.stored.carried(), self.stored.start

    def with_store(self, stored: Any) -> EventBatches:
        """These batches building their usage aggregates for the client-week store, reusing ``stored`` (a
        :class:`~churnml.jobs.week_store.StoredWeeks`; None: the raw window read). Call before :meth:`spilled`."""
        filled = {} if stored is None else {w: set(names) for w, names in stored.filled.items()}
        return replace(self, store_on=True, stored=stored, week_filled=filled)

    def spilled(self, folder: Path) -> EventBatches:
        """These batches reading from ``folder`` (a scratch folder the caller created and removes):
        one streaming pass over the events file writes every client's needed events
        (:func:`churnml.scoring.window.needed_events`) under ``folder/_batch=<k>/``, so each batch then
        reads only its own rows; the repeated text columns (``event``, ``user_id``) as categories
        (:func:`churnml.contract.validation.repeated_as_categories`: a batch reads them back a third
        faster and validation keeps them so), and last week's client-week store reused, split by batch.
        One batch: unchanged (its read is the one pass already), but for the client-week store's
        scratch folder."""
        from churnml.contract.validation import repeated_as_categories
        from churnml.scoring.window import client_batch, needed_events

        if self.n <= 1:  # with the client-week store: its parts written to ``folder``
            return replace(self, scratch=Path(folder)) if self.store_on else self
        started = time.perf_counter()
        clients = self.small[Table.CLIENTS]
        needed = needed_events(
            self.scan,
            self.marks,
            clients,
            self.window,
            self.cfg.features,
            self._read_from(),
            *self._carried(),
        )
        categories = repeated_as_categories(needed.collect_schema(), CONTRACT[Table.EVENTS])
        needed.with_columns(*categories, client_batch(self.n).alias(_SPILL_KEY)).sink_parquet(
            pl.PartitionBy(folder, key=_SPILL_KEY, include_key=False),
            compression="lz4",
            mkdir=True,
        )
        files = sorted(Path(folder).rglob("*.parquet"))
        self.reads.spilled_rows = (
            pl.scan_parquet(files, hive_partitioning=False).select(pl.len()).collect().item() if files else 0
        )
        self.reads.spilled_bytes = sum(f.stat().st_size for f in files)
        if (
            self.stored is not None
        ):  # last week's store, split by this run's batches (one streaming pass each)
            for name, scan in zip(("kinds", "users"), self.stored.scans(), strict=True):
                scan.with_columns(client_batch(self.n).alias(_SPILL_KEY)).sink_parquet(
                    pl.PartitionBy(Path(folder) / f"_stored_{name}", key=_SPILL_KEY, include_key=False),
                    mkdir=True,
                )
        self.reads.spill_seconds = time.perf_counter() - started
        return replace(self, spill=Path(folder), scratch=Path(folder))

    def widened(self, window: Any) -> EventBatches:
        """These batches reading the events from ``window.start`` on (a
        :class:`~churnml.scoring.window.ScoringWindow` of the same as-of date) where it starts before theirs:
        the history weeks of a client scored there too (:func:`churnml.scoring.assemble.listed_spine`: back
        after a churn, not in last week's file). One more streaming pass takes the marks carried from before
        it (:func:`churnml.scoring.window.event_marks`); the portfolio view does not depend on the window.
        Else unchanged. Call before :meth:`spilled`."""
        from churnml.scoring.window import event_marks

        if window.start >= self.window.start:
            return self
        as_of = window.end.date()
        marks = event_marks(self.scan, window, as_of, self.cfg.features, self.cfg.label.activity_events)
        self.reads.window_start = window.start
        return replace(self, marks=marks.collect(engine="streaming"), window=window)

    def _raw_events(self, k: int, clients: pl.DataFrame) -> pl.DataFrame:
        """Batch ``k``'s needed events as stored (not yet validated): its spilled files, else a scan; either
        way the repeated text columns as categories (:func:`churnml.contract.validation.repeated_as_categories`:
        cast in the scan's stream, validation keeps them so)."""
        from churnml.contract.validation import repeated_as_categories
        from churnml.scoring.window import client_batch, needed_events

        schema = self.scan.collect_schema()
        if self.spill is None:
            ids = clients.get_column(CLIENT_ID).implode()
            marks = self.marks.filter(pl.col(CLIENT_ID).is_in(ids))
            mine = self.scan.filter(client_batch(self.n) == k)
            carried, carried_to = self._carried()
            if carried is not None:
                carried = carried.filter(client_batch(self.n) == k)
            features, read_from = self.cfg.features, self._read_from()
            needed = needed_events(
                mine, marks, clients, self.window, features, read_from, carried, carried_to
            )
            categories = repeated_as_categories(schema, CONTRACT[Table.EVENTS])
            return needed.with_columns(*categories).collect(engine="streaming")
        files = sorted((self.spill / f"{_SPILL_KEY}={k}").glob("*.parquet"))
        if not files:  # no event of this batch was needed
            return pl.DataFrame(schema=schema)
        return pl.read_parquet(files, hive_partitioning=False).select(schema.names())

    def __call__(self, k: int) -> Dataset:
        from churnml.contract.io import validated_table
        from churnml.contract.validation import checked_references
        from churnml.scoring.window import client_batch

        started = time.perf_counter()
        clients = self.small[Table.CLIENTS].filter(client_batch(self.n) == k)  # client_id: String
        ids = clients.get_column(CLIENT_ID).implode()
        raw = self._raw_events(k, clients)
        if self.store_on and self.scratch is not None:
            self._write_carried(k, raw, clients)
        tables = {
            t: f.filter(pl.col(CLIENT_ID).is_in(ids)) for t, f in self.small.items() if t != Table.CLIENTS
        }
        tables[Table.CLIENTS] = clients
        if raw.height:
            events, fixed = validated_table(raw, Table.EVENTS, self.cfg.data)
            del raw
            checked_references({Table.CLIENTS: clients, Table.EVENTS: events}, self.cfg.data.max_examples)
            tables[Table.EVENTS] = events
            self.reads.rows_read += events.height
            for problem, rows in fixed.items():
                self.reads.repairs[problem] = self.reads.repairs.get(problem, 0) + rows
            optional = [c for c in CONTRACT[Table.EVENTS].optional if c in events.columns]
            self.reads.filled |= {c for c in optional if events.get_column(c).null_count() < events.height}
        else:  # no event of this batch in the window: the contract's empty table
            tables[Table.EVENTS] = pl.DataFrame(
                schema={
                    s.name: POLARS_TYPE[s.kind]
                    for s in CONTRACT[Table.EVENTS].columns
                    if s.name in raw.columns
                }
            )
        dataset = self.base.with_tables(**{str(t): f for t, f in tables.items()})
        self.reads.seconds += time.perf_counter() - started
        if self.store_on:  # the usage family's aggregation, moved here: timed apart from the read
            started = time.perf_counter()
            dataset = replace(dataset, client_weeks=self._client_weeks(k, tables[Table.EVENTS], ids))
            self.reads.client_weeks_seconds += time.perf_counter() - started
        return dataset

    def _write_carried(self, k: int, raw: pl.DataFrame, clients: pl.DataFrame) -> None:
        """Batch ``k``'s rows carried from before the window and the candidates of the weeks it read
        (:func:`churnml.scoring.window.carry_candidates`), of its ``raw`` needed events (as read: the next list
        validates them again), with each client's onboarding end (of ``clients``, the batch's) they were picked
        with, in the events file's types, written to the scratch folder for this list's store (:meth:`store_files`)."""
        from churnml.scoring.window import carry_candidates, onboarding_ends

        ts, start = pl.col(Events.TS), self.window.start
        weeks = carry_candidates(raw, clients, start, self.cfg.features)
        ends = onboarding_ends(clients, self.cfg.features)
        kept = pl.concat([raw.filter(ts < start), weeks]).select(
            pl.col(c).cast(t) for c, t in self.scan.collect_schema().items()
        )
        out = Path(self.scratch) / "_client_weeks"  # type: ignore[arg-type]
        out.mkdir(exist_ok=True)
        kept.join(ends, on=CLIENT_ID, how="left").write_parquet(out / f"carried_{k}.parquet")

    def _stored_weeks(self, k: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(kinds, users) of last week's store for batch ``k``'s clients: its split files (:meth:`spilled`), or
        the whole store with one batch."""
        if self.n <= 1 or self.scratch is None:
            kinds, users = self.stored.scans()
            return kinds.collect(), users.collect()

        def part(name: str, scan: pl.LazyFrame) -> pl.DataFrame:
            files = sorted((Path(self.scratch) / f"_stored_{name}" / f"{_SPILL_KEY}={k}").glob("*.parquet"))
            if not files:
                return scan.head(0).collect()
            return pl.read_parquet(files, hive_partitioning=False)

        kinds, users = self.stored.scans()
        return part("kinds", kinds), part("users", users)

    def _client_weeks(
        self, k: int, events: pl.DataFrame, ids: pl.Series
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Batch ``k``'s usage aggregates (calendar form, :func:`churnml.features.usage.calendar_aggregates`) of
        its ``events`` (validated) and, when a store is reused, of its clients' stored weeks (``ids``: the
        batch's client ids, imploded); the window's weeks written to the scratch folder for this list's own
        store (:meth:`store_files`), and the optional columns holding a value in each of those weeks noted."""
        import narwhals as nw

        from churnml.contract.schemas import Events
        from churnml.features.build import contract_columns
        from churnml.features.usage import WEEK_DAY, calendar_aggregates, usage_aggregates
        from churnml.jobs.week_store import reader_axis, week_of
        from churnml.scoring.window import week_index

        axis = reader_axis(self.window.start, self.window.end)
        full = contract_columns(events, Table.EVENTS)
        kinds, users = calendar_aggregates(usage_aggregates(nw.from_native(full.lazy()), axis), axis)
        if self.stored is not None:  # only this batch's clients (the store may hold a client since removed)
            mine = pl.col(CLIENT_ID).is_in(ids)
            old_kinds, old_users = (frame.filter(mine) for frame in self._stored_weeks(k))
            kinds = pl.concat([old_kinds, kinds.select(old_kinds.columns)])
            users = pl.concat([old_users, users.select(old_users.columns)])
        if self.scratch is not None:
            since = pl.col(WEEK_DAY) >= python_day_number(self.window.start)
            out = Path(self.scratch) / "_client_weeks"
            out.mkdir(exist_ok=True)
            kinds.filter(since).write_parquet(out / f"kinds_{k}.parquet")
            users.filter(since).write_parquet(out / f"users_{k}.parquet")
        optional = [c for c in CONTRACT[Table.EVENTS].optional if c in events.columns]
        if optional and events.height:
            ts = pl.col(Events.TS)
            weeks = (
                events.filter(ts >= self.window.start)
                .group_by(week_index(ts, self.window.start).alias("_i"))
                .agg(pl.col(c).is_not_null().any() for c in optional)
            )
            for row in weeks.iter_rows(named=True):
                week = week_of(self.window.start, row.pop("_i"))
                self.week_filled.setdefault(week, set()).update(c for c, held in row.items() if held)
        return kinds, users

    def store_files(self) -> dict[str, bytes]:
        """This list's client-week store (:mod:`churnml.jobs.week_store`: the file name -> its Parquet bytes), from
        the batches' parts in the scratch folder; empty when none was built. Call before the folder is removed."""
        from churnml.jobs.week_store import CARRIED_FILE, KINDS_FILE, USERS_FILE

        if not self.store_on or self.scratch is None:
            return {}
        out = Path(self.scratch) / "_client_weeks"
        files = {}
        for name, stem in ((KINDS_FILE, "kinds"), (USERS_FILE, "users"), (CARRIED_FILE, "carried")):
            parts = sorted(out.glob(f"{stem}_*.parquet"))
            if not parts:
                return {}
            target = out / name
            scans = [pl.scan_parquet(parts)]
            if name == CARRIED_FILE and self.stored is not None:  # the reused weeks' candidates, kept
                scans.append(self.stored.candidates())
            pl.concat(scans).sink_parquet(target)
            files[name] = target.read_bytes()
        return files


@dataclass
class ScoringData:
    """A dataset folder opened for scoring: the small tables read and validated, the events only
    measured (``scan`` is None on the eager path, where ``base`` holds every table)."""

    cfg: Config
    base: Dataset  # the small tables (or every table, eager path)
    scan: pl.LazyFrame | None = None
    events_bounds: dict[str, Any] | None = None
    folder: Path | None = None  # where the tables are: the eager read when the scan's ids need a trim
    # the events file's rows per day (churnml.contract.io.rows_per_day: [day, rows, first, last]), of the pass
    # that took its bounds: the days before the list and the last day's check read it, not the file
    events_days: pl.DataFrame | None = None

    @property
    def as_of(self) -> datetime:
        return self.base.as_of

    def read(
        self, day: date, snapshots: list[date]
    ) -> tuple[Dataset, EventBatches | None, EventReads | None]:
        """(the dataset of the whole-portfolio steps, the client batches, what is read) for scoring
        ``snapshots`` at ``day``; on the eager path (every table read) no batches."""
        from churnml.contract.validation import with_created_repaired
        from churnml.scoring.window import (
            batch_count,
            event_marks,
            first_events,
            portfolio_days,
            portfolio_events,
            scoring_window,
        )

        if self.scan is None or self.events_bounds is None or self.events_days is None:
            return self.base, None, None
        cfg, bounds = self.cfg, self.events_bounds
        window = scoring_window(day, snapshots, cfg.features)
        # two streaming passes over the file, small results: per-client maxima (and the first event,
        # which repairs clients.created_at as the eager read does), then a few days per client. The days
        # holding an event (the file's rhythm) come from the rows per day of the bounds' pass; with the
        # client-week store, the days' fingerprints (every column) are collected with the marks. Without
        # common-subplan elimination: with it Polars caches the shared scan, and the 100k-client list's peak
        # rose from 1.8 to 8.5 GB in this pass (200.8M events; 32.0 s against 44.5 s, docs/benchmarks.md)
        marks_plan = event_marks(self.scan, window, day, cfg.features, cfg.label.activity_events)
        if cfg.score.client_week_store:
            marks, record_days = pl.collect_all(
                [marks_plan, day_fingerprints(self.scan, day)],
                engine="streaming",
                optimizations=pl.QueryOptFlags(comm_subplan_elim=False),
            )
        else:
            marks, record_days = marks_plan.collect(engine="streaming"), event_days(self.events_days, day)
        ids = marks.get_column(CLIENT_ID)
        if self.folder is not None and (ids.str.strip_chars() != ids).fill_null(True).any():
            # ids with spaces around them (or blank): the eager read trims and counts them, where the
            # marks and the client batches of the scan would miss their clients (checked on the marks:
            # one row per client, not every event)
            from churnml.contract.io import read_dataset

            return ScoringData(cfg, read_dataset(self.folder, cfg.data)).read(day, snapshots)
        small, repairs = with_created_repaired(
            self.base.tables, self.base.repairs.counts, first_events(marks)
        )
        clients = small[Table.CLIENTS]
        days = portfolio_days(self.scan, clients, day, cfg.features, cfg.score, cfg.rules)
        view = portfolio_events(
            marks, days.collect(engine="streaming"), cfg.features, cfg.label.activity_events
        )
        n = batch_count(clients.height, cfg.score.batch_clients)
        reads = EventReads(bounds["rows"], bounds["first"], bounds["last"], window.start, window.end, n)
        reads.usual_gap_days = rhythm_of(record_days, day)
        reads.day_rows = record_days
        reads.as_of, reads.max_lag_days = day, cfg.score.max_data_lag_days
        base = replace(self.base, repairs=RepairLog(repairs)).with_tables(
            **{str(t): f for t, f in small.items()}
        )
        dataset = base.with_tables(events=view)
        batches = EventBatches(n, self.scan, small, marks, window, dataset, cfg, reads)
        return dataset, batches, reads


def event_days(days: pl.DataFrame, day: date) -> pl.DataFrame:
    """The days holding an event before ``day`` and their rows (``[day, rows]``, one row per day) of the events
    file's rows per day (``days``: :func:`churnml.contract.io.rows_per_day`, collected): what :func:`rhythm_of`
    reads, and the client-week store's rows per week (:func:`churnml.jobs.week_store.week_rows`)."""
    return days.filter(pl.col("day") < day).select("day", "rows")


def day_fingerprints(scan: pl.LazyFrame, day: date) -> pl.LazyFrame:
    """:func:`event_days` with a fingerprint of each day's rows (lazy ``[day, rows, _fp_hi, _fp_lo]``:
    :func:`churnml.jobs.week_store.fingerprint_sums` of every column) that the client-week store's reuse
    compares: a pass of its own over every column, collected with the marks (:meth:`ScoringData.read`)."""
    from churnml.jobs.week_store import fingerprint_sums

    ts = pl.col(Events.TS)
    cut = datetime(day.year, day.month, day.day)
    sums = fingerprint_sums(scan.collect_schema().names())
    return scan.filter(ts < cut).group_by(ts.dt.date().alias("day")).agg(pl.len().alias("rows"), *sums)


def rhythm_of(days: pl.DataFrame, day: date) -> int | None:
    """The events' rhythm (:func:`churnml.contract.validation.usual_gap_days`) from ``days``
    (:func:`event_days`: the days holding an event before ``day``)."""
    from churnml.contract.validation import usual_gap_days

    return usual_gap_days(days.get_column("day").cast(pl.Datetime("us")), day)


SCRATCH_PREFIX = "churnml-score-"
# in each scratch folder: the host and process of the run that made it, so that a later run can tell the folder
# of a run killed outright (SIGKILL, out of memory: no cleanup ran) from one still at work
SCRATCH_MARK = ".churnml-run.json"


@contextmanager
def scratch_folder(parent: Path | None) -> Iterator[Path]:
    """A new empty folder of churnml's own for one run's spilled events, in ``parent`` (``score.scratch_dir``;
    None: the system temp folder), marked with this host and process (:data:`SCRATCH_MARK`), removed with all
    it holds when the block ends, on an error too."""
    from churnml.jobs.common import UserError

    if parent is not None and not Path(parent).is_dir():
        raise UserError(
            f"score.scratch_dir: {parent} is not a folder (create it, or set null for the temp folder)"
        )
    with tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX, dir=parent) as name:
        mark = {"host": socket.gethostname(), "pid": os.getpid()}
        (Path(name) / SCRATCH_MARK).write_text(json.dumps(mark), encoding="utf-8")
        yield Path(name)


def _running(pid: int) -> bool:
    """Whether process ``pid`` of this host still runs (one of another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_scratch_folders(parent: Path | None) -> list[Path]:
    """The scratch folders in ``parent`` (None: the system temp folder) left by runs that are gone: a
    ``churnml-score-*`` folder holding churnml's mark (:func:`scratch_folder`) of a process of this host that
    no longer runs. A run killed outright (SIGKILL, the out-of-memory killer) leaves its folder behind, up to
    2 GB for 100,000 clients. A folder without the mark, of another host, or of a process still running (another
    run at work, or its number taken since by another process) is none of them."""
    base = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    host = socket.gethostname()
    out = []
    for folder in sorted(base.glob(f"{SCRATCH_PREFIX}*")):
        try:
            mark = json.loads((folder / SCRATCH_MARK).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        pid = mark.get("pid") if isinstance(mark, dict) else None
        if isinstance(pid, int) and mark.get("host") == host and not _running(pid):
            out.append(folder)
    return out


def removed_stale_scratch(parent: Path | None) -> str | None:
    """Remove the :func:`stale_scratch_folders` of ``parent`` (folders churnml wrote, of runs that are gone) and
    return what to say of it (how many, their size, where), or None when there were none."""
    sizes = {
        folder: sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        for folder in stale_scratch_folders(parent)
    }
    for folder in sizes:
        shutil.rmtree(folder, ignore_errors=True)  # another user's may refuse: then it is not said removed
    folders = [folder for folder in sizes if not folder.exists()]
    if not folders:
        return None
    size = sum(sizes[folder] for folder in folders)
    return (
        f"removed {len(folders)} scratch folder{'s' if len(folders) != 1 else ''} of earlier runs that were "
        f"killed before they could clean up ({size / 1e6:,.1f} MB in {folders[0].parent})"
    )


def _events_stand_in(bounds: dict[str, Any]) -> pl.DataFrame:
    """Three rows carrying the events' first, first plausible and last timestamps: what the dataset's
    span (:func:`churnml.contract.validation.timestamp_span`) reads of the table."""
    stamps = [bounds[k] for k in ("first", "first_plausible", "last") if bounds[k] is not None]
    return pl.DataFrame({Events.TS: stamps}, schema={Events.TS: pl.Datetime("us")})


def open_scoring_data(folder: Path, cfg: Config) -> ScoringData:
    """Open ``folder`` for scoring: a Parquet events table is only measured (rows, first and last
    timestamp, one streaming pass), through a scan in the contract's types (:func:`churnml.contract.io.typed_scan`);
    every other table is read and validated. CSV events, events the scan cannot type (text times, float
    ids) or whose ids need trimming, or a label source reading the events' whole history, read every
    table (:func:`churnml.contract.io.read_dataset`)."""
    from churnml.contract.io import (
        checked_file_references,
        dataset_files,
        dataset_name,
        file_checksum,
        read_dataset,
        read_tables,
        rows_per_day,
        scanned_parquet,
        time_bounds,
        typed_scan,
    )
    from churnml.contract.validation import (
        ContractError,
        midnight_after,
        timestamp_span,
        with_churn_events,
    )
    from churnml.jobs.common import config_with_tables

    files = dataset_files(Path(folder))
    cfg = config_with_tables(cfg, files)  # label.source auto: decided by the tables present
    events = files.get(Table.EVENTS)
    if events is None or not events.name.endswith(".parquet") or cfg.label.source != "subscriptions":
        return ScoringData(cfg, read_dataset(folder, cfg.data))
    for table in REQUIRED_TABLES:
        if table not in files:
            raise ContractError(
                str(table), f"required table missing: no {table}.parquet or {table}.csv in {folder}"
            )
    small_files = {t: p for t, p in files.items() if t != Table.EVENTS}
    tables, repairs = read_tables(small_files, cfg.data)
    # a CSV's rows named by their lines, as validate names them
    checked_file_references(tables, small_files, cfg.data)
    scan = typed_scan(scanned_parquet(events, Table.EVENTS), Table.EVENTS, cfg.data.timezone)
    if scan is None:
        # times stored as text, float ids, ...: the eager read coerces and checks them as validate does
        return ScoringData(cfg, read_dataset(folder, cfg.data))
    # the events that record a client leaving, from one filtered scan
    tables, repairs = with_churn_events(tables, repairs, cfg.data.churn_events, scan)
    days = rows_per_day(scan, Events.TS).collect(engine="streaming")
    bounds = time_bounds(days)
    if bounds["rows"] == 0:
        return ScoringData(cfg, read_dataset(folder, cfg.data))  # the eager path names the empty table
    start, last = timestamp_span({**tables, Table.EVENTS: _events_stand_in(bounds)})
    name = dataset_name(folder, cfg.data)
    small = Dataset(tables, name, start, start, RepairLog(repairs))
    base = Dataset(
        tables=tables,
        name=name,
        start=start,
        as_of=midnight_after(cfg.data.as_of if cfg.data.as_of is not None else last),
        repairs=RepairLog(repairs),
        checksums={str(t): file_checksum(p) for t, p in files.items()},
        # dates before 1971 (placeholders) left out, as Dataset.first_activity and events_first do
        activity_start=min(small.first_activity(), bounds["first_plausible"] or bounds["first"]),
        events_start=bounds["first_plausible"] or bounds["first"],
    )
    return ScoringData(cfg, base, scan, bounds, Path(folder), days)


def recent_daily_events(
    opened: ScoringData, last_day: date, weeks: int = 5
) -> tuple[dict[date, int], date, datetime]:
    """(events per day over the ``weeks`` weeks up to ``last_day``, ``last_day``, the time of its last
    event) for :func:`churnml.jobs.score.partial_last_day_note`: from the events file's rows per day
    (:attr:`ScoringData.events_days`, no pass of its own) or the events read; empty without events."""
    from churnml.contract.io import rows_per_day

    since = datetime.combine(last_day - timedelta(weeks=weeks), datetime.min.time())
    if opened.events_days is not None:
        per_day = opened.events_days
    elif Table.EVENTS in opened.base.tables:
        per_day = rows_per_day(opened.base.tables[Table.EVENTS].lazy(), Events.TS).collect()
    else:
        return {}, last_day, datetime.combine(last_day, datetime.min.time())
    days = per_day.filter(pl.col("day") >= since.date())
    daily = dict(zip(days.get_column("day").to_list(), days.get_column("rows").to_list(), strict=True))
    last = days.filter(pl.col("day") == last_day).get_column("last")
    return daily, last_day, (last.item() if last.len() else datetime.combine(last_day, datetime.min.time()))


def with_read_notes(data: dict[str, Any], dataset: Dataset, reads: EventReads | None) -> dict[str, Any]:
    """The manifest's ``data`` entry with what the run read of the events (``read``), the events' own
    span, rhythm (``usual_gap_days`` of the whole file, :attr:`EventReads.usual_gap_days`) and row count (not
    those of the portfolio view, whose few days per client have no rhythm), the events judged stale or not
    by that rhythm (``lagging_tables``), the repairs of the rows read, and their empty optional columns;
    unchanged on the eager path."""
    from churnml.contract.validation import lagging_tables

    if reads is None:
        return data
    before = dataset.tables[Table.EVENTS].get_column(Events.TS).max()
    spans = dict(data["tables"])
    span: dict[str, Any] = {
        "first": None if reads.first is None else reads.first.isoformat(),
        "last": None if reads.last is None else reads.last.isoformat(),
        "last_before_as_of": None if before is None else before.isoformat(),
    }
    if reads.usual_gap_days is not None:  # only a rhythm known is said, as table_spans does
        span["usual_gap_days"] = reads.usual_gap_days
    spans[str(Table.EVENTS)] = span
    lagging = dict(data.get("lagging_tables") or {})
    if reads.as_of is not None and reads.max_lag_days is not None:
        lagging.pop(str(Table.EVENTS), None)
        lagging.update(lagging_tables({str(Table.EVENTS): span}, reads.as_of, reads.max_lag_days))
    empty = [c for c in data["empty_optional_columns"] if not c.startswith(f"{Table.EVENTS}.")]
    empty += [f"{Table.EVENTS}.{c}" for c in CONTRACT[Table.EVENTS].optional if c not in reads.filled]
    repairs = dict(data["repairs"])
    if reads.repairs:
        repairs[str(Table.EVENTS)] = dict(sorted(reads.repairs.items()))
    return {
        **data,
        "row_counts": {**data["row_counts"], str(Table.EVENTS): reads.rows_in_file},
        "repairs": dict(sorted(repairs.items())),
        "tables": spans,
        "lagging_tables": {str(t): lagging[str(t)] for t in ACTIVITY_TABLES if str(t) in lagging},
        "empty_optional_columns": sorted(empty),
        "read": {str(Table.EVENTS): reads.note()},
    }
