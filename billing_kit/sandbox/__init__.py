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

import importlib

from billing_kit.sandbox._core import Core
from billing_kit.sandbox._server import SandboxServer, ensure_shared, start

__all__ = ["Core", "SandboxServer", "ensure_shared", "start"]


def _export_seed() -> None:
    # The bulk seeder (billing_kit/sandbox/seed.py, written by the bench side) provides seed() and
    # SeedSummary. Loading the submodule sets the package attribute `seed` to the module; binding
    # the
    # function afterwards makes `billing_kit.sandbox.seed(...)` the function, per the contract.
    try:
        module = importlib.import_module("billing_kit.sandbox.seed")
    except ModuleNotFoundError as exc:
        if exc.name != "billing_kit.sandbox.seed":
            raise
        return
    for name in ("SeedSummary", "seed"):
        if hasattr(module, name):
            globals()[name] = getattr(module, name)
            __all__.append(name)
    __all__.sort()


_export_seed()
