"""The weekly list reads only the events window it needs, client batch by client batch, and gives the
list of a whole read bit for bit (:mod:`churnml.scoring.window`, :mod:`churnml.jobs.score_data`)."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from churnml.config import FeaturesConfig, load_config
from churnml.contract.io import read_dataset, write_tables
from churnml.contract.validation import CREATED_REPAIR
from churnml.demo.synth import SynthParams, synthetic_chunk
from churnml.jobs.score_data import open_scoring_data
from churnml.scoring.assemble import history_to_score, scored_list
from churnml.scoring.window import (
    activity_name,
    batch_count,
    carry_candidates,
    client_batch,
    event_marks,
    feature_lookback_days,
    needed_events,
    portfolio_days,
    portfolio_events,
    scoring_window,
)


def test_the_longest_feature_look_back_is_the_z_score_s_30_weeks_by_default() -> None:
    assert feature_lookback_days(FeaturesConfig()) == 210  # 4 + 26 weeks, more than the 182-day window
    short = FeaturesConfig(zscore_recent_weeks=2, zscore_baseline_weeks=8, slope_weeks=4)
    assert feature_lookback_days(short) == 182  # then the longest level window
    assert (
        feature_lookback_days(FeaturesConfig(windows=(7, 28), zscore_baseline_weeks=8, slope_weeks=4)) == 119
    )


def test_the_first_list_reads_26_weeks_of_history_plus_the_look_back_the_next_one_less() -> None:
    as_of = date(2025, 2, 3)
    first = history_to_score(None, as_of, 26)
    assert first[0] == date(2024, 8, 12) and first[-1] == as_of and len(first) == 26
    window = scoring_window(as_of, first, FeaturesConfig())
    assert window.start == datetime(2024, 1, 15)  # 2024-08-12 - 210 days
    assert window.end == datetime(2025, 2, 3)
    # next week, last week's history reused: only this week and last week are scored
    known = pl.DataFrame(
        {
            "client_id": ["a"] * 26,
            "snapshot": first,
            "churn_probability": [0.1] * 26,
            "health_score": [90.0] * 26,
        }
    )
    nxt = history_to_score(known, as_of + timedelta(weeks=1), 26)
    assert nxt == [date(2025, 2, 3), date(2025, 2, 10)]
    window = scoring_window(date(2025, 2, 10), nxt, FeaturesConfig())
    assert (window.start, window.end) == (datetime(2024, 7, 8), datetime(2025, 2, 10))
    assert window.days() == 217


def test_client_batches_split_the_clients_without_overlap() -> None:
    ids = pl.DataFrame({"client_id": [f"c{i:03d}" for i in range(200)]})
    parts = [ids.filter(client_batch(3) == k) for k in range(3)]
    assert sum(p.height for p in parts) == 200
    assert all(p.height > 30 for p in parts)  # a hash spreads them
    assert (
        batch_count(100_000, 20_000) == 5
        and batch_count(100_001, 20_000) == 6
        and batch_count(3, 20_000) == 1
    )


def _events(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "client_id": [r[0] for r in rows],
            "ts": [datetime.fromisoformat(r[1]) for r in rows],
            "event": [r[2] for r in rows],
            "user_id": ["u"] * len(rows),
            "value": [1.0] * len(rows),
        }
    )


def test_the_rows_before_the_window_that_lifetime_features_read_are_carried() -> None:
    window = scoring_window(date(2024, 9, 2), [date(2024, 9, 2)], FeaturesConfig())
    assert window.start == datetime(2024, 2, 5)  # 2024-09-02 - 210 days
    events = _events(
        [
            ("a", "2024-01-02 10:00", "data_export"),  # a's last export before the window: kept
            ("a", "2024-01-03 10:00", "login"),
            ("a", "2024-01-05 10:00", "login"),  # a's last login: kept
            ("a", "2024-01-09 10:00", "page_view"),  # a's last event: kept
            ("a", "2024-01-08 10:00", "page_view"),  # nothing: dropped
            ("a", "2024-03-01 10:00", "page_view"),  # in the window: kept
            ("a", "2024-09-02 00:00", "page_view"),  # on the as-of date: not read
            ("b", "2024-01-03 10:00", "page_view"),  # b's onboarding weeks (created 2024-01-01): kept
            ("b", "2024-01-04 10:00", "page_view"),
        ]
    )
    clients = pl.DataFrame(
        {"client_id": ["a", "b"], "created_at": [datetime(2020, 1, 1), datetime(2024, 1, 1)]}
    )
    marks = event_marks(events.lazy(), window, date(2024, 9, 2), FeaturesConfig()).collect()
    kept = needed_events(events.lazy(), marks, clients, window, FeaturesConfig()).collect()
    assert kept.columns == events.columns
    assert sorted(zip(kept["client_id"], kept["ts"].dt.strftime("%m-%d"), strict=True)) == [
        ("a", "01-02"),
        ("a", "01-05"),
        ("a", "01-09"),
        ("a", "03-01"),
        ("b", "01-03"),
        ("b", "01-04"),
    ]


def test_rows_carried_by_an_earlier_window_stand_for_the_file_s_rows_before_it() -> None:
    # last week's window began 2024-01-29: it carried a's export, login and last event and b's onboarding days
    # from before it, and kept the candidates of its first week (a's rows at that week's last event and login, b's
    # onboarding days); this window (2024-02-05) reads none of the file's rows before it (here wrong on purpose)
    # and carries the rows the whole file gives
    window = scoring_window(date(2024, 9, 2), [date(2024, 9, 2)], FeaturesConfig())
    rows = [
        ("a", "2024-01-02 10:00", "data_export"),
        ("a", "2024-01-05 10:00", "login"),
        ("a", "2024-01-09 10:00", "page_view"),
        ("a", "2024-01-30 10:00", "login"),  # in last week's first week: a's last login now
        ("a", "2024-01-31 10:00", "page_view"),  # ... and its last event before this window
        ("a", "2024-01-31 09:00", "page_view"),  # nothing
        ("a", "2024-03-01 10:00", "page_view"),
        ("b", "2024-01-03 10:00", "page_view"),
        ("b", "2024-01-04 10:00", "page_view"),
        ("b", "2024-01-30 10:00", "page_view"),  # b's onboarding days (created 2024-01-01)
        ("b", "2024-01-30 11:00", "page_view"),
        ("b", "2024-02-01 10:00", "page_view"),
    ]
    whole = _events(rows)
    clients = pl.DataFrame(
        {"client_id": ["a", "b"], "created_at": [datetime(2020, 1, 1), datetime(2024, 1, 1)]}
    )
    last_week = scoring_window(date(2024, 8, 26), [date(2024, 8, 26)], FeaturesConfig())
    assert last_week.start == datetime(2024, 1, 29)
    ts = pl.col("ts")
    earlier = event_marks(whole.lazy(), last_week, date(2024, 8, 26), FeaturesConfig()).collect()
    before = needed_events(whole.lazy(), earlier, clients, last_week, FeaturesConfig()).filter(
        ts < last_week.start
    )
    weeks = carry_candidates(whole.filter(ts >= last_week.start), clients, last_week.start, FeaturesConfig())
    stored = pl.concat([before, weeks.lazy()]).filter(ts < window.start)
    garbled = pl.concat([_events([("a", "2024-01-20 10:00", "login")]), whole.filter(ts >= window.start)])
    marks = event_marks(whole.lazy(), window, date(2024, 9, 2), FeaturesConfig()).collect()
    expected = needed_events(whole.lazy(), marks, clients, window, FeaturesConfig()).collect()
    kept = needed_events(
        garbled.lazy(), marks, clients, window, FeaturesConfig(), None, stored, window.start
    ).collect()
    days = sorted(zip(kept["client_id"], kept["ts"].dt.strftime("%m-%d"), strict=True))
    assert days == sorted(zip(expected["client_id"], expected["ts"].dt.strftime("%m-%d"), strict=True))
    assert days == [
        ("a", "01-02"),
        ("a", "01-30"),
        ("a", "01-31"),
        ("a", "03-01"),
        ("b", "01-03"),
        ("b", "01-04"),
        ("b", "01-30"),
        ("b", "02-01"),
    ]


def test_the_portfolio_view_holds_the_last_activities_exports_and_young_days() -> None:
    marks = pl.DataFrame(
        {
            "client_id": ["a", "b"],
            "_last_asof": [datetime(2024, 8, 30, 9), datetime(2024, 7, 1, 8)],
            "_last_prev": [datetime(2024, 8, 20, 9), datetime(2024, 7, 1, 8)],
            "_export_last": [datetime(2024, 8, 1, 9), None],
        }
    )
    days = pl.DataFrame(
        {"client_id": ["a", "b"], "_day": [date(2024, 8, 1), date(2024, 7, 1)], "_export": [True, False]}
    )
    view = portfolio_events(marks, days, FeaturesConfig())
    assert view.rows() == [
        ("a", datetime(2024, 8, 1), "data_export"),
        ("a", datetime(2024, 8, 1, 9), "data_export"),
        ("a", datetime(2024, 8, 20, 9), None),
        ("a", datetime(2024, 8, 30, 9), None),
        ("b", datetime(2024, 7, 1), None),
        ("b", datetime(2024, 7, 1, 8), None),
        ("b", datetime(2024, 7, 1, 8), None),
    ]


def test_the_portfolio_days_are_recent_exports_and_young_clients_days() -> None:
    events = _events(
        [
            ("a", "2024-08-20 10:00", "data_export"),  # within 28 days of the previous week: kept
            ("a", "2024-07-01 10:00", "data_export"),  # older: dropped
            ("a", "2024-08-21 10:00", "page_view"),  # a is old: dropped
            ("b", "2024-06-01 10:00", "page_view"),  # b young, since 2024-04-28 (prev - 120 days): kept
            ("b", "2024-06-01 12:00", "login"),  # the same day: one row
            ("b", "2024-04-20 10:00", "login"),  # before: dropped
            ("b", "2024-09-02 10:00", "login"),  # on the as-of date: dropped
        ]
    )
    clients = pl.DataFrame(
        {"client_id": ["a", "b"], "created_at": [datetime(2020, 1, 1), datetime(2024, 5, 1)]}
    )
    cfg = load_config()
    days = portfolio_days(events.lazy(), clients, date(2024, 9, 2), cfg.features, cfg.score, cfg.rules)
    assert sorted(days.collect().rows()) == [("a", date(2024, 8, 20), True), ("b", date(2024, 6, 1), False)]


# -- the list: read by window and batches == read whole ------------------------------------------
AS_OF = date(2024, 12, 2)  # a Monday, 11 months into the data


def _migrate_ten_clients(path: Path) -> None:
    """As a CRM adopted late records them: ten clients created on 2024-08-01, after their first records
    (churnml takes each back to its first record, on every read path alike)."""
    clients = pl.read_parquet(path)
    late = pl.int_range(pl.len()) < 10
    migrated = pl.when(late).then(pl.lit(datetime(2024, 8, 1))).otherwise(pl.col("created_at"))
    clients.with_columns(migrated.cast(clients.schema["created_at"]).alias("created_at")).write_parquet(path)


@pytest.fixture(scope="module")
def folder_and_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, dict]:
    from churnml.features import build_features
    from churnml.labels import active_spine
    from churnml.modeling.export import feature_reference
    from churnml.modeling.train import ChurnModel

    root = tmp_path_factory.mktemp("window")
    chunk = synthetic_chunk(SynthParams(clients=80, months=12, seed=11), 0)
    write_tables({str(t): f for t, f in chunk.tables.items()}, root / "raw")
    _migrate_ten_clients(root / "raw" / "clients.parquet")
    cfg = load_config()
    dataset = read_dataset(root / "raw", cfg.data)
    snaps = [date(2024, 4, 1) + timedelta(weeks=k) for k in range(0, 30, 3)]
    table = build_features(dataset, active_spine(dataset, snaps, cfg.label), cfg.features)
    names = [c for c in table.columns if c not in ("client_id", "snapshot")]
    X = table.select(names).cast(pl.Float64).to_pandas()
    rng = np.random.default_rng(3)
    y = ((X["usage_days_since_login"].fillna(99).to_numpy() > 10) ^ (rng.uniform(size=len(X)) < 0.1)).astype(
        int
    )
    params = {"n_estimators": 20, "num_leaves": 4, "min_child_samples": 5, "learning_rate": 0.3}
    model = ChurnModel(params=params, early_stopping_rounds=5, n_jobs=1).fit(X, y, eval_set=(X, y))
    return root / "raw", model, {"model_version": "1", "feature_reference": feature_reference(X)}


def test_the_console_and_the_manifest_say_what_was_read_and_skipped(folder_and_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from churnml.cli import app
    from churnml.modeling.export import export_model

    folder, model, meta = folder_and_model
    export_model(model, tmp_path / "model", meta)
    out = tmp_path / "list"
    args = ["score", "--data", str(folder), "--as-of", AS_OF.isoformat(), "--out", str(out)]
    args += [
        "--model",
        str(tmp_path / "model"),
        "--set",
        "score.history_weeks=4",
        "--set",
        "score.batch_clients=30",
        "--set",
        f"score.scratch_dir={tmp_path / 'scratch'}",
    ]
    (tmp_path / "scratch").mkdir()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    read = json.loads((out / "manifest.json").read_text())["data"]["read"]["events"]
    assert read["client_batches"] == 3 and read["window_start"] == "2024-04-15T00:00:00"
    assert read["rows_read"] + read["rows_skipped"] == read["rows_in_file"] and read["rows_skipped"] > 0
    assert read["spilled_rows"] == read["rows_read"] and read["spilled_mb"] >= 0  # no row repaired away
    assert list((tmp_path / "scratch").iterdir()) == []  # the spill's scratch folder is gone
    assert f"events: read {read['rows_read']:,} of {read['rows_in_file']:,} rows" in result.output


@pytest.mark.parametrize("promoted", [False, True])
def test_a_list_from_a_model_the_gate_refused_says_so(
    folder_and_model, tmp_path: Path, promoted: bool
) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from churnml.cli import app
    from churnml.modeling.export import export_model

    folder, model, meta = folder_and_model
    reason = "loses to the logistic baseline on the backtest (pr_auc 0.5981 vs 0.6172)"
    export_model(model, tmp_path / "model", {**meta, "promoted": promoted, "promotion_reason": reason})
    out = tmp_path / "list"
    args = ["score", "--data", str(folder), "--as-of", AS_OF.isoformat(), "--out", str(out)]
    args += ["--model", str(tmp_path / "model"), "--set", "score.history_weeks=4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"] == {
        "version": "1",
        "source": str(tmp_path / "model"),
        "promoted": promoted,
        "promotion_reason": reason,
        "learned_outcomes_until": None,  # the stand-in model's card has no training window
        "hindsight": False,
        "trained_on": None,  # the stand-in model's card names no dataset
    }
    report = (out / "report.html").read_text()
    said = "warning: the model was not promoted by the champion gate (loses to the logistic" in " ".join(
        result.output.split()
    )
    assert said is not promoted
    assert (
        "<b>Model not promoted.</b> The model was not promoted by the champion gate" in report
    ) is not promoted


def test_the_scratch_folder_is_removed_after_a_failing_run(
    folder_and_model, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    import churnml.scoring.assemble as assemble
    from churnml.cli import app
    from churnml.modeling.export import export_model

    folder, model, meta = folder_and_model
    export_model(model, tmp_path / "model", meta)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    seen: list[list[str]] = []

    def failing(*args, batches=None, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(sorted(p.name for p in batches.spill.iterdir()))  # the batches' files, mid-run
        raise RuntimeError("scoring failed")

    monkeypatch.setattr(assemble, "scored_list", failing)
    args = ["score", "--data", str(folder), "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "list")]
    args += ["--model", str(tmp_path / "model"), "--set", "score.history_weeks=4"]
    args += ["--set", "score.batch_clients=30", "--set", f"score.scratch_dir={scratch}"]
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, RuntimeError)
    assert seen == [[".churnml-run.json", "_batch=0", "_batch=1", "_batch=2"]]  # the run's mark beside them
    assert list(scratch.iterdir()) == []


def test_a_scratch_folder_is_new_and_removed_even_on_an_error(tmp_path: Path) -> None:
    from churnml.jobs.common import UserError
    from churnml.jobs.score_data import scratch_folder

    with scratch_folder(tmp_path) as folder:
        (folder / "part.parquet").write_bytes(b"x")
        assert folder.parent == tmp_path and folder.name.startswith("churnml-score-")
    assert not folder.exists()
    with pytest.raises(ValueError), scratch_folder(tmp_path) as folder:
        raise ValueError("a failing step")
    assert not folder.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(UserError, match="not a folder"), scratch_folder(tmp_path / "missing"):
        pass


def test_a_run_removes_the_scratch_folders_of_killed_runs_and_no_other(tmp_path: Path) -> None:
    import json
    import os
    import socket
    import subprocess
    import sys

    from churnml.jobs.score import ListNotes
    from churnml.jobs.score_data import (
        SCRATCH_MARK,
        removed_stale_scratch,
        scratch_folder,
        stale_scratch_folders,
    )

    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    gone, host = int(ended.stdout), socket.gethostname()

    def left(name: str, mark: dict | None) -> Path:  # a folder with 2.5 MB of spilled events
        folder = tmp_path / name
        (folder / "_batch=0").mkdir(parents=True)
        (folder / "_batch=0" / "part.parquet").write_bytes(b"x" * 2_500_000)
        if mark is not None:
            (folder / SCRATCH_MARK).write_text(json.dumps(mark), encoding="utf-8")
        return folder

    killed = left("churnml-score-killed", {"host": host, "pid": gone})
    kept = [
        left("churnml-score-running", {"host": host, "pid": os.getpid()}),  # a run at work
        left("churnml-score-elsewhere", {"host": f"{host}-other", "pid": gone}),  # another machine's run
        left("churnml-score-unmarked", None),  # not known to be churnml's
        left("exports", {"host": host, "pid": gone}),  # not a scratch folder's name
    ]
    said = removed_stale_scratch(tmp_path)
    assert said == (
        "removed 1 scratch folder of earlier runs that were killed before they could clean up "
        f"(2.5 MB in {tmp_path})"
    )
    assert not killed.exists() and all(folder.exists() for folder in kept)
    assert removed_stale_scratch(tmp_path) is None
    with scratch_folder(tmp_path) as made:  # marked with this run, so no other run takes it for a dead one's
        assert json.loads((made / SCRATCH_MARK).read_text(encoding="utf-8")) == {
            "host": host,
            "pid": os.getpid(),
        }
        assert stale_scratch_folders(tmp_path) == []
    assert ListNotes(scratch=said).warnings() == [said]  # printed by `churnml score` as a warning


def _scored(dataset, model, meta, cfg, batches=None):  # type: ignore[no-untyped-def]
    slices = {k: getattr(cfg, k) for k in ("label", "features", "score", "value", "rules", "playbooks")}
    return scored_list(dataset, AS_OF, model, meta, batches=batches, **slices)


@pytest.fixture(scope="module")
def whole_list(folder_and_model):  # type: ignore[no-untyped-def]
    """The list of the whole read of :func:`folder_and_model`'s folder at ``AS_OF`` with 4 weeks of history: what
    every windowed or batched read of the default settings must give, computed once for the tests that compare."""
    folder, model, meta = folder_and_model
    cfg = load_config(overrides=["score.history_weeks=4"])
    read_whole = read_dataset(folder, cfg.data)
    # the ten migrated clients but C000006 moved back, as in every windowed read
    assert read_whole.repairs.counts["clients"][CREATED_REPAIR] == 9
    return _scored(read_whole, model, meta, cfg)


def test_batches_read_from_the_files_give_the_list_of_the_whole_read(
    folder_and_model, whole_list, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    folder, model, meta = folder_and_model
    lists = {}
    for per_batch in (10_000, 25):  # one batch, then four
        cfg = load_config(overrides=["score.history_weeks=4", f"score.batch_clients={per_batch}"])
        opened = open_scoring_data(folder, cfg)
        dataset, batches, reads = opened.read(AS_OF, history_to_score(None, AS_OF, cfg.score.history_weeks))
        assert batches is not None and len(batches) == (1 if per_batch == 10_000 else 4)
        if per_batch == 10_000:
            assert batches.spilled(tmp_path) is batches  # one batch: its read is the one pass, no spill
            # its repeated text read as categories in the scan's stream (validation keeps them so)
            raw = batches._raw_events(0, dataset.tables["clients"])
            assert raw.schema["event"] == pl.Categorical() and raw.schema["client_id"] == pl.String
        lists[per_batch] = _scored(dataset, model, meta, cfg, batches)
        # the ten migrated clients but C000006 (created 2024-10-14: nothing before 2024-08-01) moved back
        assert dataset.repairs.counts["clients"][CREATED_REPAIR] == 9
        assert 0 < reads.rows_read < reads.rows_in_file  # the window skips the first months
        assert reads.window_start == datetime(2024, 4, 15)  # 2024-11-11 (3 weeks back) - 210 days
    # four batches spilled once to a scratch folder, each read from its own files
    cfg = load_config(overrides=["score.history_weeks=4", "score.batch_clients=25"])
    dataset, batches, reads = open_scoring_data(folder, cfg).read(
        AS_OF, history_to_score(None, AS_OF, cfg.score.history_weeks)
    )
    scratch = tmp_path / "spill"
    scratch.mkdir()
    spilled = batches.spilled(scratch)
    assert spilled.spill == scratch and batches.spill is None
    assert sorted(p.name for p in scratch.iterdir()) == [f"_batch={k}" for k in range(4)]
    # the repeated text columns spilled as categories (a batch reads them back without hashing every row)
    spilled_schema = pl.read_parquet_schema(next(scratch.rglob("*.parquet")))
    assert spilled_schema["event"] == pl.Categorical() and spilled_schema["user_id"] == pl.Categorical()
    assert spilled_schema["client_id"] == pl.String
    lists["spilled"] = _scored(dataset, model, meta, cfg, spilled)
    assert 0 < reads.rows_read == reads.spilled_rows < reads.rows_in_file
    whole = whole_list
    assert whole.scores.height > 20
    for result in lists.values():
        assert_frame_equal(result.scores, whole.scores, check_exact=True)
        assert_frame_equal(result.history, whole.history, check_exact=True)


@pytest.mark.parametrize("activity", [["api_call"], ["login", "api_call"], ["data_export"]])
def test_the_windowed_read_gives_the_whole_read_s_list_with_activity_events_set(
    folder_and_model, tmp_path: Path, activity: list[str]
) -> None:  # type: ignore[no-untyped-def]
    # label.activity_events: no_activity and the returns read only those events; the portfolio view of the
    # windowed read carries each client's last of them (it carried its last event of any kind, unnamed, and
    # no_activity fired for active clients)
    folder, model, meta = folder_and_model
    overrides = [
        "score.history_weeks=4",
        "score.batch_clients=25",
        f"label.activity_events=[{', '.join(activity)}]",
    ]
    cfg = load_config(overrides=overrides)
    dataset, batches, _reads = open_scoring_data(folder, cfg).read(
        AS_OF, history_to_score(None, AS_OF, cfg.score.history_weeks)
    )
    assert batches is not None and len(batches) == 4
    windowed = _scored(dataset, model, meta, cfg, batches)
    whole = _scored(read_dataset(folder, cfg.data), model, meta, cfg)
    assert_frame_equal(windowed.scores, whole.scores, check_exact=True)
    assert_frame_equal(windowed.history, whole.history, check_exact=True)


def test_the_portfolio_view_names_the_last_activity_by_an_activity_event() -> None:
    window = scoring_window(date(2024, 9, 2), [date(2024, 9, 2)], FeaturesConfig())
    events = _events(
        [
            ("a", "2024-01-09 10:00", "login"),  # before the window: the last activity all the same
            ("a", "2024-08-30 10:00", "page_view"),  # a's last event: no activity
            ("b", "2024-08-20 10:00", "data_export"),  # an activity, and an export
            ("b", "2024-08-31 10:00", "login"),  # b's last activity, in the as-of week
        ]
    )
    marks = event_marks(
        events.lazy(), window, date(2024, 9, 2), FeaturesConfig(), ["login", "data_export"]
    ).collect()
    days = pl.DataFrame(schema={"client_id": pl.String, "_day": pl.Date, "_export": pl.Boolean})
    view = portfolio_events(marks, days, FeaturesConfig(), ["data_export", "login"])
    assert view.filter(pl.col("event") == "login").rows() == [
        ("a", datetime(2024, 1, 9, 10), "login"),  # before the as-of date
        ("a", datetime(2024, 1, 9, 10), "login"),  # before the previous week
        ("b", datetime(2024, 8, 20, 10), "login"),  # before the previous week (an export: still activity)
        ("b", datetime(2024, 8, 31, 10), "login"),
    ]
    # without activity_events every event is activity: the unnamed last events serve, no more rows
    plain = event_marks(events.lazy(), window, date(2024, 9, 2), FeaturesConfig()).collect()
    assert portfolio_events(plain, days, FeaturesConfig()).filter(pl.col("event") == "login").height == 0


@pytest.mark.parametrize(
    ("activity", "exports", "name"),
    [
        (["login", "api_call"], ["data_export"], "login"),
        (["data_export", "login"], ["data_export"], "login"),  # an export row would count as one
        (["data_export"], ["data_export"], "data_export"),  # every activity is an export
        ([], ["data_export"], None),
    ],
)
def test_the_last_activity_is_named_by_an_activity_event_that_is_no_export(activity, exports, name) -> None:  # type: ignore[no-untyped-def]
    assert activity_name(activity, exports) == name


def _returned(folder: Path, out: Path, client: str, left: datetime, back: datetime) -> Path:
    """A copy of ``folder`` where ``client`` leaves on ``left`` (a churn record, its running term cut there)
    and comes back with a new year's term on ``back`` (its terms booked after ``left`` dropped)."""
    import shutil

    shutil.copytree(folder, out)
    subs = pl.read_parquet(out / "subscriptions.parquet")
    subs = subs.filter((pl.col("client_id") != client) | (pl.col("start_date") <= left))
    churns = pl.read_parquet(out / "churns.parquet")
    gone = pl.DataFrame({"client_id": [client], "churned_at": [left], "reason": ["price"]})
    pl.concat([churns, gone.cast(churns.schema)], how="diagonal").write_parquet(out / "churns.parquet")
    mine = (pl.col("client_id") == client) & (pl.col("start_date") <= left) & (pl.col("end_date") > left)
    assert subs.filter(mine).height == 1
    new = subs.filter(mine).with_columns(
        pl.lit(back).cast(subs.schema["start_date"]).alias("start_date"),
        pl.lit(back + timedelta(days=365)).cast(subs.schema["end_date"]).alias("end_date"),
    )
    cut = pl.when(mine).then(pl.lit(left).cast(subs.schema["end_date"])).otherwise(pl.col("end_date"))
    pl.concat([subs.with_columns(cut.alias("end_date")), new]).write_parquet(out / "subscriptions.parquet")
    return out


