"""Ledger rows → DataFrame per a declared schema (apart from the SQLite code, which does IO)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

import pandas as pd
from pandas.api.types import pandas_dtype

if TYPE_CHECKING:
    from billing_kit._ledger import LedgerRow

__all__ = ["LEDGER_SCHEMA", "rows_to_frame"]

LEDGER_SCHEMA: dict[str, str] = {
    "created_at": "datetime64[ns, UTC]",
    "updated_at": "datetime64[ns, UTC]",
    "mode": "string",
    "kind": "string",
    "idempotency_key": "string",
    "customer": "string",
    "amount": "Int64",
    "currency": "string",
    "description": "string",
    "params": "string",
    "outcome": "string",
    "status": "string",
    "stripe_id": "string",
    "charge_id": "string",
    "error_code": "string",
    "decline_code": "string",
    "error_message": "string",
    "http_attempts": "Int64",
    "replays": "Int64",
    "namespace": "string",
}
"""Column → dtype of :meth:`billing_kit.Ledger.frame`, in column order."""


def rows_to_frame(rows: Sequence[LedgerRow]) -> pd.DataFrame:
    """Return ``rows`` as a DataFrame with the :data:`LEDGER_SCHEMA` columns and types.

    The index is the ledger row id (``attempt``); an empty ledger gives an empty, typed frame.
    """
    records = [asdict(row) for row in rows]
    ids = [record.pop("id") for record in records]
    for record in records:
        record.pop("intent")
        record.pop("guard")
    frame = pd.DataFrame.from_records(records, columns=list(LEDGER_SCHEMA))
    columns: dict[str, pd.Series] = {}
    for name, dtype in LEDGER_SCHEMA.items():
        if dtype.startswith("datetime64"):
            columns[name] = pd.to_datetime(frame[name], utc=True).astype(pandas_dtype(dtype))
        else:
            columns[name] = frame[name].astype(pandas_dtype(dtype))
    result = pd.DataFrame(columns)
    result.index = pd.Index(ids, dtype="int64", name="attempt")
    return result
