"""Write the course notebooks in notebooks/learn/ from the cell sources below, without outputs.

Run ``python tests/notebooks/build_course.py`` after editing a lesson here. Each lesson ends with
exercises in three cells sharing a number: an *answer* cell (tag ``answer:N``) the student fills
in, a *check* cell (``check:N``) whose assertion says what is wrong and hints at the fix, and a
collapsed *solution* (``solution:N``, a Markdown cell holding one Python block).
tests/notebooks/test_course.py runs every lesson under nbval with the solutions pasted into the
answer cells, and runs the committed lessons to show each check fails on the empty answer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.notebooks.build_notebooks import Cell, build

LEARN = Path(__file__).resolve().parents[2] / "notebooks" / "learn"


def exercise(number: int, task: str, answer: str, check: str, solution: str) -> list[Cell]:
    """The four cells of one exercise."""
    return [
        ("md", f"### Exercise {number}\n\n{task}"),
        ("code", answer, [f"answer:{number}"]),
        ("code", f"# Check exercise {number}: run me.\n{check}", [f"check:{number}"]),
        (
            "md",
            "<details><summary>Solution (try first!)</summary>\n\n"
            f"```python\n{solution}\n```\n\n</details>",
            [f"solution:{number}"],
        ),
    ]


PRIVATE_SANDBOX = """\
import stripe
import billing_kit as bk
from billing_kit.sandbox import start

server = start()  # a private sandbox for this lesson, in this kernel; gone when it stops
client = bk.connect("sk_test_sandbox", api_base=server.url)  # billing_kit's way
raw = client.stripe  # the official library's StripeClient, on the same sandbox
print(client.mode, server.url)"""

CLASSIC: list[Cell] = [
    (
        "md",
        """\
# 1. The classic checkout, with today's library

The tutorial this project grew from took a card in four steps: the browser turns the card into a
**token** (`tok_...`) with Stripe.js, the server **creates a customer** with that token, **charges**
the customer, and shows a **decline** nicely when the bank says no. The ideas still hold; the
code changed: keys come from the environment, calls go through a client object, and every write
carries an idempotency key.

Each step below shows the raw `stripe` call next to the billing_kit call that wraps it. Everything
runs against the local sandbox: no account, no network, no real money.""",
    ),
    (
        "md",
        """\
## Keys come from the environment, never from code

