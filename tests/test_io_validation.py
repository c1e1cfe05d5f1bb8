"""The data contract: every bad-input case fails with a message naming table, column and rows."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from churnml.cli import app
from churnml.config import DataConfig
from churnml.contract.io import read_dataset
from churnml.contract.schemas import Table
from churnml.contract.validation import ContractError, found_values_text, shown_value

CFG = DataConfig(as_of=date(2024, 12, 31))


def good_tables() -> dict[str, pl.DataFrame]:
    return {
        "clients": pl.DataFrame(
            {"client_id": ["c1", "c2", "c3"], "created_at": ["2024-01-01", "2024-02-01", "2024-03-01"]}
        ),
        "events": pl.DataFrame(
            {
                "client_id": ["c1", "c1", "c2"],
                "ts": ["2024-05-01 10:00:00", "2024-05-02T11:30:00Z", "2024-05-03"],
                "event": ["login", "report_view", "login"],
            }
        ),
        "subscriptions": pl.DataFrame(
            {
                "client_id": ["c1", "c2"],
                "start_date": ["2024-01-01", "2024-02-01"],
                "end_date": ["2025-01-01", "2025-02-01"],
                "mrr": ["100", "250.5"],
            }
        ),
        "tickets": pl.DataFrame({"client_id": ["c1"], "opened_at": ["2024-06-01"], "csat": ["4"]}),
        "communications": pl.DataFrame(
            {
                "client_id": ["c1"],
                "ts": ["2024-06-01"],
                "channel": ["email"],
                "direction": ["out"],
                "sentiment": ["0.5"],
            }
        ),
    }


def write(folder: Path, tables: dict[str, pl.DataFrame], fmt: str = "csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "csv":
            frame.write_csv(folder / f"{name}.csv")
        else:
            frame.write_parquet(folder / f"{name}.parquet")
    return folder


def replaced(name: str, frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    tables = good_tables()
    tables[name] = frame
    return tables


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_good_dataset_reads_into_contract_types(tmp_path: Path, fmt: str) -> None:
    ds = read_dataset(write(tmp_path / "d", good_tables(), fmt), CFG)
    events = ds.get(Table.EVENTS)
    assert events.schema["ts"] == pl.Datetime("us")
    # The ISO timestamp with a Z suffix is read as naive UTC.
    assert events.get_column("ts").to_list()[1] == datetime(2024, 5, 2, 11, 30)
    assert ds.get(Table.SUBSCRIPTIONS).get_column("mrr").to_list() == [100.0, 250.5]
    assert ds.as_of == datetime(2025, 1, 1)
    assert set(ds.checksums) == {"clients", "events", "subscriptions", "tickets", "communications"}
    assert Table.PAYMENTS not in ds


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_events_count_reads_as_a_whole_number_and_an_empty_one_stays_empty(
    tmp_path: Path, fmt: str
) -> None:
    tables = good_tables()
    tables["events"] = tables["events"].with_columns(pl.Series("count", [246.0, None, 0.0]))  # a float export
    events = read_dataset(write(tmp_path / "d", tables, fmt), CFG).get(Table.EVENTS)
    assert events.schema["count"] == pl.Int64
    assert events.get_column("count").to_list() == [246, None, 0]  # empty: one occurrence (the features)


BAD_CASES = [
    # (description, table to replace, frame, expected fragments of the message)
    (
        "missing required column",
        "events",
        pl.DataFrame({"client_id": ["c1"], "event": ["login"]}),
        ["'events'", "missing required column", "ts"],
    ),
    (
        "unparsable timestamp",
        "events",
        pl.DataFrame({"client_id": ["c1", "c2"], "ts": ["2024-05-01", "yesterday"], "event": ["a", "b"]}),
        ["'events'", "'ts'", "cannot read values as datetime", "yesterday", "line=3"],
    ),
    (
        "unknown client id",
        "events",
        pl.DataFrame({"client_id": ["c1", "zz9"], "ts": ["2024-05-01", "2024-05-02"], "event": ["a", "b"]}),
        ["'events'", "'client_id'", "not found in table 'clients'", "zz9"],
    ),
    (
        "duplicate client id",
        "clients",
        pl.DataFrame({"client_id": ["c1", "c2", "c2", "c3"], "created_at": ["2024-01-01"] * 4}),
        ["'clients'", "duplicate key", "c2"],
    ),
    (
        "negative mrr",
        "subscriptions",
        pl.DataFrame(
            {"client_id": ["c1"], "start_date": ["2024-01-01"], "end_date": ["2024-02-01"], "mrr": ["-5"]}
        ),
        ["'subscriptions'", "'mrr'", "below 0 (allowed: 0 or more)", "-5"],
    ),
    (  # a spreadsheet's header: the columns to rename are named
        "column names in another case",
        "clients",
        pl.DataFrame({"Client_ID": ["c1"], "Created At": ["2024-01-01"]}),
        [
            "'clients'",
            "missing required column",
            "'Client_ID' is 'client_id' written otherwise: rename it",
            "'Created At' is 'created_at' written otherwise",
        ],
    ),
    (
        "US dates",
        "payments",
        pl.DataFrame({"client_id": ["c1"], "amount": ["5"], "paid_at": ["03/15/2024"]}),
        ["'payments'", "'paid_at'", "day or month first", "2024-03-15", "03/15/2024"],
    ),
    (  # a spreadsheet's yes/no in a 0-3 column: the allowed range is said
        "strategic as TRUE/FALSE",
        "clients",
        pl.DataFrame({"client_id": ["c1"], "created_at": ["2024-01-01"], "strategic": ["FALSE"]}),
        ["'clients'", "'strategic'", "this column takes whole numbers from 0 to 3", "FALSE"],
    ),
    (  # ids a spreadsheet turned into numbers in one table only
        "client ids with '.0'",
        "tickets",
        pl.DataFrame({"client_id": ["c1.0"], "opened_at": ["2024-06-01"]}),
        ["'tickets'", "not found in table 'clients'", "followed by '.0'"],
    ),
    (
        "amounts with a currency sign",
        "payments",
        pl.DataFrame({"client_id": ["c1"], "amount": ["$1,234.50"], "paid_at": ["2024-03-15"]}),
        ["'payments'", "'amount'", "a currency sign or thousands separators", "$1,234.50"],
    ),
    (  # a cancellation recorded with its effective day still ahead
        "a scheduled cancellation",
        "churns",
        pl.DataFrame({"client_id": ["c1"], "churned_at": ["2099-01-31"]}),
        [
            "'churns'",
            "'churned_at'",
            "timestamp after the as-of date",
            "cancellation scheduled",
            "cancellation_request",
        ],
    ),
    (  # an open-ended (evergreen) term: what it means and what to write
        "a term without an end",
        "subscriptions",
        pl.DataFrame({"client_id": ["c1"], "start_date": ["2024-03-01"], "end_date": [None], "mrr": ["5"]}),
        ["'subscriptions'", "'end_date'", "empty value", "a term without an end", "scheduled end", "churns"],
    ),
    (
        "end before start",
        "subscriptions",
        pl.DataFrame(
            {"client_id": ["c2"], "start_date": ["2024-03-01"], "end_date": ["2024-02-01"], "mrr": ["5"]}
        ),
        ["'subscriptions'", "'end_date' is before 'start_date'", "c2"],
    ),
    (
        "csat outside 1-5",
        "tickets",
        pl.DataFrame({"client_id": ["c1", "c2"], "opened_at": ["2024-06-01"] * 2, "csat": ["3", "7"]}),
        ["'tickets'", "'csat'", "above 5 (allowed: 1 to 5; leave the cell empty when unknown)", "7"],
    ),
    (
        "sentiment outside -1..1",
        "communications",
        pl.DataFrame(
            {
                "client_id": ["c1"],
                "ts": ["2024-06-01"],
                "channel": ["email"],
                "direction": ["in"],
                "sentiment": ["-3"],
            }
        ),
        ["'communications'", "'sentiment'", "below -1 (allowed: -1 to 1; leave the cell empty when unknown)"],
    ),
    (
        "value outside the allowed set",
        "communications",
        pl.DataFrame({"client_id": ["c1"], "ts": ["2024-06-01"], "channel": ["fax"], "direction": ["in"]}),
        ["'communications'", "'channel'", "allowed", "fax"],
    ),
    (  # every distinct value to map, most frequent first, not only the first rows' one
        "a billing system's statuses",
        "payments",
        pl.DataFrame(
            {
                "client_id": ["c1", "c1", "c1", "c2"],
                "amount": ["5", "5", "5", "5"],
                "paid_at": ["2024-06-01", "2024-06-02", None, "2024-06-03"],
                "status": ["succeeded", "succeeded", "void", "paid"],
            }
        ),
        [
            "'payments', column 'status': value not among the allowed ['paid', 'failed', 'refunded', "
            "'open']; found 'succeeded' (2), 'void' (1) (3 rows)"
        ],
    ),
    (
        "empty table",
        "tickets",
        pl.DataFrame(
            {"client_id": [], "opened_at": []}, schema={"client_id": pl.String, "opened_at": pl.String}
        ),
        ["'tickets'", "empty"],
    ),
    (  # a daily aggregate's count (how many occurrences the row stands for) is a whole number of 0 or more
        "a fractional events count",
        "events",
        pl.DataFrame(
            {
                "client_id": ["c1", "c2"],
                "ts": ["2024-05-01", "2024-05-02"],
                "event": ["login"] * 2,
                "count": ["3", "2.5"],
            }
        ),
        [
            "table 'events', column 'count': cannot read values as int (1 row)",
            "line=3",
            "client_id='c2'",
            "'2.5'",
        ],
    ),
    (
        "a negative events count",
        "events",
        pl.DataFrame(
            {
                "client_id": ["c1", "c2"],
                "ts": ["2024-05-01", "2024-05-02"],
                "event": ["login"] * 2,
                "count": ["-4", "1"],
            }
        ),
        [
            "table 'events', column 'count': value below 0 (allowed: 0 or more; leave the cell empty when unknown) "
            "(1 row)",
            "line=2",
            "count=-4",
        ],
    ),
    (
        "timestamp after the as-of date",
        "events",
        pl.DataFrame({"client_id": ["c1"], "ts": ["2030-01-01"], "event": ["login"]}),
        ["'events'", "'ts'", "after the as-of date"],
    ),
]


@pytest.mark.parametrize(("label", "table", "frame", "fragments"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_input_fails_with_a_clear_message(
    tmp_path: Path, label: str, table: str, frame: pl.DataFrame, fragments: list[str]
) -> None:
    folder = write(tmp_path / "d", replaced(table, frame))
    with pytest.raises(ContractError) as info:
        read_dataset(folder, CFG)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize(
    ("table", "header", "message"),
    [
        # a CRM's export: the column the contract calls client_id under the CRM's own name
        (
            "clients",
            "Account ID",
            "table 'clients', column 'client_id': missing required column(s) ['client_id']; found ['Account ID', "
            "'Name', 'created_at'] ('Account ID' looks like 'client_id': rename it)",
        ),
        (
            "clients",
            "customer_id",
            "table 'clients', column 'client_id': missing required column(s) ['client_id']; found ['customer_id', "
            "'Name', 'created_at'] ('customer_id' looks like 'client_id': rename it)",
        ),
        (
            "clients",
            "CustomerID",
            "table 'clients', column 'client_id': missing required column(s) ['client_id']; found ['CustomerID', "
            "'Name', 'created_at'] ('CustomerID' looks like 'client_id': rename it)",
        ),
        # a consumer app's users: the clients table's own id
        (
            "clients",
            "User ID",
            "table 'clients', column 'client_id': missing required column(s) ['client_id']; found ['User ID', "
            "'Name', 'created_at'] ('User ID' looks like 'client_id': rename it)",
        ),
        # an account's name is no id: the columns found, no guess
        (
            "clients",
            "Account Name",
            "table 'clients', column 'client_id': missing required column(s) ['client_id']; found ['Account Name', "
            "'Name', 'created_at']",
        ),
        # in the events, user_id is the contract's own column (who of the client acted), never the client
        (
            "events",
            "user_id",
            "table 'events', column 'client_id': missing required column(s) ['client_id']; found ['user_id', "
            "'ts', 'event']",
        ),
    ],
)
def test_a_missing_column_names_a_crm_s_name_for_it_without_renaming(
    tmp_path, table, header, message
) -> None:
    # before: "found ['Account ID', 'Name', 'created_at']" and no hint (only 'Client_ID'-like spellings had one)
    others = {"clients": {"Name": ["Acme"], "created_at": ["2024-01-01"]}}
    frame = pl.DataFrame({header: ["c1"], **others.get(table, {"ts": ["2024-05-01"], "event": ["login"]})})
    folder = write(tmp_path / "d", replaced(table, frame))
    with pytest.raises(ContractError) as info:
        read_dataset(folder, CFG)
    assert str(info.value) == message
    assert (folder / f"{table}.csv").read_text().startswith(header)  # never renamed


@pytest.mark.parametrize(
    ("missing", "found", "table", "said"),
    [
        (["ts"], ["client_id", "Timestamp", "event"], "events", "('Timestamp' looks like 'ts': rename it)"),
        (
            ["paid_at"],
            ["client_id", "amount", "Payment Date"],
            "payments",
            "('Payment Date' looks like 'paid_at': rename it)",
        ),
        (
            ["amount"],
            ["client_id", "Total", "paid_at"],
            "payments",
            "('Total' looks like 'amount': rename it)",
        ),
        (
            ["start_date", "end_date", "mrr"],
            ["client_id", "Term Start", "Term End", "Monthly Recurring Revenue"],
            "subscriptions",
            "('Term Start' looks like 'start_date': rename it; 'Term End' looks like 'end_date': rename it; "
            "'Monthly Recurring Revenue' looks like 'mrr': rename it)",
        ),
        (
            ["created_at"],
            ["client_id", "Signup Date"],
            "clients",
            "('Signup Date' looks like 'created_at': rename it)",
        ),
        # two candidates: both said, none picked
        (
            ["client_id"],
            ["Account", "Customer ID", "created_at"],
            "clients",
            "('Account' or 'Customer ID' look like 'client_id': rename one of them)",
        ),
        # a spelling of the contract's own name is said as such, not twice
        (
            ["client_id"],
            ["Client ID", "Account", "created_at"],
            "clients",
            "('Client ID' is 'client_id' written otherwise: rename it)",
        ),
        # ARR is no MRR (12 times it): no guess
        (
            ["mrr"],
            ["client_id", "start_date", "end_date", "ARR"],
            "subscriptions",
            "",
        ),
    ],
)
def test_the_synonyms_of_the_key_columns_are_said(missing, found, table, said) -> None:
    from churnml.contract.validation import missing_columns_problem

    head = f"missing required column(s) {missing}; found {found}"
    assert missing_columns_problem(missing, found, table) == head + (f" {said}" if said else "")


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        ("Account ID", "account_id"),
        ("CustomerID", "customer_id"),
        (" Signup-Date ", "signup_date"),
        ("ts", "ts"),
    ],
)
def test_column_names_are_normalised_as_the_synonyms_are_written(name, normalised) -> None:
    from churnml.contract.validation import normalised_name

    assert normalised_name(name) == normalised


@pytest.mark.parametrize(
    ("table", "column", "values"),
    [
        ("clients", "margin", [0.3, float("nan"), 0.2]),  # bounded 0..1: NaN was "value above 1"
        ("tickets", "csat", [4.0, float("nan"), 2.0]),  # bounded 1..5: NaN was "value above 5"
        ("subscriptions", "mrr", [100.0, float("inf"), 5.0]),  # bounded below only
    ],
)
def test_a_nan_in_a_bounded_number_column_is_said_to_be_nan_not_out_of_range(tmp_path, table, column, values):
    # before: a pandas export's NaN (its empty number) in clients.margin was refused as "value above 1 (allowed:
    # 0 to 1; leave the cell empty when unknown)", margin=nan: the user had left it empty
    tables = {
        "clients": pl.DataFrame({"client_id": ["c1", "c2", "c3"], "created_at": ["2024-01-01"] * 3}),
        "subscriptions": pl.DataFrame(
            {
                "client_id": ["c1", "c2", "c3"],
                "start_date": ["2024-01-01"] * 3,
                "end_date": ["2025-01-01"] * 3,
            }
        ).with_columns(mrr=pl.lit(10.0)),
        "tickets": pl.DataFrame({"client_id": ["c1", "c2", "c3"], "opened_at": ["2024-06-01"] * 3}),
    }
    tables[table] = tables[table].with_columns(pl.Series(column, values))
    with pytest.raises(ContractError) as info:
        read_dataset(write(tmp_path / "d", tables, "parquet"), CFG)
    assert str(info.value).startswith(
        f"table '{table}', column '{column}': value is NaN or infinite (NaN is how pandas writes an empty number: "
        "write those cells empty, e.g. pl.from_pandas(df, nan_to_null=True) or df.astype('Float64') before writing "
        "the file) (1 row). e.g. row=2, client_id='c2'"
    )


def test_missing_required_table(tmp_path: Path) -> None:
    tables = good_tables()
    del tables["clients"]
    with pytest.raises(ContractError, match="'clients': required table missing"):
        read_dataset(write(tmp_path / "d", tables), CFG)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (  # a French export: the tables are there under their own names
            ["clients.csv", "abonnements.csv", "factures.csv", "evenements.csv", "notes.md"],
            "table 'events': no activity table in {folder}: need at least one of events, subscriptions, payments, "
            "communications, tickets; files found but not read (no contract table of that name): abonnements.csv, "
            "evenements.csv, factures.csv: rename each to the name of the table it holds (clients, events, "
            "subscriptions, payments, communications, tickets, signals, churns, interventions; .csv or .parquet)",
        ),
        (
            ["clientes.csv", "events.csv"],
            "table 'clients': required table missing: no clients.parquet or clients.csv in {folder}; files found "
            "but not read (no contract table of that name): clientes.csv: rename each to the name of the table it "
            "holds (clients, events, subscriptions, payments, communications, tickets, signals, churns, "
            "interventions; .csv or .parquet)",
        ),
        (  # nothing else there: nothing more to say
            ["clients.csv"],
            "table 'events': no activity table in {folder}: need at least one of events, subscriptions, payments, "
            "communications, tickets",
        ),
    ],
)
def test_a_missing_table_names_the_data_files_not_read(
    tmp_path: Path, files: list[str], message: str
) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    for name in files:
        (folder / name).write_text("client_id,created_at\nc1,2024-01-01\n")
    with pytest.raises(ContractError) as err:
        read_dataset(folder, CFG)
    assert str(err.value) == message.format(folder=folder)


def test_a_file_that_is_not_a_table(tmp_path: Path) -> None:
    folder = write(tmp_path / "d", good_tables())
    (folder / "tickets.csv").unlink()
    (folder / "tickets.parquet").write_bytes(b"\x00\x01 this is not parquet \xff" * 10)
    with pytest.raises(
        ContractError, match=r"'tickets': file tickets\.parquet is not a readable Parquet table"
    ):
        read_dataset(folder, CFG)


def test_two_files_for_one_table(tmp_path: Path) -> None:
    folder = write(tmp_path / "d", good_tables())
    good_tables()["events"].write_parquet(folder / "events.parquet")
    with pytest.raises(ContractError, match="two files for one table"):
        read_dataset(folder, CFG)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Events.csv", r"'events': file Events\.csv looks like this table, .* rename it to events\.csv$"),
        ("EVENTS.CSV.GZ", r"'events': file EVENTS\.CSV\.GZ .* rename it to events\.csv\.gz$"),
        (
            "events.xlsx",
            r"'events': file events\.xlsx .* export the table as events\.csv or events\.parquet$",
        ),
        ("events.tsv", r"'events': file events\.tsv .* export the table as events\.csv"),
    ],
)
def test_a_table_file_churnml_would_not_read_is_an_error(tmp_path: Path, name: str, message: str) -> None:
    """A table under another letter case or format would be silently absent (and all its features)."""
    folder = write(tmp_path / "d", good_tables())
    (folder / "events.csv").rename(folder / name)
    with pytest.raises(ContractError, match=message):
        read_dataset(folder, CFG)


def test_validate_names_the_files_it_does_not_read(tmp_path: Path) -> None:
    folder = write(tmp_path / "d", good_tables())
    (folder / "orders.csv").write_text("a,b\n1,2\n")
    (folder / "export.xlsx").write_bytes(b"PK")
    (folder / "churnml.yaml").write_text("label: {source: inactivity}\n")
    (folder / "README.md").write_text("notes\n")
    (folder / "adapt_report.json").write_text("{}")  # churnml's own, written by `churnml adapt`
    result = CliRunner().invoke(app, ["validate", "--data", str(folder)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "not read (no contract table of that name): export.xlsx, orders.csv;" in result.output


def test_repairs_are_counted_not_silent(tmp_path: Path) -> None:
    tables = good_tables()
    tables["events"] = tables["events"].with_columns(
        pl.Series("client_id", [" c1", "c1 ", "c2"]), pl.lit("x").alias("browser")
    )
    ds = read_dataset(write(tmp_path / "d", tables), CFG)
    assert ds.get(Table.EVENTS).get_column("client_id").to_list() == ["c1", "c1", "c2"]
    counts = ds.repairs.counts["events"]
    assert counts["client_id: whitespace trimmed"] == 2
    assert counts["ignored columns ['browser']"] == 3
    assert "browser" not in ds.get(Table.EVENTS).columns


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_allowed_values_in_another_case_are_read_as_the_contracts_and_counted(
    tmp_path: Path, fmt: str
) -> None:
    """A CRM's picklists export capitalised: "Email", "IN"; "Phone" is no case of an allowed channel."""
    comms = pl.DataFrame(
        {
            "client_id": ["c1", "c1", "c2"],
            "ts": [datetime(2024, 5, 1), datetime(2024, 5, 2), datetime(2024, 5, 3)],
            "channel": ["Email", "email", "CALL "],
            "direction": ["IN", "out", "Out"],
        }
    )
    ds = read_dataset(write(tmp_path / fmt, {**good_tables(), "communications": comms}, fmt), CFG)
    got = ds.get(Table.COMMUNICATIONS).select("channel", "direction").rows()
    assert got == [("email", "in"), ("email", "out"), ("call", "out")]
    counts = ds.repairs.counts["communications"]
    assert counts["channel: values in another letter case read as the contract's"] == 2
    assert counts["direction: values in another letter case read as the contract's"] == 2
    bad = comms.with_columns(pl.Series("channel", ["Email", "Phone", "call"]))
    with pytest.raises(ContractError, match=r"'channel'.*found 'Phone' \(1 row\)"):
        read_dataset(write(tmp_path / "bad", {**good_tables(), "communications": bad}), CFG)


