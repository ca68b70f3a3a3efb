"""Excel workbooks for accounting: one rectangle per sheet, typed cells, formats per currency.

Excel holds neither time zones nor Arrow decimals. Times are written as real Excel dates holding
the local time of the report's zone, with the zone in the column header (``bank_date (UTC)``);
exact decimals are written as numbers with the currency's own number of decimals shown
(``#,##0`` for JPY, ``#,##0.00`` for USD, ``#,##0.000`` for KWD). Every sheet has a frozen header
row, an autofilter and widths fitted to its contents. The file is written next to its path and
renamed into place, so it appears whole or not at all.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from billing_kit._exceptions import UnknownCurrency
from billing_kit._money import currency_info

__all__ = ["write_workbook"]

_DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"


def _number_format(currency: Any) -> str:
    try:
        decimals = currency_info(str(currency)).decimals
    except UnknownCurrency:
        decimals = 3  # no currency on this row: show every decimal the column holds
    return "#,##0" if decimals == 0 else "#,##0." + "0" * decimals


def _cells(frame: pd.DataFrame, tz: str) -> pd.DataFrame:
    out: dict[str, Any] = {}
    for name, column in frame.items():
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            out[f"{name} ({tz})"] = column.dt.tz_convert(tz).dt.tz_localize(None)
        elif (
            isinstance(column.dtype, pd.ArrowDtype | pd.CategoricalDtype) or column.dtype == object
        ):
            out[str(name)] = column.astype(object).where(column.notna(), None)
        else:
            out[str(name)] = column
    return pd.DataFrame(out)


def write_workbook(
    path: str | os.PathLike[str],
    sheets: Mapping[str, pd.DataFrame],
    *,
    tz: str,
    currencies: Mapping[str, str] | None = None,
) -> Path:
    """Write ``sheets`` (name -> frame) to the xlsx file ``path`` and return the path.

    ``currencies`` maps an amount column to the column naming its currency (per row); a sheet's
    ``amount`` column without an entry uses its ``currency`` column.
    """
    target = Path(path)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".xlsx"
    )
    os.close(handle)
    try:
        with pd.ExcelWriter(temporary, engine="openpyxl") as writer:
            for sheet, frame in sheets.items():
                table = _cells(frame.reset_index(drop=True), tz)
                table.to_excel(writer, sheet_name=sheet, index=False, freeze_panes=(1, 0))
                _format(writer.sheets[sheet], frame, table, dict(currencies or {}))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _format(
    worksheet: Any, frame: pd.DataFrame, table: pd.DataFrame, currencies: dict[str, str]
) -> None:
    worksheet.auto_filter.ref = worksheet.dimensions
    for index, (name, header) in enumerate(zip(frame.columns, table.columns, strict=True)):
        column = frame[name]
        # max_row: formatting row 2 of an empty sheet creates it, for the next columns too.
        last = 1 + len(frame)
        cells = worksheet.iter_rows(min_row=2, max_row=last, min_col=index + 1, max_col=index + 1)
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            for (cell,) in cells:
                cell.number_format = _DATE_FORMAT
        elif isinstance(column.dtype, pd.ArrowDtype) and "decimal" in str(column.dtype):
            source = currencies.get(str(name), "currency" if "currency" in frame else "")
            codes = frame[source].tolist() if source in frame else [None] * len(frame)
            for (cell,), code in zip(cells, codes, strict=True):
                cell.number_format = _number_format(code)
        values = table[header].head(200).astype(str)
        longest = max([len(str(header)), *values.str.len().tolist()])
        letter = worksheet.cell(row=1, column=index + 1).column_letter
        worksheet.column_dimensions[letter].width = max(8, min(48, longest + 2))
