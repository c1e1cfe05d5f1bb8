"""The ``churnml score`` job: the weekly list of one as-of date, written to ``<paths.scores>/<date>/``.

Steps (the work is :func:`churnml.scoring.assemble.scored_list`, pure; this module reads and writes):

1. refuse an output folder churnml did not write, before any work;
2. load the model (``models:/<name>@champion``, an exported folder, or the
   default: the tracking store's champion, else ``paths.models``) and refuse one trained for other label
   settings, before any data is read (on Spark too); then open the dataset folder
   (:mod:`churnml.jobs.score_data`: small tables read, the events only measured);
3. reuse last week's health history when its model version and config hash match; the weeks left to
   score set the events window, read client batch by client batch (with several batches, the needed
   events are first spilled, one pass, to a scratch folder in ``score.scratch_dir`` that the run
   removes when it ends, on an error too);
4. score, explain and assemble the list (:func:`churnml.scoring.assemble.scored_list`);
5. render the report (with who left since the last list written: :func:`left_since_last_list`) and write scores.parquet, scores.csv, history.parquet, report.html and
   manifest.json atomically (an interrupted run leaves the previous list intact).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from churnml.config import Config, FeaturesConfig, config_hash, history_hash
from churnml.contract.schemas import SNAPSHOT, Table
from churnml.jobs.common import Timer, UserError, config_for, data_folder

__all__ = [
    "HINDSIGHT_HITS",
    "LeftSinceList",
    "ListNotes",
    "ScoreRun",
    "left_record",
    "left_since_last_list",
    "list_notes",
    "model_change_note",
    "model_record",
    "partial_last_day_note",
    "rescored_note",
    "score",
    "scoring_model",
    "stale_data_note",
]

# the default list folder before the data says its date: where paths.scores puts it is checked already
UNDATED = "<as-of date>"


@dataclass(frozen=True)
class ListNotes:
    """What a scored list must say besides its rows (console warnings, report banners); None: nothing."""

    model: str | None = None  # the model was not promoted (ModelCard.unpromoted_note)
    data: str | None = None  # it learned from another dataset (ModelCard.other_data_note)
    hindsight: str | None = None  # it learned outcomes of this list's horizon (ModelCard.hindsight_note)
    # most of the list is red, or none of it reaches yellow (churnml.scoring.standing.crowded_red_note,
    # empty_zones_note): the thresholds do not fit this data's churn rate
    zones: str | None = None
    drift: str | None = None  # why features drift: trained on young data (ModelCard.young_data_note)
    model_change: str | None = None  # another model than last week's list (model_change_note)
    rescored: str | None = None  # the same model re-scoring last week's date moved clients (rescored_note)
    stale: str | None = None  # the data ends days before the list's date (stale_data_note)
    partial: str | None = None  # the data's last day was cut short: scored before it (partial_last_day_note)
    rules: str | None = None  # a rule fires for most of the list (churnml.scoring.rules.crowded_rules_note)
    usage_dip: str | None = (
        None  # the whole portfolio's use fell (churnml.scoring.rules.portfolio_usage_note)
    )
    unknown: str | None = None  # the data's features the model never learned (unknown_features_note)
    missed: str | None = None  # the last list written is older than a week (missed_weeks_note)
    # unanswered_outreach skipped mailings (churnml.scoring.rules.mailings_note): said, not a warning
    mailings: str | None = None
    # the list looks into a time of year the model never learned outcomes of (ModelCard.unseen_season_note):
    # said, not a warning
    season: str | None = None
    # scratch folders of earlier runs killed before their cleanup, removed (score_data.removed_stale_scratch)
    scratch: str | None = None

    def warnings(self) -> list[str]:
        """The notes printed as warnings of their own (the drift one goes with the drift warning)."""
        notes = (
            self.partial,
            self.missed,
            self.stale,
            self.data,
            self.model,
            self.model_change,
            self.rescored,
            self.hindsight,
            self.zones,
            self.rules,
            self.usage_dip,
            self.unknown,
            self.scratch,
        )
        return [n for n in notes if n]


@dataclass(frozen=True)
class ScoreRun:
    """What ``churnml score`` wrote and prints: the folder, the scored list, the manifest, the warnings."""

    folder: Path
    day: date
    version: str
    result: Any  # churnml.scoring.assemble.ScoredList
    manifest: dict[str, Any]
    changed: bool
    lagging: dict[str, int]
    empty_columns: list[str]
    dark_features: list[str]
    timer: Timer
    reads: Any = None  # churnml.jobs.score_data.EventReads: what was read of the events (None: all)
    notes: ListNotes | None = None  # what the list must say (list_notes)


def _version_said(version: Mapping[str, str]) -> str:
    """``1 (not promoted: <reason>)``: a registered version and why it is no champion, as recorded."""
    reason = version.get("promotion_reason") or ""
    if version.get("promoted") == "true":
        status = "promoted once, no longer the champion"
    else:
        status = f"not promoted: {reason}" if reason else "not promoted"
    return f"{version['version']} ({status})"


def _unpromoted_versions_hint(
    name: str, versions: Sequence[Mapping[str, str]], trained_on: str, models: Path, shown: int = 3
) -> str:
    """The end of the refusal of ``models`` (another dataset's model) when this dataset has no champion:
    with registered versions of ``name`` (:func:`churnml.modeling.tracking.registered_versions`, newest
    first), they are named with why they were not promoted, and the newest not refused as a leak is the way
    out (``--model models:/<name>/<version>``); without any, train on this data, or, when
    the other dataset is this one under another name (a weekly export in a folder per date), name it once
    with ``data.name``: this data is then scored with that dataset's champion and reads its lists' history
    (``--model <models>`` would score with the model and read no history)."""
    import shlex

    from churnml.modeling.champion import TOO_GOOD

    train = "churnml train --data <this folder>"
    if not versions:
        return (
            f": train one on this data ({train}); only if {trained_on!r} is this data under another name (an "
            f"export folder per date), name the dataset once: --set {shlex.quote(f'data.name={trained_on}')} "
            "(or data.name in the config the job reads) scores with that dataset's champion and reads its lists' "
            "history"
        )
    listed = [_version_said(v) for v in versions[:shown]]
    older = len(versions) - shown
    if older > 0:
        listed.append(f"{older} older")
    said = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + f" and {listed[-1]}"
    word = "version" if len(versions) == 1 else "versions"
    usable = [v for v in versions if not (v.get("promotion_reason") or "").startswith(TOO_GOOD)]
    if not usable:
        return (
            f"; the tracking store holds {name} {word} {said}, refused as a leak: fix the export and train "
            f"again ({train})"
        )
    return (
        f"; the tracking store holds {name} {word} {said}: --model models:/{name}/{usable[0]['version']} "
        f"scores with it, or train again ({train})"
    )


def other_champion_hint(
    champions: Mapping[str, str | None], model_name: str | None, dataset_name: str
) -> str:
    """The end of the message when this dataset has neither a champion nor an exported model, and the
    tracking store's only champion (``champions``: :func:`churnml.modeling.tracking.champion_datasets`) is
    another dataset's, under the name ``data.name`` would give it (``churnml-<dataset>``, or
    ``train.model_name``): this data may be that dataset in another folder (an export folder per date),
    which ``data.name`` names. "" otherwise."""
    import shlex

    from churnml.modeling.tracking import registered_name

    others = {
        model: dataset
        for model, dataset in champions.items()
        if dataset and dataset != dataset_name and model == registered_name(model_name, dataset)
    }
    if len(others) != 1 or len(champions) != 1:
        return ""
    ((model, dataset),) = others.items()
    return (
        f"; the tracking store's one champion, {model}, learned from the dataset {dataset!r}: if this data is "
        f"that dataset in another folder (an export folder per date), name it: "
        f"--set {shlex.quote(f'data.name={dataset}')}"
    )


def scoring_model(spec: str | None, cfg: Config, dataset_name: str) -> tuple[Any, dict[str, Any], str]:
    """(model, metadata, source) from ``models:/<name>@champion``, a registered version
    (``models:/<name>/<version>``), an exported folder, or the default:
    the tracking store's champion of this dataset (``tracking.registered_name``) when the store exists
    and has one, else the folder ``paths.models``, refused when it holds another dataset's model (a
    second dataset in the same project must not be scored with the first one's model unasked; the refusal
    names this dataset's registered versions that were not promoted, and how to score with one) or a model
    the gate refused as too good to be true (a leak: every client would look certain). Any other
    unpromoted model is used, and the list says so (:func:`list_notes`)."""
    from churnml.modeling.champion import TOO_GOOD
    from churnml.modeling.export import load_exported
    from churnml.modeling.tracking import registered_name

    def champion(name: str) -> tuple[Any, dict[str, Any], str]:
        from churnml.modeling.tracking import load_champion

        model, meta = load_champion(cfg.tracking, name)
        return model, meta, f"models:/{name}@champion"

    if spec is not None and spec.startswith("models:/"):
        name, _, alias = spec.removeprefix("models:/").partition("@")
        stem, _, version = name.partition("/")
        if not alias and stem and version.isdigit():  # a registered version, promoted or not
            from churnml.modeling.tracking import load_version

            try:
                model, meta = load_version(cfg.tracking, stem, version)
            except FileNotFoundError as exc:
                raise UserError(f"--model {spec!r}: {exc}") from None
            return model, meta, spec
        if alias != "champion" or not name:
            raise UserError(
                f"--model {spec!r}: models:/<name>@champion, models:/<name>/<version> or an exported model folder"
            )
        return champion(name)
    if spec is not None:
        model, meta = load_exported(Path(spec))
        return model, meta, str(spec)
    uri = os.environ.get("MLFLOW_TRACKING_URI") or cfg.tracking.uri
    store_exists = not uri.startswith("sqlite:///") or Path(uri.removeprefix("sqlite:///")).is_file()
    name = registered_name(cfg.train.model_name, dataset_name)
    if store_exists:
        try:
            return champion(name)
        except FileNotFoundError:
            pass
    try:
        model, meta = load_exported(cfg.paths.models)
    except FileNotFoundError as exc:
        from churnml.modeling.tracking import champion_datasets

        champions = champion_datasets(cfg.tracking) if store_exists else {}
        hint = other_champion_hint(champions, cfg.train.model_name, dataset_name)
        if not hint:
            raise
        raise UserError(f"{exc}{hint}") from None
    trained_on = meta.get("dataset")
    if trained_on not in (None, dataset_name):
        from churnml.modeling.tracking import registered_versions

        versions = registered_versions(cfg.tracking, name) if store_exists else []
        raise UserError(
            f"{cfg.paths.models} holds the model trained on the dataset {trained_on!r}, not on "
            f"{dataset_name!r}, and the tracking store has no champion {name!r}"
            + _unpromoted_versions_hint(name, versions, trained_on, cfg.paths.models)
        )
    refused = meta.get("promotion_reason") or ""
    if meta.get("promoted") is False and refused.startswith(TOO_GOOD):
        raise UserError(
            f"{cfg.paths.models} holds a model the champion gate refused as {refused}: a column of the data "
            "probably holds the future (train's note names the features it leans on). Fix the export and "
            f"train again, or pass --model {cfg.paths.models} to score with it anyway"
        )
    return model, meta, str(cfg.paths.models)


def config_hint(folder: Path, section: str | None = None, wrong: Mapping[str, Any] | None = None) -> str:
    """A sentence to add to a settings mismatch when the data folder holds a ``churnml.yaml`` (what
    ``churnml adapt`` writes beside its tables), "" otherwise: the model was likely trained with it.
    With ``section`` and ``wrong`` (:func:`churnml.modeling.export.settings_mismatches`: setting ->
    (the model's value, the run's)): only when that file holds the model's value of every mismatched
    setting, so reading it would fix the run (a run that already reads it gets no such hint)."""
    from churnml.config import load_config

    own = Path(folder) / "churnml.yaml"
    if not own.is_file():
        return ""
    if section is not None and wrong:
        try:
            theirs = getattr(load_config(own), section).model_dump(mode="json")
        except Exception:  # a file that does not load is no hint
            return ""
        if any(theirs.get(name.split(".", 1)[1]) != model for name, (model, _) in wrong.items()):
            return ""
    return f" (the data folder holds {own}: if the model was trained with it, add --config {own})"


def _set_flag(name: str, value: Any) -> str:
    """``--set <name>=<value>`` as a shell takes it (a list in YAML flow style, quoted when it needs to be)."""
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=1_000_000).strip()
    text = text.removesuffix("...").strip()
    flag = f"{name}={text}"
    return f"--set '{flag}'" if any(c in flag for c in " []{},'\"") else f"--set {flag}"


def _checked_settings(
    metadata: Mapping[str, Any], cfg: Config, source: str, folder: Path | None = None
) -> None:
    """Refuse a model trained for other label or feature settings: they are part of the model (the label
    is what it predicts; the feature settings, e.g. the event names a column counts, are what its columns
    mean). ``folder``: the data folder, whose own ``churnml.yaml`` the message names when it holds the
    model's settings (:func:`config_hint`)."""
    from churnml.modeling.card import ModelCard
    from churnml.modeling.export import FEATURE_SETTINGS_IGNORED, mismatch_texts, settings_mismatches

    card = ModelCard.from_dict(metadata)
    # a model exported without the record (before it was kept) is not checked
    if card.timezone is not None and card.timezone != cfg.data.timezone:
        raise UserError(
            f"the model ({source}) counted its days in data.timezone {card.timezone}, and this run reads the data "
            f"in {cfg.data.timezone}: the same events would fall on other days and weeks. Score with "
            f"--set data.timezone={card.timezone} (or the config it was trained with), or train a model for "
            f"{cfg.data.timezone}"
        )
    for what, section, trained, ignored in (
        ("label", "label", card.label, ()),
        ("feature", "features", card.features_config, FEATURE_SETTINGS_IGNORED),
    ):
        scoring = getattr(cfg, section).model_dump(mode="json")
        wrong = settings_mismatches(section, trained, scoring, ignored)
        if wrong:
            flags = " ".join(_set_flag(name, model) for name, (model, _) in wrong.items())
            raise UserError(
                f"the model ({source}) was trained for other {what} settings: {'; '.join(mismatch_texts(wrong))}. "
                f"The {what} settings are part of the model: score with the settings it was trained with "
                f"({flags}, or the config it was trained with), or train a model for the new ones"
                f"{config_hint(folder, section, wrong) if folder is not None else ''}"
            )


