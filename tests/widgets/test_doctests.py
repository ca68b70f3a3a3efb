"""Every docstring example in the widgets package runs (so the documentation cannot drift)."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from billing_kit.widgets import (
    _cards,
    _charge_form,
    _form,
    _history_views,
    _inputs,
    _refund_form,
    charts,
    export,
    figures,
)

MODULES = [_cards, _form, _inputs, figures, export, charts, _charge_form, _history_views,
           _refund_form]  # fmt: skip


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
