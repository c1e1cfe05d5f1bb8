"""The data contract (tables, columns, types, allowed values; README "The data contract"), as code.

Every table name, column name, type and allowed value is defined here once; the rest of the package
imports these constants instead of retyping strings. ``io.py`` uses :data:`CONTRACT` to coerce and
validate the tables of a dataset folder; ``validation.py`` holds the checks themselves.

Grain of each table:

- ``clients``: one row per client (``client_id`` unique).
- ``events``: one row per product-usage event (login, report_view, data_export, ...), or, with ``count``,
  per ``count`` occurrences of one (a warehouse's daily aggregate: one row per client x day x event kind).
- ``subscriptions``: one row per subscription term (a renewal is a new row).
- ``payments``: one row per invoice or order (refunds are negative amounts).
- ``communications``: one row per touch (email, call, meeting, chat).
- ``tickets``: one row per support ticket.
- ``signals``: one row per account signal (champion_left, layoffs, ...).
- ``churns``: one row per churn event (a client who came back and left again has two).
- ``interventions``: one row per action of the team towards a client (a win-back call, an offer, a
  retention meeting), so that its effect can be measured (``campaign`` / ``variant`` for A/B tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl

__all__ = [
    "ACTIVITY_TABLES",
    "CLIENT_ID",
    "COLUMN_SYNONYMS",
    "CONTRACT",
    "LABEL",
    "POLARS_TYPE",
    "REQUIRED_TABLES",
    "SNAPSHOT",
    "TABLE_COLUMN_SYNONYMS",
    "Churns",
    "Clients",
    "ColumnSpec",
    "Communications",
    "Events",
    "Interventions",
    "Kind",
    "Payments",
    "Signals",
    "Subscriptions",
    "Table",
    "TableSchema",
    "Tickets",
]


class Table(StrEnum):
    """Names of the contract's tables (also their file stems: ``clients.parquet``)."""

    CLIENTS = "clients"
    EVENTS = "events"
    SUBSCRIPTIONS = "subscriptions"
    PAYMENTS = "payments"
    COMMUNICATIONS = "communications"
    TICKETS = "tickets"
    SIGNALS = "signals"
    CHURNS = "churns"
    INTERVENTIONS = "interventions"


class Kind(StrEnum):
    """Logical column types; ``io.py`` coerces every column to the Polars type of its kind."""

    STR = "str"
    DATETIME = "datetime"
    FLOAT = "float"
    INT = "int"
    BOOL = "bool"


# The Polars type every column of a kind is coerced to (see validation.coerced_table).
POLARS_TYPE: dict[Kind, pl.DataType] = {
    Kind.STR: pl.String(),
    Kind.DATETIME: pl.Datetime("us"),
    Kind.FLOAT: pl.Float64(),
    Kind.INT: pl.Int64(),
    Kind.BOOL: pl.Boolean(),
}

CLIENT_ID = "client_id"
# Columns of the derived tables (spine, labels, features, scores): one row per client x snapshot.
SNAPSHOT = "snapshot"
LABEL = "label"


class Clients:
    CLIENT_ID = CLIENT_ID
    CREATED_AT = "created_at"
    NAME = "name"
    SEGMENT = "segment"
    INDUSTRY = "industry"
    REGION = "region"
    OWNER = "owner"
    STRATEGIC = "strategic"
    MARGIN = "margin"


class Events:
    CLIENT_ID = CLIENT_ID
    TS = "ts"
    EVENT = "event"
    USER_ID = "user_id"
    VALUE = "value"
    # how many occurrences of the event the row stands for (a pre-aggregated log: one row per client x day x
    # kind); empty or absent = 1. Summed by the usage features that count events; a row is activity whatever
    # its count (days since the last event, the labels, the scoring window's marks read rows)
    COUNT = "count"


class Subscriptions:
    CLIENT_ID = CLIENT_ID
    START_DATE = "start_date"
    END_DATE = "end_date"
    MRR = "mrr"
    QUANTITY = "quantity"
    PRODUCT = "product"
    IS_ADDON = "is_addon"
    DISCOUNT = "discount"


class Payments:
    CLIENT_ID = CLIENT_ID
    AMOUNT = "amount"
    PAID_AT = "paid_at"
    INVOICE_ID = "invoice_id"
    ISSUED_AT = "issued_at"
    DUE_AT = "due_at"
    STATUS = "status"

    STATUSES = ("paid", "failed", "refunded", "open")
    # statuses of a row that is no order whatever its paid_at and amount: ``failed`` is an attempt that moved
    # no money (a declined card, a dunning retry of a payment-retry log, dated at the attempt); ``refunded`` is
    # money going back to the client (the value counts it negative whatever its sign), which undoes a purchase
    # recorded in a row of its own: neither says that the client is still buying (labels.orders)
    NOT_ORDER = ("failed", "refunded")