def list_notes(
    result: Any,
    metadata: Mapping[str, Any],
    cfg: Config,
    day: date,
    dataset_name: str | None = None,
    asked: bool = False,
    data_end: date | None = None,
    horizon_reach: str | None = None,
) -> ListNotes:
    """What a scored list must say (console warnings, report banners), each None when there is nothing to
    say: the model learned from another dataset than ``dataset_name``, it was not promoted (``asked``:
    ``--model`` named it), it learned outcomes of the list's own horizon, most of the list is
    red or none of it reaches yellow (:func:`churnml.scoring.standing.crowded_red_note`,
    :func:`~churnml.scoring.standing.empty_zones_note`), a rule fires for most of it
    (:func:`churnml.scoring.rules.crowded_rules_note`), and why features drifted when the model
    learned on young data (:meth:`~churnml.modeling.card.ModelCard.young_data_note`) or the list is dated
    another weekday than its snapshots (:meth:`~churnml.modeling.card.ModelCard.weekday_note`).
    ``horizon_reach``: :func:`horizon_reach_note` of the list (most active clients' terms end beyond the
    horizon): then an empty red or yellow is advised a longer horizon, not lower thresholds."""
    from churnml.modeling.card import ModelCard
    from churnml.scoring.assemble import unknown_features_note
    from churnml.scoring.columns import Scores
    from churnml.scoring.rules import crowded_rules_note
    from churnml.scoring.standing import crowded_red_note, crowded_watch_note, empty_zones_note
    from churnml.scoring.window import feature_lookback_days

    card = ModelCard.from_dict(metadata)
    scores = result.scores
    zoned = (
        scores.get_column(Scores.MODEL_ZONE).to_list(),
        scores.get_column(Scores.PROBABILITY).to_numpy(),
        cfg.score.zones,
        card.training_churn_rate(),
    )
    crowded = (
        crowded_red_note(*zoned)
        or crowded_watch_note(*zoned)
        or empty_zones_note(
            *zoned, horizon_reach=horizon_reach, zone=scores.get_column(Scores.ZONE).to_list()
        )
    )
    young = (
        card.young_data_note(feature_lookback_days(cfg.features)) or card.weekday_note(day, result.drifted)
        if result.drifted
        else None
    )
    other = card.other_data_note(dataset_name) if dataset_name is not None else None
    return ListNotes(
        model=card.unpromoted_note(asked),
        data=other,
        hindsight=card.hindsight_note(day),
        zones=crowded,
        drift=young,
        stale=stale_data_note(day, data_end),
        rules=crowded_rules_note(scores.get_column(Scores.RULES).to_list(), cfg.rules, cfg.label.grace_days),
        unknown=unknown_features_note(result.unknown_now),
        usage_dip=result.usage_dip,
        mailings=result.mailings,
        season=card.unseen_season_note(day),
    )


