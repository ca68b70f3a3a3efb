"""Orders against Stripe: pair an order list with charges and name what each pair means.

Orders are paired with charges on an order id kept in the charge's metadata
(https://docs.stripe.com/metadata; Stripe's own search reads it as ``metadata['order_id']``). An
order without an id only gets a *suggested* charge: same amount, currency and customer email,
created within the date tolerance of the order, the nearest in time first, each charge suggested
once. A suggestion is never counted as matched.

Classes, first that applies wins (docs/reconcile-matching.md explains each):

``failed`` (the charge failed; a failed attempt never makes a pair a duplicate),
``duplicate_in_orders``, ``duplicate_in_stripe``, ``missing_in_stripe``, ``missing_in_orders``,
``currency_mismatch``, ``disputed``, ``refunded``, ``partially_refunded``, ``uncaptured``
(authorised but not captured, or still pending), ``amount_mismatch`` (the order's amount differs
from the amount captured), ``matched``; and ``suggested`` for pairs found without an id.

Everything is vectorised: pairs are made by ``merge`` and classified by column masks, so a million
orders against a million charges take seconds (``python -m benchmarks reconcile``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from billing_kit._exceptions import InvalidArgument
from billing_kit.history._options import check_timezone, check_window
from billing_kit.history._schema import BOOL_DTYPE, STRING_DTYPE
from billing_kit.reconcile import _tables
from billing_kit.reconcile._result import MatchResult, major, pick, summarise

if TYPE_CHECKING:
    from billing_kit._client import Client

__all__ = ["ORDER_CLASSES", "match_orders", "reconcile_orders"]

ORDER_CLASSES: tuple[str, ...] = (
    "matched",
    "amount_mismatch",
    "currency_mismatch",
    "missing_in_stripe",
    "missing_in_orders",
    "duplicate_in_stripe",
    "duplicate_in_orders",
    "refunded",
    "partially_refunded",
    "disputed",
    "failed",
    "uncaptured",
    "suggested",
)

_CHARGE_COLUMNS = (
    "id",
    "created",
    "status",
    "currency",
    "amount_minor",
    "amount_captured_minor",
    "amount_refunded_minor",
    "captured",
    "disputed",
    "customer",
)


def _tolerance(value: object) -> pd.Timedelta:
    tolerance: Any
    try:
        tolerance = pd.Timedelta(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        tolerance = None
    if tolerance is None or pd.isna(tolerance) or tolerance < pd.Timedelta(0):
        raise InvalidArgument(
            f"date_tolerance must be a duration ≥ 0 such as '3 days' or timedelta(days=3), got "
            f"{value!r}."
        )
    return pd.Timedelta(tolerance)


def _read_orders(
    orders: object,
    *,
    key: str,
    amount: str,
    currency: str,
    date: str | None,
    email: str | None,
    tz: str,
) -> tuple[pd.DataFrame, pd.Index]:
    """The orders as typed columns (``key``, ``minor``, ``currency``, ``date``, ``email``) and
    each row's label; one error lists every bad cell."""
    table = _tables.read_table(orders, what="orders")
    _tables.require(
        table, {"key": key, "amount": amount, "currency": currency, "date": date, "email": email}
    )
    bad = _tables.BadRows(table)
    codes = _tables.currencies(table, currency, bad)
    minor = _tables.amounts(table, amount, codes, bad)
    dates = (
        _tables.timestamps(table, date, tz, bad)
        if date is not None
        else pd.Series(pd.NaT, index=table.frame.index, dtype="datetime64[ns, UTC]")
    )
    bad.raise_if_any()
    emails = (
        _tables.text(table.frame[email]).str.lower()
        if email is not None
        else pd.Series(pd.NA, index=table.frame.index, dtype=STRING_DTYPE)
    )
    typed = pd.DataFrame(
        {
            "key": _tables.text(table.frame[key]),
            "minor": minor.to_numpy(np.int64),
            "currency": codes.astype(str).to_numpy(),
            "date": dates,
            "email": emails,
        }
    )
    return typed, table.rows


