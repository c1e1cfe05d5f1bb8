"""Turn a plain transaction log (one row per line item) into a churnml contract dataset.

Input grain: one row per line item of an order / invoice, with at least a customer, a time and either
an amount or a quantity and a unit price; optionally an invoice number, a product and a segment.

Output (:func:`transactions_to_contract`):

- ``clients``: one row per customer; ``client_id``, ``created_at`` (first kept line of the customer:
  its first purchase), ``segment`` (the customer's most frequent segment value, when given).
- ``payments``: one row per order (per customer x invoice; without an invoice column, and for lines whose
  invoice cell is blank, counted in ``AdaptReport.blank_invoice_lines``, per customer x timestamp); ``amount`` =
  sum of its line amounts (refunds negative), ``paid_at`` = the invoice time, ``invoice_id`` (``<customer>-<time>``
  without one), ``status`` = ``refunded`` for an order whose amount is negative, else ``paid``.
- ``events``: one ``order`` event per purchase order, plus one event per purchase line item named after
  its product when a product column is given; no ``value`` (the contract's value is time in the
  product: a shop's explanations said "Time in the product: 4 minutes -> 2 minutes" of order amounts,
  which the payments already hold). Refund lines are only in payments (a return is not usage).

A line is a **refund** when its amount is negative (e.g. a negative quantity) or, with
``refund_prefix``, when its invoice starts with that prefix (its amount is then made negative). With
``--status``, a line whose status names a refund document (:data:`REFUND_VALUES`: ``refund``, ``return``,
``credit_note``, ``credit memo``, ... in any case, spaces and hyphens alike) is a refund too, and a sale whose
status says its money went back whole (:data:`REFUNDED_VALUES`: ``refunded``, ``returned``, ``credited``,
marked on the order itself) is read as the sale and its refund: a payment ``<invoice>-refund`` of the negated
amount at the sale's time (:func:`with_refunds_of_refunded_sales`). What was made of each status value is
counted (``AdaptReport.status_values``); a status column whose values leave out most lines (with the default
``completed`` values) or keep no sale is refused, naming its values (:func:`status_problem`).

Rows that cannot be used are counted per reason in the :class:`AdaptReport` (and, by the CLI,
printed and written to ``adapt_report.json``), never dropped silently: no customer, unparsable time,
unparsable or missing amount / quantity / price, zero quantity. Each skipped row is counted once,
under the first reason in that order.

With ``until``, the log is taken as it stood on that day: usable lines at or after it are left out and
counted apart (``AdaptReport.after_until``: they are not bad rows), so a long log gives the shorter
history a younger shop has; its repeated lines and currencies are those of the lines kept.

Preset ``online-retail`` (UCI Online Retail II): Customer ID, InvoiceDate, Quantity x Price, Invoice
(cancellations start with "C"), StockCode as product, Country as segment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from churnml.contract.schemas import CLIENT_ID, Clients, ColumnSpec, Events, Kind, Payments, Table
from churnml.contract.validation import (
    YEAR_FIRST,
    ContractError,
    currency_codes,
    currency_named,
    offset_datetime,
    wall_clock,
    zone_repairs,
)

__all__ = [
    "ORDER_EVENT",
    "ORDER_STATUS",
    "PRESETS",
    "SKIP_REASONS",
    "AdaptReport",
    "TransactionSpec",
    "config_snippet",
    "currencies_read",
    "currency_column",
    "decimal_comma_values",
    "guest_emails",
    "inactivity_churn_rate",
    "parsed_rates",
    "placeholder_customers",
    "preset_spec",
    "refunded_status",
    "refunds_made_up",
    "status_key",
    "status_problem",
    "status_value_text",
    "status_values",
    "transactions_to_contract",
    "with_refunds_of_refunded_sales",
]

ORDER_EVENT = "order"
UNKNOWN_PRODUCT = "unknown"
SOURCE = "transactions"

SKIP_REASONS = ("missing_customer", "unparsable_time", "unparsable_amount", "zero_quantity", "not_completed")
# --status: the values (any case) of a completed payment; every other value is skipped as not_completed
COMPLETED_VALUES = (
    "paid",
    "succeeded",
    "success",
    "successful",
    "completed",
    "complete",
    "settled",
    "captured",
    "ok",
    # money moved, then some or all of it went back: the sale is read; a refund line of its own (a negative
    # amount) is read whatever its status
    "refunded",
    "partially_refunded",
)
# a column of one of these names (any case) holding one of the failure values is a payment's status: read
# without --status, failed attempts would count as revenue (7,124 failed top-ups did)
STATUS_NAMES = (
    "status",
    "result",
    "state",
    "outcome",
    "payment_status",
    "financial_status",
    "transaction_status",
    "order_status",  # WooCommerce's and BigCommerce's "Order Status" (completed, cancelled, failed, refunded)
)
FAILURE_VALUES = (
    "failed",
    "failure",
    "declined",
    "error",
    "refused",
    "rejected",
    "cancelled",
    "canceled",
    "void",
    "voided",  # Shopify's financial status of a cancelled order whose payment was never captured
)
_TIME_REASON = "unparsable_time"
_AMOUNT_REASON = "unparsable_amount"

_STATUS = "_status"  # status_key of the --status value
_STATUS_AS_WRITTEN = "_status_as_written"
BLANK_STATUS = "(blank)"  # the key of a blank status cell in AdaptReport.status_values
# the key of a blank status cell on a later line of an order whose earlier line has one (a Shopify export writes
# an order's financial status on its first line only): read as that order's status
ORDER_STATUS = "(blank: its order's)"
_CUST, _TIME, _AMOUNT, _QTY, _INVOICE, _PRODUCT, _SEGMENT, _REFUND, _REASON = (
    "_customer",
    "_time",
    "_amount",
    "_qty",
    "_invoice",
    "_product",
    "_segment",
    "_refund",
    "_reason",
)
_CUST_AS_WRITTEN = "_customer_as_written"  # the id before e-mails are lower-cased (to count the merges)
_DT = pl.Datetime("us")


@dataclass(frozen=True)
class TransactionSpec:
    """Which input column means what. Give ``amount`` or both ``quantity`` and ``price``.

    ``time_format`` is a strftime pattern for text times (None: ISO 8601 layouts only, with or without a UTC
    offset or "Z"). ``timezone`` is ``data.timezone``: the zone whose wall-clock times the lines are read as.
    ``refund_prefix`` marks refund invoices by the start of their number (Online Retail II: "C").
    """

    customer: str
    time: str
    amount: str | None = None
    quantity: str | None = None
    price: str | None = None
    invoice: str | None = None
    product: str | None = None
    segment: str | None = None
    refund_prefix: str | None = None
    time_format: str | None = None
    decimal_comma: bool = False  # "1.234,56" numbers: dots group thousands, the comma marks decimals
    status: str | None = None  # a payment status column: lines not completed (COMPLETED_VALUES) are skipped
    completed: tuple[str, ...] = COMPLETED_VALUES
    # (currency, factor): amounts of the currency column's value (in any case) times the factor (--rate GBP=1.17:
    # into the log's other currency); lines of other currencies are read as they are
    rates: tuple[tuple[str, float], ...] = ()
    # data.timezone: times written with an offset (or stored zoned) become its wall-clock time, as the contract
    # reader takes them; the times this moved are counted (AdaptReport.zone_repairs)
    timezone: str = "UTC"

    def columns(self) -> dict[str, str]:
        """Role -> input column for every role that is set."""
        roles = ("customer", "time", "amount", "quantity", "price", "invoice", "product", "segment", "status")
        return {r: getattr(self, r) for r in roles if getattr(self, r) is not None}


PRESETS: dict[str, TransactionSpec] = {
    "online-retail": TransactionSpec(
        customer="Customer ID",
        time="InvoiceDate",
        quantity="Quantity",
        price="Price",
        invoice="Invoice",
        product="StockCode",
        segment="Country",
        refund_prefix="C",
    )
}


def preset_spec(name: str | None, **flags: str | None) -> TransactionSpec:
    """The spec of a preset (or none) with every given flag (not None) overriding it.

    Raises ``ValueError`` for an unknown preset, a ``timezone`` that is no IANA zone name, or when customer /
    time / amount are not all given.
    """
    given = {k: v for k, v in flags.items() if v is not None}
    if "timezone" in given:
        _checked_timezone(given["timezone"])
    if name is not None:
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; known presets: {', '.join(sorted(PRESETS))}")
        spec = PRESETS[name]
        if "amount" in given:  # an explicit amount replaces the preset's quantity x price
            spec = replace(spec, quantity=None, price=None)
        return replace(spec, **given)
    missing = [f"--{k}" for k in ("customer", "time") if k not in given]
    if missing:
        raise ValueError(f"missing {' and '.join(missing)} (or use --preset online-retail)")
    return TransactionSpec(**given)  # type: ignore[arg-type]


def _checked_timezone(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is an IANA time zone name (``data.timezone``'s check)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"--timezone {name!r} is not a time zone name: write an IANA name such as UTC, Europe/Paris or "
            "America/New_York"
        ) from None


@dataclass(frozen=True)
class AdaptReport:
    """What the adapter did: input rows, rows skipped per reason, what it produced."""

    input_rows: int
    skipped: dict[str, int]
    kept_lines: int
    refund_lines: int
    zero_amount_lines: int
    clients: int
    payments: int
    refund_payments: int
    events: int
    first_time: datetime | None
    last_time: datetime | None
    customers_with_several_segments: int
    spec: dict[str, Any] = field(default_factory=dict)
    until: date | None = None
    after_until: int = 0
    netted_refund_lines: int = 0  # refund lines in an order that is not a refund overall (Shopify-style)
    refunded_sale_lines: int = 0  # lines of sales whose --status says refunded: each gets its refund
    # skipped lines without a customer that hold an e-mail in another column (guest checkouts): {column: lines}
    guest_emails: dict[str, int] = field(default_factory=dict)
    # customers whose id reads as a placeholder for guests or unknown buyers: id -> orders
    placeholder_customers: dict[str, int] = field(default_factory=dict)
    # a currency column of the input with several values (amounts summed as they are): value -> lines kept
    currencies: dict[str, int] = field(default_factory=dict)
    # the only currency of the input's currency column (written into the config's score.currency)
    currency: str | None = None
    # e-mail ids written in several letter cases, merged into one lower-case customer: ids written - customers
    case_merged_ids: int = 0
    # lines kept that repeat an earlier kept line in every column (an export appended twice?): kept, counted
    duplicate_lines: int = 0
    # kept lines whose invoice cell is blank (a till sale, a manual order): one order per customer and time
    blank_invoice_lines: int = 0
    # with --status: per status value as written (blank: "(blank)"), the lines before --until (all without it)
    # kept as a sale, read as a refund, read as a sale and its refund (refunded whole), left out as not completed:
    # {value: {"sale": n, "refund": n, "sale_and_refund": n, "left_out": n}}; lines skipped for another reason
    # (no customer, time or amount) are not counted here
    status_values: dict[str, dict[str, int]] = field(default_factory=dict)
    # kept lines whose time reading in spec.timezone moved (written with another offset), under the contract
    # reader's names (validation.zone_repairs): {problem: lines}
    zone_repairs: dict[str, int] = field(default_factory=dict)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["skipped_total"] = self.skipped_total
        for key in ("first_time", "last_time", "until"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


# ----------------------------------------------------------------------------------------------
# coercion
# ----------------------------------------------------------------------------------------------
def _customer_id(col: str, fold_email_case: bool = True) -> pl.Expr:
    """Customer ids as text; ``12345.0`` (a float column) becomes ``12345``; blank becomes null; an id
    that is an e-mail address is lower-cased (``Anna@Shop.com`` and ``anna@shop.com`` are one buyer:
    shops match e-mails without case), counted by :func:`transactions_to_contract`."""
    text = pl.col(col).cast(pl.String).str.strip_chars()
    text = text.str.replace(r"^(-?\d+)\.0*$", "${1}")
    if fold_email_case:
        text = pl.when(text.str.contains("@", literal=True)).then(text.str.to_lowercase()).otherwise(text)
    return pl.when(text == "").then(None).otherwise(text)


# a number written with a decimal comma: "12,5", "12,50", "1.234,56", "0,125" (never a thousands comma: "1,234";
# no thousands group starts with a lone 0)
_DECIMAL_COMMA = r"^\s*-?(\d+,\d{1,2}|0,\d+|\d{1,3}(\.\d{3})+,\d+)\s*$"


def _examples(
    lines: pl.DataFrame, frame: pl.DataFrame, column: str | None, reason: str = _TIME_REASON
) -> str:
    """Up to three values of ``column`` from the input lines skipped for ``reason`` (in file order)."""
    if column is None:
        return "none"
    rows = lines.with_row_index("_i").filter(pl.col(_REASON) == reason).get_column("_i").head(3)
    return ", ".join(repr(v) for v in frame.get_column(column).cast(pl.String).gather(rows).to_list())


def decimal_comma_values(frame: pl.DataFrame, columns: list[str], limit: int = 3) -> dict[str, list[str]]:
    """Text number columns of ``frame`` (among ``columns``) holding values written with a decimal comma,
    with up to ``limit`` of them: read with the default (commas group thousands) "12,50" would be 1250."""
    found: dict[str, list[str]] = {}
    for col in columns:
        if frame.schema[col] != pl.String:
            continue
        hits = frame.get_column(col).filter(frame.get_column(col).str.contains(_DECIMAL_COMMA)).head(limit)
        if hits.len():
            found[col] = hits.to_list()
    return found


# Amounts written with a thousands separator only in groups of three digits after a first group that is no lone
# 0: "1.234,56" (decimal comma) or "1,234.56"; "25.64" or "0.125" under --decimal-comma (or "2,41" or "0,125"
# without it) is no number of that layout, and is left unparsed (counted) rather than read 100 or 1,000 times
# too large.
_COMMA_DECIMAL = r"^[-+]?([1-9]\d{0,2}(\.\d{3})+|\d+)(,\d+)?$"
_DOT_DECIMAL = r"^[-+]?([1-9]\d{0,2}(,\d{3})+|\d+)(\.\d+)?([eE][-+]?\d+)?$"


def _number(col: str, dtype: pl.DataType, decimal_comma: bool = False) -> pl.Expr:
    if dtype == pl.String:
        text = pl.col(col).str.strip_chars()
        if decimal_comma:  # "1.234,56": drop the thousands dots, the comma becomes the decimal point
            read = (
                text.str.replace_all(".", "", literal=True)
                .str.replace(",", ".", literal=True)
                .cast(pl.Float64, strict=False)
            )
            return pl.when(text.str.contains(_COMMA_DECIMAL)).then(read)
        read = text.str.replace_all(",", "").cast(pl.Float64, strict=False)
        return pl.when(text.str.contains(_DOT_DECIMAL)).then(read)
    if dtype.is_numeric() or dtype == pl.Boolean:
        return pl.col(col).cast(pl.Float64)
    return pl.col(col).cast(pl.String).cast(pl.Float64, strict=False)


def _time(col: str, dtype: pl.DataType, fmt: str | None, timezone: str = "UTC") -> pl.Expr:
    """Line times as naive wall-clock times of ``timezone`` (``data.timezone``), as the contract reader takes
    them: a time without an offset as already in it, one written with an offset (or "Z") or stored zoned as
    its wall-clock time there (:func:`~churnml.contract.validation.offset_datetime`)."""
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            return wall_clock(pl.col(col), timezone)
        return pl.col(col).cast(_DT)
    if dtype == pl.Date:
        return pl.col(col).cast(_DT)
    text = pl.col(col).cast(pl.String).str.strip_chars()
    if fmt is not None:
        aware = "%z" in fmt or "%#z" in fmt or "%:z" in fmt
        parsed = (
            offset_datetime(text, timezone, (fmt,))
            if aware
            else text.str.to_datetime(fmt, strict=False, time_unit="us")
        )
        # a layout that reads milliseconds as seconds ('%s') lands in year 55969: no time of an order log
        return pl.when(parsed.dt.year().is_between(1900, 2199)).then(parsed)
    # Only ISO layouts (with or without seconds, fraction, "T", UTC offset or "Z"): guessing would depend on
    # row order, and day-first vs month-first dates (01/02/2024) are ambiguous: they need --time-format. The
    # year is written in four digits: %Y reads the "24" of "24-03-07" as the year 24, an order of antiquity.
    tries = [text.str.to_datetime(f, strict=False, time_unit="us") for f in _ISO_TIMES]
    return pl.when(text.str.contains(YEAR_FIRST)).then(pl.coalesce(*tries, offset_datetime(text, timezone)))


# naive ISO layouts; those with an offset are the contract reader's (validation.offset_datetime)
_ISO_TIMES = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
)


def _text(col: str) -> pl.Expr:
    text = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _checked_columns(frame: pl.DataFrame, spec: TransactionSpec) -> None:
    if spec.amount is None and (spec.quantity is None or spec.price is None):
        raise ValueError("give --amount, or both --quantity and --price")
    missing = [(role, col) for role, col in spec.columns().items() if col not in frame.columns]
    if missing:
        role, col = missing[0]
        raise ContractError(
            SOURCE,
            f"column {col!r} (given for --{role}) is not in the input; its columns are {frame.columns}",
            column=col,
        )


def status_key(value: str) -> str:
    """A status value as compared: lower case, runs of spaces and hyphens as one ``_`` ("Credit Note",
    "credit-note" and "credit_note" are one value)."""
    return re.sub(r"[\s\-]+", "_", value.strip().lower())


def _status_key_expr(col: str) -> pl.Expr:
    """:func:`status_key` of a column's values (blank: null)."""
    return _text(col).str.to_lowercase().str.replace_all(r"[\s\-]+", "_")


