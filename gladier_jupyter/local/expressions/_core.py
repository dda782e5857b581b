"""The expression evaluator itself (simpleeval, never ``eval``), without resource bounds.

Names are the state's input keys (and ``_context``); no imports, no dunder or private names
or attributes; attribute access only on plain JSON-like values, where a dict's key always
wins over a method of the same name; only methods that build a new value (never one that
changes a value in place). :func:`is_cheap` tells the expressions whose cost is linear in
the size of their input, which the caller may evaluate in-process; everything else runs in
the bounded worker (:mod:`._sandbox`), which calls :func:`evaluate_unbounded` too.

Globus documents ``object_val.sub_val1`` as the way to read an object's field
(https://docs.globus.org/api/flows/authoring-flows/expressions), hence keys first.
"""

from __future__ import annotations

import ast
import functools
import math
import posixpath
import typing as t

__all__ = ["ExpressionError", "ExpressionLimitError", "MAX_DEPTH", "MAX_PATH_LENGTH",
           "evaluate_unbounded", "is_cheap", "names_used", "resolve_backticks", "shown"]


class ExpressionError(ValueError):
    """An expression that does not parse, or fails, or reaches for something forbidden."""


class ExpressionLimitError(ExpressionError):
    """An expression stopped for using more time, memory or result size than allowed."""


#: Deepest expression tree accepted (the flow check, ``flowdef``, uses the same bound).
MAX_DEPTH = 100


def shown(expression: str, limit: int = 80) -> str:
    """``expression`` quoted for a one-line message, shortened to about ``limit`` chars."""
    text = repr(expression)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


#: Longest path string ``getattr``/``is_present`` take, and longest backtick path.
MAX_PATH_LENGTH = 1024

# The Transfer root, which pathsplit never splits (Authoring Flows -> Expressions:
# "pathsplit('/~/path') returns ['/~/', 'path']").
_TRANSFER_ROOT = "/~/"


def _pathsplit(path: str) -> list[str]:
    if not isinstance(path, str):
        raise ExpressionError(f"pathsplit takes a path string, not {type(path).__name__}.")
    head, tail = posixpath.split(path)
    if path.startswith(_TRANSFER_ROOT) and head == _TRANSFER_ROOT.rstrip("/"):
        head = _TRANSFER_ROOT
    return [head, tail]


def _state_path(reference: str) -> str:
    """The JSONPath of a property reference such as ``'a.b[0]'`` (or ``'$.a.b[0]'``)."""
    if len(reference) > MAX_PATH_LENGTH:
        raise ExpressionError(f"The property reference {shown(reference)} is longer than "
                              f"{MAX_PATH_LENGTH} characters.")
    text = reference.strip()
    if text.startswith("$"):
        return text
    return "$" + ("" if text.startswith("[") else ".") + text


def _lookup(names: dict[str, t.Any], reference: str) -> t.Any:
    from gladier_jupyter.jsonpath import JSONPathError, compile_path

    try:
        return compile_path(_state_path(reference)).find(names)
    except JSONPathError as exc:
        raise ExpressionError(f"The property reference {shown(reference)} is not a path: {exc}") from None


def _state_functions(names: dict[str, t.Any]) -> dict[str, t.Callable[..., t.Any]]:
    """``getattr`` and ``is_present`` read the state: they take a reference *as a string*
    (Authoring Flows -> Expressions: "getattr('x', 10): returns the value of property x if
    it is present, and the constant 10 if not"; is_present "takes in a reference to a value
    in the state, as a string")."""
    from gladier_jupyter.jsonpath import MISSING

    def getattr_(obj: t.Any, name: t.Any = None, default: t.Any = None) -> t.Any:
        if isinstance(obj, str):  # getattr('path', default)
            found = _lookup(names, obj)
            return (name if default is None else default) if found is MISSING else found
        if isinstance(obj, dict) and isinstance(name, str):  # getattr(obj, 'key', default)
            return obj.get(name, default)
        return default

    def is_present(reference: t.Any) -> bool:
        if isinstance(reference, str):
            return _lookup(names, reference) is not MISSING
        return reference is not None

    return {"getattr": getattr_, "is_present": is_present}


def _getattr(obj: t.Any, name: t.Any = None, default: t.Any = None) -> t.Any:
    # Stand-in of the table; evaluation binds the state-reading one (_state_functions).
    return _state_functions({})["getattr"](obj, name, default)


