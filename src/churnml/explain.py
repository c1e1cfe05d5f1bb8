"""Why a client is at risk: exact TreeSHAP contributions turned into plain-language drivers.

Input grain: one row per client at one snapshot, with the model's contributions from LightGBM
``pred_contrib`` (raw log-odds; shape ``(n, n_features + 1)``, the last column is the base value, each
row sums to the raw score) and the client's feature values in the same column order.

- **Health** (:func:`health_score`): ``health = 100 x (1 - p)`` with ``p`` the calibrated churn
  probability over the horizon. It is monotone (higher probability, lower health), reads as "points
  of health", and a drop of 20 points means the probability rose by 0.20.
- **Health per family** (:func:`family_health`): the points of health a client has lost
  (``100 - health``) are split over the families (usage, payments, communication, support, account)
  by each family's share of the client's *positive* (risk-raising) contributions; a family's health
  is ``100 - its lost points``. The lost points of all families add up to the client's lost points; a
  family that raises no risk stays at 100.
- **Drivers** (:func:`top_drivers`): contributions are first summed per signal *group* from the
  feature registry (all login features form one group), so correlated features of one signal do not
  crowd out the others. Groups that raise the risk come first, largest first; when fewer than ``k``
  groups raise it, the strongest risk-lowering groups fill the remaining places. Each driver names the
  group's leading feature (its largest contribution in the group's direction), its family, its
  direction (``raises risk`` / ``lowers risk``), the registry sentence filled with the client's own
  value, and the group's summed contribution in log-odds.
- **Why it changed** (:func:`change_reasons`): the same grouping applied to the difference of the
  contributions between two snapshots of a client; the groups that moved the raw score in the
  direction of the total change, largest first.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from churnml.config import FeaturesConfig
from churnml.outputs import Scores

__all__ = [
    "FAMILIES",
    "Describe",
    "GroupedContributions",
    "change_reasons",
    "family_health",
    "grouped_contributions",
    "health_score",
    "registry_catalog",
    "top_drivers",
]

FAMILIES: tuple[str, ...] = ("usage", "payments", "communication", "support", "account")
RAISES = "raises risk"
LOWERS = "lowers risk"
DRIVER_PARTS = ("feature", "family", "direction", "sentence", "contribution")

Describe = Callable[[str, float], str]


def registry_catalog(cfg: FeaturesConfig) -> tuple[Mapping[str, Any], Describe]:
    """The feature registry's specs and sentence function (``churnml.features.registry``) for ``cfg``."""
    from churnml.features import registry

    specs = registry.feature_specs(cfg)
    # With the default settings the registry's fast path (no per-call spec rebuild) gives the same text.
    fill_cfg = None if cfg == FeaturesConfig() else cfg

    @functools.lru_cache(maxsize=1 << 17)
    def cached(name: str, value: float) -> str:
        return registry.sentence(name, value, fill_cfg)

    def describe(name: str, value: float) -> str:
        # Counts and days repeat across a portfolio: the same (feature, value) is written once. NaN is
        # mapped to one object so that every missing value finds the same cache entry.
        return cached(name, math.nan if value != value else value)

    return specs, describe


def health_score(probability: np.ndarray) -> np.ndarray:
    """``100 x (1 - p)``, rounded to 0.1 point (module docstring)."""
    p = np.clip(np.asarray(probability, dtype=float), 0.0, 1.0)
    return np.round(100.0 * (1.0 - p), 1)


def _spec_attr(specs: Mapping[str, Any], name: str, attr: str, default: Any) -> Any:
    spec = specs.get(name)
    return getattr(spec, attr, default) if spec is not None else default


@dataclass(frozen=True)
class GroupedContributions:
    """Contributions summed per signal group: ``sums[:, j]`` is group ``groups[j]``'s total for each row;
    ``members[j]`` are the column indices of its features."""

    groups: tuple[str, ...]
    sums: np.ndarray
    members: tuple[np.ndarray, ...]


