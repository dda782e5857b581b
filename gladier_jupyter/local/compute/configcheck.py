"""A local endpoint's ``config.yaml`` checked in a fresh interpreter, parsl's type checks on.

The service imports parsl with typeguard's ``@typechecked`` left out
(:func:`._worker.typechecks_left_out`: a third of a cold start), so in the service
``HighThroughputExecutor(max_workers_per_node="two")`` would be accepted and fail later,
far from its cause. Before it builds an engine that hands its settings to parsl, the
service has the config loaded here, in a new process where the checks run as on a real
endpoint, and refuses it with their one-line message (``endpoint add`` already checks a
config this way in the caller's process; this covers a config.yaml edited by hand).

``python -m gladier_jupyter.local.compute.configcheck WHERE`` reads the text on stdin;
exit 0: valid, 2: the message is on stdout.
"""

from __future__ import annotations

import logging
import os
import pathlib
import subprocess
import sys

from gladier_jupyter.errors import GladierJupyterUsageError

__all__ = ["check_in_fresh_interpreter"]

log = logging.getLogger("gladier_jupyter.local.compute")

_TIMEOUT = 120.0


def check_in_fresh_interpreter(text: str, *, where: str) -> None:
    """Raise the usage error a fresh interpreter's :func:`.engines.load_config` raises.

    A check that cannot run (no interpreter, a crash, a timeout) is logged and skipped:
    the config is still loaded in this process, by the same loader, without the checks.
    """
    from gladier_jupyter.local import _children

    from . import _worker

    package_root = str(pathlib.Path(__file__).resolve().parents[3])
    env = _worker.clean_environment(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    try:
        # one of the service's children: it ends with the service (kill -9 included)
        proc = _children.spawn(
            [sys.executable, "-m", __name__, where], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=package_root,
        )
        try:
            out, err = proc.communicate(text, timeout=_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()  # as subprocess.run does on a timeout
            proc.communicate()
            raise
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("%s was not type-checked in a fresh interpreter: %s", where, exc)
        return
    if proc.returncode == 2 and out.strip():
        raise GladierJupyterUsageError(out.strip().splitlines()[-1])
    if proc.returncode != 0:
        tail = (err.strip().splitlines() or ["no output"])[-1]
        log.warning("%s was not type-checked in a fresh interpreter (exit %s): %s",
                    where, proc.returncode, tail)


def main(argv: list[str]) -> int:
    from .engines import load_config

    where = argv[0] if argv else "the endpoint config"
    try:
        engine = load_config(sys.stdin.read(), where=where).engine
    except GladierJupyterUsageError as exc:
        print(str(exc))
        return 2
    shutdown = getattr(engine, "shutdown", None)
    if callable(shutdown):  # built only to check it: nothing was started
        try:
            shutdown()
        except Exception:  # noqa: BLE001 - an engine never started may refuse
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
