"""Fixtures shared by the test files: one local Spark session per test worker."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

import churnml  # noqa: F401  (sets OMP_WAIT_POLICY before a test module loads LightGBM's OpenMP)

# The tests' Spark JVMs (small heaps, two of them on a 2-core machine beside the test workers) collect garbage
# with the serial collector: test_engine_parity's Spark case took 154 and 171 CPU-s against 171 and 199 with
# the default G1, run alternately (2026-12-06). A choice for the test runs only (churnml's own sessions keep
# the JVM's default); a JDK_JAVA_OPTIONS already set is kept.
os.environ.setdefault("JDK_JAVA_OPTIONS", "-XX:+UseSerialGC")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The local Spark session every Spark test of a worker shares (2 cores, a 2 GB driver, 2 shuffle
    partitions), started by churnml's own ``spark_session`` as ``churnml score --engine spark`` starts it:
    one JVM started and warmed once per worker, not once per file. Skips without pyspark or a Java runtime."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no JVM")
    from churnml.jobs.score_spark import spark_session

    session = spark_session("local[2]", driver_memory="2g")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    yield session
    session.stop()


# The files whose tests take minutes, longest first (`pytest --durations`, 2026-12-06, two workers: the Spark
# scoring file 3-4 min, the parity, Spark read and feature files and test_train_cli 1-3 min): run first, so
# that under `pytest -n` no worker is left alone with one at the end. `make test` and `make test-spark` pass
# --no-loadscope-reorder, else xdist queues the files with
# the most tests first, which puts these few-test files last.
_LONGEST_FIRST = (
    "test_score_spark.py",
    "test_engine_parity.py",
    "test_score_spark_buckets.py",
    "test_spark_read.py",
    "test_feat_usage_spark.py",
    "test_train_cli.py",
)


def _start_rank(item: pytest.Item) -> tuple[int, int]:
    """Where an item's file starts: the files of ``_LONGEST_FIRST`` in its order, then the other Spark and
    slow files, then the rest (each group in collection order: the sort is stable)."""
    name = item.path.name
    if name in _LONGEST_FIRST:
        return (0, _LONGEST_FIRST.index(name))
    if item.get_closest_marker("spark") or item.get_closest_marker("slow"):
        return (1, 0)
    return (2, 0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # a test that starts the Spark session is a Spark test (``make test-spark``; ``make test`` leaves them out),
    # marked or not: the marker is read from the fixtures a test asks for, not remembered by hand
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()) and item.get_closest_marker("spark") is None:
            item.add_marker(pytest.mark.spark)
    items.sort(key=_start_rank)
