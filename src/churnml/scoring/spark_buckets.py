"""The weekly list's per-client work on Spark executors, one client bucket at a time, and its assembly.

Every table (the events as :func:`churnml.scoring.spark.scoring_events` ships them) is cut into client
buckets (:func:`churnml.scoring.spark.bucket_blobs`); an executor task gets every blob of its buckets and
runs the Polars code of ``churnml score`` (:mod:`churnml.scoring.window`, :mod:`churnml.features`,
:mod:`churnml.scoring.assemble`) on those clients only, in two passes:

1. :func:`bucket_features` (:func:`feature_partition`) -- the events the features read and the portfolio
   view of the events, as the Polars path cuts them for a client batch; the listed spine (clients active
   at each history snapshot, listed at the as-of date and not gone); the features of every (client,
   history snapshot), with the whole dataset's dates. Out: the feature rows, this week's of them (the
   driver computes the portfolio's reference levels from those), the portfolio view and the clients'
   usage ratios this week and last week (:func:`bucket_usage_ratios`: the driver takes the portfolio's
   median, which ``usage_drop`` reads in every bucket);
2. :func:`bucket_scores` (:func:`score_partition`) -- from the tables, the portfolio view, the feature
   rows and last week's history of the bucket: probabilities of every snapshot (the health history),
   value, keep flags, rules, zones with hysteresis, last week's zone, CRM views, drivers, family health
   and why-changed. A client's season's pause (:func:`churnml.scoring.rules.season_pauses`: its term_state, and
   no days since its last order cited) is read there too, from the bucket's own orders: it is the client's.

Everything there is a function of one client's rows, but for two portfolio figures the driver computes
between the passes and ships with the bucket pass: the reference levels that decide which drivers may be
cited (this week's medians) and the portfolio's usage ratio ``usage_drop`` reads (this week's and last
week's, :attr:`BucketContext.usage_ratios`). What else needs the whole portfolio runs after, on the driver,
on the small per-client result (:func:`assembled_scores`): value tiers (quantiles) and priorities (ranks),
``score.explain_limit``, the actions (they read the tier), the feature drift and the column order of the
list. ``score.zones.method = capacity`` ranks the portfolio into zones and is refused on Spark.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl

from churnml.config import FeaturesConfig, LabelConfig, PlaybooksConfig, RulesConfig, ScoreConfig, ValueConfig
from churnml.contract.dataset import Dataset
from churnml.contract.schemas import CLIENT_ID, CONTRACT, SNAPSHOT, Clients, Communications, Table
from churnml.scoring.columns import Scores
from churnml.scoring.crm import EARLY_RENEWAL_SHARE
from churnml.scoring.outputs import History

__all__ = [
    "BucketContext",
    "assembled_scores",
    "bucket_dataset",
    "bucket_features",
    "bucket_scores",
    "bucket_usage_ratios",
    "bucket_usage_start",
    "driver_mailings",
    "feature_partition",
    "grouped_blobs",
    "score_partition",
]

FEATURES, NOW, VIEW, RATIOS = "_features", "_now", "_view", "_ratios"
KNOWN, LIST, HISTORY = "_known", "_list", "_history"
# prefixes of the per-client result's column groups (split again on the driver)
_KEEP, _FIRED, _VIEWS, _INFO, _DRIVERS, _ARR, _CLIENT, _S = "k|", "f|", "v|", "i|", "d|", "a|", "c|", "s|"


@dataclass(frozen=True)
class BucketContext:
    """What every executor task needs besides its blobs (pickled with the task): the dates, the dataset's
    facts, the model and the settings."""

    as_of: date
    prev_date: date
    todo: tuple[date, ...]  # the history snapshots scored now
    reused: frozenset[date]  # the history snapshots taken from last week's file
    name: str
    start: datetime
    data_as_of: datetime
    activity_start: datetime
    label: LabelConfig
    features: FeaturesConfig
    score: ScoreConfig
    value: ValueConfig
    rules: RulesConfig
    model: Any = None
    names: tuple[str, ...] = ()
    reference: np.ndarray | None = None  # this week's reference levels (portfolio medians)
    age_reference: np.ndarray | None = None  # and per age band (explain.age_band_levels)
    present: tuple[str, ...] = ()  # the dataset's tables: a bucket without rows of one gets it empty
    windowed: bool = False  # events shipped as scoring.spark.scoring_events (else every event)
    events_start: datetime | None = None  # when the usage log begins (Dataset.events_first)
    contact_start: datetime | None = None  # when the contact logs begin (Dataset.contact_first)
    payments_start: datetime | None = None  # when the payments log begins (Dataset.payments_first)
    terms_start: datetime | None = None  # when the first subscription term began (Dataset.terms_first)
    # the whole portfolio's usage ratio this week and last week (rules.portfolio_usage_ratio over every
    # client's bucket_usage_ratios, on the driver after the feature pass): usage_drop reads it in every
    # bucket (None: each bucket its own, as before the driver knows it)
    usage_ratios: tuple[float | None, float | None] = (None, None)
    # data.early_renewal_share: how early a renewal booked ahead may start (client_standing's readers of bookings)
    early_renewal_share: float = EARLY_RENEWAL_SHARE
    # the whole dataset's mailings, [day, channel] (driver_mailings, on the driver before the feature pass): the
    # communication features of every bucket leave them out (None: each bucket finds its own, within its
    # clients, as before the driver knows them: a bucket of under rules.mailing_min_clients clients finds none)
    mailings: pl.DataFrame | None = None
    # the day the usage windows are observed from (Dataset.usage_windows_from of the whole dataset's dates), read
    # once on the driver as the Polars list reads it once: usage_drop's ratios this week and last week and
    # client_standing take it (None: each pass reads it, once, from its bucket's dataset, of the same dates)
    usage_start: date | None = None


def grouped_blobs(rows: Iterable[tuple[int, str, bytes]]) -> dict[int, dict[str, list[bytes]]]:
    """Blobs by bucket and kind."""
    out: dict[int, dict[str, list[bytes]]] = {}
    for bucket, kind, blob in rows:
        out.setdefault(int(bucket), {}).setdefault(str(kind), []).append(blob)
    return out


def _frame(blobs: list[bytes]) -> pl.DataFrame:
    from churnml.scoring.spark import frame_of_blob

    return pl.concat([frame_of_blob(b) for b in blobs], how="vertical_relaxed")


def bucket_dataset(blobs: Mapping[str, list[bytes]], ctx: BucketContext) -> Dataset:
    """The dataset of one bucket's clients, typed as :func:`churnml.contract.io.read_dataset` types it, with
    the whole dataset's dates (so features and labels do not depend on the bucket)."""
    from churnml.contract.validation import compact_table

    tables: dict[Table, pl.DataFrame] = {}
    for kind, parts in blobs.items():
        if kind in {t.value for t in Table}:
            table = Table(kind)
            tables[table] = compact_table(_frame(parts), CONTRACT[table])
    for name in {*ctx.present, Table.CLIENTS.value}:
        table = Table(name)
        if table not in tables:  # present in the dataset, no rows of this bucket's clients
            tables[table] = compact_table(
                pl.DataFrame(schema={s.name: _polars(s.kind) for s in CONTRACT[table].columns}),
                CONTRACT[table],
            )
    return Dataset(
        tables,
        ctx.name,
        ctx.start,
        ctx.data_as_of,
        activity_start=ctx.activity_start,
        events_start=ctx.events_start,
        contact_start=ctx.contact_start,
        payments_start=ctx.payments_start,
        terms_start=ctx.terms_start,
    )


