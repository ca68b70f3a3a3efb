"""Events (https://docs.stripe.com/api/events): retrieve, and list with ``type`` (``*`` wildcard),
``types[]``, ``created``.

Events are written by :meth:`._context.Ctx.emit` in the same transaction as the change they
describe.
"""

from __future__ import annotations

from typing import Any

from billing_kit.sandbox import _lists, _params
from billing_kit.sandbox._context import Ctx
from billing_kit.sandbox._errors import invalid

MAX_TYPES = 20


def retrieve(ctx: Ctx, event_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/events/:id``."""
    _params.allow(params, ())
    return ctx.get("events", event_id)


def _type_clause(pattern: str) -> tuple[str, str]:
    if "*" in pattern:
        if not pattern.endswith(".*") or pattern.count("*") != 1:
            raise invalid(
                f"Invalid type {pattern!r}: a wildcard must end the type, as in charge.*",
                param="type",
            )
        return "type LIKE ? ESCAPE '\\'", pattern[:-1].replace("_", "\\_") + "%"
    return "type = ?", pattern


def list_events(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/events``."""
    _params.allow(params, _params.LIST_PARAMS | {"type", "types", "delivery_success"})
    where = _lists.Where()
    kind = _params.text(params, "type")
    kinds = _params.string_list(params, "types", max_items=MAX_TYPES)
    if kind is not None and kinds is not None:
        raise invalid("You may only specify one of these parameters: type, types.", param="types")
    if kind is not None:
        where.add(*_type_clause(kind))
    if kinds:
        clauses = [_type_clause(k) for k in kinds]
        where.add("(" + " OR ".join(c for c, _ in clauses) + ")", *(arg for _, arg in clauses))
    if _params.boolean(params, "delivery_success") is False:
        where.add("0")  # the sandbox has no webhook endpoints, so no delivery ever failed
    return _lists.run(ctx.conn, "events", "/v1/events", params, where)
