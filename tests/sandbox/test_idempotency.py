"""Idempotency keys exactly as https://docs.stripe.com/api/idempotent_requests, through the
official library."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import stripe

from billing_kit.sandbox import SandboxServer, start
from tests.support import TEST_KEY

from .conftest import count, make_client

CHARGE = {"amount": 1500, "currency": "usd", "source": "tok_visa"}


def test_replay_returns_stored_status_body_and_headers(
    client: stripe.StripeClient, server: SandboxServer
) -> None:
    before = count(server, "charges")
    first = client.v1.charges.create(CHARGE, {"idempotency_key": "replay-1"})
    again = client.v1.charges.create(CHARGE, {"idempotency_key": "replay-1"})
    assert again.id == first.id and count(server, "charges") == before + 1
    first_headers = first.last_response.headers
    headers = again.last_response.headers
    assert headers["Idempotent-Replayed"] == "true"
    assert (
        headers["Original-Request"]
        == first_headers["Request-Id"]
        == first_headers["Original-Request"]
    )
    assert headers["Request-Id"] != first_headers["Request-Id"]
    assert headers["Idempotency-Key"] == "replay-1"
    assert "Idempotent-Replayed" not in first_headers


def test_replay_of_a_decline_is_the_same_402(
    client: stripe.StripeClient, server: SandboxServer
) -> None:
    params = {**CHARGE, "source": "tok_chargeDeclined"}
    errors = []
    for _ in range(2):
        with pytest.raises(stripe.CardError) as caught:
            client.v1.charges.create(params, {"idempotency_key": "decline-1"})
        errors.append(caught.value)
    assert errors[0].error.charge == errors[1].error.charge
    assert errors[1].headers["Idempotent-Replayed"] == "true"


def test_other_params_is_idempotency_error(client: stripe.StripeClient) -> None:
    client.v1.charges.create(CHARGE, {"idempotency_key": "mismatch-1"})
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.charges.create({**CHARGE, "amount": 1600}, {"idempotency_key": "mismatch-1"})
    assert caught.value.http_status == 400
    assert "same parameters" in caught.value.user_message
    assert caught.value.error.type == "idempotency_error"


def test_other_endpoint_is_idempotency_error(client: stripe.StripeClient) -> None:
    client.v1.customers.create({"email": "x@example.com"}, {"idempotency_key": "endpoint-1"})
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.charges.create(CHARGE, {"idempotency_key": "endpoint-1"})
    assert "same endpoint" in caught.value.user_message


@pytest.mark.parametrize(
    "params",
    [
        {"amount": 10, "currency": "usd", "source": "tok_visa"},  # amount too small
        {"amount": 1500, "currency": "usd"},  # neither source nor customer
        {"amount": 1500, "currency": "usd", "source": "tok_visa", "bogus": "1"},  # unknown param
    ],
)
def test_validation_400_is_not_saved(
    client: stripe.StripeClient, params: dict[str, object]
) -> None:
    key = f"validation-{sorted(params)}-{params['amount']}"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.create(params, {"idempotency_key": key})
    # Nothing was saved, so the same key now runs a corrected request.
    assert client.v1.charges.create(CHARGE, {"idempotency_key": key}).status == "succeeded"


def test_401_is_not_saved(server: SandboxServer, client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.AuthenticationError):
        make_client(server.url, key="sk_live_" + "w" * 24).v1.charges.create(
            CHARGE,
            {"idempotency_key": "auth-1"},
        )
    assert client.v1.charges.create(CHARGE, {"idempotency_key": "auth-1"}).status == "succeeded"


def test_429_is_not_saved(fresh: Callable[..., SandboxServer]) -> None:
    server = fresh(rate_limit=1)
    client = make_client(server.url)
    client.v1.customers.create({})  # takes the only token
    with pytest.raises(stripe.RateLimitError):
        client.v1.customers.create({}, {"idempotency_key": "rate-1"})
    server.configure(rate_limit=None)
    assert client.v1.customers.create({}, {"idempotency_key": "rate-1"}).id.startswith("cus_")
    assert count(server, "customers") == 2


def test_409_while_in_flight(fresh: Callable[..., SandboxServer]) -> None:
    server = fresh(latency_ms=2000)  # a wide window, even on a loaded machine
    client = make_client(server.url)
    results: list[object] = []

    def first() -> None:
        results.append(client.v1.charges.create(CHARGE, {"idempotency_key": "flight-1"}))

    thread = threading.Thread(target=first)
    thread.start()
    # Wait until the first request holds the key (reserved before the simulated latency).
    while count(server, "idempotency_keys") == 0:
        threading.Event().wait(0.01)
    with pytest.raises(stripe.APIError) as caught:
        client.v1.charges.create(CHARGE, {"idempotency_key": "flight-1"})
    thread.join()
    assert caught.value.http_status == 409
    assert caught.value.error.code == "idempotency_key_in_use"
    replay = client.v1.charges.create(CHARGE, {"idempotency_key": "flight-1"})
    assert replay.id == results[0].id
    assert count(server, "charges") == 1


def test_library_retry_after_409_gets_the_replay(fresh: Callable[..., SandboxServer]) -> None:
    server = fresh(latency_ms=600)
    client = make_client(server.url, retries=3)
    out: list[str] = []
    threads = [
        threading.Thread(
            target=lambda: out.append(
                client.v1.charges.create(CHARGE, {"idempotency_key": "dup"}).id
            )
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(out) == 2 and out[0] == out[1] and count(server, "charges") == 1


def test_keys_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    with start(db=db) as server:
        first = make_client(server.url).v1.charges.create(CHARGE, {"idempotency_key": "restart-1"})
    with start(db=db) as server:
        again = make_client(server.url).v1.charges.create(CHARGE, {"idempotency_key": "restart-1"})
        assert again.id == first.id and count(server, "charges") == 1


def test_keys_shared_by_two_servers_on_one_file(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    with start(db=db) as one, start(db=db) as two:
        a = make_client(one.url).v1.charges.create(CHARGE, {"idempotency_key": "two-1"})
        b = make_client(two.url).v1.charges.create(CHARGE, {"idempotency_key": "two-1"})
        assert a.id == b.id
        assert make_client(two.url).v1.charges.retrieve(a.id).amount == 1500


def test_gets_ignore_keys_and_long_keys_are_refused(server: SandboxServer) -> None:
    auth = {"Authorization": f"Bearer {TEST_KEY}"}
    with httpx.Client(base_url=server.url, headers=auth) as http:
        reply = http.get("/v1/balance", headers={"Idempotency-Key": "get-1"})
        assert reply.status_code == 200 and "Idempotency-Key" not in reply.headers
        long = http.post("/v1/customers", headers={"Idempotency-Key": "k" * 256})
        assert long.status_code == 400 and "255" in long.json()["error"]["message"]


def test_the_request_fingerprint_is_sorted_compact_json() -> None:
    # Keys saved by an older sandbox (same file, other version) must keep matching their
    # requests: the digest is of compact JSON with every object's keys sorted, at any depth,
    # whatever encoder writes it.
    import hashlib

    from billing_kit.sandbox._idempotency import fingerprint

    params = {"metadata": {"b": "2", "a": "é"}, "amount": "10", "expand": ["z", "a"]}
    canonical = '{"amount":"10","expand":["z","a"],"metadata":{"a":"é","b":"2"}}'
    assert fingerprint(params) == hashlib.sha256(canonical.encode()).hexdigest()
    assert fingerprint(dict(reversed(params.items()))) == fingerprint(params)
