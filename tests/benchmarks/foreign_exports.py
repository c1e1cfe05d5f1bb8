"""Exports churnml did not make, for new-user flows: simulated in layouts of their own, then mapped to the
contract the way a user would (docs/benchmarks.md, "Data churnml did not make").

- ``kkbox``: a KKBox-style music subscription export. Members registered up to 7 years before 7 months of
  data; 30-day plans renewed by a transaction dated 0-3 days *before* the running term ends; daily
  listening aggregates (one row per member-day, no user id, one event name); no churns table. Churn: no
  renewal, likelier when listening fades or auto-renew is off.
- ``marketplace``: an Olist-style marketplace log: item rows of orders over 20 months; 4% of the customers
  ever come back. Mapped with ``churnml adapt transactions``.
- ``app``: a Sparkify-style app log: 3 months of page events by session, free and paid levels, a
  "Cancellation Confirmation" page when a user leaves (the churns table); no payments.

Usage::

    python tests/benchmarks/foreign_exports.py kkbox /tmp/foreign/kk        # raw/ and contract/
    python tests/benchmarks/foreign_exports.py app /tmp/foreign/app
    python tests/benchmarks/foreign_exports.py marketplace /tmp/foreign/shop  # raw/items.csv: then adapt

Same arguments, same files. Times are UTC.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl


def _ms(t: datetime) -> int:
    return int(t.replace(tzinfo=UTC).timestamp() * 1000)


def kkbox_raw(out: Path, seed: int = 11, members: int = 6000) -> None:
    """``members.csv``, ``transactions.csv``, ``user_logs.csv`` in KKBox's layout (dates as yyyymmdd)."""
    rng = np.random.default_rng(seed)
    start, end = datetime(2026, 4, 1), datetime(2026, 11, 1)
    rows_members, trans, logs = [], [], []
    for _ in range(members):
        mid = f"m{rng.integers(1e12):012d}"
        reg = start - timedelta(days=int(rng.integers(30, 2500)))
        new = rng.random() < 0.25
        if new:
            reg = start + timedelta(days=int(rng.integers(0, 180)))
        auto = rng.random() < 0.8
        taste = rng.lognormal(8.0, 0.8)  # seconds per active day
        p_day = rng.beta(3, 2)
        fade = start + timedelta(days=int(rng.integers(0, 400)))
        # the first term in the data: bought before it (running at its start) or at registration
        t_end = (reg if new else start - timedelta(days=int(rng.integers(0, 30)))) + timedelta(days=30)
        t_start = t_end - timedelta(days=30)
        last = None
        while t_start < end:
            price = 149.0 if rng.random() < 0.9 else 99.0
            trans.append(
                {
                    "msno": mid,
                    "transaction_date": t_start,
                    "membership_expire_date": t_end,
                    "plan_list_price": price,
                    "actual_amount_paid": price,
                    "is_auto_renew": int(auto),
                }
            )
            p = 0.01 + (0.05 if not auto else 0) + (0.25 if t_end > fade else 0)
            if rng.random() < p:
                last = t_end
                break
            t_start = t_end - timedelta(days=int(rng.integers(0, 4)))  # the renewal is booked before expiry
            t_end = t_end + timedelta(days=30)
        day = max(reg, start)
        while day < min(end, last or end):
            faded = day > fade
            if rng.random() < p_day * (0.35 if faded else 1.0):
                secs = taste * rng.lognormal(0, 0.5) * (0.5 if faded else 1.0)
                logs.append(
                    {
                        "msno": mid,
                        "date": int(day.strftime("%Y%m%d")),
                        "total_secs": round(secs, 3),
                        "num_unq": int(rng.integers(1, 60)),
                    }
                )
            day += timedelta(days=1)
        rows_members.append(
            {
                "msno": mid,
                "city": int(rng.integers(1, 22)),
                "registered_via": int(rng.choice([3, 4, 7, 9])),
                "registration_init_time": int(reg.strftime("%Y%m%d")),
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows_members).write_csv(out / "members.csv")
    ymd = ("transaction_date", "membership_expire_date")
    pl.DataFrame(trans).filter(pl.col("transaction_date") < end).with_columns(
        pl.col(c).dt.strftime("%Y%m%d").cast(pl.Int64) for c in ymd
    ).write_csv(out / "transactions.csv")
    pl.DataFrame(logs).write_csv(out / "user_logs.csv")


def kkbox_contract(raw: Path, out: Path) -> None:
    """The KKBox export as a user maps it: a transaction is a term (start = transaction date, end =
    membership expiry) and a payment; a daily log row is one ``listen`` event worth its seconds."""

    def day(c: str) -> pl.Expr:
        return pl.col(c).cast(pl.String).str.strptime(pl.Datetime, "%Y%m%d")

    out.mkdir(parents=True, exist_ok=True)
    pl.read_csv(raw / "members.csv").select(
        pl.col("msno").alias("client_id"),
        day("registration_init_time").alias("created_at"),
        pl.col("city").cast(pl.String).alias("region"),
    ).write_parquet(out / "clients.parquet")
    trans = pl.read_csv(raw / "transactions.csv")
    trans.select(
        pl.col("msno").alias("client_id"),
        day("transaction_date").alias("start_date"),
        day("membership_expire_date").alias("end_date"),
        pl.col("plan_list_price").alias("mrr"),
    ).write_parquet(out / "subscriptions.parquet")
    trans.select(
        pl.col("msno").alias("client_id"),
        pl.col("actual_amount_paid").alias("amount"),
        day("transaction_date").alias("paid_at"),
    ).write_parquet(out / "payments.parquet")
    pl.read_csv(raw / "user_logs.csv").select(
        pl.col("msno").alias("client_id"),
        day("date").alias("ts"),
        pl.lit("listen").alias("event"),
        pl.col("total_secs").alias("value"),
    ).write_parquet(out / "events.parquet")


def marketplace_raw(out: Path, seed: int = 8, customers: int = 20000) -> None:
    """``items.csv``: one row per order line (order_id, customer_unique_id, order_purchase_timestamp,
    price, order_status)."""
    rng = np.random.default_rng(seed)
    start, end = datetime(2025, 1, 1), datetime(2026, 9, 1)
    rows = []
    for _ in range(customers):
        cid = f"{rng.integers(16**12):012x}"
        t = start + timedelta(days=float((end - start).days * rng.beta(1.6, 1.0)))
        loyal = rng.random() < 0.04
        while t < end:
            oid = f"o{len(rows):08d}"
            status = "canceled" if rng.random() < 0.01 else "delivered"
            for _ in range(1 + rng.poisson(0.15)):
                rows.append(
                    {
                        "order_id": oid,
                        "customer_unique_id": cid,
                        "order_purchase_timestamp": t.strftime("%Y-%m-%d %H:%M:%S"),
                        "price": round(float(rng.lognormal(4.2, 0.8)), 2),
                        "order_status": status,
                    }
                )
            if not loyal or rng.random() < 0.3:
                break
            t += timedelta(days=float(rng.exponential(60)))
    out.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows).write_csv(out / "items.csv")


