"""`--engine spark` without what Spark needs: one line saying what to install, no Java traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from churnml.jobs.score_spark import java_problem


@pytest.mark.parametrize(
    ("java_home", "on_path", "words"),
    [
        (None, None, "no Java runtime was found (JAVA_HOME is not set and no java is on the PATH)"),
        ("/opt/jdk8", None, "the Java runtime at /opt/jdk8 did not start Spark's gateway"),
        (None, "/usr/bin/java", "the Java runtime at /usr/bin/java did not start Spark's gateway"),
    ],
)
def test_the_java_problem_says_what_was_found(java_home, on_path, words) -> None:
    text = java_problem(java_home, on_path)
    assert text.startswith(f"Spark could not start: {words}.")
    assert "Java 17 or 21" in text


def test_a_broken_java_home_is_a_user_error(tmp_path) -> None:
    pytest.importorskip("pyspark")
    code = (
        "from churnml.jobs.common import UserError\n"
        "from churnml.jobs.score_spark import spark_session\n"
        "try:\n"
        "    spark_session('local[1]', driver_memory='512m')\n"
        "except UserError as exc:\n"
        "    print('USER ERROR:', exc)\n"
    )
    env = {"JAVA_HOME": str(tmp_path / "no-jdk"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert f"USER ERROR: Spark could not start: the Java runtime at {tmp_path / 'no-jdk'}" in out.stdout, (
        out.stdout + out.stderr[-2000:]
    )
