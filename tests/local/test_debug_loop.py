"""The debug loop on the local service, through globus-sdk: test one state (each step the
engine's own code takes, shown), the run data each state started with, re-run from a state."""

from __future__ import annotations

import json
import pathlib

import globus_sdk
import pytest

from gladier_jupyter.backend import debugging
from tests._fixtures.local import wait_for_run

FLOWS = json.loads((pathlib.Path(__file__).resolve().parent.parent / "data" / "debug" / "flows.json").read_text())


def steps(answer):
    return [s["step"] for s in answer["steps"]]


def test_test_state_shows_input_path_parameters_resolved_and_result_path_of_a_pass(flows_client):
    answer = debugging.test_state("Prepare", {"input": {"n": 4}}, definition=FLOWS["choice_and_pass"],
                                  flows_client=flows_client)
    assert steps(answer) == ["InputPath", "Parameters", "ResultPath"]
    params = answer["steps"][1]
    assert params["template"] == {"n.$": "$.input.n", "doubled.=": "input.n * 2"}
    assert params["value"] == {"n": 4, "doubled": 8}  # every .$ and .= resolved
    assert answer["steps"][2]["path"] == "$.prepared"
    assert answer["output"] == {"input": {"n": 4}, "prepared": {"n": 4, "doubled": 8}}
    assert answer["next_state"] == "Pick" and answer["status"] == "SUCCEEDED"


@pytest.mark.parametrize("n,rule,target", [(20, 0, "Big"), (3, 1, "Small")])
def test_test_state_of_a_choice_names_the_rule_that_matched_and_the_next_state(flows_client, n, rule, target):
    answer = debugging.test_state("Pick", {"prepared": {"n": n}}, definition=FLOWS["choice_and_pass"],
                                  flows_client=flows_client)
    (choice,) = answer["steps"]
    assert choice["step"] == "Choice" and choice["rule_index"] == rule and choice["next_state"] == target
    assert answer["next_state"] == target


def test_test_state_of_a_choice_without_a_match_takes_the_default(flows_client):
    answer = debugging.test_state("Check", {"sum": {"total": 5}}, definition=FLOWS["choice_and_pass"],
                                  flows_client=flows_client)
    assert answer["steps"][0]["default"] is True and answer["next_state"] == "Done"


def test_test_state_of_a_wait_of_an_hour_answers_at_once_without_waiting(flows_client):
    answer = debugging.test_state("Hold", {"x": 1}, definition=FLOWS["choice_and_pass"], flows_client=flows_client)
    assert answer["steps"] == [{"step": "Wait", "seconds": 3600.0, "waited": False}]
    assert answer["next_state"] == "Sum" and answer["output"] == {"x": 1}


def test_test_state_of_expression_eval_and_fail(flows_client):
    answer = debugging.test_state("Sum", {"prepared": {"n": 2, "doubled": 4}},
                                  definition=FLOWS["choice_and_pass"], flows_client=flows_client)
    assert answer["steps"][0] == {"step": "Parameters", "template": {"total.=": "prepared.n + prepared.doubled"},
                                  "value": {"total": 6}}
    assert answer["output"]["sum"] == {"total": 6}
    failed = debugging.test_state("Stop", {}, definition=FLOWS["choice_and_pass"], flows_client=flows_client)
    assert failed["status"] == "FAILED" and failed["error"] == {"Error": "ZeroTotal", "Cause": "The total is zero."}


def test_test_state_of_an_action_shows_the_request_and_its_result(flows_client):
    definition = {"StartAt": "Hello", "States": {"Hello": {
        "Type": "Action", "ActionUrl": "https://actions.globus.org/hello_world",
        "Parameters": {"echo_string.$": "$.input.words"}, "ResultPath": "$.hello", "End": True}}}
    answer = debugging.test_state("Hello", {"input": {"words": "hi there"}}, definition=definition,
                                  flows_client=flows_client)
    assert steps(answer) == ["InputPath", "Parameters", "ActionRequest", "ActionResult", "ResultPath"]
    request = answer["steps"][2]
    assert request["action_url"] == "https://actions.globus.org/hello_world"
    assert request["body"] == {"echo_string": "hi there"}
    assert answer["steps"][3]["status"] == "SUCCEEDED"
    assert answer["output"]["hello"]["status"] == "SUCCEEDED"


def test_test_state_refuses_an_unknown_state_and_bad_input_in_one_line(flows_client):
    for state, data, words in [("Nope", {}, "state_name 'Nope' is not a state"),
                               ("Prepare", [1], "must be a JSON object")]:
        with pytest.raises(globus_sdk.GlobusAPIError) as caught:
            debugging.test_state(state, data, definition=FLOWS["choice_and_pass"], flows_client=flows_client)
        assert caught.value.http_status == 422
        assert words in json.dumps(caught.value.raw_json)


def _run(flows_client, name, flow_input, label="debug run", wait=True):
    from gladier_jupyter import backend

    flow = flows_client.create_flow(title=f"debug {name}", definition=FLOWS[name], input_schema={}).data
    specific = backend.specific_flow_client(flow["id"])
    run = specific.run_flow(flow_input, label=label).data
    return flow, wait_for_run(flows_client, run["run_id"], 60) if wait else run


