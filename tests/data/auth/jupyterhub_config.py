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


c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ["GJ_HUB_PORT"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ["GJ_HUB_API_PORT"])
c.JupyterHub.db_url = f"sqlite:///{T / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(T / "cookie_secret")
c.JupyterHub.pid_file = str(T / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True
c.ConfigurableHTTPProxy.command = [os.environ["GJ_CHP"]]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['GJ_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.auth_token = os.environ["GJ_PROXY_TOKEN"]

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

c.JupyterHub.services = [{"name": "gj-test", "api_token": os.environ["GJ_ADMIN_TOKEN"]}]
c.JupyterHub.load_roles = [
    {"name": "gj-test-admin", "services": ["gj-test"],
     "scopes": ["admin:users", "admin:servers", "access:servers"]},
    # A server token holds only scopes its user holds: the user may read its own auth state,
    # and the server role passes that on to $JUPYTERHUB_API_TOKEN.
    {"name": "user", "scopes": ["self", "admin:auth_state!user"]},
    {"name": "server", "scopes": ["users:activity!user", "access:servers!server",
                                  "read:users!user", "admin:auth_state!user"]},
]
