"""Declared schemas of the history frames: one fixed, documented column list per object kind.

Every frame the history loaders return is built from these declarations, column by column and in
this order, so an empty result, a cached result and a fresh result all have the same columns and
dtypes. The table in ``docs/history.md`` is generated from the same declarations
(:func:`schema_table`).

Kinds of column:

``string``
    text such as ids, emails, messages (``string[pyarrow]``, missing = ``<NA>``)
``ref``
    the id of a related object; the id is taken out when the API expanded it into an object
``category``
    a small set of values (status, currency, brand, codes); fixed categories when Stripe documents
    the set, otherwise the categories seen in the data, sorted
``minor``
    an amount in the currency's minor unit, exactly as the API sends it (``int64[pyarrow]``)
``major``
    the same amount in major units as an exact decimal (``decimal128(18, 3)``), computed with the
    currency's exponent: 500 JPY -> 500, 1234 USD -> 12.34, 1230 KWD -> 1.230
``timestamp``
    a Unix time converted to timezone-aware UTC (or the reporting time zone asked for)
``int``, ``bool``, ``float``
    ``int64[pyarrow]`` (``int8``/``int16`` for small values), ``bool[pyarrow]``, ``Float64``
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["string", "ref", "category", "minor", "major", "timestamp", "int", "bool", "float"]
ObjectKind = Literal[
    "charges", "refunds", "balance_transactions", "payouts", "disputes", "customers"
]
OBJECT_KINDS: tuple[ObjectKind, ...] = (
    "charges",
    "refunds",
    "balance_transactions",
    "payouts",
    "disputes",
    "customers",
)

#: Decimal places of every ``major`` column. Three covers every Stripe currency (KWD, BHD, JOD, OMR,
#: TND have three); one scale for all rows keeps mixed-currency columns summable per currency.
MAJOR_SCALE = 3


@functools.cache
def _dtypes() -> dict[str, Any]:
    """The shared pandas dtypes, built on first use: the declarations themselves (and so the
    option checks of ``billing-kit pull``) need neither pandas nor pyarrow, whose import costs
    about half a second before the first request."""
    import pandas as pd
    import pyarrow as pa

    return {
        "MAJOR_DTYPE": pd.ArrowDtype(pa.decimal128(18, MAJOR_SCALE)),
        # Arrow strings with 32-bit offsets (``string[pyarrow]``): pandas' own ``StringDtype``
        # keeps 64-bit offsets, 4 bytes more per value, 30 MB more across the string columns of
        # a million charges.
        "STRING_DTYPE": pd.ArrowDtype(pa.string()),
        # Arrow booleans: one bit per value, where pandas' ``boolean`` takes two bytes.
        "BOOL_DTYPE": pd.ArrowDtype(pa.bool_()),
        # Arrow integers (``int64[pyarrow]``; ``int8``/``int16`` for small values): a validity
        # bitmap of one bit per value, where pandas' ``Int64`` keeps a byte (7 MB over a million
        # charges).
        "INT_DTYPES": {bits: pd.ArrowDtype(getattr(pa, f"int{bits}")()) for bits in (8, 16, 64)},
        "TIMESTAMP_DTYPE": pd.DatetimeTZDtype("ns", "UTC"),
    }


if TYPE_CHECKING:
    MAJOR_DTYPE: pd.ArrowDtype
    STRING_DTYPE: pd.ArrowDtype
    BOOL_DTYPE: pd.ArrowDtype
    INT_DTYPES: dict[int, pd.ArrowDtype]
    TIMESTAMP_DTYPE: pd.DatetimeTZDtype
else:
    _DTYPE_NAMES = ("MAJOR_DTYPE", "STRING_DTYPE", "BOOL_DTYPE", "INT_DTYPES", "TIMESTAMP_DTYPE")

    def __getattr__(name: str) -> Any:
        # PEP 562: ``from billing_kit.history._schema import STRING_DTYPE`` builds the dtypes;
        # any other name (the import system asks for ``__path__``) imports nothing.
        if name not in _DTYPE_NAMES:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        return _dtypes()[name]


METADATA_PREFIX = "metadata."


@dataclass(frozen=True)
class Column:
    """One declared column of a history frame.

    Parameters
    ----------
    name
        Column name in the frame.
    kind
        How the value is typed (see the module docstring).
    meaning
        One line for the documentation table.
    path
        Keys leading to the value in the API object; empty for derived columns.
    categories
        Fixed categories, in order, for ``category`` columns whose values Stripe documents.
    minor, currency
        For ``major`` columns: the ``minor`` column holding the amount and the column naming its
        currency.
    """

    name: str
    kind: Kind
    meaning: str
    path: tuple[str, ...] = ()
    categories: tuple[str, ...] | None = None
    minor: str = ""
    currency: str = ""
    bits: int = 64

    @property
    def dtype(self) -> object:
        """The pandas dtype every frame uses for this column."""
        import pandas as pd

        shared = _dtypes()
        if self.kind in ("string", "ref"):
            return shared["STRING_DTYPE"]
        if self.kind == "category":
            return pd.CategoricalDtype(list(self.categories or ()), ordered=False)
        if self.kind in ("minor", "int"):
            return shared["INT_DTYPES"][self.bits]
        if self.kind == "major":
            return shared["MAJOR_DTYPE"]
        if self.kind == "timestamp":
            return shared["TIMESTAMP_DTYPE"]
        if self.kind == "bool":
            return shared["BOOL_DTYPE"]
        return pd.Float64Dtype()


def _money(name: str, path: tuple[str, ...], meaning: str, currency: str) -> tuple[Column, Column]:
    """An amount as two columns: exact minor units as sent, and the exact major-unit decimal."""
    return (
        Column(f"{name}_minor", "minor", f"{meaning}, minor units as sent by Stripe", path),
        Column(
            name,
            "major",
            f"{meaning}, exact decimal in major units",
            minor=f"{name}_minor",
            currency=currency,
        ),
    )


def _c(
    name: str, kind: Kind, meaning: str, *path: str, categories: tuple[str, ...] | None = None
) -> Column:
    return Column(name, kind, meaning, path or (name,), categories)


_CHARGE_STATUS = ("succeeded", "pending", "failed")
_REFUND_STATUS = ("pending", "requires_action", "succeeded", "failed", "canceled")
_PAYOUT_STATUS = ("pending", "in_transit", "paid", "canceled", "failed")
_DISPUTE_STATUS = (
    "warning_needs_response",
    "warning_under_review",
    "warning_closed",
    "needs_response",
    "under_review",
    "won",
    "lost",
    "prevented",
)
_OUTCOME_TYPE = ("authorized", "manual_review", "issuer_declined", "blocked", "invalid")
_RISK_LEVEL = ("normal", "elevated", "highest", "not_assessed", "unknown")
_BT_STATUS = ("pending", "available")

CHARGES: tuple[Column, ...] = (
    _c("id", "string", "charge id (ch_...)"),
    _c("created", "timestamp", "when the charge was created"),
    _c("status", "category", "succeeded, pending or failed", categories=_CHARGE_STATUS),
    _c("currency", "category", "presentment currency, lowercase ISO code"),
    *_money("amount", ("amount",), "amount charged", "currency"),
    *_money("amount_captured", ("amount_captured",), "amount captured", "currency"),
    *_money("amount_refunded", ("amount_refunded",), "amount refunded so far", "currency"),
    _c("captured", "bool", "the charge was captured"),
    _c("paid", "bool", "succeeded, or authorized for a later capture"),
    _c("refunded", "bool", "fully refunded"),
    _c("disputed", "bool", "a dispute was opened"),
    _c(
        "settlement_currency",
        "category",
        "currency of the balance transaction (fee and net)",
        "balance_transaction",
        "currency",
    ),
    *_money(
        "fee",
        ("balance_transaction", "fee"),
        "Stripe fee from the balance transaction",
        "settlement_currency",
    ),
    *_money(
        "net",
        ("balance_transaction", "net"),
        "net amount from the balance transaction",
        "settlement_currency",
    ),
    _c("customer", "ref", "customer id (cus_...)"),
    _c("payment_intent", "ref", "PaymentIntent id (pi_...), empty for legacy charges"),
    _c("payment_method", "string", "PaymentMethod or card id used"),
    _c("balance_transaction", "ref", "balance transaction id (txn_...)"),
    _c("description", "string", "description given at charge time"),
    _c("brand", "category", "card brand", "payment_method_details", "card", "brand"),
    _c("last4", "category", "last four card digits", "payment_method_details", "card", "last4"),
    _c(
        "card_country",
        "category",
        "card issuing country",
        "payment_method_details",
        "card",
        "country",
    ),
    Column(
        "exp_month",
        "int",
        "card expiry month",
        ("payment_method_details", "card", "exp_month"),
        bits=8,
    ),
    Column(
        "exp_year",
        "int",
        "card expiry year",
        ("payment_method_details", "card", "exp_year"),
        bits=16,
    ),
    _c(
        "funding",
        "category",
        "credit, debit, prepaid or unknown",
        "payment_method_details",
        "card",
        "funding",
    ),
    _c("failure_code", "category", "why the charge failed (e.g. card_declined)"),
    # Stripe writes these messages from a small set: as categories a million rows cost 1 MB each.
    _c("failure_message", "category", "failure message from Stripe"),
    Column("decline_code", "category", "issuer decline code of a failed charge (outcome reason)"),
    _c(
        "outcome_type",
        "category",
        "authorized, manual_review, issuer_declined, blocked, invalid",
        "outcome",
        "type",
        categories=_OUTCOME_TYPE,
    ),
    _c(
        "outcome_reason",
        "category",
        "outcome reason (decline code, risk reason)",
        "outcome",
        "reason",
    ),
    _c("network_status", "category", "what the card network said", "outcome", "network_status"),
    _c(
        "risk_level",
        "category",
        "Radar risk level",
        "outcome",
        "risk_level",
        categories=_RISK_LEVEL,
    ),
    Column("risk_score", "int", "Radar risk score 0-100", ("outcome", "risk_score"), bits=8),
    _c("seller_message", "category", "explanation for the seller", "outcome", "seller_message"),
)

REFUNDS: tuple[Column, ...] = (
    _c("id", "string", "refund id (re_...)"),
    _c("created", "timestamp", "when the refund was created"),
    _c("status", "category", "refund status", categories=_REFUND_STATUS),
    _c("currency", "category", "currency, lowercase ISO code"),
    *_money("amount", ("amount",), "amount refunded", "currency"),
    _c("charge", "ref", "refunded charge id (ch_...)"),
    _c("payment_intent", "ref", "PaymentIntent id (pi_...)"),
    _c("reason", "category", "duplicate, fraudulent, requested_by_customer, ..."),
    _c("failure_reason", "category", "why a refund failed"),
    _c("balance_transaction", "ref", "balance transaction id (txn_...)"),
    _c("description", "string", "description"),
)

BALANCE_TRANSACTIONS: tuple[Column, ...] = (
    _c("id", "string", "balance transaction id (txn_...)"),
    _c("created", "timestamp", "when the transaction was created"),
    _c("available_on", "timestamp", "when the funds become available"),
    _c("status", "category", "pending or available (as of the last pull)", categories=_BT_STATUS),
    _c("type", "category", "charge, refund, adjustment, payout, stripe_fee, ..."),
    _c("reporting_category", "category", "charge, refund, dispute, payout, fee, ..."),
    _c("currency", "category", "settlement currency, lowercase ISO code"),
    *_money("amount", ("amount",), "gross amount (signed)", "currency"),
    *_money("fee", ("fee",), "fees", "currency"),
    *_money("net", ("net",), "net amount (amount - fee)", "currency"),
    _c(
        "exchange_rate",
        "float",
        "FX rate from presentment to settlement currency (a rate, not money)",
    ),
    _c("source", "ref", "object that moved the money (ch_, re_, dp_, po_, ...)"),
    _c("description", "string", "description"),
)

PAYOUTS: tuple[Column, ...] = (
    _c("id", "string", "payout id (po_...)"),
    _c("created", "timestamp", "when the payout was created"),
    _c("arrival_date", "timestamp", "expected arrival at the bank"),
    _c(
        "status",
        "category",
        "pending, in_transit, paid, canceled, failed",
        categories=_PAYOUT_STATUS,
    ),
    _c("currency", "category", "currency, lowercase ISO code"),
    *_money("amount", ("amount",), "amount paid out", "currency"),
    _c("automatic", "bool", "created by the automatic payout schedule"),
    _c("method", "category", "standard or instant"),
    _c("type", "category", "bank_account or card"),
    _c(
        "reconciliation_status",
        "category",
        "not_applicable, in_progress or completed",
        categories=("not_applicable", "in_progress", "completed"),
    ),
    _c("failure_code", "category", "why the payout failed"),
    _c("failure_message", "string", "failure message"),
    _c("balance_transaction", "ref", "balance transaction id (txn_...)"),
    _c("destination", "ref", "bank account or card id"),
    _c("description", "string", "description"),
    _c("statement_descriptor", "string", "text on the bank statement"),
    _c("trace_id", "string", "bank trace id of the deposit, once known", "trace_id", "value"),
    _c(
        "trace_id_status",
        "category",
        "pending, supported or unsupported",
        "trace_id",
        "status",
        categories=("pending", "supported", "unsupported"),
    ),
    _c(
        "failure_balance_transaction",
        "ref",
        "balance transaction returning a failed payout's funds (txn_...)",
    ),
    _c("original_payout", "ref", "the payout this one reverses (po_...)"),
    _c("reversed_by", "ref", "the payout reversing this one (po_...)"),
)

DISPUTES: tuple[Column, ...] = (
    _c("id", "string", "dispute id (dp_...)"),
    _c("created", "timestamp", "when the dispute was opened"),
    _c("status", "category", "dispute status", categories=_DISPUTE_STATUS),
    _c("reason", "category", "fraudulent, product_not_received, ..."),
    _c("currency", "category", "currency, lowercase ISO code"),
    *_money("amount", ("amount",), "disputed amount", "currency"),
    _c("charge", "ref", "disputed charge id (ch_...)"),
    _c("payment_intent", "ref", "PaymentIntent id (pi_...)"),
    _c("is_charge_refundable", "bool", "the charge can still be refunded"),
    _c("evidence_due_by", "timestamp", "deadline for evidence", "evidence_details", "due_by"),
)

CUSTOMERS: tuple[Column, ...] = (
    _c("id", "string", "customer id (cus_...)"),
    _c("created", "timestamp", "when the customer was created"),
    _c("email", "string", "email address"),
    _c("name", "string", "name"),
    _c("description", "string", "description"),
    _c("phone", "string", "phone number"),
    _c("currency", "category", "default currency, lowercase ISO code"),
    *_money("balance", ("balance",), "customer credit balance (negative = credit)", "currency"),
    _c("delinquent", "bool", "the last invoice payment failed"),
    Column("deleted", "bool", "the customer was deleted"),
)

SCHEMAS: dict[ObjectKind, tuple[Column, ...]] = {
    "charges": CHARGES,
    "refunds": REFUNDS,
    "balance_transactions": BALANCE_TRANSACTIONS,
    "payouts": PAYOUTS,
    "disputes": DISPUTES,
    "customers": CUSTOMERS,
}

#: Status values a caller may filter on, per kind (``None``: the kind takes no status filter).
STATUS_VALUES: dict[ObjectKind, tuple[str, ...] | None] = {
    "charges": _CHARGE_STATUS,
    "refunds": _REFUND_STATUS,
    "balance_transactions": _BT_STATUS,
    "payouts": _PAYOUT_STATUS,
    "disputes": _DISPUTE_STATUS,
    "customers": None,
}


def schema(kind: ObjectKind) -> tuple[Column, ...]:
    """Return the declared columns of one frame kind, in frame order.

    Raises
    ------
    ValueError
        If ``kind`` is not one of :data:`OBJECT_KINDS`.
    """
    try:
        return SCHEMAS[kind]
    except KeyError:
        raise ValueError(
            f"unknown object kind {kind!r}; choose one of {', '.join(OBJECT_KINDS)}"
        ) from None


def dtypes(kind: ObjectKind) -> dict[str, object]:
    """Return ``{column: dtype}`` for one frame kind, in frame order."""
    return {column.name: column.dtype for column in schema(kind)}


def schema_table(kind: ObjectKind) -> str:
    """Return the schema of one kind as a Markdown table (column, dtype, meaning).

    Examples
    --------
    >>> print(schema_table("refunds").splitlines()[2])
    | `id` | string[pyarrow] | refund id (re_...) |
    """
    rows = ["| column | dtype | meaning |", "|---|---|---|"]
    for column in schema(kind):
        dtype = column.dtype
        if column.kind == "category":
            label = "category" + (" (fixed)" if column.categories else "")
        elif column.kind in ("string", "ref"):
            label = "string[pyarrow]"
        else:
            label = str(dtype)
        rows.append(f"| `{column.name}` | {label} | {column.meaning} |")
    return "\n".join(rows)
