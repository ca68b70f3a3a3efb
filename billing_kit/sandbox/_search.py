"""Search: Stripe's query language over charges, customers and PaymentIntents.

Follows https://docs.stripe.com/search#search-query-language: ``field:value`` exact match
(case-insensitive; on the free-text fields ``email``, ``name`` and ``phone`` the value's words must
appear in the field in that order), ``field~"sub"`` substring (3+ characters), ``> < >= <=`` on
numbers, ``-`` negation, ``null``, ``metadata["key"]:"value"``. Values are quoted with ``"`` or
``'`` (a backslash escapes the quote); numbers need no quotes. Up to 10 clauses are joined by
spaces or the keywords ``AND``/``OR`` in any case (not both). Results are newest first; ``page``
is an opaque cursor. Unlike Stripe, results are consistent immediately (no indexing delay).
"""

from __future__ import annotations

import base64
import re
from typing import Any

import msgspec

from billing_kit.sandbox import _params
from billing_kit.sandbox._context import Ctx
from billing_kit.sandbox._errors import invalid
from billing_kit.sandbox._lists import DEFAULT_LIMIT, MAX_LIMIT, Where

MAX_CLAUSES = 10
_QUOTED = r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'"""
_CLAUSE = re.compile(
    r"""\s*(?P<neg>-)?(?P<field>metadata\[\s*(?P<key>"""
    + _QUOTED
    + r""")\s*\]|[a-z_][a-z0-9_.]*)"""
    r"""\s*(?P<op>:|~|>=|<=|>|<)\s*(?P<value>""" + _QUOTED + r"""|[^\s"']+)""",
)
# Keywords are case-insensitive (``AND``/``and``); a bare space means AND.
_JOIN = re.compile(r"\s+(AND|OR)\s+|\s+", re.IGNORECASE)
_ESCAPE = re.compile(r"\\(.)")
_NUMBER = re.compile(r"-?\d+")

_NUMERIC = "numeric"
_TEXT = "text"
_WORDS = "words"
_BOOL = "bool"
# field -> (SQL expression, kind)
_CHARGE_FIELDS: dict[str, tuple[str, str]] = {
    "amount": ("amount", _NUMERIC),
    "created": ("created", _NUMERIC),
    "currency": ("currency", _TEXT),
    "customer": ("customer", _TEXT),
    "status": ("status", _TEXT),
    "payment_intent": ("payment_intent", _TEXT),
    "disputed": ("json_extract(body, '$.disputed')", _BOOL),
    "refunded": ("refunded", _TEXT),
    "billing_details.address.postal_code": (
        "json_extract(body, '$.billing_details.address.postal_code')", _TEXT),
    **{
        f"payment_method_details.card.{name}": (
            f"json_extract(body, '$.payment_method_details.card.{name}')",
            _NUMERIC if name.startswith("exp_") else _TEXT,
        )
        for name in ("last4", "brand", "exp_month", "exp_year", "fingerprint")
    },
}  # fmt: skip
_CUSTOMER_FIELDS: dict[str, tuple[str, str]] = {
    "created": ("created", _NUMERIC),
    "email": ("email", _WORDS),
    "name": ("json_extract(body, '$.name')", _WORDS),
    "phone": ("json_extract(body, '$.phone')", _WORDS),
}
_INTENT_FIELDS: dict[str, tuple[str, str]] = {
    "amount": ("json_extract(body, '$.amount')", _NUMERIC),
    "created": ("created", _NUMERIC),
    "currency": ("json_extract(body, '$.currency')", _TEXT),
    "customer": ("customer", _TEXT),
    "status": ("status", _TEXT),
}
# Charges: "true" = fully refunded, "false" = partly refunded, null = not refunded
# (https://docs.stripe.com/search#query-fields-for-charges).
_REFUNDED = (
    "CASE WHEN json_extract(body, '$.refunded') THEN 'true'"
    " WHEN json_extract(body, '$.amount_refunded') > 0 THEN 'false' END"
)


def _fail(query: str, why: str) -> Exception:
    return invalid(
        f"Invalid search query {query!r}: {why}. Example: status:'succeeded' AND amount>1000.",
        param="query",
        code="parameter_invalid_string",
    )


def _unquote(raw: str) -> tuple[str, bool]:
    """Return ``(value, was_quoted)`` for a value as written in the query."""
    if raw[:1] in ("'", '"'):
        return _ESCAPE.sub(r"\1", raw[1:-1]), True
    return raw, False


def parse(query: str, fields: dict[str, tuple[str, str]]) -> Where:
    """Translate a search query into SQL conditions."""
    pos = 0
    clauses: list[str] = []
    args: list[Any] = []
    joins: set[str] = set()
    while pos < len(query):
        if clauses:
            join = _JOIN.match(query, pos)
            if join is None:
                raise _fail(query, f"expected AND/OR or a space at character {pos}")
            joins.add((join.group(1) or "AND").upper())
            pos = join.end()
        found = _CLAUSE.match(query, pos)
        if found is None:
            raise _fail(query, f"cannot read a clause at character {pos}")
        pos = found.end()
        sql, arg = _clause(query, found, fields)
        clauses.append(sql)
        args.extend(arg)
        if not query[pos:].strip():
            break
    if not clauses:
        raise _fail(query, "it is empty")
    if len(clauses) > MAX_CLAUSES:
        raise _fail(query, f"it has {len(clauses)} clauses; the maximum is {MAX_CLAUSES}")
    if len(joins) > 1:
        raise _fail(query, "AND and OR cannot be combined in one query")
    where = Where()
    where.add("(" + f" {joins.pop() if joins else 'AND'} ".join(clauses) + ")", *args)
    return where


