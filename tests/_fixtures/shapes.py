"""Comparing a service's answer with a recorded Globus document, key by key, type by type.

The references are globus-sdk's own recorded responses (``globus_sdk.testing``); the local
service must answer in the same shape, with its own values.
"""

from __future__ import annotations

import re
import typing as t

__all__ = ["shape_problems"]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _named(path: str, names: t.Collection[str]) -> bool:
    """``path`` is in ``names``, given as whole paths (``$.a.b``) or as bare key names (``b``)."""
    return path in names or path.rsplit(".", 1)[-1] in names


def shape_problems(actual: t.Any, reference: t.Any, *, path: str = "$",
                   extra: t.Collection[str] = (), any_extra: bool = False,
                   null_ok: t.Collection[str] = (), free: t.Collection[str] = (),
                   filled: bool = False, each_item: bool = True) -> list[str]:
    """Where ``actual`` differs in shape from ``reference``: one line per difference.

    Objects have the reference's keys with values of the same kind (a number is a number,
    a boolean is not one); a list's items each have the shape of the reference's first
    item; an object keyed by ids (one id key in the reference) may hold any ids. Allowed
    differences: ``extra``, keys the service adds (or any key, with ``any_extra``);
    ``null_ok``, places where one side is null and the other is not; ``free``, keys
    whose values are the user's own data (a definition, a run's input): only there.
    With ``filled``, a list is not empty where the reference's is not; without ``each_item``
    only a list's first item is compared (lists whose items differ, like a log's entries).
    ``extra``, ``null_ok`` and ``free`` take paths (``$.details.endpoint_id``) or key names.
    """
    options: dict[str, t.Any] = dict(extra=extra, any_extra=any_extra, null_ok=null_ok, free=free,
                                   filled=filled, each_item=each_item)
    if (actual is None or reference is None) and _named(path, null_ok):
        return []
    if _kind(actual) != _kind(reference):
        return [f"{path}: {_kind(actual)} where Globus sends {_kind(reference)}"]
    problems: list[str] = []
    if isinstance(reference, dict) and len(reference) == 1 and _UUID.match(next(iter(reference))):
        if not actual:
            return [f"{path}: empty where Globus sends a map keyed by ids"]
        sample = next(iter(reference.values()))
        for key, value in actual.items():
            if not _UUID.match(key):
                problems.append(f"{path}: key {key!r} is not an id")
            problems += shape_problems(value, sample, path=f"{path}.<id>", **options)
    elif isinstance(reference, dict):
        for key, value in reference.items():
            where = f"{path}.{key}"
            if key not in actual:
                problems.append(f"{where}: missing (Globus sends it)")
            elif not _named(where, free):
                problems += shape_problems(actual[key], value, path=where, **options)
        if not any_extra:
            problems += [f"{path}.{key}: not in the Globus document" for key in actual
                         if key not in reference and not _named(f"{path}.{key}", extra)]
    elif isinstance(reference, list) and reference:
        if not actual and filled:
            problems.append(f"{path}: empty where Globus sends items")
        for i, item in enumerate(actual if each_item else actual[:1]):
            problems += shape_problems(item, reference[0], path=f"{path}[{i}]", **options)
    return problems
