"""What every job shares: the error a user can fix, a wall-time step timer, the input folder."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from churnml.config import Config

__all__ = ["Timer", "UserError", "data_folder"]


class UserError(Exception):
    """A failure the user can fix; the CLI prints it as one line, exit code 1."""


class Timer:
    """Wall time of named steps, for manifests and the final summary line."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t0 = time.perf_counter()

    def step(self, name: str) -> Callable[[], None]:
        start = time.perf_counter()

        def done() -> None:
            self.seconds[name] = round(time.perf_counter() - start, 3)

        return done

    def total(self) -> float:
        return round(time.perf_counter() - self._t0, 3)


def data_folder(data: Path | None, cfg: Config) -> Path:
    """The input dataset folder: ``--data``, else ``paths.data``."""
    return data if data is not None else cfg.paths.data
