"""Idempotency keys (https://docs.stripe.com/api/idempotent_requests), kept in SQLite so they
survive restarts and span processes.

A key is reserved (``in_flight``) before the endpoint runs and completed in the same transaction as
the endpoint's effects, so a replay can never disagree with the stored state. Validation failures
release the reservation (nothing saved); a second request while the first runs gets 409.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import msgspec

from billing_kit.sandbox._errors import StripeError, invalid
from billing_kit.sandbox._store import Store

MAX_KEY_LENGTH = 255
#: An in-flight reservation older than this belongs to a crashed process and may be taken over.
STALE_AFTER_SECONDS = 60.0
#: Keys are kept at least this long (Stripe prunes after at least 24 hours).
RETENTION_SECONDS = 24 * 3600.0

_MISMATCH = (
    "Keys for idempotent requests can only be used with the same parameters they were first used "
    "with. Try using a key other than '{key}' if you meant to execute a different request."
)
_OTHER_ENDPOINT = (
    "Keys for idempotent requests can only be used for the same endpoint they were first used for "
    "('{first}' vs '{this}'). Try using a key other than '{key}' if you meant to execute a "
    "different request."
)
_IN_FLIGHT = (
    "There is currently another in-progress request using this Stripe token (probably meaning you "
    "clicked twice, and the other request is still going through): '{key}'. This request conflicts "
    "with it; try again in a moment."
)


@dataclass(frozen=True)
class Replay:
    """A stored outcome to send again."""

    status: int
    body: dict[str, Any]
    original_request: str


def fingerprint(params: dict[str, Any]) -> str:
    """Return a digest of the decoded params (so key order and encoding do not matter)."""
    return hashlib.sha256(msgspec.json.encode(params, order="sorted")).hexdigest()


def check_key(key: str) -> None:
    """Raise 400 for a key Stripe would refuse."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise invalid(
            f"Invalid Idempotency-Key {key[:40]!r}...: keys must be 1 to {MAX_KEY_LENGTH} "
            "characters; a UUID4 is a good choice.",
            param="Idempotency-Key",
        )


def begin(
    store: Store, key: str, method: str, path: str, digest: str, request_id: str
) -> Replay | None:
    """Reserve ``key`` for this request, or return the stored outcome to replay.

    Raises
    ------
    StripeError
        400 ``idempotency_error`` for other params or another endpoint; 409 while in flight.
    """
    check_key(key)
    now = time.time()
    endpoint = f"{method} {path}"
    with store.write() as conn:
        row = conn.execute(
            "SELECT method, path, fingerprint, state, status, body, request_id, created"
            " FROM idempotency_keys WHERE key = ?",
            (key,),
        ).fetchone()
        if row is not None and now - float(row[7]) > RETENTION_SECONDS and row[3] == "done":
            conn.execute("DELETE FROM idempotency_keys WHERE key = ?", (key,))
            row = None
        if row is not None:
            first = f"{row[0]} {row[1]}"
            if first != endpoint:
                raise StripeError(
                    400, "idempotency_error",
                    _OTHER_ENDPOINT.format(first=first, this=endpoint, key=key),
                )  # fmt: skip
            if row[3] == "in_flight" and now - float(row[7]) < STALE_AFTER_SECONDS:
                raise StripeError(
                    409, "idempotency_error", _IN_FLIGHT.format(key=key),
                    code="idempotency_key_in_use",
                )  # fmt: skip
            if row[2] != digest:
                raise StripeError(400, "idempotency_error", _MISMATCH.format(key=key))
            if row[3] == "done":
                return Replay(int(row[4]), msgspec.json.decode(row[5]), str(row[6]))
            conn.execute("DELETE FROM idempotency_keys WHERE key = ?", (key,))
        conn.execute(
            "INSERT INTO idempotency_keys(key, method, path, fingerprint, state, request_id, "
            "created)"
            " VALUES (?, ?, ?, ?, 'in_flight', ?, ?)",
            (key, method, path, digest, request_id, now),
        )
    return None


def prune(store: Store, *, older_than: float = RETENTION_SECONDS) -> int:
    """Forget completed keys older than the retention (Stripe keeps them at least 24 h)."""
    with store.write() as conn:
        cursor = conn.execute(
            "DELETE FROM idempotency_keys WHERE state = 'done' AND created < ?",
            (time.time() - older_than,),
        )
    return int(cursor.rowcount)


def complete(conn: Any, key: str, status: int, body: dict[str, Any]) -> None:
    """Store the outcome (inside the request's own transaction)."""
    conn.execute(
        "UPDATE idempotency_keys SET state = 'done', status = ?, body = ? WHERE key = ?",
        (status, msgspec.json.encode(body), key),
    )


def release(store: Store, key: str) -> None:
    """Forget a reservation whose request saved nothing (validation error, dropped connection)."""
    with store.write() as conn:
        conn.execute("DELETE FROM idempotency_keys WHERE key = ? AND state = 'in_flight'", (key,))
