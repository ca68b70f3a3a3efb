"""The spreadsheet notebook in JupyterLab: upload a sheet, double-click Confirm, read the results.

Opens 05_charge_a_spreadsheet.ipynb, runs all cells, uploads a CSV through the form's file input,
double-clicks "Confirm and charge" and checks the result table and the sandbox: one charge per row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import billing_kit
from tests.browser.steps import explained, open_notebook, run_all, shot
from tests.browser.test_charge_notebook import _run_new_cell

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

NOTEBOOK = "05_charge_a_spreadsheet.ipynb"


def test_upload_confirm_once_and_read_the_results(lab: Any, page: Any, tmp_path: Path) -> None:
    with explained(page, lab.log, "batch-notebook"):
        _upload_and_confirm(lab, page, tmp_path)


def _upload_and_confirm(lab: Any, page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    sheet = tmp_path / "upload.csv"
    sheet.write_text(
        "email,amount,currency,payment_method,description\n"
        + "".join(f"up{i}@example.com,{10 + i}.00,usd,pm_card_visa,Upload {i}\n" for i in range(3))
    )
    open_notebook(page, lab, NOTEBOOK)
    run_all(page)
    # The last cells print the note of the re-run.
    expect(page.locator(".jp-OutputArea-output", has_text="no row left to send")).to_be_visible()
    form = page.locator(".bk-form").first
    expect(form).to_contain_text("problem(s)")  # the sample sheet's bad rows, before the upload
    # ipywidgets' FileUpload keeps its <input type=file> out of the page: it opens a file chooser.
    with page.expect_file_chooser() as chooser:
        form.locator(".widget-upload").click()
    chooser.value.set_files(str(sheet))
    expect(form).to_contain_text("3 to charge", timeout=60_000)
    confirm = page.get_by_role("button", name="Confirm and charge")
    expect(confirm).to_be_enabled()
    confirm.dblclick()
    expect(form).to_contain_text("succeeded: 3", timeout=90_000)
    expect(form.locator(".bk-table").last).to_contain_text("succeeded")
    expect(form.locator("a[download]")).to_contain_text("upload-results.xlsx")
    shot(form, "batch-form-results")

    _run_new_cell(page, "print('ignored clicks:', form.ignored_clicks)")
    ignored = page.locator(".jp-OutputArea-output", has_text="ignored clicks:")
    expect(ignored).to_be_visible(timeout=30_000)
    assert ignored.inner_text().strip() == "ignored clicks: 1"
    expect(page.locator(".bk-error")).to_have_count(0)

    client = billing_kit.connect(home=lab.home)
    uploaded = [
        c for c in client.recent_charges(limit=100) if (c.description or "").startswith("Upload")
    ]
    assert sorted(c.description for c in uploaded) == ["Upload 0", "Upload 1", "Upload 2"]
    assert all(c.status == "succeeded" for c in uploaded)
