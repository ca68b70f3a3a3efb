"""The public history functions: one per object kind, each a thin, documented call of
``_loaders.load``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from billing_kit.history._loaders import load
from billing_kit.history._options import DateLike
from billing_kit.history._progress import ProgressArg

if TYPE_CHECKING:
    from billing_kit._client import Client


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
    """Return the charges created in ``[since, until)`` as a typed DataFrame, newest first.

    The first call pulls the window in parallel time slices and keeps it in a local cache (per
    account, mode and base URL, under ``client.home / "cache"``); later calls pull only what is new,
    and pick up refunds, disputes and captures of older charges from the change feeds. Columns,
    dtypes and their meaning are declared in ``docs/history.md``.

    Parameters
    ----------
    client
        A connected :class:`billing_kit.Client`.
    since, until
        Window on ``created``; ``until`` is exclusive. A date (``"2024-01-31"``), ISO timestamp,
        datetime or Unix seconds; dates without a zone are read in ``tz`` (default UTC).
        ``since=None`` means from the account's first charge, ``until=None`` up to now (the
        current second included). ``created`` is whole seconds: an instant inside a second keeps
        that second (``until=datetime.now(UTC)`` keeps the charges made in it).
    customer
        Only this customer's charges (a ``cus_`` id or a Customer).
    status
        Only these statuses: ``"succeeded"``, ``"pending"``, ``"failed"`` (one or a list).
    tz
        Reporting time zone for every timestamp column (default UTC).
    metadata
        Metadata keys to add as ``metadata.<key>`` columns, or ``True`` for every key.
    progress
        ``True`` for a progress bar, ``False`` for none, a tqdm bar to drive, or a callable taking a
        :class:`billing_kit.history.ProgressUpdate`.
    refresh
        ``False`` skips the change feeds: cached rows come as they were pulled, and no request
        is made when the cache covers the window. The cache never covers the last five minutes
        before the previous call, nor anything after it, so new charges always show.
    rate_limit
        Account-wide requests/s (default ``client.default_rate_limit``).

    Returns
    -------
    pandas.DataFrame
        ``frame.attrs["pull"]`` holds what the call cost (requests, pages, rows, seconds).

    Raises
    ------
    billing_kit.history.InvalidOption
        A bad option (unparseable or inverted dates, unknown status, bad time zone), before any
        request.
    billing_kit.StripeRequestError
        Stripe kept failing after retries; the cache is left as it was and the next call resumes.

    Examples
    --------
    >>> frame = client.charges_frame("2024-01-01", status="succeeded", metadata=["order_id"])
    ... # doctest: +SKIP
    >>> frame.groupby("currency", observed=True)["amount"].sum()  # doctest: +SKIP
    """
    return load(
        client,
        "charges",
        since,
        until,
        customer=customer,
        status=status,
        tz=tz,
        metadata=metadata,
        progress=progress,
        refresh=refresh,
        rate_limit=rate_limit,
    )


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
    """Return the refunds created in ``[since, until)``; options as for :func:`charges_frame`.

    Status changes of older refunds (pending -> succeeded or failed) come from the events of the
    last 30 days.
    """
    return load(
        client,
        "refunds",
        since,
        until,
        status=status,
        tz=tz,
        metadata=metadata,
        progress=progress,
        refresh=refresh,
        rate_limit=rate_limit,
    )


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

    Balance transactions are never changed once created, except ``status`` turning from ``pending``
    to ``available`` on ``available_on``; compare ``available_on`` with the current time for the
    live state. Options as for :func:`charges_frame`.
    """
    return load(
        client,
        "balance_transactions",
        since,
        until,
        status=status,
        tz=tz,
        progress=progress,
        refresh=refresh,
        rate_limit=rate_limit,
    )


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
    """Return the payouts created in ``[since, until)``; options as for :func:`charges_frame`."""
    return load(
        client,
        "payouts",
        since,
        until,
        status=status,
        tz=tz,
        metadata=metadata,
        progress=progress,
        refresh=refresh,
        rate_limit=rate_limit,
    )


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
    """Return the disputes opened in ``[since, until)``; options as for :func:`charges_frame`."""
    return load(
        client,
        "disputes",
        since,
        until,
        status=status,
        tz=tz,
        metadata=metadata,
        progress=progress,
        refresh=refresh,
        rate_limit=rate_limit,
    )


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
    return load(
        client,
        "customers",
        since,
        until,
        tz=tz,
        metadata=metadata,
        progress=progress,
        refresh=refresh,
        rate_limit=rate_limit,
    )
