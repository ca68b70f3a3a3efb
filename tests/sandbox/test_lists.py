"""Lists, cursors, created filters, expand, search and events.

Pages: https://docs.stripe.com/api/pagination, https://docs.stripe.com/search,
https://docs.stripe.com/api/events.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from billing_kit.sandbox import SandboxServer
from tests.support import TEST_KEY

DAY = 86_400


@pytest.fixture(scope="module")
def history(server: SandboxServer, client: stripe.StripeClient) -> dict[str, Any]:
    """25 charges for one customer, one per simulated day, plus a second customer's charges."""
    start = client.v1.customers.create({"email": "first@example.com", "source": "tok_visa"})
    other = client.v1.customers.create({"email": "other@example.com", "source": "tok_mastercard"})
    ids: list[str] = []
    created: list[int] = []
    for n in range(25):
        charge = client.v1.charges.create(
            {
                "amount": 1000 + n,
                "currency": "usd",
                "customer": start.id,
                "metadata": {"n": str(n), "parity": "even" if n % 2 == 0 else "odd"},
            }
        )
        ids.append(charge.id)
        created.append(charge.created)
        client.v1.charges.create({"amount": 700, "currency": "eur", "customer": other.id})
        server.core.clock.advance(DAY)
    return {"customer": start.id, "other": other.id, "ids": ids, "created": created}


def test_default_limit_and_order(client: stripe.StripeClient, history: dict[str, Any]) -> None:
    page = client.v1.charges.list({"customer": history["customer"]})
    assert page.object == "list" and page.url == "/v1/charges"
    assert [c.id for c in page.data] == history["ids"][::-1][:10]
    assert page.has_more


@pytest.mark.parametrize("limit", [1, 7, 25, 100])
def test_limit_and_has_more(
    client: stripe.StripeClient, history: dict[str, Any], limit: int
) -> None:
    page = client.v1.charges.list({"customer": history["customer"], "limit": limit})
    assert len(page.data) == min(limit, 25)
    assert page.has_more is (limit < 25)


def test_starting_after_walks_older(client: stripe.StripeClient, history: dict[str, Any]) -> None:
    newest_first = history["ids"][::-1]
    page = client.v1.charges.list(
        {"customer": history["customer"], "limit": 5, "starting_after": newest_first[4]}
    )
    assert [c.id for c in page.data] == newest_first[5:10] and page.has_more
    last = client.v1.charges.list(
        {"customer": history["customer"], "limit": 5, "starting_after": newest_first[19]}
    )
    assert [c.id for c in last.data] == newest_first[20:] and not last.has_more


def test_ending_before_walks_newer(client: stripe.StripeClient, history: dict[str, Any]) -> None:
    newest_first = history["ids"][::-1]
    page = client.v1.charges.list(
        {"customer": history["customer"], "limit": 3, "ending_before": newest_first[10]}
    )
    assert [c.id for c in page.data] == newest_first[7:10] and page.has_more
    top = client.v1.charges.list(
        {"customer": history["customer"], "limit": 3, "ending_before": newest_first[2]}
    )
    assert [c.id for c in top.data] == newest_first[:2] and not top.has_more


def test_auto_paging_sees_everything_once(
    client: stripe.StripeClient, history: dict[str, Any]
) -> None:
    page = client.v1.charges.list({"customer": history["customer"], "limit": 4})
    seen = [c.id for c in page.auto_paging_iter()]
    assert seen == history["ids"][::-1]


