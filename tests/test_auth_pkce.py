"""The interactive native-app login (PKCE) against the local service's Auth token endpoint."""

from __future__ import annotations

import json
import stat

import globus_sdk
import pytest
import requests

from gladier_jupyter.auth import LoginCodeRejected
from gladier_jupyter.auth.state import AuthSession
from gladier_jupyter.auth.storage import TokenStore

FLOW_SCOPE = ("https://auth.globus.org/scopes/0b3c5e7a-1111-4222-8333-944455556666/"
              "flow_0b3c5e7a_1111_4222_8333_944455556666_user")
SEARCH = "urn:globus:auth:scope:search.api.globus.org:all"


@pytest.fixture
def session(tmp_path, auth_api):
    return AuthSession(environ={}, store=TokenStore(tmp_path / "auth" / "tokens.json"),
                       mode="globus")


def introspect(auth_api, token: str) -> dict:
    resp = requests.post(f"{auth_api.base_url}v2/oauth2/token/introspect", data={"token": token},
                         headers={"Authorization": f"Bearer {auth_api.secret}"}, timeout=10)
    return resp.json()


def test_login_trades_the_pasted_code_for_stored_user_only_tokens(session, auth_api):
    url = session.start_login([FLOW_SCOPE])
    assert url.startswith(f"{auth_api.base_url}v2/oauth2/authorize?")
    assert "code_challenge_method=S256" in url and "flow_0b3c5e7a" in url

    stored = session.finish_login(auth_api.approve(url))

    mode = stat.S_IMODE(session.store.path.stat().st_mode)
    assert mode == 0o600
    assert stored.source == "stored login"
    assert stored.identity == "local-user@localhost"
    flow_token = session.token_for(FLOW_SCOPE)
    assert introspect(auth_api, flow_token.access_token)["active"] is True
    assert flow_token.refresh_token  # asked for offline access
    assert session.pending is None
    assert session.describe([FLOW_SCOPE])["scopes"][0]["source"] == "stored login"


def test_wrong_code_is_rejected_clearly_and_the_login_can_continue(session, auth_api):
    url = session.start_login([SEARCH])

    with pytest.raises(LoginCodeRejected) as err:
        session.finish_login("not-the-code-7Qx")

    message = str(err.value)
    assert "not accepted by Globus Auth (invalid_grant: The authorization code is not valid)" \
        in message
    assert "not-the-code-7Qx" not in message
    assert not session.store.path.exists()
    # The same login still takes the right code.
    session.finish_login(auth_api.approve(url))
    assert session.token_for(SEARCH).access_token


def test_expired_code_is_rejected(session, auth_api):
    code = auth_api.approve(session.start_login([SEARCH]))
    auth_api.clock.now += 601  # codes live ten minutes

    with pytest.raises(LoginCodeRejected) as err:
        session.finish_login(code)

    assert "(invalid_grant: The authorization code has expired)" in str(err.value)
    assert "click 'Log in' for a new link" in str(err.value)
    assert session.store.load() is None


def test_code_works_once(session, auth_api):
    code = auth_api.approve(session.start_login([SEARCH]))
    session.finish_login(code)
    session.start_login([SEARCH])

    with pytest.raises(LoginCodeRejected) as err:
        session.finish_login(code)
    assert "already used" in str(err.value)


def test_code_from_another_login_fails_the_pkce_check(session, auth_api):
    other = AuthSession(environ={}, store=session.store, mode="globus")
    stolen = auth_api.approve(other.start_login([SEARCH]))
    session.start_login([SEARCH])

    with pytest.raises(LoginCodeRejected) as err:
        session.finish_login(stolen)
    assert "code_verifier does not match" in str(err.value)


def test_expired_stored_token_is_refreshed_through_the_token_endpoint(session, auth_api):
    session.finish_login(auth_api.approve(session.start_login([SEARCH])))
    old = session.token_for(SEARCH).access_token
    # Age the stored token as time would (globus-sdk's own storage API).
    storage = globus_sdk.token_storage.JSONTokenStorage(session.store.path, namespace="globus")
    data = storage.get_token_data("search.api.globus.org")
    data.expires_at_seconds = 1000
    storage.store_token_data_by_resource_server({"search.api.globus.org": data})
    session.reload()

    header = session.authorizer_for(SEARCH).get_authorization_header()

    new = header.removeprefix("Bearer ")
    assert new != old
    assert introspect(auth_api, new)["active"] is True
    assert session.store.load().tokens["search.api.globus.org"].access_token == new
    assert stat.S_IMODE(session.store.path.stat().st_mode) == 0o600


def test_logout_revokes_and_forgets_stored_tokens(session, auth_api):
    session.finish_login(auth_api.approve(session.start_login([SEARCH])))
    token = session.token_for(SEARCH).access_token

    removed = session.logout()

    assert removed >= 2  # auth.globus.org + search (+ the others gladier needs)
    assert introspect(auth_api, token) == {"active": False}
    assert session.store.load() is None
    assert json.loads(session.store.path.read_text())["data"].get("globus", {}) == {}


def test_pkce_login_against_the_running_local_service(local_service, tmp_path, monkeypatch):
    """The same flow against the service the product starts (its Auth API mounted there)."""
    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    monkeypatch.setenv("GLADIER_JUPYTER_AUTH_DIR", str(tmp_path / "auth"))
    session = AuthSession(environ={}, store=TokenStore(tmp_path / "auth" / "tokens.json"),
                          mode="globus")
    url = session.start_login([SEARCH])
    assert url.startswith(local_service.service_url("auth"))
    verify = str(local_service.ca_file)
    code = requests.get(url, timeout=10, verify=verify, headers={
        "Authorization": f"Bearer {local_service.secret}", "Accept": "application/json",
    }).json()["code"]

    with pytest.raises(LoginCodeRejected):
        session.finish_login(code + "x")
    stored = session.finish_login(code)

    assert stored.identity == "local-user@localhost"
    token = session.token_for(SEARCH).access_token
    introspected = requests.post(
        f"{local_service.service_url('auth')}v2/oauth2/token/introspect", data={"token": token},
        headers={"Authorization": f"Bearer {local_service.secret}"}, timeout=10, verify=verify).json()
    assert introspected["active"] is True
    assert introspected["scope"] == SEARCH
    # Without the per-user secret nobody else on the machine can mint a code.
    assert requests.get(url, timeout=10, verify=verify).status_code == 401


def test_revoked_stored_token_is_refreshed_when_globus_answers_401(session, auth_api):
    session.finish_login(auth_api.approve(session.start_login([SEARCH])))
    auth = globus_sdk.AuthClient(base_url=auth_api.base_url,
                                 authorizer=session.authorizer_for("openid"))
    assert auth.userinfo()["preferred_username"] == "local-user@localhost"
    old = session.token_for("openid").access_token
    requests.post(f"{auth_api.base_url}v2/oauth2/token/revoke", data={"token": old}, timeout=10)

    # The 401 makes the authorizer refresh through the token endpoint; the call then succeeds.
    assert auth.userinfo()["preferred_username"] == "local-user@localhost"
    assert session.token_for("openid").access_token != old