def _not_completed(spec: TransactionSpec) -> pl.Expr:
    """True for a line whose ``--status`` value is not a completed payment (an empty one included), unless
    its amount is negative or its status says refund or refunded (:data:`REFUND_VALUES`,
    :data:`REFUNDED_VALUES`): a refund is read whatever ``completed`` says."""
    if not spec.status:
        return pl.lit(False)
    done = [status_key(v) for v in (*spec.completed, *REFUND_VALUES, *REFUNDED_VALUES)]
    return ~pl.col(_STATUS).is_in(done).fill_null(False) & ~(pl.col(_AMOUNT) < 0).fill_null(False)


def unread_status_column(
    frame: pl.DataFrame, spec: TransactionSpec, shown: int = 4, sales: pl.Series | None = None
) -> str | None:
    """Without ``--status``: the problem of a column named like a status (:data:`STATUS_NAMES`) that holds
    failure values (:data:`FAILURE_VALUES`), whose failed lines would be read as revenue, or (on the lines
    ``sales`` marks, those of a positive amount) refund or return values (:data:`REFUND_VALUES`,
    :data:`REFUNDED_VALUES`), whose returned sales would be read as sales; None otherwise."""
    if spec.status:
        return None
    refund_values = [status_key(v) for v in (*REFUND_VALUES, *REFUNDED_VALUES)]
    for col in frame.columns:
        name = "_".join(col.strip().lower().replace("-", " ").split())  # "Payment Status": payment_status
        if name not in STATUS_NAMES or not isinstance(
            frame.schema[col], pl.String | pl.Categorical | pl.Enum
        ):
            continue
        values = pl.col(col).cast(pl.String).str.strip_chars().alias("v")
        counts = frame.group_by(values).len().sort("len", descending=True)
        failed = counts.filter(pl.col("v").str.to_lowercase().is_in(list(FAILURE_VALUES)))
        seen = ", ".join(f"{v!r} ({n:,})" for v, n in counts.head(shown).iter_rows())
        if failed.height:
            return (
                f"column {col!r} looks like a payment status holding failures ({seen}): give --status {col} "
                f"(lines whose value is not a completed payment, {', '.join(COMPLETED_VALUES)}, are skipped and "
                "counted; --completed names other values), or those failed attempts would count as revenue"
            )
        on_sales = frame.filter(sales) if sales is not None else frame.clear()
        returned = on_sales.select(_status_key_expr(col).is_in(refund_values).fill_null(False).sum()).item()
        if returned:
            return (
                f"column {col!r} looks like a status holding returns or refunds ({seen}; {returned:,} sale lines "
                f"say so): give --status {col} (returns and credits, e.g. returned, credit_note, are read as "
                f"refunds; lines whose value is not a completed payment, {', '.join(COMPLETED_VALUES)}, are "
                "skipped and counted: --completed names the values of a sale, e.g. invoiced), or those returned "
                "sales would count as revenue"
            )
    return None


