"""%gladier_run and re-registration, for real, through the local Globus-compatible service."""

from __future__ import annotations

import os

import pytest

from tests._fixtures.runs import wait_for_run
from tests.test_magics import define_seed_tools, ipshell, run, shell, usage_error  # noqa: F401


def output_of(flows_client, run_id: str) -> dict:
    doc = wait_for_run(flows_client, run_id)
    assert doc["status"] == "SUCCEEDED", doc
    return doc["details"]["output"]


@pytest.fixture
def local_shell(shell, local_service, tmp_path):  # noqa: F811 - the imported fixture
    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    shell.user_ns["workdir"] = str(tmp_path)
    return shell


def test_seed_tutorial_by_magics_runs_to_succeeded(local_shell, flows_client, search_client, tmp_path):
    ip = local_shell
    define_seed_tools(ip)
    run(ip, "%gladier_client TutorialClient RunExperiment GatherMetadata PublishMetadata --no-preview")
    index = search_client.create_index("gladier-tutorial", "magics test")["id"]
    experiment = tmp_path / "file_1.txt"
    ip.user_ns["flow_input"] = {
        "input": {
            "experiment": str(experiment),
            "subject": "https://example.com/my-gladier-experiment/file_1.txt",
            "compute_endpoint": "4b116d3c-1703-4f8f-9f6f-39921e5864df",
            "search_index": index,
        }
    }
    ip.user_ns["experiment"] = experiment
    run(ip, '%gladier_run TutorialClient flow_input --label "Experiment {experiment.name}" --out tutorial_run')
    doc = ip.user_ns["tutorial_run"]
    assert ip.user_ns["_"] is doc
    assert doc["label"] == "Experiment file_1.txt"
    monitor = ip.magics_manager.registry["GladierMagics"].last_monitor
    assert monitor.run_id == doc["run_id"]
    assert monitor.wait(120) == "SUCCEEDED"
    output = output_of(flows_client, doc["run_id"])
    assert output["RunExperiment"]["details"]["result"][0] == str(experiment)
    published = output["GatherMetadata"]["details"]["result"][0]
    assert published["content"]["files"][0]["filename"] == "file_1.txt"
    hits = search_client.post_search(index, {"q": "file_1.txt"}).data
    assert hits["total"] >= 1
    assert not experiment.exists()  # gather_metadata cleaned up


def test_functions_run_in_a_fresh_process_with_v3_and_literal_endpoint(local_shell, flows_client):
    ip = local_shell
    run(
        ip,
        "%%gladier_tool WhoAmI --action-url v3 --endpoint 4b116d3c-1703-4f8f-9f6f-39921e5864df\n"
        "def who_am_i(**data):\n    import os\n    return {'pid': os.getpid(), 'echo': data['word']}\n",
    )
    run(ip, "%gladier_client WhoClient WhoAmI --no-preview")
    # a literal input; the endpoint is in the flow, so the input need not name one
    run(ip, "%gladier_run WhoClient {\"input\": {\"word\": \"hello there\"}} --tags one two --no-monitor")
    doc = ip.user_ns["_"]
    assert doc["tags"] == ["one", "two"]
    output = output_of(flows_client, doc["run_id"])
    result = output["WhoAmI"]["details"]["results"][0]["output"]
    assert result["echo"] == "hello there"
    assert result["pid"] != os.getpid()


def test_rerunning_the_tool_cell_re_registers_the_function(local_shell, flows_client):
    ip = local_shell
    cell = "%%gladier_tool Answer\ndef answer(**data):\n    return {ANSWER}\n"
    run(ip, cell.replace("{ANSWER}", "1"))
    run(ip, "%gladier_client AnswerClient Answer --no-preview")
    flow_input = "{'input': {'compute_endpoint': '4b116d3c-1703-4f8f-9f6f-39921e5864df'}}"

    def one_run() -> tuple[str, object]:
        run(ip, f"%gladier_run AnswerClient {flow_input} --no-monitor")
        doc = ip.user_ns["_"]
        output = output_of(flows_client, doc["run_id"])
        return output["input"]["answer_function_id"], output["Answer"]["details"]["result"][0]

    first_id, first = one_run()
    same_id, _ = one_run()
    assert same_id == first_id  # unchanged source: same checksum, no new registration
    run(ip, cell.replace("{ANSWER}", "2"))
    second_id, second = one_run()
    assert (first, second) == (1, 2)
    assert second_id != first_id


def test_run_names_the_old_endpoint_key_before_contacting_the_service(local_shell):
    ip = local_shell
    define_seed_tools(ip)
    run(ip, "%gladier_client OldKeys RunExperiment GatherMetadata PublishMetadata --no-preview")
    message = usage_error(
        ip,
        "%gladier_run OldKeys {'input': {'experiment': '/tmp/x', 'subject': 's', "
        "'funcx_endpoint_compute': '4b116d3c-1703-4f8f-9f6f-39921e5864df', 'search_index': 'i'}}",
    )
    assert "funcx_endpoint_compute" in message and "compute_endpoint" in message
    assert "RunExperiment" in message and "GatherMetadata" in message


def test_run_in_cloud_mode_before_login_says_how_to_log_in(local_shell, local_service):
    from gladier_jupyter import backend

    ip = local_shell
    run(ip, "%%gladier_tool Cloudy\ndef cloudy(**data):\n    return 1\n")
    run(ip, "%gladier_client CloudyClient Cloudy --no-preview")
    backend.use_globus()
    try:
        message = usage_error(
            ip,
            "%gladier_run CloudyClient {'input': {'compute_endpoint': '4b116d3c-1703-4f8f-9f6f-39921e5864df'}}",
        )
    finally:
        backend.use_local(local_service.state_dir)
    assert "log in" in message and "use_local()" in message


def test_run_accepts_a_client_instance_and_a_python_literal(local_shell, flows_client):
    from gladier_jupyter import backend

    ip = local_shell
    run(ip, "%%gladier_tool Echo\ndef echo(**data):\n    return data['word'].upper()\n")
    run(ip, "%gladier_client EchoClient Echo --no-preview")
    ip.user_ns["echo_client"] = ip.user_ns["EchoClient"](**backend.gladier_client_kwargs())
    ip.user_ns["how"] = "instance"
    run(
        ip,
        "%gladier_run echo_client {'input': {'word': '{how}', "
        "'compute_endpoint': '4b116d3c-1703-4f8f-9f6f-39921e5864df'}} -l 'by {how}' -o echoed",
    )
    doc = ip.user_ns["echoed"]
    # options expand {expressions} as in any line magic; the input literal is taken as written
    assert doc["label"] == "by instance"
    assert ip.magics_manager.registry["GladierMagics"].last_monitor.run_id == doc["run_id"]
    assert output_of(flows_client, doc["run_id"])["Echo"]["details"]["result"][0] == "{HOW}"
