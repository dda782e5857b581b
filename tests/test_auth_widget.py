"""The Login widget without a browser: what it shows, its buttons, and that no token ever
reaches its state, its reprs, error messages or the log."""

from __future__ import annotations

import base64
import json
import logging
import pathlib
import pickle

import pytest

from gladier_jupyter.auth.state import AuthSession
from gladier_jupyter.auth.storage import TokenStore
from gladier_jupyter.widgets.login import Login
from tests._auth_servers import serve_hub_api

DATA = pathlib.Path(__file__).parent / "data" / "auth"
FLOW_SCOPE = ("https://auth.globus.org/scopes/0b3c5e7a-1111-4222-8333-944455556666/"
              "flow_0b3c5e7a_1111_4222_8333_944455556666_user")


def hub_state(prefix: str) -> dict:
    state = json.loads((DATA / "hub_auth_state.json").read_text())
    state.pop("_comment", None)
    for rs, tok in state["tokens"].items():
        tok["access_token"] = f"{prefix}-access-{rs}"
        tok["refresh_token"] = f"{prefix}-refresh-{rs}"
    return state


def every_secret(session: AuthSession, *states: dict) -> set[str]:
    found = {s for ts in session.token_sets() for s in ts.secrets()}
    for state in states:
        for tok in state["tokens"].values():
            found |= {tok["access_token"], tok["refresh_token"]}
    found |= {s for ts in [session.store.load()] if ts for s in ts.secrets()}
    assert found
    return found


def assert_no_secret(text: str, secrets: set[str]) -> None:
    leaked = sorted(s for s in secrets if s in text)
    assert not leaked, f"{len(leaked)} token string(s) leaked"


def click(widget: Login, action: str, **extra: str) -> None:
    """What a button in the view does: a widget message to the kernel."""
    widget._on_view_msg(widget, {"action": action, **extra}, [])


def test_widget_shows_hub_login_and_holds_no_token(tmp_path, auth_api, caplog):
    caplog.set_level(logging.DEBUG)
    spawn_state, api_state = hub_state("SPAWN"), hub_state("HUBAPI")
    with serve_hub_api(api_state) as hub:
        env = {"JUPYTERHUB_API_URL": hub.api_url, "JUPYTERHUB_API_TOKEN": hub.server_token,
               "GLOBUS_DATA": base64.b64encode(pickle.dumps(spawn_state)).decode()}
        session = AuthSession(environ=env, store=TokenStore(tmp_path / "auth" / "tokens.json"),
                              mode="globus")
        # A stored interactive login for the flow's own scope, too.
        session.finish_login(auth_api.approve(session.start_login([FLOW_SCOPE])))

        widget = Login(needed=[], auth_session=session)

        assert widget.status == "logged_in"
        assert widget.sources == ["hub API", "GLOBUS_DATA", "stored login"]
        assert widget.identity == "scientist@globusid.org"
        assert widget.expires_at.endswith("UTC")
        held = {row["label"]: row["source"] for row in widget.scopes if row["held"]}
        assert held["Search"] == "hub API" and held["Compute"] == "hub API"

        secrets = every_secret(session, spawn_state, api_state) | {hub.server_token}
        assert_no_secret(json.dumps(widget.get_state()), secrets)
        assert_no_secret(repr(widget) + repr(session) + repr(session.token_sets()), secrets)
        data, _ = widget._repr_mimebundle_()
        assert_no_secret(json.dumps(data), secrets)
        assert data["text/plain"].startswith("Globus login: logged_in as scientist@globusid.org")
        assert_no_secret(caplog.text, secrets)


def test_login_button_then_pasted_code_logs_in_and_stores_tokens(tmp_path, auth_api, caplog):
    caplog.set_level(logging.DEBUG)
    session = AuthSession(environ={}, store=TokenStore(tmp_path / "auth" / "tokens.json"),
                          mode="globus")
    widget = Login(needed=[FLOW_SCOPE], auth_session=session)
    assert widget.status == "logged_out"
    assert [row["label"] for row in widget.scopes] == [
        "Flows", "Compute", "Search", "Transfer", "Flow 0b3c5e7a"]
    assert not any(row["held"] for row in widget.scopes)

    click(widget, "login")
    assert widget.login_pending
    assert widget.authorize_url.startswith(f"{auth_api.base_url}v2/oauth2/authorize?")

    click(widget, "submit_code", code="wrong-code-123")
    assert widget.error.startswith("The login code was not accepted by Globus Auth")
    assert "wrong-code-123" not in json.dumps(widget.get_state())

    click(widget, "submit_code", code=auth_api.approve(widget.authorize_url))

    assert widget.error == ""
    assert widget.status == "logged_in"
    assert widget.sources == ["stored login"]
    assert widget.identity == "local-user@localhost"
    assert not widget.login_pending and widget.authorize_url == ""
    secrets = every_secret(session)
    assert_no_secret(json.dumps(widget.get_state()) + repr(widget), secrets)
    assert_no_secret(caplog.text, secrets)