def test_engine_records_the_run_data_each_state_started_with(flows_client):
    _, run = _run(flows_client, "three_pass", {"input": {"extra": "e"}})
    assert run["status"] == "SUCCEEDED"
    started = debugging.state_inputs(run["run_id"], flows_client=flows_client)
    assert started == {"One": {"input": {"extra": "e"}},
                       "Two": {"input": {"extra": "e"}, "one": 1},
                       "Three": {"input": {"extra": "e"}, "one": 1, "two": {"seen": 1}}}


def test_rerun_from_a_state_starts_there_with_its_recorded_data_and_links_to_the_parent(flows_client):
    _, parent = _run(flows_client, "three_pass", {"input": {"extra": "e"}}, label="first")
    child = debugging.rerun_from(parent["run_id"], "Three", flows_client=flows_client)
    assert f"rerun-of:{parent['run_id']}" in child["tags"] and "rerun-from:Three" in child["tags"]
    assert child["label"] == "first from Three"
    done = wait_for_run(flows_client, child["run_id"], 60)
    assert done["status"] == "SUCCEEDED"
    assert done["details"]["output"]["three"] == {"value": 1, "extra": "e"}
    log = list(flows_client.paginated.get_run_logs(child["run_id"]).items())
    assert [e["details"].get("state_name") for e in log if e["code"] == "PassStarted"] == ["Three"]


def test_rerun_from_a_state_with_edited_data(flows_client):
    _, parent = _run(flows_client, "three_pass", {"input": {"extra": "e"}})
    edited = {"input": {"extra": "edited"}, "two": {"seen": 42}}
    child = debugging.rerun_from(parent["run_id"], "Three", edited, flows_client=flows_client)
    done = wait_for_run(flows_client, child["run_id"], 60)
    assert done["details"]["output"]["three"] == {"value": 42, "extra": "edited"}


def test_rerun_through_a_derived_flow_as_on_globus(flows_client):
    """What the Globus path does (a flow whose StartAt is the state), on the local service."""
    _, parent = _run(flows_client, "three_pass", {"input": {"extra": "e"}})
    notices = []
    child = debugging.rerun_from(parent["run_id"], "Two", flows_client=flows_client, derived=True,
                                 notice=notices.append)
    assert len(notices) == 1 and "derived flow" in notices[0] and "'Two'" in notices[0]
    assert child["flow_id"] != parent["flow_id"]
    done = wait_for_run(flows_client, child["run_id"], 60)
    assert done["details"]["output"]["three"] == {"value": 1, "extra": "e"}


def test_rebuilt_state_inputs_from_a_log_match_the_recorded_ones(flows_client):
    _, run = _run(flows_client, "three_pass", {"input": {"extra": "e"}})
    log = list(flows_client.paginated.get_run_logs(run["run_id"]).items())
    rebuilt = debugging.rebuild_state_inputs(FLOWS["three_pass"], log)
    assert rebuilt == debugging.state_inputs(run["run_id"], flows_client=flows_client)


def test_rerun_refuses_a_state_the_run_never_started(flows_client):
    _, parent = _run(flows_client, "choice_and_pass", {"input": {"n": 0}}, wait=False)  # waits an hour
    with pytest.raises(globus_sdk.GlobusAPIError) as caught:
        debugging.rerun_from(parent["run_id"], "Big", flows_client=flows_client)
    flows_client.cancel_run(parent["run_id"])
    assert caught.value.http_status == 422 and "never started state 'Big'" in json.dumps(caught.value.raw_json)


def test_start_data_of_a_loop_is_that_of_each_state_s_latest_visit(flows_client):
    # The Wait commits at every turn: start data is stored over several commits, and a
    # state whose data is unchanged since its last write (Pause, Check) is not rewritten.
    from gladier_jupyter import backend

    definition = {"StartAt": "Count", "States": {
        "Count": {"Type": "ExpressionEval", "Parameters": {"n.=": "n + 1"}, "ResultPath": "$.c",
                  "Next": "Copy"},
        "Copy": {"Type": "Pass", "InputPath": "$.c.n", "ResultPath": "$.n", "Next": "Pause"},
        "Pause": {"Type": "Wait", "Seconds": 0, "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericLessThan": 3, "Next": "Count"}], "Default": "Done"},
        "Done": {"Type": "Pass", "End": True}}}
    flow = flows_client.create_flow(title="debug counting loop", definition=definition, input_schema={}).data
    run = backend.specific_flow_client(flow["id"]).run_flow({"n": 0}).data
    assert wait_for_run(flows_client, run["run_id"], 60)["status"] == "SUCCEEDED"
    started = debugging.state_inputs(run["run_id"], flows_client=flows_client)
    assert started == {"Count": {"n": 2, "c": {"n": 2}}, "Copy": {"n": 2, "c": {"n": 3}},
                       "Pause": {"n": 3, "c": {"n": 3}}, "Check": {"n": 3, "c": {"n": 3}},
                       "Done": {"n": 3, "c": {"n": 3}}}
