"""Win-back list on a hand-built dataset with the expected rows written out."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from churnml.config import ConfigError, DataConfig, load_config
from churnml.contract.dataset import Dataset
from churnml.contract.schemas import Churns, Clients, Payments, Subscriptions, Table, Tickets
from churnml.reporting.winback import (
    ATTEMPT,
    KEEP_IN_TOUCH,
    LET_GO,
    RE_OFFER,
    WAIT,
    lost_clients,
    return_chances,
    return_dates,
    stage_labels,
    unknown_value_note,
    winback_list,
)

D = datetime
DT = pl.Datetime("us")
CFG = load_config().winback  # stages 30/90/180, cost 500 x 1.5 = 750, complaints 2 + discounts 1, ...


def _frame(rows: list[tuple], schema: dict) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row")


DATA = Dataset(
    tables={
        Table.CLIENTS: _frame(
            [
                # created with their first term: their whole history is on record (no unrecorded years)
                ("p1", D(2024, 1, 1), "Price Co", 0.5),
                ("g1", D(2024, 1, 1), "Grace Co", None),
                ("m1", D(2022, 1, 1), "Moved Co", None),
                ("t1", D(2022, 1, 1), "Toxic Co", None),
                ("l1", D(2024, 6, 1), "Loud Co", None),
                ("c1", D(2022, 1, 1), "Cheap Co", None),
                ("a1", D(2022, 1, 1), "Anon Co", None),
                ("r1", D(2022, 1, 1), "Back Co", None),
                ("s1", D(2022, 1, 1), "Stay Co", None),
            ],
            {
                Clients.CLIENT_ID: pl.String,
                Clients.CREATED_AT: DT,
                Clients.NAME: pl.String,
                Clients.MARGIN: pl.Float64,
            },
        ),
        Table.SUBSCRIPTIONS: _frame(
            [
                ("p1", D(2024, 1, 1), D(2024, 12, 20), 1000.0),
                ("g1", D(2024, 1, 1), D(2024, 12, 27), 100.0),
                ("r1", D(2024, 1, 1), D(2024, 5, 1), 300.0),
                ("r1", D(2024, 7, 1), D(2025, 7, 1), 300.0),  # came back
                ("s1", D(2024, 1, 1), D(2025, 6, 1), 200.0),
            ],
            {
                Subscriptions.CLIENT_ID: pl.String,
                Subscriptions.START_DATE: DT,
                Subscriptions.END_DATE: DT,
                Subscriptions.MRR: pl.Float64,
            },
        ),
        Table.PAYMENTS: _frame(
            [("p1", 1000.0, D(2024, m, 1)) for m in range(1, 13)]  # 12 payments: a regular customer
            + [("g1", 500.0, D(2024, m, 1)) for m in (1, 5, 9)]
            + [("m1", 5000.0, D(2024, 5, 1)), ("t1", 20000.0, D(2023, 12, 1)), ("l1", 10000.0, D(2024, 7, 1))]
            + [("c1", 1000.0, D(2024, 1, 15)), ("a1", 2000.0, D(2024, 2, 1)), ("a1", -0.0, D(2024, 2, 2))],
            {Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
        ),
        Table.TICKETS: _frame(
            [
                ("t1", D(2024, 2, 1), "complaint"),
                ("t1", D(2024, 3, 1), "complaint"),
                ("t1", D(2024, 4, 1), "discount_request"),
                ("l1", D(2024, 7, 1), "complaint"),
                ("l1", D(2024, 7, 15), "complaint"),
                ("l1", D(2024, 8, 1), "cancellation_request"),
                ("l1", D(2024, 9, 1), "cancellation_request"),
                ("l1", D(2024, 10, 1), "cancellation_request"),
            ],
            {Tickets.CLIENT_ID: pl.String, Tickets.OPENED_AT: DT, Tickets.KIND: pl.String},
        ),
        Table.CHURNS: _frame(
            [
                ("p1", D(2024, 12, 20), "price"),
                ("g1", D(2024, 12, 27), "forgot"),  # grace still running: only the record says it left
                ("m1", D(2024, 10, 1), "moved"),
                ("t1", D(2024, 8, 1), "service"),
                ("l1", D(2024, 11, 1), "other"),
                ("c1", D(2024, 3, 1), "forgot"),
                ("r1", D(2024, 5, 1), "price"),
            ],
            {Churns.CLIENT_ID: pl.String, Churns.CHURNED_AT: DT, Churns.REASON: pl.String},
        ),
    },
    name="t",
    start=D(2022, 1, 1),
    as_of=D(2025, 1, 1),
)
# the label source's decided churns: g1 is not decided yet (grace), a1 has no churns record
LABEL_CHURNS = _frame(
    [("p1", D(2024, 12, 20)), ("a1", D(2024, 6, 1)), ("r1", D(2024, 5, 1))],
    {"client_id": pl.String, "churned_at": DT},
)


@pytest.fixture(scope="module")
def plan() -> pl.DataFrame:
    return winback_list(DATA, LABEL_CHURNS, CFG, default_margin=0.7)


def test_winback_list_rows(plan):
    cols = [
        "client_id",
        "days_since_churn",
        "stage",
        "reason_segment",
        "lifetime_value",
        "decision",
        "priority",
    ]
    assert plan.select(cols).rows() == [
        ("p1", 12, "0-30", "price", 6000.0, ATTEMPT, 1),  # 12 x 1000 x margin 0.5
        ("g1", 5, "0-30", "forgot", 1050.0, ATTEMPT, 2),  # 3 x 500 x 0.7; first: recent, no complaint
        ("a1", 214, "180+", "unknown", 1400.0, ATTEMPT, 3),
        ("t1", 153, "91-180", "service", 14000.0, LET_GO, None),
        ("l1", 61, "31-90", "other", 7000.0, LET_GO, None),
        ("m1", 92, "91-180", "moved", 3500.0, KEEP_IN_TOUCH, None),
        ("c1", 306, "180+", "forgot", 700.0, LET_GO, None),
    ]


@pytest.mark.parametrize(
    ("client", "reason"),
    [
        ("p1", "lifetime value 6,000 is at least 750 (1.5 x the win-back cost of 500); a playbook pick: "
               "regular customer (12 payments in its last year), left recently without complaints"),
        ("g1", "lifetime value 1,050 is at least 750 (1.5 x the win-back cost of 500); a playbook pick: "
               "left recently without complaints"),
        ("a1", "lifetime value 1,400 is at least 750 (1.5 x the win-back cost of 500)"),
        ("t1", "repeated complaints (2) and discount demands (1) in its last year: let go gracefully"),
        ("l1", "low loyalty (a client for 153 days) with high demands (4 complaints, discount or "
               "cancellation requests in its last year)"),
        ("m1", "left for a reason we cannot answer (moved): no win-back attempt, keep a soft relationship"),
        ("c1", "lifetime value 700 is below 750 (1.5 x the win-back cost of 500)"),
    ],
)  # fmt: skip
def test_every_decision_states_its_reason_in_words(plan, client, reason):
    assert plan.filter(pl.col("client_id") == client).get_column("decision_reason").item() == reason


@pytest.mark.parametrize(
    ("client", "action"),
    [
        ("p1", "watch: a soft touch that sells nothing; from day 31: a price match or a loyalty offer"),
        ("a1", "recovery attempt: ask what would make them come back"),
        ("m1", "no attempt: keep a soft relationship (newsletter, season's greetings)"),
        ("c1", "no attempt: let go gracefully (close the account cleanly, no offers)"),
    ],
)
def test_action_follows_stage_and_reason(plan, client, action):
    assert plan.filter(pl.col("client_id") == client).get_column("action").item() == action


def test_attempts_carry_the_call_cadence(plan):
    attempts = plan.filter(pl.col("decision") == ATTEMPT)
    assert set(attempts.get_column("cadence")) == {
        "the first contact sells nothing; contacts (a call, an e-mail) no more often than every 3-5 days"
    }


def test_gone_clients_are_listed_from_the_day_they_leave_and_returns_are_not():
    lost = lost_clients(DATA, LABEL_CHURNS)
    # g1's label churn is not decided yet (grace), but its churns record puts it on the list; r1 came back
    assert lost.get_column("client_id").to_list() == ["a1", "c1", "g1", "l1", "m1", "p1", "t1"]
    assert lost.filter(pl.col("client_id") == "g1").get_column("churned_at").item() == D(2024, 12, 27)


def test_one_absence_is_dated_by_its_earliest_churn():
    later = pl.concat(
        [LABEL_CHURNS, _frame([("p1", D(2024, 12, 29))], {"client_id": pl.String, "churned_at": DT})]
    )
    lost = lost_clients(DATA, later)
    assert lost.filter(pl.col("client_id") == "p1").get_column("churned_at").item() == D(2024, 12, 20)


def test_return_dates_take_the_first_start_after_the_churn():
    churns = _frame(
        [("r1", D(2024, 5, 1)), ("p1", D(2024, 12, 20))], {"client_id": pl.String, "churned_at": DT}
    )
    got = return_dates(DATA, churns)
    assert got.get_column("returned_at").to_list() == [D(2024, 7, 1), None]


def test_a_smaller_value_ratio_turns_a_let_go_into_an_attempt():
    cfg = CFG.model_copy(update={"min_value_ratio": 1.0})  # floor 500 < c1's 700
    plan = winback_list(DATA, LABEL_CHURNS, cfg, default_margin=0.7)
    assert plan.filter(pl.col("client_id") == "c1").get_column("decision").item() == ATTEMPT


def test_without_optional_tables_every_row_still_has_stage_reason_decision_and_action():
    data = Dataset(
        tables={Table.CLIENTS: DATA.tables[Table.CLIENTS], Table.CHURNS: DATA.tables[Table.CHURNS]},
        name="t",
        start=D(2022, 1, 1),
        as_of=D(2025, 1, 1),
    )
    plan = winback_list(data, LABEL_CHURNS.clear(), CFG, default_margin=0.7)
    assert plan.height == 7  # r1's return cannot be seen without subscriptions or activity
    assert plan.select(
        pl.col("stage", "reason_segment", "decision", "decision_reason", "action").null_count()
    ).row(0) == (0, 0, 0, 0, 0)
    # no revenue data: the value is unknown (not 0), so no one is let go for it; no return seen either (r1's
    # needs subscriptions), so no chance of a return: the attempts are ranked by how recently they left
    assert plan.get_column("lifetime_value").null_count() == plan.height
    decided = dict(plan.select("client_id", "decision").iter_rows())
    assert decided == {c: ATTEMPT for c in ("g1", "p1", "l1", "t1", "r1", "c1")} | {"m1": KEEP_IN_TOUCH}
    attempts = plan.filter(pl.col("decision") == ATTEMPT).sort("priority")
    # left 5, 12, 61, 153, 245 and 306 days ago
    assert attempts.get_column("client_id").to_list() == ["g1", "p1", "l1", "t1", "r1", "c1"]
    assert (
        attempts.get_column("decision_reason")[3] == "lifetime value unknown (no payments or subscriptions)"
    )
    assert unknown_value_note(plan).startswith(
        "no payments or subscriptions in the data: lifetime value is unknown"
    )
    assert unknown_value_note(winback_list(DATA, LABEL_CHURNS, CFG, default_margin=0.7)) is None


@pytest.mark.parametrize(
    ("edges", "labels"),
    [((30, 90, 180), ["0-30", "31-90", "91-180", "180+"]), ((7,), ["0-7", "7+"])],
)
def test_stage_labels(edges, labels):
    assert stage_labels(edges) == labels


def test_config_needs_one_action_per_stage():
    with pytest.raises(ConfigError, match="stage_actions needs one action per stage"):
        load_config(overrides=["winback.stages=[30, 90]"])


def test_cli_writes_the_list_folder(tmp_path):
    from typer.testing import CliRunner

    from churnml.cli import app
    from churnml.contract.io import write_tables

    write_tables(DATA.tables, tmp_path / "data")
    out = tmp_path / "wb"
    result = CliRunner().invoke(
        app,
        ["winback", "--data", str(tmp_path / "data"), "--out", str(out), "--set", "data.as_of=2024-12-31"],
    )
    assert result.exit_code == 0, result.output
    written = pl.read_parquet(out / "winback.parquet")
    assert written.get_column("client_id").to_list()[:2] == ["p1", "g1"]
    assert (out / "winback.csv").read_text().count("\n") == written.height + 1
    assert "<svg" not in (out / "winback.html").read_text()  # no interventions: no plots, but a page
    assert "Who to bring back" in (out / "winback.html").read_text()
    # subscriptions label source: a1 (no term, no churns record) never churned; the other six are listed
    assert "2 attempt, 1 keep in touch, 3 let go" in result.output


def test_the_default_report_folder_never_takes_another_datasets_report(tmp_path) -> None:
    import json

    from churnml.jobs.reports import report_folder
    from churnml.scoring.outputs import OutputError

    default = tmp_path / "out" / "winback"
    default.mkdir(parents=True)
    (default / "manifest.json").write_text(json.dumps({"written_by": "churnml", "data": {"name": "shop_a"}}))
    assert report_folder(None, default, tmp_path / "shop_a", "win-back plan") == default  # its own: replaced
    with pytest.raises(
        OutputError, match=r"holds the win-back plan of the dataset .shop_a.*--out .*winback-shop_b"
    ):
        report_folder(None, default, tmp_path / "shop_b", "win-back plan")
    chosen = tmp_path / "elsewhere"
    assert report_folder(chosen, default, tmp_path / "shop_b", "win-back plan") == chosen  # --out given
    # a folder per export date, one dataset under data.name: its own report
    named = DataConfig(name="shop_a")
    assert report_folder(None, default, tmp_path / "2024-12-02", "win-back plan", named) == default


@pytest.mark.parametrize(
    ("values", "decisions", "expected"),
    [
        # 8 of 10 let go for a value under 1.5 x 500 = 750: the cost is likely not this product's; half of them
        # clear the floor at a cost of 20 / 1.5 = 13 (a dental chain: 619 of 850 let go, the median 80, and
        # no figure of the cost that would let the clients decide)
        (
            [20.0] * 8 + [900.0, 1000.0],
            ["let go"] * 8 + ["attempt"] * 2,
            "8 of the 10 clients who left are let go because their lifetime value is under 1.5 x "
            "winback.cost_per_attempt (500, the default, sized for an account manager's call), i.e. 750; the "
            "median lifetime value of those who left is 20: the cost setting, not the clients, decides most "
            "verdicts. Half of those who left clear the floor at a cost of 13 or less (their median value / "
            "winback.min_value_ratio). If an attempt costs you less (an email, a discount code, a call from "
            "the front desk), set winback.cost_per_attempt to what it costs",
        ),
        ([20.0] * 4 + [900.0] * 6, ["let go"] * 4 + ["attempt"] * 6, None),  # under half
        ([20.0] * 8, ["let go"] * 8, None),  # too few to say
        ([900.0] * 10, ["let go"] * 10, None),  # let go for other reasons (a toxic history)
    ],
)
def test_a_list_that_lets_most_go_for_their_value_says_so(values, decisions, expected) -> None:
    from churnml.config import WinbackConfig
    from churnml.reporting.winback import value_floor_note

    plan = pl.DataFrame({"lifetime_value": values, "decision": decisions})
    assert value_floor_note(plan, WinbackConfig()) == expected


def test_a_cost_the_business_set_is_not_called_the_default() -> None:
    from churnml.config import WinbackConfig
    from churnml.reporting.winback import value_floor_note

    plan = pl.DataFrame(
        {"lifetime_value": [20.0] * 8 + [900.0, 1000.0], "decision": ["let go"] * 8 + ["attempt"] * 2}
    )
    note = value_floor_note(plan, WinbackConfig(cost_per_attempt=100.0))
    assert note is not None and note.startswith(
        "8 of the 10 clients who left are let go because their lifetime value is under 1.5 x "
        "winback.cost_per_attempt (100), i.e. 150; the median lifetime value of those who left is 20"
    )


def test_the_win_back_page_says_the_cost_decides_most_verdicts(tmp_path) -> None:
    """12 one-visit patients who left (GBP 40 each): every one let go under the default cost's floor of 750. The
    console said so; winback.html, what the practice reads, did not."""
    from typer.testing import CliRunner

    from churnml.cli import app
    from churnml.contract.io import write_tables

    ids = [f"p{i:02d}" for i in range(12)]
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ids, "created_at": [D(2024, 1, 1)] * 12}),
        Table.PAYMENTS: pl.DataFrame(
            {"client_id": ids, "amount": [40.0] * 12, "paid_at": [D(2024, 1, 10)] * 12}
        ),
        Table.CHURNS: pl.DataFrame({"client_id": ids, "churned_at": [D(2024, 6, 1)] * 12}),
    }
    write_tables(tables, tmp_path / "data")
    out = tmp_path / "wb"
    result = CliRunner().invoke(
        app,
        [
            "winback",
            "--data",
            str(tmp_path / "data"),
            "--out",
            str(out),
            "--set",
            "data.as_of=2024-12-31",
            "--set",
            "label.source=churns",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "12 let go" in result.output
    said = "12 of the 12 clients who left are let go because their lifetime value is under 1.5 x"
    assert said in " ".join(result.output.split())
    page = (out / "winback.html").read_text()
    assert (
        f"<b>Note:</b> {said}" in page and "the cost setting, not the clients, decides most verdicts" in page
    )


# two annual terms at 100 a month, then a quarter at 250 (an upgrade): 24 x 100 + 3 x 250 = 3,150 billed
# within the rounding of months to 365.25 / 12 days; the client left when the quarter ended
S1_TERMS = pl.DataFrame(
    {
        "client_id": ["s1"] * 3,
        "start_date": [D(2023, 1, 1), D(2024, 1, 1), D(2025, 1, 1)],
        "end_date": [D(2024, 1, 1), D(2025, 1, 1), D(2025, 4, 1)],
        "mrr": [100.0, 100.0, 250.0],
    }
)


def _s1_plan(**tables: pl.DataFrame) -> pl.DataFrame:
    """The win-back list of s1 (the terms of :data:`S1_TERMS`, left on 2025-04-01) with ``tables``."""
    data = Dataset(
        tables={
            Table.CLIENTS: pl.DataFrame({"client_id": ["s1"], "created_at": [D(2023, 1, 1)]}),
            Table.SUBSCRIPTIONS: S1_TERMS,
            **{Table(t): f for t, f in tables.items()},
        },
        name="t",
        start=D(2023, 1, 1),
        as_of=D(2025, 6, 1),
    )
    churns = pl.DataFrame({"client_id": ["s1"], "churned_at": [D(2025, 4, 1)]})
    return winback_list(data, churns, CFG, default_margin=0.5)


def test_without_payments_lifetime_revenue_is_mrr_times_the_months_billed():
    # the raw MRR summed, as before the fix, is 450
    plan = _s1_plan()
    revenue = plan.get_column("lifetime_revenue").item()
    assert revenue == pytest.approx(3150.0, rel=0.01)
    assert plan.get_column("lifetime_value").item() == pytest.approx(0.5 * revenue)


@pytest.mark.parametrize(
    ("paid", "expected"),
    [
        # the payments export begins in 2025: its one invoice of 750 is the end of 27 months of terms
        ([(D(2025, 1, 2), 750.0)], 3150.0),
        # payments beyond the terms (one-off purchases): what was paid
        ([(D(2023, 1, 2), 2000.0), (D(2024, 1, 2), 2000.0)], 4000.0),
        # a payment after the churn is no revenue of the relationship that ended
        ([(D(2025, 5, 2), 9000.0)], 3150.0),
    ],
)
def test_with_payments_lifetime_revenue_is_the_larger_of_paid_and_billed(paid, expected):
    payments = pl.DataFrame(
        {"client_id": ["s1"] * len(paid), "paid_at": [p[0] for p in paid], "amount": [p[1] for p in paid]}
    )
    plan = _s1_plan(payments=payments)
    assert plan.get_column("lifetime_revenue").item() == pytest.approx(expected, rel=0.01)


def test_a_failed_attempt_is_neither_revenue_nor_an_order():
    # three orders of 2000 in the year before the churn, then three declined cards of 2000 (a dunning run)
    paid = [D(2024, 6, 2), D(2024, 9, 2), D(2024, 12, 2), D(2025, 1, 2), D(2025, 2, 2), D(2025, 3, 2)]
    payments = pl.DataFrame(
        {
            "client_id": ["s1"] * 6,
            "paid_at": paid,
            "amount": [2000.0] * 6,
            "status": ["paid"] * 3 + ["failed"] * 3,
        }
    )
    plan = _s1_plan(payments=payments)
    assert plan.get_column("lifetime_revenue").item() == pytest.approx(6000.0)  # the 3 orders (billed: 3150)
    assert plan.get_column("orders_last_year").item() == 3


def _payment_failed_leaver(client: str, payments: pl.DataFrame) -> dict:
    """The win-back row of ``client``, a customer since 2024-01-01 that left on 2024-12-20 for payment_failed
    (a churns record with its reason), with its ``payments``, planned on 2025-01-01."""
    data = Dataset(
        tables={
            Table.CLIENTS: pl.DataFrame({"client_id": [client], "created_at": [D(2024, 1, 1)]}),
            Table.CHURNS: pl.DataFrame(
                {"client_id": [client], "churned_at": [D(2024, 12, 20)], "reason": ["payment_failed"]}
            ),
            Table.PAYMENTS: payments,
        },
        name="t",
        start=D(2024, 1, 1),
        as_of=D(2025, 1, 1),
    )
    churns = pl.DataFrame({"client_id": [client], "churned_at": [D(2024, 12, 20)]})
    return winback_list(data, churns, CFG, default_margin=0.5).row(0, named=True)


def test_an_involuntary_churn_is_won_back_with_a_payment_update():
    payments = pl.DataFrame({"client_id": ["card"], "paid_at": [D(2024, 11, 20)], "amount": [40.0]})
    row = _payment_failed_leaver("card", payments)
    assert row["reason_segment"] == "payment_failed"
    # from the first day, and whatever its value (20 of lifetime value, under 750): the card reminder is cheap
    assert (row["decision"], row["action"]) == (
        "attempt",
        "now: a reminder to update the payment method; reactivate in one click",
    )
    assert row["decision_reason"].startswith(
        "involuntary churn (payment_failed): the reminder costs next to nothing"
    )


@pytest.mark.parametrize(
    ("failed", "decision", "starts"),
    [
        # a household cut off after 3 unpaid monthly debits (120 owed): a debt to recover, no card reminder
        (
            3,
            "let go",
            "left owing 3 failed payments of 120 that no payment settled: recover the debt (finance)",
        ),
        # a card that failed twice at the end: still the involuntary churn's reminder
        (2, "attempt", "involuntary churn (payment_failed)"),
    ],
)
def test_a_client_that_left_owing_months_of_bills_is_no_card_to_update(failed, decision, starts):
    # an energy supplier's 29 households cut off for debt (a median 5 failed direct debits, 581 owed) were all
    # attempted with "a reminder to update the payment method; reactivate in one click"; none came back
    months = [D(2024, m, 10) for m in range(1, 12)]  # 11 monthly debits, the last `failed` of them failed
    payments = pl.DataFrame(
        {
            "client_id": ["debt"] * 11,
            "issued_at": months,
            "paid_at": months,
            "amount": [40.0] * 11,
            "status": ["paid"] * (11 - failed) + ["failed"] * failed,
        }
    )
    row = _payment_failed_leaver("debt", payments)
    assert (row["decision"], row["decision_reason"][: len(starts)]) == (decision, starts)


@pytest.mark.parametrize(
    ("reason", "decision", "action"),
    [
        ("closed", "no contact", "no contact: remove from mailings and calls"),
        ("moved", "keep in touch", "no attempt: keep a soft relationship (newsletter, season's greetings)"),
        (  # a happy churn (a learner who cancelled on finishing its course): the next course, no save offer
            "completed",
            "attempt",
            "watch: a soft touch that sells nothing; from day 31: what comes next: the next course, level or goal "
            "after the one they finished, no save offer",
        ),
    ],
)
def test_the_reason_a_client_left_sets_its_winback(reason, decision, action):
    # a donor who died (reason closed) gets no win-back, not even a newsletter; one who moved is kept in touch;
    # one who reached its goal is offered the next (it had to be written other: "ask what would make them come back")
    data = Dataset(
        tables={
            Table.CLIENTS: pl.DataFrame({"client_id": ["d"], "created_at": [D(2020, 1, 1)]}),
            Table.CHURNS: pl.DataFrame(
                {"client_id": ["d"], "churned_at": [D(2024, 12, 20)], "reason": [reason]}
            ),
            Table.PAYMENTS: pl.DataFrame(
                {
                    "client_id": ["d"] * 12,
                    "paid_at": [D(2024, m, 5) for m in range(1, 13)],
                    "amount": [900.0] * 12,
                }
            ),
        },
        name="t",
        start=D(2020, 1, 1),
        as_of=D(2025, 1, 1),
    )
    churns = pl.DataFrame({"client_id": ["d"], "churned_at": [D(2024, 12, 20)]})
    row = winback_list(data, churns, CFG, default_margin=0.5).row(0, named=True)
    assert (row["decision"], row["action"]) == (decision, action)
    assert (row["priority"] is None) == (decision != "attempt")
    if reason == "closed":
        assert (
            row["decision_reason"]
            == "the client no longer exists (closed): no contact of any kind; close the record"
        )


def test_the_contract_reads_a_happy_churn_as_a_reason():
    from churnml.contract.schemas import Churns

    assert "completed" in Churns.REASONS


@pytest.mark.parametrize(
    ("record_at", "reason"),
    [
        (datetime(2026, 8, 1), "price"),  # a notice a week before the lapse
        (datetime(2026, 3, 1), "price"),  # 161 days before: a notice given months ahead
        (datetime(2025, 7, 17), None),  # a car sold a year before, after which the customer renewed
    ],
)
def test_a_churn_reason_comes_from_a_record_near_the_departure(record_at, reason):
    from churnml.reporting.winback import with_reasons

    churns = pl.DataFrame({"client_id": ["p1"], "churned_at": [record_at], "reason": ["price"]})
    data = Dataset(
        tables={
            Table.CLIENTS: pl.DataFrame({"client_id": ["p1"], "created_at": [datetime(2024, 1, 1)]}),
            Table.CHURNS: churns,
        },
        name="t",
        start=datetime(2024, 1, 1),
        as_of=datetime(2026, 12, 1),
    )
    lost = pl.DataFrame({"client_id": ["p1"], "churned_at": [datetime(2026, 8, 9)]})
    assert with_reasons(lost, data).get_column("reason").to_list() == [reason]


def _gone(rows: list[tuple]) -> pl.DataFrame:
    return _frame(
        rows, {"client_id": pl.String, "churned_at": DT, "returned_at": DT, "reason_segment": pl.String}
    )


def test_the_chance_of_a_return_is_measured_on_past_absences_by_days_gone_and_reason():
    # as of 2025-01-01, follow-up 100 days, prior 2; days gone: to the return, else watched to 2025-01-01
    gone = _gone(
        [
            ("a", D(2024, 1, 1), D(2024, 2, 10), "price"),  # back on day 40
            ("b", D(2024, 1, 1), None, "price"),  # 366
            ("c", D(2024, 6, 1), D(2024, 6, 21), "forgot"),  # back on day 20
            ("d", D(2024, 6, 1), None, "forgot"),  # 214
            ("e", D(2024, 12, 2), None, "forgot"),  # 30
            ("f", D(2024, 11, 1), None, "forgot"),  # 61: at risk up to day 61, then no longer counted
            ("g", D(2024, 3, 1), D(2024, 6, 9), "price"),  # back on day 100
        ]
    )
    lost = _frame(
        [(30, "forgot"), (30, "price"), (61, "forgot"), (214, "forgot"), (366, "price")],
        {"days_since_churn": pl.Int64, "reason_segment": pl.String},
    )
    cfg = CFG.model_copy(update={"follow_up_days": 100, "return_prior": 2.0})
    got = return_chances(gone, lost, D(2025, 1, 1), cfg)
    # days 31-130: on day 40, 1 back of 5 at risk (a, b, d, f, g); on day 100, 1 of 3 (b, d, g):
    # 1 - 4/5 x 2/3 = 7/15 for all. Forgot: d, f at risk, none back: (2 x 0 + 2 x 7/15) / (2 + 2).
    # Price: a, b, g at risk, 1 of 3 then 1 of 2 back: 2/3, so (3 x 2/3 + 2 x 7/15) / (3 + 2)
    cols = ["days_since_churn", "reason_segment", "watched", "watched_of_reason", "return_chance"]
    assert got.select(cols).rows() == [
        (30, "forgot", 5, 2, pytest.approx(7 / 30)),
        (30, "price", 5, 3, pytest.approx(44 / 75)),
        (61, "forgot", 3, 1, pytest.approx((0 + 2 / 3) / 3)),  # days 62-161: 1 of 3 (b, d, g) on day 100
        (214, "forgot", 1, 0, 0.0),  # days 215-314: only b watched, not back
        (366, "price", 0, 0, None),  # no absence watched beyond 366 days
    ]
    assert got.get_column("return_chance_basis").to_list()[1::3] == [
        "of 5 past absences still gone 30 days after leaving, 46.7% came back within 100 days more; of the 3 "
        "for price 66.7%: 58.7% (smoothed with 2)",
        "no past absence has been watched beyond 366 days after leaving: the chance of a return is unknown",
    ]


def test_without_a_return_in_the_data_the_chance_is_unknown():
    gone = _gone([("a", D(2024, 1, 1), None, "price"), ("b", D(2024, 6, 1), None, "price")])
    lost = _frame([(30, "price")], {"days_since_churn": pl.Int64, "reason_segment": pl.String})
    got = return_chances(gone, lost, D(2025, 1, 1), CFG).row(0, named=True)
    assert (got["return_chance"], got["return_chance_basis"]) == (
        None,
        "no past absence came back in the data: the chance of a return is unknown",
    )


def test_no_chance_is_measured_past_the_longest_watch_nor_a_reasons_own_past_its_absences_watch():
    """As of 2025-10-01, follow-up 180 days: past absences watched 200 days at most. Gone 190 days, only days
    191-200 were watched: the hazard read 0 beyond them, and "0.0% came back within 180 days more" ranked
    above the clients with no chance. The one price absence, watched 100 days, read 0 for price at 10 days
    and pulled price's chance down to (1 x 0 + 20 x 2/7) / 21."""
    as_of = D(2025, 10, 1)
    gone = _gone(
        [
            ("a", D(2025, 3, 15), None, "unknown"),  # 200 days
            ("b", D(2025, 3, 16), None, "unknown"),  # 199
            ("c", D(2025, 3, 17), None, "unknown"),  # 198
            ("d", D(2025, 3, 25), None, "unknown"),  # 190
            ("e", D(2025, 8, 2), D(2025, 9, 30), "unknown"),  # back on day 59
            ("f", D(2025, 8, 12), D(2025, 9, 26), "unknown"),  # back on day 45
            ("g", D(2025, 6, 23), None, "price"),  # 100
        ]
    )
    lost = _frame(
        [(10, "price"), (10, "unknown"), (190, "unknown")],
        {"days_since_churn": pl.Int64, "reason_segment": pl.String},
    )
    cfg = CFG.model_copy(update={"follow_up_days": 180, "return_prior": 20.0})
    got = return_chances(gone, lost, as_of, cfg)
    # days 11-190, all: on day 45 1 of 7 back (a-g), on day 59 1 of 6: 1 - 6/7 x 5/6 = 2/7, a-d watched to 190.
    # Unknown: 1 - 5/6 x 4/5 = 1/3 of 6, smoothed (6 x 1/3 + 20 x 2/7) / 26 = 27/91. Price: g watched to 100.
    cols = ["days_since_churn", "reason_segment", "watched", "watched_of_reason", "return_chance"]
    assert got.select(cols).rows() == [
        (10, "price", 7, 1, pytest.approx(2 / 7)),
        (10, "unknown", 7, 6, pytest.approx(27 / 91)),
        (190, "unknown", 3, 0, None),
    ]
    assert got.get_column("return_chance_basis").to_list()[::2] == [
        "of 7 past absences still gone 10 days after leaving, 28.6% came back within 180 days more; none of the "
        "1 for price watched 180 days more, so all reasons': 28.6%",
        "past absences were watched 200 days at most, none 180 days beyond 190 days after leaving: the chance of "
        "a return is unknown; of the 3 still gone 190 days, 0.0% came back in the 10 days covered",
    ]


