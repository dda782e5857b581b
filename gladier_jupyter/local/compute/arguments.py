"""A task's arguments, packed as globus-compute-sdk's ``ComputeSerializer`` packs them.

An in-process submission (the flow engine's compute action) sends ``(args, kwargs)`` the
way ``Client.run`` does: each buffer serialized with the SDK's default data strategy,
``DillDataBase64`` (``"00\\n"`` + base64 of ``dill.dumps``), then ``pack_buffers``. For the
values a flow passes (JSON: dicts, lists, strings, numbers, booleans, None; and tuples),
``dill.dumps`` writes exactly the bytes of the standard library's ``pickle.dumps`` at
dill's protocol (dill's pickler is the pure-Python one, which writes the same opcodes for
builtin types; ``tests/local/test_compute_arguments.py`` checks the bytes are equal), and
the C pickler does it about 20 times faster. Any other value goes through the SDK's own
serializer, as before.
"""

from __future__ import annotations

import codecs
import pickle
import typing as t

__all__ = ["pack_arguments"]

#: the types whose pickle the C pickler and dill's pickler write alike
_PLAIN = frozenset({dict, list, tuple, str, int, float, bool, type(None)})
_CONTAINERS = (dict, list, tuple)
#: how many values a fast-path check looks at before it leaves the rest to the SDK
_MOST_VALUES = 100_000


def pack_arguments(serializer: t.Any, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]) -> str:
    """``serializer.pack_buffers([serializer.serialize(args), serializer.serialize(kwargs)])``
    (``serializer``: a default ``ComputeSerializer``), with the same result."""
    from globus_compute_sdk.serialize import DillDataBase64

    if isinstance(serializer.data_serializer, DillDataBase64) and _plain((args, kwargs)):
        import dill

        identifier = serializer.data_serializer.identifier
        protocol = dill.settings["protocol"]
        try:
            buffers = [
                identifier
                + codecs.encode(pickle.dumps(value, protocol=protocol), "base64").decode()
                for value in (args, kwargs)
            ]
        except RecursionError:  # too deep to pickle: the SDK's serializer says so its way
            pass
        else:
            return serializer.pack_buffers(buffers)
    return serializer.pack_buffers([serializer.serialize(args), serializer.serialize(kwargs)])


def _plain(value: t.Any) -> bool:
    # only builtin data, each container met once (a shared or self-containing one goes to
    # the SDK: its memo is pickle's, and this walk must end), and not too many values
    stack = [value]
    seen: set[int] = set()
    count = 0
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind not in _PLAIN:
            return False
        if kind in _CONTAINERS:
            if id(item) in seen:
                return False
            seen.add(id(item))
            if kind is dict:
                stack.extend(item.keys())
                stack.extend(item.values())
            else:
                stack.extend(item)
        count += 1
        if count > _MOST_VALUES:
            return False
    return True
