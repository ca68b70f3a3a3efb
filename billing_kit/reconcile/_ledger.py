"""One row per balance transaction with everything the reports place and group it by.

Stripe's report types place a transaction in a period by one timestamp each
(https://docs.stripe.com/reports/balance, https://docs.stripe.com/reports/payout-reconciliation):

- the balance reports (``balance.summary.1``, ``balance_change_from_activity.*``,
  ``ending_balance_reconciliation.*``) by ``created``, except an automatic payout, which counts
  when it is effective: its transaction's ``available_on`` (the payout's arrival date);
- the payout reconciliation reports by ``automatic_payout_effective_at``, the effective time of the
  automatic payout that settled the transaction.

Automatic payouts and the transactions that return a failed or cancelled one (``payout_failure``,
``payout_cancel``) make the ``payouts`` section of the balance summary; every other transaction,
manual payouts included, is activity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from billing_kit.reconcile._inputs import History
from billing_kit.reconcile._items import strings

__all__ = ["ledger"]

_PAYOUT_TYPES = ("payout", "payout_failure", "payout_cancel")


def _text(series: pd.Series) -> pd.Series:
    return series.astype("object").where(series.notna(), None)


def ledger(history: History) -> pd.DataFrame:
    """Return the balance transactions with their placement and payout columns.

    Added columns: ``automatic`` (the transaction is an automatic payout or returns one),
    ``placed_at`` (the balance reports' timestamp), ``automatic_payout_id`` and
    ``automatic_payout_effective_at`` (the automatic payout that settled it, if any; the payout's
    own transaction carries its own id), and ``is_payout_row`` (it is an automatic payout's own
    transaction).
    """
    txns = history.transactions.reset_index(drop=True)
    payouts = history.payouts
    auto = payouts[payouts["automatic"].fillna(False).astype(bool)]
    own_txn = dict(zip(_text(auto["balance_transaction"]), _text(auto["id"]), strict=True))
    available = dict(
        zip(_text(txns["id"]), txns["available_on"], strict=True),
    )
    effective: dict[str, pd.Timestamp] = {}
    for payout_id, txn_id, arrival in zip(
        _text(auto["id"]), _text(auto["balance_transaction"]), auto["arrival_date"], strict=True
    ):
        # The payout's own transaction becomes available when the payout arrives; the arrival
        # date stands in when that transaction is not in the history.
        effective[payout_id] = available.get(txn_id, arrival)
    ids = _text(txns["id"])
    source = _text(txns["source"])
    kind = txns["type"].astype("object")
    auto_ids = set(effective)
    automatic = kind.isin(_PAYOUT_TYPES) & source.isin(auto_ids)
    is_payout_row = ids.isin(own_txn)
    placed = txns["created"].where(~is_payout_row, txns["available_on"])
    link = dict(
        zip(
            _text(history.links["balance_transaction_id"]),
            _text(history.links["automatic_payout_id"]),
            strict=True,
        )
    )
    link.update(own_txn)
    payout_of = ids.map(link)
    frame = txns.assign(
        automatic=automatic.to_numpy(bool),
        is_payout_row=is_payout_row.to_numpy(bool),
        placed_at=placed,
        automatic_payout_id=strings(payout_of).array,
        automatic_payout_effective_at=pd.to_datetime(
            list(payout_of.map(effective)), utc=True
        ).astype(txns["created"].dtype),
    )
    frame["currency"] = frame["currency"].astype("object")
    for name in ("amount_minor", "fee_minor", "net_minor"):
        frame[name] = frame[name].fillna(0).astype(np.int64)
    return frame
