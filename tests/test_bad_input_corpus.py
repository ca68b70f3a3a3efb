"""Guard for issue 9 (items 8-13): a corpus of bad input across the whole public surface.

Every case must raise the documented exception class, name the field in its message, never show a
card number, and leave everything as it was: each sandbox table (objects and idempotency keys)
byte for byte, the ledger database, the history cache folder, and no output file. One sandbox and
one client serve the module; the state is snapshotted before and after every single case.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import billing_kit
from billing_kit import Client, Customer, InvalidAmount, InvalidArgument, UnknownCurrency
from billing_kit._exceptions import BillingKitError
from billing_kit.cli import main
from billing_kit.history import InvalidOption
from billing_kit.sandbox import start
from tests.support import TEST_KEY

FAST: dict[str, Any] = {"backoff": 0.005, "max_backoff": 0.02, "rate_limit": 10_000}
CARDS = ("4242424242424242", "4000056655665556", "5555555555554444", "378282246310005")


@dataclass
class World:
    """The module's sandbox, client and the valid objects each case aims a bad argument at."""

    server: Any
    client: Client
    customer: str
    charge: str
    auth_only: str
    out_dir: Path


class CliRefused(Exception):
    """The command line exited non-zero; the message is what it printed on stderr."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("corpus-home")
    server = start(db=":memory:")
    client = billing_kit.connect(TEST_KEY, api_base=server.url, home=home, **FAST)
    try:
        customer = client.find_or_create_customer("held@example.com")
        client.attach_payment_method(customer, "pm_card_visa")
        paid = client.charge(customer, 20, "usd", description="paid")
        auth_only = client.charge(customer, 30, "usd", description="held", capture=False)
        out_dir = tmp_path_factory.mktemp("corpus-out")
        yield World(server, client, customer.id, paid.id, auth_only.id, out_dir)
    finally:
        client.close()
        server.stop()


def _tables(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    return {name: [tuple(row) for row in conn.execute(f'SELECT * FROM "{name}"')] for name in names}


def snapshot(world: World) -> dict[str, Any]:
    """Everything a bad call could have changed, read without HTTP."""
    with world.server.core.store.read() as conn:
        sandbox = _tables(conn)
    ledger = sqlite3.connect(f"file:{world.client.ledger.path}?mode=ro", uri=True)
    try:
        ledger_tables = _tables(ledger)
    finally:
        ledger.close()
    home = world.client.home
    files = sorted(
        (str(p.relative_to(home)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in home.rglob("*")
        if p.is_file() and p.name != "ledger.sqlite3" and not p.name.startswith("ledger.sqlite3-")
    )
    outputs = sorted(str(p) for p in world.out_dir.iterdir())
    return {"sandbox": sandbox, "ledger": ledger_tables, "home": files, "out": outputs}


def cli(*args: str) -> Callable[[World], object]:
    """A case that runs ``billing-kit`` and turns a non-zero exit into :class:`CliRefused`."""

    def run(world: World) -> object:
        argv = [a.replace("{out}", str(world.out_dir)) for a in args]
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exc:  # argparse's own refusals
                status = int(exc.code or 0)
        if status != 0:
            raise CliRefused(f"exit {status}: {err.getvalue()}")
        return status

    return run


def charge(
    amount: object = 5, currency: object = "usd", customer: object = "new@example.com", **kw: Any
) -> Callable[[World], object]:
    options = {"payment_method": "pm_card_visa", **kw}
    if "source" in kw or options.get("api") == "charges":
        options.pop("payment_method")
        options.setdefault("api", "charges")
    return lambda w: w.client.charge(customer, amount, currency, **options)  # type: ignore[arg-type]


def frame(kind: str = "charges", **options: Any) -> Callable[[World], object]:
    from billing_kit import history

    function = getattr(history, f"{kind}_frame")
    return lambda w: function(w.client, progress=False, **options)


CASES: list[tuple[str, Callable[[World], object], type[Exception], str]] = []


def case(name: str, call: Callable[[World], object], error: type[Exception], field: str) -> None:
    CASES.append((name, call, error, field))


# charge(): the amount
for value in [
    "12_50", "1_000.00", "9" * 400, 10**30, Decimal("1e30"), Decimal("NaN"), Decimal("-Infinity"),
    12.5, True, None, [5], "abc", "$12", "12.345", "-5", "0", "0.49", "1e3", "4242424242424242",
    "", "1,2345", b"5",
]:  # fmt: skip
    case(f"charge-amount-{value!r:.30}", charge(amount=value), InvalidAmount, "amount")
for value in ["usdd", "", None, 5, "us d"]:
    case(f"charge-currency-{value!r}", charge(currency=value), UnknownCurrency, "currency")
for value in ["false", "no", 0, 1, None, "True"]:
    case(f"charge-capture-{value!r}", charge(capture=value), InvalidArgument, "capture")
for value in ["no", 1, None, "False"]:
    case(f"charge-dup-{value!r}", charge(allow_duplicate=value), InvalidArgument, "allow_duplicate")
for value in [
    "pm_card_visa?customer=cus_x", "pm_x/../../charges", "4242424242424242", "4242 4242 4242 4242",
    "", "card_visa", 123, "pm_" + "a" * 300, "pm_card visa", "pm_card_visa#x", "pm_card%2Fvisa",
    "pm_é", "pm_",
]:  # fmt: skip
    case(
        f"charge-pm-{value!r:.30}", charge(payment_method=value), InvalidArgument, "payment_method"
    )
for value in ["tok_visa/../x", "tok_visa?x=1", "4000056655665556", "tok_", 7]:
    case(f"charge-source-{value!r}", charge(source=value), InvalidArgument, "source")
for value in ["cus_x/../../charges", "cus_x?email=a", "4242424242424242", 42, None, "", "cus_"]:
    case(f"charge-customer-{value!r}", charge(customer=value), InvalidArgument, "customer")
case("charge-customer-space", charge(customer="cus_a b"), InvalidArgument, "customer")
for value in [42, {"a": 1}, "card 4242 4242 4242 4242", "4000-0566-5566-5556", b"x"]:
    case(f"charge-description-{value!r}", charge(description=value), InvalidArgument, "description")
for value in [
    {"k": {"a": 1}}, {"k": [1]}, {"k": None}, {"k": 1.5}, {"k": True}, {"k": Decimal("NaN")},
    {"k": "x" * 501}, {"k" * 41: "v"}, {"a[b]": "v"}, {"": "v"}, {1: "v"}, {"bk_attempt": "x"},
    {f"k{i}": "v" for i in range(50)}, "x", ["a"], {"note": "4242424242424242"},
    {"note": "pay 5555 5555 5555 4444"}, {"4242424242424242": "v"},
]:  # fmt: skip
    case(f"charge-metadata-{value!r:.30}", charge(metadata=value), InvalidArgument, "metadata")
for value in ["paypal", None]:
    case(f"charge-api-{value!r}", charge(api=value), InvalidArgument, "api")
for value in ["", "x" * 256, 42, "4242424242424242"]:
    case(
        f"charge-key-{value!r:.20}",
        charge(idempotency_key=value),
        InvalidArgument,
        "idempotency_key",
    )

# capture(), refund(), get_charge(), recent_charges()
for value in ["ch_x/../../refunds", "pi_x?expand=y", "4242424242424242", 42, None, "re_123", ""]:
    case(f"capture-id-{value!r}", lambda w, v=value: w.client.capture(v), InvalidArgument, "charge")
for value in ["1_00", "9" * 400, 10**30, 1.5, "-1", "abc", True, "0"]:
    case(
        f"capture-amount-{value!r:.20}",
        lambda w, v=value: w.client.capture(w.auth_only, v),
        InvalidAmount,
        "amount",
    )
for value in ["ch_x/../../customers", "ch_x?amount=1", "4242424242424242", None, 3.5, "cus_x"]:
    case(f"refund-id-{value!r}", lambda w, v=value: w.client.refund(v), InvalidArgument, "charge")
for value in ["1_00", "9" * 400, 10**30, 0.5, "-1", True]:
    case(
        f"refund-amount-{value!r:.20}",
        lambda w, v=value: w.client.refund(w.charge, v),
        InvalidAmount,
        "amount",
    )
for value in ["because", 1, "fraudulent?x"]:
    case(
        f"refund-reason-{value!r}",
        lambda w, v=value: w.client.refund(w.charge, reason=v),
        InvalidArgument,
        "reason",
    )
for value in ["no", 1, None]:
    case(
        f"refund-dup-{value!r}",
        lambda w, v=value: w.client.refund(w.charge, allow_duplicate=v),
        InvalidArgument,
        "allow_duplicate",
    )
for value in ["ch_1/..", "pi_1?x=1"]:
    case(f"get-{value!r}", lambda w, v=value: w.client.get_charge(v), InvalidArgument, "charge")
for value in [0, 101, "5", True]:
    case(
        f"recent-limit-{value!r}",
        lambda w, v=value: w.client.recent_charges(v),
        InvalidArgument,
        "limit",
    )

# customers and payment methods
for value in ["not-an-email", "", None, 42, "4242424242424242@example.com", "a b@example.com"]:
    case(
        f"customer-email-{value!r}",
        lambda w, v=value: w.client.find_or_create_customer(v),
        InvalidArgument,
        "email",
    )
for value in [{"a": 1}, 42, "4242 4242 4242 4242"]:
    case(
        f"customer-name-{value!r}",
        lambda w, v=value: w.client.find_or_create_customer("new@example.com", name=v),
        InvalidArgument,
        "name",
    )
for value in [0, "5", True]:
    case(
        f"customers-limit-{value!r}",
        lambda w, v=value: w.client.customers(limit=v),
        InvalidArgument,
        "limit",
    )
case("customers-email", lambda w: w.client.customers(email="x"), InvalidArgument, "email")
for value in ["cus_x/../../charges?amount=100&currency=usd", "4242424242424242", "cus_x?y"]:
    case(
        f"attach-customer-{value!r:.30}",
        lambda w, v=value: w.client.attach_payment_method(v, "tok_visa"),
        InvalidArgument,
        "customer",
    )
for value in [
    "pm_card_visa?customer=cus_x", "tok_visa/../..", "", None, 42, "visa", "4242424242424242",
    "pi_123", "src_a.b", "pm_card_visa/attach",
]:  # fmt: skip
    case(
        f"attach-pm-{value!r}",
        lambda w, v=value: w.client.attach_payment_method(w.customer, v),
        InvalidArgument,
        "payment_method",
    )

BAD_CUSTOMER = Customer(id="cus_x/../../charges?amount=100", email=None, name=None)
case("charge-customer-object", charge(customer=BAD_CUSTOMER), InvalidArgument, "customer")
case(
    "attach-customer-object",
    lambda w: w.client.attach_payment_method(BAD_CUSTOMER, "tok_visa"),
    InvalidArgument,
    "customer",
)
case(
    "refund-charge-object",
    lambda w: w.client.refund(replace(w.client.get_charge(w.charge), id="ch_x/../../customers")),
    InvalidArgument,
    "charge",
)
case(
    "capture-charge-object",
    lambda w: w.client.capture(replace(w.client.get_charge(w.auth_only), id="ch_1?capture=1")),
    InvalidArgument,
    "charge",
)

# history options
for value in [float("nan"), float("inf"), float("-inf"), 10**30, -1, 1e20, "not a date", True, [1]]:
    case(f"history-since-{value!r}", frame(since=value), InvalidOption, "since")
for value in [float("nan"), float("inf"), 10**13]:
    case(f"history-until-{value!r}", frame(until=value), InvalidOption, "until")
case("history-inverted", frame(since=2000, until=1000), InvalidOption, "since")
for value in ["Mars/Base", 5]:
    case(f"history-tz-{value!r}", frame(tz=value), InvalidOption, "tz")
case("history-status", frame(status="paid"), InvalidOption, "status")
for value in ["cus_x/../y", "4242424242424242", 42]:
    case(f"history-customer-{value!r}", frame(customer=value), InvalidOption, "customer")
for value in [42, [""]]:
    case(f"history-metadata-{value!r}", frame(metadata=value), InvalidOption, "metadata")
for value in [0, -1, float("nan"), float("inf"), "5", True]:
    case(f"history-rate-{value!r}", frame(rate_limit=value), InvalidOption, "rate_limit")
for value in ["false", 0, None]:
    case(f"history-refresh-{value!r}", frame(refresh=value), InvalidOption, "refresh")
case("history-refunds-since", frame("refunds", since=float("nan")), InvalidOption, "since")
case("history-payouts-rate", frame("payouts", rate_limit=0), InvalidOption, "rate_limit")
case("history-bt-until", frame("balance_transactions", until=float("inf")), InvalidOption, "until")
case("history-disputes-refresh", frame("disputes", refresh="no"), InvalidOption, "refresh")

# the command line
OUT = "{out}/charges.csv"
for args, field in [
    (["--since", "nan"], "since"),
    (["--since", "inf"], "since"),
    (["--until", "99999999999999999999"], "until"),
    (["--since", ""], "since"),
    (["--since", "2024-02-01", "--until", "2024-01-01"], "since"),
    (["--tz", "Mars/Base"], "tz"),
    (["--status", "paid"], "status"),
]:
    case(f"cli-{' '.join(args)}", cli("pull", "charges", *args, "--out", OUT), CliRefused, field)
for out in ["{out}/charges.txt", "{out}/missing/charges.csv", "{out}"]:
    case(f"cli-out-{out}", cli("pull", "charges", "--out", out), CliRefused, "--out")
case("cli-kind", cli("pull", "invoices", "--out", OUT), CliRefused, "kind")
case("cli-no-out", cli("pull", "charges"), CliRefused, "--out")


def test_the_corpus_is_broad() -> None:
    assert len(CASES) > 150
    assert len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "call", "error", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_and_changes_nothing(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    call: Callable[[World], object],
    error: type[Exception],
    field: str,
) -> None:
    # Should the command line ever get as far as connecting, it would reach this sandbox and home.
    monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)
    monkeypatch.setenv("STRIPE_API_BASE", world.server.url)
    monkeypatch.setenv("BILLING_KIT_HOME", str(world.client.home))
    before = snapshot(world)
    with pytest.raises(error) as caught:
        call(world)
    assert type(caught.value) is error or error is CliRefused
    message = str(caught.value)
    assert field.lower() in message.lower(), message
    if error is not CliRefused:
        assert isinstance(caught.value, BillingKitError) and "Traceback" not in message
    compact = message.replace(" ", "").replace("-", "")
    assert not any(card in compact for card in CARDS), message
    assert snapshot(world) == before


def test_the_snapshot_sees_every_kind_of_change(world: World, tmp_path: Path) -> None:
    # The guard above is only as good as its snapshot: a real write must show in it.
    before = snapshot(world)
    world.client.charge(world.customer, 7, "usd", description="snapshot check")
    after = snapshot(world)
    assert after["sandbox"] != before["sandbox"] and after["ledger"] != before["ledger"]
    (world.out_dir / "stray.csv").write_text("x")
    try:
        assert snapshot(world)["out"] != after["out"]
    finally:
        (world.out_dir / "stray.csv").unlink()
