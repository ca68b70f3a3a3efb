"""History reads without stripe-python: one GET of a Stripe list or object, by the standard library.

A history pull sends nothing but GETs, and stripe-python costs about a third of a second of CPU to
import (stripe 16 imports requests, httpx and asyncio for its HTTP clients) before the first one
could leave. :class:`Reads` sends them with the standard library's :mod:`http.client`: measured
in a fresh interpreter (CPU over a bare ``python -c pass``), ``import http.client`` costs ~0.04 s,
``urllib3`` ~0.15 s, ``requests`` ~0.23 s and ``httpx`` ~0.22 s, and the GETs need nothing more
than a small pool of kept-alive connections.

What is sent is what stripe-python sends for a GET:

- ``Authorization: Bearer <key>`` (https://docs.stripe.com/api/authentication);
- ``Stripe-Version``: the version stripe-python pins, read from its package without importing it
  (:func:`pinned_api_version`), so a read answers in the same shape as a write
  (https://docs.stripe.com/api/versioning). The client sets no ``Stripe-Account``
  (https://docs.stripe.com/api/connected-accounts), so none is sent;
- the query encoded as stripe-python encodes it (:func:`encode_query`: ``expand[0]=...``,
  ``created[gte]=...``, booleans as ``true``/``false``);
- ``Accept-Encoding: gzip`` as requests sends it, and a ``User-Agent`` naming billing_kit.

Connections are kept alive in a small pool (one per worker at a time), TLS is verified against
the certificate bundle stripe-python ships (the system's when it is absent), and the timeout is
the client's. When the environment names a proxy for the API's host (``HTTPS_PROXY`` ...), reads
go through stripe-python as before, since requests knows how to use it.

A failure raises what stripe-python would raise, so :class:`~billing_kit._retry.RetryPolicy` and
:func:`~billing_kit._stripe_errors.map_stripe_error` work unchanged; stripe is imported then. An
answer that is not 2xx becomes the error class Stripe documents for its status
(https://docs.stripe.com/api/errors: 400 and 404 ``InvalidRequestError``, 401
``AuthenticationError``, 402 ``CardError``, 403 ``PermissionError``, 429 ``RateLimitError``,
else ``APIError``), with the same status, headers, body, code and param; a connection that fails
becomes ``APIConnectionError`` (retryable unless the certificate check failed). With the shared
sandbox, a refused connection first restarts it (:func:`billing_kit._shared_sandbox.restarted`).
The key is only ever in the ``Authorization`` header: never in a repr, a log line or an error.
"""

from __future__ import annotations

import functools
import http.client
import importlib.util
import json
import re
import select
import ssl
import sys
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from billing_kit import __version__

if TYPE_CHECKING:
    import stripe

__all__ = ["Reads", "encode_query", "pinned_api_version", "stripe_error"]

_CONNECTION_ERRORS = (OSError, http.client.HTTPException)


def _stripe_package() -> Path | None:
    """The folder of the installed stripe package, found without importing it."""
    spec = importlib.util.find_spec("stripe")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def pinned_api_version() -> str:
    """The API version stripe-python pins (``stripe._api_version._ApiVersion.CURRENT``).

    Read from the package's file, as importing stripe would cost what this module saves.
    """
    folder = _stripe_package()
    if folder is not None:
        try:
            found = re.search(
                r'^\s*CURRENT\s*=\s*"([^"]+)"', (folder / "_api_version.py").read_text(), re.M
            )
        except OSError:
            found = None
        if found:
            return found.group(1)
    from stripe._api_version import _ApiVersion  # an unusual install: ask stripe itself

    return _ApiVersion.CURRENT


def _pairs(key: str, value: Any) -> Iterator[tuple[str, Any]]:
    if value is None:
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            name = f"{key}[{index}]"
            if isinstance(item, Mapping):
                yield from _pairs(name, item)
            elif isinstance(item, list | tuple):
                yield from _pairs(name, dict(enumerate(item)))
            else:
                yield name, item  # as stripe-python: list items are not turned into "true"
    elif isinstance(value, Mapping):
        for sub, item in value.items():
            yield from _pairs(f"{key}[{sub}]", item)
    elif isinstance(value, bool):
        yield key, str(value).lower()
    elif isinstance(value, str | int | float):
        yield key, value
    else:
        raise TypeError(f"history query parameter {key!r} has an unsupported type {type(value)}")