def _lines(frame: pl.DataFrame, spec: TransactionSpec) -> pl.DataFrame:
    """One row per input line with typed internal columns and ``_reason`` (null = kept)."""
    schema = frame.schema
    exprs = [
        _customer_id(spec.customer).alias(_CUST),
        _customer_id(spec.customer, fold_email_case=False).alias(_CUST_AS_WRITTEN),
        _time(spec.time, schema[spec.time], spec.time_format, spec.timezone).alias(_TIME),
    ]
    if spec.amount is not None:
        amount = _number(spec.amount, schema[spec.amount], spec.decimal_comma)
        exprs.append(_converted(amount, frame, spec).alias(_AMOUNT))
        exprs.append(pl.lit(None, pl.Float64).alias(_QTY))
    else:
        assert spec.quantity is not None and spec.price is not None
        qty = _number(spec.quantity, schema[spec.quantity], spec.decimal_comma)
        amount = qty * _number(spec.price, schema[spec.price], spec.decimal_comma)
        exprs.append(_converted(amount, frame, spec).alias(_AMOUNT))
        exprs.append(qty.alias(_QTY))
    exprs.append(
        _text(spec.invoice).alias(_INVOICE) if spec.invoice else pl.lit(None, pl.String).alias(_INVOICE)
    )
    exprs.append(
        _text(spec.product).fill_null(UNKNOWN_PRODUCT).alias(_PRODUCT)
        if spec.product
        else pl.lit(None, pl.String).alias(_PRODUCT)
    )
    exprs.append(
        _text(spec.segment).alias(_SEGMENT) if spec.segment else pl.lit(None, pl.String).alias(_SEGMENT)
    )
    if spec.status:
        exprs.append(_status_key_expr(spec.status).alias(_STATUS))
        exprs.append(_text(spec.status).fill_null(BLANK_STATUS).alias(_STATUS_AS_WRITTEN))
    lines = frame.select(exprs)
    if spec.status and spec.invoice:
        lines = lines.with_columns(_order_statuses())
    reason = (
        pl.when(pl.col(_CUST).is_null())
        .then(pl.lit(SKIP_REASONS[0]))
        .when(pl.col(_TIME).is_null())
        .then(pl.lit(SKIP_REASONS[1]))
        .when(pl.col(_AMOUNT).is_null() | ~pl.col(_AMOUNT).is_finite())  # NaN, or 1e309 read as infinite
        .then(pl.lit(SKIP_REASONS[2]))
        .when(pl.col(_QTY) == 0)
        .then(pl.lit(SKIP_REASONS[3]))
        .when(_not_completed(spec))
        .then(pl.lit(SKIP_REASONS[4]))
        .otherwise(None)
    )
    refund = pl.col(_AMOUNT) < 0
    if spec.refund_prefix and spec.invoice:
        refund = refund | pl.col(_INVOICE).str.starts_with(spec.refund_prefix).fill_null(False)
    if spec.status:  # a credit note or refund document written with a positive amount
        refund = refund | pl.col(_STATUS).is_in([status_key(v) for v in REFUND_VALUES]).fill_null(False)
    return lines.with_columns(reason.alias(_REASON), refund.alias(_REFUND)).with_columns(
        pl.when(pl.col(_REFUND)).then(-pl.col(_AMOUNT).abs()).otherwise(pl.col(_AMOUNT)).alias(_AMOUNT)
    )


