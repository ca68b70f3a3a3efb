"""Stripe's guides, statement by statement: search, errors, error codes, pagination, metadata.

Each test names the page it checks; the statement it turns into assertions is quoted (shortened)
in its docstring. Resource pages are in ``test_documented_resources.py``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from billing_kit.sandbox import SandboxServer
from tests.support import TEST_KEY

SEARCH = "https://docs.stripe.com/search#search-query-language"
ERRORS = "https://docs.stripe.com/api/errors"
CODES = "https://docs.stripe.com/error-codes"
PAGINATION = "https://docs.stripe.com/api/pagination"
METADATA = "https://docs.stripe.com/api/metadata"


@pytest.fixture(scope="module")
def http(server: SandboxServer) -> Iterator[httpx.Client]:
    """Raw HTTP to the module's sandbox (for what the library would not send)."""
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    with httpx.Client(base_url=server.url, headers=headers) as raw:
        yield raw


@pytest.fixture(scope="module")
def shop(client: stripe.StripeClient) -> dict[str, Any]:
    """Customers and charges the search tests look for."""
    jane = client.v1.customers.create(
        {"name": "Mary Jane Doe", "email": "Jane.Doe@Example.com", "phone": "+1 555 0100"}
    )
    other = client.v1.customers.create({"name": "Doe Jane", "email": "doe@example.org"})
    big = client.v1.charges.create(
        {"amount": 5000, "currency": "usd", "source": "tok_visa", "metadata": {"order_id": "6735"}}
    )
    small = client.v1.charges.create(
        {
            "amount": 500,
            "currency": "usd",
            "source": "tok_mastercard",
            "metadata": {"order_id": "6735"},
        }
    )
    eur = client.v1.charges.create(
        {
            "amount": 2000,
            "currency": "eur",
            "source": "tok_visa",
            "metadata": {"order_id": 'it\'s "quoted"'},
        }
    )
    return {"jane": jane.id, "other": other.id, "big": big.id, "small": small.id, "eur": eur.id}


def _ids(result: Any) -> set[str]:
    return {item.id for item in result.data}


# -- https://docs.stripe.com/search#search-query-language ---------------------------------------


def test_search_example_of_the_charges_api_reference(
    client: stripe.StripeClient, shop: dict[str, Any]
) -> None:
    """https://docs.stripe.com/api/charges/search: the example query
    ``amount>999 AND metadata['order_id']:'6735'`` (single quotes) is valid and finds the charge.
    """
    found = client.v1.charges.search({"query": "amount>999 AND metadata['order_id']:'6735'"})
    assert _ids(found) == {shop["big"]}


@pytest.mark.parametrize(
    "query",
    [
        "metadata['order_id']:'6735'",
        'metadata["order_id"]:"6735"',
        "metadata[\"order_id\"]:'6735'",
        "metadata['order_id']:\"6735\"",
    ],
)
def test_search_both_quote_kinds(
    client: stripe.StripeClient, shop: dict[str, Any], query: str
) -> None:
    """SEARCH, examples: ``metadata['key']:'value'`` and ``metadata["key"]:"value"`` both work."""
    assert _ids(client.v1.charges.search({"query": query})) == {shop["big"], shop["small"]}


def test_search_escaped_quotes(client: stripe.StripeClient, shop: dict[str, Any]) -> None:
    """SEARCH, quotes: "You can escape quotes inside of quotes with a backslash"."""
    double = client.v1.charges.search({"query": r'metadata["order_id"]:"it\'s \"quoted\""'})
    single = client.v1.charges.search({"query": r"metadata['order_id']:'it\'s \"quoted\"'"})
    assert _ids(double) == _ids(single) == {shop["eur"]}


def test_search_customer_email_in_single_quotes(
    client: stripe.StripeClient, shop: dict[str, Any]
) -> None:
    """https://docs.stripe.com/search: "Customers email search" example
    ``email:'sally@rocketrides.io'``; the exact match is case-insensitive.
    """
    found = client.v1.customers.search({"query": "email:'jane.doe@example.com'"})
    assert _ids(found) == {shop["jane"]}