def _is_present(reference: t.Any) -> bool:
    return _state_functions({})["is_present"](reference)


# ----------------------------------------------------------------------------- backticks

_BACKTICK_NAME = "_backtick_path_{}"


@functools.lru_cache(maxsize=512)
def _split_backticks(expression: str) -> tuple[str, tuple[str, ...]]:
    """``expression`` with each `` `$.path` `` outside string literals replaced by a name
    (``_backtick_path_0``, ...), and the paths in order. Globus's own examples write
    ``[`$.source_path`]`` (Authoring Flows -> Expressions)."""
    if "`" not in expression:
        return expression, ()
    out: list[str] = []
    found: list[str] = []
    i, n = 0, len(expression)
    quote: str | None = None
    while i < n:
        ch = expression[i]
        if quote:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(expression[i + 1])
                i += 2
                continue
            if expression.startswith(quote, i):
                out.append(expression[i + 1:i + len(quote)])
                i += len(quote)
                quote = None
                continue
            i += 1
            continue
        if ch in "'\"":
            quote = ch * 3 if expression.startswith(ch * 3, i) else ch
            out.append(quote)
            i += len(quote)
            continue
        if ch == "`":
            end = expression.find("`", i + 1)
            if end < 0:
                raise ExpressionError(f"The expression {shown(expression)} opens a backtick path "
                                      "that is never closed; write it as `$.path`.")
            path = expression[i + 1:end].strip()
            if not path.startswith("$") or len(path) > MAX_PATH_LENGTH:
                raise ExpressionError(f"The backtick path {shown(path)} in {shown(expression)} "
                                      "must be a JSONPath starting with '$', such as `$.source_path`.")
            out.append(" " + _BACKTICK_NAME.format(len(found)) + " ")
            found.append(path)
            i = end + 1
            continue
        out.append(ch)
        i += 1
    return "".join(out), tuple(found)


def resolve_backticks(expression: str, names: dict[str, t.Any]) -> tuple[str, dict[str, t.Any]]:
    """The expression without backtick paths, and ``names`` with their values bound."""
    if not isinstance(expression, str) or "`" not in expression:
        return expression, names
    from gladier_jupyter.jsonpath import MISSING, JSONPathError, compile_path

    rewritten, found = _split_backticks(expression)
    if not found:
        return rewritten, names
    bound = dict(names)
    for i, path in enumerate(found):
        try:
            value = compile_path(path).find(names)
        except JSONPathError as exc:
            raise ExpressionError(f"The backtick path {shown(path)} in {shown(expression)}: {exc}") from None
        if value is MISSING:
            raise ExpressionError(f"The expression {shown(expression)} reads `{path}`, which the "
                                  "state input does not set.")
        bound[_BACKTICK_NAME.format(i)] = value
    return rewritten, bound


_MAX_RANGE = 100_000


def _range(*args: t.Any) -> list[int]:
    # Sized before it is built: range(10**9) must not allocate gigabytes.
    values = range(*args)
    if len(values) > _MAX_RANGE:
        listed = ", ".join(map(repr, args))
        raise ExpressionError(f"range({listed}) has {len(values)} items; at most {_MAX_RANGE} are allowed.")
    return list(values)


_FUNCTIONS: dict[str, t.Callable[..., t.Any]] = {
    "len": len,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "abs": abs,
    "min": min,
    "max": max,
    "sum": sum,
    "round": round,
    "sorted": sorted,
    "list": list,
    "dict": dict,
    "any": any,
    "all": all,
    "range": _range,
    "enumerate": lambda x: list(enumerate(x)),
    "zip": lambda *a: list(zip(*a, strict=False)),
    "ceil": math.ceil,
    "floor": math.floor,
    "pathsplit": _pathsplit,
    "pathjoin": posixpath.join,
    "basename": posixpath.basename,
    "dirname": posixpath.dirname,
    "getattr": _getattr,
    "is_present": _is_present,
}

# Methods an expression may call or read, per type: those that build a new value. str is
# immutable; format/format_map reach attributes through '{0.__class__}', and bytes
# (encode, to_bytes) are no JSON value.
_STR_METHODS = frozenset(
    name for name in dir(str)
    if not name.startswith("_") and name not in ("format", "format_map", "encode", "maketrans")
)
_METHODS: dict[type, frozenset[str]] = {
    str: _STR_METHODS,
    list: frozenset({"count", "index", "copy"}),
    tuple: frozenset({"count", "index"}),
    dict: frozenset({"get", "keys", "values", "items", "copy"}),
    int: frozenset({"bit_length", "real", "imag", "numerator", "denominator", "conjugate"}),
    float: frozenset({"is_integer", "real", "imag", "conjugate", "as_integer_ratio"}),
    bool: frozenset(),
}
_MUTATING = frozenset({"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear",
                       "update", "setdefault", "popitem"})
