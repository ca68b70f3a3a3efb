"""Stripe's API guides, statement by statement: errors, error codes, pagination, metadata,
idempotent requests and expanding responses.

Each test cites the page it checks and quotes (shortened) the statement it turns into assertions.
The other ``test_documented_*`` modules cover the search guide, charges, PaymentIntents, refunds and
disputes, customers, payment methods, balance, payouts, events and tokens.
"""

from __future__ import annotations

import httpx
import pytest
import stripe

from billing_kit.sandbox import SandboxServer

from .conftest import card_charge

# -- https://docs.stripe.com/api/errors ----------------------------------------------------------


def test_error_object_fields(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/errors: the error object has ``type``, ``code``, ``message``,
    ``param``, ``doc_url`` ("A URL to more information about the error code reported") and
    ``request_log_url`` ("A URL to the request log entry in your dashboard")."""
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.retrieve("ch_documented_missing")
    error = caught.value.error
    assert error is not None
    assert error.type == "invalid_request_error" and error.code == "resource_missing"
    assert error.param == "id" and "ch_documented_missing" in (error.message or "")
    assert error.doc_url and "resource-missing" in error.doc_url
    assert error.request_log_url and caught.value.request_id
    assert error.request_log_url.startswith("https://dashboard.stripe.com/test/logs/")
    log_path, _, when = error.request_log_url.partition("?t=")
    assert log_path.endswith("/" + str(caught.value.request_id)) and when.isdigit()


def test_card_error_names_the_charge(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/errors: ``charge``: "For card errors, the ID of the failed
    charge"; ``decline_code``: "For card errors resulting from a card issuer decline"; status 402
    "Request Failed"."""
    with pytest.raises(stripe.CardError) as caught:
        client.v1.charges.create(
            {"amount": 1000, "currency": "usd", "source": "tok_chargeDeclined"}
        )
    error = caught.value.error
    assert caught.value.http_status == 402 and error is not None and error.type == "card_error"
    assert error.charge and error.charge.startswith("ch_") and error.decline_code
    assert error.request_log_url and caught.value.request_id in error.request_log_url
    assert client.v1.charges.retrieve(error.charge).status == "failed"


def test_payment_intent_error_carries_the_intent(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/errors: ``payment_intent``: "The PaymentIntent object for errors
    returned on a request involving a PaymentIntent"."""
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_intents.create(
            {
                "amount": 1000,
                "currency": "usd",
                "payment_method": "pm_card_visa_chargeDeclined",
                "confirm": True,
                "payment_method_types": ["card"],
            }
        )
    error = caught.value.error
    assert error is not None and error.payment_intent is not None
    assert error.payment_intent.status == "requires_payment_method"


def test_status_codes(client: stripe.StripeClient, server: SandboxServer) -> None:
    """https://docs.stripe.com/api/errors: 400 "often due to missing a required parameter", 401 "No
    valid API key provided", 404 "The requested resource doesn't exist"."""
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.charges.create({"currency": "usd", "source": "tok_visa"})
    assert missing.value.http_status == 400 and missing.value.code == "parameter_missing"
    with pytest.raises(stripe.AuthenticationError) as unauthorized:
        stranger = stripe.StripeClient("not-a-key", base_addresses={"api": server.url})
        stranger.v1.balance.retrieve()
    assert unauthorized.value.http_status == 401
    with pytest.raises(stripe.InvalidRequestError) as absent:
        client.v1.customers.retrieve("cus_documented_missing")
    assert absent.value.http_status == 404


# -- https://docs.stripe.com/api/errors (status codes) ----------------------------------------


def test_card_decline_code_and_status(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/errors: "Some 4xx errors that could be handled programmatically
    (e.g., a card is declined) include an error code"; 402 "The parameters were valid but the
    request failed"."""
    with pytest.raises(stripe.CardError) as caught:
        client.v1.charges.create(
            {"amount": 1000, "currency": "usd", "source": "tok_chargeDeclinedInsufficientFunds"}
        )
    assert caught.value.http_status == 402 and caught.value.code == "card_declined"
    assert caught.value.error is not None
    assert caught.value.error.decline_code == "insufficient_funds"


def test_unknown_ids_are_404(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/errors: 404 "The requested resource doesn't exist" — for every
    resource."""
    for call in (
        lambda: client.v1.events.retrieve("evt_nope"),
        lambda: client.v1.refunds.retrieve("re_nope"),
        lambda: client.v1.payouts.retrieve("po_nope"),
        lambda: client.v1.disputes.retrieve("dp_nope"),
        lambda: client.v1.payment_intents.retrieve("pi_nope"),
        lambda: client.v1.payment_methods.retrieve("pm_nope"),
        lambda: client.v1.tokens.retrieve("tok_nope"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            call()
        assert caught.value.http_status == 404 and caught.value.code == "resource_missing"


# -- https://docs.stripe.com/error-codes -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "form", "param"),
    [
        ("/v1/charges", {"amount": "", "currency": "usd", "source": "tok_visa"}, "amount"),
        ("/v1/charges", {"amount": "100", "currency": "", "source": "tok_visa"}, "currency"),
        ("/v1/payment_intents", {"amount": "", "currency": "usd"}, "amount"),
        ("/v1/refunds", {"charge": ""}, "charge"),
        ("/v1/payment_methods", {"type": ""}, "type"),
        ("/v1/tokens", {"card": ""}, "card"),
        ("/v1/payouts", {"amount": "", "currency": "usd"}, "amount"),
        ("/v1/charges", {"amount": "100", "currency": "usd", "source": ""}, "source"),
        ("/v1/payment_methods/pm_card_visa/attach", {"customer": ""}, "customer"),
    ],
)
def test_empty_string_is_parameter_invalid_empty(
    http: httpx.Client, path: str, form: dict[str, str], param: str
) -> None:
    """https://docs.stripe.com/error-codes, ``parameter_invalid_empty``: "One or more required
    values weren't provided. Make sure requests include all required parameters" — an empty string
    for a required parameter is this code, not ``parameter_missing``."""
    reply = http.post(path, data=form)
    error = reply.json()["error"]
    assert reply.status_code == 400
    assert (error["code"], error["param"]) == ("parameter_invalid_empty", param)
    assert "empty string" in error["message"] and param in error["message"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/charges", {"created[gte]": str(2**64)}),
        ("/v1/charges", {"created[lt]": "-" + "9" * 19}),
        ("/v1/charges", {"created": str(2**63)}),
        ("/v1/events", {"created[gt]": "1" * 20}),
        ("/v1/balance_transactions", {"created[lte]": str(2**70)}),
        ("/v1/customers", {"limit": str(2**64)}),
    ],
)
def test_integers_beyond_64_bits_are_parameter_invalid_integer(
    http: httpx.Client, path: str, params: dict[str, str]
) -> None:
    """https://docs.stripe.com/error-codes, ``parameter_invalid_integer``: "One of the parameters
    requires an integer, but the values provided were a different type" — an integer beyond 64 bits
    is no integer Stripe accepts: 400 naming the parameter, never a 500."""
    reply = http.get(path, params=params)
    error = reply.json()["error"]
    assert reply.status_code == 400, reply.text
    assert error["code"] == "parameter_invalid_integer" and error["param"] == next(iter(params))


def test_amount_beyond_64_bits(http: httpx.Client) -> None:
    """https://docs.stripe.com/error-codes, ``parameter_invalid_integer`` on a create
    (``amount``)."""
    reply = http.post("/v1/charges", data={"amount": str(2**64), "currency": "usd"})
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "parameter_invalid_integer"


@pytest.mark.parametrize(
    ("path", "params", "param"),
    [
        ("/v1/charges", {"customer": "cus_nope"}, "customer"),
        ("/v1/charges", {"payment_intent": "pi_nope"}, "payment_intent"),
        ("/v1/payment_intents", {"customer": "cus_nope"}, "customer"),
        ("/v1/payment_methods", {"customer": "cus_nope"}, "customer"),
        ("/v1/customers/cus_nope/payment_methods", {}, "customer"),
        ("/v1/refunds", {"charge": "ch_nope"}, "charge"),
        ("/v1/refunds", {"payment_intent": "pi_nope"}, "payment_intent"),
        ("/v1/disputes", {"charge": "ch_nope"}, "charge"),
        ("/v1/balance_transactions", {"source": "ch_nope"}, "source"),
        ("/v1/balance_transactions", {"payout": "po_nope"}, "payout"),
    ],
)
def test_list_filter_naming_a_missing_object(
    http: httpx.Client, path: str, params: dict[str, str], param: str
) -> None:
    """https://docs.stripe.com/api/charges/list: "If you provide a non-existent customer ID, this
    call throws an error"; https://docs.stripe.com/error-codes, ``resource_missing``: "The ID
    provided is not valid. Either the resource does not exist, or an ID for a different resource has
    been provided"."""
    reply = http.get(path, params=params)
    error = reply.json()["error"]
    assert reply.status_code == 404
    assert (error["code"], error["param"]) == ("resource_missing", param)
    assert "nope" in error["message"]


def test_list_filter_naming_an_existing_object(
    client: stripe.StripeClient,
) -> None:
    """https://docs.stripe.com/api/refunds/list: ``charge`` "Only return refunds for the charge
    specified by this charge ID" — an existing charge without refunds gives an empty list."""
    assert client.v1.refunds.list({"charge": card_charge(client).id}).data == []


def test_parameter_unknown(http: httpx.Client) -> None:
    """https://docs.stripe.com/error-codes, ``parameter_unknown``: "The request contains one or more
    unexpected parameters"."""
    reply = http.post("/v1/customers", data={"emial": "a@b.c"})
    error = reply.json()["error"]
    assert (error["code"], error["param"]) == ("parameter_unknown", "emial")


# -- https://docs.stripe.com/api/pagination -----------------------------------------------------


def test_list_limit_range(http: httpx.Client) -> None:
    """https://docs.stripe.com/api/pagination: "Limit can range between 1 and 100, and the default
    is 10"."""
    for limit in ("0", "101"):
        assert http.get("/v1/charges", params={"limit": limit}).status_code == 400
    assert http.get("/v1/charges", params={"limit": "100"}).status_code == 200


def test_list_cursors(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/pagination: ``starting_after`` fetches the next page (older
    objects), ``ending_before`` the previous page; ``has_more`` says whether more objects are
    available."""
    for _ in range(3):
        card_charge(client)
    newest_first = client.v1.charges.list({"limit": 100}).data
    ids = [c.id for c in newest_first]
    after = client.v1.charges.list({"starting_after": ids[0], "limit": 2})
    assert [c.id for c in after.data] == ids[1:3]
    before = client.v1.charges.list({"ending_before": ids[2], "limit": 100})
    assert [c.id for c in before.data] == ids[:2] and not before.has_more


# -- https://docs.stripe.com/api/metadata -------------------------------------------------------


def test_metadata_limits(http: httpx.Client) -> None:
    """https://docs.stripe.com/api/metadata: "up to 50 keys, with key names up to 40 characters long
    and values up to 500 characters long"; "you can't use square brackets ([ and ]) in keys"."""
    ok = {f"metadata[k{n}]": "v" for n in range(50)}
    assert http.post("/v1/customers", data=ok).status_code == 200
    assert http.post("/v1/customers", data={**ok, "metadata[k50]": "v"}).status_code == 400
    assert http.post("/v1/customers", data={"metadata[" + "k" * 41 + "]": "v"}).status_code == 400
    assert http.post("/v1/customers", data={"metadata[k]": "v" * 501}).status_code == 400
    assert http.post("/v1/customers", data={"metadata[a[b]]": "v"}).status_code == 400


def test_metadata_unset(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/metadata: "Unset individual keys by posting an empty value to
    them. You can clear all keys by posting an empty value to metadata." Keys and values are stored
    as strings."""
    customer = client.v1.customers.create({"metadata": {"a": "1", "b": "2"}})
    assert client.v1.customers.update(customer.id, {"metadata": {"a": ""}}).metadata.to_dict() == {
        "b": "2"
    }
    assert client.v1.customers.update(customer.id, {"metadata": ""}).metadata.to_dict() == {}


# -- https://docs.stripe.com/api/idempotent_requests --------------------------------------------


def test_idempotent_replay_of_success_and_failure(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/idempotent_requests: "saving the resulting status code and body
    of the first request made for any given idempotency key, regardless of whether it succeeds or
    fails. Subsequent requests with the same key return the same result"."""
    form = {"amount": 1200, "currency": "usd", "source": "tok_visa"}
    first = client.v1.charges.create(form, {"idempotency_key": "documented-success"})
    again = client.v1.charges.create(form, {"idempotency_key": "documented-success"})
    assert again.id == first.id
    declined = {"amount": 1200, "currency": "usd", "source": "tok_chargeDeclined"}
    errors = []
    for _ in range(2):
        with pytest.raises(stripe.CardError) as caught:
            client.v1.charges.create(declined, {"idempotency_key": "documented-failure"})
        errors.append(caught.value)
    assert errors[0].http_status == errors[1].http_status == 402
    assert errors[0].json_body == errors[1].json_body


def test_idempotency_key_length(http: httpx.Client) -> None:
    """https://docs.stripe.com/api/idempotent_requests: "Idempotency keys are up to 255 characters
    long"."""
    form = {"email": "key@example.com"}
    assert http.post("/v1/customers", data=form, headers={"Idempotency-Key": "k" * 255}).is_success
    longer = http.post("/v1/customers", data=form, headers={"Idempotency-Key": "k" * 256})
    assert longer.status_code == 400 and longer.json()["error"]["type"] == "invalid_request_error"


def test_idempotency_other_parameters_error(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/idempotent_requests: "compares incoming parameters to those of
    the original request and errors if they're not the same"."""
    client.v1.customers.create({"name": "A"}, {"idempotency_key": "documented-params"})
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create({"name": "B"}, {"idempotency_key": "documented-params"})


def test_idempotency_validation_failures_are_not_saved(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/idempotent_requests: "If incoming parameters fail validation ...
    we don't save the idempotent result ... You can retry these requests"."""
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.create(
            {"amount": -1, "currency": "usd", "source": "tok_visa"},
            {"idempotency_key": "documented-validation"},
        )
    fixed = client.v1.charges.create(
        {"amount": 1300, "currency": "usd", "source": "tok_visa"},
        {"idempotency_key": "documented-validation"},
    )
    assert fixed.amount == 1300


def test_idempotency_key_has_no_effect_on_get(http: httpx.Client) -> None:
    """https://docs.stripe.com/api/idempotent_requests: "Don't send idempotency keys in GET and
    DELETE requests because it has no effect. These requests are idempotent by definition"."""
    first = http.get("/v1/balance", headers={"Idempotency-Key": "documented-get"})
    again = http.get("/v1/balance", headers={"Idempotency-Key": "documented-get"})
    assert first.status_code == again.status_code == 200
    assert "idempotent-replayed" not in again.headers


# -- https://docs.stripe.com/api/expanding_objects ----------------------------------------------


def test_expand_recursively_and_on_create(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/expanding_objects: "You can expand recursively by specifying
    nested fields after a dot"; "You can use the expand parameter on any endpoint that returns
    expandable fields, including list, create, and update endpoints"; "You can expand multiple
    objects at the same time"."""
    customer = client.v1.customers.create({"email": "expand@example.com"})
    intent = client.v1.payment_intents.create(
        {
            "amount": 1500,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": "pm_card_visa",
            "confirm": True,
            "payment_method_types": ["card"],
            "expand": ["customer"],
        }
    )
    assert intent.customer.email == "expand@example.com"
    charge = client.v1.charges.retrieve(
        str(intent.latest_charge), {"expand": ["payment_intent.customer", "balance_transaction"]}
    )
    assert charge.payment_intent.customer.id == customer.id
    assert charge.balance_transaction.object == "balance_transaction"
    updated = client.v1.charges.update(charge.id, {"description": "x", "expand": ["customer"]})
    assert updated.customer.id == customer.id


def test_expand_on_lists_starts_with_data(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/expanding_objects: "Expansions on list requests start with the
    data property"; "Expansions have a maximum depth of four levels"."""
    customer = client.v1.customers.create({"source": "tok_visa"})
    client.v1.charges.create({"amount": 900, "currency": "usd", "customer": customer.id})
    listed = client.v1.charges.list({"customer": customer.id, "expand": ["data.customer"]})
    assert listed.data[0].customer.id == customer.id
    deepest = "data.payment_intent.customer.default_source"
    client.v1.charges.list({"customer": customer.id, "expand": [deepest]})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.list({"expand": ["data.payment_intent.customer.default_source.x"]})
    assert caught.value.param == "expand"
