"""Monthly logo and revenue churn on hand-built datasets with the expected numbers written out."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise

import polars as pl
import pytest

from churnml.config import LabelConfig
from churnml.contract.dataset import Dataset
from churnml.contract.schemas import Clients, Payments, Subscriptions, Table
from churnml.reporting.metrics import (
    churn_report,
    month_starts,
    monthly_churn,
    period_starts,
    revenue_rated_from,
)

D = datetime
DT = pl.Datetime("us")
COLS = ["month", "segment", "active_start", "new_clients", "churned", "mrr_start", "mrr_lost", "complete"]


def terms(rows: list[tuple[str, datetime, datetime, float]]) -> pl.DataFrame:
    """Subscription terms: (client, start, end, mrr)."""
    return pl.DataFrame(
        rows,
        schema={
            Subscriptions.CLIENT_ID: pl.String,
            Subscriptions.START_DATE: DT,
            Subscriptions.END_DATE: DT,
            Subscriptions.MRR: pl.Float64,
        },
        orient="row",
    )


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
        Table.SUBSCRIPTIONS: terms(
            [
                ("a", D(2024, 1, 1), D(2024, 3, 1), 100.0),  # churns 03-01
                ("b", D(2024, 1, 1), D(2024, 2, 1), 50.0),
                ("b", D(2024, 2, 1), D(2024, 6, 1), 60.0),  # renewal, bigger; ends after the data
                ("c", D(2024, 2, 10), D(2024, 3, 10), 30.0),  # churns 03-10 ...
                ("c", D(2024, 4, 5), D(2024, 5, 5), 40.0),  # ... and comes back 04-05
            ]
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
        (date(2024, 3, 1), "all", 3, 0, 2, 190.0, 130.0, True),  # a and c churn in March; d: a lead
        (date(2024, 3, 1), "X", 2, 0, 2, 130.0, 130.0, True),
        (date(2024, 3, 1), "Y", 1, 0, 0, 60.0, 0.0, True),
        (date(2024, 4, 1), "all", 1, 0, 0, 60.0, 0.0, False),  # b; c is back only 04-05; d never subscribed
        (date(2024, 4, 1), "Y", 1, 0, 0, 60.0, 0.0, False),  # April churn is not known yet (grace)
    ]
    march = got.filter((pl.col("month") == date(2024, 3, 1)) & (pl.col("segment") == "all")).row(
        0, named=True
    )
    assert march["logo_churn_rate"] == pytest.approx(2 / 3)
    assert march["revenue_churn_rate"] == pytest.approx(130 / 190)
    assert got.filter(pl.col("month") == date(2024, 1, 1)).get_column("logo_churn_rate").null_count() == 3
    assert set(got.get_column("mrr_basis")) == {"subscriptions"}
    # each month's churn is known from its end + the 10 days of grace; April's only after the data's end
    assert got.filter(pl.col("segment") == "all").select("month", "known_from").rows() == [
        (date(2024, 1, 1), date(2024, 2, 11)),
        (date(2024, 2, 1), date(2024, 3, 11)),
        (date(2024, 3, 1), date(2024, 4, 11)),
        (date(2024, 4, 1), date(2024, 5, 11)),
    ]


def test_monthly_churn_payments_run_rate_without_segments():
    data = Dataset(
        tables={
            Table.CLIENTS: pl.DataFrame(
                [("p", D(2024, 1, 15)), ("q", D(2024, 2, 20))],
                schema={Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: DT},
                orient="row",
            ),
            Table.PAYMENTS: pl.DataFrame(
                [
                    ("p", 1200.0, D(2024, 1, 15)),
                    ("p", 100.0, D(2024, 2, 5)),  # p's last order: it left on 02-05 (decided 03-06)
                    ("q", 600.0, D(2024, 2, 20)),
                    ("q", -600.0, D(2024, 3, 5)),
                    ("q", 50.0, D(2024, 3, 10)),  # q's last order: it left on 03-10 (decided 04-09)
                ],
                schema={Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
                orient="row",
            ),
        },
        name="retail",
        start=D(2024, 1, 15),
        as_of=D(2024, 5, 1),
    )
    got = monthly_churn(data, LabelConfig(source="inactivity", inactivity_days=30))
    assert got.select(COLS).rows() == [
        # p: 1200 paid in the 17 days since the data began (01-15), scaled to a year, / 12 (the weekly
        # list's ARR / 12); it left on 02-05, a February churn (decided only in March). Not complete:
        # February starts 17 days after the first data, less than inactivity_days (30), so clients inactive
        # since before the data are unseen.
        (
            date(2024, 2, 1),
            "all",
            1,
            1,
            1,
            round(1200 * 365 / 17 / 12, 2),
            round(1200 * 365 / 17 / 12, 2),
            False,
        ),
        # q: 600 in the 46 days since 01-15, scaled to a year, / 12 (refund after 03-01); p is gone since
        # 02-05 (not active at 03-01 though its churn is decided on 03-06); q left on 03-10
        (
            date(2024, 3, 1),
            "all",
            1,
            0,
            1,
            round(600 * 365 / 46 / 12, 2),
            round(600 * 365 / 46 / 12, 2),
            True,
        ),
        # who stopped ordering in April is a churn only 30 days later, past the data end: incomplete
        (date(2024, 4, 1), "all", 0, 0, 0, 0.0, 0.0, False),
    ]
    assert got.get_column("logo_churn_rate").to_list() == [1.0, 1.0, None]
    assert set(got.get_column("mrr_basis")) == {"payments_run_rate"}
    # the report: March is complete and rated by clients; by revenue only a year into the data (2025-01-15 on)
    report = churn_report(data, LabelConfig(source="inactivity", inactivity_days=30), min_clients=1)
    march = report.filter(pl.col("period_start") == date(2024, 3, 1)).row(0, named=True)
    assert (march["complete"], march["churn_rate_f2"], march["revenue_churn_gross"]) == (True, 1.0, None)
    # by both formulas each churn counts in the month its client left, and C2 no longer holds a client that
    # stopped ordering weeks before (p at 03-01)
    cols = ["period_start", "c1", "c2", "c3", "churned", "complete"]
    assert report.select(cols).rows() == [
        (date(2024, 2, 1), 1, 1, 1, 1, False),
        (date(2024, 3, 1), 1, 0, 0, 1, True),
        (date(2024, 4, 1), 0, 0, 0, 0, False),
    ]


@pytest.mark.parametrize(
    ("basis", "expected"),
    [
        ("payments_run_rate", date(2025, 1, 14)),
        ("subscriptions else payments_run_rate", None),
        ("subscriptions", None),
    ],
)
def test_revenue_rates_on_payments_wait_for_a_year_of_payments(basis, expected):
    assert revenue_rated_from(D(2024, 1, 15), basis) == expected


# Both formulas by hand on SUBS (grace 10 days, data to 2024-05-01), portfolio rows:
#   Feb: C1 = {a, b} = 2; C2 at 03-01 = {a (its term ends that day: still in), b, c} = 3; C3 = {c} = 1
#        (C1 - C2) / C1 = (2 - 3) / 2 = -0.5;  (C1 + C3 - C2) / C1 = (2 + 1 - 3) / 2 = 0.0
#        R1 = a 100 + b 50 = 150; R2 = a 100 + b 60 + c 30 = 190; R3 = c 30
#        (R1 - R2) / R1 = -40 / 150; net (R1 + R3 - R2) / R1 = -10 / 150 (b grew 50 -> 60); gross 0
#   Mar: C1 = {a, b, c} = 3; C2 at 04-01 = {b} = 1 (d: created 03-05 without any term, a lead: never a
#        customer, neither active nor new); C3 = {} = 0
#        (3 - 1) / 3 = 2/3;  (3 + 0 - 1) / 3 = 2/3
#        R1 = 100 + 60 + 30 = 190; R2 = 60; R3 = 0: f1 = net = 130 / 190; gross = (100 + 30) / 190
#   Apr: its end (05-01) + grace is past the data end: incomplete, no rate
REPORT_COLS = [
    "period_start",
    "c1",
    "c2",
    "c3",
    "churned",
    "churn_rate_f1",
    "churn_rate_f2",
    "r1",
    "r2",
    "r3",
    "revenue_churn_f1",
    "revenue_churn_f2",
    "revenue_churn_gross",
    "complete",
]


def test_churn_report_both_formulas_match_a_hand_computation():
    got = churn_report(SUBS, LabelConfig(source="subscriptions", grace_days=10), "month", min_clients=1)
    rows = got.filter(pl.col("segment") == "all").select(REPORT_COLS).rows()
    assert rows[1:] == [
        (date(2024, 2, 1), 2, 3, 1, 0, -0.5, 0.0, 150.0, 190.0, 30.0, pytest.approx(-40 / 150),
         pytest.approx(-10 / 150), 0.0, True),
        (date(2024, 3, 1), 3, 1, 0, 2, pytest.approx(2 / 3), pytest.approx(2 / 3), 190.0, 60.0, 0.0, pytest.approx(130 / 190),
         pytest.approx(130 / 190), pytest.approx(130 / 190), True),
        (date(2024, 4, 1), 1, 2, 0, 0, None, None, 60.0, 100.0, 0.0, None, None, None, False),
    ]  # fmt: skip
    assert rows[0][1] == 0 and rows[0][5] is None  # January: nobody active at its start, no rate


def test_the_net_revenue_churn_is_of_the_clients_of_the_start():
    """c leaves 02-01 (grace 10 days) and comes back 04-10: April's C2 holds it, neither new nor of April's
    start. Its MRR offsets April's clients lost (churn_rate_f2: net of returns), not the net revenue churn
    of April's clients (they kept their 200: 0, not -50%)."""
    data = Dataset(
        tables={
            Table.CLIENTS: clients([(c, D(2024, 1, 1), None) for c in "abc"]),
            Table.SUBSCRIPTIONS: terms(
                [
                    ("a", D(2024, 1, 1), D(2024, 12, 1), 100.0),
                    ("b", D(2024, 1, 1), D(2024, 12, 1), 100.0),
                    ("c", D(2024, 1, 1), D(2024, 2, 1), 100.0),
                    ("c", D(2024, 4, 10), D(2024, 12, 1), 100.0),
                ]
            ),
        },
        name="back",
        start=D(2024, 1, 1),
        as_of=D(2024, 7, 1),
    )
    got = churn_report(data, LabelConfig(source="subscriptions", grace_days=10), "month", min_clients=1)
    cols = [
        "period_start",
        "c1",
        "c2",
        "c3",
        "r1",
        "r2",
        "r3",
        "r2_of_c1",
        "revenue_churn_f2",
        "churn_rate_f2",
    ]
    assert got.filter(pl.col("segment") == "all").select(cols).rows()[1:4] == [
        (date(2024, 2, 1), 3, 2, 0, 300.0, 200.0, 0.0, 200.0, pytest.approx(1 / 3), pytest.approx(1 / 3)),
        (date(2024, 3, 1), 2, 2, 0, 200.0, 200.0, 0.0, 200.0, 0.0, 0.0),
        (date(2024, 4, 1), 2, 3, 0, 200.0, 300.0, 0.0, 200.0, 0.0, -0.5),  # f2 was -0.5: c's return
    ]


