"""Stripe's Reporting API, offline (https://docs.stripe.com/api/reporting/report_run): four report
types computed from the sandbox's own balance transactions.

``POST /v1/reporting/report_runs`` answers ``pending``; the run is computed at once and the next
read shows it ``succeeded`` with its ``result`` file (``GET /v1/files/{id}/contents``, CSV), and a
``reporting.report_run.succeeded`` event. Periods are half-open ``[interval_start,
interval_end)``; rows are placed as Stripe's reports place them
(https://docs.stripe.com/reports/balance): by ``created``, except an automatic payout, by its
transaction's ``available_on`` (its arrival); payout reconciliation by the automatic payout's
effective time. Money is summed in integer minor units and written in major units.

This is a second, independent implementation of what ``billing_kit.reconcile`` computes from the
history frames (the sandbox never imports the client side), so the two can check each other.
"""

from __future__ import annotations

import csv
import io
import zoneinfo
from collections import defaultdict
from decimal import Decimal
from typing import Any

import msgspec

from billing_kit.sandbox import _params
from billing_kit.sandbox._context import Ctx
from billing_kit.sandbox._errors import invalid, no_such
from billing_kit.sandbox._ids import random_chars
from billing_kit.sandbox._money_rules import exponent

__all__ = [
    "RAW_BODY",
    "RAW_MEDIA_TYPE",
    "REPORT_TYPES",
    "create_run",
    "file_contents",
    "list_runs",
    "list_types",
]

#: Keys of a handler's answer that the HTTP adapter sends as a raw body instead of JSON.
RAW_BODY = "__raw_body__"
RAW_MEDIA_TYPE = "__raw_media_type__"

_DAY = 86_400
_TIMES = ("created", "available_on")
_ITEM_COLUMNS = ("balance_transaction_id", "created_utc", "created", "available_on_utc",
                 "available_on", "currency", "gross", "fee", "net", "reporting_category",
                 "source_id", "description")  # fmt: skip
_PAYOUT_COLUMNS = ("automatic_payout_id", "automatic_payout_effective_at_utc",
                   "automatic_payout_effective_at")  # fmt: skip
#: Report type -> (name, default columns, needs interval_start).
REPORT_TYPES: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "balance.summary.1": (
        "Balance summary", ("category", "description", "net_amount", "currency"), True),
    "balance_change_from_activity.summary.1": (
        "Balance change from activity summary",
        ("reporting_category", "currency", "count", "gross", "fee", "net"), True),
    "payout_reconciliation.itemized.5": (
        "Payout reconciliation itemized", _ITEM_COLUMNS + _PAYOUT_COLUMNS, True),
    "ending_balance_reconciliation.itemized.4": (
        "Ending balance reconciliation itemized", _ITEM_COLUMNS, False),
}  # fmt: skip


