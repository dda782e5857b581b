"""A flow definition as a graph: states, transitions, problems, required input, and exports.

``FlowGraph.build(x)`` takes a gladier client or tool (class or instance), a definition dict,
a JSON/YAML string or a path. Its ``model`` (plain JSON) is what the FlowPreview widget
draws; ``to_svg()`` / ``to_mermaid()`` / ``to_text()`` draw the same graph with no browser,
so saved notebooks, nbconvert HTML and GitHub show it. ``check_run_input`` is the pre-run
check ``%gladier_run`` uses.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import html
import inspect
import json
import pathlib
import textwrap
import typing as t

from gladier_jupyter import flowdef, flowtext
from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.flowdef import Problem

__all__ = [
    "FlowGraph",
    "build_graph",
    "check_run_input",
    "describe_rule",
    "function_input_keys",
    "load_definition",
    "START",
    "END",
]

#: Ids of the start and end marker nodes (not valid gladier state names, so no clash). With
#: several terminal states each gets its own end marker, ``"(end) <state>"``.
START = "(start)"
END = "(end)"

# Legacy gladier input names the flow may read under their new names.
_RENAMED_KEYS = {"funcx_endpoint_compute": "compute_endpoint", "funcx_endpoint_non_compute":
                 "compute_endpoint"}
_FUNCTION_KEYS = ("function.$", "function_id.$", "func.$")
_FUNCTION_SUFFIXES = ("_function_id", "_funcx_id")


# --------------------------------------------------------------------------- sources


@dataclasses.dataclass
class _Source:
    """Where a definition came from and what gladier knows beside it."""

    definition: t.Any
    name: str = "flow"
    tools: list[t.Any] = dataclasses.field(default_factory=list)
    functions: dict[str, tuple[t.Any, str]] = dataclasses.field(default_factory=dict)
    defaults: dict[str, str] = dataclasses.field(default_factory=dict)
    required: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    tool_of_state: dict[str, str] = dataclasses.field(default_factory=dict)
    problems: list[Problem] = dataclasses.field(default_factory=list)
    is_gladier: bool = False


def _looks_like_path(value: str | pathlib.Path) -> bool:
    return isinstance(value, pathlib.Path) or (
        isinstance(value, str)
        and "\n" not in value
        and not value.lstrip().startswith(("{", "["))
        and (value.endswith((".json", ".yaml", ".yml")) or pathlib.Path(value).is_file())
    )


def load_definition(text_or_path: str | pathlib.Path) -> t.Any:
    """A definition from a JSON or YAML string, or from a .json/.yaml file path.

    Paths are for Python callers only: text from a browser goes to
    :func:`gladier_jupyter.flowtext.parse_text`, which never opens a file.
    """
    if _looks_like_path(text_or_path):
        path = pathlib.Path(text_or_path).expanduser()
        if not path.is_file():
            raise GladierJupyterUsageError(
                f"Flow definition file {str(path)!r} does not exist; give an existing .json or "
                ".yaml file, a definition dict, or a gladier client or tool."
            )
        if path.stat().st_size > flowtext.MAX_TEXT_CHARS * 4:
            raise flowtext.UnsafeDefinitionError(
                f"Flow definition file {str(path)!r} is {path.stat().st_size / 1e6:.1f} MB, "
                "far more than a flow definition; give the right file.")
        return flowtext.parse_text(path.read_text(encoding="utf-8"),
                                   json_only=path.suffix == ".json",
                                   what=f"Flow definition file {path.name!r}")
    return flowtext.parse_text(t.cast(str, text_or_path))


def _unwrap(x: t.Any) -> tuple[t.Any, dict | None]:
    """(class, modifiers) for a class wrapped by gladier's @generate_flow_definition."""
    wrapped = getattr(x, "__wrapped__", None)
    if inspect.isfunction(x) and isinstance(wrapped, type):
        try:
            nonlocals = inspect.getclosurevars(x).nonlocals
        except (TypeError, ValueError):
            nonlocals = {}
        return wrapped, dict(nonlocals.get("modifiers") or {})
    return x, None


def _tool_functions(tool: t.Any) -> list[t.Any]:
    seen: list[t.Any] = []
    for attr in ("compute_functions", "funcx_functions"):
        for fn in getattr(tool, attr, None) or []:
            if callable(fn) and fn not in seen:
                seen.append(fn)
    return seen


def _tool_name(tool: t.Any) -> str:
    return type(tool).__name__


