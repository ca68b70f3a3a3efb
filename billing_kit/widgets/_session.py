"""The table of what this form did in this session (charges or refunds), shown under the form."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from billing_kit.widgets._form import esc


@dataclass(frozen=True)
class SessionRow:
    """One action taken from a form: when, on which object, for how much, and how it ended."""

    time: datetime
    customer: str
    amount: str
    paying_with: str
    charge_id: str
    status: str
    detail: str = ""


@dataclass
class SessionLog:
    """The rows of this session, oldest first, rendered as a small HTML table."""

    rows: list[SessionRow] = field(default_factory=list)

    def add(
        self,
        *,
        customer: str,
        amount: str,
        paying_with: str,
        charge_id: str,
        status: str,
        detail: str = "",
    ) -> SessionRow:
        """Record one action and return its row."""
        row = SessionRow(
            datetime.now(UTC), customer, amount, paying_with, charge_id, status, detail
        )
        self.rows.append(row)
        return row

    def html(self, *, refunds: bool = False) -> str:
        """Return the rows as an HTML table (or a short note when there are none)."""
        if not self.rows:
            return "<i class='bk-session-empty'>Nothing yet in this session.</i>"
        head = ("Time (UTC)", "Customer", "Amount", "Paying with", "Charge", "Status", "Detail")
        if refunds:
            head = ("Time (UTC)", "Customer", "Amount", "Of charge", "Refund", "Status", "Reason")
        cells = "".join(
            f"<th style='text-align:left;padding:2px 8px;white-space:nowrap'>{h}</th>" for h in head
        )
        body = []
        for row in self.rows:
            colour = "#1b7a1b" if row.status in {"succeeded", "pending"} else "#b00020"
            values = (
                f"{row.time:%H:%M:%S}",
                esc(row.customer),
                esc(row.amount),
                esc(row.paying_with),
                f"<code>{esc(row.charge_id)}</code>",
                f"<span style='color:{colour}'>{esc(row.status)}</span>",
                esc(row.detail),
            )
            body.append(
                "<tr>" + "".join(f"<td style='padding:2px 8px'>{v}</td>" for v in values) + "</tr>"
            )
        return f"<table class='bk-session'><tr>{cells}</tr>{''.join(body)}</table>"
