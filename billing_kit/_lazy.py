"""Packages that import their public names on first use (PEP 562), so importing them is cheap.

``import billing_kit`` (and the ``billing-kit`` command line) would otherwise import stripe,
pandas, pyarrow and openpyxl, about two seconds of CPU, before doing anything.
Type checkers see the names through ``if TYPE_CHECKING:`` imports in the package; the lazy hooks
are defined only outside type checking, so a misspelt name is still an error for mypy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, modules: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return the module ``__getattr__`` and ``__dir__`` for ``package``.

    Parameters
    ----------
    package
        The package's ``__name__``.
    modules
        Each module and the public names it provides.

    Examples
    --------
    >>> getattr_, dir_ = lazy_exports("json", {"json.decoder": ["JSONDecoder"]})
    >>> getattr_("JSONDecoder").__module__
    'json.decoder'
    >>> "JSONDecoder" in dir_()
    True
    >>> getattr_("JSONDecodr")
    Traceback (most recent call last):
    AttributeError: module 'json' has no attribute 'JSONDecodr'
    """
    where = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace = importlib.import_module(package).__dict__
        namespace[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        namespace = importlib.import_module(package).__dict__
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
