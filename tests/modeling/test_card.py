"""The model card: the keys train writes are the keys score reads."""

from __future__ import annotations

import json
from dataclasses import fields

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
