"""What every test hub shares (values filled from the environment): its addresses on
127.0.0.1, its database and files in ``$GJ_HUB_DIR``, the proxy, and the test's admin service.

Each hub configuration loads it first, with ``load_subconfig`` (by absolute path, checked to
exist: ``load_subconfig`` ignores a missing file silently).
"""

import os
import pathlib

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

T = pathlib.Path(os.environ["GJ_HUB_DIR"])

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

c.JupyterHub.services = [{"name": "gj-test", "api_token": os.environ["GJ_ADMIN_TOKEN"]}]
ADMIN_ROLE = {"name": "gj-test-admin", "services": ["gj-test"],
              "scopes": ["admin:users", "admin:servers", "access:servers"]}
c.JupyterHub.load_roles = [ADMIN_ROLE]
