"""MLflow tracking and model registry: the only module of churnml that imports mlflow.

- Store: ``MLFLOW_TRACKING_URI`` when set, else ``cfg.tracking.uri`` (default ``sqlite:///mlflow.db``,
  a relative SQLite path resolved against the current folder); artifacts of a SQLite store live beside
  the database in ``mlruns/``. The registry uses the same URI.
- Runs: :func:`tracked_run` (nestable), :func:`log_params` (nested dicts flattened to dotted keys),
  :func:`log_metrics` (NaN skipped), :func:`log_artifact`, :func:`log_figure`, :func:`log_text`.
- Models: :func:`log_churn_model` logs an exported model folder as a pyfunc whose ``predict`` returns
  the calibrated churn probability; :func:`register_model` registers it with tags (test period,
  features); :func:`record_promotion` moves the alias ``champion`` when the backtest evidence says so
  (:mod:`churnml.modeling.champion`); :func:`load_champion` loads ``models:/<name>@champion``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import re
import sqlite3
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.tracking import MlflowClient
from mlflow.types.schema import ColSpec, DataType, Schema
from sqlalchemy.exc import SQLAlchemyError

from churnml.config import TrackingConfig
from churnml.modeling.export import ModelFileError, exported_metadata, load_exported
from churnml.modeling.train import ChurnModel

__all__ = [
    "CHAMPION",
    "ChurnPyfunc",
    "TrackingStoreError",
    "champion_card",
    "champion_datasets",
    "champion_metrics",
    "checked_store",
    "churn_signature",
    "experiment_name",
    "feature_hash",
    "load_champion",
    "log_artifact",
    "log_churn_model",
    "log_figure",
    "log_metrics",
    "log_params",
    "log_text",
    "model_requirements",
    "record_promotion",
    "register_model",
    "registered_name",
    "registered_versions",
    "scratch_folder",
    "tracked_run",
    "tracking_uri",
]

# Quiet MLflow: no download progress bars or INFO lines in the middle of the CLI's own output.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
logging.getLogger("mlflow").setLevel(logging.WARNING)
logging.getLogger("mlflow.pyfunc").setLevel(logging.ERROR)  # the CloudPickle notice on every log_model

CHAMPION = "champion"
GATE_METRIC = "backtest_pr_auc"
_MAX_PARAM = 6000


def tracking_uri(cfg: TrackingConfig, base: Path | None = None) -> str:
    """The store URI: ``MLFLOW_TRACKING_URI`` wins; a relative ``sqlite:///x.db`` is made absolute
    against ``base`` (default: the current folder)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or cfg.uri
    prefix = "sqlite:///"
    if uri.startswith(prefix):
        path = Path(uri[len(prefix) :])
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return prefix + str(path.resolve())
    return uri


class TrackingStoreError(RuntimeError):
    """The MLflow store cannot be read (a corrupt or foreign ``mlflow.db``): one line naming the store and
    the way out (:func:`checked_store`, :func:`load_champion`), never a traceback from SQLAlchemy."""


# What a damaged store raises from below MLflow (SQLite, SQLAlchemy) or from MLflow itself.
_STORE_FAULTS = (MlflowException, SQLAlchemyError, sqlite3.Error)


def _store_fault(uri: str, exc: BaseException, hint: str) -> TrackingStoreError:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return TrackingStoreError(f"the MLflow tracking store {uri} cannot be read ({first}); {hint}")


TRAIN_HINT = (
    "move the damaged file aside (e.g. mv mlflow.db mlflow.db.broken) or point tracking.uri / "
    "MLFLOW_TRACKING_URI at another store, then train again"
)
SCORE_HINT = (
    "score can use the exported model folder instead: churnml score --model models/ "
    "(or the folder given to train --out)"
)


def checked_store(uri: str, hint: str = TRAIN_HINT) -> str:
    """``uri`` after opening it once (a new SQLite store is created); :class:`TrackingStoreError` when
    it cannot be read."""
    try:
        _use(uri)
        MlflowClient().search_experiments(max_results=1)
    except _STORE_FAULTS as exc:
        raise _store_fault(uri, exc, hint) from None
    return uri


