"""The champion gate: the ``champion`` alias moves only on backtest evidence.

A challenger is promoted when, judged by its PR-AUC averaged over the backtest folds (each fold's
ranking on its own test window: fold models are calibrated separately, so a pooled ranking would mix
their scales):

1. there is a backtest at all (no out-of-time estimate: no evidence, no promotion), and it is credible:
   a mean PR-AUC at or above ``train.max_credible_pr_auc`` (0.98) is what a column holding the future
   gives, not what churn data does. It is measured above the churn rate of the test rows (any ranking
   scores the rate: :func:`pr_auc_above_rate`), so a shop where nearly every customer leaves is not
   refused for its base rate. The same bound holds for any one feature ranking the test rows by itself
   (:func:`churnml.modeling.experiment.lone_feature_pr_auc`): a leak is refused even when the model
   uses it only in part;
2. it beats every simple baseline present (``logistic`` and ``rules``) on PR-AUC — a model that loses
   to them is never promoted;
3. it is at least as good as the current champion's *procedure* (its parameters refit fold by fold on
   the same rows; a champion judged on rows it was trained on would always win). Ties go to the
   challenger: the same procedure on newer data has seen the latest labels. A *new recipe* (other
   parameters, e.g. from ``churnml tune``, or other features) trained on no newer labels than the
   champion's must beat it by ``train.champion_margin`` (a tuned model was promoted on +0.0007 of one
   fold: the best of several trials on the same folds wins by chance; every change of model changes the
   list the team works); with newer labels it is promoted unless the champion's procedure beats it by
   that margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "GATE_BASELINES",
    "TOO_GOOD",
    "Verdict",
    "baselines_refusal",
    "baselines_verdict_text",
    "beaten_baselines",
    "pr_auc_above_rate",
    "verdict",
]

# How a refusal for a backtest too good to be true begins (the score job refuses such an exported model).
TOO_GOOD = "too good to be true"

GATE_BASELINES = ("logistic", "rules")


@dataclass(frozen=True)
class Verdict:
    """Whether the challenger takes the ``champion`` alias, and why in one sentence."""

    promoted: bool
    reason: str
    too_good: bool = False  # refused as too good to be true (``max_credible``): a leak is likely


def pr_auc_above_rate(pr_auc: float, rate: float) -> float:
    """How far a PR-AUC stands between the churn rate (what a random ranking scores) and 1:
    ``(pr_auc - rate) / (1 - rate)``; the PR-AUC itself when the rate is unknown or 1. At a 5% churn rate
    0.98 stays 0.979; at 97.5% (a marketplace where nearly every customer buys once) 0.989 is 0.56."""
    if not (0.0 <= rate < 1.0) or math.isnan(rate):
        return pr_auc
    return (pr_auc - rate) / (1.0 - rate)


def fold_mean(metric: str) -> str:
    """How the gate's figure is said: the mean over the backtest folds ("mean fold PR-AUC"), not the pooled
    figure ``train`` prints beside it."""
    return f"mean fold {_METRIC_NAMES.get(metric, metric)}"


_METRIC_NAMES = {"pr_auc": "PR-AUC", "roc_auc": "ROC-AUC", "brier": "Brier"}


def _too_good(
    metric: str, score: float, where: str, aside: str, rate: float, max_credible: float
) -> Verdict | None:
    """The refusal of a score (the model's, or one feature's alone: ``where`` says which) at or above
    ``max_credible`` once measured above the churn rate ``rate``; None below it. ``aside`` is added
    inside the bracket that names the bound."""
    credible = pr_auc_above_rate(score, rate)
    if credible < max_credible:
        return None
    above = f", {credible:.4f} of the way from the churn rate {rate:.3f} to 1" if credible != score else ""
    return Verdict(
        False,
        f"{TOO_GOOD}: {fold_mean(metric)} {score:.4f} {where}{above} (train.max_credible_pr_auc "
        f"{max_credible:g}{aside}); a column likely holds the future (see the note on what the model leans on)",
        too_good=True,
    )


def baselines_refusal(
    metrics: pd.DataFrame,
    metric: str = "pr_auc",
    max_credible: float | None = None,
    lone: tuple[str, float] | None = None,
) -> Verdict | None:
    """The gate's refusal that does not depend on the champion (points 1 and 2 of the module docstring: no
    out-of-time estimate, too good to be true, or losing to a baseline), or None when the model passes them
    and only the champion's procedure (point 3) is left to judge. Known as soon as the backtest ends, so
    ``train`` says it before the long deployed fit. Arguments as :func:`verdict`'s."""
    if metrics.empty or "model" not in metrics.index:
        return Verdict(
            False, "no out-of-time estimate yet: the champion alias moves only on backtest evidence"
        )
    score = float(metrics.loc["model", metric])
    said = fold_mean(metric)
    known = metric == "pr_auc" and "base_rate" in metrics.columns
    rate = float(metrics.loc["model", "base_rate"]) if known else float("nan")
    if max_credible is not None:
        refused = _too_good(metric, score, "on the backtest", "", rate, max_credible)
        if refused is None and lone is not None and metric == "pr_auc":
            feature, alone = lone
            where = f"of {feature} alone on the backtest's test rows"
            refused = _too_good(metric, alone, where, f"; the model {score:.4f}", rate, max_credible)
        if refused is not None:
            return refused
    for name in GATE_BASELINES:
        if name in metrics.index:
            other = float(metrics.loc[name, metric])
            if not score > other:
                return Verdict(
                    False,
                    f"not above the {name} baseline on the backtest ({said} {score:.4f} vs {other:.4f}; the "
                    "gate asks a mean above it, whether or not the evidence line calls the gap a tie)",
                )
    return None


