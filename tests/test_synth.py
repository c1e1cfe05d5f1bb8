"""Tests of the synthetic CRM generator: determinism, contract, mechanism (statistically), truth, oracle."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnml.config import DataConfig
from churnml.contract.io import read_dataset
from churnml.contract.schemas import (
    CLIENT_ID,
    CONTRACT,
    POLARS_TYPE,
    Churns,
    Clients,
    Communications,
    Payments,
    Signals,
    Subscriptions,
    Table,
    Tickets,
)
from churnml.demo.synth import (
    SynthParams,
    Truth,
    data_end,
    nowcast_probability,
    oracle_probability,
    synthetic_chunk,
    write_synthetic_dataset,
)

PARAMS = SynthParams(clients=300, months=12, seed=7)
END = datetime.combine(PARAMS.end, datetime.min.time())


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("synth")
    write_synthetic_dataset(PARAMS, root / "raw", root / "truth")
    return root / "raw", root / "truth"


@pytest.fixture(scope="module")
def tables(generated: tuple[Path, Path]) -> dict[Table, pl.DataFrame]:
    raw, _ = generated
    return {t: pl.read_parquet(raw / f"{t}.parquet") for t in Table}


@pytest.fixture(scope="module")
def truth(generated: tuple[Path, Path]) -> dict[str, pl.DataFrame]:
    _, folder = generated
    return {name: pl.read_parquet(folder / f"{name}.parquet") for name in (Truth.HAZARD, Truth.CLIENTS)}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ----------------------------------------------------------------------------------------------
# determinism and contract
# ----------------------------------------------------------------------------------------------
def test_same_arguments_give_byte_identical_files(generated: tuple[Path, Path], tmp_path: Path) -> None:
    raw, truth_dir = generated
    write_synthetic_dataset(PARAMS, tmp_path / "raw", tmp_path / "truth")
    assert _files(tmp_path / "raw") == _files(raw)
    assert _files(tmp_path / "truth") == _files(truth_dir)


def test_another_seed_gives_other_data(tables: dict[Table, pl.DataFrame], tmp_path: Path) -> None:
    other = SynthParams(clients=PARAMS.clients, months=PARAMS.months, seed=PARAMS.seed + 1)
    write_synthetic_dataset(other, tmp_path / "raw", tmp_path / "truth")
    assert not pl.read_parquet(tmp_path / "raw" / "clients.parquet").equals(tables[Table.CLIENTS])


@pytest.mark.parametrize("table", list(Table))
def test_every_table_has_exactly_the_contract_columns_and_types(
    tables: dict[Table, pl.DataFrame], table: Table
) -> None:
    frame = tables[table]
    schema = CONTRACT[table]
    assert frame.columns == [c.name for c in schema.columns]
    assert dict(frame.schema) == {c.name: POLARS_TYPE[c.kind] for c in schema.columns}
    assert frame.height > 0
    required = [c.name for c in schema.columns if c.required and not c.nullable]
    assert frame.select(pl.col(required).null_count()).sum_horizontal().item() == 0


def test_generated_folder_passes_contract_validation(generated: tuple[Path, Path]) -> None:
    raw, _ = generated
    dataset = read_dataset(raw, DataConfig(as_of=PARAMS.end - timedelta(days=1)))
    assert set(dataset.tables) == set(Table)
    assert dataset.tables[Table.CLIENTS].height == PARAMS.clients


@pytest.mark.parametrize("table", list(Table))
def test_files_are_sorted_by_client_then_time(tables: dict[Table, pl.DataFrame], table: Table) -> None:
    frame = tables[table]
    time_col = CONTRACT[table].time_columns[0] if table is not Table.PAYMENTS else Payments.ISSUED_AT
    assert frame.select(CLIENT_ID, time_col).equals(
        frame.select(CLIENT_ID, time_col).sort(CLIENT_ID, time_col)
    )


def test_truth_never_leaks_into_the_input_tables(generated: tuple[Path, Path]) -> None:
    raw, truth_dir = generated
    assert sorted(p.name for p in raw.iterdir()) == sorted(f"{t}.parquet" for t in Table)
    contract_columns = {c.name for s in CONTRACT.values() for c in s.columns}
    truth_only = {Truth.HAZARD, Truth.DECLINE, Truth.SPELL, Truth.WARNED, Truth.EPISODES, Truth.DUE}
    for path in raw.iterdir():
        columns = set(pl.read_parquet_schema(path))
        assert columns <= contract_columns, path.name
        assert not columns & truth_only
    assert truth_dir.resolve() != raw.resolve()


def test_nothing_is_dated_at_or_after_the_data_end(tables: dict[Table, pl.DataFrame]) -> None:
    for table, frame in tables.items():
        for col in frame.columns:
            if frame.schema[col] != pl.Datetime("us") or (table, col) == (
                Table.SUBSCRIPTIONS,
                Subscriptions.END_DATE,
            ):
                continue
            latest = frame.get_column(col).max()
            assert latest is None or latest < END, f"{table}.{col} has {latest}"
    # the data really spans the period (the demo default ends on 2025-12-31)
    assert tables[Table.EVENTS].get_column("ts").max() >= END - timedelta(days=3)
    assert data_end(date(2024, 1, 1), 24) == date(2026, 1, 1)


def test_activity_lies_within_the_clients_life(tables: dict[Table, pl.DataFrame]) -> None:
    created = tables[Table.CLIENTS].select(CLIENT_ID, Clients.CREATED_AT)
    first = (
        tables[Table.EVENTS]
        .group_by(CLIENT_ID)
        .agg(pl.col("ts").min().alias("first"))
        .join(created, on=CLIENT_ID)
    )
    assert first.filter(pl.col("first") < pl.col(Clients.CREATED_AT)).height == 0


# ----------------------------------------------------------------------------------------------
# subscriptions and churns
# ----------------------------------------------------------------------------------------------
def test_a_churners_last_term_ends_at_churned_at_and_no_term_follows_within_30_days(
    tables: dict[Table, pl.DataFrame],
) -> None:
    subs = tables[Table.SUBSCRIPTIONS].filter(~pl.col(Subscriptions.IS_ADDON))
    churns = tables[Table.CHURNS]
    assert churns.height > 10
    pairs = churns.join(subs, on=CLIENT_ID)
    ended = (
        pairs.filter(pl.col(Subscriptions.START_DATE) < pl.col(Churns.CHURNED_AT))
        .group_by(CLIENT_ID, Churns.CHURNED_AT)
        .agg(pl.col(Subscriptions.END_DATE).max().alias("last_end"))
    )
    assert ended.height == churns.height
    assert ended.filter(pl.col("last_end") != pl.col(Churns.CHURNED_AT)).height == 0
    soon = pairs.filter(
        (pl.col(Subscriptions.START_DATE) >= pl.col(Churns.CHURNED_AT))
        & (pl.col(Subscriptions.START_DATE) <= pl.col(Churns.CHURNED_AT) + pl.duration(days=30))
    )
    assert soon.height == 0


def test_terms_of_a_spell_follow_each_other_without_gaps(tables: dict[Table, pl.DataFrame]) -> None:
    subs = tables[Table.SUBSCRIPTIONS].filter(~pl.col(Subscriptions.IS_ADDON))
    gaps = subs.with_columns(pl.col(Subscriptions.END_DATE).shift().over(CLIENT_ID).alias("prev_end")).filter(
        pl.col("prev_end").is_not_null() & (pl.col(Subscriptions.START_DATE) != pl.col("prev_end"))
    )
    # every gap is a win-back after a churn: more than 30 days, and the previous end is a churn
    assert (
        gaps.filter(pl.col(Subscriptions.START_DATE) - pl.col("prev_end") <= timedelta(days=30)).height == 0
    )
    churned = tables[Table.CHURNS].select(CLIENT_ID, pl.col(Churns.CHURNED_AT).alias("prev_end"))
    assert gaps.join(churned, on=[CLIENT_ID, "prev_end"], how="anti").height == 0


def test_some_clients_return_after_churning(truth: dict[str, pl.DataFrame]) -> None:
    assert truth[Truth.CLIENTS].get_column(Truth.RETURNED).sum() >= 1


def test_churn_rate_is_near_the_configured_target(
    tables: dict[Table, pl.DataFrame], truth: dict[str, pl.DataFrame]
) -> None:
    client_months = truth[Truth.HAZARD].height * 7 / 30.44
    rate = tables[Table.CHURNS].height / client_months
    assert 0.6 * PARAMS.churn_rate <= rate <= 1.5 * PARAMS.churn_rate


def test_a_higher_churn_rate_setting_gives_more_churn(
    tmp_path: Path, tables: dict[Table, pl.DataFrame]
) -> None:
    high = SynthParams(clients=PARAMS.clients, months=PARAMS.months, seed=PARAMS.seed, churn_rate=0.06)
    write_synthetic_dataset(high, tmp_path / "raw", tmp_path / "truth")
    assert pl.read_parquet(tmp_path / "raw" / "churns.parquet").height > 1.6 * tables[Table.CHURNS].height


@pytest.fixture(scope="module")
def larger() -> dict[Table, pl.DataFrame]:
    """One in-memory chunk of 1,500 clients x 18 months: enough churners per reason."""
    return synthetic_chunk(SynthParams(clients=1500, months=18, seed=11), 0).tables


def test_churn_reasons_fit_the_signs(larger: dict[Table, pl.DataFrame]) -> None:
    """Price churners showed money signs (budget cuts, layoffs, failed payments, discount requests)
    in their last six months far more often than churners who left for other reasons."""
    tables = larger
    churns = tables[Table.CHURNS]
    assert set(churns.get_column(Churns.REASON).unique()) <= set(Churns.REASONS)
    assert churns.get_column(Churns.REASON).n_unique() >= 5
    money = pl.concat(
        [
            tables[Table.SIGNALS]
            .filter(pl.col(Signals.SIGNAL).is_in(["budget_cut", "layoffs"]))
            .select(CLIENT_ID, pl.col(Signals.TS).alias("ts")),
            tables[Table.TICKETS]
            .filter(pl.col(Tickets.KIND) == "discount_request")
            .select(CLIENT_ID, pl.col(Tickets.OPENED_AT).alias("ts")),
            tables[Table.PAYMENTS]
            .filter(
                (pl.col(Payments.STATUS) == "failed") | (pl.col(Payments.PAID_AT) > pl.col(Payments.DUE_AT))
            )
            .select(CLIENT_ID, pl.col(Payments.ISSUED_AT).alias("ts")),
        ]
    )
    shown = (
        churns.join(money, on=CLIENT_ID, how="left")
        .with_columns(
            (
                (pl.col("ts") < pl.col(Churns.CHURNED_AT))
                & (pl.col("ts") >= pl.col(Churns.CHURNED_AT) - pl.duration(days=182))
            )
            .fill_null(False)
            .alias("inside")
        )
        .group_by(CLIENT_ID, Churns.CHURNED_AT, Churns.REASON)
        .agg(pl.col("inside").any().alias("money_sign"))
    )
    price = shown.filter(pl.col(Churns.REASON) == "price").get_column("money_sign").mean()
    others = shown.filter(pl.col(Churns.REASON).is_in(["lost_interest", "service", "forgot"]))
    assert price > 1.5 * others.get_column("money_sign").mean(), (
        price,
        others.get_column("money_sign").mean(),
    )


# ----------------------------------------------------------------------------------------------
# the mechanism: signs before churn
# ----------------------------------------------------------------------------------------------
def _sign_rows(tables: dict[Table, pl.DataFrame]) -> pl.DataFrame:
    """One row per warning sign: client_id, ts."""
    comm = tables[Table.COMMUNICATIONS].filter(
        pl.col(Communications.OUTCOME).is_in(["no_reply", "rescheduled", "cancelled", "no_show"])
        | (pl.col(Communications.SENTIMENT) < -0.2)
    )
    tickets = tables[Table.TICKETS].filter(
        pl.col(Tickets.KIND).is_in(["complaint", "discount_request"]) | (pl.col(Tickets.CSAT) <= 2)
    )
    pays = tables[Table.PAYMENTS].filter(
        (pl.col(Payments.STATUS) == "failed") | (pl.col(Payments.PAID_AT) > pl.col(Payments.DUE_AT))
    )
    exports = tables[Table.EVENTS].filter(pl.col("event") == "data_export")
    return pl.concat(
        [
            comm.select(CLIENT_ID, pl.col(Communications.TS).alias("ts")),
            tickets.select(CLIENT_ID, pl.col(Tickets.OPENED_AT).alias("ts")),
            pays.select(CLIENT_ID, pl.col(Payments.ISSUED_AT).alias("ts")),
            exports.select(CLIENT_ID, "ts"),
            tables[Table.SIGNALS].select(CLIENT_ID, pl.col(Signals.TS).alias("ts")),
        ]
    )


def _windows(tables: dict[Table, pl.DataFrame]) -> pl.DataFrame:
    """91-day windows ending at each first churn, and at the same tenure for clients that never churn."""
    created = tables[Table.CLIENTS].select(CLIENT_ID, Clients.CREATED_AT)
    first_churn = tables[Table.CHURNS].group_by(CLIENT_ID).agg(pl.col(Churns.CHURNED_AT).min().alias("at"))
    churners = (
        first_churn.join(created, on=CLIENT_ID)
        .with_columns((pl.col("at") - pl.col(Clients.CREATED_AT)).alias("tenure"))
        .filter(pl.col("tenure") >= timedelta(days=120))
    )
    stayers = created.join(first_churn, on=CLIENT_ID, how="anti")
    controls = (
        churners.select(pl.col("tenure"), pl.col(CLIENT_ID).alias("case"))
        .join(stayers, how="cross")
        .with_columns((pl.col(Clients.CREATED_AT) + pl.col("tenure")).alias("at"))
        .filter(pl.col("at") < END)
    )
    return pl.concat(
        [
            churners.select(CLIENT_ID, "at", pl.lit(True).alias("churner")),
            controls.select(CLIENT_ID, "at", pl.lit(False).alias("churner")),
        ]
    ).with_row_index("window")


def test_churners_show_more_signs_before_leaving_than_stayers_at_the_same_tenure(
    tables: dict[Table, pl.DataFrame],
) -> None:
    windows = _windows(tables)
    signs = _sign_rows(tables)
    counted = (
        windows.join(signs, on=CLIENT_ID, how="left")
        .with_columns(
            ((pl.col("ts") >= pl.col("at") - pl.duration(days=91)) & (pl.col("ts") < pl.col("at")))
            .fill_null(False)
            .alias("inside")
        )
        .group_by("window", "churner")
        .agg(pl.col("inside").sum().alias("signs"))
    )
    means = dict(counted.group_by("churner").agg(pl.col("signs").mean()).iter_rows())
    assert counted.filter(pl.col("churner")).height >= 20
    assert means[True] > 1.5 * means[False], means


def test_clients_log_in_less_than_their_own_usual_while_in_decline(
    tables: dict[Table, pl.DataFrame], truth: dict[str, pl.DataFrame]
) -> None:
    """Weekly logins relative to the client's own mean in healthy weeks fall as the true decline rises."""
    logins = (
        tables[Table.EVENTS]
        .filter(pl.col("event") == "login")
        .group_by(CLIENT_ID, pl.col("ts").dt.truncate("1w").dt.date().alias(Truth.WEEK))
        .len()
    )
    weeks = (
        truth[Truth.HAZARD]
        .join(logins, on=[CLIENT_ID, Truth.WEEK], how="left")
        .with_columns(pl.col("len").fill_null(0))
    )
    usual = (
        weeks.filter(pl.col(Truth.DECLINE) == 0).group_by(CLIENT_ID).agg(pl.col("len").mean().alias("usual"))
    )
    rel = weeks.join(usual.filter(pl.col("usual") > 0), on=CLIENT_ID).with_columns(
        (pl.col("len") / pl.col("usual")).alias("rel")
    )
    healthy = rel.filter(pl.col(Truth.DECLINE) == 0).get_column("rel").median()
    declining = rel.filter(pl.col(Truth.DECLINE) >= 0.6).get_column("rel").median()
    assert rel.filter(pl.col(Truth.DECLINE) >= 0.6).height > 100
    assert declining < 0.8 * healthy, (declining, healthy)


