"""The inputs the modeling jobs share: tuned-parameter files and the oracle from a truth folder."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from churnml.config import load_config
from churnml.demo.synth import SynthParams, write_synthetic_dataset
from churnml.jobs.inputs import read_tuned_params, truth_oracle


def test_tuned_params_file(tmp_path):
    cfg = load_config(None, [f"paths.tune={tmp_path}"])
    assert read_tuned_params(cfg, "shop") == ({}, None)  # no tuning ran: config params only
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "best_params.json").write_text(
        json.dumps({"params": {"num_leaves": 9}, "value": 0.5})
    )
    assert read_tuned_params(cfg, "shop") == ({"num_leaves": 9}, tmp_path / "shop" / "best_params.json")
    assert read_tuned_params(cfg, "crm") == ({}, None)  # another dataset's tuning is not this one's
    explicit = load_config(None, [f"train.params_file={tmp_path / 'missing.json'}"])
    with pytest.raises(FileNotFoundError, match=r"missing\.json"):
        read_tuned_params(explicit, "shop")


def test_oracle_knows_only_the_truths_clients(tmp_path):
    write_synthetic_dataset(SynthParams(clients=30, months=4, seed=1), tmp_path / "raw", tmp_path / "truth")
    assert truth_oracle(None, 90) is None
    assert truth_oracle(tmp_path / "raw", 90) is None  # a folder without hazard.parquet (real data)
    oracle = truth_oracle(tmp_path / "truth", 28)
    clients = pd.read_parquet(tmp_path / "raw" / "clients.parquet")["client_id"].head(3).tolist()
    rows = pd.DataFrame({"client_id": [*clients, "stranger"], "snapshot": [date(2024, 3, 4)] * 4})
    p = oracle(rows)
    assert p.shape == (4,)
    assert np.isfinite(p[:3]).all() and ((p[:3] >= 0) & (p[:3] <= 1)).all()
    assert np.isnan(p[3])


def test_event_name_counts_from_the_tables_or_the_parquet_file(tmp_path):
    from datetime import datetime

    import polars as pl

    from churnml.contract.dataset import Dataset
    from churnml.contract.schemas import Table
    from churnml.jobs.inputs import event_name_counts

    events = pl.DataFrame(
        {
            "client_id": ["a", "a", "b", "b"],
            "ts": [datetime(2024, 1, d) for d in (1, 2, 3, 4)],
            "event": ["Sign In", "Sign In", "Export", None],
        }
    )
    day = datetime(2024, 2, 1)
    whole = Dataset({Table.EVENTS: events}, "x", day, day)
    assert event_name_counts(whole) == {"Sign In": 2, "Export": 1}
    events.write_parquet(tmp_path / "events.parquet")
    table_less = Dataset({}, "x", day, day)  # a portfolio read batch by batch
    assert event_name_counts(table_less, tmp_path) == {"Sign In": 2, "Export": 1}
    assert event_name_counts(table_less) == {}
    no_events = Dataset({Table.CLIENTS: pl.DataFrame({"client_id": ["a"]})}, "x", day, day)
    assert event_name_counts(no_events, tmp_path) == {}  # read whole, and it had no events table


def test_a_truth_folder_without_the_hazard_is_said(tmp_path) -> None:
    from churnml.jobs.inputs import no_truth_note

    assert no_truth_note(None) is None
    note = no_truth_note(tmp_path)
    assert note is not None and note.startswith(f"--truth {tmp_path}: no hazard.parquet there")
    (tmp_path / "hazard.parquet").write_bytes(b"")
    assert no_truth_note(tmp_path) is None


def test_a_truth_file_of_another_tool_is_refused_before_any_work(tmp_path):
    import polars as pl

    from churnml.jobs.common import UserError

    (tmp_path / "truth").mkdir()
    pl.DataFrame({"client_id": ["a"], "churn_date": [date(2024, 3, 4)]}).write_parquet(
        tmp_path / "truth" / "hazard.parquet"
    )
    with pytest.raises(UserError, match="lacks the columns week, hazard, due, spell, reason: --truth reads"):
        truth_oracle(tmp_path / "truth", 90)


@pytest.mark.parametrize(
    ("table", "rows", "expected"),
    [
        # payments exported twice: revenue and ARR would double without a word
        (
            "payments",
            "client_id,amount,paid_at\nc1,100,2024-02-01\nc1,100,2024-03-01\nc1,100,2024-02-01\nc1,100,2024-03-01\n",
            ["payments: 2 rows (50.0%) repeat another row in every column"],
        ),
        (
            "tickets",
            "client_id,opened_at\nc1,2024-02-01\nc1,2024-02-01\nc1,2024-03-01\n",
            ["tickets: 1 row (33.3%) repeats another row in every column"],
        ),
        (
            "communications",
            "client_id,ts,channel,direction\nc1,2024-02-01,email,out\nc1,2024-02-01,email,out\n",
            ["communications: 1 row (50.0%) repeats another row in every column"],
        ),
        ("payments", "client_id,amount,paid_at\nc1,100,2024-02-01\nc1,100,2024-03-01\n", []),
    ],
)
def test_rows_repeated_in_any_activity_table_are_said(tmp_path, table, rows, expected):
    from churnml.config import Config
    from churnml.contract.io import read_dataset
    from churnml.jobs.inputs import data_notes

    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "clients.csv").write_text("client_id,created_at\nc1,2024-01-01\n")
    (folder / "events.csv").write_text("client_id,ts,event\nc1,2024-02-01,login\n")
    (folder / f"{table}.csv").write_text(rows)
    cfg = Config.model_validate({"data": {"as_of": "2024-12-31"}})
    notes = data_notes(read_dataset(folder, cfg.data), cfg)
    said = [n.split(";")[0] for n in notes if "in every column" in n]
    assert said == expected


def test_amounts_converted_from_several_currencies_are_said_by_validate_and_train(tmp_path) -> None:
    from churnml.config import Config
    from churnml.contract.io import read_dataset
    from churnml.jobs.inputs import data_notes

    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "clients.csv").write_text("client_id,created_at\nc1,2024-01-01\nc2,2024-01-01\n")
    (folder / "events.csv").write_text("client_id,ts,event\nc1,2024-02-01,login\n")
    (folder / "payments.csv").write_text(
        "client_id,amount,paid_at,currency\nc1,100,2024-02-01,EUR\nc2,5000,2024-02-01,JPY\nc2,5000,2024-03-01,JPY\n"
    )
    cfg = Config.model_validate({"data": {"as_of": "2024-12-31", "currency_rates": {"EUR": 1, "JPY": 0.006}}})
    dataset = read_dataset(folder, cfg.data)
    assert dataset.tables["payments"].get_column("amount").to_list() == pytest.approx([100.0, 30.0, 30.0])
    notes = [n for n in data_notes(dataset, cfg) if "currency" in n]
    assert notes == [
        "payments.amount converted into score.currency (data.currency_rates): 2 rows in JPY at 0.006"
    ]


@pytest.mark.parametrize(
    ("payments", "settings", "said"),
    [
        # no currency named: read as score.currency, said with how to name another
        ("client_id,amount,paid_at\nc1,100,2024-02-01\n", {}, "payments.amount: no currency named (no currency column, or an empty one), the amounts are read as EUR"),
        ("client_id,amount,paid_at\nc1,100,2024-02-01\n", {"score": {"currency": "USD"}}, "payments.amount: no currency named (no currency column, or an empty one), the amounts are read as USD"),
        # a currency column whose every cell is empty names none either: not "no currency column"
        ("client_id,amount,paid_at,currency\nc1,100,2024-02-01,\n", {}, "payments.amount: no currency named (no currency column, or an empty one), the amounts are read as EUR"),
        # a column naming one currency is said by its own note; rates given are the user's word
        ("client_id,amount,paid_at,currency\nc1,100,2024-02-01,GBP\n", {}, None),
        ("client_id,amount,paid_at\nc1,100,2024-02-01\n", {"data": {"currency_rates": {"EUR": 1, "USD": 0.9}}}, None),
    ],
)  # fmt: skip
def test_amounts_without_a_currency_column_are_said_to_be_read_as_score_currency(
    tmp_path, payments: str, settings: dict, said: str | None
) -> None:
    from churnml.config import Config
    from churnml.contract.io import read_dataset
    from churnml.jobs.inputs import data_notes

    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "clients.csv").write_text("client_id,created_at\nc1,2024-01-01\n")
    (folder / "events.csv").write_text("client_id,ts,event\nc1,2024-02-01,login\n")
    (folder / "payments.csv").write_text(payments)
    data = {"as_of": "2024-12-31", **settings.get("data", {})}
    cfg = Config.model_validate({**settings, "data": data})
    notes = [n for n in data_notes(read_dataset(folder, cfg.data), cfg) if "no currency named" in n]
    assert [n.split(" (score.currency")[0] for n in notes] == ([said] if said else [])


def test_a_listed_activity_event_no_row_has_is_said(tmp_path) -> None:
    from churnml.config import Config
    from churnml.contract.io import read_dataset
    from churnml.jobs.inputs import data_notes

    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "clients.csv").write_text("client_id,created_at\nc1,2024-01-01\n")
    (folder / "events.csv").write_text(
        "client_id,ts,event\nc1,2024-02-01,login\nc1,2024-03-01,card_payment\n"
    )
    cfg = Config.model_validate(
        {"data": {"as_of": "2024-12-31"}, "label": {"activity_events": ["card_payment", "transfer_out"]}}
    )
    notes = [n for n in data_notes(read_dataset(folder, cfg.data), cfg) if "transfer_out" in n]
    assert len(notes) == 1 and "card_payment" not in notes[0].split(":")[0]


@pytest.mark.parametrize(("every", "said"), [(4, True), (30, False)])
def test_the_data_notes_say_when_most_clients_buy_far_faster_than_the_inactivity_window(every, said):
    """25 shops ordering every ``every`` days for a year under the default 90-day inactivity label."""
    from datetime import datetime, timedelta

    import polars as pl

    from churnml.contract.dataset import Dataset
    from churnml.contract.schemas import Table
    from churnml.jobs.inputs import data_notes

    cfg = load_config()
    cfg = cfg.model_copy(update={"label": cfg.label.model_copy(update={"source": "inactivity"})})
    ids = [f"c{i}" for i in range(25)]
    start = datetime(2024, 1, 1)
    days = range(0, 365, every)
    data = Dataset(
        {
            Table.CLIENTS: pl.DataFrame({"client_id": ids, "created_at": [start] * len(ids)}),
            Table.PAYMENTS: pl.DataFrame(
                {
                    "client_id": [c for c in ids for _ in days],
                    "amount": [10.0] * (len(ids) * len(days)),
                    "paid_at": [start + timedelta(days=d) for _ in ids for d in days],
                }
            ),
        },
        "shop",
        start,
        datetime(2025, 1, 1),
    )
    fast = [n for n in data_notes(data, cfg) if "far inside label.inactivity_days (90)" in n]
    assert len(fast) == (1 if said else 0)
    if said:
        assert "(typically every 4 days)" in fast[0] and "--set label.inactivity_days=28" in fast[0]