_TYPE_NAMES = {str: "a string", list: "a list", tuple: "a list", dict: "an object",
               int: "a number", float: "a number", bool: "a boolean"}


@functools.lru_cache(maxsize=1)
def _evaluator_class() -> type:
    import simpleeval

    class _SafeEval(simpleeval.EvalWithCompoundTypes):
        def _eval_attribute(self, node: t.Any) -> t.Any:
            name = node.attr
            if name.startswith("_"):
                raise ExpressionError(f"Access to the attribute {name!r} is not allowed.")
            value = self._eval(node.value)
            if isinstance(value, dict) and name in value:
                return value[name]  # a key always wins over a dict method of that name
            kind = type(value)
            allowed = _METHODS.get(kind)
            if allowed is None:
                raise ExpressionError(
                    f"Attribute access ({name!r}) is only allowed on strings, lists and objects, "
                    f"not on {kind.__name__}.")
            if name in allowed:
                return getattr(value, name)
            if name in _MUTATING and hasattr(value, name):
                raise ExpressionError(
                    f"{_TYPE_NAMES[kind].capitalize()}'s method {name!r} would change the run's "
                    "data in place, which expressions may not do; build a new value instead, "
                    "e.g. 'nums + [3]' or '{**obj, \"key\": 1}'.")
            if kind is dict:
                raise ExpressionError(f"The object has no key {name!r} (its keys: "
                                      f"{shown(', '.join(map(str, value)), 60)[1:-1]}).")
            raise ExpressionError(f"{_TYPE_NAMES[kind].capitalize()} has no attribute {name!r} "
                                  "that expressions may use.")

        def _eval_name(self, node: t.Any) -> t.Any:
            if node.id.startswith("__"):
                raise ExpressionError(f"The name {node.id!r} is not allowed.")
            return super()._eval_name(node)

    return _SafeEval


_CONSTANTS = {"True": True, "False": False, "None": None, "true": True, "false": False, "null": None}


@functools.lru_cache(maxsize=512)
def _parse(expression: str) -> ast.Expression:
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (RecursionError, MemoryError):
        tree = None
    except SyntaxError as exc:
        raise ExpressionError(f"The expression {shown(expression)} is not valid: {exc.msg}.") from None
    if tree is None or tree_depth(tree) > MAX_DEPTH:
        raise ExpressionError(
            f"The expression {shown(expression)} is nested more than {MAX_DEPTH} levels deep; "
            "split it over several states or Parameters.")
    return tree


