"""Exactly once under faults: injected 500s/resets/commit-then-drop, 429s, and a killed process."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import billing_kit
from billing_kit import (
    Client,
    DuplicateCharge,
    Ledger,
    OutcomeUnknown,
    RateLimited,
    StripeUnavailable,
)

from .conftest import FAST, TEST_KEY, all_charges, all_payment_intents

pytestmark = pytest.mark.slow

CHARGES = 200


def test_200_charges_under_faults_leave_200_charges_and_200_rows(
    sandbox: Any, connect_to: Callable[..., Client]
) -> None:
    client = connect_to(max_retries=6)
    customer = client.find_or_create_customer("faults@example.com")
    sandbox.configure(fault_rate=0.2, fault_seed=20261130)
    resumed = 0
    for index in range(CHARGES):
        for _ in range(5):
            try:
                client.charge(
                    customer, 10, "usd", payment_method="pm_card_visa", description=f"#{index}"
                )
                break
            except (StripeUnavailable, RateLimited) as exc:
                # Retries ran out: the user's remedy is to run the same call again, which resumes
                # the pending attempt under the same key instead of charging twice.
                assert exc.idempotency_key is not None
                resumed += 1
        else:  # pragma: no cover - five rounds of seven faulted attempts in a row
            pytest.fail(f"charge #{index} never got through")
    sandbox.configure(fault_rate=0.0)

    charges = all_charges(client)
    rows = [row for row in client.ledger.rows() if row.kind == "charge"]
    assert len(charges) == CHARGES
    assert len(rows) == CHARGES
    assert all(row.outcome == "succeeded" for row in rows)
    assert {row.charge_id for row in rows} == {charge.id for charge in charges}
    assert sorted(c.description for c in charges) == sorted(f"#{i}" for i in range(CHARGES))
    by_key = {c.metadata["bk_attempt"]: c.id for c in charges}
    assert by_key == {row.idempotency_key: row.charge_id for row in rows}

    stats = client.stats
    replays = sum(row.replays for row in rows)
    print(
        f"\nfault run: {CHARGES} charges, {stats.attempts} HTTP attempts, {stats.retries} "
        f"retries, {replays} replays (ledger) / {stats.replays} (transport), {resumed} re-runs"
    )
    # Faults really happened and were absorbed by retries; some were committed-then-dropped.
    assert stats.retries > 0
    assert sum(row.http_attempts for row in rows) > CHARGES


def test_rate_limit_429s_are_retried(sandbox: Any, connect_to: Callable[..., Client]) -> None:
    # 5/s with a burst of 5 on the server, no pacing on the client: the sixth charge hits a 429.
    sandbox.configure(rate_limit=5)
    client = connect_to(max_retries=10, backoff=0.05, max_backoff=0.4)
    customer = client.find_or_create_customer("rl@example.com")
    for index in range(12):
        client.charge(customer, 10, "usd", payment_method="pm_card_visa", description=f"r{index}")
    sandbox.configure(rate_limit=None)
    assert len(all_charges(client)) == 12
    assert client.stats.retries > 0  # the sandbox did push back, and nothing was lost


def test_pacer_keeps_below_the_rate_limit(sandbox: Any, connect_to: Callable[..., Client]) -> None:
    # Same server limit as above; the client paces itself at 4/s, so no request is ever refused
    # (with max_retries=0 a single 429 would fail the test).
    sandbox.configure(rate_limit=5)
    client = connect_to(rate_limit=4, max_retries=0)
    customer = client.find_or_create_customer("pace@example.com")
    for index in range(12):
        client.charge(customer, 10, "usd", payment_method="pm_card_visa", description=f"p{index}")
    sandbox.configure(rate_limit=None)
    assert client.stats.retries == 0 and len(all_charges(client)) == 12


SCRIPT = textwrap.dedent(
    """
    import sys
    import billing_kit
    from billing_kit import DuplicateCharge

    key, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client = billing_kit.connect(key, api_base=url, backoff=0.05, max_backoff=0.5, max_retries=8)
    customer = client.find_or_create_customer("crash@example.com")
    for index in range(count):
        try:
            charge = client.charge(
                customer, "10.00", "usd", payment_method="pm_card_visa", description=f"#{index}"
            )
            print("charged", index, charge.id, flush=True)
        except DuplicateCharge as exc:
            print("skipped", index, exc.previous.id, flush=True)
    """
)


def _wait_for_intents(client: Client, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(all_payment_intents(client)) < count:
        assert time.monotonic() < deadline, "the sandbox never finished the abandoned request"
        time.sleep(0.05)


def _pending_keys(ledger_path: Path, *, sent: bool = False) -> set[str]:
    """Keys of pending rows; with ``sent``, only those whose request has gone out."""
    if not ledger_path.exists():
        return set()
    query = "SELECT idempotency_key FROM attempts WHERE outcome = 'pending'"
    if sent:
        query += " AND http_attempts >= 1"
    with sqlite3.connect(ledger_path, timeout=30) as db:
        return {key for (key,) in db.execute(query)}


def test_killed_process_rerun_finishes_without_duplicates(tmp_path: Path) -> None:
    from billing_kit.sandbox import start

    script = tmp_path / "charge_many.py"
    script.write_text(SCRIPT)
    home = tmp_path / "home"
    env = {"BILLING_KIT_HOME": str(home), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    count, latency_ms = 12, 1500
    with start(db=tmp_path / "sandbox.db") as server:
        command = [sys.executable, str(script), TEST_KEY, server.url, str(count)]
        first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        assert first.stdout is not None
        done = [first.stdout.readline() for _ in range(4)]
        assert all(line.startswith("charged") for line in done), done
        # Slow every request down, then kill the script once one charge has been pending for a
        # while: it is certainly mid-request (sent, no answer yet) when it dies.
        server.configure(latency_ms=latency_ms)
        seen: set[str] = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pending = _pending_keys(home / "ledger.sqlite3", sent=True)
            if pending & seen:
                break
            seen = pending
            time.sleep(0.3)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        first.stdout.close()
        killed_pending = _pending_keys(home / "ledger.sqlite3")
        assert len(killed_pending) == 1
        server.configure(latency_ms=0)
        time.sleep(latency_ms / 1000)  # let the orphaned request finish on the server side

        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        lines = [line.split() for line in second.stdout.splitlines()]
        assert [int(line[1]) for line in lines] == list(range(count))

        ledger = Ledger(home / "ledger.sqlite3", namespace="", mode="test")
        rows = [row for row in ledger.rows(all_namespaces=True) if row.kind == "charge"]
        with _client_for(server.url, tmp_path) as client:
            charges = all_charges(client)
    assert len(charges) == count, "a duplicate (or missing) charge"
    assert sorted(c.description for c in charges) == sorted(f"#{i}" for i in range(count))
    assert len(rows) == count and all(row.outcome == "succeeded" for row in rows)
    assert {row.charge_id for row in rows} == {c.id for c in charges}
    resumed = next(row for row in rows if row.idempotency_key in killed_pending)
    # Sent before the kill and again after; the sandbox had committed it: the re-run is a replay.
    assert resumed.http_attempts >= 2 and resumed.replays >= 1
    outcome = {line[0] for line in lines}
    assert outcome == {"charged", "skipped"}
    print("\nkill test:", json.dumps({"killed_pending": 1, "rerun": second.stdout.count("\n")}))


def _client_for(url: str, tmp_path: Path) -> Client:
    import billing_kit

    return billing_kit.connect(TEST_KEY, api_base=url, home=tmp_path / "reader", **FAST)


def test_unknown_outcome_error_names_the_key(
    sandbox: Any, connect_to: Callable[..., Client]
) -> None:
    client = connect_to(max_retries=1)
    customer = client.find_or_create_customer("down@example.com")
    sandbox.configure(fault_rate=1.0, fault_seed=1)
    with pytest.raises(StripeUnavailable) as caught:
        client.charge(customer, 10, "usd", payment_method="pm_card_visa")
    key = caught.value.idempotency_key
    assert key is not None and key in str(caught.value)
    assert client.ledger.get(key).outcome == "pending"  # type: ignore[union-attr]
    sandbox.configure(fault_rate=0.0)
    charge = client.charge(customer, 10, "usd", payment_method="pm_card_visa")
    row = client.ledger.get(key)
    assert row is not None and row.outcome == "succeeded" and row.charge_id == charge.id
    assert len(all_charges(client)) == 1 and len(client.ledger.rows()) == 1
    with pytest.raises(DuplicateCharge):
        client.charge(customer, 10, "usd", payment_method="pm_card_visa")


def test_timeout_then_rerun_is_a_replay(sandbox: Any, connect_to: Callable[..., Client]) -> None:
    client = connect_to(max_retries=0, timeout=0.3)
    customer = client.find_or_create_customer("slow@example.com")
    sandbox.configure(latency_ms=800)
    with pytest.raises(StripeUnavailable) as caught:
        client.charge(customer, 10, "usd", payment_method="pm_card_visa", description="slow")
    sandbox.configure(latency_ms=0)
    _wait_for_intents(client, 1)  # the server finishes the request the client gave up on
    key = caught.value.idempotency_key
    assert key is not None and client.ledger.get(key).outcome == "pending"  # type: ignore[union-attr]
    charge = client.charge(customer, 10, "usd", payment_method="pm_card_visa", description="slow")
    row = client.ledger.get(key)
    assert row is not None and row.outcome == "succeeded" and row.charge_id == charge.id
    assert row.replays == 1 and row.http_attempts == 2
    assert len(all_charges(client)) == 1


def test_changed_card_after_an_attempt_that_arrived(
    sandbox: Any, connect_to: Callable[..., Client]
) -> None:
    # The first attempt timed out on the client but was charged; the re-run switches cards. The
    # earlier attempt is looked up in Stripe (metadata bk_attempt), found, and the re-run refused.
    client = connect_to(max_retries=0, timeout=0.3)
    customer = client.find_or_create_customer("switch@example.com")
    sandbox.configure(latency_ms=800)
    with pytest.raises(StripeUnavailable):
        client.charge(customer, 10, "usd", payment_method="pm_card_visa", description="order")
    sandbox.configure(latency_ms=0)
    _wait_for_intents(client, 1)
    with pytest.raises(DuplicateCharge) as caught:
        client.charge(customer, 10, "usd", payment_method="pm_card_mastercard", description="order")
    charges = all_charges(client)
    assert [c.id for c in charges] == [caught.value.previous.id]
    assert [row.outcome for row in client.ledger.rows()] == ["succeeded"]


def test_changed_card_after_an_attempt_that_never_ran(
    sandbox: Any, connect_to: Callable[..., Client]
) -> None:
    # A 429 means Stripe never ran the request. Re-run with another card: the lookup finds nothing,
    # the old attempt is marked abandoned, and the new card is charged — once.
    client = connect_to(max_retries=0)
    customer = client.find_or_create_customer("never@example.com")
    client.charge(customer, 11, "usd", payment_method="pm_card_visa")
    sandbox.configure(rate_limit=0.01)  # one token, then one every 100 s
    client.charge(customer, 12, "usd", payment_method="pm_card_visa")
    with pytest.raises(RateLimited):
        client.charge(customer, 10, "usd", payment_method="pm_card_visa", description="order")
    sandbox.configure(rate_limit=None)
    charge = client.charge(
        customer, 10, "usd", payment_method="pm_card_mastercard", description="order"
    )
    assert charge.brand == "mastercard"
    assert len(all_charges(client)) == 3
    assert [row.outcome for row in client.ledger.rows()] == [
        "succeeded",
        "succeeded",
        "abandoned",
        "succeeded",
    ]


CELL = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import billing_kit

    key, url, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    client = billing_kit.connect(key, api_base=url, backoff=0.02, max_backoff=0.2, max_retries=8)
    customer = client.find_or_create_customer("kernels@example.com")
    while not go.exists():
        time.sleep(0.005)
    try:
        print("charged", client.charge(customer, 42, "usd", payment_method="pm_card_visa").id)
    except billing_kit.DuplicateCharge as exc:
        print("skipped", exc.previous.id)
    """
)


