"""Offline itables without a JavaScript error: load the DataTables bundle, *then* use it.

``itables.init_notebook_mode(connected=False)`` (itables 2.9) displays two outputs in this order:
first a module script that runs ``const { set_or_remove_dark_class } = await
window._itables_<version>``, then the script that defines ``window._itables_<version>`` (the
bundled DataTables). In a fresh page the first runs before the second has defined anything, so
``await undefined`` gives ``undefined`` and the browser console logs ``TypeError: Cannot
destructure property 'set_or_remove_dark_class' of undefined``, once per kernel session.
The tables still work (they wait for the bundle's ready event); only the dark-theme class is lost.

:func:`init_offline` gives one output holding both, in the right order: the bundle first,
then the dark-theme call, which also checks that the bundle is there. Tables are then shown with
``itables.show(frame, connected=False)``.
"""

from __future__ import annotations

import itables
from itables import javascript as _js
from itables import options as _options

__all__ = ["OfflineItables", "bundle_name", "init_offline", "offline_html"]


def bundle_name() -> str:
    """Return the ``window`` property under which itables' offline bundle is loaded.

    Examples
    --------
    >>> bundle_name().startswith("_itables_")
    True
    """
    return "_itables_" + itables.__version__.replace(".", "_").replace("-", "_")


def offline_html() -> str:
    """Return the HTML that loads the bundled DataTables, then applies the theme's dark class."""
    bundle = _js.generate_init_offline_itables_html(_options.dt_bundle)
    name = bundle_name()
    theme = (
        '<script type="module">\n'
        f"const bundle = window.{name};  // defined by the script above\n"
        "if (bundle) { (await bundle).set_or_remove_dark_class(); }\n"
        "</script>"
    )
    return bundle + "\n" + theme


class OfflineItables:
    """What :func:`init_offline` returns: shown by a notebook as :func:`offline_html`."""

    def _repr_html_(self) -> str:
        return offline_html()


def init_offline() -> OfflineItables:
    """Return the set-up to display once, before any ``itables.show(..., connected=False)``.

    In a notebook: ``display(init_offline())``, or end a cell with ``init_offline()``.
    """
    return OfflineItables()
