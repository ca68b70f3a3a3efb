"""examples/flask_checkout with Flask's test client against the sandbox: the classic flow, every
decline family, one charge per attempt, and a webhook endpoint that verifies and fulfils once.
"""

from __future__ import annotations

import html
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
import stripe

from billing_kit.sandbox import SandboxServer
from billing_kit.sandbox._webhooks import sign
from tests.examples.conftest import WEBHOOK_SECRET, payments
from tests.sandbox.conftest import count

MakeApp = Callable[..., Any]


def form_attempt(page: bytes) -> str:
    found = re.search(rb'name="attempt" value="([^"]+)"', page)
    assert found is not None, "no attempt id in the form"
    return found.group(1).decode()


def submit(client: Any, attempt: str | None = None, **fields: str) -> Any:
    if attempt is None:
        attempt = form_attempt(client.get("/").data)
    data = {"email": "ada@example.com", "sku": "mug", "quantity": "2",
            "payment_method": "pm_card_visa", "attempt": attempt, **fields}  # fmt: skip
    return client.post("/checkout", data=data)


def charges(sandbox: SandboxServer) -> list[tuple[int, str]]:
    with sandbox.core.store.read() as conn:
        return [(int(a), str(s)) for a, s in conn.execute("SELECT amount, status FROM charges")]


def test_the_classic_flow_charges_the_server_side_amount(
    make_app: MakeApp, sandbox: SandboxServer
) -> None:
    app = make_app()
    client = app.test_client()
    page = client.get("/").data
    assert b"pm_card_visa" in page and b"$12.50" in page  # test methods offered offline
    # The browser claims a price: ignored; 2 mugs cost 2 x 1250 cents.
    reply = submit(client, quantity="2", amount="1")
    assert reply.status_code == 303
    thanks = client.get(reply.headers["Location"])
    assert b"Order 1 is paid: 2 x billing_kit mug" in thanks.data and b"$25.00" in thanks.data
    assert charges(sandbox) == [(2500, "succeeded")]
    with app.app_context():
        from checkout import orders

        assert orders.fulfilments() == [(1, "checkout")]
    # The customer was found or created by email, once.
    submit(client, email="ADA@example.com", sku="tee", quantity="1")
    assert count(sandbox, "customers") == 1


@pytest.mark.parametrize(
    ("method", "shown"),
    [
        ("pm_card_chargeDeclined", "Your card was declined."),
        ("pm_card_visa_chargeDeclinedLostCard", "Your card was declined."),
        ("pm_card_visa_chargeDeclinedStolenCard", "Your card was declined."),
        ("pm_card_chargeDeclinedFraudulent", "Your card was declined."),
        ("pm_card_visa_chargeDeclinedInsufficientFunds", "Your card has insufficient funds."),
        ("pm_card_chargeDeclinedExpiredCard", "Your card has expired."),
        ("pm_card_chargeDeclinedIncorrectCvc", "security code is incorrect"),
        ("pm_card_chargeDeclinedProcessingError", "We could not process your card."),
        ("pm_card_authenticationRequired", "(3D Secure)"),
    ],
)
def test_each_decline_family_shows_a_safe_message(
    make_app: MakeApp, sandbox: SandboxServer, method: str, shown: str
) -> None:
    client = make_app().test_client()
    reply = submit(client, payment_method=method)
    assert reply.status_code == 402
    page = reply.get_data(as_text=True)
    found = re.search(r'id="message">([^<]*)</p>', page)
    assert found is not None
    message = found.group(1)
    assert shown in message
    # Never the decline code, Stripe's text or the merchant-side reason (the page's only other
    # text is the order summary and the sandbox's list of test methods).
    for leak in ("lost", "stolen", "fraud", "bank declined", "do not retry", "pi_", "ch_"):
        assert leak not in message.lower()
    assert "Traceback" not in page and "pi_" not in page
    # Another card for the same order: the amount stays the order's, and it succeeds.
    retry = client.post("/checkout", data={"order": "1", "attempt": form_attempt(reply.data),
                                           "payment_method": "pm_card_visa"})  # fmt: skip
    assert retry.status_code == 303
    assert (2500, "succeeded") in charges(sandbox)


