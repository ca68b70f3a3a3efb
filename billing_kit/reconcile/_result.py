"""The shape every matcher returns: one row per pair with a ``match`` class, a summary, Excel.

Amounts stay exact: the frame holds major-unit decimals (``decimal128(18, 3)``, as the history
frames do) computed from minor-unit integers with each currency's exponent; the summary adds them up
per class and currency in integers. Excel cannot hold time zones, so each time column is written
as the local time of the report's zone with the zone in its header.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from billing_kit.history._frames import major_units
from billing_kit.history._schema import STRING_DTYPE

__all__ = ["MatchResult", "major", "pick", "summarise"]


def major(minor: pd.Series, currency: pd.Series) -> pd.Series:
    """Exact major-unit decimals (``decimal128``) from minor-unit integers and currency codes;
    missing where either is missing."""
    codes = pd.Categorical(pd.Series(currency).astype(object).to_numpy())
    ints: Any = pd.Series(minor).astype("Int64").astype("int64[pyarrow]").array
    return pd.Series(major_units(ints, codes))


def pick(column: pd.Series, positions: Any) -> pd.Series:
    """``column``'s values at ``positions``, missing where a position is -1 (no such row)."""
    if column.dtype.kind in "iub" and not isinstance(
        column.dtype, pd.api.extensions.ExtensionDtype
    ):
        column = column.astype("Int64" if column.dtype.kind != "b" else "boolean")
    return pd.Series(pd.array(column).take(np.asarray(positions), allow_fill=True))


def summarise(
    frame: pd.DataFrame, classes: tuple[str, ...], *, minor: str, currency: str
) -> pd.DataFrame:
    """Count and exact amount per class and currency, in the order of ``classes``.

    ``minor`` names the minor-unit column to add up and ``currency`` its currency column; rows of
    a class with no amount (a bank line with no currency, say) count with an amount of zero.
    """
    work = pd.DataFrame(
        {
            "match": frame["match"].astype(str),
            "currency": frame[currency].astype(object).where(frame[currency].notna(), ""),
            "minor": pd.Series(frame[minor]).astype("Int64").fillna(0).astype(np.int64),
        }
    )
    grouped = work.groupby(["match", "currency"], sort=False).agg(
        count=("minor", "size"), minor=("minor", "sum")
    )
    grouped = grouped.reset_index()
    rank = {name: i for i, name in enumerate(classes)}
    grouped["_rank"] = grouped["match"].map(rank)
    grouped = grouped.sort_values(["_rank", "currency"], kind="stable").reset_index(drop=True)
    known = grouped["currency"] != ""
    amounts = major(grouped["minor"].where(known, None), grouped["currency"].where(known, None))
    return pd.DataFrame(
        {
            "match": pd.Categorical(grouped["match"], categories=list(classes)),
            "currency": grouped["currency"].astype(STRING_DTYPE),
            "count": grouped["count"].astype(np.int64),
            "amount": amounts,
        }
    )


@dataclass(frozen=True)
class MatchResult:
    """What a reconciliation returns.

    Attributes
    ----------
    frame
        One row per pair (or unpaired row), with a ``match`` column naming its class.
    summary
        Count and exact amount per ``match`` class and currency.
    tz
        The zone every time column of ``frame`` is in.
    """

    frame: pd.DataFrame
    summary: pd.DataFrame
    tz: str = "UTC"
    #: The currency column of each amount column of :attr:`frame` (for number formats).
    currencies: Mapping[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Rows per class, classes with no row left out."""
        counts = self.frame["match"].value_counts(sort=False)
        return {str(name): int(n) for name, n in counts.items() if n}

    def to_excel(self, path: str | os.PathLike[str]) -> Path:
        """Write sheets ``Summary`` and ``Pairs`` to ``path`` (xlsx) and return the path.

        The file appears whole or not at all (written next to ``path``, renamed into place).
        Times are real Excel dates in :attr:`tz`, named in each time column's header; amounts
        are numbers shown with their currency's decimals (see
        :func:`billing_kit.reconcile._workbook.write_workbook`).
        """
        from billing_kit.reconcile._workbook import write_workbook

        sheets = {"Summary": self.summary, "Pairs": self.frame}
        return write_workbook(path, sheets, tz=self.tz, currencies=self.currencies)
