"""Parse Stripe's bracketed form encoding (``metadata[k]=v``, ``expand[0]=x``, ``expand[]=x``).

stripe-python sends arrays with explicit indices and nested dicts with brackets
(https://docs.stripe.com/api/expanding_objects); GET queries use the same encoding, sometimes
percent-encoded. Values stay strings: each endpoint coerces the types it expects (:mod:`._params`),
as Stripe does.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from billing_kit.sandbox._errors import StripeError, invalid

#: Largest body the sandbox reads; bigger ones get 413 before parsing.
MAX_BODY_BYTES = 1_000_000
_MAX_FIELDS = 10_000
_MAX_DEPTH = 8

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
# Marks children added by an empty ``[]`` so they become a list afterwards.
_APPEND = "\x00"

_ARRAY_KEYS_MESSAGE = (
    "Invalid array: if passing an array with explicit keys (e.g. foo[0]=a&foo[1]=b) instead of as "
    "an "
    "array (e.g. foo[]=a&foo[]=b), the keys must be numeric and sequential starting from 0. You "
    "passed "
    "the keys {keys}, for the param '{param}'."
)


def decode(raw: bytes | str, *, what: str = "request body") -> dict[str, Any]:
    """Return the nested params encoded in ``raw`` (a form body or a query string).

    Raises
    ------
    StripeError
        400 for non-UTF-8 bytes, malformed keys or inconsistent nesting; 413 for oversized input.

    Examples
    --------
    >>> decode(b"amount=100&metadata[a]=1&expand[0]=customer&created%5Bgte%5D=5")
    {'amount': '100', 'metadata': {'a': '1'}, 'expand': ['customer'], 'created': {'gte': '5'}}
    """
    if len(raw) > MAX_BODY_BYTES:
        raise StripeError(
            413,
            "invalid_request_error",
            f"The {what} is {len(raw)} bytes; the sandbox accepts at most {MAX_BODY_BYTES} bytes. "
            "Send fewer or shorter parameters.",
        )
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=_MAX_FIELDS,
        )
    except UnicodeDecodeError as exc:
        raise invalid(
            f"Invalid {what}: it is not valid UTF-8 (byte {exc.start}). "
            "Encode parameters as UTF-8 application/x-www-form-urlencoded."
        ) from None
    except ValueError as exc:
        raise invalid(f"Invalid {what}: {exc}. Send at most {_MAX_FIELDS} fields.") from None
    root: dict[str, Any] = {}
    for key, value in pairs:
        _insert(root, key, value)
    # The top level is always a hash: ``0=a`` is a param named "0", never an array.
    return {key: _finish(value, key) for key, value in root.items()}


def _insert(root: dict[str, Any], key: str, value: str) -> None:
    match = _KEY.match(key)
    if match is None:
        raise invalid(
            f"Invalid parameter name {key!r}: use name, name[key] or name[0] forms.", param=key
        )
    segments = [match.group(1), *_SEGMENT.findall(match.group(2))]
    if len(segments) > _MAX_DEPTH:
        raise invalid(f"Parameter {key!r} is nested too deeply (max {_MAX_DEPTH}).", param=key)
    node = root
    for depth, segment in enumerate(segments):
        last = depth == len(segments) - 1
        name = segment
        if segment == "":
            count = sum(1 for k in node if k.startswith(_APPEND))
            name = f"{_APPEND}{count}"
        if last:
            if isinstance(node.get(name), dict):
                raise invalid(f"Invalid params: {key!r} mixes a value and a hash.", param=key)
            node[name] = value
            return
        child = node.setdefault(name, {})
        if not isinstance(child, dict):
            raise invalid(f"Invalid params: {key!r} mixes a value and a hash.", param=key)
        node = child


def _finish(node: Any, path: str) -> Any:
    if not isinstance(node, dict):
        return node
    keys = list(node)
    if keys and all(k.startswith(_APPEND) for k in keys):
        return [_finish(node[k], f"{path}[]") for k in keys]
    # isascii: str.isdigit() also takes "³" and "١", which are no array index (int("³") fails).
    if keys and all(k.isascii() and k.isdigit() for k in keys):
        numbers = sorted(int(k) for k in keys)
        if numbers != list(range(len(numbers))):
            raise invalid(_ARRAY_KEYS_MESSAGE.format(keys=sorted(keys), param=path), param=path)
        return [_finish(node[str(n)], f"{path}[{n}]") for n in numbers]
    if any(k.startswith(_APPEND) for k in keys):
        raise invalid(f"Invalid params: {path!r} mixes foo[]= and foo[key]= forms.", param=path)
    return {k: _finish(v, f"{path}[{k}]" if path else k) for k, v in node.items()}
