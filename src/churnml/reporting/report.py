"""The analyst's HTML report of one weekly list: a single self-contained file (no network; one inline
script, which opens the collapsed sections while printing).

Input: the scored list (one row per client, :class:`churnml.scoring.outputs.Scores` columns) and its health
history (one row per client x weekly snapshot). Sections:

0. a warning when the model was not promoted by the champion gate (no champion yet);
1. the portfolio by zone (clients, ARR, ARR at risk) with a bar chart, ARR at risk by value tier, and by
   segment (clients, red, yellow, ARR, ARR at risk) when the clients table gives more than one;
2. the health distribution;
3. drifted features (PSI above ``score.drift_psi``), when any;
4. every red and yellow client in one compact table: owner, zone, state, value, top reason, action and
   the role who acts;
5. new in red and the biggest movers since the previous list, with their owner and why they moved; then,
   when the last list written is known, who left since it (:func:`left_since_list`: on that list, not on
   this one), most ARR first, why each is off the list, and how many of them that list had in red or yellow;
6. the CRM views: renewals due (and terms in their grace period), silent clients, stalled onboarding,
   recent data exports;
7. a section per owner ("your clients this week"): their red and yellow clients and renewals;
8. one full section per client for the first ``score.report_clients`` red and yellow clients (red, then
   yellow, each by priority; green clients get none, so they never bury the ones to work): risk, value,
   the health sparkline with its scale, health per family, drivers in plain language, fired rules, and
   the recommended action with who acts.

Charts are matplotlib SVG embedded inline (Agg backend; a fixed hash salt and no date, so the same list
always renders to the same bytes); sparklines are small hand-drawn SVG polylines with a 0-100 scale and
the zone thresholds drawn in, their points placed by date (a client's history holds its active weeks only:
the line breaks where it was gone, and the span says the weeks, not the points).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl
from matplotlib.ticker import FuncFormatter

from churnml.config import LabelConfig
from churnml.contract.dataset import Dataset
from churnml.contract.schemas import Churns, Subscriptions, Table
from churnml.features.registry import FAMILY_SCOPES
from churnml.reporting.pages import HEAD, LAYOUT_STYLE, figure_svg, links_html, scoped_headers
from churnml.scoring.assemble import drift_order, gain_share_text
from churnml.scoring.columns import Scores
from churnml.scoring.crm import FREE_TRIAL
from churnml.scoring.explain import FAMILIES
from churnml.scoring.outputs import History
from churnml.scoring.playbook import ZONE_RANK
from churnml.scoring.rules import evidence_by_rule

__all__ = [
    "LEFT_WHY",
    "departure_reasons",
    "left_since_list",
    "report_html",
    "rules_said",
    "segment_totals",
    "sparkline_svg",
    "whole_parts",
]

ZONE_COLOURS = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}
_ZONES = ("red", "yellow", "green")
_DRIFT_ROWS = 15  # drifted features shown in the report's table (the manifest lists them all)
_DRIFT_BAR_PX = 120  # the weight bar's full width: a tenth or more of the model's gain
_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;
color:#222;line-height:1.4}
h1{margin-bottom:0}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f5f5f5}td.num{text-align:right}
.zone{display:inline-block;padding:0 .5em;border-radius:.3em;color:#fff;font-weight:600}
.zone.green{background:#2e7d32}.zone.yellow{background:#f9a825;color:#222}.zone.red{background:#c62828}
.client{border:1px solid #ddd;border-radius:.4em;padding:.6em 1em;margin:1em 0}
.muted{color:#666}.warn{background:#fff3e0;border-left:4px solid #ef6c00;padding:.5em 1em}
.bar{display:inline-block;height:.7em;background:#90a4ae;vertical-align:middle}
nav a{margin-right:1em}
table.compact{font-size:.85em}table.compact td{padding:.15em .4em}.pages{font-size:.9em;margin-bottom:.5em}
"""


def _svg(fig: plt.Figure) -> str:
    """The figure as inline ``<svg>`` (:func:`churnml.reporting.pages.figure_svg`), then closed."""
    text = figure_svg(fig)
    plt.close(fig)
    return text


def _money(x: float | None) -> str:
    return "" if x is None else f"{x:,.0f}"


def _pct(x: float | None) -> str:
    """A share in percent with one decimal (exact: 0% and 100% are said as such)."""
    return "" if x is None else f"{100 * x:.1f}%"


def _prob(x: float | None) -> str:
    """A churn probability in percent with one decimal; a calibrated 1 or 0 (a bin where every client
    churned, or none did) is said as above 99.9% or below 0.1%, never as a certainty."""
    if x is None:
        return ""
    if x >= 0.9995:
        return "> 99.9%"
    if x < 0.0005:
        return "< 0.1%"
    return _pct(x)


def _no_drivers(row: Mapping[str, object]) -> str:
    if row.get(Scores.EXPLAINED) is False:
        return "<li>not explained this week (beyond score.explain_limit)</li>"
    return "<li>no driver stands out</li>"


def _points(x: float | None) -> str:
    if x is None:
        return ""
    shown = f"{100 * x:+.1f}"
    return "0.0" if shown in ("+0.0", "-0.0") else shown


def _e(x: object) -> str:
    return html.escape("" if x is None else str(x))


def _zone(z: str | None) -> str:
    return f'<span class="zone {_e(z)}">{_e(z)}</span>' if z else ""


def sparkline_svg(
    values: Sequence[float],
    width: int = 200,
    height: int = 44,
    thresholds: Sequence[float] = (),
    dates: Sequence[date] = (),
) -> str:
    """An inline SVG of health values (0-100, oldest first) with its scale: 0 and 100 marked on the left,
    dashed lines at the zone thresholds (health values), the span in weeks below, the last point marked.

    ``dates`` (one per value, the weekly snapshots): the points are placed by date and the span is the weeks
    from the first to the last; a gap of more than a week (a client back from an absence: its history holds
    its active weeks only) breaks the line. Without them the points are taken as consecutive weeks."""
    if not values:
        return ""
    left, bottom = 22, 11  # room for the scale labels
    plot_w, plot_h = width - left - 4, height - bottom - 2
    n = len(values)
    days = [(d - dates[0]).days for d in dates] if len(dates) == n else [7 * i for i in range(n)]

    def y_of(v: float) -> float:
        return 2 + plot_h - plot_h * max(0.0, min(100.0, v)) / 100

    xs = [left + plot_w * d / max(days[-1], 1) for d in days]
    ys = [y_of(v) for v in values]
    # runs of consecutive weeks: a line joins the weeks the client was there, not across its absence
    runs: list[list[int]] = [[0]]
    for i in range(1, n):
        if days[i] - days[i - 1] > 7:
            runs.append([])
        runs[-1].append(i)
    lines = "".join(
        f'<polyline points="{" ".join(f"{xs[i]:.1f},{ys[i]:.1f}" for i in run)}" fill="none" stroke="#1565c0" '
        'stroke-width="1.5"/>'
        if len(run) > 1
        else f'<circle cx="{xs[run[0]]:.1f}" cy="{ys[run[0]]:.1f}" r="1.2" fill="#1565c0"/>'
        for run in runs
    )
    guides = "".join(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{y_of(t):.1f}" y2="{y_of(t):.1f}" stroke="#bbb" '
        f'stroke-dasharray="2,2"/>'
        for t in thresholds
    )
    span = round(days[-1] / 7)
    label = f"{span} week{'' if span == 1 else 's'} ago" if span else "this week"
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="health history, 0 to 100">'
        f'<rect x="{left}" y="2" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ddd"/>'
        f"{guides}"
        f'<text x="{left - 3}" y="9" font-size="8" text-anchor="end" fill="#666">100</text>'
        f'<text x="{left - 3}" y="{2 + plot_h:.0f}" font-size="8" text-anchor="end" fill="#666">0</text>'
        f'<text x="{left}" y="{height - 1}" font-size="8" fill="#666">{label}</text>'
        f'<text x="{left + plot_w}" y="{height - 1}" font-size="8" text-anchor="end" fill="#666">now</text>'
        f"{lines}"
        f'<circle cx="{xs[-1]:.1f}" cy="{ys[-1]:.1f}" r="2.5" fill="#1565c0"/></svg>'
    )