def test_a_churn_reason_of_a_happy_churn_is_read(tmp_path: Path) -> None:
    """An online school's cancellation survey: 'finished my course' is the reason completed, no error."""
    churns = pl.DataFrame(
        {
            "client_id": ["c1", "c2"],
            "churned_at": ["2024-06-01", "2024-06-02"],
            "reason": ["completed", "price"],
        }
    )
    ds = read_dataset(write(tmp_path / "d", {**good_tables(), "churns": churns}), CFG)
    assert ds.get(Table.CHURNS).get_column("reason").to_list() == ["completed", "price"]


def test_float_ids_from_spreadsheets_become_plain_strings(tmp_path: Path) -> None:
    tables = good_tables()
    tables["clients"] = pl.DataFrame({"client_id": [1.0, 2.0], "created_at": [date(2024, 1, 1)] * 2})
    tables = {
        "clients": tables["clients"],
        "events": pl.DataFrame(
            {"client_id": ["1", "2"], "ts": [datetime(2024, 2, 1)] * 2, "event": ["login"] * 2}
        ),
    }
    ds = read_dataset(write(tmp_path / "d", tables, fmt="parquet"), CFG)
    assert ds.get(Table.CLIENTS).get_column("client_id").to_list() == ["1", "2"]


def test_validate_cli_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    good = write(tmp_path / "good", good_tables())
    ok = runner.invoke(app, ["validate", "--data", str(good), "--set", "data.as_of=2024-12-31"])
    assert ok.exit_code == 0, ok.output
    assert "events" in ok.output and "subscriptions" in ok.output
    assert "note: events:" not in ok.output  # its events carry the names the features count
    # its usage and support logs start four months after its first term: said, with the start that fits
    # (communications and tickets a month later: each said with its own day)
    assert (
        "note: data: events start on 2024-05-01 (communications, tickets on 2024-06-01), 121 days after"
        in " ".join(ok.output.split())
    )
    # a product naming its events its own way: the note names the settings and the data's names
    renamed = good_tables()
    renamed["events"] = renamed["events"].with_columns(pl.lit("Sign In").alias("event"))
    own = runner.invoke(
        app, ["validate", "--data", str(write(tmp_path / "own", renamed)), "--set", "data.as_of=2024-12-31"]
    )
    text = " ".join(own.output.split())
    assert own.exit_code == 0 and "note: events: no event in the data has a name these features count" in text
    assert "logins (features.login_events: login)" in text and "'Sign In' (3)" in text

    bad = write(
        tmp_path / "bad", replaced("tickets", pl.DataFrame({"client_id": ["c1"], "opened_at": ["x"]}))
    )
    failed = runner.invoke(app, ["validate", "--data", str(bad), "--set", "data.as_of=2024-12-31"])
    assert failed.exit_code == 1
    assert "opened_at" in failed.output
    assert "Traceback" not in failed.output


