"""Static checks of a Globus flow definition: problems, JSONPaths read, required input.

A leaf module (it imports nothing from the package but ``errors`` and ``jsonpath``, the
JSONPath parser it shares with the engine) used by the flow preview, ``%gladier_run``'s
pre-run check and the local service's flow engine. The rules are
those of the Globus flow language (the Amazon States Language subset Globus Flows accepts:
Action, Pass, Choice, Wait, Fail and ExpressionEval states).
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import re
import typing as t

from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.jsonpath import JSONPathError, Path, compile_path

__all__ = [
    "Problem",
    "STATE_TYPES",
    "CHOICE_COMPARATORS",
    "validate",
    "errors",
    "input_paths",
    "required_input_keys",
    "optional_input_keys",
    "parse_jsonpath",
    "parse_expression",
    "check_expression",
    "UnsafeExpressionError",
    "EXPRESSION_FUNCTIONS",
    "expression_paths",
    "input_key",
    "state_path",
    "transitions",
]

STATE_TYPES = frozenset({"Action", "Pass", "Choice", "Wait", "Fail", "ExpressionEval",
                         # Flows Web Inputs (globus/globus-flows-examples, web_input_examples/)
                         "CreateWebInput", "AwaitWebInput"})

_VALUE_COMPARATORS = {
    "BooleanEquals": bool,
    "NumericEquals": (int, float),
    "NumericGreaterThan": (int, float),
    "NumericGreaterThanEquals": (int, float),
    "NumericLessThan": (int, float),
    "NumericLessThanEquals": (int, float),
    "StringEquals": str,
    "StringGreaterThan": str,
    "StringGreaterThanEquals": str,
    "StringLessThan": str,
    "StringLessThanEquals": str,
    "StringMatches": str,
    "TimestampEquals": str,
    "TimestampGreaterThan": str,
    "TimestampGreaterThanEquals": str,
    "TimestampLessThan": str,
    "TimestampLessThanEquals": str,
}
_TYPE_TESTS = ("IsBoolean", "IsNull", "IsNumeric", "IsPresent", "IsString", "IsTimestamp")
#: Every comparison a Choice rule may use (``…Path`` variants compare with another path).
CHOICE_COMPARATORS = frozenset(
    set(_VALUE_COMPARATORS)
    | {f"{name}Path" for name in _VALUE_COMPARATORS if name != "StringMatches"}
    | set(_TYPE_TESTS)
)
_WAIT_FIELDS = ("Seconds", "SecondsPath", "Timestamp", "TimestampPath")
_TERMINAL_TYPES = frozenset({"Fail"})
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition (or a run's input), and where it is.

    ``code`` is stable (tests and the front end key on it), ``path`` is a JSONPath into the
    definition such as ``$.States.Foo.Next``, ``state`` the state it belongs to, if any.
    """

    code: str
    message: str
    path: str
    state: str | None = None
    severity: str = "error"  # 'error' | 'warning'

    def to_dict(self) -> dict[str, t.Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- paths


def _key(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENT.match(key):
        return f"{path}.{key}"
    return f"{path}[{key!r}]"


def state_path(name: str, *keys: str | int) -> str:
    """JSONPath of a state (or a field inside it) within the definition."""
    path = _key("$.States", name)
    for key in keys:
        path = _key(path, key)
    return path


def parse_jsonpath(expr: t.Any) -> Path:
    """Parse a flow JSONPath (``$.a.b[0]``) as the engine does; raise a usage error if bad."""
    try:
        return compile_path(expr)
    except JSONPathError as exc:
        raise GladierJupyterUsageError(str(exc)) from None


# A backtick path (`$.a.b`, Authoring Flows -> Expressions) parses as the name it reads;
# string literals are matched first so a backtick inside one is left alone.
_BACKTICK = re.compile(r"""('(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")|`\s*\$((?:\.[A-Za-z_]\w*)+)\s*`|`[^`]*`""")


def _unbacktick(expr: str) -> str:
    return _BACKTICK.sub(lambda m: m.group(1) or f" {m.group(2)[1:] if m.group(2) else '_backtick_path'} ", expr)


def parse_expression(expr: str) -> ast.Expression:
    """Parse a ``.=`` expression (Python expression syntax, evaluated safely by the engine)."""
    if not isinstance(expr, str):
        raise GladierJupyterUsageError(
            f"Expression {expr!r} is not a string; a '.=' value is an expression string such "
            "as 'input.count + 1'."
        )
    try:
        tree = ast.parse(_unbacktick(expr).strip(), mode="eval")
    except SyntaxError as exc:
        raise GladierJupyterUsageError(
            f"Expression {_shown(expr)} is not valid expression syntax ({exc.msg}); write it like "
            "'input.count + 1' or '\"prefix-\" + input.name'."
        ) from None
    except (RecursionError, MemoryError):  # CPython's parser gives up on very deep nesting
        tree = None
    if tree is None or _too_deep(tree):
        raise GladierJupyterUsageError(
            f"Expression {_shown(expr)} is nested more than {MAX_EXPRESSION_DEPTH} levels deep, "
            "which the flow engine refuses; split it over several states or Parameters."
        )
    return tree


#: Deepest ``.=`` expression tree the engine evaluates (``local.expressions.MAX_DEPTH``).
MAX_EXPRESSION_DEPTH = 100


def _too_deep(tree: ast.AST) -> bool:
    todo = [(tree, 1)]
    while todo:  # no recursion: the tree may be thousands of levels deep
        node, depth = todo.pop()
        if depth > MAX_EXPRESSION_DEPTH:
            return True
        todo.extend((child, depth + 1) for child in ast.iter_child_nodes(node)
                    if not isinstance(child, (ast.expr_context, ast.operator, ast.boolop,
                                              ast.unaryop, ast.cmpop)))
    return False


def _shown(expr: str, limit: int = 80) -> str:
    text = repr(expr)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


#: The functions a ``.=`` expression may call by name: the engine's evaluator table
#: (``gladier_jupyter.local.expressions``) plus the compound-type constructors simpleeval adds.
EXPRESSION_FUNCTIONS = frozenset(
    {"len", "str", "int", "float", "bool", "abs", "min", "max", "sum", "round", "sorted",
     "list", "dict", "tuple", "set", "any", "all", "range", "enumerate", "zip", "ceil",
     "floor", "pathsplit", "pathjoin", "basename", "dirname", "getattr", "is_present"}
)
# Expression syntax the evaluator can evaluate (anything else it refuses whatever the input).
_EXPRESSION_NODES = (
    ast.Expression, ast.Name, ast.Constant, ast.UnaryOp, ast.BinOp, ast.BoolOp, ast.Compare,
    ast.IfExp, ast.Call, ast.keyword, ast.Subscript, ast.Attribute, ast.Slice, ast.JoinedStr,
    ast.FormattedValue, ast.Dict, ast.Tuple, ast.List, ast.Set, ast.ListComp,
    ast.GeneratorExp, ast.DictComp, ast.comprehension, ast.expr_context, ast.boolop,
    ast.unaryop, ast.cmpop,
)
_EXPRESSION_BINOPS = (
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.RShift, ast.LShift, ast.Pow,
    ast.Mod, ast.BitXor, ast.BitOr, ast.BitAnd,
)
_SYNTAX_NAMES = {
    "Lambda": "a lambda", "NamedExpr": "an assignment expression (:=)",
    "SetComp": "a set comprehension", "Starred": "star unpacking (*x) outside a list",
    "Await": "await", "Yield": "yield", "YieldFrom": "yield from",
    "MatMult": "the @ operator",
}
_FIX_NAMES = (
    "use the state's input keys (such as 'input.name') and the expression functions "
    "len, str, int, min, max, pathjoin and the like"
)


class UnsafeExpressionError(GladierJupyterUsageError):
    """A ``.=`` expression that parses but reaches for what the engine's evaluator refuses."""


def check_expression(expr: str) -> None:
    """Refuse a ``.=`` expression the engine's safe evaluator would refuse whatever the input.

    The same rules as ``gladier_jupyter.local.expressions``: no imports, no names starting
    with ``__``, no attributes starting with ``_``, calls only of the expression functions
    (by name) or of methods, no lambdas or other syntax the evaluator lacks. What depends on
    the run's input (a name the input does not set, a method of a non-string) is left to
    the run. Raises :class:`UnsafeExpressionError` with one line; ill-formed syntax raises
    :func:`parse_expression`'s error.
    """
    shown = repr(expr)
    if isinstance(expr, str) and len(shown) > 80:
        shown = shown[:77] + "..."
    if isinstance(expr, str):
        try:
            module = ast.parse(_unbacktick(expr).strip())
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            module = None
        if module is not None and module.body and isinstance(
                module.body[0], (ast.Import, ast.ImportFrom)):
            raise UnsafeExpressionError(
                f"Expression {shown} is an import, which flow expressions refuse (they cannot "
                f"load modules); {_FIX_NAMES}."
            )
    tree = parse_expression(expr)
    bound = {n.id for c in ast.walk(tree) if isinstance(c, ast.comprehension)
             for n in ast.walk(c.target) if isinstance(n, ast.Name)}

    def refuse(what: str, rule: str, fix: str) -> t.NoReturn:
        raise UnsafeExpressionError(
            f"Expression {shown} {what}, which the flow engine's safe evaluator refuses "
            f"({rule}); {fix}."
        )

    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id.startswith("__") and node.id not in bound:
            refuse(f"uses the name {node.id!r}", "names starting with '__' are refused",
                   _FIX_NAMES)
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            refuse(f"reaches for the attribute {node.attr!r}",
                   "attributes starting with '_' are refused",
                   "read plain values such as 'input.name' or 'obj.key' instead")
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                if node.func.id not in EXPRESSION_FUNCTIONS:
                    refuse(f"calls {node.func.id!r}",
                           "only the expression functions and methods can be called",
                           "call only " + ", ".join(sorted(EXPRESSION_FUNCTIONS))
                           + " or a method such as name.upper()")
            elif isinstance(node.func, ast.Attribute):
                receiver = node.func.value
                if node.func.attr in ("format", "format_map") and (
                        isinstance(receiver, ast.JoinedStr) or isinstance(
                            receiver, ast.Constant) and isinstance(receiver.value, str)):
                    refuse(f"calls str.{node.func.attr}", "it can reach attributes",
                           "build the string with '+' and str(), e.g. 'run-' + str(input.n)")
            else:
                what = "a lambda" if isinstance(node.func, ast.Lambda) else "a computed value"
                refuse(f"calls {what}", "only named functions and methods can be called",
                       "call an expression function by name (len(x), pathjoin(a, b)) or a "
                       "method such as name.upper()")
        elif isinstance(node, ast.Starred) and _in_list(tree, node):
            continue
        elif isinstance(node, ast.operator) and not isinstance(node, _EXPRESSION_BINOPS):
            kind = type(node).__name__
            refuse(f"uses {_SYNTAX_NAMES.get(kind, kind)}", "the operator is not supported",
                   "rewrite it with + - * / // % ** and the bitwise operators")
        elif not isinstance(node, _EXPRESSION_NODES + (ast.operator,)):
            kind = type(node).__name__
            refuse(f"uses {_SYNTAX_NAMES.get(kind, kind)}", "the syntax is not supported",
                   "write it as a plain expression of input values, operators, "
                   "comprehensions and expression functions")


def _in_list(tree: ast.AST, node: ast.AST) -> bool:
    return any(isinstance(n, ast.List) and node in n.elts for n in ast.walk(tree))


def expression_paths(expr: str) -> list[str]:
    """The JSONPaths an ``.=`` expression reads: ``input.count + 1`` reads ``$.input.count``."""
    try:
        tree = parse_expression(expr)
    except GladierJupyterUsageError:
        return []
    found: list[str] = []
    consumed: set[int] = set()
    for node in ast.walk(tree):
        if id(node) in consumed:
            continue
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Name)):
            parts: list[str] = []
            cur: ast.AST = node
            chain: list[ast.AST] = []
            while True:
                chain.append(cur)
                if isinstance(cur, ast.Attribute):
                    parts.append(cur.attr)
                    cur = cur.value
                elif isinstance(cur, ast.Subscript) and isinstance(cur.slice, ast.Constant):
                    value = cur.slice.value
                    parts.append(value if isinstance(value, str) else f"[{value}]")
                    cur = cur.value
                else:
                    break
            if isinstance(cur, ast.Name):
                chain.append(cur)
                consumed.update(id(n) for n in chain)
                path = "$." + cur.id
                for part in reversed(parts):
                    path = path + part if part.startswith("[") else _key(path, part)
                if path not in found:
                    found.append(path)
    return [p for p in found if p.split(".")[1] not in _EXPRESSION_BUILTINS]


