"""Build the feature table: one row per spine row (client x snapshot), every family's features.

``build_features(dataset, spine, cfg)`` returns columns ``client_id``, ``snapshot`` (``pl.Date``) and one
Float64 column per feature of :mod:`churnml.features.registry` whose table is present, sorted by
(snapshot, client_id). Every feature at a snapshot uses only data strictly before the snapshot date.

The families run on a dense client x week grid (:mod:`churnml.features._grid`); each family is
collected on its own and joined back to the spine, which keeps peak memory to one family at a time.
The grid starts at the data's first activity, except the usage family's on Polars: it starts where the
spine's earliest snapshot looks back to (:func:`churnml.features.usage.usage_look_back_weeks` weeks,
:func:`churnml.features._grid.look_back_axis`), with the weeks before carried in, so next week's list
featurises ~32 weeks instead of every week since the data began; the features are the same, bit for
bit. What depends on the data's origin (the week a client is observed from, onboarding, the windows
that reach before the data: :func:`resolved_unobserved_windows`) reads the origin passed in
(``dataset.first_activity()``), never the grid's first week. A log that began long after the first invoices
has its own origin: the usage family is observed from the first event
(:meth:`~churnml.contract.dataset.Dataset.usage_observed_from`), the communication and support families
from the first contact (:func:`contact_observed_from`), the payment columns from the payments log's first
record (:meth:`~churnml.contract.dataset.Dataset.payments_observed_from`: invoices exported weeks after the
first terms began; the subscription columns keep the data's origin): their rates, trends and windows count the
weeks the log covers, not the years of invoices (or weeks of terms) before it with nothing on record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import narwhals as nw
import polars as pl

from churnml.config import FeaturesConfig
from churnml.contract.dataset import LATE_TABLE_DAYS, Dataset
from churnml.contract.schemas import (
    CLIENT_ID,
    CONTRACT,
    POLARS_TYPE,
    SNAPSHOT,
    Clients,
    Communications,
    Table,
)
from churnml.features._grid import (
    CDAY,
    CIDX,
    WEEK,
    WeekAxis,
    client_week_grid,
    day_number,
    dense_shifts,
    look_back_axis,
    python_day_number,
    released_spark_caches,
    week_axis,
    week_of,
)
from churnml.features.account import TENURE_CENSORED, account_features
from churnml.features.communication import (
    MAILING_DAY,
    MAILING_MIN_CLIENTS,
    MAILING_SHARE,
    communication_features,
    mailing_calendar,
)
from churnml.features.payments import from_payments_log, payment_features, subscription_features
from churnml.features.registry import distinct_count, feature_specs, summed_window_days
from churnml.features.spec import FeatureSpec
from churnml.features.support import support_features
from churnml.features.usage import (
    RECENT_SHARE_OF,
    usage_features,
    usage_look_back_weeks,
    with_recent_shares,
    with_seat_use,
)

__all__ = [
    "OPTIONAL_COLUMN_FEATURES",
    "PAYMENTS_LOG",
    "PROGRESS_STEPS",
    "SNAPSHOT",
    "build_features",
    "censored_start_clients",
    "contact_observed_from",
    "contract_columns",
    "dataset_mailings",
    "feature_columns",
    "resolved_unobserved_windows",
    "started_with_data",
    "window_observed_from",
    "windows_before_logs",
    "with_censored_starts",
]


Family = Callable[..., nw.LazyFrame]
# the families observed from the first contact when the contact logs began late (contact_observed_from)
CONTACT_FAMILIES = ("communication", "support")
# the key of the payment columns (features.payments.from_payments_log) in the days of a log that began late
# (scoring.reasons.late_family_days): the payments family's subscription columns keep the data's days
PAYMENTS_LOG = "payments_log"
# (step name shown in progress, table it needs, function)
_STEPS: tuple[tuple[str, Table | None, Family], ...] = (
    ("usage", Table.EVENTS, usage_features),
    ("payments", Table.PAYMENTS, payment_features),
    ("subscriptions", Table.SUBSCRIPTIONS, subscription_features),
    ("communication", Table.COMMUNICATIONS, communication_features),
    ("support", Table.TICKETS, support_features),
    ("account", None, account_features),
)
# the names ``build_features`` reports to its progress callback, in order: one per step above
PROGRESS_STEPS: tuple[str, ...] = tuple(name for name, _, _ in _STEPS)


# what an empty optional column (``table.column``) can leave missing: the features (name prefixes) that read
# it. A column no feature reads (the clients' margin or segment) is absent: blaming it
# for a missing CSAT feature sent a user to the wrong column.
OPTIONAL_COLUMN_FEATURES: dict[str, tuple[str, ...]] = {
    "events.user_id": ("usage_active_users", "usage_seat_use"),
    "events.value": ("usage_time",),
    "subscriptions.quantity": ("payments_seats", "usage_seat_use"),
    "subscriptions.product": ("payments_addons",),
    "subscriptions.is_addon": ("payments_addons",),
    "subscriptions.discount": ("payments_discount",),
    "payments.issued_at": ("payments_open", "payments_overdue"),
    "payments.due_at": ("payments_late", "payments_days_late", "payments_open", "payments_overdue"),
    "payments.status": ("payments_failed", "payments_refund"),
    "communications.outcome": (
        "comm_reply_rate",
        "comm_rescheduled",
        "comm_cancelled",
        "comm_no_show",
        "comm_meetings_disrupted",
        "comm_no_reply_streak",
    ),
    "communications.response_hours": ("comm_response_hours",),
    "communications.words": ("comm_words",),
    "communications.sentiment": ("comm_sentiment",),
    "tickets.closed_at": ("support_open_tickets", "support_open_urgent_tickets", "support_csat"),
    "tickets.kind": ("support_complaints", "support_discount_requests", "support_cancellation_requests"),
    "tickets.csat": ("support_csat",),
    "tickets.priority": ("support_open_urgent_tickets",),
}


def contract_columns(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    """The table with every contract column (absent optional ones as typed nulls)."""
    missing = [s for s in CONTRACT[table].columns if s.name not in frame.columns]
    if not missing:
        return frame
    return frame.with_columns(pl.lit(None, dtype=POLARS_TYPE[s.kind]).alias(s.name) for s in missing)


def dataset_mailings(
    dataset: Dataset, share: float = MAILING_SHARE, least: int = MAILING_MIN_CLIENTS
) -> pl.DataFrame:
    """``[day, channel]``: the mailings of ``dataset`` (:func:`churnml.features.communication.mailing_calendar`
    of its whole communications and clients tables; ``share``, ``least``: ``rules.mailing_share``,
    ``rules.mailing_min_clients``), one row per day and channel; no rows without a communications table.
    Found once on the whole dataset and handed to ``build_features`` for every client batch, so that a
    client's features do not depend on its batch."""
    comm = dataset.tables.get(Table.COMMUNICATIONS)
    if comm is None:
        return pl.DataFrame(schema={MAILING_DAY: pl.Date, Communications.CHANNEL: pl.String})
    clients = dataset.tables.get(Table.CLIENTS)
    return mailing_calendar(
        nw.from_native(contract_columns(comm, Table.COMMUNICATIONS).lazy()),
        None if clients is None else nw.from_native(clients.select(CLIENT_ID, Clients.CREATED_AT).lazy()),
        share,
        least,
    )