def test_atomic_writes_get_the_usual_permissions_not_tempfile_private_ones(tmp_path: Path) -> None:
    import os

    from churnml.contract.io import write_parquet_atomic, write_text_atomic

    umask = os.umask(0o022)
    try:
        text = write_text_atomic("hello", tmp_path / "a" / "note.md")
        table = write_parquet_atomic(pl.DataFrame({"x": [1]}), tmp_path / "a" / "t.parquet")
    finally:
        os.umask(umask)
    assert text.read_text() == "hello"
    assert (text.stat().st_mode & 0o777, table.stat().st_mode & 0o777) == (0o644, 0o644)
    assert [p.name for p in (tmp_path / "a").iterdir() if p.name.endswith(".tmp")] == []


def test_repeated_strings_of_the_events_table_are_held_as_categoricals(tmp_path: Path) -> None:
    tables = good_tables()
    tables["events"] = tables["events"].with_columns(pl.Series("user_id", ["u1", None, "u2"]))
    ds = read_dataset(write(tmp_path / "d", tables, "parquet"), CFG)
    events = ds.get(Table.EVENTS)
    assert events.schema["event"] == pl.Categorical()
    assert events.schema["user_id"] == pl.Categorical()
    assert events.schema["client_id"] == pl.String  # the join key stays a plain string
    # The same values, nulls included, and string comparisons read them as before.
    assert events.get_column("event").cast(pl.String).to_list() == ["login", "report_view", "login"]
    assert events.get_column("user_id").cast(pl.String).to_list() == ["u1", None, "u2"]
    assert events.filter(pl.col("event").is_in(["login"])).height == 2
    assert events.filter(pl.col("event") == "report_view").get_column("client_id").to_list() == ["c1"]


def test_events_held_as_categories_validate_as_their_text() -> None:
    # the scoring job's spilled events hold event and user_id as categories: validation keeps the clean ones
    # so (no round trip through text) and gives the frame and repairs of the same rows as text
    from churnml.contract.io import validated_table

    text = pl.DataFrame(
        {
            "client_id": ["c1", "c1", "c2", "c2"],
            "ts": [datetime(2024, 1, 1), datetime(2024, 1, 2), datetime(2024, 1, 3), datetime(2024, 1, 4)],
            "event": ["login", "report_view", "login", "export"],
            "user_id": ["u1", None, "u2", "u2"],
        }
    )
    want, want_fixed = validated_table(text, Table.EVENTS, CFG)
    assert want.schema["event"] == pl.Categorical() and want_fixed == {}
    held = text.with_columns(pl.col("event", "user_id").cast(pl.Categorical))
    got, fixed = validated_table(held, Table.EVENTS, CFG)
    assert_frame_equal(got, want, check_exact=True)
    assert fixed == want_fixed
    # categories to repair (a blank user, spaces around a name) are read as the text they show: the same
    # repairs, counted the same
    messy = text.with_columns(pl.Series("event", [" login", "report_view", "login ", "export"]))
    messy = messy.with_columns(pl.Series("user_id", ["u1", "  ", "u2", "u2"]))
    want, want_fixed = validated_table(messy, Table.EVENTS, CFG)
    got, fixed = validated_table(
        messy.with_columns(pl.col("event", "user_id").cast(pl.Categorical)), Table.EVENTS, CFG
    )
    assert_frame_equal(got, want, check_exact=True)
    assert fixed == want_fixed and len(fixed) >= 2
    assert got.get_column("event").cast(pl.String).to_list() == ["login", "report_view", "login", "export"]
    # a client id held as categories stays the plain string join key
    got, _ = validated_table(text.with_columns(pl.col("client_id").cast(pl.Categorical)), Table.EVENTS, CFG)
    assert got.schema["client_id"] == pl.String


# -- clients.created_at after the client's first record (a CRM adopted or migrated late) -------------
def _migrated_tables() -> dict[Table, pl.DataFrame]:
    D = datetime
    clients = pl.DataFrame(
        {
            "client_id": ["a", "b", "c", "d", "e"],
            "created_at": [
                D(2024, 3, 1, 10),
                D(2024, 2, 1, 14, 5),
                D(2024, 1, 1),
                D(2024, 5, 1),
                D(2024, 4, 1),
            ],
        }
    )
    subscriptions = pl.DataFrame(
        {
            "client_id": ["a", "b", "c"],
            "start_date": [D(2024, 1, 5), D(2024, 2, 1), D(2024, 1, 10)],  # b: midnight of its creation day
        }
    )
    payments = pl.DataFrame(
        {
            "client_id": ["a", "d", "d"],
            "issued_at": [D(2024, 1, 20), D(1900, 1, 1), D(2024, 6, 1)],  # d: a placeholder, then later
            "paid_at": [D(2024, 1, 4, 9), None, D(2024, 6, 2)],  # a: paid before its first term started
        }
    )
    return {Table.CLIENTS: clients, Table.SUBSCRIPTIONS: subscriptions, Table.PAYMENTS: payments}


def test_created_at_moves_back_to_the_first_record_on_an_earlier_day() -> None:
    from churnml.contract.validation import CREATED_REPAIR, first_records, with_created_repaired

    tables = _migrated_tables()
    firsts = first_records(tables).sort("client_id")
    assert firsts.rows() == [
        ("a", datetime(2024, 1, 4, 9)),
        ("b", datetime(2024, 2, 1)),
        ("c", datetime(2024, 1, 10)),
        ("d", datetime(2024, 6, 1)),  # the 1900 placeholder is no record
    ]
    repaired, repairs = with_created_repaired(tables, {"events": {"trimmed ids": 2}})
    assert repaired[Table.CLIENTS].rows() == [
        ("a", datetime(2024, 1, 4, 9)),  # moved back to its first payment
        ("b", datetime(2024, 2, 1, 14, 5)),  # the same day: unchanged
        ("c", datetime(2024, 1, 1)),  # created before its records
        ("d", datetime(2024, 5, 1)),
        ("e", datetime(2024, 4, 1)),  # no record at all
    ]
    assert repairs == {"events": {"trimmed ids": 2}, "clients": {CREATED_REPAIR: 1}}
    assert tables[Table.CLIENTS].get_column("created_at")[0] == datetime(2024, 3, 1, 10)  # input untouched
    # a scoring run's first events (the marks of a file it only scans) count as records too
    events = pl.DataFrame({"client_id": ["e"], "_first_record": [datetime(2024, 2, 29, 23)]})
    _, repairs = with_created_repaired(tables, {}, events)
    assert repairs == {"clients": {CREATED_REPAIR: 2}}


def test_a_migrated_crm_trains_on_the_snapshots_before_the_migration(tmp_path) -> None:
    """Every client recorded as created on the day a CRM was adopted: the clients exist, and are
    labeled, from their first records on, as with their true creation dates."""
    from churnml.config import LabelConfig, SnapshotsConfig
    from churnml.contract.io import write_tables
    from churnml.contract.validation import CREATED_REPAIR
    from churnml.demo.synth import SynthParams, synthetic_chunk
    from churnml.labels import labeled_spine
    from churnml.pipeline import training_snapshots

    chunk = synthetic_chunk(SynthParams(clients=60, months=8, seed=4), 0)
    tables = {str(t): f for t, f in chunk.tables.items()}
    write_tables(tables, tmp_path / "true")
    adopted = tables["clients"].with_columns(pl.lit(datetime(2024, 7, 1)).alias("created_at"))
    write_tables({**tables, "clients": adopted}, tmp_path / "migrated")
    spines = {}
    for name in ("true", "migrated"):
        dataset = read_dataset(tmp_path / name, DataConfig())
        snaps = training_snapshots(dataset, SnapshotsConfig())
        spines[name] = labeled_spine(dataset, snaps, LabelConfig(source="subscriptions"))
    moved = read_dataset(tmp_path / "migrated", DataConfig()).repairs.counts["clients"][CREATED_REPAIR]
    created_before = chunk.tables[Table.CLIENTS].filter(pl.col("created_at") < datetime(2024, 7, 1)).height
    assert moved == created_before > 30
    before = pl.col("snapshot") < date(2024, 7, 1)
    assert spines["migrated"].filter(before).height == spines["true"].filter(before).height > 100
    assert spines["migrated"].equals(spines["true"])


D = datetime


@pytest.mark.parametrize(
    ("share", "expected_starts", "moved"),
    [
        (
            0.25,
            [
                D(2024, 1, 1),
                D(2024, 1, 31),
                D(2024, 3, 2),  # a: two renewals 3 days early, each moved
                D(2024, 1, 1),
                D(2024, 3, 1),  # b: overlaps 4 of its 9 months: an upgrade, not moved
                D(2024, 1, 1),
                D(2024, 2, 1),  # c: ends inside the running term: not moved
                D(2024, 1, 1),
                D(2024, 1, 20),  # d: another product (an add-on): not moved
                D(2024, 1, 1),
                D(2024, 1, 31),  # e: no product: one product, moved
            ],
            3,
        ),
        (0.0, None, 0),
    ],
)
def test_renewals_booked_early_start_when_the_term_they_renew_ends(share, expected_starts, moved) -> None:
    from churnml.contract.validation import early_renewals_repaired

    rows = [
        ("a", "base", D(2024, 1, 1), D(2024, 1, 31)),
        ("a", "base", D(2024, 1, 28), D(2024, 3, 2)),
        ("a", "base", D(2024, 2, 28), D(2024, 4, 1)),
        ("b", "base", D(2024, 1, 1), D(2024, 7, 1)),
        ("b", "base", D(2024, 3, 1), D(2024, 12, 1)),
        ("c", "base", D(2024, 1, 1), D(2024, 12, 31)),
        ("c", "base", D(2024, 2, 1), D(2024, 3, 1)),
        ("d", "base", D(2024, 1, 1), D(2024, 1, 31)),
        ("d", "addon", D(2024, 1, 20), D(2024, 2, 20)),
        ("e", None, D(2024, 1, 1), D(2024, 1, 31)),
        ("e", None, D(2024, 1, 29), D(2024, 3, 1)),
    ]
    terms = pl.DataFrame(
        rows,
        schema={
            "client_id": pl.String,
            "product": pl.String,
            "start_date": pl.Datetime("us"),
            "end_date": pl.Datetime("us"),
        },
        orient="row",
    ).with_columns(pl.lit(10.0).alias("mrr"))
    repaired, n = early_renewals_repaired(terms, share)
    assert n == moved
    want = expected_starts or terms.get_column("start_date").to_list()
    assert repaired.get_column("start_date").to_list() == want
    assert repaired.drop("start_date").equals(terms.drop("start_date"))  # nothing else moves
    assert terms.get_column("start_date")[1] == D(2024, 1, 28)  # the input untouched


@pytest.mark.parametrize(
    ("maxima", "last"),
    [
        # a term starting after every other record is scheduled: the events say where the data ends
        ({"events.ts": D(2024, 6, 1), "subscriptions.start_date": D(2024, 6, 3)}, D(2024, 6, 1)),
        ({"events.ts": D(2024, 6, 1), "subscriptions.start_date": D(2024, 5, 3)}, D(2024, 6, 1)),
        # subscriptions the only activity table: their starts are the data
        ({"clients.created_at": D(2024, 1, 1), "subscriptions.start_date": D(2024, 6, 3)}, D(2024, 6, 3)),
        ({"clients.created_at": D(2024, 7, 1), "payments.paid_at": D(2024, 6, 1)}, D(2024, 7, 1)),
        ({"payments.paid_at": None, "subscriptions.start_date": D(2024, 6, 3)}, D(2024, 6, 3)),
    ],
)
def test_the_data_ends_at_its_last_record_not_at_a_scheduled_term(maxima, last) -> None:
    from churnml.contract.validation import data_last

    assert data_last(maxima) == last


