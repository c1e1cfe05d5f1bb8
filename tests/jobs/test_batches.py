"""The training table built batch by batch equals the table built from the whole dataset."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest

from churnml.config import load_config
from churnml.demo.synth import SynthParams, write_synthetic_dataset
from churnml.jobs import batches
from churnml.jobs.batches import client_partition, compact_labeled, training_table


def test_partitions_cover_every_client_once_and_ignore_padding():
    ids = pl.DataFrame({"client_id": [f"c{i}" for i in range(200)] + ["  c7 "]})
    hits = np.column_stack([ids.select(client_partition(3, p)).to_series().to_numpy() for p in range(3)])
    assert (hits.sum(axis=1) == 1).all()  # one partition each
    assert (hits[-1] == hits[7]).all()  # the padded id lands with its trimmed self (validation trims)


def test_compact_labeled_keeps_labeled_rows_as_float32_block():
    table = pl.DataFrame(
        {
            "client_id": ["a", "b", "c"],
            "snapshot": [None, None, None],
            "label": [1, None, 0],
            "churned_at": [None, None, None],
            "f1": [1.5, 2.0, None],
            "f2": [3, 4, 5],
        }
    )
    keys, block, names, unlabeled = compact_labeled(table)
    assert names == ["f1", "f2"] and unlabeled == 1
    assert keys.get_column("client_id").to_list() == ["a", "c"]
    assert block.dtype == np.float32 and block.shape == (2, 2)
    np.testing.assert_array_equal(block, np.array([[1.5, np.nan], [3.0, 5.0]], dtype=np.float32))


def test_the_labeled_table_keeps_churned_at_so_grace_period_rows_are_told_apart():
    """Without it every backtest row read as not lapsed: "PR-AUC not lapsed" counted only the clients that
    asked to cancel, and an insurer's grace-period rows (p = 1.00) stayed in the early warning's figure."""
    from datetime import date, datetime

    from churnml.jobs.batches import assembled_frame
    from churnml.modeling.experiment import already_lapsed, feature_columns

    table = pl.DataFrame(
        {
            "client_id": ["a", "b", "c"],
            "snapshot": [date(2024, 6, 3)] * 3,
            "label": [1, 1, 0],
            # a: its term ended a week before the snapshot (grace); b: it ends after; c: no churn
            "churned_at": [datetime(2024, 5, 27), datetime(2024, 7, 1), None],
            "f1": [1.5, 2.0, 0.5],
        }
    )
    keys, block, names, _ = compact_labeled(table)
    frame = assembled_frame(keys, block, names)
    assert feature_columns(frame) == ["f1"]  # a datetime is never a feature
    assert already_lapsed(frame).tolist() == [True, False, False]


@pytest.mark.parametrize("split_rows", [5_000_000, 1_000])  # big tables read by filter, or split first
def test_batched_table_equals_the_whole_one(tmp_path, monkeypatch, split_rows):
    monkeypatch.setattr(batches, "_SPLIT_ROWS", split_rows)
    write_synthetic_dataset(SynthParams(clients=40, months=6, seed=3), tmp_path / "raw", tmp_path / "truth")
    whole_ds, whole = training_table(tmp_path / "raw", load_config(None, []))
    batched_ds, batched = training_table(tmp_path / "raw", load_config(None, ["train.batch_clients=15"]))
    assert batched_ds.tables == {}  # read batch by batch (3 batches), never whole
    assert (batched_ds.start, batched_ds.as_of) == (whole_ds.start, whole_ds.as_of)
    assert batched_ds.first_activity() == whole_ds.first_activity()
    assert batched.unlabeled == whole.unlabeled > 0
    a, b = whole.frame, batched.frame
    assert list(a.columns) == list(b.columns) and len(a) == len(b) > 0
    assert (a["client_id"].to_numpy() == b["client_id"].to_numpy()).all()
    assert (a["snapshot"] == b["snapshot"]).all() and (a["label"] == b["label"]).all()
    assert a["churned_at"].equals(b["churned_at"])
    features = a.columns[4:]
    assert (a[features].dtypes == np.float32).all()
    np.testing.assert_array_equal(a[features].to_numpy(), b[features].to_numpy())


def test_the_split_holds_the_events_repeated_text_as_categories(tmp_path):
    # each batch reads event and user_id back without hashing every row; validation keeps them so
    from churnml.contract.schemas import Table

    events = pl.DataFrame(
        {
            "client_id": ["a", "b", "c", "a"],
            "ts": [datetime(2024, 1, d) for d in (1, 2, 3, 4)],
            "event": ["login", "export", "login", "login"],
            "user_id": ["u1", None, "u2", "u1"],
        }
    )
    events.write_parquet(tmp_path / "events.parquet")
    split = batches._split_tables({Table.EVENTS: tmp_path / "events.parquet"}, 2, tmp_path / "scratch")
    assert split == {}  # small tables are read by filter
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(batches, "_SPLIT_ROWS", 1)
        split = batches._split_tables({Table.EVENTS: tmp_path / "events.parquet"}, 2, tmp_path / "scratch")
    back = pl.concat([pl.read_parquet(f) for f in sorted(split[Table.EVENTS].rglob("*.parquet"))])
    assert back.schema["event"] == pl.Categorical() and back.schema["user_id"] == pl.Categorical()
    assert back.schema["client_id"] == pl.String and back.schema["ts"] == events.schema["ts"]
    cast = back.with_columns(pl.col("event", "user_id").cast(pl.String))
    assert sorted(cast.rows()) == sorted(events.rows())  # the same rows, nulls included


def test_batches_read_tables_without_their_optional_time_columns(tmp_path):
    """A shop's log as `churnml adapt` writes it: payments without issued_at / due_at. Over
    train.batch_clients the span comes from the files' time columns; the absent ones were a crash."""
    from churnml.contract.io import write_tables

    write_synthetic_dataset(SynthParams(clients=40, months=6, seed=3), tmp_path / "full", tmp_path / "truth")
    tables = {
        t: pl.read_parquet(tmp_path / "full" / f"{t}.parquet") for t in ("clients", "events", "payments")
    }
    tables["payments"] = tables["payments"].select("client_id", "amount", "paid_at")
    write_tables(tables, tmp_path / "raw")
    cfg = ["label.source=inactivity"]
    whole_ds, whole = training_table(tmp_path / "raw", load_config(None, cfg))
    batched_ds, batched = training_table(
        tmp_path / "raw", load_config(None, [*cfg, "train.batch_clients=15"])
    )
    assert batched_ds.tables == {} and whole_ds.tables != {}
    assert (batched_ds.start, batched_ds.as_of) == (whole_ds.start, whole_ds.as_of)
    assert len(batched.frame) == len(whole.frame) > 0


