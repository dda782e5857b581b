"""Values written in magic options and cells: Python literals, JSON, ``--input key=value``."""

from __future__ import annotations

import ast
import json
import typing as t

from gladier_jupyter.inline.cells import _usage

__all__ = ["parse_value", "parse_literal", "parse_input_option"]


def parse_value(text: str) -> t.Any:
    """A command-line value: JSON when it parses (``300``, ``true``, ``[1]``), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _json_error(what: str, text: str, err: json.JSONDecodeError, line_offset: int = 0) -> str:
    bad = text.splitlines()[err.lineno - 1].strip() if text.splitlines() else ""
    return (
        f"{what} is not valid JSON: {err.msg} at line {err.lineno + line_offset}, "
        f"column {err.colno} ({bad!r}); fix the JSON (double-quoted keys and strings)."
    )


def parse_literal(text: str, what: str = "Input") -> t.Any:
    """A JSON document or a Python literal (``{'input': {...}}``), with line/column on errors."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as json_err:
        try:
            return ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise _usage(_json_error(what, text, json_err)) from None


def parse_input_option(values: t.Iterable[str] | None) -> dict[str, t.Any]:
    """``--input key=value`` (value parsed as JSON if it parses) or ``--input '{"k": 1}'``."""
    result: dict[str, t.Any] = {}
    for raw in values or ():
        text = raw.strip()
        if text.startswith("{"):
            value = parse_literal(text, what=f"--input {text!r}")
            if not isinstance(value, dict):
                raise _usage(f"--input {text!r} must be a JSON object of default flow_input values.")
            result.update(value)
            continue
        key, sep, value_text = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise _usage(
                f"--input {raw!r} is not KEY=VALUE or a JSON object; "
                "write it like --input search_index=my-index."
            )
        result[key] = parse_value(value_text)
    return result


def _split_list(values: t.Iterable[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or ():
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out