def encode_query(params: Mapping[str, Any]) -> str:
    """The query string stripe-python sends for ``params``: form encoding, nested keys and list
    items in brackets (https://docs.stripe.com/api/expanding_objects,
    https://docs.stripe.com/api/pagination).

    Examples
    --------
    >>> encode_query({"limit": 100, "created": {"gte": 1, "lt": 2}, "expand": ["data.customer"]})
    'limit=100&created%5Bgte%5D=1&created%5Blt%5D=2&expand%5B0%5D=data.customer'
    """
    pairs = [pair for key, value in params.items() for pair in _pairs(key, value)]
    # stripe-python turns %5B/%5D back into brackets, and urllib3 (under requests) encodes them
    # again before sending, as it must (RFC 3986 does not allow them in a query): on the wire,
    # the brackets are percent-encoded.
    return urlencode(pairs)


def stripe_error(status: int, headers: Mapping[str, str], body: bytes) -> stripe.StripeError:
    """The error stripe-python raises for an answer with HTTP ``status`` (not 2xx), or for a 2xx
    body that is not JSON (https://docs.stripe.com/api/errors)."""
    import stripe
    from requests.structures import CaseInsensitiveDict  # what stripe's RequestsClient hands on

    rheaders: Any = CaseInsensitiveDict(headers)
    text: str | bytes = body
    try:
        text = rbody = body.decode("utf-8")
        resp = json.loads(rbody)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        # stripe-python's arguments, json_body=headers included.
        return stripe.APIError(
            f"Invalid response body from API: {text!s} (HTTP response code was {status})",
            body,
            status,
            rheaders,
        )
    error = resp.get("error") if isinstance(resp, dict) else None
    if not isinstance(error, Mapping):
        return stripe.APIError(
            f"Invalid response object from API: {rbody!r} (HTTP response code was {status})",
            rbody,
            status,
            resp,
            rheaders,
        )
    message, param, code = error.get("message"), error.get("param"), error.get("code")
    args = (rbody, status, resp, rheaders)
    # The same constructors, with the same arguments, as stripe-python's v1 error handling.
    if status == 429 or (status == 400 and code == "rate_limit"):
        return stripe.RateLimitError(message, *args)
    if status in (400, 404):
        if error.get("type") == "idempotency_error":
            return stripe.IdempotencyError(message, *args)
        return stripe.InvalidRequestError(message, param, code, *args)  # type: ignore[no-untyped-call]
    if status == 401:
        return stripe.AuthenticationError(message, *args)
    if status == 402:
        return stripe.CardError(message, param, code, *args)  # type: ignore[no-untyped-call]
    if status == 403:
        return stripe.PermissionError(message, *args)
    return stripe.APIError(message, *args)