def beaten_baselines(metrics: pd.DataFrame, metric: str = "pr_auc") -> str:
    """The gate's baselines present in ``metrics`` with their figure ("logistic 0.4120, rules 0.2012"), as
    the verdict says them beaten."""
    return ", ".join(f"{n} {float(metrics.loc[n, metric]):.4f}" for n in GATE_BASELINES if n in metrics.index)


def baselines_verdict_text(
    metrics: pd.DataFrame,
    metric: str = "pr_auc",
    max_credible: float | None = None,
    lone: tuple[str, float] | None = None,
) -> str:
    """What ``train`` says of the gate when the backtest ends, before the deployed fit: the refusal of
    :func:`baselines_refusal` ("NOT promoted, whatever the champion: not above the logistic baseline ...": said as what the
    gate asks, a mean above theirs, since the evidence line printed before it may call the same gap a tie), or
    that the model's mean is above the baselines' and the champion's procedure is judged after the deployed
    fit."""
    refused = baselines_refusal(metrics, metric, max_credible, lone)
    if refused is not None:
        return f"NOT promoted, whatever the champion: {refused.reason}"
    said = f"{fold_mean(metric)} {float(metrics.loc['model', metric]):.4f}"
    beaten = beaten_baselines(metrics, metric)
    # said as what the gate asks (a mean above theirs), not as a lead: the evidence line just printed may call
    # the same gap a tie ("a tie" then "beats logistic" read as a contradiction)
    compared = (
        f"{said} is above {beaten} (the gate asks no more; whether the lead is beyond the noise is the "
        "evidence line's)"
        if beaten
        else f"{said}, no baseline to beat"
    )
    return f"{compared}; the champion's procedure, if any, is judged after the deployed fit"


def _above(beaten: str) -> str:
    """How a promotion names the baselines: ``above logistic 0.2633, rules 0.1676`` (what the gate asks: a mean
    above theirs; whether the lead is beyond the noise is the evidence line's, which may call it a tie, so not
    "beats"), or ``no baseline to compare`` without one."""
    return f"above {beaten}" if beaten else "no baseline to compare"


def verdict(
    metrics: pd.DataFrame,
    champion: tuple[str, float] | None,
    metric: str = "pr_auc",
    max_credible: float | None = None,
    lone: tuple[str, float] | None = None,
    new_recipe: bool = False,
    newer_labels: bool = True,
    margin: float = 0.0,
) -> Verdict:
    """The gate of the module docstring.

    ``metrics``: backtest metrics averaged over the folds, one row per contender (``model`` and the
    baselines; :func:`churnml.modeling.experiment.fold_means`);
    ``champion``: ``(version, its procedure's score on the same rows)`` or None when there is none;
    ``max_credible``: the score from which the backtest is too good to be true (None: no such check);
    ``lone``: ``(feature, its PR-AUC alone on the same test rows)`` of the feature that ranks them best,
    held to the same bound; ``new_recipe``: the challenger's procedure differs from the champion's;
    ``newer_labels``: its training window ends after the champion's; ``margin``: the gap a new recipe
    must clear (point 3 of the module docstring).
    """
    refused = baselines_refusal(metrics, metric, max_credible, lone)
    if refused is not None:
        return refused
    score = float(metrics.loc["model", metric])
    said = fold_mean(metric)
    beaten = beaten_baselines(metrics, metric)
    if champion is None:
        joint = " is " if beaten else ", "
        return Verdict(True, f"no champion yet; {said} {score:.4f}{joint}{_above(beaten)}")
    version, champ = champion
    if math.isnan(champ):
        return Verdict(True, f"champion v{version} cannot be judged on these rows; {_above(beaten)}")
    if new_recipe and not newer_labels and margin > 0:
        if score >= champ + margin:
            return Verdict(
                True,
                f"{said} {score:.4f} beats champion v{version}'s procedure {champ:.4f} by at least "
                f"train.champion_margin {margin:g} on the same backtest rows; {_above(beaten)}",
            )
        return Verdict(
            False,
            f"a new recipe on the same labels: {said} {score:.4f} against champion v{version}'s procedure "
            f"{champ:.4f} on the same backtest rows, not better by train.champion_margin {margin:g}",
        )
    if not new_recipe and score == champ:
        # the champion's own procedure: judged on these rows it is this run (no refit to compare), so the
        # figure is one, not two; what decides is which model saw the latest labels
        fresher = "refit on labels up to a later date" if newer_labels else "refit on the same labels"
        return Verdict(
            True,
            f"the same procedure as champion v{version} (its parameters and feature columns: on the same backtest "
            f"rows its {said} is this run's, {score:.4f}), {fresher}; {_above(beaten)}",
        )
    tolerance = margin if new_recipe else 0.0
    if score >= champ - tolerance:
        within = f" (within train.champion_margin {margin:g}, with newer labels)" if score < champ else ""
        return Verdict(
            True,
            f"{said} {score:.4f} >= champion v{version}'s procedure {champ:.4f} on the same backtest rows"
            f"{within}; {_above(beaten)}",
        )
    return Verdict(
        False, f"{said} {score:.4f} < champion v{version}'s procedure {champ:.4f} on the same backtest rows"
    )