@pytest.mark.parametrize(
    ("kind", "values", "words"),
    [
        ("datetime", ["03/15/2024", "15.03.2024 10:00"], "day or month first"),
        ("datetime", ["2024-03-15", "03/15/2024"], ""),  # not all of that form: no guess
        ("datetime", ["soon"], ""),
        ("float", ["€12", "8"], "a currency sign"),
        ("float", ["1,234"], "thousands separators"),
        ("float", ["12,50", "-3,1"], "decimal commas"),
        ("float", ["83,18", "1.546,81"], "such as 1546.81 for 1.546,81"),  # German thousands dots
        ("float", ["12,50", "-3,1"], "decimal commas: write a decimal point, such as 12.50 for 12,50"),
        ("float", ["1.546,81"], "decimal commas, with dots grouping thousands"),
        ("float", ["1.546,81"], "for 1.546,81; a CSV file reads so with data.csv.decimal_comma: true)"),
        (
            "datetime",
            ["24/07/2024"],
            "or name a CSV file's formats in data.csv.date_formats, such as %d/%m/%Y",
        ),
        # French exports group thousands with spaces: a plain one, a no-break one (U+00A0), a narrow one (U+202F)
        ("float", ["789,36", "5 425,06"], "with spaces grouping thousands: write a decimal point and no"),
        ("float", ["789,36", "5 425,06"], "such as 5425.06 for 5 425,06"),
        ("float", ["5\u00a0425,06", "12\u00a0000,5"], "with no-break spaces (U+00A0) grouping thousands"),
        ("float", ["-1\u202f234\u202f567,8"], "with narrow no-break spaces (U+202F) grouping thousands"),
        ("float", ["1 234.567,8"], ""),  # two separators in one number: no guess
        ("float", ["12 34,5"], ""),  # not groups of three: no guess
        ("float", ["n/a"], ""),
        ("float", [None, " "], ""),
        ("float", ["15%", "7.5 %"], "percentages: write a fraction, such as 0.15 for 15%"),
        ("int", ["TRUE", "no"], "yes/no words: this column takes whole numbers, such as 1 for yes"),
        # a French export's is_addon: the words churnml reads are listed
        (
            "bool",
            ["non", "oui"],
            "reads true, t, yes, y, 1, 1.0 as true and false, f, no, n, 0, 0.0 as false",
        ),
        ("bool", ["2"], "in any letter case"),
    ],
)
def test_unreadable_values_say_what_they_usually_are(kind, values, words):
    from churnml.contract.schemas import Kind
    from churnml.contract.validation import unreadable_hint

    got = unreadable_hint(Kind(kind), values)
    assert (words in got and got != "") if words else got == ""


@pytest.mark.parametrize(
    ("unknown", "hint"),
    [
        (["1001.0", "1002.0"], "they are the clients' ids followed by '.0', e.g. '1001.0'"),
        (["42", "7"], "they are the clients' ids without their leading zeros, e.g. '42' for '00042'"),
        (
            ["004706", "01001", "5"],
            "they are the clients' ids with leading zeros added, e.g. '004706' for '4706'",
        ),
        (["0", "00"], ""),  # zeros alone are no client's id padded
        (["x9"], ""),  # nothing like the clients' ids: no guess
        # a zero-width space pasted into the events' ids
        (["C7\u200b"], "these ids hold invisible characters (a zero-width or non-breaking space, a BOM)"),
    ],
)
def test_unknown_ids_that_are_known_ids_written_otherwise_are_named(unknown: list[str], hint: str) -> None:
    from churnml.contract.validation import _unknown_ids_hint

    known = pl.DataFrame({"client_id": ["1001", "1002", "00042", "00007", "C7", "4706"]})
    got = _unknown_ids_hint(pl.DataFrame({"client_id": unknown}), known)
    assert (hint in got) if hint else got == ""


def test_invisible_characters_in_the_clients_ids_are_named() -> None:
    from churnml.contract.validation import _unknown_ids_hint

    known = pl.DataFrame({"client_id": ["\ufeffC1", "C2"]})  # a BOM glued to the first id
    got = _unknown_ids_hint(pl.DataFrame({"client_id": ["C1"]}), known)
    assert (
        "the clients table's ids hold invisible characters" in got and r"e.g. '\ufeffC1'" in got
    )  # repr: the character shown


def test_a_renewal_booked_to_start_after_the_as_of_date_is_read_not_refused(tmp_path) -> None:
    """A renewal signed ahead is a term whose start is still to come, like any term's end: the same files
    must not pass or fail with the day they are read on."""
    from churnml.config import DataConfig

    tables = good_tables()
    tables["subscriptions"] = pl.DataFrame(
        {
            "client_id": ["c1", "c1", "c2"],
            "start_date": ["2024-01-01", "2025-01-01", "2024-02-01"],  # c1's renewal starts in 2025
            "end_date": ["2025-01-01", "2027-01-01", "2025-02-01"],
            "mrr": ["100", "110", "250.5"],
        }
    )
    ds = read_dataset(write(tmp_path / "d", tables), DataConfig(as_of=date(2024, 6, 30)))
    assert ds.tables[Table.SUBSCRIPTIONS].height == 3
    assert ds.as_of == datetime(2024, 7, 1)  # the booked start does not move the data's end
    # a recorded fact dated after the as-of date still is an error
    tables["events"] = pl.DataFrame({"client_id": ["c1"], "ts": ["2024-08-01"], "event": ["login"]})
    with pytest.raises(ContractError, match="'events', column 'ts': timestamp after the as-of date"):
        read_dataset(write(tmp_path / "e", tables), DataConfig(as_of=date(2024, 6, 30)))


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [("a", "login"), ("a", "login"), ("b", "login")],
            "events: 1 row (33.3%) repeats another row in every column; it is kept",
        ),
        (
            [("a", "login")] * 3 + [("b", "x")],
            "events: 2 rows (50.0%) repeat another row in every column; they are kept",
        ),
        ([("a", "login"), ("b", "login")], None),
    ],
)
def test_rows_repeated_in_every_column_are_counted(rows, expected) -> None:
    from churnml.jobs.inputs import repeated_rows_note

    frame = pl.DataFrame(rows, schema=["client_id", "event"], orient="row")
    got = repeated_rows_note(frame, "events")
    assert (got is None) if expected is None else got.startswith(expected)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2024, 5, 29), "'2024-05-29'"),
        (datetime(2024, 5, 29, 13, 5, 7), "'2024-05-29 13:05:07'"),
        (date(2024, 5, 29), "'2024-05-29'"),
        ("ACC-1", "'ACC-1'"),
        (12.5, "12.5"),
        (None, "None"),
    ],
)
def test_error_examples_show_dates_in_iso_form(value, text) -> None:
    assert shown_value(value) == text


def test_a_contract_error_lists_its_rows_with_iso_dates() -> None:
    rows = pl.DataFrame({"client_id": ["a"], "start_date": [datetime(2024, 5, 29)]})
    error = ContractError("subscriptions", "ends before it starts", "end_date", rows, count=1)
    assert str(error).endswith("e.g. client_id='a', start_date='2024-05-29'")


@pytest.mark.parametrize("folder_name", ["clients.parquet", "clients"])
def test_a_folder_of_parquet_part_files_says_how_to_make_one_file(tmp_path: Path, folder_name: str) -> None:
    # what spark.write.parquet leaves: a folder of part files (here one level of partitions down)
    parts = tmp_path / folder_name / "region=north"
    parts.mkdir(parents=True)
    pl.DataFrame({"client_id": ["a"], "created_at": [datetime(2024, 1, 1)]}).write_parquet(
        parts / "part-00000.parquet"
    )
    with pytest.raises(ContractError) as err:
        read_dataset(tmp_path, DataConfig())
    assert str(err.value).startswith(
        f"table 'clients': {folder_name}/ is a folder of Parquet part files (as Spark or a partitioned write "
        "leaves them); churnml reads one file per table: write clients.parquet as one file"
    )


@pytest.mark.parametrize(
    ("limit", "said"),
    [
        (
            datetime(2026, 12, 5, 0, 0),
            "timestamp after the as-of date (on or after 2026-12-05 00:00, the midnight after it)",
        ),
        (
            datetime(2026, 12, 5, 5, 33, 12),
            "timestamp after 2026-12-05 05:33 UTC, this machine's clock plus data.future_tolerance_days (no as-of "
            "date given: set data.as_of, or --as-of when scoring, for another day)",
        ),
    ],
)
def test_a_future_timestamp_says_whether_the_limit_is_an_as_of_date_or_the_clock(limit, said) -> None:
    from churnml.contract.validation import future_timestamp_problem

    assert future_timestamp_problem("events", "ts", limit) == said


def test_the_clock_limit_is_said_in_the_data_timezone(tmp_path: Path) -> None:
    # before: the limit, now as Los Angeles' wall-clock time (data.timezone), was said to be UTC: 8 hours off
    from zoneinfo import ZoneInfo

    tables = {
        "clients": pl.DataFrame({"client_id": ["c1"], "created_at": ["2024-01-02"]}),
        "events": pl.DataFrame({"client_id": ["c1"], "ts": ["2099-01-01"], "event": ["login"]}),
    }
    folder = write(tmp_path / "d", tables)
    before = datetime.now(ZoneInfo("America/Los_Angeles")).replace(tzinfo=None)
    with pytest.raises(ContractError) as info:
        read_dataset(folder, DataConfig(timezone="America/Los_Angeles"))
    after = datetime.now(ZoneInfo("America/Los_Angeles")).replace(tzinfo=None)
    said = {
        f"timestamp after {t:%Y-%m-%d %H:%M} America/Los_Angeles, this machine's clock"
        for t in (before, after)
    }
    assert any(s in str(info.value) for s in said), str(info.value)


# data.timezone: times written with an offset (or stored zoned) become the zone's wall-clock time
@pytest.mark.parametrize(
    ("zone", "written", "expected"),
    [
        ("UTC", "2025-03-30T01:30:00+01:00", datetime(2025, 3, 30, 0, 30)),
        ("Europe/Paris", "2025-03-30T01:30:00+01:00", datetime(2025, 3, 30, 1, 30)),  # before the DST change
        ("Europe/Paris", "2025-03-30T03:30:00+02:00", datetime(2025, 3, 30, 3, 30)),  # after it
        ("Europe/Paris", "2026-02-12T00:00:00+01:00", datetime(2026, 2, 12)),  # a local midnight stays one
        ("UTC", "2026-02-12T00:00:00+01:00", datetime(2026, 2, 11, 23)),  # in UTC: 23:00 the day before
        ("Europe/Paris", "2025-06-01T10:00:00Z", datetime(2025, 6, 1, 12)),
        ("Europe/Paris", "2025-06-01 10:00:00", datetime(2025, 6, 1, 10)),  # no offset: already local
        ("America/New_York", "2025-06-01T10:00:00+00:00", datetime(2025, 6, 1, 6)),
        ("Europe/Paris", "2025-01-10 10:00:00+01", datetime(2025, 1, 10, 10)),  # a two-digit offset
        ("Europe/Paris", "2025-01-10 10:00:00+00", datetime(2025, 1, 10, 11)),
    ],
)
def test_times_with_an_offset_are_read_in_the_data_timezone(zone, written, expected):
    from churnml.contract.schemas import CONTRACT
    from churnml.contract.validation import coerced_table

    raw = pl.DataFrame({"client_id": ["c1"], "ts": [written], "event": ["login"]})
    coerced, _ = coerced_table(raw, CONTRACT[Table.EVENTS], timezone=zone)
    assert coerced.get_column("ts").to_list() == [expected]


def test_a_zoned_parquet_column_is_read_as_the_data_timezone():
    from churnml.contract.schemas import CONTRACT
    from churnml.contract.validation import coerced_table

    zoned = pl.Series("ts", [datetime(2026, 2, 11, 23)]).dt.replace_time_zone("UTC")
    zoned = zoned.dt.convert_time_zone("Europe/Paris")
    raw = pl.DataFrame({"client_id": ["c1"], "event": ["login"]}).with_columns(zoned)
    paris, fixed = coerced_table(raw, CONTRACT[Table.EVENTS], timezone="Europe/Paris")
    utc, moved = coerced_table(raw, CONTRACT[Table.EVENTS])
    assert paris.get_column("ts").to_list() == [datetime(2026, 2, 12)]
    assert fixed.counts == {}  # stored in the zone asked: nothing moved
    assert utc.get_column("ts").to_list() == [datetime(2026, 2, 11, 23)]
    assert moved.counts == {UTC_MOVED: 1, OTHER_DAY: 1}  # 00:00 in Paris is 23:00 the day before


