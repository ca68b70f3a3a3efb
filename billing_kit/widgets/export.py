"""Export a history frame to CSV or Excel, with exact amounts and explicit time zones.

- Amounts are written at their currency's decimals (``15.50`` USD, ``500`` JPY, ``1.230`` KWD),
  computed from the exact minor units, never through floats: the frames keep major units at
  three decimals for every currency (``15.500``), which reads as a wrong amount.
- CSV times are ISO 8601 with their offset (``2026-11-30T12:00:00+01:00``).
- Excel cannot store time zones, so times are written as real Excel dates, the wall-clock time
  of the frame's zone, in a column whose name says the zone (``created (Europe/Berlin)``);
  control characters Excel cannot store are written as ``\\xNN`` escapes.
- :func:`new_path` never hands out the name of an existing file, so one export never
  overwrites another.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd

from billing_kit._excel import excel_safe, sheet_title
from billing_kit._money import to_major

#: Major-unit money columns of the history frames -> the column naming their currency.
MONEY_COLUMNS = {
    "amount": "currency",
    "amount_captured": "currency",
    "amount_refunded": "currency",
    "fee": "settlement_currency",
    "net": "settlement_currency",
}


def exact_amounts(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose money columns hold Decimals at their currency's decimals.

    Each value is computed from the ``<column>_minor`` integer and the row's currency.

    Examples
    --------
    >>> frame = pd.DataFrame({"currency": ["usd", "jpy"], "amount_minor": [1550, 500],
    ...                       "amount": ["15.500", "500.000"]})
    >>> [str(v) for v in exact_amounts(frame)["amount"]]
    ['15.50', '500']
    """
    out = frame.copy()
    for column, currency in MONEY_COLUMNS.items():
        minor = f"{column}_minor"
        if column not in out.columns or minor not in out.columns or currency not in out.columns:
            continue
        out[column] = pd.Series(
            [
                None if pd.isna(m) or pd.isna(c) else to_major(int(m), str(c))
                for m, c in zip(out[minor], out[currency], strict=True)
            ],
            index=out.index,
            dtype=object,
        )
    return out


def new_path(path: str | Path) -> Path:
    """Return ``path``, or ``name-2.ext``, ``name-3.ext`` … : the first that does not exist.

    The file is created empty at once (exclusive creation), so two exports started together
    cannot pick the same name.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    number = 1
    while True:
        candidate = target if number == 1 else target.with_stem(f"{target.stem}-{number}")
        try:
            candidate.open("x").close()
        except FileExistsError:
            number += 1
            continue
        return candidate


def export_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` as UTF-8 CSV (no index) and return the path.

    Times are ISO 8601 with their offset; amounts at their currency's decimals.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    out = exact_amounts(frame)
    for name in out.columns:
        if isinstance(out[name].dtype, pd.DatetimeTZDtype):
            out[name] = [None if pd.isna(t) else t.isoformat() for t in out[name]]
    out.to_csv(target, index=False)
    return target


def excel_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` that openpyxl can write: wall-clock times named by zone.

    Examples
    --------
    >>> frame = pd.DataFrame({"created": pd.to_datetime(["2026-11-30 12:00"], utc=True)})
    >>> list(excel_ready(frame).columns)
    ['created (UTC)']
    >>> zoned = frame.assign(created=frame["created"].dt.tz_convert("Europe/Berlin"))
    >>> excel_ready(zoned)["created (Europe/Berlin)"].iloc[0]
    Timestamp('2026-11-30 13:00:00')
    """
    out = exact_amounts(frame)
    renames = {}
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            out[name] = column.dt.tz_localize(None)
            renames[name] = f"{name} ({column.dt.tz})"
        elif isinstance(column.dtype, pd.CategoricalDtype):
            out[name] = column.astype("string")
    return out.rename(columns=renames)


def _number_format(value: Decimal) -> str:
    places = max(0, -int(value.as_tuple().exponent))
    return "#,##0" + ("." + "0" * places if places else "")


def export_excel(frame: pd.DataFrame, path: str | Path, *, sheet: str = "charges") -> Path:
    """Write ``frame`` to an ``.xlsx`` workbook at ``path`` with openpyxl and return the path.

    Amounts are numbers shown at their currency's decimals; times are Excel dates.
    """
    import openpyxl

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    ready = excel_safe(excel_ready(frame))
    title = sheet_title(sheet)
    ready.to_excel(target, sheet_name=title, index=False, engine="openpyxl")
    # Each cell keeps its own currency's decimals (read from the exact Decimal before writing).
    formats = {
        number: [_number_format(v) if isinstance(v, Decimal) else None for v in ready[name]]
        for number, name in enumerate(ready.columns, start=1)
        if name in MONEY_COLUMNS
    }
    if formats and len(ready):
        book = openpyxl.load_workbook(target)
        cells = book[title]
        for number, column_formats in formats.items():
            for row, number_format in enumerate(column_formats, start=2):
                if number_format is not None:
                    cells.cell(row=row, column=number).number_format = number_format
        book.save(target)
    return target
