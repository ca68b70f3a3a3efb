"""stripe-python's HTTP client for a :func:`~billing_kit.connect` without a key: it brings the
shared sandbox back when it has stopped (see :mod:`billing_kit._shared_sandbox`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import stripe

from billing_kit._shared_sandbox import SandboxMoved, restarted

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
        try:
            return restarted(self._home, self._api_base)
        except SandboxMoved as exc:
            raise stripe.APIConnectionError(str(exc), should_retry=False) from None  # type: ignore[no-untyped-call]
