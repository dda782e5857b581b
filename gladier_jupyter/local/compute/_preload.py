"""Imported by the embedded default's forkserver before it forks a worker: ``execute_task``.

``globus_compute_endpoint.engines.helper`` imports parsl, whose package imports all of
its executors and providers, and with them, where installed, boto3 (parsl's AWS provider)
and SQLAlchemy (its monitoring database): about a third of the import, and nothing a
worker uses (a worker only runs ``execute_task``). They are kept out of this import only;
a task function that imports them afterwards gets them as usual. Parsl's typeguard checks
(on its own API, which a worker never calls) are left out of the import too, another
third of it (:func:`._worker.typechecks_left_out`).
"""

from __future__ import annotations

from ._worker import modules_hidden, typechecks_left_out

UNUSED_IN_WORKERS = ("boto3", "sqlalchemy")

with modules_hidden(*UNUSED_IN_WORKERS), typechecks_left_out():
    import globus_compute_endpoint.engines.helper  # noqa: F401
