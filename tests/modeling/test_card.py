"""The model card: the keys train writes are the keys score reads."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import date

import pytest

from churnml.modeling.card import ModelCard
from churnml.scoring.assemble import feature_drift, model_version


def test_the_card_round_trips_through_json() -> None:
    card = ModelCard(
        model_name="churnml",
        label={"source": "churns", "horizon_days": 90},
        feature_reference={"f": {"edges": [0.0, 1.0], "proportions": [0.5, 0.5], "missing": 0.0}},
        rows={"labeled": 10},
        promoted=False,
        run_id="abc",
    )
    text = json.dumps(card.to_dict(), sort_keys=True)
    assert ModelCard.from_dict(json.loads(text)) == card
    assert set(card.to_dict()) == {"model_name", "label", "feature_reference", "rows", "promoted", "run_id"}


def test_export_keys_are_not_part_of_the_card() -> None:
    card = ModelCard.from_dict({"model_version": "3", "files": {"model.txt": "ab"}, "params": {}})
    assert card.to_dict() == {"model_version": "3"}
    assert {f.name for f in fields(ModelCard)}.isdisjoint({"files", "params", "format_version"})


def test_the_version_is_the_registry_version_else_the_run_id() -> None:
    assert model_version({"model_version": "7", "run_id": "r1"}) == "7"
    assert model_version({"run_id": "r1"}) == "r1"
    assert model_version({"model_version": "", "run_id": ""}) == "unknown"
    assert model_version({}) == "unknown"


def test_drift_reads_the_cards_reference() -> None:
    import numpy as np

    reference = {"f": {"edges": [0.5], "proportions": [0.5, 0.5], "missing": 0.0}}
    X = np.array([[0.0], [1.0], [0.0], [1.0]])
    assert feature_drift(X, ["f"], {"feature_reference": reference}) == {"f": 0.0}
    assert feature_drift(X, ["f"], {}) == {}


@pytest.mark.parametrize(
    ("promoted", "reason", "expected"),
    [
        (True, "beats the champion", None),
        (None, None, None),  # trained before the gate recorded its verdict
        (
            False,
            "loses to the logistic baseline on the backtest (pr_auc 0.5981 vs 0.6172)",
            "the model was not promoted by the champion gate (loses to the logistic baseline on the backtest "
            "(pr_auc 0.5981 vs 0.6172)): no model has earned the champion alias on this data yet, so this "
            "list uses it; weigh its ranking against the rules that fired",
        ),
    ],
)
def test_a_list_says_when_its_model_was_not_promoted(promoted, reason, expected) -> None:
    assert ModelCard(promoted=promoted, promotion_reason=reason).unpromoted_note() == expected


def test_a_model_named_by_the_user_or_from_another_dataset_is_said_so() -> None:
    card = ModelCard(promoted=False, promotion_reason="no backtest estimate", dataset="ws_free")
    # --model named it: a champion may well exist, so the note does not claim there is none
    assert card.unpromoted_note(asked=True) == (
        "the model was not promoted by the champion gate (no backtest estimate): this list uses it because "
        "--model names it; weigh its ranking against the rules that fired"
    )
    assert card.other_data_note("ws_free") is None
    assert card.other_data_note("ws") == (
        "the model learned from the dataset 'ws_free', not from 'ws': its probabilities and reasons are that "
        "data's; train one on this data for a list of its own, or, if it is that data under another name (an "
        "export folder per date), set data.name: ws_free"
    )
    assert ModelCard().other_data_note("ws") is None  # a card that does not say


@pytest.mark.parametrize(
    ("card", "as_of", "until", "hindsight"),
    [
        # labeled snapshots end 2024-06-03, horizon 90: the model learned churns up to 2024-09-01
        (
            ModelCard(training_window=["2024-01-01", "2024-06-03"], label={"horizon_days": 90}),
            "2024-08-31",
            "2024-09-01",
            True,
        ),
        (
            ModelCard(training_window=["2024-01-01", "2024-06-03"], label={"horizon_days": 90}),
            "2024-09-01",
            "2024-09-01",
            False,
        ),
        (
            ModelCard(training_window=["2024-01-01", "2024-06-03"], label={"horizon_days": 90}),
            "2024-03-04",
            "2024-09-01",
            True,
        ),
        # an older card with the horizon at the top level; a card without a window cannot tell
        (
            ModelCard(training_window=["2024-01-01", "2024-06-03"], horizon_days=28),
            "2024-06-10",
            "2024-07-01",
            True,
        ),
        (ModelCard(label={"horizon_days": 90}), "2024-01-01", None, False),
        # under the subscriptions label the last snapshot's label waited the grace (30 days): a term ending
        # on 2024-08-29 renewed on 2024-09-11 made it 0, so a list dated 2024-09-08 (that client in its grace)
        # asks what the model was told
        (
            ModelCard(
                training_window=["2024-01-01", "2024-06-03"],
                label={"source": "subscriptions", "horizon_days": 90, "grace_days": 30},
            ),
            "2024-09-08",
            "2024-10-01",
            True,
        ),
        (
            ModelCard(
                training_window=["2024-01-01", "2024-06-03"],
                label={"source": "mixed", "horizon_days": 90, "grace_days": 14},
            ),
            "2024-09-15",
            "2024-09-15",
            False,
        ),
        # no lag under the inactivity label: its label of a snapshot is known once the horizon has passed
        (
            ModelCard(
                training_window=["2024-01-01", "2024-06-03"],
                label={"source": "inactivity", "horizon_days": 90, "grace_days": 30},
            ),
            "2024-09-08",
            "2024-09-01",
            False,
        ),
    ],
)
def test_a_list_dated_before_the_outcomes_the_model_learned_is_scored_with_hindsight(
    card: ModelCard, as_of: str, until: str | None, hindsight: bool
) -> None:
    from datetime import date

    learned = card.learned_outcomes_until()
    assert (None if learned is None else learned.isoformat()) == until
    note = card.hindsight_note(date.fromisoformat(as_of))
    assert (note is not None) is hindsight
    if note:
        assert note.startswith(f"this list is dated {as_of}, but the model learned who churned up to {until}")


def test_the_manifest_records_hindsight(tmp_path) -> None:
    from datetime import date

    from churnml.jobs.score import model_record
    from churnml.scoring.outputs import written_with_hindsight

    meta = {"training_window": ["2024-01-01", "2024-06-03"], "label": {"horizon_days": 90}, "promoted": True}
    record = model_record({"version": "3"}, meta, date(2024, 7, 1))
    assert record == {
        "version": "3",
        "promoted": True,
        "promotion_reason": None,
        "learned_outcomes_until": "2024-09-01",
        "hindsight": True,
    }
    assert model_record({"version": "3"}, meta, date(2024, 9, 2))["hindsight"] is False
    (tmp_path / "back").mkdir()
    (tmp_path / "back" / "manifest.json").write_text(json.dumps({"model": record}))
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text(json.dumps({"model": {"version": "1"}}))
    assert written_with_hindsight(tmp_path / "back") is True
    assert written_with_hindsight(tmp_path / "old") is False  # written before manifests said
    assert written_with_hindsight(tmp_path / "missing") is False


@pytest.mark.parametrize(
    ("data_start", "last_snapshot", "expected"),
    [
        # 6 months of monthly terms: the 210-day windows were still filling when it learned
        (
            "2026-03-03",
            "2026-08-31",
            "at most 181 days into the data (2026-03-03 on), before its longest windows (210",
        ),
        ("2024-01-01", "2024-07-29", None),  # 210 days into the data: old enough
        ("2024-01-01", "2025-09-01", None),
    ],
)
def test_a_model_trained_on_young_data_says_why_its_features_drift(
    data_start, last_snapshot, expected
) -> None:
    card = ModelCard(data_window=[data_start, "2026-11-01"], training_window=["2024-01-29", last_snapshot])
    got = card.young_data_note(210)
    if expected is None:
        assert got is None
    else:
        assert got is not None and expected in got and got.startswith("expected on young data")
    assert ModelCard().young_data_note(210) is None  # an older card without the windows


@pytest.mark.parametrize(
    ("as_of", "drifted", "expected"),
    [
        # a Tuesday list of a model of Monday snapshots whose recency features drifted
        (
            date(2026, 12, 1),
            ["usage_days_since_event"],
            "this list is dated a Tuesday and the model learned from Monday snapshots: the days since the last "
            "event or login read differently on another weekday when activity has a weekly rhythm; score on "
            "Mondays (--as-of 2026-11-30) or train with snapshots.weekday: 1",
        ),
        (date(2026, 12, 1), ["payments_mrr"], None),  # no recency feature drifted: no sign of a rhythm
        (date(2026, 11, 30), ["usage_days_since_event"], None),  # a Monday list
    ],
)
def test_a_list_on_another_weekday_than_the_snapshots_says_so(as_of, drifted, expected) -> None:
    card = ModelCard(training_window=["2025-01-06", "2026-08-31"])  # Mondays
    assert card.weekday_note(as_of, drifted) == expected


@pytest.mark.parametrize(
    ("horizon", "expected_end"),
    [
        # labels learned to 2026-12-01 (Monday 2026-08-31 + 92 days): Monday 2026-11-30 is a look back
        (
            92,
            "train with snapshots.weekday: 1 (a list on Monday 2026-11-30 would be a look back: the model "
            "learned who churned up to 2026-12-01)",
        ),
        # labels learned to 2026-11-29: the Monday before the list is a list like any other
        (90, "score on Mondays (--as-of 2026-11-30) or train with snapshots.weekday: 1"),
    ],
)
def test_the_weekday_note_never_sends_the_list_to_a_day_whose_outcomes_the_model_learned(
    horizon, expected_end
) -> None:
    # a B2B SaaS's default list (Tuesday 2026-12-01) was told to score Monday 2026-11-30, where the hindsight
    # warning then said "the model learned who churned up to 2026-12-01 ... the list flatters the model"
    card = ModelCard(training_window=["2025-01-06", "2026-08-31"], label={"horizon_days": horizon})
    note = card.weekday_note(date(2026, 12, 1), ["usage_days_since_event"])
    assert note is not None and note.endswith(expected_end), note


@pytest.mark.parametrize(
    ("first", "last", "as_of", "horizon", "unseen"),
    [
        # outcomes 2025-01-01 .. 2025-03-31; the list of 2025-03-31 looks at 2025-04-01 .. 04-03: all unseen
        ("2025-01-01", "2025-03-31", "2025-03-31", 3, ["2025-04-01", "2025-04-02", "2025-04-03"]),
        # a year later the same calendar days were seen
        ("2025-01-01", "2025-03-31", "2026-01-01", 3, []),
        # the horizon straddles the end of the span: only the days beyond it
        ("2025-01-01", "2025-03-31", "2026-03-30", 3, ["2026-04-01", "2026-04-02"]),
    ],
)
def test_unseen_calendar_days_are_the_horizon_days_no_learned_day_shared(
    first: str, last: str, as_of: str, horizon: int, unseen: list[str]
) -> None:
    from churnml.modeling.card import unseen_calendar_days

    days = unseen_calendar_days(
        date.fromisoformat(first), date.fromisoformat(last), date.fromisoformat(as_of), horizon
    )
    assert [d.isoformat() for d in days] == unseen


@pytest.mark.parametrize(
    ("window", "horizon", "as_of", "said"),
    [
        # learned outcomes 2025-02-03 .. 2025-07-04 (snapshots to 06-04, horizon 30): the list of 07-05
        # looks into July 6 .. August 4, never seen
        (["2025-02-03", "2025-06-04"], 30, "2025-07-05", "(July to August)"),
        # half the horizon unseen is said; the 30 days from 2025-06-19 have 15 days beyond 07-04
        (["2025-02-03", "2025-06-04"], 30, "2025-06-19", "(July)"),
        # under half is not
        (["2025-02-03", "2025-06-04"], 30, "2025-06-18", None),
        # a year of outcomes has seen every season
        (["2024-06-01", "2025-06-04"], 30, "2025-07-05", None),
        # the next spring was seen the spring before
        (["2025-02-03", "2025-06-04"], 30, "2026-03-01", None),
    ],
)
def test_a_list_looking_into_a_time_of_year_the_model_never_saw_says_so(
    window: list[str], horizon: int, as_of: str, said: str | None
) -> None:
    card = ModelCard(training_window=window, label={"source": "inactivity", "horizon_days": horizon})
    note = card.unseen_season_note(date.fromisoformat(as_of))
    if said is None:
        assert note is None
    else:
        assert note is not None and said in note
        assert note.startswith(f"the model learned who churned between {window[0]} and ")


def test_a_card_without_a_window_says_nothing_of_seasons() -> None:
    assert ModelCard(label={"horizon_days": 30}).unseen_season_note(date(2025, 7, 5)) is None
