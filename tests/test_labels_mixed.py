"""The ``mixed`` label source: subscribers by their terms, one-off buyers by inactivity (hand-built datasets)."""

from __future__ import annotations

from datetime import date, datetime
from itertools import pairwise

import polars as pl
import pytest

from churnml.config import LabelConfig
from churnml.labels import (
    active_spine,
    churn_dates,
    customer_since,
    inactivity_activity,
    label_lag_days,
    labeled_spine,
)
from test_labels import clients, dataset, payments, rows, subscriptions

D = datetime
CFG = LabelConfig(source="mixed", horizon_days=28, inactivity_days=28, grace_days=14)
SNAPS = [date(2024, m, d) for m, d in ((1, 22), (2, 12), (3, 18), (4, 8), (4, 22), (5, 13), (6, 10), (7, 8))]
# s: monthly terms 01-01 .. 04-01, not renewed (a churn at 04-01, known 04-15), an order at each term's start;
#    back as a one-off buyer with an order on 05-10 (outside its spell and grace), then quiet.
# b1: a one-off buyer: orders 01-10, 02-05, 03-01, then 06-03 (runs with gaps of 28 days at most).
# b2: one order on 01-15, then subscribes on 02-05 (monthly terms to 09-05, running at the data's end).
B2_TERMS = [(D(2024, m, 5), D(2024, m + 1, 5)) for m in range(2, 9)]
MIXED = dataset(
    D(2024, 9, 1),
    clients=clients(("b1", D(2024, 1, 1)), ("b2", D(2024, 1, 1)), ("s", D(2023, 12, 1))),
    subscriptions=subscriptions(
        *[("s", D(2024, m, 1), D(2024, m + 1, 1)) for m in (1, 2, 3)], *[("b2", a, b) for a, b in B2_TERMS]
    ),
    payments=payments(
        *[("s", D(2024, m, 1), 30.0) for m in (1, 2, 3)],
        ("s", D(2024, 5, 10), 12.0),
        *[("b1", D(2024, m, d), 20.0) for m, d in ((1, 10), (2, 5), (3, 1), (6, 3))],
        ("b2", D(2024, 1, 15), 20.0),
        *[("b2", a, 30.0) for a, _ in B2_TERMS],
    ),
)


def test_mixed_labels_a_subscriber_by_its_terms_and_one_off_buyers_by_inactivity() -> None:
    got = [(c, s, label) for c, s, label, _ in labeled_spine(MIXED, SNAPS, CFG).iter_rows()]
    assert got == [
        ("b1", date(2024, 1, 22), 0),  # ordered 01-10; next order 02-05, within [01-22, 02-19)
        ("b1", date(2024, 2, 12), 0),  # next order 03-01
        ("b1", date(2024, 3, 18), 1),  # no order in [03-18, 04-15) (the next is 06-03)
        # 04-08 .. 05-13: gone (last order 03-01 + 28 days = 03-29)
        ("b1", date(2024, 6, 10), 1),  # back on 06-03, no order after it
        # 07-08: gone again (06-03 + 28 days)
        ("b2", date(2024, 1, 22), 0),  # a one-off buyer (01-15) whose term starting 02-05 is activity
        ("b2", date(2024, 2, 12), 0),  # a subscriber from 02-05: its terms run on past the data
        ("b2", date(2024, 3, 18), 0),
        ("b2", date(2024, 4, 8), 0),
        ("b2", date(2024, 4, 22), 0),
        ("b2", date(2024, 5, 13), 0),
        ("b2", date(2024, 6, 10), 0),
        ("b2", date(2024, 7, 8), 0),  # 07-08 + 28 + 14 (the lag) <= 09-01: still labeled
        ("s", date(2024, 1, 22), 0),  # its term ends 04-01, not within [01-22, 02-19)
        ("s", date(2024, 2, 12), 0),
        ("s", date(2024, 3, 18), 1),  # the last term ends 04-01 unrenewed
        ("s", date(2024, 4, 8), 1),  # in the grace (to 04-15): still in, labeled 1
        # 04-22: gone (the term's churn known 04-15; its orders inside the spell keep nothing)
        ("s", date(2024, 5, 13), 1),  # back as a one-off buyer on 05-10, no order after it
        # 06-10, 07-08: gone (05-10 + 28 days)
    ]


def test_train_says_how_many_rows_the_mixed_label_read_as_subscribers_and_as_one_off_buyers() -> None:
    # train said neither the label nor the split: a subscriber's row (b2 from 02-12, s to its grace 04-08) by
    # its terms, the others (b1, b2 on 01-22, s back as a buyer on 05-13) by inactivity
    from churnml.labels import mixed_label_note

    labeled = labeled_spine(MIXED, SNAPS, CFG).filter(pl.col("label").is_not_null())
    assert mixed_label_note(labeled, MIXED, CFG) == (
        "label.source mixed: of the 17 labeled rows, 11 are subscribers' (a term or its grace running at the "
        "snapshot: a churn is the subscription ending unrenewed within 28 days, or a churns record; 2 churn labels, "
        "18.2%) and 6 one-off buyers' (a churn is no order and no activity in the 28 days after; 3 churn labels, "
        "50.0%)"
    )
    assert mixed_label_note(labeled, MIXED, LabelConfig(source="inactivity")) is None


