"""Session-wide test set-up: an isolated HOME (removed at the end), and the fixture plugins."""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile

import pytest

# Everything a test starts (kernels, the local service, JupyterLab, Chromium) inherits this
# HOME, so no test reads or writes the real ~/.gladier, ~/.jupyter or ~/.ipython.
_HOME = pathlib.Path(tempfile.mkdtemp(prefix="gladier-jupyter-tests-home-"))
os.environ["HOME"] = str(_HOME)
os.environ["GLADIER_JUPYTER_STATE_DIR"] = str(_HOME / "local-service")
os.environ["JUPYTER_CONFIG_DIR"] = str(_HOME / ".jupyter")
os.environ["JUPYTER_DATA_DIR"] = str(_HOME / ".local/share/jupyter")
os.environ["IPYTHONDIR"] = str(_HOME / ".ipython")

pytest_plugins = ["tests._fixtures.local", "tests._fixtures.browser", "tests._fixtures.slurm", "tests._auth_servers"]

ROOT = pathlib.Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    """Browser tests run last.

    Playwright's sync API keeps an asyncio loop running in the main thread while the
    session's browser is open, so code run after it that calls ``asyncio.run()`` (as
    JupyterHub's authenticators do) would fail. A stable sort keeps every other order.
    """
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """The very last step: remove the session's HOME (~120 MB after a full run).

    ``trylast``: after ``tests._fixtures.local``'s own ``pytest_unconfigure`` has stopped a
    local service that may still write in it. ``GLADIER_JUPYTER_KEEP_TEST_HOME=1`` keeps it
    to look into.
    """
    if os.environ.get("GLADIER_JUPYTER_KEEP_TEST_HOME") == "1":
        print(f"\nthe tests' HOME is kept: {_HOME}")
        return
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def _plain_gladier_clients_restored():
    """A test that loads the extension into an in-process shell leaves gladier's own client
    defaults (and no provided GLOBUS_DATA) behind for the next test, as %unload_ext would."""
    yield
    import sys

    plain = sys.modules.get("gladier_jupyter.plain_clients")
    if plain is not None and (plain._PLAIN_CLIENTS["cls"] is not None or plain._SDK_ALIAS["cls"] is not None
                              or os.environ.get("GLADIER_JUPYTER_LOCAL_GLOBUS_DATA")):
        plain.remove_plain_client_defaults(None)