_EXPRESSION_BUILTINS = frozenset(
    {"True", "False", "None", "len", "str", "int", "float", "bool", "abs", "min", "max",
     "round", "sum", "list", "dict", "sorted", "range", "pathsplit", "pathjoin", "getattr"}
)


def input_key(path: str) -> str | None:
    """The ``$.input.<key>`` key a JSONPath reads, or None (``$.input`` itself gives None)."""
    try:
        leading = parse_jsonpath(path).leading
    except GladierJupyterUsageError:
        return None
    if len(leading) >= 2 and leading[0] == "input" and isinstance(leading[1], str):
        return leading[1]
    return None


def _join(base: str | None, rel: str) -> str:
    """The absolute path of ``rel`` read after ``InputPath`` ``base`` selected the input."""
    if not base or base == "$" or not rel.startswith("$"):
        return rel
    return base + rel[1:]


# --------------------------------------------------------------------------- walking


def _walk_params(value: t.Any, path: str) -> t.Iterator[tuple[str, str, t.Any]]:
    """Yield (kind, path, value) for every ``.$`` / ``.=`` entry in a Parameters tree."""
    if isinstance(value, dict):
        for key, sub in value.items():
            sub_path = _key(path, key)
            if isinstance(key, str) and key.endswith(".$"):
                yield "$", sub_path, sub
            elif isinstance(key, str) and key.endswith(".="):
                yield "=", sub_path, sub
            else:
                yield from _walk_params(sub, sub_path)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _walk_params(sub, _key(path, i))


