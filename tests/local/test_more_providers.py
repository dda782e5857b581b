"""Globus's hosted action providers beyond Transfer, and Flows Web Inputs, through the real
globus-sdk clients and flows on the local service.

Providers: https://docs.globus.org/api/flows/hosted-action-providers/ (hello_world,
expression_eval, notification/notify, weboption/wait_for_option, datacite/mint). Web Inputs:
the states of globus/globus-flows-examples' ``web_input_examples/`` and the documents of
globus-sdk's fixtures (``globus_sdk.testing``: ``flows.get_web_input``...).
"""

from __future__ import annotations

import json
import pathlib
import time
import uuid

import globus_sdk
import pytest
from globus_sdk.testing import get_response_set

from tests._fixtures.local import run_log, wait_for_run

DATA = pathlib.Path(__file__).parent.parent / "data" / "flows"
AP = "https://actions.globus.org/"
CREDS = [{"credential_type": "smtp", "credential_value": {"hostname": "smtp.example", "username": "u",
                                                          "password": "hunter2-secret", "port": 587}}]


def _state(url: str, params: dict, **extra) -> dict:
    return {"StartAt": "A", "States": {"A": {"Type": "Action", "ActionUrl": url, "Parameters": params,
                                             "ResultPath": "$.A", "End": True, **extra}}}


def _details(run: dict) -> dict:
    assert run["status"] == "SUCCEEDED", run["details"]
    return run["details"]["output"]["A"]["details"]


def _wait_status(flows_client, run_id: str, status: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = flows_client.get_run(run_id).data
        if run["status"] == status or time.monotonic() > deadline:
            return run
        time.sleep(0.05)


@pytest.fixture
def actions_client(local_service, flows_client):
    return globus_sdk.BaseClient(base_url=local_service.service_url("actions"), authorizer=flows_client.authorizer)


# -- introspection ----------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["hello_world", "expression_eval", "notification/notify",
                                  "weboption/wait_for_option", "datacite/mint/basic_auth"])
@pytest.mark.parametrize("host", ["actions.globus.org", "actions.automate.globus.org"])
def test_introspection_document_carries_the_documented_input_schema(actions_client, host, path):
    doc = actions_client.get(f"{host}/{path}/").data
    assert doc["api_version"] == "1.0" and doc["url"] == f"{AP}{path}"
    assert doc["input_schema"]["type"] == "object" and doc["globus_auth_scope"].startswith("https://auth.globus.org/scopes/")


# -- hello_world ------------------------------------------------------------------------------
def test_hello_world_sleep_time_keeps_the_action_active_until_it_elapses(run_definition, flows_client):
    started = run_definition(_state(AP + "hello_world", {"echo_string": "hi", "sleep_time": 1.5}), wait=False)
    begun = time.monotonic()
    time.sleep(0.5)
    assert flows_client.get_run(started["run_id"]).data["status"] == "ACTIVE"
    run = wait_for_run(flows_client, started["run_id"], timeout=30)
    assert time.monotonic() - begun >= 1.4
    assert _details(run) == {"Hello": "World", "hello": "hi"}


def test_hello_world_required_dependent_scope_still_waits_for_consent(run_definition, flows_client):
    started = run_definition(_state(AP + "hello_world", {"required_dependent_scope": "urn:x:scope"}), wait=False)
    run = _wait_status(flows_client, started["run_id"], "INACTIVE")
    assert run["details"]["code"] == "ConsentRequired"
    flows_client.post(f"/runs/{started['run_id']}/resume")
    assert _details(wait_for_run(flows_client, started["run_id"]))["required_dependent_scope"] == "urn:x:scope"


# -- expression_eval --------------------------------------------------------------------------
def test_expression_eval_puts_each_result_at_its_result_path(run_definition):
    run = run_definition(_state(AP + "expression_eval", {"expressions": [
        {"expression": "x + 1", "arguments": {"x": 2}},
        {"expression": "'foo' + 'bar'", "result_path": "$.words.joined"},
        {"expression": "[n * n for n in nums]", "arguments": {"nums": [1, 2, 3]}, "result_path": "squares"},
    ]}))
    assert _details(run) == {"result": 3, "words": {"joined": "foobar"}, "squares": [1, 4, 9]}


