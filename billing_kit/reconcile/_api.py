"""The public report functions: check the options, gather the history, compute the report."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pandas as pd

from billing_kit.history._options import DateLike, InvalidOption, check_timezone, check_window
from billing_kit.reconcile import _compare, _reports
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


def _parameters(lo: int | None, hi: int, zone: str) -> dict[str, object]:
    parameters: dict[str, object] = {"interval_end": hi, "timezone": zone}
    if lo is not None:
        parameters["interval_start"] = lo
    return parameters


def _live_balance(client: Client, end: int) -> dict[str, int] | None:
    """Stripe's balance (available + pending, minor units per currency) for a period ending now,
    which it can be checked against; ``None`` for a period that ended in the past."""
    if end < time.time():
        return None
    balance = client.stripe.v1.balance.retrieve()
    live: dict[str, int] = {}
    for entry in [*balance.available, *balance.pending]:
        currency, amount = str(entry["currency"]), int(entry["amount"])
        live[currency] = live.get(currency, 0) + amount
    return live


def balance_summary(
    client: Client,
    start: DateLike,
    end: DateLike,
    tz: str = "UTC",
    *,
    compare_with_stripe: bool = False,
) -> pd.DataFrame:
    """Return ``balance.summary.1`` for ``[start, end)`` in ``tz``.

    Per currency, rows ``starting_balance``, ``activity_gross``, ``activity_fee``, ``activity``,
    ``payouts`` and ``ending_balance`` (columns ``category``, ``currency``, ``description``,
    ``net_amount`` as exact decimals); ``starting_balance + activity + payouts ==
    ending_balance``. For a period ending now, the ending balance is checked against Stripe's
    ``GET /v1/balance`` (available + pending); an ``unreconciled`` row says by how much and why
    when they differ. Dates without a zone are read in ``tz``.

    ``compare_with_stripe=True`` (every report function takes it) also runs Stripe's own report
    through the Reporting API (the sandbox serves it offline) and puts the rows where the two
    disagree in ``frame.attrs["compare_with_stripe"]`` (empty when they agree).

    Raises
    ------
    billing_kit.history.InvalidOption
        A missing or unparseable date, ``start`` not before ``end``, an unknown zone.

    Examples
    --------
    >>> client.balance_summary("2026-11-01", "2026-12-01", tz="Europe/Paris")  # doctest: +SKIP
    """
    lo, hi, zone = _period(start, end, tz)
    history = gather(client, hi, metadata=False)
    frame = _reports.balance_summary(history, lo, hi, live=_live_balance(client, hi))
    if compare_with_stripe:
        _compare.attach(client, frame, "balance.summary.1", _parameters(lo, hi, zone))
    return frame


def balance_activity(
    client: Client,
    start: DateLike,
    end: DateLike,
    tz: str = "UTC",
    *,
    itemized: bool = False,
    compare_with_stripe: bool = False,
) -> pd.DataFrame:
    """Return ``balance_change_from_activity.summary.1`` (by ``reporting_category`` and
    ``currency``: ``count``, ``gross``, ``fee``, ``net``) or, with ``itemized=True``,
    ``.itemized.3`` (one row per balance transaction with its charge, payment intent, customer
    and metadata) for ``[start, end)`` in ``tz``. ``compare_with_stripe`` and errors as
    :func:`balance_summary`.
    """
    lo, hi, zone = _period(start, end, tz)
    history = gather(client, hi, metadata=itemized)
    frame = _reports.balance_activity(history, lo, hi, zone, itemized=itemized)
    if compare_with_stripe and itemized:
        # Stripe's itemized activity type (.itemized.3) is not served by the sandbox; the
        # summary is compared instead, from the same rows.
        summary = _reports.balance_activity(history, lo, hi, zone, itemized=False)
        frame.attrs["compare_with_stripe"] = _compare.attach(
            client, summary, "balance_change_from_activity.summary.1", _parameters(lo, hi, zone)
        ).attrs["compare_with_stripe"]
    elif compare_with_stripe:
        _compare.attach(
            client, frame, "balance_change_from_activity.summary.1", _parameters(lo, hi, zone)
        )
    return frame


def payout_reconciliation(
    client: Client,
    start: DateLike,
    end: DateLike,
    tz: str = "UTC",
    *,
    compare_with_stripe: bool = False,
) -> _reports.PayoutReconciliation:
    """Return ``payout_reconciliation.itemized.5`` (``.frame``) and a per-payout tie-out
    (``.summary``, with ``difference`` and ``reason``) for automatic payouts effective in
    ``[start, end)`` in ``tz``. ``compare_with_stripe`` and errors as :func:`balance_summary`.
    """
    lo, hi, zone = _period(start, end, tz)
    result = _reports.payout_reconciliation(gather(client, hi), lo, hi, zone)
    if compare_with_stripe:
        _compare.attach(
            client, result.frame, "payout_reconciliation.itemized.5", _parameters(lo, hi, zone)
        )
    return result


def ending_balance_reconciliation(
    client: Client, end: DateLike, tz: str = "UTC", *, compare_with_stripe: bool = False
) -> pd.DataFrame:
    """Return ``ending_balance_reconciliation.itemized.4``: transactions in the balance at ``end``
    not yet settled by an automatic payout. ``compare_with_stripe`` and errors as
    :func:`balance_summary`.
    """
    _, hi, zone = _period(0, end, tz)
    frame = _reports.ending_balance_reconciliation(gather(client, hi), hi, zone)
    if compare_with_stripe:
        _compare.attach(
            client, frame, "ending_balance_reconciliation.itemized.4", _parameters(None, hi, zone)
        )
    return frame
