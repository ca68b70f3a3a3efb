"""Error bodies and statuses (https://docs.stripe.com/api/errors), authentication, bad input and
currency rules (https://docs.stripe.com/currencies)."""

from __future__ import annotations

import httpx
import pytest
import stripe

from billing_kit.sandbox import SandboxServer
from tests.support import TEST_KEY

from .conftest import make_client

AUTH = {"Authorization": f"Bearer {TEST_KEY}"}


def raw(server: SandboxServer, method: str, path: str, **kwargs: object) -> httpx.Response:
    """One request without the library, for inputs the library would never send."""
    headers = {**AUTH, **kwargs.pop("headers", {})}
    with httpx.Client(base_url=server.url) as http:
        return http.request(method, path, headers=headers, **kwargs)


@pytest.mark.parametrize(
    ("key", "needle"),
    [
        ("", "You did not provide an API key"),
        ("nonsense", "Invalid API Key provided"),
        ("pk_test_" + "x" * 20, "Invalid API Key provided: pk_test_****xxxx"),
        ("sk_live_" + "y" * 24, "test-only"),
        ("rk_live_" + "z" * 24, "test-only"),
    ],
)
def test_401_shapes(server: SandboxServer, key: str, needle: str) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {"Authorization": ""}
    reply = raw(server, "GET", "/v1/charges", headers=headers)
    assert reply.status_code == 401
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error" and needle in error["message"]
    assert reply.headers["Request-Id"].startswith("req_")
    if key.startswith("sk_live"):
        assert "y" * 8 not in error["message"]  # the key is masked


def test_401_through_library(server: SandboxServer) -> None:
    with pytest.raises(stripe.AuthenticationError) as caught:
        make_client(server.url, key="sk_live_" + "q" * 24).v1.customers.list()
    assert caught.value.http_status == 401 and caught.value.request_id.startswith("req_")


@pytest.mark.parametrize("key", ["sk_test_sandbox", "rk_test_" + "r" * 20, TEST_KEY])
def test_any_test_key_works(server: SandboxServer, key: str) -> None:
    assert make_client(server.url, key=key).v1.customers.list().object == "list"