def test_the_list_ranks_by_the_chance_of_a_return_times_the_value():
    """y left 245 days ago with 11,177 of lifetime value, x 61 days ago with 1,541: no client of the past
    came back after 240 days away, so x (a third of its value expected) ranks above y (none). The old
    rank put y first (high value). h2 has been gone 550 days, so y's 0 is measured over all 180 days (on one
    absence: no evidence against an attempt, attempt_days)."""
    term = (Subscriptions.CLIENT_ID, Subscriptions.START_DATE, Subscriptions.END_DATE, Subscriptions.MRR)
    data = Dataset(
        tables={
            Table.CLIENTS: _frame(
                [(c, D(2023, 1, 1)) for c in ("h1", "h2", "x", "y")],
                {Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: DT},
            ),
            Table.SUBSCRIPTIONS: _frame(
                [
                    ("h1", D(2023, 1, 1), D(2024, 1, 1), 100.0),
                    ("h1", D(2024, 4, 30), D(2025, 6, 1), 100.0),  # back after 120 days
                    ("h2", D(2023, 1, 1), D(2023, 7, 1), 200.0),
                    ("y", D(2023, 1, 1), D(2024, 5, 1), 1000.0),
                    ("x", D(2023, 1, 1), D(2024, 11, 1), 100.0),
                ],
                dict.fromkeys(term[:1], pl.String) | dict.fromkeys(term[1:3], DT) | {term[3]: pl.Float64},
            ),
        },
        name="t",
        start=D(2023, 1, 1),
        as_of=D(2025, 1, 1),
    )
    churns = _frame(
        [("h1", D(2024, 1, 1)), ("h2", D(2023, 7, 1)), ("y", D(2024, 5, 1)), ("x", D(2024, 11, 1))],
        {"client_id": pl.String, "churned_at": DT},
    )
    plan = winback_list(data, churns, CFG, default_margin=0.7)
    got = plan.select("client_id", "stage", "lifetime_value", "return_chance", "expected_value", "priority")
    assert got.rows() == [
        # days 62-241: h1 back on day 120 of h1, h2, y at risk: 1 of 3
        ("x", "31-90", 1540.86, pytest.approx(1 / 3), 513.62, 1),
        ("y", "180+", 11177.0, 0.0, 0.0, 2),  # days 246-425: h2 at risk (watched 550 days), not back
        ("h2", "180+", 832.53, None, None, 3),  # no one watched beyond its 550 days: unknown, last
    ]


