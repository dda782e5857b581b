"""A plain gladier client's ``run_flow()`` (no magic) says what it is about to re-deploy, as
``%gladier_run`` does: a one-line summary always, the diff on the preview's graph where a
front end can draw it. Real gladier against the local service."""

from __future__ import annotations

from tests._fixtures.runs import wait_for_run
from tests.test_magics import ipshell, run, shell  # noqa: F401
from tests.test_seed_tutorial import _kernel_env, _text, plain_clients  # noqa: F401

V1 = {"StartAt": "Prepare", "States": {
    "Prepare": {"Type": "Pass", "Result": 1, "ResultPath": "$.prepared", "Next": "Measure"},
    "Measure": {"Type": "Pass", "End": True}}}
V2 = {"StartAt": "Prepare", "States": {
    "Prepare": {"Type": "Pass", "Result": 1, "ResultPath": "$.prepared", "Next": "Analyse"},
    "Analyse": {"Type": "Pass", "End": True}}}


def _client_class(base, name: str):
    from gladier import GladierBaseTool

    class Steps(GladierBaseTool):
        flow_definition = V1
        compute_functions = []

    # gladier keeps a client's flow id under its class name: one name per test
    return type(name, (base,), {"gladier_tools": [Steps], "flow_definition": V1})


def test_plain_run_flow_prints_the_redeploy_summary_without_a_display(plain_clients, capsys):  # noqa: F811
    from gladier_jupyter import backend
    from gladier_jupyter import plain_clients as plain

    cls = _client_class(plain_clients, "PlainRedeployClient")
    client = cls()
    first = client.run_flow(flow_input={"input": {"n": 1}}, label="plain v1")
    assert plain.last_redeploy() is None  # the first run deploys: nothing to compare with
    wait_for_run(backend.flows_client(), first["run_id"])
    client.run_flow(flow_input={"input": {"n": 1}}, label="plain v1 again")
    assert plain.last_redeploy() is None  # nothing changed: no notice
    assert "Re-deploying" not in capsys.readouterr().out

    cls.flow_definition = V2
    second = cls().run_flow(flow_input={"input": {"n": 1}}, label="plain v2")
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("Re-deploying flow")]
    assert lines == [f"Re-deploying flow {first['flow_id']}: 1 added; 1 removed; 1 changed."], out
    assert "FlowPreview" not in out  # no front end here: the summary only, no widget repr
    preview = plain.last_redeploy()
    states = preview.changes["states"]
    assert (states["Analyse"]["status"], states["Measure"]["status"],
            states["Prepare"]["status"]) == ("added", "removed", "changed")
    # the run went ahead on the re-deployed flow
    assert second["flow_id"] == first["flow_id"]
    done = wait_for_run(backend.flows_client(), second["run_id"])
    assert done["status"] == "SUCCEEDED"
    pinned = backend.flows_client().get_run_definition(second["run_id"]).data["definition"]
    assert "Analyse" in pinned["States"]


def test_plain_run_flow_in_a_kernel_displays_the_diff_on_the_preview(local_service, monkeypatch, tmp_path):
    from tests._notebook_cells import execute_notebook

    _kernel_env(monkeypatch)
    define = (
        f"V1 = {V1!r}\nV2 = {V2!r}\n"
        "class Steps(gladier.GladierBaseTool):\n"
        "    flow_definition = V1\n"
        "    compute_functions = []\n"
        "class KernelRedeployClient(gladier.GladierBaseClient):\n"
        "    gladier_tools = [Steps]\n"
        "    flow_definition = V1\n"
        "client = KernelRedeployClient()\n"
        "first = client.run_flow(flow_input={'input': {'n': 1}}, label='kernel v1')\n"
        "client.progress(first['run_id'], delay=0.2)\n")
    rerun = ("KernelRedeployClient.flow_definition = V2\n"
             "second = KernelRedeployClient().run_flow(flow_input={'input': {'n': 1}}, label='kernel v2')\n"
             "print('RUN', second['status'])")
    # gladier imported in a cell of its own, as the tutorial does: the extension hooks its
    # clients once it is imported
    nb = execute_notebook(["%load_ext gladier_jupyter", "import gladier", define, rerun], cwd=tmp_path)
    cell = nb.cells[3]
    text = _text(cell)
    assert text.count("Re-deploying flow ") == 1, text
    assert "1 added; 1 removed; 1 changed." in text
    views = [o for o in cell.outputs if o.output_type == "display_data"
             and "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1, cell.outputs  # the preview with the diff on its graph
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    model = state[views[0].data["application/vnd.jupyter.widget-view+json"]["model_id"]]["state"]
    assert model["changes"]["states"]["Analyse"]["status"] == "added"
    assert "RUN" in text


def test_gladier_run_announces_a_redeploy_once(shell, local_service, capsys):  # noqa: F811
    import json

    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    cell = "%gladier_run StepsClient {'input': {'n': 1}} --no-monitor"
    run(shell, "%%gladier_tool Steps --definition\n" + json.dumps(V1))
    run(shell, "%gladier_client StepsClient Steps --no-preview")
    run(shell, cell)
    run(shell, "%%gladier_tool Steps --definition\n" + json.dumps(V2))
    run(shell, "%gladier_client StepsClient Steps --no-preview")
    capsys.readouterr()
    run(shell, cell)
    out = capsys.readouterr().out
    # the magic shows it; the client's run_flow, which the magic calls, does not repeat it
    assert out.count("Re-deploying flow ") == 1, out