UTC_MOVED = (
    "ts: times written with an offset other than UTC's, read in UTC: their clock time changed "
    "(data.timezone: your zone, e.g. Europe/Paris, keeps local times and days)"
)
SEVERAL = (
    "(offsets more than an hour apart: several zones in one column; data.timezone keeps one zone's local days: "
    "to keep each client's, export local times without an offset)"
)
UTC_MOVED_SEVERAL = (
    "ts: times written with an offset other than UTC's, read in UTC: their clock time changed " + SEVERAL
)
PARIS_MOVED_SEVERAL = (
    "ts: times written with an offset other than Europe/Paris's, read as Europe/Paris time: their clock time "
    "changed " + SEVERAL
)
OTHER_DAY = (
    "ts: of those, times on another calendar day than the one written (an evening or a night moved across "
    "midnight: daily and weekly features count them on that day)"
)
PARIS = ["2025-01-05T00:30:00+01:00", "2025-07-05T00:30:00+02:00", "2025-01-06 10:00:00+01", "2025-07-06"]
# a Berlin and a New York office, 06:00-22:00 local: only 20:00 in New York falls on another day in UTC
BERLIN_NEW_YORK = [
    "2025-01-10T09:00:00+01:00",
    "2025-07-10T21:30:00+02:00",
    "2025-01-10T20:00:00-05:00",
    "2025-07-10T06:00:00-04:00",
]
AT = "ts: times written at UTC offset "


@pytest.mark.parametrize(
    ("written", "zone", "expected"),
    [
        # +01:00, +02:00 and +01 moved, the two past-midnight ones to the day before; a date alone is not moved
        (PARIS, "UTC", {UTC_MOVED: 3, OTHER_DAY: 2}),
        (PARIS, "Europe/Paris", {}),  # Paris times read in Paris are where they were
        # and a time in Z: offsets two hours apart are two zones, counted per offset
        (
            [*PARIS, "2025-07-05T08:00:00Z"],
            "UTC",
            {UTC_MOVED_SEVERAL: 3, OTHER_DAY: 2, AT + "+00:00": 1, AT + "+01:00": 2, AT + "+02:00": 1},
        ),
        (
            [*PARIS, "2025-07-05T08:00:00Z"],
            "Europe/Paris",  # only Z moved, within its day
            {PARIS_MOVED_SEVERAL: 1, AT + "+00:00": 1, AT + "+01:00": 2, AT + "+02:00": 1},
        ),
        (
            BERLIN_NEW_YORK,
            "UTC",
            {
                UTC_MOVED_SEVERAL: 4,
                OTHER_DAY: 1,
                AT + "-05:00": 1,
                AT + "-04:00": 1,
                AT + "+01:00": 1,
                AT + "+02:00": 1,
            },
        ),
    ],
)
def test_times_moved_are_counted_apart_from_those_moved_to_another_day(written, zone, expected):
    from churnml.contract.schemas import CONTRACT
    from churnml.contract.validation import coerced_table

    raw = pl.DataFrame({"client_id": ["c1"] * len(written), "ts": written, "event": ["login"] * len(written)})
    _, fixed = coerced_table(raw, CONTRACT[Table.EVENTS], timezone=zone)
    assert fixed.counts == expected


@pytest.mark.parametrize(
    ("offsets", "several"),
    [([], False), ([60, 120], False), ([0, 60], False), ([0, 120], True), ([60, 120, -300, -240], True)],
)
def test_offsets_more_than_an_hour_apart_are_several_zones(offsets, several):
    from churnml.contract.validation import several_zones

    assert several_zones(offsets) is several


@pytest.mark.parametrize(
    ("written", "minutes", "text"),
    [("Z", 0, "+00:00"), ("+01", 60, "+01:00"), ("+0530", 330, "+05:30"), ("-04:00", -240, "-04:00")],
)
def test_a_written_offset_is_read_as_minutes_and_said_in_iso_form(written, minutes, text):
    from churnml.contract.validation import offset_minutes, offset_text

    assert pl.select(offset_minutes(pl.lit(written))).item() == minutes
    assert offset_text(minutes) == text


def test_an_unknown_time_zone_is_refused_naming_the_form():
    from churnml.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=r"'Paris' is not a time zone name: write an IANA name such as UTC"):
        load_config(overrides=["data.timezone=Paris"])


RATES = {"EUR": 1.0, "USD": 0.9, "JPY": 0.006}


@pytest.mark.parametrize(
    ("columns", "table", "found"),
    [
        (["client_id", "amount", "currency"], Table.PAYMENTS, "currency"),
        (["client_id", "amount", " CCY "], Table.PAYMENTS, " CCY "),
        (
            ["client_id", "mrr", "Currency Code"],
            Table.SUBSCRIPTIONS,
            "Currency Code",
        ),  # was an ignored column
        (["client_id", "mrr", "currency-code"], Table.SUBSCRIPTIONS, "currency-code"),
        (["client_id", "amount", "currency_rate"], Table.PAYMENTS, None),
        (["client_id", "ts", "currency"], Table.EVENTS, None),  # no money table
    ],
)
def test_a_currency_column_is_found_by_its_name_in_any_case_spaces_or_hyphens(columns, table, found):
    from churnml.contract.validation import currency_column

    assert currency_column(columns, table) == found


@pytest.mark.parametrize(
    ("codes", "rates", "amounts", "repairs"),
    [
        # several currencies with a rate for each: converted, counted per currency (EUR at 1: not counted)
        (
            ["EUR", "usd ", "JPY", "EUR"],
            RATES,
            [10.0, 9.0, 6.0, 20.0],
            {
                "amount: amounts in USD converted into score.currency at 0.9 (data.currency_rates)": 1,
                "amount: amounts in JPY converted into score.currency at 0.006 (data.currency_rates)": 1,
            },
        ),
        # one currency, no rates: as they are, said
        (
            ["JPY", "JPY", "JPY", None],
            {},
            [10.0, 10.0, 1000.0, 20.0],
            {
                "amount: every amount is in JPY, read as it is: the outputs name score.currency, so set "
                "score.currency: JPY if it is another (or give data.currency_rates to convert)": 4
            },
        ),
        # one currency with rates: converted like several
        (
            ["JPY", "JPY", "JPY", "JPY"],
            RATES,
            [0.06, 0.06, 6.0, 0.12],
            {"amount: amounts in JPY converted into score.currency at 0.006 (data.currency_rates)": 4},
        ),
        # the reporting currency and rows without one: nothing to convert
        (["EUR", "EUR", None, "EUR"], RATES, [10.0, 10.0, 1000.0, 20.0], {}),
    ],
)
def test_amounts_in_several_currencies_are_converted_at_the_rates(codes, rates, amounts, repairs):
    from churnml.contract.validation import CURRENCY, amounts_in_one_currency

    frame = pl.DataFrame(
        {"client_id": ["c1", "c2", "c3", "c4"], "amount": [10.0, 10.0, 1000.0, 20.0], CURRENCY: codes}
    )
    frame = frame.with_columns(pl.col(CURRENCY).str.strip_chars().str.to_uppercase())
    converted, found = amounts_in_one_currency(frame, Table.PAYMENTS, rates)
    assert converted.columns == ["client_id", "amount"]
    assert converted.get_column("amount").to_list() == pytest.approx(amounts)
    assert found == repairs


@pytest.mark.parametrize(
    ("codes", "rates", "message"),
    [
        (
            ["EUR", "USD", "JPY", "USD"],
            {},
            "table 'payments', column 'amount': amounts in several currencies (its currency column): USD (2 rows), "
            "EUR (1 row), JPY (1 row); churnml would sum them as one amount in score.currency (ARR, revenue at risk, "
            "value tiers, priorities, the payment features and the reasons' amounts). Give each currency's rate into "
            "score.currency with data.currency_rates, in a config file (--config) 'data: {currency_rates: {USD: RATE, "
            'EUR: RATE, JPY: RATE}}\', or --set "data.currency_rates={USD: RATE, EUR: RATE, JPY: RATE}" (RATE: what one unit of '
            "that currency is worth in score.currency, which is there at 1) (4 rows). e.g. row=1, client_id='c1', "
            "amount=10.0, currency='EUR'; row=2, client_id='c2', amount=10.0, currency='USD'; row=3, "
            "client_id='c3', amount=1000.0, currency='JPY'",
        ),
        (
            ["EUR", "USD", "BRL", "BRL"],
            {"EUR": 1.0, "USD": 0.9},
            "table 'payments', column 'amount': amounts in a currency without a rate in data.currency_rates: BRL "
            "(2 rows) (the table holds BRL (2 rows), EUR (1 row), USD (1 row)); add the rate of each into "
            "score.currency, in a config file (--config) 'data: {currency_rates: {BRL: RATE, EUR: 1, USD: 0.9}}', or --set "
            '"data.currency_rates={BRL: RATE, EUR: 1, USD: 0.9}" (RATE: what one unit of that currency is worth in '
            "score.currency, which is there at 1) (2 rows). e.g. row=3, client_id='c3', amount=1000.0, "
            "currency='BRL'",
        ),
        (
            ["EUR", None, "JPY", "EUR"],
            RATES,
            "table 'payments', column 'amount': rows without a currency (its currency column empty) among amounts "
            "to convert into score.currency (EUR (2 rows), JPY (1 row), no currency (1 row)): write each row's "
            "currency (1 row). e.g. row=2, client_id='c2', amount=10.0, currency=None",
        ),
    ],
)
def test_amounts_in_currencies_without_a_rate_are_refused(codes, rates, message):
    from churnml.contract.validation import CURRENCY, amounts_in_one_currency

    frame = pl.DataFrame(
        {"client_id": ["c1", "c2", "c3", "c4"], "amount": [10.0, 10.0, 1000.0, 20.0], CURRENCY: codes}
    )
    with pytest.raises(ContractError) as err:
        amounts_in_one_currency(frame, Table.PAYMENTS, rates)
    assert str(err.value) == message


def test_a_folder_in_several_currencies_is_read_in_score_currency(tmp_path: Path):
    from churnml.config import load_config

    tables = good_tables()
    tables["subscriptions"] = tables["subscriptions"].with_columns(pl.Series("Currency", ["eur", "JPY"]))
    tables["payments"] = pl.DataFrame(
        {
            "client_id": ["c1", "c2", "c2"],
            "amount": ["100", "1000", "2000"],
            "paid_at": ["2024-02-01", "2024-03-01", "2024-04-01"],
            "ccy": ["EUR", "JPY", "JPY"],
        }
    )
    folder = write(tmp_path / "raw", tables)
    with pytest.raises(ContractError, match=r"EUR \(1 row\), JPY \(1 row\)"):  # subscriptions first
        read_dataset(folder, CFG)
    cfg = load_config(overrides=["data.as_of=2024-12-31", "data.currency_rates={EUR: 1, JPY: 0.006}"]).data
    dataset = read_dataset(folder, cfg)
    assert dataset.tables[Table.SUBSCRIPTIONS].get_column("mrr").to_list() == pytest.approx([100.0, 1.503])
    assert dataset.tables[Table.PAYMENTS].get_column("amount").to_list() == pytest.approx([100.0, 6.0, 12.0])
    assert dataset.repairs.counts["payments"] == {
        "amount: amounts in JPY converted into score.currency at 0.006 (data.currency_rates)": 2
    }
    assert dataset.repairs.counts["subscriptions"] == {
        "mrr: amounts in JPY converted into score.currency at 0.006 (data.currency_rates)": 1
    }


