"""Customers' emails for tables and exports: people know customers by email, not ``cus_`` id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from billing_kit._client import Client

__all__ = ["customer_emails"]


def customer_emails(client: Client, wanted: Iterable[str]) -> dict[str, str]:
    """Return the email of each customer id in ``wanted`` that has one.

    Pages through the customer list (newest first, 100 a page,
    https://docs.stripe.com/api/customers/list) until every wanted customer was seen or the list
    ends, so a history with more customers than one page still shows every email.
    """
    missing = {str(c) for c in wanted}
    emails: dict[str, str] = {}
    params: dict[str, object] = {"limit": 100}
    while missing:
        page = client.stripe.v1.customers.list(params=params)  # type: ignore[arg-type]
        for customer in page.data:
            missing.discard(customer.id)
            if customer.email:
                emails[customer.id] = customer.email
        if not page.has_more or not page.data:
            break
        params["starting_after"] = page.data[-1].id
    return emails
