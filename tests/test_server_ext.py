"""The jupyter_server extension: its routes, through a real JupyterLab and the local service."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import sysconfig
import urllib.error
import urllib.request

import pytest

from tests._fixtures.runs import TERMINAL, wait_for_run

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
API = "gladier-jupyter/api"


def load(name: str) -> dict:
    return json.loads((DATA / "labext" / name).read_text())


def raw_request(lab, path: str, method: str = "GET", body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, str]:
    req = urllib.request.Request(f"{lab.url}/{path}", data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def authed(lab, path: str, method: str = "GET", body: object = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    status, text = raw_request(lab, path, method, data, {
        "Authorization": f"token {lab.token}", "Content-Type": "application/json"})
    return status, json.loads(text) if text else {}


@pytest.mark.parametrize(("method", "path"), [
    ("GET", f"{API}/runs"),
    ("GET", f"{API}/runs/0b5b2a8e-0000-4000-8000-000000000000"),
    ("GET", f"{API}/runs/0b5b2a8e-0000-4000-8000-000000000000/log"),
    ("POST", f"{API}/runs/0b5b2a8e-0000-4000-8000-000000000000/cancel"),
    ("POST", f"{API}/runs/0b5b2a8e-0000-4000-8000-000000000000/resume"),
    ("GET", f"{API}/flows/0b5b2a8e-0000-4000-8000-000000000000"),
    ("POST", f"{API}/flowdef"),
])
def test_requests_without_jupyter_login_are_refused(lab, method, path):
    status, text = raw_request(lab, path, method, b"{}" if method == "POST" else None)
    assert status in (401, 403), (status, text)
    assert "runs" not in text or status != 200


def test_a_wrong_token_is_refused(lab):
    status, _ = raw_request(lab, f"{API}/runs", headers={"Authorization": "token not-the-token"})
    assert status in (401, 403)


def test_runs_lists_local_runs_newest_first_with_their_flow_and_status(lab, run_definition):
    first = run_definition(load("quick_flow.json"), label="server-ext first")
    second = run_definition(load("quick_flow.json"), label="server-ext second")
    status, doc = authed(lab, f"{API}/runs")
    assert status == 200, doc
    assert doc["sources"]["local"] == {"available": True, "message": ""}
    # No Globus login in the test home: Globus is reported as such, not as an error.
    assert doc["sources"]["globus"]["available"] is False
    assert "Not logged in to Globus" in doc["sources"]["globus"]["message"]
    ids = [r["run_id"] for r in doc["runs"]]
    assert ids.index(second["run_id"]) < ids.index(first["run_id"])
    starts = [r["start_time"] for r in doc["runs"]]
    assert starts == sorted(starts, reverse=True)
    row = next(r for r in doc["runs"] if r["run_id"] == second["run_id"])
    assert row["label"] == "server-ext second"
    assert row["status"] == "SUCCEEDED"
    assert row["flow_id"] == second["flow_id"]
    assert row["flow_title"] == "test flow"
    assert row["source"] == "local"
    assert row["start_time"] and row["completion_time"]


def test_runs_filters_by_flow_and_status(lab, run_definition):
    done = run_definition(load("quick_flow.json"), label="server-ext filter")
    status, doc = authed(lab, f"{API}/runs?flow_id={done['flow_id']}")
    assert status == 200
    assert [r["run_id"] for r in doc["runs"]] == [done["run_id"]]
    status, doc = authed(lab, f"{API}/runs?flow_id={done['flow_id']}&status=FAILED")
    assert status == 200 and doc["runs"] == []


def test_run_gives_the_monitor_view_and_log_rows_page_by_page(lab, run_definition):
    done = run_definition(load("quick_flow.json"), label="server-ext view")
    status, snap = authed(lab, f"{API}/runs/{done['run_id']}")
    assert status == 200, snap
    assert snap["status"] == "SUCCEEDED"
    assert snap["source"] == "local"
    assert snap["label"] == "server-ext view"
    assert {n: s["status"] for n, s in snap["states"].items()} == {
        "Prepare": "succeeded", "Finish": "succeeded"}
    assert {n["id"] for n in snap["graph"]["nodes"]} >= {"Prepare", "Finish"}
    assert snap["progress"] == {"done": 2, "total": 2}
    total = snap["log_total"]
    assert total >= 5  # FlowStarted, two states started and completed, FlowSucceeded
    status, page = authed(lab, f"{API}/runs/{done['run_id']}/log?offset=0&source=local")
    assert status == 200
    assert [r["i"] for r in page["entries"]] == list(range(total))
    assert page["entries"][0]["code"] == "FlowStarted"
    status, tail = authed(lab, f"{API}/runs/{done['run_id']}/log?offset=3")
    assert [r["i"] for r in tail["entries"]] == list(range(3, total))
    assert tail["entries"] == page["entries"][3:]


def test_an_unknown_run_is_404_with_a_message_naming_it(lab, local_service):
    run_id = "0b5b2a8e-0000-4000-8000-000000000000"
    status, doc = authed(lab, f"{API}/runs/{run_id}")
    assert status == 404
    assert run_id in doc["message"] and "local service" in doc["message"]


def test_a_bad_log_offset_is_a_400(lab):
    status, doc = authed(lab, f"{API}/runs/whatever/log?offset=many")
    assert status == 400 and "offset" in doc["message"]


def test_cancel_ends_an_active_run(lab, run_definition, flows_client):
    started = run_definition(load("long_wait_flow.json"), wait=False, label="server-ext cancel")
    status, doc = authed(lab, f"{API}/runs/{started['run_id']}/cancel", "POST", {})
    assert status == 200, doc
    assert doc["run_id"] == started["run_id"]
    final = wait_for_run(flows_client, started["run_id"], timeout=60)
    # The Wait had 600 s to go: only the cancel can have ended the run this soon.
    assert final["status"] in ("ENDED", "FAILED")
    status, snap = authed(lab, f"{API}/runs/{started['run_id']}")
    assert snap["status"] == final["status"]
    assert snap["states"]["Done"]["status"] == "skipped"


def test_resume_continues_a_run_waiting_for_consent(lab, run_definition, flows_client):
    started = run_definition(load("consent_flow.json"), wait=False, label="server-ext resume")
    doc = wait_for_run(flows_client, started["run_id"], 60, statuses=("INACTIVE", *TERMINAL))
    assert doc["status"] == "INACTIVE"
    status, snap = authed(lab, f"{API}/runs/{started['run_id']}")
    assert snap["status"] == "INACTIVE" and snap["states"]["Hello"]["status"] == "inactive"
    assert snap["required_scopes"] == [
        "https://auth.globus.org/scopes/actions.globus.org/hello_world/extra"]
    status, doc = authed(lab, f"{API}/runs/{started['run_id']}/resume", "POST", {})
    assert status == 200, doc
    assert wait_for_run(flows_client, started["run_id"], timeout=60)["status"] == "SUCCEEDED"


def test_resume_of_a_finished_run_is_refused_with_the_services_reason(lab, run_definition):
    done = run_definition(load("quick_flow.json"), label="server-ext resume done")
    status, doc = authed(lab, f"{API}/runs/{done['run_id']}/resume", "POST", {})
    assert status == 409
    assert "SUCCEEDED" in doc["message"]


def test_flow_gives_definition_and_graph(lab, run_definition):
    done = run_definition(load("quick_flow.json"), label="server-ext flow")
    status, doc = authed(lab, f"{API}/flows/{done['flow_id']}")
    assert status == 200, doc
    assert doc["definition"] == load("quick_flow.json")
    assert doc["title"] == "test flow" and doc["source"] == "local"
    assert doc["graph"]["start"] == "Prepare"


def test_flowdef_checks_a_definition_text_like_the_preview(lab):
    broken = json.loads((DATA / "definitions" / "broken" / "unknown_next.json").read_text())
    status, doc = authed(lab, f"{API}/flowdef", "POST",
                         {"text": json.dumps(broken["definition"]), "path": "dir/broken.flow.json"})
    assert status == 200
    assert doc["is_flow"] is True and doc["message"] == ""
    found = {(p["code"], p["state"]) for p in doc["problems"]}
    assert found >= {(p["code"], p["state"]) for p in broken["problems"]}
    assert doc["graph"]["name"] == "broken.flow.json"
    assert any(n.get("missing") for n in doc["graph"]["nodes"])  # the 'Secnd' ghost


def test_flowdef_reads_yaml(lab):
    text = "StartAt: A\nStates:\n  A:\n    Type: Pass\n    End: true\n"
    status, doc = authed(lab, f"{API}/flowdef", "POST", {"text": text, "path": "a.yaml"})
    assert status == 200
    assert doc["definition"] == {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    assert doc["problems"] == [] and doc["is_flow"] is True


def test_flowdef_says_when_a_file_is_not_a_flow(lab):
    text = (DATA / "labext" / "not_a_flow.yaml").read_text()
    status, doc = authed(lab, f"{API}/flowdef", "POST", {"text": text, "path": "settings.yaml"})
    assert status == 200
    assert doc["is_flow"] is False
    assert "settings.yaml is not a flow definition" in doc["message"]
    status, doc = authed(lab, f"{API}/flowdef", "POST", {"text": "{not json: [", "path": "x.json"})
    assert status == 200 and doc["graph"] == {}
    assert doc["message"].startswith("x.json: ")


def test_answers_never_carry_the_local_service_secret(lab, run_definition, local_service):
    done = run_definition(load("quick_flow.json"), label="server-ext secret")
    texts = [
        raw_request(lab, f"{API}/{path}", headers={"Authorization": f"token {lab.token}"})[1]
        for path in ("runs", f"runs/{done['run_id']}", f"runs/{done['run_id']}/log",
                     f"flows/{done['flow_id']}")
    ]
    assert all(texts)
    assert not any(local_service.secret in text for text in texts)


# --------------------------------------------------------------------------------------
# Installation: both extensions are found by Jupyter's own listing commands
# --------------------------------------------------------------------------------------


def _jupyter(args: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> str:
    out = subprocess.run([sys.executable, "-m", "jupyter", *args], capture_output=True,
                         text=True, env=env, cwd=cwd, timeout=120)
    return out.stdout + out.stderr


def test_server_extension_is_enabled_and_lab_extension_listed(tmp_path):
    text = _jupyter(["server", "extension", "list"], cwd=str(tmp_path))
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("gladier_jupyter ")
                and "OK" not in ln)
    assert "enabled" in line, text
    assert any(ln.strip().startswith("gladier_jupyter ") and "OK" in ln
               for ln in text.splitlines()), text
    text = _jupyter(["labextension", "list"], cwd=str(tmp_path))
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("gladier-jupyter "))
    assert "enabled" in line and "OK" in line, text


def test_plain_pip_install_puts_both_extensions_where_jupyter_looks(tmp_path):
    prefix = tmp_path / "prefix"
    # --no-build-isolation: the wheel is built from this checkout's already built front end
    # with the venv's hatchling (no network); --ignore-installed: pip must not uninstall the
    # venv's editable install on the way. Otherwise this is a plain `pip install .`.
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--ignore-installed",
         "--ignore-installed",  # never uninstall the environment's own (editable) copy
         "--prefix", str(prefix), str(ROOT)],
        capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    ext = prefix / "share/jupyter/labextensions/gladier-jupyter"
    assert (ext / "package.json").is_file() and (ext / "install.json").is_file()
    assert list((ext / "static").glob("remoteEntry.*.js"))
    assert (prefix / "etc/jupyter/jupyter_server_config.d/gladier_jupyter.json").is_file()

    site = sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)})
    env = dict(os.environ, JUPYTER_PATH=str(prefix / "share/jupyter"),
               JUPYTER_CONFIG_PATH=str(prefix / "etc/jupyter"), PYTHONPATH=site)
    text = _jupyter(["labextension", "list"], env=env, cwd=str(tmp_path))
    section = text.split(str(ext.parent), 1)
    assert len(section) == 2, text
    first = next(ln for ln in section[1].splitlines() if ln.strip())
    assert first.strip().startswith("gladier-jupyter ") and "enabled" in first, text
    # `jupyter server extension list` shows only the user, sys-prefix and system config
    # dirs; ask the extension config manager the server itself uses to read the prefix's.
    probe = subprocess.run(
        [sys.executable, "-c",
         "import importlib, json, sys\n"
         "from jupyter_server.extension.config import ExtensionConfigManager\n"
         "from jupyter_server.extension.manager import ExtensionPackage\n"
         "m = ExtensionConfigManager(read_config_path=[sys.argv[1]])\n"
         "found = m.get_jpserver_extensions()\n"
         "pkg = ExtensionPackage(name='gladier_jupyter')\n"
         "print(json.dumps({'found': found, 'valid': pkg.validate(), 'module': importlib.import_module('gladier_jupyter').__file__}))",
         str(prefix / "etc/jupyter")],
        capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120)
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result["found"] == {"gladier_jupyter": True}
    assert result["valid"] is True
    assert result["module"].startswith(str(prefix))  # the installed copy, not the checkout


# --------------------------------------------------------------------------------------
# Globus Flows beside the local service, with the server's Globus login
# --------------------------------------------------------------------------------------


def _globus_data(access_token: str) -> str:
    """GLOBUS_DATA as JupyterHub's GlobusOAuthenticator sets it, holding one Flows token."""
    import base64
    import pickle

    import globus_sdk

    scopes = globus_sdk.FlowsClient.scopes
    state = {"tokens": {"flows.globus.org": {
        "access_token": access_token, "expires_in": 3600, "resource_server": "flows.globus.org",
        "scope": f"{scopes.run_status} {scopes.view_flows} {scopes.run_manage}",
        "token_type": "Bearer"}}}
    return base64.b64encode(pickle.dumps(state)).decode()