# A cancellation recorded in churns in one month for a term that ends in the next (subscriptions label):
# the client leaves the hindsight spine at its churned_at, and is counted churned that month, once.
#   b: term 01-01 .. 04-15, churns.churned_at 03-20 -> churned in March (not in April: gone at its start)
#   c: term 01-01 .. 03-10, no record -> churned in March; d: new in March; a: stays
#   March: C1 = {a, b, c} = 3, C2 = {a, d} = 2, C3 = {d} = 1: C1 + C3 - C2 = 2 = churned {b, c}
NOTICE = Dataset(
    tables={
        Table.CLIENTS: clients([(c, D(2024, 1, 1), "X") for c in "abcd"]),
        Table.SUBSCRIPTIONS: terms(
            [
                ("a", D(2024, 1, 1), D(2024, 12, 31), 10.0),
                ("b", D(2024, 1, 1), D(2024, 4, 15), 20.0),
                ("c", D(2024, 1, 1), D(2024, 3, 10), 40.0),
                ("d", D(2024, 3, 5), D(2024, 12, 31), 80.0),
            ]
        ),
        Table.CHURNS: pl.DataFrame(
            {"client_id": ["b"], "churned_at": [D(2024, 3, 20)]}, schema_overrides={"churned_at": DT}
        ),
    },
    name="notice",
    start=D(2024, 1, 1),
    as_of=D(2024, 7, 1),
)


def test_a_churn_is_counted_in_the_month_the_client_leaves_the_active_clients():
    cfg = LabelConfig(source="subscriptions", grace_days=10)
    report = churn_report(NOTICE, cfg, "month", min_clients=1).filter(pl.col("segment") == "all")
    got = report.filter(pl.col("period_start").is_in([date(2024, 3, 1), date(2024, 4, 1)]))
    assert got.select("period_start", "c1", "c2", "c3", "churned", "mrr_lost_gross").rows() == [
        (date(2024, 3, 1), 3, 2, 1, 2, 60.0),  # b (20) and c (40)
        (date(2024, 4, 1), 2, 2, 0, 0, 0.0),  # b's term ends 04-15, but b left in March
    ]
    for row in report.filter(pl.col("complete")).iter_rows(named=True):  # no returns in NOTICE
        assert row["c1"] + row["c3"] - row["c2"] == row["churned"], row["period_start"]
    monthly = monthly_churn(NOTICE, cfg).filter(pl.col("segment") == "all")
    assert monthly.select("month", "active_start", "churned", "mrr_lost").rows()[2:4] == [
        (date(2024, 3, 1), 3, 2, 60.0),
        (date(2024, 4, 1), 2, 0, 0.0),
    ]


