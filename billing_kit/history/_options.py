"""Checking the caller's options before any request: dates, status values, time zone, customer,
metadata.

Every mistake a caller can make is reported here, naming the option, showing the bad value and
saying what to write instead, so nothing is sent to Stripe and no cache is touched for a call that
cannot work.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from billing_kit._exceptions import ConfigurationError
from billing_kit._pan import safe_repr
from billing_kit._validation import is_finite_number, is_stripe_id
from billing_kit.history._schema import STATUS_VALUES, ObjectKind

if TYPE_CHECKING:
    import pandas as pd

    DateLike = str | dt.date | dt.datetime | pd.Timestamp | int | float | None
else:
    # A pandas Timestamp is a datetime: the same values pass, without importing pandas.
    DateLike = str | dt.date | dt.datetime | int | float | None


class InvalidOption(ConfigurationError, ValueError):
    """A history option is unusable (bad date, unknown status, ...); nothing was sent to Stripe."""


# 9999-12-31T23:59:59Z: the last second a date can name; larger numbers are typing slips.
_LAST_SECOND = 253_402_300_799
#: The ISO 8601 dates and times the standard library reads exactly as pandas does (a date, a time
#: to the microsecond, ``Z`` or an offset); anything else goes to ``pandas.Timestamp``, so the
#: usual case (``billing-kit pull --since 2024-01-01``) is checked without importing pandas.
_PLAIN_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}:\d{2})?",
    re.ASCII,
)


@dataclass(frozen=True)
class Window:
    """A checked ``[since, until)`` window in Unix seconds (``None``: open on that side)."""

    since: int | None
    until: int | None


def check_timezone(tz: str | None) -> str | None:
    """Return ``tz`` if it names a time zone.

    Raises
    ------
    InvalidOption
        For an unknown name, with the fix.
    """
    if tz is None:
        return None
    if not isinstance(tz, str):
        raise InvalidOption(f"tz={tz!r} is not a time zone name; pass e.g. tz='Europe/Paris'")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, "America"
        raise InvalidOption(
            f"tz={tz!r} is not a known time zone; use an IANA name such as 'UTC', "
            f"'Europe/Paris' or 'America/New_York'"
        ) from None
    return tz


def to_unix(
    name: str, value: DateLike, *, tz: str | None = None, upper: bool = False
) -> int | None:
    """Return ``value`` as Unix seconds; dates without a zone are read in ``tz`` (default UTC).

    Stripe's ``created`` is whole seconds and its list filters take whole seconds, so an instant
    inside a second is rounded to keep every object made in ``[since, until)``: ``since`` down
    (an object made at 10.7 s has ``created=10``), ``until`` (exclusive, ``upper=True``) up, so
    ``until=datetime.now(UTC)`` keeps the charges of the current second.

    Examples
    --------
    >>> to_unix("since", "2024-01-01")
    1704067200
    >>> to_unix("since", "2024-01-01", tz="Asia/Tokyo")
    1704034800
    >>> to_unix("until", "2024-01-01T00:00:00.25Z", upper=True)
    1704067201

    Raises
    ------
    InvalidOption
        Naming ``name`` when ``value`` is not a date.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidOption(f"{name}={value!r} is not a date; pass e.g. {name}='2024-01-31'")
    if isinstance(value, int | float):
        if not (is_finite_number(value) and 0 <= value <= _LAST_SECOND):
            raise InvalidOption(
                f"{name}={value!r} is not a usable Unix time: pass seconds from 0 to "
                f"{_LAST_SECOND} (year 9999), or a date such as {name}='2024-01-31'"
            )
        if isinstance(value, int):
            return value
        return math.ceil(value) if upper else math.floor(value)
    plain = _plain_unix(value, tz=tz, upper=upper)
    if plain is not None:
        return plain
    import pandas as pd

    try:
        parsed: Any = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        parsed = None
    if parsed is None or pd.isna(parsed):
        raise InvalidOption(
            f"{name}={value!r} is not a date; write it as YYYY-MM-DD (e.g. {name}='2024-01-31'), "
            f"an ISO timestamp ('2024-01-31T18:00:00Z'), a datetime, or Unix seconds"
        )
    stamp: pd.Timestamp = parsed
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz or "UTC")
    # Rounded exactly (not through the float timestamp()), in UTC so no DST fold is ambiguous.
    utc = stamp.tz_convert("UTC")
    whole = utc.ceil("s") if upper else utc.floor("s")
    return int(whole.timestamp())