class Reads:
    """GETs against one API base with one key; thread-safe (a pool of kept-alive connections).

    Parameters
    ----------
    api_base
        ``https://api.stripe.com`` or the sandbox's ``http://127.0.0.1:PORT``.
    api_key
        The secret or restricted key (kept only in the ``Authorization`` header).
    timeout
        Seconds to wait to connect and for each read, as the client's stripe-python client does.
    stripe_client
        Returns the client's :class:`stripe.StripeClient`: reads go through it when a proxy is
        configured for the host.
    restart
        Called when a connection fails: restart the shared sandbox, return whether the request
        may be sent again (``None``: not the shared sandbox).
    """

    def __init__(
        self,
        api_base: str,
        api_key: str,
        *,
        timeout: float,
        stripe_client: Callable[[], stripe.StripeClient],
        restart: Callable[[], bool] | None = None,
    ) -> None:
        parts = urlsplit(api_base)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._stripe_client = stripe_client
        self._restart = restart
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Stripe-Version": pinned_api_version(),
            "User-Agent": f"billing_kit/{__version__} (history reads; Python "
            f"{sys.version_info.major}.{sys.version_info.minor} http.client)",
            "Accept-Encoding": "gzip",
        }
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._proxied = _proxy_configured(api_base)
        self._context: ssl.SSLContext | None = None
        #: Set once a request has been sent (the history loaders import what frames the answers
        #: while the first one is out, :func:`billing_kit.history._loaders.warm_up`).
        self.sent = threading.Event()

    def __repr__(self) -> str:
        scheme = "https" if self._https else "http"
        return f"<billing_kit Reads {scheme}://{self._host}:{self._port}{self._prefix}>"

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> str | bytes:
        """GET ``path`` with ``params`` once; return the JSON body as sent.

        Raises
        ------
        stripe.StripeError
            What stripe-python raises for the same answer or connection failure.
        """
        if self._proxied:
            self.sent.set()
            response = self._stripe_client().raw_request(
                "get", path, **dict(params or {}), max_network_retries=0
            )
            body: str | bytes = response.body
            return body
        query = encode_query(params or {})
        target = f"{self._prefix}{path}" + (f"?{query}" if query else "")
        try:
            status, headers, content = self._send(target)
        except _CONNECTION_ERRORS as exc:
            if not self._restarted():
                raise self._connection_error(exc) from None
            try:
                status, headers, content = self._send(target)
            except _CONNECTION_ERRORS as again:
                raise self._connection_error(again) from None
        if 200 <= status < 300 and content.lstrip()[:1] == b"{":
            return content
        raise stripe_error(status, headers, content)

    def close(self) -> None:
        """Close the idle connections (a connection in use is closed when it is handed back)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _send(self, target: str) -> tuple[int, dict[str, str], bytes]:
        connection = self._take()
        try:
            connection.request("GET", target, headers=self._headers)
            self.sent.set()
            response = connection.getresponse()
            content = response.read()
        except BaseException:
            connection.close()
            raise
        headers = dict(response.getheaders())
        if response.will_close:
            connection.close()
        else:
            with self._lock:
                self._idle.append(connection)
        encoding = response.getheader("Content-Encoding", "").lower()
        if encoding == "gzip":
            content = zlib.decompress(content, 16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            content = zlib.decompress(content)
        return response.status, headers, content

    def _take(self) -> http.client.HTTPConnection:
        """An idle connection the server has not closed meanwhile, or a new one."""
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                break
            sock = connection.sock
            if sock is not None and not _readable(sock):
                return connection
            connection.close()
        if self._https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=self._tls()
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def _tls(self) -> ssl.SSLContext:
        """A verifying TLS context, with stripe-python's certificate bundle when it has one."""
        if self._context is None:
            folder = _stripe_package()
            bundle = folder / "data" / "ca-certificates.crt" if folder else None
            cafile = str(bundle) if bundle is not None and bundle.is_file() else None
            self._context = ssl.create_default_context(cafile=cafile)
        return self._context

    def _restarted(self) -> bool:
        if self._restart is None:
            return False
        from billing_kit._shared_sandbox import SandboxMoved

        try:
            return self._restart()
        except SandboxMoved as exc:
            import stripe

            raise stripe.APIConnectionError(str(exc), should_retry=False) from None  # type: ignore[no-untyped-call]

    def _connection_error(self, exc: BaseException) -> stripe.APIConnectionError:
        """The error stripe-python's RequestsClient raises for a failed connection; the host,
        port and the system's reason are in the text, where ``map_stripe_error`` finds them."""
        import stripe

        where = f"(host='{self._host}', port={self._port})"
        errno, reason = getattr(exc, "errno", None), getattr(exc, "strerror", None)
        detail = f"[Errno {errno}] {reason}" if errno is not None and reason else repr(exc)
        if isinstance(exc, ssl.SSLError | ssl.CertificateError):
            message = (
                "Could not verify Stripe's SSL certificate. Please make sure that your network "
                "is not intercepting certificates."
            )
            retry = False
        elif isinstance(exc, TimeoutError):
            message, retry = "Request to Stripe timed out.", True
        else:
            message, retry = "Unexpected error communicating with Stripe.", True
        return stripe.APIConnectionError(  # type: ignore[no-untyped-call]
            f"{message}\n\n(Network error: {type(exc).__name__} {where}: {detail})",
            should_retry=retry,
        )


def _readable(sock: Any) -> bool:
    """Whether an idle connection's socket has something to read: the server closed it (or sent
    what nobody asked for), so it cannot carry another request. ``poll`` where there is one:
    ``select`` refuses descriptors above 1023, which a busy kernel may hand out."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([sock], [], [], 0)[0])


def _proxy_configured(api_base: str) -> bool:
    """Whether requests would send to ``api_base`` through a proxy (environment or system)."""
    import urllib.request

    host = urlsplit(api_base).hostname or ""
    scheme = urlsplit(api_base).scheme
    proxies = urllib.request.getproxies()
    if not (proxies.get(scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(host)
