"""``billing-kit lab`` (what ``make lab`` runs): JupyterLab on the analyst's own copies of the
notebooks, opened on the first one.

The notebooks in ``notebooks/`` are templates: committed without outputs and checked by the tests.
Analysts work on copies in a git-ignored folder (``workbench/`` by default), made once, so Run All
and JupyterLab's autosave keep their outputs there between sessions and never touch a tracked
file: ``git status`` stays clean and ``git pull`` never conflicts with someone's results.

A template that is new (after a ``git pull``) is copied on the next start; a copy is never
overwritten. When a template changed since its copy was made, the start says so: delete or rename
the copy to get the new version.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FIRST_NOTEBOOK", "Workbench", "lab_command", "prepare_workbench", "register"]

#: The notebook JupyterLab opens on (relative to the workbench).
FIRST_NOTEBOOK = "01_charge_a_customer.ipynb"
_RECORD = ".templates.json"  # template path -> digest of the template when it was copied

# JupyterLab settings defaults (overrides.json): no "Would you like to get notified about
# official Jupyter news?" toast over the first notebook, and no update check (it would try to
# reach PyPI). The analyst's own settings still win over these defaults. Setting and file format:
# https://jupyterlab.readthedocs.io/en/stable/user/directories.html#overridesjson
_OVERRIDES: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


@dataclass
class Workbench:
    """What :func:`prepare_workbench` did.

    Attributes
    ----------
    folder
        The working folder JupyterLab serves.
    copied
        Templates copied this time (relative paths).
    outdated
        Templates that changed since their copy was made; the copies were kept.
    """

    folder: Path
    copied: list[str] = field(default_factory=list)
    outdated: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"working copies in {self.folder} (templates in git stay clean)"]
        lines += [f"  copied {name}" for name in self.copied]
        lines += [
            f"  {name}: the template changed since your copy was made; your copy is kept "
            "(rename or delete it to get the new version on the next start)"
            for name in self.outdated
        ]
        return "\n".join(lines)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def prepare_workbench(templates: Path, folder: Path) -> Workbench:
    """Copy every notebook under ``templates`` that ``folder`` lacks; write JupyterLab's defaults.

    Sub-folders are kept (``learn/x.ipynb`` goes to ``folder/learn/x.ipynb``); checkpoints are
    skipped. Existing copies are never overwritten.

    Raises
    ------
    FileNotFoundError
        ``templates`` holds no notebook (run from the repository root, or pass --templates).
    """
    found = sorted(
        path.relative_to(templates)
        for path in templates.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in path.parts
    )
    if not found:
        raise FileNotFoundError(
            f"no notebooks in {str(templates)!r}; run `make lab` from the repository root or "
            "pass --templates PATH"
        )
    folder.mkdir(parents=True, exist_ok=True)
    record_file = folder / _RECORD
    try:
        record: dict[str, str] = json.loads(record_file.read_text())
    except (OSError, ValueError):
        record = {}
    result = Workbench(folder)
    for relative in found:
        name, source, copy = relative.as_posix(), templates / relative, folder / relative
        digest = _digest(source)
        if not copy.exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
            record[name] = digest
            result.copied.append(name)
        elif record.get(name, digest) != digest:
            result.outdated.append(name)
    record_file.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    settings = folder / ".jupyterlab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "overrides.json").write_text(json.dumps(_OVERRIDES, indent=1) + "\n")
    return result


def lab_command(folder: Path, extra: Sequence[str] = ()) -> list[str]:
    """Return the ``jupyter lab`` command serving ``folder``, opened on :data:`FIRST_NOTEBOOK`.

    It runs as ``python -m jupyterlab``: no ``jupyter`` launcher process in between, so stopping
    this process stops JupyterLab.
    """
    command = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.root_dir={folder}", "--ServerApp.ip=127.0.0.1",
        f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}",
        f"--LabApp.app_settings_dir={folder / '.jupyterlab' / 'settings'}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI run as root
    return command + list(extra)


def register(commands: Any) -> None:
    """Add ``lab`` to the ``billing-kit`` subcommands."""
    parser = commands.add_parser(
        "lab",
        description="Copy the notebook templates into a git-ignored working folder (once), then "
        "open JupyterLab there on the first notebook. Arguments after -- go to jupyter lab.",
    )
    parser.add_argument("--templates", default="notebooks", help="templates (default notebooks)")
    parser.add_argument("--workdir", default="workbench", help="working copies (default workbench)")
    parser.add_argument("jupyter_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    folder = Path(args.workdir).expanduser().resolve()
    try:
        print(prepare_workbench(Path(args.templates), folder), flush=True)
    except FileNotFoundError as exc:
        print(f"billing-kit lab: {exc}", file=sys.stderr)
        return 2
    extra = args.jupyter_args[1:] if args.jupyter_args[:1] == ["--"] else args.jupyter_args
    command = lab_command(folder, extra)
    os.execv(command[0], command)  # JupyterLab takes over this process (Ctrl-C stops it)