A secret key in a notebook or a repository ends up in someone else's hands
(https://docs.stripe.com/keys-best-practices). `bk.connect()` reads `STRIPE_API_KEY` from the
environment or a git-ignored `.env` file; with none, it starts the local sandbox. Live keys are
refused unless you ask for them.""",
    ),
    (
        "code",
        """\
import os
import stripe
import billing_kit as bk

print("STRIPE_API_KEY set:", "STRIPE_API_KEY" in os.environ)
client = bk.connect()  # no key: the local sandbox (a test key: your Stripe test mode)
raw = client.stripe  # the official library's StripeClient with the same key and base URL
print(client.mode, client.masked_key)  # keys are always shown masked""",
    ),
    (
        "md",
        """\
## Token -> customer

In a browser, Stripe.js turns the card into a token; in test mode, `tok_visa` is a ready-made
token for the test Visa 4242 4242 4242 4242. The raw call saves it on a new customer:""",
    ),
    (
        "code",
        """\
customer = raw.v1.customers.create({"email": "grace@example.com", "source": "tok_visa"})
customer.id, customer.default_source""",
    ),
    (
        "md",
        """\
billing_kit finds the customer by email first, so running the cell twice does not make two
customers:""",
    ),
    (
        "code",
        """\
ada = client.find_or_create_customer("ada@example.com")
ada.id == client.find_or_create_customer("ADA@example.com").id""",
    ),
    (
        "md",
        """\
## Charge

The legacy Charges API charges in one call. The amount is an integer in cents, and the
`idempotency_key` makes a retried request return the first answer instead of charging again.""",
    ),
    (
        "code",
        """\
import uuid

charge = raw.v1.charges.create(
    {"amount": 500, "currency": "usd", "customer": customer.id},
    options={"idempotency_key": str(uuid.uuid4())},
)
charge.id, charge.status, charge.amount""",
    ),
    (
        "md",
        """\
The same with billing_kit: the amount as people write it, a key chosen and written to the
ledger before sending, retries under that key, and a guard against charging twice by accident
(`allow_duplicate=True` here because you may run this cell again on purpose).""",
    ),
    (
        "code",
        """\
mine = client.charge(
    ada, "5.00", "usd", api="charges", source="tok_visa", allow_duplicate=True
)
mine.id, mine.status, str(mine.amount)""",
    ),
    (
        "md",
        """\
## Decline

A declined card answers HTTP 402. The library raises `stripe.CardError`; its `code` and
`decline_code` say why. Not handling it crashes the page (a classic bug in public issue
trackers).""",
    ),
    (
        "code",
        """\
try:
    raw.v1.charges.create({"amount": 500, "currency": "usd", "source": "tok_chargeDeclined"})
except stripe.CardError as error:
    print("raw:", error.code, error.error.decline_code if error.error else None)
try:
    client.charge(ada, "6.00", "usd", api="charges", source="tok_chargeDeclinedInsufficientFunds")
except bk.CardDeclined as declined:
    print("billing_kit:", declined.decline_code, "-", declined.reason)""",
    ),
    (
        "md",
        """\
What to tell the payer matters: for a lost or stolen card, or fraud, say only "your card was
declined", so a fraudster learns nothing (https://docs.stripe.com/declines/codes). The example
shop in `examples/flask_checkout/` does the whole flow in a web app.""",
    ),
    *exercise(
        1,
        """\
Charge **7.50 USD** to `ada` with the legacy Charges API and the test token `tok_visa`, using
billing_kit, and keep the result in `answer`.""",
        "answer = None  # your code here",
        """\
assert answer is not None, "answer is still None. Hint: answer = client.charge(ada, ...)"
assert isinstance(answer, bk.Charge), f"answer is a {type(answer).__name__}, not a bk.Charge"
assert answer.amount.minor == 750, f"charged {answer.amount}; 7.50 USD is 750 cents"
assert answer.status == "succeeded", f"status {answer.status!r}: use source='tok_visa'"
assert answer.payment_intent is None, "that went through PaymentIntents: pass api='charges'"
print("Exercise 1 solved")""",
        """\
answer = client.charge(
    ada, "7.50", "usd", api="charges", source="tok_visa", allow_duplicate=True
)""",
    ),
    *exercise(
        2,
        """\
Write `safe_message(decline_code)` returning what the payer may read: `"Your card was
declined."` for `lost_card`, `stolen_card`, `fraudulent` and any code you do not know, and
`"Your card has insufficient funds."` for `insufficient_funds`.""",
        """\
def safe_message(decline_code):
    ...  # your code here""",
        """\
cases = {"insufficient_funds": "Your card has insufficient funds.",
         "lost_card": "Your card was declined.", "stolen_card": "Your card was declined.",
         "fraudulent": "Your card was declined.", "something_new": "Your card was declined."}
for code, expected in cases.items():
    got = safe_message(code)
    assert got == expected, (
        f"safe_message({code!r}) returned {got!r}, expected {expected!r}. Hint: look the code "
        "up in a dict of the few codes you may explain, and fall back to the generic message")
print("Exercise 2 solved")""",
        """\
def safe_message(decline_code):
    explained = {"insufficient_funds": "Your card has insufficient funds."}
    return explained.get(decline_code, "Your card was declined.")""",
    ),
]

