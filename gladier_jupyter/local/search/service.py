"""The in-process Search service: indices, GIngest, full-text queries, subjects, tasks.

Query strings (simple, or with ``advanced`` the Lucene query string: boolean operators,
fields, phrases, ranges, wildcards) are compiled by :mod:`.query`. ``POST`` queries add
``filters`` (``match_any``, ``match_all``, ``range``), ``sort`` and ``terms`` facets.
Only entries whose ``visible_to`` names ``public``, ``all_authenticated_users`` or the
local user's identity URN are ever returned.
"""

from __future__ import annotations

import re
import sqlite3
import typing as t

from gladier_jupyter.local._http import ServiceContext

from .errors import (
    IncompatibleIndexStatus,
    NoSuchIndex,
    NotFound,
    UnsupportedQuery,
    ValidationError,
)
from .ingest import ingest_entries
from .query import compile_query
from .results import facet_results, group_by_subject, passes, sorted_subjects
from .store import SearchStore

__all__ = ["SearchService"]

INDEX_KEYS = (
    "@datatype",
    "@version",
    "creation_date",
    "display_name",
    "description",
    "id",
    "is_trial",
    "subscription_id",
    "max_size_in_mb",
    "num_entries",
    "num_subjects",
    "size_in_mb",
    "status",
)

