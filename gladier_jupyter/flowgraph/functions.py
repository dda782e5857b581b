"""The compute functions a state calls: which input keys name them, what each needs."""

from __future__ import annotations

import inspect
import textwrap
import typing as t

__all__ = ["function_input_keys"]

_FUNCTION_SUFFIXES = ("_function_id", "_funcx_id")


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

