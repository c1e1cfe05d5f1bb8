"""What a feature column means: :class:`FeatureSpec`, and the patterns family modules declare it with.

Each family module (:mod:`~churnml.features.usage`, :mod:`~churnml.features.payments`, ...) exports
``FAMILY`` (its name) and ``SPECS``, a tuple of :class:`SpecPattern` in the order it emits its columns,
built with :func:`spec` and :func:`trends`; :mod:`churnml.features.registry` only collects them. A
pattern's ``{w}`` (in name, template and label) is the window in days: ``usage_logins_{w}d`` gives one
column per configured window.

A spec holds: family, unit, direction of risk (+1: a higher value means more risk, -1: a lower value
means more risk, 0: ambiguous), signal group (correlated features of one signal share a group, e.g. all
login features are "logins"), ``kind`` (how a value turns into ``{pct}`` and ``{verb}``) and a
plain-language template that :func:`churnml.features.registry.sentence` fills with a client's value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["KINDS", "FeatureSpec", "SpecPattern", "spec", "trends"]

# How a value turns into {pct} and {verb}.
#   count/amount/days/mean/score: plain levels; share: 0..1; ratio: recent/baseline (1 = unchanged);
#   change: relative change (-0.2 = fell 20%); diff: difference of two shares or means; slope: relative
#   weekly slope; z: standard deviations.
KINDS = ("count", "amount", "days", "mean", "score", "share", "ratio", "change", "diff", "slope", "z")


@dataclass(frozen=True)
class FeatureSpec:
    """What one feature column means.

    ``kind`` says how :func:`~churnml.features.registry.sentence` derives ``{pct}``/``{verb}``;
    ``label`` is the short noun phrase used when the value is missing ("logins in the last 28 days:
    no data"). The registry checks that ``family`` is one of its families.
    """

    name: str
    family: str
    unit: str
    direction: int
    group: str
    template: str
    kind: str = "count"
    label: str = ""

    def __post_init__(self) -> None:
        if self.direction not in (-1, 0, 1):
            raise ValueError(f"feature {self.name}: direction must be -1, 0 or +1")
        if self.kind not in KINDS:
            raise ValueError(f"feature {self.name}: unknown kind {self.kind!r}")


@dataclass(frozen=True)
class SpecPattern:
    """A spec pattern; ``{w}`` in name/label/template is the window in days."""

    name: str
    family: str
    unit: str
    direction: int
    group: str
    template: str
    kind: str
    label: str

    @property
    def windowed(self) -> bool:
        return "{w}" in self.name

    def at(self, w: int | None) -> FeatureSpec:
        """The spec of this pattern's column for window ``w`` days (``None``: not windowed)."""

        def fill(s: str) -> str:
            return s if w is None else s.replace("{w}", str(w))

        return FeatureSpec(
            fill(self.name),
            self.family,
            self.unit,
            self.direction,
            self.group,
            fill(self.template),
            self.kind,
            fill(self.label),
        )


def spec(
    name: str,
    family: str,
    unit: str,
    direction: int,
    group: str,
    template: str,
    kind: str = "count",
    label: str = "",
) -> SpecPattern:
    """One feature's pattern; the label defaults to the template without its leading value
    ("{value:.0f} logins in ..." -> "logins in ...")."""
    if not label:
        stripped = re.sub(r"^\{value[^}]*\}\s*", "", template)
        label = stripped if stripped != template else name
    return SpecPattern(name, family, unit, direction, group, template, kind, label)


def trends(
    prefix: str, family: str, what: str, unit: str, group: str, direction: int, plural: bool = True
) -> list[SpecPattern]:
    """Ratio, slope and z-score of one weekly signal against the client's own past; ``plural``: ``what``
    takes a plural verb ("Logins were", "Time in the product was")."""
    were, their = ("were", "their") if plural else ("was", "its")
    return [
        spec(
            f"{prefix}_ratio",
            family,
            "ratio",
            direction,
            group,
            f"{what} {{verb}} {{pct}}% against this client's usual rate (last {{recent}} days vs the "
            f"{{baseline}} days before)",
            "ratio",
            f"trend of {what.lower()}",
        ),
        spec(
            f"{prefix}_slope",
            family,
            f"share of weekly {unit} per week",
            direction,
            group,
            # the slope over the window's mean (features._grid.relative_slope), not over the usual level
            # before it: a fall from 228 a week read "23% of their usual weekly level per week" (6% of it)
            f"{what} {{verb}} by about {{pct}}% of {their} mean weekly level each week over the last "
            f"{{slope}} weeks",
            "slope",
            f"weekly trend of {what.lower()}",
        ),
        spec(
            f"{prefix}_z",
            family,
            "standard deviations",
            direction,
            group,
            f"{what} over the last {{zr}} weeks {were} {{level}} ({{z}} standard deviations from "
            f"this client's own last {{zb}} weeks)",
            "z",
            f"z-score of {what.lower()}",
        ),
    ]