def test_a_double_submit_charges_once(make_app: MakeApp, sandbox: SandboxServer) -> None:
    client = make_app().test_client()
    attempt = form_attempt(client.get("/").data)
    first, second = submit(client, attempt), submit(client, attempt)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert charges(sandbox) == [(2500, "succeeded")]


def test_two_simultaneous_submits_charge_once(make_app: MakeApp, sandbox: SandboxServer) -> None:
    app = make_app()
    attempt = form_attempt(app.test_client().get("/").data)
    replies: list[int] = []
    barrier = threading.Barrier(2)

    def click() -> None:
        barrier.wait()
        replies.append(submit(app.test_client(), attempt).status_code)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert replies == [303, 303]
    assert charges(sandbox) == [(2500, "succeeded")]


def test_a_retried_post_with_the_same_key_charges_once(
    make_app: MakeApp, sandbox: SandboxServer
) -> None:
    # The first response is lost and the shop restarts with no memory of it (new orders database,
    # new ledger): the browser retries the same POST, the idempotency key makes it a replay.
    first = make_app("before").test_client()
    attempt = form_attempt(first.get("/").data)
    assert submit(first, attempt).status_code == 303
    again = make_app("after").test_client()
    assert submit(again, attempt).status_code == 303
    assert charges(sandbox) == [(2500, "succeeded")]
    assert count(sandbox, "payment_intents") == 1


def test_a_changed_form_under_the_same_attempt_is_not_charged_twice(
    make_app: MakeApp, sandbox: SandboxServer
) -> None:
    client = make_app().test_client()
    attempt = form_attempt(client.get("/").data)
    submit(client, attempt, quantity="1")
    submit(client, attempt, quantity="5")  # the order of this attempt is already 1 mug
    assert charges(sandbox) == [(1250, "succeeded")]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-email"}, "valid email address"),
        ({"sku": "yacht"}, "Unknown product 'yacht'"),
        ({"quantity": "0"}, "Quantity 0 must be between 1 and 10"),
        ({"quantity": "two"}, "Quantity"),
        ({"payment_method": "pm_card_made_up"}, "choose a payment method"),
        ({"attempt": "x"}, "form has expired"),
    ],
)
def test_bad_input_is_refused_before_any_request(
    make_app: MakeApp, sandbox: SandboxServer, fields: dict[str, str], message: str
) -> None:
    reply = submit(make_app().test_client(), **fields)
    assert reply.status_code == 400 and message in html.unescape(reply.get_data(as_text=True))
    assert count(sandbox, "payment_intents") == 0


# -- the webhook endpoint ---------------------------------------------------------------------


def events_of(sandbox: SandboxServer) -> list[bytes]:
    with sandbox.core.store.read() as conn:
        return [bytes(b) for (b,) in conn.execute("SELECT body FROM events ORDER BY seq")]


def post_event(client: Any, body: bytes, *, secret: str = WEBHOOK_SECRET, age: int = 0) -> Any:
    header = sign(body, secret, int(time.time()) - age)
    return client.post("/webhook", data=body, headers={"Stripe-Signature": header},
                       content_type="application/json")  # fmt: skip


def test_forged_altered_stale_or_unsigned_events_are_refused(
    make_app: MakeApp, sandbox: SandboxServer
) -> None:
    client = make_app().test_client()
    submit(client)
    body = next(b for b in events_of(sandbox) if b'"payment_intent.succeeded"' in b)
    assert post_event(client, body, secret="whsec_forger").status_code == 400
    assert post_event(client, body, age=600).status_code == 400  # older than the 5 min tolerance
    header = sign(body, WEBHOOK_SECRET, int(time.time()))
    pretty = msgspec.json.format(body, indent=2)  # same data, re-encoded
    tampered = body.replace(b'"amount":2500', b'"amount":1')
    assert body not in (pretty, tampered)
    for altered in (pretty, tampered):
        reply = client.post("/webhook", data=altered, headers={"Stripe-Signature": header})
        assert reply.status_code == 400
    assert client.post("/webhook", data=body).status_code == 400  # no header at all
    assert reply.get_data(as_text=True) == "invalid signature"
    assert post_event(client, body).status_code == 200  # the genuine one passes


