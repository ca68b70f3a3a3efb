"""What the reports are computed from: the history frames and each automatic payout's transactions.

Fetching lives here and in :mod:`._links` (the transactions each automatic payout settled, cached
once final); :mod:`._reports` only computes. Manual payouts cannot be attributed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from billing_kit.reconcile._links import LinksPull, links_frame, payout_links

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
    #: What listing ``links`` cost (requests sent, payouts from the cache, payouts listed).
    links_pull: LinksPull = field(default_factory=LinksPull, compare=False)
    #: Frames derived from these once and shared by every report of the same History (the
    #: ledger, see :func:`._ledger.ledger`); never compared or shown.
    derived: dict[str, pd.DataFrame] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )


def gather(client: Client, end: int, *, metadata: bool = True) -> History:
    """Pull everything created before ``end`` (Unix seconds, plus a week) that the reports need.

    The history frames come from the local cache, refreshed incrementally; the payout links cost
    one list request (per 100 transactions) for every automatic payout whose reconciliation is
    not completed, or that was not completed when last listed (:func:`._links.payout_links`).
    """
    # An automatic payout counts from its arrival, which can precede the creation of its
    # transaction by up to a day (a payout made and paid the same day); a week covers it.
    options: dict[str, Any] = {"until": end + _MARGIN, "progress": False}
    payouts = client.payouts_frame(**options)
    links, pull = payout_links(client, payouts)
    return History(
        transactions=client.balance_transactions_frame(**options),
        payouts=payouts,
        charges=client.charges_frame(metadata=metadata, **options),
        refunds=client.refunds_frame(metadata=metadata, **options),
        disputes=client.disputes_frame(**options),
        links=links,
        links_pull=pull,
    )