def test_same_cell_in_two_kernels_charges_once(tmp_path: Path) -> None:
    from billing_kit.sandbox import start

    script = tmp_path / "cell.py"
    script.write_text(CELL)
    go = tmp_path / "go"
    env = {"BILLING_KIT_HOME": str(tmp_path / "home"), "HOME": str(tmp_path), "PATH": "/bin"}
    with start(db=tmp_path / "sandbox.db", latency_ms=200) as server:
        command = [sys.executable, str(script), TEST_KEY, server.url, str(go)]
        kernels = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)
        ]
        time.sleep(1.0)  # both are connected and waiting at the start line
        go.touch()
        outputs = [kernel.communicate(timeout=60)[0].split() for kernel in kernels]
        assert all(kernel.returncode == 0 for kernel in kernels)
        with _client_for(server.url, tmp_path) as client:
            charges = all_charges(client)
    assert len(charges) == 1
    assert {output[1] for output in outputs} == {charges[0].id}


def test_a_500_saved_under_the_key_is_settled_and_the_next_call_uses_a_new_key(
    sandbox: Any, connect_to: Callable[..., Client]
) -> None:
    # Stripe saves a 500 under the idempotency key and replays it (Idempotent-Replayed: true)
    # for 24 hours. Resending that key can never succeed: the kit must look the attempt up,
    # finish its row, and send the next call with a new key, also with allow_duplicate=True.
    client = connect_to(max_retries=2)
    customer = client.find_or_create_customer("saved500@example.com")
    sandbox.configure(fault_rate=1.0, fault_seed=5, fault_kinds=("saved_error",))
    details = {"payment_method": "pm_card_visa", "description": "wedged", "allow_duplicate": True}
    with pytest.raises(StripeUnavailable) as caught:
        client.charge(customer, 10, "usd", **details)  # type: ignore[arg-type]
    # Every request failed, the lookup too: the key is named and the row stays pending.
    spent = caught.value.idempotency_key
    assert spent is not None and caught.value.key_spent and spent in str(caught.value)
    row = client.ledger.get(spent)
    assert row is not None and row.outcome == "pending"
    assert row.http_attempts == 2 and row.replays == 0  # the first answer, then its replay

    sandbox.configure(fault_rate=0.0)
    with pytest.raises(StripeUnavailable, match="new key") as caught:
        client.charge(customer, 10, "usd", **details)  # type: ignore[arg-type]
    assert caught.value.idempotency_key == spent  # resumed, heard the replay, looked it up
    row = client.ledger.get(spent)
    assert row is not None and row.outcome == "failed" and row.http_attempts == 3
    assert all_payment_intents(client) == []  # the saved 500 charged nothing

    charge = client.charge(customer, 10, "usd", **details)  # type: ignore[arg-type]
    assert charge.succeeded
    assert [(c.id, c.metadata["bk_attempt"] != spent) for c in all_charges(client)] == [
        (charge.id, True)
    ]
    assert [r.outcome for r in client.ledger.rows()] == ["failed", "succeeded"]