def _walk_rule(rule: t.Any, path: str) -> t.Iterator[tuple[str, str, t.Any]]:
    """Yield (field, path, value) for every path-valued field of a Choice rule, nested too."""
    if not isinstance(rule, dict):
        return
    if "Variable" in rule:
        yield "Variable", _key(path, "Variable"), rule["Variable"]
    for op in ("And", "Or"):
        if isinstance(rule.get(op), list):
            for i, sub in enumerate(rule[op]):
                yield from _walk_rule(sub, _key(_key(path, op), i))
    if "Not" in rule:
        yield from _walk_rule(rule["Not"], _key(path, "Not"))
    for op, val in rule.items():
        if op.endswith("Path") and op in CHOICE_COMPARATORS:
            yield op, _key(path, op), val


def transitions(state: dict) -> list[tuple[str, str, t.Any]]:
    """Every (kind, field path relative to the state, target) transition out of a state.

    kind is 'next', 'choice', 'default' or 'catch'; field path is like ``Choices[0].Next``.
    """
    out: list[tuple[str, str, t.Any]] = []
    if not isinstance(state, dict):
        return out
    if "Next" in state:
        out.append(("next", "Next", state["Next"]))
    if isinstance(state.get("Choices"), list):
        for i, rule in enumerate(state["Choices"]):
            if isinstance(rule, dict) and "Next" in rule:
                out.append(("choice", f"Choices[{i}].Next", rule["Next"]))
    if "Default" in state:
        out.append(("default", "Default", state["Default"]))
    if isinstance(state.get("Catch"), list):
        for i, catcher in enumerate(state["Catch"]):
            if isinstance(catcher, dict) and "Next" in catcher:
                out.append(("catch", f"Catch[{i}].Next", catcher["Next"]))
    return out


