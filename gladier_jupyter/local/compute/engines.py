"""Endpoint ``config.yaml`` text: written in ``globus-compute-endpoint configure``'s format,
read (validated, turned into an engine) by ``globus-compute-endpoint``'s own loader.

A config here is the same file a real endpoint reads from ``~/.globus_compute/NAME/``;
see https://globus-compute.readthedocs.io/en/stable/endpoints/config_reference.html.
"""

from __future__ import annotations

import platform
import typing as t

import yaml

from gladier_jupyter.errors import GladierJupyterUsageError

__all__ = [
    "ENGINE_TYPES",
    "PROVIDER_TYPES",
    "build_engine",
    "config_text",
    "describe",
    "load_config",
    "worker_python",
]

ENGINE_TYPES = ("GlobusComputeEngine", "ProcessPoolEngine", "ThreadPoolEngine")
#: engine types whose settings reach parsl's (type-checked) executors and providers
NEEDS_PARSL = ("GlobusComputeEngine", "GlobusMPIEngine")
PROVIDER_TYPES = ("LocalProvider", "SlurmProvider", "PBSProProvider")


def config_text(
    *,
    engine: str = "GlobusComputeEngine",
    provider: str = "LocalProvider",
    display_name: str | None = None,
    max_workers_per_node: int = 1,
    nodes_per_block: int = 1,
    init_blocks: int = 1,
    min_blocks: int = 0,
    max_blocks: int = 1,
    worker_init: str = "",
    partition: str | None = None,
    account: str | None = None,
    walltime: str | None = None,
) -> str:
    """A ``config.yaml`` as ``globus-compute-endpoint configure`` lays it out."""
    if engine not in ENGINE_TYPES:
        raise GladierJupyterUsageError(
            f"Engine type {engine[:60]!r} is not known; use one of {', '.join(ENGINE_TYPES)}."
        )
    doc: dict[str, t.Any] = {"display_name": display_name}
    spec: dict[str, t.Any] = {"type": engine}
    if engine == "GlobusComputeEngine":
        if provider not in PROVIDER_TYPES:
            raise GladierJupyterUsageError(
                f"Provider type {provider[:60]!r} is not known; use one of "
                f"{', '.join(PROVIDER_TYPES)}."
            )
        if provider == "LocalProvider":
            # workers on this machine: the interchange listens on loopback only (and the
            # managers do not probe every interface of the host before connecting)
            spec["address"] = "127.0.0.1"
        spec["max_workers_per_node"] = max_workers_per_node
        prov: dict[str, t.Any] = {"type": provider}
        if provider != "LocalProvider":
            prov["nodes_per_block"] = nodes_per_block
            queue_key = "queue" if provider == "PBSProProvider" else "partition"
            for key, value in ((queue_key, partition), ("account", account),
                               ("walltime", walltime)):
                if value:
                    prov[key] = value
            if provider == "SlurmProvider":
                prov["launcher"] = {"type": "SrunLauncher"}
        prov.update(init_blocks=init_blocks, min_blocks=min_blocks, max_blocks=max_blocks,
                    worker_init=worker_init)
        spec["provider"] = prov
    else:
        spec["max_workers"] = max_workers_per_node
    doc["engine"] = spec
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= 240 else line[:237] + "..."


def load_config(text: str, *, where: str = "the endpoint config") -> t.Any:
    """The ``UserEndpointConfig`` (with its engine built, not started) of ``text``."""
    from click import ClickException
    from globus_compute_endpoint.endpoint.config.utils import load_config_yaml

    try:
        config = load_config_yaml(text)
    except ClickException as exc:
        raise GladierJupyterUsageError(
            f"{where} is not a valid Globus Compute endpoint config: "
            f"{_one_line(exc.message)}. Fix it (see `globus-compute-endpoint configure`)."
        ) from None
    if getattr(config, "engine", None) is None:
        raise GladierJupyterUsageError(
            f"{where} has no 'engine:' section; a local endpoint needs one "
            f"(type: one of {', '.join(ENGINE_TYPES)})."
        )
    return config


