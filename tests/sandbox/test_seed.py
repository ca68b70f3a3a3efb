"""The bulk seeder: its history reads back through the official library; realistic, repeatable."""

from __future__ import annotations

import datetime as dt
import doctest
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import stripe

from billing_kit.cli import main as cli_main
from billing_kit.sandbox import SandboxServer, SeedSummary, _balance, _money_rules, seed, start
from tests.support import TEST_KEY

UNTIL = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
END = int(UNTIL.timestamp())
CHARGES = 2_000
DECLINE_CODES = {
    "generic_decline",
    "insufficient_funds",
    "lost_card",
    "stolen_card",
    "card_velocity_exceeded",
    "fraudulent",
}
FAILURE_CODES = {"card_declined", "expired_card", "incorrect_cvc", "processing_error"}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SeedSummary]:
    path = tmp_path_factory.mktemp("seed") / "history.db"
    return path, seed(path, charges=CHARGES, seed=7, until=UNTIL)


@pytest.fixture(scope="module")
def server(seeded: tuple[Path, SeedSummary]) -> Iterator[SandboxServer]:
    with start(db=seeded[0]) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: SandboxServer) -> stripe.StripeClient:
    return stripe.StripeClient(TEST_KEY, base_addresses={"api": server.url}, max_network_retries=0)


def rows(path: Path, table: str) -> list[dict[str, Any]]:
    """Every stored body of ``table``, oldest first."""
    with sqlite3.connect(path) as conn:
        found = conn.execute(f"SELECT body FROM {table} ORDER BY seq").fetchall()
    return [msgspec.json.decode(body) for (body,) in found]


def everything(client: stripe.StripeClient, resource: Any, **params: Any) -> list[Any]:
    """All objects of a list endpoint, paged by the library itself."""
    page = resource.list(params={"limit": 100, **params})
    return list(page.auto_paging_iter())


def test_summary_counts_what_was_written(seeded: tuple[Path, SeedSummary]) -> None:
    path, summary = seeded
    assert summary.charges == CHARGES == len(rows(path, "charges"))
    assert summary.succeeded + summary.failed == CHARGES
    assert summary.refunds == len(rows(path, "refunds"))
    assert summary.disputes == len(rows(path, "disputes"))
    assert summary.customers == len(rows(path, "customers")) == CHARGES // 20
    assert summary.payouts == len(rows(path, "payouts"))
    assert summary.balance_transactions == len(rows(path, "balance_transactions"))
    assert summary.end == UNTIL
    assert summary.start == UNTIL - dt.timedelta(days=90)
    assert "2,000 charges" in str(summary)


def test_created_range_page_through_the_library(
    client: stripe.StripeClient, seeded: tuple[Path, SeedSummary]
) -> None:
    low, high = END - 20 * 86_400, END - 10 * 86_400
    page = client.v1.charges.list(params={"limit": 100, "created": {"gte": low, "lt": high}})
    assert len(page.data) == 100 and page.has_more
    created = [charge.created for charge in page.data]
    assert created == sorted(created, reverse=True)
    assert all(low <= when < high for when in created)
    window = everything(client, client.v1.charges, created={"gte": low, "lt": high})
    expected = [c for c in rows(seeded[0], "charges") if low <= c["created"] < high]
    assert sorted(c.id for c in window) == sorted(c["id"] for c in expected)


def test_customer_filter_and_default_card(client: stripe.StripeClient) -> None:
    customers = client.v1.customers.list(params={"limit": 5}).data
    assert customers and all(c.email and c.email.endswith("@example.com") for c in customers)
    for customer in customers:
        charges = everything(client, client.v1.charges, customer=customer.id)
        assert all(charge.customer == customer.id for charge in charges)
        pm = customer.invoice_settings.default_payment_method
        assert pm is not None
        card = client.v1.payment_methods.retrieve(pm)
        assert card.customer == customer.id
        assert all(charge.payment_method == pm for charge in charges)
        assert all(
            charge.payment_method_details.card.last4 == card.card.last4 for charge in charges
        )


