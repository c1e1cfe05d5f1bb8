"""Benchmark the weekly scoring job: wall time and peak memory of `churnml score` on a large portfolio.

    python tests/benchmarks/bench_score.py --clients 100000 --months 13
    python tests/benchmarks/bench_score.py --data /tmp/scale/c100k_m13   # a folder generated beforehand

Steps (only step 3 is the benchmark; steps 1-2 are set-up, cached in --work and timed separately):

1. generate a synthetic CRM (``churnml.demo.synth``) with ``--clients`` clients over ``--months`` months
   (or take the folder ``--data``: its as-of date is the day after its last event);
2. train a champion-like model (the configured LightGBM settings, at most ``--trees`` trees) on a
   separate generated dataset of ``--train-clients`` clients over 24 months (enough labeled
   snapshots), and export it;
3. run ``churnml score`` twice, each in a fresh process whose own peak RSS is measured:
   a. the first list (a week before the last data): features at the as-of date, the week before and
      the whole health history, scoring, exact TreeSHAP drivers, rules, report and files;
   b. the following week, as the weekly job runs it: last week's history is reused, so only this
      week and the previous one are featurised and scored.
4. the physical floor of each list, in a fresh process too: one Polars scan of the events the list reads
   (its window) and a group-by to client x week (integer day numbers, no date truncation); each step of
   the list is printed as a multiple of it (read, features and scores, explain, the rest).

Targets (issue 15): 13 months of history in the folder, every client explained: the first list under
60 s and under 4 GB peak memory, the next week under 40 s, on the 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _generate(raw: Path, truth: Path, clients: int, months: int, seed: int) -> None:
    from churnml.demo.synth import SynthParams, write_synthetic_dataset

    start = time.perf_counter()
    rows = write_synthetic_dataset(SynthParams(clients=clients, months=months, seed=seed), raw, truth)
    print(
        f"setup: generated {clients:,} clients x {months} months in {time.perf_counter() - start:.1f}s: "
        + ", ".join(f"{k} {v:,}" for k, v in rows.items() if not k.startswith("truth"))
    )


def _train(raw: Path, out: Path, trees: int) -> None:
    from churnml.config import load_config
    from churnml.contract.io import read_dataset
    from churnml.contract.schemas import CLIENT_ID
    from churnml.modeling.export import export_model, feature_reference
    from churnml.modeling.train import model_from_config
    from churnml.pipeline import labeled_feature_table

    start = time.perf_counter()
    cfg = load_config()
    dataset = read_dataset(raw, cfg.data)
    table = labeled_feature_table(dataset, cfg.snapshots, cfg.label, cfg.features).filter(
        pl.col("label").is_not_null()
    )
    names = [c for c in table.columns if c not in (CLIENT_ID, "snapshot", "label", "churned_at")]
    snaps = sorted(table.get_column("snapshot").unique().to_list())
    cut = snaps[int(len(snaps) * 0.75)]
    train, valid = table.filter(pl.col("snapshot") < cut), table.filter(pl.col("snapshot") >= cut)
    X, Xv = (f.select(names).cast(pl.Float64).to_pandas() for f in (train, valid))
    model = model_from_config(cfg.train, {"n_estimators": trees})
    model.fit(X, train.get_column("label").to_numpy(), eval_set=(Xv, valid.get_column("label").to_numpy()))
    reference = feature_reference(X.sample(min(len(X), 50_000), random_state=0))
    export_model(model, out, {"model_version": "bench", "feature_reference": reference})
    print(
        f"setup: trained on {len(X):,} rows, {model.best_iteration_} trees, "
        f"{len(names)} features in {time.perf_counter() - start:.1f}s"
    )


def _score_child(args: list[str]) -> None:
    """Run `churnml score` in this process and print its wall time and this process's peak RSS."""
    from churnml.cli import app

    start = time.perf_counter()
    app(["score", *args], standalone_mode=False)
    use = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter() - start
    print(
        json.dumps(
            {
                "wall_s": round(wall, 1),
                "peak_mb": round(_peak_mb()),
                "cpu_s": round(use.ru_utime + use.ru_stime, 1),
            }
        )
    )


