"""The model card: what training records about a model, written by ``churnml train`` beside the exported
model (``metadata.json``) and logged with it in MLflow, and read back by ``churnml score``.

One frozen dataclass, so the keys written are the keys read: :meth:`ModelCard.to_dict` gives the JSON
mapping (fields that are not set are left out), :meth:`ModelCard.from_dict` reads it back from
``metadata.json`` or the tracking store (the export's own file-format keys, ``files``, ``params``, ...,
belong to :mod:`churnml.modeling.export` and are not part of the card).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

__all__ = ["ModelCard", "unseen_calendar_days"]


def unseen_calendar_days(first: date, last: date, as_of: date, horizon_days: int) -> list[date]:
    """The days of a list's horizon, ``as_of`` + 1 to ``as_of`` + ``horizon_days``, whose calendar day
    (month and day, any year) no day from ``first`` to ``last`` had: the time of year a model whose
    outcomes span ``first`` to ``last`` never saw. In date order."""
    seen = {(d.month, d.day) for d in (first + timedelta(days=i) for i in range((last - first).days + 1))}
    ahead = (as_of + timedelta(days=i) for i in range(1, horizon_days + 1))
    return [d for d in ahead if (d.month, d.day) not in seen]


@dataclass(frozen=True)
class ModelCard:
    """The training record of one model.

    ``label`` and ``features_config`` are the label and feature settings it was trained with (scoring
    refuses other label settings); ``feature_reference`` the training distribution of each feature
    (drift), ``season_reference`` its last year's snapshots on the same bins (drift against the same weeks
    of an earlier year: :func:`churnml.modeling.export.season_reference`); ``model_version`` the registry version, set when the model is registered or loaded from
    the registry; ``promoted`` and ``promotion_reason`` the champion gate's verdict.
    """

    model_name: str | None = None
    trained_at: str | None = None
    config_hash: str | None = None
    label: dict[str, Any] | None = None
    features_config: dict[str, Any] | None = None
    timezone: str | None = None  # data.timezone: the days its features were counted in
    horizon_days: int | None = None
    dataset: str | None = None
    data_window: list[str] | None = None
    training_window: list[str] | None = None
    rows: dict[str, int] | None = None
    rounds: str | None = None
    calibration_source: str | None = None
    procedure: dict[str, Any] | None = None
    monotone_features: list[str] | None = None
    backtest: dict[str, Any] | None = None
    backtest_metrics: dict[str, dict[str, float]] | None = None
    feature_reference: dict[str, Any] | None = None
    season_reference: dict[str, Any] | None = None
    promoted: bool | None = None
    promotion_reason: str | None = None
    run_id: str | None = None
    model_version: str | None = None

    def unpromoted_note(self, asked: bool = False) -> str | None:
        """What a list scored with this model must say when the champion gate refused it: ``None`` for a
        champion or a card without a verdict. ``asked``: ``--model`` named it (a champion may exist);
        otherwise it is used because no model holds the champion alias on this data."""
        if self.promoted is not False:
            return None
        why = f" ({self.promotion_reason})" if self.promotion_reason else ""
        used = (
            "this list uses it because --model names it"
            if asked
            else "no model has earned the champion alias on this data yet, so this list uses it"
        )
        return f"the model was not promoted by the champion gate{why}: {used}; weigh its ranking against the rules that fired"

    def other_data_note(self, dataset_name: str) -> str | None:
        """What a list must say when its model learned from another dataset (a folder of another name):
        None when it learned from this one, or the card does not say."""
        if self.dataset in (None, dataset_name):
            return None
        return (
            f"the model learned from the dataset {self.dataset!r}, not from {dataset_name!r}: its "
            "probabilities and reasons are that data's; train one on this data for a list of its own, or, if it is "
            f"that data under another name (an export folder per date), set data.name: {self.dataset}"
        )

    def training_churn_rate(self) -> float | None:
        """The share of churners among the labeled rows the model learned from; None when not recorded."""
        rows = self.rows or {}
        labeled, positives = rows.get("labeled"), rows.get("positives")
        return positives / labeled if labeled and positives is not None else None

    def last_labeled_snapshot(self) -> date | None:
        """The end of the training window (the model's last labeled snapshot); None when not recorded."""
        return date.fromisoformat(str(self.training_window[1])[:10]) if self.training_window else None

    def young_data_note(self, look_back_days: int) -> str | None:
        """Why features drift on young data: the model's last training snapshot came fewer than
        ``look_back_days`` (the longest feature look-back) after the data's start, so the long windows and
        baselines were still filling in everything it learned from, and the clients' tenure was shorter,
        than at a later as-of date. None when its training data was old enough, or the card cannot tell."""
        last = self.last_labeled_snapshot()
        if last is None or not self.data_window:
            return None
        start = date.fromisoformat(str(self.data_window[0])[:10])
        days = (last - start).days
        if days >= look_back_days:
            return None
        return (
            f"expected on young data: the model learned from snapshots at most {days} days into the data "
            f"({start} on), before its longest windows ({look_back_days} days) could fill, so long windows, "
            "trends against the client's own baseline and tenure read differently at this date; retraining "
            "as the data grows brings them in line"
        )

    def weekday_note(self, as_of: date, drifted: Iterable[str]) -> str | None:
        """Why recency features drift on a list dated another weekday than the model's snapshots: a weekly
        rhythm in the data (quiet weekends) reads differently a day later ("days since the last event" is
        2 on a Monday and 1 on a Tuesday). Said only when the days since product use or a contact drifted
        (``drifted``);
        None otherwise, or when the card does not say its snapshots."""
        last = self.last_labeled_snapshot()
        weekly = ("usage_days_since", "comm_days_since")  # activity with a weekly rhythm; billing has its own
        if (
            last is None
            or last.weekday() == as_of.weekday()
            or not any(f.startswith(weekly) for f in drifted)
        ):
            return None
        day, learned = as_of.strftime("%A"), last.strftime("%A")
        back = as_of - timedelta(days=(as_of.weekday() - last.weekday()) % 7)
        said = (
            f"this list is dated a {day} and the model learned from {learned} snapshots: the days since the "
            f"last event or login read differently on another weekday when activity has a weekly rhythm; "
        )
        if self.hindsight_note(back) is not None:
            # the earlier weekday is a look back at outcomes the model learned: not a way on
            return (
                f"{said}train with snapshots.weekday: {as_of.weekday()} (a list on {learned} {back} would be "
                f"a look back: the model learned who churned up to {self.learned_outcomes_until()})"
            )
        return (
            f"{said}score on {learned}s (--as-of {back}) or train with snapshots.weekday: {as_of.weekday()}"
        )

    def learned_outcomes_until(self) -> date | None:
        """The day up to which the model learned who churned: its last labeled snapshot plus the label
        horizon (the label of a snapshot ``s`` says whether the client churned in ``(s, s + horizon]``) plus
        the label lag (:func:`churnml.labels.label_lag_days`: under the subscriptions and mixed labels a term
        that ended before ``s + horizon`` is a churn only once its grace passed unrenewed, so the label of
        the last snapshot was decided by renewals up to ``grace_days`` later: a client in its grace on a
        list dated inside that lag is one whose renewal the model was told); None when the card lacks the
        window or the horizon."""
        horizon = self.label_horizon_days()
        last = self.last_labeled_snapshot()
        if last is None or horizon is None:
            return None
        return last + timedelta(days=horizon + self._label_lag_days())

    def label_horizon_days(self) -> int | None:
        """The label horizon the model was trained with: the label settings' ``horizon_days``, else the card's
        top-level one (an older card); None when neither is recorded."""
        horizon = (self.label or {}).get("horizon_days", self.horizon_days)
        return None if horizon is None else int(horizon)

    def _label_lag_days(self) -> int:
        """The label lag of the card's label settings (:func:`churnml.labels.label_lag_days`); 0 when the
        card does not name its label source (a card written before it was recorded)."""
        from churnml.config import LabelConfig
        from churnml.labels import label_lag_days

        label = self.label or {}
        if label.get("source") in (None, "auto"):
            return 0
        return label_lag_days(LabelConfig(**{k: label[k] for k in ("source", "grace_days") if k in label}))

    def hindsight_note(self, as_of: date) -> str | None:
        """What a list dated ``as_of`` must say when the model learned outcomes that fall in the list's
        own horizon (a back-dated list scored with a later model): ``None`` when it did not, or the card
        cannot tell."""
        until = self.learned_outcomes_until()
        if until is None or as_of >= until:
            return None
        return (
            f"this list is dated {as_of}, but the model learned who churned up to {until} (its labeled "
            f"snapshots end on {self.last_labeled_snapshot()}): it has seen outcomes this list "
            "predicts, so the list flatters the model; fine for a look back, not a measure of it (the "
            "backtest is)"
        )

    def unseen_season_note(self, as_of: date) -> str | None:
        """What a list dated ``as_of`` must say when the weeks it looks ahead into (``as_of`` to ``as_of`` +
        the horizon) fall mostly in a time of year the model never learned outcomes of: its outcomes run
        from its first labeled snapshot to :meth:`learned_outcomes_until`, and when that is under a year,
        a season's own habits (a summer lull, a year-end rush) are not in its probabilities. Said when at
        least half the list's horizon falls on calendar days (month and day) outside that span; None
        otherwise, after a year of outcomes, or when the card cannot tell."""
        until, horizon = self.learned_outcomes_until(), self.label_horizon_days()
        if until is None or horizon is None or not self.training_window:
            return None
        first = date.fromisoformat(str(self.training_window[0])[:10])
        if (until - first).days >= 365:
            return None
        unseen = unseen_calendar_days(first, until, as_of, horizon)
        if 2 * len(unseen) < horizon:
            return None
        months = list(dict.fromkeys(day.strftime("%B") for day in unseen))
        said = months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"
        return (
            f"the model learned who churned between {first} and {until} only, under a year: the weeks this "
            f"list looks ahead into ({said}) are a time of year it has not seen, so a season's own habits "
            "(a summer lull, a year-end rush) are not in its probabilities; retraining once the data holds "
            "a year teaches them"
        )

    def to_dict(self) -> dict[str, Any]:
        """The card as the JSON mapping of ``metadata.json``: every field that is set, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def from_dict(cls, metadata: Mapping[str, Any]) -> ModelCard:
        """The card of a model's metadata (``metadata.json`` or the tracking store's); other keys are
        the export's and are ignored."""
        return cls(**{f.name: metadata.get(f.name) for f in fields(cls)})

    @property
    def version(self) -> str:
        """The model's version: the registry version, else the run id, else ``"unknown"``."""
        for value in (self.model_version, self.run_id):
            if value not in (None, ""):
                return str(value)
        return "unknown"
