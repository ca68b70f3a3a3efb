"""Sandbox-only endpoints under ``/v1/_sandbox/`` (not part of Stripe's API)."""

from __future__ import annotations

from typing import Any

from billing_kit.sandbox import _params
from billing_kit.sandbox._context import Clock, Ctx
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
    """``POST /v1/_sandbox/clock`` with ``advance=<seconds>`` or ``now=<unix time>``."""
    _params.allow(params, {"advance", "now"})
    advance = _params.integer(params, "advance", minimum=0)
    when = _params.integer(params, "now", minimum=0)
    if (advance is None) == (when is None):
        raise invalid("Pass exactly one of advance (seconds) or now (unix time).", param="advance")
    clock = _clock(ctx)
    now = clock.advance(advance) if advance is not None else clock.set(float(when or 0))
    return {"object": "sandbox_clock", "now": now}
