"""A flow definition as a graph: states, transitions, problems, required input, and exports.

``FlowGraph.build(x)`` takes a gladier client or tool (class or instance), a definition dict,
a JSON/YAML string or a path. Its ``model`` (plain JSON) is what the FlowPreview widget
draws; ``to_svg()`` / ``to_mermaid()`` / ``to_text()`` draw the same graph with no browser,
so saved notebooks, nbconvert HTML and GitHub show it. ``check_run_input`` is the pre-run
check ``%gladier_run`` uses.

The package, by idea: ``sources`` (gladier objects, dicts, text, paths → a definition),
``graph`` (the model: nodes, edges, problems, required input), ``labels`` and ``functions``
(what a state says and which compute functions it calls), ``layout``, ``svg``, ``text``
(mermaid and plain text), ``changes`` (a definition diff drawn on the graph).
"""

from __future__ import annotations

from gladier_jupyter.flowgraph.changes import diff_graph, diff_model
from gladier_jupyter.flowgraph.functions import function_input_keys
from gladier_jupyter.flowgraph.graph import FlowGraph, build_graph, check_run_input
from gladier_jupyter.flowgraph.labels import END, START, describe_rule
from gladier_jupyter.flowgraph.sources import load_definition

__all__ = [
    "diff_graph",
    "diff_model",

    "FlowGraph",
    "build_graph",
    "check_run_input",
    "describe_rule",
    "function_input_keys",
    "load_definition",
    "START",
    "END",
]