def test_noise_exists_healthy_clients_have_late_payments_and_vacations(
    truth: dict[str, pl.DataFrame],
) -> None:
    clients = truth[Truth.CLIENTS]
    assert clients.get_column(Truth.LATE_NOISE).sum() > 0
    assert clients.get_column(Truth.VACATION_WEEKS).sum() > 0
    assert clients.get_column(Truth.RECOVERED).sum() > 0
    churned = clients.filter(pl.col(Truth.CHURN_DATES).list.len() > 0)
    warned = churned.get_column(Truth.WARNED).mean()
    assert 0.3 < warned < 0.95  # most churners are warned, some leave without warning


# ----------------------------------------------------------------------------------------------
# truth and oracle
# ----------------------------------------------------------------------------------------------
def test_every_churn_has_its_hazard_row_with_the_true_reason(
    tables: dict[Table, pl.DataFrame], truth: dict[str, pl.DataFrame]
) -> None:
    hazard = truth[Truth.HAZARD]
    churns = tables[Table.CHURNS].with_columns(pl.col(Churns.CHURNED_AT).dt.date().alias(Truth.DUE))
    matched = churns.join(hazard, on=[CLIENT_ID, Truth.DUE], how="left")
    assert matched.height == churns.height
    assert matched.get_column(Truth.HAZARD).null_count() == 0  # a churn on a Monday too
    assert matched.get_column(Truth.HAZARD).min() > 0
    assert matched.filter(pl.col(Truth.REASON) != pl.col(Churns.REASON)).height == 0
    assert hazard.get_column(Truth.HAZARD).is_between(0, 1).all()
    assert (hazard.get_column(Truth.WEEK).dt.weekday() == 1).all()  # Mondays