def test_unknown_cursor_is_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.list({"starting_after": "ch_nope"})
    assert (caught.value.http_status, caught.value.param) == (404, "starting_after")
    with pytest.raises(stripe.InvalidRequestError) as before:
        client.v1.charges.list({"ending_before": "ch_nope"})
    assert before.value.param == "ending_before"


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ({"gte": 3, "lt": 8}, range(3, 8)),
        ({"gt": 3, "lte": 8}, range(4, 9)),
        ({"gte": 20}, range(20, 25)),
        ({"lt": 2}, range(0, 2)),
        ({"gte": 5, "lte": 5}, range(5, 6)),
        ({"gt": 30}, range(0)),
    ],
)
def test_created_ranges(
    client: stripe.StripeClient, history: dict[str, Any], bounds: dict[str, int], expected: range
) -> None:
    created = {
        op: history["created"][n] if n < 25 else history["created"][-1] + DAY * (n - 24)
        for op, n in bounds.items()
    }
    page = client.v1.charges.list(
        {"customer": history["customer"], "created": created, "limit": 100}
    )
    assert [c.id for c in page.data] == [history["ids"][n] for n in reversed(expected)]


def test_created_exact(client: stripe.StripeClient, history: dict[str, Any]) -> None:
    page = client.v1.charges.list(
        {"customer": history["customer"], "created": history["created"][7]}
    )
    assert [c.id for c in page.data] == [history["ids"][7]]


def test_filters(client: stripe.StripeClient, history: dict[str, Any]) -> None:
    other = client.v1.charges.list({"customer": history["other"], "limit": 100})
    assert len(other.data) == 25 and {c.currency for c in other.data} == {"eur"}
    emails = client.v1.customers.list({"email": "first@example.com"})
    assert [c.id for c in emails.data] == [history["customer"]]


def test_expand_on_list_and_retrieve(client: stripe.StripeClient, history: dict[str, Any]) -> None:
    page = client.v1.charges.list(
        {
            "customer": history["customer"],
            "limit": 3,
            "expand": ["data.balance_transaction", "data.customer"],
        }
    )
    for charge in page.data:
        assert charge.balance_transaction.object == "balance_transaction"
        assert charge.balance_transaction.source == charge.id
        assert charge.customer.email == "first@example.com"
    one = client.v1.charges.retrieve(history["ids"][0], {"expand": ["customer.default_source"]})
    assert one.customer.default_source.object == "card"


def test_expand_four_levels_and_limits(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"source": "tok_visa"})
    intent = client.v1.payment_intents.create(
        {
            "amount": 5000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "customer": customer.id,
            "payment_method_types": ["card"],
        }
    )
    refund = client.v1.refunds.create(
        {
            "payment_intent": intent.id,
            "amount": 1000,
            "expand": ["charge.payment_intent.customer.default_source"],
        }
    )
    source = refund.charge.payment_intent.customer.default_source
    assert source.object == "card"
    page = client.v1.refunds.list(
        {"payment_intent": intent.id, "expand": ["data.charge.payment_intent.customer"]}
    )
    assert page.data[0].charge.payment_intent.customer.id == customer.id
    # On lists ``data`` is one of the four levels (https://docs.stripe.com/api/expanding_objects).
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.list(
            {
                "payment_intent": intent.id,
                "expand": ["data.charge.payment_intent.customer.default_source"],
            }
        )
    with pytest.raises(stripe.InvalidRequestError) as deep:
        client.v1.refunds.retrieve(
            refund.id, {"expand": ["charge.payment_intent.customer.default_source.customer"]}
        )
    assert "more than 4 levels" in deep.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as bad:
        client.v1.charges.list({"expand": ["balance_transaction"]})
    assert "data.balance_transaction" in bad.value.user_message
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.retrieve(refund.charge.id, {"expand": ["amount"]})


