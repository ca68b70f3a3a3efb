"""The ``billing-kit`` command line: one entry point, each concept registers its own subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Each subcommand: the module whose ``register(subparsers)`` adds it, and its line in
#: ``billing-kit --help``. Only the chosen command's module is imported (they pull in pandas,
#: stripe or uvicorn), so ``--help`` and a typo answer at once and ``pull`` starts sooner.
COMMANDS: dict[str, tuple[str, str]] = {
    "sandbox": ("billing_kit.sandbox._cli", "the local Stripe-compatible sandbox"),
    "pull": (
        "billing_kit.history._cli",
        "pull history (charges, refunds, ...) into a .parquet, .csv or .xlsx file",
    ),
    "lab": ("billing_kit._lab", "open JupyterLab on your working copies of the notebooks"),
    "charge-batch": (
        "billing_kit._batch_cli",
        "charge every row of a .csv or .xlsx sheet, checked first and never twice",
    ),
    "report": ("billing_kit.reconcile._cli", "month-end reports for accounting"),
}


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Return the argument parser, with the subcommand named in ``argv`` fully registered.

    The other subcommands are listed by name and help line only, so ``argv`` without a known
    command (``--help``, a typo) imports none of their modules.
    """
    parser = argparse.ArgumentParser(prog="billing-kit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # The top-level parser has no options besides --help, so a command comes first; when it
    # does, the list of commands (and so its help line) is never shown.
    chosen = argv[0] if argv else None
    for name, (module, summary) in COMMANDS.items():
        if name == chosen:
            importlib.import_module(module).register(commands)
        else:
            commands.add_parser(name, help=summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status.

    Errors billing_kit raises (a refused live key, Stripe unreachable after retries, ...) are
    printed as one line naming the problem and the fix, not as a traceback: exit status 1.
    """
    from billing_kit._exceptions import BillingKitError

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except BillingKitError as exc:
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{parser.prog} {args.command}: interrupted", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