def build_engine(text: str, *, where: str = "the endpoint config") -> t.Any:
    """The engine ``text`` describes, not started (``engine.start(...)`` starts it)."""
    from . import _worker

    _put_interpreter_on_path()
    if _worker.parsl_unchecked() and _spec(text).get("type") in NEEDS_PARSL:
        from .configcheck import check_in_fresh_interpreter

        check_in_fresh_interpreter(text, where=where)
    engine = load_config(text, where=where).engine
    if type(engine).__name__ == "ProcessPoolEngine":
        _fork_from_the_forkserver(engine)
    _one_submission_at_a_time(engine)
    return engine


def _one_submission_at_a_time(engine: t.Any) -> None:
    # Parsl's HighThroughputExecutor takes tasks from one thread (a real endpoint's
    # "Pending Task Handler"): submit_payload numbers the task with an unlocked counter
    # and sends it on a ZMQ socket, which is not thread-safe. The service hands tasks
    # over from a thread each, and the engine re-submits a retry from its result thread:
    # concurrent sends fail tasks with a bogus zmq ContextTerminated, and two tasks given
    # the same number would leave one without an end. So submissions take turns.
    import functools
    import threading

    executor: t.Any = getattr(engine, "executor", None)
    submit = getattr(executor, "submit_payload", None)
    if submit is None:
        return
    lock = threading.Lock()

    @functools.wraps(submit)
    def in_turn(*args: t.Any, **kwargs: t.Any) -> t.Any:
        with lock:
            return submit(*args, **kwargs)

    executor.submit_payload = in_turn


def _fork_from_the_forkserver(engine: t.Any) -> None:
    # A ProcessPoolEngine's pool forks the service by default: its workers would hold the
    # service's sockets and pipes and outlive it. Its workers come from the embedded
    # default's forkserver instead, set up the same way (own process group, death with the
    # service, no credentials); ``_executor_kwargs`` is what the engine's start() hands
    # to ProcessPoolExecutor.
    import os

    from . import _worker

    kwargs = engine._executor_kwargs
    kwargs.setdefault("mp_context", _worker.forkserver_context())
    if "initializer" not in kwargs:
        kwargs["initializer"] = _worker.init_worker
        kwargs["initargs"] = (None, os.getpid(), _worker.clean_environment(os.environ))


def _put_interpreter_on_path() -> None:
    # Parsl starts its interchange and workers by command name (process_worker_pool.py,
    # globus-compute-endpoint's helpers): they live beside this interpreter, which need
    # not be on PATH (a venv used by its full path, as a Jupyter kernel does).
    import os
    import sys

    bin_dir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, path]) if path else bin_dir


def _spec(text: str) -> dict[str, t.Any]:
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return {}
    engine = doc.get("engine") if isinstance(doc, dict) else None
    return engine if isinstance(engine, dict) else {}


def describe(text: str) -> dict[str, t.Any]:
    """Engine type, provider type, workers per node, blocks and worker_init, as written."""
    spec = _spec(text)
    given = spec.get("provider")
    provider: dict[str, t.Any] = given if isinstance(given, dict) else {}
    return {
        "engine": spec.get("type"),
        "provider": provider.get("type"),
        "max_workers_per_node": spec.get("max_workers_per_node", spec.get("max_workers")),
        "nodes_per_block": provider.get("nodes_per_block"),
        "max_blocks": provider.get("max_blocks"),
        "worker_init": provider.get("worker_init") or "",
    }


def worker_python(text: str) -> str | None:
    """The Python version the endpoint's workers run, where it is known without starting them.

    Workers run this interpreter unless ``worker_init`` sets up another one (a module
    load, a venv): then the version is unknown (``None``) and no check is made.
    """
    info = describe(text)
    if str(info["worker_init"]).strip():
        return None
    return platform.python_version()