@pytest.mark.parametrize("keyword", ["AND", "and", "And"])
def test_search_and_keyword_in_any_case(
    client: stripe.StripeClient, shop: dict[str, Any], keyword: str
) -> None:
    """SEARCH: clauses are joined "using the AND or OR keywords (case insensitive)"."""
    query = f"currency:'usd' {keyword} amount>999 {keyword} metadata['order_id']:'6735'"
    assert _ids(client.v1.charges.search({"query": query})) == {shop["big"]}


@pytest.mark.parametrize("keyword", ["OR", "or"])
def test_search_or_keyword_in_any_case(
    client: stripe.StripeClient, shop: dict[str, Any], keyword: str
) -> None:
    """SEARCH: ``OR``/``or`` returns records matching either clause."""
    query = f"currency:'eur' {keyword} amount:500"
    assert _ids(client.v1.charges.search({"query": query})) == {shop["eur"], shop["small"]}


def test_search_space_means_and(client: stripe.StripeClient, shop: dict[str, Any]) -> None:
    """SEARCH: "By default, the API combines clauses with AND logic" (a space joins clauses)."""
    found = client.v1.charges.search({"query": "currency:'usd' amount<1000"})
    assert _ids(found) == {shop["small"]}


def test_search_and_or_are_mutually_exclusive(client: stripe.StripeClient) -> None:
    """SEARCH: "AND and OR operators are mutually exclusive"."""
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.search({"query": "amount:1 and amount:2 or amount:3"})
    assert caught.value.param == "query"


def test_search_exact_match_on_text_matches_words_in_order(
    client: stripe.StripeClient, shop: dict[str, Any]
) -> None:
    """SEARCH: an exact match (``:``) on a text field matches the value's words in order
    (case-insensitive), not only the whole value: ``name:'jane doe'`` finds "Mary Jane Doe"
    but not "Doe Jane".
    """
    assert _ids(client.v1.customers.search({"query": "name:'jane doe'"})) == {shop["jane"]}
    assert _ids(client.v1.customers.search({"query": "name:'Mary Jane Doe'"})) == {shop["jane"]}
    both = client.v1.customers.search({"query": "name:'doe'"})
    assert {shop["jane"], shop["other"]} <= _ids(both)
    assert not _ids(client.v1.customers.search({"query": "name:'jane mary'"}))


def test_search_negation(client: stripe.StripeClient, shop: dict[str, Any]) -> None:
    """SEARCH: "You can negate query clauses using a - character"."""
    found = client.v1.charges.search({"query": "-currency:'usd' metadata['order_id']:null"})
    assert shop["eur"] not in _ids(found)
    not_usd = client.v1.charges.search({"query": "-currency:'usd'", "limit": 100})
    assert shop["eur"] in _ids(not_usd) and shop["big"] not in _ids(not_usd)


def test_search_null_presence(client: stripe.StripeClient, shop: dict[str, Any]) -> None:
    """SEARCH: ``-metadata['key']:null`` finds records that have the key."""
    found = client.v1.charges.search({"query": "-metadata['order_id']:null", "limit": 100})
    assert {shop["big"], shop["small"], shop["eur"]} <= _ids(found)


def test_search_substring_needs_three_characters(
    client: stripe.StripeClient, shop: dict[str, Any]
) -> None:
    """SEARCH: ``~`` is a substring match with a minimum of 3 characters."""
    assert shop["jane"] in _ids(client.v1.customers.search({"query": "email~'example.com'"}))
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.search({"query": "email~'ex'"})


def test_search_numbers_need_no_quotes(client: stripe.StripeClient, shop: dict[str, Any]) -> None:
    """https://docs.stripe.com/search: the "Charges last4 search" example
    ``payment_method_details.card.last4:4242`` compares a string field to an unquoted number.
    """
    found = client.v1.charges.search({"query": "payment_method_details.card.last4:4242"})
    assert shop["big"] in _ids(found) and shop["small"] not in _ids(found)


def test_search_at_most_ten_clauses(client: stripe.StripeClient) -> None:
    """SEARCH: "You can combine up to 10 query clauses"."""
    ten = " AND ".join(["amount>0"] * 10)
    client.v1.charges.search({"query": ten})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.search({"query": ten + " AND amount>0"})