def test_basic_auth_is_accepted(server: SandboxServer) -> None:
    with httpx.Client(base_url=server.url, auth=(TEST_KEY, "")) as http:
        assert http.get("/v1/balance").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code_or_text"),
    [
        ("GET", "/v1/nothing_here", {}, 404, "Unrecognized request URL"),
        ("PUT", "/v1/charges", {}, 404, "Unrecognized request URL"),
        ("GET", "/", {}, 404, "Unrecognized request URL"),
        ("POST", "/v1/customers", {"content": b"email=\xff\xfe"}, 400, "not valid UTF-8"),
        ("POST", "/v1/customers", {"content": b"email=%FF%FE"}, 400, "not valid UTF-8"),
        ("POST", "/v1/customers", {"content": b"meta]data=1"}, 400, "Invalid parameter name"),
        ("POST", "/v1/customers", {"content": b"metadata[a]=1&metadata=2"}, 400, "mixes"),
        ("POST", "/v1/customers", {"content": b"expand[1]=x"}, 400, "sequential starting from 0"),
        ("POST", "/v1/customers", {"content": b"bogus=1"}, 400, "parameter_unknown"),
        ("POST", "/v1/customers", {"content": b"0=a"}, 400, "parameter_unknown"),
        ("GET", "/v1/customers", {"params": {"0": "a", "1": "b"}}, 400, "parameter_unknown"),
        ("POST", "/v1/customers", {"content": b"email[a]=1"}, 400, "Invalid string"),
        ("POST", "/v1/customers", {"content": b"balance=abc"}, 400, "parameter_invalid_integer"),
        ("POST", "/v1/customers", {"content": b"x=" + b"a" * 1_100_000}, 413, "at most"),
        ("POST", "/v1/customers", {"json": {"email": "a@b.c"}}, 400, "x-www-form-urlencoded"),
        (
            "POST",
            "/v1/charges",
            {"content": b"currency=usd&source=tok_visa"},
            400,
            "parameter_missing",
        ),
        (
            "POST",
            "/v1/charges",
            {"content": b"amount=500&currency=usd"},
            400,
            "Must provide source or customer.",
        ),
        (
            "POST",
            "/v1/charges",
            {"content": b"amount=5.5&currency=usd&source=tok_visa"},
            400,
            "parameter_invalid_integer",
        ),
        (
            "POST",
            "/v1/charges",
            {"content": b"amount=500&currency=usd&source=tok_visa&capture=maybe"},
            400,
            "Invalid boolean",
        ),
        ("GET", "/v1/charges", {"params": {"limit": "0"}}, 400, "parameter_invalid_integer"),
        ("GET", "/v1/charges", {"params": {"limit": "101"}}, 400, "between 1 and 100"),
        ("GET", "/v1/charges", {"params": {"created[since]": "1"}}, 400, "parameter_unknown"),
        (
            "GET",
            "/v1/charges",
            {"params": {"starting_after": "a", "ending_before": "b"}},
            400,
            "only specify one",
        ),
        ("GET", "/v1/charges/ch_missing", {}, 404, "resource_missing"),
        ("GET", "/v1/events", {"params": {"type": "charge.*.x"}}, 400, "wildcard"),
    ],
)
def test_bad_input_gets_stripe_4xx(
    server: SandboxServer,
    method: str,
    path: str,
    kwargs: dict[str, object],
    status: int,
    code_or_text: str,
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if "content" in kwargs else {}
    reply = raw(server, method, path, headers=headers, **kwargs)
    assert reply.status_code == status
    body = reply.json()
    assert set(body) == {"error"} and body["error"]["type"] == "invalid_request_error"
    assert code_or_text in (body["error"].get("code") or "") + body["error"]["message"]


def test_errors_map_to_library_classes(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.charges.retrieve("ch_does_not_exist")
    assert (missing.value.http_status, missing.value.code, missing.value.param) == (
        404,
        "resource_missing",
        "id",
    )
    assert "No such charge: 'ch_does_not_exist'" in missing.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.customers.create({"emial": "typo@example.com"})
    assert unknown.value.code == "parameter_unknown" and unknown.value.param == "emial"


def test_customer_without_card(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"email": "nocard@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.create({"amount": 500, "currency": "usd", "customer": customer.id})
    assert caught.value.http_status == 404 and caught.value.code == "missing"


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [
        (49, "usd", "amount_too_small"),
        (50, "usd", None),
        (29, "gbp", "amount_too_small"),
        (30, "gbp", None),
        (49, "jpy", "amount_too_small"),
        (50, "jpy", None),
        (999, "mxn", "amount_too_small"),
        (17_499, "huf", "amount_too_small"),
        (100_000_000, "usd", "amount_too_large"),
        (99_999_999, "usd", None),
        (5125, "kwd", "invalid_charge_amount"),
        (5120, "kwd", None),
        (550, "isk", "invalid_charge_amount"),
        (500, "isk", None),
        (5000, "xyz", "parameter_invalid_string"),
        (5000, "USD", None),
    ],
)
def test_currency_rules(
    client: stripe.StripeClient, amount: int, currency: str, code: str | None
) -> None:
    params = {
        "amount": amount,
        "currency": currency,
        "payment_method": "pm_card_visa",
        "confirm": True,
        "payment_method_types": ["card"],
    }
    if code is None:
        intent = client.v1.payment_intents.create(params)
        assert intent.status == "succeeded" and intent.currency == currency.lower()
        return
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(params)
    assert caught.value.code == code and caught.value.param in ("amount", "currency")


def test_amount_messages(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as small:
        client.v1.charges.create({"amount": 10, "currency": "usd", "source": "tok_visa"})
    assert small.value.user_message == "Amount must be at least $0.50 usd"
    with pytest.raises(stripe.InvalidRequestError) as large:
        client.v1.charges.create({"amount": 10**8, "currency": "usd", "source": "tok_visa"})
    assert large.value.user_message == "Amount must be no more than $999,999.99"


@pytest.mark.parametrize(
    ("metadata", "ok"),
    [
        ({f"k{i}": "v" for i in range(50)}, True),
        ({f"k{i}": "v" for i in range(51)}, False),
        ({"k" * 40: "v"}, True),
        ({"k" * 41: "v"}, False),
        ({"k": "v" * 500}, True),
        ({"k": "v" * 501}, False),
    ],
)
def test_metadata_limits(client: stripe.StripeClient, metadata: dict[str, str], ok: bool) -> None:
    if ok:
        customer = client.v1.customers.create({"metadata": metadata})
        assert customer.metadata.to_dict() == metadata
        return
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.create({"metadata": metadata})
    assert caught.value.param.startswith("metadata")


def test_metadata_update_semantics(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"metadata": {"a": "1", "b": "2"}})
    updated = client.v1.customers.update(customer.id, {"metadata": {"a": "", "c": "3"}})
    assert updated.metadata.to_dict() == {"b": "2", "c": "3"}
    cleared = client.v1.customers.update(customer.id, {"metadata": ""})
    assert cleared.metadata.to_dict() == {}


def test_state_errors(client: stripe.StripeClient) -> None:
    charge = client.v1.charges.create({"amount": 800, "currency": "usd", "source": "tok_visa"})
    with pytest.raises(stripe.InvalidRequestError) as captured:
        client.v1.charges.capture(charge.id)
    assert captured.value.code == "charge_already_captured"
    client.v1.refunds.create({"charge": charge.id})
    with pytest.raises(stripe.InvalidRequestError) as refunded:
        client.v1.refunds.create({"charge": charge.id})
    assert refunded.value.code == "charge_already_refunded"


def test_request_id_on_every_response(server: SandboxServer) -> None:
    for method, path in [("GET", "/v1/balance"), ("GET", "/v1/nope"), ("POST", "/v1/customers")]:
        reply = raw(server, method, path)
        assert (
            reply.headers["Request-Id"].startswith("req_")
            and len(reply.headers["Request-Id"]) == 18
        )
