"""What every form shares: the mode banner, the error area and the handler wrapper.

ipywidgets swallows exceptions raised in ``on_click``/``observe`` callbacks: outside a kernel it
logs them, inside JupyterLab it sends the traceback to the Log Console, where an analyst never
looks. Every handler of every form is therefore wrapped by :meth:`Form._handler`, which shows
the error *inside* the form."""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import ipywidgets as W

if TYPE_CHECKING:
    from billing_kit._client import Client

Mode = Literal["sandbox", "test", "live"]

# Colours chosen to be told apart at a glance; live is red because it moves real money.
_BANNER_STYLE: dict[str, tuple[str, str, str]] = {
    "sandbox": ("#1f5f8b", "SANDBOX", "local practice server: no real money moves"),
    "test": ("#b36b00", "TEST", "Stripe test mode: no real money moves"),
    "live": ("#b00020", "LIVE", "real cards are charged and real money moves"),
}

OK_COLOUR = "#1b7a1b"
BAD_COLOUR = "#b00020"


def esc(value: object) -> str:
    """Escape any value for safe inclusion in an HTML widget."""
    return html.escape(str(value), quote=True)


def mode_banner_html(mode: Mode, *, where: str = "") -> str:
    """Return the HTML of the coloured banner that names the mode.

    Parameters
    ----------
    mode
        ``"sandbox"``, ``"test"`` or ``"live"``.
    where
        Optional detail shown after the explanation (for example the API base URL).

    Examples
    --------
    >>> "LIVE" in mode_banner_html("live")
    True
    """
    colour, label, meaning = _BANNER_STYLE[mode]
    detail = f" &middot; {esc(where)}" if where else ""
    return (
        f'<div class="bk-banner bk-banner-{mode}" style="background:{colour};color:white;'
        f'padding:4px 10px;border-radius:4px;font-weight:bold">'
        f"{label}<span style='font-weight:normal'> &mdash; {esc(meaning)}{detail}</span></div>"
    )


def message_html(text: str, *, ok: bool) -> str:
    """Return a coloured one-line message (green when ``ok``, red otherwise)."""
    colour = OK_COLOUR if ok else BAD_COLOUR
    return f'<div style="color:{colour};font-weight:bold">{esc(text)}</div>'


def button(description: str, **options: Any) -> W.Button:
    """Return a button as wide as its label, so no label is ever cut off.

    ipywidgets gives every button a fixed width (148 px) and clips a longer label with "…";
    ``width: auto`` lets the label decide (labels change, e.g. "Charge €1,234.50").
    """
    return W.Button(
        description=description, layout=W.Layout(width="auto", min_width="90px"), **options
    )


def problems_html(problems: dict[str, str]) -> str:
    """Return the validation messages as a red list, or an empty string when there are none."""
    if not problems:
        return ""
    items = "".join(f"<li>{esc(text)}</li>" for text in problems.values())
    return f'<ul class="bk-problems" style="color:{BAD_COLOUR};margin:2px 0">{items}</ul>'


class Form:
    """Base class of the forms: owns the mode banner and the error area.

    Subclasses build their controls, then call :meth:`_finish` with their body to assemble
    :attr:`widget`. Displaying a form object in a notebook displays its widget tree.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self.mode: Mode = client.mode
        self.banner = W.HTML(mode_banner_html(self.mode, where=client.api_base))
        self.error_area = W.HTML("", layout=W.Layout(width="100%"))
        self.widget: W.VBox = W.VBox()
        self.last_error: BaseException | None = None

    def _finish(self, title: str, body: list[W.Widget]) -> None:
        heading = W.HTML(f"<h3 style='margin:4px 0'>{esc(title)}</h3>")
        self.widget.children = (self.banner, heading, *body, self.error_area)
        self.widget.add_class("bk-form")

    def _handler(self, action: Callable[[], object]) -> Callable[..., None]:
        """Wrap a form action as a widget callback that reports any error inside the form.

        ipywidgets passes the button or a change dict; the actions take no arguments, so the
        callback ignores what it is given.
        """

        def callback(*_args: Any) -> None:
            try:
                action()
            except Exception as exc:  # every error belongs in the form, not the Log Console
                self.show_error(exc)

        callback.__name__ = getattr(action, "__name__", "callback")
        return callback

    def show_error(self, exc: BaseException) -> None:
        """Show an error in the form's error area, with the traceback folded away."""
        self.last_error = exc
        trace = "".join(traceback.format_exception(exc))
        self.error_area.value = (
            f'<div class="bk-error" style="border:1px solid {BAD_COLOUR};padding:6px;'
            f'border-radius:4px"><b style="color:{BAD_COLOUR}">{esc(type(exc).__name__)}:</b> '
            f"{esc(exc)}<details><summary>technical details</summary>"
            f"<pre style='font-size:11px'>{esc(trace)}</pre></details></div>"
        )

    def clear_error(self) -> None:
        """Empty the error area."""
        self.last_error = None
        self.error_area.value = ""

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # Lets a notebook cell end with the form object itself.
        return self.widget._repr_mimebundle_(**kwargs)