def match_orders(
    orders: pd.DataFrame,
    charges: pd.DataFrame,
    *,
    tolerance: pd.Timedelta,
    emails: pd.Series | None = None,
) -> pd.DataFrame:
    """Pair typed orders with charges; return ``order``, ``charge`` positions (-1: none) and
    ``match``.

    ``orders`` has ``key``, ``minor``, ``currency``, ``date`` (UTC) and ``email`` columns;
    ``charges`` has the history frame's columns plus ``key``; ``emails`` maps customer id to
    email (lower case). Pure and vectorised; the order of the pairs is not significant.
    """
    # Keys become integer codes once (-1: no key), so every merge and count below is on ints.
    both = pd.concat([orders["key"], charges["key"]], ignore_index=True).astype(STRING_DTYPE)
    codes, uniques = pd.factorize(both)
    o = pd.DataFrame({"order": np.arange(len(orders)), "key": codes[: len(orders)]})
    c = pd.DataFrame(
        {
            "charge": np.arange(len(charges)),
            "key": codes[len(orders) :],
            "failed": (charges["status"] == "failed").to_numpy(bool),
        }
    )
    keyed_orders = o[o["key"] >= 0]
    keyed_charges = c[c["key"] >= 0]
    live = keyed_charges[~keyed_charges["failed"]]
    order_count = np.bincount(keyed_orders["key"], minlength=len(uniques))
    live_count = np.bincount(live["key"], minlength=len(uniques))

    failed = keyed_orders.merge(keyed_charges[keyed_charges["failed"]], on="key")
    pairs = keyed_orders.merge(live, on="key", how="outer")
    pairs["order"] = pairs["order"].fillna(-1).astype(np.int64)
    pairs["charge"] = pairs["charge"].fillna(-1).astype(np.int64)
    # An order whose only attempts failed is not missing: its failed pairs say what happened.
    only_failed = (pairs["charge"] < 0) & np.isin(pairs["order"], failed["order"])
    pairs = pairs[~only_failed]
    n_orders = order_count[pairs["key"].to_numpy()]
    n_live = live_count[pairs["key"].to_numpy()]
    has_order = pairs["order"].to_numpy() >= 0

    # The unpaired live charges (no key, or a key no order has) may be suggested for orders
    # without a key; what is left of them is missing in the orders.
    lone = pairs[~has_order & (n_live == 1)]["charge"].to_numpy()
    no_key = c[(c["key"] < 0) & ~c["failed"]]["charge"].to_numpy()
    candidates = np.concatenate([no_key, lone])
    keyed_pairs = pairs[~(~has_order & (n_live == 1))]
    n_orders = n_orders[~(~has_order & (n_live == 1))]
    n_live = n_live[~(~has_order & (n_live == 1))]
    labels = _classify(keyed_pairs, n_orders, n_live, orders, charges)

    suggested, unpaired_orders, unpaired_charges = _suggest(
        orders,
        charges,
        o[o["key"] < 0]["order"].to_numpy(),
        candidates,
        tolerance,
        emails,
    )
    loose_failed = c[c["failed"]]
    loose_failed = loose_failed[~loose_failed["charge"].isin(failed["charge"])]
    parts = [
        pd.DataFrame(
            {
                "order": keyed_pairs["order"].to_numpy(),
                "charge": keyed_pairs["charge"].to_numpy(),
                "match": labels,
            }
        ),
        pd.DataFrame({"order": failed["order"], "charge": failed["charge"], "match": "failed"}),
        pd.DataFrame({"order": -1, "charge": loose_failed["charge"], "match": "failed"}),
        suggested.assign(match="suggested"),
        pd.DataFrame({"order": unpaired_orders, "charge": -1, "match": "missing_in_stripe"}),
        pd.DataFrame({"order": -1, "charge": unpaired_charges, "match": "missing_in_orders"}),
    ]
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    if out.empty:
        out = pd.DataFrame({"order": [], "charge": [], "match": []})
    return out.astype({"order": np.int64, "charge": np.int64, "match": object})


