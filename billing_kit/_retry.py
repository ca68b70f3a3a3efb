"""When to retry, how long to wait, and how fast to send: the one retry loop.

Every request billing_kit sends goes through :meth:`RetryPolicy.send` (the client's transport for
writes and reads, the history fetcher for pulls), so both follow the same rules:

- Faults (connection errors, 5xx, 409) are retried with exponential backoff and jitter, up to
  ``max_retries`` times. Writes are resent with the same idempotency key, so Stripe replays
  rather than repeats (https://docs.stripe.com/api/idempotent_requests).
- A rate-limit 429 slows the pacer (halves its rate) and holds it for ``Retry-After`` or the
  backoff, whichever is longer, up to ``max_rate_limited`` times; Stripe's advice for 429s is
  exponential backoff with jitter (https://docs.stripe.com/rate-limits).
- An answer Stripe replayed from the key, or marked ``Stripe-Should-Retry: false``, is final
  (https://docs.stripe.com/error-low-level).

Retries are ours alone: every request is sent with stripe-python's own retries switched off
(``max_network_retries=0``). Two layers of retries would multiply (5 × 3 attempts), bypass the pacer
for the inner ones, hide attempts from the ledger, and stripe-python does not retry rate-limit 429s.
With one loop, every attempt is paced, counted and sent with the same idempotency key.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeGuard, TypeVar

if TYPE_CHECKING:
    import stripe

__all__ = [
    "Pace",
    "RetryPolicy",
    "TokenBucket",
    "header",
    "is_rate_limited",
    "is_retryable",
    "key_is_spent",
]

T = TypeVar("T")


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
    import stripe

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


def is_rate_limited(exc: stripe.StripeError) -> bool:
    """Return ``True`` for Stripe's rate limiter saying "too many requests" (429 ``rate_limit``).

    Other 429s (``lock_timeout``: another request holds the object) are ordinary faults.
    """
    return exc.http_status == 429 and exc.code in (None, "rate_limit")


def retry_after(exc: stripe.StripeError) -> float:
    """Return the seconds a ``Retry-After`` header asks for (0 when absent or not a number)."""
    value = header(exc.headers, "retry-after")
    if value is None or not value.replace(".", "", 1).isdigit():
        return 0.0
    return float(value)


def key_is_spent(exc: stripe.StripeError) -> bool:
    """Return ``True`` when Stripe saved this server error under the request's idempotency key.

    Stripe saves a request's result, 500s included, once the endpoint has begun executing, and
    replays it for every later request with the key
    (https://docs.stripe.com/api/idempotent_requests). A 5xx that comes back marked
    ``Idempotent-Replayed: true``, or ``Stripe-Should-Retry: false`` (Stripe's word that the
    same request cannot succeed), is therefore final for that key.
    """
    import stripe

    if isinstance(exc, stripe.APIConnectionError) or (exc.http_status or 0) < 500:
        return False
    return (
        header(exc.headers, "idempotent-replayed") == "true"
        or header(exc.headers, "stripe-should-retry") == "false"
    )


class Pace(Protocol):
    """What the retry loop needs of a pacer (a :class:`TokenBucket`, or one endpoint's lane)."""

    def acquire(self) -> object:
        """Wait until one request may be sent."""

    def slow_down(self) -> float:
        """Lower the rate after a 429; return the new rate (requests/s)."""

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds``."""

    def speed_up(self) -> None:
        """Give back a little of the rate after a success."""


@dataclass
class RetryPolicy:
    """What is retried, how often, and how long to wait: the one retry loop (:meth:`send`).

    Backoff for attempt ``n`` (1-based) is ``min(max_backoff, backoff * 2**(n-1))`` scaled by a
    random factor in [0.5, 1], so many kernels retrying at once spread out instead of colliding
    again. Faults and rate-limit 429s have separate budgets: ``max_retries`` faults, and
    ``max_rate_limited`` 429s (the client sets it to ``max_retries``; a history pull, whose many
    workers find the rate limit by meeting it, allows 30).
    """

    max_retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_rate_limited: int = 30
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Return the seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return float(ceiling * self.rng.uniform(0.5, 1.0))

    def send(
        self,
        request: Callable[[], T],
        pace: Pace,
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_attempt: Callable[[], None] | None = None,
        on_retry: Callable[[stripe.StripeError, float], None] | None = None,
    ) -> tuple[T, int]:
        """Call ``request`` until it succeeds, fails definitively, or a budget runs out.

        Every attempt first waits for ``pace``. A rate-limit 429 slows ``pace`` down and pauses
        it (so every thread sharing it waits, not just this one) for the longest of
        ``Retry-After``, the backoff and one interval at the new rate; a success speeds it up a
        little again. Other retryable faults wait the backoff.

        Parameters
        ----------
        request
            Sends one attempt; raises :class:`stripe.StripeError` on failure. Writes must send
            the same idempotency key every time.
        pace
            The pacer every attempt, retries included, draws from.
        sleep
            Called to wait between attempts (a seam for tests that must not wait).
        on_attempt
            Called just before each attempt (the ledger counts attempts with it, so an attempt
            cut short by a killed process is counted too).
        on_retry
            Called with the error and the wait before each retry.

        Returns
        -------
        tuple
            ``request``'s result and the number of attempts it took.

        Raises
        ------
        stripe.StripeError
            The last error, unmapped (callers map it, naming their idempotency key).
        """
        attempts = faults = limited = 0
        while True:
            pace.acquire()
            attempts += 1
            if on_attempt is not None:
                on_attempt()
            try:
                result = request()
            except Exception as exc:
                if not _is_stripe_error(exc):
                    raise
                if is_rate_limited(exc):
                    # Being told to slow down is not a fault: slow down for everyone sharing
                    # the pacer, wait as asked, and try again.
                    limited += 1
                    rate = pace.slow_down()
                    if limited > self.max_rate_limited:
                        raise
                    delay = max(retry_after(exc), self.delay(limited), 1.0 / rate)
                    pace.pause(delay)
                elif is_retryable(exc) and faults < self.max_retries:
                    faults += 1
                    delay = self.delay(faults)
                else:
                    raise
                if on_retry is not None:
                    on_retry(exc, delay)
                sleep(delay)
                continue
            pace.speed_up()
            return result, attempts


def _is_stripe_error(exc: BaseException) -> TypeGuard[stripe.StripeError]:
    """Whether ``exc`` is a stripe-python error, without importing stripe: until something has
    imported it (a write, or a history read that failed), no stripe error can exist, and a
    history pull sends its first request without it (``billing_kit._reads``)."""
    module = sys.modules.get("stripe")
    return module is not None and isinstance(exc, module.StripeError)


class TokenBucket:
    """A thread-safe token bucket: at most ``rate`` requests per second on average.

    ``burst`` tokens may be spent at once after a quiet spell; the default of one token keeps the
    client strictly below the configured rate, which is what keeps it clear of Stripe's 429s.
    After a 429 (:meth:`slow_down`) the rate halves, at most once a second and down to 1/s; each
    success (:meth:`speed_up`) gives back a 500th of the configured rate (additive increase,
    multiplicative decrease, so many threads or kernels settle below the shared limit).
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
        self.rate = self.configured = rate
        self.burst = max(burst, 1.0)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._stamp = clock()
        self._paused_until = self._slowed = -1e18
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; return the seconds waited."""
        with self._lock:
            now = self._clock()
            pause = max(0.0, self._paused_until - now)
            now += pause
            self._tokens = min(self.burst, self._tokens + max(0.0, now - self._stamp) * self.rate)
            self._stamp = max(self._stamp, now)
            self._tokens -= 1.0
            # A negative balance is a queue: this caller waits for its share of the future.
            wait = pause + (-self._tokens / self.rate if self._tokens < 0 else 0.0)
            self.waited += wait
        if wait > 0:
            self._sleep(wait)
        return wait

    def slow_down(self) -> float:
        """Halve the rate after a 429 (once a second at most, however many threads meet one)."""
        with self._lock:
            now = self._clock()
            if now - self._slowed >= 1.0:
                self.rate = max(min(1.0, self.configured), self.rate / 2)
                self._slowed = now
            return self.rate

    def speed_up(self) -> None:
        """After a success, give back a 500th of the configured rate, up to that rate."""
        if self.rate < self.configured:
            with self._lock:
                self.rate = min(self.configured, self.rate + self.configured / 500)

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (after a 429, for every thread sharing this bucket)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