def horizon_reach_note(subscriptions: Any, label: Any, day: date) -> str | None:
    """:func:`churnml.labels.terms_beyond_horizon_note` at the list's ``day`` under the subscriptions label
    (``label``: the resolved ``LabelConfig``): most active clients' terms end beyond ``label.horizon_days``
    (annual contracts renewing on one date, listed months before it); None otherwise or without terms."""
    from churnml.labels import customer_terms, terms_beyond_horizon_note

    if subscriptions is None or label.source not in ("subscriptions", "mixed") or not subscriptions.height:
        return None
    return terms_beyond_horizon_note(customer_terms(subscriptions), [day], label.horizon_days)


# the data may end this many days before the list's date before it is said (an export taken on a Saturday
# and scored on the Monday is on time)
STALE_DATA_DAYS = 3


def stale_data_note(day: date, data_end: date | None) -> str | None:
    """A sentence when the list's date ``day`` is :data:`STALE_DATA_DAYS` or more days after ``data_end``
    (the day after the data's last record): a week-old export scored at this week's date. None otherwise."""
    if data_end is None:
        return None
    behind = (day - data_end).days
    if behind < STALE_DATA_DAYS:
        return None
    last = data_end - timedelta(days=1)
    return (
        f"the data ends {behind} days before the as-of date {day} (its last record: {last}): what happened "
        "in those days (renewals, payments, activity) is not in it. Terms that ended then read 'no renewal "
        "recorded yet' until the data shows them, and the model reads the empty days as less use, so risks "
        "and health drops run high. Score at the day after the data (the default as-of date) or refresh "
        "the export"
    )