def test_a_client_back_after_a_churn_gets_the_history_of_a_list_without_last_week_s_file(
    folder_and_model, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # C000010 leaves on 2024-11-20 (not on the 2024-11-25 list) and is back on 2024-11-27: the next list,
    # reusing last week's file, scores it at the reused weeks too (it kept this week and last week only),
    # reading its events from those weeks on (the window widened); the manifest counts the weeks reused
    import json

    from typer.testing import CliRunner

    from churnml.cli import app
    from churnml.modeling.export import export_model

    folder, model, meta = folder_and_model
    export_model(model, tmp_path / "model", meta)
    data = _returned(folder, tmp_path / "raw", "C000010", datetime(2024, 11, 20), datetime(2024, 11, 27))
    options = [
        "--model",
        str(tmp_path / "model"),
        "--set",
        "score.history_weeks=4",
        "--set",
        "score.batch_clients=30",
    ]

    def run(out: Path, day: date) -> Path:
        args = ["score", "--data", str(data), "--as-of", day.isoformat(), "--out", str(out), *options]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        return out

    run(tmp_path / "weekly" / "2024-11-25", date(2024, 11, 25))
    reused = run(tmp_path / "weekly" / AS_OF.isoformat(), AS_OF)
    alone = run(tmp_path / "alone" / AS_OF.isoformat(), AS_OF)
    first = pl.read_parquet(tmp_path / "weekly" / "2024-11-25" / "history.parquet")
    assert first.filter(pl.col("client_id") == "C000010").height == 0  # gone at the first list
    history = pl.read_parquet(reused / "history.parquet")
    assert history.filter(pl.col("client_id") == "C000010").get_column("snapshot").to_list() == [
        date(2024, 11, 11),
        date(2024, 11, 18),
        date(2024, 12, 2),  # not on 2024-11-25: between its terms
    ]
    assert_frame_equal(history, pl.read_parquet(alone / "history.parquet"), check_exact=True)
    assert_frame_equal(
        pl.read_parquet(reused / "scores.parquet"),
        pl.read_parquet(alone / "scores.parquet"),
        check_exact=True,
    )
    manifest = json.loads((reused / "manifest.json").read_text())
    # last week's file holds 2024-11-04 .. 2024-11-25: 2024-11-04 is outside this list's weeks, 2024-11-25
    # is scored afresh (as this week is)
    assert manifest["history"] == {"snapshots_reused": 2, "snapshots_scored": ["2024-11-25", "2024-12-02"]}
    # the window widened to the client's first reused week: 2024-11-11 - 210 days
    assert manifest["data"]["read"]["events"]["window_start"] == "2024-04-15T00:00:00"


@pytest.mark.parametrize(
    ("stored", "opened_lazily", "read_in_batches"),
    [
        # what a pandas export writes: nanosecond times; the scan converts them losslessly
        (pl.col("ts").cast(pl.Datetime("ns")), True, True),
        # the same instants in a zone: converted to UTC in the scan, as validate does
        (pl.col("ts").dt.replace_time_zone("UTC").dt.convert_time_zone("Europe/Berlin"), True, True),
        (pl.col("client_id").cast(pl.Categorical), True, True),
        # text times: only the eager read parses them (the scan cannot compare text with a datetime)
        (pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S"), False, False),
        # ids with a space: seen on the per-client marks, then read eagerly, which trims and counts them
        # (the marks and batches of the scan would miss their clients)
        (pl.col("client_id") + " ", True, False),
        # a count stored as a 32-bit integer: widened in the scan
        (pl.lit(1, pl.UInt32).alias("count"), True, True),
    ],
)
def test_events_stored_in_other_types_give_the_list_of_the_contract_types(
    folder_and_model, whole_list, tmp_path: Path, stored: pl.Expr, opened_lazily: bool, read_in_batches: bool
) -> None:  # type: ignore[no-untyped-def]
    folder, model, meta = folder_and_model
    other = tmp_path / "raw"
    shutil.copytree(folder, other)
    events = pl.read_parquet(folder / "events.parquet")
    events.with_columns(stored).write_parquet(other / "events.parquet")
    cfg = load_config(overrides=["score.history_weeks=4", "score.batch_clients=25"])
    opened = open_scoring_data(other, cfg)
    assert (opened.scan is not None) == opened_lazily
    dataset, batches, _ = opened.read(AS_OF, history_to_score(None, AS_OF, cfg.score.history_weeks))
    assert (batches is not None) == read_in_batches
    assert_frame_equal(
        _scored(dataset, model, meta, cfg, batches).scores, whole_list.scores, check_exact=True
    )


def test_a_spark_bucket_scores_a_client_back_after_a_churn_at_the_reused_weeks(
    folder_and_model, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # the bucket's feature pass plans the reuse per client as listed_spine does: C000010, not in last week's
    # rows, gets the reused weeks' features too, from the events of those weeks (its window widened)
    from churnml.features import build_features
    from churnml.labels import active_spine
    from churnml.scoring.spark_buckets import BucketContext, bucket_features

    folder, _model, _meta = folder_and_model
    data = _returned(folder, tmp_path / "raw", "C000010", datetime(2024, 11, 20), datetime(2024, 11, 27))
    cfg = load_config()
    dataset = read_dataset(data, cfg.data)
    todo, reused = (date(2024, 11, 25), AS_OF), frozenset({date(2024, 11, 11), date(2024, 11, 18)})
    ctx = BucketContext(
        as_of=AS_OF,
        prev_date=date(2024, 11, 25),
        todo=todo,
        reused=reused,
        name=dataset.name,
        start=dataset.start,
        data_as_of=dataset.as_of,
        activity_start=dataset.first_activity(),
        label=cfg.label,
        features=cfg.features,
        score=cfg.score,
        value=cfg.value,
        rules=cfg.rules,
        windowed=True,
    )
    known = active_spine(dataset, sorted(reused), cfg.label).filter(pl.col("client_id") != "C000010")
    table, _view = bucket_features(dataset, ctx, known.with_columns(pl.col("snapshot").cast(pl.Date)))
    at = table.group_by("client_id").agg(pl.col("snapshot").sort())
    weeks = dict(zip(at.get_column("client_id"), at.get_column("snapshot").to_list(), strict=True))
    assert weeks["C000010"] == [date(2024, 11, 11), date(2024, 11, 18), AS_OF]  # not on 2024-11-25
    assert {tuple(w) for c, w in weeks.items() if c != "C000010"} <= {(AS_OF,), todo}
    rows = pl.DataFrame({"client_id": ["C000010"] * 3, "snapshot": weeks["C000010"]})
    whole = build_features(dataset, rows, cfg.features).with_columns(pl.col("snapshot").cast(pl.Date))
    assert_frame_equal(
        table.filter(pl.col("client_id") == "C000010").sort("snapshot"), whole.select(table.columns)
    )


def test_the_events_rhythm_is_read_from_the_days_holding_an_event_before_the_list() -> None:
    # the days come with the bounds' pass (rows_per_day, open_scoring_data): the rhythm of the whole table's
    # times, as usual_gap_days gives it
    from churnml.contract.io import rows_per_day
    from churnml.contract.validation import usual_gap_days
    from churnml.jobs.score_data import event_days, rhythm_of

    as_of = date(2024, 9, 2)
    stamps = [datetime(2024, 1, 1, 9) + timedelta(days=3 * k) for k in range(80)]  # 2024-01-01 .. 2024-08-25
    stamps += [datetime(2024, 5, 1, 18), datetime(1900, 1, 1), datetime(2024, 9, 2), datetime(2024, 9, 20)]
    events = pl.DataFrame({"client_id": ["a"] * len(stamps), "ts": stamps})
    days = event_days(rows_per_day(events.lazy(), "ts").collect(), as_of)
    assert days.height == 80 + 2  # one row per day with events before the list (05-01, the placeholder too)
    assert rhythm_of(days, as_of) == usual_gap_days(events.get_column("ts"), as_of) == 3


def test_one_pass_of_rows_per_day_gives_the_bounds_the_days_before_the_list_and_the_last_days() -> None:
    # the events file's bounds, its days before the list (their rows) and the last weeks' rows per day with the
    # last day's latest time, all read off one pass per day (rows_per_day): the values the three passes over the
    # file gave (a min / max, a group-by of the days before the list, one of the last weeks)
    from churnml.config import Config
    from churnml.contract.dataset import Dataset
    from churnml.contract.io import rows_per_day, time_bounds
    from churnml.contract.schemas import Table
    from churnml.jobs.score_data import ScoringData, event_days, recent_daily_events

    stamps = [
        datetime(1900, 1, 1, 5),  # a placeholder: the first time, not the first plausible one
        datetime(2024, 3, 1, 9),
        datetime(2024, 3, 1, 17, 30),  # two rows on one day
        datetime(2024, 3, 4, 8),
        None,  # a row without a time: counted, no day
        datetime(2024, 3, 5, 0, 0),  # on the list's date: not before it
        datetime(2024, 3, 5, 23, 59),
    ]
    events = pl.DataFrame(
        {"client_id": ["a"] * len(stamps), "ts": stamps},
        schema={"client_id": pl.String, "ts": pl.Datetime("us")},
    )
    days = rows_per_day(events.lazy(), "ts").collect()
    assert time_bounds(days) == {
        "rows": 7,
        "first": datetime(1900, 1, 1, 5),
        "first_plausible": datetime(2024, 3, 1, 9),
        "last": datetime(2024, 3, 5, 23, 59),
    }
    before = event_days(days, date(2024, 3, 5)).sort("day")
    assert before.to_dicts() == [
        {"day": date(1900, 1, 1), "rows": 1},
        {"day": date(2024, 3, 1), "rows": 2},
        {"day": date(2024, 3, 4), "rows": 1},
    ]
    scanned = ScoringData(
        Config(), Dataset({}, "t", datetime(2024, 3, 1), datetime(2024, 3, 6)), events_days=days
    )
    whole = ScoringData(
        Config(), Dataset({Table.EVENTS: events}, "t", datetime(2024, 3, 1), datetime(2024, 3, 6))
    )
    expected = (
        {date(2024, 3, 1): 2, date(2024, 3, 4): 1, date(2024, 3, 5): 2},
        date(2024, 3, 4),
        datetime(2024, 3, 4, 8),
    )
    assert (
        recent_daily_events(scanned, date(2024, 3, 4))
        == recent_daily_events(whole, date(2024, 3, 4))
        == expected
    )
    empty = rows_per_day(events.head(0).lazy(), "ts").collect()
    assert time_bounds(empty) == {"rows": 0, "first": None, "first_plausible": None, "last": None}


def test_the_events_read_in_a_window_are_judged_stale_by_the_whole_files_rhythm(
    folder_and_model, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Events ending 10 days before the list: the whole read calls them stale by their own rhythm (a record
    every day or two, so more than the week's floor); the windowed read must judge and word them alike, not
    by the few days per client its portfolio view holds (whose gaps are no rhythm), nor drop the rhythm from
    the span the console words the warning with."""
    from churnml.contract.validation import lagging_table_text, lagging_tables, table_spans
    from churnml.jobs.score import score
    from churnml.modeling.export import export_model

    folder, model, meta = folder_and_model
    raw = tmp_path / "raw"
    shutil.copytree(folder, raw)
    events = pl.read_parquet(raw / "events.parquet")
    stop = datetime(AS_OF.year, AS_OF.month, AS_OF.day) - timedelta(days=10)
    events.filter(pl.col("ts") < stop).write_parquet(raw / "events.parquet")
    export_model(model, tmp_path / "model", meta)
    cfg = load_config()
    cfg = cfg.model_copy(update={"score": cfg.score.model_copy(update={"history_weeks": 2})})
    whole = table_spans(read_dataset(raw, cfg.data).tables, AS_OF)["events"]
    assert whole["usual_gap_days"] < 7  # a daily log: its rhythm is the week's floor
    run = score(raw, cfg, AS_OF, tmp_path / "list", str(tmp_path / "model"))
    assert run.manifest["data"]["read"]["events"]["rows_skipped"] > 0  # the windowed read
    span = run.manifest["data"]["tables"]["events"]
    assert span["usual_gap_days"] == whole["usual_gap_days"]
    assert span["last_before_as_of"] == whole["last_before_as_of"]
    lag = (
        datetime(AS_OF.year, AS_OF.month, AS_OF.day) - datetime.fromisoformat(span["last_before_as_of"])
    ).days
    assert lag >= 10
    assert run.lagging["events"] == lag
    assert lagging_tables({"events": whole}, AS_OF, 21) == {"events": lag}
    said = lagging_table_text("events", lag, span, 21)
    assert said == lagging_table_text("events", lag, whole, 21)
    gap = whole["usual_gap_days"]
    assert said.startswith(
        f"events: no record for {lag} days, its longest usual gap is {gap} day{'' if gap == 1 else 's'}"
    )


def _in_two_currencies(folder: Path, out: Path, rate: float) -> tuple[Path, dict[str, int]]:
    """``folder`` copied to ``out`` with a currency column in payments and subscriptions: the clients of the
    odd rows of clients.parquet billed in JPY (their amounts divided by ``rate``, JPY's worth in EUR), the
    others in EUR; and the rows in JPY per table."""
    shutil.copytree(folder, out)
    clients = pl.read_parquet(out / "clients.parquet").get_column("client_id")
    yen = clients.gather_every(2, offset=1).implode()
    rows = {}
    for table, money in (("payments", "amount"), ("subscriptions", "mrr")):
        frame = pl.read_parquet(out / f"{table}.parquet")
        in_yen = pl.col("client_id").is_in(yen)
        frame = frame.with_columns(
            pl.when(in_yen).then(pl.col(money) / rate).otherwise(pl.col(money)).alias(money),
            pl.when(in_yen).then(pl.lit("JPY")).otherwise(pl.lit("EUR")).alias("currency"),
        )
        frame.write_parquet(out / f"{table}.parquet")
        rows[table] = int(frame.select(in_yen.sum()).item())
    return out, rows


def test_a_list_of_clients_billed_in_two_currencies_gives_their_arr_converted(
    folder_and_model, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from churnml.cli import app
    from churnml.modeling.export import export_model

    folder, model, meta = folder_and_model
    export_model(model, tmp_path / "model", meta)
    mixed, yen_rows = _in_two_currencies(folder, tmp_path / "mixed", 0.006)
    assert yen_rows["subscriptions"] > 0 and yen_rows["payments"] > 0

    def score(data: Path, out: Path, *sets: str):  # type: ignore[no-untyped-def]
        args = ["score", "--data", str(data), "--as-of", AS_OF.isoformat(), "--out", str(out)]
        args += ["--model", str(tmp_path / "model"), "--set", "score.history_weeks=4"]
        args += ["--set", "score.batch_clients=30"]  # the windowed read, in three client batches
        for one in sets:
            args += ["--set", one]
        return CliRunner().invoke(app, args)

    refused = score(mixed, tmp_path / "refused")
    assert refused.exit_code != 0
    said = " ".join(refused.output.split())
    assert (
        "table 'subscriptions', column 'mrr': amounts in several currencies (its currency column): " in said
    )
    assert '--set "data.currency_rates={' in said and "EUR: RATE" in said and "JPY: RATE" in said
    assert not (tmp_path / "refused").exists()

    one = score(folder, tmp_path / "one")
    two = score(mixed, tmp_path / "two", "data.currency_rates={EUR: 1, JPY: 0.006}")
    assert one.exit_code == 0, one.output
    assert two.exit_code == 0, two.output
    arr = {
        name: pl.read_parquet(tmp_path / name / "scores.parquet").select("client_id", "arr").sort("client_id")
        for name in ("one", "two")
    }
    assert arr["two"].get_column("client_id").to_list() == arr["one"].get_column("client_id").to_list()
    assert arr["two"].get_column("arr").to_list() == pytest.approx(arr["one"].get_column("arr").to_list())
    assert arr["two"].get_column("arr").sum() > 0
    repairs = json.loads((tmp_path / "two" / "manifest.json").read_text())["data"]["repairs"]
    assert (
        repairs["payments"][
            "amount: amounts in JPY converted into score.currency at 0.006 (data.currency_rates)"
        ]
        == (yen_rows["payments"])
    )
    assert (
        repairs["subscriptions"][
            "mrr: amounts in JPY converted into score.currency at 0.006 (data.currency_rates)"
        ]
        == (yen_rows["subscriptions"])
    )
    # the console says the conversion, not only the manifest
    shown = " ".join(two.output.split())
    assert (
        f"note: payments.amount converted into score.currency (data.currency_rates): "
        f"{yen_rows['payments']:,} rows in JPY at 0.006" in shown
    )


def test_scoring_names_an_unknown_client_of_a_csv_table_by_its_line_as_validate_does(tmp_path: Path) -> None:
    """Parquet events are scanned, the CSV tables beside them read whole: their unknown client_id was named
    by its data row (row=3), where validate names the line an editor shows (line=5: the header and a blank
    line counted)."""
    from churnml.contract.validation import ContractError

    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "clients.csv").write_text("client_id,created_at\nc1,2024-01-01\n\nc2,2024-01-02\n")
    (folder / "subscriptions.csv").write_text(
        "client_id,start_date,end_date,mrr\nc1,2024-01-01,2025-01-01,10\n\n"
        "c2,2024-01-01,2025-01-01,10\nc9,2024-01-01,2025-01-01,10\n"
    )
    pl.DataFrame(
        {
            "client_id": ["c1", "c2"],
            "ts": [datetime(2024, 2, 1), datetime(2024, 2, 2)],
            "event": ["login"] * 2,
        }
    ).write_parquet(folder / "events.parquet")
    expected = (
        "table 'subscriptions', column 'client_id': client_id not found in table 'clients' (1 row). e.g. "
    )
    with pytest.raises(ContractError) as scoring:
        open_scoring_data(folder, load_config(None))
    assert str(scoring.value) == expected + "line=5, client_id='c9'"
    with pytest.raises(ContractError) as validating:
        read_dataset(folder, load_config(None).data)
    assert str(validating.value) == str(scoring.value)


def _weekly_lists(
    data: Path, model_dir: Path, parent: Path, days: list[date], store: bool, batch: int
) -> list:
    """``churnml score`` at each of ``days`` into ``parent/<day>`` (so each finds the one before as last week's
    list), with the client-week store on or off; the console outputs."""
    from typer.testing import CliRunner

    from churnml.cli import app

    outputs = []
    for day in days:
        args = [
            "score",
            "--data",
            str(data),
            "--as-of",
            day.isoformat(),
            "--out",
            str(parent / day.isoformat()),
        ]
        args += ["--model", str(model_dir), "--set", "score.history_weeks=4"]
        args += [
            "--set",
            f"score.batch_clients={batch}",
            "--set",
            f"score.client_week_store={str(store).lower()}",
        ]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    return outputs


def _same_lists(one: Path, other: Path) -> None:
    for name in ("scores.parquet", "history.parquet"):
        assert_frame_equal(pl.read_parquet(one / name), pl.read_parquet(other / name), check_exact=True)


@pytest.mark.parametrize("batch", [30, 1000])
def test_next_week_s_list_from_the_client_week_store_is_the_raw_window_s(
    folder_and_model, tmp_path: Path, batch: int
) -> None:  # type: ignore[no-untyped-def]
    # C000010 leaves and comes back (the window widened to its reused weeks); C000004's last event is before
    # both lists' windows (2024-04-08, 2024-04-15) and C000006's in the week that leaves the window between them
    # (both carried from the store: the next list reads no row of the file before its window): the next list
    # reads the weeks since the last list and the stored weeks, and gives the list read from the raw window, bit
    # for bit
    import json

    from churnml.jobs.week_store import CARRIED_FILE, KINDS_FILE, USERS_FILE
    from churnml.modeling.export import export_model

    folder, model, meta = folder_and_model
    export_model(model, tmp_path / "model", meta)
    returned = _returned(folder, tmp_path / "back", "C000010", datetime(2024, 11, 20), datetime(2024, 11, 27))
    quiet = {"C000004": datetime(2024, 3, 1), "C000006": datetime(2024, 4, 12)}
    data = _quiet_since(returned, tmp_path / "raw", quiet)
    days = [date(2024, 11, 25), AS_OF]
    said = _weekly_lists(data, tmp_path / "model", tmp_path / "store", days, True, batch)
    _weekly_lists(data, tmp_path / "model", tmp_path / "raw_lists", days, False, batch)
    for day in days:
        _same_lists(tmp_path / "store" / day.isoformat(), tmp_path / "raw_lists" / day.isoformat())
    listed = pl.read_parquet(tmp_path / "store" / AS_OF.isoformat() / "scores.parquet").get_column(
        "client_id"
    )
    assert {"C000004", "C000006"} <= set(listed.to_list())
    # the store carries the rows before its window (C000004's last event) and a few of each week's (the
    # candidates a later window may carry), not the week's rows
    carried = pl.read_parquet(tmp_path / "store" / "2024-11-25" / CARRIED_FILE)
    before = carried.filter(pl.col("ts") < datetime(2024, 4, 8))
    assert "C000004" in before.get_column("client_id").to_list()
    window_rows = pl.scan_parquet(data / "events.parquet").filter(
        (pl.col("ts") >= datetime(2024, 4, 8)) & (pl.col("ts") < datetime(2024, 11, 25))
    )
    assert carried.height - before.height < window_rows.select(pl.len()).collect().item() / 5
    first = json.loads((tmp_path / "store" / "2024-11-25" / "manifest.json").read_text())["data"]
    assert first["client_week_store"]["reused_weeks"] == []
    assert first["client_week_store"]["weeks_from"] == "2024-04-08T00:00:00"  # 2024-11-04 - 210 days
    manifest = json.loads((tmp_path / "store" / AS_OF.isoformat() / "manifest.json").read_text())
    store = manifest["data"]["client_week_store"]
    assert store["reused_from"] == "2024-11-25" and store["not_reused_because"] is None
    assert store["reused_weeks"][0] == "2024-04-15" and store["reused_weeks"][-1] == "2024-11-18"
    assert store["aggregated_weeks"] == ["2024-11-25"]
    # the reused weeks keep what the first list found in them (optional columns holding a value)
    assert store["filled"]["2024-05-06"] == first["client_week_store"]["filled"]["2024-05-06"] != []
    assert store["week_rows"]["2024-05-06"] == first["client_week_store"]["week_rows"]["2024-05-06"] > 0
    assert (tmp_path / "store" / AS_OF.isoformat() / KINDS_FILE).is_file()
    assert (tmp_path / "store" / AS_OF.isoformat() / USERS_FILE).is_file()
    raw = json.loads((tmp_path / "raw_lists" / AS_OF.isoformat() / "manifest.json").read_text())["data"]
    assert "client_week_store" not in raw
    # the stored weeks are not read again; the empty optional columns are judged with them
    assert manifest["data"]["read"]["events"]["rows_read"] < raw["read"]["events"]["rows_read"] / 10
    assert manifest["data"]["empty_optional_columns"] == raw["empty_optional_columns"]
    assert (
        "client-week store: the weeks 2024-04-15 to 2024-11-25 reused from the list of 2024-11-25" in said[1]
    )
    assert "client-week store not reused (no list in" in said[0]


def _added_row(data: Path) -> None:
    """``data``'s events file with one more event on 2024-06-05."""
    events = pl.read_parquet(data / "events.parquet")
    late = events.filter(pl.col("client_id") == "C000003").head(1)
    late = late.with_columns(pl.lit(datetime(2024, 6, 5, 10)).cast(events.schema["ts"]).alias("ts"))
    pl.concat([events, late]).write_parquet(data / "events.parquet")


def _renamed_login(since: datetime, until: datetime):  # type: ignore[no-untyped-def]
    """A change of ``data``'s events file: every event from ``since`` to ``until`` renamed a login in place (the
    same rows in every day)."""

    def change(data: Path) -> None:
        events = pl.read_parquet(data / "events.parquet")
        rows = (pl.col("ts") >= since) & (pl.col("ts") < until)
        renamed = pl.when(rows).then(pl.lit("login")).otherwise(pl.col("event"))
        events.with_columns(renamed.alias("event")).write_parquet(data / "events.parquet")

    return change


@pytest.mark.parametrize(
    ("change", "said"),
    [
        # an event added to a stored week
        (_added_row, "the events file holds "),
        # every event of a stored week renamed: as many rows, its aggregates stale (a fingerprint of each day's rows)
        (
            _renamed_login(datetime(2024, 6, 3), datetime(2024, 6, 10)),
            "the events file's rows in the week of 2024-06-03 changed since the store of 2024-11-25 was written "
            "(the same ",
        ),
        # ... or before the store's weeks: the rows it carries from before its window are stale
        (
            _renamed_login(datetime(2024, 1, 1), datetime(2024, 4, 8)),
            "the events file's rows before 2024-04-08 changed since the store of 2024-11-25 was written (the same ",
        ),
    ],
)
def test_a_store_whose_rows_changed_falls_back_to_the_raw_window(
    folder_and_model, tmp_path: Path, change, said: str
) -> None:  # type: ignore[no-untyped-def]
    # the events file changed after the store was written: the next list reads the raw window (said in the
    # manifest and the console) and gives the list of the raw path on the changed data
    import json

    from churnml.modeling.export import export_model

    folder, model, meta = folder_and_model
    export_model(model, tmp_path / "model", meta)
    data = tmp_path / "raw"
    shutil.copytree(folder, data)
    _weekly_lists(data, tmp_path / "model", tmp_path / "store", [date(2024, 11, 25)], True, 30)
    _weekly_lists(data, tmp_path / "model", tmp_path / "raw_lists", [date(2024, 11, 25)], False, 30)
    change(data)
    said_now = _weekly_lists(data, tmp_path / "model", tmp_path / "store", [AS_OF], True, 30)
    _weekly_lists(data, tmp_path / "model", tmp_path / "raw_lists", [AS_OF], False, 30)
    _same_lists(tmp_path / "store" / AS_OF.isoformat(), tmp_path / "raw_lists" / AS_OF.isoformat())
    store = json.loads((tmp_path / "store" / AS_OF.isoformat() / "manifest.json").read_text())["data"][
        "client_week_store"
    ]
    assert store["reused_weeks"] == [] and store["reused_from"] is None
    assert store["not_reused_because"].startswith(said), store["not_reused_because"]
    assert "the store of 2024-11-25" in store["not_reused_because"]
    assert f"client-week store not reused ({said}" in said_now[0]


def _quiet_since(folder: Path, out: Path, quiet: dict[str, datetime]) -> Path:
    """A copy of ``folder`` in ``out`` where each client of ``quiet`` has no event from its day on (its
    subscriptions kept: still listed)."""
    shutil.copytree(folder, out)
    events = pl.read_parquet(out / "events.parquet")
    gone = pl.lit(False)
    for client, day in quiet.items():
        gone = gone | ((pl.col("client_id") == client) & (pl.col("ts") >= day))
    events.filter(~gone).write_parquet(out / "events.parquet")
    return out