def test_train_and_score_say_which_currencies_were_converted():
    from churnml.contract.validation import converted_note, currency_notes, one_currency_note

    repairs = {
        "payments": {
            converted_note("amount", "JPY", 0.006): 2525,
            converted_note("amount", "BRL", 0.18): 1200,
        },
        "subscriptions": {one_currency_note("mrr", "GBP"): 40, "mrr: whitespace trimmed": 3},
        "events": {"ignored columns ['x']": 9},
    }
    assert currency_notes(repairs) == [
        "payments.amount converted into score.currency (data.currency_rates): 2,525 rows in JPY at 0.006, "
        "1,200 rows in BRL at 0.18",
        "subscriptions.mrr: every amount is in GBP, read as it is: the outputs name score.currency, so set "
        "score.currency: GBP if it is another (or give data.currency_rates to convert)",
    ]
    assert currency_notes({"events": {"ignored columns ['x']": 9}}) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["data.currency_rates={USD: 1, JPY: 0.0066}"],  # score.currency EUR
            "bad config: data.currency_rates convert amounts into score.currency (EUR), so they give EUR: 1 (it has "
            "no EUR); set score.currency to the currency the rates are into, or give each rate into EUR",
        ),
        (
            ["data.currency_rates={EUR: 1.1, USD: 1}", "score.currency=usd"],
            None,
        ),
        (
            ["data.currency_rates={EUR: 1, JPY: 0}"],
            "bad config: 'data.currency_rates': Value error, each rate is what one unit of the currency is worth in "
            "score.currency, a number above 0: {'JPY': 0.0} (got {'EUR': 1, 'JPY': 0})",
        ),
    ],
)
def test_currency_rates_convert_into_score_currency(overrides, message):
    from churnml.config import ConfigError, load_config

    if message is None:
        assert load_config(overrides=overrides).data.currency_rates == {"EUR": 1.1, "USD": 1.0}
        return
    with pytest.raises(ConfigError) as err:
        load_config(overrides=overrides)
    assert str(err.value) == message


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_null_markers_are_read_as_empty_in_every_column_and_counted(tmp_path: Path, fmt: str) -> None:
    tables = good_tables()
    tables["clients"] = tables["clients"].with_columns(
        pl.Series("segment", ["NULL", "smb", " n/a "]), pl.Series("region", ["NA", "None", "#N/A"])
    )
    tables["events"] = tables["events"].with_columns(pl.Series("user_id", ["NULL", "(null)", "u1"]))
    tables["subscriptions"] = tables["subscriptions"].with_columns(
        pl.Series("discount", ["NULL", "0.1"]), pl.Series("quantity", ["nan", "2"])
    )
    tables["tickets"] = tables["tickets"].with_columns(pl.lit("N/A").alias("closed_at"))
    ds = read_dataset(write(tmp_path / "d", tables, fmt), CFG)
    assert ds.get(Table.CLIENTS).get_column("segment").to_list() == [None, "smb", None]
    assert ds.get(Table.CLIENTS).get_column("region").to_list() == ["NA", None, None]  # NA: Namibia
    assert ds.get(Table.EVENTS).get_column("user_id").cast(pl.String).to_list() == [None, None, "u1"]
    assert ds.get(Table.SUBSCRIPTIONS).get_column("discount").to_list() == [None, 0.1]
    counts = ds.repairs.counts
    assert counts["clients"]["segment: 'NULL' read as empty"] == 1
    assert counts["clients"]["segment: 'n/a' read as empty"] == 1
    assert counts["clients"]["region: 'None' read as empty"] == 1
    assert counts["clients"]["region: '#N/A' read as empty"] == 1
    assert counts["events"]["user_id: 'NULL' read as empty"] == 1
    assert counts["events"]["user_id: '(null)' read as empty"] == 1
    assert counts["subscriptions"]["discount: 'NULL' read as empty"] == 1
    assert counts["subscriptions"]["quantity: 'nan' read as empty"] == 1  # not a float NaN
    assert ds.get(Table.SUBSCRIPTIONS).get_column("quantity").to_list() == [None, 2.0]
    assert counts["tickets"]["closed_at: 'N/A' read as empty"] == 1


@pytest.mark.parametrize(
    ("table", "column", "marker"),
    [("events", "client_id", "NULL"), ("subscriptions", "mrr", "null"), ("events", "ts", "N/A")],
)
def test_a_required_column_of_null_markers_is_an_empty_value_error(
    tmp_path: Path, table: str, column: str, marker: str
) -> None:
    tables = good_tables()
    tables[table] = tables[table].with_columns(pl.lit(marker).alias(column))
    with pytest.raises(ContractError) as err:
        read_dataset(write(tmp_path / "d", tables), CFG)
    assert err.value.table == table and err.value.column == column
    assert "empty value in a required column" in str(err.value)


def test_null_markers_of_a_transaction_log_are_emptied_and_counted() -> None:
    from churnml.contract.validation import with_null_markers_empty

    frame = pl.DataFrame(
        {"customer": ["c1", "NULL", " None "], "amount": [1.0, 2.0, 3.0], "note": ["NA", "x", None]}
    )
    got, counts = with_null_markers_empty(frame)
    assert got.get_column("customer").to_list() == ["c1", None, None]
    assert got.get_column("note").to_list() == ["NA", "x", None]
    assert counts == {"customer: 'NULL' read as empty": 1, "customer: 'None' read as empty": 1}


@pytest.mark.parametrize(
    ("columns", "note"),
    [
        (
            ["client_id", "created_at", "Segment", "Region", "Channel"],
            "ignored columns ['Segment', 'Region', 'Channel'] "
            "('Segment' is the optional column 'segment' written otherwise: rename it; "
            "'Region' is the optional column 'region' written otherwise: rename it)",
        ),
        (
            ["client_id", "created_at", "Channel"],
            "ignored columns ['Channel']",
        ),  # no contract column: no hint
        (
            ["client_id", "created_at", "segment", "Segment"],
            "ignored columns ['Segment']",
        ),  # segment is there
        (["client_id", "created_at", "Client ID"], "ignored columns ['Client ID']"),  # required, and present
    ],
)
def test_ignored_columns_that_are_optional_ones_written_otherwise_are_named(
    columns: list[str], note: str
) -> None:
    from churnml.contract.schemas import CONTRACT
    from churnml.contract.validation import coerced_table

    frame = pl.DataFrame(
        {c: ["c1" if c == "client_id" else "2024-01-01" if c == "created_at" else "x"] for c in columns}
    )
    _, repairs = coerced_table(frame, CONTRACT[Table.CLIENTS])
    assert [k for k in repairs.counts if k.startswith("ignored")] == [note]


@pytest.mark.parametrize(
    ("invoices", "paid_at", "status", "said"),
    [
        # the same invoice paid twice: a true double count
        (
            ["I1", "I1", "I2"],
            ["2024-02-01", "2024-02-01", "2024-03-01"],
            ["paid"] * 3,
            "(its amount would count twice)",
        ),
        # a retry log: two failed attempts at I1, then the paid one
        (
            ["I1", "I1", "I1"],
            ["", "", "2024-02-03"],
            ["failed", "failed", "paid"],
            "2 of these 3 rows are failed",
        ),
        (
            ["I1", "I1", "I2"],
            ["", "2024-02-03", "2024-03-01"],
            ["", "", ""],
            "1 of these 2 rows are failed",
        ),  # no status
        # a refund under the id of the payment it refunds: no amount counting twice (it said so)
        (
            ["I1", "I1", "I2"],
            ["2024-02-01", "2024-02-10", "2024-03-01"],
            ["paid", "refunded", "paid"],
            "1 of these 2 rows are refunds (status 'refunded' or a negative amount) under the invoice_id of the payment "
            "they refund",
        ),
    ],
)
def test_a_repeated_invoice_says_whether_its_rows_are_failed_attempts(
    tmp_path: Path, invoices: list[str], paid_at: list[str], status: list[str], said: str
) -> None:
    tables = good_tables()
    tables["payments"] = pl.DataFrame(
        {
            "client_id": ["c1"] * 3,
            "amount": ["50"] * 3,
            "paid_at": paid_at,
            "invoice_id": invoices,
            "status": status,
        }
    )
    with pytest.raises(ContractError) as err:
        read_dataset(write(tmp_path / "d", tables), CFG)
    text = str(err.value)
    assert "column 'invoice_id': the same invoice_id twice for one client" in text and said in text
    retries = "failed" in said
    assert ("failed attempts" in text) == retries and (
        "as invoice_id" in text
    ) == retries  # how to write them


@pytest.mark.parametrize(
    ("table", "row"),
    [
        (None, None),
        # a placeholder for "unknown" in any table dates no first record: the plausible ones do
        ("payments", {"client_id": "c1", "amount": "5", "paid_at": "1900-01-01"}),
        ("events", {"client_id": "c2", "ts": "1753-01-01", "event": "login"}),
        ("tickets", {"client_id": "c1", "opened_at": "1970-01-01", "csat": ""}),
    ],
)
def test_the_first_activity_leaves_placeholder_dates_out(tmp_path: Path, table, row) -> None:
    tables = good_tables()
    tables["payments"] = pl.DataFrame({"client_id": ["c1"], "amount": ["10"], "paid_at": ["2024-03-01"]})
    if table is not None:
        tables[table] = pl.concat([tables[table], pl.DataFrame([row])], how="diagonal")
    data = read_dataset(write(tmp_path / "d", tables), CFG)
    # the subscriptions' first start; the first event; the first ticket or communication
    expected = (datetime(2024, 1, 1), datetime(2024, 5, 1, 10), datetime(2024, 6, 1))
    assert (data.first_activity(), data.events_first(), data.contact_first()) == expected


@pytest.mark.parametrize(
    ("extra", "expected_start"),
    [
        ({}, datetime(2024, 1, 1)),  # the first term's start
        # one old call or a churn log kept longer than the activity dates no week of the grid
        (
            {"interventions": {"client_id": ["c1"], "ts": ["2019-03-04"], "kind": ["call"]}},
            datetime(2024, 1, 1),
        ),
        ({"churns": {"client_id": ["c3"], "churned_at": ["2019-03-04"]}}, datetime(2024, 1, 1)),
        # a placeholder-dated activity falls back to the plausible ones
        ({"tickets": {"client_id": ["c1"], "opened_at": ["1900-01-01"], "csat": [""]}}, datetime(2024, 1, 1)),
    ],
)
def test_the_data_start_and_the_snapshot_grid_begin_at_the_first_activity(
    tmp_path, extra, expected_start
) -> None:
    from churnml.config import SnapshotsConfig
    from churnml.pipeline import training_snapshots

    tables = good_tables()
    for name, columns in extra.items():
        tables[name] = pl.DataFrame(columns)
    data = read_dataset(write(tmp_path / "d", tables), CFG)
    assert (data.start, data.first_activity()) == (expected_start, expected_start)
    # min_history_days 28 after Monday 2024-01-01: the grid's first Monday is 2024-01-29
    assert training_snapshots(data, SnapshotsConfig())[0] == date(2024, 1, 29)


@pytest.mark.parametrize(
    ("churns", "expected", "counted"),
    [
        (None, [("c1", datetime(2024, 6, 1, 10), None)], 1),
        # churns.csv records the same churn (client and time): kept once, with its reason, and nothing counted
        (
            {"churned_at": ["2024-06-01 10:00:00"], "reason": ["price"]},
            [("c1", datetime(2024, 6, 1, 10), "price")],
            0,
        ),
        # another time: a churn of its own
        (
            {"churned_at": ["2024-03-01"], "reason": ["price"]},
            [("c1", datetime(2024, 3, 1), "price"), ("c1", datetime(2024, 6, 1, 10), None)],
            1,
        ),
    ],
)
def test_churn_events_add_only_the_churns_not_recorded_already(tmp_path, churns, expected, counted) -> None:
    from churnml.contract.validation import CHURN_EVENTS_REPAIR

    tables = good_tables()
    tables["events"] = pl.DataFrame(
        {
            "client_id": ["c1", "c1", "c1"],
            "ts": ["2024-05-01", "2024-06-01 10:00:00", "2024-06-01 10:00:00"],
            "event": ["login", "account_deleted", "account_deleted"],
        }
    )
    if churns is not None:
        tables["churns"] = pl.DataFrame({"client_id": ["c1"], **churns})
    data = read_dataset(
        write(tmp_path / "d", tables), CFG.model_copy(update={"churn_events": ("account_deleted",)})
    )
    got = data.tables[Table.CHURNS].sort("churned_at")
    assert (
        got.select(
            "client_id", "churned_at", pl.col("reason") if "reason" in got.columns else pl.lit(None)
        ).rows()
        == expected
    )
    assert data.repairs.counts.get("churns", {}).get(CHURN_EVENTS_REPAIR, 0) == counted


@pytest.mark.parametrize(
    ("second", "error"),
    [
        # an add-on without a product, inside its base term (or from its first day): no second base term
        (("2024-03-01", "2024-12-31", "true"), None),
        (("2024-01-01", "2024-12-31", "true"), None),
        (("2024-12-20", "2025-02-20", "true"), None),  # not a renewal booked early either: nothing moves
        (("2024-03-01", "2024-12-31", "false"), "overlapping terms of one product"),
        (("2024-03-01", "2024-12-31", ""), "overlapping terms of one product"),  # blank: a base term
        (("2024-01-01", "2024-06-30", ""), "duplicate term"),
    ],
)
def test_add_on_terms_without_a_product_are_apart_from_the_base_terms(tmp_path, second, error) -> None:
    start, end, addon = second
    subs = pl.DataFrame(
        {
            "client_id": ["c1", "c1"],
            "start_date": ["2024-01-01", start],
            "end_date": ["2024-12-31", end],
            "mrr": ["100", "20"],
            "is_addon": ["false", addon],
        }
    )
    folder = write(tmp_path / "d", replaced("subscriptions", subs))
    cfg = DataConfig(as_of=date(2025, 3, 1))
    if error is not None:
        with pytest.raises(ContractError, match=rf"table 'subscriptions', column 'start_date': {error}"):
            read_dataset(folder, cfg)
        return
    data = read_dataset(folder, cfg)
    got = data.tables[Table.SUBSCRIPTIONS].select("start_date", "is_addon").rows()
    assert got == [(datetime(2024, 1, 1), False), (datetime.fromisoformat(start), True)]
    assert "subscriptions" not in data.repairs.counts