def _describe_tools(source: _Source, tools: list[t.Any]) -> None:
    """Fill functions, defaults, required input and state ownership from gladier tools."""
    owner: dict[str, str] = {}
    for tool in tools:
        name = _tool_name(tool)
        source.tools.append(tool)
        for fn in _tool_functions(tool):
            source.functions.setdefault(fn.__name__, (fn, name))
            # gladier registers each function at run time and passes its id under this key
            source.defaults.setdefault(f"{fn.__name__}_function_id", "function id")
        try:
            flow_input = tool.get_flow_input() if hasattr(tool, "get_flow_input") else {}
        except Exception:  # a broken tool still gets drawn; gladier reports it at run time
            flow_input = getattr(tool, "flow_input", {}) or {}
        for key in flow_input or {}:
            source.defaults.setdefault(key, f"{name}.flow_input")
        try:
            required = tool.get_required_input() if hasattr(tool, "get_required_input") else []
        except Exception:
            required = getattr(tool, "required_input", []) or []
        for key in required or []:
            source.required.setdefault(key, []).append(name)
        try:
            tool_def = tool.get_flow_definition()
        except Exception:
            tool_def = getattr(tool, "flow_definition", None)
        states = tool_def.get("States") if isinstance(tool_def, dict) else None
        for state in states or {}:
            if state in owner and owner[state] != name:
                source.problems.append(Problem(
                    "duplicate_state",
                    f"State {state!r} is defined by both tool {owner[state]!r} and tool "
                    f"{name!r}; gladier refuses duplicate state names. Rename one tool's state "
                    "(or give the tool an alias).",
                    flowdef.state_path(state), state))
            else:
                owner[state] = name
    source.tool_of_state = owner


def _tolerant_chain(tools: list[t.Any]) -> dict:
    """Chain tool flows like gladier's ToolChain, but keep going on duplicate names."""
    states: dict[str, t.Any] = {}
    start = None
    tails: list[str] = []
    for tool in tools:
        tool_def = tool.get_flow_definition() if hasattr(tool, "get_flow_definition") else None
        if not isinstance(tool_def, dict) or not isinstance(tool_def.get("States"), dict):
            continue
        new = copy.deepcopy(tool_def["States"])
        for tail in tails:
            if isinstance(states.get(tail), dict):
                states[tail].pop("End", None)
                states[tail]["Next"] = tool_def.get("StartAt")
        states.update(new)
        start = start or tool_def.get("StartAt")
        tails = list(getattr(tool, "flow_transition_states", None) or []) or [
            n for n, s in new.items() if isinstance(s, dict) and s.get("End")
        ]
    return {"StartAt": start, "States": states}


def _from_gladier(x: t.Any) -> _Source:
    import gladier
    from gladier.exc import StateNameConflict

    cls, modifiers = _unwrap(x)
    if isinstance(x, gladier.GladierBaseClient):
        cls = type(x)
    if isinstance(cls, type) and issubclass(cls, gladier.GladierBaseClient):
        # Never run the client's __init__: it builds login and service managers.
        client = x if isinstance(x, gladier.GladierBaseClient) else cls.__new__(cls)
        client._tools = getattr(client, "_tools", None)
        source = _Source(None, name=cls.__name__, is_gladier=True)
        tools = list(client.tools)
        _describe_tools(source, tools)
        static = getattr(client, "flow_definition", None)
        if modifiers is None and isinstance(static, (dict, str)):
            try:
                source.definition = client.get_flow_definition()
            except Exception as exc:
                raise GladierJupyterUsageError(
                    f"Client {cls.__name__!r} has an unusable flow_definition ({exc}); set it "
                    "to a definition dict or decorate the class with @generate_flow_definition."
                ) from None
        else:
            # @generate_flow_definition chains the tools' flows; do what it does
            from gladier.utils.flow_generation import combine_tool_flows

            try:
                source.definition = combine_tool_flows(client, modifiers or {})
            except StateNameConflict:
                source.definition = _tolerant_chain(tools)
            except Exception as exc:
                raise GladierJupyterUsageError(
                    f"Client {cls.__name__!r}'s tools do not chain into a flow ({exc}); give "
                    "every tool a flow_definition or compute functions."
                ) from None
        return source
    if isinstance(cls, type) and issubclass(cls, gladier.GladierBaseTool):
        tool = x() if modifiers is not None or x is cls else x
        return _from_gladier(tool)
    if isinstance(x, gladier.GladierBaseTool):
        source = _Source(None, name=_tool_name(x), is_gladier=True)
        _describe_tools(source, [x])
        definition = x.get_flow_definition()
        if definition is None and _tool_functions(x):
            from gladier.utils.flow_generation import generate_tool_flow

            definition = generate_tool_flow(x, {})
        if definition is None:
            raise GladierJupyterUsageError(
                f"Tool {_tool_name(x)!r} has no flow definition; decorate it with "
                "@generate_flow_definition (compute functions) or set flow_definition."
            )
        source.definition = definition
        return source
    base_state = getattr(gladier, "BaseState", None)
    if base_state is not None and isinstance(x, base_state):
        return _Source(x.get_flow_definition(),
                       name=getattr(x, "state_name", None) or type(x).__name__)
    raise GladierJupyterUsageError(
        f"Cannot preview {x!r}: give a gladier client or tool, a flow definition dict, a "
        "JSON/YAML string or a path to a .json/.yaml file."
    )