ROLE_NAMES = ("owner", "admin", "writer")
_PRINCIPAL = re.compile(
    r"^urn:globus:(auth:identity|groups:id):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
_MAX_LIMIT = 10000


class SearchService:
    """Indices and documents of the local Search API, for the routes and the flow engine."""

    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx
        self.store = SearchStore(ctx.db_path("search"))

    @property
    def identity_urn(self) -> str:
        return f"urn:globus:auth:identity:{self.ctx.identity_id}"

    def close(self) -> None:
        self.store.close()

    # ---- indices

    def create_index(self, display_name: t.Any, description: t.Any) -> dict[str, t.Any]:
        """Create a trial index owned by the local user; returns its GSearchIndex document."""
        if not isinstance(display_name, str) or not display_name.strip():
            raise ValidationError(
                f"The index display_name {display_name!r} is not a non-empty string; "
                "give the index a name."
            )
        if not isinstance(description, str):
            raise ValidationError(
                f"The index description {description!r} is not a string; send a description."
            )
        index = self.store.add_index(display_name, description)
        self.store.add_role(index["id"], "owner", self.identity_urn)
        return index_document(index)

    def index(self, index_id: str, *, open_only: bool = True) -> dict[str, t.Any]:
        index = self.store.get_index(str(index_id))
        if index is None:
            raise NoSuchIndex(str(index_id))
        if open_only and index["status"] != "open":
            raise IncompatibleIndexStatus(index["status"], "open")
        return index

    def get_index(self, index_id: str) -> dict[str, t.Any]:
        return index_document(self.index(index_id, open_only=False))

    def index_list(self) -> list[dict[str, t.Any]]:
        """The open indices on which the local user holds a role, with those roles."""
        out = []
        for index in self.store.list_indices():
            permissions = self._permissions(index["id"])
            if permissions:
                out.append({**index_document(index), "permissions": permissions})
        return out

    def _permissions(self, index_id: str) -> list[str]:
        mine = self._principals()
        names = {r["role_name"] for r in self.store.list_roles(index_id) if r["principal"] in mine}
        return [name for name in ROLE_NAMES if name in names]

    # ---- roles

    def create_role(self, index_id: str, body: t.Any) -> dict[str, t.Any]:
        self.index(index_id)
        if not isinstance(body, dict):
            raise ValidationError("The role document must be a JSON object.")
        role_name = body.get("role_name")
        principal = body.get("principal")
        if role_name not in ROLE_NAMES:
            raise ValidationError(
                f"The role_name {role_name!r} is not one of {', '.join(ROLE_NAMES)}."
            )
        if not isinstance(principal, str) or not _PRINCIPAL.match(principal):
            raise ValidationError(
                f"The principal {principal!r} is not a principal URN such as "
                "'urn:globus:auth:identity:<uuid>' or 'urn:globus:groups:id:<uuid>'."
            )
        return self.store.add_role(str(index_id), role_name, principal)

    def role_list(self, index_id: str) -> dict[str, t.Any]:
        self.index(index_id, open_only=False)
        return {"role_list": self.store.list_roles(str(index_id))}

    def delete_role(self, index_id: str, role_id: str) -> dict[str, t.Any]:
        self.index(index_id)
        role = self.store.get_role(str(index_id), role_id)
        if role is None:
            raise NotFound(f"There is no role {role_id!r} on index {index_id!r}.")
        self.store.delete_role(str(index_id), role_id)
        return {"deleted": role, "success": True}

    def update_index(
        self, index_id: str, display_name: t.Any = None, description: t.Any = None
    ) -> dict[str, t.Any]:
        self.index(index_id)
        if display_name is not None and (
            not isinstance(display_name, str) or not display_name.strip()
        ):
            raise ValidationError(f"The index display_name {display_name!r} is not valid.")
        if description is not None and not isinstance(description, str):
            raise ValidationError(f"The index description {description!r} is not a string.")
        self.store.update_index(str(index_id), display_name=display_name, description=description)
        return self.get_index(index_id)

    def delete_index(self, index_id: str) -> dict[str, t.Any]:
        self.index(index_id)
        self.store.update_index(str(index_id), status="delete_pending")
        return {"index_id": str(index_id), "acknowledged": True}

    def reopen_index(self, index_id: str) -> dict[str, t.Any]:
        index = self.index(index_id, open_only=False)
        if index["status"] != "delete_pending":
            raise IncompatibleIndexStatus(index["status"], "delete_pending")
        self.store.update_index(str(index_id), status="open")
        return {"index_id": str(index_id), "acknowledged": True}

    # ---- writing

    def ingest(self, index_id: str, gingest_doc: t.Any) -> str:
        """Write a GIngest document (GMetaEntry or GMetaList); returns the task id.

        The write happens at once; its task is recorded already ``SUCCESS``.
        """
        return self.ingest_answer(index_id, gingest_doc)["task_id"]

    def ingest_answer(self, index_id: str, gingest_doc: t.Any) -> dict[str, t.Any]:
        """:meth:`ingest`, answering with Search's ingest response document."""
        self.index(index_id)
        entries = ingest_entries(gingest_doc)
        count = self.store.upsert_entries(str(index_id), entries)
        task_id = self.store.add_task(
            str(index_id),
            "INGEST",
            state="SUCCESS",
            message=f"Ingested {count} document(s).",
            additional_details={"num_documents_ingested": count},
        )
        return {
            "acknowledged": True,
            "as_identity": self.identity_urn,
            "num_documents_ingested": count,
            "success": True,
            "task_id": task_id,
        }

    def delete_subjects(self, index_id: str, subjects: t.Any, task_type: str) -> dict[str, t.Any]:
        self.index(index_id)
        if isinstance(subjects, str) or not isinstance(subjects, list):
            raise ValidationError(f"The subjects {subjects!r} are not a list of strings.")
        if not all(isinstance(s, str) for s in subjects):
            raise ValidationError("Every subject to delete must be a string.")
        removed = self.store.delete_subjects(str(index_id), subjects)
        task_id = self.store.add_task(
            str(index_id),
            task_type,
            state="SUCCESS",
            message=f"Deleted {removed} entries.",
            additional_details={"num_entries_deleted": removed},
        )
        return {"task_id": task_id}

    def delete_entry(self, index_id: str, subject: str, entry_id: str | None) -> dict[str, t.Any]:
        self.index(index_id)
        removed = self.store.delete_entry(str(index_id), subject, entry_id)
        if not removed:
            raise NotFound(
                f"There is no entry {entry_id!r} of subject {subject!r} in index {index_id!r}."
            )
        task_id = self.store.add_task(
            str(index_id), "DELETE_ENTRY", state="SUCCESS", message="Deleted 1 entry."
        )
        return {"task_id": task_id}

    def delete_by_query(self, index_id: str, query: dict[str, t.Any]) -> dict[str, t.Any]:
        self.index(index_id)
        hits = self._matching_entries(str(index_id), query, visible_only=True)
        removed = self.store.delete_rows([e["rowid"] for e, _rank in hits])
        task_id = self.store.add_task(
            str(index_id),
            "DELETE_BY_QUERY",
            state="SUCCESS",
            message=f"Deleted {removed} entries.",
            additional_details={"num_entries_deleted": removed},
        )
        return {"task_id": task_id}

    # ---- reading

    def query(
        self,
        index_id: str,
        q: str = "*",
        *,
        offset: int | str = 0,  # a GET's query string gives strings: _page checks both
        limit: int | str = 10,
        advanced: bool = False,
        filters: list[dict[str, t.Any]] | None = None,
        sort: list[dict[str, t.Any]] | None = None,
        facets: list[dict[str, t.Any]] | None = None,
    ) -> dict[str, t.Any]:
        """Run a query; returns a GSearchResult document."""
        self.index(index_id)
        offset, limit = _page(offset, limit)
        query = {"q": q, "advanced": advanced, "filters": filters or [], "sort": sort or []}
        hits = self._matching_entries(str(index_id), query, visible_only=True)
        subjects = group_by_subject(hits)
        if sort:
            subjects = sorted_subjects(subjects, sort)
        page = subjects[offset : offset + limit]
        result: dict[str, t.Any] = {
            "@datatype": "GSearchResult",
            "@version": "2017-09-01",
            "count": len(page),
            # a subject that matches comes back with every entry of it the caller may see
            "gmeta": [
                self._gmeta_result(
                    subject,
                    [
                        e
                        for e in self.store.subject_entries(str(index_id), subject)
                        if self._visible(e)
                    ],
                )
                for subject, _matched in page
            ],
            "has_next_page": offset + len(page) < len(subjects),
            "offset": offset,
            "total": len(subjects),
        }
        if facets:
            result["facet_results"] = facet_results(facets, [e for _s, es in subjects for e in es])
        return result

    def post_search(self, index_id: str, body: t.Any) -> dict[str, t.Any]:
        if not isinstance(body, dict):
            raise ValidationError("The search query document must be a JSON object.")
        for key in ("filters", "sort", "facets"):
            if key in body and not isinstance(body[key], list):
                raise ValidationError(f"The query's {key!r} must be a list.")
        return self.query(
            index_id,
            body.get("q", "*") if body.get("q") is not None else "*",
            offset=body.get("offset", 0),
            limit=body.get("limit", 10),
            advanced=bool(body.get("advanced", False)),
            filters=body.get("filters"),
            sort=body.get("sort"),
            facets=body.get("facets"),
        )

    def scroll(self, index_id: str, body: t.Any) -> dict[str, t.Any]:
        """Every matching subject, a page at a time; ``marker`` continues where a page ended."""
        if not isinstance(body, dict):
            raise ValidationError("The scroll query document must be a JSON object.")
        marker = body.get("marker")
        offset = 0
        if marker is not None:
            if not (isinstance(marker, str) and marker.isdigit()):
                raise ValidationError(f"The scroll marker {marker!r} is not one this index gave.")
            offset = int(marker)
        page = self.query(
            index_id,
            body.get("q") or "*",
            offset=offset,
            limit=body.get("limit", 10),
            advanced=bool(body.get("advanced", False)),
            filters=body.get("filters"),
        )
        page["marker"] = str(offset + page["count"]) if page["has_next_page"] else None
        return page

    def get_subject(self, index_id: str, subject: str) -> dict[str, t.Any]:
        self.index(index_id)
        entries = [
            e for e in self.store.subject_entries(str(index_id), subject) if self._visible(e)
        ]
        if not entries:
            raise NotFound(f"There is no subject {subject!r} visible to you in index {index_id!r}.")
        return self._gmeta_result(subject, entries)

    def get_entry(self, index_id: str, subject: str, entry_id: str | None) -> dict[str, t.Any]:
        self.index(index_id)
        entries = [
            e
            for e in self.store.subject_entries(str(index_id), subject)
            if (e["entry_id"] or None) == (entry_id or None) and self._visible(e)
        ]
        if not entries:
            raise NotFound(
                f"There is no entry {entry_id!r} of subject {subject!r} visible to you in "
                f"index {index_id!r}."
            )
        return self._gmeta_result(subject, entries)

    def get_task(self, task_id: str) -> dict[str, t.Any]:
        task = self.store.get_task(str(task_id))
        if task is None:
            raise NotFound(f"There is no Search task {task_id!r}.")
        return task

    def task_list(self, index_id: str) -> dict[str, t.Any]:
        self.index(index_id, open_only=False)
        return {"tasks": self.store.list_tasks(str(index_id))}

    # ---- internals

    def _principals(self) -> set[str]:
        return {"public", "all_authenticated_users", self.identity_urn}

    def _visible(self, entry: dict[str, t.Any]) -> bool:
        return bool(self._principals().intersection(entry["visible_to"]))

    def _gmeta_result(self, subject: str, entries: list[dict[str, t.Any]]) -> dict[str, t.Any]:
        return {
            "@datatype": "GMetaResult",
            "@version": "2019-08-27",
            "entries": [
                {"content": e["content"], "entry_id": e["entry_id"], "matched_principal_sets": []}
                for e in entries
            ],
            "subject": subject,
        }

    def _matching_entries(
        self, index_id: str, query: dict[str, t.Any], *, visible_only: bool
    ) -> list[tuple[dict[str, t.Any], float]]:
        q = query.get("q", "*")
        if not isinstance(q, str):
            raise ValidationError(f"The query string {q!r} is not a string.")
        condition = compile_query(q, advanced=bool(query.get("advanced")))
        try:
            hits = self.store.match(index_id, condition)
        except sqlite3.OperationalError as error:
            # SQLite's own limits (expression depth, compound terms) past the query's bounds
            if "too large" not in str(error) and "too many" not in str(error):
                raise
            raise UnsupportedQuery(
                f"The query {q[:80]!r} is too complex for the local Search service ({error});"
                " split it into simpler queries."
            ) from None
        filters = list(query.get("filters") or [])
        out = []
        for entry, rank in hits:
            if visible_only and not self._visible(entry):
                continue
            if not all(passes(entry["content"], f) for f in filters):
                continue
            out.append((entry, rank))
        return out


def index_document(index: dict[str, t.Any]) -> dict[str, t.Any]:
    """An index as Search's GSearchIndex document."""
    doc = {
        "@datatype": "GSearchIndex",
        "@version": "2017-09-01",
        **{k: index[k] for k in INDEX_KEYS if not k.startswith("@")},
    }
    doc["is_trial"] = bool(doc["is_trial"])
    return doc


def _page(offset: t.Any, limit: t.Any) -> tuple[int, int]:
    try:
        offset_i = int(offset)
        limit_i = int(limit)
    except (TypeError, ValueError):
        raise ValidationError(
            f"offset {offset!r} and limit {limit!r} must be whole numbers."
        ) from None
    if offset_i < 0 or not 0 <= limit_i <= _MAX_LIMIT:
        raise ValidationError(
            f"offset must be >= 0 and limit between 0 and {_MAX_LIMIT}; got offset "
            f"{offset_i} and limit {limit_i}."
        )
    return offset_i, limit_i