# ----------------------------------------------------------------------------------------------
# the adapter
# ----------------------------------------------------------------------------------------------
# customer ids that read as "nobody": a guest checkout or an unknown buyer booked under one placeholder
_PLACEHOLDER_ID = (
    r"(?i)^\s*(0+|-1|-|guests?|guest[ _-]?(checkout|customer|user)?|unknown|anonymous|none|null|n/?a)\s*$"
)


def currency_column(frame: pl.DataFrame) -> str | None:
    """The input's currency column, named as the contract reader finds one
    (:func:`~churnml.contract.validation.currency_named`: ``Currency``, ``currency_code``, ``Currency Code``,
    ``ccy``...), None without one."""
    return currency_named(frame.columns)


def parsed_rates(texts: Sequence[str]) -> tuple[tuple[str, float], ...]:
    """``("GBP=1.17", "USD=0.92")`` as ``(("GBP", 1.17), ("USD", 0.92))``; ValueError naming a malformed one."""
    out = []
    for text in texts:
        code, sep, factor = text.partition("=")
        try:
            value = float(factor)
        except ValueError:
            value = float("nan")
        if not sep or not code.strip() or not value > 0:
            raise ValueError(
                f"--rate {text!r}: give CURRENCY=FACTOR, the factor that turns one unit of that currency into "
                "the log's main one (e.g. --rate GBP=1.17 for amounts in EUR)"
            )
        out.append((code.strip().upper(), value))
    return tuple(out)


def _converted(amount: pl.Expr, frame: pl.DataFrame, spec: TransactionSpec) -> pl.Expr:
    """``amount`` times the ``--rate`` factor of its line's currency (1 for the others, and without rates); a
    line whose currency cell is blank is in its order's currency (customer x invoice, from the order's line above
    it that has one: a Shopify export writes it on an order's first line only)."""
    col = currency_column(frame)
    if not spec.rates:
        return amount
    if col is None:
        raise ValueError(
            "--rate needs a column named currency in the input (the currency of each line; or currency_code, "
            "curr, ccy, order_currency, in any case)"
        )
    codes = currency_codes(pl.col(col))
    if spec.invoice:
        order = [_customer_id(spec.customer), _text(spec.invoice)]
        codes = pl.when(codes.is_null() & _text(spec.invoice).is_not_null()).then(
            codes.forward_fill().over(order)
        )
        codes = codes.otherwise(currency_codes(pl.col(col)))
    rates = {code.strip().upper(): factor for code, factor in spec.rates}
    factor = codes.replace_strict(rates, default=1.0, return_dtype=pl.Float64)
    return amount * factor


def currencies_read(kept_in: pl.DataFrame) -> dict[str, int]:
    """``{currency: lines}`` of the input's currency column (:func:`currency_column`; codes trimmed, in capitals:
    ``eur`` is ``EUR``) among ``kept_in``, the input rows of the lines the adapter kept (read, and before
    ``--until``), most first; ``{}`` without such a column. Lines whose cell is empty (a Shopify export writes it on an order's first line only) are not
    counted."""
    col = currency_column(kept_in)
    if col is None:
        return {}
    codes = kept_in.select(currency_codes(pl.col(col))).to_series().drop_nulls()
    counts = codes.value_counts(sort=True)
    return {str(v): int(n) for v, n in counts.iter_rows() if v}


def placeholder_customers(payments: pl.DataFrame) -> dict[str, int]:
    """Customers whose id reads as a placeholder ("0", "-1", "guest", "unknown", "N/A", ...) and who hold
    more orders than the median customer: ``{client_id: orders}``, most first. A shop's export often books
    every guest checkout under one such id, which would become one big customer."""
    if payments.height == 0:
        return {}
    counts = payments.group_by(Payments.CLIENT_ID).len()
    median = float(counts.get_column("len").median())  # type: ignore[arg-type]
    found = counts.filter(
        pl.col(Payments.CLIENT_ID).cast(pl.String).str.contains(_PLACEHOLDER_ID) & (pl.col("len") > median)
    ).sort("len", Payments.CLIENT_ID, descending=[True, False])
    return {str(c): int(n) for c, n in found.iter_rows()}