def _window(ctx: Ctx) -> tuple[int, int]:
    first = ctx.conn.execute("SELECT MIN(created) FROM balance_transactions").fetchone()[0]
    today = ctx.now // _DAY * _DAY
    return (today if first is None else int(first) // _DAY * _DAY), today


def _type_body(ctx: Ctx, type_id: str) -> dict[str, Any]:
    start, end = _window(ctx)
    name, columns, _ = REPORT_TYPES[type_id]
    return {"id": type_id, "object": "reporting.report_type", "data_available_start": start,
            "data_available_end": end, "default_columns": list(columns), "livemode": False,
            "name": name, "updated": end, "version": int(type_id.rsplit(".", 1)[1])}  # fmt: skip


def list_types(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/reporting/report_types``."""
    _params.allow(params, ())
    data = [_type_body(ctx, t) for t in REPORT_TYPES]
    return {"object": "list", "data": data, "has_more": False, "url": "/v1/reporting/report_types"}


def retrieve_type(ctx: Ctx, type_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/reporting/report_types/:id``."""
    _params.allow(params, ())
    if type_id not in REPORT_TYPES:
        raise no_such("report type", type_id, param="id")
    return _type_body(ctx, type_id)


def _major(minor: int, currency: str) -> str:
    return f"{Decimal(minor).scaleb(-exponent(currency)):f}"


def _stamp(unix: int, zone: zoneinfo.ZoneInfo | None) -> str:
    import datetime as dt

    moment = dt.datetime.fromtimestamp(unix, dt.UTC)
    return (moment.astimezone(zone) if zone else moment).strftime("%Y-%m-%d %H:%M:%S")


def _rows(ctx: Ctx) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every balance transaction with ``placed``, ``automatic``, ``own``, ``payout``; and the
    effective time of each automatic payout."""
    payouts = [msgspec.json.decode(b) for (b,) in ctx.conn.execute("SELECT body FROM payouts")]
    automatic = {p["id"]: p for p in payouts if p["automatic"]}
    own = {p["balance_transaction"]: p["id"] for p in automatic.values()}
    rows = []
    effective: dict[str, int] = {}
    for payout, body in ctx.conn.execute("SELECT payout, body FROM balance_transactions"):
        txn = msgspec.json.decode(body)
        is_own = txn["id"] in own
        txn.update(own=is_own, payout=payout,
                   automatic=txn["type"] in ("payout", "payout_failure", "payout_cancel")
                   and txn["source"] in automatic,
                   placed=txn["available_on"] if is_own else txn["created"])  # fmt: skip
        if is_own:
            effective[own[txn["id"]]] = txn["available_on"]
        rows.append(txn)
    return rows, effective


def _compute(ctx: Ctx, type_id: str, p: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    rows, effective = _rows(ctx)
    start, end = p.get("interval_start", 0), p["interval_end"]
    zone = zoneinfo.ZoneInfo(p.get("timezone", "UTC"))
    if p.get("currency"):
        rows = [r for r in rows if r["currency"] == p["currency"]]
    columns = list(REPORT_TYPES[type_id][1])
    out: list[list[str]] = []
    if type_id == "balance.summary.1":
        sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for r in rows:
            s = sums[r["currency"]]
            if r["placed"] < end:
                s["ending_balance"] += r["net"]
            if r["placed"] < start:
                s["starting_balance"] += r["net"]
            elif r["placed"] < end and r["automatic"]:
                s["payouts"] += r["net"]
            elif r["placed"] < end:
                s["activity_gross"] += r["amount"]
                s["activity_fee"] -= r["fee"]
                s["activity"] += r["net"]
        names = (("starting_balance", "Starting balance"),
                 ("activity_gross", "Activity before fees"), ("activity_fee", "Less fees"),
                 ("activity", "Net balance change from activity"), ("payouts", "Total payouts"),
                 ("ending_balance", "Ending balance"))  # fmt: skip
        for currency in sorted(sums):
            out += [[k, d, _major(sums[currency][k], currency), currency] for k, d in names]
    elif type_id == "balance_change_from_activity.summary.1":
        groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for r in rows:
            if start <= r["placed"] < end and not r["automatic"]:
                g = groups[(r["reporting_category"], r["currency"])]
                g[0] += 1
                g[1] += r["amount"]
                g[2] += r["fee"]
                g[3] += r["net"]
        for (category, currency), (n, gross, fee, net) in sorted(groups.items()):
            out.append([category, currency, str(n), _major(gross, currency),
                        _major(fee, currency), _major(net, currency)])  # fmt: skip
    else:
        payout_report = type_id.startswith("payout_reconciliation")
        picked = []
        for r in rows:
            when = effective.get(r["payout"] or "")
            if payout_report:
                keep = when is not None and start <= when < end and not r["own"]
            else:
                keep = r["placed"] < end and not (when is not None and when < end)
            if keep:
                picked.append((when or 0, r["payout"] or "", r["created"], r["id"], r))
        for when, payout, _, _, r in sorted(picked, key=lambda x: x[:4] if payout_report
                                            else x[2:4]):  # fmt: skip
            cur = r["currency"]
            line = [r["id"], _stamp(r["created"], None), _stamp(r["created"], zone),
                    _stamp(r["available_on"], None), _stamp(r["available_on"], zone), cur,
                    _major(r["amount"], cur), _major(r["fee"], cur), _major(r["net"], cur),
                    r["reporting_category"], r["source"], r["description"] or ""]  # fmt: skip
            if payout_report:
                line += [payout, _stamp(when, None), _stamp(when, zone)]
            out.append(line)
    return columns, out


def _parameters(ctx: Ctx, type_id: str, params: dict[str, Any]) -> dict[str, Any]:
    raw = _params.mapping(params, "parameters") or {}
    allowed = {"interval_start", "interval_end", "timezone", "currency", "columns"}
    for key in raw:
        if key not in allowed:
            raise invalid(f"Received unknown parameter: parameters[{key}]",
                          param=f"parameters[{key}]")  # fmt: skip
    start, end = _window(ctx)
    needs_start = REPORT_TYPES[type_id][2]
    checked: dict[str, Any] = {}
    for key in ("interval_start", "interval_end"):
        if key not in raw:
            if key == "interval_start" and not needs_start:
                continue
            raise invalid(f"Missing required param: parameters[{key}].", param=f"parameters[{key}]")
        value = _params.to_int(raw[key], f"parameters[{key}]")
        if not start <= value <= end:
            raise invalid(
                f"parameters[{key}] must be between data_available_start ({start}) and "
                f"data_available_end ({end}) of {type_id}; got {value}.",
                param=f"parameters[{key}]",
            )
        checked[key] = value
    if "interval_start" in checked and checked["interval_start"] >= checked["interval_end"]:
        raise invalid("parameters[interval_start] must be before parameters[interval_end].",
                      param="parameters[interval_start]")  # fmt: skip
    if "timezone" in raw:
        try:
            zoneinfo.ZoneInfo(str(raw["timezone"]))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder
            raise invalid(
                f"Invalid timezone: {raw['timezone']!r}; use an IANA name such as "
                "'America/New_York'.",
                param="parameters[timezone]",
            ) from None
        checked["timezone"] = str(raw["timezone"])
    if "currency" in raw:
        checked["currency"] = str(raw["currency"]).lower()
    return checked


def create_run(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/reporting/report_runs``: ``report_type`` and ``parameters[...]``."""
    _params.allow(params, {"report_type", "parameters"})
    type_id = _params.text(params, "report_type", required=True) or ""
    if type_id not in REPORT_TYPES:
        raise invalid(
            f"Invalid report_type {type_id!r}: the sandbox serves "
            f"{', '.join(sorted(REPORT_TYPES))}.",
            param="report_type",
        )
    parameters = _parameters(ctx, type_id, params)
    columns, rows = _compute(ctx, type_id, parameters)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    contents = buffer.getvalue()
    run_id, file_id = "frr_" + random_chars(24), "file_" + random_chars(24)
    file_body = {"id": file_id, "object": "file", "created": ctx.now,
                 "expires_at": ctx.now + 365 * _DAY, "filename": f"{run_id}.csv", "links": None,
                 "purpose": "finance_report_run", "size": len(contents.encode()),
                 "title": f"{REPORT_TYPES[type_id][0]} ({run_id})", "type": "csv",
                 "url": f"https://files.stripe.com/v1/files/{file_id}/contents"}  # fmt: skip
    ctx.insert("files", {**file_body, "contents": contents})
    run = {"id": run_id, "object": "reporting.report_run", "created": ctx.now, "error": None,
           "livemode": False, "parameters": parameters, "report_type": type_id,
           "result": file_body, "status": "succeeded", "succeeded_at": ctx.now}  # fmt: skip
    ctx.insert("report_runs", run)
    ctx.emit("reporting.report_run.succeeded", run)
    # Stripe answers the create while the run is still pending; the next read shows the result.
    return {**run, "result": None, "status": "pending", "succeeded_at": None}


def retrieve_run(ctx: Ctx, run_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/reporting/report_runs/:id``."""
    _params.allow(params, ())
    return ctx.get("report_runs", run_id)


def list_runs(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/reporting/report_runs``."""
    from billing_kit.sandbox import _lists

    _params.allow(params, _params.LIST_PARAMS)
    return _lists.run(ctx.conn, "report_runs", "/v1/reporting/report_runs", params,
                      _lists.Where())  # fmt: skip


def file_contents(ctx: Ctx, file_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/files/:id/contents``: the CSV, as the adapter's raw ``text/csv`` body."""
    _params.allow(params, ())
    body = ctx.get("files", file_id)
    return {RAW_BODY: body["contents"], RAW_MEDIA_TYPE: "text/csv"}