@pytest.mark.parametrize(
    ("source", "listed"),
    [
        # a customer is a client with a term: b1 never is, b2 only from 02-05, s never after its lapse
        ("subscriptions", {"b2": 7, "s": 4}),
        # every buyer by its orders, s's monthly orders too: s is off on 04-08 (03-01 + 28 days) while its
        # term's grace still runs, and read by its orders, never by its term's end
        ("inactivity", {"b1": 4, "b2": 8, "s": 4}),
        ("mixed", {"b1": 4, "b2": 8, "s": 5}),
    ],
)
def test_who_each_source_lists(source: str, listed: dict[str, int]) -> None:
    cfg = LabelConfig(source=source, horizon_days=28, inactivity_days=28, grace_days=14)
    spine = active_spine(MIXED, SNAPS, cfg)
    assert dict(spine.group_by("client_id").len().sort("client_id").iter_rows()) == listed


def test_mixed_churn_dates_customer_since_and_lag() -> None:
    assert rows(churn_dates(MIXED, CFG)) == [
        # (client, churned_at, left_at): a one-off buyer left at its last order, decided 28 days later
        ("b1", D(2024, 3, 29), D(2024, 3, 1)),  # 03-01 + 28
        ("b1", D(2024, 7, 1), D(2024, 6, 3)),  # 06-03 + 28
        # b2: its one-off run's churn (01-15 + 28 = 02-12) never comes: it subscribed on 02-05
        ("s", D(2024, 4, 1), D(2024, 4, 1)),  # the term's end (known 04-15) is its departure
        ("s", D(2024, 6, 7), D(2024, 5, 10)),  # back as a one-off buyer on 05-10: 05-10 + 28
    ]
    assert rows(customer_since(MIXED, CFG)) == [
        ("b1", D(2024, 1, 10)),
        ("b2", D(2024, 1, 15)),  # its first order, before its first term
        ("s", D(2024, 1, 1)),
    ]
    assert label_lag_days(CFG) == 14  # the conservative grace for every row
    assert label_lag_days(CFG.model_copy(update={"source": "inactivity"})) == 0


def test_inactivity_activity_leaves_out_orders_inside_term_spells() -> None:
    got = inactivity_activity(MIXED, CFG).sort("client_id", "_at")
    assert rows(got) == [
        *[("b1", D(2024, m, d)) for m, d in ((1, 10), (2, 5), (3, 1), (6, 3))],
        ("b2", D(2024, 1, 15)),
        ("s", D(2024, 5, 10)),  # after the spell 01-01 .. 04-01 and its grace
    ]
    every = inactivity_activity(MIXED, CFG.model_copy(update={"source": "inactivity"}))
    assert every.height == 3 + 1 + 4 + 1 + len(B2_TERMS)


def test_mixed_without_a_subscriptions_table_is_a_clear_error() -> None:
    from churnml.contract.validation import ContractError

    data = dataset(
        D(2024, 9, 1), clients=clients(("b1", D(2024, 1, 1))), payments=payments(("b1", D(2024, 2, 1), 5.0))
    )
    with pytest.raises(
        ContractError, match=r"label\.source is 'mixed' but the dataset has no subscriptions table"
    ):
        labeled_spine(data, SNAPS, CFG)


def test_mixed_with_terms_only_labels_as_subscriptions() -> None:
    """Without orders or events every customer has a term: ``mixed`` gives the labels of ``subscriptions``."""
    from churnml.contract.schemas import Table

    data = dataset(
        D(2024, 9, 1), clients=MIXED.tables[Table.CLIENTS], subscriptions=MIXED.tables[Table.SUBSCRIPTIONS]
    )
    by_terms = labeled_spine(data, SNAPS, CFG.model_copy(update={"source": "subscriptions"}))
    assert labeled_spine(data, SNAPS, CFG).equals(by_terms)


@pytest.mark.parametrize(
    ("source", "with_terms", "warned"),
    [("inactivity", True, True), ("mixed", True, False), ("mixed", False, True)],
)
def test_the_rhythm_note_reads_the_one_off_orders_under_mixed(
    source: str, with_terms: bool, warned: bool
) -> None:
    """30 clients ordering on the 1st of every month, and a 30-day horizon. As subscribers (monthly terms, an
    order at each term's start), under inactivity their orders are a regular rhythm about the horizon (one late
    order reads as churn), while under mixed those orders belong to their terms and the inactivity rule reads
    none of them; as one-off buyers (no terms, a subscriptions table of other clients), mixed warns as
    inactivity does."""
    from churnml.config import load_config
    from churnml.jobs.inputs import data_notes

    ids = [f"s{i:02d}" for i in range(30)]
    starts = [D(2024, m, 1) for m in range(1, 11)]
    termed = ids if with_terms else ["other"]
    data = dataset(
        D(2024, 10, 1),
        clients=clients(*[(c, D(2023, 12, 1)) for c in [*ids, "other"]]),
        subscriptions=subscriptions(*[(c, a, b) for c in termed for a, b in pairwise(starts)]),
        payments=payments(*[(c, a, 30.0) for c in ids for a in starts[:-1]]),
    )
    cfg = load_config(
        overrides=[f"label.source={source}", "label.horizon_days=30", "label.inactivity_days=45"]
    )
    rhythm = [n for n in data_notes(data, cfg) if "regular rhythm" in n]
    assert len(rhythm) == (1 if warned else 0)
