"""Word matching for search's exact match on free-text fields (``email``, ``name``, ``phone``).

https://docs.stripe.com/search#search-query-language: an exact match (``:``) on a text field
matches the query's words in order, case-insensitively, not only the whole value. The store
registers :func:`words_in_order` as an SQL function on every connection.
"""

from __future__ import annotations

import re
from typing import Any

_WORD = re.compile(r"\w+")


def words_in_order(value: Any, query: Any) -> int:
    """Return 1 when the words of ``query`` appear in ``value`` one after another, else 0.

    The exact-match rule of Stripe's free-text search fields: ``name:"jane doe"`` matches
    ``Jane Doe`` and ``Mary Jane Doe`` but not ``Doe Jane``. Registered on every store connection
    as the SQL function ``words_in_order``.

    Examples
    --------
    >>> words_in_order("Mary Jane Doe", "jane doe"), words_in_order("Doe, Jane", "jane doe")
    (1, 0)
    """
    if not isinstance(value, str) or not isinstance(query, str):
        return 0
    have, want = _WORD.findall(value.lower()), _WORD.findall(query.lower())
    if not want:
        return int(value.strip().lower() == query.strip().lower())
    return int(any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1)))
