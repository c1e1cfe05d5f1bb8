"""Export a fitted :class:`~churnml.modeling.train.ChurnModel` to a folder a batch job can score from.

The folder holds only data, never a pickle, so loading a model folder cannot run code:

- ``model.txt``: the LightGBM booster (text format, trimmed to the best iteration);
- ``features.json``: the ordered feature list;
- ``calibrator.json``: the fitted :class:`~churnml.modeling.train.ScoreCalibrator` as data (isotonic
  thresholds ``x``/``y``, or the sigmoid's ``coef``/``intercept``), see :func:`calibrator_data`;
- ``metadata.json``: whatever the caller passes (model version, run id, trained_at, config hash, label
  settings, test metrics, ...) plus ``feature_names``, ``calibration``, ``format_version`` and
  ``files`` (the SHA-256 of the three files above). It is written last: it is the folder's marker, and
  :func:`load_exported` refuses a folder whose files do not match it (truncated, changed, or caught
  half-way through an export).

:func:`export_model` writes each file atomically (temporary file + rename) and touches nothing else in
the folder: README.md, .gitkeep or anything a user keeps there stays as it is. A folder holding a
``model.txt`` (or another churnml file name) without churnml's ``metadata.json`` is refused.

:func:`feature_reference` describes the training distribution of each feature (bin edges and the share
of rows per bin, plus the missing share; quantile bins, and a bin alone for each value of a feature with
few distinct values shared by many clients and for each value a tenth of the rows hold, :func:`reference_edges`;
no bin narrower than 2% of the values at its edges, :func:`resolved_edges`);
:func:`population_stability` compares new values with it (PSI), for drift checks at scoring time. :func:`label_mismatches` compares the label settings
a model was trained with to the ones of a scoring run.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from churnml.contract.io import with_default_permissions
from churnml.modeling.train import ChurnModel, ScoreCalibrator

__all__ = [
    "FORMAT_VERSION",
    "REFERENCE_DAYS",
    "SEASON_DAYS",
    "SEASON_SPAN_DAYS",
    "ModelFileError",
    "calendar_features",
    "calibrator_data",
    "calibrator_from_data",
    "checked_export_folder",
    "commonest_bin_share",
    "dark_features",
    "drift_noise",
    "export_model",
    "exported_metadata",
    "feature_reference",
    "features_mismatches",
    "holds_model_of",
    "label_mismatches",
    "load_exported",
    "mismatch_texts",
    "population_stability",
    "reference_edges",
    "resolved_edges",
    "same_season_reference",
    "season_reference",
    "settings_mismatches",
]

FORMAT_VERSION = 2
MODEL_FILE = "model.txt"
FEATURES_FILE = "features.json"
CALIBRATOR_FILE = "calibrator.json"
LEGACY_CALIBRATOR_FILE = "calibrator.joblib"  # format 1: a pickle, no longer loaded
METADATA_FILE = "metadata.json"
# the narrowest reference bin, as a share of the values at its edges (:func:`resolved_edges`)
RESOLUTION = 0.02
# the drift reference is drawn from the last this many days of labeled snapshots
# (:func:`churnml.modeling.experiment.recent_rows`)
REFERENCE_DAYS = 91
# the season reference (:func:`season_reference`) keeps the labeled snapshots of this many last days: the same
# weeks a year before any list dated within the year after them, a week either side
SEASON_DAYS = 371
# a list's season: the snapshots within this many days of its date a whole number of years (52 weeks) earlier
SEASON_SPAN_DAYS = 7
SEASON_YEAR_DAYS = 364
# a feature is set by a calendar its clients share (:func:`calendar_features`) when at every snapshot at least this
# share of the clients read one value (one bin of its reference)
CALENDAR_SHARE = 0.8
_DATA_FILES = (MODEL_FILE, FEATURES_FILE, CALIBRATOR_FILE)
_OWN_FILES = (*_DATA_FILES, METADATA_FILE)


class ModelFileError(ValueError):
    """An exported model folder is damaged, foreign or of a format churnml no longer loads."""


def feature_reference(
    X: pd.DataFrame, bins: int = 10, few_values: int = 20, clients: Any = None, resolution: float = RESOLUTION
) -> dict[str, dict[str, Any]]:
    """Per feature: ``edges`` (inner bin edges, :func:`reference_edges`), ``proportions`` (share per bin,
    ``len(edges)+1`` bins, non-missing rows), ``missing`` (share of missing rows) and ``rows`` (how many
    rows the shares come from: the sampling noise of a PSI against them, :func:`drift_noise`). Grain of
    ``X``: client x snapshot; ``clients``: the client of each row of ``X`` (a sequence as long as ``X``),
    so that a value repeated over one client's snapshots does not read as a value many clients share
    (:func:`reference_edges`); without it each row counts as a client of its own. ``resolution``: the
    narrowest bin, as a share of the values at its edges (:func:`resolved_edges`)."""
    if clients is not None:
        clients = np.asarray(clients, dtype=object)
        if clients.shape != (len(X),):
            raise ValueError(
                f"feature_reference: clients holds {clients.size} client ids for the {len(X)} rows of X; "
                "pass the client of each row, in the order of X"
            )
    out: dict[str, dict[str, Any]] = {}
    for col in X.columns:
        v = pd.to_numeric(X[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        keep = ~np.isnan(v)
        present = v[keep]
        missing = float(1 - present.size / max(v.size, 1))
        if present.size == 0:
            out[str(col)] = {"edges": [], "proportions": [], "missing": missing, "rows": int(v.size)}
            continue
        edges = reference_edges(
            present, bins, few_values, None if clients is None else clients[keep], resolution
        )
        counts = np.bincount(_bins(edges, present), minlength=edges.size + 1)
        out[str(col)] = {
            "edges": [float(e) for e in edges],
            "proportions": [float(c) for c in counts / present.size],
            "missing": missing,
            "rows": int(v.size),
        }
    return out


def season_reference(
    table: pd.DataFrame,
    reference: Mapping[str, Mapping[str, Any]],
    snapshot: str = "snapshot",
    days: int = SEASON_DAYS,
) -> dict[str, Any]:
    """The rows of each snapshot of the last ``days`` of ``table`` (grain client x snapshot: column ``snapshot``
    and the features) in each bin of the feature's ``reference`` (:func:`feature_reference`, the recent rows'
    edges), its missing rows last: the training data's season, against which a list is compared with the same
    weeks of an earlier year (:func:`same_season_reference`). ``{"features": [names], "snapshots": {ISO date:
    counts}}``, the counts of a snapshot feature after feature in the order of ``features``
    (``len(proportions) + 1`` each), as one string of integers: ``metadata.json`` keeps one line per snapshot
    (a year of weekly snapshots of 240 features: about 400 KB). Features without training values are left
    out; empty without a snapshot."""
    names = [n for n, ref in reference.items() if ref.get("proportions") and n in table.columns]
    if not names or snapshot not in table.columns or table.empty:
        return {}
    when = pd.to_datetime(table[snapshot])
    kept = when >= when.max() - pd.Timedelta(days=days - 1)
    out: dict[str, str] = {}
    for day, rows in table.loc[kept, names].groupby(when[kept].dt.date.to_numpy(), sort=True):
        counts: list[np.ndarray] = []
        for name in names:
            v = pd.to_numeric(rows[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            present = v[~np.isnan(v)]
            edges = np.asarray(reference[name]["edges"], dtype=float)
            binned = np.bincount(_bins(edges, present), minlength=edges.size + 1)
            counts.append(np.append(binned, v.size - present.size))
        out[day.isoformat()] = " ".join(str(int(c)) for c in np.concatenate(counts))
    return {"features": names, "snapshots": out}


def same_season_reference(
    season: Mapping[str, Any],
    reference: Mapping[str, Mapping[str, Any]],
    as_of: date,
    span: int = SEASON_SPAN_DAYS,
) -> tuple[dict[str, dict[str, Any]], list[date]]:
    """``(references, days)``: each feature's reference (as :func:`feature_reference` gives it, on the same
    edges) from the snapshots of ``season`` (:func:`season_reference`) within ``span`` days of ``as_of`` a
    whole number of years (52 weeks, the same weekday) earlier, and those snapshots, sorted. A list of
    2025-12-29 is read against the training snapshots of 2024-12-23, 2024-12-30 and 2025-01-06: its
    Christmas week against the last one. ``({}, [])`` when the season holds none."""
    snapshots = season.get("snapshots") or {}
    days = []
    for text in snapshots:
        day = date.fromisoformat(text)
        years = round((as_of - day).days / SEASON_YEAR_DAYS)
        if years >= 1 and abs((as_of - day).days - years * SEASON_YEAR_DAYS) <= span:
            days.append(day)
    days.sort()
    if not days:
        return {}, []
    total = np.sum([np.asarray(snapshots[d.isoformat()].split(), dtype=np.int64) for d in days], axis=0)
    out: dict[str, dict[str, Any]] = {}
    for name, columns in _season_layout(season, reference):
        ref = reference[name]
        counts = total[columns]
        rows, present = int(counts.sum()), int(counts[:-1].sum())
        if present == 0:
            continue
        out[name] = {
            "edges": list(ref["edges"]),
            "proportions": [float(c) for c in counts[:-1] / present],
            "missing": float(counts[-1] / rows),
            "rows": rows,
        }
    return out, days


def _season_layout(
    season: Mapping[str, Any], reference: Mapping[str, Mapping[str, Any]]
) -> list[tuple[str, slice]]:
    """Each feature of ``season`` (:func:`season_reference`) with its columns in a snapshot's counts: its bins of
    ``reference``, missing last, one feature after the other. It stops at a feature ``reference`` does not hold
    (a season written for other features: its layout is unknown from there on)."""
    out: list[tuple[str, slice]] = []
    at = 0
    for name in season.get("features") or []:
        ref = reference.get(name)
        if ref is None:
            break
        width = len(ref["proportions"]) + 1
        out.append((name, slice(at, at + width)))
        at += width
    return out


def _season_counts(
    season: Mapping[str, Any], reference: Mapping[str, Mapping[str, Any]]
) -> dict[str, np.ndarray]:
    """Per feature of ``season`` (:func:`season_reference`), its bin counts at each snapshot: an array of
    snapshots x (bins of its ``reference``, missing last), snapshots in date order."""
    snapshots = season.get("snapshots") or {}
    if not snapshots:
        return {}
    table = np.array([np.asarray(snapshots[d].split(), dtype=np.int64) for d in sorted(snapshots)])
    return {name: table[:, columns] for name, columns in _season_layout(season, reference)}


def commonest_bin_share(reference: Mapping[str, Any], values: np.ndarray) -> float:
    """The share of the non-missing ``values`` that fall in their commonest bin of one feature's ``reference``
    (:func:`feature_reference`'s edges); 0.0 without a value."""
    v = np.asarray(values, dtype=float)
    present = v[~np.isnan(v)]
    if present.size == 0:
        return 0.0
    edges = np.asarray(reference.get("edges") or [], dtype=float)
    counts = np.bincount(_bins(edges, present), minlength=edges.size + 1)
    return float(counts.max() / present.size)


def calendar_features(
    season: Mapping[str, Any], reference: Mapping[str, Mapping[str, Any]], share: float = CALENDAR_SHARE
) -> dict[str, float]:
    """The features set by a calendar the clients share, each with the smallest share of the clients that read
    its commonest value at a snapshot: at every snapshot of the training data's ``season``
    (:func:`season_reference`, bins of ``reference``) at least ``share`` of the clients with a value sit in one
    bin, and that bin is not the same at every snapshot (the value moves with the date). A school whose every
    term ends on 31 January and 31 August: all its students read the same days to their term's end at each
    snapshot, another number each week, so any list read it at a PSI of 14 against the training rows of other
    weeks (and against last year's same weeks, a day or two apart). A value every client holds at every snapshot
    (one price for all) is no calendar: its move is drift. Empty with fewer than two snapshots."""
    out: dict[str, float] = {}
    for name, counts in _season_counts(season, reference).items():
        present = counts[:, :-1]
        totals = present.sum(axis=1)
        kept = totals > 0
        if kept.sum() < 2:
            continue
        top = present[kept].max(axis=1) / totals[kept]
        modes = present[kept].argmax(axis=1)
        if top.min() >= share and np.unique(modes).size > 1:
            out[name] = round(float(top.min()), 4)
    return out


def reference_edges(
    present: np.ndarray,
    bins: int = 10,
    few_values: int = 20,
    clients: np.ndarray | None = None,
    resolution: float = RESOLUTION,
) -> np.ndarray:
    """The inner bin edges (float32, sorted, distinct) of one feature's non-missing training values.

    ``clients``: the client of each value (the rows are client x snapshot), else each value counts as a
    client of its own. A feature of at most ``few_values`` distinct values, shared (at least twice as
    many clients as values: a price, a plan, a small count), gets a bin for each value alone, ``[v, next
    float32 above v)`` widened to the resolution (``[v - |v| / 100, v + |v| / 100)``; 0 keeps its own ``[0, next
    float32)``), and one for each gap around them: a price raised from 9.99 to 12.99 for everyone
    moves all the mass into a bin no training row had (above the top value, below the bottom one, or
    between two), where quantile edges (``[9.99]``) put 12.99 in the same open top bin as 9.99 and saw no
    drift. Any other feature gets its ``bins`` quantile cut points, plus a bin alone for each value held by
    at least one row in ``bins`` and by two clients or more (the 0 of a count that is mostly 0). A
    continuous feature, where no value is shared that often, keeps its quantile bins only: so does a
    reference of a few rows or a few clients, where few values are not a sign of a discrete feature (its
    new values would all fall between the training ones: 15 clients' MRR repeated over 40 snapshots, each
    up 2%, read PSI 7.1 when the repeats were counted in rows). Last, no bin is narrower than ``resolution``
    times the values at its edges (:func:`resolved_edges`): a shift far smaller than the values themselves
    is no drift, even on a feature whose spread is smaller still."""
    values = np.asarray(present, dtype=np.float32)
    distinct, counts = np.unique(values, return_counts=True)
    holders, units = _holders(values, distinct, counts, clients)
    if distinct.size <= few_values and 2 * distinct.size <= units:
        edges, alone = np.empty(0, dtype=np.float32), distinct
    else:
        edges = np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]).astype(np.float32)
        alone = distinct[(counts * bins >= values.size) & (holders >= 2)]
    above = np.nextafter(alone, np.float32(np.inf))
    return resolved_edges(np.unique(np.concatenate([edges, alone, above])), resolution)


