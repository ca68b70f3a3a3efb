"""Reading and checking a sheet of charges, before anything is sent.

A sheet is a DataFrame, a ``.csv`` or an ``.xlsx`` file with one charge per row. Columns (names
in any case): ``email`` or ``customer``, ``amount``, ``currency``, and optionally
``payment_method``, ``description``, ``row_id`` and ``metadata.<key>``. Other columns are kept in
the result and never sent.

Every row is checked with the same rules as :meth:`~billing_kit.Client.charge` (the money module
for amounts, the validation module for ids, text and metadata, the card-number check for every
cell), plus the rules a sheet needs: no row twice, no row id twice. Each problem names the row as a
spreadsheet shows it (the header is row 1, the first charge row 2), the column, the value (card
numbers masked) and the fix.

Spreadsheet numbers: CSV cells are read as text, so ``12.50`` stays ``"12.50"``. An ``.xlsx``
stores numbers as binary floats; a float is read through its shortest exact repr (``12.5`` ->
``"12.5"``), and one that is not a whole number of the currency's minor units (``12.4999999`` from
a formula) is refused rather than rounded: format the column as text or use ``=ROUND(x, 2)``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from billing_kit._customers import normalise_email
from billing_kit._exceptions import BillingKitError, InvalidArgument
from billing_kit._money import currency_info, parse_amount
from billing_kit._pan import find_card_number, safe_repr
from billing_kit._validation import check_id, check_metadata, check_text

__all__ = ["BatchRow", "Problem", "SheetCheck", "check_sheet", "read_sheet"]

COLUMNS = ("email", "customer", "amount", "currency", "payment_method", "description", "row_id")
METADATA_PREFIX = "metadata."
# The header is spreadsheet row 1, so the first charge is row 2: the numbers Excel shows.
FIRST_ROW = 2


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in a sheet: where it is, what it holds, and how to fix it."""

    row: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column!r}, value {self.value}: {self.message}"


@dataclass(slots=True)
class BatchRow:
    """One checked row, ready to charge: ``position`` is its place in the input (0-based)."""

    position: int
    row: int
    row_id: str
    email: str | None
    customer: str | None
    amount: int
    currency: str
    payment_method: str | None
    description: str | None
    metadata: dict[str, str]

    @property
    def who(self) -> str:
        """The customer id, else the normalised email."""
        return self.customer or self.email or ""


