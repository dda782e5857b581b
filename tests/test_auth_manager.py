"""The gladier login manager: real gladier clients get authorizers from the token sources,
and a scope nobody holds (a new flow's own scope, a consent change) opens the login widget."""

from __future__ import annotations

import base64
import json
import pathlib
import pickle

import gladier
import globus_sdk
import pytest
import requests

from gladier_jupyter.auth import HubLoginExpired, LoginRequired, ask_consent
from gladier_jupyter.auth.manager import GladierLoginManager
from gladier_jupyter.auth.state import AuthSession
from gladier_jupyter.auth.storage import TokenStore

DATA = pathlib.Path(__file__).parent / "data" / "auth"
FLOW_ID = "0b3c5e7a-1111-4222-8333-944455556666"
FLOW_SCOPE = str(globus_sdk.SpecificFlowClient(FLOW_ID).scopes.user)


class PassClient(gladier.GladierBaseClient):
    """A gladier client with a one-state flow (no compute functions to register)."""

    flow_definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    gladier_tools: list = []


def globus_data(expires_in: int = 172800) -> str:
    state = json.loads((DATA / "hub_auth_state.json").read_text())
    state.pop("_comment", None)
    for tok in state["tokens"].values():
        tok["expires_in"] = expires_in
    return base64.b64encode(pickle.dumps(state)).decode()


def make(tmp_path, env) -> tuple[GladierLoginManager, list]:
    session = AuthSession(environ=env, store=TokenStore(tmp_path / "auth" / "tokens.json"),
                          mode="globus")
    shown: list = []
    return GladierLoginManager(session, show_widget=shown.append), shown


def test_gladier_client_runs_on_hub_tokens_without_asking(tmp_path, auth_api):
    manager, shown = make(tmp_path, {"GLOBUS_DATA": globus_data()})
    client = PassClient(login_manager=manager)

    assert client.missing_authorizers == set()
    flows = client.flows_manager.flows_client
    assert flows.authorizer.get_authorization_header() == "Bearer HUBAPI-flows"
    compute = manager.get_manager_authorizers()[str(globus_sdk.ComputeClientV3.scopes.all)]
    assert compute.get_authorization_header() == "Bearer HUBAPI-funcx_service"
    assert shown == []


def test_new_flow_scope_opens_the_login_widget_then_the_stored_login_serves_it(tmp_path,
                                                                               auth_api):
    manager, shown = make(tmp_path, {"GLOBUS_DATA": globus_data()})
    PassClient(login_manager=manager)
    manager.add_requirements([FLOW_SCOPE])  # what gladier does once the flow is deployed

    with pytest.raises(LoginRequired) as err:
        manager.get_manager_authorizers()

    assert str(err.value).startswith("Globus needs you to log in for Flow 0b3c5e7a: open the "
                                     "link in the login widget")
    assert shown == [[FLOW_SCOPE]]
    url = manager.session.pending.authorize_url
    assert "flow_0b3c5e7a_1111_4222_8333_944455556666_user" in requests.utils.unquote(url)

    manager.session.finish_login(auth_api.approve(url))
    authorizers = manager.get_manager_authorizers()

    flow_auth = authorizers[FLOW_SCOPE].get_authorization_header()
    assert flow_auth != "Bearer HUBAPI-flows" and flow_auth.startswith("Bearer ")
    # Scopes the hub holds still come from the hub.
    manage = authorizers[str(globus_sdk.FlowsClient.scopes.manage_flows)]
    assert manage.get_authorization_header() == "Bearer HUBAPI-flows"


def test_missing_scope_change_asks_again_until_a_new_login(tmp_path, auth_api):
    manager, shown = make(tmp_path, {})
    manager.add_requirements([FLOW_SCOPE])
    manager.session.finish_login(auth_api.approve(manager.session.start_login([FLOW_SCOPE])))
    assert FLOW_SCOPE in manager.get_manager_authorizers()

    # Flows answered 403 MISSING_SCOPE: gladier records a scope change for the flow.
    manager.add_scope_change([globus_sdk.SpecificFlowClient(FLOW_ID).scopes.user])
    with pytest.raises(LoginRequired):
        manager.get_manager_authorizers()
    assert shown == [[FLOW_SCOPE]]

    manager.session.finish_login(auth_api.approve(manager.session.pending.authorize_url))
    assert FLOW_SCOPE in manager.get_manager_authorizers()


def test_consent_required_error_opens_the_login_widget(tmp_path, auth_api):
    session = AuthSession(environ={}, store=TokenStore(tmp_path / "auth" / "tokens.json"),
                          mode="globus")
    response = requests.Response()
    response.status_code = 403
    response._content = json.dumps({
        "code": "ConsentRequired", "message": "Missing required data_access consent",
        "required_scopes": [FLOW_SCOPE], "authorization_parameters": {
            "session_message": "consent", "required_scopes": [FLOW_SCOPE]},
    }).encode()
    response.headers["Content-Type"] = "application/json"
    response.request = requests.Request("POST", "https://flows.globus.org/x").prepare()
    error = globus_sdk.FlowsAPIError(response)

    with pytest.raises(LoginRequired) as err:
        ask_consent(error, session)

    assert err.value.scopes == [FLOW_SCOPE]
    assert session.pending is not None and FLOW_SCOPE in session.pending.scopes


def test_expired_hub_tokens_say_log_in_again(tmp_path, auth_api):
    manager, shown = make(tmp_path, {"GLOBUS_DATA": globus_data(expires_in=0)})
    PassClient(login_manager=manager)

    with pytest.raises(HubLoginExpired) as err:
        manager.get_manager_authorizers()

    assert str(err.value).startswith("Your hub login expired at ")
    assert "; log in again" in str(err.value)
    assert len(shown) == 1  # the widget with the link is shown too
