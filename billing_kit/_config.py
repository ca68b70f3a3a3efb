"""Where the key, base URL and state folder come from, and which mode that makes.

Resolution order, first found wins:

- key: ``api_key`` argument, ``STRIPE_API_KEY``, ``STRIPE_API_KEY`` in ``./.env``; none → sandbox;
- base URL: ``api_base`` argument, ``STRIPE_API_BASE``, ``.env``; else Stripe's, or the
  shared sandbox;
- state folder: ``home`` argument, ``BILLING_KIT_HOME``, ``.env``, else ``~/.billing_kit``;
- live keys need ``allow_live=True`` or ``BILLING_KIT_ALLOW_LIVE=1`` (environment or ``.env``).

``.env`` is read with python-dotenv's ``dotenv_values``, which returns a dict and leaves
``os.environ`` alone: loading a notebook's key must not leak it into every subprocess.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values

from billing_kit._exceptions import ConfigurationError, LiveModeNotAllowed
from billing_kit._masking import mask_key, scrub

__all__ = [
    "NEAR_MISS_VARIABLES",
    "SANDBOX_DEFAULT_SOURCE",
    "SANDBOX_KEY",
    "STRIPE_API_BASE",
    "Mode",
    "Settings",
    "detect_mode",
    "mask_key",
    "read_dotenv",
    "resolve_settings",
    "scrub",
]

Mode = Literal["sandbox", "test", "live"]

SANDBOX_KEY = "sk_test_sandbox"
"""The key the client uses with the local sandbox; not a secret."""

STRIPE_API_BASE = "https://api.stripe.com"

SANDBOX_DEFAULT_SOURCE = "sandbox default"
"""``Settings.key_source`` when no key was configured anywhere."""

# Names people set by mistake instead of STRIPE_API_KEY (reported by name only, never by value).
NEAR_MISS_VARIABLES = ("STRIPE_SECRET_KEY", "STRIPE_KEY", "STRIPE_API_TOKEN")

_KEY_SHAPE = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9]+$")
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class Settings:
    """The resolved configuration of one client.

    ``start_sandbox`` is ``True`` when no key was found anywhere and no base URL was given: the
    client must start (or reuse) the shared sandbox and learn its URL.
    """

    api_key: str
    api_base: str | None
    home: Path
    mode: Mode
    start_sandbox: bool
    key_source: str
    near_misses: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"Settings(mode={self.mode!r}, api_base={self.api_base!r}, "
            f"key={mask_key(self.api_key)!r}, home={str(self.home)!r})"
        )


def read_dotenv(directory: Path | None = None) -> dict[str, str]:
    """Return the variables of ``.env`` in ``directory`` (default: the working directory).

    Nothing is written to ``os.environ``. A missing file gives an empty dict.
    """
    path = (directory or Path.cwd()) / ".env"
    if not path.is_file():
        return {}
    return {name: value for name, value in dotenv_values(path).items() if value is not None}


def detect_mode(api_key: str, *, sandbox: bool) -> Mode:
    """Return the mode for a key: ``"live"`` for live keys, else ``"sandbox"``/``"test"``.

    >>> detect_mode("sk_test_sandbox", sandbox=False), detect_mode("sk_live_x", sandbox=False)
    ('sandbox', 'live')
    """
    if "_live_" in api_key[:8]:
        return "live"
    if sandbox or api_key == SANDBOX_KEY:
        return "sandbox"
    return "test"


def _lookup(name: str, environ: Mapping[str, str], dotenv: Mapping[str, str]) -> tuple[str, str]:
    """Return (value, source) from the environment, then ``.env``; ("", "") when unset."""
    value = environ.get(name, "").strip()
    if value:
        return value, f"${name}"
    value = dotenv.get(name, "").strip()
    if value:
        return value, f".env {name}"
    return "", ""


def resolve_settings(
    api_key: str | None = None,
    *,
    api_base: str | None = None,
    allow_live: bool = False,
    home: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve key, base URL, state folder and mode; refuse live keys unless allowed.

    Raises
    ------
    ConfigurationError
        The key is not shaped like a Stripe secret or restricted key, or the base URL is not HTTP.
    LiveModeNotAllowed
        A live key without ``allow_live=True`` or ``BILLING_KIT_ALLOW_LIVE=1``.
    """
    env = os.environ if environ is None else environ
    dotenv = read_dotenv(cwd)

    key, key_source = (
        (api_key.strip(), "argument") if api_key else _lookup("STRIPE_API_KEY", env, dotenv)
    )
    base = api_base or _lookup("STRIPE_API_BASE", env, dotenv)[0] or None
    if base is not None:
        base = base.rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"API base {base!r} is not an http(s) URL; pass e.g. 'http://127.0.0.1:12111' "
                "or leave it unset for Stripe's own API."
            )

    home_value = str(home) if home is not None else _lookup("BILLING_KIT_HOME", env, dotenv)[0]
    state = Path(home_value).expanduser() if home_value else Path.home() / ".billing_kit"
    if state.exists() and not state.is_dir():
        raise ConfigurationError(
            f"home={str(state)!r} is a file, not a folder: billing_kit keeps its ledger and caches "
            "in a folder there. Pass connect(home=...) (or set BILLING_KIT_HOME to) a folder path, "
            "new or existing."
        )

    start_sandbox = False
    near_misses: tuple[str, ...] = ()
    if not key:
        near_misses = tuple(
            source for name in NEAR_MISS_VARIABLES if (source := _lookup(name, env, dotenv)[1])
        )
        # No key anywhere: the local sandbox. With an explicit base we trust it is a sandbox too.
        key, key_source = SANDBOX_KEY, SANDBOX_DEFAULT_SOURCE
        start_sandbox = base is None
    elif key.startswith("pk_"):
        raise ConfigurationError(
            f"Key {mask_key(key)!r} ({key_source}) is a publishable key, which cannot create "
            "charges; use the secret key (sk_test_…) from the Stripe dashboard."
        )
    elif not _KEY_SHAPE.match(key):
        raise ConfigurationError(
            f"API key {mask_key(key)!r} ({key_source}) does not look like a Stripe secret "
            "key; expected 'sk_test_…', 'rk_test_…' or a live equivalent."
        )

    mode = detect_mode(key, sandbox=start_sandbox)
    if mode == "live":
        env_allows = _lookup("BILLING_KIT_ALLOW_LIVE", env, dotenv)[0].lower() in _TRUE
        if not (allow_live or env_allows):
            raise LiveModeNotAllowed(
                f"Refusing to use the live key {mask_key(key)} ({key_source}): it moves real "
                "money. Use a test key (sk_test_…) or the sandbox (no key) to experiment, or "
                "pass connect(allow_live=True) / set BILLING_KIT_ALLOW_LIVE=1 if you mean it."
            )
    return Settings(
        api_key=key,
        api_base=base,
        home=state,
        mode=mode,
        start_sandbox=start_sandbox,
        key_source=key_source,
        near_misses=near_misses,
    )
