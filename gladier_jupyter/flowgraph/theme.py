"""The flow graph's one style table (``theme.json``): kind colours, theme colours, sizes.

The live view imports the same file (``labextension/src/common/graphTheme.ts``), so the
drawing saved from Python and the one in the browser cannot drift apart.
"""

from __future__ import annotations

import json
import pathlib
import typing as t

__all__ = ["THEME", "THEME_PATH"]

THEME_PATH = pathlib.Path(__file__).resolve().parent / "theme.json"

THEME: dict[str, t.Any] = json.loads(THEME_PATH.read_text(encoding="utf-8"))