def experiment_name(cfg: TrackingConfig, dataset_name: str) -> str:
    """``cfg.experiment`` or ``churnml-<dataset name>``."""
    return cfg.experiment or f"churnml-{dataset_name}"


def registered_name(model_name: str | None, dataset_name: str) -> str:
    """The registered model's name: ``train.model_name`` or ``churnml-<dataset name>`` (one champion per
    dataset, as one experiment per dataset; the name: :func:`churnml.contract.io.dataset_name`)."""
    return model_name or f"churnml-{dataset_name}"


_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def _use(uri: str) -> None:
    """Point MLflow at ``uri``. MLflow 3 also writes it into ``MLFLOW_TRACKING_URI`` (and the registry's
    variable), which :func:`tracking_uri` reads as the user's choice: the variables are put back as they
    were, or the first store used in a process would win over every later config's ``tracking.uri`` (a
    notebook training two datasets, a test after another)."""
    before = {name: os.environ.get(name) for name in _URI_VARIABLES}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _artifact_root(uri: str) -> str | None:
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///") :]).parent / "mlruns").as_uri()
    return None


def _experiment_id(uri: str, name: str) -> str:
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    root = _artifact_root(uri)
    location = f"{root}/{hashlib.sha1(name.encode()).hexdigest()[:12]}" if root else None
    return mlflow.create_experiment(name, artifact_location=location)


@contextmanager
def tracked_run(
    uri: str,
    experiment: str,
    run_name: str | None = None,
    nested: bool = False,
    tags: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """An MLflow run in ``experiment`` (created when new); yields the run id. ``nested`` inside another."""
    _use(uri)
    exp_id = _experiment_id(uri, experiment)
    with mlflow.start_run(
        experiment_id=exp_id, run_name=run_name, nested=nested, tags=dict(tags or {})
    ) as run:
        yield run.info.run_id


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, name + "."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            out[name] = text[:_MAX_PARAM]
    return out


def log_params(params: Mapping[str, Any]) -> None:
    """Log params of the active run; nested mappings become dotted keys (``train.lightgbm.num_leaves``)."""
    flat = _flatten(params)
    items = list(flat.items())
    for i in range(0, len(items), 100):
        mlflow.log_params(dict(items[i : i + 100]))


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Log finite metrics of the active run (NaN and inf are skipped: MLflow cannot chart them)."""
    clean = {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))}
    if clean:
        mlflow.log_metrics(clean, step=step)


def log_artifact(path: Path, folder: str | None = None) -> None:
    mlflow.log_artifact(str(path), artifact_path=folder)


def log_figure(figure: Any, name: str) -> None:
    """A matplotlib figure as an artifact (``name`` like ``plots/calibration.png``)."""
    mlflow.log_figure(figure, name)


def log_text(text: str, name: str) -> None:
    mlflow.log_text(text, name)


def feature_hash(feature_names: list[str]) -> str:
    """A short hash of the ordered feature list (two models with equal hashes score the same rows)."""
    return hashlib.sha256("\n".join(feature_names).encode()).hexdigest()[:16]


class ChurnPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow pyfunc around an exported churnml model: ``predict`` returns P(churn within the horizon)."""

    # The input is a feature frame whose columns depend on the data; the signature is given explicitly
    # in log_churn_model, so MLflow's type-hint validation (and its warning) is skipped.
    _skip_type_hint_validation = True

    def load_context(self, context):
        folder = Path(context.artifacts["model_dir"])
        try:
            self.model, self.metadata = load_exported(folder)
            self.load_error = None
        except ModelFileError as exc:
            # An older (pickled calibrator) or damaged export: its metadata stays readable (the champion
            # gate compares evidence recorded there); predicting with it is refused.
            self.model, self.metadata, self.load_error = None, exported_metadata(folder), str(exc)

    def predict(self, context, model_input, params=None):
        if self.model is None:
            raise ModelFileError(self.load_error)
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self.model.churn_probability(frame)


def churn_signature(feature_names: list[str], inferred: ModelSignature) -> ModelSignature:
    """Every feature a required float64 column (NaN: not known), in the model's order; the output as
    inferred (P(churn) per row). Inferred from an example, a column with a NaN in it was marked optional,
    so a frame without it passed MLflow's check and failed in LightGBM."""
    inputs = Schema([ColSpec(DataType.double, name, required=True) for name in feature_names])
    return ModelSignature(inputs=inputs, outputs=inferred.outputs)


def model_requirements(package: str = "churnml") -> list[str]:
    """What loading a logged model needs, each pinned at the version installed here: ``package``, the packages
    it requires (its own metadata's requirements, without those of an extra such as ``dev``) and cloudpickle
    (MLflow's ``python_model``). Written out instead of MLflow's inference, which imports the model in a
    subprocess (about 4 s a training run) and kept only what that import touched: neither lightgbm nor polars,
    without which an environment built from the model (``mlflow models serve``) cannot load it."""
    names = [package, "cloudpickle"]
    try:
        lines = requires(package) or []
    except PackageNotFoundError:  # churnml run from its source folder, not installed: no metadata to read
        lines = []
    for line in lines:
        name, _, marker = line.partition(";")
        if "extra" not in marker:
            names.append(re.split(r"[\s\[<>=!~(]", name.strip(), maxsplit=1)[0])
    pinned = []
    for name in dict.fromkeys(names):
        try:
            pinned.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pinned.append(name)
    return pinned


def log_churn_model(model: ChurnModel, export_folder: Path, input_example: pd.DataFrame) -> str:
    """Log an exported model folder as a pyfunc model of the active run (its environment:
    :func:`model_requirements`); returns its model URI."""
    example = input_example[model.feature_names_].head(5).astype("float64")
    signature = churn_signature(
        model.feature_names_, infer_signature(example, model.churn_probability(example))
    )
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=ChurnPyfunc(),
        artifacts={"model_dir": str(export_folder)},
        signature=signature,
        input_example=example,
        pip_requirements=model_requirements(),
    )
    return info.model_uri