def tree_depth(tree: ast.AST) -> int:
    """Depth of an expression tree, walked without recursion (a deep tree must not overflow)."""
    deepest, todo = 0, [(tree, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        todo.extend((child, depth + 1) for child in ast.iter_child_nodes(node)
                    if not isinstance(child, (ast.expr_context, ast.operator, ast.boolop,
                                              ast.unaryop, ast.cmpop)))
    return deepest


def evaluate_unbounded(expression: str, names: dict[str, t.Any]) -> t.Any:
    """Evaluate ``expression`` with ``names`` in scope, in this process, with no time or
    memory bound (the caller bounds it). Raises :class:`ExpressionError` in one line."""
    if not isinstance(expression, str):
        raise ExpressionError(f"An expression must be a string, not {type(expression).__name__}.")
    import simpleeval

    original = expression
    try:
        expression, names = resolve_backticks(expression, names)
    except ExpressionError as exc:
        raise ExpressionError(str(exc)) from None
    tree = _parse(expression)
    scope = dict(_CONSTANTS)
    scope.update(names)
    functions = dict(_FUNCTIONS)
    functions.update(_state_functions(names))
    evaluator = _evaluator_class()(names=scope, functions=functions)
    try:
        value = evaluator.eval(expression, previously_parsed=tree.body)
    except ExpressionError as exc:
        raise ExpressionError(f"The expression {shown(original)} failed: {exc}") from None
    except simpleeval.NameNotDefined as exc:
        raise ExpressionError(f"The expression {shown(original)} uses {exc.name!r}, which the "
                              "state input does not set.") from None
    except simpleeval.InvalidExpression as exc:
        raise ExpressionError(f"The expression {shown(original)} is not allowed: "
                              f"{_one_line(exc)}") from None
    except MemoryError:
        raise  # the worker reports it; in-process evaluation never gets here
    except RecursionError:
        raise ExpressionError(f"The expression {shown(original)} works on data nested too "
                              "deeply to handle.") from None
    except Exception as exc:  # noqa: BLE001 - arithmetic, type and key errors of the expression
        raise ExpressionError(f"The expression {shown(original)} failed: {type(exc).__name__}: "
                              f"{_one_line(exc)}") from None
    if callable(value):
        raise ExpressionError(
            f"The expression {shown(original)} is a method, not a value; call it (add '()') "
            "or, for an object's key, use obj['name'].")
    return value


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


# ----------------------------------------------------------------------------- static cost

# Functions whose cost is linear in their arguments' size and whose result is no bigger.
_CHEAP_FUNCTIONS = frozenset({"len", "str", "int", "float", "bool", "abs", "min", "max", "any",
                              "all", "is_present", "getattr", "basename", "dirname", "pathjoin",
                              "pathsplit", "ceil", "floor"})
_CHEAP_METHODS = frozenset({"lower", "upper", "strip", "lstrip", "rstrip", "startswith",
                            "endswith", "removeprefix", "removesuffix",
                            "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper",
                            "get", "keys", "values", "items", "count", "index", "find", "rfind",
                            "title", "capitalize", "casefold", "partition", "rpartition"})
# (split makes one object per piece, ~50 bytes per input character: it goes to the worker)
_CHEAP_NODES = (ast.Expression, ast.Name, ast.Load, ast.Constant, ast.Attribute, ast.Subscript,
                ast.Slice, ast.Compare, ast.cmpop, ast.BoolOp, ast.boolop, ast.UnaryOp, ast.Not,
                ast.USub, ast.UAdd, ast.IfExp, ast.BinOp, ast.Add, ast.Sub, ast.JoinedStr,
                ast.FormattedValue, ast.List, ast.Tuple, ast.Dict, ast.Call, ast.keyword)
_CHEAP_MAX_BINOPS = 16
_CHEAP_MAX_CONSTANT = 10_000
# Each name read can put a whole input value in the result (``[input, input, ...]``): with
# at most this many reads the result is a small multiple of the state's data, which the
# engine serializes a few times per state anyway.
_CHEAP_MAX_NAMES = 8
_CHEAP_MAX_NODES = 64


@functools.lru_cache(maxsize=512)
def is_cheap(expression: str) -> bool:
    """True when the expression's time and result size are at most a small multiple of its
    input's size whatever the input: a small tree (``_CHEAP_MAX_NODES``) of at most
    ``_CHEAP_MAX_NAMES`` reads, comparisons, conditionals, at most ``_CHEAP_MAX_BINOPS``
    additions (simpleeval caps each sum at 100,000 items; no ``*``, ``**``, ``%``, shifts),
    f-strings without a format spec, and calls of linear functions and methods. No
    comprehension, ``ljust``, ``replace``, ``join`` or ``range``: those can grow their
    result far past their input and are evaluated in the bounded worker."""
    try:
        tree = _parse(expression)
    except ExpressionError:
        return True  # refused in-process at once, at no cost
    binops = reads = nodes = 0
    for node in ast.walk(tree):
        nodes += 1
        if not isinstance(node, _CHEAP_NODES) or nodes > _CHEAP_MAX_NODES:
            return False
        if isinstance(node, ast.Name):
            reads += 1
            if reads > _CHEAP_MAX_NAMES:
                return False
        elif isinstance(node, ast.BinOp):
            binops += 1
            if binops > _CHEAP_MAX_BINOPS:
                return False
        elif isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            return False
        elif isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and (
                len(node.value) > _CHEAP_MAX_CONSTANT):
            return False
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                if func.id not in _CHEAP_FUNCTIONS:
                    return False
            elif not (isinstance(func, ast.Attribute) and func.attr in _CHEAP_METHODS):
                return False
    return True


@functools.lru_cache(maxsize=512)
def names_used(expression: str) -> frozenset[str] | None:
    """The names the expression reads (to send the worker only those), None if unparsable."""
    try:
        tree = _parse(expression)
    except ExpressionError:
        return None
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