def _compact(x: float, _pos: object = None) -> str:
    """Axis money labels people read at a glance: 1,500 -> 1.5k, 2,300,000 -> 2.3M."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:.3g}{suffix}"
    return f"{x:.0f}"


_MONEY_AXIS = FuncFormatter(_compact)


def _zone_totals(scores: pl.DataFrame) -> pl.DataFrame:
    """One row per zone (red, yellow, green, in that order, empty ones too): ``clients``, ``arr``,
    ``at_risk``."""
    return (
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


def segment_totals(scores: pl.DataFrame) -> pl.DataFrame | None:
    """One row per segment of the list (``segment``, the clients table's; a missing one is "unknown"), most
    ARR at risk first: ``clients``, ``red``, ``yellow``, ``arr``, ``at_risk``, ``at_risk_share`` (of the
    segment's ARR; null without ARR). None when the list has no segment column or a single segment."""
    if Scores.SEGMENT not in scores.columns:
        return None
    segment = pl.col(Scores.SEGMENT).cast(pl.String).fill_null("unknown")
    totals = (
        scores.group_by(segment.alias(Scores.SEGMENT))
        .agg(
            pl.len().alias("clients"),
            (pl.col(Scores.ZONE) == "red").sum().alias("red"),
            (pl.col(Scores.ZONE) == "yellow").sum().alias("yellow"),
            pl.col(Scores.ARR).sum().alias("arr"),
            pl.col(Scores.REVENUE_AT_RISK).sum().alias("at_risk"),
        )
        .with_columns(
            pl.when(pl.col("arr") > 0).then(pl.col("at_risk") / pl.col("arr")).alias("at_risk_share")
        )
        .sort(["at_risk", Scores.SEGMENT], descending=[True, False])
    )
    return totals if totals.height > 1 else None


def _segments_html(scores: pl.DataFrame, currency: str) -> str:
    """The portfolio by segment (:func:`segment_totals`), "" without segments."""
    totals = segment_totals(scores)
    if totals is None:
        return ""
    rows = "".join(
        f"<tr><td>{_e(seg)}</td><td class='num'>{n}</td><td class='num'>{red}</td><td class='num'>{yellow}</td>"
        f"<td class='num'>{_money_c(arr, currency)}</td><td class='num'>{_money_c(risk, currency)}</td>"
        f"<td class='num'>{_pct(share)}</td></tr>"
        for seg, n, red, yellow, arr, risk, share in totals.iter_rows()
    )
    return (
        "<h3 id='segments'>By segment</h3><table><tr><th>segment</th><th>clients</th><th>red</th><th>yellow</th>"
        f"<th>ARR</th><th>ARR at risk</th><th>at risk, of its ARR</th></tr>{rows}</table>"
    )


def _chart_pair(left: Callable[[Any], None], right: Callable[[Any], None]) -> str:
    """Two charts side by side as one SVG: ``left`` and ``right`` draw on their axes."""
    with plt.rc_context({"svg.hashsalt": "churnml", "svg.fonttype": "none"}):
        fig, axes = plt.subplots(1, 2, figsize=(9, 2.6))
        left(axes[0])
        right(axes[1])
        for ax in axes:
            ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        return _svg(fig)


def _zone_bars(by_zone: pl.DataFrame, column: str, title: str) -> Callable[[Any], None]:
    """Draws ``column`` of :func:`_zone_totals` as one bar per zone, in the zones' colours."""

    def draw(ax: Any) -> None:
        zones = by_zone.get_column(Scores.ZONE).to_list()
        ax.barh(zones, by_zone.get_column(column).to_list(), color=[ZONE_COLOURS[z] for z in zones])
        ax.set_title(title)

    return draw


def _health_histogram(scores: pl.DataFrame) -> Callable[[Any], None]:
    """Draws the health scores' distribution (20 bins over 0..100)."""

    def draw(ax: Any) -> None:
        ax.hist(scores.get_column(Scores.HEALTH).to_numpy(), bins=20, range=(0, 100), color="#90a4ae")
        ax.set_title("health score distribution")
        ax.set_xlabel("health (100 = no risk)")

    return draw


def _zone_chart(by_zone: pl.DataFrame) -> str:
    """Clients by zone and ARR at risk by zone."""
    at_risk = _zone_bars(by_zone, "at_risk", "ARR at risk by zone")

    def money(ax: Any) -> None:
        at_risk(ax)
        ax.xaxis.set_major_formatter(_MONEY_AXIS)

    return _chart_pair(_zone_bars(by_zone, "clients", "clients by zone"), money)


def _without_revenue_chart(scores: pl.DataFrame, by_zone: pl.DataFrame) -> str:
    """Clients by zone and the health distribution, side by side: the portfolio's charts when the data
    holds no revenue (every ARR 0), where the ARR-at-risk charts would be empty axes."""
    return _chart_pair(_zone_bars(by_zone, "clients", "clients by zone"), _health_histogram(scores))


def _tier_chart(scores: pl.DataFrame) -> str:
    """ARR at risk by value tier (stacked by zone) and the health distribution."""
    tiers = ("A", "B", "C")

    def by_tier(ax: Any) -> None:
        left = [0.0, 0.0, 0.0]
        for zone in ("green", "yellow", "red"):
            sub = scores.filter(pl.col(Scores.ZONE) == zone)
            vals = [
                float(sub.filter(pl.col(Scores.VALUE_TIER) == t).get_column(Scores.REVENUE_AT_RISK).sum())
                for t in tiers
            ]
            ax.barh(tiers, vals, left=left, color=ZONE_COLOURS[zone], label=zone)
            left = [a + b for a, b in zip(left, vals, strict=True)]
        ax.set_title("ARR at risk by value tier")
        ax.xaxis.set_major_formatter(_MONEY_AXIS)
        ax.invert_yaxis()
        # below the bars in one row: inside the axes the legend sat on the first tier's bar
        ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)

    return _chart_pair(by_tier, _health_histogram(scores))


def _count(n: object, noun: str) -> str:
    """``"1 day"``, ``"9 days"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def renewal_state(row: Mapping[str, Any]) -> str:
    """The renewals table's term cell: the state of a term in its grace period ("Term ended 12 days ago and was
    not renewed"), else when the term ends; a client back from an absence ("Back since ...") is due like any
    other, its end date said."""
    if row.get(Scores.IN_GRACE) and row.get(Scores.TERM_STATE):
        return str(row[Scores.TERM_STATE])
    days = row.get(Scores.RENEWAL_DAYS)
    return f"ends {row.get(Scores.RENEWAL_DATE)} " + (
        "(today)" if days == 0 else f"(in {_count(days, 'day')})"
    )


def _term_value(row: Mapping[str, object], currency: str) -> str:
    """The renewals table's term value: the next term's at today's terms, or for a lapsed term (no next
    term yet) what it brought a year, its ARR."""
    value = row.get(Scores.RENEWAL_VALUE)
    if value is None and row.get(Scores.IN_GRACE) and row.get(Scores.ARR):
        return f"{_money_c(row[Scores.ARR], currency)} a year"  # type: ignore[arg-type]
    return _money_c(value, currency)  # type: ignore[arg-type]


def _money_c(x: float | None, currency: str) -> str:
    shown = _money(x)
    return f"{currency} {shown}" if shown and currency else shown


def conversion_text(row: Mapping[str, object], currency: str) -> str:
    """A client that never paid (a free trial or a free plan) valued at its conversion (``conversion_arr``),
    said as a prospect's value: "trial: EUR 9,000 a year if it converts"; empty for a paying client."""
    value = row.get(Scores.CONVERSION_ARR)
    if value is None:
        return ""
    return f"trial: {_money_c(value, currency)} a year if it converts"  # type: ignore[arg-type]


