"""``python -m gladier_jupyter.local serve|start|stop|status|endpoint ...``."""

from __future__ import annotations

import argparse
import pathlib
import sys
import typing as t


def main(argv: list[str] | None = None) -> int:
    from gladier_jupyter.local import default_state_dir

    parser = argparse.ArgumentParser(
        prog="python -m gladier_jupyter.local",
        description="The local Globus-compatible service (Flows, Compute, Search).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the service in the foreground")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free)")
    serve.add_argument("--owned", action="store_true",
                       help="stop soon after the processes recorded in <state dir>/owners/ have ended "
                            "and no run is active (how kernels and Jupyter servers start it)")
    for p in (serve, *(sub.add_parser(n, help=h) for n, h in (
        ("start", "start the service detached (if it is not running) and print its URL"),
        ("stop", "stop the running service"),
        ("status", "print the running service's URL and pid"),
    ))):
        p.add_argument("--state-dir", type=pathlib.Path, default=None,
                       help="state folder (default: $GLADIER_JUPYTER_STATE_DIR or ~/.local/state/gladier-jupyter)")
    _endpoint_parser(sub)
    args = parser.parse_args(argv)
    state_dir = args.state_dir or default_state_dir()
    if args.command == "endpoint":
        return _endpoint_command(args, state_dir)

    if args.command == "serve":
        from gladier_jupyter.local.server import serve as run

        run(state_dir, port=args.port, owned=args.owned)
        return 0
    from gladier_jupyter import local

    if args.command == "start":
        started = local.ensure_running(state_dir, owner=False)  # by hand: the long idle timeout
        print(f"running: {started.base_url} (pid {started.pid}, state {started.state_dir})")
        return 0
    if args.command == "stop":
        print("stopped" if local.stop(state_dir) else "not running")
        return 0
    info = local.status(state_dir)
    if info is None:
        print("not running")
        return 1
    print(f"running: {info.base_url} (pid {info.pid}, state {info.state_dir})")
    return 0


def _endpoint_parser(sub: t.Any) -> None:
    endpoint = sub.add_parser("endpoint", help="local Globus Compute endpoints (config.yaml each)")
    verbs = endpoint.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="register an endpoint (prints its UUID)")
    add.add_argument("name")
    add.add_argument("--config", type=pathlib.Path, help="a config.yaml to use as it is")
    add.add_argument("--engine", default="GlobusComputeEngine",
                     help="GlobusComputeEngine (default), ProcessPoolEngine, ThreadPoolEngine")
    add.add_argument("--provider", default="LocalProvider",
                     help="LocalProvider (default), SlurmProvider, PBSProProvider")
    add.add_argument("--max-workers-per-node", type=int, default=1)
    add.add_argument("--nodes-per-block", type=int, default=1)
    add.add_argument("--init-blocks", type=int, default=1)
    add.add_argument("--min-blocks", type=int, default=0)
    add.add_argument("--max-blocks", type=int, default=1)
    add.add_argument("--worker-init", default="", help="shell lines run before each worker starts")
    add.add_argument("--partition", help="Slurm partition / PBS queue")
    add.add_argument("--account")
    add.add_argument("--walltime", help="e.g. 00:30:00")
    add.add_argument("--uuid", dest="endpoint_id", help="keep this UUID (default: a new one)")
    verbs.add_parser("list", help="the registered endpoints")
    for verb, text in (("show", "print an endpoint's UUID and config.yaml"),
                       ("status", "the engine's workers, pending tasks, provider jobs"),
                       ("remove", "forget an endpoint")):
        verbs.add_parser(verb, help=text).add_argument("name")
    export = verbs.add_parser("export", help="write the config.yaml a real endpoint uses")
    export.add_argument("name")
    export.add_argument("--to", type=pathlib.Path, help="folder (default ~/.globus_compute/NAME)")
    for p in (endpoint, *verbs.choices.values()):
        p.add_argument("--state-dir", type=pathlib.Path, default=None, help=argparse.SUPPRESS)


def _endpoint_command(args: argparse.Namespace, state_dir: pathlib.Path) -> int:
    import json

    from gladier_jupyter.errors import GladierJupyterError
    from gladier_jupyter.local import endpoints

    try:
        if args.verb == "add":
            config = args.config.read_text() if args.config else None
            options = {} if config is not None else dict(
                engine=args.engine, provider=args.provider,
                max_workers_per_node=args.max_workers_per_node,
                nodes_per_block=args.nodes_per_block, init_blocks=args.init_blocks,
                min_blocks=args.min_blocks, max_blocks=args.max_blocks,
                worker_init=args.worker_init, partition=args.partition, account=args.account,
                walltime=args.walltime)
            ep = endpoints.add(args.name, config, state_dir=state_dir,
                               endpoint_id=args.endpoint_id, **options)
            print(f"{ep.name} {ep.uuid}")
        elif args.verb == "list":
            for ep in endpoints.list_endpoints(state_dir=state_dir):
                d = ep.describe()
                print(f"{ep.name}\t{ep.uuid}\t{d['engine']}\t{d['provider'] or '-'}")
        elif args.verb == "show":
            ep = endpoints.show(args.name, state_dir=state_dir)
            print(f"# {ep.name} {ep.uuid}\n{ep.config}", end="" if ep.config.endswith("\n") else "\n")
        elif args.verb == "status":
            print(json.dumps(endpoints.status(args.name, state_dir=state_dir), indent=1))
        elif args.verb == "remove":
            ep = endpoints.remove(args.name, state_dir=state_dir)
            print(f"removed {ep.name} {ep.uuid}")
        else:
            _folder, how = endpoints.export(args.name, args.to, state_dir=state_dir)
            print(how)
    except (GladierJupyterError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
