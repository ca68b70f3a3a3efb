"""``billing-kit lab`` (``make lab``): working copies made once, never overwritten, JupyterLab
pointed at them and at the first notebook with no news toast. The browser test in
tests/browser/test_lab_start.py starts it for real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from billing_kit._lab import FIRST_NOTEBOOK, lab_command, prepare_workbench
from billing_kit.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    (folder / "learn" / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / FIRST_NOTEBOOK).write_text('{"cells": []}')
    (folder / "learn" / "lesson.ipynb").write_text('{"cells": [1]}')
    (folder / "learn" / ".ipynb_checkpoints" / "lesson-checkpoint.ipynb").write_text("{}")
    (folder / "notes.txt").write_text("not a notebook")
    return folder


def test_copies_are_made_once_and_never_overwritten(templates: Path, tmp_path: Path) -> None:
    work = tmp_path / "workbench"
    first = prepare_workbench(templates, work)
    assert first.copied == [FIRST_NOTEBOOK, "learn/lesson.ipynb"] and first.outdated == []
    assert (work / "learn" / "lesson.ipynb").read_text() == '{"cells": [1]}'
    assert not (work / "learn" / ".ipynb_checkpoints").exists()
    assert not (work / "notes.txt").exists()

    # The analyst runs the notebook: JupyterLab saves outputs into the copy, not the template.
    (work / FIRST_NOTEBOOK).write_text('{"cells": [], "outputs": "mine"}')
    again = prepare_workbench(templates, work)
    assert again.copied == [] and again.outdated == []
    assert (work / FIRST_NOTEBOOK).read_text() == '{"cells": [], "outputs": "mine"}'
    assert (templates / FIRST_NOTEBOOK).read_text() == '{"cells": []}'

    # After a git pull: a new template is copied, a changed one is reported and the copy kept.
    (templates / "05_new.ipynb").write_text("{}")
    (templates / FIRST_NOTEBOOK).write_text('{"cells": ["v2"]}')
    pulled = prepare_workbench(templates, work)
    assert pulled.copied == ["05_new.ipynb"] and pulled.outdated == [FIRST_NOTEBOOK]
    assert "your copy is kept" in str(pulled)
    assert (work / FIRST_NOTEBOOK).read_text() == '{"cells": [], "outputs": "mine"}'
    # Deleting the copy is how to take the new version.
    (work / FIRST_NOTEBOOK).unlink()
    assert prepare_workbench(templates, work).copied == [FIRST_NOTEBOOK]
    assert (work / FIRST_NOTEBOOK).read_text() == '{"cells": ["v2"]}'


def test_jupyterlab_opens_on_the_first_notebook_without_news(
    templates: Path, tmp_path: Path
) -> None:
    work = tmp_path / "workbench"
    prepare_workbench(templates, work)
    overrides = json.loads((work / ".jupyterlab" / "settings" / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    command = lab_command(work, ["--no-browser"])
    assert f"--ServerApp.root_dir={work}" in command
    assert f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}" in command
    assert f"--LabApp.app_settings_dir={work / '.jupyterlab' / 'settings'}" in command
    assert "--LabApp.news_url=None" in command and command[-1] == "--no-browser"


def test_the_first_notebook_is_a_real_template() -> None:
    assert (ROOT / "notebooks" / FIRST_NOTEBOOK).is_file()


def test_no_templates_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    status = main(["lab", "--templates", str(empty), "--workdir", str(tmp_path / "w")])
    assert status == 2
    assert f"no notebooks in {str(empty)!r}; run `make lab` from the repository root" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "w").exists()


def test_the_working_folder_is_ignored_by_git() -> None:
    assert "/workbench/" in (ROOT / ".gitignore").read_text().splitlines()
    assert "billing-kit lab" in (ROOT / "Makefile").read_text()
