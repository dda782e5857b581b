"""Base for the package's anywidget widgets: front end loaded from ``static/``."""

from __future__ import annotations

import functools
import pathlib

import anywidget

from gladier_jupyter.errors import GladierJupyterError

STATIC = pathlib.Path(__file__).resolve().parent.parent / "static"


@functools.cache
def static_asset(name: str) -> str:
    """Text of a built front-end file, or a clear error when the front end was not built."""
    path = STATIC / name
    if not path.is_file():
        raise GladierJupyterError(
            f"The widget front end {name!r} is missing from {STATIC}; "
            "build it with 'npm install && npm run build' (or 'make lab')."
        )
    return path.read_text(encoding="utf-8")


class GladierWidget(anywidget.AnyWidget):
    """An anywidget whose ES module is ``static/<_entry>.js``, read on first use.

    Subclasses set ``_entry``. Reading the module when the first widget is made (not at
    import) keeps imports cheap and gives a clear error if the front end was not built.
    """

    _entry: str = ""

    def __init__(self, *args: object, **kwargs: object) -> None:
        if self._entry:
            self._esm = static_asset(f"{self._entry}.js")
        super().__init__(*args, **kwargs)