def _is_terminal(state: t.Any) -> bool:
    return isinstance(state, dict) and (
        state.get("Type") in _TERMINAL_TYPES or state.get("End") is True
    )


# --------------------------------------------------------------------------- reads


def input_paths(definition: t.Any) -> dict[str, list[str]]:
    """The JSONPaths (absolute, InputPath applied) each state reads from the flow's state.

    Covers InputPath, Parameters ``.$`` values, names used in ``.=`` expressions, Choice
    ``Variable`` and ``…Path`` comparisons, and Wait ``SecondsPath``/``TimestampPath``.
    """
    out: dict[str, list[str]] = {}
    states = definition.get("States") if isinstance(definition, dict) else None
    if not isinstance(states, dict):
        return out
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        found: list[str] = []

        def add(p: t.Any, found: list[str] = found) -> None:
            if isinstance(p, str) and p.startswith("$") and p not in found:
                found.append(p)

        base = state.get("InputPath") if isinstance(state.get("InputPath"), str) else None
        if base is not None:
            add(base)
        for kind, _path, value in _walk_params(state.get("Parameters"), "$"):
            if kind == "$" and isinstance(value, str):
                add(_join(base, value))
            elif kind == "=" and isinstance(value, str):
                for p in expression_paths(value):
                    add(_join(base, p))
        if isinstance(state.get("Parameters"), str):  # gladier's default "$.input." string
            add(_join(base, state["Parameters"].rstrip(".")))
        for rule in state.get("Choices") or [] if isinstance(state.get("Choices"), list) else []:
            for _field, _p, value in _walk_rule(rule, "$"):
                add(value)
        for field in ("SecondsPath", "TimestampPath"):
            add(state.get(field))
        out[name] = found
    return out


