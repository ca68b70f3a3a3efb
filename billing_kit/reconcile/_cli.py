"""``billing-kit report month-end``: the month-end workbook and HTML report, checked to tie.

Writes ``month-end-YYYY-MM.xlsx`` and ``month-end-YYYY-MM.html`` to ``--out-dir`` (with
``--currency usd``: ``month-end-YYYY-MM-usd.*``, that currency only; see docs/reconcile.md,
"Month-end"). Exit status: 0 when everything ties, 1 when something does not
(each reason printed; both files are still written so the analyst can look), 2 for bad options.

The key and base URL come from the environment exactly as for billing_kit.connect()
(STRIPE_API_KEY, STRIPE_API_BASE, .env; none: the shared sandbox).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

PROG = "billing-kit report month-end"


def register(subparsers: Any) -> None:
    """Add the ``report`` subcommand (with ``month-end``) to the ``billing-kit`` parser."""
    report = subparsers.add_parser("report", description="Month-end reports for accounting.")
    kinds = report.add_subparsers(dest="report", required=True, metavar="REPORT")
    parser = kinds.add_parser(
        "month-end",
        help="Stripe's reports, orders and bank for one month: .xlsx and .html, checked to tie",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--month", required=True, help="the month, YYYY-MM (e.g. 2026-11)")
    parser.add_argument("--tz", default="UTC", help="the zone days are counted in (default UTC)")
    parser.add_argument("--orders", help="an order list (.csv or .xlsx) to match against charges")
    parser.add_argument("--bank", help="a bank statement (.csv, .xlsx or .ofx) to match payouts")
    parser.add_argument(
        "--currency", help="report this currency only, e.g. usd (default: every currency)"
    )
    parser.add_argument("--out-dir", required=True, help="the folder to write the files to")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Connect from the environment, write the report; return the exit status."""
    import billing_kit
    from billing_kit._exceptions import BillingKitError
    from billing_kit.history._options import InvalidOption
    from billing_kit.reconcile._month_end import check_currency, month_end

    out = Path(args.out_dir)
    try:
        currency = check_currency(args.currency)
    except InvalidOption as exc:
        # The library names its parameter; on the command line the option is --currency.
        reason = str(exc).split(": ", 1)[1]
        print(f"{PROG}: error: --currency {args.currency!r}: {reason}", file=sys.stderr)
        return 2
    for name in ("orders", "bank"):
        given = getattr(args, name)
        if given is not None and not Path(given).is_file():
            print(f"{PROG}: error: --{name} {given!r}: no such file; pass an existing file",
                  file=sys.stderr)  # fmt: skip
            return 2
    try:
        with billing_kit.connect() as client:
            report = month_end(client, args.month, args.tz, orders=args.orders, bank=args.bank,
                               currency=currency)  # fmt: skip
    except BillingKitError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"{PROG}: error: --out-dir {args.out_dir!r}: {exc.strerror}", file=sys.stderr)
        return 2
    workbook = report.to_excel(out / f"{report.stem}.xlsx")
    page = report.to_html(out / f"{report.stem}.html")
    print(f"wrote {workbook} and {page}")
    if report.ties:
        print("everything ties")
        return 0
    for reason in report.failures:
        print(f"{PROG}: does not tie: {reason}", file=sys.stderr)
    return 1
