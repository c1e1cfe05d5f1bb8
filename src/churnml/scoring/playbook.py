"""Zones that hold still, and actions that follow the reasons.

Grain: one row per client at one as-of date (sequences: one client's weekly history, oldest first).

- :func:`zone_path` turns a client's weekly probabilities into zones with hysteresis: a client moves up
  (green -> yellow -> red) as soon as its probability crosses a threshold, and moves down only when the
  probability falls below the current zone's threshold by ``zones.exit_margin``, or stays below it for
  ``zones.exit_weeks`` weeks in a row (:func:`zone_levels` steps many clients' paths at once: the list's).
  :func:`zone_change_count` counts the changes of a path.
- :func:`raised_zones`: a fired rule raises the zone to at least ``rules.raise_zone[rule]``.
- :func:`choose_play` picks the action, in this order: a client in its grace period (the renewal call, or
  the play of a ``playbooks.grace_causes`` rule that fired: a term lapsed on a failed card needs the card);
  a client not worth keeping outside green ("Let go gracefully: <reason>"); the first fired rule in the
  order of ``playbooks.rules`` (``health_drop``, which reads the model's own risk and not a cause, only when
  no driver family leads: a yellow or red client's play is then its first driver's); a renewal due soon when the first driver is a contract feature (the
  term's end, seats, MRR, discount), or, outside green, a renewal not yet due when the first driver is the term's end
  itself (the model reads the renewal as the risk before ``score.renewal_days``); the family of the first driver that raises the risk (yellow and
  red; not a driver of the cancellation requests, :data:`CANCELLATION_GROUP`: a notice, no support problem, whose
  play is the ``cancellation_request`` rule's when it stands, never the support family's "Follow up on their
  tickets"); a renewal due soon; else ``playbooks.actions[zone][tier]``. Each play names the role who acts
  (sales, service, success, finance, management) and a task; the action text is ``"<urgency>: <task>"`` with
  the urgency from ``playbooks.urgency[zone][tier]``, of a more urgent zone when a renewal is due within
  ``playbooks.renewal_urgent_days`` (red's) or ``renewal_soon_days`` (yellow's): :func:`urgency_zone`; a
  play of ``playbooks.urgent_rules`` (payment_trouble: a failed card lapses with the next debit) takes red's
  outside green.
- A paused client (``ClientFacts.paused``: its running terms are all free after paid ones, a pause or a free
  plan, :func:`churnml.scoring.crm.paused_clients`) has no renewal to prepare: its free term's end is the plan
  resuming (``ClientFacts.pause_due``, never ``renewal_due``), which neither picks the renewal play nor raises
  the urgency. Nor does it get the plays of what a pause causes by itself (:data:`PAUSE_ECHOES`: its use
  falling, no order, its health dropping, the usage family leading; the rules skip a paused client, these plays guard a list built
  otherwise): where its free term ends within ``score.renewal_days`` or one of those would be chosen, it gets
  the pause's own play (:data:`PAUSE_PLAY`: "ask whether they will resume
  (the free term ends in 13 days)"). Its other rules (a failed card, a cancellation request) keep their plays.
- A client that never paid (``ClientFacts.trial``: its terms so far all free, a free trial or a free plan,
  :func:`churnml.scoring.crm.free_trials`) has a conversion to win, not a renewal nor an account to review:
  outside green, after the fired rules, it gets ``playbooks.trial`` ("Convert the trial: ... (the trial
  ends in 4 days)") where the drivers' family or the zone would choose (a trialist's first days of use are no
  "Adoption review: training on the key features"); in its grace (the trial ended unpaid) the same play
  follows its term_state, not the renewal call.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from churnml.config import Play, PlaybooksConfig, ZonesConfig
from churnml.contract.schemas import Clients
from churnml.features.payments import DAYS_TO_TERM_END
from churnml.scoring.crm import days_text

__all__ = [
    "CANCELLATION_GROUP",
    "PAUSE_ECHOES",
    "PAUSE_PLAY",
    "SKIP_PLAY",
    "ZONE_ORDER",
    "ZONE_RANK",
    "ChosenPlay",
    "ClientFacts",
    "b2b_playbook_note",
    "choose_play",
    "escalations",
    "raised_zones",
    "threshold_zone",
    "threshold_zone_expr",
    "urgency_zone",
    "zone_change_count",
    "zone_levels",
    "zone_path",
    "zone_rule_text",
    "zone_thresholds",
]

ZONE_ORDER: tuple[str, ...] = ("green", "yellow", "red")
_LEVEL = {z: i for i, z in enumerate(ZONE_ORDER)}
# the order a list is worked in: red 0, yellow 1, green 2 (an unknown zone after them)
ZONE_RANK: dict[str, int] = {z: len(ZONE_ORDER) - 1 - i for i, z in enumerate(ZONE_ORDER)}


def _level(p: float, cfg: ZonesConfig) -> int:
    """The threshold zone of one probability, as an index of :data:`ZONE_ORDER`: red at or above
    ``cfg.red``, yellow at or above ``cfg.yellow``, else green (the one definition of the rule;
    :func:`threshold_zone` and :func:`threshold_zone_expr` apply it)."""
    return 2 if p >= cfg.red else 1 if p >= cfg.yellow else 0


def threshold_zone(p: float, cfg: ZonesConfig) -> str:
    """green / yellow / red of one probability by the thresholds alone (no hysteresis)."""
    return ZONE_ORDER[_level(p, cfg)]


def threshold_zone_expr(probability: pl.Expr, cfg: ZonesConfig) -> pl.Expr:
    """:func:`threshold_zone` as a Polars expression over a probability column."""
    return (
        pl.when(probability >= cfg.red)
        .then(pl.lit(ZONE_ORDER[2]))
        .when(probability >= cfg.yellow)
        .then(pl.lit(ZONE_ORDER[1]))
        .otherwise(pl.lit(ZONE_ORDER[0]))
    )


def zone_path(
    probabilities: Sequence[float], cfg: ZonesConfig, snapshots: Sequence[date] | None = None
) -> list[str]:
    """The zone at each week of one client's probabilities (oldest first), with hysteresis (module
    docstring). ``exit_margin=0`` and ``exit_weeks=1`` give the plain threshold zones.

    ``snapshots`` (the date of each probability, optional): a week more than 7 days after the one before
    starts the path afresh. The history holds the weeks a client was active only, and a client back after an
    absence is not held in the zone it had before it left."""
    fresh = [
        i == 0 or (snapshots is not None and (snapshots[i] - snapshots[i - 1]).days > 7)
        for i in range(len(probabilities))
    ]
    levels = zone_levels(np.asarray(probabilities, dtype=float), np.asarray(fresh, dtype=bool), cfg)
    return [ZONE_ORDER[level] for level in levels.tolist()]


def zone_levels(probability: np.ndarray, fresh: np.ndarray, cfg: ZonesConfig) -> np.ndarray:
    """The zone with hysteresis (module docstring), as an index of :data:`ZONE_ORDER`, at each row of many paths
    at once: ``probability`` holds the weekly probabilities of one path after another (oldest first), ``fresh`` is
    true at each row that starts a path (a client's first week, or one back after an absence). A path's zone
    reads only its own weeks up to its row: the zone rises to the threshold zone at once; it falls once the
    probability is ``exit_margin`` below its zone's threshold (to the zone of the probability plus that margin)
    or has stayed below it ``exit_weeks`` weeks. The rows of each week of the paths are stepped together, so
    the work in Python is per week, not per client (the list's 82,000 clients x 26 weeks)."""
    p = np.asarray(probability, dtype=float)
    fresh = np.asarray(fresh, dtype=bool)
    out = np.zeros(len(p), dtype=np.int64)
    if len(p) == 0:
        return out
    if not fresh[0]:
        raise ValueError("zone_levels: the first row starts a path (fresh)")
    path = np.cumsum(fresh) - 1
    week = np.arange(len(p)) - np.flatnonzero(fresh)[path]
    raw = _levels(p, cfg)
    thresholds = np.array([0.0, cfg.yellow, cfg.red])
    current = np.zeros(int(path[-1]) + 1, dtype=np.int64)
    below = np.zeros_like(current)
    order = np.argsort(week, kind="stable")
    bounds = np.searchsorted(week[order], np.arange(int(week.max()) + 2))
    for k in range(int(week.max()) + 1):
        rows = order[bounds[k] : bounds[k + 1]]
        at, level, prob = path[rows], raw[rows], p[rows]
        if k == 0:
            now, weeks_below = level, np.zeros_like(level)
        else:
            before, under = current[at], below[at] + 1
            up = level >= before
            drop = ~up & (prob < thresholds[before] - cfg.exit_margin)
            left = ~up & ~drop & (under >= cfg.exit_weeks)
            now = np.where(
                up | left,
                level,
                np.where(drop, np.minimum(before, _levels(prob + cfg.exit_margin, cfg)), before),
            )
            weeks_below = np.where(up | drop | left, 0, under)
        out[rows] = now
        current[at], below[at] = now, weeks_below
    return out


def _levels(p: np.ndarray, cfg: ZonesConfig) -> np.ndarray:
    """:func:`_level` of each probability of ``p``."""
    return np.where(p >= cfg.red, 2, np.where(p >= cfg.yellow, 1, 0)).astype(np.int64)


def zone_rule_text(cfg: ZonesConfig) -> str:
    """How the list's zones are set, in one sentence for its readers: why a client at 31.8% can be red
    beside yellow ones at 32%, a client at 12.8% yellow beside a green one at 13.6%."""
    raise_note = "an early-warning rule can raise a zone (zone_raised_by)"
    if cfg.method == "capacity":
        return (
            f"Zones: the {cfg.red_capacity} clients with the largest revenue at risk (churn probability x ARR, "
            "a trial's on conversion) "
            f"are red, the next {cfg.yellow_capacity} yellow; {raise_note}"
        )
    plain = f"Zones: red from {100 * cfg.red:g}%, yellow from {100 * cfg.yellow:g}% churn probability"
    if cfg.exit_margin == 0 and cfg.exit_weeks == 1:  # no hysteresis: the thresholds alone
        return f"{plain}; {raise_note}"
    weeks = "a week" if cfg.exit_weeks == 1 else f"{cfg.exit_weeks} weeks in a row"
    return (
        f"{plain}; a client keeps its zone until its probability is {100 * cfg.exit_margin:g} points below the "
        f"zone's threshold or has stayed below it for {weeks} (a client keeps a zone a little below its "
        f"threshold); {raise_note}"
    )


def zone_change_count(path: Sequence[str]) -> int:
    """How many times the zone changed along ``path``."""
    return sum(1 for a, b in itertools.pairwise(path) if a != b)


def raised_zones(
    zone: Sequence[str], fired: Sequence[str], raise_zone: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """(zone, raised_by) per client: the zone raised to at least ``raise_zone[rule]`` for each fired rule
    (``fired`` holds the ``"; "``-joined rule names); ``raised_by`` names the rules that raised it."""
    zones, by = [], []
    for z, rules in zip(zone, fired, strict=True):
        names = [r for r in (rules or "").split("; ") if r in raise_zone]
        raising = [r for r in names if _LEVEL[raise_zone[r]] > _LEVEL[z]]
        top = max([_LEVEL[z], *(_LEVEL[raise_zone[r]] for r in names)])
        zones.append(ZONE_ORDER[top])
        by.append("; ".join(raising))
    return zones, by


@dataclass(frozen=True)
class ClientFacts:
    """What the action of one client depends on."""

    zone: str
    tier: str
    rules: str = ""
    lead_family: str | None = None
    lead_group: str | None = None  # the registry group of the first driver when it raises the risk
    lead_feature: str | None = None  # the first driver's feature when it raises the risk
    term_state: str = ""
    renewal_due: bool = False
    renewal_days: int | None = None
    not_worth_keeping: bool = False
    keep_reason: str = ""
    # on a pause: its running terms are all free after paid ones (a pause, a free plan), crm.paused_clients
    paused: bool = False
    # a paused client's free term ends within score.renewal_days (crm.PAUSE_DUE): the plan resumes, no renewal
    pause_due: bool = False
    # the paused client skips one term (crm.SKIP, crm.one_term_skips): its plan resumes by itself at the next
    skip: bool = False
    # never paid: its terms so far all free (crm.TRIAL, crm.free_trials: a free trial or a free plan)
    trial: bool = False


@dataclass(frozen=True)
class ChosenPlay:
    """The action of one client: its text, the role who acts and what it follows from."""

    action: str
    role: str
    basis: str


def _urgent(cfg: PlaybooksConfig, zone: str, tier: str, task: str) -> str:
    prefix = cfg.urgency.get(zone, {}).get(tier, "")  # type: ignore[call-overload]
    return f"{prefix}: {task}" if prefix else task


def urgency_zone(facts: ClientFacts, cfg: PlaybooksConfig) -> str:
    """The zone whose urgency prefixes the client's action: its own, or a more urgent one when its renewal
    is due soon (within ``renewal_urgent_days``: red's, within ``renewal_soon_days``: yellow's). A green
    account whose term ends tomorrow read "When convenient: Prepare the renewal (the term ends today)"."""
    if not facts.renewal_due or facts.renewal_days is None or facts.paused:  # a pause's end: no renewal
        return facts.zone
    days = facts.renewal_days
    due = "red" if days <= cfg.renewal_urgent_days else "yellow" if days <= cfg.renewal_soon_days else "green"
    return min((facts.zone, due), key=lambda z: ZONE_RANK.get(z, len(ZONE_RANK)))


# the registry group of the contract features (the term's end, seats, MRR, discount): a driver of it leads
# to the renewal play when a renewal is due
CONTRACT_GROUP = "contract"
# the registry group of the cancellation requests (support_cancellation_requests_<w>d): a notice with its own rule,
# no support problem. A notice that stands fired that rule, whose play came first; a driver of it without the rule
# (a notice the terms say no longer stands: renewed since; the rule off) leads to no family's play
CANCELLATION_GROUP = "cancellation"


def _term_end_leads(facts: ClientFacts) -> bool:
    """Whether the first driver is the running term's end itself (``payments_days_to_term_end``, a term that ends
    after the as-of date) outside green: the model says the renewal is the risk before ``score.renewal_days`` calls
    it due (an energy household's fixed tariff ending in 61-89 days: the renewal offer, not "Check the direct
    debit"), so its play is the renewal's, with the days to the end."""
    return (
        facts.zone != "green"
        and facts.lead_feature == DAYS_TO_TERM_END
        and facts.renewal_days is not None
        and facts.renewal_days >= 0
    )


def _renewal_play(facts: ClientFacts, cfg: PlaybooksConfig, zone: str, tier: str) -> ChosenPlay:
    days = facts.renewal_days
    when = (
        ""
        if days is None
        else " (the term ends today)"
        if days == 0
        else f" (the term ends in {days_text(days)})"
    )
    return ChosenPlay(_urgent(cfg, zone, tier, cfg.renewal.task + when), cfg.renewal.role, "renewal due")


# what a pause causes by itself (a paused subscriber neither uses nor orders): rules whose play a paused client
# does not get (its use fell "far below its usual" while it needs nothing), nor the usage family's; nor
# health_drop, the model's risk rising as the pause goes quiet ("Health dropped sharply: review the drivers with the
# client" for 7 to 13 green learners on a pause a list, an online school's): its question is whether they resume
PAUSE_ECHOES = frozenset({"usage_drop", "no_activity", "health_drop"})
_PAUSE_ECHO_FAMILIES = frozenset({"usage"})
# the play of a paused client where the renewal play or a pause echo's would be
PAUSE_PLAY = Play(
    role="success",
    task="On a pause or a free plan: ask whether they will resume the paid plan and what would make it fit",
)


# the play of a paused client skipping one term (ClientFacts.skip) where the pause's would be: the pause's question
# in a skip's words (its plan resumes by itself at the next term, and 1 in 5 of a pet-food shop's skippers did not
# take it, about as many as its pausers did not resume: the same play, not a lighter one)
SKIP_PLAY = Play(
    role="success",
    task="Skipping one term: ask whether they will take the next one and what would make it fit",
)


def _pause_play(facts: ClientFacts, cfg: PlaybooksConfig, zone: str, tier: str) -> ChosenPlay:
    """:data:`PAUSE_PLAY` (:data:`SKIP_PLAY` for one term skipped, ``skip``), with the days to the free term's end
    when it is within ``score.renewal_days`` (``pause_due``): "... (the free term ends in 13 days)"."""
    days = facts.renewal_days if facts.pause_due else None
    when = (
        ""
        if days is None
        else " (the free term ends today)"
        if days == 0
        else f" (the free term ends in {days_text(days)})"
    )
    play, basis = (SKIP_PLAY, "skip") if facts.skip else (PAUSE_PLAY, "pause")
    return ChosenPlay(_urgent(cfg, zone, tier, play.task + when), play.role, basis)


# rules that read the model's own risk, not a cause: their play gives way to the leading driver's family
# ("Health dropped sharply" told 135 of 154 red subscribers nothing of why, beside "47% -> 40%, risk down")
_RISK_ONLY_RULES = frozenset({"health_drop"})


def _trial_play(facts: ClientFacts, cfg: PlaybooksConfig, zone: str, tier: str) -> ChosenPlay:
    """``playbooks.trial``, with the days to the free term's end: "... (the trial ends in 4 days)"."""
    days = facts.renewal_days
    when = (
        ""
        if days is None or days < 0
        else " (the trial ends today)"
        if days == 0
        else f" (the trial ends in {days_text(days)})"
    )
    return ChosenPlay(_urgent(cfg, zone, tier, cfg.trial.task + when), cfg.trial.role, "trial")


def choose_play(facts: ClientFacts, cfg: PlaybooksConfig) -> ChosenPlay:
    """The action for one client (order of the checks: module docstring)."""
    z, t = urgency_zone(facts, cfg), facts.tier
    fired = [r for r in (facts.rules or "").split("; ") if r]
    if facts.term_state:
        cause = next((r for r in cfg.grace_causes if r in fired and r in cfg.rules), None)
        if cause is not None:  # the lapse's cause first: a renewal that failed at the card, not at the client
            play = cfg.rules[cause]
            return ChosenPlay(f"{facts.term_state}. {play.task}", play.role, f"grace period, rule: {cause}")
        if facts.trial:  # a trial that ended unpaid: the conversion, not a renewal call
            return ChosenPlay(f"{facts.term_state}. {cfg.trial.task}", cfg.trial.role, "trial ended")
        return ChosenPlay(f"{facts.term_state}. {cfg.grace.task}", cfg.grace.role, "grace period")
    if facts.not_worth_keeping and facts.zone != "green":
        return ChosenPlay(
            f"Let go gracefully ({facts.keep_reason}): {cfg.let_go.task}",
            cfg.let_go.role,
            "not worth keeping",
        )
    by_driver = (
        facts.zone != "green"
        and facts.lead_family in cfg.families
        and facts.lead_group != CANCELLATION_GROUP  # a notice: its rule's play, no family's
    )
    echoes = [r for r in fired if r in PAUSE_ECHOES] if facts.paused else []
    for rule, play in cfg.rules.items():
        if rule in fired and rule not in echoes and not (rule in _RISK_ONLY_RULES and by_driver):
            # not for a green client: a rule raise_zone keeps green ("a failed payment is no debt" there)
            urgency = "red" if rule in cfg.urgent_rules and facts.zone != "green" else z
            return ChosenPlay(_urgent(cfg, urgency, t, play.task), play.role, f"rule: {rule}")
    if facts.trial and facts.zone != "green":
        return _trial_play(
            facts, cfg, z, t
        )  # never paid: convert it, not a tariff review nor an account review
    if facts.paused and (
        any(r in cfg.rules for r in echoes)
        or facts.pause_due
        or (by_driver and facts.lead_family in _PAUSE_ECHO_FAMILIES)
    ):
        return _pause_play(facts, cfg, z, t)  # its free term's end resumes the plan: no renewal to prepare
    if facts.lead_group == CONTRACT_GROUP and (facts.renewal_due or _term_end_leads(facts)):
        return _renewal_play(facts, cfg, z, t)  # the term's end leads: the renewal, not a tariff review
    if by_driver:
        play = cfg.families[facts.lead_family]  # type: ignore[index]
        return ChosenPlay(_urgent(cfg, z, t, play.task), play.role, f"driver: {facts.lead_family}")
    if facts.renewal_due:
        return _renewal_play(facts, cfg, z, t)
    try:
        task = cfg.actions[facts.zone][t]  # type: ignore[index]
    except KeyError:
        raise KeyError(
            f"config playbooks.actions has no entry for zone {facts.zone!r} and tier {t!r}"
        ) from None
    return ChosenPlay(_urgent(cfg, z, t, task), "success", "zone and tier")


def escalations(
    zones: Sequence[str],
    tiers: Sequence[str | None],
    role: str,
    quiet: Sequence[bool],
    escalate: Mapping[str, Sequence[str]],
) -> list[str]:
    """The ``escalation`` column: ``role`` (``playbooks.escalation_role``) for a client whose zone and value
    tier ``escalate`` lists (``playbooks.escalate``: red A and B, yellow A by default: a strategic account
    in yellow is brought to the head of customer success, a EUR 1,700 account in red stays with its owner),
    empty for the others and for the rows ``quiet`` marks: not worth keeping (let go: "no discount and no
    escalation", in grace too, where the grace play comes first) or whose next term is already booked."""
    return [
        role if not q and t in escalate.get(z, ()) else ""
        for z, t, q in zip(zones, tiers, quiet, strict=True)
    ]


def b2b_playbook_note(clients: pl.DataFrame, cfg: PlaybooksConfig) -> str | None:
    """A note when the list would speak to an account team most of the data does not have: the playbook's
    actions, families and rules are the shipped B2B words (owner calls, business reviews, budget calls), while
    fewer than half of the clients (one row each) have an ``owner``: a consumer app or subscription, a shop, a
    pay-per-use service, whose riders got "Quarterly business review; look for expansion" and "No recent order or
    use: call about purchase plans and budget" (a streaming service's subscribers, with terms, "call the
    champion" alike); and a consumer business with a few team accounts that have an account manager (an online
    school's 3,671 learners without an owner beside 199 company plans with one were told "Reach another
    contact"). None when half the clients or more have an owner, or any of the three was given in the user's
    words (a B2B export without its owner column reads the note once, and keeps the words by saying them)."""
    shipped = PlaybooksConfig()
    if (cfg.actions, cfg.families, cfg.rules) != (shipped.actions, shipped.families, shipped.rules):
        return None
    owned = _owned_clients(clients)
    if clients.height == 0 or 2 * owned >= clients.height:
        return None
    who = (
        "no client has an owner"
        if owned == 0
        else f"{clients.height - owned:,} of the {clients.height:,} clients have no owner"
    )
    escalation = f", escalation to {cfg.escalation_role}" if cfg.escalation_role else ""
    return (
        "playbooks: the actions are churnml's defaults for a B2B account team (owner calls, business reviews, "
        f"purchase plans and budget, training sessions{escalation}), and {who} (a consumer app or "
        "subscription, a shop, pay-per-use): say the actions your way in playbooks.actions, playbooks.families and "
        "playbooks.rules (README, 'A consumer app or a shop')"
    )


def _owned_clients(clients: pl.DataFrame) -> int:
    """How many rows of ``clients`` (one per client) name an ``owner`` (blank text is none; 0 without the
    column)."""
    if Clients.OWNER not in clients.columns:
        return 0
    return (
        clients.get_column(Clients.OWNER)
        .cast(pl.String)
        .str.strip_chars()
        .replace("", None)
        .drop_nulls()
        .len()
    )


def zone_thresholds(churn_rate: float) -> tuple[float, float]:
    """(yellow, red) probabilities at twice and four times the odds of ``churn_rate``: a customer is
    yellow when its odds of leaving are double the usual ones, red when four times. At a rate of 0.35
    (a typical shop's 90 days) that is 0.52 / 0.68; at 0.06 (a B2B quarter) 0.11 / 0.20."""
    churn_rate = max(churn_rate, 0.01)  # a log where nobody left would put every customer in yellow
    odds = churn_rate / (1 - churn_rate) if churn_rate < 1 else float("inf")

    def prob(o: float) -> float:
        return round(o / (1 + o), 2) if o != float("inf") else 0.99

    return prob(2 * odds), max(prob(4 * odds), prob(2 * odds) + 0.01)