def grouped_contributions(
    contributions: np.ndarray, feature_names: Sequence[str], specs: Mapping[str, Any]
) -> GroupedContributions:
    """Sum the per-feature contributions (base column excluded when present) per registry group.

    A feature missing from the registry forms a group of its own.
    """
    n_features = len(feature_names)
    values = np.asarray(contributions, dtype=float)[:, :n_features]
    by_group: dict[str, list[int]] = {}
    for i, name in enumerate(feature_names):
        by_group.setdefault(str(_spec_attr(specs, name, "group", None) or name), []).append(i)
    groups = tuple(by_group)
    members = tuple(np.asarray(by_group[g], dtype=np.int64) for g in groups)
    sums = (
        np.column_stack([values[:, idx].sum(axis=1) for idx in members])
        if groups
        else np.zeros((len(values), 0))
    )
    return GroupedContributions(groups, sums, members)


def family_health(
    contributions: np.ndarray,
    feature_names: Sequence[str],
    specs: Mapping[str, Any],
    health: np.ndarray,
) -> dict[str, np.ndarray]:
    """``{family: 0-100 health}`` per row: lost points split by each family's share of positive contributions.

    See the module docstring."""
    n_features = len(feature_names)
    positive = np.clip(np.asarray(contributions, dtype=float)[:, :n_features], 0.0, None)
    total = positive.sum(axis=1)
    lost = 100.0 - np.asarray(health, dtype=float)
    out: dict[str, np.ndarray] = {}
    for family in FAMILIES:
        idx = [i for i, name in enumerate(feature_names) if _spec_attr(specs, name, "family", None) == family]
        mass = positive[:, idx].sum(axis=1) if idx else np.zeros(len(total))
        share = np.divide(mass, total, out=np.zeros_like(mass), where=total > 0)
        out[family] = np.round(100.0 - lost * share, 1)
    return out


def _sentence(describe: Describe, specs: Mapping[str, Any], name: str, value: float) -> str:
    if name in specs:
        return describe(name, value)
    shown = "missing" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3g}"
    return f"{name} is {shown}"


def _lead_features(
    grouped: GroupedContributions,
    contributions: np.ndarray,
    sign: np.ndarray,
    values: np.ndarray | None = None,
) -> np.ndarray:
    """Per row and group, the column index of the feature contributing most in direction ``sign``.

    With ``values``, a member that has a value is preferred over one that is missing whenever it also
    pushes in that direction: "the last term ended 12 days ago" says more than "discount: no data".
    """
    contrib = np.asarray(contributions, dtype=float)
    lead = np.empty(grouped.sums.shape, dtype=np.int64)
    for j, idx in enumerate(grouped.members):
        oriented = contrib[:, idx] * sign[:, None]
        best = idx[np.argmax(oriented, axis=1)]
        if values is not None and len(idx) > 1:
            known = np.where(np.isnan(values[:, idx]), -np.inf, oriented)
            best_known = np.argmax(known, axis=1)
            usable = np.take_along_axis(known, best_known[:, None], axis=1)[:, 0] > 0
            best = np.where(usable, idx[best_known], best)
        lead[:, j] = best
    return lead