@pytest.mark.parametrize("number", [str(2**63), str(-(2**63) - 1), "9" * 20, "1" + "0" * 40])
def test_search_numbers_beyond_64_bits_are_a_400(client: stripe.StripeClient, number: str) -> None:
    """https://docs.stripe.com/error-codes#parameter-invalid-integer: an integer out of range is
    the 400 ``parameter_invalid_integer`` (never a server error)."""
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.search({"query": f"amount>{number}"})
    assert caught.value.http_status == 400 and caught.value.code == "parameter_invalid_integer"


@pytest.mark.parametrize(
    "cursor",
    [[2**64, 1], [1, 2**63], [1e400, 1], ["1", 1], [True, 1]],
    ids=["created-2**64", "seq-2**63", "float", "string", "bool"],
)
def test_search_page_cursor_out_of_range_is_a_400(http: httpx.Client, cursor: list[Any]) -> None:
    """https://docs.stripe.com/api/charges/search: ``page`` is the ``next_page`` of a previous
    result; anything else is a 400 naming ``page`` (never a 500)."""
    raw = b"[1e400,1]" if cursor[0] == 1e400 else json.dumps(cursor).encode()
    page = base64.urlsafe_b64encode(raw).decode()
    reply = http.get("/v1/charges/search", params={"query": "amount>0", "page": page})
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "page"


# -- https://docs.stripe.com/api/errors ----------------------------------------------------------


def test_error_object_fields(client: stripe.StripeClient) -> None:
    """ERRORS: the error object has ``type``, ``code``, ``message``, ``param``, ``doc_url`` ("A URL
    to more information about the error code reported") and ``request_log_url`` ("A URL to the
    request log entry in your dashboard")."""
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
    """ERRORS: ``charge``: "For card errors, the ID of the failed charge"; ``decline_code``: "For
    card errors resulting from a card issuer decline"; status 402 "Request Failed"."""
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
    """ERRORS: ``payment_intent``: "The PaymentIntent object for errors returned on a request
    involving a PaymentIntent"."""
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
    """ERRORS: 400 "often due to missing a required parameter", 401 "No valid API key provided",
    404 "The requested resource doesn't exist"."""
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
    """CODES, ``parameter_invalid_empty``: "One or more required values weren't provided. Make
    sure requests include all required parameters" — an empty string for a required parameter is
    this code, not ``parameter_missing``."""
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
    """CODES, ``parameter_invalid_integer``: "One of the parameters requires an integer, but the
    values provided were a different type" — an integer beyond 64 bits is no integer Stripe
    accepts: 400 naming the parameter, never a 500."""
    reply = http.get(path, params=params)
    error = reply.json()["error"]
    assert reply.status_code == 400, reply.text
    assert error["code"] == "parameter_invalid_integer" and error["param"] == next(iter(params))


def test_amount_beyond_64_bits(http: httpx.Client) -> None:
    """CODES, ``parameter_invalid_integer`` on a create (``amount``)."""
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
    call throws an error"; CODES, ``resource_missing``: "The ID provided is not valid. Either the
    resource does not exist, or an ID for a different resource has been provided"."""
    reply = http.get(path, params=params)
    error = reply.json()["error"]
    assert reply.status_code == 404
    assert (error["code"], error["param"]) == ("resource_missing", param)
    assert "nope" in error["message"]


def test_list_filter_naming_an_existing_object(
    client: stripe.StripeClient, shop: dict[str, Any]
) -> None:
    """https://docs.stripe.com/api/refunds/list: ``charge`` "Only return refunds for the charge
    specified by this charge ID" — an existing charge without refunds gives an empty list."""
    assert client.v1.refunds.list({"charge": shop["big"]}).data == []


def test_parameter_unknown(http: httpx.Client) -> None:
    """CODES, ``parameter_unknown``: "The request contains one or more unexpected parameters"."""
    reply = http.post("/v1/customers", data={"emial": "a@b.c"})
    error = reply.json()["error"]
    assert (error["code"], error["param"]) == ("parameter_unknown", "emial")


# -- https://docs.stripe.com/api/pagination -----------------------------------------------------


