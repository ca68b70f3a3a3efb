"""A cache written before a column was added to the schema is pulled again, not served short."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow.parquet as pq

import billing_kit
from tests.support import TEST_KEY


def test_cache_without_a_new_column_is_pulled_again(sandbox: Any) -> None:
    with billing_kit.connect(TEST_KEY, api_base=sandbox.url) as client:
        ana = client.find_or_create_customer("ana@example.com")
        client.charge(ana, "20.00", "usd", payment_method="pm_card_bypassPending")
        client.stripe.raw_request("post", "/v1/_sandbox/payouts/sweep")
        fresh = client.payouts_frame(progress=False)
        assert len(fresh) == 1 and fresh["trace_id_status"].iloc[0] == "supported"
        # The cache as an older release wrote it: no trace_id columns.
        path = client.home / "cache" / client.cache_namespace / "payouts.parquet"
        table = pq.read_table(path)
        pq.write_table(table.drop_columns(["trace_id", "trace_id_status"]), path)
        again = client.payouts_frame(progress=False, refresh=False)
        pd.testing.assert_frame_equal(again, fresh)
        assert again.attrs["pull"]["requests"] >= 1  # pulled, not read from the short cache
