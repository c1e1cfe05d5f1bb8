"""The report jobs: ``churnml winback``, ``churnml metrics`` and ``churnml postmortem``.

Each reads the dataset folder, calls pure functions (:mod:`churnml.reporting.winback`, :mod:`churnml.reporting.interventions`,
:mod:`churnml.reporting.metrics`, :mod:`churnml.reporting.postmortem`) and writes one output folder atomically: its tables
as ``.parquet`` and formula-safe ``.csv``, an HTML page and a ``manifest.json`` with churnml's marker.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from churnml.config import Config, DataConfig, config_hash
from churnml.jobs.common import UserError, config_for, data_folder

__all__ = [
    "MetricsRun",
    "PostmortemRun",
    "WinbackRun",
    "churn_metrics",
    "list_folders",
    "page_links",
    "postmortem",
    "report_folder",
    "winback",
]


def table_files(name: str, frame: Any) -> dict[str, bytes]:
    """``<name>.parquet`` and a formula-safe ``<name>.csv`` of a result table."""
    from churnml.scoring.outputs import formula_safe_csv, parquet_bytes

    return {f"{name}.parquet": parquet_bytes(frame), f"{name}.csv": formula_safe_csv(frame)}


def report_folder(
    out: Path | None,
    default: Path,
    data: Path | None = None,
    kind: str = "report",
    data_cfg: DataConfig | None = None,
) -> Path:
    """The output folder of a report command, refused when it is or holds the data, the current folder
    or the project (``outputs.checked_output_path``), or when the default folder holds the ``kind`` of
    another dataset (``outputs.checked_list_of``: the dataset ``data``'s name under ``data_cfg``,
    :func:`churnml.contract.io.dataset_name`)."""
    from churnml.contract.io import dataset_name
    from churnml.scoring.outputs import checked_list_of, checked_output_path, protected_folders

    if out is None and data is not None:
        default = checked_list_of(default, dataset_name(data, data_cfg or DataConfig()), kind)
    folder = out if out is not None else default
    if folder.suffix in (".csv", ".parquet", ".html"):
        raise UserError(f"--out {folder}: give a FOLDER (the files inside are named by the command)")
    checked_output_path(folder, protected_folders(data))
    return folder


def write_report_folder(
    folder: Path, files: dict[str, bytes], kind: str, as_of: date, cfg: Config, dataset_name: str
) -> bool:
    """``files`` plus a ``manifest.json`` carrying churnml's marker (so a rerun may replace the folder and
    nothing else may) and the dataset it was made from, written atomically under the folder's lock."""
    from churnml.scoring.outputs import MARKER, MARKER_KEY, write_scores_atomically

    manifest = {
        MARKER_KEY: MARKER,
        "kind": kind,
        "data": {"name": dataset_name},
        "as_of": as_of.isoformat(),
        "config_hash": config_hash(cfg),
        "files": {name: hashlib.sha256(blob).hexdigest() for name, blob in sorted(files.items())},
    }
    payload = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return write_scores_atomically(folder, {**files, "manifest.json": payload})


# the pages of the standard layout besides the weekly lists (paths.scores/<as-of>/report.html): label,
# the command's default folder and the page it writes there
_PAGES = {
    "winback": ("win-back", Path("data/winback"), "winback.html"),
    "postmortem": ("post-mortem", Path("data/postmortem"), "postmortem.html"),
    "metrics": ("churn rates", Path("data/metrics"), "churn_rates.html"),
}


def page_links(here: Path, own: str, cfg: Config, dataset_name: str) -> list[tuple[str, str]]:
    """The bar of links of a page written to ``here`` (its default folder) by the ``own`` command
    ("report", "winback", "postmortem", "metrics"): (label, href relative to ``here``) of the other pages
    of the standard layout that exist now, for the same dataset: the newest weekly list's report.html
    under ``paths.scores``, then ``data/winback/winback.html``, ``data/postmortem/postmortem.html`` and
    ``data/metrics/churn_rates.html``. A page written later is not linked until this one is written again;
    a folder holding another dataset's output (its manifest's ``data.name``) is not linked."""
    from churnml.scoring.outputs import written_dataset

    found: list[tuple[str, Path]] = []
    if own != "report":
        lists = [p for p in list_folders(cfg.paths.scores, dataset_name) if (p / "report.html").is_file()]
        if lists:
            found.append(("weekly list", lists[-1] / "report.html"))
    for kind, (label, folder, name) in _PAGES.items():
        if kind != own and (folder / name).is_file() and written_dataset(folder) in (None, dataset_name):
            found.append((label, folder / name))
    base = here.resolve()
    return [(label, Path(os.path.relpath(page.resolve(), base)).as_posix()) for label, page in found]