def test_oracle_ranks_real_churners_high(
    tables: dict[Table, pl.DataFrame], truth: dict[str, pl.DataFrame]
) -> None:
    hazard = truth[Truth.HAZARD]
    snaps = [date(2024, 4, 1) + timedelta(weeks=k) for k in range(0, 20, 4)]
    spine = (
        hazard.filter(pl.col(Truth.WEEK).is_in(snaps))
        .select(CLIENT_ID, pl.col(Truth.WEEK).alias("snapshot"))
        .unique()
        .sort(CLIENT_ID, "snapshot")
    )
    scored = oracle_probability(hazard, spine, 90)
    churns = tables[Table.CHURNS].select(CLIENT_ID, pl.col(Churns.CHURNED_AT).dt.date().alias("c"))
    labels = (
        spine.join(churns, on=CLIENT_ID, how="left")
        .with_columns(
            ((pl.col("c") >= pl.col("snapshot")) & (pl.col("c") < pl.col("snapshot") + pl.duration(days=90)))
            .fill_null(False)
            .alias("y")
        )
        .group_by(CLIENT_ID, "snapshot")
        .agg(pl.col("y").any())
    )
    joined = scored.join(labels, on=[CLIENT_ID, "snapshot"])
    y = joined.get_column("y").to_numpy()
    p = joined.get_column("oracle").to_numpy()
    assert 0.5 * y.mean() < p.mean() < 1.5 * y.mean()  # calibrated on average
    # ROC-AUC by ranks: the oracle separates churners from the rest well
    ranks = p.argsort().argsort() + 1
    pos = y.sum()
    auc = (ranks[y].sum() - pos * (pos + 1) / 2) / (pos * (len(y) - pos))
    assert auc > 0.75


