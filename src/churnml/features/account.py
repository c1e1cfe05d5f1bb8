"""Account features: tenure and the account warning signals (champion left, layoffs, budget cut, ...).

Inputs: the ``signals`` table (``client_id, ts, signal, note``) as a Narwhals lazy frame, or ``None``
when the dataset has none (then only tenure is emitted), plus the client x week grid (which carries each
client's created day). Output grain: one row per client x grid week (``client_id``, ``_week``), columns
``account_*`` of the registry, each describing the snapshot that starts the next week from data
strictly before it. Signal kinds outside ``Signals.KNOWN`` are counted as ``other``, but for the known kinds that
are no warning (``Signals.NOT_WARNINGS``: ``cancellation_withdrawn``, read by the support family and the CRM
views), which no account feature counts.
"""

from __future__ import annotations

from datetime import date

import narwhals as nw
import polars as pl

from churnml.config import FeaturesConfig
from churnml.contract.schemas import CLIENT_ID, Signals
from churnml.contract.validation import PLAUSIBLE_FROM
from churnml.features._grid import (
    CDAY,
    DAY,
    SDAY,
    WEEK,
    WeekAxis,
    add_cumulative,
    day_number,
    days_since,
    held_shifts,
    on_grid,
    validated_weeks,
    week_of,
    window_sum,
    with_running_max,
)
from churnml.features.spec import SpecPattern, spec

__all__ = [
    "FAMILY",
    "SCOPE",
    "SIGNALS_GROUP",
    "SIGNAL_KINDS",
    "SPECS",
    "TENURE_CENSORED",
    "account_features",
    "other_signals_note",
]

SIGNAL_KINDS: tuple[str, ...] = (*Signals.KNOWN, "other")


def other_signals_note(signals: pl.DataFrame, shown: int = 5) -> str | None:
    """A note naming the signal kinds outside ``Signals.KNOWN`` and ``Signals.NOT_WARNINGS`` with their rows (most
    first): they are all counted, and said, as 'other' ("1 account warning signal ...: 'other'"), so a strong one
    of the user's own ("cancellation_intent") reads as nothing in particular. It says what 'other' does (a warning
    that raises the risk and, leading, the account family's play) and where the notes that warn of nothing go: a
    clinic's 'pet_deceased' and 'price_sensitive' notes led 6 of the 10 red households of a list to "Account review
    with the decision maker": 5 of them still clients (a pet's death in a household keeping its other pets, a
    trait), 1 whose last pet had died, not in ``churns``. A record that the client left is a ``churns`` row, a
    trait or a life event it stays through is no signal. None when every kind is known."""
    told = [*Signals.KNOWN, *Signals.NOT_WARNINGS]
    kinds = signals.get_column(Signals.SIGNAL).cast(pl.String).drop_nulls()
    counts = kinds.filter(~kinds.is_in(told)).value_counts(sort=True)
    if counts.height == 0:
        return None
    rows = sorted(counts.iter_rows(), key=lambda r: (-r[1], str(r[0])))
    names = ", ".join(f"{k!r} ({n:,})" for k, n in rows[:shown])
    more = f" and {len(rows) - shown} more" if len(rows) > shown else ""
    known = ", ".join(told)
    return (
        f"signals: {names}{more} are not among the kinds churnml tells apart ({known}): they are counted and "
        "said as 'other', a warning sign that raises the risk and, leading, the account family's play "
        "(playbooks.families.account). Map each to the nearest known kind where one fits (a 'will not renew' note "
        "is a cancellation_request ticket, a new decision maker is champion_left); a note that the client left "
        "(moved away, deceased, closed, records sent to another provider) is a churns row on its day (reason moved, "
        "closed, competitor), and a note that warns of nothing (a trait such as 'price sensitive', a life event the "
        "client stays through) is no signal: leave it out"
    )


# contract.validation.PLAUSIBLE_FROM (1971-01-01) as a day number (days since 1970-01-01)
_PLAUSIBLE_DAY = (PLAUSIBLE_FROM - date(1970, 1, 1)).days


