"""The public history functions: one per object kind, each a call of ``_loaders.load``.

Each function spells out its own keywords (what Jupyter's signature help and mypy show); the
text that explains them is written once, in :data:`_OPTIONS`, and put into each docstring by
:func:`_document` for exactly the keywords that function takes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from billing_kit.history._loaders import load
from billing_kit.history._options import DateLike
from billing_kit.history._progress import ProgressArg
from billing_kit.history._schema import STATUS_VALUES, ObjectKind

if TYPE_CHECKING:
    from billing_kit._client import Client

_OPTIONS = {
    "client": "A connected :class:`billing_kit.Client`.",
    "since": """Window on ``created``; ``until`` is exclusive. A date (``"2024-01-31"``), ISO
    timestamp, datetime or Unix seconds; dates without a zone are read in ``tz`` (default UTC).
    ``since=None`` means from the account's first object, ``until=None`` up to now (the current
    second included). ``created`` is whole seconds: an instant inside a second keeps that second
    (``until=datetime.now(UTC)`` keeps the objects made in it).""",
    "customer": "Only this customer's charges (a ``cus_`` id or a Customer).",
    "status": 'Only these statuses (one or a list), e.g. ``"succeeded"``; see docs/history.md.',
    "tz": "Reporting time zone for every timestamp column (default UTC).",
    "metadata": "Metadata keys to add as ``metadata.<key>`` columns, or ``True`` for every key.",
    "progress": """``True`` for a progress bar, ``False`` for none, a tqdm bar to drive, or a
    callable taking a :class:`billing_kit.history.ProgressUpdate`.""",
    "refresh": """``False`` skips the change feeds: cached rows come as they were pulled, and no
    request is made when the cache covers the window. The cache never covers the last five
    minutes before the previous call, nor anything after it, so new objects always show.""",
    "rate_limit": "Account-wide requests/s (default ``client.default_rate_limit``).",
}

_AFTER = """
Returns
-------
pandas.DataFrame
    Newest first; columns and dtypes as declared in docs/history.md. ``frame.attrs["pull"]``
    holds what the call cost (requests, pages, rows, seconds).

Raises
------
billing_kit.history.InvalidOption
    A bad option (unparseable or inverted dates, unknown status, bad time zone), before any
    request.
billing_kit.StripeRequestError
    Stripe kept failing after retries; the cache is left as it was and the next call resumes.
"""


def _document(function: Callable[..., pd.DataFrame]) -> None:
    """Complete the docstring of ``<kind>_frame`` with the text of each of its parameters and the
    common Returns and Raises sections."""
    kind = cast("ObjectKind", function.__name__.removesuffix("_frame"))
    options = {**_OPTIONS, "status": f"Only these statuses (one or a list): {_statuses(kind)}."}
    lines = ["", "Parameters", "----------"]
    for name in inspect.signature(function).parameters:
        if name != "until":  # documented with since
            lines += ["since, until" if name == "since" else name, "    " + options[name]]
    head, _, examples = (inspect.getdoc(function) or "").partition("\nExamples\n")
    doc = head.rstrip() + "\n" + "\n".join(lines) + "\n" + _AFTER
    function.__doc__ = doc + (f"\nExamples\n{examples}" if examples else "")


def _statuses(kind: ObjectKind) -> str:
    return ", ".join(f"``{value!r}``" for value in STATUS_VALUES[kind] or ())


def _forward(kind: ObjectKind, given: dict[str, Any]) -> pd.DataFrame:
    """Call :func:`load` with a function's own arguments (its ``locals()`` on entry)."""
    return load(kind=kind, **given)


def charges_frame(
    client: Client,
    since: DateLike = None,
    until: DateLike = None,
    *,
    customer: Any = None,
    status: str | Sequence[str] | None = None,
    tz: str | None = None,
    metadata: bool | Sequence[str] | None = None,
    progress: ProgressArg = True,
    refresh: bool = True,
    rate_limit: float | None = None,
) -> pd.DataFrame:
    """Return the charges created in ``[since, until)`` as a typed DataFrame.

    The first call pulls the window in parallel time slices and keeps it in a local cache (per
    account, mode and base URL, under ``client.home / "cache"``); later calls pull only what is
    new, and pick up refunds, disputes and captures of older charges from the change feeds.

    Examples
    --------
    >>> frame = client.charges_frame("2024-01-01", status="succeeded", metadata=["order_id"])
    ... # doctest: +SKIP
    >>> frame.groupby("currency", observed=True)["amount"].sum()  # doctest: +SKIP
    """
    return _forward("charges", locals())


def refunds_frame(
    client: Client,
    since: DateLike = None,
    until: DateLike = None,
    *,
    status: str | Sequence[str] | None = None,
    tz: str | None = None,
    metadata: bool | Sequence[str] | None = None,
    progress: ProgressArg = True,
    refresh: bool = True,
    rate_limit: float | None = None,
) -> pd.DataFrame:
    """Return the refunds created in ``[since, until)``.

    Status changes of older refunds (pending -> succeeded or failed) come from the events of the
    last 30 days.
    """
    return _forward("refunds", locals())


def balance_transactions_frame(
    client: Client,
    since: DateLike = None,
    until: DateLike = None,
    *,
    status: str | Sequence[str] | None = None,
    tz: str | None = None,
    progress: ProgressArg = True,
    refresh: bool = True,
    rate_limit: float | None = None,
) -> pd.DataFrame:
    """Return the balance transactions created in ``[since, until)``.

    Balance transactions are never changed once created, except ``status`` turning from
    ``pending`` to ``available`` on ``available_on``; compare ``available_on`` with the current
    time for the live state.
    """
    return _forward("balance_transactions", locals())


def payouts_frame(
    client: Client,
    since: DateLike = None,
    until: DateLike = None,
    *,
    status: str | Sequence[str] | None = None,
    tz: str | None = None,
    metadata: bool | Sequence[str] | None = None,
    progress: ProgressArg = True,
    refresh: bool = True,
    rate_limit: float | None = None,
) -> pd.DataFrame:
    """Return the payouts created in ``[since, until)``."""
    return _forward("payouts", locals())


def disputes_frame(
    client: Client,
    since: DateLike = None,
    until: DateLike = None,
    *,
    status: str | Sequence[str] | None = None,
    tz: str | None = None,
    metadata: bool | Sequence[str] | None = None,
    progress: ProgressArg = True,
    refresh: bool = True,
    rate_limit: float | None = None,
) -> pd.DataFrame:
    """Return the disputes opened in ``[since, until)``."""
    return _forward("disputes", locals())


def customers_frame(
    client: Client,
    since: DateLike = None,
    until: DateLike = None,
    *,
    tz: str | None = None,
    metadata: bool | Sequence[str] | None = None,
    progress: ProgressArg = True,
    refresh: bool = True,
    rate_limit: float | None = None,
) -> pd.DataFrame:
    """Return the customers created in ``[since, until)``; deleted ones have ``deleted=True``."""
    return _forward("customers", locals())


for _function in (
    charges_frame,
    refunds_frame,
    balance_transactions_frame,
    payouts_frame,
    disputes_frame,
    customers_frame,
):
    _document(_function)
