"""The weekly list as files: the output column names, formula-safe CSV, and an atomic folder writer.

``data/scores/<as-of>/`` holds ``scores.parquet``, ``scores.csv``, ``history.parquet``,
``report.html`` and ``manifest.json``. :func:`write_scores_atomically` writes them into a temporary
folder beside the target and swaps it in with renames, so a reader (or an interrupted run) never sees
a half-written list: either the previous folder or the complete new one. When the new files equal
the existing ones (``manifest.json`` compared without its volatile ``timings``), the folder is left
untouched, so running the same command twice gives byte-identical files.

churnml only ever replaces what churnml wrote (:func:`checked_output_folder`): an existing output
folder must carry churnml's ``manifest.json`` (the marker) and hold nothing but churnml's own files;
the output may not be, contain or lie inside the input dataset, and may not be or contain the current
folder or the project root. Two runs on one output folder take a lock (:func:`output_lock`): the
second waits a few seconds, then stops with a message saying which run holds it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from churnml.contract.schemas import CLIENT_ID, SNAPSHOT

__all__ = [
    "FORMULA_PREFIXES",
    "LIST_FILES",
    "LOCK_WAIT_SECONDS",
    "MANIFEST",
    "MARKER",
    "VOLATILE_MANIFEST_KEYS",
    "History",
    "OutputError",
    "Scores",
    "checked_generated_folder",
    "checked_list_of",
    "checked_output_file",
    "checked_output_folder",
    "checked_output_path",
    "foreign_entries",
    "formula_safe",
    "formula_safe_csv",
    "is_churnml_output",
    "is_churnml_parquet",
    "learned_outcomes_until",
    "output_lock",
    "parquet_bytes",
    "previous_list",
    "project_root",
    "protected_folders",
    "read_previous_history",
    "write_scores_atomically",
    "written_dataset",
    "written_model_version",
    "written_with_hindsight",
]

MANIFEST = "manifest.json"
# The files of one weekly list; a list folder holding anything else is not replaced.
LIST_FILES = (
    "scores.parquet",
    "scores.csv",
    "history.parquet",
    "report.html",
    MANIFEST,
    # the client-week store (score.client_week_store, churnml.jobs.week_store)
    "client_weeks_kinds.parquet",
    "client_weeks_users.parquet",
    "client_weeks_carried.parquet",
)
# manifest.json of every list carries {"written_by": MARKER}: the folder is churnml's to replace.
MARKER_KEY = "written_by"
MARKER = "churnml"
# How long a second run on the same output folder waits for the first to finish writing.
LOCK_WAIT_SECONDS = 30.0
_BOM = "\ufeff".encode()  # UTF-8 byte-order mark: a spreadsheet then reads the CSV as UTF-8
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
    RULES_EVIDENCE = "rules_evidence"
    ACTION = "action"
    ACTS = "acts"
    ESCALATION = "escalation"

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
    """UTF-8 CSV bytes of ``frame`` after :func:`formula_safe`, for a spreadsheet: a byte-order mark (Excel
    otherwise reads the bytes as the local code page: "→" and accented names garbled; Polars, pandas and
    churnml's own reader skip it), nested columns left out, a time column whose every value is at
    midnight written as dates (``2025-07-22``, not ``2025-07-22T00:00:00.000000``), other times to the
    second."""
    flat = frame.select(
        [n for n, t in frame.schema.items() if not isinstance(t, pl.List | pl.Struct | pl.Array)]
    )
    midnight = [
        n
        for n, t in flat.schema.items()
        if isinstance(t, pl.Datetime) and (flat.get_column(n).dt.truncate("1d") == flat.get_column(n)).all()
    ]
    buffer = io.BytesIO(_BOM)
    buffer.seek(0, io.SEEK_END)
    formula_safe(flat.with_columns(pl.col(midnight).cast(pl.Date))).write_csv(
        buffer, float_precision=6, date_format="%Y-%m-%d", datetime_format="%Y-%m-%d %H:%M:%S"
    )
    return buffer.getvalue()


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    """Parquet bytes of ``frame`` (the same frame always gives the same bytes)."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, statistics=False)
    return buffer.getvalue()


def read_previous_history(
    folder: Path, model_version: str, history_hash: str, dataset_name: str
) -> pl.DataFrame | None:
    """``history.parquet`` of an earlier list in ``folder``, if it was made by the same model and the same
    settings of the history (``history_hash``: :func:`churnml.config.history_hash`) from the same dataset (folder name; two datasets' lists may share ``paths.scores``, and each dataset's
    registered model counts its versions from 1).

    Returns None when the folder, its files or a matching manifest are missing: the caller then scores
    the whole history itself.
    """
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        if (
            manifest.get("model", {}).get("version") != model_version
            or manifest.get("history_hash") != history_hash
            or manifest.get("data", {}).get("name") != dataset_name
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


class OutputError(ValueError):
    """An output path churnml will not write to; the message says why and how to proceed."""


def project_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``.git`` or ``pyproject.toml``; None if none."""
    start = Path(start).resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists() or (folder / "pyproject.toml").is_file():
            return folder
    return None


def protected_folders(data: Path | None, cwd: Path | None = None) -> dict[str, Path]:
    """Folders an output may never be or contain: ``{description: resolved path}``.

    The input dataset (``--data``), the current folder and the project root (nearest ``.git`` or
    ``pyproject.toml`` above the current folder)."""
    here = Path(cwd if cwd is not None else Path.cwd()).resolve()
    out = {"the current folder": here}
    root = project_root(here)
    if root is not None:
        out["the project root"] = root
    if data is not None:
        out["the input dataset (--data)"] = Path(data).resolve()
    return out


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def checked_output_path(out: Path, protected: Mapping[str, Path], flag: str = "--out") -> Path:
    """``out`` resolved, after refusing a path that is or contains a protected folder, or lies inside the
    input dataset. Raises :class:`OutputError` saying why and how to proceed."""
    target = Path(out).resolve()
    # "is" before "contains": the message names the folder the user actually gave
    ranked = sorted(protected.items(), key=lambda item: item[1] != target)
    for what, folder in ranked:
        if _within(folder, target):
            relation = "is" if folder == target else "contains"
            raise OutputError(
                f"{flag} {out} {relation} {what} ({folder}); churnml would replace it. "
                f"Give a dedicated output folder, e.g. {flag} data/scores/<date>"
            )
    data = protected.get("the input dataset (--data)")
    if data is not None and _within(target, data):
        raise OutputError(
            f"{flag} {out} lies inside the input dataset {data}, which churnml never writes into; "
            + (
                "give a folder outside it"
                if flag.startswith("--")
                else "give --out, or set paths.scores, outside it"
            )
        )
    return target


def is_churnml_parquet(path: Path) -> bool:
    """Whether the Parquet file ``path`` was written by churnml: its footer says so (``written_by``), or,
    written before the marker existed, it is a feature table (``client_id``, ``snapshot`` and
    ``account_tenure_days`` columns)."""
    try:
        if pl.read_parquet_metadata(path).get(MARKER_KEY) == MARKER:
            return True
        names = set(pl.read_parquet_schema(path))
    except Exception:  # not Parquet at all: not ours
        return False
    return {"client_id", "snapshot", "account_tenure_days"} <= names


def checked_generated_folder(folder: Path, names: Iterable[str], flag: str = "--out") -> Path:
    """``folder`` when ``churnml generate`` may write its files ``names`` there: none of them, nor a file of
    the same table in another format (``clients.csv`` beside ``clients.parquet``), is there unless churnml
    wrote it (:func:`is_churnml_parquet`). Raises :class:`OutputError` listing them; nothing is touched."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{flag} {folder} is a file: give a folder")
    if not folder.is_dir():
        return folder
    stems = {n.split(".")[0] for n in names}
    theirs = sorted(
        p.name
        for p in folder.iterdir()
        if p.name.split(".")[0] in stems and not (p.name in names and is_churnml_parquet(p))
    )
    if theirs:
        raise OutputError(
            f"{flag} {folder} holds {', '.join(theirs)}, which churnml did not write (or an older churnml "
            "wrote without its mark): it never replaces such files. Give a new folder, or remove them "
            "yourself if they are generated data"
        )
    return folder


def checked_output_file(out: Path, data: Path | None, flag: str = "--out") -> Path:
    """``out`` when a command may write that one Parquet file: not an existing folder, not an existing
    file churnml did not write (:func:`is_churnml_parquet`), not inside the input dataset (which churnml
    never writes into). Raises :class:`OutputError`; nothing is touched."""
    target = Path(out).resolve()
    if target.is_dir():
        raise OutputError(f"{flag} {out} is an existing folder; give a file name")
    if target.is_file() and not is_churnml_parquet(target):
        raise OutputError(
            f"{flag} {out} exists and was not written by churnml, which never replaces a file it did not "
            "write; give a new file name"
        )
    if data is not None and _within(target, Path(data).resolve()):
        raise OutputError(
            f"{flag} {out} lies inside the input dataset {Path(data).resolve()}, which churnml never "
            "writes into; give a file outside it"
        )
    return target


def is_churnml_output(folder: Path) -> bool:
    """Whether ``folder`` holds a ``manifest.json`` that churnml wrote (the marker of a weekly list)."""
    try:
        payload = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(payload, dict):
        return False
    # Lists written before the marker existed: their manifest names the as-of date, config and files.
    legacy = {"as_of", "config_hash", "files"} <= payload.keys() and isinstance(payload["files"], dict)
    return payload.get(MARKER_KEY) == MARKER or legacy


def foreign_entries(folder: Path, own: Iterable[str]) -> list[str]:
    """Sorted names in ``folder`` that are not among ``own`` (sub-folders end in ``/``)."""
    names = set(own)
    return sorted(p.name + ("/" if p.is_dir() else "") for p in Path(folder).iterdir() if p.name not in names)


def checked_output_folder(folder: Path, own: Iterable[str] = LIST_FILES, flag: str = "--out") -> Path:
    """``folder`` when churnml may (re)write it as a whole: it does not exist, is an empty folder, or is a
    churnml list (its manifest carries the marker) holding only ``own`` files. Otherwise an
    :class:`OutputError` that says what is there and how to proceed. Nothing is touched."""
    folder = Path(folder)
    if folder.is_symlink():
        raise OutputError(f"{flag} {folder} is a symbolic link; give the real folder it points to")
    if not folder.exists():
        return folder
    if not folder.is_dir():
        raise OutputError(
            f"{flag} {folder} is an existing file, not a folder; churnml will not replace it. "
            "Give a folder path"
        )
    entries = list(folder.iterdir())
    if not entries:
        return folder
    if not is_churnml_output(folder):
        shown = ", ".join(sorted(p.name for p in entries)[:5])
        raise OutputError(
            f"{flag} {folder} already exists and is not a churnml output (no churnml {MANIFEST}; it "
            f"holds {shown}{', ...' if len(entries) > 5 else ''}); churnml only replaces folders it "
            "wrote. Give a new or empty folder"
        )
    foreign = foreign_entries(folder, own)
    if foreign:
        raise OutputError(
            f"{flag} {folder} holds files churnml did not write ({', '.join(foreign[:5])}"
            f"{', ...' if len(foreign) > 5 else ''}); replacing the list would delete them. "
            "Move them elsewhere or give another folder"
        )
    return folder


def _manifest_entry(folder: Path, key: str) -> dict[str, Any]:
    """The ``key`` entry of the manifest churnml wrote in ``folder``; {} when the folder, its manifest or
    the entry is missing or unreadable."""
    try:
        entry = json.loads((Path(folder) / MANIFEST).read_text()).get(key, {})
    except (OSError, ValueError, AttributeError):
        return {}
    return entry if isinstance(entry, dict) else {}


def written_dataset(folder: Path) -> str | None:
    """The dataset a churnml output folder was made from (its manifest's ``data.name``), or None when the
    folder, its manifest or the name is missing (outputs written before manifests named their dataset)."""
    name = _manifest_entry(folder, "data").get("name")
    return name if isinstance(name, str) else None


def written_with_hindsight(folder: Path) -> bool:
    """Whether the list in ``folder`` was scored by a model that had learned outcomes of its own horizon
    (its manifest's ``model.hindsight``: a back-dated list scored with a later model); False when the
    manifest does not say (lists written before it recorded this)."""
    return _manifest_entry(folder, "model").get("hindsight") is True


# how far back the last list written is looked for (a holiday, a failed run: the list before it)
PREVIOUS_LIST_WEEKS = 8


def previous_list(
    parent: Path, day: date, dataset_name: str, weeks: int = PREVIOUS_LIST_WEEKS
) -> Path | None:
    """The folder of the last list written before ``day`` in ``parent`` (folders named by their as-of date,
    ``paths.scores/<as-of>``), of the dataset ``dataset_name``, at most ``weeks`` weeks back; None when there
    is none. A week without a list (a holiday, a failed run) leaves the list before it as the one the team
    last received."""
    try:
        names = [p for p in Path(parent).iterdir() if p.is_dir()]
    except OSError:
        return None
    dated = []
    for folder in names:
        try:
            when = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if day - timedelta(weeks=weeks) <= when < day:
            dated.append((when, folder))
    for _, folder in sorted(dated, reverse=True):
        if is_churnml_output(folder) and written_dataset(folder) in (None, dataset_name):
            return folder
    return None


def last_list_folder(parent: Path, day: date, dataset_name: str) -> Path:
    """Where "last week's" list of a run at ``day`` is read from: :func:`previous_list`, else the folder dated
    a week before ``day`` (which may hold nothing: its readers then find no list)."""
    return previous_list(parent, day, dataset_name) or Path(parent) / (day - timedelta(weeks=1)).isoformat()


def written_model_version(folder: Path) -> str | None:
    """The model version of the list in ``folder`` (its manifest's ``model.version``); None when the
    manifest does not say."""
    version = _manifest_entry(folder, "model").get("version")
    return str(version) if version not in (None, "") else None


def learned_outcomes_until(folder: Path) -> date | None:
    """The day up to which the model of the list in ``folder`` had learned who churned (its manifest's
    ``model.learned_outcomes_until``); None when the manifest does not say."""
    until = _manifest_entry(folder, "model").get("learned_outcomes_until")
    return date.fromisoformat(until) if isinstance(until, str) else None


def checked_list_of(folder: Path, dataset_name: str, what: str = "list") -> Path:
    """``folder`` unless it holds the ``what`` (list, win-back plan, ...) of another dataset (its manifest's
    ``data.name``): two datasets run in one project would otherwise share a default output folder
    (``paths.scores/<as-of>``, ``data/winback``, ...) and the second would silently replace the first.
    When this data is that dataset in another folder (an export folder per date), ``data.name`` names it
    (the message says so). Nothing is touched."""
    other = written_dataset(folder)
    if other is not None and other != dataset_name:
        raise OutputError(
            f"{folder} holds the {what} of the dataset {other!r}; churnml will not replace it with the "
            f"{what} of {dataset_name!r}. Give --out (e.g. --out {_own_folder(Path(folder), dataset_name, what)})"
            + (" or set paths.scores for this dataset" if what == "list" else "")
            + f"; if this is the dataset {other!r} in another folder (an export folder per date), name it: "
            f"--set {shlex.quote(f'data.name={other}')}"
        )
    return folder


def _own_folder(folder: Path, dataset_name: str, what: str) -> Path:
    """Where the dataset's own output could go instead of ``folder``: a list under ``<scores>/<dataset>/``
    (its as-of name kept, so next week's list finds it), a report beside the default (never inside the
    data folder, which an ``--out`` may not be)."""
    if what == "list":
        return folder.parent / dataset_name / folder.name
    return folder.with_name(f"{folder.name}-{dataset_name}")


def _lock_holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        return "another run"
    return f"process {text}" if text else "another run"


def _same_file(handle: Any, path: Path) -> bool:
    """Whether the open ``handle`` is still the file at ``path`` (a finished run removes its lock file)."""
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except OSError:
        return False


@contextmanager
def output_lock(folder: Path, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[Path]:
    """Hold ``.<folder>.lock`` beside ``folder`` while writing it; another holder is waited for up to
    ``wait_seconds``, then :class:`OutputError`. The lock dies with its process (no stale locks), and
    the lock file is removed on release. A lock taken on a file that its holder removed meanwhile is
    retaken on the new file, so two runs never both hold it."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    path = folder.parent / f".{folder.name}.lock"
    deadline = time.monotonic() + wait_seconds
    while True:
        handle = open(path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        if _try_lock(handle) and _same_file(handle, path):
            break
        handle.close()
        if time.monotonic() >= deadline:
            raise OutputError(
                f"{_lock_holder(path)} is writing {folder} (lock {path}); waited {wait_seconds:g}s. "
                "Let it finish and run again, or give another --out"
            )
        time.sleep(0.1)
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield path
    finally:
        with contextlib.suppress(OSError):  # Windows cannot remove an open file; the lock still ends
            path.unlink(missing_ok=True)  # while still holding the lock: the next run opens a fresh file
        handle.close()  # closing releases the lock


def _try_lock(handle: Any) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _recover(folder: Path) -> None:
    """Finish a swap that a crash interrupted: put the previous list back if the folder is missing.
    Runs under the folder's lock, so every temporary folder found is a dead run's."""
    olds = sorted(folder.parent.glob(f".{folder.name}.old-*"))
    if olds and not folder.exists():
        os.rename(olds[-1], folder)
        olds = olds[:-1]
    for stale in [*olds, *folder.parent.glob(f".{folder.name}.tmp-*")]:
        shutil.rmtree(stale, ignore_errors=True)


def _check_list_schemas(files: Mapping[str, FileContent]) -> None:
    """The list's and the history's columns and dtypes against :data:`churnml.scoring.columns.SCHEMA`
    (only for ``scores.parquet`` / ``history.parquet`` given as bytes); raises naming the column."""
    from churnml.scoring.columns import checked_schema

    for name, what in (("scores.parquet", "scores"), ("history.parquet", "history")):
        content = files.get(name)
        if isinstance(content, bytes | bytearray):
            checked_schema(pl.read_parquet_schema(io.BytesIO(content)), what)


def write_scores_atomically(
    folder: Path, files: Mapping[str, FileContent], lock_wait_seconds: float = LOCK_WAIT_SECONDS
) -> bool:
    """Write ``files`` (name -> bytes, or a function that writes the given path) as ``folder``.

    Under the folder's lock (:func:`output_lock`), the existing folder is checked to be churnml's
    (:func:`checked_output_folder`: marker present, no foreign files; the new ``manifest.json`` must
    carry the marker too); ``scores.parquet`` and ``history.parquet`` must have the list's columns and
    dtypes (:func:`churnml.scoring.columns.checked_schema`). Everything is written into ``.<folder>.tmp-<pid>`` beside the target first;
    only when every file is complete is the old folder renamed away and the new one renamed into place.
    A failure before that point leaves the previous folder intact. Returns False when the new files
    equal the existing ones (nothing is replaced), True when the folder was (re)written.
    """
    folder = Path(os.path.abspath(folder))  # "." becomes a named folder; a symlink stays one
    if not folder.name:
        raise OutputError(f"--out {folder}: give a folder below the filesystem root")
    _check_list_schemas(files)
    with output_lock(folder, lock_wait_seconds):
        _recover(folder)
        checked_output_folder(folder, own={*LIST_FILES, *files})
        tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        old = None
        try:
            for name, content in files.items():
                target = tmp / name
                if isinstance(content, bytes | bytearray):
                    target.write_bytes(content)
                else:
                    content(target)
                with open(target, "rb") as handle:
                    os.fsync(handle.fileno())
            if not is_churnml_output(tmp):
                raise OutputError(
                    f"internal: the new {MANIFEST} lacks the marker {{{MARKER_KEY!r}: {MARKER!r}}}"
                )
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
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return True
