"""The analyst's HTML report of one weekly list: a single self-contained file (no network, no scripts).

Input: the scored list (one row per client, :class:`churnml.outputs.Scores` columns) and its health
history (one row per client x weekly snapshot). Sections:

1. the portfolio by zone (clients, ARR, ARR at risk) with a bar chart, and ARR at risk by value tier;
2. the health distribution;
3. drifted features (PSI above ``score.drift_psi``), when any;
4. new in red and the biggest movers since the previous list, with why they moved;
5. one section per client (the first ``score.report_clients`` by priority): risk, value, the health
   sparkline over the history weeks, health per family, drivers in plain language, fired rules, and
   the recommended action with who acts.

Charts are matplotlib SVG embedded inline (Agg backend; a fixed hash salt and no date, so the same list
always renders to the same bytes); sparklines are tiny hand-drawn SVG polylines.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from datetime import date

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl
from matplotlib.ticker import FuncFormatter

from churnml.explain import FAMILIES
from churnml.outputs import History, Scores

__all__ = ["report_html", "sparkline_svg"]

ZONE_COLOURS = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}
_ZONES = ("red", "yellow", "green")
_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;
color:#222;line-height:1.4}
h1{margin-bottom:0}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f5f5f5}td.num{text-align:right}
.zone{display:inline-block;padding:0 .5em;border-radius:.3em;color:#fff;font-weight:600}
.zone.green{background:#2e7d32}.zone.yellow{background:#f9a825;color:#222}.zone.red{background:#c62828}
.client{border:1px solid #ddd;border-radius:.4em;padding:.6em 1em;margin:1em 0}
.muted{color:#777}.warn{background:#fff3e0;border-left:4px solid #ef6c00;padding:.5em 1em}
.bar{display:inline-block;height:.7em;background:#90a4ae;vertical-align:middle}
nav a{margin-right:1em}
"""


def _svg(fig: plt.Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _money(x: float | None) -> str:
    return "" if x is None else f"{x:,.0f}"


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}%"


def _no_drivers(row: Mapping[str, object]) -> str:
    if row.get(Scores.EXPLAINED) is False:
        return "<li>not explained this week (beyond score.explain_limit)</li>"
    return "<li>no driver stands out</li>"


def _points(x: float | None) -> str:
    return "" if x is None else f"{100 * x:+.1f}"


def _e(x: object) -> str:
    return html.escape("" if x is None else str(x))


def _zone(z: str | None) -> str:
    return f'<span class="zone {_e(z)}">{_e(z)}</span>' if z else ""


def sparkline_svg(values: Sequence[float], width: int = 160, height: int = 32) -> str:
    """An inline SVG polyline of health values (0-100, oldest first) with the last point marked."""
    if not values:
        return ""
    n = len(values)
    xs = [width * i / max(n - 1, 1) for i in range(n)]
    ys = [height - 2 - (height - 4) * max(0.0, min(100.0, v)) / 100 for v in values]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="health history">'
        f'<rect width="{width}" height="{height}" fill="#fafafa"/>'
        f'<polyline points="{points}" fill="none" stroke="#1565c0" stroke-width="1.5"/>'
        f'<circle cx="{xs[-1]:.1f}" cy="{ys[-1]:.1f}" r="2.5" fill="#1565c0"/></svg>'
    )