def test_the_batch_count_reads_a_regional_clients_csv_as_data_csv_says(tmp_path) -> None:
    from churnml.config import CsvConfig
    from churnml.contract.schemas import Table

    path = tmp_path / "clients.csv"
    path.write_bytes(
        "client_id;created_at;name\n000001;01/02/2024;Société A\n000002;03/02/2024;Lefèvre\n".encode("cp1252")
    )
    csv = CsvConfig(separator=";", encoding="cp1252", date_formats=("%d/%m/%Y",))
    assert batches.batch_count({Table.CLIENTS: path}, 1, csv) == 2
    assert batches.batch_count({Table.CLIENTS: path}, 5, csv) == 1


def test_training_batches_read_the_whole_portfolios_mailings(tmp_path):
    # a newsletter to all 40 clients on one day (within the labeled snapshots) is a mailing (>= 20 clients, rules.mailing_min_clients); a
    # batch of 13-14 clients alone never reaches 20: each batch is handed the whole portfolio's mailings
    from datetime import datetime

    raw = tmp_path / "raw"
    write_synthetic_dataset(SynthParams(clients=40, months=6, seed=3), raw, tmp_path / "truth")
    comm = pl.read_parquet(raw / "communications.parquet")
    ids = pl.read_parquet(raw / "clients.parquet").get_column("client_id")
    newsletter = pl.DataFrame(
        {"client_id": ids, "ts": [datetime(2024, 2, 5, 7)] * len(ids), "channel": ["email"] * len(ids)}
    ).with_columns(direction=pl.lit("out"), outcome=pl.lit("no_reply"))
    pl.concat([comm, newsletter], how="diagonal_relaxed").write_parquet(raw / "communications.parquet")
    _, whole = training_table(raw, load_config(None, []))
    batched_ds, batched = training_table(raw, load_config(None, ["train.batch_clients=15"]))
    assert batched_ds.tables == {}
    comm_features = [c for c in whole.frame.columns if c.startswith("comm_")]
    assert comm_features
    np.testing.assert_array_equal(
        whole.frame[comm_features].to_numpy(), batched.frame[comm_features].to_numpy()
    )


