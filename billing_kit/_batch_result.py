"""What a batch did (or, in a dry run, would do): one status per input row, a summary, files.

Statuses, exactly one per row:

``succeeded``
    Charged in this run (``charge_id`` is the ``ch_…``).
``declined``
    The card was declined (``decline_code``), in this run or an earlier run of the batch.
``failed``
    Not charged: Stripe refused the request, the customer has no payment method, or the row's
    outcome is unknown (retries ran out, the run was interrupted). :attr:`BatchResult.unfinished`
    lists the unknown ones; running the same batch again finishes them, never twice.
``invalid``
    The row did not pass the checks (``message`` says which column and how to fix it).
``already_charged``
    Charged in an earlier run of this batch (or of another batch, or within the duplicate window):
    ``charge_id`` is that charge, nothing was sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd

from billing_kit._batch_rows import BatchRow
from billing_kit._excel import excel_safe
from billing_kit._money import format_amount, to_major

__all__ = ["STATUSES", "BatchResult", "Outcome", "Preview"]

STATUSES = ("succeeded", "declined", "failed", "invalid", "already_charged")
RESULT_COLUMNS = ("status", "charge_id", "decline_code", "message", "idempotency_key")


@dataclass(frozen=True, slots=True)
class Outcome:
    """The status of one row; ``unknown`` when a re-run of the batch must finish it."""

    status: str
    charge_id: str | None = None
    decline_code: str | None = None
    message: str | None = None
    idempotency_key: str | None = None
    unknown: bool = False


@dataclass
class Preview:
    """What a live run would do (``dry_run=True``)."""

    rows: int
    to_send: int
    invalid: int
    already_charged: int
    totals: pd.DataFrame
    new_customers: int
    existing_customers: int
    largest: pd.DataFrame

    def __str__(self) -> str:
        totals = ", ".join(
            f"{n} × {c.upper()} = {t}"
            for c, n, t in zip(
                self.totals["currency"], self.totals["rows"], self.totals["total"], strict=True
            )
        )
        return (
            f"{self.rows} rows: {self.to_send} to charge ({totals or 'nothing'}), "
            f"{self.invalid} invalid, {self.already_charged} already charged; customers: "
            f"{self.existing_customers} existing, {self.new_customers} new"
        )


def totals(rows: list[BatchRow]) -> pd.DataFrame:
    """Rows and total per currency, exact (``amount`` a Decimal in major units)."""
    sums: dict[str, list[int]] = {}
    for row in rows:
        count_total = sums.setdefault(row.currency, [0, 0])
        count_total[0] += 1
        count_total[1] += row.amount
    return pd.DataFrame(
        [
            (code, n, to_major(minor, code), format_amount(minor, code))
            for code, (n, minor) in sorted(sums.items())
        ],
        columns=["currency", "rows", "amount", "total"],
    )


def largest(rows: list[BatchRow], count: int = 5) -> pd.DataFrame:
    """The ``count`` largest amounts of each currency: row, customer, amount."""
    picked = []
    for code in sorted({row.currency for row in rows}):
        mine = sorted((r for r in rows if r.currency == code), key=lambda r: -r.amount)
        picked += [(r.row, r.who, format_amount(r.amount, code)) for r in mine[:count]]
    return pd.DataFrame(picked, columns=["row", "customer", "amount"])


@dataclass
class BatchResult:
    """The result of :meth:`~billing_kit.Client.charge_batch`.

    Attributes
    ----------
    batch_id
        The batch's id; pass it again (or the same sheet) to resume the batch.
    frame
        One row per input row: the input columns, then ``status``, ``charge_id``,
        ``decline_code``, ``message`` and ``idempotency_key``. A dry run leaves ``status``
        empty for the rows it would send.
    problems
        Every validation problem: ``row``, ``column``, ``value``, ``message``.
    preview
        In a dry run, what a live run would do; else ``None``.
    interrupted
        ``True`` when Ctrl-C stopped the run (rows not sent are ``failed``, in :attr:`unfinished`).
    note
        A sentence for the analyst, e.g. that a finished batch charged nothing.
    """

    batch_id: str
    frame: pd.DataFrame
    problems: pd.DataFrame
    rows: list[BatchRow] = field(repr=False, default_factory=list)
    preview: Preview | None = None
    interrupted: bool = False
    note: str = ""
    dry_run: bool = False
    unknown: list[int] = field(repr=False, default_factory=list)

    def __repr__(self) -> str:
        counts = self.frame["status"].value_counts().to_dict() if len(self.frame) else {}
        shown = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        return f"<BatchResult batch_id={self.batch_id!r} rows={len(self.frame)} {shown}>"

    @property
    def unfinished(self) -> pd.DataFrame:
        """Rows whose outcome is not final yet: run the same batch again to finish them."""
        return self.frame.iloc[sorted(self.unknown)]

    @property
    def summary(self) -> pd.DataFrame:
        """Rows and exact amounts per status and currency (``amount`` a Decimal in major units)."""
        by_position = {row.position: row for row in self.rows}
        groups: dict[tuple[str, str], list[int]] = {}
        for position, status in enumerate(self.frame["status"]):
            if not isinstance(status, str):
                continue
            row = by_position.get(position)
            code = row.currency if row is not None else ""
            entry = groups.setdefault((status, code), [0, 0])
            entry[0] += 1
            entry[1] += row.amount if row is not None else 0
        records = [
            (
                status,
                code or None,
                n,
                to_major(minor, code) if code else Decimal(0),
                format_amount(minor, code) if code else "",
            )
            for (status, code), (n, minor) in sorted(
                groups.items(), key=lambda item: (STATUSES.index(item[0][0]), item[0][1])
            )
        ]
        return pd.DataFrame(records, columns=["status", "currency", "rows", "amount", "total"])

    def to_csv(self, path: str | Path) -> Path:
        """Write the result table to ``path`` (``.csv``, UTF-8); return the path."""
        target = Path(path)
        self.frame.to_csv(target, index=False)
        return target

    def to_excel(self, path: str | Path) -> Path:
        """Write the result table and the summary to ``path`` (``.xlsx``); return the path."""
        target = Path(path)
        summary = self.summary.assign(amount=lambda f: f["amount"].map(str))
        with pd.ExcelWriter(target, engine="openpyxl") as writer:
            results = excel_safe(self.frame.astype(object))
            results.to_excel(writer, sheet_name="results", index=False)
            excel_safe(summary).to_excel(writer, sheet_name="summary", index=False)
            if len(self.problems):
                excel_safe(self.problems).to_excel(writer, sheet_name="problems", index=False)
        return target


def result_frame(frame: pd.DataFrame, outcomes: dict[int, Outcome]) -> pd.DataFrame:
    """The input frame with the result columns appended (an input column of the same name is
    kept, renamed ``<name> (input)``)."""
    out = frame.copy()
    out.columns = [
        f"{name} (input)" if str(name) in RESULT_COLUMNS else name for name in out.columns
    ]
    empty = Outcome(status="")
    picked = [outcomes.get(position, empty) for position in range(len(out))]
    for column in RESULT_COLUMNS:
        values = [getattr(o, column) for o in picked]
        out[column] = pd.array([v if v else None for v in values], dtype="string")
    return out