# the data's last day reads as cut short by the export when it holds under this share of the events of the
# same weekday (the median of the weeks before) and ends before PARTIAL_DAY_HOUR
PARTIAL_DAY_SHARE = 0.5
PARTIAL_DAY_HOUR = 20
_USUAL_WEEKS = 4


def partial_last_day_note(daily: Mapping[date, int], last_day: date, last_time: datetime) -> str | None:
    """A sentence when the data's last day looks cut short (an export made during the day), else None.

    ``daily``: events per day over the weeks before (days without a row may be absent); ``last_day``: the
    data's last day, whose last record is at ``last_time``. Cut short: its events are under
    :data:`PARTIAL_DAY_SHARE` of the median of the same weekday over the :data:`_USUAL_WEEKS` weeks before
    (at least 3 of them with events, a median of 20 or more), above 0 (events that end days earlier than
    the other tables are a lagging table, said apart) and its last record is before
    :data:`PARTIAL_DAY_HOUR`. The list is then as of that day (the data before it), not the day after:
    scored after it, terms ending at its midnight read "no renewal recorded yet", the missing hours read
    as less use, and next week's list would re-score this one's date on the whole day. The Polars engine
    only: on Spark (``features.engine: spark``) the list is as of the day after the data, as ``--as-of``
    says otherwise."""
    usual = sorted(daily.get(last_day - timedelta(weeks=k), 0) for k in range(1, _USUAL_WEEKS + 1))
    if sum(n > 0 for n in usual) < 3:
        return None
    median = (usual[1] + usual[2]) / 2
    rows = daily.get(last_day, 0)
    if rows == 0 or median < 20 or rows >= PARTIAL_DAY_SHARE * median or last_time.hour >= PARTIAL_DAY_HOUR:
        return None
    weekday = f"{last_day:%A}"
    return (
        f"the data's last day, {last_day}, holds {rows:,} events up to {last_time:%H:%M}, {rows / median:.0%} of a "
        f"usual {weekday}'s ({median:,.0f}, the median of the {_USUAL_WEEKS} {weekday}s before): an export made "
        f"during the day. The list is as of {last_day} (the data before it); that day's rows wait for next "
        f"week's list (--as-of {last_day + timedelta(days=1)} scores them now)"
    )


def model_change_note(
    previous_version: str | None, previous: Any, version: str, scores: Any, previous_day: date
) -> str | None:
    """A sentence when last week's list (``previous``: its ``scores.parquet`` frame, written by model
    ``previous_version`` on ``previous_day``) came from another model than this week's: the changes since
    last week (``previous_zone``, ``zone_change``, ``new_in_red``, ``why_changed``) compare with last week
    re-scored by the new model, so that a retrain is no change in the clients; how many clients' zones
    there differ from the list as it was sent. None when the model is the same or there is no such list."""
    import polars as pl

    from churnml.scoring.columns import Scores

    if previous_version is None or previous is None or previous_version == version:
        return None
    sent = previous.select(Scores.CLIENT_ID, pl.col(Scores.ZONE).alias("_sent"))
    now = scores.select(Scores.CLIENT_ID, Scores.PREVIOUS_ZONE, Scores.ZONE).join(
        sent, on=Scores.CLIENT_ID, how="inner"
    )
    moved = now.filter(
        pl.col(Scores.PREVIOUS_ZONE).is_not_null() & (pl.col(Scores.PREVIOUS_ZONE) != pl.col("_sent"))
    )
    # the clients whose zone now differs from the one the team saw, red first: the changes to tell them
    seen = now.filter(pl.col(Scores.ZONE) != pl.col("_sent")).sort(
        pl.col(Scores.ZONE).replace_strict({"red": 0, "yellow": 1, "green": 2}, default=3), Scores.CLIENT_ID
    )
    shown = seen.select(Scores.CLIENT_ID, "_sent", Scores.ZONE).head(10).iter_rows()
    named = ", ".join(f"{c} ({a} -> {b})" for c, a, b in shown)
    more = f" and {seen.height - 10:,} more" if seen.height > 10 else ""
    against = (
        f"; this week's zone differs from the sent one for {seen.height:,} client{'s' if seen.height != 1 else ''}: "
        f"{named}{more}"
        if seen.height
        else ""
    )
    return (
        f"the model changed since the list of {previous_day} (version {previous_version} -> {version}): "
        "'since last week' (zone change, new in red, why it changed) compares with last week re-scored by "
        f"the new model, in which {moved.height:,} client{'s' if moved.height != 1 else ''} had another zone "
        f"than on the list that was sent{against}"
    )


def feature_labels(names: Iterable[str], features: FeaturesConfig) -> dict[str, str]:
    """Each feature's plain name from the registry ("trend of product events"); the column name when
    the registry has no label for it."""
    from churnml.features.registry import feature_spec

    def label(name: str) -> str:
        try:
            return feature_spec(name, features).label or name
        except KeyError:
            return name

    return {name: label(name) for name in names}


# last week's probability re-scored on today's data differs from the sent one by this much or more: said
RESCORED_MOVE = 0.05


