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

COMMON = pathlib.Path(__file__).resolve().parents[1] / "hub" / "jupyterhub_common_config.py"
assert COMMON.is_file(), COMMON
load_subconfig(str(COMMON))  # noqa: F821 - provided by JupyterHub when it loads this file

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
