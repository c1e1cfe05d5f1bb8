"""Benchmark exact TreeSHAP on a portfolio: pattern-wise (churnml.modeling.treeshap) against plain pred_contrib.

    python tests/benchmarks/bench_treeshap.py --clients 100000

Uses the generated data and the model of ``bench_score.py`` (same ``--work`` folder; created when
missing), builds the features of every active client at the last as-of date, then explains them twice:
once with :func:`churnml.modeling.treeshap.tree_contributions`, once with one plain LightGBM
``pred_contrib`` call. Prints both wall times, the single-tree evaluations and the largest difference.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))

from bench_score import prepared  # a sibling script, not a package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--train-clients", type=int, default=3_000)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--work", type=Path, default=None)
    opts = parser.parse_args()
    work = opts.work or Path("data/bench") / f"score-{opts.clients}x{opts.months}"
    raw, model_dir = prepared(work, opts)

    from churnml.config import load_config
    from churnml.contract.io import read_dataset
    from churnml.demo.synth import SynthParams
    from churnml.modeling.export import load_exported
    from churnml.modeling.treeshap import tree_contributions
    from churnml.pipeline import snapshot_feature_table

    cfg = load_config()
    dataset = read_dataset(raw, cfg.data)
    model, _ = load_exported(model_dir)
    end = SynthParams(clients=opts.clients, months=opts.months, seed=opts.seed).end
    as_of = end if isinstance(end, date) else end.date()
    table = snapshot_feature_table(dataset, as_of, cfg.label, cfg.features)
    X = table.select(model.feature_names_).cast(pl.Float64).to_numpy(order="c")
    del dataset, table
    booster, trees = model.booster_, model.best_iteration_

    start = time.perf_counter()
    fast = tree_contributions(booster, X, trees, n_jobs=cfg.train.n_jobs)
    fast_s = time.perf_counter() - start
    start = time.perf_counter()
    plain = booster.predict(X, num_iteration=trees, pred_contrib=True)
    plain_s = time.perf_counter() - start
    print(
        f"treeshap: {len(X):,} clients x {trees} trees at {as_of}: pattern-wise {fast_s:.1f}s "
        f"({fast.tree_evaluations:,} single-tree evaluations instead of {len(X) * trees:,}; "
        f"{fast.recomputed_rows} rows recomputed), plain pred_contrib {plain_s:.1f}s, "
        f"speed-up {plain_s / fast_s:.1f}x, largest difference {np.abs(fast.values - plain).max():.1e}"
    )


if __name__ == "__main__":
    main()
