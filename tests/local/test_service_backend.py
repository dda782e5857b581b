"""``gladier_jupyter.backend``: plain globus-sdk clients follow the chosen backend, the
local Auth answers for the local user, and gladier's ids stay apart per backend."""

from __future__ import annotations

import os

import globus_sdk
import pytest

from gladier_jupyter import backend


@pytest.fixture
def restore_local(local_service):
    yield local_service
    backend.set_globus_login_manager(None)
    backend.use_local(local_service.state_dir)


def test_plain_globus_sdk_clients_reach_the_local_service(local_service):
    backend.use_local(local_service.state_dir)
    auth = globus_sdk.AccessTokenAuthorizer(local_service.secret)
    assert "flows" in globus_sdk.FlowsClient(authorizer=auth).list_flows().data
    assert "index_list" in globus_sdk.SearchClient(authorizer=auth).get("/v1/index_list").data
    for name in ("FLOWS", "SEARCH", "TRANSFER", "AUTH", "COMPUTE"):
        assert os.environ[f"GLOBUS_SDK_SERVICE_URL_{name}"].startswith(local_service.base_url)


def test_current_backend_is_local_with_service_info(local_service):
    backend.use_local(local_service.state_dir)
    current = backend.current()
    assert current.name == "local" and current.info.base_url == local_service.base_url
    assert local_service.secret not in repr(current)


def test_local_authorizer_is_the_service_secret(local_service):
    backend.use_local(local_service.state_dir)
    authorizer = backend.authorizer_for("urn:globus:auth:scope:transfer.api.globus.org:all")
    assert authorizer.get_authorization_header() == f"Bearer {local_service.secret}"


def test_local_auth_answers_userinfo_introspect_and_identities(local_service):
    backend.use_local(local_service.state_dir)
    auth = globus_sdk.AuthClient(authorizer=globus_sdk.AccessTokenAuthorizer(local_service.secret))
    me = auth.userinfo().data
    assert me["preferred_username"]
    ids = auth.get_identities(ids=[me["sub"]]).data["identities"]
    assert [i["id"] for i in ids] == [me["sub"]]
    assert auth.get_identities(usernames=["someone@else.org"]).data["identities"] == []


def test_use_globus_unsets_local_urls_and_uses_the_globus_login(restore_local):
    from gladier.managers.login_manager import BaseLoginManager

    backend.use_globus()
    assert backend.current().name == "globus"
    assert "GLOBUS_SDK_SERVICE_URL_FLOWS" not in os.environ
    backend.set_globus_login_manager(None)
    kwargs = backend.gladier_client_kwargs()
    assert isinstance(kwargs["login_manager"], BaseLoginManager)
    assert "compute_manager" not in kwargs, "Globus mode uses gladier's own compute client"
    sentinel = object()
    backend.set_globus_login_manager(sentinel)
    assert backend.gladier_client_kwargs() == {"login_manager": sentinel}


def test_local_gladier_kwargs_grant_any_scope_with_the_secret(local_service):
    backend.use_local(local_service.state_dir)
    kwargs = backend.gladier_client_kwargs()
    lm = kwargs["login_manager"]
    lm.add_requirements(["https://auth.globus.org/scopes/abc/flow_abc_user"])
    authorizers = lm.get_manager_authorizers()
    assert all(a.get_authorization_header() == f"Bearer {local_service.secret}" for a in authorizers.values())
    assert set(kwargs) >= {"login_manager", "compute_manager"}


def test_clients_follow_a_restarted_service(tmp_path, local_service):
    from gladier_jupyter import local

    state = tmp_path / "restarting"
    first = backend.use_local(state)
    try:
        flow = backend.flows_client().create_flow("kept", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, {}).data
        local.stop(state)
        fc = backend.flows_client()  # starts the service again, on a new port
        assert backend.current().info.pid != first.pid
        assert fc.get_flow(flow["id"])["title"] == "kept"
    finally:
        local.stop(state)
        backend.use_local(local_service.state_dir)