def account_features(
    signals: nw.LazyFrame | None, grid: nw.LazyFrame, axis: WeekAxis, cfg: FeaturesConfig
) -> nw.LazyFrame:
    """Tenure plus, when ``signals`` is given, counts per kind per window and days since each kind."""
    # a created_at before 1971 is a placeholder (1900-01-01, 1970-01-01: kept and reported by validation):
    # its tenure is unknown, not "Client for 46355 days"
    tenure = (
        nw.when(nw.col(CDAY) >= _PLAUSIBLE_DAY)
        .then(nw.col(SDAY) - nw.col(CDAY))
        .cast(nw.Float64)
        .alias("account_tenure_days")
    )
    if signals is None:
        return grid.select(CLIENT_ID, WEEK, tenure)
    windows = [(d, validated_weeks(d)) for d in cfg.windows]
    fast = signals.implementation.is_polars()
    # a known kind that is no warning (a notice withdrawn) is neither a warning signal nor "other"
    warnings = signals.filter(
        ~nw.col(Signals.SIGNAL).cast(nw.String).is_in(list(Signals.NOT_WARNINGS)).fill_null(False)
    )
    s = warnings.with_columns(day_number(nw.col(Signals.TS), fast).alias(DAY))
    s = s.with_columns(
        week_of(nw.col(DAY), axis).alias(WEEK),
        nw.when(nw.col(Signals.SIGNAL).is_in(list(Signals.KNOWN)))
        .then(nw.col(Signals.SIGNAL))
        .otherwise(nw.lit("other"))
        .alias("_kind"),
    ).filter(nw.col(WEEK) <= axis.last_week)
    is_kind = {k: nw.col("_kind") == k for k in SIGNAL_KINDS}
    weekly = s.group_by(CLIENT_ID, WEEK).agg(
        nw.len().alias("_all"),
        *[nw.when(c).then(nw.lit(1)).otherwise(nw.lit(0)).sum().alias(f"_n_{k}") for k, c in is_kind.items()],
        *[nw.when(c).then(nw.col(DAY)).max().alias(f"_last_{k}") for k, c in is_kind.items()],
    )
    counts = ["_all", *[f"_n_{k}" for k in SIGNAL_KINDS]]
    g = on_grid(grid, weekly, counts)
    g = with_running_max(g, [f"_last_{k}" for k in SIGNAL_KINDS])
    g = add_cumulative(g, counts)
    feats: list[nw.Expr] = [tenure]
    with held_shifts() as held:  # the shifts as columns of their own (_grid.HeldShifts)
        for d, w in windows:
            feats.append(window_sum("_all", w).alias(f"account_signals_{d}d"))
        for k in SIGNAL_KINDS:
            feats += [window_sum(f"_n_{k}", w).alias(f"account_{k}_{d}d") for d, w in windows]
            feats.append(days_since(f"_last_{k}").alias(f"account_days_since_{k}"))
    return held.on(g).select(CLIENT_ID, WEEK, *feats)


# ---- what each column means (collected by churnml.features.registry; order = column order)
FAMILY = "account"
SCOPE = "tenure and company signals"


# one group for every signal feature: a client's "champion left" is one reason, not two ("1 account
# warning signal: 'champion left'" beside "1 'champion left' signal" in one explanation)
SIGNALS_GROUP = "account_signals"


def _signal_specs(kind: str) -> tuple[SpecPattern, SpecPattern]:
    """The two features of one signal kind: its count per window and the days since the last one."""
    words = kind.replace("_", " ")
    return (
        spec(
            f"account_{kind}_{{w}}d",
            FAMILY,
            "signals",
            1,
            SIGNALS_GROUP,
            f"{{value:.0f}} '{words}' signals in the last {{w}} days",
        ),
        spec(
            f"account_days_since_{kind}",
            FAMILY,
            "days",
            -1,
            SIGNALS_GROUP,
            f"Last '{words}' signal {{value:.0f}} days ago",
            "days",
            f"days since '{words}'",
        ),
    )


# 1 for a client created at the data's start, whose tenure is unknown (features.build.with_censored_starts)
TENURE_CENSORED = "account_tenure_censored"

SPECS: tuple[SpecPattern, ...] = (
    spec("account_tenure_days", FAMILY, "days", 0, "tenure", "Client for {value:.0f} days", "days", "tenure"),
    spec(
        TENURE_CENSORED,
        FAMILY,
        "flag",
        0,
        "tenure",
        "Client since before the data began (start date not in the data)",
        "count",
        "start before the data",
    ),
    spec(
        "account_signals_{w}d",
        FAMILY,
        "signals",
        1,
        SIGNALS_GROUP,
        "{value:.0f} account warning signals in the last {w} days",
    ),
    *(pattern for kind in SIGNAL_KINDS for pattern in _signal_specs(kind)),
)
