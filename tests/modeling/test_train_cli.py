"""End to end: generate tiny CRM data, `churnml train` twice into a temporary MLflow store and folder."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from churnml.cli import app
from cli_settings import FAST_TRAIN, set_flags

pytestmark = pytest.mark.slow

FAST = [*FAST_TRAIN, "train.min_isotonic_positives=100000"]


def test_train_end_to_end_on_generated_data(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    gen = runner.invoke(
        app,
        [
            "generate",
            "--out",
            "raw",
            "--truth-out",
            "truth",
            "--clients",
            "250",
            "--months",
            "8",
            "--churn-rate",
            "0.06",
            "--seed",
            "3",
        ],
    )
    assert gen.exit_code == 0, gen.output
    args = ["train", "--data", "raw", "--truth", "truth", "--out", "models"]
    args += set_flags(FAST)
    args += ["--set", f"paths.tune={tmp_path / 'tune'}"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    for contender in ("model", "logistic", "rules", "oracle"):
        assert f" {contender} " in first.output
    assert "v1 promoted to champion (no champion yet)" in first.output
    assert "total time" in first.output
    meta = json.loads((tmp_path / "models" / "metadata.json").read_text())
    assert meta["model_version"] == "1" and meta["label"]["horizon_days"] == 28
    assert set(meta["feature_reference"]) == set(meta["feature_names"])
    assert (tmp_path / "store" / "mlflow.db").is_file()  # MLFLOW_TRACKING_URI won over the config


def test_train_on_too_short_data_says_how_many_days(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    runner.invoke(
        app, ["generate", "--out", "raw", "--truth-out", "truth", "--clients", "40", "--months", "6"]
    )
    result = runner.invoke(app, ["train", "--data", "raw"])
    assert result.exit_code == 1
    assert "needs" in result.output and "days" in result.output
