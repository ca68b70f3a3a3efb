"""Typed access to decoded params: Stripe-style 400s for missing, unknown or ill-typed values.

Every endpoint names the params it accepts; anything else is ``parameter_unknown`` (stripe-python
sends exactly what the caller passed, so an unknown name is a caller bug worth surfacing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from billing_kit.sandbox._errors import StripeError, empty, invalid, missing, unknown_param

#: Params every endpoint accepts.
COMMON = frozenset({"expand"})
LIST_PARAMS = frozenset({"limit", "starting_after", "ending_before", "created", "expand"})

METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500
#: The range of an integer parameter (64-bit signed, as Stripe's API and SQLite store them).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def allow(params: Mapping[str, Any], names: Iterable[str]) -> None:
    """Raise ``parameter_unknown`` for the first param not in ``names`` (or :data:`COMMON`)."""
    allowed = COMMON.union(names)
    for name in params:
        if name not in allowed:
            raise unknown_param(name)


def absent(params: Mapping[str, Any], name: str, *, param: str | None = None) -> StripeError:
    """Return the error for a required ``name`` that is not there: empty (``""``) or missing."""
    return empty(param or name) if params.get(name) == "" else missing(param or name)


def text(
    params: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    max_length: int = 5000,
    choices: Iterable[str] | None = None,
    empty_is_none: bool = True,
) -> str | None:
    """Return a string param (None when absent, or empty and ``empty_is_none``)."""
    value = params.get(name)
    if value is None or (value == "" and empty_is_none):
        if required:
            raise absent(params, name)
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid string: {value!r} for {name}; pass a plain value.", param=name)
    if len(value) > max_length:
        raise invalid(
            f"Invalid string: {name} is {len(value)} characters; the maximum is {max_length}.",
            param=name,
        )
    if choices is not None:
        options = sorted(choices)
        if value not in options:
            raise invalid(
                f"Invalid {name}: must be one of {', '.join(options)} (got {value!r}).",
                param=name,
            )
    return value


def integer(
    params: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    """Return an integer param; ``Invalid integer: abc`` when it does not parse."""
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise absent(params, name)
        return None
    return to_int(value, name, minimum=minimum, maximum=maximum)


def to_int(
    value: Any, param: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Coerce one raw value to ``int`` with Stripe's ``parameter_invalid_integer`` error."""
    raw = value.strip() if isinstance(value, str) else value
    # Stripe's integers are 64-bit: a longer number is the same 400 as a non-number (and would
    # overflow SQLite's INTEGER if it got that far).
    if (
        not isinstance(raw, str)
        or not raw.removeprefix("-").isascii()
        or not raw.removeprefix("-").isdigit()
        or len(raw) > 20
        or not INT64_MIN <= int(raw) <= INT64_MAX
    ):
        raise invalid(f"Invalid integer: {value!r}", param=param, code="parameter_invalid_integer")
    number = int(raw)
    if minimum is not None and number < minimum:
        kind = "positive integer" if minimum == 1 else "non-negative integer"
        if minimum > 1:
            kind = f"integer of at least {minimum}"
        raise invalid(f"Invalid {kind}: {number}", param=param, code="parameter_invalid_integer")
    if maximum is not None and number > maximum:
        raise invalid(
            f"Invalid integer: {number} is more than the maximum {maximum}",
            param=param,
            code="parameter_invalid_integer",
        )
    return number


def boolean(params: Mapping[str, Any], name: str, *, default: bool | None = None) -> bool | None:
    """Return a boolean param (``true``/``false``)."""
    value = params.get(name)
    if value is None or value == "":
        return default
    if value in ("true", "True", "1"):
        return True
    if value in ("false", "False", "0"):
        return False
    raise invalid(f"Invalid boolean: {value!r}; use true or false.", param=name)


def mapping(params: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """Return a hash param (``name[key]=...``), None when absent."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise invalid(
            f"Invalid object: {name} must be a hash such as {name}[key]=value.", param=name
        )
    return value


def string_list(params: Mapping[str, Any], name: str, *, max_items: int = 100) -> list[str] | None:
    """Return an array of strings (``name[0]=a`` or ``name[]=a``), None when absent."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"Invalid array: {name} must be a list of strings.", param=name)
    if len(value) > max_items:
        raise invalid(f"Invalid array: {name} has {len(value)} items; max {max_items}.", param=name)
    return list(value)


def expand(params: Mapping[str, Any]) -> list[str]:
    """Return the ``expand[]`` paths (empty when none)."""
    return string_list(params, "expand") or []


def metadata(
    params: Mapping[str, Any], *, current: Mapping[str, str] | None = None
) -> dict[str, str] | None:
    """Return the metadata after applying ``params["metadata"]`` to ``current``.

    Follows Stripe: values are strings, ``metadata[k]=`` removes ``k``, ``metadata=`` removes all;
    at most 50 keys, keys up to 40 characters, values up to 500. Returns None when no metadata was
    sent.
    """
    if "metadata" not in params:
        return None
    value = params["metadata"]
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid(
            "Invalid metadata: pass a hash such as metadata[order_id]=6735.", param="metadata"
        )
    merged = dict(current or {})
    for key, item in value.items():
        if not isinstance(item, str):
            raise invalid(
                f"Invalid metadata value for {key!r}: values must be strings, not nested hashes.",
                param=f"metadata[{key}]",
            )
        if len(key) > METADATA_KEY_MAX:
            raise invalid(
                f"Metadata keys can have up to {METADATA_KEY_MAX} characters, but {key!r} has "
                f"{len(key)}.",
                param=f"metadata[{key}]",
            )
        if len(item) > METADATA_VALUE_MAX:
            raise invalid(
                f"Metadata values can have up to {METADATA_VALUE_MAX} characters, but the value "
                f"for "
                f"{key!r} has {len(item)}.",
                param=f"metadata[{key}]",
            )
        if item == "":
            merged.pop(key, None)
        else:
            merged[key] = item
    if len(merged) > METADATA_MAX_KEYS:
        raise invalid(
            f"Metadata can have up to {METADATA_MAX_KEYS} keys, but this object would have "
            f"{len(merged)}. Remove some keys (send metadata[key]= to delete one).",
            param="metadata",
        )
    return merged
