"""``expand[]`` (https://docs.stripe.com/expand): replace ids by objects, recursively, up to four
levels.

List and search responses take ``data.``-prefixed paths. Nested plain objects are walked through
(``invoice_settings.default_payment_method``) without counting as a level.
"""

from __future__ import annotations

from typing import Any

from billing_kit.sandbox import _lists
from billing_kit.sandbox._balance import render
from billing_kit.sandbox._context import Ctx
from billing_kit.sandbox._errors import invalid

MAX_DEPTH = 4

#: Expandable fields of each object type (``type.subobject`` for nested plain objects).
EXPANDABLE: dict[str, frozenset[str]] = {
    "charge": frozenset({"customer", "balance_transaction", "payment_intent", "refunds",
                         "failure_balance_transaction", "review", "application_fee",
                         "source_transfer", "transfer", "on_behalf_of", "application"}),
    "payment_intent": frozenset({"customer", "latest_charge", "payment_method", "review",
                                 "application", "on_behalf_of"}),
    "refund": frozenset({"charge", "balance_transaction", "payment_intent",
                         "failure_balance_transaction", "source_transfer_reversal",
                         "transfer_reversal"}),
    "balance_transaction": frozenset({"source"}),
    "payout": frozenset({"balance_transaction", "failure_balance_transaction", "destination",
                         "original_payout", "reversed_by"}),
    "customer": frozenset({"default_source", "sources", "test_clock"}),
    "customer.invoice_settings": frozenset({"default_payment_method"}),
    "dispute": frozenset({"charge", "payment_intent"}),
    "payment_method": frozenset({"customer"}),
    "card": frozenset({"customer"}),
    "token": frozenset(),
    "event": frozenset(),
    "payment_method_details": frozenset(),
}  # fmt: skip

Tree = dict[str, "Tree"]


def _tree(paths: list[str]) -> Tree:
    tree: Tree = {}
    for path in paths:
        parts = path.split(".")
        # On lists ``data`` is one of the four levels: "the deepest expansion allowed when
        # listing charges is data.payment_intent.customer.default_source"
        # (https://docs.stripe.com/api/expanding_objects).
        depth = len(parts)
        if any(not p for p in parts):
            raise invalid(f"Invalid expand path {path!r}.", param="expand")
        if depth > MAX_DEPTH:
            raise invalid(
                f"You cannot expand more than {MAX_DEPTH} levels of a property. Property: {path}",
                param="expand",
            )
        node = tree
        for part in parts:
            node = node.setdefault(part, {})
    return tree


def expand(ctx: Ctx, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Return ``obj`` with ``paths`` expanded in place; 400 for a path that cannot be expanded."""
    if not paths:
        return obj
    _apply(ctx, obj, _tree(paths), str(obj.get("object")), "")
    return obj


def _apply(ctx: Ctx, obj: dict[str, Any], tree: Tree, kind: str, prefix: str) -> None:
    if kind in ("list", "search_result"):
        for field, sub in tree.items():
            if field == "data":
                for item in obj["data"]:
                    _apply(ctx, item, sub, str(item.get("object")), f"{prefix}data.")
            elif field == "total_count" and kind == "search_result":
                continue
            else:
                raise invalid(
                    f"This property cannot be expanded ({prefix}{field}). You may want to try "
                    f"expanding 'data.{field}' instead.",
                    param="expand",
                )
        return
    allowed = EXPANDABLE.get(kind, frozenset())
    for field, sub in tree.items():
        value = obj.get(field)
        if field in allowed:
            if isinstance(value, str):
                value = _load(ctx, value)
                obj[field] = value
            elif value is None and field in ("refunds", "sources"):
                value = _nested_list(ctx, obj, field)
                obj[field] = value
            if sub and isinstance(value, dict):
                _apply(ctx, value, sub, str(value.get("object")), f"{prefix}{field}.")
        elif isinstance(value, dict) and "object" not in value and sub:
            _apply(ctx, value, sub, f"{kind}.{field}", f"{prefix}{field}.")
        else:
            raise invalid(f"This property cannot be expanded ({prefix}{field}).", param="expand")


def _load(ctx: Ctx, object_id: str) -> Any:
    found = ctx.find(object_id)
    if found is None:
        return object_id  # e.g. the sandbox's fixed bank account: nothing stored to expand into
    if found.get("object") == "balance_transaction":
        return render(found, ctx.now)
    return found


def _nested_list(ctx: Ctx, obj: dict[str, Any], field: str) -> dict[str, Any]:
    if field == "refunds":
        where = _lists.Where()
        where.equal("charge", obj["id"])
        return _lists.run(ctx.conn, "refunds", f"/v1/charges/{obj['id']}/refunds",
                          {"limit": "100"}, where)  # fmt: skip
    where = _lists.Where()
    where.equal("customer", obj["id"])
    return _lists.run(ctx.conn, "cards", f"/v1/customers/{obj['id']}/sources",
                      {"limit": "100"}, where)  # fmt: skip
