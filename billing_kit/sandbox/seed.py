"""Seed a sandbox database with realistic past activity, fast enough for a million charges.

``seed(db, charges=N)`` writes customers with a card on file, charges over the last ``days`` days
(several brands and currencies, 5-10% declines with real decline codes), full and partial refunds, a
few disputes, the balance transactions with Stripe's fees (reference §6) and daily automatic payouts
that link the balance transactions they pay out. Everything goes straight into the SQLite store; no
request is made and no event is written.

Speed comes from three choices. Every random draw is made up front with numpy, in arrays.
Charges and their balance transactions are rendered from byte templates: each distinct shape
(card, currency, outcome, description) is built once by the same pure builders the API uses
(:mod:`._shapes`, :mod:`._balance`), the varying fields are swapped for ``%`` slots, and every
template is checked against the builder's own output for the first row that uses it, so a seeded
object is byte for byte what the API would have stored. Rows go in with ``executemany`` in large
transactions, in ``created`` order (so the indexes grow at their ends), rendered in a second thread
while SQLite writes, with the journal off when the database starts empty.

The output depends only on the arguments: the same ``seed`` (and ``until``) gives the same rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from billing_kit.sandbox import _balance, _cards, _fees, _money_rules, _shapes, _store
from billing_kit.sandbox._cards import CardSpec, Decline

__all__ = ["SeedSummary", "register", "seed"]

_DAY = 86_400
_CHUNK = 50_000
_PAGE_SIZE = 16_384  # bodies are ~2 KB: 4 KB pages would hold one charge each
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_MAX_OBJECTS = 62**5  # ids carry a 5-character base62 counter

#: (currency, share of customers, median charge in major units)
_CURRENCIES: tuple[tuple[str, float, float], ...] = (
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
_REFUND_REASONS: tuple[tuple[str | None, float], ...] = (
    ("requested_by_customer", 0.7), ("duplicate", 0.15), ("fraudulent", 0.05), (None, 0.10),
)  # fmt: skip
_DISPUTE_RATE = 0.003
_DISPUTE_REASONS: tuple[tuple[str, float], ...] = (
    ("fraudulent", 0.5), ("product_not_received", 0.2), ("subscription_canceled", 0.1),
    ("unrecognized", 0.1), ("duplicate", 0.1),
)  # fmt: skip
_DESCRIPTIONS: tuple[str | None, ...] = (
    "Starter plan", "Pro plan", "Team plan", "Extra seats", "Usage overage", None,
)  # fmt: skip
_FIRST_NAMES = ("Ada", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Grace", "Hiro", "Ines",
                "Jonas", "Kwame", "Lena", "Mateo", "Noor", "Olga", "Priya", "Quentin", "Rosa",
                "Sven", "Tariq", "Uma", "Víctor", "Wen", "Yara", "Zoltan")  # fmt: skip
_LAST_NAMES = ("Abe", "Baker", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Haddad",
               "Ivanova", "Jensen", "Kim", "López", "Mensah", "Nakamura", "Okafor", "Patel",
               "Quinn", "Rossi", "Silva", "Tanaka", "Usman", "Varga", "Weber", "Yilmaz",
               "Zhang")  # fmt: skip
#: Hour-of-day weights (UTC): quiet nights, busy afternoons.
_HOURS = np.array([2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 9, 9, 9, 9, 8, 8, 7, 6, 5, 4, 3, 3], float)
_PAYOUT_HOUR = 6  # automatic payouts leave at 06:00 UTC every day


@dataclass(frozen=True)
class SeedSummary:
    """What :func:`seed` wrote.

    Attributes
    ----------
    db
        The database path.
    charges, succeeded, failed
        Charges written, and how many succeeded or were declined.
    refunds, disputes, customers, payouts, balance_transactions
        Other objects written.
    start, end
        The span of ``created`` times (UTC).
    seconds
        Wall time the seed took.
    """

    db: str
    charges: int
    succeeded: int
    failed: int
    refunds: int
    disputes: int
    customers: int
    payouts: int
    balance_transactions: int
    start: dt.datetime
    end: dt.datetime
    seconds: float

    def __str__(self) -> str:
        return (
            f"seeded {self.db}: {self.charges:,} charges ({self.failed:,} declined), "
            f"{self.refunds:,} refunds, {self.disputes:,} disputes, {self.customers:,} customers, "
            f"{self.payouts:,} payouts, {self.balance_transactions:,} balance transactions from "
            f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d} in {self.seconds:.1f} s"
        )


# -- ids -----------------------------------------------------------------------------------------

_BASE62_3 = [a + b + c for a in _ALPHABET for b in _ALPHABET for c in _ALPHABET]
_BASE62_2 = [a + b for a in _ALPHABET for b in _ALPHABET]


class _Ids:
    """Deterministic ids ``<prefix>s<18 chars from the seed><5-char counter>``.

    The counter is the object's number, so ids of one kind sort in the order they are minted (the
    unique index on ``id`` is appended to, not shuffled) and two seeds never share an id.
    """

    def __init__(self, seed: int) -> None:
        rng = np.random.Generator(np.random.PCG64([seed, 0x1D5]))
        self._heads = {
            kind: prefix + "s" + "".join(_ALPHABET[i] for i in rng.integers(0, 62, 18).tolist())
            for kind, prefix in sorted(_PREFIXES.items())
        }

    def many(self, kind: str, numbers: Sequence[int]) -> list[str]:
        head = self._heads[kind]
        return [head + _BASE62_2[n // 238_328] + _BASE62_3[n % 238_328] for n in numbers]

    def one(self, kind: str, number: int) -> str:
        return self.many(kind, [number])[0]


_PREFIXES = {
    "charge": "ch_", "balance_transaction": "txn_", "customer": "cus_", "payment_method": "pm_",
    "refund": "re_", "dispute": "dp_", "payout": "po_",
}  # fmt: skip


# -- templates -----------------------------------------------------------------------------------

# Sentinels stand in for the varying fields while a template is built; they never occur in a body.
_S_INT = {name: 9_000_000_000_000 + i for i, name in enumerate(
    ("created", "amount", "amount_refunded", "settled", "fee", "net", "available_on"))}  # fmt: skip
_S_STR = {name: f"@@{name}@@" for name in ("id", "txn", "cus", "pm", "source")}
_S_RAW = {name: f"@@raw_{name}@@" for name in ("refunded", "disputed")}


class _Template:
    """A body with ``%`` slots; :meth:`render` fills them from a row tuple in ``fields`` order."""

    def __init__(self, body: dict[str, Any], fields: Sequence[str]) -> None:
        text = orjson.dumps(body).decode()
        tokens: dict[str, tuple[str, str]] = {}
        for name, number in _S_INT.items():
            tokens[str(number)] = (name, "%d")
        for name, value in _S_STR.items():
            tokens[value] = (name, "%s")  # inside the quotes the builder wrote
        for name, value in _S_RAW.items():
            tokens[f'"{value}"'] = (name, "%s")  # replaces a whole JSON value
        slots = sorted(
            (pos, name) for token, (name, _) in tokens.items() for pos in _positions(text, token)
        )
        raw = text.replace("%", "%%")
        for token, (_, spec) in tokens.items():
            raw = raw.replace(token, spec)
        self.raw = raw
        self.take: Callable[[tuple[Any, ...]], tuple[Any, ...]] = _getter(
            fields, [name for _, name in slots]
        )

    def render(self, row: tuple[Any, ...]) -> bytes:
        return (self.raw % self.take(row)).encode()


def _positions(text: str, token: str) -> Iterator[int]:
    start = text.find(token)
    while start != -1:
        yield start
        start = text.find(token, start + 1)


def _getter(
    fields: Sequence[str], order: Sequence[str]
) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    indices = [fields.index(name) for name in order]
    if len(indices) == 1:
        only = indices[0]
        return lambda row: (row[only],)
    getter: Callable[[tuple[Any, ...]], tuple[Any, ...]] = itemgetter(*indices)
    return getter


# -- the plan: every random draw, as arrays -----------------------------------------------------


@dataclass
class _Plan:
    """Everything :func:`seed` writes, decided up front (numpy arrays, indexed by object number)."""

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


def _pick(rng: np.random.Generator, weights: Sequence[float], size: int) -> np.ndarray[Any, Any]:
    p = np.asarray(weights, float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def _step(currency: str) -> int:
    """Smallest amount step seeded for ``currency``: 10 for JPY (prices in tens) and KWD (rule)."""
    return 10 if currency in ("jpy", "kwd") else 1


def _amounts(rng: np.random.Generator, currency: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    major = np.exp(rng.normal(0.0, 0.8, currency.size))
    amount = np.zeros(currency.size, np.int64)
    for index, (code, _, median) in enumerate(_CURRENCIES):
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
    for index, (code, _, _) in enumerate(_CURRENCIES):
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


def _plan(charges: int, customers: int, days: int, seed: int, end: int) -> _Plan:
    rng = np.random.Generator(np.random.PCG64(seed))
    start = end - days * _DAY
    # Customers: a currency, then a card usual for that currency.
    cust_currency = _pick(rng, [w for _, w, _ in _CURRENCIES], customers)
    cust_card = np.zeros(customers, np.int64)
    for index, (code, _, _) in enumerate(_CURRENCIES):
        mask = cust_currency == index
        options = _CARDS[code]
        picked = _pick(rng, [w for _, w in options], int(mask.sum()))
        cust_card[mask] = np.array([_CARD_KEYS.index(k) for k, _ in options])[picked]
    # Charges: busier in the afternoon; returning customers (a few buy often).
    day = rng.integers(0, days, charges)
    hour = _pick(rng, _HOURS.tolist(), charges)
    created = np.sort(start + day * _DAY + hour * 3600 + rng.integers(0, 3600, charges))
    customer = np.minimum((customers * rng.random(charges) ** 2).astype(np.int64), customers - 1)
    currency = cust_currency[customer]
    amount = _amounts(rng, currency)
    kind = np.zeros(charges, np.int64)
    declined = rng.random(charges) < _DECLINE_RATE
    kind[declined] = 2 + _pick(rng, [w for _, w in _DECLINES], int(declined.sum()))
    kind[~declined & (rng.random(charges) < _ELEVATED_RATE)] = 1
    description = _pick(rng, [1.0] * len(_DESCRIPTIONS), charges)
    succeeded = kind < 2
    international = np.array([_SPECS[k].international for k in _CARD_KEYS])[cust_card[customer]]
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
        first - rng.integers(600, 5 * _DAY, customers),
    )
    # Refunds: some full, some partial, hours to weeks after the charge.
    refund = np.flatnonzero(succeeded & (rng.random(charges) < _REFUND_RATE))
    ref_created = created[refund] + 3600 + rng.exponential(3 * _DAY, refund.size).astype(np.int64)
    keep = ref_created < end
    refund, ref_created = refund[keep], ref_created[keep]
    steps = np.array([_step(code) for code, _, _ in _CURRENCIES])[currency[refund]]
    partial = (amount[refund] * rng.uniform(0.1, 0.9, refund.size)).astype(np.int64)
    partial = np.maximum(steps, partial // steps * steps)
    full = rng.random(refund.size) < _FULL_REFUND_SHARE
    ref_amount = np.where(full, amount[refund], partial)
    ref_reason = _pick(rng, [w for _, w in _REFUND_REASONS], refund.size)
    refunded = np.zeros(charges, np.int64)
    refunded[refund] = ref_amount
    # Disputes: on succeeded charges that were not refunded, days to weeks later.
    candidates = succeeded & (refunded == 0) & (rng.random(charges) < _DISPUTE_RATE)
    dispute = np.flatnonzero(candidates)
    dp_created = (
        created[dispute] + 2 * _DAY + rng.exponential(10 * _DAY, dispute.size).astype(np.int64)
    )
    keep = dp_created < end
    dispute, dp_created = dispute[keep], dp_created[keep]
    dp_reason = _pick(rng, [w for _, w in _DISPUTE_REASONS], dispute.size)
    settle_after = dp_created + rng.integers(10 * _DAY, 20 * _DAY, dispute.size)
    wins = rng.random(dispute.size) < 0.4
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
    plan = _Plan(
        start, end, dt.datetime.fromtimestamp(end, dt.UTC).year + 2,
        cust_currency, cust_card, cust_created, created, customer, amount, kind, description,
        settled, fee, refunded, disputed, refund, ref_amount, ref_created, ref_reason, dispute,
        dp_created, dp_reason, dp_status, dp_reversed,
        np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64),
        np.empty(0, np.int64), [], [],
    )  # fmt: skip
    _plan_payouts(plan, succeeded)
    return plan


def _plan_payouts(plan: _Plan, succeeded: np.ndarray[Any, Any]) -> None:
    first_day = plan.start // _DAY + 1
    times = np.arange(first_day, plan.end // _DAY + 1) * _DAY + _PAYOUT_HOUR * 3600
    times = times[times < plan.end]
    ref_settled = _settle(plan.ref_amount, plan.cust_currency[plan.customer[plan.ref_charge]])
    dp_settled = plan.settled[plan.dp_charge]
    groups = [
        # (available_on, net) of each kind of balance transaction
        (np.where(succeeded, (plan.created // _DAY + _fees.AVAILABLE_AFTER_DAYS) * _DAY, 0),
         np.where(succeeded, plan.settled - plan.fee, 0)),
        (plan.ref_created, -ref_settled),
        (plan.dp_created, -dp_settled - _fees.DISPUTE_FEE),
        (plan.dp_reversed, np.where(plan.dp_reversed >= 0, dp_settled, 0)),
    ]  # fmt: skip
    slots = [np.searchsorted(times, available, side="left") for available, _ in groups]
    totals = np.zeros(times.size + 1, np.int64)
    for (_, net), slot in zip(groups, slots, strict=True):
        np.add.at(totals, slot, net)
    # A day whose balance is not positive pays nothing; its transactions wait for the next payout.
    target = np.full(times.size + 1, -1, np.int64)
    waiting: list[int] = []
    running = 0
    for k in range(times.size):
        running += int(totals[k])
        waiting.append(k)
        if running > 0:
            target[waiting] = len(plan.payout_created)
            plan.payout_created.append(int(times[k]))
            plan.payout_amount.append(running)
            waiting, running = [], 0
    mapped = [target[slot] for slot in slots]
    mapped[0] = np.where(succeeded, mapped[0], -1)
    mapped[3] = np.where(plan.dp_reversed >= 0, mapped[3], -1)
    plan.charge_payout, plan.refund_payout, plan.dispute_payout, plan.reversal_payout = mapped


_SPECS: dict[str, CardSpec] = {
    key: _cards.plain(_cards.BY_KEY[key]) for options in _CARDS.values() for key, _ in options
}
_CARD_KEYS: list[str] = sorted(_SPECS)


def _decline_for(key: str) -> Decline:
    if key == "radar":
        return _cards.RADAR_BLOCK
    decline = _cards.BY_KEY[key].attach_decline
    assert decline is not None, key
    return decline


_DECLINE_KINDS: list[Decline] = [_decline_for(key) for key, _ in _DECLINES]


# -- writing -------------------------------------------------------------------------------------

_Rows = list[tuple[Any, ...]]
_CHARGE_FIELDS = ("id", "created", "amount", "amount_refunded", "txn", "cus", "pm", "refunded",
                  "disputed")  # fmt: skip
_TXN_FIELDS = ("id", "created", "settled", "fee", "net", "available_on", "source")


class _Writer:
    """Renders and inserts the rows of one plan through one connection."""

    def __init__(self, conn: sqlite3.Connection, plan: _Plan, ids: _Ids) -> None:
        self.conn = conn
        self.plan = plan
        self.ids = ids
        self.charge_templates: dict[int, _Template] = {}
        self.txn_templates: dict[int, _Template] = {}
        self.cust_ids = ids.many("customer", range(plan.cust_currency.size))
        self.pm_ids = ids.many("payment_method", range(plan.cust_currency.size))
        self.payout_ids = ids.many("payout", range(len(plan.payout_created)))
        self.balance_transactions = 0

    def insert(self, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * (columns.count(",") + 1))
        self.conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
        if table == "balance_transactions":
            self.balance_transactions += len(rows)

    def info(self, card: int) -> dict[str, Any]:
        return _shapes.card_info(_SPECS[_CARD_KEYS[card]], exp_year=self.plan.exp_year)

    # customers and their cards

    def customers(self) -> None:
        plan = self.plan
        rows: list[tuple[Any, ...]] = []
        pms: list[tuple[Any, ...]] = []
        for n, (created, card) in enumerate(
            zip(plan.cust_created.tolist(), plan.cust_card.tolist(), strict=True)
        ):
            cus, pm = self.cust_ids[n], self.pm_ids[n]
            first, last = _FIRST_NAMES[n % 25], _LAST_NAMES[(n // 25) % 25]
            email = f"{_ascii(first)}.{_ascii(last)}.{n}@example.com".lower()
            body = _shapes.customer_body(cus, created, email=email, name=f"{first} {last}")
            body["invoice_settings"]["default_payment_method"] = pm
            rows.append((cus, created, email, orjson.dumps(body)))
            pm_body = _shapes.payment_method_body(pm, created, self.info(card), customer=cus)
            pms.append((pm, created, cus, orjson.dumps(pm_body)))
        self.insert("customers", "id, created, email, body", rows)
        self.insert("payment_methods", "id, created, customer, body", pms)

    # charges and their balance transactions, from templates

    def charge_values(self, key: int, values: dict[str, Any]) -> dict[str, Any]:
        card, currency, kind, description = _unkey(key)
        decline = _DECLINE_KINDS[kind - 2] if kind >= 2 else None
        succeeded = decline is None
        radar = "block" if decline is _cards.RADAR_BLOCK else ("elevated" if kind == 1 else None)
        body = _shapes.charge_body(
            values["id"],
            values["created"],
            amount=values["amount"],
            currency=_CURRENCIES[currency][0],
            info=self.info(card),
            status="succeeded" if succeeded else "failed",
            captured=succeeded,
            payment_method=values["pm"],
            outcome_body=_shapes.outcome(decline=decline, radar=radar),
            customer=values["cus"],
            balance_transaction=values["txn"] if succeeded else None,
            description=_DESCRIPTIONS[description],
            failure=decline,
            billing=_shapes.billing_details(),
        )
        body.update(amount_refunded=values["amount_refunded"], refunded=values["refunded"],
                    disputed=values["disputed"])  # fmt: skip
        return body

    def charge_template(self, key: int, row: tuple[Any, ...]) -> _Template:
        sentinels = {**_S_INT, **_S_STR, **_S_RAW}
        template = _Template(self.charge_values(key, sentinels), _CHARGE_FIELDS)
        real = dict(zip(_CHARGE_FIELDS, row, strict=True))
        real.update(refunded=real["refunded"] == "true", disputed=real["disputed"] == "true")
        _check(template.render(row), orjson.dumps(self.charge_values(key, real)), "charge")
        self.charge_templates[key] = template
        return template

    def txn_template(self, key: int, row: tuple[Any, ...], amount: int) -> _Template:
        currency, international = divmod(key, 2)
        code = _CURRENCIES[currency][0]
        rate = _fees.settle(1, code)[1]
        body = _shapes.balance_transaction_body(
            _S_STR["id"], _S_INT["created"], amount=_S_INT["settled"], fee=_S_INT["fee"],
            fee_details=_fees.fee_details(_S_INT["fee"]), source=_S_STR["source"], type="charge",
            reporting_category="charge", available_on=_S_INT["available_on"], exchange_rate=rate,
        )  # fmt: skip
        body["net"] = _S_INT["net"]
        template = _Template(body, _TXN_FIELDS)
        real = _balance.charge_transaction_body(
            row[0], row[1], charge_id=row[6], amount=amount, currency=code,
            international=bool(international),
        )  # fmt: skip
        _check(template.render(row), orjson.dumps(real), "balance transaction")
        self.txn_templates[key] = template
        return template

    def render_charges(
        self, lo: int, hi: int
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Return the charge rows and balance transaction rows of charges ``lo`` to ``hi``."""
        plan = self.plan
        numbers = range(lo, hi)
        charge_ids = self.ids.many("charge", numbers)
        txn_ids = self.ids.many("balance_transaction", numbers)
        customer = plan.customer[lo:hi]
        currency = plan.cust_currency[customer]
        card = plan.cust_card[customer]
        kind = plan.kind[lo:hi]
        keys = ((card * len(_CURRENCIES) + currency) * 64 + kind) * 8 + plan.description[lo:hi]
        international = np.array([_SPECS[k].international for k in _CARD_KEYS])[card]
        txn_keys = (currency * 2 + international).tolist()
        created = plan.created[lo:hi].tolist()
        available = ((plan.created[lo:hi] // _DAY + _fees.AVAILABLE_AFTER_DAYS) * _DAY).tolist()
        columns = zip(
            charge_ids, txn_ids, created, customer.tolist(), plan.amount[lo:hi].tolist(),
            plan.refunded[lo:hi].tolist(), plan.disputed[lo:hi].tolist(), keys.tolist(),
            (kind < 2).tolist(), plan.settled[lo:hi].tolist(), plan.fee[lo:hi].tolist(),
            available, txn_keys, plan.charge_payout[lo:hi].tolist(), strict=True,
        )  # fmt: skip
        currencies = [code for code, _, _ in _CURRENCIES]
        charge_rows: list[tuple[Any, ...]] = []
        txn_rows: list[tuple[Any, ...]] = []
        templates, txn_templates = self.charge_templates, self.txn_templates
        for (cid, tid, when, cus, amount, refunded, disputed, key, ok, settled, fee, avail,
             txn_key, payout) in columns:  # fmt: skip
            row = (cid, when, amount, refunded, tid, self.cust_ids[cus], self.pm_ids[cus],
                   "true" if refunded >= amount else "false",
                   "true" if disputed else "false")  # fmt: skip
            template = templates.get(key) or self.charge_template(key, row)
            cur = currencies[txn_key >> 1]
            status = "succeeded" if ok else "failed"
            charge_rows.append((cid, when, self.cust_ids[cus], None, status,
                                amount, cur, template.render(row)))  # fmt: skip
            if ok:
                txn_row = (tid, when, settled, fee, settled - fee, avail, cid)
                txn_template = txn_templates.get(txn_key) or self.txn_template(
                    txn_key, txn_row, amount
                )
                txn_rows.append((tid, when, "charge", cid,
                                 None if payout < 0 else self.payout_ids[payout], "usd",
                                 settled - fee, avail, txn_template.render(txn_row)))  # fmt: skip
        return charge_rows, txn_rows

    def insert_charges(self, rows: tuple[_Rows, _Rows]) -> None:
        self.insert("charges", "id, created, customer, payment_intent, status, amount, currency,"
                    " body", rows[0])  # fmt: skip
        self.insert("balance_transactions", _TXN_COLUMNS, rows[1])

    # the rarer objects, built one by one with the API's own builders

    def refunds(self) -> None:
        plan = self.plan
        base = plan.created.size
        refund_ids = self.ids.many("refund", range(plan.ref_charge.size))
        txn_ids = self.ids.many("balance_transaction", range(base, base + plan.ref_charge.size))
        charge_ids = self.ids.many("charge", plan.ref_charge.tolist())
        rows: list[tuple[Any, ...]] = []
        txns: list[tuple[Any, ...]] = []
        for n, (charge, amount, created, reason, payout) in enumerate(zip(
            plan.ref_charge.tolist(), plan.ref_amount.tolist(), plan.ref_created.tolist(),
            plan.ref_reason.tolist(), plan.refund_payout.tolist(), strict=True,
        )):  # fmt: skip
            code = _CURRENCIES[int(plan.cust_currency[plan.customer[charge]])][0]
            rid, tid, cid = refund_ids[n], txn_ids[n], charge_ids[n]
            txn = _balance.refund_transaction_body(tid, created, refund_id=rid, amount=amount,
                                                   currency=code)  # fmt: skip
            txns.append(self.txn_row(txn, payout))
            body = _shapes.refund_body(rid, created, amount=amount, currency=code, charge=cid,
                                       payment_intent=None, balance_transaction=tid,
                                       reason=_REFUND_REASONS[reason][0])  # fmt: skip
            rows.append((rid, created, cid, None, orjson.dumps(body)))
        self.insert("refunds", "id, created, charge, payment_intent, body", rows)
        self.insert("balance_transactions", _TXN_COLUMNS, txns)

    def disputes(self) -> None:
        plan = self.plan
        base = plan.created.size + plan.ref_charge.size
        rows: list[tuple[Any, ...]] = []
        txns: list[tuple[Any, ...]] = []
        for n, charge in enumerate(plan.dp_charge.tolist()):
            code = _CURRENCIES[int(plan.cust_currency[plan.customer[charge]])][0]
            amount, created = int(plan.amount[charge]), int(plan.dp_created[n])
            did, cid = self.ids.one("dispute", n), self.ids.one("charge", charge)
            withdrawal = _balance.dispute_transaction_body(
                self.ids.one("balance_transaction", base + 2 * n), created, dispute_id=did,
                charge_id=cid, amount=amount, currency=code,
            )  # fmt: skip
            transactions = [withdrawal]
            txns.append(self.txn_row(withdrawal, int(plan.dispute_payout[n])))
            reversed_at = int(plan.dp_reversed[n])
            if reversed_at >= 0:
                # Mirrors the sandbox's own settlement of a won dispute (_disputes._settle).
                reversal = _balance.dispute_transaction_body(
                    self.ids.one("balance_transaction", base + 2 * n + 1), reversed_at,
                    dispute_id=did, charge_id=cid, amount=amount, currency=code,
                )  # fmt: skip
                reversal.update(amount=-withdrawal["amount"], fee=0, fee_details=[],
                                net=-withdrawal["amount"], reporting_category="dispute_reversal",
                                description=f"Chargeback reversal for {cid}")  # fmt: skip
                transactions.append(reversal)
                txns.append(self.txn_row(reversal, int(plan.reversal_payout[n])))
            body = _shapes.dispute_body(
                did, created, amount=amount, currency=code, charge=cid, payment_intent=None,
                reason=_DISPUTE_REASONS[int(plan.dp_reason[n])][0], status=plan.dp_status[n],
                balance_transactions=transactions,
            )  # fmt: skip
            rows.append((did, created, cid, None, orjson.dumps(body)))
        self.insert("disputes", "id, created, charge, payment_intent, body", rows)
        self.insert("balance_transactions", _TXN_COLUMNS, txns)

    def payouts(self) -> None:
        plan = self.plan
        base = plan.created.size + plan.ref_charge.size + 2 * plan.dp_charge.size
        rows: list[tuple[Any, ...]] = []
        txns: list[tuple[Any, ...]] = []
        for n, (created, amount) in enumerate(
            zip(plan.payout_created, plan.payout_amount, strict=True)
        ):
            pid = self.payout_ids[n]
            txn = _balance.payout_transaction_body(
                self.ids.one("balance_transaction", base + n), created, payout_id=pid,
                amount=amount,
            )  # fmt: skip
            # As the sandbox's sweep does: an automatic payout's own transaction is part of it.
            txns.append(self.txn_row(txn, n))
            body = _shapes.payout_body(
                pid, created, amount=amount, currency=_fees.SETTLEMENT_CURRENCY,
                balance_transaction=txn["id"], arrival_date=created // _DAY * _DAY,
                automatic=True, status="paid",
            )  # fmt: skip
            rows.append((pid, created, "paid", orjson.dumps(body)))
        self.insert("payouts", "id, created, status, body", rows)
        self.insert("balance_transactions", _TXN_COLUMNS, txns)

    def txn_row(self, txn: dict[str, Any], payout: int) -> tuple[Any, ...]:
        return (txn["id"], txn["created"], txn["type"], txn["source"],
                None if payout < 0 else self.payout_ids[payout], txn["currency"],
                txn["net"], txn["available_on"], orjson.dumps(txn))  # fmt: skip


_TXN_COLUMNS = "id, created, type, source, payout, currency, net, available_on, body"


def _unkey(key: int) -> tuple[int, int, int, int]:
    rest, description = divmod(key, 8)
    rest, kind = divmod(rest, 64)
    card, currency = divmod(rest, len(_CURRENCIES))
    return card, currency, kind, description


def _check(rendered: bytes, built: bytes, what: str) -> None:
    if rendered != built:
        raise AssertionError(
            f"seed template for a {what} drifted from the sandbox's builder:\n"
            f"{rendered[:400]!r}\n{built[:400]!r}\nrebuild the template logic in seed.py"
        )


def _ascii(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


# -- entry points --------------------------------------------------------------------------------


def seed(
    db: str | Path,
    *,
    charges: int,
    customers: int | None = None,
    days: int = 90,
    seed: int = 0,
    until: dt.datetime | None = None,
) -> SeedSummary:
    """Write ``charges`` charges of realistic past activity, and all that goes with them, to ``db``.

    Parameters
    ----------
    db
        The sandbox database file; created if missing. Seed before serving it: the fast path
        (empty database) turns the journal off while it writes.
    charges
        How many charges to write, succeeded and declined together.
    customers
        How many customers they belong to (default: one for every 20 charges, at least 1).
    days
        Length of the history, ending at ``until``.
    seed
        The random seed: the same seed and ``until`` write byte-identical rows.
    until
        When the history ends (default: 00:00 UTC today, so a day's seeds agree).

    Returns
    -------
    SeedSummary
        Counts of what was written and how long it took.

    Raises
    ------
    ValueError
        For a negative or oversized count, ``":memory:"``, or a database already seeded with
        this ``seed``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     summary = seed(pathlib.Path(folder) / "demo.db", charges=200, seed=1)
    >>> summary.charges, summary.succeeded + summary.failed, summary.customers
    (200, 200, 10)
    """
    started = time.perf_counter()
    if str(db) == ":memory:":
        raise ValueError("seed needs a database file, got ':memory:'; pass a path such as demo.db")
    _check_count("charges", charges, minimum=0)
    customers = max(1, charges // 20) if customers is None else customers
    _check_count("customers", customers, minimum=1)
    _check_count("days", days, minimum=1)
    _check_count("seed", seed, minimum=0)
    if until is None:
        end = int(time.time()) // _DAY * _DAY
    elif until.tzinfo is None:
        raise ValueError(f"until must be timezone-aware (UTC), got {until!r}")
    else:
        end = int(until.timestamp())
    plan = _plan(charges, customers, days, seed, end)
    path = Path(db)
    with _FastConnection(path) as (conn, fast):
        ids = _Ids(seed)
        first_charge = ids.one("charge", 0)
        if conn.execute("SELECT 1 FROM charges WHERE id = ?", (first_charge,)).fetchone():
            raise ValueError(
                f"{str(path)!r} already holds the history of seed {seed!r}; pass another --seed "
                "or a new database file"
            )
        writer = _Writer(conn, plan, ids)
        conn.execute("BEGIN")
        writer.customers()
        # One thread renders the next chunk while this one inserts the last: SQLite lets go of
        # the GIL while it writes, so the two overlap on a second core.
        spans = [(lo, min(charges, lo + _CHUNK)) for lo in range(0, charges, _CHUNK)]
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-render") as renderer:
            ahead = [renderer.submit(writer.render_charges, *span) for span in spans[:1]]
            for index in range(len(spans)):
                rows = ahead.pop().result()
                if index + 1 < len(spans):
                    ahead.append(renderer.submit(writer.render_charges, *spans[index + 1]))
                writer.insert_charges(rows)
                if fast and index % 4 == 3:
                    # Big transactions, but not one that holds the whole history in the cache.
                    conn.execute("COMMIT")
                    conn.execute("BEGIN")
        writer.refunds()
        writer.disputes()
        writer.payouts()
        conn.execute("COMMIT")
    failed = int((plan.kind >= 2).sum())
    return SeedSummary(
        db=str(path),
        charges=charges,
        succeeded=charges - failed,
        failed=failed,
        refunds=int(plan.ref_charge.size),
        disputes=int(plan.dp_charge.size),
        customers=customers,
        payouts=len(plan.payout_created),
        balance_transactions=writer.balance_transactions,
        start=dt.datetime.fromtimestamp(plan.start, dt.UTC),
        end=dt.datetime.fromtimestamp(plan.end, dt.UTC),
        seconds=time.perf_counter() - started,
    )


def _check_count(name: str, value: int, *, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value >= _MAX_OBJECTS // 4:
        raise ValueError(f"{name} must be below {_MAX_OBJECTS // 4:,}, got {value!r}")


_TABLES = tuple(_store.COLUMNS)


class _FastConnection:
    """Open ``path`` for a bulk write; yield ``(conn, fast)``.

    ``fast`` is true when every object table is empty: then the journal is off while rows go in
    (nothing to protect; a failed seed leaves a file to delete). A database that already holds
    objects keeps its journal, so a failure cannot damage it. Indexes stay in place: rows arrive
    in ``created`` order, so keeping them up is cheaper than rescanning gigabytes of bodies to
    rebuild them.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> tuple[sqlite3.Connection, bool]:
        new = not self.path.exists() or self.path.stat().st_size == 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if new:
            # Page size is fixed when the file is first written: larger pages pack ~2 KB bodies.
            conn = sqlite3.connect(self.path, isolation_level=None)
            conn.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.close()
        _store.Store(self.path).close()  # creates the schema exactly as the server does
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=60.0)
        self.conn = conn
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB
        conn.execute("PRAGMA temp_store = MEMORY")
        self.fast = all(
            conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None for table in _TABLES
        )
        if self.fast:
            try:
                mode = conn.execute("PRAGMA journal_mode = OFF").fetchone()[0]
            except sqlite3.OperationalError:
                mode = "wal"  # a running sandbox has the file open: leave its journal alone
            self.fast = mode == "off"
        if self.fast:
            conn.execute("PRAGMA synchronous = OFF")
        return conn, self.fast

    def __exit__(self, *exc: object) -> None:
        conn = self.conn
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if self.fast:
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()


def register(subparsers: Any) -> None:
    """Add ``seed`` to the ``billing-kit sandbox`` subcommands (``subparsers`` from argparse)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "seed",
        help="write realistic past activity into a sandbox database",
        description="Write customers, charges, refunds, disputes, fees and daily payouts into a "
        "sandbox database, deterministically for a given --seed.",
    )
    parser.add_argument("--db", required=True, help="database file (created if missing)")
    parser.add_argument("--charges", type=int, required=True, help="how many charges")
    parser.add_argument("--customers", type=int, default=None, help="default: charges / 20")
    parser.add_argument("--days", type=int, default=90, help="length of the history (90)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        summary = seed(args.db, charges=args.charges, customers=args.customers, days=args.days,
                       seed=args.seed)  # fmt: skip
    except ValueError as exc:
        print(f"billing-kit sandbox seed: {exc}", file=sys.stderr)
        return 2
    print(summary)
    return 0
