"""The ``churnml bench models`` job: churnml against the usual methods on the backtest folds of
``train`` (every method on the same rows), its section spliced into a markdown file.

The comparison is :func:`churnml.modeling.benchmark.benchmark_models`; the splicing is
:func:`spliced_markdown` (pure: text in, text out)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from churnml.config import Config, TrainConfig
from churnml.jobs.common import UserError, config_for, data_folder

__all__ = ["BENCH_HEADING", "BENCH_MARKER", "bench_models", "checked_bench_file", "spliced_markdown"]

BENCH_HEADING = "## Models against the usual methods"
BENCH_MARKER = "<!-- bench models: "  # what every section churnml writes begins with


def spliced_markdown(text: str | None, section: str, name: str) -> str:
    """``text`` (the markdown file, None when it does not exist yet) with the section of dataset
    ``name`` replaced between its markers, or appended under :data:`BENCH_HEADING`."""
    begin, end = f"{BENCH_MARKER}{name} -->", f"<!-- /bench models: {name} -->"
    block = f"{begin}\n{section}{end}\n"
    text = text if text is not None else "# Benchmarks\n\n"
    if begin in text and end in text:
        return text[: text.index(begin)] + block + text[text.index(end) + len(end) + 1 :]
    if BENCH_HEADING not in text:
        text = text.rstrip("\n") + f"\n\n{BENCH_HEADING}\n\n"
    return text.rstrip("\n") + "\n\n" + block


def checked_bench_file(out: Path) -> str | None:
    """The text of the markdown file ``out`` that ``bench models`` will splice its section into (None: a
    new file). Refuses a folder, and an existing file that holds no section churnml wrote (a README, the
    user's own notes): churnml edits only the files it wrote."""
    out = Path(out)
    if out.is_dir():
        raise UserError(
            f"--out {out} is a folder: give the markdown file to write (e.g. {out / 'benchmarks.md'})"
        )
    if not out.is_file():
        return None
    text = out.read_text()
    if BENCH_MARKER not in text:
        raise UserError(
            f"--out {out} exists and holds no section written by churnml bench models: churnml only edits "
            "files it wrote; give a new file (it is created) or one it wrote before"
        )
    return text


def bench_models(
    data: Path | None,
    cfg: Config,
    train_cfg: TrainConfig,
    truth: Path | None,
    btyd: str,
    title: str | None,
    out: Path,
    command: str,
    progress: Callable[[str], None] | None = None,
) -> Any:
    """Read the dataset, compare the methods per fold (``train_cfg``, ``cfg.train`` with the command's
    overrides, gives the folds), splice this
    dataset's section (titled ``title``, else the dataset's name; ``command`` is how to rerun it) into the
    markdown file ``out``; returns the :class:`churnml.modeling.benchmark.BenchmarkResult`."""
    from churnml.contract.io import read_dataset, write_text_atomic
    from churnml.jobs.batches import whole_labeled_table
    from churnml.jobs.inputs import no_truth_note, truth_oracle
    from churnml.labels import label_lag_days
    from churnml.modeling.baselines import baseline_rules
    from churnml.modeling.benchmark import benchmark_markdown, benchmark_models, purchases
    from churnml.modeling.experiment import feature_columns
    from churnml.modeling.train import monotone_directions

    say = progress or (lambda _m: None)
    folder = data_folder(data, cfg)
    checked_bench_file(out)  # refused before any work
    cfg = config_for(folder, cfg)
    dataset = read_dataset(folder, cfg.data)
    table = whole_labeled_table(dataset, cfg, say).frame  # train's own table (float32)
    oracle = truth_oracle(truth, cfg.label.horizon_days)
    oracle_now = truth_oracle(truth, cfg.label.horizon_days, now=True)
    try:
        result = benchmark_models(
            table,
            purchases(dataset),
            train_cfg,
            cfg.label.horizon_days,
            label_lag_days(cfg.label),
            oracle,
            say,
            btyd,
            monotone_directions(feature_columns(table), cfg.features),
            baseline_rules(cfg.rules),
            oracle_now,
        )
    except ImportError as exc:
        raise UserError(
            f"--btyd pymc-marketing needs the bench extra (pip install churnml[bench]): {exc}"
        ) from None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    missing = no_truth_note(truth)
    if missing:
        result.notes.append(missing)
    section = benchmark_markdown(result, title or dataset.name, command)
    write_text_atomic(spliced_markdown(checked_bench_file(out), section, dataset.name), out)
    return result
