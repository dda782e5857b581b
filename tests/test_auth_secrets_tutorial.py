
"""No token string anywhere: the whole tutorial plus a login, run headless, saved with widget
state, and every log it produced, searched for every token the kernel held."""

from __future__ import annotations

import base64
import json
import pathlib
import pickle

import nbformat
import pytest
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
import requests
import gladier_jupyter
from gladier_jupyter import backend

login = gladier_jupyter.login()
# Log in through the widget as a user would: its link, the code the page shows, pasted back.
login.start_login()
_secret = backend.current().info.secret
_code = requests.get(login.authorize_url, timeout=10, verify=str(backend.current().info.ca_file), headers={
    'Authorization': 'Bearer ' + _secret, 'Accept': 'application/json'}).json()['code']
login.submit_code(_code)
del _secret, _code
assert login.error == '', login.error
assert 'stored login' in login.sources or login.mode == 'local', login.sources
print(login.summary())
login
"""


@pytest.mark.skip(reason="to rewrite: it logs in through the widget in local mode, which no longer offers a Globus login (issue 17); the same check must drive the login in Globus mode against the local Auth")
def test_tutorial_and_login_leave_no_token_in_notebook_or_logs(local_service, tmp_path):
    state = json.loads((DATA / "hub_auth_state.json").read_text())
    state.pop("_comment", None)
    globus_data = tmp_path / "globus_data"
    globus_data.write_text(base64.b64encode(pickle.dumps(state)).decode())
    auth_dir = tmp_path / "auth"
    kernel_log = tmp_path / "kernel.log"

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
    secrets = {local_service.secret}
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
