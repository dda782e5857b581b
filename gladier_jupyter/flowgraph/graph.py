"""The graph model of a flow definition (nodes, edges, problems) and its required-input table."""

from __future__ import annotations

import difflib
import json
import typing as t

from gladier_jupyter import flowdef
from gladier_jupyter.flowdef import Problem
from gladier_jupyter.flowgraph.functions import (
    _function_info,
    _function_name,
    _passes_whole_input,
    function_input_keys,
)
from gladier_jupyter.flowgraph.labels import (
    END,
    START,
    _action_kind,
    _clip,
    _short_path,
    describe_rule,
)
from gladier_jupyter.flowgraph.layout import _layout
from gladier_jupyter.flowgraph.sources import _Source, source_of
from gladier_jupyter.flowgraph.svg import _svg
from gladier_jupyter.flowgraph.text import _mermaid, _text

__all__ = ["FlowGraph", "build_graph", "check_run_input"]


def _cap(text: str) -> str:
    """The name at the start of a sentence: "The run input", but a variable as it is spelt."""
    return text[:1].upper() + text[1:] if text.startswith("the ") else text


def _under(name: str) -> str:
    """Where the values go in the input called ``name``: ``bad_input['input']``."""
    return name if name.startswith("the ") else f"{name}['input']"


def _listed(keys: list) -> str:
    """Keys as prose ('a', 'b'), not a Python list, the first few only."""
    shown = ", ".join(_clip(repr(k), 40) for k in keys[:5])
    return shown + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")


# Legacy gladier input names the flow may read under their new names.
_RENAMED_KEYS = {"funcx_endpoint_compute": "compute_endpoint", "funcx_endpoint_non_compute":
                 "compute_endpoint"}