class Communications:
    CLIENT_ID = CLIENT_ID
    TS = "ts"
    CHANNEL = "channel"
    DIRECTION = "direction"
    OUTCOME = "outcome"
    RESPONSE_HOURS = "response_hours"
    WORDS = "words"
    SENTIMENT = "sentiment"

    CHANNELS = ("email", "call", "meeting", "chat", "other")
    DIRECTIONS = ("in", "out")
    OUTCOMES = ("replied", "no_reply", "held", "rescheduled", "cancelled", "no_show")


class Tickets:
    CLIENT_ID = CLIENT_ID
    OPENED_AT = "opened_at"
    CLOSED_AT = "closed_at"
    KIND = "kind"
    PRIORITY = "priority"
    CSAT = "csat"

    KINDS = ("question", "bug", "complaint", "discount_request", "cancellation_request")


class Signals:
    CLIENT_ID = CLIENT_ID
    TS = "ts"
    SIGNAL = "signal"
    NOTE = "note"

    # Known kinds get their own features; other values are accepted and counted as "other".
    KNOWN = (
        "champion_left",
        "layoffs",
        "budget_cut",
        "strategy_change",
        "vendor_review",
        "competitor_trial",
    )
    # a notice withdrawn: the cancellation_request tickets opened at or before it no longer stand
    # (churnml.scoring.crm.cancellation_notices, the support_cancellation_requests_<w>d features)
    CANCELLATION_WITHDRAWN = "cancellation_withdrawn"
    # known kinds that are no warning: read where they matter (above), no account feature of their own, not
    # counted among the account warning signals nor as "other" (a withdrawn notice raised the risk as "other")
    NOT_WARNINGS = (CANCELLATION_WITHDRAWN,)


class Churns:
    CLIENT_ID = CLIENT_ID
    CHURNED_AT = "churned_at"
    REASON = "reason"

    # payment_failed: involuntary churn (the card declined, dunning ran out), won back by a payment update;
    # closed: the client no longer exists (a person deceased, a company closed or dissolved): never contacted;
    # completed: the client reached what it came for (a course finished, an exam passed, a project delivered): a
    # happy churn, won back by what comes next (the next course or level), never by a save or price offer
    REASONS = (
        "price",
        "service",
        "forgot",
        "lost_interest",
        "moved",
        "competitor",
        "payment_failed",
        "closed",
        "completed",
        "other",
    )