def _plain_unix(value: object, *, tz: str | None, upper: bool) -> int | None:
    """``value`` as Unix seconds by the standard library, or ``None`` when only pandas can tell.

    Covers plain ISO strings (:data:`_PLAIN_ISO`), dates and datetimes that are not pandas
    Timestamps (those may hold nanoseconds). A wall-clock time a DST change makes ambiguous or
    skips is left to pandas too, which refuses it as before.

    Examples
    --------
    >>> _plain_unix("2024-01-01T00:00:00.25Z", tz=None, upper=True)
    1704067201
    >>> _plain_unix("Jan 1 2024", tz=None, upper=False) is None
    True
    """
    if isinstance(value, str):
        if _PLAIN_ISO.fullmatch(value) is None:
            return None
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return None  # 2024-02-30: pandas says why
    elif type(value) is dt.datetime:
        moment = value
    elif type(value) is dt.date:
        moment = dt.datetime(value.year, value.month, value.day)
    else:
        return None
    if not 1678 <= moment.year <= 2261:
        return None  # near the ends of pandas' range, which refuses what lies beyond
    if moment.tzinfo is None:
        zone = zoneinfo.ZoneInfo(tz or "UTC")
        early, late = moment.replace(tzinfo=zone), moment.replace(tzinfo=zone, fold=1)
        if early.utcoffset() != late.utcoffset():
            return None
        moment = early
    # Exact integer arithmetic (a float timestamp could round across a second).
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    seconds = delta.days * 86_400 + delta.seconds
    return seconds + 1 if upper and delta.microseconds else seconds


def check_window(since: DateLike, until: DateLike, *, tz: str | None = None) -> Window:
    """Return the checked ``[since, until)`` window.

    Raises
    ------
    InvalidOption
        For an unparseable date, or ``since`` not before ``until``.
    """
    lo = to_unix("since", since, tz=tz)
    hi = to_unix("until", until, tz=tz, upper=True)
    if lo is not None and hi is not None and lo >= hi:
        raise InvalidOption(
            f"since={since!r} is not before until={until!r}: the window is empty; swap them "
            f"(until is exclusive)"
        )
    return Window(lo, hi)


def check_status(kind: ObjectKind, status: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Return the status values to keep, checked against those Stripe documents for ``kind``."""
    if status is None:
        return None
    allowed = STATUS_VALUES[kind]
    if allowed is None:
        raise InvalidOption(f"status={status!r}: {kind} have no status to filter on; drop it")
    values = (status,) if isinstance(status, str) else tuple(status)
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        raise InvalidOption(
            f"status={status!r} has unknown value(s) {unknown!r} for {kind}; "
            f"use one or more of {', '.join(allowed)}"
        )
    return values


def check_customer(customer: Any) -> str | None:
    """Return a customer id from an id string or an object with ``.id`` (a Customer)."""
    if customer is None:
        return None
    value = getattr(customer, "id", customer)
    if not isinstance(value, str) or not is_stripe_id(value, ("cus_",)):
        raise InvalidOption(
            f"customer={safe_repr(customer)} is not a customer id; pass a 'cus_...' id (letters, "
            f"digits and '_') or a Customer (client.find_or_create_customer returns one)"
        )
    return value


def check_metadata(metadata: Any) -> bool | tuple[str, ...] | None:
    """Return the metadata selection: ``None``/``False`` (none), ``True`` (all) or key names."""
    if metadata is None or metadata is False or metadata is True:
        return bool(metadata) if metadata is not None else None
    if isinstance(metadata, str):
        return (metadata,)
    try:
        keys = tuple(metadata)
    except TypeError:
        keys = ()
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise InvalidOption(
            f"metadata={metadata!r} is not a list of key names; pass e.g. metadata=['order_id'], "
            f"or metadata=True for every key"
        )
    return keys


def check_rate_limit(rate_limit: object) -> float | None:
    """Return ``rate_limit`` (requests per second) if it is a finite number above 0, or ``None``."""
    if rate_limit is None:
        return None
    if is_finite_number(rate_limit) and rate_limit > 0:
        return float(rate_limit)
    raise InvalidOption(
        f"rate_limit={rate_limit!r} is not a positive number of requests per second; pass "
        f"e.g. rate_limit=25, or None for the client's rate"
    )
