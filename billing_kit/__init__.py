"""billing_kit: charge, refund and report on Stripe from Jupyter, with a local sandbox.

>>> import billing_kit as bk
>>> client = bk.connect()  # doctest: +SKIP
>>> client.charge("ada@example.com", "12.50", "usd")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from billing_kit import _lazy

# The exceptions are imported at once: standard library only, and `except bk.CardDeclined:`
# should not be what imports them.
from billing_kit._exceptions import (
    AccessDenied,
    AuthenticationFailed,
    BillingKitError,
    CardDeclined,
    ConfigurationError,
    DuplicateCharge,
    DuplicateOperation,
    DuplicateRefund,
    IdempotencyConflict,
    InvalidAmount,
    InvalidArgument,
    InvalidBatch,
    InvalidRequest,
    LiveModeNotAllowed,
    OAuthFailed,
    OutcomeUnknown,
    RateLimited,
    ResourceNotFound,
    SignatureInvalid,
    StripeRequestError,
    StripeUnavailable,
    UnknownCurrency,
)

if TYPE_CHECKING:
    from billing_kit._batch_result import BatchResult
    from billing_kit._client import Client, connect
    from billing_kit._ledger import Ledger
    from billing_kit._masking import mask_key
    from billing_kit._models import Charge, Customer, Money, Refund
    from billing_kit._money import (
        CURRENCIES,
        currency_exponent,
        format_amount,
        parse_amount,
        to_major,
    )
else:
    # Imported on first use; see billing_kit/_lazy.py.
    __getattr__, __dir__ = _lazy.lazy_exports(
        __name__,
        {
            "billing_kit._batch_result": ["BatchResult"],
            "billing_kit._client": ["Client", "connect"],
            "billing_kit._ledger": ["Ledger"],
            "billing_kit._masking": ["mask_key"],
            "billing_kit._models": ["Charge", "Customer", "Money", "Refund"],
            "billing_kit._money": [
                "CURRENCIES",
                "currency_exponent",
                "format_amount",
                "parse_amount",
                "to_major",
            ],
        },
    )

__version__ = "0.1.0"

__all__ = [
    "CURRENCIES",
    "AccessDenied",
    "AuthenticationFailed",
    "BatchResult",
    "BillingKitError",
    "CardDeclined",
    "Charge",
    "Client",
    "ConfigurationError",
    "Customer",
    "DuplicateCharge",
    "DuplicateOperation",
    "DuplicateRefund",
    "IdempotencyConflict",
    "InvalidAmount",
    "InvalidArgument",
    "InvalidBatch",
    "InvalidRequest",
    "Ledger",
    "LiveModeNotAllowed",
    "Money",
    "OAuthFailed",
    "OutcomeUnknown",
    "RateLimited",
    "Refund",
    "ResourceNotFound",
    "SignatureInvalid",
    "StripeRequestError",
    "StripeUnavailable",
    "UnknownCurrency",
    "connect",
    "currency_exponent",
    "format_amount",
    "mask_key",
    "parse_amount",
    "to_major",
]
