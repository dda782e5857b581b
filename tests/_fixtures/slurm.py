"""A real single-node Slurm cluster for the tests, started in a temporary folder.

``slurm_cluster`` (session-scoped) starts Debian's ``munged``, ``slurmctld`` and ``slurmd``
with every key, socket, pid, spool, state and log file in one temporary folder and its own
ports, so it collides neither with a system munged/Slurm nor with another test session on
the same machine; at the end it cancels every job, stops the daemons by their pid files and
kills whatever process of the cluster is still there (a ``slurmstepd``, a job's processes),
also when a test failed. It needs root (``SlurmUser=root``; slurmd runs jobs as their user)
and the packages (``make slurm``): otherwise the tests that use it skip with the reason.

The cluster has no accounting (``sacct`` answers "Slurm accounting storage is disabled"), so
the jobs it ran are read from slurmctld's own log: :meth:`SlurmCluster.jobs_allocated`.

Helpers for Globus Compute: :func:`slurm_engine` builds a ``GlobusComputeEngine`` whose Parsl
``SlurmProvider`` submits to this cluster, :func:`packed_task` packs a function call the way
the Globus Compute web service hands it to an endpoint, and :func:`write_endpoint_config`
writes the endpoint ``config.yaml`` (the format ``globus-compute-endpoint configure`` writes)
for an endpoint that runs its tasks in this cluster.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing as t
import uuid

import pytest

from tests._fixtures.environ import environ_set
from tests._fixtures.processes import gone
from tests._fixtures.waiting import wait_until

__all__ = [
    "PARTITION",
    "SlurmCluster",
    "endpoint_config",
    "packed_task",
    "slurm_cluster",
    "slurm_engine",
    "slurm_unavailable",
    "start_cluster",
    "stop_engine",
    "unpack_result",
    "write_endpoint_config",
]

PARTITION = "debug"
DAEMONS = ("slurmctld", "slurmd", "munged")
CLIENTS = ("sbatch", "squeue", "scancel", "sinfo", "scontrol")
# Every daemon of a cluster is started with this variable (its folder): the processes they
# start inherit it, so the clean-up finds a left-over ``slurmstepd`` by it.
MARKER = "GLADIER_JUPYTER_TEST_SLURM"
VENV_BIN = str(pathlib.Path(sys.executable).parent)


def slurm_unavailable() -> str | None:
    """Why a Slurm cluster cannot start here (``None`` when it can)."""
    missing = [name for name in (*DAEMONS, *CLIENTS, "munge") if shutil.which(name) is None
               and not os.path.exists(f"/usr/sbin/{name}")]
    if missing:
        return (f"Slurm is not installed (missing {', '.join(missing)}): "
                "run 'make slurm' as root (apt-get install slurm-wlm munge)")
    if os.geteuid() != 0:
        return "a Slurm cluster needs root (SlurmUser=root, slurmd runs jobs as their user)"
    return None


def _exe(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _machine() -> tuple[int, int]:
    """(CPUs, RealMemory in MB) as slurmd itself sees this machine (``slurmd -C``)."""
    try:
        out = subprocess.run([_exe("slurmd"), "-C"], capture_output=True, text=True,
                             timeout=10).stdout
        cpus = int(re.search(r"\bCPUs=(\d+)", out).group(1))  # type: ignore[union-attr]
        memory = int(re.search(r"\bRealMemory=(\d+)", out).group(1))  # type: ignore[union-attr]
        return cpus, memory
    except (AttributeError, ValueError, OSError, subprocess.SubprocessError):
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        return os.cpu_count() or 1, pages // (1024 * 1024)


@dataclasses.dataclass
class SlurmCluster:
    """A running single-node cluster: its folder, ``slurm.conf`` and the env its clients need."""

    root: pathlib.Path
    hostname: str
    cpus: int
    memory_mb: int
    ports: tuple[int, int]
    partition: str = PARTITION
    # linuxproc finds a job's processes by their parent: one whose parent died (the workers
    # of a SIGKILLed Parsl manager) escapes it and outlives the job; pgid kills the job's
    # whole process group. (cgroup is not available in this machine's sandbox.)
    proctrack: str = "proctrack/pgid"

    @property
    def conf(self) -> pathlib.Path:
        return self.root / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        """What a Slurm client (sbatch, squeue, Parsl's SlurmProvider) needs to reach it."""
        return {"SLURM_CONF": str(self.conf)}

    @property
    def pid_files(self) -> dict[str, pathlib.Path]:
        return {"slurmd": self.root / "slurmd.pid", "slurmctld": self.root / "slurmctld.pid",
                "munged": self.root / "munge" / "munged.pid"}

    @property
    def ctld_log(self) -> pathlib.Path:
        return self.root / "log" / "slurmctld.log"

    def run(self, *argv: str, timeout: float = 10, check: bool = True) -> str:
        """A Slurm client command against this cluster; its standard output."""
        res = subprocess.run([_exe(argv[0]), *argv[1:]], capture_output=True, text=True,
                             timeout=timeout, env={**os.environ, **self.env})
        if check and res.returncode:
            raise RuntimeError(f"{' '.join(argv)} failed ({res.returncode}): "
                               f"{(res.stderr or res.stdout).strip()[:300]}")
        return res.stdout

    def squeue(self) -> dict[str, str]:
        """Job id -> state code (PD, R, CG, ...) of every job the controller still lists."""
        out = self.run("squeue", "--noheader", "--format=%i %t")
        return dict(line.split(None, 1) for line in out.splitlines() if line.strip())

    def squeue_job_ids(self) -> set[str]:
        return set(self.squeue())

    def jobs_allocated(self) -> list[str]:
        """Ids of the jobs the controller started (``sched: Allocate JobId=N``), in order.

        No accounting here, so ``sacct`` cannot answer; slurmctld logs every allocation.
        """
        try:
            text = self.ctld_log.read_text(errors="replace")
        except FileNotFoundError:
            return []
        return re.findall(r"sched: Allocate JobId=(\d+)", text)

    def node_state(self) -> str:
        return self.run("sinfo", "--noheader", "--Node", "--format=%T").strip()

    def wait_idle(self, timeout: float = 30) -> None:
        """Until no job is listed and the node is idle (ready for the next test)."""
        wait_until(lambda: (self.squeue(), self.node_state()), timeout,
                   f"Slurm node {self.hostname} idle with no job",
                   until=lambda v: not v[0] and v[1] == "idle", interval=0.05,
                   ignore=(RuntimeError, subprocess.TimeoutExpired), context=self.log_tail)

    def cancel_all(self, timeout: float = 20) -> None:
        ids = sorted(self.squeue_job_ids())
        if ids:
            self.run("scancel", *ids, check=False)
            wait_until(self.squeue_job_ids, timeout, f"jobs {ids} gone after scancel",
                       until=lambda v: not v, interval=0.05,
                       ignore=(RuntimeError, subprocess.TimeoutExpired))

    def log_tail(self, lines: int = 15) -> str:
        parts = []
        for name in ("slurmctld.log", "slurmd.log"):
            path = self.root / "log" / name
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {name}\n" + "\n".join(tail))
        return "\n".join(parts)

    def processes(self) -> list[int]:
        """Pids of every process of this cluster still alive: its daemons and what they
        started (slurmstepd: ``MARKER`` in their environment) and the processes of its jobs
        (``SLURM_CONF`` of this cluster and a ``SLURM_JOB_ID``). Not a client of the cluster
        outside a job, such as an engine's interchange."""
        mark = f"{MARKER}={self.root}".encode()
        conf = f"SLURM_CONF={self.conf}".encode()
        me = os.getpid()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == me:
                continue
            try:
                environ = pathlib.Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            in_job = conf in environ and any(v.startswith(b"SLURM_JOB_ID=") for v in environ)
            if (mark in environ or in_job) and not gone(int(entry)):
                found.append(int(entry))
        return found

    def job_processes(self, job_id: str) -> dict[int, str]:
        """Pid -> command line of every process running inside job ``job_id``."""
        want = f"SLURM_JOB_ID={job_id}".encode()
        conf = f"SLURM_CONF={self.conf}".encode()
        found = {}
        for pid in self.processes():
            try:
                environ = pathlib.Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                argv = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if want in environ and conf in environ:
                found[pid] = " ".join(a.decode(errors="replace") for a in argv if a)
        return found

    def parsl_managers(self, job_id: str) -> list[int]:
        """Pids of Parsl's worker pools (the manager, not its workers) in job ``job_id``."""
        pools = {pid for pid, cmd in self.job_processes(job_id).items()
                 if "parsl.executors.high_throughput.process_worker_pool" in cmd}
        return sorted(pid for pid in pools if _parent(pid) not in pools)


def _parent(pid: int) -> int | None:
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])