def test_churn_report_per_segment_and_quarter():
    cfg = LabelConfig(source="subscriptions", grace_days=10)
    month = churn_report(SUBS, cfg, "month", min_clients=1)
    march_x = month.filter((pl.col("segment") == "X") & (pl.col("period_start") == date(2024, 3, 1)))
    # X in March: a and c at the start, nobody at the end, no new client: both formulas 100%
    assert march_x.select("c1", "c2", "c3", "churn_rate_f1", "churn_rate_f2").row(0) == (2, 0, 0, 1.0, 1.0)
    quarter = churn_report(SUBS, cfg, "quarter").filter(pl.col("segment") == "all")
    assert quarter.get_column("period_start").to_list() == [date(2024, 1, 1), date(2024, 4, 1)]
    assert quarter.get_column("period").unique().to_list() == ["quarter"]
    assert quarter.get_column("complete").to_list() == [True, False]


@pytest.mark.parametrize(("min_clients", "rated"), [(1, [2, 3]), (3, [3]), (4, [])])
def test_a_period_starting_with_too_few_clients_has_no_rate(min_clients, rated):
    # February starts with 2 clients, March with 3 (the hand computation above): a rate over 2 clients
    # moves 50 points a client
    got = churn_report(
        SUBS, LabelConfig(source="subscriptions", grace_days=10), "month", min_clients=min_clients
    )
    overall = got.filter((pl.col("segment") == "all") & pl.col("complete"))
    assert overall.filter(pl.col("churn_rate_f2").is_not_null()).get_column("c1").to_list() == rated
    assert overall.filter(pl.col("churn_rate_f2").is_null()).get_column(
        "revenue_churn_gross"
    ).null_count() == (overall.height - len(rated))


@pytest.mark.parametrize(
    ("c1", "complete", "rated", "warm_up", "expected"),
    [
        # the data's first month: nobody active at its start yet (4 months of data from 04-01: 0, 2,955, ...)
        ([0, 2955, 3321], [True, True, True], [False, True, True], [False] * 3, ["data starts", "", ""]),
        # two leading empty months, a handful, a rated month, an emptied book, the last month not known yet
        (
            [0, 0, 4, 30, 0, 25],
            [True, True, True, True, True, False],
            [False, False, False, True, False, False],
            [False] * 6,
            ["data starts", "data starts", "few clients", "", "no clients", "incomplete"],
        ),
        # the warm-up wins: a first month in the warm-up of an orders log
        ([0, 40], [False, True], [False, True], [True, False], ["warm-up", ""]),
        # a warm-up before the rated months, the last months not known yet: it said "incomplete: its churn is
        # not fully known yet" of the warm-up too (a coffee roaster's February and March)
        (
            [0, 403, 639, 882, 1805],
            [False, False, False, True, False],
            [False, False, False, True, False],
            [True, True, True, False, False],
            ["warm-up", "warm-up", "warm-up", "", "incomplete"],
        ),
        # too short for any complete period: not known yet
        ([0, 40], [False, False], [False, False], [False, False], ["incomplete", "incomplete"]),
        # a warm-up with no complete period after it yet (a dental chain under inactivity_days 231, 16 months
        # of data): the warm-up months read "incomplete" when warm-up was told by a later complete period,
        # though their churn will never be observed; it is told by their known_from now (changed with it:
        # the case above is the same periods without a warm-up)
        (
            [0, 40, 60],
            [False, False, False],
            [False] * 3,
            [True, True, False],
            ["warm-up", "warm-up", "incomplete"],
        ),
    ],
)
def test_why_a_period_has_no_rate(c1, complete, rated, warm_up, expected):
    from churnml.reporting.metrics import unrated_reasons

    assert unrated_reasons(c1, complete, rated, warm_up) == expected


@pytest.mark.parametrize(
    ("starts", "reasons", "expected"),
    [
        # two incomplete months in a row: one label; the data's first month and a few-clients one: their own
        (
            [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 1)],
            ["data starts", "few clients", "", "incomplete", "incomplete"],
            [
                (date(2024, 1, 1), date(2024, 2, 1), "data starts"),
                (date(2024, 2, 1), date(2024, 3, 1), "few clients"),
                (date(2024, 4, 1), date(2024, 6, 1), "incomplete"),
            ],
        ),
        ([date(2024, 1, 1)], [""], []),
    ],
)
def test_unrated_periods_are_labelled_once_per_run(starts, reasons, expected):
    from churnml.reporting.metrics import _unrated_runs

    ends = [date(d.year + (d.month == 12), d.month % 12 + 1, 1) for d in starts]
    assert _unrated_runs(starts, ends, reasons) == expected


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("month", [date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 1)]),
        ("quarter", [date(2024, 4, 1)]),
    ],
)
def test_period_starts(period, expected):
    assert period_starts(D(2024, 1, 15), D(2024, 5, 20), period) == expected


def test_cli_writes_the_table_and_a_plot(tmp_path):
    from typer.testing import CliRunner

    from churnml.cli import app
    from churnml.contract.io import write_tables

    write_tables(SUBS.tables, tmp_path / "data")
    out = tmp_path / "metrics"
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
    cfg = LabelConfig(source="subscriptions", grace_days=10)
    expected = churn_report(SUBS, cfg, "month")
    written = pl.read_parquet(out / "churn_rates.parquet")
    assert written.filter(pl.col("period") == "month").drop("period").equals(expected.drop("period"))
    assert set(written.get_column("period")) == {"month", "quarter"}
    page = (out / "churn_rates.html").read_text()
    assert page.count("<svg") == 2 and "(C1 + C3 − C2) / C1" in page
    # both formulas printed, February's numbers as computed by hand above
    assert "(C1-C2)/C1" in result.output and "(C1+C3-C2)/C1" in result.output
    # February and March start with 2 and 3 clients: no rate (one client moves it 33 points or more)
    assert "2024-02-01 (few clients)" in result.output and "2024-04-01 (incomplete)" in result.output
    # January, the data's first month, starts with nobody active yet: said so, not "few clients"
    assert (
        "2024-01-01 (data starts)" in result.output
        and "data starts: the data's first period" in result.output
    )
    assert "-50.0%" not in result.output