def guest_emails(frame: pl.DataFrame, lines: pl.DataFrame, spec: TransactionSpec) -> dict[str, int]:
    """Per column named like an e-mail (not ``--customer``) that holds one on the lines with a customer too,
    how many lines skipped for a missing customer hold one: guest checkouts an e-mail would tie to their
    customer (a column only guests fill would lose every registered customer's line)."""
    missing = lines.get_column(_REASON) == SKIP_REASONS[0]
    if not missing.any():
        return {}

    def with_email(rows: pl.DataFrame, col: str) -> int:
        text = rows.get_column(col).cast(pl.String).str.strip_chars()
        return int(text.str.contains("@").fill_null(False).sum())

    skipped, known = frame.filter(missing), frame.filter(~missing)
    counts = {
        col: with_email(skipped, col)
        for col in frame.columns
        if "mail" in col.lower() and col != spec.customer and with_email(known, col) >= 0.95 * known.height
    }
    return {col: n for col, n in counts.items() if n}


def _netted_refund_lines(kept: pl.DataFrame, spec: TransactionSpec) -> int:
    """Refund lines of orders whose total is not negative: netted into a paid order (a refund booked under
    the original order id), so no refund payment shows them."""
    total = pl.col(_AMOUNT).sum().over(_order_key(spec))
    return int(kept.select((pl.col(_REFUND) & (total >= 0)).sum()).item())


_RETURNED = "_returned"
# --status values (status_key) of a sale whose money went back whole: the sale, then its refund (a shop's or an
# ERP's export marks a return on the sale's own lines; no negative line of its own records it)
REFUNDED_VALUES = ("refunded", "fully_refunded", "returned", "credited")
# --status values (status_key) of a line that is itself a refund document: read as a refund (made negative when
# written positive), whatever --completed says
REFUND_VALUES = (
    "refund",
    "return",
    "credit",
    "credit_note",
    "creditnote",
    "credit_memo",
    "creditmemo",
    "return_order",
)


def refunded_status(kept: pl.DataFrame, spec: TransactionSpec) -> pl.Expr:
    """Sale lines (positive, not refunds) whose ``--status`` says they were refunded whole
    (:data:`REFUNDED_VALUES`)."""
    if not spec.status or _STATUS not in kept.columns:
        return pl.lit(False)
    refunded = pl.col(_STATUS).is_in([status_key(v) for v in REFUNDED_VALUES]).fill_null(False)
    return refunded & (pl.col(_AMOUNT) > 0) & ~pl.col(_REFUND)


def refunds_made_up(kept: pl.DataFrame, spec: TransactionSpec) -> pl.Series:
    """Per line of ``kept``: a sale refunded whole (:func:`refunded_status`) whose refund the log does not book
    itself, so it gets one. The log books it when the sale's order (:func:`_order_key`) holds refund lines (a
    refund under the order's id), or when the customer has a refund order of the negated amount of the sale's
    refunded lines (WooCommerce's refund row under another id). A credit note of other goods is no refund of
    the sale: an ERP's returned sales beside its credit notes are each refunded."""
    refunded = kept.select(refunded_status(kept, spec).alias("_r")).to_series()
    if not refunded.any():
        return refunded
    key = _order_key(spec)
    names = [e.meta.output_name() for e in key]
    keyed = kept.with_row_index(_ROW).with_columns(key).with_columns(refunded.alias("_r"))
    sales = keyed.filter(pl.col("_r")).group_by(names).agg(pl.col(_AMOUNT).sum().round(2).alias(_TOTAL))
    refund_lines = keyed.filter(pl.col(_REFUND))
    refunds = refund_lines.group_by(names).agg((-pl.col(_AMOUNT).sum()).round(2).alias(_TOTAL))
    unbooked = sales.join(refunds.select(names), on=names, how="anti", nulls_equal=True).join(
        refunds.select(_CUST, _TOTAL).unique(), on=[_CUST, _TOTAL], how="anti"
    )
    rows = keyed.filter(pl.col("_r")).join(unbooked.select(names), on=names, how="semi", nulls_equal=True)
    return keyed.get_column(_ROW).is_in(rows.get_column(_ROW).implode()).alias("_r")


def with_refunds_of_refunded_sales(kept: pl.DataFrame, spec: TransactionSpec) -> pl.DataFrame:
    """``kept`` and, for each line of a sale refunded whole whose refund the log does not book itself
    (:func:`refunds_made_up`), its refund: the same line with the amount negated, flagged ``_returned`` (its
    own payment, ``<invoice>-refund``, at the sale's time: the export does not say when the money went back).
    The sale stays an order (the customer bought); the refund nets its revenue and counts as one (5% of a
    shop's orders were returns read as sales)."""
    out = kept.with_columns(pl.lit(False).alias(_RETURNED))
    returned = out.filter(refunds_made_up(kept, spec)).with_columns(
        (-pl.col(_AMOUNT)).alias(_AMOUNT), pl.lit(True).alias(_REFUND), pl.lit(True).alias(_RETURNED)
    )
    return pl.concat([out, returned]) if returned.height else out


_ROW, _TOTAL = "_row", "_total"
# what was made of a --status value's lines (AdaptReport.status_values), and how the console says it
STATUS_FATES = ("sale", "refund", "sale_and_refund", "left_out")
_FATE_WORDS = {
    "sale": ("kept as a sale", "kept as sales"),
    "refund": ("read as a refund", "read as refunds"),
    "sale_and_refund": ("read as a sale and its refund", "read as sales and their refunds"),
    "left_out": ("left out (not a completed payment)", "left out (not completed payments)"),
}
_FATE_SHORT = {
    "sale": "a sale",
    "refund": "a refund",
    "sale_and_refund": "a sale and its refund",
    "left_out": "left out",
}


def status_values(
    lines: pl.DataFrame, kept: pl.DataFrame, made_up: pl.Series, before: pl.Series
) -> dict[str, dict[str, int]]:
    """Per ``--status`` value as written (:data:`BLANK_STATUS` for a blank cell), most lines first: of the
    ``kept`` lines, those kept as a sale, read as a refund, read as a sale and its refund (``made_up``: their
    refund made up, :func:`refunds_made_up`), and of the ``lines`` ``before`` --until, those left out as not
    completed. Empty without a status column."""
    if _STATUS_AS_WRITTEN not in kept.columns:
        return {}
    fate = (
        pl.when(pl.col(_REFUND))
        .then(pl.lit("refund"))
        .when(made_up)
        .then(pl.lit("sale_and_refund"))
        .otherwise(pl.lit("sale"))
    )
    left_out = lines.filter(before & (pl.col(_REASON) == SKIP_REASONS[4])).select(
        _STATUS_AS_WRITTEN, pl.lit("left_out").alias("_fate")
    )
    both = pl.concat([kept.select(_STATUS_AS_WRITTEN, fate.alias("_fate")), left_out])
    counts = both.group_by(_STATUS_AS_WRITTEN, "_fate").len()
    out: dict[str, dict[str, int]] = {}
    for value, fate_, n in counts.sort(_STATUS_AS_WRITTEN).iter_rows():
        out.setdefault(value, dict.fromkeys(STATUS_FATES, 0))[fate_] = n
    return dict(sorted(out.items(), key=lambda kv: -sum(kv[1].values())))


