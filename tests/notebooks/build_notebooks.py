"""Write the analyst notebooks in notebooks/ from the cell sources below, without outputs.

Run ``python tests/notebooks/build_notebooks.py`` after editing a notebook's text here.
Notebooks are committed without outputs or execution counts (tests/notebooks/test_notebooks.py
checks this), so a notebook's text is reviewed like code and no customer data or key ends up in
git."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

Cell = tuple[str, str] | tuple[str, str, list[str]]

CONNECT = """\
import billing_kit

# No key anywhere: connect() starts (or reuses) the local practice sandbox.
# With STRIPE_API_KEY set (environment or a .env file) it talks to your Stripe account instead.
client = billing_kit.connect(allow_live=allow_live)
print(f"mode: {client.mode}   key: {client.masked_key}   server: {client.api_base}")"""

CHARGE: list[Cell] = [
    (
        "md",
        """\
# Charge a customer

This notebook charges one customer through a form: fill it in, **review** exactly what will
happen, then **confirm**. Nothing is charged before you confirm, and clicking *Charge* twice
charges once.

The coloured banner at the top of the form tells you where the money goes:

* **SANDBOX** – a practice server on this computer; no real money moves. This is what you get
  when no Stripe key is configured.
* **TEST** – your Stripe account's test mode; no real money moves either.
* **LIVE** – real cards, real money. The banner is red and the form asks you to type the
  amount again.""",
    ),
    ("md", "Settings a scheduled run might change (kept in this one cell):"),
    (
        "code",
        """\
allow_live = False  # True only when you really mean to charge real cards
currency = "usd"  # preselected currency in the form""",
        ["parameters"],
    ),
    ("code", CONNECT),
    (
        "md",
        """\
## The form

1. Type the customer's **email** (a new customer is created if needed) or pick an existing
   customer.
2. Type the **amount** in the currency you choose. Mistakes (too many decimals for the
   currency, below Stripe's minimum, …) are explained under the form as you type.
3. In sandbox and test mode, pick a **test card by what it does** – "succeeds", or a kind of
   decline – to see how each outcome looks.
4. Press **Review charge**, read the summary, then press **Charge**.

The result appears under the form with the charge id; a declined card is explained in plain
words. If the same customer was charged the same amount a few minutes ago, the form asks before
charging again.""",
    ),
    (
        "code",
        """\
from billing_kit.widgets import ChargeForm

form = ChargeForm(client)
form.currency.value = currency
form""",
    ),
    (
        "md",
        """\
## Which test card does what

In sandbox and test mode, Stripe's test cards make a charge succeed or fail in a chosen way.
These are the ones the form offers:""",
    ),
    (
        "code",
        """\
import pandas as pd
from billing_kit.widgets import TEST_CARDS

pd.DataFrame(TEST_CARDS)""",
    ),
    (
        "md",
        """\
## After charging

`form.session.rows` lists what you charged in this session, and `form.last_charge` is the last
successful charge (with `.id`, `.amount`, `.status`). To look at history over days or weeks,
open **02_charge_history.ipynb**; to give money back, **03_refunds.ipynb**; to see what happens
behind the form, **04_how_a_payment_api_works.ipynb**.""",
    ),
    (
        "md",
        """\
## The audit ledger

Every charge, capture and refund attempt is written to the ledger *before* it is sent, with its
idempotency key; Stripe's id and the outcome follow. Filter by outcome, mode, kind and date. An
attempt still **pending** had no answer: the view says what to do (run the same operation
again: it is resent under the same key, and Stripe performs it at most once).""",
    ),
    (
        "code",
        """\
from billing_kit.widgets import LedgerView

LedgerView(client)""",
    ),
]

