"""A paged, sortable HTML table widget for a DataFrame that needs no JavaScript and no network.

itables needs its JavaScript to run inside the output; an ``ipywidgets.HTML`` never runs
scripts. This table is plain HTML redrawn by the kernel, so it works offline, in tests and in
any frontend."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ipywidgets as W
import pandas as pd

from billing_kit.widgets._form import button, esc


class PagedTable:
    """Show a frame one page at a time, sorted by a chosen column.

    Parameters
    ----------
    columns
        Columns to show, in order; columns missing from a frame are skipped.
    page_size
        Rows per page.
    """

    def __init__(
        self,
        *,
        columns: Sequence[str],
        page_size: int = 15,
        render: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
        wrap: Callable[[Callable[[], object]], Callable[..., None]] | None = None,
    ) -> None:
        self.columns = tuple(columns)
        self.page_size = page_size
        # Formats one page for people (sorting happens before, on the raw values).
        self.render = render
        self.frame = pd.DataFrame()
        self.page = 0
        # Wide pages scroll sideways inside the form instead of being cut off.
        self.html = W.HTML(layout=W.Layout(overflow="auto", width="100%"))
        self.sort_by = W.Dropdown(description="Sort by", options=["created"], value="created")
        self.descending = W.Checkbox(description="newest / largest first", value=True, indent=False)
        self.prev_button = button("◀ Previous")
        self.next_button = button("Next ▶")
        self.position = W.Label()
        # The owning form passes its error-showing wrapper, so a failure lands in the form.
        guard = wrap or _plain
        self.prev_button.on_click(guard(lambda: self.go(self.page - 1)))
        self.next_button.on_click(guard(lambda: self.go(self.page + 1)))
        self.sort_by.observe(guard(lambda: self.go(0)), names="value")
        self.descending.observe(guard(lambda: self.go(0)), names="value")
        self.widget = W.VBox(
            [
                W.HBox([self.sort_by, self.descending]),
                self.html,
                W.HBox([self.prev_button, self.position, self.next_button]),
            ]
        )

    @property
    def pages(self) -> int:
        """Number of pages (at least one)."""
        return max(1, -(-len(self.frame) // self.page_size))

    def show(self, frame: pd.DataFrame) -> None:
        """Replace the frame and go back to the first page."""
        self.frame = frame
        shown = [c for c in self.columns if c in frame.columns]
        current = self.sort_by.value if self.sort_by.value in shown else None
        self.sort_by.options = shown or ["created"]
        self.sort_by.value = current or (shown[0] if shown else "created")
        self.go(0)

    def go(self, page: int) -> None:
        """Show page number ``page`` (0-based, clamped to the pages that exist)."""
        self.page = min(max(page, 0), self.pages - 1)
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= self.pages - 1
        self.position.value = f"page {self.page + 1} of {self.pages} · {len(self.frame)} rows"
        self.html.value = self.page_html()

    def page_html(self) -> str:
        """The current page as an HTML table."""
        if self.frame.empty:
            return "<i>No rows.</i>"
        frame = self.frame
        if self.sort_by.value in frame.columns:
            frame = frame.sort_values(
                self.sort_by.value, ascending=not self.descending.value, na_position="last"
            )
        start = self.page * self.page_size
        part = frame.iloc[start : start + self.page_size]
        if self.render is not None:
            part = self.render(part)
        # Columns are picked after rendering, which may add display-only columns.
        shown = [c for c in self.columns if c in part.columns]
        if not shown:
            return "<i>No rows.</i>"
        part = part[shown]
        head = "".join(
            f"<th style='text-align:left;padding:2px 8px;white-space:nowrap'>{esc(c)}</th>"
            for c in shown
        )
        rows = []
        for values in part.itertuples(index=False):
            tds = "".join(
                f"<td style='padding:2px 8px;white-space:nowrap'>{esc(_cell(v))}</td>"
                for v in values
            )
            rows.append(f"<tr>{tds}</tr>")
        return (
            "<table class='bk-table' style='border-collapse:collapse;font-size:12px'>"
            f"<tr style='border-bottom:1px solid #999'>{head}</tr>{''.join(rows)}</table>"
        )


def _plain(action: Callable[[], object]) -> Callable[..., None]:
    def callback(*_args: object) -> None:
        action()

    return callback


def _cell(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)
