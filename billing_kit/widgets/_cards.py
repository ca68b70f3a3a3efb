"""The catalogue of Stripe test cards, named by what they do.

In sandbox and test mode an analyst picks a card by its *effect* ("declined: insufficient
funds"), not by a magic id. The ids are Stripe's documented ``pm_card_*`` test PaymentMethods;
each one makes Stripe (and the sandbox) behave as described. See docs.stripe.com/testing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TestCard:
    """One test card: what it does and the PaymentMethod id that does it.

    Attributes
    ----------
    effect
        Plain-language label shown in the form.
    payment_method
        Stripe's ``pm_card_*`` id passed to ``Client.charge(payment_method=...)``.
    decline_code
        The ``decline_code`` (or the error ``code`` when Stripe sends no decline code) that a
        charge with this card fails with, or ``None`` when the charge succeeds.
    """

    __test__ = False  # not a pytest test class, despite the name

    effect: str
    payment_method: str
    decline_code: str | None = None

    @property
    def succeeds(self) -> bool:
        """Whether a charge with this card succeeds."""
        return self.decline_code is None


TEST_CARDS: tuple[TestCard, ...] = (
    TestCard("succeeds (Visa)", "pm_card_visa"),
    TestCard("succeeds (Mastercard)", "pm_card_mastercard"),
    TestCard("succeeds (American Express)", "pm_card_amex"),
    TestCard("succeeds (Visa debit)", "pm_card_visa_debit"),
    TestCard("declined: generic decline", "pm_card_visa_chargeDeclined", "generic_decline"),
    TestCard(
        "declined: insufficient funds",
        "pm_card_visa_chargeDeclinedInsufficientFunds",
        "insufficient_funds",
    ),
    TestCard("declined: lost card", "pm_card_visa_chargeDeclinedLostCard", "lost_card"),
    TestCard("declined: stolen card", "pm_card_visa_chargeDeclinedStolenCard", "stolen_card"),
    TestCard("declined: expired card", "pm_card_chargeDeclinedExpiredCard", "expired_card"),
    TestCard("declined: incorrect CVC", "pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc"),
    TestCard(
        "declined: processing error", "pm_card_chargeDeclinedProcessingError", "processing_error"
    ),
    TestCard("declined: blocked as fraudulent", "pm_card_radarBlock", "fraudulent"),
)


def card_by_effect(effect: str) -> TestCard:
    """Return the test card with the given effect label.

    Raises
    ------
    KeyError
        When no card has that label; the message lists the labels that exist.

    Examples
    --------
    >>> card_by_effect("declined: insufficient funds").payment_method
    'pm_card_visa_chargeDeclinedInsufficientFunds'
    """
    for card in TEST_CARDS:
        if card.effect == effect:
            return card
    known = ", ".join(repr(card.effect) for card in TEST_CARDS)
    raise KeyError(f"no test card does {effect!r}; pick one of: {known}")
