"""Dates read without pandas (the start of ``billing-kit pull``) mean what pandas reads them as."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_kit.history._options import InvalidOption, to_unix

ZONES = [None, "UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


def pandas_unix(value: object, tz: str | None, upper: bool) -> int:
    """What ``to_unix`` answered when every date went through ``pandas.Timestamp``."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz or "UTC")
    utc = stamp.tz_convert("UTC")
    return int((utc.ceil("s") if upper else utc.floor("s")).timestamp())


moments = st.datetimes(min_value=dt.datetime(1700, 1, 1), max_value=dt.datetime(2250, 12, 31))
offsets = st.one_of(
    st.just(""),
    st.just("Z"),
    st.integers(-14 * 60, 14 * 60).map(
        lambda m: f"{'+-'[m < 0]}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
    ),
)


def iso(moment: dt.datetime, precision: int, offset: str) -> str:
    text = moment.isoformat(sep="T" if precision % 2 else " ")
    text = (
        text[: [10, 16, 19, 26][precision]]
        if precision < 3
        else moment.strftime("%Y-%m-%dT%H:%M:%S.%f")
    )
    return text + (offset if precision else "")


@given(moments, st.integers(0, 3), offsets, st.sampled_from(ZONES), st.booleans())
def test_iso_strings_mean_what_pandas_reads(
    moment: dt.datetime, precision: int, offset: str, tz: str | None, upper: bool
) -> None:
    text = iso(moment, precision, offset)
    try:
        expected = pandas_unix(text, tz, upper)
    except ValueError:  # a wall-clock time a DST change skips or repeats: refused as before
        with pytest.raises(ValueError):
            to_unix("since", text, tz=tz, upper=upper)
        return
    assert to_unix("since", text, tz=tz, upper=upper) == expected


@given(moments, st.sampled_from(ZONES), st.booleans(), st.booleans())
def test_datetimes_and_dates_mean_what_pandas_reads(
    moment: dt.datetime, tz: str | None, upper: bool, as_date: bool
) -> None:
    value: dt.date = moment.date() if as_date else moment
    try:
        expected = pandas_unix(value, tz, upper)
    except ValueError:
        with pytest.raises(ValueError):
            to_unix("until", value, tz=tz, upper=upper)
        return
    assert to_unix("until", value, tz=tz, upper=upper) == expected


@pytest.mark.parametrize("text", ["2024-02-30", "2024-13-01", "2024-01-01T25:00"])
def test_dates_pandas_refuses_stay_refused(text: str) -> None:
    with pytest.raises(InvalidOption, match=f"since='{text}' is not a date"):
        to_unix("since", text)
