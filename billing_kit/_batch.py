"""Charging a sheet: check every row, record the batch, then send rows concurrently, each once.

The order of a live run:

1. Read and check every row (:mod:`billing_kit._batch_rows`); any problem stops the run before
   anything is sent or stored, unless ``skip_invalid``.
2. Look the batch up (:mod:`billing_kit._batch_store`): rows an earlier run finished are reported
   (``already_charged``/``declined``), not sent.
3. Record every row with its idempotency key in the ledger file, *then* resolve customers in bulk
   (one list request per 100 customers, instead of one lookup per row) and send the rows from a
   thread pool. Every row goes through :meth:`~billing_kit.Client.charge` with its own key, so the
   ledger, the duplicate guard, retries and settling all apply; the client's pacer keeps every
   thread together under the rate limit.
4. A decline or an error is that row's status; it never stops the batch. Ctrl-C stops sending,
   waits for the requests in flight and returns the complete result.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from billing_kit._batch_result import BatchResult, Outcome, Preview, largest, result_frame, totals
from billing_kit._batch_rows import BatchRow, SheetCheck, check_sheet, read_sheet
from billing_kit._batch_store import BatchStore, StoredRow
from billing_kit._charges import _default_payment_method
from billing_kit._customers import _find_by_email
from billing_kit._exceptions import (
    BillingKitError,
    CardDeclined,
    DuplicateCharge,
    InvalidArgument,
    InvalidBatch,
    OutcomeUnknown,
    RateLimited,
    StripeUnavailable,
)
from billing_kit._money import to_major
from billing_kit._validation import check_flag, check_text

if TYPE_CHECKING:
    from billing_kit._client import Client

__all__ = ["charge_batch"]

log = logging.getLogger("billing_kit")

# Calls of client.charge per row in one run when retries run out (each resumes the same key).
_ROUNDS = 6
_MAX_CONCURRENCY = 64


def _options(batch_id: object, concurrency: object, client: Client) -> tuple[str | None, int]:
    if batch_id is not None:
        if not isinstance(batch_id, str) or not batch_id.strip() or len(batch_id) > 200:
            raise InvalidArgument(
                f"batch_id={batch_id!r} is not usable: pass a non-empty string of at most 200 "
                "characters, e.g. 'invoices-2026-11', or None for a hash of the sheet."
            )
        check_text("batch_id", batch_id)
    if concurrency is None:
        # Enough threads to keep the pacer busy at up to a second of latency per request.
        return batch_id, max(1, min(32, math.ceil(client.rate_limit)))
    if (
        not isinstance(concurrency, int)
        or isinstance(concurrency, bool)
        or not 1 <= concurrency <= _MAX_CONCURRENCY
    ):
        raise InvalidArgument(
            f"concurrency={concurrency!r} must be an int from 1 to {_MAX_CONCURRENCY}, or None "
            "for one thread per request per second of the rate limit (at most 32)."
        )
    return batch_id, concurrency


def _invalid_outcomes(sheet: SheetCheck) -> dict[int, Outcome]:
    messages: dict[int, list[str]] = {}
    for problem in sheet.problems:
        messages.setdefault(problem.row, []).append(
            f"{problem.column}: {problem.message} (value {problem.value})"
        )
    from billing_kit._batch_rows import FIRST_ROW

    return {
        position: Outcome("invalid", message="; ".join(messages.get(position + FIRST_ROW, [])))
        for position in sheet.invalid
    }


def _earlier(
    rows: list[BatchRow],
    stored: dict[str, StoredRow],
    elsewhere: dict[str, StoredRow],
    batch_id: str,
    explicit: bool,
) -> tuple[dict[int, Outcome], list[BatchRow]]:
    """Outcomes of rows finished earlier, and the rows still to send."""
    done: dict[int, Outcome] = {}
    to_send: list[BatchRow] = []
    for row in rows:
        mine = stored.get(row.row_id)
        attempt = mine.attempt if mine is not None else None
        other = elsewhere.get(row.row_id)
        if other is not None and not _same_charge(row, other):
            other = None  # the same row id for another charge (row ids are unique per sheet)
        if attempt is not None and attempt.outcome == "succeeded":
            done[row.position] = Outcome(
                "already_charged",
                charge_id=attempt.charge_id,
                message=f"charged in an earlier run of batch {batch_id!r}",
                idempotency_key=attempt.idempotency_key,
            )
        elif attempt is not None and attempt.outcome == "declined":
            done[row.position] = Outcome(
                "declined",
                charge_id=attempt.charge_id,
                decline_code=attempt.decline_code,
                message=f"declined in an earlier run of batch {batch_id!r}: "
                f"{attempt.error_message or ''} To try again, run it with a new batch_id.",
                idempotency_key=attempt.idempotency_key,
            )
        elif other is not None and other.attempt is not None and not explicit:
            done[row.position] = Outcome(
                "already_charged",
                charge_id=other.attempt.charge_id,
                message=f"the same row was charged in batch {other.batch_id!r}; to charge it "
                "again on purpose, pass a new batch_id",
                idempotency_key=other.attempt.idempotency_key,
            )
        else:
            to_send.append(row)
    return done, to_send


def _same_charge(row: BatchRow, other: StoredRow) -> bool:
    """Whether ``other`` charged what ``row`` asks for: amount, currency and description."""
    attempt = other.attempt
    return (
        attempt is not None
        and attempt.amount == row.amount
        and attempt.currency == row.currency
        and (attempt.description or None) == row.description
        and (row.customer is None or attempt.customer == row.customer)
    )


def charge_batch(
    client: Client,
    rows: object,
    *,
    batch_id: str | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    concurrency: int | None = None,
    progress: bool = True,
) -> BatchResult:
    """Charge every row of a sheet (DataFrame, ``.csv`` or ``.xlsx``) once; see docs/batch.md.

    Every row is checked first; if any is invalid nothing is sent (unless ``skip_invalid``).
    Rows are recorded in the ledger with their idempotency keys before the first request,
    then sent concurrently under the client's rate limit. Running the same batch again
    (same sheet, or the same ``batch_id``) finishes only the rows that did not finish.

    Parameters
    ----------
    rows
        Columns ``email`` or ``customer``, ``amount``, ``currency``; optional
        ``payment_method``, ``description``, ``row_id``, ``metadata.<key>``.
    batch_id
        Names the batch; default a hash of the sheet's rows. A new id charges again on purpose.
    dry_run
        Check and preview (``.preview``) without sending or recording anything.
    skip_invalid
        Charge the valid rows; the others are ``invalid`` in the result.
    concurrency
        Threads sending at once (default: the rate limit per second, at most 32).
    progress
        Show a progress bar (tqdm) with successes, declines and ETA.

    Returns
    -------
    BatchResult
        ``.frame`` (input columns plus ``status``, ``charge_id``, ``decline_code``,
        ``message``, ``idempotency_key``), ``.summary``, ``.to_excel()``, ``.to_csv()``.

    Raises
    ------
    InvalidBatch
        Some rows are invalid (``.problems`` names row, column, value and fix); nothing sent.

    Examples
    --------
    >>> result = client.charge_batch("november.xlsx", dry_run=True)  # doctest: +SKIP
    >>> print(result.preview)  # doctest: +SKIP
    """
    dry_run = check_flag("dry_run", dry_run)
    skip_invalid = check_flag("skip_invalid", skip_invalid)
    progress = check_flag("progress", progress)
    given, threads = _options(batch_id, concurrency, client)
    sheet = check_sheet(read_sheet(rows))
    if sheet.problems and not skip_invalid and not dry_run:
        shown = "\n".join(f"  {p}" for p in sheet.problems[:20])
        more = len(sheet.problems) - 20
        raise InvalidBatch(
            f"{len(sheet.problems)} problem(s) in the sheet; nothing was sent:\n{shown}"
            + (f"\n  … and {more} more (see .problems)" if more > 0 else "")
            + "\nFix them, or pass skip_invalid=True to charge only the valid rows.",
            problems=sheet.problems_frame(),
        )
    the_id = given or sheet.digest()
    store = BatchStore(client.ledger)
    ids = [row.row_id for row in sheet.rows]
    done, to_send = _earlier(
        sheet.rows,
        store.rows(the_id),
        store.charged_elsewhere(the_id, ids),
        the_id,
        given is not None,
    )
    outcomes = {**_invalid_outcomes(sheet), **done}

    def result(**extra: Any) -> BatchResult:
        return BatchResult(
            batch_id=the_id,
            frame=result_frame(sheet.frame, outcomes),
            problems=sheet.problems_frame(),
            rows=sheet.rows,
            **extra,
        )

    if dry_run:
        return result(dry_run=True, preview=_preview(client, sheet, to_send, done, threads))
    if not to_send:
        note = (
            f"Batch {the_id!r} has no row left to send: nothing was charged. To charge these "
            f"rows again on purpose, run it with a new batch_id, e.g. batch_id='{the_id}-2'."
        )
        log.info(note)
        return result(note=note)
    store.record(the_id, sheet.rows)
    sender = _Sender(client, store, the_id, threads, progress, given is not None)
    sent, interrupted = sender.run(to_send)
    outcomes.update(sent)
    unknown = [position for position, outcome in sent.items() if outcome.unknown]
    note = ""
    if unknown:
        note = (
            f"{len(unknown)} row(s) have no final outcome yet (see .unfinished): run the same "
            f"batch again (batch_id={the_id!r}) to finish them; none is charged twice."
        )
    return result(interrupted=interrupted, unknown=unknown, note=note)


def _preview(
    client: Client, sheet: SheetCheck, to_send: list[BatchRow], done: dict[int, Outcome], n: int
) -> Preview:
    """Counts, totals and customers of a live run, from reads only (nothing is created)."""
    emails = {row.email for row in to_send if row.customer is None and row.email}
    known = {e for e in emails if client.ledger.remembered_customer(e) is not None}
    unknown = sorted(emails - known)
    with ThreadPoolExecutor(max_workers=n) as pool:
        found = list(pool.map(lambda email: bool(_find_by_email(client, email)), unknown))
    ids = {row.customer for row in to_send if row.customer is not None}
    existing = len(ids) + len(known) + sum(found)
    return Preview(
        rows=len(sheet.frame),
        to_send=len(to_send),
        invalid=len(sheet.invalid),
        already_charged=sum(o.status == "already_charged" for o in done.values()),
        totals=totals(to_send),
        new_customers=len(unknown) - sum(found),
        existing_customers=existing,
        largest=largest(to_send),
    )


class _Sender:
    """Resolves customers in bulk, then sends rows from a thread pool until done or stopped."""

    def __init__(
        self,
        client: Client,
        store: BatchStore,
        batch_id: str,
        threads: int,
        progress: bool,
        explicit: bool,
    ) -> None:
        self.client = client
        self.store = store
        self.batch_id = batch_id
        self.threads = threads
        self.progress = progress
        self.explicit = explicit
        self.stop = threading.Event()
        self.targets: dict[str, tuple[str, str] | BillingKitError] = {}

    def run(self, rows: list[BatchRow]) -> tuple[dict[int, Outcome], bool]:
        from tqdm.auto import tqdm

        stored = self.store.rows(self.batch_id)
        elsewhere = (
            self.store.charged_elsewhere(self.batch_id, [r.row_id for r in rows])
            if self.explicit
            else {}
        )
        outcomes: dict[int, Outcome] = {}
        counts = {"succeeded": 0, "declined": 0, "failed": 0, "already_charged": 0}
        # Without an explicit ``disable`` tqdm honours TQDM_DISABLE (and a notebook's settings).
        off: dict[str, Any] = {} if self.progress else {"disable": True}
        bar = tqdm(total=len(rows), desc="charging", unit="row", dynamic_ncols=True, **off)
        interrupted = False
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            futures: dict[Future[Outcome], BatchRow] = {}
            try:
                self._resolve(pool, rows)
                futures = {
                    pool.submit(
                        self._send,
                        row,
                        stored[row.row_id],
                        row.row_id in elsewhere and _same_charge(row, elsewhere[row.row_id]),
                    ): row
                    for row in rows
                }
                pending: set[Future[Outcome]] = set(futures)
                while pending:
                    finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    for future in finished:
                        outcome = future.result()
                        outcomes[futures[future].position] = outcome
                        counts[outcome.status] = counts.get(outcome.status, 0) + 1
                        bar.update(1)
                    bar.set_postfix(counts, refresh=False)
            except KeyboardInterrupt:
                # Stop sending, let the requests in flight finish: every row gets a status.
                interrupted = True
                self.stop.set()
                for future in futures:
                    future.cancel()
                wait(futures)
                for future, row in futures.items():
                    if future.done() and not future.cancelled():
                        outcomes[row.position] = future.result()
                log.warning("interrupted: stopped sending after the requests in flight")
        bar.close()
        for row in rows:
            if row.position not in outcomes:
                outcomes[row.position] = Outcome(
                    "failed",
                    message="not sent: the run was interrupted; run the same batch again",
                    idempotency_key=stored[row.row_id].idempotency_key,
                    unknown=True,
                )
        return outcomes, interrupted

    def _resolve(self, pool: ThreadPoolExecutor, rows: list[BatchRow]) -> None:
        """Find each row's customer id and payment method, in bulk where possible."""
        ledger = self.client.ledger
        ids: dict[str, str | BillingKitError] = {}
        for row in rows:
            if row.customer is not None:
                ids[row.who] = row.customer
            elif row.email is not None and row.email not in ids:
                remembered = ledger.remembered_customer(row.email)
                if remembered is not None:
                    ids[row.email] = remembered
        # Emails the kit has not seen: found (any case, made anywhere) or created, one by one.
        new = sorted({row.email for row in rows if row.email and row.who not in ids})
        for email, found in zip(new, pool.map(self._customer_of, new), strict=True):
            ids[email] = found
        wanted = {
            value
            for row in rows
            if row.payment_method is None and isinstance(value := ids[row.who], str)
        }
        defaults = self._list_defaults(wanted)
        missing = sorted(wanted - set(defaults))
        for missed, found in zip(missing, pool.map(self._default_of, missing), strict=True):
            defaults[missed] = found
        for row in rows:
            cid = ids[row.who]
            if isinstance(cid, BillingKitError):
                self.targets[row.row_id] = cid
                continue
            method: str | BillingKitError | None = row.payment_method or defaults[cid]
            self.targets[row.row_id] = (
                (cid, method) if isinstance(method, str) else method or _no_default(cid)
            )

    def _customer_of(self, email: str) -> str | BillingKitError:
        try:
            return self.client.find_or_create_customer(email).id
        except BillingKitError as exc:
            return exc

    def _default_of(self, customer_id: str) -> str | BillingKitError:
        try:
            return _default_payment_method(self.client, customer_id)
        except BillingKitError as exc:
            return exc

    def _list_defaults(self, wanted: set[str]) -> dict[str, str | BillingKitError | None]:
        """Default payment methods from the customer list, 100 a request, newest first.

        Stops when every wanted customer was seen, or after a few pages more than the wanted
        ones fill: customers not seen by then are retrieved one by one.
        """
        found: dict[str, str | BillingKitError | None] = {}
        budget = math.ceil(len(wanted) / 100) * 2 + 1
        params: dict[str, Any] = {"limit": 100}
        for _ in range(budget if wanted else 0):
            page = self.client._transport.request("get", "/v1/customers", params).data
            items = page.get("data") or []
            for item in items:
                if item.get("id") in wanted:
                    settings = item.get("invoice_settings") or {}
                    pm = settings.get("default_payment_method")
                    pm = pm.get("id") if isinstance(pm, Mapping) else pm
                    found[str(item["id"])] = str(pm) if pm else _no_default(str(item["id"]))
            if wanted <= set(found) or not page.get("has_more") or not items:
                break
            params["starting_after"] = items[-1]["id"]
        return found

    def _send(self, row: BatchRow, stored: StoredRow, on_purpose: bool) -> Outcome:
        if self.stop.is_set():
            return Outcome(
                "failed",
                message="not sent: the run was interrupted; run the same batch again",
                idempotency_key=stored.idempotency_key,
                unknown=True,
            )
        target = self.targets[row.row_id]
        if isinstance(target, BillingKitError):
            return Outcome("failed", message=target.message)
        key, key_round = stored.idempotency_key, stored.key_round
        if stored.attempt is not None and stored.attempt.outcome == "failed":
            # Stripe refused this key (or spent it on a saved 500): nothing was charged under
            # it, and resending it would only replay the refusal.
            key = self.store.next_round(self.batch_id, row.row_id, key_round)
            key_round += 1
        return _charge_row(self.client, row, target, key, on_purpose, self._next_key(row))

    def _next_key(self, row: BatchRow) -> Callable[[str], str]:
        def move_on(_spent: str) -> str:
            stored = self.store.rows(self.batch_id)[row.row_id]
            return self.store.next_round(self.batch_id, row.row_id, stored.key_round)

        return move_on


