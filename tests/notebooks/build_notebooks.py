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
The practice sandbox already holds a history worth analysing: 90 days of charges made when it
first started (about 3,000, in six currencies, with declines, refunds, disputes, fees and daily
payouts), the same on every machine. Charges you make in the other notebooks are added to it;
`billing-kit sandbox reset` in a terminal starts it over.""",
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
from datetime import UTC, datetime, time, timedelta

# The form's window: from the start of the first day, up to now (every charge made so far).
until = datetime.now(UTC)
since = datetime.combine(until.date() - timedelta(days=days), time(), tzinfo=UTC)
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
# How a payment API works: now a course

This lesson grew into a short course in [`learn/`](learn/), one notebook per topic, each with
exercises that check your answer. Every notebook runs offline against the local sandbox in
under a minute:

1. [The classic checkout, with today's library](learn/01_classic_checkout.ipynb): keys from the
   environment, token, customer, charge, decline.
2. [Money](learn/02_money.ipynb): minor units, zero- and three-decimal currencies, why floats
   fail.
3. [PaymentIntents and 3D Secure](learn/03_payment_intents_and_3d_secure.ipynb).
4. [Idempotency and retries](learn/04_idempotency_and_retries.ipynb): a dropped connection,
   retried with the same key, charges once.
5. [Refunds, fees, balance transactions and payouts](learn/05_refunds_fees_and_payouts.ipynb).
6. [Webhooks](learn/06_webhooks.ipynb): signed events, duplicates and disorder.

`docs/teaching.md` maps each notebook to the Stripe concepts it covers.""",
    ),
    ("code", 'course = "learn/01_classic_checkout.ipynb"  # start here', ["parameters"]),
]


BATCH: list[Cell] = [
    (
        "md",
        """\
# Charge a spreadsheet

This month's invoices, a list of overdue balances, a set of corrections: one sheet, one row per
charge. `client.charge_batch` checks **every row before anything is sent**, shows what would
happen, then charges the rows concurrently — each **once**, even if you run it again after a crash
or Ctrl-C. The sample sheet `data/sample_charges.csv` has four good rows, two cards that decline
and three bad rows. Columns and rules: `docs/batch.md`.""",
    ),
    ("md", "Settings a scheduled run might change (kept in this one cell):"),
    (
        "code",
        """\
allow_live = False  # True only when you really mean to charge real cards
sheet = "data/sample_charges.csv"  # a .csv or .xlsx file""",
        ["parameters"],
    ),
    ("code", CONNECT),
    (
        "md",
        """\
## 1. Check and preview (nothing is sent)

Each problem names the row as your spreadsheet shows it (the header is row 1), the column, the
value and how to fix it.""",
    ),
    (
        "code",
        """\
check = client.charge_batch(sheet, dry_run=True)
print(check.preview)
check.problems""",
    ),
    (
        "md",
        """\
## 2. The form

Upload a sheet, read the problems and the totals, tick *charge only the valid rows* if you
want to, then confirm. In live mode you type the total to confirm. A double click charges once.""",
    ),
    (
        "code",
        """\
from billing_kit.widgets import BatchChargeForm

form = BatchChargeForm(client)
form.load(sheet)  # or use the upload button
form""",
    ),
    (
        "md",
        """\
## 3. The same in code

`skip_invalid=True` charges the valid rows; the others are `invalid` in the result. Declines
are a row's status, they never stop the batch.""",
    ),
    (
        "code",
        """\
result = client.charge_batch(sheet, skip_invalid=True)
result.summary""",
    ),
    (
        "code",
        """\
result.frame[["email", "amount", "currency", "status", "charge_id", "decline_code", "message"]]""",
    ),
    (
        "md",
        """\
## 4. Run it again: nothing is charged twice

The batch is recognised (same sheet: same batch id); finished rows are `already_charged` with
their charge ids. To charge the same rows again on purpose, pass a new `batch_id`.""",
    ),
    (
        "code",
        """\
again = client.charge_batch(sheet, skip_invalid=True)
print(again.note)
again.frame["status"].value_counts()""",
    ),
    (
        "code",
        """\
from pathlib import Path

Path("exports").mkdir(exist_ok=True)
result.to_excel("exports/batch-results.xlsx")  # results, summary and problems sheets""",
    ),
]


MONTH_END: list[Cell] = [
    (
        "md",
        """\
# Month-end

Stripe's four reports for one month (balance roll-forward, activity by reporting category,
payouts with their tie-out, the balance not yet paid out), your order list against the charges and
the bank statement against the payouts, checked to tie, then written as an Excel workbook and an
HTML report for accounting. On the practice sandbox the month comes from its seeded history.

`billing-kit report month-end --month 2026-11 --out-dir DIR` does the same from a terminal or a
scheduler (see docs/reconcile.md, "Month-end").""",
    ),
    ("md", "Settings a scheduled run might change (papermill injects new values after this cell):"),
    (
        "code",
        """\
allow_live = False  # True only to report on a live account
month = "2026-11"  # YYYY-MM: the period is [first of month, first of next month)
tz = "UTC"  # the zone days are counted in, e.g. "Europe/Paris"
currency = None  # one currency only, e.g. "usd" (a text code, never an amount); None: all
orders = None  # an order list (.csv or .xlsx) to match against the charges, or None
bank = None  # a bank statement (.csv, .xlsx or .ofx) to match against the payouts, or None
out_dir = "exports/month-end"  # where the workbook and the HTML report go""",
        ["parameters"],
    ),
    ("code", CONNECT),
    (
        "code",
        """\
from billing_kit.reconcile import month_end

report = month_end(client, month, tz, orders=orders, bank=bank, currency=currency)
report.header""",
    ),
    (
        "md",
        "The roll-forward, per currency: *starting + activity + payouts = ending*, to the cent.",
    ),
    ("code", "report.roll_forward"),
    ("md", "Activity by reporting category (count, gross, fee, net):"),
    ("code", "report.activity"),
    (
        "md",
        "Each automatic payout against the transactions it settled (`difference` 0: it ties):",
    ),
    ("code", "report.payouts"),
    ("md", "What does not tie (an empty list: everything ties):"),
    ("code", "report.failures"),
    (
        "code",
        """\
from pathlib import Path

folder = Path(out_dir)
folder.mkdir(parents=True, exist_ok=True)
print(report.to_excel(folder / f"{report.stem}.xlsx"))
print(report.to_html(folder / f"{report.stem}.html"))""",
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
    "05_charge_a_spreadsheet.ipynb": BATCH,
    "06_month_end.ipynb": MONTH_END,
}


def main() -> int:
    """Write every notebook; return a process exit code."""
    for name, cells in ALL.items():
        nbformat.write(build(cells), NOTEBOOKS / name)
        print("wrote", NOTEBOOKS / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
