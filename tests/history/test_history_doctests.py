"""The examples in the history docstrings run, so they cannot drift from the code."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["_cache", "_fetch", "_frames", "_join", "_options", "_schema"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"billing_kit.history.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_docs_show_the_current_schemas() -> None:
    from pathlib import Path

    from billing_kit.history import OBJECT_KINDS, schema_table

    text = (Path(__file__).resolve().parents[2] / "docs" / "history.md").read_text()
    for kind in OBJECT_KINDS:
        assert schema_table(kind) in text, f"docs/history.md is stale for {kind}"