def resolved_edges(edges: np.ndarray, resolution: float = RESOLUTION) -> np.ndarray:
    """``edges`` (sorted, distinct) with no bin narrower than the feature's resolution: a bin ``[a, b)`` is
    narrow when ``b - a < resolution * max(|a|, |b|)`` (2% of the values it holds by default). Each run of
    edges joined by narrow bins becomes one bin reaching half the resolution beyond its outer edges,
    ``[a - resolution |a| / 2, b + resolution |b| / 2)``, so that its boundaries stand clear of the mass that
    crowded the quantiles together; edges with no narrow bin beside them stay as they are. A monthly
    payment gap of 30.0-30.4 days for nearly everyone had deciles 0.03-0.1 days apart, and a 0.1-day shift
    read PSI 5.06; now it falls in one bin [29.7, 30.6) and a shift under about 1% of the values moves no
    mass between bins, while a move to a 45-day rhythm still leaves it. The bins near 0 keep their width
    (the 0 alone of a mostly-0 count): the resolution is relative to the values' magnitude, not to their
    spread, since the spread of a near-constant feature is the very thing that is too small. Float32,
    sorted, distinct."""
    values = np.asarray(edges, dtype=np.float64)
    if values.size < 2 or resolution <= 0:
        return np.asarray(edges, dtype=np.float32)
    narrow = np.diff(values) < resolution * np.maximum(np.abs(values[:-1]), np.abs(values[1:]))
    out: list[float] = []
    start = 0
    for i in range(values.size):
        if i < narrow.size and narrow[i]:
            continue  # the run goes on to the next edge
        low, high = values[start], values[i]
        if i == start:
            out.append(low)
        else:
            out += [low - resolution * abs(low) / 2, high + resolution * abs(high) / 2]
        start = i + 1
    return np.unique(np.asarray(out, dtype=np.float32))


