"""JSONPath as flows use it: one parser for the definition checks and the local flow engine.

A leaf module (it imports nothing from the package). Every path is parsed by jsonpath-ng's
extended grammar (which has the ``[?(...)]`` filters JSONPath users expect); what it accepts
is valid everywhere, and nothing else is. A path that names one place from the root through
names and indexes (``$.a['b c'][0]``) is a *Reference Path*, in the States Language's
words: it is walked directly, and it is the only kind a ResultPath may be
(https://states-language.net/spec.html#ref-paths).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing as t

__all__ = ["JSONPathError", "PathMatchError", "MISSING", "Path", "compile_path"]


class JSONPathError(ValueError):
    """A flow path is ill-formed, or cannot be applied where it is used (one line)."""


class PathMatchError(JSONPathError):
    """A well-formed path cannot be written into this document (e.g. through a list)."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: What :meth:`Path.find` returns when a path selects nothing.
MISSING: t.Any = _Missing()

_MULTI = ("*", "..", "?", ":", ",")


def _short(value: t.Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclasses.dataclass(frozen=True)
class Path:
    """A parsed flow path; ``steps`` is its names and indexes when it is a Reference Path."""

    text: str
    tree: t.Any = dataclasses.field(repr=False, compare=False)
    steps: tuple[str | int, ...] | None
    leading: tuple[str | int, ...]  # the names and indexes before the first other part

    @property
    def is_reference(self) -> bool:
        return self.steps is not None

    def find(self, doc: t.Any) -> t.Any:
        """The value at this path (a list when the path may select several), or MISSING."""
        if self.steps is not None:
            cur = doc
            for step in self.steps:
                if isinstance(step, int):
                    if not isinstance(cur, list) or not -len(cur) <= step < len(cur):
                        return MISSING
                elif not isinstance(cur, dict) or step not in cur:
                    return MISSING
                cur = cur[step]
            return cur
        try:
            matches = [m.value for m in self.tree.find(doc)]
        except Exception as exc:  # noqa: BLE001 - jsonpath-ng's own, e.g. a filter on a string
            raise JSONPathError(f"JSONPath {_short(self.text)} cannot be applied to this state: "
                                f"{type(exc).__name__}.") from None
        if not matches:
            # A slice of a list that is there selects an empty list, as most JSONPath
            # implementations answer (e.g. ``$.xs[1:]`` of a one-item list); Globus's
            # automate-client example complex-hello-world loops until that slice is [].
            sliced = re.match(r"^(.*?)\[\s*-?\d*\s*:[\s\d:-]*\]$", self.text)
            if sliced and sliced.group(1) and isinstance(_listed(sliced.group(1), doc), list):
                return []
            return MISSING
        multi = any(op in self.text for op in _MULTI)
        return matches[0] if len(matches) == 1 and not multi else matches

    def assign(self, doc: t.Any, value: t.Any) -> t.Any:
        """A copy of ``doc`` with ``value`` at this path, missing objects created on the way.

        Copy-on-write: only the objects and lists along the path are copied (shallowly);
        ``doc`` itself is left as it is and the new document shares every other part with
        it, so a reader holding ``doc`` (a log entry not stored yet, the data a state
        started with) keeps seeing what it held, without a deep copy of the whole document.

        Raises :class:`PathMatchError` when the path is not a Reference Path or runs into
        something that is not an object (for a name) or a list holding the index.
        """
        if self.steps is None:
            raise PathMatchError(f"JSONPath {_short(self.text)} may select several places; a "
                                 "ResultPath names one, such as '$.result' or '$.out[0]'.")
        if not self.steps:
            return value
        root: t.Any = None
        parent: t.Any = None
        cur = doc
        last = len(self.steps) - 1
        for i, step in enumerate(self.steps):
            if isinstance(step, int):
                if not isinstance(cur, list) or not -len(cur) <= step < len(cur):
                    where = "$" if i == 0 else _join(self.steps[:i])
                    what = (f"a list of {len(cur)}" if isinstance(cur, list)
                            else f"{type(cur).__name__} {_short(cur, 40)}")
                    raise PathMatchError(f"Cannot write {_short(self.text)}: {where} is {what}, "
                                         f"which has no index {step}.")
                cur = list(cur)
            elif isinstance(cur, dict):
                cur = dict(cur)
            else:
                where = "$" if i == 0 else _join(self.steps[:i])
                raise PathMatchError(f"Cannot write {_short(self.text)}: {where} is "
                                     f"{type(cur).__name__} {_short(cur, 40)}, not an object "
                                     f"that could hold {step!r}.")
            if parent is None:
                root = cur
            else:
                parent[self.steps[i - 1]] = cur
            if i == last:
                cur[step] = value
            else:
                parent = cur
                if isinstance(step, int):
                    cur = cur[step]
                else:  # a missing (or null) object on the way is created
                    nxt = cur.get(step)
                    cur = {} if nxt is None else nxt
        return root


def _listed(text: str, doc: t.Any) -> t.Any:
    """What the Reference Path ``text`` names in ``doc`` (None when it is not one)."""
    try:
        base = compile_path(text)
    except JSONPathError:
        return None
    return base.find(doc) if base.is_reference else None


def _join(steps: t.Sequence[str | int]) -> str:
    out = "$"
    for step in steps:
        if isinstance(step, int):
            out += f"[{step}]"
        elif step.isidentifier():
            out += f".{step}"
        else:
            out += f"[{step!r}]"
    return out


def _flatten(tree: t.Any) -> list[t.Any] | None:
    """The parts of ``$.a.b[0]`` from the root, or None when it is not a chain from ``$``."""
    from jsonpath_ng.jsonpath import Child, Root

    parts: list[t.Any] = []
    node = tree
    while isinstance(node, Child):
        parts.append(node.right)
        node = node.left
    if not isinstance(node, Root):
        return None
    parts.reverse()
    return parts


def _step(node: t.Any) -> str | int | None:
    from jsonpath_ng.jsonpath import Fields, Index

    if type(node) is Fields and len(node.fields) == 1 and node.fields[0] != "*":
        return str(node.fields[0])
    if type(node) is Index and len(node.indices) == 1:
        return int(node.indices[0])
    return None


@functools.lru_cache(maxsize=4096)
def _compile(text: str) -> Path:
    from jsonpath_ng.ext import parse  # builds its parser tables on first use: keep it lazy

    if text != text.strip():
        raise JSONPathError(f"JSONPath {_short(text)} has spaces around it; remove them.")
    try:
        tree = parse(text)
    except Exception as exc:  # noqa: BLE001 - jsonpath-ng raises plain Exception subclasses
        detail = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else ""
        raise JSONPathError(
            f"JSONPath {_short(text)} is ill-formed ({detail or type(exc).__name__}); write it like "
            "'$.input.name' or '$.Step.details.result[0]'.") from None
    if _has_regex_filter(tree):
        # jsonpath-ng runs '=~' with Python's backtracking re: '(x+x+)+y' takes exponential
        # time on the engine's thread. Refused, as the check did before one parser served both.
        raise JSONPathError(
            f"JSONPath {_short(text)} uses a regular-expression filter (=~), which flows may not "
            "use (a pattern can take exponential time); compare with ==, !=, <, > or use a .= "
            "expression instead.")
    parts = _flatten(tree)
    leading: list[str | int] = []
    for node in parts or []:
        step = _step(node)
        if step is None:
            break
        leading.append(step)
    steps = tuple(leading) if parts is not None and len(leading) == len(parts) else None
    return Path(text=text, tree=tree, steps=steps, leading=tuple(leading))


def _has_regex_filter(node: t.Any, depth: int = 0) -> bool:
    """True if the parsed path holds a ``=~`` filter anywhere (bounded walk)."""
    if depth > 200:
        return True  # deeper than any path a person writes: refuse rather than recurse on
    if getattr(node, "op", None) == "=~":
        return True
    children: list[t.Any] = []
    for value in vars(node).values() if hasattr(node, "__dict__") else ():
        if isinstance(value, (list, tuple)):
            children.extend(value)
        else:
            children.append(value)
    return any(_has_regex_filter(c, depth + 1) for c in children
               if hasattr(c, "__dict__") and type(c).__module__.startswith("jsonpath_ng"))


def compile_path(text: t.Any) -> Path:
    """Parse a flow path (cached); raise :class:`JSONPathError` with the fix if it is bad."""
    if not isinstance(text, str):
        raise JSONPathError(f"JSONPath {_short(text)} is not a string; a flow path is a string "
                            "starting with '$', such as '$.input.name'.")
    if not text.startswith("$"):
        raise JSONPathError(f"JSONPath {_short(text)} does not start with '$'; flow paths are "
                            f"absolute, for example {'$.' + text.strip().lstrip('.')!r}.")
    return _compile(text)


def warm_up() -> None:
    """Build jsonpath-ng's parser now rather than in the first run."""
    compile_path("$.warm[?(@.up > 1)]")
