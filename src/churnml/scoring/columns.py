"""Column names of the weekly list, defined once: :class:`churnml.scoring.outputs.Scores` plus the columns of
the customer-success views (value apart from risk, the term's state, CRM views, zone stability, the
acting role).

``churnml.scoring.columns.Scores`` *is* the list's names class: it extends ``churnml.scoring.outputs.Scores`` (which the
writers and other readers import) with the names below, so every name is still spelled in one place.
Grain of the list: one row per client active at the as-of date.

:data:`SCHEMA` and :data:`PATTERNED` give every column's dtype; :func:`checked_schema` checks a list
against them when it is written (:func:`churnml.scoring.outputs.write_scores_atomically`), naming the
missing, unknown or mistyped column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

import polars as pl

from churnml.scoring.outputs import History, OutputError
from churnml.scoring.outputs import Scores as _OutputScores

__all__ = [
    "HISTORY_SCHEMA",
    "OPTIONAL",
    "PATTERNED",
    "SCHEMA",
    "ListSchemaError",
    "Scores",
    "checked_schema",
    "schema_problems",
]


class Scores(_OutputScores):
    """All column names of ``scores.parquet`` (see :mod:`churnml.scoring.assemble` for their meaning)."""

    # value apart from risk (churnml.scoring.value): a trial's value at its conversion, never in arr
    CONVERSION_ARR = "conversion_arr"
    NOT_WORTH_KEEPING = "not_worth_keeping"
    NOT_WORTH_KEEPING_REASON = "not_worth_keeping_reason"
    # the term's state and the CRM views (churnml.scoring.crm)
    TERM_STATE = "term_state"
    IN_GRACE = "in_grace"
    RENEWAL_DATE = "renewal_date"
    RENEWAL_DAYS = "renewal_due_days"
    RENEWAL_VALUE = "renewal_value"
    RENEWAL_DUE = "renewal_due"
    NEXT_TERM_START = "next_term_start"
    LAST_INTERACTION = "last_interaction"
    DAYS_SILENT = "days_silent"
    LAST_CONTACTED = "last_contacted"
    LAST_CONTACT = "last_contact"
    ONBOARDING_STALLED = "onboarding_stalled"
    LAST_DATA_EXPORT = "last_data_export"
    # zones: the model's own zone, the stable zone after hysteresis and rules, and its history
    MODEL_ZONE = "model_zone"
    ZONE_RAISED_BY = "zone_raised_by"
    ZONE_CHANGES = "zone_changes"
    # the action: who acts (role), and what it follows from
    ACTION_ROLE = "action_role"
    ACTION_BASIS = "action_basis"


# ---- the list's types, defined once ------------------------------------------------------------------
# Every column of ``scores.parquet`` with its dtype, in the list's order. The client's own columns
# (name, owner, segment) are there when the clients table has them; after the fixed columns come one
# ``health_<family>`` per feature family, the crm views, ``driver_<i>_<part>`` for i = 1..top_drivers and
# one ``rule_<name>`` per enabled rule (:data:`PATTERNED`).
_S, _F, _I, _B, _D = pl.String(), pl.Float64(), pl.Int64(), pl.Boolean(), pl.Date()
OPTIONAL: frozenset[str] = frozenset({Scores.NAME, Scores.OWNER, Scores.SEGMENT})
SCHEMA: Mapping[str, pl.DataType] = MappingProxyType(
    {
        Scores.CLIENT_ID: _S,
        Scores.AS_OF: _D,
        Scores.NAME: _S,
        Scores.OWNER: _S,
        Scores.SEGMENT: _S,
        Scores.PRIORITY: _I,
        Scores.ZONE: _S,
        Scores.PROBABILITY: _F,
        Scores.HEALTH: _F,
        Scores.TERM_STATE: _S,
        Scores.PREVIOUS_PROBABILITY: _F,
        Scores.PROBABILITY_CHANGE: _F,
        Scores.PREVIOUS_ZONE: _S,
        Scores.ZONE_CHANGE: _S,
        Scores.NEW_IN_RED: _B,
        Scores.WHY_CHANGED: _S,
        Scores.MODEL_ZONE: _S,
        Scores.ZONE_RAISED_BY: _S,
        Scores.ZONE_CHANGES: _I,
        Scores.EXPLAINED: _B,
        Scores.ARR: _F,
        Scores.CONVERSION_ARR: _F,
        Scores.LIFETIME_VALUE: _F,
        Scores.STRATEGIC: _I,
        Scores.VALUE_TIER: _S,
        Scores.REVENUE_AT_RISK: _F,
        Scores.NOT_WORTH_KEEPING: _B,
        Scores.NOT_WORTH_KEEPING_REASON: _S,
        Scores.ACTION: _S,
        Scores.ACTION_ROLE: _S,
        Scores.ACTION_BASIS: _S,
        Scores.ACTS: _S,
        Scores.ESCALATION: _S,
        Scores.RULES: _S,
        Scores.RULES_EVIDENCE: _S,
        Scores.RENEWAL_DATE: _D,
        Scores.RENEWAL_DAYS: _I,
        Scores.RENEWAL_VALUE: _F,
        Scores.RENEWAL_DUE: _B,
        Scores.IN_GRACE: _B,
        Scores.NEXT_TERM_START: _D,
        Scores.LAST_INTERACTION: _D,
        Scores.DAYS_SILENT: _I,
        Scores.LAST_CONTACTED: _D,
        Scores.LAST_CONTACT: _S,
        Scores.ONBOARDING_STALLED: _B,
        Scores.LAST_DATA_EXPORT: _D,
    }
)
# (pattern, dtype) of the columns whose names depend on the registry and the config
PATTERNED: tuple[tuple[re.Pattern[str], pl.DataType], ...] = (
    (re.compile(r"health_[a-z]+"), _F),
    (re.compile(r"driver_\d+_(feature|family|direction|sentence)"), _S),
    (re.compile(r"driver_\d+_contribution"), _F),
    (re.compile(r"rule_[a-z_]+"), _B),
)
HISTORY_SCHEMA: Mapping[str, pl.DataType] = MappingProxyType(
    {History.CLIENT_ID: _S, History.SNAPSHOT: _D, History.PROBABILITY: _F, History.HEALTH: _F}
)


class ListSchemaError(OutputError):
    """A weekly list (or its history) that does not have the columns and types of :data:`SCHEMA`: a bug
    in the code that built it, refused before anything is written."""


def _expected_dtype(name: str) -> pl.DataType | None:
    if name in SCHEMA:
        return SCHEMA[name]
    return next((dtype for pattern, dtype in PATTERNED if pattern.fullmatch(name)), None)


def schema_problems(schema: Mapping[str, pl.DataType], what: str = "scores") -> list[str]:
    """What is wrong with the columns of a weekly list (``what="scores"``) or its history
    (``what="history"``): a missing column, an unknown one, or a column of another dtype, each named."""
    if what == "history":
        expected, optional = dict(HISTORY_SCHEMA), frozenset()
    else:
        expected = {n: d for n in schema if (d := _expected_dtype(n)) is not None}
        expected |= {n: d for n, d in SCHEMA.items() if n not in OPTIONAL}
        optional = OPTIONAL
    problems = [f"column {n!r} is missing ({d} expected)" for n, d in expected.items() if n not in schema]
    problems += [
        f"column {n!r} is not a {what} column" for n in schema if n not in expected and n not in optional
    ]
    problems += [
        f"column {n!r} is {schema[n]}, expected {d}"
        for n, d in expected.items()
        if n in schema and schema[n] != d
    ]
    return problems


def checked_schema(schema: Mapping[str, pl.DataType], what: str = "scores") -> None:
    """Raise :class:`ListSchemaError` naming every column that is missing, unknown or of another dtype."""
    problems = schema_problems(schema, what)
    if problems:
        raise ListSchemaError(f"{what}: " + "; ".join(problems))
