"""Sandbox-only endpoints under ``/v1/_sandbox/`` (not part of Stripe's API)."""

from __future__ import annotations

from typing import Any

from billing_kit.sandbox import _params
from billing_kit.sandbox._context import LATEST, Clock, Ctx
from billing_kit.sandbox._errors import invalid
from billing_kit.sandbox._store import SCHEMA_VERSION


def health(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/_sandbox/health`` (no key needed): used by ``ensure_shared`` to find a live
    server.
    """
    return {"object": "sandbox_health", "ok": True, "schema_version": SCHEMA_VERSION}


def _clock(ctx: Ctx) -> Clock:
    assert ctx.clock is not None
    return ctx.clock


def get_clock(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/_sandbox/clock``."""
    _params.allow(params, ())
    return {"object": "sandbox_clock", "now": _clock(ctx).now()}


def set_clock(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/_sandbox/clock`` with ``advance=<seconds>`` or ``now=<unix time>``.

    Every check runs before the clock moves, so a refused request leaves it where it was. The clock
    stays within ``0 .. LATEST`` (2200-01-01): beyond that, timestamps the sandbox stores would
    overflow 64-bit integers or the datetimes clients read them into.
    """
    _params.allow(params, {"advance", "now"})
    clock = _clock(ctx)
    advance = _bounded(params, "advance", LATEST - clock.now(), "seconds to move forward")
    when = _bounded(params, "now", LATEST, "unix time")
    if (advance is None) == (when is None):
        raise invalid("Pass exactly one of advance (seconds) or now (unix time).", param="advance")
    now = clock.advance(advance) if advance is not None else clock.set(float(when or 0))
    return {"object": "sandbox_clock", "now": now}


def _bounded(params: dict[str, Any], name: str, maximum: int, what: str) -> int | None:
    value = _params.integer(params, name, minimum=0)
    if value is not None and value > maximum:
        raise invalid(
            f"Invalid {name}: {value} ({what}) would put the sandbox clock past {LATEST} "
            f"(2200-01-01T00:00:00Z); pass a {name} of at most {max(maximum, 0)}.",
            param=name,
            code="parameter_invalid_integer",
        )
    return value