HISTORY: list[Cell] = [
    (
        "md",
        """\
# Charge history

Load the charges of a date range, see the headline figures (gross, refunded, fees, net,
decline rate), browse them as a table, read the charts and export to CSV or Excel.

The **form** below does it with buttons; the cells after it show the same in code, which is
what a scheduled report would run.""",
    ),
    (
        "code",
        """\
allow_live = False
days = 30  # how many days back from today
export_dir = "exports"  # where CSV and Excel files are written""",
        ["parameters"],
    ),
    ("code", CONNECT),
    (
        "md",
        """\
In the practice sandbox we first make sure there are a few charges to look at (some succeed,
some are declined). This does nothing outside the sandbox.""",
    ),
    (
        "code",
        """\
from billing_kit.widgets.demo import ensure_demo_charges

if client.mode == "sandbox":
    print(ensure_demo_charges(client), "charges in the sandbox")""",
    ),
    (
        "md",
        """\
## The history browser

Pick the dates and press **Load** (the bar shows progress while pages arrive), then
filter by status or currency. The tabs hold the table and the charts; the buttons at the bottom
export what is shown.""",
    ),
    (
        "code",
        """\
from billing_kit.widgets import HistoryBrowser

browser = HistoryBrowser(client, days=days, export_dir=export_dir)
browser""",
    ),
    (
        "md",
        """\
## The same in code

`client.charges_frame(since, until)` returns a pandas DataFrame with one row per charge.
Amounts come in two forms: `amount` (an exact decimal in dollars, euros, yen …) and
`amount_minor` (whole cents, as Stripe sends them). `fee` and `net` are in the currency the
money settled in (`settlement_currency`).""",
    ),
    (
        "code",
        """\
from datetime import UTC, datetime, timedelta

until = datetime.now(UTC)
since = until - timedelta(days=days)
charges = client.charges_frame(since, until, progress=False)
charges[["created", "status", "currency", "amount", "fee", "decline_code"]].head()""",
    ),
    (
        "md",
        """\
Headline figures per currency, in minor units (cents); `decline_rate` is a fraction. Gross,
refunded and declines count the currency customers paid in; fees and net the currency the money
settled in.""",
    ),
    (
        "code",
        """\
from billing_kit.widgets.figures import headline

headline(charges)""",
    ),
    ("md", "An interactive table (sort, search, page) that works without internet access:"),
    (
        "code",
        """\
import itables
from billing_kit.widgets.itables_offline import init_offline

display(init_offline())  # the bundled DataTables, loaded before a table uses it
columns = ["created", "id", "status", "currency", "amount", "customer", "decline_code"]
itables.show(charges[columns], connected=False)""",
    ),
    ("md", "## Charts"),
    (
        "code",
        """\
%matplotlib inline
from billing_kit.widgets import charts

charts.daily_volume(charges)""",
    ),
    ("code", "charts.decline_reasons(charges)"),
    ("code", "charts.fees_over_time(charges)"),
    ("md", "## Export"),
    (
        "code",
        """\
from billing_kit.widgets.export import export_csv, export_excel

print(export_csv(charges, f"{export_dir}/charges.csv"))
print(export_excel(charges, f"{export_dir}/charges.xlsx"))""",
    ),
]

REFUNDS: list[Cell] = [
    (
        "md",
        """\
# Refunds

Give money back for a charge, fully or partly. Pick the charge from the list of recent charges
(or paste its id), choose **Full refund** or **Partial refund** and a reason, **Review**, then
**Refund**. The review shows how much is still refundable; the form refuses to refund more than
that, and asks before refunding the same amount of the same charge twice.""",
    ),
    ("code", "allow_live = False", ["parameters"]),
    ("code", CONNECT),
    (
        "code",
        """\
from billing_kit.widgets.demo import ensure_demo_charges

if client.mode == "sandbox":  # practice charges to refund; does nothing outside the sandbox
    ensure_demo_charges(client)""",
    ),
    (
        "code",
        """\
from billing_kit.widgets import RefundForm

refunds = RefundForm(client)
refunds""",
    ),
    (
        "md",
        """\
## Good to know

* A refund goes back to the card that paid; it usually shows on the customer's statement
  within 5–10 business days.
* Stripe keeps the processing fee of a refunded charge (in the US), so net revenue drops by
  the refund and the fee stays.
* A charge can be refunded in several parts until nothing is left.

The recent charges, with how much of each was already refunded:""",
    ),
    (
        "code",
        """\
import pandas as pd

pd.DataFrame(
    {
        "charge": c.id,
        "created": c.created,
        "amount": str(c.amount),
        "refunded": str(c.refunded_amount),
        "status": c.status,
    }
    for c in client.recent_charges(limit=10)
)""",
    ),
]

