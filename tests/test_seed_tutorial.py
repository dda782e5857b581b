"""The Gladier tutorial users already have (tests/data/seed/gladier_tutorial.md, its code
cells verbatim), with one ``%load_ext gladier_jupyter`` cell first, runs to SUCCEEDED on the
local service with no hub and no Globus account; and the ``GLOBUS_DATA`` the extension
provides for it holds only scoped, revocable local tokens.
"""

from __future__ import annotations

import base64
import os
import pathlib
import pickle
import re

import pytest

SEED = pathlib.Path(__file__).parent / "data" / "seed" / "gladier_tutorial.md"
_HEADING = re.compile(r"#{2,6} ")


def _is_prose(paragraph: str) -> bool:
    if _HEADING.match(paragraph):
        return True
    if paragraph[:1].isspace() or paragraph.startswith("@"):
        return False  # the rest of a block, or a decorator whose class follows
    try:
        compile(paragraph, "<seed paragraph>", "exec")
    except SyntaxError:
        return True
    return False


def seed_code_cells(text: str) -> list[str]:
    """The code cells of the seed's text export, as its text has them: each starts after an
    ``In [None]:`` line and ends before the first paragraph that is a Markdown heading or
    not Python."""
    cells = []
    for chunk in text.split("In [None]:\n")[1:]:
        cut = len(chunk)
        for gap in re.finditer(r"\n\s*\n(?=\S)", chunk):
            paragraph = chunk[gap.end():].split("\n\n", 1)[0]
            if _is_prose(paragraph):
                cut = gap.start()
                break
        cells.append(chunk[:cut].rstrip())
    return cells


def test_seed_cells_are_extracted_verbatim():
    text = SEED.read_text()
    cells = seed_code_cells(text)
    assert len(cells) == 9
    for cell in cells:
        compile(cell, "<seed cell>", "exec")
        assert cell in text  # verbatim: the text as the seed has it, nothing rewritten
    assert cells[0].startswith("# General Imports") and cells[0].endswith("'JUPYTERHUB_REMOTE'")
    assert "pickle.loads(base64.b64decode(os.getenv('GLOBUS_DATA')))" in cells[1]
    assert cells[1].endswith("print(tutorial_index['description'])")
    assert cells[-1].endswith("my_gladier_client.get_status(flow['run_id'])")