def _source(x: t.Any) -> _Source:
    if isinstance(x, FlowGraph):
        return x._source
    if isinstance(x, dict):
        return _Source(x)
    if isinstance(x, (str, pathlib.Path)):
        name = pathlib.Path(x).stem if _looks_like_path(x) else "flow"
        return _Source(load_definition(x), name=name)
    return _from_gladier(x)


# --------------------------------------------------------------------------- labels

_OPS = {"Equals": "==", "GreaterThan": ">", "GreaterThanEquals": ">=", "LessThan": "<",
        "LessThanEquals": "<=", "Matches": "matches"}


def _short_path(path: t.Any) -> str:
    return str(path)[2:] if isinstance(path, str) and path.startswith("$.") else str(path)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_rule(rule: t.Any, limit: int = 48) -> str:
    """Short form of a Choice rule: ``input.n >= 3``, ``not (mode present)``, ``a and b``."""

    def go(r: t.Any) -> str:
        if not isinstance(r, dict):
            return "?"
        for op, joiner in (("And", " and "), ("Or", " or ")):
            if isinstance(r.get(op), list):
                return joiner.join(f"({go(s)})" if len(r[op]) > 1 else go(s) for s in r[op])
        if "Not" in r:
            return f"not ({go(r['Not'])})"
        var = _short_path(r.get("Variable"))
        for key, value in r.items():
            if key in ("Variable", "Next") or key not in flowdef.CHOICE_COMPARATORS:
                continue
            if key.startswith("Is"):
                what = key[2:].lower()
                if what == "present":
                    return f"{var} {'present' if value else 'absent'}"
                return f"{var} is {'' if value else 'not '}{what}"
            base = key[:-4] if key.endswith("Path") else key
            for suffix, sym in sorted(_OPS.items(), key=lambda kv: -len(kv[0])):
                if base.endswith(suffix):
                    shown = _short_path(value) if key.endswith("Path") else json.dumps(value)
                    return f"{var} {sym} {shown}"
        return var

    return _clip(go(rule), limit)


def _action_kind(url: t.Any) -> tuple[str, str]:
    """(kind, caption) of an ActionUrl: compute, search, transfer or a plain action."""
    text = str(url or "").lower()
    if "compute" in text or "funcx" in text:
        return "compute", "Compute"
    if "search" in text:
        if "delete" in text:
            return "search", "Search delete"
        return "search", "Search ingest"
    if "transfer" in text:
        if "delete" in text:
            return "transfer", "Transfer delete"
        return "transfer", "Transfer"
    return "action", str(url or "no ActionUrl")


def _function_refs(params: t.Any) -> list[str]:
    """Input keys naming compute functions (``$.input.<x>_function_id``) in Parameters."""
    found: list[str] = []

    def walk(v: t.Any) -> None:
        if isinstance(v, dict):
            for k, sub in v.items():
                if k in _FUNCTION_KEYS and isinstance(sub, str):
                    key = flowdef.input_key(sub)
                    if key and key not in found:
                        found.append(key)
                else:
                    walk(sub)
        elif isinstance(v, list):
            for sub in v:
                walk(sub)

    walk(params)
    return found


def _passes_whole_input(params: t.Any) -> bool:
    """Whether a compute state hands the whole ``$.input`` to its function as keyword args."""
    if isinstance(params, dict):
        for key, value in params.items():
            if key in ("payload.$", "kwargs.$") and isinstance(value, str) and value.rstrip(".") == "$.input":
                return True
            if _passes_whole_input(value):
                return True
    elif isinstance(params, list):
        return any(_passes_whole_input(v) for v in params)
    return False


def function_input_keys(source: str) -> list[str]:
    """Keys a compute function requires from its keyword payload (gladier calls ``f(**payload)``).

    Parameters without defaults, and ``data["key"]`` lookups on its ``**data`` that every call
    makes; keys read with ``data.get(...)``, tested with ``in``, or looked up only inside
    if/for/try/with blocks are left out.
    """
    import ast

    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return []
    fn = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if fn is None:
        return []
    args = fn.args
    positional = args.posonlyargs + args.args
    required = [a.arg for a in positional[: len(positional) - len(args.defaults)]]
    required += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=False) if d is None]
    kw = args.kwarg.arg if args.kwarg else None
    if not kw:
        return required
    # Conservative, since %gladier_run refuses to start on these: only lookups every call
    # makes (simple statements at the top of the body, not inside if/for/try/with), and
    # never a key the function tests for ('x' in data) or reads with data.get('x').
    guarded = {
        node.left.value for node in ast.walk(fn)
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant)
        and any(isinstance(c, ast.Name) and c.id == kw for c in node.comparators)
    } | {
        node.args[0].value for node in ast.walk(fn)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name) and node.func.value.id == kw
        and node.args and isinstance(node.args[0], ast.Constant)
    }
    simple = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return, ast.Expr)
    for statement in fn.body:
        if not isinstance(statement, simple):
            continue
        for node in ast.walk(statement):
            if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
                    and node.value.id == kw and isinstance(node.slice, ast.Constant)
                    and isinstance(node.slice.value, str) and isinstance(node.ctx, ast.Load)
                    and node.slice.value not in required and node.slice.value not in guarded):
                required.append(node.slice.value)
    return required


