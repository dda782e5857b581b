"""The Globus Search ingest action provider (``https://actions.globus.org/search/ingest``).

Body: ``{"search_index", "subject", "visible_to", "content"}`` (optional ``id``), or a
ready ``{"search_index", "ingest_data": ...}``; ingested into the local Search service.
"""

from __future__ import annotations

import typing as t

from gladier_jupyter.local.actions import ActionHandle, ActionRequest, ActionUnableToRun, DoneHandle

SCOPE = "https://auth.globus.org/scopes/actions.globus.org/search/ingest"


def _gingest(body: dict[str, t.Any]) -> dict[str, t.Any]:
    if "ingest_data" in body:
        return {"ingest_type": body.get("ingest_type", "GMetaEntry"), "ingest_data": body["ingest_data"]}
    missing = [k for k in ("subject", "visible_to", "content") if k not in body]
    if missing:
        raise ActionUnableToRun(
            f"The search ingest body lacks {', '.join(repr(m) for m in missing)}; it needs "
            "search_index, subject, visible_to and content."
        )
    entry = {k: body[k] for k in ("subject", "visible_to", "content")}
    if body.get("id") is not None:
        entry["id"] = body["id"]
    return {"ingest_type": "GMetaEntry", "ingest_data": entry}


class SearchIngestProvider:
    scope = SCOPE

    def start(self, body: t.Any, request: ActionRequest) -> ActionHandle:
        if not isinstance(body, dict):
            raise ActionUnableToRun(f"The search ingest action needs an object body, not {type(body).__name__}.")
        index = body.get("search_index")
        if not index:
            raise ActionUnableToRun("The search ingest body has no 'search_index'.")
        service = request.ctx.services.get("search")
        if service is None:
            raise ActionUnableToRun("The local Search service is not available in this build.")
        doc = _gingest(body)
        try:
            task_id = service.ingest(str(index), doc)
        except Exception as exc:  # noqa: BLE001 - the service's reason goes to the run
            raise ActionUnableToRun(
                f"Search refused the ingest into index {index!r}: {getattr(exc, 'message', exc)}"
            ) from None
        return DoneHandle(
            "SUCCEEDED",
            {"task_id": task_id, "search_index": str(index), "subject": doc["ingest_data"].get("subject"),
             "success": True, "num_documents_ingested": 1},
        )


class SearchDeleteProvider:
    """``https://actions.globus.org/search/delete``: by ``subject`` or by query (``q``,
    ``filters``), as ``delete_by`` says."""

    scope = "https://auth.globus.org/scopes/actions.globus.org/search/delete"

    def start(self, body: t.Any, request: ActionRequest) -> ActionHandle:
        if not isinstance(body, dict) or not body.get("search_index"):
            raise ActionUnableToRun("The search delete body needs 'search_index'.")
        service = request.ctx.services.get("search")
        if service is None:
            raise ActionUnableToRun("The local Search service is not available in this build.")
        index = str(body["search_index"])
        by = body.get("delete_by", "subject")
        try:
            if by == "subject":
                if not body.get("subject"):
                    raise ActionUnableToRun("Deleting by subject needs 'subject'.")
                answer = service.delete_subjects(index, [str(body["subject"])], "DELETE_BY_SUBJECT")
            elif by == "query":
                query = {"q": body.get("q", "*")}
                if body.get("filters"):
                    query["filters"] = body["filters"]
                answer = service.delete_by_query(index, query)
            else:
                raise ActionUnableToRun(f"delete_by is {by!r}; use 'subject' or 'query'.")
        except ActionUnableToRun:
            raise
        except Exception as exc:  # noqa: BLE001 - the service's reason goes to the run
            raise ActionUnableToRun(
                f"Search refused the delete in index {index!r}: {getattr(exc, 'message', exc)}"
            ) from None
        return DoneHandle("SUCCEEDED", {"task_id": answer.get("task_id"), "search_index": index,
                                        "delete_by": by})