def test_charges_under_every_fault_kind_including_saved_500s_charge_each_once(
    sandbox: Any, connect_to: Callable[..., Client]
) -> None:
    count = 60
    client = connect_to(max_retries=6)
    customer = client.find_or_create_customer("allfaults@example.com")
    sandbox.configure(
        fault_rate=0.3, fault_seed=20261201, fault_kinds=("error", "reset", "drop", "saved_error")
    )
    for index in range(count):
        for _ in range(8):
            try:
                client.charge(
                    customer, 10, "usd", payment_method="pm_card_visa", description=f"#{index}"
                )
                break
            except (StripeUnavailable, RateLimited):
                continue  # the user's remedy: run the same call again
        else:  # pragma: no cover - eight rounds of faults in a row
            pytest.fail(f"charge #{index} never got through")
    sandbox.configure(fault_rate=0.0)
    charges = all_charges(client)
    rows = [row for row in client.ledger.rows() if row.kind == "charge"]
    assert sorted(c.description for c in charges) == sorted(f"#{i}" for i in range(count))
    succeeded = [row for row in rows if row.outcome == "succeeded"]
    assert {row.charge_id for row in succeeded} == {c.id for c in charges}
    assert len(succeeded) == count
    spent = [row for row in rows if row.outcome != "succeeded"]
    assert spent, "the seed never injected a saved 500"
    assert all(row.outcome == "failed" and row.replays == 0 for row in spent)
    # Nothing was charged under a spent key.
    assert not {row.idempotency_key for row in spent} & {c.metadata["bk_attempt"] for c in charges}


