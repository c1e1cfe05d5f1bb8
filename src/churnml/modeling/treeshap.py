"""Exact TreeSHAP for many rows: LightGBM ``pred_contrib``, evaluated once per distinct decision pattern.

LightGBM's ``pred_contrib`` is the exact path-dependent TreeSHAP (Lundberg et al., 2020). Within one
tree, a row's contributions depend on the row only through the direction it takes at every internal
node (the "hot" branch of the algorithm), never on how far from a threshold its values lie. Rows with
the same directions at every node of a tree (the same *decision pattern*) therefore get identical
contributions from that tree. On a portfolio a small tree sees few patterns: with 15 leaves, 100,000
clients share a few hundred per tree, so evaluating every row against every tree repeats the same
computation hundreds of times.

:func:`tree_contributions` computes, per tree, every row's pattern (vectorised NumPy over the split
features), runs LightGBM's own ``pred_contrib`` for that single tree (``start_iteration=t,
num_iteration=1``) on one representative row per pattern, and adds the result to every row of the
pattern. The numbers are LightGBM's TreeSHAP values; only the floating-point order of the sum over
trees can differ from one ``pred_contrib`` call (relative differences around 1e-15).

Guards, so that a difference between this module's split rule and LightGBM's can never go unnoticed:

- only numerical splits are handled (a categorical split, a linear tree or a multi-class model falls
  back to plain ``pred_contrib``);
- every row's leaf implied by its pattern is checked against LightGBM's ``pred_leaf`` (this checks
  every decision on the row's own path in every tree); the rows of a pattern where any row
  disagrees are recomputed with plain ``pred_contrib`` and counted in
  :attr:`Contributions.recomputed_rows`. The tests compare with ``pred_contrib`` on NaNs, zeros and
  ties under each of LightGBM's missing-value modes.

Output grain: one row per input row, columns = the model's features in order, then the base value
(the same layout as ``pred_contrib``; each row sums to the raw score).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

__all__ = ["Contributions", "TreeSplits", "tree_contributions", "tree_splits"]

# LightGBM's kZeroThreshold: |x| <= 1e-35 counts as zero for missing_type "Zero".
_ZERO = 1e-35
_MISSING = {"None": 0, "Zero": 1, "NaN": 2}
# Patterns fit one int64 code when a tree has at most this many splits; a dense lookup table replaces
# sorting when the code space is at most 2**_TABLE_BITS.
_CODE_BITS = 62
_TABLE_BITS = 20
# Below this many rows one plain pred_contrib call is cheaper than per-tree calls.
_MIN_ROWS = 2_000


@dataclass(frozen=True)
class TreeSplits:
    """One tree's internal nodes as arrays, indexed by LightGBM's ``split_index``.

    ``left`` / ``right`` are child pointers: ``>= 0`` an internal node's split index, ``< 0`` a leaf
    ``~leaf_index``. ``features`` are the distinct split features (contribution columns it can touch).
    """

    feature: np.ndarray
    threshold: np.ndarray
    default_left: np.ndarray
    missing: np.ndarray
    left: np.ndarray
    right: np.ndarray
    features: np.ndarray

    @property
    def n_splits(self) -> int:
        return len(self.feature)


def _child(node: dict[str, Any]) -> int:
    return int(node["split_index"]) if "split_index" in node else ~int(node.get("leaf_index", 0))


def tree_splits(booster: lgb.Booster, num_iteration: int | None = None) -> list[TreeSplits] | None:
    """The numerical splits of the first ``num_iteration`` trees, or ``None`` when the model has a split
    or a tree this module does not reproduce (categorical split, linear tree, several trees per
    iteration)."""
    dump = booster.dump_model(num_iteration=num_iteration)
    if int(dump.get("num_tree_per_iteration", 1)) != 1:
        return None
    out: list[TreeSplits] = []
    for info in dump["tree_info"]:
        nodes: list[dict[str, Any]] = []
        stack = [info["tree_structure"]]
        while stack:
            node = stack.pop()
            if "split_index" in node:
                if node.get("decision_type") != "<=" or node.get("missing_type") not in _MISSING:
                    return None
                nodes.append(node)
                stack += [node["left_child"], node["right_child"]]
            elif "leaf_coeff" in node or "leaf_features" in node:
                return None
        nodes.sort(key=lambda n: int(n["split_index"]))
        if [int(n["split_index"]) for n in nodes] != list(range(len(nodes))):
            return None
        feature = np.array([int(n["split_feature"]) for n in nodes], dtype=np.int64)
        out.append(
            TreeSplits(
                feature=feature,
                threshold=np.array([float(n["threshold"]) for n in nodes], dtype=np.float64),
                default_left=np.array([bool(n["default_left"]) for n in nodes], dtype=bool),
                missing=np.array([_MISSING[n["missing_type"]] for n in nodes], dtype=np.int8),
                left=np.array([_child(n["left_child"]) for n in nodes], dtype=np.int64),
                right=np.array([_child(n["right_child"]) for n in nodes], dtype=np.int64),
                features=np.unique(feature),
            )
        )
    return out


def _goes_left(
    values: np.ndarray, nan: np.ndarray, threshold: float, default_left: bool, missing: int
) -> np.ndarray:
    """LightGBM's ``NumericalDecision`` for one node over a column of values (``nan``: its NaN mask).

    ``values <= threshold`` is False for NaN, which is then routed as LightGBM routes it: to the
    default side ("NaN" missing type), to the default side like a zero ("Zero"), or as 0.0 ("None").
    """
    left = values <= threshold
    if missing == _MISSING["NaN"]:
        return left | nan if default_left else left
    if missing == _MISSING["Zero"]:
        return np.where(nan | (np.abs(values) <= _ZERO), default_left, left)
    return left | nan if threshold >= 0.0 else left


def _pattern_codes(columns: np.ndarray, nan: np.ndarray, tree: TreeSplits) -> np.ndarray:
    """One integer per row naming its decision pattern in ``tree``; ``columns`` is the feature matrix
    transposed (one contiguous row per feature, so each split reads one contiguous array) and ``nan``
    its NaN mask."""
    n = columns.shape[1]
    words: list[np.ndarray] = []
    for start in range(0, max(tree.n_splits, 1), _CODE_BITS):
        code = np.zeros(n, dtype=np.int64)
        for k in range(start, min(start + _CODE_BITS, tree.n_splits)):
            f = tree.feature[k]
            left = _goes_left(
                columns[f], nan[f], tree.threshold[k], bool(tree.default_left[k]), int(tree.missing[k])
            )
            code |= left.astype(np.int64) << (k - start)
        words.append(code)
    if len(words) == 1:
        return words[0]
    # Several words: combine them into one dense rank, a word at a time.
    rank = np.unique(words[0], return_inverse=True)[1].astype(np.int64)
    for word in words[1:]:
        pair = rank * (int(word.max()) + 1) + word
        rank = np.unique(pair, return_inverse=True)[1].astype(np.int64)
    return rank


def _groups(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(representative row per distinct code, each row's group number)."""
    n = len(code)
    top = int(code.max()) + 1 if n else 0
    if top <= 1 << _TABLE_BITS:
        rep_of = np.full(top, -1, dtype=np.int64)
        rep_of[code] = np.arange(n, dtype=np.int64)  # any row of a pattern represents it
        present = np.flatnonzero(rep_of >= 0)
        group_of = np.empty(top, dtype=np.int64)
        group_of[present] = np.arange(len(present), dtype=np.int64)
        return rep_of[present], group_of[code]
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    return first.astype(np.int64), inverse.astype(np.int64)


