"""PaymentIntents (https://docs.stripe.com/api/payment_intents): create, confirm, capture, cancel,
update, retrieve, list.

The state machine: ``requires_payment_method`` -> ``requires_confirmation`` -> (``requires_action``
for 3D Secure cards) -> ``requires_capture`` (manual capture) -> ``succeeded``; ``canceled`` from
any state before success. A declined confirm answers 402 with the PI (back to
``requires_payment_method``, ``last_payment_error`` set) and the failed charge; the PI persists.
"""

from __future__ import annotations

from typing import Any

from billing_kit.sandbox import _charges, _lists, _params, _refunds
from billing_kit.sandbox._cards import AUTH_REQUIRED
from billing_kit.sandbox._context import Ctx
from billing_kit.sandbox._errors import StripeError, invalid
from billing_kit.sandbox._ids import new_id
from billing_kit.sandbox._payment_methods import (
    attach_to,
    create_payment_method,
    get_payment_method,
    instrument,
)
from billing_kit.sandbox._shapes import payment_intent_body

_CONFIRM = frozenset(
    {"payment_method", "return_url", "off_session", "error_on_requires_action", "receipt_email",
     "setup_future_usage", "shipping", "payment_method_options", "payment_method_types",
     "mandate_data", "use_stripe_sdk", "capture_method", "confirmation_token", "radar_options"}
)  # fmt: skip
_CREATE = _CONFIRM | frozenset(
    {"amount", "currency", "customer", "description", "metadata", "confirm", "capture_method",
     "confirmation_method", "automatic_payment_methods", "statement_descriptor",
     "statement_descriptor_suffix", "payment_method_configuration", "transfer_group",
     "on_behalf_of", "application_fee_amount", "transfer_data", "amount_details",
     "payment_method_data"}
)  # fmt: skip
_CAPTURE_METHODS = ("automatic", "automatic_async", "manual")
_CANCELABLE = ("requires_payment_method", "requires_confirmation", "requires_action",
               "requires_capture")  # fmt: skip
_CANCEL_REASONS = ("abandoned", "duplicate", "fraudulent", "requested_by_customer")
_REDIRECT_MESSAGE = (
    "This PaymentIntent is configured to accept payment methods enabled in your Dashboard, some of "
    "which may require a full page redirect to succeed. If you do not want to accept "
    "redirect-based "
    "payment methods, set `automatic_payment_methods[enabled]` to `true` and "
    "`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and "
    "Payment "
    "Intents. If you do want to accept redirect-based payment methods, set the `return_url` "
    "parameter when confirming a PaymentIntent."
)


def _unexpected_state(intent: dict[str, Any], action: str) -> StripeError:
    return StripeError(
        400,
        "invalid_request_error",
        f"This PaymentIntent's {action} could not be performed because it has a status of "
        f"{intent['status']}.",
        code="payment_intent_unexpected_state",
        saved=True,
        extra={"payment_intent": intent},
    )