MONEY: list[Cell] = [
    (
        "md",
        """\
# 2. Money: minor units, decimals per currency, and why floats fail

Stripe amounts are **integers in the currency's smallest unit**: 1999 means $19.99, 500 means
¥500 (yen has no decimals), 1234 means 1.234 KWD (three decimals)
(https://docs.stripe.com/currencies#zero-decimal). A float on the way gets it wrong:""",
    ),
    (
        "code",
        """\
print(19.99 * 100, int(19.99 * 100))  # 1998.9999999999998 -> 1998: a cent lost
print(0.1 + 0.2 == 0.3)""",
    ),
    (
        "md",
        """\
The API refuses a non-integer amount outright; the raw call shows Stripe's error:""",
    ),
    (
        "code",
        """\
import stripe
import billing_kit as bk

client = bk.connect()
raw = client.stripe
try:
    raw.v1.payment_intents.create({"amount": 19.99, "currency": "usd"})
except stripe.InvalidRequestError as error:
    print(error.user_message)""",
    ),
    (
        "md",
        """\
`decimal.Decimal` is exact. billing_kit parses what people type into integer minor units with the
right exponent per currency, and refuses what the currency cannot hold:""",
    ),
    (
        "code",
        """\
from decimal import Decimal

print(Decimal("19.99") * 100)
print(bk.currency_exponent("usd"), bk.currency_exponent("jpy"), bk.currency_exponent("kwd"))
for text, currency in [("19.99", "usd"), ("500", "jpy"), ("5.120", "kwd")]:
    print(text, currency, "->", bk.parse_amount(text, currency))
print(bk.to_major(1999, "usd"), bk.format_amount(1234, "kwd"), bk.format_amount(500, "jpy"))""",
    ),
    (
        "code",
        """\
try:
    bk.parse_amount("12.5", "jpy")
except bk.InvalidAmount as error:
    print(error)""",
    ),
    (
        "md",
        """\
So the billing_kit call takes the amount as text, and the raw call the integer it becomes:""",
    ),
    (
        "code",
        """\
mine = client.charge("ada@example.com", "19.99", "usd", payment_method="pm_card_visa",
                     allow_duplicate=True)
theirs = raw.v1.payment_intents.create({"amount": 1999, "currency": "usd", "confirm": True,
    "payment_method": "pm_card_visa", "payment_method_types": ["card"]})
mine.amount.minor, theirs.amount""",
    ),
    *exercise(
        1,
        """\
Write `to_minor(amount, currency)` turning a string such as `"19.99"` into the integer Stripe
expects, for any currency, without floats (use `Decimal` and `bk.currency_exponent`).""",
        """\
def to_minor(amount, currency):
    ...  # your code here""",
        """\
for args, expected in {("19.99", "usd"): 1999, ("0.29", "usd"): 29, ("500", "jpy"): 500,
                       ("1.234", "kwd"): 1234}.items():
    got = to_minor(*args)
    assert got == expected, (
        f"to_minor{args} returned {got!r}, expected {expected}. Hint: "
        "int(Decimal(amount).scaleb(bk.currency_exponent(currency))); float(...) * 100 loses cents")
    assert isinstance(got, int), f"to_minor{args} returned a {type(got).__name__}, not an int"
print("Exercise 1 solved")""",
        """\
from decimal import Decimal

def to_minor(amount, currency):
    return int(Decimal(amount).scaleb(bk.currency_exponent(currency)))""",
    ),
    *exercise(
        2,
        """\
Three friends split a $10.00 bill. Put the three shares, in cents, in the list `answer`: they
must add up to exactly 1000 and differ by at most one cent.""",
        "answer = []  # your code here",
        """\
assert len(answer) == 3, f"answer has {len(answer)} shares. Hint: a list of 3 integers"
assert all(isinstance(share, int) for share in answer), "shares are integers (cents), not floats"
assert sum(answer) == 1000, (f"the shares add up to {sum(answer)}, not 1000. Hint: divmod(1000, 3) "
                             "gives the share and the cents left over; give those out one by one")
assert max(answer) - min(answer) <= 1, f"{answer} is not fair: shares may differ by one cent"
print("Exercise 2 solved")""",
        """\
share, left = divmod(1000, 3)
answer = [share + (1 if i < left else 0) for i in range(3)]""",
    ),
]