def status_value_text(value: str, counts: dict[str, int]) -> str:
    """What was made of one status value's lines, in words: "status 'returned': 2 lines read as sales and their
    refunds, 1 line read as a refund"."""
    parts = [
        f"{n:,} {'line' if n == 1 else 'lines'} {_FATE_WORDS[f][n != 1]}"
        for f in STATUS_FATES
        if (n := counts.get(f, 0))
    ]
    return f"status {value!r}: " + ", ".join(parts)


def _status_seen(values: dict[str, dict[str, int]], shown: int = 8) -> str:
    """Up to ``shown`` status values with their lines and fates, compactly: "'invoiced' (4 lines: left out),
    'credit_note' (1: a refund)"."""
    texts = []
    for i, (value, counts) in enumerate(values.items()):
        if i == shown:
            texts.append(f"and {len(values) - shown:,} more values")
            break
        fates = [(f, n) for f in STATUS_FATES if (n := counts[f])]
        total = sum(n for _, n in fates)
        unit = " lines" if i == 0 else ""
        if len(fates) == 1:
            texts.append(f"{value!r} ({total:,}{unit}: {_FATE_SHORT[fates[0][0]]})")
        else:
            texts.append(
                f"{value!r} ({total:,}{unit}: " + ", ".join(f"{n:,} {_FATE_SHORT[f]}" for f, n in fates) + ")"
            )
    return ", ".join(texts)


def status_problem(spec: TransactionSpec, values: dict[str, dict[str, int]]) -> str | None:
    """The problem of a ``--status`` column whose values (:func:`status_values`) keep no sale, or leave out most
    lines as not completed while ``completed`` is the default (:data:`COMPLETED_VALUES`: an ERP's
    ``invoiced`` is none of them; once ``--completed`` names this log's values, a log of mostly failed attempts
    is read as it says); None otherwise."""
    if not spec.status or not values:
        return None
    total = sum(sum(c.values()) for c in values.values())
    left = sum(c["left_out"] for c in values.values())
    sales = sum(c["sale"] + c["sale_and_refund"] for c in values.values())
    top = next(
        (
            v
            for v, c in sorted(values.items(), key=lambda kv: -kv[1]["left_out"])
            if c["left_out"] and v not in (BLANK_STATUS, ORDER_STATUS)  # no value to name
        ),
        None,
    )
    example = f" (e.g. --completed {top})" if top else ""
    how = (
        f"a completed sale is one of {', '.join(spec.completed)} (any case): name this log's values of a sale with "
        f"--completed{example}; returns and credits (returned, refunded, credited, credit_note, refund, ...) "
        "are read as refunds whatever --completed says"
    )
    if sales == 0:
        return f"--status {spec.status!r} keeps no sale: {_status_seen(values)}. {how[0].upper()}{how[1:]}"
    if left * 2 > total and tuple(spec.completed) == COMPLETED_VALUES:
        return (
            f"--status {spec.status!r} leaves out {left:,} of {total:,} lines as not a completed payment: "
            f"{_status_seen(values)}. {how[0].upper()}{how[1:]}"
        )
    return None


_BLANK_INVOICE_TIME = "_blank_invoice_time"


def _order_statuses() -> list[pl.Expr]:
    """``_STATUS`` and ``_STATUS_AS_WRITTEN`` with a blank status on a line of an order (customer x invoice, not
    blank) taken from the order's line above it that has one, written :data:`ORDER_STATUS`: order-level fields
    on an order's first line only (a Shopify export's financial status) are the status of each of its lines, whose
    items were left out as not completed (or the log refused) without it."""
    order = [pl.col(_CUST), pl.col(_INVOICE)]
    inherited = pl.col(_STATUS).forward_fill().over(order)
    taken = pl.col(_STATUS).is_null() & pl.col(_INVOICE).is_not_null() & inherited.is_not_null()
    return [
        pl.when(taken).then(inherited).otherwise(pl.col(_STATUS)).alias(_STATUS),
        pl.when(taken)
        .then(pl.lit(ORDER_STATUS))
        .otherwise(pl.col(_STATUS_AS_WRITTEN))
        .alias(_STATUS_AS_WRITTEN),
    ]


def _order_key(spec: TransactionSpec) -> list[pl.Expr]:
    """What makes one order of a line: its customer and invoice, or its customer and time without an invoice
    column, and for a line whose invoice cell is blank (a till sale, a manual order) too: blank invoices
    months apart are separate orders, not one."""
    if not spec.invoice:
        return [pl.col(_CUST), pl.col(_TIME)]
    blank_time = pl.when(pl.col(_INVOICE).is_null()).then(pl.col(_TIME)).alias(_BLANK_INVOICE_TIME)
    return [pl.col(_CUST), pl.col(_INVOICE), blank_time]


def _payments_of(booked: pl.DataFrame, spec: TransactionSpec) -> pl.DataFrame:
    """One payment per order of ``booked`` (:func:`_order_key`: customer x invoice, or x timestamp without an
    invoice column or for a blank invoice cell; the kept lines with the refunds of sales refunded whole,
    :func:`with_refunds_of_refunded_sales`, which are payments of their own): the first line's time, the summed
    amount, ``refunded`` when negative. An order without an invoice is named ``<customer>-<time>``."""
    orders = (
        booked.group_by([*_order_key(spec), pl.col(_RETURNED)])
        .agg(
            pl.col(_TIME).min().alias(Payments.PAID_AT),
            pl.col(_AMOUNT).sum().alias(Payments.AMOUNT),
        )
        .with_columns(
            pl.when(pl.col(Payments.AMOUNT) < 0)
            .then(pl.lit("refunded"))
            .otherwise(pl.lit("paid"))
            .alias(Payments.STATUS)
        )
    )
    generated = pl.concat_str(
        pl.col(_CUST), pl.lit("-"), pl.col(Payments.PAID_AT).dt.strftime("%Y%m%d%H%M%S")
    )
    invoice_id = pl.coalesce(pl.col(_INVOICE), generated) if spec.invoice else generated
    invoice_id = (
        pl.when(pl.col(_RETURNED)).then(pl.concat_str(invoice_id, pl.lit("-refund"))).otherwise(invoice_id)
    )
    return orders.select(
        pl.col(_CUST).alias(Payments.CLIENT_ID),
        pl.col(Payments.AMOUNT).round(2),
        pl.col(Payments.PAID_AT),
        invoice_id.alias(Payments.INVOICE_ID),
        pl.col(Payments.STATUS),
    ).sort(Payments.CLIENT_ID, Payments.PAID_AT, Payments.INVOICE_ID)


def _events_of(kept: pl.DataFrame, payments: pl.DataFrame, spec: TransactionSpec) -> pl.DataFrame:
    """One ``order`` event per purchase, plus one event per product line when the spec names products."""
    purchase_orders = payments.filter(pl.col(Payments.AMOUNT) >= 0).select(
        pl.col(Payments.CLIENT_ID).alias(Events.CLIENT_ID),
        pl.col(Payments.PAID_AT).alias(Events.TS),
        pl.lit(ORDER_EVENT).alias(Events.EVENT),
    )
    parts = [purchase_orders]
    if spec.product:
        parts.append(
            kept.filter(~pl.col(_REFUND)).select(
                pl.col(_CUST).alias(Events.CLIENT_ID),
                pl.col(_TIME).alias(Events.TS),
                pl.col(_PRODUCT).alias(Events.EVENT),
            )
        )
    return pl.concat(parts).sort(Events.CLIENT_ID, Events.TS, Events.EVENT)


