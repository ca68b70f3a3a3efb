"""Sending one logical request to Stripe: paced, retried under one idempotency key, errors mapped.

Every write (POST) must come with an idempotency key that the caller has already written to the
ledger; the transport never invents one, so no charge can leave without a record. Reads (GET) are
retried the same way, without a key (they are idempotent by nature).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from billing_kit._retry import RetryPolicy, TokenBucket, header

if TYPE_CHECKING:
    import stripe

__all__ = ["Response", "Transport", "TransportStats"]

log = logging.getLogger("billing_kit")


@dataclass(frozen=True, slots=True)
class Response:
    """A successful answer: the JSON body, and how it was obtained."""

    data: Mapping[str, Any]
    attempts: int
    replayed: bool
    request_id: str | None


@dataclass
class TransportStats:
    """Counters since the client was created (shown in benchmarks and fault tests)."""

    requests: int = 0
    attempts: int = 0
    retries: int = 0
    replays: int = 0
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, counter: str) -> None:
        """Increment ``counter`` by one (thread-safe: forms may charge from a worker thread)."""
        with self._lock:
            setattr(self, counter, getattr(self, counter) + 1)


class Transport:
    """Paced, retrying sender over a configured :class:`stripe.StripeClient`.

    Parameters
    ----------
    client
        The stripe client (its own retries are overridden to 0 per request, see ``_retry``).
    policy
        Retry count and backoff.
    pacer
        Token bucket every attempt draws from, retries included.
    sleep
        Called to wait between attempts (a seam for tests that must not wait).
    stats
        The counters to add to (default new ones).
    """

    def __init__(
        self,
        client: stripe.StripeClient,
        *,
        policy: RetryPolicy,
        pacer: TokenBucket,
        sleep: Callable[[float], None] = time.sleep,
        stats: TransportStats | None = None,
    ) -> None:
        self.client = client
        self.policy = policy
        self.pacer = pacer
        self.stats = stats or TransportStats()
        self._sleep = sleep

    def request(
        self,
        method: Literal["get", "post", "delete"],
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        on_send: Callable[[], None] | None = None,
        on_replay: Callable[[], None] | None = None,
    ) -> Response:
        """Send ``method path`` until it succeeds, fails definitively, or retries run out.

        Parameters
        ----------
        idempotency_key
            Required for ``post``: the key already recorded in the ledger.
        on_send
            Called just before each attempt is sent (the ledger counts attempts with it, so an
            attempt cut short by a killed process is counted too).
        on_replay
            Called when Stripe answers with ``Idempotent-Replayed: true``.

        Raises
        ------
        StripeRequestError
            The mapped error (``StripeUnavailable``/``RateLimited`` carry the idempotency key).
        """
        import stripe

        from billing_kit._stripe_errors import map_stripe_error

        if method == "post" and not idempotency_key:
            raise ValueError("every POST needs an idempotency key recorded in the ledger first")
        options: dict[str, Any] = {"max_network_retries": 0}
        if idempotency_key:
            options["idempotency_key"] = idempotency_key
        self.stats.add("requests")

        def retrying(exc: stripe.StripeError, delay: float) -> None:
            self.stats.add("retries")
            log.info(
                "%s %s failed (%s, HTTP %s); retry in %.2fs with the same key",
                method.upper(),
                path,
                type(exc).__name__,
                exc.http_status,
                delay,
            )

        def attempt() -> None:
            self.stats.add("attempts")
            if on_send is not None:
                on_send()

        try:
            response, attempts = self.policy.send(
                lambda: self.client.raw_request(method, path, **dict(params or {}), **options),
                self.pacer,
                sleep=self._sleep,
                on_attempt=attempt,
                on_retry=retrying,
            )
        except stripe.StripeError as exc:
            self.stats.add("failures")
            raise map_stripe_error(exc, idempotency_key=idempotency_key) from exc
        replayed = header(response.headers, "idempotent-replayed") == "true"
        if replayed:
            self.stats.add("replays")
            if on_replay is not None:
                on_replay()
        data = response.data
        if not isinstance(data, Mapping):  # pragma: no cover - Stripe always answers objects
            raise TypeError(f"unexpected response body for {path}: {type(data).__name__}")
        return Response(
            data=data,
            attempts=attempts,
            replayed=replayed,
            request_id=response.request_id,
        )