def test_duplicated_and_out_of_order_events_fulfil_once(
    make_app: MakeApp, sandbox: SandboxServer
) -> None:
    app = make_app()
    client = app.test_client()
    # Order 1: first card declined, second card paid. The shop "crashed" before recording the
    # payment, so only the webhook can fulfil it.
    declined = submit(client, payment_method="pm_card_chargeDeclined")
    assert declined.status_code == 402
    with app.app_context():
        from checkout import orders

        orders.add_attempt("lost-response-attempt-1", 1)
        order = orders.get(1)
        assert order is not None
        outcome = payments.pay(order, "pm_card_visa", "lost-response-attempt-1")
    assert outcome.paid
    bodies = events_of(sandbox)
    types = [msgspec.json.decode(b)["type"] for b in bodies]
    assert types.count("payment_intent.payment_failed") == 1
    assert types.count("payment_intent.succeeded") == 1
    # Delivered newest first (the failure arrives after the success), each twice.
    for body in [*reversed(bodies), *bodies]:
        assert post_event(client, body).status_code == 200
    with app.app_context():
        assert orders.fulfilments() == [(1, "webhook")]
        paid = orders.get(1)
        assert paid is not None and paid.status == "paid"
    # The browser's retried POST of the lost attempt then finds the order paid: no second
    # fulfilment and no second charge.
    reply = submit(client, "lost-response-attempt-1", order="1")
    assert reply.status_code == 303
    with app.app_context():
        assert orders.fulfilments() == [(1, "webhook")]
    assert [s for _, s in charges(sandbox)].count("succeeded") == 1


def test_events_delivered_by_the_sandbox_forwarder_are_accepted(
    make_app: MakeApp, sandbox: SandboxServer
) -> None:
    # The same endpoint, fed by the real forwarder through a live HTTP server.
    from werkzeug.serving import make_server

    from billing_kit.sandbox._webhooks import Forwarder

    app = make_app()
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    forwarder = Forwarder(sandbox.core.store, f"http://127.0.0.1:{http.server_port}/webhook",
                          WEBHOOK_SECRET).start()  # fmt: skip
    try:
        submit(app.test_client())
        deadline = time.monotonic() + 15
        while forwarder.pending or len(forwarder.attempts) < len(events_of(sandbox)):
            assert time.monotonic() < deadline, "the forwarder did not deliver everything"
            time.sleep(0.02)
        assert all(a.status == 200 for a in forwarder.attempts)
    finally:
        forwarder.stop()
        http.shutdown()
        thread.join()
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(events_of(sandbox)[0], "t=1,v1=00", WEBHOOK_SECRET)


def test_an_attempt_reused_for_another_order_charges_nothing_more(
    make_app: MakeApp, sandbox: SandboxServer
) -> None:
    client = make_app().test_client()
    attempt = form_attempt(client.get("/").data)
    submit(client, attempt, sku="stickers", quantity="1")  # order 1, paid
    other = submit(client, payment_method="pm_card_chargeDeclined")  # order 2, declined
    assert other.status_code == 402
    # A tampered retry form: order 2 paid under order 1's attempt key.
    reply = client.post("/checkout", data={"order": "2", "attempt": attempt,
                                           "payment_method": "pm_card_visa"})  # fmt: skip
    assert reply.status_code == 402 and b"already used" in reply.data
    assert [s for _, s in charges(sandbox)].count("succeeded") == 1
    assert (
        client.post(
            "/checkout", data={"order": "x", "attempt": attempt, "payment_method": "pm_card_visa"}
        ).status_code
        == 400
    )


def test_settings_come_from_dotenv_then_the_environment(tmp_path: Path) -> None:
    from checkout import settings_from_env

    (tmp_path / ".env").write_text(
        "STRIPE_API_KEY=sk_test_fromdotenv\nSTRIPE_WEBHOOK_SECRET=whsec_fromdotenv\nOTHER=x\n"
    )
    before = dict(os.environ)
    found = settings_from_env({"STRIPE_WEBHOOK_SECRET": "whsec_fromenv"}, tmp_path)
    expected = {"STRIPE_API_KEY": "sk_test_fromdotenv", "STRIPE_WEBHOOK_SECRET": "whsec_fromenv"}
    assert found == expected
    assert dict(os.environ) == before  # nothing leaked into the process environment