def _checked_mailings(mailings: pl.DataFrame) -> pl.DataFrame:
    """``mailings`` as ``[day (Date), channel (String)]``; a frame without those columns is a caller's bug."""
    missing = [c for c in (MAILING_DAY, Communications.CHANNEL) if c not in mailings.columns]
    if missing:
        raise ValueError(
            f"features: mailings lacks column(s) {missing} (expected [day, channel], dataset_mailings); "
            f"found {mailings.columns}"
        )
    return mailings.select(pl.col(MAILING_DAY).cast(pl.Date), pl.col(Communications.CHANNEL).cast(pl.String))


def _spark() -> Any:  # pragma: no cover - needs pyspark and a JVM
    """The active Spark session, else the one ``churnml score --engine spark`` starts (Arrow, quiet); either way
    in UTC: contract timestamps are naive UTC, which Spark must not shift into the JVM's local zone."""
    from churnml.jobs.score_spark import spark_session

    return spark_session()


def _mailings_lazy(mailings: pl.DataFrame, engine: str) -> nw.LazyFrame:
    """The mailings frame on the configured engine (as :func:`_lazy`; on Spark with its schema written out:
    Spark cannot infer one from no rows)."""
    if engine == "spark":  # pragma: no cover - needs pyspark and a JVM
        session = _spark()
        schema = f"{MAILING_DAY} date, {Communications.CHANNEL} string"
        return nw.from_native(session.createDataFrame(mailings.rows(), schema=schema))
    return _lazy(mailings, engine)


