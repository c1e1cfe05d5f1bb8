"""churnml.scoring.sentences.formatted: pl.format's text, also over columns held in uneven chunks."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from churnml.scoring.sentences import formatted


def _uneven() -> pl.DataFrame:
    # b lies in two chunks of 3 where a and c lie in one of 6: a filter keeping rows of b's second chunk only
    # leaves it an empty first chunk, over which pl.format panicked in Polars 2.1
    b = pl.concat([pl.Series("b", [1, 2, 3]), pl.Series("b", [4, 5, 6])], rechunk=False)
    return pl.DataFrame([pl.Series("a", [1, 2, 3, 4, 5, 6]), b, pl.Series("c", ["x"] * 6)])


def test_formatted_reads_columns_held_in_uneven_chunks() -> None:
    kept = _uneven().filter(pl.col("a") > 4)
    assert kept.n_chunks("all") == [1, 2, 1]
    out = kept.select(formatted("{} of {}", "b", pl.col("c")).alias("said"))
    assert out.get_column("said").to_list() == ["5 of x", "6 of x"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, None, 3], ["was 1 days", None, "was 3 days"]),
        ([1.5, 2.0, 1 / 3], ["was 1.5 days", "was 2.0 days", "was 0.3333333333333333 days"]),
        (["a", None, "c"], ["was a days", None, "was c days"]),
        ([date(2026, 1, 2)] * 3, ["was 2026-01-02 days"] * 3),
        ([datetime(2026, 1, 2, 3, 4)] * 3, ["was 2026-01-02 03:04:00.000000 days"] * 3),
        ([True, False, None], ["was true days", "was false days", None]),
    ],
)
def test_formatted_writes_what_pl_format_writes(values: list, expected: list) -> None:
    frame = pl.DataFrame({"v": values})
    out = frame.select(formatted("was {} days", "v").alias("said")).get_column("said")
    assert out.to_list() == expected
    assert out.to_list() == frame.select(pl.format("was {} days", "v")).to_series().to_list()


def test_formatted_counts_its_slots() -> None:
    with pytest.raises(ValueError, match=r"'\{\} and \{\}' has 2 slots for 1 arguments"):
        formatted("{} and {}", "v")
    assert pl.DataFrame({"v": [1]}).select(formatted("no slot")).item() == "no slot"


def test_no_module_calls_pl_format() -> None:
    # one way to write a column into a text: a new pl.format call could panic on a list's uneven chunks
    from pathlib import Path

    import churnml

    root = Path(churnml.__file__).parent
    calls = sorted(str(p.relative_to(root)) for p in root.rglob("*.py") if "pl.format(" in p.read_text())
    assert calls == []
