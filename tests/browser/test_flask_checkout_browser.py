"""examples/flask_checkout in Debian's chromium against the sandbox: check out, be declined and pay
with another card, submit the form twice at once; the sandbox's signed webhooks reach the shop
meanwhile.
Screenshots go to artifacts/screenshots/ (kept by CI).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from billing_kit.sandbox import SandboxServer, start
from billing_kit.sandbox._webhooks import Forwarder
from tests.examples.conftest import WEBHOOK_SECRET, create_app, payments

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


class Shop:
    """The example app served over HTTP on a free port, with the sandbox forwarding to it."""

    def __init__(self, sandbox: SandboxServer, tmp: Path) -> None:
        self.sandbox = sandbox
        self.app = create_app({
            "STRIPE_API_KEY": "sk_test_sandbox",
            "STRIPE_API_BASE": sandbox.url,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "BILLING_KIT_HOME": str(tmp / "home"),
            "DATABASE": str(tmp / "orders.sqlite3"),
        })  # fmt: skip
        self.http = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()
        self.webhooks = Forwarder(sandbox.core.store, f"{self.url}/webhook", WEBHOOK_SECRET)
        self.webhooks.start()

    def stop(self) -> None:
        self.webhooks.stop()
        self.http.shutdown()
        self.thread.join()
        payments.close(self.app)

    def charges(self) -> list[tuple[int, str]]:
        with self.sandbox.core.store.read() as conn:
            rows = conn.execute("SELECT amount, status FROM charges ORDER BY seq").fetchall()
        return [(int(a), str(s)) for a, s in rows]

    def settle(self) -> None:
        """Wait until every event the sandbox recorded was acknowledged by the shop."""
        with self.sandbox.core.store.read() as conn:
            made = int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        deadline = time.monotonic() + 20
        while len(set(self.webhooks.delivered())) < made:
            assert time.monotonic() < deadline, "the shop did not acknowledge every event"
            time.sleep(0.05)

    def fulfilments(self) -> list[tuple[int, str]]:
        from checkout import orders

        with self.app.app_context():
            return orders.fulfilments()


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    with start() as sandbox:
        running = Shop(sandbox, tmp_path)
        try:
            yield running
        finally:
            running.stop()


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _fill(page: Any, shop: Shop, *, method: str, quantity: str = "2") -> None:
    page.goto(shop.url)
    page.fill("#email", "ada@example.com")
    page.select_option("#sku", "tee")
    page.fill("#quantity", quantity)
    page.select_option("#payment_method", method)


def test_checkout_in_a_real_browser(page: Any, shop: Shop) -> None:
    from playwright.sync_api import expect

    _fill(page, shop, method="pm_card_visa")
    page.click("#pay")
    expect(page.locator("h2")).to_have_text("Thank you!")
    expect(page.locator("#summary")).to_contain_text("2 x T-shirt")
    expect(page.locator("#summary")).to_contain_text("$40.00")
    _shot(page, "flask_checkout_thanks")
    assert shop.charges() == [(4000, "succeeded")]
    shop.settle()  # the signed events reached /webhook, which found the order already fulfilled
    assert shop.fulfilments() == [(1, "checkout")]


def test_declined_then_paid_with_another_card(page: Any, shop: Shop) -> None:
    from playwright.sync_api import expect

    _fill(page, shop, method="pm_card_visa_chargeDeclinedStolenCard", quantity="1")
    page.click("#pay")
    expect(page.locator("#message")).to_have_text(
        "Your card was declined. Please use another card or contact your bank."
    )
    _shot(page, "flask_checkout_declined")
    page.select_option("#payment_method", "pm_card_visa")
    page.click("#pay")
    expect(page.locator("h2")).to_have_text("Thank you!")
    assert shop.charges() == [(2000, "failed"), (2000, "succeeded")]
    shop.settle()
    assert shop.fulfilments() == [(1, "checkout")]


def test_a_double_submit_from_the_browser_charges_once(page: Any, shop: Shop) -> None:
    # Chromium folds a double click into one navigation, so the page posts the same form twice
    # at once itself, as a double-firing script or a flaky network retry would.
    _fill(page, shop, method="pm_card_visa")
    landed = page.evaluate(
        """async () => {
            const form = document.querySelector("form");
            const post = () => fetch(form.action, {method: "POST", body: new FormData(form)});
            const replies = await Promise.all([post(), post()]);
            return replies.map((r) => [r.status, new URL(r.url).pathname]);
        }"""
    )
    assert landed == [[200, "/thanks/1"], [200, "/thanks/1"]]
    shop.settle()
    assert shop.charges() == [(4000, "succeeded")]
    assert shop.fulfilments() == [(1, "checkout")]