_PAGES = [
    "NextSong",
    "Thumbs Up",
    "Thumbs Down",
    "Add to Playlist",
    "Roll Advert",
    "Home",
    "Help",
    "Error",
    "Settings",
]


def app_raw(out: Path, seed: int = 3, users: int = 3000) -> None:
    """``users.csv`` (userId, registration in epoch ms, gender, location) and ``log.csv`` (userId, ts in epoch
    ms, page, level, length)."""
    rng = np.random.default_rng(seed)
    start, end = datetime(2026, 8, 1), datetime(2026, 11, 1)
    people, events = [], []
    for i in range(users):
        uid = str(100000 + i)
        if rng.random() < 0.7:
            reg = start - timedelta(days=int(rng.integers(0, 400)))
        else:
            reg = start + timedelta(days=int(rng.integers(0, 80)))
        paid = rng.random() < 0.5
        level = "paid" if paid else "free"
        rate = rng.lognormal(-1.2, 0.6)  # sessions per day
        unhappy = rng.random() < 0.3
        t = max(reg, start)
        rate0 = rate
        while t < end:
            t += timedelta(days=float(rng.exponential(1 / rate)))
            if unhappy:
                rate *= 0.97  # an unhappy user comes less and less
            if t >= end:
                break
            weights = np.array(  # the pages' odds, in _PAGES order
                [
                    1.0,
                    0.06,
                    0.04 if unhappy else 0.01,
                    0.03,
                    0.0 if paid else 0.15,
                    0.05,
                    0.01 + (0.02 if unhappy else 0),
                    0.02 if unhappy else 0.005,
                    0.01,
                ]
            )
            ts = t
            for k in rng.choice(len(_PAGES), size=int(rng.integers(5, 60)), p=weights / weights.sum()):
                ts += timedelta(seconds=float(rng.exponential(200)))
                length = float(rng.normal(240, 40)) if k == 0 else None
                events.append(
                    {"userId": uid, "ts": _ms(ts), "page": _PAGES[k], "level": level, "length": length}
                )
            settled = t - max(reg, start) > timedelta(days=14)
            hazard = 0.004 + (0.03 if unhappy and settled else 0) + (0.01 if not paid else 0)
            if rng.random() < min(0.5, hazard / rate0 * 1.5):
                for page, after in (("Cancel", 30), ("Cancellation Confirmation", 5)):
                    ts += timedelta(seconds=after)
                    events.append(
                        {"userId": uid, "ts": _ms(ts), "page": page, "level": level, "length": None}
                    )
                break
        people.append(
            {
                "userId": uid,
                "registration": _ms(reg),
                "gender": rng.choice(["M", "F"]),
                "location": rng.choice(["CA", "NY", "TX", "FL"]),
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(people).write_csv(out / "users.csv")
    pl.DataFrame(events).write_csv(out / "log.csv")


def app_contract(raw: Path, out: Path) -> None:
    """The app log as a user maps it: users are clients (segment: their last level), pages are events
    worth the song's length, each "Cancellation Confirmation" is a churn."""

    def ms(c: str) -> pl.Expr:
        return pl.from_epoch(pl.col(c), time_unit="ms")

    out.mkdir(parents=True, exist_ok=True)
    users = pl.read_csv(raw / "users.csv", schema_overrides={"userId": pl.String})
    log = pl.read_csv(raw / "log.csv", schema_overrides={"userId": pl.String})
    last_level = log.group_by("userId").agg(pl.col("level").sort_by("ts").last())
    users.join(last_level, on="userId", how="left").select(
        pl.col("userId").alias("client_id"),
        ms("registration").alias("created_at"),
        pl.col("level").alias("segment"),
        pl.col("location").alias("region"),
    ).write_parquet(out / "clients.parquet")
    log.select(
        pl.col("userId").alias("client_id"),
        ms("ts").alias("ts"),
        pl.col("page").alias("event"),
        pl.col("length").alias("value"),
    ).write_parquet(out / "events.parquet")
    log.filter(pl.col("page") == "Cancellation Confirmation").select(
        pl.col("userId").alias("client_id"), ms("ts").alias("churned_at")
    ).write_parquet(out / "churns.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["kkbox", "marketplace", "app"])
    parser.add_argument(
        "out", type=Path, help="folder: raw/ (the export) and, but for marketplace, contract/"
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--clients", type=int, default=None)
    args = parser.parse_args()
    sized = {k: v for k, v in (("seed", args.seed),) if v is not None}
    raw, contract = args.out / "raw", args.out / "contract"
    if args.kind == "kkbox":
        kkbox_raw(raw, **sized, **({"members": args.clients} if args.clients else {}))
        kkbox_contract(raw, contract)
    elif args.kind == "app":
        app_raw(raw, **sized, **({"users": args.clients} if args.clients else {}))
        app_contract(raw, contract)
    else:
        marketplace_raw(raw, **sized, **({"customers": args.clients} if args.clients else {}))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