def rescored_note(previous: Any, scores: Any, previous_day: date) -> str | None:
    """A sentence when the same model, re-scoring last week's date on today's data (``scores``'
    ``previous_probability``), moves clients' probabilities by :data:`RESCORED_MOVE` or more against the
    list that was sent (``previous``: its ``scores.parquet`` frame): data about last week arrived or changed
    since, and "since last week" compares with last week as the data now says it. None otherwise."""
    import polars as pl

    from churnml.scoring.columns import Scores

    if previous is None:
        return None
    sent = previous.select(Scores.CLIENT_ID, pl.col(Scores.PROBABILITY).alias("_sent"))
    gap = (pl.col(Scores.PREVIOUS_PROBABILITY) - pl.col("_sent")).abs()
    moved = (  # the biggest moves first
        scores.select(Scores.CLIENT_ID, Scores.PREVIOUS_PROBABILITY)
        .join(sent, on=Scores.CLIENT_ID, how="inner")
        .filter(gap >= RESCORED_MOVE)
        .sort(gap, Scores.CLIENT_ID, descending=[True, False])
    )
    if moved.height == 0:
        return None
    shown = ", ".join(
        f"{c} ({a:.0%} sent, {b:.0%} now)"
        for c, a, b in moved.select(Scores.CLIENT_ID, "_sent", Scores.PREVIOUS_PROBABILITY)
        .head(5)
        .iter_rows()
    )
    more = f" and {moved.height - 5:,} more" if moved.height > 5 else ""
    return (
        f"the list of {previous_day} re-scored on today's data moves {moved.height:,} client"
        f"{'s' if moved.height != 1 else ''} by {RESCORED_MOVE * 100:.0f} points or more against what was sent: "
        f"{shown}{more}. Data about that week arrived or changed after it was scored (a late export, a day "
        "cut short); 'since last week' (zone change, why it changed) compares with last week as the data now says it"
    )


def missed_weeks_note(previous: Path, day: date) -> str | None:
    """A sentence when the last list written (``previous``, a folder named by its as-of date) is more than a
    week before ``day``: the changes since last week compare with that week re-scored, a list nobody
    received. None when it is last week's, or there is none."""
    try:
        before = date.fromisoformat(previous.name)
    except ValueError:
        return None
    weeks = (day - before).days // 7
    if weeks <= 1 or not (previous / "scores.parquet").is_file():
        return None
    return (
        f"the last list written is of {before}, {weeks} weeks before this one: 'since last week' (previous zone, "
        f"new in red, why it changed) compares with {day - timedelta(weeks=1)} re-scored, a list nobody received; "
        f"compare with the list of {before} for what changed since the team last saw it"
    )


def _last_week_notes(last_week: Path, version: str, result: Any, day: date) -> tuple[str | None, str | None]:
    """(:func:`model_change_note`, :func:`rescored_note`) against the list written a week before ``day`` in
    ``last_week`` (read here): the first when another model wrote it, the second when the same one did.
    Neither for an older list (a week without one): "since last week" compares with the week before ``day``
    re-scored, not with that list's date (:func:`missed_weeks_note` says the gap)."""
    import polars as pl

    from churnml.scoring.outputs import written_model_version

    if last_week.name != (day - timedelta(weeks=1)).isoformat():
        return None, None

    before = written_model_version(last_week)
    try:
        previous = pl.read_parquet(last_week / "scores.parquet") if before is not None else None
    except (OSError, pl.exceptions.PolarsError):
        return None, None
    sent = day - timedelta(weeks=1)
    if before == version == "unknown":  # no version to tell the models apart
        return None, None
    if before == version:
        return None, rescored_note(previous, result.scores, sent)
    return model_change_note(before, previous, version, result.scores, sent), None


@dataclass(frozen=True)
class LeftSinceList:
    """Who left since the last list written: its date, its clients not on this week's list
    (:func:`churnml.reporting.report.left_since_list`), and why its hit rate may mislead ("": nothing to say)."""

    since: date
    clients: Any  # polars DataFrame
    note: str = ""


# what the report says under the hit rate of a last list scored with hindsight (its manifest's model.hindsight)
HINDSIGHT_HITS = (
    "that list was scored by a model that had learned its own outcomes (hindsight), so its red and yellow "
    "flatter the model: the backtest and churnml postmortem measure it"
)


def left_since_last_list(
    previous: Path | None, result: Any, dataset: Any, day: date, cfg: Config
) -> LeftSinceList | None:
    """Who left since the list in ``previous`` (:func:`churnml.scoring.outputs.previous_list`: the last one
    written), for the report and the manifest; None when there is no such list or its ``scores.parquet`` does
    not read."""
    import polars as pl

    from churnml.reporting.report import left_since_list
    from churnml.scoring.outputs import written_with_hindsight

    if previous is None:
        return None
    try:
        since = date.fromisoformat(previous.name)
        listed = pl.read_parquet(previous / "scores.parquet")
    except (ValueError, OSError, pl.exceptions.PolarsError):
        return None
    left = left_since_list(listed, result.scores, dataset, day, cfg.label)
    return LeftSinceList(since, left, HINDSIGHT_HITS if written_with_hindsight(previous) else "")


def left_record(left: LeftSinceList | None) -> dict[str, Any] | None:
    """The manifest's ``left_since_last_list``: the last list's date (``list``), how many of its clients are
    not on this one (``clients``), how many of them it had in red and in yellow, and their ARR; None without
    a last list."""
    if left is None:
        return None
    since, frame = left.since, left.clients
    zones = frame.get_column("zone").to_list()
    return {
        "list": since.isoformat(),
        "clients": frame.height,
        "red": zones.count("red"),
        "yellow": zones.count("yellow"),
        "arr": round(float(frame.get_column("arr").fill_null(0).sum()), 2),
    }


