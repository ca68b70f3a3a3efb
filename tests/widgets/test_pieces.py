"""The parts of the forms that need no client: input checks, figures, charts, table, export."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from billing_kit.widgets import TEST_CARDS, card_by_effect
from billing_kit.widgets._form import mode_banner_html
from billing_kit.widgets._history_browser import readable_page
from billing_kit.widgets._inputs import (
    check_amount,
    check_charge_id,
    check_customer,
    check_metadata,
    check_payment_method,
)
from billing_kit.widgets._table import PagedTable
from billing_kit.widgets.charts import daily_volume, decline_reasons, fees_over_time, to_png
from billing_kit.widgets.export import export_csv, export_excel
from billing_kit.widgets.figures import headline, headline_html


def charges_frame() -> pd.DataFrame:
    """A small frame with the columns the history loader declares, built by hand."""
    created = pd.to_datetime(
        [
            "2026-11-01 10:00",
            "2026-11-01 11:00",
            "2026-11-02 09:00",
            "2026-11-02 12:00",
            "2026-11-03 08:00",
        ],
        utc=True,
    )
    return pd.DataFrame(
        {
            "id": ["ch_1", "ch_2", "ch_3", "ch_4", "ch_5"],
            "created": created,
            "status": pd.Categorical(["succeeded", "failed", "succeeded", "succeeded", "failed"]),
            "currency": pd.Categorical(["usd", "usd", "usd", "jpy", "jpy"]),
            "amount_minor": pd.array([1000, 500, 2550, 3000, 800], dtype="int64[pyarrow]"),
            "amount_refunded_minor": pd.array([0, 0, 550, 0, 0], dtype="int64[pyarrow]"),
            # The yen charge settles in dollars ($20.10 for ¥3,000), like on a USD account.
            "settlement_currency": pd.Categorical(["usd", None, "usd", "usd", None]),
            "fee_minor": pd.array([59, None, 104, 88, None], dtype="int64[pyarrow]"),
            "net_minor": pd.array([941, None, 2446, 1922, None], dtype="int64[pyarrow]"),
            "decline_code": pd.Categorical(
                [None, "insufficient_funds", None, None, "expired_card"]
            ),
            "failure_code": pd.Categorical([None, "card_declined", None, None, "expired_card"]),
        }
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "Enter the customer's email"),
        ("ana", "'ana' is neither an email address nor a customer id"),
        ("ana@example", "is neither an email"),
        ("cus_", "is neither an email"),
    ],
)
def test_bad_customer_says_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        check_customer(text)


def test_good_customers_pass() -> None:
    assert check_customer(" ana@example.com ") == "ana@example.com"
    assert check_customer("cus_ABC123") == "cus_ABC123"


@pytest.mark.parametrize(
    ("text", "currency", "fragment"),
    [
        ("", "usd", "Enter an amount in USD"),
        ("12.345", "usd", "more decimals than USD allows"),
        ("12.5", "jpy", "more decimals than JPY allows"),
        ("abc", "usd", "is not a number"),
        ("-5", "usd", "negative"),
        ("0", "usd", "zero"),
        ("0.10", "usd", "below Stripe's minimum"),
        ("1000000", "usd", "above Stripe's maximum"),
        ("5.125", "kwd", "steps of"),
    ],
)
def test_bad_amount_messages_come_from_the_money_rules(
    text: str, currency: str, fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        check_amount(text, currency)


def test_amounts_parse_to_minor_units() -> None:
    assert check_amount("12.34", "usd") == 1234
    assert check_amount("500", "jpy") == 500
    assert check_amount("1,234.50", "eur") == 123450


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("order", "line 1 'order' is not key=value"),
        ("=x", "is not key=value"),
        ("a=1\na=2", "'a' appears twice"),
        ("k" * 41 + "=v", "longer than 40 characters"),
        ("k=" + "v" * 501, "longer than 500 characters"),
        ("a[b]=1", "may not contain brackets"),
        ("\n".join(f"k{i}=v" for i in range(51)), "at most 50"),
    ],
)
def test_bad_metadata_messages(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        check_metadata(text)


def test_metadata_lines_parse() -> None:
    assert check_metadata("order = 12\n\n team=fin ance \n") == {"order": "12", "team": "fin ance"}
    assert check_metadata("") == {}


def test_payment_method_check() -> None:
    assert check_payment_method(" pm_1Abc ") == "pm_1Abc"
    assert check_payment_method("") is None
    with pytest.raises(ValueError, match="'4242 4242' is not a saved payment method id"):
        check_payment_method("4242 4242")


def test_charge_id_check() -> None:
    assert check_charge_id(" ch_123 ") == "ch_123"
    with pytest.raises(ValueError, match="'re_123' is not a charge id"):
        check_charge_id("re_123")


def test_card_catalogue_is_unique_and_named_by_effect() -> None:
    effects = [card.effect for card in TEST_CARDS]
    ids = [card.payment_method for card in TEST_CARDS]
    assert len(set(effects)) == len(effects) and len(set(ids)) == len(ids)
    assert all(card.payment_method.startswith("pm_card_") for card in TEST_CARDS)
    assert all(card.succeeds == card.effect.startswith("succeeds") for card in TEST_CARDS)
    assert card_by_effect("declined: insufficient funds").decline_code == "insufficient_funds"
    with pytest.raises(KeyError, match="no test card does 'bounces'"):
        card_by_effect("bounces")


def test_live_banner_is_red_and_says_live() -> None:
    live = mode_banner_html("live")
    assert "LIVE" in live and "#b00020" in live
    assert "SANDBOX" in mode_banner_html("sandbox") and "#b00020" not in mode_banner_html("sandbox")


def test_headline_per_currency() -> None:
    frame = charges_frame()
    frame.loc[3, "amount_refunded_minor"] = 1500  # half of the yen charge: $10.05 at its rate
    figures = headline(frame)
    expected = pd.DataFrame(
        {
            "charges": [2, 3],
            "succeeded": [1, 2],
            "failed": [1, 1],
            "gross": [3000, 3550],
            "refunded": [1500, 550],
            "fees": [pd.NA, 59 + 104 + 88],
            "net": [pd.NA, 941 + 2446 + 1922 - 550 - 1005],
            "decline_rate": [0.5, 1 / 3],
        },
        index=pd.Index(["jpy", "usd"], name="currency"),
    ).astype({c: "Int64" for c in ("charges", "succeeded", "failed", "gross", "refunded",
                                   "fees", "net")})  # fmt: skip
    pd.testing.assert_frame_equal(figures, expected)
    html = headline_html(figures)
    assert "¥3,000" in html and "$35.50" in html and "33.3%" in html and "$2.51" in html
    assert "¥88" not in html, "fees are shown in the currency they were paid in"


def test_headline_of_nothing() -> None:
    assert headline(charges_frame().iloc[0:0]).empty
    assert "No charges" in headline_html(headline(charges_frame().iloc[0:0]))


def test_charts_are_real_figures() -> None:
    frame = charges_frame()
    volume = daily_volume(frame)
    # One panel per currency, each on its own scale: ¥3000 on Nov 2; $10 and $25.50 on Nov 1/2.
    panels = {ax.get_ylabel(): ax for ax in volume.axes}
    assert set(panels) == {"JPY", "USD"}
    assert [b.get_height() for b in panels["JPY"].patches] == [0, 3000]
    assert [b.get_height() for b in panels["USD"].patches] == [10.0, 25.5]
    declines = decline_reasons(frame)
    labels = [tick.get_text() for tick in declines.axes[0].get_yticklabels()]
    assert sorted(labels) == ["expired card", "insufficient funds"]
    fees = fees_over_time(frame)
    (usd,) = fees.axes[0].get_lines()
    assert usd.get_label() == "USD" and list(usd.get_ydata()) == [0.59, 1.92]
    assert to_png(volume).startswith(b"\x89PNG")


def test_empty_charts_say_so() -> None:
    fig = decline_reasons(charges_frame().iloc[0:0])
    assert "no data" in fig.axes[0].texts[0].get_text()


def test_paged_table_pages_and_sorts() -> None:
    table = PagedTable(columns=["id", "amount_minor", "missing"], page_size=2)
    table.show(charges_frame())
    assert table.pages == 3 and table.position.value == "page 1 of 3 · 5 rows"
    assert table.prev_button.disabled and not table.next_button.disabled
    table.sort_by.value = "amount_minor"  # largest first
    assert table.html.value.index("ch_4") < table.html.value.index("ch_3")
    table.next_button.click()
    assert table.page == 1 and "ch_1" in table.html.value and "ch_4" not in table.html.value
    table.go(99)
    assert table.page == 2 and table.next_button.disabled
    assert "missing" not in table.html.value


def test_export_csv_and_excel(tmp_path: Path) -> None:
    frame = charges_frame()
    csv_path = export_csv(frame, tmp_path / "out" / "charges.csv")
    back = pd.read_csv(csv_path)
    assert back["id"].tolist() == frame["id"].tolist()
    assert back["created"][0] == "2026-11-01T10:00:00+00:00", "ISO 8601 with its offset"
    xlsx = export_excel(frame, tmp_path / "charges.xlsx")
    sheet = openpyxl.load_workbook(xlsx)["charges"]
    header = [cell.value for cell in sheet[1]]
    assert header[:2] == ["id", "created (UTC)"]
    assert sheet["C2"].value == "succeeded" and sheet["E4"].value == 2550


def test_history_table_pages_read_like_money() -> None:
    frame = charges_frame().assign(amount=0, fee=0, settlement_currency=charges_frame()["currency"])
    page = readable_page(frame)
    assert page["amount"].tolist()[:4] == ["$10.00", "$5.00", "$25.50", "¥3,000"]
    assert page["fee"].tolist()[:2] == ["$0.59", ""]
    assert page["created"][0] == "2026-11-01 10:00"
    table = PagedTable(columns=["id", "amount"], page_size=10, render=readable_page)
    table.show(frame)
    table.sort_by.value = "amount"
    assert "¥3,000" in table.html.value and "$25.50" in table.html.value


def test_widget_inputs_never_echo_card_numbers() -> None:
    # Issue 9, item 10: the forms' own checks mask card numbers and refuse them in metadata.
    for check, text in [
        (check_payment_method, "4242 4242 4242 4242"),
        (check_customer, "4242424242424242"),
        (check_charge_id, "4000-0566-5566-5556"),
        (check_metadata, "card=4242424242424242"),
    ]:
        with pytest.raises(ValueError) as caught:
            check(text)
        message = str(caught.value)
        assert "4242424242424242" not in message.replace(" ", "").replace("-", "")
        assert "4000056655665556" not in message.replace(" ", "").replace("-", "")