def _hazard_frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            CLIENT_ID: pl.String,
            Truth.WEEK: pl.Date,
            Truth.HAZARD: pl.Float64,
            Truth.DUE: pl.Date,
            Truth.SPELL: pl.Int32,
            Truth.REASON: pl.String,
        },
        orient="row",
    )


D = date
HAZARD = _hazard_frame(
    [
        ("a", D(2024, 1, 1), 0.0, None, 0, None),
        ("a", D(2024, 1, 8), 0.1, D(2024, 1, 10), 0, None),
        ("a", D(2024, 1, 15), 0.0, None, 0, None),
        ("a", D(2024, 2, 5), 0.2, D(2024, 2, 10), 0, None),
        ("b", D(2024, 1, 1), 0.0, None, 0, "price"),
        ("b", D(2024, 1, 8), 0.5, D(2024, 1, 9), 0, "price"),  # churns on 01-09 ...
        ("b", D(2024, 3, 4), 0.0, None, 1, None),  # ... and returns in March
        ("b", D(2024, 3, 11), 0.3, D(2024, 3, 12), 1, None),
    ]
)


@pytest.mark.parametrize(
    ("client", "snapshot", "horizon", "expected"),
    [
        ("a", D(2024, 1, 1), 7, 0.0),  # 01-10 is outside [01-01, 01-08)
        ("a", D(2024, 1, 1), 10, 0.1),  # [01-01, 01-11) holds the 01-10 renewal
        ("a", D(2024, 1, 1), 60, 1 - 0.9 * 0.8),  # both renewals
        ("a", D(2024, 1, 11), 60, 0.2),  # the first renewal is past
        ("a", D(2024, 1, 10), 1, 0.1),  # a due date on the snapshot day counts
        ("b", D(2024, 1, 1), 90, 0.5),  # the later spell never adds to the first one
        ("b", D(2024, 1, 15), 30, 1.0),  # already churned (in its grace period)
        ("b", D(2024, 3, 4), 30, 0.3),  # the returned spell
        ("c", D(2024, 1, 1), 30, 0.0),  # unknown client
        ("a", D(2023, 12, 1), 30, 0.0),  # before the client's first week
    ],
)
def test_oracle_probability_by_hand(client: str, snapshot: date, horizon: int, expected: float) -> None:
    spine = pl.DataFrame({CLIENT_ID: [client], "snapshot": [snapshot]})
    got = oracle_probability(HAZARD, spine, horizon)
    assert got.columns == [CLIENT_ID, "snapshot", "oracle"]
    assert got.get_column("oracle").item() == pytest.approx(expected)


