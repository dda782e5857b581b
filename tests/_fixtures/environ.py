"""This process's environment changed for a while, and put back exactly as it was."""

from __future__ import annotations

import contextlib
import os
import typing as t


@contextlib.contextmanager
def environ_set(env: t.Mapping[str, str]) -> t.Iterator[None]:
    """``os.environ`` holds ``env`` inside the block; each name is restored (or removed, where
    it was unset) at the end, whatever the block did to it."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