def _checked_spine(spine: pl.DataFrame) -> pl.DataFrame:
    for col in (CLIENT_ID, SNAPSHOT):
        if col not in spine.columns:
            raise ValueError(f"features: spine lacks column {col!r}; found {spine.columns}")
    out = spine.select(pl.col(CLIENT_ID).cast(pl.String), pl.col(SNAPSHOT).cast(pl.Date))
    nulls = out.filter(pl.col(CLIENT_ID).is_null() | pl.col(SNAPSHOT).is_null())
    if nulls.height:
        raise ValueError(f"features: spine has {nulls.height} rows with an empty client_id or snapshot")
    dupes = out.filter(out.is_duplicated())
    if dupes.height:
        raise ValueError(
            f"features: spine has {dupes.height} duplicate (client_id, snapshot) rows, e.g. "
            f"{dupes.head(5).rows()}"
        )
    return out.sort(SNAPSHOT, CLIENT_ID)


def _lazy(frame: pl.DataFrame, engine: str) -> nw.LazyFrame:
    """The frame as a Narwhals lazy frame on the configured engine (the only engine switch)."""
    if engine == "polars":
        return nw.from_native(frame.lazy())
    if engine == "spark":  # pragma: no cover - needs pyspark and a JVM
        session = _spark()
        # Categorical columns (the compact in-memory form of repeated strings) go to Spark as strings.
        plain = frame.with_columns(pl.col(pl.Categorical).cast(pl.String))
        return nw.from_native(session.createDataFrame(plain.to_pandas()))
    raise ValueError(f"features: unknown engine {engine!r} (expected polars or spark)")


def feature_columns(frame: pl.DataFrame) -> list[str]:
    """The feature columns of a feature table (everything but the keys)."""
    return [c for c in frame.columns if c not in (CLIENT_ID, SNAPSHOT)]


def _collect(lf: nw.LazyFrame) -> pl.DataFrame:
    if lf.implementation.is_polars():
        # in-memory engine: the window functions over the client x week grid run 2-3x faster there than
        # streaming; the big aggregations over raw rows were materialized before (_grid.materialized)
        return lf.to_native().collect(engine="in-memory")
    return lf.collect(backend="polars").to_native()


