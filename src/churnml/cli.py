"""The ``churnml`` command line (Typer). Every command follows the same conventions:

``churnml <command> --data DIR --config FILE [--set key=value ...] [--out PATH]``; exit code 0 on
success, non-zero with a one-line reason on failure; long steps show Rich progress bars.
"""

from __future__ import annotations

import functools
import shlex
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from churnml.config import Config, ConfigError, load_config
from churnml.contract.schemas import SNAPSHOT
from churnml.jobs.common import Timer, UserError
from churnml.jobs.common import data_folder as data_dir

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
# Messages hold data ("[report_view, export_pdf]"): only the labels of the stderr console are markup, their
# text is escaped; the stdout console prints text and tables as they are.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
out_console = Console(width=None if sys.stdout.isatty() else 160, markup=False)


class _LoggedStatus:
    """``console.status``'s stand-in when stderr is no terminal (a batch job's log, a file): each new
    step one timed line, so a slow run is told from a hung one."""

    def __init__(self, text: str) -> None:
        self._last: str | None = None
        self.update(text)

    def update(self, text: str) -> None:
        if text != self._last:
            console.print(f"{time.strftime('%H:%M:%S')} {text}", highlight=False)
            self._last = text

    def __enter__(self) -> _LoggedStatus:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None


class _LoggedProgress:
    """``rich.progress.Progress``'s stand-in when stderr is no terminal: no bar redrawn into a log (a cron
    mail got "score done ━━━━ step 14"), one timed line per new step description instead."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._status: _LoggedStatus | None = None

    def add_task(self, description: str, **_kwargs: Any) -> int:
        self._status = _LoggedStatus(f"{self._what} {description}")
        return 0

    def update(self, _task: int, *, description: str | None = None, **_kwargs: Any) -> None:
        if description is not None and self._status is not None:
            self._status.update(f"{self._what} {description}")

    def __enter__(self) -> _LoggedProgress:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None


def progress_bar(what: str, *columns: Any) -> Any:
    """A Rich progress bar on a terminal; timed step lines in a log (:class:`_LoggedProgress`)."""
    from rich.progress import Progress

    return Progress(*columns, console=console) if console.is_terminal else _LoggedProgress(what)


def step_status(text: str) -> Any:
    """A spinner with the current step on a terminal; timed lines in a log (:class:`_LoggedStatus`)."""
    return console.status(text) if console.is_terminal else _LoggedStatus(text)


def at_risk_text(arr: float, arr_at_risk: float, clients: int) -> str:
    """The list's money in the line ``score`` prints: ``ARR at risk 94,421``; a list of clients without any
    revenue in the data (every ARR 0: an app's users, a log without payments) says so rather than 0."""
    if arr or not clients:
        return f"ARR at risk {arr_at_risk:,.0f}"
    return "no revenue in the data (ranked by probability)"


def tuning_gain_text(best_trial: int, best: float, untuned: float | None) -> str:
    """What tuning gained, beside the best figure ``tune`` prints: trial 0 holds the untuned parameters
    (``train.lightgbm``), so the gain is the best trial's figure against it."""
    if best_trial == 0:
        return "(trial 0, the untuned parameters: no trial beat them)"
    if untuned is None:
        return f"(trial {best_trial})"
    return f"(trial {best_trial}; the untuned parameters: {untuned:.4f}, {best - untuned:+.4f})"


def flagged(label: str, text: str, style: str = "bold yellow") -> None:
    """``label: text`` on stderr, the label styled and the text printed as it is (it holds data)."""
    console.print(f"[{style}]{label}:[/] {escape(text)}", highlight=False, soft_wrap=True)


# Shared option types: every command spells them the same way.
DataOpt = Annotated[
    Path | None, typer.Option("--data", help="Input dataset folder, one file per table (default: data/raw).")
]
ConfigOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--config",
        help=(
            "Partial YAML merged over the defaults (churnml/default.yaml in the package, configs/default.yaml "
            "in the repository; repeatable: merged in the order given). No config file is read unless given here."
        ),
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override one setting, e.g. --set label.horizon_days=30 (repeatable)."),
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Snapshot date YYYY-MM-DD (default: day after the last data).")
]


def _expected_errors() -> tuple[type[BaseException], ...]:
    from churnml.contract.validation import ContractError
    from churnml.scoring.outputs import OutputError

    expected: tuple[type[BaseException], ...] = (
        UserError,
        ConfigError,
        ContractError,
        FileNotFoundError,
        OutputError,
    )
    # Errors of modules that load heavy libraries: only a loaded module can have raised its error.
    if "churnml.modeling.export" in sys.modules:
        expected += (sys.modules["churnml.modeling.export"].ModelFileError,)
    if "churnml.modeling.tracking" in sys.modules:
        expected += (sys.modules["churnml.modeling.tracking"].TrackingStoreError,)
    return expected


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command; print expected failures as one line and exit 1 instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _expected_errors() as exc:
            flagged("error", str(exc), "bold red")
            raise typer.Exit(1) from None

    return wrapper


def config_from(config: list[Path] | None, overrides: list[str] | None) -> Config:
    """The defaults, then each ``--config`` file in the order given (a second one used to replace the
    first silently), then each ``--set``."""
    return load_config(config or None, overrides or [])


