"""A small Flask shop that takes card payments through billing_kit: the classic Stripe checkout
tutorial, rebuilt for today's API and runnable offline against the billing_kit sandbox.

Run it (two terminals, from the repository root; see README.md):

    billing-kit sandbox serve --forward-to http://127.0.0.1:5000/webhook
    STRIPE_API_BASE=http://127.0.0.1:12111 flask --app examples/flask_checkout/checkout run
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from flask import Flask

import billing_kit as bk
from checkout import orders, payments, views

#: Settings read from the environment, or from a ``.env`` file next to this package. Secret keys
#: never go in code (https://docs.stripe.com/keys-best-practices).
SETTINGS = (
    "STRIPE_API_KEY",
    "STRIPE_API_BASE",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "BILLING_KIT_HOME",
    "SECRET_KEY",
    "DATABASE",
)


def settings_from_env(
    environ: Mapping[str, str] | None = None, folder: Path | None = None
) -> dict[str, str]:
    """Return the :data:`SETTINGS` found in ``folder/.env`` (default: next to the package),
    overridden by the environment. ``os.environ`` is left alone, so the key does not leak into
    subprocesses.
    """
    env = os.environ if environ is None else environ
    dotenv = dotenv_values((folder or Path(__file__).resolve().parent.parent) / ".env")
    found = {k: v for k, v in dotenv.items() if k in SETTINGS and v}
    found.update({k: env[k] for k in SETTINGS if env.get(k)})
    return found


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``.env``/environment (or ``test_config``), then services."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=secrets.token_hex(16),
        STRIPE_API_KEY=None,  # none: billing_kit uses (and starts) the local sandbox
        STRIPE_API_BASE=None,
        STRIPE_PUBLISHABLE_KEY=None,
        STRIPE_WEBHOOK_SECRET=None,  # none in sandbox mode: the sandbox's whsec_sandbox
        BILLING_KIT_HOME=None,
        DATABASE=str(Path(app.instance_path) / "orders.sqlite3"),
        CURRENCY="usd",
    )
    app.config.update(settings_from_env() if test_config is None else test_config)
    Path(app.config["DATABASE"]).parent.mkdir(parents=True, exist_ok=True)
    app.add_template_filter(bk.format_amount, "money")  # integer minor units -> "$12.50"
    orders.init_app(app)
    payments.init_app(app)
    app.register_blueprint(views.bp)
    return app
