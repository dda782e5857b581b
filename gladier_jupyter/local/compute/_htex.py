"""What the service can learn of a HighThroughputExecutor's managers and workers, and do
to them (Parsl's internals, kept in this one module).

Parsl keeps which worker runs which task inside each manager (a dict in the manager's
own ``multiprocessing`` server); the only record outside it is the logs every manager
and worker writes under the executor's worker log dir
(``{worker_logdir}/block-{block_id}/{manager uid}/``): ``worker_K.log`` says ``Received
executor task N`` when worker K takes task N (after the manager has recorded it as in
progress, so Parsl itself reports ``WorkerLost`` for it if K dies), ``All processing
finished for executor task N`` when it is done, and ``manager.log`` says ``Worker K was
busy when it died`` (Parsl then fails its task ``WorkerLost``) or ``Worker K was not busy
when it died`` when the manager's worker watchdog finds K dead. The folder is the one the
submit side chose, so it is readable here for a LocalProvider block and for a batch
block on a shared file system.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pathlib
import re
import signal
import typing as t

__all__ = ["Htex", "ManagerLog"]

log = logging.getLogger("gladier_jupyter.local.compute")

_RECEIVED = re.compile(r"Received executor task (\d+)")
_FINISHED = re.compile(r"All processing finished for executor task (\d+)")
_STARTED = re.compile(r"Worker (\d+) started")
_DIED_IDLE = re.compile(r"Worker (\d+) was not busy when it died")
_MAX_READ = 4 << 20  # a log grown by more than this between two looks is read from its end


@dataclasses.dataclass
class ManagerLog:
    """One manager's log folder, read a little more at each :meth:`read`."""

    uid: str
    block_id: str
    folder: pathlib.Path
    started: dict[int, int] = dataclasses.field(default_factory=dict)  # task -> worker
    finished: set[int] = dataclasses.field(default_factory=set)
    current: dict[int, int] = dataclasses.field(default_factory=dict)  # worker -> task
    idle_deaths: int = 0  # workers that died while not running a task
    _offsets: dict[str, int] = dataclasses.field(default_factory=dict)

    def read(self) -> None:
        # the workers' logs first: a task a worker took before it died is then known
        # as started when the manager's line about the death is read
        try:
            names = sorted(p.name for p in self.folder.glob("worker_*.log"))
        except OSError:
            names = []
        for name in names:
            worker = _worker_number(name)
            for line in self._new_lines(name):
                if (m := _RECEIVED.search(line)) is not None:
                    self.started[int(m[1])] = worker
                    self.current[worker] = int(m[1])
                elif (m := _FINISHED.search(line)) is not None:
                    self.finished.add(int(m[1]))
                    self.current.pop(worker, None)
                elif _STARTED.search(line) is not None:
                    self.current.pop(worker, None)  # a new incarnation: the old one's task is gone
        for line in self._new_lines("manager.log"):
            if _DIED_IDLE.search(line) is not None:
                self.idle_deaths += 1

    def running(self) -> set[int]:
        """Tasks a worker took and has not finished (as far as the logs tell)."""
        return set(self.current.values())

    def _new_lines(self, name: str) -> list[str]:
        path = self.folder / name
        offset = self._offsets.get(name, 0)
        try:
            with open(path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < offset:
                    offset = 0
                if size - offset > _MAX_READ:
                    offset = size - _MAX_READ
                fh.seek(offset)
                data = fh.read(size - offset)
        except OSError:
            return []
        end = data.rfind(b"\n") + 1  # whole lines only: the rest is read next time
        self._offsets[name] = offset + end
        return data[:end].decode("utf-8", "replace").splitlines()

    def worker_pid(self, worker: int) -> int | None:
        """The pid of worker ``worker`` if it runs on this host: the one child of this
        manager that holds its log file open (a dead incarnation holds nothing)."""
        target = str(self.folder / f"worker_{worker}.log")
        managers = [pid for pid in _pids() if "process_worker_pool" in _cmdline(pid)
                    and str(self.folder / "manager.log") in _open_files(pid)]
        for pid in _pids():
            if _ppid(pid) in managers and target in _open_files(pid):
                return pid
        return None


def _worker_number(name: str) -> int:
    try:
        return int(name[len("worker_"):-len(".log")])
    except ValueError:
        return -1


# This host's processes, from /proc (Linux; elsewhere no worker is found here)
def _pids() -> list[int]:
    try:
        return [int(n) for n in os.listdir("/proc") if n.isdigit()]
    except OSError:
        return []


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rpartition(")")[2].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _open_files(pid: int) -> set[str]:
    found: set[str] = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found
    for fd in fds:
        with contextlib.suppress(OSError):
            found.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return found


class Htex:
    """One HighThroughputExecutor as the service sees it: its managers' logs, holding and
    cancelling a block, and stopping one worker."""

    def __init__(self, executor: t.Any, since: float):
        self.executor = executor
        self.since = since  # the executor's start: older folders are an earlier engine's
        self.managers: dict[str, ManagerLog] = {}

    def refresh(self) -> list[ManagerLog]:
        """Read what this executor's managers logged since the last look.

        The managers are found by their folders (``block-B/UID`` of a block of this
        executor, made since it started), not by asking the interchange: Parsl's command
        channel waits for ever on an interchange that died, and this runs on the thread
        that notices such a death.
        """
        root = pathlib.Path(str(self.executor.worker_logdir))
        for block in list(getattr(self.executor, "blocks_to_job_id", {})):
            try:
                folders = list((root / f"block-{block}").iterdir())
            except OSError:
                continue
            for folder in folders:
                if folder.name in self.managers:
                    continue
                try:
                    if not folder.is_dir() or folder.stat().st_mtime < self.since - 1:
                        continue
                except OSError:
                    continue
                self.managers[folder.name] = ManagerLog(folder.name, str(block), folder)
        for manager in self.managers.values():
            manager.read()
        return list(self.managers.values())

    def of_block(self, block_id: str) -> list[ManagerLog]:
        return [m for m in self.managers.values() if m.block_id == block_id]

    def where_started(self, task: int) -> tuple[ManagerLog, int] | None:
        for manager in self.managers.values():
            if task in manager.started:
                return manager, manager.started[task]
        return None

    def hold_block(self, block_id: str) -> None:
        """The interchange sends the block's managers no more tasks (Parsl's hold)."""
        for manager in self.of_block(block_id):
            try:
                self.executor._hold_manager(manager.uid)
            except Exception:  # noqa: BLE001 - the cancel that follows stops it anyway
                log.warning("Holding manager %s of an endpoint failed", manager.uid)

    def cancel_block(self, block_id: str) -> bool:
        """Cancel the block's provider job (Parsl's scaling then starts another one)."""
        job_id = self.executor.blocks_to_job_id.get(block_id)
        provider = getattr(self.executor, "provider", None)
        if job_id is None or provider is None:
            return False
        try:
            provider.cancel([job_id])
        except Exception:  # noqa: BLE001 - best effort: the reaper stops it with the service
            log.warning("Cancelling block %s (job %s) of an endpoint failed", block_id, job_id)
            return False
        return True

    def block_of_task(self, task: int) -> str | None:
        found = self.where_started(task)
        return found[0].block_id if found else None

    @staticmethod
    def kill(pid: int) -> bool:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            return True
        return False
