"""Test cards, ``tok_*`` tokens and ``pm_card_*`` ids with their outcomes.

Source: https://docs.stripe.com/testing.

A card's behaviour is a :class:`CardSpec`. Raw numbers that are not test cards behave as a plain
success for their brand, so any Luhn-valid number works; numbers failing Luhn are rejected.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from billing_kit.sandbox._errors import StripeError, card_error

_GENERIC = "Your card was declined."


@dataclass(frozen=True)
class Decline:
    """How an issuer (or Radar) refuses a card: the error fields and the charge ``outcome``."""

    code: str
    message: str
    decline_code: str | None = None
    param: str | None = None
    outcome_reason: str | None = None

    def error(self, extra: dict[str, object] | None = None) -> StripeError:
        """Return the 402 ``card_error`` for this decline."""
        return card_error(
            self.message,
            code=self.code,
            decline_code=self.decline_code,
            param=self.param,
            extra=extra,
        )


@dataclass(frozen=True)
class CardSpec:
    """Everything the sandbox needs to know about one test card."""

    key: str
    number: str
    brand: str
    funding: str = "credit"
    country: str = "US"
    attach_decline: Decline | None = None
    charge_decline: Decline | None = None
    radar: str | None = None  # "block" | "elevated"
    cvc_check: str = "pass"
    line1_check: str = "pass"
    postal_check: str = "pass"
    dispute: tuple[str, str] | None = None  # (reason, status)
    refund: str | None = None  # "pending" | "fail"
    bypass_pending: bool = False
    three_d_secure: bool = False
    names: tuple[str, ...] = field(default=())

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)

    @property
    def international(self) -> bool:
        """Whether Stripe adds the international-card fee (issuer outside the US account's
        country).
        """
        return self.country != "US"


def fingerprint(key: str) -> str:
    """Return a stable 16-character fingerprint for a card key (same card, same fingerprint)."""
    return hashlib.sha256(("bk-sandbox:" + key).encode()).hexdigest()[:16]


def _d(
    code: str, message: str, decline_code: str | None = None, param: str | None = None
) -> Decline:
    return Decline(code, message, decline_code, param, decline_code or code)


_GENERIC_DECLINE = _d("card_declined", _GENERIC, "generic_decline")
_INSUFFICIENT = _d("card_declined", "Your card has insufficient funds.", "insufficient_funds")
_FRAUD = Decline("card_declined", _GENERIC, "fraudulent", None, "highest_risk_level")
_AUTH_REQUIRED = _d(
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
    "authentication_required",
)

_SPECS: list[CardSpec] = [
    CardSpec("4242424242424242", "4242424242424242", "visa", names=("visa", "us")),
    CardSpec("4000056655665556", "4000056655665556", "visa", "debit", names=("visa_debit",)),
    CardSpec("5555555555554444", "5555555555554444", "mastercard", names=("mastercard",)),
    CardSpec("2223003122003222", "2223003122003222", "mastercard"),
    CardSpec("5200828282828210", "5200828282828210", "mastercard", "debit",
             names=("mastercard_debit",)),
    CardSpec("5105105105105100", "5105105105105100", "mastercard", "prepaid",
             names=("mastercard_prepaid",)),
    CardSpec("378282246310005", "378282246310005", "amex"),
    CardSpec("371449635398431", "371449635398431", "amex", names=("amex",)),
    CardSpec("6011111111111117", "6011111111111117", "discover", names=("discover",)),
    CardSpec("6011000990139424", "6011000990139424", "discover"),
    CardSpec("6011981111111113", "6011981111111113", "discover", "debit"),
    CardSpec("3056930009020004", "3056930009020004", "diners", names=("diners",)),
    CardSpec("36227206271667", "36227206271667", "diners"),
    CardSpec("3566002020360505", "3566002020360505", "jcb", country="JP", names=("jcb",)),
    CardSpec("6200000000000005", "6200000000000005", "unionpay", country="CN",
             names=("unionpay",)),
    CardSpec("6200000000000047", "6200000000000047", "unionpay", "debit", country="CN"),
    CardSpec("6205500000000000004", "6205500000000000004", "unionpay", country="CN"),
    CardSpec("4000008260000000", "4000008260000000", "visa", country="GB", names=("gb",)),
    CardSpec("4000001240000000", "4000001240000000", "visa", country="CA", names=("ca",)),
    CardSpec("4000002760000016", "4000002760000016", "visa", country="DE", names=("de",)),
    CardSpec("4000002500000003", "4000002500000003", "visa", country="FR", names=("fr",)),
    CardSpec("4000003920000003", "4000003920000003", "visa", country="JP", names=("jp",)),
    # Issuer declines: refused already when attached to a customer (T26), and at charge time.
    CardSpec("4000000000000002", "4000000000000002", "visa", attach_decline=_GENERIC_DECLINE,
             names=("visa_chargeDeclined", "chargeDeclined")),
    CardSpec("4000000000009995", "4000000000009995", "visa", attach_decline=_INSUFFICIENT,
             names=("visa_chargeDeclinedInsufficientFunds", "chargeDeclinedInsufficientFunds")),
    CardSpec("4000000000009995/debit", "4000000000009995", "visa", "debit",
             attach_decline=_INSUFFICIENT, names=("visa_debit_chargeDeclinedInsufficientFunds",)),
    CardSpec("4000000000009987", "4000000000009987", "visa",
             attach_decline=_d("card_declined", _GENERIC, "lost_card"),
             names=("visa_chargeDeclinedLostCard",)),
    CardSpec("4000000000009979", "4000000000009979", "visa",
             attach_decline=_d("card_declined", _GENERIC, "stolen_card"),
             names=("visa_chargeDeclinedStolenCard",)),
    CardSpec("4000000000000069", "4000000000000069", "visa",
             attach_decline=_d("expired_card", "Your card has expired.", None, "exp_month"),
             names=("chargeDeclinedExpiredCard", "visa_chargeDeclinedExpiredCard")),
    CardSpec("4000000000000127", "4000000000000127", "visa",
             attach_decline=_d("incorrect_cvc", "Your card's security code is incorrect.", None,
                               "cvc"),
             names=("chargeDeclinedIncorrectCvc", "visa_chargeDeclinedIncorrectCvc")),
    CardSpec("4000000000000119", "4000000000000119", "visa",
             attach_decline=_d("processing_error", "An error occurred while processing your "
                               "card. Try again in a little bit."),
             names=("chargeDeclinedProcessingError", "visa_chargeDeclinedProcessingError")),
    CardSpec("4000000000006975", "4000000000006975", "visa",
             attach_decline=_d("card_declined", _GENERIC, "card_velocity_exceeded"),
             names=("visa_chargeDeclinedVelocityLimitExceeded",)),
    # Attaches fine, declines when charged (…0341).
    CardSpec("4000000000000341", "4000000000000341", "visa", charge_decline=_GENERIC_DECLINE,
             names=("chargeCustomerFail", "visa_chargeCustomerFail")),
    CardSpec("4000000000000341/lost", "4000000000000341", "visa",
             charge_decline=_d("card_declined", _GENERIC, "lost_card"),
             names=("visa_chargeCustomerFailLostCard",)),
    CardSpec("4000000000000341/stolen", "4000000000000341", "visa",
             charge_decline=_d("card_declined", _GENERIC, "stolen_card"),
             names=("visa_chargeCustomerFailStolenCard",)),
    # Radar (charge-time evaluation).
    CardSpec("4100000000000019", "4100000000000019", "visa", radar="block",
             names=("radarBlock", "chargeDeclinedFraudulent", "visa_chargeDeclinedFraudulent")),
    CardSpec("4000000000004954", "4000000000004954", "visa", radar="block",
             names=("riskLevelHighest",)),
    CardSpec("4000000000009235", "4000000000009235", "visa", radar="elevated",
             names=("riskLevelElevated",)),
    CardSpec("4000000000000101", "4000000000000101", "visa", cvc_check="fail",
             charge_decline=_d("incorrect_cvc", "Your card's security code is incorrect.", None,
                               "cvc"),
             names=("cvcCheckFail",)),
    CardSpec("4000000000000036", "4000000000000036", "visa", postal_check="fail",
             names=("avsZipFail",)),
    CardSpec("4000000000000028", "4000000000000028", "visa", line1_check="fail",
             names=("avsLine1Fail",)),
    CardSpec("4000000000000010", "4000000000000010", "visa", line1_check="fail",
             postal_check="fail", names=("avsFail",)),
    CardSpec("4000000000000044", "4000000000000044", "visa", line1_check="unavailable",
             postal_check="unavailable", names=("avsUnchecked",)),
    CardSpec("4000008400000407", "4000008400000407", "visa", names=("highFraudDisputeScore",)),
    CardSpec("4000008400000159", "4000008400000159", "visa", names=("highEfwScore",)),
    CardSpec("4000008400001017", "4000008400001017", "visa",
             names=("radarDynamicRiskThreshold",)),
    CardSpec("4001858821843804", "4001858821843804", "visa", names=("freeTrialAbuseBlock",)),
    CardSpec("4000008405600003", "4000008405600003", "visa", names=("adaptive3dsChallenge",)),
    # Disputes, refunds, balance.
    CardSpec("4000000000000259", "4000000000000259", "visa",
             dispute=("fraudulent", "needs_response"), names=("createDispute",)),
    CardSpec("4000000000002685", "4000000000002685", "visa",
             dispute=("product_not_received", "needs_response"),
             names=("createDisputeProductNotReceived",)),
    CardSpec("4000000000001976", "4000000000001976", "visa",
             dispute=("general", "warning_needs_response"), names=("createDisputeInquiry",)),
    CardSpec("4000000404000079", "4000000404000079", "visa",
             dispute=("general", "needs_response"), names=("createMultipleDisputes",)),
    CardSpec("4000000000005423", "4000000000005423", "visa", names=("createIssuerFraudRecord",)),
    CardSpec("4000000000007726", "4000000000007726", "visa", refund="pending",
             names=("pendingRefund",)),
    CardSpec("4000000000005126", "4000000000005126", "visa", refund="fail",
             names=("refundFail",)),
    CardSpec("4000000000000077", "4000000000000077", "visa", bypass_pending=True,
             names=("bypassPending",)),
    CardSpec("4000003720000278", "4000003720000278", "visa", country="IE", bypass_pending=True,
             names=("bypassPendingInternational",)),
    CardSpec("4000000000000093", "4000000000000093", "visa", names=("domesticPricing",)),
    # 3D Secure: on-session confirms stop at requires_action; off-session ones fail.
    CardSpec("4000002500003155", "4000002500003155", "visa", country="FR", three_d_secure=True,
             names=("authenticationRequiredOnSetup",)),
    CardSpec("4000002760003184", "4000002760003184", "visa", country="DE", three_d_secure=True,
             names=("authenticationRequired",)),
    CardSpec("4000008260003178", "4000008260003178", "visa", country="GB", three_d_secure=True,
             charge_decline=_INSUFFICIENT,
             names=("authenticationRequiredChargeDeclinedInsufficientFunds",)),
    CardSpec("4000000000003220", "4000000000003220", "visa", three_d_secure=True,
             names=("threeDSecure2Required",)),
    CardSpec("4000008400001629", "4000008400001629", "visa", three_d_secure=True,
             charge_decline=_GENERIC_DECLINE, names=("threeDSecureRequiredChargeDeclined",)),
]  # fmt: skip

BY_KEY: dict[str, CardSpec] = {spec.key: spec for spec in _SPECS}
BY_FINGERPRINT: dict[str, CardSpec] = {spec.fingerprint: spec for spec in _SPECS}
_BY_NAME: dict[str, CardSpec] = {name: spec for spec in _SPECS for name in spec.names}
_BY_NUMBER: dict[str, CardSpec] = {}
for _spec in _SPECS:
    _BY_NUMBER.setdefault(_spec.number, _spec)

#: Every magic token and PaymentMethod id, e.g. ``tok_visa`` and ``pm_card_visa``.
MAGIC_TOKENS: dict[str, CardSpec] = {f"tok_{name}": spec for name, spec in _BY_NAME.items()}
MAGIC_PAYMENT_METHODS: dict[str, CardSpec] = {
    f"pm_card_{name}": spec for name, spec in _BY_NAME.items()
}
AUTH_REQUIRED = _AUTH_REQUIRED
RADAR_BLOCK = _FRAUD
GENERIC_DECLINE = _GENERIC_DECLINE

LEGACY_BRANDS = {
    "visa": "Visa",
    "mastercard": "MasterCard",
    "amex": "American Express",
    "discover": "Discover",
    "diners": "Diners Club",
    "jcb": "JCB",
    "unionpay": "UnionPay",
    "unknown": "Unknown",
}


def luhn_ok(number: str) -> bool:
    """Return whether ``number`` passes the Luhn checksum.

    Examples
    --------
    >>> luhn_ok("4242424242424242"), luhn_ok("4242424242424241")
    (True, False)
    """
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def brand_of(number: str) -> str:
    """Return the lowercase brand for a card number by its leading digits."""
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(number[:4] or 0) <= 2720:
        return "mastercard"
    if number.startswith(("6011", "65")) or 644 <= int(number[:3] or 0) <= 649:
        return "discover"
    if number[:2] in {"30", "36", "38", "39"}:
        return "diners"
    if number.startswith("35"):
        return "jcb"
    if number.startswith("62"):
        return "unionpay"
    return "unknown"


def spec_for_number(number: str, *, param: str = "card[number]") -> CardSpec:
    """Return the spec for a raw card number; 402 ``incorrect_number`` when it cannot be a card."""
    digits = number.replace(" ", "")
    if not digits.isdigit() or not 12 <= len(digits) <= 19 or not luhn_ok(digits):
        raise card_error("Your card number is incorrect.", code="incorrect_number", param=param)
    known = _BY_NUMBER.get(digits)
    if known is not None:
        return known
    return CardSpec(digits, digits, brand_of(digits))


def spec_for_fingerprint(value: str | None) -> CardSpec | None:
    """Return the test card behind a fingerprint (None for ordinary numbers)."""
    return BY_FINGERPRINT.get(value or "")


def plain(spec: CardSpec) -> CardSpec:
    """Return ``spec`` without behaviours (used for cards the sandbox builds for bulk history)."""
    return replace(spec, attach_decline=None, charge_decline=None, radar=None, dispute=None)
