"""Payouts against the bank: every class from real sandbox payouts, CSV and OFX statements."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest

import billing_kit
from billing_kit.reconcile import BANK_CLASSES
from billing_kit.reconcile._bank import reconcile_bank
from tests.support import TEST_KEY

DEC = pd.ArrowDtype(pa.decimal128(18, 3))
STR = pd.ArrowDtype(pa.string())
MONDAY = 1_762_732_800  # 2025-11-10T00:00:00Z


@pytest.fixture
def client(sandbox: Any) -> Any:
    with billing_kit.connect(TEST_KEY, api_base=sandbox.url) as connected:
        yield connected


@pytest.fixture
def payouts(client: Any) -> list[dict[str, Any]]:
    """One automatic payout a day, Monday 10 to Friday 14 November 2025, oldest first."""
    for day, amount in enumerate(["50.00", "60.00", "70.00", "80.00", "90.00"]):
        client.stripe.raw_request("post", "/v1/_sandbox/clock", now=MONDAY + day * 86_400 + 36_000)
        client.charge(f"p{day}@example.com", amount, "usd", payment_method="pm_card_bypassPending")
        client.stripe.raw_request("post", "/v1/_sandbox/payouts/sweep")
    listed = client.stripe.v1.payouts.list({"limit": 100}).to_dict()["data"]
    return sorted(listed, key=lambda p: (p["arrival_date"], p["created"]))


def _day(unix: int) -> str:
    return pd.Timestamp(unix, unit="s", tz="UTC").strftime("%Y-%m-%d")


def _cents(minor: int) -> str:
    return f"{Decimal(minor).scaleb(-2):.2f}"


def _statement(payouts: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """Bank lines (date, amount, description, reference) with one planted case per class."""
    p1, p2, p3, p4, _ = payouts
    return [
        (_day(p1["arrival_date"]), _cents(p1["amount"]), "STRIPE TRANSFER", "R1"),
        # One business day later: within the default tolerance.
        (_day(p2["arrival_date"] + 86_400), _cents(p2["amount"]), "Stripe payout", "R2"),
        # Wednesday + 4 business days = Tuesday after the weekend: late.
        (_day(p3["arrival_date"] + 6 * 86_400), _cents(p3["amount"]), "STRIPE", "R3"),
        (_day(p4["arrival_date"]), _cents(p4["amount"] - 100), "STRIPE TRANSFER", "R4"),
        ("2025-11-20", "12.34", "STRIPE TRANSFER", "R5"),
        ("2025-11-11", "-900.00", "RENT NOVEMBER", "R6"),  # not a Stripe line: left out
    ]


def _expected(payouts: list[dict[str, Any]], lines: list[Any], tz: str) -> pd.DataFrame:
    p1, p2, p3, p4, p5 = payouts
    rows = [
        ("matched", p1, 0, 0),
        ("matched", p2, 1, 1),
        ("late", p3, 2, 4),
        ("amount_mismatch", p4, 3, 0),
        ("missing_deposit", p5, None, None),
        ("unexpected_deposit", None, 4, None),
    ]

    def when(unix: int | None) -> Any:
        return None if unix is None else pd.Timestamp(unix, unit="s", tz="UTC")

    def bank(i: int | None, field: int) -> Any:
        return None if i is None else lines[i][field]

    bank_dates = [None if i is None else pd.Timestamp(bank(i, 0), tz="UTC") for _, _, i, _ in rows]
    return pd.DataFrame(
        {
            "match": pd.Categorical([r[0] for r in rows], categories=list(BANK_CLASSES)),
            "payout": pd.array([p and p["id"] for _, p, _, _ in rows], dtype=STR),
            "arrival_date": pd.Series(
                [when(p and p["arrival_date"]) for _, p, _, _ in rows], dtype="datetime64[ns, UTC]"
            ).dt.tz_convert(tz),
            "payout_amount": pd.array(
                [p and Decimal(p["amount"]).scaleb(-2) for _, p, _, _ in rows], dtype=DEC
            ),
            "bank_date": pd.Series(bank_dates, dtype="datetime64[ns, UTC]").dt.tz_convert(tz),
            "bank_amount": pd.array(
                [None if i is None else Decimal(bank(i, 1)) for _, _, i, _ in rows], dtype=DEC
            ),
            "reference": pd.array([bank(i, 3) for _, _, i, _ in rows], dtype=STR),
            "business_days": pd.array([d for *_, d in rows], dtype="Int64"),
            "difference": pd.array(["0", "0", "0", "-1.00", None, None], dtype=DEC),
        }
    )


COLUMNS = ["match", "payout", "arrival_date", "payout_amount", "bank_date", "bank_amount",
           "reference", "business_days", "difference"]  # fmt: skip


def test_csv_statement_every_class_against_a_hand_built_frame(
    client: Any, payouts: list[dict[str, Any]], tmp_path: Path
) -> None:
    lines = _statement(payouts)
    path = tmp_path / "bank.csv"
    body = "".join(f"{d},{a},USD,{t},{r}\n" for d, a, t, r in lines)
    path.write_text("Booking Date,Amount,Currency,Description,Reference\n" + body)

    result = client.reconcile_bank(path, since="2025-11-01", until="2025-12-01")

    pd.testing.assert_frame_equal(result.frame[COLUMNS], _expected(payouts, lines, "UTC"))
    assert result.frame["line"].tolist()[:4] == [2, 3, 4, 5]  # the file's line numbers
    summary = result.summary.set_index("match")
    assert summary["count"].to_dict() == {
        "matched": 2, "late": 1, "amount_mismatch": 1, "missing_deposit": 1,
        "unexpected_deposit": 1,
    }  # fmt: skip
    assert summary.loc["unexpected_deposit", "amount"] == Decimal("12.34")
    assert summary.loc["missing_deposit", "amount"] == Decimal(payouts[4]["amount"]).scaleb(-2)

    book = openpyxl.load_workbook(result.to_excel(tmp_path / "bank.xlsx"))
    sheet = book["Pairs"]
    header = [cell.value for cell in sheet[1]]
    assert header[:5] == ["match", "payout", "payout_status", "automatic", "arrival_date (UTC)"]
    assert [sheet.cell(row=r, column=1).value for r in range(2, 8)] == list(
        _expected(payouts, lines, "UTC")["match"]
    )
    assert sheet.cell(row=6, column=header.index("business_days") + 1).value is None

    # A tolerance of 0 business days makes the next-day deposit late; a late limit of 3 leaves
    # the Tuesday deposit unpaired (missing, and unexpected).
    strict = client.reconcile_bank(path, tolerance=0, late_limit=3)
    assert strict.counts() == {"matched": 1, "late": 1, "amount_mismatch": 1,
                               "missing_deposit": 2, "unexpected_deposit": 2}  # fmt: skip


def _ofx(lines: list[tuple[str, str, str, str]]) -> str:
    transactions = "".join(
        f"<STMTTRN><TRNTYPE>{'CREDIT' if not a.startswith('-') else 'DEBIT'}</TRNTYPE>"
        f"<DTPOSTED>{d.replace('-', '')}</DTPOSTED><TRNAMT>{a}</TRNAMT><FITID>{r}</FITID>"
        f"<NAME>{t}</NAME></STMTTRN>\n"
        for d, a, t, r in lines
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        '<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" '
        'NEWFILEUID="NONE"?>\n<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO'
        "</SEVERITY></STATUS><DTSERVER>20251130120000</DTSERVER><LANGUAGE>ENG</LANGUAGE></SONRS>"
        "</SIGNONMSGSRSV1><BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID><STATUS><CODE>0</CODE>"
        "<SEVERITY>INFO</SEVERITY></STATUS><STMTRS><CURDEF>USD</CURDEF><BANKACCTFROM><BANKID>"
        "121000248</BANKID><ACCTID>000123456789</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE>"
        "</BANKACCTFROM><BANKTRANLIST><DTSTART>20251101</DTSTART><DTEND>20251130</DTEND>\n"
        f"{transactions}</BANKTRANLIST><LEDGERBAL><BALAMT>0.00</BALAMT><DTASOF>20251130"
        "</DTASOF></LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    )


def test_ofx_statement_gives_the_same_classes_and_trace_ids_pair_first(
    client: Any, payouts: list[dict[str, Any]], tmp_path: Path
) -> None:
    lines = _statement(payouts)
    path = tmp_path / "bank.ofx"
    path.write_text(_ofx(lines))

    result = client.reconcile_bank(path, tz="America/New_York")
    expected = _expected(payouts, lines, "America/New_York")
    pd.testing.assert_frame_equal(result.frame[COLUMNS], expected)

    # With trace ids on the payouts, the bank reference pairs a payout with its deposit even
    # when amount and date would not: the 12.34 line is the fifth payout's, booked late and short.
    frame = client.payouts_frame(progress=False)
    traces = {p["id"]: f"R{i + 1}" for i, p in enumerate(payouts)}
    frame["trace_id"] = frame["id"].map(traces).astype(STR)
    traced = reconcile_bank(client, path, payouts=frame, tz="America/New_York")
    fifth = traced.frame.set_index("payout").loc[payouts[4]["id"]]
    assert fifth["match"] == "amount_mismatch"
    assert fifth["reference"] == "R5"
    assert traced.counts() == {"matched": 2, "late": 1, "amount_mismatch": 2}


def test_unknown_layouts_and_bad_lines_are_refused_with_the_fix(
    client: Any, tmp_path: Path
) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("When,Value,Note\n2025-11-10,10.00,STRIPE\n")
    with pytest.raises(billing_kit.InvalidArgument) as error:
        client.reconcile_bank(odd)
    message = str(error.value)
    assert "unknown layout: no date or amount or currency column" in message
    assert "['When', 'Value', 'Note']" in message
    assert "name it with date='...'" in message
    assert "statement_currency='usd'" in message
    # Naming the columns reads the same file.
    named = client.reconcile_bank(odd, date="When", amount="Value", description="Note",
                                  statement_currency="usd")  # fmt: skip
    assert named.counts() == {"unexpected_deposit": 1}

    bad = tmp_path / "bad.csv"
    bad.write_text("date,amount,currency\n2025-11-10,10.00,usd\n10/11/2025,1.234,usd\n")
    with pytest.raises(billing_kit.InvalidArgument) as error:
        client.reconcile_bank(bad)
    message = str(error.value)
    assert "line 3, column 'amount': Amount '1.234' has more decimals than USD allows" in message
    assert "line 3, column 'date': '10/11/2025' is not an ISO date" in message

    broken = tmp_path / "broken.ofx"
    broken.write_text("<OFX><nonsense>")
    with pytest.raises(billing_kit.InvalidArgument, match="is not a readable OFX file"):
        client.reconcile_bank(broken)
    with pytest.raises(billing_kit.InvalidArgument, match="tolerance must be a whole number"):
        client.reconcile_bank(bad, tolerance=-1)