def test_expand_refunds_and_sources(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"source": "tok_visa"})
    charge = client.v1.charges.create({"amount": 3000, "currency": "usd", "customer": customer.id})
    client.v1.refunds.create({"charge": charge.id, "amount": 1000})
    client.v1.refunds.create({"charge": charge.id, "amount": 500})
    expanded = client.v1.charges.retrieve(charge.id, {"expand": ["refunds"]})
    assert expanded.refunds.url == f"/v1/charges/{charge.id}/refunds"
    assert [r.amount for r in expanded.refunds.data] == [500, 1000]
    assert "refunds" not in client.v1.charges.retrieve(charge.id)  # not auto-expanded (2022-11-15)
    with_sources = client.v1.customers.retrieve(customer.id, {"expand": ["sources"]})
    assert len(with_sources.sources.data) == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('metadata["parity"]:"even"', 13),
        ('metadata["parity"]:"even" AND amount>1010', 7),
        ('metadata["parity"]:"even" AND -metadata["n"]:"0"', 12),
        ('metadata["n"]:"3" OR metadata["n"]:"4"', 2),
        ('status:"succeeded" AND currency:"usd" AND amount<=1004 AND metadata["n"]:null', 0),
        ("amount>=1020 AND amount<1025", 5),
    ],
)
def test_search(
    client: stripe.StripeClient, history: dict[str, Any], query: str, expected: int
) -> None:
    result = client.v1.charges.search({"query": query, "limit": 100})
    assert result.object == "search_result" and result.url == "/v1/charges/search"
    assert len(result.data) == expected


def test_search_pages_and_total_count(client: stripe.StripeClient, history: dict[str, Any]) -> None:
    query = f'customer:"{history["customer"]}"'
    first = client.v1.charges.search({"query": query, "limit": 10, "expand": ["total_count"]})
    assert first.has_more and first.next_page and first.total_count == 25
    seen = [
        c.id for c in client.v1.charges.search({"query": query, "limit": 10}).auto_paging_iter()
    ]
    assert seen == history["ids"][::-1]


@pytest.mark.parametrize(
    "query",
    ["", "amount", 'nosuchfield:"x"', "status:succeeded", 'a:"1" AND b:"2" OR c:"3"', 'email~"ab"'],
)
def test_search_rejects_bad_queries(client: stripe.StripeClient, query: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.search({"query": query})
    assert caught.value.param == "query"


def test_customer_search(client: stripe.StripeClient, history: dict[str, Any]) -> None:
    found = client.v1.customers.search({"query": 'email~"other@"'})
    assert [c.id for c in found.data] == [history["other"]]


def test_events(
    client: stripe.StripeClient, server: SandboxServer, history: dict[str, Any]
) -> None:
    succeeded = client.v1.events.list({"type": "charge.succeeded", "limit": 100})
    assert set(history["ids"]) <= {e.data.object["id"] for e in succeeded.data}
    assert all(e.type == "charge.succeeded" for e in succeeded.data)
    wildcard = client.v1.events.list({"type": "customer.*", "limit": 100})
    assert {e.type for e in wildcard.data} <= {"customer.created", "customer.updated"}
    both = client.v1.events.list({"types": ["customer.created", "charge.succeeded"], "limit": 100})
    assert {e.type for e in both.data} == {"customer.created", "charge.succeeded"}
    since = client.v1.events.list({"created": {"gte": history["created"][24]}, "limit": 100})
    assert {e.data.object["id"] for e in since.data} >= {history["ids"][24]}
    event = client.v1.events.retrieve(succeeded.data[0].id)
    assert event.data.object["object"] == "charge" and event.request.id.startswith("req_")
    assert event.api_version == "2026-10-28.endive"


def test_events_reject_type_and_types(server: SandboxServer) -> None:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TEST_KEY}"}) as http:
        reply = http.get("/v1/events", params={"type": "charge.succeeded", "types[0]": "x"})
    assert reply.status_code == 400


def test_search_created_and_refunded(client: stripe.StripeClient, history: dict[str, Any]) -> None:
    since = history["created"][20]
    recent = client.v1.charges.search(
        {"query": f'customer:"{history["customer"]}" AND created>={since}', "limit": 100}
    )
    assert [c.id for c in recent.data] == history["ids"][20:][::-1]
    full, part = history["ids"][0], history["ids"][1]
    client.v1.refunds.create({"charge": full})
    client.v1.refunds.create({"charge": part, "amount": 100})
    fully = client.v1.charges.search({"query": 'refunded:"true"', "limit": 100})
    partly = client.v1.charges.search({"query": 'refunded:"false"', "limit": 100})
    assert full in {c.id for c in fully.data} and part not in {c.id for c in fully.data}
    assert part in {c.id for c in partly.data} and full not in {c.id for c in partly.data}
