"""Benchmark of the feature build end to end: read + spine + features + write, with peak memory.

Usage: python tests/benchmarks/bench_features.py --clients 10000 [--months 24] [--data DIR] [--keep]

Generates a synthetic dataset with ``churnml.demo.synth`` in a child process (not timed, cached under
--data), then, in this process, reads it with ``churnml.contract.io.read_dataset``, builds the active spine of
every weekly snapshot (``churnml.labels``), builds all features and writes the Parquet table. Prints the
input rows, input rows per second end to end, wall time per step and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # all threads of this process
    return usage.ru_utime + usage.ru_stime


def _generate(clients: int, months: int, seed: int, raw: Path) -> None:
    code = (
        "from pathlib import Path; from churnml.demo.synth import SynthParams, write_synthetic_dataset; "
        f"write_synthetic_dataset(SynthParams(clients={clients}, months={months}, seed={seed}), "
        f"Path({str(raw)!r}), Path({str(raw.parent / 'truth')!r}))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=None, help="dataset cache folder (default: /tmp/...)")
    parser.add_argument("--keep", action="store_true", help="keep the generated data and the output")
    args = parser.parse_args()

    try:
        import churnml.demo.synth  # noqa: F401
    except ImportError:
        print("skipped: churnml.demo.synth is not available to generate the benchmark data")
        return
    from churnml.config import load_config
    from churnml.contract.io import read_dataset, write_parquet_atomic
    from churnml.features import build_features, feature_columns
    from churnml.labels import active_spine, snapshot_grid

    base = args.data or Path(tempfile.gettempdir()) / f"churnml_bench_features_{args.clients}x{args.months}"
    raw = base / "raw"
    if not (raw / "clients.parquet").exists():
        print(
            f"generating {args.clients:,} clients x {args.months} months into {raw} (not timed) ...",
            flush=True,
        )
        t = time.perf_counter()
        _generate(args.clients, args.months, args.seed, raw)
        print(f"  generated in {time.perf_counter() - t:,.1f} s", flush=True)

    cfg = load_config(None, [])
    steps: dict[str, tuple[float, float]] = {}  # step -> (wall s, CPU s)
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    dataset = read_dataset(raw, cfg.data)
    steps["read"] = (time.perf_counter() - t0, _cpu_seconds() - cpu0)
    rows = dataset.row_counts()

    t, c = time.perf_counter(), _cpu_seconds()
    snapshots = snapshot_grid(cfg.snapshots, dataset.start, dataset.as_of)
    spine = active_spine(dataset, snapshots, cfg.label)
    steps["spine"] = (time.perf_counter() - t, _cpu_seconds() - c)

    t, c = time.perf_counter(), _cpu_seconds()
    last = [t, c]

    def progress(name: str) -> None:
        now, cpu = time.perf_counter(), _cpu_seconds()
        steps[f"  {name}"] = (now - last[0], cpu - last[1])
        last[:] = [now, cpu]

    table = build_features(dataset, spine, cfg.features, progress=progress)
    steps["features"] = (time.perf_counter() - t, _cpu_seconds() - c)

    t, c = time.perf_counter(), _cpu_seconds()
    out = base / "features.parquet"
    write_parquet_atomic(table, out)
    steps["write"] = (time.perf_counter() - t, _cpu_seconds() - c)
    wall = time.perf_counter() - t0

    total = sum(n for name, n in rows.items() if name != "churns")
    print(
        f"input          {args.clients:,} clients x {args.months} months; {len(snapshots)} weekly snapshots"
    )
    for name, n in rows.items():
        print(f"  {name:<16} {n:>14,} rows")
    print(f"  {'input total':<16} {total:>14,} rows (churns excluded: labels only)")
    print(
        f"output         {table.height:,} rows x {len(feature_columns(table))} features "
        f"({out.stat().st_size / 1e6:,.0f} MB Parquet)"
    )
    print(f"  {'step':<16} {'wall s':>8} {'CPU s':>8}")
    for name, (sec, cpu) in steps.items():
        print(f"  {name:<16} {sec:>8.2f} {cpu:>8.2f}")
    print(f"wall time      {wall:,.2f} s (read + spine + features + write)")
    print(f"throughput     {total / wall:,.0f} input rows/s end to end")
    print(f"CPU time       {_cpu_seconds() - cpu0:,.2f} s (all threads; the machine may be shared)")
    print(f"load average   {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} cores")
    print(f"peak RSS       {_peak_rss_mb():,.0f} MB")
    if not args.keep and args.data is None:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
