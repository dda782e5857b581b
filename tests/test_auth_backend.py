"""``gladier_jupyter.search_client()`` and friends in Globus mode use the login layer's tokens;
gladier clients get its login manager."""

from __future__ import annotations

import base64
import json
import pathlib
import pickle

import gladier
import globus_sdk
import pytest

import gladier_jupyter
from gladier_jupyter import backend
from gladier_jupyter.auth import state as auth_state
from gladier_jupyter.auth.manager import GladierLoginManager
from gladier_jupyter.auth.storage import TokenStore

DATA = pathlib.Path(__file__).parent / "data" / "auth"


@pytest.fixture
def globus_mode(local_service, tmp_path, monkeypatch):
    state = json.loads((DATA / "hub_auth_state.json").read_text())
    state.pop("_comment", None)
    monkeypatch.setenv("GLADIER_JUPYTER_AUTH_DIR", str(tmp_path / "auth"))
    env = {"GLOBUS_DATA": base64.b64encode(pickle.dumps(state)).decode()}
    auth_state.reset_session(auth_state.AuthSession(
        environ=env, store=TokenStore(tmp_path / "auth" / "tokens.json")))
    backend.set_globus_login_manager(None)
    backend.use_globus()
    try:
        yield
    finally:
        auth_state.reset_session()
        backend.use_local(local_service.state_dir)


class PassClient(gladier.GladierBaseClient):
    flow_definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    gladier_tools: list = []


def test_ready_clients_in_globus_mode_carry_the_hub_tokens(globus_mode):
    search = gladier_jupyter.search_client()
    flows = gladier_jupyter.flows_client()
    transfer = gladier_jupyter.transfer_client()

    assert search.base_url.startswith("https://search.api.globus.org")
    assert search.authorizer.get_authorization_header() == "Bearer HUBAPI-search"
    assert transfer.authorizer.get_authorization_header() == "Bearer HUBAPI-transfer"
    # FlowsClient asks for the umbrella 'all' scope; the hub's Flows token serves it.
    assert flows.authorizer.get_authorization_header() == "Bearer HUBAPI-flows"


def test_scope_no_source_holds_says_to_log_in(globus_mode):
    authorizer = gladier_jupyter.auth.authorizer_for(
        "https://auth.globus.org/scopes/0b3c5e7a-1111-4222-8333-944455556666/"
        "flow_0b3c5e7a_1111_4222_8333_944455556666_user")
    with pytest.raises(gladier_jupyter.auth.LoginRequired) as err:
        authorizer.get_authorization_header()
    assert str(err.value).startswith("No token holds the scope Flow 0b3c5e7a")
    assert "log in with %gladier_login" in str(err.value)


def test_gladier_clients_in_globus_mode_use_the_login_layer(globus_mode):
    kwargs = backend.gladier_client_kwargs()

    assert isinstance(kwargs["login_manager"], GladierLoginManager)
    client = PassClient(**kwargs)
    assert client.missing_authorizers == set()
    header = client.flows_manager.flows_client.authorizer.get_authorization_header()
    assert header == "Bearer HUBAPI-flows"


def test_login_widget_follows_the_backend_switch(globus_mode, local_service):
    widget = gladier_jupyter.login()
    assert widget.mode == "globus" and widget.sources == ["GLOBUS_DATA"]

    widget._on_view_msg(widget, {"action": "use_local"}, [])

    assert backend.current().name == "local"
    assert widget.mode == "local" and widget.status == "local"
    assert widget.message == "Switched to the local service."
    assert isinstance(globus_sdk.SearchClient(), globus_sdk.SearchClient)
