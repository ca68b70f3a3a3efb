"""billing_kit's public names: one sorted __all__, every name importable and documented."""

from __future__ import annotations

import pytest

import billing_kit
import billing_kit.history


def _isort_key(name: str) -> tuple[int, str]:
    # The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions, each alphabetical.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_unique() -> None:
    names = billing_kit.__all__
    assert names == sorted(names, key=_isort_key) and len(names) == len(set(names))


def test_all_public_members_are_exported() -> None:
    public = {
        name
        for name, value in vars(billing_kit).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("billing_kit")
    }
    assert public - set(billing_kit.__all__) == set()


def test_exported_members_exist_and_have_docstrings() -> None:
    for name in billing_kit.__all__:
        member = getattr(billing_kit, name)
        if callable(member):
            assert member.__doc__, f"{name} has no docstring"
            assert getattr(member, "__module__", "").startswith("billing_kit"), name


@pytest.mark.parametrize("package", [billing_kit, billing_kit.history])
def test_lazily_imported_names_are_exactly_the_exported_ones(package: object) -> None:
    # Public names are imported on first use (billing_kit/_lazy.py): each name in __all__ must
    # resolve, and the lazy table must offer nothing that is not exported.
    names: list[str] = package.__all__  # type: ignore[attr-defined]
    offered = {name for name in dir(package) if not name.startswith("_")}
    submodules = {name for name in offered if type(getattr(package, name)).__name__ == "module"}
    assert offered - submodules - {"annotations", "TYPE_CHECKING"} == set(names)
    assert all(getattr(package, name) is not None for name in names)
    with pytest.raises(AttributeError, match="no attribute 'conect'"):
        package.conect  # type: ignore[attr-defined]  # noqa: B018
