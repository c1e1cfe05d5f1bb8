"""``label.source: mixed`` end to end: train and score a small generated shop of subscribers and one-off buyers
via the CLI, and the notes, the list's departure reasons and the rules that read the label source."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from churnml.cli import app
from churnml.config import DataConfig, LabelConfig, RulesConfig
from churnml.contract.io import read_dataset
from churnml.labels import active_spine
from churnml.scoring.outputs import Scores
from cli_settings import FAST_TRAIN, set_flags

START, END = datetime(2024, 1, 1), datetime(2024, 10, 31)
MIXED_SETS = [
    "label.source=mixed",
    "label.inactivity_days=28",
    "label.grace_days=14",
    "rules.no_activity_days=14",
]


def mixed_shop(folder: Path, subscribers: int = 40, buyers: int = 80, seed: int = 5) -> dict[str, str]:
    """A shop of ``subscribers`` on monthly terms (an order at each term's start, 6% leave at each renewal)
    and ``buyers`` buying one-off (an order every 12 days on average, 10% buy nothing more after each);
    every client visits twice a week, a leaver a tenth as often in its last 6 weeks. Writes clients, payments,
    subscriptions and events CSVs into ``folder``; returns each client's kind."""
    rng = np.random.default_rng(seed)
    clients, pays, terms, events, kind = [], [], [], [], {}
    for i in range(subscribers + buyers):
        cid = f"c{i:03d}"
        created = START + timedelta(days=float(rng.uniform(0, 90)))
        clients.append((cid, created))
        t, last = created, created
        if i < subscribers:
            kind[cid] = "subscriber"
            while t < END + timedelta(days=60):
                terms.append((cid, t, t + timedelta(days=30), 30.0))
                pays.append((cid, t, 30.0))
                last = t + timedelta(days=30)
                t = last
                if rng.random() < 0.06:
                    break
        else:
            kind[cid] = "one_off"
            while t < END:
                pays.append((cid, t, float(rng.uniform(10, 60))))
                last = t
                if rng.random() < 0.10:
                    break
                t = t + timedelta(days=float(rng.exponential(12)))
        v = created
        while v < min(END, last + timedelta(days=20)):
            events.append((cid, v, "session_start"))
            quiet = v > last - timedelta(days=42)
            v = v + timedelta(days=float(rng.exponential(35 if quiet else 3.5)))
    folder.mkdir(parents=True)
    cut = [(c, a, *r) for c, a, *r in pays if a < END]
    pl.DataFrame(clients, schema=["client_id", "created_at"], orient="row").write_csv(folder / "clients.csv")
    pl.DataFrame(cut, schema=["client_id", "paid_at", "amount"], orient="row").write_csv(
        folder / "payments.csv"
    )
    pl.DataFrame(
        [r for r in terms if r[1] < END], schema=["client_id", "start_date", "end_date", "mrr"], orient="row"
    ).write_csv(folder / "subscriptions.csv")
    pl.DataFrame(
        [e for e in events if e[1] < END], schema=["client_id", "ts", "event"], orient="row"
    ).write_csv(folder / "events.csv")
    return kind


@pytest.mark.slow
def test_train_and_score_a_mixed_shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    kind = mixed_shop(tmp_path / "raw")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    flags = set_flags([*FAST_TRAIN, *MIXED_SETS, "score.history_weeks=4", f"paths.tune={tmp_path / 'tune'}"])
    trained = run("train", "--data", "raw", "--out", "models", *flags)
    assert "no term in subscriptions" not in trained  # the termless note is the subscriptions label's
    # train says what the label made of the rows: subscribers' by their terms, one-off buyers' by inactivity
    said = " ".join(trained.split())
    assert "label.source mixed: of the " in said and " are subscribers' (a term or its grace running" in said
    assert " one-off buyers' (a churn is no order and no activity in the 28 days after;" in said
    run("score", "--data", "raw", "--out", "scores", *flags)
    scores = pl.read_parquet(tmp_path / "scores" / "scores.parquet")
    manifest = json.loads((tmp_path / "scores" / "manifest.json").read_text())
    assert manifest["model"]["version"] == "1"
    # the list is the mixed source's active clients: one-off buyers and subscribers both
    dataset = read_dataset(tmp_path / "raw", DataConfig())
    label = LabelConfig(source="mixed", horizon_days=28, inactivity_days=28, grace_days=14)
    active = active_spine(dataset, [dataset.as_of.date()], label)
    listed = set(scores.get_column(Scores.CLIENT_ID))
    assert listed == set(active.get_column("client_id"))
    assert {kind[c] for c in listed} == {"subscriber", "one_off"}
    assert scores.get_column(Scores.PROBABILITY).is_between(0, 1).all()
    # under subscriptions the same data lists no one-off buyer
    by_terms = active_spine(
        dataset, [dataset.as_of.date()], label.model_copy(update={"source": "subscriptions"})
    )
    assert {kind[c] for c in by_terms.get_column("client_id")} == {"subscriber"}


def test_departure_reasons_under_mixed() -> None:
    from churnml.contract.dataset import Dataset
    from churnml.contract.schemas import Table
    from churnml.reporting.report import departure_reasons

    dt = pl.Datetime("us")
    tables = {
        Table.CLIENTS: pl.DataFrame(
            {"client_id": ["b", "s"], "created_at": [datetime(2024, 1, 1)] * 2},
            schema_overrides={"created_at": dt},
        ),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ["s"],
                "start_date": [datetime(2024, 1, 1)],
                "end_date": [datetime(2024, 2, 1)],
                "mrr": [9.0],
            },
            schema_overrides={"start_date": dt, "end_date": dt},
        ),
        Table.PAYMENTS: pl.DataFrame(
            {
                "client_id": ["b", "s"],
                "amount": [5.0, 9.0],
                "paid_at": [datetime(2024, 1, 10), datetime(2024, 1, 1)],
            },
            schema_overrides={"paid_at": dt},
        ),
    }
    data = Dataset(tables=tables, name="t", start=datetime(2024, 1, 1), as_of=datetime(2024, 6, 1))
    label = LabelConfig(source="mixed", inactivity_days=28, grace_days=14)
    assert departure_reasons(data, ["b", "s"], date(2024, 6, 1), label) == {
        "b": "no order or activity for 28 days, the last on 2024-01-10",
        "s": "term ended 2024-02-01 and was not renewed within the 14-day grace",
    }


def test_no_activity_rule_note_under_mixed() -> None:
    from churnml.scoring.rules import unreachable_no_activity_note

    rules = RulesConfig(no_activity_days=30)
    assert (
        unreachable_no_activity_note(rules, "mixed", 28) is not None
    )  # a one-off buyer is off the list first
    assert unreachable_no_activity_note(rules, "subscriptions", 28) is None