def test_expression_eval_single_expression_defaults_to_result(run_definition):
    assert _details(run_definition(_state(AP + "expression_eval", {"expression": "len(s)",
                                                                   "arguments": {"s": "abcd"}}))) == {"result": 4}


def test_expression_eval_failure_is_action_failed_naming_the_expression(run_definition):
    run = run_definition(_state(AP + "expression_eval", {"expressions": [
        {"expression": "1"}, {"expression": "nope + 1"}]}))
    details = run["details"]["details"]
    assert run["status"] == "FAILED" and details["error"] == "ActionFailedException"
    assert "expressions[1].expression" in details["cause"] and "\n" not in details["cause"]


def test_expression_eval_costly_expression_is_bounded_not_a_hang(run_definition):
    run = run_definition(_state(AP + "expression_eval", {"expression": "'x' * 10 ** 12"}))
    assert run["status"] == "FAILED" and "expression" in run["details"]["details"]["cause"]


# -- notification/notify ----------------------------------------------------------------------
def test_notification_lands_in_the_outbox_and_never_keeps_the_credentials(run_definition, local_service,
                                                                          actions_client, flows_client):
    from gladier_jupyter import local

    run = run_definition(_state(AP + "notification/notify", {
        "destination": "a@b.example", "sender": "flows@b.example", "subject": "Approval needed",
        "body_mimetype": "text/html", "body_template": "File ${name} is $size bytes; $unknown stays.",
        "body_variables": {"name": "x.pdf", "size": 12}, "send_credentials": CREDS}))
    details = _details(run)
    assert details["description"] == "email to a@b.example: Approval needed"
    [msg] = local.outbox(run_id=run["run_id"], state_dir=local_service.state_dir)
    assert (msg["destination"], msg["subject"], msg["mimetype"], msg["state_name"]) == (
        "a@b.example", "Approval needed", "text/html", "A")
    assert msg["body"] == "File x.pdf is 12 bytes; $unknown stays."
    listed = actions_client.get("outbox", query_params={"run_id": run["run_id"]}).data["messages"]
    assert [m["message_id"] for m in listed] == [details["message_id"]]
    [entry] = [e for e in run_log(flows_client, run["run_id"]) if e["code"] == "ActionCompleted"]
    assert entry["description"] == "State A of type Action completed: email to a@b.example: Approval needed"
    stored = (pathlib.Path(local_service.state_dir) / "actions.sqlite3").read_bytes()
    assert b"hunter2-secret" not in stored and "hunter2-secret" not in json.dumps(run["details"]["output"]["A"])


def test_notification_without_credentials_is_unable_to_run_naming_the_field(run_definition):
    run = run_definition(_state(AP + "notification/notify", {"destination": "a@b.example", "body_template": "x"}))
    details = run["details"]["details"]
    assert details["error"] == "ActionUnableToRun" and "send_credentials" in details["cause"]


# -- datacite/mint ----------------------------------------------------------------------------
def test_datacite_mint_records_a_test_prefix_doi_with_its_metadata(run_definition, local_service):
    from gladier_jupyter import local

    suffix = f"ap-test-{uuid.uuid4().hex[:8]}"
    body = {"as_test": True, "username": "user", "password": "pw-not-kept", "Doi": {
        "id": f"10.80206/{suffix}", "type": "dois", "attributes": {
            "doi": f"10.80206/{suffix}", "creators": [{"name": "Globus Dev Team"}], "titles": [{"title": "Test Title"}],
            "publisher": "Globus", "publicationYear": "2020"}}}
    data = _details(run_definition(_state(AP + "datacite/mint/basic_auth", body)))["data"]
    assert data["id"] == f"10.5072/{suffix}" and data["type"] == "dois"
    assert (data["attributes"]["prefix"], data["attributes"]["state"], data["attributes"]["titles"]) == (
        "10.5072", "draft", [{"title": "Test Title"}])
    assert any(d["data"]["id"] == data["id"] for d in local.dois(state_dir=local_service.state_dir))
    assert b"pw-not-kept" not in (pathlib.Path(local_service.state_dir) / "actions.sqlite3").read_bytes()
    again = run_definition(_state(AP + "datacite/mint", body))
    assert again["status"] == "FAILED" and "already been taken" in again["details"]["details"]["cause"]


