"""``billing-kit charge-batch FILE``: charge every row of a .csv or .xlsx sheet, once.

Every row is checked before anything is sent. In live mode you confirm by typing the total (or
pass --yes). Run the same command again after a crash or Ctrl-C: it finishes only the rows that
did not finish. Exit status: 0 when every row has a final status (declines included), 2 when the
file is invalid (nothing was sent), 1 when some rows' outcome is unknown (listed; run again).

The key and base URL come from the environment exactly as for billing_kit.connect()
(STRIPE_API_KEY, STRIPE_API_BASE, .env; none: the shared sandbox).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billing_kit._exceptions import InvalidArgument

if TYPE_CHECKING:
    from billing_kit._batch_result import BatchResult, Preview
    from billing_kit._client import Client

PROG = "billing-kit charge-batch"


def register(subparsers: Any) -> None:
    """Add the ``charge-batch`` subcommand to the ``billing-kit`` parser."""
    parser = subparsers.add_parser(
        "charge-batch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="the sheet: .csv or .xlsx (see docs/batch.md)")
    parser.add_argument("--out", help="write the result table to this .xlsx or .csv file")
    parser.add_argument("--dry-run", action="store_true", help="check and preview; send nothing")
    parser.add_argument("--yes", action="store_true", help="no confirmation in live mode")
    parser.add_argument("--batch-id", help="name the batch (a new id charges again on purpose)")
    parser.add_argument("--skip-invalid", action="store_true", help="charge only the valid rows")
    parser.add_argument("--concurrency", type=int, help="requests in flight (default: by rate)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _check_out(out: str | None) -> Path | None:
    if out is None:
        return None
    from billing_kit.history._cli import check_output

    path = check_output(out)
    if path.suffix.lower() not in (".xlsx", ".csv"):
        raise InvalidArgument(f"--out {out!r}: end the name in .xlsx or .csv")
    return path


def run(args: argparse.Namespace) -> int:
    """Connect from the environment and run the batch; return the exit status."""
    import billing_kit

    try:
        _check_out(args.out)
    except InvalidArgument as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    with billing_kit.connect() as client:
        return execute(client, args, ask=input)


def _totals(preview: Preview) -> str:
    return "; ".join(preview.totals["total"])


def confirm(preview: Preview, ask: Callable[[str], str]) -> bool:
    """Ask the user to type the total (``$1,036.75``, or ``$10.00; ¥500`` for several)."""
    print(preview)
    wanted = _totals(preview)
    typed = ask(f"Live mode: type the total to charge ({wanted}) to confirm: ")
    normal = "".join(typed.split()).lower()
    return normal == "".join(wanted.split()).lower()


def execute(client: Client, args: argparse.Namespace, *, ask: Callable[[str], str] = input) -> int:
    """Check, confirm (live mode), charge, report and write ``--out``; return the exit status."""
    out = _check_out(args.out)
    options: dict[str, Any] = {
        "batch_id": args.batch_id,
        "skip_invalid": args.skip_invalid,
        "concurrency": args.concurrency,
    }
    try:
        if args.dry_run or (client.mode == "live" and not args.yes):
            preview = client.charge_batch(args.file, dry_run=True, progress=False, **options)
            if len(preview.problems) and not args.skip_invalid:
                _problems(preview)
                _write(preview, out)
                return 2
            if args.dry_run:
                assert preview.preview is not None
                print(preview.preview)
                print(preview.problems.to_string(index=False) if len(preview.problems) else "")
                _write(preview, out)
                return 0
            assert preview.preview is not None
            if not confirm(preview.preview, ask):
                print(f"{PROG}: the total did not match; nothing was sent.", file=sys.stderr)
                return 1
        result = client.charge_batch(args.file, progress=not args.quiet, **options)
    except InvalidArgument as exc:
        # The sheet (InvalidBatch), the file itself or an option: nothing was sent.
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    return report(result, out)


def _problems(result: BatchResult) -> None:
    print(f"{PROG}: the sheet has problems; nothing was sent:", file=sys.stderr)
    for problem in result.problems.itertuples(index=False):
        print(
            f"  row {problem.row}, column {problem.column!r}, value {problem.value}: "
            f"{problem.message}",
            file=sys.stderr,
        )


def _write(result: BatchResult, out: Path | None) -> None:
    if out is None:
        return
    if out.suffix.lower() == ".csv":
        result.to_csv(out)
    else:
        result.to_excel(out)
    print(f"results written to {out}")


def report(result: BatchResult, out: Path | None) -> int:
    """Print the summary (and rows without an outcome), write ``out``; 1 if any is unknown."""
    print(f"batch {result.batch_id}")
    print(result.summary.drop(columns="amount").to_string(index=False))
    if result.note:
        print(result.note)
    _write(result, out)
    unfinished = result.unfinished
    if unfinished.empty:
        return 0
    from billing_kit._batch_rows import FIRST_ROW

    rows = ", ".join(str(position + FIRST_ROW) for position in unfinished.index)
    print(
        f"{PROG}: {len(unfinished)} row(s) have no final outcome (rows {rows}); run the same "
        "command again to finish them, none is charged twice.",
        file=sys.stderr,
    )
    return 1
