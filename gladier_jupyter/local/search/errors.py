"""Errors of the local Search API, rendered in one place as Globus Search's ``GError``."""

from __future__ import annotations

import typing as t
import uuid

from gladier_jupyter.local._http import ApiError

__all__ = [
    "IncompatibleIndexStatus",
    "NoSuchIndex",
    "NotFound",
    "QuerySyntaxError",
    "SearchError",
    "UnsupportedQuery",
    "ValidationError",
]


class SearchError(ApiError):
    """Base of the Search API's errors: ``{"@datatype": "GError", "code", "message", "status"}``."""

    http_status = 500
    code = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        code: str | None = None,
        error_data: dict[str, t.Any] | None = None,
    ):
        super().__init__(message, http_status=http_status, code=code)
        self.error_data = error_data

    def body(self) -> dict[str, t.Any]:
        doc: dict[str, t.Any] = {
            "@datatype": "GError",
            "@version": "2017-09-01",
            "code": self.code,
            "message": self.message,
            "status": self.http_status,
            "request_id": uuid.uuid4().hex,
        }
        if self.error_data:
            doc["error_data"] = self.error_data
        return doc


class ValidationError(SearchError):
    http_status = 400
    code = "BadRequest.ValidationError"


class QuerySyntaxError(SearchError):
    """An advanced query string that does not parse (Globus Search: a 400)."""

    http_status = 400
    code = "BadRequest.Generic"


class UnsupportedQuery(SearchError):
    """Query syntax Globus Search reads but the local service does not evaluate (fuzzy,
    proximity, regular expressions, ...): refused rather than answered with wrong hits."""

    http_status = 400
    code = "BadRequest.UnsupportedQuery"


class NotFound(SearchError):
    http_status = 404
    code = "NotFound.Generic"


class NoSuchIndex(SearchError):
    http_status = 404
    code = "NotFound.NoSuchIndex"

    def __init__(self, index_id: str):
        super().__init__(
            f"There is no index {index_id!r} in the local Search service; list yours with "
            "GET /v1/index_list or create one with POST /v1/index."
        )


class IncompatibleIndexStatus(SearchError):
    http_status = 409
    code = "Conflict.IncompatibleIndexStatus"

    def __init__(self, status: str, required: str):
        super().__init__(
            f"Index status ({status}) did not match required status for this operation: {required}"
        )
