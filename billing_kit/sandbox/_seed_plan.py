"""The seeder's plan: every random draw of a seeded history, made up front as numpy arrays.

:func:`draw` decides who the customers are (currency, card, sign-up time), when each charge
happened, its amount, outcome (succeeded, elevated risk, or which decline), description, settled
amount and fee, which charges were refunded or disputed and how, and which daily payout takes each
balance transaction. Nothing here renders or writes a row: :mod:`._seed_writer` does that.

The plan depends only on its arguments: one ``numpy`` generator seeded with ``seed`` makes every
draw, always in the same order, so the same arguments give the same arrays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from billing_kit.sandbox import _cards, _fees, _money_rules
from billing_kit.sandbox._cards import CardSpec, Decline

__all__ = [
    "CARD_KEYS",
    "CURRENCIES",
    "DAY",
    "DECLINE_KINDS",
    "DESCRIPTIONS",
    "DISPUTE_REASONS",
    "FX_REFUND_RATE",
    "INTERNATIONAL",
    "MANUAL_PAYOUT",
    "REFUND_REASONS",
    "SPECS",
    "Plan",
    "business_day",
    "draw",
    "next_business_day",
]

DAY = 86_400

#: (currency, share of customers, median charge in major units)
CURRENCIES: tuple[tuple[str, float, float], ...] = (
    ("usd", 0.55, 42.0), ("eur", 0.14, 39.0), ("gbp", 0.09, 31.0),
    ("cad", 0.06, 55.0), ("jpy", 0.11, 4_800.0), ("kwd", 0.05, 12.0),
)  # fmt: skip
#: Cards customers pay with, by currency: (test card key, share).
_CARDS: dict[str, tuple[tuple[str, float], ...]] = {
    "usd": (("4242424242424242", 0.40), ("5555555555554444", 0.25), ("371449635398431", 0.15),
            ("6011111111111117", 0.07), ("4000056655665556", 0.08), ("5200828282828210", 0.05)),
    "eur": (("4000002760000016", 0.45), ("4000002500000003", 0.25), ("5555555555554444", 0.20),
            ("371449635398431", 0.10)),
    "gbp": (("4000008260000000", 0.60), ("5555555555554444", 0.30), ("371449635398431", 0.10)),
    "cad": (("4000001240000000", 0.60), ("5555555555554444", 0.30), ("371449635398431", 0.10)),
    "jpy": (("3566002020360505", 0.50), ("4000003920000003", 0.40), ("6200000000000005", 0.10)),
    "kwd": (("4242424242424242", 0.50), ("5555555555554444", 0.40), ("371449635398431", 0.10)),
}  # fmt: skip
_DECLINE_RATE = 0.07
#: Declines as the issuer (or Radar) reports them: (card whose decline it is, share).
_DECLINES: tuple[tuple[str, float], ...] = (
    ("4000000000000002", 0.30), ("4000000000009995", 0.28), ("4000000000000069", 0.10),
    ("4000000000000127", 0.08), ("4000000000000119", 0.05), ("4000000000009987", 0.04),
    ("4000000000009979", 0.03), ("4000000000006975", 0.04), ("radar", 0.08),
)  # fmt: skip
_ELEVATED_RATE = 0.01
_REFUND_RATE = 0.05
_FULL_REFUND_SHARE = 0.6
REFUND_REASONS: tuple[tuple[str | None, float], ...] = (
    ("requested_by_customer", 0.7), ("duplicate", 0.15), ("fraudulent", 0.05), (None, 0.10),
)  # fmt: skip
_DISPUTE_RATE = 0.003
DISPUTE_REASONS: tuple[tuple[str, float], ...] = (
    ("fraudulent", 0.5), ("product_not_received", 0.2), ("subscription_canceled", 0.1),
    ("unrecognized", 0.1), ("duplicate", 0.1),
)  # fmt: skip
DESCRIPTIONS: tuple[str | None, ...] = (
    "Starter plan", "Pro plan", "Team plan", "Extra seats", "Usage overage", None,
)  # fmt: skip
#: Hour-of-day weights (UTC): quiet nights, busy afternoons.
_HOURS = np.array([2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 9, 9, 9, 9, 8, 8, 7, 6, 5, 4, 3, 3], float)
_PAYOUT_HOUR = 6  # automatic payouts leave at 06:00 UTC every business day
#: The seeded FX refund converts back at this share of the charge's rate (the rate moved).
FX_REFUND_RATE = Decimal("0.98")
MANUAL_PAYOUT = 10_000  # one manual payout of 100.00 USD, made at 05:00 UTC
_MANUAL_HOUR = 5

#: The cards seeded customers hold, by key; a plan's card numbers index ``CARD_KEYS``.
SPECS: dict[str, CardSpec] = {
    key: _cards.plain(_cards.BY_KEY[key]) for options in _CARDS.values() for key, _ in options
}
CARD_KEYS: list[str] = sorted(SPECS)
#: Whether each card of ``CARD_KEYS`` is issued abroad (it pays the international fee).
INTERNATIONAL = np.array([SPECS[key].international for key in CARD_KEYS])


def _decline_for(key: str) -> Decline:
    if key == "radar":
        return _cards.RADAR_BLOCK
    decline = _cards.BY_KEY[key].attach_decline
    assert decline is not None, key
    return decline


#: The decline of a charge whose plan kind is ``2 + i`` is ``DECLINE_KINDS[i]``.
DECLINE_KINDS: list[Decline] = [_decline_for(key) for key, _ in _DECLINES]


@dataclass
class Plan:
    """Everything a seed writes, decided up front (numpy arrays, indexed by object number)."""

    start: int
    end: int
    exp_year: int
    # customers
    cust_currency: np.ndarray[Any, Any]
    cust_card: np.ndarray[Any, Any]
    cust_created: np.ndarray[Any, Any]
    # charges (sorted by created)
    created: np.ndarray[Any, Any]
    customer: np.ndarray[Any, Any]
    amount: np.ndarray[Any, Any]
    kind: np.ndarray[Any, Any]  # 0 success, 1 success with elevated risk, 2+i decline i
    description: np.ndarray[Any, Any]
    settled: np.ndarray[Any, Any]
    fee: np.ndarray[Any, Any]
    refunded: np.ndarray[Any, Any]  # amount refunded per charge
    disputed: np.ndarray[Any, Any]
    # refunds
    ref_charge: np.ndarray[Any, Any]
    ref_amount: np.ndarray[Any, Any]
    ref_created: np.ndarray[Any, Any]
    ref_reason: np.ndarray[Any, Any]
    # disputes
    dp_charge: np.ndarray[Any, Any]
    dp_created: np.ndarray[Any, Any]
    dp_reason: np.ndarray[Any, Any]
    dp_status: list[str]
    dp_reversed: np.ndarray[Any, Any]  # created of the reversal, or -1
    # payouts: payout number of each balance transaction (-1: not paid out yet)
    charge_payout: np.ndarray[Any, Any]
    refund_payout: np.ndarray[Any, Any]
    dispute_payout: np.ndarray[Any, Any]
    reversal_payout: np.ndarray[Any, Any]
    payout_created: list[int]
    payout_amount: list[int]
    payout_arrival: list[int] = field(default_factory=list)
    # settled amount of each refund (USD cents); one FX refund converts back at a later rate
    ref_settled: np.ndarray[Any, Any] = field(default_factory=lambda: np.empty(0, np.int64))
    fx_refund: int = -1
    # one refund that fails later: (refund number, failure time, payout that sweeps it back)
    refund_failure: tuple[int, int, int] | None = None
    # one automatic payout that fails: (payout number, failure time, payout that sweeps it back)
    payout_failure: tuple[int, int, int] | None = None
    # one manual payout: (created, amount, automatic payout whose list takes its transaction)
    manual_payout: tuple[int, int, int] | None = None


def _pick(rng: np.random.Generator, weights: Sequence[float], size: int) -> np.ndarray[Any, Any]:
    p = np.asarray(weights, float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def _step(currency: str) -> int:
    """Smallest amount step seeded for ``currency``: 10 for JPY (prices in tens) and KWD (rule)."""
    return 10 if currency in ("jpy", "kwd") else 1


def _amounts(rng: np.random.Generator, currency: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    major = np.exp(rng.normal(0.0, 0.8, currency.size))
    amount = np.zeros(currency.size, np.int64)
    for index, (code, _, median) in enumerate(CURRENCIES):
        mask = currency == index
        exp = _money_rules.exponent(code)
        step = _step(code)
        if exp == 2:
            # Shop prices: whole units, half of them as x.99.
            units = np.maximum(1, np.rint(major[mask] * median)).astype(np.int64) * 100
            value = units - (rng.random(units.size) < 0.5)
        else:
            value = np.rint(major[mask] * median * 10**exp / step).astype(np.int64) * step
        low = -(-max(_money_rules.MINIMUMS.get(code, 1), step) // step) * step
        high = _money_rules.MAXIMUMS.get(code, _money_rules.DEFAULT_MAXIMUM) // step * step
        amount[mask] = np.clip(value, low, high)
    return amount


def _settle(amount: np.ndarray[Any, Any], currency: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Vectorised :func:`._fees.settle` (USD cents, half up), in exact integer arithmetic."""
    settled = amount.copy()
    for index, (code, _, _) in enumerate(CURRENCIES):
        if code == _fees.SETTLEMENT_CURRENCY:
            continue
        mask = currency == index
        num, den = Decimal(_fees.USD_PER_UNIT[code]).as_integer_ratio()
        scale = den * 10 ** _money_rules.exponent(code)
        settled[mask] = (2 * amount[mask] * num * 100 + scale) // (2 * scale)
    return settled


