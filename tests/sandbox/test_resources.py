"""CRUD of customers, payment methods and charges through the official library.

See https://docs.stripe.com/api.
"""

from __future__ import annotations

import pytest
import stripe


def test_customer_crud(client: stripe.StripeClient) -> None:
    created = client.v1.customers.create(
        {"email": "crud@example.com", "name": "Ada", "phone": "+15551234", "metadata": {"a": "1"}}
    )
    assert created.object == "customer" and created.id.startswith("cus_")
    assert (created.email, created.name, created.livemode) == ("crud@example.com", "Ada", False)
    assert "sources" not in created  # not auto-expanded since 2020-08-27
    updated = client.v1.customers.update(created.id, {"name": "Ada L.", "description": "vip"})
    assert (updated.name, updated.description) == ("Ada L.", "vip")
    deleted = client.v1.customers.delete(created.id)
    assert deleted.deleted is True and deleted.id == created.id
    stub = client.v1.customers.retrieve(created.id)
    assert stub.deleted is True
    assert created.id not in [c.id for c in client.v1.customers.list({"limit": 100}).data]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.update(created.id, {"name": "ghost"})
    events = client.v1.events.list({"type": "customer.*", "limit": 3}).data
    assert [e.type for e in events] == ["customer.deleted", "customer.updated", "customer.created"]


def test_customer_sources(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"source": "tok_visa"})
    first = customer.default_source
    second = client.v1.customers.payment_sources.create(customer.id, {"source": "tok_mastercard"})
    assert second.object == "card" and second.brand == "MasterCard"
    sources = client.v1.customers.payment_sources.list(customer.id)
    assert {s.id for s in sources.data} == {first, second.id}
    charge = client.v1.charges.create(
        {"amount": 900, "currency": "usd", "customer": customer.id, "source": second.id}
    )
    assert charge.payment_method == second.id and charge.source.customer == customer.id
    client.v1.customers.update(customer.id, {"default_source": second.id})
    default = client.v1.charges.create({"amount": 900, "currency": "usd", "customer": customer.id})
    assert default.payment_method == second.id
    client.v1.customers.payment_sources.delete(customer.id, second.id)
    assert client.v1.customers.retrieve(customer.id).default_source == first
    stranger = client.v1.customers.create({})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.create(
            {"amount": 900, "currency": "usd", "customer": stranger.id, "source": first}
        )


def test_payment_method_attach_detach_list(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"payment_method": "pm_card_amex"})
    (first,) = client.v1.customers.payment_methods.list(customer.id).data
    assert first.card.brand == "amex"
    second = client.v1.payment_methods.create(
        {"type": "card", "card": {"token": "tok_visa"}, "metadata": {"x": "1"}}
    )
    client.v1.payment_methods.attach(second.id, {"customer": customer.id})
    listed = client.v1.payment_methods.list({"customer": customer.id, "type": "card"})
    assert [p.id for p in listed.data] == [second.id, first.id]
    updated = client.v1.payment_methods.update(second.id, {"metadata": {"x": "2"}})
    assert updated.metadata.to_dict() == {"x": "2"}
    client.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": second.id}}
    )
    detached = client.v1.payment_methods.detach(second.id)
    assert detached.customer is None
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.detach(second.id)
    other = client.v1.customers.create({})
    with pytest.raises(stripe.InvalidRequestError) as foreign:
        client.v1.payment_intents.create(
            {
                "amount": 1000,
                "currency": "usd",
                "customer": other.id,
                "payment_method": first.id,
                "confirm": True,
                "payment_method_types": ["card"],
            }
        )
    assert foreign.value.param == "payment_method"


def test_charge_update_and_events(client: stripe.StripeClient) -> None:
    charge = client.v1.charges.create({"amount": 1000, "currency": "usd", "source": "tok_visa"})
    updated = client.v1.charges.update(
        charge.id, {"description": "Order 7", "metadata": {"order": "7"}}
    )
    assert (updated.description, updated.metadata.to_dict()) == ("Order 7", {"order": "7"})
    (event,) = client.v1.events.list({"type": "charge.updated", "limit": 1}).data
    assert event.data.object["id"] == charge.id
    assert event.data.previous_attributes["description"] is None


def test_unknown_ids_name_the_param(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.create({"amount": 900, "currency": "usd", "customer": "cus_missing"})
    assert (caught.value.http_status, caught.value.param) == (404, "customer")
    with pytest.raises(stripe.InvalidRequestError) as pm:
        client.v1.payment_intents.create(
            {"amount": 900, "currency": "usd", "payment_method": "pm_missing"}
        )
    assert pm.value.param == "payment_method"
