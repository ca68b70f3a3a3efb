"""Signed webhook delivery (``start(forward_to=...)``, ``sandbox serve --forward-to``) and
``sandbox trigger``: checked with the official library's ``stripe.Webhook.construct_event``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from billing_kit.cli import main as cli_main
from billing_kit.sandbox import SandboxServer, start
from billing_kit.sandbox._triggers import FIXTURES, trigger
from billing_kit.sandbox._webhooks import SANDBOX_WEBHOOK_SECRET, sign
from tests.sandbox.conftest import make_client

SECRET = "whsec_test_endpoint"


class Receiver:
    """A webhook endpoint on a free loopback port: records raw deliveries, answers as told."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[tuple[bytes, str]] = []
        self.answers: list[int] = []  # statuses to answer first, then 200
        self.delay = 0.0  # seconds to sleep before the next answer (once)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.delay:
                    wait, outer.delay = outer.delay, 0.0
                    time.sleep(wait)
                outer.received.append((body, self.headers["Stripe-Signature"]))
                status = outer.answers.pop(0) if outer.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/webhook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    def events(self, secret: str = SECRET) -> list[stripe.Event]:
        """Every delivery, verified by the official library (raises if one does not verify)."""
        return [stripe.Webhook.construct_event(body, sig, secret) for body, sig in self.received]