def _classify(
    pairs: pd.DataFrame,
    n_orders: Any,
    n_live: Any,
    orders: pd.DataFrame,
    charges: pd.DataFrame,
) -> Any:
    """The class of each keyed pair of a live charge and an order (either may be absent)."""
    order = pairs["order"].to_numpy()
    charge = pairs["charge"].to_numpy()
    has_order, has_charge = order >= 0, charge >= 0
    oi, ci = np.where(has_order, order, 0), np.where(has_charge, charge, 0)

    def col(frame: pd.DataFrame, name: str, index: Any, fill: Any) -> Any:
        values = frame[name].to_numpy(dtype=object if fill is None else None, na_value=fill)
        return values[index] if len(values) else np.full(len(index), fill)

    ccy_o = col(orders, "currency", oi, "")
    ccy_c = np.asarray(col(charges, "currency", ci, ""), dtype=object)
    amount = col(orders, "minor", oi, 0)
    captured_amount = col(charges, "amount_captured_minor", ci, 0)
    refunded_amount = col(charges, "amount_refunded_minor", ci, 0)
    captured = col(charges, "captured", ci, False).astype(bool)
    pending = col(charges, "status", ci, "").astype(object) == "pending"
    disputed = col(charges, "disputed", ci, False).astype(bool)
    both = has_order & has_charge
    conditions = [
        has_order & (n_orders > 1),
        has_charge & (n_live > 1),
        ~has_charge,
        ~has_order,
        both & (ccy_o != ccy_c),
        both & disputed,
        both & captured & (refunded_amount > 0) & (refunded_amount >= captured_amount),
        both & (refunded_amount > 0),
        both & (~captured | pending),
        both & (amount != captured_amount),
    ]
    choices = [
        "duplicate_in_orders",
        "duplicate_in_stripe",
        "missing_in_stripe",
        "missing_in_orders",
        "currency_mismatch",
        "disputed",
        "refunded",
        "partially_refunded",
        "uncaptured",
        "amount_mismatch",
    ]
    return np.select(conditions, choices, default="matched")


def _naive_utc(times: pd.Series) -> Any:
    """UTC times as a plain ``datetime64`` array (subtracted without per-row objects)."""
    return times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()


def _suggest(
    orders: pd.DataFrame,
    charges: pd.DataFrame,
    order_ids: Any,
    charge_ids: Any,
    tolerance: pd.Timedelta,
    emails: pd.Series | None,
) -> tuple[pd.DataFrame, Any, Any]:
    """Greedy nearest-in-time pairs of keyless orders and unpaired live charges with the same
    amount, currency and email (when the orders have one), within ``tolerance``."""
    left = pd.DataFrame(
        {
            "order": order_ids,
            "minor": orders["minor"].to_numpy()[order_ids],
            "currency": orders["currency"].to_numpy()[order_ids],
            "date": _naive_utc(orders["date"])[order_ids],
            "email": orders["email"].astype(object).to_numpy()[order_ids],
        }
    )
    customer = charges["customer"].astype(object).to_numpy()[charge_ids]
    right = pd.DataFrame(
        {
            "charge": charge_ids,
            "minor": charges["amount_minor"].to_numpy(np.int64, na_value=0)[charge_ids],
            "currency": charges["currency"].astype(object).to_numpy()[charge_ids],
            "created": _naive_utc(charges["created"])[charge_ids],
            "email": (
                pd.Series(customer).map(emails).to_numpy(dtype=object)
                if emails is not None
                else np.full(len(charge_ids), None, dtype=object)
            ),
        }
    )
    on = ["minor", "currency"]
    if left["email"].notna().any():
        left = left[left["email"].notna()]
        on.append("email")
    pairs = left.merge(right[right["email"].notna()] if "email" in on else right, on=on)
    gap = (pairs["created"] - pairs["date"]).abs()
    pairs = pairs.assign(gap=gap)[gap.isna() | (gap <= tolerance)]
    pairs = pairs.sort_values(["gap", "order", "charge"], na_position="last", kind="stable")
    chosen: list[pd.DataFrame] = []
    while len(pairs):
        best = pairs.drop_duplicates("order").drop_duplicates("charge")
        chosen.append(best[["order", "charge"]])
        pairs = pairs[~pairs["order"].isin(best["order"]) & ~pairs["charge"].isin(best["charge"])]
    suggested = (
        pd.concat(chosen, ignore_index=True)
        if chosen
        else pd.DataFrame({"order": np.array([], np.int64), "charge": np.array([], np.int64)})
    )
    return (
        suggested,
        np.setdiff1d(order_ids, suggested["order"].to_numpy()),
        np.setdiff1d(charge_ids, suggested["charge"].to_numpy()),
    )


