"""A run waiting for a person survives the service stopping: the Wait For User Selection
action and the web input are found again, and answering them after the restart moves the
run on (the engine starts an interrupted action again; the providers must not make a new
wait with new addresses, or the link already mailed would lead nowhere)."""

from __future__ import annotations

import time

from gladier_jupyter import local
from tests.reliability._service import deploy, flows_client, private_service, start, wait_for_run

WAIT = {"StartAt": "Ask", "States": {"Ask": {
    "Type": "Action", "ActionUrl": "https://actions.globus.org/weboption/wait_for_option",
    "Parameters": {"options": [{"name": "go", "url_suffix.=": "_context.run_id + '-go'"},
                               {"name": "stop", "url_suffix.=": "_context.run_id + '-stop'"}]},
    "ResultPath": "$.answer", "WaitTime": 600, "End": True}}}
WEB_INPUT = {"StartAt": "Create", "States": {
    "Create": {"Type": "CreateWebInput", "Parameters": {"InputType": "Selection", "Context": {"Title": "Go on?"},
                                                        "Options": [{"Value": "yes", "Label": "Yes"}]},
               "ResultPath": "$.wi", "Next": "Await"},
    "Await": {"Type": "AwaitWebInput", "Parameters": {"web_input_id.$": "$.wi.web_input_id"},
              "ResultPath": "$.reply", "End": True}}}


def _until(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_selection_address_mailed_before_a_restart_still_answers_after_it(tmp_path):
    state = tmp_path / "svc"
    with private_service(state) as info:
        run_id = start(flows_client(info), deploy(flows_client(info), WAIT))["run_id"]
        [before] = _until(lambda: local.waiting_options(run_id, state))
    with private_service(state) as info:
        fc = flows_client(info)
        [after] = _until(lambda: local.waiting_options(run_id, state))
        assert after["action_id"] == before["action_id"] and after["options"] == before["options"]
        local.select_option(f"https://actions.globus.org/weboption/option/{run_id}-go", state)
        run = wait_for_run(fc, run_id, timeout=30)
        assert run["status"] == "SUCCEEDED" and run["details"]["output"]["answer"]["details"]["name"] == "go"


def test_web_input_answered_after_a_restart_moves_the_run_on(tmp_path):
    state = tmp_path / "svc"
    with private_service(state) as info:
        fc = flows_client(info)
        run_id = start(fc, deploy(fc, WEB_INPUT))["run_id"]
        _until(lambda: fc.get_run(run_id).data["status"] == "INACTIVE")
    with private_service(state) as info:
        fc = flows_client(info)
        [summary] = list(fc.list_web_inputs(filter_run_ids=run_id))
        option = fc.get_web_input(summary["id"]).data["options"][0]["option_id"]
        fc.respond_to_web_input(summary["id"], value=option)
        run = wait_for_run(fc, run_id, timeout=30)
        assert run["status"] == "SUCCEEDED" and run["details"]["output"]["reply"]["response"] == "yes"
        assert len(list(fc.list_web_inputs(filter_run_ids=run_id))) == 1
