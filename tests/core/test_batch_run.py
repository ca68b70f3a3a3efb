"""charge_batch sends valid rows once each: statuses, summary, files, re-runs and request cost."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_kit import Client, InvalidBatch, Ledger
from billing_kit._batch_store import BatchStore
from billing_kit._pan import find_card_number

from .conftest import all_charges

DECLINE = "pm_card_chargeDeclinedInsufficientFunds"


def _customers(client: Client, count: int) -> list[str]:
    emails = [f"c{i}@example.com" for i in range(count)]
    for email in emails:
        client.attach_payment_method(client.find_or_create_customer(email), "pm_card_visa")
    return emails


def _sheet(emails: list[str], amounts: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "email": emails,
            "amount": amounts or [f"{10 + i}.25" for i in range(len(emails))],
            "currency": ["usd"] * len(emails),
            "description": [f"Invoice {i}" for i in range(len(emails))],
            "notes": [f"kept {i}" for i in range(len(emails))],
        }
    )


def test_each_row_gets_a_status_and_declines_do_not_stop_the_batch(client: Client) -> None:
    emails = _customers(client, 6)
    sheet = _sheet(emails).assign(payment_method=[None, DECLINE, None, None, DECLINE, None])
    sheet["metadata.invoice"] = [f"INV-{i}" for i in range(6)]
    result = client.charge_batch(sheet, progress=False)

    frame = result.frame
    assert list(frame.columns[:6]) == list(sheet.columns[:6])  # input columns kept, in order
    assert list(frame["notes"]) == list(sheet["notes"])
    assert list(frame["status"]) == [
        "succeeded",
        "declined",
        "succeeded",
        "succeeded",
        "declined",
        "succeeded",
    ]
    assert set(frame.loc[frame["status"] == "declined", "decline_code"]) == {"insufficient_funds"}
    charges = {c.id: c for c in all_charges(client)}
    assert set(frame["charge_id"]) == set(charges)  # declines leave failed charges: ids given
    for _, row in frame.iterrows():
        charge = charges[row["charge_id"]]
        assert charge.description == row["description"]
        assert charge.metadata["invoice"] == row["metadata.invoice"]
        assert charge.metadata["bk_attempt"] == row["idempotency_key"]
    summary = result.summary
    assert summary.to_dict("records") == [
        {
            "status": "succeeded",
            "currency": "usd",
            "rows": 4,
            "amount": Decimal("10.25") + Decimal("12.25") + Decimal("13.25") + Decimal("15.25"),
            "total": "$51.00",
        },
        {
            "status": "declined",
            "currency": "usd",
            "rows": 2,
            "amount": Decimal("25.50"),
            "total": "$25.50",
        },
    ]


def test_existing_customers_cost_about_one_request_per_row(
    connect_to: Callable[..., Client],
) -> None:
    setup = connect_to()
    emails = _customers(setup, 60)
    # A fresh client on the same state folder: what a new kernel pays.
    client = connect_to()
    result = client.charge_batch(_sheet(emails), progress=False)
    assert set(result.frame["status"]) == {"succeeded"}
    assert client.stats.requests <= 1.1 * len(emails), client.stats
    assert len(all_charges(client)) == 60


def test_rerun_of_a_finished_batch_charges_nothing_and_says_how(client: Client) -> None:
    emails = _customers(client, 4)
    sheet = _sheet(emails).assign(payment_method=[None, DECLINE, None, None])
    first = client.charge_batch(sheet, progress=False)
    before = client.stats.requests

    again = client.charge_batch(sheet, progress=False)
    assert client.stats.requests == before
    assert list(again.frame["status"]) == [
        "already_charged",
        "declined",
        "already_charged",
        "already_charged",
    ]
    assert list(again.frame["charge_id"]) == list(first.frame["charge_id"])
    assert "new batch_id" in again.note and again.batch_id == first.batch_id
    assert len(all_charges(client)) == 4

    # The same rows in a sheet with one more row: the new row is charged, the others are not.
    longer = pd.concat([sheet, _sheet([emails[0]], ["99"]).assign(description="Extra")])
    grown = client.charge_batch(longer, progress=False)
    assert grown.batch_id != first.batch_id
    # Rows charged in the first batch are not charged again; the declined one is tried again.
    assert list(grown.frame["status"]) == [
        "already_charged",
        "declined",
        "already_charged",
        "already_charged",
        "succeeded",
    ]
    assert "charged in batch" in grown.frame["message"].iloc[0]
    assert grown.frame["charge_id"].iloc[0] == first.frame["charge_id"].iloc[0]
    assert len(all_charges(client)) == 6  # + the new row, + the second (failed) decline

    # On purpose: a new batch id charges every row again.
    on_purpose = client.charge_batch(sheet, batch_id="again-1", progress=False)
    assert list(on_purpose.frame["status"]) == ["succeeded", "declined", "succeeded", "succeeded"]
    assert set(on_purpose.frame["charge_id"]).isdisjoint(first.frame["charge_id"])


def test_skip_invalid_charges_the_valid_rows_only(client: Client) -> None:
    emails = _customers(client, 3)
    sheet = _sheet(emails, ["12.50", "12.505", "7"])
    with pytest.raises(InvalidBatch):
        client.charge_batch(sheet, progress=False)
    assert all_charges(client) == []
    result = client.charge_batch(sheet, skip_invalid=True, progress=False)
    assert list(result.frame["status"]) == ["succeeded", "invalid", "succeeded"]
    assert "amount" in result.frame["message"].iloc[1]
    assert len(all_charges(client)) == 2
    assert list(result.summary["status"]) == ["succeeded", "invalid"]


def test_dry_run_previews_without_sending(client: Client) -> None:
    emails = _customers(client, 3)
    sheet = pd.concat(
        [
            _sheet(emails, ["12.50", "700", "7"]),
            pd.DataFrame({"email": ["new@example.com"], "amount": ["5000"], "currency": ["jpy"]}),
        ]
    )
    before = len(client.customers())
    result = client.charge_batch(sheet, dry_run=True, progress=False)
    preview = result.preview
    assert preview is not None and result.dry_run
    assert (preview.rows, preview.to_send, preview.invalid, preview.already_charged) == (4, 4, 0, 0)
    assert (preview.existing_customers, preview.new_customers) == (3, 1)
    assert preview.totals.to_dict("records") == [
        {"currency": "jpy", "rows": 1, "amount": Decimal(5000), "total": "¥5,000"},
        {"currency": "usd", "rows": 3, "amount": Decimal("719.50"), "total": "$719.50"},
    ]
    assert list(preview.largest["amount"])[:2] == ["¥5,000", "$700.00"]
    assert "4 to charge" in str(preview)
    assert all_charges(client) == [] and client.ledger.rows() == []
    assert len(client.customers()) == before  # nothing created either

    client.charge_batch(sheet.iloc[:2], progress=False)
    again = client.charge_batch(sheet.iloc[:2], dry_run=True, progress=False)
    assert again.preview is not None and again.preview.already_charged == 2


def test_result_files_round_trip(client: Client, tmp_path: Path) -> None:
    emails = _customers(client, 2)
    result = client.charge_batch(_sheet(emails), progress=False)
    csv = pd.read_csv(result.to_csv(tmp_path / "out.csv"), dtype=str)
    assert list(csv["status"]) == ["succeeded", "succeeded"]
    assert list(csv["charge_id"]) == list(result.frame["charge_id"])
    book = pd.read_excel(result.to_excel(tmp_path / "out.xlsx"), sheet_name=None, dtype=str)
    assert list(book["results"]["charge_id"]) == list(result.frame["charge_id"])
    assert list(book["summary"]["total"]) == ["$21.50"]


def test_customer_without_a_payment_method_fails_only_its_row(client: Client) -> None:
    emails = _customers(client, 2)
    client.find_or_create_customer("nocard@example.com")
    sheet = _sheet([emails[0], "nocard@example.com", emails[1]])
    result = client.charge_batch(sheet, progress=False)
    assert list(result.frame["status"]) == ["succeeded", "failed", "succeeded"]
    assert "no default payment method" in result.frame["message"].iloc[1]
    assert result.unfinished.empty  # a final failure: a re-run would fail the same way


@settings(max_examples=50)
@given(batch_id=st.text(min_size=1, max_size=200), row_id=st.text(max_size=300))
def test_row_keys_never_look_like_card_numbers(
    tmp_path_factory: pytest.TempPathFactory, batch_id: str, row_id: str
) -> None:
    # A hex digest can hold 13+ digits that pass the Luhn check; charge() refuses such a key.
    ledger = Ledger(tmp_path_factory.mktemp("keys") / "l.sqlite3", namespace="n", mode="test")
    store = BatchStore(ledger)
    for key_round in range(3):
        key = store.key(batch_id, row_id, key_round)
        assert find_card_number(key) is None and len(key) <= 255
        assert key == store.key(batch_id, row_id, key_round)  # the same in every process
    assert store.key(batch_id, row_id, 0) != store.key(batch_id, row_id, 1)
    ledger.close()


def test_a_row_id_reused_in_another_sheet_for_another_charge_is_charged(client: Client) -> None:
    emails = _customers(client, 2)
    first = _sheet(emails).assign(row_id=["1", "2"])
    client.charge_batch(first, progress=False)
    # Next month's sheet numbers its rows 1, 2 again: other charges, not already charged.
    second = _sheet(emails, ["40", "41"]).assign(row_id=["1", "2"], description=["Dec 1", "Dec 2"])
    result = client.charge_batch(second, progress=False)
    assert list(result.frame["status"]) == ["succeeded", "succeeded"]
    # The same rows again under their ids in a grown sheet: recognised, not charged again.
    grown = pd.concat([second, _sheet([emails[0]], ["5"]).assign(row_id="3")])
    again = client.charge_batch(grown, progress=False)
    assert list(again.frame["status"]) == ["already_charged", "already_charged", "succeeded"]
    assert len(all_charges(client)) == 5