def _holders(
    values: np.ndarray, distinct: np.ndarray, counts: np.ndarray, clients: np.ndarray | None
) -> tuple[np.ndarray, int]:
    """(how many clients hold each of ``distinct`` (the sorted distinct ``values``, ``counts`` rows
    each), how many clients there are): the row counts and the rows without ``clients``."""
    if clients is None:
        return counts, int(values.size)
    pairs = pd.DataFrame({"value": values, "client": np.asarray(clients, dtype=object)}).drop_duplicates()
    holders = pairs.groupby("value").size().reindex(distinct, fill_value=0).to_numpy()
    return holders, int(pairs["client"].nunique())


def _bins(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The bin of each value (a value equal to an edge goes right), compared in float32: the training
    table is float32 and the scoring features float64, so 1/13 must land in the same bin either way
    (in float64 it falls below its own float32 edge, which read as drift)."""
    return np.searchsorted(
        np.asarray(edges, dtype=np.float32), np.asarray(values, dtype=np.float32), side="right"
    )


def _reference_shares(reference: Mapping[str, Any]) -> np.ndarray:
    """The reference's share of each bin, the missing bin last (they sum to 1)."""
    missing = float(reference["missing"])
    return np.append(np.asarray(reference["proportions"], dtype=float) * (1 - missing), missing)


def _psi(new_counts: np.ndarray, n: int, ref: np.ndarray, floor: float) -> np.ndarray:
    """PSI of bin counts ``new_counts`` (``n`` values; last axis = bins) against reference shares ``ref``
    (the rule of :func:`population_stability`; rows of a 2-d ``new_counts`` are separate samples)."""
    ref = np.maximum(ref, floor)
    n = max(n, 1)
    new = np.where(new_counts > 0, new_counts / n, np.minimum(0.5 / n, ref))
    return np.sum((new - ref) * np.log(new / ref), axis=-1)


def population_stability(reference: Mapping[str, Any], values: Any, floor: float = 1e-4) -> float:
    """PSI between one feature's reference (from :func:`feature_reference`) and new values.

    Missing values form their own bin. ``sum((new - ref) * ln(new / ref))`` with the reference shares
    floored at ``floor``. A bin no new value fell in counts as half a value (``0.5 / n``, at most its
    reference share) rather than ``floor``: with a hundred scored clients a 2% bin is empty by chance
    one time in eight, and floored it would weigh ``0.02 ln(0.02 / floor)`` = 0.1 alone. Identical
    shares still give exactly 0. Above 0.25 is the usual "drifted" line (and see :func:`drift_noise`).
    """
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    edges = np.asarray(reference["edges"], dtype=float)
    ref = _reference_shares(reference)
    present = v[~np.isnan(v)]
    counts = np.bincount(_bins(edges, present), minlength=edges.size + 1)
    new_counts = np.append(counts, v.size - present.size)
    if ref.size != new_counts.size:  # a feature that was all-missing in training
        return 0.0 if new_counts[-1] == v.size else float("inf")
    return float(_psi(new_counts, v.size, ref, floor))


def drift_noise(
    reference: Mapping[str, Any], rows_now: int, level: float = 0.99, draws: int = 400, floor: float = 1e-4
) -> float:
    """The PSI that sampling alone exceeds with probability ``1 - level`` when nothing drifted: ``draws``
    samples of ``rows_now`` values from the reference's own bins (and, when the reference records its
    ``rows``, a reference of that many values drawn alike), each scored like :func:`population_stability`.
    About 0.25 for a hundred scored clients, 0.02 for two thousand: a drift flag must clear it as well as
    ``score.drift_psi``. Seeded: the same reference and row count give the same figure every run."""
    if not reference.get("edges") and not reference.get("proportions"):
        return 0.0
    shares = _reference_shares(reference)
    shares = shares / shares.sum()
    rng = np.random.default_rng(20_240_601)
    new_counts = rng.multinomial(max(rows_now, 1), shares, size=draws)
    ref_rows = reference.get("rows")
    ref = rng.multinomial(ref_rows, shares, size=draws) / ref_rows if ref_rows else shares
    return float(np.quantile(_psi(new_counts, rows_now, ref, floor), level))


def calibrator_data(calibrator: ScoreCalibrator) -> dict[str, Any]:
    """The fitted calibrator as plain JSON data: ``{"method": "isotonic", "x": [...], "y": [...],
    "increasing": bool, "y_min", "y_max", "out_of_bounds"}`` or ``{"method": "sigmoid", "coef": c,
    "intercept": b}`` (probability = 1 / (1 + exp(-(c * raw + b)))). Floats round-trip exactly."""
    method = calibrator.method_
    if method == "isotonic":
        iso = calibrator.isotonic_
        return {
            "method": "isotonic",
            "x": [float(v) for v in iso.X_thresholds_],
            "y": [float(v) for v in iso.y_thresholds_],
            "increasing": bool(iso.increasing_),
            "y_min": None if iso.y_min is None else float(iso.y_min),
            "y_max": None if iso.y_max is None else float(iso.y_max),
            "out_of_bounds": str(iso.out_of_bounds),
        }
    if method == "sigmoid":
        lr = calibrator.logistic_
        return {
            "method": "sigmoid",
            "coef": float(np.ravel(lr.coef_)[0]),
            "intercept": float(np.ravel(lr.intercept_)[0]),
        }
    raise ModelFileError(f"cannot export a calibrator of method {method!r}")


def _isotonic_from(data: Mapping[str, Any]) -> IsotonicRegression:
    x = np.asarray(data["x"], dtype=float)
    y = np.asarray(data["y"], dtype=float)
    if x.ndim != 1 or x.size == 0 or x.shape != y.shape or not np.all(np.isfinite(x)):
        raise ValueError("isotonic thresholds x and y must be two equally long, non-empty lists of numbers")
    # Refitting on the thresholds (unique x, monotone y) reproduces the same piecewise-linear map.
    iso = IsotonicRegression(
        y_min=data.get("y_min"),
        y_max=data.get("y_max"),
        increasing=bool(data.get("increasing", True)),
        out_of_bounds=str(data.get("out_of_bounds", "clip")),
    )
    return iso.fit(x, y)


def _logistic_from(data: Mapping[str, Any]) -> LogisticRegression:
    coef, intercept = float(data["coef"]), float(data["intercept"])
    if not (np.isfinite(coef) and np.isfinite(intercept)):
        raise ValueError("sigmoid coef and intercept must be finite numbers")
    lr = LogisticRegression()
    lr.classes_ = np.array([0, 1])
    lr.coef_ = np.array([[coef]])
    lr.intercept_ = np.array([intercept])
    lr.n_features_in_ = 1
    lr.n_iter_ = np.array([0], dtype=np.int32)
    return lr


def calibrator_from_data(data: Mapping[str, Any]) -> ScoreCalibrator:
    """The :class:`ScoreCalibrator` described by :func:`calibrator_data` (no pickle involved).
    Raises ``ValueError`` on data that does not describe one."""
    method = data.get("method") if isinstance(data, Mapping) else None
    calibrator = ScoreCalibrator(method if method in ("isotonic", "sigmoid") else "isotonic")
    try:
        if method == "isotonic":
            calibrator.isotonic_ = _isotonic_from(data)
        elif method == "sigmoid":
            calibrator.logistic_ = _logistic_from(data)
        else:
            raise ValueError(f"unknown calibration method {method!r} (isotonic or sigmoid)")
    except (KeyError, TypeError) as exc:
        raise ValueError(f"calibrator data lacks or mistypes {exc}") from None
    calibrator.method_ = method
    return calibrator


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_metadata(folder: Path) -> dict[str, Any]:
    path = folder / METADATA_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(
            f"{path} is not readable JSON ({reason}): the model folder is damaged; "
            "export it again with `churnml train`"
        ) from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path} must hold a JSON object, not {type(meta).__name__}; retrain")
    return meta