def test_recurring_revenue_is_the_weekly_lists_per_client():
    """A client with payments but no subscription has the payments' run rate in the metrics, as it has
    ARR in the weekly list; a client with a running term has its term's MRR, whatever it paid."""
    from churnml.reporting.metrics import mrr_at
    from churnml.scoring.value import annual_recurring_revenue

    data = Dataset(
        tables={
            Table.CLIENTS: pl.DataFrame(
                [("s", D(2024, 1, 1)), ("p", D(2024, 1, 1))],
                schema={Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: DT},
                orient="row",
            ),
            Table.SUBSCRIPTIONS: terms([("s", D(2024, 1, 1), D(2024, 12, 31), 100.0)]),
            Table.PAYMENTS: pl.DataFrame(
                [("s", 5000.0, D(2024, 2, 1)), ("p", 2400.0, D(2024, 2, 1)), ("p", -600.0, D(2024, 2, 20))],
                schema={Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
                orient="row",
            ),
        },
        name="mixed",
        start=D(2024, 1, 1),
        as_of=D(2024, 6, 1),
    )
    spine = pl.DataFrame(
        {"client_id": ["s", "p"], "snapshot": [date(2024, 3, 1)] * 2},
        schema={"client_id": pl.String, "snapshot": pl.Date},
    )
    got, basis = mrr_at(data, spine, 30)
    assert basis == "subscriptions else payments_run_rate"
    # (2400 - 600) paid in the 60 days since the data began (2024-01-01), scaled to a year, / 12
    assert dict(got.select("client_id", "_mrr").rows()) == {
        "s": 100.0,
        "p": pytest.approx(1800 * 365 / 60 / 12),
    }
    arr = annual_recurring_revenue(
        ["s", "p"],
        date(2024, 3, 1),
        *(data.get(t) for t in (Table.SUBSCRIPTIONS, Table.PAYMENTS)),
        observed_from=data.first_activity(),
    )
    assert dict(arr.rows()) == {"s": 1200.0, "p": pytest.approx(1800 * 365 / 60)}


@pytest.mark.parametrize(
    ("tables", "source", "complete", "first_known"),
    [
        # customers known by their orders (churns source, payments, no terms): the months in the warm-up
        # (inactivity_days 60 after the data's start, 2024-01-10) are incomplete: a customer since before
        # the data whose first order in it comes in February read as new then. April is known at its end
        ("payments", "churns", [False, False, True, True], date(2024, 5, 1)),
        # known by their terms: a term running at the data's start has its own earlier start_date
        ("subscriptions", "churns", [True, True, True, True], date(2024, 3, 1)),
        # an inactivity churn of April is known 60 days after April's end
        ("payments", "inactivity", [False, False, True, True], date(2024, 6, 30)),
        # mixed: one-off buyers are known by their orders, so the longer of both warm-ups, with terms too
        ("subscriptions", "mixed", [False, False, True, True], date(2024, 6, 30)),
    ],
)
def test_months_in_the_warm_up_are_incomplete_when_customers_are_known_by_their_orders(
    tables, source, complete, first_known
):
    ids = ["a", "b"]
    present = {
        Table.CLIENTS: pl.DataFrame(
            {"client_id": ids, "created_at": [D(2023, 1, 1)] * 2}, schema_overrides={"created_at": DT}
        ),
        Table.CHURNS: pl.DataFrame(
            {"client_id": ["a"], "churned_at": [D(2024, 4, 20)]}, schema_overrides={"churned_at": DT}
        ),
    }
    if tables == "payments":
        present[Table.PAYMENTS] = pl.DataFrame(
            {
                "client_id": ["a", "b", "b"],
                "amount": [50.0] * 3,
                "paid_at": [D(2024, 1, 10), D(2024, 2, 12), D(2024, 6, 1)],
            },
            schema_overrides={"paid_at": DT},
        )
    else:
        present[Table.SUBSCRIPTIONS] = pl.DataFrame(
            {
                "client_id": ids,
                "start_date": [D(2023, 6, 1), D(2024, 1, 10)],
                "end_date": [D(2024, 12, 1)] * 2,
                "mrr": [50.0] * 2,
            },
            schema_overrides={"start_date": DT, "end_date": DT},
        )
    data = Dataset(present, "t", D(2024, 1, 10), D(2024, 8, 1))
    got = monthly_churn(data, LabelConfig(source=source, inactivity_days=60, grace_days=0))
    overall = got.filter(pl.col("segment") == "all").sort("month").head(4)
    assert overall.get_column("month").to_list() == [date(2024, m, 1) for m in (2, 3, 4, 5)]
    assert overall.get_column("complete").to_list() == complete
    # a month of the warm-up is never known (null), a rated one from its end plus the label's lag
    known = overall.get_column("known_from").to_list()
    assert [k is not None for k in known] == complete
    assert next(k for k in known if k is not None) == first_known


# A subscription box: p skips February (a term with mrr 0) and goes on at 30; q moves from 50 to 20 a month in
# March (a downgrade); t is on a free trial that never paid. A pause is no downgrade: p keeps its last paid MRR
# (30) while it skips, as on the weekly list (scoring.value.annual_recurring_revenue), so the gross revenue
# churn of February is 0 (not 30 / 80) and March's is q's 30 / 80 (no expansion when p pays again).
PAUSE = Dataset(
    tables={
        Table.CLIENTS: clients([(c, D(2024, 1, 1), "X") for c in "pqt"]),
        Table.SUBSCRIPTIONS: terms(
            [
                ("p", D(2024, 1, 1), D(2024, 2, 1), 30.0),
                ("p", D(2024, 2, 1), D(2024, 3, 1), 0.0),  # skipped
                ("p", D(2024, 3, 1), D(2024, 12, 31), 30.0),
                ("q", D(2024, 1, 1), D(2024, 3, 1), 50.0),
                ("q", D(2024, 3, 1), D(2024, 12, 31), 20.0),
                ("t", D(2024, 1, 1), D(2024, 12, 31), 0.0),
            ]
        ),
    },
    name="box",
    start=D(2024, 1, 1),
    as_of=D(2024, 7, 1),
)


@pytest.mark.parametrize(
    ("client", "mrr"),
    [
        ("p", [30.0, 30.0, 30.0]),  # 03-01: its free term runs (02-01 < 03-01 <= 03-01): the last paid 30
        ("q", [50.0, 50.0, 20.0]),
        ("t", [0.0, 0.0, 0.0]),  # never paid
    ],
)
def test_a_paused_client_keeps_its_last_paid_mrr(client, mrr):
    from churnml.reporting.metrics import mrr_at

    days = [date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1)]
    spine = pl.DataFrame(
        {"client_id": [client] * 3, "snapshot": days}, schema={"client_id": pl.String, "snapshot": pl.Date}
    )
    got, _ = mrr_at(PAUSE, spine, 10)
    assert got.sort("snapshot").get_column("_mrr").to_list() == mrr


