"""The ``churnml adapt transactions`` job: a transaction log (CSV or Parquet, one row per line item)
turned into a contract dataset folder (clients, payments, events), a ``churnml.yaml`` config snippet and
``adapt_report.json`` (skipped rows counted by reason; cells holding a null marker such as ``NULL`` or ``N/A``,
read as blank, counted per column and marker under ``read_as_empty``). The mapping itself is
:func:`churnml.contract.adapters.transactions.transactions_to_contract` (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from churnml.jobs.common import Timer, UserError

__all__ = [
    "ADAPTED_TABLES",
    "adapt_transactions",
    "backtest_horizon",
    "checked_adapt_folder",
    "csv_separator",
    "shop_settings",
]


def csv_separator(path: Path) -> str:
    """The CSV file's field separator from its header (of the text a ``.gz`` file holds): ``,`` unless the header
    has none and holds ``;``, a tab or ``|`` (exports with a decimal comma use ``;``)."""
    import gzip

    from churnml.contract.io import OTHER_DELIMITERS

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace") as handle:
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


# beside an existing churnml.yaml, the config this log gives now (adapt never replaces churnml.yaml)
SUGGESTED_CONFIG = "churnml.suggested.yaml"

# the standard question of a shop: no order in the next 90 days (BG/NBD's, RelBench's)
STANDARD_HORIZON = 90
# the labeled snapshots (most recent first) whose churn rate sets the zones of the config adapt writes
RATE_SNAPSHOTS = 8


def backtest_horizon(first: datetime, last: datetime, standard: int = STANDARD_HORIZON) -> int | None:
    """``standard`` when a log from ``first`` to ``last`` gives a backtest fold with it under the default
    snapshot and train settings; else the longest horizon that does (the one ``train`` names when it has
    no fold: both say the same number); None when none does."""
    from churnml.config import SnapshotsConfig, TrainConfig
    from churnml.contract.validation import midnight_after
    from churnml.labels import snapshot_grid
    from churnml.modeling.backtest import longest_horizon_with_a_fold

    as_of = midnight_after(last)
    try:
        snaps = snapshot_grid(SnapshotsConfig(), first, as_of)
    except ValueError:  # too short for one snapshot
        return None
    return longest_horizon_with_a_fold(snaps, as_of.date(), 0, TrainConfig(), standard + 1)


def shop_settings(tables: dict[Any, Any], report: Any, inactivity_days: int) -> dict[str, Any]:
    """The keyword arguments of :func:`~churnml.contract.adapters.transactions.config_snippet` for this
    log: the standard horizon and the longest that gives a backtest now (:func:`backtest_horizon`), the
    churn rate of its last labeled snapshots (the zones sit above it), its currency, length and the time zone its
    times were read in (``data.timezone`` of the folder's churnml.yaml when not UTC)."""
    from churnml.config import SnapshotsConfig
    from churnml.contract.adapters.transactions import inactivity_churn_rate
    from churnml.contract.schemas import Table
    from churnml.contract.validation import midnight_after
    from churnml.labels import snapshot_grid

    first, last = report.first_time, report.last_time
    horizon = STANDARD_HORIZON
    as_of = midnight_after(last)
    try:
        snaps = snapshot_grid(SnapshotsConfig(), first, as_of)
    except ValueError:
        snaps = []
    labeled = [d for d in snaps if datetime(d.year, d.month, d.day) + timedelta(days=horizon) <= as_of]
    rate = inactivity_churn_rate(tables[Table.PAYMENTS], labeled[-RATE_SNAPSHOTS:], inactivity_days, horizon)
    return {
        "inactivity_days": inactivity_days,
        "horizon_days": horizon,
        "backtest_horizon": backtest_horizon(first, last),
        "churn_rate": rate,
        "currency": report.currency,
        "log_days": (last - first).days + 1,
        "timezone": report.spec.get("timezone", "UTC"),
    }


def adapt_transactions(
    input_: Path,
    out: Path,
    columns: dict[str, str | None],
    preset: str | None,
    inactivity_days: int,
    until: date | None = None,
    decimal_comma: bool = False,
    completed: str | None = None,
    rates: Sequence[str] = (),
) -> tuple[Any, Timer]:
    """Read ``input_``, adapt it with the column names ``columns`` (``customer``, ``time``, ``amount``,
    ... of :func:`churnml.contract.adapters.transactions.preset_spec`) over ``preset``, only its lines
    before ``until`` when given, write the folder ``out``; returns the adapter's report and the step timer.
    ``completed``: comma-separated values of the ``status`` column that mean a completed payment; ``rates``:
    ``CURRENCY=FACTOR`` texts turning the currency column's other currencies into the main one."""
    import polars as pl

    from churnml.contract.adapters.transactions import (
        SOURCE,
        config_snippet,
        parsed_rates,
        preset_spec,
        transactions_to_contract,
    )
    from churnml.contract.io import (
        ADAPT_REPORT,
        csv_layout,
        write_json_atomic,
        write_tables,
        write_text_atomic,
    )
    from churnml.contract.validation import with_null_markers_empty

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
        separator = csv_separator(input_)
        csv_layout(input_, SOURCE, delimiter=separator)  # a file cut short names its ragged lines
        frame = pl.read_csv(input_, infer_schema=False, null_values=[""], separator=separator)
    frame, read_as_empty = with_null_markers_empty(frame)  # "NULL", "N/A"... as blank cells, counted
    done()
    done = timer.step("adapt")
    try:
        spec = replace(spec, decimal_comma=decimal_comma)
        if completed:
            spec = replace(spec, completed=tuple(v.strip() for v in completed.split(",") if v.strip()))
        spec = replace(spec, rates=parsed_rates(rates))
        tables, report = transactions_to_contract(frame, spec, until)
    except ValueError as exc:
        if type(exc) is not ValueError:
            raise
        raise UserError(str(exc)) from None
    if report.kept_lines == 0:  # nothing to write: say why rather than leave an empty dataset behind
        reasons = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in report.skipped.items() if v)
        raise UserError(
            f"no usable line in {input_.name}: {report.input_rows:,} rows, "
            + (
                f"skipped: {reasons}"
                if reasons
                else f"all on or after --until {report.until}"
                if report.until is not None
                else "the file holds no line"
            )
        )
    done()
    done = timer.step("write")
    write_tables(tables, out)
    snippet = config_snippet(**shop_settings(tables, report, inactivity_days))
    config, suggested = out / "churnml.yaml", out / SUGGESTED_CONFIG
    if not config.is_file():
        write_text_atomic(snippet, config)
    elif config.read_text(encoding="utf-8") != snippet:
        # a weekly re-adapt must not move the zones under a model trained with the first ones, nor undo
        # the user's edits: the settings this log gives now go beside it
        write_text_atomic(snippet, suggested)
    elif suggested.is_file():
        suggested.unlink()  # churnml's own file, now the same as churnml.yaml
    done()
    write_json_atomic(
        {**report.to_dict(), "read_as_empty": read_as_empty, "seconds": timer.seconds}, out / ADAPT_REPORT
    )
    return report, timer
