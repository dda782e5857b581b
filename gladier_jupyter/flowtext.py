"""Flow-definition text (JSON or YAML) into a definition dict, bounded in size and shape.

A leaf module (it imports nothing from the package but ``errors``). Text reaches it from
files the user opens in JupyterLab and from saved notebook outputs, which may come from
someone else: a few hundred bytes of YAML aliases can stand for gigabytes, so aliases and
anchors are refused, the text is capped, and the parsed value is capped in depth and size.
Reading a file is the caller's business: this module never takes a path.
"""

from __future__ import annotations

import functools
import json
import typing as t

from gladier_jupyter.errors import GladierJupyterUsageError

if t.TYPE_CHECKING:
    import yaml

__all__ = [
    "MAX_TEXT_CHARS",
    "MAX_DEPTH",
    "MAX_VALUES",
    "UnsafeDefinitionError",
    "check_shape",
    "parse_text",
    "yaml_loader",
]

#: Longest definition text read (Globus flow definitions are a few KB to a few hundred KB).
MAX_TEXT_CHARS = 1_000_000
#: Deepest nesting of objects and lists in a definition.
MAX_DEPTH = 64
#: Most values (objects, lists, keys, scalars) in a definition.
MAX_VALUES = 200_000


class UnsafeDefinitionError(GladierJupyterUsageError):
    """Definition text refused before it is used: too large, too deep, or YAML aliases."""


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def yaml_loader(what: str = "The flow definition text") -> type:
    """A PyYAML loader class (for ``yaml.load``) that refuses anchors, aliases and deep
    nesting with :class:`UnsafeDefinitionError` messages starting with ``what``."""
    return type("NoAliasLoader", (_loader(),), {"what": what})


@functools.lru_cache(maxsize=1)
def _loader() -> type:
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        """PyYAML's safe loader without anchors and aliases, and with a depth limit.

        The composer is where aliases are resolved: refusing the event there means no
        shared node is ever built. Timestamps stay strings, as in JSON (a Wait state's
        ``Timestamp`` is a string to Globus).
        """

        _depth = 0
        what = "The flow definition text"

        def compose_node(self, parent: t.Any, index: t.Any) -> t.Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                kind = "alias" if isinstance(event, yaml.AliasEvent) else "anchor"
                sign = "*" if kind == "alias" else "&"
                raise UnsafeDefinitionError(
                    f"{self.what} uses a YAML {kind} ({sign}{_clip(str(event.anchor), 30)}) at "
                    f"line {event.start_mark.line + 1}, which is refused (aliases can expand a "
                    "few bytes into gigabytes); write the repeated part out, or use JSON.")
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    raise UnsafeDefinitionError(
                        f"{self.what} nests deeper than {MAX_DEPTH} levels at line "
                        f"{event.start_mark.line + 1}; a flow definition is a few levels deep, "
                        "so flatten it.")
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

    NoAliasLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)
    return NoAliasLoader


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    """A YAML timestamp stays the text it was written as (JSON has no dates either)."""
    return str(loader.construct_yaml_str(node))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_text(text: str, *, json_only: bool = False,
               what: str = "The flow definition text") -> dict[str, t.Any]:
    """The definition object a JSON (or, unless ``json_only``, YAML) text holds.

    Raises :class:`UnsafeDefinitionError` for text refused on safety grounds (size, depth,
    YAML aliases) and :class:`GladierJupyterUsageError` for text that is not a definition;
    both carry one line starting with ``what``.
    """
    if not isinstance(text, str):
        raise GladierJupyterUsageError(
            f"{what} is a {type(text).__name__}, not a string; give the JSON or YAML text.")
    if len(text) > MAX_TEXT_CHARS:
        raise UnsafeDefinitionError(
            f"{what} is {_mb(len(text))} long, over the {_mb(MAX_TEXT_CHARS)} a flow "
            "definition may be; split the flow or remove what it does not need.")
    try:
        value = json.loads(text)
    except RecursionError:
        raise UnsafeDefinitionError(
            f"{what} nests deeper than {MAX_DEPTH} levels; a flow definition is a few levels "
            "deep, so flatten it.") from None
    except ValueError as exc:
        if json_only:
            raise GladierJupyterUsageError(
                f"{what} is not JSON ({exc}); give a JSON object with 'StartAt' and "
                "'States'.") from None
        value = _parse_yaml(text, what)
    check_shape(value, what)
    if not isinstance(value, dict):
        raise GladierJupyterUsageError(
            f"{what} {_clip(text.strip(), 40)!r} is not a JSON/YAML object; a definition is "
            "an object with 'StartAt' and 'States'.")
    return value


def _parse_yaml(text: str, what: str) -> t.Any:
    import yaml

    loader = _loader()(text)
    loader.what = what
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = _clip(str(getattr(exc, "problem", None) or exc).splitlines()[0], 120)
        raise GladierJupyterUsageError(
            f"{what} is neither JSON nor YAML (YAML error{where}: {problem}); give a "
            "JSON/YAML object with 'StartAt' and 'States'.") from None
    finally:
        loader.dispose()


_JSON_SCALARS = (str, int, float, bool, type(None))


def check_shape(value: t.Any, what: str = "The flow definition") -> None:
    """Refuse a value deeper than :data:`MAX_DEPTH`, with more than :data:`MAX_VALUES`
    values, or holding anything but JSON types (a set, bytes or a date from YAML tags).

    The walk counts a value reachable twice twice, and stops at the limit, so it is bounded
    even for a dict built with shared parts or cycles.
    """
    stack: list[tuple[t.Any, int]] = [(value, 1)]
    count = 0
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise UnsafeDefinitionError(
                f"{what} holds more than {MAX_VALUES:,} values; a flow definition holds a few "
                "thousand, so split the flow.")
        if depth > MAX_DEPTH:
            raise UnsafeDefinitionError(
                f"{what} nests deeper than {MAX_DEPTH} levels; a flow definition is a few "
                "levels deep, so flatten it.")
        if isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    raise GladierJupyterUsageError(
                        f"{what} has a key of type {type(key).__name__}; keys are strings.")
                stack.append((sub, depth + 1))
        elif isinstance(item, list):
            stack.extend((sub, depth + 1) for sub in item)
        elif not isinstance(item, _JSON_SCALARS):
            raise GladierJupyterUsageError(
                f"{what} holds a {type(item).__name__} value, which JSON has no type for; use "
                "strings, numbers, booleans, null, lists and objects only.")
