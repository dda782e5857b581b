"""HTTP routes of the local Search API (the paths globus-sdk's ``SearchClient`` calls).

Stateless: parse the request, call the :class:`SearchService`, write its document.
Every path answers under ``v1/`` and the older ``beta/`` prefix (the tutorial's cell
creates its index with ``POST /beta/index``).
"""

from __future__ import annotations

import typing as t

from gladier_jupyter.local._http import ApiHandler, MiB, ServiceContext

from .errors import SearchError, ValidationError
from .service import SearchService

__all__ = ["routes"]

#: Globus Search's "HTTP Request Size" limit, 10MB (docs.globus.org/api/search/limits).
INGEST_BODY_SIZE = 10 * MiB


class _Handler(ApiHandler):
    error_class = SearchError

    @property
    def service(self) -> SearchService:
        return self.ctx.services["search"]

    def body_object(self) -> dict[str, t.Any]:
        body = self.json_body()
        if not isinstance(body, dict):
            raise ValidationError("The request body must be a JSON object.")
        return body

    def required_arg(self, name: str) -> str:
        value = self.get_query_argument(name, None)
        if value is None:
            raise ValidationError(f"The query parameter {name!r} is required.")
        return value


class CreateIndexHandler(_Handler):
    def post(self) -> None:
        body = self.body_object()
        self.write_json(
            self.service.create_index(body.get("display_name"), body.get("description"))
        )


class IndexListHandler(_Handler):
    def get(self) -> None:
        roles = self.get_query_argument("filter_roles", None)
        indices = self.service.index_list()
        if roles:
            wanted = set(roles.split(","))
            indices = [i for i in indices if wanted.intersection(i["permissions"])]
        self.write_json({"index_list": indices})


class IndexHandler(_Handler):
    def get(self, index_id: str) -> None:
        self.write_json(self.service.get_index(index_id))

    def patch(self, index_id: str) -> None:
        body = self.body_object()
        self.write_json(
            self.service.update_index(index_id, body.get("display_name"), body.get("description"))
        )

    def delete(self, index_id: str) -> None:
        self.write_json(self.service.delete_index(index_id))


class ReopenHandler(_Handler):
    def post(self, index_id: str) -> None:
        self.write_json(self.service.reopen_index(index_id))


class IngestHandler(_Handler):
    max_body_size = INGEST_BODY_SIZE

    def post(self, index_id: str) -> None:
        self.write_json(self.service.ingest_answer(index_id, self.body_object()))


class SearchHandler(_Handler):
    def get(self, index_id: str) -> None:
        advanced = self.get_query_argument("advanced", "false").lower() in ("true", "1", "yes")
        self.write_json(
            self.service.query(
                index_id,
                self.get_query_argument("q", "*"),
                offset=self.get_query_argument("offset", "0"),
                limit=self.get_query_argument("limit", "10"),
                advanced=advanced,
            )
        )

    def post(self, index_id: str) -> None:
        self.write_json(self.service.post_search(index_id, self.body_object()))


class ScrollHandler(_Handler):
    def post(self, index_id: str) -> None:
        self.write_json(self.service.scroll(index_id, self.body_object()))


class SubjectHandler(_Handler):
    def get(self, index_id: str) -> None:
        self.write_json(self.service.get_subject(index_id, self.required_arg("subject")))

    def delete(self, index_id: str) -> None:
        self.write_json(
            self.service.delete_subjects(
                index_id, [self.required_arg("subject")], "DELETE_BY_SUBJECT"
            )
        )


class EntryHandler(_Handler):
    def get(self, index_id: str) -> None:
        self.write_json(
            self.service.get_entry(
                index_id, self.required_arg("subject"), self.get_query_argument("entry_id", None)
            )
        )

    def delete(self, index_id: str) -> None:
        self.write_json(
            self.service.delete_entry(
                index_id, self.required_arg("subject"), self.get_query_argument("entry_id", None)
            )
        )


class BatchDeleteHandler(_Handler):
    def post(self, index_id: str) -> None:
        body = self.body_object()
        self.write_json(
            self.service.delete_subjects(index_id, body.get("subjects"), "DELETE_BY_SUBJECT")
        )


class DeleteByQueryHandler(_Handler):
    def post(self, index_id: str) -> None:
        self.write_json(self.service.delete_by_query(index_id, self.body_object()))


class RoleHandler(_Handler):
    def post(self, index_id: str) -> None:
        self.write_json(self.service.create_role(index_id, self.json_body()))


class RoleListHandler(_Handler):
    def get(self, index_id: str) -> None:
        self.write_json(self.service.role_list(index_id))


class RoleItemHandler(_Handler):
    def delete(self, index_id: str, role_id: str) -> None:
        self.write_json(self.service.delete_role(index_id, role_id))


class TaskHandler(_Handler):
    def get(self, task_id: str) -> None:
        self.write_json(self.service.get_task(task_id))


class TaskListHandler(_Handler):
    def get(self, index_id: str) -> None:
        self.write_json(self.service.task_list(index_id))


def routes(ctx: ServiceContext) -> list[tuple[str, type[ApiHandler], dict[str, t.Any]]]:
    """The Search API's routes, relative to its root (mounted at ``/api/search/``)."""
    kw = {"ctx": ctx}
    v = r"(?:v1|beta)"
    idx = rf"{v}/index/([^/]+)"
    return [
        (rf"{v}/index", CreateIndexHandler, kw),
        (rf"{v}/index_list", IndexListHandler, kw),
        (rf"{idx}", IndexHandler, kw),
        (rf"{idx}/reopen", ReopenHandler, kw),
        (rf"{idx}/ingest", IngestHandler, kw),
        (rf"{idx}/search", SearchHandler, kw),
        (rf"{idx}/scroll", ScrollHandler, kw),
        (rf"{idx}/subject", SubjectHandler, kw),
        (rf"{idx}/entry", EntryHandler, kw),
        (rf"{idx}/batch_delete_by_subject", BatchDeleteHandler, kw),
        (rf"{idx}/delete_by_query", DeleteByQueryHandler, kw),
        (rf"{idx}/role", RoleHandler, kw),
        (rf"{idx}/role_list", RoleListHandler, kw),
        (rf"{idx}/role/([^/]+)", RoleItemHandler, kw),
        (rf"{v}/task/([^/]+)", TaskHandler, kw),
        (rf"{v}/task_list/([^/]+)", TaskListHandler, kw),
    ]
