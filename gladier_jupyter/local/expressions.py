"""The safe evaluator of Globus flow expressions (``"key.=": "expression"``, ExpressionEval).

Built on simpleeval, never ``eval``: names are the state's input keys (and ``_context``);
no imports, no dunder or private names or attributes, no attribute access except the
methods of plain str/list/dict values, bounded string and power sizes.
"""

from __future__ import annotations

import functools
import math
import posixpath
import typing as t

__all__ = ["ExpressionError", "evaluate"]


class ExpressionError(ValueError):
    """An expression that does not parse, or fails, or reaches for something forbidden."""


_SAFE_ATTR_TYPES = (str, list, dict, int, float, bool, tuple)


def _pathsplit(path: str) -> list[str]:
    return list(posixpath.split(path))


def _getattr(obj: t.Any, name: str, default: t.Any = None) -> t.Any:
    # Globus's expression language has ``getattr(dict, key, default)`` for dict lookups.
    if isinstance(obj, dict):
        return obj.get(name, default)
    return default


_MAX_RANGE = 100_000


def _range(*args: t.Any) -> list[int]:
    # Sized before it is built: range(10**9) must not allocate gigabytes in the service.
    values = range(*args)
    if len(values) > _MAX_RANGE:
        shown = ", ".join(map(repr, args))
        raise ExpressionError(f"range({shown}) has {len(values)} items; at most {_MAX_RANGE} are allowed.")
    return list(values)


_FUNCTIONS: dict[str, t.Callable[..., t.Any]] = {
    "len": len,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "abs": abs,
    "min": min,
    "max": max,
    "sum": sum,
    "round": round,
    "sorted": sorted,
    "list": list,
    "dict": dict,
    "any": any,
    "all": all,
    "range": _range,
    "enumerate": lambda x: list(enumerate(x)),
    "zip": lambda *a: list(zip(*a, strict=False)),
    "ceil": math.ceil,
    "floor": math.floor,
    "pathsplit": _pathsplit,
    "pathjoin": posixpath.join,
    "basename": posixpath.basename,
    "dirname": posixpath.dirname,
    "getattr": _getattr,
    "is_present": lambda x: x is not None,
}


@functools.lru_cache(maxsize=1)
def _evaluator_class() -> type:
    import simpleeval

    class _SafeEval(simpleeval.EvalWithCompoundTypes):
        def _eval_attribute(self, node: t.Any) -> t.Any:
            if node.attr.startswith("_"):
                raise ExpressionError(f"Access to the attribute {node.attr!r} is not allowed.")
            value = self._eval(node.value)
            if not isinstance(value, _SAFE_ATTR_TYPES):
                raise ExpressionError(
                    f"Attribute access ({node.attr!r}) is only allowed on strings, lists and objects."
                )
            if isinstance(value, dict) and node.attr in value and not hasattr(dict, node.attr):
                return value[node.attr]
            return super()._eval_attribute(node)

        def _eval_name(self, node: t.Any) -> t.Any:
            if node.id.startswith("__"):
                raise ExpressionError(f"The name {node.id!r} is not allowed.")
            return super()._eval_name(node)

    return _SafeEval


def evaluate(expression: str, names: dict[str, t.Any]) -> t.Any:
    """Evaluate ``expression`` with ``names`` (the state input) in scope."""
    if not isinstance(expression, str):
        raise ExpressionError(f"An expression must be a string, not {type(expression).__name__}.")
    import simpleeval

    scope = {"True": True, "False": False, "None": None, "true": True, "false": False, "null": None}
    scope.update(names)
    evaluator = _evaluator_class()(names=scope, functions=_FUNCTIONS)
    try:
        return evaluator.eval(expression)
    except ExpressionError:
        raise
    except simpleeval.NameNotDefined as exc:
        raise ExpressionError(f"The expression {expression!r} uses {exc.name!r}, which the state input does not set.") from None
    except (simpleeval.InvalidExpression, SyntaxError) as exc:
        raise ExpressionError(f"The expression {expression!r} is not allowed or not valid: {exc}") from None
    except Exception as exc:  # arithmetic, type and key errors of the expression itself
        raise ExpressionError(f"The expression {expression!r} failed: {type(exc).__name__}: {exc}") from None
