"""Widgets: FlowPreview, RunMonitor, RunsPanel, Login (anywidget; front end in static/)."""

from __future__ import annotations

import importlib
import typing as t

__all__ = ["FlowPreview", "RunMonitor", "RunsPanel", "Login", "BackendBadge", "compare_runs",
           "flow_history"]

_LAZY = {
    "FlowPreview": "gladier_jupyter.widgets.preview",
    "RunMonitor": "gladier_jupyter.widgets.monitor",
    "RunsPanel": "gladier_jupyter.widgets.runs",
    "Login": "gladier_jupyter.widgets.login",
    "BackendBadge": "gladier_jupyter.widgets.badge",
    "compare_runs": "gladier_jupyter.widgets.history",
    "flow_history": "gladier_jupyter.widgets.history",
}


def __getattr__(name: str) -> t.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gladier_jupyter.widgets' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