def test_list_limit_range(http: httpx.Client) -> None:
    """PAGINATION: "Limit can range between 1 and 100, and the default is 10"."""
    for limit in ("0", "101"):
        assert http.get("/v1/charges", params={"limit": limit}).status_code == 400
    assert http.get("/v1/charges", params={"limit": "100"}).status_code == 200


def test_list_cursors(client: stripe.StripeClient, shop: dict[str, Any]) -> None:
    """PAGINATION: ``starting_after`` fetches the next page (older objects), ``ending_before``
    the previous page; ``has_more`` says whether more objects are available."""
    newest_first = client.v1.charges.list({"limit": 100}).data
    ids = [c.id for c in newest_first]
    after = client.v1.charges.list({"starting_after": ids[0], "limit": 2})
    assert [c.id for c in after.data] == ids[1:3]
    before = client.v1.charges.list({"ending_before": ids[2], "limit": 100})
    assert [c.id for c in before.data] == ids[:2] and not before.has_more


# -- https://docs.stripe.com/api/metadata -------------------------------------------------------


def test_metadata_limits(http: httpx.Client) -> None:
    """METADATA: "up to 50 keys, with key names up to 40 characters long and values up to 500
    characters long"; "you can't use square brackets ([ and ]) in keys"."""
    ok = {f"metadata[k{n}]": "v" for n in range(50)}
    assert http.post("/v1/customers", data=ok).status_code == 200
    assert http.post("/v1/customers", data={**ok, "metadata[k50]": "v"}).status_code == 400
    assert http.post("/v1/customers", data={"metadata[" + "k" * 41 + "]": "v"}).status_code == 400
    assert http.post("/v1/customers", data={"metadata[k]": "v" * 501}).status_code == 400
    assert http.post("/v1/customers", data={"metadata[a[b]]": "v"}).status_code == 400


def test_metadata_unset(client: stripe.StripeClient) -> None:
    """METADATA: "Unset individual keys by posting an empty value to them. You can clear all keys
    by posting an empty value to metadata." Keys and values are stored as strings."""
    customer = client.v1.customers.create({"metadata": {"a": "1", "b": "2"}})
    assert client.v1.customers.update(customer.id, {"metadata": {"a": ""}}).metadata.to_dict() == {
        "b": "2"
    }
    assert client.v1.customers.update(customer.id, {"metadata": ""}).metadata.to_dict() == {}


# -- https://docs.stripe.com/api/idempotent_requests --------------------------------------------

IDEMPOTENCY = "https://docs.stripe.com/api/idempotent_requests"


def test_idempotent_replay_of_success_and_failure(client: stripe.StripeClient) -> None:
    """IDEMPOTENCY: "saving the resulting status code and body of the first request made for any
    given idempotency key, regardless of whether it succeeds or fails. Subsequent requests with the
    same key return the same result"."""
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
    """IDEMPOTENCY: "Idempotency keys are up to 255 characters long"."""
    form = {"email": "key@example.com"}
    assert http.post("/v1/customers", data=form, headers={"Idempotency-Key": "k" * 255}).is_success
    longer = http.post("/v1/customers", data=form, headers={"Idempotency-Key": "k" * 256})
    assert longer.status_code == 400 and longer.json()["error"]["type"] == "invalid_request_error"


def test_idempotency_other_parameters_error(client: stripe.StripeClient) -> None:
    """IDEMPOTENCY: "compares incoming parameters to those of the original request and errors if
    they're not the same"."""
    client.v1.customers.create({"name": "A"}, {"idempotency_key": "documented-params"})
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create({"name": "B"}, {"idempotency_key": "documented-params"})


def test_idempotency_validation_failures_are_not_saved(client: stripe.StripeClient) -> None:
    """IDEMPOTENCY: "If incoming parameters fail validation ... we don't save the idempotent
    result ... You can retry these requests"."""
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
    """IDEMPOTENCY: "Don't send idempotency keys in GET and DELETE requests because it has no
    effect. These requests are idempotent by definition"."""
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


# -- https://docs.stripe.com/search#query-fields-for-charges (and the guide's examples) ----------


