"""The local Transfer API's routes (``/api/transfer/v0.10/...``), the paths globus-sdk's
``TransferClient`` calls: stateless handlers over :class:`~.service.TransferService`."""

from __future__ import annotations

import typing as t
import uuid

from gladier_jupyter.local._http import ApiHandler, MiB, ServiceContext
from gladier_jupyter.local.transfer.errors import TransferError, bad_request
from gladier_jupyter.local.transfer.service import TransferService

__all__ = ["routes"]


class _Handler(ApiHandler):
    error_class = TransferError

    @property
    def transfer(self) -> TransferService:
        return self.ctx.services["transfer"]

    def int_arg(self, name: str, default: int | None, most: int) -> int | None:
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise bad_request(f"{name} must be a whole number, not {raw[:40]!r}.") from None
        if not 0 <= value <= most:
            raise bad_request(f"{name} must be between 0 and {most}, not {value}.")
        return value

    def bool_arg(self, name: str, default: bool) -> bool:
        raw = self.get_query_argument(name, None)
        return default if raw is None else raw.strip().lower() in ("1", "true", "yes", "on")

    def object_body(self) -> dict[str, t.Any]:
        body = self.json_body()
        if not isinstance(body, dict):
            raise bad_request("The body must be a JSON object.")
        return body


class EndpointHandler(_Handler):
    def get(self, collection_id: str) -> None:
        self.write_json(self.transfer.endpoint(collection_id))


class LsHandler(_Handler):
    def get(self, collection_id: str) -> None:
        self.write_json(self.transfer.ls(
            collection_id, self.get_query_argument("path", "/"), limit=self.int_arg("limit", None, 100_000),
            offset=self.int_arg("offset", 0, 100_000) or 0, show_hidden=self.bool_arg("show_hidden", True),
            filter=self.get_query_argument("filter", None)))


class StatHandler(_Handler):
    def get(self, collection_id: str) -> None:
        self.write_json(self.transfer.stat(collection_id, self.get_query_argument("path", "/")))


class MkdirHandler(_Handler):
    def post(self, collection_id: str) -> None:
        body = self.object_body()
        self.write_json(self.transfer.mkdir(collection_id, body.get("path", "")), status=202)


class RenameHandler(_Handler):
    def post(self, collection_id: str) -> None:
        body = self.object_body()
        self.write_json(self.transfer.rename(collection_id, body.get("old_path"), body.get("new_path")))


class SubmissionIdHandler(_Handler):
    def get(self) -> None:
        self.write_json({"value": str(uuid.uuid4())})


class TransferHandler(_Handler):
    max_body_size = 10 * MiB

    def post(self) -> None:
        self.write_json(self.transfer.submit_transfer(self.object_body()), status=202)


class DeleteHandler(_Handler):
    max_body_size = 10 * MiB

    def post(self) -> None:
        self.write_json(self.transfer.submit_delete(self.object_body()), status=202)


class TaskHandler(_Handler):
    def get(self, task_id: str) -> None:
        self.write_json(self.transfer.task(task_id))


class TaskListHandler(_Handler):
    def get(self) -> None:
        self.write_json(self.transfer.task_list(
            limit=self.int_arg("limit", 1000, 1000) or 0, offset=self.int_arg("offset", 0, 100_000) or 0,
            filter=self.get_query_argument("filter", None)))


class AccessListHandler(_Handler):
    def get(self, collection_id: str) -> None:
        self.write_json(self.transfer.acl_list(collection_id))


class AccessCreateHandler(_Handler):
    def post(self, collection_id: str) -> None:
        self.write_json(self.transfer.acl_create(collection_id, self.object_body()), status=201)


class AccessRuleHandler(_Handler):
    def get(self, collection_id: str, rule_id: str) -> None:
        self.write_json(self.transfer.acl_get(collection_id, rule_id))

    def put(self, collection_id: str, rule_id: str) -> None:
        self.write_json(self.transfer.acl_update(collection_id, rule_id, self.object_body()))

    def delete(self, collection_id: str, rule_id: str) -> None:
        self.write_json(self.transfer.acl_delete(collection_id, rule_id))


def routes(ctx: ServiceContext) -> list[tuple[str, type[ApiHandler], dict[str, t.Any]]]:
    _id = r"([0-9A-Za-z._-]+)"
    return [
        (rf"v0\.10/endpoint/{_id}", EndpointHandler, {}),
        (rf"v0\.10/endpoint/{_id}/access_list", AccessListHandler, {}),
        (rf"v0\.10/endpoint/{_id}/access", AccessCreateHandler, {}),
        (rf"v0\.10/endpoint/{_id}/access/{_id}", AccessRuleHandler, {}),
        (rf"v0\.10/operation/endpoint/{_id}/ls", LsHandler, {}),
        (rf"v0\.10/operation/endpoint/{_id}/stat", StatHandler, {}),
        (rf"v0\.10/operation/endpoint/{_id}/mkdir", MkdirHandler, {}),
        (rf"v0\.10/operation/endpoint/{_id}/rename", RenameHandler, {}),
        (r"v0\.10/submission_id", SubmissionIdHandler, {}),
        (r"v0\.10/transfer", TransferHandler, {}),
        (r"v0\.10/delete", DeleteHandler, {}),
        (rf"v0\.10/task/{_id}", TaskHandler, {}),
        (r"v0\.10/task_list", TaskListHandler, {}),
    ]
