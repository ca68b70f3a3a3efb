"""List endpoints (https://docs.stripe.com/api/pagination): limit 1-100, newest first, cursors,
``created`` ranges.

Rows come back in ``created DESC, seq DESC`` order; a cursor is the ``(created, seq)`` position of
the object it names, so paging is exact even when many objects share a second.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from billing_kit.sandbox import _params
from billing_kit.sandbox._errors import invalid, no_such, unknown_param
from billing_kit.sandbox._store import OBJECT_NAMES, Store, table_for_id

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
_OPERATORS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass
class Where:
    """SQL conditions (ANDed) with their arguments."""

    clauses: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def add(self, clause: str, *args: Any) -> None:
        self.clauses.append(clause)
        self.args.extend(args)

    def equal(self, column: str, value: Any) -> None:
        """Add ``column = value`` unless ``value`` is None (filter not given)."""
        if value is not None:
            self.add(f"{column} = ?", value)

    def sql(self) -> str:
        return " AND ".join(f"({c})" for c in self.clauses) if self.clauses else "1"


def existing(
    conn: sqlite3.Connection, params: Mapping[str, Any], name: str, table: str | None = None
) -> str | None:
    """Return the id a list filter ``name`` names, after checking that the object exists.

    Stripe answers a filter naming an object that does not exist (``GET /v1/charges?customer=
    cus_nope``) with ``resource_missing`` naming the filter, not with an empty list
    (https://docs.stripe.com/error-codes#resource-missing). ``table`` defaults to the table
    the id's prefix names (for filters such as ``source`` that take several kinds).
    """
    value = _params.text(params, name)
    if value is None:
        return None
    where = table or table_for_id(value)
    if where is None or Store.get(conn, where, value) is None:
        raise no_such(OBJECT_NAMES[where] if where else "object", value, param=name)
    return value


def created_range(params: Mapping[str, Any], where: Where, name: str = "created") -> None:
    """Add the ``created`` filter: an exact integer, or any of ``gt/gte/lt/lte`` together."""
    value = params.get(name)
    if value is None or value == "":
        return
    if isinstance(value, str):
        where.add(f"{name} = ?", _params.to_int(value, name))
        return
    if not isinstance(value, dict):
        raise invalid(f"Invalid {name}: pass an integer or {name}[gte]=...", param=name)
    for op, raw in value.items():
        if op not in _OPERATORS:
            raise unknown_param(f"{name}[{op}]")
        where.add(f"{name} {_OPERATORS[op]} ?", _params.to_int(raw, f"{name}[{op}]"))


def page_params(params: Mapping[str, Any]) -> tuple[int, str | None, str | None]:
    """Return ``(limit, starting_after, ending_before)`` with Stripe's bounds checks."""
    limit = _params.integer(params, "limit")
    if limit is None:
        limit = DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid(
            f"Invalid limit: must be between 1 and {MAX_LIMIT} (got {limit}).",
            param="limit",
            code="parameter_invalid_integer",
        )
    after = _params.text(params, "starting_after")
    before = _params.text(params, "ending_before")
    if after and before:
        raise invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
        )
    return limit, after, before


def run(
    conn: sqlite3.Connection,
    table: str,
    url: str,
    params: Mapping[str, Any],
    where: Where,
) -> dict[str, Any]:
    """Return one list page (bodies unexpanded) for ``table`` filtered by ``where``."""
    limit, after, before = page_params(params)
    created_range(params, where)
    cursor = after or before
    order = "DESC"
    if cursor:
        row = conn.execute(f"SELECT created, seq FROM {table} WHERE id = ?", (cursor,)).fetchone()
        if row is None:
            kind = OBJECT_NAMES[table]
            raise no_such(kind, cursor, param="starting_after" if after else "ending_before")
        created, seq = int(row[0]), int(row[1])
        if after:
            where.add("created <= ? AND (created < ? OR seq < ?)", created, created, seq)
        else:
            where.add("created >= ? AND (created > ? OR seq > ?)", created, created, seq)
            order = "ASC"
    rows = conn.execute(
        f"SELECT body FROM {table} WHERE {where.sql()}"
        f" ORDER BY created {order}, seq {order} LIMIT ?",
        (*where.args, limit + 1),
    ).fetchall()
    has_more = len(rows) > limit
    rows = rows[:limit]
    if order == "ASC":
        rows.reverse()
    return {
        "object": "list",
        "data": [msgspec.json.decode(r[0]) for r in rows],
        "has_more": has_more,
        "url": url,
    }


def by_charge(
    conn: sqlite3.Connection, table: str, url: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Return one page of ``table`` (refunds, disputes) filtered by ``charge``/``payment_intent``.

    The shared body of ``GET /v1/refunds`` and ``GET /v1/disputes``: both take the list
    parameters plus ``charge`` and ``payment_intent``, and nothing else.
    """
    _params.allow(params, _params.LIST_PARAMS | {"charge", "payment_intent"})
    where = Where()
    where.equal("charge", existing(conn, params, "charge", "charges"))
    where.equal("payment_intent", existing(conn, params, "payment_intent", "payment_intents"))
    return run(conn, table, url, params, where)