@pytest.fixture(scope="module")
def searchable(client: stripe.StripeClient) -> dict[str, str]:
    """A disputed, a refunded and a failed charge with a postal code, for the field tests."""
    disputed = client.v1.charges.create(
        {"amount": 2100, "currency": "usd", "source": "tok_createDispute"}
    )
    method = client.v1.payment_methods.create(
        {
            "type": "card",
            "card": {"token": "tok_amex"},
            "billing_details": {"address": {"postal_code": "94107"}},
        }
    )
    refunded = client.v1.payment_intents.create(
        {
            "amount": 2200,
            "currency": "usd",
            "payment_method": method.id,
            "confirm": True,
            "payment_method_types": ["card"],
        }
    )
    client.v1.refunds.create({"payment_intent": refunded.id})
    with pytest.raises(stripe.CardError) as caught:
        client.v1.charges.create(
            {"amount": 2300, "currency": "usd", "source": "tok_chargeDeclined"}
        )
    assert caught.value.error is not None and caught.value.error.charge
    return {
        "disputed": disputed.id,
        "refunded": str(refunded.latest_charge),
        "failed": caught.value.error.charge,
    }


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("disputed:'true'", "disputed"),
        ("refunded:'true'", "refunded"),
        ("status:'failed'", "failed"),
        ("billing_details.address.postal_code:'94107'", "refunded"),
        ("payment_method_details.card.brand:'amex'", "refunded"),
        ("payment_method_details.card.exp_year>2000 AND amount:2200", "refunded"),
        ("amount:2300 AND status:'failed'", "failed"),
    ],
)
def test_charge_query_fields(
    client: stripe.StripeClient, searchable: dict[str, str], query: str, key: str
) -> None:
    """https://docs.stripe.com/search#query-fields-for-charges: ``amount``,
    ``billing_details.address.postal_code``, ``disputed``, ``payment_method_details.card.*``,
    ``refunded``, ``status`` are searchable."""
    found = {c.id for c in client.v1.charges.search({"query": query, "limit": 100}).data}
    assert searchable[key] in found
    assert all(searchable[other] not in found for other in searchable if other != key)


def test_payment_intents_not_in_usd(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/search: "Negation filter — Look up PaymentIntents not in the USD
    currency" (``-currency:'usd'``)."""
    eur = client.v1.payment_intents.create(
        {"amount": 1000, "currency": "eur", "payment_method_types": ["card"]}
    )
    usd = client.v1.payment_intents.create(
        {"amount": 1000, "currency": "usd", "payment_method_types": ["card"]}
    )
    found = {i.id for i in client.v1.payment_intents.search({"query": "-currency:'usd'"}).data}
    assert eur.id in found and usd.id not in found


def test_search_combining_filters(client: stripe.StripeClient, shop: dict[str, Any]) -> None:
    """https://docs.stripe.com/search: "Combining multiple filters — Look up charges matching a
    combination of metadata and currency"."""
    query = "metadata['order_id']:'6735' AND currency:'usd'"
    assert _ids(client.v1.charges.search({"query": query})) == {shop["big"], shop["small"]}


def test_search_order_of_clauses_does_not_matter(
    client: stripe.StripeClient, shop: dict[str, Any]
) -> None:
    """SEARCH: a query is a set of clauses joined by AND (or OR); their order does not change the
    result."""
    one = client.v1.charges.search({"query": "amount>999 AND metadata['order_id']:'6735'"})
    two = client.v1.charges.search({"query": "metadata['order_id']:'6735' AND amount>999"})
    assert _ids(one) == _ids(two) == {shop["big"]}


# -- https://docs.stripe.com/api/errors (status codes) ----------------------------------------


def test_card_decline_code_and_status(client: stripe.StripeClient) -> None:
    """ERRORS: "Some 4xx errors that could be handled programmatically (e.g., a card is declined)
    include an error code"; 402 "The parameters were valid but the request failed"."""
    with pytest.raises(stripe.CardError) as caught:
        client.v1.charges.create(
            {"amount": 1000, "currency": "usd", "source": "tok_chargeDeclinedInsufficientFunds"}
        )
    assert caught.value.http_status == 402 and caught.value.code == "card_declined"
    assert caught.value.error is not None
    assert caught.value.error.decline_code == "insufficient_funds"


def test_unknown_ids_are_404(client: stripe.StripeClient) -> None:
    """ERRORS: 404 "The requested resource doesn't exist" — for every resource."""
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