@dataclass
class SheetCheck:
    """The checked sheet: the input as read, the valid rows, and every problem found."""

    frame: pd.DataFrame
    rows: list[BatchRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    invalid: set[int] = field(default_factory=set)

    def problems_frame(self) -> pd.DataFrame:
        """Problems as a frame: ``row``, ``column``, ``value``, ``message``."""
        return pd.DataFrame(
            [(p.row, p.column, p.value, p.message) for p in self.problems],
            columns=["row", "column", "value", "message"],
        )

    def digest(self) -> str:
        """A hash of every row's content in order: the default batch id."""
        digest = hashlib.sha256()
        for name in self.frame.columns:
            cells = [_text(v) for v in self.frame[name].tolist()]
            digest.update(json.dumps([str(name), cells], default=str).encode())
        return "batch-" + digest.hexdigest()[:20]


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return value if isinstance(value, str) else repr(value)


def read_sheet(rows: object) -> pd.DataFrame:
    """Return the sheet as a DataFrame of text cells (``.xlsx`` numbers stay int/float).

    Raises
    ------
    InvalidArgument
        Not a DataFrame or a path to a ``.csv``/``.xlsx`` file, or the file cannot be read.
    """
    if isinstance(rows, pd.DataFrame):
        return rows.reset_index(drop=True)
    if not isinstance(rows, str | Path):
        raise InvalidArgument(
            f"rows must be a DataFrame or the path of a .csv or .xlsx file, got "
            f"{type(rows).__name__}; pass e.g. 'charges.xlsx'."
        )
    path = Path(rows)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidArgument(
            f"{str(path)!r} is not a .csv or .xlsx file; save the sheet as one of those."
        )
    if not path.is_file():
        raise InvalidArgument(f"{str(path)!r} does not exist; check the path.")
    try:
        if suffix == ".csv":
            # Text, not numbers: "12.50" must not become the float 12.5, nor "007" the int 7.
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        return _read_xlsx(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (ValueError, OSError, KeyError) as exc:
        raise InvalidArgument(f"could not read {str(path)!r}: {exc}") from exc


def _read_xlsx(path: Path) -> pd.DataFrame:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        cells = list(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()
    if not cells:
        return pd.DataFrame()
    header = ["" if name is None else str(name) for name in cells[0]]
    body = [row for row in cells[1:] if any(v not in (None, "") for v in row)]
    return pd.DataFrame([list(row) for row in body], columns=header, dtype=object)


def _columns(frame: pd.DataFrame) -> tuple[dict[str, Any], dict[str, Any], list[Problem]]:
    """Map known column names (any case) and ``metadata.<key>`` columns to the frame's names."""
    known: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    problems: list[Problem] = []
    for name in frame.columns:
        label = str(name).strip()
        lowered = label.lower()
        if lowered in COLUMNS:
            if lowered in known:
                problems.append(
                    Problem(1, label, repr(label), f"column {lowered!r} appears twice: keep one.")
                )
            known[lowered] = name
        elif lowered.startswith(METADATA_PREFIX):
            metadata[label[len(METADATA_PREFIX) :]] = name
    missing = [c for c in ("amount", "currency") if c not in known]
    if "email" not in known and "customer" not in known:
        missing.insert(0, "email or customer")
    for column in missing:
        problems.append(
            Problem(
                1,
                column,
                "(missing)",
                f"the sheet has no {column!r} column (columns: "
                f"{[str(c) for c in frame.columns]!r}); add it to the header row.",
            )
        )
    return known, metadata, problems


def _amount_value(value: object, currency: str) -> int:
    """Minor units of a cell; a float (from .xlsx) only when its exact repr fits the currency."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgument(f"{value!r} is not a number: type the amount, e.g. 12.50.")
        try:
            return parse_amount(repr(value), currency)
        except InvalidArgument as exc:
            raise InvalidArgument(
                f"{exc} Excel stored the number {value!r}: a formula or a float left it off the "
                "cent, and it is refused rather than rounded; use =ROUND(…, 2) or format the "
                "column as text with the exact amount."
            ) from None
    return parse_amount(value, currency)


def _blank(value: object) -> bool:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return True
    return isinstance(value, str) and not value.strip()


def _cell_text(value: object) -> str | None:
    """A non-amount cell as text (Excel may hand over a number: 7.0 is '7')."""
    if _blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    return str(value).strip()


class _Row:
    """Problems of one row, collected instead of stopping at the first."""

    def __init__(self, number: int, problems: list[Problem]) -> None:
        self.number = number
        self.problems = problems
        self.failed = False

    def check(self, column: str, value: object, check: Any) -> Any:
        try:
            return check()
        except BillingKitError as exc:
            self.fail(column, value, exc.message)
            return None

    def fail(self, column: str, value: object, message: str) -> None:
        self.failed = True
        self.problems.append(Problem(self.number, column, safe_repr(value), message))


def _check_row(
    position: int, record: Mapping[str, object], known: dict[str, Any], meta: dict[str, Any]
) -> tuple[_Row, BatchRow | None, list[Problem]]:
    problems: list[Problem] = []
    row = _Row(position + FIRST_ROW, problems)
    for name, value in record.items():
        # Card numbers in any cell, kept columns too: the result file copies every column.
        if isinstance(value, str) and find_card_number(value) is not None:
            row.fail(
                str(name),
                value,
                "looks like a card number; Stripe forbids card data outside its card fields: "
                "remove it from the sheet.",
            )
    if row.failed:
        return row, None, problems

    def get(column: str) -> object:
        return record[known[column]] if column in known else None

    email = customer = None
    raw_email, raw_customer = get("email"), get("customer")
    if not _blank(raw_customer):
        text = _cell_text(raw_customer)
        customer = row.check(
            "customer",
            raw_customer,
            lambda: check_id("customer", text, ("cus_",), example="cus_NffrFeUfNV2Hib"),
        )
    if not _blank(raw_email):
        email = row.check("email", raw_email, lambda: normalise_email(_cell_text(raw_email)))
    if _blank(raw_customer) and _blank(raw_email):
        row.fail(
            "email" if "email" in known else "customer",
            raw_email if "email" in known else raw_customer,
            "no customer: fill in the email (found or created) or the cus_… id.",
        )
    raw_currency = get("currency")
    code = None
    if _blank(raw_currency):
        row.fail("currency", raw_currency, "empty: fill in a three-letter code such as usd.")
    else:
        info = row.check(
            "currency", raw_currency, lambda: currency_info(_cell_text(raw_currency) or "")
        )
        code = None if info is None else info.code
    raw_amount = get("amount")
    amount = None
    if _blank(raw_amount):
        row.fail("amount", raw_amount, "empty: fill in the amount, e.g. 12.50.")
    elif code is not None:
        amount = row.check("amount", raw_amount, lambda: _amount_value(raw_amount, code))
    payment_method = _cell_text(get("payment_method"))
    if payment_method is not None:
        row.check(
            "payment_method",
            payment_method,
            lambda: check_id("payment_method", payment_method, ("pm_",), example="pm_card_visa"),
        )
    description = _cell_text(get("description"))
    row.check("description", description, lambda: check_text("description", description))
    metadata_in = {key: _cell_text(record[name]) for key, name in meta.items()}
    metadata_in = {key: value for key, value in metadata_in.items() if value is not None}
    metadata = row.check("metadata", metadata_in, lambda: check_metadata(metadata_in))
    row_id = _cell_text(get("row_id"))
    if row.failed or code is None or amount is None or metadata is None:
        return row, None, problems
    checked = BatchRow(
        position=position,
        row=row.number,
        row_id=row_id or "",
        email=email,
        customer=customer,
        amount=amount,
        currency=code,
        payment_method=payment_method,
        description=description,
        metadata=metadata,
    )
    return row, checked, problems


def _content_id(row: BatchRow, occurrence: int) -> str:
    raw = json.dumps(
        [row.who, row.amount, row.currency, row.description, row.payment_method, row.metadata],
        sort_keys=True,
    )
    return f"row-{hashlib.sha256(raw.encode()).hexdigest()[:16]}-{occurrence}"


def check_sheet(frame: pd.DataFrame) -> SheetCheck:
    """Check every row of ``frame``; return the valid rows and every problem (none raised)."""
    result = SheetCheck(frame=frame)
    if frame.empty:
        result.problems.append(
            Problem(FIRST_ROW, "(all)", "(empty)", "the sheet has no rows to charge.")
        )
        return result
    known, meta, problems = _columns(frame)
    result.problems.extend(problems)
    if problems:
        result.invalid.update(range(len(frame)))
        return result
    seen_ids: dict[str, int] = {}
    seen_content: dict[tuple[object, ...], int] = {}
    occurrences: dict[tuple[object, ...], int] = {}
    columns = list(frame.columns)
    # Plain lists: iterating a frame's (Arrow-backed) columns cell by cell is many times slower.
    values_by_column = [frame[name].tolist() for name in columns]
    for position, values in enumerate(zip(*values_by_column, strict=True)):
        record = dict(zip(columns, values, strict=True))
        row, checked, found = _check_row(position, record, known, meta)
        if checked is not None:
            content = (checked.who, checked.amount, checked.currency, checked.description or "")
            occurrence = occurrences.get(content, 0)
            occurrences[content] = occurrence + 1
            if content in seen_content:
                row.fail(
                    "description",
                    checked.description,
                    f"same customer, amount, currency and description as row "
                    f"{seen_content[content]}: a row twice would charge twice. Delete one, or "
                    "tell them apart in the description.",
                )
            seen_content.setdefault(content, row.number)
            if checked.row_id:
                if checked.row_id in seen_ids:
                    row.fail(
                        "row_id",
                        checked.row_id,
                        f"row id also used by row {seen_ids[checked.row_id]}: row ids must be "
                        "unique within a sheet.",
                    )
                seen_ids.setdefault(checked.row_id, row.number)
            else:
                checked.row_id = _content_id(checked, occurrence)
        result.problems.extend(found)
        if row.failed or checked is None:
            result.invalid.add(position)
        else:
            result.rows.append(checked)
    return result
