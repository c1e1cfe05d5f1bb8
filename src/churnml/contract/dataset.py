"""The in-memory form of a validated input dataset, handed from ``io.py`` to the pure pipeline."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from churnml.contract.schemas import CONTRACT, Communications, Events, Subscriptions, Table, Tickets

__all__ = [
    "LATE_PAYMENTS_LOG_DAYS",
    "LATE_TABLE_DAYS",
    "LATE_USAGE_LOG_DAYS",
    "NOT_ACTIVITY",
    "Dataset",
    "RepairLog",
    "late_usage_log_start",
    "plausible_first",
    "usage_windows_start",
]

# A table whose first record comes this many days or more after the data's first activity began late:
# its history was not kept before (product analytics adopted long after billing), rather than empty.
LATE_TABLE_DAYS = 91
# A usage log (events) whose first record comes this many days or more after the data's first activity began
# late: product use is dense (a portfolio's events every day), so weeks in which not one client has an event
# while terms or invoices run are weeks the log did not record, not weeks of no use. An export of the terms
# running on its first day (started up to a month before it) beside events and invoices from that day read
# those weeks as every client's zero use: the 28-day counts truncated and the trends against them 8,658
# times the client's baseline. Contact logs are sparse (a client may write once a quarter): they keep
# LATE_TABLE_DAYS.
LATE_USAGE_LOG_DAYS = 7
# A payments log (invoices, payments) whose first record comes this many days or more after the first
# subscription term began, began late. Payments are sparser than events (a monthly bill): a week without
# one is quiet, not missing, but a term runs billed, so three weeks and more of running terms before the
# first invoice on record is history the export did not keep (a billing system adopted or exported later:
# an API platform's terms running on 2026-07-01, the first started 2026-06-04, beside invoices from 2026-07-01
# read every client as paying nothing for 27 days; payments_paid_ratio's median 50.0 for a steady 49 a month).
# Measured from the first term, not the first activity: only a running term says a bill was due, so a shop
# without terms (its orders ARE its first activity) and a product whose free use preceded billing are never
# late; the demo's terms and invoices begin on the same day. A portfolio billed a month in arrears reads late
# too: its first month had no payment of anyone to observe, and the windows reaching before the first bill,
# unknown, are what a dataset that young already resolves its longer windows to.
LATE_PAYMENTS_LOG_DAYS = 21


@dataclass(frozen=True)
class RepairLog:
    """What validation repaired or skipped, per table: ``{table: {problem: row count}}``.

    Nothing is dropped silently: every repair is counted here and written to the run's manifest.
    """

    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def total(self) -> int:
        return sum(n for per in self.counts.values() for n in per.values())


# Tables whose times do not say when the data starts to observe the clients (see Dataset.first_activity): they
# date neither Dataset.first_activity nor Dataset.start.
NOT_ACTIVITY: tuple[Table, ...] = (Table.CLIENTS, Table.CHURNS, Table.INTERVENTIONS)


def plausible_first(times: Iterable[pl.Series]) -> datetime | None:
    """The earliest of ``times`` (time columns) on or after ``validation.PLAUSIBLE_FROM`` (1971-01-01): the
    cut of :func:`~churnml.contract.validation.timestamp_span`, so that a placeholder for "unknown"
    (1900-01-01, SQL Server's 1753-01-01) never dates when a log begins. When no value is that late, the
    earliest of all (as ``timestamp_span`` falls back); None when every column is empty."""
    from churnml.contract.validation import PLAUSIBLE_FROM  # validation imports this module

    cut = datetime(PLAUSIBLE_FROM.year, PLAUSIBLE_FROM.month, PLAUSIBLE_FROM.day)
    late, every = [], []
    for column in times:
        t = column.cast(pl.Datetime("us"))
        low = t.min()
        if low is None:
            continue
        every.append(low)
        # a column without placeholders (the usual case) is read once, not filtered
        plausible = low if low >= cut else t.filter(t >= cut).min()  # type: ignore[operator]
        if plausible is not None:
            late.append(plausible)
    if late:
        return min(late)  # type: ignore[type-var]
    return min(every) if every else None  # type: ignore[type-var]


def late_usage_log_start(first_activity: datetime, events_first: datetime | None) -> datetime | None:
    """``events_first`` (the usage log's first event) when it comes :data:`LATE_USAGE_LOG_DAYS` or more after
    ``first_activity`` (the data's first activity): a usage log that began late. None otherwise."""
    if events_first is None or (events_first - first_activity).days < LATE_USAGE_LOG_DAYS:
        return None
    return events_first


def usage_windows_start(first_activity: datetime, events_first: datetime | None) -> datetime:
    """When the usage features' windows are observed from, read from the data's first activity and the usage
    log's first event (None without events): a late usage log's first event (:func:`late_usage_log_start`), else
    the first activity. :meth:`Dataset.usage_windows_from` of a dataset; the Spark driver from the whole dataset's
    dates, which no table of its own holds."""
    return late_usage_log_start(first_activity, events_first) or first_activity


@dataclass(frozen=True)
class Dataset:
    """Validated tables of one dataset, typed as the contract says (``schemas.CONTRACT``).

    ``tables`` holds only the tables present in the input folder; optional tables that are absent
    simply have no features. ``as_of`` is the extraction date: no timestamp lies after it, and it is
    the default scoring date. ``start`` is the data's real start, where the weekly snapshot grid begins
    (``validation.timestamp_span``: its earliest activity timestamp from 1971 on, ``clients``, ``churns`` and
    ``interventions`` aside, as :meth:`first_activity`).
    ``activity_start`` pins :meth:`first_activity`, ``events_start`` :meth:`events_first`,
    ``contact_start`` :meth:`contact_first`, ``payments_start`` :meth:`payments_first` and ``terms_start``
    :meth:`terms_first` (set on a subset of the clients, so that features computed per batch of clients equal
    those of the whole dataset).
    ``client_weeks``: the events' usage aggregates already built for these clients, (kinds, users) in the
    calendar form of :func:`churnml.features.usage.calendar_aggregates` (a scoring batch reading a client-week
    store, :mod:`churnml.jobs.score_data`): the usage features read them instead of the ``events`` table's rows,
    which then hold what the other steps read. None: the usage features read the events.
    """

    tables: Mapping[Table, pl.DataFrame]
    name: str
    start: datetime
    as_of: datetime
    repairs: RepairLog = field(default_factory=RepairLog)
    checksums: Mapping[str, str] = field(default_factory=dict)
    activity_start: datetime | None = None
    events_start: datetime | None = None
    contact_start: datetime | None = None
    payments_start: datetime | None = None
    terms_start: datetime | None = None
    client_weeks: tuple[pl.DataFrame, pl.DataFrame] | None = None

    def first_activity(self) -> datetime:
        """The earliest activity timestamp: the week the weekly feature grid starts and clients are observed
        from. ``clients.created_at`` is excluded (a client created in 2005 must not stretch the grid back to
        2005; weeks before any activity hold nothing), and so are ``churns`` and ``interventions``: a
        churn ends a relationship and an intervention is the team's act, so an export whose churn log
        reaches back years before its events would otherwise read those years as observed weeks without
        any activity. Dates before 1971 (placeholders for "unknown", :func:`plausible_first`) are left out, as
        from :attr:`start`: one payment dated 1900-01-01 would read a century of observed weeks without any
        payment."""
        if self.activity_start is not None:
            return self.activity_start
        first = plausible_first(
            frame.get_column(col)
            for table, frame in self.tables.items()
            if table not in NOT_ACTIVITY
            for col in CONTRACT[table].time_columns
            if col in frame.columns
        )
        return first if first is not None else self.start

    def _first_record(
        self, pinned: datetime | None, table: Table, columns: Iterable[str] | None = None
    ) -> datetime | None:
        """``pinned`` when set, else the earliest plausible value of ``columns`` (default: every time column of
        the contract) of ``table`` (None without rows; dates before 1971 left out, :func:`plausible_first`)."""
        if pinned is not None:
            return pinned
        frame = self.tables.get(table)
        if frame is None or frame.height == 0:
            return None
        wanted = CONTRACT[table].time_columns if columns is None else columns
        return plausible_first(frame.get_column(c) for c in wanted if c in frame.columns)

    def events_first(self) -> datetime | None:
        """The first event's timestamp: when the product's usage log begins (None without events). Dates before
        1971 are left out (:func:`plausible_first`)."""
        return self._first_record(self.events_start, Table.EVENTS, (Events.TS,))

    def contact_first(self) -> datetime | None:
        """The first recorded contact (a communication or a ticket): when the contact logs begin (None
        without either table, or rows in them). Dates before 1971 are left out (:func:`plausible_first`)."""
        if self.contact_start is not None:
            return self.contact_start
        return plausible_first(
            frame.get_column(col)
            for table, col in ((Table.COMMUNICATIONS, Communications.TS), (Table.TICKETS, Tickets.OPENED_AT))
            if (frame := self.tables.get(table)) is not None and frame.height
        )

    def payments_first(self) -> datetime | None:
        """The payments log's first record (its earliest ``paid_at``, ``issued_at`` or ``due_at``): when the
        payments export begins (None without payments). Dates before 1971 are left out (:func:`plausible_first`)."""
        return self._first_record(self.payments_start, Table.PAYMENTS)

    def terms_first(self) -> datetime | None:
        """The first subscription term's ``start_date`` (None without terms). Dates before 1971 are left out
        (:func:`plausible_first`)."""
        return self._first_record(self.terms_start, Table.SUBSCRIPTIONS, (Subscriptions.START_DATE,))

    def payments_observed_from(self) -> datetime | None:
        """When the payments log begins, when that is :data:`LATE_PAYMENTS_LOG_DAYS` (three weeks) or more after
        the first subscription term began (an export of the terms running on its first day beside the invoices
        from that day; a billing system adopted after the contracts): the payment features observe the clients
        from then (their windows, rates and trends), not from the first term. None otherwise (no terms: a
        shop's orders are its first activity), and the payments family reads :meth:`first_activity`."""
        first, terms = self.payments_first(), self.terms_first()
        if first is None or terms is None or (first - terms).days < LATE_PAYMENTS_LOG_DAYS:
            return None
        return first

    def usage_observed_from(self) -> datetime | None:
        """When the usage log begins, when that is :data:`LATE_USAGE_LOG_DAYS` (a week) or more after the data's
        first activity (a CRM whose contracts and invoices go back years, its product analytics months; an export
        whose terms running on its first day started weeks before it): the usage features observe the clients
        from then (their windows, onboarding and weeks of use), not from the first term or invoice. None
        otherwise: the usage family reads :meth:`first_activity`."""
        return late_usage_log_start(self.first_activity(), self.events_first())

    def usage_windows_from(self) -> datetime:
        """When the usage features' windows are observed from: :meth:`usage_observed_from` (a usage log that
        began late), else :meth:`first_activity` (:func:`churnml.features.build.resolved_unobserved_windows`
        reads the same origin). A window longer than the days since is unknown or scaled up from them
        (``features.unobserved_windows``); ``usage_drop`` reads its count over those days
        (:func:`churnml.scoring.rules.usage_ratios`). :func:`usage_windows_start` of its dates."""
        return usage_windows_start(self.first_activity(), self.events_first())

    def behaviour_from(self) -> datetime | None:
        """When the behaviour logs (events, communications, tickets) begin, when that is :data:`LATE_TABLE_DAYS`
        or more after the data's first activity (contracts and invoices going back years, the product and
        contact logs months): before it no snapshot sees what a client does. None otherwise, or without a
        behaviour table."""
        firsts = [f for f in (self.events_first(), self.contact_first()) if f is not None]
        if not firsts:
            return None
        begins = min(firsts)
        return begins if (begins - self.first_activity()).days >= LATE_TABLE_DAYS else None

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
        return dataclasses.replace(self, tables=tables)
