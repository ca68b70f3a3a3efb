"""Reconciliation: Stripe's balance and payout reports computed from the history, in any mode.

The functions take a :class:`billing_kit.Client` first (``client.balance_summary(...)`` delegates
here); see ``docs/reconcile.md`` for each report, its columns and its period rule.
"""

from __future__ import annotations

from billing_kit.reconcile._api import (
    balance_activity,
    balance_summary,
    ending_balance_reconciliation,
    payout_reconciliation,
)
from billing_kit.reconcile._inputs import History, gather
from billing_kit.reconcile._reports import PayoutReconciliation

__all__ = [
    "History",
    "PayoutReconciliation",
    "balance_activity",
    "balance_summary",
    "ending_balance_reconciliation",
    "gather",
    "payout_reconciliation",
]