def _function_name(key: str) -> str:
    for suffix in _FUNCTION_SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return key


def _function_info(fn: t.Any, tool: str) -> dict[str, t.Any]:
    try:
        src = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        src = None
    return {"name": fn.__name__, "tool": tool, "doc": inspect.getdoc(fn), "source": src}


# --------------------------------------------------------------------------- the graph


class FlowGraph:
    """A flow definition's graph model: nodes, edges, problems and the required-input table."""

    def __init__(self, source: _Source) -> None:
        self._source = source
        self.definition = source.definition
        self.name = source.name
        self.flow_input: dict | None = None
        self._layout: dict | None = None
        self.model = self._build()

    @classmethod
    def build(cls, x: t.Any, flow_input: t.Any = None) -> FlowGraph:
        """The graph of x (gladier client/tool, dict, JSON/YAML text or path)."""
        graph = cls(_source(x))
        if flow_input is not None:
            graph.check(flow_input)
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
                functions = []
                for key in _function_refs(state.get("Parameters")):
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
    def check(self, flow_input: t.Any) -> list[Problem]:
        """Check a run input against the flow; update the table and node marks; return problems."""
        self.flow_input = flow_input
        self._layout = None
        self._apply_inputs(self.model)
        return [p for p in self.problems if p.code in ("missing_input", "bad_input")]

    def _given(self) -> tuple[dict | None, list[Problem]]:
        flow_input = self.flow_input
        if flow_input is None:
            return None, []
        if isinstance(flow_input, dict) and isinstance(flow_input.get("input"), dict):
            extra = [k for k in flow_input if k != "input"]
            if extra:
                return flow_input["input"], [Problem(
                    "bad_input", f"The run input has top-level keys {extra} beside 'input'; "
                    "gladier's run_flow takes only {'input': {...}}. Move them inside 'input'.",
                    "$")]
            return flow_input["input"], []
        return None, [Problem(
            "bad_input", f"The run input {_clip(repr(flow_input), 60)} is not of the form "
            "{'input': {...}}; wrap the values: flow_input = {'input': {...}}.", "$")]

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
        message = (f"{who} {verb} $.input.{key}{where}, which flow_input does not set. Add it "
                   "to the run input.")
        renamed = [old for old, new in _RENAMED_KEYS.items() if new == key and old in given]
        close = difflib.get_close_matches(key, [k for k in given if k not in self._table_keys],
                                          n=1, cutoff=0.75)
        if renamed:
            message = (f"{who} {verb} $.input.{key}{where}, but flow_input sets {renamed[0]!r} "
                       f"(the old gladier name); rename {renamed[0]!r} to {key!r} in the "
                       "run input.")
        elif close:
            message = (f"{who} {verb} $.input.{key}{where}, which flow_input does not set; it "
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
                    include_definition: bool = True) -> list[Problem]:
    """Problems that would make a run of this flow with this input fail, before starting it.

    Every ``$.input.<key>`` a state reads (or a tool requires) that neither the input nor the
    client's defaults (tools' ``flow_input``, the ``<fn>_function_id`` keys gladier fills at
    run time) provide, naming the states that read it; and, with ``include_definition``, the
    definition's errors. Warnings are left out: these are reasons not to start.
    """
    graph = FlowGraph.build(definition_or_client, flow_input)
    problems = [p for p in graph.problems if p.severity == "error"]
    if not include_definition:
        problems = [p for p in problems if p.code in ("missing_input", "bad_input")]
    return problems


# --------------------------------------------------------------------------- layout

_NODE_W = 184
_NODE_H = 48
_MARK = 22  # start/end marker diameter


def _size(node: dict) -> tuple[float, float]:
    if node["kind"] in ("start", "end"):
        return _MARK, _MARK
    return _NODE_W, _NODE_H


_LABEL_ROOM_LIMIT = 80  # as in labextension/src/common/graph.ts