def _write_conf(c: SlurmCluster) -> None:
    r = c.root
    ctld_port, d_port = c.ports
    c.conf.write_text(f"""\
# A single-node test cluster: everything in {r}
ClusterName=gjtest
SlurmctldHost={c.hostname}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={r}/munge/munge.socket
SlurmUser=root
SlurmdUser=root
ProctrackType={c.proctrack}
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
NodeName={c.hostname} NodeAddr=127.0.0.1 CPUs={c.cpus} RealMemory={c.memory_mb} State=UNKNOWN
PartitionName={c.partition} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")


def _signal_pid_file(path: pathlib.Path, sig: int) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    return pid


def _stop(c: SlurmCluster) -> list[int]:
    """Cancel the jobs, stop the daemons (pid files), kill any left-over; what was killed."""
    with contextlib.suppress(Exception):  # a controller that is down has no job to cancel
        c.cancel_all()
    pids = [p for p in (_signal_pid_file(f, signal.SIGTERM) for f in c.pid_files.values()) if p]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(gone(p) for p in pids):
        time.sleep(0.05)
    killed = [p for p in pids if not gone(p)]
    for pid in [*killed, *c.processes()]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and c.processes():
        time.sleep(0.05)
    return killed


@contextlib.contextmanager
def start_cluster(root: pathlib.Path | None = None, *, timeout: float = 30) -> t.Iterator[SlurmCluster]:
    """Start munged, slurmctld and slurmd in ``root`` (a new temporary folder by default);
    yield once the node is idle; stop them all on the way out, whatever happened."""
    reason = slurm_unavailable()
    if reason:
        raise RuntimeError(reason)
    own_root = root is None
    root = pathlib.Path(tempfile.mkdtemp(prefix="gladier-jupyter-slurm-")) if root is None else root
    cpus, memory = _machine()
    c = SlurmCluster(root=root, hostname=socket.gethostname(), cpus=cpus, memory_mb=memory,
                     ports=tuple(_free_ports(2)))  # type: ignore[arg-type]
    for sub in ("munge", "state", "spool", "log"):
        (root / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    _write_conf(c)
    env = {**os.environ, **c.env, MARKER: str(root)}
    m = root / "munge"
    try:
        for argv in (
            [_exe("munged"), "--force", f"--key-file={key}", f"--socket={m}/munge.socket",
             f"--pid-file={m}/munged.pid", f"--log-file={m}/munged.log",
             f"--seed-file={m}/munged.seed"],
            [_exe("slurmctld"), "-i"],  # -i: no state to recover from
            [_exe("slurmd"), "-N", c.hostname],
        ):
            res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                                 cwd=root)
            if res.returncode:
                raise RuntimeError(f"{pathlib.Path(argv[0]).name} did not start "
                                   f"({res.returncode}): {(res.stderr or res.stdout).strip()[:300]}"
                                   f"\n{c.log_tail()}")
        c.wait_idle(timeout)
        yield c
    finally:
        _stop(c)
        if own_root:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def slurm_cluster() -> t.Iterator[SlurmCluster]:
    """The session's Slurm cluster. ``SLURM_CONF`` (and the venv's ``bin`` first on ``PATH``,
    where the engine finds ``globus-compute-endpoint``) are set in this process while it
    runs, as a Slurm user's login shell would have them; both are restored at the end."""
    reason = slurm_unavailable()
    if reason:
        pytest.skip(reason)
    with start_cluster() as cluster, environ_set(
            {**cluster.env, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}):
        yield cluster


