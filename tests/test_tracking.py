"""MLflow tracking on a real SQLite store in tmp_path: registering, recording the gate, loading the champion."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnml.config import TrackingConfig
from churnml.modeling.export import export_model, holds_model_of, load_exported
from churnml.modeling.tracking import (
    champion_card,
    champion_metrics,
    feature_hash,
    load_champion,
    log_churn_model,
    log_metrics,
    record_promotion,
    register_model,
    registered_name,
    tracked_run,
    tracking_uri,
)
from churnml.modeling.train import ChurnModel

FEATURES = ["f1", "f2", "f3", "f4"]


def labeled_table(n_clients: int, n_weeks: int, seed: int = 0) -> pd.DataFrame:
    """client_id, snapshot, label, f1..f4 with P(label) = sigmoid(-2.5 + 1.5 f1 - f2)."""
    rng = np.random.default_rng(seed)
    snaps = [date(2024, 1, 1) + timedelta(weeks=w) for w in range(n_weeks)]
    n = n_clients * n_weeks
    X = rng.normal(size=(n, 4))
    p = 1 / (1 + np.exp(-(-2.5 + 1.5 * X[:, 0] - X[:, 1])))
    frame = pd.DataFrame(
        {
            "client_id": np.repeat([f"c{i}" for i in range(n_clients)], n_weeks),
            "snapshot": np.tile(snaps, n_clients),
            "label": (rng.random(n) < p).astype(int),
        }
    )
    return frame.join(pd.DataFrame(X, columns=FEATURES))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tracking_uri(TrackingConfig(uri="sqlite:///mlflow.db"), base=tmp_path)


def test_tracking_uri_env_wins_and_relative_sqlite_is_resolved(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(TrackingConfig(), base=tmp_path) == f"sqlite:///{(tmp_path / 'mlflow.db').resolve()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert tracking_uri(TrackingConfig(), base=tmp_path) == "http://tracking.example:5000"


def test_a_store_used_once_does_not_win_over_the_next_configs_uri(tmp_path, monkeypatch):
    """MLflow writes the store it is pointed at into MLFLOW_TRACKING_URI; churnml reads that variable as
    the user's choice, so it must not be left behind: a second config's store is its own."""
    from churnml.modeling.tracking import checked_store

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    first = f"sqlite:///{(tmp_path / 'a' / 'mlflow.db').resolve()}"
    (tmp_path / "a").mkdir()
    checked_store(first)
    assert "MLFLOW_TRACKING_URI" not in os.environ and "MLFLOW_REGISTRY_URI" not in os.environ
    second = TrackingConfig(uri="sqlite:///b/mlflow.db")
    assert tracking_uri(second, base=tmp_path) == f"sqlite:///{(tmp_path / 'b' / 'mlflow.db').resolve()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", first)  # the user's own variable stays
    checked_store(f"sqlite:///{(tmp_path / 'c.db').resolve()}")
    assert os.environ["MLFLOW_TRACKING_URI"] == first


def _register(store: str, tmp_path: Path, table: pd.DataFrame, tag: str) -> str:
    X, y = table[FEATURES], table["label"]
    model = ChurnModel({"n_estimators": 20, "num_leaves": 7}, n_jobs=1).fit(X, y, calib_set=(X, y))
    with tracked_run(store, "churnml-test", run_name=tag):
        log_metrics({"backtest_pr_auc": 0.5})
        folder = export_model(model, tmp_path / f"export-{tag}", {"tag": tag})
        uri = log_churn_model(model, folder, X)
        return register_model(uri, "churn", {"feature_hash": feature_hash(model.feature_names_)})


def test_the_alias_moves_only_when_the_gate_says_so(store, tmp_path, capfd):
    table = labeled_table(n_clients=40, n_weeks=10)
    assert champion_card(store, "churn") is None

    v1 = _register(store, tmp_path, table, "first")
    record_promotion(store, "churn", v1, True, "no champion yet; beats logistic")
    capfd.readouterr()
    v2 = _register(store, tmp_path, table, "second")
    said = capfd.readouterr().err
    assert "Created version" not in said and "Registered model" not in said  # train's own line says it
    record_promotion(store, "churn", v2, False, "loses to the logistic baseline")

    info = champion_metrics(store, "churn")
    assert info["version"] == v1 == "1"
    assert info["tags"]["promoted"] == "true"
    version, card = champion_card(store, "churn")
    assert version == "1" and card["tag"] == "first"
    model, meta = load_champion(TrackingConfig(uri=store), "churn")
    assert meta["model_version"] == "1" and meta["tag"] == "first"
    p = model.churn_probability(table[FEATURES].head(20))
    assert p.shape == (20,) and ((p > 0) & (p < 1)).all()


def test_the_pyfunc_signature_requires_every_feature_in_order(store, tmp_path):
    import mlflow

    table = labeled_table(n_clients=30, n_weeks=4)
    table.loc[table.index[:3], "f3"] = np.nan  # a NaN in the example left f3 optional when inferred
    X, y = table[FEATURES], table["label"]
    model = ChurnModel({"n_estimators": 10, "num_leaves": 7}, n_jobs=1).fit(X, y, calib_set=(X, y))
    with tracked_run(store, "churnml-test", run_name="sig"):
        uri = log_churn_model(model, export_model(model, tmp_path / "export-sig", {}), X)
    inputs = mlflow.models.get_model_info(uri).signature.inputs
    assert [(c.name, c.type.name, c.required) for c in inputs.inputs] == [
        (f, "double", True) for f in FEATURES
    ]
    loaded = mlflow.pyfunc.load_model(uri)
    assert loaded.predict(X.head(4)).shape == (4,)
    with pytest.raises(mlflow.exceptions.MlflowException, match="f3"):
        loaded.predict(X.drop(columns="f3").head(4))


def test_a_logged_model_names_what_loading_it_needs_at_the_installed_versions(store, tmp_path):
    """The logged environment holds churnml, the packages it requires (lightgbm and polars among them, which
    MLflow's inference missed) pinned as installed here, and none of the dev extra's."""
    from importlib.metadata import version

    import mlflow

    table = labeled_table(n_clients=30, n_weeks=4)
    X, y = table[FEATURES], table["label"]
    model = ChurnModel({"n_estimators": 5, "num_leaves": 7}, n_jobs=1).fit(X, y, calib_set=(X, y))
    with tracked_run(store, "churnml-test", run_name="env"):
        uri = log_churn_model(model, export_model(model, tmp_path / "export-env", {}), X)
    written = Path(mlflow.pyfunc.get_model_dependencies(uri)).read_text().split()
    for name in ("churnml", "lightgbm", "polars", "pandas", "numpy", "scikit-learn", "mlflow", "cloudpickle"):
        assert f"{name}=={version(name)}" in written, (name, written)
    assert not [line for line in written if line.split("==")[0] in ("pytest", "pyspark", "ruff")]


def test_a_package_without_metadata_is_named_unpinned():
    """churnml run from its source folder (not installed) has no metadata: its name stands alone, no error."""
    from importlib.metadata import version

    from churnml.modeling.tracking import model_requirements

    assert model_requirements("no-such-package") == [
        "no-such-package",
        f"cloudpickle=={version('cloudpickle')}",
    ]


# ------------------------------------------------------------------------------------------------
# one champion per dataset: a second dataset in the same project is never scored with the first's model
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model_name", "dataset", "expected"),
    [
        (None, "shop_a", "churnml-shop_a"),
        (None, "raw", "churnml-raw"),
        ("acme-churn", "shop_a", "acme-churn"),
    ],
)
def test_the_registered_name_follows_the_dataset_unless_configured(model_name, dataset, expected):
    assert registered_name(model_name, dataset) == expected


def _export(tmp_path: Path, folder: str, metadata: dict) -> Path:
    table = labeled_table(n_clients=30, n_weeks=6)
    X, y = table[FEATURES], table["label"]
    model = ChurnModel({"n_estimators": 10, "num_leaves": 4}, n_jobs=1).fit(X, y, calib_set=(X, y))
    return export_model(model, tmp_path / folder, metadata)


@pytest.mark.parametrize(
    ("export", "dataset", "expected"),
    [
        (None, "shop_a", False),  # nothing exported
        ({"dataset": "shop_a"}, "shop_a", True),
        ({"dataset": "shop_a"}, "shop_b", False),
        ({}, "shop_b", True),  # a card from before cards named their dataset
    ],
)
def test_holds_model_of(tmp_path, export, dataset, expected):
    folder = tmp_path / "models" if export is None else _export(tmp_path, "models", export)
    assert holds_model_of(folder, dataset) is expected


def test_scoring_without_model_takes_this_datasets_champion_and_refuses_another_datasets_export(
    store, tmp_path
):
    from churnml.config import load_config
    from churnml.jobs.common import UserError
    from churnml.jobs.score import scoring_model

    folder = _export(tmp_path, "models", {"dataset": "shop_a", "tag": "a"})
    with tracked_run(store, "churnml-shop_a"):
        model, _ = load_exported(folder)
        version = register_model(
            log_churn_model(model, folder, labeled_table(5, 2)[FEATURES]), "churnml-shop_a", {}
        )
    record_promotion(store, "churnml-shop_a", version, True, "no champion yet")
    cfg = load_config(None, [f"tracking.uri={store}", f"paths.models={folder}"])

    _, meta, source = scoring_model(None, cfg, "shop_a")
    assert (source, meta["tag"]) == ("models:/churnml-shop_a@champion", "a")
    # shop_b has no champion of its own and models/ holds shop_a's: refused, with both names and the way out
    # (train on shop_b; only if shop_a is shop_b under another name, a folder per date: data.name)
    with pytest.raises(
        UserError,
        match=r"trained on the dataset 'shop_a', not on 'shop_b'.*: train one on this data .*only if 'shop_a' "
        r"is this data under another name \(an export folder per date\), name the dataset once: "
        r"--set data.name=shop_a \(or data.name in the config the job reads\)",
    ):
        scoring_model(None, cfg, "shop_b")
    # named explicitly, the folder is the user's choice
    _, meta, source = scoring_model(str(folder), cfg, "shop_b")
    assert (source, meta["tag"]) == (str(folder), "a")
    # a registered version by its number (promoted or not); a version the store lacks is the user's error
    _, meta, source = scoring_model(f"models:/churnml-shop_a/{version}", cfg, "shop_a")
    assert (source, meta["tag"], meta["model_version"]) == (f"models:/churnml-shop_a/{version}", "a", version)
    with pytest.raises(UserError, match=r"no version 9 of the model 'churnml-shop_a'"):
        scoring_model("models:/churnml-shop_a/9", cfg, "shop_a")


def test_refusing_another_datasets_export_names_this_datasets_unpromoted_versions(store, tmp_path):
    """shop_b's model was registered but not promoted (it lost to the logistic baseline), so it has no
    champion; models/ holds shop_a's export. The refusal names shop_b's version and how to score with it,
    not --model models/ (which would score shop_b with shop_a's model)."""
    from churnml.config import load_config
    from churnml.jobs.common import UserError
    from churnml.jobs.score import scoring_model

    folder = _export(tmp_path, "models", {"dataset": "shop_a"})
    b_folder = _export(tmp_path, "models_b", {"dataset": "shop_b", "tag": "b"})
    with tracked_run(store, "churnml-shop_b"):
        model, _ = load_exported(b_folder)
        version = register_model(
            log_churn_model(model, b_folder, labeled_table(5, 2)[FEATURES]), "churnml-shop_b", {}
        )
    reason = "pr_auc 0.2000 < logistic 0.2500 on the same backtest rows"
    record_promotion(store, "churnml-shop_b", version, False, reason)
    cfg = load_config(None, [f"tracking.uri={store}", f"paths.models={folder}"])
    with pytest.raises(UserError) as refused:
        scoring_model(None, cfg, "shop_b")
    assert str(refused.value) == (
        f"{folder} holds the model trained on the dataset 'shop_a', not on 'shop_b', and the tracking store has "
        f"no champion 'churnml-shop_b'; the tracking store holds churnml-shop_b version 1 (not promoted: {reason}): "
        "--model models:/churnml-shop_b/1 scores with it, or train again (churnml train --data <this folder>)"
    )
    # the way out it names works
    _, meta, source = scoring_model("models:/churnml-shop_b/1", cfg, "shop_b")
    assert (source, meta["tag"]) == ("models:/churnml-shop_b/1", "b")


LOST = {"promoted": "false", "promotion_reason": "pr_auc 0.2000 < logistic 0.2500 on the same backtest rows"}
LEAK = {"promoted": "false", "promotion_reason": "too good to be true: pr_auc 0.9950 on the backtest"}


@pytest.mark.parametrize(
    ("versions", "hint"),
    [
        (
            [{"version": "2", **LEAK}, {"version": "1", "promoted": "", "promotion_reason": ""}],
            "; the tracking store holds churnml-shop versions 2 (not promoted: too good to be true: pr_auc 0.9950 "
            "on the backtest) and 1 (not promoted): --model models:/churnml-shop/1 scores with it, or train "
            "again (churnml train --data <this folder>)",
        ),
        (
            [{"version": str(v), **LOST} for v in (5, 4, 3, 2)],
            "; the tracking store holds churnml-shop versions 5 (not promoted: pr_auc 0.2000 < logistic 0.2500 on "
            "the same backtest rows), 4 (not promoted: pr_auc 0.2000 < logistic 0.2500 on the same backtest "
            "rows), 3 (not promoted: pr_auc 0.2000 < logistic 0.2500 on the same backtest rows) and 1 older: "
            "--model models:/churnml-shop/5 scores with it, or train again (churnml train --data <this folder>)",
        ),
        (
            [{"version": "1", **LEAK}],
            "; the tracking store holds churnml-shop version 1 (not promoted: too good to be true: pr_auc 0.9950 "
            "on the backtest), refused as a leak: fix the export and train again (churnml train --data <this "
            "folder>)",
        ),
        (
            [{"version": "3", "promoted": "true", "promotion_reason": "no champion yet"}],
            "; the tracking store holds churnml-shop version 3 (promoted once, no longer the champion): --model "
            "models:/churnml-shop/3 scores with it, or train again (churnml train --data <this folder>)",
        ),
    ],
)
def test_the_unpromoted_versions_hint(versions, hint):
    from churnml.jobs.score import _unpromoted_versions_hint

    assert _unpromoted_versions_hint("churnml-shop", versions, "shop_a", Path("models")) == hint


def test_last_weeks_history_is_reused_only_from_the_same_dataset(tmp_path):
    import json

    import polars as pl

    from churnml.scoring.outputs import read_previous_history

    last_week = tmp_path / "2024-06-03"
    last_week.mkdir()
    pl.DataFrame(
        {"client_id": ["c1"], "snapshot": [date(2024, 6, 3)], "churn_probability": [0.2]}
    ).write_parquet(last_week / "history.parquet")
    manifest = {"model": {"version": "1"}, "history_hash": "abc", "data": {"name": "shop_a"}}
    (last_week / "manifest.json").write_text(json.dumps(manifest))
    assert read_previous_history(last_week, "1", "abc", "shop_a").height == 1
    assert read_previous_history(last_week, "1", "abc", "shop_b") is None  # another dataset's version 1
    assert read_previous_history(last_week, "2", "abc", "shop_a") is None
    assert read_previous_history(last_week, "1", "abd", "shop_a") is None  # other features or label


@pytest.mark.parametrize(
    ("manifest", "refused"),
    [
        (None, False),  # a new folder
        ({"data": {"name": "shop_a"}, "written_by": "churnml"}, False),  # this dataset's list: replaced
        ({"data": {"name": "shop_b"}, "written_by": "churnml"}, True),  # another dataset's list
        ({"written_by": "churnml"}, False),  # a list from before manifests named the dataset
    ],
)
def test_the_default_list_folder_never_takes_another_datasets_list(tmp_path, manifest, refused):
    import json

    from churnml.scoring.outputs import OutputError, checked_list_of

    folder = tmp_path / "scores" / "2024-06-03"
    if manifest is not None:
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps(manifest))
    if refused:
        # (or, when this data is shop_b exported to another folder: data.name)
        with pytest.raises(
            OutputError,
            match=r"holds the list of the dataset 'shop_b'.*--out .*shop_a.*: --set data.name=shop_b$",
        ):
            checked_list_of(folder, "shop_a")
    else:
        assert checked_list_of(folder, "shop_a") == folder


@pytest.mark.parametrize(
    ("reason", "refused"),
    [
        ("too good to be true: pr_auc 0.9950 on the backtest (train.max_credible_pr_auc 0.98)", True),
        ("pr_auc 0.2000 < logistic 0.2500 on the same backtest rows", False),  # used, and the list says so
    ],
)
def test_an_exported_model_refused_as_a_leak_is_not_scored_with_unasked(tmp_path, reason, refused):
    from churnml.config import load_config
    from churnml.jobs.common import UserError
    from churnml.jobs.score import scoring_model

    folder = _export(tmp_path, "models", {"dataset": "shop", "promoted": False, "promotion_reason": reason})
    cfg = load_config(None, [f"tracking.uri=sqlite:///{tmp_path / 'none.db'}", f"paths.models={folder}"])
    if refused:
        with pytest.raises(UserError, match=r"refused as too good to be true: pr_auc 0\.9950.*--model"):
            scoring_model(None, cfg, "shop")
    else:
        assert scoring_model(None, cfg, "shop")[2] == str(folder)
    # named explicitly, the folder is the user's choice
    assert scoring_model(str(folder), cfg, "shop")[2] == str(folder)


@pytest.mark.parametrize(
    ("champions", "model_name", "hint"),
    [
        # the one champion is another dataset's: this data may be it, exported to another folder
        ({"churnml-crm": "crm"}, None, "--set data.name=crm"),
        ({"churnml-crm": "crm", "churnml-shop": "shop"}, None, ""),  # two datasets: which one is not said
        ({"churnml-crm": None}, None, ""),  # untagged: the dataset is not known
        ({"acme": "crm"}, None, ""),  # registered under train.model_name: data.name alone would not find it
        ({"acme": "crm"}, "acme", "--set data.name=crm"),
        ({"churnml-my crm": "my crm"}, None, "--set 'data.name=my crm'"),
    ],
)
def test_the_other_champion_hint(champions, model_name, hint):
    from churnml.jobs.score import other_champion_hint

    said = other_champion_hint(champions, model_name, "2024-12-02")
    assert said.endswith(hint) and bool(said) is bool(hint)


def test_scoring_a_folder_without_a_model_names_the_one_champion_of_another_dataset(store, tmp_path):
    """A weekly export in a folder per date (2024-12-02), no exported model, and the store's one champion
    learned from the dataset crm: the error says how to name this data crm."""
    from churnml.config import load_config
    from churnml.jobs.common import UserError
    from churnml.jobs.score import scoring_model

    folder = _export(tmp_path, "crm_models", {"dataset": "crm"})
    with tracked_run(store, "churnml-crm"):
        model, _ = load_exported(folder)
        uri = log_churn_model(model, folder, labeled_table(5, 2)[FEATURES])
        version = register_model(uri, "churnml-crm", {"dataset": "crm"})
    record_promotion(store, "churnml-crm", version, True, "no champion yet")
    cfg = load_config(None, [f"tracking.uri={store}", f"paths.models={tmp_path / 'models'}"])
    with pytest.raises(
        UserError, match=r"does not exist.*one champion, churnml-crm.*: --set data\.name=crm$"
    ):
        scoring_model(None, cfg, "2024-12-02")
    # under data.name: crm, this data is that dataset
    assert scoring_model(None, cfg, "crm")[2] == "models:/churnml-crm@champion"
