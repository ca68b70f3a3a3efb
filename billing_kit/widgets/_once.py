"""Doing a confirmed operation once: the waiting slot and the "again anyway?" question.

Disabling a button is only feedback: a fast double click queues two click messages before the
browser learns the button is disabled, and the kernel then runs the handler twice. So each form
keeps the operation that waits for a click in a :class:`Waiting` slot, which hands it out at
most once, under the form's lock, and never while another request of the form is in flight.

The core refuses a repeat of the same charge or refund within the client's duplicate window
(:class:`~billing_kit.DuplicateCharge`, :class:`~billing_kit.DuplicateRefund`); a form turns
that refusal into a :class:`DuplicateQuestion`, whose "yes" is guarded the same way."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

import ipywidgets as W

from billing_kit.widgets._form import button

IntentT = TypeVar("IntentT")


class Guarded(Protocol):
    """What a slot needs of its form: the lock and the state it guards."""

    _lock: threading.Lock
    in_flight: bool
    ignored_clicks: int


class Waiting(Generic[IntentT]):
    """The operation of one form that waits for a click, handed out at most once.

    Parameters
    ----------
    form
        The form whose lock, ``in_flight`` flag and ``ignored_clicks`` count guard the slot.
    """

    def __init__(self, form: Guarded) -> None:
        self._form = form
        self._intent: IntentT | None = None

    @property
    def intent(self) -> IntentT | None:
        """The waiting operation, or ``None``."""
        return self._intent

    def put(self, intent: IntentT | None, *, unless_busy: bool = False) -> bool:
        """Make ``intent`` the waiting operation (``None`` empties the slot).

        With ``unless_busy``, nothing changes while a request is in flight; returns whether the
        slot was set.
        """
        with self._form._lock:
            if unless_busy and self._form.in_flight:
                return False
            self._intent = intent
            return True

    def take(self, *, ready: Callable[[IntentT], bool] | None = None) -> IntentT | None:
        """Hand out the waiting operation once, and mark the form in flight.

        Returns ``None`` (and counts an ignored click) when nothing waits, because it was
        already taken or dropped, or while another request is in flight. ``ready`` is asked
        last, under the lock; when it says no, the operation stays and ``None`` is returned.
        """
        form = self._form
        with form._lock:
            intent = self._intent
            if intent is None or form.in_flight:
                form.ignored_clicks += 1
                return None
            if ready is not None and not ready(intent):
                return None
            self._intent = None
            form.in_flight = True
        return intent


class DuplicateQuestion(Generic[IntentT]):
    """The question box of one form, holding the repeat that waits for an answer.

    Parameters
    ----------
    form
        The form whose lock, ``in_flight`` flag and ``ignored_clicks`` count guard the answer.
    again
        Label of the "yes" button, e.g. ``"Charge again anyway"``.
    dont
        Label of the "no" button, e.g. ``"Don't charge"``.
    """

    def __init__(self, form: Guarded, *, again: str, dont: str) -> None:
        self._waiting: Waiting[IntentT] = Waiting(form)
        self.text = W.HTML()
        self.again_button = button(again, button_style="warning")
        self.dont_button = button(dont)
        self.box = W.VBox(
            [self.text, W.HBox([self.again_button, self.dont_button])],
            layout=W.Layout(display="none"),
        )

    def ask(self, intent: IntentT, question_html: str) -> None:
        """Keep ``intent`` for a "yes" and show the question (``question_html`` is escaped HTML)."""
        self._waiting.put(intent)
        self.text.value = (
            "<div class='bk-duplicate' style='color:#8a5a00'><b>Possible duplicate.</b> "
            f"{question_html}</div>"
        )
        self.box.layout.display = "flex"

    def take(self) -> IntentT | None:
        """Answer "yes": hand out the waiting repeat once (see :meth:`Waiting.take`)."""
        return self._waiting.take()

    def refuse(self) -> None:
        """Answer "no": forget the waiting repeat and hide the question."""
        self._waiting.put(None)
        self.hide()

    def hide(self) -> None:
        """Hide the question box (the waiting repeat, if any, stays)."""
        self.box.layout.display = "none"
