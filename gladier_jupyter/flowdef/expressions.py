"""``.=`` expressions: parsed, refused unless the safe evaluator can evaluate them, paths read."""

from __future__ import annotations

import ast
import re
import typing as t

from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.flowdef.paths import _key

__all__ = [
    "MAX_EXPRESSION_DEPTH",
    "parse_expression",
    "EXPRESSION_FUNCTIONS",
    "UnsafeExpressionError",
    "check_expression",
    "expression_paths",
]


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
                    parts.append(value if isinstance(value, str) else f"[{value!r}]")
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
