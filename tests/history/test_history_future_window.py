"""A window that ends in the future is cached only up to now, so later charges are pulled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import billing_kit
from tests.support import TEST_KEY


def test_a_window_ending_tomorrow_picks_up_charges_made_after_the_last_pull(
    sandbox: Any, tmp_path: Path
) -> None:
    with billing_kit.connect(TEST_KEY, api_base=sandbox.url, home=tmp_path / "home") as client:
        end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        end += timedelta(days=1)  # the end of today: what the history browser asks for
        start = end - timedelta(days=30)
        client.charge("ana@example.com", "5.00", "usd", payment_method="pm_card_visa")
        assert len(client.charges_frame(start, end, progress=False)) == 1
        later = client.charge("zed@example.com", "6.00", "usd", payment_method="pm_card_visa")
        cached = client.charges_frame(start, end, progress=False)
        assert later.id in set(cached["id"]), "the cache had claimed the future as covered"
        with billing_kit.connect(TEST_KEY, api_base=sandbox.url, home=tmp_path / "fresh") as other:
            fresh = other.charges_frame(start, end, progress=False)
        assert sorted(cached["id"]) == sorted(fresh["id"])
