"""client.charges_frame and its five siblings show their real keywords, types and docstrings
(Jupyter's signature help reads ``inspect.signature``), from one definition each."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest

import billing_kit
from billing_kit import history
from billing_kit._client import Client
from tests.support import TEST_KEY

NAMES = [
    "charges_frame",
    "refunds_frame",
    "balance_transactions_frame",
    "payouts_frame",
    "disputes_frame",
    "customers_frame",
]


@pytest.mark.parametrize("name", NAMES)
def test_the_method_is_the_history_function_bound_to_the_client(name: str, tmp_path: Any) -> None:
    function = getattr(history, name)
    with billing_kit.connect(TEST_KEY, api_base="http://127.0.0.1:9", home=tmp_path) as client:
        method = getattr(client, name)
        shown = inspect.signature(method)
        expected = list(inspect.signature(function).parameters.values())[1:]  # without client
        assert list(shown.parameters.values()) == expected
        assert "**" not in str(shown) and "rate_limit" in shown.parameters
        assert shown.parameters["refresh"].kind is inspect.Parameter.KEYWORD_ONLY
        assert inspect.getdoc(method) == inspect.getdoc(function)
        # Every keyword is explained in the method's own docstring (Jupyter's Shift+Tab).
        parameters = (inspect.getdoc(method) or "").partition("Parameters\n")[2]
        for keyword in shown.parameters:
            assert f"\n{keyword}\n" in parameters or keyword in ("since", "until")
        assert "\nsince, until\n" in parameters
        # A misspelt keyword fails at the call, before any request is made.
        with pytest.raises(TypeError, match="statuss"):
            method(statuss="paid")
    assert getattr(Client, name) is function


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("charge_batch", "billing_kit._batch"),
        ("balance_summary", "billing_kit.reconcile._api"),
        ("balance_activity", "billing_kit.reconcile._api"),
        ("payout_reconciliation", "billing_kit.reconcile._api"),
        ("ending_balance_reconciliation", "billing_kit.reconcile._api"),
        ("reconcile_orders", "billing_kit.reconcile._orders"),
        ("reconcile_bank", "billing_kit.reconcile._bank"),
    ],
)
def test_batch_and_report_methods_are_their_module_functions(
    name: str, module: str, tmp_path: Any
) -> None:
    function = getattr(importlib.import_module(module), name)
    with billing_kit.connect(TEST_KEY, api_base="http://127.0.0.1:9", home=tmp_path) as client:
        method = getattr(client, name)
        expected = list(inspect.signature(function).parameters.values())[1:]
        assert list(inspect.signature(method).parameters.values()) == expected
        # The one docstring documents every keyword the method takes.
        doc = inspect.getdoc(method) or ""
        for parameter in expected[1:]:
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
                assert parameter.name in doc, f"{name}: {parameter.name} undocumented"
    assert getattr(Client, name) is function
