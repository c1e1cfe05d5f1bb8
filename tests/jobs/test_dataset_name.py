"""One dataset under one name (``data.name``, :func:`churnml.contract.io.dataset_name`), whatever folder it is
read from: a weekly export written to a folder per date (``exports/2024-11-25/``, ``exports/2024-12-02/``) is
scored with its champion and reads last week's list, its history and who left since, only when ``data.name``
names it; without it each folder is its own dataset, as before."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from churnml.cli import app
from churnml.config import DataConfig, load_config
from churnml.contract.io import dataset_name, read_dataset, write_tables
from churnml.demo.synth import SynthParams, synthetic_chunk
from churnml.scoring.columns import Scores

WEEK_1, WEEK_2 = date(2024, 11, 25), date(2024, 12, 2)  # two Mondays, 11 months into the data
SCORE = ["--set", "score.history_weeks=4"]


def test_the_dataset_name_is_data_name_else_the_folder_s(tmp_path: Path) -> None:
    folder = tmp_path / "exports" / "2024-12-02"
    folder.mkdir(parents=True)
    assert dataset_name(folder, DataConfig()) == "2024-12-02"
    assert dataset_name(tmp_path / "exports" / "." / "2024-12-02", DataConfig()) == "2024-12-02"
    assert dataset_name(folder, DataConfig(name="crm")) == "crm"
    # as YAML and --set read it: a date or a number is its text; a path or a model URI's separators are refused
    assert load_config(None, ["data.name=2024-12-02"]).data.name == "2024-12-02"
    for bad in ("crm/eu", "crm@champion", "models:crm", " "):
        with pytest.raises(ValueError, match="a dataset name is a plain name"):
            load_config(None, [f"data.name={bad!r}"])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """80 generated clients x 12 months exported twice, to ``exports/2024-11-25`` and ``exports/2024-12-02``
    (the same tables: the lists differ by their date), and a small model learned from the dataset named
    ``crm``: exported to ``models/`` and registered as ``churnml-crm@champion`` in ``mlflow.db``, as
    ``churnml train --set data.name=crm`` leaves them."""
    from churnml.features import build_features
    from churnml.labels import active_spine
    from churnml.modeling.export import export_model, feature_reference
    from churnml.modeling.tracking import (
        log_churn_model,
        record_promotion,
        register_model,
        tracked_run,
    )
    from churnml.modeling.train import ChurnModel

    root = tmp_path_factory.mktemp("weekly")
    chunk = synthetic_chunk(SynthParams(clients=80, months=12, seed=11), 0)
    exports = {day: root / "exports" / day.isoformat() for day in (WEEK_1, WEEK_2)}
    write_tables({str(t): f for t, f in chunk.tables.items()}, exports[WEEK_1])
    shutil.copytree(exports[WEEK_1], exports[WEEK_2])
    cfg = load_config()
    dataset = read_dataset(exports[WEEK_1], cfg.data)
    snaps = [date(2024, 4, 1) + timedelta(weeks=k) for k in range(0, 30, 3)]
    table = build_features(dataset, active_spine(dataset, snaps, cfg.label), cfg.features)
    names = [c for c in table.columns if c not in ("client_id", "snapshot")]
    X = table.select(names).cast(pl.Float64).to_pandas()
    rng = np.random.default_rng(3)
    late = X["usage_days_since_login"].fillna(99).to_numpy() > 10
    y = (late ^ (rng.uniform(size=len(X)) < 0.1)).astype(int)
    params = {"n_estimators": 20, "num_leaves": 4, "min_child_samples": 5, "learning_rate": 0.3}
    model = ChurnModel(params=params, early_stopping_rounds=5, n_jobs=1).fit(X, y, eval_set=(X, y))
    meta = {"dataset": "crm", "promoted": True, "feature_reference": feature_reference(X)}
    folder = export_model(model, root / "models", meta)
    store = f"sqlite:///{root / 'mlflow.db'}"
    with tracked_run(store, "churnml-crm"):
        version = register_model(log_churn_model(model, folder, X), "churnml-crm", {})
    record_promotion(store, "churnml-crm", version, True, "no champion yet")
    return {"root": root, "exports": exports, "models": folder, "store": store}


def _score(project: dict[str, Any], where: Path, day: date, *extra: str) -> tuple[int, str, Path]:
    """``churnml score`` of the export of ``day``, run in the project folder ``where`` (its lists go to
    ``where/data/scores/<day>``): exit code, output, the list folder."""
    args = ["score", "--data", str(project["exports"][day]), "--as-of", day.isoformat(), *SCORE]
    args += ["--set", f"paths.models={project['models']}", *extra]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output, where / "data" / "scores" / day.isoformat()


@pytest.fixture
def in_project(project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", project["store"])
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text())


@pytest.mark.slow
def test_a_weekly_export_folder_per_date_is_one_dataset_under_data_name(project, in_project) -> None:  # type: ignore[no-untyped-def]
    named = ["--set", "data.name=crm"]
    code, said, first = _score(project, in_project, WEEK_1, *named)
    assert code == 0, said
    code, said, second = _score(project, in_project, WEEK_2, *named)
    assert code == 0, said
    manifest = _manifest(second)
    # the second week's folder is the dataset crm: its champion, without --model
    assert manifest["data"]["name"] == "crm"
    assert manifest["model"]["source"] == "models:/churnml-crm@champion"
    assert manifest["model"]["trained_on"] == "crm" and manifest["model"]["promoted"] is True
    # last week's list is its own: its history reused, who left since it read
    assert manifest["history"]["snapshots_reused"] > 0
    assert manifest["left_since_last_list"]["list"] == WEEK_1.isoformat()
    scores = pl.read_parquet(second / "scores.parquet")
    assert scores.get_column(Scores.PREVIOUS_PROBABILITY).null_count() < scores.height
    report = (second / "report.html").read_text(encoding="utf-8")
    assert "Model not promoted" not in report and "Model from another dataset" not in report
    assert _manifest(first)["data"]["name"] == "crm"


@pytest.mark.slow
def test_without_data_name_each_export_folder_is_its_own_dataset(project, in_project) -> None:  # type: ignore[no-untyped-def]
    # no champion churnml-2024-12-02, and models/ holds crm's model: refused, saying how to name the dataset
    code, said, _ = _score(project, in_project, WEEK_2)
    assert code == 1
    assert "--set data.name=crm" in " ".join(said.split())
    # scored with crm's champion by name: each folder is still its own dataset, as before data.name
    champion = ["--model", "models:/churnml-crm@champion"]
    code, said, _ = _score(project, in_project, WEEK_1, *champion)
    assert code == 0, said
    code, said, second = _score(project, in_project, WEEK_2, *champion)
    assert code == 0, said
    manifest = _manifest(second)
    assert manifest["data"]["name"] == "2024-12-02"
    assert manifest["history"]["snapshots_reused"] == 0
    assert manifest["left_since_last_list"] is None
    report = (second / "report.html").read_text(encoding="utf-8")
    # the model was promoted: the banner says it learned from another dataset, and how to name this one
    assert "Model not promoted" not in report
    assert "<b>Model from another dataset.</b>" in report and "set data.name: crm" in report
