"""Matplotlib charts of a charges frame, readable at a glance.

Each function takes the frame from ``Client.charges_frame`` and returns a
:class:`matplotlib.figure.Figure` built without ``pyplot`` (no global state, works in any
backend). :func:`to_png` renders a figure for an ``ipywidgets.Image``; a notebook can also
display the figure directly."""

from __future__ import annotations

import io

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import DateFormatter, DayLocator
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from billing_kit._money import currency_exponent

_SIZE = (8.0, 3.4)
_COLOURS = ("#1f5f8b", "#d98c00", "#2e8b57", "#8b3a62", "#5a5a5a", "#4682b4", "#b8860b")


def _empty(fig: Figure, title: str) -> Figure:
    ax = fig.subplots()
    ax.set_title(title, loc="left", fontweight="bold")
    ax.text(0.5, 0.5, "no data in this range", ha="center", va="center", color="#666")
    ax.set_axis_off()
    return fig


def _daily(frame: pd.DataFrame, column: str, currency: str, tz: str) -> pd.DataFrame:
    """Sum ``column`` (minor units) per local day and currency, in major units."""
    days = frame["created"].dt.tz_convert(tz).dt.floor("D").dt.tz_localize(None)
    codes = frame[currency].astype("string")
    minor = frame[column].astype("Int64").fillna(0).astype("int64")
    major = minor / (10.0 ** codes.map(currency_exponent).astype("int64"))
    table = pd.DataFrame({"day": days, "currency": codes.str.upper(), "value": major})
    return table.pivot_table(
        index="day", columns="currency", values="value", aggfunc="sum", fill_value=0
    ).sort_index()


def daily_volume(frame: pd.DataFrame, *, tz: str = "UTC") -> Figure:
    """Bars of successful volume per day: one panel per currency, each on its own scale.

    Currencies are never stacked on one axis: ¥3,000 next to $30 would flatten the dollars.
    """
    title = f"Daily volume of successful charges ({tz})"
    ok = frame[frame["status"].astype("string") == "succeeded"] if not frame.empty else frame
    if ok.empty:
        return _empty(Figure(figsize=_SIZE, layout="constrained"), title)
    table = _daily(ok, "amount_minor", "currency", tz)
    panels = len(table.columns)
    fig = Figure(figsize=(8.0, 1.0 + 1.9 * panels), layout="constrained")
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    labels = [f"{day:%b %d}" for day in table.index]
    for ax, code, colour in zip(axes, table.columns, _COLOURS, strict=False):
        bars = ax.bar(labels, table[code].to_numpy(), color=colour)
        ax.set_ylabel(code, rotation=0, ha="right", va="center", fontweight="bold")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.grid(axis="y", alpha=0.3)
        if len(labels) <= 10:
            ax.bar_label(bars, fmt="{:,.2f}", padding=2, fontsize=8)
        ax.margins(y=0.25)
    axes[0].set_title(title, loc="left", fontweight="bold")
    _thin_labels(axes[-1], len(labels))
    axes[-1].tick_params(axis="x", labelrotation=45)
    return fig


def decline_reasons(frame: pd.DataFrame) -> Figure:
    """Horizontal bar chart: how many charges failed for each reason, most common on top."""
    fig = Figure(figsize=_SIZE, layout="constrained")
    title = "Why charges were declined"
    failed = frame[frame["status"].astype("string") == "failed"] if not frame.empty else frame
    if failed.empty:
        return _empty(fig, title)
    reason = failed["decline_code"].astype("string")
    reason = reason.fillna(failed["failure_code"].astype("string")).fillna("unknown")
    counts = reason.str.replace("_", " ").value_counts().sort_values()
    ax = fig.subplots()
    bars = ax.barh(counts.index, counts.to_numpy(), color="#b00020")
    ax.bar_label(bars, padding=3)
    ax.set_title(title + f" ({len(failed)} declines)", loc="left", fontweight="bold")
    ax.set_xlabel("declined charges")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="x", alpha=0.3)
    return fig


def fees_over_time(frame: pd.DataFrame, *, tz: str = "UTC") -> Figure:
    """Stripe fees per day, one line per settlement currency (the currency fees are paid in)."""
    title = f"Stripe fees per day ({tz})"
    has_fee = frame[frame["fee_minor"].notna()] if not frame.empty else frame
    if has_fee.empty:
        return _empty(Figure(figsize=_SIZE, layout="constrained"), title)
    table = _daily(has_fee, "fee_minor", "settlement_currency", tz)
    fig = Figure(figsize=_SIZE, layout="constrained")
    ax = fig.subplots()
    for code, colour in zip(table.columns, _COLOURS, strict=False):
        ax.plot(table.index, table[code], marker="o", color=colour, label=code)
    ax.set_title(title, loc="left", fontweight="bold")
    ax.set_ylabel("fees (major units)")
    ax.set_ylim(bottom=0)
    # A day of margin either side, so one day of data is not spread over years of axis.
    ax.set_xlim(table.index.min() - pd.Timedelta(days=1), table.index.max() + pd.Timedelta(days=1))
    # matplotlib.dates leaves these constructors unannotated.
    span = (table.index.max() - table.index.min()).days + 2
    ax.xaxis.set_major_locator(DayLocator(interval=max(1, span // 10)))  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(DateFormatter("%b %d"))  # type: ignore[no-untyped-call]
    ax.legend(title="settled in", frameon=False)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return fig


def _thin_labels(ax: Axes, count: int, *, most: int = 15) -> None:
    """Show at most ``most`` day labels so they stay readable on long ranges."""
    step = max(1, -(-count // most))
    for index, label in enumerate(ax.get_xticklabels()):
        label.set_visible(index % step == 0)


def to_png(fig: Figure, *, dpi: int = 100) -> bytes:
    """Render a figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
