"""The client: :func:`connect` and :class:`Client`, the object the rest of the API hangs off."""

from __future__ import annotations

import functools
import hashlib
import importlib
import logging
import re
import threading
import types
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from billing_kit._config import (
    SANDBOX_DEFAULT_SOURCE,
    STRIPE_API_BASE,
    Mode,
    Settings,
    resolve_settings,
)
from billing_kit._exceptions import ConfigurationError
from billing_kit._ledger import Ledger
from billing_kit._limits import parse_limits
from billing_kit._masking import KeyScrubbingFilter, mask_key
from billing_kit._reads import Reads
from billing_kit._retry import RetryPolicy, TokenBucket
from billing_kit._shared_sandbox import restarted
from billing_kit._transport import Transport, TransportStats
from billing_kit._validation import check_flag, is_finite_number

if TYPE_CHECKING:
    from stripe import StripeClient

    from billing_kit import _batch
    from billing_kit._models import Charge, Customer, Refund
    from billing_kit.history import _api
    from billing_kit.reconcile import _api as _reports_api
    from billing_kit.reconcile import _bank, _orders

__all__ = ["Client", "connect"]

log = logging.getLogger("billing_kit")

_RATE_LIMITS: dict[str, float] = {"sandbox": 25.0, "test": 25.0, "live": 100.0}


def _log_no_key(settings: Settings, url: str) -> None:
    """Say that no key was found, so the sandbox is used, and point out a misnamed variable."""
    log.info(
        "No Stripe key configured (STRIPE_API_KEY unset): using the local sandbox, mode=%s, url=%s",
        settings.mode,
        url,
    )
    for source in settings.near_misses:
        # Only the variable's name is shown: its value may be a real key.
        log.warning(
            "%s is set, but billing_kit reads the key from STRIPE_API_KEY: rename it to "
            "STRIPE_API_KEY to use Stripe instead of the local sandbox.",
            source,
        )


def _install_log_filters() -> None:
    # Stripe's debug log can echo request details; mask keys in any record of either logger.
    for name in ("billing_kit", "stripe"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, KeyScrubbingFilter) for f in logger.filters):
            logger.addFilter(KeyScrubbingFilter())


