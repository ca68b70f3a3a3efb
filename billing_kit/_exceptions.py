"""Every error billing_kit raises. Catch :class:`BillingKitError` to catch them all.

The tree::

    BillingKitError
    ├── ConfigurationError ............ bad key, folder or option; nothing was sent
    │   └── LiveModeNotAllowed ........ a live key without allow_live=True
    ├── InvalidArgument (ValueError) .. an argument rejected before anything was sent
    │   ├── InvalidAmount ............. not a number, too many decimals, below minimum …
    │   │   └── UnknownCurrency
    │   └── InvalidBatch .............. a sheet of charges with problems (.problems)
    ├── DuplicateOperation ............ refused by the duplicate guard; nothing was sent
    │   ├── DuplicateCharge
    │   ├── DuplicateRefund
    │   └── OutcomeUnknown ............ a matching attempt may still be in flight
    └── StripeRequestError ............ Stripe (or the network) answered with an error
        ├── AuthenticationFailed ...... 401, key rejected
        ├── AccessDenied .............. 403, key lacks a permission (stripe's PermissionError)
        ├── InvalidRequest ............ 400/404, Stripe rejected the parameters
        │   └── ResourceNotFound ...... 404, no such customer/charge/...
        ├── CardDeclined .............. 402, with .decline_code, .reason, .charge_id
        ├── IdempotencyConflict ....... a key reused with different parameters
        ├── RateLimited ............... 429 after every retry
        ├── StripeUnavailable ......... 5xx/409/connection errors after every retry
        ├── SignatureInvalid .......... webhook signature did not verify
        └── OAuthFailed ............... Connect OAuth error

Messages never contain an API key: every message passes through :func:`billing_kit._masking.scrub`.
Stripe's own exception stays reachable as ``__cause__`` (``raise ... from exc``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from billing_kit._masking import scrub

if TYPE_CHECKING:
    from datetime import datetime

    from billing_kit._models import Charge, Refund

__all__ = [
    "AccessDenied",
    "AuthenticationFailed",
    "BillingKitError",
    "CardDeclined",
    "ConfigurationError",
    "DuplicateCharge",
    "DuplicateOperation",
    "DuplicateRefund",
    "IdempotencyConflict",
    "InvalidAmount",
    "InvalidArgument",
    "InvalidBatch",
    "InvalidRequest",
    "LiveModeNotAllowed",
    "OAuthFailed",
    "OutcomeUnknown",
    "RateLimited",
    "ResourceNotFound",
    "SignatureInvalid",
    "StripeRequestError",
    "StripeUnavailable",
    "UnknownCurrency",
]


class BillingKitError(Exception):
    """Base class of every billing_kit error; its message never contains an API key."""

    def __init__(self, message: str) -> None:
        self.message = scrub(message)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take keyword-only details, which Exception's default pickling would drop;
        # rebuilding from the instance dict keeps them (process pools, papermill, ipyparallel).
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[BillingKitError], message: str, state: dict[str, Any]) -> BillingKitError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class ConfigurationError(BillingKitError):
    """The key, base URL, state folder or an option is unusable; nothing was sent to Stripe."""


class LiveModeNotAllowed(ConfigurationError):
    """A live key was given without ``allow_live=True`` or ``BILLING_KIT_ALLOW_LIVE=1``."""


class InvalidArgument(BillingKitError, ValueError):
    """An argument was rejected before anything was sent to Stripe."""


class InvalidAmount(InvalidArgument):
    """An amount was rejected before anything was sent (see :func:`billing_kit.parse_amount`)."""


class UnknownCurrency(InvalidAmount):
    """The currency is not one Stripe charges in."""


class InvalidBatch(InvalidArgument):
    """A sheet of charges has problems; nothing was sent (:meth:`~billing_kit.Client.charge_batch`).

    Attributes
    ----------
    problems
        A DataFrame with one row per problem: ``row`` (as a spreadsheet shows it, the header is
        row 1), ``column``, ``value`` (card numbers masked) and ``message`` (what to fix).
    """

    def __init__(self, message: str, *, problems: Any) -> None:
        super().__init__(message)
        self.problems = problems


class DuplicateOperation(BillingKitError):
    """The duplicate guard refused an operation that matches a recent one; nothing was sent.

    Attributes
    ----------
    idempotency_key
        Key of the earlier attempt, as stored in the ledger.
    """

    def __init__(self, message: str, *, idempotency_key: str) -> None:
        super().__init__(message)
        self.idempotency_key = idempotency_key


class DuplicateCharge(DuplicateOperation):
    """Same customer, amount, currency and description charged within the duplicate window.

    Attributes
    ----------
    previous
        The earlier :class:`~billing_kit.Charge`.
    """

    def __init__(self, message: str, *, previous: Charge, idempotency_key: str) -> None:
        super().__init__(message, idempotency_key=idempotency_key)
        self.previous = previous


class DuplicateRefund(DuplicateOperation):
    """Same charge and amount refunded within the duplicate window.

    Attributes
    ----------
    previous
        The earlier :class:`~billing_kit.Refund`.
    """

    def __init__(self, message: str, *, previous: Refund, idempotency_key: str) -> None:
        super().__init__(message, idempotency_key=idempotency_key)
        self.previous = previous


class OutcomeUnknown(DuplicateOperation):
    """An earlier attempt of the same charge has no outcome yet and may still be in flight.

    Another kernel or thread may be sending it at this moment, so charging now could charge
    twice. Nothing was sent. Running the same call again after ``.retry_after`` settles the
    earlier attempt (found in Stripe: a duplicate; not found: abandoned) and goes on.

    Attributes
    ----------
    idempotency_key
        Key of the earlier attempt, as stored in the ledger.
    retry_after
        UTC time after which the earlier attempt can no longer be in flight.
    """

    def __init__(self, message: str, *, idempotency_key: str, retry_after: datetime) -> None:
        super().__init__(message, idempotency_key=idempotency_key)
        self.retry_after = retry_after


class StripeRequestError(BillingKitError):
    """Stripe, or the network on the way to it, answered a request with an error.

    Attributes
    ----------
    http_status
        HTTP status, or ``None`` for connection errors.
    code
        Stripe's error code (``"card_declined"``, ``"resource_missing"`` …) or ``None``.
    request_id
        Stripe's ``req_…`` id, for support and the dashboard logs.
    idempotency_key
        Key the request was sent with: re-running the same call reuses it, so Stripe replays
        instead of acting twice.
    key_spent
        ``True`` when Stripe saved this error under the idempotency key (a 5xx answered with
        ``Idempotent-Replayed: true`` or ``Stripe-Should-Retry: false``): sending the key again
        only replays the error, so the next attempt needs a new key.
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
        param: str | None = None,
        key_spent: bool = False,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.request_id = request_id
        self.idempotency_key = idempotency_key
        self.param = param
        self.key_spent = key_spent

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, http_status={self.http_status!r}, "
            f"code={self.code!r}, request_id={self.request_id!r})"
        )


