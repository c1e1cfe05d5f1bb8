"""The bar of issue 13: is the weekly list one a customer-success team can act on?

    python tests/benchmarks/bench_list.py --seeds 42 7 --clients 2000 --months 24 --work /tmp/bench_list

For each seed: generate the demo CRM (cached in --work), train a model (cached), run ``churnml score``
and ``churnml winback`` at the day after the last data, then measure on the files they wrote:

1. clients with a churn record at or before the as-of date and no new term since that are on the list
   (target 0);
2. clients churned in the last 30 days (``churns`` table) missing from the win-back list (target 0;
   the win-back list is issue 14's);
3. among the top 20% of clients by ARR, the share in value tier A for red/yellow clients and for green
   ones (target: within 20 points, risk does not lower the tier);
4. driver sentences that raise the risk with a sentiment >= 0.3, a reply rate >= 80% or rising usage,
   and sentences containing "1 days" or "units of time" (target 0);
5. red and yellow clients missing from report.html's compact table (target 0); with --browser, the
   same check on the DOM headless Chromium builds, and a screenshot;
6. the median (and mean) number of zone changes per client over the history weeks, with the plain
   thresholds (before) and with the hysteresis (after).

Prints one JSON object per seed and a Markdown table of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from churnml.config import ZonesConfig, load_config
from churnml.scoring.columns import Scores
from churnml.scoring.outputs import History
from churnml.scoring.playbook import zone_change_count, zone_path

BIN = Path(sys.executable).parent
CHURNML = [str(BIN / "churnml")] if (BIN / "churnml").exists() else [sys.executable, "-m", "churnml.cli"]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ONE_DAYS = re.compile(r"(?<![\d.,])1 days\b")
SENTIMENT = re.compile(r"[Ss]entiment ([+-]?\d+\.\d+)")
REPLY = re.compile(r"replied to (\d+)% of outreach")


def run(*args: str) -> None:
    subprocess.run([*CHURNML, *args], check=True, capture_output=True, text=True, env=os.environ)


def prepare(work: Path, seed: int, clients: int, months: int) -> tuple[Path, Path]:
    raw, models = work / f"raw{seed}", work / f"models{seed}"
    if not (raw / "clients.parquet").exists():
        run(
            "generate",
            "--out",
            str(raw),
            "--truth-out",
            str(work / f"truth{seed}"),
            "--clients",
            str(clients),
            "--months",
            str(months),
            "--seed",
            str(seed),
        )
    if not (models / "model.txt").exists() and not any(models.glob("*")):
        run(
            "train",
            "--data",
            str(raw),
            "--out",
            str(models),
            "--set",
            f"tracking.uri=sqlite:///{work}/mlflow{seed}.db",
        )
    return raw, models


def gone_on_list(raw: Path, listed: set[str], as_of: datetime) -> int:
    """Clients with a churn record at or before the as-of date and no term starting after it, listed."""
    churns = pl.read_parquet(raw / "churns.parquet").filter(pl.col("churned_at") <= as_of)
    last = churns.group_by("client_id").agg(pl.col("churned_at").max())
    subs = pl.read_parquet(raw / "subscriptions.parquet").filter(pl.col("start_date") < as_of)
    restarted = last.join(subs, on="client_id").filter(pl.col("start_date") > pl.col("churned_at"))
    gone = set(last.get_column("client_id")) - set(restarted.get_column("client_id"))
    return len(gone & listed)


def recent_churns_missing_from_winback(raw: Path, winback: pl.DataFrame, as_of: datetime) -> tuple[int, int]:
    churns = pl.read_parquet(raw / "churns.parquet").filter(
        (pl.col("churned_at") < as_of) & (pl.col("churned_at") >= as_of - timedelta(days=30))
    )
    recent = set(churns.get_column("client_id"))
    return len(recent - set(winback.get_column("client_id"))), len(recent)


def tier_a_shares(scores: pl.DataFrame) -> tuple[float, float]:
    top = scores.sort(Scores.ARR, descending=True).head(max(1, scores.height // 5))
    at_risk = top.filter(pl.col(Scores.ZONE) != "green")
    green = top.filter(pl.col(Scores.ZONE) == "green")

    def share(frame: pl.DataFrame) -> float:
        return (
            float((frame.get_column(Scores.VALUE_TIER) == "A").mean() or 0.0)
            if frame.height
            else float("nan")
        )

    return share(at_risk), share(green)


def untrusted_sentences(scores: pl.DataFrame, k: int) -> dict[str, int]:
    out = {"sentiment_ge_0.3": 0, "reply_rate_ge_80": 0, "rising_usage": 0, "one_days": 0, "units_of_time": 0}
    texts = []
    for i in range(1, k + 1):
        frame = scores.select(
            pl.col(Scores.driver(i, "sentence")).alias("s"),
            pl.col(Scores.driver(i, "direction")).alias("d"),
            pl.col(Scores.driver(i, "family")).alias("f"),
        ).drop_nulls("s")
        for s, d, f in frame.iter_rows():
            texts.append(s)
            if d != "raises risk":
                continue
            m = SENTIMENT.search(s)
            if m and "fell" not in s and float(m.group(1)) >= 0.3:
                out["sentiment_ge_0.3"] += 1
            m = REPLY.search(s)
            if m and int(m.group(1)) >= 80:
                out["reply_rate_ge_80"] += 1
            if f == "usage" and (" rose " in s or " up from " in s or re.search(r"were \+\d", s)):
                out["rising_usage"] += 1
    for col in (Scores.WHY_CHANGED, Scores.ACTION, Scores.TERM_STATE):
        texts += [t for t in scores.get_column(col).drop_nulls().to_list()]
    out["one_days"] = sum(bool(ONE_DAYS.search(t)) for t in texts)
    out["units_of_time"] = sum("units of time" in t for t in texts)
    return out


def missing_from_report(page: str, scores: pl.DataFrame) -> int:
    table = page.split('id="watchlist"')[1].split('id="movers"')[0]
    watch = scores.filter(pl.col(Scores.ZONE).is_in(["red", "yellow"]))
    return sum(
        1 for r in watch.iter_rows(named=True) if f">{r[Scores.NAME]}<" not in table.replace("&amp;", "&")
    )


def zone_changes(history: pl.DataFrame, cfg: ZonesConfig) -> dict[str, float]:
    plain = cfg.model_copy(update={"exit_margin": 0.0, "exit_weeks": 1})
    paths = (
        history.sort(History.CLIENT_ID, History.SNAPSHOT)
        .group_by(History.CLIENT_ID, maintain_order=True)
        .agg(pl.col(History.PROBABILITY))
    )
    before = np.array([zone_change_count(zone_path(p, plain)) for p in paths.get_column(History.PROBABILITY)])
    after = np.array([zone_change_count(zone_path(p, cfg)) for p in paths.get_column(History.PROBABILITY)])
    return {
        "median_before": float(np.median(before)),
        "median_after": float(np.median(after)),
        "mean_before": round(float(before.mean()), 2),
        "mean_after": round(float(after.mean()), 2),
        # most clients never change zone: the median among those that changed at least once says more
        "median_of_changers_before": float(np.median(before[before > 0])) if (before > 0).any() else 0.0,
        "median_of_changers_after": float(np.median(after[after > 0])) if (after > 0).any() else 0.0,
        "six_plus_before": int((before >= 6).sum()),
        "six_plus_after": int((after >= 6).sum()),
    }


def browser_check(report: Path, scores: pl.DataFrame, shot: Path) -> int | None:
    browser = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if browser is None:
        return None
    common = [browser, *FLAGS, f"--user-data-dir={shot.parent / 'chromium-profile'}"]
    dom = subprocess.run(
        [*common, "--dump-dom", report.resolve().as_uri()], capture_output=True, text=True, check=True
    )
    subprocess.run(
        [*common, "--window-size=1200,3000", f"--screenshot={shot}", report.resolve().as_uri()],
        capture_output=True,
        text=True,
        check=True,
    )
    return missing_from_report(dom.stdout, scores)


def measure(work: Path, seed: int, clients: int, months: int, browser: bool) -> dict:
    raw, models = prepare(work, seed, clients, months)
    out = work / f"list{seed}"
    run(
        "score",
        "--data",
        str(raw),
        "--model",
        str(models),
        "--out",
        str(out),
        "--set",
        f"tracking.uri=sqlite:///{work}/mlflow{seed}.db",
    )
    run("winback", "--data", str(raw), "--out", str(work / f"winback{seed}"))
    scores = pl.read_parquet(out / "scores.parquet")
    history = pl.read_parquet(out / "history.parquet")
    winback = pl.read_parquet(work / f"winback{seed}" / "winback.parquet")
    as_of = datetime.combine(scores.get_column(Scores.AS_OF)[0], datetime.min.time())
    cfg = load_config()
    page = (out / "report.html").read_text(encoding="utf-8")
    missing_wb, recent = recent_churns_missing_from_winback(raw, winback, as_of)
    risky_a, green_a = tier_a_shares(scores)
    figures = {
        "seed": seed,
        "as_of": str(as_of.date()),
        "clients": scores.height,
        "zones": {z: int((scores.get_column(Scores.ZONE) == z).sum()) for z in ("red", "yellow", "green")},
        "in_grace": int(scores.get_column(Scores.IN_GRACE).sum()),
        "gone_on_list": gone_on_list(raw, set(scores.get_column(Scores.CLIENT_ID)), as_of),
        "recent_churns": recent,
        "recent_churns_missing_from_winback": missing_wb,
        "tier_a_share_top20_arr_red_yellow": round(risky_a, 3),
        "tier_a_share_top20_arr_green": round(green_a, 3),
        "untrusted_sentences": untrusted_sentences(scores, cfg.score.top_drivers),
        "red_yellow_missing_from_report": missing_from_report(page, scores),
        "zone_changes": zone_changes(history, cfg.score.zones),
        "not_worth_keeping": int(scores.get_column(Scores.NOT_WORTH_KEEPING).sum()),
        "action_roles": dict(sorted(scores.get_column(Scores.ACTION_ROLE).value_counts().iter_rows())),
    }
    if browser:
        figures["red_yellow_missing_in_chromium"] = browser_check(
            out / "report.html", scores, work / f"report{seed}.png"
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 7])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_list"))
    parser.add_argument("--browser", action="store_true", help="also check the report in headless Chromium")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = [measure(args.work, s, args.clients, args.months, args.browser) for s in args.seeds]
    for r in results:
        print(json.dumps(r, sort_keys=True))
    rows = [
        ("gone clients on the list (target 0)", "gone_on_list"),
        ("churned in the last 30 days, not on win-back (target 0)", "recent_churns_missing_from_winback"),
        ("tier A share, top 20% by ARR, red/yellow", "tier_a_share_top20_arr_red_yellow"),
        ("tier A share, top 20% by ARR, green", "tier_a_share_top20_arr_green"),
        ("red/yellow clients missing from report.html (target 0)", "red_yellow_missing_from_report"),
    ]
    print("\n| figure | " + " | ".join(f"seed {r['seed']}" for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for label, key in rows:
        print(f"| {label} | " + " | ".join(str(r[key]) for r in results) + " |")
    for key in ("sentiment_ge_0.3", "reply_rate_ge_80", "rising_usage", "one_days", "units_of_time"):
        print(
            f"| sentences: {key} (target 0) | "
            + " | ".join(str(r["untrusted_sentences"][key]) for r in results)
            + " |"
        )
    for key in (
        "median_before",
        "median_after",
        "median_of_changers_before",
        "median_of_changers_after",
        "mean_before",
        "mean_after",
        "six_plus_before",
        "six_plus_after",
    ):
        print(
            f"| zone changes per client, {key} | "
            + " | ".join(str(r["zone_changes"][key]) for r in results)
            + " |"
        )


if __name__ == "__main__":
    main()