def test_the_page_shows_the_chance_and_says_how_the_list_is_ranked(plan):
    from churnml.reporting.interventions import ab_tests, retention_contacts, winback_attempts, winback_page

    attempts = winback_attempts(DATA, LABEL_CHURNS, CFG.stages)
    page = winback_page(
        plan,
        attempts,
        ab_tests(attempts),
        retention_contacts(DATA, LABEL_CHURNS, 90),
        D(2025, 1, 1).date(),
        CFG.stages,
    )
    assert "Priority: attempts by expected value = lifetime value x the chance of a return" in page
    assert "return_<wbr>chance" in page and "mean_<wbr>return_<wbr>chance" in page


def test_equal_expected_values_go_by_the_chance_of_a_return_and_the_page_says_so():
    """A (lifetime value 100, chance 0.2) and B (50, 0.4) both expect 20: the likelier return comes first;
    the page said ties went by lifetime value, which would have put A first."""
    from churnml.reporting.interventions import _rank_paragraph
    from churnml.reporting.winback import _with_priority

    lost = pl.DataFrame(
        {
            "client_id": ["A", "B"],
            "decision": [ATTEMPT, ATTEMPT],
            "lifetime_value": [100.0, 50.0],
            "return_chance": [0.2, 0.4],
            "expected_value": [20.0, 20.0],
            "days_since_churn": [40, 40],
            "return_chance_basis": ["x", "x"],
        }
    )
    assert _with_priority(lost).select("client_id", "priority").rows() == [("A", 2), ("B", 1)]
    assert (
        "; ties by the chance of a return, then lifetime value, then the most recently gone.</p>"
        in _rank_paragraph(lost)
    )


