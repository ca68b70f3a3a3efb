"""The exception tree, the stripe → billing_kit map (complete, ordered) and masked messages."""

from __future__ import annotations

import builtins
import inspect
import json

import pytest
import stripe
from stripe import _error as stripe_error
from stripe import oauth_error

import billing_kit
from billing_kit import _exceptions
from billing_kit._stripe_errors import ERROR_MAP, map_stripe_error

from .conftest import TEST_KEY


def _stripe_error_classes() -> set[type[stripe.StripeError]]:
    found: set[type[stripe.StripeError]] = set()
    for module in (stripe_error, oauth_error, stripe):
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, stripe.StripeError):
                found.add(value)
    return found


def test_every_stripe_error_class_is_mapped_explicitly() -> None:
    classes = _stripe_error_classes()
    assert len(classes) >= 35  # stripe 16.1 has 38; a sudden drop means the scan broke
    mapped = {stripe_class for stripe_class, _ in ERROR_MAP}
    assert classes - mapped == set(), "unmapped stripe errors: add them to ERROR_MAP"


def test_map_is_most_specific_first() -> None:
    for index, (stripe_class, _) in enumerate(ERROR_MAP):
        for earlier, _ in ERROR_MAP[:index]:
            assert not issubclass(stripe_class, earlier), (
                f"{stripe_class.__name__} is shadowed by earlier {earlier.__name__}"
            )


def test_no_exception_shadows_a_builtin() -> None:
    for name in _exceptions.__all__:
        assert not hasattr(builtins, name), name
        assert issubclass(getattr(_exceptions, name), billing_kit.BillingKitError)


def test_module_docstring_draws_every_class() -> None:
    doc = _exceptions.__doc__ or ""
    for name in _exceptions.__all__:
        assert name in doc, f"{name} is missing from the tree in the docstring"


def _body(**error: object) -> tuple[str, dict[str, object]]:
    data: dict[str, object] = {"error": error}
    return json.dumps(data), data


def test_card_error_becomes_card_declined_with_reason_and_charge() -> None:
    text, data = _body(
        type="card_error",
        code="card_declined",
        decline_code="insufficient_funds",
        charge="ch_123",
        message="Your card has insufficient funds.",
        payment_intent={"id": "pi_9", "object": "payment_intent"},
    )
    exc = stripe.CardError(
        "Your card has insufficient funds.", None, "card_declined", text, 402, data
    )
    mapped = map_stripe_error(exc, idempotency_key="bk-charge-1")
    assert isinstance(mapped, billing_kit.CardDeclined)
    assert mapped.decline_code == "insufficient_funds"
    assert mapped.charge_id == "ch_123"
    assert mapped.payment_intent_id == "pi_9"
    assert "insufficient funds" in mapped.reason
    assert mapped.http_status == 402
    assert mapped.idempotency_key == "bk-charge-1"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (stripe.AuthenticationError("bad key", http_status=401), billing_kit.AuthenticationFailed),
        (stripe.PermissionError("no", http_status=403), billing_kit.AccessDenied),
        (stripe.RateLimitError("slow down", http_status=429), billing_kit.RateLimited),
        (stripe.APIError("boom", http_status=500), billing_kit.StripeUnavailable),
        (stripe.APIConnectionError("reset", should_retry=True), billing_kit.StripeUnavailable),
        (stripe.IdempotencyError("mismatch", http_status=400), billing_kit.IdempotencyConflict),
        (stripe.InvalidRequestError("bad", "amount", http_status=400), billing_kit.InvalidRequest),
        (
            stripe.InvalidRequestError("No such charge", "id", "resource_missing", http_status=404),
            billing_kit.ResourceNotFound,
        ),
        (stripe.SignatureVerificationError("sig", "t=1"), billing_kit.SignatureInvalid),
        (oauth_error.InvalidGrantError("invalid_grant", "expired"), billing_kit.OAuthFailed),
        (stripe.InsufficientFundsError("low"), billing_kit.InvalidRequest),
    ],
)
def test_classes_map_to_ours(exc: stripe.StripeError, expected: type[Exception]) -> None:
    mapped = map_stripe_error(exc)
    assert type(mapped) is expected


def test_unavailable_message_names_the_key_to_rerun_with() -> None:
    mapped = map_stripe_error(stripe.APIError("boom", http_status=503), idempotency_key="bk-x-1")
    assert "bk-x-1" in str(mapped) and "re-running" in str(mapped)


def test_keys_are_masked_in_every_message() -> None:
    exc = stripe.AuthenticationError(f"Invalid API Key provided: {TEST_KEY}", http_status=401)
    mapped = map_stripe_error(exc)
    for text in (str(mapped), repr(mapped), mapped.message, str(mapped.args)):
        assert TEST_KEY not in text
    assert "sk_test_…" in str(mapped)
    plain = billing_kit.ConfigurationError(f"key {TEST_KEY} is odd")
    assert TEST_KEY not in str(plain) and TEST_KEY not in repr(plain)


def test_errors_survive_pickling_with_their_details() -> None:
    import pickle

    declined = billing_kit.CardDeclined(
        "Card declined",
        decline_code="insufficient_funds",
        reason="low funds",
        charge_id="ch_1",
        http_status=402,
        idempotency_key="bk-1",
    )
    copy = pickle.loads(pickle.dumps(declined))
    assert type(copy) is billing_kit.CardDeclined and str(copy) == "Card declined"
    assert (copy.decline_code, copy.charge_id, copy.http_status, copy.idempotency_key) == (
        "insufficient_funds",
        "ch_1",
        402,
        "bk-1",
    )
