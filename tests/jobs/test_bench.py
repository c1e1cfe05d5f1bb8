"""The bench job's markdown splicing: a dataset's section is replaced in place or appended once."""

from __future__ import annotations

import pytest

from churnml.jobs.bench import BENCH_HEADING, spliced_markdown


def test_a_new_file_gets_the_title_the_heading_and_the_section() -> None:
    text = spliced_markdown(None, "table A\n", "raw")
    assert text == (
        "# Benchmarks\n\n"
        f"{BENCH_HEADING}\n\n"
        "<!-- bench models: raw -->\ntable A\n<!-- /bench models: raw -->\n"
    )


def test_a_rerun_replaces_only_its_own_section() -> None:
    first = spliced_markdown(spliced_markdown(None, "table A\n", "raw"), "table R\n", "retail")
    again = spliced_markdown(first + "\nnotes after\n", "table A2\n", "raw")
    assert again == (
        "# Benchmarks\n\n"
        f"{BENCH_HEADING}\n\n"
        "<!-- bench models: raw -->\ntable A2\n<!-- /bench models: raw -->\n\n"
        "<!-- bench models: retail -->\ntable R\n<!-- /bench models: retail -->\n"
        "\nnotes after\n"
    )


def test_an_existing_heading_is_not_repeated() -> None:
    text = spliced_markdown(f"# Benchmarks\n\n{BENCH_HEADING}\n\nintro\n", "table A\n", "raw")
    assert text.count(BENCH_HEADING) == 1
    assert text.endswith("intro\n\n<!-- bench models: raw -->\ntable A\n<!-- /bench models: raw -->\n")


def test_bench_models_edits_only_a_markdown_file_it_wrote(tmp_path):
    from churnml.jobs.bench import checked_bench_file
    from churnml.jobs.common import UserError

    assert checked_bench_file(tmp_path / "new.md") is None  # created
    ours = tmp_path / "benchmarks.md"
    ours.write_text(spliced_markdown(None, "table A\n", "raw"))
    assert checked_bench_file(ours) == ours.read_text()
    readme = tmp_path / "README.md"
    readme.write_text("# My project\n")
    with pytest.raises(UserError, match="holds no section written by churnml bench models"):
        checked_bench_file(readme)
    assert readme.read_text() == "# My project\n"
    with pytest.raises(UserError, match="is a folder"):
        checked_bench_file(tmp_path)


@pytest.mark.slow
def test_bench_models_judges_the_table_and_model_train_judges(tmp_path):
    """`bench models` reads the labeled table `train` learns from (float32, jobs.batches) and builds its
    churnml as `train` builds the model: its figure at each cutoff is the one `train`'s backtest prints."""
    from churnml.config import load_config
    from churnml.demo.synth import SynthParams, write_synthetic_dataset
    from churnml.jobs.batches import training_table
    from churnml.jobs.bench import bench_models
    from churnml.labels import label_lag_days
    from churnml.modeling.experiment import feature_columns, train_and_compare
    from churnml.modeling.train import monotone_directions
    from cli_settings import FAST_TRAIN

    write_synthetic_dataset(SynthParams(clients=250, months=8, seed=3), tmp_path / "raw", tmp_path / "truth")
    cfg = load_config(None, [*FAST_TRAIN, "label.source=subscriptions"])
    bench = bench_models(tmp_path / "raw", cfg, cfg.train, None, "own", "tiny", tmp_path / "b.md", "cmd")
    churnml = bench.scores[bench.scores["method"] == "churnml"]

    _, labeled = training_table(tmp_path / "raw", cfg)
    monotone = monotone_directions(feature_columns(labeled.frame), cfg.features)
    trained = train_and_compare(
        labeled.frame,
        cfg.train,
        cfg.label.horizon_days,
        lag_days=label_lag_days(cfg.label),
        monotone=monotone,
    )
    model = trained.backtest.fold_metrics.query("contender == 'model'")
    assert len(churnml) == len(model) == 2
    assert churnml["pr_auc"].tolist() == pytest.approx(model["pr_auc"].tolist(), abs=1e-12)