def _arr_and_tier(row: Mapping[str, object], currency: str) -> str:
    """ "EUR 12,000 (A)", or for a trial "EUR 0 (C); trial: EUR 9,000 a year if it converts"."""
    said = f"{_money_c(row[Scores.ARR], currency)} ({row[Scores.VALUE_TIER]})"  # type: ignore[arg-type]
    trial = conversion_text(row, currency)
    return f"{said}; {trial}" if trial else said


def _trials_sentence(scores: pl.DataFrame, currency: str) -> str:
    """The clients that never paid on the list and their value at conversion, apart from the ARR; empty without
    any."""
    if Scores.CONVERSION_ARR not in scores.columns:
        return ""
    trials = scores.filter(pl.col(Scores.CONVERSION_ARR).is_not_null())
    if trials.height == 0:
        return ""
    total = float(trials.get_column(Scores.CONVERSION_ARR).sum())
    watched = trials.filter(pl.col(Scores.ZONE).is_in(["red", "yellow"])).height
    return (
        f"<p>{trials.height:,} client{'' if trials.height == 1 else 's'} never paid (a free trial or a free plan; {watched:,} of them red or "
        f"yellow): {_money_c(total, currency)} a year if all convert, each valued at the median ARR of the "
        "paying clients of its product. A prospect's value, not revenue: it ranks each trial on the list "
        "(probability × that value) and is in neither the ARR nor the ARR at risk.</p>"
    )


def _name_link(row: Mapping[str, object], linked: set[str]) -> str:
    cid = str(row[Scores.CLIENT_ID])
    name = _e(row.get(Scores.NAME) or cid)
    return f"<a href='#c-{_e(cid)}'>{name}</a>" if cid in linked else name


def rules_said(row: Mapping[str, object], rules: Sequence[str], rule_text: Mapping[str, str] | None) -> str:
    """The fired ``rules`` of a list row in words: what each saw for this client when it says so
    (``rules_evidence``: "invoice INV-7 of EUR 1,200 due 2025-11-01, unpaid 47 days after"), else its
    text with the thresholds (``rule_text``), else its name; ``"; "``-joined."""
    evidence = evidence_by_rule(str(row.get(Scores.RULES_EVIDENCE) or ""))
    return "; ".join(evidence.get(r) or (rule_text or {}).get(r, r.replace("_", " ")) for r in rules)


def _capitalised(text: str) -> str:
    """``text`` with its first letter in capitals (a rule's evidence or a reason leading a table cell)."""
    return f"{text[:1].upper()}{text[1:]}"


def _top_reason(row: Mapping[str, object], rule_text: Mapping[str, str] | None = None) -> str:
    """What the compact table says first: the term's state, else the rule that raised the client's zone
    (a cancellation request put it in red, whatever the model's probability), else what the action
    follows (a rule: what it saw, :func:`rules_said`; not worth keeping: why), so that the reason and the
    action beside it tell one story, else the first driver that raises the risk, else, beside a renewal play, the
    renewal (:func:`renewal_state`: a green client's renewal row in an owner's block said nothing), else the
    fired rules."""
    state = row.get(Scores.TERM_STATE)
    basis = str(row.get(Scores.ACTION_BASIS) or "")
    # the term's state leads when the action follows it (a lapse); a booked renewal is good news, and a
    # term that just ended with no renewal recorded yet is no reason beside another action
    if (
        state
        and row.get(Scores.NEXT_TERM_START) is None
        and (basis == "" or basis.startswith("grace period"))
    ):
        return str(state)
    raised = [r for r in str(row.get(Scores.ZONE_RAISED_BY) or "").split("; ") if r]
    if not raised and basis.startswith("rule: "):
        raised = [basis.removeprefix("rule: ")]
    if raised:
        said = rules_said(row, raised, rule_text)
        return _capitalised(said)
    if basis == "not worth keeping" and row.get(Scores.NOT_WORTH_KEEPING_REASON):
        reason = str(row[Scores.NOT_WORTH_KEEPING_REASON])
        return _capitalised(reason)
    if row.get(Scores.driver(1, "direction")) == "raises risk":
        return str(row.get(Scores.driver(1, "sentence")) or "")
    if basis == "renewal due" and row.get(Scores.RENEWAL_DATE) is not None:
        return f"Renewal due: the term {renewal_state(row)}"
    return str(row.get(Scores.RULES) or "")


def _client_section(
    row: Mapping[str, object],
    history: Sequence[float],
    top_drivers: int,
    rule_text: Mapping[str, str],
    currency: str = "",
    thresholds: Sequence[float] = (),
    history_dates: Sequence[date] = (),
    owned: bool = True,
) -> str:
    """One client's card; ``history``: its health per snapshot, oldest first, on ``history_dates`` (the
    sparkline places them by date); ``owned`` False (no client of the list has an owner): no "owner unassigned",
    in its heading nor beside its action (who acts, ``acts``, is "unassigned" for every client then)."""
    cid = _e(row[Scores.CLIENT_ID])
    name = _e(row.get(Scores.NAME) or row[Scores.CLIENT_ID])
    drivers = []
    for i in range(1, top_drivers + 1):
        sentence = row.get(Scores.driver(i, "sentence"))
        if sentence:
            drivers.append(
                f"<li>{_e(sentence)} <span class='muted'>({_e(row.get(Scores.driver(i, 'family')))}, "
                f"{_e(row.get(Scores.driver(i, 'direction')))})</span></li>"
            )
    # the points of health each area takes away (they add up to 100 - health): a client at 38 read its
    # families at 76-99 as "healthy everywhere"
    observed = [f for f in FAMILIES if row.get(Scores.family_health(f)) is not None]  # None: no feature
    points = whole_parts([100.0 - float(row[Scores.family_health(f)]) for f in observed])
    families = "".join(
        f"<tr><th scope='row' title='{_e(FAMILY_SCOPES.get(f, f))}'>{f}</th><td class='num'>{lost}</td>"
        f"<td><span class='bar' style='width:{max(lost, 0)}px'></span></td></tr>"
        for f, lost in zip(observed, points, strict=True)
    )
    fired = [r for r in str(row.get(Scores.RULES) or "").split("; ") if r]
    rules = _e(rules_said(row, fired, rule_text)) if fired else "none"
    change = row.get(Scores.PROBABILITY_CHANGE)
    change_text = "new this week" if change is None else f"{_points(float(change))} points of probability"
    why = row.get(Scores.WHY_CHANGED)
    esc = row.get(Scores.ESCALATION)
    state = row.get(Scores.TERM_STATE)
    keep = row.get(Scores.NOT_WORTH_KEEPING_REASON) if row.get(Scores.NOT_WORTH_KEEPING) else None
    facts = []
    # never paid: a trial's state, or its value on conversion (a trialist that gave notice: "Gave notice on ...")
    trial = str(state or "").startswith(FREE_TRIAL) or row.get(Scores.CONVERSION_ARR) is not None
    if row.get(Scores.RENEWAL_DATE) is not None and trial:
        # a trial's end is its conversion, not a renewal worth its MRR of 0 (its value: conversion_text)
        facts.append(f"free trial ends {_e(row[Scores.RENEWAL_DATE])}")
    elif row.get(Scores.RENEWAL_DATE) is not None:
        facts.append(
            f"term ends {_e(row[Scores.RENEWAL_DATE])} (renewal worth "
            f"{_money_c(row.get(Scores.RENEWAL_VALUE), currency)})"  # type: ignore[arg-type]
        )
    if row.get(Scores.DAYS_SILENT) is not None:
        facts.append(
            f"last in touch {row.get(Scores.LAST_INTERACTION) or 'never'}, {_count(row[Scores.DAYS_SILENT], 'day')} silent"
        )
    if row.get(Scores.LAST_CONTACTED) is not None:
        facts.append(
            f"last contacted {_e(row[Scores.LAST_CONTACTED])}: {_e(row.get(Scores.LAST_CONTACT) or '')}"
        )
    if row.get(Scores.ZONE_CHANGES) is not None:
        facts.append(f"{_count(row[Scores.ZONE_CHANGES], 'zone change')} in the history weeks")
    if trial := conversion_text(row, currency):
        facts.append(f"{trial} (the median ARR of the paying clients of its product; not in its ARR)")
    role = row.get(Scores.ACTION_ROLE)
    return f"""
<div class="client" id="c-{cid}">
<h3>#{_e(row[Scores.PRIORITY])} {name} {_zone(str(row[Scores.ZONE]))}
<span class="muted">{cid}{f" · owner {_owner(row)}" if owned else ""}</span></h3>
{f"<p class='warn'><b>{_e(state)}</b></p>" if state else ""}
<table><tr><th>churn probability</th><th>health</th><th>health history</th><th>change</th>
<th>ARR</th><th>lifetime value</th><th>tier</th><th>strategic</th><th>revenue at risk</th></tr>
<tr><td class="num">{_prob(row[Scores.PROBABILITY])}</td><td class="num">{float(row[Scores.HEALTH]):.0f}</td>
<td>{sparkline_svg(history, thresholds=thresholds, dates=history_dates)}</td><td>{_e(change_text)} {_e(row.get(Scores.ZONE_CHANGE) or "")}</td>
<td class="num">{_money_c(row[Scores.ARR], currency)}</td><td class="num">{_money_c(row[Scores.LIFETIME_VALUE], currency)}</td>
<td>{_e(row[Scores.VALUE_TIER])}</td><td>{_e(row[Scores.STRATEGIC])}</td>
<td class="num">{_money_c(row[Scores.REVENUE_AT_RISK], currency)}</td></tr></table>
{f"<p class='muted'>{_e('; '.join(facts))}</p>" if facts else ""}
{f"<p class='warn'><b>Not worth keeping:</b> {_e(keep)}</p>" if keep else ""}
<p><b>Why:</b></p><ul>{"".join(drivers) or _no_drivers(row)}</ul>
{f"<p><b>Why it changed:</b> {_e(why)}</p>" if why else ""}
<p><b>Early-warning rules:</b> {rules}</p>
<details><summary>where the risk comes from: points of health lost, by area (they add up to {sum(points)})</summary><table><tr><th scope="col">area</th><th scope="col">points lost</th><th scope="col"></th></tr>{families}</table></details>
<p><b>Action:</b> {_e(row[Scores.ACTION])}{f" — <b>role:</b> {_e(role)}" if role else ""}
{f"— <b>owner:</b> {_e(row[Scores.ACTS])}" if owned else ""}{f" — <b>escalation:</b> {_e(esc)}" if esc else ""}</p>
</div>"""


