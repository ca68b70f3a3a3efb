"""pyproject.toml (pip users) and environment.yml (conda users) must ask for the same packages."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
# conda-only plumbing: the interpreter, pip itself, and the `pip:` block that installs this package.
CONDA_ONLY = {"python", "pip"}


def _pip_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines.extend(extra)
    reqs = [Requirement(line) for line in lines]
    return {canonicalize_name(r.name): str(r.specifier) for r in reqs}


def _conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    found: dict[str, str] = {}
    for entry in env["dependencies"]:
        if not isinstance(entry, str):
            continue  # the nested `pip:` list installs billing_kit itself
        req = Requirement(entry.replace(" ", ""))
        if canonicalize_name(req.name) not in CONDA_ONLY:
            found[canonicalize_name(req.name)] = str(req.specifier)
    return found


def test_environment_yml_matches_pyproject() -> None:
    pip, conda = _pip_requirements(), _conda_requirements()
    assert sorted(set(pip) - set(conda)) == [], "in pyproject.toml but not environment.yml"
    assert sorted(set(conda) - set(pip)) == [], "in environment.yml but not pyproject.toml"
    differing = {name: (pip[name], conda[name]) for name in pip if pip[name] != conda[name]}
    assert differing == {}, "version specifiers differ (pyproject, environment.yml)"


def test_environment_yml_installs_this_package() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_blocks = [e["pip"] for e in env["dependencies"] if isinstance(e, dict) and "pip" in e]
    assert pip_blocks == [["-e ."]]


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    top = readme[: readme.find("\n## ")] if "\n## " in readme else readme
    assert "make test" in top and "make lab" in top
    assert "make test" in (ROOT / ".ci" / "run").read_text()
