"""JupyterHub configuration for the login integration test (values filled from the environment).

A GlobusOAuthenticator that never calls Globus: the auth state it stores is the Globus-shaped
one in hub_auth_state.json, handed over at spawn (refresh_pre_spawn). Its own pre_spawn_start
writes GLOBUS_DATA; the server role is granted admin:auth_state!user, so the hub API shares it.
"""

import json
import os
import pathlib

from jupyterhub.spawner import SimpleLocalProcessSpawner
from oauthenticator.globus import GlobusOAuthenticator

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

T = pathlib.Path(os.environ["GJ_HUB_DIR"])
AUTH_STATE = json.loads(pathlib.Path(os.environ["GJ_AUTH_STATE"]).read_text())
AUTH_STATE.pop("_comment", None)


class OfflineGlobusAuthenticator(GlobusOAuthenticator):
    """GlobusOAuthenticator whose 'login' is the stored Globus-shaped auth state."""

    async def refresh_user(self, user, handler=None, **kwargs):
        return {"name": user.name, "auth_state": AUTH_STATE}

    async def authenticate(self, handler, data=None, **kwargs):
        return {"name": "scientist", "auth_state": AUTH_STATE}


COMMON = pathlib.Path(__file__).resolve().parents[1] / "hub" / "jupyterhub_common_config.py"
assert COMMON.is_file(), COMMON
load_subconfig(str(COMMON))  # noqa: F821 - provided by JupyterHub when it loads this file

c.JupyterHub.authenticator_class = OfflineGlobusAuthenticator
c.OfflineGlobusAuthenticator.client_id = "hub-client-id"
c.OfflineGlobusAuthenticator.client_secret = "hub-client-secret"
c.OfflineGlobusAuthenticator.oauth_callback_url = "http://127.0.0.1/hub/oauth_callback"
c.Authenticator.enable_auth_state = True
c.Authenticator.refresh_pre_spawn = True
c.Authenticator.allow_all = True

c.JupyterHub.spawner_class = SimpleLocalProcessSpawner
c.SimpleLocalProcessSpawner.home_dir_template = str(T / "home" / "{username}")
c.Spawner.cmd = [os.environ["GJ_SINGLEUSER"]]
c.Spawner.default_url = "/lab"
c.Spawner.args = ["--allow-root"]  # CI runs as root
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 90
c.Spawner.environment = {"GLADIER_JUPYTER_STATE_DIR": str(T / "local-service"),
                         # a test's extra server environment (JSON), e.g. where "Globus" is
                         **json.loads(os.environ.get("GJ_SPAWN_ENV") or "{}")}

c.JupyterHub.load_roles = [
    *c.JupyterHub.load_roles,  # the common file's admin role for the test's service
    # A server token holds only scopes its user holds: the user may read its own auth state,
    # and the server role passes that on to $JUPYTERHUB_API_TOKEN.
    {"name": "user", "scopes": ["self", "admin:auth_state!user"]},
    {"name": "server", "scopes": ["users:activity!user", "access:servers!server",
                                  "read:users!user", "admin:auth_state!user"]},
]