def whole_parts(parts: Sequence[float]) -> list[int]:
    """``parts`` rounded to whole numbers that add up to their rounded sum (the largest remainders round
    up): a table that says what its rows add up to must show rows that do (20 + 19 + 6 + 26 + 26 is 97,
    not the 98 of their unrounded sum)."""
    floors = [math.floor(p) for p in parts]
    short = round(sum(parts)) - sum(floors)
    by_remainder = sorted(range(len(parts)), key=lambda i: floors[i] - parts[i])
    for i in by_remainder[: max(short, 0)]:
        floors[i] += 1
    return floors


def _by_zone_then_priority(scores: pl.DataFrame) -> pl.DataFrame:
    return (
        scores.with_columns(
            pl.col(Scores.ZONE)
            .replace_strict(ZONE_RANK, default=len(ZONE_RANK), return_dtype=pl.Int64)
            .alias("_zr")
        )
        .sort("_zr", Scores.PRIORITY)
        .drop("_zr")
    )


def _first_shown(shown: int, total: int, order: str) -> str:
    """The note under a capped table: "First 50 of 73 shown (most days silent first); all in scores.csv."
    ("" when every row is shown)."""
    if shown >= total:
        return ""
    return f"<p class='muted'>First {shown:,} of {total:,} shown ({_e(order)}); all in scores.csv.</p>"


def _table(
    head: Sequence[str], rows: Sequence[Sequence[str]], empty: str = "none this week", owned: bool = True
) -> str:
    """A compact table of ``head`` and ``rows`` (cells already escaped); ``owned`` False (no client of the list
    has an owner, :func:`_owned`) leaves out the column headed "owner", which would read "unassigned" on every
    row (a consumer app's 294 red and yellow learners)."""
    if not owned and "owner" in head:
        at = list(head).index("owner")
        head = [h for i, h in enumerate(head) if i != at]
        rows = [[c for i, c in enumerate(r) if i != at] for r in rows]
    if not rows:
        return f"<p class='muted'>{_e(empty)}</p>"
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table class='compact'><tr>{th}</tr>{body}</table>"


def _owner(row: Mapping[str, object]) -> str:
    return _e(row.get(Scores.OWNER) or row.get(Scores.ACTS) or "unassigned")


def _watchlist(
    scores: pl.DataFrame, linked: set[str], currency: str, rule_text: Mapping[str, str] | None = None
) -> str:
    """Every red and yellow client, one line each."""
    rows = [
        [
            _e(r[Scores.PRIORITY]),
            _name_link(r, linked),
            _owner(r),
            _zone(r[Scores.ZONE]),
            _prob(r[Scores.PROBABILITY]),
            _e(_arr_and_tier(r, currency)),
            _e(_top_reason(r, rule_text)),
            _e(r.get(Scores.ACTION)) + _contacted(r),
            _e(r.get(Scores.ACTION_ROLE) or ""),
        ]
        for r in _by_zone_then_priority(
            scores.filter(pl.col(Scores.ZONE).is_in(["red", "yellow"]))
        ).iter_rows(named=True)
    ]
    head = ["#", "client", "owner", "zone", "probability", "ARR (tier)", "top reason", "action", "role"]
    return _table(head, rows, "no red or yellow client this week", owned=_owned(scores))


def _contacted(row: Mapping[str, object]) -> str:
    """ " (contacted 2026-01-13: call (held) by anna)" under an action when the team logged an intervention
    (``last_contacted``), so that a client called on Tuesday is not called again blind; else empty."""
    day = row.get(Scores.LAST_CONTACTED)
    if day is None:
        return ""
    return f"<br><span class='muted'>contacted {_e(day)}: {_e(row.get(Scores.LAST_CONTACT) or '')}</span>"


def _observed(scores: pl.DataFrame, column: str) -> bool:
    """``column`` is in the list and holds a value for some client (a view whose table the dataset
    lacks, e.g. silence without communications or tickets, is null for every client: no section)."""
    return column in scores.columns and scores.get_column(column).null_count() < scores.height


def _owned(scores: pl.DataFrame) -> bool:
    """Some client of the list has an owner (``owner``, else ``acts``, other than empty or "unassigned"): an
    account team to give a section each (a consumer app's users, a rider of a car-sharing service, have none)."""
    for column in (Scores.OWNER, Scores.ACTS):
        if column in scores.columns:
            names = scores.get_column(column).cast(pl.String).str.strip_chars().drop_nulls()
            if names.filter(~names.is_in(["", "unassigned"])).len():
                return True
    return False


def _with_terms(scores: pl.DataFrame) -> bool:
    """The list has renewal columns and some client a term to renew (a renewal date, a renewal due or a
    grace period): without any (no subscriptions table, pay-per-use) a renewals view is always empty."""
    if not {Scores.RENEWAL_DUE, Scores.IN_GRACE} <= set(scores.columns):
        return False
    flagged = scores.select(
        pl.col(Scores.RENEWAL_DUE).fill_null(False) | pl.col(Scores.IN_GRACE).fill_null(False)
    )
    return _observed(scores, Scores.RENEWAL_DATE) or bool(flagged.to_series().any())


