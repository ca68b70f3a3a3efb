"""The charge form: fill in, review exactly what will happen, confirm once, see the result.

Double charges are prevented in two places, because disabling the button is only feedback:
(1) the kernel re-checks its own state: :meth:`ChargeForm.confirm` takes the reviewed intent
from a :class:`~billing_kit.widgets._once.Waiting` slot, once, and a queued second click finds
nothing to confirm; (2) every confirmed intent carries one idempotency key, so even a retried
request is charged once by Stripe."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import ipywidgets as W

from billing_kit._exceptions import CardDeclined, DuplicateCharge, StripeRequestError
from billing_kit._money import format_amount, to_major
from billing_kit.widgets._cards import TEST_CARDS
from billing_kit.widgets._form import Form, Mode, button, esc, message_html, problems_html
from billing_kit.widgets._inputs import (
    check_amount,
    check_customer,
    check_metadata,
    check_payment_method,
)
from billing_kit.widgets._once import DuplicateQuestion, Waiting
from billing_kit.widgets._session import SessionLog

if TYPE_CHECKING:
    from billing_kit._client import Client
    from billing_kit._models import Charge

DEFAULT_CURRENCIES = ("usd", "eur", "gbp", "jpy", "cad", "aud", "chf")
_WIDE = W.Layout(width="480px")
_STYLE = {"description_width": "130px"}


@dataclass(frozen=True)
class ChargeIntent:
    """A reviewed charge, waiting for confirmation. Frozen: what was reviewed is what is sent."""

    customer: str
    customer_label: str
    amount: int
    currency: str
    payment_method: str | None
    payment_label: str
    description: str | None
    metadata: dict[str, str] = field(hash=False)
    mode: Mode
    idempotency_key: str = field(default_factory=lambda: f"bk-charge-{uuid.uuid4()}")
    allow_duplicate: bool = False

    @property
    def amount_text(self) -> str:
        """The amount as a person reads it, e.g. ``"$12.34"``."""
        return format_amount(self.amount, self.currency)


class ChargeForm(Form):
    """A form that charges one customer, with a review step and a double-submit guard.

    Parameters
    ----------
    client
        A connected :class:`billing_kit.Client`; its mode decides the banner and the card list.
    currencies
        Currencies offered, lower-case ISO codes; the first is preselected.

    Examples
    --------
    >>> form = ChargeForm(client)                                 # doctest: +SKIP
    >>> form.customer.value, form.amount.value = "ana@example.com", "12.50"  # doctest: +SKIP
    >>> form.submit(); charge = form.confirm()                    # doctest: +SKIP
    """

    def __init__(self, client: Client, *, currencies: Sequence[str] = DEFAULT_CURRENCIES) -> None:
        super().__init__(client)
        self._lock = threading.Lock()
        self._pending: Waiting[ChargeIntent] = Waiting(self)
        self.in_flight = False
        self.ignored_clicks = 0
        self.last_charge: Charge | None = None
        self.last_decline: CardDeclined | None = None
        self.session = SessionLog()
        self._known_customers: dict[str, str] = {}

        self.customer = W.Text(description="Customer", placeholder="email, or pick below")
        self.existing = W.Dropdown(description="Existing customer", options=[("—", "")])
        self.amount = W.Text(description="Amount", placeholder="e.g. 12.50")
        self.currency = W.Dropdown(
            description="Currency", options=[(c.upper(), c) for c in currencies]
        )
        self.payment_method: W.Dropdown | W.Text
        if self.mode == "live":
            self.payment_method = W.Text(
                description="Payment method", placeholder="pm_… (blank: customer's default)"
            )
        else:
            self.payment_method = W.Dropdown(
                description="Test card",
                options=[(card.effect, card.payment_method) for card in TEST_CARDS],
            )
        self.description = W.Text(description="Description", placeholder="optional")
        self.metadata = W.Textarea(
            description="Metadata", placeholder="key=value, one per line (optional)"
        )
        inputs = (self.customer, self.existing, self.amount, self.currency)
        for control in (*inputs, self.payment_method, self.description, self.metadata):
            control.layout, control.style = _WIDE, _STYLE
        self.problems_area = W.HTML()
        self.review_button = button("Review charge", button_style="primary")

        self.summary = W.HTML()
        self.retype = W.Text(description="Type amount again", placeholder="the amount, to confirm")
        self.retype.style = _STYLE
        self.confirm_button = button("Charge", button_style="danger")
        self.edit_button = button("Edit")
        self.review_box = W.VBox(
            layout=W.Layout(
                display="none", border="1px solid #ccc", padding="4px 8px", width="640px"
            )
        )
        self.review_box.add_class("bk-review")

        self.result = W.HTML()
        self.result.add_class("bk-result")
        self._duplicate: DuplicateQuestion[ChargeIntent] = DuplicateQuestion(
            self, again="Charge again anyway", dont="Don't charge"
        )
        self.again_button = self._duplicate.again_button
        self.dont_button = self._duplicate.dont_button
        self.duplicate_box = self._duplicate.box
        self.table = W.HTML(self.session.html())

        self.review_box.children = self._review_children()
        watched = (self.customer, self.amount, self.currency, self.payment_method, self.metadata)
        for control in watched:
            control.observe(self._handler(self._live_check), names="value")
        self.existing.observe(self._handler(self._pick_existing), names="value")
        self.review_button.on_click(self._handler(self.submit))
        self.confirm_button.on_click(self._handler(self.confirm))
        self.edit_button.on_click(self._handler(self.edit))
        self.again_button.on_click(self._handler(self.charge_again))
        self.dont_button.on_click(self._handler(self.cancel_duplicate))
        self._finish(
            "Charge a customer",
            [
                *inputs,
                self.payment_method,
                self.description,
                self.metadata,
                self.problems_area,
                self.review_button,
                self.review_box,
                self.result,
                self.duplicate_box,
                W.HTML("<b>This session's charges</b>"),
                self.table,
            ],
        )
        self._handler(self.refresh_customers)()

    # ----------------------------------------------------------------- inputs
    def _review_children(self) -> tuple[W.Widget, ...]:
        retype = (self.retype,) if self.mode == "live" else ()
        return (self.summary, *retype, W.HBox([self.confirm_button, self.edit_button]))

    def refresh_customers(self) -> None:
        """Reload the list of existing customers offered in the picker."""
        customers = self.client.customers(limit=100)
        self._known_customers = {c.id: c.email or c.name or c.id for c in customers}
        options = [("—", "")] + [
            (f"{label} · {cid}", cid) for cid, label in self._known_customers.items()
        ]
        self.existing.options = options

    def _pick_existing(self) -> None:
        if self.existing.value:
            self.customer.value = self.existing.value

    @property
    def value(self) -> dict[str, str]:
        """What is typed in the form right now (raw text, before checking)."""
        return {
            "customer": self.customer.value,
            "amount": self.amount.value,
            "currency": self.currency.value,
            "payment_method": self.payment_method.value,
            "description": self.description.value,
            "metadata": self.metadata.value,
        }

    def problems(self, *, include_missing: bool = True) -> dict[str, str]:
        """Return a message per wrong field; empty fields count only with ``include_missing``."""
        found: dict[str, str] = {}
        checks: list[tuple[str, Callable[[], object]]] = [
            ("customer", lambda: check_customer(self.customer.value)),
            ("amount", lambda: self._checked_amount(self.amount.value)),
            ("metadata", lambda: check_metadata(self.metadata.value)),
        ]
        if self.mode == "live":  # in sandbox/test mode the card comes from the catalogue
            checks.append(
                ("payment_method", lambda: check_payment_method(self.payment_method.value))
            )
        for name, check in checks:
            if not include_missing and not str(self.value[name]).strip():
                continue
            try:
                check()
            except ValueError as exc:
                found[name] = str(exc)
        return found

    def _checked_amount(self, text: str) -> int:
        currency = self.currency.value
        return check_amount(text, currency, limit=self.client.max_amount.get(currency))

    def _live_check(self) -> None:
        self.problems_area.value = problems_html(self.problems(include_missing=False))

    # ----------------------------------------------------------------- review
    def submit(self) -> ChargeIntent | None:
        """Check the inputs and show the review step; return the reviewed intent, or ``None``."""
        problems = self.problems()
        self.problems_area.value = problems_html(problems)
        # A new attempt: the previous outcome and question go, so messages never stack.
        self.result.value = ""
        self.clear_error()
        self._duplicate.hide()
        if problems:
            return None
        customer = check_customer(self.customer.value)
        card = self.payment_method.value.strip() or None
        labels = dict((v, k) for k, v in getattr(self.payment_method, "options", ()))
        intent = ChargeIntent(
            customer=customer,
            customer_label=self._customer_label(customer),
            amount=self._checked_amount(self.amount.value),
            currency=self.currency.value,
            payment_method=card,
            payment_label=labels.get(card, card or "the customer's default payment method"),
            description=self.description.value.strip() or None,
            metadata=check_metadata(self.metadata.value),
            mode=self.mode,
        )
        if not self._pending.put(intent, unless_busy=True):
            return None
        self.clear_error()
        self.retype.value = ""
        self.summary.value = self._summary_html(intent)
        self.confirm_button.description = f"Charge {intent.amount_text}"
        self._show_review(True)
        return intent

    def _customer_label(self, customer: str) -> str:
        known = self._known_customers.get(customer)
        return f"{known} ({customer})" if known and known != customer else customer

    def _summary_html(self, intent: ChargeIntent) -> str:
        rows = [
            (
                "Charge",
                f"<b style='font-size:1.2em'>{esc(intent.amount_text)}</b> "
                f"({esc(intent.currency.upper())})",
            ),
            ("To", esc(intent.customer_label)),
            ("Paying with", esc(intent.payment_label)),
            ("Mode", f"<b>{esc(intent.mode.upper())}</b>"),
            ("Description", esc(intent.description or "—")),
            ("Metadata", esc(", ".join(f"{k}={v}" for k, v in intent.metadata.items()) or "—")),
        ]
        body = "".join(
            f"<tr><th style='text-align:left;padding-right:12px'>{k}</th><td>{v}</td></tr>"
            for k, v in rows
        )
        extra = ""
        if intent.mode == "live":
            extra = (
                "<p style='color:#b00020'><b>Live mode:</b> type the amount again to confirm.</p>"
            )
        return (
            f"<div class='bk-summary'><p><b>Please check:</b></p><table>{body}</table>{extra}</div>"
        )

    def _show_review(self, visible: bool) -> None:
        self.review_box.layout.display = "flex" if visible else "none"
        for control in (
            self.customer,
            self.existing,
            self.amount,
            self.currency,
            self.payment_method,
            self.description,
            self.metadata,
            self.review_button,
        ):
            control.disabled = visible

    def edit(self) -> None:
        """Leave the review step without charging."""
        if self._pending.put(None, unless_busy=True):
            self._show_review(False)

    # ----------------------------------------------------------------- confirm
    def confirm(self) -> Charge | None:
        """Charge the reviewed intent once; return the charge, or ``None`` when nothing was charged.

        A click that arrives while a charge is in flight, or after the intent was used, does
        nothing: the kernel checks its own state rather than trusting the button's ``disabled``.
        """
        intent = self._pending.take(ready=self._retyped_matches)
        return None if intent is None else self._execute(intent)

    def _retyped_matches(self, intent: ChargeIntent) -> bool:
        """Live mode: whether the amount was typed again correctly (if not, say so)."""
        if intent.mode != "live":
            return True
        try:
            again = check_amount(self.retype.value, intent.currency)
        except ValueError:
            again = None
        if again == intent.amount:
            return True
        self.problems_area.value = problems_html(
            {
                "retype": f"Live mode: type {intent.amount_text} again in the box above to confirm "
                f"(got {self.retype.value!r}). Nothing was charged."
            }
        )
        return False

    def charge_again(self) -> Charge | None:
        """Answer "yes" to the duplicate question: charge the same thing again, once."""
        intent = self._duplicate.take()
        return None if intent is None else self._execute(intent)

    def cancel_duplicate(self) -> None:
        """Answer "no" to the duplicate question."""
        self._duplicate.refuse()
        self.result.value = message_html("Not charged again.", ok=True)

    def _execute(self, intent: ChargeIntent) -> Charge | None:
        self._set_busy(True)
        self._duplicate.hide()
        self.problems_area.value = self.result.value = ""
        self.clear_error()
        try:
            charge = self.client.charge(
                intent.customer,
                to_major(intent.amount, intent.currency),
                intent.currency,
                payment_method=intent.payment_method,
                description=intent.description,
                metadata=intent.metadata or None,
                allow_duplicate=intent.allow_duplicate,
                idempotency_key=intent.idempotency_key,
            )
        except CardDeclined as exc:
            self._declined(intent, exc)
            return None
        except DuplicateCharge as exc:
            self._ask_duplicate(intent, exc.previous)
            return None
        except Exception as exc:
            # Unknown outcome (network, server): keep the intent and its key, so pressing Charge
            # again replays the same request and Stripe charges at most once. A key Stripe spent
            # on a saved error, once settled (its row no longer pending), can only replay that
            # error: the next press gets a new key.
            if isinstance(exc, StripeRequestError) and exc.key_spent:
                row = self.client.ledger.get(intent.idempotency_key)
                if row is not None and row.outcome != "pending":
                    intent = replace(intent, idempotency_key=f"bk-charge-{uuid.uuid4()}")
            self._pending.put(intent)
            raise
        finally:
            with self._lock:
                self.in_flight = False
            self._set_busy(False)
        self._succeeded(intent, charge)
        return charge

    def _set_busy(self, busy: bool) -> None:
        self.confirm_button.disabled = busy
        self.edit_button.disabled = busy
        self.again_button.disabled = busy
        if busy:
            self.confirm_button.description = "Charging…"
        elif (pending := self._pending.intent) is not None:
            self.confirm_button.description = f"Charge {pending.amount_text}"
        else:
            self._show_review(False)
            self.confirm_button.description = "Charge"

    # ----------------------------------------------------------------- outcomes
    def _succeeded(self, intent: ChargeIntent, charge: Charge) -> None:
        self.last_charge, self.last_decline = charge, None
        self.result.value = message_html(
            f"✔ Charged {charge.amount} to {intent.customer_label} in {intent.mode} mode "
            f"— charge {charge.id} ({charge.status}).",
            ok=True,
        )
        self._record(intent, charge.id, charge.status)
        self.amount.value = self.retype.value = ""
        self._handler(self.refresh_customers)()  # a new customer shows up in the picker

    def _declined(self, intent: ChargeIntent, exc: CardDeclined) -> None:
        self.last_charge, self.last_decline = None, exc
        charge_id = exc.charge_id or "(none)"
        self.result.value = message_html(
            f"✘ Declined: {exc.reason} Nothing was charged. Charge {charge_id} "
            f"({exc.decline_code or 'no decline code'}).",
            ok=False,
        )
        self._record(intent, charge_id, "declined", detail=exc.reason)

    def _record(
        self, intent: ChargeIntent, charge_id: str, status: str, *, detail: str = ""
    ) -> None:
        """Add one outcome to this session's table and redraw it."""
        self.session.add(
            customer=intent.customer_label,
            amount=intent.amount_text,
            paying_with=intent.payment_label,
            charge_id=charge_id,
            status=status,
            detail=detail,
        )
        self.table.value = self.session.html()

    def _ask_duplicate(self, intent: ChargeIntent, previous: Charge) -> None:
        when_text = f" at {previous.created:%H:%M} UTC"
        prev_id = previous.id
        again = replace(intent, allow_duplicate=True, idempotency_key=f"bk-charge-{uuid.uuid4()}")
        self.result.value = ""
        self._duplicate.ask(
            again,
            f"{esc(intent.customer_label)} was already charged "
            f"{esc(intent.amount_text)}{when_text} "
            f"(charge {esc(prev_id)}). Nothing new was charged. Charge again anyway?",
        )