def _report(
    result: Any,
    day: date,
    version: str,
    cfg: Config,
    notes: ListNotes | None = None,
    links: Sequence[tuple[str, str]] = (),
    left: LeftSinceList | None = None,
) -> str:
    """The HTML report of the scored list (``notes``: its banners; ``links``: the other churnml pages,
    :func:`churnml.jobs.reports.page_links`; ``left``: who left since the last list, :func:`left_since_last_list`)."""
    from churnml.reporting.report import report_html
    from churnml.scoring.assemble import expected_drift_note
    from churnml.scoring.playbook import zone_rule_text
    from churnml.scoring.rules import rule_descriptions

    banners = notes or ListNotes()
    return report_html(
        result.scores,
        result.history,
        as_of=day,
        model_version=version,
        model_note=banners.model or "",
        data_note=banners.data or "",
        model_change_note=banners.model_change or "",
        stale_note=" ".join(
            n[0].upper() + n[1:] + "."
            for n in (banners.partial, banners.missed, banners.stale, banners.rescored, banners.unknown)
            if n
        )[:-1],
        horizon_days=cfg.label.horizon_days,
        hindsight_note=banners.hindsight or "",
        zones_note=banners.zones or "",
        drift_note=banners.drift or "",
        expected_drift_note=expected_drift_note(result.expected_drift, result.psi) or "",
        rules_note=banners.rules or "",
        mailings_note=banners.mailings or "",
        season_note=banners.season or "",
        usage_dip_note=banners.usage_dip or "",
        drifted=result.drifted,
        drift_weight=result.drift_weight,
        feature_labels=feature_labels(result.drifted, cfg.features),
        top_drivers=cfg.score.top_drivers,
        max_clients=cfg.score.report_clients,
        movers=cfg.score.report_movers,
        change_min=cfg.score.change_min,
        rule_text=rule_descriptions(cfg.rules, cfg.label.grace_days),
        currency=cfg.score.currency,
        thresholds=(cfg.score.zones.yellow, cfg.score.zones.red),
        owner_clients=cfg.score.report_owner_clients,
        silent_days=cfg.score.silent_days,
        links=links,
        zone_rule=zone_rule_text(cfg.score.zones),
        left=None if left is None else left.clients,
        last_list=None if left is None else left.since,
        left_note="" if left is None else left.note,
    )


def _list_files(result: Any, html: str) -> dict[str, bytes]:
    """The list's files but the manifest, by name."""
    from churnml.scoring.outputs import formula_safe_csv, parquet_bytes

    return {
        "scores.parquet": parquet_bytes(result.scores),
        "scores.csv": formula_safe_csv(result.scores),
        "history.parquet": parquet_bytes(result.history),
        "report.html": html.encode("utf-8"),
    }


def _manifest(
    result: Any,
    dataset: Any,
    metadata: Mapping[str, Any],
    version: str,
    source: str,
    chash: str,
    files: Mapping[str, bytes],
    reused: int,
    timings: Mapping[str, float],
    cfg: Config,
) -> dict[str, Any]:
    """``manifest.json`` of the list (:func:`churnml.scoring.assemble.list_manifest`) with the data's table spans,
    lagging tables, empty optional columns and the features they leave missing, the missing features whose window
    reaches back before their table's first record (:func:`churnml.features.build.windows_before_logs`), and
    churnml's marker."""
    from churnml.contract.validation import (
        empty_optional_columns,
        empty_short_windows,
        lagging_tables,
        table_spans,
    )
    from churnml.features.build import windows_before_logs
    from churnml.scoring.assemble import list_manifest
    from churnml.scoring.outputs import MARKER

    manifest = list_manifest(
        result,
        dataset=dataset,
        model_version=version,
        model_source=source,
        config_hash=chash,
        drift_psi=cfg.score.drift_psi,
        files=dict(files),
        history_reused=reused,
        timings=dict(timings),
    )
    manifest["model"]["trained_on"] = metadata.get("dataset")
    manifest["history_hash"] = history_hash(cfg)
    spans = table_spans(dataset.tables, result.as_of)
    empty = empty_optional_columns(dataset.tables)
    return {
        **manifest,
        "model": model_record(manifest["model"], metadata, result.as_of),
        "data": {
            **manifest["data"],
            "tables": spans,
            "lagging_tables": lagging_tables(spans, result.as_of, cfg.score.max_data_lag_days),
            "events_lag_days_empty_windows": empty_short_windows(
                spans, result.as_of, min(cfg.features.windows)
            ),
            "empty_optional_columns": empty,
            "features_missing_now": list(result.missing_now),
            "windows_before_logs": windows_before_logs(
                result.missing_now,
                result.as_of,
                dataset,
                cfg.features,
                {t: s.get("first") for t, s in spans.items()},
            ),
        },
        "written_by": MARKER,  # the marker: this folder is churnml's to replace
    }


def empty_columns_read_by(features: Iterable[str], empty: Iterable[str]) -> list[str]:
    """The empty optional columns (``table.column``) that ``features`` read
    (:data:`churnml.features.build.OPTIONAL_COLUMN_FEATURES`): what may leave those features missing.
    Another empty column of the same table (``tickets.priority`` beside a missing CSAT feature) is no cause."""
    from churnml.features.build import OPTIONAL_COLUMN_FEATURES

    names = list(features)
    return [c for c in empty if any(n.startswith(OPTIONAL_COLUMN_FEATURES.get(c, ())) for n in names)]