# --- Globus Compute on the cluster --------------------------------------------------------

def worker_init() -> str:
    """The job's first lines: the test's own venv first on PATH (its python and
    ``globus-compute-endpoint``, which starts Parsl's worker pool)."""
    return f"export PATH={VENV_BIN}:$PATH"


def provider_options(cluster: SlurmCluster, **overrides: t.Any) -> dict[str, t.Any]:
    """SlurmProvider's options for one block of one node of this cluster, started on
    demand (no block before the first task) and shared with other jobs (not exclusive)."""
    return {"partition": cluster.partition, "nodes_per_block": 1, "init_blocks": 0,
            "min_blocks": 0, "max_blocks": 1, "walltime": "00:10:00", "exclusive": False,
            "worker_init": worker_init(), "cmd_timeout": 10, **overrides}


def slurm_engine(cluster: SlurmCluster, *, provider: dict[str, t.Any] | None = None,
                 **engine: t.Any):
    """A (not started) ``GlobusComputeEngine`` whose SlurmProvider submits to ``cluster``.

    Start it with ``engine.start(endpoint_id=..., run_dir=...)``; ``engine.shutdown()``
    cancels its block jobs (Parsl scales in).
    """
    from globus_compute_endpoint.engines import GlobusComputeEngine
    from parsl.launchers import SingleNodeLauncher
    from parsl.providers import SlurmProvider

    prov = SlurmProvider(launcher=SingleNodeLauncher(), **provider_options(cluster, **(provider or {})))
    options: dict[str, t.Any] = {"address": "127.0.0.1", "max_workers_per_node": cluster.cpus,
                                 "heartbeat_period": 2, "heartbeat_threshold": 6,
                                 "job_status_kwargs": {"strategy_period": 0.5, "max_idletime": 30.0},
                                 **engine}
    return GlobusComputeEngine(provider=prov, **options)


