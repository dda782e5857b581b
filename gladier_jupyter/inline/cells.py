"""What a cell asked for (``ToolSpec``), the errors a cell raises, and putting the class it
made into the notebook."""

from __future__ import annotations

import itertools
import keyword
import re
import typing as t

from gladier_jupyter.errors import GladierJupyterUsageError

__all__ = ["COMPUTE_V2_URL", "COMPUTE_V3_URL", "ToolSpec", "CellRaised"]

COMPUTE_V2_URL = "https://compute.actions.globus.org"
COMPUTE_V3_URL = "https://compute.actions.globus.org/v3"
_ACTION_URLS = {"v2": COMPUTE_V2_URL, "v3": COMPUTE_V3_URL}
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_cell_counter = itertools.count(1)


class ToolSpec(t.NamedTuple):
    """What a ``%%gladier_tool`` cell asked for (kept on the class as ``_gladier_jupyter``)."""

    name: str
    source: str
    kind: str  # "functions" or "definition"
    options: dict[str, t.Any]


class CellRaised(GladierJupyterUsageError):
    """The cell's own code raised while defining the tool; ``exc_info`` is trimmed to the cell."""

    def __init__(self, message: str, exc_info: tuple[t.Any, BaseException, t.Any]) -> None:
        super().__init__(message)
        self.exc_info = exc_info


def _usage(message: str) -> GladierJupyterUsageError:
    return GladierJupyterUsageError(message)


def _check_identifier(what: str, name: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise _usage(
            f"{what} name {name!r} is not a Python identifier; use a name like 'RunExperiment'."
        )


def _install(name: str, attrs: dict[str, t.Any], user_ns: dict[str, t.Any]) -> type:
    """Define the tool class, or redefine a previous one from a magic in place.

    Updating the existing class keeps every client that lists it current: the next
    ``run_flow`` sees the new functions' checksums and re-registers them (gladier's way).
    """
    from gladier import GladierBaseTool

    attrs.setdefault("__module__", user_ns.get("__name__", "__main__"))
    attrs["__qualname__"] = name
    old = user_ns.get(name)
    if isinstance(old, type) and issubclass(old, GladierBaseTool) and "_gladier_jupyter" in vars(old):
        for key in list(vars(old)):
            if key not in attrs and key not in ("__dict__", "__weakref__"):
                delattr(old, key)
        for key, value in attrs.items():
            if key != "__qualname__":
                setattr(old, key, value)
        cls = old
    else:
        cls = type(name, (GladierBaseTool,), attrs)
    user_ns[name] = cls
    return cls
