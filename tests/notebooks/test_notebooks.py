"""The analyst notebooks: committed without outputs, and each runs top to bottom against the
sandbox.

The run uses nbval (``--nbval-lax --nbval-current-env``) in a subprocess, on a temporary copy of
``notebooks/`` with its own BILLING_KIT_HOME, so exports and the shared sandbox's database never
land in the repository and the main pytest run needs no nbval configuration."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import openpyxl
import pytest

from tests.notebooks.nbval_run import run_nbval
from tests.support import stop_shared_sandbox

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
REQUIRED = ("01_charge_a_customer.ipynb", "02_charge_history.ipynb", "03_refunds.ipynb")


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_required_notebooks_exist() -> None:
    names = {path.name for path in _notebooks()}
    assert set(REQUIRED) <= names, f"missing: {set(REQUIRED) - names}"


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.name)
def test_notebook_is_committed_clean(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] for cell in code), "strip outputs before committing"
    assert all(cell.execution_count is None for cell in code), "strip execution counts"
    assert "widgets" not in notebook.metadata, "saved widget state must not be committed"
    tagged = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    # Thin notebooks: logic lives in billing_kit, where it is tested.
    assert all(len(cell.source.splitlines()) <= 15 for cell in code)
    assert not any("sk_live" in cell.source or "sk_test_" in cell.source for cell in code)


@pytest.mark.parametrize("name", ["02_charge_history.ipynb", "03_refunds.ipynb"])
def test_analysis_notebooks_build_on_the_seeded_history(name: str) -> None:
    """Running them adds no charge: the shared sandbox starts with 90 days of history."""
    code = "\n".join(
        cell.source
        for cell in nbformat.read(NOTEBOOKS / name, as_version=4).cells
        if cell.cell_type == "code"
    )
    assert "ensure_demo_charges" not in code and ".charge(" not in code


@pytest.mark.slow
def test_every_notebook_runs_top_to_bottom(tmp_path: Path) -> None:
    work, home = tmp_path / "notebooks", tmp_path / "bk-home"
    # The course in learn/ has its own test (its exercises fail until solved: test_course.py).
    shutil.copytree(NOTEBOOKS, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "learn"))
    # An empty config file makes this run independent of the repository's pytest settings.
    run_nbval(work, home, cell_timeout=120)
    assert (work / "exports" / "charges.xlsx").exists()


@pytest.mark.slow
def test_scheduled_run_changes_only_the_parameters(tmp_path: Path) -> None:
    """papermill (what a scheduler runs) injects new values after the ``parameters`` cell."""
    import papermill

    home = Path(os.environ["BILLING_KIT_HOME"])  # the per-test folder set by tests/conftest.py
    out_dir = tmp_path / "month-end"
    try:
        papermill.execute_notebook(
            str(NOTEBOOKS / "02_charge_history.ipynb"),
            str(tmp_path / "report.ipynb"),
            parameters={"days": 7, "export_dir": str(out_dir)},
            kernel_name="python3",
            cwd=str(tmp_path),
            progress_bar=False,
        )
    finally:
        stop_shared_sandbox(home)
    report = nbformat.read(tmp_path / "report.ipynb", as_version=4)
    injected = [c for c in report.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "days = 7" in injected[0].source
    assert (out_dir / "charges.xlsx").exists() and (out_dir / "charges.csv").exists()


@pytest.mark.slow
def test_month_end_notebook_runs_with_parameters_and_converts_without_code(
    tmp_path: Path,
) -> None:
    """The month-end notebook as a scheduler runs it: papermill parameters, then HTML with the
    code hidden (nbconvert's ``exclude_input``), and its workbook and report written."""
    import papermill
    from nbconvert import HTMLExporter

    home = Path(os.environ["BILLING_KIT_HOME"])  # the per-test folder set by tests/conftest.py
    out_dir = tmp_path / "month-end"
    try:
        papermill.execute_notebook(
            str(NOTEBOOKS / "06_month_end.ipynb"),
            str(tmp_path / "month-end.ipynb"),
            parameters={
                "month": "2026-11",
                "tz": "Europe/Paris",
                "currency": "usd",
                "out_dir": str(out_dir),
            },
            kernel_name="python3",
            cwd=str(tmp_path),
            progress_bar=False,
        )
    finally:
        stop_shared_sandbox(home)
    executed = nbformat.read(tmp_path / "month-end.ipynb", as_version=4)
    page, _ = HTMLExporter(exclude_input=True).from_notebook_node(executed)
    assert "Net balance change from activity" in page and "Europe/Paris" in page
    assert "month_end(client" not in page  # the code is hidden
    # currency="usd" (text, never an amount) names the files and limits every frame to USD.
    assert (out_dir / "month-end-2026-11-usd.html").exists()
    book = openpyxl.load_workbook(out_dir / "month-end-2026-11-usd.xlsx")
    summary = dict(book["Summary"].iter_rows(values_only=True))
    assert summary["currency"] == "usd"
    currencies = {row[1] for row in book["Roll-forward"].iter_rows(min_row=2, values_only=True)}
    assert currencies == {"usd"}
