"""churnml: spot customers about to leave early enough to keep them, and plan the return of those who left.

The Python API (:mod:`churnml.api`) is importable from here; its modules load on first use, so that
``import churnml`` (and the CLI's start) stays light::

    import churnml
    run = churnml.score("data/raw", "churnml.yaml")
"""

from __future__ import annotations

from typing import Any

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
