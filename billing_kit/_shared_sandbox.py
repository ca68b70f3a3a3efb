"""Bringing the shared sandbox back when it has stopped, for whichever HTTP client found it gone.

The shared sandbox stops by itself after a while without requests (``sandbox serve
--idle-minutes``), and ``billing-kit sandbox stop`` or ``reset`` stop it on purpose. A notebook
that connected earlier still holds the old URL; rather than failing its next click with "cannot
reach Stripe", the request finds the server gone, starts it again through ``ensure_shared`` (on the
same port when that is free) and is sent once more. Two clients do that: stripe-python's, for the
client's writes (:class:`billing_kit._shared_sandbox_http.SharedSandboxHttp`), and the history read
path (:mod:`billing_kit._reads`); both call :func:`restarted`, which imports neither stripe nor the
sandbox until a request has failed.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SandboxMoved", "restarted"]


class SandboxMoved(ConnectionError):
    """The shared sandbox restarted on another address: the client must connect again."""


def restarted(home: Path, api_base: str) -> bool:
    """Start the shared sandbox of ``home`` again if it is down; return whether it now serves
    ``api_base`` (``False``: it was up all along, so the failure was something else).

    Raises
    ------
    SandboxMoved
        It restarted on another address (its port was taken meanwhile): this client cannot
        follow, so the message says to connect again.
    """
    from billing_kit.sandbox import ensure_shared
    from billing_kit.sandbox._lifecycle import healthy

    api_base = api_base.rstrip("/")
    if healthy(api_base):
        return False  # up and answering: the failure was something else, keep its error
    url = ensure_shared(home)
    if url != api_base:
        raise SandboxMoved(
            f"The local sandbox had stopped and now runs at {url} instead of {api_base} (its port "
            f"was taken); run billing_kit.connect() again."
        )
    return True
