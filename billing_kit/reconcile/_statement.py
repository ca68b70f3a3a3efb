"""Reading a bank statement: a CSV or XLSX export, or an OFX file (read with ofxtools).

Every layout becomes the same typed lines: ``line`` (the file's line number, or the OFX
transaction's position), ``date`` (the booking date, midnight UTC), ``minor`` (signed amount in the
currency's minor unit: deposits positive), ``currency``, ``description`` and ``reference``. Column
names of CSV/XLSX exports are recognised from common spellings, or named by the caller; a
layout without a date, an amount or a currency is refused with what is missing and how to name it.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from billing_kit._exceptions import InvalidArgument
from billing_kit._money import currency_info
from billing_kit.history._schema import STRING_DTYPE
from billing_kit.reconcile import _tables

__all__ = ["COLUMN_NAMES", "read_statement"]

#: Header spellings recognised (case-insensitive) for each field of a CSV/XLSX statement.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "date": ("date", "booking date", "posting date", "posted", "transaction date", "value date"),
    "amount": ("amount", "credit", "deposit", "credit amount"),
    "currency": ("currency", "ccy", "currency code"),
    "description": ("description", "details", "memo", "narrative", "name", "payee", "text"),
    "reference": ("reference", "trace id", "trace_id", "bank reference", "ref", "fitid"),
}


def _find(columns: list[str], field: str, given: str | None) -> str | None:
    if given is not None:
        return given
    lowered = {c.strip().lower(): c for c in columns}
    return next((lowered[n] for n in COLUMN_NAMES[field] if n in lowered), None)


def read_statement(
    statement: object,
    *,
    date: str | None = None,
    amount: str | None = None,
    currency: str | None = None,
    description: str | None = None,
    reference: str | None = None,
    statement_currency: str | None = None,
) -> pd.DataFrame:
    """Return the typed lines of a statement (see the module docstring).

    Raises
    ------
    InvalidArgument
        Unknown layout (naming each missing field and the columns found), or bad cells (each by
        line, column and value).
    """
    if isinstance(statement, str | os.PathLike) and Path(statement).suffix.lower() in (
        ".ofx",
        ".qfx",
    ):
        return _read_ofx(Path(statement))
    table = _tables.read_table(statement, what="bank statement")
    columns = [str(c) for c in table.frame.columns]
    names = {
        "date": _find(columns, "date", date),
        "amount": _find(columns, "amount", amount),
        "currency": _find(columns, "currency", currency),
        "description": _find(columns, "description", description),
        "reference": _find(columns, "reference", reference),
    }
    missing = [f for f in ("date", "amount") if names[f] is None]
    if names["currency"] is None and statement_currency is None:
        missing.append("currency")
    if missing:
        hints = "; ".join(
            f"{field}: looked for {', '.join(repr(n) for n in COLUMN_NAMES[field])} — name it "
            f"with {field}='...'"
            + (" or give statement_currency='usd'" if field == "currency" else "")
            for field in missing
        )
        raise InvalidArgument(
            f"{table.name} has an unknown layout: no {' or '.join(missing)} column. Its columns "
            f"are {columns!r}. {hints}."
        )
    _tables.require(table, {k: v for k, v in names.items()})
    bad = _tables.BadRows(table)
    if names["currency"] is not None:
        codes = _tables.currencies(table, names["currency"], bad)
    else:
        code = currency_info(statement_currency or "").code
        codes = pd.Series([code] * len(table.frame), dtype=STRING_DTYPE)
    raw = _tables.text(table.frame[str(names["amount"])])
    negative = raw.str.startswith("-").fillna(False).to_numpy(bool)
    unsigned = table.frame.assign(**{str(names["amount"]): raw.str.lstrip("-")})
    minor = _tables.amounts(
        _tables.Table(unsigned, table.name, table.rows, table.line_numbers),
        str(names["amount"]),
        codes,
        bad,
        maximum=False,
    )
    dates = _tables.timestamps(table, str(names["date"]), "UTC", bad)
    bad.raise_if_any()

    def optional(field: str) -> pd.Series:
        name = names[field]
        if name is None:
            return pd.Series([None] * len(table.frame), dtype=STRING_DTYPE)
        return _tables.text(table.frame[name]).reset_index(drop=True)

    return pd.DataFrame(
        {
            "line": pd.array(table.rows.to_numpy(), dtype="Int64")
            if table.line_numbers
            else pd.Series(table.rows.to_numpy(), dtype=object),
            "date": dates.dt.normalize().reset_index(drop=True),
            "minor": np.where(negative, -minor.to_numpy(), minor.to_numpy()),
            "currency": codes.astype(STRING_DTYPE).reset_index(drop=True),
            "description": optional("description"),
            "reference": optional("reference"),
        }
    )


def _read_ofx(path: Path) -> pd.DataFrame:
    """The transactions of every statement in an OFX file (https://www.ofx.net/), via ofxtools."""
    if not path.is_file():
        raise InvalidArgument(f"bank statement file {str(path)!r} does not exist; check the path.")
    from ofxtools.Parser import OFXTree

    tree = OFXTree()
    try:
        tree.parse(str(path))
        ofx = tree.convert()
    except Exception as exc:  # ofxtools raises several unrelated types for a malformed file
        raise InvalidArgument(
            f"bank statement file {path.name!r} is not a readable OFX file ({exc}); export it "
            "again from the bank, or give a CSV/XLSX export with date, amount and currency."
        ) from exc
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for statement in ofx.statements:
        code = currency_info(str(statement.curdef)).code
        for transaction in statement.banktranlist or ():
            line = len(rows) + 1
            value: Decimal = transaction.trnamt
            currency = str(getattr(transaction, "currency", None) or code).lower()
            scaled = value.scaleb(currency_info(currency).exponent)
            if scaled != scaled.to_integral_value():
                problems.append(
                    f"  transaction {line} ({transaction.fitid}): amount {str(value)!r} has more "
                    f"decimals than {currency.upper()} allows; correct the export."
                )
                continue
            rows.append(
                {
                    "line": line,
                    "date": pd.Timestamp(transaction.dtposted).tz_convert("UTC").normalize(),
                    "minor": int(scaled),
                    "currency": currency,
                    "description": " ".join(
                        str(p) for p in (transaction.name, transaction.memo) if p
                    )
                    or None,
                    "reference": getattr(transaction, "refnum", None) or transaction.fitid,
                }
            )
    if problems:
        raise InvalidArgument(
            f"bank statement file {path.name!r} has {len(problems)} bad amount(s) (nothing was "
            "matched or written):\n" + "\n".join(problems)
        )
    frame = pd.DataFrame(rows, columns=["line", "date", "minor", "currency", "description",
                                        "reference"])  # fmt: skip
    return frame.astype(
        {
            "line": "Int64",
            "date": "datetime64[ns, UTC]",
            "minor": np.int64,
            "currency": STRING_DTYPE,
            "description": STRING_DTYPE,
            "reference": STRING_DTYPE,
        }
    )
