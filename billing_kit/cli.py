"""The ``billing-kit`` command line: one entry point, each concept registers its own subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand registered."""
    # Imported here so `billing-kit --help` stays fast and each subpackage owns its own options.
    from billing_kit import _batch_cli as batch_cli
    from billing_kit import _lab as lab_cli
    from billing_kit.history import _cli as history_cli
    from billing_kit.reconcile import _cli as report_cli
    from billing_kit.sandbox import _cli as sandbox_cli

    parser = argparse.ArgumentParser(prog="billing-kit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sandbox_cli.register(commands)
    history_cli.register(commands)
    lab_cli.register(commands)
    batch_cli.register(commands)
    report_cli.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status.

    Errors billing_kit raises (a refused live key, Stripe unreachable after retries, ...) are
    printed as one line naming the problem and the fix, not as a traceback: exit status 1.
    """
    from billing_kit._exceptions import BillingKitError

    parser = build_parser()
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
