"""The msgspec route (records holding only the declared fields) gives the dict route's frames."""

from __future__ import annotations

import random
from typing import Any

import msgspec
import pandas as pd
import pytest

import billing_kit
from billing_kit import history
from billing_kit.history import _structs
from billing_kit.history._fetch import FetchStats
from billing_kit.history._frames import build_frame, decode, finish_frame
from billing_kit.history._join import frame_from_pages, frame_records
from billing_kit.history._loaders import load, page_reader
from tests.support import TEST_KEY


def _maybe(rng: random.Random, value: Any, absent: float = 0.15) -> Any:
    return None if rng.random() < absent else value


def _charge(rng: random.Random, i: int) -> dict[str, Any]:
    """A charge with every declared field present, null or missing at random, at every level."""
    # Texts that share their size and first and last 8 bytes, differing only in the middle:
    # categories must be told apart by their whole text.
    lookalike = f"The bank said {'ABCDEFGHIJ'[i % 10]} about this card."
    status = rng.choice(["succeeded", "failed", "pending", "requires_review_new"])
    fee = rng.randrange(0, 500)
    balance: Any = rng.choice(
        [
            None,
            f"txn_{i}",
            {"id": f"txn_{i}", "currency": rng.choice(["usd", "eur", None]), "fee": fee},
            {"id": f"txn_{i}", "fee": fee, "net": -fee},
        ]
    )
    card: Any = {
        "brand": _maybe(rng, rng.choice(["visa", "mastercard", "amex"])),
        "last4": f"{rng.randrange(10_000):04d}",
        "country": _maybe(rng, rng.choice(["US", "DE", "JP", "ÅL"])),
        "exp_month": _maybe(rng, rng.randrange(1, 13)),
        "exp_year": rng.randrange(2024, 2040),
        "funding": rng.choice(["credit", "debit"]),
    }
    details: Any = rng.choice([None, {"card": None}, {"card": card}, {"card": card}, {}])
    outcome: Any = _maybe(
        rng,
        {
            "type": rng.choice(["authorized", "issuer_declined", "blocked"]),
            "reason": _maybe(rng, rng.choice(["expired_card", "do_not_honor", "highest_risk"])),
            "network_status": "approved_by_network",
            "risk_level": rng.choice(["normal", "elevated"]),
            "risk_score": _maybe(rng, rng.randrange(100)),
            "seller_message": lookalike,
        },
    )
    charge: dict[str, Any] = {
        "id": f"ch_{i:06d}",
        "object": "charge",
        "created": _maybe(rng, 1_700_000_000 + rng.randrange(10**7), 0.05),
        "status": status,
        "currency": rng.choice(["usd", "jpy", "kwd", "eur"]),
        "amount": _maybe(rng, rng.randrange(-(2**40), 2**40)),
        "amount_captured": rng.randrange(10**6),
        "amount_refunded": 0,
        "captured": _maybe(rng, rng.random() < 0.5),
        "paid": rng.random() < 0.5,
        "refunded": False,
        "disputed": _maybe(rng, True),
        "balance_transaction": balance,
        "customer": _maybe(rng, f"cus_{rng.randrange(50)}"),
        "payment_intent": _maybe(rng, f"pi_{i}", 0.5),
        "payment_method": f"pm_{i}",
        "description": _maybe(rng, rng.choice(["Order 7", "Café crème ☕", "", "x" * 300])),
        "failure_code": _maybe(rng, "card_declined", 0.7),
        "failure_message": _maybe(rng, lookalike, 0.7),
        "metadata": rng.choice([{}, {}, {"order": str(i)}, {"note": "ß ☕", "order": "x"}]),
        "outcome": outcome,
        "payment_method_details": details,
    }
    for key in rng.sample(sorted(charge), 2):
        if key not in ("id", "object"):
            del charge[key]  # a field missing altogether
    return charge