def _kernel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No hub: the kernel starts without GLOBUS_DATA and without the plain-client URLs
    (the extension must set both itself)."""
    for name in list(os.environ):
        if name.startswith("GLOBUS_SDK_SERVICE_URL_") or name in (
                "GLOBUS_DATA", "GLADIER_JUPYTER_LOCAL_GLOBUS_DATA", "JUPYTERHUB_API_URL",
                "JUPYTERHUB_API_TOKEN", "GLOBUS_SDK_VERIFY_SSL"):
            monkeypatch.delenv(name)


def _text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            out.append(o.get("text", ""))
        elif o.output_type in ("execute_result", "display_data"):
            out.append(o.get("data", {}).get("text/plain", ""))
    return "".join(out)


def test_seed_tutorial_cells_run_to_succeeded_after_load_ext(local_service, monkeypatch, tmp_path):
    from tests._notebook_cells import execute_notebook

    _kernel_env(monkeypatch)
    # A service of its own: the seed's list-flows cell prints the service's flows, which the
    # shared session service holds hundreds of by now.
    from gladier_jupyter import local

    state = tmp_path / "seed-service"
    monkeypatch.setenv("GLADIER_JUPYTER_STATE_DIR", str(state))
    request_stop = [state]
    cells = ["%load_ext gladier_jupyter", *seed_code_cells(SEED.read_text()),
             # the test's own check: the document the flow ingested is in the index the
             # Search cell found or made, read with the Search cell's own client
             "entry = search.get_subject(search_index, str(subject)).data\n"
             "print('FOUND', entry['subject'], entry['entries'][0]['content']['dc']"
             "['titles'][0]['title'])"]
    try:
        nb = execute_notebook(cells, cwd=tmp_path)
    finally:
        for folder in request_stop:
            local.stop(folder)
    code = nb.cells
    search_cell, flows_cell, run_cell, check = code[2], code[8], code[9], code[10]
    assert "GLOBUS_DATA holds local-service tokens" in _text(search_cell)
    assert "gladier-tutorial" in _text(search_cell)
    assert "index created" in _text(search_cell) or "Found existing index" in _text(search_cell)
    assert "MyGladierClient flow" in _text(flows_cell) or _text(flows_cell) == ""
    run_text = _text(run_cell)
    assert "'funcx_endpoint_compute' is gladier's old name for 'compute_endpoint'" in run_text
    assert re.search(r"Run [0-9a-f-]{36} SUCCEEDED\.", run_text), run_text
    assert "'status': 'SUCCEEDED'" in run_text
    found = _text(check).strip()
    assert found.startswith("FOUND https:/example.com/my-gladier-experiment/file_"), found
    assert found.endswith("My Experiment " + found.split()[1].rsplit("/", 1)[1])
    # progress() showed the run monitor (a widget can be shown in this kernel)
    assert any(o.output_type == "display_data" and "application/vnd.jupyter.widget-view+json"
               in o.get("data", {}) for o in run_cell.outputs)


# ------------------------------------------------------------------ the provided GLOBUS_DATA


@pytest.fixture
def provided(local_service, monkeypatch):
    """A GLOBUS_DATA the backend provided in this process (removed and revoked after)."""
    from gladier_jupyter import backend

    _kernel_env(monkeypatch)
    backend.use_local(local_service.state_dir)
    assert backend.provide_globus_data()
    try:
        yield pickle.loads(base64.b64decode(os.environ["GLOBUS_DATA"]))
    finally:
        backend.withdraw_globus_data()
        backend.use_local(local_service.state_dir)


def test_provided_globus_data_has_oauthenticators_shape_and_decodes_like_a_hubs(provided):
    from gladier_jupyter.auth.hub import decode_globus_data, token_set_from_auth_state

    assert set(provided) == {"client_id", "tokens", "token_response", "globus_user", "globus_groups"}
    assert sorted(provided["tokens"]) == ["flows.globus.org", "funcx_service",
                                         "search.api.globus.org", "transfer.api.globus.org"]
    for rs, token in provided["tokens"].items():
        assert set(token) == {"access_token", "refresh_token", "expires_in", "resource_server",
                              "scope", "token_type"}
        assert token["resource_server"] == rs and token["token_type"] == "Bearer"
    decoded = decode_globus_data(os.environ["GLOBUS_DATA"])  # the hub reader accepts it
    assert token_set_from_auth_state(decoded, "GLOBUS_DATA").tokens
    assert os.environ["GLADIER_JUPYTER_LOCAL_GLOBUS_DATA"] == "1"


def test_attack_provided_globus_data_holds_no_master_secret(provided, local_service):
    raw = base64.b64decode(os.environ["GLOBUS_DATA"])
    assert local_service.secret.encode() not in raw
    assert local_service.secret not in os.environ["GLOBUS_DATA"]


def test_attack_provided_tokens_open_only_their_own_api_and_die_when_revoked(provided):
    import globus_sdk

    from gladier_jupyter import backend

    search_token = provided["tokens"]["search.api.globus.org"]["access_token"]
    flows_token = provided["tokens"]["flows.globus.org"]["access_token"]

    def search(token):
        return globus_sdk.SearchClient(authorizer=globus_sdk.AccessTokenAuthorizer(token))

    def flows(token):
        return globus_sdk.FlowsClient(authorizer=globus_sdk.AccessTokenAuthorizer(token))

    def transfer(token):
        return globus_sdk.TransferClient(authorizer=globus_sdk.AccessTokenAuthorizer(token))

    # plain clients reach the local service (the URLs stay set beside the marker)
    assert search(search_token).get("/v1/index_list").http_status == 200
    assert flows(flows_token).list_flows().http_status == 200
    # the Search token opens neither Flows nor Transfer, the Flows token not Search
    for call in (lambda: flows(search_token).list_flows(),
                 lambda: transfer(search_token).endpoint_search("x"),
                 lambda: search(flows_token).get("/v1/index_list")):
        with pytest.raises(globus_sdk.GlobusAPIError) as err:
            call()
        assert err.value.http_status == 401
    # a refresh token is no access token
    refresh = provided["tokens"]["search.api.globus.org"]["refresh_token"]
    with pytest.raises(globus_sdk.GlobusAPIError) as err:
        search(refresh).get("/v1/index_list")
    assert err.value.http_status == 401
    # %unload_ext withdraws GLOBUS_DATA and revokes its tokens
    assert backend.withdraw_globus_data()
    assert "GLOBUS_DATA" not in os.environ and "GLADIER_JUPYTER_LOCAL_GLOBUS_DATA" not in os.environ
    with pytest.raises(globus_sdk.GlobusAPIError) as err:
        search(search_token).get("/v1/index_list")
    assert err.value.http_status == 401


def test_a_hubs_globus_data_is_never_replaced(local_service, monkeypatch):
    from gladier_jupyter import backend

    _kernel_env(monkeypatch)
    monkeypatch.setenv("GLOBUS_DATA", "hub-value")
    backend.use_local(local_service.state_dir)
    assert not backend.provide_globus_data()
    assert not backend.withdraw_globus_data()
    assert os.environ["GLOBUS_DATA"] == "hub-value"
    assert "GLOBUS_SDK_SERVICE_URL_SEARCH" not in os.environ  # real tokens: no local URLs
    monkeypatch.delenv("GLOBUS_DATA")
    backend.use_local(local_service.state_dir)


# ------------------------------------------------------------------ plain gladier clients


@pytest.fixture
def plain_clients(local_service, monkeypatch):
    """The extension's plain-client defaults installed in this process (no IPython shell),
    removed after."""
    import gladier

    from gladier_jupyter import backend
    from gladier_jupyter.magics import install_plain_client_defaults, remove_plain_client_defaults

    _kernel_env(monkeypatch)
    backend.use_local(local_service.state_dir)
    originals = {n: gladier.GladierBaseClient.__dict__[n] for n in ("__init__", "run_flow", "progress")}
    install_plain_client_defaults(None)
    try:
        yield gladier.GladierBaseClient
    finally:
        remove_plain_client_defaults(None)
        backend.use_local(local_service.state_dir)
    assert {n: gladier.GladierBaseClient.__dict__[n] for n in originals} == originals
    assert not hasattr(gladier.GladierBaseClient, "flows_client")


def test_progress_ends_with_a_clear_message_on_an_inactive_run(plain_clients, capsys):
    import json

    from gladier import GladierBaseTool

    consent = json.loads((pathlib.Path(__file__).parent / "data" / "labext" / "consent_flow.json").read_text())

    class NeedsConsent(GladierBaseTool):
        flow_definition = consent
        funcx_functions = []

    class ConsentClient(plain_clients):
        gladier_tools = [NeedsConsent]

        def get_flow_definition(self):
            return consent

    client = ConsentClient()  # no arguments: the extension's local managers
    assert type(client.flows_manager).__name__ == "LocalFlowsManager"
    run = client.run_flow(flow_input={"input": {"funcx_endpoint_compute": "4b116d3c-1703-4f8f-9f6f-39921e5864df"}},
                          label="needs consent")
    client.progress(run["run_id"], delay=0.2)  # gladier's own loops for ever on INACTIVE
    out = capsys.readouterr().out
    assert "'funcx_endpoint_compute' is gladier's old name for 'compute_endpoint'" in out
    line = out.strip().splitlines()[-1]
    assert line.startswith(f"Run {run['run_id']} is INACTIVE: The action needs consent"), line
    assert "resume" in line
    assert client.get_status(run["run_id"])["status"] == "INACTIVE"
    client.flows_client.cancel_run(run["run_id"])


def test_unload_ext_gives_gladier_its_own_defaults_back_and_removes_globus_data(local_service, monkeypatch, tmp_path):
    from tests._notebook_cells import execute_notebook

    _kernel_env(monkeypatch)
    probe = ("import os, gladier\n"
             "print('PATCHED' if hasattr(gladier.GladierBaseClient.__init__, '__wrapped__') else 'GLADIER',"
             " 'DATA' if os.environ.get('GLOBUS_DATA') else 'NODATA')")
    nb = execute_notebook(["%load_ext gladier_jupyter", "import gladier", probe,
                           "%unload_ext gladier_jupyter", probe], cwd=tmp_path, store_widget_state=False)
    assert _text(nb.cells[2]).split()[-2:] == ["PATCHED", "DATA"]
    assert _text(nb.cells[4]).split()[-2:] == ["GLADIER", "NODATA"]


def test_switching_to_globus_withdraws_the_provided_globus_data(provided, local_service):
    import globus_sdk

    from gladier_jupyter import backend

    token = provided["tokens"]["search.api.globus.org"]["access_token"]
    backend.use_globus()
    try:
        assert "GLOBUS_DATA" not in os.environ  # no local token is ever sent to Globus
    finally:
        backend.use_local(local_service.state_dir)
    client = globus_sdk.SearchClient(authorizer=globus_sdk.AccessTokenAuthorizer(token))
    with pytest.raises(globus_sdk.GlobusAPIError) as err:
        client.get("/v1/index_list")
    assert err.value.http_status == 401  # and it was revoked
