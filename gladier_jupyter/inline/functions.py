"""Reading a cell's compute functions: syntax errors named by cell line, notebook globals a
function would need on the endpoint caught at definition time."""

from __future__ import annotations

import ast
import builtins
import dis
import linecache
import types
import typing as t

from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.inline.cells import _cell_counter, _usage

__all__ = []


def _register_source(name: str, source: str) -> str:
    """Give the cell a unique file name in ``linecache`` so ``inspect.getsource`` works.

    globus-compute-sdk's ``DillCodeSource`` (gladier's default) sends a function's *source*;
    the mtime ``None`` keeps ``linecache.checkcache`` from dropping the entry.
    """
    filename = f"<gladier_tool {name} #{next(_cell_counter)}>"
    lines = source.splitlines(True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    return filename


def _syntax_error(name: str, err: SyntaxError) -> GladierJupyterUsageError:
    line = (err.text or "").strip()
    where = f"line {err.lineno}" + (f", column {err.offset}" if err.offset else "")
    return _usage(
        f"Syntax error in %%gladier_tool {name} at cell {where}: {err.msg} ({line!r}); "
        "fix the line and run the cell again."
    )


def _global_names(code: types.CodeType) -> set[str]:
    names = set()
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            names.add(ins.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _describe(value: t.Any) -> str:
    if isinstance(value, types.ModuleType):
        return f"the module {value.__name__!r}"
    if callable(value) and hasattr(value, "__name__"):
        return f"the notebook object {value.__name__!r}"
    return f"a notebook {type(value).__name__}"


def _check_portable(tool: str, func: types.FunctionType, siblings: t.Collection[str] = ()) -> None:
    """Refuse functions that cannot travel as source to a fresh process, saying why.

    ``siblings``: the cell's other top-level functions (each one a compute state)."""
    if func.__code__.co_freevars:
        raise _usage(
            f"Function {func.__name__!r} of tool {tool!r} closes over "
            f"{', '.join(map(repr, func.__code__.co_freevars))} from an enclosing scope; "
            "Globus Compute sends only the function's source, so define it at the top level "
            "and pass values in the flow input."
        )
    missing = sorted(
        name
        for name in _global_names(func.__code__)
        if name in func.__globals__ and name != func.__name__ and not hasattr(builtins, name)
    )
    helpers = [name for name in missing if name in siblings]
    if helpers:
        name = helpers[0]
        raise _usage(
            f"Function {func.__name__!r} of tool {tool!r} calls {name!r}, another top-level "
            f"'def' of the cell; every top-level 'def' becomes a compute state of its own and "
            "Globus Compute sends each function's source alone, so define the helper "
            f"{name!r} inside {func.__name__!r} (a nested 'def')."
        )
    if missing:
        name = missing[0]
        raise _usage(
            f"Function {func.__name__!r} of tool {tool!r} uses {name!r} "
            f"({_describe(func.__globals__[name])}) from the notebook; Globus Compute sends only "
            "the function's source and runs it in a fresh process where that name does not exist, "
            f"so import or create {name!r} inside the function (or pass it in the flow input)."
        )
    from globus_compute_sdk import serialize

    serializer = serialize.ComputeSerializer(strategy_code=serialize.DillCodeSource())
    try:
        copy_ = serializer.deserialize(serializer.serialize(func))
        if getattr(copy_, "__code__", None) is None or copy_.__code__.co_code != func.__code__.co_code:
            raise ValueError("the source found for it is not the cell's own")
    except Exception as err:  # noqa: BLE001 - the reason is reported to the user
        reason = f"{type(err).__name__}: {err}"
        if isinstance(err, KeyError):
            reason = "the source found for it is not the cell's own"
        raise _usage(
            f"Function {func.__name__!r} of tool {tool!r} cannot be serialized with "
            f"globus-compute-sdk's DillCodeSource (gladier's default): {reason}; "
            "define it at the top level of the cell without decorators."
        ) from None


def _functions_in(name: str, source: str) -> list[ast.FunctionDef]:
    try:
        module = ast.parse(source, filename=f"<gladier_tool {name}>")
    except SyntaxError as err:
        raise _syntax_error(name, err) from None
    funcs: list[ast.FunctionDef] = []
    seen: dict[str, int] = {}
    for node in module.body:
        if isinstance(node, ast.AsyncFunctionDef):
            raise _usage(
                f"Function {node.name!r} (cell line {node.lineno}) of tool {name!r} is async; "
                "Globus Compute runs plain functions, so write it with 'def'."
            )
        if not isinstance(node, ast.FunctionDef):
            continue
        if node.decorator_list:
            raise _usage(
                f"Function {node.name!r} (cell line {node.lineno}) of tool {name!r} is decorated; "
                "Globus Compute sends only the function's source, where the decorator is not "
                "defined, so remove the decorator."
            )
        if node.name in seen:
            raise _usage(
                f"Tool {name!r} defines function {node.name!r} twice (cell lines "
                f"{seen[node.name]} and {node.lineno}); each function is one flow state, so "
                "rename one of them."
            )
        seen[node.name] = node.lineno
        funcs.append(node)
    if not funcs:
        raise _usage(
            f"The %%gladier_tool {name} cell defines no function; every top-level 'def' becomes "
            "a compute function of the tool, so add one (or use --definition for a static flow "
            "definition)."
        )
    return funcs
