"""Synthetic CRM generator: all nine contract tables from a known churn mechanism, plus the truth.

This is the demo dataset and the test bed of churnml. Every client is simulated week by week
(vectorised over a chunk of clients with NumPy; the only Python loop runs over the weeks), then each
table is drawn from the weekly state in one vectorised pass.

Mechanism
---------
- **Clients** belong to a segment (``smb``, ``mid``, ``enterprise``) that sets seats, price per seat,
  billing (monthly terms for most, annual for some; annual is common in enterprise), add-ons, margin,
  owner and strategic importance (0-3). About half the clients exist when the data starts: they are
  created in its first four weeks (the CRM went live) but are already past onboarding, and an annual
  contract has a random part left; the rest arrive evenly over the period. New clients ramp up
  their usage over their first weeks (onboarding); some stall.
- **Engagement** drifts weekly as an AR(1) process around a per-client level; it drives the volume of
  usage and, weakly, the churn hazard and the chance of a decline.
- **Decline episodes** are the risk state. One starts at random (more often for small clients, after a
  shock signal such as a champion leaving, when engagement is low, and as a stalled onboarding for
  some new clients). Its intensity ``d`` ramps from 0 to a peak over 8-26 weeks, holds 4-16 weeks, then fades
  (the client recovers if it has not left). An episode has a true reason (price, service, competitor,
  lost_interest, forgot, moved, other) and shows a random subset of the sign families that fit the
  reason (usage, payments, communication, support, account), each sign with intensity ``d``; about
  one episode in twenty shows no sign at all. The signs run ahead of the hazard:
  they reach full strength after 60% of the ramp, the hazard (``d**2``) only at its end.
- **Churn** is decided at term ends only: a client whose term ends in week ``w`` does not renew with
  probability ``hazard = min(0.9, 1 - exp(-lambda * term_months))``, where the monthly rate is
  ``lambda = base(segment, tenure, engagement) + lambda_decline * d**2``. The client's last term then
  ends at its churn date, which is ``churns.churned_at``. Churns from the base rate come without
  warning. Some churned clients return (a new term more than 30 days later: win-back).
- **Noise** that fools rules: seasonal dips (August, Christmas) and vacations of healthy clients, one-off
  late payments, routine data exports, occasional low ratings and unanswered emails, shock signals that
  do not lead to churn, at-risk clients who recover, churners without warning.

The target churn rate (``SynthParams.churn_rate``, default 0.025 = 2.5% of active clients per month)
scales the base rate and the rate at which episodes start; the realised monthly rate (churns per
active client-month) lands close to it (within about +-35% on small samples).

Tables (``schemas.CONTRACT`` columns and types exactly; every file sorted by client, then time):
``clients``, ``events`` (login with session seconds in ``value``; report_view, dashboard_view,
api_call, integration_sync = the key features; page_view, search = basic; data_export),
``subscriptions`` (one row per term; add-ons as ``is_addon`` rows), ``payments`` (one invoice per term;
invoices not yet due at the data end are not exported), ``communications``, ``tickets``, ``signals``,
``churns``, ``interventions`` (a win-back A/B test with a known effect and retention calls, drawn from
its own random stream; see :func:`_interventions`). Nothing is dated at or after the data end except ``subscriptions.end_date`` of running terms.

Truth (``--truth-out``; the pipeline never reads it)
----------------------------------------------------
- ``hazard.parquet``: one row per client x week (``week`` = the Monday, ``pl.Date``) in which the client
  is active, and the week of a churn due on its Monday (which holds that churn's hazard); ``hazard`` =
  P(the client's churn date falls in that week | active at the week's start); non-zero only in weeks
  where a term ends, on the day ``due`` (``pl.Date``); ``spell`` (0 for the
  first subscription spell, 1 after a first return, ...); ``reason`` (true reason when that spell ends
  in churn, else null); ``decline`` (the latent intensity ``d``); ``term_months`` (1 or 12: the months
  of rate a term end's hazard is read over, the client's billing as :func:`_term_hazard` uses it).
- ``clients.parquet``: one row per client: ``client_id``, ``segment``, ``created_at``, ``churn_dates``
  (list of dates), ``reasons`` (list), ``warned`` (first churn came with visible signs), ``episodes``,
  ``recovered`` (episodes survived), ``returned``, ``vacation_weeks``, ``late_noise`` (one-off late
  payments while healthy).

Oracle: for a client active at snapshot ``s`` and a horizon of ``H`` days,
``P(churn in [s, s + H)) = 1 - prod(1 - hazard)`` over the truth rows of the spell active at ``s``
whose ``due`` lies in ``[s, s + H)`` (see :func:`oracle_probability`). It uses the realised path of the
latent decline, so it is an upper bound on what any model can reach.

Determinism: clients are generated in fixed chunks of :data:`CHUNK_CLIENTS`, each from its own
``numpy.random.Generator`` seeded with ``(seed, chunk index)``; the same parameters give byte-identical
files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from churnml.contract.schemas import (
    CLIENT_ID,
    CONTRACT,
    SNAPSHOT,
    Churns,
    Clients,
    Communications,
    Events,
    Interventions,
    Kind,
    Payments,
    Signals,
    Subscriptions,
    Table,
    Tickets,
)
from churnml.scoring.outputs import MARKER, MARKER_KEY

__all__ = [
    "CHUNK_CLIENTS",
    "KEY_EVENTS",
    "TRUTH_CLIENTS",
    "TRUTH_HAZARD",
    "SynthParams",
    "SyntheticChunk",
    "Truth",
    "data_end",
    "nowcast_probability",
    "oracle_probability",
    "synthetic_chunk",
    "write_synthetic_dataset",
]

CHUNK_CLIENTS = 2000  # fixed: the chunking is part of the random stream (determinism)

DAY = 86_400
WEEK = 7 * DAY
BIG_DAY = 10**7  # "no date" for day-number arrays


class Truth:
    """Names of the truth tables and their columns (the pipeline never reads them)."""

    HAZARD = "hazard"
    CLIENTS = "clients"
    WEEK = "week"
    DUE = "due"
    SPELL = "spell"
    REASON = "reason"
    DECLINE = "decline"
    TERM_MONTHS = "term_months"
    SEGMENT = "segment"
    CREATED_AT = "created_at"
    CHURN_DATES = "churn_dates"
    REASONS = "reasons"
    WARNED = "warned"
    EPISODES = "episodes"
    RECOVERED = "recovered"
    RETURNED = "returned"
    VACATION_WEEKS = "vacation_weeks"
    LATE_NOISE = "late_noise"
    # winback.parquet: one row per win-back test unit (a churn contacted by a campaign)
    WINBACK = "winback"
    CHURNED_AT = "churned_at"
    CONTACTED_AT = "contacted_at"
    CAMPAIGN = "campaign"
    VARIANT = "variant"
    P_RETURN = "p_return"
    P_RETURN_A = "p_return_a"
    P_RETURN_B = "p_return_b"


TRUTH_HAZARD = Truth.HAZARD
TRUTH_CLIENTS = Truth.CLIENTS

SEGMENTS = ("smb", "mid", "enterprise")
PLANS = ("starter", "growth", "enterprise")
ADDON_PRODUCT = "analytics_addon"
INDUSTRIES = (
    "software",
    "retail",
    "finance",
    "healthcare",
    "manufacturing",
    "education",
    "logistics",
    "media",
)
REGIONS = ("north_america", "europe", "apac", "latam")
OWNERS = (
    ("ava.smith", "ben.jones", "chloe.brown", "dan.miller", "eva.wilson"),
    ("finn.moore", "grace.taylor", "hugo.anderson"),
    ("iris.thomas", "jack.martin"),
)
NAME_A = ("North", "Blue", "Silver", "Bright", "Green", "Red", "Swift", "Clear", "Iron", "Sun", "Oak", "Nova")
NAME_B = (
    "wind",
    "river",
    "stone",
    "field",
    "peak",
    "wave",
    "light",
    "bridge",
    "forge",
    "gate",
    "leaf",
    "star",
)
NAME_C = ("Labs", "Ltd", "GmbH", "Inc", "Group", "Partners", "Systems", "Co")

KEY_EVENTS = ("report_view", "dashboard_view", "api_call", "integration_sync")
BASIC_EVENTS = ("page_view", "search")
LOGIN_EVENT = "login"
EXPORT_EVENT = "data_export"
EVENT_NAMES = (LOGIN_EVENT, *KEY_EVENTS, *BASIC_EVENTS, EXPORT_EVENT)

# the reasons the generator draws (rows of its matrices), a subset of Churns.REASONS
REASONS = ("price", "service", "forgot", "lost_interest", "moved", "competitor", "other")
R_PRICE, R_SERVICE, R_FORGOT, R_LOST, R_MOVED, R_COMPETITOR, R_OTHER = range(7)
# Which episode reasons occur, and which reasons churn from the base rate (no warning) carries.
EPISODE_REASON_P = np.array([0.25, 0.18, 0.05, 0.20, 0.05, 0.17, 0.10])
BASE_REASON_P = np.array([0.20, 0.05, 0.25, 0.05, 0.25, 0.0, 0.20])
RETURN_P = np.array([0.20, 0.08, 0.35, 0.10, 0.05, 0.15, 0.15])  # win-back probability by reason
# Win-back test (interventions table): variant B (the reason's own approach) multiplies the chance to
# return by (1 + WINBACK_EFFECT), variant A (a generic email) by (1 - WINBACK_EFFECT); half and half.
WINBACK_EFFECT = 0.4
WINBACK_VARIANTS = ("A", "B")
# Variant B's follow-up by reason (price, service, forgot, lost_interest, moved, competitor, other).
WINBACK_B_KIND = ("offer", "call", "email", "email", "other", "offer", "call")
RETENTION_DECLINE = 0.5  # a retention call when a decline first reaches this intensity ...
RETENTION_P = 0.5  # ... with this probability

# the registry's signal families, in its order: the columns of FAMILY_P below
F_USAGE, F_PAY, F_COMM, F_SUPPORT, F_ACCOUNT = range(5)
# P(family shows | episode reason), rows = REASONS.
FAMILY_P = np.array(
    [
        [0.45, 0.95, 0.50, 0.35, 0.65],  # price
        [0.60, 0.25, 0.70, 0.95, 0.30],  # service
        [0.90, 0.15, 0.70, 0.05, 0.10],  # forgot
        [0.95, 0.25, 0.80, 0.10, 0.40],  # lost_interest
        [0.40, 0.15, 0.50, 0.05, 0.90],  # moved
        [0.80, 0.25, 0.60, 0.20, 0.95],  # competitor
        [0.55, 0.45, 0.55, 0.45, 0.45],  # other
    ]
)
SILENT_EPISODE_P = 0.05

# Individual signs; each belongs to one family (account signs are discrete signals, see SIGNAL_P).
SIGNS = (
    "fewer_logins",
    "shorter_sessions",
    "key_features_dropped",
    "fewer_users",
    "data_exports",
    "late_payments",
    "seat_reduction",
    "addon_dropped",
    "discount_requests",
    "meetings_cancelled",
    "slow_short_replies",
    "no_reply",
    "negative_tone",
    "complaints",
    "low_csat",
)
SIGN_FAMILY = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3])
(
    S_LOGINS,
    S_SESSION,
    S_KEY,
    S_USERS,
    S_EXPORT,
    S_LATE,
    S_SEATS,
    S_ADDON,
    S_DISCOUNT,
    S_MEET,
    S_SLOW,
    S_NOREPLY,
    S_TONE,
    S_COMPLAINT,
    S_CSAT,
) = range(len(SIGNS))
SUB_SIGN_P = 0.85

SIGNAL_KINDS = (
    Signals.KNOWN
)  # champion_left, layoffs, budget_cut, strategy_change, vendor_review, competitor_trial
SIGNAL_NOTES = (
    "our champion has left the company",
    "the client announced layoffs",
    "the client's budget was cut",
    "new strategy at the client",
    "the client reviews all its vendors",
    "the client is trialling a competitor",
)
# P(signal kind | account family shows, reason), rows = REASONS, columns = SIGNAL_KINDS.
SIGNAL_P = np.array(
    [
        [0.20, 0.50, 0.70, 0.10, 0.30, 0.10],  # price
        [0.20, 0.05, 0.05, 0.10, 0.60, 0.30],  # service
        [0.60, 0.10, 0.05, 0.20, 0.05, 0.05],  # forgot
        [0.50, 0.10, 0.10, 0.50, 0.10, 0.10],  # lost_interest
        [0.40, 0.40, 0.10, 0.60, 0.05, 0.05],  # moved
        [0.10, 0.05, 0.05, 0.10, 0.60, 0.80],  # competitor
        [0.30, 0.30, 0.30, 0.30, 0.30, 0.30],  # other
    ]
)

# Segment parameters (smb, mid, enterprise).
SEGMENT_P = np.array([0.62, 0.28, 0.10])
PRICE_PER_SEAT = np.array([39.0, 32.0, 27.0])
ANNUAL_P = np.array([0.10, 0.35, 0.70])
ADDON_P = np.array([0.15, 0.35, 0.50])
NET_DAYS = np.array([14, 30, 30])
MARGIN_MEAN = np.array([0.75, 0.70, 0.60])
STRATEGIC_P = np.array([[0.60, 0.30, 0.08, 0.02], [0.30, 0.40, 0.20, 0.10], [0.05, 0.25, 0.40, 0.30]])
API_P = np.array([0.20, 0.50, 0.80])
SYNC_P = np.array([0.30, 0.60, 0.85])
BASE_HAZARD_MULT = np.array([1.3, 0.8, 0.5])
ONSET_MULT = np.array([1.2, 0.85, 0.6])
COMM_RATE = np.array([0.35, 0.7, 1.1])  # outbound emails per week
MEETING_RATE = np.array([0.04, 0.12, 0.25])
TICKET_RATE = np.array([0.04, 0.10, 0.22])

# Hazard calibration (monthly rates at the default churn_rate 0.025; scaled linearly with it).
BASE_RATE_SHARE = 0.25  # share of the target churn rate that comes from the base (no-warning) hazard
ONSET_PER_WEEK = 0.0072  # weekly probability that a healthy average client starts a decline episode
DECLINE_RATE = 0.85  # monthly churn rate added at full decline intensity (d = 1)
MAX_HAZARD = 0.9
SIGN_LEAD = 1.7  # signs reach their peak after 1/SIGN_LEAD of the ramp (the hazard only at its end)
STALL_P = 0.12  # share of new clients whose onboarding stalls (an episode from day one)
SHOCK_P = 0.0015  # weekly probability of a shock signal (raises the onset rate for 12 weeks)
SHOCK_MULT = 4.0


@dataclass(frozen=True)
class SynthParams:
    """What to generate. ``churn_rate`` is the target share of active clients churning per month."""

    clients: int = 2000
    months: int = 24
    seed: int = 42
    start: date = date(2024, 1, 1)
    churn_rate: float = 0.025

    def __post_init__(self) -> None:
        if self.clients < 1:
            raise ValueError(f"clients must be >= 1, got {self.clients}")
        if self.months < 3:
            raise ValueError(f"months must be >= 3, got {self.months}")
        if not 0 < self.churn_rate < 0.3:
            raise ValueError(f"churn_rate must be in (0, 0.3), got {self.churn_rate}")

    @property
    def end(self) -> date:
        """The data end: midnight after the last day of data (exclusive)."""
        return data_end(self.start, self.months)

    @property
    def chunks(self) -> int:
        return -(-self.clients // CHUNK_CLIENTS)


def data_end(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months (exclusive end of the data)."""
    m = start.month - 1 + months
    year, month = start.year + m // 12, m % 12 + 1
    first_next = date(year + month // 12, month % 12 + 1, 1)
    last_day = (first_next - timedelta(days=1)).day
    return date(year, month, min(start.day, last_day))


@dataclass(frozen=True)
class SyntheticChunk:
    """The tables of one chunk of clients: contract tables and truth tables (polars frames)."""

    tables: dict[Table, pl.DataFrame]
    truth: dict[str, pl.DataFrame] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------
_EPOCH = date(1970, 1, 1)


def _day_number(d: date) -> int:
    return (d - _EPOCH).days


def _add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Day numbers plus calendar months (the day of month is clipped to the target month)."""
    d = days.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    dom = (d - m.astype("datetime64[D]")).astype(np.int64)
    target = m + np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    first = target.astype("datetime64[D]")
    dim = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - first).astype(np.int64)
    return (first.astype(np.int64) + np.minimum(dom, dim - 1)).astype(np.int64)


def _datetimes(seconds: np.ndarray) -> np.ndarray:
    return (np.asarray(seconds, dtype=np.int64) * 1_000_000).astype("datetime64[us]")


def _dt_series(name: str, seconds: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    s = pl.Series(name, _datetimes(seconds), dtype=pl.Datetime("us"))
    if valid is not None:
        s = pl.select(pl.when(pl.Series(valid)).then(s).otherwise(None).alias(name)).to_series()
    return s


def _float_series(name: str, values: np.ndarray) -> pl.Series:
    return pl.Series(name, np.asarray(values, dtype=np.float64), dtype=pl.Float64, nan_to_null=True)


def _pick(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0])[:, None] * cum[:, -1:]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


def _lookup(values: tuple[str, ...], index: np.ndarray, name: str) -> pl.Series:
    return pl.Series(name, values, dtype=pl.String).gather(pl.Series(np.asarray(index, dtype=np.int64)))


# ----------------------------------------------------------------------------------------------
# Clients and the weekly simulation
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Grid:
    monday0: int  # day number of the Monday on or before the start
    start: int
    end: int  # exclusive
    weeks: int

    @property
    def week_days(self) -> np.ndarray:
        return self.monday0 + 7 * np.arange(self.weeks, dtype=np.int64)


def _grid(params: SynthParams) -> _Grid:
    start = _day_number(params.start)
    end = _day_number(params.end)
    monday0 = start - params.start.weekday()
    return _Grid(monday0, start, end, -(-(end - monday0) // 7))


def _client_ids(first: int, n: int, total: int) -> list[str]:
    width = max(6, len(str(total)))
    return [f"C{i:0{width}d}" for i in range(first + 1, first + n + 1)]


def _static_clients(rng: np.random.Generator, n: int, grid: _Grid) -> dict[str, np.ndarray]:
    seg = _pick(rng, np.broadcast_to(SEGMENT_P, (n, 3)))
    seats = np.where(
        seg == 0,
        1 + rng.poisson(4, n),
        np.where(
            seg == 1, np.round(rng.lognormal(np.log(20), 0.4, n)), np.round(rng.lognormal(np.log(80), 0.5, n))
        ),
    )
    seats = np.clip(seats, 1, 300).astype(np.float64)
    initial = rng.random(n) < 0.5
    span = grid.end - 14 - (grid.start + 28)
    created_day = np.where(
        initial,
        grid.start + rng.integers(0, 28, n),
        grid.start + 28 + (rng.random(n) * max(span, 1)).astype(np.int64),
    )
    created_sec = created_day * DAY + rng.integers(8 * 3600, 18 * 3600, n)
    # Clients of the initial cohort were clients before the CRM went live: they are past onboarding
    # (a hidden prior tenure of 6 months to 4 years) and an annual contract has a random part left.
    prior_weeks = np.where(initial, rng.uniform(26, 208, n), 0.0)
    term_m = np.where(rng.random(n) < ANNUAL_P[seg], 12, 1)
    first_term_m = np.where(initial & (term_m == 12), rng.integers(1, 13, n), term_m)
    base_mrr = seats * PRICE_PER_SEAT[seg] * rng.uniform(0.9, 1.1, n)
    key_adopt = np.column_stack(
        [rng.random(n) < 0.85, rng.random(n) < 0.92, rng.random(n) < API_P[seg], rng.random(n) < SYNC_P[seg]]
    )
    return {
        "seg": seg,
        "seats": seats,
        "price": np.round(PRICE_PER_SEAT[seg] * rng.uniform(0.9, 1.1, n), 2),
        "term_m": term_m,
        "first_term_m": first_term_m,
        "initial": initial,
        "prior_weeks": prior_weeks,
        "addon": rng.random(n) < ADDON_P[seg],
        "addon_price": np.round(0.15 * base_mrr, 2),
        "created_day": created_day,
        "created_sec": created_sec,
        "margin": np.clip(rng.normal(MARGIN_MEAN[seg], 0.08), 0.2, 0.95).round(3),
        "strategic": _pick(rng, STRATEGIC_P[seg]),
        "owner": np.array(
            [OWNERS[s][k % len(OWNERS[s])] for s, k in zip(seg, rng.integers(0, 60, n), strict=True)]
        ),
        "industry": rng.integers(0, len(INDUSTRIES), n),
        "region": rng.integers(0, len(REGIONS), n),
        "name_parts": rng.integers(0, 12, (n, 3)),
        "adopt": rng.beta(4, 3, n),
        "level": rng.lognormal(0, 0.3, n),  # between-client usage level
        "key_adopt": key_adopt,
        "routine_export": rng.random(n) < 0.06,
    }


@dataclass
class _Sim:
    """Everything the weekly loop records (arrays are clients x weeks unless noted)."""

    lo: np.ndarray  # seconds after the Monday at which the client becomes active in that week
    hi: np.ndarray  # seconds after the Monday at which it stops (lo == hi: not active)
    d: np.ndarray  # latent decline intensity
    sig: np.ndarray  # clients x weeks x signs: sign intensities
    ar: np.ndarray  # engagement (AR(1) part)
    seats: np.ndarray
    hazard: np.ndarray
    due: np.ndarray  # day number of the term end in the week, -1 when none
    spell: np.ndarray  # spell index, -1 when not active
    terms: dict[str, np.ndarray]  # one row per main term
    churns: dict[str, np.ndarray]  # one row per churn
    signals: dict[str, np.ndarray]  # one row per signal candidate
    episodes: np.ndarray  # per client
    recovered: np.ndarray  # per client
    spell_reason: dict[tuple[int, int], int]


@dataclass
class _State:
    """The weekly loop's working state: per-client arrays (updated in place week by week, the one place
    in this module that mutates) and the rows recorded so far (lists of arrays, concatenated at the end).

    Recorded arrays are clients x weeks: ``lo``/``hi`` (active seconds in the week), ``d_rec`` (decline),
    ``sig_rec`` (sign intensities), ``ar_rec``, ``seats_rec``, ``hazard``, ``due_rec``, ``spell_rec``.
    """

    lo: np.ndarray
    hi: np.ndarray
    d_rec: np.ndarray
    sig_rec: np.ndarray
    ar_rec: np.ndarray
    seats_rec: np.ndarray
    hazard: np.ndarray
    due_rec: np.ndarray
    spell_rec: np.ndarray
    alive: np.ndarray
    next_end: np.ndarray
    seats: np.ndarray
    discount: np.ndarray
    addon: np.ndarray
    ar: np.ndarray
    ep_k: np.ndarray  # week within the decline episode, -1 when none
    ep_D: np.ndarray  # ramp weeks
    ep_H: np.ndarray  # hold weeks
    ep_R: np.ndarray  # recovery weeks
    ep_s: np.ndarray  # episode strength
    ep_reason: np.ndarray
    ep_visible: np.ndarray
    ep_sig: np.ndarray  # clients x signs
    shock_until: np.ndarray
    return_day: np.ndarray
    spell_no: np.ndarray
    episodes: np.ndarray
    recovered: np.ndarray
    terms: dict[str, list[np.ndarray]]
    churns: dict[str, list[np.ndarray]]
    signals: dict[str, list[np.ndarray]]
    spell_reason: dict[tuple[int, int], int]


def _initial_state(rng: np.random.Generator, st: dict[str, np.ndarray], weeks: int) -> _State:
    """Nobody active yet; engagement drawn (the first draw of the simulation)."""
    n = st["seg"].shape[0]
    return _State(
        lo=np.zeros((n, weeks), np.int32),
        hi=np.zeros((n, weeks), np.int32),
        d_rec=np.zeros((n, weeks), np.float32),
        sig_rec=np.zeros((n, weeks, len(SIGNS)), np.float32),
        ar_rec=np.zeros((n, weeks), np.float32),
        seats_rec=np.zeros((n, weeks), np.float32),
        hazard=np.zeros((n, weeks), np.float32),
        due_rec=np.full((n, weeks), -1, np.int64),
        spell_rec=np.full((n, weeks), -1, np.int16),
        alive=np.zeros(n, bool),
        next_end=np.full(n, BIG_DAY, np.int64),
        seats=st["seats"].copy(),
        discount=np.zeros(n),
        addon=st["addon"].copy(),
        ar=rng.normal(0, 0.5, n),
        ep_k=np.full(n, -1, np.int64),
        ep_D=np.ones(n, np.int64),
        ep_H=np.ones(n, np.int64),
        ep_R=np.ones(n, np.int64),
        ep_s=np.zeros(n),
        ep_reason=np.zeros(n, np.int64),
        ep_visible=np.zeros(n, bool),
        ep_sig=np.zeros((n, len(SIGNS)), np.float32),
        shock_until=np.full(n, -1, np.int64),
        return_day=np.full(n, -1, np.int64),
        spell_no=np.full(n, -1, np.int64),
        episodes=np.zeros(n, np.int64),
        recovered=np.zeros(n, np.int64),
        terms={k: [] for k in ("client", "start", "end", "seats", "discount", "addon")},
        churns={k: [] for k in ("client", "day", "reason", "warned")},
        signals={k: [] for k in ("client", "sec", "kind")},
        spell_reason={},
    )


def _add_terms(
    s: _State, term_m: np.ndarray, idx: np.ndarray, start: np.ndarray, months: np.ndarray | None = None
) -> None:
    """Record a new main term for clients ``idx`` starting at ``start`` (their usual length by default)."""
    end = _add_months(start, term_m[idx] if months is None else months)
    s.next_end[idx] = end
    for key, value in (
        ("client", idx),
        ("start", start),
        ("end", end),
        ("seats", s.seats[idx].copy()),
        ("discount", s.discount[idx].copy()),
        ("addon", s.addon[idx].copy()),
    ):
        s.terms[key].append(np.asarray(value))


def _start_episodes(
    rng: np.random.Generator, s: _State, grid: _Grid, idx: np.ndarray, k: int, forced_reason: int | None
) -> None:
    """Start a decline episode in week ``k`` for clients ``idx`` (with its account signals)."""
    m = idx.size
    if m == 0:
        return
    reason = (
        np.full(m, forced_reason)
        if forced_reason is not None
        else _pick(rng, np.broadcast_to(EPISODE_REASON_P, (m, 7)))
    )
    visible = rng.random(m) >= SILENT_EPISODE_P
    fam_on = (rng.random((m, 5)) < FAMILY_P[reason]) & visible[:, None]
    if forced_reason is not None:
        fam_on[:, F_USAGE] = visible
    strength = rng.uniform(0.7, 1.0, (m, 5))
    sub_on = rng.random((m, len(SIGNS))) < SUB_SIGN_P
    # at least one sign of each shown family: the strongest-drawn sub-sign is forced on
    sig = fam_on[:, SIGN_FAMILY] & sub_on
    s.ep_sig[idx] = (sig * strength[:, SIGN_FAMILY]).astype(np.float32)
    s.ep_k[idx] = 0
    s.ep_D[idx] = rng.integers(8, 27, m)
    s.ep_H[idx] = rng.integers(4, 17, m)
    s.ep_R[idx] = rng.integers(6, 17, m)
    s.ep_s[idx] = rng.uniform(0.35, 1.0, m)
    s.ep_reason[idx] = reason
    s.ep_visible[idx] = fam_on.any(axis=1)
    s.episodes[idx] += 1
    # account signals: discrete events at random weeks within the ramp and hold
    acc = np.flatnonzero(fam_on[:, F_ACCOUNT])
    if acc.size:
        chosen = rng.random((acc.size, len(SIGNAL_KINDS))) < SIGNAL_P[reason[acc]]
        best = np.argmax(SIGNAL_P[reason[acc]] * rng.random((acc.size, len(SIGNAL_KINDS))), axis=1)
        chosen[np.arange(acc.size), best] = True
        rows, kinds = np.nonzero(chosen)
        who = idx[acc[rows]]
        delay = (rng.random(rows.size) * (s.ep_D[who] + s.ep_H[who]) * WEEK).astype(np.int64)
        s.signals["client"].append(who)
        s.signals["sec"].append((grid.monday0 + 7 * k) * DAY + delay)
        s.signals["kind"].append(kinds)


def _arrive(rng: np.random.Generator, s: _State, st: dict[str, np.ndarray], grid: _Grid, k: int) -> None:
    """Week ``k``: new clients start their first term, churned ones whose return day falls in it return."""
    wk = grid.monday0 + 7 * k
    wk_sec = wk * DAY
    new = (st["created_day"] >= wk) & (st["created_day"] < wk + 7)
    back = ~s.alive & (s.return_day >= wk) & (s.return_day < wk + 7)
    if new.any():
        idx = np.flatnonzero(new)
        s.alive[idx] = True
        s.spell_no[idx] = 0
        s.lo[idx, k] = st["created_sec"][idx] - wk_sec
        s.hi[idx, k] = WEEK
        _add_terms(s, st["term_m"], idx, st["created_day"][idx], st["first_term_m"][idx])
        stall = idx[(rng.random(idx.size) < STALL_P) & ~st["initial"][idx]]
        _start_episodes(rng, s, grid, stall, k, R_LOST)
    if back.any():
        idx = np.flatnonzero(back)
        s.alive[idx] = True
        s.spell_no[idx] += 1
        s.lo[idx, k] = (s.return_day[idx] - wk) * DAY
        s.hi[idx, k] = WEEK
        s.seats[idx] = np.maximum(1, np.round(s.seats[idx] * rng.uniform(0.6, 1.0, idx.size)))
        s.discount[idx] = np.where(rng.random(idx.size) < 0.5, 0.15, 0.0)
        s.addon[idx] = False
        s.ar[idx] = rng.normal(0, 0.3, idx.size)
        _add_terms(s, st["term_m"], idx, s.return_day[idx])
        s.return_day[idx] = -1


def _decline_and_signs(
    rng: np.random.Generator, s: _State, st: dict[str, np.ndarray], grid: _Grid, k: int, onset: float
) -> tuple[np.ndarray, np.ndarray]:
    """Week ``k``'s engagement, shocks and decline episodes: (decline intensity, shown sign level) per client."""
    n = s.alive.size
    wk_sec = (grid.monday0 + 7 * k) * DAY
    s.ar = np.where(s.alive, 0.9 * s.ar + 0.25 * rng.normal(0, 1, n), s.ar)
    shock = s.alive & (rng.random(n) < SHOCK_P)
    if shock.any():
        idx = np.flatnonzero(shock)
        s.shock_until[idx] = k + 12
        s.signals["client"].append(idx)
        s.signals["sec"].append(wk_sec + rng.integers(0, WEEK, idx.size))
        s.signals["kind"].append(rng.integers(0, len(SIGNAL_KINDS), idx.size))
    p_on = onset * ONSET_MULT[st["seg"]] * np.where(s.shock_until > k, SHOCK_MULT, 1.0) * np.exp(-0.5 * s.ar)
    _start_episodes(rng, s, grid, np.flatnonzero(s.alive & (s.ep_k < 0) & (rng.random(n) < p_on)), k, None)
    in_ep = s.alive & (s.ep_k >= 0)
    s.ep_k[in_ep] += 1
    ramp = np.minimum(1.0, s.ep_k / s.ep_D)
    fade = np.clip(1.0 - (s.ep_k - s.ep_D - s.ep_H) / s.ep_R, 0.0, 1.0)
    d = np.where(in_ep, s.ep_s * np.where(s.ep_k <= s.ep_D + s.ep_H, ramp, fade), 0.0)
    # the signs run ahead of the hazard: they reach the peak early in the ramp
    lead = np.minimum(1.0, SIGN_LEAD * s.ep_k / s.ep_D)
    shown = np.where(in_ep, s.ep_s * np.where(s.ep_k <= s.ep_D + s.ep_H, lead, fade), 0.0)
    ended = in_ep & (s.ep_k >= s.ep_D + s.ep_H + s.ep_R)
    s.recovered[ended] += 1
    s.ep_k[ended] = -1
    s.ep_sig[ended] = 0.0
    return d, shown


