"""Realism knobs in front of the core: latency, a per-endpoint rate limit, and injected faults.

Faults are drawn from a seeded generator, one draw per API request, so a given seed and request
order always fail the same way. The kinds in ``Knobs.fault_kinds`` are equally likely when a fault
fires; by default the first three:

``error``
    500 ``api_error`` before the request takes effect (not saved under its idempotency key, so a
    retry with the same key runs normally).
``reset``
    the connection is dropped before the request takes effect.
``drop``
    the request takes effect and commits, then the connection is dropped ("commit then drop"): only
    an idempotent retry tells the client what happened.
``saved_error``
    (opt-in) a 500 saved under the request's idempotency key and replayed for every later request
    with that key (``Idempotent-Replayed: true``), as Stripe does once execution has begun
    (https://docs.stripe.com/api/idempotent_requests); the endpoint itself does not run. Requests
    without a key get a plain ``error``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from billing_kit.sandbox._errors import StripeError, api_error, rate_limited

FAULT_KINDS = ("error", "reset", "drop")
#: Every kind a sandbox can inject; ``saved_error`` only when asked for in ``Knobs.fault_kinds``.
ALL_FAULT_KINDS = (*FAULT_KINDS, "saved_error")


@dataclass(frozen=True)
class Knobs:
    """The settings :class:`Faults` applies; every field may change while the server runs."""

    latency_ms: float = 0.0
    rate_limit: float | None = None
    fault_rate: float = 0.0
    fault_seed: int | None = None
    fault_kinds: tuple[str, ...] = FAULT_KINDS

    def __post_init__(self) -> None:
        unknown = [kind for kind in self.fault_kinds if kind not in ALL_FAULT_KINDS]
        if unknown or not self.fault_kinds:
            raise ValueError(
                f"fault_kinds must be a non-empty tuple of {ALL_FAULT_KINDS!r}, got "
                f"{self.fault_kinds!r}"
            )
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {self.latency_ms!r}")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError(
                f"rate_limit must be a positive number of requests per second or None, got "
                f"{self.rate_limit!r}"
            )
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, got {self.fault_rate!r}")


class TokenBucket:
    """A token bucket per endpoint: ``rate`` requests/s with a burst of ``max(1, rate)``."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, endpoint: str) -> bool:
        """Take one token for ``endpoint``; False when the endpoint is over its rate."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(endpoint, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[endpoint] = (tokens, now)
                return False
            self._buckets[endpoint] = (tokens - 1.0, now)
            return True


class Faults:
    """Decide, per request, the latency, whether it is rate limited and which fault (if any)
    hits.
    """

    def __init__(self, knobs: Knobs | None = None) -> None:
        self._lock = threading.Lock()
        self.knobs = Knobs()
        self._bucket: TokenBucket | None = None
        self._rng = random.Random()
        self.configure(knobs or Knobs())

    def configure(self, knobs: Knobs) -> None:
        """Apply new knobs; a new seed (or rate) restarts the fault sequence (or buckets)."""
        with self._lock:
            if knobs.rate_limit != self.knobs.rate_limit or self._bucket is None:
                self._bucket = TokenBucket(knobs.rate_limit) if knobs.rate_limit else None
            if knobs.fault_seed != self.knobs.fault_seed or knobs.fault_seed is None:
                self._rng = random.Random(knobs.fault_seed)
            self.knobs = knobs

    @property
    def latency(self) -> float:
        """Seconds to wait before answering."""
        return self.knobs.latency_ms / 1000.0

    def check_rate(self, endpoint: str) -> StripeError | None:
        """Return the 429 for ``endpoint`` when it is over the rate limit, else None."""
        bucket = self._bucket
        if bucket is None or bucket.allow(endpoint):
            return None
        return rate_limited("endpoint-rate")

    def draw(self) -> str | None:
        """Return the fault for the next request (one of ``knobs.fault_kinds``) or None."""
        with self._lock:
            rate = self.knobs.fault_rate
            if rate <= 0:
                return None
            roll = self._rng.random()
            kind = self._rng.choice(self.knobs.fault_kinds)
        return kind if roll < rate else None

    @staticmethod
    def error() -> StripeError:
        """The injected 500."""
        return api_error("An unknown error occurred (injected by the sandbox's fault_rate).")
