"""JupyterLab on loopback with a token, driven by Debian's chromium through Playwright (sync API).

The server runs in a temporary copy of ``notebooks/`` with its own BILLING_KIT_HOME, so the
kernels it starts share one sandbox that the test can reach too
(``billing_kit.connect(home=...)``). Settings that would get in the way of screenshots (the
"Jupyter news" toast) are turned off through a throwaway user settings folder, leaving the
installed JupyterLab untouched."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import require_tool, stop_shared_sandbox

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]

# Per-user settings (JUPYTERLAB_SETTINGS_DIR): no news toast, no update check, all cells in the DOM.
_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # windowingMode none: every cell stays in the DOM. No autoStartDefaultKernel: it swapped the
    # kernel under a freshly opened notebook; tests.browser.steps.start_kernel starts the kernel
    # before the page opens instead.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
    },
}


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: its address, token, notebook folder and billing_kit home."""

    base: str
    token: str
    root: Path
    home: Path
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _clean_environment(home: Path, settings: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("STRIPE_", "BILLING_KIT_")) or name == "BILLING_KIT_REQUIRE_ALL"
    }
    env.update(
        BILLING_KIT_HOME=str(home),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(settings / "workspaces"),
        TQDM_DISABLE="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Start JupyterLab on a free loopback port in a temp copy of notebooks/; stop it afterwards."""
    base_dir = tmp_path_factory.mktemp("lab")
    root, home, settings = base_dir / "notebooks", base_dir / "bk-home", base_dir / "settings"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name, value in _SETTINGS.items():
        target = settings / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
        "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = base_dir / "server.log"
    env = _clean_environment(home, settings)
    with served(command, port=port, token=token, log=log, home=home, env=env) as base:
        yield Lab(base, token, root, home, log)


@contextlib.contextmanager
def served(
    command: list[str], *, port: int, token: str, log: Path, home: Path, env: dict[str, str],
    cwd: Path | None = None,
) -> Iterator[str]:  # fmt: skip
    """Run a JupyterLab server ``command`` (output to ``log``) until it answers on ``port``;
    yield its base URL; then stop it and the shared sandbox its kernels started for ``home``."""
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{' '.join(command[2:4])} did not start:\n{log.read_text()}"
                    ) from None
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        stop_shared_sandbox(home)


@pytest.fixture(scope="module")
def browser(pytestconfig: pytest.Config) -> Iterator[object]:
    """Debian's chromium, headless, through Playwright (its own browser download is never used)."""
    require_tool(CHROMIUM, "the JupyterLab browser test drives Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh page at a size that shows the whole form; only loopback requests are allowed."""
    context = browser.new_context(viewport={"width": 1400, "height": 2000})  # type: ignore[attr-defined]
    outside: list[str] = []
    page = context.new_page()
    # Kept for failure messages (tests.browser.steps.explained).
    page.console_errors = []
    page.on(
        "console",
        lambda message: (
            page.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(("http://127.0.0.1", "data:", "blob:", "about:"))
            else outside.append(request.url)
        ),
    )
    try:
        yield page
    finally:
        context.close()
    assert not outside, f"the page tried to reach the network: {outside[:5]}"
