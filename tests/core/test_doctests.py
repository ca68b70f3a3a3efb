"""Every docstring example in the core modules runs (so the documentation cannot drift)."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

import billing_kit
from billing_kit import (
    _client,
    _config,
    _customers,
    _excel,
    _lazy,
    _ledger,
    _limits,
    _masking,
    _models,
    _money,
    _pan,
    _validation,
)

MODULES = [
    _money, _masking, _models, _ledger, _config, _customers, _client, _pan, _validation, _excel,
    _limits, _lazy,
    billing_kit,
]  # fmt: skip


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples_run(module: ModuleType) -> None:
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags)
    assert result.failed == 0
    if module in (_money, _masking, _client, _pan, _validation):
        assert result.attempted >= 3
