"""Win-back list on a hand-built dataset with the expected values written out."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from churnml.config import WinbackConfig, load_config
from churnml.dataset import Dataset
from churnml.schemas import Churns, Clients, Payments, Subscriptions, Table, Tickets
from churnml.winback import ACTIONS, recency_bucket_labels, winback_list

D = datetime
DT = pl.Datetime("us")
CFG = load_config().winback  # buckets 30/90/180/365, rates .3/.2/.12/.06/.02, cost 500, toxic 5

DATA = Dataset(
    tables={
        Table.CLIENTS: pl.DataFrame(
            [
                ("w1", D(2023, 1, 1), "Acme", 0.5),
                ("w2", D(2023, 1, 1), "Bolt", None),
                ("w3", D(2023, 1, 1), "Cog", None),
                ("w4", D(2023, 1, 1), "Dyn", None),
                ("w5", D(2023, 1, 1), "Echo", None),
                ("w6", D(2023, 1, 1), "Flux", None),
            ],
            schema={
                Clients.CLIENT_ID: pl.String,
                Clients.CREATED_AT: DT,
                Clients.NAME: pl.String,
                Clients.MARGIN: pl.Float64,
            },
            orient="row",
        ),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            [
                ("w1", D(2024, 1, 1), D(2024, 12, 11), 1000.0),
                ("w2", D(2024, 1, 1), D(2024, 9, 2), 100.0),
                ("w3", D(2024, 1, 1), D(2024, 11, 1), 500.0),
            ],
            schema={
                Subscriptions.CLIENT_ID: pl.String,
                Subscriptions.START_DATE: DT,
                Subscriptions.END_DATE: DT,
                Subscriptions.MRR: pl.Float64,
            },
            orient="row",
        ),
        Table.PAYMENTS: pl.DataFrame(
            [
                ("w4", 6000.0, D(2024, 3, 1)),
                ("w4", -500.0, D(2024, 5, 1)),  # refund: netted
                ("w4", 1000.0, D(2023, 9, 1)),  # more than a year before the churn: lifetime only
            ],
            schema={Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
            orient="row",
        ),
        Table.TICKETS: pl.DataFrame(
            [("w3", D(2024, m, 1), "complaint") for m in range(2, 7)]
            + [("w3", D(2024, 7, 1), "question"), ("w3", D(2023, 1, 5), "complaint")]
            + [("w1", D(2024, 5, 1), "complaint"), ("w1", D(2024, 6, 1), "complaint")],
            schema={Tickets.CLIENT_ID: pl.String, Tickets.OPENED_AT: DT, Tickets.KIND: pl.String},
            orient="row",
        ),
        Table.CHURNS: pl.DataFrame(
            [
                ("w1", D(2024, 12, 10), "price"),
                ("w2", D(2024, 9, 2), "moved"),
                ("w4", D(2023, 6, 1), "service"),
                ("w4", D(2024, 10, 2), "forgot"),
            ],
            schema={Churns.CLIENT_ID: pl.String, Churns.CHURNED_AT: DT, Churns.REASON: pl.String},
            orient="row",
        ),
    },
    name="t",
    start=D(2023, 1, 1),
    as_of=D(2025, 1, 1),
)
CHURNS = pl.DataFrame(
    [
        ("w1", D(2024, 12, 11)),
        ("w2", D(2024, 9, 2)),
        ("w3", D(2024, 11, 1)),
        ("w4", D(2023, 6, 1)),
        ("w4", D(2024, 10, 2)),
        ("w5", D(2024, 6, 1)),  # churned but active again: not on the list
    ],
    schema={"client_id": pl.String, "churned_at": DT},
    orient="row",
)
ACTIVE = pl.DataFrame({"client_id": ["w5", "w6"]})


def test_winback_list():
    got = winback_list(DATA, CHURNS, ACTIVE, CFG, default_margin=0.7)
    cols = [
        "client_id",
        "days_since_churn",
        "recency_bucket",
        "reason",
        "former_arr",
        "revenue_last_year",
        "lifetime_revenue",
        "value",
        "complaints_last_year",
        "toxic",
        "action",
        "priority",
    ]
    assert got.select(cols).rows() == [
        ("w1", 21, "0-30", "price", 12000.0, 0.0, 0.0, 12000.0, 2, False, ACTIONS[0], 1),
        ("w4", 91, "91-180", "forgot", 0.0, 5500.0, 6500.0, 5500.0, 0, False, ACTIONS[0], 2),
        ("w3", 61, "31-90", None, 6000.0, 0.0, 0.0, 6000.0, 5, True, ACTIONS[1], None),
        ("w2", 121, "91-180", "moved", 1200.0, 0.0, 0.0, 1200.0, 0, False, ACTIONS[2], None),
    ]
    # p = rate(bucket) x reason factor; EV = p x value x margin - 500
    assert got.get_column("win_probability").to_list() == pytest.approx([0.36, 0.18, 0.2, 0.0])
    assert got.get_column("expected_value").to_list() == pytest.approx([1660.0, 193.0, 340.0, -500.0])
    assert got.get_column("name").to_list() == ["Acme", "Dyn", "Cog", "Bolt"]


def test_winback_without_optional_tables_uses_defaults():
    data = Dataset(
        tables={Table.CLIENTS: DATA.tables[Table.CLIENTS].select("client_id", "created_at")},
        name="t",
        start=D(2023, 1, 1),
        as_of=D(2025, 1, 1),
    )
    got = winback_list(data, CHURNS, ACTIVE, WinbackConfig(cost_per_attempt=0), default_margin=0.7)
    assert got.height == 4
    assert got.get_column("value").to_list() == [0.0] * 4
    assert got.get_column("reason").null_count() == 4
    assert set(got.get_column("action")) == {ACTIONS[2]}  # nothing to win: EV 0 is not worth an attempt


@pytest.mark.parametrize(
    ("edges", "labels"),
    [((30, 90), ["0-30", "31-90", ">90"]), ((7,), ["0-7", ">7"])],
)
def test_recency_bucket_labels(edges, labels):
    assert recency_bucket_labels(edges) == labels


def test_cli_writes_the_plan(tmp_path):
    from typer.testing import CliRunner

    from churnml.cli import app
    from churnml.io import write_tables

    write_tables(DATA.tables, tmp_path / "data")
    out = tmp_path / "plan.csv"
    result = CliRunner().invoke(
        app,
        [
            "winback",
            "--data",
            str(tmp_path / "data"),
            "--out",
            str(out),
            "--set",
            "label.source=churns",
            "--set",
            "data.as_of=2024-12-31",
        ],
    )
    assert result.exit_code == 0, result.output
    plan = pl.read_csv(out)
    # churns source: w1 (12-10), w2, w4 (latest 10-02) churned; w3 has no churn row here
    assert plan.get_column("client_id").to_list() == ["w1", "w4", "w2"]
    assert plan.get_column("priority").to_list() == [1, 2, None]
