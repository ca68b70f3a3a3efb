"""JupyterLab started the way ``make lab`` starts it (``billing-kit lab``), in Debian's chromium.

The first page is the first notebook (no Launcher, no "Jupyter news" toast), and after Run All
and JupyterLab's own autosave (its interval set to a few seconds through a throwaway user
settings folder) the outputs are in the analyst's working copy while the tracked notebooks in
notebooks/ are byte for byte unchanged and ``git status`` of notebooks/ is as before (so the
committed-clean test passes and ``git pull`` does not conflict).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ROOT, _free_port, served
from tests.browser.steps import explained, run_all, shot
from tests.support import require_tool

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

FIRST = "01_charge_a_customer.ipynb"
#: JupyterLab's autosave interval for this test, in seconds (the default is 120).
AUTOSAVE_SECONDS = 3


@dataclass(frozen=True)
class MadeLab:
    base: str
    token: str
    workbench: Path
    log: Path


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*.ipynb"))
    }


@pytest.fixture
def made_lab(tmp_path: Path) -> Iterator[MadeLab]:
    """``billing-kit lab`` with only what a test needs added: a port, a token, no browser."""
    home, workbench = tmp_path / "bk-home", tmp_path / "workbench"
    # The user's settings, in a throwaway folder: autosave every few seconds. (billing-kit lab's
    # own defaults live in the app settings folder it passes; user settings win over them.)
    settings = tmp_path / "settings"
    autosave = settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings"
    autosave.parent.mkdir(parents=True)
    autosave.write_text(json.dumps({"autosave": True, "autosaveInterval": AUTOSAVE_SECONDS}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "BILLING_KIT_"))}
    env.update(
        BILLING_KIT_HOME=str(home), TQDM_DISABLE="1", PYTHONPATH=str(ROOT),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(settings / "workspaces"),
    )  # fmt: skip
    command = [
        sys.executable, "-m", "billing_kit.cli", "lab",
        "--templates", str(ROOT / "notebooks"), "--workdir", str(workbench), "--",
        "--no-browser", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    ]  # fmt: skip
    log = tmp_path / "lab.log"
    with served(command, port=port, token=token, log=log, home=home, env=env, cwd=ROOT) as base:
        assert f"/lab/tree/{FIRST}?token=" in log.read_text()  # the address it prints
        yield MadeLab(base, token, workbench, log)


def _git_status(folder: Path) -> str:
    require_tool("git", "the lab test compares git status of notebooks/")
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--", str(folder)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


def test_lab_opens_on_the_first_notebook_and_keeps_git_clean(made_lab: MadeLab, page: Any) -> None:
    with explained(page, made_lab.log, "lab-start"):
        _first_page_and_autosave(made_lab, page)


def _first_page_and_autosave(made_lab: MadeLab, page: Any) -> None:
    from playwright.sync_api import expect

    tracked, status = _digests(ROOT / "notebooks"), _git_status(ROOT / "notebooks")
    copy = made_lab.workbench / FIRST
    copied = copy.stat().st_mtime_ns
    page.goto(f"{made_lab.base}/?token={made_lab.token}")  # what the printed address leads to
    expect(page).to_have_url(re.compile(rf"/lab/tree/{re.escape(FIRST)}"), timeout=60_000)
    expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
    current = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")
    expect(current).to_contain_text(FIRST)
    expect(page.locator(".jp-Launcher")).to_have_count(0)
    run_all(page)
    expect(page.locator(".bk-form").first).to_be_visible()
    # Past app start-up, the news question would be showing by now: it must not be there.
    expect(page.get_by_text("official Jupyter news")).to_have_count(0)
    shot(page, "lab-first-page")

    # No save is asked for: JupyterLab's autosave writes the outputs to the working copy. Wait
    # past the interval (a few of them: the first tick may come before the outputs).
    deadline = time.monotonic() + 10 * AUTOSAVE_SECONDS + 30
    saved: dict[str, Any] = {}
    while time.monotonic() < deadline:
        if copy.stat().st_mtime_ns != copied:
            saved = json.loads(copy.read_text())
            if any(cell.get("outputs") for cell in saved["cells"]):
                break
        time.sleep(0.5)
    assert copy.stat().st_mtime_ns != copied, "autosave never wrote the working copy"
    assert any(cell.get("outputs") for cell in saved["cells"]), "the working copy kept no output"
    assert _digests(ROOT / "notebooks") == tracked, "a tracked notebook changed"
    assert _git_status(ROOT / "notebooks") == status, "git status of notebooks/ changed"