INTENTS: list[Cell] = [
    (
        "md",
        """\
# 3. PaymentIntents and 3D Secure

A **PaymentIntent** tracks one payment through its states
(https://docs.stripe.com/payments/paymentintents/lifecycle): `requires_payment_method` ->
`requires_confirmation` -> (`requires_action` when the bank wants 3D Secure) -> `processing` ->
`succeeded`. Each attempt to pay makes a charge; after a decline the same intent can take
another card. European cards often need 3D Secure (SCA), which the old Charges API cannot do.""",
    ),
    ("code", PRIVATE_SANDBOX),
    (
        "md",
        """\
## Step by step with the raw library""",
    ),
    (
        "code",
        """\
intent = raw.v1.payment_intents.create(
    {"amount": 2500, "currency": "eur", "payment_method_types": ["card"]})
print(intent.status)
intent = raw.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})
print(intent.status, intent.latest_charge)""",
    ),
    (
        "md",
        """\
`client.charge` does both calls (create with `confirm=true`) and returns the charge:""",
    ),
    (
        "code",
        """\
charge = client.charge("ana@example.com", "25.00", "eur", payment_method="pm_card_visa",
                       allow_duplicate=True)
charge.status, charge.payment_intent""",
    ),
    (
        "md",
        """\
## 3D Secure

The test card 4000 0027 6000 3184 (`pm_card_authenticationRequired`) always asks for
authentication. Confirming stops at `requires_action`: in a browser, Stripe.js would now show the
bank's challenge (`next_action`), then your server confirms again. The sandbox stands in for the
customer with `POST /v1/_sandbox/payment_intents/{id}/authenticate`
(`outcome=succeed` or `fail`), then the payment goes through.""",
    ),
    (
        "code",
        """\
sca = raw.v1.payment_intents.create({
    "amount": 4000, "currency": "eur", "payment_method": "pm_card_authenticationRequired",
    "confirm": True, "payment_method_types": ["card"], "return_url": "https://example.com/done"})
print(sca.status, "->", sca.next_action.type)
raw.raw_request("post", f"/v1/_sandbox/payment_intents/{sca.id}/authenticate")
print(raw.v1.payment_intents.retrieve(sca.id).status)""",
    ),
    (
        "md",
        """\
billing_kit's `client.charge` charges from a notebook, where no customer is there to
authenticate: it reports the card as declined with `authentication_required`, so you know to
collect that payment in a browser instead.""",
    ),
    (
        "code",
        """\
try:
    client.charge("ben@example.com", "40.00", "eur",
                  payment_method="pm_card_authenticationRequired")
except bk.CardDeclined as declined:
    print(declined.decline_code, "-", declined.reason)""",
    ),
    (
        "md",
        """\
A failed challenge sends the intent back to `requires_payment_method`, ready for another card:""",
    ),
    (
        "code",
        """\
again = raw.v1.payment_intents.create({
    "amount": 4000, "currency": "eur", "payment_method": "pm_card_authenticationRequired",
    "confirm": True, "payment_method_types": ["card"], "return_url": "https://example.com/done"})
raw.raw_request("post", f"/v1/_sandbox/payment_intents/{again.id}/authenticate",
                outcome="fail")
failed = raw.v1.payment_intents.retrieve(again.id)
failed.status, failed.last_payment_error.code""",
    ),
    (
        "md",
        """\
## Authorise now, capture later

A hotel, or a shop that ships later, first *authorises* the amount (the bank holds it) and
*captures* it when the service is delivered: `capture_method="manual"` stops at
`requires_capture` (https://docs.stripe.com/payments/place-a-hold-on-a-payment-method).""",
    ),
    (
        "code",
        """\
hold = raw.v1.payment_intents.create({
    "amount": 3000, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True,
    "payment_method_types": ["card"], "capture_method": "manual"})
print(hold.status, "->", raw.v1.payment_intents.capture(hold.id).status)
held = client.charge("chloe@example.com", "30.00", "eur", payment_method="pm_card_visa",
                     capture=False, allow_duplicate=True)
print("billing_kit: captured?", held.captured, "->", client.capture(held).captured)""",
    ),
    (
        "md",
        """\
## Exercises

The next cell makes a PaymentIntent that is waiting for the customer's 3D Secure challenge.""",
    ),
    (
        "code",
        """\
pending = raw.v1.payment_intents.create({
    "amount": 1500, "currency": "eur", "payment_method": "pm_card_authenticationRequired",
    "confirm": True, "payment_method_types": ["card"], "return_url": "https://example.com/done"})
pending.status""",
    ),
    *exercise(
        1,
        "Complete the challenge of `pending` successfully, so the payment succeeds.",
        "# your code here",
        """\
status = raw.v1.payment_intents.retrieve(pending.id).status
assert status == "succeeded", (
    f"pending is still {status!r}. Hint: the customer has not authenticated yet; in the sandbox "
    "POST /v1/_sandbox/payment_intents/<id>/authenticate with raw.raw_request")
print("Exercise 1 solved")""",
        """\
raw.raw_request("post", f"/v1/_sandbox/payment_intents/{pending.id}/authenticate")""",
    ),
    *exercise(
        2,
        """\
Write `next_step(status)` telling a server what to do with a PaymentIntent status:
`"fulfil"` for `succeeded`, `"authenticate"` for `requires_action`, `"ask for another card"` for
`requires_payment_method`, and `"wait for the webhook"` for `processing`.""",
        """\
def next_step(status):
    ...  # your code here""",
        """\
expected = {"succeeded": "fulfil", "requires_action": "authenticate",
            "requires_payment_method": "ask for another card", "processing": "wait for the webhook"}
for status, step in expected.items():
    got = next_step(status)
    assert got == step, (f"next_step({status!r}) returned {got!r}, expected {step!r}. Hint: a "
                         "dict from status to step; the lifecycle is in the first cell")
print("Exercise 2 solved")""",
        """\
def next_step(status):
    return {"succeeded": "fulfil", "requires_action": "authenticate",
            "requires_payment_method": "ask for another card",
            "processing": "wait for the webhook"}[status]""",
    ),
    ("md", "Done: stop this lesson's sandbox."),
    ("code", "client.close()\nserver.stop()"),
]

