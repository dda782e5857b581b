"""``python -m gladier_jupyter.local serve|start|stop|status``."""

from __future__ import annotations

import argparse
import pathlib
import sys


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
    args = parser.parse_args(argv)
    state_dir = args.state_dir or default_state_dir()

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


if __name__ == "__main__":
    sys.exit(main())
