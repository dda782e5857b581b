"""JupyterHub configuration for the lifecycle test (values filled from the environment).

The hub runs as root and spawns each user's server as that real Unix user
(LocalProcessSpawner), from a virtual environment other users can read; DummyAuthenticator,
since this test is about processes, not logins.
"""

import os
import pathlib

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

T = pathlib.Path(os.environ["GJ_HUB_DIR"])
SHARED = pathlib.Path(os.environ["GJ_SHARED_PREFIX"])  # where jupyter's data and config live

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

c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {os.environ["GJ_HUB_USER"]}

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.environ["GJ_USER_PYTHON"], "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {
    "PYTHONPATH": os.environ["GJ_PYTHONPATH"],
    "JUPYTER_PATH": str(SHARED / "share" / "jupyter"),
    "JUPYTER_CONFIG_PATH": str(SHARED / "etc" / "jupyter"),
}

c.JupyterHub.services = [{"name": "gj-test", "api_token": os.environ["GJ_ADMIN_TOKEN"]}]
c.JupyterHub.load_roles = [
    {"name": "gj-test-admin", "services": ["gj-test"],
     "scopes": ["admin:users", "admin:servers", "access:servers"]},
]
