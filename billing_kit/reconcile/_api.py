"""The public report functions: check the options, gather the history, compute the report."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pandas as pd

from billing_kit.history._options import DateLike, InvalidOption, check_timezone, check_window
from billing_kit.reconcile import _reports
from billing_kit.reconcile._inputs import gather

if TYPE_CHECKING:
    from billing_kit._client import Client

__all__ = [
    "balance_activity",
    "balance_summary",
    "ending_balance_reconciliation",
    "payout_reconciliation",
]


def _period(start: DateLike, end: DateLike, tz: str) -> tuple[int, int, str]:
    zone = check_timezone(tz) or "UTC"
    if start is None or end is None:
        name, value = ("start", start) if start is None else ("end", end)
        raise InvalidOption(f"{name}={value!r}: a report needs both ends; pass e.g. "
                            f"{name}='2026-11-01' (end is exclusive)")  # fmt: skip
    window = check_window(start, end, tz=zone)
    assert window.since is not None and window.until is not None
    return window.since, window.until, zone


def balance_summary(
    client: Client, start: DateLike, end: DateLike, tz: str = "UTC"
) -> pd.DataFrame:
    """Return ``balance.summary.1`` for ``[start, end)`` in ``tz``.

    Per currency, rows ``starting_balance``, ``activity_gross``, ``activity_fee``, ``activity``,
    ``payouts`` and ``ending_balance`` (columns ``category``, ``currency``, ``description``,
    ``net_amount`` as exact decimals); ``starting_balance + activity + payouts ==
    ending_balance``. For a period ending now, the ending balance is checked against Stripe's
    ``GET /v1/balance`` (available + pending); an ``unreconciled`` row says by how much and why
    when they differ. Dates without a zone are read in ``tz``.

    Raises
    ------
    billing_kit.history.InvalidOption
        A missing or unparseable date, ``start`` not before ``end``, an unknown zone.

    Examples
    --------
    >>> client.balance_summary("2026-11-01", "2026-12-01", tz="Europe/Paris")  # doctest: +SKIP
    """
    lo, hi, _ = _period(start, end, tz)
    history = gather(client, hi, metadata=False)
    live: dict[str, int] | None = None
    if hi >= time.time():
        # A period ending now can be checked against Stripe's own running balance.
        balance = client.stripe.v1.balance.retrieve()
        live = {}
        for entry in [*balance.available, *balance.pending]:
            currency, amount = str(entry["currency"]), int(entry["amount"])
            live[currency] = live.get(currency, 0) + amount
    return _reports.balance_summary(history, lo, hi, live=live)


def balance_activity(
    client: Client, start: DateLike, end: DateLike, tz: str = "UTC", *, itemized: bool = False
) -> pd.DataFrame:
    """Return ``balance_change_from_activity.summary.1`` (by ``reporting_category`` and
    ``currency``: ``count``, ``gross``, ``fee``, ``net``) or, with ``itemized=True``,
    ``.itemized.3`` (one row per balance transaction with its charge, payment intent, customer
    and metadata) for ``[start, end)`` in ``tz``. Raises as :func:`balance_summary`.
    """
    lo, hi, zone = _period(start, end, tz)
    history = gather(client, hi, metadata=itemized)
    return _reports.balance_activity(history, lo, hi, zone, itemized=itemized)


def payout_reconciliation(
    client: Client, start: DateLike, end: DateLike, tz: str = "UTC"
) -> _reports.PayoutReconciliation:
    """Return ``payout_reconciliation.itemized.5`` (``.frame``) and a per-payout tie-out
    (``.summary``, with ``difference`` and ``reason``) for automatic payouts effective in
    ``[start, end)`` in ``tz``. Raises as :func:`balance_summary`.
    """
    lo, hi, zone = _period(start, end, tz)
    return _reports.payout_reconciliation(gather(client, hi), lo, hi, zone)


def ending_balance_reconciliation(client: Client, end: DateLike, tz: str = "UTC") -> pd.DataFrame:
    """Return ``ending_balance_reconciliation.itemized.4``: transactions in the balance at ``end``
    not yet settled by an automatic payout. Raises as :func:`balance_summary`.
    """
    _, hi, zone = _period(0, end, tz)
    return _reports.ending_balance_reconciliation(gather(client, hi), hi, zone)
