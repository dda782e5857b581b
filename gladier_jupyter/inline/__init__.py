"""Turn notebook cell source into ordinary gladier tool and client classes.

The magics (``magics.py``) parse options and show results; this module does the work, so
everything here is usable (and tested) without IPython. Every user mistake raises
:class:`~gladier_jupyter.errors.GladierJupyterUsageError` with a one-line message.

Tools made here are plain ``gladier.GladierBaseTool`` subclasses whose ``flow_definition`` is
what ``@generate_flow_definition`` gives for the same functions and modifiers; clients are
``GladierBaseClient`` subclasses wrapped by ``@generate_flow_definition``, exactly like the
decorator style, so plain gladier runs them unchanged.

The package, by idea: ``cells`` (what a cell asked for, its errors), ``values`` (option and
literal parsing), ``functions`` (reading compute functions), ``tools`` and ``definitions``
(the two kinds of ``%%gladier_tool``), ``clients`` (``%gladier_client``) and ``runs``
(``%gladier_run``).
"""

from __future__ import annotations

from gladier_jupyter.inline.cells import COMPUTE_V2_URL, COMPUTE_V3_URL, CellRaised, ToolSpec
from gladier_jupyter.inline.clients import (
    check_state_collisions,
    client_flow_definition,
    is_client,
    known_clients,
    known_tools,
    make_client,
    resolve_tool,
    tool_states,
)
from gladier_jupyter.inline.definitions import make_definition_tool, parse_definition
from gladier_jupyter.inline.runs import check_run_input, start_run
from gladier_jupyter.inline.tools import make_tool
from gladier_jupyter.inline.values import parse_input_option, parse_literal, parse_value

__all__ = [

    "COMPUTE_V2_URL",
    "COMPUTE_V3_URL",
    "CellRaised",
    "ToolSpec",
    "make_tool",
    "make_definition_tool",
    "parse_definition",
    "parse_value",
    "parse_input_option",
    "parse_literal",
    "resolve_tool",
    "known_tools",
    "known_clients",
    "is_client",
    "check_state_collisions",
    "make_client",
    "client_flow_definition",
    "tool_states",
    "check_run_input",
    "start_run",
]