def stop_engine(engine, timeout: float = 30) -> bool:
    """``engine.shutdown()``, bounded: True when it returned within ``timeout``.

    Parsl's shutdown waits for its result thread, which never ends once the interchange was
    killed (the engine then also never scales in its blocks): past ``timeout`` this cancels
    the engine's block jobs itself and kills its interchange, so nothing is left running.
    """
    import threading

    done = threading.Thread(target=engine.shutdown, daemon=True, name="engine-shutdown")
    done.start()
    done.join(timeout)
    if not done.is_alive():
        return True
    jobs = sorted(set(engine.executor.blocks_to_job_id.values()))
    if jobs:
        subprocess.run([_exe("scancel"), *jobs], capture_output=True, timeout=10, check=False)
    proc = engine.executor.interchange_proc
    if proc is not None and proc.poll() is None:
        proc.kill()
    return False


def packed_task(fn: t.Callable, *args: t.Any, task_id: uuid.UUID | None = None,
                **kwargs: t.Any) -> tuple[uuid.UUID, bytes]:
    """``(task_id, bytes)``: a call of ``fn`` packed as the web service hands a task to an
    endpoint (a messagepack ``Task`` whose buffer is the SDK's serialized function and
    arguments; the function travels as its source, so it imports what it uses), what ``engine.submit(GCFuture(task_id), packed, resource_specification={})``
    takes."""
    from globus_compute_common import messagepack
    from globus_compute_common.messagepack.message_types import Task
    from globus_compute_sdk.serialize import ComputeSerializer, DillCodeSource

    serde = ComputeSerializer(strategy_code=DillCodeSource())  # by source: no test import
    task_id = task_id or uuid.uuid4()
    buffer = serde.pack_buffers([serde.serialize(fn), serde.serialize(args),
                                 serde.serialize(kwargs)])
    return task_id, messagepack.pack(Task(task_id=task_id, task_buffer=buffer))


def unpack_result(packed: bytes) -> t.Any:
    """The value of a packed ``Result``; a ``RuntimeError`` with its text when it failed."""
    from globus_compute_common import messagepack
    from globus_compute_sdk.serialize import ComputeSerializer

    result = messagepack.unpack(packed)
    if result.is_error:
        raise RuntimeError(result.data)
    return ComputeSerializer().deserialize(result.data)


def endpoint_config(cluster: SlurmCluster, *, display_name: str = "Slurm test cluster",
                    max_workers_per_node: int | None = None,
                    walltime: str = "00:10:00", strategy_period: float = 1.0,
                    max_idletime: float = 120.0) -> dict[str, t.Any]:
    """An endpoint's ``config.yaml`` as a dict (the layout ``globus-compute-endpoint
    configure`` writes) whose engine runs its tasks in blocks of ``cluster``.

    A block job starts when tasks wait (Parsl's strategy looks every ``strategy_period``
    seconds; the default of 5 s would add up to 5 s to a cold start) and is cancelled after
    ``max_idletime`` seconds without a task.
    """
    return {
        "display_name": display_name,
        "engine": {
            "type": "GlobusComputeEngine",
            "max_workers_per_node": max_workers_per_node or cluster.cpus,
            "address": "127.0.0.1",
            "job_status_kwargs": {"strategy_period": strategy_period,
                                  "max_idletime": max_idletime},
            "provider": {
                "type": "SlurmProvider",
                "partition": cluster.partition,
                "exclusive": False,
                "launcher": {"type": "SingleNodeLauncher"},
                "worker_init": worker_init(),
                "walltime": walltime,
                "nodes_per_block": 1,
                "init_blocks": 0,
                "min_blocks": 0,
                "max_blocks": 1,
            },
        },
    }


def write_endpoint_config(cluster: SlurmCluster, folder: pathlib.Path | str, **options: t.Any) -> pathlib.Path:
    """Write ``folder/config.yaml`` for an endpoint on ``cluster`` (see
    :func:`endpoint_config`); the endpoint's process needs ``cluster.env`` (SLURM_CONF)."""
    import yaml

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(endpoint_config(cluster, **options), sort_keys=False))
    return path