def same_window_groups(before_logs: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """The records of :func:`churnml.features.build.windows_before_logs` (one per table and window) grouped by
    window, first record and day the window is whole (tables whose logs began the same day), in their order."""
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for r in before_logs:
        groups.setdefault(
            (r["window_days"], r["window_from"], r["first_record"], r["known_from"]), []
        ).append(r)
    return list(groups.values())


def windows_before_logs_text(group: Sequence[Mapping[str, Any]]) -> str:
    """One window of :func:`same_window_groups` for people: "the 182-day windows from 2026-02-08 of events
    (6 features), before its first record on 2026-03-01 (whole in lists from 2026-08-30)"."""
    first = group[0]
    tables = [f"{r['table']} ({len(r['features'])})" for r in group]
    n = len(first["features"])
    tables[0] = f"{first['table']} ({n} feature{'s' if n != 1 else ''})"
    said = ", ".join(tables[:-1]) + f" and {tables[-1]}" if len(tables) > 1 else tables[0]
    return (
        f"the {first['window_days']}-day windows from {first['window_from']} of {said}, before "
        f"{'its' if len(group) == 1 else 'their'} first record{'s' if len(group) > 1 else ''} on "
        f"{first['first_record']} (whole in lists from {first['known_from']})"
    )


def missing_features_warning(
    dark: Sequence[str], empty: Iterable[str], before_logs: Sequence[Mapping[str, Any]] = ()
) -> str:
    """The warning for the features the model learned from that are missing for every client scored now
    (``dark``), with their cause: a window reaching back before the first record of the table it reads
    (``before_logs``: :func:`churnml.features.build.windows_before_logs`, one record per table and window: "the
    182-day windows from 2026-02-08 reach back before the first record of events, 2026-03-01"), else no record
    in the window (data that ends days before the as-of date) or an empty column they read (``empty``:
    ``table.column``, :func:`empty_columns_read_by`)."""

    def listed(names: Sequence[str]) -> str:
        return f"{', '.join(names[:10])}{', ...' if len(names) > 10 else ''}"

    n = len(dark)
    text = (
        f"{n} feature{'s' if n != 1 else ''} the model learned from {'are' if n != 1 else 'is'} missing for "
        f"every client scored now and move{'' if n != 1 else 's'} the scores: {listed(dark)}."
    )
    explained = {f for record in before_logs for f in record["features"]}
    if before_logs:
        windows = "; ".join(windows_before_logs_text(group) for group in same_window_groups(before_logs))
        whose = (
            "Their windows reach"
            if explained == set(dark)
            else f"{len(explained)} of them read windows reaching"
        )
        text += (
            f" {whose} back before the first record of the table they read, which churnml leaves unknown "
            f"(features.unobserved_windows): {windows}."
        )
    rest = [f for f in dark if f not in explained]
    if rest:
        causes = "no client on the list has such a record in the feature's window (the data may end days "
        causes += "before the as-of date, emptying the short windows)"
        read = empty_columns_read_by(rest, empty)
        if read:
            causes += (
                f", or the column it reads is empty (optional column(s) {', '.join(read)} hold no value)"
            )
        lead = f" For the other {len(rest)} ({listed(rest)}): either" if explained else " Either"
        text += f"{lead} {causes}."
    fields = "data.features_missing_now" + (", data.windows_before_logs" if before_logs else "")
    return f"{text[:-1]} (manifest.json, {fields})"


def model_record(model: Mapping[str, Any], metadata: Mapping[str, Any], as_of: date) -> dict[str, Any]:
    """The manifest's ``model`` entry with the champion gate's verdict (``promoted``, ``promotion_reason``:
    null for a model trained before the gate recorded them), the day up to which it learned who churned
    (``learned_outcomes_until``) and whether that reaches into the horizon of this list dated ``as_of``
    (``hindsight``: a back-dated list scored with a later model; what the post-mortem counts)."""
    from churnml.modeling.card import ModelCard

    card = ModelCard.from_dict(metadata)
    until = card.learned_outcomes_until()
    return {
        **dict(model),
        "promoted": card.promoted,
        "promotion_reason": card.promotion_reason,
        "learned_outcomes_until": None if until is None else until.isoformat(),
        "hindsight": card.hindsight_note(as_of) is not None,
    }


def _scored_list(
    dataset: Any,
    day: date,
    fitted: Any,
    metadata: Mapping[str, Any],
    known: Any,
    batches: Any,
    cfg: Config,
    progress: Callable[[str], None],
    hint: str = "",
) -> Any:
    """:func:`churnml.scoring.assemble.scored_list` with the config's sections; a scoring error is the
    user's (its message says what to fix; a feature mismatch adds ``hint``, :func:`config_hint`)."""
    from churnml.scoring.assemble import FeatureMismatch, ScoringError, scored_list

    try:
        return scored_list(
            dataset,
            day,
            fitted,
            metadata,
            label=cfg.label,
            features=cfg.features,
            score=cfg.score,
            value=cfg.value,
            rules=cfg.rules,
            playbooks=cfg.playbooks,
            known_history=known,
            progress=progress,
            batches=batches,
            early_renewal_share=cfg.data.early_renewal_share,
        )
    except FeatureMismatch as exc:
        raise UserError(f"{exc}{hint}") from None
    except ScoringError as exc:
        raise UserError(str(exc)) from None


def with_future_as_of(cfg: Config, as_of: date | None) -> Config:
    """``cfg`` reading data up to ``--as-of`` when that day is still to come by this machine's clock and
    ``data.as_of`` is not set: the future-timestamp check, which otherwise stops at now, gets the days to
    the end of it (``data.future_tolerance_days``; an export of tomorrow's first hours, scored as of the day
    after, was refused). The data's own end is left alone (its staleness is still said)."""
    if as_of is None or cfg.data.as_of is not None:
        return cfg
    from churnml.contract.io import data_clock

    now, day = data_clock(cfg.data), datetime(as_of.year, as_of.month, as_of.day)
    if day <= now:
        return cfg
    tolerance = cfg.data.future_tolerance_days + (day + timedelta(days=1) - now).days + 1
    return cfg.model_copy(update={"data": cfg.data.model_copy(update={"future_tolerance_days": tolerance})})


def score(
    data: Path | None,
    cfg: Config,
    as_of: date | None,
    out: Path | None,
    model: str | None,
    progress: Callable[[str], None] | None = None,
    spark_master: str | None = None,
    spark_driver_memory: str | None = None,
) -> ScoreRun:
    """``churnml score``: the weekly list of every client active at ``as_of`` (default: the day after
    the last data) in ``out`` (default ``<paths.scores>/<as-of>/``); steps in the module docstring.
    ``spark_master``, ``spark_driver_memory``: the session churnml starts on the Spark engine (None: its
    defaults, :func:`churnml.jobs.score_spark.score_on_spark`)."""
    from churnml.contract.io import dataset_name as name_of_dataset
    from churnml.jobs.reports import page_links
    from churnml.jobs.score_data import (
        open_scoring_data,
        recent_daily_events,
        removed_stale_scratch,
        scratch_folder,
        with_read_notes,
    )
    from churnml.jobs.week_store import (
        STORE_KEY,
        reusable_store,
        store_record,
        store_said,
        store_unused_said,
    )
    from churnml.scoring.assemble import history_plan, listed_spine, model_version
    from churnml.scoring.outputs import (
        checked_list_of,
        checked_output_folder,
        checked_output_path,
        last_list_folder,
        previous_list,
        protected_folders,
        read_previous_history,
        write_scores_atomically,
    )
    from churnml.scoring.window import onboarding_ends, scoring_window

    cfg = with_future_as_of(cfg, as_of)
    if cfg.features.engine == "spark":  # Spark end to end: churnml.jobs.score_spark
        from churnml.jobs.score_spark import score_on_spark

        unused = store_unused_said(cfg.score.client_week_store, "spark", batched=False)
        if unused and progress is not None:
            progress(unused)

        return score_on_spark(  # type: ignore[no-any-return]
            data, cfg, as_of, out, model, progress, master=spark_master, driver_memory=spark_driver_memory
        )
    step = progress or (lambda _m: None)
    folder_in = data_folder(data, cfg)
    cfg = config_for(folder_in, cfg)
    dataset_name = name_of_dataset(folder_in, cfg.data)
    protected = protected_folders(folder_in)
    if out is not None:  # refused before any work: churnml only replaces what it wrote
        checked_output_path(out, protected)
        checked_output_folder(out)
    if (
        out is None
    ):  # the default folder's place, refused before the model loads (its date comes with the data)
        checked_output_path(cfg.paths.scores / UNDATED, protected, "the list folder (paths.scores)")
    timer = Timer()
    # the model before the data: a missing or refused model is said before the data is read (a minute on
    # a large export)
    step("loading the model")
    done = timer.step("load_model")
    fitted, metadata, source = scoring_model(model, cfg, dataset_name)
    done()
    hint = config_hint(folder_in)
    _checked_settings(metadata, cfg, source, folder_in)
    step("reading the data")
    done = timer.step("read")
    opened = open_scoring_data(folder_in, cfg)
    done()
    day = as_of or opened.as_of.date()
    partial = None
    if as_of is None and cfg.data.as_of is None:  # the default date: the day after a whole last day
        partial = partial_last_day_note(*recent_daily_events(opened, day - timedelta(days=1)))
        day = day - timedelta(days=1) if partial else day
    folder = out if out is not None else checked_list_of(cfg.paths.scores / day.isoformat(), dataset_name)
    if out is None:  # the default folder is known once the data says its date
        checked_output_path(folder, protected, "the list folder (paths.scores)")
        checked_output_folder(folder, flag="the list folder (paths.scores)")
    version = model_version(metadata)
    chash = config_hash(cfg)
    known = None
    # the last list written (a week without one, a holiday or a failed run, leaves the one before it)
    last_week = last_list_folder(folder.parent, day, dataset_name)
    if version != "unknown":
        known = read_previous_history(last_week, version, history_hash(cfg), dataset_name)
    done = timer.step("read_marks")
    plan = history_plan(known, day, cfg.score.history_weeks)
    dataset, batches, reads = opened.read(day, plan.todo)
    if batches is not None and plan.reused:
        # a listed client without last week's rows is scored at the reused weeks too: read its events there
        spine, _ids = listed_spine(dataset, plan.todo, day, cfg.label, known=plan.known, reused=plan.reused)
        weeks = spine.get_column(SNAPSHOT).unique().to_list()
        batches = batches.widened(scoring_window(day, weeks, cfg.features))
    store, store_reason = None, None
    if batches is not None and reads is not None and cfg.score.client_week_store:
        store, store_reason = reusable_store(
            last_week,
            history_hash(cfg),
            dataset_name,
            batches.window.start,
            batches.window.end,
            reads.day_rows,
            batches.scan.collect_schema(),
            onboarding_ends(batches.small[Table.CLIENTS], cfg.features),
        )
        batches = batches.with_store(store)
        step(store_said(store, store_reason))
    elif unused := store_unused_said(cfg.score.client_week_store, cfg.features.engine, batches is not None):
        step(unused)
    done()
    left_behind = removed_stale_scratch(cfg.score.scratch_dir)  # by runs killed before their cleanup
    store_files: dict[str, bytes] = {}
    with scratch_folder(cfg.score.scratch_dir) as scratch:  # removed when the list is scored, or on error
        if batches is not None:
            done = timer.step("read_spill")
            batches = batches.spilled(scratch)
            done()
        result = _scored_list(dataset, day, fitted, metadata, known, batches, cfg, step, hint)
        if batches is not None:
            done = timer.step("client_week_store")
            store_files = batches.store_files()
            done()
    step("writing the report")
    done = timer.step("report")
    notes = replace(
        list_notes(
            result,
            metadata,
            cfg,
            day,
            dataset_name,
            asked=model is not None,
            data_end=dataset.as_of.date(),
            horizon_reach=horizon_reach_note(dataset.get(Table.SUBSCRIPTIONS), opened.cfg.label, day),
        ),
        partial=partial,
        scratch=left_behind,
    )
    changed_model, rescored = _last_week_notes(last_week, version, result, day)
    notes = replace(
        notes, model_change=changed_model, rescored=rescored, missed=missed_weeks_note(last_week, day)
    )
    links = page_links(folder, "report", cfg, dataset_name) if out is None else []
    left = left_since_last_list(previous_list(folder.parent, day, dataset_name), result, dataset, day, cfg)
    files = _list_files(result, _report(result, day, version, cfg, notes, links, left))
    files.update(store_files)
    done()
    step("writing the list")
    reused = len(plan.reused)  # the weeks taken from last week's file (this week and last: scored afresh)
    read_s = {} if reads is None else {"read_batches": round(reads.seconds, 3)}
    if reads is not None and batches is not None and batches.store_on:
        read_s["client_weeks_batches"] = round(reads.client_weeks_seconds, 3)
    timings = {**timer.seconds, **result.timings, **read_s, "total": timer.total()}
    manifest = _manifest(result, dataset, metadata, version, source, chash, files, reused, timings, cfg)
    if store is not None and reads is not None:  # the stored weeks' optional columns count as read
        reads.filled |= store.columns()
    manifest["data"] = with_read_notes(manifest["data"], dataset, reads)
    if store_files and batches is not None and reads is not None and reads.day_rows is not None:
        manifest["data"][STORE_KEY] = store_record(
            batches.window.start,
            batches.window.end,
            reads.day_rows,
            batches.week_filled,
            history_hash(cfg),
            store,
            store_reason,
        )
    manifest["left_since_last_list"] = left_record(left)
    data_notes = manifest["data"]
    lagging, empty, dark = (
        data_notes["lagging_tables"],
        data_notes["empty_optional_columns"],
        data_notes["features_missing_now"],
    )
    files["manifest.json"] = (json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n").encode()
    changed = write_scores_atomically(folder, files)
    step("done")
    return ScoreRun(
        folder=folder,
        day=day,
        version=version,
        result=result,
        manifest=manifest,
        changed=changed,
        lagging=lagging,
        empty_columns=empty,
        dark_features=dark,
        timer=timer,
        reads=reads,
        notes=notes,
    )