def test_a_pause_is_no_downgrade_in_the_gross_revenue_churn():
    got = churn_report(PAUSE, LabelConfig(source="subscriptions", grace_days=10), "month", min_clients=1)
    rows = got.filter(pl.col("segment") == "all").filter(
        pl.col("period_start").is_in([date(2024, 2, 1), date(2024, 3, 1)])
    )
    assert rows.select("period_start", "r1", "r2", "mrr_lost_gross", "revenue_churn_gross").rows() == [
        (date(2024, 2, 1), 80.0, 80.0, 0.0, 0.0),
        (date(2024, 3, 1), 80.0, 50.0, 30.0, pytest.approx(30 / 80)),
    ]
    assert rows.get_column("revenue_churn_f2").to_list() == [0.0, pytest.approx(30 / 80)]


# A streaming service with free trials (terms at mrr 0): a pays 10 a month all along; b too, and leaves on 03-15;
# u's 14-day trial (02-20 .. 03-05) converts to 10 a month; v's (02-25 .. 03-10) does not.
TRIALS = Dataset(
    tables={
        Table.CLIENTS: clients(
            [(c, D(2024, 1, 1), None) for c in "ab"]
            + [("u", D(2024, 2, 20), None), ("v", D(2024, 2, 25), None)]
        ),
        Table.SUBSCRIPTIONS: terms(
            [
                ("a", D(2024, 1, 1), D(2024, 12, 31), 10.0),
                ("b", D(2024, 1, 1), D(2024, 3, 15), 10.0),
                ("u", D(2024, 2, 20), D(2024, 3, 5), 0.0),
                ("u", D(2024, 3, 5), D(2024, 12, 31), 10.0),
                ("v", D(2024, 2, 25), D(2024, 3, 10), 0.0),
            ]
        ),
    },
    name="trials",
    start=D(2024, 1, 1),
    as_of=D(2024, 7, 1),
)


def test_a_trial_that_converts_is_new_revenue_not_an_expansion() -> None:
    """March starts with a and b paying 10 each, u and v on their trials (0). b leaves: half the paying
    revenue of the start is gone, a net revenue churn of (20 - 10) / 20 = 50%. u's 10 at the end of March is
    new business, not an expansion: offsetting b's loss it read (20 - 20) / 20 = 0% (a streaming service's
    trial conversions read 3-5% a month where its paying subscribers' net revenue churn was 10-11%)."""
    got = churn_report(TRIALS, LabelConfig(source="subscriptions", grace_days=0), "month", min_clients=1)
    march = got.filter((pl.col("segment") == "all") & (pl.col("period_start") == date(2024, 3, 1)))
    assert march.select("c1", "r1", "r2", "r2_of_c1", "revenue_churn_f2").rows() == [
        (4, 20.0, 20.0, 10.0, 0.5)
    ]


def _late_renewal(renewed: datetime) -> Dataset:
    """a runs all year; b's term ends 03-15 and is renewed on ``renewed`` (label.grace_days 30)."""
    return Dataset(
        tables={
            Table.CLIENTS: clients([("a", D(2024, 1, 1), None), ("b", D(2024, 1, 1), None)]),
            Table.SUBSCRIPTIONS: terms(
                [
                    ("a", D(2024, 1, 1), D(2024, 12, 1), 100.0),
                    ("b", D(2024, 1, 1), D(2024, 3, 15), 100.0),
                    ("b", renewed, D(2024, 12, 1), 100.0),
                ]
            ),
        },
        name="late",
        start=D(2024, 1, 1),
        as_of=D(2024, 7, 1),
    )


@pytest.mark.parametrize(
    ("renewed", "march", "april", "april_mrr_start"),
    [
        # renewed 21 days late, within the grace: no churn, and b keeps its 100 through the gap (it read as a
        # loss of 100 in March, a net revenue churn of -100% in April and an April MRR of 100)
        (D(2024, 4, 5), (0, 200.0, 200.0, 0.0, 0.0), (0, 200.0, 200.0, 0.0, 0.0), 200.0),
        # renewed 35 days late, past the grace: a churn on 03-15 (its 100 lost in March) and a return
        (D(2024, 4, 19), (1, 200.0, 100.0, 100.0, 0.5), (0, 100.0, 200.0, 0.0, 0.0), 100.0),
    ],
)
def test_a_renewal_signed_late_within_the_grace_loses_no_revenue(renewed, march, april, april_mrr_start):
    data, cfg = _late_renewal(renewed), LabelConfig(source="subscriptions", grace_days=30)
    report = churn_report(data, cfg, "month", min_clients=1).filter(pl.col("segment") == "all")
    cols = ["churned", "r1", "r2", "mrr_lost_gross", "revenue_churn_gross"]
    by_month = {r[0]: r[1:] for r in report.select("period_start", *cols).rows()}
    assert (by_month[date(2024, 3, 1)], by_month[date(2024, 4, 1)]) == (march, april)
    monthly = monthly_churn(data, cfg).filter(pl.col("segment") == "all")
    assert monthly.filter(pl.col("month") == date(2024, 4, 1)).get_column("mrr_start").to_list() == [
        april_mrr_start
    ]


@pytest.mark.parametrize(
    ("first_terms", "expected"),
    [
        # an export cut at its start: the customers of 2020 show at their first exported renewal, months in
        ([D(2024, 3, 1), D(2024, 5, 1), D(2024, 6, 1)], 365),
        # the terms running at the data's start are in it: customers appear from day one
        ([D(2023, 7, 1), D(2023, 9, 1), D(2024, 1, 15)], 0),
    ],
)
def test_an_export_of_terms_cut_at_its_start_has_a_warm_up_of_a_term(first_terms, expected) -> None:
    from churnml.reporting.metrics import terms_warm_up_days

    ids = ["a", "b", "c"]
    tables = {
        Table.CLIENTS: pl.DataFrame(
            {"client_id": ids, "created_at": [D(2020, 1, 1)] * 3}, schema_overrides={"created_at": DT}
        ),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ids,
                "start_date": first_terms,
                "end_date": [d.replace(year=d.year + 1) for d in first_terms],
                "mrr": [50.0] * 3,
            },
            schema_overrides={"start_date": DT, "end_date": DT},
        ),
    }
    assert terms_warm_up_days(Dataset(tables, "t", D(2024, 1, 10), D(2025, 8, 1))) == expected


