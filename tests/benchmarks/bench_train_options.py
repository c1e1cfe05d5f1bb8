"""Backtest figures of one way of building the training table: the float64 whole table (before) or the
float32 training table (batch by batch when large), with any config overrides (e.g. sampling).

Usage: python tests/benchmarks/bench_train_options.py DATA {f64|f32} [key=value ...]
e.g.   python tests/benchmarks/bench_train_options.py data/raw f32 train.max_train_rows=20000

Runs ``train_and_compare`` (no tuning, no oracle) and prints the table and training times, the peak RSS,
the model's PR-AUC per fold, the mean and spread of every contender and the rounds.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

from churnml.config import load_config
from churnml.contract.io import read_dataset
from churnml.jobs.batches import training_table
from churnml.jobs.inputs import labeled_table
from churnml.labels import label_lag_days
from churnml.modeling.experiment import feature_columns, fold_summary, train_and_compare
from churnml.modeling.train import monotone_directions


def main() -> None:
    data, which, sets = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    cfg = load_config(None, sets)
    t = time.perf_counter()
    if which == "f64":
        table, unlabeled = labeled_table(read_dataset(data, cfg.data), cfg), 0
    else:
        _, built = training_table(data, cfg)
        table, unlabeled = built.frame, built.unlabeled
    built_s = time.perf_counter() - t
    monotone = monotone_directions(feature_columns(table), cfg.features)
    t = time.perf_counter()
    r = train_and_compare(
        table,
        cfg.train,
        cfg.label.horizon_days,
        None,
        None,
        None,
        label_lag_days(cfg.label),
        monotone,
        unlabeled,
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{which} {sets} table {built_s:.1f}s train {time.perf_counter() - t:.1f}s peak {peak:.0f} MB")
    print(r.backtest.fold_metrics.query("contender == 'model'")[["fold", "pr_auc"]].to_string(index=False))
    print(fold_summary(r.backtest).to_string())
    print(r.rows, r.rounds_source)


if __name__ == "__main__":
    main()
