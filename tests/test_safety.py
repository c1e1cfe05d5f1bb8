"""Issue 11, one test per case: nothing lost (churnml only replaces what it wrote), nothing silently
wrong (stricter input checks), trustworthy model files (data, not pickles; one-line errors).

Every test runs on a tiny dataset in ``tmp_path`` and checks the exit status, the table and column
named in the message, and that no user file was touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from churnml.cli import app
from churnml.config import ConfigError, DataConfig, LabelConfig, load_config
from churnml.contract.io import read_dataset, write_tables
from churnml.contract.schemas import Table
from churnml.contract.validation import ContractError, lagging_tables, table_spans
from churnml.modeling.export import (
    calibrator_data,
    calibrator_from_data,
    checked_export_folder,
    dark_features,
    export_model,
    label_mismatches,
    load_exported,
)
from churnml.modeling.train import ScoreCalibrator
from churnml.scoring.outputs import OutputError, output_lock, write_scores_atomically
from test_scoring import AS_OF, tiny_tables, train_tiny_model

CFG = DataConfig(as_of=date(2024, 12, 31))


# -- helpers ---------------------------------------------------------------------------------------
def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder``: equal before and after = untouched."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def tiny_csv_dataset(folder: Path, **replace: str) -> Path:
    """A valid dataset of two clients as CSV text; ``replace`` swaps a table's whole file text."""
    texts = {
        "clients": "client_id,created_at\nc1,2024-01-01\nc2,2024-02-01\n",
        "events": "client_id,ts,event\nc1,2024-05-01,login\nc2,2024-05-02,login\nc1,2024-06-01,login\n",
        "subscriptions": "client_id,start_date,end_date,mrr\nc1,2024-01-01,2025-01-01,100\n"
        "c2,2024-02-01,2025-02-01,250\n",
    }
    texts.update(replace)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / f"{name}.csv").write_text(text)
    return folder


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, " ".join(result.output.split())  # one line, whatever the console width


def validate(folder: Path, *extra: str) -> tuple[int, str]:
    return invoke("validate", "--data", str(folder), *extra)


# == data loss: score --out / train --out ========================================================
@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tiny_csv_dataset(tmp_path / "raw")


def score_out(data: Path, out: Path | str, *extra: str) -> tuple[int, str]:
    return invoke("score", "--data", str(data), "--out", str(out), "--model", "no-such-model", *extra)