def test_globus_runs_are_listed_beside_local_runs_when_the_server_holds_a_login(
        tmp_path, local_service, run_definition, monkeypatch):
    import globus_sdk

    from gladier_jupyter import local
    from gladier_jupyter.server.runs import GlobusSource, LocalSource, Registry

    here = run_definition(load("quick_flow.json"), label="stays local")
    # A second service stands in for Globus Flows: the same API, another URL and token.
    cloud = local.ensure_running(tmp_path / "cloud")
    try:
        monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_FLOWS", cloud.service_url("flows"))
        # "Globus" is verified by its own certificate, the local service by its own
        bundle = tmp_path / "ca-bundle.pem"
        bundle.write_bytes(pathlib.Path(cloud.ca_file).read_bytes()
                           + pathlib.Path(local_service.ca_file).read_bytes())
        monkeypatch.setenv("GLOBUS_SDK_VERIFY_SSL", str(bundle))
        auth = globus_sdk.AccessTokenAuthorizer(cloud.secret)
        cloud_flows = globus_sdk.FlowsClient(authorizer=auth)
        flow = cloud_flows.create_flow("cloud flow", load("quick_flow.json"), {}).data
        there = globus_sdk.SpecificFlowClient(flow["id"], authorizer=auth).run_flow(
            {}, label="in the cloud").data
        assert wait_for_run(cloud_flows, there["run_id"])["status"] == "SUCCEEDED"

        on_this_machine = LocalSource(str(local_service.state_dir))
        registry = Registry([on_this_machine, GlobusSource(
            on_this_machine, environ={"GLOBUS_DATA": _globus_data(cloud.secret)})])
        doc = registry.list_runs([], [])
        assert doc["sources"] == {"local": {"available": True, "message": ""},
                                  "globus": {"available": True, "message": ""}}
        where = {r["run_id"]: r["source"] for r in doc["runs"]}
        assert where[here["run_id"]] == "local"
        assert where[there["run_id"]] == "globus"
        # Without a source, a run id is looked up locally first, then in Globus.
        snap = registry.tracker(there["run_id"]).snapshot()
        assert snap["source"] == "globus" and snap["status"] == "SUCCEEDED"
        assert snap["web_url"] == f"https://app.globus.org/runs/{there['run_id']}"
        assert registry.flow(flow["id"])["source"] == "globus"
        assert cloud.secret not in json.dumps([doc, snap])

        # Logged out (no token source): only local runs, and the panel says why.
        registry = Registry([on_this_machine, GlobusSource(on_this_machine, environ={})])
        doc = registry.list_runs([], [])
        assert doc["sources"]["globus"]["available"] is False
        assert {r["source"] for r in doc["runs"]} == {"local"}
    finally:
        local.stop(tmp_path / "cloud")
