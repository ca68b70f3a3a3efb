"""Settling an unfinished attempt: find out from Stripe what became of it, before sending another.

An attempt is unfinished while its ledger row is ``pending``: the process that sent it died, gave
up after its retries, or is sending it right now (another kernel, another thread). Every charge
and refund carries its idempotency key in ``metadata["bk_attempt"]``, so the attempt is looked up
by that key (https://docs.stripe.com/api/metadata). Found: its outcome is recorded. Not found:
it is marked ``abandoned`` only once it cannot be in flight any more; until then the caller gets
:class:`~billing_kit.OutcomeUnknown` and nothing is sent, so two kernels can never both charge.

Also here: cancelling a PaymentIntent a decline left incomplete, so none pile up in Stripe.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from billing_kit._exceptions import (
    CardDeclined,
    OutcomeUnknown,
    RateLimited,
    StripeRequestError,
    StripeUnavailable,
)
from billing_kit._ledger import LedgerRow, _now
from billing_kit._models import Charge
from billing_kit._money import format_amount
from billing_kit._validation import api_path

if TYPE_CHECKING:
    from billing_kit._client import Client

__all__ = ["cancel_incomplete", "charge_of_intent", "give_up", "settle", "settle_spent"]

log = logging.getLogger("billing_kit")

# How far before the attempt's row an object with its key may have been created (clock skew
# between this machine and Stripe).
_SKEW = 300
# PaymentIntent states a failed confirmation leaves behind; they stay open until cancelled
# (https://docs.stripe.com/payments/paymentintents/lifecycle).
_INCOMPLETE = ("requires_payment_method", "requires_action", "requires_confirmation")


def charge_of_intent(client: Client, intent: Mapping[str, Any]) -> Charge:
    """Return the charge of a PaymentIntent, or raise :class:`CardDeclined` when it has none."""
    latest = intent.get("latest_charge")
    if isinstance(latest, Mapping):
        return Charge.from_stripe(latest)
    if isinstance(latest, str):
        return Charge.from_stripe(
            client._transport.request("get", api_path("charges", latest)).data
        )
    status = intent.get("status")
    raise CardDeclined(
        f"PaymentIntent {intent.get('id')!r} is {status!r} and has no charge.",
        decline_code="authentication_required" if status == "requires_action" else status,
        reason="The card needs 3D Secure authentication, which a notebook cannot perform; use "
        "a card that does not require it, or collect the payment with Stripe Checkout.",
        charge_id=None,
        payment_intent_id=intent.get("id"),
    )


def cancel_incomplete(client: Client, intent_id: str | None, key: str) -> None:
    """Cancel a PaymentIntent a decline left open (best effort: a failure is only logged).

    Stripe keeps such an intent in ``requires_payment_method``/``requires_action`` until it is
    cancelled (https://docs.stripe.com/api/payment_intents/cancel); billing_kit never confirms
    one again (a re-run makes a new attempt), so it is closed at once.
    """
    if not intent_id:
        return
    try:
        client._transport.request(
            "post",
            api_path("payment_intents", intent_id, "cancel"),
            {"cancellation_reason": "abandoned"},
            idempotency_key=f"{key}-cancel",
        )
    except StripeRequestError as exc:
        log.warning("could not cancel the declined PaymentIntent %s: %s", intent_id, exc)


def give_up(client: Client, key: str, exc: BaseException) -> None:
    """Record that this process stopped sending ``key`` without knowing the outcome."""
    if isinstance(exc, RateLimited):
        code: str | None = "rate_limited"  # Stripe's rate limiter ran before anything else
    else:
        code = exc.code if isinstance(exc, StripeRequestError) else None
    client.ledger.give_up(key, error_code=code, error_message=str(exc) or type(exc).__name__)


def _in_flight_until(client: Client, row: LedgerRow) -> datetime | None:
    """Return until when ``row``'s attempt may still be executing, or ``None`` if it cannot be."""
    if client.ledger.is_sending(row.idempotency_key):
        return _now() + client._in_flight_for  # this process is sending it right now
    if row.error_message is None:
        # No process said it gave up: the sender may still be retrying (or was killed).
        until = row.updated_at + client._in_flight_for
    elif row.error_code == "rate_limited":
        return None  # the last answer was a 429: Stripe executed nothing
    else:
        # The sender stopped waiting; Stripe may still be running the last request it sent.
        until = row.updated_at + client._answer_within
    return until if until > _now() else None


def _matches(client: Client, row: LedgerRow, path: str) -> Iterator[Mapping[str, Any]]:
    """Yield every object of ``path`` for the row's customer created since the row, all pages."""
    since = int(row.created_at.timestamp()) - _SKEW
    params: dict[str, Any] = {"customer": row.customer, "created": {"gte": since}, "limit": 100}
    while True:
        page = client._transport.request("get", path, params).data
        items = page.get("data") or []
        yield from items
        if not page.get("has_more") or not items:
            return
        params["starting_after"] = items[-1]["id"]


def _find(client: Client, row: LedgerRow) -> Mapping[str, Any] | None:
    api = json.loads(row.params).get("api", "payment_intents")
    path = "/v1/payment_intents" if api == "payment_intents" else "/v1/charges"
    for item in _matches(client, row, path):
        if (item.get("metadata") or {}).get("bk_attempt") == row.idempotency_key:
            return item
    return None


def _record(client: Client, row: LedgerRow, item: Mapping[str, Any]) -> Charge | None:
    """Record the outcome of the found object ``item``; return its charge, if it has one."""
    key = row.idempotency_key
    if item.get("object") == "payment_intent":
        if item.get("status") in _INCOMPLETE:
            cancel_incomplete(client, str(item["id"]), key)
        try:
            found = charge_of_intent(client, item)
        except CardDeclined:  # the PaymentIntent exists but never produced a charge
            client.ledger.finish(key, "declined", stripe_id=str(item["id"]))
            return None
    else:
        found = Charge.from_stripe(item)
    client.ledger.finish(
        key,
        "succeeded" if found.succeeded else "declined",
        status=found.status if found.captured or not found.succeeded else "requires_capture",
        stripe_id=str(item["id"]),
        charge_id=found.id,
        error_code=found.failure_code,
        decline_code=found.decline_code,
        error_message=found.failure_reason,
    )
    return found


def settle(client: Client, row: LedgerRow) -> None:
    """Settle the unfinished attempt ``row`` before a charge with other details is sent.

    Raises
    ------
    OutcomeUnknown
        Not found in Stripe, and it may still be in flight; nothing was recorded.
    """
    item = _find(client, row)
    if item is not None:
        _record(client, row, item)
        return
    until = _in_flight_until(client, row)
    if until is not None:
        amount = format_amount(row.amount or 0, row.currency or "usd")
        raise OutcomeUnknown(
            f"An earlier attempt to charge {row.customer} {amount} (description "
            f"{row.description!r}, idempotency key {row.idempotency_key!r}, started "
            f"{row.created_at:%H:%M:%S} UTC) has no outcome yet and is not in Stripe yet: another "
            "kernel or thread may still be sending it, so charging now could charge twice. "
            f"Nothing was sent. Run this again after {until:%H:%M:%S} UTC: billing_kit then looks "
            "the attempt up again and refuses a duplicate if it went through, or records it as "
            "abandoned and charges. To charge a second time on purpose, pass "
            "allow_duplicate=True.",
            idempotency_key=row.idempotency_key,
            retry_after=until,
        )
    client.ledger.finish(
        row.idempotency_key,
        "abandoned",
        error_message="not found in Stripe: the interrupted request never arrived",
    )


def settle_spent(
    client: Client, row: LedgerRow, exc: StripeRequestError, *, explicit: bool = False
) -> Charge:
    """Settle an attempt whose key Stripe spent on a saved error; return its charge if found.

    The key can never carry the request again (Stripe replays the saved error for 24 hours), so
    the row is finished either way and the next call makes a new key (``explicit``: the caller
    chose the key, and must pass a new one).

    Raises
    ------
    CardDeclined
        The attempt was found, declined.
    StripeUnavailable
        Not found: nothing was charged; the message says the next call uses a new key.
    """
    key = row.idempotency_key
    try:
        item = _find(client, row)
    except StripeRequestError as failed:
        # The row stays pending: the next call resumes the key, hears the replay again, and
        # looks the attempt up again.
        error = StripeUnavailable(
            f"Stripe answered HTTP {exc.http_status} and saved that error under idempotency key "
            f"{key!r}, so the key is spent, and looking the attempt up failed too ({failed}). "
            "Run the same call again: it looks the attempt up again, and then charges with a "
            "new key unless the attempt went through.",
            http_status=exc.http_status,
            code=exc.code,
            request_id=exc.request_id,
            idempotency_key=key,
            key_spent=True,
        )
        give_up(client, key, error)
        raise error from exc
    found = _record(client, row, item) if item is not None else None
    if found is not None and found.succeeded:
        return found
    if found is not None or item is not None:
        code = found.decline_code if found is not None else "authentication_required"
        from billing_kit._stripe_errors import decline_reason  # imports stripe

        reason = decline_reason(code)
        raise CardDeclined(
            f"Card declined: {reason}",
            decline_code=code,
            reason=reason,
            charge_id=found.id if found is not None else None,
            payment_intent_id=str(item["id"]) if item is not None else None,
            idempotency_key=key,
        ) from exc
    client.ledger.finish(key, "failed", error_code=exc.code, error_message=exc.message)
    next_step = (
        "Run it again with a new key: pass another idempotency_key, or none to let billing_kit "
        "choose one (the charge form makes a new one itself)."
        if explicit
        else "Run the same call again: it is sent with a new key."
    )
    raise StripeUnavailable(
        f"Stripe answered HTTP {exc.http_status} and saved that error under idempotency key "
        f"{key!r}: it replays it for 24 hours, so the key is spent. billing_kit looked the attempt "
        f"up in Stripe: nothing was charged under it, and the ledger records it as failed. "
        f"{next_step}",
        http_status=exc.http_status,
        code=exc.code,
        request_id=exc.request_id,
        idempotency_key=key,
        key_spent=True,
    ) from exc
