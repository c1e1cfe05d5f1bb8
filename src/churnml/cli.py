"""The ``churnml`` command line (Typer). Every command follows the same conventions:

``churnml <command> --data DIR --config FILE [--set key=value ...] [--out PATH]``; exit code 0 on
success, non-zero with a one-line reason on failure; long steps show Rich progress bars.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from churnml.config import Config, ConfigError, load_config

__all__ = ["app"]

app = typer.Typer(
    name="churnml",
    help="Spot customers about to leave early enough to keep them; plan the return of those who left.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
adapt_app = typer.Typer(help="Turn foreign layouts into the churnml data contract.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks that print figures.", no_args_is_help=True)
app.add_typer(adapt_app, name="adapt")
app.add_typer(bench_app, name="bench")

# Wide consoles when output is piped or captured, so tables are not cut at 80 columns.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
out_console = Console(width=None if sys.stdout.isatty() else 160)

# Shared option types: every command spells them the same way.
DataOpt = Annotated[
    Path | None, typer.Option("--data", help="Input dataset folder, one file per table (default: data/raw).")
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Partial YAML merged over configs/default.yaml.")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override one setting, e.g. --set label.horizon_days=30 (repeatable)."),
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Snapshot date YYYY-MM-DD (default: day after the last data).")
]


class UserError(Exception):
    """A failure the user can fix; printed as one line, exit code 1."""


def _expected_errors() -> tuple[type[BaseException], ...]:
    from churnml.validation import ContractError

    return (UserError, ConfigError, ContractError, FileNotFoundError)


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command; print expected failures as one line and exit 1 instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _expected_errors() as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def config_from(config: Path | None, overrides: list[str] | None) -> Config:
    return load_config(config, overrides or [])


def parse_date(value: str | None, flag: str = "--as-of") -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{flag} {value!r} is not a date (expected YYYY-MM-DD)") from None


def data_dir(data: Path | None, cfg: Config) -> Path:
    return data if data is not None else cfg.paths.data


class Timer:
    """Wall time of named steps, for manifests and the final summary line."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t0 = time.perf_counter()

    def step(self, name: str) -> Callable[[], None]:
        start = time.perf_counter()

        def done() -> None:
            self.seconds[name] = round(time.perf_counter() - start, 3)

        return done

    def total(self) -> float:
        return round(time.perf_counter() - self._t0, 3)


# ----------------------------------------------------------------------------------------------
# validate
# ----------------------------------------------------------------------------------------------
@app.command()
@friendly
def validate(
    data: DataOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Check a dataset folder against the data contract and print a per-table summary.

    Example: churnml validate --data data/raw
    """
    from churnml.io import read_dataset
    from churnml.validation import dataset_summary

    cfg = config_from(config, set_)
    dataset = read_dataset(data_dir(data, cfg), cfg.data)
    out_console.print(dataset_summary(dataset))


# ----------------------------------------------------------------------------------------------
# generate   (synthetic CRM data: synth.py)
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# features   (labels.py + features/)
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# train, tune   (modeling/ + tracking.py)
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# score   (scoring.py, explain.py, value.py, rules.py, report.py)
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# adapt transactions, winback, metrics   (adapters/, winback.py, metrics.py)
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# bench   (benchmarks that print figures)
# ----------------------------------------------------------------------------------------------


def main() -> None:  # pragma: no cover - console entry for `python -m churnml`
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
