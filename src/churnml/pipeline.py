"""The two tables every later step starts from, built by the same feature code.

- :func:`labeled_feature_table` — training: one row per (client, weekly snapshot) for every client
  active at the snapshot, with ``label`` (null when the horizon runs past the end of the data) and
  every feature.
- :func:`snapshot_feature_table` — the same features for the clients active at one as-of date (for
  notebooks and benchmarks).

Training and scoring share the feature code, :func:`churnml.features.build_features` (DESIGN
principle 6), not this module: the weekly score (:func:`churnml.scoring.assemble.scored_list`) passes its own
spine — this week's clients at each week of their health history — through ``build_features`` in
client batches.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import polars as pl

from churnml.config import FeaturesConfig, LabelConfig, RulesConfig, SnapshotsConfig
from churnml.contract.dataset import Dataset
from churnml.contract.schemas import CLIENT_ID, SNAPSHOT
from churnml.features import build_features
from churnml.labels import active_spine, label_lag_days, labeled_spine, resolved_label, snapshot_grid

__all__ = ["SNAPSHOT", "labeled_feature_table", "snapshot_feature_table", "training_snapshots"]


def training_snapshots(
    dataset: Dataset, snapshots: SnapshotsConfig, label: LabelConfig | None = None
) -> list[date]:
    """The weekly snapshot dates of the dataset, as configured. With ``snapshots.start: null`` and behaviour
    logs that begin late (:meth:`~churnml.contract.dataset.Dataset.behaviour_from`: a CRM whose invoices go
    back years, its events months), the grid starts ``min_history_days`` after they begin, so that no training
    row comes from a past without the signals the weekly list reads (a backtest fold trained on 306 annual
    subscribers without a single event judged a monthly app's model), unless that leaves no snapshot whose
    ``label`` horizon is known by the data's end: then from the data's start, as without ``label``."""
    whole = snapshot_grid(snapshots, dataset.start, dataset.as_of)
    begins = dataset.behaviour_from() if snapshots.start is None and label is not None else None
    if begins is None or label is None:
        return whole
    try:
        late = snapshot_grid(snapshots, begins, dataset.as_of)
    except ValueError:  # the behaviour logs begin too close to the data's end for a snapshot after them
        return whole
    lag = label_lag_days(resolved_label(label, dataset.tables))
    known = dataset.as_of - timedelta(days=label.horizon_days + lag)
    return late if late and late[0] <= known.date() else whole


def labeled_feature_table(
    dataset: Dataset,
    snapshots: SnapshotsConfig,
    label: LabelConfig,
    features: FeaturesConfig,
    progress: Callable[[str], None] | None = None,
    *,
    rules: RulesConfig | None = None,
    mailings: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per (client, snapshot) active at the snapshot: client_id, snapshot, label, churned_at, features.

    Sorted by (snapshot, client_id). ``label`` is 1 when the client churns within
    ``label.horizon_days`` after the snapshot, 0 when it does not, null when that is not yet known.
    ``rules``: its ``mailing_share`` and ``mailing_min_clients``, the mailings the communication features leave
    out (None: their defaults); ``mailings``: those of the whole dataset when ``dataset`` is a client batch
    (:func:`churnml.features.build.dataset_mailings`; None: found from ``dataset``).
    """
    grid = training_snapshots(dataset, snapshots, label)
    spine = labeled_spine(dataset, grid, label)
    table = build_features(
        dataset,
        spine.select(CLIENT_ID, SNAPSHOT),
        features,
        progress,
        **_mailing_keys(rules),
        mailings=mailings,
    )
    return spine.join(table, on=[CLIENT_ID, SNAPSHOT], how="left").sort(SNAPSHOT, CLIENT_ID)


def snapshot_feature_table(
    dataset: Dataset,
    as_of: date,
    label: LabelConfig,
    features: FeaturesConfig,
    progress: Callable[[str], None] | None = None,
    *,
    rules: RulesConfig | None = None,
) -> pl.DataFrame:
    """One row per client active at ``as_of``: client_id, snapshot, features (data strictly before as_of).
    ``rules``: as for :func:`labeled_feature_table`."""
    spine = active_spine(dataset, [as_of], label)
    return build_features(dataset, spine, features, progress, **_mailing_keys(rules))


def _mailing_keys(rules: RulesConfig | None) -> dict[str, float | int]:
    """``build_features``' mailing keywords from ``rules`` (``rules.mailing_share``,
    ``rules.mailing_min_clients``; None: the defaults)."""
    rules = rules if rules is not None else RulesConfig()
    return {"mailing_share": rules.mailing_share, "mailing_min_clients": rules.mailing_min_clients}
