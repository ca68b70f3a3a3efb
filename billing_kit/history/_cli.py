"""``billing-kit pull KIND --out FILE``: write a history frame to .parquet, .csv or .xlsx.

The key and base URL come from the environment exactly as for :func:`billing_kit.connect`
(``STRIPE_API_KEY``, ``STRIPE_API_BASE``, ``.env``; none: the shared sandbox). Every option is
checked before the first request, so a typo costs nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billing_kit.history._options import (
    InvalidOption,
    check_status,
    check_timezone,
    check_window,
)
from billing_kit.history._schema import OBJECT_KINDS, ObjectKind

if TYPE_CHECKING:
    import pandas as pd

WRITERS = (".parquet", ".csv", ".xlsx")


def register(subparsers: Any) -> None:
    """Add the ``pull`` subcommand to the ``billing-kit`` parser."""
    parser = subparsers.add_parser(
        "pull",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", choices=OBJECT_KINDS, help="what to pull")
    parser.add_argument("--since", help="first day or time, inclusive (e.g. 2024-01-01)")
    parser.add_argument("--until", help="last day or time, exclusive (e.g. 2024-02-01)")
    parser.add_argument("--status", action="append", help="keep only this status (repeatable)")
    parser.add_argument("--tz", help="reporting time zone for timestamps (default UTC)")
    parser.add_argument("--metadata", action="append", help="add metadata.KEY column (repeatable)")
    parser.add_argument("--out", required=True, help="output file: .parquet, .csv or .xlsx")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def check_output(out: str) -> Path:
    """Return the output path if its suffix is known and its folder is writable.

    Raises
    ------
    InvalidOption
        Naming ``--out`` and the fix.
    """
    path = Path(out).expanduser()
    if path.suffix.lower() not in WRITERS:
        raise InvalidOption(
            f"--out {out!r} has an unknown suffix {path.suffix!r}; end the name in "
            f"{', '.join(WRITERS)}"
        )
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InvalidOption(f"--out {out!r} is a folder; give a file name such as charges.parquet")
    if not folder.is_dir():
        raise InvalidOption(
            f"--out {out!r}: folder {str(folder)!r} does not exist; create it first"
        )
    try:
        # Permissions alone do not tell (root, read-only mounts): try to create a file there.
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".billing-kit-probe-"):
            pass
    except OSError as exc:
        raise InvalidOption(
            f"--out {out!r} is not writable ({exc.strerror}); choose a folder you can write to"
        ) from None
    if path.exists() and not os.access(path, os.W_OK):
        raise InvalidOption(f"--out {out!r} is not writable; choose another file name")
    return path


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` by suffix, through a temporary file so a failure leaves no partial file."""
    # openpyxl alone takes a third of a second to import: only for .xlsx, and only after the pull.
    from billing_kit._excel import excel_safe, sheet_title

    suffix = path.suffix.lower()
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(handle)
    try:
        if suffix == ".parquet":
            frame.to_parquet(name, index=False)
        elif suffix == ".csv":
            frame.to_csv(name, index=False)
        else:
            excel_safe(_excel_ready(frame)).to_excel(
                name, index=False, sheet_name=sheet_title(path.stem)
            )
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _excel_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel has no time zones and no <NA>: wall-clock times in the frame's zone, blanks for NA."""
    import pandas as pd

    out = {}
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            column = column.dt.tz_localize(None)
        values = column.astype(object)
        out[name] = values.where(column.notna(), None)
    return pd.DataFrame(out)


def run(args: argparse.Namespace) -> int:
    """Check the options, pull, write; return the exit status (2 for a bad option)."""
    kind: ObjectKind = args.kind
    try:
        tz = check_timezone(args.tz)
        check_window(args.since, args.until, tz=tz)
        status = check_status(kind, args.status) if args.status else None
        out = check_output(args.out)
    except InvalidOption as exc:
        print(f"billing-kit pull: error: {exc}", file=sys.stderr)
        return 2
    import billing_kit
    from billing_kit.history._loaders import load

    client = billing_kit.connect()
    try:
        frame = load(
            client,
            kind,
            args.since,
            args.until,
            status=status,
            tz=tz,
            metadata=args.metadata,
            progress=not args.quiet,
        )
    finally:
        client.close()
    write_frame(frame, out)
    if not args.quiet:
        pull = frame.attrs.get("pull", {})
        print(f"wrote {len(frame):,} {kind} to {out} ({pull.get('requests', 0)} requests)")
    return 0