@dataclass(frozen=True)
class WinbackRun:
    """The win-back plan (one row per gone client), the A/B comparisons, the folder written."""

    folder: Path
    as_of: date
    plan: Any  # pl.DataFrame
    tests: Any  # pl.DataFrame
    notes: tuple[str, ...] = ()  # what the list's settings decide (winback.html and the console say them)


def winback(data: Path | None, cfg: Config, out: Path | None) -> WinbackRun:
    """``churnml winback``: the win-back list and, with interventions, what worked, in ``out``
    (default ``data/winback/``)."""
    from churnml.contract.io import read_dataset
    from churnml.labels import churn_dates, label_lag_days, resolved_label
    from churnml.reporting.interventions import (
        ab_tests,
        retention_contacts,
        return_rates_by,
        winback_attempts,
        winback_page,
    )
    from churnml.reporting.winback import unknown_value_note, value_floor_note, winback_list

    source = data_folder(data, cfg)
    cfg = config_for(source, cfg)
    folder = report_folder(out, Path("data/winback"), source, "win-back plan", cfg.data)
    dataset = read_dataset(source, cfg.data)
    churns = churn_dates(dataset, cfg.label)
    grace = cfg.label.grace_days
    # who came back follows label.source, as the labels and the weekly list read it (labels.returns_after_churns)
    plan = winback_list(
        dataset,
        churns,
        cfg.winback,
        cfg.value.default_margin,
        grace,
        cfg.label.source,
        failed_payment_days=cfg.rules.payment_trouble_days,
        rhythm=cfg.rules.no_activity_rhythm,
    )
    attempts = winback_attempts(
        dataset, churns, cfg.winback.stages, grace, cfg.winback.follow_up_days, cfg.label.source
    )
    tests = ab_tests(attempts)
    # a churn within a contact's horizon is known only the label lag (the grace) after the horizon ends
    lag = label_lag_days(resolved_label(cfg.label, dataset.tables))
    retention = retention_contacts(
        dataset, churns, cfg.label.horizon_days, grace, lag_days=lag, source=cfg.label.source
    )
    rates = return_rates_by(attempts, ("stage", "reason", "campaign", "variant"))
    as_of = dataset.as_of.date()
    links = page_links(folder, "winback", cfg, dataset.name) if out is None else []
    notes = tuple(n for n in (value_floor_note(plan, cfg.winback), unknown_value_note(plan)) if n)
    html = winback_page(plan, attempts, tests, retention, as_of, cfg.winback.stages, links, notes)
    files = {
        **table_files("winback", plan),
        **table_files("attempts", attempts),
        **table_files("return_rates", rates),
        **table_files("ab_tests", tests),
        **table_files("retention_contacts", retention),
        "winback.html": html.encode("utf-8"),
    }
    write_report_folder(folder, files, "winback", as_of, cfg, dataset.name)
    return WinbackRun(folder, as_of, plan, tests, notes)


@dataclass(frozen=True)
class MetricsRun:
    """The churn-rate report per period ("month", "quarter"), all periods in one table, the folder."""

    folder: Path
    reports: dict[str, Any]  # period -> pl.DataFrame
    table: Any  # pl.DataFrame
    as_of: date  # the day after the data's last
    data_start: date  # the data's first day (the payments' run rate rates revenue a year after it)


def churn_metrics(data: Path | None, cfg: Config, out: Path | None) -> MetricsRun:
    """``churnml metrics``: churn rates by both formulas per month and quarter, in ``out`` (default
    ``data/metrics/``)."""
    import polars as pl

    from churnml.contract.io import read_dataset
    from churnml.reporting.metrics import PERIODS, churn_rate_page, churn_report

    source = data_folder(data, cfg)
    cfg = config_for(source, cfg)
    folder = report_folder(out, Path("data/metrics"), source, "churn-rate report", cfg.data)
    dataset = read_dataset(source, cfg.data)
    reports = {period: churn_report(dataset, cfg.label, period) for period in PERIODS}
    as_of = dataset.as_of.date()
    links = page_links(folder, "metrics", cfg, dataset.name) if out is None else []
    html = churn_rate_page(reports, as_of, links)
    table = pl.concat(list(reports.values()))
    write_report_folder(
        folder,
        {**table_files("churn_rates", table), "churn_rates.html": html.encode()},
        "metrics",
        as_of,
        cfg,
        dataset.name,
    )
    return MetricsRun(folder, reports, table, as_of, dataset.start.date())


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def list_folders(root: Path, dataset_name: str | None = None) -> list[Path]:
    """The written lists under ``root``: its sub-folders holding a ``scores.parquet``, oldest first; with
    ``dataset_name``, only the lists of that dataset (their manifest's ``data.name``; a list whose manifest
    names no dataset is kept): the lists of several datasets may share ``paths.scores``."""
    from churnml.scoring.outputs import written_dataset

    if not root.is_dir():
        return []
    found = sorted(p for p in root.glob("*") if (p / "scores.parquet").is_file())
    return [p for p in found if dataset_name is None or written_dataset(p) in (None, dataset_name)]


