"""Orders against Stripe: every match class from the real sandbox, against hand-built frames."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest

import billing_kit
from billing_kit.reconcile import ORDER_CLASSES
from tests.support import TEST_KEY

DEC = pd.ArrowDtype(pa.decimal128(18, 3))
STR = pd.ArrowDtype(pa.string())
NOV_15_NOON = 1_763_208_000  # 2025-11-15T12:00:00Z


@pytest.fixture
def client(sandbox: Any) -> Any:
    with billing_kit.connect(TEST_KEY, api_base=sandbox.url) as connected:
        connected.stripe.raw_request("post", "/v1/_sandbox/clock", now=NOV_15_NOON)
        yield connected


def _dec(values: list[str | None]) -> Any:
    return pd.array([None if v is None else Decimal(v) for v in values], dtype=DEC)


def _str(values: list[str | None]) -> Any:
    return pd.array(values, dtype=STR)


def _charge(client: Any, who: Any, amount: str, currency: str, order: str | None, **kw: Any) -> Any:
    metadata = {"order_id": order} if order else None
    return client.charge(
        who,
        amount,
        currency,
        metadata=metadata,
        allow_duplicate=True,
        **{"payment_method": "pm_card_visa", **kw},
    )


def _newest_first(client: Any, *ids: str) -> list[str]:
    listed = client.charges_frame(progress=False)["id"].tolist()
    return sorted(ids, key=listed.index)


def test_every_order_class_against_a_hand_built_frame(client: Any) -> None:
    ana = client.find_or_create_customer("ana@example.com")
    bob = client.find_or_create_customer("bob@example.com")
    matched = _charge(client, ana, "10.00", "usd", "A-1")
    short = _charge(client, ana, "20.00", "usd", "A-2")
    euro = _charge(client, ana, "30.00", "eur", "A-3")
    extra = _charge(client, ana, "40.00", "usd", "A-5")
    twice_1 = _charge(client, ana, "11.00", "usd", "A-6")
    twice_2 = _charge(client, ana, "11.00", "usd", "A-6")
    once = _charge(client, ana, "12.00", "usd", "A-7")
    full = _charge(client, ana, "13.00", "usd", "A-8")
    client.refund(full)
    part = _charge(client, ana, "14.00", "usd", "A-9")
    client.refund(part, "4.00")
    disputed = _charge(client, ana, "15.00", "usd", "A-10", payment_method="pm_card_createDispute")
    with pytest.raises(billing_kit.CardDeclined) as declined:
        _charge(client, ana, "16.00", "usd", "A-11",
                payment_method="pm_card_visa_chargeDeclinedInsufficientFunds")  # fmt: skip
    failed = declined.value.charge_id
    held = _charge(client, ana, "17.00", "usd", "A-12", capture=False)
    loose = _charge(client, bob, "18.00", "usd", None)
    far = _charge(client, bob, "19.00", "usd", None)

    orders = pd.DataFrame(
        {
            "order_id": [
                "A-1",
                "A-2",
                "A-3",
                "A-4",
                "A-7",
                "A-7",
                "A-6",
                "A-8",
                "A-9",
                "A-10",
                "A-11",
                "A-12",
                None,
                None,
            ],
            "amount": [
                "10",
                "25.00",
                "30.00",
                "5.00",
                "12.00",
                "12.00",
                "11",
                "13",
                "14",
                "15",
                "16",
                "17",
                "18.00",
                "19.00",
            ],
            "currency": [
                "usd",
                "usd",
                "USD",
                "usd",
                "usd",
                "usd",
                "usd",
                "usd",
                "usd",
                "usd",
                "usd",
                "usd",
                "usd",
                "usd",
            ],
            "email": [""] * 12 + ["BOB@example.com", "bob@example.com"],
            "date": ["2025-11-15"] * 13 + ["2025-11-01"],
        }
    )
    result = client.reconcile_orders(orders, email="email", date="date", date_tolerance="3D")

    rows: list[tuple[Any, ...]] = [
        # class, order row, order key, order ccy, order amount, charge, ccy, amount, captured,
        # refunded, difference
        ("matched", 0, "A-1", "usd", "10", matched.id, "usd", "10", "10", "0", "0"),
        ("amount_mismatch", 1, "A-2", "usd", "25", short.id, "usd", "20", "20", "0", "5"),
        ("currency_mismatch", 2, "A-3", "usd", "30", euro.id, "eur", "30", "30", "0", None),
        ("missing_in_stripe", 3, "A-4", "usd", "5", None, None, None, None, None, None),
        ("duplicate_in_orders", 4, "A-7", "usd", "12", once.id, "usd", "12", "12", "0", "0"),
        ("duplicate_in_orders", 5, "A-7", "usd", "12", once.id, "usd", "12", "12", "0", "0"),
        *[
            ("duplicate_in_stripe", 6, "A-6", "usd", "11", twice, "usd", "11", "11", "0", "0")
            for twice in _newest_first(client, twice_1.id, twice_2.id)
        ],
        ("refunded", 7, "A-8", "usd", "13", full.id, "usd", "13", "13", "13", "0"),
        ("partially_refunded", 8, "A-9", "usd", "14", part.id, "usd", "14", "14", "4", "0"),
        ("disputed", 9, "A-10", "usd", "15", disputed.id, "usd", "15", "15", "0", "0"),
        ("failed", 10, "A-11", "usd", "16", failed, "usd", "16", "0", "0", "16"),
        ("uncaptured", 11, "A-12", "usd", "17", held.id, "usd", "17", "0", "0", "17"),
        ("suggested", 12, None, "usd", "18", loose.id, "usd", "18", "18", "0", "0"),
        # Two weeks before the charge: outside the 3-day tolerance, so no suggestion.
        ("missing_in_stripe", 13, None, "usd", "19", None, None, None, None, None, None),
    ]
    # Charges with no order come last, in the charges frame's order (newest first).
    amounts = {far.id: "19", extra.id: "40"}
    for charge in _newest_first(client, far.id, extra.id):
        rows.append(("missing_in_orders", None, None, None, None, charge, "usd", amounts[charge],
                     amounts[charge], "0", None))  # fmt: skip
    names = ["match", "order_row", "order_key", "order_currency", "order_amount", "charge",
             "charge_currency", "charge_amount", "amount_captured", "amount_refunded",
             "difference"]  # fmt: skip
    columns = list(zip(*rows, strict=True))
    expected = pd.DataFrame(
        {
            "match": pd.Categorical(columns[0], categories=list(ORDER_CLASSES)),
            "order_row": pd.array(columns[1], dtype="Int64"),
            "order_key": _str(list(columns[2])),
            "order_currency": _str(list(columns[3])),
            "order_amount": _dec(list(columns[4])),
            "charge": _str(list(columns[5])),
            "charge_currency": _str(list(columns[6])),
            "charge_amount": _dec(list(columns[7])),
            "amount_captured": _dec(list(columns[8])),
            "amount_refunded": _dec(list(columns[9])),
            "difference": _dec(list(columns[10])),
        }
    )
    pd.testing.assert_frame_equal(result.frame[names], expected)
    assert set(result.frame["match"]) == set(ORDER_CLASSES)
    assert result.frame["order_date"].dt.tz is not None
    summary = result.summary.set_index("match")
    assert summary.loc["missing_in_stripe", "count"] == 2
    assert summary.loc["missing_in_stripe", "amount"] == Decimal("24.00")
    assert summary.loc["missing_in_orders", "amount"] == Decimal("59.00")
    assert summary.loc["duplicate_in_stripe", "amount"] == Decimal("22.00")
    assert summary["count"].sum() == len(result.frame)


def test_orders_file_xlsx_round_trip_and_workbook(client: Any, tmp_path: Path) -> None:
    ana = client.find_or_create_customer("ana@example.com")
    yen = _charge(client, ana, "500", "jpy", "J-1")
    dinar = _charge(client, ana, "5.120", "kwd", "K-1")
    source = tmp_path / "orders.xlsx"
    pd.DataFrame(
        {"order_id": ["J-1", "K-1"], "amount": ["500", "5.12"], "currency": ["jpy", "kwd"]}
    ).to_excel(source, index=False)

    result = client.reconcile_orders(source, tz="Asia/Tokyo")
    assert result.frame["match"].tolist() == ["matched", "matched"]
    assert result.frame["order_row"].tolist() == [2, 3]  # the spreadsheet's line numbers
    assert result.frame["charge"].tolist() == [yen.id, dinar.id]
    assert result.frame["order_amount"].tolist() == [Decimal("500"), Decimal("5.12")]
    assert str(result.frame["charge_created"].dt.tz) == "Asia/Tokyo"

    written = result.to_excel(tmp_path / "out.xlsx")
    book = openpyxl.load_workbook(written)
    assert book.sheetnames == ["Summary", "Pairs"]
    pairs = book["Pairs"]
    header = [cell.value for cell in pairs[1]]
    assert "charge_created (Asia/Tokyo)" in header
    assert pairs.freeze_panes == "A2"
    assert pairs.auto_filter.ref == pairs.dimensions
    amount = header.index("order_amount") + 1
    yen_cell, dinar_cell = pairs.cell(row=2, column=amount), pairs.cell(row=3, column=amount)
    assert Decimal(str(yen_cell.value)) == Decimal("500")
    assert Decimal(str(dinar_cell.value)) == Decimal("5.12")
    # Each amount shows its own currency's decimals; times are real dates in the zone.
    assert (yen_cell.number_format, dinar_cell.number_format) == ("#,##0", "#,##0.000")
    created = pairs.cell(row=2, column=header.index("charge_created (Asia/Tokyo)") + 1)
    local = result.frame["charge_created"][0].tz_localize(None).to_pydatetime()
    assert created.value == local
    assert created.number_format == "yyyy-mm-dd hh:mm:ss"
    # Written whole, then renamed: no temporary file is left next to it.
    assert {p.name for p in tmp_path.iterdir()} == {"orders.xlsx", "out.xlsx", "bk-home"}


def test_bad_order_file_names_every_row_column_and_fix(client: Any, tmp_path: Path) -> None:
    source = tmp_path / "orders.csv"
    source.write_text(
        "order_id,amount,currency,date\n"
        "A-1,10.00,usd,2025-11-15\n"
        "A-2,12.345,usd,2025-11-15\n"
        "A-3,5,xyz,2025-11-15\n"
        "A-4,1.5,jpy,15/11/2025\n"
        "A-5,,usd,2025-11-15\n"
    )
    with pytest.raises(billing_kit.InvalidArgument) as error:
        client.reconcile_orders(source, date="date")
    message = str(error.value)
    assert "orders file 'orders.csv' has 5 bad value(s)" in message
    assert "line 3, column 'amount': Amount '12.345' has more decimals than USD allows" in message
    assert "line 4, column 'currency': Unknown currency 'xyz'" in message
    assert "line 5, column 'amount': Amount '1.5' has more decimals than JPY allows (0)" in message
    assert "line 5, column 'date': '15/11/2025' is not an ISO date" in message
    assert "line 6, column 'amount': the amount is empty" in message
    assert "line 2" not in message

    with pytest.raises(billing_kit.InvalidArgument, match=r"no column 'ref' \(the key= option"):
        client.reconcile_orders(source, key="ref")
    floats = pd.DataFrame({"order_id": ["A"], "amount": [12.5], "currency": ["usd"]})
    with pytest.raises(
        billing_kit.InvalidArgument, match=r"row 0, column 'amount': 12\.5 is a float"
    ):
        client.reconcile_orders(floats)
    with pytest.raises(billing_kit.InvalidArgument, match="date_tolerance must be a duration"):
        client.reconcile_orders(floats, date_tolerance="soon")


def test_since_until_window_applies_to_charges_and_dated_orders(client: Any) -> None:
    ana = client.find_or_create_customer("ana@example.com")
    november = _charge(client, ana, "10.00", "usd", "N-1")
    client.stripe.raw_request("post", "/v1/_sandbox/clock", now=NOV_15_NOON + 17 * 86_400)
    _charge(client, ana, "20.00", "usd", "D-1")  # 2 December: outside the window
    orders = pd.DataFrame(
        {
            "order_id": ["N-1", "D-1", "U-1"],
            "amount": ["10.00", "20.00", "30.00"],
            "currency": ["usd", "usd", "usd"],
            "date": ["2025-11-15T13:00:00+01:00", "2025-12-02", ""],
        }
    )
    result = client.reconcile_orders(
        orders, date="date", since="2025-11-01", until="2025-12-01", tz="Europe/Paris"
    )
    # The December order and charge are both left out; the undated order stays in.
    assert result.frame["order_key"].tolist() == ["N-1", "U-1"]
    assert result.frame["charge"].fillna("").tolist() == [november.id, ""]
    assert result.counts() == {"matched": 1, "missing_in_stripe": 1}
    assert str(result.frame["order_date"].dt.tz) == "Europe/Paris"
    assert result.frame["order_date"][0] == pd.Timestamp("2025-11-15T13:00:00", tz="Europe/Paris")
