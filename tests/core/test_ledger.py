"""The ledger on its own: reservation rules, scrubbing, typed frame, several processes at once."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from billing_kit import Ledger
from billing_kit._ledger import scrub_params
from billing_kit._ledger_frame import LEDGER_SCHEMA

from .conftest import TEST_KEY

WINDOW = timedelta(minutes=10)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = Ledger(tmp_path / "ledger.sqlite3", namespace="test-ns", mode="test")
    yield ledger
    ledger.close()


def _reserve(ledger: Ledger, intent: str = "i1", guard: str = "g1", **kwargs: object):  # type: ignore[no-untyped-def]
    return ledger.reserve(
        "charge",
        intent,
        guard=guard,
        params={"amount": 500},
        customer="cus_1",
        amount=500,
        currency="usd",
        window=WINDOW,
        **kwargs,  # type: ignore[arg-type]
    )


def test_row_is_pending_before_sending(ledger: Ledger) -> None:
    reservation = _reserve(ledger)
    assert reservation.key is not None and not reservation.resumed
    row = ledger.get(reservation.key)
    assert row is not None and row.outcome == "pending" and row.mode == "test"
    assert row.created_at.tzinfo is not None and row.created_at.utcoffset() == timedelta(0)


def test_pending_attempt_is_resumed_with_its_key(ledger: Ledger) -> None:
    first = _reserve(ledger)
    assert first.key is not None
    ledger.release(first.key)  # as if the process had died mid-request
    again = _reserve(ledger)
    assert again.key == first.key and again.resumed
    assert len(ledger.rows()) == 1


def test_finished_success_is_a_duplicate_unless_allowed(ledger: Ledger) -> None:
    first = _reserve(ledger)
    assert first.key is not None
    ledger.finish(first.key, "succeeded", status="succeeded", charge_id="ch_1")
    second = _reserve(ledger)
    assert second.key is None and second.duplicate is not None
    assert second.duplicate.charge_id == "ch_1"
    third = _reserve(ledger, allow_duplicate=True)
    assert third.key not in (None, first.key)


def test_declined_or_failed_attempts_do_not_block(ledger: Ledger) -> None:
    first = _reserve(ledger)
    assert first.key is not None
    ledger.finish(first.key, "declined", status="failed", decline_code="generic_decline")
    second = _reserve(ledger)
    assert second.key is not None and second.key != first.key


def test_other_details_same_guard_pending_must_be_settled(ledger: Ledger) -> None:
    first = _reserve(ledger, intent="visa")
    assert first.key is not None
    ledger.release(first.key)
    other = _reserve(ledger, intent="mastercard")
    assert other.key is None and other.unsettled is not None
    assert other.unsettled.idempotency_key == first.key


def test_pending_attempt_another_thread_is_sending_must_be_settled(ledger: Ledger) -> None:
    # Thread A reserved "visa" and is sending it; thread B asks for "mastercard" (same guard).
    # B must settle A's attempt first, never get a key of its own beside it.
    sending = _reserve(ledger, intent="visa")
    assert sending.key is not None and ledger.is_sending(sending.key)
    other = _reserve(ledger, intent="mastercard")
    assert other.key is None and other.unsettled is not None
    assert other.unsettled.idempotency_key == sending.key
    assert len(ledger.rows()) == 1


def test_finish_only_moves_a_row_without_a_known_outcome(ledger: Ledger) -> None:
    first = _reserve(ledger)
    assert first.key is not None
    assert ledger.finish(first.key, "succeeded", status="succeeded", charge_id="ch_1")
    # A second kernel settling the same attempt late cannot overwrite what the first one heard.
    assert not ledger.finish(first.key, "abandoned", error_message="not found")
    assert not ledger.finish(first.key, "declined", charge_id="ch_2")
    row = ledger.get(first.key)
    assert row is not None and (row.outcome, row.charge_id) == ("succeeded", "ch_1")
    # "abandoned" is a guess (not found in Stripe): a late answer from Stripe overrules it.
    second = _reserve(ledger, intent="i2", guard="g2")
    assert second.key is not None
    assert ledger.finish(second.key, "abandoned", error_message="not found")
    assert ledger.finish(second.key, "succeeded", charge_id="ch_3")
    row = ledger.get(second.key)
    assert row is not None and (row.outcome, row.charge_id) == ("succeeded", "ch_3")


def test_given_up_attempt_stays_resumable_and_is_cleared_when_resumed(ledger: Ledger) -> None:
    first = _reserve(ledger)
    assert first.key is not None
    ledger.give_up(first.key, error_code=None, error_message="timed out")
    row = ledger.get(first.key)
    assert row is not None and row.outcome == "pending" and row.error_message == "timed out"
    assert not ledger.is_sending(first.key)
    again = _reserve(ledger)
    assert again.key == first.key and again.resumed and ledger.is_sending(first.key)
    row = ledger.get(first.key)
    assert row is not None and row.error_message is None


def test_duplicate_window_zero_disables_guard(ledger: Ledger) -> None:
    first = _reserve(ledger)
    assert first.key is not None
    ledger.finish(first.key, "succeeded")
    again = ledger.reserve("charge", "i1", guard="g1", params={}, window=timedelta(0))
    assert again.key is not None and again.key != first.key


def test_in_flight_key_is_not_shared_with_a_deliberate_duplicate(ledger: Ledger) -> None:
    first = _reserve(ledger)
    shared = _reserve(ledger)
    assert shared.key == first.key  # same cell run twice at once: one request, one charge
    deliberate = _reserve(ledger, allow_duplicate=True)
    assert deliberate.key != first.key


def test_explicit_key_is_used_and_reused(ledger: Ledger) -> None:
    first = _reserve(ledger, idempotency_key="my-key-1")
    assert first.key == "my-key-1" and not first.resumed
    again = _reserve(ledger, idempotency_key="my-key-1")
    assert again.key == "my-key-1" and again.resumed
    assert len(ledger.rows()) == 1


def test_namespaces_do_not_see_each_other(ledger: Ledger, tmp_path: Path) -> None:
    first = _reserve(ledger)
    assert first.key is not None
    ledger.finish(first.key, "succeeded")
    other = Ledger(ledger.path, namespace="live-other", mode="live")
    assert _reserve(other).duplicate is None
    assert len(ledger.rows()) == 1 and len(ledger.rows(all_namespaces=True)) == 2


def test_params_never_store_card_numbers_or_keys(ledger: Ledger) -> None:
    params = {
        "amount": 500,
        "card": {"number": "4242 4242 4242 4242", "cvc": "123", "exp_month": 12},
        "note": TEST_KEY,
        "pan": "4000000000000002",
        "list": ["5555555555554444", "fine"],
    }
    key = ledger.reserve("charge", "i", params=params).key
    assert key is not None
    stored = ledger.get(key)
    assert stored is not None
    for secret in ("4242 4242", "4000000000000002", "5555555555554444", "123", TEST_KEY):
        assert secret not in stored.params
    assert json.loads(stored.params)["list"] == ["[redacted]", "fine"]
    ledger.finish(key, "failed", error_message=f"Invalid API Key provided: {TEST_KEY}")
    row = ledger.get(key)
    assert row is not None and row.error_message and TEST_KEY not in row.error_message
    assert scrub_params({"cvc": "999"}) == {"cvc": "[redacted]"}


def test_frame_has_declared_types(ledger: Ledger) -> None:
    empty = ledger.frame()
    assert list(empty.columns) == list(LEDGER_SCHEMA) and len(empty) == 0
    declared = [str(pd.api.types.pandas_dtype(t)) for t in LEDGER_SCHEMA.values()]
    assert [str(t) for t in empty.dtypes] == declared
    key = _reserve(ledger).key
    assert key is not None
    ledger.note_attempt(key)
    ledger.note_attempt(key)
    ledger.note_replay(key)
    ledger.finish(key, "succeeded", status="succeeded", stripe_id="pi_1", charge_id="ch_1")
    frame = ledger.frame()
    expected = pd.DataFrame(
        {
            "mode": pd.array(["test"], dtype="string"),
            "kind": pd.array(["charge"], dtype="string"),
            "amount": pd.array([500], dtype="Int64"),
            "outcome": pd.array(["succeeded"], dtype="string"),
            "charge_id": pd.array(["ch_1"], dtype="string"),
            "http_attempts": pd.array([2], dtype="Int64"),
            "replays": pd.array([1], dtype="Int64"),
            "error_code": pd.array([None], dtype="string"),
        },
        index=pd.Index([1], dtype="int64", name="attempt"),
    )
    pd.testing.assert_frame_equal(frame[list(expected.columns)], expected)
    assert str(frame["created_at"].dtype) == "datetime64[ns, UTC]"


def test_database_is_wal(ledger: Ledger) -> None:
    with sqlite3.connect(ledger.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _reserve_many(path: str, worker: int, count: int) -> None:
    ledger = Ledger(path, namespace="ns", mode="test")
    for index in range(count):
        key = ledger.reserve("charge", f"w{worker}-{index}", params={"i": index}).key
        assert key is not None
        ledger.finish(key, "succeeded")


def _same_cell(path: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    ledger = Ledger(path, namespace="ns", mode="test")
    reservation = ledger.reserve("charge", "same", guard="same", params={}, window=WINDOW)
    queue.put(reservation.key)


def test_several_processes_share_one_ledger(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite3")
    Ledger(path, namespace="ns", mode="test")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_reserve_many, args=(path, w, 25)) for w in range(3)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    rows = Ledger(path, namespace="ns", mode="test").rows()
    assert len(rows) == 75 and len({row.idempotency_key for row in rows}) == 75

    # The same cell run in two kernels at once: both get the same key, so one charge.
    queue = context.Queue()
    pair = [context.Process(target=_same_cell, args=(path, queue)) for _ in range(2)]
    for process in pair:
        process.start()
    keys = {queue.get(timeout=60) for _ in pair}
    for process in pair:
        process.join(60)
    assert len(keys) == 1


def test_explicit_key_reused_for_other_details_is_a_conflict(ledger: Ledger) -> None:
    first = _reserve(ledger, idempotency_key="inv-1")
    assert first.key == "inv-1"
    ledger.finish("inv-1", "succeeded", charge_id="ch_1")
    other = _reserve(ledger, intent="other", idempotency_key="inv-1")
    assert other.key is None and other.conflict is not None
    row = ledger.get("inv-1")
    assert row is not None and row.outcome == "succeeded"  # the record is left as it was
