"""What the reports are computed from: the history frames and each automatic payout's transactions.

Fetching lives here; :mod:`._reports` only computes. Balance transactions carry no payout field,
so the transactions an automatic payout settled are listed the way Stripe documents it,
``GET /v1/balance_transactions?payout=po_...`` for each automatic payout
(https://docs.stripe.com/payouts/reconciliation); manual payouts cannot be attributed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from billing_kit.history._schema import STRING_DTYPE

if TYPE_CHECKING:
    from billing_kit._client import Client

__all__ = ["History", "gather", "links_frame"]

_MARGIN = 7 * 86_400


@dataclass(frozen=True)
class History:
    """The frames a report is computed from, in UTC (see ``docs/history.md`` for their columns).

    Attributes
    ----------
    transactions, payouts, charges, refunds, disputes
        History frames created before the report's end.
    links
        ``balance_transaction_id`` and ``automatic_payout_id``: every transaction an automatic
        payout settled, as ``GET /v1/balance_transactions?payout=`` lists it, the payout's own
        transaction left out.
    """

    transactions: pd.DataFrame
    payouts: pd.DataFrame
    charges: pd.DataFrame
    refunds: pd.DataFrame
    disputes: pd.DataFrame
    links: pd.DataFrame
    #: Frames derived from these once and shared by every report of the same History (the
    #: ledger, see :func:`._ledger.ledger`); never compared or shown.
    derived: dict[str, pd.DataFrame] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )


def links_frame(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """Return ``(balance_transaction_id, automatic_payout_id)`` pairs as a typed frame."""
    return pd.DataFrame(
        {
            "balance_transaction_id": pd.Series([t for t, _ in pairs], dtype=STRING_DTYPE),
            "automatic_payout_id": pd.Series([p for _, p in pairs], dtype=STRING_DTYPE),
        }
    )


def _payout_items(client: Client, payout_id: str, own: Any) -> list[tuple[str, str]]:
    params = {"payout": payout_id, "limit": 100}
    listing = client.stripe.v1.balance_transactions.list(params)  # type: ignore[arg-type]
    return [(txn.id, payout_id) for txn in listing.auto_paging_iter() if txn.id != own]


def gather(client: Client, end: int, *, metadata: bool = True) -> History:
    """Pull everything created before ``end`` (Unix seconds, plus a week) that the reports need.

    The history frames come from the local cache, refreshed incrementally; the payout links cost
    one list request (per 100 transactions) for every automatic payout.
    """
    # An automatic payout counts from its arrival, which can precede the creation of its
    # transaction by up to a day (a payout made and paid the same day); a week covers it.
    options: dict[str, Any] = {"until": end + _MARGIN, "progress": False}
    payouts = client.payouts_frame(**options)
    links: list[tuple[str, str]] = []
    for payout_id, own in zip(
        payouts["id"][payouts["automatic"].fillna(False)],
        payouts["balance_transaction"][payouts["automatic"].fillna(False)],
        strict=True,
    ):
        links.extend(_payout_items(client, str(payout_id), own))
    return History(
        transactions=client.balance_transactions_frame(**options),
        payouts=payouts,
        charges=client.charges_frame(metadata=metadata, **options),
        refunds=client.refunds_frame(metadata=metadata, **options),
        disputes=client.disputes_frame(**options),
        links=links_frame(links),
    )