class FlowGraph:
    """A flow definition's graph model: nodes, edges, problems and the required-input table."""

    def __init__(self, source: _Source) -> None:
        self._source = source
        self.definition = source.definition
        self.name = source.name
        self.flow_input: dict | None = None
        self.input_name = "the run input"
        self._layout: dict | None = None
        self.model = self._build()

    @classmethod
    def build(cls, x: t.Any, flow_input: t.Any = None, *, name: str | None = None) -> FlowGraph:
        """The graph of x (gladier client/tool, dict, JSON/YAML text or path)."""
        graph = cls(x._source if isinstance(x, FlowGraph) else source_of(x))
        if flow_input is not None:
            graph.check(flow_input, name=name)
        return graph

    # -- model --------------------------------------------------------------------------------
    def _build(self) -> dict[str, t.Any]:
        definition = self.definition
        self._function_reads: dict[str, dict[str, str]] = {}
        states = definition.get("States") if isinstance(definition, dict) else None
        states = states if isinstance(states, dict) else {}
        self.definition_problems = flowdef.validate(definition) + list(self._source.problems)
        reads = flowdef.input_paths(definition)
        start = definition.get("StartAt") if isinstance(definition, dict) else None

        nodes: list[dict[str, t.Any]] = []
        edges: list[dict[str, t.Any]] = []
        ghosts: dict[str, dict] = {}
        for name, state in states.items():
            nodes.append(self._node(name, state, reads.get(name, [])))
        ids = {n["id"] for n in nodes}
        if isinstance(start, str) and start in ids:
            nodes.insert(0, {"id": START, "kind": "start", "label": "start", "name": START})
            edges.append({"source": START, "target": start, "kind": "start", "label": ""})
        for name, state in states.items():
            for kind, field, target in flowdef.transitions(state):
                label = ""
                if kind == "choice":
                    index = int(field.split("[")[1].split("]")[0])
                    label = describe_rule(state["Choices"][index])
                elif kind == "default":
                    label = "default"
                elif kind == "catch":
                    index = int(field.split("[")[1].split("]")[0])
                    errs = state["Catch"][index].get("ErrorEquals") or []
                    label = _clip(", ".join(str(e) for e in errs) if isinstance(errs, list)
                                  else str(errs), 40)
                target_id = target if isinstance(target, str) else json.dumps(target)
                if target_id not in ids:
                    ghost_id = f"(missing) {target_id}"
                    if ghost_id not in ghosts:
                        ghosts[ghost_id] = {"id": ghost_id, "kind": "missing", "name": target_id,
                                            "label": f"{target_id}?", "missing": True}
                    target_id = ghost_id
                edges.append({"source": name, "target": target_id, "kind": kind,
                              "label": label, "field": field})
        # One end marker per terminal state: a single shared one would pull long edges
        # across the whole drawing of a big flow.
        terminals = [n for n, st in states.items() if isinstance(st, dict)
                     and (st.get("End") is True or st.get("Type") == "Fail")]
        nodes.extend(ghosts.values())
        for name in terminals:
            end_id = END if len(terminals) == 1 else f"{END} {name}"
            nodes.append({"id": end_id, "kind": "end", "label": "end", "name": end_id})
            edges.append({"source": name, "target": end_id, "kind": "end", "label": ""})
        for i, edge in enumerate(edges):
            edge["id"] = f"e{i}"
        self._mark_back_edges(nodes, edges)
        model = {
            "version": 1,
            "name": self.name,
            "comment": definition.get("Comment") if isinstance(definition, dict) else None,
            "start": start if isinstance(start, str) else None,
            "nodes": nodes,
            "edges": edges,
        }
        self._nodes_by_id = {n["id"]: n for n in nodes}
        self._apply_inputs(model)
        return model

    def _node(self, name: str, state: t.Any, reads: list[str]) -> dict[str, t.Any]:
        state = state if isinstance(state, dict) else {}
        stype = state.get("Type")
        node: dict[str, t.Any] = {
            "id": name,
            "name": name,
            "type": stype if isinstance(stype, str) else None,
            "tool": self._source.tool_of_state.get(name),
            "comment": state.get("Comment") if isinstance(state.get("Comment"), str) else None,
            "state": state,
            "reads": reads,
            "input_keys": [k for k in (flowdef.input_key(p) for p in reads) if k],
            "result_path": state.get("ResultPath"),
            "terminal": state.get("End") is True or stype == "Fail",
        }
        kind = {"Pass": "pass", "Choice": "choice", "Wait": "wait", "Fail": "fail",
                "ExpressionEval": "expression"}.get(stype, "unknown")
        caption = str(stype or "no Type")
        if stype == "Action":
            kind, caption = _action_kind(state.get("ActionUrl"))
            if kind == "compute":
                functions: list[dict[str, t.Any]] = []
                for key in flowdef.function_keys(state):
                    fname = _function_name(key)
                    known = self._source.functions.get(fname)
                    functions.append(_function_info(*known) if known else
                                     {"name": fname, "tool": None, "doc": None, "source": None,
                                      "input_key": key})
                node["functions"] = functions
                if _passes_whole_input(state.get("Parameters")):
                    for fn in functions:
                        for key in function_input_keys(fn["source"]) if fn["source"] else []:
                            self._function_reads.setdefault(name, {}).setdefault(key, fn["name"])
                            if key not in node["input_keys"]:
                                node["input_keys"].append(key)
                if functions:
                    caption = "Compute · " + ", ".join(f"{f['name']}()" for f in functions)
            node["action_url"] = state.get("ActionUrl")
        elif stype == "Wait":
            for field in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath"):
                if field in state:
                    value = state[field]
                    if field == "Seconds":
                        caption = f"Wait {value} s"
                    elif field.startswith("Timestamp"):
                        caption = f"Wait until {_short_path(value)}"
                    else:
                        caption = f"Wait {_short_path(value)} s"
                    break
        elif stype == "Fail" and isinstance(state.get("Error"), str):
            caption = f"Fail · {state['Error']}"
        node["kind"] = kind
        node["caption"] = _clip(caption, 44)
        node["label"] = name
        return node

    @staticmethod
    def _mark_back_edges(nodes: list[dict], edges: list[dict]) -> None:
        """Flag edges that close a loop (DFS from the start), so views can draw them apart."""
        out: dict[str, list[dict]] = {}
        for e in edges:
            out.setdefault(e["source"], []).append(e)
        colour: dict[str, int] = {}
        for root in [n["id"] for n in nodes]:
            if root in colour:
                continue
            stack = [(root, iter(out.get(root, [])))]
            colour[root] = 1
            while stack:
                node, it = stack[-1]
                edge = next(it, None)
                if edge is None:
                    colour[node] = 2
                    stack.pop()
                    continue
                target = edge["target"]
                edge["back"] = colour.get(target) == 1
                if target not in colour:
                    colour[target] = 1
                    stack.append((target, iter(out.get(target, []))))

    # -- input ----------------------------------------------------------------------------------
    def check(self, flow_input: t.Any, *, name: str | None = None) -> list[Problem]:
        """Check a run input against the flow; update the table and node marks; return problems.

        ``name`` is what the messages call the input: the user's variable (``bad_input``) when
        the input came from one, else "the run input".
        """
        self.flow_input = flow_input
        self.input_name = name or "the run input"
        self._layout = None
        self._apply_inputs(self.model)
        return [p for p in self.problems if p.code in ("missing_input", "bad_input")]

    def _given(self) -> tuple[dict | None, list[Problem]]:
        flow_input = self.flow_input
        name = self.input_name
        if flow_input is None:
            return None, []
        if isinstance(flow_input, dict) and isinstance(flow_input.get("input"), dict):
            extra = [k for k in flow_input if k != "input"]
            if extra:
                return flow_input["input"], [Problem(
                    "bad_input", f"{_cap(name)} has top-level keys {_listed(extra)} beside "
                    "'input'; gladier's run_flow takes only {'input': {...}}. Move them inside "
                    "'input'.", "$")]
            return flow_input["input"], []
        return None, [Problem(
            "bad_input", f"{_cap(name)} {_clip(repr(flow_input), 60)} is not of the form "
            "{'input': {...}}; wrap the values as {'input': {...}}.", "$")]

    def _apply_inputs(self, model: dict) -> None:
        given, shape_problems = self._given()
        defaults = self._source.defaults
        keys = flowdef.required_input_keys(self.definition)
        via: dict[str, list[str]] = {}
        for state, reads in self._function_reads.items():
            for key, fn in reads.items():
                readers = keys.setdefault(key, [])
                if state not in readers:
                    readers.append(state)
                    via.setdefault(key, []).append(f"{fn}()")
        for key in self._source.required:
            keys.setdefault(key, [])
        optional = flowdef.optional_input_keys(self.definition) - set(self._source.required)
        self._table_keys = set(keys)
        rows = []
        input_problems: list[Problem] = list(shape_problems)
        for key, states in keys.items():
            if given is not None and key in given:
                provided_by = "input"
            elif key in defaults:
                provided_by = "default: " + defaults[key]
            elif key in optional:
                provided_by = "optional (tested with IsPresent)"
            else:
                provided_by = None
            row = {"key": key, "states": states, "provided": provided_by is not None,
                   "provided_by": provided_by,
                   "required_by_tools": self._source.required.get(key, []),
                   "via_functions": via.get(key, [])}
            rows.append(row)
            # Until an input is checked, keys no default provides are expected run input
            # (the table says so), not problems.
            if provided_by is None and given is not None and not shape_problems:
                input_problems.append(self._missing(key, states, given, via.get(key, [])))
        model["inputs"] = rows
        model["input_checked"] = given is not None
        self.problems = list(self.definition_problems) + input_problems
        model["problems"] = [p.to_dict() for p in self.problems]
        for node in model["nodes"]:
            node["problems"] = []
        for i, problem in enumerate(self.problems):
            targets = [problem.state] if problem.state else []
            if problem.code == "missing_input":
                targets = keys.get(problem.path[len("$.input."):], []) or targets
            for target in targets:
                node = self._nodes_by_id.get(target)
                if node is not None and i not in node["problems"]:
                    node["problems"].append(i)
        # Indexed once: scanning every problem for every edge was quadratic in the states.
        unknown_targets: dict[str, set[int]] = {}
        for i, p in enumerate(self.problems):
            if p.code == "unknown_target" and p.state is not None:
                unknown_targets.setdefault(p.state, set()).add(i)
        for edge in model["edges"]:
            node = self._nodes_by_id.get(edge["target"])
            if node is not None and node.get("missing"):
                node["problems"] = sorted(
                    unknown_targets.get(edge["source"], set()) | set(node["problems"]))

    def _missing(self, key: str, states: list[str], given: dict | None,
                 via: list[str] | None = None) -> Problem:
        shown = ", ".join(repr(s) for s in states[:4])
        readers = shown + (f" and {len(states) - 4} more" if len(states) > 4 else "")
        tools = self._source.required.get(key)
        who = f"State{'s' if len(states) != 1 else ''} {readers}" if states else (
            f"Tool{'s' if len(tools or []) != 1 else ''} {', '.join(repr(x) for x in tools or [])}")
        verb = "read" if len(states) != 1 else "reads"
        where = f" (in {', '.join(via)})" if via and len(via) == len(states) else ""
        if not states:
            verb = "require" if len(tools or []) != 1 else "requires"
        given = given or {}
        name = self.input_name
        message = (f"{who} {verb} $.input.{key}{where}, which {name} does not set. Add it "
                   f"to {_under(name)}.")
        renamed = [old for old, new in _RENAMED_KEYS.items() if new == key and old in given]
        close = difflib.get_close_matches(key, [k for k in given if k not in self._table_keys],
                                          n=1, cutoff=0.75)
        if renamed:
            message = (f"{who} {verb} $.input.{key}{where}, but {name} sets {renamed[0]!r} "
                       f"(the old gladier name); rename {renamed[0]!r} to {key!r} in the "
                       "run input.")
        elif close:
            message = (f"{who} {verb} $.input.{key}{where}, which {name} does not set; it "
                       f"sets {close[0]!r} — did you mean {key!r}?")
        return Problem("missing_input", message, f"$.input.{key}", states[0] if states else None)

    @property
    def inputs(self) -> list[dict[str, t.Any]]:
        return self.model["inputs"]

    @property
    def nodes(self) -> list[dict[str, t.Any]]:
        return self.model["nodes"]

    @property
    def edges(self) -> list[dict[str, t.Any]]:
        return self.model["edges"]

    def node(self, name: str) -> dict[str, t.Any]:
        return self._nodes_by_id[name]

    def states_in_order(self) -> list[str]:
        """State names in layer order (top to bottom), then left to right."""
        layout = self.layout()
        states = [n["id"] for n in self.nodes if n["kind"] not in ("start", "end")]
        return sorted(states, key=lambda s: (layout["nodes"][s]["y"], layout["nodes"][s]["x"]))

    # -- layout ---------------------------------------------------------------------------------
    def layout(self) -> dict[str, t.Any]:
        """Layered top-down coordinates (grandalf's Sugiyama layout) for the static drawing."""
        if self._layout is None:
            self._layout = _layout(self.model)
        return self._layout

    # -- exports --------------------------------------------------------------------------------
    def to_json(self) -> dict[str, t.Any]:
        return {"definition": self.definition, "graph": self.model}

    def to_svg(self) -> str:
        return _svg(self.model, self.layout())

    def to_mermaid(self) -> str:
        return _mermaid(self.model)

    def to_text(self) -> str:
        return _text(self.model, self.problems)


def build_graph(x: t.Any, flow_input: t.Any = None) -> FlowGraph:
    """The FlowGraph of x; with flow_input, its input is checked too."""
    return FlowGraph.build(x, flow_input)


def check_run_input(definition_or_client: t.Any, flow_input: t.Any, *,
                    include_definition: bool = True, name: str | None = None) -> list[Problem]:
    """Problems that would make a run of this flow with this input fail, before starting it.

    Every ``$.input.<key>`` a state reads (or a tool requires) that neither the input nor the
    client's defaults (tools' ``flow_input``, the ``<fn>_function_id`` keys gladier fills at
    run time) provide, naming the states that read it; and, with ``include_definition``, the
    definition's errors. Warnings are left out: these are reasons not to start. ``name`` is
    what the messages call the input (the user's variable), "the run input" by default.
    """
    graph = FlowGraph.build(definition_or_client, flow_input, name=name)
    problems = [p for p in graph.problems if p.severity == "error"]
    if not include_definition:
        problems = [p for p in problems if p.code in ("missing_input", "bad_input")]
    return problems

