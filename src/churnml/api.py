"""churnml from Python: the CLI's jobs as functions, and the pieces a notebook needs.

Everything here is also importable from the package itself (``churnml.train`` is :func:`train`)::

    from datetime import date
    import churnml

    cfg = churnml.load_config("churnml.yaml")      # the defaults, then your YAML (as --config does)
    dataset = churnml.read_dataset("data/raw", cfg)  # read and validated; a ContractError names the rows
    summary = churnml.train("data/raw", cfg)        # backtest, refit, MLflow, champion gate, export
    run = churnml.score("data/raw", cfg)            # the weekly list, written as `churnml score` writes it
    run.result.scores                               # ... and in memory: one row per client (Polars)
    model, card = churnml.load_model("data/raw", cfg)  # what score would use (or a folder, models:/...)
    X = churnml.snapshot_feature_table(dataset, date(2026, 1, 1), cfg.label, cfg.features)
    p = model.churn_probability(X)                   # calibrated, over label.horizon_days

Each function takes the folder of the export (``data``; ``None``: ``paths.data``) and a configuration
(a :class:`churnml.config.Config`, a YAML path, or ``None`` for the defaults) and does what the command of
the same name does, with the same checks and the same files written; errors are
:class:`churnml.jobs.common.UserError` / :class:`churnml.contract.validation.ContractError` with the
message the CLI prints.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from churnml.config import Config, DataConfig, load_config
from churnml.pipeline import labeled_feature_table, snapshot_feature_table

if TYPE_CHECKING:
    from churnml.contract.dataset import Dataset
    from churnml.jobs.score import ScoreRun
    from churnml.jobs.train import TrainSummary
    from churnml.modeling.train import ChurnModel

__all__ = [
    "labeled_feature_table",
    "load_config",
    "load_model",
    "read_dataset",
    "score",
    "snapshot_feature_table",
    "train",
]

ConfigLike = Config | str | Path | None


def _config(config: ConfigLike) -> Config:
    """A :class:`Config` as given, or loaded from a YAML path (the defaults for ``None``)."""
    return config if isinstance(config, Config) else load_config(config)


def _folder(data: str | Path | None) -> Path | None:
    return None if data is None else Path(data)


def read_dataset(data: str | Path | None = None, config: ConfigLike | DataConfig = None) -> Dataset:
    """Every table of the export folder ``data`` (``None``: ``paths.data``), read, typed and validated
    against the contract (:func:`churnml.contract.io.read_dataset`)."""
    from churnml.contract.io import read_dataset as read

    data_cfg = config if isinstance(config, DataConfig) else _config(config).data
    if data is None:
        data = _config(config if not isinstance(config, DataConfig) else None).paths.data
    return read(Path(data), data_cfg)


def train(
    data: str | Path | None = None,
    config: ConfigLike = None,
    *,
    out: str | Path | None = None,
    truth: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainSummary:
    """``churnml train``: the backtest against the baselines, the refit on every labeled snapshot, the
    MLflow run and registry, the champion gate and the export to ``out`` (``None``: ``paths.models``).
    ``truth``: a folder with ``hazard.parquet`` for the oracle row. ``progress`` gets one line per step."""
    from churnml.jobs.train import train as train_job

    return train_job(_folder(data), _config(config), _folder(truth), _folder(out), progress)


def score(
    data: str | Path | None = None,
    config: ConfigLike = None,
    *,
    as_of: date | None = None,
    out: str | Path | None = None,
    model: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> ScoreRun:
    """``churnml score``: the weekly list at ``as_of`` (``None``: the day after the data ends), written to
    ``out`` (``None``: ``<paths.scores>/<as-of>/``); ``model`` as ``--model`` (an exported folder or
    ``models:/<name>@champion``; ``None``: this dataset's champion). The list itself is
    ``run.result.scores`` (columns: :class:`churnml.scoring.columns.Scores`)."""
    from churnml.jobs.score import score as score_job

    spec = None if model is None else str(model)
    return score_job(_folder(data), _config(config), as_of, _folder(out), spec, progress)


def load_model(
    data: str | Path | None = None, config: ConfigLike = None, model: str | Path | None = None
) -> tuple[ChurnModel, dict[str, Any]]:
    """(model, model card) that ``churnml score --data data [--model model]`` would use: ``model`` (an
    exported folder or ``models:/<name>@champion``), else the tracking store's champion of the dataset
    in ``data``, else the export folder ``paths.models`` (refused when it holds another dataset's model).
    ``model.feature_names_`` are the columns it reads; the card holds the training window, the label and
    the backtest figures (what ``models/metadata.json`` holds)."""
    from churnml.contract.io import dataset_name
    from churnml.jobs.common import data_folder
    from churnml.jobs.score import scoring_model

    cfg = _config(config)
    folder = data_folder(_folder(data), cfg)
    loaded, card, _source = scoring_model(
        None if model is None else str(model), cfg, dataset_name(folder, cfg.data)
    )
    return loaded, card
