"""The flow engine's reads and writes on a run's document, in the package's one JSONPath.

Parsing and the rules are :mod:`gladier_jupyter.jsonpath`'s, the same the definition check
uses, so a path the service accepted at create time is one the engine can apply. A write it
cannot make raises :class:`PathError`, which the engine reports as
``States.ResultPathMatchFailure`` (catchable by a ``Catch``).
"""

from __future__ import annotations

import typing as t

from gladier_jupyter.jsonpath import MISSING, JSONPathError, compile_path, warm_up

__all__ = ["PathError", "MISSING", "get_path", "set_path", "warm_up"]

#: Raised for an ill-formed path and for a write that cannot be made.
PathError = JSONPathError


def get_path(doc: t.Any, path: str) -> t.Any:
    """The value at ``path`` (a list when a path may match several), or MISSING."""
    return compile_path(path).find(doc)


def set_path(doc: t.Any, path: str, value: t.Any) -> t.Any:
    """A new doc: ``doc`` with ``value`` stored at ``path`` (creating objects on the way).

    ``doc`` is not changed (copy-on-write along the path, the rest shared): the engine keeps
    earlier run data in log entries and start data without copying it whole."""
    return compile_path(path).assign(doc, value)
