"""Training-run figures: each is its own figure (SHAP must not draw into the previous one)."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest

from churnml.config import TrainConfig
from churnml.modeling import plots
from churnml.modeling.experiment import train_and_compare

from .conftest import HORIZON, labeled_table


@pytest.fixture(scope="module")
def trained():
    """A small model and its comparison: the figures' input."""
    cfg = TrainConfig(
        folds=2,
        test_days=56,
        min_train_days=28,
        min_isotonic_positives=50,
        early_stopping_rounds=10,
        lightgbm={"n_estimators": 30, "learning_rate": 0.2, "num_leaves": 7},
        n_jobs=1,
    )
    return train_and_compare(labeled_table(n_clients=120), cfg, HORIZON)


def test_every_figure_is_separate_and_labelled(trained):
    result = trained
    gain = plots.gain_figure(result.gains)
    shap_fig = plots.shap_summary_figure(result.model, result.X_sample, max_rows=200)
    calib = plots.calibration_figure(result.calibration)
    importance = plots.importance_figure(result.model)
    assert len({id(gain), id(shap_fig), id(calib), id(importance)}) == 4
    assert [ax.get_title() for ax in gain.axes] == ["Cumulative gain", "Lift"]  # untouched by SHAP
    assert shap_fig.axes[0].get_xlabel().startswith("SHAP value")
    assert {t.get_text() for t in calib.axes[0].get_legend().get_texts()} == {"model", "logistic", "perfect"}
    for fig in (gain, shap_fig, calib, importance):
        plt.close(fig)


def test_shap_summary_of_a_feature_without_values_warns_nothing(trained):
    """A window longer than the data (182 days of a 4-month shop) has no value in any row: the beeswarm
    draws it grey, and `churnml train` printed numpy's 'All-NaN slice encountered' before."""
    result = trained
    sample = result.X_sample.copy()
    empty = result.model.feature_names_[0]
    sample[empty] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plots.shap_summary_figure(result.model, sample, max_rows=200)
    assert fig.axes[0].get_xlabel().startswith("SHAP value")
    plt.close(fig)