# A pet-food shop of subscribers and one-off buyers (grace 30 days, inactivity 60), its data ending 2025-01-01.
def _terms(*rows: tuple[str, datetime, datetime]) -> pl.DataFrame:
    schema = {Subscriptions.CLIENT_ID: pl.String, Subscriptions.START_DATE: DT, Subscriptions.END_DATE: DT}
    return _frame(list(rows), schema).with_columns(pl.lit(20.0).alias(Subscriptions.MRR))


def _orders(client: str, *days: datetime) -> list[tuple]:
    return [(client, 20.0, day) for day in days]


_MONTHLY = [D(2024, m, 1) for m in (1, 2, 3)]
SHOP = Dataset(
    tables={
        Table.CLIENTS: _frame(
            [
                (c, D(2023, 12, 1))
                for c in ("sub_left", "sub_orders", "sub_renews", "sub_late", "one_back", "one_gone")
            ]
            + [("rec", D(2023, 12, 1))],
            {Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: DT},
        ),
        Table.SUBSCRIPTIONS: _terms(
            ("sub_left", D(2024, 1, 1), D(2024, 4, 1)),  # its orders within the term, then nothing
            ("sub_orders", D(2024, 1, 1), D(2024, 4, 1)),  # then a one-off order on 12-15
            ("sub_renews", D(2024, 1, 1), D(2024, 4, 1)),
            ("sub_renews", D(2024, 10, 1), D(2025, 4, 1)),  # a new term in October
            ("sub_late", D(2024, 6, 1), D(2024, 11, 15)),  # an order on 12-10, in its term's grace
        ),
        Table.PAYMENTS: _frame(
            _orders("sub_left", *_MONTHLY)
            + _orders("sub_orders", *_MONTHLY, D(2024, 12, 15))
            + _orders("sub_renews", *_MONTHLY, D(2024, 10, 1), D(2024, 11, 1), D(2024, 12, 1))
            + _orders("sub_late", *[D(2024, m, 1) for m in range(6, 12)], D(2024, 12, 10))
            + _orders("one_back", D(2024, 2, 1), D(2024, 3, 1), D(2024, 12, 10))  # lapsed, orders again
            + _orders("one_gone", D(2024, 2, 1))
            # a one-off buyer whose churns record (06-20) is followed by an order in its wind-down (07-05)
            # and, months later, by a new one (12-20)
            + _orders("rec", *[D(2024, m, 15) for m in range(1, 7)], D(2024, 7, 5), D(2024, 12, 20)),
            {Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
        ),
        Table.CHURNS: _frame([("rec", D(2024, 6, 20))], {Churns.CLIENT_ID: pl.String, Churns.CHURNED_AT: DT}),
    },
    name="shop",
    start=D(2024, 1, 1),
    as_of=D(2025, 1, 1),
)


@pytest.mark.parametrize(
    ("source", "gone", "listed"),
    [
        # a customer is a client with a term: only a new term brings one back; rec's record keeps it gone
        ("subscriptions", ["rec", "sub_late", "sub_left", "sub_orders"], ["sub_renews"]),
        # any order brings a client back, terms or not (sub_late's order of 12-10 keeps it active); rec's
        # order in its record's wind-down is no return, the one of 12-20 is
        ("inactivity", ["one_gone", "sub_left"], ["one_back", "rec", "sub_late", "sub_orders", "sub_renews"]),
        # a one-off buyer comes back with an order; a subscriber with a new term or, once its spell's grace is
        # over, an order (sub_orders: back as a one-off buyer); sub_late's order in its grace is its term's
        ("mixed", ["one_gone", "sub_late", "sub_left"], ["one_back", "rec", "sub_orders", "sub_renews"]),
    ],
)
def test_who_came_back_follows_the_label_source(source, gone, listed):
    """The win-back list and the weekly list read one return rule (labels.returns_after_churns) by
    label.source: a client who left is on exactly one of them."""
    from churnml.config import LabelConfig
    from churnml.labels import active_spine, churn_dates

    label = LabelConfig(source=source, grace_days=30, inactivity_days=60, horizon_days=60)
    lost = lost_clients(SHOP, churn_dates(SHOP, label), label.grace_days, source)
    assert lost.get_column("client_id").to_list() == gone
    active = active_spine(SHOP, [SHOP.as_of.date()], label).get_column("client_id").sort().to_list()
    assert active == listed


# A shop's one-off buyers (inactivity 60 days) and a subscriber (grace 30), the data ending 2025-01-01.
STOPPED = Dataset(
    tables={
        Table.CLIENTS: _frame(
            [(c, D(2023, 12, 1)) for c in ("recent", "early", "sub")],
            {Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: DT},
        ),
        Table.SUBSCRIPTIONS: _terms(("sub", D(2024, 1, 1), D(2024, 9, 15))),
        Table.PAYMENTS: _frame(
            _orders("recent", D(2024, 9, 1), D(2024, 10, 3))  # left 10-03, decided 12-02
            + _orders("early", D(2024, 6, 1), D(2024, 7, 1)),  # left 07-01, decided 08-30
            {Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
        ),
    },
    name="stopped",
    start=D(2024, 1, 1),
    as_of=D(2025, 1, 1),
)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # the days gone count from the last order, not from the decision 60 days later: recent is 90 days
        # gone ("31-90", not "0-30" from 12-02), early 184 ("180+", not "91-180" from 08-30)
        (
            "inactivity",
            [
                ("early", D(2024, 8, 30), D(2024, 7, 1), 184, "180+"),
                ("recent", D(2024, 12, 2), D(2024, 10, 3), 90, "31-90"),
            ],
        ),
        # a subscriber left at its term's end (decided after the grace); the one-off buyers as above
        (
            "mixed",
            [
                ("early", D(2024, 8, 30), D(2024, 7, 1), 184, "180+"),
                ("recent", D(2024, 12, 2), D(2024, 10, 3), 90, "31-90"),
                ("sub", D(2024, 9, 15), D(2024, 9, 15), 108, "91-180"),
            ],
        ),
    ],
)
def test_the_stages_count_from_the_departure(source, expected):
    from churnml.config import LabelConfig
    from churnml.labels import churn_dates

    label = LabelConfig(source=source, grace_days=30, inactivity_days=60, horizon_days=60)
    got = winback_list(STOPPED, churn_dates(STOPPED, label), CFG, 0.3, label.grace_days, source)
    assert (
        got.select("client_id", "churned_at", "left_at", "days_since_churn", "stage").sort("client_id").rows()
        == expected
    )


