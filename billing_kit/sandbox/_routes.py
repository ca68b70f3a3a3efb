"""The route table: ``(method, path pattern) -> handler``; handlers take ``(ctx, *ids, params)``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from billing_kit.sandbox import (
    _balance,
    _charges,
    _customers,
    _disputes,
    _events,
    _payment_intents,
    _payment_methods,
    _payouts,
    _refunds,
    _reporting,
    _sandbox_routes,
    _search,
)

Handler = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Route:
    """One endpoint. ``writes`` is False for reads, which run outside the write lock."""

    method: str
    pattern: re.Pattern[str]
    template: str
    handler: Handler
    writes: bool
    auth: bool = True


def _legacy_refund(ctx: Any, charge_id: str, params: dict[str, Any]) -> dict[str, Any]:
    return _refunds.create(ctx, {**params, "charge": charge_id})


_TABLE: list[tuple[str, str, Handler]] = [
    ("GET", "/v1/_sandbox/health", _sandbox_routes.health),
    ("GET", "/v1/_sandbox/clock", _sandbox_routes.get_clock),
    ("POST", "/v1/_sandbox/clock", _sandbox_routes.set_clock),
    ("POST", "/v1/_sandbox/payouts/sweep", _payouts.sweep),
    ("POST", "/v1/_sandbox/payment_intents/{id}/authenticate", _payment_intents.authenticate),
    ("POST", "/v1/customers", _customers.create),
    ("GET", "/v1/customers", _customers.list_customers),
    ("GET", "/v1/customers/search", _search.customers),
    ("GET", "/v1/customers/{id}", _customers.retrieve),
    ("POST", "/v1/customers/{id}", _customers.update),
    ("DELETE", "/v1/customers/{id}", _customers.delete),
    ("POST", "/v1/customers/{id}/sources", _customers.create_source),
    ("GET", "/v1/customers/{id}/sources", _customers.list_sources),
    ("GET", "/v1/customers/{id}/sources/{id}", _customers.retrieve_source),
    ("DELETE", "/v1/customers/{id}/sources/{id}", _customers.delete_source),
    ("GET", "/v1/customers/{id}/payment_methods",
     lambda ctx, cid, params: _payment_methods.list_payment_methods(ctx, params, customer=cid)),
    ("POST", "/v1/tokens", _payment_methods.create_token),
    ("GET", "/v1/tokens/{id}", _payment_methods.retrieve_token),
    ("POST", "/v1/payment_methods", _payment_methods.create_payment_method),
    ("GET", "/v1/payment_methods", _payment_methods.list_payment_methods),
    ("GET", "/v1/payment_methods/{id}", _payment_methods.retrieve_payment_method),
    ("POST", "/v1/payment_methods/{id}", _payment_methods.update_payment_method),
    ("POST", "/v1/payment_methods/{id}/attach", _payment_methods.attach_payment_method),
    ("POST", "/v1/payment_methods/{id}/detach", _payment_methods.detach_payment_method),
    ("POST", "/v1/charges", _charges.create),
    ("GET", "/v1/charges", _charges.list_charges),
    ("GET", "/v1/charges/search", _search.charges),
    ("GET", "/v1/charges/{id}", _charges.retrieve),
    ("POST", "/v1/charges/{id}", _charges.update),
    ("POST", "/v1/charges/{id}/capture", _charges.capture),
    ("GET", "/v1/charges/{id}/refunds", _charges.list_charge_refunds),
    ("POST", "/v1/charges/{id}/refunds", _legacy_refund),
    ("POST", "/v1/payment_intents", _payment_intents.create),
    ("GET", "/v1/payment_intents", _payment_intents.list_intents),
    ("GET", "/v1/payment_intents/search", _search.payment_intents),
    ("GET", "/v1/payment_intents/{id}", _payment_intents.retrieve),
    ("POST", "/v1/payment_intents/{id}", _payment_intents.update),
    ("POST", "/v1/payment_intents/{id}/confirm", _payment_intents.confirm),
    ("POST", "/v1/payment_intents/{id}/capture", _payment_intents.capture),
    ("POST", "/v1/payment_intents/{id}/cancel", _payment_intents.cancel),
    ("POST", "/v1/refunds", _refunds.create),
    ("GET", "/v1/refunds", _refunds.list_refunds),
    ("GET", "/v1/refunds/{id}", _refunds.retrieve),
    ("POST", "/v1/refunds/{id}", _refunds.update),
    ("POST", "/v1/refunds/{id}/cancel", _refunds.cancel),
    ("GET", "/v1/balance", _balance.balance),
    ("GET", "/v1/balance_transactions", _balance.list_transactions),
    ("GET", "/v1/balance_transactions/{id}", _balance.retrieve),
    ("GET", "/v1/balance/history", _balance.list_transactions),
    ("GET", "/v1/balance/history/{id}", _balance.retrieve),
    ("POST", "/v1/payouts", _payouts.create),
    ("GET", "/v1/payouts", _payouts.list_payouts),
    ("GET", "/v1/payouts/{id}", _payouts.retrieve),
    ("GET", "/v1/disputes", _disputes.list_disputes),
    ("GET", "/v1/disputes/{id}", _disputes.retrieve),
    ("POST", "/v1/disputes/{id}", _disputes.update),
    ("POST", "/v1/disputes/{id}/close", _disputes.close),
    ("GET", "/v1/events", _events.list_events),
    ("GET", "/v1/events/{id}", _events.retrieve),
    ("GET", "/v1/reporting/report_types", _reporting.list_types),
    ("GET", "/v1/reporting/report_types/{id}", _reporting.retrieve_type),
    ("POST", "/v1/reporting/report_runs", _reporting.create_run),
    ("GET", "/v1/reporting/report_runs", _reporting.list_runs),
    ("GET", "/v1/reporting/report_runs/{id}", _reporting.retrieve_run),
    ("GET", "/v1/files/{id}/contents", _reporting.file_contents),
]  # fmt: skip

# Reads that can mint objects (``GET /v1/payment_methods/pm_card_visa``) still run as reads: the
# minted object is returned but not stored, so GETs never take the write lock.
ROUTES: list[Route] = [
    Route(
        method,
        re.compile("^" + re.escape(template).replace(re.escape("{id}"), "([^/]+)") + "$"),
        template,
        handler,
        writes=method != "GET",
        auth=template != "/v1/_sandbox/health",
    )
    for method, template, handler in _TABLE
]


def match(method: str, path: str) -> tuple[Route, tuple[str, ...]] | None:
    """Return the route for ``method path`` and its path ids, or None."""
    for route in ROUTES:
        if route.method == method:
            found = route.pattern.match(path)
            if found:
                return route, found.groups()
    return None


def endpoints() -> list[str]:
    """Return ``METHOD template`` for every endpoint (for docs and the report)."""
    return [f"{r.method} {r.template}" for r in ROUTES]