def test_score_out_refuses_a_folder_of_user_files(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "mine"
    (out / "sub").mkdir(parents=True)
    (out / "notes.txt").write_text("my notes")
    (out / "sub" / "keep.csv").write_text("a,b\n1,2\n")
    before = snapshot(out)
    code, text = score_out(data, out)
    assert code == 1
    assert "is not a churnml output" in text and "notes.txt" in text and "Give a new or empty folder" in text
    assert snapshot(out) == before


def test_score_out_may_not_be_the_input_dataset(data: Path) -> None:
    before = snapshot(data)
    code, text = score_out(data, data)
    assert code == 1
    assert "is the input dataset (--data)" in text
    assert snapshot(data) == before


def test_score_out_may_not_be_the_current_folder_or_contain_it(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "project" / "work"
    work.mkdir(parents=True)
    (work / "keep.txt").write_text("x")
    monkeypatch.chdir(work)
    for out in (".", str(work), str(tmp_path / "project")):
        code, text = score_out(data, out)
        assert code == 1, out
        assert "the current folder" in text, text
    assert (work / "keep.txt").read_text() == "x"
    assert sorted(p.name for p in (tmp_path / "project").iterdir()) == ["work"]


def test_score_out_may_not_be_the_project_root(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "proj"
    (root / "sub").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname='x'\n")
    monkeypatch.chdir(root / "sub")
    code, text = score_out(data, root)
    assert code == 1
    assert f"is the project root ({root.resolve()})" in text
    assert (root / "pyproject.toml").read_text() == "[project]\nname='x'\n"


def test_score_out_may_not_lie_inside_the_input_dataset(data: Path) -> None:
    before = snapshot(data)
    code, text = score_out(data, data / "scores")
    assert code == 1
    assert "lies inside the input dataset" in text
    assert snapshot(data) == before and not (data / "scores").exists()


def test_the_default_list_folder_inside_the_dataset_is_refused_naming_paths_scores(data: Path) -> None:
    # a data folder named data/ and paths.scores data/scores: refused before the model is loaded (none here)
    before = snapshot(data)
    code, text = invoke(
        "score", "--data", str(data), "--model", "no-such-model", "--set", f"paths.scores={data / 'scores'}"
    )
    assert code == 1
    assert "the list folder (paths.scores)" in text and "give --out, or set paths.scores, outside it" in text
    assert "no-such-model" not in text  # the model was never looked for
    assert snapshot(data) == before


def test_score_out_an_existing_file_is_refused_not_hidden(tmp_path: Path, data: Path) -> None:
    target = tmp_path / "list.csv"
    target.write_text("precious")
    code, text = score_out(data, target)
    assert code == 1
    assert "is an existing file, not a folder" in text
    assert target.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["list.csv", "raw"]  # no .list.csv.old-PID


def test_a_churnml_list_with_a_foreign_file_is_not_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "2024-06-03"
    marked = b'{"written_by": "churnml"}'
    assert write_scores_atomically(folder, {"scores.csv": b"old", "manifest.json": marked})
    (folder / "my_analysis.xlsx").write_bytes(b"user work")
    with pytest.raises(OutputError, match=r"holds files churnml did not write \(my_analysis\.xlsx\)"):
        write_scores_atomically(folder, {"scores.csv": b"new", "manifest.json": marked})
    assert (folder / "my_analysis.xlsx").read_bytes() == b"user work"
    assert (folder / "scores.csv").read_bytes() == b"old"


def test_a_folder_with_a_foreign_manifest_is_not_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "webapp"
    folder.mkdir()
    (folder / "manifest.json").write_text('{"name": "my web app"}')
    with pytest.raises(OutputError, match="is not a churnml output"):
        write_scores_atomically(folder, {"manifest.json": b'{"written_by": "churnml"}'})
    assert (folder / "manifest.json").read_text() == '{"name": "my web app"}'


def test_a_second_run_on_the_same_folder_waits_then_stops_clearly(tmp_path: Path) -> None:
    folder = tmp_path / "2024-06-03"
    marked = b'{"written_by": "churnml"}'
    with output_lock(folder), pytest.raises(OutputError, match=rf"process {os.getpid()} is writing"):
        write_scores_atomically(folder, {"manifest.json": marked}, lock_wait_seconds=0.3)
    assert not folder.exists()
    # once the first run is done, the second one writes; no lock file is left behind
    assert write_scores_atomically(folder, {"manifest.json": marked}, lock_wait_seconds=0.3)
    assert (folder / "manifest.json").read_bytes() == marked
    assert [p.name for p in tmp_path.iterdir()] == ["2024-06-03"]


def test_two_processes_on_one_folder_take_turns(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    folder = tmp_path / "2024-06-03"
    holder = (
        "import sys, time; from churnml.scoring.outputs import output_lock\n"
        f"with output_lock(__import__('pathlib').Path({str(folder)!r})):\n"
        "    print('locked', flush=True); time.sleep(1.5)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        marked = b'{"written_by": "churnml"}'
        with pytest.raises(OutputError, match=rf"process {proc.pid} is writing"):
            write_scores_atomically(folder, {"manifest.json": marked}, lock_wait_seconds=0.2)
        started = time.monotonic()
        assert write_scores_atomically(folder, {"manifest.json": marked}, lock_wait_seconds=10)
        assert time.monotonic() - started < 10
    finally:
        proc.wait(timeout=20)
    assert proc.returncode == 0
    assert [p.name for p in tmp_path.iterdir()] == ["2024-06-03"]


def test_train_out_refuses_the_current_folder(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, text = invoke("train", "--data", str(data), "--out", ".")
    assert code == 1
    assert "is the current folder" in text


# == model files =================================================================================
@pytest.fixture(scope="module")
def scoring_ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny CRM of test_scoring plus a tickets table with CSAT ratings, a model trained on it (with
    its label settings recorded), and variants of the data for the scoring cases."""
    root = tmp_path_factory.mktemp("safety")
    tables = tiny_tables()
    ids = tables[Table.CLIENTS].get_column("client_id").to_list()
    rng = np.random.default_rng(5)
    rows = [
        (c, datetime(2023, 9, 10) + timedelta(days=int(d)), float(rng.integers(1, 6)))
        for c in ids
        for d in range(0, 260, 15)
    ]
    tables[Table.TICKETS] = pl.DataFrame(
        rows,
        schema={"client_id": pl.String, "opened_at": pl.Datetime("us"), "csat": pl.Float64},
        orient="row",
    )
    from churnml.contract.dataset import Dataset

    dataset = Dataset(tables, "tiny", datetime(2023, 9, 4), datetime(AS_OF.year, AS_OF.month, AS_OF.day))
    model, meta = train_tiny_model(dataset)
    from churnml.config import FeaturesConfig

    trained_with = {  # the settings train records (the auto feature settings decided for subscriptions)
        "label": LabelConfig(source="subscriptions").model_dump(mode="json"),
        "features_config": FeaturesConfig(
            lifetime=False, unobserved_windows="unknown", orders_at="paid"
        ).model_dump(mode="json"),
        "timezone": "UTC",
    }
    export_model(model, root / "model", {**meta, **trained_with})
    write_tables({str(t): f for t, f in tables.items()}, root / "raw")
    no_csat = {**tables, Table.TICKETS: tables[Table.TICKETS].drop("csat")}
    write_tables({str(t): f for t, f in no_csat.items()}, root / "raw_no_csat")
    cut = datetime(AS_OF.year, AS_OF.month, AS_OF.day) - timedelta(days=60)
    stale = {**tables, Table.PAYMENTS: tables[Table.PAYMENTS].filter(pl.col("paid_at") < cut)}
    write_tables({str(t): f for t, f in stale.items()}, root / "raw_stale_payments")
    return {
        "root": root,
        "model": root / "model",
        **{k: root / k for k in ("raw", "raw_no_csat", "raw_stale_payments")},
    }


def score(
    ws: dict[str, Path], data: str, out: str, *extra: str, model: Path | None = None
) -> tuple[int, str]:
    return invoke(
        "score",
        "--data",
        str(ws[data]),
        "--as-of",
        AS_OF.isoformat(),
        "--out",
        str(ws["root"] / out),
        "--model",
        str(model or ws["model"]),
        "--set",
        "score.history_weeks=2",
        *extra,
    )


def copied_model(ws: dict[str, Path], name: str) -> Path:
    folder = ws["root"] / name
    folder.mkdir()
    for p in ws["model"].iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    return folder


def test_the_model_folder_holds_data_not_pickles(scoring_ws: dict[str, Path]) -> None:
    names = sorted(p.name for p in scoring_ws["model"].iterdir())
    assert names == ["calibrator.json", "features.json", "metadata.json", "model.txt"]
    calibration = json.loads((scoring_ws["model"] / "calibrator.json").read_text())
    assert calibration["method"] in ("isotonic", "sigmoid")
    meta = json.loads((scoring_ws["model"] / "metadata.json").read_text())
    assert meta["format_version"] == 2 and sorted(meta["files"]) == [
        "calibrator.json",
        "features.json",
        "model.txt",
    ]


def test_score_runs_and_rerun_replaces_its_own_list(scoring_ws: dict[str, Path]) -> None:
    code, text = score(scoring_ws, "raw", "list")
    assert code == 0, text
    manifest = json.loads((scoring_ws["root"] / "list" / "manifest.json").read_text())
    assert manifest["written_by"] == "churnml"
    assert manifest["data"]["tables"]["payments"]["last_before_as_of"] == "2024-06-02T00:00:00"
    assert manifest["data"]["lagging_tables"] == {}
    code, text = score(scoring_ws, "raw", "list")
    assert code == 0 and "unchanged (same list already there)" in text


def test_a_time_zone_other_than_the_models_is_an_error(scoring_ws: dict[str, Path]) -> None:
    code, text = score(scoring_ws, "raw", "tz", "--set", "data.timezone=Europe/Paris")
    flat = " ".join(text.split())
    assert code == 1
    assert "counted its days in data.timezone UTC, and this run reads the data in Europe/Paris" in flat
    assert "--set data.timezone=UTC" in flat
    assert not (scoring_ws["root"] / "tz").exists()


@pytest.mark.parametrize(
    ("setting", "key", "flag"),
    [
        ("label.horizon_days=30", "horizon_days", "--set label.horizon_days=90"),
        ("label.source=churns", "source", "--set label.source=subscriptions"),
    ],
)
def test_label_settings_other_than_the_models_are_an_error(
    scoring_ws: dict[str, Path], setting: str, key: str, flag: str
) -> None:
    code, text = score(scoring_ws, "raw", f"label-{key}", "--set", setting)
    assert code == 1
    assert f"label.{key}: model" in text and "trained for other label settings" in text
    assert f"score with the settings it was trained with ({flag}, or the config" in text.replace("\n", "")
    assert not (scoring_ws["root"] / f"label-{key}").exists()


@pytest.mark.parametrize(
    ("setting", "message", "flag"),
    [
        (
            "features.key_events=[Thumbs Up, Add to Playlist]",
            "features.key_events: model ['report_view', 'dashboard_view', 'api_call', 'integration_sync'], "
            "config ['Thumbs Up', 'Add to Playlist']",
            "--set 'features.key_events=[report_view, dashboard_view, api_call, integration_sync]'",
        ),
        (
            "features.recent_days=14",
            "features.recent_days: model 28, config 14",
            "--set features.recent_days=28",
        ),
    ],
)
def test_feature_settings_other_than_the_models_are_an_error(
    scoring_ws: dict[str, Path], setting: str, message: str, flag: str
) -> None:
    """The same column computed with other event names or windows means something else to the model."""
    code, text = score(scoring_ws, "raw", "features-list", "--set", setting)
    assert code == 1
    assert "trained for other feature settings" in text and message in text
    assert f"score with the settings it was trained with ({flag}, or the config" in text
    assert not (scoring_ws["root"] / "features-list").exists()
    # the engine computes the same values: not a mismatch
    from churnml.modeling.export import features_mismatches

    assert (
        features_mismatches({"engine": "spark", "windows": [7, 28]}, {"engine": "polars", "windows": [7, 28]})
        == []
    )


def test_a_settings_mismatch_points_to_the_data_folders_own_config(scoring_ws: dict[str, Path]) -> None:
    """A folder made by `churnml adapt` carries its churnml.yaml; scoring it without --config is the
    usual slip, so the mismatch says which file to add, when that file holds the model's settings."""
    folder = scoring_ws["root"] / "with-yaml"
    shutil.copytree(scoring_ws["raw"], folder)
    (folder / "churnml.yaml").write_text("label: {horizon_days: 90}\n")  # the model's horizon
    ws = {**scoring_ws, "with-yaml": folder}
    code, text = score(ws, "with-yaml", "yaml-list", "--set", "label.horizon_days=60")
    assert code == 1 and "trained for other label settings" in text
    assert (
        f"the data folder holds {folder / 'churnml.yaml'}: if the model was trained with it, add --config"
        in (text.replace("\n", ""))
    )
    code, text = score(scoring_ws, "raw", "no-yaml", "--set", "label.horizon_days=30")
    assert code == 1 and "the data folder holds" not in text
    # a file that does not hold the model's settings would not fix the run (here the run even reads it)
    (folder / "churnml.yaml").write_text("label: {horizon_days: 30}\n")
    code, text = score(ws, "with-yaml", "yaml-list-2", "--config", str(folder / "churnml.yaml"))
    assert code == 1 and "trained for other label settings" in text and "the data folder holds" not in text


def test_a_truncated_model_file_is_one_line(scoring_ws: dict[str, Path]) -> None:
    folder = copied_model(scoring_ws, "truncated")
    text = (folder / "model.txt").read_text()
    (folder / "model.txt").write_text(text[: len(text) // 2])
    code, out = score(scoring_ws, "raw", "t-out", model=folder)
    assert code == 1
    assert "error: model.txt in" in out and "do not match the checksums" in out
    assert "Traceback" not in out


def test_a_bad_metadata_file_is_one_line(scoring_ws: dict[str, Path]) -> None:
    folder = copied_model(scoring_ws, "badmeta")
    (folder / "metadata.json").write_text('{"format_version": 2, ')
    code, out = score(scoring_ws, "raw", "m-out", model=folder)
    assert code == 1
    assert "metadata.json is not readable JSON" in out and "Traceback" not in out


def test_a_pickled_calibrator_is_never_loaded(tmp_path: Path, scoring_ws: dict[str, Path]) -> None:
    folder = copied_model(scoring_ws, "legacy")
    (folder / "calibrator.json").unlink()
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.write_text, (marker, "ran"))

    (folder / "calibrator.joblib").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ValueError, match=r"older churnml .* calibrator\.joblib.*Retrain"):
        load_exported(folder)
    assert not marker.exists()


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_the_calibrator_round_trips_through_json_exactly(method: str) -> None:
    rng = np.random.default_rng(7)
    raw = rng.normal(size=400)
    y = (rng.uniform(size=400) < 1 / (1 + np.exp(-2 * raw))).astype(int)
    fitted = ScoreCalibrator(method).fit(raw, y)
    rebuilt = calibrator_from_data(json.loads(json.dumps(calibrator_data(fitted))))
    grid = np.linspace(-6, 6, 301)
    np.testing.assert_array_equal(rebuilt.predict(grid), fitted.predict(grid))
    assert rebuilt.method_ == method


def test_export_keeps_foreign_files_and_subfolders(tmp_path: Path, scoring_ws: dict[str, Path]) -> None:
    model, _ = load_exported(scoring_ws["model"])
    folder = tmp_path / "models"
    (folder / "archive" / "2023").mkdir(parents=True)
    (folder / "archive" / "2023" / "old_model.txt").write_text("kept")
    (folder / "README.md").write_text("readme")
    (folder / ".gitkeep").write_text("")
    before = snapshot(folder)
    export_model(model, folder, {"run_id": "a"})
    export_model(model, folder, {"run_id": "b"})
    after = snapshot(folder)
    assert {k: after[k] for k in before} == before
    assert sorted(set(after) - set(before)) == [
        "calibrator.json",
        "features.json",
        "metadata.json",
        "model.txt",
    ]
    assert json.loads((folder / "metadata.json").read_text())["run_id"] == "b"


def test_export_refuses_a_folder_with_someone_elses_model_txt(tmp_path: Path) -> None:
    folder = tmp_path / "theirs"
    folder.mkdir()
    (folder / "model.txt").write_text("not ours")
    with pytest.raises(ValueError, match=r"holds model\.txt but no churnml metadata\.json"):
        checked_export_folder(folder)
    assert (folder / "model.txt").read_text() == "not ours"


def test_a_corrupt_tracking_store_is_one_line_in_score_and_train(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    store = tmp_path / "mlflow.db"
    store.write_bytes(b"this is not a database" * 200)
    before = store.read_bytes()
    code, text = invoke("score", "--data", str(data), "--out", str(tmp_path / "s"))
    assert code == 1
    assert "error: the MLflow tracking store sqlite:///" in text and "--model models/" in text
    code, text = invoke("train", "--data", str(data), "--out", str(tmp_path / "m"))
    assert code == 1
    assert "cannot be read" in text and "mv mlflow.db mlflow.db.broken" in text
    assert store.read_bytes() == before
    assert not (tmp_path / "s").exists() and not (tmp_path / "m").exists()


def test_label_mismatches_compare_the_settings_both_sides_know() -> None:
    trained = {"source": "subscriptions", "horizon_days": 90, "grace_days": 30}
    scoring = {"source": "subscriptions", "horizon_days": 30, "grace_days": 30, "new_key": 1}
    assert label_mismatches(trained, scoring) == ["label.horizon_days: model 90, config 30"]
    assert label_mismatches(None, scoring) == []


# == stale tables and missing optional columns ===================================================
def test_a_table_lagging_the_as_of_date_is_warned_and_recorded(scoring_ws: dict[str, Path]) -> None:
    code, text = score(scoring_ws, "raw_stale_payments", "stale")
    assert code == 0, text
    assert "warning: payments: no record for" in text and "before the as-of date" in text
    manifest = json.loads((scoring_ws["root"] / "stale" / "manifest.json").read_text())
    lag = manifest["data"]["lagging_tables"]["payments"]
    assert list(manifest["data"]["lagging_tables"]) == ["payments"] and 60 <= lag <= 90
    assert manifest["data"]["tables"]["events"]["first"] == "2023-09-04T00:00:00"


def test_lagging_tables_reads_running_terms_as_current() -> None:
    tables = {
        Table.EVENTS: pl.DataFrame({"client_id": ["a"], "ts": [datetime(2024, 5, 30)], "event": ["login"]}),
        Table.PAYMENTS: pl.DataFrame(
            {"client_id": ["a"], "amount": [1.0], "paid_at": [datetime(2024, 1, 3)], "issued_at": [None]},
            schema_overrides={"issued_at": pl.Datetime("us")},
        ),
        Table.SUBSCRIPTIONS: pl.DataFrame(
            {
                "client_id": ["a"],
                "start_date": [datetime(2023, 6, 1)],
                "end_date": [datetime(2024, 12, 1)],
                "mrr": [1.0],
            }
        ),
    }
    spans = table_spans(tables, date(2024, 6, 3))
    assert spans["payments"] == {
        "first": "2024-01-03T00:00:00",
        "last": "2024-01-03T00:00:00",
        "last_before_as_of": "2024-01-03T00:00:00",
    }
    assert lagging_tables(spans, date(2024, 6, 3), 21) == {"payments": 152}


def test_optional_columns_missing_at_scoring_warn_with_the_features(scoring_ws: dict[str, Path]) -> None:
    code, text = score(scoring_ws, "raw_no_csat", "nocsat")
    assert code == 0, text
    flat = " ".join(text.split())
    assert "features the model learned from are missing for every client scored now" in flat
    # only the empty columns those features read (the CSAT's and the closing dates ordering the ratings), not
    # every empty column of their table (tickets.priority feeds no feature)
    assert (
        "or the column it reads is empty (optional column(s) tickets.closed_at, tickets.csat hold no value)"
        in flat
    )
    assert "events.value" not in flat
    manifest = json.loads((scoring_ws["root"] / "nocsat" / "manifest.json").read_text())
    dark = manifest["data"]["features_missing_now"]
    assert dark and all("csat" in f for f in dark)
    assert "tickets.csat" in manifest["data"]["empty_optional_columns"]


def test_dark_features_are_those_all_missing_now_but_present_in_training() -> None:
    ref = {"edges": [1.0, 2.0], "proportions": [0.3, 0.3, 0.4], "missing": 0.1}
    values = np.array(
        [
            # gone: no value now; fine: values and a gap; outside: one value beyond every training bin (its
            # PSI equals an all-missing column's, which is how it was once taken for missing);
            # never_had_values: empty in training too
            [np.nan, 0.5, 9.0, np.nan],
            [np.nan, np.nan, 9.0, np.nan],
            [np.nan, 2.5, 9.0, np.nan],
        ]
    )
    names = ["gone", "fine", "outside", "never_had_values"]
    reference = {
        "gone": ref,
        "fine": ref,
        "outside": ref,
        "never_had_values": {"edges": [], "proportions": [], "missing": 1.0},
    }
    assert dark_features(values, names, reference) == ["gone"]


# == bad input that used to pass validation ======================================================
@pytest.mark.parametrize(("unit", "scale", "word"), [("s", 1, "seconds"), ("ms", 1000, "milliseconds")])
def test_integer_epoch_timestamps_are_refused_with_a_hint(
    tmp_path: Path, unit: str, scale: int, word: str
) -> None:
    folder = tiny_csv_dataset(tmp_path / "raw")
    (folder / "events.csv").unlink()
    epoch = int(datetime(2024, 5, 1).timestamp()) * scale
    pl.DataFrame(
        {"client_id": ["c1", "c2"], "ts": [epoch, epoch + 60 * scale], "event": ["login", "login"]}
    ).write_parquet(folder / "events.parquet")
    before = snapshot(folder)
    code, text = validate(folder)
    assert code == 1
    assert "table 'events', column 'ts'" in text and f"they look like {word} since 1970" in text
    assert snapshot(folder) == before


@pytest.mark.parametrize(
    ("table", "column", "values", "said"),
    [
        # a pandas Timedelta: read as a count of nanoseconds, 2.9 hours became 1e13
        ("subscriptions", "mrr", pl.Series([timedelta(hours=2), timedelta(hours=3)]), "holds durations"),
        ("subscriptions", "mrr", pl.Series([True, False]), "holds true/false values"),
        ("events", "ts", pl.Series([time(9), time(10), time(11)]), "holds times of day without a date"),
        ("clients", "client_id", pl.Series([["c1"], ["c2"]]), "store one plain value per cell"),
    ],
)
def test_columns_stored_in_types_no_conversion_reads_right_are_refused(
    tmp_path: Path, table: str, column: str, values: pl.Series, said: str
) -> None:
    folder = tiny_csv_dataset(tmp_path / "raw")
    frame = pl.read_csv(folder / f"{table}.csv", try_parse_dates=True).with_columns(values.alias(column))
    (folder / f"{table}.csv").unlink()
    frame.write_parquet(folder / f"{table}.parquet")
    code, text = validate(folder)
    assert code == 1
    assert f"table '{table}', column '{column}'" in text and said in text


def test_a_categorical_column_is_read_as_its_text(tmp_path: Path) -> None:
    folder = tiny_csv_dataset(tmp_path / "raw")
    frame = pl.read_csv(folder / "events.csv").with_columns(pl.col("ts", "client_id").cast(pl.Categorical))
    (folder / "events.csv").unlink()
    frame.write_parquet(folder / "events.parquet")
    code, text = validate(folder)
    assert code == 0, text


def test_spreadsheet_serial_dates_are_named_as_such(tmp_path: Path) -> None:
    folder = tiny_csv_dataset(
        tmp_path / "raw", events="client_id,ts,event\nc1,45292,login\nc2,45300.5,login\n"
    )
    code, text = validate(folder)
    assert code == 1
    assert "they look like spreadsheet serial dates (days since 1899-12-30: 45292 is 2024-01-01)" in text


def test_epoch_numbers_in_csv_text_get_the_same_hint(tmp_path: Path) -> None:
    folder = tiny_csv_dataset(tmp_path / "raw", events="client_id,ts,event\nc1,1714521600,login\n")
    code, text = validate(folder)
    assert code == 1
    assert "table 'events', column 'ts'" in text and "seconds since 1970" in text


def test_duplicate_subscription_terms_are_refused(tmp_path: Path) -> None:
    subs = "client_id,start_date,end_date,mrr,product\nc1,2024-01-01,2025-01-01,100,base\nc1,2024-01-01,2025-01-01,100,base\n"
    code, text = validate(tiny_csv_dataset(tmp_path / "raw", subscriptions=subs))
    assert code == 1
    assert "table 'subscriptions', column 'start_date': duplicate term" in text and "(2 rows)" in text


def test_overlapping_terms_of_one_product_are_refused_but_renewals_and_addons_pass(tmp_path: Path) -> None:
    ok = (
        "client_id,start_date,end_date,mrr,product\n"
        "c1,2024-01-01,2024-07-01,100,base\nc1,2024-07-01,2025-01-01,100,base\nc1,2024-03-01,2025-01-01,20,addon\n"
    )
    assert validate(tiny_csv_dataset(tmp_path / "ok", subscriptions=ok))[0] == 0
    bad = ok + "c1,2024-03-01,2024-12-01,90,base\n"  # 4 months of 9 overlap: no renewal booked early
    code, text = validate(tiny_csv_dataset(tmp_path / "bad", subscriptions=bad))
    assert code == 1
    assert "table 'subscriptions', column 'start_date': overlapping terms of one product" in text
    assert "line=5" in text and "(2 rows)" in text


def test_renewals_booked_early_are_repaired_and_do_not_move_the_data_end(tmp_path: Path) -> None:
    from churnml.contract.validation import EARLY_RENEWAL_REPAIR

    """A KKBox-like billing export: each renewal is dated the day it was charged, 2-3 days before the running
    term ends, the last one starting after every other record."""
    subs = (
        "client_id,start_date,end_date,mrr\n"
        "c1,2024-01-01,2024-01-31,10\nc1,2024-01-28,2024-03-01,10\nc1,2024-02-28,2024-03-31,10\n"
        "c2,2024-02-01,2025-02-01,250\nc2,2024-06-01,2024-06-28,5\n"  # inside a running term: no renewal
    )
    pays = "client_id,amount,paid_at\nc1,10,2024-01-01\nc1,10,2024-01-28\nc1,10,2024-02-28\n"
    events = "client_id,ts,event\nc1,2024-02-20,listen\nc2,2024-02-25,listen\n"
    folder = tiny_csv_dataset(
        tmp_path / "raw", subscriptions=subs.replace("c2,2024-06-01,2024-06-28,5\n", ""), events=events
    )
    (folder / "payments.csv").write_text(pays)
    code, text = validate(folder)
    assert code == 0, text
    assert "renewal booked" in text
    dataset = read_dataset(folder, DataConfig())
    assert dataset.repairs.counts["subscriptions"] == {EARLY_RENEWAL_REPAIR: 2}
    starts = dataset.tables[Table.SUBSCRIPTIONS].filter(pl.col("client_id") == "c1").get_column("start_date")
    assert starts.to_list() == [datetime(2024, 1, 1), datetime(2024, 1, 31), datetime(2024, 3, 1)]
    # the day after the last payment, not after the renewal's moved start (2024-03-01)
    assert dataset.as_of == datetime(2024, 2, 29)
    code, text = validate(folder, "--set", "data.early_renewal_share=0")
    assert code == 1 and "overlapping terms of one product" in text and "(2 rows)" in text
    code, text = validate(tiny_csv_dataset(tmp_path / "inside", subscriptions=subs))
    assert code == 1 and "overlapping terms of one product" in text and "line=6" in text and "(1 row)" in text


def test_duplicate_invoices_are_refused(tmp_path: Path) -> None:
    pays = "client_id,amount,paid_at,invoice_id\nc1,100,2024-02-01,INV-1\nc1,100,2024-02-01,INV-1\nc2,5,2024-03-01,\nc2,5,2024-03-02,\n"
    code, text = validate(tiny_csv_dataset(tmp_path / "raw", payments=pays))
    assert code == 1
    assert "table 'payments', column 'invoice_id': the same invoice_id twice" in text and "(2 rows)" in text


def test_a_csv_row_cut_short_is_an_error_with_its_line(tmp_path: Path) -> None:
    subs = "client_id,start_date,end_date,mrr\nc1,2024-01-01,2025-01-01,100\nc2,76.6\n"
    code, text = validate(tiny_csv_dataset(tmp_path / "raw", subscriptions=subs))
    assert code == 1
    assert "table 'subscriptions'" in text and "header's 4 in subscriptions.csv" in text
    assert "line=3, fields=2, text='c2,76.6'" in text


def test_a_csv_row_with_extra_fields_is_an_error_with_its_line(tmp_path: Path) -> None:
    events = "client_id,ts,event\nc1,2024-05-01,login\nc1,2024-05-02,login,extra\n"
    code, text = validate(tiny_csv_dataset(tmp_path / "raw", events=events))
    assert code == 1
    assert "table 'events'" in text and "line=3, fields=4" in text


def test_a_semicolon_delimited_file_names_the_delimiter(tmp_path: Path) -> None:
    clients = "client_id;created_at\nc1;2024-01-01\nc2;2024-02-01\n"
    code, text = validate(tiny_csv_dataset(tmp_path / "raw", clients=clients))
    assert code == 1
    assert "table 'clients'" in text and "semicolon (;)-delimited" in text


def test_blank_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    events = "client_id,ts,event\nc1,2024-05-01,login\n\nc2,2024-05-02,login\n\n"
    folder = tiny_csv_dataset(tmp_path / "raw", events=events)
    dataset = read_dataset(folder, CFG)
    assert dataset.tables[Table.EVENTS].height == 2
    assert dataset.repairs.counts["events"] == {"blank lines (or rows of empty cells) skipped": 2}
    assert validate(folder)[0] == 0


def test_a_placeholder_created_at_never_starts_the_snapshot_grid(tmp_path: Path) -> None:
    clients = "client_id,created_at\nc1,1900-01-01\nc2,2024-02-01\n"
    dataset = read_dataset(tiny_csv_dataset(tmp_path / "raw", clients=clients), CFG)
    assert dataset.start == datetime(2024, 1, 1)  # the first subscription term, not 1900
    assert dataset.repairs.counts["clients"] == {
        "created_at: dates before 1971 (placeholders?), kept but not used as the data's start": 1
    }
    from churnml.config import SnapshotsConfig
    from churnml.labels import snapshot_grid

    grid = snapshot_grid(SnapshotsConfig(min_history_days=28), dataset.start, dataset.as_of)
    assert grid[0] >= date(2024, 1, 29) and len(grid) < 60


def test_red_below_yellow_is_refused_by_the_config(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"score\.zones\.red \(0\.1\) must not be below score\.zones\.yellow \(0\.15\)"
    ):
        load_config(None, ["score.zones.red=0.1"])
    code, text = validate(tiny_csv_dataset(tmp_path / "raw"), "--set", "score.zones.red=0.1")
    assert code == 1 and "must not be below score.zones.yellow" in text


# == property: corrupted contract tables give a clean error or pass, never a traceback ===========
GOOD = {
    "clients": {"client_id": ["c1", "c2", "c3"], "created_at": ["2024-01-01", "2024-02-01", "2024-03-01"]},
    "events": {
        "client_id": ["c1", "c2", "c3"],
        "ts": ["2024-05-01 10:00:00", "2024-05-02", "2024-05-03T08:00:00Z"],
        "event": ["login", "login", "report_view"],
    },
    "subscriptions": {
        "client_id": ["c1", "c2", "c3"],
        "start_date": ["2024-01-01", "2024-02-01", "2024-03-01"],
        "end_date": ["2025-01-01", "2025-02-01", "2025-03-01"],
        "mrr": ["100", "250.5", "80"],
        "product": ["base", "base", "pro"],
    },
    "payments": {
        "client_id": ["c1", "c2", "c3"],
        "amount": ["100", "250.5", "-5"],
        "paid_at": ["2024-02-01", "", "2024-04-01"],
        "invoice_id": ["i1", "i2", "i3"],
        "status": ["paid", "open", "refunded"],
    },
    "tickets": {
        "client_id": ["c1", "c2", "c3"],
        "opened_at": ["2024-06-01", "2024-06-02", "2024-06-03"],
        "csat": ["4", "", "2"],
    },
}
JUNK = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "NaN",
            "inf",
            "-1",
            "-1e308",
            "1e400",
            "2024-13-45",
            "1714521600",
            "1900-01-01",
            "9999-12-31",
            "c999",
            "=1+1",
            "true",
            "0x1F",
            "2024-06-01T25:00",
            "nul\x00l",
            "é",
            "1,5",
            '"',
        ]
    ),
    st.text(max_size=6),
)
ops = st.lists(
    st.tuples(
        st.sampled_from(
            ["set", "drop_column", "duplicate_row", "drop_table", "header_only", "cut_row", "blank", "retype"]
        ),
        st.sampled_from(sorted(GOOD)),
        st.integers(0, 10),
        st.integers(0, 10),
        JUNK,
    ),
    min_size=1,
    max_size=4,
)


def corrupted(
    ops_list: list[tuple[str, str, int, int, str]],
) -> tuple[dict[str, dict[str, list[str]]], set, set]:
    tables = {t: {c: list(v) for c, v in cols.items()} for t, cols in GOOD.items()}
    cut: set[tuple[str, int]] = set()
    retyped: set[tuple[str, str]] = set()
    for op, table, i, j, junk in ops_list:
        if table not in tables:
            continue
        cols = tables[table]
        names = list(cols)
        n = len(next(iter(cols.values()))) if cols else 0
        col = names[i % len(names)] if names else None
        if op == "set" and n and col:
            cols[col][j % n] = junk
        elif op == "drop_column" and col and len(names) > 1:
            del cols[col]
        elif op == "duplicate_row" and n:
            for values in cols.values():
                values.append(values[j % n])
        elif op == "drop_table":
            del tables[table]
        elif op == "header_only":
            for values in cols.values():
                values.clear()
        elif op == "cut_row" and n:
            cut.add((table, j % n))
        elif op == "blank" and n:
            cut.add((table, -1 - (j % n)))
        elif op == "retype" and col:
            retyped.add((table, col))
    return tables, cut, retyped


def write_corrupted(folder: Path, tables: dict, cut: set, retyped: set, fmt: str) -> None:
    import csv as csv_module
    import io as io_module

    for name, cols in tables.items():
        if fmt == "parquet":
            frame = pl.DataFrame(cols, schema={c: pl.String for c in cols})
            # a retyped column is stored as numbers (what a careless export does to timestamps)
            frame = frame.with_columns(
                pl.col(c).cast(pl.Float64, strict=False) for t, c in retyped if t == name and c in cols
            )
            frame.write_parquet(folder / f"{name}.parquet")
            continue
        buffer = io_module.StringIO()
        writer = csv_module.writer(buffer, lineterminator="\n")
        writer.writerow(list(cols))
        rows = list(zip(*cols.values(), strict=True)) if cols else []
        for k, row in enumerate(rows):
            if (name, -1 - k) in cut:
                buffer.write("\n")
            writer.writerow(row[: max(1, len(row) // 2)] if (name, k) in cut else row)
        (folder / f"{name}.csv").write_text(buffer.getvalue(), encoding="utf-8")


@given(ops, st.sampled_from(["csv", "parquet"]))
@settings(max_examples=60, deadline=None)
def test_corrupted_tables_give_a_contract_error_or_pass(ops_list: list, fmt: str) -> None:
    import tempfile

    tables, cut, retyped = corrupted(ops_list)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_corrupted(folder, tables, cut, retyped, fmt)
        before = snapshot(folder)
        try:
            dataset = read_dataset(folder, CFG)
        except ContractError as exc:
            assert str(exc).startswith("table '"), str(exc)
            assert exc.table in (*GOOD, "events")
        else:
            assert Table.CLIENTS in dataset.tables
            assert all(frame.height > 0 for frame in dataset.tables.values())
        assert snapshot(folder) == before


@pytest.mark.parametrize("command", ["features", "winback", "metrics"])
def test_file_outputs_never_land_in_the_input_dataset(data: Path, command: str) -> None:
    before = snapshot(data)
    target = data / ("features.parquet" if command == "features" else command)  # winback, metrics: folders
    code, text = invoke(command, "--data", str(data), "--out", str(target))
    assert code == 1
    assert "lies inside the input dataset" in text
    assert snapshot(data) == before


@pytest.mark.parametrize(
    ("folder", "existing"),
    [("raw", "clients.parquet"), ("raw", "events.csv"), ("truth", "hazard.parquet")],
)
def test_generate_never_replaces_a_file_churnml_did_not_write(
    tmp_path: Path, folder: str, existing: str
) -> None:
    raw, truth = tmp_path / "raw", tmp_path / "truth"
    (tmp_path / folder).mkdir()
    mine = tmp_path / folder / existing
    mine.write_text("precious")
    code, text = invoke(
        "generate", "--out", str(raw), "--truth-out", str(truth), "--clients", "20", "--months", "3"
    )
    assert code == 1 and f"holds {existing}, which churnml did not write" in text
    assert mine.read_text() == "precious" and sorted(p.name for p in (tmp_path / folder).iterdir()) == [
        existing
    ]
    mine.unlink()
    args = ("generate", "--out", str(raw), "--truth-out", str(truth), "--clients", "20", "--months", "3")
    assert invoke(*args)[0] == 0
    assert invoke(*args)[0] == 0  # its own files: replaced (same arguments, same files)
    assert pl.read_parquet_metadata(raw / "clients.parquet")["written_by"] == "churnml"


def test_features_never_replace_a_file_churnml_did_not_write(data: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.parquet"
    pl.DataFrame({"x": [1, 2]}).write_parquet(mine)  # the user's own Parquet file
    before = mine.read_bytes()
    code, text = invoke("features", "--data", str(data), "--out", str(mine))
    assert code == 1 and "exists and was not written by churnml" in text
    assert mine.read_bytes() == before
    ours = tmp_path / "features.parquet"
    assert invoke("features", "--data", str(data), "--out", str(ours))[0] == 0
    assert pl.read_parquet_metadata(ours)["written_by"] == "churnml"
    assert invoke("features", "--data", str(data), "--out", str(ours))[0] == 0  # its own: replaced
    legacy = tmp_path / "legacy.parquet"  # a feature table written before the marker
    pl.read_parquet(ours).write_parquet(legacy)
    assert invoke("features", "--data", str(data), "--out", str(legacy))[0] == 0


def test_an_older_champion_with_a_pickled_calibrator_is_refused_in_one_line(
    tmp_path: Path, scoring_ws: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    from churnml.config import TrackingConfig
    from churnml.modeling.export import ModelFileError
    from churnml.modeling.tracking import load_champion, log_churn_model, register_model, tracked_run

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    model, _ = load_exported(scoring_ws["model"])
    example = pd.DataFrame(np.zeros((5, len(model.feature_names_))), columns=model.feature_names_)
    with tracked_run(uri, "safety"):
        version = register_model(log_churn_model(model, scoring_ws["model"], example), "churn", {})
    mlflow.MlflowClient(uri).set_registered_model_alias("churn", "champion", version)
    # turn every stored copy into an export of the older format: a pickle instead of calibrator.json
    copies = list((tmp_path / "mlruns").rglob("calibrator.json"))
    assert copies
    for path in copies:
        path.unlink()
        (path.parent / "calibrator.joblib").write_bytes(pickle.dumps({"not": "loaded"}))
    with pytest.raises(ModelFileError, match=r"champion churn v1 .* older churnml .*Retrain"):
        load_champion(TrackingConfig(), "churn")
    # its metadata stays readable for the champion gate
    wrapper = mlflow.pyfunc.load_model("models:/churn@champion").unwrap_python_model()
    assert wrapper.model is None and wrapper.metadata["label"]["horizon_days"] == 90


@pytest.mark.parametrize(
    ("dark", "expected"),
    [
        (["support_csat_last"], ["tickets.csat"]),
        (["comm_reply_rate_7d", "payments_days_late_7d"], ["payments.due_at"]),  # communications: none empty
        (["not_a_feature"], []),
        (["account_days_since_competitor_trial"], []),  # clients.margin is no feature's input
        (
            ["support_csat_last", "support_tickets_7d"],
            ["tickets.csat"],
        ),  # tickets.priority is no feature's input
        (["usage_time_ratio", "usage_events_7d"], ["events.value"]),
        (["usage_events_7d"], []),  # events.value feeds only the time features
    ],
)
def test_a_missing_feature_is_blamed_only_on_the_empty_columns_of_its_tables(dark, expected) -> None:
    from churnml.jobs.score import empty_columns_read_by

    empty = [
        "clients.industry",
        "clients.margin",
        "events.value",
        "payments.due_at",
        "tickets.priority",
        "tickets.csat",
    ]
    assert empty_columns_read_by(dark, empty) == expected


@pytest.mark.parametrize(
    ("last_event", "lag"),
    [
        ("2024-06-02T23:00:00", None),  # the day before the as-of date: the weekly job's usual case
        ("2024-05-27T12:00:00", None),  # inside the last 7 days (from 2024-05-27 00:00)
        ("2024-05-26T09:00:00", 7),  # before them: every client's last-7-day window is empty
        ("2024-05-20T00:00:00", 14),
    ],
)
def test_events_that_end_a_window_before_the_as_of_date_are_said(last_event: str, lag: int | None) -> None:
    from churnml.contract.validation import empty_short_windows

    spans = {"events": {"first": "2024-01-01T00:00:00", "last": last_event, "last_before_as_of": last_event}}
    assert empty_short_windows(spans, date(2024, 6, 3), 7) == lag
    assert empty_short_windows({}, date(2024, 6, 3), 7) is None  # no events table