def exported_metadata(folder: Path) -> dict[str, Any]:
    """``metadata.json`` of a model folder, or ``{}`` when it is missing or unreadable (for callers that
    only need the recorded evidence of a model they may not be able to load)."""
    try:
        return _read_metadata(Path(folder))
    except ModelFileError:
        return {}


def exported_dataset(folder: Path) -> str | None:
    """The dataset named by the card of the model exported in ``folder``; ``None`` when the folder holds
    no model (no ``model.txt``) or its card names no dataset (exported before cards recorded it)."""
    folder = Path(folder)
    if not (folder / MODEL_FILE).is_file():
        return None
    return exported_metadata(folder).get("dataset")


def holds_model_of(folder: Path, dataset: str | None) -> bool:
    """Whether ``folder`` holds an exported model (its ``model.txt``) trained on the dataset named
    ``dataset`` (or whose card names no dataset: exported before cards recorded it)."""
    folder = Path(folder)
    return (folder / MODEL_FILE).is_file() and exported_dataset(folder) in (None, dataset)


def checked_export_folder(folder: Path) -> Path:
    """``folder`` when :func:`export_model` may write into it: it does not exist, or it is a folder that
    either holds none of churnml's file names or carries churnml's ``metadata.json``. Otherwise a
    :class:`ModelFileError` saying why. Nothing is touched."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ModelFileError(f"--out {folder} is an existing file, not a folder; give a folder path")
    if not folder.is_dir():
        return folder
    ours = [n for n in (*_OWN_FILES, LEGACY_CALIBRATOR_FILE) if (folder / n).exists()]
    if not ours:
        return folder
    meta_path = folder / METADATA_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        marked = isinstance(meta, dict) and "format_version" in meta and "feature_names" in meta
    except (OSError, UnicodeDecodeError, ValueError):
        marked = False
    if not marked:
        raise ModelFileError(
            f"--out {folder} holds {', '.join(ours)} but no churnml {METADATA_FILE}: these files are not "
            "an export churnml wrote, and churnml will not replace them. Give another folder"
        )
    return folder


def _write_atomic(folder: Path, name: str, write: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        write(Path(tmp))
        with_default_permissions(Path(tmp))
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_model(model: ChurnModel, folder: Path, metadata: Mapping[str, Any]) -> Path:
    """Write ``model`` and ``metadata`` into ``folder``; returns ``folder``.

    Each of churnml's files is written atomically and ``metadata.json`` (with the checksums of the
    others) last; anything else in the folder (README.md, .gitkeep, sub-folders) is left untouched.
    A format-1 ``calibrator.joblib`` of an earlier churnml export is removed. Raises
    :class:`ModelFileError` when the folder holds churnml file names it did not write.
    """
    folder = checked_export_folder(Path(folder))
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(
        folder,
        MODEL_FILE,
        lambda p: model.booster_.save_model(str(p), num_iteration=model.best_iteration_),
    )
    _write_atomic(folder, FEATURES_FILE, lambda p: p.write_text(json.dumps(model.feature_names_, indent=1)))
    calibration = calibrator_data(model.calibrator_)
    _write_atomic(folder, CALIBRATOR_FILE, lambda p: p.write_text(json.dumps(calibration, indent=1) + "\n"))
    meta = {
        **dict(metadata),
        "format_version": FORMAT_VERSION,
        "feature_names": model.feature_names_,
        "calibration": model.calibrator_.method_,
        "best_iteration": model.best_iteration_,
        "params": dict(model.params or {}),
        "files": {name: _sha256(folder / name) for name in _DATA_FILES},
    }
    text = json.dumps(meta, indent=1, default=str, sort_keys=True)
    _write_atomic(folder, METADATA_FILE, lambda p: p.write_text(text))
    (folder / LEGACY_CALIBRATOR_FILE).unlink(missing_ok=True)  # ours, format 1, now stale
    return folder


def load_exported(folder: Path) -> tuple[ChurnModel, dict[str, Any]]:
    """The model and metadata written by :func:`export_model`.

    One clear error (:class:`FileNotFoundError` or :class:`ModelFileError`, never a traceback from a
    parser) when files are missing, damaged, changed after export, or of the pickled format 1.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder {folder} does not exist; run `churnml train` first")
    if (folder / LEGACY_CALIBRATOR_FILE).is_file() and not (folder / CALIBRATOR_FILE).is_file():
        raise ModelFileError(
            f"{folder} is a model of an older churnml (its calibrator is the pickle "
            f"{LEGACY_CALIBRATOR_FILE}, which churnml no longer loads: a pickle can run code). "
            "Retrain with `churnml train` to export it as data"
        )
    missing = [f for f in _OWN_FILES if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} is not an exported churnml model (missing {', '.join(missing)}); "
            "run `churnml train` first"
        )
    metadata = _read_metadata(folder)
    recorded = metadata.get("files")
    if not isinstance(recorded, dict):
        raise ModelFileError(f"{folder / METADATA_FILE} lacks the checksums of the model files; retrain")
    changed = [n for n in _DATA_FILES if recorded.get(n) != _sha256(folder / n)]
    if changed:
        raise ModelFileError(
            f"{', '.join(changed)} in {folder} do not match the checksums in {METADATA_FILE} "
            "(truncated, edited, or an export was interrupted); export the model again with `churnml train`"
        )
    try:
        booster = lgb.Booster(model_file=str(folder / MODEL_FILE))
        names = json.loads((folder / FEATURES_FILE).read_text(encoding="utf-8"))
        calibrator = calibrator_from_data(json.loads((folder / CALIBRATOR_FILE).read_text(encoding="utf-8")))
    except (lgb.basic.LightGBMError, ValueError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(
            f"cannot load the model in {folder}: {reason}; retrain with `churnml train`"
        ) from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ModelFileError(f"{folder / FEATURES_FILE} must be a list of feature names; retrain")
    model = ChurnModel.from_parts(booster, calibrator, names, metadata.get("params"))
    return model, metadata


def dark_features(values: np.ndarray, names: Sequence[str], reference: Mapping[str, Any] | None) -> list[str]:
    """Features that had values in training (reference missing share below 1) and are missing for every
    scored row now: the columns of ``values`` (rows x ``names``) that are all NaN, sorted. Read from the
    values themselves: a column whose every value falls outside the training bins has the PSI of an
    all-missing one, and was taken for missing when this was told from the PSI."""
    if values.size == 0:
        return []
    empty = np.isnan(values).all(axis=0)
    out = [
        name
        for name, gone in zip(names, empty, strict=True)
        if gone and float(((reference or {}).get(name) or {}).get("missing", 1.0)) < 1.0
    ]
    return sorted(out)


def settings_mismatches(
    section: str,
    trained: Mapping[str, Any] | None,
    scoring: Mapping[str, Any],
    ignored: tuple[str, ...] = (),
) -> dict[str, tuple[Any, Any]]:
    """``{"<section>.<key>": (the model's value, the scoring run's)}`` for every setting of ``section``
    recorded with a model that differs from the scoring run's (keys in ``ignored`` left out); empty when
    they agree or the model recorded none (an older model, or a key added since)."""
    if not isinstance(trained, Mapping):
        return {}
    return {
        f"{section}.{key}": (trained[key], scoring[key])
        for key in sorted(trained)
        if key in scoring and key not in ignored and trained[key] != scoring[key]
    }


def mismatch_texts(mismatches: Mapping[str, tuple[Any, Any]]) -> list[str]:
    """``<section>.<key>: model <a>, config <b>`` for each of :func:`settings_mismatches`."""
    return [f"{name}: model {model!r}, config {config!r}" for name, (model, config) in mismatches.items()]


def label_mismatches(trained: Mapping[str, Any] | None, scoring: Mapping[str, Any]) -> list[str]:
    """``label.<key>: model <a>, config <b>`` for every label setting recorded with a model (metadata key
    ``label``) that differs from the scoring run's; empty when they agree or the model recorded none."""
    return mismatch_texts(settings_mismatches("label", trained, scoring))


# Feature settings that do not change a feature's value (only where it is computed).
# what a feature setting changes only in how the columns are computed or worded, not what they mean
FEATURE_SETTINGS_IGNORED = ("engine", "login_noun", "value_noun", "seat_noun")


def features_mismatches(trained: Mapping[str, Any] | None, scoring: Mapping[str, Any]) -> list[str]:
    """``features.<key>: model <a>, config <b>`` for every feature setting recorded with a model (metadata
    key ``features_config``) that differs from the scoring run's, but the engine: the same column
    computed with other event names or windows means something else to the model."""
    return mismatch_texts(settings_mismatches("features", trained, scoring, FEATURE_SETTINGS_IGNORED))
