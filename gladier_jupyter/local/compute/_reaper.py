"""Stops an endpoint engine's processes and batch jobs when the service is gone.

Parsl starts its interchange and its blocks (process groups of a LocalProvider, jobs of a
batch scheduler) as ordinary children that would outlive a service killed with ``kill
-9``. The service starts this small process (standard library only) with a pipe on its
stdin and writes one line per thing to stop: ``pid PID START`` (a process, with its start
time so a reused pid is never hit), ``pg PGID START|-`` (a process group: a block's) or ``cmd scancel JOBID`` (a command
that cancels a batch job). When the pipe closes (the service ended, however it ended) it
stops every one of them and exits.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

__all__ = ["Reaper", "start_time"]


class Reaper:
    """The service's side: start the reaper, tell it what to stop, :meth:`close` it."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, text=True,  # a Ctrl-C of the service must not reach it
        )
        self._told: set[str] = set()

    def _tell(self, line: str) -> None:
        if line in self._told or self._proc.stdin is None:
            return
        self._told.add(line)
        try:
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def process(self, pid: int) -> None:
        started = start_time(pid)
        if started is not None:
            self._tell(f"pid {pid} {started}")

    def process_group_of(self, pid: int) -> None:
        """The process group ``pid`` is in (never the service's own)."""
        pgid = _pgid(pid)
        if pgid is None or pgid == os.getpgrp():
            return
        self._tell(f"pg {pgid} {start_time(pgid) or '-'}")

    def command(self, *argv: str) -> None:
        self._tell("cmd " + " ".join(argv))

    def close(self) -> None:
        """Stop everything told (what is already gone is skipped) and let the reaper end."""
        if self._proc.stdin is not None:
            try:
                self._proc.stdin.close()
            except OSError:
                pass
        try:
            self._proc.wait(30)
        except subprocess.TimeoutExpired:
            self._proc.kill()


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return None


def _pgid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rpartition(")")[2].split()[2])
    except (OSError, IndexError, ValueError):
        return None


def _stop(line: str) -> None:
    kind, _, rest = line.partition(" ")
    if kind == "pid":
        pid_text, _, started = rest.partition(" ")
        if start_time(int(pid_text)) == started.strip():
            try:
                os.kill(int(pid_text), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    elif kind == "pg":
        pid_text, _, started = rest.partition(" ")
        pid = int(pid_text)
        now = start_time(pid)
        if now is not None and now != started.strip():
            return  # the pid now names another process (the group is gone: no kill)
        # The leader may have exited while the group lives on (a LocalProvider block's
        # shell): while any member lives, the kernel never hands the group's id to a new
        # process, so a group found under this id is still the one recorded.
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    elif kind == "cmd":
        argv = rest.split()
        if argv and argv[0] in ("scancel", "qdel") and shutil.which(argv[0]):
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=30, check=False)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    things = [line.strip() for line in sys.stdin if line.strip()]
    for line in things:
        try:
            _stop(line)
        except (ValueError, OSError, subprocess.SubprocessError):
            continue


if __name__ == "__main__":
    main()