def wait_for(condition: Callable[[], bool], what: str, limit: float = 15.0) -> None:
    """Poll until ``condition()`` holds; fail naming ``what`` after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.stop()


@pytest.fixture
def forwarding(receiver: Receiver) -> Iterator[SandboxServer]:
    with start(forward_to=receiver.url, webhook_secret=SECRET) as server:
        assert server.webhooks is not None
        server.webhooks.backoff = 0.05  # keep retries quick in tests
        yield server


def stored_ids(server: SandboxServer) -> list[str]:
    with server.core.store.read() as conn:
        return [row[0] for row in conn.execute("SELECT id FROM events ORDER BY seq")]


def test_every_event_arrives_signed_and_verifies_with_the_official_library(
    forwarding: SandboxServer, receiver: Receiver
) -> None:
    client = make_client(forwarding.url)
    intent = client.v1.payment_intents.create(
        {"amount": 1500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
         "payment_method_types": ["card"]}
    )  # fmt: skip
    expected = stored_ids(forwarding)
    assert len(expected) >= 3  # payment_intent.created, charge.succeeded, ...succeeded
    wait_for(lambda: len(receiver.received) >= len(expected), "every event")
    events = receiver.events()
    assert [e.id for e in events] == expected
    succeeded = next(e for e in events if e.type == "payment_intent.succeeded")
    assert succeeded.data.object.id == intent.id
    # The body is the stored event, byte for byte JSON (no re-serialisation on the way).
    body, header = receiver.received[0]
    assert json.loads(body)["id"] == expected[0]
    assert header.startswith("t=") and ",v1=" in header
    # A receiver with another secret refuses every delivery.
    with pytest.raises(stripe.SignatureVerificationError):
        receiver.events("whsec_someone_else")


def test_a_500_is_retried_with_the_same_event_id_until_acknowledged(
    forwarding: SandboxServer, receiver: Receiver
) -> None:
    receiver.answers = [500, 503]
    client = make_client(forwarding.url)
    client.v1.customers.create({"email": "retry@example.com"})
    (event_id,) = stored_ids(forwarding)
    webhooks = forwarding.webhooks
    assert webhooks is not None
    wait_for(lambda: webhooks.delivered() == [event_id], "the acknowledged retry")
    assert [e.id for e in receiver.events()] == [event_id] * 3
    assert [(a.number, a.status) for a in webhooks.attempts] == [(1, 500), (2, 503), (3, 200)]
    assert webhooks.pending == 0


def test_a_timeout_is_retried(forwarding: SandboxServer, receiver: Receiver) -> None:
    webhooks = forwarding.webhooks
    assert webhooks is not None
    webhooks.timeout = 0.3
    receiver.delay = 1.0
    make_client(forwarding.url).v1.customers.create({"email": "slow@example.com"})
    (event_id,) = stored_ids(forwarding)
    wait_for(lambda: webhooks.delivered() == [event_id], "the retry after a timeout")
    first = webhooks.attempts[0]
    assert first.status is None and first.error is not None and "timed out" in first.error


def test_no_event_is_lost_while_the_receiver_restarts(forwarding: SandboxServer) -> None:
    webhooks = forwarding.webhooks
    assert webhooks is not None
    first = Receiver()
    webhooks.url = first.url
    client = make_client(forwarding.url)
    client.v1.customers.create({"email": "before@example.com"})
    wait_for(lambda: len(first.received) == 1, "the first delivery")
    first.stop()  # the receiver goes down (a deploy, a crash) ...
    for n in range(3):
        client.v1.customers.create({"email": f"during{n}@example.com"})
    wait_for(lambda: any(a.status is None for a in webhooks.attempts), "a refused attempt")
    second = Receiver(first.port)  # ... and comes back on the same port
    try:
        wait_for(lambda: webhooks.pending == 0, "the backlog")
        got = [e.id for e in first.events() + second.events()]
        assert sorted(set(got)) == sorted(stored_ids(forwarding))
    finally:
        second.stop()


def test_signature_matches_the_documented_scheme() -> None:
    # https://docs.stripe.com/webhooks/signature: v1 = HMAC-SHA256(secret, "t.payload"), hex.
    import hashlib
    import hmac

    expected = hmac.new(b"whsec_x", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign(b"{}", "whsec_x", 1700000000) == f"t=1700000000,v1={expected}"


@pytest.mark.parametrize("bad", ["sk_test_abc123", "", "whsec_", "whsec bad!value"])
def test_a_malformed_secret_is_refused_without_echoing_it(bad: str) -> None:
    with pytest.raises(ValueError, match="webhook_secret must look like 'whsec_'") as caught:
        start(forward_to="http://127.0.0.1:9/webhook", webhook_secret=bad)
    if len(bad) > len("whsec_"):  # a value long enough to be a secret is never echoed
        assert bad not in str(caught.value)


def test_a_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="forward_to 'localhost:4242' is not an http"):
        start(forward_to="localhost:4242")


def test_the_forwarder_repr_hides_the_secret(forwarding: SandboxServer) -> None:
    assert SECRET not in repr(forwarding.webhooks)


def test_the_default_secret_is_the_sandbox_one(receiver: Receiver) -> None:
    with start(forward_to=receiver.url) as server:
        assert server.webhooks is not None and server.webhooks.secret == SANDBOX_WEBHOOK_SECRET
        make_client(server.url).v1.customers.create({"email": "default@example.com"})
        wait_for(lambda: len(receiver.received) == 1, "the delivery")
    assert receiver.events(SANDBOX_WEBHOOK_SECRET)[0].type == "customer.created"


def test_serve_refuses_a_bad_secret_with_a_clear_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--forward-to", "http://127.0.0.1:9/", "--webhook-secret", "sk_test_x1"]
    status = cli_main(["sandbox", "serve", "--port", "0", "--db", ":memory:", *args])
    assert status == 2
    err = capsys.readouterr().err
    assert "webhook_secret must look like 'whsec_'" in err and "sk_test_x1" not in err


def test_serve_refuses_a_secret_without_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--webhook-secret", "whsec_lonely"]
    status = cli_main(["sandbox", "serve", "--port", "0", "--db", ":memory:", *args])
    assert status == 2 and "pass both" in capsys.readouterr().err


# -- trigger ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plain() -> Iterator[SandboxServer]:
    with start() as running:
        yield running


@pytest.mark.parametrize("event_type", sorted(FIXTURES))
def test_trigger_emits_the_event(plain: SandboxServer, event_type: str) -> None:
    made = trigger(make_client(plain.url), event_type)
    assert made, f"no new {event_type} event"
    with plain.core.store.read() as conn:
        marks = ",".join("?" * len(made))
        rows = conn.execute(f"SELECT type FROM events WHERE id IN ({marks})", made).fetchall()
    types = {row[0] for row in rows}
    assert types == {event_type}


def test_trigger_command(plain: SandboxServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["sandbox", "trigger", "charge.refunded", "--api-base", plain.url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("charge.refunded evt_") and "Trigger succeeded!" in out


def test_trigger_refuses_an_unknown_type(
    plain: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["sandbox", "trigger", "invoice.paid", "--api-base", plain.url]) == 2
    assert "unsupported event type 'invoice.paid'" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"supported: charge\.captured"):
        trigger(make_client(plain.url), "invoice.paid")


def test_serve_forward_to_delivers_signed_events(receiver: Receiver) -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "billing_kit.sandbox", "serve", "--port", "0", "--db",
               ":memory:", "--forward-to", receiver.url, "--webhook-secret", SECRET]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            assert proc.stdout.readline().strip() == f"forwarding events to {receiver.url}"
            customer = make_client(url).v1.customers.create({"email": "cli@example.com"})
            wait_for(lambda: len(receiver.received) == 1, "the delivery")
            (event,) = receiver.events()
            assert event.type == "customer.created" and event.data.object.id == customer.id
            printed = proc.stdout.readline().strip()
            assert printed == f"<-- [200] customer.created [{event.id}]"
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    assert proc.returncode == 0
