"""The refund form: pick a charge, choose full or partial, give a reason, review, confirm once.

Like the charge form, the kernel re-checks its own state: :meth:`RefundForm.confirm` takes the
reviewed refund from a :class:`~billing_kit.widgets._once.Waiting` slot, once, so a queued second
click refunds nothing."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import ipywidgets as W

from billing_kit._exceptions import DuplicateRefund
from billing_kit._money import format_amount, to_major
from billing_kit.widgets._emails import customer_emails
from billing_kit.widgets._form import Form, Mode, button, esc, message_html, problems_html
from billing_kit.widgets._inputs import check_amount, check_charge_id
from billing_kit.widgets._once import DuplicateQuestion, Waiting
from billing_kit.widgets._session import SessionLog

if TYPE_CHECKING:
    from billing_kit._client import Client
    from billing_kit._models import Charge, Refund

_WIDE = W.Layout(width="520px")
_STYLE = {"description_width": "130px"}
# Stripe's refund reasons (https://docs.stripe.com/api/refunds/create#create_refund-reason), in
# words: a code such as "requested_by_customer" is cut off in a dropdown and reads as jargon.
REASONS: tuple[tuple[str, str], ...] = (
    ("Requested by customer", "requested_by_customer"),
    ("Duplicate", "duplicate"),
    ("Fraudulent", "fraudulent"),
    ("No reason given", ""),
)
REASON_WORDS = {code: words for words, code in REASONS if code}
FULL, PARTIAL = "Full refund", "Partial refund"


@dataclass(frozen=True)
class RefundIntent:
    """A reviewed refund, waiting for confirmation."""

    charge: Charge
    amount: int | None  # None: everything not yet refunded
    reason: str | None
    mode: Mode
    allow_duplicate: bool = False

    @property
    def refundable(self) -> int:
        """What is still refundable on the charge, in minor units."""
        return self.charge.amount.minor - self.charge.refunded_amount.minor

    @property
    def amount_text(self) -> str:
        """The amount that will be refunded, as a person reads it."""
        minor = self.refundable if self.amount is None else self.amount
        return format_amount(minor, self.charge.amount.currency)


def reason_words(code: str | None) -> str:
    """Return a refund reason code in words, as the form shows it.

    Examples
    --------
    >>> reason_words("requested_by_customer"), reason_words(None)
    ('Requested by customer', '')
    """
    if not code:
        return ""
    return REASON_WORDS.get(code, code.replace("_", " ").capitalize())


def not_refundable(charge: Charge) -> str | None:
    """Say why ``charge`` cannot be refunded, or return ``None`` when it can.

    Stripe refunds only succeeded charges with something left, and refuses a charge that was
    charged back (error ``charge_disputed``, https://docs.stripe.com/error-codes#charge-disputed).
    """
    if charge.status != "succeeded":
        return (
            f"Charge {charge.id} {charge.status}: no money was taken, so there is nothing to "
            "refund."
        )
    if charge.disputed:
        return (
            f"Charge {charge.id} is disputed (charged back): the money goes back through the "
            "dispute, so it cannot be refunded; answer the dispute in the Stripe dashboard instead."
        )
    if charge.refunded_amount.minor >= charge.amount.minor:
        return (
            f"Charge {charge.id} has nothing left to refund ({charge.refunded_amount} already "
            "refunded)."
        )
    return None


def _left(charge: Charge) -> str:
    return format_amount(charge.amount.minor - charge.refunded_amount.minor, charge.amount.currency)


def _charge_label(charge: Charge, who: str) -> str:
    refunded = charge.refunded_amount.minor
    extra = f", {charge.refunded_amount} refunded" if refunded else ""
    return (
        f"{charge.created:%Y-%m-%d %H:%M} · {charge.amount} · {who}{extra} · "
        f"{_left(charge)} left · {charge.id}"
    )


class RefundForm(Form):
    """A form that refunds one charge, fully or partly, with a review step.

    Parameters
    ----------
    client
        A connected :class:`billing_kit.Client`.
    recent
        How many recent charges the picker offers.
    """

    def __init__(self, client: Client, *, recent: int = 20) -> None:
        super().__init__(client)
        self._lock = threading.Lock()
        self._pending: Waiting[RefundIntent] = Waiting(self)
        self._emails: dict[str, str] = {}
        self.in_flight = False
        self.ignored_clicks = 0
        self.last_refund: Refund | None = None
        self.session = SessionLog()
        self._recent_count = recent
        self._charges: dict[str, Charge] = {}

        self.picker = W.Dropdown(description="Recent charge", options=[("—", "")])
        self.refresh_button = button("Refresh list", icon="refresh")
        self.charge_id = W.Text(description="or charge id", placeholder="ch_…")
        self.kind = W.ToggleButtons(options=[FULL, PARTIAL], value=FULL)
        self.amount = W.Text(description="Amount", placeholder="only for a partial refund")
        self.reason = W.Dropdown(description="Reason", options=list(REASONS))
        for control in (self.picker, self.charge_id, self.amount, self.reason):
            control.layout, control.style = _WIDE, _STYLE
        self.problems_area = W.HTML()
        self.review_button = button("Review refund", button_style="primary")
        self.summary = W.HTML()
        self.confirm_button = button("Refund", button_style="danger")
        self.edit_button = button("Edit")
        self.review_box = W.VBox(
            [self.summary, W.HBox([self.confirm_button, self.edit_button])],
            layout=W.Layout(
                display="none", border="1px solid #ccc", padding="4px 8px", width="640px"
            ),
        )
        self.review_box.add_class("bk-review")
        self.result = W.HTML()
        self.result.add_class("bk-result")
        self._duplicate: DuplicateQuestion[RefundIntent] = DuplicateQuestion(
            self, again="Refund again anyway", dont="Don't refund"
        )
        self.again_button = self._duplicate.again_button
        self.dont_button = self._duplicate.dont_button
        self.duplicate_box = self._duplicate.box
        self.table = W.HTML(self.session.html(refunds=True))
        self.recent_table = W.HTML(layout=W.Layout(overflow="auto", width="100%"))
        self.recent_table.add_class("bk-recent")

        self.picker.observe(self._handler(self._picked), names="value")
        self.kind.observe(self._handler(self._kind_changed), names="value")
        for control in (self.charge_id, self.amount):
            control.observe(self._handler(self._live_check), names="value")
        self.refresh_button.on_click(self._handler(self.refresh))
        self.review_button.on_click(self._handler(self.submit))
        self.confirm_button.on_click(self._handler(self.confirm))
        self.edit_button.on_click(self._handler(self.edit))
        self.again_button.on_click(self._handler(self.refund_again))
        self.dont_button.on_click(self._handler(self.cancel_duplicate))
        self._finish(
            "Refund a charge",
            [
                W.HBox([self.picker, self.refresh_button]),
                self.charge_id,
                self.kind,
                self.amount,
                self.reason,
                self.problems_area,
                self.review_button,
                self.review_box,
                self.result,
                self.duplicate_box,
                W.HTML("<b>This session's refunds</b>"),
                self.table,
                W.HTML("<b>Recent charges</b> (redrawn after each refund)"),
                self.recent_table,
            ],
        )
        self._kind_changed()
        self._handler(self.refresh)()

    def refresh(self) -> None:
        """Reload the recent charges: the picker offers only the refundable ones, the table all.

        Failed, disputed and fully refunded charges are left out of the picker, so they never
        reach the review step; the table below shows every recent charge with what is left.
        """
        charges = self.client.recent_charges(limit=100)
        self._emails = customer_emails(self.client, {c.customer for c in charges if c.customer})
        self._charges = {c.id: c for c in charges}
        refundable = [c for c in charges if not_refundable(c) is None][: self._recent_count]
        self.picker.options = [("—", "")] + [
            (_charge_label(c, self._customer_label(c)), c.id) for c in refundable
        ]
        self.recent_table.value = self._recent_html(charges[: self._recent_count])

    def _recent_html(self, charges: list[Charge]) -> str:
        if not charges:
            return "<i>No charges yet.</i>"
        head = ("Created (UTC)", "Charge", "Customer", "Amount", "Refunded", "Left", "Status")
        cell = "padding:2px 8px;white-space:nowrap"
        rows = []
        for c in charges:
            why = not_refundable(c)
            status = c.status + (" · disputed" if c.disputed else "")
            values = (
                f"{c.created:%Y-%m-%d %H:%M}", c.id, self._customer_label(c), str(c.amount),
                str(c.refunded_amount), "—" if why else _left(c), status,
            )  # fmt: skip
            tds = "".join(f"<td style='{cell}'>{esc(v)}</td>" for v in values)
            rows.append(f"<tr data-charge='{esc(c.id)}'>{tds}</tr>")
        ths = "".join(f"<th style='{cell};text-align:left'>{h}</th>" for h in head)
        return (
            f"<table class='bk-table' style='font-size:12px'><tr>{ths}</tr>{''.join(rows)}</table>"
        )

    def _customer_label(self, charge: Charge) -> str:
        if charge.customer is None:
            return "no customer"
        return self._emails.get(charge.customer, charge.customer)

    def _picked(self) -> None:
        if self.picker.value:
            self.charge_id.value = self.picker.value

    def _kind_changed(self) -> None:
        self.amount.disabled = self.kind.value == FULL
        self._live_check()

    @property
    def value(self) -> dict[str, str | None]:
        """What is chosen in the form right now (raw, before checking)."""
        return {
            "charge": self.charge_id.value,
            "kind": self.kind.value,
            "amount": self.amount.value if self.kind.value == PARTIAL else None,
            "reason": self.reason.value or None,
        }

    def _find_charge(self, charge_id: str) -> Charge:
        # Always asked afresh: another form, kernel or the dashboard may have refunded part of
        # it since the list was loaded, and the review must show what is really left.
        self._charges[charge_id] = self.client.get_charge(charge_id)
        return self._charges[charge_id]

    def problems(self, *, include_missing: bool = True) -> dict[str, str]:
        """Return a message per field that is wrong (no request is made)."""
        found: dict[str, str] = {}
        if include_missing or self.charge_id.value.strip():
            try:
                check_charge_id(self.charge_id.value)
            except ValueError as exc:
                found["charge"] = str(exc)
        if self.kind.value == PARTIAL and (include_missing or self.amount.value.strip()):
            charge = self._charges.get(self.charge_id.value.strip())
            currency = charge.amount.currency if charge is not None else "usd"
            try:
                minor = check_amount(self.amount.value, currency, refund=True)
            except ValueError as exc:
                found["amount"] = str(exc)
            else:
                left = charge.amount.minor - charge.refunded_amount.minor if charge else None
                if charge is not None and left is not None and minor > left:
                    found["amount"] = (
                        f"Amount {self.amount.value!r} is more than the "
                        f"{format_amount(left, currency)} still refundable on {charge.id}; "
                        "lower it or choose a full refund."
                    )
        return found

    def _live_check(self) -> None:
        self.problems_area.value = problems_html(self.problems(include_missing=False))

    def submit(self) -> RefundIntent | None:
        """Check the choices, look the charge up and show the review step."""
        problems = self.problems()
        self.problems_area.value = problems_html(problems)
        self.result.value = ""  # a new attempt: the previous outcome goes
        self.clear_error()
        self._duplicate.hide()
        if problems:
            return None
        charge = self._find_charge(check_charge_id(self.charge_id.value))
        why = not_refundable(charge)
        if why is not None:
            self.problems_area.value = problems_html({"charge": why})
            return None
        problems = self.problems()  # the charge's currency is known now
        self.problems_area.value = problems_html(problems)
        if problems:
            return None
        amount = None
        if self.kind.value == PARTIAL:
            amount = check_amount(self.amount.value, charge.amount.currency, refund=True)
        intent = RefundIntent(charge, amount, self.reason.value or None, self.mode)
        if not self._pending.put(intent, unless_busy=True):
            return None
        self.clear_error()
        self.summary.value = self._summary_html(intent)
        self.confirm_button.description = f"Refund {intent.amount_text}"
        self._show_review(True)
        return intent

    def _summary_html(self, intent: RefundIntent) -> str:
        charge = intent.charge
        who = self._customer_label(charge)
        reason = reason_words(intent.reason) or "No reason given"
        rows = [
            (
                "Refund",
                f"<b style='font-size:1.2em'>{esc(intent.amount_text)}</b>"
                f"{' (everything left)' if intent.amount is None else ''}",
            ),
            (
                "Of charge",
                f"<code>{esc(charge.id)}</code> for {esc(charge.amount)} "
                f"on {charge.created:%Y-%m-%d}",
            ),
            ("To", esc(who)),
            ("Already refunded", esc(charge.refunded_amount)),
            ("Left after this", esc(self._left_after(intent))),
            ("Reason", esc(reason)),
            ("Mode", f"<b>{esc(intent.mode.upper())}</b>"),
        ]
        body = "".join(
            f"<tr><th style='text-align:left;padding-right:12px'>{k}</th><td>{v}</td></tr>"
            for k, v in rows
        )
        return f"<div class='bk-summary'><p><b>Please check:</b></p><table>{body}</table></div>"

    @staticmethod
    def _left_after(intent: RefundIntent) -> str:
        taken = intent.refundable if intent.amount is None else intent.amount
        return format_amount(intent.refundable - taken, intent.charge.amount.currency)

    def _show_review(self, visible: bool) -> None:
        self.review_box.layout.display = "flex" if visible else "none"
        for control in (
            self.picker,
            self.refresh_button,
            self.charge_id,
            self.kind,
            self.reason,
            self.review_button,
        ):
            control.disabled = visible
        self.amount.disabled = visible or self.kind.value == FULL

    def edit(self) -> None:
        """Leave the review step without refunding."""
        if self._pending.put(None, unless_busy=True):
            self._show_review(False)

    def confirm(self) -> Refund | None:
        """Refund the reviewed charge once; a second click finds nothing to confirm."""
        intent = self._pending.take()
        return None if intent is None else self._execute(intent)

    def refund_again(self) -> Refund | None:
        """Answer "yes" to the duplicate question: refund the same amount again, once."""
        intent = self._duplicate.take()
        return None if intent is None else self._execute(intent)

    def cancel_duplicate(self) -> None:
        """Answer "no" to the duplicate question."""
        self._duplicate.refuse()
        self.result.value = message_html("Not refunded again.", ok=True)

    def _execute(self, intent: RefundIntent) -> Refund | None:
        self.confirm_button.disabled = self.edit_button.disabled = True
        self.again_button.disabled = True
        self.confirm_button.description = "Refunding…"
        self._duplicate.hide()
        self.result.value = ""
        self.clear_error()
        currency = intent.charge.amount.currency
        try:
            refund = self.client.refund(
                intent.charge.id,
                None if intent.amount is None else to_major(intent.amount, currency),
                reason=intent.reason,
                allow_duplicate=intent.allow_duplicate,
            )
        except DuplicateRefund as exc:
            self.result.value = ""
            self._duplicate.ask(
                replace(intent, allow_duplicate=True),
                f"{esc(exc.previous.amount)} was already refunded from {esc(intent.charge.id)} a "
                f"moment ago (refund {esc(exc.previous.id)}). Nothing new was refunded. "
                "Refund again anyway?",
            )
            return None
        finally:
            with self._lock:
                self.in_flight = False
            self.confirm_button.disabled = self.edit_button.disabled = False
            self.again_button.disabled = False
            self.confirm_button.description = "Refund"
            self._show_review(False)
        self.last_refund = refund
        self.result.value = message_html(
            f"✔ Refunded {refund.amount} of charge {intent.charge.id} — refund {refund.id} "
            f"({refund.status}).",
            ok=refund.status in {"succeeded", "pending"},
        )
        self.session.add(
            customer=self._customer_label(intent.charge),
            amount=str(refund.amount),
            paying_with=intent.charge.id,
            charge_id=refund.id,
            status=refund.status or "unknown",
            detail=reason_words(intent.reason),
        )
        self.table.value = self.session.html(refunds=True)
        self.amount.value = ""
        self._handler(self.refresh)()
        return refund