def build_result(
    pairs: pd.DataFrame,
    orders: pd.DataFrame,
    rows: pd.Index,
    charges: pd.DataFrame,
    *,
    tz: str,
) -> MatchResult:
    """The user-facing frame, summary and workbook of :func:`match_orders`' pairs."""
    rank = {name: i for i, name in enumerate(ORDER_CLASSES)}
    pairs = pairs.assign(_rank=pairs["match"].map(rank), _o=pairs["order"].where(
        pairs["order"] >= 0, len(orders)))  # fmt: skip
    pairs = pairs.sort_values(["_o", "_rank", "charge"], kind="stable").reset_index(drop=True)
    order, charge = pairs["order"].to_numpy(), pairs["charge"].to_numpy()

    def o(name: str) -> pd.Series:
        return pick(orders[name], order)

    def c(name: str) -> pd.Series:
        return pick(charges[name], charge)

    o_ccy, c_ccy = o("currency").astype(object), c("currency").astype(object)
    o_minor, captured = o("minor"), c("amount_captured_minor").astype("Int64")
    same = (o_ccy == c_ccy).fillna(False).astype(bool)
    frame = pd.DataFrame(
        {
            "match": pd.Categorical(pairs["match"], categories=list(ORDER_CLASSES)),
            "order_row": _labels(rows, order),
            "order_key": o("key").astype(STRING_DTYPE),
            "order_date": o("date").dt.tz_convert(tz),
            "order_currency": o_ccy.astype(STRING_DTYPE),
            "order_amount": major(o_minor, o_ccy),
            "charge": c("id").astype(STRING_DTYPE),
            "charge_key": c("key").astype(STRING_DTYPE),
            "charge_created": c("created").dt.tz_convert(tz),
            "charge_status": c("status").astype(STRING_DTYPE),
            "charge_currency": c_ccy.astype(STRING_DTYPE),
            "charge_amount": major(c("amount_minor"), c_ccy),
            "amount_captured": major(captured, c_ccy),
            "amount_refunded": major(c("amount_refunded_minor"), c_ccy),
            "disputed": c("disputed").astype(BOOL_DTYPE),
            "customer": c("customer").astype(STRING_DTYPE),
            "difference": major((o_minor - captured).where(same, None), o_ccy),
        }
    )
    summary_input = pd.DataFrame(
        {
            "match": pairs["match"],
            "minor": o_minor.fillna(c("amount_minor").astype("Int64")),
            "currency": o_ccy.where(o_ccy.notna(), c_ccy),
        }
    )
    summary = summarise(summary_input, ORDER_CLASSES, minor="minor", currency="currency")
    return MatchResult(frame=frame, summary=summary, tz=tz, currencies={
        "order_amount": "order_currency", "charge_amount": "charge_currency",
        "amount_captured": "charge_currency", "amount_refunded": "charge_currency",
        "difference": "order_currency"})  # fmt: skip