def required_input_keys(definition: t.Any) -> dict[str, list[str]]:
    """Each ``$.input.<key>`` the flow reads, mapped to the states (in definition order) reading it."""
    out: dict[str, list[str]] = {}
    for state, paths in input_paths(definition).items():
        for p in paths:
            key = input_key(p)
            if key is not None:
                readers = out.setdefault(key, [])
                if state not in readers:
                    readers.append(state)
    return out


def optional_input_keys(definition: t.Any) -> set[str]:
    """``$.input`` keys a Choice tests with ``IsPresent``: the flow handles their absence."""
    found: set[str] = set()

    def walk(rule: t.Any) -> None:
        if not isinstance(rule, dict):
            return
        if "IsPresent" in rule and isinstance(rule.get("Variable"), str):
            key = input_key(rule["Variable"])
            if key:
                found.add(key)
        for op in ("And", "Or"):
            for sub in rule.get(op) or [] if isinstance(rule.get(op), list) else []:
                walk(sub)
        walk(rule.get("Not"))

    states = definition.get("States") if isinstance(definition, dict) else None
    for state in (states or {}).values() if isinstance(states, dict) else []:
        if isinstance(state, dict) and isinstance(state.get("Choices"), list):
            for rule in state["Choices"]:
                walk(rule)
    return found


# --------------------------------------------------------------------------- validate


def errors(definition: t.Any) -> list[Problem]:
    """Only the error-severity problems of :func:`validate`."""
    return [p for p in validate(definition) if p.severity == "error"]


def validate(definition: t.Any) -> list[Problem]:
    """Every problem found in a flow definition, errors and warnings, in a stable order."""
    problems: list[Problem] = []

    def add(code: str, message: str, path: str, state: str | None = None,
            severity: str = "error") -> None:
        problems.append(Problem(code, message, path, state, severity))

    if not isinstance(definition, dict):
        add("not_a_dict", f"The flow definition is a {type(definition).__name__}, not a JSON "
            "object; give a dict with 'StartAt' and 'States'.", "$")
        return problems

    states = definition.get("States")
    if not isinstance(states, dict) or not states:
        what = "missing" if states is None else f"{type(states).__name__} {states!r}"[:80]
        add("no_states", f"The flow's 'States' is {what}; it must be an object mapping each "
            "state name to its definition.", "$.States")
        states = {}

    start = definition.get("StartAt")
    if start is None:
        add("no_start_at", "The flow has no 'StartAt'; set it to the name of the first state.",
            "$.StartAt")
    elif not isinstance(start, str) or (states and start not in states):
        add("unknown_start_at", f"StartAt names {start!r}, which is not a state of this flow; "
            f"use one of {_names(states)}.", "$.StartAt")

    for name, state in states.items():
        _validate_state(name, state, states, add)

    if states and isinstance(start, str) and start in states:
        reachable = _reachable(start, states)
        for name in states:
            if name not in reachable:
                add("unreachable", f"State {name!r} is unreachable: no Next, Choice, Default or "
                    "Catch leads to it from StartAt; link it in or remove it.",
                    state_path(name), name)
        terminals = [n for n in reachable if _is_terminal(states[n])]
        if not terminals:
            add("no_end", "No state reachable from StartAt ends the flow (none has "
                "'End': true or is a Fail state); mark the last state with 'End': true.",
                "$.States")
        else:
            can_end = _can_end(states)
            for name in states:
                if name in reachable and name not in can_end:
                    add("cannot_end", f"From state {name!r} no path reaches an End or Fail "
                        "state, so a run there would loop forever; give the loop an exit.",
                        state_path(name), name, "warning")
    return problems


def _names(states: dict) -> str:
    # Quoted in a problem of every state with a bad target: the first few names only (not
    # a copy of them all per problem) and clipped, so huge names cannot make every such
    # message huge.
    names = list(itertools.islice(states, 8))
    shown = ", ".join(_clip_repr(n) for n in names)
    return f"[{shown}{', ...' if len(states) > 8 else ''}]"