def _compact(x: float, _pos: object = None) -> str:
    """Axis money labels people read at a glance: 1,500 -> 1.5k, 2,300,000 -> 2.3M."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:.3g}{suffix}"
    return f"{x:.0f}"


_MONEY_AXIS = FuncFormatter(_compact)


def _portfolio(scores: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    by_zone = (
        scores.group_by(Scores.ZONE)
        .agg(
            pl.len().alias("clients"),
            pl.col(Scores.ARR).sum().alias("arr"),
            pl.col(Scores.REVENUE_AT_RISK).sum().alias("at_risk"),
        )
        .join(pl.DataFrame({Scores.ZONE: list(_ZONES)}), on=Scores.ZONE, how="right")
        .select(Scores.ZONE, "clients", "arr", "at_risk")
        .fill_null(0)
    )
    with plt.rc_context({"svg.hashsalt": "churnml", "svg.fonttype": "none"}):
        fig, axes = plt.subplots(1, 2, figsize=(9, 2.6))
        zones = by_zone.get_column(Scores.ZONE).to_list()
        colours = [ZONE_COLOURS[z] for z in zones]
        axes[0].barh(zones, by_zone.get_column("clients").to_list(), color=colours)
        axes[0].set_title("clients by zone")
        axes[1].barh(zones, by_zone.get_column("at_risk").to_list(), color=colours)
        axes[1].set_title("ARR at risk by zone")
        axes[1].xaxis.set_major_formatter(_MONEY_AXIS)
        for ax in axes:
            ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        chart = _svg(fig)
    return by_zone, chart


def _tier_chart(scores: pl.DataFrame) -> str:
    tiers = ("A", "B", "C")
    with plt.rc_context({"svg.hashsalt": "churnml", "svg.fonttype": "none"}):
        fig, axes = plt.subplots(1, 2, figsize=(9, 2.6))
        left = [0.0, 0.0, 0.0]
        for zone in ("green", "yellow", "red"):
            sub = scores.filter(pl.col(Scores.ZONE) == zone)
            vals = [
                float(sub.filter(pl.col(Scores.VALUE_TIER) == t).get_column(Scores.REVENUE_AT_RISK).sum())
                for t in tiers
            ]
            axes[0].barh(tiers, vals, left=left, color=ZONE_COLOURS[zone], label=zone)
            left = [a + b for a, b in zip(left, vals, strict=True)]
        axes[0].set_title("ARR at risk by value tier")
        axes[0].xaxis.set_major_formatter(_MONEY_AXIS)
        axes[0].invert_yaxis()
        axes[0].legend(frameon=False, fontsize=8)
        health = scores.get_column(Scores.HEALTH).to_numpy()
        axes[1].hist(health, bins=20, range=(0, 100), color="#90a4ae")
        axes[1].set_title("health score distribution")
        axes[1].set_xlabel("health (100 = no risk)")
        for ax in axes:
            ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        return _svg(fig)


def _client_section(
    row: Mapping[str, object], history: Sequence[float], top_drivers: int, rule_text: Mapping[str, str]
) -> str:
    cid = _e(row[Scores.CLIENT_ID])
    name = _e(row.get(Scores.NAME) or row[Scores.CLIENT_ID])
    drivers = []
    for i in range(1, top_drivers + 1):
        sentence = row.get(Scores.driver(i, "sentence"))
        if sentence:
            drivers.append(
                f"<li>{_e(sentence)} <span class='muted'>({_e(row.get(Scores.driver(i, 'family')))}, "
                f"{_e(row.get(Scores.driver(i, 'direction')))}, "
                f"{float(row.get(Scores.driver(i, 'contribution')) or 0):+.2f})</span></li>"
            )
    families = "".join(
        f"<tr><td>{f}</td><td class='num'>{h:.0f}</td>"
        f"<td><span class='bar' style='width:{h:.0f}px'></span></td></tr>"
        for f in FAMILIES
        if Scores.family_health(f) in row
        for h in [float(row.get(Scores.family_health(f)) or 0)]
    )
    fired = [r for r in str(row.get(Scores.RULES) or "").split("; ") if r]
    rules = "; ".join(_e(rule_text.get(r, r)) for r in fired) if fired else "none"
    change = row.get(Scores.PROBABILITY_CHANGE)
    change_text = "new this week" if change is None else f"{100 * float(change):+.1f} points of probability"
    why = row.get(Scores.WHY_CHANGED)
    esc = row.get(Scores.ESCALATION)
    return f"""