def _contractions(scores: pl.DataFrame, linked: set[str], limit: int) -> str:
    """The clients whose ``contraction`` rule fired (recurring revenue cut while they stay: fewer seats, a smaller
    plan), whatever their zone, by priority, each with what was cut (its evidence) and the action; "" without a
    term on the list (:func:`_with_terms`: nothing can contract) or without the rule. A fleet tracker's accounts
    removing 40% of their vehicles were 4 green of 6 on a list, their account-review play in scores.csv alone."""
    fired = Scores.rule("contraction")
    if fired not in scores.columns or not _with_terms(scores):
        return ""
    cut = scores.filter(pl.col(fired).fill_null(False)).sort(Scores.PRIORITY)
    rows = [
        [
            _name_link(r, linked),
            _owner(r),
            _zone(r[Scores.ZONE]),
            _e(_capitalised(rules_said(r, ["contraction"], None))),
            _e(r.get(Scores.ACTION)),
        ]
        for r in cut.head(limit).iter_rows(named=True)
    ]
    return (
        f"<h2 id='contractions'>Contractions ({cut.height})</h2><p class='muted'>Clients that cut their recurring "
        "revenue (fewer seats, a smaller plan) while they stay, in any zone: revenue lost now.</p>"
        + _table(["client", "owner", "zone", "cut", "action"], rows, owned=_owned(scores))
        + _first_shown(len(rows), cut.height, "by priority")
    )


def _crm_sections(scores: pl.DataFrame, linked: set[str], currency: str, silent_days: int, limit: int) -> str:
    """Renewals due (grace periods first; none without a term, :func:`_with_terms`), contractions
    (:func:`_contractions`), silent clients, stalled onboarding and recent data exports."""
    cols = set(scores.columns)
    out = []
    owned = _owned(scores)
    if _with_terms(scores):
        due = scores.filter(pl.col(Scores.RENEWAL_DUE) | pl.col(Scores.IN_GRACE)).sort(
            Scores.IN_GRACE, Scores.RENEWAL_DAYS, descending=[True, False], nulls_last=True
        )
        rows = [
            [
                _name_link(r, linked),
                _owner(r),
                _zone(r[Scores.ZONE]),
                _e(renewal_state(r)),
                _term_value(r, currency),
                _e(r.get(Scores.ACTION)),
            ]
            for r in due.head(limit).iter_rows(named=True)
        ]
        out.append(
            f"<h2 id='renewals'>Renewals due ({due.height})</h2>"
            + _table(["client", "owner", "zone", "term", "term value", "action"], rows, owned=owned)
            + _first_shown(
                len(rows), due.height, "terms in their grace period first, then the soonest renewals"
            )
        )
    out.append(_contractions(scores, linked, limit))
    if _observed(scores, Scores.DAYS_SILENT):
        silent = scores.filter(pl.col(Scores.DAYS_SILENT) >= silent_days).sort(
            Scores.DAYS_SILENT, Scores.CLIENT_ID, descending=[True, False]
        )
        rows = [
            [
                _name_link(r, linked),
                _owner(r),
                _zone(r[Scores.ZONE]),
                _e(r[Scores.LAST_INTERACTION] or "never"),
                _e(r[Scores.DAYS_SILENT]),
            ]
            for r in silent.head(limit).iter_rows(named=True)
        ]
        heading = (
            f"<h2 id='silent'>Silent clients: nothing from the client for {silent_days} days or more "
            f"({silent.height})</h2>"
        )
        if silent.height > scores.height / 2:
            # most clients never write (a phone operator's tickets, a game's push notifications): a list of
            # nearly everyone tells no one anything
            out.append(
                heading
                + f"<p class='muted'>{silent.height:,} of the {scores.height:,} clients: in this data "
                "clients seldom write, reply or meet, so silence is the usual state and is not listed. "
                "Set score.silent_days higher to list the longest silences.</p>"
            )
        else:
            out.append(
                heading + "<p class='muted'>What counts is the client's side: a message from them, a "
                "reply to an outreach, a meeting held, a ticket opened; outreach without a reply does not.</p>"
                + _table(
                    ["client", "owner", "zone", "last from the client", "days silent"], rows, owned=owned
                )
                + _first_shown(len(rows), silent.height, "the longest silent first")
            )
    if _observed(scores, Scores.ONBOARDING_STALLED):
        stalled = scores.filter(pl.col(Scores.ONBOARDING_STALLED)).sort(Scores.PRIORITY)
        rows = [
            [_name_link(r, linked), _owner(r), _zone(r[Scores.ZONE]), _e(r.get(Scores.ACTION))]
            for r in stalled.head(limit).iter_rows(named=True)
        ]
        out.append(
            f"<h2 id='onboarding'>Onboarding stalled ({stalled.height})</h2>"
            + _table(["client", "owner", "zone", "action"], rows, owned=owned)
            + _first_shown(len(rows), stalled.height, "by priority")
        )
    if Scores.LAST_DATA_EXPORT in cols and Scores.rule("data_export") in cols:
        exported = scores.filter(pl.col(Scores.rule("data_export"))).sort(Scores.PRIORITY)
        rows = [
            [_name_link(r, linked), _owner(r), _zone(r[Scores.ZONE]), _e(r[Scores.LAST_DATA_EXPORT])]
            for r in exported.head(limit).iter_rows(named=True)
        ]
        out.append(
            f"<h2 id='exports'>Recent data exports ({exported.height})</h2>"
            + _table(["client", "owner", "zone", "last export"], rows, owned=owned)
            + _first_shown(len(rows), exported.height, "by priority")
        )
    return "\n".join(out)


def _owner_sections(
    scores: pl.DataFrame,
    linked: set[str],
    currency: str,
    limit: int,
    rule_text: Mapping[str, str] | None = None,
) -> str:
    """One block per owner: their red and yellow clients and their green ones with a renewal due (first
    ``limit``): the heading counts a renewal due, so its row is there to act on."""
    owner_col = Scores.OWNER if Scores.OWNER in scores.columns else Scores.ACTS
    if owner_col not in scores.columns or not _owned(scores):  # no account team: no "unassigned" block of all
        return ""
    blocks = []
    due = (
        pl.col(Scores.RENEWAL_DUE).fill_null(False) if Scores.RENEWAL_DUE in scores.columns else pl.lit(False)
    )
    for owner in sorted({str(o or "unassigned") for o in scores.get_column(owner_col).to_list()}):
        mine = scores.filter(pl.col(owner_col).fill_null("unassigned") == owner)
        risky = mine.filter(pl.col(Scores.ZONE).is_in(["red", "yellow"])).height
        watch = _by_zone_then_priority(mine.filter(pl.col(Scores.ZONE).is_in(["red", "yellow"]) | due))
        renewals = mine.filter(due).height
        rows = [
            [
                _name_link(r, linked),
                _zone(r[Scores.ZONE]),
                _e(_top_reason(r, rule_text)),
                _e(r.get(Scores.ACTION)),
                _e(r.get(Scores.ACTION_ROLE) or ""),
            ]
            for r in watch.head(limit).iter_rows(named=True)
        ]
        more = f" (first {limit} shown)" if watch.height > limit else ""
        blocks.append(
            f"<h3 id='owner-{_e(owner)}'>{_e(owner)}: {_count(mine.height, 'client')}, {risky} red or yellow, "
            f"{_count(renewals, 'renewal')} due{more}</h3>"
            + _table(["client", "zone", "top reason", "action", "role"], rows, "nothing to act on this week")
        )
    return "<h2 id='owners'>Your clients this week, by owner</h2>" + "".join(blocks)