RETRIES: list[Cell] = [
    (
        "md",
        """\
# 4. Idempotency and retries: asking twice, paying once

Networks fail. Worst case: Stripe **did** the charge, then the connection dropped before the
answer arrived. Retry without care and the customer pays twice. The cure
(https://docs.stripe.com/api/idempotent_requests): send an `Idempotency-Key` with each POST and,
after a connection error, retry **with the same key** until you get a definite answer; Stripe
replays the first result instead of acting again. Use a new key for a new request only.""",
    ),
    ("code", PRIVATE_SANDBOX),
    (
        "md",
        """\
The sandbox can inject faults. With `fault_seed=3` the next request **commits, then the
connection drops**. The raw client is told not to retry by itself, so we see the raw failure:""",
    ),
    (
        "code",
        """\
once = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": server.url},
                           max_network_retries=0)
params = {"amount": 900, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
          "payment_method_types": ["card"], "metadata": {"order": "A"}}

def intents(order):
    listed = raw.v1.payment_intents.list({"limit": 100})
    return [pi for pi in listed if pi.metadata.to_dict().get("order") == order]""",
    ),
    (
        "code",
        """\
server.configure(fault_rate=1.0, fault_seed=3)
try:
    once.v1.payment_intents.create(params)  # no key
except stripe.APIConnectionError:
    print("connection dropped: did it charge?")
server.configure(fault_rate=0.0)
once.v1.payment_intents.create(params)  # the naive retry
print(len(intents("A")), "PaymentIntents for order A: charged twice")""",
    ),
    (
        "md",
        """\
Now with one key for the attempt, reused on the retry:""",
    ),
    (
        "code",
        """\
import uuid

key = f"order-B-{uuid.uuid4()}"
params_b = {**params, "metadata": {"order": "B"}}
server.configure(fault_rate=1.0, fault_seed=3)
try:
    once.v1.payment_intents.create(params_b, options={"idempotency_key": key})
except stripe.APIConnectionError:
    print("connection dropped")
server.configure(fault_rate=0.0)
again = once.v1.payment_intents.create(params_b, options={"idempotency_key": key})
print(len(intents("B")), "PaymentIntent for order B:", again.id, again.status)""",
    ),
    (
        "md",
        """\
billing_kit does this for you: it writes the key to its ledger **before** sending, retries
connection errors, 5xx, 409 and 429 under the same key, and a re-run of the same call reuses the
key. Here a quarter of requests fail, and each charge still happens once:""",
    ),
    (
        "code",
        """\
server.configure(fault_rate=0.25, fault_seed=7)
made = [client.charge(f"c{n}@example.com", "3.00", "usd", payment_method="pm_card_visa")
        for n in range(4)]
server.configure(fault_rate=0.0)
print(len({c.id for c in made}), "charges;", client.stats)""",
    ),
    (
        "md",
        """\
Reusing a key with **different** parameters is an error, not a replay: a new request needs a
new key.""",
    ),
    (
        "code",
        """\
try:
    raw.v1.payment_intents.create({**params_b, "amount": 901}, options={"idempotency_key": key})
except stripe.IdempotencyError as error:
    print(error.user_message)""",
    ),
    *exercise(
        1,
        """\
Write `charge_with_retry(params)` that creates the PaymentIntent with the `once` client (no
automatic retries) so that, even if the connection drops after Stripe acted, the customer is
charged **once**: choose a key, and retry `stripe.APIConnectionError` with the same key.""",
        """\
def charge_with_retry(params):
    return once.v1.payment_intents.create(params)  # your code: a key, and a retry""",
        """\
params_c = {**params, "metadata": {"order": "C"}}
server.configure(fault_rate=0.5, fault_seed=51)  # 1st request commits, drops; then none
try:
    try:
        result = charge_with_retry(params_c)
    finally:
        server.configure(fault_rate=0.0)
except stripe.APIConnectionError:
    raise AssertionError("the connection dropped and charge_with_retry gave up. Hint: catch "
                         "stripe.APIConnectionError and send the same request again") from None
count = len(intents("C"))
assert count == 1, (f"order C was charged {count} times. Hint: pass the same "
                    "options={'idempotency_key': key} to the first try and the retry")
assert result.status == "succeeded", f"status {result.status!r}"
print("Exercise 1 solved")""",
        """\
def charge_with_retry(params):
    key = str(uuid.uuid4())  # one key for this attempt, reused by every retry
    for _ in range(5):
        try:
            return once.v1.payment_intents.create(params, options={"idempotency_key": key})
        except stripe.APIConnectionError:
            continue
    raise RuntimeError("still failing; run again later with the same key")""",
    ),
    *exercise(
        2,
        """\
A shop retries a checkout POST, and a customer may also try again with another card. Write
`key_for(order_id, attempt)` returning an idempotency key that is the **same** for the same order
and attempt (a retried POST) and **different** for another attempt or order.""",
        """\
def key_for(order_id, attempt):
    ...  # your code here""",
        """\
first = key_for(42, 1)
assert isinstance(first, str) and first, (
    f"key_for(42, 1) returned {first!r}. Hint: build a string from both values, e.g. an f-string")
assert key_for(42, 1) == first, "the same attempt needs the same key, else a retry charges again"
assert len({first, key_for(42, 2), key_for(43, 1)}) == 3, (
    "another attempt or order needs another key. Hint: put both the order and the attempt in it")
assert len(first) <= 255, "Stripe keys are at most 255 characters"
print("Exercise 2 solved")""",
        """\
def key_for(order_id, attempt):
    return f"order-{order_id}-attempt-{attempt}\"""",
    ),
    ("md", "Done: stop this lesson's sandbox."),
    ("code", "client.close()\nserver.stop()"),
]

