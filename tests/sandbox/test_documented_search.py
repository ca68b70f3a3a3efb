"""Stripe's search guide and the search endpoints, statement by statement.

Each test cites the page it checks and quotes (shortened) the statement it turns into assertions.
The other ``test_documented_*`` modules cover the errors, error-codes, pagination, metadata,
idempotency and expanding guides, charges, PaymentIntents, refunds and disputes, customers, payment
methods, balance, payouts, events and tokens.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
import stripe


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
    """https://docs.stripe.com/search#search-query-language, examples: ``metadata['key']:'value'``
    and ``metadata["key"]:"value"`` both work."""
    assert _ids(client.v1.charges.search({"query": query})) == {shop["big"], shop["small"]}


def test_search_escaped_quotes(client: stripe.StripeClient, shop: dict[str, Any]) -> None:
    """https://docs.stripe.com/search#search-query-language, quotes: "You can escape quotes inside
    of quotes with a backslash"."""
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
    """https://docs.stripe.com/search#search-query-language: clauses are joined "using the AND or OR
    keywords (case insensitive)"."""
    query = f"currency:'usd' {keyword} amount>999 {keyword} metadata['order_id']:'6735'"
    assert _ids(client.v1.charges.search({"query": query})) == {shop["big"]}


@pytest.mark.parametrize("keyword", ["OR", "or"])
def test_search_or_keyword_in_any_case(
    client: stripe.StripeClient, shop: dict[str, Any], keyword: str
) -> None:
    """https://docs.stripe.com/search#search-query-language: ``OR``/``or`` returns records matching
    either clause."""
    query = f"currency:'eur' {keyword} amount:500"
    assert _ids(client.v1.charges.search({"query": query})) == {shop["eur"], shop["small"]}


def test_search_space_means_and(client: stripe.StripeClient, shop: dict[str, Any]) -> None:
    """https://docs.stripe.com/search#search-query-language: "By default, the API combines clauses
    with AND logic" (a space joins clauses)."""
    found = client.v1.charges.search({"query": "currency:'usd' amount<1000"})
    assert _ids(found) == {shop["small"]}


def test_search_and_or_are_mutually_exclusive(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/search#search-query-language: "AND and OR operators are mutually
    exclusive"."""
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.search({"query": "amount:1 and amount:2 or amount:3"})
    assert caught.value.param == "query"


def test_search_exact_match_on_text_matches_words_in_order(
    client: stripe.StripeClient, shop: dict[str, Any]
) -> None:
    """https://docs.stripe.com/search#search-query-language: an exact match (``:``) on a text field
    matches the value's words in order (case-insensitive), not only the whole value: ``name:'jane
    doe'`` finds "Mary Jane Doe" but not "Doe Jane"."""
    assert _ids(client.v1.customers.search({"query": "name:'jane doe'"})) == {shop["jane"]}
    assert _ids(client.v1.customers.search({"query": "name:'Mary Jane Doe'"})) == {shop["jane"]}
    both = client.v1.customers.search({"query": "name:'doe'"})
    assert {shop["jane"], shop["other"]} <= _ids(both)
    assert not _ids(client.v1.customers.search({"query": "name:'jane mary'"}))


def test_search_negation(client: stripe.StripeClient, shop: dict[str, Any]) -> None:
    """https://docs.stripe.com/search#search-query-language: "You can negate query clauses using a -
    character"."""
    found = client.v1.charges.search({"query": "-currency:'usd' metadata['order_id']:null"})
    assert shop["eur"] not in _ids(found)
    not_usd = client.v1.charges.search({"query": "-currency:'usd'", "limit": 100})
    assert shop["eur"] in _ids(not_usd) and shop["big"] not in _ids(not_usd)


def test_search_null_presence(client: stripe.StripeClient, shop: dict[str, Any]) -> None:
    """https://docs.stripe.com/search#search-query-language: ``-metadata['key']:null`` finds records
    that have the key."""
    found = client.v1.charges.search({"query": "-metadata['order_id']:null", "limit": 100})
    assert {shop["big"], shop["small"], shop["eur"]} <= _ids(found)


def test_search_substring_needs_three_characters(
    client: stripe.StripeClient, shop: dict[str, Any]
) -> None:
    """https://docs.stripe.com/search#search-query-language: ``~`` is a substring match with a
    minimum of 3 characters."""
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
    """https://docs.stripe.com/search#search-query-language: "You can combine up to 10 query
    clauses"."""
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
    """https://docs.stripe.com/search#search-query-language: a query is a set of clauses joined by
    AND (or OR); their order does not change the result."""
    one = client.v1.charges.search({"query": "amount>999 AND metadata['order_id']:'6735'"})
    two = client.v1.charges.search({"query": "metadata['order_id']:'6735' AND amount>999"})
    assert _ids(one) == _ids(two) == {shop["big"]}