def _plan_of_one_leaver(
    tables: dict, start: datetime, as_of: datetime, client: str, left: datetime
) -> pl.DataFrame:
    """The win-back list of ``tables`` (data from ``start`` to ``as_of``) with one churn: ``client`` on ``left``."""
    data = Dataset(tables=tables, name="t", start=start, as_of=as_of)
    churns = pl.DataFrame({"client_id": [client], "churned_at": [left]})
    return winback_list(data, churns, CFG, default_margin=0.5)


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        # created with its first term: the records are its whole history
        (D(2023, 1, 1), 3150.0),
        # a client since 2020 whose records begin with the terms in 2023 (a CRM migrated then): three years
        # (1,096 days / 365.25) more at its former ARR, 12 x 250
        (D(2020, 1, 1), 3150.0 + 1096 / 365.25 * 3000.0),
    ],
)
def test_the_years_before_the_revenue_records_are_valued_at_the_former_arr(created, expected):
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["s1"], "created_at": [created]}),
        Table.SUBSCRIPTIONS: S1_TERMS,
    }
    plan = _plan_of_one_leaver(tables, D(2023, 1, 1), D(2025, 6, 1), "s1", D(2025, 4, 1))
    assert plan.get_column("former_arr").item() == pytest.approx(3000.0)
    assert plan.get_column("lifetime_revenue").item() == pytest.approx(expected, rel=0.01)


def test_a_client_whose_first_term_ran_when_billing_began_is_valued_for_its_years_before_it():
    # a billing system adopted on 2026-07-06 brings each client's running term: an annual one's from 2025-07-01 (the
    # terms table's first day), a monthly one's from 2026-06-15. The monthly account since 2023 was valued at its
    # two months on record (200 for an ARR of 1,200: let go); its 1,261 days (2023-01-01 .. 2026-06-15) before its
    # first term are years at its former ARR, as an account whose term began with the terms table's
    terms = pl.DataFrame(
        {
            "client_id": ["a", "m", "m"],
            "start_date": [D(2025, 7, 1), D(2026, 6, 15), D(2026, 7, 15)],
            "end_date": [D(2026, 7, 1), D(2026, 7, 15), D(2026, 8, 15)],
            "mrr": [300.0, 100.0, 100.0],
        }
    )
    payments = _frame(
        [("a", D(2026, 7, 6), 3600.0), ("m", D(2026, 7, 15), 100.0)],
        {"client_id": pl.String, "paid_at": pl.Datetime("us"), "amount": pl.Float64},
    )
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["a", "m"], "created_at": [D(2022, 7, 1), D(2023, 1, 1)]}),
        Table.SUBSCRIPTIONS: terms,
        Table.PAYMENTS: payments,
    }
    plan = _plan_of_one_leaver(tables, D(2025, 7, 1), D(2026, 10, 1), "m", D(2026, 8, 15))
    billed = (30 + 31) / (365.25 / 12) * 100.0  # its two monthly terms
    assert plan.get_column("former_arr").item() == pytest.approx(1200.0)
    assert plan.get_column("lifetime_revenue").item() == pytest.approx(
        billed + 1261 / 365.25 * 1200.0, rel=0.01
    )


