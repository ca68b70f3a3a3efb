"""Fixtures for examples/flask_checkout: the app against a private in-process sandbox."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from billing_kit.sandbox import SandboxServer, start

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flask_checkout"
sys.path.insert(0, str(EXAMPLE))

from checkout import create_app, payments  # noqa: E402  (the example is not an installed package)

WEBHOOK_SECRET = "whsec_example_endpoint"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with start() as server:
        yield server


@pytest.fixture
def make_app(tmp_path: Path, sandbox: SandboxServer) -> Iterator[Callable[..., Any]]:
    """A factory of apps on the test's sandbox; each has its own orders database and ledger
    unless told otherwise. All are closed after the test.
    """
    made: list[Any] = []

    def make(name: str = "a", **config: Any) -> Any:
        app = create_app({
            "TESTING": True,
            "STRIPE_API_KEY": "sk_test_sandbox",
            "STRIPE_API_BASE": sandbox.url,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "BILLING_KIT_HOME": str(tmp_path / f"home-{name}"),
            "DATABASE": str(tmp_path / f"orders-{name}.sqlite3"),
            **config,
        })  # fmt: skip
        made.append(app)
        return app

    yield make
    for app in made:
        payments.close(app)
