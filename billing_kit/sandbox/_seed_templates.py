"""The seeder's byte-making pieces: deterministic ids and JSON bodies with ``%`` slots.

A charge or balance transaction body differs from the next one of the same shape only in a few
fields (id, times, amounts, linked ids). :class:`Template` builds such a body once, with sentinel
values (``S_INT``, ``S_STR``, ``S_RAW``) in those fields, and turns it into a ``%`` format string,
so a row is one string format instead of a builder call and a JSON dump. :func:`check` compares a
rendered body with the builder's own, so a template cannot drift from what the API stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from typing import Any

import msgspec
import numpy as np

__all__ = ["MAX_OBJECTS", "S_INT", "S_RAW", "S_STR", "Ids", "Template", "check"]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
MAX_OBJECTS = 62**5  # ids carry a 5-character base62 counter

_BASE62_3 = [a + b + c for a in _ALPHABET for b in _ALPHABET for c in _ALPHABET]
_BASE62_2 = [a + b for a in _ALPHABET for b in _ALPHABET]

_PREFIXES = {
    "charge": "ch_", "balance_transaction": "txn_", "customer": "cus_", "payment_method": "pm_",
    "refund": "re_", "dispute": "dp_", "payout": "po_",
}  # fmt: skip


class Ids:
    """Deterministic ids ``<prefix>s<18 chars from the seed><5-char counter>``.

    The counter is the object's number, so ids of one kind sort in the order they are minted (the
    unique index on ``id`` is appended to, not shuffled) and two seeds never share an id.
    """

    def __init__(self, seed: int) -> None:
        rng = np.random.Generator(np.random.PCG64([seed, 0x1D5]))
        self._heads = {
            kind: prefix + "s" + "".join(_ALPHABET[i] for i in rng.integers(0, 62, 18).tolist())
            for kind, prefix in sorted(_PREFIXES.items())
        }

    def many(self, kind: str, numbers: Sequence[int]) -> list[str]:
        head = self._heads[kind]
        return [head + _BASE62_2[n // 238_328] + _BASE62_3[n % 238_328] for n in numbers]

    def one(self, kind: str, number: int) -> str:
        return self.many(kind, [number])[0]


# Sentinels stand in for the varying fields while a template is built; they never occur in a body.
S_INT = {name: 9_000_000_000_000 + i for i, name in enumerate(
    ("created", "amount", "amount_refunded", "settled", "fee", "net", "available_on"))}  # fmt: skip
S_STR = {name: f"@@{name}@@" for name in ("id", "txn", "cus", "pm", "source")}
S_RAW = {name: f"@@raw_{name}@@" for name in ("refunded", "disputed")}


class Template:
    """A body with ``%`` slots; :meth:`render` fills them from a row tuple in ``fields`` order."""

    def __init__(self, body: dict[str, Any], fields: Sequence[str]) -> None:
        text = msgspec.json.encode(body).decode()
        tokens: dict[str, tuple[str, str]] = {}
        for name, number in S_INT.items():
            tokens[str(number)] = (name, "%d")
        for name, value in S_STR.items():
            tokens[value] = (name, "%s")  # inside the quotes the builder wrote
        for name, value in S_RAW.items():
            tokens[f'"{value}"'] = (name, "%s")  # replaces a whole JSON value
        slots = sorted(
            (pos, name) for token, (name, _) in tokens.items() for pos in _positions(text, token)
        )
        raw = text.replace("%", "%%")
        for token, (_, spec) in tokens.items():
            raw = raw.replace(token, spec)
        self.raw = raw
        self.take: Callable[[tuple[Any, ...]], tuple[Any, ...]] = _getter(
            fields, [name for _, name in slots]
        )

    def render(self, row: tuple[Any, ...]) -> bytes:
        return (self.raw % self.take(row)).encode()


def _positions(text: str, token: str) -> Iterator[int]:
    start = text.find(token)
    while start != -1:
        yield start
        start = text.find(token, start + 1)


def _getter(
    fields: Sequence[str], order: Sequence[str]
) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    indices = [fields.index(name) for name in order]
    if len(indices) == 1:
        only = indices[0]
        return lambda row: (row[only],)
    getter: Callable[[tuple[Any, ...]], tuple[Any, ...]] = itemgetter(*indices)
    return getter


def check(rendered: bytes, built: bytes, what: str) -> None:
    """Raise ``AssertionError`` unless a template's ``rendered`` body is the builder's ``built``."""
    if rendered != built:
        raise AssertionError(
            f"seed template for a {what} drifted from the sandbox's builder:\n"
            f"{rendered[:400]!r}\n{built[:400]!r}\n"
            "rebuild the template logic in billing_kit/sandbox/_seed_writer.py"
        )
