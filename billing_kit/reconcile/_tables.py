"""Reading a user's table (a DataFrame, or a CSV or XLSX file) for matching: columns as text,
amounts exact for their currency, dates in a stated zone, and one clear error listing every bad row.

Amounts go through :func:`billing_kit.parse_amount`'s rules. A million rows would take seconds one
by one, so plain amounts (``"12.34"``, ``"1,234.50"``, ``500``) are read by a vectorised fast path
that accepts only what ``parse_amount`` accepts; every other row goes through ``parse_amount``
itself, which either reads it or says exactly what is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from billing_kit._exceptions import InvalidAmount, InvalidArgument
from billing_kit._money import CURRENCIES, currency_info, parse_amount
from billing_kit.history._schema import STRING_DTYPE

__all__ = ["BadRows", "Table", "read_table"]

#: Bad rows listed in one error; the rest are counted.
_SHOWN = 20
# Plain positive amounts: digits (at most 15, so minor units fit in int64) with optional
# thousands commas, and a fraction whose significant digits (at most 15) are captured apart from
# trailing zeros. Anything else goes to parse_amount.
_FAST = (
    r"^\+?(?P<whole>\d{1,3}(?:,\d{3}){1,4}|\d{1,15})(?:\.(?:(?P<fraction>\d{0,14}[1-9])0*|0+))?$"
)


@dataclass
class Table:
    """A user's table as text, with how to name its rows in messages."""

    frame: pd.DataFrame
    name: str
    #: The label of each row in messages: the file's line number, or the DataFrame's index.
    rows: pd.Index
    line_numbers: bool


