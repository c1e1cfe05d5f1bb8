"""Column names of the weekly list, defined once: :class:`churnml.scoring.outputs.Scores` plus the columns of
the customer-success views (value apart from risk, the term's state, CRM views, zone stability, the
acting role).

``churnml.scoring.columns.Scores`` *is* the list's names class: it extends ``churnml.scoring.outputs.Scores`` (which the
writers and other readers import) with the names below, so every name is still spelled in one place.
Grain of the list: one row per client active at the as-of date.
"""

from __future__ import annotations

from churnml.scoring.outputs import Scores as _OutputScores

__all__ = ["Scores"]


class Scores(_OutputScores):
    """All column names of ``scores.parquet`` (see :mod:`churnml.scoring.assemble` for their meaning)."""

    # value apart from risk (churnml.scoring.value)
    NOT_WORTH_KEEPING = "not_worth_keeping"
    NOT_WORTH_KEEPING_REASON = "not_worth_keeping_reason"
    # the term's state and the CRM views (churnml.scoring.crm)
    TERM_STATE = "term_state"
    IN_GRACE = "in_grace"
    RENEWAL_DATE = "renewal_date"
    RENEWAL_DAYS = "renewal_due_days"
    RENEWAL_VALUE = "renewal_value"
    RENEWAL_DUE = "renewal_due"
    LAST_INTERACTION = "last_interaction"
    DAYS_SILENT = "days_silent"
    ONBOARDING_STALLED = "onboarding_stalled"
    LAST_DATA_EXPORT = "last_data_export"
    # zones: the model's own zone, the stable zone after hysteresis and rules, and its history
    MODEL_ZONE = "model_zone"
    ZONE_RAISED_BY = "zone_raised_by"
    ZONE_CHANGES = "zone_changes"
    # the action: who acts (role), and what it follows from
    ACTION_ROLE = "action_role"
    ACTION_BASIS = "action_basis"