def test_expanded_balance_transactions_carry_the_fees(client: stripe.StripeClient) -> None:
    page = client.v1.charges.list(params={"limit": 100, "expand": ["data.balance_transaction"]})
    assert any(charge.status == "failed" for charge in everything(client, client.v1.charges))
    for charge in page.data:
        if charge.status == "failed":
            assert charge.balance_transaction is None and not charge.paid
            continue
        txn = charge.balance_transaction
        expected = _balance.charge_transaction_body(
            txn.id,
            charge.created,
            charge_id=charge.id,
            amount=charge.amount,
            currency=charge.currency,
            international=charge.payment_method_details.card.country != "US",
        )
        assert (txn.source, txn.type, txn.amount, txn.fee, txn.net) == (
            charge.id,
            "charge",
            expected["amount"],
            expected["fee"],
            expected["net"],
        )


def test_every_charge_transaction_matches_the_api_builder(seeded: tuple[Path, SeedSummary]) -> None:
    path = seeded[0]
    txns = {t["id"]: t for t in rows(path, "balance_transactions")}
    checked = 0
    for charge in rows(path, "charges"):
        if charge["status"] != "succeeded":
            continue
        stored = txns[charge["balance_transaction"]]
        built = _balance.charge_transaction_body(
            stored["id"],
            charge["created"],
            charge_id=charge["id"],
            amount=charge["amount"],
            currency=charge["currency"],
            international=charge["payment_method_details"]["card"]["country"] != "US",
        )
        assert stored == built
        checked += 1
    assert checked > CHARGES * 0.9


def test_proportions_are_realistic(seeded: tuple[Path, SeedSummary]) -> None:
    charges = rows(seeded[0], "charges")
    failed = [c for c in charges if c["status"] == "failed"]
    assert 0.05 <= len(failed) / len(charges) <= 0.10
    refunded = [c for c in charges if c["amount_refunded"]]
    assert 0.02 <= len(refunded) / len(charges) <= 0.08
    assert any(c["refunded"] for c in refunded) and any(not c["refunded"] for c in refunded)
    assert 1 <= sum(c["disputed"] for c in charges) <= len(charges) * 0.01
    brands = Counter(c["payment_method_details"]["card"]["brand"] for c in charges)
    assert {"visa", "mastercard", "amex", "jcb"} <= set(brands)
    currencies = Counter(c["currency"] for c in charges)
    assert {"usd", "eur", "gbp", "jpy", "kwd"} <= set(currencies)
    assert currencies.most_common(1)[0][0] == "usd"


def test_declines_use_real_codes_and_outcomes(seeded: tuple[Path, SeedSummary]) -> None:
    failed = [c for c in rows(seeded[0], "charges") if c["status"] == "failed"]
    codes = Counter(c["failure_code"] for c in failed)
    assert set(codes) <= FAILURE_CODES and codes["card_declined"] > len(failed) / 2
    reasons = {c["outcome"]["reason"] for c in failed}
    assert DECLINE_CODES & reasons and "highest_risk_level" in reasons
    for charge in failed:
        assert charge["outcome"]["type"] in {"issuer_declined", "blocked"}
        assert charge["failure_message"] and not charge["captured"]
        assert charge["amount_refunded"] == 0 and not charge["disputed"]


def test_amounts_are_valid_for_their_currency(seeded: tuple[Path, SeedSummary]) -> None:
    for charge in rows(seeded[0], "charges"):
        _money_rules.check_amount(charge["amount"], charge["currency"])  # raises if invalid
        if charge["currency"] == "kwd":
            assert charge["amount"] % 10 == 0
    for refund in rows(seeded[0], "refunds"):
        assert refund["amount"] > 0
        if refund["currency"] == "kwd":
            assert refund["amount"] % 10 == 0