def test_logout_button_revokes_stored_tokens(tmp_path, auth_api):
    session = AuthSession(environ={}, store=TokenStore(tmp_path / "auth" / "tokens.json"),
                          mode="globus")
    session.finish_login(auth_api.approve(session.start_login([FLOW_SCOPE])))
    widget = Login(needed=[FLOW_SCOPE], auth_session=session)
    assert widget.status == "logged_in"

    click(widget, "logout")

    assert widget.status == "logged_out"
    assert widget.message.startswith("Logged out: ")
    assert "revoked and removed" in widget.message
    assert session.store.load() is None


def test_login_magic_shows_the_local_service_in_local_mode(local_service):
    from IPython.testing.globalipapp import get_ipython

    from gladier_jupyter.widgets.login import login_magic

    shell = get_ipython()
    widget = login_magic("", shell)

    assert isinstance(widget, Login)
    assert widget.mode == "local" and widget.status == "local"
    assert widget.sources == ["local service"]
    assert widget.identity == "local-user@localhost"
    assert all(row["held"] for row in widget.scopes)
    assert_no_secret(json.dumps(widget.get_state()) + widget.summary(), {local_service.secret})


def test_gladier_login_magic_shows_the_widget_and_rejects_unknown_options(local_service):
    from IPython.core.error import UsageError
    from IPython.testing.globalipapp import get_ipython

    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    shell = get_ipython()
    shell.run_line_magic("load_ext", "gladier_jupyter")

    widget = shell.run_line_magic("gladier_login", "")

    assert isinstance(widget, Login) and widget.status == "local"
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("gladier_login", "--bogus")
    assert "unrecognized arguments: --bogus" in str(err.value)


def test_expired_hub_login_is_shown_as_expired_with_when_and_what_to_do(tmp_path, auth_api):
    state = hub_state("OLD")
    for tok in state["tokens"].values():
        tok["expires_in"] = 0
    env = {"GLOBUS_DATA": base64.b64encode(pickle.dumps(state)).decode()}
    session = AuthSession(environ=env, store=TokenStore(tmp_path / "auth" / "tokens.json"),
                          mode="globus")

    widget = Login(auth_session=session)

    assert widget.status == "expired"
    assert all(row["expired"] and not row["held"] for row in widget.scopes)
    [problem] = widget.problems
    assert problem.startswith("Your hub login expired at ") and "; log in again" in problem
    assert_no_secret(json.dumps(widget.get_state()), every_secret(session, state))


def test_local_mode_shows_no_globus_prompt_logout_or_hub_problem_and_follows_a_switch(tmp_path, local_service):
    from gladier_jupyter import backend

    before = backend.current().name
    # a hub that does not share auth_state: a problem for Globus mode only
    with serve_hub_api(hub_state("HUBAPI"), grant_auth_state=False) as hub:
        env = {"JUPYTERHUB_API_URL": hub.api_url, "JUPYTERHUB_API_TOKEN": hub.server_token}
        session = AuthSession(environ=env, store=TokenStore(tmp_path / "auth" / "tokens.json"))
        backend.use_local(local_service.state_dir)
        try:
            widget = Login(needed=[], auth_session=session)
            assert (widget.mode, widget.status, widget.problems) == ("local", "local", [])

            click(widget, "login")  # no Globus code prompt in local mode
            assert not widget.login_pending and widget.authorize_url == ""
            assert "needs no Globus login" in widget.error
            assert session.pending is None
            assert widget.summary() == "Local service as local-user@localhost; no Globus login needed"

            backend.use_globus()  # from any cell: the widget redraws for Globus
            assert (widget.mode, widget.status) == ("globus", "logged_out")
            assert any("does not share auth_state" in p for p in widget.problems), widget.problems
            assert "stored login" not in widget.sources  # the view offers no "Log out"

            backend.use_local(local_service.state_dir)
            assert (widget.mode, widget.problems) == ("local", [])
        finally:
            backend.use_local(local_service.state_dir) if before == "local" else backend.use_globus()
