"""A local Transfer API over the folders that stand for collections.

The ``v0.10`` paths globus-sdk's ``TransferClient`` (and gladier-tools) call:
``endpoint/<id>`` and its access rules (``access_list``, ``access[/<rule>]``),
``operation/endpoint/<id>/ls``, ``/stat``, ``/mkdir`` and ``/rename``, ``submission_id``,
``transfer`` and ``delete`` (done at once), ``task/<id>`` and ``task_list``. Split as the
other APIs are: :mod:`.routes` (stateless), :mod:`.service` (operations, SQLite),
:mod:`.documents` (Transfer's documents), :mod:`.errors`, and :mod:`.collections` (collection
id -> folder, link-safe copies).
"""

from __future__ import annotations

from gladier_jupyter.local._http import ServiceContext
from gladier_jupyter.local.transfer.errors import TransferError
from gladier_jupyter.local.transfer.routes import routes
from gladier_jupyter.local.transfer.service import TransferService

__all__ = ["TransferError", "TransferService", "error_class", "make_service", "routes"]

error_class = TransferError


def make_service(ctx: ServiceContext) -> TransferService:
    return TransferService(ctx)