def _clip_repr(value: t.Any, limit: int = 60) -> str:
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]  # repr of the part shown only: names can be huge
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _reachable(start: str, states: dict) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for _kind, _field, target in transitions(states.get(stack.pop())):
            if isinstance(target, str) and target in states and target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _can_end(states: dict) -> set[str]:
    """States from which some path reaches a terminal state (reverse search)."""
    preds: dict[str, set[str]] = {n: set() for n in states}
    for name, state in states.items():
        for _kind, _field, target in transitions(state):
            if isinstance(target, str) and target in preds:
                preds[target].add(name)
    done = {n for n, s in states.items() if _is_terminal(s)}
    stack = list(done)
    while stack:
        for p in preds[stack.pop()]:
            if p not in done:
                done.add(p)
                stack.append(p)
    return done


def _check_path(value: t.Any, where: str, name: str, add: t.Callable[..., None],
                what: str, reference: bool = False) -> None:
    try:
        path = parse_jsonpath(value)
    except GladierJupyterUsageError as exc:
        add("bad_jsonpath", f"State {name!r} {what}: {exc}", where, name)
        return
    if reference and not path.is_reference:
        # the States Language: a ResultPath is a Reference Path, naming one place
        add("bad_jsonpath", f"State {name!r} {what} {value!r}, which may select several "
            "places; a ResultPath names one, such as '$.result' or '$.out[0]'.", where, name)


