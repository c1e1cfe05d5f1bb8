"""Benchmark of the synthetic CRM generator: wall time, rows per table, peak memory.

Usage: python tests/benchmarks/bench_generate.py --clients 10000 --months 24 [--out /tmp/churnml_bench] [--keep]

Writes the dataset under --out (deleted afterwards unless --keep) and prints the figures.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from pathlib import Path

from churnml.demo.synth import CHUNK_CLIENTS, SynthParams, write_synthetic_dataset


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("/tmp/churnml_bench_generate"))
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()

    params = SynthParams(clients=args.clients, months=args.months, seed=args.seed)
    raw, truth = args.out / "raw", args.out / "truth"
    started = time.perf_counter()
    last = [started]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if done == 1 or done == total or done % 10 == 0:
            elapsed, step = now - started, now - last[0]
            rss = _peak_rss_mb()
            print(
                f"  chunk {done}/{total}  {elapsed:7.1f}s  (+{step:.1f}s)  peak RSS {rss:,.0f} MB", flush=True
            )
        last[0] = now

    print(f"generating {params.clients:,} clients x {params.months} months in chunks of {CHUNK_CLIENTS:,}")
    rows = write_synthetic_dataset(params, raw, truth, on_chunk=progress)
    wall = time.perf_counter() - started
    size = sum(p.stat().st_size for p in args.out.rglob("*.parquet"))
    print(f"wall time      {wall:,.1f} s")
    print(f"peak RSS       {_peak_rss_mb():,.0f} MB")
    print(f"files on disk  {size / 1e6:,.0f} MB")
    total = 0
    for name, n in rows.items():
        print(f"  {name:<16} {n:>14,} rows")
        total += n if not name.startswith("truth/") else 0
    print(f"  {'input total':<16} {total:>14,} rows  ({total / wall:,.0f} rows/s)")
    if not args.keep:
        shutil.rmtree(args.out, ignore_errors=True)


if __name__ == "__main__":
    main()