# What MLflow prints to stderr on every registration, which ``train``'s own line says better ("churnml-crm
# v3 promoted to champion ..."): left out of the console; anything else it prints is passed on.
_REGISTRY_CHATTER = ("Successfully registered model", "Registered model", "Created version")


def register_model(model_uri: str, name: str, tags: Mapping[str, Any]) -> str:
    """Register ``model_uri`` under ``name`` with version tags; returns the new version number."""
    with redirect_stderr(io.StringIO()) as said:
        version = mlflow.register_model(model_uri, name)
    for line in said.getvalue().splitlines():
        if line.strip() and not line.startswith(_REGISTRY_CHATTER):
            print(line, file=sys.stderr)
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(name, version.version, key, str(value))
    return str(version.version)


def _champion(client: MlflowClient, name: str) -> Any | None:
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def champion_metrics(uri: str, name: str) -> dict[str, Any] | None:
    """Version, run id, tags and recorded test metrics of ``name@champion``; None when there is none."""
    _use(uri)
    client = MlflowClient()
    champ = _champion(client, name)
    if champ is None:
        return None
    metrics = client.get_run(champ.run_id).data.metrics if champ.run_id else {}
    return {
        "version": str(champ.version),
        "run_id": champ.run_id,
        "tags": dict(champ.tags),
        "metrics": metrics,
    }


def _model_of_version(name: str, version: str) -> tuple[ChurnModel, dict[str, Any]]:
    wrapper = mlflow.pyfunc.load_model(f"models:/{name}/{version}").unwrap_python_model()
    return wrapper.model, wrapper.metadata


def champion_card(uri: str, name: str) -> tuple[str, dict[str, Any]] | None:
    """``(version, export metadata)`` of ``name@champion``; None when there is no champion yet."""
    _use(uri)
    champ = _champion(MlflowClient(), name)
    if champ is None:
        return None
    _, metadata = _model_of_version(name, str(champ.version))
    return str(champ.version), dict(metadata)


