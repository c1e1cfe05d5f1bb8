"""Small self-contained HTML pages (win-back, post-mortem, churn rates): tables and inline SVG plots.

Pure functions returning strings; the caller writes the file. No external assets: a page opens the same
from a mail attachment as from the scores folder.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from datetime import date, datetime

import polars as pl

__all__ = ["figure_svg", "page_html", "table_html"]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;
color:#222;line-height:1.4}
h1{margin-bottom:0}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em;display:block;overflow-x:auto}td,th{border:1px solid #ddd;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f5f5f5}td.num{text-align:right}
.muted{color:#777}.note{background:#f1f8e9;border-left:4px solid #7cb342;padding:.5em 1em}
.warn{background:#fff3e0;border-left:4px solid #ef6c00;padding:.5em 1em}
nav a{margin-right:1em}
"""


def figure_svg(fig) -> str:  # fig: matplotlib.figure.Figure
    """The figure as an inline ``<svg>`` element: no date metadata and a fixed id salt, so the same
    figure gives the same text (matplotlib draws random element ids otherwise)."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    with plt.rc_context({"svg.hashsalt": "churnml"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _cell(value: object) -> tuple[str, bool]:
    if value is None:
        return "", False
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, float):
        if value != 0 and abs(value) < 0.0005:  # a p-value of 0.0001 is no "0.000"
            return ("<0.001" if value > 0 else ">-0.001"), True
        whole = value.is_integer() or abs(value) >= 10
        text = f"{value:,.0f}" if whole else f"{value:,.3f}".rstrip("0").rstrip(".")  # 6.5, not 6.500
        return ("0" if text == "-0" else text), True
    if isinstance(value, int):
        return f"{value:,}", True
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d"), False
    if isinstance(value, date):
        return value.isoformat(), False
    return str(value), False


def table_html(frame: pl.DataFrame, max_rows: int | None = None, percent: Sequence[str] = ()) -> str:
    """An HTML table of ``frame`` (first ``max_rows`` rows); ``percent`` columns are shown as percentages."""
    shown = frame if max_rows is None else frame.head(max_rows)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in shown.columns)
    rows = []
    for row in shown.iter_rows(named=True):
        cells = []
        for name, value in row.items():
            if name in percent and isinstance(value, int | float) and not isinstance(value, bool):
                text, num = f"{100 * value:.1f}%", True
            else:
                text, num = _cell(value)
            cells.append(
                f'<td class="num">{html.escape(text)}</td>' if num else f"<td>{html.escape(text)}</td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (
        f'<p class="muted">{frame.height - shown.height:,} more rows in the CSV.</p>'
        if shown.height < frame.height
        else ""
    )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{more}"


def page_html(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """A page: ``sections`` are (anchor, heading, inner HTML), listed in a nav bar."""
    nav = "".join(f'<a href="#{html.escape(a)}">{html.escape(h)}</a>' for a, h, _ in sections)
    body = "".join(f'<h2 id="{html.escape(a)}">{html.escape(h)}</h2>{inner}' for a, h, inner in sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="muted">{html.escape(subtitle)}</p>
<nav>{nav}</nav>
{body}
</body></html>
"""
