"""Transaction-log adapter on a hand-built log: refunds, no customer, same-day invoices, zero quantity."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime

import polars as pl
import pytest
import yaml

from churnml.config import Config
from churnml.contract.adapters.transactions import (
    TransactionSpec,
    config_snippet,
    preset_spec,
    transactions_to_contract,
)
from churnml.contract.schemas import Clients, Events, Payments, Table
from churnml.contract.validation import ContractError

D = datetime

# Online Retail II layout: Customer ID is a float column, cancellations start with "C".
LOG = pl.DataFrame(
    {
        "Invoice": ["100", "100", "101", "102", "C103", "104", "105", "106", "107", "108"],
        "StockCode": ["A", "B", "A", "C", "A", "A", "B", "B", "A", None],
        "Quantity": [2, 1, 3, 1, -1, 5, 0, 4, 1, 2],
        "InvoiceDate": [
            D(2024, 1, 2, 9),
            D(2024, 1, 2, 9),
            D(2024, 1, 2, 15),  # second invoice the same day: its own payment
            D(2024, 1, 5, 10),
            D(2024, 1, 9, 11),  # cancellation of one A from invoice 100
            D(2024, 1, 6, 12),  # no customer
            D(2024, 1, 7, 12),  # zero quantity
            D(2024, 2, 1, 8),
            D(2024, 2, 3, 8),
            D(2024, 2, 4, 8),  # no product: "unknown"
        ],
        "Price": [10.0, 5.0, 10.0, 7.5, 10.0, 1.0, 5.0, 0.0, 2.0, 1.5],
        "Customer ID": [12345.0, 12345.0, 12345.0, 777.0, 12345.0, None, 777.0, 777.0, 888.0, 888.0],
        "Country": ["UK", "UK", "UK", "France", "UK", "UK", "France", "Spain", "Spain", "Spain"],
    }
)
SPEC = preset_spec("online-retail")


def test_online_retail_tables_and_report():
    tables, report = transactions_to_contract(LOG, SPEC)

    assert report.input_rows == 10
    assert report.skipped == {
        "missing_customer": 1,
        "unparsable_time": 0,
        "unparsable_amount": 0,
        "zero_quantity": 1,
        "not_completed": 0,
    }
    assert report.kept_lines == 8
    assert (report.refund_lines, report.refund_payments) == (1, 1)
    assert report.zero_amount_lines == 1  # invoice 106: price 0, kept (a free item is still an order)

    clients = tables[Table.CLIENTS]
    assert clients.rows() == [
        ("12345", D(2024, 1, 2, 9), "UK"),
        ("777", D(2024, 1, 5, 10), "France"),  # France once, Spain once: tie -> alphabetical
        ("888", D(2024, 2, 3, 8), "Spain"),
    ]
    assert clients.columns == [Clients.CLIENT_ID, Clients.CREATED_AT, Clients.SEGMENT]
    assert report.customers_with_several_segments == 1

    payments = tables[Table.PAYMENTS]
    assert payments.select(
        Payments.CLIENT_ID, Payments.INVOICE_ID, Payments.PAID_AT, Payments.AMOUNT, Payments.STATUS
    ).rows() == [
        ("12345", "100", D(2024, 1, 2, 9), 25.0, "paid"),
        ("12345", "101", D(2024, 1, 2, 15), 30.0, "paid"),
        ("12345", "C103", D(2024, 1, 9, 11), -10.0, "refunded"),
        ("777", "102", D(2024, 1, 5, 10), 7.5, "paid"),
        ("777", "106", D(2024, 2, 1, 8), 0.0, "paid"),
        ("888", "107", D(2024, 2, 3, 8), 2.0, "paid"),
        ("888", "108", D(2024, 2, 4, 8), 3.0, "paid"),
    ]

    events = tables[Table.EVENTS]
    assert events.filter(pl.col(Events.CLIENT_ID) == "12345").rows() == [
        ("12345", D(2024, 1, 2, 9), "A"),
        ("12345", D(2024, 1, 2, 9), "B"),
        ("12345", D(2024, 1, 2, 9), "order"),
        ("12345", D(2024, 1, 2, 15), "A"),
        ("12345", D(2024, 1, 2, 15), "order"),
        # the cancellation is a refund payment, not an event
    ]
    assert events.filter(pl.col(Events.EVENT) == "unknown").height == 1
    assert events.filter(pl.col(Events.EVENT) == "order").height == 6
    assert events.height == report.events == 6 + 7
    # amounts are in payments only: the events' value (time in the product) is not a shop's
    assert events.columns == [Events.CLIENT_ID, Events.TS, Events.EVENT]


def test_amount_mode_without_invoice_groups_orders_by_customer_and_time():
    log = pl.DataFrame(
        {
            "cust": ["a", "a", "a", "", "b", "b"],
            "when": [
                "2024-03-01 10:00",
                "2024-03-01 10:00",
                "2024-03-01 18:00",
                "2024-03-02 10:00",
                "not a date",
                "2024-03-04 09:00",
            ],
            "total": ["12.5", "7.5", "-4", "3", "1", "abc"],
        }
    )
    spec = TransactionSpec(customer="cust", time="when", amount="total", time_format="%Y-%m-%d %H:%M")
    tables, report = transactions_to_contract(log, spec)
    assert report.skipped == {
        "missing_customer": 1,
        "unparsable_time": 1,
        "unparsable_amount": 1,
        "zero_quantity": 0,
        "not_completed": 0,
    }
    assert report.kept_lines + report.skipped_total == report.input_rows
    assert tables[Table.PAYMENTS].select(Payments.AMOUNT, Payments.STATUS, Payments.INVOICE_ID).rows() == [
        (20.0, "paid", "a-20240301100000"),
        (-4.0, "refunded", "a-20240301180000"),
    ]
    assert tables[Table.EVENTS].rows() == [("a", D(2024, 3, 1, 10), "order")]
    assert tables[Table.CLIENTS].columns == [Clients.CLIENT_ID, Clients.CREATED_AT]


def test_lines_with_a_blank_invoice_are_orders_by_customer_and_time_and_counted():
    # a till sale and a manual order months apart, both without an invoice number, and two lines of one
    # blank-invoice order at 11:00 on 03-09
    log = pl.DataFrame(
        {
            "c": ["c1", "c1", "c1", "c1", "c1"],
            "t": [
                "2024-01-05 10:00",
                "2024-03-09 11:00",
                "2024-03-09 11:00",
                "2024-06-20 12:00",
                "2024-07-01 09:00",
            ],
            "x": ["10", "15", "5", "30", "40"],
            "inv": ["A1", None, "", None, "A2"],
        }
    )
    tables, report = transactions_to_contract(
        log, TransactionSpec(customer="c", time="t", amount="x", invoice="inv")
    )
    assert tables[Table.PAYMENTS].select(Payments.INVOICE_ID, Payments.PAID_AT, Payments.AMOUNT).rows() == [
        ("A1", D(2024, 1, 5, 10), 10.0),
        ("c1-20240309110000", D(2024, 3, 9, 11), 20.0),
        ("c1-20240620120000", D(2024, 6, 20, 12), 30.0),
        ("A2", D(2024, 7, 1, 9), 40.0),
    ]
    assert (report.blank_invoice_lines, report.payments) == (3, 4)
    assert tables[Table.EVENTS].height == 4  # one order event each


def test_missing_column_is_a_clear_error():
    with pytest.raises(
        ContractError, match=r"column 'Customer' \(given for --customer\) is not in the input"
    ):
        transactions_to_contract(
            LOG, TransactionSpec(customer="Customer", time="InvoiceDate", amount="Price")
        )


@pytest.mark.parametrize(
    ("preset", "flags", "message"),
    [
        ("nope", {}, "unknown preset"),
        (None, {"time": "t"}, "missing --customer"),
    ],
)
def test_bad_spec_is_a_clear_error(preset, flags, message):
    with pytest.raises(ValueError, match=message):
        preset_spec(preset, **flags)


def test_flags_override_the_preset():
    spec = preset_spec("online-retail", segment=None, amount="Total", product="Description")
    assert (spec.amount, spec.quantity, spec.price, spec.product, spec.segment) == (
        "Total",
        None,
        None,
        "Description",
        "Country",
    )


def test_config_snippet_is_a_valid_partial_config():
    tree = yaml.safe_load(config_snippet(inactivity_days=60))
    cfg = Config.model_validate(tree)
    assert (cfg.label.source, cfg.label.inactivity_days, cfg.features.login_events) == (
        "inactivity",
        60,
        ("order",),
    )
    assert (cfg.score.zones.yellow, cfg.score.zones.red) == (0.5, 0.7)


def test_cli_adapts_a_csv_log_into_a_valid_dataset(tmp_path):
    from typer.testing import CliRunner

    from churnml.cli import app
    from churnml.config import load_config
    from churnml.contract.io import read_dataset
    from churnml.labels import labeled_spine, snapshot_grid

    log = LOG.with_columns(pl.col("InvoiceDate").dt.strftime("%Y-%m-%d %H:%M:%S"))
    log.write_csv(tmp_path / "log.csv")
    out = tmp_path / "retail"
    result = CliRunner().invoke(
        app,
        [
            "adapt",
            "transactions",
            "--input",
            str(tmp_path / "log.csv"),
            "--preset",
            "online-retail",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "10 rows -> 8 lines kept (2 skipped)" in result.output
    report = json.loads((out / "adapt_report.json").read_text())
    assert report["skipped"]["missing_customer"] == 1 and report["skipped_total"] == 2

    cfg = load_config(out / "churnml.yaml", ["snapshots.min_history_days=0", "label.inactivity_days=7"])
    dataset = read_dataset(out, cfg.data)  # passes the contract checks
    assert dataset.row_counts() == {"clients": 3, "events": 13, "payments": 7}
    spine = labeled_spine(dataset, snapshot_grid(cfg.snapshots, dataset.start, dataset.as_of), cfg.label)
    assert spine.height > 0


@pytest.mark.parametrize(
    ("until", "after", "clients", "payments"),
    [
        # usable lines: 5 in January (invoices 100 x2, 101, 102, C103), 3 in February (106, 107, 108)
        (None, 0, 3, 7),
        (date(2024, 2, 3), 2, 2, 5),  # 107 and 108 (customer 888, all its lines) left out
        (date(2024, 1, 6), 4, 2, 3),  # only invoices 100, 101, 102 remain
    ],
)
def test_until_keeps_the_log_as_it_stood_that_day(until, after, clients, payments):
    tables, report = transactions_to_contract(LOG, SPEC, until)
    assert report.after_until == after and report.until == until
    assert report.skipped_total == 2  # the bad rows are counted as before, not as "after until"
    assert report.kept_lines == 8 - after
    assert tables[Table.CLIENTS].height == clients and tables[Table.PAYMENTS].height == payments
    if until is not None:
        assert tables[Table.PAYMENTS].get_column(Payments.PAID_AT).max() < datetime(
            until.year, until.month, until.day
        )
        assert report.to_dict()["until"] == until.isoformat()


@pytest.mark.parametrize(
    ("until", "duplicates", "currencies", "currency"),
    [
        (None, 1, {"EUR": 3, "USD": 1}, None),
        # the repeated line and the USD line come on or after --until: the log as it stood had neither
        (date(2024, 2, 1), 0, {}, "EUR"),
    ],
)
def test_until_leaves_the_later_lines_out_of_the_repeats_and_currencies(
    until, duplicates, currencies, currency
):
    log = pl.DataFrame(
        {
            "c": ["a", "b", "b", "a"],
            "t": ["2024-01-02", "2024-02-03", "2024-02-03", "2024-02-05"],
            "x": ["10", "12", "12", "4"],
            "currency": ["EUR", "EUR", "EUR", "USD"],
        }
    )
    _, report = transactions_to_contract(log, TransactionSpec(customer="c", time="t", amount="x"), until)
    assert (report.duplicate_lines, report.currencies, report.currency) == (duplicates, currencies, currency)


def test_cli_until_says_what_it_left_out(tmp_path):
    from typer.testing import CliRunner

    from churnml.cli import app

    LOG.write_parquet(tmp_path / "log.parquet")
    args = ["adapt", "transactions", "--input", str(tmp_path / "log.parquet"), "--preset", "online-retail"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "cut"), "--until", "2024-02-03"])
    assert result.exit_code == 0, result.output
    assert "left out 2 lines on or after 2024-02-03 (--until)" in result.output
    assert "10 rows -> 6 lines kept (2 skipped, 2 on or after 2024-02-03)" in result.output  # 6 + 2 + 2
    assert json.loads((tmp_path / "cut" / "adapt_report.json").read_text())["after_until"] == 2
    bad = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "bad"), "--until", "Feb 3"])
    assert bad.exit_code != 0 and "--until 'Feb 3' is not a date (expected YYYY-MM-DD)" in bad.output
    assert not (tmp_path / "bad").exists()


def test_cli_reports_a_missing_column_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from churnml.cli import app

    LOG.write_parquet(tmp_path / "log.parquet")
    result = CliRunner().invoke(
        app,
        [
            "adapt",
            "transactions",
            "--input",
            str(tmp_path / "log.parquet"),
            "--customer",
            "Client",
            "--time",
            "InvoiceDate",
            "--amount",
            "Price",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 1
    assert "column 'Client' (given for --customer) is not in the input" in result.output


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ("2024-01-01T10:00:00+02:00", None, D(2024, 1, 1, 8)),  # offsets become naive UTC
        ("2024-01-02 10:00", None, D(2024, 1, 2, 10)),
        ("2024-01-03", None, D(2024, 1, 3)),
        ("12/1/2009 7:45", "%m/%d/%Y %H:%M", D(2009, 12, 1, 7, 45)),
        ("12/1/2009 7:45", None, None),  # ambiguous day/month order: needs --time-format
        # a two-digit year is no ISO year: it was read as the year 24 (an order, and a client created, in antiquity)
        ("24-03-07", None, None),
        ("24-03-07 10:00", None, None),
    ],
)
def test_text_times(text, fmt, expected):
    # a second line with an ISO time: a log where no time reads at all is an error (below)
    log = pl.DataFrame({"c": ["a", "b"], "t": [text, "2024-06-01"], "x": ["1.5", "2"]})
    tables, report = transactions_to_contract(
        log, TransactionSpec(customer="c", time="t", amount="x", time_format=fmt)
    )
    paid = tables[Table.PAYMENTS].filter(pl.col(Payments.CLIENT_ID) == "a").get_column(Payments.PAID_AT)
    if expected is None:
        assert report.skipped["unparsable_time"] == 1 and paid.len() == 0
    else:
        assert paid.to_list() == [expected]


@pytest.mark.parametrize(
    ("text", "fmt", "timezone", "expected"),
    [
        # ISO "Z" times (JavaScript's toISOString, Stripe, Shopify) read as the contract reader reads them
        ("2024-03-01T10:00:00Z", None, "UTC", D(2024, 3, 1, 10)),
        ("2024-03-01T10:00:00.000Z", None, "UTC", D(2024, 3, 1, 10)),
        ("2024-03-01T10:00:00.000Z", None, "Europe/Paris", D(2024, 3, 1, 11)),
        # a Paris order at 00:30 stays on 1 March read in Paris, moves to 29 February read in UTC
        ("2024-03-01T00:30:00+01:00", None, "Europe/Paris", D(2024, 3, 1, 0, 30)),
        ("2024-03-01 00:30:00+01:00", None, "UTC", D(2024, 2, 29, 23, 30)),
        ("2024-03-01T00:30:00", None, "Europe/Paris", D(2024, 3, 1, 0, 30)),  # no offset: already local
        ("01/03/2024 00:30 +0100", "%d/%m/%Y %H:%M %z", "Europe/Paris", D(2024, 3, 1, 0, 30)),
        ("01/03/2024 00:30 +0100", "%d/%m/%Y %H:%M %z", "UTC", D(2024, 2, 29, 23, 30)),
    ],
)
def test_text_times_are_read_in_the_data_timezone(text, fmt, timezone, expected):
    log = pl.DataFrame({"c": ["a"], "t": [text], "x": ["1.5"]})
    spec = TransactionSpec(customer="c", time="t", amount="x", time_format=fmt, timezone=timezone)
    tables, report = transactions_to_contract(log, spec)
    assert report.skipped["unparsable_time"] == 0
    assert tables[Table.PAYMENTS].get_column(Payments.PAID_AT).to_list() == [expected]


@pytest.mark.parametrize(
    ("timezone", "expected", "moved"),
    [
        ("Europe/Paris", [D(2024, 3, 1, 0, 30), D(2024, 7, 1, 10)], 0),  # Paris times read in Paris
        ("UTC", [D(2024, 2, 29, 23, 30), D(2024, 7, 1, 8)], 2),  # both moved, one across midnight
    ],
)
def test_zoned_times_become_the_data_timezone_and_moved_ones_are_counted(timezone, expected, moved):
    paris = pl.Series("t", [D(2024, 3, 1, 0, 30), D(2024, 7, 1, 10)]).dt.replace_time_zone("Europe/Paris")
    texts = ["2024-03-01T00:30:00+01:00", "2024-07-01T10:00:00+02:00"]
    for times in (paris, pl.Series("t", texts)):  # stored zoned (Parquet) or written with their offsets
        log = pl.DataFrame({"c": ["a", "b"], "x": ["1", "2"]}).with_columns(times)
        spec = TransactionSpec(customer="c", time="t", amount="x", timezone=timezone)
        tables, report = transactions_to_contract(log, spec)
        assert tables[Table.PAYMENTS].get_column(Payments.PAID_AT).to_list() == expected
        # the contract reader's counts: clock time changed, and of those on another day
        assert list(report.zone_repairs.values()) == ([moved, 1] if moved else [])
        assert all(k.startswith("t: ") for k in report.zone_repairs)


def test_a_log_whose_times_never_read_is_an_error():
    log = pl.DataFrame({"c": ["a", "b"], "t": ["12/1/2009 7:45", "13/1/2009 8:00"], "x": ["1.5", "2"]})
    with pytest.raises(
        ValueError, match=r"no line has a readable time in column 't' \(e.g. '12/1/2009 7:45'"
    ):
        transactions_to_contract(log, TransactionSpec(customer="c", time="t", amount="x"))


@pytest.mark.parametrize(
    ("times", "amounts", "message"),
    [
        # guest lines (no customer) no longer hide the hint: every line with a customer fails on its time
        (
            ["01.04.2026 00:53", "02.04.2026 07:10", "03.04.2026 09:00"],
            ["1.5", "2", "3"],
            "no line has a readable time in column 't' (e.g. '01.04.2026 00:53', '03.04.2026 09:00')",
        ),
        # currency symbols: the amounts are shown and the way out said
        (
            ["2026-04-01", "2026-04-02", "2026-04-03"],
            ["€8.00", "€9.75", "€1.00"],
            "no line has a readable amount in column 'x' (e.g. '€8.00', '€1.00'): amounts must be plain numbers",
        ),
    ],
)
def test_a_log_that_never_reads_says_why_even_with_guest_lines(times, amounts, message):
    log = pl.DataFrame({"c": ["a", None, "b"], "t": times, "x": amounts})
    with pytest.raises(ValueError) as err:
        transactions_to_contract(log, TransactionSpec(customer="c", time="t", amount="x"))
    assert message in str(err.value)


EU_LOG = "order;customer;date;total\n1;c1;15/01/2024;12,50\n2;c1;03/02/2024;1.234,56\n3;c2;20/01/2024;7\n"


def _adapt(tmp_path, text: str, *flags: str):
    from typer.testing import CliRunner

    from churnml.cli import app

    (tmp_path / "log.csv").write_text(text)
    args = ["adapt", "transactions", "--input", str(tmp_path / "log.csv"), "--customer", "customer"]
    args += [
        "--time",
        "date",
        "--amount",
        "total",
        "--invoice",
        "order",
        "--out",
        str(tmp_path / "shop"),
        *flags,
    ]
    return CliRunner().invoke(app, args, terminal_width=300)


def test_a_semicolon_log_with_decimal_commas_reads_right_with_the_flag(tmp_path):
    result = _adapt(tmp_path, EU_LOG, "--time-format", "%d/%m/%Y", "--decimal-comma")
    assert result.exit_code == 0, result.output
    paid = pl.read_parquet(tmp_path / "shop" / "payments.parquet").sort(Payments.INVOICE_ID)
    assert paid.get_column(Payments.AMOUNT).to_list() == [12.5, 1234.56, 7.0]


def test_decimal_commas_without_the_flag_are_refused_not_read_as_thousands(tmp_path):
    result = _adapt(tmp_path, EU_LOG, "--time-format", "%d/%m/%Y")
    assert result.exit_code == 1
    assert (
        "column 'total' holds numbers written with a decimal comma (e.g. '12,50', '1.234,56')"
        in result.output
    )
    assert "give --decimal-comma" in result.output and "'12,50' would be 1250" in result.output
    assert not (tmp_path / "shop").exists()


@pytest.mark.parametrize(
    ("prices", "refused"),
    [
        (
            ["0,125", "0,250", "1,500"],
            "column 'price' holds numbers written with a decimal comma (e.g. '0,125', '0,250')",
        ),
        (
            ["1,500", "2,125", "3,000"],
            None,
        ),  # thousands commas (or three decimals): nothing tells, read as before
    ],
)
def test_prices_of_three_decimals_after_a_lone_zero_are_decimal_commas(prices, refused):
    # before: 100 x '0,125' was read as 100 x 125 = 12,500 (a price of 0.125 a thousand times too large)
    log = pl.DataFrame(
        {"c": ["a", "a", "b"], "t": ["2024-01-01", "2024-02-01", "2024-01-05"], "qty": ["100", "200", "40"]}
    ).with_columns(pl.Series("price", prices))
    spec = TransactionSpec(customer="c", time="t", quantity="qty", price="price")
    if refused is None:
        tables, _ = transactions_to_contract(log, spec)
        assert tables[Table.PAYMENTS].get_column(Payments.AMOUNT).sum() == pytest.approx(
            100 * 1500 + 200 * 2125 + 40 * 3000
        )
        return
    with pytest.raises(ValueError) as info:
        transactions_to_contract(log, spec)
    assert str(info.value).startswith(refused)
    assert "give --decimal-comma (read with commas as thousands separators, '0,125' would be 125)" in str(
        info.value
    )
    tables, _ = transactions_to_contract(log, replace(spec, decimal_comma=True))
    assert tables[Table.PAYMENTS].get_column(Payments.AMOUNT).to_list() == pytest.approx([12.5, 50.0, 60.0])


def test_a_log_that_is_not_utf8_says_how_to_convert_it_not_a_setting_adapt_does_not_read(tmp_path):
    # before: "set data.csv.encoding ...": adapt reads no churnml.yaml, the setting changed nothing
    (tmp_path / "log.csv").write_bytes("customer,date,total,item\nc1,2024-01-15,7,Caf\xe9\n".encode("cp1252"))
    from churnml.jobs.adapt import adapt_transactions

    columns = {"customer": "customer", "time": "date", "amount": "total"}
    with pytest.raises(ContractError) as info:
        adapt_transactions(tmp_path / "log.csv", tmp_path / "shop", columns, None, 90)
    assert str(info.value) == (
        "table 'transactions': file log.csv is not UTF-8 text (invalid continuation byte at byte 44); save it as "
        "UTF-8, or convert it first, e.g. iconv -f cp1252 -t utf-8 log.csv (cp1252 for most Windows exports)"
    )


def test_thousands_commas_still_read_as_before(tmp_path):
    log = 'order,customer,date,total\n1,c1,2024-01-15,"1,234.50"\n2,c2,2024-01-20,7\n'
    result = _adapt(tmp_path, log)
    assert result.exit_code == 0, result.output
    paid = pl.read_parquet(tmp_path / "shop" / "payments.parquet").sort(Payments.INVOICE_ID)
    assert paid.get_column(Payments.AMOUNT).to_list() == [1234.5, 7.0]


def test_times_no_line_can_read_are_one_clear_error_and_nothing_written(tmp_path):
    result = _adapt(tmp_path, EU_LOG, "--decimal-comma")
    assert result.exit_code == 1
    assert "no line has a readable time in column 'date' (e.g. '15/01/2024', '03/02/2024', '20/01/2024')" in (
        result.output
    )
    assert "--time-format" in result.output and not (tmp_path / "shop").exists()


@pytest.mark.parametrize(
    ("header", "separator"),
    [("a,b;c\n", ","), ("a;b;c\n", ";"), ("a\tb\tc\n", "\t"), ("a|b|c\n", "|"), ("abc\n", ",")],
)
def test_csv_separator_is_read_off_the_header(tmp_path, header, separator):
    from churnml.jobs.adapt import csv_separator

    (tmp_path / "f.csv").write_text(header + "1,2,3\n")
    assert csv_separator(tmp_path / "f.csv") == separator


def test_a_gzipped_semicolon_log_is_read_with_its_separator(tmp_path):
    # before: the header was read off the compressed bytes, so the separator was taken as ',' and the log refused
    # as "semicolon-delimited: export it with commas", which adapt reads by itself in a plain .csv
    import gzip

    from churnml.jobs.adapt import adapt_transactions

    text = "customer;date;total\nc1;2024-01-15;12,50\nc2;2024-01-20;7\n"
    (tmp_path / "log.csv.gz").write_bytes(gzip.compress(text.encode()))
    columns = {"customer": "customer", "time": "date", "amount": "total"}
    adapt_transactions(tmp_path / "log.csv.gz", tmp_path / "shop", columns, None, 90, decimal_comma=True)
    paid = pl.read_parquet(tmp_path / "shop" / "payments.parquet").sort(Payments.CLIENT_ID)
    assert paid.get_column(Payments.AMOUNT).to_list() == [12.5, 7.0]


@pytest.mark.parametrize(
    ("existing", "refused"),
    [
        ({}, None),  # a new folder
        ({"clients.csv": "client_id,created_at\n"}, "clients.csv"),  # the user's dataset: two files per table
        ({"payments.parquet": "x", "churnml.yaml": "x"}, "churnml.yaml, payments.parquet"),  # not adapt's
        ({"communications.csv": "x"}, None),  # another table of the user's: kept beside
        ({"adapt_report.json": "{}", "clients.parquet": "x", "notes.csv": "x"}, None),  # adapt's own folder
        ({"adapt_report.json": "{}", "events.csv": "x"}, "events.csv"),
    ],
)
def test_adapt_never_replaces_or_contradicts_files_it_did_not_write(tmp_path, existing, refused):
    log = "order,customer,date,total\n1,c1,2024-01-15,5\n2,c2,2024-01-20,7\n"
    shop = tmp_path / "shop"
    shop.mkdir()
    for name, text in existing.items():
        (shop / name).write_text(text)
    result = _adapt(tmp_path, log)
    if refused is None:
        assert result.exit_code == 0, result.output
        assert (shop / "clients.parquet").stat().st_size > 1
        kept = {n: t for n, t in existing.items() if n not in ("clients.parquet", "adapt_report.json")}
        assert all((shop / n).read_text() == t for n, t in kept.items())  # the user's files untouched
    else:
        assert result.exit_code == 1
        assert f"holds {refused}, which churnml adapt did not write" in " ".join(result.output.split())
        assert {p.name: p.read_text() for p in shop.iterdir()} == existing  # nothing touched


def test_the_config_adapt_writes_loads_and_speaks_of_orders(tmp_path):
    from churnml.config import load_config
    from churnml.contract.adapters.transactions import config_snippet

    (tmp_path / "churnml.yaml").write_text(config_snippet(60, 45))
    cfg = load_config(tmp_path / "churnml.yaml")
    assert (cfg.label.source, cfg.label.inactivity_days, cfg.label.horizon_days) == ("inactivity", 60, 45)
    assert (cfg.features.login_events, cfg.features.key_events) == (("order",), ())
    # no key features in a shop: the usage play is a re-engagement offer; tickets and mails added later
    # speak a shop's words too ("call the champion" was a shop's action), and their rules fire
    assert cfg.playbooks.families["usage"].task.startswith("Re-engage: an offer on what they usually buy")
    assert cfg.playbooks.families["payments"].task == "They spend less: an offer on what they usually buy"
    assert cfg.playbooks.families["support"].task == "Follow up on their tickets: make it right"
    assert "champion" not in cfg.playbooks.families["communication"].task
    assert cfg.rules.enabled == ("no_activity", "complaints", "low_ratings")
    assert cfg.playbooks.rules["complaints"].task.startswith("Apologise for what went wrong")
    # an unsubscribe is an account signal: no welcome series for it; a win-back attempt costs an e-mail
    assert "Welcome" not in cfg.playbooks.families["account"].task
    assert cfg.winback.cost_per_attempt == 5
    # a shop has no head of customer success, and the early-warning rule can fire (45 < 60 days)
    assert (cfg.playbooks.escalation_role, cfg.rules.no_activity_days) == ("", 30)


def test_a_refund_booked_under_its_order_is_counted_as_netted():
    # Shopify-style: the return of one item is a negative line under the original order id
    log = pl.DataFrame(
        {
            "c": ["a", "a", "b"],
            "t": ["2024-01-02 10:00", "2024-01-05 09:00", "2024-01-03 11:00"],
            "inv": ["1", "1", "2"],
            "x": ["30", "-10", "-5"],
        }
    )
    tables, report = transactions_to_contract(
        log, TransactionSpec(customer="c", time="t", amount="x", invoice="inv")
    )
    assert (report.refund_lines, report.refund_payments, report.netted_refund_lines) == (2, 1, 1)
    assert tables[Table.PAYMENTS].select(Payments.AMOUNT, Payments.STATUS).rows() == [
        (20.0, "paid"),
        (-5.0, "refunded"),
    ]


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        (["0", "0", "0", "a", "b", "c"], {"0": 3}),  # guest checkouts booked under "0"
        (["Guest", "Guest", "n/a", "n/a", "a", "b"], {"Guest": 2, "n/a": 2}),
        (
            ["100", "100", "100", "a", "b", "c"],
            {},
        ),  # a real id with many orders: a big customer, no placeholder
        (["0", "a", "a", "b", "b"], {}),  # a placeholder with no more orders than the median customer
    ],
)
def test_placeholder_customers_are_found_by_their_id(ids, expected):
    from churnml.contract.adapters.transactions import placeholder_customers

    payments = pl.DataFrame({"client_id": ids, "amount": [1.0] * len(ids)})
    assert placeholder_customers(payments) == expected


@pytest.mark.parametrize(
    ("currencies", "expected"),
    [
        (["EUR", "USD", "EUR", "EUR"], {"EUR": 2, "USD": 1}),  # the guest line (no customer) is not counted
        (["EUR", "EUR", "USD", "EUR"], {}),  # only the skipped guest line is in USD: one currency kept
    ],
)
def test_several_currencies_in_one_log_are_said(currencies, expected):
    log = pl.DataFrame(
        {
            "c": ["a", "b", None, "a"],
            "t": ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"],
            "x": ["10", "12", "9", "4"],
            "Currency": currencies,
        }
    )
    _, report = transactions_to_contract(log, TransactionSpec(customer="c", time="t", amount="x"))
    assert report.currencies == expected


def test_a_csv_log_cut_short_is_refused_naming_its_ragged_line(tmp_path):
    # the weekly export was truncated mid-line: read as is, its last order lost its amount silently
    result = _adapt(tmp_path, "order,customer,date,total\n1,c1,2024-01-15,5\n2,c2,2024-01-2")
    assert result.exit_code == 1
    assert (
        "transactions" in result.output and "different number of fields than the header's 4" in result.output
    )
    assert "2,c2,2024-01-2" in result.output and not (tmp_path / "shop").exists()


def test_a_semicolon_log_cut_short_is_refused_too(tmp_path):
    result = _adapt(tmp_path, EU_LOG + "4;c3", "--time-format", "%d/%m/%Y", "--decimal-comma")
    assert result.exit_code == 1 and "different number of fields than the header's 4" in result.output


def test_emails_in_another_letter_case_are_one_customer_and_counted():
    log = pl.DataFrame(
        {
            "c": ["Anna@Shop.com", "anna@shop.com", " ANNA@SHOP.COM", "Bob", "bob"],
            "t": ["2024-01-02", "2024-01-09", "2024-01-16", "2024-01-03", "2024-01-04"],
            "x": ["10", "12", "9", "4", "5"],
        }
    )
    tables, report = transactions_to_contract(log, TransactionSpec(customer="c", time="t", amount="x"))
    # e-mails fold to lower case (3 spellings -> 1 customer: 2 merged); other ids keep their case
    assert tables[Table.CLIENTS].get_column(Clients.CLIENT_ID).to_list() == ["Bob", "anna@shop.com", "bob"]
    assert report.case_merged_ids == 2


def test_lines_repeated_in_every_column_are_counted_and_kept():
    log = pl.DataFrame(
        {
            "c": ["a", "a", "a", "b", None, None],
            "t": ["2024-01-02"] * 3 + ["2024-01-03"] * 3,
            "inv": ["1", "1", "1", "2", "3", "3"],
            "x": ["10", "10", "10", "4", "1", "1"],
        }
    )
    tables, report = transactions_to_contract(
        log, TransactionSpec(customer="c", time="t", amount="x", invoice="inv")
    )
    # two copies of a's line (the skipped guest lines are not counted); their amounts still add up
    assert report.duplicate_lines == 2
    assert tables[Table.PAYMENTS].get_column(Payments.AMOUNT).to_list() == [30.0, 4.0]


def test_the_cli_warns_of_repeated_lines_and_says_the_merged_emails(tmp_path):
    log = (
        "order,customer,date,total\n1,A@x.com,2024-01-15,5\n1,A@x.com,2024-01-15,5\n2,a@x.com,2024-01-20,7\n"
    )
    result = _adapt(tmp_path, log)
    assert result.exit_code == 0, result.output
    assert "1 lines repeat an earlier line in every column" in result.output
    assert "merged 1 customer e-mail(s) written in another letter case" in result.output


def _orders(rows: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            Payments.CLIENT_ID: [c for c, _ in rows],
            Payments.PAID_AT: [datetime.fromisoformat(t) for _, t in rows],
            Payments.AMOUNT: [10.0] * len(rows),
        }
    )


def test_the_churn_rate_of_a_log_is_its_active_customers_without_an_order_in_the_horizon():
    from churnml.contract.adapters.transactions import inactivity_churn_rate

    orders = _orders(
        [
            ("a", "2024-03-01"),  # active at 03-11, orders again 03-20: stays
            ("a", "2024-03-20"),
            ("b", "2024-02-20"),  # active at 03-11, no order after: churns
            ("c", "2023-10-01"),  # not active at 03-11 (no order in the 90 days before)
            ("d", "2024-03-11"),  # orders on the snapshot day: not active before it, an order in it
        ]
    )
    assert inactivity_churn_rate(orders, [date(2024, 3, 11)], 90, 30, least=1) == 0.5
    # a second snapshot pools its rows: at 03-18 a (03-01) and b (02-20) and d (03-11) are active; d churns
    assert inactivity_churn_rate(orders, [date(2024, 3, 11), date(2024, 3, 18)], 90, 30, least=1) == 3 / 5
    assert inactivity_churn_rate(orders, [date(2023, 1, 2)], 90, 30, least=1) is None
    assert inactivity_churn_rate(orders, [date(2024, 3, 11)], 90, 30) is None  # 2 customers: too few


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(0.35, (0.52, 0.68)), (0.06, (0.11, 0.2)), (0.5, (0.67, 0.8)), (0.0, (0.02, 0.04))],
)
def test_zones_sit_at_twice_and_four_times_the_odds_of_leaving(rate, expected):
    from churnml.scoring.playbook import zone_thresholds

    assert zone_thresholds(rate) == expected


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (datetime(2010, 9, 30, 17), 90),  # 10 months: the standard horizon gives a fold
        (datetime(2010, 4, 30, 17), 40),  # 5 months: the longest that does, what train names too (not 35)
        (datetime(2010, 2, 20, 17), None),  # under 3 months: none does
    ],
)
def test_the_horizon_adapt_names_is_the_longest_with_a_fold(last, expected):
    from churnml.jobs.adapt import backtest_horizon

    assert backtest_horizon(datetime(2009, 12, 1, 7, 45), last) == expected


def test_the_config_adapt_writes_follows_the_log(tmp_path):
    from churnml.config import load_config

    text = config_snippet(90, 90, backtest_horizon=35, churn_rate=0.2, currency="USD", log_days=151)
    assert "this log's 151 days give an out-of-time estimate only with 35 or less" in text
    (tmp_path / "churnml.yaml").write_text(text)
    cfg = load_config(tmp_path / "churnml.yaml")
    assert cfg.label.horizon_days == 90  # the question stays the standard one
    assert (cfg.score.zones.yellow, cfg.score.zones.red, cfg.score.currency) == (0.33, 0.5, "USD")
    assert cfg.playbooks.actions["red"]["C"] == "Reminder e-mail with a small offer"


def test_adapt_writes_the_zones_and_currency_of_its_log(tmp_path):
    weeks = [f"2024-{m:02d}-{d:02d}" for m in range(1, 13) for d in (3, 17)]
    lines = ["order,customer,date,total,Currency"]
    for i, day in enumerate(weeks):
        lines.append(f"{i},steady,{day},10,USD")  # orders every two weeks all year
        if day < "2024-04-01":
            lines.append(f"g{i},gone,{day},10,USD")  # stops in March
    result = _adapt(tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "shop" / "churnml.yaml").read_text()
    assert "currency: USD" in text
    # two customers: too few to measure a churn rate, so the zones of a typical shop, said as such
    assert "too short or small to measure its churn rate" in text and "yellow: 0.5" in text


def test_a_second_adapt_keeps_the_config_and_writes_the_new_settings_beside_it(tmp_path):
    log = "order,customer,date,total,Currency\n1,c1,2024-01-15,5,USD\n2,c2,2024-01-20,7,USD\n"
    assert _adapt(tmp_path, log).exit_code == 0
    config = tmp_path / "shop" / "churnml.yaml"
    edited = config.read_text().replace("currency: USD", "currency: CAD")  # the user's edit
    config.write_text(edited)
    again = _adapt(tmp_path, log)
    assert again.exit_code == 0, again.output
    assert config.read_text() == edited  # never replaced
    suggested = tmp_path / "shop" / "churnml.suggested.yaml"
    assert "currency: USD" in suggested.read_text() and "churnml.suggested.yaml" in again.output
    config.write_text(suggested.read_text())  # taken over: the suggestion is no longer needed
    assert _adapt(tmp_path, log).exit_code == 0 and not suggested.exists()


@pytest.mark.parametrize(
    ("texts", "decimal_comma", "expected"),
    [
        (["1.234,56", "2,41", "12", "-3,5"], True, [1234.56, 2.41, 12.0, -3.5]),
        # a dot that groups no thousands under --decimal-comma: no number of that layout (counted as
        # unparsable), not 2564
        (["25.64", "1.23,4"], True, [None, None]),
        (["1,234.56", "25.64", "1e3", "7"], False, [1234.56, 25.64, 1000.0, 7.0]),
        (["2,41", "12,5"], False, [None, None]),  # a decimal comma without the flag: not 241
        # no thousands group starts with a lone 0: "0,125" is a decimal comma, not 125 (nor "0.125" 125 under the flag)
        (["0,125", "-0,500", "1,500", "10,250"], False, [None, None, 1500.0, 10250.0]),
        (["0.125", "-0.500", "1.500", "0,125"], True, [None, None, 1500.0, 0.125]),
    ],
)
def test_amounts_are_read_only_in_their_layout(texts, decimal_comma, expected):
    from churnml.contract.adapters.transactions import _number

    got = pl.DataFrame({"a": texts}).select(_number("a", pl.String, decimal_comma)).to_series().to_list()
    assert got == [pytest.approx(v) if v is not None else None for v in expected]


def test_times_a_layout_reads_centuries_away_are_unparsable_not_a_crash():
    from churnml.contract.adapters.transactions import _time

    ms = str(int(datetime(2024, 5, 1).timestamp()) * 1000)  # milliseconds read as seconds: year 55969
    got = pl.DataFrame({"t": [ms, "1714521600"]}).select(_time("t", pl.String, "%s")).to_series().to_list()
    assert got == [None, datetime(2024, 5, 1)]


TOPUPS = pl.DataFrame(
    {
        "msisdn": ["a", "a", "a", "b", "b"],
        "at": ["2024-03-01", "2024-03-05", "2024-03-09", "2024-03-02", "2024-03-20"],
        "amount": ["10", "10", "20", "5", "5"],
        "result": ["SUCCESS", "FAILED", "Success", "DECLINED", "ok"],
    }
)


def test_a_status_column_with_failures_must_be_named() -> None:
    spec = TransactionSpec(customer="msisdn", time="at", amount="amount")
    with pytest.raises(ValueError, match=r"column 'result' looks like a payment status holding failures \("):
        transactions_to_contract(TOPUPS, spec)


@pytest.mark.parametrize(
    ("orders", "statuses", "paid", "values"),
    [
        # a Shopify export: an order's financial status on its first line only; its other items are the order's
        (
            ["#1", "#1", "#1", "#2"],
            ["paid", "", "", "paid"],
            {"#1": 27.0, "#2": 20.0},
            {"(blank: its order's)": (2, 0), "paid": (2, 0)},
        ),
        # an order refunded whole: each of its items is the sale and its refund
        (
            ["#1", "#1", "#1", "#2"],
            ["refunded", "", "", "paid"],
            {"#1": 27.0, "#1-refund": -27.0, "#2": 20.0},
            {"(blank: its order's)": (2, 0), "refunded": (1, 0), "paid": (1, 0)},
        ),
        # a blank invoice is no order to take a status from: its blank status stays blank, left out
        (
            [None, None, None, "#2"],
            ["paid", "", "", "paid"],
            {"anna-20240301100000": 10.0, "#2": 20.0},
            {"(blank)": (0, 2), "paid": (2, 0)},
        ),
    ],
)
def test_a_blank_status_on_a_later_line_of_an_order_is_the_orders_status(
    orders, statuses, paid, values
) -> None:
    # before: the blank lines were left out as not completed, and a log of many-item orders refused ("leaves out
    # 4 of 6 lines": '(blank)' cannot be named with --completed)
    log = pl.DataFrame(
        {
            "Name": orders,
            "Email": ["anna", "anna", "anna", "bob"],
            "Financial Status": statuses,
            "Created at": ["2024-03-01 10:00:00"] * 3 + ["2024-03-02 11:00:00"],
            "qty": ["1", "2", "1", "1"],
            "price": ["10", "5", "7", "20"],
        }
    )
    spec = TransactionSpec(
        customer="Email",
        time="Created at",
        quantity="qty",
        price="price",
        invoice="Name",
        status="Financial Status",
    )
    tables, report = transactions_to_contract(log, spec)
    got = tables[Table.PAYMENTS].group_by(Payments.INVOICE_ID).agg(pl.col(Payments.AMOUNT).sum())
    assert dict(got.iter_rows()) == pytest.approx(paid)
    kept = {v: (c["sale"] + c["sale_and_refund"], c["left_out"]) for v, c in report.status_values.items()}
    assert kept == values


def test_a_shop_status_column_with_voided_orders_must_be_named() -> None:
    # before: Shopify's 'voided' (a cancelled order, its payment never captured) was no failure: without --status
    # the voided orders counted as revenue, 450 read for 140 paid
    log = pl.DataFrame(
        {
            "Email": ["a@x.com", "a@x.com", "b@x.com", "b@x.com"],
            "Created at": [
                "2024-03-01 10:00:00",
                "2024-03-05 10:00:00",
                "2024-03-02 10:00:00",
                "2024-03-09 10:00:00",
            ],
            "Total": ["100", "250", "40", "60"],
            "Financial Status": ["paid", "voided", "paid", "voided"],
        }
    )
    spec = TransactionSpec(customer="Email", time="Created at", amount="Total")
    with pytest.raises(
        ValueError, match=r"column 'Financial Status' looks like a payment status holding failures \("
    ):
        transactions_to_contract(log, spec)
    tables, report = transactions_to_contract(log, replace(spec, status="Financial Status"))
    assert report.skipped["not_completed"] == 2
    assert tables[Table.PAYMENTS].get_column(Payments.AMOUNT).sum() == 140.0


@pytest.mark.parametrize(
    ("completed", "kept", "paid"),
    [
        (None, 3, {"a": 30.0, "b": 5.0}),  # SUCCESS, Success, ok: completed in any case
        (("success",), 2, {"a": 30.0}),  # --completed success: "ok" is not
    ],
)
def test_lines_whose_status_is_not_completed_are_skipped_and_counted(completed, kept, paid) -> None:
    spec = TransactionSpec(customer="msisdn", time="at", amount="amount", status="result")
    if completed is not None:
        spec = TransactionSpec(
            customer="msisdn", time="at", amount="amount", status="result", completed=completed
        )
    tables, report = transactions_to_contract(TOPUPS, spec)
    assert (report.kept_lines, report.skipped["not_completed"]) == (kept, 5 - kept)
    got = tables[Table.PAYMENTS].group_by(Payments.CLIENT_ID).agg(pl.col(Payments.AMOUNT).sum())
    assert dict(got.iter_rows()) == paid


def test_cli_status_and_completed_flags(tmp_path):
    from typer.testing import CliRunner

    from churnml.cli import app

    TOPUPS.write_csv(tmp_path / "topups.csv")
    args = ["adapt", "transactions", "--input", str(tmp_path / "topups.csv"), "--customer", "msisdn"]
    args += ["--time", "at", "--amount", "amount"]
    refused = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert refused.exit_code == 1 and "give --status result" in refused.output
    assert not (tmp_path / "a").exists()
    done = CliRunner().invoke(
        app, [*args, "--out", str(tmp_path / "b"), "--status", "result", "--completed", "success"]
    )
    assert done.exit_code == 0, done.output
    assert "skipped 3 rows: not completed" in done.output
    assert json.loads((tmp_path / "b" / "adapt_report.json").read_text())["skipped"]["not_completed"] == 3


def test_refund_lines_are_read_whatever_their_status() -> None:
    log = pl.DataFrame(
        {
            "c": ["a", "a", "a", "b", "b"],
            "t": ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-01", "2024-03-05"],
            "amt": ["10", "10", "-10", "20", "20"],
            "state": ["paid", "paid", "refunded", "paid", "partially_refunded"],
        }
    )
    spec = TransactionSpec(customer="c", time="t", amount="amt", status="state")
    tables, report = transactions_to_contract(log, spec)
    assert report.skipped["not_completed"] == 0
    got = (
        tables[Table.PAYMENTS]
        .group_by(Payments.CLIENT_ID)
        .agg(pl.col(Payments.AMOUNT).sum())
        .sort("client_id")
    )
    assert got.rows() == [("a", 10.0), ("b", 40.0)]


@pytest.mark.parametrize("header", ["Payment Status", "payment-status", "RESULT", "Order Status"])
def test_a_status_column_is_recognised_by_its_name_and_as_a_category(header: str) -> None:
    log = TOPUPS.rename({"result": header}).with_columns(pl.col(header).cast(pl.Categorical))
    spec = TransactionSpec(customer="msisdn", time="at", amount="amount")
    with pytest.raises(ValueError, match=f"column '{header}' looks like a payment status holding failures"):
        transactions_to_contract(log, spec)


def test_a_sale_whose_status_says_refunded_is_read_as_the_sale_and_its_refund() -> None:
    log = pl.DataFrame(
        {
            "c": ["a", "a", "a", "b"],
            "order": ["o1", "o1", "o2", "o3"],
            "t": ["2024-03-01", "2024-03-01", "2024-03-09", "2024-03-02"],
            "amt": ["10", "20", "15", "40"],
            "state": ["refunded", "refunded", "paid", "partially_refunded"],
        }
    )
    spec = TransactionSpec(customer="c", time="t", amount="amt", status="state", invoice="order")
    tables, report = transactions_to_contract(log, spec)
    payments = tables[Table.PAYMENTS].select(
        Payments.CLIENT_ID, Payments.INVOICE_ID, Payments.AMOUNT, Payments.STATUS
    )
    assert payments.sort(Payments.CLIENT_ID, Payments.INVOICE_ID).rows() == [
        ("a", "o1", 30.0, "paid"),  # the customer bought ...
        ("a", "o1-refund", -30.0, "refunded"),  # ... and the money went back
        ("a", "o2", 15.0, "paid"),
        ("b", "o3", 40.0, "paid"),  # partly refunded: how much is not said, the sale is read
    ]
    assert report.refunded_sale_lines == 2 and report.refund_payments == 1
    orders = tables[Table.EVENTS].filter(pl.col(Events.CLIENT_ID) == "a").height
    assert orders == 2  # o1 and o2 are orders; the refund is not usage


def test_a_log_that_books_its_refunds_as_lines_is_not_refunded_twice() -> None:
    # WooCommerce: the order marked refunded, and its refund a row of its own under another id
    log = pl.DataFrame(
        {
            "c": ["a", "a", "a"],
            "order": ["1001", "1002", "1003"],
            "t": ["2024-03-01", "2024-03-02", "2024-03-05"],
            "amt": ["50", "-50", "30"],
            "state": ["refunded", "refunded", "completed"],
        }
    )
    spec = TransactionSpec(customer="c", time="t", amount="amt", status="state", invoice="order")
    tables, report = transactions_to_contract(log, spec)
    assert tables[Table.PAYMENTS].get_column(Payments.AMOUNT).sum() == 30.0
    assert (report.refunded_sale_lines, report.refund_payments) == (0, 1)


def test_guest_checkouts_with_an_email_are_counted_and_the_cli_says_how_to_read_them(tmp_path) -> None:
    from typer.testing import CliRunner

    from churnml.cli import app

    log = pl.DataFrame(
        {
            "customer_no": ["7", None, None, "8"],
            "E-Mail": ["a@x.de", "a@x.de", "", "b@x.de"],
            "contact email": ["a@x.de", None, None, None],  # not on every registered line: not offered
            "at": ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"],
            "amount": ["10", "20", "5", "7"],
        }
    )
    spec = TransactionSpec(customer="customer_no", time="at", amount="amount")
    _, report = transactions_to_contract(log, spec)
    assert (report.skipped["missing_customer"], report.guest_emails) == (2, {"E-Mail": 1})
    log.write_csv(tmp_path / "orders.csv")
    args = ["adapt", "transactions", "--input", str(tmp_path / "orders.csv"), "--customer", "customer_no"]
    done = CliRunner().invoke(
        app, [*args, "--time", "at", "--amount", "amount", "--out", str(tmp_path / "o")]
    )
    assert done.exit_code == 0, done.output
    assert "1 of them hold an e-mail in column 'E-Mail': guest checkouts; --customer E-Mail " in " ".join(
        done.output.split()
    )


TWO_STOREFRONTS = pl.DataFrame(
    {
        "c": ["a", "a", "b"],
        "t": ["2024-03-01", "2024-03-02", "2024-03-03"],
        "amt": ["100", "10", "50"],
        "Currency": ["EUR", "GBP", "USD"],
    }
)


@pytest.mark.parametrize(
    ("rates", "paid", "currencies", "currency"),
    [
        ((), {"a": 110.0, "b": 50.0}, {"EUR": 1, "GBP": 1, "USD": 1}, None),  # summed as they are: warned
        ((("GBP", 1.2), ("USD", 0.9)), {"a": 112.0, "b": 45.0}, {}, "EUR"),  # into EUR: the log's currency
        ((("GBP", 1.2),), {"a": 112.0, "b": 50.0}, {"EUR": 1, "USD": 1}, None),  # USD still summed as it is
    ],
)
def test_rates_turn_a_logs_other_currencies_into_its_main_one(rates, paid, currencies, currency) -> None:
    spec = TransactionSpec(customer="c", time="t", amount="amt", rates=rates)
    tables, report = transactions_to_contract(TWO_STOREFRONTS, spec)
    got = tables[Table.PAYMENTS].group_by(Payments.CLIENT_ID).agg(pl.col(Payments.AMOUNT).sum())
    assert dict(got.iter_rows()) == pytest.approx(paid)
    assert (report.currencies, report.currency) == (currencies, currency)


@pytest.mark.parametrize(
    ("column", "codes", "rates", "paid", "currencies"),
    [
        # a currency column named as the contract reader names one: several currencies are said, not summed silently
        ("currency_code", ["EUR", "JPY", "EUR"], (), {"a": 10100.0, "b": 50.0}, {"EUR": 2, "JPY": 1}),
        ("Currency Code", ["EUR", "JPY", "EUR"], (), {"a": 10100.0, "b": 50.0}, {"EUR": 2, "JPY": 1}),
        ("CCY", ["EUR", "JPY", "EUR"], (("JPY", 0.0062),), {"a": 162.0, "b": 50.0}, {}),
        # WooCommerce's
        ("Order Currency", ["EUR", "JPY", "EUR"], (), {"a": 10100.0, "b": 50.0}, {"EUR": 2, "JPY": 1}),
        # codes in another case are one currency, and --rate converts them whatever its case
        ("Currency", ["EUR", "jpy", "eur"], (("JPY", 0.0062),), {"a": 162.0, "b": 50.0}, {}),
        ("Currency", ["EUR", "JPY", "eur"], (("jpy", 0.0062),), {"a": 162.0, "b": 50.0}, {}),
        ("currency", [" eur", "EUR ", "Eur"], (), {"a": 10100.0, "b": 50.0}, {}),
    ],
)
def test_the_currency_column_is_read_as_the_contract_reader_reads_one(column, codes, rates, paid, currencies):
    # before: a column named currency_code (or codes written eur and EUR) was no currency column, or two
    # currencies: 10,000 JPY and 100 EUR summed to 10,100 without a word, and --rate jpy=... converted nothing
    log = pl.DataFrame(
        {"c": ["a", "a", "b"], "t": ["2024-03-01", "2024-03-02", "2024-03-03"], "amt": ["100", "10000", "50"]}
    ).with_columns(pl.Series(column, codes))
    spec = TransactionSpec(customer="c", time="t", amount="amt", rates=rates)
    tables, report = transactions_to_contract(log, spec)
    got = tables[Table.PAYMENTS].group_by(Payments.CLIENT_ID).agg(pl.col(Payments.AMOUNT).sum())
    assert dict(got.iter_rows()) == pytest.approx(paid)
    assert report.currencies == currencies
    assert report.currency == (None if currencies else "EUR")


@pytest.mark.parametrize(
    ("invoice", "currencies", "paid"),
    [
        # a Shopify export: the currency on an order's first line only; its other items are in it too
        ("Name", ["GBP", "", "", "EUR"], {"anna": 32.4, "bob": 20.0}),
        ("Name", ["GBP", None, "gbp", "EUR"], {"anna": 32.4, "bob": 20.0}),
        (
            "Name",
            ["", "GBP", "", "EUR"],
            {"anna": 10.0 + 12.0 + 8.4, "bob": 20.0},
        ),  # none above the first: as is
        (None, ["GBP", "", "", "EUR"], {"anna": 12.0 + 10.0 + 7.0, "bob": 20.0}),  # no order to take it from
    ],
)
def test_a_blank_currency_on_a_later_line_of_an_order_is_the_orders(invoice, currencies, paid) -> None:
    # before: only the order's first line was converted (#1001 of 27 GBP read 29.0 for 32.4)
    log = pl.DataFrame(
        {
            "Name": ["#1", "#1", "#1", "#2"],
            "Email": ["anna", "anna", "anna", "bob"],
            "Currency": currencies,
            "Created at": ["2024-03-01 10:00:00"] * 3 + ["2024-03-02 11:00:00"],
            "qty": ["1", "2", "1", "1"],
            "price": ["10", "5", "7", "20"],
        }
    )
    spec = TransactionSpec(
        customer="Email",
        time="Created at",
        quantity="qty",
        price="price",
        invoice=invoice,
        rates=(("GBP", 1.2),),
    )
    tables, _ = transactions_to_contract(log, spec)
    got = tables[Table.PAYMENTS].group_by(Payments.CLIENT_ID).agg(pl.col(Payments.AMOUNT).sum())
    assert dict(got.iter_rows()) == pytest.approx(paid)


@pytest.mark.parametrize("text", ["GBP", "GBP=", "GBP=-1", "=1.2", "GBP=abc"])
def test_a_malformed_rate_is_refused_saying_the_form(text: str) -> None:
    from churnml.contract.adapters.transactions import parsed_rates

    with pytest.raises(ValueError, match=r"give CURRENCY=FACTOR"):
        parsed_rates([text])


def test_rates_need_a_currency_column() -> None:
    spec = TransactionSpec(customer="c", time="t", amount="amt", rates=(("GBP", 1.2),))
    with pytest.raises(ValueError, match="--rate needs a column named currency"):
        transactions_to_contract(TWO_STOREFRONTS.drop("Currency"), spec)


def test_a_log_with_null_written_for_a_missing_customer_reads_it_as_blank_and_counts_it(tmp_path):
    from typer.testing import CliRunner

    from churnml.cli import app

    log = LOG.with_columns(
        pl.col("InvoiceDate").dt.strftime("%Y-%m-%d %H:%M:%S"),
        pl.col("Customer ID").cast(pl.Int64).cast(pl.String).fill_null("NULL"),  # a Postgres export's NULL
    )
    log.write_csv(tmp_path / "log.csv")
    args = ["adapt", "transactions", "--input", str(tmp_path / "log.csv"), "--preset", "online-retail"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "adapt_report.json").read_text())
    assert report["skipped"]["missing_customer"] == 1  # not a customer called "NULL"
    assert report["read_as_empty"] == {"Customer ID: 'NULL' read as empty": 1}


# An ERP's document lines: invoiced sales, a sale returned whole (marked on its own lines) and a credit note
ERP = pl.DataFrame(
    {
        "acc": ["a", "a", "a", "b", "b", "b"],
        "doc": ["I1", "I1", "I2", "I3", "CN4", "I5"],
        "t": ["2024-03-01", "2024-03-01", "2024-03-05", "2024-03-02", "2024-03-06", "2024-03-09"],
        "amt": ["10", "20", "15", "40", "-5", "25"],
        "state": ["invoiced", "invoiced", "returned", "invoiced", "credit_note", "invoiced"],
    }
)
ERP_SPEC = TransactionSpec(customer="acc", time="t", amount="amt", invoice="doc", status="state")


def test_a_status_column_that_leaves_out_most_lines_is_refused_with_its_values() -> None:
    with pytest.raises(ValueError) as err:
        transactions_to_contract(ERP, ERP_SPEC)
    text = str(err.value)
    assert text.startswith("--status 'state' leaves out 4 of 6 lines as not a completed payment: ")
    assert (
        "'invoiced' (4 lines: left out), 'credit_note' (1: a refund), 'returned' (1: a sale and its refund)"
        in text
    )
    assert "--completed invoiced" in text


def test_each_status_value_is_counted_by_what_was_made_of_it() -> None:
    tables, report = transactions_to_contract(ERP, replace(ERP_SPEC, completed=("invoiced",)))
    payments = tables[Table.PAYMENTS].select(Payments.CLIENT_ID, Payments.INVOICE_ID, Payments.AMOUNT)
    assert payments.sort(Payments.CLIENT_ID, Payments.INVOICE_ID).rows() == [
        ("a", "I1", 30.0),
        ("a", "I2", 15.0),  # the customer bought ...
        (
            "a",
            "I2-refund",
            -15.0,
        ),  # ... and returned it all: a credit note of another client is no refund of it
        ("b", "CN4", -5.0),
        ("b", "I3", 40.0),
        ("b", "I5", 25.0),
    ]
    assert report.status_values == {
        "invoiced": {"sale": 4, "refund": 0, "sale_and_refund": 0, "left_out": 0},
        "credit_note": {"sale": 0, "refund": 1, "sale_and_refund": 0, "left_out": 0},
        "returned": {"sale": 0, "refund": 0, "sale_and_refund": 1, "left_out": 0},
    }
    assert (report.skipped["not_completed"], report.refunded_sale_lines, report.refund_payments) == (0, 1, 2)


def test_a_status_column_holding_returns_must_be_named() -> None:
    spec = replace(ERP_SPEC, status=None)
    with pytest.raises(ValueError, match=r"column 'state' looks like a status holding returns or refunds \("):
        transactions_to_contract(ERP, spec)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # a sale's own line says the money went back whole: the sale, and its refund
        ("returned", [("o1", 30.0, "paid"), ("o1-refund", -30.0, "refunded"), ("o2", 15.0, "paid")]),
        ("Credited", [("o1", 30.0, "paid"), ("o1-refund", -30.0, "refunded"), ("o2", 15.0, "paid")]),
        ("refunded", [("o1", 30.0, "paid"), ("o1-refund", -30.0, "refunded"), ("o2", 15.0, "paid")]),
        # the line is a refund document written with a positive amount: a refund
        ("refund", [("o1", -30.0, "refunded"), ("o2", 15.0, "paid")]),
        ("return", [("o1", -30.0, "refunded"), ("o2", 15.0, "paid")]),
        ("credit_note", [("o1", -30.0, "refunded"), ("o2", 15.0, "paid")]),
        ("Credit Note", [("o1", -30.0, "refunded"), ("o2", 15.0, "paid")]),
        ("credit-memo", [("o1", -30.0, "refunded"), ("o2", 15.0, "paid")]),
    ],
)
def test_the_usual_return_and_credit_spellings_are_read_as_refunds(value: str, expected: list) -> None:
    log = pl.DataFrame(
        {
            "c": ["a", "a", "a"],
            "order": ["o1", "o1", "o2"],
            "t": ["2024-03-01", "2024-03-01", "2024-03-09"],
            "amt": ["10", "20", "15"],
            "state": [value, value, "paid"],
        }
    )
    spec = TransactionSpec(customer="c", time="t", amount="amt", status="state", invoice="order")
    tables, _ = transactions_to_contract(log, spec)
    payments = tables[Table.PAYMENTS].select(Payments.INVOICE_ID, Payments.AMOUNT, Payments.STATUS)
    assert payments.sort(Payments.INVOICE_ID).rows() == expected


def test_a_status_column_that_keeps_no_sale_is_refused() -> None:
    log = pl.DataFrame(
        {"c": ["a", "a", "b"], "t": ["2024-03-01", "2024-03-02", "2024-03-03"], "amt": ["10", "-4", "7"]}
    ).with_columns(state=pl.Series(["pending", "credit_note", "pending"]))
    spec = TransactionSpec(customer="c", time="t", amount="amt", status="state", completed=("paid",))
    with pytest.raises(ValueError, match=r"--status 'state' keeps no sale: 'pending' \(2 lines: left out\)"):
        transactions_to_contract(log, spec)


def test_a_refunded_order_holding_its_own_refund_line_is_not_refunded_twice() -> None:
    log = pl.DataFrame(
        {
            "c": ["a", "a", "b", "b"],
            "order": ["o1", "o1", "o2", "o3"],
            "t": ["2024-03-01", "2024-03-02", "2024-03-01", "2024-03-03"],
            "amt": ["30", "-30", "20", "15"],
            "state": ["refunded", "refunded", "refunded", "paid"],
        }
    )
    spec = TransactionSpec(customer="c", time="t", amount="amt", status="state", invoice="order")
    tables, report = transactions_to_contract(log, spec)
    payments = tables[Table.PAYMENTS].select(Payments.INVOICE_ID, Payments.AMOUNT)
    # o1's refund is its own line (netted: 0); o2's is made up: no refund line of b says it went back
    assert payments.sort(Payments.INVOICE_ID).rows() == [
        ("o1", 0.0),
        ("o2", 20.0),
        ("o2-refund", -20.0),
        ("o3", 15.0),
    ]
    assert report.refunded_sale_lines == 1


def test_cli_says_what_it_made_of_each_status_value_and_refuses_a_status_that_leaves_out_most(
    tmp_path,
) -> None:
    from typer.testing import CliRunner

    from churnml.cli import app

    ERP.write_csv(tmp_path / "lines.csv")
    args = [
        "adapt",
        "transactions",
        "--input",
        str(tmp_path / "lines.csv"),
        "--customer",
        "acc",
        "--time",
        "t",
    ]
    args += ["--amount", "amt", "--invoice", "doc", "--status", "state"]
    refused = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert refused.exit_code == 1 and "--completed invoiced" in " ".join(refused.output.split())
    assert not (tmp_path / "a").exists()
    done = CliRunner().invoke(app, [*args, "--completed", "invoiced", "--out", str(tmp_path / "b")])
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "status 'invoiced': 4 lines kept as sales" in said
    assert "status 'credit_note': 1 line read as a refund" in said
    assert "status 'returned': 1 line read as a sale and its refund" in said
    written = json.loads((tmp_path / "b" / "adapt_report.json").read_text())["status_values"]
    assert written["returned"] == {"sale": 0, "refund": 0, "sale_and_refund": 1, "left_out": 0}


@pytest.mark.parametrize(
    ("timezone", "data"), [("UTC", None), ("Europe/Berlin", {"timezone": "Europe/Berlin"})]
)
def test_config_snippet_records_a_timezone_other_than_utc_as_data_timezone(timezone, data) -> None:
    tree = yaml.safe_load(config_snippet(60, timezone=timezone))
    assert tree.get("data") == data
    assert Config.model_validate(tree).data.timezone == timezone


def test_an_unknown_timezone_is_refused_by_name() -> None:
    with pytest.raises(
        ValueError, match=r"--timezone 'Europe/Berln' is not a time zone name: .*Europe/Paris"
    ):
        preset_spec(None, customer="c", time="t", amount="x", timezone="Europe/Berln")


def test_cli_timezone_reads_the_times_in_that_zone_and_says_what_moved_and_the_blank_invoices(
    tmp_path,
) -> None:
    from typer.testing import CliRunner

    from churnml.cli import app

    log = pl.DataFrame(
        {
            "c": ["a", "a", "b"],
            "inv": ["1", None, "2"],
            "t": ["2024-03-01T23:30:00+00:00", "2024-03-02T10:00:00+01:00", "2024-03-03 12:00:00"],
            "x": ["10", "5", "7"],
        }
    )
    log.write_csv(tmp_path / "orders.csv")
    args = [
        "adapt",
        "transactions",
        "--input",
        str(tmp_path / "orders.csv"),
        "--customer",
        "c",
        "--time",
        "t",
    ]
    args += ["--amount", "x", "--invoice", "inv"]
    refused = CliRunner().invoke(app, [*args, "--timezone", "Berlin", "--out", str(tmp_path / "a")])
    assert refused.exit_code == 1 and "--timezone 'Berlin' is not a time zone name" in refused.output
    done = CliRunner().invoke(app, [*args, "--timezone", "Europe/Berlin", "--out", str(tmp_path / "b")])
    assert done.exit_code == 0, done.output
    payments = pl.read_parquet(tmp_path / "b" / "payments.parquet")
    assert payments.select(Payments.INVOICE_ID, Payments.PAID_AT).rows() == [
        ("1", D(2024, 3, 2, 0, 30)),  # 23:30 UTC is half past midnight in Berlin
        ("a-20240302100000", D(2024, 3, 2, 10)),  # +01:00 is Berlin's own offset in March: not moved
        ("2", D(2024, 3, 3, 12)),  # no offset: a Berlin time already
    ]
    report = json.loads((tmp_path / "b" / "adapt_report.json").read_text())
    assert (report["spec"]["timezone"], report["blank_invoice_lines"]) == ("Europe/Berlin", 1)
    said = " ".join(done.output.split())
    assert "1 line has a blank invoice (column 'inv'): one order per customer and time" in said
    assert (
        "t: times written with an offset other than Europe/Berlin's, read as Europe/Berlin time: their clock "
        in said
    )
    assert list(report["zone_repairs"].values()) == [1, 1]
    assert (
        "time changed (data.timezone): 1 line" in said
        and "daily and weekly features count them on that day): 1 line" in said
    )
    # the folder's churnml.yaml reads the times in the zone adapt read them in, and validate reads the folder
    written = yaml.safe_load((tmp_path / "b" / "churnml.yaml").read_text())
    assert written["data"]["timezone"] == "Europe/Berlin"
    checked = CliRunner().invoke(app, ["validate", "--data", str(tmp_path / "b")])
    assert checked.exit_code == 0, checked.output
