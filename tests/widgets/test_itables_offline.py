"""The offline itables set-up defines the DataTables bundle before any script reads it."""

from __future__ import annotations

from typing import Any

import IPython.display
import itables
import pytest

from billing_kit.widgets.itables_offline import bundle_name, init_offline, offline_html


def _defined_at(html: str, name: str) -> int:
    return html.find(f"window.{name} = ")


def _first_read_at(html: str, name: str) -> int:
    return html.find(f"await window.{name}")


def test_itables_own_init_reads_the_bundle_before_defining_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cause of the console error: in the order itables displays its two outputs, the first
    awaits ``window._itables_<version>`` and destructures it, the second defines it."""
    name = bundle_name()
    shown: list[Any] = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    itables.init_notebook_mode(all_interactive=False, connected=False)
    first, second = (out.data for out in shown)
    assert f"const {{ set_or_remove_dark_class }} = await window.{name}" in first
    assert _defined_at(first, name) == -1 and _defined_at(second, name) >= 0


def test_our_init_defines_the_bundle_first_and_guards_the_theme_call() -> None:
    name = bundle_name()
    html = offline_html()
    defined = _defined_at(html, name)
    assert defined >= 0
    theme = html.index("set_or_remove_dark_class")
    assert defined < theme, "the bundle is defined before the theme script uses it"
    assert f"const bundle = window.{name};" in html and "if (bundle)" in html
    assert "unpkg.com" not in html and "https://" not in html.split("<script")[0]
    assert init_offline()._repr_html_() == html


def test_tables_shown_offline_wait_for_the_same_bundle() -> None:
    import pandas as pd

    table = itables.to_html_datatable(pd.DataFrame({"a": [1, 2]}), connected=False)
    assert f"window.{bundle_name()}" in table and "unpkg.com" not in table