def test_a_placeholder_creation_date_is_an_unknown_tenure_not_a_century_of_revenue():
    # a wholesaler's legacy accounts carry created_at 1900-01-01 ("unknown", kept and reported by validate): the
    # win-back list read a tenure of 46,105 days and carried the former ARR back 126 years before the records
    # (lifetime value 460,655 on an ARR of 20,233, first on the list). Unknown: no tenure, no years carried back.
    data = Dataset(
        tables={
            Table.CLIENTS: pl.DataFrame(
                {"client_id": ["s1", "s2"], "created_at": [D(1900, 1, 1), D(2023, 1, 1)]}
            ),
            Table.SUBSCRIPTIONS: pl.concat(
                [S1_TERMS, S1_TERMS.with_columns(pl.lit("s2").alias("client_id"))]
            ),
        },
        name="t",
        start=D(2023, 1, 1),
        as_of=D(2025, 6, 1),
    )
    churns = pl.DataFrame({"client_id": ["s1", "s2"], "churned_at": [D(2025, 4, 1)] * 2})
    plan = winback_list(data, churns, CFG, default_margin=0.5).sort("client_id")
    assert plan.get_column("tenure_days").to_list() == [None, 821]
    assert plan.get_column("lifetime_revenue").to_list() == pytest.approx([3150.0, 3150.0], rel=0.01)


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        # since 2021, paying 100 a month from the payments table's first day (2024-01-01): three years
        # (1,095 days / 365.25) before the records at its former ARR (the run rate of its monthly payment,
        # 100 x 365 / 30.5 days, the median gap: value.recurring_revenue)
        ("monthly", 1200.0 + 1095 / 365.25 * (100.0 * 365 / 30.5)),
        ("once", 5000.0),  # one payment on the first day: no yearly revenue to carry back
        ("later", 1000.0),  # first paid two months after the records begin: its history is on record
        ("new", 1200.0),  # created with the records
    ],
)
def test_a_payments_export_that_begins_late_values_the_years_before_it(client, expected):
    monthly = [("monthly", D(2024, m, 1), 100.0) for m in range(1, 13)]
    rows = [*monthly, ("once", D(2024, 1, 1), 5000.0)]
    rows += [("later", D(2024, m, 1), 100.0) for m in range(3, 13)]
    rows += [("new", D(2024, m, 1), 100.0) for m in range(1, 13)]
    ids = ["monthly", "once", "later", "new"]
    data = Dataset(
        tables={
            Table.CLIENTS: pl.DataFrame(
                {"client_id": ids, "created_at": [D(2021, 1, 1)] * 3 + [D(2024, 1, 1)]}
            ),
            Table.PAYMENTS: _frame(
                rows, {Payments.CLIENT_ID: pl.String, Payments.PAID_AT: DT, Payments.AMOUNT: pl.Float64}
            ),
        },
        name="t",
        start=D(2024, 1, 1),
        as_of=D(2025, 3, 1),
    )
    churns = pl.DataFrame({"client_id": ids, "churned_at": [D(2025, 1, 15)] * 4})
    plan = {
        r["client_id"]: r for r in winback_list(data, churns, CFG, default_margin=0.5).iter_rows(named=True)
    }
    assert plan[client]["lifetime_revenue"] == pytest.approx(expected, abs=0.01)


def _lapsed_card_plan(paid: list[tuple[datetime, str]], reason: str | None) -> dict:
    """The win-back row of a monthly subscriber whose last term ended 2024-07-01 (as of 2024-08-15), paid
    each month before it, with ``paid`` (day, status) added and a churns record of ``reason`` if given."""
    terms = pl.DataFrame(
        {
            "client_id": ["card"] * 6,
            "start_date": [D(2024, m, 1) for m in range(1, 7)],
            "end_date": [D(2024, m + 1, 1) for m in range(1, 7)],
            "mrr": [50.0] * 6,
        }
    )
    rows = [(D(2024, m, 1), "paid") for m in range(1, 7)] + paid
    payments = pl.DataFrame(
        {
            "client_id": ["card"] * len(rows),
            "paid_at": [r[0] for r in rows],
            "amount": [50.0] * len(rows),
            "status": [r[1] for r in rows],
        }
    )
    tables = {
        Table.CLIENTS: pl.DataFrame({"client_id": ["card"], "created_at": [D(2024, 1, 1)]}),
        Table.SUBSCRIPTIONS: terms,
        Table.PAYMENTS: payments,
    }
    if reason is not None:
        tables[Table.CHURNS] = pl.DataFrame(
            {"client_id": ["card"], "churned_at": [D(2024, 7, 1)], "reason": [reason]}
        )
    data = Dataset(tables=tables, name="t", start=D(2024, 1, 1), as_of=D(2024, 8, 15))
    churns = pl.DataFrame({"client_id": ["card"], "churned_at": [D(2024, 7, 1)]})
    return winback_list(data, churns, CFG, default_margin=0.5, grace_days=30, source="subscriptions").row(
        0, named=True
    )


@pytest.mark.parametrize(
    ("paid", "reason", "expected"),
    [
        # the renewal declined on the term's last day and retried in the grace: involuntary (before the fix:
        # "unknown", let go for its lifetime value of 150 under 750)
        (
            [(D(2024, 7, 1), "failed"), (D(2024, 7, 5), "failed")],
            None,
            (
                "payment_failed",
                ATTEMPT,
                "active engagement: a reminder to update the payment method; reactivate in one click",
            ),
        ),
        # a failure settled by a payment before the lapse says nothing of it
        (
            [(D(2024, 5, 20), "failed"), (D(2024, 5, 25), "paid")],
            None,
            ("unknown", LET_GO, "no attempt: let go gracefully (close the account cleanly, no offers)"),
        ),
        # a failure after the grace (2024-07-31) was not known when it lapsed
        (
            [(D(2024, 8, 5), "failed")],
            None,
            ("unknown", LET_GO, "no attempt: let go gracefully (close the account cleanly, no offers)"),
        ),
        # a recorded reason comes first
        (
            [(D(2024, 7, 1), "failed")],
            "price",
            ("price", LET_GO, "no attempt: let go gracefully (close the account cleanly, no offers)"),
        ),
    ],
)
def test_a_lapse_after_failed_payments_is_an_involuntary_churn(paid, reason, expected):
    row = _lapsed_card_plan(paid, reason)
    assert (row["reason_segment"], row["decision"], row["action"]) == expected