def _record_week(s: _State, k: int, d: np.ndarray, shown: np.ndarray) -> None:
    s.d_rec[:, k] = d
    s.sig_rec[:, k, :] = shown[:, None] * s.ep_sig
    s.ar_rec[:, k] = s.ar
    s.seats_rec[:, k] = s.seats
    s.spell_rec[s.alive, k] = s.spell_no[s.alive]


def _term_hazard(
    s: _State, st: dict[str, np.ndarray], idx: np.ndarray, d: np.ndarray, lam0: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(churn probability over the term, total rate, decline part of the rate) of clients ``idx``."""
    seg, term_m = st["seg"], st["term_m"]
    tenure_days = s.next_end[idx] - st["created_day"][idx] + 7 * st["prior_weeks"][idx]
    base = (
        lam0 * BASE_HAZARD_MULT[seg[idx]] * np.where(tenure_days < 180, 1.5, 1.0) * np.exp(-0.35 * s.ar[idx])
    )
    base = base / st["level"][idx] ** 0.5
    decline = DECLINE_RATE * d[idx] ** 2
    lam = base + decline
    return np.minimum(MAX_HAZARD, 1.0 - np.exp(-lam * term_m[idx])), lam, decline


def _leave(
    rng: np.random.Generator,
    s: _State,
    grid: _Grid,
    k: int,
    gone: np.ndarray,
    g_reason: np.ndarray,
    warned: np.ndarray,
    u_back: np.ndarray,
) -> None:
    """Clients ``gone`` churn at their term end (some with a return day)."""
    wk = grid.monday0 + 7 * k
    s.churns["client"].append(gone)
    s.churns["day"].append(s.next_end[gone].copy())
    s.churns["reason"].append(g_reason)
    s.churns["warned"].append(warned)
    for c, r in zip(gone.tolist(), g_reason.tolist(), strict=True):
        s.spell_reason[(c, int(s.spell_no[c]))] = r
    s.hi[gone, k] = (s.next_end[gone] - wk) * DAY
    comes_back = u_back < RETURN_P[g_reason]
    gap = 31 + np.floor(rng.exponential(110, gone.size)).astype(np.int64)
    back_day = s.next_end[gone] + gap
    s.return_day[gone] = np.where(comes_back & (back_day < grid.end - 7), back_day, -1)
    s.alive[gone] = False
    s.ep_k[gone] = -1
    s.ep_sig[gone] = 0.0
    s.next_end[gone] = BIG_DAY


def _renew(
    rng: np.random.Generator, s: _State, term_m: np.ndarray, keep: np.ndarray, u: np.ndarray, dk: np.ndarray
) -> None:
    """Clients ``keep`` renew: seats cut or grown, add-on dropped or gained, a discount maybe granted."""
    s_seats, s_addon, s_disc = s.ep_sig[keep, S_SEATS], s.ep_sig[keep, S_ADDON], s.ep_sig[keep, S_DISCOUNT]
    cut = u[:, 1] < 0.02 + 0.6 * s_seats * dk
    grow = ~cut & (u[:, 1] > 0.96 - 0.02 * (s.ar[keep] > 0.3)) & (dk < 0.1)
    factor = np.where(
        cut,
        rng.uniform(0.6, 0.92, keep.size),
        np.where(grow, rng.uniform(1.1, 1.35, keep.size), 1.0),
    )
    s.seats[keep] = np.maximum(1, np.round(s.seats[keep] * factor))
    drop = s.addon[keep] & (u[:, 2] < 0.01 + 0.6 * s_addon * dk)
    gain = ~s.addon[keep] & (u[:, 2] > 0.995) & (dk < 0.1)
    s.addon[keep] = (s.addon[keep] & ~drop) | gain
    granted = u[:, 3] < 0.5 * s_disc * dk
    s.discount[keep] = np.where(
        granted,
        np.maximum(s.discount[keep], rng.uniform(0.1, 0.25, keep.size).round(2)),
        s.discount[keep],
    )
    _add_terms(s, term_m, keep, s.next_end[keep].copy())


def _end_terms(
    rng: np.random.Generator,
    s: _State,
    st: dict[str, np.ndarray],
    grid: _Grid,
    k: int,
    d: np.ndarray,
    shown: np.ndarray,
    lam0: float,
) -> None:
    """Week ``k``: every term ending in it churns (with a reason) or renews."""
    wk = grid.monday0 + 7 * k
    due = s.alive & (s.next_end < wk + 7) & (s.next_end < grid.end)
    if not due.any():
        return
    idx = np.flatnonzero(due)
    h, lam, decline = _term_hazard(s, st, idx, d, lam0)
    s.hazard[idx, k] = h
    s.due_rec[idx, k] = s.next_end[idx]
    leaves = rng.random(idx.size) < h
    from_episode = (rng.random(idx.size) * lam < decline) & (s.ep_k[idx] >= 0)
    base_reason = _pick(rng, np.broadcast_to(BASE_REASON_P, (idx.size, 7)))
    reason = np.where(from_episode, s.ep_reason[idx], base_reason)
    warned = from_episode & s.ep_visible[idx]
    renew_u = rng.random((idx.size, 6))
    if leaves.any():
        _leave(rng, s, grid, k, idx[leaves], reason[leaves], warned[leaves], renew_u[leaves, 0])
    stay = ~leaves
    if stay.any():
        _renew(rng, s, st["term_m"], idx[stay], renew_u[stay], shown[idx[stay]])


def _concatenated(parts: dict[str, list[np.ndarray]], dtypes: dict[str, type]) -> dict[str, np.ndarray]:
    """Each recorded column's arrays joined into one (empty of its dtype when nothing was recorded)."""
    return {
        key: np.concatenate(parts[key]).astype(dtype) if parts[key] else np.zeros(0, dtype)
        for key, dtype in dtypes.items()
    }


def _simulate(rng: np.random.Generator, st: dict[str, np.ndarray], grid: _Grid, params: SynthParams) -> _Sim:
    """The weekly simulation of every client: arrivals and returns, decline episodes, term ends."""
    scale = params.churn_rate / 0.025
    lam0 = BASE_RATE_SHARE * params.churn_rate
    onset = ONSET_PER_WEEK * scale
    s = _initial_state(rng, st, grid.weeks)
    for k in range(grid.weeks):
        s.lo[s.alive, k] = 0
        s.hi[s.alive, k] = WEEK
        _arrive(rng, s, st, grid, k)
        d, shown = _decline_and_signs(rng, s, st, grid, k, onset)
        _record_week(s, k, d, shown)
        _end_terms(rng, s, st, grid, k, d, shown, lam0)
        last = grid.end - (grid.monday0 + 7 * k)
        if last < 7:
            s.hi[:, k] = np.minimum(s.hi[:, k], last * DAY)
            s.lo[:, k] = np.minimum(s.lo[:, k], s.hi[:, k])
    return _Sim(
        lo=s.lo,
        hi=s.hi,
        d=s.d_rec,
        sig=s.sig_rec,
        ar=s.ar_rec,
        seats=s.seats_rec,
        hazard=s.hazard,
        due=s.due_rec,
        spell=s.spell_rec,
        terms=_concatenated(
            s.terms,
            {
                "client": np.int64,
                "start": np.int64,
                "end": np.int64,
                "seats": np.float64,
                "discount": np.float64,
                "addon": bool,
            },
        ),
        churns=_concatenated(
            s.churns, {"client": np.int64, "day": np.int64, "reason": np.int64, "warned": bool}
        ),
        signals=_concatenated(s.signals, {"client": np.int64, "sec": np.int64, "kind": np.int64}),
        episodes=s.episodes,
        recovered=s.recovered,
        spell_reason=s.spell_reason,
    )


# ----------------------------------------------------------------------------------------------
# Tables from the weekly state
# ----------------------------------------------------------------------------------------------
def _season(grid: _Grid) -> np.ndarray:
    """Usage factor per week: August and the Christmas weeks are quiet for everyone."""
    days = grid.week_days.astype("datetime64[D]") + 3  # mid-week
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    xmas = ((month == 12) & (dom >= 20)) | ((month == 1) & (dom <= 2))
    return np.where(xmas, 0.5, np.where(month == 8, 0.75, 1.0))


def _vacations(rng: np.random.Generator, grid: _Grid, n: int) -> np.ndarray:
    """Per client x week factor < 1 during a vacation (more likely in August and at Christmas)."""
    season = _season(grid)
    p = np.where(season < 0.6, 0.25, np.where(season < 1, 0.10, 0.012))
    starts = rng.random((n, grid.weeks)) < p[None, :]
    second = np.zeros_like(starts)
    second[:, 1:] = starts[:, :-1] & (rng.random((n, grid.weeks - 1)) < 0.4)
    factor = rng.uniform(0.1, 0.4, (n, grid.weeks))
    return np.where(starts | second, factor, 1.0)


def _spread(
    rng: np.random.Generator, counts: np.ndarray, sim: _Sim, grid: _Grid
) -> tuple[np.ndarray, np.ndarray]:
    """Expand client x week counts into rows: (flat client-week index, timestamp in seconds).

    Times fall within the client's active part of the week, mostly in office hours (07:00-19:00).
    """
    flat = counts.ravel()
    cw = np.repeat(np.arange(flat.size, dtype=np.int64), flat)
    weeks = grid.weeks
    lo = sim.lo.ravel()[cw].astype(np.int64)
    hi = sim.hi.ravel()[cw].astype(np.int64)
    offset = lo + np.floor(rng.random(cw.size) * (hi - lo)).astype(np.int64)
    office = (offset // DAY) * DAY + 7 * 3600 + (offset % DAY) // 2
    offset = np.clip(np.where(rng.random(cw.size) < 0.9, office, offset), lo, hi - 1)
    ts = (grid.monday0 + 7 * (cw % weeks)) * DAY + offset
    return cw, ts


def _poisson(rng: np.random.Generator, mean: np.ndarray) -> np.ndarray:
    return rng.poisson(np.maximum(mean, 0.0)).astype(np.int64)


def _exposure(sim: _Sim) -> np.ndarray:
    return (sim.hi - sim.lo).astype(np.float64) / WEEK


def _tenure_weeks(st: dict[str, np.ndarray], grid: _Grid) -> np.ndarray:
    own = np.maximum(0.0, (grid.week_days[None, :] * DAY - st["created_sec"][:, None]) / WEEK)
    return own + st["prior_weeks"][:, None]


def _events(rng, ids: pl.Series, st, sim: _Sim, grid: _Grid, vac: np.ndarray) -> pl.DataFrame:
    """Product usage: one row per event (client_id, ts, event, user_id, value = session seconds)."""
    expo = _exposure(sim)
    sig = sim.sig
    ramp = 1.0 - np.exp(-(_tenure_weeks(st, grid) + 0.5) / 5.0)
    act = ramp * _season(grid)[None, :] * vac * np.exp(0.35 * sim.ar) * st["level"][:, None]
    users = np.maximum(
        1.0,
        np.round(
            sim.seats
            * st["adopt"][:, None]
            * np.sqrt(ramp)
            * (1 - 0.7 * sig[..., S_USERS])
            * np.where(vac < 1, 0.5, 1)
        ),
    )
    base = users * act * expo
    means = [base * 1.6 * (1 - 0.75 * sig[..., S_LOGINS])]
    key_rates = (0.8, 1.0, 1.5, 0.5)
    for j, rate in enumerate(key_rates):
        means.append(
            base
            * rate
            * st["key_adopt"][:, j][:, None]
            * (1 - 0.9 * sig[..., S_KEY])
            * (1 - 0.4 * sig[..., S_LOGINS])
        )
    means.append(base * 0.9 * (1 - 0.3 * sig[..., S_LOGINS]))  # page_view
    means.append(base * 0.3)  # search
    export_rate = 0.012 + 0.25 * st["routine_export"][:, None] + 0.6 * sig[..., S_EXPORT]
    means.append(export_rate * expo * np.minimum(1.0, vac * 2))

    parts_cw, parts_ts, parts_kind = [], [], []
    for kind, mean in enumerate(means):
        cw, ts = _spread(rng, _poisson(rng, mean), sim, grid)
        parts_cw.append(cw)
        parts_ts.append(ts)
        parts_kind.append(np.full(cw.size, kind, np.int8))
    cw = np.concatenate(parts_cw)
    ts = np.concatenate(parts_ts)
    kind = np.concatenate(parts_kind)
    order = np.argsort((cw // grid.weeks) * (1 << 40) + (ts - grid.monday0 * DAY), kind="stable")
    cw, ts, kind = cw[order], ts[order], kind[order]
    client = cw // grid.weeks
    n_users = users.ravel()[cw]
    user = np.floor(n_users * rng.random(cw.size) ** 1.6).astype(np.int64) + 1
    session_mean = 600.0 * (1 - 0.6 * sim.sig[..., S_SESSION]).ravel()[cw]
    value = np.where(kind == 0, np.round(session_mean * rng.lognormal(-0.3, 0.8, cw.size)) + 5, np.nan)
    return pl.DataFrame(
        {
            Events.CLIENT_ID: ids.gather(pl.Series(client)),
            Events.TS: _datetimes(ts),
            Events.EVENT: _lookup(EVENT_NAMES, kind, Events.EVENT),
            Events.USER_ID: _user_ids(ids, users.max(axis=1).astype(np.int64), client, user),
            Events.VALUE: _float_series(Events.VALUE, value),
            Events.COUNT: pl.repeat(None, cw.size, dtype=pl.Int64, eager=True),  # one event a row
        }
    )


def _user_ids(ids: pl.Series, max_users: np.ndarray, client: np.ndarray, user: np.ndarray) -> pl.Series:
    """``<client_id>-u<NNN>`` per row, gathered from one string per (client, user) (no per-row formatting)."""
    first = np.concatenate([[0], np.cumsum(max_users)[:-1]])
    owner = np.repeat(np.arange(max_users.size), max_users)
    number = np.arange(owner.size) - first[owner] + 1
    names = pl.DataFrame({"c": ids.gather(pl.Series(owner)), "k": number}).select(
        pl.concat_str([pl.col("c"), pl.lit("-u"), pl.col("k").cast(pl.String).str.zfill(3)])
    )
    return names.to_series().gather(pl.Series(first[client] + user - 1)).alias(Events.USER_ID)


def _subscriptions(ids: pl.Series, st, sim: _Sim) -> pl.DataFrame:
    """One row per term (main plan) plus one per add-on term, sorted by client and start."""
    t = sim.terms
    c = t["client"]
    seg = st["seg"][c]
    mrr = np.round(t["seats"] * st["price"][c] * (1 - t["discount"]), 2)
    main = pl.DataFrame(
        {
            Subscriptions.CLIENT_ID: ids.gather(pl.Series(c)),
            Subscriptions.START_DATE: _datetimes(t["start"] * DAY),
            Subscriptions.END_DATE: _datetimes(t["end"] * DAY),
            Subscriptions.MRR: mrr,
            Subscriptions.QUANTITY: t["seats"],
            Subscriptions.PRODUCT: _lookup(PLANS, seg, Subscriptions.PRODUCT),
            Subscriptions.IS_ADDON: np.zeros(c.size, bool),
            Subscriptions.DISCOUNT: t["discount"],
            "_c": c,
        }
    )
    a = np.flatnonzero(t["addon"])
    extra = pl.DataFrame(
        {
            Subscriptions.CLIENT_ID: ids.gather(pl.Series(c[a])),
            Subscriptions.START_DATE: _datetimes(t["start"][a] * DAY),
            Subscriptions.END_DATE: _datetimes(t["end"][a] * DAY),
            Subscriptions.MRR: st["addon_price"][c[a]],
            Subscriptions.QUANTITY: t["seats"][a],
            Subscriptions.PRODUCT: pl.Series(
                Subscriptions.PRODUCT, [ADDON_PRODUCT] * a.size, dtype=pl.String
            ),
            Subscriptions.IS_ADDON: np.ones(a.size, bool),
            Subscriptions.DISCOUNT: np.zeros(a.size),
            "_c": c[a],
        }
    )
    return pl.concat([main, extra]).sort("_c", Subscriptions.START_DATE, Subscriptions.IS_ADDON).drop("_c")


def _retry_rows(
    rng: np.random.Generator,
    first: dict[str, np.ndarray],
    failed: np.ndarray,
    late_sig: np.ndarray,
    end_sec: int,
) -> dict[str, np.ndarray]:
    """A failed invoice of ``first`` is retried three days after its due date and paid late (or left open)."""
    f = np.flatnonzero(failed)
    r_issued = first["due"][f] + 3 * DAY
    r_due = r_issued + 7 * DAY
    r_paid = r_due + ((rng.exponential(3 + 20 * late_sig[f])) * DAY).astype(np.int64)
    r_has = r_paid < end_sec
    return {
        "c": first["c"][f],
        "amount": first["amount"][f],
        "issued": r_issued,
        "due": r_due,
        "paid": np.where(r_has, r_paid, 0),
        "has_paid": r_has,
        "status": np.where(r_has, 0, 3),
        "seq": first["seq"][f],
        "suffix": np.ones(f.size, np.int8),
    }


def _refund_rows(
    rng: np.random.Generator, first: dict[str, np.ndarray], paid: np.ndarray, end_sec: int
) -> dict[str, np.ndarray]:
    """A few refunds (10-50%) of paid invoices of ``first``, 5-20 days after the payment."""
    n_terms = first["c"].size
    rf = np.flatnonzero(first["has_paid"] & (rng.random(n_terms) < 0.004))
    rf_at = paid[rf] + rng.integers(5, 20, rf.size) * DAY
    ok = rf_at < end_sec
    rf, rf_at = rf[ok], rf_at[ok]
    return {
        "c": first["c"][rf],
        "amount": -np.round(first["amount"][rf] * rng.uniform(0.1, 0.5, rf.size), 2),
        "issued": rf_at,
        "due": rf_at,
        "paid": rf_at,
        "has_paid": np.ones(rf.size, bool),
        "status": np.full(rf.size, 2),
        "seq": first["seq"][rf],
        "suffix": np.full(rf.size, 2, np.int8),
    }


def _payments_table(cols: dict[str, np.ndarray], ids: pl.Series) -> pl.DataFrame:
    """The payments table from the invoice columns: invoice ids ``INV-<client>-<seq>[-R|-RF]``, sorted
    by client and issue time."""
    frame = pl.DataFrame(
        {
            Payments.CLIENT_ID: ids.gather(pl.Series(cols["c"])),
            Payments.AMOUNT: cols["amount"],
            Payments.PAID_AT: _dt_series(Payments.PAID_AT, cols["paid"], cols["has_paid"]),
            "_seq": cols["seq"],
            "_suffix": cols["suffix"],
            Payments.ISSUED_AT: _datetimes(cols["issued"]),
            Payments.DUE_AT: _datetimes(cols["due"]),
            Payments.STATUS: _lookup(Payments.STATUSES, cols["status"], Payments.STATUS),
            "_c": cols["c"],
        }
    )
    frame = frame.with_columns(
        pl.concat_str(
            [
                pl.lit("INV-"),
                pl.col(Payments.CLIENT_ID),
                pl.lit("-"),
                pl.col("_seq").cast(pl.String).str.zfill(3),
                pl.col("_suffix").replace_strict({0: "", 1: "-R", 2: "-RF"}, return_dtype=pl.String),
            ]
        ).alias(Payments.INVOICE_ID)
    )
    return frame.sort("_c", Payments.ISSUED_AT, "_suffix").select(
        Payments.CLIENT_ID,
        Payments.AMOUNT,
        Payments.PAID_AT,
        Payments.INVOICE_ID,
        Payments.ISSUED_AT,
        Payments.DUE_AT,
        Payments.STATUS,
    )


def _payments(rng, ids: pl.Series, st, sim: _Sim, grid: _Grid) -> tuple[pl.DataFrame, np.ndarray]:
    """One invoice per term (issued at its start), retries after failures, a few refunds.

    Also returns, per client, how many one-off late payments happened while healthy (truth).
    """
    t = sim.terms
    c = t["client"]
    n_terms = c.size
    seg = st["seg"][c]
    amount = np.round(
        (t["seats"] * st["price"][c] * (1 - t["discount"]) + t["addon"] * st["addon_price"][c])
        * st["term_m"][c],
        2,
    )
    issued = t["start"] * DAY + 6 * 3600
    net = NET_DAYS[seg] * DAY
    due = issued + net
    week = np.clip((t["start"] - grid.monday0) // 7, 0, grid.weeks - 1)
    late_sig = sim.sig[c, week, S_LATE]
    healthy = sim.d[c, week] < 0.05
    u = rng.random(n_terms)
    p_fail = 0.008 + 0.3 * late_sig
    p_late = 0.06 + 0.6 * late_sig
    failed = u < p_fail
    late = ~failed & (u < p_fail + p_late)
    on_time_paid = issued + (rng.random(n_terms) * (net - DAY)).astype(np.int64)
    late_paid = due + ((1 + rng.exponential(4 + 30 * late_sig)) * DAY).astype(np.int64)
    paid = np.where(late, late_paid, on_time_paid)
    status = np.where(failed, 1, 0)  # index into Payments.STATUSES: paid, failed, refunded, open
    has_paid = ~failed & (paid < grid.end * DAY)
    status = np.where(~failed & ~has_paid, 3, status)
    seq = np.zeros(n_terms, np.int64)  # invoice number within the client: 1, 2, ... by term start
    order = np.lexsort((t["start"], c))
    seq[order] = np.arange(n_terms) - np.searchsorted(c[order], c[order], side="left") + 1
    first = {
        "c": c,
        "amount": amount,
        "issued": issued,
        "due": due,
        "paid": np.where(has_paid, paid, 0),
        "has_paid": has_paid,
        "status": status,
        "seq": seq,
        "suffix": np.zeros(n_terms, np.int8),
    }
    parts = [first, _retry_rows(rng, first, failed, late_sig, grid.end * DAY)]
    parts.append(_refund_rows(rng, first, paid, grid.end * DAY))
    cols = {k: np.concatenate([p[k] for p in parts]) for k in first}
    # invoices not yet due at the data end are not in the export (nothing may be dated after it)
    keep = cols["due"] < grid.end * DAY
    cols = {k: v[keep] for k, v in cols.items()}
    late_noise = np.bincount(c[late & healthy], minlength=st["seg"].size)
    return _payments_table(cols, ids), late_noise


def _touches(
    rng: np.random.Generator,
    sim: _Sim,
    grid: _Grid,
    mean: np.ndarray,
    channel: int,
    direction: int,
    outcome_p: np.ndarray | None,
    replied_kind: bool,
) -> dict[str, np.ndarray]:
    """One kind of touch (channel x direction): Poisson counts per client-week around ``mean``, each with
    its outcome (drawn from ``outcome_p``), response hours, words and sentiment from the client's signs."""
    counts = _poisson(rng, mean)
    cw, ts = _spread(rng, counts, sim, grid)
    m = cw.size
    s = sim.sig.reshape(-1, len(SIGNS))[cw]
    outcome = (
        _pick(rng, outcome_p.reshape(-1, outcome_p.shape[-1])[cw])
        if outcome_p is not None
        else np.full(m, -1)
    )
    slow, tone = s[:, S_SLOW], s[:, S_TONE]
    answered = outcome == 0 if replied_kind else np.ones(m, bool)
    hours = np.where(
        replied_kind & answered, np.round(rng.lognormal(np.log(6 * (1 + 5 * slow)), 0.9), 1), np.nan
    )
    words = np.where(answered, np.round(rng.lognormal(np.log(90 * (1 - 0.7 * slow) + 5), 0.6)), np.nan)
    held = (outcome == 2) if not replied_kind else answered
    sentiment = np.where(
        held | (outcome < 0),
        np.clip(np.round(rng.normal(0.35 - 0.9 * tone, 0.25), 2), -1, 1),
        np.nan,
    )
    words = np.where(channel in (1, 2) and not replied_kind, np.nan, words)  # calls/meetings carry no words
    return {
        "cw": cw,
        "ts": ts,
        "channel": np.full(m, channel),
        "direction": np.full(m, direction),
        "outcome": outcome,
        "hours": hours,
        "words": words,
        "sentiment": sentiment,
    }


def _communications_table(cols: dict[str, np.ndarray], ids: pl.Series, grid: _Grid) -> pl.DataFrame:
    """The communications table from the touches' columns, sorted by client and time."""
    order = np.lexsort((cols["ts"], cols["cw"] // grid.weeks))
    cols = {k: v[order] for k, v in cols.items()}
    outcome = cols["outcome"]
    out_series = _lookup(Communications.OUTCOMES, np.maximum(outcome, 0), Communications.OUTCOME)
    out_series = pl.select(
        pl.when(pl.Series(outcome >= 0)).then(out_series).otherwise(None).alias(Communications.OUTCOME)
    ).to_series()
    return pl.DataFrame(
        {
            Communications.CLIENT_ID: ids.gather(pl.Series(cols["cw"] // grid.weeks)),
            Communications.TS: _datetimes(cols["ts"]),
            Communications.CHANNEL: _lookup(Communications.CHANNELS, cols["channel"], Communications.CHANNEL),
            Communications.DIRECTION: _lookup(
                Communications.DIRECTIONS, cols["direction"], Communications.DIRECTION
            ),
            Communications.OUTCOME: out_series,
            Communications.RESPONSE_HOURS: _float_series(Communications.RESPONSE_HOURS, cols["hours"]),
            Communications.WORDS: _float_series(Communications.WORDS, cols["words"]),
            Communications.SENTIMENT: _float_series(Communications.SENTIMENT, cols["sentiment"]),
        }
    )


def _communications(rng, ids: pl.Series, st, sim: _Sim, grid: _Grid, vac: np.ndarray) -> pl.DataFrame:
    """Emails, calls, meetings and chats: one row per touch."""
    expo = _exposure(sim)
    sig = sim.sig
    seg = st["seg"][:, None]
    season = _season(grid)[None, :]
    away = vac < 1
    parts: list[dict[str, np.ndarray]] = []
    n_out = len(Communications.OUTCOMES)
    # outbound emails by the owner: more chasing and fewer replies when the client drifts away
    no_reply = np.clip(0.12 + 0.75 * sig[..., S_NOREPLY] + 0.5 * away, 0, 0.97)
    email_p = np.zeros((*sig.shape[:2], n_out))
    email_p[..., 0] = 1 - no_reply
    email_p[..., 1] = no_reply
    mean = COMM_RATE[seg] * (1 + 1.5 * sig[..., S_NOREPLY]) * season * expo
    parts.append(_touches(rng, sim, grid, mean, 0, 1, email_p, True))
    # inbound emails and chats from the client
    inbound = 0.5 * COMM_RATE[seg] * season * np.where(away, 0.2, 1) * (1 - 0.6 * sig[..., S_SLOW]) * expo
    parts.append(_touches(rng, sim, grid, inbound * 0.8, 0, 0, None, False))
    parts.append(
        _touches(rng, sim, grid, inbound * 0.3 + 0.3 * sig[..., S_COMPLAINT] * expo, 3, 0, None, False)
    )
    # meetings: held, rescheduled, cancelled, no_show
    meet = sig[..., S_MEET]
    meet_p = np.zeros((*sig.shape[:2], n_out))
    meet_p[..., 2] = np.maximum(0.05, 0.86 - 0.66 * meet - 0.3 * away)
    meet_p[..., 3] = 0.09 + 0.35 * meet + 0.2 * away
    meet_p[..., 4] = 0.03 + 0.2 * meet + 0.1 * away
    meet_p[..., 5] = 0.02 + 0.11 * meet
    parts.append(_touches(rng, sim, grid, MEETING_RATE[seg] * season * expo, 2, 1, meet_p, False))
    # calls: held or no reply
    call_p = np.zeros((*sig.shape[:2], n_out))
    call_p[..., 1] = np.clip(0.2 + 0.5 * sig[..., S_NOREPLY] + 0.4 * away, 0, 0.95)
    call_p[..., 2] = 1 - call_p[..., 1]
    parts.append(_touches(rng, sim, grid, 0.08 * COMM_RATE[seg] * season * expo, 1, 1, call_p, False))
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return _communications_table(cols, ids, grid)


PRIORITIES = ("low", "normal", "high", "urgent")


def _tickets(rng, ids: pl.Series, st, sim: _Sim, grid: _Grid) -> pl.DataFrame:
    """Support tickets: questions and bugs, complaints, discount and cancellation requests."""
    expo = _exposure(sim)
    sig = sim.sig
    seg = st["seg"][:, None]
    base = TICKET_RATE[seg] * np.sqrt(np.maximum(sim.seats, 1) / 5) * expo
    kinds_means = [
        base * 0.6 + 0.1 * sig[..., S_COMPLAINT] * expo,  # question
        base * 0.4 + 0.25 * sig[..., S_COMPLAINT] * expo,  # bug
        (0.004 + 0.35 * sig[..., S_COMPLAINT]) * expo,  # complaint
        (0.002 + 0.25 * sig[..., S_DISCOUNT]) * expo,  # discount_request
        (0.05 * sim.d**2) * expo,  # cancellation_request (threats; the outcome stays open)
    ]
    cws, tss, kinds = [], [], []
    for kind, mean in enumerate(kinds_means):
        cw, ts = _spread(rng, _poisson(rng, mean), sim, grid)
        cws.append(cw)
        tss.append(ts)
        kinds.append(np.full(cw.size, kind))
    cw, ts, kind = np.concatenate(cws), np.concatenate(tss), np.concatenate(kinds)
    order = np.lexsort((ts, cw // grid.weeks))
    cw, ts, kind = cw[order], ts[order], kind[order]
    m = cw.size
    csat_sig = sig.reshape(-1, len(SIGNS))[cw, S_CSAT]
    median_h = np.where(kind == 2, 60.0, np.where(kind == 1, 30.0, 12.0))
    closed = ts + (rng.lognormal(np.log(median_h), 0.9) * 3600).astype(np.int64)
    is_closed = closed < grid.end * DAY
    rated = is_closed & (rng.random(m) < 0.55)
    p_low = np.clip(0.07 + 0.7 * csat_sig + 0.25 * (kind == 2), 0, 0.95)
    low = rng.random(m) < p_low
    csat = np.where(low, rng.integers(1, 3, m), _pick(rng, np.broadcast_to([0.15, 0.4, 0.45], (m, 3))) + 3)
    csat = np.where(rated, csat.astype(np.float64), np.nan)
    prio_p = np.where(
        (kind == 2)[:, None] | (kind == 4)[:, None],
        np.array([0.0, 0.3, 0.5, 0.2]),
        np.array([0.3, 0.5, 0.15, 0.05]),
    )
    prio = _pick(rng, prio_p)
    return pl.DataFrame(
        {
            Tickets.CLIENT_ID: ids.gather(pl.Series(cw // grid.weeks)),
            Tickets.OPENED_AT: _datetimes(ts),
            Tickets.CLOSED_AT: _dt_series(Tickets.CLOSED_AT, closed, is_closed),
            Tickets.KIND: _lookup(Tickets.KINDS, kind, Tickets.KIND),
            Tickets.PRIORITY: _lookup(PRIORITIES, prio, Tickets.PRIORITY),
            Tickets.CSAT: _float_series(Tickets.CSAT, csat),
        }
    )


def _signals(ids: pl.Series, sim: _Sim, grid: _Grid) -> pl.DataFrame:
    """Account signals that fall while the client is active (later candidates are dropped)."""
    s = sim.signals
    week = (s["sec"] // DAY - grid.monday0) // 7
    inside = (week >= 0) & (week < grid.weeks)
    c, sec, kind, week = s["client"][inside], s["sec"][inside], s["kind"][inside], week[inside]
    offset = sec - (grid.monday0 + 7 * week) * DAY
    active = (offset >= sim.lo[c, week]) & (offset < sim.hi[c, week])
    c, sec, kind = c[active], sec[active], kind[active]
    order = np.lexsort((kind, sec, c))
    c, sec, kind = c[order], sec[order], kind[order]
    return pl.DataFrame(
        {
            Signals.CLIENT_ID: ids.gather(pl.Series(c)),
            Signals.TS: _datetimes(sec),
            Signals.SIGNAL: _lookup(SIGNAL_KINDS, kind, Signals.SIGNAL),
            Signals.NOTE: _lookup(SIGNAL_NOTES, kind, Signals.NOTE),
        }
    )


def _churns(ids: pl.Series, sim: _Sim) -> pl.DataFrame:
    ch = sim.churns
    order = np.lexsort((ch["day"], ch["client"]))
    return pl.DataFrame(
        {
            Churns.CLIENT_ID: ids.gather(pl.Series(ch["client"][order])),
            Churns.CHURNED_AT: _datetimes(ch["day"][order] * DAY),
            Churns.REASON: _lookup(REASONS, ch["reason"][order], Churns.REASON),
        }
    )


INTERVENTIONS_STREAM = 14  # third seed word of the interventions' random stream


def _last_second(tables: dict[Table, pl.DataFrame]) -> int:
    """Latest timestamp of the chunk's activity tables, in epoch seconds: interventions stay at or
    before it, so adding them never moves the dataset's as-of date."""
    last = [
        tables[t].get_column(col).max()
        for t, col in (
            (Table.EVENTS, Events.TS),
            (Table.PAYMENTS, Payments.PAID_AT),
            (Table.COMMUNICATIONS, Communications.TS),
        )
        if tables[t].height
    ]
    last = [t for t in last if t is not None]
    return int(max(last).timestamp()) if last else 0


def _return_chance(churn_day: np.ndarray, reason: np.ndarray, grid: _Grid) -> np.ndarray:
    """P(the client comes back before the data end) for each churn, as the simulation draws it: with
    ``RETURN_P[reason]``, after a gap of ``31 + floor(Exp(110))`` days that must end before
    ``grid.end - 7``."""
    room = (grid.end - 7 - churn_day - 31).astype(np.float64)
    fits = np.where(room > 0, 1.0 - np.exp(-np.maximum(room, 0.0) / 110.0), 0.0)
    return RETURN_P[reason] * fits


def _came_back(ch: dict[str, np.ndarray], terms: dict[str, np.ndarray]) -> np.ndarray:
    """Per churn: whether a main term of the same client starts after the churn day (the return)."""
    back_after = np.zeros(ch["client"].size, bool)
    if ch["client"].size:
        order = np.lexsort((terms["start"], terms["client"]))
        t_client, t_start = terms["client"][order], terms["start"][order]
        # first term start after the churn day of the same client
        key = t_client * BIG_DAY * 10 + t_start
        probe = ch["client"] * BIG_DAY * 10 + ch["day"]
        pos = np.searchsorted(key, probe, side="right")
        ok = pos < key.size
        back_after[ok] = t_client[np.minimum(pos, key.size - 1)][ok] == ch["client"][ok]
    return back_after


@dataclass(frozen=True)
class _WinbackTest:
    """The win-back test: its units (``idx`` into the churns), per churn the variant, first contact
    second and return chance ``pi``, per unit the campaign, and the interventions rows it wrote."""

    idx: np.ndarray
    variant: np.ndarray
    first_sec: np.ndarray
    pi: np.ndarray
    campaign: np.ndarray
    rows: dict[str, np.ndarray]


def _winback_test(
    rng: np.random.Generator, ch: dict[str, np.ndarray], back_after: np.ndarray, grid: _Grid, last_second: int
) -> _WinbackTest:
    """Every churn but "moved" contacted 1-20 days after it, the variant drawn after the return
    (:func:`_interventions`); variant B's second touch 4 days after the first."""
    pi = _return_chance(ch["day"], ch["reason"], grid)
    e = WINBACK_EFFECT
    p_b = np.where(back_after, (1 + e) / 2, (1 - pi * (1 + e)) / np.maximum(2 * (1 - pi), 1e-12))
    u = rng.random(ch["client"].size)
    delay = rng.integers(1, 21, ch["client"].size)
    hour = rng.integers(9 * 3600, 17 * 3600, ch["client"].size)
    reached = rng.random(ch["client"].size) < 0.7
    variant = (u < p_b).astype(np.int64)
    first_sec = (ch["day"] + delay) * DAY + hour
    idx = np.flatnonzero((ch["reason"] != R_MOVED) & (first_sec + 4 * DAY <= last_second))
    first_days = (ch["day"][idx] + delay[idx]).astype("datetime64[D]")
    years = first_days.astype("datetime64[Y]").astype(np.int64) + 1970
    half = np.where(first_days.astype("datetime64[M]").astype(np.int64) % 12 < 6, 1, 2)
    campaign = np.array(
        [f"winback-{y}H{h}" for y, h in zip(years.tolist(), half.tolist(), strict=True)], object
    )
    is_b = variant[idx] == 1
    rows = {
        "c": np.concatenate([ch["client"][idx], ch["client"][idx][is_b]]),
        "sec": np.concatenate([first_sec[idx], first_sec[idx][is_b] + 4 * DAY]),
        "kind": np.concatenate(
            [np.full(idx.size, "email", object), np.array(WINBACK_B_KIND, object)[ch["reason"][idx][is_b]]]
        ),
        "campaign": np.concatenate([campaign, campaign[is_b]]),
        "variant": np.concatenate(
            [np.array(WINBACK_VARIANTS, object)[variant[idx]], np.full(int(is_b.sum()), "B", object)]
        ),
        "outcome": np.concatenate(
            [np.full(idx.size, "sent", object), np.where(reached[idx][is_b], "reached", "no_answer")]
        ),
    }
    return _WinbackTest(idx, variant, first_sec, pi, campaign, rows)


def _retention_rows(
    rng: np.random.Generator, sim: _Sim, grid: _Grid, last_second: int
) -> dict[str, np.ndarray]:
    """Retention calls: the first week a decline episode reaches RETENTION_DECLINE, while active (some)."""
    active = sim.hi > sim.lo
    d = sim.d
    crossing = active & (d >= RETENTION_DECLINE)
    crossing[:, 1:] &= d[:, :-1] < RETENTION_DECLINE
    rc, rk = np.nonzero(crossing)
    keep = rng.random(rc.size) < RETENTION_P
    rc, rk = rc[keep], rk[keep]
    r_sec = (
        (grid.monday0 + 7 * rk) * DAY
        + rng.integers(1, 5, rc.size) * DAY
        + rng.integers(9 * 3600, 17 * 3600, rc.size)
    )
    r_ok = r_sec <= last_second
    rc, r_sec = rc[r_ok], r_sec[r_ok]
    r_reached = rng.random(rc.size) < 0.6
    return {
        "c": rc,
        "sec": r_sec,
        "kind": np.full(rc.size, "call", object),
        "campaign": np.full(rc.size, "retention", object),
        "variant": np.full(rc.size, None, object),
        "outcome": np.where(r_reached, "reached", "no_answer"),
    }


def _interventions_table(rows: dict[str, np.ndarray], ids: pl.Series, owners: np.ndarray) -> pl.DataFrame:
    """The interventions table, sorted by client and time."""
    order = np.lexsort((rows["sec"], rows["c"]))
    c = rows["c"][order].astype(np.int64)

    def text(name: str, key: str) -> pl.Series:
        return pl.Series(name, rows[key][order].tolist(), dtype=pl.String)

    return pl.DataFrame(
        {
            Interventions.CLIENT_ID: ids.gather(pl.Series(c)),
            Interventions.TS: _datetimes(rows["sec"][order]),
            Interventions.KIND: text(Interventions.KIND, "kind"),
            Interventions.CAMPAIGN: text(Interventions.CAMPAIGN, "campaign"),
            Interventions.VARIANT: text(Interventions.VARIANT, "variant"),
            Interventions.OWNER: pl.Series(Interventions.OWNER, owners[c].tolist(), dtype=pl.String),
            Interventions.OUTCOME: text(Interventions.OUTCOME, "outcome"),
        }
    )


def _winback_truth(
    ids: pl.Series, ch: dict[str, np.ndarray], test: _WinbackTest, back_after: np.ndarray
) -> pl.DataFrame:
    """One row per win-back test unit: its variant, return chances under A and B, and whether it returned."""
    e = WINBACK_EFFECT
    t_order = np.lexsort((ch["day"][test.idx], ch["client"][test.idx]))
    sel = test.idx[t_order]
    pi, variant = test.pi, test.variant
    return pl.DataFrame(
        {
            CLIENT_ID: ids.gather(pl.Series(ch["client"][sel].astype(np.int64))),
            Truth.CHURNED_AT: _datetimes(ch["day"][sel] * DAY),
            Truth.CONTACTED_AT: _datetimes(test.first_sec[sel]),
            Truth.CAMPAIGN: pl.Series(Truth.CAMPAIGN, test.campaign[t_order].tolist(), dtype=pl.String),
            Truth.VARIANT: _lookup(WINBACK_VARIANTS, variant[sel], Truth.VARIANT),
            Truth.P_RETURN: np.where(variant[sel] == 1, pi[sel] * (1 + e), pi[sel] * (1 - e)),
            Truth.P_RETURN_A: pi[sel] * (1 - e),
            Truth.P_RETURN_B: pi[sel] * (1 + e),
            Truth.RETURNED: back_after[sel],
        },
        schema_overrides={CLIENT_ID: pl.String},
    )


def _interventions(
    rng: np.random.Generator, ids: pl.Series, st, sim: _Sim, grid: _Grid, last_second: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The team's actions: a win-back test on churned clients and retention calls on declining ones.

    Win-back: every churn but "moved" is contacted 1-20 days after it (campaign ``winback-<year>H<half>``),
    half with variant A (a generic email), half with variant B (the same email, then the reason's own
    approach 4 days later: an offer for price, a manager's call for service, ...). The return itself was
    drawn by the simulation with chance ``pi`` (:func:`_return_chance`); the variant is drawn after it,
    with ``P(B | returned) = (1 + e) / 2`` and ``P(B | not) = (1 - pi (1 + e)) / (2 (1 - pi))``, which makes
    ``P(B) = 1/2`` and ``P(returned | B) = pi (1 + e)``, ``P(returned | A) = pi (1 - e)`` exactly: the
    data are those of a randomised test in which B truly brings back more clients (``e`` =
    :data:`WINBACK_EFFECT`). Retention: a call when a decline episode first reaches
    :data:`RETENTION_DECLINE` (half the time), campaign ``retention``, no effect on churn.

    Returns (interventions table, truth: one row per win-back test unit).
    """
    ch = sim.churns
    back_after = _came_back(ch, sim.terms)
    test = _winback_test(rng, ch, back_after, grid, last_second)
    retention = _retention_rows(rng, sim, grid, last_second)
    rows = {k: np.concatenate([test.rows[k], retention[k]]) for k in test.rows}
    return _interventions_table(rows, ids, st["owner"]), _winback_truth(ids, ch, test, back_after)


def _clients(ids: pl.Series, st) -> pl.DataFrame:
    parts = st["name_parts"]
    names = [f"{NAME_A[a]}{NAME_B[b]} {NAME_C[c % len(NAME_C)]}" for a, b, c in parts.tolist()]
    return pl.DataFrame(
        {
            Clients.CLIENT_ID: ids,
            Clients.CREATED_AT: _datetimes(st["created_sec"]),
            Clients.NAME: pl.Series(Clients.NAME, names, dtype=pl.String),
            Clients.SEGMENT: _lookup(SEGMENTS, st["seg"], Clients.SEGMENT),
            Clients.INDUSTRY: _lookup(INDUSTRIES, st["industry"], Clients.INDUSTRY),
            Clients.REGION: _lookup(REGIONS, st["region"], Clients.REGION),
            Clients.OWNER: pl.Series(Clients.OWNER, st["owner"].tolist(), dtype=pl.String),
            Clients.STRATEGIC: st["strategic"].astype(np.int64),
            Clients.MARGIN: st["margin"].astype(np.float64),
        }
    )


def _spell_reasons(
    spell_reason: dict[tuple[int, int], int], client: np.ndarray, spell: np.ndarray
) -> np.ndarray:
    """Reason code of the churn that ends each (client, spell), -1 when the spell does not end in churn."""
    if not spell_reason:
        return np.full(client.size, -1, np.int64)
    keys = np.array([c * 65_536 + s for c, s in spell_reason], dtype=np.int64)
    codes = np.array(list(spell_reason.values()), dtype=np.int64)
    order = np.argsort(keys)
    keys, codes = keys[order], codes[order]
    wanted = client * 65_536 + spell
    pos = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
    return np.where(keys[pos] == wanted, codes[pos], -1)


def _hazard_truth(ids: pl.Series, st, sim: _Sim, grid: _Grid) -> pl.DataFrame:
    """One row per active client-week: the true weekly hazard, term due day, spell, its churn reason,
    the decline intensity and the client's term months (``st["term_m"]``). A week whose term ends on its
    Monday with a churn is active for no time (the client leaves as the week starts) but holds the
    decision: its row is kept, else the oracle would miss the churn's hazard and read the spell as already
    ended from its previous due day."""
    active = (sim.hi > sim.lo) | (sim.due >= 0)
    c, w = np.nonzero(active)
    spell = sim.spell[c, w].astype(np.int64)
    reason_code = _spell_reasons(sim.spell_reason, c, spell)
    due = sim.due[c, w]
    return (
        pl.DataFrame(
            {
                CLIENT_ID: ids.gather(pl.Series(c)),
                Truth.WEEK: (grid.week_days[w]).astype("datetime64[D]"),
                Truth.HAZARD: sim.hazard[c, w].astype(np.float64),
                Truth.DUE: due.astype("datetime64[D]"),
                Truth.SPELL: spell.astype(np.int32),
                Truth.REASON: _lookup(REASONS, np.maximum(reason_code, 0), Truth.REASON),
                Truth.DECLINE: sim.d[c, w].astype(np.float64),
                Truth.TERM_MONTHS: st["term_m"][c].astype(np.float64),
                "_has_due": due >= 0,
                "_has_reason": reason_code >= 0,
            }
        )
        .with_columns(
            pl.when(pl.col("_has_due")).then(pl.col(Truth.DUE)).otherwise(None).alias(Truth.DUE),
            pl.when(pl.col("_has_reason")).then(pl.col(Truth.REASON)).otherwise(None).alias(Truth.REASON),
        )
        .drop("_has_due", "_has_reason")
    )


def _churns_per_client(ch: dict[str, np.ndarray]) -> pl.DataFrame:
    """Per client index ``_c``: its churn dates and reasons (in time order) and whether the first was warned."""
    order = np.lexsort((ch["day"], ch["client"]))
    churn_frame = pl.DataFrame(
        {
            "_c": ch["client"][order],
            "_day": ch["day"][order].astype("datetime64[D]"),
            "_reason": _lookup(REASONS, ch["reason"][order], "_reason"),
            "_warned": ch["warned"][order],
        }
    )
    return churn_frame.group_by("_c", maintain_order=True).agg(
        pl.col("_day").alias(Truth.CHURN_DATES),
        pl.col("_reason").alias(Truth.REASONS),
        pl.col("_warned").first().alias(Truth.WARNED),
    )


def _truth(
    ids: pl.Series, st, sim: _Sim, grid: _Grid, vac: np.ndarray, late_noise: np.ndarray
) -> dict[str, pl.DataFrame]:
    """The truth tables: the weekly hazard (:func:`_hazard_truth`) and one row per client (segment,
    churns, episodes, recoveries, returns, vacation weeks, healthy late payments)."""
    n = sim.lo.shape[0]
    active = sim.hi > sim.lo
    c, w = np.nonzero(active)
    spell = sim.spell[c, w].astype(np.int64)
    vac_weeks = ((vac < 1) & active).sum(axis=1)
    clients = (
        pl.DataFrame(
            {
                "_c": np.arange(n, dtype=np.int64),
                CLIENT_ID: ids,
                Truth.SEGMENT: _lookup(SEGMENTS, st["seg"], Truth.SEGMENT),
                Truth.CREATED_AT: _datetimes(st["created_sec"]),
                Truth.EPISODES: sim.episodes,
                Truth.RECOVERED: sim.recovered,
                Truth.VACATION_WEEKS: vac_weeks.astype(np.int64),
                Truth.LATE_NOISE: late_noise.astype(np.int64),
            }
        )
        .join(_churns_per_client(sim.churns), on="_c", how="left")
        .with_columns(
            pl.col(Truth.CHURN_DATES).fill_null(pl.lit([], dtype=pl.List(pl.Date))),
            pl.col(Truth.REASONS).fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col(Truth.WARNED).fill_null(False),
            pl.lit(False).alias(Truth.RETURNED),
        )
    )
    returned = np.zeros(n, bool)
    returned[np.unique(c[spell > 0])] = True
    clients = clients.with_columns(pl.Series(Truth.RETURNED, returned)).sort("_c").drop("_c")
    clients = clients.select(
        CLIENT_ID,
        Truth.SEGMENT,
        Truth.CREATED_AT,
        Truth.CHURN_DATES,
        Truth.REASONS,
        Truth.WARNED,
        Truth.EPISODES,
        Truth.RECOVERED,
        Truth.RETURNED,
        Truth.VACATION_WEEKS,
        Truth.LATE_NOISE,
    )
    return {Truth.HAZARD: _hazard_truth(ids, st, sim, grid), Truth.CLIENTS: clients}


def synthetic_chunk(params: SynthParams, chunk: int) -> SyntheticChunk:
    """All tables (and the truth) for clients ``chunk * CHUNK_CLIENTS`` .. of the dataset.

    Pure: the result depends only on ``params`` and ``chunk``.
    """
    if not 0 <= chunk < params.chunks:
        raise ValueError(f"chunk {chunk} outside 0..{params.chunks - 1}")
    first = chunk * CHUNK_CLIENTS
    n = min(CHUNK_CLIENTS, params.clients - first)
    rng = np.random.default_rng([params.seed, chunk])
    grid = _grid(params)
    ids = pl.Series(CLIENT_ID, _client_ids(first, n, params.clients), dtype=pl.String)
    st = _static_clients(rng, n, grid)
    sim = _simulate(rng, st, grid, params)
    vac = _vacations(rng, grid, n)
    payments, late_noise = _payments(rng, ids, st, sim, grid)
    tables = {
        Table.CLIENTS: _clients(ids, st),
        Table.EVENTS: _events(rng, ids, st, sim, grid, vac),
        Table.SUBSCRIPTIONS: _subscriptions(ids, st, sim),
        Table.PAYMENTS: payments,
        Table.COMMUNICATIONS: _communications(rng, ids, st, sim, grid, vac),
        Table.TICKETS: _tickets(rng, ids, st, sim, grid),
        Table.SIGNALS: _signals(ids, sim, grid),
        Table.CHURNS: _churns(ids, sim),
    }
    # Own random stream: the other tables are exactly what they were before interventions existed.
    iv_rng = np.random.default_rng([params.seed, chunk, INTERVENTIONS_STREAM])
    tables[Table.INTERVENTIONS], winback_truth = _interventions(
        iv_rng, ids, st, sim, grid, _last_second(tables)
    )
    truth = _truth(ids, st, sim, grid, vac, late_noise) | {Truth.WINBACK: winback_truth}
    return SyntheticChunk(tables=tables, truth=truth)


# ----------------------------------------------------------------------------------------------
# Oracle
# ----------------------------------------------------------------------------------------------
_KEY = "_key"


def _cumulative_hazard(hazard: pl.DataFrame) -> pl.DataFrame:
    """The truth rows by client, spell and due day (``_key``; the week without a due day), with the
    cumulated ``log(1 - hazard)`` through each row (``_cum``) and before it (``_cum_before``)."""
    return (
        hazard.select(
            pl.col(CLIENT_ID),
            pl.col(Truth.WEEK),
            pl.col(Truth.SPELL),
            pl.coalesce(Truth.DUE, Truth.WEEK).alias(_KEY),
            pl.col(Truth.HAZARD).clip(0.0, 1.0 - 1e-12),
            pl.col(Truth.REASON).is_not_null().alias("_ends_in_churn"),
        )
        .sort(CLIENT_ID, Truth.SPELL, _KEY)
        .with_columns(
            pl.col(Truth.HAZARD).neg().log1p().cum_sum().over(CLIENT_ID, Truth.SPELL).alias("_cum"),
        )
        .with_columns((pl.col("_cum") - (-pl.col(Truth.HAZARD)).log1p()).alias("_cum_before"))
    )


def _spells(h: pl.DataFrame) -> pl.DataFrame:
    """Per client and spell: its first week, total cumulated log-survival, last due day with a hazard
    and whether it ended in churn."""
    return (
        h.group_by(CLIENT_ID, Truth.SPELL)
        .agg(
            pl.col(Truth.WEEK).min().alias("_first_week"),
            pl.col("_cum").last().alias("_total"),
            pl.col(_KEY).filter(pl.col(Truth.HAZARD) > 0).last().alias("_last_due"),
            pl.col("_ends_in_churn").first(),
        )
        .sort(CLIENT_ID, "_first_week")
    )


def _cum_at(frame: pl.DataFrame, h: pl.DataFrame, on: str, name: str) -> pl.DataFrame:
    """``frame`` with ``name``: the cumulated log-survival before the first truth row of the same client
    and spell due at or after ``frame[on]``."""
    return frame.sort(on).join_asof(
        h.select(CLIENT_ID, Truth.SPELL, _KEY, pl.col("_cum_before").alias(name)).sort(_KEY),
        left_on=on,
        right_on=_KEY,
        by=[CLIENT_ID, Truth.SPELL],
        strategy="forward",
        check_sortedness=False,
    )


def oracle_probability(hazard: pl.DataFrame, spine: pl.DataFrame, horizon_days: int) -> pl.DataFrame:
    """The true probability that each (client, snapshot) churns within ``horizon_days``.

    ``hazard`` is the truth table (``client_id``, ``week``, ``hazard``, ``due``, ``spell``, ``reason``);
    ``spine`` has ``client_id`` and ``snapshot`` (``pl.Date``). Returns the spine with a Float64 column
    ``oracle``:

    - the spell of the snapshot is the spell of the client's last truth row with ``week <= snapshot``;
    - if that spell already ended in churn before the snapshot (the client is in its grace period),
      the probability is 1;
    - else ``1 - prod(1 - hazard)`` over that spell's rows whose ``due`` lies in
      ``[snapshot, snapshot + horizon_days)`` (rows without ``due`` fall back to ``week``);
    - a client without a truth row at or before the snapshot gets 0.
    """
    snap = SNAPSHOT
    h = _cumulative_hazard(hazard)
    with_spell = (
        spine.with_row_index("_row")
        .sort(snap)
        .join_asof(
            _spells(h).sort("_first_week"),
            left_on=snap,
            right_on="_first_week",
            by=CLIENT_ID,
            strategy="backward",
            check_sortedness=False,
        )
    )
    starts = _cum_at(with_spell, h, snap, "_c0").drop(_KEY)
    ends = _cum_at(
        starts.with_columns((pl.col(snap) + pl.duration(days=horizon_days)).alias("_end")), h, "_end", "_c1"
    )
    already = pl.col("_ends_in_churn").fill_null(False) & (pl.col("_last_due") < pl.col(snap))
    prob = 1.0 - (pl.coalesce("_c1", "_total") - pl.coalesce("_c0", "_total")).exp()
    return (
        ends.with_columns(
            pl.when(pl.col(Truth.SPELL).is_null())
            .then(0.0)
            .when(already)
            .then(1.0)
            .otherwise(prob.clip(0.0, 1.0))
            .alias("oracle")
        )
        .sort("_row")
        .select(*spine.columns, "oracle")
    )


def _term_months(dues: pl.DataFrame) -> pl.DataFrame:
    """``[client_id, _term_m]``: the truth's own ``term_months`` (the generator's billing) when the hazard
    table holds it; else, for a truth file written before it did, 1 for a client whose due days ever fall
    under 45 days apart (monthly terms) and 12 otherwise. That fallback reads a monthly client with a single
    due day (one that churns at its first renewal in the data: 214 of 1,557 clients of `make bench`'s 6-month
    data) as annual, and so its nowcast over 12 months of rate."""
    if Truth.TERM_MONTHS in dues.columns:
        return dues.group_by(CLIENT_ID).agg(
            pl.col(Truth.TERM_MONTHS).first().cast(pl.Float64).alias("_term_m")
        )
    gap = (pl.col(Truth.DUE) - pl.col(Truth.DUE).shift().over(CLIENT_ID)).dt.total_days()
    return (
        dues.sort(CLIENT_ID, Truth.DUE)
        .with_columns(gap.alias("_gap"))
        .group_by(CLIENT_ID)
        .agg(pl.when(pl.col("_gap").min() < 45).then(1.0).otherwise(12.0).alias("_term_m"))
    )


def nowcast_probability(hazard: pl.DataFrame, spine: pl.DataFrame, horizon_days: int) -> pl.DataFrame:
    """The true probability that each (client, snapshot) churns within ``horizon_days`` if the client's
    latent decline stayed where it is in the snapshot's week: :func:`oracle_probability` with each due day's
    hazard recomputed from its base rate (the hazard without the decline part) plus the decline part at the
    snapshot's level, ``min(MAX_HAZARD, 1 - exp(-(base + DECLINE_RATE * d_now**2) * term months))``.

    A ceiling a model can aim at: it knows the client's present state exactly (no model does: it reads
    signs of it) but not where its decline goes next, which :func:`oracle_probability` knows (an episode
    that deepens before the renewal, or one that starts after the snapshot). Same spine and output as
    :func:`oracle_probability` (column ``oracle``); its 0 and 1 cases (no spell yet, a churn already decided)
    are kept."""
    full = oracle_probability(hazard, spine, horizon_days)
    dues = hazard.filter(pl.col(Truth.HAZARD) > 0)
    lam = -(1 - pl.col(Truth.HAZARD).clip(0.0, MAX_HAZARD - 1e-9)).log() / pl.col("_term_m")
    dues = (
        dues.join(_term_months(dues), on=CLIENT_ID)
        .with_columns(lam.alias("_lam"))
        .with_columns(
            (pl.col("_lam") - DECLINE_RATE * pl.col(Truth.DECLINE) ** 2).clip(0.0, None).alias("_base")
        )
        .select(CLIENT_ID, pl.col(Truth.SPELL).alias("_due_spell"), Truth.DUE, "_base", "_term_m")
    )
    state = hazard.select(CLIENT_ID, Truth.WEEK, Truth.SPELL, pl.col(Truth.DECLINE).alias("_d_now")).sort(
        Truth.WEEK
    )
    now = (
        full.with_row_index("_row")
        .sort(SNAPSHOT)
        .join_asof(
            state,
            left_on=SNAPSHOT,
            right_on=Truth.WEEK,
            by=CLIENT_ID,
            strategy="backward",
            check_sortedness=False,
        )
        .select("_row", CLIENT_ID, SNAPSHOT, Truth.SPELL, "_d_now")
        .join(dues, on=CLIENT_ID)
        .filter(
            (pl.col("_due_spell") == pl.col(Truth.SPELL))
            & (pl.col(Truth.DUE) >= pl.col(SNAPSHOT))
            & (pl.col(Truth.DUE) < pl.col(SNAPSHOT) + pl.duration(days=horizon_days))
        )
        .with_columns(
            (1 - (-(pl.col("_base") + DECLINE_RATE * pl.col("_d_now") ** 2) * pl.col("_term_m")).exp())
            .clip(0.0, MAX_HAZARD)
            .alias("_h")
        )
        .group_by("_row")
        .agg((1 - (1 - pl.col("_h")).product()).alias("_now"))
    )
    decided = pl.col("oracle").is_in([0.0, 1.0])
    return (
        full.with_row_index("_row")
        .join(now, on="_row", how="left")
        .sort("_row")
        .with_columns(
            pl.when(decided).then(pl.col("oracle")).otherwise(pl.col("_now").fill_null(0.0)).alias("oracle")
        )
        .select(*spine.columns, "oracle")
    )


# ----------------------------------------------------------------------------------------------
# Writing (the I/O edge)
# ----------------------------------------------------------------------------------------------
_ARROW = {
    Kind.STR: pa.large_string(),
    Kind.DATETIME: pa.timestamp("us"),
    Kind.FLOAT: pa.float64(),
    Kind.INT: pa.int64(),
    Kind.BOOL: pa.bool_(),
}


def _contract_schema(table: Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, _ARROW[c.kind]) for c in CONTRACT[table].columns])


def generated_file_names() -> dict[str, tuple[str, ...]]:
    """The files :func:`write_synthetic_dataset` writes: ``{"out": table files, "truth_out": truth files}``."""
    return {
        "out": tuple(f"{t}.parquet" for t in Table),
        "truth_out": tuple(f"{n}.parquet" for n in (Truth.HAZARD, Truth.CLIENTS, Truth.WINBACK)),
    }


def write_synthetic_dataset(
    params: SynthParams,
    out: Path,
    truth_out: Path,
    on_chunk: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Generate chunk by chunk and stream every table to ``out/<table>.parquet`` (one row group per
    chunk) and the truth to ``truth_out``; files appear only when complete (temp file + rename).

    ``on_chunk(done, total)`` is called after each chunk (progress). Returns rows per file. A table
    without any row (possible only for tiny datasets, e.g. no churn at all) gets no file: the
    contract treats it as absent.
    """
    out, truth_out = Path(out), Path(truth_out)
    out.mkdir(parents=True, exist_ok=True)
    truth_out.mkdir(parents=True, exist_ok=True)
    targets = {str(t): (out / f"{t}.parquet", _contract_schema(t)) for t in Table}
    targets |= {
        f"truth/{name}": (truth_out / f"{name}.parquet", None)
        for name in (Truth.HAZARD, Truth.CLIENTS, Truth.WINBACK)
    }
    writers: dict[str, pq.ParquetWriter] = {}
    rows = dict.fromkeys(targets, 0)
    tmp = {name: path.with_name(f".{path.name}.tmp") for name, (path, _) in targets.items()}
    try:
        for chunk in range(params.chunks):
            result = synthetic_chunk(params, chunk)
            frames = {str(t): f for t, f in result.tables.items()} | {
                f"truth/{k}": f for k, f in result.truth.items()
            }
            for name, frame in frames.items():
                schema = targets[name][1]
                arrow = frame.to_arrow()
                arrow = arrow.cast(schema) if schema is not None else arrow.cast(_plain_schema(arrow.schema))
                arrow = arrow.replace_schema_metadata(
                    {MARKER_KEY: MARKER}
                )  # so that churnml knows its own files
                if name not in writers:
                    writers[name] = pq.ParquetWriter(tmp[name], arrow.schema, **_writer_options(arrow.schema))
                if arrow.num_rows:
                    writers[name].write_table(arrow, row_group_size=max(arrow.num_rows, 1))
                rows[name] += arrow.num_rows
            if on_chunk is not None:
                on_chunk(chunk + 1, params.chunks)
        for writer in writers.values():
            writer.close()
        for name, (path, _) in targets.items():
            if rows[name] == 0 and not name.startswith("truth/"):
                # an empty table is left out (the contract treats it as absent); drop a stale copy too
                path.unlink(missing_ok=True)
                continue
            os.replace(tmp[name], path)
    finally:
        for writer in writers.values():
            writer.close()
        for path in tmp.values():
            path.unlink(missing_ok=True)
    return rows


def _writer_options(schema: pa.Schema) -> dict[str, object]:
    """Fast, compact Parquet: dictionaries for strings, delta encoding for timestamps, light zstd."""
    strings = [f.name for f in schema if pa.types.is_large_string(f.type)]
    times = {f.name: "DELTA_BINARY_PACKED" for f in schema if pa.types.is_timestamp(f.type)}
    return {
        "compression": "zstd",
        "compression_level": 1,
        "write_statistics": False,
        "use_dictionary": strings,
        "column_encoding": times,
    }


def _plain_schema(schema: pa.Schema) -> pa.Schema:
    """Polars' string views as plain large strings (stable across versions)."""

    def plain(t: pa.DataType) -> pa.DataType:
        if t == pa.string_view() or t == pa.string():
            return pa.large_string()
        if pa.types.is_large_list(t) or pa.types.is_list(t):
            return pa.large_list(plain(t.value_type))
        return t

    return pa.schema([pa.field(f.name, plain(f.type)) for f in schema])