class _Method:
    """A function ``f(client, ...)`` of ``module`` as a method of :class:`Client`, imported when
    first looked up: ``client.f`` is that function bound to the client (its signature, without
    ``client``, and its docstring)."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, client: Client | None, owner: type | None = None) -> Any:
        function = getattr(importlib.import_module(self.module), self.name)
        return function if client is None else types.MethodType(function, client)


class Client:
    """A configured connection to Stripe (or the sandbox); create it with :func:`connect`.

    Attributes
    ----------
    mode
        ``"sandbox"``, ``"test"`` or ``"live"``.
    api_base
        Base URL requests go to (no trailing slash).
    home
        State folder (ledger, shared sandbox, caches).
    stripe
        A :class:`stripe.StripeClient` configured with the key, base URL and ``max_retries``
        (built, and stripe imported, on first use). Writes go through the client's own methods,
        which pace, retry under one idempotency key and record every attempt in :attr:`ledger`.
    reads
        The history loaders' GETs (:class:`billing_kit._reads.Reads`): the same key, base URL and
        timeout, without importing stripe before an answer needs it.
    ledger
        The :class:`~billing_kit.Ledger` of charge, capture and refund attempts.
    duplicate_window
        How long after a successful charge the same charge is refused as a duplicate.
    max_amount
        Largest amount of one charge per currency, in minor units (``{}``: no limits).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        api_base: str,
        max_retries: int = 4,
        rate_limit: float | None = None,
        duplicate_window: timedelta = timedelta(minutes=10),
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        timeout: float = 30.0,
        max_amount: Mapping[str, int] | None = None,
    ) -> None:
        self._settings = settings
        self.max_amount: dict[str, int] = dict(max_amount or {})
        self.mode: Mode = settings.mode
        self.api_base = api_base.rstrip("/")
        self.home = settings.home
        self.duplicate_window = duplicate_window
        self._api_key = settings.api_key
        self._timeout = timeout
        self._max_retries = max_retries
        self.rate_limit = rate_limit if rate_limit is not None else self.default_rate_limit
        # A 429 is a retry like any other for the client's own requests: ``max_retries`` caps
        # both (0 sends once), while history pulls allow more (see ``history._fetch``).
        self._policy = RetryPolicy(
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
            max_rate_limited=max_retries,
        )
        self._pacer = TokenBucket(self.rate_limit)
        self._stats = TransportStats()
        # stripe-python (a third of a second to import) is set up on first use: a history pull
        # reads through ``reads`` and sends its first request without it.
        self._stripe_lock = threading.Lock()
        self._stripe: StripeClient | None = None
        self._http_client: Any = None
        self.reads = Reads(
            self.api_base,
            settings.api_key,
            timeout=timeout,
            stripe_client=lambda: self.stripe,
            # The shared sandbox may stop when idle; a read that finds it gone restarts it.
            restart=(
                functools.partial(restarted, settings.home, self.api_base)
                if settings.start_sandbox
                else None
            ),
        )
        self.ledger = Ledger(
            self.home / "ledger.sqlite3", namespace=self.cache_namespace, mode=self.mode
        )
        # How long an unfinished attempt may still be in flight: every try of a request waits up
        # to ``timeout``, with backoff between tries; a charge may take two requests (attaching
        # a token, then charging). Until then another kernel must not give the attempt up.
        # Rate-limited tries answer at once (Stripe ran nothing) and add at most the same
        # backoffs again, which the factor of two covers.
        backoffs = sum(min(max_backoff, backoff * 2**n) for n in range(max_retries))
        self._in_flight_for = timedelta(seconds=2 * (timeout * (max_retries + 1) + backoffs))
        # A request the client stopped waiting for may still run at Stripe for about as long.
        self._answer_within = timedelta(seconds=timeout)

    def __repr__(self) -> str:
        return (
            f"<billing_kit.Client mode={self.mode!r} api_base={self.api_base!r} "
            f"key={self.masked_key!r}>"
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections (the client can still be garbage-collected without it)."""
        self.reads.close()
        with self._stripe_lock:
            http = self._http_client
        if http is not None:
            http.close()
        self.ledger.close()

    @property
    def stripe(self) -> StripeClient:
        """The :class:`stripe.StripeClient` for this key and base URL, built on first use."""
        with self._stripe_lock:
            if self._stripe is None:
                self._stripe = self._build_stripe()
            return self._stripe

    @property
    def _http(self) -> Any:
        """stripe-python's HTTP client (a ``stripe.RequestsClient``; with the shared sandbox, one
        that restarts it when it has stopped)."""
        self.stripe  # noqa: B018 - builds it
        return self._http_client

    def _build_stripe(self) -> StripeClient:
        import stripe

        if self._settings.start_sandbox:
            from billing_kit._shared_sandbox_http import SharedSandboxHttp

            self._http_client = SharedSandboxHttp(
                self._settings.home, self.api_base, timeout=self._timeout
            )
        else:
            self._http_client = stripe.RequestsClient(timeout=self._timeout)
        return stripe.StripeClient(
            self._api_key,
            base_addresses={"api": self.api_base},
            max_network_retries=self._max_retries,
            http_client=self._http_client,
        )

    @functools.cached_property
    def _transport(self) -> Transport:
        """The paced, retrying sender of the client's own requests (built with :attr:`stripe`)."""
        return Transport(self.stripe, policy=self._policy, pacer=self._pacer, stats=self._stats)

    @property
    def masked_key(self) -> str:
        """The API key as ``sk_test_…4242``."""
        return mask_key(self._api_key)

    @property
    def default_rate_limit(self) -> float:
        """Stripe's documented request rate for this mode: 25/s test and sandbox, 100/s live."""
        return _RATE_LIMITS[self.mode]

    @property
    def cache_namespace(self) -> str:
        """A stable, folder-safe id of account + mode + base URL, with no key material in it.

        The shared sandbox is one namespace per state folder. Otherwise the id names the mode and
        host and ends in a short one-way digest of the key, which tells accounts apart without
        revealing anything usable.
        """
        if self._settings.start_sandbox:
            return "sandbox-shared"
        host = urlsplit(self.api_base).netloc or self.api_base
        slug = re.sub(r"[^A-Za-z0-9]+", "-", host).strip("-").lower()
        digest = hashlib.sha256(self._api_key.encode()).hexdigest()[:12]
        return f"{self.mode}-{slug}-{digest}"

    @property
    def stats(self) -> TransportStats:
        """Request, attempt, retry and replay counters since the client was created."""
        return self._stats

    # Customers ---------------------------------------------------------------------------------

    def find_or_create_customer(self, email: str, *, name: str | None = None) -> Customer:
        """Return the customer with ``email`` (case-insensitive), creating it if needed.

        Never creates a second customer for an email this toolkit already created or found.

        >>> client.find_or_create_customer("Ada@Example.com")  # doctest: +SKIP
        Customer(id='cus_…', email='ada@example.com', name=None)
        """
        from billing_kit import _customers

        return _customers.find_or_create_customer(self, email, name=name)

    def customers(self, *, email: str | None = None, limit: int = 100) -> list[Customer]:
        """Return up to ``limit`` customers, newest first, optionally only those with ``email``."""
        from billing_kit import _customers

        return _customers.list_customers(self, email=email, limit=limit)

    def attach_payment_method(self, customer: Customer | str, payment_method: str) -> str:
        """Attach ``pm_…``/``tok_…`` to a customer (object, id or email); return the attached id.

        A PaymentMethod becomes the customer's default, used by :meth:`charge` when none is given.
        """
        from billing_kit import _customers

        return _customers.attach_payment_method(self, customer, payment_method)

    # Charges -----------------------------------------------------------------------------------

    def charge(
        self,
        customer: Customer | str,
        amount: object,
        currency: str,
        *,
        payment_method: str | None = None,
        source: str | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        capture: bool = True,
        api: Literal["payment_intents", "charges"] = "payment_intents",
        allow_duplicate: bool = False,
        idempotency_key: str | None = None,
    ) -> Charge:
        """Charge ``amount`` of ``currency`` to ``customer`` — once.

        Parameters
        ----------
        customer
            A :class:`Customer`, a ``cus_…`` id, or an email (found or created).
        amount
            ``5``, ``"5.00"``, ``"1,234.50"`` or a Decimal, in major units (see
            :func:`~billing_kit.parse_amount`).
        currency
            ISO code, e.g. ``"usd"``.
        payment_method
            ``pm_…`` (e.g. ``"pm_card_visa"``); default: the customer's default payment method.
        source
            ``tok_…``/``card_…`` for the legacy Charges API (``api="charges"``).
        description, metadata
            Shown in the dashboard; metadata values become strings.
        capture
            ``False`` authorises only; capture later with :meth:`capture`.
        api
            ``"payment_intents"`` (default, confirmed at once) or the legacy ``"charges"``.
        allow_duplicate
            Charge even if the same customer, amount, currency and description were charged
            within :attr:`duplicate_window`.
        idempotency_key
            Use this key instead of the ledger's choice (advanced).

        Returns
        -------
        Charge

        Raises
        ------
        InvalidAmount, InvalidArgument
            Rejected before anything was sent.
        DuplicateCharge
            The same charge succeeded within the window; ``.previous`` is that charge.
        CardDeclined
            With ``.decline_code``, ``.reason`` and the failed ``.charge_id``.
        StripeUnavailable, RateLimited
            Retries ran out; run the same call again: it reuses the same idempotency key.

        Examples
        --------
        >>> client.charge("ada@example.com", "12.50", "usd",
        ...               payment_method="pm_card_visa", description="Invoice 7")  # doctest: +SKIP
        """
        from billing_kit import _charges

        return _charges.charge(
            self,
            customer,
            amount,
            currency,
            payment_method=payment_method,
            source=source,
            description=description,
            metadata=metadata,
            capture=capture,
            api=api,
            allow_duplicate=allow_duplicate,
            idempotency_key=idempotency_key,
        )

    def capture(self, charge_or_id: Charge | str, amount: object = None) -> Charge:
        """Capture an auth-only charge (``capture=False``); ``amount`` captures part of it."""
        from billing_kit import _charges

        return _charges.capture(self, charge_or_id, amount)

    def refund(
        self,
        charge_or_id: Charge | str,
        amount: object = None,
        *,
        reason: str | None = None,
        allow_duplicate: bool = False,
    ) -> Refund:
        """Refund a charge in full, or ``amount`` of it.

        ``reason`` is ``"duplicate"``, ``"fraudulent"``, ``"requested_by_customer"`` or ``None``.
        The same refund within the duplicate window raises :class:`~billing_kit.DuplicateRefund`.
        """
        from billing_kit import _refunds

        return _refunds.refund(
            self, charge_or_id, amount, reason=reason, allow_duplicate=allow_duplicate
        )

    def get_charge(self, charge_id: str) -> Charge:
        """Return the current state of a charge by ``ch_…`` (or its PaymentIntent's ``pi_…``) id."""
        from billing_kit import _charges

        return _charges.get_charge(self, charge_id)

    def recent_charges(self, limit: int = 20) -> list[Charge]:
        """Return the account's ``limit`` most recent charges, newest first."""
        from billing_kit import _charges

        return _charges.recent_charges(self, limit)

    # The functions that take the client first, as its methods. One definition each (the
    # module function): the same keywords, types and docstring show in Jupyter's signature help
    # and to mypy. Imported on first use, so importing the client imports neither pandas nor the
    # reconciliation code.
    if TYPE_CHECKING:
        charges_frame = _api.charges_frame
        refunds_frame = _api.refunds_frame
        balance_transactions_frame = _api.balance_transactions_frame
        payouts_frame = _api.payouts_frame
        disputes_frame = _api.disputes_frame
        customers_frame = _api.customers_frame
        charge_batch = _batch.charge_batch
        balance_summary = _reports_api.balance_summary
        balance_activity = _reports_api.balance_activity
        payout_reconciliation = _reports_api.payout_reconciliation
        ending_balance_reconciliation = _reports_api.ending_balance_reconciliation
        reconcile_orders = _orders.reconcile_orders
        reconcile_bank = _bank.reconcile_bank
    else:
        charges_frame = _Method("billing_kit.history._api")
        refunds_frame = _Method("billing_kit.history._api")
        balance_transactions_frame = _Method("billing_kit.history._api")
        payouts_frame = _Method("billing_kit.history._api")
        disputes_frame = _Method("billing_kit.history._api")
        customers_frame = _Method("billing_kit.history._api")
        charge_batch = _Method("billing_kit._batch")  # docs/batch.md
        balance_summary = _Method("billing_kit.reconcile._api")  # docs/reconcile.md
        balance_activity = _Method("billing_kit.reconcile._api")
        payout_reconciliation = _Method("billing_kit.reconcile._api")
        ending_balance_reconciliation = _Method("billing_kit.reconcile._api")
        reconcile_orders = _Method("billing_kit.reconcile._orders")  # docs/reconcile-matching.md
        reconcile_bank = _Method("billing_kit.reconcile._bank")


