"""The pure core, without a socket: parsing, idempotency phases, store sharing, knobs, doctests."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

from billing_kit.sandbox import Core, _forms
from billing_kit.sandbox._errors import StripeError
from billing_kit.sandbox._faults import Faults, Knobs, TokenBucket
from billing_kit.sandbox._routes import endpoints
from tests.support import TEST_KEY

AUTH = {"authorization": f"Bearer {TEST_KEY}"}
CHARGE = b"amount=1500&currency=usd&source=tok_visa"


@pytest.mark.parametrize(
    "module",
    [
        "_forms",
        "_ids",
        "_money_rules",
        "_cards",
        "_fees",
        "_balance",
        "_core",
        "__init__",
        "_server",
    ],
)
def test_doctests(module: str) -> None:
    imported = importlib.import_module(f"billing_kit.sandbox.{module}".replace(".__init__", ""))
    result = doctest.testmod(imported, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a=1", {"a": "1"}),
        (b"a[]=1&a[]=2", {"a": ["1", "2"]}),
        (b"a[0]=1&a[1]=2", {"a": ["1", "2"]}),
        (b"a[1]=2&a[0]=1", {"a": ["1", "2"]}),
        (b"a[0][b]=1&a[1][b]=2", {"a": [{"b": "1"}, {"b": "2"}]}),
        (b"s[address][line1]=x+y", {"s": {"address": {"line1": "x y"}}}),
        (b"metadata=", {"metadata": ""}),
        (b"created%5Bgte%5D=5&created%5Blt%5D=9", {"created": {"gte": "5", "lt": "9"}}),
        (b"", {}),
    ],
)
def test_form_decoding(raw: bytes, expected: dict[str, object]) -> None:
    assert _forms.decode(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"a[0]=1&a[2]=2",
        b"a=1&a[b]=2",
        b"a[b]=1&a=2",
        b"a]b=1",
        b"a[]=1&a[x]=2",
        b"\xff=1",
        b"a" + b"[x]" * 9 + b"=1",
    ],
)
def test_form_errors_are_400(raw: bytes) -> None:
    with pytest.raises(StripeError) as caught:
        _forms.decode(raw)
    assert caught.value.status == 400 and caught.value.body()["error"]["type"] == (
        "invalid_request_error"
    )


def test_in_flight_key_gets_409_until_finished() -> None:
    core = Core()
    headers = {**AUTH, "idempotency-key": "phase-1"}
    pending = core.begin("POST", "/v1/charges", body=CHARGE, headers=headers)
    assert not hasattr(pending, "status")  # reserved, not executed
    clash = core.handle("POST", "/v1/charges", body=CHARGE, headers=headers)
    assert clash.status == 409 and clash.body["error"]["code"] == "idempotency_key_in_use"
    first = pending.finish()
    replay = core.handle("POST", "/v1/charges", body=CHARGE, headers=headers)
    assert replay.body == first.body and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Original-Request"] == first.headers["Request-Id"]


def test_abandoned_key_runs_again() -> None:
    core = Core()
    headers = {**AUTH, "idempotency-key": "phase-2"}
    pending = core.begin("POST", "/v1/charges", body=CHARGE, headers=headers)
    pending.abandon()  # e.g. the connection was reset before it ran
    fresh = core.handle("POST", "/v1/charges", body=CHARGE, headers=headers)
    assert fresh.status == 200 and "Idempotent-Replayed" not in fresh.headers


def test_two_cores_on_one_file_share_state(tmp_path: Path) -> None:
    db = tmp_path / "two.db"
    one, two = Core(db), Core(db)
    made = one.handle("POST", "/v1/customers", body=b"email=a%40example.com", headers=AUTH)
    seen = two.handle("GET", f"/v1/customers/{made.body['id']}", headers=AUTH)
    assert seen.body == made.body
    listed = two.handle("GET", "/v1/customers", query=b"email=a%40example.com", headers=AUTH)
    assert [c["id"] for c in listed.body["data"]] == [made.body["id"]]
    one.close()
    two.close()


def test_reads_never_store(tmp_path: Path) -> None:
    core = Core()
    minted = core.handle("GET", "/v1/payment_methods/pm_card_visa", headers=AUTH)
    assert minted.status == 200 and minted.body["id"].startswith("pm_")
    assert core.handle("GET", "/v1/payment_methods", headers=AUTH).body["data"] == []


def test_clock_moves_created(tmp_path: Path) -> None:
    core = Core()
    before = core.handle("POST", "/v1/customers", headers=AUTH).body["created"]
    moved = core.handle("POST", "/v1/_sandbox/clock", body=b"advance=86400", headers=AUTH)
    after = core.handle("POST", "/v1/customers", headers=AUTH).body["created"]
    assert after - before >= 86_400 and moved.body["now"] >= after
    bad = core.handle("POST", "/v1/_sandbox/clock", body=b"advance=1&now=2", headers=AUTH)
    assert bad.status == 400


def test_token_bucket_with_a_fake_clock() -> None:
    now = [0.0]
    bucket = TokenBucket(2.0, clock=lambda: now[0])
    assert [bucket.allow("GET /v1/charges") for _ in range(3)] == [True, True, False]
    assert bucket.allow("POST /v1/charges")  # another endpoint, another bucket
    now[0] += 0.5
    assert bucket.allow("GET /v1/charges") and not bucket.allow("GET /v1/charges")


def test_fault_draws_follow_the_seed() -> None:
    draws = [Faults(Knobs(fault_rate=0.4, fault_seed=3)) for _ in range(2)]
    sequences = [[f.draw() for _ in range(200)] for f in draws]
    assert sequences[0] == sequences[1]
    hits = sum(kind is not None for kind in sequences[0])
    assert 40 <= hits <= 120  # about 40% of 200 draws
    assert all(Faults(Knobs()).draw() is None for _ in range(20))


def test_route_table_covers_the_issue() -> None:
    table = set(endpoints())
    for needed in [
        "POST /v1/customers",
        "GET /v1/customers",
        "DELETE /v1/customers/{id}",
        "POST /v1/customers/{id}/sources",
        "POST /v1/tokens",
        "POST /v1/payment_methods",
        "POST /v1/payment_methods/{id}/attach",
        "POST /v1/payment_methods/{id}/detach",
        "POST /v1/charges",
        "POST /v1/charges/{id}/capture",
        "GET /v1/charges/search",
        "POST /v1/payment_intents/{id}/confirm",
        "POST /v1/payment_intents/{id}/capture",
        "POST /v1/payment_intents/{id}/cancel",
        "POST /v1/refunds",
        "GET /v1/balance_transactions",
        "POST /v1/_sandbox/payouts/sweep",
        "GET /v1/disputes",
        "GET /v1/events",
    ]:
        assert needed in table


_FUZZ_KEYS = [
    "amount", "currency", "customer", "source", "payment_method", "charge", "payment_intent",
    "metadata", "metadata[a]", "expand[]", "expand[0]", "limit", "created", "created[gte]",
    "starting_after", "ending_before", "type", "types[]", "query", "confirm", "capture",
    "capture_method", "card[number]", "card[exp_month]", "card[exp_year]", "card", "email",
    "reason", "amount_to_capture", "evidence[uncategorized_text]",
    "invoice_settings[default_payment_method]", "automatic_payment_methods[enabled]",
    "payment_method_types[]", "off_session", "advance", "page", "default_source", "a[b][c]",
    "payout", "return_url",
]  # fmt: skip
_FUZZ_VALUES = [
    "", "0", "-1", "1000", "abc", "true", "false", "usd", "jpy", "kwd", "x" * 600,
    "pm_card_visa", "tok_visa", "tok_chargeDeclined", 'status:"succeeded"', "amount>5",
    "4242424242424242", "13", "2040", "charge.*", "data.customer", "customer",
    "balance_transaction", "latest_charge", "refunds", "é", "manual", "requested_by_customer",
    "winning_evidence", "pm_card_createDispute", "https://example.com",
]  # fmt: skip


def test_random_requests_never_get_a_500() -> None:
    """Seeded random params on every route: always a Stripe-style 2xx/4xx, never a crash."""
    import random
    from urllib.parse import urlencode

    from billing_kit.sandbox._routes import ROUTES

    core = Core()
    customer = core.handle("POST", "/v1/customers", body=b"source=tok_visa", headers=AUTH)
    charge = core.handle(
        "POST", "/v1/charges", body=b"amount=900&currency=usd&source=tok_visa", headers=AUTH
    )
    ids = [customer.body["id"], charge.body["id"], "pm_card_visa", "tok_visa", "ch_nope", "x"]
    rng = random.Random(2)
    for n in range(1500):
        route = rng.choice(ROUTES)
        path = route.template
        while "{id}" in path:
            path = path.replace("{id}", rng.choice(ids), 1)
        pairs = [(rng.choice(_FUZZ_KEYS), rng.choice(_FUZZ_VALUES + ids)) for _ in range(5)]
        encoded = urlencode(pairs[: rng.randint(0, 5)]).encode()
        headers = {**AUTH, "idempotency-key": f"fuzz-{n}"}
        if route.method == "GET":
            reply = core.handle("GET", path, query=encoded, headers=headers)
        else:
            reply = core.handle(route.method, path, body=encoded, headers=headers)
        assert reply.status < 500, (route.method, path, encoded, reply.body)
        assert ("error" in reply.body) is (reply.status >= 400)
        assert reply.headers["Request-Id"].startswith("req_")


def test_old_keys_are_pruned_on_start(tmp_path: Path) -> None:
    from billing_kit.sandbox import _idempotency

    db = tmp_path / "keys.db"
    core = Core(db)
    headers = {**AUTH, "idempotency-key": "old-1"}
    first = core.handle("POST", "/v1/customers", headers=headers)
    assert _idempotency.prune(core.store) == 0  # a fresh key stays
    with core.store.write() as conn:  # age it past the 24 h retention
        conn.execute("UPDATE idempotency_keys SET created = created - 90000")
    core.close()
    reopened = Core(db)
    again = reopened.handle("POST", "/v1/customers", headers=headers)
    assert again.status == 200 and again.body["id"] != first.body["id"]
    reopened.close()
