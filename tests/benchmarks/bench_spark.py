"""Benchmark the weekly list on Spark (local mode) beside the Polars path, and where Spark's time goes.

    python tests/benchmarks/bench_spark.py --data /tmp/scale/c100k_m13 --driver-memory 8g

Steps (set-up cached in --work and timed apart):

1. a model: trained once (the configured LightGBM settings, at most ``--trees`` trees) on a generated
   dataset of ``--train-clients`` clients x 24 months, exported to ``<work>/model``;
2. ``churnml score --engine polars`` on ``--data`` in a fresh process: wall time and the peak RSS of that
   process (unless ``--skip-polars``);
3. ``churnml score --engine spark`` on the same data, as-of date and model, in a fresh process with a
   local Spark (``local[2]``, ``--driver-memory``): wall time, its Python process's peak RSS (``wait4``),
   the peak RSS of the whole process tree (Python driver + JVM + Python workers, sampled from /proc every
   half second) and the job's steps from its manifest: read + validate, client buckets, spine + features
   per bucket, score + explain on the executors, assemble on the driver;
4. the two lists compared: same clients, largest probability difference, same zones and actions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl


def _train(work: Path, clients: int, trees: int) -> Path:
    from churnml.config import load_config
    from churnml.contract.io import read_dataset
    from churnml.demo.synth import SynthParams, write_synthetic_dataset
    from churnml.features.registry import feature_specs
    from churnml.modeling.export import export_model, feature_reference
    from churnml.modeling.train import model_from_config
    from churnml.pipeline import labeled_feature_table

    model = work / "model"
    if (model / "model.txt").is_file():
        return model
    start = time.perf_counter()
    raw = work / "train_raw"
    if not (raw / "clients.parquet").is_file():
        write_synthetic_dataset(SynthParams(clients=clients, months=24, seed=3), raw, work / "train_truth")
    cfg = load_config()
    table = labeled_feature_table(read_dataset(raw, cfg.data), cfg.snapshots, cfg.label, cfg.features)
    table = table.filter(pl.col("label").is_not_null())
    names = [c for c in table.columns if c in feature_specs(cfg.features)]
    # the last 8 weekly snapshots hold out for early stopping and calibration
    cut = sorted(table.get_column("snapshot").unique().to_list())[-8]
    train, valid = table.filter(pl.col("snapshot") < cut), table.filter(pl.col("snapshot") >= cut)
    X, Xv = train.select(names).to_pandas(), valid.select(names).to_pandas()
    fitted = model_from_config(cfg.train, {"n_estimators": trees})
    fitted.fit(X, train.get_column("label").to_numpy(), eval_set=(Xv, valid.get_column("label").to_numpy()))
    export_model(fitted, model, {"model_version": "bench", "feature_reference": feature_reference(X)})
    print(f"setup: trained on {len(X):,} rows in {time.perf_counter() - start:.1f}s")
    return model


_CHILD = """
import json, sys, time
from pathlib import Path
from churnml.config import load_config
engine, data, model, out, memory = sys.argv[1:6]
cfg = load_config()
cfg = cfg.model_copy(update={"features": cfg.features.model_copy(update={"engine": engine})})
start = time.perf_counter()
if engine == "spark":
    from churnml.jobs.score_spark import score_on_spark, spark_session
    session = spark_session("local[2]", memory)
    step = lambda m: print(f"  {time.perf_counter() - start:7.1f}s {m}", flush=True)
    run = score_on_spark(Path(data), cfg, None, Path(out), model, step, session=session)
else:
    from churnml.jobs.score import score
    run = score(Path(data), cfg, None, Path(out), model)
print("RESULT", json.dumps({"seconds": time.perf_counter() - start, "timings": run.manifest["timings"]}))
"""


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and every process below it (the JVM a Spark driver starts), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, frontier = {root}, [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier and pid not in tree]
        tree.update(frontier)
    total = 0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next(
            (int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0
        )
    return total


def _run(engine: str, data: Path, model: Path, out: Path, memory: str) -> dict:
    """One scoring run in a fresh process: wall time, its peak RSS (``wait4``), the peak of the whole
    process tree (the Python driver, the JVM and its Python workers; sampled every half second), the job's
    timings."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, engine, str(data), str(model), str(out), memory],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tree_peak = 0
    collected: list[str] = []

    def drained(stream: Any) -> threading.Thread:
        reader = threading.Thread(target=lambda: collected.append(stream.read()), daemon=True)
        reader.start()
        return reader

    readers = [drained(proc.stdout), drained(proc.stderr)]
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            break
        tree_peak = max(tree_peak, _tree_rss(proc.pid))
        time.sleep(0.5)
    for reader in readers:
        reader.join()
    wall = time.perf_counter() - start
    stdout = next((c for c in collected if "RESULT" in c), collected[0] if collected else "")
    if proc.returncode:
        sys.exit(f"{engine} run failed:\n" + "\n".join(c[-5000:] for c in collected))
    print("\n".join(line for line in stdout.splitlines() if not line.startswith("RESULT")))
    result = json.loads(next(line for line in stdout.splitlines() if line.startswith("RESULT"))[7:])
    return {**result, "wall": wall, "peak_gb": usage.ru_maxrss / 1024**2, "tree_gb": tree_peak / 1024**3}


def _compared(polars_out: Path, spark_out: Path) -> str:
    a = pl.read_parquet(polars_out / "scores.parquet")
    b = pl.read_parquet(spark_out / "scores.parquet")
    same_ids = a.get_column("client_id").to_list() == b.get_column("client_id").to_list()
    if not same_ids:
        return f"DIFFERENT clients: polars {a.height:,}, spark {b.height:,}"
    diff = (a.get_column("churn_probability") - b.get_column("churn_probability")).abs().max()
    same = {c: a.get_column(c).equals(b.get_column(c)) for c in ("zone", "action", "driver_1_feature")}
    return f"same {a.height:,} clients, max |p difference| {diff:.2e}, same columns: {same}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("/tmp/scale/c100k_m13"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/churnml_bench_spark"))
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--train-clients", type=int, default=3000)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--skip-polars", action="store_true")
    opts = parser.parse_args()
    opts.work.mkdir(parents=True, exist_ok=True)
    model = _train(opts.work, opts.train_clients, opts.trees)
    runs = {}
    for engine in ("polars", "spark"):
        if engine == "polars" and opts.skip_polars:
            continue
        print(f"{engine}: scoring {opts.data} ...", flush=True)
        runs[engine] = _run(engine, opts.data, model, opts.work / f"scores_{engine}", opts.driver_memory)
    print(f"\nweekly list of {opts.data.name}, default config (26 history weeks), every client explained")
    for engine, r in runs.items():
        print(
            f"{engine:>7}: {r['wall']:7.1f} s wall ({r['seconds']:.1f} s in the job), peak RSS {r['peak_gb']:.1f} GB"
            f" (its Python process), {r['tree_gb']:.1f} GB (all its processes, sampled)"
        )
        steps = ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items() if k != "total")
        print(f"         steps (s): {steps}")
    if len(runs) == 2:
        print("lists:", _compared(opts.work / "scores_polars", opts.work / "scores_spark"))


if __name__ == "__main__":
    main()