def _polars(kind: Any) -> pl.DataType:
    from churnml.contract.schemas import POLARS_TYPE

    return POLARS_TYPE[kind]


def bucket_features(
    dataset: Dataset, ctx: BucketContext, known: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """(feature table, portfolio view of the events or None) of one bucket, as ``churnml score`` computes
    them for a client batch (:mod:`churnml.jobs.score_data`).

    ``dataset``: every row of the bucket's clients of every table, its events those of
    :func:`churnml.scoring.spark.scoring_events` when ``ctx.windowed`` (else every event). Windowed: the
    events' marks and the portfolio view that the spine and the whole-portfolio steps read
    (:func:`~churnml.scoring.window.portfolio_view`) and the events the features read (:func:`~churnml.scoring.window.needed_events`). The feature table: one row per listed
    client of the bucket x history snapshot of ``ctx.todo`` where it was active, and of ``ctx.reused`` for a
    listed client without rows in ``known`` (last week's history rows of the bucket; None: none), as
    :func:`~churnml.scoring.assemble.listed_spine` plans it (``client_id``, ``snapshot`` as a Date, every
    feature), from :func:`churnml.features.build_features` with the whole dataset's dates (empty when the
    bucket lists nobody)."""
    from churnml.features import build_features
    from churnml.scoring.assemble import listed_spine
    from churnml.scoring.window import event_marks, needed_events, portfolio_view, scoring_window

    view = None
    featured, listing = dataset, dataset
    if ctx.windowed:
        events = dataset.tables[Table.EVENTS].lazy()
        clients = dataset.tables[Table.CLIENTS]
        window = scoring_window(ctx.as_of, list(ctx.todo), ctx.features)
        marks, view = portfolio_view(
            events,
            clients,
            window,
            ctx.as_of,
            ctx.features,
            ctx.score,
            ctx.rules,
            activity_events=ctx.label.activity_events,
        )
        listing = dataset.with_tables(events=view)
    spine, _ids = listed_spine(listing, list(ctx.todo), ctx.as_of, ctx.label, known=known, reused=ctx.reused)
    if spine.height == 0:  # the bucket lists nobody: no features (build_features refuses an empty spine)
        return spine.with_columns(pl.col(SNAPSHOT).cast(pl.Date)), view
    if ctx.windowed:
        # a client back after a churn is scored at the reused weeks too: the events from there on
        wide = scoring_window(ctx.as_of, spine.get_column(SNAPSHOT).unique().to_list(), ctx.features)
        if wide.start < window.start:
            window = wide
            marks = event_marks(events, window, ctx.as_of, ctx.features, ctx.label.activity_events).collect()
        needed = needed_events(events, marks, clients, window, ctx.features).collect()
        featured = dataset.with_tables(events=needed)
    # on the executors the features run on Polars whatever features.engine says (spark: this job)
    table = build_features(
        featured,
        spine,
        ctx.features.model_copy(update={"engine": "polars"}),
        mailing_share=ctx.rules.mailing_share,
        mailing_min_clients=ctx.rules.mailing_min_clients,
        mailings=ctx.mailings,
    )
    return table.with_columns(pl.col(SNAPSHOT).cast(pl.Date)), view


def driver_mailings(tables: Mapping[Table, Any], rules: RulesConfig) -> pl.DataFrame:
    """``[day, channel]``: the mailings of the whole dataset (:func:`churnml.features.communication.mailing_calendar`
    of the Spark ``tables``' communications and clients, with ``rules.mailing_share`` and
    ``rules.mailing_min_clients``), found by Spark SQL and collected on the driver (a few rows), for
    :attr:`BucketContext.mailings`; no rows without a communications table."""
    import narwhals as nw

    from churnml.features.communication import MAILING_DAY, mailing_calendar

    comm = tables.get(Table.COMMUNICATIONS)
    if comm is None:
        return pl.DataFrame(schema={MAILING_DAY: pl.Date, Communications.CHANNEL: pl.String})
    clients = nw.from_native(tables[Table.CLIENTS]).select(CLIENT_ID, Clients.CREATED_AT)
    return mailing_calendar(nw.from_native(comm), clients, rules.mailing_share, rules.mailing_min_clients)


def bucket_usage_start(dataset: Dataset, ctx: BucketContext) -> date:
    """The day the usage windows are observed from: the driver's (``ctx.usage_start``), else read from the bucket's
    ``dataset`` (:meth:`~churnml.contract.dataset.Dataset.usage_windows_from`; its dates are the whole dataset's,
    :func:`bucket_dataset`)."""
    return ctx.usage_start if ctx.usage_start is not None else dataset.usage_windows_from().date()


def bucket_usage_ratios(dataset: Dataset, features: pl.DataFrame, ctx: BucketContext) -> pl.DataFrame:
    """``[client_id, snapshot, _ratio, _recent, _usual]``: :func:`churnml.scoring.rules.client_usage_ratios` of the bucket's
    listed clients this week and last week, from the model's features (what the scoring pass hands the
    rules) and ``dataset`` as the scoring pass reads it (the returns)."""
    from churnml.scoring.rules import client_usage_ratios

    model = [c for c in ctx.names if c in features.columns]  # a missing one is the driver's error to say
    start = bucket_usage_start(dataset, ctx)  # the whole dataset's dates: the same both weeks
    parts = [
        client_usage_ratios(
            features.filter(pl.col(SNAPSHOT) == day).select(CLIENT_ID, *model),
            ctx.rules,
            dataset.tables,
            day,
            ctx.label.grace_days,
            start,
        ).select(CLIENT_ID, pl.lit(day, pl.Date).alias(SNAPSHOT), "_ratio", "_recent", "_usual")
        for day in (ctx.as_of, ctx.prev_date)
    ]
    return pl.concat(parts)


def feature_partition(ctx: BucketContext) -> Any:
    """The ``mapInPandas`` function of the feature pass: blobs of whole buckets in (every table, and last
    week's reused history rows ``KNOWN``: who of the bucket is scored at the reused weeks too), per
    bucket listing somebody: its feature rows (``FEATURES``), this week's of them (``NOW``), its clients'
    usage ratios (``RATIOS``, :func:`bucket_usage_ratios`) and, windowed, the portfolio view of its events
    (``VIEW``)."""
    import pandas as pd

    from churnml.scoring.spark import BLOB, BUCKET, KIND, _ipc

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        rows = [r for b in batches for r in zip(b[BUCKET], b[KIND], b[BLOB], strict=True)]
        for bucket, blobs in sorted(grouped_blobs(rows).items()):
            dataset = bucket_dataset(blobs, ctx)
            known = (
                _frame(blobs[KNOWN]).with_columns(pl.col(SNAPSHOT).cast(pl.Date)) if KNOWN in blobs else None
            )
            features, view = bucket_features(dataset, ctx, known)
            if features.height == 0:
                continue
            now = features.filter(pl.col(SNAPSHOT) == ctx.as_of)
            # the scoring pass reads the portfolio view as the events, when windowed
            scored = dataset if view is None else dataset.with_tables(events=view)
            ratios = bucket_usage_ratios(scored, features, ctx)
            out = {FEATURES: features, NOW: now, RATIOS: ratios, **({VIEW: view} if view is not None else {})}
            yield pd.DataFrame(
                {
                    BUCKET: [bucket] * len(out),
                    KIND: list(out),
                    BLOB: [_ipc(frame.to_arrow()) for frame in out.values()],
                }
            )

    return run


def bucket_scores(
    dataset: Dataset, features: pl.DataFrame, known: pl.DataFrame | None, ctx: BucketContext
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(per-client result, health history) of one bucket; the result holds, per listed client of the
    bucket (sorted by ``client_id``), every column :func:`assembled_scores` needs, by group prefix.

    ``features``: the bucket's feature rows (client x history snapshot); ``known``: last week's history
    rows of the bucket's clients at ``ctx.reused`` snapshots (or None)."""
    from churnml.scoring.assemble import probabilities_in_chunks
    from churnml.scoring.explain import health_score
    from churnml.scoring.standing import PreviousWeek, client_standing, health_history

    names = list(ctx.names)
    table = features.select(CLIENT_ID, pl.col(SNAPSHOT).cast(pl.Date), *names).sort(SNAPSHOT, CLIENT_ID)
    probs = table.select(CLIENT_ID, SNAPSHOT).with_columns(
        pl.Series(History.PROBABILITY, probabilities_in_chunks(ctx.model, table, names))
    )
    now = table.filter(pl.col(SNAPSHOT) == ctx.as_of).sort(CLIENT_ID)
    prev = table.filter(pl.col(SNAPSHOT) == ctx.prev_date).sort(CLIENT_ID)
    at = probs.sort(CLIENT_ID)
    p_now = at.filter(pl.col(SNAPSHOT) == ctx.as_of).get_column(History.PROBABILITY).to_numpy()
    p_prev = at.filter(pl.col(SNAPSHOT) == ctx.prev_date).get_column(History.PROBABILITY).to_numpy()
    ids = now.get_column(CLIENT_ID).to_list()
    previous = PreviousWeek(ctx.prev_date, prev.get_column(CLIENT_ID).to_list(), p_prev, {})
    empty_known = pl.DataFrame(schema={History.CLIENT_ID: pl.String, History.SNAPSHOT: pl.Date})
    history = health_history(probs, known if known is not None else empty_known, set(ctx.reused), ids)
    cfgs = {
        "label": ctx.label,
        "features": ctx.features,
        "score": ctx.score,
        "value": ctx.value,
        "rules": ctx.rules,
    }
    standing = client_standing(
        dataset,
        ids,
        p_now,
        previous,
        history,
        ctx.as_of,
        **cfgs,
        features_now=now,
        features_prev=prev,
        usage_ratios=ctx.usage_ratios,
        early_renewal_share=ctx.early_renewal_share,
        usage_start=bucket_usage_start(dataset, ctx),
        judge_keep=False,  # the driver does, against the whole list's stakes (assembled_scores)
    )
    health = health_score(p_now)
    reasons = _bucket_reasons(dataset, ids, now, prev, p_now, standing, health, ctx)
    return _result_frame(ids, p_now, standing, reasons, dataset), history


def _bucket_reasons(
    dataset: Dataset,
    ids: list[str],
    now: pl.DataFrame,
    prev: pl.DataFrame,
    p_now: np.ndarray,
    standing: Any,
    health: np.ndarray,
    ctx: BucketContext,
) -> Any:
    """:func:`churnml.scoring.reasons.list_reasons` for every client of the bucket, citing drivers against
    the portfolio's reference levels (``ctx.reference``) rather than the bucket's (``score.explain_limit``
    is applied on the driver, over the whole list)."""
    from churnml.modeling.train import feature_matrix
    from churnml.scoring.reasons import list_reasons

    names = list(ctx.names)
    return list_reasons(
        ctx.model,
        dataset,
        ctx.as_of,
        ids,
        feature_matrix(now, names),
        prev,
        p_now,
        standing,
        health,
        names,
        ctx.features,
        ctx.score,
        reference=ctx.reference,
        age_reference=ctx.age_reference,
        chosen=np.arange(len(ids)),
    )


def _prefixed(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    return frame.drop(CLIENT_ID, strict=False).rename(lambda c: prefix + c)


def _result_frame(
    ids: list[str], p_now: np.ndarray, standing: Any, reasons: Any, dataset: Dataset
) -> pl.DataFrame:
    """One row per client of ``ids``: the pieces of ``Standing`` and ``Reasons`` by group prefix; beside the
    ARR, each client's plan (``Standing.plans``, :func:`churnml.scoring.value.client_plans`), so that the driver
    values the trials against the paying clients of the whole list, and in place of the keep flag what it
    weighs (``Standing.keep_seeds``, :func:`churnml.scoring.value.keep_inputs`), so that the driver weighs a
    trial's tickets against that value (:func:`churnml.scoring.value.keep_verdicts`)."""
    clients = dataset.tables[Table.CLIENTS]
    extra = [c for c in (Clients.MARGIN, Clients.STRATEGIC) if c in clients.columns]
    own = pl.DataFrame({CLIENT_ID: ids}, schema={CLIENT_ID: pl.String}).join(
        clients.select(CLIENT_ID, *extra), on=CLIENT_ID, how="left", maintain_order="left"
    )
    state = pl.DataFrame(
        {
            "p": p_now,
            "model_zone": standing.model_zone,
            "zone": standing.zone,
            "raised_by": standing.raised_by,
            "zone_changes": pl.Series(standing.zone_changes, dtype=pl.Int64),
            "previous_zone": pl.Series(standing.previous_zone, dtype=pl.String),
            "previous_probability": pl.Series(standing.previous_probability, dtype=pl.Float64),
            "why_changed": pl.Series(reasons.why_changed, dtype=pl.String),
            **{f"health|{f}": s for f, s in reasons.family_health.items()},
        },
        schema_overrides={"p": pl.Float64},
    )
    return pl.concat(
        [
            pl.DataFrame({CLIENT_ID: ids}, schema={CLIENT_ID: pl.String}),
            _prefixed(state, _S),
            _prefixed(
                standing.valued.select(CLIENT_ID, Scores.ARR).join(
                    standing.plans,
                    on=CLIENT_ID,
                    how="left",
                    maintain_order="left",
                ),
                _ARR,
            ),
            _prefixed(own, _CLIENT),
            _prefixed(standing.keep_seeds, _KEEP),  # judged on the driver, a trial at its conversion
            _prefixed(standing.fired, _FIRED),
            _prefixed(standing.views, _VIEWS),
            _prefixed(standing.info, _INFO),
            _prefixed(reasons.drivers, _DRIVERS),
        ],
        how="horizontal",
    )


def score_partition(ctx: BucketContext) -> Any:
    """The ``mapInPandas`` function of the scoring pass: blobs of whole buckets in (every table but, when
    windowed, the events replaced by their portfolio view; the feature rows; last week's history), per
    bucket two blobs out: the per-client result and the history."""
    import pandas as pd

    from churnml.scoring.spark import BLOB, BUCKET, KIND, _ipc

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        rows = [r for b in batches for r in zip(b[BUCKET], b[KIND], b[BLOB], strict=True)]
        for bucket, blobs in sorted(grouped_blobs(rows).items()):
            features = _frame(blobs.pop(FEATURES, []))
            known = (
                _frame(blobs.pop(KNOWN)).with_columns(pl.col(SNAPSHOT).cast(pl.Date))
                if KNOWN in blobs
                else None
            )
            view = _frame(blobs.pop(VIEW)) if VIEW in blobs else None
            if features.height == 0 or not (features.get_column(SNAPSHOT) == ctx.as_of).any():
                continue
            dataset = bucket_dataset(blobs, ctx)
            dataset = dataset if view is None else dataset.with_tables(events=view)
            result, history = bucket_scores(dataset, features, known, ctx)
            yield pd.DataFrame(
                {
                    BUCKET: [bucket, bucket],
                    KIND: [LIST, HISTORY],
                    BLOB: [_ipc(result.to_arrow()), _ipc(history.to_arrow())],
                }
            )

    return run


def _group(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    cols = [c for c in frame.columns if c.startswith(prefix)]
    return frame.select(CLIENT_ID, *[pl.col(c).alias(c.removeprefix(prefix)) for c in cols])


def assembled_scores(
    parts: list[pl.DataFrame],
    as_of: date,
    *,
    label: LabelConfig,
    score: ScoreConfig,
    value: ValueConfig,
    playbooks: PlaybooksConfig,
    data_start: datetime | None = None,
) -> pl.DataFrame:
    """The weekly list (columns, grain and order of :func:`churnml.scoring.assemble.scored_list`) from the
    buckets' per-client results: the portfolio-wide steps (value tiers, priorities, keep flags against the
    values, explain limit, actions, column order) on the driver. ``data_start``: when the data begins (the
    keep flag's ticket window said over its days when shorter, :func:`churnml.scoring.value.ticket_window_words`)."""
    from churnml.scoring.assemble import assembled_list, list_plays
    from churnml.scoring.explain import FAMILIES, health_score
    from churnml.scoring.reasons import Reasons, explained_rows, scattered_rows, scattered_values
    from churnml.scoring.standing import PreviousWeek, Standing
    from churnml.scoring.value import keep_verdicts, ticket_window_words, value_table, zone_priority

    frame = pl.concat(parts, how="vertical_relaxed").sort(CLIENT_ID)
    ids = frame.get_column(CLIENT_ID).to_list()
    s = _group(frame, _S)
    p_now = s.get_column("p").to_numpy()
    base = pl.DataFrame(
        {CLIENT_ID: ids, Scores.PROBABILITY: p_now},
        schema={CLIENT_ID: pl.String, Scores.PROBABILITY: pl.Float64},
    )
    zone = s.get_column("zone").to_list()
    valued = zone_priority(
        value_table(base, _group(frame, _CLIENT), _group(frame, _ARR), label.horizon_days, value),
        zone,
        score.zones,
        [bool(r) for r in s.get_column("raised_by").to_list()],
    )
    window = ticket_window_words(data_start, as_of, value.toxic_days)
    standing = Standing(
        valued=valued,
        keep=keep_verdicts(_group(frame, _KEEP), valued, value, score.currency, window),
        fired=_group(frame, _FIRED),
        views=_group(frame, _VIEWS),
        info=_group(frame, _INFO),
        model_zone=s.get_column("model_zone").to_list(),
        zone=zone,
        raised_by=s.get_column("raised_by").to_list(),
        zone_changes=s.get_column("zone_changes").to_list(),
        previous=PreviousWeek(as_of, [], np.zeros(0), {}),
        previous_zone=s.get_column("previous_zone").to_list(),
        previous_probability=s.get_column("previous_probability").to_list(),
    )
    drivers = _group(frame, _DRIVERS).drop(CLIENT_ID)
    family = {f: s.get_column(f"health|{f}") for f in FAMILIES}
    why = s.get_column("why_changed").to_list()
    explained = np.ones(len(ids), dtype=bool)
    chosen = explained_rows(standing.zone, valued.get_column(Scores.PRIORITY).to_numpy(), score.explain_limit)
    if len(chosen) < len(ids):  # score.explain_limit: the first N by zone and priority keep their reasons
        drivers = scattered_rows(drivers[chosen], chosen, len(ids))
        family = {f: scattered_values(v.to_numpy()[chosen], chosen, len(ids)) for f, v in family.items()}
        keep = set(chosen.tolist())
        why = [w if i in keep else None for i, w in enumerate(why)]
        explained = np.isin(np.arange(len(ids)), chosen)
    reasons = Reasons(drivers, family, why, explained)
    health = health_score(p_now)
    plays = list_plays(standing, reasons, playbooks)
    return assembled_list(as_of, standing, health, reasons, plays, playbooks)
