"""The notebooks run on a small generated dataset (so they cannot rot) and compute what the list says."""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from churnml.cli import app
from cli_settings import FAST_TRAIN, set_flags

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module")
def scored_list(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weekly list of 200 generated clients over 8 months: generate -> train -> score in a temp folder."""
    root = tmp_path_factory.mktemp("notebook_data")
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(root)
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}"}
    try:
        for args in (
            [
                "generate",
                "--out",
                "raw",
                "--clients",
                "200",
                "--months",
                "8",
                "--churn-rate",
                "0.06",
                "--seed",
                "5",
            ],
            [
                "train",
                "--data",
                "raw",
                "--out",
                "models",
                *set_flags([*FAST_TRAIN, f"paths.tune={root / 'tune'}"]),
            ],
            ["score", "--data", "raw", "--model", "models", "--out", "list", *set_flags(FAST_TRAIN)],
        ):
            result = runner.invoke(app, args, env=env)
            assert result.exit_code == 0, result.output
    finally:
        os.chdir(old)
    return root / "list"


def _venv_kernel(folder: Path) -> str:
    """A kernel spec running this interpreter (the venv's Python), found through ``JUPYTER_PATH``."""
    spec = folder / "kernels" / "churnml-venv"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "churnml", "language": "python"})
    )
    return "churnml-venv"


def test_explanation_review_runs_and_summarises_the_list(
    scored_list: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = nbformat.read(NOTEBOOKS / "explanation_review.ipynb", as_version=4)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("CHURNML_LIST", str(scored_list))
    kernel = _venv_kernel(tmp_path / "jupyter")
    nbclient.NotebookClient(
        nb, kernel_name=kernel, timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    last = nb.cells[-1]
    summary = ast.literal_eval(last.outputs[0]["data"]["text/plain"])
    scores = pl.read_parquet(scored_list / "scores.parquet")
    explained = scores.filter(pl.col("driver_1_sentence").is_not_null())
    assert summary["clients"] == scores.height > 0
    assert summary["explained"] == explained.height
    assert summary["lead_families"] == sorted(explained.get_column("driver_1_family").unique().to_list())
    top = scores.sort("priority").get_column("client_id")[0]
    history = pl.read_parquet(scored_list / "history.parquet")
    assert summary["top_client_weeks"] == history.filter(pl.col("client_id") == top).height >= 1
