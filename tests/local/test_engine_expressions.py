"""The ``.=`` expression evaluator is safe (no imports, no dunders, no attribute escape, no
runaway sizes) and its errors fail the state with a message, through a real run; the flow
check (``flowdef.validate``) refuses up front what the evaluator would refuse whatever the
input, and nothing the evaluator accepts."""

from __future__ import annotations

import json
import pathlib

import globus_sdk
import pytest

from gladier_jupyter import flowdef
from gladier_jupyter.local.expressions import _FUNCTIONS, ExpressionError, evaluate

DATA = json.loads((pathlib.Path(__file__).resolve().parent.parent / "data" / "flows" / "expressions.json").read_text())


@pytest.mark.parametrize("case", DATA["allowed"], ids=[c["expression"] for c in DATA["allowed"]])
def test_expression_is_evaluated(case):
    assert evaluate(case["expression"], case["names"]) == case["value"]


@pytest.mark.parametrize("case", DATA["refused"], ids=[c["expression"] for c in DATA["refused"]])
def test_dangerous_expression_is_refused(case):
    with pytest.raises(ExpressionError):
        evaluate(case["expression"], case["names"])


def _expression_flow(expression: str) -> dict:
    return {"StartAt": "E", "States": {"E": {
        "Type": "ExpressionEval", "Parameters": {"evil.=": expression},
        "ResultPath": "$.x", "End": True}}}


STATIC = [c for c in DATA["refused"] if not c.get("run_time_only")]


@pytest.mark.parametrize("case", DATA["allowed"], ids=[c["expression"] for c in DATA["allowed"]])
def test_flow_check_accepts_every_expression_the_evaluator_accepts(case):
    flowdef.check_expression(case["expression"])
    assert flowdef.errors(_expression_flow(case["expression"])) == []


@pytest.mark.parametrize("case", STATIC, ids=[c["expression"] for c in STATIC])
def test_flow_check_refuses_unsafe_expression_naming_parameter_and_fix(case):
    problems = flowdef.validate(_expression_flow(case["expression"]))
    assert [p.code for p in problems] == ["unsafe_expression"]
    problem = problems[0]
    assert (problem.severity, problem.state) == ("error", "E")
    assert problem.path == "$.States.E.Parameters['evil.=']"
    assert problem.path in problem.message and repr(case["expression"])[1:-1] in problem.message
    assert "refuse" in problem.message and "; " in problem.message  # what is refused; the fix
    assert "\n" not in problem.message


def test_flow_check_leaves_input_dependent_refusals_to_the_run():
    later = [c["expression"] for c in DATA["refused"] if c.get("run_time_only")]
    assert later
    for expression in later:
        flowdef.check_expression(expression)


def test_flow_check_knows_exactly_the_functions_the_evaluator_can_call():
    assert flowdef.EXPRESSION_FUNCTIONS == set(_FUNCTIONS) | {"list", "tuple", "dict", "set"}


def test_create_flow_refuses_an_unsafe_expression_with_422(flows_client):
    with pytest.raises(globus_sdk.GlobusAPIError) as info:
        flows_client.create_flow("evil", _expression_flow("__import__('os').getcwd()"), {})
    assert info.value.http_status == 422
    details = info.value.raw_json["error"]["detail"]
    assert [d["loc"] for d in details] == [["definition", "States", "E", "Parameters", "evil.="]]
    assert "'__import__'" in details[0]["msg"]


def test_refused_expression_fails_the_run_naming_the_parameter(run_definition):
    # str.format on an input value: only the run knows the value is a string, not an object
    run = run_definition(_expression_flow("greeting.format(1)"), {"greeting": "hi {}"})
    assert run["status"] == "FAILED"
    assert "'evil.='" in run["details"]["details"]["cause"]
    assert "format" in run["details"]["details"]["cause"]


# -- expressions cannot change the run's data (issue 20, defect 3) ------------------------


def _caught_flow(expression: str) -> dict:
    # An Action's Parameters (only Action states may Catch, as Globus's check says).
    return {"StartAt": "E", "States": {
        "E": {"Type": "Action", "ActionUrl": "https://actions.globus.org/hello_world",
              "Parameters": {"echo_string": "x", "evil.=": expression}, "ResultPath": "$.x",
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"}],
              "End": True},
        "Done": {"Type": "Pass", "End": True}}}


