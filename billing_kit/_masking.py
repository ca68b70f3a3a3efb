"""Masking of Stripe API keys, used by every repr, log line and exception message.

A key is shown as its prefix plus the last four characters (``sk_test_…4242``): enough to tell two
keys apart in a notebook, never enough to use one.

Examples
--------
>>> mask_key("sk_test_" + "a1b2c3d4e5f6g7h8" + "4242")
'sk_test_…4242'
>>> mask_key("short")
'…'
>>> scrub("Invalid API Key provided: rk_live_" + "Zz9" * 8 + " (check it)")
'Invalid API Key provided: rk_live_…9Zz9 (check it)'
"""

from __future__ import annotations

import logging
import re

__all__ = ["KeyScrubbingFilter", "mask_key", "scrub"]

# Secret, restricted and publishable keys, test or live; [A-Za-z0-9] after the prefix. Any length
# from 4 characters on is masked, so even a truncated key pasted into a message is hidden.
_KEY_PATTERN = re.compile(r"\b((?:sk|rk|pk)_(?:test|live)_)([A-Za-z0-9]{4,})")
_PREFIX_PATTERN = re.compile(r"^((?:sk|rk|pk)_(?:test|live)_)")


def mask_key(key: str | None) -> str:
    """Return ``key`` masked for display: its known prefix and last four characters.

    Parameters
    ----------
    key
        A Stripe API key, or ``None``.

    Returns
    -------
    str
        ``"sk_test_…4242"`` for a recognised key, ``"…4242"`` for another long string, ``"…"``
        for short strings (whose last four characters would reveal too much) and ``"<none>"``
        for ``None``.
    """
    if key is None:
        return "<none>"
    match = _PREFIX_PATTERN.match(key)
    prefix = match.group(1) if match else ""
    secret = key[len(prefix) :]
    # The well-known sandbox key is not secret; showing it whole makes the mode obvious.
    if key == "sk_test_sandbox":
        return key
    if len(secret) < 12:
        return prefix + "…"
    return f"{prefix}…{secret[-4:]}"


def scrub(text: str) -> str:
    """Return ``text`` with every Stripe key in it masked by :func:`mask_key`."""
    return _KEY_PATTERN.sub(lambda m: mask_key(m.group(0)), text)


class KeyScrubbingFilter(logging.Filter):
    """Logging filter that masks keys in a record's final message.

    Installed on the ``billing_kit`` and ``stripe`` loggers by :func:`billing_kit.connect`, so a
    debug log of the Stripe library (which can include request bodies) never shows a key either.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
