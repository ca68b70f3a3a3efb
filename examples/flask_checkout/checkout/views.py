"""Pages and the webhook endpoint. Payments go through :mod:`checkout.payments` only."""

from __future__ import annotations

import re
import secrets

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from checkout import orders, payments

bp = Blueprint("shop", __name__)

_ATTEMPT = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _form(
    error: str | None = None, order: orders.Order | None = None, status: int = 200
) -> Response:
    page = render_template(
        "checkout.html",
        catalogue=orders.CATALOGUE,
        currency=current_app.config["CURRENCY"],
        methods=payments.offered_payment_methods(),
        publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"],
        attempt=secrets.token_urlsafe(16),  # a new idempotency key for each form shown
        error=error,
    )
    return Response(page, status=status, mimetype="text/html")


@bp.get("/")
def index() -> Response:
    """The checkout form."""
    return _form()


@bp.post("/checkout")
def checkout() -> Response:
    """Create (or find) the order of this attempt and charge it once."""
    form = request.form
    attempt = form.get("attempt", "")
    method = form.get("payment_method", "")
    if not _ATTEMPT.match(attempt):
        return _form("This form has expired; please submit it again.", status=400)
    offered = payments.offered_payment_methods()
    if (offered and method not in offered) or not method.startswith("pm_"):
        return _form("Please choose a payment method.", status=400)
    if form.get("order"):  # another card for an order whose first attempt was declined
        if not form["order"].isdigit():
            return _form("This order does not exist; please start again.", status=400)
        order = orders.add_attempt(attempt, int(form["order"]))
        if order is None:
            abort(404)
    else:
        email = form.get("email", "").strip().lower()
        if not _EMAIL.match(email):
            return _form("Please enter a valid email address.", status=400)
        try:
            quantity = int(form.get("quantity", ""))
            order = orders.for_attempt(attempt, email, form.get("sku", ""), quantity)
        except ValueError as exc:
            return _form(str(exc).replace("invalid literal for int() with base 10", "Quantity"),
                         status=400)  # fmt: skip
    if order.status == "paid":  # already paid (a submit after the webhook fulfilled it)
        return redirect(url_for("shop.thanks", order_id=order.id), code=303)
    outcome = payments.pay(order, method, attempt)
    if outcome.paid:
        assert outcome.payment_intent is not None
        orders.mark_paid(order.id, outcome.payment_intent, via="checkout")
        return redirect(url_for("shop.thanks", order_id=order.id), code=303)
    orders.mark_declined(order.id)
    current_app.logger.info("order %s declined: %s", order.id, outcome.decline_code)
    page = render_template(
        "declined.html", order=order, message=outcome.message, methods=offered,
        publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"],
        attempt=secrets.token_urlsafe(16), currency=current_app.config["CURRENCY"],
    )  # fmt: skip
    return Response(page, status=402, mimetype="text/html")


@bp.get("/thanks/<int:order_id>")
def thanks(order_id: int) -> str:
    """The thank-you page of a paid order."""
    order = orders.get(order_id)
    if order is None or order.status != "paid":
        abort(404)
    return render_template("thanks.html", order=order, currency=current_app.config["CURRENCY"])


@bp.post("/webhook")
def webhook() -> tuple[str, int]:
    """Receive Stripe's events: verify, skip duplicates, fulfil idempotently, answer fast."""
    try:
        event = payments.verify_event(request.get_data(), request.headers.get("Stripe-Signature"))
    except payments.InvalidSignature:
        return "invalid signature", 400  # no details: the sender learns nothing
    if orders.seen_event(event.id):
        return "duplicate", 200  # Stripe delivers at least once: skip events already handled
    intent = event.object
    order_id = (intent.get("metadata") or {}).get("order_id")
    # Both handlers are idempotent, so a delivery racing its duplicate still fulfils once.
    if event.type == "payment_intent.succeeded" and order_id:
        orders.mark_paid(int(order_id), intent["id"], via="webhook")
    elif event.type == "payment_intent.payment_failed" and order_id:
        orders.mark_declined(int(order_id))
    # Recorded after handling: if handling fails, the 500 makes Stripe retry the event.
    orders.record_event(event.id, event.type)
    return "ok", 200