def test_refunds_add_up_to_amount_refunded(
    client: stripe.StripeClient, seeded: tuple[Path, SeedSummary]
) -> None:
    refunds = everything(client, client.v1.refunds)
    assert len(refunds) == seeded[1].refunds
    by_charge: Counter[str] = Counter()
    failed = [r for r in refunds if r.status == "failed"]
    # One refund fails later (https://docs.stripe.com/refunds#failed-refunds): its money comes
    # back to the balance by a refund_failure transaction and off the charge's amount_refunded.
    assert len(failed) == 1 and failed[0].failure_reason == "expired_or_canceled_card"
    back = client.v1.balance_transactions.retrieve(failed[0].failure_balance_transaction)
    assert (back.type, back.reporting_category) == ("refund_failure", "refund_failure")
    assert back.source == failed[0].id and back.created > failed[0].created
    for refund in refunds:
        if refund.status == "failed":
            by_charge[refund.charge] += 0
            continue
        assert refund.status == "succeeded" and refund.created < END
        by_charge[refund.charge] += refund.amount
    charges = {c["id"]: c for c in rows(seeded[0], "charges")}
    for charge_id, total in by_charge.items():
        charge = charges[charge_id]
        assert total == charge["amount_refunded"] <= charge["amount"]
        assert charge["refunded"] == (total == charge["amount"])
        assert charge["created"] < END
    sample = next(iter(by_charge))
    listed = client.v1.refunds.list(params={"charge": sample, "limit": 10}).data
    assert sum(r.amount for r in listed if r.status != "failed") == by_charge[sample]


def test_payouts_link_their_balance_transactions(client: stripe.StripeClient) -> None:
    payouts = client.v1.payouts.list(params={"limit": 6}).data
    assert payouts and all(p.automatic for p in payouts)
    assert {p.status for p in payouts} <= {"paid", "in_transit"}
    for payout in payouts:
        txns = everything(client, client.v1.balance_transactions, payout=payout.id)
        own = [t for t in txns if t.id == payout.balance_transaction]
        assert own[0].amount == -payout.amount and own[0].type == "payout"
        # Stripe counts an automatic payout when it arrives: its transaction is available then.
        assert own[0].available_on == payout.arrival_date > payout.created
        assert sum(t.net for t in txns if t is not own[0]) == payout.amount
        assert all(t.available_on <= payout.created for t in txns if t is not own[0])
        assert {t.type for t in txns} >= {"charge"}
        # Weekdays only: 1970-01-01 was a Thursday.
        assert (payout.created // 86_400 + 3) % 7 < 5 and (
            payout.arrival_date // 86_400 + 3
        ) % 7 < 5
        paid = payout.status == "paid"
        assert payout.reconciliation_status == ("completed" if paid else "in_progress")
        assert payout.trace_id.status == ("supported" if paid else "pending")
        assert (payout.trace_id.value is not None) == paid