def _validate_state(name: str, state: t.Any, states: dict, add: t.Callable[..., None]) -> None:
    here = state_path(name)
    if not isinstance(state, dict):
        add("state_not_dict", f"State {name!r} is a {type(state).__name__}, not an object; "
            "give it at least a 'Type'.", here, name)
        return
    kind = state.get("Type")
    if kind is None:
        add("missing_type", f"State {name!r} has no 'Type'; use one of "
            f"{sorted(STATE_TYPES)}.", state_path(name, "Type"), name)
    elif kind not in STATE_TYPES:
        add("unknown_type", f"State {name!r} has Type {kind!r}, which Globus flows do not "
            f"support; use one of {sorted(STATE_TYPES)}.", state_path(name, "Type"), name)

    # transitions
    for tkind, field, target in transitions(state):
        where = here + ("." + field if not field.startswith("[") else field)
        if not isinstance(target, str) or target not in states:
            label = {"next": "Next", "choice": "a Choice rule's Next", "default": "Default",
                     "catch": "a Catch's Next"}[tkind]
            add("unknown_target", f"State {name!r}: {label} names {target!r}, which is not a "
                f"state of this flow; use one of {_names(states)}.", where, name)

    ends = state.get("End")
    if ends is not None and not isinstance(ends, bool):
        add("bad_field", f"State {name!r} has End {ends!r}; End must be true or false.",
            state_path(name, "End"), name)
    if kind in ("Action", "Pass", "Wait", "ExpressionEval", "CreateWebInput", "AwaitWebInput"):
        if "Next" in state and ends is True:
            add("next_and_end", f"State {name!r} has both 'Next' and 'End': true; keep one.",
                here, name)
        elif "Next" not in state and ends is not True:
            add("no_next", f"State {name!r} has neither 'Next' nor 'End': true, so the flow "
                "cannot leave it; add 'Next' or 'End': true.", here, name)
    elif kind in ("Choice", "Fail"):
        for field in ("Next", "End"):
            if field in state:
                add("bad_field", f"State {name!r} is a {kind} state, which cannot have "
                    f"{field!r}; remove it.", state_path(name, field), name)

    # paths read and written
    for field in ("InputPath", "ResultPath"):
        if field in state and state[field] is not None:
            _check_path(state[field], state_path(name, field), name, add, f"has {field}",
                        reference=field == "ResultPath")
    if "OutputPath" in state:
        add("bad_field", f"State {name!r} sets OutputPath, which Globus flows do not allow; "
            "use ResultPath.", state_path(name, "OutputPath"), name, "warning")
    params = state.get("Parameters")
    if isinstance(params, str):
        # gladier's FlowBuilder default ("$.input.") is a bare path string, not an object
        add("bad_field", f"State {name!r} has Parameters {params!r}, a string; Parameters must "
            "be an object (use InputPath to pass a part of the state).",
            state_path(name, "Parameters"), name)
    elif params is not None and not isinstance(params, dict):
        add("bad_field", f"State {name!r} has Parameters of type {type(params).__name__}; "
            "Parameters must be an object.", state_path(name, "Parameters"), name)
    for pkind, ppath, value in _walk_params(params, state_path(name, "Parameters")):
        if pkind == "$":
            _check_path(value, ppath, name, add, "reads a Parameters path")
        else:
            try:
                check_expression(value)
            except UnsafeExpressionError as exc:
                add("unsafe_expression", f"State {name!r} parameter {ppath}: {exc}", ppath, name)
            except GladierJupyterUsageError as exc:
                add("bad_expression", f"State {name!r}: {exc}", ppath, name)

    if "Catch" in state:
        catchers = state["Catch"]
        if not isinstance(catchers, list):
            add("bad_field", f"State {name!r} has Catch {catchers!r}; Catch must be a list.",
                state_path(name, "Catch"), name)
        else:
            for i, catcher in enumerate(catchers):
                cpath = state_path(name, "Catch", i)
                if not isinstance(catcher, dict):
                    add("bad_field", f"State {name!r}: Catch[{i}] is not an object.", cpath, name)
                    continue
                errs = catcher.get("ErrorEquals")
                if not isinstance(errs, list) or not errs or not all(
                        isinstance(e, str) for e in errs):
                    add("missing_field", f"State {name!r}: Catch[{i}] needs 'ErrorEquals', a "
                        "non-empty list of error names such as [\"States.ALL\"].",
                        _key(cpath, "ErrorEquals"), name)
                if "Next" not in catcher:
                    add("missing_field", f"State {name!r}: Catch[{i}] has no 'Next'; name the "
                        "state to go to when the error is caught.", _key(cpath, "Next"), name)
                if catcher.get("ResultPath") is not None:
                    _check_path(catcher["ResultPath"], _key(cpath, "ResultPath"), name, add,
                                f"has Catch[{i}].ResultPath", reference=True)

    if kind == "Action":
        url = state.get("ActionUrl")
        if not url:
            add("no_action_url", f"Action state {name!r} has no 'ActionUrl'; set the URL of "
                "the action provider to call (e.g. https://compute.actions.globus.org).",
                state_path(name, "ActionUrl"), name)
        elif not isinstance(url, str) or not url.startswith(("http://", "https://")):
            add("bad_field", f"Action state {name!r} has ActionUrl {url!r}; it must be an "
                "http(s) URL.", state_path(name, "ActionUrl"), name)
        wait = state.get("WaitTime")
        if wait is not None and (isinstance(wait, bool) or not isinstance(wait, int) or wait < 0):
            add("bad_field", f"Action state {name!r} has WaitTime {wait!r}; WaitTime is a "
                "whole number of seconds.", state_path(name, "WaitTime"), name)
        for field in ("ExceptionOnActionFailure",):
            if field in state and not isinstance(state[field], bool):
                add("bad_field", f"Action state {name!r} has {field} {state[field]!r}; it must "
                    "be true or false.", state_path(name, field), name)
    elif kind == "Wait":
        given = [f for f in _WAIT_FIELDS if f in state]
        if len(given) != 1:
            add("missing_field" if not given else "bad_field",
                f"Wait state {name!r} sets {given or 'none'} of {list(_WAIT_FIELDS)}; it needs "
                "exactly one.", here, name)
        for field in ("SecondsPath", "TimestampPath"):
            if field in state:
                _check_path(state[field], state_path(name, field), name, add, f"has {field}")
        if "Seconds" in state and (isinstance(state["Seconds"], bool) or not isinstance(
                state["Seconds"], (int, float)) or state["Seconds"] < 0):
            add("bad_field", f"Wait state {name!r} has Seconds {state['Seconds']!r}; it must "
                "be a non-negative number.", state_path(name, "Seconds"), name)
    elif kind == "Fail":
        for field in ("Cause", "Error"):
            if field in state and not isinstance(state[field], str):
                add("bad_field", f"Fail state {name!r} has {field} {state[field]!r}; it must "
                    "be a string.", state_path(name, field), name)
    elif kind in ("CreateWebInput", "AwaitWebInput"):
        if not isinstance(params, dict):
            add("missing_field", f"{kind} state {name!r} has no 'Parameters' object; "
                + ("give InputType, Context and Options." if kind == "CreateWebInput"
                   else "give the web_input_id a CreateWebInput state returned."),
                state_path(name, "Parameters"), name)
    elif kind == "ExpressionEval":
        if not isinstance(params, dict):
            add("missing_field", f"ExpressionEval state {name!r} has no 'Parameters' object; "
                "put the '.=' expressions to evaluate there.", state_path(name, "Parameters"),
                name)
        if "ResultPath" not in state:
            add("missing_field", f"ExpressionEval state {name!r} has no 'ResultPath'; say "
                "where its result goes, e.g. '$.computed'.", state_path(name, "ResultPath"),
                name)
    elif kind == "Choice":
        choices = state.get("Choices")
        if not isinstance(choices, list) or not choices:
            add("missing_field", f"Choice state {name!r} has no 'Choices'; give a non-empty "
                "list of rules, each with a 'Next'.", state_path(name, "Choices"), name)
        else:
            for i, rule in enumerate(choices):
                rpath = state_path(name, "Choices", i)
                _validate_rule(name, rule, rpath, add, top=True)
        if "Default" not in state:
            add("choice_without_default", f"Choice state {name!r} has no 'Default'; a run "
                "fails when no rule matches. Add 'Default' naming a state.",
                state_path(name, "Default"), name, "warning")


