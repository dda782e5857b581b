
"""No token string anywhere: the whole tutorial plus a login, run headless, saved with widget
state, and every log it produced, searched for every token the kernel held."""

from __future__ import annotations

import base64
import json
import pathlib
import pickle

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "notebooks" / "gladier_tutorial.ipynb"
DATA = pathlib.Path(__file__).parent / "data" / "auth"

SETUP = """\
import logging, os
logging.basicConfig(filename={log!r}, level=logging.DEBUG, force=True,
                    format="%(levelname)s %(name)s %(message)s")
os.environ['GLADIER_JUPYTER_AUTH_DIR'] = {auth_dir!r}
os.environ['GLOBUS_DATA'] = open({globus_data!r}).read()
"""

LOGIN = """\
import os, requests
import gladier_jupyter

# Globus mode, its Auth being the test's own Auth API (a real one of the local service's
# handlers, outside this kernel): log in through the widget as a user would, with its link,
# the code the page shows, pasted back.
gladier_jupyter.use_globus()
os.environ['GLOBUS_SDK_SERVICE_URL_AUTH'] = os.environ.pop('GJ_TEST_AUTH_URL')
login = gladier_jupyter.login()
login.start_login()
assert login.error == '', login.error
_code = requests.get(login.authorize_url, timeout=10, headers={
    'Authorization': 'Bearer ' + os.environ.pop('GJ_TEST_AUTH_APPROVER'),
    'Accept': 'application/json'}).json()['code']
login.submit_code(_code)
del _code
assert login.error == '', login.error
assert 'stored login' in login.sources, login.sources
print(login.summary())
login
"""


def test_tutorial_and_login_leave_no_token_in_notebook_or_logs(local_service, auth_api, tmp_path, monkeypatch):
    state = json.loads((DATA / "hub_auth_state.json").read_text())
    state.pop("_comment", None)
    globus_data = tmp_path / "globus_data"
    globus_data.write_text(base64.b64encode(pickle.dumps(state)).decode())
    auth_dir = tmp_path / "auth"
    kernel_log = tmp_path / "kernel.log"

    # what the login cell needs, given to the kernel in its environment (never in a cell)
    monkeypatch.setenv("GJ_TEST_AUTH_URL", auth_api.base_url)
    monkeypatch.setenv("GJ_TEST_AUTH_APPROVER", auth_api.secret)

    nb = nbformat.read(TUTORIAL, as_version=4)
    setup = SETUP.format(log=str(kernel_log), auth_dir=str(auth_dir),
                         globus_data=str(globus_data))
    nb.cells.insert(0, nbformat.v4.new_code_cell(setup))
    nb.cells.append(nbformat.v4.new_code_cell(LOGIN))
    client = NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    saved = tmp_path / "tutorial_with_login.ipynb"
    nbformat.write(nb, saved)

    stored = json.loads((auth_dir / "tokens.json").read_text())["data"]["globus"]
    assert stored, "the login stored no tokens"
    secrets = {local_service.secret, auth_api.secret}
    secrets |= {tok[k] for tok in state["tokens"].values() for k in ("access_token",
                                                                     "refresh_token")}
    secrets |= {tok[k] for tok in stored.values() for k in ("access_token", "refresh_token")
                if tok.get(k)}
    assert len(secrets) > 10

    widget_state = json.dumps(nb.metadata.get("widgets", {}))
    assert "Login" in widget_state and "RunMonitor" in widget_state
    texts = {
        "saved notebook": saved.read_text(),
        "kernel log": kernel_log.read_text(),
        "service log": (local_service.state_dir / "service.log").read_text(errors="replace"),
    }
    assert "DEBUG" in texts["kernel log"] or "INFO" in texts["kernel log"]  # logging was on
    for name, text in texts.items():
        hits = sorted(s for s in secrets if s in text)
        assert not hits, f"{len(hits)} token string(s) found in the {name}"
