"""Figures of a training run (matplotlib, Agg backend): each function returns a ``Figure``.

- :func:`importance_figure`: LightGBM gain per feature (top N);
- :func:`calibration_figure`: mean predicted vs observed churn rate per decile, per contender;
- :func:`gain_figure`: cumulative gain and lift by share of clients contacted, per contender;
- :func:`shap_summary_figure`: ``shap.summary_plot`` of LightGBM's exact TreeSHAP contributions.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from churnml.modeling.train import ChurnModel

__all__ = ["calibration_figure", "gain_figure", "importance_figure", "shap_summary_figure"]


def importance_figure(model: ChurnModel, top: int = 25) -> Figure:
    gain = model.feature_importance("gain").head(top)[::-1]
    fig, ax = plt.subplots(figsize=(8, max(3, 0.28 * len(gain) + 1)))
    ax.barh(gain.index, gain.to_numpy())
    ax.set_xlabel("total gain")
    ax.set_title(f"Feature importance (top {len(gain)} by gain)")
    fig.tight_layout()
    return fig


def calibration_figure(tables: Mapping[str, pd.DataFrame]) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 6))
    top = 0.0
    for name, table in tables.items():
        ax.plot(table["mean_predicted"], table["observed_rate"], marker="o", label=name)
        top = max(top, float(table["mean_predicted"].max()), float(table["observed_rate"].max()))
    ax.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1, label="perfect")
    ax.set_xlabel("mean predicted probability (decile)")
    ax.set_ylabel("observed churn rate")
    ax.set_title("Calibration on the test period")
    ax.legend()
    fig.tight_layout()
    return fig


def gain_figure(gains: Mapping[str, pd.DataFrame]) -> Figure:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name, g in gains.items():
        left.plot(g["share_contacted"], g["share_churners_found"], label=name)
        right.plot(g["share_contacted"], g["lift"], label=name)
    left.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="random")
    left.set_xlabel("share of clients contacted (highest risk first)")
    left.set_ylabel("share of churners found")
    left.set_title("Cumulative gain")
    right.axhline(1, color="grey", linestyle="--", linewidth=1)
    right.set_xlabel("share of clients contacted")
    right.set_ylabel("lift")
    right.set_title("Lift")
    left.legend()
    fig.tight_layout()
    return fig


def shap_summary_figure(model: ChurnModel, X: pd.DataFrame, max_rows: int = 2000, seed: int = 0) -> Figure:
    """SHAP summary (beeswarm) of the model on up to ``max_rows`` rows of ``X``."""
    import shap

    sample = X.sample(n=min(len(X), max_rows), random_state=seed) if len(X) > max_rows else X
    values = model.contributions(sample)[:, :-1]
    data = sample[model.feature_names_].to_numpy(dtype=float, na_value=np.nan)
    fig = plt.figure(figsize=(9, 8))  # shap draws on the current figure: give it a fresh one
    with warnings.catch_warnings():
        # a feature without a value in the sample (a 182-day window of a 4-month log) is drawn grey; shap's
        # colour scale asks numpy for its percentiles first, which warns on the terminal of `churnml train`
        warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
        shap.summary_plot(
            values,
            data,
            feature_names=model.feature_names_,
            show=False,
            max_display=20,
            plot_size=None,
            rng=np.random.default_rng(seed),  # the beeswarm jitter; also keeps shap off the global RNG
        )
    fig.suptitle("SHAP summary (TreeSHAP, log-odds)")
    fig.tight_layout()
    return fig