MONEY_FLOW: list[Cell] = [
    (
        "md",
        """\
# 5. Refunds, fees, balance transactions and payouts: follow the money to the bank

A charge does not put its whole amount in your bank. Stripe takes a **fee**; what remains, the
**net**, becomes *available* after a delay and is then paid out to your bank in a **payout**.
Every movement of your balance is a **balance transaction** (`txn_...`): charges, refunds,
dispute withdrawals and payouts (https://docs.stripe.com/reports/balance-transaction-types).""",
    ),
    ("code", PRIVATE_SANDBOX),
    (
        "md",
        """\
## A charge and its fee

`pm_card_bypassPending` makes funds available at once (normally a couple of days later). The
charge's balance transaction holds amount, fee and net:""",
    ),
    (
        "code",
        """\
intent = raw.v1.payment_intents.create({
    "amount": 10000, "currency": "usd", "payment_method": "pm_card_bypassPending",
    "confirm": True, "payment_method_types": ["card"],
    "expand": ["latest_charge.balance_transaction"]})
txn = intent.latest_charge.balance_transaction
txn.type, txn.amount, txn.fee, txn.net, [(f.type, f.amount) for f in txn.fee_details]""",
    ),
    (
        "md",
        """\
## A refund

A refund is a negative balance transaction. The fee is not given back.""",
    ),
    (
        "code",
        """\
charge = client.get_charge(intent.latest_charge.id)
refund = client.refund(charge, "30.00", reason="requested_by_customer")
print(refund)
expanded = raw.v1.refunds.retrieve(refund.id, {"expand": ["balance_transaction"]})
refund_txn = expanded.balance_transaction
refund_txn.type, refund_txn.amount, refund_txn.net""",
    ),
    (
        "md",
        """\
## The balance and a payout

The sandbox's `POST /v1/_sandbox/payouts/sweep` pays out the available balance the way Stripe's
automatic payouts do, and links the balance transactions it contains to the payout:""",
    ),
    (
        "code",
        """\
print("available before:", raw.v1.balance.retrieve().available[0].amount)
raw.raw_request("post", "/v1/_sandbox/payouts/sweep")
payout = raw.v1.payouts.list({"limit": 1}).data[0]
print("payout:", payout.id, payout.amount, payout.status, "| available after:",
      raw.v1.balance.retrieve().available[0].amount)""",
    ),
    (
        "md",
        """\
billing_kit gives the same as typed DataFrames with exact amounts, ready to reconcile:""",
    ),
    (
        "code",
        """\
txns = client.balance_transactions_frame()
txns[["id", "type", "amount", "fee", "net", "source", "status"]]""",
    ),
    *exercise(
        1,
        """\
After the $30 refund, how much of the $100 charge is still yours, in cents? Compute it from the
two balance transactions `txn` and `refund_txn` (do not type the number) into `answer`.""",
        "answer = None  # your code here",
        """\
assert answer is not None, "answer is still None. Hint: add the two transactions' net fields"
assert answer == txn.net + refund_txn.net, (
    f"answer is {answer!r}; it should be the charge's net plus the refund's (negative) net. "
    "Hint: the fee is not refunded, so it is not 10000 - 3000")
assert answer == 6680, "the sandbox charged a fee of 2.9% + 30 cents on $100"
print("Exercise 1 solved")""",
        "answer = txn.net + refund_txn.net",
    ),
    *exercise(
        2,
        """\
Reconcile the payout: put in `answer` the sum of the `net` of every balance transaction paid out
in `payout`, **not counting the payout's own transaction**. It must equal the payout's amount.
(`raw.v1.balance_transactions.list({"payout": payout.id})` lists them.)""",
        "answer = None  # your code here",
        """\
assert answer is not None, "answer is still None. Hint: list the payout's balance transactions"
assert answer == payout.amount, (
    f"answer is {answer!r} but the payout is {payout.amount}. Hint: sum t.net for the payout's "
    "transactions whose type is not 'payout' (the payout's own transaction cancels the rest)")
print("Exercise 2 solved")""",
        """\
listed = raw.v1.balance_transactions.list({"payout": payout.id, "limit": 100})
answer = sum(t.net for t in listed.auto_paging_iter() if t.type != "payout")""",
    ),
    ("md", "Done: stop this lesson's sandbox."),
    ("code", "client.close()\nserver.stop()"),
]

