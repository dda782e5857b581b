"""%gladier_run in Globus mode: a consent Globus asks for opens the login widget, one line."""

from __future__ import annotations

import json

import pytest
import tornado.web
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from gladier_jupyter import backend
from gladier_jupyter.auth.state import AuthSession, reset_session
from gladier_jupyter.auth.storage import TokenStore
from tests._auth_servers import _serve, serve_auth_api
from tests.test_auth_manager import FLOW_SCOPE, globus_data


class _ConsentRequired(tornado.web.RequestHandler):
    """A Flows API that answers every request as Globus does when consent is missing."""

    def initialize(self, seen: list[str]) -> None:
        self.seen = seen

    def prepare(self) -> None:
        self.seen.append(f"{self.request.method} {self.request.path}")
        self.set_status(403)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({
            "code": "ConsentRequired", "message": "Missing required data_access consent",
            "required_scopes": [FLOW_SCOPE],
            "authorization_parameters": {"session_message": "consent",
                                         "required_scopes": [FLOW_SCOPE]},
        }))


@pytest.fixture
def globus_mode(tmp_path, monkeypatch, local_service):
    # local_service: the session's service, which teardown switches back to (not a new one).
    seen: list[str] = []
    app = tornado.web.Application([(r"/.*", _ConsentRequired, {"seen": seen})])
    monkeypatch.setenv("GLADIER_JUPYTER_AUTH_DIR", str(tmp_path / "auth"))
    with serve_auth_api(tmp_path) as auth_api, _serve(app) as flows_url:
        backend.use_globus()
        # After use_globus(): clients built from here on reach these servers, not Globus.
        monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_AUTH", auth_api.base_url)
        monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_FLOWS", flows_url + "/")
        reset_session(AuthSession(environ={"GLOBUS_DATA": globus_data()},
                                  store=TokenStore(tmp_path / "auth" / "tokens.json"),
                                  mode="globus"))
        try:
            yield seen
        finally:
            reset_session()
            backend.use_local()


def test_run_asked_for_consent_shows_login_widget_and_one_line_error(globus_mode):
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "gladier_jupyter")
    shell.run_cell_magic(
        "gladier_tool", "Hello --definition",
        '{"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "End": true}}}',
    )
    shell.run_line_magic("gladier_client", "ConsentClient Hello --no-preview")
    shown = []
    shell.display_pub.publish = lambda data, *a, **k: shown.append(data)

    with pytest.raises(UsageError) as err:
        shell.run_line_magic("gladier_run", "ConsentClient {'input': {'sample': 1}}")

    message = str(err.value)
    assert "\n" not in message and "log in" in message.lower(), message
    assert any(req.startswith("POST /flows") for req in globus_mode), globus_mode
    # The login widget was displayed, asking for the scope Globus named.
    assert any("application/vnd.jupyter.widget-view+json" in d for d in shown), shown
