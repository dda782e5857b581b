"""The safe, bounded evaluator of Globus flow expressions (``"key.=": "expression"``).

Built on simpleeval, never ``eval`` (the rules are in :mod:`._core`). Every evaluation is
bounded in time, memory and result size: an expression whose cost is linear in its input
(reads, comparisons, a few additions, linear functions; :func:`._core.is_cheap`) is
evaluated in-process, in microseconds; any other (comprehensions, ``*``, ``**``, ``%``,
padding methods, format specs, ...) in a resource-limited worker process
(:mod:`._sandbox`) that is killed and replaced when it overruns. Either way the expression
sees a copy of, or cannot change, the state's data.
"""

from __future__ import annotations

import threading
import typing as t

from gladier_jupyter.local.expressions._core import (
    _FUNCTIONS,  # noqa: F401 - the function table, read by the flow check's tests
    MAX_DEPTH,
    ExpressionError,
    ExpressionLimitError,
    evaluate_unbounded,
    is_cheap,
    names_used,
    resolve_backticks,
)

__all__ = ["ExpressionError", "ExpressionLimitError", "MAX_DEPTH", "close", "evaluate", "warm_up"]

_STATE_READERS = frozenset({"getattr", "is_present"})
_sandbox: t.Any = None
_lock = threading.Lock()


def _get_sandbox() -> t.Any:
    global _sandbox
    with _lock:
        if _sandbox is None:
            from gladier_jupyter.local.expressions._sandbox import Sandbox

            _sandbox = Sandbox()
        return _sandbox


def evaluate(expression: str, names: dict[str, t.Any]) -> t.Any:
    """Evaluate ``expression`` with ``names`` (the state input) in scope, within the bounds.

    Raises :class:`ExpressionError` (one line) for an expression that is invalid, fails or
    is refused, and :class:`ExpressionLimitError` for one stopped at a bound."""
    if not isinstance(expression, str):
        return evaluate_unbounded(expression, names)
    # Backtick paths (`$.a.b`) are read here, in-process, and handed on as plain names.
    rewritten, bound = resolve_backticks(expression, names)
    if is_cheap(rewritten):
        # Cheap expressions only read and call methods that build new values: they cannot
        # change ``names``, so no copy is needed.
        return evaluate_unbounded(expression, names)
    used = names_used(rewritten) or frozenset()
    if used & _STATE_READERS:
        # getattr('a.b') and is_present('a') name what they read in a string: the worker
        # needs the whole state input.
        return _get_sandbox().evaluate(rewritten, bound)
    return _get_sandbox().evaluate(rewritten, {k: v for k, v in bound.items() if k in used})


def warm_up() -> None:
    """Build the evaluator and start one worker before the first run needs them."""
    evaluate_unbounded("1 + 1", {})
    _get_sandbox().warm_up()


def close() -> None:
    """Stop the idle workers (the service's shutdown)."""
    with _lock:
        sandbox = _sandbox
    if sandbox is not None:
        sandbox.close()
