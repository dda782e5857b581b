"""Before a run: do the notebook and the run's compute endpoints agree on Python and SDK?

A function serialized by one Python (or globus-compute-sdk) and loaded by another is the
most common Globus Compute failure ("Avoiding serialization errors",
https://globus-compute.readthedocs.io/en/latest/sdk/executor_user_guide.html#avoiding-serialization-errors).
So the endpoints a run input names are compared, Python major.minor and
globus-compute-sdk major.minor, with what the endpoint reports: the local service's
endpoint document (its engine's interpreter), or Globus's endpoint metadata
(``Client.get_endpoint_metadata``). An endpoint that reports nothing gives no warning, and
a failed look-up never stops a run.
"""

from __future__ import annotations

import platform
import re
import typing as t

__all__ = ["endpoint_ids", "version_warnings"]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
# gladier's convention (``compute_endpoint``), and the funcx-era names
_KEY = re.compile(r"(compute_endpoint|funcx_endpoint)", re.I)
_cache: dict[tuple[str, str], dict[str, t.Any] | None] = {}


def endpoint_ids(flow_input: t.Any) -> list[str]:
    """The compute endpoint ids a run input names (``input.compute_endpoint`` and kin)."""
    inner = flow_input.get("input", flow_input) if isinstance(flow_input, dict) else None
    if not isinstance(inner, dict):
        return []
    found = []
    for key, value in inner.items():
        if isinstance(key, str) and _KEY.search(key) and isinstance(value, str) \
                and _UUID.match(value) and value not in found:
            found.append(value)
    return found


def _minor(version: t.Any) -> str | None:
    match = re.match(r"^\s*(\d+)\.(\d+)", str(version or ""))
    return f"{match.group(1)}.{match.group(2)}" if match else None


def _metadata(endpoint_id: str) -> dict[str, t.Any] | None:
    from gladier_jupyter import backend

    mode = backend.current().name
    key = (mode, endpoint_id)
    if key not in _cache or mode == "local":  # local answers are cheap and may change
        try:
            data = backend.compute_client().get_endpoint_metadata(endpoint_id)
            _cache[key] = dict(data) if isinstance(data, t.Mapping) else None
        except Exception:  # noqa: BLE001 - not known, no access, offline: no warning
            _cache[key] = None
    return _cache[key]


def version_warnings(flow_input: t.Any) -> list[str]:
    """One line per endpoint of ``flow_input`` whose Python or SDK differs from this kernel's."""
    from globus_compute_sdk.version import __version__ as sdk_version

    here_py, here_sdk = _minor(platform.python_version()), _minor(sdk_version)
    lines = []
    for endpoint_id in endpoint_ids(flow_input):
        meta = _metadata(endpoint_id) or {}
        there_py, there_sdk = _minor(meta.get("python_version")), _minor(meta.get("sdk_version"))
        differs = []
        if there_py and there_py != here_py:
            differs.append(f"Python {there_py} (this notebook {here_py})")
        if there_sdk and there_sdk != here_sdk:
            differs.append(f"globus-compute-sdk {there_sdk} (this notebook {here_sdk})")
        if differs:
            lines.append(
                f"Compute endpoint {endpoint_id} runs {' and '.join(differs)}: functions "
                "serialized here may fail to load there; match the versions (the endpoint's "
                "worker_init or this kernel's environment)."
            )
    return lines