def _no_default(customer_id: str) -> InvalidArgument:
    return InvalidArgument(
        f"Customer {customer_id} has no default payment method: add a payment_method column "
        "(e.g. pm_card_visa in test mode), or attach one first with "
        "client.attach_payment_method(customer, 'pm_card_visa')."
    )


def _charge_row(
    client: Client,
    row: BatchRow,
    target: tuple[str, str],
    key: str,
    on_purpose: bool,
    next_key: Callable[[str], str],
) -> Outcome:
    """Charge one row through :meth:`Client.charge`; a re-call resumes the same key."""
    customer_id, method = target
    last = "no attempt made"
    for _ in range(_ROUNDS):
        try:
            charge = client.charge(
                customer_id,
                to_major(row.amount, row.currency),
                row.currency,
                payment_method=method,
                description=row.description,
                metadata=row.metadata,
                allow_duplicate=on_purpose,
                idempotency_key=key,
            )
        except CardDeclined as exc:
            return Outcome(
                "declined",
                charge_id=exc.charge_id,
                decline_code=exc.decline_code,
                message=exc.reason or exc.message,
                idempotency_key=key,
            )
        except DuplicateCharge as exc:
            return Outcome(
                "already_charged",
                charge_id=exc.previous.id,
                message=exc.message,
                idempotency_key=exc.idempotency_key,
            )
        except OutcomeUnknown as exc:
            return Outcome("failed", message=exc.message, idempotency_key=key, unknown=True)
        except (StripeUnavailable, RateLimited) as exc:
            last = exc.message
            attempt = client.ledger.get(key)
            if exc.key_spent and attempt is not None and attempt.outcome == "failed":
                key = next_key(key)  # nothing was charged under the spent key
            continue  # the same key again: Stripe replays the first result if there was one
        except BillingKitError as exc:
            return Outcome("failed", message=exc.message, idempotency_key=key)
        if charge.succeeded:
            return Outcome("succeeded", charge_id=charge.id, idempotency_key=key)
        return Outcome(
            "declined",
            charge_id=charge.id,
            decline_code=charge.decline_code,
            message=charge.failure_reason,
            idempotency_key=key,
        )
    return Outcome("failed", message=last, idempotency_key=key, unknown=True)
