"""Paths into a definition and its input: where a problem is, JSONPaths parsed, input keys."""

from __future__ import annotations

import typing as t

from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.flowdef.language import _IDENT
from gladier_jupyter.jsonpath import JSONPathError, Path, compile_path

__all__ = ["state_path", "parse_jsonpath", "input_key"]


def _key(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENT.match(key):
        return f"{path}.{key}"
    return f"{path}[{key!r}]"


def state_path(name: str, *keys: str | int) -> str:
    """JSONPath of a state (or a field inside it) within the definition."""
    path = _key("$.States", name)
    for key in keys:
        path = _key(path, key)
    return path


def parse_jsonpath(expr: t.Any) -> Path:
    """Parse a flow JSONPath (``$.a.b[0]``) as the engine does; raise a usage error if bad."""
    try:
        return compile_path(expr)
    except JSONPathError as exc:
        raise GladierJupyterUsageError(str(exc)) from None




def input_key(path: str) -> str | None:
    """The ``$.input.<key>`` key a JSONPath reads, or None (``$.input`` itself gives None)."""
    try:
        leading = parse_jsonpath(path).leading
    except GladierJupyterUsageError:
        return None
    if len(leading) >= 2 and leading[0] == "input" and isinstance(leading[1], str):
        return leading[1]
    return None


def _join(base: str | None, rel: str) -> str:
    """The absolute path of ``rel`` read after ``InputPath`` ``base`` selected the input."""
    if not base or base == "$" or not rel.startswith("$"):
        return rel
    return base + rel[1:]
