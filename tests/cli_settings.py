"""`--set` overrides that make the CLI's train/score steps fast on tiny generated data (tests only)."""

from __future__ import annotations

from collections.abc import Iterable

FAST_TRAIN = (
    "label.horizon_days=28",
    "snapshots.min_history_days=28",
    "train.folds=2",
    "train.test_days=28",
    "train.min_train_days=14",
    "train.early_stopping_rounds=10",
    "train.lightgbm.n_estimators=40",
    "train.lightgbm.learning_rate=0.2",
    "train.n_jobs=1",
    "train.cross_fit_parts=2",  # 2 cross-fitted models, not 5: the jobs are tested here, not the cross-fitting
)


def set_flags(settings: Iterable[str]) -> list[str]:
    """``["--set", s1, "--set", s2, ...]`` for a CLI invocation."""
    return [arg for setting in settings for arg in ("--set", setting)]