WEBHOOKS: list[Cell] = [
    (
        "md",
        """\
# 6. Webhooks: signed events, duplicates and disorder

Stripe tells your server what happened by POSTing **events** to your webhook endpoint
(https://docs.stripe.com/webhooks). Fulfil orders from `payment_intent.succeeded`, because the
browser may never come back. Three rules:

1. **Verify the signature** on the raw body: `Stripe-Signature: t=...,v1=...` is an HMAC-SHA256
   of `"t.body"` with your endpoint secret (https://docs.stripe.com/webhooks/signature).
2. **Dedupe on `event.id`**: delivery is at least once; a failed delivery is retried.
3. **Do not assume order**: a retried event arrives after later ones.

Here a small receiver runs inside this notebook, and the sandbox delivers to it like
`stripe listen --forward-to` does.""",
    ),
    (
        "code",
        """\
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

deliveries = []  # (raw body, Stripe-Signature header), in arrival order
fail_once = {"payment_intent.created"}  # answer 500 to the first delivery of these types

class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        deliveries.append((body, self.headers["Stripe-Signature"]))
        kind = json.loads(body)["type"]
        self.send_response(500 if kind in fail_once else 200)
        fail_once.discard(kind)
        self.end_headers()

    def log_message(self, *args):  # keep the notebook quiet
        pass""",
    ),
    (
        "code",
        """\
import stripe
import billing_kit as bk
from billing_kit.sandbox import start

receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()
endpoint = f"http://127.0.0.1:{receiver.server_port}/webhook"
SECRET = "whsec_lesson6"  # for real Stripe: from the Dashboard or `stripe listen`, via the env
server = start(forward_to=endpoint, webhook_secret=SECRET)
server.webhooks.backoff = 0.2  # retry quickly in a lesson (Stripe waits minutes to hours)
client = bk.connect("sk_test_sandbox", api_base=server.url)
raw = client.stripe""",
    ),
    (
        "md",
        """\
Pay once, and wait until the sandbox has delivered every event (the first
`payment_intent.created` delivery gets a 500, so it is retried):""",
    ),
    (
        "code",
        """\
import time

charge = client.charge("ada@example.com", "12.00", "usd", payment_method="pm_card_visa",
                       metadata={"order_id": "1001"}, allow_duplicate=True)
made = len(raw.v1.events.list({"limit": 100}).data)  # events the sandbox recorded
deadline = time.monotonic() + 20
while len(set(server.webhooks.delivered())) < made:  # wait until each one got a 2xx
    assert time.monotonic() < deadline, "the sandbox did not deliver"
    time.sleep(0.05)
[(a.event_type, a.number, a.status) for a in server.webhooks.attempts]""",
    ),
    (
        "md",
        """\
## Verify

`stripe.Webhook.construct_event` checks the signature against the **raw bytes** (parse and
re-encode the JSON first and it fails) and refuses timestamps older than five minutes:""",
    ),
    (
        "code",
        """\
events = [stripe.Webhook.construct_event(body, sig, SECRET) for body, sig in deliveries]
[(e.type, e.id) for e in events]""",
    ),
    (
        "code",
        """\
body, sig = deliveries[0]
try:
    stripe.Webhook.construct_event(body, sig, "whsec_guess")
except stripe.SignatureVerificationError:
    print("refused: signed with another secret")
forged = body.replace(b'"livemode":false', b'"livemode":true')
try:
    stripe.Webhook.construct_event(forged, sig, SECRET)
except stripe.SignatureVerificationError:
    print("refused: body altered")""",
    ),
    (
        "md",
        """\
## Duplicates and disorder

The retried `payment_intent.created` arrived twice (same id), the second time after events that
happened later. A receiver must fulfil once, whatever the order. `billing-kit sandbox trigger
EVENT_TYPE` (like `stripe trigger`) makes more events to practise with.""",
    ),
    (
        "code",
        """\
ids = [e.id for e in events]
print(len(ids), "deliveries,", len(set(ids)), "distinct events")
print("arrival order:", [e.type for e in events])
newest_first = raw.v1.events.list({"limit": 100}).data
print("created order:", [e.type for e in reversed(newest_first)])""",
    ),
    *exercise(
        1,
        """\
Write `verify(body, signature)` returning the event when the signature is good, and `None`
(never an exception) when it is not.""",
        """\
def verify(body, signature):
    ...  # your code here""",
        """\
good_body, good_sig = deliveries[0]
event = verify(good_body, good_sig)
assert event is not None and event.id == events[0].id, (
    f"verify() returned {event!r} for a genuine delivery. Hint: "
    "stripe.Webhook.construct_event(body, signature, SECRET)")
assert verify(good_body, good_sig.replace("v1=", "v1=0")) is None, (
    "a forged signature must give None. Hint: catch stripe.SignatureVerificationError")
assert verify(good_body + b" ", good_sig) is None, "an altered body must give None"
print("Exercise 1 solved")""",
        """\
def verify(body, signature):
    try:
        return stripe.Webhook.construct_event(body, signature, SECRET)
    except (stripe.SignatureVerificationError, ValueError):
        return None""",
    ),
    *exercise(
        2,
        """\
Write `fulfil(events)` that goes through verified events in arrival order and returns the list
of order ids fulfilled, **once each**, from `payment_intent.succeeded` events (the order id is in
`event.data.object.metadata["order_id"]`). Duplicated events must not fulfil twice.""",
        """\
def fulfil(events):
    ...  # your code here""",
        """\
done = fulfil(events + events[::-1])  # every event twice, the second time in reverse
assert done == ["1001"], (
    f"fulfil() returned {done!r}, expected ['1001']. Hint: keep a set of handled event ids and "
    "skip those; fulfil only payment_intent.succeeded, reading metadata['order_id']")
print("Exercise 2 solved")""",
        """\
def fulfil(events):
    seen, fulfilled = set(), []
    for event in events:
        if event.id in seen:
            continue
        seen.add(event.id)
        if event.type == "payment_intent.succeeded":
            order = event.data.object.metadata["order_id"]
            if order not in fulfilled:
                fulfilled.append(order)
    return fulfilled""",
    ),
    ("md", "Done: stop the sandbox and the receiver."),
    ("code", "client.close()\nserver.stop()\nreceiver.shutdown()\nreceiver.server_close()"),
]

COURSE: dict[str, list[Cell]] = {
    "01_classic_checkout.ipynb": CLASSIC,
    "02_money.ipynb": MONEY,
    "03_payment_intents_and_3d_secure.ipynb": INTENTS,
    "04_idempotency_and_retries.ipynb": RETRIES,
    "05_refunds_fees_and_payouts.ipynb": MONEY_FLOW,
    "06_webhooks.ipynb": WEBHOOKS,
}


def main() -> int:
    """Write every lesson; return a process exit code."""
    LEARN.mkdir(parents=True, exist_ok=True)
    for name, cells in COURSE.items():
        nbformat.write(build(cells), LEARN / name)
        print("wrote", LEARN / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
