"""The seeder's writer: renders a plan's rows and inserts them in bulk into the SQLite store.

:class:`Writer` turns a :class:`._seed_plan.Plan` into rows of the store's tables. Customers,
refunds, disputes and payouts (the fewer objects) are built one by one with the API's own builders
(:mod:`._shapes`, :mod:`._balance`); charges and their balance transactions, the bulk, are rendered
from byte templates (:mod:`._seed_templates`), one template per distinct shape (card, currency,
outcome, description), checked against the builder on the first row that uses it.
:class:`FastConnection` opens the database for the bulk write (large pages, journal off when the
database starts empty).
"""

from __future__ import annotations

import sqlite3
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from billing_kit._sqlite import wal_mode
from billing_kit.sandbox import _balance, _cards, _fees, _shapes, _store
from billing_kit.sandbox._seed_plan import (
    CARD_KEYS,
    CURRENCIES,
    DAY,
    DECLINE_KINDS,
    DESCRIPTIONS,
    DISPUTE_REASONS,
    FX_REFUND_RATE,
    INTERNATIONAL,
    REFUND_REASONS,
    SPECS,
    Plan,
    next_business_day,
)
from billing_kit.sandbox._seed_templates import S_INT, S_RAW, S_STR, Ids, Template, check

__all__ = ["FastConnection", "Writer"]

_PAGE_SIZE = 16_384  # bodies are ~2 KB: 4 KB pages would hold one charge each
_FIRST_NAMES = ("Ada", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Grace", "Hiro", "Ines",
                "Jonas", "Kwame", "Lena", "Mateo", "Noor", "Olga", "Priya", "Quentin", "Rosa",
                "Sven", "Tariq", "Uma", "Víctor", "Wen", "Yara", "Zoltan")  # fmt: skip
_LAST_NAMES = ("Abe", "Baker", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Haddad",
               "Ivanova", "Jensen", "Kim", "López", "Mensah", "Nakamura", "Okafor", "Patel",
               "Quinn", "Rossi", "Silva", "Tanaka", "Usman", "Varga", "Weber", "Yilmaz",
               "Zhang")  # fmt: skip
_Rows = list[tuple[Any, ...]]
_CHARGE_FIELDS = ("id", "created", "amount", "amount_refunded", "txn", "cus", "pm", "refunded",
                  "disputed")  # fmt: skip
_TXN_FIELDS = ("id", "created", "settled", "fee", "net", "available_on", "source")
_TXN_COLUMNS = "id, created, type, source, payout, currency, net, available_on, body"
_TABLES = tuple(_store.COLUMNS)


