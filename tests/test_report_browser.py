"""The report as a person sees it: rendered by headless Chromium (installed by `.ci/run` when absent).

Chromium parses the page, dumps the DOM it built and takes a screenshot; the test checks the sections,
that every red and yellow client is in the compact table, and that the browser logged no script error.
Skipped when no Chromium is installed locally.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from churnml.reporting.report import report_html
from churnml.scoring.columns import Scores
from churnml.scoring.outputs import History

AS_OF = date(2024, 6, 3)
BROWSER = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no chromium installed (.ci/run installs it)")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
]


def portfolio(n: int = 40) -> pl.DataFrame:
    """``n`` clients: 4 red, 12 yellow, the rest green; owners ann, bob, cy in turn."""
    zone = ["red"] * 4 + ["yellow"] * 12 + ["green"] * (n - 16)
    p = [
        0.6 - 0.01 * i if z == "red" else 0.25 - 0.005 * i if z == "yellow" else 0.05
        for i, z in enumerate(zone)
    ]
    arr = [10_000.0 - 100 * i for i in range(n)]
    return pl.DataFrame(
        {
            Scores.CLIENT_ID: [f"c{i:02d}" for i in range(n)],
            Scores.NAME: [f"Client {i:02d}" for i in range(n)],
            Scores.OWNER: [("ann", "bob", "cy")[i % 3] for i in range(n)],
            Scores.ZONE: zone,
            Scores.PROBABILITY: p,
            Scores.PREVIOUS_PROBABILITY: [x - 0.02 for x in p],
            Scores.PROBABILITY_CHANGE: [0.02] * n,
            Scores.ZONE_CHANGE: [""] * n,
            Scores.NEW_IN_RED: [i == 0 for i in range(n)],
            Scores.WHY_CHANGED: ["12% \u2192 14%; risk up: Logins in the last 28 days: 12 \u2192 3 (+0.20)"]
            * n,
            Scores.HEALTH: [round(100 * (1 - x), 1) for x in p],
            Scores.ARR: arr,
            Scores.LIFETIME_VALUE: [3 * a for a in arr],
            Scores.REVENUE_AT_RISK: [a * x for a, x in zip(arr, p, strict=True)],
            Scores.STRATEGIC: [0] * n,
            Scores.VALUE_TIER: ["A" if i < 8 else "B" if i < 20 else "C" for i in range(n)],
            Scores.PRIORITY: list(range(1, n + 1)),
            Scores.TERM_STATE: [
                "Term ended 12 days ago and was not renewed" if i == 1 else "" for i in range(n)
            ],
            Scores.IN_GRACE: [i == 1 for i in range(n)],
            Scores.RENEWAL_DUE: [i % 5 == 0 for i in range(n)],
            Scores.RENEWAL_DATE: [AS_OF + timedelta(days=10 + i) for i in range(n)],
            Scores.RENEWAL_DAYS: [10 + i for i in range(n)],
            Scores.RENEWAL_VALUE: [a / 12 for a in arr],
            Scores.LAST_INTERACTION: [AS_OF - timedelta(days=3 * i) for i in range(n)],
            Scores.DAYS_SILENT: [3 * i for i in range(n)],
            Scores.ONBOARDING_STALLED: [i == 7 for i in range(n)],
            Scores.RULES: ["" for _ in range(n)],
            Scores.driver(1, "sentence"): ["3 logins in the last 28 days"] * n,
            Scores.driver(1, "family"): ["usage"] * n,
            Scores.driver(1, "direction"): ["raises risk"] * n,
            Scores.driver(1, "contribution"): [0.5] * n,
            Scores.ACTION: ["Within two weeks: Adoption review: training on the key features"] * n,
            Scores.ACTION_ROLE: ["success"] * n,
            Scores.ACTS: [("ann", "bob", "cy")[i % 3] for i in range(n)],
            Scores.ESCALATION: ["head_of_customer_success" if z == "red" else "" for z in zone],
        }
    )


def history(scores: pl.DataFrame) -> pl.DataFrame:
    ids = scores.get_column(Scores.CLIENT_ID).to_list()
    snaps = [AS_OF - timedelta(weeks=w) for w in (3, 2, 1, 0)]
    return pl.DataFrame(
        {
            History.CLIENT_ID: [c for c in ids for _ in snaps],
            History.SNAPSHOT: snaps * len(ids),
            History.PROBABILITY: [0.1, 0.2, 0.3, 0.4] * len(ids),
            History.HEALTH: [90.0, 80.0, 70.0, 60.0] * len(ids),
        }
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    folder = tmp_path_factory.mktemp("browser")
    scores = portfolio()
    page = report_html(
        scores,
        history(scores),
        as_of=AS_OF,
        model_version="7",
        drifted={},
        top_drivers=1,
        max_clients=5,
        currency="EUR",
    )
    html = folder / "report.html"
    html.write_text(page, encoding="utf-8")
    shot = folder / "report.png"
    common = [BROWSER, *FLAGS, f"--user-data-dir={folder / 'profile'}"]
    dom = subprocess.run(
        [*common, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120, check=True
    )
    subprocess.run(
        [*common, "--window-size=1200,2000", f"--screenshot={shot}", html.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dom.stdout, dom.stderr, shot


def test_the_browser_shows_every_section(rendered: tuple[str, str, Path]) -> None:
    dom, _, shot = rendered
    for section in (
        "portfolio",
        "watchlist",
        "movers",
        "renewals",
        "silent",
        "onboarding",
        "owners",
        "clients",
    ):
        assert f'id="{section}"' in dom, section
    assert "Every red and yellow client (16)" in dom
    assert "Your clients this week, by owner" in dom
    assert shot.stat().st_size > 10_000  # a real picture, not a blank page
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_red_and_yellow_client_is_in_the_compact_table(rendered: tuple[str, str, Path]) -> None:
    dom, _, _ = rendered
    table = dom.split('id="watchlist"')[1].split('id="movers"')[0]
    shown = set(re.findall(r"Client (\d\d)", table))
    assert shown == {f"{i:02d}" for i in range(16)}  # 4 red + 12 yellow, none green
    # only the first 5 have full sections, yet all 16 are listed
    assert dom.count('class="client"') == 5


def test_the_browser_logs_no_script_error(rendered: tuple[str, str, Path]) -> None:
    dom, log, _ = rendered
    assert dom.count("<script") == 1  # the print helper of the page's <head>, nothing else
    assert not re.search(r"Uncaught|SyntaxError|ReferenceError|TypeError", log)


def test_a_phone_and_a_printer_get_the_whole_page(rendered: tuple[str, str, Path]) -> None:
    dom, _, shot = rendered
    assert 'name="viewport"' in dom
    svgs = re.findall(r"<svg[^>]*>", dom)
    assert svgs and all('role="img"' in s and "aria-label=" in s for s in svgs)
    folder = shot.parent
    common = [BROWSER, *FLAGS, f"--user-data-dir={folder / 'profile'}"]
    phone, pdf = folder / "phone.png", folder / "report.pdf"
    subprocess.run(
        [*common, "--window-size=390,844", f"--screenshot={phone}", (folder / "report.html").as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    subprocess.run(
        [*common, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", (folder / "report.html").as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert phone.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000
