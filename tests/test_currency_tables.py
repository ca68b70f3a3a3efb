"""The client's money table and the sandbox's Stripe rules are kept apart on purpose (the sandbox
must not share a bug with the client it tests), so this test keeps them from drifting apart."""

from __future__ import annotations

import pytest

from billing_kit._money import CURRENCIES
from billing_kit.sandbox import _money_rules as stripe_rules

BOTH = sorted(set(CURRENCIES) & stripe_rules.SUPPORTED)


def test_the_client_knows_every_currency_the_sandbox_accepts() -> None:
    # The client's table is Stripe's full list; the sandbox settles a subset and refuses the rest.
    assert sorted(stripe_rules.SUPPORTED - set(CURRENCIES)) == []


@pytest.mark.parametrize("code", BOTH)
def test_exponent_step_minimum_and_maximum_agree(code: str) -> None:
    info = CURRENCIES[code]
    step = (
        10
        if code in stripe_rules.THREE_DECIMAL
        else 100
        if code in stripe_rules.WHOLE_HUNDREDS
        else 1
    )
    assert (info.exponent, info.step, info.minimum or 1, info.maximum) == (
        stripe_rules.exponent(code),
        step,
        stripe_rules.MINIMUMS.get(code, 1),
        stripe_rules.MAXIMUMS.get(code, stripe_rules.DEFAULT_MAXIMUM),
    )