class Interventions:
    CLIENT_ID = CLIENT_ID
    TS = "ts"
    KIND = "kind"
    CAMPAIGN = "campaign"
    VARIANT = "variant"
    OWNER = "owner"
    OUTCOME = "outcome"

    KINDS = ("call", "email", "offer", "meeting", "training", "other")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the contract.

    ``allowed`` restricts a string column to a set of values; ``low``/``high`` bound a numeric
    column (inclusive). ``nullable`` says whether empty cells are allowed. ``repeated`` marks a string
    column of the big activity log whose values repeat over millions of rows (event names, user ids):
    after validation it is held as ``pl.Categorical`` (the same strings, a 4-byte code per row instead
    of a 16-byte string view), see :func:`churnml.contract.validation.compact_table`.
    """

    name: str
    kind: Kind
    required: bool = True
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    low: float | None = None
    high: float | None = None
    repeated: bool = False


@dataclass(frozen=True)
class TableSchema:
    """One table of the contract.

    ``unique`` lists the columns that must be unique together (empty: duplicates allowed);
    ``ordered`` lists (earlier, later) column pairs where the later one may not come before the
    earlier one; ``time_columns`` are checked against the as-of date (no future timestamps).
    """

    name: Table
    columns: tuple[ColumnSpec, ...]
    unique: tuple[str, ...] = ()
    ordered: tuple[tuple[str, str], ...] = ()
    time_columns: tuple[str, ...] = field(default=())
    # time columns whose values may lie after the as-of date: planned, not recorded (a term booked to
    # start later, such as a renewal signed ahead); features and labels read them only once they passed
    scheduled: tuple[str, ...] = field(default=())

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if not c.required)

    def column(self, name: str) -> ColumnSpec:
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no column {name!r}")


def _c(name: str, kind: Kind, **kw) -> ColumnSpec:
    return ColumnSpec(name, kind, required=True, **kw)


def _o(name: str, kind: Kind, **kw) -> ColumnSpec:
    return ColumnSpec(name, kind, required=False, nullable=True, **kw)


CONTRACT: dict[Table, TableSchema] = {
    Table.CLIENTS: TableSchema(
        Table.CLIENTS,
        (
            _c(Clients.CLIENT_ID, Kind.STR),
            _c(Clients.CREATED_AT, Kind.DATETIME),
            _o(Clients.NAME, Kind.STR),
            _o(Clients.SEGMENT, Kind.STR),
            _o(Clients.INDUSTRY, Kind.STR),
            _o(Clients.REGION, Kind.STR),
            _o(Clients.OWNER, Kind.STR),
            _o(Clients.STRATEGIC, Kind.INT, low=0, high=3),
            _o(Clients.MARGIN, Kind.FLOAT, low=0, high=1),
        ),
        unique=(Clients.CLIENT_ID,),
        time_columns=(Clients.CREATED_AT,),
    ),
    Table.EVENTS: TableSchema(
        Table.EVENTS,
        (
            _c(Events.CLIENT_ID, Kind.STR),
            _c(Events.TS, Kind.DATETIME),
            _c(Events.EVENT, Kind.STR, repeated=True),
            _o(Events.USER_ID, Kind.STR, repeated=True),
            _o(Events.VALUE, Kind.FLOAT, low=0),
            _o(Events.COUNT, Kind.INT, low=0),
        ),
        time_columns=(Events.TS,),
    ),
    Table.SUBSCRIPTIONS: TableSchema(
        Table.SUBSCRIPTIONS,
        (
            _c(Subscriptions.CLIENT_ID, Kind.STR),
            _c(Subscriptions.START_DATE, Kind.DATETIME),
            _c(Subscriptions.END_DATE, Kind.DATETIME),
            _c(Subscriptions.MRR, Kind.FLOAT, low=0),
            _o(Subscriptions.QUANTITY, Kind.FLOAT, low=0),
            _o(Subscriptions.PRODUCT, Kind.STR),
            _o(Subscriptions.IS_ADDON, Kind.BOOL),
            _o(Subscriptions.DISCOUNT, Kind.FLOAT, low=0, high=1),
        ),
        ordered=((Subscriptions.START_DATE, Subscriptions.END_DATE),),
        # end_date is the scheduled end of the term, known at its start: it may lie in the future, and so
        # may the start of a term booked ahead (a renewal signed before the running term ends).
        time_columns=(Subscriptions.START_DATE,),
        scheduled=(Subscriptions.START_DATE,),
    ),
    Table.PAYMENTS: TableSchema(
        Table.PAYMENTS,
        (
            _c(Payments.CLIENT_ID, Kind.STR),
            _c(Payments.AMOUNT, Kind.FLOAT),
            ColumnSpec(Payments.PAID_AT, Kind.DATETIME, required=True, nullable=True),
            _o(Payments.INVOICE_ID, Kind.STR),
            _o(Payments.ISSUED_AT, Kind.DATETIME),
            _o(Payments.DUE_AT, Kind.DATETIME),
            _o(Payments.STATUS, Kind.STR, allowed=Payments.STATUSES),
        ),
        ordered=((Payments.ISSUED_AT, Payments.DUE_AT),),
        time_columns=(Payments.PAID_AT, Payments.ISSUED_AT),
    ),
    Table.COMMUNICATIONS: TableSchema(
        Table.COMMUNICATIONS,
        (
            _c(Communications.CLIENT_ID, Kind.STR),
            _c(Communications.TS, Kind.DATETIME),
            _c(Communications.CHANNEL, Kind.STR, allowed=Communications.CHANNELS),
            _c(Communications.DIRECTION, Kind.STR, allowed=Communications.DIRECTIONS),
            _o(Communications.OUTCOME, Kind.STR, allowed=Communications.OUTCOMES),
            _o(Communications.RESPONSE_HOURS, Kind.FLOAT, low=0),
            _o(Communications.WORDS, Kind.FLOAT, low=0),
            _o(Communications.SENTIMENT, Kind.FLOAT, low=-1, high=1),
        ),
        time_columns=(Communications.TS,),
    ),
    Table.TICKETS: TableSchema(
        Table.TICKETS,
        (
            _c(Tickets.CLIENT_ID, Kind.STR),
            _c(Tickets.OPENED_AT, Kind.DATETIME),
            _o(Tickets.CLOSED_AT, Kind.DATETIME),
            _o(Tickets.KIND, Kind.STR, allowed=Tickets.KINDS),
            _o(Tickets.PRIORITY, Kind.STR),
            _o(Tickets.CSAT, Kind.FLOAT, low=1, high=5),
        ),
        ordered=((Tickets.OPENED_AT, Tickets.CLOSED_AT),),
        time_columns=(Tickets.OPENED_AT,),
    ),
    Table.SIGNALS: TableSchema(
        Table.SIGNALS,
        (
            _c(Signals.CLIENT_ID, Kind.STR),
            _c(Signals.TS, Kind.DATETIME),
            _c(Signals.SIGNAL, Kind.STR),
            _o(Signals.NOTE, Kind.STR),
        ),
        time_columns=(Signals.TS,),
    ),
    Table.CHURNS: TableSchema(
        Table.CHURNS,
        (
            _c(Churns.CLIENT_ID, Kind.STR),
            _c(Churns.CHURNED_AT, Kind.DATETIME),
            _o(Churns.REASON, Kind.STR, allowed=Churns.REASONS),
        ),
        unique=(Churns.CLIENT_ID, Churns.CHURNED_AT),
        time_columns=(Churns.CHURNED_AT,),
    ),
    Table.INTERVENTIONS: TableSchema(
        Table.INTERVENTIONS,
        (
            _c(Interventions.CLIENT_ID, Kind.STR),
            _c(Interventions.TS, Kind.DATETIME),
            _c(Interventions.KIND, Kind.STR, allowed=Interventions.KINDS),
            _o(Interventions.CAMPAIGN, Kind.STR),
            _o(Interventions.VARIANT, Kind.STR),
            _o(Interventions.OWNER, Kind.STR),
            _o(Interventions.OUTCOME, Kind.STR),
        ),
        time_columns=(Interventions.TS,),
    ),
}

REQUIRED_TABLES: tuple[Table, ...] = (Table.CLIENTS,)
# At least one of these must be present: without activity there is nothing to learn from.
ACTIVITY_TABLES: tuple[Table, ...] = (
    Table.EVENTS,
    Table.SUBSCRIPTIONS,
    Table.PAYMENTS,
    Table.COMMUNICATIONS,
    Table.TICKETS,
)

# Names a CRM, billing or analytics export gives the contract's key columns ("Account ID", "CustomerID",
# "Signup Date"), per contract column, written normalised (lower case, every run of other characters than letters
# and digits one "_", a capital after a small letter a new word: "CustomerID" is customer_id). A missing required
# column names the one found that is such a name (churnml.contract.validation.missing_columns_problem: "'Account
# ID' looks like 'client_id': rename it"); nothing is renamed by itself. Each holds in every table that has the
# column and lacks it; TABLE_COLUMN_SYNONYMS adds the names that mean it only in one table.
COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    CLIENT_ID: (
        "account_id",
        "customer_id",
        "customer",
        "account",
        "client",
        "cust_id",
        "customer_number",
        "account_number",
        "client_number",
        "company_id",
        "organization_id",
        "org_id",
        "subscriber_id",
        "member_id",
    ),
    Clients.CREATED_AT: (
        "created",
        "created_on",
        "created_date",
        "creation_date",
        "date_created",
        "signup_date",
        "sign_up_date",
        "signed_up_at",
        "registered_at",
        "registration_date",
        "customer_since",
        "joined_at",
        "join_date",
    ),
    Events.TS: (
        "timestamp",
        "time",
        "datetime",
        "date",
        "event_time",
        "event_date",
        "event_timestamp",
        "occurred_at",
    ),
    Payments.PAID_AT: ("payment_date", "paid_date", "paid_on", "date_paid", "payment_time", "payment_at"),
    Payments.AMOUNT: ("total", "amount_paid", "payment_amount", "total_amount", "invoice_amount", "revenue"),
    Subscriptions.START_DATE: (
        "start",
        "started_at",
        "start_at",
        "term_start",
        "period_start",
        "contract_start",
        "contract_start_date",
        "subscription_start",
        "begin_date",
        "valid_from",
    ),
    Subscriptions.END_DATE: (
        "end",
        "ended_at",
        "end_at",
        "term_end",
        "period_end",
        "contract_end",
        "contract_end_date",
        "subscription_end",
        "expiry_date",
        "expiration_date",
        "expires_at",
        "valid_to",
        "renewal_date",
    ),
    Subscriptions.MRR: (
        "monthly_recurring_revenue",
        "monthly_revenue",
        "monthly_amount",
        "monthly_fee",
        "monthly_price",
        "monthly_value",
    ),
}
TABLE_COLUMN_SYNONYMS: dict[Table, dict[str, tuple[str, ...]]] = {
    # the clients table's own id: a consumer app's users, a CRM's "ID" (elsewhere user_id is who of the client
    # acted, events.user_id, and an id the row's own)
    Table.CLIENTS: {CLIENT_ID: ("user_id", "id")},
    # an event's time under the names an analytics export gives it (a record's creation is its time there)
    Table.EVENTS: {Events.TS: ("created_at", "event_created_at")},
}