def _clients_of(kept: pl.DataFrame, spec: TransactionSpec) -> tuple[pl.DataFrame, int]:
    """One client per customer (created at its first line; segment: its most frequent one), and how
    many customers had several segments."""
    per_client = kept.group_by(_CUST).agg(pl.col(_TIME).min().alias(Clients.CREATED_AT))
    several = 0
    if spec.segment:
        seg_counts = kept.filter(pl.col(_SEGMENT).is_not_null()).group_by(_CUST, _SEGMENT).len()
        several = seg_counts.group_by(_CUST).len().filter(pl.col("len") > 1).height
        top = (
            seg_counts.sort([_CUST, "len", _SEGMENT], descending=[False, True, False])
            .group_by(_CUST, maintain_order=True)
            .first()
            .select(_CUST, pl.col(_SEGMENT).alias(Clients.SEGMENT))
        )
        per_client = per_client.join(top, on=_CUST, how="left")
    return per_client.rename({_CUST: Clients.CLIENT_ID}).sort(CLIENT_ID), several


def skipped_lines(lines: pl.DataFrame) -> dict[str, int]:
    """Lines skipped per reason of :data:`SKIP_REASONS` (0 for a reason no line has)."""
    skipped = dict.fromkeys(SKIP_REASONS, 0)
    for reason, n in lines.group_by(_REASON).len().filter(pl.col(_REASON).is_not_null()).iter_rows():
        skipped[reason] = n
    return skipped


def unreadable_log_problem(
    frame: pl.DataFrame, lines: pl.DataFrame, spec: TransactionSpec, skipped: dict[str, int]
) -> str | None:
    """What to give when every line that has a customer fails on its time (or, after that, on its
    amount): the layout of the times, plain numbers; None when some line reads."""
    with_customer = frame.height - skipped[SKIP_REASONS[0]]
    if with_customer and skipped[_TIME_REASON] == with_customer:
        return (
            f"no line has a readable time in column {spec.time!r} (e.g. {_examples(lines, frame, spec.time)}): "
            "give its layout with --time-format, e.g. '%d/%m/%Y' or '%m/%d/%Y %H:%M'"
        )
    if with_customer and skipped[_AMOUNT_REASON] == with_customer - skipped[_TIME_REASON]:
        col = spec.amount or spec.price
        return (
            f"no line has a readable amount in column {col!r} (e.g. {_examples(lines, frame, col, _AMOUNT_REASON)}): "
            "amounts must be plain numbers; remove currency symbols and units (one currency per file), "
            "and give --decimal-comma for '12,50'"
        )
    return None


def lines_before(lines: pl.DataFrame, until: date | None) -> pl.Series:
    """Per line, whether it is in the log as it stood on ``until`` (strictly before that day; every line
    without it, a line without a readable time in none)."""
    if until is None:
        return pl.Series([True] * lines.height, dtype=pl.Boolean)
    return (
        lines.select(pl.col(_TIME) < datetime(until.year, until.month, until.day))
        .to_series()
        .fill_null(False)
    )


def transactions_to_contract(
    frame: pl.DataFrame, spec: TransactionSpec, until: date | None = None
) -> tuple[dict[Table, pl.DataFrame], AdaptReport]:
    """Contract tables (clients, payments, events) from a transaction log, and what was skipped.

    See the module docstring for the grain and columns of each table; ``until``: only lines strictly
    before that day (the rest counted in ``after_until``). Raises
    :class:`~churnml.contract.validation.ContractError` when a named column is missing and ``ValueError`` when
    the spec gives neither an amount nor quantity and price.
    """
    _checked_columns(frame, spec)
    numbers = [c for c in (spec.amount, spec.quantity, spec.price) if c is not None]
    if not spec.decimal_comma and (commas := decimal_comma_values(frame, numbers)):
        col, examples = next(iter(commas.items()))
        raise ValueError(
            f"column {col!r} holds numbers written with a decimal comma (e.g. {', '.join(map(repr, examples))}): "
            f"give --decimal-comma (read with commas as thousands separators, {examples[0]!r} would be "
            f"{float(examples[0].strip().replace(',', '')):g})"
        )
    lines = _lines(frame, spec)
    sales = lines.select((pl.col(_AMOUNT) > 0).fill_null(False)).to_series()
    if (problem := unread_status_column(frame, spec, sales=sales)) is not None:
        raise ValueError(problem)
    skipped = skipped_lines(lines)
    if (problem := unreadable_log_problem(frame, lines, spec, skipped)) is not None:
        raise ValueError(problem)
    usable = lines.filter(pl.col(_REASON).is_null()).drop(_REASON)
    # the lines kept: read, and before --until; the input rows they come from (their repeats, currencies, zones)
    before = lines_before(lines, until)
    kept_mask = lines.select(pl.col(_REASON).is_null()).to_series() & before
    kept = lines.filter(kept_mask).drop(_REASON)
    kept_in = frame.filter(kept_mask)
    values = status_values(lines, kept, refunds_made_up(kept, spec), before)
    if (problem := status_problem(spec, values)) is not None:
        raise ValueError(problem)
    booked = with_refunds_of_refunded_sales(kept, spec)
    payments = _payments_of(booked, spec)
    events = _events_of(kept, payments, spec)
    clients, several = _clients_of(kept, spec)
    read_in = currencies_read(kept_in)
    converted = {code.strip().upper() for code, _ in spec.rates}
    currencies = {c: n for c, n in read_in.items() if c not in converted}  # the ones summed as they are
    report = AdaptReport(
        case_merged_ids=int(
            kept.select(pl.col(_CUST_AS_WRITTEN).n_unique() - pl.col(_CUST).n_unique()).item()
        ),
        duplicate_lines=kept_in.height - kept_in.unique().height,
        blank_invoice_lines=int(kept.get_column(_INVOICE).is_null().sum()) if spec.invoice else 0,
        zone_repairs=zone_repairs(
            ColumnSpec(spec.time, Kind.DATETIME), kept_in.get_column(spec.time), spec.timezone
        ),
        status_values=values,
        input_rows=frame.height,
        skipped=skipped,
        kept_lines=kept.height,
        refund_lines=int(kept.get_column(_REFUND).sum()),
        guest_emails=guest_emails(frame, lines, spec),
        refunded_sale_lines=int(booked.get_column(_RETURNED).sum()),
        netted_refund_lines=_netted_refund_lines(kept, spec),
        placeholder_customers=placeholder_customers(payments),
        currencies=currencies if len(currencies) > 1 else {},  # several: summed as they are (a warning)
        currency=next(iter(currencies)) if len(currencies) == 1 else None,
        zero_amount_lines=int((kept.get_column(_AMOUNT) == 0).sum()),
        clients=clients.height,
        payments=payments.height,
        refund_payments=int((payments.get_column(Payments.STATUS) == "refunded").sum()),
        events=events.height,
        first_time=kept.get_column(_TIME).min(),  # type: ignore[arg-type]
        last_time=kept.get_column(_TIME).max(),  # type: ignore[arg-type]
        customers_with_several_segments=several,
        spec={k: v for k, v in asdict(spec).items() if v is not None},
        until=until,
        after_until=usable.height - kept.height,
    )
    tables = {Table.CLIENTS: clients, Table.PAYMENTS: payments, Table.EVENTS: events}
    return tables, report


