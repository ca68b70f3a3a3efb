"""Every test card, token and PaymentMethod id of https://docs.stripe.com/testing, driven through
the official library.

Expected values are copied from the reference tables (not from the sandbox's own card table), so a
wrong entry in the sandbox fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from billing_kit.sandbox import SandboxServer

from .conftest import count

# (pm_card_ / tok_ suffix, brand, last4, funding, country) — https://docs.stripe.com/testing#cards.
SUCCESS = [
    ("visa", "visa", "4242", "credit", "US"),
    ("visa_debit", "visa", "5556", "debit", "US"),
    ("mastercard", "mastercard", "4444", "credit", "US"),
    ("mastercard_debit", "mastercard", "8210", "debit", "US"),
    ("mastercard_prepaid", "mastercard", "5100", "prepaid", "US"),
    ("amex", "amex", "8431", "credit", "US"),
    ("discover", "discover", "1117", "credit", "US"),
    ("diners", "diners", "0004", "credit", "US"),
    ("jcb", "jcb", "0505", "credit", "JP"),
    ("unionpay", "unionpay", "0005", "credit", "CN"),
    ("gb", "visa", "0000", "credit", "GB"),
    ("ca", "visa", "0000", "credit", "CA"),
    ("de", "visa", "0016", "credit", "DE"),
    ("jp", "visa", "0003", "credit", "JP"),
]
LEGACY_BRAND = {
    "visa": "Visa",
    "mastercard": "MasterCard",
    "amex": "American Express",
    "discover": "Discover",
    "diners": "Diners Club",
    "jcb": "JCB",
    "unionpay": "UnionPay",
}
# Raw numbers without a pm_card_ id (https://docs.stripe.com/testing#cards): number -> (brand,
# funding).
RAW = [
    ("2223003122003222", "mastercard", "credit"),
    ("378282246310005", "amex", "credit"),
    ("6011000990139424", "discover", "credit"),
    ("6011981111111113", "discover", "debit"),
    ("36227206271667", "diners", "credit"),
    ("6200000000000047", "unionpay", "debit"),
    ("6205500000000000004", "unionpay", "credit"),
]
# Issuer declines (https://docs.stripe.com/testing#declined-payments): pm suffix, token, code,
# decline_code. Refused already at attach.
DECLINES = [
    ("visa_chargeDeclined", "tok_chargeDeclined", "card_declined", "generic_decline"),
    (
        "visa_chargeDeclinedInsufficientFunds",
        "tok_chargeDeclinedInsufficientFunds",
        "card_declined",
        "insufficient_funds",
    ),
    (
        "visa_chargeDeclinedLostCard",
        "tok_visa_chargeDeclinedLostCard",
        "card_declined",
        "lost_card",
    ),
    (
        "visa_chargeDeclinedStolenCard",
        "tok_visa_chargeDeclinedStolenCard",
        "card_declined",
        "stolen_card",
    ),
    ("chargeDeclinedExpiredCard", "tok_chargeDeclinedExpiredCard", "expired_card", None),
    ("chargeDeclinedIncorrectCvc", "tok_chargeDeclinedIncorrectCvc", "incorrect_cvc", None),
    (
        "chargeDeclinedProcessingError",
        "tok_chargeDeclinedProcessingError",
        "processing_error",
        None,
    ),
    (
        "visa_chargeDeclinedVelocityLimitExceeded",
        "tok_visa_chargeDeclinedVelocityLimitExceeded",
        "card_declined",
        "card_velocity_exceeded",
    ),
]
MESSAGES = {
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "insufficient_funds": "Your card has insufficient funds.",
}


def confirm(client: stripe.StripeClient, pm: str, **extra: Any) -> stripe.PaymentIntent:
    params: dict[str, Any] = {
        "amount": 2000,
        "currency": "usd",
        "payment_method": pm,
        "confirm": True,
        "payment_method_types": ["card"],
        **extra,
    }
    return client.v1.payment_intents.create(params)


def legacy(client: stripe.StripeClient, source: str, **extra: Any) -> stripe.Charge:
    params: dict[str, Any] = {"amount": 2000, "currency": "usd", "source": source, **extra}
    return client.v1.charges.create(params)


@pytest.mark.parametrize(("name", "brand", "last4", "funding", "country"), SUCCESS)
def test_success_payment_method(
    client: stripe.StripeClient, name: str, brand: str, last4: str, funding: str, country: str
) -> None:
    intent = confirm(client, f"pm_card_{name}", expand=["latest_charge"])
    assert intent.status == "succeeded"
    assert intent.amount_received == 2000
    charge = intent.latest_charge
    assert isinstance(charge, stripe.Charge)
    card = charge.payment_method_details.card
    assert (card.brand, card.last4, card.funding, card.country) == (brand, last4, funding, country)
    assert charge.payment_method.startswith("pm_") and charge.payment_method != f"pm_card_{name}"
    assert charge.outcome.type == "authorized"


@pytest.mark.parametrize(("name", "brand", "last4", "funding", "country"), SUCCESS)
def test_success_token(
    client: stripe.StripeClient, name: str, brand: str, last4: str, funding: str, country: str
) -> None:
    charge = legacy(client, f"tok_{name}")
    assert charge.status == "succeeded" and charge.paid and charge.captured
    assert charge.payment_intent is None
    assert charge.source.brand == LEGACY_BRAND[brand]
    assert charge.source.last4 == last4
    assert charge.payment_method_details.card.brand == brand


@pytest.mark.parametrize(("number", "brand", "funding"), RAW)
def test_raw_numbers(client: stripe.StripeClient, number: str, brand: str, funding: str) -> None:
    pm = client.v1.payment_methods.create(
        {
            "type": "card",
            "card": {
                "number": number,
                "exp_month": 12,
                "exp_year": 2040,
                "cvc": "123" if brand != "amex" else "1234",
            },
        }
    )
    assert (pm.card.brand, pm.card.last4, pm.card.funding) == (brand, number[-4:], funding)
    assert confirm(client, pm.id).status == "succeeded"


@pytest.mark.parametrize(
    ("card", "code", "param"),
    [
        ({"number": "4242424242424241"}, "incorrect_number", "card[number]"),
        ({"exp_month": "13"}, "invalid_expiry_month", "exp_month"),
        ({"exp_year": "2001"}, "invalid_expiry_year", "exp_year"),
        ({"cvc": "12"}, "invalid_cvc", "cvc"),
    ],
)
def test_invalid_card_data(
    client: stripe.StripeClient, card: dict[str, str], code: str, param: str
) -> None:
    fields = {"number": "4242424242424242", "exp_month": "12", "exp_year": "2040", **card}
    with pytest.raises(stripe.CardError) as caught:
        client.v1.tokens.create({"card": fields})
    assert caught.value.http_status == 402
    assert (caught.value.code, caught.value.param) == (code, param)


@pytest.mark.parametrize(("pm", "token", "code", "decline_code"), DECLINES)
def test_decline_at_attach(
    client: stripe.StripeClient,
    server: SandboxServer,
    pm: str,
    token: str,
    code: str,
    decline_code: str | None,
) -> None:
    customer = client.v1.customers.create({"email": f"{pm}@example.com"})
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_methods.attach(f"pm_card_{pm}", {"customer": customer.id})
    assert caught.value.code == code
    assert caught.value.error.decline_code == decline_code
    customers = count(server, "customers")
    with pytest.raises(stripe.CardError) as again:
        client.v1.customers.create({"source": token})
    assert again.value.code == code
    with pytest.raises(stripe.CardError):
        client.v1.customers.create({"payment_method": f"pm_card_{pm}"})
    assert count(server, "customers") == customers  # a refused card leaves no customer behind
    listed = client.v1.customers.payment_methods.list(customer.id)
    assert listed.data == []


@pytest.mark.parametrize(("pm", "token", "code", "decline_code"), DECLINES)
def test_decline_at_confirm_keeps_failed_charge(
    client: stripe.StripeClient, pm: str, token: str, code: str, decline_code: str | None
) -> None:
    with pytest.raises(stripe.CardError) as caught:
        confirm(client, f"pm_card_{pm}")
    error = caught.value.error
    assert caught.value.http_status == 402 and caught.value.code == code
    assert error.decline_code == decline_code
    assert error.message == MESSAGES.get(decline_code or code, "Your card was declined.")
    intent = error.payment_intent
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.code == code
    stored = client.v1.payment_intents.retrieve(intent.id)
    assert stored.status == "requires_payment_method" and stored.latest_charge == error.charge
    charge = client.v1.charges.retrieve(error.charge)
    assert (charge.status, charge.paid, charge.captured) == ("failed", False, False)
    assert charge.failure_code == code and charge.balance_transaction is None
    assert charge.outcome.type == "issuer_declined"
    assert charge.outcome.network_status == "declined_by_network"


@pytest.mark.parametrize(("pm", "token", "code", "decline_code"), DECLINES)
def test_decline_legacy_charge(
    client: stripe.StripeClient, pm: str, token: str, code: str, decline_code: str | None
) -> None:
    with pytest.raises(stripe.CardError) as caught:
        legacy(client, token)
    charge = client.v1.charges.retrieve(caught.value.error.charge)
    assert charge.status == "failed" and charge.failure_code == code
    events = client.v1.events.list({"type": "charge.failed", "limit": 5})
    assert charge.id in [e.data.object["id"] for e in events.data]


@pytest.mark.parametrize(
    ("pm", "token", "decline_code"),
    [
        ("chargeCustomerFail", "tok_chargeCustomerFail", "generic_decline"),
        ("chargeCustomerFail", "tok_visa_chargeCustomerFailLostCard", "lost_card"),
        ("chargeCustomerFail", "tok_visa_chargeCustomerFailStolenCard", "stolen_card"),
    ],
)
def test_0341_attaches_then_declines(
    client: stripe.StripeClient, pm: str, token: str, decline_code: str
) -> None:
    customer = client.v1.customers.create({"source": token})
    assert customer.default_source is not None
    with pytest.raises(stripe.CardError) as caught:
        client.v1.charges.create({"amount": 900, "currency": "usd", "customer": customer.id})
    assert caught.value.error.decline_code == decline_code
    method = client.v1.payment_methods.attach(f"pm_card_{pm}", {"customer": customer.id})
    assert method.customer == customer.id
    with pytest.raises(stripe.CardError):
        confirm(client, method.id, customer=customer.id)


@pytest.mark.parametrize("name", ["radarBlock", "riskLevelHighest"])
def test_radar_blocks(client: stripe.StripeClient, name: str) -> None:
    with pytest.raises(stripe.CardError) as caught:
        confirm(client, f"pm_card_{name}")
    assert caught.value.code == "card_declined"
    assert caught.value.error.decline_code == "fraudulent"
    charge = client.v1.charges.retrieve(caught.value.error.charge)
    outcome = charge.outcome
    assert (outcome.type, outcome.risk_level, outcome.network_status) == (
        "blocked",
        "highest",
        "not_sent_to_network",
    )
    with pytest.raises(stripe.CardError):
        legacy(client, "tok_chargeDeclinedFraudulent" if name == "radarBlock" else f"tok_{name}")


def test_radar_elevated_goes_to_review(client: stripe.StripeClient) -> None:
    charge = legacy(client, "tok_riskLevelElevated")
    assert charge.status == "succeeded"
    assert (charge.outcome.type, charge.outcome.risk_level) == ("manual_review", "elevated")


@pytest.mark.parametrize(
    ("name", "line1", "postal"),
    [
        ("avsZipFail", None, "fail"),
        ("avsLine1Fail", "fail", None),
        ("avsFail", "fail", "fail"),
        ("avsUnchecked", "unavailable", "unavailable"),
    ],
)
def test_address_checks(
    client: stripe.StripeClient, name: str, line1: str | None, postal: str | None
) -> None:
    charge = legacy(client, f"tok_{name}")
    checks = charge.payment_method_details.card.checks
    assert charge.status == "succeeded"
    assert (checks.address_line1_check, checks.address_postal_code_check) == (line1, postal)


def test_cvc_check_fail_declines(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as caught:
        legacy(client, "tok_cvcCheckFail")
    assert caught.value.code == "incorrect_cvc"
    charge = client.v1.charges.retrieve(caught.value.error.charge)
    assert charge.payment_method_details.card.checks.cvc_check == "fail"


@pytest.mark.parametrize(
    "name", ["authenticationRequired", "threeDSecure2Required", "authenticationRequiredOnSetup"]
)
def test_three_d_secure(client: stripe.StripeClient, name: str) -> None:
    intent = confirm(client, f"pm_card_{name}")
    assert intent.status == "requires_action" and intent.next_action is not None
    with pytest.raises(stripe.CardError) as caught:
        confirm(client, f"pm_card_{name}", off_session=True)
    assert caught.value.code == "authentication_required"
    with pytest.raises(stripe.CardError):
        legacy(client, f"pm_card_{name}")
    canceled = client.v1.payment_intents.cancel(intent.id)
    assert canceled.status == "canceled"


@pytest.mark.parametrize(
    ("name", "reason", "status", "withdrawn"),
    [
        ("createDispute", "fraudulent", "needs_response", True),
        ("createDisputeProductNotReceived", "product_not_received", "needs_response", True),
        ("createDisputeInquiry", "general", "warning_needs_response", False),
    ],
)
def test_dispute_cards(
    client: stripe.StripeClient, name: str, reason: str, status: str, withdrawn: bool
) -> None:
    charge = legacy(client, f"tok_{name}", amount=5000)
    assert charge.status == "succeeded" and charge.disputed
    disputes = client.v1.disputes.list({"charge": charge.id})
    (dispute,) = disputes.data
    assert (dispute.reason, dispute.status, dispute.amount) == (reason, status, 5000)
    assert bool(dispute.balance_transactions) is withdrawn
    if withdrawn:
        txn = dispute.balance_transactions[0]
        assert (txn.amount, txn.fee, txn.net) == (-5000, 1500, -6500)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create({"charge": charge.id})
    assert caught.value.code == "charge_disputed"


@pytest.mark.parametrize(
    ("evidence", "outcome"), [("winning_evidence", "won"), ("losing_evidence", "lost")]
)
def test_dispute_evidence(client: stripe.StripeClient, evidence: str, outcome: str) -> None:
    charge = legacy(client, "tok_createDispute", amount=3000)
    (dispute,) = client.v1.disputes.list({"charge": charge.id}).data
    closed = client.v1.disputes.update(dispute.id, {"evidence": {"uncategorized_text": evidence}})
    assert closed.status == outcome
    assert len(closed.balance_transactions) == (2 if outcome == "won" else 1)


def test_pending_refund_card(client: stripe.StripeClient) -> None:
    charge = legacy(client, "tok_pendingRefund")
    refund = client.v1.refunds.create({"charge": charge.id})
    assert refund.status == "pending"
    # Only requires_action refunds can be canceled (https://docs.stripe.com/api/refunds/cancel).
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.cancel(refund.id)
    assert client.v1.refunds.retrieve(refund.id).status in ("pending", "succeeded")
    assert client.v1.charges.retrieve(charge.id).amount_refunded == charge.amount


def test_refund_fail_card(client: stripe.StripeClient) -> None:
    charge = legacy(client, "tok_refundFail")
    refund = client.v1.refunds.create({"charge": charge.id})
    assert refund.status == "succeeded"
    later = client.v1.refunds.retrieve(refund.id)
    assert (later.status, later.failure_reason) == ("failed", "expired_or_canceled_card")
    assert client.v1.charges.retrieve(charge.id).amount_refunded == 0
    types = [e.type for e in client.v1.events.list({"type": "refund.*", "limit": 3}).data]
    assert "refund.failed" in types


@pytest.mark.parametrize(
    ("token", "status"),
    [
        ("tok_bypassPending", "available"),
        ("tok_bypassPendingInternational", "available"),
        ("tok_visa", "pending"),
    ],
)
def test_bypass_pending(client: stripe.StripeClient, token: str, status: str) -> None:
    charge = legacy(client, token, expand=["balance_transaction"])
    assert charge.balance_transaction.status == status


def test_magic_ids_mint_new_objects(client: stripe.StripeClient, server: SandboxServer) -> None:
    first = client.v1.payment_methods.retrieve("pm_card_visa")
    second = client.v1.payment_methods.retrieve("pm_card_visa")
    assert first.id != second.id and first.id.startswith("pm_")
    customer = client.v1.customers.create({})
    attached = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    again = client.v1.payment_methods.retrieve(attached.id)
    assert again.customer == customer.id


def test_created_tokens_are_single_use(client: stripe.StripeClient) -> None:
    token = client.v1.tokens.create(
        {"card": {"number": "4242424242424242", "exp_month": "12", "exp_year": "2040"}}
    )
    legacy(client, token.id)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        legacy(client, token.id)
    assert caught.value.code == "token_already_used"


@pytest.mark.parametrize(
    "name",
    [
        "us", "fr", "createIssuerFraudRecord", "domesticPricing", "highFraudDisputeScore",
        "highEfwScore", "radarDynamicRiskThreshold", "freeTrialAbuseBlock",
        "adaptive3dsChallenge",
    ],
)  # fmt: skip
def test_settings_dependent_cards_succeed(client: stripe.StripeClient, name: str) -> None:
    # https://docs.stripe.com/testing#fraud-prevention and #disputes: outcomes that depend on Radar
    # settings; default settings let them through.
    assert confirm(client, f"pm_card_{name}").status == "succeeded"
    assert legacy(client, f"tok_{name}").status == "succeeded"


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("tok_visa_chargeDeclined", "card_declined"),
        ("tok_visa_chargeDeclinedInsufficientFunds", "card_declined"),
        ("tok_visa_debit_chargeDeclinedInsufficientFunds", "card_declined"),
        ("tok_visa_chargeDeclinedExpiredCard", "expired_card"),
        ("tok_visa_chargeDeclinedIncorrectCvc", "incorrect_cvc"),
        ("tok_visa_chargeDeclinedProcessingError", "processing_error"),
        ("tok_visa_chargeDeclinedFraudulent", "card_declined"),
        ("tok_visa_chargeCustomerFail", "card_declined"),
    ],
)
def test_token_aliases(client: stripe.StripeClient, token: str, code: str) -> None:
    with pytest.raises(stripe.CardError) as caught:
        legacy(client, token)
    assert caught.value.code == code


def test_multiple_disputes_card_is_disputed(client: stripe.StripeClient) -> None:
    charge = legacy(client, "tok_createMultipleDisputes")
    assert charge.disputed and client.v1.disputes.list({"charge": charge.id}).data


def test_debit_insufficient_funds_is_debit(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as caught:
        legacy(client, "tok_visa_debit_chargeDeclinedInsufficientFunds")
    charge = client.v1.charges.retrieve(caught.value.error.charge)
    assert charge.payment_method_details.card.funding == "debit"
    assert caught.value.error.decline_code == "insufficient_funds"


@pytest.mark.parametrize(
    ("name", "outcome", "status", "code"),
    [
        ("authenticationRequired", "succeed", "succeeded", None),
        ("authenticationRequired", "fail", "requires_payment_method",
         "payment_intent_authentication_failure"),
        ("authenticationRequiredChargeDeclinedInsufficientFunds", "succeed", None,
         "card_declined"),
        ("threeDSecureRequiredChargeDeclined", "succeed", None, "card_declined"),
    ],
)  # fmt: skip
def test_sandbox_authentication(client: stripe.StripeClient, name: str, outcome: str,
                                status: str | None, code: str | None) -> None:  # fmt: skip
    intent = confirm(client, f"pm_card_{name}")
    assert intent.status == "requires_action"
    path = f"/v1/_sandbox/payment_intents/{intent.id}/authenticate"
    if status is None:  # authenticated, then the issuer declines
        with pytest.raises(stripe.CardError) as caught:
            client.raw_request("post", path, outcome=outcome)
        assert caught.value.code == code
        assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"
        return
    done = client.deserialize(client.raw_request("post", path, outcome=outcome), api_mode="V1")
    assert done.status == status
    if code:
        assert done.last_payment_error.code == code
