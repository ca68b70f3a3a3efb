"""Reconciliation: Stripe's reports computed from the API, and matching against orders and the bank.

The functions take a :class:`billing_kit.Client` first (``client.balance_summary(...)`` delegates
here). ``docs/reconcile.md`` describes each report, its columns and its period rule;
``docs/reconcile-matching.md`` the match classes and tolerances.
"""

from __future__ import annotations

from billing_kit.reconcile._api import (
    balance_activity,
    balance_summary,
    ending_balance_reconciliation,
    payout_reconciliation,
)
from billing_kit.reconcile._bank import BANK_CLASSES, reconcile_bank
from billing_kit.reconcile._inputs import History, gather
from billing_kit.reconcile._month_end import MonthEnd, month_end
from billing_kit.reconcile._orders import ORDER_CLASSES, reconcile_orders
from billing_kit.reconcile._reports import PayoutReconciliation
from billing_kit.reconcile._result import MatchResult

__all__ = [
    "BANK_CLASSES",
    "ORDER_CLASSES",
    "History",
    "MatchResult",
    "MonthEnd",
    "PayoutReconciliation",
    "balance_activity",
    "balance_summary",
    "ending_balance_reconciliation",
    "gather",
    "month_end",
    "payout_reconciliation",
    "reconcile_bank",
    "reconcile_orders",
]