def connect(
    api_key: str | None = None,
    *,
    api_base: str | None = None,
    allow_live: bool = False,
    home: str | Path | None = None,
    max_retries: int = 4,
    rate_limit: float | None = None,
    duplicate_window: timedelta = timedelta(minutes=10),
    backoff: float = 0.5,
    max_backoff: float = 8.0,
    timeout: float = 30.0,
    max_amount: Mapping[str, object] | None = None,
) -> Client:
    """Return a :class:`Client` for Stripe, or for the local sandbox when no key is configured.

    Parameters
    ----------
    api_key
        Secret or restricted key; default ``STRIPE_API_KEY`` or ``.env``. None anywhere: the
        shared sandbox under ``home`` is started (or reused) with the key ``"sk_test_sandbox"``.
    api_base
        Base URL; default ``STRIPE_API_BASE``, else Stripe's.
    allow_live
        Needed (or ``BILLING_KIT_ALLOW_LIVE=1``) to use a live key.
    home
        State folder; default ``BILLING_KIT_HOME``, else ``~/.billing_kit``.
    max_retries
        Retries after a connection error, 5xx, 409 or 429, under the same idempotency key.
    rate_limit
        Requests per second the client stays under; default 25 (test, sandbox) or 100 (live).
    duplicate_window
        A charge repeated within this time is refused unless ``allow_duplicate=True``.
    backoff, max_backoff
        First and longest wait between retries, in seconds (jittered).
    timeout
        Seconds to wait for each HTTP response.
    max_amount
        Optional largest amount of one charge per currency, e.g. ``{"usd": "500"}`` (parsed like
        any amount, exact); a larger charge raises :class:`InvalidAmount` before anything is
        sent, and the forms refuse it. Currencies not listed have no limit.

    Raises
    ------
    LiveModeNotAllowed
        A live key without ``allow_live=True``.
    ConfigurationError
        A malformed key or base URL, or an option out of range.

    Examples
    --------
    In a notebook, ``client = connect()`` is all it takes. Spelled out, against a private sandbox:

    >>> import tempfile
    >>> from billing_kit.sandbox import start
    >>> with tempfile.TemporaryDirectory() as home, start() as server:
    ...     with connect("sk_test_sandbox", api_base=server.url, home=home) as client:
    ...         charge = client.charge("ada@example.com", "12.50", "usd",
    ...                                payment_method="pm_card_visa", description="Invoice 7")
    ...         print(client.mode, charge.status, charge.amount, charge.brand, charge.last4)
    ...         client.ledger.frame()[["kind", "amount", "currency", "outcome"]]
    sandbox succeeded $12.50 visa 4242
             kind  amount currency    outcome
    attempt
    1      charge    1250      usd  succeeded
    """
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigurationError(f"max_retries must be an int ≥ 0, got {max_retries!r}.")
    if rate_limit is not None and not (is_finite_number(rate_limit) and rate_limit > 0):
        raise ConfigurationError(
            f"rate_limit must be a positive number of requests per second, got {rate_limit!r}; "
            "pass e.g. rate_limit=25, or None for Stripe's documented rate."
        )
    check_flag("allow_live", allow_live, error=ConfigurationError)
    if not isinstance(duplicate_window, timedelta) or duplicate_window < timedelta(0):
        raise ConfigurationError(
            f"duplicate_window must be a timedelta ≥ 0 such as timedelta(minutes=10), got "
            f"{duplicate_window!r}."
        )
    for name, value in (("backoff", backoff), ("max_backoff", max_backoff), ("timeout", timeout)):
        if not is_finite_number(value) or value < 0:
            raise ConfigurationError(f"{name} must be a number of seconds ≥ 0, got {value!r}.")
    limits = parse_limits(max_amount)
    settings = resolve_settings(api_key, api_base=api_base, allow_live=allow_live, home=home)
    base = settings.api_base
    if settings.start_sandbox:
        # The only place the client side imports the sandbox: to start or reuse it.
        from billing_kit.sandbox import ensure_shared

        try:
            base = ensure_shared(settings.home)
        except (RuntimeError, ValueError) as exc:  # ValueError: a bad idle time in the env
            raise ConfigurationError(
                f"No Stripe key is configured, and the local sandbox under {settings.home} did not "
                f"start: {exc}. Set STRIPE_API_KEY (or pass connect(api_key=...)) to use Stripe."
            ) from exc
    _install_log_filters()
    if settings.key_source == SANDBOX_DEFAULT_SOURCE:
        _log_no_key(settings, base or STRIPE_API_BASE)
    return Client(
        settings,
        api_base=base or STRIPE_API_BASE,
        max_retries=max_retries,
        rate_limit=rate_limit,
        duplicate_window=duplicate_window,
        backoff=backoff,
        max_backoff=max_backoff,
        timeout=timeout,
        max_amount=limits,
    )
