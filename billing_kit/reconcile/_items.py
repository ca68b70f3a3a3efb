"""Itemized report rows: one per balance transaction, with the columns of Stripe's itemized reports.

Column names follow ``balance_change_from_activity.itemized.3``,
``payout_reconciliation.itemized.5`` and ``ending_balance_reconciliation.itemized.4``
(https://docs.stripe.com/reports/report-types): every time twice, ``<name>_utc`` and ``<name>`` in
the report's time zone; amounts in major units, exact per currency (``gross``, ``fee``, ``net``
in the balance's currency, ``customer_facing_amount`` in the currency the customer saw);
``payment_metadata[key]`` from the charge, ``refund_metadata[key]`` from the refund.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from billing_kit.history._frames import major_units
from billing_kit.history._schema import METADATA_PREFIX, STRING_DTYPE, TIMESTAMP_DTYPE
from billing_kit.reconcile._inputs import History

__all__ = ["ITEM_COLUMNS", "PAYOUT_COLUMNS", "itemize", "major", "strings"]

#: Columns of every itemized frame, in order (metadata columns follow).
ITEM_COLUMNS = (
    "balance_transaction_id", "created_utc", "created", "available_on_utc", "available_on",
    "currency", "gross", "fee", "net", "reporting_category", "source_id", "description",
    "customer_facing_amount", "customer_facing_currency", "exchange_rate", "charge_id",
    "payment_intent_id", "charge_created_utc", "charge_created", "customer_id", "dispute_reason",
)  # fmt: skip
#: Added by ``payout_reconciliation.itemized.5``, after ``description``.
PAYOUT_COLUMNS = ("automatic_payout_id", "automatic_payout_effective_at_utc",
                  "automatic_payout_effective_at")  # fmt: skip


def major(minor: Any, currency: Any) -> Any:
    """Exact major-unit decimals (``decimal128(18, 3)``) of integer minor units per currency."""
    # Whole columns are converted at once (no Python list): itemized reports reach millions of rows.
    ints = pd.Series(minor).astype("int64[pyarrow]").array
    codes: Any = pd.Series(currency)
    if not isinstance(codes.dtype, pd.CategoricalDtype):
        codes = codes.astype(object)
    return major_units(ints, pd.Categorical(codes))


def strings(values: Any) -> pd.Series:
    """Arrow strings (``string[pyarrow]``, as the history frames hold ids), missing as ``<NA>``."""
    if isinstance(values, pd.Series) and values.dtype == STRING_DTYPE:
        return values.reset_index(drop=True)
    series = pd.Series(list(values) if not isinstance(values, pd.Series) else values)
    plain = series.astype(object)
    return plain.where(plain.notna(), None).astype(STRING_DTYPE).reset_index(drop=True)


def _derived(history: History, name: str) -> pd.DataFrame:
    """The lookup frame ``name`` of ``history``, built once and shared by every itemized report."""
    if name not in history.derived:
        if name == "sources":
            history.derived[name] = _sources(history)
        else:  # "charges": by id, the columns an itemized row shows (not all forty)
            charges = history.charges.set_index(history.charges["id"].astype(object))
            history.derived[name] = charges[["created", "payment_intent", "customer"]]
    return history.derived[name]


def _sources(history: History) -> pd.DataFrame:
    """Per source id (``ch_``, ``re_``, ``dp_``): its charge and the amount the customer saw."""
    charges, refunds, disputes = history.charges, history.refunds, history.disputes
    captured = charges["amount_captured_minor"].fillna(0)
    parts = [
        pd.DataFrame({
            "source_id": charges["id"].astype(object),
            "charge_id": charges["id"].astype(object),
            "facing_minor": captured.where(captured > 0, charges["amount_minor"]).astype(object),
            "facing_currency": charges["currency"].astype(object),
            "dispute_reason": None,
            "refund_id": None,
        }),
        pd.DataFrame({
            "source_id": refunds["id"].astype(object),
            "charge_id": refunds["charge"].astype(object),
            "facing_minor": refunds["amount_minor"].astype(object),
            "facing_currency": refunds["currency"].astype(object),
            "dispute_reason": None,
            "refund_id": refunds["id"].astype(object),
        }),
        pd.DataFrame({
            "source_id": disputes["id"].astype(object),
            "charge_id": disputes["charge"].astype(object),
            "facing_minor": disputes["amount_minor"].astype(object),
            "facing_currency": disputes["currency"].astype(object),
            "dispute_reason": disputes["reason"].astype(object),
            "refund_id": None,
        }),
    ]  # fmt: skip
    return pd.concat(parts, ignore_index=True).drop_duplicates("source_id")


def _metadata(frame: pd.DataFrame, key: str, prefix: str) -> pd.DataFrame:
    columns = [c for c in frame.columns if c.startswith(METADATA_PREFIX)]
    renamed = {c: f"{prefix}[{c[len(METADATA_PREFIX) :]}]" for c in columns}
    return frame[["id", *columns]].rename(columns={"id": key, **renamed})


def itemize(rows: pd.DataFrame, history: History, tz: str, *, payouts: bool) -> pd.DataFrame:
    """Return the itemized report frame of ledger ``rows`` (see :func:`._ledger.ledger`)."""
    rows = rows.reset_index(drop=True)
    source = rows["source"].astype(object)
    sources = _derived(history, "sources")
    joined = pd.DataFrame({"source_id": source}).merge(sources, "left", "source_id")
    charge_id = joined["charge_id"]
    # A missing id (no charge behind the transaction) looks up nothing: a row of missing values.
    looked = _derived(history, "charges").reindex(charge_id).reset_index(drop=True)
    charge_created = looked["created"].astype(TIMESTAMP_DTYPE)
    facing_currency = joined["facing_currency"]
    facing = major(joined["facing_minor"].fillna(0), facing_currency.fillna("usd"))
    facing = pd.Series(facing).where(facing_currency.notna().to_numpy(), None)

    def local(series: pd.Series) -> pd.Series:
        converted: pd.Series = series.dt.tz_convert(tz)
        return converted

    out: dict[str, Any] = {
        "balance_transaction_id": strings(rows["id"]).array,
        "created_utc": rows["created"].astype(TIMESTAMP_DTYPE),
        "created": local(rows["created"]),
        "available_on_utc": rows["available_on"].astype(TIMESTAMP_DTYPE),
        "available_on": local(rows["available_on"]),
        "currency": rows["currency"].astype("category"),
        "gross": major(rows["amount_minor"], rows["currency"]),
        "fee": major(rows["fee_minor"], rows["currency"]),
        "net": major(rows["net_minor"], rows["currency"]),
        "reporting_category": rows["reporting_category"].astype(object).astype("category"),
        "source_id": strings(source),
        "description": strings(rows["description"]),
    }
    if payouts:
        effective = rows["automatic_payout_effective_at"].astype(TIMESTAMP_DTYPE)
        out.update(
            automatic_payout_id=strings(rows["automatic_payout_id"]),
            automatic_payout_effective_at_utc=effective,
            automatic_payout_effective_at=local(effective),
        )
    out.update(
        customer_facing_amount=facing.array,
        customer_facing_currency=facing_currency.astype("category"),
        exchange_rate=rows["exchange_rate"],
        charge_id=strings(charge_id),
        payment_intent_id=strings(looked["payment_intent"]),
        charge_created_utc=charge_created,
        charge_created=local(charge_created),
        customer_id=strings(looked["customer"]),
        dispute_reason=joined["dispute_reason"].astype("category"),
    )
    frame = pd.DataFrame(out)
    payment = _metadata(history.charges, "charge_id", "payment_metadata")
    refund = _metadata(history.refunds, "refund_id", "refund_metadata")
    for extra, key in ((payment, charge_id), (refund, joined["refund_id"])):
        if extra.shape[1] > 1:
            extra = extra.set_index(extra.columns[0])
            picked = extra.reindex(key).reset_index(drop=True)
            frame = pd.concat([frame, picked.astype(STRING_DTYPE)], axis=1)
    return frame
