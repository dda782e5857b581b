"""The local Flows API: flows, runs, run logs; runs moved by :mod:`.engine`."""

from __future__ import annotations

from gladier_jupyter.local._http import ServiceContext
from gladier_jupyter.local.flows.errors import FlowsError
from gladier_jupyter.local.flows.routes import routes
from gladier_jupyter.local.flows.service import FlowsService

__all__ = ["FlowsError", "FlowsService", "error_class", "make_service", "routes"]

error_class = FlowsError


def make_service(ctx: ServiceContext) -> FlowsService:
    return FlowsService(ctx)
