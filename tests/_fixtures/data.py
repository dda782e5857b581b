"""The tests' data files (``tests/data``): flow definitions, inputs, recorded answers."""

from __future__ import annotations

import functools
import json
import pathlib
import typing as t

__all__ = ["DATA", "load_json"]

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"


@functools.cache
def _read(path: pathlib.Path) -> str:
    return path.read_text()


def load_json(relative: str, key: str | None = None) -> t.Any:
    """``tests/data/<relative>`` parsed (a fresh copy each call), or its entry ``key``."""
    doc = json.loads(_read(DATA / relative))
    return doc if key is None else doc[key]