HELD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import billing_kit

    key, url, held, go = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    client = billing_kit.connect(key, api_base=url, backoff=0.02, max_backoff=0.2)
    customer = client.find_or_create_customer("held@example.com")
    send = client._transport.request

    def held_send(method, path, *args, **kwargs):
        if method == "post" and path == "/v1/payment_intents":
            held.touch()  # the ledger row is written, the request not sent yet
            while not go.exists():
                time.sleep(0.01)
        return send(method, path, *args, **kwargs)

    client._transport.request = held_send
    charge = client.charge(customer, 42, "usd", payment_method="pm_card_visa", description="o7")
    print("charged", charge.id, flush=True)
    """
)


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert process.poll() is None, "kernel A exited before reaching the send"
        assert time.monotonic() < deadline, "kernel A never reached the send"
        time.sleep(0.02)


def test_kernel_held_between_reserve_and_send_is_never_charged_beside(tmp_path: Path) -> None:
    # Kernel A has written its ledger row and is about to send; kernel B runs the same charge
    # (customer, amount, currency, description) with another card. B finds nothing in Stripe
    # yet, but A's attempt may still be in flight: B must refuse (outcome unknown), not charge.
    from billing_kit.sandbox import start

    script = tmp_path / "held.py"
    script.write_text(HELD)
    home, held, go = tmp_path / "home", tmp_path / "held", tmp_path / "go"
    root = str(Path(billing_kit.__file__).resolve().parents[1])  # this checkout's billing_kit
    env = {"BILLING_KIT_HOME": str(home), "HOME": str(tmp_path), "PATH": "/bin", "PYTHONPATH": root}
    with start(db=tmp_path / "sandbox.db") as server:
        command = [sys.executable, str(script), TEST_KEY, server.url, str(held), str(go)]
        kernel_a = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        try:
            _wait_for(held, kernel_a)
            with billing_kit.connect(TEST_KEY, api_base=server.url, home=home, **FAST) as kernel_b:
                customer = kernel_b.find_or_create_customer("held@example.com")
                with pytest.raises(OutcomeUnknown) as caught:
                    kernel_b.charge(
                        customer, 42, "usd", payment_method="pm_card_mastercard", description="o7"
                    )
                (row_a,) = kernel_b.ledger.rows()
                assert row_a.outcome == "pending" and row_a.http_attempts == 0
                assert caught.value.idempotency_key == row_a.idempotency_key
                assert row_a.idempotency_key in str(caught.value) and "again after" in str(
                    caught.value
                )
                go.touch()
                output = kernel_a.communicate(timeout=60)[0].split()
                assert kernel_a.returncode == 0 and output[0] == "charged"
                # A finished: B's re-run now sees A's charge and refuses a duplicate.
                with pytest.raises(DuplicateCharge) as duplicate:
                    kernel_b.charge(
                        customer, 42, "usd", payment_method="pm_card_mastercard", description="o7"
                    )
                assert duplicate.value.previous.id == output[1]
                charges = all_charges(kernel_b)
                rows = kernel_b.ledger.rows()
        finally:
            go.touch()
            if kernel_a.poll() is None:
                kernel_a.kill()
            kernel_a.communicate(timeout=30)
    brands = [c.payment_method_details.card.brand for c in charges]
    assert [c.id for c in charges] == [output[1]] and brands == ["visa"]
    assert [(r.outcome, r.charge_id) for r in rows] == [("succeeded", output[1])]


def test_settling_looks_through_every_page_of_matches(
    sandbox: Any, connect_to: Callable[..., Client]
) -> None:
    # An attempt that timed out on the client but was charged, followed by 100 newer payments of
    # the same customer: the lookup must page past the first 100 to find it.
    client = connect_to(max_retries=0, timeout=0.3)
    customer = client.find_or_create_customer("pages@example.com")
    sandbox.configure(latency_ms=800)
    with pytest.raises(StripeUnavailable):
        client.charge(customer, 10, "usd", payment_method="pm_card_visa", description="late")
    sandbox.configure(latency_ms=0)
    _wait_for_intents(client, 1)
    for index in range(100):
        client.stripe.v1.payment_intents.create(
            {"amount": 500 + index, "currency": "usd", "customer": customer.id}
        )
    with pytest.raises(DuplicateCharge) as caught:
        client.charge(customer, 10, "usd", payment_method="pm_card_mastercard", description="late")
    assert caught.value.previous.brand == "visa"
    assert len(all_charges(client)) == 1
    assert [row.outcome for row in client.ledger.rows()] == ["succeeded"]
