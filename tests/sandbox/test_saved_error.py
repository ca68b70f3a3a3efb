"""The opt-in fault kind ``saved_error``: a 500 saved under the idempotency key, as Stripe does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from billing_kit.sandbox._faults import Knobs
from tests.support import TEST_KEY

AUTH = {"Authorization": f"Bearer {TEST_KEY}"}


def test_saved_500_is_replayed_for_its_key_and_nothing_is_created(sandbox: Any) -> None:
    sandbox.configure(fault_rate=1.0, fault_seed=1, fault_kinds=("saved_error",))
    with httpx.Client(base_url=sandbox.url, headers=AUTH) as http:
        keyed = {**AUTH, "Idempotency-Key": "saved-1"}
        first = http.post("/v1/customers", data={"email": "a@example.com"}, headers=keyed)
        assert first.status_code == 500 and first.json()["error"]["type"] == "api_error"
        assert "Idempotent-Replayed" not in first.headers
        # Stripe's answer for the key from now on, with or without faults.
        sandbox.configure(fault_rate=0.0)
        again = http.post("/v1/customers", data={"email": "a@example.com"}, headers=keyed)
        assert again.status_code == 500 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        assert again.headers["Original-Request"] == first.headers["Request-Id"]
        assert http.get("/v1/customers").json()["data"] == []  # the endpoint never ran
        fresh = http.post(
            "/v1/customers",
            data={"email": "a@example.com"},
            headers={**AUTH, "Idempotency-Key": "saved-2"},
        )
        assert fresh.status_code == 200
        # A request without a key has nothing to save the error under: a plain 500.
        sandbox.configure(fault_rate=1.0)
        assert http.get("/v1/customers").status_code == 500
        sandbox.configure(fault_rate=0.0)
        assert len(http.get("/v1/customers").json()["data"]) == 1


def test_default_kinds_are_unchanged_and_unknown_kinds_are_refused() -> None:
    assert Knobs().fault_kinds == ("error", "reset", "drop")
    with pytest.raises(ValueError, match="fault_kinds"):
        Knobs(fault_kinds=("explode",))
    with pytest.raises(ValueError, match="fault_kinds"):
        Knobs(fault_kinds=())