class Writer:
    """Renders and inserts the rows of one plan through one connection."""

    def __init__(self, conn: sqlite3.Connection, plan: Plan, ids: Ids) -> None:
        self.conn = conn
        self.plan = plan
        self.ids = ids
        self.charge_templates: dict[int, Template] = {}
        self.txn_templates: dict[int, Template] = {}
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
        return _shapes.card_info(SPECS[CARD_KEYS[card]], exp_year=self.plan.exp_year)

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
            rows.append((cus, created, email, msgspec.json.encode(body)))
            pm_body = _shapes.payment_method_body(pm, created, self.info(card), customer=cus)
            pms.append((pm, created, cus, msgspec.json.encode(pm_body)))
        self.insert("customers", "id, created, email, body", rows)
        self.insert("payment_methods", "id, created, customer, body", pms)

    # charges and their balance transactions, from templates

    def charge_values(self, key: int, values: dict[str, Any]) -> dict[str, Any]:
        card, currency, kind, description = _unkey(key)
        decline = DECLINE_KINDS[kind - 2] if kind >= 2 else None
        succeeded = decline is None
        radar = "block" if decline is _cards.RADAR_BLOCK else ("elevated" if kind == 1 else None)
        body = _shapes.charge_body(
            values["id"],
            values["created"],
            amount=values["amount"],
            currency=CURRENCIES[currency][0],
            info=self.info(card),
            status="succeeded" if succeeded else "failed",
            captured=succeeded,
            payment_method=values["pm"],
            outcome_body=_shapes.outcome(decline=decline, radar=radar),
            customer=values["cus"],
            balance_transaction=values["txn"] if succeeded else None,
            description=DESCRIPTIONS[description],
            failure=decline,
            billing=_shapes.billing_details(),
        )
        body.update(amount_refunded=values["amount_refunded"], refunded=values["refunded"],
                    disputed=values["disputed"])  # fmt: skip
        return body

    def charge_template(self, key: int, row: tuple[Any, ...]) -> Template:
        sentinels = {**S_INT, **S_STR, **S_RAW}
        template = Template(self.charge_values(key, sentinels), _CHARGE_FIELDS)
        real = dict(zip(_CHARGE_FIELDS, row, strict=True))
        real.update(refunded=real["refunded"] == "true", disputed=real["disputed"] == "true")
        check(template.render(row), msgspec.json.encode(self.charge_values(key, real)), "charge")
        self.charge_templates[key] = template
        return template

    def txn_template(self, key: int, row: tuple[Any, ...], amount: int) -> Template:
        currency, international = divmod(key, 2)
        code = CURRENCIES[currency][0]
        rate = _fees.settle(1, code)[1]
        body = _shapes.balance_transaction_body(
            S_STR["id"], S_INT["created"], amount=S_INT["settled"], fee=S_INT["fee"],
            fee_details=_fees.fee_details(S_INT["fee"]), source=S_STR["source"], txn_type="charge",
            reporting_category="charge", available_on=S_INT["available_on"], exchange_rate=rate,
        )  # fmt: skip
        body["net"] = S_INT["net"]
        template = Template(body, _TXN_FIELDS)
        real = _balance.charge_transaction_body(
            row[0], row[1], charge_id=row[6], amount=amount, currency=code,
            international=bool(international),
        )  # fmt: skip
        check(template.render(row), msgspec.json.encode(real), "balance transaction")
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
        keys = ((card * len(CURRENCIES) + currency) * 64 + kind) * 8 + plan.description[lo:hi]
        txn_keys = (currency * 2 + INTERNATIONAL[card]).tolist()
        created = plan.created[lo:hi].tolist()
        available = ((plan.created[lo:hi] // DAY + _fees.AVAILABLE_AFTER_DAYS) * DAY).tolist()
        columns = zip(
            charge_ids, txn_ids, created, customer.tolist(), plan.amount[lo:hi].tolist(),
            plan.refunded[lo:hi].tolist(), plan.disputed[lo:hi].tolist(), keys.tolist(),
            (kind < 2).tolist(), plan.settled[lo:hi].tolist(), plan.fee[lo:hi].tolist(),
            available, txn_keys, plan.charge_payout[lo:hi].tolist(), strict=True,
        )  # fmt: skip
        currencies = [code for code, _, _ in CURRENCIES]
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
            code = CURRENCIES[int(plan.cust_currency[plan.customer[charge]])][0]
            rid, tid, cid = refund_ids[n], txn_ids[n], charge_ids[n]
            txn = _balance.refund_transaction_body(tid, created, refund_id=rid, amount=amount,
                                                   currency=code)  # fmt: skip
            if n == plan.fx_refund:
                # Converted back at the day's rate, not the charge's: Stripe's FX difference
                # (https://docs.stripe.com/currencies/conversions).
                settled = int(plan.ref_settled[n])
                rate = float(Decimal(str(txn["exchange_rate"])) * FX_REFUND_RATE)
                txn.update(amount=-settled, net=-settled, exchange_rate=rate)
            txns.append(self.txn_row(txn, payout))
            body = _shapes.refund_body(rid, created, amount=amount, currency=code, charge=cid,
                                       payment_intent=None, balance_transaction=tid,
                                       reason=REFUND_REASONS[reason][0])  # fmt: skip
            if plan.refund_failure is not None and plan.refund_failure[0] == n:
                _, failed_at, back = plan.refund_failure
                failure = dict(txn, id=self.extra_txn_id(0), created=failed_at,
                               available_on=failed_at, amount=-txn["amount"], net=-txn["net"],
                               type="refund_failure", reporting_category="refund_failure",
                               description="REFUND FAILURE")  # fmt: skip
                txns.append(self.txn_row(failure, back))
                body.update(status="failed", failure_reason="expired_or_canceled_card",
                            failure_balance_transaction=failure["id"])  # fmt: skip
            rows.append((rid, created, cid, None, msgspec.json.encode(body)))
        self.insert("refunds", "id, created, charge, payment_intent, body", rows)
        self.insert("balance_transactions", _TXN_COLUMNS, txns)

    def disputes(self) -> None:
        plan = self.plan
        base = plan.created.size + plan.ref_charge.size
        rows: list[tuple[Any, ...]] = []
        txns: list[tuple[Any, ...]] = []
        for n, charge in enumerate(plan.dp_charge.tolist()):
            code = CURRENCIES[int(plan.cust_currency[plan.customer[charge]])][0]
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
                reversal = _balance.dispute_reversal_body(
                    self.ids.one("balance_transaction", base + 2 * n + 1), reversed_at,
                    dispute_id=did, charge_id=cid, withdrawal=withdrawal,
                )  # fmt: skip
                transactions.append(reversal)
                txns.append(self.txn_row(reversal, int(plan.reversal_payout[n])))
            body = _shapes.dispute_body(
                did, created, amount=amount, currency=code, charge=cid, payment_intent=None,
                reason=DISPUTE_REASONS[int(plan.dp_reason[n])][0], status=plan.dp_status[n],
                balance_transactions=transactions,
            )  # fmt: skip
            rows.append((did, created, cid, None, msgspec.json.encode(body)))
        self.insert("disputes", "id, created, charge, payment_intent, body", rows)
        self.insert("balance_transactions", _TXN_COLUMNS, txns)

    def extra_txn_id(self, n: int) -> str:
        """Id of the ``n``-th balance transaction after the payouts' own (failures, manual)."""
        plan = self.plan
        base = plan.created.size + plan.ref_charge.size + 2 * plan.dp_charge.size
        return self.ids.one("balance_transaction", base + len(plan.payout_created) + 1 + n)

    def payouts(self) -> None:
        plan = self.plan
        base = plan.created.size + plan.ref_charge.size + 2 * plan.dp_charge.size
        rows: list[tuple[Any, ...]] = []
        txns: list[tuple[Any, ...]] = []
        failed = plan.payout_failure[0] if plan.payout_failure else -1
        for n, (created, amount, arrival) in enumerate(
            zip(plan.payout_created, plan.payout_amount, plan.payout_arrival, strict=True)
        ):
            pid = self.payout_ids[n]
            # Counted at its arrival date, as Stripe's balance reports count automatic payouts.
            txn = _balance.payout_transaction_body(
                self.ids.one("balance_transaction", base + n), created, payout_id=pid,
                amount=amount, available_on=arrival,
            )  # fmt: skip
            # As the sandbox's sweep does: an automatic payout's own transaction is part of it.
            txns.append(self.txn_row(txn, n))
            arrived = arrival <= plan.end
            body = _shapes.payout_body(
                pid, created, amount=amount, currency=_fees.SETTLEMENT_CURRENCY,
                balance_transaction=txn["id"], arrival_date=arrival,
                automatic=True, status="paid" if arrived else "in_transit",
            )  # fmt: skip
            # https://docs.stripe.com/payouts/trace-id: known once the payout is paid.
            body["trace_id"] = (
                {"status": "supported", "value": f"ST{arrival // DAY:06d}{n:05d}"}
                if arrived else {"status": "pending", "value": None}
            )  # fmt: skip
            body["reconciliation_status"] = "completed" if arrived else "in_progress"
            if n == failed and plan.payout_failure is not None:
                _, failed_at, back = plan.payout_failure
                failure = _balance.payout_failure_body(
                    self.extra_txn_id(1), failed_at, payout_id=pid, amount=amount
                )
                txns.append(self.txn_row(failure, back))
                body.update(status="failed", failure_code="account_closed",
                            failure_message="The bank account has been closed.",
                            failure_balance_transaction=failure["id"])  # fmt: skip
            rows.append((pid, created, body["status"], msgspec.json.encode(body)))
        if plan.manual_payout is not None:
            created, amount, sweep = plan.manual_payout
            pid = self.ids.one("payout", len(plan.payout_created))
            txn = _balance.payout_transaction_body(
                self.extra_txn_id(2), created, payout_id=pid, amount=amount
            )
            # Like POST /v1/payouts: a manual payout's transaction is not linked to it, and the
            # next automatic payout takes it into its list.
            txns.append(self.txn_row(txn, sweep))
            arrival = next_business_day(created // DAY) * DAY
            body = _shapes.payout_body(
                pid, created, amount=amount, currency=_fees.SETTLEMENT_CURRENCY,
                balance_transaction=txn["id"], arrival_date=arrival, automatic=False,
                status="paid", description="Manual payout",
            )  # fmt: skip
            body["reconciliation_status"] = "not_applicable"
            body["trace_id"] = {"status": "supported", "value": f"ST{arrival // DAY:06d}99999"}
            rows.append((pid, created, "paid", msgspec.json.encode(body)))
        self.insert("payouts", "id, created, status, body", rows)
        self.insert("balance_transactions", _TXN_COLUMNS, txns)

    def txn_row(self, txn: dict[str, Any], payout: int) -> tuple[Any, ...]:
        return (txn["id"], txn["created"], txn["type"], txn["source"],
                None if payout < 0 else self.payout_ids[payout], txn["currency"],
                txn["net"], txn["available_on"], msgspec.json.encode(txn))  # fmt: skip


def _unkey(key: int) -> tuple[int, int, int, int]:
    rest, description = divmod(key, 8)
    rest, kind = divmod(rest, 64)
    card, currency = divmod(rest, len(CURRENCIES))
    return card, currency, kind, description


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


class FastConnection:
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
            wal_mode(conn, timeout=60.0)
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
                wal_mode(conn, timeout=60.0)
        finally:
            conn.close()