def monthly_terms(
    client: str, first: datetime, n: int, mrr: float
) -> list[tuple[str, datetime, datetime, float]]:
    """``n`` back-to-back monthly terms of ``client`` from ``first``."""
    days = [
        datetime(first.year + (first.month + k - 1) // 12, (first.month + k - 1) % 12 + 1, first.day)
        for k in range(n + 1)
    ]
    return [(client, s, e, mrr) for s, e in pairwise(days)]


# A billing export of the terms running at 2024-12 or started since (a 410-account CRM's, in miniature): the
# annual terms reach back to the data's start (a from 2024-01-01, b from 2024-04-01, both customers since
# 2020), the monthly ones only to 2024-12-01, though m1-m4 are customers since 2021-2023. n is a real new
# customer (created the day of its first term). m3 leaves at its term's end, 2025-04-01.
# Hidden by the cut (first term more than 31 days after their creation or the data's start): b (91 days
# in), m1-m4 (335): 5 of 7 clients, the export is cut. Warm-up (per client, not per term row):
#   the clients' usual (median) term, 90th percentile: [30.5 (n), 31 (m1-m4), 365 (b), 365.5 (a)] -> 365;
#   the hidden clients' first term after the data's start, 90th percentile: [91, 335 (x4)] -> 335;
#   -> 365 days: the months from 2025-01 are rated. By term rows (42 of 46 monthly) it was 31 days, and
#   December 2024 read C1 2 (a, b), C3 4 (m1-m4, customers for years), C2 6: -200% by formula 1.
CUT = Dataset(
    tables={
        Table.CLIENTS: clients(
            [
                ("a", D(2020, 3, 1), "X"),
                ("b", D(2020, 6, 1), "X"),
                ("m1", D(2021, 2, 1), "X"),
                ("m2", D(2022, 5, 1), "X"),
                ("m3", D(2023, 9, 1), "X"),
                ("m4", D(2022, 11, 1), "X"),
                ("n", D(2025, 2, 10), "X"),
            ]
        ),
        Table.SUBSCRIPTIONS: terms(
            [
                ("a", D(2024, 1, 1), D(2025, 1, 1), 120.0),
                ("a", D(2025, 1, 1), D(2026, 1, 1), 120.0),
                ("b", D(2024, 4, 1), D(2025, 4, 1), 100.0),
                ("b", D(2025, 4, 1), D(2026, 4, 1), 100.0),
                *monthly_terms("m1", D(2024, 12, 1), 10, 10.0),
                *monthly_terms("m2", D(2024, 12, 1), 10, 10.0),
                *monthly_terms("m3", D(2024, 12, 1), 4, 10.0),
                *monthly_terms("m4", D(2024, 12, 1), 10, 10.0),
                *monthly_terms("n", D(2025, 2, 10), 8, 10.0),
            ]
        ),
    },
    name="cut",
    start=D(2024, 1, 1),
    as_of=D(2025, 10, 1),
)


LEADS = Dataset(
    {
        Table.CLIENTS: clients(
            [(f"o{i}", D(2021, 1, 1), "X") for i in range(8)]
            + [
                (f"n{i}", created, "X")
                for i, created in enumerate(
                    [D(2024, 2, 1), D(2024, 6, 1), D(2024, 9, 1), D(2025, 1, 1), D(2025, 5, 1)]
                )
            ]
        ),
        Table.SUBSCRIPTIONS: terms(
            [r for i in range(8) for r in monthly_terms(f"o{i}", D(2024, 1, 1), 24, 50.0)]
            + [
                r
                for i, created in enumerate(
                    [D(2024, 2, 1), D(2024, 6, 1), D(2024, 9, 1), D(2025, 1, 1), D(2025, 5, 1)]
                )
                for r in monthly_terms(f"n{i}", created + timedelta(days=61), 6, 50.0)
            ]
        ),
    },
    "leads",
    D(2024, 1, 1),
    D(2026, 1, 5),
)


def _terms_export(rows: list[tuple[str, datetime, datetime, float]], start: datetime) -> Dataset:
    """Clients created in 2020 (customers since before the data) with the terms ``rows``."""
    ids = sorted({r[0] for r in rows})
    return Dataset(
        {Table.CLIENTS: clients([(c, D(2020, 1, 1), "X") for c in ids]), Table.SUBSCRIPTIONS: terms(rows)},
        "t",
        start,
        D(2026, 8, 1),
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # annual terms from the data's start, monthly customers of years showing 11 months in: a term of the
        # clients (365), not of the term rows (31)
        (CUT, 365),
        # a billing system whose monthly terms begin 143 days after the data's start (2024-01-10): the warm-up
        # lasts until its customers have shown (143), not a month
        (
            _terms_export(
                [r for c in "abc" for r in monthly_terms(c, D(2024, 6, 1), 3, 50.0)],
                D(2024, 1, 10),
            ),
            143,
        ),
        # not cut: 8 customers of 2021 with terms from the data's first day, and 5 leads created in the data who
        # sign 61 days after their record: new customers, not hidden ones (a year of warm-up before)
        (LEADS, 0),
        # customers whose first term comes 517 days in: at most 366 (later, a first term is likelier a new
        # customer than an old one showing up)
        (
            _terms_export(
                [r for c in "abc" for r in monthly_terms(c, D(2025, 6, 10), 2, 50.0)], D(2024, 1, 10)
            ),
            366,
        ),
    ],
)
def test_the_warm_up_of_a_cut_export_is_counted_per_client(data, expected) -> None:
    from churnml.reporting.metrics import terms_warm_up_days

    assert terms_warm_up_days(data) == expected


def test_the_months_in_the_warm_up_of_a_cut_export_are_incomplete_not_rated() -> None:
    cfg = LabelConfig(source="subscriptions", grace_days=10)
    month = churn_report(CUT, cfg, "month", min_clients=1).filter(pl.col("segment") == "all")
    # the warm-up ends 2024-12-31: the months from 2025-01 are rated, up to August (September's end + 10 days
    # is after the data's end)
    assert month.get_column("complete").to_list() == [False] * 12 + [True] * 8 + [False]
    cols = ["period_start", "c1", "c2", "c3", "churned", "churn_rate_f1", "churn_rate_f2", "complete"]
    assert month.filter(pl.col("period_start").is_between(date(2024, 12, 1), date(2025, 5, 1))).select(
        cols
    ).rows() == [
        (date(2024, 12, 1), 2, 6, 4, 0, None, None, False),  # m1-m4 show: old customers, not rated
        (date(2025, 1, 1), 6, 6, 0, 0, 0.0, 0.0, True),
        (date(2025, 2, 1), 6, 7, 1, 0, pytest.approx(-1 / 6), 0.0, True),  # n: new
        (date(2025, 3, 1), 7, 7, 0, 0, 0.0, 0.0, True),
        (date(2025, 4, 1), 7, 6, 0, 1, pytest.approx(1 / 7), pytest.approx(1 / 7), True),  # m3 leaves
        (date(2025, 5, 1), 6, 6, 0, 0, 0.0, 0.0, True),
    ]
    quarter = churn_report(CUT, cfg, "quarter", min_clients=1).filter(pl.col("segment") == "all")
    assert quarter.select(
        "period_start", "c1", "c2", "c3", "churn_rate_f1", "churn_rate_f2", "complete"
    ).rows() == [
        (date(2024, 1, 1), 0, 1, 1, None, None, False),
        (date(2024, 4, 1), 1, 2, 1, None, None, False),
        (date(2024, 7, 1), 2, 2, 0, None, None, False),
        (date(2024, 10, 1), 2, 6, 4, None, None, False),  # by term rows: -200%
        (date(2025, 1, 1), 6, 7, 1, pytest.approx(-1 / 6), 0.0, True),
        (date(2025, 4, 1), 7, 6, 0, pytest.approx(1 / 7), pytest.approx(1 / 7), True),
        (date(2025, 7, 1), 6, 6, 0, None, None, False),
    ]


