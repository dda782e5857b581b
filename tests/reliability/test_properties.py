"""Property-based tests (hypothesis) over flow definitions: the check never crashes and says
each problem in one line; the service never answers 500 to a definition; any valid generated
Pass/Choice/Wait(0)/Fail flow run through the local service ends SUCCEEDED or FAILED."""

from __future__ import annotations

import json
import string

import globus_sdk
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gladier_jupyter import flowdef
from tests.reliability import _service as svc

# Small, bounded runs: the default suite stays fast; RELIABILITY_FULL=1 runs more examples.
N_CHECK = 1500 if svc.full_size() else 300
N_SERVICE = 150 if svc.full_size() else 40
N_ENGINE = 150 if svc.full_size() else 30
SETTINGS = dict(deadline=None, database=None, derandomize=not svc.full_size(), suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                                      HealthCheck.data_too_large])

names = st.sampled_from(["A", "B", "C", "Start", "End", "", "A\u0000", "\u202eZ", "$", "__class__"]) | st.text(max_size=6)
json_leaf = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
json_any = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)
paths = st.sampled_from(["$", "$.input", "$.input.a", "$.x[0]", "$..*", "$.input; import os", "$[?(@.a)]",
                         "$.`len`", "input", "", "$.a.b.c", "$['a b']"]) | st.text(max_size=10)
expressions = st.sampled_from(["1 + 1", "x.n + 1", "__import__('os')", "().__class__", "lambda: 1",
                               "range(10**9)", "'a' * 10**9", "((", "input.a", "str(x)"]) | st.text(max_size=12)
comparators = st.sampled_from(["StringEquals", "NumericLessThan", "BooleanEquals", "IsPresent", "IsNull",
                               "StringMatches", "TimestampEquals", "Bogus", "NumericEqualsPath"])


@st.composite
def rules(draw, depth: int = 0):
    rule: dict = {}
    kind = draw(st.sampled_from(["cmp", "and", "not", "junk"] if depth < 2 else ["cmp", "junk"]))
    if kind == "cmp":
        rule["Variable"] = draw(paths)
        rule[draw(comparators)] = draw(json_leaf)
    elif kind == "and":
        rule[draw(st.sampled_from(["And", "Or"]))] = draw(st.lists(rules(depth + 1), max_size=3))
    elif kind == "not":
        rule["Not"] = draw(rules(depth + 1))
    else:
        rule = draw(json_any)
    if depth == 0 and isinstance(rule, dict) and draw(st.booleans()):
        rule["Next"] = draw(names)
    return rule


@st.composite
def states(draw):
    state: dict = {}
    if draw(st.integers(0, 9)):
        state["Type"] = draw(st.sampled_from(["Pass", "Choice", "Wait", "Fail", "Action", "ExpressionEval", "Task", ""]))
    for key in draw(st.lists(st.sampled_from([
            "Next", "End", "Parameters", "InputPath", "ResultPath", "Choices", "Default", "Seconds",
            "ActionUrl", "WaitTime", "Catch", "Error", "Cause", "OutputPath", "SecondsPath"]), max_size=6, unique=True)):
        if key in ("Next", "Default"):
            state[key] = draw(names | json_leaf)
        elif key == "End":
            state[key] = draw(st.booleans() | json_leaf)
        elif key == "Parameters":
            state[key] = draw(st.dictionaries(st.sampled_from(["a", "b.$", "c.=", "d"]),
                                              paths | expressions | json_any, max_size=3) | json_leaf)
        elif key in ("InputPath", "ResultPath", "SecondsPath"):
            state[key] = draw(paths | json_leaf)
        elif key == "Choices":
            state[key] = draw(st.lists(rules(), max_size=3) | json_leaf)
        elif key == "Catch":
            state[key] = draw(st.lists(st.fixed_dictionaries({}, optional={
                "ErrorEquals": st.lists(st.text(max_size=8), max_size=2) | json_leaf,
                "Next": names, "ResultPath": paths}), max_size=2) | json_leaf)
        else:
            state[key] = draw(json_leaf)
    return state


definitions = (
    st.fixed_dictionaries({}, optional={
        "StartAt": names | json_leaf,
        "States": st.dictionaries(names, states(), max_size=5) | json_leaf,
        "Comment": json_leaf,
    })
    | json_any
)


@settings(max_examples=N_CHECK, **SETTINGS)
@given(definitions)
def test_flow_check_never_crashes_and_names_each_problem_in_one_line(definition):
    problems = flowdef.validate(definition)
    assert isinstance(problems, list)
    for p in problems:
        assert isinstance(p, flowdef.Problem)
        assert p.severity in ("error", "warning")
        assert p.message.strip() and "\n" not in p.message, p.message
        json.dumps(p.to_dict())


