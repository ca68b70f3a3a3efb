"""Practice data for the sandbox, so a fresh notebook has charges to look at and refund.

Only ever runs against the local sandbox: it refuses test and live mode, where it would create
real (test-mode) objects in someone's Stripe account."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from billing_kit._exceptions import CardDeclined, ConfigurationError

if TYPE_CHECKING:
    from billing_kit._client import Client

# (customer email, amount in major units, currency, test card): a mix of currencies and outcomes.
DEMO_CHARGES: tuple[tuple[str, str, str, str], ...] = (
    ("ana@example.com", "42.00", "usd", "pm_card_visa"),
    ("ben@example.com", "19.99", "usd", "pm_card_mastercard"),
    ("chloe@example.com", "120.00", "eur", "pm_card_visa"),
    ("dev@example.com", "15.50", "gbp", "pm_card_amex"),
    ("emi@example.com", "3000", "jpy", "pm_card_visa"),
    ("ana@example.com", "75.00", "usd", "pm_card_visa_chargeDeclinedInsufficientFunds"),
    ("ben@example.com", "9.00", "usd", "pm_card_visa_chargeDeclined"),
    ("chloe@example.com", "60.00", "eur", "pm_card_chargeDeclinedExpiredCard"),
    ("frank@example.com", "250.00", "usd", "pm_card_visa_debit"),
    ("dev@example.com", "8.25", "gbp", "pm_card_visa_chargeDeclinedInsufficientFunds"),
    ("gia@example.com", "33.30", "eur", "pm_card_mastercard"),
    ("frank@example.com", "12.00", "usd", "pm_card_radarBlock"),
)


def ensure_demo_charges(client: Client, *, minimum: int = len(DEMO_CHARGES)) -> int:
    """Create practice charges in the sandbox until it holds at least ``minimum``; return the count.

    Raises
    ------
    ConfigurationError
        When ``client`` is not in sandbox mode.
    """
    if client.mode != "sandbox":
        raise ConfigurationError(
            f"Demo charges are only created in the local sandbox, not in {client.mode!r} mode; "
            "connect() without a key to practise."
        )
    existing = len(client.recent_charges(limit=minimum))
    for email, amount, currency, card in DEMO_CHARGES[: max(0, minimum - existing)]:
        # Declines are part of the practice data.
        with contextlib.suppress(CardDeclined):
            client.charge(
                email,
                amount,
                currency,
                payment_method=card,
                description="practice charge",
                allow_duplicate=True,
            )
    return max(existing, len(client.recent_charges(limit=minimum)))