class BadRows:
    """Collects bad cells, then raises one :class:`InvalidArgument` naming each."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.problems: list[tuple[int, str, str]] = []

    def add(self, positions: Any, column: str, messages: Sequence[str]) -> None:
        """Record the rows at ``positions`` of ``column`` with one message each."""
        self.problems.extend((int(p), column, m) for p, m in zip(positions, messages, strict=True))

    def raise_if_any(self) -> None:
        """Raise one error listing the bad rows in row order (nothing has been read yet)."""
        if not self.problems:
            return
        self.problems.sort()
        unit = "line" if self.table.line_numbers else "row"
        lines = [
            f"  {unit} {self.table.rows[p]}, column {c!r}: {m}"
            for p, c, m in self.problems[:_SHOWN]
        ]
        more = len(self.problems) - _SHOWN
        if more > 0:
            lines.append(f"  … and {more:,} more")
        raise InvalidArgument(
            f"{self.table.name} has {len(self.problems):,} bad value(s); fix them and run "
            "again (nothing was matched or written):\n" + "\n".join(lines)
        )


def read_table(source: object, *, what: str) -> Table:
    """Return ``source`` (a DataFrame, or a ``.csv``/``.xlsx`` path) as a table of text cells.

    Files are read with every cell as text, so no amount passes through a float and no id loses
    its leading zeros. Rows are named by the file's line number (the header is line 1).
    """
    if isinstance(source, pd.DataFrame):
        return Table(source.reset_index(drop=True), what, source.index, line_numbers=False)
    if not isinstance(source, str | os.PathLike):
        raise InvalidArgument(
            f"{what} must be a pandas DataFrame or the path of a .csv or .xlsx file, got "
            f"{type(source).__name__}."
        )
    path = Path(source)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InvalidArgument(f"{what} file {str(path)!r} does not exist; check the path.")
    if suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    elif suffix in (".xlsx", ".xlsm"):
        frame = pd.read_excel(path, dtype=str, keep_default_na=False, na_values=[""])
    else:
        raise InvalidArgument(
            f"{what} file {path.name!r} has an unknown type {suffix!r}; give a .csv or .xlsx file."
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    return Table(frame, f"{what} file {path.name!r}", pd.RangeIndex(2, len(frame) + 2), True)


def require(table: Table, columns: dict[str, str | None]) -> None:
    """Raise when a named column is missing: ``columns`` maps each option to the column it names."""
    present = list(table.frame.columns)
    for option, column in columns.items():
        if column is not None and column not in table.frame.columns:
            raise InvalidArgument(
                f"{table.name} has no column {column!r} (the {option}= option); its columns are "
                f"{present!r}: name the right one, e.g. {option}={present[0]!r}"
                if present
                else f"{table.name} has no columns at all; give a table with a header row."
            )


def text(column: pd.Series) -> pd.Series:
    """The cells of ``column`` as stripped strings (``<NA>`` where empty)."""
    if column.dtype.kind == "f":
        out = column.astype(object).where(column.notna(), None)
        return (
            pd.Series(out, index=column.index, dtype=object)
            .map(lambda v: None if v is None else repr(v))
            .astype(STRING_DTYPE)
        )
    values = column.astype(STRING_DTYPE).str.strip()
    return values.where(values != "", None)


def currencies(table: Table, column: str, bad: BadRows) -> pd.Series:
    """Lower-case ISO codes; an unknown or missing code is a bad row."""
    codes = text(table.frame[column]).str.lower()
    known = codes.isin(list(CURRENCIES))
    for position in np.flatnonzero(~known.fillna(False).to_numpy(bool)):
        value = codes.iloc[position]
        try:
            currency_info(value if isinstance(value, str) else "")
            message = ""
        except InvalidArgument as exc:
            message = str(exc) if isinstance(value, str) else "the currency is empty; fill it in."
        bad.add([int(position)], column, [message])
    return codes


def amounts(
    table: Table, column: str, codes: pd.Series, bad: BadRows, *, maximum: bool = True
) -> pd.Series:
    """Minor units (``int64``) of each row's amount in its currency, by :func:`parse_amount`'s
    rules without Stripe's minimum charge (and, with ``maximum=False``, without its maximum
    charge: a bank deposit may be larger); rows with a bad currency are left to that error."""
    raw = table.frame[column]
    if raw.dtype.kind == "f":
        floats = np.flatnonzero(raw.notna().to_numpy())
        bad.add(
            floats,
            column,
            [
                f"{float(raw.iloc[p])!r} is a float, which cannot hold money exactly; read the "
                "column as text (e.g. pd.read_csv(..., dtype=str)) or as Decimals."
                for p in floats
            ],
        )
    values = text(raw)
    n = len(values)
    out = np.zeros(n, dtype=np.int64)
    usable = codes.isin(list(CURRENCIES)).fillna(False).to_numpy(bool)
    parts = pc.extract_regex(pa.array(values.str.replace("_", "", regex=False)), _FAST)
    whole = pc.replace_substring(pc.struct_field(parts, "whole"), ",", "")  # null where no match
    fraction = pc.fill_null(pc.struct_field(parts, "fraction"), "")
    length = pc.utf8_length(fraction).to_numpy(zero_copy_only=False).astype(np.int64)
    # Each currency's facts, looked up through category codes rather than a dict per row.
    known = sorted(CURRENCIES)
    slot = pd.Categorical(codes.where(usable, None).astype(object), categories=known).codes
    infos = [CURRENCIES[code] for code in known]

    def fact(name: str) -> Any:
        return np.array([getattr(i, name) for i in infos] + [0], dtype=np.int64)[slot]

    exponent, decimals = fact("exponent"), fact("decimals")
    fast = usable & whole.is_valid().to_numpy(zero_copy_only=False) & (length <= decimals)
    shift = np.where(fast, exponent - length, 0)
    units = pc.cast(pc.fill_null(whole, "0"), pa.int64()).to_numpy(zero_copy_only=False)
    digits = pc.cast(pc.if_else(pc.equal(fraction, ""), "0", fraction), pa.int64())
    minor = units * 10**exponent + digits.to_numpy(zero_copy_only=False) * 10**shift
    step = np.maximum(fact("step"), 1)  # 0 only for rows of an unknown currency
    fast &= (minor > 0) & (minor % step == 0)
    if maximum:
        fast &= minor <= fact("maximum")
    out[fast] = minor[fast]
    for position in np.flatnonzero(usable & ~fast):
        value = values.iloc[position]
        try:
            if value is None or value is pd.NA:
                raise InvalidAmount("the amount is empty; fill it in.")
            out[position] = parse_amount(value, codes.iloc[position], minimum=False)
        except InvalidAmount as exc:
            bad.add([int(position)], column, [str(exc)])
    return pd.Series(out, index=values.index)


# An ISO time's offset: Z, +01:00, +0100, or +01 after a time (a date's "-02" is not one).
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2}|[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?[+-]\d{2})$"


def timestamps(table: Table, column: str, tz: str, bad: BadRows) -> pd.Series:
    """UTC timestamps of an ISO date or time column; values without a zone are read in ``tz``."""
    values = text(table.frame[column])
    # Values with an offset (or Z) are instants; the others are wall times in tz. Parsed apart,
    # since pandas refuses a column mixing the two.
    offset = values.str.contains(_OFFSET, regex=True)
    aware = offset.fillna(False).to_numpy(bool)
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        instants = pd.to_datetime(values[aware], errors="coerce", format="ISO8601", utc=True)
        parsed[aware] = instants.astype("datetime64[ns, UTC]")
    if (~aware).any():
        wall = pd.to_datetime(values[~aware], errors="coerce", format="ISO8601")
        local = wall.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        parsed[~aware] = local.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    wrong = np.flatnonzero((values.notna() & parsed.isna()).to_numpy(bool))
    bad.add(
        wrong,
        column,
        [
            f"{values.iloc[p]!r} is not an ISO date or time; write it like '2026-11-30' or "
            f"'2026-11-30T14:05:00' (read in {tz}) or with an offset ('…+01:00')."
            for p in wrong
        ],
    )
    return parsed.astype("datetime64[ns, UTC]")