def build_features(
    dataset: Dataset,
    spine: pl.DataFrame,
    cfg: FeaturesConfig,
    progress: Callable[[str], None] | None = None,
    whole_grid: bool = False,
    *,
    mailing_share: float = MAILING_SHARE,
    mailing_min_clients: int = MAILING_MIN_CLIENTS,
    mailings: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The feature table for the spine's (client, snapshot) rows; see the module docstring.

    ``progress`` is called with the name of each family once it is done (for a progress bar).
    ``whole_grid``: the usage family's grid starts at the data's first activity too (the same features;
    by default, on Polars, it starts at the spine's look-back, see the module docstring).
    ``mailing_share``, ``mailing_min_clients``: ``rules.mailing_share`` and ``rules.mailing_min_clients``, the
    mailings the communication family leaves out (:func:`churnml.features.communication.mailing_days`, judged
    against every client of the dataset's clients table). ``mailings``: those mailings, ``[day, channel]``
    (:func:`dataset_mailings` of the whole dataset: what a caller handing client batches passes, found once, so
    that the features do not depend on the batch); None: found from the tables of ``dataset``.
    """
    keys = _checked_spine(spine)
    data_start = dataset.first_activity()
    axis: WeekAxis = week_axis(keys.get_column(SNAPSHOT), data_start)
    usage_from = dataset.usage_observed_from()  # a usage log that began long after the first invoices
    usage_base = usage_axis_from(axis, usage_from)
    contact_from = contact_observed_from(dataset)  # so did the contact logs (a helpdesk adopted later)
    contact_axis = usage_axis_from(axis, contact_from)
    payments_from = dataset.payments_observed_from()  # and the payments log (a billing export, weeks late)
    payments_axis = usage_axis_from(axis, payments_from)
    clients = contract_columns(dataset.tables[Table.CLIENTS], Table.CLIENTS)
    grid_clients = (
        keys.select(CLIENT_ID)
        .unique()
        .sort(CLIENT_ID)
        .with_row_index(CIDX)
        .with_columns(pl.col(CIDX).cast(pl.Int64))
        .join(clients.select(CLIENT_ID, Clients.CREATED_AT), on=CLIENT_ID, how="left")
    )
    # a client created at the data's start may have been one long before: observed from the data's start as
    # a client older than the data, its tenure unknown (with_censored_starts)
    censored = censored_start_clients(clients, data_start, cfg.censored_start_days)
    grid_clients = grid_clients.with_columns(
        pl.when(pl.col(CLIENT_ID).is_in(censored.implode()))
        .then(None)
        .otherwise(pl.col(Clients.CREATED_AT))
        .alias(Clients.CREATED_AT)
    )
    grid_lf = _lazy(grid_clients, cfg.engine)
    grid_lf = grid_lf.with_columns(
        day_number(nw.col(Clients.CREATED_AT), cfg.engine == "polars").alias(CDAY),
        nw.col(CIDX).cast(nw.Int64),
    ).select(CLIENT_ID, CIDX, CDAY)
    grids = {name: (client_week_grid(grid_lf, axis), axis) for name in PROGRESS_STEPS}
    if contact_axis is not axis:
        contact_grid = client_week_grid(grid_lf, contact_axis)
        grids.update({name: (contact_grid, contact_axis) for name in CONTACT_FAMILIES})
    if payments_axis is not axis:  # the payments step only: the subscription terms begin with the data
        grids["payments"] = (client_week_grid(grid_lf, payments_axis), payments_axis)
    usage_axis = usage_base
    if cfg.engine == "polars" and not whole_grid:
        usage_axis = look_back_axis(usage_base, usage_look_back_weeks(cfg))
    if usage_axis is not axis:
        grids["usage"] = (client_week_grid(grid_lf, usage_axis), usage_axis)
    spine_lf = _lazy(keys, cfg.engine)
    spine_lf = spine_lf.with_columns(
        (week_of(day_number(nw.col(SNAPSHOT), cfg.engine == "polars"), axis) - 1).alias(WEEK)
    )
    # the communication family tells mailings from outreach by every client of the dataset, not the spine's:
    # those handed (the whole dataset's, found once by the caller of client batches), else the tables' here
    left_out: dict[str, object] = (
        {
            "clients": _lazy(clients.select(CLIENT_ID, Clients.CREATED_AT), cfg.engine),
            "mailing_share": mailing_share,
            "mailing_min_clients": mailing_min_clients,
        }
        if mailings is None
        else {"mailings": _mailings_lazy(_checked_mailings(mailings), cfg.engine)}
    )
    extra: dict[str, dict[str, object]] = {"communication": left_out}
    if (
        dataset.client_weeks is not None
    ):  # the events' usage aggregates, built by the caller (a client-week store)
        extra["usage"] = {"client_weeks": dataset.client_weeks}
    parts: list[pl.DataFrame] = [keys, *_family_frames(dataset, spine_lf, grids, cfg, progress, extra)]
    table = pl.concat(parts, how="horizontal")
    # columns in registry order; a column the registry does not know is a bug, not data
    registered = feature_specs(cfg)
    unknown = [c for c in feature_columns(table) if c not in registered]
    if unknown:
        raise RuntimeError(f"features: columns missing from the registry: {unknown[:5]}")
    table = resolved_unobserved_windows(table, data_start, cfg, usage_from, contact_from, payments_from)
    table = with_censored_starts(table, censored, payments_from or data_start, cfg)
    # the one feature of two families (users per paid seat), from their resolved columns
    table = with_seat_use(table, cfg)
    # the usage family's distinct counts against the client's own longest window, from their resolved columns
    table = with_recent_shares(table, cfg)
    return table.select(CLIENT_ID, SNAPSHOT, *[n for n in registered if n in table.columns])


def started_with_data(days_after_start: pl.Expr, band_days: int) -> pl.Expr:
    """Whether a start (a client's ``created_at``, its first payment), given as its days after the data's first
    activity (``days_after_start``, negative before it), is left-censored: within ``band_days`` days either
    side of that first activity, where an export whose history begins after its clients did puts the clients it
    already had (a CRM's import date, a shop's log cut at a date whose adapter dates each customer by its
    first order). Such a client may have started long before: its age is "at least the data's", not the days
    since. Outside the band a start is taken as known (a CRM's created_at years before its event log began);
    ``band_days`` 0: never censored. False where the start is null."""
    if band_days <= 0:
        return pl.lit(False)
    return days_after_start.is_between(-band_days, band_days).fill_null(False)


def censored_start_clients(clients: pl.DataFrame, data_start: datetime, band_days: int) -> pl.Series:
    """The ``client_id`` of the clients (one row per client, ``client_id`` and ``created_at``) created within
    ``band_days`` days of ``data_start``: :func:`started_with_data` (``features.censored_start_days``)."""
    after = (
        pl.col(Clients.CREATED_AT).cast(pl.Datetime("us")) - pl.lit(data_start, pl.Datetime("us"))
    ).dt.total_seconds() / 86_400
    return clients.filter(started_with_data(after, band_days)).get_column(CLIENT_ID)


def with_censored_starts(
    table: pl.DataFrame, censored: pl.Series, payments_start: datetime, cfg: FeaturesConfig
) -> pl.DataFrame:
    """``table`` (one row per client x snapshot) with what counts from a left-censored start
    (:func:`started_with_data`, ``features.censored_start_days``) made unknown rather than read as an age:

    - ``account_tenure_censored``: 1 for the clients created at the data's start (``censored``, their
      ``client_id``: :func:`censored_start_clients`), else 0. Their ``account_tenure_days`` is already null:
      :func:`build_features` observes them from the data's start, as clients older than the data.
    - ``payments_days_since_first_payment`` (``features.lifetime``): null where the first payment on record
      falls within the band of the payments log's start (``payments_start``): the days since it count the
      calendar since the log began, not the client's.

    Without it, such a client's "age" is the data's age at the snapshot: in a log that begins 2009-12-01 the
    trees learn the training months' season through it and extend its last months to every older client (Online
    Retail's first cutoff). ``features.censored_start_days: 0``: ``table`` unchanged (no flag column)."""
    band = cfg.censored_start_days
    if band <= 0 or TENURE_CENSORED not in feature_specs(cfg):
        return table
    out = table.with_columns(
        pl.col(CLIENT_ID).is_in(censored.implode()).cast(pl.Float64).alias(TENURE_CENSORED)
    )
    first = "payments_days_since_first_payment"
    if first in out.columns:
        span = (pl.col(SNAPSHOT) - pl.lit(payments_start.date(), pl.Date)).dt.total_days()
        out = out.with_columns(
            pl.when(started_with_data(span - pl.col(first), band))
            .then(None)
            .otherwise(pl.col(first))
            .alias(first)
        )
    return out


def contact_observed_from(dataset: Dataset) -> datetime | None:
    """When the contact logs (communications, tickets) begin
    (:meth:`~churnml.contract.dataset.Dataset.contact_first`), when that is :data:`LATE_TABLE_DAYS` or more
    after the data's first activity (invoices going back years, a helpdesk or CRM adopted later): the
    communication and support families observe the clients from then. None otherwise (they read the
    data's first activity), as :meth:`~churnml.contract.dataset.Dataset.usage_observed_from` for usage."""
    first = dataset.contact_first()
    if first is None or (first - dataset.first_activity()).days < LATE_TABLE_DAYS:
        return None
    return first


def usage_axis_from(axis: WeekAxis, usage_from: datetime | None) -> WeekAxis:
    """The axis of a family whose log may have begun late: ``axis`` itself, or, when it began at
    ``usage_from`` (the usage log: :meth:`~churnml.contract.dataset.Dataset.usage_observed_from`; the contact
    logs: :func:`contact_observed_from`), ``axis`` observed from the week of ``usage_from``: a client created
    before it is observed from then (its rates per week, its onboarding unobserved), as one created before
    the data is observed from the data's start."""
    if usage_from is None:
        return axis
    week = (python_day_number(usage_from) - axis.anchor) // 7
    return WeekAxis(axis.anchor, axis.first_week, axis.last_week, origin_week=max(week, axis.observed_from))


def resolved_unobserved_windows(
    table: pl.DataFrame,
    data_start: datetime,
    cfg: FeaturesConfig,
    usage_from: datetime | None = None,
    contact_from: datetime | None = None,
    payments_from: datetime | None = None,
) -> pl.DataFrame:
    """``table`` with every windowed sum (count or amount over the last ``w`` days) whose window reaches
    back before ``data_start`` (the first activity of the dataset) resolved by
    ``features.unobserved_windows``: "4 orders in the last 182 days" of a dataset 120 days long is not a
    fact but a truncated count, and it would mean something else at later snapshots.

    - ``unknown`` (and an unresolved ``auto``): null; LightGBM reads it as "unknown".
    - ``scaled``: the count over the days the data covers, scaled to the window (``value * w / days``, the
      days from ``data_start`` to the snapshot): the same rate as a full window, so the early snapshots
      of a young dataset read like the later ones. Null at a snapshot with no day of data before it.

    The windows are the data's, not the client's: a client created after ``data_start`` is treated the
    same (its own first order, in a shop, is no sign that it is new). Rates per week, shares, trends and
    the shorter windows stay. ``usage_from``: when the usage log began late
    (:meth:`~churnml.contract.dataset.Dataset.usage_observed_from`), the usage family's windows are
    resolved from it instead; ``contact_from``: when the contact logs began late (:func:`contact_observed_from`),
    the communication and support families' windows; ``payments_from``: when the payments log began late
    (:meth:`~churnml.contract.dataset.Dataset.payments_observed_from`), the windows of the columns computed
    from it (:func:`churnml.features.payments.from_payments_log`; the subscription terms' keep ``data_start``).
    Grain unchanged: one row per client x snapshot.
    """
    specs = feature_specs(cfg)
    windowed: dict[int, list[str]] = {}
    for name in feature_columns(table):
        days = summed_window_days(name, specs)
        if days is not None:
            windowed.setdefault(days, []).append(name)
    if not windowed:
        return table

    def span_of(name: str) -> pl.Expr:
        start = window_observed_from(
            name, specs[name].family, data_start, usage_from, contact_from, payments_from
        )
        return (pl.col(SNAPSHOT) - pl.lit(start.date(), pl.Date)).dt.total_days()

    def resolved(name: str, days: int) -> pl.Expr:
        span = span_of(name)
        whole = pl.when(span >= days).then(pl.col(name))
        if cfg.unobserved_windows == "scaled":
            # distinct users or event kinds do not add up over days: the count over the data, unscaled
            scaled = pl.col(name) if distinct_count(name, specs) else pl.col(name) * days / span
            whole = whole.when(span > 0).then(scaled)
        return whole.otherwise(None).alias(name)

    return table.with_columns(resolved(name, days) for days, names in windowed.items() for name in names)


def window_observed_from(
    name: str,
    family: str,
    data_start: datetime,
    usage_from: datetime | None = None,
    contact_from: datetime | None = None,
    payments_from: datetime | None = None,
) -> datetime:
    """When the window of feature ``name`` (of ``family``) is observed from, as
    :func:`resolved_unobserved_windows` reads it: the payments log's first record for the payment columns of a
    log that began late (``payments_from``), the usage or contact logs' for their families when those began late
    (``usage_from``, ``contact_from``), else ``data_start`` (the data's first activity)."""
    if payments_from is not None and from_payments_log(name):
        return payments_from
    late = {"usage": usage_from, **dict.fromkeys(CONTACT_FAMILIES, contact_from)}
    return late.get(family) or data_start


# features derived from a windowed sum after its window is resolved (with_seat_use): unknown when it is
_WINDOWED_SUM_OF = {"usage_seat_use_": "usage_active_users_"}


def unobserved_window_days(name: str, specs: Mapping[str, FeatureSpec]) -> int | None:
    """The window in days by which :func:`resolved_unobserved_windows` resolves feature ``name``: a windowed
    sum's own (:func:`~churnml.features.registry.summed_window_days`); for the users per seat
    (``usage_seat_use_<w>d``, :func:`~churnml.features.usage.with_seat_use`), that of the user count it
    divides; for a recent share (``usage_users_recent_share``, :func:`~churnml.features.usage.with_recent_shares`),
    the longest window of the count it shares out (before it is whole the share reads a shorter one). None for
    the others (rates, shares, trends: they count the weeks observed)."""
    for derived, source in _WINDOWED_SUM_OF.items():
        if name.startswith(derived):
            return summed_window_days(source + name.removeprefix(derived), specs)
    if name in RECENT_SHARE_OF:
        windows = [summed_window_days(n, specs) for n in specs if n.startswith(RECENT_SHARE_OF[name] + "_")]
        return max((w for w in windows if w is not None), default=None)
    return summed_window_days(name, specs)


def feature_table(name: str, family: str) -> Table | None:
    """The table whose records feature ``name`` of ``family`` counts: the payments family's columns of the
    payments log (:func:`~churnml.features.payments.from_payments_log`) read payments, its other columns the
    subscription terms; the other families their step's table (none for the account family)."""
    if family == "payments" and not from_payments_log(name):
        return Table.SUBSCRIPTIONS
    return {step: table for step, table, _ in _STEPS}.get(family)


def windows_before_logs(
    names: Iterable[str],
    as_of: date,
    dataset: Dataset,
    cfg: FeaturesConfig,
    firsts: Mapping[str, str | None] | None = None,
) -> list[dict[str, Any]]:
    """Of ``names`` (features missing for every client scored at ``as_of``), those that
    :func:`resolved_unobserved_windows` leaves unknown because their window reaches back before the day the
    table they read is observed from (the first record of a log that began late, else the data's first
    activity): under ``features.unobserved_windows: unknown`` a window longer than the days since, under
    ``scaled`` a table with no day observed before ``as_of``. A back-dated list's 182-day usage counts of a
    usage log that began 161 days before it are such, not data that ends before the as-of date.

    Grain: one record per table and window, in the order of ``names``: ``table``, ``first_record`` (its first
    timestamp, ``firsts[table]``: :func:`~churnml.contract.validation.table_spans`' ``first``, else the day its
    window is observed from), ``window_days``, ``window_from`` (``as_of`` less the window), ``known_from`` (the
    first as-of date at which the window is observed whole; under ``scaled``, the day after the table's
    observed start), ``features``. ISO dates. Empty when no feature of ``names`` is so."""
    specs = feature_specs(cfg)
    data_start = dataset.first_activity()
    starts = (dataset.usage_observed_from(), contact_observed_from(dataset), dataset.payments_observed_from())
    scaled = cfg.unobserved_windows == "scaled"
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for name in names:
        spec = specs.get(name)
        days = unobserved_window_days(name, specs)
        table = None if spec is None else feature_table(name, spec.family)
        if spec is None or days is None or table is None:
            continue
        start = window_observed_from(name, spec.family, data_start, *starts).date()
        span = (as_of - start).days
        if span >= days or (scaled and span > 0):
            continue
        first = (firsts or {}).get(str(table)) or start.isoformat()
        record = out.setdefault(
            (str(table), days),
            {
                "table": str(table),
                "first_record": first[:10],
                "window_days": days,
                "window_from": (as_of - timedelta(days=days)).isoformat(),
                "known_from": (start + timedelta(days=1 if scaled else days)).isoformat(),
                "features": [],
            },
        )
        record["features"].append(name)
    return list(out.values())


def _spine_weeks(spine_lf: nw.LazyFrame) -> list[int]:
    """The distinct grid weeks of the spine's rows (a handful: one per snapshot)."""
    weeks = spine_lf.select(WEEK).unique().collect(backend="polars").to_native()
    return sorted(int(w) for w in weeks.get_column(WEEK).to_list())


def _family_frame(
    dataset: Dataset,
    spine_lf: nw.LazyFrame,
    weeks: list[int],
    step: tuple[str, Table | None, Family],
    grid: nw.LazyFrame,
    axis: WeekAxis,
    cfg: FeaturesConfig,
    extra: dict[str, object] | None = None,
) -> pl.DataFrame | None:
    """One family's collected features on ``grid`` (None when its table is absent), rows in spine order;
    ``extra``: the family's keyword arguments beyond the common ones."""
    _, table, fn = step
    if table is None:
        source = dataset.tables.get(Table.SIGNALS)
        lf = None if source is None else _lazy(contract_columns(source, Table.SIGNALS), cfg.engine)
    else:
        source = dataset.tables.get(table)
        if source is None:
            return None
        lf = _lazy(contract_columns(source, table), cfg.engine)
    # Polars: shifts over the dense grid as one ordered shift (see _grid.dense_shifts); Spark: the frames the
    # family reads more than once cached until it is collected (_grid.released_spark_caches)
    with dense_shifts(axis.first_week if cfg.engine == "polars" else None), released_spark_caches():
        if table is Table.TICKETS:  # a cancellation request withdrawn since (a signal) counts no more
            signals = dataset.tables.get(Table.SIGNALS)
            withdrawals = (
                None if signals is None else _lazy(contract_columns(signals, Table.SIGNALS), cfg.engine)
            )
            fam = fn(lf, grid, axis, cfg, withdrawals)
        else:
            fam = fn(lf, grid, axis, cfg, **(extra or {}))
        # only the spine's weeks leave the family (the grid's other weeks served the windows)
        at_spine = fam.filter(nw.col(WEEK).is_in(weeks))
        joined = (
            spine_lf.join(at_spine, on=[CLIENT_ID, WEEK], how="left")
            .sort(SNAPSHOT, CLIENT_ID)
            .drop(CLIENT_ID, SNAPSHOT, WEEK)
        )
        frame = _collect(joined)
    return frame.select(pl.all().cast(pl.Float64))


def _family_frames(
    dataset: Dataset,
    spine_lf: nw.LazyFrame,
    grids: dict[str, tuple[nw.LazyFrame, WeekAxis]],
    cfg: FeaturesConfig,
    progress: Callable[[str], None] | None,
    extra: dict[str, dict[str, object]] | None = None,
) -> list[pl.DataFrame]:
    """One collected frame of features per family whose table is present, rows in spine order; each
    family on its grid and axis of ``grids`` (keyed by step name), with its keyword arguments of ``extra``
    (keyed by step name too)."""
    parts: list[pl.DataFrame] = []
    weeks = _spine_weeks(spine_lf)
    for step in _STEPS:
        grid, axis = grids[step[0]]
        frame = _family_frame(dataset, spine_lf, weeks, step, grid, axis, cfg, (extra or {}).get(step[0]))
        if frame is not None:
            parts.append(frame)
        if progress:
            progress(step[0])
    return parts
