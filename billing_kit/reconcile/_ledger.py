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


def _positions(keys: pd.Index, wanted: pd.Series) -> np.ndarray:
    """Where each of ``wanted`` is in ``keys`` (unique), -1 where it is not."""
    return np.asarray(keys.get_indexer(pd.Index(wanted.astype(object))))


def _take(values: pd.Series, positions: np.ndarray) -> pd.Series:
    return pd.Series(values.array.take(positions, allow_fill=True))


def ledger(history: History) -> pd.DataFrame:
    """Return the balance transactions with their placement and payout columns.

    Added columns: ``automatic`` (the transaction is an automatic payout or returns one),
    ``placed_at`` (the balance reports' timestamp), ``automatic_payout_id`` and
    ``automatic_payout_effective_at`` (the automatic payout that settled it, if any; the payout's
    own transaction carries its own id), and ``is_payout_row`` (it is an automatic payout's own
    transaction). Computed once per :class:`History` (every report of a month-end shares it);
    callers select from it and never change it.
    """
    if "ledger" not in history.derived:
        history.derived["ledger"] = _ledger(history)
    return history.derived["ledger"]


def _ledger(history: History) -> pd.DataFrame:
    # Joins by position (Index.get_indexer) rather than Python dicts: a month can hold millions
    # of transactions.
    txns = history.transactions.reset_index(drop=True)
    payouts = history.payouts
    auto = payouts[payouts["automatic"].fillna(False).astype(bool)].reset_index(drop=True)
    auto_ids = _text(auto["id"])
    txn_index = pd.Index(_text(txns["id"]))
    # A payout's own transaction becomes available when the payout arrives; the arrival date
    # stands in when that transaction is not in the history.
    own = _positions(txn_index, auto["balance_transaction"])
    own_available = _take(txns["available_on"], own)
    effective = own_available.where(own >= 0, auto["arrival_date"].reset_index(drop=True))
    source = _text(txns["source"])
    kind = txns["type"].astype("object")
    automatic = kind.isin(_PAYOUT_TYPES) & source.isin(set(auto_ids))
    is_payout_row = np.zeros(len(txns), dtype=bool)
    is_payout_row[own[own >= 0]] = True
    placed = txns["created"].where(~is_payout_row, txns["available_on"])
    # Which automatic payout settled each transaction: the payout's list (the last listing wins,
    # as a payout listed twice would), and a payout's own transaction its own payout.
    links = history.links.drop_duplicates("balance_transaction_id", keep="last")
    listed = _positions(txn_index, links["balance_transaction_id"])
    payout_of = np.full(len(txns), None, dtype=object)
    payout_of[listed[listed >= 0]] = _text(links["automatic_payout_id"]).to_numpy()[listed >= 0]
    payout_of[own[own >= 0]] = auto_ids.to_numpy()[own >= 0]
    settled_by = _positions(pd.Index(auto_ids), pd.Series(payout_of))
    frame = txns.assign(
        automatic=automatic.to_numpy(bool),
        is_payout_row=is_payout_row,
        placed_at=placed,
        automatic_payout_id=strings(pd.Series(payout_of)).array,
        automatic_payout_effective_at=_take(effective, settled_by)
        .astype(txns["created"].dtype)
        .array,
    )
    frame["currency"] = frame["currency"].astype("object")
    for name in ("amount_minor", "fee_minor", "net_minor"):
        frame[name] = frame[name].fillna(0).astype(np.int64)
    return frame