def _declining(rows: list[tuple]) -> pl.DataFrame:
    """A truth hazard table with the latent decline (``Truth.DECLINE``) as each row's last value."""
    return _hazard_frame([r[:-1] for r in rows]).with_columns(
        pl.Series(Truth.DECLINE, [r[-1] for r in rows], dtype=pl.Float64)
    )


# a monthly client whose decline deepens from 0.5 (its week at the snapshot) to 1.0 at its two renewals; base
# rate 0.02 a month: each renewal's true hazard is 1 - exp(-(0.02 + 0.85 x 1.0^2)) = 1 - exp(-0.87)
DECLINING = _declining(
    [
        ("m", D(2024, 1, 1), 0.0, None, 0, None, 0.5),
        ("m", D(2024, 1, 8), 0.0, None, 0, None, 0.8),
        ("m", D(2024, 1, 15), 1 - np.exp(-0.87), D(2024, 1, 17), 0, None, 1.0),
        ("m", D(2024, 2, 12), 1 - np.exp(-0.87), D(2024, 2, 17), 0, None, 1.0),
        ("g", D(2024, 1, 1), 0.0, None, 0, "price", 0.9),
        ("g", D(2024, 1, 8), 0.6, D(2024, 1, 9), 0, "price", 0.9),  # churns on 01-09
    ]
)


