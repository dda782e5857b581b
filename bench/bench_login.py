"""What the login layer costs.

- decoding ``GLOBUS_DATA`` (the oauthenticator-shaped value) with the no-globals unpickler;
- reading every token source once (GLOBUS_DATA + stored tokens) and describing the login;
- the hub API round trip (``/user`` then ``/users/<name>``) against a hub-like server on
  127.0.0.1;
- the per-request cost of a ``SessionAuthorizer`` (token looked up at each request);
- ``gladier_jupyter.login()`` building the Login widget in Globus mode.

Run: .venv/bin/python bench/bench_login.py
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import pickle
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from _util import median_ms, timed  # noqa: E402


def report(name: str, samples: list[float], target_ms: float) -> None:
    med = median_ms(samples)
    verdict = "met" if med <= target_ms else "MISSED"
    print(f"{name}: median {med:.3f} ms over {len(samples)} runs "
          f"(target <= {target_ms:g} ms: {verdict})", flush=True)

SEARCH = "urn:globus:auth:scope:search.api.globus.org:all"


def main() -> None:
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="gj-bench-login-"))
    os.environ["GLADIER_JUPYTER_AUTH_DIR"] = str(tmp / "auth")
    state = json.loads((ROOT / "tests/data/auth/hub_auth_state.json").read_text())
    state.pop("_comment", None)
    value = base64.b64encode(pickle.dumps(state)).decode()

    from gladier_jupyter import backend
    from gladier_jupyter.auth import hub
    from gladier_jupyter.auth.state import AuthSession, reset_session
    from gladier_jupyter.auth.storage import TokenStore
    from gladier_jupyter.widgets.login import Login
    from tests._auth_servers import serve_hub_api

    report("decode GLOBUS_DATA", timed(lambda: hub.decode_globus_data(value), 500), 2)

    session = AuthSession(environ={"GLOBUS_DATA": value}, store=TokenStore(tmp / "t.json"),
                          mode="globus")
    report("read sources + describe (GLOBUS_DATA)",
           timed(lambda: (session.reload(), session.describe()), 100), 20)

    authorizer = session.authorizer_for(SEARCH)
    report("authorizer header per request", timed(authorizer.get_authorization_header, 2000),
           0.5)

    with serve_hub_api(state) as fake_hub:
        env = {"JUPYTERHUB_API_URL": fake_hub.api_url,
               "JUPYTERHUB_API_TOKEN": fake_hub.server_token}
        report("hub API auth_state (2 GETs, 127.0.0.1)",
               timed(lambda: hub.fetch_hub_auth_state(env), 100), 50)

    backend.use_globus()
    reset_session(AuthSession(environ={"GLOBUS_DATA": value}, store=TokenStore(tmp / "t.json")))
    report("Login widget (Globus mode, GLOBUS_DATA)", timed(lambda: Login(), 30), 100)


if __name__ == "__main__":
    main()
