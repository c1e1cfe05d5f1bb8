"""Benchmark of `churnml train` at portfolio scale: time and peak memory at several portfolio sizes.

Usage: python tests/benchmarks/bench_train.py [--clients 10000 30000 100000] [--months 24] [--seed 15]
       [--data 100000=/tmp/scale/c100k_m24] [--truth 100000=/tmp/scale/c100k_m24_truth]
       [--cache /tmp/churnml_bench_train] [--set key=value ...]

For each size, in a fresh process: ``churnml.jobs.train.train`` end to end (read, labeled table batch by
batch, out-of-time backtest of the model and the baselines, refit, MLflow logging to a fresh store,
export), then in another fresh process the physical floor: one Polars scan + group-by of the events by
client x week (integer day numbers). Prints wall time and peak RSS (of that process, from ``wait4``) side
by side, the labeled rows, the model's mean fold PR-AUC and the time per step. Datasets not given with
--data are generated into --cache (not timed; kept for the next run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

_TRAIN = """
import json, os, sys, time
from pathlib import Path
from churnml.config import load_config
from churnml.jobs.train import train
from churnml.modeling.experiment import fold_means
data, truth, work = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
cfg = load_config(None, [f"paths.tune={work / 'tune'}", *sys.argv[4:]])
s = train(data, cfg, Path(truth) if truth else None, work / "models", lambda m: print("  ..", m, flush=True))
means = fold_means(s.result.backtest)
print("RESULT " + json.dumps({
    "rows": s.result.rows, "seconds": s.seconds,
    "pr_auc": {n: round(float(means.loc[n, "pr_auc"]), 4) for n in means.index},
}))
"""

_FLOOR = """
import sys, time
import polars as pl
t = time.perf_counter()
days = pl.col("ts").cast(pl.Date).cast(pl.Int32)
out = (
    pl.scan_parquet(sys.argv[1]).select("client_id", (days // 7).alias("week"))
    .group_by("client_id", "week").len().collect(engine="streaming")
)
print(f"RESULT {{\\"groups\\": {out.height}, \\"seconds\\": {time.perf_counter() - t:.2f}}}")
"""


def _run(code: str, args: list[str], log: Path) -> tuple[float, float, dict]:
    """Wall seconds, peak RSS (MB) and the RESULT line of ``python -c code args`` in a fresh process."""
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    text = log.read_text()
    if status != 0:
        raise SystemExit(f"failed (exit {status}); see {log}:\n{text[-3000:]}")
    result = json.loads(next(line for line in text.splitlines() if line.startswith("RESULT "))[7:])
    return wall, usage.ru_maxrss / 1024, result


def _dataset(n: int, months: int, seed: int, cache: Path) -> tuple[Path, Path]:
    raw, truth = cache / f"c{n}_m{months}" / "raw", cache / f"c{n}_m{months}" / "truth"
    if not (raw / "clients.parquet").exists():
        print(f"generating {n:,} clients x {months} months into {raw} (not timed) ...", flush=True)
        code = (
            "import sys; from pathlib import Path; from churnml.demo.synth import SynthParams, "
            "write_synthetic_dataset as w; w(SynthParams(clients=int(sys.argv[1]), months=int(sys.argv[2]), "
            "seed=int(sys.argv[3])), Path(sys.argv[4]), Path(sys.argv[5]))"
        )
        subprocess.run(
            [sys.executable, "-c", code, str(n), str(months), str(seed), str(raw), str(truth)], check=True
        )
    return raw, truth


def _pairs(values: list[str]) -> dict[int, Path]:
    return {int(k): Path(v) for k, v in (item.split("=", 1) for item in values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--data", action="append", default=[], help="SIZE=DIR: use this dataset for a size")
    parser.add_argument("--truth", action="append", default=[], help="SIZE=DIR: its truth (oracle row)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/churnml_bench_train"))
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    given, truths = _pairs(args.data), _pairs(args.truth)
    rows = []
    for n in args.clients:
        if n in given:
            raw, truth = given[n], truths.get(n)
        else:
            raw, truth = _dataset(n, args.months, args.seed, args.cache)
        work = args.cache / f"work_{n}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        print(f"training on {n:,} clients x {args.months} months ({raw}) ...", flush=True)
        wall, rss, res = _run(
            _TRAIN, [str(raw), str(truth or ""), str(work), *args.overrides], work / "train.log"
        )
        f_wall, f_rss, floor = _run(_FLOOR, [str(raw / "events.parquet")], work / "floor.log")
        rows.append((n, wall, rss, res, f_wall, f_rss, floor))
        print(
            f"  {wall:,.0f} s, peak {rss:,.0f} MB; steps {res['seconds']}; mean fold PR-AUC {res['pr_auc']}"
        )
        print(f"  floor {f_wall:,.1f} s, peak {f_rss:,.0f} MB ({floor['groups']:,} client-weeks)", flush=True)
    print()
    print(
        "| clients | labeled rows | train wall | train peak RSS | floor wall | floor peak RSS | "
        "x floor (time) | model PR-AUC (mean of folds) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, wall, rss, res, f_wall, f_rss, _ in rows:
        print(
            f"| {n:,} | {res['rows']['labeled']:,} | {wall:,.0f} s | {rss / 1024:,.1f} GB | {f_wall:,.1f} s | "
            f"{f_rss / 1024:,.1f} GB | {wall / f_wall:,.0f}x | {res['pr_auc'].get('model', float('nan')):.4f} |"
        )


if __name__ == "__main__":
    main()
