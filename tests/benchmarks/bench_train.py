"""Benchmark of `churnml train` on generated data: the comparison table, the quality bar, the times.

Usage: python tests/benchmarks/bench_train.py [--clients 2000 --months 24 --seed 42] [--data DIR --truth DIR]
       [--work /tmp/churnml_bench_train] [--set key=value ...]

Generates the demo dataset under --work (unless --data is given), trains with a fresh MLflow store and
model folder under --work, and prints the figures the issue's quality bar checks:
model PR-AUC >= 85% of the oracle's, >= 2x the rules', > the logistic regression's; model Brier below
the baselines'; wall time of the whole train job.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from churnml.config import load_config
from churnml.contract.io import read_dataset
from churnml.demo.synth import SynthParams, write_synthetic_dataset
from churnml.modeling.experiment import comparison_markdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--truth", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=Path("/tmp/churnml_bench_train"))
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    data, truth = args.data, args.truth
    if data is None:
        data, truth = args.work / "raw", args.work / "truth"
        t0 = time.perf_counter()
        write_synthetic_dataset(
            SynthParams(clients=args.clients, months=args.months, seed=args.seed), data, truth
        )
        print(f"generated {args.clients} clients x {args.months} months in {time.perf_counter() - t0:.1f}s")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{args.work / 'mlflow.db'}"
    cfg = load_config(None, [f"paths.tune={args.work / 'tune'}", *args.overrides])

    from churnml.jobs.train import run_training

    started = time.perf_counter()
    dataset = read_dataset(data, cfg.data)
    summary = run_training(dataset, cfg, truth, args.work / "models", progress=lambda m: print(f"  .. {m}"))
    wall = time.perf_counter() - started
    res = summary.result
    m = res.metrics
    print()
    print(comparison_markdown(m))
    print(f"backtest: {res.plan.summary()}; rows {res.rows}; training window {res.training_window}")
    print(
        f"rounds {res.rounds_source}; calibration {res.model.calibrator_.method_} on {res.calibration_source}"
    )
    model = m.loc["model"]
    checks = []
    if "oracle" in m.index:
        ratio = model["pr_auc"] / m.loc["oracle", "pr_auc"]
        checks.append((f"PR-AUC model/oracle = {ratio:.3f}", ratio >= 0.85))
    if "rules" in m.index:
        ratio = model["pr_auc"] / m.loc["rules", "pr_auc"]
        checks.append((f"PR-AUC model/rules = {ratio:.2f}", ratio >= 2))
    checks.append(
        (
            f"PR-AUC model {model['pr_auc']:.4f} vs logistic {m.loc['logistic', 'pr_auc']:.4f}",
            model["pr_auc"] > m.loc["logistic", "pr_auc"],
        )
    )
    for base in ("logistic", "rules"):
        if base in m.index:
            checks.append(
                (
                    f"Brier model {model['brier']:.4f} vs {base} {m.loc[base, 'brier']:.4f}",
                    model["brier"] < m.loc[base, "brier"],
                )
            )
    checks.append((f"train wall time {wall:.1f}s (read + features + train + MLflow + export)", wall < 300))
    for text, ok in checks:
        print(f"  [{'ok' if ok else 'MISS'}] {text}")
    print(f"steps: {summary.seconds}")


if __name__ == "__main__":
    main()
