"""Export a history frame to CSV or Excel.

Excel cannot store time zones, so timestamps are written as UTC wall-clock times in a column
whose name says so; amounts stay exact (decimals, not floats); control characters Excel cannot
store are written as ``\\xNN`` escapes. CSV keeps the ISO timestamps with their offset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from billing_kit._excel import excel_safe, sheet_title


def export_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` as UTF-8 CSV (no index) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(target, index=False)
    return target


def excel_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` that openpyxl can write: naive UTC times, plain categories.

    Examples
    --------
    >>> frame = pd.DataFrame({"created": pd.to_datetime(["2026-11-30 12:00"], utc=True)})
    >>> list(excel_ready(frame).columns)
    ['created (UTC)']
    """
    out = frame.copy()
    renames = {}
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            out[name] = column.dt.tz_convert("UTC").dt.tz_localize(None)
            renames[name] = f"{name} (UTC)"
        elif isinstance(column.dtype, pd.CategoricalDtype):
            out[name] = column.astype("string")
    return out.rename(columns=renames)


def export_excel(frame: pd.DataFrame, path: str | Path, *, sheet: str = "charges") -> Path:
    """Write ``frame`` to an ``.xlsx`` workbook at ``path`` with openpyxl and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    ready = excel_safe(excel_ready(frame))
    ready.to_excel(target, sheet_name=sheet_title(sheet), index=False, engine="openpyxl")
    return target
