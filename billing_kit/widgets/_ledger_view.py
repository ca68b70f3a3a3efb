"""The ledger view: every charge, capture and refund attempt this toolkit made, with its proof.

The ledger (:class:`billing_kit.Ledger`) writes a row *before* each request: its idempotency key,
what was asked, and later Stripe's id and the outcome. This view reads ``client.ledger.frame()``
and filters it by outcome, mode, kind and date. An attempt still ``pending`` had no answer (the
kernel stopped, the network failed): it is listed on top with what to do, because running the
same operation again resends it under the same key and Stripe performs it at most once
(https://docs.stripe.com/api/idempotent_requests)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import ipywidgets as W
import pandas as pd

from billing_kit._money import format_amount
from billing_kit.widgets._form import BAD_COLOUR, Form, button, esc
from billing_kit.widgets._table import PagedTable

if TYPE_CHECKING:
    from billing_kit._client import Client

LEDGER_COLUMNS = (
    "attempt", "created_at", "kind", "mode", "outcome", "amount", "customer", "idempotency_key",
    "stripe_id", "charge_id", "error",
)  # fmt: skip
_STYLE = {"description_width": "70px"}

# What an analyst does about an attempt in each state; "pending" is the one that needs them.
ADVICE = {
    "pending": (
        "No answer was recorded. Run the same operation again (the form's button, or the same "
        "client call): it is resent under this idempotency key, so Stripe performs it at most "
        "once. Or look the key up in the Stripe dashboard (metadata bk_attempt)."
    ),
    "abandoned": (
        "Given up without an answer and not found in Stripe: nothing was charged. Charge again "
        "if it is still owed."
    ),
}


def _options(frame: pd.DataFrame, column: str) -> list[tuple[str, str]]:
    values = sorted(frame[column].dropna().astype(str).unique()) if len(frame) else []
    return [("All", "")] + [(v, v) for v in values]


class LedgerView(Form):
    """Browse the audit ledger: filters, one row per attempt, pending attempts on top.

    Parameters
    ----------
    client
        A connected :class:`billing_kit.Client`; its :attr:`~billing_kit.Client.ledger` is read.
    all_namespaces
        Show the attempts of every account and mode sharing the ledger file, not only this
        client's.

    Examples
    --------
    >>> view = LedgerView(client)          # doctest: +SKIP
    >>> view.outcome.value = "pending"     # doctest: +SKIP
    """

    def __init__(self, client: Client, *, all_namespaces: bool = False) -> None:
        super().__init__(client)
        self.all_namespaces = all_namespaces
        self.frame = pd.DataFrame()
        self.outcome = W.Dropdown(description="Outcome", options=[("All", "")])
        self.mode_filter = W.Dropdown(description="Mode", options=[("All", "")])
        self.kind = W.Dropdown(description="Kind", options=[("All", "")])
        self.since = W.DatePicker(description="From", value=None)
        self.until = W.DatePicker(description="To", value=None)
        for control in (self.outcome, self.mode_filter, self.kind, self.since, self.until):
            control.style, control.layout = _STYLE, W.Layout(width="220px")
        self.reload_button = button("Reload ledger", icon="refresh")
        self.pending = W.HTML()
        self.pending.add_class("bk-pending")
        self.summary = W.Label()
        self.table = PagedTable(columns=LEDGER_COLUMNS, render=self._readable, wrap=self._handler)
        self.table.sort_by.options = ["created_at"]
        self.table.sort_by.value = "created_at"
        self.reload_button.on_click(self._handler(self.reload))
        for control in (self.outcome, self.mode_filter, self.kind, self.since, self.until):
            control.observe(self._handler(self.refresh_view), names="value")
        self._finish(
            "Ledger: every charge, capture and refund attempt",
            [
                W.HBox([self.outcome, self.mode_filter, self.kind]),
                W.HBox([self.since, self.until, self.reload_button]),
                self.pending,
                self.summary,
                self.table.widget,
            ],
        )
        self._handler(self.reload)()

    def reload(self) -> pd.DataFrame:
        """Read the ledger again and redraw; filters keep their choice where it still exists."""
        self.clear_error()
        frame = self.client.ledger.frame(all_namespaces=self.all_namespaces)
        self.frame = frame
        for control, column in (
            (self.outcome, "outcome"), (self.mode_filter, "mode"), (self.kind, "kind"),
        ):  # fmt: skip
            keep = control.value
            control.options = _options(frame, column)
            control.value = keep if keep in [v for _, v in control.options] else ""
        self.refresh_view()
        return frame

    @property
    def value(self) -> pd.DataFrame:
        """The ledger rows that pass the filters (index: the attempt number)."""
        frame = self.frame
        if frame.empty:
            return frame
        for control, column in (
            (self.outcome, "outcome"), (self.mode_filter, "mode"), (self.kind, "kind"),
        ):  # fmt: skip
            if control.value:
                frame = frame[frame[column] == control.value]
        since: date | None = self.since.value
        until: date | None = self.until.value
        if since is not None and until is not None and since > until:
            raise ValueError(f"From {since} is after To {until}; swap them.")
        if since is not None:
            frame = frame[frame["created_at"] >= datetime.combine(since, time(), tzinfo=UTC)]
        if until is not None:
            end = datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC)
            frame = frame[frame["created_at"] < end]
        return frame

    def refresh_view(self) -> None:
        """Redraw the pending list, the counts and the table from the loaded ledger."""
        frame = self.value
        self.table.show(frame.reset_index())
        counts = frame["outcome"].value_counts() if len(frame) else pd.Series(dtype="int64")
        parts = ", ".join(f"{int(n)} {name}" for name, n in counts.items())
        self.summary.value = f"{len(frame)} attempts" + (f" ({parts})" if parts else "")
        self.pending.value = self._pending_html(frame)

    def _pending_html(self, frame: pd.DataFrame) -> str:
        if frame.empty:
            return ""
        waiting = frame[frame["outcome"] == "pending"]
        if waiting.empty:
            return ""
        items = []
        for attempt, row in waiting.iterrows():
            items.append(
                f"<li>Attempt {esc(attempt)}: {esc(row['kind'])} of {esc(_money(row))} "
                f"to {esc(_text(row['customer']))}, started {row['created_at']:%Y-%m-%d %H:%M} "
                f"UTC, key <code>{esc(row['idempotency_key'])}</code>"
                f"{_error_note(row)}</li>"
            )
        return (
            f"<div class='bk-pending' style='border:2px solid {BAD_COLOUR};background:#fff4f4;"
            f"padding:6px;border-radius:4px'><b style='color:{BAD_COLOUR}'>⚠ {len(waiting)} "
            f"attempt(s) pending — outcome unknown.</b> {esc(ADVICE['pending'])}"
            f"<ul style='margin:4px 0'>{''.join(items)}</ul></div>"
        )

    def _readable(self, page: pd.DataFrame) -> pd.DataFrame:
        out = page.copy()
        out["created_at"] = out["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
        out["amount"] = [_money(row) for _, row in page.iterrows()]
        out["outcome"] = [
            f"⚠ {o}" if o == "pending" else _text(o) for o in page["outcome"].astype(object)
        ]
        out["error"] = [
            _text(row["decline_code"]) or _text(row["error_code"]) for _, row in page.iterrows()
        ]
        return out


def _text(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def _money(row: pd.Series) -> str:
    amount, currency = row["amount"], row["currency"]
    if pd.isna(amount) or pd.isna(currency):
        return ""
    return format_amount(int(amount), str(currency))


def _error_note(row: pd.Series) -> str:
    message = _text(row["error_message"])
    return f"; last error: {esc(message)}" if message else ""
