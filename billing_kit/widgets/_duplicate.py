"""The "do it again anyway?" question a form asks when the core reports a duplicate.

The core refuses a repeat of the same charge or refund within the client's duplicate window
(:class:`~billing_kit.DuplicateCharge`, :class:`~billing_kit.DuplicateRefund`). A form turns that
refusal into a question with two buttons. The "yes" answer is guarded like the form's confirm
button: it takes the waiting operation under the form's lock, so a double click on it repeats
the operation once."""

from __future__ import annotations

import threading
from typing import Generic, Protocol, TypeVar

import ipywidgets as W

IntentT = TypeVar("IntentT")


class Guarded(Protocol):
    """What the question needs of its form: the lock and the state it guards."""

    _lock: threading.Lock
    in_flight: bool
    ignored_clicks: int


class DuplicateQuestion(Generic[IntentT]):
    """The question box of one form, holding the operation that waits for an answer.

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
        self._form = form
        self._waiting: IntentT | None = None
        self.text = W.HTML()
        self.again_button = W.Button(description=again, button_style="warning")
        self.dont_button = W.Button(description=dont)
        self.box = W.VBox(
            [self.text, W.HBox([self.again_button, self.dont_button])],
            layout=W.Layout(display="none"),
        )

    def ask(self, intent: IntentT, question_html: str) -> None:
        """Keep ``intent`` for a "yes" and show the question (``question_html`` is escaped HTML)."""
        with self._form._lock:
            self._waiting = intent
        self.text.value = (
            "<div class='bk-duplicate' style='color:#8a5a00'><b>Possible duplicate.</b> "
            f"{question_html}</div>"
        )
        self.box.layout.display = "flex"

    def take(self) -> IntentT | None:
        """Answer "yes": return the waiting operation once, and mark the form in flight.

        Returns ``None`` (and counts an ignored click) when nothing waits, because it was
        already taken or refused, or while another request is in flight.
        """
        form = self._form
        with form._lock:
            intent = self._waiting
            if intent is None or form.in_flight:
                form.ignored_clicks += 1
                return None
            self._waiting = None
            form.in_flight = True
        return intent

    def refuse(self) -> None:
        """Answer "no": forget the waiting operation and hide the question."""
        with self._form._lock:
            self._waiting = None
        self.hide()

    def hide(self) -> None:
        """Hide the question box (the waiting operation, if any, stays)."""
        self.box.layout.display = "none"
