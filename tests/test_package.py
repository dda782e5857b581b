"""The package's public surface: every name in __all__ resolves, typed, lazy."""

from __future__ import annotations

import importlib.resources
import subprocess
import sys

import gladier_jupyter


def test_every_public_name_resolves():
    missing = [name for name in gladier_jupyter.__all__ if not hasattr(gladier_jupyter, name)]
    assert missing == []


def test_unknown_attribute_is_an_attribute_error_naming_it():
    try:
        gladier_jupyter.NoSuchThing  # noqa: B018
    except AttributeError as err:
        assert "NoSuchThing" in str(err)
    else:
        raise AssertionError("gladier_jupyter.NoSuchThing did not raise")


def test_package_is_typed():
    assert importlib.resources.files("gladier_jupyter").joinpath("py.typed").is_file()


def test_import_and_load_ext_leave_heavy_packages_unimported():
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance().run_line_magic('load_ext', 'gladier_jupyter')\n"
        "heavy = [m for m in ('gladier', 'globus_sdk', 'globus_compute_sdk', 'anywidget',"
        " 'tornado.web') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_local_service_secret_is_in_no_repr_or_pretty_print():
    import pathlib

    from hypothesis.vendor.pretty import pretty as hypothesis_pretty
    from IPython.lib.pretty import pretty as ipython_pretty

    from gladier_jupyter.local import ServiceInfo

    info = ServiceInfo("http://127.0.0.1:1", "s3cr3t-value", 1, pathlib.Path("/tmp/x"))
    for text in (repr(info), str(info), ipython_pretty(info), hypothesis_pretty(info)):
        assert "s3cr3t-value" not in text and "127.0.0.1:1" in text


def test_python_and_npm_versions_come_from_package_json():
    # One version source: hatch reads package.json's (hatch-nodejs-version), and the
    # version the package reports at run time says the same.
    import json
    import pathlib

    from hatchling.metadata.core import ProjectMetadata
    from hatchling.plugin.manager import PluginManager

    root = pathlib.Path(__file__).resolve().parent.parent
    npm = json.loads((root / "package.json").read_text())["version"]
    metadata = ProjectMetadata(str(root), PluginManager())
    assert metadata.hatch.version.source_name == "nodejs"
    assert metadata.version == npm
    assert gladier_jupyter.__version__ == npm, (
        f"gladier_jupyter/_version.py says {gladier_jupyter.__version__!r}, package.json "
        f"says {npm!r}: package.json holds the version, make _version.py say the same")