def test_batches_observe_a_late_payments_log_from_the_whole_portfolios_start(tmp_path):
    """A billing export that began five weeks after the terms (Dataset.payments_observed_from): every batch
    observes the payments from the portfolio's first invoice, not its own clients' first (a batch's first
    invoice comes days later), so the batched table equals the whole one."""
    from datetime import timedelta

    from churnml.contract.dataset import Dataset

    raw = tmp_path / "raw"
    write_synthetic_dataset(SynthParams(clients=40, months=6, seed=3), raw, tmp_path / "truth")
    terms = pl.read_parquet(raw / "subscriptions.parquet")
    cut = terms.get_column("start_date").min() + timedelta(days=35)
    payments = pl.read_parquet(raw / "payments.parquet")
    times = [c for c in ("paid_at", "issued_at", "due_at") if c in payments.columns]
    payments.filter(pl.min_horizontal(*times) >= cut).write_parquet(raw / "payments.parquet")
    whole_ds, whole = training_table(raw, load_config(None, []))
    batched_ds, batched = training_table(raw, load_config(None, ["train.batch_clients=15"]))
    assert batched_ds.tables == {} and isinstance(whole_ds, Dataset)
    began = whole_ds.payments_observed_from()
    assert began is not None and began >= cut
    assert batched_ds.payments_observed_from() == began
    paid = [c for c in whole.frame.columns if c.startswith("payments_paid")]
    assert paid
    a, b = whole.frame, batched.frame
    np.testing.assert_array_equal(a[a.columns[4:]].to_numpy(), b[b.columns[4:]].to_numpy())


def test_a_batch_names_an_unknown_client_by_its_row_or_line_in_the_file_as_the_whole_read(tmp_path):
    """A training batch holds a third of the rows: its error said the row within the batch (row=3 for the
    file's row 61), and a CSV's row where validate says the line an editor shows."""
    from datetime import date

    from churnml.config import DataConfig
    from churnml.contract.io import read_dataset
    from churnml.contract.schemas import Table
    from churnml.contract.validation import ContractError

    write_synthetic_dataset(SynthParams(clients=40, months=6, seed=3), tmp_path / "full", tmp_path / "truth")
    clients = pl.read_parquet(tmp_path / "full" / "clients.parquet")
    events = pl.read_parquet(tmp_path / "full" / "events.parquet").head(80)
    stray = events.slice(60, 1).with_columns(pl.lit("nobody").alias("client_id"))
    events = pl.concat([events.head(60), stray, events.slice(60)])  # the file's row 61
    folder = tmp_path / "raw"
    folder.mkdir()
    clients.write_parquet(folder / "clients.parquet")
    events.write_parquet(folder / "events.parquet")
    with pytest.raises(ContractError) as whole:
        read_dataset(folder, DataConfig())
    assert str(whole.value).endswith("(1 row). e.g. row=61, client_id='nobody'")
    with pytest.raises(ContractError) as batched:
        training_table(folder, load_config(None, ["train.batch_clients=15"]))  # 3 batches
    assert str(batched.value) == str(whole.value)
    # a CSV (batches read only Parquet folders: its batch read directly), a blank line after the header
    text = events.with_columns(pl.col("ts").dt.strftime("%Y-%m-%d %H:%M:%S")).write_csv()
    header, rest = text.split("\n", 1)
    (folder / "events.parquet").unlink()
    (folder / "events.csv").write_text(f"{header}\n\n{rest}")
    with pytest.raises(ContractError) as whole:
        read_dataset(folder, DataConfig())
    assert str(whole.value).endswith("(1 row). e.g. line=63, client_id='nobody'")  # header, blank, rows 1-61
    files = {Table.CLIENTS: folder / "clients.parquet", Table.EVENTS: folder / "events.csv"}
    parts = 3
    part = next(p for p in range(parts) if stray.select(client_partition(parts, p)).item())
    with pytest.raises(ContractError) as batched:
        batches._read_batch(files, DataConfig(as_of=date(2030, 1, 1)), parts, part)
    assert str(batched.value) == str(whole.value)
