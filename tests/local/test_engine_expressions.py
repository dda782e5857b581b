"""The ``.=`` expression evaluator is safe (no imports, no dunders, no attribute escape, no
runaway sizes) and its errors fail the state with a message, through a real run."""

from __future__ import annotations

import json
import pathlib

import pytest

from gladier_jupyter.local.expressions import ExpressionError, evaluate

DATA = json.loads((pathlib.Path(__file__).resolve().parent.parent / "data" / "flows" / "expressions.json").read_text())


@pytest.mark.parametrize("case", DATA["allowed"], ids=[c["expression"] for c in DATA["allowed"]])
def test_expression_is_evaluated(case):
    assert evaluate(case["expression"], case["names"]) == case["value"]


@pytest.mark.parametrize("case", DATA["refused"], ids=[c["expression"] for c in DATA["refused"]])
def test_dangerous_expression_is_refused(case):
    with pytest.raises(ExpressionError):
        evaluate(case["expression"], case["names"])


def test_refused_expression_fails_the_run_naming_the_parameter(run_definition):
    definition = {"StartAt": "E", "States": {"E": {
        "Type": "ExpressionEval", "Parameters": {"evil.=": "__import__('os').getcwd()"},
        "ResultPath": "$.x", "End": True}}}
    run = run_definition(definition, {})
    assert run["status"] == "FAILED"
    assert "'evil.='" in run["details"]["details"]["cause"]