@pytest.mark.parametrize("expression", [
    "input.files.append(3)",
    "input.pop('secret')",
    "input.update({'secret': 'replaced'})",
    "[input.files.append(3) for n in range(1)]",  # evaluated in the worker, on a copy
])
def test_expression_cannot_change_the_run_input(run_definition, expression):
    flow_input = {"input": {"files": [1, 2], "secret": "kept"}}
    run = run_definition(_caught_flow(expression), flow_input)
    assert run["status"] == "SUCCEEDED", run["details"]
    output = run["details"]["output"]
    # Before: the run went on with files [1, 2, 3] / without its 'secret' key.
    assert output["input"] == flow_input["input"]
    cause = output["error"]["Cause"]
    assert "'evil.='" in cause and "change the run's data" in cause and "\n" not in cause


def test_object_key_named_like_a_dict_method_gives_the_key_value(run_definition):
    definition = {"StartAt": "E", "States": {"E": {
        "Type": "ExpressionEval", "ResultPath": "$.x", "End": True,
        "Parameters": {"a.=": "obj.items", "b.=": "obj.keys", "c.=": "obj.copy",
                       "d.=": "obj.get('items')"}}}}
    run = run_definition(definition, {"obj": {"items": [1, 2], "keys": "k", "copy": 3}})
    assert run["status"] == "SUCCEEDED", run["details"]
    # Before: 'a' was "<built-in method items of dict object at 0x...>".
    assert run["details"]["output"]["x"] == {"a": [1, 2], "b": "k", "c": 3, "d": [1, 2]}


@pytest.mark.parametrize(("expression", "reason"), [
    ("obj.missing", "has no key 'missing'"),
    ("obj.items", "is a method, not a value"),
])
def test_missing_key_or_bare_method_fails_the_state_clearly(run_definition, expression, reason):
    run = run_definition(_expression_flow(expression), {"obj": {"a": 1}})
    assert run["status"] == "FAILED"
    cause = run["details"]["details"]["cause"]
    assert reason in cause and "'evil.='" in cause and "\n" not in cause


def test_deep_expression_fails_in_one_line_at_run_time():
    deep = "-" * 20000 + "1"
    with pytest.raises(ExpressionError) as info:
        evaluate(deep, {})
    message = str(info.value)
    assert "nested more than 100 levels" in message and len(message) < 300


def test_flow_check_and_evaluator_share_the_depth_bound():
    from gladier_jupyter.local.expressions import MAX_DEPTH

    assert flowdef.MAX_EXPRESSION_DEPTH == MAX_DEPTH
    ok = "a" + ".b" * (MAX_DEPTH - 2)
    flowdef.check_expression(ok)
    value: dict = {}
    inner = value
    for _ in range(MAX_DEPTH - 2):
        inner["b"] = {}
        inner = inner["b"]
    assert evaluate(ok, {"a": value}) == {}
    with pytest.raises(ExpressionError, match="nested more than"):
        evaluate(ok + ".b", {"a": value})


# -- which expressions run in-process, and the worker gives the same answers ---------------


@pytest.mark.parametrize("expression", [
    "'a'.ljust(10**9)", "'%9d' % 1", "f'{x:>9}'", "[x for x in y]", "s * 3", "2 ** 10",
    "s.replace('a', s)", "'-'.join(x)", "range(5)", "s.split()", "sum(x, [])", "round(1, -9)",
    "[" + ", ".join(["input"] * 9) + "]",  # nine copies of the whole input in the result
])
def test_expression_that_can_outgrow_its_input_is_left_to_the_bounded_worker(expression):
    from gladier_jupyter.local.expressions._core import is_cheap

    assert not is_cheap(expression)


@pytest.mark.parametrize("expression", [
    "input.name + '-' + str(input.n)", "len(input.files) > 2 and input.files[0] == 'p'",
    "pathjoin(input.dir, basename(input.path))", "f'{input.name}-{input.n}'",
    "input.a if input.flag else input.b", "obj.get('k', 'default')",
])
def test_common_expression_is_evaluated_in_process(expression):
    from gladier_jupyter.local.expressions._core import is_cheap

    assert is_cheap(expression)


@pytest.mark.parametrize("case", DATA["allowed"], ids=[c["expression"] for c in DATA["allowed"]])
def test_worker_gives_the_in_process_answer(case):
    from gladier_jupyter.local.expressions import _get_sandbox

    assert _get_sandbox().evaluate(case["expression"], case["names"]) == case["value"]