@pytest.mark.parametrize(
    ("fmt", "value", "shown"),
    [
        ("csv", "1e20", "'1e20'"),  # a whole number past Int64's range: unreadable, not a crash
        ("csv", "-1e30", "'-1e30'"),
        ("parquet", 1e20, "1e+20"),
        ("csv", "2.5", "'2.5'"),  # not whole: unreadable as before
    ],
)
def test_an_out_of_range_whole_number_is_reported_with_its_row(tmp_path, fmt, value, shown) -> None:
    tables = good_tables()
    tables["clients"] = tables["clients"].with_columns(
        pl.Series("strategic", ["1", value, "2"] if fmt == "csv" else [1.0, value, 2.0])
    )
    with pytest.raises(ContractError) as err:
        read_dataset(write(tmp_path / "d", tables, fmt), CFG)
    where = "line=3" if fmt == "csv" else "row=2"  # a CSV's line (the header's counted), a Parquet file's row
    assert str(err.value) == (
        f"table 'clients', column 'strategic': cannot read values as int (1 row). e.g. {where}, client_id='c2', "
        f"strategic={shown}"
    )


@pytest.mark.parametrize(
    ("ts", "tolerance", "refused"),
    [
        ("2024-12-31 23:59:59", 0, False),  # the as-of day's last second
        ("2025-01-01 00:00:00", 0, True),  # the midnight after it: the next day's first instant
        ("2025-01-01", 0, True),
        ("2025-01-01 00:00:00", 1, False),  # data.future_tolerance_days: one more day
        ("2025-01-02 00:00:00", 1, True),
    ],
)
def test_a_time_at_the_midnight_after_the_as_of_date_is_after_it(tmp_path, ts, tolerance, refused) -> None:
    tables = good_tables()
    tables["events"] = pl.DataFrame(
        {"client_id": ["c1", "c1"], "ts": ["2024-05-01", ts], "event": ["login"] * 2}
    )
    folder = write(tmp_path / "d", tables)
    cfg = CFG.model_copy(update={"future_tolerance_days": tolerance})
    if not refused:
        assert read_dataset(folder, cfg).tables[Table.EVENTS].height == 2
        return
    with pytest.raises(ContractError) as err:
        read_dataset(folder, cfg)
    assert str(err.value).startswith(
        "table 'events', column 'ts': timestamp after the as-of date (on or after "
    )
    assert "(1 row). e.g. line=3" in str(err.value)


# stale tables: a table's silence is judged against its own rhythm (its longest usual gap), not one tolerance
def _days(first: date, last: date, step: int = 1, skip_months: tuple[int, ...] = ()) -> list[datetime]:
    """A record at 10:00 every ``step`` days from ``first`` to ``last``, none in ``skip_months``."""
    out, day = [], first
    while day <= last:
        if day.month not in skip_months:
            out.append(datetime(day.year, day.month, day.day, 10))
        day = date.fromordinal(day.toordinal() + step)
    return out


def _events(times: list[datetime]) -> pl.DataFrame:
    return pl.DataFrame({"client_id": ["a"] * len(times), "ts": times, "event": ["login"] * len(times)})


def _invoices(issued: list[datetime], paid: list[datetime]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "client_id": ["a"] * len(issued),
            "amount": [1.0] * len(issued),
            "issued_at": issued,
            "paid_at": paid,
        }
    )


def _calls(times: list[datetime]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "client_id": ["a"] * len(times),
            "ts": times,
            "channel": ["call"] * len(times),
            "direction": ["out"] * len(times),
        }
    )


YEARLY_ISSUED = [datetime(2023, 9, 1), datetime(2024, 9, 1), datetime(2025, 9, 1)]
YEARLY_PAID = [datetime(2023, 9, 11), datetime(2024, 9, 11), datetime(2025, 9, 11)]


@pytest.mark.parametrize(
    ("table", "frame", "as_of", "gap", "lagging"),
    [
        # a daily log stopped 15 days ago: its longest gap is a day, stale (the fixed 21 days would keep quiet)
        (
            Table.EVENTS,
            _events(_days(date(2025, 1, 1), date(2026, 2, 14))),
            date(2026, 3, 2),
            1,
            {"events": 15},
        ),
        # the same log 3 days old: a week is allowed whatever the rhythm (weekly lists, weekly exports)
        (Table.EVENTS, _events(_days(date(2025, 1, 1), date(2026, 2, 27))), date(2026, 3, 2), 1, {}),
        # invoices once a year (issued 1 September, paid days later), 79 days after the last payment: not stale
        (Table.PAYMENTS, _invoices(YEARLY_ISSUED, YEARLY_PAID), date(2025, 11, 29), 355, {}),
        # ... and 400 days after it: this year's invoices are missing
        (Table.PAYMENTS, _invoices(YEARLY_ISSUED, YEARLY_PAID), date(2026, 10, 16), 355, {"payments": 400}),
        # calls every 3 days but never in July and August: 51 days silent in August is the usual summer
        (
            Table.COMMUNICATIONS,
            _calls(_days(date(2024, 1, 2), date(2025, 6, 30), 3, (7, 8))),
            date(2025, 8, 20),
            63,
            {},
        ),
        # too few days to know the rhythm (4 days of records): score.max_data_lag_days (21) alone, as before
        (Table.EVENTS, _events(_days(date(2026, 2, 11), date(2026, 2, 15))), date(2026, 3, 2), None, {}),
        (
            Table.EVENTS,
            _events(_days(date(2026, 1, 11), date(2026, 1, 15))),
            date(2026, 3, 2),
            None,
            {"events": 45},
        ),
    ],
)
def test_a_table_is_stale_when_silent_longer_than_its_own_rhythm(table, frame, as_of, gap, lagging) -> None:
    from churnml.contract.validation import lagging_tables, table_spans

    spans = table_spans({table: frame}, as_of)
    assert spans[str(table)].get("usual_gap_days") == gap
    assert lagging_tables(spans, as_of, 21) == lagging


@pytest.mark.parametrize(
    ("gap", "max_lag", "allowed"),
    [(None, 21, 21), (1, 21, 7), (12, 21, 12), (355, 21, 355), (1, 3, 3), (None, 3, 3)],
)
def test_the_lag_a_table_may_have_is_its_usual_gap_at_least_a_week(gap, max_lag, allowed) -> None:
    from churnml.contract.validation import allowed_lag_days

    assert allowed_lag_days(gap, max_lag) == allowed


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (
            {
                "first": "2024-09-01T00:00:00",
                "last_before_as_of": "2025-12-13T00:00:00",
                "usual_gap_days": 12,
            },
            "payments: no record for 79 days, its longest usual gap is 12 days",
        ),
        (
            {
                "first": "2024-09-01T00:00:00",
                "last_before_as_of": "2024-11-15T00:00:00",
                "usual_gap_days": 12,
            },
            "payments: no record for 79 days, its longest usual gap is 12 days (its records span less than a "
            "year: a yearly rhythm, such as invoices or quiet holidays, cannot show yet)",
        ),
        (  # a daily log (said "usual gap is 1 days" before)
            {"first": "2024-09-01T00:00:00", "last_before_as_of": "2025-12-13T00:00:00", "usual_gap_days": 1},
            "payments: no record for 79 days, its longest usual gap is 1 day",
        ),
        (
            {"first": "2024-09-01T00:00:00", "last_before_as_of": "2024-09-15T00:00:00"},
            "payments: no record for 79 days, more than score.max_data_lag_days = 21 (its records span less than "
            "56 days: too short to know its usual gaps)",
        ),
    ],
)
def test_a_stale_table_is_said_with_the_rhythm_it_was_judged_by(span, text) -> None:
    from churnml.contract.validation import lagging_table_text

    assert lagging_table_text("payments", 79, span, 21) == text


def test_a_true_false_column_in_other_words_is_refused_with_the_words_churnml_reads(tmp_path) -> None:
    """A French export's is_addon (oui/non): the error lists the words read as true and false."""
    tables = good_tables()
    tables["subscriptions"] = tables["subscriptions"].with_columns(pl.Series("is_addon", ["non", "oui"]))
    with pytest.raises(ContractError) as err:
        read_dataset(write(tmp_path / "d", tables), CFG)
    assert str(err.value).startswith(
        "table 'subscriptions', column 'is_addon': cannot read values as bool (churnml reads true, t, yes, y, 1, "
        "1.0 as true and false, f, no, n, 0, 0.0 as false, in any letter case: write the column with these words) "
        "(2 rows). e.g. line=2, client_id='c1'"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12,50", "12.50"),
        ("-3,1", "-3.1"),
        ("1.546,81", "1546.81"),  # German: dots group thousands
        ("5 425,06", "5425.06"),  # French: a space, a no-break space, a narrow no-break space
        ("5\u00a0425,06", "5425.06"),
        ("-1\u202f234\u202f567,8", "-1234567.8"),
        ("1.546", "1546"),  # a dot groups thousands under decimal commas
        ("0.125", "0.125"),  # no thousands group is a lone 0: as it is (read as 0.125), not 125
        ("-0.500", "-0.500"),
        ("0 125,5", "0 125,5"),
        (" 22 ", " 22 "),  # no comma nor separator: as it is (validation reads it), not counted as a rewrite
        ("12.5", "12.5"),  # written otherwise: as it is (read as 12.5)
        ("1 234.567,8", "1 234.567,8"),  # two separators: as it is, refused by validation
        ("12 34,5", "12 34,5"),
        ("abc", "abc"),
        (None, None),
    ],
)
def test_decimal_commas_are_written_with_decimal_points(text: str | None, expected: str | None) -> None:
    from churnml.contract.io import decimal_points

    got = pl.DataFrame({"a": [text]}, schema={"a": pl.String}).select(decimal_points(pl.col("a"))).item()
    assert got == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24/07/2024", "2024-07-24 00:00:00"),
        ("01/08/2024 03:00", "2024-08-01 03:00:00"),
        ("2024-07-24", "2024-07-24"),  # ISO: as it is (validation reads it)
        ("07/24/2024", "07/24/2024"),  # no 24th month: as it is, refused by validation
        (
            "06/03/24",
            "06/03/24",
        ),  # a two-digit year is no %Y (it read the year 24): as it is, refused by validation
        ("06/03/24 10:00", "06/03/24 10:00"),
        ("N/A", "N/A"),
        (None, None),
    ],
)
def test_times_in_the_configured_formats_are_written_in_iso(text: str | None, expected: str | None) -> None:
    from churnml.contract.io import iso_times

    frame = pl.DataFrame({"a": [text]}, schema={"a": pl.String})
    assert frame.select(iso_times(pl.col("a"), ("%d/%m/%Y", "%d/%m/%Y %H:%M"))).item() == expected


@pytest.mark.parametrize(
    ("written", "formats", "read"),
    [
        # no data.csv.date_formats: the contract's layouts start with a year of four digits
        (["2024-03-05", "06/03/24"], (), None),
        (["2024-03-05", "24-03-07"], (), None),
        (["2024-03-05", "2/3/24"], (), None),
        (["2024-03-05", "2024/03/06"], (), [datetime(2024, 3, 5), datetime(2024, 3, 6)]),
        # %Y reads no two-digit year; %y, when named, does, in either order
        (["05/03/2024", "06/03/24"], ("%d/%m/%Y",), None),
        (["05/03/2024", "06/03/24"], ("%d/%m/%Y", "%d/%m/%y"), [datetime(2024, 3, 5), datetime(2024, 3, 6)]),
        (["05/03/2024", "06/03/24"], ("%d/%m/%y", "%d/%m/%Y"), [datetime(2024, 3, 5), datetime(2024, 3, 6)]),
        (
            ["01/01/1900", "01/01/0001"],
            ("%d/%m/%Y",),
            [datetime(1900, 1, 1), datetime(1, 1, 1)],
        ),  # placeholders
    ],
)
def test_a_two_digit_year_is_refused_or_read_by_y_never_as_the_year_24(tmp_path, written, formats, read):
    # before: '06/03/24' read as 0006-03-24 ('%Y/%m/%d'), '24-03-07' as 0024-03-07, and under data.csv.date_formats
    # [%d/%m/%Y] '06/03/24' as 0024-03-06: 2024's logins kept in antiquity, counted as "placeholders?"
    tables = {
        "clients": pl.DataFrame({"client_id": ["c1"], "created_at": ["2024-01-02"]}),
        "events": pl.DataFrame({"client_id": ["c1", "c1"], "ts": written, "event": ["login", "login"]}),
    }
    cfg = DataConfig(as_of=date(2024, 3, 31), csv={"date_formats": list(formats)})
    folder = write(tmp_path / "d", tables)
    if read is None:
        with pytest.raises(ContractError) as info:
            read_dataset(folder, cfg)
        assert str(info.value).startswith("table 'events', column 'ts': cannot read values as datetime")
        assert f"(1 row). e.g. line=3, client_id='c1', ts={written[1]!r}" in str(info.value)
    else:
        assert read_dataset(folder, cfg).tables[Table.EVENTS].get_column("ts").to_list() == read


