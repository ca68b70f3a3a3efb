"""Customers: find-or-create by email, attach payment methods or test tokens, list.

One email, one customer — as far as this toolkit can see to it. Emails are compared
case-insensitively (normalised to lower case before storing or searching), and a create is sent with
an idempotency key derived from the account namespace and the normalised email: two kernels creating
the same customer at once get the same ``cus_…`` back from Stripe, not two. After Stripe prunes
that key (24 h on), the lookup by email (remembered locally in the ledger database, then listed from
Stripe as given and lower-cased, then searched) finds it first, also when it was made outside the
kit with capitals in its address.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from billing_kit._exceptions import (
    IdempotencyConflict,
    InvalidArgument,
    InvalidRequest,
    ResourceNotFound,
    StripeRequestError,
)
from billing_kit._models import Customer
from billing_kit._pan import find_card_number, safe_repr
from billing_kit._validation import api_path, check_id, check_text

if TYPE_CHECKING:
    from billing_kit._client import Client

__all__ = [
    "attach_payment_method",
    "find_or_create_customer",
    "list_customers",
    "normalise_email",
    "resolve_customer_id",
]

log = logging.getLogger("billing_kit")

# Derived keys tried in turn when Stripe has spent one on a saved error.
_KEY_ROUNDS = 3

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: object) -> str:
    """Return ``email`` stripped and lower-cased, or raise if it is not an email address.

    >>> normalise_email("  Ada.Lovelace@Example.COM ")
    'ada.lovelace@example.com'
    """
    if not isinstance(email, str) or not _EMAIL.match(email.strip()):
        raise InvalidArgument(
            f"email={safe_repr(email)} is not an email address; pass something like "
            "'ada@example.com'."
        )
    check_text("email", email)  # no card number may reach Stripe or the ledger
    return email.strip().lower()


def _derived_key(client: Client, *parts: str) -> str:
    """An idempotency key that is the same every time for the same parts in this namespace.

    Hashed so no email (personal data) travels in the key, as Stripe asks.
    """
    digest = hashlib.sha256("|".join((client.cache_namespace, *parts)).encode()).hexdigest()
    return f"bk-{parts[0]}-{digest[:40]}"


def _post_derived(
    client: Client,
    path: str,
    params: dict[str, Any],
    *parts: str,
    recheck: Callable[[], dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """POST under a key derived from ``parts``, moving on to the next derived key if Stripe spent
    one on a saved 500 (it replays that for 24 hours, which would block this email or card).

    ``recheck`` looks for what the failed request may have made before the next key is tried.
    Every kernel derives the same sequence of keys, so they still converge on one object.
    """
    for round_ in range(_KEY_ROUNDS):
        key = _derived_key(client, *parts, *(("again", str(round_)) if round_ else ()))
        try:
            return dict(client._transport.request("post", path, params, idempotency_key=key).data)
        except StripeRequestError as exc:
            if not exc.key_spent or round_ == _KEY_ROUNDS - 1:
                raise
        found = recheck() if recheck is not None else None
        if found is not None:
            return found
    raise AssertionError("unreachable")  # pragma: no cover - the last round returns or raises


def _list_by_email(client: Client, email: str, wanted: str) -> list[dict[str, Any]]:
    """Customers listed with the ``email`` filter whose address is ``wanted`` in any case."""
    response = client._transport.request("get", "/v1/customers", {"email": email, "limit": 100})
    data = response.data.get("data") or []
    # Filtered again here: a server that ignored the filter must not make us adopt someone
    # else's customer.
    return [
        dict(item)
        for item in data
        if not item.get("deleted") and str(item.get("email") or "").lower() == wanted
    ]


def _search_by_email(client: Client, wanted: str) -> list[dict[str, Any]]:
    """Customers found by Stripe's search, whose ``email`` match ignores case.

    Search is not offered everywhere (e.g. not in India) and trails writes by up to a minute
    (https://docs.stripe.com/search#data-freshness); a refusal leaves the other lookups to decide.
    """
    escaped = wanted.replace('"', '\\"')  # Stripe's search escapes a quote with a backslash
    try:
        response = client._transport.request(
            "get", "/v1/customers/search", {"query": f'email:"{escaped}"', "limit": 100}
        )
    except InvalidRequest as exc:
        log.info("customer search unavailable (%s); relying on the email list filter", exc.code)
        return []
    data = response.data.get("data") or []
    return [
        dict(item)
        for item in data
        if not item.get("deleted") and str(item.get("email") or "").lower() == wanted
    ]


def _find_by_email(client: Client, email: str) -> list[dict[str, Any]]:
    """Every customer whose email is ``email`` in any case, made by this kit or elsewhere.

    Stripe's ``email`` list filter is exact and case-sensitive
    (https://docs.stripe.com/api/customers/list#list_customers-email), so a customer made in the
    Dashboard as ``Ada@Example.com`` is found neither under ``ada@example.com`` nor under
    ``ADA@example.com``. Asked for: the address as given, lower-cased, and by search.
    """
    wanted = email.strip().lower()
    found: dict[str, dict[str, Any]] = {}
    for form in dict.fromkeys((email.strip(), wanted)):
        found.update((item["id"], item) for item in _list_by_email(client, form, wanted))
    found.update((item["id"], item) for item in _search_by_email(client, wanted))
    return list(found.values())


def _retrieve(client: Client, customer_id: str) -> dict[str, Any] | None:
    try:
        data = client._transport.request("get", api_path("customers", customer_id)).data
    except ResourceNotFound:
        return None
    return None if data.get("deleted") else dict(data)


def find_or_create_customer(client: Client, email: str, *, name: str | None = None) -> Customer:
    """Return the customer with ``email`` (any case), creating it if there is none.

    See :meth:`billing_kit.Client.find_or_create_customer`.
    """
    normalised = normalise_email(email)
    name = check_text("name", name)
    remembered = client.ledger.remembered_customer(normalised)
    if remembered is not None:
        found = _retrieve(client, remembered)
        if found is not None:
            return Customer.from_stripe(found)
        client.ledger.forget_customer(normalised)
    existing = _find_by_email(client, email)
    if existing:
        # Stripe lists newest first; the oldest is the one every earlier call returned.
        oldest = min(existing, key=lambda item: (item.get("created") or 0, item["id"]))
        client.ledger.remember_customer(normalised, oldest["id"])
        return Customer.from_stripe(oldest)
    params: dict[str, Any] = {"email": normalised}
    if name is not None:
        params["name"] = name

    def oldest_existing() -> dict[str, Any] | None:
        found = _find_by_email(client, email)
        return min(found, key=lambda item: item.get("created") or 0) if found else None

    try:
        created_data = _post_derived(
            client, "/v1/customers", params, "customer", normalised, recheck=oldest_existing
        )
    except IdempotencyConflict:
        # The key was used for this email with another name: that customer exists, find it.
        existing_data = oldest_existing()
        if existing_data is None:
            raise
        created_data = existing_data
    client.ledger.remember_customer(normalised, created_data["id"])
    return Customer.from_stripe(created_data)


def resolve_customer_id(client: Client, customer: object) -> str:
    """Return the ``cus_…`` id for a :class:`Customer`, an id, or an email (found or created)."""
    if isinstance(customer, Customer):
        return check_id("customer", customer.id, ("cus_",), example="cus_NffrFeUfNV2Hib")
    if isinstance(customer, str) and customer.startswith("cus_"):
        return check_id("customer", customer, ("cus_",), example="cus_NffrFeUfNV2Hib")
    if isinstance(customer, str) and "@" in customer:
        return find_or_create_customer(client, customer).id
    if isinstance(customer, str) and find_card_number(customer) is not None:
        check_id("customer", customer, ("cus_",), example="cus_NffrFeUfNV2Hib")  # raises, masked
    raise InvalidArgument(
        f"customer={safe_repr(customer)} is neither a Customer, a 'cus_…' id nor an email "
        "address; pass one of those (an email finds or creates the customer)."
    )


def list_customers(client: Client, *, email: str | None = None, limit: int = 100) -> list[Customer]:
    """Return up to ``limit`` customers, newest first, optionally only those with ``email``."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InvalidArgument(f"limit must be a positive int, got {limit!r}.")
    params: dict[str, Any] = {"limit": min(limit, 100)}
    wanted = None if email is None else normalise_email(email)
    if wanted is not None:
        params["email"] = wanted
    customers: list[Customer] = []
    while len(customers) < limit:
        page = client._transport.request("get", "/v1/customers", params).data
        items = [item for item in page.get("data") or [] if not item.get("deleted")]
        customers.extend(
            Customer.from_stripe(item)
            for item in items
            if wanted is None or str(item.get("email") or "").lower() == wanted
        )
        if not page.get("has_more") or not items:
            break
        params["starting_after"] = items[-1]["id"]
    return customers[:limit]


def attach_payment_method(client: Client, customer: object, payment_method: str) -> str:
    """Attach a PaymentMethod (``pm_…``, e.g. ``"pm_card_visa"``) or token (``tok_…``).

    A PaymentMethod becomes the customer's default for :meth:`~billing_kit.Client.charge`; a token
    becomes a card source (``card_…``) for the legacy Charges API. Returns the attached id, which
    for magic test ids like ``pm_card_visa`` is a new ``pm_…``. Sent with keys derived from the
    customer and payment method, so re-running it attaches nothing new.

    Raises
    ------
    CardDeclined
        The card is one issuers decline at attach time (e.g. ``pm_card_visa_chargeDeclined``).
    """
    check_id(
        "payment_method", payment_method, ("pm_", "tok_", "card_", "src_"), example="pm_card_visa"
    )
    customer_id = resolve_customer_id(client, customer)
    if payment_method.startswith(("tok_", "src_", "card_")):
        if payment_method.startswith("card_"):
            return payment_method
        card = _post_derived(
            client,
            api_path("customers", customer_id, "sources"),
            {"source": payment_method},
            "source",
            customer_id,
            payment_method,
        )
        return str(card["id"])
    attached = _post_derived(
        client,
        api_path("payment_methods", payment_method, "attach"),
        {"customer": customer_id},
        "attach",
        customer_id,
        payment_method,
    )
    pm_id = str(attached["id"])
    _post_derived(
        client,
        api_path("customers", customer_id),
        {"invoice_settings": {"default_payment_method": pm_id}},
        "default",
        customer_id,
        pm_id,
    )
    return pm_id