def _layout(model: dict) -> dict[str, t.Any]:
    """Layered coordinates with grandalf's Sugiyama layout.

    On small flows each labelled edge runs through a label-sized vertex, so the layering
    gives labels room of their own (as dagre does in the browser); big flows put labels on
    the edge's midpoint.
    """
    from grandalf.graphs import Edge, Graph, Vertex
    from grandalf.layouts import SugiyamaLayout

    class _View:
        def __init__(self, w: float, h: float) -> None:
            self.w, self.h = w, h
            self.xy = (0.0, 0.0)

    class _EdgeView:
        def __init__(self) -> None:
            self.points: list[tuple[float, float]] = []

        def setpath(self, pts: list) -> None:
            self.points = [tuple(p) for p in pts]

    vertices: dict[str, t.Any] = {}
    for node in model["nodes"]:
        v = Vertex(node["id"])
        v.view = _View(*_size(node))
        vertices[node["id"]] = v
    room = len(model["nodes"]) <= _LABEL_ROOM_LIMIT
    # per model edge: the chain of grandalf edges it is drawn along, and its label vertex
    chains: dict[str, list[t.Any]] = {}
    label_vertex: dict[str, t.Any] = {}
    grandalf_edges: list[t.Any] = []
    inverted: list[t.Any] = []
    seen_pairs: dict[tuple[str, str], t.Any] = {}

    def link(a: t.Any, b: t.Any, back: bool) -> t.Any:
        ge = Edge(a, b)
        ge.view = _EdgeView()
        grandalf_edges.append(ge)
        if back:
            inverted.append(ge)
        return ge

    # Only the first Catch into a state takes part in the layering (as in the browser): many
    # states catching into one handler would otherwise stretch long edges across the flow.
    caught: set[str] = set()
    deferred: set[str] = set()
    for e in model["edges"]:
        if e["source"] == e["target"]:
            continue
        if e["kind"] == "catch":
            if e["target"] in caught:
                deferred.add(e["id"])
                continue
            caught.add(e["target"])
        a, b = vertices[e["source"]], vertices[e["target"]]
        if room and e.get("label"):
            text = _clip(e["label"], 30)
            lv = Vertex(("label", e["id"]))
            lv.view = _View(len(text) * 5.8 + 10, 16)
            label_vertex[e["id"]] = lv
            chains[e["id"]] = [link(a, lv, bool(e.get("back"))), link(lv, b, bool(e.get("back")))]
        else:
            pair = (e["source"], e["target"])
            if pair not in seen_pairs:
                seen_pairs[pair] = link(a, b, bool(e.get("back")))
            chains[e["id"]] = [seen_pairs[pair]]
    all_vertices = list(vertices.values()) + list(label_vertex.values())
    graph = Graph(all_vertices, grandalf_edges)
    x_offset = 0.0
    for component in graph.C:
        sug = SugiyamaLayout(component)
        sug.xspace, sug.yspace = 30, 36 if room else 56
        roots = [v for v in component.sV if v.data == START] or [
            v for v in component.sV if not v.e_in()] or [component.sV[0]]
        # loops are drawn by inverting the edges that close them (found from the start)
        component_inverted = [ge for ge in inverted if ge in component.sE]
        sug.init_all(roots=roots, inverted_edges=component_inverted or None)
        sug.draw(3)
        xs = [v.view.xy[0] - v.view.w / 2 for v in component.sV]
        shift = x_offset - min(xs)
        for v in component.sV:
            v.view.xy = (v.view.xy[0] + shift, v.view.xy[1])
        for ge in component.sE:
            ge.view.points = [(x + shift, y) for x, y in ge.view.points]
        x_offset = max(v.view.xy[0] + v.view.w / 2 for v in component.sV) + 60
    pad = 24

    def box(v: t.Any) -> dict[str, float]:
        x, y = v.view.xy
        return {"x": x + pad, "y": y + pad, "w": v.view.w, "h": v.view.h}

    nodes_out = {nid: box(v) for nid, v in vertices.items()}

    def along(ge: t.Any, start: t.Any) -> list[tuple[float, float]]:
        raw = [(px + pad, py + pad) for px, py in ge.view.points]
        a = box(start)
        if not raw:
            return []
        if _dist(raw[0], (a["x"], a["y"])) > _dist(raw[-1], (a["x"], a["y"])):
            raw = raw[::-1]
        return raw

    edges_out = {}
    side = max((n["x"] + n["w"] / 2 for n in nodes_out.values()), default=0) + 24
    for e in model["edges"]:
        a, b = nodes_out[e["source"]], nodes_out[e["target"]]
        label_at = None
        if e["id"] in deferred:  # out of the source's right side, along the edge, into the handler
            x = side + (len(edges_out) % 6) * 6
            pts = [(a["x"] + a["w"] / 2, a["y"]), (x, a["y"]), (x, b["y"] + 6),
                   (b["x"] + b["w"] / 2, b["y"] + 6)]
            label_at = (a["x"] + a["w"] / 2 + 40, a["y"] - 8)
        elif e["source"] == e["target"]:  # self loop: a small arc on the right
            x, y, w = a["x"], a["y"], a["w"]
            pts = [(x + w / 2, y - 8), (x + w / 2 + 30, y - 8), (x + w / 2 + 30, y + 8),
                   (x + w / 2, y + 8)]
            label_at = (x + w / 2 + 34, y)
        else:
            chain = chains[e["id"]]
            if e["id"] in label_vertex:
                lv = label_vertex[e["id"]]
                lb = box(lv)
                first = along(chain[0], vertices[e["source"]])
                second = along(chain[1], lv)
                pts = ([(a["x"], a["y"])] + first[1:-1] + [(lb["x"], lb["y"])] + second[1:-1]
                       + [(b["x"], b["y"])])
                label_at = (lb["x"], lb["y"])
            else:
                raw = along(chain[0], vertices[e["source"]])
                pts = [(a["x"], a["y"])] + raw[1:-1] + [(b["x"], b["y"])]
            pts[0] = _clip_to_box(pts[0], pts[1], a)
            pts[-1] = _clip_to_box(pts[-1], pts[-2], b)
        out = {"points": [(round(x, 1), round(y, 1)) for x, y in pts]}
        if label_at is not None:
            out["label_at"] = (round(label_at[0], 1), round(label_at[1], 1))
        edges_out[e["id"]] = out
    boxes = list(nodes_out.values()) + [box(v) for v in label_vertex.values()]
    width = max((n["x"] + n["w"] / 2 for n in boxes), default=0) + pad + 40
    if deferred:
        width = max(width, side + 36 + pad)
    height = max((n["y"] + n["h"] / 2 for n in boxes), default=0) + pad
    return {"nodes": nodes_out, "edges": edges_out, "width": width, "height": height}


