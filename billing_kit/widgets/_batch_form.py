"""Charge a spreadsheet from a form: upload, see the problems and the totals, confirm, get results.

The form is a thin shell over :meth:`~billing_kit.Client.charge_batch`: the upload is saved under
the state folder (``<home>/batches/``), checked with ``dry_run=True`` (problems highlighted,
totals shown), and charged only after a click on Confirm — in live mode only once the total was
typed again. The batch to run waits in a :class:`~billing_kit.widgets._once.Waiting` slot, so a
double click on Confirm runs it once; running the same sheet again never charges a row twice.
"""

from __future__ import annotations

import base64
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import ipywidgets as W
import pandas as pd

from billing_kit._batch_result import BatchResult
from billing_kit.widgets._form import Form, esc, message_html
from billing_kit.widgets._once import Waiting
from billing_kit.widgets._table import PagedTable

if TYPE_CHECKING:
    from billing_kit._client import Client

__all__ = ["BatchChargeForm"]

_RESULT_COLUMNS = ("row", "status", "charge_id", "decline_code", "message")
_PROBLEM_COLUMNS = ("row", "column", "value", "message")
_STATUS_COLOURS = {"succeeded": "#1b7a1b", "declined": "#b36b00", "failed": "#b00020"}


class BatchChargeForm(Form):
    """Upload a CSV/XLSX of charges, check it, confirm, and watch it run.

    Parameters
    ----------
    client
        The client to charge with.

    Examples
    --------
    >>> form = BatchChargeForm(client)  # doctest: +SKIP
    >>> form.load("notebooks/data/sample_charges.csv")  # doctest: +SKIP
    >>> form.confirm()  # doctest: +SKIP
    """

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self._lock = threading.Lock()
        self.in_flight = False
        self.ignored_clicks = 0
        self._pending: Waiting[Path] = Waiting(self)
        self.folder = client.home / "batches"
        self.upload = W.FileUpload(accept=".csv,.xlsx", multiple=False, description="Sheet")
        self.skip_invalid = W.Checkbox(description="charge only the valid rows", indent=False)
        self.preview_area = W.HTML()
        self.problems = PagedTable(columns=_PROBLEM_COLUMNS, wrap=self._handler)
        self.retype = W.Text(description="Total", placeholder="type the total to confirm")
        self.retype.layout.display = "flex" if self.mode == "live" else "none"
        self.confirm_button = W.Button(description="Confirm and charge", button_style="danger")
        self.confirm_button.disabled = True
        self.output = W.Output()  # the progress bar
        self.result_area = W.HTML()
        self.results = PagedTable(
            columns=_RESULT_COLUMNS, wrap=self._handler, render=_with_row_numbers
        )
        self.download = W.HTML()
        self.result: BatchResult | None = None
        self._total = ""
        self.path: Path | None = None
        self.upload.observe(self._handler(self._uploaded), names="value")
        self.skip_invalid.observe(self._handler(self._recheck), names="value")
        self.confirm_button.on_click(self._handler(self.confirm))
        self._finish(
            "Charge a spreadsheet",
            [
                W.HBox([self.upload, self.skip_invalid]),
                self.preview_area,
                self.problems.widget,
                W.HBox([self.retype, self.confirm_button]),
                self.output,
                self.result_area,
                self.results.widget,
                self.download,
            ],
        )

    def _uploaded(self) -> None:
        files = self.upload.value
        if not files:
            return
        item = files[0]
        name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(str(item["name"])).name) or "sheet.csv"
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / name
        path.write_bytes(bytes(item["content"]))
        self.upload.value = ()  # so the same file can be uploaded again
        self.load(path)

    def _recheck(self) -> None:
        if self.path is not None:
            self.load(self.path)

    def load(self, path: str | Path) -> BatchResult:
        """Check the sheet at ``path`` and show problems and totals; return the dry run."""
        self.clear_error()
        self.result_area.value = ""
        self.path = Path(path)
        check = self.client.charge_batch(
            path, dry_run=True, skip_invalid=self.skip_invalid.value, progress=False
        )
        preview = check.preview
        assert preview is not None
        self.problems.show(check.problems)
        blocked = len(check.problems) > 0 and not self.skip_invalid.value
        if blocked:
            text = (
                f"{len(check.problems)} problem(s): fix the sheet and upload it again, or tick "
                "'charge only the valid rows'. Nothing will be sent."
            )
        elif preview.to_send == 0:
            text = f"Nothing to charge: {preview}. A new batch_id would charge the rows again."
        else:
            text = str(preview)
        self.preview_area.value = message_html(text, ok=not blocked)
        ready = not blocked and preview.to_send > 0
        self._total = "; ".join(preview.totals["total"])
        self._pending.put(Path(path) if ready else None)
        self.confirm_button.disabled = not ready
        return check

    def confirm(self) -> BatchResult | None:
        """Run the checked batch once; ``None`` when nothing waits or the total did not match."""
        path = self._pending.take(ready=self._total_matches)
        if path is None:
            return None
        self.confirm_button.disabled = True
        try:
            with self.output:
                result = self.client.charge_batch(
                    path, skip_invalid=self.skip_invalid.value, progress=True
                )
        finally:
            with self._lock:
                self.in_flight = False
        self._show(result, path)
        self.preview_area.value = message_html(
            f"Done: batch {result.batch_id}. Running the same sheet again charges no row twice.",
            ok=True,
        )
        return result

    def _total_matches(self, path: Path) -> bool:
        if self.mode != "live":
            return True
        if "".join(self.retype.value.split()).lower() == "".join(self._total.split()).lower():
            return True
        self.preview_area.value = message_html(
            f"Live mode: type the total ({self._total}) in the box to confirm; nothing was sent.",
            ok=False,
        )
        return False

    def _show(self, result: BatchResult, path: Path) -> None:
        self.result = result
        counts = result.frame["status"].value_counts()
        parts = [
            f"<span style='color:{_STATUS_COLOURS.get(str(s), '#333')}'>{esc(s)}: {n}</span>"
            for s, n in counts.items()
        ]
        note = f"<div>{esc(result.note)}</div>" if result.note else ""
        self.result_area.value = f"<div><b>Batch {esc(result.batch_id)}</b> · {' · '.join(parts)}"
        self.result_area.value += f"</div>{note}"
        self.results.show(result.frame)
        target = result.to_excel(path.with_name(f"{path.stem}-results.xlsx"))
        data = base64.b64encode(target.read_bytes()).decode()
        self.download.value = (
            f"<a download='{esc(target.name)}' href='data:application/vnd.openxmlformats-"
            f"officedocument.spreadsheetml.sheet;base64,{data}'>Download {esc(target.name)}</a>"
            f" (also saved as {esc(target)})"
        )


def _with_row_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """The spreadsheet's row numbers (header = row 1) next to each result."""
    return frame.assign(row=[int(i) + 2 for i in frame.index])