# A distributor's quarterly buyer and a monthly one (inactivity 60 days), the data ending 2024-10-21.
RHYTHMS = Dataset(
    tables={
        Table.CLIENTS: _frame(
            [(c, D(2020, 1, 1)) for c in ("quarterly", "monthly")],
            {Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: DT},
        ),
        Table.PAYMENTS: _frame(
            # every 100 days, its last order 83 days before the list: on its rhythm until day 150
            [("quarterly", 5000.0, day) for day in (D(2024, 1, 12), D(2024, 4, 21), D(2024, 7, 30))]
            # every month until June, then nothing for 142 days
            + [("monthly", 2000.0, D(2024, m, 1)) for m in range(1, 7)],
            {Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
        ),
    },
    name="rhythms",
    start=D(2024, 1, 1),
    as_of=D(2024, 10, 21),
)


@pytest.mark.parametrize(
    ("rhythm", "quarterly"),
    [
        (
            1.5,
            (
                "wait",
                "on its own rhythm: usually 100 days between orders, its last order 83 days ago; no win-back "
                "before 1.5 x its usual gap (day 150)",
                "no attempt yet: its next order is not overdue by its own rhythm; the usual contact",
                None,
            ),
        ),
        # rules.no_activity_rhythm 0: every client gone by the label is courted
        (0.0, ("attempt", None, "active engagement: ask what would make them come back", 2)),
    ],
)
def test_a_slow_buyer_gone_less_than_its_rhythm_waits(rhythm, quarterly) -> None:
    """Under the inactivity label (60 days) a quarterly buyer is gone 60 days after each order; within
    rules.no_activity_rhythm times its usual gap it is on its rhythm, not to be won back."""
    from churnml.config import LabelConfig
    from churnml.labels import churn_dates

    label = LabelConfig(source="inactivity", grace_days=30, inactivity_days=60, horizon_days=60)
    got = winback_list(RHYTHMS, churn_dates(RHYTHMS, label), CFG, 0.3, 30, "inactivity", rhythm=rhythm)
    rows = {r["client_id"]: r for r in got.iter_rows(named=True)}
    decision, reason, action, priority = quarterly
    assert (rows["quarterly"]["decision"], rows["quarterly"]["action"], rows["quarterly"]["priority"]) == (
        decision,
        action,
        priority,
    )
    if reason is not None:
        assert rows["quarterly"]["decision_reason"] == reason
    # the monthly buyer, 142 days after its last order, is well past 1.5 x 30 days: courted either way
    assert (rows["monthly"]["decision"], rows["monthly"]["priority"]) == ("attempt", 1)


def test_a_daily_buyers_rhythm_is_said_in_days_and_a_day() -> None:
    """A rider ordering every day (said "usually 1 days between orders" before), gone by a 1-day inactivity
    label 2 days after its last order, waits for 3 x its usual gap."""
    from churnml.config import LabelConfig
    from churnml.labels import churn_dates

    data = Dataset(
        tables={
            Table.CLIENTS: _frame(
                [("daily", D(2024, 1, 1))], {Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: DT}
            ),
            Table.PAYMENTS: _frame(
                [("daily", 10.0, D(2024, 10, 20 - k)) for k in range(20)],
                {Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
            ),
        },
        name="daily",
        start=D(2024, 1, 1),
        as_of=D(2024, 10, 22),
    )
    label = LabelConfig(source="inactivity", grace_days=30, inactivity_days=1, horizon_days=1)
    row = winback_list(data, churn_dates(data, label), CFG, 0.3, 30, "inactivity", rhythm=3).row(
        0, named=True
    )
    assert (row["decision"], row["decision_reason"]) == (
        "wait",
        "on its own rhythm: usually 1 day between orders, its last order 2 days ago; no win-back before 3 x its "
        "usual gap (day 3)",
    )


def _spring_buyer(as_of: datetime) -> Dataset:
    """A garden shop's client ordering 100 on March 1, April 1 and May 1 of 2023 and 2024."""
    return Dataset(
        tables={
            Table.CLIENTS: _frame(
                [("spring", D(2023, 1, 1))], {Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: DT}
            ),
            Table.PAYMENTS: _frame(
                [("spring", 100.0, D(year, month, 1)) for year in (2023, 2024) for month in (3, 4, 5)],
                {Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
            ),
        },
        name="garden",
        start=D(2023, 1, 1),
        as_of=as_of,
    )


@pytest.mark.parametrize(
    ("as_of", "decision", "reason"),
    [
        (
            D(2025, 1, 15),
            "wait",
            "in its season's pause: its orders paused 305 days across this day a year ago, its last order 259 "
            "days ago; no win-back before day 306",
        ),
        # mid-March: a year earlier it had ordered on March 1; late for its season, it is courted
        (D(2025, 3, 12), "attempt", None),
    ],
)
def test_a_seasonal_buyer_gone_by_silence_waits_out_its_seasons_pause(as_of, decision, reason) -> None:
    from churnml.config import LabelConfig
    from churnml.labels import churn_dates

    data = _spring_buyer(as_of)
    label = LabelConfig(source="inactivity", grace_days=30, inactivity_days=90, horizon_days=90)
    cfg = CFG.model_copy(update={"cost_per_attempt": 5.0})  # an e-mail: worth an attempt
    row = winback_list(data, churn_dates(data, label), cfg, 0.5, 30, "inactivity", rhythm=1.5).row(
        0, named=True
    )
    assert row["decision"] == decision
    if reason is not None:
        assert row["decision_reason"] == reason


def test_a_buyer_gone_by_silence_after_one_long_pause_is_courted_not_left_to_a_season() -> None:
    """Monthly orders until 2024-08-20, a pause of 300 days across the day a year ago (to 2025-06-16), a last
    order on 2025-06-19: 200 days of silence were read as its season (200 within 300: wait); last year it
    ordered through June to August, so this is no season, and it is courted."""
    from churnml.config import LabelConfig
    from churnml.labels import churn_dates

    paid = [D(2024, m, 20) for m in range(1, 9)] + [D(2025, 6, 16), D(2025, 6, 19)]
    data = Dataset(
        tables={
            Table.CLIENTS: _frame(
                [("c", D(2024, 1, 1))], {Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: DT}
            ),
            Table.PAYMENTS: _frame(
                [("c", 100.0, d) for d in paid],
                {Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
            ),
        },
        name="shop",
        start=D(2024, 1, 1),
        as_of=D(2026, 1, 5),
    )
    label = LabelConfig(source="inactivity", grace_days=30, inactivity_days=90, horizon_days=90)
    cfg = CFG.model_copy(update={"cost_per_attempt": 5.0})
    row = winback_list(data, churn_dates(data, label), cfg, 0.5, 30, "inactivity", rhythm=1.5).row(
        0, named=True
    )
    assert row["decision"] == "attempt"


def test_a_seasonal_buyer_is_valued_on_its_last_year_not_its_season_annualised() -> None:
    """Gone on 2024-05-15 (a churns record) two weeks after its second season's last order: three monthly
    orders of 100 in its last year, not a monthly payment of 100 (1,216.67 a year)."""
    data = _spring_buyer(D(2024, 9, 1))
    churns = pl.DataFrame({"client_id": ["spring"], "churned_at": [D(2024, 5, 15)]})
    plan = winback_list(data, churns, CFG, default_margin=0.5)
    assert plan.get_column("former_arr").item() == pytest.approx(300.0)


def test_an_expired_free_trial_is_re_offered_cheaply_ranked_by_its_use_of_the_trial():
    # a streaming service's 14-day trials at mrr 0: "used" watched on 3 days of it, "idle" never did; "payer"
    # paid 3 months. Before: both trialists "let go: lifetime value 0 is below 8 ... close the account cleanly"
    cfg = CFG.model_copy(update={"cost_per_attempt": 5.0})
    trial = (D(2024, 12, 1), D(2024, 12, 15), 0.0)
    data = Dataset(
        tables={
            Table.CLIENTS: pl.DataFrame(
                {
                    "client_id": ["payer", "used", "idle"],
                    "created_at": [D(2024, 9, 1), D(2024, 12, 1), D(2024, 12, 1)],
                }
            ),
            Table.SUBSCRIPTIONS: _frame(
                [("payer", D(2024, 9, 1), D(2024, 12, 1), 10.0), ("used", *trial), ("idle", *trial)],
                {"client_id": pl.String, "start_date": DT, "end_date": DT, "mrr": pl.Float64},
            ),
            Table.PAYMENTS: _frame(
                [("payer", 10.0, D(2024, m, 1)) for m in (9, 10, 11)],
                {"client_id": pl.String, "amount": pl.Float64, "paid_at": DT},
            ),
            Table.EVENTS: _frame(
                [
                    ("used", D(2024, 12, 2, 20), "play"),
                    ("used", D(2024, 12, 2, 21), "play"),  # the same day: one day of use
                    ("used", D(2024, 12, 6, 20), "play"),
                    ("used", D(2024, 12, 14, 20), "play"),
                    ("used", D(2024, 12, 16, 20), "browse"),  # after the trial ended: not its use
                    ("payer", D(2024, 10, 1, 20), "play"),
                ],
                {"client_id": pl.String, "ts": DT, "event": pl.String},
            ),
        },
        name="t",
        start=D(2024, 9, 1),
        as_of=D(2025, 1, 1),
    )
    churns = _frame(
        [("payer", D(2024, 12, 1)), ("used", D(2024, 12, 15)), ("idle", D(2024, 12, 15))],
        {"client_id": pl.String, "churned_at": DT},
    )
    plan = winback_list(data, churns, cfg, default_margin=0.5)
    cols = ["client_id", "never_paid", "trial_active_days", "decision", "priority"]
    assert plan.select(cols).rows() == [
        ("payer", False, None, ATTEMPT, 1),  # 30 paid x 0.5 = 15, at least 1.5 x 5: unchanged
        ("used", True, 3, RE_OFFER, 2),
        ("idle", True, 0, RE_OFFER, 3),
    ]
    rows = {r["client_id"]: r for r in plan.iter_rows(named=True)}
    assert rows["used"]["decision_reason"] == (
        "never paid: its free trial (or free plan) ended without a payment; it used the product on 3 days of it: "
        "a prospect for a low-cost re-offer, not an account to close (re-offers rank by those days)"
    )
    assert rows["idle"]["decision_reason"] == (
        "never paid: its free trial (or free plan) ended without a payment; it never used the product in it: "
        "a prospect for a low-cost re-offer, not an account to close (ranked after those who used it)"
    )
    # what to offer, and why: its days of use out of its trial's 14 (was the generic trial_approach for both,
    # beside the approach "ask what would make them come back" of a paying client gone for no known reason)
    assert rows["used"]["action"] == (
        "re-offer: a trial extension with a guided start on the key features: it used the product on 3 of its 14 "
        "trial days, too few to see what it would pay for"
    )
    assert rows["idle"]["approach"] == (
        "a new trial with a getting-started e-mail: it never used the product in its 14 trial days"
    )
    assert rows["payer"]["approach"] == "ask what would make them come back"
    assert rows["used"]["cadence"] == "e-mails only, never a sales call; no more often than every 3-5 days"
    assert rows["payer"]["decision_reason"].startswith("lifetime value 15 is at least 8")


def test_a_trial_whose_first_charge_failed_gets_the_payment_reminder_not_the_re_offer():
    data = Dataset(
        tables={
            Table.CLIENTS: pl.DataFrame({"client_id": ["card"], "created_at": [D(2024, 12, 1)]}),
            Table.SUBSCRIPTIONS: _frame(
                [("card", D(2024, 12, 1), D(2024, 12, 15), 0.0)],
                {"client_id": pl.String, "start_date": DT, "end_date": DT, "mrr": pl.Float64},
            ),
            Table.CHURNS: _frame(
                [("card", D(2024, 12, 15), "payment_failed")],
                {"client_id": pl.String, "churned_at": DT, "reason": pl.String},
            ),
        },
        name="t",
        start=D(2024, 12, 1),
        as_of=D(2025, 1, 1),
    )
    churns = _frame([("card", D(2024, 12, 15))], {"client_id": pl.String, "churned_at": DT})
    row = winback_list(data, churns, CFG, default_margin=0.5).row(0, named=True)
    assert (row["never_paid"], row["trial_active_days"], row["decision"], row["action"]) == (
        True,
        None,  # no events table: its use is unknown
        ATTEMPT,
        "now: a reminder to update the payment method; reactivate in one click",
    )


def test_a_subscriber_paused_when_the_export_began_is_no_trial_and_its_value_unknown():
    """A pet-food shop's export: the terms running on its first day (2025-01-05) whole, the payments from that day.
    A customer since 2023 paused from 2024-12-01 and gone at the pause's end read as a trial that never paid:
    "re-offer: a trial extension with a guided start" (7 of its win-back list); nor is its value 0 ("let go")."""
    data = Dataset(
        tables={
            Table.CLIENTS: pl.DataFrame(
                {"client_id": ["paused", "payer"], "created_at": [D(2023, 3, 1), D(2024, 6, 1)]}
            ),
            Table.SUBSCRIPTIONS: _frame(
                [
                    ("paused", D(2024, 12, 1), D(2025, 2, 1), 0.0),
                    ("payer", D(2024, 12, 20), D(2025, 1, 20), 40.0),
                    ("payer", D(2025, 1, 20), D(2025, 2, 20), 40.0),
                ],
                {"client_id": pl.String, "start_date": DT, "end_date": DT, "mrr": pl.Float64},
            ),
            Table.PAYMENTS: _frame(
                [("payer", 40.0, D(2025, 1, 20))],
                {"client_id": pl.String, "amount": pl.Float64, "paid_at": DT},
            ),
        },
        name="t",
        start=D(2024, 12, 1),
        as_of=D(2025, 3, 1),
    )
    churns = _frame([("paused", D(2025, 2, 1))], {"client_id": pl.String, "churned_at": DT})
    row = winback_list(data, churns, CFG, default_margin=0.5).row(0, named=True)
    assert (row["never_paid"], row["lifetime_value"], row["decision"]) == (False, None, ATTEMPT)
    assert row["decision_reason"] == (
        "lifetime value unknown (its payments before the records begin are not in them); a playbook pick: left "
        "recently without complaints"
    )


@pytest.mark.parametrize(
    ("used", "days", "offer"),
    [
        (
            9,
            14,
            "a first-paid-month offer: it used the product on 9 of its 14 trial days, it has seen what it would "
            "pay for; ask what held it back",
        ),
        # 25% of 14 days is 3.5: 4 days saw it, 3 did not
        (
            4,
            14,
            "a first-paid-month offer: it used the product on 4 of its 14 trial days, it has seen what it "
            "would pay for; ask what held it back",
        ),
        (
            3,
            14,
            "a trial extension with a guided start on the key features: it used the product on 3 of its 14 trial "
            "days, too few to see what it would pay for",
        ),
        (0, 1, "a new trial with a getting-started e-mail: it never used the product in its 1 trial day"),
        (
            None,
            14,
            "an e-mail with a trial extension or a first-month offer, nothing more costly",
        ),  # no events
    ],
)
def test_a_re_offer_says_what_to_offer_from_the_use_of_the_trial(used, days, offer):
    from churnml.reporting.winback import TRIAL_DAYS, trial_offer

    frame = pl.DataFrame(
        {"trial_active_days": [used], TRIAL_DAYS: [days]},
        schema={"trial_active_days": pl.UInt32, TRIAL_DAYS: pl.Int64},
    )
    assert frame.select(trial_offer(CFG)).item() == offer


def _plan_of_leavers(
    clients: pl.DataFrame,
    payments: pl.DataFrame,
    tickets: pl.DataFrame,
    start: datetime,
    as_of: datetime,
    left: datetime,
) -> pl.DataFrame:
    """The win-back list of ``clients`` who all left on ``left`` (a churns record each), by client."""
    data = Dataset(
        tables={Table.CLIENTS: clients, Table.PAYMENTS: payments, Table.TICKETS: tickets},
        name="leavers",
        start=start,
        as_of=as_of,
    )
    churns = _frame(
        [(c, left) for c in clients.get_column("client_id")], {"client_id": pl.String, "churned_at": DT}
    )
    return winback_list(data, churns, CFG, default_margin=0.7).sort("client_id")


def test_the_notice_that_ended_it_is_no_demand() -> None:
    """A coworking member of 224 days who left on 2026-11-01 after 3 noise complaints and the notice it gave a
    week before (a cancellation_request ticket, as every member who gives notice has one) was let go for "low
    loyalty with high demands (4 ...)": its notice is how it left, no demand (the weekly list's service load
    leaves notices out too). A member who threatened to cancel twice before its last notice made two demands."""
    clients = _frame(
        [("quiet", D(2026, 3, 22)), ("threat", D(2026, 3, 22))],
        {Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: DT},
    )
    payments = _frame(
        [(c, 290.0, D(2026, 3 + i, 22)) for c in ("quiet", "threat") for i in range(7)],
        {Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
    )
    tickets = _frame(
        [(c, D(2026, 6, 1 + 7 * i), "complaint") for c in ("quiet", "threat") for i in range(3)]
        + [("quiet", D(2026, 10, 25), "cancellation_request")]
        + [("threat", D(2026, m, 1), "cancellation_request") for m in (8, 9)]
        + [("threat", D(2026, 10, 25), "cancellation_request")],
        {Tickets.CLIENT_ID: pl.String, Tickets.OPENED_AT: DT, Tickets.KIND: pl.String},
    )
    plan = _plan_of_leavers(clients, payments, tickets, D(2026, 3, 22), D(2026, 11, 30), D(2026, 11, 1))
    assert plan.select("client_id", "demands_last_year", "decision").rows() == [
        ("quiet", 3, ATTEMPT),
        ("threat", 5, LET_GO),
    ]


def test_complaints_are_demanding_only_beyond_the_clients_share_of_its_orders() -> None:
    """Two riders of four months who left on 2024-12-15 with 4 complaints each in their last year, both worth
    1,050 (1,500 paid x 0.7): the commuter's 4 came with 300 trips (1.3% of them, ordinary wear at
    winback.demands_per_order 5%), the other's with 10 (40%). Only the second is let go for low loyalty with
    high demands; the commuter, let go before, is attempted."""
    clients = _frame(
        [("rider", D(2024, 8, 1)), ("loud", D(2024, 8, 1))],
        {Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: DT},
    )
    trips = [("rider", 5.0, D(2024, 8, 1) + (D(2024, 12, 1) - D(2024, 8, 1)) * i / 300) for i in range(300)]
    payments = _frame(
        trips + [("loud", 150.0, D(2024, 8, 1 + 2 * i)) for i in range(10)],
        {Payments.CLIENT_ID: pl.String, Payments.AMOUNT: pl.Float64, Payments.PAID_AT: DT},
    )
    tickets = _frame(
        [(c, D(2024, 9, 1 + 7 * i), "complaint") for c in ("rider", "loud") for i in range(4)],
        {Tickets.CLIENT_ID: pl.String, Tickets.OPENED_AT: DT, Tickets.KIND: pl.String},
    )
    plan = _plan_of_leavers(clients, payments, tickets, D(2024, 8, 1), D(2025, 1, 1), D(2024, 12, 15))
    assert plan.select(
        "client_id", "orders_last_year", "demands_last_year", "lifetime_value", "decision"
    ).rows() == [
        ("loud", 10, 4, 1050.0, LET_GO),
        ("rider", 300, 4, 1050.0, ATTEMPT),
    ]


def test_an_attempt_whose_expected_value_is_under_its_cost_waits_for_the_days_returns_come_or_keeps_in_touch():
    """10 past absences came back on day 300 after leaving (a rival's fixed term ending), 20 never (watched 731
    days). x, gone 100 days, has a 0% chance in days 101-200, at most 11.0% on the 31 absences watched (Wilson):
    an expected value of at most 319 against a cost of 500. It was an attempt now; it waits until day 200, from
    which 10 of the 31 still gone on day 300 came back. y, gone 400 days, has 0% then and after, at most 16.1% on
    20 absences (258 of its 1,601): it was an attempt; no attempt, keep in touch."""
    term = (Subscriptions.CLIENT_ID, Subscriptions.START_DATE, Subscriptions.END_DATE, Subscriptions.MRR)
    back = [f"a{i:02d}" for i in range(10)]
    never = [f"c{i:02d}" for i in range(20)]
    data = Dataset(
        tables={
            Table.CLIENTS: _frame(
                [(c, D(2022, 1, 1)) for c in [*back, *never, "x", "y"]],
                {Clients.CLIENT_ID: pl.String, Clients.CREATED_AT: DT},
            ),
            Table.SUBSCRIPTIONS: _frame(
                [(c, D(2022, 1, 1), D(2023, 1, 1), 100.0) for c in [*back, *never]]
                + [(c, D(2023, 10, 28), D(2025, 10, 28), 100.0) for c in back]  # back on day 300
                + [("y", D(2022, 1, 1), D(2023, 11, 28), 100.0), ("x", D(2023, 1, 1), D(2024, 9, 23), 200.0)],
                dict.fromkeys(term[:1], pl.String) | dict.fromkeys(term[1:3], DT) | {term[3]: pl.Float64},
            ),
        },
        name="t",
        start=D(2022, 1, 1),
        as_of=D(2025, 1, 1),
    )
    churns = _frame(
        [(c, D(2023, 1, 1)) for c in [*back, *never]] + [("y", D(2023, 11, 28)), ("x", D(2024, 9, 23))],
        {"client_id": pl.String, "churned_at": DT},
    )
    cfg = CFG.model_copy(update={"follow_up_days": 100})
    # off by default (a campaign may bring back far more than the chance of a return): both are attempts
    plan = winback_list(data, churns, cfg, default_margin=0.7).filter(pl.col("client_id").is_in(["x", "y"]))
    assert plan.get_column("decision").to_list() == [ATTEMPT, ATTEMPT]
    cfg = cfg.model_copy(update={"attempt_by_chance": True})
    plan = winback_list(data, churns, cfg, default_margin=0.7).filter(pl.col("client_id").is_in(["x", "y"]))
    got = plan.select(
        "client_id", "days_since_churn", "lifetime_value", "return_chance", "decision", "priority", "action"
    )
    assert got.rows() == [
        (
            "x",
            100,
            2902.34,
            0.0,
            WAIT,
            None,
            "no attempt yet: from day 200: ask what would make them come back",
        ),
        (
            "y",
            400,
            1600.66,
            0.0,
            KEEP_IN_TOUCH,
            None,
            "no attempt: keep a soft relationship (newsletter, season's greetings)",
        ),
    ]
    assert plan.get_column("decision_reason").to_list() == [
        "a return is unlikely now: 0.0% of past absences this long gone came back within 100 days more, an "
        "expected value of 0 against a win-back cost of 500; no attempt before day 200 after leaving, when 32.3% "
        "of those still gone then came back within 100 days more",
        "a return is unlikely now: 0.0% of past absences this long gone came back within 100 days more, an "
        "expected value of 0 against a win-back cost of 500; no later day measured does better: no attempt, keep "
        "a soft relationship",
    ]
