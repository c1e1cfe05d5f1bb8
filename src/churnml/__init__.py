"""churnml: spot customers about to leave early enough to keep them, and plan the return of those who left.

The Python API (:mod:`churnml.api`) is importable from here; its modules load on first use, so that
``import churnml`` (and the CLI's start) stays light::

    import churnml
    run = churnml.score("data/raw", "churnml.yaml")
"""

from __future__ import annotations

import os
from typing import Any

# LightGBM's OpenMP threads busy-wait at every barrier by default (libgomp spins up to 300,000 times before it
# sleeps): on a machine whose cores are taken by anything else (another job, a test worker, a Spark
# executor) each boosting round then waits out the other thread's time slice. A cross-fitted train of 300
# generated clients with 2 threads took 449 s of rounds at load 6 on 2 cores, 8.3 s with passive waiting.
# Set before lightgbm loads OpenMP; a value of the user's own (OMP_WAIT_POLICY=active) wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "labeled_feature_table",
    "load_config",
    "load_model",
    "read_dataset",
    "score",
    "snapshot_feature_table",
    "train",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from churnml import api

        return getattr(api, name)
    raise AttributeError(f"module 'churnml' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