def _leaves(tree: TreeSplits, X_rep: np.ndarray) -> np.ndarray:
    """The leaf index each representative row reaches by the module's own split rule."""
    node = np.zeros(len(X_rep), dtype=np.int64)
    if tree.n_splits == 0:
        return node
    rows = np.arange(len(X_rep))
    active = node >= 0
    while active.any():
        idx = rows[active]
        k = node[idx]
        values = X_rep[idx, tree.feature[k]]
        nan = np.isnan(values)
        miss = tree.missing[k]
        x = np.where(nan & (miss != _MISSING["NaN"]), 0.0, values)
        is_missing = np.where(miss == _MISSING["NaN"], nan, (miss == _MISSING["Zero"]) & (np.abs(x) <= _ZERO))
        left = np.where(is_missing, tree.default_left[k], x <= tree.threshold[k])
        node[idx] = np.where(left, tree.left[k], tree.right[k])
        active = node >= 0
    return ~node


@dataclass(frozen=True)
class Contributions:
    """TreeSHAP values (``values``: ``(n, n_features + 1)``) and how they were computed."""

    values: np.ndarray
    tree_evaluations: int
    recomputed_rows: int
    method: str


def tree_contributions(
    booster: lgb.Booster,
    X: np.ndarray,
    num_iteration: int | None = None,
    *,
    min_rows: int = _MIN_ROWS,
    trees: Sequence[TreeSplits] | None = None,
    n_jobs: int = 2,
) -> Contributions:
    """Exact TreeSHAP contributions of ``X`` (float64, model feature order); see the module docstring.

    ``min_rows``: below it, one plain ``pred_contrib`` call. ``trees``: the parsed splits when the
    caller already has them (:func:`tree_splits`). ``n_jobs``: trees handled at once (threads; NumPy
    and LightGBM release the GIL). The result does not depend on it: trees are added up in order.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, n_features = X.shape
    plain = booster.predict  # the exact reference: LightGBM's own TreeSHAP
    splits = (
        None if n < min_rows else list(trees) if trees is not None else tree_splits(booster, num_iteration)
    )
    if splits is None:
        values = np.asarray(plain(X, num_iteration=num_iteration, pred_contrib=True), dtype=np.float64)
        return Contributions(values, n * (num_iteration or booster.num_trees()), 0, "pred_contrib")
    # Transposed layouts: per-feature and per-tree rows are contiguous, which the trees read.
    leaves = np.ascontiguousarray(
        np.asarray(plain(X, num_iteration=len(splits), pred_leaf=True)).reshape(n, len(splits)).T
    )
    columns = np.ascontiguousarray(X.T)
    nan = np.isnan(columns)
    # LightGBM keeps the iteration range of a prediction on the booster itself, so two threads must
    # never predict different trees with one booster: each thread gets its own copy of the model.
    model_text = booster.model_to_string(num_iteration=len(splits))
    local = threading.local()

    def own_booster() -> lgb.Booster:
        if not hasattr(local, "booster"):
            local.booster = lgb.Booster(model_str=model_text)
        return local.booster

    def one_tree(t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(each row's pattern, the tree's contributions per pattern on the columns it touches,
        the patterns to recompute or None)."""
        tree = splits[t]
        reps, group = _groups(_pattern_codes(columns, nan, tree))
        X_rep = X[reps]
        # A pattern with any row whose LightGBM leaf differs from the pattern's leaf is recomputed whole:
        # its representative may be the row that disagrees.
        bad = _leaves(tree, X_rep)[group] != leaves[t]
        bad_patterns = np.bincount(group[bad], minlength=len(reps)) > 0 if bad.any() else None
        # One tree, a few hundred rows: one LightGBM thread (the threads here run trees side by side).
        phi = own_booster().predict(
            X_rep, start_iteration=t, num_iteration=1, pred_contrib=True, num_threads=1
        )
        cols = np.append(tree.features, n_features)
        return group, np.ascontiguousarray(np.asarray(phi, dtype=np.float64)[:, cols].T), bad_patterns

    out_t = np.zeros((n_features + 1, n), dtype=np.float64)
    wrong = np.zeros(n, dtype=bool)
    evaluations = 0
    with ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
        # map yields in tree order, so the sums are the same whatever the number of threads
        for t, (group, phi, bad_patterns) in enumerate(pool.map(one_tree, range(len(splits)))):
            evaluations += phi.shape[1]
            for col, per_pattern in zip((*splits[t].features.tolist(), n_features), phi, strict=True):
                out_t[col] += per_pattern.take(group)
            if bad_patterns is not None:
                wrong |= bad_patterns[group]
    out = out_t.T  # (n, n_features + 1), column-major: no copy of the largest array
    recomputed = int(wrong.sum())
    if recomputed:
        out[wrong] = np.asarray(
            plain(X[wrong], num_iteration=len(splits), pred_contrib=True), dtype=np.float64
        )
    return Contributions(out, evaluations, recomputed, "pattern")