def parse_date(value: str | None, flag: str = "--as-of") -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{flag} {value!r} is not a date (expected YYYY-MM-DD)") from None


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
    from churnml.contract.io import read_dataset, unread_files
    from churnml.contract.validation import dataset_summary
    from churnml.jobs.common import config_for
    from churnml.jobs.inputs import data_notes

    cfg = config_from(config, set_)
    folder = data_dir(data, cfg)
    cfg = config_for(folder, cfg)  # label.source auto: decided by the files, as train decides it
    dataset = read_dataset(folder, cfg.data)
    out_console.print(dataset_summary(dataset))
    for note in data_notes(dataset, cfg):
        out_console.print(f"note: {note}", soft_wrap=True)
    if skipped := unread_files(folder):
        out_console.print(
            f"not read (no contract table of that name): {', '.join(skipped)}; "
            "rename a file to its table's name (events.csv, payments.csv, ...) to use it"
        )


# ----------------------------------------------------------------------------------------------
# generate   (synthetic CRM data: synth.py)
# ----------------------------------------------------------------------------------------------
@app.command()
@friendly
def generate(
    out: Annotated[
        Path, typer.Option("--out", help="Output FOLDER: one Parquet file per contract table.")
    ] = Path("data/raw"),
    truth_out: Annotated[
        Path,
        typer.Option("--truth-out", help="Truth FOLDER (hazard, clients); never read as input."),
    ] = Path("data/truth"),
    clients: Annotated[int, typer.Option("--clients", min=1, help="Number of clients.")] = 2000,
    months: Annotated[int, typer.Option("--months", min=3, help="Months of data after --start.")] = 24,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same arguments: identical files).")] = 42,
    start: Annotated[str, typer.Option("--start", help="First day of the data, YYYY-MM-DD.")] = "2024-01-01",
    churn_rate: Annotated[
        float,
        typer.Option(
            "--churn-rate",
            min=0.001,
            max=0.2,
            help="Target share of active clients that churn per month (0.025 = 2.5%/month).",
        ),
    ] = 0.025,
) -> None:
    """Generate a synthetic CRM dataset with a known churn mechanism (all 9 contract tables) plus its truth.

    Decline episodes show random subsets of the warning signs 1-6 months before a churn;
    seasonal dips, vacations and one-off noise fool naive rules.
    The truth folder holds the weekly true hazard: oracle = 1 - prod(1 - hazard).
    Data runs from --start for --months months; same arguments, identical files.

    Example: churnml generate --out data/raw --truth-out data/truth --clients 2000 --months 24 --seed 42
    """
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from churnml.demo.synth import SynthParams, generated_file_names, write_synthetic_dataset
    from churnml.scoring.outputs import checked_generated_folder

    names = generated_file_names()
    checked_generated_folder(out, names["out"])
    checked_generated_folder(truth_out, names["truth_out"], "--truth-out")
    first_day = parse_date(start, "--start")
    assert first_day is not None
    try:
        params = SynthParams(
            clients=clients, months=months, seed=seed, start=first_day, churn_rate=churn_rate
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    started = time.perf_counter()
    with progress_bar(
        "generating", TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as progress:
        task = progress.add_task("chunks", total=params.chunks)
        rows = write_synthetic_dataset(
            params, out, truth_out, on_chunk=lambda done, total: progress.update(task, completed=done)
        )
    summary = ", ".join(
        f"{name} {n:,}" if n else f"{name} none (no file)"
        for name, n in rows.items()
        if not name.startswith("truth/")
    )
    out_console.print(
        f"wrote {out}/ ({summary}) and truth to {truth_out}/ in {time.perf_counter() - started:.1f}s; "
        f"data {params.start} .. {params.end} (exclusive)",
        highlight=False,
        soft_wrap=True,
    )


# ----------------------------------------------------------------------------------------------
# features   (labels.py + features/)
# ----------------------------------------------------------------------------------------------
@app.command()
@friendly
def features(
    data: DataOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    out: Annotated[
        Path,
        typer.Option("--out", help="Output Parquet FILE: one row per client x snapshot, all features."),
    ] = Path("data/features/features.parquet"),
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Build only the snapshot at this date YYYY-MM-DD (default: all weekly snapshots)."
        ),
    ] = None,
) -> None:
    """Build the point-in-time feature table (every weekly snapshot, or only --as-of) as Parquet.

    Example: churnml features --data data/raw --out data/features/features.parquet
    """
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

    from churnml.features import feature_columns
    from churnml.jobs.features import feature_table, steps

    cfg = config_from(config, set_)
    snapshot = parse_date(as_of)
    timer = Timer()
    n_steps = len(steps())
    columns = (
        TextColumn("[bold]features[/] {task.description:<14}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with progress_bar("features", *columns) as bar:
        task = bar.add_task("reading", total=n_steps)
        table = feature_table(
            data, cfg, out, snapshot, lambda name: bar.update(task, advance=1, description=f"{name} done")
        )
    n_snap = table.get_column(SNAPSHOT).n_unique()
    out_console.print(
        f"wrote {out}: {table.height:,} rows ({n_snap} snapshots), {len(feature_columns(table))} features "
        f"in {timer.total():.1f}s"
    )


# ----------------------------------------------------------------------------------------------
# train, tune   (modeling/ + tracking.py)
# ----------------------------------------------------------------------------------------------
@app.command()
@friendly
def train(
    data: DataOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    truth: Annotated[
        Path | None,
        typer.Option("--truth", help="Truth FOLDER of generated data (hazard.parquet): adds the oracle row."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="FOLDER for the exported champion (default: paths.models, i.e. models/)."),
    ] = None,
) -> None:
    """Train out of time, compare with the baselines on the same rows, track in MLflow, gate the champion.

    Example: churnml train --data data/raw --truth data/truth --out models/
    """
    from churnml.jobs.train import train as train_job

    cfg = config_from(config, set_)
    timer = Timer()
    said: list[str] = []  # the backtest's notes, printed when it ended: not again at the end
    gates: list[str] = []  # the gate's verdict as the backtest's end said it

    def backtest_ended(report: Any) -> None:
        said.extend(backtest_said(report))
        gates.append(report.gate)

    with step_status("[bold]train[/] reading the dataset") as shown:
        summary = train_job(
            data, cfg, truth, out, lambda msg: shown.update(f"[bold]train[/] {msg}"), backtest_ended
        )
    res = summary.result
    for note in res.notes:
        if note in said:
            said.remove(note)
            continue
        out_console.print(f"note: {note}")
    start, end = res.training_window
    out_console.print(
        f"deployed model: trained on every labeled snapshot {start} .. {end} ({res.rows['labeled']:,} rows, "
        f"{res.rows['positives']:,} of them churn labels); {len(res.features)} features "
        f"({len(res.monotone)} monotone); rounds {res.rounds_source}; calibration "
        f"{res.model.calibrator_.method_} on {res.calibration_source}"
        + (f"; {res.extra_trees}" if res.extra_trees else ""),
        soft_wrap=True,
    )
    if summary.tuned_from:
        out_console.print(f"tuned parameters from {summary.tuned_from}")
    verdict = "promoted to champion" if summary.promoted else "NOT promoted"
    # a refusal the baselines decided was said when the backtest ended ("gate: NOT promoted, whatever ...")
    reason = "the gate above" if any(g.endswith(f": {summary.reason}") for g in gates) else summary.reason
    out_console.print(
        f"MLflow {summary.tracking_uri} experiment '{summary.experiment}' run {summary.run_id}: "
        f"{summary.model_name} v{summary.version} {verdict} ({reason})",
        soft_wrap=True,
    )
    if summary.exported_to:
        replaced = (
            f" (replacing the model of the dataset {summary.replaced_dataset!r}, which the tracking store "
            "still holds)"
            if summary.replaced_dataset
            else ""
        )
        out_console.print(
            f"exported the model for batch scoring to {summary.exported_to}{replaced}", soft_wrap=True
        )
    elif summary.kept:
        out_console.print(
            f"not exported: {out or cfg.paths.models} keeps v{summary.kept} for batch scoring (this run's "
            f"v{summary.version} stays in the tracking store)",
            soft_wrap=True,
        )
    if summary.exported_to and (note := model_settings_note(set_)):
        out_console.print(f"note: {note}", soft_wrap=True)
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in summary.seconds.items() if k != "total")
    out_console.print(f"total time {timer.total():.1f}s ({steps})")


def backtest_said(report: Any) -> list[str]:
    """Print what ``train`` knows when its backtest ends (a :class:`churnml.jobs.train.BacktestReport`),
    before the deployed fit, the longest step: the comparison table, the evidence line and the backtest's
    notes, the gate's verdict as far as the baselines decide it, and what the deployed fit is about to do.
    A run stopped during that fit has said its out-of-time figures. Returns the notes printed (the closing
    notes leave them out)."""
    from churnml.jobs.train import comparison_table, evidence_line

    bt = report.backtest
    notes = list(bt.notes) if bt.has_estimate else []
    if bt.has_estimate:
        out_console.print(comparison_table(bt))
        evidence = evidence_line(bt)
        if evidence:
            out_console.print(f"evidence: {evidence}", soft_wrap=True)
        for note in notes:
            out_console.print(f"note: {note}")
    out_console.print(f"gate: {report.gate}", soft_wrap=True)
    out_console.print(f"{report.deployed} ...", soft_wrap=True)
    return notes


def model_settings_note(overrides: list[str] | None) -> str | None:
    """What to tell a user who exported a model trained with ``--set`` label or feature settings: the score
    job refuses other ones, so its plain weekly command would fail (None without such flags)."""
    flags = [o for o in overrides or [] if o.split("=", 1)[0].strip().startswith(("label.", "features."))]
    if not flags:
        return None
    shown = " ".join(f"--set {f}" for f in flags)
    return (
        f"this model was trained with {shown}: label and feature settings are part of the model, and "
        "`churnml score` refuses others. Score with the same flags, or write them in a config file the "
        "weekly job passes with --config (churnml reads no config file it is not given)"
    )


@app.command()
@friendly
def tune(
    data: DataOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    trials: Annotated[
        int | None, typer.Option("--trials", help="Trials to add (default: tune.trials).")
    ] = None,
    timeout: Annotated[
        int | None, typer.Option("--timeout", help="Stop starting trials after this many seconds.")
    ] = None,
) -> None:
    """Tune LightGBM with Optuna on the backtest folds of `train`; resumable; writes best_params.json.

    The study and the best parameters go to the FOLDER paths.tune/<dataset name>/ (data.name, else the data
    folder's name; set the root with --set paths.tune=DIR); `train` on the same dataset picks them up.

    Example: churnml tune --data data/raw --trials 20 --timeout 900
    """
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from churnml.jobs.tune import tune as tune_job

    cfg = config_from(config, set_)
    n_trials = trials or cfg.tune.trials
    with progress_bar(
        "tune",
        TextColumn("[bold]tune[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ) as bar:
        task = bar.add_task("reading the dataset", total=n_trials)
        best: list[float] = []

        def trial_done(record: object) -> None:
            value = getattr(record, "value", None)
            if value is not None:
                best.append(value)
            shown = f"best PR-AUC {max(best):.4f}" if best else "no complete trial yet"
            bar.update(task, advance=1, description=f"trial {getattr(record, 'number', '?')} ({shown})")

        summary = tune_job(
            data,
            cfg,
            n_trials,
            timeout or cfg.tune.timeout,
            progress=lambda m: bar.update(task, description=m),
            on_trial=trial_done,
        )
    out_console.print(
        f"study {cfg.tune.study_name} ({summary.storage}): {summary.trials} trials in total, "
        f"{summary.complete} complete, {summary.pruned} pruned; best mean out-of-time PR-AUC "
        f"{summary.best_value:.4f} {tuning_gain_text(summary.best_trial, summary.best_value, summary.untuned_value)}"
    )
    out_console.print(f"best parameters -> {summary.best_params_file}: {summary.best_params}")
    out_console.print(f"total time {summary.seconds:.1f}s")


# ----------------------------------------------------------------------------------------------
# score   (scoring.py, explain.py, value.py, rules.py, report.py)
# ----------------------------------------------------------------------------------------------
@app.command()
@friendly
def score(
    data: DataOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    as_of: AsOfOpt = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output FOLDER for the list (default: <paths.scores>/<as-of date>/)."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="models:/<name>@champion, models:/<name>/<version> or an exported model folder "
            "(default: this dataset's champion, models:/churnml-<data.name, else the data folder's>@champion, else "
            "paths.models).",
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="polars or spark: spark reads, checks, featurises and scores on Apache Spark "
            "(default: features.engine).",
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            help="Spark only: the master of the session churnml starts, e.g. local[*] or spark://host:7077 "
            "(default: local[2], two cores of this machine; under spark-submit, the master it was given).",
        ),
    ] = None,
    spark_driver_memory: Annotated[
        str | None,
        typer.Option(
            "--spark-driver-memory",
            help="Spark only: the driver memory of the session churnml starts, e.g. 8g (default: 4g; under "
            "spark-submit, give its --driver-memory instead).",
        ),
    ] = None,
) -> None:
    """Score every client active at the as-of date: the weekly list, report and manifest.

    Writes scores.parquet, scores.csv, history.parquet, report.html and manifest.json atomically.
    Example: churnml score --data data/raw --as-of 2024-06-03 --model models/
    """
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

    from churnml.contract.validation import currency_notes, lagging_table_text
    from churnml.jobs.score import ListNotes, missing_features_warning
    from churnml.jobs.score import score as score_job

    cfg = config_from(config, set_)
    if engine is not None:
        if engine not in ("polars", "spark"):
            raise typer.BadParameter(f"--engine {engine!r}: polars or spark")
        cfg = cfg.model_copy(update={"features": cfg.features.model_copy(update={"engine": engine})})
    spark = {"master": spark_master, "driver_memory": spark_driver_memory}
    given = [f"--spark-{k.replace('_', '-')}" for k, v in spark.items() if v is not None]
    if given and cfg.features.engine != "spark":
        raise typer.BadParameter(f"{' and '.join(given)}: for --engine spark (features.engine) only")
    day = parse_date(as_of)
    columns = (
        TextColumn("[bold]score[/] {task.description:<48}"),
        BarColumn(),
        TextColumn("step {task.completed}"),
        TimeElapsedColumn(),
    )
    # the number of steps depends on the engine and the client batches: a pulsing bar, steps counted
    with progress_bar("score", *columns) as bar:
        task = bar.add_task("loading the model", total=None)

        def said(name: str) -> None:
            bar.update(task, advance=1, description=name)

        run = score_job(
            data,
            cfg,
            day,
            out,
            model,
            said,
            spark_master=spark_master,
            spark_driver_memory=spark_driver_memory,
        )
    result, manifest, day, folder = run.result, run.manifest, run.day, run.folder
    lagging, empty, dark = run.lagging, run.empty_columns, run.dark_features
    spans = (manifest.get("data") or {}).get("tables") or {}
    for table, lag in lagging.items():
        # judged against the table's own rhythm (contract.validation.lagging_tables)
        said = lagging_table_text(table, lag, spans.get(table) or {}, cfg.score.max_data_lag_days)
        flagged(
            "warning",
            f"{said}, before the as-of date {day}: its features describe old data; refresh its export "
            "(recorded in manifest.json, data.lagging_tables)",
        )
    for note in currency_notes((manifest.get("data") or {}).get("repairs") or {}):
        flagged("note", note)  # amounts converted into score.currency (data.currency_rates)
    stale = (manifest.get("data") or {}).get("events_lag_days_empty_windows")
    if stale and "events" not in lagging:
        flagged(
            "warning",
            f"the events end {stale} days before the as-of date {day}: every client's last "
            f"{min(cfg.features.windows)} days hold no event, which the model reads as a drop in use for all "
            "of them at once. Score at the day after the last events (the default as-of date), or refresh "
            "the events export (manifest.json, data.events_lag_days_empty_windows)",
        )
    if dark:
        before = (manifest.get("data") or {}).get("windows_before_logs") or []
        flagged("warning", missing_features_warning(dark, empty, before))
    notes = run.notes or ListNotes()
    for note in notes.warnings():
        flagged("warning", note)
    if notes.mailings:
        flagged("note", notes.mailings)
    if notes.season:
        flagged("note", notes.season)
    if result.drifted:
        from churnml.scoring.assemble import drift_warning

        why = f"; {notes.drift}" if notes.drift else ""
        flagged("warning", drift_warning(result.drifted, result.drift_weight, cfg.score.drift_psi) + why)
    if result.expected_drift:
        from churnml.scoring.assemble import expected_drift_note

        flagged("note", expected_drift_note(result.expected_drift, result.psi) or "")
    if not run.changed and day is not None and as_of is None:
        flagged(
            "warning",
            f"the list of {day} (the day after the data ends) is already there, the same: the export holds "
            "nothing newer than when it was written. If this is the weekly run, the new export has not arrived",
        )
    zones = manifest["zones"]
    at_risk = at_risk_text(manifest["arr"], manifest["arr_at_risk"], result.scores.height)
    out_console.print(
        f"{'wrote' if run.changed else 'unchanged (same list already there)'} {folder}: "
        f"{result.scores.height:,} clients (red {zones['red']}, yellow {zones['yellow']}, green "
        f"{zones['green']}), {at_risk}, model {run.version}, in {run.timer.total():.1f}s"
    )
    if run.reads is not None:
        reads = run.reads
        from churnml.jobs.week_store import STORE_KEY, read_skipped_said

        store = run.manifest["data"].get(STORE_KEY) or {}
        skipped = read_skipped_said(store, reads.window_start, reads.window_end)
        out_console.print(
            f"events: read {reads.rows_read:,} of {reads.rows_in_file:,} rows ({reads.skipped():,} {skipped} "
            f"skipped), {reads.batches} client batch{'es' if reads.batches > 1 else ''}",
            highlight=False,
        )


# ----------------------------------------------------------------------------------------------
# adapt transactions, winback, metrics, postmortem   (adapters/, winback.py, interventions.py,
# metrics.py, postmortem.py)
# ----------------------------------------------------------------------------------------------
@adapt_app.command("transactions")
@friendly
def adapt_transactions(
    input_: Annotated[
        Path, typer.Option("--input", help="Transaction log, CSV or Parquet (one row per line item).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output FOLDER: contract tables, churnml.yaml, report.")],
    customer: Annotated[str | None, typer.Option("--customer", help="Customer id column.")] = None,
    time_: Annotated[str | None, typer.Option("--time", help="Order time column.")] = None,
    amount: Annotated[
        str | None, typer.Option("--amount", help="Line amount column (or --quantity and --price).")
    ] = None,
    quantity: Annotated[str | None, typer.Option("--quantity", help="Quantity column.")] = None,
    price: Annotated[str | None, typer.Option("--price", help="Unit price column.")] = None,
    invoice: Annotated[str | None, typer.Option("--invoice", help="Invoice / order number column.")] = None,
    product: Annotated[
        str | None, typer.Option("--product", help="Product column (one event per line item).")
    ] = None,
    segment: Annotated[str | None, typer.Option("--segment", help="Segment column (e.g. country).")] = None,
    refund_prefix: Annotated[
        str | None, typer.Option("--refund-prefix", help="Invoices starting with this are refunds.")
    ] = None,
    time_format: Annotated[
        str | None, typer.Option("--time-format", help="strftime pattern of text times (default: ISO 8601).")
    ] = None,
    preset: Annotated[
        str | None, typer.Option("--preset", help="Column names of a known layout: online-retail.")
    ] = None,
    inactivity_days: Annotated[
        int, typer.Option("--inactivity-days", help="Days without an order that mean churn (config snippet).")
    ] = 90,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Keep only lines before this day (YYYY-MM-DD): the log as it stood then; the rest is counted.",
        ),
    ] = None,
    decimal_comma: Annotated[
        bool,
        typer.Option(
            "--decimal-comma", help="Numbers are written 1.234,56 (a ;-separated CSV is detected by itself)."
        ),
    ] = False,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="Payment status column: lines that are not a completed payment (paid, succeeded, completed, "
            "settled, ...) are skipped and counted; returns and credits (returned, credit_note, ...) are refunds.",
        ),
    ] = None,
    completed: Annotated[
        str | None,
        typer.Option(
            "--completed", help="Comma-separated --status values of a completed payment (any case)."
        ),
    ] = None,
    rate: Annotated[
        list[str] | None,
        typer.Option(
            "--rate",
            help="CURRENCY=FACTOR (repeatable): amounts of that value of the currency column times FACTOR, "
            "into the log's main currency (e.g. --rate GBP=1.17 in a EUR shop).",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            help="IANA zone the times are read in (default UTC): a time with an offset becomes its wall-clock "
            "time there; written to churnml.yaml as data.timezone.",
        ),
    ] = None,
) -> None:
    """Turn a transaction log into a contract dataset (clients, payments, events) plus a churnml.yaml.

    Skipped rows (no customer, unparsable time or amount, zero quantity, a --status not completed) are
    counted, printed and written to adapt_report.json.

    Example: churnml adapt transactions --input retail.parquet --preset online-retail --out data/retail
    """
    from churnml.jobs.adapt import adapt_transactions as adapt_job

    columns = {
        "customer": customer,
        "time": time_,
        "amount": amount,
        "quantity": quantity,
        "price": price,
        "invoice": invoice,
        "product": product,
        "segment": segment,
        "refund_prefix": refund_prefix,
        "time_format": time_format,
        "status": status,
        "timezone": timezone,
    }
    with step_status(f"reading {input_.name}"):
        report, timer = adapt_job(
            input_,
            out,
            columns,
            preset,
            inactivity_days,
            parse_date(until, "--until"),
            decimal_comma,
            completed,
            tuple(rate or ()),
        )
    if report.after_until:
        console.print(f"left out {report.after_until:,} lines on or after {report.until} (--until)")
    from churnml.contract.adapters.transactions import status_value_text

    for value, counts in report.status_values.items():  # what --status made of each value
        console.print(escape(status_value_text(value, counts)))
    for reason, n in report.skipped.items():
        if n:
            hint = " (not ISO 8601? use --time-format)" if reason == "unparsable_time" else ""
            if reason == "missing_customer" and report.guest_emails:
                col, lines = max(report.guest_emails.items(), key=lambda kv: kv[1])
                hint = (
                    f" ({lines:,} of them hold an e-mail in column {col!r}: guest checkouts; --customer "
                    f"{shlex.quote(col)} reads every line by its e-mail, a registered customer's guest orders with "
                    "its others)"
                )
            console.print(f"[yellow]skipped[/] {n:,} rows: " + escape(f"{reason.replace('_', ' ')}{hint}"))
    if report.blank_invoice_lines:
        n = report.blank_invoice_lines
        console.print(
            escape(
                f"{n:,} {'line has' if n == 1 else 'lines have'} a blank invoice (column "
                f"{report.spec.get('invoice')!r}): one order per customer and time"
            )
        )
    for problem, n in report.zone_repairs.items():  # times read in --timezone whose clock time moved
        console.print("[yellow]note[/] " + escape(f"{problem}: {n:,} {'line' if n == 1 else 'lines'}"))
    if report.currencies:
        seen = ", ".join(f"{c} ({n:,} lines)" for c, n in report.currencies.items())
        console.print(
            "[yellow]warning[/] "
            + escape(
                f"the currency column holds several currencies: {seen}; their amounts were summed as they "
                "are. Give each other currency's rate into the main one (e.g. --rate GBP=1.17), or convert "
                "them first"
            )
        )
    for customer, orders in report.placeholder_customers.items():
        console.print(
            "[yellow]warning[/] "
            + escape(
                f"customer {customer!r} reads as a placeholder and has {orders:,} of the {report.payments:,} "
                "orders: if it stands for guest checkouts or unknown buyers, blank it in the file (lines "
                "without a customer are skipped) and adapt again; churnml treats it as one customer"
            )
        )
    if report.duplicate_lines:
        console.print(
            "[yellow]warning[/] "
            + escape(
                f"{report.duplicate_lines:,} lines repeat an earlier line in every column; they are kept (an "
                "order may list one item twice) and their amounts count each time: if an export was appended "
                "twice, remove the copy and adapt again"
            )
        )
    if report.case_merged_ids:
        console.print(
            f"merged {report.case_merged_ids:,} customer e-mail(s) written in another letter case into one "
            "lower-case customer each (Anna@shop.com = anna@shop.com)"
        )
    from churnml.jobs.adapt import SUGGESTED_CONFIG

    if (out / SUGGESTED_CONFIG).is_file():
        console.print(
            f"kept {out}/churnml.yaml (a model may have been trained with it, and it may hold your edits); the "
            f"settings this log gives now (zones from its churn rate, its horizon) are in {out}/{SUGGESTED_CONFIG}"
        )
    cut = f", {report.after_until:,} on or after {report.until}" if report.after_until else ""
    netted = report.netted_refund_lines
    refunds = f"{report.refund_payments:,} refunds" + (
        f"; {netted:,} refund lines netted into the paid orders they share an invoice with" if netted else ""
    )
    if report.refunded_sale_lines:
        refunds += (
            f"; {report.refunded_sale_lines:,} lines of sales whose status says refunded or returned read as the "
            "sale and its refund (at the sale's time)"
        )
    out_console.print(
        f"{report.input_rows:,} rows -> {report.kept_lines:,} lines kept ({report.skipped_total:,} skipped{cut}), "
        f"{report.clients:,} clients, {report.payments:,} payments ({refunds}), "
        f"{report.events:,} events; {report.first_time:%Y-%m-%d} .. {report.last_time:%Y-%m-%d}; "
        f"{timer.total():.1f}s -> {out}/ (see adapt_report.json, use --config {out}/churnml.yaml)"
    )