<div class="client" id="c-{cid}">
<h3>#{_e(row[Scores.PRIORITY])} {name} {_zone(str(row[Scores.ZONE]))}
<span class="muted">{cid}</span></h3>
<table><tr><th>churn probability</th><th>health</th><th>health history</th><th>change</th>
<th>ARR</th><th>lifetime value</th><th>tier</th><th>strategic</th><th>revenue at risk</th></tr>
<tr><td class="num">{_pct(row[Scores.PROBABILITY])}</td><td class="num">{float(row[Scores.HEALTH]):.0f}</td>
<td>{sparkline_svg(history)}</td><td>{_e(change_text)} {_e(row.get(Scores.ZONE_CHANGE) or "")}</td>
<td class="num">{_money(row[Scores.ARR])}</td><td class="num">{_money(row[Scores.LIFETIME_VALUE])}</td>
<td>{_e(row[Scores.VALUE_TIER])}</td><td>{_e(row[Scores.STRATEGIC])}</td>
<td class="num">{_money(row[Scores.REVENUE_AT_RISK])}</td></tr></table>
<p><b>Why:</b></p><ul>{"".join(drivers) or _no_drivers(row)}</ul>
{f"<p><b>Why it changed:</b> {_e(why)}</p>" if why else ""}
<p><b>Early-warning rules:</b> {rules}</p>
<details><summary>health per family</summary><table>{families}</table></details>
<p><b>Action:</b> {_e(row[Scores.ACTION])} — <b>owner:</b> {_e(row[Scores.ACTS])}
{f" — <b>escalation:</b> {_e(esc)}" if esc else ""}</p>
</div>"""


def report_html(
    scores: pl.DataFrame,
    history: pl.DataFrame,
    *,
    as_of: date,
    model_version: str,
    drifted: Mapping[str, float],
    top_drivers: int,
    max_clients: int,
    movers: int = 20,
    rule_text: Mapping[str, str] | None = None,
) -> str:
    """The whole report as one HTML string (sections: module docstring)."""
    rule_text = dict(rule_text or {})
    by_zone, zone_chart = _portfolio(scores)
    tier_chart = _tier_chart(scores)
    total_arr = float(scores.get_column(Scores.ARR).sum())
    at_risk = float(scores.get_column(Scores.REVENUE_AT_RISK).sum())
    zone_rows = "".join(
        f"<tr><td>{_zone(z)}</td><td class='num'>{n}</td><td class='num'>{_money(a)}</td>"
        f"<td class='num'>{_money(r)}</td></tr>"
        for z, n, a, r in by_zone.iter_rows()
    )
    drift = ""
    if drifted:
        items = "".join(f"<li>{_e(k)}: PSI {v:.2f}</li>" for k, v in sorted(drifted.items()))
        drift = (
            "<h2 id='drift'>Drifted features</h2><div class='warn'>These features are distributed "
            "differently than in the training data; their explanations deserve a second look."
            f"<ul>{items}</ul></div>"
        )
    new_red = scores.filter(pl.col(Scores.NEW_IN_RED))
    moved = (
        scores.filter(pl.col(Scores.PROBABILITY_CHANGE).is_not_null())
        .with_columns(pl.col(Scores.PROBABILITY_CHANGE).abs().alias("_abs"))
        .sort(["_abs", Scores.CLIENT_ID], descending=[True, False])
        .head(movers)
    )

    def mover_rows(frame: pl.DataFrame) -> str:
        return "".join(
            f"<tr><td><a href='#c-{_e(r[Scores.CLIENT_ID])}'>"
            f"{_e(r.get(Scores.NAME) or r[Scores.CLIENT_ID])}</a></td>"
            f"<td>{_zone(r[Scores.ZONE])}</td><td>{_e(r[Scores.ZONE_CHANGE])}</td>"
            f"<td class='num'>{_pct(r[Scores.PROBABILITY])}</td>"
            f"<td class='num'>{_points(r[Scores.PROBABILITY_CHANGE])}</td>"
            f"<td>{_e(r[Scores.WHY_CHANGED] or '')}</td></tr>"
            for r in frame.iter_rows(named=True)
        )

    head = (
        "<tr><th>client</th><th>zone</th><th>zone change</th><th>probability</th>"
        "<th>change (points)</th><th>why</th></tr>"
    )
    hist = (
        history.sort(History.CLIENT_ID, History.SNAPSHOT)
        .group_by(History.CLIENT_ID, maintain_order=True)
        .agg(pl.col(History.HEALTH))
    )
    spark = dict(
        zip(
            hist.get_column(History.CLIENT_ID).to_list(),
            hist.get_column(History.HEALTH).to_list(),
            strict=True,
        )
    )
    shown = scores.sort(Scores.PRIORITY).head(max_clients)
    sections = "".join(
        _client_section(r, spark.get(r[Scores.CLIENT_ID], []), top_drivers, rule_text)
        for r in shown.iter_rows(named=True)
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>churnml weekly list {as_of}</title>
<style>{_STYLE}</style></head><body>
<h1>Weekly churn list — {as_of}</h1>
<p class="muted">model {_e(model_version)} · {scores.height} active clients ·
health = 100 × (1 − churn probability)</p>
<nav><a href="#portfolio">portfolio</a><a href="#movers">movers</a><a href="#clients">clients</a></nav>
<h2 id="portfolio">Portfolio</h2>
<p>Total ARR {_money(total_arr)}; ARR at risk (probability × ARR) {_money(at_risk)}
({_pct(at_risk / total_arr if total_arr else 0.0)}).</p>
<table><tr><th>zone</th><th>clients</th><th>ARR</th><th>ARR at risk</th></tr>{zone_rows}</table>
{zone_chart}
{tier_chart}
{drift}
<h2 id="movers">New in red ({new_red.height})</h2>
<table>{head}{mover_rows(new_red.sort(Scores.PRIORITY).head(movers))}</table>
<h2>Biggest movers since the previous list</h2>
<table>{head}{mover_rows(moved)}</table>
<h2 id="clients">Clients by priority (first {shown.height} of {scores.height})</h2>
{sections}
</body></html>
"""