def _portfolio_html(scores: pl.DataFrame, currency: str) -> str:
    """Portfolio section: total ARR and ARR at risk, the table by zone and the two charts; without any
    revenue in the data (every ARR 0), the clients by zone and their health, and that it ranks by risk."""
    total_arr = float(scores.get_column(Scores.ARR).sum())
    at_risk = float(scores.get_column(Scores.REVENUE_AT_RISK).sum())
    by_zone = _zone_totals(scores)
    if total_arr == 0 and scores.height:
        rows = "".join(
            f"<tr><td>{_zone(z)}</td><td class='num'>{n}</td></tr>" for z, n, _, _ in by_zone.iter_rows()
        )
        return f"""<h2 id="portfolio">Portfolio</h2>
<p>No revenue in the data (no payment or subscription term in the last year): ARR and ARR at risk are 0,
every client's value is unknown (tier C unless strategic), and the list is ranked by churn probability.</p>
<table><tr><th>zone</th><th>clients</th></tr>{rows}</table>
{_without_revenue_chart(scores, by_zone)}"""
    zone_chart, tier_chart = _zone_chart(by_zone), _tier_chart(scores)
    zone_rows = "".join(
        f"<tr><td>{_zone(z)}</td><td class='num'>{n}</td><td class='num'>{_money_c(a, currency)}</td>"
        f"<td class='num'>{_money_c(r, currency)}</td></tr>"
        for z, n, a, r in by_zone.iter_rows()
    )
    watched = float(scores.filter(pl.col(Scores.ZONE).is_in(["red", "yellow"])).get_column(Scores.ARR).sum())
    return f"""<h2 id="portfolio">Portfolio</h2>
<p>Total ARR {_money_c(total_arr, currency)}; ARR of the red and yellow clients {_money_c(watched, currency)}
({_pct(watched / total_arr if total_arr else 0.0)}); expected loss, the ARR at risk (probability × ARR
summed over every client) {_money_c(at_risk, currency)} ({_pct(at_risk / total_arr if total_arr else 0.0)}).</p>
{_trials_sentence(scores, currency)}
<table><tr><th>zone</th><th>clients</th><th>ARR</th><th>ARR at risk</th></tr>{zone_rows}</table>
{zone_chart}
{tier_chart}
{_segments_html(scores, currency)}"""


def _drift_html(
    drifted: Mapping[str, float],
    weight: Mapping[str, float],
    labels: Mapping[str, str],
    shown: int = _DRIFT_ROWS,
    why: str = "",
    expected: str = "",
) -> str:
    """The drifted-features warning ("" when nothing drifted): how much of the model they carry, and a
    table of the first ``shown`` in :func:`drift_order` with their PSI and their share of the model's
    gain (a bar on a fixed scale: full at a tenth of the gain, so small shares look small). ``expected``:
    the shifts expected by construction (:func:`churnml.scoring.assemble.expected_drift_note`), said apart,
    under the table or alone when nothing drifted."""
    apart = f"<p class='muted'>{_e(expected[0].upper() + expected[1:])}.</p>" if expected else ""
    if not drifted:
        return f"<h2 id='drift'>Drifted features (0)</h2>{apart}" if expected else ""
    order = drift_order(drifted, weight)
    rows = "".join(
        f"<tr><td>{_e(labels.get(k, k))}<br><span class='muted'>{_e(k)}</span></td>"
        f"<td class='num'>{drifted[k]:.2f}</td>"
        + (
            f"<td class='num'>{_e(gain_share_text(weight[k]))}</td>"
            f"<td><span class='bar' style='width:{min(_DRIFT_BAR_PX, _DRIFT_BAR_PX * weight[k] / 0.1):.0f}px'>"
            "</span></td>"
            if k in weight
            else "<td class='num'>-</td><td></td>"
        )
        + "</tr>"
        for k in order[:shown]
    )
    more = (
        f"<p class='muted'>… and {len(order) - shown} more that the model leans on less "
        "(manifest.json lists them all).</p>"
        if len(order) > shown
        else ""
    )
    carried = (
        f" Together they carry {_pct(sum(weight.get(k, 0.0) for k in order))} of the model's weight "
        "(its gain): the higher a feature's share, the more the scores and explanations that lean on it "
        "deserve a second look."
        if weight
        else " Explanations that lean on them deserve a second look."
    )
    return (
        f"<h2 id='drift'>Drifted features ({len(order)})</h2><div class='warn'>These features are "
        "distributed differently among the clients scored today than in the model's training data (PSI "
        f"above the drift line and above what chance gives for this many clients).{carried}"
        + (f" {_e(why[0].upper() + why[1:])}." if why else "")
        + "</div>"
        "<table><tr><th>feature</th><th>PSI</th><th colspan='2'>share of the model's weight</th></tr>"
        f"{rows}</table>{more}{apart}"
    )


def _movers_html(scores: pl.DataFrame, linked: set[str], movers: int, change_min: float) -> str:
    """New in red and the biggest probability moves since the previous list (``movers`` rows each; a
    client whose probability moved by less than ``change_min``, ``score.change_min``, is no mover: its
    ``why_changed`` is not told, and on a small portfolio most clients barely move: a 126-account list showed 19
    movers, 16 of them moved 0.1 to 0.9 points with an empty "why"). The new in red heading counts them all; a
    note under the table says when it shows only the first."""
    new_red = scores.filter(pl.col(Scores.NEW_IN_RED))
    new_shown = new_red.sort(Scores.PRIORITY).head(movers)
    moved = (
        scores.filter(pl.col(Scores.PROBABILITY_CHANGE).abs() >= change_min)
        .with_columns(pl.col(Scores.PROBABILITY_CHANGE).abs().alias("_abs"))
        .sort(["_abs", Scores.CLIENT_ID], descending=[True, False])
        .head(movers)
    )

    owned = _owned(scores)

    def mover_rows(frame: pl.DataFrame) -> str:
        return "".join(
            f"<tr><td>{_name_link(r, linked)}</td>{f'<td>{_owner(r)}</td>' if owned else ''}"
            f"<td>{_zone(r[Scores.ZONE])}</td><td>{_e(r[Scores.ZONE_CHANGE])}</td>"
            f"<td class='num'>{_prob(r[Scores.PROBABILITY])}</td>"
            f"<td class='num'>{_points(r[Scores.PROBABILITY_CHANGE])}</td>"
            f"<td>{_e(r[Scores.WHY_CHANGED] or '')}</td></tr>"
            for r in frame.iter_rows(named=True)
        )

    head = (
        f"<tr><th>client</th>{'<th>owner</th>' if owned else ''}<th>zone</th><th>zone change</th><th>probability</th>"
        "<th>change (points)</th><th>why</th></tr>"
    )
    biggest = (
        f"<table>{head}{mover_rows(moved)}</table>"
        if moved.height
        else f"<p class='muted'>No client's probability moved by {100 * change_min:.1f} points or more.</p>"
    )
    newly = (
        f"<table>{head}{mover_rows(new_shown)}</table>"
        + _first_shown(new_shown.height, new_red.height, "by priority")
        if new_red.height
        else "<p class='muted'>No client turned red since the previous list.</p>"
    )
    return f"""<h2 id="movers">New in red ({new_red.height})</h2>
{newly}
<h2>Biggest movers since the previous list ({moved.height})</h2>
{biggest}"""


# the column of :func:`left_since_list` that says why a client is off the list
LEFT_WHY = "why_left"


def _day(x: datetime | date) -> date:
    return x.date() if isinstance(x, datetime) else x