@pytest.mark.parametrize(
    ("client", "snapshot", "full", "now"),
    [
        # the full oracle knows the decline reaches 1.0: 1 - exp(-0.87)^2; frozen at 0.5, each renewal's hazard
        # is 1 - exp(-(0.02 + 0.85 x 0.25)) = 1 - exp(-0.2325), both: 1 - exp(-0.465)
        ("m", D(2024, 1, 3), 1 - np.exp(-1.74), 1 - np.exp(-0.465)),
        # a week later the decline read 0.8: 1 - exp(-2 x (0.02 + 0.85 x 0.64))
        ("m", D(2024, 1, 10), 1 - np.exp(-1.74), 1 - np.exp(-2 * (0.02 + 0.85 * 0.64))),
        ("g", D(2024, 1, 15), 1.0, 1.0),  # already churned: decided, kept
        ("x", D(2024, 1, 3), 0.0, 0.0),  # unknown client
    ],
)
def test_the_nowcast_oracle_freezes_the_decline_at_the_snapshot(client, snapshot, full, now) -> None:
    spine = pl.DataFrame({CLIENT_ID: [client], "snapshot": [snapshot]})
    assert oracle_probability(DECLINING, spine, 60).get_column("oracle").item() == pytest.approx(full)
    got = nowcast_probability(DECLINING, spine, 60)
    assert got.columns == [CLIENT_ID, "snapshot", "oracle"]
    assert got.get_column("oracle").item() == pytest.approx(now)


