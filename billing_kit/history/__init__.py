"""Charge history as typed pandas DataFrames: exact money, incremental, as fast as Stripe allows.

Each function takes a :class:`billing_kit.Client` first (``client.charges_frame(...)`` delegates
here) and returns a frame with the declared schema of :mod:`billing_kit.history._schema`; see
``docs/history.md`` for the columns and for how the local cache and the change feeds work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from billing_kit import _lazy

if TYPE_CHECKING:
    from billing_kit.history._api import (
        balance_transactions_frame,
        charges_frame,
        customers_frame,
        disputes_frame,
        payouts_frame,
        refunds_frame,
    )
    from billing_kit.history._join import records_to_frame
    from billing_kit.history._options import InvalidOption
    from billing_kit.history._progress import ProgressUpdate
    from billing_kit.history._schema import OBJECT_KINDS, dtypes, schema_table
else:
    # Imported on first use; see billing_kit/_lazy.py.
    __getattr__, __dir__ = _lazy.lazy_exports(
        __name__,
        {
            "billing_kit.history._api": [
                "balance_transactions_frame",
                "charges_frame",
                "customers_frame",
                "disputes_frame",
                "payouts_frame",
                "refunds_frame",
            ],
            "billing_kit.history._join": ["records_to_frame"],
            "billing_kit.history._options": ["InvalidOption"],
            "billing_kit.history._progress": ["ProgressUpdate"],
            "billing_kit.history._schema": ["OBJECT_KINDS", "dtypes", "schema_table"],
        },
    )

__all__ = [
    "OBJECT_KINDS",
    "InvalidOption",
    "ProgressUpdate",
    "balance_transactions_frame",
    "charges_frame",
    "customers_frame",
    "disputes_frame",
    "dtypes",
    "payouts_frame",
    "records_to_frame",
    "refunds_frame",
    "schema_table",
]
