"""The HTTP client of a :func:`~billing_kit.connect` without a key: it brings the shared sandbox
back when it has stopped.

The shared sandbox stops by itself after a while without requests (``sandbox serve
--idle-minutes``), and ``billing-kit sandbox stop`` or ``reset`` stop it on purpose. A notebook
that connected earlier still holds the old URL; rather than failing its next click with "cannot
reach Stripe", the request finds the server gone, starts it again through ``ensure_shared`` (on the
same port when that is free) and is sent once more.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import stripe

__all__ = ["SharedSandboxHttp"]


class SharedSandboxHttp(stripe.RequestsClient):
    """A :class:`stripe.RequestsClient` that restarts the shared sandbox of ``home`` when needed.

    Parameters
    ----------
    home
        The state folder whose shared sandbox serves ``api_base``.
    api_base
        The URL the client was given (``http://127.0.0.1:PORT``).
    timeout
        Seconds to wait for each HTTP response.
    """

    def __init__(self, home: Path, api_base: str, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._home = home
        self._api_base = api_base.rstrip("/")

    # The signature of RequestsClient.request; stripe's base class annotates it differently.
    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        """Send the request; if the sandbox is gone, restart it and send it once more."""
        try:
            return super().request(method, url, headers, post_data)
        except stripe.APIConnectionError:
            # Only the sandbox's own lifecycle is handled here; anything else keeps its error.
            if not url.startswith(self._api_base) or not self._restarted():
                raise
        return super().request(method, url, headers, post_data)

    def _restarted(self) -> bool:
        """Start the shared sandbox again if it is down; return whether it now serves our URL.

        Raises
        ------
        stripe.APIConnectionError
            It restarted on another address (its port was taken meanwhile): this client cannot
            follow, so the message says to connect again.
        """
        from billing_kit.sandbox import ensure_shared
        from billing_kit.sandbox._lifecycle import healthy

        if healthy(self._api_base):
            return False  # up and answering: the failure was something else, keep its error
        url = ensure_shared(self._home)
        if url != self._api_base:
            raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                f"The local sandbox had stopped and now runs at {url} instead of "
                f"{self._api_base} (its port was taken); run billing_kit.connect() again.",
                should_retry=False,
            )
        return True