def inactivity_churn_rate(
    payments: pl.DataFrame, snapshots: list[date], inactivity_days: int, horizon_days: int, least: int = 30
) -> float | None:
    """The share of customers active at the ``snapshots`` (an order in the ``inactivity_days`` before)
    that place no order in the ``horizon_days`` from it, pooled over the snapshots; None when they hold
    fewer than ``least`` active customers (too few to measure a rate). The label of ``label.source: inactivity`` on a shop's orders (a refund is no
    order), measured so that the zones can sit above this log's usual risk."""
    orders = payments.filter(pl.col(Payments.AMOUNT) >= 0).select(Payments.CLIENT_ID, Payments.PAID_AT)
    active = churned = 0
    for snap in snapshots:
        s = datetime(snap.year, snap.month, snap.day)
        before = orders.filter(
            (pl.col(Payments.PAID_AT) < s) & (pl.col(Payments.PAID_AT) >= s - timedelta(days=inactivity_days))
        ).get_column(Payments.CLIENT_ID)
        after = orders.filter(
            (pl.col(Payments.PAID_AT) >= s) & (pl.col(Payments.PAID_AT) < s + timedelta(days=horizon_days))
        ).get_column(Payments.CLIENT_ID)
        kept = before.unique()
        active += kept.len()
        churned += int((~kept.is_in(after.unique().implode())).sum())
    return churned / active if active >= max(least, 1) else None


_SHOP_PLAYBOOK = """playbooks:                     # a shop's words: no account owner to escalate to, messages and offers
  escalation_role: ""
  actions:
    red:    {A: "Personal message from the shop with an offer on what they usually buy", B: "E-mail with an offer on what they usually buy", C: "Reminder e-mail with a small offer"}
    yellow: {A: "Personal e-mail: what is new in what they buy", B: "E-mail: new arrivals in what they buy", C: "Newsletter with a reminder"}
    green:  {A: "Thank-you note; early access to new products", B: "Keep the usual newsletter", C: "Nothing beyond the usual newsletter"}
  urgency:
    red:    {A: "This week", B: "This week", C: "This week"}
    yellow: {A: "Within two weeks", B: "Within two weeks", C: "This month"}
    green:  {A: "When convenient", B: "When convenient", C: "When convenient"}
  rules:
    no_activity: {role: sales, task: "Win-back e-mail: what is new since their last order, with an offer"}
    health_drop: {role: sales, task: "E-mail about what they used to buy: ask what they need next"}
    complaints:  {role: service, task: "Apologise for what went wrong and make it right: a replacement, refund or voucher"}
    low_ratings: {role: service, task: "Ask what went wrong after the low ratings, and make it right"}
  families:                    # a shop's "usage" is its orders: no key features to train anyone on
    usage:    {role: sales, task: "Re-engage: an offer on what they usually buy; ask what they need next"}
    payments: {role: sales, task: "They spend less: an offer on what they usually buy"}
    communication: {role: sales, task: "E-mail something useful to them: what is new in what they buy"}
    support:  {role: service, task: "Follow up on their tickets: make it right"}
    account:  {role: sales, task: "Look at what changed for them (their record, any signal such as an unsubscribe) before sending anything"}
winback: {cost_per_attempt: 5}   # a win-back e-mail or voucher, not an account manager's day (the default 500 lets nearly every shop customer go)
"""


def config_snippet(
    inactivity_days: int = 90,
    horizon_days: int = 90,
    *,
    backtest_horizon: int | None = None,
    churn_rate: float | None = None,
    currency: str | None = None,
    log_days: int | None = None,
    timezone: str = "UTC",
) -> str:
    """A partial churnml.yaml for non-contractual (retail) data: inactivity churn, orders as logins, the
    zones set from the log's ``churn_rate`` (:func:`churnml.scoring.playbook.zone_thresholds`; 0.5 / 0.7 when unknown), the
    early-warning rule under the inactivity that ends a customer (at the same length it could never fire:
    a customer silent that long is no longer on the list), a shop's playbook and its ``currency``.
    ``backtest_horizon`` below ``horizon_days``: the log (``log_days`` long) is too short for an
    out-of-time estimate with the horizon asked, and the comment names the longest that gives one now
    (the question stays the one asked: a shorter horizon is another question, the user's choice). A ``timezone``
    other than UTC (``--timezone``, the zone the log's times were read in) is written as ``data.timezone``, so
    that the tables added beside the adapted ones are read in it too."""
    horizon_comment = "# label = no order within this many days after the snapshot"
    if backtest_horizon is not None and backtest_horizon < horizon_days:
        horizon_comment += (
            f"; this log's {log_days} days give an out-of-time estimate only with {backtest_horizon} or less "
            "(a shorter question): until the log grows, train says there is none yet"
        )
    if churn_rate is not None:
        from churnml.scoring.playbook import zone_thresholds  # the zones' one rule, as score suggests them

        yellow, red = zone_thresholds(churn_rate)
        zones = (
            f"  zones:                       # {churn_rate:.0%} of this log's active customers place no order in the "
            f"horizon:\n"
            f"    yellow: {yellow:<4}             # twice their odds of leaving\n"
            f"    red: {red:<4}                # four times"
        )
    else:
        zones = (
            "  zones:                       # the log is too short or small to measure its churn rate: in a shop 30-60%\n"
            "    yellow: 0.5                # of active customers place no order in 90 days, so the zones sit\n"
            "    red: 0.7                   # above that (set them at about 2x and 4x the odds of your rate)"
        )
    money = (
        f"\n  currency: {currency}                # the log's currency column"
        if currency
        else "\n  # currency: USD              # no single currency in the log: the list says EUR unless you set yours"
    )
    rule_days = max(7, inactivity_days // 2)
    zone = (
        f"data:\n  timezone: {timezone}        # the log's times were read as wall-clock times of this zone (--timezone)\n"
        if timezone != "UTC"
        else ""
    )
    return f"""\
# churnml config for a dataset made by `churnml adapt transactions` (a retail transaction log).
# Use it with: churnml <command> --data <this folder> --config <this folder>/churnml.yaml
{zone}label:
  source: inactivity           # no contract: an active customer churns when it places no order in the horizon
  inactivity_days: {inactivity_days}
  horizon_days: {horizon_days}            {horizon_comment}
features:
  login_events: [{ORDER_EVENT}]         # an order is this data's "visit"; other events are products bought
  login_noun: order            # and the explanations say so ("Last order 56 days ago")
  key_events: []               # no product features to watch in a shop's log
  export_events: []
rules:
  no_activity_days: {rule_days}        # early warning: no order for this long (under label.inactivity_days, or it never fires)
  enabled: [no_activity, complaints, low_ratings]   # the last two fire once a tickets table is added; the others need terms, product events or B2B signals
score:
{zones}{money}
{_SHOP_PLAYBOOK}"""