def test_datacite_mint_without_a_suffix_makes_one(run_definition):
    data = _details(run_definition(_state(AP + "datacite/mint", {
        "username": "u", "password": "p", "Doi": {"type": "dois", "attributes": {"event": "publish"}}})))["data"]
    assert data["id"].startswith("10.5072/") and data["attributes"]["state"] == "findable"


# -- bad input: the provider's documented error, naming the field -----------------------------
@pytest.mark.parametrize("case", json.loads((DATA / "more_action_bad_inputs.json").read_text()),
                         ids=lambda c: f"{c['url'].rsplit('/', 1)[1]}-{c['names']}")
def test_bad_input_is_action_unable_to_run_naming_the_field(run_definition, case):
    run = run_definition(_state(case["url"], case["body"]))
    assert run["status"] == "FAILED"
    details = run["details"]["details"]
    assert details["error"] == "ActionUnableToRun", details
    assert case["names"] in details["cause"] and "\n" not in details["cause"], details["cause"]


# -- weboption/wait_for_option ----------------------------------------------------------------
def _options(tag: str) -> dict:
    return {"options": [{"name": "approve", "url_suffix": f"{tag}-approve", "completed_message": "Thanks"},
                        {"name": "reject", "url_suffix": f"{tag}-reject"}],
            "landing_page": {"url_suffix": f"{tag}-page", "header_text": "Review"}}


