"""A flow's ``input_schema``: checked when the flow is saved, applied to each run's input
(a JSON Schema, https://docs.globus.org/api/flows/input-schema; Draft 7 here).

JSON Schema's ``pattern`` and ``patternProperties`` are regular expressions (ECMA-262
dialect, JSON Schema Validation section 4.3). jsonschema matches them with Python's
backtracking ``re``, where ``^(a+)+$`` against ``'a' * 30 + '!'`` runs for minutes while
holding the service's HTTP loop. Here they are matched with RE2 (google-re2), whose time is
linear in the input: RE2 has no lookaround and no backreferences, so a pattern using them
(or one larger than RE2's memory budget) is refused when the flow is saved, in one line.
"""

from __future__ import annotations

import functools
import typing as t

__all__ = ["input_problems", "input_errors", "schema_problems"]

Problem = tuple[list[t.Any], str, str]


class _PatternError(ValueError):
    pass


def _shown(value: str, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> t.Any:
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print each refused pattern on the service's stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(
            exc.args[0], bytes) else str(exc)
        raise _PatternError(
            f"The input_schema pattern {_shown(pattern)} cannot be used ({_shown(reason, 80)[1:-1]}): "
            "the local service matches patterns in linear time with RE2, which has no lookaround "
            "(?=...) (?!...) and no backreferences \\1; rewrite the pattern without them."
        ) from None


def _search(pattern: str, text: str) -> bool:
    return _compile(pattern).search(text) is not None


# Keyword functions of the validator class (same arguments as jsonschema's own ones).


def _pattern(validator: t.Any, pattern: str, instance: t.Any, schema: t.Any) -> t.Iterator[t.Any]:
    from jsonschema import ValidationError

    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield ValidationError(f"{_shown(instance)} does not match {pattern!r}")


def _pattern_properties(validator: t.Any, patterns: dict[str, t.Any], instance: t.Any,
                        schema: t.Any) -> t.Iterator[t.Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: t.Any, additional: t.Any, instance: t.Any,
                           schema: t.Any) -> t.Iterator[t.Any]:
    from jsonschema import ValidationError

    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [k for k in instance if k not in known and not any(_search(p, k) for p in patterns)]
    if validator.is_type(additional, "object"):
        for key in extras:
            yield from validator.descend(instance[key], additional, path=key)
    elif additional is False and extras:
        listed = ", ".join(_shown(k) for k in sorted(extras)[:10]) + (", ..." if len(extras) > 10 else "")
        if patterns:
            yield ValidationError(f"{listed} {'does' if len(extras) == 1 else 'do'} not match any "
                                  f"of the regexes: {', '.join(map(repr, sorted(patterns)))}")
        else:
            yield ValidationError(f"Additional properties are not allowed ({listed} "
                                  f"{'was' if len(extras) == 1 else 'were'} unexpected)")


@functools.lru_cache(maxsize=1)
def _validator_class() -> t.Any:
    import jsonschema

    return jsonschema.validators.extend(jsonschema.Draft7Validator, {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    })


# Keywords whose values are data, not schemas: a {"pattern": ...} inside them is no regex.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})
# Keywords whose values map names to schemas: their keys are names, never keywords.
_NAMED_SCHEMAS = frozenset({"properties", "definitions", "$defs", "dependencies"})


def _patterns(schema: t.Any) -> t.Iterator[tuple[list[t.Any], str]]:
    todo: list[tuple[t.Any, list[t.Any], bool]] = [(schema, [], False)]
    while todo:  # no recursion: a schema may be nested thousands of levels deep
        node, loc, named = todo.pop()
        if isinstance(node, list):
            todo.extend((v, [*loc, i], False) for i, v in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        if named:
            todo.extend((v, [*loc, k], False) for k, v in node.items())
            continue
        if isinstance(node.get("pattern"), str):
            yield [*loc, "pattern"], node["pattern"]
        if isinstance(node.get("patternProperties"), dict):
            for key in node["patternProperties"]:
                yield [*loc, "patternProperties", key], key
        for key, value in node.items():
            if key not in _DATA_KEYWORDS and key != "pattern":
                todo.append((value, [*loc, key], key in _NAMED_SCHEMAS or key == "patternProperties"))


def schema_problems(schema: t.Any) -> list[Problem]:
    """What makes ``schema`` unusable as an input_schema (``(loc, msg, type)``; [] if none)."""
    if not isinstance(schema, dict):
        return [(["input_schema"], "The input_schema must be a JSON object.", "type_error")]
    import jsonschema

    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return [(["input_schema", *exc.path],
                 f"The input_schema is not a valid JSON schema: {exc.message}", "value_error")]
    problems: list[Problem] = []
    for loc, pattern in _patterns(schema):
        try:
            _compile(pattern)
        except _PatternError as exc:
            problems.append((["input_schema", *loc], str(exc), "value_error.regex"))
    return problems


def input_problems(schema: t.Any, flow_input: t.Any) -> list[Problem]:
    """Where ``flow_input`` breaks ``schema`` (``(loc, msg, type)`` under ``body``)."""
    if not schema:
        return []
    validator = _validator_class()(schema)
    try:
        errors = sorted(validator.iter_errors(flow_input), key=lambda e: [str(p) for p in e.absolute_path])
    except _PatternError as exc:  # a flow saved before patterns were checked
        return [(["input_schema"], str(exc), "value_error.regex")]
    return [(["body", *err.absolute_path], err.message, f"jsonschema.{err.validator}") for err in errors]


def _jsonpath(parts: t.Iterable[t.Any]) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{_shown(str(part), 80)}]"
    return out


def input_errors(schema: t.Any, flow_input: t.Any) -> list[tuple[str, str]]:
    """Where ``flow_input`` breaks ``schema``, as ``(JSONPath, message)`` pairs: the ``loc``
    Globus answers with (``["$.bool"]`` in globus-sdk's ``flows.validate_run`` fixture)."""
    if not schema:
        return []
    validator = _validator_class()(schema)
    try:
        errors = sorted(validator.iter_errors(flow_input), key=lambda e: [str(p) for p in e.absolute_path])
    except _PatternError as exc:  # a flow saved before patterns were checked
        return [("$", str(exc))]
    return [(_jsonpath(err.absolute_path), err.message) for err in errors]