def top_drivers(
    contributions: np.ndarray,
    feature_values: np.ndarray,
    feature_names: Sequence[str],
    specs: Mapping[str, Any],
    describe: Describe,
    k: int,
) -> pl.DataFrame:
    """The top ``k`` drivers per row as flat columns ``driver_<i>_<part>`` (module docstring).

    ``feature_values`` is the ``(n, n_features)`` matrix the contributions were computed from. Rows with
    fewer than ``k`` non-zero groups get empty (null) trailing drivers.
    """
    grouped = grouped_contributions(contributions, feature_names, specs)
    sums = grouped.sums
    n, g = sums.shape
    # Risk-raising groups first (largest first), then risk-lowering ones by strength.
    key = np.where(sums > 0, 1e12 + sums, np.abs(sums))
    order = np.argsort(-key, axis=1, kind="stable")[:, :k]
    total = np.take_along_axis(sums, order, axis=1)
    values = np.asarray(feature_values, dtype=float)
    lead_up = _lead_features(grouped, contributions, np.ones(n), values)
    lead_down = _lead_features(grouped, contributions, -np.ones(n), values)
    lead = np.where(
        total > 0, np.take_along_axis(lead_up, order, axis=1), np.take_along_axis(lead_down, order, axis=1)
    )
    names = np.asarray(list(feature_names), dtype=object)
    families = np.asarray([_spec_attr(specs, name, "family", None) for name in feature_names], dtype=object)
    columns: dict[str, pl.Series] = {}
    for i in range(k):
        if i >= g:  # fewer groups than drivers: the trailing drivers are empty
            shown = np.zeros(n, dtype=bool)
            col, t = np.zeros(n, dtype=np.int64), np.zeros(n)
        else:
            shown, col, t = total[:, i] != 0, lead[:, i], total[:, i]
        rows = np.flatnonzero(shown)
        sentence = np.full(n, None, dtype=object)
        sentence[rows] = [
            _sentence(describe, specs, str(names[c]), float(values[r, c]))
            for r, c in zip(rows.tolist(), col[rows].tolist(), strict=True)
        ]
        parts = {
            "feature": np.where(shown, names[col], None),
            "family": np.where(shown, families[col], None),
            "direction": np.where(shown, np.where(t > 0, RAISES, LOWERS).astype(object), None),
            "sentence": sentence,
        }
        for part, data in parts.items():
            columns[Scores.driver(i + 1, part)] = pl.Series(data.tolist(), dtype=pl.String)
        columns[Scores.driver(i + 1, "contribution")] = pl.Series(
            [round(float(v), 6) if ok else None for v, ok in zip(t.tolist(), shown.tolist(), strict=True)],
            dtype=pl.Float64,
        )
    return pl.DataFrame(
        [
            columns[Scores.driver(i + 1, part)].alias(Scores.driver(i + 1, part))
            for i in range(k)
            for part in DRIVER_PARTS
        ]
    )


def change_reasons(
    contributions_now: np.ndarray,
    contributions_before: np.ndarray,
    feature_values_now: np.ndarray,
    feature_names: Sequence[str],
    specs: Mapping[str, Any],
    describe: Describe,
    k: int,
    min_change: float = 1e-9,
) -> list[str | None]:
    """Per row, why the raw score moved between two snapshots, as one line of plain language.

    E.g. ``"risk up: Logins fell 62% ... (+0.41); 3 meetings rescheduled ... (+0.12)"``. The drivers
    are the groups whose contribution changed in the direction of the total change, largest first,
    each described with the client's current value. ``None`` where the raw score did not move.
    """
    now = np.asarray(contributions_now, dtype=float)
    before = np.asarray(contributions_before, dtype=float)
    diff = now - before
    total = diff.sum(axis=1)  # includes the base column, which is the same at both snapshots
    grouped = grouped_contributions(diff, feature_names, specs)
    sign = np.where(total >= 0, 1.0, -1.0)
    oriented = grouped.sums * sign[:, None]
    order = np.argsort(-oriented, axis=1, kind="stable")[:, :k]
    values = np.asarray(feature_values_now, dtype=float)
    lead = _lead_features(grouped, diff, sign, values)
    out: list[str | None] = []
    for row in range(len(diff)):
        if abs(total[row]) < min_change:
            out.append(None)
            continue
        parts = []
        for j in order[row]:
            delta = float(grouped.sums[row, j])
            if delta * sign[row] <= 0:
                break
            name = feature_names[int(lead[row, j])]
            sentence = _sentence(describe, specs, name, float(values[row, int(lead[row, j])]))
            parts.append(f"{sentence} ({delta:+.2f})")
        head = "risk up: " if sign[row] > 0 else "risk down: "
        out.append(head + "; ".join(parts) if parts else None)
    return out
