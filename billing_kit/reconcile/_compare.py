"""``compare_with_stripe=True``: run Stripe's own report and show the rows where it disagrees.

The run goes through the Reporting API (https://docs.stripe.com/reports/api): create a report
run, wait until it has ``succeeded``, download its CSV from the files address
(``files.stripe.com``, or the sandbox, which serves the same four report types offline). Some
report types need a live-mode key at Stripe; its error is raised as it comes.
"""

from __future__ import annotations

import io
import time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import pandas as pd

from billing_kit._config import STRIPE_API_BASE
from billing_kit._exceptions import StripeRequestError

if TYPE_CHECKING:
    from billing_kit._client import Client

__all__ = ["KEYS", "attach", "differences", "stripe_report"]

#: Per report type: the columns that identify a row, and the columns compared.
KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "balance.summary.1": (("category", "currency"), ("net_amount",)),
    "balance_change_from_activity.summary.1": (
        ("reporting_category", "currency"), ("count", "gross", "fee", "net")),
    "payout_reconciliation.itemized.5": (
        ("balance_transaction_id",), ("automatic_payout_id", "gross", "fee", "net")),
    "ending_balance_reconciliation.itemized.4": (
        ("balance_transaction_id",), ("gross", "fee", "net")),
}  # fmt: skip


def _download(client: Client, url: str) -> str:
    path = "/v1/files/" + url.split("/v1/files/", 1)[1]
    base = "https://files.stripe.com" if client.api_base == STRIPE_API_BASE else client.api_base
    content, status, _ = client._http.request(
        "get", base + path, {"Authorization": f"Bearer {client._api_key}"}
    )
    if status != 200:
        raise StripeRequestError(
            f"Downloading the report file {path} answered HTTP {status}.", http_status=status
        )
    return content.decode() if isinstance(content, bytes) else str(content)


def stripe_report(
    client: Client, report_type: str, parameters: dict[str, Any], *, wait: float = 900.0
) -> pd.DataFrame:
    """Run ``report_type`` at Stripe (or the sandbox) and return its CSV as a frame of text.

    Raises
    ------
    billing_kit.StripeRequestError
        The run failed, or was still pending after ``wait`` seconds.
    """
    request: Any = {"report_type": report_type, "parameters": parameters}
    run = client.stripe.v1.reporting.report_runs.create(request)
    deadline = time.monotonic() + wait
    pause = 0.2
    while run.status == "pending" and time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(pause * 2, 10.0)  # Stripe computes runs in seconds to minutes
        run = client.stripe.v1.reporting.report_runs.retrieve(run.id)
    if run.status != "succeeded" or run.result is None:
        raise StripeRequestError(
            f"Stripe's {report_type} run {run.id} is {run.status} ({run.error or 'no result'}); "
            "try again later"
        )
    text = _download(client, str(run.result.url))
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def _normal(value: Any) -> str:
    """One spelling per value: decimals compared as numbers (``12.340`` == ``12.34``)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    text = str(value)
    try:
        return str(Decimal(text).normalize()) if text else ""
    except InvalidOperation:
        return text


def differences(ours: pd.DataFrame, theirs: pd.DataFrame, report_type: str) -> pd.DataFrame:
    """Rows where our report and Stripe's disagree: the key columns, ``<column>_ours`` and
    ``<column>_stripe`` for each compared column, and ``where`` (``only_ours``, ``only_stripe``
    or ``differs``). Empty when they agree.
    """
    key, values = KEYS[report_type]
    columns = [*key, *values]
    sides = []
    for frame in (ours, theirs):
        picked = pd.DataFrame({c: [_normal(v) for v in frame[c]] for c in columns})
        sides.append(picked)
    merged = sides[0].merge(sides[1], "outer", on=list(key), suffixes=("_ours", "_stripe"),
                            indicator=True)  # fmt: skip
    differs = pd.Series(False, index=merged.index)
    for column in values:
        differs |= merged[f"{column}_ours"].fillna("") != merged[f"{column}_stripe"].fillna("")
    where = merged["_merge"].map({"left_only": "only_ours", "right_only": "only_stripe",
                                  "both": "differs"}).astype(str)  # fmt: skip
    merged = merged.drop(columns="_merge").assign(where=where)
    return merged[(where != "differs") | differs].reset_index(drop=True)


def attach(
    client: Client, frame: pd.DataFrame, report_type: str, parameters: dict[str, Any]
) -> pd.DataFrame:
    """Put the rows where Stripe's run of ``report_type`` disagrees with ``frame`` in
    ``frame.attrs["compare_with_stripe"]`` (empty when they agree); return ``frame``."""
    theirs = stripe_report(client, report_type, parameters)
    frame.attrs["compare_with_stripe"] = differences(frame, theirs, report_type)
    return frame
