"""The history browser: load a date range of charges, refunds, disputes or payouts, filter,
read the headline, chart and export.

Loading shows a progress bar *inside* the form: the history loader reports pages through a
callback that moves an ``IntProgress``; a bare tqdm bar started from a button callback would
land in the Log Console. Status, currency and search filters work on the loaded frame, so
changing them is instant; the kind and the time zone load again (the date range is read in the
zone). Every action replaces the previous message: a "Saved" line never outlives the selection
it was about."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import ipywidgets as W
import pandas as pd

from billing_kit.history._options import check_timezone
from billing_kit.widgets import charts as _charts
from billing_kit.widgets._emails import customer_emails
from billing_kit.widgets._form import Form, button, esc, message_html
from billing_kit.widgets._history_views import (
    VIEWS,
    ZONES,
    ProgressSlot,
    in_zone,
    readable_page,
    search,
    totals_html,
    with_emails,
)
from billing_kit.widgets._table import PagedTable
from billing_kit.widgets.export import export_csv, export_excel, new_path
from billing_kit.widgets.figures import headline, headline_html

if TYPE_CHECKING:
    from billing_kit._client import Client

__all__ = ["HistoryBrowser", "readable_page"]

TABLE_COLUMNS = VIEWS["charges"].columns
_STYLE = {"description_width": "80px"}


class HistoryBrowser(Form):
    """Browse history: kind, date range, filters, headline figures, table, charts, export.

    Parameters
    ----------
    client
        A connected :class:`billing_kit.Client` (the frames come from ``billing_kit.history``).
    days
        Length of the default date range, ending today.
    export_dir
        Folder the export buttons write into (created when needed).
    tz
        Time zone of the date range, the table and the exports (an IANA name; default UTC).
    """

    def __init__(
        self,
        client: Client,
        *,
        days: int = 30,
        export_dir: str | Path = "exports",
        tz: str = "UTC",
    ) -> None:
        super().__init__(client)
        check_timezone(tz)
        today = datetime.now(ZoneInfo(tz)).date()
        self.frame = pd.DataFrame()
        self.loaded_kind = "charges"
        self.loads = 0  # finished loads; a time-zone change reloads once something was loaded
        self._emails: dict[str, str] = {}
        self.exported: list[Path] = []
        self.kind = W.ToggleButtons(
            options=[(v.title, k) for k, v in VIEWS.items()], value="charges"
        )
        self.since = W.DatePicker(description="From", value=today - timedelta(days=days))
        self.until = W.DatePicker(description="To", value=today)
        zones = list(ZONES) if tz in ZONES else [tz, *ZONES]
        self.tz = W.Dropdown(description="Time zone", options=zones, value=tz)
        self.status = W.Dropdown(description="Status", options=VIEWS["charges"].statuses)
        self.currency = W.Dropdown(description="Currency", options=[("All", "")])
        self.search = W.Text(
            description="Search",
            placeholder="customer, email, description, id",
            continuous_update=False,
        )
        for control in (self.since, self.until, self.tz, self.status, self.currency, self.search):
            control.style = _STYLE
            control.layout = W.Layout(width="240px")
        self.search.layout.width = "360px"
        self.load_button = button("Load", button_style="primary", icon="download")
        self.progress = W.IntProgress(
            value=0, min=0, max=100, description="Loading", layout=W.Layout(width="360px")
        )
        self.progress_label = W.Label()
        self._slot = ProgressSlot(self.progress, self.progress_label)
        self.headline = W.HTML("<i>Press “Load”.</i>")
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
        self.kind.observe(self._handler(self._kind_changed), names="value")
        self.tz.observe(self._handler(self._reload_if_loaded), names="value")
        for control in (self.status, self.currency, self.search):
            control.observe(self._handler(self.refresh_view), names="value")
        self._finish(
            "History",
            [
                self.kind,
                W.HBox([self.since, self.until, self.tz]),
                W.HBox([self.status, self.currency, self.search]),
                W.HBox([self.load_button, self.progress, self.progress_label]),
                self.headline,
                self.tabs,
                W.HBox([self.export_dir, self.csv_button, self.excel_button]),
                self.export_result,
            ],
        )

    # ----------------------------------------------------------------- loading
    def _fresh(self) -> None:
        """Start an action: the previous action's messages go."""
        self.clear_error()
        self.export_result.value = ""

    def _range(self) -> tuple[datetime, datetime]:
        since: date | None = self.since.value
        until: date | None = self.until.value
        if since is None or until is None:
            raise ValueError("Pick both a From and a To date.")
        if since > until:
            raise ValueError(f"From {since} is after To {until}; swap them.")
        # Days are days of the chosen zone; the To day is included (up to the next midnight).
        zone = ZoneInfo(self.tz.value)
        start = datetime.combine(since, time(), tzinfo=zone)
        end = datetime.combine(until + timedelta(days=1), time(), tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def load(self) -> pd.DataFrame:
        """Load the chosen kind over the date range (progress shown in the form) and redraw."""
        self._fresh()
        view = VIEWS[self.kind.value]
        start, end = self._range()
        self.load_button.disabled = True
        self._slot.start(view.kind)
        try:
            frame = view.load(self.client, start, end, tz=self.tz.value, progress=self._slot)
        except Exception:
            self.progress.bar_style = "danger"
            self.progress_label.value = "failed"
            raise
        finally:
            self.load_button.disabled = False
        self._slot.finish(len(frame))
        self.loads += 1
        # People recognise customers by email; the table and the exports show it.
        wanted: list[str] = (
            list(frame["customer"].dropna().astype(str).unique())
            if "customer" in frame.columns
            else []
        )
        self._emails = customer_emails(self.client, wanted)
        self.frame, self.loaded_kind = with_emails(frame, self._emails), view.kind
        currencies = (
            sorted(frame["currency"].astype("string").dropna().unique()) if len(frame) else []
        )
        self.currency.options = [("All", "")] + [(str(c).upper(), str(c)) for c in currencies]
        self.table.columns = view.columns
        charting = view.kind == "charges"
        self.tabs.children = (
            (self.table.widget, *self.charts.values()) if charting else (self.table.widget,)
        )
        self.tabs.titles = ("Table", "Daily volume", "Declines", "Fees") if charting else ("Table",)
        self.refresh_view()
        return self.frame

    def _kind_changed(self) -> None:
        self.status.options = VIEWS[self.kind.value].statuses
        self.status.value = ""
        self.load()

    def _reload_if_loaded(self) -> None:
        check_timezone(self.tz.value)
        if self.loads:
            self.load()

    def _readable(self, page: pd.DataFrame) -> pd.DataFrame:
        return readable_page(page, self._emails)

    # ----------------------------------------------------------------- the view
    @property
    def value(self) -> pd.DataFrame:
        """The loaded rows after the status, currency and search filters, times in the zone."""
        frame: pd.DataFrame = self.frame
        if frame.empty:
            return frame
        if self.status.value:
            frame = frame[frame["status"].astype("string") == self.status.value]
        if self.currency.value:
            frame = frame[frame["currency"].astype("string") == self.currency.value]
        frame = search(frame, self.search.value, VIEWS[self.loaded_kind].searched)
        return in_zone(frame, self.tz.value)

    def figures(self) -> pd.DataFrame:
        """Headline figures of the filtered charges, one row per currency (minor units)."""
        return headline(self.value if self.loaded_kind == "charges" else pd.DataFrame())

    def refresh_view(self) -> None:
        """Redraw headline, table and charts from the loaded frame and the filters."""
        self.export_result.value = ""  # the last "Saved" was about another selection
        frame = self.value
        if self.loaded_kind == "charges":
            self.headline.value = headline_html(headline(frame))
            self.charts["daily"].value = _charts.to_png(_charts.daily_volume(frame))
            self.charts["declines"].value = _charts.to_png(_charts.decline_reasons(frame))
            self.charts["fees"].value = _charts.to_png(_charts.fees_over_time(frame))
        else:
            self.headline.value = totals_html(frame, VIEWS[self.loaded_kind].title)
        self.table.show(frame)

    # ----------------------------------------------------------------- export
    def _export_name(self, suffix: str) -> str:
        """A file name that says what is in the file: kind, range, zone and every filter."""
        since, until = self.since.value, self.until.value
        parts = [self.loaded_kind, f"{since:%Y-%m-%d}", f"{until:%Y-%m-%d}", self.tz.value]
        parts += [v for v in (self.status.value, self.currency.value) if v]
        if self.search.value.strip():
            parts.append("search-" + self.search.value.strip())
        name = "_".join(re.sub(r"[^A-Za-z0-9@.+-]+", "-", part).strip("-.") for part in parts)
        return name[:180] + suffix

    def export_csv(self, path: str | Path | None = None) -> Path:
        """Write the filtered rows to CSV (a new file; nothing is overwritten); return its path."""
        self._fresh()
        target = Path(path) if path else new_path(self._export_dir() / self._export_name(".csv"))
        return self._exported(export_csv(self.value, target))

    def export_excel(self, path: str | Path | None = None) -> Path:
        """Write the filtered rows to an Excel workbook (a new file); return its path."""
        self._fresh()
        target = Path(path) if path else new_path(self._export_dir() / self._export_name(".xlsx"))
        return self._exported(export_excel(self.value, target, sheet=self.loaded_kind))

    def _export_dir(self) -> Path:
        return Path(self.export_dir.value or ".")

    def _exported(self, path: Path) -> Path:
        self.exported.append(path)
        self.export_result.value = (
            message_html(f"Saved {len(self.value)} rows to {path}", ok=True)
            + f"<code style='font-size:11px'>{esc(path.resolve())}</code>"
        )
        return path
