"""Refunds, full or partial, with the same exactly-once rules as charges (see ``_charges``).

The duplicate guard for refunds matches the charge, amount and reason: a re-run refund cell within
the window raises :class:`~billing_kit.DuplicateRefund` instead of refunding twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from billing_kit._charges import _ago, _digest, _finish_failed, _notes, _window, get_charge
from billing_kit._exceptions import DuplicateRefund, InvalidArgument, StripeRequestError
from billing_kit._models import Money, Refund
from billing_kit._money import format_amount, parse_amount
from billing_kit._pan import safe_repr
from billing_kit._validation import check_flag

if TYPE_CHECKING:
    from billing_kit._client import Client

__all__ = ["REFUND_REASONS", "refund"]

REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def refund(
    client: Client,
    charge_or_id: object,
    amount: object = None,
    *,
    reason: str | None = None,
    allow_duplicate: bool = False,
) -> Refund:
    """Refund a charge, fully or partly. See :meth:`billing_kit.Client.refund`."""
    allow_duplicate = check_flag("allow_duplicate", allow_duplicate)
    if reason is not None and reason not in REFUND_REASONS:
        raise InvalidArgument(
            f"Refund reason={safe_repr(reason)} is not one Stripe accepts; use one of "
            f"{REFUND_REASONS!r} or None."
        )
    target = get_charge(client, charge_or_id)
    minor = None if amount is None else parse_amount(amount, target.amount.currency, minimum=False)
    args = {"charge": target.id, "amount": minor, "reason": reason}
    # Guard and intent are the same for refunds, so there is never an "unsettled" other attempt.
    intent = _digest("refund", args)
    reservation = client.ledger.reserve(
        "refund",
        intent,
        guard=intent,
        params=args,
        customer=target.customer,
        amount=minor if minor is not None else target.amount.minor,
        currency=target.amount.currency,
        description=target.description,
        window=client.duplicate_window,
        allow_duplicate=allow_duplicate,
    )
    if reservation.duplicate is not None:
        row = reservation.duplicate
        raise DuplicateRefund(
            f"{target.id} was already refunded "
            f"{format_amount(row.amount or 0, target.amount.currency)} {_ago(row)} as "
            f"{row.stripe_id}, within the duplicate window of "
            f"{_window(client.duplicate_window)}. Nothing was sent. To refund again on purpose, "
            "pass allow_duplicate=True.",
            previous=Refund(
                id=row.stripe_id or "",
                charge=target.id,
                amount=Money(row.amount or 0, target.amount.currency),
                status=row.status,
                reason=reason,
            ),
            idempotency_key=row.idempotency_key,
        )
    key = reservation.key
    assert key is not None
    params: dict[str, Any] = {"charge": target.id, "metadata": {"bk_attempt": key}}
    if minor is not None:
        params["amount"] = minor
    if reason is not None:
        params["reason"] = reason
    try:
        data = client._transport.request(
            "post",
            "/v1/refunds",
            params,
            idempotency_key=key,
            **_notes(client, key),
        ).data
    except StripeRequestError as exc:
        found = _spent_refund(client, target.id, key) if exc.key_spent else None
        if found is None:
            _finish_failed(client, key, exc)  # a spent key is finished: a re-run gets a new one
            raise
        data = found
    except BaseException as exc:
        _finish_failed(client, key, exc)
        raise
    result = Refund.from_stripe(data)
    client.ledger.finish(
        key, "succeeded", status=result.status, stripe_id=result.id, charge_id=target.id
    )
    return result


def _spent_refund(client: Client, charge_id: str, key: str) -> Mapping[str, Any] | None:
    """Find the refund sent under ``key`` after Stripe spent the key on a saved error.

    Looked up by ``metadata["bk_attempt"]`` among the charge's refunds (every page), so a re-run
    with a new key cannot refund twice if the failed request did refund.
    """
    params: dict[str, Any] = {"charge": charge_id, "limit": 100}
    while True:
        page = client._transport.request("get", "/v1/refunds", params).data
        items = page.get("data") or []
        for item in items:
            if (item.get("metadata") or {}).get("bk_attempt") == key:
                return dict(item)
        if not page.get("has_more") or not items:
            return None
        params["starting_after"] = items[-1]["id"]