def _labels(rows: pd.Index, positions: Any) -> pd.Series:
    """Each pair's order label: the file's line number, or the DataFrame's index label."""
    labels = pick(pd.Series(rows.to_numpy()), positions)
    if labels.dtype == object:
        labels = labels.where(labels.notna(), None)
    return labels


def reconcile_orders(
    client: Client | None,
    orders: object,
    *,
    key: str = "order_id",
    amount: str = "amount",
    currency: str = "currency",
    date: str | None = None,
    email: str | None = None,
    metadata_key: str | None = None,
    since: Any = None,
    until: Any = None,
    tz: str = "UTC",
    date_tolerance: object = timedelta(days=3),
    charges: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
) -> MatchResult:
    """Match an order list (a DataFrame, or a .csv/.xlsx path) against the charges.

    Parameters
    ----------
    orders
        One row per order; every cell is read as text, amounts exactly for their currency.
    key, amount, currency, date, email
        Column names of the order id, the amount in major units, the ISO currency, the order
        date (ISO; read in ``tz`` when it has no offset) and the customer email.
    metadata_key
        The charge metadata key holding the order id (default: ``key``).
    since, until
        Window ``[since, until)`` on the charges' ``created`` (and on the orders' ``date``).
    tz
        Zone of dates without an offset and of every time column of the result.
    date_tolerance
        How far a charge may be from a keyless order's date to be suggested for it.
    charges, customers
        History frames to match instead of pulling them (they need the frames' columns); with
        both given, ``client`` may be ``None``.

    Returns
    -------
    billing_kit.reconcile.MatchResult
        ``.frame`` (one row per pair, ``match`` class), ``.summary``, ``.to_excel(path)``.

    Raises
    ------
    InvalidArgument
        A missing column, or bad cells (every one listed by row, column and value).
    """
    tolerance = _tolerance(date_tolerance)
    check_timezone(tz)
    meta = metadata_key or key
    typed, rows = _read_orders(
        orders, key=key, amount=amount, currency=currency, date=date, email=email, tz=tz
    )
    if client is None and (charges is None or (customers is None and email is not None)):
        raise InvalidArgument("give a client, or the charges and customers frames to match.")
    if charges is None:
        assert client is not None
        charges = client.charges_frame(since, until, tz=tz, metadata=[meta], progress=False)
    column = f"metadata.{meta}"
    if column not in charges.columns:
        raise InvalidArgument(
            f"the charges frame has no column {column!r}; pull it with "
            f"charges_frame(metadata=[{meta!r}])."
        )
    charges = charges.reset_index(drop=True)
    charges = charges[[*_CHARGE_COLUMNS]].assign(key=charges[column])
    if date is not None and (since is not None or until is not None):
        # Orders are kept by their own date in the same [since, until) window (undated ones stay).
        window = check_window(since, until, tz=tz)
        dates = typed["date"]
        keep = np.ones(len(dates), dtype=bool)
        if window.since is not None:
            keep &= (dates >= pd.Timestamp(window.since, unit="s", tz="UTC")).to_numpy(bool)
        if window.until is not None:
            keep &= (dates < pd.Timestamp(window.until, unit="s", tz="UTC")).to_numpy(bool)
        keep |= dates.isna().to_numpy(bool)
        typed, rows = typed[keep].reset_index(drop=True), rows[keep]
    emails = None
    if email is not None and typed["key"].isna().any():
        if customers is None:
            assert client is not None
            customers = client.customers_frame(progress=False)
        emails = pd.Series(
            customers["email"].str.lower().astype(object).to_numpy(),
            index=customers["id"].to_numpy(dtype=object),
        )
    pairs = match_orders(typed, charges, tolerance=tolerance, emails=emails)
    return build_result(pairs, typed, rows, charges, tz=tz)
