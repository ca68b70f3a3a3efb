"""The one place where stripe-python's exceptions become billing_kit's.

:data:`ERROR_MAP` lists every exception class of ``stripe._error`` and ``stripe.oauth_error``, most
specific first; :func:`map_stripe_error` walks it and returns our exception for the caller to
``raise ... from exc``. ``tests/core/test_stripe_errors.py`` fails when stripe grows a class that is
not listed here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import stripe
from stripe import oauth_error

from billing_kit._exceptions import (
    AccessDenied,
    AuthenticationFailed,
    CardDeclined,
    IdempotencyConflict,
    InvalidRequest,
    OAuthFailed,
    RateLimited,
    ResourceNotFound,
    SignatureInvalid,
    StripeRequestError,
    StripeUnavailable,
)
from billing_kit._retry import key_is_spent

__all__ = ["DECLINE_REASONS", "ERROR_MAP", "decline_reason", "map_stripe_error"]

# Ordered: a subclass must come before its base, or the base would swallow it.
ERROR_MAP: list[tuple[type[stripe.StripeError], type[StripeRequestError]]] = [
    (oauth_error.InvalidClientError, OAuthFailed),
    (oauth_error.InvalidGrantError, OAuthFailed),
    (oauth_error.InvalidRequestError, OAuthFailed),
    (oauth_error.InvalidScopeError, OAuthFailed),
    (oauth_error.UnsupportedGrantTypeError, OAuthFailed),
    (oauth_error.UnsupportedResponseTypeError, OAuthFailed),
    (oauth_error.OAuthError, OAuthFailed),
    (stripe.CardError, CardDeclined),
    (stripe.IdempotencyError, IdempotencyConflict),
    (stripe.InvalidRequestError, InvalidRequest),
    (stripe.AuthenticationError, AuthenticationFailed),
    (stripe.PermissionError, AccessDenied),
    (stripe.RateLimitError, RateLimited),
    (stripe.APIConnectionError, StripeUnavailable),
    (stripe.APIError, StripeUnavailable),
    (stripe.SignatureVerificationError, SignatureInvalid),
    # API v2 errors (money management, vaulted credentials …): Stripe refused the operation.
    (stripe.AlreadyCanceledError, InvalidRequest),
    (stripe.BlockedByStripeError, AccessDenied),
    (stripe.CannotProceedError, InvalidRequest),
    (stripe.CapabilityNotEnabledError, AccessDenied),
    (stripe.ControlledByAlternateResourceError, InvalidRequest),
    (stripe.FeatureNotEnabledError, AccessDenied),
    (stripe.FinancialAccountNotOpenError, InvalidRequest),
    (stripe.FxQuoteNeedsRefreshError, InvalidRequest),
    (stripe.InsufficientFundsError, InvalidRequest),
    (stripe.InvalidPaymentMethodError, InvalidRequest),
    (stripe.InvalidPayoutMethodError, InvalidRequest),
    (stripe.InvalidVaultedCredentialError, InvalidRequest),
    (stripe.NotCancelableError, InvalidRequest),
    (stripe.QuotaExceededError, RateLimited),
    (stripe.RecipientNotNotifiableError, InvalidRequest),
    (stripe.TemporarySessionExpiredError, InvalidRequest),
    (stripe.VerificationAttemptFailedError, InvalidRequest),
    (stripe.VerificationExpiredError, InvalidRequest),
    (stripe.VerificationNotInitiatedError, InvalidRequest),
    (stripe.StripeErrorWithParamCode, InvalidRequest),
    (stripe.StripeError, StripeUnavailable),
]

DECLINE_REASONS: dict[str, str] = {
    "generic_decline": "The bank declined the card without saying why. Ask the customer to "
    "contact their bank or use another card.",
    "insufficient_funds": "The card has insufficient funds. Ask the customer for another card "
    "or to try again later.",
    "lost_card": "The card was reported lost. Do not retry; ask for another payment method.",
    "stolen_card": "The card was reported stolen. Do not retry; ask for another payment method.",
    "expired_card": "The card has expired. Ask the customer for a current card.",
    "incorrect_cvc": "The security code (CVC) is wrong. Ask the customer to re-enter the card.",
    "incorrect_number": "The card number is wrong. Ask the customer to re-enter the card.",
    "processing_error": "The bank had a processing error. Retrying in a little while may work.",
    "fraudulent": "Stripe blocked the payment as likely fraud. Do not retry this card.",
    "card_velocity_exceeded": "The card went over its spending limit. Ask for another card.",
    "authentication_required": "The card needs 3D Secure authentication, which a notebook "
    "cannot perform (the customer is not there): ask the customer to pay through Stripe "
    "Checkout or a payment link, or use a card that does not require it.",
    "do_not_honor": "The bank declined the card without saying why. Ask the customer to "
    "contact their bank or use another card.",
}


def decline_reason(code: str | None) -> str:
    """Return a plain-language reason and next step for a decline or card error code."""
    if code and code in DECLINE_REASONS:
        return DECLINE_REASONS[code]
    return (
        f"The card was declined ({code or 'no code given'}). Ask the customer to use another "
        "card or to contact their bank."
    )


def _error_fields(exc: stripe.StripeError) -> Mapping[str, Any]:
    body = exc.json_body
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            return error
    return {}


def _connection_message(stripe_message: str) -> str:
    # stripe-python's text asks to write to support and buries the cause in a long urllib3 chain:
    # keep the host and the operating system's reason, which is what the user can act on.
    host = re.search(r"host='([^']+)', port=(\d+)", stripe_message)
    reason = re.search(r"\[Errno -?\d+\] ([^\"')]+)", stripe_message)
    where = f" at {host.group(1)}:{host.group(2)}" if host else ""
    why = f": {reason.group(1).strip()}" if reason else ""
    return (
        f"Could not reach the Stripe API{where}{why}. Check the network connection, and "
        "STRIPE_API_BASE or connect(api_base=...) if you set one."
    )


def map_stripe_error(
    exc: stripe.StripeError, *, idempotency_key: str | None = None
) -> StripeRequestError:
    """Return the billing_kit exception for a stripe-python exception (the caller raises it).

    Parameters
    ----------
    exc
        The exception stripe-python raised.
    idempotency_key
        Key of the request, attached so the user can re-run safely.
    """
    target: type[StripeRequestError] = StripeUnavailable
    for stripe_class, ours in ERROR_MAP:
        if isinstance(exc, stripe_class):
            target = ours
            break
    fields = _error_fields(exc)
    code = exc.code or fields.get("code")
    param = fields.get("param") if isinstance(fields.get("param"), str) else None
    message = exc.user_message or str(exc) or type(exc).__name__
    if isinstance(exc, stripe.APIConnectionError):
        message = _connection_message(message)
    spent = idempotency_key is not None and key_is_spent(exc)
    details: dict[str, Any] = {
        "http_status": exc.http_status,
        "code": code,
        "request_id": exc.request_id,
        "idempotency_key": idempotency_key,
        "param": param,
        "key_spent": spent,
    }
    if target is InvalidRequest and (exc.http_status == 404 or code == "resource_missing"):
        target = ResourceNotFound
    if target is CardDeclined:
        decline_code = fields.get("decline_code") or code
        payment_intent = fields.get("payment_intent")
        pi_id = payment_intent.get("id") if isinstance(payment_intent, Mapping) else None
        charge = fields.get("charge")
        reason = decline_reason(decline_code)
        return CardDeclined(
            f"Card declined: {message} {reason}",
            decline_code=decline_code,
            reason=reason,
            charge_id=charge if isinstance(charge, str) else None,
            payment_intent_id=pi_id,
            **details,
        )
    if target is AuthenticationFailed:
        message += (
            " Check the key (STRIPE_API_KEY, .env or connect(api_key=...)); it must belong "
            "to this account and mode."
        )
    elif target is RateLimited and idempotency_key:
        message += (
            f" Stripe did not run the request; re-running the same call later reuses idempotency "
            f"key {idempotency_key!r}, so it cannot charge twice."
        )
    elif spent:
        message += (
            f" Stripe saved this error under idempotency key {idempotency_key!r} and replays it "
            "for 24 hours: the attempt must be looked up in Stripe and sent again with a new key."
        )
    elif target is StripeUnavailable and idempotency_key:
        message += (
            f" The outcome is unknown; re-running the same call reuses idempotency key "
            f"{idempotency_key!r}, so it cannot charge twice."
        )
    return target(message, **details)
