"""Hostile flow expressions and input_schema patterns, performed against a private service
through globus-sdk: each fails its state (or its request) in one line, the service's memory
stays bounded, and it answers the next request at once.

Before the fix (expressions evaluated in the service process, patterns matched with Python's
backtracking ``re``): ``(9**4000000) * (9**4000000) % 7`` held the service's interpreter lock
for ~18-30 s (a get_run meanwhile took 8 s), ``'a'.ljust(1500000000)`` put the service's
peak RSS at 4.3 GB, ``(1).to_bytes(1500000000, 'big')`` at 18.7 GB, and ``^(a+)+$`` against
``'a' * 26 + '!'`` held the HTTP loop 7 s (doubling per character; 40 would be days).
"""

from __future__ import annotations

import pathlib
import time

import globus_sdk
import pytest

from tests.reliability import _service as svc

LIMIT_SECONDS = 2
MEMORY_MB = 512  # the expression worker's address space (its default)

# name -> a `.=` expression that, evaluated in the service process, froze it or made it
# allocate gigabytes (gladier-jupyter issue 19, finding 5)
HOSTILE = {
    "big_int_power": "(9**4000000) * (9**4000000) % 7",
    "ljust": "'a'.ljust(1500000000)",
    "percent_width": "'%1500000000d' % 1",
    "fstring_width": "f'{1:>1500000000}'",
    "to_bytes": "(1).to_bytes(1500000000, 'big')",
    "nested_comprehension": "[str(range(100000)) for i in range(9999)]",
}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    state = tmp_path_factory.mktemp("sec-expr")
    with svc.private_service(state, GLADIER_JUPYTER_EXPRESSION_SECONDS=str(LIMIT_SECONDS)) as info:
        yield info


@pytest.fixture(scope="module")
def fc(service):
    return svc.flows_client(service)


def _status_kb(pid: int, field: str) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"/proc/{pid}/status has no {field}")


def _expression_workers(pid: int) -> list[int]:
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"expressions._sandbox" in cmdline:
            found.append(int(proc.name))
    return found


def _address_limit_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max address space"):
            soft = line.split()[3]
            return float("inf") if soft == "unlimited" else int(soft) / 2**20
    raise AssertionError("no address space line")