@dataclass(frozen=True)
class PostmortemRun:
    """The review (one row per churn of the period), its totals by reason, the period and lists read."""

    folder: Path
    start: date
    end: date
    lists: int
    root: Path
    review: Any  # pl.DataFrame
    by_reason: Any  # pl.DataFrame
    hindsight: tuple[str, ...] = ()  # the lists scored by a model that had learned their outcomes
    early_weeks: int = 4  # flagged at least this many weeks before leaving = caught early
    note: str | None = None  # an --early-weeks no churn can reach (the look-back is the horizon)
    known_until: date | None = None  # the last day the churns are known by their departure


def early_weeks_for(horizon_days: int, asked: int | None) -> tuple[int, str | None]:
    """(the weeks of warning that count as caught early, a note or None): ``asked`` (``--early-weeks``),
    else 4 or half the horizon's weeks when that is less (a 28-day horizon shows at most 3 weeks of
    warning, so 4 could never be reached); a note when ``asked`` is more than the look-back allows
    (:func:`churnml.reporting.postmortem.most_warning_weeks`, as the post-mortem counts them: 12 with a 90-day
    horizon, 11 with an 84-day one)."""
    from churnml.reporting.postmortem import most_warning_weeks

    most = most_warning_weeks(horizon_days)
    if asked is None:
        return min(4, max(1, max(horizon_days // 7, 1) // 2)), None
    if asked > most:
        return asked, (
            f"--early-weeks {asked}: no churn can be caught that early; the lists are read back "
            f"{horizon_days} days (label.horizon_days), so a churn shows at most {most} "
            f"weeks of warning before it. Every caught churn is 'late'"
        )
    return asked, None


def review_period(
    start: date | None, end: date | None, list_dirs: list[Path], data_end: date, horizon_days: int, root: Path
) -> tuple[date, date]:
    """``[start, end)`` of a post-mortem: as asked, else from the oldest written list (one horizon before the
    data end without one) to the data end; refused when empty, said as asked or as found."""
    given = (start is not None, end is not None)
    end = end if end is not None else data_end
    if start is None:
        dates = [date.fromisoformat(p.name) for p in list_dirs if _is_date(p.name)]
        start = min(dates) if dates else end - timedelta(days=horizon_days)
    if end <= start and given == (False, False):  # the period came from the lists and the data end
        raise UserError(
            f"nothing to review yet: the oldest list under {root} is dated {start} and the data ends on "
            f"{end}. A post-mortem reviews the churns after a list against what it said: run it again once "
            "the data holds the weeks after that list, or write back-dated lists first (`churnml score "
            "--as-of DATE`)"
        )
    if end <= start:
        raise UserError(f"--to {end} must be after --from {start}")
    return start, end


def written_timeline(list_dirs: list[Path], zones: Any) -> tuple[Any, date | None]:
    """What the written lists said, week by week (:func:`churnml.reporting.postmortem.list_timeline`), and
    the date of the first of them. A history week counts from the first list written (no one saw a week
    before it) and once its model had not learned how it ended."""
    import polars as pl

    from churnml.reporting.postmortem import list_timeline, out_of_time_history
    from churnml.scoring.outputs import learned_outcomes_until

    lists = [pl.read_parquet(p / "scores.parquet") for p in list_dirs]
    first_list = min((date.fromisoformat(p.name) for p in list_dirs if _is_date(p.name)), default=None)
    histories = [
        out_of_time_history(
            pl.read_parquet(p / "history.parquet"),
            max(filter(None, (learned_outcomes_until(p), first_list)), default=None),
        )
        for p in list_dirs
        if (p / "history.parquet").is_file()
    ]
    return list_timeline(lists, histories, zones), first_list


def client_info(clients: Any) -> Any:
    """client_id and whichever of name, owner and segment the clients table has: who each row is."""
    from churnml.contract.schemas import CLIENT_ID, Clients

    return clients.select(
        CLIENT_ID, *[c for c in (Clients.NAME, Clients.OWNER, Clients.SEGMENT) if c in clients.columns]
    )


def cancellation_notices(tickets: Any | None) -> Any | None:
    """client_id, notice_at: each ``cancellation_request`` ticket's opening; None without ticket kinds."""
    import polars as pl

    from churnml.contract.schemas import CLIENT_ID, Tickets

    if tickets is None or Tickets.KIND not in tickets.columns:
        return None
    return tickets.filter(pl.col(Tickets.KIND) == "cancellation_request").select(
        CLIENT_ID, pl.col(Tickets.OPENED_AT).alias("notice_at")
    )


def postmortem(
    data: Path | None,
    cfg: Config,
    out: Path | None,
    scores: Path | None,
    start: date | None,
    end: date | None,
    early_weeks: int | None,
) -> PostmortemRun:
    """``churnml postmortem``: each churn of [start, end) against what the written lists under ``scores``
    (default ``paths.scores``) said before it, in ``out`` (default ``data/postmortem/``). The period
    defaults to the oldest written list (else one horizon back) up to the data end."""
    from churnml.contract.io import dataset_name, read_dataset
    from churnml.contract.schemas import Table
    from churnml.labels import churn_dates, departure_lag_days, resolved_label
    from churnml.reporting.interventions import absences
    from churnml.reporting.postmortem import clients_who_stayed, postmortem_page, postmortem_totals
    from churnml.reporting.postmortem import postmortem as review_churns
    from churnml.reporting.winback import with_reasons
    from churnml.scoring.outputs import written_with_hindsight

    source = data_folder(data, cfg)
    cfg = config_for(source, cfg)
    folder = report_folder(out, Path("data/postmortem"), source, "post-mortem", cfg.data)
    root = scores if scores is not None else cfg.paths.scores
    list_dirs = list_folders(root, dataset_name(source, cfg.data))
    if start is not None and end is not None and end <= start:
        raise UserError(f"--to {end} must be after --from {start}")
    dataset = read_dataset(source, cfg.data)
    horizon = cfg.label.horizon_days
    start, end = review_period(start, end, list_dirs, dataset.as_of.date(), horizon, root)
    timeline, first_list = written_timeline(list_dirs, cfg.score.zones)
    early_weeks, note = early_weeks_for(horizon, early_weeks)
    gone = with_reasons(
        absences(dataset, churn_dates(dataset, cfg.label), cfg.label.grace_days, cfg.label.source),
        dataset,
        cfg.label.grace_days,
        cfg.rules.payment_trouble_days,
    )
    review = review_churns(
        gone,
        timeline,
        start,
        end,
        lookback_days=horizon,
        early_weeks=early_weeks,
        clients=client_info(dataset.tables[Table.CLIENTS]),
        notices=cancellation_notices(dataset.tables.get(Table.TICKETS)),
    )
    by_reason = postmortem_totals(review, "reason")
    by_family = postmortem_totals(review, "driver_family")
    hindsight = tuple(p.name for p in list_dirs if written_with_hindsight(p))
    # churns are known by their departure up to the data end less the label lag (and, under the inactivity
    # rule, its inactivity_days: who stopped ordering since is not a churn yet): a list whose horizon runs
    # past it has clients who will leave unseen, not stayers
    known_until = dataset.as_of.date() - timedelta(
        days=departure_lag_days(resolved_label(cfg.label, dataset.tables))
    )
    html = postmortem_page(
        review,
        by_reason,
        by_family,
        start,
        end,
        len(list_dirs),
        hindsight,
        horizon,
        page_links(folder, "postmortem", cfg, dataset.name) if out is None else [],
        early_weeks=early_weeks,
        stayed=clients_who_stayed(gone, timeline, start, end, lookback_days=horizon, known_until=known_until),
        known_until=known_until,
        first_list=first_list,
    )
    files = {
        **table_files("postmortem", review),
        **table_files("by_reason", by_reason),
        **table_files("by_family", by_family),
        "postmortem.html": html.encode("utf-8"),
    }
    write_report_folder(folder, files, "postmortem", end, cfg, dataset.name)
    return PostmortemRun(
        folder, start, end, len(list_dirs), root, review, by_reason, hindsight, early_weeks, note, known_until
    )
