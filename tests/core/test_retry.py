"""The one retry loop (``RetryPolicy.send``), used by the client's transport and history pulls.

Which failures are retried, backoff bounds, 429s slowing the pacer and ``Retry-After``, the
replayed-error rule, the idempotency key kept across attempts, and the token bucket's pacing
(fake clock seam, so nothing here waits).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
import stripe

from billing_kit import RateLimited, StripeRequestError, StripeUnavailable
from billing_kit._retry import RetryPolicy, TokenBucket, is_retryable
from billing_kit._transport import Transport
from billing_kit.history._fetch import Fetcher

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


def test_token_bucket_slows_down_once_a_second_pauses_and_recovers() -> None:
    clock = FakeClock()
    bucket = TokenBucket(8.0, clock=clock, sleep=clock.sleep)
    # Many threads meeting 429s in the same second halve the rate once, not once each.
    assert [bucket.slow_down(), bucket.slow_down()] == [4.0, 4.0]
    clock.now += 1.0
    assert bucket.slow_down() == 2.0
    for _ in range(5):
        clock.now += 1.0
        bucket.slow_down()
    assert bucket.rate == 1.0  # never below 1/s
    for _ in range(1000):
        bucket.speed_up()
    assert bucket.rate == 8.0  # a 500th of 8/s per success, up to the configured rate
    clock.now += 10
    bucket.pause(3.0)
    assert bucket.acquire() == pytest.approx(3.0)


class Pace:
    """A pacer that records what the loop asks of it."""

    def __init__(self) -> None:
        self.acquired = 0
        self.rate = 16.0
        self.paused: list[float] = []
        self.sped_up = 0

    def acquire(self) -> None:
        self.acquired += 1

    def slow_down(self) -> float:
        self.rate /= 2
        return self.rate

    def pause(self, seconds: float) -> None:
        self.paused.append(seconds)

    def speed_up(self) -> None:
        self.sped_up += 1


def answers(*outcomes: stripe.StripeError | str) -> Callable[[], str]:
    """A request that raises or returns ``outcomes`` in turn."""
    pending = list(outcomes)

    def request() -> str:
        outcome = pending.pop(0)
        if isinstance(outcome, stripe.StripeError):
            raise outcome
        return outcome

    return request


def fault() -> stripe.StripeError:
    return stripe.APIError("boom", http_status=500)


def limited(headers: dict[str, str] | None = None) -> stripe.StripeError:
    return stripe.RateLimitError(
        "slow", http_status=429, headers={"Stripe-Should-Retry": "false", **(headers or {})}
    )


def test_faults_are_retried_with_backoff_until_the_budget_runs_out() -> None:
    policy = RetryPolicy(max_retries=2, backoff=1.0, max_backoff=8.0, rng=random.Random(2))
    slept: list[float] = []
    pace = Pace()
    assert policy.send(answers(fault(), fault(), "ok"), pace, sleep=slept.append) == ("ok", 3)
    assert pace.acquired == 3 and pace.sped_up == 1 and pace.paused == []
    assert 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 2.0  # exponential, jittered
    with pytest.raises(stripe.APIError):
        policy.send(answers(fault(), fault(), fault(), "ok"), Pace(), sleep=slept.append)


@pytest.mark.parametrize(
    "final",
    [
        # A 500 Stripe saved under the key: resending only replays it (the key is spent).
        stripe.APIError("saved", http_status=500, headers={"Idempotent-Replayed": "true"}),
        stripe.APIError("no", http_status=500, headers={"Stripe-Should-Retry": "false"}),
        stripe.CardError("declined", None, "card_declined", http_status=402),
    ],
)
def test_final_answers_are_sent_once(final: stripe.StripeError) -> None:
    pace = Pace()
    with pytest.raises(type(final)):
        RetryPolicy().send(answers(final, "ok"), pace, sleep=pytest.fail)
    assert pace.acquired == 1


def test_429s_slow_the_pacer_honour_retry_after_and_have_their_own_budget() -> None:
    policy = RetryPolicy(max_retries=1, backoff=0.01, max_backoff=0.01, max_rate_limited=3)
    slept: list[float] = []
    retried: list[tuple[int | None, float]] = []
    pace = Pace()
    request = answers(limited(), limited({"Retry-After": "2.5"}), fault(), limited(), "ok")
    result = policy.send(
        request, pace, sleep=slept.append, on_retry=lambda e, d: retried.append((e.http_status, d))
    )
    assert result == ("ok", 5)
    assert pace.rate == 2.0  # halved at each 429
    # Each 429 holds the pacer (every thread sharing it) for the longest of Retry-After, the
    # backoff and one interval at the new rate; the fault in between waits only the backoff.
    assert pace.paused == [1 / 8, 2.5, 1 / 2]
    assert slept[:2] == [1 / 8, 2.5] and slept[3] == 1 / 2 and slept[2] <= 0.01
    assert [status for status, _ in retried] == [429, 429, 500, 429]
    with pytest.raises(stripe.RateLimitError):
        policy.send(answers(*[limited()] * 4, "ok"), Pace(), sleep=slept.append)


def test_a_lock_timeout_429_is_a_fault_not_a_rate_limit() -> None:
    lock = stripe.RateLimitError("locked", http_status=429, code="lock_timeout")
    pace = Pace()
    assert RetryPolicy(max_retries=1).send(answers(lock, "ok"), pace, sleep=lambda _: None)[0]
    assert pace.paused == [] and pace.rate == 16.0


def test_no_retries_means_one_attempt_even_for_a_429() -> None:
    policy = RetryPolicy(max_retries=0, max_rate_limited=0)
    for error in (limited(), fault()):
        pace = Pace()
        with pytest.raises(type(error)):
            policy.send(answers(error, "ok"), pace, sleep=pytest.fail)
        assert pace.acquired == 1 and pace.paused == []


class Reply:
    def __init__(self, headers: dict[str, str] | None = None) -> None:
        self.headers = headers or {}
        self.data = {"id": "ch_1"}
        self.body = b'{"id": "ch_1"}'
        self.request_id = "req_1"


class FakeStripe:
    """Stands in for ``StripeClient.raw_request``: raises ``outcomes`` in turn, records sends."""

    def __init__(self, *outcomes: stripe.StripeError | Reply) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[dict[str, Any]] = []

    def raw_request(self, method: str, path: str, **options: Any) -> Reply:
        self.sent.append(options)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, stripe.StripeError):
            raise outcome
        return outcome


def transport(fake: FakeStripe, max_retries: int = 3) -> Transport:
    return Transport(
        fake,  # type: ignore[arg-type]
        policy=RetryPolicy(max_retries=max_retries, max_rate_limited=max_retries),
        pacer=TokenBucket(1e6),
        sleep=lambda _: None,
    )


def test_a_write_keeps_its_key_and_counts_every_attempt() -> None:
    fake = FakeStripe(fault(), limited(), Reply({"Idempotent-Replayed": "true"}))
    sends: list[int] = []
    replays: list[int] = []
    sender = transport(fake)
    response = sender.request(
        "post",
        "/v1/charges",
        {"amount": 10},
        idempotency_key="bk_key_1",
        on_send=lambda: sends.append(1),
        on_replay=lambda: replays.append(1),
    )
    assert response.attempts == 3 and response.replayed and len(sends) == 3 and replays == [1]
    assert {options["idempotency_key"] for options in fake.sent} == {"bk_key_1"}
    assert all(options["max_network_retries"] == 0 for options in fake.sent)
    assert sender.stats.retries == 2 and sender.stats.attempts == 3


@pytest.mark.parametrize(
    ("error", "expected", "spent"),
    [
        (limited(), RateLimited, False),
        (fault(), StripeUnavailable, False),
        (
            stripe.APIError("saved", http_status=500, headers={"Idempotent-Replayed": "true"}),
            StripeUnavailable,
            True,
        ),
    ],
)
def test_a_write_that_fails_names_its_key(
    error: stripe.StripeError, expected: type[StripeRequestError], spent: bool
) -> None:
    sender = transport(FakeStripe(error, error), max_retries=1)
    with pytest.raises(expected) as raised:
        sender.request("post", "/v1/charges", {}, idempotency_key="bk_key_2")
    assert raised.value.idempotency_key == "bk_key_2"  # type: ignore[attr-defined]
    assert getattr(raised.value, "key_spent", False) is spent
    assert sender.stats.failures == 1 and sender.stats.attempts == (1 if spent else 2)


class FakeReads:
    """Stands in for ``client.reads`` (the history GETs) over a :class:`FakeStripe`."""

    def __init__(self, fake: FakeStripe) -> None:
        self.fake = fake

    def get(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        return self.fake.raw_request("get", path, **(params or {})).body


class FakeClient:
    default_rate_limit = 1e6

    def __init__(self, fake: FakeStripe, max_retries: int) -> None:
        self.reads = FakeReads(fake)
        self._policy = transport(fake, max_retries).policy


def test_history_pulls_use_the_loop_with_more_patience_for_429s() -> None:
    # The client gives up after one 429; a pull's many workers meet them as a matter of course.
    fake = FakeStripe(limited(), limited(), fault(), Reply())
    fetcher = Fetcher(FakeClient(fake, max_retries=1))  # type: ignore[arg-type]
    fetcher.policy.backoff = fetcher.policy.max_backoff = 0.0
    fetcher.pacer.endpoint_rate = 1e6
    assert fetcher.get("/v1/charges", endpoint="charges") == {"id": "ch_1"}
    assert (fetcher.stats.requests, fetcher.stats.rate_limited, fetcher.stats.retries) == (4, 2, 1)
    assert fetcher.pacer.lane("charges").endpoint.rate < 1e6  # the endpoint slowed down
    with pytest.raises(StripeUnavailable):
        Fetcher(FakeClient(FakeStripe(fault(), fault()), max_retries=1)).get("/v1/charges")  # type: ignore[arg-type]
