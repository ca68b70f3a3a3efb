"""The course in notebooks/learn/: committed clean, every lesson runs under nbval with its
solutions pasted into the answer cells, and every exercise check fails on the empty answer with a
message that says what is wrong and hints at the fix.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.notebooks.build_course import COURSE, LEARN
from tests.notebooks.build_notebooks import build
from tests.notebooks.nbval_run import run_nbval
from tests.support import stop_shared_sandbox

_FENCE = re.compile(r"```python\n(.*?)\n```", re.DOTALL)


def _tag(cell: nbformat.NotebookNode, role: str) -> str | None:
    for tag in cell.metadata.get("tags", []):
        if tag.startswith(role + ":"):
            return str(tag.split(":", 1)[1])
    return None


def _lessons() -> list[Path]:
    return sorted(LEARN.glob("*.ipynb"))


def with_solutions(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a copy of ``notebook`` whose answer cells hold the solutions."""
    solved = nbformat.from_dict(notebook)
    solutions = {}
    for cell in solved.cells:
        number = _tag(cell, "solution")
        if number is not None:
            (code,) = _FENCE.findall(cell.source)
            solutions[number] = code
    for cell in solved.cells:
        number = _tag(cell, "answer")
        if number is not None:
            cell.source = solutions[number]
    return solved


def test_the_course_is_built_from_its_source() -> None:
    assert [p.name for p in _lessons()] == list(COURSE)
    for name, cells in COURSE.items():
        committed = nbformat.read(LEARN / name, as_version=4)
        assert committed == build(cells), f"{name}: run python tests/notebooks/build_course.py"


@pytest.mark.parametrize("path", _lessons(), ids=lambda p: p.name)
def test_lesson_is_committed_clean_with_complete_exercises(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert not any("sk_live" in cell.source for cell in notebook.cells)
    roles = {role: [_tag(c, role) for c in notebook.cells if _tag(c, role)]
             for role in ("answer", "check", "solution")}  # fmt: skip
    assert roles["answer"], "a lesson ends with exercises"
    assert roles["answer"] == roles["check"] == roles["solution"], "each exercise has all three"
    for cell in notebook.cells:
        if _tag(cell, "solution"):
            assert cell.cell_type == "markdown" and len(_FENCE.findall(cell.source)) == 1
        if _tag(cell, "check"):
            assert "Hint" in cell.source, "a check says how to fix what it finds"


@pytest.mark.slow
def test_every_lesson_runs_under_nbval_with_its_solutions(tmp_path: Path) -> None:
    work, home = tmp_path / "learn", tmp_path / "bk-home"
    work.mkdir()
    for path in _lessons():
        nbformat.write(with_solutions(nbformat.read(path, as_version=4)), work / path.name)
    run_nbval(work, home, cell_timeout=60)


@pytest.mark.slow
def test_every_check_fails_on_the_empty_answer(tmp_path: Path) -> None:
    home = Path(os.environ["BILLING_KIT_HOME"])  # the per-test folder set by tests/conftest.py
    notebooks = {path: nbformat.read(path, as_version=4) for path in _lessons()}

    async def run_all() -> None:  # one kernel per lesson, all at once: they mostly wait on I/O
        await asyncio.gather(*(
            NotebookClient(
                notebook, timeout=60, kernel_name="python3", allow_errors=True,
                resources={"metadata": {"path": str(tmp_path)}},
            ).async_execute()
            for notebook in notebooks.values()
        ))  # fmt: skip

    try:
        asyncio.run(run_all())
        for path, notebook in notebooks.items():
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                errors = [out for out in cell.outputs if out.output_type == "error"]
                where = f"{path.name} cell {index}"
                if _tag(cell, "check") is None:
                    assert errors == [], f"{where} failed: {errors and errors[0].evalue}"
                    continue
                assert len(errors) == 1, f"{where}: the check passed on the empty answer"
                assert errors[0].ename == "AssertionError", f"{where}: {errors[0].ename}"
                assert "Hint" in errors[0].evalue, f"{where} gives no hint: {errors[0].evalue}"
    finally:
        stop_shared_sandbox(home)
