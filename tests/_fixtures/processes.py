"""Processes a test starts and stops (services, workers): is one gone?"""

from __future__ import annotations

import os

__all__ = ["descendants", "gone", "processes_of"]


def gone(pid: int) -> bool:
    """True once ``pid`` has exited: no such process, or a zombie (reaped if it is ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a child of this process: reap it so it is really gone
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):  # reaped while this read it
        return True


def _stat(pid: int) -> tuple[str, int] | None:
    """``(state, ppid)`` of ``pid`` from /proc, or ``None`` once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return fields[0], int(fields[1])


def descendants(pid: int) -> list[int]:
    """The live processes below ``pid`` (children, their children...), from /proc."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            found = _stat(int(name))
            if found is not None and found[0] != "Z":
                children.setdefault(found[1], []).append(int(name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return sorted(out)


def processes_of(uid: int) -> list[tuple[int, str]]:
    """The live processes of ``uid``: ``(pid, command line)``."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid != uid:
                continue
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (FileNotFoundError, ProcessLookupError):
            continue
        found = _stat(int(name))
        if found is not None and found[0] != "Z":
            out.append((int(name), cmd))
    return sorted(out)