def test_wait_for_option_waits_until_an_option_address_is_accessed(run_definition, flows_client, local_service,
                                                                   actions_client):
    from gladier_jupyter import local

    tag = uuid.uuid4().hex
    started = run_definition(_state(AP + "weboption/wait_for_option", _options(tag)), wait=False)
    deadline = time.monotonic() + 30
    while not local.waiting_options(started["run_id"], local_service.state_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    [waiting] = local.waiting_options(started["run_id"], local_service.state_dir)
    assert [o["url"] for o in waiting["options"]] == [
        f"https://actions.globus.org/weboption/option/{tag}-approve",
        f"https://actions.globus.org/weboption/option/{tag}-reject"]
    page = actions_client.get(f"actions.globus.org/weboption/landing_page/{tag}-page").data
    assert page["header_text"] == "Review" and len(page["options"]) == 2
    assert flows_client.get_run(started["run_id"]).data["status"] == "ACTIVE"

    answer = local.select_option(waiting["options"][0]["url"], local_service.state_dir)
    assert answer["message"] == "Thanks"
    run = wait_for_run(flows_client, started["run_id"], timeout=30)
    assert (_details(run)["name"], _details(run)["url_suffix"]) == ("approve", f"{tag}-approve")
    # Once selected, none of the action's addresses answers.
    for path in (f"option/{tag}-reject", f"option/{tag}-approve", f"landing_page/{tag}-page"):
        with pytest.raises(globus_sdk.GlobusAPIError) as info:
            actions_client.get(f"actions.globus.org/weboption/{path}")
        assert info.value.http_status == 404


def test_wait_for_option_of_a_canceled_run_answers_no_more(run_definition, flows_client, local_service, actions_client):
    from gladier_jupyter import local

    tag = uuid.uuid4().hex
    started = run_definition(_state(AP + "weboption/wait_for_option", _options(tag)), wait=False)
    deadline = time.monotonic() + 30
    while not local.waiting_options(started["run_id"], local_service.state_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    flows_client.cancel_run(started["run_id"])
    deadline = time.monotonic() + 30
    while local.waiting_options(started["run_id"], local_service.state_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(globus_sdk.GlobusAPIError) as info:
        actions_client.get(f"actions.globus.org/weboption/option/{tag}-approve")
    assert info.value.http_status == 404


def test_select_option_refuses_what_is_not_an_address(local_service):
    from gladier_jupyter import local
    from gladier_jupyter.errors import GladierJupyterUsageError

    with pytest.raises(GladierJupyterUsageError, match="weboption address"):
        local.select_option("../../etc/passwd", local_service.state_dir)


# -- Web Inputs -------------------------------------------------------------------------------
WEB_INPUT_FLOW = {
    "StartAt": "CreateWebInput",
    "States": {
        "CreateWebInput": {
            "Type": "CreateWebInput",
            "Parameters": {
                "InputType": "Selection",
                "Context": {"PresentationStyle": "Table", "Title": "Approve deployment to production?",
                            "Rows": [{"Field": "Version", "Value.$": "$.version"}]},
                "Options": [{"Value": "approve", "Label": "Approve", "Description": "Proceed."},
                            {"Value": "deny", "Label": "Deny", "Description": "Halt."}],
                "RespondentUrns": ["urn:globus:groups:id:11111111-2222-3333-4444-555555555555"],
            },
            "ResultPath": "$.web_input_info",
            "Next": "AwaitResponse",
        },
        "AwaitResponse": {"Type": "AwaitWebInput", "Parameters": {"web_input_id.$": "$.web_input_info.web_input_id"},
                          "ResultPath": "$.response_info", "Next": "Evaluate"},
        "Evaluate": {"Type": "Choice", "Choices": [{"Variable": "$.response_info.response", "StringEquals": "approve",
                                                    "Next": "Approved"}], "Default": "Denied"},
        "Approved": {"Type": "Pass", "End": True},
        "Denied": {"Type": "Fail", "Error": "NotApproved", "Cause": "The request was denied."},
    },
}


def _fixture_keys(name: str, case: str = "default") -> set[str]:
    return set(get_response_set(getattr(globus_sdk.FlowsClient, name)).lookup(case).json)


@pytest.mark.parametrize(("choice", "status"), [("approve", "SUCCEEDED"), ("deny", "FAILED")])
def test_web_input_run_waits_inactive_until_answered_through_the_api(run_definition, flows_client, choice, status):
    started = run_definition(WEB_INPUT_FLOW, {"version": "v2.4.1"}, wait=False)
    run = _wait_status(flows_client, started["run_id"], "INACTIVE")
    assert run["status"] == "INACTIVE" and run["details"]["code"] == "AwaitingWebInput"

    [summary] = list(flows_client.list_web_inputs(filter_run_ids=started["run_id"], filter_states="open"))
    assert set(summary) == set(get_response_set(globus_sdk.FlowsClient.list_web_inputs).lookup("default")
                               .json["web_input_summaries"][0])
    doc = flows_client.get_web_input(summary["id"]).data
    assert set(doc) == _fixture_keys("get_web_input")
    assert doc["context"] == {"title": "Approve deployment to production?", "presentation_style": "table",
                              "rows": [{"field": "Version", "value": "v2.4.1"}]}
    option = next(o for o in doc["options"] if o["label"].lower().startswith(choice[:4]))
    assert [o["const"] for o in doc["input_schema"]["oneOf"]] == [o["option_id"] for o in doc["options"]]

    assert flows_client.respond_to_web_input(summary["id"], value=option["option_id"]).data == {"status": "ok"}
    run = wait_for_run(flows_client, started["run_id"], timeout=30)
    assert run["status"] == status, run["details"]
    closed = flows_client.get_web_input(summary["id"]).data
    assert closed["status"] == "closed" and closed["closed_timestamp"]
    if status == "SUCCEEDED":
        assert run["details"]["output"]["response_info"]["response"] == "approve"
    codes = [e["code"] for e in run_log(flows_client, started["run_id"])]
    assert "ActionInactive" in codes


def test_web_input_errors_have_the_fixtures_codes(run_definition, flows_client):
    with pytest.raises(globus_sdk.FlowsAPIError) as info:
        flows_client.get_web_input(str(uuid.uuid4()))
    assert (info.value.http_status, info.value.code) == (404, "NOT_FOUND")
    started = run_definition(WEB_INPUT_FLOW, {"version": "1"}, wait=False)
    _wait_status(flows_client, started["run_id"], "INACTIVE")
    [summary] = list(flows_client.list_web_inputs(filter_run_ids=started["run_id"]))
    with pytest.raises(globus_sdk.FlowsAPIError) as info:
        flows_client.respond_to_web_input(summary["id"], value="not-a-real-option")
    assert (info.value.http_status, info.value.code) == (422, "UNPROCESSABLE_ENTITY")
    option = flows_client.get_web_input(summary["id"]).data["options"][0]["option_id"]
    flows_client.respond_to_web_input(summary["id"], value=option)
    with pytest.raises(globus_sdk.FlowsAPIError) as info:
        flows_client.respond_to_web_input(summary["id"], value=option)
    assert (info.value.http_status, info.value.code) == (409, "STATE_CONFLICT")
    assert wait_for_run(flows_client, started["run_id"])["status"] == "SUCCEEDED"


def test_await_web_input_of_an_unknown_id_is_unable_to_run(run_definition):
    run = run_definition({"StartAt": "W", "States": {"W": {"Type": "AwaitWebInput", "Parameters": {
        "web_input_id": str(uuid.uuid4())}, "End": True}}})
    details = run["details"]["details"]
    assert run["status"] == "FAILED" and details["error"] == "ActionUnableToRun" and "web_input_id" in details["cause"]


def test_create_web_input_without_options_is_refused_naming_the_field(run_definition):
    run = run_definition({"StartAt": "C", "States": {"C": {"Type": "CreateWebInput", "Parameters": {
        "InputType": "Selection", "Context": {"Title": "t"}}, "End": True}}})
    details = run["details"]["details"]
    assert details["error"] == "ActionUnableToRun" and "Options" in details["cause"]


# -- hostile input and other users ------------------------------------------------------------
def test_notification_template_repeating_a_long_variable_is_refused_before_it_is_built(run_definition,
                                                                                       flows_client):
    # 100,000 placeholders of a 10,000-character variable: a 1,000,000,000-character email
    # that the first version built in the service's memory (string.Template), in one go.
    run = run_definition(_state(AP + "notification/notify", {
        "destination": "a@b.example", "body_template": "$a" * 100_000, "body_variables": {"a": "x" * 10_000},
        "send_credentials": CREDS}))
    details = run["details"]["details"]
    assert details["error"] == "ActionUnableToRun" and "body_template" in details["cause"]
    assert len(details["cause"]) < 300
    assert flows_client.get_run(run["run_id"]).data["status"] == "FAILED"  # the service still answers


def test_outbox_keeps_only_the_newest_messages(local_service):
    from gladier_jupyter.local._http import ServiceContext
    from gladier_jupyter.local.actions.store import OUTBOX_KEPT, ActionsStore

    store = ActionsStore(ServiceContext(state_dir=pathlib.Path(local_service.state_dir) / "outbox-cap", secret="x"))
    try:
        for i in range(OUTBOX_KEPT + 10):
            store.add_message({"time": "t", "destination": "a@b", "body": f"m{i}", "message_id": str(i)})
        kept = store.messages(limit=OUTBOX_KEPT + 100)
        assert len(kept) == OUTBOX_KEPT and kept[0]["body"] == f"m{OUTBOX_KEPT + 9}"
    finally:
        store.close()


def test_another_user_without_the_secret_cannot_read_the_outbox_nor_choose_an_option(
        run_definition, flows_client, local_service):
    import http.client
    import ssl

    from gladier_jupyter import local

    tag = uuid.uuid4().hex
    started = run_definition(_state(AP + "weboption/wait_for_option", _options(tag)), wait=False)
    deadline = time.monotonic() + 30
    while not local.waiting_options(started["run_id"], local_service.state_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    port = int(local_service.base_url.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=str(local_service.ca_file))
    statuses = []
    for method, path in (("GET", "/api/actions/outbox"), ("GET", f"/api/actions/actions.globus.org/weboption/option/{tag}-approve"),
                         ("POST", f"/api/actions/actions.globus.org/weboption/option/{tag}-approve"),
                         ("GET", "/api/flows/web_inputs")):
        for headers in ({}, {"Authorization": "Bearer guessed"}):
            conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
            conn.request(method, path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
            conn.close()
    assert set(statuses) == {401}
    assert flows_client.get_run(started["run_id"]).data["status"] == "ACTIVE"
    assert local.waiting_options(started["run_id"], local_service.state_dir)
    flows_client.cancel_run(started["run_id"])