def _clause(
    query: str, found: re.Match[str], fields: dict[str, tuple[str, str]]
) -> tuple[str, list[Any]]:
    field, op = found.group("field"), found.group("op")
    value, quoted = _unquote(found.group("value"))
    if found.group("key") is not None:
        expr, kind = "json_extract(body, '$.metadata.' || json_quote(?))", _TEXT
        pre: list[Any] = [_unquote(found.group("key"))[0]]
    elif field == "refunded" and field in fields:
        expr, kind, pre = _REFUNDED, _TEXT, []
    elif field in fields:
        expr, kind = fields[field]
        pre = []
    else:
        raise _fail(query, f"{field!r} is not a searchable field ({', '.join(sorted(fields))})")
    negate = found.group("neg") is not None
    arg: list[Any]
    if value == "null" and not quoted:
        if op != ":":
            raise _fail(query, "null only works with ':'")
        sql = f"{expr} IS NULL"
        return (f"NOT ({sql})" if negate else sql), pre
    if op in (">", "<", ">=", "<="):
        if kind != _NUMERIC or quoted:
            raise _fail(query, f"{op} needs a numeric field and an unquoted number")
        sql, arg = f"{expr} {op} ?", [_params.to_int(value, "query")]
    elif kind == _NUMERIC:
        if op == "~":
            raise _fail(query, "~ only works on string fields")
        sql, arg = f"{expr} = ?", [_params.to_int(value, "query")]
    elif kind == _BOOL:
        sql, arg = f"{expr} = ?", [1 if value.lower() == "true" else 0]
    else:
        # Quotes are optional for numbers (Stripe's own example: card.last4:4242).
        if not quoted and not _NUMBER.fullmatch(value):
            raise _fail(query, f"string values must be quoted, as in {field}:'{value}'")
        if op == "~":
            if len(value) < 3:
                raise _fail(query, "substring (~) search needs at least 3 characters")
            sql, arg = f"instr(lower({expr}), lower(?)) > 0", [value]
        elif kind == _WORDS:
            sql, arg = f"words_in_order({expr}, ?)", [value]
        else:
            sql, arg = f"lower({expr}) = lower(?)", [value]
    if negate:
        sql = f"({expr} IS NULL OR NOT ({sql}))"
    return sql, pre * sql.count("json_quote(?)") + arg if pre else arg


def _search(ctx: Ctx, params: dict[str, Any], table: str, url: str,
            fields: dict[str, tuple[str, str]]) -> dict[str, Any]:  # fmt: skip
    _params.allow(params, {"query", "limit", "page"})
    query = _params.text(params, "query", required=True)
    assert query is not None
    limit = _params.integer(params, "limit") or DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid(f"Invalid limit: must be between 1 and {MAX_LIMIT} (got {limit}).",
                      param="limit")  # fmt: skip
    where = parse(query, fields)
    count_where = Where(list(where.clauses), list(where.args))
    page = _params.text(params, "page")
    if page is not None:
        try:
            created, seq = msgspec.json.decode(base64.urlsafe_b64decode(page.encode()))
            if not all(type(n) is int and _params.INT64_MIN <= n <= _params.INT64_MAX
                       for n in (created, seq)):  # fmt: skip
                raise ValueError("the cursor does not hold two 64-bit integers")
            where.add("created <= ? AND (created < ? OR seq < ?)", created, created, seq)
        except (ValueError, TypeError) as exc:
            raise invalid(f"Invalid page {page!r}: pass next_page from the previous result.",
                          param="page") from exc  # fmt: skip
    rows = ctx.conn.execute(
        f"SELECT body, created, seq FROM {table} WHERE {where.sql()}"
        " ORDER BY created DESC, seq DESC LIMIT ?",
        (*where.args, limit + 1),
    ).fetchall()
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_page = None
    if has_more:
        next_page = base64.urlsafe_b64encode(
            msgspec.json.encode([rows[-1][1], rows[-1][2]])
        ).decode()
    result: dict[str, Any] = {
        "object": "search_result",
        "data": [msgspec.json.decode(r[0]) for r in rows],
        "has_more": has_more,
        "next_page": next_page,
        "url": url,
    }
    if "total_count" in _params.expand(params):
        result["total_count"] = ctx.conn.execute(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {count_where.sql()} LIMIT 10000)",
            count_where.args,
        ).fetchone()[0]
    return result


def charges(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/charges/search``."""
    return _search(ctx, params, "charges", "/v1/charges/search", _CHARGE_FIELDS)


def customers(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/customers/search`` (metadata, email, name, phone, created)."""
    return _search(ctx, params, "customers", "/v1/customers/search", _CUSTOMER_FIELDS)


def payment_intents(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/payment_intents/search``."""
    return _search(ctx, params, "payment_intents", "/v1/payment_intents/search", _INTENT_FIELDS)
