"""Monthly logo and revenue churn on hand-built datasets with the expected numbers written out."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from churnml.config import LabelConfig
from churnml.dataset import Dataset
from churnml.metrics import month_starts, monthly_churn
from churnml.schemas import Clients, Payments, Subscriptions, Table

D = datetime
DT = pl.Datetime("us")
COLS = ["month", "segment", "active_start", "new_clients", "churned", "mrr_start", "mrr_lost", "complete"]


def clients(rows: list[tuple[str, datetime, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: DT, Clients.SEGMENT: pl.String},
        orient="row",
    )


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (D(2024, 1, 1), D(2024, 3, 1), [date(2024, 1, 1), date(2024, 2, 1)]),
        (D(2024, 1, 1, 8), D(2024, 3, 1, 0, 0, 1), [date(2024, 2, 1), date(2024, 3, 1)]),
        (D(2023, 12, 5), D(2024, 1, 2), [date(2024, 1, 1)]),
    ],
)
def test_month_starts(start, end, expected):
    assert month_starts(start, end) == expected


SUBS = Dataset(
    tables={
        Table.CLIENTS: clients(
            [
                ("a", D(2024, 1, 1), "X"),
                ("b", D(2024, 1, 1), "Y"),
                ("c", D(2024, 2, 10), "X"),
                ("d", D(2024, 3, 5), "Y"),
            ]
        ),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            [
                ("a", D(2024, 1, 1), D(2024, 3, 1), 100.0),  # churns 03-01
                ("b", D(2024, 1, 1), D(2024, 2, 1), 50.0),
                ("b", D(2024, 2, 1), D(2024, 6, 1), 60.0),  # renewal, bigger; ends after the data
                ("c", D(2024, 2, 10), D(2024, 3, 10), 30.0),  # churns 03-10 ...
                ("c", D(2024, 4, 5), D(2024, 5, 5), 40.0),  # ... and comes back 04-05
            ],
            schema={
                Subscriptions.CLIENT_ID: pl.String,
                Subscriptions.START_DATE: DT,
                Subscriptions.END_DATE: DT,
                Subscriptions.MRR: pl.Float64,
            },
            orient="row",
        ),
    },
    name="t",
    start=D(2024, 1, 1),
    as_of=D(2024, 5, 1),
)


def test_monthly_churn_subscriptions_overall_and_per_segment():
    got = monthly_churn(SUBS, LabelConfig(source="subscriptions", grace_days=10))
    assert got.select(COLS).rows() == [
        (date(2024, 1, 1), "all", 0, 2, 0, 0.0, 0.0, True),
        (date(2024, 1, 1), "X", 0, 1, 0, 0.0, 0.0, True),
        (date(2024, 1, 1), "Y", 0, 1, 0, 0.0, 0.0, True),
        (date(2024, 2, 1), "all", 2, 1, 0, 150.0, 0.0, True),  # a 100 + b's first term 50
        (date(2024, 2, 1), "X", 1, 1, 0, 100.0, 0.0, True),
        (date(2024, 2, 1), "Y", 1, 0, 0, 50.0, 0.0, True),
        (date(2024, 3, 1), "all", 3, 1, 2, 190.0, 130.0, True),  # a and c churn in March
        (date(2024, 3, 1), "X", 2, 0, 2, 130.0, 130.0, True),
        (date(2024, 3, 1), "Y", 1, 1, 0, 60.0, 0.0, True),
        (date(2024, 4, 1), "all", 2, 0, 0, 60.0, 0.0, False),  # b and d (no MRR); c is back only 04-05
        (date(2024, 4, 1), "Y", 2, 0, 0, 60.0, 0.0, False),  # April churn is not known yet (grace)
    ]
    march = got.filter((pl.col("month") == date(2024, 3, 1)) & (pl.col("segment") == "all")).row(
        0, named=True
    )
    assert march["logo_churn_rate"] == pytest.approx(2 / 3)
    assert march["revenue_churn_rate"] == pytest.approx(130 / 190)
    assert got.filter(pl.col("month") == date(2024, 1, 1)).get_column("logo_churn_rate").null_count() == 3
    assert set(got.get_column("mrr_basis")) == {"subscriptions"}


def test_monthly_churn_payments_run_rate_without_segments():
    data = Dataset(
        tables={
            Table.CLIENTS: pl.DataFrame(
                [("p", D(2024, 1, 15)), ("q", D(2024, 2, 20))],
                schema={Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: DT},
                orient="row",
            ),
            Table.PAYMENTS: pl.DataFrame(
                [("p", 1200.0, D(2024, 1, 15)), ("q", 600.0, D(2024, 2, 20)), ("q", -600.0, D(2024, 3, 5))],
                schema={Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
                orient="row",
            ),
        },
        name="retail",
        start=D(2024, 1, 15),
        as_of=D(2024, 4, 1),
    )
    got = monthly_churn(data, LabelConfig(source="inactivity", inactivity_days=30))
    assert got.select(COLS).rows() == [
        # p: 1200 / 12; churns 02-14. Not complete: February starts 17 days after the first data,
        # less than inactivity_days (30), so clients inactive since before the data are unseen.
        (date(2024, 2, 1), "all", 1, 1, 1, 100.0, 100.0, False),
        (
            date(2024, 3, 1),
            "all",
            1,
            0,
            1,
            50.0,
            50.0,
            True,
        ),  # q: 600 / 12 (refund after 03-01); churns 03-21
    ]
    assert got.get_column("logo_churn_rate").to_list() == [1.0, 1.0]
    assert set(got.get_column("mrr_basis")) == {"payments_run_rate"}


def test_cli_writes_the_table_and_a_plot(tmp_path):
    from typer.testing import CliRunner

    from churnml.cli import app
    from churnml.io import write_tables

    write_tables(SUBS.tables, tmp_path / "data")
    out = tmp_path / "churn.parquet"
    result = CliRunner().invoke(
        app,
        [
            "metrics",
            "--data",
            str(tmp_path / "data"),
            "--out",
            str(out),
            "--set",
            "label.source=subscriptions",
            "--set",
            "label.grace_days=10",
            "--set",
            "data.as_of=2024-04-30",
        ],
    )
    assert result.exit_code == 0, result.output
    expected = monthly_churn(SUBS, LabelConfig(source="subscriptions", grace_days=10))
    assert pl.read_parquet(out).select(COLS).rows() == expected.select(COLS).rows()
    assert (tmp_path / "churn.png").stat().st_size > 1000
    assert "2024-03" in result.output
