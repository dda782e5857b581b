"""Processes a test starts and stops (services, workers): is one gone?"""

from __future__ import annotations

import os

__all__ = ["gone"]


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
    except FileNotFoundError:
        return True
