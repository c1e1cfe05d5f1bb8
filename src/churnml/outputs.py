"""The weekly list as files: the output column names, formula-safe CSV, and an atomic folder writer.

``data/scores/<as-of>/`` holds ``scores.parquet``, ``scores.csv``, ``history.parquet``,
``report.html`` and ``manifest.json``. :func:`write_scores_atomically` writes them into a temporary
folder beside the target and swaps it in with renames, so a reader (or an interrupted run) never sees
a half-written list: either the previous folder or the complete new one. When the new files equal
the existing ones (``manifest.json`` compared without its volatile ``timings``), the folder is left
untouched, so running the same command twice gives byte-identical files.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import polars as pl

from churnml.schemas import CLIENT_ID, SNAPSHOT

__all__ = [
    "FORMULA_PREFIXES",
    "MANIFEST",
    "VOLATILE_MANIFEST_KEYS",
    "History",
    "Scores",
    "formula_safe",
    "formula_safe_csv",
    "parquet_bytes",
    "read_previous_history",
    "write_scores_atomically",
]

MANIFEST = "manifest.json"
# A spreadsheet reads a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Keys of manifest.json that change from run to run (wall-clock figures) and are ignored when deciding
# whether a rerun produced the same list.
VOLATILE_MANIFEST_KEYS = ("timings",)


class Scores:
    """Column names of ``scores.parquet`` / ``scores.csv`` (one row per client active at the as-of date)."""

    CLIENT_ID = CLIENT_ID
    AS_OF = "as_of"
    NAME = "name"
    OWNER = "owner"
    SEGMENT = "segment"
    PROBABILITY = "churn_probability"
    HEALTH = "health_score"
    ZONE = "zone"
    PREVIOUS_PROBABILITY = "previous_probability"
    PROBABILITY_CHANGE = "probability_change"
    PREVIOUS_ZONE = "previous_zone"
    ZONE_CHANGE = "zone_change"
    NEW_IN_RED = "new_in_red"
    WHY_CHANGED = "why_changed"
    EXPLAINED = "explained"
    ARR = "arr"
    LIFETIME_VALUE = "lifetime_value"
    STRATEGIC = "strategic"
    VALUE_TIER = "value_tier"
    REVENUE_AT_RISK = "revenue_at_risk"
    PRIORITY = "priority"
    RULES = "rules_fired"
    ACTION = "action"
    ACTS = "acts"
    ESCALATION = "escalation"
    RAW_SCORE = "raw_score"

    @staticmethod
    def family_health(family: str) -> str:
        return f"health_{family}"

    @staticmethod
    def driver(i: int, part: str) -> str:
        """``driver_<i>_<part>``; part is feature, family, direction, sentence or contribution."""
        return f"driver_{i}_{part}"

    @staticmethod
    def rule(name: str) -> str:
        return f"rule_{name}"


class History:
    """Column names of ``history.parquet`` (one row per client x weekly snapshot)."""

    CLIENT_ID = CLIENT_ID
    SNAPSHOT = SNAPSHOT
    PROBABILITY = "churn_probability"
    HEALTH = "health_score"


def _is_number(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().cast(pl.Float64, strict=False).is_not_null()


def formula_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """A copy where every text cell that a spreadsheet would run as a formula starts with ``'``.

    A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is prefixed with a
    single quote unless the whole cell is a number (``-0.25`` stays a number). Numeric columns are
    untouched (their CSV text is always a plain number).
    """
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            col = pl.col(name)
            risky = pl.any_horizontal([col.str.starts_with(p) for p in FORMULA_PREFIXES])
            exprs.append(pl.when(risky & ~_is_number(col)).then(pl.lit("'") + col).otherwise(col).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def formula_safe_csv(frame: pl.DataFrame) -> bytes:
    """UTF-8 CSV bytes of ``frame`` after :func:`formula_safe`; nested columns are left out."""
    flat = frame.select(
        [n for n, t in frame.schema.items() if not isinstance(t, pl.List | pl.Struct | pl.Array)]
    )
    buffer = io.BytesIO()
    formula_safe(flat).write_csv(buffer, float_precision=6, date_format="%Y-%m-%d")
    return buffer.getvalue()


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    """Parquet bytes of ``frame`` (the same frame always gives the same bytes)."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, statistics=False)
    return buffer.getvalue()


def read_previous_history(folder: Path, model_version: str, config_hash: str) -> pl.DataFrame | None:
    """``history.parquet`` of an earlier list in ``folder``, if it was made by the same model and config.

    Returns None when the folder, its files or a matching manifest are missing: the caller then scores
    the whole history itself.
    """
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        if (
            manifest.get("model", {}).get("version") != model_version
            or manifest.get("config_hash") != config_hash
        ):
            return None
        return pl.read_parquet(folder / "history.parquet")
    except (OSError, ValueError, pl.exceptions.PolarsError):
        return None


FileContent = bytes | Callable[[Path], None]


def _stable_manifest(blob: bytes) -> dict | None:
    try:
        payload = json.loads(blob)
    except ValueError:
        return None
    if isinstance(payload, dict):
        for key in VOLATILE_MANIFEST_KEYS:
            payload.pop(key, None)
    return payload


def _same_files(new: Path, old: Path) -> bool:
    if not old.is_dir():
        return False
    names_new = sorted(p.name for p in new.iterdir())
    names_old = sorted(p.name for p in old.iterdir())
    if names_new != names_old:
        return False
    for name in names_new:
        a, b = (new / name).read_bytes(), (old / name).read_bytes()
        if name == MANIFEST:
            if _stable_manifest(a) != _stable_manifest(b):
                return False
        elif a != b:
            return False
    return True


def _recover(folder: Path) -> None:
    """Finish a swap that a crash interrupted: put the previous list back if the folder is missing."""
    olds = sorted(folder.parent.glob(f".{folder.name}.old-*"))
    if olds and not folder.exists():
        os.rename(olds[-1], folder)
        olds = olds[:-1]
    for stale in [*olds, *folder.parent.glob(f".{folder.name}.tmp-*")]:
        shutil.rmtree(stale, ignore_errors=True)


def write_scores_atomically(folder: Path, files: Mapping[str, FileContent]) -> bool:
    """Write ``files`` (name -> bytes, or a function that writes the given path) as ``folder``.

    Everything is written into ``.<folder>.tmp-<pid>`` beside the target first; only when every file
    is complete is the old folder renamed away and the new one renamed into place. A failure before
    that point leaves the previous folder intact. Returns False when the new files equal the existing
    ones (nothing is replaced), True when the folder was (re)written.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    _recover(folder)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name, content in files.items():
            target = tmp / name
            if isinstance(content, bytes | bytearray):
                target.write_bytes(content)
            else:
                content(target)
            with open(target, "rb") as handle:
                os.fsync(handle.fileno())
        if _same_files(tmp, folder):
            shutil.rmtree(tmp)
            return False
        old = folder.parent / f".{folder.name}.old-{os.getpid()}"
        if folder.exists():
            os.rename(folder, old)
        os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return True
