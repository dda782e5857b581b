"""Globus's Expression Evaluation action (``https://actions.globus.org/expression_eval``).

https://docs.globus.org/api/flows/hosted-action-providers/ap-expression-eval/ : a body is
one expression (``expression``, optional ``arguments`` it reads, optional ``result_path``
where in ``details`` its value goes, ``result`` by default) or ``expressions``, a list of
such, evaluated in order (a later one writing the same ``result_path`` replaces the earlier
value). Evaluated by the evaluator of ``.=`` parameters and ExpressionEval states
(:func:`gladier_jupyter.local.expressions.evaluate`: bounded, costly expressions in a
worker process). An expression that fails ends the action FAILED, naming which one.
"""

from __future__ import annotations

import typing as t

from gladier_jupyter.local import expressions
from gladier_jupyter.local.actions import (
    ActionHandle,
    ActionRequest,
    ActionUnableToRun,
    DoneHandle,
    check_body,
)
from gladier_jupyter.local.actions.compute import jsonable

__all__ = ["ExpressionEvalProvider"]

_ONE: dict[str, t.Any] = {
    "type": "object",
    "properties": {
        "expression": {"type": "string"},
        "arguments": {"type": "object"},
        "result_path": {"type": "string", "minLength": 1},
    },
    "required": ["expression"],
}
INPUT_SCHEMA = {
    "type": "object",
    "anyOf": [{"required": ["expression"]}, {"required": ["expressions"]}],
    "properties": {
        **_ONE["properties"],
        "expressions": {"type": "array", "minItems": 1, "items": _ONE},
    },
}


def _path(result_path: str) -> list[str]:
    """``$.a.b`` or ``a.b`` as its keys."""
    text = result_path[2:] if result_path.startswith("$.") else result_path
    parts = text.split(".")
    if result_path in ("$", "") or not all(parts):
        raise ActionUnableToRun(f"The expression_eval body's result_path {result_path[:60]!r} names no place; "
                                "use a dotted path such as 'result' or '$.sums.total'.")
    return parts


def _store(details: dict[str, t.Any], parts: list[str], value: t.Any) -> None:
    here = details
    for key in parts[:-1]:
        nxt = here.get(key)
        if not isinstance(nxt, dict):
            nxt = here[key] = {}
        here = nxt
    here[parts[-1]] = value


class ExpressionEvalProvider:
    scope = "https://auth.globus.org/scopes/5fac2e64-c734-4e6b-90ea-ff12ddbf9653/expression"
    title = "Simple Expression Evaluation"
    subtitle = "Evaluate expressions in the flow expression language"
    synchronous = True
    input_schema = INPUT_SCHEMA

    def start(self, body: t.Any, request: ActionRequest) -> ActionHandle:
        check_body(body, self.input_schema, "expression_eval")
        if "expression" in body and "expressions" in body:
            raise ActionUnableToRun("The expression_eval body sets both 'expression' and 'expressions'; keep one.")
        items = body["expressions"] if "expressions" in body else [body]
        plan = [(i, item, _path(item.get("result_path", "result"))) for i, item in enumerate(items)]
        details: dict[str, t.Any] = {}
        for i, item, parts in plan:
            where = f"expressions[{i}].expression" if "expressions" in body else "expression"
            try:
                value = expressions.evaluate(item["expression"], dict(item.get("arguments") or {}))
            except expressions.ExpressionError as exc:
                return DoneHandle("FAILED", {"code": "ExpressionEvaluationFailed",
                                             "description": f"The expression_eval body's {where}: {exc}"})
            _store(details, parts, jsonable(value))
        return DoneHandle("SUCCEEDED", details)

