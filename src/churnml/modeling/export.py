"""Export a fitted :class:`~churnml.modeling.train.ChurnModel` to a folder a batch job can score from.

The folder (written atomically: a temp folder beside it, then a rename) holds:

- ``model.txt``: the LightGBM booster (text format, trimmed to the best iteration);
- ``features.json``: the ordered feature list;
- ``calibrator.joblib``: the fitted :class:`~churnml.modeling.train.ScoreCalibrator`;
- ``metadata.json``: whatever the caller passes (model version, run id, trained_at, config hash, label
  settings, test metrics, ...) plus ``feature_names``, ``calibration`` and ``format_version``.

:func:`feature_reference` describes the training distribution of each feature (quantile bin edges and
the share of rows per bin, plus the missing share); :func:`population_stability` compares new values
with it (PSI), for drift checks at scoring time.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd

from churnml.io import with_default_permissions
from churnml.modeling.train import ChurnModel

__all__ = [
    "FORMAT_VERSION",
    "export_model",
    "feature_reference",
    "load_exported",
    "population_stability",
]

FORMAT_VERSION = 1
MODEL_FILE = "model.txt"
FEATURES_FILE = "features.json"
CALIBRATOR_FILE = "calibrator.joblib"
METADATA_FILE = "metadata.json"
_OWN_FILES = (MODEL_FILE, FEATURES_FILE, CALIBRATOR_FILE, METADATA_FILE)


def feature_reference(X: pd.DataFrame, bins: int = 10) -> dict[str, dict[str, Any]]:
    """Per feature: ``edges`` (inner quantile cut points), ``proportions`` (share per bin, ``len(edges)+1``
    bins, non-missing rows) and ``missing`` (share of missing rows). Grain of ``X``: client x snapshot."""
    out: dict[str, dict[str, Any]] = {}
    qs = np.linspace(0, 1, bins + 1)[1:-1]
    for col in X.columns:
        v = pd.to_numeric(X[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        present = v[~np.isnan(v)]
        missing = float(1 - present.size / max(v.size, 1))
        if present.size == 0:
            out[str(col)] = {"edges": [], "proportions": [], "missing": missing}
            continue
        edges = np.unique(np.quantile(present, qs))
        counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=edges.size + 1)
        out[str(col)] = {
            "edges": [float(e) for e in edges],
            "proportions": [float(c) for c in counts / present.size],
            "missing": missing,
        }
    return out


def population_stability(reference: Mapping[str, Any], values: Any, floor: float = 1e-4) -> float:
    """PSI between one feature's reference (from :func:`feature_reference`) and new values.

    Missing values form their own bin. ``sum((new - ref) * ln(new / ref))`` with shares floored at
    ``floor``; above 0.25 is the usual "drifted" line.
    """
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    edges = np.asarray(reference["edges"], dtype=float)
    ref_missing = float(reference["missing"])
    ref = np.append(np.asarray(reference["proportions"], dtype=float) * (1 - ref_missing), ref_missing)
    present = v[~np.isnan(v)]
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=edges.size + 1)
    new = np.append(counts, v.size - present.size) / max(v.size, 1)
    if ref.size != new.size:  # a feature that was all-missing in training
        return 0.0 if new[-1] == 1 else float("inf")
    ref = np.maximum(ref, floor)
    new = np.maximum(new, floor)
    return float(np.sum((new - ref) * np.log(new / ref)))


def export_model(model: ChurnModel, folder: Path, metadata: Mapping[str, Any]) -> Path:
    """Write ``model`` and ``metadata`` into ``folder`` atomically; returns ``folder``.

    A previous export in ``folder`` is replaced as a whole; other files there (README.md) are kept.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = with_default_permissions(Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent)))
    try:
        model.booster_.save_model(str(tmp / MODEL_FILE), num_iteration=model.best_iteration_)
        (tmp / FEATURES_FILE).write_text(json.dumps(model.feature_names_, indent=1))
        joblib.dump(model.calibrator_, tmp / CALIBRATOR_FILE)
        meta = {
            **dict(metadata),
            "format_version": FORMAT_VERSION,
            "feature_names": model.feature_names_,
            "calibration": model.calibrator_.method_,
            "best_iteration": model.best_iteration_,
            "params": dict(model.params or {}),
        }
        (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=1, default=str, sort_keys=True))
        old = None
        if folder.exists():
            # Files that are not ours (README.md, .gitkeep) move along into the new folder.
            for item in folder.iterdir():
                if item.name not in _OWN_FILES and item.is_file():
                    shutil.copy2(item, tmp / item.name)
            old = folder.with_name(f".{folder.name}-old-{os.getpid()}")
            folder.rename(old)
        tmp.rename(folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def load_exported(folder: Path) -> tuple[ChurnModel, dict[str, Any]]:
    """The model and metadata written by :func:`export_model`; a clear error when files are missing."""
    folder = Path(folder)
    missing = [f for f in _OWN_FILES if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} is not an exported churnml model (missing {', '.join(missing)}); "
            "run `churnml train` first"
        )
    booster = lgb.Booster(model_file=str(folder / MODEL_FILE))
    names = json.loads((folder / FEATURES_FILE).read_text())
    calibrator = joblib.load(folder / CALIBRATOR_FILE)
    metadata = json.loads((folder / METADATA_FILE).read_text())
    model = ChurnModel.from_parts(booster, calibrator, names, metadata.get("params"))
    return model, metadata
