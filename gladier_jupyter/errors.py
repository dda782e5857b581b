"""Exceptions raised by gladier-jupyter."""

from __future__ import annotations

__all__ = ["GladierJupyterError", "GladierJupyterUsageError"]


class GladierJupyterError(Exception):
    """Root of every error gladier-jupyter raises on purpose."""


class GladierJupyterUsageError(GladierJupyterError, ValueError):
    """A mistake of the user's: bad input, a bad option, a missing value.

    The message is one sentence naming the thing, quoting the bad value and saying the fix.
    The magics show it as an IPython ``UsageError`` (no traceback).
    """
