"""Fixtures shared by the test files: one local Spark session per test worker."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

import churnml  # noqa: F401  (sets OMP_WAIT_POLICY before a test module loads LightGBM's OpenMP)


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
