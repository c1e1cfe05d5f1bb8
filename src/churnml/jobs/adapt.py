"""The ``churnml adapt transactions`` job: a transaction log (CSV or Parquet, one row per line item)
turned into a contract dataset folder (clients, payments, events), a ``churnml.yaml`` config snippet and
``adapt_report.json`` (skipped rows counted by reason). The mapping itself is
:func:`churnml.contract.adapters.transactions.transactions_to_contract` (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from churnml.jobs.common import Timer, UserError

__all__ = ["ADAPTED_TABLES", "adapt_transactions", "checked_adapt_folder", "csv_separator"]


def csv_separator(path: Path) -> str:
    """The CSV file's field separator from its header: ``,`` unless the header has none and holds ``;``,
    a tab or ``|`` (exports with a decimal comma use ``;``)."""
    from churnml.contract.io import OTHER_DELIMITERS

    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline()
    if "," in header:
        return ","
    return next((sep for sep in OTHER_DELIMITERS if sep in header), ",")


# The tables `adapt transactions` writes (one Parquet file each), beside churnml.yaml and adapt_report.json.
ADAPTED_TABLES = ("clients", "payments", "events")


def checked_adapt_folder(out: Path) -> None:
    """Refuse an ``--out`` that is a file, or a folder whose files adapt would replace or contradict without
    having written them: a table adapt writes already there in any format (``clients.csv`` beside a new
    ``clients.parquet`` would be two files for one table) or its ``churnml.yaml``, in a folder without
    adapt's ``adapt_report.json``. A folder adapt wrote (it holds its report) is rewritten; the other
    tables a user added to it (``communications.csv``) stay."""
    from churnml.contract.io import ADAPT_REPORT

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file: give a folder (new, or one churnml adapt wrote)")
    if not out.is_dir():
        return
    ours = (out / ADAPT_REPORT).is_file()
    names = {p.name.lower() for p in out.iterdir()}
    own = {f"{t}.parquet" for t in ADAPTED_TABLES} if ours else set()
    clashes = sorted(n for n in names if n.split(".")[0] in ADAPTED_TABLES and n not in own)
    if not ours and "churnml.yaml" in names:
        clashes = sorted([*clashes, "churnml.yaml"])
    if clashes:
        raise UserError(
            f"--out {out} holds {', '.join(clashes)}, which churnml adapt did not write: it would replace or "
            "contradict them (one file per table). Give a new or empty folder"
        )


def adapt_transactions(
    input_: Path,
    out: Path,
    columns: dict[str, str | None],
    preset: str | None,
    inactivity_days: int,
    until: date | None = None,
    decimal_comma: bool = False,
) -> tuple[Any, Timer]:
    """Read ``input_``, adapt it with the column names ``columns`` (``customer``, ``time``, ``amount``,
    ... of :func:`churnml.contract.adapters.transactions.preset_spec`) over ``preset``, only its lines
    before ``until`` when given, write the folder ``out``; returns the adapter's report and the step timer."""
    import polars as pl

    from churnml.contract.adapters.transactions import config_snippet, preset_spec, transactions_to_contract
    from churnml.contract.io import ADAPT_REPORT, write_json_atomic, write_tables, write_text_atomic

    timer = Timer()
    checked_adapt_folder(out)  # refused before any work
    try:
        spec = preset_spec(preset, **columns)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not input_.is_file():
        raise FileNotFoundError(f"--input {input_} does not exist")
    done = timer.step("read")
    if input_.name.endswith(".parquet"):
        frame = pl.read_parquet(input_)
    else:
        frame = pl.read_csv(input_, infer_schema=False, null_values=[""], separator=csv_separator(input_))
    done()
    done = timer.step("adapt")
    try:
        tables, report = transactions_to_contract(frame, replace(spec, decimal_comma=decimal_comma), until)
    except ValueError as exc:
        if type(exc) is not ValueError:
            raise
        raise UserError(str(exc)) from None
    if report.kept_lines == 0:  # nothing to write: say why rather than leave an empty dataset behind
        reasons = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in report.skipped.items() if v)
        raise UserError(
            f"no usable line in {input_.name}: {report.input_rows:,} rows, "
            + (f"skipped: {reasons}" if reasons else f"all on or after --until {report.until}")
        )
    done()
    done = timer.step("write")
    write_tables(tables, out)
    write_text_atomic(config_snippet(inactivity_days=inactivity_days), out / "churnml.yaml")
    done()
    write_json_atomic({**report.to_dict(), "seconds": timer.seconds}, out / ADAPT_REPORT)
    return report, timer
