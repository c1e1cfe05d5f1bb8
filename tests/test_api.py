"""The package's public API: every name of ``churnml.__all__`` resolves, and ``import churnml`` stays light.

(The API's jobs are run end to end beside the CLI in ``test_end_to_end.py``.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import churnml
from churnml import api


@pytest.mark.parametrize("name", [n for n in churnml.__all__ if n != "__version__"])
def test_every_public_name_is_the_api_function(name: str) -> None:
    assert getattr(churnml, name) is getattr(api, name)
    assert name in api.__all__


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'scroe'"):
        _ = churnml.scroe  # type: ignore[attr-defined]


def test_importing_the_package_loads_no_model_library() -> None:
    code = "import sys, churnml; print(sorted({'lightgbm', 'mlflow', 'polars'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_yaml_path_is_loaded_as_the_config(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("label:\n  horizon_days: 30\n")
    assert api._config(path).label.horizon_days == 30
    assert api._config(None).label.horizon_days == churnml.load_config().label.horizon_days


def test_a_train_summary_prints_as_one_line() -> None:
    from types import SimpleNamespace

    import pandas as pd

    from churnml.jobs.train import TrainSummary

    metrics = pd.DataFrame({"pr_auc": [0.3579, 0.2599]}, index=["model", "logistic"])
    result = SimpleNamespace(backtest=SimpleNamespace(has_estimate=True), metrics=metrics)
    summary = TrainSummary(
        result=result,  # type: ignore[arg-type]
        run_id="abc",
        version="3",
        promoted=True,
        reason="mean fold PR-AUC 0.3579 is above logistic 0.2599",
        exported_to=Path("models"),
        tracking_uri="sqlite:///mlflow.db",
        experiment="churnml-raw",
        tuned_from=None,
        seconds={},
        model_name="churnml-raw",
    )
    assert repr(summary) == (
        "TrainSummary(churnml-raw v3 promoted, pooled backtest PR-AUC 0.3579; mean fold PR-AUC 0.3579 is above logistic 0.2599; "
        "exported to models; run abc)"
    )
