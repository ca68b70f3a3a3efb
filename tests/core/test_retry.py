"""Which failures are retried, backoff bounds, and the token bucket's pacing (fake clock seam)."""

from __future__ import annotations

import random

import pytest
import stripe

from billing_kit._retry import RetryPolicy, TokenBucket, is_retryable

NO_RETRY = {"Stripe-Should-Retry": "false"}


@pytest.mark.parametrize(
    ("exc", "retry"),
    [
        (stripe.APIConnectionError("reset", should_retry=True), True),
        (stripe.APIConnectionError("ssl", should_retry=False), False),
        (stripe.APIError("boom", http_status=500), True),
        (stripe.APIError("bad gateway", http_status=502), True),
        (stripe.APIError("in flight", http_status=409), True),
        (stripe.RateLimitError("slow", http_status=429), True),
        # Rate-limit 429s say Stripe-Should-Retry: false (not *at once*); we back off and retry.
        (stripe.RateLimitError("slow", http_status=429, headers=NO_RETRY), True),
        (stripe.APIError("no", http_status=500, headers={"stripe-should-retry": "false"}), False),
        (stripe.APIError("lock", http_status=400, headers={"Stripe-Should-Retry": "true"}), True),
        (stripe.InvalidRequestError("bad", "amount", http_status=400), False),
        (stripe.CardError("declined", None, "card_declined", http_status=402), False),
        (stripe.AuthenticationError("key", http_status=401), False),
        (stripe.IdempotencyError("mismatch", http_status=400), False),
    ],
)
def test_is_retryable(exc: stripe.StripeError, retry: bool) -> None:
    assert is_retryable(exc) is retry


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(backoff=0.5, max_backoff=4.0, rng=random.Random(1))
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (9, 4.0)]:
        delays = [policy.delay(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jitter: retries from many kernels spread out


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_spaces_requests_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4.0, clock=clock, sleep=clock.sleep)
    for _ in range(9):
        bucket.acquire()
    # One token to start with, then one every 0.25 s: 9 requests need 2 s.
    assert clock.now == pytest.approx(102.0)
    assert bucket.waited == pytest.approx(2.0)


def test_token_bucket_refills_while_idle_up_to_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, burst=3, clock=clock, sleep=clock.sleep)
    clock.now += 60  # a long pause refills only up to the burst
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire() == pytest.approx(0.1)
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)