def test_every_payout_pays_out_exactly_its_transactions(seeded: tuple[Path, SeedSummary]) -> None:
    with sqlite3.connect(seeded[0]) as conn:
        sums = dict(conn.execute(
            "SELECT payout, SUM(net) FROM balance_transactions WHERE payout IS NOT NULL"
            " GROUP BY payout"))  # fmt: skip
        late = conn.execute(
            "SELECT COUNT(*) FROM balance_transactions JOIN payouts ON payouts.id = payout"
            " WHERE available_on > payouts.created AND balance_transactions.id !="
            " json_extract(payouts.body, '$.balance_transaction')"
        ).fetchone()[0]
    payouts = rows(seeded[0], "payouts")
    automatic = [p for p in payouts if p["automatic"]]
    assert len(automatic) >= 60  # one every business day once funds became available
    # Each payout's own (negative) transaction cancels the transactions it paid out.
    assert {p["id"]: 0 for p in automatic} == sums
    assert late == 0
    # One manual payout (its transaction swept into an automatic payout's list) and one failed
    # automatic payout whose money came back by a payout_failure transaction.
    manual = [p for p in payouts if not p["automatic"]]
    assert [(p["amount"], p["status"]) for p in manual] == [(10_000, "paid")]
    failed = [p for p in payouts if p["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["failure_code"] == "account_closed"
    back = {r["id"]: r for r in rows(seeded[0], "balance_transactions")}[
        failed[0]["failure_balance_transaction"]
    ]
    assert (back["type"], back["reporting_category"]) == ("payout_failure", "payout_reversal")
    assert back["amount"] == failed[0]["amount"] and back["source"] == failed[0]["id"]


def test_disputed_charges_have_disputes(client: stripe.StripeClient) -> None:
    disputes = everything(client, client.v1.disputes)
    assert disputes
    for dispute in disputes:
        charge = client.v1.charges.retrieve(dispute.charge)
        assert charge.disputed and dispute.amount == charge.amount
        assert dispute.balance_transactions[0].reporting_category == "dispute"


def test_seeded_objects_have_the_shape_of_api_objects(
    client: stripe.StripeClient, seeded: tuple[Path, SeedSummary]
) -> None:
    made = client.v1.charges.create(
        params={"amount": 700, "currency": "usd", "source": "tok_visa",
                "expand": ["balance_transaction"]}
    ).to_dict()  # fmt: skip
    stored = next(c for c in rows(seeded[0], "charges") if c["status"] == "succeeded")
    txn = client.v1.balance_transactions.retrieve(stored["balance_transaction"]).to_dict()
    assert set(stored) == set(made)
    for part in ("outcome", "billing_details", "payment_method_details"):
        assert set(stored[part]) == set(made[part])
    assert set(stored["payment_method_details"]["card"]) == set(
        made["payment_method_details"]["card"]
    )
    assert set(txn) == set(made["balance_transaction"])


def test_api_writes_work_after_seeding(
    client: stripe.StripeClient, seeded: tuple[Path, SeedSummary]
) -> None:
    customer = client.v1.customers.list(params={"limit": 1}).data[0]
    charge = client.v1.payment_intents.create(
        params={
            "amount": 1234,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": customer.invoice_settings.default_payment_method,
            "confirm": True,
            "payment_method_types": ["card"],
        }
    )
    assert charge.status == "succeeded"
    with sqlite3.connect(seeded[0]) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def dump(path: Path) -> bytes:
    with sqlite3.connect(path) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        # msgspec writes the BLOB columns (the JSON bodies) as base64 text.
        return msgspec.json.encode(
            {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
        )


def test_same_seed_writes_identical_rows(tmp_path: Path) -> None:
    first = seed(tmp_path / "a.db", charges=300, seed=5, until=UNTIL)
    second = seed(tmp_path / "b.db", charges=300, seed=5, until=UNTIL)
    other = seed(tmp_path / "c.db", charges=300, seed=6, until=UNTIL)
    assert first.charges == second.charges == other.charges
    assert dump(tmp_path / "a.db") == dump(tmp_path / "b.db")
    assert dump(tmp_path / "a.db") != dump(tmp_path / "c.db")


def test_seeding_again_adds_another_history(tmp_path: Path) -> None:
    path = tmp_path / "twice.db"
    seed(path, charges=100, seed=1, until=UNTIL)
    seed(path, charges=100, seed=2, until=UNTIL)
    assert len(rows(path, "charges")) == 200
    with pytest.raises(ValueError, match="already holds the history of seed 1"):
        seed(path, charges=100, seed=1, until=UNTIL)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"charges": -1}, "charges must be an integer >= 0, got -1"),
        ({"charges": 10, "customers": 0}, "customers must be an integer >= 1, got 0"),
        ({"charges": 10, "days": 0}, "days must be an integer >= 1, got 0"),
        ({"charges": 10, "until": dt.datetime(2026, 1, 1)}, "until must be timezone-aware"),
    ],
)
def test_bad_arguments_say_what_was_wrong(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        seed(tmp_path / "bad.db", **options)


def test_docstring_examples() -> None:
    module = sys.modules["billing_kit.sandbox.seed"]  # the package exports the function as `seed`
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_memory_database_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a database file"):
        seed(":memory:", charges=10)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cli.db"
    argv = ["sandbox", "seed", "--db", str(path), "--charges", "60", "--customers", "4"]
    assert cli_main([*argv, "--days", "30", "--seed", "9"]) == 0
    assert "60 charges" in capsys.readouterr().out
    assert len({c["customer"] for c in rows(path, "charges")}) <= 4
    assert cli_main([*argv, "--seed", "9", "--days", "30"]) == 2
    assert "already holds the history of seed 9" in capsys.readouterr().err


def test_seeding_a_database_being_served(tmp_path: Path) -> None:
    path = tmp_path / "served.db"
    with start(db=path) as running:
        client = stripe.StripeClient(
            TEST_KEY, base_addresses={"api": running.url}, max_network_retries=0
        )
        client.v1.customers.create(params={"email": "first@example.com"})
        summary = seed(path, charges=150, seed=3, until=UNTIL)
        listed = everything(client, client.v1.charges)
        assert len(listed) == summary.charges == 150
        made = client.v1.charges.create(
            params={"amount": 500, "currency": "usd", "source": "tok_visa"}
        )
        assert made.status == "succeeded"
