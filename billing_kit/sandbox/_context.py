"""The per-request context handed to every resource handler: one transaction, one clock reading."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from billing_kit.sandbox._errors import no_such
from billing_kit.sandbox._ids import new_id
from billing_kit.sandbox._shapes import event_body
from billing_kit.sandbox._store import OBJECT_NAMES, Store, table_for_id

#: The latest time the sandbox clock may show: 2200-01-01T00:00:00Z. Every timestamp the sandbox
#: makes (``created``, ``available_on`` two days later, ...) then fits a 64-bit integer and the
#: nanosecond datetimes of pandas (which end in 2262), so clients can always read what it wrote.
LATEST = 7_258_118_400


class Clock:
    """The sandbox's notion of now: wall time plus an offset tests and demos can move forward."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> int:
        """Return the current sandbox time in unix seconds."""
        return int(time.time() + self._offset)

    def advance(self, seconds: float) -> int:
        """Move the clock forward by ``seconds`` and return the new time."""
        with self._lock:
            self._offset += seconds
        return self.now()

    def set(self, when: float) -> int:
        """Jump to unix time ``when`` (later calls keep ticking from there)."""
        with self._lock:
            self._offset = when - time.time()
        return self.now()


@dataclass
class Ctx:
    """State a handler may touch while serving one request.

    Attributes
    ----------
    conn
        The connection, inside the request's transaction.
    now
        The sandbox clock (unix seconds) for this request; every ``created`` uses it.
    request_id, idempotency_key
        Recorded on events (``event.request``).
    """

    conn: sqlite3.Connection
    now: int
    request_id: str
    idempotency_key: str | None = None
    clock: Clock | None = None
    readonly: bool = False
    cache: dict[str, Any] | None = None
    events: list[str] = field(default_factory=list)

    def get(self, table: str, object_id: Any, *, param: str = "id") -> dict[str, Any]:
        """Return a stored object, or raise Stripe's 404 ``No such ...`` naming ``param``."""
        body = Store.get(self.conn, table, object_id) if isinstance(object_id, str) else None
        if body is None:
            raise no_such(OBJECT_NAMES[table], str(object_id), param=param)
        return body

    def find(self, object_id: str) -> dict[str, Any] | None:
        """Return any stored object by id (its prefix names the table), or None."""
        table = table_for_id(object_id)
        return None if table is None else Store.get(self.conn, table, object_id)

    def insert(self, table: str, body: dict[str, Any], **columns: Any) -> dict[str, Any]:
        """Store a new object and return it (reads return it unstored)."""
        if self.readonly:
            return body
        columns.setdefault("created", body.get("created", self.now))
        Store.insert(self.conn, table, body, **columns)
        return body

    def save(self, table: str, body: dict[str, Any], **columns: Any) -> dict[str, Any]:
        """Store a changed object and return it."""
        if self.readonly:
            return body
        Store.update(self.conn, table, body, **columns)
        return body

    def emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        previous: dict[str, Any] | None = None,
    ) -> None:
        """Record an event whose ``data.object`` is ``obj`` as it is now."""
        if self.readonly:
            return
        event = event_body(
            new_id("event"),
            self.now,
            event_type=event_type,
            obj=obj,
            previous_attributes=previous,
            request_id=self.request_id,
            idempotency_key=self.idempotency_key,
        )
        Store.insert(self.conn, "events", event)
        self.events.append(event["id"])