def _validate_rule(name: str, rule: t.Any, rpath: str, add: t.Callable[..., None],
                   top: bool) -> None:
    if not isinstance(rule, dict):
        add("bad_rule", f"Choice state {name!r}: rule at {rpath} is not an object.", rpath, name)
        return
    if top and "Next" not in rule:
        add("missing_field", f"Choice state {name!r}: rule at {rpath} has no 'Next'.",
            _key(rpath, "Next"), name)
    if not top and "Next" in rule:
        add("bad_rule", f"Choice state {name!r}: nested rule at {rpath} cannot have 'Next'.",
            _key(rpath, "Next"), name)
    boolean = [op for op in ("And", "Or", "Not") if op in rule]
    comparators = [op for op in rule if op in CHOICE_COMPARATORS]
    if boolean:
        if len(boolean) > 1 or comparators or "Variable" in rule:
            add("bad_rule", f"Choice state {name!r}: rule at {rpath} mixes {boolean + comparators}"
                "; use one operator per rule.", rpath, name)
        op = boolean[0]
        subs = rule[op]
        if op == "Not":
            _validate_rule(name, subs, _key(rpath, "Not"), add, top=False)
        elif not isinstance(subs, list) or not subs:
            add("bad_rule", f"Choice state {name!r}: {op} at {rpath} needs a non-empty list of "
                "rules.", _key(rpath, op), name)
        else:
            for i, sub in enumerate(subs):
                _validate_rule(name, sub, _key(_key(rpath, op), i), add, top=False)
        return
    unknown = [k for k in rule if k not in CHOICE_COMPARATORS and k not in ("Variable", "Next")]
    if len(comparators) != 1:
        add("bad_rule", f"Choice state {name!r}: rule at {rpath} has "
            f"{'no comparison' if not comparators else comparators} (fields {unknown or None} "
            f"unknown); use exactly one, e.g. StringEquals or NumericGreaterThan.", rpath, name)
    if "Variable" not in rule:
        add("missing_field", f"Choice state {name!r}: rule at {rpath} has no 'Variable' (the "
            "JSONPath it tests).", _key(rpath, "Variable"), name)
    else:
        _check_path(rule["Variable"], _key(rpath, "Variable"), name, add,
                    "has a Choice Variable")
    for op in comparators:
        value = rule[op]
        if op.endswith("Path"):
            _check_path(value, _key(rpath, op), name, add, f"has a Choice {op}")
        elif op in _TYPE_TESTS:
            if not isinstance(value, bool):
                add("bad_rule", f"Choice state {name!r}: {op} at {rpath} must be true or false, "
                    f"not {value!r}.", _key(rpath, op), name)
        else:
            expected = _VALUE_COMPARATORS[op]
            if isinstance(value, bool) and expected is not bool or not isinstance(value, expected):
                add("bad_rule", f"Choice state {name!r}: {op} at {rpath} compares with "
                    f"{value!r}, which is not a {_type_name(expected)}.", _key(rpath, op), name)


def _type_name(expected: t.Any) -> str:
    if expected is bool:
        return "boolean"
    if expected is str:
        return "string"
    return "number"
