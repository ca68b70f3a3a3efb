"""Steps the JupyterLab browser tests share: open and run a notebook, fill widgets, screenshots,
and failures that explain themselves.

Why the waits are where they are:

* **The kernel is never swapped under the notebook.** With ``autoStartDefaultKernel`` (the old
  settings), a Run All that came before the page had attached its kernel made JupyterLab start
  the default kernel again and swap the kernel connection; that resets ipywidgets' manager, so a
  form rendered before no longer hears its kernel (clicks and results lost) or renders as
  "model not found", and pending requests fail with "Canceled future". That is how
  ``Charged $12.50`` once never appeared. Now the kernel is started before the page opens
  (:func:`start_kernel`), the test waits for the status bar to show it idle, and if a Run All
  still comes too early JupyterLab asks "Select Kernel": the test dismisses it without choosing
  (choosing would swap the kernel) and runs again.
* **Run All, then everything settles.** The first Run All of a lab starts the kernel (imports)
  and the first ``connect()`` starts the shared sandbox, which seeds its 3,000-charge history:
  that wait is genuinely long on a loaded 2-core machine, hence ``FIRST_START``. Right after a
  kernel starts, JupyterLab replaces its first kernel websocket (the server then logs a 500
  ``'NoneType' object has no attribute 'kernel_ws_protocol'``, jupyter_server issue 1265) and
  cancels the requests sent on it: a Run All in that window is lost, its prompts go back to
  ``[ ]`` even after showing ``[*]``. So the test does not stop looking once a cell has started;
  it waits until every code cell shows an execution count with nothing queued and the kernel
  idle, and runs again only a run that was lost. Only then does it touch a widget, so no click
  queues behind cells, and no late run replaces the form under the test's hands.
* **A typed value reaches the kernel before the click that reads it.** ipywidgets sends at most
  one state update per widget until the kernel has answered it and holds later values back, but
  sends a button click at once; so a click can overtake a value typed just before it (the kernel
  then reviews an old amount). A test that types into the same box twice waits for the kernel's
  answer to the first value and for the kernel to be idle (:func:`settled`) before the second.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"

#: Kernel start plus the shared sandbox's first start (seeding its history), on a loaded machine.
FIRST_START = 180_000
#: Anything the kernel does for one click (a charge: a few requests to the local sandbox).
CLICK = 30_000


def shot(target: Any, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot of a page or an element to ``artifacts/screenshots/NAME.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if full_page:
        target.screenshot(path=str(path), full_page=True)
    else:
        target.screenshot(path=str(path))
    return path


def log_tail(log: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a server log (kernel errors land there too)."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


@contextlib.contextmanager
def explained(page: Any, log: Path, name: str) -> Iterator[None]:
    """Turn any failure inside the block into one that says what the page and server showed.

    The message gets a full-page screenshot's path, the errors shown in forms, the browser
    console's errors and the tail of the JupyterLab log.
    """
    try:
        yield
    except Exception as exc:
        details = [f"{type(exc).__name__}: {exc}"]
        try:
            details.append(f"screenshot: {shot(page, f'FAILED-{name}', full_page=True)}")
            errors = page.locator(".bk-error").all_inner_texts()
            details.append(f"errors shown in forms: {[e[:400] for e in errors]}")
        except Exception as shot_error:  # the page may be gone; the log still helps
            details.append(f"(no screenshot: {shot_error})")
        console = getattr(page, "console_errors", [])
        details.append(f"browser console errors: {console[-10:]}")
        details.append(f"last lines of {log}:\n{log_tail(log)}")
        raise AssertionError("\n".join(details)) from exc


def start_kernel(base: str, token: str, path: str) -> None:
    """Start the kernel session of notebook ``path`` through Jupyter's REST API.

    The page then finds the session and connects to it (and waits for it to be idle), so the
    kernel is not decided while the page loads (see the module docstring).
    """
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    body = {"path": path, "name": path, "type": "notebook", "kernel": {"name": "python3"}}
    request = urllib.request.Request(
        f"{base}/api/sessions", data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        assert json.loads(reply.read())["kernel"]["id"]


def open_notebook(page: Any, lab: Any, path: str) -> None:
    """Start the notebook's kernel, open the notebook, and wait until the page shows it idle."""
    from playwright.sync_api import expect

    start_kernel(lab.base, lab.token, path)
    page.goto(f"{lab.base}/lab/tree/{path}?token={lab.token}&reset")
    expect(page.locator(".jp-NotebookPanel-notebook")).to_be_visible(timeout=60_000)
    idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    expect(idle).to_have_count(1, timeout=FIRST_START)
    # The indicator starts out "idle" before any kernel: also wait for the kernel's own status.
    status = page.locator("#jp-main-statusbar")
    expect(status).to_contain_text("Python 3 (ipykernel) | Idle", timeout=60_000)


def _click_run_all(page: Any) -> None:
    """Choose Run > Run All Cells once its menu item is enabled (the session is ready)."""
    from playwright.sync_api import expect

    item = page.locator("li.lm-Menu-item[data-command='runmenu:run-all']")
    for _ in range(60):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        expect(item).to_be_visible()
        if "lm-mod-disabled" not in (item.get_attribute("class") or ""):
            item.click()
            return
        page.keyboard.press("Escape")
        page.wait_for_timeout(500)
    raise AssertionError("Run All stayed disabled: the notebook's session never became ready")


def run_all(page: Any) -> None:
    """Run every cell and wait until all have finished (see the module docstring).

    A run is started again only when it was lost: ten seconds after the click no cell is running
    or queued and not every cell has run (at kernel start JupyterLab replaces its first kernel
    connection and cancels what was sent on it; the prompts go back to ``[ ]``). A cell that
    raises stops the run the same way, so after three runs the test fails.
    """
    from playwright.sync_api import expect

    prompts = page.locator(".jp-CodeCell .jp-InputPrompt")
    idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    kernel = page.locator("#jp-main-statusbar")
    deadline = time.monotonic() + FIRST_START / 1000
    runs, clicked = 0, 0.0
    while time.monotonic() < deadline:
        texts = prompts.all_inner_texts()
        done = sum(1 for text in texts if re.search(r"\[\d+\]", text))
        running = any("[*]" in text for text in texts)
        if texts and done == len(texts) and idle.count() == 1:
            broken = page.get_by_text("Error displaying widget")
            assert broken.count() == 0, f"widgets did not render: {broken.all_inner_texts()}"
            return
        dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
        if dialog.count():
            # Run All came before the page had attached the running kernel (see the module
            # docstring): that run is lost. Dismiss the question without choosing a kernel
            # (choosing one would swap the kernel) and run again once the kernel is attached.
            dialog.locator(".jp-Dialog-button.jp-mod-reject").click()
            expect(dialog).to_have_count(0)
            expect(kernel).to_contain_text("Python 3 (ipykernel) | Idle", timeout=60_000)
            clicked = 0.0
        if not running and time.monotonic() - clicked > 10:
            if runs == 3:
                raise AssertionError(f"{runs} Run All left cells unrun: {texts}")
            _click_run_all(page)
            runs, clicked = runs + 1, time.monotonic()
        page.wait_for_timeout(500)
    raise AssertionError(f"the cells did not finish within {FIRST_START / 1000:.0f} s")


def settled(page: Any) -> None:
    """Wait until the kernel is idle again.

    Call it after the page showed the kernel's answer to a typed value (a validation message):
    the kernel's idle status for that update follows the answer, and only then will ipywidgets
    send the box's next value at once instead of holding it back behind a click.
    """
    from playwright.sync_api import expect

    idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    expect(idle).to_have_count(1, timeout=CLICK)