def _fee(settled: np.ndarray[Any, Any], bps: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Vectorised :func:`._fees.charge_fee`: ``bps`` basis points half up, plus the fixed fee."""
    fee: np.ndarray[Any, Any] = (2 * settled * bps + 10_000) // 20_000 + _fees.FIXED_FEE
    return fee


def draw(charges: int, customers: int, days: int, seed: int, end: int) -> Plan:
    """Return the plan of ``charges`` charges by ``customers`` customers over ``days`` to ``end``.

    ``end`` is a Unix time; the arguments are checked by the caller. The same arguments give the
    same plan.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    start = end - days * DAY
    # Customers: a currency, then a card usual for that currency.
    cust_currency = _pick(rng, [w for _, w, _ in CURRENCIES], customers)
    cust_card = np.zeros(customers, np.int64)
    for index, (code, _, _) in enumerate(CURRENCIES):
        mask = cust_currency == index
        options = _CARDS[code]
        picked = _pick(rng, [w for _, w in options], int(mask.sum()))
        cust_card[mask] = np.array([CARD_KEYS.index(k) for k, _ in options])[picked]
    # Charges: busier in the afternoon; returning customers (a few buy often).
    day = rng.integers(0, days, charges)
    hour = _pick(rng, _HOURS.tolist(), charges)
    created = np.sort(start + day * DAY + hour * 3600 + rng.integers(0, 3600, charges))
    customer = np.minimum((customers * rng.random(charges) ** 2).astype(np.int64), customers - 1)
    currency = cust_currency[customer]
    amount = _amounts(rng, currency)
    kind = np.zeros(charges, np.int64)
    declined = rng.random(charges) < _DECLINE_RATE
    kind[declined] = 2 + _pick(rng, [w for _, w in _DECLINES], int(declined.sum()))
    kind[~declined & (rng.random(charges) < _ELEVATED_RATE)] = 1
    description = _pick(rng, [1.0] * len(DESCRIPTIONS), charges)
    succeeded = kind < 2
    international = INTERNATIONAL[cust_card[customer]]
    converted = currency != 0
    settled = _settle(amount, currency)
    bps = (_fees.BASE_BPS + international * _fees.INTERNATIONAL_BPS
           + converted * _fees.CONVERSION_BPS)  # fmt: skip
    fee = _fee(settled, bps)
    # Customers sign up shortly before their first charge (or any time, if they never paid).
    first = np.full(customers, np.iinfo(np.int64).max)
    np.minimum.at(first, customer, created)
    cust_created = np.where(
        first == np.iinfo(np.int64).max,
        rng.integers(start, end, customers),
        first - rng.integers(600, 5 * DAY, customers),
    )
    # Refunds: some full, some partial, hours to weeks after the charge.
    refund = np.flatnonzero(succeeded & (rng.random(charges) < _REFUND_RATE))
    ref_created = created[refund] + 3600 + rng.exponential(3 * DAY, refund.size).astype(np.int64)
    keep = ref_created < end
    refund, ref_created = refund[keep], ref_created[keep]
    steps = np.array([_step(code) for code, _, _ in CURRENCIES])[currency[refund]]
    partial = (amount[refund] * rng.uniform(0.1, 0.9, refund.size)).astype(np.int64)
    partial = np.maximum(steps, partial // steps * steps)
    full = rng.random(refund.size) < _FULL_REFUND_SHARE
    ref_amount = np.where(full, amount[refund], partial)
    ref_reason = _pick(rng, [w for _, w in REFUND_REASONS], refund.size)
    refunded = np.zeros(charges, np.int64)
    refunded[refund] = ref_amount
    # Disputes: on succeeded charges that were not refunded, days to weeks later.
    candidates = succeeded & (refunded == 0) & (rng.random(charges) < _DISPUTE_RATE)
    dispute = np.flatnonzero(candidates)
    dp_created = (
        created[dispute] + 2 * DAY + rng.exponential(10 * DAY, dispute.size).astype(np.int64)
    )
    keep = dp_created < end
    dispute, dp_created = dispute[keep], dp_created[keep]
    dp_reason = _pick(rng, [w for _, w in DISPUTE_REASONS], dispute.size)
    settle_after = dp_created + rng.integers(10 * DAY, 20 * DAY, dispute.size)
    wins = rng.random(dispute.size) < 0.4
    # Every history that settles two disputes has one won and one lost.
    closing = np.flatnonzero(settle_after < end)
    if closing.size >= 2:
        wins[closing[0]], wins[closing[1]] = True, False
    dp_status: list[str] = []
    dp_reversed = np.full(dispute.size, -1, np.int64)
    for i in range(dispute.size):
        if settle_after[i] >= end:
            dp_status.append("needs_response" if (i % 3) else "under_review")
        elif wins[i]:
            dp_status.append("won")
            dp_reversed[i] = settle_after[i]
        else:
            dp_status.append("lost")
    disputed = np.zeros(charges, bool)
    disputed[dispute] = True
    # Payouts: every day at 06:00 UTC, everything available and not yet paid out.
    plan = Plan(
        start, end, dt.datetime.fromtimestamp(end, dt.UTC).year + 2,
        cust_currency, cust_card, cust_created, created, customer, amount, kind, description,
        settled, fee, refunded, disputed, refund, ref_amount, ref_created, ref_reason, dispute,
        dp_created, dp_reason, dp_status, dp_reversed,
        np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64),
        np.empty(0, np.int64), [], [],
    )  # fmt: skip
    _plan_specials(plan)
    _plan_payouts(plan, succeeded)
    return plan


def business_day(day: int) -> bool:
    """Whether ``day`` (days since 1970-01-01, a Thursday) is Monday to Friday."""
    return (day + 3) % 7 < 5


def next_business_day(day: int) -> int:
    """The first business day after ``day`` (weekend payouts land on Monday)."""
    day += 1
    while not business_day(day):
        day += 1
    return day


def _plan_specials(plan: Plan) -> None:
    """Pick the rarer cases reconciliation must handle: an FX refund at a later rate, a refund
    that fails. (The failed and the manual payout are placed by :func:`_plan_payouts`.)"""
    currency = plan.cust_currency[plan.customer[plan.ref_charge]]
    plan.ref_settled = _settle(plan.ref_amount, currency)
    foreign = np.flatnonzero(currency != 0)
    if foreign.size:
        n = int(foreign[foreign.size // 2])
        code = CURRENCIES[int(currency[n])][0]
        rate = Decimal(_fees.USD_PER_UNIT[code]) * FX_REFUND_RATE
        major = Decimal(int(plan.ref_amount[n])).scaleb(-_money_rules.exponent(code))
        plan.ref_settled[n] = int((major * rate * 100).quantize(Decimal(1), "ROUND_HALF_UP"))
        plan.fx_refund = n
    late = np.flatnonzero(plan.ref_created + 3 * DAY < plan.end)
    late = late[late != plan.fx_refund]
    if late.size:
        n = int(late[late.size // 2])
        plan.refund_failure = (n, int(plan.ref_created[n]) + 2 * DAY, -1)
        plan.refunded[plan.ref_charge[n]] -= plan.ref_amount[n]


def _plan_payouts(plan: Plan, succeeded: np.ndarray[Any, Any]) -> None:
    days = [d for d in range(plan.start // DAY + 1, plan.end // DAY + 1) if business_day(d)]
    times = np.array(days, np.int64) * DAY + _PAYOUT_HOUR * 3600
    times = times[times < plan.end]
    dp_settled = plan.settled[plan.dp_charge]
    groups = [
        # (available_on, net) of each kind of balance transaction
        (np.where(succeeded, (plan.created // DAY + _fees.AVAILABLE_AFTER_DAYS) * DAY, 0),
         np.where(succeeded, plan.settled - plan.fee, 0)),
        (plan.ref_created, -plan.ref_settled),
        (plan.dp_created, -dp_settled - _fees.DISPUTE_FEE),
        (plan.dp_reversed, np.where(plan.dp_reversed >= 0, dp_settled, 0)),
    ]  # fmt: skip
    slots = [np.searchsorted(times, available, side="left") for available, _ in groups]
    totals = np.zeros(times.size + 1, np.int64)
    for (_, net), slot in zip(groups, slots, strict=True):
        np.add.at(totals, slot, net)
    extra_slots: dict[str, int] = {}
    if plan.refund_failure is not None:
        n, failed_at, _ = plan.refund_failure
        extra_slots["refund"] = int(np.searchsorted(times, failed_at, side="left"))
        totals[extra_slots["refund"]] += plan.ref_settled[n]
    if times.size > 4:
        # A manual payout at 05:00 on a payout day, swept into that day's automatic payout.
        middle = times.size // 2
        manual_at = int(times[middle]) - (_PAYOUT_HOUR - _MANUAL_HOUR) * 3600
        plan.manual_payout = (manual_at, MANUAL_PAYOUT, -1)
        extra_slots["manual"] = middle
        totals[middle] -= MANUAL_PAYOUT
    fail_from = times.size // 3 if times.size > 6 else None
    # A day whose balance is not positive pays nothing; its transactions wait for the next payout.
    target = np.full(times.size + 1, -1, np.int64)
    waiting: list[int] = []
    running = 0
    for k in range(times.size):
        running += int(totals[k])
        waiting.append(k)
        if running > 0:
            target[waiting] = len(plan.payout_created)
            arrival = next_business_day(int(times[k]) // DAY) * DAY
            if fail_from is not None and k >= fail_from and plan.payout_failure is None:
                # This payout fails a day after it should have arrived; its amount comes back
                # to the balance and goes out with a later payout.
                failed_at = arrival + DAY + _PAYOUT_HOUR * 3600 - 1800
                back = int(np.searchsorted(times, failed_at, side="left"))
                if back < times.size:
                    plan.payout_failure = (len(plan.payout_created), failed_at, back)
                    totals[back] += running
            plan.payout_created.append(int(times[k]))
            plan.payout_arrival.append(arrival)
            plan.payout_amount.append(running)
            waiting, running = [], 0
    mapped = [target[slot] for slot in slots]
    mapped[0] = np.where(succeeded, mapped[0], -1)
    mapped[3] = np.where(plan.dp_reversed >= 0, mapped[3], -1)
    plan.charge_payout, plan.refund_payout, plan.dispute_payout, plan.reversal_payout = mapped
    if plan.refund_failure is not None:
        n, failed_at, _ = plan.refund_failure
        plan.refund_failure = (n, failed_at, int(target[extra_slots["refund"]]))
    if plan.manual_payout is not None:
        manual_at, amount, _ = plan.manual_payout
        plan.manual_payout = (manual_at, amount, int(target[extra_slots["manual"]]))
    if plan.payout_failure is not None:
        n, failed_at, back = plan.payout_failure
        plan.payout_failure = (n, failed_at, int(target[back]))
