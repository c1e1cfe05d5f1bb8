"""``churnml score`` checks the model before it reads any data, on both engines: a missing model is said at
once, not after a minute of reading a large export."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnml.config import load_config
from churnml.jobs.score import score
from churnml.scoring.outputs import OutputError


@pytest.fixture
def unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder whose tables would fail to read (not Parquet at all), in a project without a tracking
    store: the model's absence is what must be said."""
    folder = tmp_path / "crm"
    folder.mkdir()
    for table in ("clients", "events"):
        (folder / f"{table}.parquet").write_bytes(b"not a parquet file")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return folder


@pytest.mark.parametrize("engine", ["polars", "spark"])
def test_a_missing_model_is_said_before_the_data_is_read(
    unreadable: Path, tmp_path: Path, engine: str
) -> None:
    cfg = load_config(None)
    cfg = cfg.model_copy(
        update={
            "paths": cfg.paths.model_copy(update={"models": tmp_path / "models"}),
            "features": cfg.features.model_copy(update={"engine": engine}),
        }
    )
    # the Spark session would start after the model is loaded: none is needed to get this error
    with pytest.raises(FileNotFoundError, match=r"model folder .*models does not exist"):
        score(unreadable, cfg, None, tmp_path / "out", None)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("engine", ["polars", "spark"])
def test_the_default_list_folder_inside_the_dataset_is_refused_before_the_model(
    unreadable: Path, engine: str
) -> None:
    # its date comes with the data, its place (paths.scores) does not: refused before the model is looked for
    cfg = load_config(None)
    cfg = cfg.model_copy(
        update={
            "paths": cfg.paths.model_copy(
                update={"scores": unreadable / "scores", "models": Path("nowhere")}
            ),
            "features": cfg.features.model_copy(update={"engine": engine}),
        }
    )
    with pytest.raises(OutputError, match=r"the list folder \(paths\.scores\) .*<as-of date> lies inside"):
        score(unreadable, cfg, None, None, None)
