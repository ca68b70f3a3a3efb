"""Every picture the docs show exists in the repository (docs/screenshots/ is made by
``make screenshots``, from the browser tests' screenshots)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
# Markdown images ![alt](path "title") and HTML <img src="path">.
_IMAGE = re.compile(
    r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|<img[^>]+src=\"([^\"]+)\""
)


def images(markdown: str) -> list[str]:
    """The local paths of the images ``markdown`` shows (web addresses are left out).

    Examples
    --------
    >>> images('![a](shots/a.png) <img src="b.png" width=3> ![c](https://x/c.png)')
    ['shots/a.png', 'b.png']
    """
    found = [a or b for a, b in _IMAGE.findall(markdown)]
    return [path for path in found if not re.match(r"[a-z]+:", path)]


def test_images_finds_markdown_and_html_pictures() -> None:
    text = '![a](shots/a.png) <img src="b.png" width=3> ![c](https://x/c.png) [link](d.png)'
    assert images(text) == ["shots/a.png", "b.png"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_every_image_a_doc_shows_exists(doc: Path) -> None:
    missing = [p for p in images(doc.read_text()) if not (doc.parent / p.split("#")[0]).is_file()]
    assert not missing, f"{doc.relative_to(ROOT)} shows images that do not exist: {missing}"


def test_notebooks_doc_shows_each_form() -> None:
    shown = images((ROOT / "docs" / "notebooks.md").read_text())
    for form in ("charge-form", "batch-form", "refund-form", "history-browser", "ledger-view"):
        assert any(form in path for path in shown), f"docs/notebooks.md shows no {form} picture"