def _flow(expression: str, catch: bool = False) -> dict:
    state: dict = {"Type": "ExpressionEval", "Parameters": {"evil.=": expression},
                   "ResultPath": "$.x", "End": True}
    states = {"E": state}
    if catch:
        # Only Action states may Catch (Globus's check): the expression is an Action's parameter.
        state.update(Type="Action", ActionUrl="https://actions.globus.org/hello_world",
                     Parameters={"echo_string": "x", "evil.=": expression})
        state["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}]
        states["Caught"] = {"Type": "Pass", "End": True}
    return {"StartAt": "E", "States": states}


def _timed(call):
    started = time.monotonic()
    value = call()
    return value, time.monotonic() - started


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_expression_fails_its_state_in_one_line_and_leaves_the_service_small(service, fc, name):
    flow_id = svc.deploy(fc, _flow(HOSTILE[name]), title=f"hostile {name}")
    run = svc.wait_for_run(fc, svc.start(fc, flow_id, {"input": {}})["run_id"], timeout=60)

    assert run["status"] == "FAILED"
    details = run["details"]["details"]
    assert (details["error"], details["state_name"]) == ("States.Runtime", "E")
    cause = details["cause"]
    assert "\n" not in cause and len(cause) < 400
    assert "'evil.='" in cause
    # The service never held the value: its peak RSS over its whole life stays small
    # (before: 4.3 GB after the padding expressions, 18.7 GB after to_bytes).
    assert _status_kb(service.pid, "VmHWM") < 400 * 1024
    # It answers the next request at once, and the next expression (in a fresh worker
    # when the last one was stopped) works.
    _, seconds = _timed(lambda: fc.get_flow(flow_id))
    assert seconds < 10
    normal = svc.deploy(fc, _flow("[n * 2 for n in input.nums]"), title="normal")
    run = svc.wait_for_run(fc, svc.start(fc, normal, {"input": {"nums": [1, 2]}})["run_id"], timeout=60)
    assert run["status"] == "SUCCEEDED" and run["details"]["output"]["x"] == {"evil": [2, 4]}
    workers = _expression_workers(service.pid)
    assert workers
    for pid in workers:
        assert _address_limit_mb(pid) <= MEMORY_MB
        assert _status_kb(pid, "VmRSS") < MEMORY_MB * 1024


def test_limit_failure_names_the_bound(fc):
    flow_id = svc.deploy(fc, _flow(HOSTILE["ljust"]))
    run = svc.wait_for_run(fc, svc.start(fc, flow_id)["run_id"], timeout=60)
    assert "512 MB" in run["details"]["details"]["cause"]
    flow_id = svc.deploy(fc, _flow(HOSTILE["big_int_power"]))
    run = svc.wait_for_run(fc, svc.start(fc, flow_id)["run_id"], timeout=60)
    assert f"{LIMIT_SECONDS} s" in run["details"]["details"]["cause"]


def test_service_answers_while_a_cpu_bomb_is_being_evaluated(fc):
    flow_id = svc.deploy(fc, _flow(HOSTILE["big_int_power"]))
    run_id = svc.start(fc, flow_id)["run_id"]
    time.sleep(0.5)  # the evaluation has started
    # Before: the service's interpreter lock was held by the multiplication for ~27 s.
    run, seconds = _timed(lambda: fc.get_run(run_id).data)
    assert seconds < 10
    assert svc.wait_for_run(fc, run_id, timeout=60)["status"] == "FAILED"


def test_over_limit_expression_is_caught_by_catch(fc):
    flow_id = svc.deploy(fc, _flow(HOSTILE["fstring_width"], catch=True))
    run = svc.wait_for_run(fc, svc.start(fc, flow_id)["run_id"], timeout=60)
    assert run["status"] == "SUCCEEDED"
    error = run["details"]["output"]["error"]
    # An Action whose parameters cannot be evaluated is ActionUnableToRun (Handling Exceptions)
    assert error["Error"] == "ActionUnableToRun"
    assert "MB" in error["Cause"] and "'evil.='" in error["Cause"]


def test_expressions_still_work_after_hostile_ones(fc):
    flow_id = svc.deploy(fc, _flow("[n * 2 for n in input.nums] + [len(input.name.ljust(5))]"))
    run = svc.wait_for_run(fc, svc.start(fc, flow_id, {"input": {"nums": [1, 2], "name": "ab"}})["run_id"])
    assert run["status"] == "SUCCEEDED", run["details"]
    assert run["details"]["output"]["x"] == {"evil": [2, 4, 5]}


DEEP = "-" * 20000 + "1"


def test_deep_expression_is_refused_with_422_at_create_and_validate(fc):
    for call in (lambda: fc.create_flow("deep", _flow(DEEP), {}), lambda: fc.validate_flow(_flow(DEEP))):
        with pytest.raises(globus_sdk.GlobusAPIError) as info:
            call()
        assert info.value.http_status == 422  # before: 500 "Internal error in the local service."
        details = info.value.raw_json["error"]["detail"]
        assert [d["loc"] for d in details] == [["definition", "States", "E", "Parameters", "evil.="]]
        msg = details[0]["msg"]
        assert "nested more than 100 levels" in msg and "\n" not in msg and len(msg) < 400


# ----------------------------------------------------------------------------- ReDoS

REDOS = "^(a+)+$"
EVIL_TEXT = "a" * 40 + "!"  # Python's re needs ~2**40 steps to refuse it


def _specific(service, flow_id):
    with svc.as_backend(service):
        return globus_sdk.SpecificFlowClient(flow_id, authorizer=svc.authorizer(service))


@pytest.mark.parametrize("where", ["pattern", "patternProperties", "additionalProperties"])
def test_redos_pattern_in_input_schema_is_matched_in_linear_time(service, fc, where):
    if where == "pattern":
        schema = {"type": "object", "properties": {"name": {"type": "string", "pattern": REDOS}}}
        body, good = {"name": EVIL_TEXT}, {"name": "aaa"}
    else:
        schema = {"type": "object", "patternProperties": {REDOS: {"type": "integer"}}}
        if where == "additionalProperties":
            schema["additionalProperties"] = False
        body, good = {EVIL_TEXT: 1}, {"aaa": 1}
    flow_id = fc.create_flow("redos", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                             schema).data["id"]
    specific = _specific(service, flow_id)
    with svc.as_backend(service):
        for call in (specific.validate_run, specific.run_flow):
            if where == "patternProperties":  # the key matches no pattern: nothing to refuse
                assert call(body).http_status in (200, 201)
                continue
            with pytest.raises(globus_sdk.GlobusAPIError) as info:
                call(body)
            assert (info.value.http_status, info.value.code) == (400, "FLOW_INPUT_ERROR")
            [detail] = info.value.raw_json["error"]["detail"]
            assert "does not match" in detail["msg"] and "\n" not in detail["msg"]
        assert specific.validate_run(good).http_status == 200
    _, seconds = _timed(lambda: fc.get_flow(flow_id))
    assert seconds < 10


@pytest.mark.parametrize("pattern", ["(?=a)b", "(\\w)\\1", "(x{1000}){1000}"])
def test_pattern_the_linear_engine_cannot_compile_is_refused_at_create(fc, pattern):
    schema = {"type": "object", "properties": {"name": {"type": "string", "pattern": pattern}}}
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    for call in (lambda: fc.create_flow("bad pattern", definition, schema),
                 lambda: fc.validate_flow(definition, input_schema=schema)):
        with pytest.raises(globus_sdk.GlobusAPIError) as info:
            call()
        assert info.value.http_status == 422
        [detail] = info.value.raw_json["error"]["detail"]
        assert detail["loc"] == ["input_schema", "properties", "name", "pattern"]
        assert "RE2" in detail["msg"] and "\n" not in detail["msg"]