FolderOutOpt = Annotated[Path | None, typer.Option("--out", help="Output FOLDER (written atomically).")]


@app.command()
@friendly
def winback(
    out: FolderOutOpt = None,
    data: DataOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """The win-back list (every client gone, from the day it leaves) and, with interventions, what worked.

    Writes <out>/ (default data/winback/): winback.csv|parquet (stage, reason segment, decision with its
    reason in words, action, cadence), attempts, return_rates, ab_tests, retention_contacts and winback.html.
    Settings: winback.* in the config (configs/default.yaml documents them).

    Example: churnml winback --data data/raw --out data/winback
    """
    from rich.table import Table as RichTable

    from churnml.jobs.reports import winback as winback_job

    cfg = config_from(config, set_)
    with step_status("reading the data, planning and measuring win-backs"):
        run = winback_job(data, cfg, out)
    plan, tests, as_of, folder = run.plan, run.tests, run.as_of, run.folder
    summary = RichTable(title=f"win-back list as of {as_of} (top 10 of {plan.height:,})")
    text_cols = ("client_id", "stage", "reason_segment", "decision", "action")
    for col in ("priority", *text_cols, "lifetime_value"):
        summary.add_column(col, justify="left" if col in text_cols else "right", overflow="fold")
    for row in plan.head(10).iter_rows(named=True):
        summary.add_row(
            str(row["priority"] or "-"),
            *[str(row[c]) for c in text_cols],
            "unknown" if row["lifetime_value"] is None else f"{row['lifetime_value']:,.0f}",
        )
    out_console.print(summary)
    counts = plan.group_by("decision").len().sort("decision").rows()
    out_console.print(", ".join(f"{n:,} {d}" for d, n in counts) + f" -> {folder}/")
    for note in run.notes:
        flagged("note", note)
    for sentence in tests.get_column("sentence").to_list():
        out_console.print(sentence, highlight=False, soft_wrap=True)


@app.command()
@friendly
def metrics(
    out: FolderOutOpt = None,
    data: DataOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Churn rate by both formulas, (C1 - C2) / C1 and (C1 + C3 - C2) / C1, by clients and revenue
    (gross and net), per month and quarter, overall and per segment.

    Writes <out>/ (default data/metrics/): churn_rates.csv|parquet (period = month or quarter) and
    churn_rates.html. Churn follows label.source; incomplete periods, periods in the warm-up at the data's start
    (clients of their start not all in the data: a subscriptions export cut at its start), the data's first period
    (no client active at its start yet) and periods that start with fewer than 20 clients are marked and have no rate.

    Example: churnml metrics --data data/raw --out data/metrics
    """
    import polars as pl
    from rich.table import Table as RichTable

    from churnml.jobs.reports import churn_metrics
    from churnml.reporting.metrics import (
        ALL_SEGMENTS,
        UNRATED_MEANING,
        first_rate_note,
        period_unrated_reasons,
        revenue_wait_note,
    )

    cfg = config_from(config, set_)
    with step_status("reading and counting churn per month and quarter"):
        run = churn_metrics(data, cfg, out)
    reports, table, folder = run.reports, run.table, run.folder
    for period, report in reports.items():
        overall = report.filter(pl.col("segment") == ALL_SEGMENTS)
        basis = overall["mrr_basis"][0] if overall.height else "none"
        summary = RichTable(title=f"churn rate per {period} (revenue basis {basis})")
        headers = ("start", "C1", "C2", "C3", "(C1-C2)/C1", "(C1+C3-C2)/C1", "rev f1", "rev net", "rev gross")
        for col in headers:
            summary.add_column(col, justify="left" if col == "start" else "right")

        def pct(v: float | None) -> str:
            return "-" if v is None else f"{v:.1%}"

        overall = overall.sort("period_start")
        reasons = period_unrated_reasons(overall)
        for row, why in zip(overall.iter_rows(named=True), reasons, strict=True):
            summary.add_row(
                f"{row['period_start']}" + (f" ({why})" if why else ""),
                f"{row['c1']:,}",
                f"{row['c2']:,}",
                f"{row['c3']:,}",
                pct(row["churn_rate_f1"]),
                pct(row["churn_rate_f2"]),
                pct(row["revenue_churn_f1"]),
                pct(row["revenue_churn_f2"]),
                pct(row["revenue_churn_gross"]),
            )
        out_console.print(summary)
        for why in dict.fromkeys(r for r in reasons if r):
            out_console.print(f"  {why}: {UNRATED_MEANING[why]}; no rate")
        for note in (first_rate_note(report, run.as_of), revenue_wait_note(report, run.data_start)):
            if note:
                out_console.print(f"note: {note}", soft_wrap=True)
    out_console.print(f"{table.height:,} rows -> {folder}/churn_rates.csv, churn_rates.html")


@app.command()
@friendly
def postmortem(
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="First day of the period, YYYY-MM-DD (default: the oldest written list)."
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Day after the period, YYYY-MM-DD, exclusive (default: the data end)."),
    ] = None,
    out: FolderOutOpt = None,
    data: DataOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    scores: Annotated[
        Path | None,
        typer.Option(
            "--scores", help="Folder of the written lists, <scores>/<as-of>/ (default: paths.scores)."
        ),
    ] = None,
    early_weeks: Annotated[
        int | None,
        typer.Option(
            "--early-weeks",
            help="Flagged at least this many weeks before leaving = early (default: 4, or half the "
            "horizon's weeks when less).",
        ),
    ] = None,
) -> None:
    """Review each churn of the period against what the written lists said before it.

    For each client that left: its reason, how many weeks before leaving it first turned yellow / red,
    its top driver then, and the churners the list missed; totals by reason and driver family. Reads
    every <scores>/<date>/scores.parquet and history.parquet; nothing is rescored. Writes <out>/
    (default data/postmortem/): postmortem, by_reason, by_family (.csv|.parquet) and postmortem.html.

    Example: churnml postmortem --data data/raw --from 2025-03-01 --to 2025-09-01
    """
    from rich.table import Table as RichTable

    from churnml.jobs.reports import postmortem as postmortem_job

    cfg = config_from(config, set_)
    root = scores if scores is not None else cfg.paths.scores
    start, end = parse_date(from_, "--from"), parse_date(to, "--to")
    with step_status(f"reading the data and the written lists under {root}"):
        run = postmortem_job(data, cfg, out, scores, start, end, early_weeks)
    review, by_reason, folder, start, end = run.review, run.by_reason, run.folder, run.start, run.end
    if not run.lists:
        console.print(
            f"[yellow]warning:[/] no written list of this dataset under {root}: every churn is 'not reviewed'"
        )
    summary = RichTable(
        title=f"post-mortem of {review.height:,} churns, {start} to {end} ({run.lists} lists)"
    )
    for col in ("reason", "churns", "reviewed", "caught early", "caught late", "missed", "caught", "weeks"):
        summary.add_column(col, justify="left" if col == "reason" else "right")
    for row in by_reason.iter_rows(named=True):
        summary.add_row(
            str(row["reason"]),
            f"{row['churns']:,}",
            f"{row['reviewed']:,}",
            f"{row['caught_early']:,}",
            f"{row['caught_late']:,}",
            f"{row['missed']:,}",
            "-" if row["caught_share"] is None else f"{row['caught_share']:.0%}",
            "-" if row["median_weeks_warning"] is None else f"{row['median_weeks_warning']:.0f}",
        )
    out_console.print(summary)
    from churnml.reporting.postmortem import caught_after_leaving, review_lead

    if review.height == 0:  # none, or none known yet (a period past the churns the data can decide)
        console.print(review_lead(review, start, end, run.early_weeks, run.known_until))

    after = caught_after_leaving(review)
    if after:  # caught late, not early: the client had stopped ordering before the first flag
        console.print(
            f"{after:,} of the caught churns were first flagged only after the client had left (its last order "
            "or activity): caught late, not an early warning (postmortem.csv, flagged_after_leaving)"
        )
    if run.hindsight:
        from churnml.reporting.postmortem import hindsight_warning

        flagged("warning", hindsight_warning(run.hindsight, run.lists))
    if run.note:
        flagged("warning", run.note)
    out_console.print(f"-> {folder}/postmortem.csv, by_reason.csv, by_family.csv, postmortem.html")


# ----------------------------------------------------------------------------------------------
# bench   (benchmarks that print figures)
# ----------------------------------------------------------------------------------------------
@bench_app.command("models")
@friendly
def bench_models(
    data: DataOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    truth: Annotated[
        Path | None, typer.Option("--truth", help="Truth FOLDER of generated data: adds the oracle.")
    ] = None,
    folds: Annotated[
        int | None, typer.Option("--folds", min=1, help="Backtest folds (default: train.folds).")
    ] = None,
    test_days: Annotated[
        int | None,
        typer.Option("--test-days", min=7, help="Days per fold's test window (default: train.test_days)."),
    ] = None,
    monotone: Annotated[
        bool | None,
        typer.Option("--monotone/--no-monotone", help="Monotone constraints (default: train.monotone)."),
    ] = None,
    btyd: Annotated[
        str,
        typer.Option("--btyd", help="BG/NBD fitter: own (max. likelihood) or pymc-marketing (bench extra)."),
    ] = "own",
    title: Annotated[
        str | None, typer.Option("--title", help="Section title (default: the folder name).")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Markdown FILE; this dataset's section is replaced or appended.")
    ] = Path("docs/benchmarks.md"),
) -> None:
    """churnml against the no-order rule, the health score, RFM + logistic, logistic and BG/NBD, per fold.

    The folds are the backtest of `churnml train` (every method on the same rows); a fold's cutoff is
    the first day of its test window.

    Example: churnml bench models --data data/raw --truth data/truth --folds 4 --out docs/benchmarks.md
    """
    import shlex

    from rich.table import Table as RichTable

    from churnml.jobs.bench import bench_models as bench_job
    from churnml.modeling.benchmark import BENCH_METRICS, comparison_cells, mean_scores

    cfg = config_from(config, set_)
    update = {
        k: v for k, v in (("folds", folds), ("test_days", test_days), ("monotone", monotone)) if v is not None
    }
    folder = data_dir(data, cfg)
    command = "churnml " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    timer = Timer()
    with step_status("[bold]bench models[/] reading the dataset") as status:
        result = bench_job(
            data,
            cfg,
            cfg.train.model_copy(update=update),
            truth,
            btyd,
            title,
            out,
            command,
            lambda msg: status.update(f"[bold]bench models[/] {msg}"),
        )
    shown = RichTable(title=f"bench models: {folder}")
    for col in ("cutoff", "method", *BENCH_METRICS):
        shown.add_column(col, justify="left" if col in ("cutoff", "method") else "right")

    def cells(row: Any) -> list[str]:
        return [f"{row[c]:.2f}" if c.endswith("_s") else f"{row[c]:.3f}" for c in BENCH_METRICS]

    for _, row in result.scores.iterrows():
        shown.add_row(str(row["cutoff"]), row["method"], *cells(row))
    for method, row in mean_scores(result.scores).iterrows():
        shown.add_row("mean", str(method), *cells(row), style="bold")
    out_console.print(shown)
    if not result.comparison.empty:  # the question the command answers: does churnml beat the best of them?
        verdicts = RichTable(title="churnml against the best other method on the same rows (90% interval)")
        for col in (
            "cutoff",
            "PR-AUC: best other",
            "churnml - it",
            "",
            "Brier: best other",
            "churnml - it ",
            " ",
        ):
            verdicts.add_column(col)
        for row in result.comparison.to_dict("records"):
            verdicts.add_row(*comparison_cells(row), style="bold" if row["cutoff"] == "mean" else None)
        out_console.print(verdicts)
    for note in result.notes:
        out_console.print(f"note: {note}")
    out_console.print(f"wrote {Path(out).resolve()} in {timer.total():.0f}s")


def main() -> None:  # pragma: no cover - console entry for `python -m churnml`
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