@pytest.fixture
def fc(local_service):
    # hypothesis prints a failing example's arguments, fixtures included: pass a client,
    # never the ServiceInfo (its pretty-printer shows dataclass fields, secret too)
    return svc.flows_client(local_service)


@settings(max_examples=N_SERVICE, **SETTINGS)
@given(definition=definitions)
def test_service_answers_any_definition_with_201_or_422_never_500(fc, definition):
    try:
        flow = fc.create_flow("hypothesis", definition, {}).data
    except globus_sdk.GlobusAPIError as err:
        assert err.http_status == 422, (err.http_status, err.text[:300])
        assert err.code == "UNPROCESSABLE_ENTITY"
        assert not [p for p in flowdef.validate(definition) if p.severity == "error"] == [], \
            "the service refused a definition the check accepts"
    else:
        assert not [p for p in flowdef.validate(definition) if p.severity == "error"]
        fc.delete_flow(flow["id"])


@st.composite
def runnable_flows(draw):
    """A valid flow of Pass / Choice / Wait(0) / Fail states whose edges all point forward
    (so every run ends), with Choice rules over the run input's ``x`` and ``s``."""
    n = draw(st.integers(1, 7))
    labels = [f"S{i}\u00e9{draw(st.sampled_from(['', ' ', '-x', '.dot', '[1]']))}" for i in range(n)]
    out: dict = {}
    for i, name in enumerate(labels):
        later = labels[i + 1:]
        kind = draw(st.sampled_from(["Pass", "Wait", "Choice", "Fail"] if later else ["Pass", "Wait", "Fail"]))
        if kind == "Fail":
            out[name] = {"Type": "Fail", "Error": draw(st.text(string.ascii_letters, min_size=1, max_size=8)),
                         "Cause": draw(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20))}
            continue
        if kind == "Choice":
            choices = []
            for _ in range(draw(st.integers(1, 3))):
                rule = draw(st.sampled_from([
                    {"Variable": "$.x", "NumericLessThan": draw(st.integers(-5, 5))},
                    {"Variable": "$.s", "StringMatches": draw(st.sampled_from(["*a*", "a*b", "\\**", "*"]))},
                    {"Variable": "$.missing", "IsPresent": draw(st.booleans())},
                    {"Not": {"Variable": "$.x", "NumericEquals": 0}},
                ]))
                rule = dict(rule, Next=draw(st.sampled_from(later)))
                choices.append(rule)
            state = {"Type": "Choice", "Choices": choices}
            if draw(st.booleans()):
                state["Default"] = draw(st.sampled_from(later))
            out[name] = state
            continue
        state = {"Type": kind}
        if kind == "Wait":
            state["Seconds"] = 0
        elif draw(st.booleans()):
            state["Parameters"] = {"seen": draw(st.text(max_size=10)), "x.$": "$.x"}
            state["ResultPath"] = f"$.r{i}"
        if later and draw(st.booleans()):
            state["Next"] = draw(st.sampled_from(later))
        else:
            state["End"] = True
        out[name] = state
    definition = {"StartAt": labels[0], "States": out}
    # keep only what is reachable, so the check has nothing to say
    reachable = flowdef.validation._reachable(labels[0], out)
    definition["States"] = {k: v for k, v in out.items() if k in reachable}
    return definition


@settings(max_examples=N_ENGINE, **SETTINGS)
@given(definition=runnable_flows(), x=st.integers(-10, 10), s=st.text("ab*", max_size=12))
def test_engine_ends_any_valid_pass_choice_wait_fail_flow_succeeded_or_failed(fc, definition, x, s):
    assert not [p for p in flowdef.validate(definition) if p.severity == "error"]
    flow_id = svc.deploy(fc, definition, "hypothesis engine")
    run = svc.wait_for_run(fc, svc.start(fc, flow_id, {"x": x, "s": s})["run_id"], timeout=60)
    assert run["status"] in ("SUCCEEDED", "FAILED"), run["status"]
    log = svc.run_log(fc, run["run_id"])
    assert log[0]["code"] == "FlowStarted"
    assert log[-1]["code"] == ("FlowSucceeded" if run["status"] == "SUCCEEDED" else "FlowFailed")
    if run["status"] == "FAILED":
        assert run["details"]["description"] and "\n" not in run["details"]["description"]
        # Fail states and unmatched Choices without Default are the only ways to fail here
        assert run["details"]["details"]["error"] not in ("States.Runtime",), run["details"]