def test_the_warm_up_of_a_cut_export_reads_the_base_terms_not_the_add_ons() -> None:
    """Five customers of 2020 whose annual base terms show 152 days into the data, each with 13 monthly add-on
    rows: their usual term is a year (365), not the add-ons' month (the warm-up was 152, the hidden ones' showing)."""
    from churnml.reporting.metrics import terms_warm_up_days

    rows = []
    for c in "abcde":
        rows.append((c, D(2024, 6, 1), D(2025, 6, 1), 100.0, False))
        rows += [(c, s, e, 10.0, True) for _, s, e, _ in monthly_terms(c, D(2024, 6, 1), 13, 10.0)]
    subs = pl.DataFrame(
        rows,
        schema={
            Subscriptions.CLIENT_ID: pl.String,
            Subscriptions.START_DATE: DT,
            Subscriptions.END_DATE: DT,
            Subscriptions.MRR: pl.Float64,
            Subscriptions.IS_ADDON: pl.Boolean,
        },
        orient="row",
    )
    data = Dataset(
        {Table.CLIENTS: clients([(c, D(2020, 1, 1), "X") for c in "abcde"]), Table.SUBSCRIPTIONS: subs},
        "addons",
        D(2024, 1, 1),
        D(2026, 1, 1),
    )
    assert terms_warm_up_days(data) == 365


# an export begun on 2024-03-01 with the 30-day terms running then: d's started 2024-01-31 (the data's start), a's,
# b's and c's in February; all four customers since 2020
MID_CYCLE = _terms_export(
    [
        (c, first + timedelta(days=30 * k), first + timedelta(days=30 * (k + 1)), 10.0)
        for c, first in (
            ("d", D(2024, 1, 31)),
            ("a", D(2024, 2, 5)),
            ("b", D(2024, 2, 10)),
            ("c", D(2024, 2, 20)),
        )
        for k in range(8)
    ],
    D(2024, 1, 31),
)


def test_a_month_whose_start_an_export_begun_mid_cycle_does_not_show_is_warm_up() -> None:
    """February 2024 starts with d alone in the data (a, b and c show at their running terms' starts, 4 to 19 days
    later, as new): it read C1 1, C3 3, -300% by formula 1. March's start, the export's, shows all four."""
    from churnml.reporting.metrics import period_unrated_reasons, unobserved_starts, unrated_note

    months = period_starts(MID_CYCLE.start, D(2024, 8, 1), "month")
    assert unobserved_starts(MID_CYCLE, months) == {date(2024, 2, 1)}
    report = churn_report(
        Dataset(MID_CYCLE.tables, "t", MID_CYCLE.start, D(2024, 8, 1)),
        LabelConfig(source="subscriptions", grace_days=0),
        "month",
        min_clients=1,
    ).filter(pl.col("segment") == "all")
    cols = ["period_start", "c1", "c2", "c3", "churn_rate_f1", "complete"]
    assert report.select(cols).rows()[:2] == [
        (date(2024, 2, 1), 1, 4, 3, None, False),
        (date(2024, 3, 1), 4, 4, 0, 0.0, True),
    ]
    assert period_unrated_reasons(report.sort("period_start"))[0] == "warm-up"
    # the page says it under the chart, as the console under its table
    assert "<b>warm-up</b> (2024-02-01): too early" in unrated_note(report)
    # the terms running at the data's start are in it: no day hides anyone (leads of the data sign later)
    assert unobserved_starts(LEADS, period_starts(LEADS.start, LEADS.as_of, "month")) == set()


def test_the_warm_up_of_one_off_buyers_counts_from_when_their_orders_log_begins() -> None:
    """A vet chain's export: the wellness-plan terms running on its first day (2024-01-10) began up to a year
    before it (2023-03-01, the data's first record), its visits and payments begin on that day. Under the
    mixed label a pay-per-visit owner is known by its visits, so a month is blind until inactivity_days (60)
    after the visits log begins (2024-03-10): February and March are warm-up, from April rated. Counted from
    the first plan term, the warm-up ended in 2023 and every month read as rated (a 4,000-owner chain with a
    400-day inactivity: -12.6% and 8.9% churn in its first quarters, its old owners read as new at their first
    visit in the log)."""
    present = {
        Table.CLIENTS: pl.DataFrame(
            {"client_id": ["a", "b", "c"], "created_at": [D(2020, 1, 1)] * 3},
            schema_overrides={"created_at": DT},
        ),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ["a"],
                "start_date": [D(2023, 3, 1)],
                "end_date": [D(2024, 3, 1)],
                "mrr": [30.0],
            },
            schema_overrides={"start_date": DT, "end_date": DT},
        ),
        Table.PAYMENTS: pl.DataFrame(
            {
                "client_id": ["a", "b", "c", "b"],
                "amount": [30.0, 60.0, 60.0, 60.0],
                "paid_at": [D(2024, 1, 10), D(2024, 1, 20), D(2024, 2, 15), D(2024, 6, 1)],
            },
            schema_overrides={"paid_at": DT},
        ),
        Table.EVENTS: pl.DataFrame(
            {
                "client_id": ["b", "c"],
                "ts": [D(2024, 1, 20), D(2024, 2, 15)],
                "event": ["checkup", "vaccination"],
            },
            schema_overrides={"ts": DT},
        ),
    }
    data = Dataset(present, "t", D(2023, 3, 1), D(2024, 12, 1))
    got = monthly_churn(data, LabelConfig(source="mixed", inactivity_days=60, grace_days=0))
    overall = (
        got.filter(pl.col("segment") == "all", pl.col("month") >= date(2024, 2, 1)).sort("month").head(3)
    )
    assert overall.get_column("month").to_list() == [date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1)]
    assert overall.get_column("complete").to_list() == [False, False, True]