def _dist(p: tuple[float, float], q: tuple[float, float]) -> float:
    return abs(p[0] - q[0]) + abs(p[1] - q[1])


def _clip_to_box(center: tuple[float, float], toward: tuple[float, float], box: dict
                 ) -> tuple[float, float]:
    """Where the segment from a box's centre toward a point leaves the box."""
    cx, cy = center
    dx, dy = toward[0] - cx, toward[1] - cy
    if dx == 0 and dy == 0:
        return center
    hw, hh = box["w"] / 2, box["h"] / 2
    scale = min(hw / abs(dx) if dx else float("inf"), hh / abs(dy) if dy else float("inf"))
    return cx + dx * scale, cy + dy * scale


# --------------------------------------------------------------------------- SVG

# Colours follow JupyterLab's theme variables, with light-theme fallbacks for places with
# no JupyterLab (GitHub, nbconvert HTML). Keep in step with labextension/src/common/theme.ts.
_KIND_STYLE = {  # (fill, stroke): translucent tints keep theme text legible, light or dark
    "compute": ("rgba(30,136,229,0.18)", "#1e88e5"),
    "search": ("rgba(126,87,194,0.18)", "#7e57c2"),
    "transfer": ("rgba(0,137,123,0.18)", "#00897b"),
    "action": ("rgba(96,125,139,0.18)", "#607d8b"),
    "pass": ("rgba(158,158,158,0.14)", "#9e9e9e"),
    "choice": ("rgba(249,168,37,0.2)", "#f9a825"),
    "wait": ("rgba(251,140,0,0.18)", "#fb8c00"),
    "fail": ("rgba(229,57,53,0.18)", "#e53935"),
    "expression": ("rgba(171,71,188,0.18)", "#ab47bc"),
    "unknown": ("rgba(117,117,117,0.12)", "#757575"),
    "missing": ("none", "var(--jp-error-color1, #d32f2f)"),
}
_TEXT = "var(--jp-ui-font-color1, #212121)"
_MUTED = "var(--jp-ui-font-color2, #616161)"
_EDGE = "var(--jp-ui-font-color2, #757575)"
_ERROR = "var(--jp-error-color1, #d32f2f)"
_WARN = "var(--jp-warn-color1, #f57c00)"
_BG = "var(--jp-layout-color0, #ffffff)"
_FONT = "var(--jp-ui-font-family, system-ui, -apple-system, 'Segoe UI', sans-serif)"


def _shape(kind: str, x: float, y: float, w: float, h: float, style: str) -> str:
    left, top, right, bottom = x - w / 2, y - h / 2, x + w / 2, y + h / 2
    if kind == "start":
        return f'<circle cx="{x}" cy="{y}" r="{w / 2}" style="fill:{_TEXT}"/>'
    if kind == "end":
        return (f'<circle cx="{x}" cy="{y}" r="{w / 2}" style="fill:none;stroke:{_TEXT};'
                f'stroke-width:2"/><circle cx="{x}" cy="{y}" r="{w / 2 - 5}" style="fill:{_TEXT}"/>')
    if kind == "choice":
        d = 14
        pts = [(left + d, top), (right - d, top), (right, y), (right - d, bottom),
               (left + d, bottom), (left, y)]
        return f'<polygon points="{_pts(pts)}" style="{style}"/>'
    if kind == "fail":
        d = 10
        pts = [(left + d, top), (right - d, top), (right, top + d), (right, bottom - d),
               (right - d, bottom), (left + d, bottom), (left, bottom - d), (left, top + d)]
        return f'<polygon points="{_pts(pts)}" style="{style}"/>'
    if kind == "expression":
        d = 12
        pts = [(left + d, top), (right, top), (right - d, bottom), (left, bottom)]
        return f'<polygon points="{_pts(pts)}" style="{style}"/>'
    rx = {"wait": h / 2, "pass": 2, "missing": 4}.get(kind, 10)
    dash = ";stroke-dasharray:5 3" if kind == "missing" else ""
    return (f'<rect x="{left}" y="{top}" width="{w}" height="{h}" rx="{rx}" '
            f'style="{style}{dash}"/>')