def _floor_child(events: str, start: str, end: str) -> None:
    """The physical floor: scan the events of ``[start, end)`` and count them per client x week (day
    numbers as integers), in this process; print its wall time, peak RSS and the rows it saw."""
    from datetime import datetime

    started = time.perf_counter()
    ts = pl.col("ts").cast(pl.Datetime("us")).cast(pl.Int64)
    weekly = (
        pl.scan_parquet(events)
        .filter(
            (pl.col("ts") >= datetime.fromisoformat(start)) & (pl.col("ts") < datetime.fromisoformat(end))
        )
        .select("client_id", (ts // 86_400_000_000 // 7).alias("week"))
        .group_by("client_id", "week")
        .agg(pl.len().alias("n"))
        .collect(engine="streaming")
    )
    rows = int(weekly.get_column("n").sum())
    print(
        json.dumps(
            {"wall_s": round(time.perf_counter() - started, 1), "peak_mb": round(_peak_mb()), "rows": rows}
        )
    )


def _run_floor(raw: Path, start: str, end: str) -> dict:
    cmd = [sys.executable, __file__, "--floor-child", "--", str(raw / "events.parquet"), start, end]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _against_floor(figures: dict, floor: dict) -> str:
    """Each step of the list as a multiple of the floor: read (folder, marks, spill, batches), features and
    scores (less the batch reads in them), explain, the rest."""
    t = figures["timings"]
    read = t.get("read", 0) + t.get("read_marks", 0) + t.get("read_spill", 0) + t.get("read_batches", 0)
    features = t.get("features_and_scores", 0) - t.get("read_batches", 0)
    explain = t.get("explain", 0)
    rest = figures["wall_s"] - read - features - explain
    parts = {"read": read, "features+scores": features, "explain": explain, "rest": rest}
    base = max(floor["wall_s"], 0.1)
    return ", ".join(f"{k} {v:.1f}s ({v / base:.1f}x)" for k, v in parts.items())


def _run_score(
    raw: Path, model: Path, out: Path, as_of: date, explain_limit: int | None, sets: list[str]
) -> dict:
    from churnml.scoring.outputs import is_churnml_output

    if is_churnml_output(out):  # a list of an earlier run: an unchanged list would keep its manifest,
        shutil.rmtree(out)  # so its timings would be the earlier run's, not this one's
    cmd = [sys.executable, __file__, "--score-child", "--"]
    cmd += ["--data", str(raw), "--model", str(model), "--as-of", as_of.isoformat(), "--out", str(out)]
    if explain_limit is not None:
        cmd += ["--set", f"score.explain_limit={explain_limit}"]
    for item in sets:
        cmd += ["--set", item]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"churnml score failed for {as_of}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    manifest = json.loads((out / "manifest.json").read_text())
    explained = pl.read_parquet(out / "scores.parquet", columns=["explained"]).get_column("explained").sum()
    return {
        **figures,
        "clients": manifest["clients_scored"],
        "explained": int(explained),
        "timings": manifest["timings"],
        "read": manifest["data"].get("read", {}).get("events"),
    }


def prepared(work: Path, opts: argparse.Namespace) -> tuple[Path, Path]:
    """(scoring data folder, exported model folder) under ``work``, generated and trained when missing
    (``opts``: clients, months, seed, train_clients, trees)."""
    raw, model = opts.data or work / "raw", work / "model"
    if not (raw / "clients.parquet").is_file():
        _generate(raw, work / "truth", opts.clients, opts.months, opts.seed)
    if not (model / "model.txt").is_file():
        train_raw = work / f"train-{opts.train_clients}"
        if not (train_raw / "clients.parquet").is_file():
            _generate(train_raw, work / "train-truth", opts.train_clients, 24, opts.seed + 1)
        _train(train_raw, model, opts.trees)
    return raw, model


def main() -> None:
    if "--score-child" in sys.argv:
        _score_child(sys.argv[sys.argv.index("--") + 1 :])
        return
    if "--floor-child" in sys.argv:
        _floor_child(*sys.argv[sys.argv.index("--") + 1 :])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=13)
    parser.add_argument("--data", type=Path, default=None, help="score this folder (not generated)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--train-clients", type=int, default=3_000)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--explain-limit", type=int, default=None, help="score.explain_limit (default: all)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        help="a config override for both lists, e.g. score.batch_clients=20000",
    )
    parser.add_argument(
        "--work", type=Path, default=None, help="cache folder (default data/bench/score-<clients>)"
    )
    opts = parser.parse_args()
    name = opts.data.name if opts.data else f"{opts.clients}x{opts.months}"
    work = opts.work or Path("data/bench") / f"score-{name}"
    raw, model = prepared(work, opts)
    scores = work / "scores"

    last = pl.scan_parquet(raw / "events.parquet").select(pl.col("ts").max()).collect().item()
    as_of = last.date() + timedelta(days=1)
    first_day = as_of - timedelta(weeks=1)
    for label, day in (
        ("first list (26 weeks of history)", first_day),
        ("next week (history reused)", as_of),
    ):
        figures = _run_score(raw, model, scores / day.isoformat(), day, opts.explain_limit, opts.set)
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in figures["timings"].items() if k != "total")
        read = figures["read"]
        print(
            f"score {label}: {figures['clients']:,} clients at {day} (explained: {figures['explained']:,}): "
            f"wall {figures['wall_s']:.1f}s, "
            f"peak RSS {figures['peak_mb'] / 1024:.2f} GB, CPU {figures.get('cpu_s', 0):.1f}s  [{steps}]"
        )
        if read is None:
            continue
        print(
            f"  events read {read['rows_read']:,} of {read['rows_in_file']:,} "
            f"(window {read['window_start'][:10]} .. {read['window_end'][:10]}, {read['client_batches']} batches)"
            + (
                ""
                if read.get("spilled_rows") is None
                else f"; spilled {read['spilled_rows']:,} rows, {read['spilled_mb']:,.0f} MB to the scratch folder"
            )
        )
        floor = _run_floor(raw, read["window_start"], read["window_end"])
        print(
            f"  floor (one scan + group-by client x week of the {floor['rows']:,} window events): "
            f"{floor['wall_s']:.1f}s, peak RSS {floor['peak_mb'] / 1024:.2f} GB; the list: "
            f"{figures['wall_s'] / max(floor['wall_s'], 0.1):.1f}x the floor ({_against_floor(figures, floor)})"
        )


if __name__ == "__main__":
    main()
