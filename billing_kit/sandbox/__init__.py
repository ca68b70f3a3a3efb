"""A local, stateful, Stripe-compatible server that the official ``stripe`` library talks to.

Start it in a background thread with :func:`start`, share one per state folder with
:func:`ensure_shared`, or run ``billing-kit sandbox serve``. The rules live in a pure core
(:class:`~billing_kit.sandbox._core.Core`) that works without a socket; see ``docs/sandbox.md``.

Examples
--------
>>> import stripe
>>> from billing_kit.sandbox import start
>>> with start() as server:
...     client = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": server.url})
...     intent = client.v1.payment_intents.create(
...         {"amount": 1234, "currency": "usd", "payment_method": "pm_card_visa",
...          "confirm": True, "payment_method_types": ["card"]})
...     intent.status
'succeeded'
"""

from __future__ import annotations

from billing_kit.sandbox._core import Core
from billing_kit.sandbox._server import SandboxServer, ensure_shared, start
from billing_kit.sandbox._webhooks import SANDBOX_WEBHOOK_SECRET

# Importing the submodule binds the package attribute `seed` to the module first; this import then
# rebinds it to the function, so `billing_kit.sandbox.seed(...)` is the function, per the contract.
from billing_kit.sandbox.seed import SeedSummary, seed

__all__ = [
    "SANDBOX_WEBHOOK_SECRET",
    "Core",
    "SandboxServer",
    "SeedSummary",
    "ensure_shared",
    "seed",
    "start",
]