def departure_reasons(
    dataset: Dataset, ids: Iterable[str], as_of: date, label: LabelConfig
) -> dict[str, str]:
    """Why each client of ``ids`` is not on the list of ``as_of`` when the data says it, in words; one entry
    per client of ``ids``. First a ``churns`` record at or before ``as_of`` with no return since (the rule
    of the list's gone clients, :func:`churnml.scoring.assemble.unreturned_churns`): "churn recorded on
    2025-09-01, reason: price"; else by ``label.source`` (``auto`` resolved): under subscriptions (and mixed),
    its last term ended and no new one started within ``label.grace_days`` ("term ended 2025-09-01 and was not
    renewed within the 30-day grace"); under inactivity (and mixed, for the rest), no order or event for
    ``label.inactivity_days`` ("no order or activity for 90 days, the last on 2025-05-02"; the events of
    ``label.activity_events`` only, as the label reads them); else "no longer active"."""
    from churnml.labels import activity_times, customer_terms, resolved_label
    from churnml.scoring.assemble import unreturned_churns

    wanted = sorted(set(ids))
    why: dict[str, str] = {}
    if not wanted:
        return why
    cut = datetime(as_of.year, as_of.month, as_of.day)
    label = resolved_label(label, dataset.tables)
    in_ids = pl.col(Scores.CLIENT_ID).is_in(pl.Series(wanted, dtype=pl.String).implode())
    # the return rule of the label source, as the list's own gone clients read it
    gone = unreturned_churns(dataset.tables, as_of, label.grace_days, label.source).filter(in_ids)
    churns = dataset.get(Table.CHURNS)
    if gone.height and churns is not None:
        # the reason recorded with the client's last churn (the first of several on that instant)
        reason = pl.col(Churns.REASON) if Churns.REASON in churns.columns else pl.lit(None, pl.String)
        reasons = (
            churns.select(
                pl.col(Scores.CLIENT_ID).cast(pl.String),
                pl.col(Churns.CHURNED_AT).cast(pl.Datetime("us")),
                reason.cast(pl.String).alias("_reason"),
            )
            .join(gone, on=[Scores.CLIENT_ID, Churns.CHURNED_AT])
            .group_by(Scores.CLIENT_ID, Churns.CHURNED_AT)
            .agg(pl.col("_reason").drop_nulls().sort().first())
            .sort(Scores.CLIENT_ID)
        )
        for cid, when, said in reasons.select(Scores.CLIENT_ID, Churns.CHURNED_AT, "_reason").iter_rows():
            given = f"reason: {said.replace('_', ' ')}" if said else "no reason given"
            why[cid] = f"churn recorded on {_day(when)}, {given}"
    rest = pl.Series([c for c in wanted if c not in why], dtype=pl.String)
    terms = dataset.get(Table.SUBSCRIPTIONS)
    if label.source in ("subscriptions", "mixed") and terms is not None and rest.len():
        start, end = pl.col(Subscriptions.START_DATE), pl.col(Subscriptions.END_DATE)
        ended = (
            customer_terms(terms)
            .filter(pl.col(Scores.CLIENT_ID).is_in(rest.implode()) & (start < cut))
            .group_by(Scores.CLIENT_ID)
            .agg(end.max().cast(pl.Datetime("us")))
            .filter(end + pl.duration(days=label.grace_days) < cut)
        )
        for cid, when in ended.iter_rows():
            why[cid] = f"term ended {_day(when)} and was not renewed within the {label.grace_days}-day grace"
    rest = pl.Series([c for c in wanted if c not in why], dtype=pl.String)
    if label.source in ("inactivity", "mixed") and rest.len():
        seen = (
            # the activity the label reads (label.activity_events): an app open is no trip when only trips count
            activity_times(dataset, label.activity_events)
            .filter(pl.col(Scores.CLIENT_ID).is_in(rest.implode()) & (pl.col("_at") < cut))
            .group_by(Scores.CLIENT_ID)
            .agg(pl.col("_at").max())
            .filter(pl.col("_at") + pl.duration(days=label.inactivity_days) < cut)
        )
        for cid, when in seen.iter_rows():
            why[cid] = f"no order or activity for {label.inactivity_days} days, the last on {_day(when)}"
    return {c: why.get(c, "no longer active") for c in wanted}


def left_since_list(
    previous: pl.DataFrame, scores: pl.DataFrame, dataset: Dataset, as_of: date, label: LabelConfig
) -> pl.DataFrame:
    """The clients of the last list written (``previous``: its ``scores.parquet`` frame) that are not on this
    one (``scores``, the list of ``as_of``), most ARR first (then by id). One row per such client: ``client_id``,
    ``name``, ``owner``, ``acts``, ``zone``, ``churn_probability`` and ``arr`` as that list said them (null
    when it had no such column), and :data:`LEFT_WHY` (:func:`departure_reasons`)."""
    kept = (
        Scores.CLIENT_ID,
        Scores.NAME,
        Scores.OWNER,
        Scores.ACTS,
        Scores.ZONE,
        Scores.PROBABILITY,
        Scores.ARR,
    )
    types = {Scores.PROBABILITY: pl.Float64, Scores.ARR: pl.Float64}
    listed = pl.Series(scores.get_column(Scores.CLIENT_ID).cast(pl.String).unique())
    left = previous.select(
        pl.col(c).cast(types.get(c, pl.String))
        if c in previous.columns
        else pl.lit(None, types.get(c, pl.String)).alias(c)
        for c in kept
    ).filter(~pl.col(Scores.CLIENT_ID).is_in(listed.implode()))
    why = departure_reasons(dataset, left.get_column(Scores.CLIENT_ID).to_list(), as_of, label)
    return left.with_columns(
        pl.col(Scores.CLIENT_ID)
        .replace_strict(why, default="no longer active", return_dtype=pl.String)
        .alias(LEFT_WHY)
    ).sort([Scores.ARR, Scores.CLIENT_ID], descending=[True, False], nulls_last=True)


def _left_html(left: pl.DataFrame, since: date, currency: str, limit: int, note: str = "") -> str:
    """Who left since the list of ``since`` (:func:`left_since_list`): the count and their ARR, how many of
    them that list had in red or yellow (its hit rate, in words; ``note``: why that rate may mislead, e.g. a
    list scored with hindsight), and one row each (the first ``limit``); one line when nobody left."""
    if left.height == 0:
        return (
            f"<p id='left'><b>Left since the last list:</b> nobody; every client on the list of {since} is on "
            "this one.</p>"
        )
    zones = left.get_column(Scores.ZONE).to_list()
    red, yellow, green = zones.count("red"), zones.count("yellow"), zones.count("green")
    n, flagged = left.height, red + yellow
    arr = float(left.get_column(Scores.ARR).fill_null(0).sum())
    rows = [
        [
            _e(r[Scores.NAME] or r[Scores.CLIENT_ID])
            + (f" <span class='muted'>{_e(r[Scores.CLIENT_ID])}</span>" if r[Scores.NAME] else ""),
            _owner(r),
            _zone(r[Scores.ZONE]),
            _prob(r[Scores.PROBABILITY]),
            _money_c(r[Scores.ARR], currency),
            _e(r[LEFT_WHY]),
        ]
        for r in left.head(limit).iter_rows(named=True)
    ]
    others = [f"{green} {'was' if green == 1 else 'were'} green"] if green else []
    if n - flagged - green:
        others.append(f"{n - flagged - green} without a zone")
    rest = f"; {', '.join(others)}" if others else ""
    more = f" The first {limit} are shown." if n > limit else ""
    caveat = f" {_e(note[0].upper() + note[1:])}." if note else ""
    return (
        f"<h2 id='left'>Left since the last list ({n})</h2>"
        f"<p>{_count(n, 'client')} of the list of {since} {'is' if n == 1 else 'are'} not on this one (ARR "
        f"{_money_c(arr, currency)}), most ARR first. That list had {red} of them in red and {yellow} in yellow: "
        f"it flagged {flagged} of the {n} ({_pct(flagged / n)}){rest}.{caveat}{more}</p>"
        + _table(
            ["client", "owner", f"zone on {since}", "probability then", "ARR", "why off the list"],
            rows,
            owned=_owned(left),
        )
    )


def _health_series(history: pl.DataFrame) -> dict[str, tuple[list[date], list[float]]]:
    """Client id -> its snapshots (dates) and health on them, oldest first (the sparkline's points)."""
    hist = (
        history.sort(History.CLIENT_ID, History.SNAPSHOT)
        .group_by(History.CLIENT_ID, maintain_order=True)
        .agg(pl.col(History.SNAPSHOT).cast(pl.Date), pl.col(History.HEALTH))
    )
    return {
        cid: (days, health)
        for cid, days, health in hist.select(History.CLIENT_ID, History.SNAPSHOT, History.HEALTH).iter_rows()
    }


