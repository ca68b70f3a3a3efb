"""Text that Excel can store: control characters escaped, sheet titles without forbidden characters.

The ``.xlsx`` format (XML 1.0) cannot hold control characters other than tab, line feed and
carriage return, and openpyxl raises ``IllegalCharacterError`` on the first one, losing the whole
export for one bad description. They are written as visible escapes (``\\x00``) instead, so nothing
disappears silently. Used by both Excel writers: ``billing-kit pull --out x.xlsx`` and the widgets'
export.

Examples
--------
>>> excel_text("Invoice\\x007")
'Invoice\\\\x007'
>>> sheet_title("q1 [draft]: charges?")
'q1 _draft__ charges_'
"""

from __future__ import annotations

import re

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

__all__ = ["excel_safe", "excel_text", "sheet_title"]

# Excel refuses these in sheet titles, and titles longer than 31 characters.
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def excel_text(text: str) -> str:
    """Return ``text`` with each character Excel cannot store written as ``\\xNN``."""
    escaped: str = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
    return escaped


def sheet_title(name: str, default: str = "data") -> str:
    """Return a sheet title Excel accepts: forbidden characters replaced, at most 31 characters."""
    title = excel_text(_SHEET_FORBIDDEN.sub("_", name))[:31].strip("'")
    return title or default


def excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with every string cell and column name passed through :func:`excel_text`."""
    out = {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
            values = [excel_text(v) if isinstance(v, str) else v for v in column]
            column = pd.Series(values, index=column.index, dtype=column.dtype)
        out[excel_text(str(name)) if isinstance(name, str) else name] = column
    return pd.DataFrame(out, index=frame.index)
