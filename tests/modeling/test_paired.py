"""Paired bootstrap over clients: PR-AUC and Brier draws, and churnml against the best other method."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, brier_score_loss

import churnml.modeling.evaluate as evaluate
from churnml.modeling.benchmark import benchmark_markdown, paired_comparison
from churnml.modeling.evaluate import PairedDraws


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 60), st.sampled_from([1, 2, 20]))
def test_every_draw_is_sklearn_with_client_weights(seed, n_clients, decimals):
    rng = np.random.default_rng(seed)
    n = 5 * n_clients
    clients = rng.integers(0, n_clients, n)
    y = (rng.random(n) < 0.3).astype(int)
    y[0] = 1
    p = np.round(rng.random(n) * 0.6 + 0.3 * y, decimals)  # coarse scores: many ties
    draws = PairedDraws(y, clients, {"m": p}, n_draws=4, seed=seed)
    ap, brier = draws.pr_auc("m"), draws.brier("m")
    assert ap[0] == pytest.approx(average_precision_score(y, p), abs=1e-12)  # draw 0: the rows as they are
    for k in range(5):
        w = draws.client_counts[k][draws.client_of_row]
        assert brier[k] == pytest.approx(brier_score_loss(y, p, sample_weight=w), abs=1e-12)
        if (w * y).sum() > 0:
            assert ap[k] == pytest.approx(average_precision_score(y, p, sample_weight=w), abs=1e-12)
        else:
            assert np.isnan(ap[k])


def test_a_draw_resamples_whole_clients_and_blocks_do_not_change_it(monkeypatch):
    clients = np.array(["a", "a", "b", "b", "b", "c"])
    y = np.array([1, 0, 0, 1, 0, 0])
    p = np.array([0.9, 0.2, 0.3, 0.6, 0.1, 0.4])
    whole = PairedDraws(y, clients, {"m": p}, n_draws=50, seed=3)
    w = whole.client_counts[:, whole.client_of_row]
    assert (w[:, 0] == w[:, 1]).all() and (w[:, 2] == w[:, 3]).all() and (w[:, 3] == w[:, 4]).all()
    assert (whole.client_counts[1:].sum(axis=1) == 3).all()  # 3 clients drawn with replacement
    monkeypatch.setattr(evaluate, "_DRAW_CELLS", 12)  # two draws at a time
    blocked = PairedDraws(y, clients, {"m": p}, n_draws=50, seed=3)
    np.testing.assert_array_equal(blocked.pr_auc("m"), whole.pr_auc("m"))
    np.testing.assert_array_equal(blocked.brier("m"), whole.brier("m"))


def _predictions(seed: int = 0) -> pd.DataFrame:
    """Two cutoffs of 300 clients x 4 weekly rows: churnml sharp, rules blurred, a twin of churnml, an oracle."""
    rng = np.random.default_rng(seed)
    out = []
    for cutoff in ("2024-03-04", "2024-06-03"):
        clients = np.repeat(np.arange(300), 4).astype(str)
        y = np.repeat(rng.random(300) < 0.2, 4).astype(int)
        sharp = np.clip(0.15 + 0.5 * y + rng.normal(0, 0.15, y.size), 0.01, 0.99)
        blurred = np.clip(0.2 + 0.1 * y + rng.normal(0, 0.2, y.size), 0.01, 0.99)
        out.append(
            pd.DataFrame(
                {"cutoff": cutoff, "client_id": clients, "label": y, "churnml": sharp, "rules": blurred}
            ).assign(twin=sharp, oracle=y.astype(float))
        )
    return pd.concat(out, ignore_index=True)


def test_churnml_against_the_best_other_method():
    preds = _predictions().drop(columns="twin")
    out = paired_comparison(preds, ["churnml", "rules", "oracle"], n_draws=100)
    assert list(out["cutoff"]) == ["2024-03-04", "2024-06-03", "mean"]
    assert (out["pr_auc_vs"] == "rules").all() and (out["brier_vs"] == "rules").all()  # never the oracle
    assert (out["pr_auc_low"] > 0).all() and (out["brier_high"] < 0).all()  # sharp beats blurred
    # the mean row is the mean of the cutoffs' differences
    assert out["pr_auc_diff"].iloc[2] == pytest.approx(out["pr_auc_diff"].iloc[:2].mean(), abs=1e-12)
    assert (out["pr_auc_low"] <= out["pr_auc_diff"]).all() and (
        out["pr_auc_diff"] <= out["pr_auc_high"]
    ).all()


def test_a_twin_is_a_tie_with_a_zero_interval():
    out = paired_comparison(_predictions(), ["churnml", "rules", "twin", "oracle"], n_draws=50)
    assert (out["pr_auc_vs"] == "twin").all()
    assert (
        (out[["pr_auc_diff", "pr_auc_low", "pr_auc_high", "brier_diff", "brier_low", "brier_high"]] == 0)
        .all()
        .all()
    )


def test_the_markdown_says_who_wins_and_ties():
    from types import SimpleNamespace

    from churnml.modeling.benchmark import BENCH_METRICS

    preds = _predictions()
    comparison = pd.concat(
        [
            paired_comparison(preds.drop(columns="twin"), ["churnml", "rules"], n_draws=50).iloc[:1],
            paired_comparison(preds, ["churnml", "twin"], n_draws=50).iloc[2:],
        ]
    )
    no_scores = pd.DataFrame(columns=["cutoff", "method", *BENCH_METRICS, "n", "positives"])
    text = benchmark_markdown(SimpleNamespace(scores=no_scores, comparison=comparison), "t", "cmd")
    first = next(line for line in text.splitlines() if line.startswith("| 2024-03-04 | rules | +"))
    assert first.count(" | wins |") == 2  # sharp beats blurred on PR-AUC and on Brier
    assert (
        "| **mean** | twin | +0.000 [+0.000, +0.000] | tie | twin | +0.0000 [+0.0000, +0.0000] | tie |"
        in text
    )


def test_the_backtest_evidence_names_its_churners_and_the_lead_with_its_interval():
    from churnml.modeling.benchmark import backtest_evidence
    from churnml.modeling.experiment import fold_test_churners

    preds = (
        _predictions().rename(columns={"cutoff": "fold", "churnml": "model"}).drop(columns=["twin", "oracle"])
    )
    preds["fold"] = preds["fold"].map({"2024-03-04": 1, "2024-06-03": 2})
    churning = preds.loc[preds["label"] == 1]
    per_fold = churning.groupby("fold")["client_id"].nunique().tolist()
    by_fold = fold_test_churners(preds)
    assert sum(per_fold) > churning["client_id"].nunique()  # the same clients churn in both windows
    assert by_fold == dict(zip([1, 2], per_fold, strict=True))
    text = backtest_evidence(preds, ["model", "rules"], by_fold, n_draws=50)
    assert text is not None
    assert text.startswith(
        f"the backtest rests on {churning['client_id'].nunique()} churning clients ({per_fold[0]}, {per_fold[1]} "
        "by fold; a client churning in two windows counts in each): model - rules, mean fold PR-AUC +"
    )
    assert text.endswith("(90% interval over 50 draws of the test clients): a lead")  # sharp against blurred
    # a twin of the model is a tie, whatever the draws
    twin = preds.assign(rules=preds["model"])
    assert backtest_evidence(twin, ["model", "rules"], by_fold, n_draws=50).endswith("a tie")
    assert backtest_evidence(preds.iloc[:0], ["model", "rules"], {}) is None


def test_the_evidence_says_why_its_folds_add_to_more_than_its_churning_clients():
    from churnml.modeling.benchmark import backtest_evidence

    # client a churns in both test windows, b in the first only, c never: 2 churning clients, 2 + 1 by fold
    preds = pd.DataFrame(
        {
            "fold": [1, 1, 1, 2, 2, 2],
            "client_id": ["a", "b", "c", "a", "b", "c"],
            "label": [1, 1, 0, 1, 0, 0],
            "model": [0.9, 0.8, 0.1, 0.9, 0.2, 0.1],
            "rules": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
        }
    )
    text = backtest_evidence(preds, ["model", "rules"], {1: 2, 2: 1}, n_draws=20)
    assert text is not None
    assert text.startswith(
        "the backtest rests on 2 churning clients (2, 1 by fold; a client churning in two windows counts in each): "
    )
    # folds adding to the total say nothing more
    once = preds.assign(label=[1, 0, 0, 0, 1, 0])
    assert backtest_evidence(once, ["model", "rules"], {1: 1, 2: 1}, n_draws=20).startswith(
        "the backtest rests on 2 churning clients (1, 1 by fold): "
    )