class AuthenticationFailed(StripeRequestError):
    """Stripe rejected the API key (HTTP 401); the message shows it masked."""


class AccessDenied(StripeRequestError):
    """The key is valid but lacks a permission (HTTP 403), e.g. a restricted ``rk_`` key."""


class InvalidRequest(StripeRequestError, ValueError):
    """Stripe rejected the request's parameters (HTTP 400/404); ``.param`` names the field."""


class ResourceNotFound(InvalidRequest):
    """The customer, charge, payment method … does not exist in this account and mode."""


class CardDeclined(StripeRequestError):
    """The card was declined (HTTP 402). The failed charge still exists in Stripe.

    Attributes
    ----------
    decline_code
        Issuer's reason (``"insufficient_funds"``, ``"generic_decline"`` …) or Stripe's error code
        when none (``"expired_card"``, ``"incorrect_cvc"``).
    reason
        The reason in plain language, with what to do next.
    charge_id
        Id of the failed ``ch_…`` charge, if Stripe created one.
    payment_intent_id
        Id of the ``pi_…`` PaymentIntent, for PaymentIntents charges.
    """

    def __init__(
        self,
        message: str,
        *,
        decline_code: str | None,
        reason: str,
        charge_id: str | None,
        payment_intent_id: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, **details)
        self.decline_code = decline_code
        self.reason = reason
        self.charge_id = charge_id
        self.payment_intent_id = payment_intent_id


class IdempotencyConflict(StripeRequestError):
    """An idempotency key was reused with different parameters or on another endpoint."""


class RateLimited(StripeRequestError):
    """Stripe kept answering 429 after every retry; re-run later, the same key is reused."""


class StripeUnavailable(StripeRequestError):
    """Stripe could not be reached, or kept failing (5xx, 409), after every retry.

    The outcome of a write is unknown: re-running the same call reuses ``.idempotency_key``,
    so Stripe replays the first result instead of charging twice.
    """


class SignatureInvalid(StripeRequestError):
    """A webhook payload's signature did not verify with the endpoint secret."""


class OAuthFailed(StripeRequestError):
    """A Stripe Connect OAuth call failed (invalid grant, client, scope …)."""