def _french_export(folder: Path) -> Path:
    """A French ERP's export in miniature: semicolons, cp1252, decimal commas with (no-break) spaces grouping
    thousands, day-first dates."""
    folder.mkdir()
    files = {
        "clients.csv": "client_id;name;created_at\n000001;Société Générale;24/10/2020\n000002;Noël;28/06/2023\n",
        "subscriptions.csv": "client_id;start_date;end_date;mrr;is_addon\n"
        "000001;24/07/2024;23/08/2024;657,80;false\n000002;01/02/2024;31/01/2025;5\u00a0425,06;false\n",
        "events.csv": "client_id;ts;event\n000001;01/08/2024 03:00;login\n000002;2024-08-02 10:00;login\n",
    }
    for name, text in files.items():
        (folder / name).write_bytes(text.encode("cp1252"))
    return folder


def test_a_regional_csv_export_reads_with_data_csv(tmp_path: Path) -> None:
    cfg = DataConfig(
        as_of=date(2024, 12, 31),
        csv={
            "separator": ";",
            "decimal_comma": True,
            "encoding": "cp1252",
            "date_formats": ["%d/%m/%Y", "%d/%m/%Y %H:%M"],
        },
    )
    ds = read_dataset(_french_export(tmp_path / "d"), cfg)
    clients = ds.get(Table.CLIENTS)
    subs = ds.get(Table.SUBSCRIPTIONS)
    assert clients.get_column("name").to_list() == ["Société Générale", "Noël"]
    assert clients.get_column("created_at").to_list() == [datetime(2020, 10, 24), datetime(2023, 6, 28)]
    assert subs.get_column("mrr").to_list() == [657.8, 5425.06]
    assert subs.get_column("end_date").to_list() == [datetime(2024, 8, 23), datetime(2025, 1, 31)]
    assert ds.get(Table.EVENTS).get_column("ts").to_list() == [
        datetime(2024, 8, 1, 3),
        datetime(2024, 8, 2, 10),
    ]
    times = "times read as %d/%m/%Y, %d/%m/%Y %H:%M (data.csv)"
    assert {t: dict(c) for t, c in ds.repairs.counts.items()} == {
        "clients": {"rows decoded from cp1252 to UTF-8 (data.csv.encoding)": 2, f"created_at: {times}": 2},
        "subscriptions": {
            "rows decoded from cp1252 to UTF-8 (data.csv.encoding)": 1,
            f"start_date: {times}": 2,
            f"end_date: {times}": 2,
            "mrr: decimal commas read as decimal points (data.csv)": 2,
        },
        "events": {f"ts: {times}": 1},
    }


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        (
            {},
            "table 'clients': file clients.csv is not UTF-8 text (invalid continuation byte at byte 37); save it "
            "as UTF-8, or set data.csv.encoding to the encoding it is written in (cp1252 for most Windows exports)",
        ),
        (
            {"encoding": "cp1252"},
            "table 'clients': file clients.csv has a single column 'client_id;name;created_at'; "
            "the file looks semicolon (;)-delimited: churnml reads comma-separated CSV, export it with commas (or set "
            "data.csv.separator: ';')",
        ),
        (
            {"encoding": "cp1252", "separator": ";"},
            "table 'clients', column 'created_at': cannot read values as "
            "datetime (dates written day or month first",
        ),
    ],
)
def test_a_regional_csv_export_without_data_csv_says_which_setting_reads_it(
    tmp_path: Path, csv, message
) -> None:
    with pytest.raises(ContractError) as err:
        read_dataset(_french_export(tmp_path / "d"), DataConfig(as_of=date(2024, 12, 31), csv=csv))
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    ("table", "setting"),
    [(Table.CLIENTS, True), ("transactions", False)],  # adapt's input: no data.csv setting reads it
)
def test_a_semicolon_file_names_the_separator_setting_for_a_contract_table(
    tmp_path: Path, table, setting
) -> None:
    from churnml.contract.io import csv_layout

    path = tmp_path / "clients.csv"
    path.write_text("client_id;created_at\nc1;2024-01-01\n")
    with pytest.raises(ContractError) as err:
        csv_layout(path, table)
    assert ("(or set data.csv.separator: ';')" in str(err.value)) is setting


@pytest.mark.parametrize(
    ("products", "mrr", "freed"),
    [
        # a gym's Freeze at 5 a month after a paid month at 40: read at 0 (a pause), one term counted
        (("Freeze",), [40.0, 0.0, 40.0], 1),
        # a free freeze is already a pause: nothing to count
        (("Free",), [40.0, 5.0, 40.0], 0),
        ((), [40.0, 5.0, 40.0], 0),
    ],
)
def test_pause_products_terms_are_read_at_mrr_zero_and_counted(products, mrr, freed) -> None:
    from churnml.contract.validation import pause_terms_freed

    terms = pl.DataFrame(
        {"client_id": ["m"] * 3, "product": ["Gold", "Freeze", "Gold"], "mrr": [40.0, 5.0, 40.0]}
    )
    out, n = pause_terms_freed(terms, products)
    assert out.get_column("mrr").to_list() == mrr and n == freed
    assert out.columns == terms.columns and out.get_column("product").to_list() == ["Gold", "Freeze", "Gold"]


def test_pause_products_without_a_product_column_are_refused() -> None:
    from churnml.contract.validation import ContractError, pause_terms_freed

    with pytest.raises(ContractError) as caught:
        pause_terms_freed(pl.DataFrame({"client_id": ["m"], "mrr": [5.0]}), ("Freeze",))
    assert (caught.value.table, caught.value.column) == ("subscriptions", "product")
    assert "data.pause_products names Freeze, but the table has no product column" in caught.value.problem


def test_a_read_counts_the_pause_products_terms(tmp_path) -> None:
    from churnml.config import DataConfig
    from churnml.contract.io import read_dataset
    from churnml.contract.validation import PAUSE_PRODUCT_REPAIR

    pl.DataFrame({"client_id": ["m"], "created_at": [datetime(2024, 1, 1)]}).write_parquet(
        tmp_path / "clients.parquet"
    )
    pl.DataFrame(
        {
            "client_id": ["m", "m"],
            "product": ["Gold", "Freeze"],
            "start_date": [datetime(2024, 1, 1), datetime(2024, 2, 1)],
            "end_date": [datetime(2024, 2, 1), datetime(2024, 3, 1)],
            "mrr": [40.0, 5.0],
        }
    ).write_parquet(tmp_path / "subscriptions.parquet")
    data = read_dataset(tmp_path, DataConfig(as_of=date(2024, 3, 1), pause_products=("Freeze",)))
    assert data.tables[Table.SUBSCRIPTIONS].get_column("mrr").to_list() == [40.0, 0.0]
    assert data.repairs.counts["subscriptions"][PAUSE_PRODUCT_REPAIR] == 1


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        # an events export without the optional value column: it read "value 1,264,725", a data problem
        (
            pl.DataFrame({"client_id": ["a", "b"], "value": [None, None]}, schema={"client_id": pl.String, "value": pl.Float64}),
            "value: none (absent or empty)",
        ),
        (pl.DataFrame({"client_id": ["a", None, None], "csat": [1.0, None, 2.0]}), "client_id 2, csat 1"),
        (pl.DataFrame({"client_id": ["a"]}), "0"),
    ],
)  # fmt: skip
def test_the_summary_says_a_column_without_any_value_as_such(frame, expected) -> None:
    from churnml.contract.validation import empty_cells_text

    assert empty_cells_text(frame) == expected


@pytest.mark.parametrize(("currency", "example"), [("EUR", "USD"), ("USD", "EUR"), ("GBP", "USD")])
def test_the_unnamed_currency_note_gives_another_currency_as_its_example(currency: str, example: str) -> None:
    # a B2B CRM in dollars with score.currency: USD set read "the amounts are read as USD ...: if they are in
    # another currency, set it (e.g. --set score.currency=USD)"
    from churnml.contract.validation import unmarked_currency_note

    note = unmarked_currency_note([Table.PAYMENTS], {}, {}, currency)
    assert note is not None
    assert f"the amounts are read as {currency} (score.currency" in note
    assert f"(e.g. --set score.currency={example})" in note


def test_a_csv_error_names_the_lines_an_editor_shows_after_blank_lines(tmp_path: Path) -> None:
    clients = "client_id,created_at\nc1,2024-01-01\nc2,2024-01-02\n"
    # lines 1, 2, 5, 8 blank and 6 a row of empty fields; 3 the header; 4, 7, 9 the data rows 1, 2, 3
    events = "\n\nclient_id,ts,event\nc1,2024-02-01,login\n\n,,\nc2,2024-02-02,login\n\nc9,2024-02-03,login\n"
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "clients.csv").write_text(clients)
    (folder / "events.csv").write_text(events)
    with pytest.raises(ContractError) as err:
        read_dataset(folder, DataConfig(as_of=date(2024, 3, 1)))
    assert str(err.value).endswith("(1 row). e.g. line=9, client_id='c9'")  # data row 3
    (folder / "events.csv").write_text(events.replace("c9,2024-02-03", "c1,yesterday"))
    with pytest.raises(ContractError) as err:
        read_dataset(folder, DataConfig(as_of=date(2024, 3, 1)))
    assert str(err.value).endswith("(1 row). e.g. line=9, client_id='c1', ts='yesterday'")
    (folder / "events.csv").write_text('client_id,ts,event\nc1,2024-02-01,"a\nlong note"\nc1,x,login\n')
    with pytest.raises(ContractError) as err:  # a quoted field over two lines: the next row starts on line 4
        read_dataset(folder, DataConfig(as_of=date(2024, 3, 1)))
    assert str(err.value).endswith("e.g. line=4, client_id='c1', ts='x'")


@pytest.mark.parametrize(
    ("count", "found", "said"),
    [
        # one value found: its count is the error's, said once ("'sms' (4,874) (4874 rows)" said it twice)
        (4874, [("sms", 4874)], "found 'sms' (4,874 rows)"),
        (1, [("Phone", 1)], "found 'Phone' (1 row)"),
        # several: each value's count, then the rows in all
        (3, [("succeeded", 2), ("void", 1)], "found 'succeeded' (2), 'void' (1) (3 rows)"),
        (12345, [("a", 12000), ("b", 345)], "found 'a' (12,000), 'b' (345) (12,345 rows)"),
    ],
)
def test_an_error_says_its_rows_once_and_in_words(
    count: int, found: list[tuple[str, int]], said: str
) -> None:
    problem = "value not among the allowed ['email', 'call']" + found_values_text(found)
    message = str(ContractError("communications", problem, "channel", count=count))
    assert message.endswith(said), message


def test_a_segment_or_owner_written_in_several_ways_is_said_not_merged() -> None:
    # a food wholesaler's CRM: 'restaurant' typed by one rep, 'Restaurant' by another; an owner with a double space
    from churnml.contract.validation import spelling_variants_notes

    clients = pl.DataFrame(
        {
            "client_id": [f"C{i}" for i in range(8)],
            "segment": ["restaurant", "restaurant", "Restaurant", "cafe", "Cafe ", "hotel", None, "catering"],
            "owner": ["Marc Dubois", "Marc  Dubois", "Sofia Ricci", "Sofia Ricci", None, "Tom", "Tom", "Tom"],
            "region": [
                "Lyon",
                "lyon",
                "Nice",
                "Nice",
                "Nice",
                "Nice",
                "Nice",
                "Nice",
            ],  # read, not used: not said
        }
    )
    assert spelling_variants_notes(clients) == [
        "clients.segment: 2 values are written in more than one way, differing only in letter case or spaces "
        "('restaurant' (2) / 'Restaurant' (1); 'Cafe ' (1) / 'cafe' (1)): the report's portfolio by segment and the "
        "churn-rate metrics count each spelling apart; write each one way in the export",
        "clients.owner: 1 value is written in more than one way, differing only in letter case or spaces "
        "('Marc  Dubois' (1) / 'Marc Dubois' (1)): the report's owner sections count each spelling apart; write "
        "each one way in the export",
    ]
    assert spelling_variants_notes(clients.drop("segment").with_columns(pl.lit("x").alias("owner"))) == []
