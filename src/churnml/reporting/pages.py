"""Small self-contained HTML pages (win-back, post-mortem, churn rates): tables and inline SVG plots.

Pure functions returning strings; the caller writes the file. No external assets: a page opens the same
from a mail attachment as from the scores folder.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from datetime import date, datetime

import polars as pl

__all__ = [
    "HEAD",
    "LAYOUT_STYLE",
    "figure_svg",
    "links_html",
    "page_html",
    "scoped_headers",
    "table_html",
]

# Shared by every page (report.html too): phones (tables scroll sideways inside the page, charts shrink
# to the screen) and print (every column on a portrait A4 page, no row split across pages, no links bar)
LAYOUT_STYLE = """
svg,img{max-width:100%;height:auto}
@media (max-width:700px){
body{margin:1em auto;padding:0 .8em}
table{display:block;overflow-x:auto;max-width:100%}
nav a{display:inline-block;margin:.15em 1em .15em 0}
.client{padding:.5em .6em}
}
@media print{
body{margin:0;max-width:none;padding:0;font-size:10pt}
nav,.pages{display:none}
table{display:table;overflow:visible;table-layout:auto;width:auto;max-width:100%;font-size:7.5pt}
td,th{white-space:normal;overflow-wrap:break-word;padding:.1em .3em}.zone{white-space:nowrap}
tr,svg,.warn,.note{break-inside:avoid}
h2,h3{break-after:avoid}
details::details-content{content-visibility:visible;display:contents}
details>summary{list-style:none}
}
"""

# The <head> lines every page shares: the phone's width, and collapsed <details> opened while printing
# (CSS cannot open them; closed again after)
HEAD = (
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<script>(function(){var shut=[];"
    'addEventListener("beforeprint",function(){document.querySelectorAll("details:not([open])")'
    ".forEach(function(d){d.open=true;shut.push(d)})});"
    'addEventListener("afterprint",function(){shut.forEach(function(d){d.open=false});shut=[]})'
    "})()</script>"
)

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;
color:#222;line-height:1.4}
h1{margin-bottom:0}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em;display:block;overflow-x:auto}td,th{border:1px solid #ddd;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f5f5f5}td.num{text-align:right}
.muted{color:#666}.note{background:#f1f8e9;border-left:4px solid #7cb342;padding:.5em 1em}
.warn{background:#fff3e0;border-left:4px solid #ef6c00;padding:.5em 1em}
nav a{margin-right:1em}.pages{font-size:.9em;margin-bottom:.5em}
"""


def _figure_label(fig) -> str:
    """What a figure shows, for a screen reader: its title and its panels' titles ("chart" without any)."""
    titles = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) is not None else []
    titles += [ax.get_title() for ax in fig.axes]
    shown = [t.strip() for t in titles if t and t.strip()]
    return "chart: " + "; ".join(shown) if shown else "chart"


def figure_svg(fig, label: str | None = None) -> str:  # fig: matplotlib.figure.Figure
    """The figure as an inline ``<svg>`` element: no date metadata and a fixed id salt, so the same
    figure gives the same text (matplotlib draws random element ids otherwise). It is an image to a
    screen reader (``role="img"``) named ``label``, by default the figure's and its panels' titles."""
    import matplotlib.pyplot as plt

    name = html.escape(label if label is not None else _figure_label(fig))
    buffer = io.StringIO()
    with plt.rc_context({"svg.hashsalt": "churnml"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    return f'<svg role="img" aria-label="{name}"' + text[len("<svg") :]


def scoped_headers(page: str) -> str:
    """``page`` with ``scope="col"`` on every header cell that has no scope: the pages' tables head
    their columns in the first row (a row header says ``scope="row"`` itself)."""
    return re.sub(r"<th(?=[\s>])(?![^>]*\bscope=)", '<th scope="col"', page)


def links_html(links: Sequence[tuple[str, str]]) -> str:
    """The bar of links to the other churnml pages, (label, relative href) each; "" without any."""
    if not links:
        return ""
    shown = "".join(f'<a href="{html.escape(href)}">{html.escape(label)}</a>' for label, href in links)
    return f'<nav class="pages" aria-label="other churnml pages">{shown}</nav>'


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
    # a long column name may wrap after its underscores (a narrow screen, a printed page)
    head = "".join(f"<th>{html.escape(c).replace('_', '_<wbr>')}</th>" for c in shown.columns)
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
    # the head row in <thead>: a printed table repeats it on every page
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def page_html(
    title: str,
    subtitle: str,
    sections: Sequence[tuple[str, str, str]],
    links: Sequence[tuple[str, str]] = (),
) -> str:
    """A page: ``sections`` are (anchor, heading, inner HTML), listed in a nav bar; ``links`` are the
    other churnml pages, (label, relative href), in a bar above the title."""
    nav = "".join(f'<a href="#{html.escape(a)}">{html.escape(h)}</a>' for a, h, _ in sections)
    body = "".join(f'<h2 id="{html.escape(a)}">{html.escape(h)}</h2>{inner}' for a, h, inner in sections)
    return scoped_headers(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{HEAD}<title>{html.escape(title)}</title>
<style>{_STYLE}{LAYOUT_STYLE}</style></head><body>
{links_html(links)}
<h1>{html.escape(title)}</h1>
<p class="muted">{html.escape(subtitle)}</p>
<nav>{nav}</nav>
{body}
</body></html>
""")