def report_html(
    scores: pl.DataFrame,
    history: pl.DataFrame,
    *,
    as_of: date,
    model_version: str,
    drifted: Mapping[str, float],
    drift_weight: Mapping[str, float] | None = None,
    feature_labels: Mapping[str, str] | None = None,
    model_note: str = "",
    data_note: str = "",
    model_change_note: str = "",
    stale_note: str = "",
    horizon_days: int | None = None,
    hindsight_note: str = "",
    zones_note: str = "",
    drift_note: str = "",
    expected_drift_note: str = "",
    rules_note: str = "",
    mailings_note: str = "",
    season_note: str = "",
    usage_dip_note: str = "",
    top_drivers: int,
    max_clients: int,
    movers: int = 20,
    change_min: float = 0.01,
    rule_text: Mapping[str, str] | None = None,
    currency: str = "",
    thresholds: Sequence[float] = (0.15, 0.35),
    owner_clients: int = 15,
    silent_days: int = 30,
    links: Sequence[tuple[str, str]] = (),
    zone_rule: str = "",
    left: pl.DataFrame | None = None,
    last_list: date | None = None,
    left_note: str = "",
) -> str:
    """The whole report as one HTML string (sections: module docstring).

    ``thresholds`` are the yellow and red probabilities (drawn in the sparklines as health lines);
    ``model_note`` says, above everything, that the model was not promoted, ``data_note`` that it learned
    from another dataset (:meth:`churnml.modeling.card.ModelCard.other_data_note`), ``model_change_note`` that
    another model wrote last week's list (the changes compare with last week re-scored), and ``hindsight_note`` that
    it learned outcomes of this list's horizon (a back-dated list; empty: nothing to say), and
    ``zones_note`` that most of the list is red, ``drift_note`` why features drifted (a model trained on
    young data), ``expected_drift_note`` the shifts expected by construction, told apart from the drift
    (:func:`churnml.scoring.assemble.expected_drift_note`), ``rules_note`` that a rule fires for most of the list
    (:func:`churnml.scoring.rules.crowded_rules_note`), ``mailings_note`` the mailings ``unanswered_outreach``
    skipped (:func:`churnml.scoring.rules.mailings_note`), ``season_note`` that the list looks into a time of
    year the model never learned (:meth:`churnml.modeling.card.ModelCard.unseen_season_note`), ``usage_dip_note`` that the whole portfolio's use fell
    (:func:`churnml.scoring.rules.portfolio_usage_note`);
    ``drift_weight`` is each drifted feature's share of the model's gain and ``feature_labels`` its plain
    name (both optional: the drift table then shows the column names and no weights); ``links`` are the
    other churnml pages, (label, relative href), in a bar above the title; ``zone_rule`` how the zones are set
    (:func:`churnml.scoring.playbook.zone_rule_text`), under the title; ``left`` the clients of the last list
    written, of ``last_list``, that are not on this one (:func:`left_since_list`): a section after the movers
    (none without both), ``left_note`` why that list's hit rate may mislead (it was scored with hindsight);
    ``change_min`` (``score.change_min``) the probability move that makes a mover, the one its ``why_changed``
    is told from."""
    rule_text = dict(rule_text or {})
    # the clients in full: the red and yellow ones (80 green cards of 100 buried them; module docstring, 8)
    shown = _by_zone_then_priority(scores.filter(pl.col(Scores.ZONE).is_in(["red", "yellow"]))).head(
        max_clients
    )
    linked = set(shown.get_column(Scores.CLIENT_ID).to_list())
    spark = _health_series(history)
    health_lines = [round(100 * (1 - t), 1) for t in thresholds]
    owned = _owned(scores)
    sections = "".join(
        _client_section(r, health, top_drivers, rule_text, currency, health_lines, days, owned)
        for r in shown.iter_rows(named=True)
        for days, health in [spark.get(r[Scores.CLIENT_ID], ([], []))]
    )
    n_watch = scores.filter(pl.col(Scores.ZONE).is_in(["red", "yellow"])).height
    show_left = left is not None and last_list is not None
    return scoped_headers(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{HEAD}<title>churnml weekly list {as_of}</title>
<style>{_STYLE}{LAYOUT_STYLE}</style></head><body>
{links_html(links)}
<h1>Weekly churn list — {as_of}</h1>
<p class="muted">model {_e(model_version)} · {scores.height} active clients ·
{f"churn probability within {horizon_days} days · " if horizon_days else ""}changes since {as_of - timedelta(weeks=1)} ·
health = 100 × (1 − churn probability){f" · amounts in {_e(currency)}" if currency else ""}</p>
{f"<p class='muted'>{_e(zone_rule)}.</p>" if zone_rule else ""}
<nav><a href="#portfolio">portfolio</a><a href="#watchlist">red and yellow</a><a href="#movers">movers</a>{'<a href="#left">left</a>' if show_left else ""}
{'<a href="#renewals">renewals</a>' if _with_terms(scores) else ""}{'<a href="#contractions">contractions</a>' if _with_terms(scores) and Scores.rule("contraction") in scores.columns else ""}{'<a href="#silent">silent</a>' if _observed(scores, Scores.DAYS_SILENT) else ""}{'<a href="#owners">by owner</a>' if _owned(scores) else ""}
<a href="#clients">clients</a></nav>
{f"<div class='warn'><b>The data.</b> {_e(stale_note[0].upper() + stale_note[1:])}.</div>" if stale_note else ""}
{f"<div class='warn'><b>Model from another dataset.</b> {_e(data_note[0].upper() + data_note[1:])}.</div>" if data_note else ""}
{f"<div class='warn'><b>Model not promoted.</b> {_e(model_note[0].upper() + model_note[1:])}.</div>" if model_note else ""}
{f"<div class='warn'><b>New model.</b> {_e(model_change_note[0].upper() + model_change_note[1:])}.</div>" if model_change_note else ""}
{f"<div class='warn'><b>Scored with hindsight.</b> {_e(hindsight_note[0].upper() + hindsight_note[1:])}.</div>" if hindsight_note else ""}
{f"<div class='warn'><b>The zones do not fit this data.</b> {_e(zones_note[0].upper() + zones_note[1:])}.</div>" if zones_note else ""}
{f"<div class='warn'><b>A rule fires for most of the list.</b> {_e(rules_note[0].upper() + rules_note[1:])}.</div>" if rules_note else ""}
{f"<div class='note'><b>Mailings are no outreach.</b> {_e(mailings_note[0].upper() + mailings_note[1:])}.</div>" if mailings_note else ""}
{f"<div class='note'><b>A season the model has not seen.</b> {_e(season_note[0].upper() + season_note[1:])}.</div>" if season_note else ""}
{f"<div class='warn'><b>The whole portfolio's use fell.</b> {_e(usage_dip_note[0].upper() + usage_dip_note[1:])}.</div>" if usage_dip_note else ""}
{_portfolio_html(scores, currency)}
<h2 id="watchlist">Every red and yellow client ({n_watch})</h2>
{_watchlist(scores, linked, currency, rule_text)}
{_movers_html(scores, linked, movers, change_min)}
{_left_html(left, last_list, currency, max(movers, 50), left_note) if show_left else ""}
{_crm_sections(scores, linked, currency, silent_days, max(movers, 50))}
{_owner_sections(scores, linked, currency, owner_clients, rule_text)}
<h2 id="clients">Red and yellow clients in full ({shown.height} of {n_watch}, by priority)</h2>
{sections}
{_drift_html(drifted, drift_weight or {}, feature_labels or {}, why=drift_note, expected=expected_drift_note)}
</body></html>
""")