# a monthly client with a single due day in the truth (it churns at its first renewal in the data): decline 0.5
# at the snapshot, base rate 0.02 a month, so its renewal's true hazard is 1 - exp(-(0.02 + 0.85 x 0.25))
ONE_DUE = _declining(
    [
        ("s", D(2024, 1, 1), 0.0, None, 0, "price", 0.5),
        ("s", D(2024, 1, 8), 1 - np.exp(-0.2325), D(2024, 1, 10), 0, "price", 0.5),
    ]
)


def test_the_nowcast_reads_a_single_due_over_the_truth_s_term_months() -> None:
    # the due days alone cannot tell a monthly client's only renewal from an annual one: with the truth's
    # term_months (1) the nowcast is the renewal's own hazard, not the 0.9 of an annual term's
    spine = pl.DataFrame({CLIENT_ID: ["s"], "snapshot": [D(2024, 1, 3)]})
    monthly = ONE_DUE.with_columns(pl.lit(1.0).alias(Truth.TERM_MONTHS))
    assert nowcast_probability(monthly, spine, 30).get_column("oracle").item() == pytest.approx(
        1 - np.exp(-0.2325)
    )
    annual = ONE_DUE.with_columns(pl.lit(12.0).alias(Truth.TERM_MONTHS))  # the same hazard, read as annual:
    # base = -log(1 - h) / 12 - 0.85 x 0.25 < 0 -> 0, so 1 - exp(-12 x 0.2125) = 0.92, held at MAX_HAZARD 0.9
    assert nowcast_probability(annual, spine, 30).get_column("oracle").item() == pytest.approx(0.9)


def test_the_truth_s_term_months_are_the_clients_billing(generated: tuple[Path, Path]) -> None:
    raw, truth_dir = generated
    hazard = pl.read_parquet(truth_dir / "hazard.parquet")
    months = hazard.group_by(CLIENT_ID).agg(pl.col(Truth.TERM_MONTHS).unique())
    assert months.get_column(Truth.TERM_MONTHS).list.len().max() == 1  # one billing per client
    terms = pl.read_parquet(raw / "subscriptions.parquet").filter(~pl.col("is_addon"))
    longest = terms.group_by(CLIENT_ID).agg(
        (pl.col("end_date") - pl.col("start_date")).dt.total_days().max().alias("days")
    )
    both = longest.join(months.explode(Truth.TERM_MONTHS), on=CLIENT_ID)
    assert both.filter(pl.col("days") > 31).get_column(Truth.TERM_MONTHS).unique().to_list() == [12.0]
    assert set(both.get_column(Truth.TERM_MONTHS).unique().to_list()) == {1.0, 12.0}


@settings(max_examples=30, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 120), min_size=1, max_size=12),
    horizon=st.integers(1, 120),
)
def test_oracle_keeps_spine_order_and_stays_a_probability(offsets: list[int], horizon: int) -> None:
    spine = pl.DataFrame(
        {
            CLIENT_ID: ["a" if i % 2 else "b" for i in range(len(offsets))],
            "snapshot": [D(2023, 12, 1) + timedelta(days=o) for o in offsets],
        }
    )
    got = oracle_probability(HAZARD, spine, horizon)
    assert got.select(CLIENT_ID, "snapshot").equals(spine)
    values = got.get_column("oracle").to_numpy()
    assert np.all((values >= 0) & (values <= 1))


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="clients"):
        SynthParams(clients=0)
    with pytest.raises(ValueError, match="churn_rate"):
        SynthParams(churn_rate=0.5)


def test_a_tiny_dataset_leaves_out_empty_tables_and_still_validates(tmp_path: Path) -> None:
    tiny = SynthParams(clients=1, months=3, seed=1)
    rows = write_synthetic_dataset(tiny, tmp_path / "raw", tmp_path / "truth")
    empty = {name for name, n in rows.items() if n == 0}
    assert empty  # one client over three months: no churn, no signal
    present = {p.stem for p in (tmp_path / "raw").iterdir()}
    assert present == {name for name, n in rows.items() if n > 0 and not name.startswith("truth/")}
    dataset = read_dataset(tmp_path / "raw", DataConfig(as_of=tiny.end - timedelta(days=1)))
    assert dataset.tables[Table.CLIENTS].height == 1