def _along(points: list, fraction: float) -> tuple[float, float]:
    """The point a fraction of the way along a polyline."""
    lengths = [abs(b[0] - a[0]) + abs(b[1] - a[1]) for a, b in zip(points, points[1:], strict=False)]
    goal = sum(lengths) * fraction
    for (a, b), length in zip(zip(points, points[1:], strict=False), lengths, strict=False):
        if goal <= length and length:
            f = goal / length
            return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
        goal -= length
    return points[-1]


def _pts(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{round(px, 1)},{round(py, 1)}" for px, py in points)


def _esc(text: t.Any) -> str:
    return html.escape(str(text), quote=True)


def _svg(model: dict, layout: dict) -> str:
    width, height = round(layout["width"]), round(layout["height"])
    problems = model.get("problems", [])
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gj-flow-svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Flow {_esc(model.get("name"))}: {sum(1 for n in model["nodes"] if n["kind"] not in ("start", "end"))} states" '
        f'style="font-family:{_FONT};font-size:12px">',
        f"<title>Flow {_esc(model.get('name'))}</title>",
        # a backdrop, so the drawing stays legible where it lands on a dark page as an image
        f'<rect class="gj-backdrop" width="100%" height="100%" style="fill:{_BG}"/>',
        '<defs><marker id="gj-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        f'style="fill:{_EDGE}"/></marker></defs>',
    ]
    for edge in model["edges"]:
        pts = layout["edges"][edge["id"]]["points"]
        dash = ";stroke-dasharray:6 4" if edge["kind"] == "catch" else ""
        colour = _WARN if edge["kind"] == "catch" else _EDGE
        path = "M" + " L".join(f"{x},{y}" for x, y in pts)
        out.append(f'<path class="gj-edge gj-edge-{edge["kind"]}" data-source="{_esc(edge["source"])}" '
                   f'data-target="{_esc(edge["target"])}" d="{path}" style="fill:none;stroke:{colour};'
                   f'stroke-width:1.4{dash}" marker-end="url(#gj-arrow)"/>')
        if edge.get("label"):
            mid = layout["edges"][edge["id"]].get("label_at") or _along(pts, 0.55)
            out.append(f'<text x="{round(mid[0], 1)}" y="{round(mid[1] + 3, 1)}" '
                       f'text-anchor="middle" style="fill:{_MUTED};font-size:10px;'
                       f'paint-order:stroke;stroke:{_BG};stroke-width:3px">'
                       f'<title>{_esc(edge["label"])}</title>{_esc(_clip(edge["label"], 30))}</text>')
    for node in model["nodes"]:
        box = layout["nodes"][node["id"]]
        x, y, w, h = box["x"], box["y"], box["w"], box["h"]
        kind = node["kind"]
        fill, stroke = _KIND_STYLE.get(kind, _KIND_STYLE["unknown"])
        node_problems = [problems[i] for i in node.get("problems", []) if i < len(problems)]
        worst = "error" if any(p["severity"] == "error" for p in node_problems) else (
            "warning" if node_problems else None)
        width_px = 2.5 if worst else 1.4
        stroke = _ERROR if worst == "error" else _WARN if worst == "warning" else stroke
        style = f"fill:{fill};stroke:{stroke};stroke-width:{width_px}"
        title = node["id"] if kind not in ("start", "end") else kind
        tip = "; ".join(p["message"] for p in node_problems)
        out.append(f'<g class="gj-node gj-kind-{kind}" data-name="{_esc(node["id"])}">'
                   f"<title>{_esc(title + (': ' + tip if tip else ''))}</title>")
        out.append(_shape(kind, round(x, 1), round(y, 1), w, h, style))
        if kind not in ("start", "end"):
            out.append(f'<text x="{round(x, 1)}" y="{round(y - 3, 1)}" text-anchor="middle" '
                       f'style="fill:{_TEXT};font-weight:600">{_esc(_clip(node["label"], 26))}</text>')
            caption = node.get("caption") or ("not defined" if kind == "missing" else "")
            out.append(f'<text x="{round(x, 1)}" y="{round(y + 12, 1)}" text-anchor="middle" '
                       f'style="fill:{_MUTED};font-size:10px">{_esc(_clip(caption, 32))}</text>')
        if worst:
            bx, by = x + w / 2 - 2, y - h / 2 + 2
            out.append(f'<circle cx="{round(bx, 1)}" cy="{round(by, 1)}" r="8" style="fill:'
                       f'{_ERROR if worst == "error" else _WARN}"/><text x="{round(bx, 1)}" '
                       f'y="{round(by + 4, 1)}" text-anchor="middle" style="fill:#fff;'
                       f'font-size:11px;font-weight:700">{len(node_problems)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


# --------------------------------------------------------------------------- mermaid / text


# Mermaid entity codes (``#quot;``, ``#60;``): mermaid turns each into the character as
# text, so a state name can neither end the quoted label nor become HTML in it; '#' is
# coded too, so a name that spells an entity code shows as written. Inside the quotes,
# brackets, pipes and semicolons are plain text to mermaid.
_MERMAID_CODES = {ord(c): f"#{ord(c)};" for c in '#&<>`'}
_MERMAID_CODES.update({ord("\n"): " ", ord("\r"): " ", ord('"'): "#quot;"})


def _mermaid_text(text: t.Any) -> str:
    """Text as a mermaid label shows it: every character mermaid or HTML would read coded."""
    return str(text).translate(_MERMAID_CODES)


def _mermaid(model: dict) -> str:
    ids = {n["id"]: f"n{i}" for i, n in enumerate(model["nodes"])}

    def q(label: str) -> str:
        # ``label`` is already coded (it may hold the <br/><small> markup added below).
        return '"' + label + '"'

    lines = ["flowchart TD"]
    for node in model["nodes"]:
        nid, kind = ids[node["id"]], node["kind"]
        label = _mermaid_text(node["label"])
        text = label if kind in ("start", "end") or not node.get("caption") else (
            f"{label}<br/><small>{_mermaid_text(node['caption'])}</small>")
        shape = {
            "start": f"{nid}(({q('start')}))",
            "end": f"{nid}((({q('end')})))",
            "choice": f"{nid}{{{q(text)}}}",
            "wait": f"{nid}([{q(text)}])",
            "fail": f"{nid}[[{q(text)}]]",
            "expression": f"{nid}[/{q(text)}/]",
            "pass": f"{nid}[{q(text)}]",
            "missing": f"{nid}[{q(text + ' (not defined)')}]",
        }.get(kind, f"{nid}({q(text)})")
        lines.append(f"  {shape}")
    for edge in model["edges"]:
        arrow = "-.->" if edge["kind"] == "catch" else "-->"
        label = f"|{q(_mermaid_text(edge['label']))}|" if edge.get("label") else ""
        lines.append(f"  {ids[edge['source']]} {arrow}{label} {ids[edge['target']]}")
    problems = model.get("problems", [])
    bad = [ids[n["id"]] for n in model["nodes"]
           if any(problems[i]["severity"] == "error" for i in n.get("problems", []))]
    if bad:
        lines.append("  classDef problem stroke:#d32f2f,stroke-width:3px")
        lines.append(f"  class {','.join(bad)} problem")
    return "\n".join(lines) + "\n"


def _text(model: dict, problems: list[Problem]) -> str:
    states = [n for n in model["nodes"] if n["kind"] not in ("start", "end", "missing")]
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    lines = [f"Flow {model.get('name')}: {len(states)} state{'s' if len(states) != 1 else ''}, "
             f"starts at {model.get('start')}; {errors} error{'s' if errors != 1 else ''}, "
             f"{warnings} warning{'s' if warnings != 1 else ''}"]
    out_edges: dict[str, list[dict]] = {}
    for e in model["edges"]:
        out_edges.setdefault(e["source"], []).append(e)
    for node in states:
        nexts = []
        for e in out_edges.get(node["id"], []):
            if e["kind"] == "end":
                nexts.append("END")
            elif e["kind"] in ("choice", "catch") and e.get("label"):
                nexts.append(f"{e['target']} [{e['kind']}: {e['label']}]")
            elif e["kind"] == "default":
                nexts.append(f"{e['target']} [default]")
            else:
                nexts.append(e["target"])
        lines.append(f"  {node['id']} ({node.get('caption')}) -> {', '.join(nexts) or '-'}")
    if model.get("inputs"):
        lines.append("Input read:")
        for row in model["inputs"]:
            status = row["provided_by"] or "MISSING"
            lines.append(f"  $.input.{row['key']}: {status} (read by "
                         f"{', '.join(row['states']) or 'tool requirement'})")
    for p in problems:
        lines.append(f"  {p.severity.upper()} {p.code} at {p.path}: {p.message}")
    return "\n".join(lines)
