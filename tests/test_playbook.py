"""Zones with hysteresis and actions that follow the reasons, on hand-written cases."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from churnml.config import PlaybooksConfig, ZonesConfig, load_config
from churnml.scoring.playbook import (
    ClientFacts,
    b2b_playbook_note,
    choose_play,
    raised_zones,
    urgency_zone,
    zone_change_count,
    zone_path,
)

Z = ZonesConfig(yellow=0.15, red=0.35, exit_margin=0.05, exit_weeks=3)
PLAIN = ZonesConfig(yellow=0.15, red=0.35, exit_margin=0.0, exit_weeks=1)
PLAYBOOKS = load_config().playbooks


@pytest.mark.parametrize(
    ("probs", "expected"),
    [
        # up at once
        ([0.1, 0.2, 0.4], ["green", "yellow", "red"]),
        # red -> 0.33 (just below red, within the margin) stays red; two weeks below is not enough
        ([0.4, 0.33, 0.34, 0.4], ["red", "red", "red", "red"]),
        # ... three weeks below the threshold is
        ([0.4, 0.33, 0.34, 0.32], ["red", "red", "red", "yellow"]),
        # far below the threshold leaves at once, to the zone the margin allows: 0.12 + 0.05 is yellow
        ([0.4, 0.12], ["red", "yellow"]),
        ([0.4, 0.05], ["red", "green"]),
    ],
)
def test_zone_path_has_hysteresis(probs: list[float], expected: list[str]) -> None:
    assert zone_path(probs, Z) == expected


@pytest.mark.parametrize(
    ("weeks", "expected"),
    [
        # weekly: the red before holds 0.33
        ([0, 1, 2, 3], ["red", "red", "red", "red"]),
        # back after 10 weeks away: 0.33 is yellow, the red from before it left holds nothing
        ([0, 1, 12, 13], ["red", "red", "yellow", "yellow"]),
    ],
)
def test_zone_path_starts_afresh_after_a_gap_in_the_weeks(weeks: list[int], expected: list[str]) -> None:
    snapshots = [date(2024, 6, 3) + timedelta(weeks=w) for w in weeks]
    assert zone_path([0.5, 0.5, 0.33, 0.34], Z, snapshots) == expected


def test_hysteresis_cuts_the_flapping() -> None:
    flapping = [0.36, 0.33, 0.37, 0.34, 0.36, 0.32, 0.38] * 3
    assert zone_change_count(zone_path(flapping, PLAIN)) == 18
    assert zone_change_count(zone_path(flapping, Z)) == 0


@pytest.mark.parametrize(
    ("zone", "fired", "zones", "by"),
    [
        ("green", "champion_change", "yellow", "champion_change"),
        ("red", "champion_change", "red", ""),
        ("green", "term_lapsed; champion_change", "red", "term_lapsed; champion_change"),
        ("yellow", "no_activity", "yellow", ""),
    ],
)
def test_fired_rules_raise_the_zone(zone: str, fired: str, zones: str, by: str) -> None:
    raise_zone = {"champion_change": "yellow", "term_lapsed": "red"}
    assert raised_zones([zone], [fired], raise_zone) == ([zones], [by])


@pytest.mark.parametrize(
    ("facts", "role", "basis", "starts"),
    [
        (
            ClientFacts("red", "A", term_state="Term ended 12 days ago and was not renewed"),
            "sales",
            "grace period",
            "Term ended 12 days ago and was not renewed. Renewal call",
        ),
        # the term lapsed on a failed card: the card first, not a sales call
        (
            ClientFacts(
                "red",
                "B",
                rules="term_lapsed; payment_trouble",
                term_state="Term ended 3 days ago and was not renewed",
            ),
            "finance",
            "grace period, rule: payment_trouble",
            "Term ended 3 days ago and was not renewed. Resolve the failed or overdue invoices",
        ),
        (
            ClientFacts("red", "C", not_worth_keeping=True, keep_reason="margin 30%, below 45%"),
            "management",
            "not worth keeping",
            "Let go gracefully (margin 30%, below 45%): No discount",
        ),
        # a green tier-A client whose champion just left: management meets the new decision maker
        (
            ClientFacts("green", "A", rules="champion_change"),
            "management",
            "rule: champion_change",
            "At the next review: Meet the new decision maker",
        ),
        # complaints come before the model's leading family
        (
            ClientFacts("yellow", "B", rules="complaints", lead_family="usage"),
            "service",
            "rule: complaints",
            "Within two weeks: Follow up on the recent complaints (what was fixed, what is left)",
        ),
        (
            ClientFacts("red", "B", lead_family="payments"),
            "sales",
            "driver: payments",
            "This week: Purchase plans",
        ),
        # a health drop says the risk rose, not why: the leading driver's family acts
        (
            ClientFacts("red", "B", rules="health_drop", lead_family="payments"),
            "sales",
            "driver: payments",
            "This week: Purchase plans",
        ),
        (
            ClientFacts("red", "B", rules="health_drop"),
            "success",
            "rule: health_drop",
            "This week: Health dropped sharply",
        ),
        (
            ClientFacts("yellow", "A", lead_family="support"),
            "service",
            "driver: support",
            "Within two weeks: Service review",
        ),
        (
            ClientFacts("green", "B", renewal_due=True, renewal_days=1),
            "sales",
            "renewal due",
            "This week: Prepare the renewal",  # the term ends tomorrow, whatever the zone
        ),
        (
            ClientFacts("green", "A", lead_family="usage"),
            "success",
            "zone and tier",
            "At the next review: Quarterly business review",
        ),
    ],
)
def test_the_action_follows_the_reasons(facts: ClientFacts, role: str, basis: str, starts: str) -> None:
    play = choose_play(facts, PLAYBOOKS)
    assert (play.role, play.basis) == (role, basis)
    assert play.action.startswith(starts), play.action


@pytest.mark.parametrize(("days", "ending"), [(1, "(the term ends in 1 day)"), (0, "(the term ends today)")])
def test_renewal_days_read_in_the_singular(days: int, ending: str) -> None:
    play = choose_play(ClientFacts("green", "B", renewal_due=True, renewal_days=days), PLAYBOOKS)
    assert play.action.endswith(ending)


def test_a_client_let_go_is_not_escalated() -> None:
    from churnml.scoring.playbook import escalations

    zones = ["red", "red", "yellow", "green"]
    tiers = ["A", "A", "A", "A"]
    every = {"red": ["A"], "yellow": ["A"], "green": ["A"]}
    let_go = [False, True, True, False]  # rows 2 and 3 are not worth keeping (the let-go play)
    assert escalations(zones, tiers, "head_of_customer_success", let_go, every) == [
        "head_of_customer_success",
        "",
        "",
        "head_of_customer_success",
    ]
    assert escalations(zones, tiers, "", let_go, every) == ["", "", "", ""]
    # not worth keeping while in grace (the grace play comes first), or renewed already: no escalation
    assert escalations(zones, tiers, "cs", [True, True, True, True], every) == ["", "", "", ""]


@pytest.mark.parametrize(
    ("zone", "tier", "escalated"),
    [
        ("red", "A", True),
        ("red", "B", True),
        ("red", "C", False),  # a small account in red stays with its owner
        ("yellow", "A", True),  # a strategic account (tier A) in yellow is brought in
        ("yellow", "B", False),
        ("green", "A", False),
        ("red", None, False),  # no value tier known
    ],
)
def test_escalation_follows_the_zone_and_the_value_tier(zone: str, tier: str | None, escalated: bool) -> None:
    from churnml.scoring.playbook import escalations

    got = escalations([zone], [tier], "head_of_cs", [False], PLAYBOOKS.escalate)
    assert got == (["head_of_cs"] if escalated else [""])


@pytest.mark.parametrize(
    ("zone", "renewal_due", "days", "expected"),
    [
        ("green", True, 1, "red"),  # within renewal_urgent_days (14)
        ("green", True, 14, "red"),
        ("green", True, 15, "yellow"),  # within renewal_soon_days (30)
        ("green", True, 45, "green"),
        ("yellow", True, 3, "red"),
        ("red", True, 45, "red"),  # never less urgent than the zone
        ("green", False, 1, "green"),  # a monthly term, or a renewal booked already: no renewal due
        ("green", True, None, "green"),
    ],
)
def test_a_renewal_due_soon_makes_the_action_more_urgent(
    zone: str, renewal_due: bool, days: int | None, expected: str
) -> None:
    facts = ClientFacts(zone, "B", renewal_due=renewal_due, renewal_days=days)
    assert urgency_zone(facts, PLAYBOOKS) == expected


@pytest.mark.parametrize(
    ("zone", "tier", "urgency"),
    [
        ("yellow", "C", "This week"),  # yellow C's own urgency is "This month"
        ("red", "B", "This week"),
        ("green", "B", "At the next review"),  # kept green by rules.raise_zone: "a failed payment is no debt"
    ],
)
def test_a_failed_payment_is_for_this_week_outside_green(zone: str, tier: str, urgency: str) -> None:
    play = choose_play(ClientFacts(zone, tier, rules="payment_trouble"), PLAYBOOKS)
    assert play.action == f"{urgency}: Resolve the failed or overdue invoices; offer a payment plan"


def test_a_rule_play_of_a_renewal_due_tomorrow_is_for_this_week() -> None:
    facts = ClientFacts("green", "A", rules="price_rise", renewal_due=True, renewal_days=1)
    assert choose_play(facts, PLAYBOOKS).action.startswith("This week: Price rise:")


def test_the_price_rise_play_fits_a_rise_already_started() -> None:
    # price_rise fires for a rise to come and for one already started (a monthly plan renewed at a higher price):
    # "before it starts" was wrong for the latter; the shipped YAML and config.py's default say the same
    play = choose_play(ClientFacts("yellow", "B", rules="price_rise"), PLAYBOOKS)
    assert play.action == (
        "Within two weeks: Price rise: explain what the new price buys and offer the options (before a rise to "
        "come starts; now, for one already started)"
    )
    assert PlaybooksConfig().rules["price_rise"].task == PLAYBOOKS.rules["price_rise"].task


def test_a_raise_to_green_switches_a_rule_s_raise_off() -> None:
    # a config file cannot delete the default payment_trouble: yellow; setting it green keeps the rule firing
    cfg = load_config(None, ["rules.raise_zone.payment_trouble=green"])
    zones, by = raised_zones(
        ["green", "yellow"], ["payment_trouble", "payment_trouble"], cfg.rules.raise_zone
    )
    assert (zones, by) == (["green", "yellow"], ["", ""])


def test_a_renewal_due_soon_does_not_turn_a_green_client_into_a_let_go() -> None:
    facts = ClientFacts(
        "green", "C", renewal_due=True, renewal_days=10, not_worth_keeping=True, keep_reason="x"
    )
    play = choose_play(facts, PLAYBOOKS)
    assert (play.basis, play.action) == (
        "renewal due",
        "This week: Prepare the renewal: what the last term brought them and the offer for the next (the term ends in 10 days)",
    )


@pytest.mark.parametrize(
    ("group", "renewal_due", "basis"),
    [
        ("contract", True, "renewal due"),  # "The current term ends in 27 days" leads: the renewal
        ("contract", False, "driver: payments"),  # no renewal due (a monthly plan): the family's play
        ("revenue", True, "driver: payments"),  # payments falling: the family's play
    ],
)
def test_a_term_ending_driver_leads_to_the_renewal(group: str, renewal_due: bool, basis: str) -> None:
    facts = ClientFacts(
        "yellow", "B", lead_family="payments", lead_group=group, renewal_due=renewal_due, renewal_days=27
    )
    assert choose_play(facts, PLAYBOOKS).basis == basis


@pytest.mark.parametrize(
    ("zone", "feature", "days", "expected"),
    [
        # an energy household's fixed tariff ends in 71 days (score.renewal_days 60: not due yet) and "The
        # current term ends in 71 days" leads: the renewal offer, not the payments family's tariff review
        (
            "yellow",
            "payments_days_to_term_end",
            71,
            (
                "renewal due",
                "Within two weeks: Prepare the renewal: what the last term brought them and the offer for the next "
                "(the term ends in 71 days)",
            ),
        ),
        ("green", "payments_days_to_term_end", 71, ("zone and tier", "At the next review: Keep the r")),
        # another contract feature (the MRR fell) with the term's end far off: the family's play
        ("yellow", "payments_mrr_change_91d", 71, ("driver: payments", "Within two weeks: Purchase plans")),
        # a term that already ended (its grace is the term_state's play): no renewal to prepare from the driver
        ("yellow", "payments_days_to_term_end", -3, ("driver: payments", "Within two weeks: Purchase plans")),
    ],
)
def test_the_terms_end_leading_before_the_renewal_is_due_gets_the_renewal_play(
    zone: str, feature: str, days: int, expected: tuple[str, str]
) -> None:
    facts = ClientFacts(
        zone,
        "B",
        lead_family="payments",
        lead_group="contract",
        lead_feature=feature,
        renewal_due=False,
        renewal_days=days,
    )
    play = choose_play(facts, PLAYBOOKS)
    assert (play.basis, play.action[: len(expected[1])]) == expected


@pytest.mark.parametrize(
    ("facts", "basis", "starts"),
    [
        # "1 cancellation request in the last 182 days" leads and the rule did not fire (the notice no longer
        # stands: renewed since): not "Follow up on their tickets" (a learner whose only ticket was it)
        (
            ClientFacts("yellow", "B", lead_family="support", lead_group="cancellation"),
            "zone and tier",
            "Within two weeks: Owner check-in call",
        ),
        (
            ClientFacts("red", "B", lead_family="support", lead_group="cancellation", renewal_due=True),
            "renewal due",
            "This week: Prepare the renewal",
        ),
        # health_drop's play gives way to a family's, not to the notice's driver
        (
            ClientFacts("red", "B", rules="health_drop", lead_family="support", lead_group="cancellation"),
            "rule: health_drop",
            "This week: Health dropped sharply",
        ),
        # a notice that stands fired the rule: its play
        (
            ClientFacts(
                "red", "B", rules="cancellation_request", lead_family="support", lead_group="cancellation"
            ),
            "rule: cancellation_request",
            "This week: Save call: they asked to cancel",
        ),
        # support trouble: the family's
        (
            ClientFacts("yellow", "B", lead_family="support", lead_group="tickets"),
            "driver: support",
            "Within two weeks: Service review",
        ),
    ],
)
def test_a_cancellation_request_driver_is_no_ticket_follow_up(
    facts: ClientFacts, basis: str, starts: str
) -> None:
    play = choose_play(facts, PLAYBOOKS)
    assert (play.basis, play.action[: len(starts)]) == (basis, starts), play.action


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            [],
            "Zones: red from 35%, yellow from 15% churn probability; a client keeps its zone until its probability "
            "is 5 points below the zone's threshold or has stayed below it for 3 weeks in a row (a client keeps a "
            "zone a little below its threshold); an early-warning rule can raise a zone (zone_raised_by)",
        ),
        (
            ["score.zones.exit_weeks=1", "score.zones.red=0.5"],
            "Zones: red from 50%, yellow from 15% churn probability; a client keeps its zone until its probability "
            "is 5 points below the zone's threshold or has stayed below it for a week (a client keeps a zone a "
            "little below its threshold); an early-warning rule can raise a zone (zone_raised_by)",
        ),
        (
            ["score.zones.method=capacity"],
            "Zones: the 50 clients with the largest revenue at risk (churn probability x ARR, a trial's on "
            "conversion) are red, the next 150 yellow; an early-warning rule can raise a zone (zone_raised_by)",
        ),
        (
            ["score.zones.exit_weeks=1", "score.zones.exit_margin=0", "score.zones.red=0.325"],
            "Zones: red from 32.5%, yellow from 15% churn probability; an early-warning rule can raise a zone "
            "(zone_raised_by)",
        ),
    ],
)
def test_the_zone_rule_is_said_to_the_lists_readers(overrides, expected) -> None:
    from churnml.config import load_config
    from churnml.scoring.playbook import zone_rule_text

    assert zone_rule_text(load_config(None, overrides).score.zones) == expected


PAUSE = "On a pause or a free plan: ask whether they will resume the paid plan and what would make it fit"


@pytest.mark.parametrize(
    ("facts", "basis", "action"),
    [
        # a subscriber's two-month pause ends in 13 days: the plan resumes, no renewal to prepare this week
        (
            ClientFacts("green", "B", renewal_days=13, paused=True, pause_due=True),
            "pause",
            f"At the next review: {PAUSE} (the free term ends in 13 days)",
        ),
        # its use fell while paused (usage_drop): expected, not a usage review
        (
            ClientFacts("red", "B", rules="usage_drop; health_drop", lead_family="usage", paused=True),
            "pause",
            f"This week: {PAUSE}",
        ),
        # nor an adoption review when the usage family leads
        (ClientFacts("yellow", "B", lead_family="usage", paused=True), "pause", f"Within two weeks: {PAUSE}"),
        # a failed card is still a failed card
        (
            ClientFacts("red", "B", rules="payment_trouble; usage_drop", lead_family="usage", paused=True),
            "rule: payment_trouble",
            "This week: Resolve the failed or overdue invoices; offer a payment plan",
        ),
        # another family leads, no pause echo fired and no free term ending soon: the family's play
        (
            ClientFacts("yellow", "B", lead_family="payments", paused=True),
            "driver: payments",
            "Within two weeks: Purchase plans and budget: tariff review",
        ),
        (ClientFacts("green", "C", paused=True), "zone and tier", "When convenient: Automated nurture"),
        # its health fell as it went quiet on its pause: whether they resume, not "review the drivers"
        (
            ClientFacts("green", "B", rules="health_drop", paused=True),
            "pause",
            "At the next review: On a pause or a free plan: ask whether they will resume the paid plan and what would "
            "make it fit",
        ),
        (  # not paused: the drop's own play
            ClientFacts("green", "B", rules="health_drop"),
            "rule: health_drop",
            "At the next review: Health dropped sharply: review the drivers with the client",
        ),
        # one term skipped (crm.one_term_skips): the pause's question in a skip's words
        (
            ClientFacts("red", "B", lead_family="usage", paused=True, skip=True),
            "skip",
            "This week: Skipping one term: ask whether they will take the next one and what would make it fit",
        ),
        (
            ClientFacts("green", "B", renewal_days=13, paused=True, pause_due=True, skip=True),
            "skip",
            "At the next review: Skipping one term: ask whether they will take the next one and what would make it fit "
            "(the free term ends in 13 days)",
        ),
        # not paused: the renewal and the usage review as before
        (
            ClientFacts("green", "B", renewal_due=True, renewal_days=13),
            "renewal due",
            "This week: Prepare the renewal: what the last term brought them and the offer for the next (the term ends in 13 days)",
        ),
        (
            ClientFacts("red", "B", rules="usage_drop", lead_family="usage"),
            "rule: usage_drop",
            "This week: Usage review: their use fell far below its usual; ask what changed and who stopped using it",
        ),
    ],
)
def test_a_paused_client_gets_the_pause_not_a_renewal_nor_a_usage_review(
    facts: ClientFacts, basis: str, action: str
) -> None:
    """A pet-food subscriber on a pause read "Prepare the renewal ... (the term ends in 54 days)" and, its
    site visits gone while paused, "Usage review: their use fell far below its usual"."""
    play = choose_play(facts, PLAYBOOKS)
    assert (play.basis, play.action) == (basis, action)


TRIAL_TASK = "Convert the trial: a guided start on what they have not used yet, and the plan that fits them"


@pytest.mark.parametrize(
    ("facts", "basis", "action"),
    [
        # a trialist in red, its first days' use leading: the conversion, not an adoption review
        (
            ClientFacts("red", "C", lead_family="usage", renewal_days=4, trial=True),
            "trial",
            f"This week: {TRIAL_TASK} (the trial ends in 4 days)",
        ),
        # nor the zone's default when no driver raises the risk
        (
            ClientFacts("yellow", "C", renewal_days=0, trial=True),
            "trial",
            f"This month: {TRIAL_TASK} (the trial ends today)",
        ),
        # a trial that ended unpaid: its state, then the conversion, not the renewal call
        (
            ClientFacts(
                "red",
                "C",
                rules="term_lapsed",
                term_state="Free trial ended 2 days ago without a paid term",
                trial=True,
            ),
            "trial ended",
            f"Free trial ended 2 days ago without a paid term. {TRIAL_TASK}",
        ),
        # a fired rule keeps its play: a failed first charge is a card to update
        (
            ClientFacts("red", "C", rules="payment_trouble", lead_family="usage", trial=True),
            "rule: payment_trouble",
            "This week: Resolve the failed or overdue invoices; offer a payment plan",
        ),
        # a green trialist: the zone's play, as any green client
        (ClientFacts("green", "C", trial=True), "zone and tier", "When convenient: Automated nurture"),
        # a paying client: as before
        (
            ClientFacts("red", "C", lead_family="usage"),
            "driver: usage",
            "This week: Adoption review: training on the key features",
        ),
    ],
)
def test_a_client_that_never_paid_gets_the_trial_s_play(facts: ClientFacts, basis: str, action: str) -> None:
    """A streaming service's trialists in red read "Adoption review: training on the key features", and one
    whose trial ended unpaid "Renewal call: ask what stands in the way and renew the term"."""
    play = choose_play(facts, PLAYBOOKS)
    assert (play.basis, play.action) == (basis, action)


def test_the_cancellation_group_is_the_registry_s() -> None:
    from churnml.features.registry import feature_specs
    from churnml.scoring.playbook import CANCELLATION_GROUP

    specs = feature_specs()
    groups = {s.group for name, s in specs.items() if name.startswith("support_cancellation_requests_")}
    assert groups == {CANCELLATION_GROUP}
    assert all(
        s.group != CANCELLATION_GROUP for n, s in specs.items() if not n.startswith("support_cancellation")
    )


RIDERS = pl.DataFrame({"client_id": ["r1", "r2"], "created_at": [datetime(2026, 6, 1)] * 2})
# an online school's learners, one of them a company plan with an account manager ("  " is no owner)
LEARNERS = pl.DataFrame(
    {
        "client_id": [f"l{i}" for i in range(10)],
        "created_at": [datetime(2026, 6, 1)] * 10,
        "owner": ["lea"] + [None] * 8 + ["  "],
    }
)
SAID = (
    "playbooks: the actions are churnml's defaults for a B2B account team (owner calls, business reviews, "
    "purchase plans and budget, training sessions, escalation to head_of_customer_success), and no client has "
    "an owner (a consumer app or subscription, a shop, pay-per-use): say the actions your way in "
    "playbooks.actions, playbooks.families and playbooks.rules (README, 'A consumer app or a shop')"
)


@pytest.mark.parametrize(
    ("clients", "playbooks", "expected"),
    [
        (RIDERS, PLAYBOOKS, SAID),  # riders (or a streaming service's subscribers) without owners: said
        (RIDERS.with_columns(owner=pl.lit(None, pl.String)), PLAYBOOKS, SAID),  # an empty owner column
        (RIDERS.with_columns(owner=pl.Series(["anna", None])), PLAYBOOKS, None),  # an account team
        (  # learners without an owner beside a few company plans with an account manager: said, with the count
            LEARNERS,
            PLAYBOOKS,
            SAID.replace("no client has an owner", "9 of the 10 clients have no owner"),
        ),
        (LEARNERS.with_columns(owner=pl.Series(["anna"] * 5 + [None, " "] * 2 + [None])), PLAYBOOKS, None),
        (  # the user's own words for one family: the playbook was looked at
            RIDERS,
            PLAYBOOKS.model_copy(
                update={"actions": {**PLAYBOOKS.actions, "red": {"A": "Push", "B": "Push", "C": "Push"}}}
            ),
            None,
        ),
    ],
)
def test_b2b_playbook_note_only_for_clients_without_owners_under_the_shipped_words(
    clients, playbooks, expected
) -> None:
    """A streaming service's subscribers have terms and no account team: "Quarterly business review" and "call
    the champion" are as wrong for them as for riders (the note said nothing where a subscriptions table was)."""
    assert b2b_playbook_note(clients, playbooks) == expected
