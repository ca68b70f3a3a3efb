"""Charging and capturing — each attempt on record before it is sent (refunds: ``_refunds``).

Which idempotency key a call uses (:meth:`billing_kit._ledger.Ledger.reserve` decides):

- a re-run of an interrupted attempt (same customer, amount, currency, description, payment
  method, metadata …; its ledger row still ``pending``) reuses that attempt's key, so Stripe
  replays the first result if it arrived, or executes it now if it did not — never both;
- a re-run of a *finished* successful charge within the duplicate window is refused with
  :class:`~billing_kit.DuplicateCharge`, nothing sent;
- a deliberate new charge (``allow_duplicate=True``, or after the window) gets a fresh key.

Every PaymentIntent, charge and refund also carries its key in ``metadata["bk_attempt"]``, so an
unfinished attempt with *other* details (say, the re-run switched cards, or another kernel is
sending it) can be settled by looking it up in Stripe instead of sending it again (``_settle``:
one that may still be in flight raises :class:`~billing_kit.OutcomeUnknown`, and a key Stripe
spent on a saved 500 is settled and replaced).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from billing_kit._customers import attach_payment_method, resolve_customer_id
from billing_kit._exceptions import (
    CardDeclined,
    DuplicateCharge,
    IdempotencyConflict,
    InvalidArgument,
    RateLimited,
    StripeRequestError,
    StripeUnavailable,
)
from billing_kit._ledger import LedgerRow
from billing_kit._limits import check_limit
from billing_kit._models import Charge, Money
from billing_kit._money import currency_info, format_amount, parse_amount
from billing_kit._pan import find_card_number, safe_repr
from billing_kit._settle import cancel_incomplete, charge_of_intent, give_up, settle, settle_spent
from billing_kit._validation import (
    api_path,
    check_flag,
    check_id,
    check_idempotency_key,
    check_metadata,
    check_text,
    is_stripe_id,
)

if TYPE_CHECKING:
    from billing_kit._client import Client

__all__ = ["capture", "charge", "get_charge", "recent_charges"]

Api = Literal["payment_intents", "charges"]
_UNKNOWN = (StripeUnavailable, RateLimited)


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _notes(client: Client, key: str) -> dict[str, Callable[[], None]]:
    """Ledger callbacks for the transport: count each attempt before sending, and replays."""
    return {
        "on_send": lambda: client.ledger.note_attempt(key),
        "on_replay": lambda: client.ledger.note_replay(key),
    }


def _finish_failed(client: Client, key: str, exc: BaseException) -> None:
    """Record a failure; errors with an unknown outcome leave the row pending (resumable)."""
    ledger = client.ledger
    if isinstance(exc, CardDeclined):
        ledger.finish(
            key,
            "declined",
            status="failed",
            stripe_id=exc.payment_intent_id or exc.charge_id,
            charge_id=exc.charge_id,
            error_code=exc.code,
            decline_code=exc.decline_code,
            error_message=exc.message,
        )
    elif isinstance(exc, StripeRequestError) and (exc.key_spent or not isinstance(exc, _UNKNOWN)):
        # A spent key (Stripe replays its saved error) is as final as any refusal: a re-run
        # must get a new key, not this one.
        ledger.finish(key, "failed", error_code=exc.code, error_message=exc.message)
    else:
        give_up(client, key, exc)


def _send_charge(client: Client, args: Mapping[str, Any], key: str, *, explicit: bool) -> Charge:
    """Send one charge request under ``key`` and record its outcome in the ledger."""
    transport = client._transport

    metadata = {**args["metadata"], "bk_attempt": key}
    common: dict[str, Any] = {
        "amount": args["amount"],
        "currency": args["currency"],
        "customer": args["customer"],
        "metadata": metadata,
    }
    if args["description"] is not None:
        common["description"] = args["description"]
    try:
        if args["api"] == "payment_intents":
            params = {
                **common,
                "payment_method": args["payment_method"],
                "payment_method_types": ["card"],  # no redirect-based methods: no return_url
                "confirm": True,
                # Charged from a notebook, so merchant-initiated: the customer is not there to
                # authenticate (https://docs.stripe.com/payments/save-and-reuse).
                "off_session": True,
                "capture_method": "automatic" if args["capture"] else "manual",
                "expand": ["latest_charge"],
            }
            data = transport.request(
                "post", "/v1/payment_intents", params, idempotency_key=key, **_notes(client, key)
            ).data
            result = charge_of_intent(client, data)
            stripe_id = str(data["id"])
        else:
            source = args["source"]
            if source is not None and source.startswith("tok_"):
                # Stripe only charges a customer's own sources: attach the token (replay-safe).
                source = attach_payment_method(client, args["customer"], source)
            params = {**common, "capture": bool(args["capture"])}
            if source is not None:
                params["source"] = source
            data = transport.request(
                "post", "/v1/charges", params, idempotency_key=key, **_notes(client, key)
            ).data
            result = Charge.from_stripe(data)
            stripe_id = result.id
    except StripeRequestError as exc:
        if exc.key_spent:
            row = client.ledger.get(key)
            assert row is not None
            try:
                return settle_spent(client, row, exc, explicit=explicit)
            finally:
                client.ledger.release(key)
        _finish_failed(client, key, exc)
        if isinstance(exc, CardDeclined) and args["api"] == "payment_intents":
            cancel_incomplete(client, exc.payment_intent_id, key)
        raise
    except BaseException as exc:
        _finish_failed(client, key, exc)
        raise
    outcome = "succeeded" if result.status == "succeeded" else "declined"
    client.ledger.finish(
        key,
        outcome,
        status=result.status if result.captured else "requires_capture",
        stripe_id=stripe_id,
        charge_id=result.id,
        error_code=result.failure_code,
        decline_code=result.decline_code,
        error_message=result.failure_reason,
    )
    return result


def _previous_charge(client: Client, row: LedgerRow) -> Charge:
    if row.charge_id:
        try:
            data = client._transport.request("get", api_path("charges", row.charge_id)).data
            return Charge.from_stripe(data)
        except StripeRequestError:
            pass  # the ledger row alone still describes it well enough to refuse
    currency = row.currency or "usd"
    return Charge(
        id=row.charge_id or row.stripe_id or "",
        status=row.status or "succeeded",
        amount=Money(row.amount or 0, currency),
        customer=row.customer,
        payment_intent=row.stripe_id if (row.stripe_id or "").startswith("pi_") else None,
        brand=None,
        last4=None,
        failure_code=None,
        decline_code=None,
        failure_reason=None,
        created=row.created_at,
        refunded_amount=Money(0, currency),
        description=row.description,
    )


def _ago(row: LedgerRow) -> str:
    from billing_kit._ledger import _now

    minutes = (_now() - row.created_at).total_seconds() / 60
    return f"{minutes:.0f} min ago" if minutes >= 1 else "less than a minute ago"


def charge(
    client: Client,
    customer: object,
    amount: object,
    currency: str,
    *,
    payment_method: str | None = None,
    source: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    capture: bool = True,
    api: Api = "payment_intents",
    allow_duplicate: bool = False,
    idempotency_key: str | None = None,
) -> Charge:
    """Charge a customer once. See :meth:`billing_kit.Client.charge`."""
    # Everything that can be checked locally is checked before any request (nothing is created).
    if api not in ("payment_intents", "charges"):
        raise InvalidArgument(f"api must be 'payment_intents' or 'charges', got {api!r}.")
    capture = check_flag("capture", capture)
    allow_duplicate = check_flag("allow_duplicate", allow_duplicate)
    minor = parse_amount(amount, currency)
    code = currency_info(currency).code
    check_limit(client.max_amount, minor, code)
    checked_metadata = check_metadata(metadata)
    description = check_text("description", description)
    idempotency_key = check_idempotency_key(idempotency_key)
    if payment_method is not None:
        check_id("payment_method", payment_method, ("pm_",), example="pm_card_visa")
    if source is not None:
        check_id("source", source, ("tok_", "card_", "src_"), example="tok_visa")
    if payment_method is not None and source is not None:
        raise InvalidArgument("Pass payment_method (PaymentIntents) or source (Charges), not both.")
    if api == "payment_intents" and source is not None:
        raise InvalidArgument(
            f"source={source!r} is for the legacy Charges API: pass api='charges', or use "
            "payment_method='pm_card_visa' with PaymentIntents."
        )
    if api == "charges" and payment_method is not None:
        raise InvalidArgument(
            f"payment_method={payment_method!r} is for PaymentIntents: drop api='charges', or "
            "pass a token such as source='tok_visa'."
        )
    customer_id = resolve_customer_id(client, customer)
    if api == "payment_intents" and payment_method is None:
        payment_method = _default_payment_method(client, customer_id)
    args: dict[str, Any] = {
        "customer": customer_id,
        "amount": minor,
        "currency": code,
        "payment_method": payment_method,
        "source": source,
        "description": description,
        "metadata": checked_metadata,
        "capture": bool(capture),
        "api": api,
    }
    guard = _digest("charge", customer_id, minor, code, description or "")
    for _ in range(5):
        reservation = client.ledger.reserve(
            "charge",
            _digest("charge", args),
            guard=guard,
            params=args,
            customer=customer_id,
            amount=minor,
            currency=code,
            description=description,
            window=client.duplicate_window,
            allow_duplicate=allow_duplicate,
            idempotency_key=idempotency_key,
        )
        if reservation.unsettled is not None:
            settle(client, reservation.unsettled)
            continue
        if reservation.conflict is not None:
            row = reservation.conflict
            raise IdempotencyConflict(
                f"Idempotency key {idempotency_key!r} was already used at {row.created_at:%H:%M} "
                f"UTC for another request ({row.kind} of "
                f"{format_amount(row.amount or 0, row.currency or code)} to {row.customer}). "
                "Nothing was sent; pass a new key, or none to let billing_kit choose.",
                idempotency_key=idempotency_key,
            )
        if reservation.duplicate is not None:
            row = reservation.duplicate
            previous = _previous_charge(client, row)
            raise DuplicateCharge(
                f"{customer_id} was already charged {format_amount(minor, code)} "
                f"(description {description!r}) {_ago(row)} as {previous.id} "
                f"(status {previous.status!r}), within the duplicate window of "
                f"{_window(client.duplicate_window)}. Nothing was sent. To charge again on "
                "purpose, pass allow_duplicate=True.",
                previous=previous,
                idempotency_key=row.idempotency_key,
            )
        assert reservation.key is not None
        return _send_charge(client, args, reservation.key, explicit=idempotency_key is not None)
    raise RuntimeError("earlier attempts of this charge could not be settled")  # pragma: no cover


def _window(window: timedelta) -> str:
    minutes = window.total_seconds() / 60
    return f"{minutes:g} min"


def _default_payment_method(client: Client, customer_id: str) -> str:
    data = client._transport.request("get", api_path("customers", customer_id)).data
    settings = data.get("invoice_settings") or {}
    found = settings.get("default_payment_method") if isinstance(settings, Mapping) else None
    found_id = found.get("id") if isinstance(found, Mapping) else found
    if not found_id:
        raise InvalidArgument(
            f"Customer {customer_id} has no default payment method: pass "
            "payment_method='pm_card_visa' (test mode), or attach one first with "
            "client.attach_payment_method(customer, 'pm_card_visa')."
        )
    return str(found_id)


def get_charge(client: Client, charge_or_id: object) -> Charge:
    """Return the current state of a charge given as a Charge, a ``ch_…`` or a ``pi_…`` id."""
    if isinstance(charge_or_id, Charge):
        charge_or_id = charge_or_id.id
    if isinstance(charge_or_id, str) and find_card_number(charge_or_id) is not None:
        check_id("charge", charge_or_id, ("ch_", "pi_"), example="ch_3MmlLrLkdIwHu7ix0snN0B15")
    if not is_stripe_id(charge_or_id, ("ch_", "py_", "pi_")):
        raise InvalidArgument(
            f"charge={safe_repr(charge_or_id)} is not a Charge, a 'ch_…' or a 'pi_…' id (letters, "
            "digits and '_'); pass the Charge that client.charge() returned, or its id."
        )
    assert isinstance(charge_or_id, str)  # is_stripe_id said so
    transport = client._transport
    if charge_or_id.startswith("pi_"):
        intent = transport.request(
            "get", api_path("payment_intents", charge_or_id), {"expand": ["latest_charge"]}
        ).data
        return charge_of_intent(client, intent)
    return Charge.from_stripe(transport.request("get", api_path("charges", charge_or_id)).data)


def capture(client: Client, charge_or_id: object, amount: object = None) -> Charge:
    """Capture an auth-only charge, fully or partly. See :meth:`billing_kit.Client.capture`."""
    target = get_charge(client, charge_or_id)
    minor = None if amount is None else parse_amount(amount, target.amount.currency, minimum=False)
    args = {"charge": target.id, "amount": minor, "payment_intent": target.payment_intent}
    reservation = client.ledger.reserve(
        "capture",
        _digest("capture", args),
        params=args,
        customer=target.customer,
        amount=minor if minor is not None else target.amount.minor,
        currency=target.amount.currency,
        description=target.description,
    )
    key = reservation.key
    assert key is not None

    try:
        if target.payment_intent:
            params: dict[str, Any] = {"expand": ["latest_charge"]}
            if minor is not None:
                params["amount_to_capture"] = minor
            data = client._transport.request(
                "post",
                api_path("payment_intents", target.payment_intent, "capture"),
                params,
                idempotency_key=key,
                **_notes(client, key),
            ).data
            result = charge_of_intent(client, data)
        else:
            params = {} if minor is None else {"amount": minor}
            data = client._transport.request(
                "post",
                api_path("charges", target.id, "capture"),
                params,
                idempotency_key=key,
                **_notes(client, key),
            ).data
            result = Charge.from_stripe(data)
    except BaseException as exc:
        _finish_failed(client, key, exc)
        raise
    client.ledger.finish(
        key, "succeeded", status=result.status, stripe_id=result.id, charge_id=result.id
    )
    return result


def recent_charges(client: Client, limit: int = 20) -> list[Charge]:
    """Return the ``limit`` most recent charges of the account, newest first."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
        raise InvalidArgument(f"limit must be an int from 1 to 100, got {limit!r}.")
    data = client._transport.request("get", "/v1/charges", {"limit": limit}).data
    return [Charge.from_stripe(item) for item in data.get("data") or []]
