"""The history browser: load a date range of charges, filter, read the headline, chart and export.

Loading shows a progress bar *inside* the form: the history loader reports pages through a
callback that moves an ``IntProgress``; a bare tqdm bar started from a button callback would
land in the Log Console. Status and currency filters work on the loaded frame, so changing them
is instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import ipywidgets as W
import pandas as pd

from billing_kit import history
from billing_kit._money import format_amount
from billing_kit.history import ProgressUpdate
from billing_kit.widgets import charts as _charts
from billing_kit.widgets._form import Form, button, esc, message_html
from billing_kit.widgets._table import PagedTable
from billing_kit.widgets.export import export_csv, export_excel
from billing_kit.widgets.figures import headline, headline_html

if TYPE_CHECKING:
    from billing_kit._client import Client

# What the table shows; "refunded" and "card" are display columns made by readable_page().
TABLE_COLUMNS = (
    "created", "id", "status", "amount", "refunded", "fee", "customer", "card", "decline_code",
    "description",
)  # fmt: skip
STATUSES = (("All", ""), ("Succeeded", "succeeded"), ("Failed", "failed"), ("Pending", "pending"))
_STYLE = {"description_width": "80px"}


def readable_page(page: pd.DataFrame) -> pd.DataFrame:
    """Format one page of charges for people: amounts with their currency, times to the minute.

    Adds the display columns ``refunded`` (from ``amount_refunded_minor``) and ``card`` (brand and
    last four digits); sorting happens before, on the raw columns.
    """
    out = page.copy()
    if "created" in out.columns:
        out["created"] = out["created"].dt.strftime("%Y-%m-%d %H:%M")
    money = (
        ("amount", "amount_minor", "currency"),
        ("refunded", "amount_refunded_minor", "currency"),
        ("fee", "fee_minor", "settlement_currency"),
    )
    for column, minor, currency in money:
        if minor in out.columns and currency in out.columns:
            out[column] = [
                "" if pd.isna(m) or pd.isna(c) else format_amount(int(m), str(c))
                for m, c in zip(out[minor], out[currency], strict=True)
            ]
    if "brand" in out.columns and "last4" in out.columns:
        out["card"] = [
            "" if pd.isna(brand) else f"{brand} ····{'' if pd.isna(last4) else last4}"
            for brand, last4 in zip(out["brand"], out["last4"], strict=True)
        ]
    return out


class _ProgressSlot:
    """Feeds the loader's progress reports into an ``IntProgress`` and a label inside the form.

    The loader pulls time slices in parallel and reports which share of the date range is done;
    the bar shows that share (0-100 %), the label the rows and pages so far.
    """

    def __init__(self, bar: W.IntProgress, label: W.Label) -> None:
        self.bar, self.label = bar, label
        self.reports = 0

    def start(self) -> None:
        self.reports = 0
        self.bar.value, self.bar.max, self.bar.bar_style = 0, 100, "info"
        self.label.value = "starting…"

    def __call__(self, update: ProgressUpdate) -> None:
        """Show one :class:`~billing_kit.history.ProgressUpdate` from the loader."""
        self.reports += 1
        self.bar.value = round(100 * update.covered)
        estimate = update.estimated_total
        about = f" of about {estimate}" if estimate is not None and not update.done else ""
        self.label.value = f"{update.rows}{about} charges · {update.pages} pages"

    def finish(self, rows: int) -> None:
        self.bar.value = self.bar.max
        self.bar.bar_style = "success"
        self.label.value = f"done: {rows} charges"


class HistoryBrowser(Form):
    """Browse charge history: date range, filters, headline figures, table, charts, export.

    Parameters
    ----------
    client
        A connected :class:`billing_kit.Client` (the frames come from ``client.charges_frame``).
    days
        Length of the default date range, ending today (UTC).
    export_dir
        Folder the export buttons write into (created when needed).
    """

    def __init__(
        self, client: Client, *, days: int = 30, export_dir: str | Path = "exports"
    ) -> None:
        super().__init__(client)
        today = datetime.now(UTC).date()
        self.frame = pd.DataFrame()
        self._emails: dict[str, str] = {}
        self.exported: list[Path] = []
        self.since = W.DatePicker(description="From", value=today - timedelta(days=days))
        self.until = W.DatePicker(description="To", value=today)
        self.status = W.Dropdown(description="Status", options=list(STATUSES))
        self.currency = W.Dropdown(description="Currency", options=[("All", "")])
        for control in (self.since, self.until, self.status, self.currency):
            control.style = _STYLE
            control.layout = W.Layout(width="240px")
        self.load_button = button("Load charges", button_style="primary", icon="download")
        self.progress = W.IntProgress(
            value=0, min=0, max=100, description="Loading", layout=W.Layout(width="360px")
        )
        self.progress_label = W.Label()
        self._slot = _ProgressSlot(self.progress, self.progress_label)
        self.headline = W.HTML("<i>Press “Load charges”.</i>")
        self.table = PagedTable(columns=TABLE_COLUMNS, render=self._readable, wrap=self._handler)
        self.charts = {
            "daily": W.Image(format="png"),
            "declines": W.Image(format="png"),
            "fees": W.Image(format="png"),
        }
        for image in self.charts.values():
            image.layout = W.Layout(max_width="820px")
        self.tabs = W.Tab(
            [self.table.widget, *self.charts.values()],
            titles=("Table", "Daily volume", "Declines", "Fees"),
        )
        self.export_dir = W.Text(description="Export to", value=str(export_dir), style=_STYLE)
        self.csv_button = button("Export CSV", icon="file")
        self.excel_button = button("Export Excel", icon="file-excel")
        self.export_result = W.HTML()

        self.load_button.on_click(self._handler(self.load))
        self.csv_button.on_click(self._handler(self.export_csv))
        self.excel_button.on_click(self._handler(self.export_excel))
        for control in (self.status, self.currency):
            control.observe(self._handler(self.refresh_view), names="value")
        self._finish(
            "Charge history",
            [
                W.HBox([self.since, self.until]),
                W.HBox([self.status, self.currency]),
                W.HBox([self.load_button, self.progress, self.progress_label]),
                self.headline,
                self.tabs,
                W.HBox([self.export_dir, self.csv_button, self.excel_button]),
                self.export_result,
            ],
        )

    def _range(self) -> tuple[datetime, datetime]:
        since: date | None = self.since.value
        until: date | None = self.until.value
        if since is None or until is None:
            raise ValueError("Pick both a From and a To date.")
        if since > until:
            raise ValueError(f"From {since} is after To {until}; swap them.")
        # The To day is included: load up to the start of the next day.
        start = datetime.combine(since, time(), tzinfo=UTC)
        end = datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC)
        return start, end

    def load(self) -> pd.DataFrame:
        """Load the charges of the date range (progress shown in the form) and redraw everything."""
        start, end = self._range()
        self.load_button.disabled = True
        self._slot.start()
        try:
            frame = history.charges_frame(self.client, start, end, progress=self._slot)
        except Exception:
            self.progress.bar_style = "danger"
            self.progress_label.value = "failed"
            raise
        finally:
            self.load_button.disabled = False
        self.frame = frame
        self._slot.finish(len(frame))
        # People recognise customers by email; the table shows it where the account knows it.
        self._emails = {c.id: c.email for c in self.client.customers(limit=100) if c.email}
        currencies = (
            sorted(frame["currency"].astype("string").dropna().unique()) if len(frame) else []
        )
        self.currency.options = [("All", "")] + [(str(c).upper(), str(c)) for c in currencies]
        self.clear_error()
        self.refresh_view()
        return frame

    def _readable(self, page: pd.DataFrame) -> pd.DataFrame:
        out = readable_page(page)
        if "customer" in out.columns:
            out["customer"] = [
                self._emails.get(str(c), str(c)) if not pd.isna(c) else "" for c in out["customer"]
            ]
        return out

    @property
    def value(self) -> pd.DataFrame:
        """The loaded charges after the status and currency filters."""
        frame: pd.DataFrame = self.frame
        if frame.empty:
            return frame
        if self.status.value:
            frame = frame[frame["status"].astype("string") == self.status.value]
        if self.currency.value:
            frame = frame[frame["currency"].astype("string") == self.currency.value]
        return frame

    def figures(self) -> pd.DataFrame:
        """Headline figures of the filtered charges, one row per currency (minor units)."""
        return headline(self.value)

    def refresh_view(self) -> None:
        """Redraw headline, table and charts from the loaded frame and the filters."""
        frame = self.value
        self.headline.value = headline_html(self.figures())
        self.table.show(frame)
        self.charts["daily"].value = _charts.to_png(_charts.daily_volume(frame))
        self.charts["declines"].value = _charts.to_png(_charts.decline_reasons(frame))
        self.charts["fees"].value = _charts.to_png(_charts.fees_over_time(frame))

    def _export_path(self, suffix: str) -> Path:
        start, end = self._range()
        name = f"charges_{start:%Y-%m-%d}_{(end - timedelta(days=1)):%Y-%m-%d}{suffix}"
        return Path(self.export_dir.value or ".") / name

    def export_csv(self, path: str | Path | None = None) -> Path:
        """Write the filtered charges to CSV and return the file's path."""
        return self._exported(export_csv(self.value, path or self._export_path(".csv")))

    def export_excel(self, path: str | Path | None = None) -> Path:
        """Write the filtered charges to an Excel workbook and return the file's path."""
        return self._exported(export_excel(self.value, path or self._export_path(".xlsx")))

    def _exported(self, path: Path) -> Path:
        self.exported.append(path)
        self.export_result.value = (
            message_html(f"Saved {len(self.value)} rows to {path}", ok=True)
            + f"<code style='font-size:11px'>{esc(path.resolve())}</code>"
        )
        return path
