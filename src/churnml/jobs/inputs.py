"""The inputs the modeling jobs (train, tune, bench) share: the labeled feature table, the oracle of
generated data, tuned parameters. These read files; the modeling itself never does."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnml.config import Config
from churnml.contract.schemas import CLIENT_ID

__all__ = [
    "BEST_PARAMS_FILE",
    "HAZARD_FILE",
    "data_notes",
    "event_name_counts",
    "event_names",
    "labeled_table",
    "no_truth_note",
    "read_tuned_params",
    "repeated_rows_note",
    "subscriptions_of",
    "truth_oracle",
]

HAZARD_FILE = "hazard.parquet"
BEST_PARAMS_FILE = "best_params.json"


def tune_folder(root: Path, dataset_name: str) -> Path:
    """Where ``churnml tune`` keeps one dataset's Optuna study and best parameters: ``<paths.tune>/<dataset
    name>/`` (``data.name``, else the folder's), so tuning or training a second dataset in the same project never resumes, nor trains
    with, the first one's study."""
    return Path(root) / dataset_name


def read_tuned_params(cfg: Config, dataset_name: str) -> tuple[dict[str, Any], Path | None]:
    """Tuned params from ``train.params_file`` (must exist) or, if any, the dataset's own
    ``<paths.tune>/<dataset>/best_params.json`` (:func:`tune_folder`)."""
    path = cfg.train.params_file or (tune_folder(cfg.paths.tune, dataset_name) / BEST_PARAMS_FILE)
    if not Path(path).is_file():
        if cfg.train.params_file is not None:
            raise FileNotFoundError(f"train.params_file {path} does not exist")
        return {}, None
    payload = json.loads(Path(path).read_text())
    params = payload.get("params", payload) if isinstance(payload, dict) else {}
    return dict(params), Path(path)


def event_names(dataset: Any, folder: Path | None = None) -> dict[str, tuple[int, Any]]:
    """Per event name of the dataset's ``events`` table: (its rows, its first time); when the dataset
    holds no tables (a portfolio read batch by batch), of the folder's ``events.parquet`` through a lazy
    scan of those two columns. Empty without events."""
    import polars as pl

    from churnml.contract.io import dataset_files
    from churnml.contract.schemas import Events, Table

    frame = dataset.tables.get(Table.EVENTS)
    path = None if dataset.tables or folder is None else dataset_files(Path(folder)).get(Table.EVENTS)
    if frame is not None:
        lf = frame.lazy()
    elif path is not None and path.name.endswith(".parquet"):
        lf = pl.scan_parquet(path)
    else:
        return {}
    names = lf.group_by(Events.EVENT).agg(pl.len(), pl.col(Events.TS).min()).collect()
    return {str(k): (int(n), first) for k, n, first in names.iter_rows() if k is not None}


def _events_began(dataset: Any, firsts: dict[str, Any]) -> Any:
    """When the usage log began: the dataset's first event, else the earliest of the event names' firsts
    (a portfolio read batch by batch), else the dataset's start. A log that began years after the invoices
    makes no kind new."""
    began = dataset.events_first()
    if began is None:
        times = [t for t in firsts.values() if t is not None]
        began = min(times) if times else dataset.start
    return began


def event_name_counts(dataset: Any, folder: Path | None = None) -> dict[str, int]:
    """Rows per event name (:func:`event_names`)."""
    return {name: n for name, (n, _) in event_names(dataset, folder).items()}


def subscriptions_of(dataset: Any, folder: Path | None, cfg: Config) -> Any:
    """The dataset's validated ``subscriptions`` table (a small table); when the dataset holds no tables
    (a portfolio read batch by batch), read from ``folder``; None without one."""
    from churnml.contract.io import dataset_files, read_tables
    from churnml.contract.schemas import Table

    frame = dataset.tables.get(Table.SUBSCRIPTIONS)
    if frame is not None or dataset.tables or folder is None:
        return frame
    path = dataset_files(Path(folder)).get(Table.SUBSCRIPTIONS)
    return (
        None if path is None else read_tables({Table.SUBSCRIPTIONS: path}, cfg.data)[0][Table.SUBSCRIPTIONS]
    )


def notices_recorded(dataset: Any, folder: Path | None, cfg: Config) -> int:
    """How many ``cancellation_request`` rows the dataset's ``tickets`` hold (the notices recorded where
    churnml reads them); when the dataset holds no tables (a portfolio read batch by batch), read from
    ``folder``. 0 without a tickets table."""
    import polars as pl

    from churnml.contract.io import dataset_files, read_tables
    from churnml.contract.schemas import Table, Tickets

    frame = dataset.tables.get(Table.TICKETS)
    if frame is None and not dataset.tables and folder is not None:
        path = dataset_files(Path(folder)).get(Table.TICKETS)
        frame = None if path is None else read_tables({Table.TICKETS: path}, cfg.data)[0][Table.TICKETS]
    if frame is None or Tickets.KIND not in frame.columns:
        return 0
    return frame.filter(pl.col(Tickets.KIND).cast(pl.String) == "cancellation_request").height


# tables up to this many rows are checked for rows repeated in every column (a hash of every row)
_REPEATS_CHECKED_ROWS = 5_000_000


def repeated_rows_note(frame: Any, table: Any) -> str | None:
    """A note when rows of ``table`` repeat another row in every column (an export appended twice, or
    a logger that writes an event twice): kept and counted as they are, so they inflate counts. None when
    there is none."""
    n = int(frame.height - frame.unique().height)
    if n == 0:
        return None
    return (
        f"{table}: {n:,} row{'s' if n > 1 else ''} ({n / frame.height:.1%}) repeat{'' if n > 1 else 's'} another "
        f"row in every column; {'they are' if n > 1 else 'it is'} kept and counted as {'they are' if n > 1 else 'it is'} "
        "(if an export was appended twice, remove the copy)"
    )


def _training_moved(dataset: Any, cfg: Config) -> bool:
    """Whether training's snapshots start later than the data's grid (:func:`churnml.pipeline.training_snapshots`:
    the behaviour logs began late); False when the data is too short for a grid at all."""
    from churnml.pipeline import training_snapshots

    try:
        return (
            training_snapshots(dataset, cfg.snapshots, cfg.label)[:1]
            != training_snapshots(dataset, cfg.snapshots)[:1]
        )
    except ValueError:  # no snapshot in the data at all: train says so itself
        return False


def dated_tables(
    dataset: Any, folder: Path | None, cfg: Config, event_firsts: Mapping[str, Any]
) -> Mapping[Any, Any]:
    """The tables whose first records say when each log begins (:func:`churnml.labels.late_behaviour_note`):
    the dataset's own; when it holds no tables (a portfolio read batch by batch), every table of ``folder``
    but the events read whole (small tables), and the events as one row at their first time (``event_firsts``:
    each event name's first time, :func:`event_names`, dates before 1971 left out); clients, churns and
    interventions date no log. Without it a batched
    ``train`` never said what ``validate`` says of the same folder: an app's events beginning 364 days after its
    annual terms, the deployed model trained on the year before them."""
    import polars as pl

    from churnml.contract.io import dataset_files, read_tables
    from churnml.contract.schemas import Events, Table

    if dataset.tables or folder is None:
        return dataset.tables
    undated = (Table.EVENTS, Table.CLIENTS, Table.CHURNS, Table.INTERVENTIONS)  # the note reads none of them
    files = {t: p for t, p in dataset_files(Path(folder)).items() if t not in undated}
    tables: dict[Any, Any] = dict(read_tables(files, cfg.data)[0])
    plausible = [f for f in event_firsts.values() if f is not None and f.year >= 1971]
    if plausible:
        tables[Table.EVENTS] = pl.DataFrame({Events.TS: [min(plausible)]})
    return tables


def data_notes(
    dataset: Any,
    cfg: Config,
    folder: Path | None = None,
    fold_reach: Callable[[int], tuple[int, int | None]] | None = None,
) -> list[str]:
    """What ``validate`` and ``train`` say of the data beyond its contract: event names that no feature
    counts (:func:`churnml.features.usage.event_name_notes`), names that read like trouble while
    ``features.friction_events`` lists none (:func:`churnml.features.usage.friction_hint`), a subscriptions table of whole
    subscriptions rather than terms (:func:`churnml.labels.unrenewed_terms_note`), many clients with only
    free terms (:func:`churnml.labels.free_terms_note`), under the subscriptions label clients without any
    term, buyers (with orders) told apart from leads (:func:`churnml.labels.termless_clients_note`) and clients
    back together after the grace (a break between terms, :func:`churnml.labels.late_returns_note`), and,
    under the inactivity label, clients active on a regular rhythm about as long as the horizon
    (:func:`churnml.labels.regular_rhythm_note`) and clients whose usual gap is longer than
    ``label.inactivity_days`` (:func:`churnml.labels.slow_rhythm_note`; only when the dataset holds its tables) or
    far shorter (:func:`churnml.labels.fast_rhythm_note`), clients who paused the horizon or longer and came
    back (:func:`churnml.labels.pauses_past_horizon_note`: each pause labeled a churn), event names that read
    like a client's notice while no ticket is a cancellation request (:func:`churnml.features.usage.notice_hint`:
    an app store's ``auto_renew_off`` read as activity only), and
    a no-activity rule that can never fire (:func:`churnml.scoring.rules.unreachable_no_activity_note`), a
    product used on a rhythm slower than ``score.onboarding_active_share`` of the weeks, which ``onboarding_stalled``
    would read as every young client stalled (:func:`churnml.scoring.crm.onboarding_rhythm_note`), event rows that
    hold a period's occurrences (:func:`churnml.features.usage.lumped_counts_note`: a month's meter readings as one
    row with a count, which a 28-day window holds whole or not at all), the shipped
    B2B playbook for clients without an owner (:func:`churnml.scoring.playbook.b2b_playbook_note`), a
    subscriptions ``mrr`` that holds each term's price rather than its monthly amount
    (:func:`churnml.scoring.value.term_prices_note`: an 8-week auto-ship's delivery price), and rows
    repeated in every column of events, payments, subscriptions, communications or tickets
    (:func:`repeated_rows_note`: an export appended twice), and the money tables' currencies
    (:func:`churnml.contract.validation.currency_notes`: converted at ``data.currency_rates``; without a
    column naming one, the currency they are read as, :func:`churnml.contract.validation.unmarked_currency_note`).
    ``folder``: where to read them from when the dataset holds no tables (a portfolio read batch by batch).
    ``fold_reach`` (``train``): what the backtest allows a horizon (:func:`churnml.jobs.train.fold_reach`),
    which a rhythm note's suggested horizon is told against (:func:`rhythm_notes`)."""
    names = event_names(dataset, folder)
    counts = {name: n for name, (n, _) in names.items()}
    firsts = {name: first for name, (_, first) in names.items()}
    subscriptions = subscriptions_of(dataset, folder, cfg)
    return [
        *event_kind_notes(dataset, cfg, folder, counts, firsts),
        *subscription_notes(dataset, cfg, subscriptions),
        *timing_notes(dataset, cfg, folder, firsts),
        *repeated_rows_notes(dataset),
        *money_and_signal_notes(dataset, cfg, folder, subscriptions),
        *client_notes(dataset, cfg),
        *rhythm_notes(dataset, cfg, subscriptions, fold_reach),
    ]


def _said(*notes: str | None) -> list[str]:
    return [n for n in notes if n]


def event_kind_notes(
    dataset: Any, cfg: Config, folder: Path | None, counts: dict[str, int], firsts: dict[str, Any]
) -> list[str]:
    """Of the event names (``counts`` rows and ``firsts`` first day per name): names no feature counts, kinds
    new late in the log, names that read like trouble, leaving or a client's notice."""
    from churnml.features.usage import (
        event_name_notes,
        friction_hint,
        leaving_hint,
        new_event_kinds_note,
        notice_hint,
    )

    return (
        event_name_notes(counts, cfg.features)
        + new_event_kinds_note(counts, firsts, _events_began(dataset, firsts), cfg.features)
        + friction_hint(counts, cfg.features)
        + leaving_hint(counts, cfg.data.churn_events)
        + notice_hint(counts, notices_recorded(dataset, folder, cfg))
    )


def subscription_notes(dataset: Any, cfg: Config, subscriptions: Any | None) -> list[str]:
    """Of the subscriptions table: whole subscriptions rather than terms, many clients on free terms only,
    and under the subscriptions label clients without a term and a break the whole business takes between
    terms; under the churns label, lapses no churn records."""
    from churnml.contract.schemas import Table
    from churnml.labels import (
        free_terms_note,
        late_returns_note,
        resolved_label,
        termless_clients_note,
        unrecorded_lapses_note,
        unrenewed_terms_note,
    )

    if subscriptions is None:
        return []
    notes = _said(unrenewed_terms_note(subscriptions, dataset.as_of, cfg.label.grace_days))
    notes += _said(free_terms_note(subscriptions))
    clients = dataset.tables.get(Table.CLIENTS)
    # said under the subscriptions label only (auto takes it with a subscriptions table): the churns and
    # inactivity labels list a client from its first order, with or without a term
    by_terms = resolved_label(cfg.label, [Table.SUBSCRIPTIONS, *dataset.tables]).source == "subscriptions"
    if clients is not None and by_terms:
        notes += _said(termless_clients_note(clients, subscriptions, dataset.tables.get(Table.PAYMENTS)))
    # a break the whole business takes between terms (a school's summer) read as everyone churning
    if by_terms:
        notes += _said(late_returns_note(subscriptions, dataset.as_of, cfg.label.grace_days))
    if cfg.label.source == "churns":
        churns = dataset.tables.get(Table.CHURNS)
        notes += _said(unrecorded_lapses_note(subscriptions, churns, dataset.as_of, cfg.label.grace_days))
    return notes


def timing_notes(dataset: Any, cfg: Config, folder: Path | None, firsts: dict[str, Any]) -> list[str]:
    """Behaviour logs that begin late (said as training moves its first snapshot) and late payments."""
    from churnml.features.payments import late_payments_note
    from churnml.labels import late_behaviour_note

    dated = dated_tables(dataset, folder, cfg, firsts) if cfg.snapshots.start is None else {}
    late = late_behaviour_note(dated, cfg.snapshots.min_history_days) if dated else None
    if late:  # said as training does it: from the behaviour logs' start, when that still labels a snapshot
        late = late_behaviour_note(
            dated,
            cfg.snapshots.min_history_days,
            moved=_training_moved(dataset, cfg),
            grace_days=cfg.label.grace_days,
        )
    return _said(late, late_payments_note(dataset))


def repeated_rows_notes(dataset: Any) -> list[str]:
    """Rows repeated in every column of events, payments, subscriptions, communications or tickets: an
    export appended twice doubles the events' counts, and the payments' revenue and ARR, without a word."""
    from churnml.contract.schemas import Table

    notes: list[str] = []
    for table in (Table.EVENTS, Table.PAYMENTS, Table.SUBSCRIPTIONS, Table.COMMUNICATIONS, Table.TICKETS):
        frame = dataset.tables.get(table)
        checked = frame is not None and 0 < frame.height <= _REPEATS_CHECKED_ROWS
        notes += _said(repeated_rows_note(frame, table) if checked else None)
    return notes


def money_and_signal_notes(
    dataset: Any, cfg: Config, folder: Path | None, subscriptions: Any | None
) -> list[str]:
    """The money tables' currencies (converted at ``data.currency_rates``, the one they are in, or the one they
    are read as without a column naming one), account signals of unknown kinds, refunds beyond what was paid
    (a shop's refunded orders written as the contract's refunds) and an ``mrr`` holding each term's price (an
    8-week auto-ship's delivery price: its ARR 1.84 x its year)."""
    from churnml.contract.io import dataset_files
    from churnml.contract.schemas import Table
    from churnml.contract.validation import currency_notes, unmarked_currency_note
    from churnml.features.account import other_signals_note
    from churnml.scoring.value import refunds_beyond_paid_note, term_prices_note

    notes = currency_notes(dataset.repairs.counts)
    files = dataset_files(Path(folder)) if folder is not None and not dataset.tables else {}
    money = [t for t in (Table.PAYMENTS, Table.SUBSCRIPTIONS) if t in dataset.tables or t in files]
    signals = dataset.tables.get(Table.SIGNALS)
    payments = dataset.tables.get(Table.PAYMENTS)
    return notes + _said(
        unmarked_currency_note(money, dataset.repairs.counts, cfg.data.currency_rates, cfg.score.currency),
        other_signals_note(signals) if signals is not None and signals.height else None,
        refunds_beyond_paid_note(payments, cfg.score.currency),
        term_prices_note(subscriptions, payments, cfg.score.currency),
    )


def client_notes(dataset: Any, cfg: Config) -> list[str]:
    """Spelling variants of a segment or owner ('restaurant' and 'Restaurant': two segments, two owner
    sections), churns before a client's creation, a product used on a rhythm that ``onboarding_stalled``
    would read as every young client stalled (monthly meter readings), a period's occurrences lumped into one
    event row, and the shipped B2B playbook told to clients without an account team."""
    from churnml.contract.schemas import Table
    from churnml.contract.validation import spelling_variants_notes
    from churnml.features.usage import lumped_counts_note
    from churnml.labels import churns_before_creation_note
    from churnml.scoring.crm import onboarding_rhythm_note
    from churnml.scoring.playbook import b2b_playbook_note

    churns, clients = dataset.tables.get(Table.CHURNS), dataset.tables.get(Table.CLIENTS)
    notes = spelling_variants_notes(clients) if clients is not None else []
    if churns is not None and clients is not None:
        notes += _said(churns_before_creation_note(churns, clients))
    onboarding = onboarding_rhythm_note(
        clients,
        dataset.tables.get(Table.EVENTS),
        dataset.as_of.date(),
        min_days=cfg.score.onboarding_min_days,
        max_days=cfg.score.onboarding_days,
        active_share=cfg.score.onboarding_active_share,
        rule_enabled="onboarding_stalled" in cfg.rules.enabled,
        payments=dataset.tables.get(Table.PAYMENTS),
        subscriptions=dataset.tables.get(Table.SUBSCRIPTIONS),
    )
    return notes + _said(
        onboarding,
        lumped_counts_note(dataset.tables.get(Table.EVENTS), cfg.rules.usage_drop_days),
        b2b_playbook_note(clients, cfg.playbooks) if clients is not None else None,
    )


def rhythm_notes(
    dataset: Any,
    cfg: Config,
    subscriptions: Any | None,
    fold_reach: Callable[[int], tuple[int, int | None]] | None = None,
) -> list[str]:
    """Under the inactivity (and mixed) label, the clients' rhythms against the label: regular about as long as
    the horizon, slower or far faster than ``label.inactivity_days``, pauses past the horizon (the horizon it
    suggests told against ``fold_reach``, :func:`churnml.jobs.train.fold_reach`, when given: the one place the
    pauses' advice and the backtest's meet); a no-activity rule that can never fire; under the churns label
    without terms, dormant clients; activity events no row has."""
    from churnml.contract.schemas import Table
    from churnml.labels import (
        activity_day_gaps,
        activity_times,
        dormant_clients_note,
        fast_rhythm_note,
        inactivity_activity,
        pauses_past_horizon_note,
        regular_rhythm_note,
        resolved_label,
        slow_rhythm_note,
        unknown_activity_events_note,
    )
    from churnml.scoring.rules import unreachable_no_activity_note

    if not any(t in dataset.tables for t in (Table.EVENTS, Table.PAYMENTS)):
        return []
    label = resolved_label(cfg.label, dataset.tables)
    inactive = label.source in ("inactivity", "mixed")  # mixed: the orders outside term spells
    gaps = (
        activity_day_gaps(inactivity_activity(dataset, label)) if inactive else None
    )  # the rhythm notes read them
    churns = dataset.tables.get(Table.CHURNS)
    return _said(
        regular_rhythm_note(gaps, label.horizon_days, fold_reach=fold_reach) if gaps is not None else None,
        slow_rhythm_note(gaps, label.inactivity_days) if gaps is not None else None,
        fast_rhythm_note(gaps, label.inactivity_days) if gaps is not None else None,
        pauses_past_horizon_note(gaps, label.horizon_days, fold_reach=fold_reach)
        if gaps is not None
        else None,
        unreachable_no_activity_note(cfg.rules, label.source, label.inactivity_days),
        dormant_clients_note(activity_times(dataset, label.activity_events), churns, dataset.as_of)
        if label.source == "churns" and subscriptions is None
        else None,
        # a listed activity event no row has (a typo, another export's name): nothing would count as activity
        unknown_activity_events_note(dataset.tables.get(Table.EVENTS), label.activity_events),
    )


def labeled_table(dataset: Any, cfg: Config, progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """The labeled feature table (one row per client x snapshot, unlabeled rows included, float64) as
    pandas. ``train``, ``tune`` and ``bench models`` learn from :mod:`churnml.jobs.batches`' float32 table of
    the labeled rows instead; this one serves analyses that want every row (and the benchmark of the
    two)."""
    from churnml.pipeline import labeled_feature_table

    table = labeled_feature_table(dataset, cfg.snapshots, cfg.label, cfg.features, progress, rules=cfg.rules)
    return table.to_pandas()


def no_truth_note(truth: Path | None) -> str | None:
    """A note when ``--truth`` names a folder without the truth ``churnml generate --truth-out`` writes
    (``hazard.parquet``: ``client_id``, ``week``, ``hazard``, the weekly true hazard): no oracle row."""
    if truth is None or (Path(truth) / HAZARD_FILE).is_file():
        return None
    return (
        f"--truth {truth}: no {HAZARD_FILE} there (the weekly true hazard `churnml generate --truth-out` "
        "writes), so no oracle row; real data has no truth"
    )


def truth_oracle(
    truth: Path | None, horizon_days: int, now: bool = False
) -> Callable[[pd.DataFrame], np.ndarray] | None:
    """``rows -> true probability`` from ``<truth>/hazard.parquet`` (NaN for clients the truth does not
    know; ``now``: with the latent decline frozen at the snapshot, ``churnml.demo.synth.nowcast_probability``);
    None without a truth folder or when it holds no hazard file (real data)."""
    if truth is None:
        return None
    path = Path(truth) / HAZARD_FILE
    if not path.is_file():
        return None
    import polars as pl

    from churnml.demo.synth import Truth
    from churnml.jobs.common import UserError
    from churnml.modeling.baselines import oracle_scores

    hazard = pl.read_parquet(path)
    needed = [CLIENT_ID, Truth.WEEK, Truth.HAZARD, Truth.DUE, Truth.SPELL, Truth.REASON]
    needed += [Truth.DECLINE] if now else []
    missing = [c for c in needed if c not in hazard.columns]
    if missing:  # another tool's file: said before any work, not a crash in the middle of a fold
        raise UserError(
            f"the truth file {path} lacks the columns {', '.join(missing)}: --truth reads the truth folder of "
            "`churnml generate --truth-out` (hazard.parquet: client_id, week, hazard, due, spell, reason, decline)"
        )
    known = set(hazard.get_column(CLIENT_ID).unique().to_list())

    def oracle(rows: pd.DataFrame) -> np.ndarray:
        p = oracle_scores(hazard, rows, horizon_days, now)
        return np.where(rows[CLIENT_ID].isin(known).to_numpy(), p, np.nan)

    return oracle