TEACHING: list[Cell] = [
    (
        "md",
        """\
# How a payment API works: PaymentIntents and Charges

This notebook looks behind the charge form, step by step, against the practice sandbox (or
your Stripe test mode). Nothing here can touch live money: `connect()` refuses live keys unless
asked.

Stripe has two ways to take a card payment:

* **Charges** (the older API): one call, one attempt. You send a card and an amount; the answer
  is a *charge* that either succeeded or failed.
* **PaymentIntents** (the current API): a *PaymentIntent* is the intention to collect an amount
  from a customer. It lives through several states (waiting for a card, waiting for the bank's
  3-D Secure check, processing, succeeded) and each attempt to pay it creates a *charge*. If the
  first card is declined, the same PaymentIntent can be paid with another card.

billing_kit uses PaymentIntents by default; both end in a charge (`ch_…`), which is what
history, fees and refunds are about.""",
    ),
    ("code", "allow_live = False", ["parameters"]),
    ("code", CONNECT),
    (
        "md",
        """\
## 1. A successful payment

`client.charge` creates a PaymentIntent, confirms it with the card, and returns the charge it
made. The charge remembers its PaymentIntent:""",
    ),
    (
        "code",
        """\
# allow_duplicate: running this lesson again should charge again, not ask "are you sure?"
charge = client.charge(
    "ana@example.com", "20.00", "usd", payment_method="pm_card_visa", allow_duplicate=True
)
charge.id, charge.status, str(charge.amount), charge.payment_intent""",
    ),
    (
        "md",
        """\
The PaymentIntent itself, read straight from the API with the official `stripe` library
(`client.stripe`). Amounts travel as integers in the currency's smallest unit: 2000 cents.""",
    ),
    (
        "code",
        """\
intent = client.stripe.v1.payment_intents.retrieve(charge.payment_intent)
intent.status, intent.amount, intent.currency, intent.latest_charge""",
    ),
    (
        "md",
        """\
## 2. A declined card

The bank says no. The charge is recorded with status `failed`, and the PaymentIntent goes back
to waiting for a payment method, so the customer could try another card.""",
    ),
    (
        "code",
        """\
card = "pm_card_visa_chargeDeclinedInsufficientFunds"
try:
    client.charge("ben@example.com", "9.00", "usd", payment_method=card)
except billing_kit.CardDeclined as declined:
    print("declined:", declined.decline_code, "-", declined.reason)
    if declined.payment_intent_id:
        retry = client.stripe.v1.payment_intents.retrieve(declined.payment_intent_id)
        print("the PaymentIntent is now:", retry.status)""",
    ),
    (
        "md",
        """\
## 3. The older Charges API

Same money, one call, no PaymentIntent. A card *token* (`tok_visa`) stands in for the card.
There is no 3-D Secure step and no second attempt: a decline is final.""",
    ),
    (
        "code",
        """\
legacy = client.charge(
    "ana@example.com", "7.00", "usd", api="charges", source="tok_visa", allow_duplicate=True
)
legacy.id, legacy.status, legacy.payment_intent""",
    ),
    (
        "md",
        """\
## 4. Authorise now, capture later

A hotel or a shop that ships later first *authorises* the amount (the bank holds it) and
*captures* it when the service is delivered. Until captured, no money moves.""",
    ),
    (
        "code",
        """\
held = client.charge(
    "chloe@example.com", "30.00", "usd", payment_method="pm_card_visa", capture=False,
    allow_duplicate=True,
)
print("authorised, captured?", held.captured)
print("after capture, captured?", client.capture(held).captured)""",
    ),
    (
        "md",
        """\
## 5. Idempotency: asking twice, paying once

Networks fail. If the answer to "charge $5" is lost, sending the request again could charge
twice. Every request therefore carries an **idempotency key**; Stripe remembers the answer for a
day and returns the same answer, and nothing new, when the same key comes again. The form uses
one key per confirmed charge, and billing_kit retries under the same key.""",
    ),
    (
        "code",
        """\
import uuid

key = str(uuid.uuid4())
params = {
    "amount": 500, "currency": "usd", "payment_method": "pm_card_visa",
    "confirm": True, "payment_method_types": ["card"],
}
first = client.stripe.v1.payment_intents.create(params, options={"idempotency_key": key})
again = client.stripe.v1.payment_intents.create(params, options={"idempotency_key": key})
print("same PaymentIntent both times:", first.id == again.id)""",
    ),
    (
        "md",
        """\
## 6. Amounts: never floats, always the smallest unit

Most currencies have cents; yen has none; Kuwaiti dinars have three decimals. billing_kit turns
what people type into the integer Stripe expects, and refuses what the currency cannot hold.""",
    ),
    (
        "code",
        """\
from billing_kit import parse_amount

parse_amount("12.34", "usd"), parse_amount("500", "jpy"), parse_amount("5.120", "kwd")""",
    ),
    (
        "code",
        """\
try:
    parse_amount("12.5", "jpy")
except billing_kit.InvalidAmount as error:
    print(error)""",
    ),
]


def build(cells: list[Cell]) -> nbformat.NotebookNode:
    """Return a notebook with the given cells, no outputs, no execution counts."""
    notebook = new_notebook(
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        }
    )
    for index, cell in enumerate(cells):
        kind, source = cell[0], cell[1]
        tags = cell[2] if len(cell) == 3 else []
        made = new_markdown_cell(source) if kind == "md" else new_code_cell(source)
        made.id = f"cell-{index:02d}"
        if tags:
            made.metadata["tags"] = tags
        notebook.cells.append(made)
    nbformat.validate(notebook)
    return notebook


ALL: dict[str, list[Cell]] = {
    "01_charge_a_customer.ipynb": CHARGE,
    "02_charge_history.ipynb": HISTORY,
    "03_refunds.ipynb": REFUNDS,
    "04_how_a_payment_api_works.ipynb": TEACHING,
}


def main() -> int:
    """Write every notebook; return a process exit code."""
    for name, cells in ALL.items():
        nbformat.write(build(cells), NOTEBOOKS / name)
        print("wrote", NOTEBOOKS / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
