"""Forms for JupyterLab: charge a customer or a spreadsheet, refund a charge, browse charge history
and the audit ledger.

Each form is a plain class that owns its widgets, so tests drive it without a browser (set
``.value`` on its controls, call :meth:`submit` / :meth:`confirm` or click its buttons) and a
notebook shows it by ending a cell with the form object::

    import billing_kit
    from billing_kit.widgets import ChargeForm
    ChargeForm(billing_kit.connect())
"""

from __future__ import annotations

from billing_kit.widgets._batch_form import BatchChargeForm
from billing_kit.widgets._cards import TEST_CARDS, TestCard, card_by_effect
from billing_kit.widgets._charge_form import ChargeForm, ChargeIntent
from billing_kit.widgets._history_browser import HistoryBrowser
from billing_kit.widgets._ledger_view import LedgerView
from billing_kit.widgets._refund_form import RefundForm, RefundIntent

__all__ = [
    "TEST_CARDS",
    "BatchChargeForm",
    "ChargeForm",
    "ChargeIntent",
    "HistoryBrowser",
    "LedgerView",
    "RefundForm",
    "RefundIntent",
    "TestCard",
    "card_by_effect",
]