def create(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/payment_intents`` (``confirm=true`` confirms at once)."""
    _params.allow(params, _CREATE)
    amount, currency = _charges.amount_and_currency(params)
    customer = _params.text(params, "customer")
    if customer is not None:
        ctx.get("customers", customer, param="customer")
    types = _params.string_list(params, "payment_method_types")
    automatic = _params.mapping(params, "automatic_payment_methods")
    if types is not None:
        unsupported = [t for t in types if t != "card"]
        if unsupported:
            raise invalid(
                f"The sandbox only emulates card payments; payment_method_types {unsupported!r} "
                "are not supported.",
                param="payment_method_types",
            )
        automatic_body = None
    else:
        enabled = _params.boolean(automatic or {}, "enabled", default=True)
        redirects = _params.text(automatic or {}, "allow_redirects", choices=("always", "never"))
        automatic_body = {"allow_redirects": redirects or "always", "enabled": enabled}
        types = ["card"]
    pm_id = _params.text(params, "payment_method")
    if pm_id is not None and pm_id.startswith("pm_card_"):
        pm_id = get_payment_method(ctx, pm_id)["id"]
    data = _params.mapping(params, "payment_method_data")
    if data is not None:
        if pm_id is not None:
            raise invalid(
                "Pass either payment_method or payment_method_data, not both.",
                param="payment_method_data",
            )
        pm_id = create_payment_method(ctx, data)["id"]
    intent = payment_intent_body(
        new_id("payment_intent"),
        ctx.now,
        amount=amount,
        currency=currency,
        customer=customer,
        payment_method=pm_id,
        capture_method=_params.text(params, "capture_method", choices=_CAPTURE_METHODS)
        or "automatic_async",
        confirmation_method=_params.text(
            params, "confirmation_method", choices=("automatic", "manual")
        )
        or "automatic",
        description=_params.text(params, "description"),
        metadata=_params.metadata(params) or {},
        payment_method_types=types,
        automatic_payment_methods=automatic_body,
        receipt_email=_params.text(params, "receipt_email"),
        setup_future_usage=_params.text(
            params, "setup_future_usage", choices=("on_session", "off_session")
        ),
        statement_descriptor=_params.text(params, "statement_descriptor", max_length=22),
        shipping=_params.mapping(params, "shipping"),
    )
    if pm_id is not None:
        instrument(ctx, pm_id, customer=None, param="payment_method")  # 404 for unknown ids now
    ctx.insert("payment_intents", intent)
    ctx.emit("payment_intent.created", intent)
    if _params.boolean(params, "confirm", default=False):
        confirm_params = {
            k: v for k, v in params.items() if k in _CONFIRM and k != "payment_method"
        }
        return _confirm(ctx, intent, confirm_params)
    return intent


def confirm(ctx: Ctx, pi_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/payment_intents/:id/confirm``."""
    _params.allow(params, _CONFIRM)
    intent = ctx.get("payment_intents", pi_id, param="intent")
    pm_id = _params.text(params, "payment_method")
    if pm_id is not None:
        intent["payment_method"] = get_payment_method(ctx, pm_id)["id"]
    return _confirm(ctx, intent, params)


def _confirm(ctx: Ctx, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    if intent["status"] not in (
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
    ):
        raise _unexpected_state(intent, "confirm")
    if intent["payment_method"] is None:
        raise invalid(
            "You cannot confirm this PaymentIntent because it's missing a payment method. To "
            "confirm "
            "the PaymentIntent with a customer's saved card, pass payment_method=pm_... ; in "
            "tests, "
            "pass a test id such as payment_method=pm_card_visa.",
            code="payment_intent_unexpected_state",
            param="payment_method",
        )
    off_session = _params.boolean(params, "off_session", default=False)
    automatic = intent["automatic_payment_methods"]
    if (
        automatic
        and automatic.get("enabled")
        and automatic.get("allow_redirects") != "never"
        and not off_session
        and not _params.text(params, "return_url")
    ):
        raise invalid(_REDIRECT_MESSAGE, param="return_url")
    capture_method = _params.text(params, "capture_method", choices=_CAPTURE_METHODS)
    if capture_method:
        intent["capture_method"] = capture_method
    for name in ("receipt_email", "setup_future_usage"):
        if params.get(name):
            intent[name] = params[name]
    paying = instrument(ctx, intent["payment_method"], customer=None, param="payment_method")
    if intent["customer"] and paying.customer not in (None, intent["customer"]):
        raise invalid(
            f"The provided PaymentMethod {paying.id} belongs to another customer "
            f"({paying.customer}); use a PaymentMethod attached to {intent['customer']}.",
            param="payment_method",
        )
    if paying.spec.three_d_secure:
        if off_session or _params.boolean(params, "error_on_requires_action", default=False):
            return _fail(ctx, intent, paying, AUTH_REQUIRED)
        previous = {"status": intent["status"]}
        intent["status"] = "requires_action"
        intent["next_action"] = {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": ""},
        }
        ctx.save("payment_intents", intent)
        ctx.emit("payment_intent.requires_action", intent, previous)
        return intent
    return _charge(ctx, intent, paying)


def _charge(ctx: Ctx, intent: dict[str, Any], paying: Any) -> dict[str, Any]:
    manual = intent["capture_method"] == "manual"
    charge, decline = _charges.attempt(
        ctx,
        paying,
        amount=intent["amount"],
        currency=intent["currency"],
        capture=not manual,
        customer=intent["customer"],
        payment_intent=intent["id"],
        description=intent["description"],
        metadata=intent["metadata"],
        receipt_email=intent["receipt_email"],
        statement_descriptor=intent["statement_descriptor"],
    )
    intent["latest_charge"] = charge["id"]
    if decline is not None:
        return _failed(ctx, intent, charge, decline)
    intent["last_payment_error"] = None
    intent["next_action"] = None
    if manual:
        intent["status"] = "requires_capture"
        intent["amount_capturable"] = intent["amount"]
        ctx.save("payment_intents", intent)
        ctx.emit("payment_intent.amount_capturable_updated", intent)
    else:
        intent["status"] = "succeeded"
        intent["amount_received"] = intent["amount"]
        ctx.save("payment_intents", intent)
        ctx.emit("payment_intent.succeeded", intent)
    if intent["setup_future_usage"] and intent["customer"] and paying.id.startswith("pm_"):
        attach_to(ctx, get_payment_method(ctx, paying.id), intent["customer"])
    return intent


def _fail(ctx: Ctx, intent: dict[str, Any], paying: Any, decline: Any) -> dict[str, Any]:
    charge, failed = _charges.attempt(
        ctx, paying, amount=intent["amount"], currency=intent["currency"], capture=False,
        customer=intent["customer"], payment_intent=intent["id"],
        description=intent["description"], metadata=intent["metadata"], decline=decline,
    )  # fmt: skip
    intent["latest_charge"] = charge["id"]
    assert failed is not None
    return _failed(ctx, intent, charge, failed)


def _failed(
    ctx: Ctx, intent: dict[str, Any], charge: dict[str, Any], decline: Any
) -> dict[str, Any]:
    pm = ctx.find(intent["payment_method"]) if intent["payment_method"] else None
    error = decline.error({"charge": charge["id"]}).body()["error"]
    if pm is not None:
        error["payment_method"] = pm
    error["payment_method_type"] = "card"
    intent["last_payment_error"] = error
    intent["status"] = "requires_payment_method"
    intent["next_action"] = None
    ctx.save("payment_intents", intent)
    ctx.emit("payment_intent.payment_failed", intent)
    extra: dict[str, Any] = {"charge": charge["id"], "payment_intent": intent}
    if pm is not None:
        extra["payment_method"] = pm
    raise decline.error(extra)


def capture(ctx: Ctx, pi_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/payment_intents/:id/capture`` (``amount_to_capture`` for a partial capture)."""
    _params.allow(params, {"amount_to_capture", "metadata", "statement_descriptor",
                           "statement_descriptor_suffix", "application_fee_amount",
                           "final_capture"})  # fmt: skip
    intent = ctx.get("payment_intents", pi_id, param="intent")
    if intent["status"] != "requires_capture":
        raise _unexpected_state(intent, "capture")
    amount = _params.integer(params, "amount_to_capture", minimum=1)
    if amount is not None and amount > intent["amount_capturable"]:
        raise invalid(
            f"The amount_to_capture ({amount}) is greater than the amount_capturable "
            f"({intent['amount_capturable']}).",
            param="amount_to_capture",
            code="amount_too_large",
        )
    metadata = _params.metadata(params, current=intent["metadata"])
    if metadata is not None:
        intent["metadata"] = metadata
    charge = ctx.get("charges", intent["latest_charge"])
    _charges.capture_charge(ctx, charge, amount)
    intent["status"] = "succeeded"
    intent["amount_received"] = charge["amount_captured"]
    intent["amount_capturable"] = 0
    ctx.save("payment_intents", intent)
    ctx.emit("payment_intent.succeeded", intent)
    return intent


def cancel(ctx: Ctx, pi_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/payment_intents/:id/cancel`` (releases an uncaptured authorisation)."""
    _params.allow(params, {"cancellation_reason"})
    intent = ctx.get("payment_intents", pi_id, param="intent")
    if intent["status"] not in _CANCELABLE:
        raise _unexpected_state(intent, "cancel")
    reason = _params.text(params, "cancellation_reason", choices=_CANCEL_REASONS)
    if intent["status"] == "requires_capture":
        charge = ctx.get("charges", intent["latest_charge"])
        _refunds.release(ctx, charge, charge["amount"] - charge["amount_refunded"])
        ctx.save("charges", charge)
        ctx.emit("charge.refunded", charge)
    intent["status"] = "canceled"
    intent["canceled_at"] = ctx.now
    intent["cancellation_reason"] = reason
    intent["amount_capturable"] = 0
    intent["next_action"] = None
    ctx.save("payment_intents", intent)
    ctx.emit("payment_intent.canceled", intent)
    return intent


def retrieve(ctx: Ctx, pi_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/payment_intents/:id``."""
    _params.allow(params, {"client_secret"})
    return ctx.get("payment_intents", pi_id, param="intent")


def update(ctx: Ctx, pi_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/payment_intents/:id`` (amount, currency, customer, pm, description, metadata)."""
    _params.allow(params, {"amount", "currency", "customer", "payment_method", "description",
                           "metadata", "receipt_email", "setup_future_usage", "shipping",
                           "statement_descriptor", "capture_method",
                           "payment_method_types"})  # fmt: skip
    intent = ctx.get("payment_intents", pi_id, param="intent")
    settled = intent["status"] in ("succeeded", "canceled", "processing", "requires_capture")
    if settled and set(params) - {"metadata", "description", "expand"}:
        raise _unexpected_state(intent, "update")
    if "amount" in params or "currency" in params:
        merged = {"amount": str(intent["amount"]), "currency": intent["currency"], **params}
        amount, currency = _charges.amount_and_currency(merged)
        intent.update(amount=amount, currency=currency)
    customer = _params.text(params, "customer")
    if customer is not None:
        ctx.get("customers", customer, param="customer")
        intent["customer"] = customer
    pm_id = _params.text(params, "payment_method")
    if pm_id is not None:
        intent["payment_method"] = get_payment_method(ctx, pm_id)["id"]
        if intent["status"] == "requires_payment_method":
            intent["status"] = "requires_confirmation"
    for name in ("description", "receipt_email", "statement_descriptor"):
        if name in params:
            intent[name] = _params.text(params, name)
    method = _params.text(params, "capture_method", choices=_CAPTURE_METHODS)
    if method is not None:
        intent["capture_method"] = method
    metadata = _params.metadata(params, current=intent["metadata"])
    if metadata is not None:
        intent["metadata"] = metadata
    # "It will be cleared if the PaymentIntent is later updated for any reason."
    # (https://docs.stripe.com/api/payment_intents/object#payment_intent_object-last_payment_error)
    intent["last_payment_error"] = None
    # Stripe has no payment_intent.updated event; changes show on the next read.
    ctx.save("payment_intents", intent)
    return intent


def list_intents(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/payment_intents`` with ``customer`` and ``created``."""
    _params.allow(params, _params.LIST_PARAMS | {"customer"})
    where = _lists.Where()
    where.equal("customer", _lists.existing(ctx.conn, params, "customer", "customers"))
    return _lists.run(ctx.conn, "payment_intents", "/v1/payment_intents", params, where)


def authenticate(ctx: Ctx, pi_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/_sandbox/payment_intents/:id/authenticate``: finish (or fail) 3D Secure.

    Stands in for the customer completing the bank's challenge, which no API call can do at Stripe.
    ``outcome=succeed`` (default) charges the card, which may still decline (e.g. the 3DS card with
    insufficient funds); ``outcome=fail`` returns the PaymentIntent to ``requires_payment_method``
    with ``payment_intent_authentication_failure``.
    """
    _params.allow(params, {"outcome"})
    outcome = _params.text(params, "outcome", choices=("succeed", "fail")) or "succeed"
    intent = ctx.get("payment_intents", pi_id, param="intent")
    if intent["status"] != "requires_action":
        raise _unexpected_state(intent, "authentication")
    paying = instrument(ctx, intent["payment_method"], customer=None, param="payment_method")
    if outcome == "succeed":
        intent["next_action"] = None
        return _charge(ctx, intent, paying)
    error = {
        "type": "invalid_request_error",
        "code": "payment_intent_authentication_failure",
        "message": "The provided PaymentMethod has failed authentication. You can provide "
        "payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent "
        "again.",
        "payment_method": ctx.find(intent["payment_method"]),
    }
    intent.update(status="requires_payment_method", next_action=None, last_payment_error=error)
    ctx.save("payment_intents", intent)
    ctx.emit("payment_intent.payment_failed", intent)
    return intent
