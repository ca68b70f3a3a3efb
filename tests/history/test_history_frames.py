"""The pure step: API records -> typed frames, checked against hand-built expected frames."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import msgspec
import pandas as pd
import pyarrow as pa
import pytest

from billing_kit.history import dtypes, records_to_frame, schema_table
from billing_kit.history._cache import upsert
from billing_kit.history._frames import (
    _build_from_structs,
    build_frame,
    decode,
    major_units,
)
from billing_kit.history._join import concat_frames, conform, frame_from_pages
from billing_kit.history._schema import OBJECT_KINDS, SCHEMAS

DEC = pd.ArrowDtype(pa.decimal128(18, 3))
STR = pd.ArrowDtype(pa.string())
BOOL = pd.ArrowDtype(pa.bool_())
UTC = pd.DatetimeTZDtype("ns", "UTC")


def _charge_ok() -> dict[str, Any]:
    return {
        "id": "ch_ok",
        "object": "charge",
        "created": 1_700_000_000,
        "status": "succeeded",
        "currency": "usd",
        "amount": 1234,
        "amount_captured": 1234,
        "amount_refunded": 234,
        "captured": True,
        "paid": True,
        "refunded": False,
        "disputed": False,
        "balance_transaction": {
            "id": "txn_1",
            "object": "balance_transaction",
            "currency": "usd",
            "fee": 66,
            "net": 1168,
            "amount": 1234,
        },
        "customer": "cus_1",
        "payment_intent": "pi_1",
        "payment_method": "pm_1",
        "description": "Order 7",
        "failure_code": None,
        "failure_message": None,
        "metadata": {"order_id": "7"},
        "outcome": {
            "type": "authorized",
            "reason": None,
            "network_status": "approved_by_network",
            "risk_level": "normal",
            "risk_score": 12,
            "seller_message": "Payment complete.",
        },
        "payment_method_details": {
            "type": "card",
            "card": {
                "brand": "visa",
                "last4": "4242",
                "country": "US",
                "exp_month": 12,
                "exp_year": 2030,
                "funding": "credit",
            },
        },
    }


def _charge_declined() -> dict[str, Any]:
    return {
        "id": "ch_no",
        "object": "charge",
        "created": 1_700_000_060,
        "status": "failed",
        "currency": "jpy",
        "amount": 500,
        "amount_captured": 0,
        "amount_refunded": 0,
        "captured": False,
        "paid": False,
        "refunded": False,
        "disputed": False,
        "balance_transaction": None,
        "customer": {"id": "cus_2", "object": "customer"},
        "payment_intent": None,
        "payment_method": "card_9",
        "description": None,
        "failure_code": "card_declined",
        "failure_message": "Your card has insufficient funds.",
        "metadata": {},
        "outcome": {
            "type": "issuer_declined",
            "reason": "insufficient_funds",
            "network_status": "declined_by_network",
            "risk_level": "normal",
            "risk_score": 40,
            "seller_message": "The bank returned the decline code.",
        },
        "payment_method_details": {
            "type": "card",
            "card": {
                "brand": "mastercard",
                "last4": "9995",
                "country": "JP",
                "exp_month": 1,
                "exp_year": 2031,
                "funding": "debit",
            },
        },
    }


def _cat(values: list[Any], categories: list[str]) -> pd.Categorical:
    return pd.Categorical(values, categories=categories)


def _expected_charges() -> pd.DataFrame:
    ts = pd.to_datetime([1_700_000_000, 1_700_000_060], unit="s", utc=True).astype(UTC)
    return pd.DataFrame(
        {
            "id": pd.array(["ch_ok", "ch_no"], dtype=STR),
            "created": ts,
            "status": _cat(["succeeded", "failed"], ["succeeded", "pending", "failed"]),
            "currency": _cat(["usd", "jpy"], ["jpy", "usd"]),
            "amount_minor": pd.array([1234, 500], dtype="int64[pyarrow]"),
            "amount": pd.array([Decimal("12.34"), Decimal("500")], dtype=DEC),
            "amount_captured_minor": pd.array([1234, 0], dtype="int64[pyarrow]"),
            "amount_captured": pd.array([Decimal("12.34"), Decimal("0")], dtype=DEC),
            "amount_refunded_minor": pd.array([234, 0], dtype="int64[pyarrow]"),
            "amount_refunded": pd.array([Decimal("2.34"), Decimal("0")], dtype=DEC),
            "captured": pd.array([True, False], dtype=BOOL),
            "paid": pd.array([True, False], dtype=BOOL),
            "refunded": pd.array([False, False], dtype=BOOL),
            "disputed": pd.array([False, False], dtype=BOOL),
            "settlement_currency": _cat(["usd", None], ["usd"]),
            "fee_minor": pd.array([66, None], dtype="int64[pyarrow]"),
            "fee": pd.array([Decimal("0.66"), None], dtype=DEC),
            "net_minor": pd.array([1168, None], dtype="int64[pyarrow]"),
            "net": pd.array([Decimal("11.68"), None], dtype=DEC),
            "customer": pd.array(["cus_1", "cus_2"], dtype=STR),
            "payment_intent": pd.array(["pi_1", None], dtype=STR),
            "payment_method": pd.array(["pm_1", "card_9"], dtype=STR),
            "balance_transaction": pd.array(["txn_1", None], dtype=STR),
            "description": pd.array(["Order 7", None], dtype=STR),
            "brand": _cat(["visa", "mastercard"], ["mastercard", "visa"]),
            "last4": _cat(["4242", "9995"], ["4242", "9995"]),
            "card_country": _cat(["US", "JP"], ["JP", "US"]),
            "exp_month": pd.array([12, 1], dtype="int8[pyarrow]"),
            "exp_year": pd.array([2030, 2031], dtype="int16[pyarrow]"),
            "funding": _cat(["credit", "debit"], ["credit", "debit"]),
            "failure_code": _cat([None, "card_declined"], ["card_declined"]),
            "failure_message": _cat(
                [None, "Your card has insufficient funds."], ["Your card has insufficient funds."]
            ),
            "decline_code": _cat([None, "insufficient_funds"], ["insufficient_funds"]),
            "outcome_type": _cat(
                ["authorized", "issuer_declined"],
                ["authorized", "manual_review", "issuer_declined", "blocked", "invalid"],
            ),
            "outcome_reason": _cat([None, "insufficient_funds"], ["insufficient_funds"]),
            "network_status": _cat(
                ["approved_by_network", "declined_by_network"],
                ["approved_by_network", "declined_by_network"],
            ),
            "risk_level": _cat(
                ["normal", "normal"], ["normal", "elevated", "highest", "not_assessed", "unknown"]
            ),
            "risk_score": pd.array([12, 40], dtype="int8[pyarrow]"),
            "seller_message": _cat(
                ["Payment complete.", "The bank returned the decline code."],
                ["Payment complete.", "The bank returned the decline code."],
            ),
        }
    )


def test_charges_frame_matches_hand_built_frame() -> None:
    frame = records_to_frame("charges", [_charge_ok(), _charge_declined()])
    pd.testing.assert_frame_equal(frame, _expected_charges())


def test_raw_pages_decode_to_the_same_frame() -> None:
    page = msgspec.json.encode(
        {
            "object": "list",
            "url": "/v1/charges",
            "has_more": False,
            "data": [_charge_ok(), _charge_declined()],
        }
    )
    pd.testing.assert_frame_equal(records_to_frame("charges", [page]), _expected_charges())


def test_refunds_frame_matches_hand_built_frame() -> None:
    records = [
        {
            "id": "re_1",
            "created": 0,
            "status": "succeeded",
            "currency": "kwd",
            "amount": 1230,
            "charge": "ch_1",
            "payment_intent": None,
            "reason": "requested_by_customer",
            "failure_reason": None,
            "balance_transaction": "txn_9",
            "description": None,
        },
        {
            "id": "re_2",
            "created": 1,
            "status": "pending",
            "currency": "krw",
            "amount": 5000,
            "charge": {"id": "ch_2", "object": "charge"},
            "payment_intent": "pi_2",
            "reason": None,
            "failure_reason": None,
            "balance_transaction": None,
            "description": "late",
        },
    ]
    expected = pd.DataFrame(
        {
            "id": pd.array(["re_1", "re_2"], dtype=STR),
            "created": pd.to_datetime([0, 1], unit="s", utc=True).astype(UTC),
            "status": _cat(
                ["succeeded", "pending"],
                ["pending", "requires_action", "succeeded", "failed", "canceled"],
            ),
            "currency": _cat(["kwd", "krw"], ["krw", "kwd"]),
            "amount_minor": pd.array([1230, 5000], dtype="int64[pyarrow]"),
            "amount": pd.array([Decimal("1.230"), Decimal("5000")], dtype=DEC),
            "charge": pd.array(["ch_1", "ch_2"], dtype=STR),
            "payment_intent": pd.array([None, "pi_2"], dtype=STR),
            "reason": _cat(["requested_by_customer", None], ["requested_by_customer"]),
            "failure_reason": _cat([None, None], []),
            "balance_transaction": pd.array(["txn_9", None], dtype=STR),
            "description": pd.array([None, "late"], dtype=STR),
        }
    )
    pd.testing.assert_frame_equal(records_to_frame("refunds", records), expected)


def test_balance_transactions_payouts_disputes_customers_typed() -> None:
    bt = records_to_frame(
        "balance_transactions",
        [
            {
                "id": "txn_1",
                "created": 10,
                "available_on": 86400,
                "status": "pending",
                "type": "charge",
                "reporting_category": "charge",
                "currency": "bhd",
                "amount": 10_000,
                "fee": 590,
                "net": 9410,
                "exchange_rate": 0.376,
                "source": "ch_1",
                "description": None,
            }
        ],
    )
    assert bt.loc[0, "net"] == Decimal("9.410")
    assert bt.loc[0, "available_on"] == pd.Timestamp("1970-01-02", tz="UTC")
    assert bt["exchange_rate"].dtype == "Float64"
    payouts = records_to_frame(
        "payouts",
        [
            {
                "id": "po_1",
                "created": 5,
                "arrival_date": 86400,
                "status": "paid",
                "currency": "usd",
                "amount": 99,
                "automatic": True,
                "method": "standard",
                "type": "bank_account",
                "reconciliation_status": "completed",
                "failure_code": None,
                "failure_message": None,
                "balance_transaction": "txn_2",
                "destination": "ba_1",
                "description": None,
                "statement_descriptor": None,
            }
        ],
    )
    assert payouts.loc[0, "amount"] == Decimal("0.99")
    disputes = records_to_frame(
        "disputes",
        [
            {
                "id": "dp_1",
                "created": 5,
                "status": "needs_response",
                "reason": "fraudulent",
                "currency": "eur",
                "amount": 1000,
                "charge": "ch_1",
                "payment_intent": None,
                "is_charge_refundable": False,
                "evidence_details": {"due_by": 100},
            }
        ],
    )
    assert disputes.loc[0, "evidence_due_by"] == pd.Timestamp(100, unit="s", tz="UTC")
    customers = records_to_frame(
        "customers",
        [
            {
                "id": "cus_1",
                "created": 5,
                "email": "a@example.com",
                "name": "A",
                "currency": None,
                "balance": 0,
                "delinquent": False,
            },
            {
                "id": "cus_2",
                "created": 6,
                "email": None,
                "name": None,
                "currency": "jpy",
                "balance": -300,
                "delinquent": None,
                "deleted": True,
            },
        ],
    )
    # No currency: the balance has no known exponent, so no major amount is invented.
    assert customers["balance"].isna().tolist() == [True, False]
    assert customers.loc[1, "balance"] == Decimal("-300")
    assert customers["deleted"].tolist() == [False, True]
    for kind, frame in [
        ("balance_transactions", bt),
        ("payouts", payouts),
        ("disputes", disputes),
        ("customers", customers),
    ]:
        assert list(frame.columns) == [c.name for c in SCHEMAS[kind]]  # type: ignore[index]


@pytest.mark.parametrize("kind", OBJECT_KINDS)
def test_empty_result_has_the_declared_columns_and_dtypes(kind: Any) -> None:
    empty = records_to_frame(kind, [])
    assert len(empty) == 0
    assert list(empty.columns) == list(dtypes(kind))
    for name, dtype in dtypes(kind).items():
        assert empty[name].dtype == dtype, name


def test_exact_sums_across_zero_two_and_three_decimal_currencies() -> None:
    rows = []
    for i, (currency, amount) in enumerate(
        [
            ("jpy", 1),
            ("jpy", 999_999),
            ("usd", 1),
            ("usd", 10),
            ("usd", 20),
            ("kwd", 5),
            ("kwd", 1230),
            ("krw", 50),
            ("bhd", 10),
        ]
        * 1000
    ):
        rows.append(
            {
                "id": f"re_{i}",
                "created": i,
                "status": "succeeded",
                "currency": currency,
                "amount": amount,
            }
        )
    frame = records_to_frame("refunds", rows)
    totals = frame.groupby("currency", observed=True)["amount"].sum()
    assert totals["jpy"] == Decimal(1_000_000_000)
    assert totals["usd"] == Decimal("310.00")  # 0.01 + 0.10 + 0.20 = 0.31, exactly, 1000 times
    assert totals["kwd"] == Decimal("1235.000")
    assert totals["krw"] == Decimal(50_000)
    assert totals["bhd"] == Decimal("10.000")


def test_metadata_columns_on_request_and_time_zone() -> None:
    records = [_charge_ok(), _charge_declined()]
    one = records_to_frame("charges", records, metadata=["order_id", "missing"])
    assert one["metadata.order_id"].tolist() == ["7", pd.NA]
    assert one["metadata.missing"].isna().all()
    assert one["metadata.order_id"].dtype == STR
    every = records_to_frame("charges", records, metadata=True)
    assert [c for c in every.columns if c.startswith("metadata.")] == ["metadata.order_id"]
    paris = records_to_frame("charges", records, tz="Europe/Paris")
    assert str(paris["created"].dtype) == "datetime64[ns, Europe/Paris]"
    assert paris.loc[0, "created"] == pd.Timestamp(1_700_000_000, unit="s", tz="UTC")
    empty = records_to_frame("charges", [], metadata=["order_id"])
    assert empty["metadata.order_id"].dtype == STR


def test_unknown_status_is_kept_not_turned_into_nan() -> None:
    frame = records_to_frame("charges", [{**_charge_ok(), "status": "requires_review"}])
    assert frame.loc[0, "status"] == "requires_review"
    assert list(frame["status"].cat.categories) == [
        "succeeded",
        "pending",
        "failed",
        "requires_review",
    ]


def test_concat_and_parquet_round_trip_keep_dtypes(tmp_path: Any) -> None:
    a = build_frame("charges", [_charge_ok()])
    b = build_frame("charges", [_charge_declined()])
    both = concat_frames("charges", [a, b])
    assert both["currency"].dtype == pd.CategoricalDtype(["jpy", "usd"])
    both.to_parquet(tmp_path / "f.parquet")
    back = conform("charges", pd.read_parquet(tmp_path / "f.parquet"))
    pd.testing.assert_frame_equal(back, both)


def test_schema_table_lists_every_column() -> None:
    table = schema_table("charges")
    for column in SCHEMAS["charges"]:
        assert f"| `{column.name}` |" in table


def test_frames_can_be_edited_in_place() -> None:
    # Arrays made from Arrow buffers are read-only unless copied; analysts do assign to frames.
    frame = records_to_frame("charges", [_charge_ok(), _charge_declined()])
    frame.loc[0, "amount_minor"] = 1
    frame.loc[1, "risk_score"] = 99
    frame.loc[0, "paid"] = False
    assert frame["amount_minor"].tolist() == [1, 500]


def _page(records: list[dict[str, Any]], *, pretty: bool = False) -> bytes:
    body = {"object": "list", "url": "/v1/charges", "has_more": False, "data": records}
    text = msgspec.json.encode(body)
    return msgspec.json.format(text, indent=2) if pretty else text


def test_raw_pages_compact_indented_or_empty_frame_as_the_hand_built_frame() -> None:
    plain = {**_charge_declined(), "customer": "cus_2"}
    pages = [_page([_charge_ok()]), _page([plain], pretty=True), _page([])]
    expected = _expected_charges()
    pd.testing.assert_frame_equal(frame_from_pages("charges", pages, keep_metadata=False), expected)


def test_pages_not_of_the_declared_shape_fall_back_to_dicts() -> None:
    # The declined charge has its customer expanded into an object: not the declared shape.
    pages = [_page([_charge_ok(), _charge_declined()])]
    framed = frame_from_pages("charges", pages, keep_metadata=False)
    pd.testing.assert_frame_equal(framed, _expected_charges())
    single = frame_from_pages("charges", [msgspec.json.encode(_charge_ok())], keep_metadata=False)
    assert single["id"].tolist() == ["ch_ok"]


def test_msgspec_reader_and_dict_path_give_identical_frames() -> None:
    plain = {**_charge_declined(), "customer": "cus_2"}
    # A balance transaction left as its id, and parents that are null or missing.
    bare = {**_charge_ok(), "id": "ch_bare", "balance_transaction": "txn_9", "outcome": None}
    del bare["payment_method_details"]
    pages = [_page([_charge_ok(), bare]), _page([plain], pretty=True), _page([])]
    by_structs = _build_from_structs("charges", pages)
    pd.testing.assert_frame_equal(
        by_structs, build_frame("charges", decode(pages), keep_metadata=False)
    )
    assert by_structs["balance_transaction"].tolist() == ["txn_1", "txn_9", pd.NA]
    assert by_structs.loc[1, ["fee_minor", "brand", "outcome_type"]].isna().all()
    customers = [
        {"id": "cus_1", "created": 5, "email": "a@example.com", "balance": 0, "currency": "usd"},
        {"id": "cus_2", "deleted": True},
    ]
    pd.testing.assert_frame_equal(
        _build_from_structs("customers", [_page(customers)]),
        build_frame("customers", customers, keep_metadata=False),
    )


def test_pages_the_msgspec_reader_cannot_hold_fall_back_to_dicts() -> None:
    # An expanded customer where an id is declared, and a page that is one object, not a list.
    with pytest.raises(msgspec.ValidationError, match="customer"):
        _build_from_structs("charges", [_page([_charge_ok(), _charge_declined()])])
    with pytest.raises(msgspec.ValidationError, match="not a list page"):
        _build_from_structs("charges", [msgspec.json.encode(_charge_ok())])
    pages = [_page([_charge_ok()]), _page([_charge_declined()])]
    pd.testing.assert_frame_equal(
        frame_from_pages("charges", pages, keep_metadata=False), _expected_charges()
    )


def test_chunks_joined_as_framed_equal_one_frame_of_every_record() -> None:
    # Rows from many small chunks (categories differing between chunks, nulls, both decoders)
    # are joined into the same frame as one build over every record.
    records = []
    for i in range(23):
        charge = _charge_ok() if i % 3 else {**_charge_declined(), "customer": f"cus_{i}"}
        charge = {**charge, "id": f"ch_{i}", "currency": ["usd", "jpy", "kwd", "eur"][i % 4]}
        records.append(charge)
    records.append({**_charge_ok(), "id": "ch_null", "amount": None, "created": None})
    pages = [_page(records[i : i + 2]) for i in range(0, len(records), 2)]
    expected = build_frame("charges", records, keep_metadata=False)
    joined = frame_from_pages("charges", pages, keep_metadata=False, chunk_rows=300)
    pd.testing.assert_frame_equal(joined, expected)
    with_metadata = frame_from_pages("charges", records, keep_metadata=True, chunk_rows=5)
    pd.testing.assert_frame_equal(with_metadata, build_frame("charges", records))
    assert with_metadata["amount"].isna().sum() == 1


def test_joined_chunks_keep_more_categories_than_int16_codes_hold() -> None:
    rows = [
        {"id": f"re_{i}", "created": i, "currency": "usd", "amount": 1, "reason": f"r{i}"}
        for i in range(33_000)
    ]
    frame = frame_from_pages("refunds", rows, keep_metadata=False, chunk_rows=11_000)
    assert frame["reason"].cat.categories.size == 33_000
    assert frame["reason"].astype(str).tolist() == [row["reason"] for row in rows]
    pd.testing.assert_frame_equal(frame, build_frame("refunds", rows, keep_metadata=False))


def test_upsert_keeps_the_latest_row_per_id_newest_first_and_can_consume_its_input() -> None:
    def frame(rows: list[tuple[str, int | None, int]]) -> pd.DataFrame:
        records = [
            {"id": i, "created": c, "amount": a, "currency": "usd", "status": "succeeded"}
            for i, c, a in rows
        ]
        return build_frame("refunds", records)

    def parts() -> list[pd.DataFrame]:
        return [
            frame([("re_a", 10, 1), ("re_b", 10, 2), ("re_c", None, 3), ("re_d", 5, 4)]),
            frame([("re_b", 12, 20), ("re_e", 10, 5)]),
            frame([("re_a", 10, 100), ("re_f", 10, 6)]),
        ]

    # The same rows the long way: the last occurrence of each id, newest first, ties by id
    # descending, a missing time last.
    expected = (
        pd.concat(parts(), ignore_index=True)
        .drop_duplicates(subset="id", keep="last")
        .sort_values(["created", "id"], ascending=False, kind="stable", na_position="last")
        .reset_index(drop=True)
    )
    assert expected["id"].tolist() == ["re_b", "re_f", "re_e", "re_a", "re_d", "re_c"]
    assert expected["amount_minor"].tolist() == [20, 6, 5, 100, 4, 3]
    kept = upsert("refunds", parts())
    pd.testing.assert_frame_equal(kept, expected, check_categorical=False)
    given = parts()
    consumed = upsert("refunds", given, consume=True)
    pd.testing.assert_frame_equal(consumed, kept)
    assert given == []  # the list was emptied as its frames were joined


def test_upsert_matches_drop_duplicates_and_sort_on_random_frames() -> None:
    rng = random.Random(5)
    frames = []
    for part in range(4):
        rows = [
            {
                "id": f"re_{rng.randrange(300):03d}",
                "created": rng.choice([None, *range(50)]),  # ids may even disagree on created
                "amount": part * 1000 + i,
                "currency": "usd",
                "status": "succeeded",
            }
            for i in range(250)
        ]
        frames.append(build_frame("refunds", rows))
    expected = (
        pd.concat(frames, ignore_index=True)
        .drop_duplicates(subset="id", keep="last")
        .sort_values(["created", "id"], ascending=False, kind="stable", na_position="last")
        .reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(upsert("refunds", frames), expected, check_categorical=False)


@pytest.mark.parametrize("layout", ["arrow", "sliced", "chunked", "numpy"])
def test_major_units_are_exact_for_every_column_layout(layout: str) -> None:
    rng = random.Random(3)
    amounts = [None if rng.random() < 0.2 else rng.randrange(-(10**12), 10**12) for _ in range(300)]
    currencies = [rng.choice(["usd", "jpy", "kwd", None]) for _ in amounts]
    minor: Any = pd.array(amounts, dtype="int64[pyarrow]")
    if layout == "sliced":  # an Arrow slice: its values and bits start mid-buffer
        minor, currencies = minor[13:250], currencies[13:250]
        amounts = amounts[13:250]
    elif layout == "chunked":
        chunks = pa.chunked_array([pa.array(amounts[:100]), pa.array(amounts[100:])])
        minor = pd.arrays.ArrowExtensionArray(chunks)
    elif layout == "numpy":
        minor = pd.array(amounts, dtype="Int64")
    exponent = {"usd": 2, "jpy": 0, "kwd": 3}
    expected = [
        None
        if a is None or c is None
        else Decimal(a).scaleb(-exponent[c]).quantize(Decimal("0.001"))
        for a, c in zip(amounts, currencies, strict=True)
    ]
    got = major_units(minor, pd.Categorical(currencies))
    assert [None if pd.isna(v) else v for v in got] == expected
