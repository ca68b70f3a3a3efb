"""When to retry, how long to wait, and how fast to send.

Retries are ours alone: the client sends every request with stripe-python's own retries switched off
(``max_network_retries=0``). Two layers of retries would multiply (5 × 3 attempts), bypass the pacer
for the inner ones, hide attempts from the ledger, and stripe-python does not retry rate-limit 429s.
With one loop, every attempt is paced, counted and sent with the same idempotency key.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import stripe

__all__ = ["RetryPolicy", "TokenBucket", "header", "is_retryable", "key_is_spent"]


def header(headers: object, name: str) -> str | None:
    """Return the value of header ``name`` (lower case) from any mapping-like, or ``None``."""
    if not headers or not hasattr(headers, "items"):
        return None
    for key, value in headers.items():
        if str(key).lower() == name:
            return str(value)
    return None


def is_retryable(exc: stripe.StripeError) -> bool:
    """Return ``True`` when sending the same request again (same key) may succeed.

    Retried: connection errors stripe-python marks retryable (resets, timeouts, a dropped
    response), any HTTP 5xx, 409 (the same key is still in flight) and every 429. Not retried:
    anything Stripe answers definitively (400, 401, 402, 403, 404), SSL failures, answers
    Stripe replayed from the idempotency key (``Idempotent-Replayed: true``: it saved them, even
    a 500, and sends the same again for 24 hours) and other responses marked
    ``Stripe-Should-Retry: false``.

    Rate-limit 429s carry ``Stripe-Should-Retry: false``, which tells the SDK not to retry *at
    once*; Stripe's advice for them is to back off and retry, which is what this loop does (the
    rate limiter runs before the idempotency layer, so nothing was executed).
    """
    if isinstance(exc, stripe.APIConnectionError):
        return exc.should_retry
    if header(exc.headers, "idempotent-replayed") == "true":
        return False  # Stripe saved this answer under the key: resending only replays it
    if exc.http_status == 429:
        return True
    advice = header(exc.headers, "stripe-should-retry")
    if advice == "false":
        return False
    if advice == "true":
        return True
    status = exc.http_status or 0
    return status == 409 or status == 429 or status >= 500


def key_is_spent(exc: stripe.StripeError) -> bool:
    """Return ``True`` when Stripe saved this server error under the request's idempotency key.

    Stripe saves a request's result, 500s included, once the endpoint has begun executing, and
    replays it for every later request with the key
    (https://docs.stripe.com/api/idempotent_requests). A 5xx that comes back marked
    ``Idempotent-Replayed: true``, or ``Stripe-Should-Retry: false`` (Stripe's word that the
    same request cannot succeed), is therefore final for that key.
    """
    if isinstance(exc, stripe.APIConnectionError) or (exc.http_status or 0) < 500:
        return False
    return (
        header(exc.headers, "idempotent-replayed") == "true"
        or header(exc.headers, "stripe-should-retry") == "false"
    )


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter.

    Attempt ``n`` (1-based) waits ``min(max_backoff, backoff * 2**(n-1))`` scaled by a random
    factor in [0.5, 1], so many kernels retrying at once spread out instead of colliding again.
    """

    max_retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Return the seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return float(ceiling * self.rng.uniform(0.5, 1.0))


class TokenBucket:
    """A thread-safe token bucket: at most ``rate`` requests per second on average.

    ``burst`` tokens may be spent at once after a quiet spell; the default of one token keeps the
    client strictly below the configured rate, which is what keeps it clear of Stripe's 429s.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive requests per second, got {rate!r}")
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._stamp = clock()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; return the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            # A negative balance is a queue: this caller waits for its share of the future.
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            self.waited += wait
        if wait > 0:
            self._sleep(wait)
        return wait