def _pages(records: list[dict[str, Any]], size: int, *, pretty: bool = False) -> list[bytes]:
    indent = 2 if pretty else 0  # Stripe itself sends indented JSON
    return [
        msgspec.json.format(
            msgspec.json.encode(
                {"object": "list", "has_more": False, "data": records[i : i + size]}
            ),
            indent=indent,
        )
        for i in range(0, len(records), size)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_msgspec_route_gives_the_dict_route_frame(seed: int) -> None:
    rng = random.Random(seed)
    records = [_charge(rng, i) for i in range(1_500)]
    pages = _pages(records, 100)
    expected = build_frame("charges", decode(pages), keep_metadata=False)
    # Chunks of 3 pages: categories first seen in later chunks, codes numbered across chunks.
    framed = frame_from_pages("charges", pages, keep_metadata=False, chunk_rows=300)
    pd.testing.assert_frame_equal(framed, expected)
    # Metadata kept as raw JSON (indented, as Stripe sends it) gives the same metadata columns.
    pretty = _pages(records, 100, pretty=True)
    with_metadata = frame_from_pages("charges", pretty, keep_metadata=True, chunk_rows=300)
    pd.testing.assert_frame_equal(
        finish_frame(with_metadata, "charges", metadata=True),
        finish_frame(build_frame("charges", decode(pretty)), "charges", metadata=True),
    )
    # The decline code is the outcome reason of failed charges only.
    failed = framed["status"] == "failed"
    assert framed.loc[~failed, "decline_code"].isna().all()
    assert framed.loc[failed, "decline_code"].notna().any()
    assert set(framed["seller_message"].dropna().unique()) == {
        r["outcome"]["seller_message"] for r in records if r.get("outcome")
    }


def test_msgspec_and_dict_chunks_join_into_one_frame() -> None:
    # A page msgspec cannot hold (a customer expanded into an object) is framed from dicts
    # between msgspec chunks; the joined frame is the same as one dict build of every record.
    rng = random.Random(7)
    records = [_charge(rng, i) for i in range(600)]
    pages = _pages(records, 100)
    odd = {**_charge(rng, 999), "customer": {"id": "cus_x", "object": "customer"}}
    pages.insert(3, _pages([odd], 1)[0])
    with pytest.raises(msgspec.ValidationError):
        _structs.read_pages("charges", [pages[3]])
    framed = frame_from_pages("charges", pages, keep_metadata=False, chunk_rows=100)
    expected = build_frame("charges", decode(pages), keep_metadata=False)
    pd.testing.assert_frame_equal(framed, expected)
    assert (framed["customer"] == "cus_x").sum() == 1


def test_codes_past_int16_keep_every_category() -> None:
    rows = [
        {"id": f"re_{i}", "created": i, "currency": "usd", "amount": 1, "reason": f"r{i}"}
        for i in range(33_000)
    ]
    framed = frame_from_pages("refunds", _pages(rows, 100), keep_metadata=False, chunk_rows=9_900)
    assert framed["reason"].cat.categories.size == 33_000
    assert framed["reason"].astype(str).tolist() == [row["reason"] for row in rows]
    pd.testing.assert_frame_equal(framed, build_frame("refunds", rows, keep_metadata=False))


def test_every_kind_frames_alike_by_both_routes() -> None:
    customers = [
        {"id": "cus_1", "created": 5, "email": "a@example.com", "balance": -20, "currency": "usd"},
        {"id": "cus_2", "deleted": True},
        {"id": "cus_3", "created": None, "email": None, "currency": None, "deleted": False},
    ]
    refunds = [
        {"id": "re_1", "created": 9, "amount": 500, "currency": "jpy", "status": "succeeded"},
        {"id": "re_2", "charge": "ch_1", "amount": None, "currency": "kwd", "reason": None},
    ]
    for kind, records in (("customers", customers), ("refunds", refunds)):
        pages = _pages(records, 2)
        pd.testing.assert_frame_equal(
            frame_from_pages(kind, pages, keep_metadata=False),  # type: ignore[arg-type]
            build_frame(kind, records, keep_metadata=False),  # type: ignore[arg-type]
        )


@pytest.fixture
def client(sandbox: Any) -> Any:
    with billing_kit.connect(TEST_KEY, api_base=sandbox.url) as connected:
        yield connected


def test_pulls_go_through_the_msgspec_route_and_keep_metadata(client: Any) -> None:
    # Every kind the sandbox can hold is pulled, decoded by msgspec: no page
    # falls back to dicts, and each frame equals the dict route's frame of the official list.
    hal = client.find_or_create_customer("hal@example.com", name="Hal Ünver")
    notes = {"order_id": "A-7", "note": "crème brûlée ☕", "empty": ""}
    ok = client.charge(hal, "12.34", "eur", payment_method="pm_card_visa", metadata=notes)
    client.charge(hal, "500", "jpy", payment_method="pm_card_visa", description="Café")
    client.refund(ok, "2.00")
    client.charge(hal, "8.00", "usd", payment_method="pm_card_createDispute")
    with pytest.raises(billing_kit.CardDeclined):
        client.charge(hal, "9.00", "usd", payment_method="pm_card_chargeDeclined")
    client.charge(hal, "50.00", "usd", payment_method="pm_card_bypassPending")
    client.stripe.raw_request("post", "/v1/_sandbox/payouts/sweep")
    paths = {
        "charges": ("/v1/charges", ["data.balance_transaction"]),
        "refunds": ("/v1/refunds", []),
        "balance_transactions": ("/v1/balance_transactions", []),
        "disputes": ("/v1/disputes", []),
        "payouts": ("/v1/payouts", []),
        "customers": ("/v1/customers", []),
    }
    for kind, (path, expand) in paths.items():
        frame = load(client, kind, metadata=True, progress=False)  # type: ignore[arg-type]
        assert frame.attrs["pull"]["dict_pages"] == 0, kind
        assert frame.attrs["pull"]["rows"] == len(frame) > 0, kind
        body = client.stripe.raw_request("get", path, limit=100, expand=expand).body
        expected = finish_frame(
            build_frame(kind, decode([body])),  # type: ignore[arg-type]
            kind,  # type: ignore[arg-type]
            metadata=True,
        )
        # Rows come newest first, ties by id descending (Stripe orders ties its own way).
        expected = expected.sort_values(["created", "id"], ascending=False, kind="stable")
        pd.testing.assert_frame_equal(frame, expected.reset_index(drop=True), obj=kind)
    charges = history.charges_frame(client, metadata=["note", "empty"], progress=False)
    row = charges.set_index("id").loc[ok.id]
    assert row["metadata.note"] == "crème brûlée ☕"
    assert pd.isna(row["metadata.empty"])  # Stripe: metadata[k]= (empty) unsets the key


def test_a_value_too_wide_for_a_narrow_column_is_refused_not_wrapped() -> None:
    charge = {"id": "ch_1", "payment_method_details": {"card": {"exp_month": 300}}}
    with pytest.raises(ValueError, match=r"column 'exp_month' holds 300, outside int8"):
        frame_from_pages("charges", _pages([charge], 1), keep_metadata=False)


def test_records_held_by_a_pull_frame_like_their_pages() -> None:
    # A pull keeps msgspec records (metadata as raw JSON) and frames them later: the frame equals
    # the one framed from the pages, and the dict route's.
    rng = random.Random(11)
    pages = _pages([_charge(rng, i) for i in range(700)], 100)
    reader = page_reader("charges", FetchStats())
    pulled = [r for page in pages for r in reader.read(page)[0]]
    assert type(pulled[0]) is not dict  # msgspec records, not dicts
    expected = finish_frame(build_frame("charges", decode(pages)), "charges", metadata=True)
    for framed in (
        frame_records("charges", pulled),
        frame_from_pages("charges", pages, keep_metadata=True, chunk_rows=300),
    ):
        pd.testing.assert_frame_equal(finish_frame(framed, "charges", metadata=True), expected)


def test_pages_each_of_one_shape_join_into_the_dict_route_frame() -> None:
    # Records are gathered a page at a time: pages where a nested object is expanded on every
    # row, a bare id on every row, or missing on every row, framed together in one chunk.
    rng = random.Random(5)
    shapes = [
        {"id": "txn_{}", "currency": "usd", "fee": 30, "net": 970},
        "txn_{}",
        None,
    ]
    pages = []
    for n, shape in enumerate(shapes * 2):
        rows = []
        for i in range(100 * n, 100 * n + 100):
            charge = _charge(rng, i)
            bt = shape
            if isinstance(bt, dict):
                bt = {**bt, "id": f"txn_{i}"}
            elif isinstance(bt, str):
                bt = bt.format(i)
            charge["balance_transaction"] = bt
            charge["payment_method_details"] = None if n % 2 else {"card": {"brand": "visa"}}
            rows.append(charge)
        pages.extend(_pages(rows, 100))
    framed = frame_from_pages("charges", pages, keep_metadata=False)
    pd.testing.assert_frame_equal(
        framed, build_frame("charges", decode(pages), keep_metadata=False)
    )
    assert framed["balance_transaction"].notna().sum() == 400
    assert framed["fee_minor"].notna().sum() == 200
