"""The Login widget in a real JupyterLab: hub tokens shown, a login by pasted code, no token
on the page or in the saved notebook."""

from __future__ import annotations

import base64
import json
import pathlib
import pickle

import pytest
import requests

from tests._auth_servers import serve_auth_api
from tests._fixtures.browser import assert_accessible, run_notebook, screenshot

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "auth"
FLOW_SCOPE = ("https://auth.globus.org/scopes/0b3c5e7a-1111-4222-8333-944455556666/"
              "flow_0b3c5e7a_1111_4222_8333_944455556666_user")


@pytest.mark.browser
def test_login_widget_logs_in_with_a_pasted_code_and_shows_no_token(lab, page, tmp_path):
    state = json.loads((DATA / "hub_auth_state.json").read_text())
    state.pop("_comment", None)
    hub_tokens = {tok[k] for tok in state["tokens"].values()
                  for k in ("access_token", "refresh_token")}
    globus_data = tmp_path / "globus_data"
    globus_data.write_text(base64.b64encode(pickle.dumps(state)).decode())
    auth_dir = tmp_path / "auth"

    with serve_auth_api(tmp_path) as auth_api:
        run_notebook(lab, page, "login_widget", [
            "import os\n"
            f"os.environ['GLADIER_JUPYTER_AUTH_DIR'] = {str(auth_dir)!r}\n"
            f"os.environ['GLOBUS_DATA'] = open({str(globus_data)!r}).read()\n"
            "import gladier_jupyter\n"
            "gladier_jupyter.use_globus()\n"
            f"os.environ['GLOBUS_SDK_SERVICE_URL_AUTH'] = {auth_api.base_url!r}",
            f"login = gladier_jupyter.login([{FLOW_SCOPE!r}])\nlogin",
        ], wait_for=".gj-login[data-status='partial']", timeout=60_000)

        root = page.locator(".gj-login")
        assert "via GLOBUS_DATA" in root.locator(".gj-login-sources").inner_text()
        assert "as scientist@globusid.org" in root.locator(".gj-login-identity").inner_text()
        flow_row = root.locator(".gj-login-scope", has_text="Flow 0b3c5e7a")
        assert flow_row.get_attribute("data-held") == "false"
        # hub tokens only, none stored: nobody to log out
        assert not root.locator(".gj-login-logout").is_visible()
        assert_accessible(page, ".gj-login")

        root.locator(".gj-login-login").click()
        link = root.locator(".gj-login-link")
        link.wait_for(state="visible", timeout=30_000)
        href = link.get_attribute("href")
        assert href.startswith(f"{auth_api.base_url}v2/oauth2/authorize?")
        # A mistyped code: the widget says so in one line and the login stays open.
        root.locator(".gj-login-code").fill("mistyped-code")
        root.locator(".gj-login-submit").click()
        page.wait_for_function(
            "() => document.querySelector('.gj-login-error').textContent.length > 0",
            timeout=30_000)
        assert root.locator(".gj-login-error").inner_text().startswith(
            "The login code was not accepted by Globus Auth (invalid_grant")
        assert link.is_visible()
        screenshot(page, "login_widget_wrong_code")
        # The user opens the link and logs in; Globus shows a code to paste.
        code = requests.get(href, timeout=10, headers={
            "Authorization": f"Bearer {auth_api.secret}", "Accept": "application/json",
        }).json()["code"]
        root.locator(".gj-login-code").fill(code)
        screenshot(page, "login_widget_code_entry")
        root.locator(".gj-login-submit").click()

        page.wait_for_selector(".gj-login[data-status='logged_in']", timeout=30_000)
        assert root.locator(".gj-login-code").input_value() == ""
        assert root.locator(".gj-login-error").inner_text() == ""
        assert flow_row.get_attribute("data-held") == "true"
        assert "stored login" in root.locator(".gj-login-sources").inner_text()
        assert "stored login" in flow_row.inner_text()
        assert root.locator(".gj-login-logout").is_visible()
        screenshot(page, "login_widget")
        assert_accessible(page, ".gj-login")

        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function(
            "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)

    stored = json.loads((auth_dir / "tokens.json").read_text())["data"]["globus"]
    stored_tokens = {tok[k] for tok in stored.values() for k in ("access_token", "refresh_token")
                     if tok.get(k)}
    assert (auth_dir / "tokens.json").stat().st_mode & 0o777 == 0o600
    secrets = hub_tokens | stored_tokens | {code}
    saved = (lab.root_dir / "login_widget.ipynb").read_text()
    for text in (page.content(), saved, lab.log_path.read_text()):
        assert not [s for s in secrets if s in text], "a token string reached the page or files"


@pytest.mark.browser
def test_login_widget_in_local_mode_offers_no_globus_login_and_follows_a_switch(local_service, lab, page):
    run_notebook(lab, page, "login_local", [
        "import gladier_jupyter\n"
        f"gladier_jupyter.use_local({str(local_service.state_dir)!r})",
        "login = gladier_jupyter.login()\nlogin",
    ], wait_for=".gj-login[data-status='local']", timeout=60_000)
    root = page.locator(".gj-login")
    assert root.locator(".gj-login-title").inner_text() == "Local service"
    assert root.locator(".gj-login-identity").inner_text() == "as local-user@localhost"
    assert root.locator(".gj-login-sources").inner_text() == ""  # one name: no "via local service"
    for hidden in (".gj-login-login", ".gj-login-logout", ".gj-login-pending"):
        assert not root.locator(hidden).is_visible(), hidden
    assert root.locator(".gj-login-problems li").count() == 0
    screenshot(page, "login_widget_local")
    assert_accessible(page, ".gj-login")
    # a switch from another cell redraws the widget for Globus, and back
    execute = ("(code) => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
               ".requestExecute({code}).done.then(() => true)")
    page.evaluate(execute, "gladier_jupyter.use_globus()")
    page.wait_for_selector(".gj-login[data-mode='globus']", timeout=30_000)
    assert root.locator(".gj-login-login").is_visible()
    screenshot(page, "login_widget_switched_to_globus")
    page.evaluate(execute, f"gladier_jupyter.use_local({str(local_service.state_dir)!r})")
    page.wait_for_selector(".gj-login[data-mode='local']", timeout=30_000)