def _survivors(left_early: bool) -> Dataset:
    """Annual contracts since 2022-01-01, renewed each 1 January; invoices begin 2024-07-01 (the billing system
    adopted then). Client c does not renew at 2025-01-01. With ``left_early`` client z's contract ended
    2023-01-01 too: the export holds those who left before the invoices began."""
    rows = [
        (c, D(y, 1, 1), D(y + 1, 1, 1), 100.0)
        for c in "abcd"
        for y in range(2022, 2026)
        if c != "c" or y < 2025
    ]
    rows += [("z", D(2022, 1, 1), D(2023, 1, 1), 100.0)] if left_early else []
    ids = sorted({r[0] for r in rows})
    pays = pl.DataFrame(
        [(c, 100.0, D(2024, m, 1)) for c in ids if c != "z" for m in range(7, 13)],
        schema={Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
        orient="row",
    )
    tables = {
        Table.CLIENTS: clients([(c, D(2021, 12, 1), None) for c in ids]),
        Table.SUBSCRIPTIONS: terms(rows),
        Table.PAYMENTS: pays,
    }
    return Dataset(tables, "t", D(2022, 1, 1), D(2025, 12, 1))


def test_an_export_of_the_clients_still_there_when_the_logs_begin_rates_no_period_before_them() -> None:
    """A CRM adopted on 2024-07-01 brought the contract history (back to 2022) of the accounts still customers
    then, not of those who had left: nobody leaves before the invoices begin, so every earlier period read 0%
    churn (a fleet tracker's 13 quarters 2022-04 .. 2025-04). Those periods are warm-up, not rated; when the
    export holds an earlier leaver, they are rated as before."""
    cfg = LabelConfig(source="subscriptions", grace_days=10)

    def rated(data: Dataset) -> list[tuple[date, bool]]:
        got = churn_report(data, cfg, "quarter", min_clients=1).filter(pl.col("segment") == "all")
        return got.select("period_start", pl.col("churn_rate_f2").is_not_null()).rows()

    survivors = rated(_survivors(left_early=False))
    assert [s for s, ok in survivors if ok] == [date(2024, m, 1) for m in (7, 10)] + [
        date(2025, m, 1) for m in (1, 4, 7)
    ]
    assert [s for s, ok in rated(_survivors(left_early=True)) if ok][:2] == [
        date(2022, 4, 1),
        date(2022, 7, 1),
    ]


def test_a_slow_window_says_which_months_never_rate_and_when_the_first_will() -> None:
    """A shop of 25 monthly buyers, orders from 2024-01-10 to the data end (2024-08-01), under
    inactivity_days 120: no month is complete. The months starting before the warm-up's end (2024-01-10 + 120
    = 2024-05-09: February .. May) will never be rated; June is known once its end (07-01) + 120 days is behind
    the data end (2024-10-29: data through 2024-10-28, 89 more days), July at 2024-11-29. It read "incomplete:
    its churn is not fully known yet" of every month, the warm-up too, and said nothing of when a rate would
    come (a dental chain under inactivity_days 231 on 16 months of data)."""
    from churnml.reporting.metrics import first_rate_note, period_unrated_reasons

    ids = [f"c{i:02d}" for i in range(25)]
    days = [D(2024, 1, 10) + timedelta(days=30 * k) for k in range(7)]  # 01-10 .. 07-08
    data = Dataset(
        {
            Table.CLIENTS: pl.DataFrame(
                {"client_id": ids, "created_at": [D(2023, 1, 1)] * 25}, schema_overrides={"created_at": DT}
            ),
            Table.PAYMENTS: pl.DataFrame(
                {
                    "client_id": [c for c in ids for _ in days],
                    "amount": [40.0] * (25 * len(days)),
                    "paid_at": days * 25,
                },
                schema_overrides={"paid_at": DT},
            ),
        },
        "t",
        D(2024, 1, 10),
        D(2024, 8, 1),
    )
    report = churn_report(data, LabelConfig(source="inactivity", inactivity_days=120, grace_days=0), "month")
    overall = report.filter(pl.col("segment") == "all").sort("period_start")
    assert overall.get_column("period_start").to_list() == [date(2024, m, 1) for m in range(2, 8)]
    assert overall.get_column("known_from").to_list() == [None] * 4 + [date(2024, 10, 29), date(2024, 11, 29)]
    assert period_unrated_reasons(overall) == ["warm-up"] * 4 + ["incomplete"] * 2
    assert first_rate_note(report, date(2024, 8, 1)) == (
        "no month is rated yet: the warm-up months (2024-02-01 .. 2024-05-01) never will be; the first, "
        "2024-06-01, is rated once the data runs through 2024-10-28 (89 more days of data)"
    )
    # a month rated (the data to 2024-11-01): nothing to say
    later = Dataset(data.tables, "t", D(2024, 1, 10), D(2024, 11, 1))
    again = churn_report(later, LabelConfig(source="inactivity", inactivity_days=120, grace_days=0), "month")
    assert first_rate_note(again, date(2024, 11, 1)) is None


@pytest.mark.parametrize(
    ("basis", "rates", "expected"),
    [
        # a 10-month shop: June and July rated by clients, both within a year of the data (2025-09-01)
        (
            "payments_run_rate",
            [None, 0.1, 0.2],
            "revenue (rev): 2 rated months before 2025-09-01 have no revenue rate: with no subscriptions, revenue "
            "is the payments' run rate, a year of them, and before a year of data it is scaled from fewer days "
            "(its growth would read as churn); the months starting on or after 2025-09-01 have one",
        ),
        (
            "payments_run_rate",
            [None, None, 0.2],
            "revenue (rev): 1 rated month before 2025-09-01 has no revenue rate: with no subscriptions, revenue "
            "is the payments' run rate, a year of them, and before a year of data it is scaled from fewer days "
            "(its growth would read as churn); the months starting on or after 2025-09-01 have one",
        ),
        ("payments_run_rate", [None, None, None], None),  # nothing rated by clients either: no word
        ("subscriptions", [None, 0.1, 0.2], None),  # terms' MRR rates revenue from the first period
    ],
)
def test_rated_months_without_a_revenue_rate_say_why(basis, rates, expected):
    from churnml.reporting.metrics import revenue_wait_note

    table = pl.DataFrame(
        {
            "period": ["month"] * 4,
            "segment": ["all", "all", "all", "smb"],
            "period_start": [date(2025, 5, 1), date(2025, 6, 1), date(2025, 7, 1), date(2025, 6, 1)],
            "mrr_basis": [basis] * 4,
            "churn_rate_f2": [*rates, 0.5],
        },
        schema_overrides={"churn_rate_f2": pl.Float64},
    )
    assert revenue_wait_note(table, date(2024, 9, 1)) == expected