def record_promotion(uri: str, name: str, version: str, promoted: bool, reason: str) -> None:
    """Move the ``champion`` alias to ``version`` when ``promoted``; tag the version with the decision.

    The decision itself is made on backtest evidence by :func:`churnml.modeling.champion.verdict`.
    """
    _use(uri)
    client = MlflowClient()
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
    client.set_model_version_tag(name, version, "promoted", str(promoted).lower())
    client.set_model_version_tag(name, version, "promotion_reason", reason)


def load_champion(cfg: TrackingConfig, name: str) -> tuple[ChurnModel, dict[str, Any]]:
    """The ``models:/<name>@champion`` model and its export metadata (plus ``model_version``)."""
    uri = tracking_uri(cfg)
    try:
        _use(uri)
        champ = _champion(MlflowClient(), name)
    except _STORE_FAULTS as exc:
        raise _store_fault(uri, exc, SCORE_HINT) from None
    if champ is None:
        raise FileNotFoundError(
            f"no model '{name}' with alias '{CHAMPION}' in {uri}; run `churnml train` first"
        )
    try:
        wrapper = mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}").unwrap_python_model()
    except _STORE_FAULTS as exc:
        raise _store_fault(uri, exc, SCORE_HINT) from None
    if getattr(wrapper, "model", None) is None:
        raise ModelFileError(
            f"the champion {name} v{champ.version} in {uri} cannot be used: {wrapper.load_error}"
        )
    metadata = {**wrapper.metadata, "model_version": str(champ.version), "run_id": champ.run_id}
    return wrapper.model, metadata


def load_version(cfg: TrackingConfig, name: str, version: str) -> tuple[ChurnModel, dict[str, Any]]:
    """The ``models:/<name>/<version>`` model (a registered version, promoted or not) and its export
    metadata (plus ``model_version``); FileNotFoundError when the store has no such version."""
    uri = tracking_uri(cfg)
    try:
        _use(uri)
        found = MlflowClient().get_model_version(name, version)
    except MlflowException:
        raise FileNotFoundError(f"no version {version} of the model '{name}' in {uri}") from None
    except _STORE_FAULTS as exc:
        raise _store_fault(uri, exc, SCORE_HINT) from None
    model, metadata = _model_of_version(name, version)
    return model, {**metadata, "model_version": str(found.version), "run_id": found.run_id}


def champion_datasets(cfg: TrackingConfig) -> dict[str, str | None]:
    """Each registered model holding the ``champion`` alias -> the dataset its champion learned from (its
    version's ``dataset`` tag, None when untagged). Empty when the store has none or cannot be read: what a
    hint reads, never a reason to fail."""
    uri = tracking_uri(cfg)
    try:
        _use(uri)
        client = MlflowClient()
        held = {
            m.name: m.aliases[CHAMPION] for m in client.search_registered_models() if CHAMPION in m.aliases
        }
        return {name: client.get_model_version(name, v).tags.get("dataset") for name, v in held.items()}
    except _STORE_FAULTS:
        return {}


def registered_versions(cfg: TrackingConfig, name: str) -> list[dict[str, str]]:
    """The registered versions of ``name``, newest first: ``version``, ``promoted`` (the tag
    :func:`record_promotion` writes: ``true``, ``false``, or ``""`` when none was recorded) and
    ``promotion_reason`` (``""`` when none). Empty when the store has no such model or cannot be read: what
    a hint reads, never a reason to fail."""
    uri = tracking_uri(cfg)
    quote = '"' if "'" in name else "'"
    try:
        _use(uri)
        found = MlflowClient().search_model_versions(f"name = {quote}{name}{quote}")
    except _STORE_FAULTS:
        return []
    versions = [
        {
            "version": str(v.version),
            "promoted": str(v.tags.get("promoted", "")),
            "promotion_reason": str(v.tags.get("promotion_reason", "")),
        }
        for v in found
    ]
    return sorted(versions, key=lambda v: -int(v["version"]))


def scratch_folder() -> Path:
    """A temporary folder for artifacts written before logging (caller removes it)."""
    return Path(tempfile.mkdtemp(prefix="churnml-mlflow-"))
