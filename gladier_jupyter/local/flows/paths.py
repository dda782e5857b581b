"""JSONPath reads and writes on a run's flow document.

Plain paths (``$.a.b[0]['c d']``) are walked directly, which is what nearly every flow
uses; anything else (wildcards, filters, slices, ``..``) goes to jsonpath-ng.
"""

from __future__ import annotations

import functools
import re
import typing as t

__all__ = ["PathError", "MISSING", "get_path", "set_path", "is_simple"]


class PathError(ValueError):
    pass


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: t.Any = _Missing()

_TOKEN = re.compile(
    r"""\.(?P<name>[A-Za-z_$@][\w$@-]*)      # .name
      | \[(?P<index>-?\d+)\]                 # [0]
      | \[(?P<q>['"])(?P<key>.*?)(?P=q)\]    # ['key']
    """,
    re.VERBOSE,
)


@functools.lru_cache(maxsize=4096)
def _simple_tokens(path: str) -> tuple[t.Any, ...] | None:
    if path == "$":
        return ()
    if not path.startswith("$"):
        return None
    pos, out = 1, []
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None:
            return None
        if m.group("name") is not None:
            out.append(m.group("name"))
        elif m.group("index") is not None:
            out.append(int(m.group("index")))
        else:
            out.append(m.group("key"))
        pos = m.end()
    return tuple(out)


def is_simple(path: str) -> bool:
    return _simple_tokens(path) is not None


@functools.lru_cache(maxsize=1024)
def _compiled(path: str) -> t.Any:
    from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
    from jsonpath_ng.ext import parse

    try:
        return parse(path)
    except (JsonPathLexerError, JsonPathParserError, Exception) as exc:
        raise PathError(f"{path!r} is not a valid JSONPath: {exc}") from None


def check_path(path: t.Any) -> None:
    """Raise :class:`PathError` unless ``path`` is a JSONPath starting with ``$``."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise PathError(f"{path!r} is not a JSONPath (it must start with '$').")
    if _simple_tokens(path) is None:
        _compiled(path)


def get_path(doc: t.Any, path: str) -> t.Any:
    """The value at ``path`` (a list when a non-simple path matches several), or MISSING."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise PathError(f"{path!r} is not a JSONPath (it must start with '$').")
    tokens = _simple_tokens(path)
    if tokens is not None:
        cur = doc
        for tok in tokens:
            if isinstance(tok, int):
                if not isinstance(cur, list) or not -len(cur) <= tok < len(cur):
                    return MISSING
            elif not isinstance(cur, dict) or tok not in cur:
                return MISSING
            cur = cur[tok]
        return cur
    matches = [m.value for m in _compiled(path).find(doc)]
    if not matches:
        return MISSING
    return matches[0] if len(matches) == 1 and not _is_multi(path) else matches


def _is_multi(path: str) -> bool:
    return any(c in path for c in ("*", "..", "?", ":", ","))


def set_path(doc: t.Any, path: str, value: t.Any) -> t.Any:
    """``doc`` with ``value`` stored at ``path`` (creating objects on the way); returns the doc."""
    tokens = _simple_tokens(path)
    if tokens is None:
        _compiled(path).update_or_create(doc, value)
        return doc
    if not tokens:
        return value
    if not isinstance(doc, dict):
        doc = {}
    cur = doc
    for tok, nxt in zip(tokens, tokens[1:], strict=False):
        if isinstance(tok, int):
            if not isinstance(cur, list) or not -len(cur) <= tok < len(cur):
                raise PathError(f"Cannot write {path!r}: index {tok} is out of range.")
            if not isinstance(cur[tok], (dict, list)):
                cur[tok] = [] if isinstance(nxt, int) else {}
            cur = cur[tok]
        else:
            child = cur.get(tok)
            if not isinstance(child, (dict, list)):
                child = {}
                cur[tok] = child
            cur = child
    last = tokens[-1]
    if isinstance(last, int):
        if not isinstance(cur, list) or not -len(cur) <= last < len(cur):
            raise PathError(f"Cannot write {path!r}: index {last} is out of range.")
        cur[last] = value
    else:
        if not isinstance(cur, dict):
            raise PathError(f"Cannot write {path!r}: its parent is not an object.")
        cur[last] = value
    return doc


def warm_up() -> None:
    _compiled("$.warm[?(@.up > 1)]")
