"""An endpoint engine's processes: told to the reaper as they appear, stopped at the end.

A GlobusComputeEngine started ``monitored`` (so each task learns its block and job id)
has, besides Parsl's interchange (a ``subprocess``) and its blocks (a LocalProvider's
process groups, a batch scheduler's jobs), Parsl's monitoring router: a
``multiprocessing`` spawn child ("parsl: monitoring zmq router") that waits on an event
only the engine's shutdown sets, so it outlives a service killed with ``kill -9``. All of
them go to the reaper (:mod:`._reaper`), which stops them when the service is gone.
"""

from __future__ import annotations

import logging
import typing as t

__all__ = ["placement", "record", "stop_engine"]

log = logging.getLogger("gladier_jupyter.local.compute")


def record(engine: t.Any, reaper: t.Any) -> None:
    """Tell ``reaper`` about every process and batch job of ``engine`` that runs now."""
    executor = getattr(engine, "executor", None)
    if executor is None or reaper is None:
        return
    interchange = getattr(executor, "interchange_proc", None)
    if interchange is not None and interchange.poll() is None:
        reaper.process(interchange.pid)
    router = getattr(getattr(executor, "zmq_monitoring", None), "process", None)
    if router is not None and getattr(router, "pid", None):
        reaper.process(int(router.pid))
    provider = getattr(executor, "provider", None)
    kind = type(provider).__name__
    for job_id in list(getattr(executor, "blocks_to_job_id", {}).values()):
        if kind == "LocalProvider":
            pid = getattr(provider, "resources", {}).get(job_id, {}).get("remote_pid")
            if pid:
                reaper.process_group_of(int(pid))
        elif kind == "SlurmProvider":
            reaper.command("scancel", str(job_id))
        elif kind in ("PBSProProvider", "TorqueProvider"):
            reaper.command("qdel", str(job_id))


def stop_engine(engine: t.Any, reaper: t.Any) -> None:
    """Cancel the engine's blocks and shut it down (interchange, monitoring router)."""
    record(engine, reaper)
    executor = getattr(engine, "executor", None)
    provider = getattr(executor, "provider", None)
    job_ids = list(getattr(executor, "blocks_to_job_id", {}).values())
    if provider is not None and job_ids:
        # HTEX's shutdown leaves blocks to the scaling code: cancel them here
        try:
            provider.cancel(job_ids)
        except Exception:  # noqa: BLE001 - the reaper stops what is left
            log.warning("Cancelling the blocks %s of an endpoint failed", job_ids)
    try:
        engine.shutdown(block=True)
    except TypeError:
        engine.shutdown()
    except Exception:
        log.exception("An endpoint engine did not shut down cleanly")


def placement(future: t.Any) -> dict[str, t.Any]:
    """The block and provider job a task ran in, as far as the engine told its future."""
    placed: dict[str, t.Any] = {}
    if getattr(future, "job_id", None) is not None:
        placed["job_id"] = str(future.job_id)
    if getattr(future, "block_id", None) is not None:
        placed["block_id"] = str(future.block_id)
    return placed
