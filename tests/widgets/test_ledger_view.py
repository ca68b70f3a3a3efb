"""LedgerView driven headless: every attempt with its key and Stripe id; pending ones on top."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import billing_kit
from billing_kit.widgets import LedgerView


def test_every_attempt_shows_its_key_and_stripe_id(client: billing_kit.Client) -> None:
    ok = client.charge("ana@example.com", "12.50", "usd", payment_method="pm_card_visa")
    with pytest.raises(billing_kit.CardDeclined):
        client.charge("bo@example.com", "3.00", "eur", payment_method="pm_card_chargeDeclined")
    client.refund(ok.id, "2.00")
    view = LedgerView(client)
    assert view.error_area.value == ""
    ledger = client.ledger.frame()
    assert len(view.value) == len(ledger) == 3
    html = view.table.html.value
    for key, stripe_id in zip(ledger["idempotency_key"], ledger["stripe_id"], strict=True):
        assert key in html and stripe_id in html
    assert "$12.50" in html and "€3.00" in html and "$2.00" in html
    assert "card_declined" in html or "generic_decline" in html
    assert view.pending.value == "", "nothing pending: no warning"
    assert view.summary.value.startswith("3 attempts")


def test_filters_by_outcome_kind_mode_and_date(client: billing_kit.Client) -> None:
    ok = client.charge("ana@example.com", "12.50", "usd", payment_method="pm_card_visa")
    with pytest.raises(billing_kit.CardDeclined):
        client.charge("bo@example.com", "3.00", "usd", payment_method="pm_card_chargeDeclined")
    client.refund(ok.id)
    view = LedgerView(client)
    assert [v for _, v in view.outcome.options] == ["", "declined", "succeeded"]
    assert [v for _, v in view.kind.options] == ["", "charge", "refund"]
    assert [v for _, v in view.mode_filter.options] == ["", "sandbox"]
    view.outcome.value = "succeeded"
    assert list(view.value["kind"]) == ["charge", "refund"]
    view.kind.value = "refund"
    assert list(view.value["stripe_id"].str[:3]) == ["re_"]
    view.kind.value = view.outcome.value = ""
    view.outcome.value = "declined"
    assert list(view.value["amount"]) == [300]
    view.outcome.value = ""
    today = ok.created.date()
    view.since.value = today + timedelta(days=1)
    assert view.value.empty and "No rows" in view.table.html.value
    view.since.value, view.until.value = today, today
    assert len(view.value) == 3
    view.since.value = today + timedelta(days=2)
    assert "is after To" in view.error_area.value


def test_pending_attempt_is_highlighted_with_what_to_do(
    sandbox: Any, client: billing_kit.Client
) -> None:
    customer = client.find_or_create_customer("ana@example.com")
    sandbox.stop()
    with pytest.raises(billing_kit.StripeUnavailable):
        client.charge(customer.id, "12.50", "usd", payment_method="pm_card_visa")
    (row,) = client.ledger.rows()
    assert row.outcome == "pending"
    view = LedgerView(client)
    assert "1 attempt(s) pending" in view.pending.value
    assert row.idempotency_key in view.pending.value
    assert "Run the same operation again" in view.pending.value and "$12.50" in view.pending.value
    assert "⚠ pending" in view.table.html.value
    view.outcome.value = "pending"
    assert len(view.value) == 1


def test_reload_picks_up_new_attempts(client: billing_kit.Client) -> None:
    view = LedgerView(client)
    assert view.value.empty and "No rows" in view.table.html.value
    client.charge("ana@example.com", "5.00", "usd", payment_method="pm_card_visa")
    view.outcome.value = ""
    view.reload_button.click()
    assert len(view.value) == 1 and view.error_area.value == ""
