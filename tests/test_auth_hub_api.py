"""Tokens from the hub API (``$JUPYTERHUB_API_URL/user``), preferred over GLOBUS_DATA, and
expired hub logins turned into one clear message."""

from __future__ import annotations

import base64
import copy
import json
import pathlib
import pickle

import globus_sdk
import pytest

from gladier_jupyter.auth import HubLoginExpired
from gladier_jupyter.auth.state import AuthSession
from gladier_jupyter.auth.storage import TokenStore
from tests._auth_servers import serve_hub_api

DATA = pathlib.Path(__file__).parent / "data" / "auth"
SEARCH = "urn:globus:auth:scope:search.api.globus.org:all"


def hub_auth_state(search_token: str = "HUBAPI-search-1", expires_in: int = 172800) -> dict:
    """A Globus-shaped auth_state as the hub stores it (GlobusOAuthenticator's layout)."""
    state = json.loads((DATA / "hub_auth_state.json").read_text())
    state.pop("_comment", None)
    search = state["tokens"]["search.api.globus.org"]
    search["access_token"] = search_token
    search["expires_in"] = expires_in
    return state


def globus_data(state: dict) -> str:
    return base64.b64encode(pickle.dumps(state)).decode()


@pytest.fixture(autouse=True)
def auth_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GLADIER_JUPYTER_AUTH_DIR", str(tmp_path / "auth"))


def make_session(env: dict, tmp_path) -> AuthSession:
    return AuthSession(environ=env, store=TokenStore(tmp_path / "tokens.json"), mode="globus")


def test_hub_api_auth_state_is_read_with_the_server_token(tmp_path):
    with serve_hub_api(hub_auth_state()) as hub:
        env = {"JUPYTERHUB_API_URL": hub.api_url, "JUPYTERHUB_API_TOKEN": hub.server_token}
        session = make_session(env, tmp_path)

        header = session.authorizer_for(SEARCH).get_authorization_header()

        assert header == "Bearer HUBAPI-search-1"
        assert session.describe([SEARCH])["sources"] == ["hub API"]
        assert session.describe([SEARCH])["identity"] == "scientist@globusid.org"
        assert hub.requests == 2  # /user (who), then /users/scientist (auth_state)


def test_hub_api_is_preferred_over_globus_data(tmp_path):
    stale = hub_auth_state(search_token="SPAWN-search-old")
    with serve_hub_api(hub_auth_state(search_token="HUBAPI-search-fresh")) as hub:
        env = {"JUPYTERHUB_API_URL": hub.api_url, "JUPYTERHUB_API_TOKEN": hub.server_token,
               "GLOBUS_DATA": globus_data(stale)}
        session = make_session(env, tmp_path)

        assert session.token_for(SEARCH).access_token == "HUBAPI-search-fresh"
        assert session.describe([SEARCH])["sources"] == ["hub API", "GLOBUS_DATA"]


def test_hub_without_auth_state_grant_falls_back_to_globus_data(tmp_path):
    with serve_hub_api(hub_auth_state(), grant_auth_state=False) as hub:
        env = {"JUPYTERHUB_API_URL": hub.api_url, "JUPYTERHUB_API_TOKEN": hub.server_token,
               "GLOBUS_DATA": globus_data(hub_auth_state(search_token="SPAWN-search"))}
        session = make_session(env, tmp_path)

        assert session.token_for(SEARCH).access_token == "SPAWN-search"
        info = session.describe([SEARCH])
        assert info["sources"] == ["GLOBUS_DATA"]
        assert any("admin:auth_state!user" in p for p in info["problems"])


def test_wrong_server_token_is_reported_not_raised(tmp_path):
    with serve_hub_api(hub_auth_state()) as hub:
        env = {"JUPYTERHUB_API_URL": hub.api_url, "JUPYTERHUB_API_TOKEN": "not-the-token"}
        info = make_session(env, tmp_path).describe([SEARCH])

    assert info["sources"] == []
    assert info["problems"] == [f"hub API: the hub API answered 403 for {hub.api_url}/user"]
    assert not info["scopes"][0]["held"]


def test_expired_hub_token_is_replaced_by_the_hubs_refreshed_one(tmp_path):
    with serve_hub_api(hub_auth_state(search_token="HUBAPI-expired", expires_in=0)) as hub:
        env = {"JUPYTERHUB_API_URL": hub.api_url, "JUPYTERHUB_API_TOKEN": hub.server_token}
        session = make_session(env, tmp_path)
        assert session.token_sets()[0].for_scope(SEARCH).expired()
        # The hub refreshes its tokens (oauthenticator's refresh_user) between two requests.
        hub.auth_state = hub_auth_state(search_token="HUBAPI-refreshed")

        assert session.authorizer_for(SEARCH).get_authorization_header() == (
            "Bearer HUBAPI-refreshed"
        )


def test_expired_hub_login_says_when_and_to_log_in_again(tmp_path):
    state = hub_auth_state(search_token="SPAWN-expired", expires_in=0)
    session = make_session({"GLOBUS_DATA": globus_data(state)}, tmp_path)
    client = globus_sdk.SearchClient(authorizer=session.authorizer_for(SEARCH))

    with pytest.raises(HubLoginExpired) as err:
        client.get("/v1/index_list")

    message = str(err.value)
    assert message.startswith("Your hub login expired at ")
    assert "UTC; log in again" in message
    assert "SPAWN-expired" not in message


def test_token_refused_by_globus_becomes_a_hub_login_message_not_a_401(tmp_path):
    with serve_hub_api(hub_auth_state(search_token="HUBAPI-revoked")) as hub:
        env = {"JUPYTERHUB_API_URL": hub.api_url, "JUPYTERHUB_API_TOKEN": hub.server_token}
        session = make_session(env, tmp_path)
        client = globus_sdk.SearchClient(base_url=hub.search_url,
                                         authorizer=session.authorizer_for(SEARCH))

        with pytest.raises(HubLoginExpired) as err:
            client.get("/v1/index_list")
        assert "Globus refused the hub's token for Search" in str(err.value)

        # Once the hub holds a token the service accepts, the same client works again.
        hub.auth_state = hub_auth_state(search_token="HUBAPI-good")
        hub.valid_tokens.add("HUBAPI-good")
        assert client.get("/v1/index_list").data == {"index_list": []}


def test_hub_auth_state_copy_is_not_shared(tmp_path):
    state = hub_auth_state()
    original = copy.deepcopy(state)
    make_session({"GLOBUS_DATA": globus_data(state)}, tmp_path).token_sets()
    assert state == original
