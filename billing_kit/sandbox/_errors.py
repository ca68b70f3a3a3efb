"""Stripe error bodies and HTTP statuses (https://docs.stripe.com/api/errors), raised inside the
core as :class:`StripeError`.

The core raises; :mod:`._core` turns the exception into ``(status, {"error": {...}})``. Whether a
failure is saved under an idempotency key (https://docs.stripe.com/api/idempotent_requests) travels
with the exception: validation failures are not saved, failures after the endpoint began executing
(card declines, state conflicts) are.
"""

from __future__ import annotations

from typing import Any

_DOC_BASE = "https://stripe.com/docs/error-codes/"
_LOG_BASE = "https://dashboard.stripe.com/test/logs/"


class StripeError(Exception):
    """A Stripe API error the sandbox answers with.

    Parameters
    ----------
    status
        HTTP status (400, 401, 402, 404, 409, 413, 429, 500 ...).
    error_type
        ``error.type``: ``invalid_request_error``, ``card_error``, ``idempotency_error`` or
        ``api_error``.
    message
        The human-readable ``error.message``.
    code, param, decline_code
        Optional ``error.code``, ``error.param`` and ``error.decline_code``.
    saved
        Whether an idempotency key keeps this outcome (True once execution began).
    extra
        More ``error`` fields, e.g. ``charge``, ``payment_intent``, ``payment_method``.
    headers
        Extra response headers (e.g. ``Stripe-Rate-Limited-Reason``).
    """

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        saved: bool = False,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = error_type
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.saved = saved
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self, request_id: str | None = None, at: int | None = None) -> dict[str, Any]:
        """Return the JSON body ``{"error": {...}}`` Stripe sends for this error.

        With ``request_id``, the body carries ``request_log_url``, "a URL to the request log
        entry in your dashboard" (https://docs.stripe.com/api/errors), naming the same id as the
        ``Request-Id`` header and, as Stripe's do, the request's time as ``?t=<unix seconds>``.
        """
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if request_id is not None:
            suffix = "" if at is None else f"?t={at}"
            error["request_log_url"] = f"{_LOG_BASE}{request_id}{suffix}"
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = _DOC_BASE + self.code.replace("_", "-")
        if self.param is not None:
            error["param"] = self.param
        if self.decline_code is not None:
            error["decline_code"] = self.decline_code
        error.update(self.extra)
        return {"error": error}


def invalid(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400
) -> StripeError:
    """Return a validation error (400 ``invalid_request_error``), never saved under a key."""
    return StripeError(status, "invalid_request_error", message, code=code, param=param)


def state_error(message: str, *, code: str | None = None, param: str | None = None) -> StripeError:
    """Return a 400 raised after execution began (e.g. already captured): saved under a key."""
    return StripeError(400, "invalid_request_error", message, code=code, param=param, saved=True)


def missing(param: str) -> StripeError:
    """Return Stripe's ``parameter_missing`` error for ``param``."""
    return invalid(f"Missing required param: {param}.", param=param, code="parameter_missing")


def empty(param: str) -> StripeError:
    """Return Stripe's ``parameter_invalid_empty`` error: ``param`` was sent as ``""``.

    An empty string asks Stripe to unset a value (https://docs.stripe.com/error-codes); a
    required parameter cannot be unset, so this is its own error, not ``parameter_missing``.
    """
    return invalid(
        f"You passed an empty string for '{param}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{param}' cannot be unset. You should remove '{param}' "
        "from your request or supply a non-empty value.",
        param=param,
        code="parameter_invalid_empty",
    )


def unknown_param(param: str) -> StripeError:
    """Return Stripe's ``parameter_unknown`` error for ``param``."""
    return invalid(f"Received unknown parameter: {param}", param=param, code="parameter_unknown")


def no_such(kind: str, object_id: str, *, param: str = "id") -> StripeError:
    """Return the 404 ``resource_missing`` error Stripe gives for an unknown id."""
    return invalid(
        f"No such {kind}: '{object_id}'", param=param, code="resource_missing", status=404
    )


def api_error(message: str = "An unknown error occurred") -> StripeError:
    """Return a 500 ``api_error``."""
    return StripeError(500, "api_error", message)


RATE_LIMIT_MESSAGE = (
    "Request rate limit exceeded. Learn more about rate limits here "
    "https://stripe.com/docs/rate-limits."
)


def rate_limited(reason: str = "endpoint-rate") -> StripeError:
    """Return the 429 ``rate_limit`` error with ``Stripe-Rate-Limited-Reason``.

    See https://docs.stripe.com/rate-limits.
    """
    return StripeError(
        429,
        "invalid_request_error",
        RATE_LIMIT_MESSAGE,
        code="rate_limit",
        headers={"Stripe-Rate-Limited-Reason": reason, "Stripe-Should-Retry": "false"},
    )


def card_error(
    message: str,
    *,
    code: str,
    decline_code: str | None = None,
    param: str | None = None,
    extra: dict[str, Any] | None = None,
) -> StripeError:
    """Return a 402 ``card_error`` (saved under an idempotency key: the attempt happened)."""
    return StripeError(
        402,
        "card_error",
        message,
        code=code,
        param=param,
        decline_code=decline_code,
        saved=True,
        extra=extra,
    )
