"""Reconciliation: Stripe's reports computed from the API, and matching against orders and the bank.

See ``docs/reconcile-matching.md`` for the match classes and tolerances.
"""

from __future__ import annotations

from billing_kit.reconcile._bank import BANK_CLASSES, reconcile_bank
from billing_kit.reconcile._orders import ORDER_CLASSES, reconcile_orders
from billing_kit.reconcile._result import MatchResult

__all__ = ["BANK_CLASSES", "ORDER_CLASSES", "MatchResult", "reconcile_bank", "reconcile_orders"]
